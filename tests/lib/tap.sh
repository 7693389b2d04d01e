# shellcheck shell=bash disable=SC2034 # TAP_LAST is read by the test scripts
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tests/lib/tap.sh - a tiny TAP-like assert library for integration tests.
#
#   . tests/lib/tap.sh
#   t_begin "DNS"                       # names the following checks
#   assert_eq "$(dig +short ...)" 1.2.3.4 "github.com resolves"
#   assert_ok curl -sf http://...       # passes if the command exits 0
#   assert_fail -m "no host access" nc -z 10.0.0.1 22
#   assert_status 2 "$MOAT" --bogus
#   ok "something held" / not_ok "something broke"
#   t_end                               # "# passed N failed M"; exits 1
#                                       # if anything failed, else 0
#
# Output, one line per check: "ok - GROUP: desc" / "not ok - GROUP: desc",
# failures followed by "#   " lines with details. tests/run-integration.sh
# reads the final "# passed N failed M" line; a script that dies before
# t_end counts as failed.
#
# Assertion commands run in a subshell ($(...)), so they cannot change the
# test's variables; their output is shown only when they fail. All
# functions are safe under `set -e`: a failed check never aborts the
# script, so they always return 0; TAP_LAST is 1 after a pass and 0 after
# a failure (e.g. `assert_ok ...; [ "$TAP_LAST" = 1 ] || t_end`).

TAP_PASSED=0
TAP_FAILED=0
TAP_GROUP=
TAP_LAST=1

# t_begin NAME: start a group of checks
t_begin() {
	TAP_GROUP=$*
	echo "# $TAP_GROUP"
}

_tap_desc() {
	if [ -n "$TAP_GROUP" ]; then echo "$TAP_GROUP: $*"; else echo "$*"; fi
}

# ok DESC: record a pass
ok() {
	TAP_PASSED=$((TAP_PASSED + 1))
	TAP_LAST=1
	echo "ok - $(_tap_desc "$@")"
	return 0
}

# not_ok DESC [DETAIL...]: record a failure, DETAIL lines as comments
not_ok() {
	local desc=$1
	shift
	TAP_FAILED=$((TAP_FAILED + 1))
	TAP_LAST=0
	echo "not ok - $(_tap_desc "$desc")"
	_tap_detail "$@"
	return 0
}

# check DESC CONDITION...: ok if the command CONDITION... succeeds, e.g.
# check "file exists" test -f x   (no output capture; see assert_ok)
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# _tap_detail TEXT...: print text as indented comment lines
_tap_detail() {
	local t
	for t in "$@"; do
		[ -n "$t" ] || continue
		# cap very long output so logs stay readable
		printf '%s\n' "$t" | head -n 40 | sed 's/^/#   /'
	done
}

# assert_eq ACTUAL EXPECTED [DESC]
assert_eq() {
	local got=$1 want=$2 desc=${3:-"'$1' = '$2'"}
	if [ "$got" = "$want" ]; then
		ok "$desc"
	else
		not_ok "$desc" "expected: $want" "got:      $got"
	fi
}

# assert_ne ACTUAL UNEXPECTED [DESC]
assert_ne() {
	local got=$1 bad=$2 desc=${3:-"'$1' != '$2'"}
	if [ "$got" != "$bad" ]; then
		ok "$desc"
	else
		not_ok "$desc" "got the unexpected: $got"
	fi
}

# assert_match ACTUAL REGEX [DESC] (bash =~, extended regex)
assert_match() {
	local got=$1 re=$2 desc=${3:-"'$1' =~ /$2/"}
	if [[ $got =~ $re ]]; then
		ok "$desc"
	else
		not_ok "$desc" "expected to match: $re" "got: $got"
	fi
}

# assert_no_match ACTUAL REGEX [DESC]: pass if ACTUAL does not match
assert_no_match() {
	local got=$1 re=$2 desc=${3:-"'$1' !~ /$2/"}
	if [[ $got =~ $re ]]; then
		not_ok "$desc" "expected not to match: $re" "got: $got"
	else
		ok "$desc"
	fi
}

# _tap_opts: parse an optional "-m DESC" in front of a command
# sets _tap_m (description) and _tap_n (how many args to shift)
_tap_opts() {
	_tap_m=
	_tap_n=0
	if [ "${1:-}" = -m ]; then
		_tap_m=$2
		_tap_n=2
	fi
}

# assert_ok [-m DESC] CMD...: pass if CMD exits 0
assert_ok() {
	local out rc=0 _tap_m _tap_n
	_tap_opts "$@"
	shift "$_tap_n"
	out=$("$@" 2>&1) || rc=$?
	[ -n "$_tap_m" ] || _tap_m="succeeds: $*"
	if [ "$rc" = 0 ]; then
		ok "$_tap_m"
	else
		not_ok "$_tap_m" "exit status $rc" "$out"
	fi
}

# assert_fail [-m DESC] CMD...: pass if CMD exits non-zero
assert_fail() {
	local out rc=0 _tap_m _tap_n
	_tap_opts "$@"
	shift "$_tap_n"
	out=$("$@" 2>&1) || rc=$?
	[ -n "$_tap_m" ] || _tap_m="fails: $*"
	if [ "$rc" != 0 ]; then
		ok "$_tap_m"
	else
		not_ok "$_tap_m" "exit status 0, expected failure" "$out"
	fi
}

# assert_status [-m DESC] STATUS CMD...: pass if CMD exits with STATUS
assert_status() {
	local out rc=0 want _tap_m _tap_n
	_tap_opts "$@"
	shift "$_tap_n"
	want=$1
	shift
	out=$("$@" 2>&1) || rc=$?
	[ -n "$_tap_m" ] || _tap_m="exits $want: $*"
	if [ "$rc" = "$want" ]; then
		ok "$_tap_m"
	else
		not_ok "$_tap_m" "exit status $rc, expected $want" "$out"
	fi
}

# t_skip_all REASON: the whole script does not apply here; exits 77
t_skip_all() {
	echo "# SKIP $*"
	exit 77
}

# t_end: print the summary and exit (1 if anything failed)
t_end() {
	echo "# passed $TAP_PASSED failed $TAP_FAILED"
	[ "$TAP_FAILED" = 0 ] && exit 0
	exit 1
}
