#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/create_ab.sh - one create's rules step and CPU, two moat builds
# side by side with N sandboxes present
#
#   sudo bench/create_ab.sh [--present N] [--rep R] MOAT_A MOAT_B
#
# Makes a bench world (bench/lib.sh) and N sandboxes with MOAT_B, then R
# times: "perf stat -e task-clock moat --verbose create" and "moat rm"
# with MOAT_A, then with MOAT_B (the two must share the run directory's
# format). Prints per create the "create: rules..." steps and the CPU
# milliseconds (task-clock: the process and the kernel work it caused,
# steadier than wall time on a busy machine) and the kernel's share.
set -u
N=1 REP=4
while [ $# -gt 2 ]; do
	case $1 in
	--present) N=$2; shift ;;
	--rep) REP=$2; shift ;;
	*) echo "create_ab.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
	shift
done
[ $# = 2 ] || { sed -n '4,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
A=$(realpath "$1") B=$(realpath "$2")
command -v perf >/dev/null || { echo "create_ab.sh: perf missing" >&2; exit 1; }
MOAT=$B
. "$(dirname "$0")/lib.sh"
bench_init create_ab
HM=bs-hostm-$BENCH_SFX
export MOAT_RUN_DIR=$BENCH_DIR/run
bench_moat_ns "$HM"
bench_ns bs-hostm
log "making $N sandboxes"
for i in $(seq 1 "$N"); do
	moat create "f$i-$BENCH_SFX" >/dev/null 2>&1 || echo "create f$i failed" >&2
done
for k in $(seq "$REP"); do
	for bin in "$A" "$B"; do
		out=$(in_ns "$HM" perf stat -e task-clock,system_time "$bin" \
			--verbose create "ab$k-$BENCH_SFX" 2>&1)
		echo "$bin: $(echo "$out" | grep -oE 'create: rules[^:]*: [0-9.]+ ms' |
			sed 's/^create: //' | tr '\n' ' ')cpu $(echo "$out" |
			awk '/task-clock/ { print $1 }') ms, kernel $(echo "$out" |
			awk '/system_time/ { print $1 / 1e6 }') ms"
		in_ns "$HM" "$bin" rm "ab$k-$BENCH_SFX" >/dev/null
	done
done
