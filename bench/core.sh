#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/core.sh - the core figures of SPEC section 8, side by side with
# their baselines in one run, reported as ratios:
#
#   - TCP bulk (iperf3) and TCP request/response latency (sockperf
#     ping-pong) from an allowed moat sandbox vs a bare veth + masquerade
#     namespace with no moat table;
#   - per-packet cost with 1 and with 1000 sandboxes present (UDP
#     ping-pong latency and TCP bulk through the same sandbox), and
#     (manypins) with 1000 sandboxes whose pin sets are full;
#   - create / remove latency p50/p99 over N sandboxes vs the CNI bridge
#     plugin (netns + veth + bridge + host-local IPAM + masquerade);
#   - supervisor memory, idle, over the 1000 sandboxes (core and worker
#     RSS, and the PSS of the pair);
#   - published-port throughput (moat --publish) vs socat vs direct.
#
#   sudo bench/core.sh [--quick] [--only PARTS] [--out FILE]
#
# PARTS: comma-separated subset of bulk,pub,create,many,manypins (default:
# all but manypins, which is asked for by name: 2 vs NMANY sandboxes whose
# domain-rule pin sets are full; run it alone: the "many" ones would
# stay).
# --quick: fewer rounds, shorter runs and 200 instead of 1000 sandboxes
# (a smoke run; the figures in docs/BENCHMARKS.md come from a full run).
# Needs: scripts/install-deps.sh --bench (iperf3, sockperf, jq,
# containernetworking-plugins, iptables).
#
# Topology (every namespace made here, random suffix, removed at exit):
#
#   moat side                              baseline side (no moat table)
#   +---------------------------+          +---------------------------+
#   | sandboxes (moat create)   |          | BARE bm-bare-SFX          |
#   |   eth0 10.231.x.2/30      |          |   eth0 10.232.0.2/30      |
#   +------------+--------------+          +------------+--------------+
#                | moatN (veth)                         | veth0
#   +------------+--------------+          +------------+--------------+
#   | HOSTM bm-hostm-SFX        |          | HOSTB bm-hostb-SFX        |
#   |  moat runs here           |          |  nft: masquerade only;    |
#   |  up0 172.31.254.1/30      |          |  CNI bridge peer runs here|
#   +------------+--------------+          |  up0 172.31.254.1/30      |
#                | up0 (veth)              +------------+--------------+
#   +------------+--------------+                       | up0 (veth)
#   | INETM bm-inetm-SFX        |          +------------+--------------+
#   |  lo 93.184.216.34         |          | INETB bm-inetb-SFX (same) |
#   |  iperf3 -s, sockperf sr   |          +---------------------------+
#   +---------------------------+
set -euo pipefail
. "$(dirname "$0")/lib.sh"

quick=0
out=
only=,bulk,pub,create,many,
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 ;;
	--out) out=$2; shift ;;
	--only) only=",$2,"; shift ;;
	-h | --help) sed -n '3,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "core.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
	esac
	shift
done

if [ "$quick" = 1 ]; then
	ROUNDS=2 SECS=2 NCREATE=30 NMANY=200
else
	ROUNDS=${ROUNDS:-5} SECS=${SECS:-5} NCREATE=${NCREATE:-100} NMANY=${NMANY:-1000}
fi
for t in iperf3 sockperf jq socat; do
	command -v "$t" >/dev/null || { echo "core.sh: $t missing: sudo scripts/install-deps.sh --bench" >&2; exit 1; }
done
[ -x /usr/lib/cni/bridge ] || { echo "core.sh: /usr/lib/cni/bridge missing: sudo scripts/install-deps.sh --bench" >&2; exit 1; }

bench_init core
LOAD0=$(cut -d" " -f1-3 /proc/loadavg)
SRV=93.184.216.34
HM=bm-hostm-$BENCH_SFX HB=bm-hostb-$BENCH_SFX BARE=bm-bare-$BENCH_SFX
export MOAT_RUN_DIR=$BENCH_DIR/run
R=$BENCH_DIR/r
mkdir -p "$R"

bench_moat_ns "$HM"

# ---------------------------------------------------------------- world
log "building the namespaces"
for ns in bm-hostm bm-inetm bm-hostb bm-inetb bm-bare; do bench_ns "$ns"; done
for side in M B; do
	h=bm-host${side,,}-$BENCH_SFX i=bm-inet${side,,}-$BENCH_SFX
	ip -n "$h" link add up0 type veth peer name up0 netns "$i"
	ip -n "$h" addr add 172.31.254.1/30 dev up0
	ip -n "$i" addr add 172.31.254.2/30 dev up0
	ip -n "$i" addr add $SRV/32 dev lo
	ip -n "$h" link set up0 up
	ip -n "$i" link set up0 up
	ip -n "$h" route add default via 172.31.254.2
	bench_bg "$i" "$BENCH_DIR/iperf3-$side.log" iperf3 -s -B $SRV -p 5201
	bench_bg "$i" "$BENCH_DIR/sockperf-tcp-$side.log" sockperf sr --tcp -i $SRV -p 11111
	bench_bg "$i" "$BENCH_DIR/sockperf-udp-$side.log" sockperf sr -i $SRV -p 11112
	bench_wait_listen "$i" tcp 5201
	bench_wait_listen "$i" tcp 11111
	bench_wait_listen "$i" udp 11112
done
# the bare baseline: veth + masquerade, nothing else
ip -n "$HB" link add veth0 type veth peer name eth0 netns "$BARE"
ip -n "$HB" addr add 10.232.0.1/30 dev veth0
ip -n "$BARE" addr add 10.232.0.2/30 dev eth0
ip -n "$HB" link set veth0 up
ip -n "$BARE" link set eth0 up
ip -n "$BARE" route add default via 10.232.0.1
in_ns "$HB" sysctl -qw net.ipv4.ip_forward=1
in_ns "$HB" nft -f - <<'EOF'
table ip bench {
	chain post {
		type nat hook postrouting priority srcnat;
		ip saddr 10.232.0.0/30 oifname "up0" masquerade
	}
}
EOF

SB=bm-$BENCH_SFX
moat create "$SB" >/dev/null
# moat exec runs the client inside the sandbox; the bare side nsenters
run_m() { moat exec "$SB" -- "$@"; }
run_b() { in_ns "$BARE" "$@"; }

# iperf_bps WHO [ARGS] - one iperf3 run to the server, bits/s received
iperf_bps() {
	local who=$1
	shift
	"run_$who" iperf3 -c $SRV -p 5201 -t "$SECS" -J "$@" |
		jq '.end.sum_received.bits_per_second'
}

# sockperf_lat WHO ARGS - ping-pong; prints "p50 p99" of the round trip in us
sockperf_lat() {
	local who=$1 o
	shift
	o=$("run_$who" sockperf pp -i $SRV -t "$SECS" --full-rtt "$@" 2>&1)
	printf '%s %s\n' \
		"$(sed -n 's/.*percentile 50\.000 = *\([0-9.]*\).*/\1/p' <<<"$o")" \
		"$(sed -n 's/.*percentile 99\.000 = *\([0-9.]*\).*/\1/p' <<<"$o")"
}

# Each loop runs in one shell inside the namespace, so what is timed is
# the command itself: one process start (moat, or ip + the CNI plugin and
# the plugins it starts) and its work. The cost of starting any process
# at all on this machine is measured the same way (/bin/true).
# time_loop NS OUT CMD - run CMD (a shell snippet using $i) NCREATE times
# in NS, appending each run's milliseconds to OUT
time_loop() {
	in_ns "$1" env MOAT="$MOAT" MOAT_RUN_DIR="$MOAT_RUN_DIR" N="${TL_N:-$NCREATE}" \
		SFX="$BENCH_SFX" CNI_CONF="${CNI_CONF:-}" OUT="$2" CMD="$3" \
		bash -c '
		set -e
		for i in $(seq "$N"); do
			t=$EPOCHREALTIME
			eval "$CMD" >/dev/null
			b=$EPOCHREALTIME
			d=$(( ${b/./} - ${t/./} ))
			printf "%d.%03d\n" $((d / 1000)) $((d % 1000)) >>"$OUT"
		done'
}

# ---------------------------------------------------------- bulk and RR
if [[ $only == *,bulk,* ]]; then
log "TCP bulk and request/response, $ROUNDS rounds, alternating"
for _ in $(seq "$ROUNDS"); do
	for who in m b; do
		iperf_bps $who >>"$R/bulk-$who"
		sockperf_lat $who --tcp -p 11111 >>"$R/rr-$who"
	done
done
cut -d' ' -f1 "$R/rr-m" >"$R/rr50-m"; cut -d' ' -f2 "$R/rr-m" >"$R/rr99-m"
cut -d' ' -f1 "$R/rr-b" >"$R/rr50-b"; cut -d' ' -f2 "$R/rr-b" >"$R/rr99-b"
bulk_m=$(median "$R/bulk-m") bulk_b=$(median "$R/bulk-b")
rr50_m=$(median "$R/rr50-m") rr50_b=$(median "$R/rr50-b")
rr99_m=$(median "$R/rr99-m") rr99_b=$(median "$R/rr99-b")

fi
# ------------------------------------------------------ published ports
if [[ $only == *,pub,* ]]; then
log "published-port throughput"
PB=bp-$BENCH_SFX
moat create "$PB" --publish 127.0.0.1:15201:5201 >/dev/null
bench_bg "$HM" "$BENCH_DIR/iperf3-pub.log" env MOAT_RUN_DIR="$MOAT_RUN_DIR" \
	"$MOAT" exec "$PB" -- iperf3 -s -p 5201
bench_bg "$BARE" "$BENCH_DIR/iperf3-bare.log" iperf3 -s -p 5201
bench_wait_listen "$BARE" tcp 5201
bench_bg "$HB" "$BENCH_DIR/socat.log" socat \
	TCP-LISTEN:15202,bind=127.0.0.1,fork,reuseaddr TCP:10.232.0.2:5201
bench_wait_listen "$HB" tcp 15202
# the sandbox's iperf3 listens inside its own namespace: wait for the
# published port to answer instead
for i in $(seq 100); do
	in_ns "$HM" iperf3 -c 127.0.0.1 -p 15201 -t 1 >/dev/null 2>&1 && break
	sleep 0.2
done
pub() { # pub NS PORT ADDR [-R]
	local ns=$1 port=$2 addr=$3
	shift 3
	in_ns "$ns" iperf3 -c "$addr" -p "$port" -t "$SECS" -J "$@" |
		jq '.end.sum_received.bits_per_second'
}
for _ in $(seq "$ROUNDS"); do
	pub "$HM" 15201 127.0.0.1 >>"$R/pub-moat"
	pub "$HB" 15202 127.0.0.1 >>"$R/pub-socat"
	pub "$HB" 5201 10.232.0.2 >>"$R/pub-direct"
	pub "$HM" 15201 127.0.0.1 -R >>"$R/pubR-moat"
	pub "$HB" 15202 127.0.0.1 -R >>"$R/pubR-socat"
	pub "$HB" 5201 10.232.0.2 -R >>"$R/pubR-direct"
done

fi
# ------------------------------------------------------- create / remove
if [[ $only == *,create,* ]]; then
log "create/remove latency over $NCREATE sandboxes (moat, then CNI bridge)"
time_loop "$HM" "$R/true" '/bin/true'
time_loop "$HM" "$R/create-moat" '"$MOAT" create "c$i-$SFX"'
time_loop "$HM" "$R/rm-moat" '"$MOAT" rm "c$i-$SFX"'
CNI_CONF=$(jq -n --arg br "cnib$BENCH_SFX" --arg dir "$BENCH_DIR/cni" '{
	cniVersion: "1.0.0", name: "bench", type: "bridge", bridge: $br,
	isGateway: true, ipMasq: true,
	ipam: {type: "host-local", ranges: [[{subnet: "10.233.0.0/16"}]],
	       dataDir: $dir}}')
for i in $(seq "$NCREATE"); do BENCH_NS+=("bm-cni$i-$BENCH_SFX"); done
cni='printf "%s" "$CNI_CONF" | CNI_CONTAINERID="bench$i" CNI_NETNS="/run/netns/bm-cni$i-$SFX" CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni'
time_loop "$HB" "$R/create-cni" "ip netns add bm-cni\$i-\$SFX && $cni CNI_COMMAND=ADD /usr/lib/cni/bridge"
time_loop "$HB" "$R/rm-cni" "$cni CNI_COMMAND=DEL /usr/lib/cni/bridge && ip netns del bm-cni\$i-\$SFX"
fi
# ------------------------------------------- 1 vs NMANY sandboxes present
# many_round UDPFILE BULKFILE - ROUNDS of UDP RR p50 and TCP bulk through
# the sandbox, appended to $R/UDPFILE and $R/BULKFILE
many_round() {
	for _ in $(seq "$ROUNDS"); do
		sockperf_lat m -p 11112 | cut -d' ' -f1 >>"$R/$1"
		iperf_bps m >>"$R/$2"
	done
}
# many_create PREFIX [ARGS] - sandboxes PREFIX3-SFX to PREFIX$NMANY-SFX,
# two creates at a time, moat create ARGS
many_create() {
	local pfx=$1
	shift
	seq 3 "$NMANY" | xargs -P 2 -I{} nsenter --net="/run/netns/$HM" \
		env MOAT_RUN_DIR="$MOAT_RUN_DIR" "$MOAT" create "$pfx{}-$BENCH_SFX" "$@" >/dev/null
}
if [[ $only == *,many,* ]]; then
log "per-packet cost with 2 sandboxes, then with $NMANY"
many_round udp50-1 bulkmany-1
many_create n
have=$(moat ls --json | jq 'map(select(.status == "running")) | length')
log "measuring with $have sandboxes present"
many_round udp50-n bulkmany-n
# create/remove with that many present (libnftables' cache grows with
# the table)
TL_N=20 time_loop "$HM" "$R/create-many" '"$MOAT" create "m$i-$SFX"'
TL_N=20 time_loop "$HM" "$R/rm-many" '"$MOAT" rm "m$i-$SFX"'

# supervisor memory, idle (the NMANY-2 sandboxes that never carried
# traffic): the core and its worker, RSS each (the worker is a fork: they
# share pages, which RSS counts twice) and PSS of the two together (each
# shared page split between them: what the pair costs)
moat ls --json | jq -r '.[] | select(.name | startswith("n")) | .supervisor_pid' |
	while read -r pid; do
		read -ra kids < <(cat /proc/"$pid"/task/*/children) || true	# no newline: status 1
		wk=$(for c in "${kids[@]}"; do
			[ "$(cat /proc/"$c"/comm)" = moat-worker ] && echo "$c"; done | head -n1)
		awk '/^VmRSS:/ { print $2 / 1024 }' "/proc/$pid/status" >>"$R/rss"
		[ -n "$wk" ] || continue
		awk '/^VmRSS:/ { print $2 / 1024 }' "/proc/$wk/status" >>"$R/rss-wk"
		awk '/^Pss:/ { s += $2 } END { print s / 1024 }' \
			"/proc/$pid/smaps_rollup" "/proc/$wk/smaps_rollup" >>"$R/pss"
	done

fi
# ------------------ 2 vs NMANY sandboxes whose domain-rule pin sets are full
# Each of the many has a policy with a domain allow rule, so a pin set of
# its own per address family (nft.c); the IPv4 one is filled to its size
# (NFT_DOM_SET_SIZE, 4096) with elements carrying a timeout, as the DNS
# interceptor adds them (NEWSETELEM into the sandbox's set), by nft in one
# transaction per 20 sandboxes. The sandbox measured is the one of "many":
# what is asked is whether the other sandboxes' sets cost its packets
# anything.
if [[ $only == *,manypins,* ]]; then
log "per-packet cost with 2 sandboxes, then with $NMANY whose pin sets are full"
cat >"$BENCH_DIR/pins.yaml" <<'EOF2'
version: 1
egress:
  default: deny
  rules:
    - allow: "*.pins.test"
      ports: [443]
EOF2
many_round udp50p-1 bulkpins-1
many_create p --policy "$BENCH_DIR/pins.yaml"
# the pin sets of those sandboxes: NAME_dK_4
in_ns "$HM" nft list sets inet | sed -n 's/^\s*set \(\S*_d[0-9]*_4\) {.*/\1/p' \
	>"$BENCH_DIR/pinsets"
python3 - "$BENCH_DIR/pinsets" "$BENCH_DIR/pins.nft" <<'EOF2'
import sys
sets = open(sys.argv[1]).read().split()
elems = ", ".join("10.200.%d.%d timeout 3600s" % (i // 256, i % 256) for i in range(4096))
with open(sys.argv[2], "w") as f:
    for k, s in enumerate(sets):
        f.write("add element inet moat %s { %s }\n" % (s, elems))
        if k % 20 == 19:
            f.write("#--\n")
EOF2
csplit -s -z -f "$BENCH_DIR/pins-" "$BENCH_DIR/pins.nft" '/^#--$/' '{*}'
for c in "$BENCH_DIR"/pins-*; do
	in_ns "$HM" nft -f "$c"
done
npins=$(in_ns "$HM" nft list sets inet | grep -c '_d[0-9]*_4 {' || true)
full=0
while read -r set; do
	n=$(in_ns "$HM" nft -j list set inet moat "$set" | jq '[.nftables[] | select(.set) | .set.elem // [] | length] | add')
	[ "$n" = 4096 ] && full=$((full + 1))
done < <(head -n 5 "$BENCH_DIR/pinsets")
log "$npins pin sets, of the first 5 checked $full hold 4096 addresses"
havep=$(moat ls --json | jq 'map(select(.status == "running")) | length')
log "measuring with $havep sandboxes present, $npins of them with a full pin set"
many_round udp50p-n bulkpins-n
fi
# ------------------------------------------------------------- report
pctf() { python3 -c "import sys; print('%.1f%%' % (100 * float(sys.argv[1])))" "$1"; }
gb() { python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) / 1e9))" "$1"; }
sub() { python3 -c "import sys; print('%+.1f' % (float(sys.argv[1]) - float(sys.argv[2])))" "$1" "$2"; }
m() { median "$R/$1"; }
{
echo "## Core: enforcement, lifecycle, publishing (bench/core.sh)"
echo
echo "$(date -u +"%F %H:%M"), $(uname -r), $(nproc) cores, load average $LOAD0 at the start, $(cut -d" " -f1-3 /proc/loadavg) at the end; rounds $ROUNDS x ${SECS}s, alternating; medians."
echo
echo "| what | moat | baseline / peer | ratio or delta | target |"
echo "|---|---|---|---|---|"
[ -s "$R/bulk-m" ] && echo "| TCP bulk, allowed sandbox (Gbit/s) | $(gb "$bulk_m") | $(gb "$bulk_b") bare veth+masq | $(pctf "$(ratio "$bulk_m" "$bulk_b")") | >= 95% |"
[ -s "$R/rr-m" ] && echo "| TCP RR round trip p50 (us) | $rr50_m | $rr50_b bare | $(sub "$rr50_m" "$rr50_b") us | <= +5 us |"
[ -s "$R/rr-m" ] && echo "| TCP RR round trip p99 (us) | $rr99_m | $rr99_b bare | $(sub "$rr99_m" "$rr99_b") us | - |"
[ -s "$R/udp50-n" ] && echo "| UDP RR p50 (us), 2 vs $have sandboxes | $(m udp50-n) | $(m udp50-1) | $(pctf "$(ratio "$(m udp50-n)" "$(m udp50-1)")") | flat (+-5%) |"
[ -s "$R/bulkmany-n" ] && echo "| TCP bulk (Gbit/s), 2 vs $have sandboxes | $(gb "$(m bulkmany-n)") | $(gb "$(m bulkmany-1)") | $(pctf "$(ratio "$(m bulkmany-n)" "$(m bulkmany-1)")") | flat (+-5%) |"
[ -s "$R/udp50p-n" ] && echo "| UDP RR p50 (us), 2 vs $havep sandboxes, $npins with full pin sets | $(m udp50p-n) | $(m udp50p-1) | $(pctf "$(ratio "$(m udp50p-n)" "$(m udp50p-1)")") | flat (+-5%) |"
[ -s "$R/bulkpins-n" ] && echo "| TCP bulk (Gbit/s), 2 vs $havep sandboxes, $npins with full pin sets | $(gb "$(m bulkpins-n)") | $(gb "$(m bulkpins-1)") | $(pctf "$(ratio "$(m bulkpins-n)" "$(m bulkpins-1)")") | flat (+-5%) |"
[ -s "$R/create-moat" ] && echo "| create p50 / p99 (ms), $NCREATE | $(m create-moat) / $(pct 99 "$R/create-moat") | $(m create-cni) / $(pct 99 "$R/create-cni") CNI bridge | $(ratio "$(m create-moat)" "$(m create-cni)")x | <= 15 ms |"
[ -s "$R/rm-moat" ] && echo "| remove p50 / p99 (ms), $NCREATE | $(m rm-moat) / $(pct 99 "$R/rm-moat") | $(m rm-cni) / $(pct 99 "$R/rm-cni") CNI bridge | $(ratio "$(m rm-moat)" "$(m rm-cni)")x | <= 15 ms |"
[ -s "$R/create-many" ] && echo "| create / remove p50 (ms) with $have present, 20 | $(m create-many) / $(m rm-many) | - | - | <= 15 ms |"
[ -s "$R/true" ] && echo "| starting any process (/bin/true) p50 (ms), the floor | $(m true) | - | - | - |"
[ -s "$R/rss" ] && echo "| supervisor core RSS idle p50 / max (MiB), $(wc -l <"$R/rss") | $(m rss) / $(pct 100 "$R/rss") | - | - | - |"
[ -s "$R/rss-wk" ] && echo "| supervisor worker RSS idle p50 / max (MiB) | $(m rss-wk) / $(pct 100 "$R/rss-wk") | - | - | - |"
[ -s "$R/pss" ] && echo "| core + worker PSS idle p50 / max (MiB) | $(m pss) / $(pct 100 "$R/pss") | - | - | <= 4 MiB |"
[ -s "$R/pub-moat" ] && echo "| published port, host->sandbox (Gbit/s) | $(gb "$(m pub-moat)") | $(gb "$(m pub-socat)") socat / $(gb "$(m pub-direct)") direct | $(pctf "$(ratio "$(m pub-moat)" "$(m pub-direct)")") of direct | >= 90% |"
[ -s "$R/pubR-moat" ] && echo "| published port, sandbox->host (Gbit/s) | $(gb "$(m pubR-moat)") | $(gb "$(m pubR-socat)") socat / $(gb "$(m pubR-direct)") direct | $(pctf "$(ratio "$(m pubR-moat)" "$(m pubR-direct)")") of direct | >= 90% |"
true
} >"$R/table.md"
cat "$R/table.md"
if [ -n "$out" ]; then
	cp "$R/table.md" "$out"
else
	mkdir -p "$BENCH_TOP/bench/results"
	cp "$R/table.md" "$BENCH_TOP/bench/results/core-$(date -u +%Y%m%d-%H%M).md"
fi
log "done"
