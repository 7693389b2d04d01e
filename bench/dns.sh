#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/dns.sh - DNS forwarding (SPEC section 8), side by side in one run:
# dnsperf against moat's interceptor (from a sandbox, its queries
# redirected), dnsmasq and unbound as plain forwarders (one thread each,
# no cache, so that every query goes upstream as moat's do), and directly
# against the upstream; QPS and latency p50/p99, and the interceptor with a
# domain allow rule, so that every answer is pinned before it is released;
# and each forwarder's CPU time per query answered in the saturating runs
# (moat: its supervisor's core and worker), and their system calls per
# query (with perf installed), which the other work on a shared machine
# moves much less than the QPS.
#
#   sudo bench/dns.sh [--quick] [--out FILE]
#
# --quick: 5 s per run instead of 20.
# Saturating runs (-c 4 -q 200) give QPS; their latencies are mostly
# queueing. A second set at a light fixed load gives the added latency.
# Needs: scripts/install-deps.sh --bench (dnsperf, unbound, dnsmasq, jq);
# perf, if installed, for the system calls per query.
#
# Topology (every namespace made here, random suffix, removed at exit):
#
#   +------------------------+        +------------------------+
#   | sandbox (moat create)  |        | CL bd-cl-SFX           |
#   |  dnsperf -> 8.8.8.8    |        |  dnsperf -> fwd / UP   |
#   +-----------+------------+        +-----------+------------+
#               | moatN                           | cl0 10.233.0.2/30
#   +-----------+--------------------------------+-----------+
#   | HOST bd-host-SFX: moat; dnsmasq on 10.233.0.1:53,    |
#   |   unbound on 10.233.0.1:5300 (forwarders, no cache)  |
#   |   up0 172.31.253.1/30                                |
#   +-----------+------------------------------------------+
#               | up0
#   +-----------+------------------------+
#   | UP bd-up-SFX: dnsmasq, 8.8.8.8:53  | the upstream: answers
#   |   (authoritative, local records)   | qN.bench.example locally
#   +------------------------------------+
set -euo pipefail
. "$(dirname "$0")/lib.sh"

quick=0
out=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 ;;
	--out) out=$2; shift ;;
	-h | --help) sed -n '3,39p' "$0"; exit 0 ;;
	*) echo "bench/dns.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
for t in dnsperf unbound dnsmasq jq; do
	command -v "$t" >/dev/null || { echo "bench/dns.sh: needs $t (scripts/install-deps.sh --bench)" >&2; exit 1; }
done
secs=20
[ "$quick" = 1 ] && secs=5
NAMES=1000

bench_init dns
H=bd-host-$BENCH_SFX U=bd-up-$BENCH_SFX C=bd-cl-$BENCH_SFX
export MOAT_RUN_DIR=$BENCH_DIR/run
R=$BENCH_DIR/r
mkdir -p "$R"
bench_moat_ns "$H"

log "building the namespaces"
for ns in bd-host bd-up bd-cl; do bench_ns "$ns"; done
ip -n "$H" link add up0 type veth peer name up0 netns "$U"
ip -n "$H" addr add 172.31.253.1/30 dev up0
ip -n "$U" addr add 172.31.253.2/30 dev up0
ip -n "$U" addr add 8.8.8.8/32 dev lo
ip -n "$H" link set up0 up
ip -n "$U" link set up0 up
ip -n "$H" route add default via 172.31.253.2
ip -n "$U" route add default via 172.31.253.1
ip -n "$H" link add cl0 type veth peer name cl0 netns "$C"
ip -n "$H" addr add 10.233.0.1/30 dev cl0
ip -n "$C" addr add 10.233.0.2/30 dev cl0
ip -n "$H" link set cl0 up
ip -n "$C" link set cl0 up
ip -n "$C" route add default via 10.233.0.1
in_ns "$H" sysctl -qw net.ipv4.ip_forward=1

# the upstream: NAMES local records, answered without recursion
for i in $(seq "$NAMES"); do
	echo "--host-record=q$i.bench.example,93.184.$((i / 250)).$((i % 250 + 1))"
done >"$BENCH_DIR/up.args"
mapfile -t upargs <"$BENCH_DIR/up.args"
bench_bg "$U" "$BENCH_DIR/up.log" dnsmasq --keep-in-foreground --no-resolv \
	--no-hosts --conf-file=/dev/null --user=root --group=root \
	--pid-file="$BENCH_DIR/up.pid" --bind-interfaces --listen-address=8.8.8.8 \
	--port=53 --local=/#/ --local-ttl=300 --dns-forward-max=10000 \
	"${upargs[@]}"
bench_wait_listen "$U" udp 53

# the peers, one thread each, no cache: every query goes upstream
bench_bg "$H" "$BENCH_DIR/fwd-dnsmasq.log" dnsmasq --keep-in-foreground \
	--no-resolv --no-hosts --conf-file=/dev/null --user=root --group=root \
	--pid-file="$BENCH_DIR/fwd.pid" --bind-interfaces \
	--listen-address=10.233.0.1 --port=53 --server=8.8.8.8 --cache-size=0 \
	--dns-forward-max=10000
FWD_PID=${BENCH_PIDS[-1]}	# nsenter execs the daemon: the same process
cat >"$BENCH_DIR/unbound.conf" <<EOF
server:
	interface: 10.233.0.1@5300
	access-control: 10.233.0.0/30 allow
	num-threads: 1
	do-daemonize: no
	use-syslog: no
	logfile: ""
	username: ""
	chroot: ""
	pidfile: ""
	directory: "$BENCH_DIR"
	do-not-query-localhost: no
	cache-max-ttl: 0
	cache-max-negative-ttl: 0
	prefetch: no
	num-queries-per-thread: 4096
	outgoing-range: 8192
	module-config: "iterator"
	domain-insecure: "example"
forward-zone:
	name: "."
	forward-addr: 8.8.8.8
EOF
bench_bg "$H" "$BENCH_DIR/unbound.log" unbound -d -c "$BENCH_DIR/unbound.conf"
UNB_PID=${BENCH_PIDS[-1]}
bench_wait_listen "$H" udp 53
bench_wait_listen "$H" udp 5300

SB=bd-$BENCH_SFX SP=bdp-$BENCH_SFX
# thousands of queries a second: beyond what limits.flows' default lets
# one sandbox send (docs/POLICY.md)
printf 'version: 1\nlimits:\n  flows: 1048576\n' >"$BENCH_DIR/flows.yaml"
moat create "$SB" --dns-upstream 8.8.8.8 --policy "$BENCH_DIR/flows.yaml" >/dev/null
printf 'version: 1\negress:\n  default: deny\n  rules:\n    - allow: "*.bench.example"\n      ports: [443]\nlimits:\n  flows: 1048576\n' >"$BENCH_DIR/pin.yaml"
moat create "$SP" --dns-upstream 8.8.8.8 --policy "$BENCH_DIR/pin.yaml" >/dev/null

for i in $(seq "$NAMES"); do echo "q$i.bench.example A"; done >"$BENCH_DIR/queries"

# cpu_ns PID... - nanoseconds on a CPU of the processes and of their
# children (moat's supervisor: its core and its worker, each one thread)
cpu_ns() {
	local p n t=0
	for p in "$@" $(for q in "$@"; do pgrep -P "$q"; done); do
		read -r n _ <"/proc/$p/schedstat" && t=$((t + n))
	done
	echo "$t"
}

# run LABEL NS SERVER PORT [DNSPERF_ARGS]: one dnsperf run; QPS, latency
# percentiles (default: saturate, -c 4 -q 200) and, with PIDS set, the
# forwarder's CPU time and system calls per query answered (figures that
# other work on the two cores moves much less than QPS)
run() {
	local label=$1 ns=$2 server=$3 port=$4 f=$R/$1 c0=0 c1 nq n p cpu=- sc=- pst=()
	shift 4
	[ $# -gt 0 ] || set -- -c 4 -q 200
	log "dnsperf: $label"
	if [ -n "${PIDS:-}" ]; then
		c0=$(cpu_ns "$PIDS")
		if command -v perf >/dev/null; then
			# over the run's length (dnsperf -l), beside it; one perf
			# per process (given a list, perf 6.1 counted only some)
			for p in $PIDS $(for q in $PIDS; do pgrep -P "$q"; done); do
				perf stat -x, -e raw_syscalls:sys_enter -o "$f.sc.$p" \
					-p "$p" -- sleep "$secs" &
				pst+=($!)
			done
		fi
	fi
	in_ns "$ns" dnsperf -s "$server" -p "$port" -d "$BENCH_DIR/queries" \
		-l "$secs" -t 2 -v "$@" >"$f.out" 2>&1 || true
	if [ -n "${PIDS:-}" ]; then
		c1=$(cpu_ns "$PIDS")
		nq=$(awk '/Queries completed/ { print $3 }' "$f.out")
		for p in "${pst[@]}"; do wait "$p" || true; done
		[ "${nq:-0}" -gt 0 ] && cpu=$(python3 -c "import sys; print('%.1f' % ((int(sys.argv[1]) - int(sys.argv[2])) / 1000 / int(sys.argv[3])))" "$c1" "$c0" "$nq")
		n=$(cat "$f".sc.* 2>/dev/null | awk -F, '/sys_enter/ { n += $1; k++ } END { if (k) print n }')
		[ "${nq:-0}" -gt 0 ] && [ -n "$n" ] && sc=$(python3 -c "import sys; print('%.2f' % (int(sys.argv[1]) / int(sys.argv[2])))" "$n" "$nq")
	fi
	# -v prints one line per query: "> NOERROR q1.bench.example A 0.000123"
	awk '$1 == ">" { print $NF * 1000 }' "$f.out" >"$f.lat"
	qps=$(awk '/Queries per second/ { print $4 }' "$f.out")
	lost=$(awk '/Queries lost/ { print $3 }' "$f.out")
	echo "| $label | ${qps:-?} | $(pct 50 "$f.lat") | $(pct 99 "$f.lat") | ${lost:-?} | $cpu | $sc |"
	echo "${qps:-0}" >"$f.qps"
	echo "$cpu" >"$f.cpu"
	pct 99 "$f.lat" >"$f.p99"
}

SBNS=moat-$SB SPNS=moat-$SP
SV_B=$(moat inspect "$SB" --json | jq -r .supervisor_pid)
SV_P=$(moat inspect "$SP" --json | jq -r .supervisor_pid)
{
	echo "# DNS forwarding, $(date -u +%F) ($secs s per run, $NAMES names, dnsperf -c 4 -q 200)"
	echo
	echo "| path | QPS | p50 ms | p99 ms | lost | forwarder CPU us/query | system calls/query |"
	echo "|---|---|---|---|---|---|---|"
	PIDS='' run direct "$C" 8.8.8.8 53
	PIDS=$FWD_PID run dnsmasq "$C" 10.233.0.1 53
	PIDS=$UNB_PID run unbound "$C" 10.233.0.1 5300
	PIDS=$SV_B run moat "$SBNS" 8.8.8.8 53
	PIDS=$SV_P run moat-pinning "$SPNS" 8.8.8.8 53
	echo
	best=$(python3 -c "import sys; print(max(float(sys.argv[1]), float(sys.argv[2])))" "$(cat "$R/dnsmasq.qps")" "$(cat "$R/unbound.qps")")
	echo "moat QPS / best peer: $(ratio "$(cat "$R/moat.qps")" "$best");" \
	     "with pinning: $(ratio "$(cat "$R/moat-pinning.qps")" "$best")"
	bestc=$(python3 -c "import sys; print(min(float(sys.argv[1]), float(sys.argv[2])))" "$(cat "$R/dnsmasq.cpu")" "$(cat "$R/unbound.cpu")")
	echo "moat CPU per query / the cheaper peer's: $(ratio "$(cat "$R/moat.cpu")" "$bestc");" \
	     "with pinning: $(ratio "$(cat "$R/moat-pinning.cpu")" "$bestc")"
	echo "added p99 vs direct: moat $(python3 -c "import sys; print('%.3f ms' % (float(sys.argv[1]) - float(sys.argv[2])))" "$(cat "$R/moat.p99")" "$(cat "$R/direct.p99")")," \
	     "with pinning $(python3 -c "import sys; print('%.3f ms' % (float(sys.argv[1]) - float(sys.argv[2])))" "$(cat "$R/moat-pinning.p99")" "$(cat "$R/direct.p99")")"
	echo
	echo "Latency at a light load (dnsperf -c 1 -q 10 -Q 2000: 2000 queries/s):"
	echo
	echo "| path | QPS | p50 ms | p99 ms | lost | forwarder CPU us/query | system calls/query |"
	echo "|---|---|---|---|---|---|---|"
	PIDS=''
	run direct-light "$C" 8.8.8.8 53 -c 1 -q 10 -Q 2000
	run moat-light "$SBNS" 8.8.8.8 53 -c 1 -q 10 -Q 2000
	run moat-pinning-light "$SPNS" 8.8.8.8 53 -c 1 -q 10 -Q 2000
	echo
	echo "added p99 at light load vs direct: moat $(python3 -c "import sys; print('%.3f ms' % (float(sys.argv[1]) - float(sys.argv[2])))" "$(cat "$R/moat-light.p99")" "$(cat "$R/direct-light.p99")")," \
	     "with pinning $(python3 -c "import sys; print('%.3f ms' % (float(sys.argv[1]) - float(sys.argv[2])))" "$(cat "$R/moat-pinning-light.p99")" "$(cat "$R/direct-light.p99")")"
	echo
	# measured by the supervisor itself: from the upstream's answer read
	# to the kernel's ACK of its pins, over the last 1024 pinned answers
	# (the light-load run above)
	echo "upstream answer to pinned set element (light load, supervisor's clock):" \
	     "$(moat stats "$SP" --json | jq -r '.sandboxes[0].supervisor.dns.pin_latency_seconds | "p50 \(.p50 * 1e6 | round) µs, p99 \(.p99 * 1e6 | round) µs, max \(.max * 1e6 | round) µs over \(.samples) answers"')"
	echo
	echo "interceptor counters (pinning sandbox): $(moat stats "$SP" --json | jq -c '.sandboxes[0].supervisor.dns | {forwarded_total, upstream_sockets_total, pinned_total, pin_failed_total, servfail_total, upstream_timeout_total, overload_total}')"
} | tee "$R/table.md"

mkdir -p "$BENCH_TOP/bench/results"
cp "$R/table.md" "${out:-$BENCH_TOP/bench/results/dns-$(date -u +%F).md}"
