# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/lib.sh - shared helpers of the benchmark scripts
#
# Every benchmark builds its own namespaces (random suffix, removed by an
# EXIT trap even on failure) and sends packets only between them: nothing
# is added to the machine's own network namespace and nothing leaves it.
#
#   . bench/lib.sh
#   bench_init NAME           make BENCH_DIR, BENCH_SFX, install the trap
#   bench_ns NAME             create netns NAME-SFX; prints nothing, sets
#                             nothing: the name is "$NAME-$BENCH_SFX"
#   bench_on_exit CMD...      run CMD (eval'd) first thing at exit
#   in_ns NS CMD...           run CMD in /run/netns/NS (nsenter --net, so
#                             netns mounts made by CMD stay visible)
#   bench_bg NS LOG CMD...    start CMD in NS in the background, record
#                             its PID to kill at exit
#   bench_wait_listen NS tcp|udp PORT   wait until something listens
#   pct P FILE                the P-th percentile of the numbers in FILE
#   median FILE               pct 50
#
# Results: each script prints a Markdown table on stdout and writes it to
# bench/results/NAME-<date>.md.

BENCH_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MOAT=${MOAT:-$BENCH_TOP/build/moat}
BENCH_NS=()
BENCH_PIDS=()
BENCH_EXIT=()

# bench_cleanup - kill what we started, delete our namespaces and files
bench_cleanup() {
	local c p ns
	for c in "${BENCH_EXIT[@]}"; do
		eval "$c" >/dev/null 2>&1 || true
	done
	for p in "${BENCH_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${BENCH_PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	for ns in "${BENCH_NS[@]}"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	[ -n "${BENCH_DIR:-}" ] && rm -rf "$BENCH_DIR"
}

# bench_init NAME - working directory, random suffix, exit trap
bench_init() {
	if [ "$(id -u)" != 0 ]; then
		echo "$1: must run as root (it creates network namespaces)" >&2
		exit 1
	fi
	if [ ! -x "$MOAT" ]; then
		echo "$1: no moat binary at $MOAT (build it, or set MOAT=)" >&2
		exit 1
	fi
	BENCH_NAME=$1
	BENCH_SFX=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
	BENCH_DIR=$(mktemp -d "/tmp/moat-bench-$1.XXXXXX")
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
}

# bench_on_exit CMD - evaluate CMD at exit, before namespaces go
bench_on_exit() {
	BENCH_EXIT+=("$*")
}

# log MSG... - a timestamped progress line on stderr
log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }

# bench_moat_ns NS - moat runs in namespace NS (moat() calls it there);
# every sandbox of this run is removed at exit, before the namespaces go
bench_moat_ns() {
	BENCH_MOAT_NS=$1
	bench_on_exit bench_moat_rm_all
}

# moat ARGS... - the moat under test, in the namespace of bench_moat_ns
moat() { in_ns "$BENCH_MOAT_NS" "$MOAT" "$@"; }

# bench_moat_rm_all - remove every sandbox of this run
bench_moat_rm_all() {
	moat ls --json 2>/dev/null | jq -r '.[].name' | xargs -r -n 50 \
		nsenter --net="/run/netns/$BENCH_MOAT_NS" "$MOAT" rm -f >/dev/null 2>&1 || true
}

# bench_ns NAME - create the namespace NAME-SFX with lo up
bench_ns() {
	local ns="$1-$BENCH_SFX"
	ip netns add "$ns"
	BENCH_NS+=("$ns")
	ip -n "$ns" link set lo up
}

# in_ns NS CMD... - run CMD in namespace NS
in_ns() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" "$@"
}

# bench_bg NS LOG CMD... - start CMD in NS in the background
bench_bg() {
	local ns=$1 log=$2
	shift 2
	nsenter --net="/run/netns/$ns" "$@" >"$log" 2>&1 &
	BENCH_PIDS+=($!)
}

# bench_wait_listen NS tcp|udp PORT - wait up to 10 s for a listener
bench_wait_listen() {
	local ns=$1 proto=$2 port=$3 flag=-ltn
	[ "$proto" = udp ] && flag=-lun
	for _ in $(seq 100); do
		if in_ns "$ns" ss -H "$flag" "sport = :$port" | grep -q .; then
			return 0
		fi
		sleep 0.1
	done
	echo "$BENCH_NAME: nothing listens on $proto $port in $ns" >&2
	return 1
}

# pct P FILE - P-th percentile (nearest rank) of the numbers in FILE
pct() {
	python3 - "$1" "$2" <<'EOF'
import math, sys
p = float(sys.argv[1])
v = sorted(float(x) for x in open(sys.argv[2]) if x.strip())
if not v:
    print("nan")
else:
    k = max(1, math.ceil(p / 100 * len(v)))
    print("%.3f" % v[k - 1])
EOF
}

# median FILE
median() {
	pct 50 "$1"
}

# ratio A B - A/B with three decimals
ratio() {
	python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print('%.3f' % (a / b) if b else 'nan')" "$1" "$2"
}

# elapsed_ms START - milliseconds since START (an $EPOCHREALTIME value);
# no process is started, so nothing but the timed command is measured
elapsed_ms() {
	local now=$EPOCHREALTIME
	local a=${1/./} b=${now/./}
	printf '%d.%03d\n' $(((b - a) / 1000)) $(((b - a) % 1000))
}
