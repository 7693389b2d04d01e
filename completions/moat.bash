# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# bash completion for moat(1)
#
# Installed as .../bash-completion/completions/moat; or source it from
# ~/.bashrc. It works without the bash-completion package, and uses its
# _filedir and _command_offset when they are there.
#
# Readline splits words at ':' and '=' (COMP_WORDBREAKS), so that
# "--user=alice:staff" arrives as five words. _moat_words joins them again
# to find the option and value being completed; the replies are then cut
# back to the part that readline replaces, the word it passed in $2.

_moat_groups='loopback private link-local metadata multicast host reserved public'

# _moat_words CUR - the command line as moat sees it
#
# Sets _moat_w (the words, with the pieces split at ':' and '=' joined),
# _moat_raw (the index in COMP_WORDS where each of them starts), _moat_cw
# (the index of the current word), _moat_word (the current word up to the
# cursor) and _moat_cur (CUR, the text readline replaces).
_moat_words()
{
	local line=${COMP_LINE-} pos=0 start=0 cstart=0 sep i w

	_moat_cur=$1
	_moat_w=()
	_moat_raw=()
	_moat_cw=$COMP_CWORD
	_moat_word=$1
	if [[ -z ${COMP_LINE+set} ]]; then
		_moat_w=("${COMP_WORDS[@]}")
		for i in "${!COMP_WORDS[@]}"; do
			_moat_raw+=("$i")
		done
		return 0
	fi
	for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
		w=${COMP_WORDS[i]}
		sep=0
		while [[ ${line:pos:1} == [[:space:]] ]]; do
			((pos++))
			sep=1
		done
		if ((i > 0 && !sep)) &&
			[[ $w == [:=]* || ${_moat_w[-1]} == *[:=] ]]; then
			_moat_w[-1]+=$w
		else
			_moat_w+=("$w")
			_moat_raw+=("$i")
			start=$pos
		fi
		if ((i == COMP_CWORD)); then
			_moat_cw=$((${#_moat_w[@]} - 1))
			cstart=$start
		fi
		((pos += ${#w}))
	done
	if ((COMP_POINT >= cstart)); then
		_moat_word=${line:cstart:COMP_POINT-cstart}
	fi
	[[ $_moat_word == *"$_moat_cur" ]] || _moat_word=$_moat_cur
	return 0
}

# _moat_reply VALUE COMPGEN-ARGS... - complete VALUE, the end of the
# current word, with what compgen finds
_moat_reply()
{
	local val=$1 base pre c

	shift
	base=${_moat_word%"$val"}
	pre=${_moat_word%"$_moat_cur"}
	while IFS= read -r c; do
		c=$base$c
		COMPREPLY+=("${c#"$pre"}")
	done < <(compgen "$@" -- "$val")
	return 0
}

# _moat_files VALUE - complete file names
_moat_files()
{
	if declare -F _filedir >/dev/null && [[ $_moat_cur == "$1" ]]; then
		# shellcheck disable=SC2034 # _filedir reads cur
		local cur=$1
		_filedir
	else
		compopt -o filenames 2>/dev/null
		_moat_reply "$1" -f
	fi
	return 0
}

# _moat_names VALUE [NAME...] - complete sandbox names, except the NAMEs
_moat_names()
{
	local dir=${MOAT_RUN_DIR:-/run/moat}/sandboxes val=$1 d n x names=()

	shift
	for d in "$dir"/*/; do
		[[ -d $d ]] || continue
		n=${d%/}
		n=${n##*/}
		[[ $n =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || continue
		for x in "$@"; do
			[[ $x == "$n" ]] && continue 2
		done
		names+=("$n")
	done
	((${#names[@]})) && _moat_reply "$val" -W "${names[*]}"
	return 0
}

# _moat_orphans VALUE [NAME...] - complete the names of sandboxes whose
# supervisor is not running (what "moat adopt" takes), except the NAMEs:
# the PID their record names is gone, or a zombie
_moat_orphans()
{
	local dir=${MOAT_RUN_DIR:-/run/moat}/sandboxes val=$1 d n x rec st
	local names=()

	shift
	for d in "$dir"/*/; do
		[[ -d $d ]] || continue
		n=${d%/}
		n=${n##*/}
		[[ $n =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || continue
		for x in "$@"; do
			[[ $x == "$n" ]] && continue 2
		done
		{ rec=$(<"$d/state.json"); } 2>/dev/null || continue
		if [[ $rec =~ \"supervisor_pid\":\ *([0-9]+) ]] &&
			((BASH_REMATCH[1] > 0)) &&
			{ st=$(<"/proc/${BASH_REMATCH[1]}/stat"); } 2>/dev/null &&
			[[ ${st##*) } != Z* ]]; then
			continue
		fi
		names+=("$n")
	done
	((${#names[@]})) && _moat_reply "$val" -W "${names[*]}"
	return 0
}

# _moat_command INDEX - complete the command that starts at word INDEX
_moat_command()
{
	if declare -F _command_offset >/dev/null; then
		_command_offset "${_moat_raw[$1]}"
	elif (($1 == _moat_cw)); then
		_moat_reply "$_moat_word" -c
	else
		_moat_files "$_moat_word"
	fi
	return 0
}

# _moat_optarg OPTION VALUE - complete the argument of an option
_moat_optarg()
{
	case $1 in
	--policy | --netns)
		_moat_files "$2"
		;;
	--default-egress)
		_moat_reply "$2" -W 'public deny allow'
		;;
	--allow | --deny)
		[[ $2 == *[:/]* ]] || _moat_reply "$2" -W "$_moat_groups sandbox:"
		;;
	--accept)
		# a link from another sandbox: sandbox:NAME:PORTS[/PROTO]
		if [[ $2 == sandbox:*:* ]]; then
			:
		elif [[ $2 == sandbox:* ]]; then
			local n
			_moat_names "${2#sandbox:}"
			for n in "${!COMPREPLY[@]}"; do
				COMPREPLY[n]="sandbox:${COMPREPLY[n]}:"
			done
			compopt -o nospace 2>/dev/null
		else
			_moat_reply "$2" -W 'sandbox:'
			compopt -o nospace 2>/dev/null
		fi
		;;
	--tap-owner)
		_moat_reply "$2" -u
		;;
	--user)
		if [[ $2 == *:* ]]; then
			_moat_reply "${2#*:}" -g
		else
			_moat_reply "$2" -u
		fi
		;;
	esac
	return 0
}

# _moat_sandbox INDEX run|create|attach|update - complete the arguments of
# those commands from word INDEX on
_moat_sandbox()
{
	local i=$1 sub=$2 word=$_moat_word
	local opts='--policy --name --allow --deny --accept --default-egress --no-net
		--restricted --publish --dns-upstream --no-rebind-protection
		--bandwidth --tap --tap-owner --help'

	[[ $sub == run ]] && opts="--user --quiet $opts"
	if [[ $sub == attach ]]; then
		opts=${opts/--no-net/}
		opts="--netns --pid --ifname ${opts/--tap --tap-owner/}"
	fi
	if [[ $sub == update ]]; then
		# "moat update NAME [OPTIONS]": an existing sandbox; only the
		# options that can change live
		opts='--policy --allow --deny --accept --default-egress
			--no-rebind-protection --help'
		if ((i == _moat_cw)) && [[ $word != -* ]]; then
			_moat_names "$word"
			return 0
		fi
		[[ ${_moat_w[i]} != -* ]] && ((i++))
	fi
	if [[ $sub == create || $sub == attach ]]; then
		# "moat create|attach NAME [OPTIONS]": a new name, nothing to offer
		((i == _moat_cw)) && [[ $word != -* ]] && return 0
		[[ ${_moat_w[i]} != -* ]] && ((i++))
	fi
	while ((i < _moat_cw)); do
		case ${_moat_w[i]} in
		--)
			[[ $sub == run ]] && _moat_command $((i + 1))
			return 0
			;;
		--policy | --name | --allow | --deny | --accept | --default-egress | \
			--publish | --dns-upstream | --bandwidth | --user | --tap-owner | \
			--netns | --pid | --ifname)
			((i++))
			;;
		-*) ;;
		*)
			# run: options end at the command
			[[ $sub == run ]] && _moat_command "$i"
			return 0
			;;
		esac
		((i++))
	done
	if ((i > _moat_cw)); then
		_moat_optarg "${_moat_w[_moat_cw - 1]}" "$word"
		return 0
	fi
	case $word in
	--*=*)
		_moat_optarg "${word%%=*}" "${word#*=}"
		;;
	-*)
		_moat_reply "$word" -W "$opts"
		;;
	*)
		if [[ $sub == run ]]; then
			_moat_command "$_moat_cw"
		else
			_moat_reply "$word" -W "$opts"
		fi
		;;
	esac
	return 0
}

# _moat_exec INDEX - complete the arguments of exec from word INDEX on
_moat_exec()
{
	local i=$1 word=$_moat_word

	if ((i == _moat_cw)); then
		if [[ $word == -* ]]; then
			_moat_reply "$word" -W '--help'
		else
			_moat_names "$word"
		fi
		return 0
	fi
	((i++))
	while ((i < _moat_cw)); do
		case ${_moat_w[i]} in
		--)
			_moat_command $((i + 1))
			return 0
			;;
		--user)
			((i++))
			;;
		-*) ;;
		*)
			_moat_command "$i"
			return 0
			;;
		esac
		((i++))
	done
	if ((i > _moat_cw)); then
		_moat_optarg --user "$word"
		return 0
	fi
	case $word in
	--user=*)
		_moat_optarg --user "${word#*=}"
		;;
	-*)
		_moat_reply "$word" -W '--user --help'
		;;
	*)
		_moat_command "$_moat_cw"
		;;
	esac
	return 0
}

_moat()
{
	local _moat_w _moat_raw _moat_cw _moat_word _moat_cur
	local i=1 cmd='' word pos=0

	COMPREPLY=()
	_moat_words "${2-${COMP_WORDS[COMP_CWORD]}}"
	word=$_moat_word

	while ((i < _moat_cw)); do
		case ${_moat_w[i]} in
		-v | --verbose) ;;
		-*) return 0 ;;
		*)
			cmd=${_moat_w[i]}
			break
			;;
		esac
		((i++))
	done
	if [[ -z $cmd ]]; then
		if [[ $word == -* ]]; then
			_moat_reply "$word" -W '--verbose --help --version'
		else
			_moat_reply "$word" -W 'run create attach oci-hook oci-runtime exec update adopt rm ls inspect policy logs stats verify help'
		fi
		return 0
	fi
	((i++))

	case $cmd in
	run | create | attach | update)
		_moat_sandbox "$i" "$cmd"
		;;
	oci-hook)
		((i == _moat_cw)) && _moat_reply "$word" -W '--print-config --help'
		;;
	oci-runtime)
		((i == _moat_cw)) && _moat_reply "$word" -W '--policy= --runc= --help'
		;;
	exec)
		_moat_exec "$i"
		;;
	rm)
		local names=()
		for ((; i < _moat_cw; i++)); do
			[[ ${_moat_w[i]} == -* ]] || names+=("${_moat_w[i]}")
		done
		if [[ $word == -* ]]; then
			_moat_reply "$word" -W '-f --force --help'
		else
			_moat_names "$word" "${names[@]}"
		fi
		;;
	adopt)
		local names=() all=0
		for ((; i < _moat_cw; i++)); do
			case ${_moat_w[i]} in
			--all) all=1 ;;
			-*) ;;
			*) names+=("${_moat_w[i]}") ;;
			esac
		done
		if ((all)); then
			return 0	# --all takes no name
		elif [[ $word == -* ]]; then
			((${#names[@]})) || _moat_reply "$word" -W '--all --help'
		else
			_moat_orphans "$word" "${names[@]}"
		fi
		;;
	ls)
		_moat_reply "$word" -W '--json --help'
		;;
	inspect)
		for ((; i < _moat_cw; i++)); do
			[[ ${_moat_w[i]} == -* ]] || ((pos++))
		done
		if [[ $word == -* ]] || ((pos)); then
			_moat_reply "$word" -W '--json --help'
		else
			_moat_names "$word"
		fi
		;;
	logs)
		for ((; i < _moat_cw; i++)); do
			[[ ${_moat_w[i]} == -* ]] || ((pos++))
		done
		if [[ $word == -* ]] || ((pos)); then
			_moat_reply "$word" -W '-f --follow --json -p --previous --help'
		else
			_moat_names "$word"
		fi
		;;
	stats)
		for ((; i < _moat_cw; i++)); do
			case ${_moat_w[i]} in
			--listen) ((i++)) ;;
			-*) ;;
			*) ((pos++)) ;;
			esac
		done
		if ((i > _moat_cw)); then
			return 0	# --listen ADDR:PORT: nothing to offer
		elif [[ $word == -* ]] || ((pos)); then
			_moat_reply "$word" -W '--json --prometheus --listen --allow-remote --help'
		else
			_moat_names "$word"
		fi
		;;
	verify)
		case ${_moat_w[_moat_cw - 1]} in
		--interval) _moat_reply "$word" -W '30s 5m 15m 1h' ;;
		--probe-target | --on-fail) ;;
		*) _moat_reply "$word" -W '--simulate --json --probe-target --interval --on-fail --help' ;;
		esac
		;;
	policy)
		if ((i == _moat_cw)); then
			_moat_reply "$word" -W 'check test --help'
		elif ((i + 1 == _moat_cw)) && [[ ${_moat_w[i]} == check || ${_moat_w[i]} == test ]]; then
			_moat_files "$word"
		elif ((i + 2 == _moat_cw)) && [[ ${_moat_w[i]} == test ]]; then
			_moat_reply "$word" -W 'host host:'	# DEST: a name or an address
		fi
		;;
	help)
		((i == _moat_cw)) &&
			_moat_reply "$word" -W 'run create attach oci-hook oci-runtime exec update adopt rm ls inspect policy logs stats verify'
		;;
	esac
	return 0
}

complete -F _moat moat
