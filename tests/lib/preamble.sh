# shellcheck shell=bash disable=SC2034 # here and S are for the test scripts
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tests/lib/preamble.sh - what every tests/integration/test_*.sh starts with
#
#   # shellcheck source=../lib/preamble.sh
#   . "$(dirname "$0")/../lib/preamble.sh"
#   t_world conntrack nat           # scripts that run moat in a test world
#
# Sourcing it turns on `set -u`, sources tap.sh (the assertions) and
# world.sh (the test world, wait_for), and sets:
#   here          the script's directory (absolute)
#   MOAT_SRCDIR   the source tree (default: the one this file is in)
#   MOAT          the moat binary (default: $MOAT_SRCDIR/build/moat)
#
# t_world [FEATURE...] then, in this order: needs root; checks the kernel
# features the world needs (netns veth nftables ipv6) and FEATURE...
# (require_kernel_feature in world.sh), exiting 77 (skipped) if the kernel
# lacks one; checks that MOAT is executable; builds the world (exit 1 with
# "not ok - world: ..." if it cannot) and sets:
#   MOAT_RUN_DIR  $WORLD_DIR/run, exported: moat's state and global lock
#                 belong to this world alone, so worlds of scripts running at
#                 the same time share nothing
#   S             $WORLD_SUFFIX. Sandbox names are machine-wide (moat keeps
#                 a sandbox's namespace at /run/netns/moat-NAME): every test
#                 sandbox is named NAME-$S, which also lets world_cleanup_dir
#                 find them after a killed script
# and, first thing when the world is destroyed, removes every sandbox left
# in MOAT_RUN_DIR ("moat rm -f", in the world's host namespace).
#
# Helpers shared by the scripts (those that run moat need t_world first):
#   m ARGS...                moat ARGS in the world's host namespace
#   sandbox NAME ARGS...     moat create NAME-$S ARGS; if that fails, a
#                            "not ok" with moat's error and status 1 (add
#                            "|| t_end" where nothing after can pass)
#   as_root_in NS CMD...     CMD as root in namespace NS by ip netns exec
#                            (which also mounts the namespace's /sys)
#   jfield JSON KEY          a top-level field of a JSON object ("" if null)
#   proc_gone PID            no such process, or a zombie nobody reaped
#   leftovers NAME IFNAME    what of sandbox NAME (host interface IFNAME)
#                            is still on the host: links (its IFB too), its
#                            namespace's mount, nftables objects, its
#                            record; one line each, nothing if all is gone
#   proxy_counter NAME KEY   a counter of sandbox NAME-$S's proxy (moat
#                            inspect --json), "absent" if it has none
#   nlogs NAME FILTER [ARG...]  how many records of "moat logs NAME --json
#                            ARG..." match the jq FILTER
#   wait_eq SECS WANT CMD... poll CMD until it prints WANT, at most SECS;
#                            prints what it printed last; 0 iff it was WANT
# and, from world.sh, wait_for SECS CMD... (poll CMD until it succeeds).
#
# Two tags for tests/run-integration.sh, each a line of its own in the
# script's header comment, with the reason above it:
#   # moat-test: serial   it cannot run beside others (it times
#                         something, or changes what the whole machine
#                         shares): it runs alone, after the others
#   # moat-test: long     it takes twenty seconds or more: it starts
#                         before the others

set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tap.sh
. "${BASH_SOURCE[0]%/*}/tap.sh"
# shellcheck source=world.sh
. "${BASH_SOURCE[0]%/*}/world.sh"
MOAT_SRCDIR=${MOAT_SRCDIR:-$(cd "$WORLD_LIB_DIR/../.." && pwd)}
MOAT=${MOAT:-$MOAT_SRCDIR/build/moat}
export MOAT MOAT_SRCDIR

# t_world [FEATURE...]: root, kernel features, the world; see above
t_world() {
	local rc=0
	if [ "$(id -u)" != 0 ]; then
		echo "not ok - run as root (the test world is made of network namespaces)"
		exit 1
	fi
	require_kernel_feature netns veth nftables ipv6 "$@" || rc=$?
	[ "$rc" = 0 ] || exit "$rc"
	if [ ! -x "$MOAT" ]; then
		echo "not ok - MOAT=$MOAT is not an executable (build moat first)"
		exit 1
	fi
	world_create || { echo "not ok - world: cannot build the test world"; exit 1; }
	export MOAT_RUN_DIR=$WORLD_DIR/run
	S=$WORLD_SUFFIX
	world_on_destroy _t_rm_sandboxes
}

# _t_rm_sandboxes: moat rm -f every sandbox of this world's run directory
_t_rm_sandboxes() {
	local d
	for d in "$MOAT_RUN_DIR"/sandboxes/*/; do
		[ -d "$d" ] || continue
		d=${d%/}
		in_host "$MOAT" rm -f "${d##*/}"
	done
}

m() { in_host "$MOAT" "$@"; }

# sandbox NAME ARGS...: create NAME-$S, or record why not
sandbox() {
	local name=$1 out
	shift
	if ! out=$(m create "$name-$S" "$@" 2>&1); then
		not_ok "create $name $*" "$out"
		return 1
	fi
}

as_root_in() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

jfield() {
	"$WORLD_PYTHON" -c 'import json,sys; v=json.loads(sys.argv[1]).get(sys.argv[2]); print("" if v is None else v)' "$1" "$2"
}

proxy_counter() {
	m inspect "$1-$S" --json | jq -r --arg k "$2" '.supervisor.proxy[$k] // "absent"'
}

nlogs() {
	local name=$1 filter=$2
	shift 2
	m logs "$name" --json "$@" 2>/dev/null | jq "[.[] | select($filter)] | length"
}

# _wait_eq_try WANT CMD...: one try of wait_eq (the output in _wait_eq_got)
_wait_eq_try() {
	local want=$1
	shift
	_wait_eq_got=$("$@" 2>/dev/null)
	[ "$_wait_eq_got" = "$want" ]
}
wait_eq() {
	local secs=$1 rc=0
	shift
	_wait_eq_got=
	wait_for "$secs" _wait_eq_try "$@" || rc=1
	echo "$_wait_eq_got"
	return "$rc"
}

proc_gone() { ! proc_alive "$1"; }

leftovers() {
	local name=$1 ifname=$2
	in_host ip -o link show 2>/dev/null | grep -wE "$ifname|ifb$ifname" | sed 's/^/link: /'
	[ -e "/run/netns/moat-$name" ] && echo "netns: /run/netns/moat-$name"
	in_host nft list table inet moat 2>/dev/null | grep -E "${ifname}_|\"$ifname\"" | sed 's/^/nft: /'
	[ -e "$MOAT_RUN_DIR/sandboxes/$name" ] && echo "state: $MOAT_RUN_DIR/sandboxes/$name"
	return 0
}
