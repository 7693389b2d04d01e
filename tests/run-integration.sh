#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tests/run-integration.sh - runs every tests/integration/test_*.sh
#
#   sudo MOAT=build/moat tests/run-integration.sh
#
# Each script runs as its own bash process, with no stdin, a 300 s time
# limit (MOAT_TEST_TIMEOUT), and MOAT (default: build/moat) and
# MOAT_SRCDIR in its environment. Its output is printed when it ends.
#
# Counting: a script's final "# passed N failed M" line (tests/lib/tap.sh)
# gives its counts. A script that exits non-zero without that line (crash,
# timeout) counts its "ok"/"not ok" lines plus 1 failed; one that exits
# non-zero although its summary says "failed 0" counts 1 more failed. Exit
# status 77 means skipped. The last line is
#   N passed, N failed[, N skipped]
# and the exit status is 0 only if nothing failed.
#
# MOAT_TEST_FILTER=REGEX runs only the scripts whose file name matches.
# If a script is killed before its test world is torn down, this runner
# removes what that world left (tests/lib/world.sh registers each world in
# WORLD_REGISTRY).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
timeout_s=${MOAT_TEST_TIMEOUT:-300}
export MOAT=${MOAT:-$top/build/moat}
export MOAT_SRCDIR=${MOAT_SRCDIR:-$top}

passed=0
failed=0
skipped=0

if [ "$(id -u)" != 0 ]; then
	echo "tests/run-integration.sh: run as root (the tests build network namespaces)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

tmp=$(mktemp -d /tmp/moat-integration.XXXXXX) || exit 125
export WORLD_REGISTRY=$tmp/worlds
mkdir -p "$WORLD_REGISTRY"
trap 'rm -rf "$tmp"' EXIT

# shellcheck source=tests/lib/world.sh
. "$top/tests/lib/world.sh"

shopt -s nullglob
scripts=("$top"/tests/integration/test_*.sh)
shopt -u nullglob

for t in "${scripts[@]}"; do
	name=${t##*/}
	if [ -n "${MOAT_TEST_FILTER:-}" ] && ! [[ $name =~ $MOAT_TEST_FILTER ]]; then
		continue
	fi
	log=$tmp/$name.log
	start=$EPOCHREALTIME
	# output to a file, not a pipe: a stray background process that keeps
	# the script's stdout open cannot hang the runner
	# (in a subshell whose stderr is dropped: bash's own "Killed" notice)
	(timeout --kill-after=10 "$timeout_s" bash "$t" </dev/null >"$log" 2>&1; exit $?) 2>/dev/null
	rc=$?
	secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	timed_out=$(awk -v s="$secs" -v t="$timeout_s" 'BEGIN { print (s >= t) ? 1 : 0 }')

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

	# a world the script could not tear down (killed by the timeout)
	for w in "$WORLD_REGISTRY"/*; do
		[ -f "$w" ] || continue
		dir=$(cat "$w")
		echo "# $name left a test world behind ($dir); removing it"
		world_cleanup_dir "$dir"
		rm -f "$w"
	done
done

echo
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" = 0 ]
