#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tests/run-integration.sh - runs every tests/integration/test_*.sh
#
#   sudo MOAT=build/moat tests/run-integration.sh
#
# Each script runs as its own bash process, with no stdin, a 300 s time
# limit (MOAT_TEST_TIMEOUT), and MOAT (default: build/moat) and
# MOAT_SRCDIR in its environment. Up to MOAT_TEST_JOBS scripts (default 4)
# run at once: each builds its own test world (tests/lib/world.sh, names
# with a random suffix) and gives moat a run directory inside it
# (tests/lib/preamble.sh), and much of a script's time is spent waiting
# (timeouts of probes that must fail, servers, moat): measured on two
# cores, four at once take a third of the time one at a time does, three
# a little more, two a half. Scripts with the line "# moat-test: long"
# start first; those with "# moat-test: serial" (they time something, or
# change what the whole machine shares) run alone, after the others. A
# script's output is printed whole when it ends, in the order they end,
# after a line "=== NAME (exit RC, SECONDS)".
#
# Counting: a script's final "# passed N failed M" line (tests/lib/tap.sh)
# gives its counts. A script that exits non-zero without that line (crash,
# timeout) counts its "ok"/"not ok" lines plus 1 failed; one that exits
# non-zero although its summary says "failed 0" counts 1 more failed. Exit
# status 77 means skipped. The last line is
#   N passed, N failed[, N skipped]
# and the exit status is 0 only if nothing failed.
#
# In a build with test hooks (-Dtest_hooks=true), each script's moat
# supervisors write their stderr to a file of the runner's (they write it
# to /dev/null otherwise): a sanitizer's report there counts 1 failed.
#
# MOAT_TEST_FILTER=REGEX runs only the scripts whose file name matches.
# MOAT_TEST_KEEP=1 keeps the runner's directory of logs (/tmp/moat-integration.*).
# If a script is killed before its test world is torn down, this runner
# removes what that world left: tests/lib/world.sh registers each world in
# WORLD_REGISTRY, a directory of the script's own.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
timeout_s=${MOAT_TEST_TIMEOUT:-300}
jobs=${MOAT_TEST_JOBS:-4}
export MOAT=${MOAT:-$top/build/moat}
export MOAT_SRCDIR=${MOAT_SRCDIR:-$top}

sanitizer_re='ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: UndefinedBehaviorSanitizer'
passed=0
failed=0
skipped=0

if [ "$(id -u)" != 0 ]; then
	echo "tests/run-integration.sh: run as root (the tests build network namespaces)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
if ! [[ $jobs =~ ^[1-9][0-9]*$ ]]; then
	echo "tests/run-integration.sh: MOAT_TEST_JOBS must be a positive number, not '$jobs'" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

tmp=$(mktemp -d /tmp/moat-integration.XXXXXX) || exit 125
# shellcheck source=lib/world.sh
. "$top/tests/lib/world.sh"

shopt -s nullglob
all=("$top"/tests/integration/test_*.sh)
shopt -u nullglob
parallel=()
long=()
serial=()
for t in "${all[@]}"; do
	name=${t##*/}
	if [ -n "${MOAT_TEST_FILTER:-}" ] && ! [[ $name =~ $MOAT_TEST_FILTER ]]; then
		continue
	fi
	if grep -q '^# moat-test: serial$' "$t"; then
		serial+=("$t")
	elif grep -q '^# moat-test: long$' "$t"; then
		long+=("$t")
	else
		parallel+=("$t")
	fi
done
# the long ones first: the run does not end waiting on one started late
parallel=("${long[@]}" "${parallel[@]}")

# start SCRIPT: run it in the background (the job is its timeout(1)
# process), its output to $tmp/NAME.log
declare -A job_name=() job_start=()
start() {
	local t=$1 name=${1##*/}
	mkdir -p "$tmp/worlds/$name"
	# output to a file, not a pipe: a stray background process that keeps
	# the script's stdout open cannot hang the runner
	# MOAT_TEST_ONE_BATCH_MIN=0: every create after a world's first takes
	# the one-transaction path (src/nftx.c) that a host with many
	# sandboxes takes, though a world holds a few
	MOAT_TEST_ONE_BATCH_MIN=0 \
	MOAT_TEST_SUPERVISOR_STDERR=$tmp/$name.supervisor \
	WORLD_REGISTRY=$tmp/worlds/$name timeout --kill-after=10 "$timeout_s" \
		bash "$t" </dev/null >"$tmp/$name.log" 2>&1 &
	job_name[$!]=$name
	job_start[$!]=$EPOCHREALTIME
}

# cleanup_worlds NAME: remove what the worlds of script NAME left (it was
# killed before it could)
cleanup_worlds() {
	local w dir
	for w in "$tmp/worlds/$1"/*; do
		[ -f "$w" ] || continue
		dir=$(cat "$w")
		echo "# $1 left a test world behind ($dir); removing it"
		WORLD_REGISTRY=$tmp/worlds/$1 world_cleanup_dir "$dir"
		rm -f "$w"
	done
}

# finish PID RC: count and print the script that job PID ran (its exit
# status RC), and remove what its worlds left
finish() {
	local pid=$1 rc=$2 name=${job_name[$1]} log secs timed_out summary p f
	log=$tmp/$name.log
	secs=$(awk -v a="${job_start[$pid]}" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	timed_out=$(awk -v s="$secs" -v t="$timeout_s" 'BEGIN { print (s >= t) ? 1 : 0 }')
	unset "job_name[$pid]" "job_start[$pid]"

	echo "=== $name (exit $rc, ${secs}s)"
	cat "$log"

	summary=$(grep -E '^# passed [0-9]+ failed [0-9]+$' "$log" | tail -n1)
	if [ "$rc" = 77 ]; then
		echo "# $name: skipped"
		skipped=$((skipped + 1))
	elif [ -n "$summary" ]; then
		read -r _ _ p _ f <<<"$summary"
		passed=$((passed + p))
		failed=$((failed + f))
		if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
			echo "not ok - $name exited with status $rc"
			failed=$((failed + 1))
		fi
	else
		p=$(grep -c '^ok - ' "$log")
		f=$(grep -c '^not ok - ' "$log")
		passed=$((passed + p))
		failed=$((failed + f + 1))
		if [ "$timed_out" = 1 ]; then
			echo "not ok - $name timed out after ${timeout_s}s"
		else
			echo "not ok - $name died (exit status $rc) before its summary"
		fi
	fi

	# what a supervisor (core or worker) wrote to stderr: in a build with
	# test hooks, the file MOAT_TEST_SUPERVISOR_STDERR names; a
	# sanitizer's report there fails the script
	if [ -s "$tmp/$name.supervisor" ] &&
		grep -qE "$sanitizer_re" "$tmp/$name.supervisor"; then
		grep -E -A12 "$sanitizer_re" "$tmp/$name.supervisor" | head -60 | sed 's/^/# supervisor: /'
		echo "not ok - $name: a supervisor's sanitizer reported an error"
		failed=$((failed + 1))
	fi

	cleanup_worlds "$name"
}

# wait_one: wait for any running script to end, and finish it (bash's
# own notice of a job killed by a signal goes to /dev/null)
wait_one() {
	local pid rc=0
	wait -n -p pid 2>/dev/null || rc=$?
	finish "$pid" "$rc"
}

# on exit (an interrupted run too): no script left running, no world left
on_exit() {
	local pid
	for pid in "${!job_name[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${!job_name[@]}"; do
		wait "$pid" 2>/dev/null
		cleanup_worlds "${job_name[$pid]}"
	done
	[ -n "${MOAT_TEST_KEEP:-}" ] || rm -rf "$tmp"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for t in "${parallel[@]}"; do
	[ ${#job_name[@]} -lt "$jobs" ] || wait_one
	start "$t"
done
while [ ${#job_name[@]} -gt 0 ]; do
	wait_one
done
for t in "${serial[@]}"; do
	start "$t"
	wait_one
done

echo
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" = 0 ]
