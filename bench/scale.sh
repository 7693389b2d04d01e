#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/scale.sh - create and remove at scale, side by side with two peers
# in one run, and what idle sandboxes cost:
#
#   - create / remove latency (p50, p99) of moat, the CNI bridge plugin
#     (netns + veth + bridge + host-local IPAM + masquerade, as core.sh)
#     and netavark (Podman's network back end: netns + veth + bridge +
#     iptables-nft NAT chains), each timed over NT sandboxes while C of its
#     own are present, for each C of COUNTS (default 1 200 1000);
#   - how long it took to bring moat from one count to the next (the fill,
#     one creation after the other, wall time);
#   - with the most present: the supervisors' memory (core and worker RSS,
#     PSS of the pair) and the CPU all idle supervisors used over IDLE
#     seconds.
#
#   sudo bench/scale.sh [--quick] [--counts "1 200 1000"] [--out FILE]
#
# --quick: counts 1 and 50, NT 10 (a smoke run). NT=N in the environment
# changes the number of timed create/remove pairs per count (default 30).
# Needs: scripts/install-deps.sh --bench (jq, containernetworking-plugins,
# netavark, iptables).
#
# Topology (every namespace made here, random suffix, removed at exit;
# no traffic is sent, only objects made and removed):
#
#   bs-hostm-SFX  moat runs here (its table, its sandboxes' veths)
#   bs-hostb-SFX  the CNI bridge plugin's bridge, veths and iptables rules
#   bs-hostn-SFX  netavark's bridge, veths and iptables rules
#   bs-b<i>-SFX, bs-n<i>-SFX   the peers' containers' namespaces
set -euo pipefail
. "$(dirname "$0")/lib.sh"

quick=0
out=
COUNTS=${COUNTS:-"1 200 1000"}
NT=${NT:-30}
IDLE=${IDLE:-10}
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 ;;
	--counts) COUNTS=$2; shift ;;
	--out) out=$2; shift ;;
	-h | --help) sed -n '3,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "scale.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
	esac
	shift
done
[ "$quick" = 1 ] && COUNTS="1 50" NT=10 IDLE=3
for t in jq python3; do
	command -v "$t" >/dev/null || { echo "scale.sh: $t missing: sudo scripts/install-deps.sh --bench" >&2; exit 1; }
done
CNI=/usr/lib/cni/bridge NV=/usr/lib/podman/netavark
[ -x $CNI ] || { echo "scale.sh: $CNI missing: sudo scripts/install-deps.sh --bench" >&2; exit 1; }
[ -x $NV ] || { echo "scale.sh: $NV missing: sudo scripts/install-deps.sh --bench" >&2; exit 1; }

bench_init scale
HM=bs-hostm-$BENCH_SFX HB=bs-hostb-$BENCH_SFX HN=bs-hostn-$BENCH_SFX
export MOAT_RUN_DIR=$BENCH_DIR/run
R=$BENCH_DIR/r
mkdir -p "$R" "$BENCH_DIR/nv" "$BENCH_DIR/cni"
bench_moat_ns "$HM"
for ns in bs-hostm bs-hostb bs-hostn; do bench_ns "$ns"; done
# the peers' containers go at exit too (their namespaces are listed as made)
bench_on_exit peers_rm_all

CNI_CONF=$(jq -n --arg br "bsb$BENCH_SFX" --arg dir "$BENCH_DIR/cni" '{
	cniVersion: "1.0.0", name: "bench", type: "bridge", bridge: $br,
	isGateway: true, ipMasq: true,
	ipam: {type: "host-local", ranges: [[{subnet: "10.233.0.0/16"}]],
	       dataDir: $dir}}')
export CNI_CONF

# nv_conf I - netavark's setup/teardown input for container I (netavark
# does no IPAM of its own: Podman hands it the address)
nv_conf() {
	jq -n --argjson i "$1" --arg br "bsn$BENCH_SFX" '{
	container_id: (($i | tostring) as $s | ("0" * (64 - ($s | length))) + $s),
	container_name: ("c" + ($i | tostring)),
	networks: {bench: {interface_name: "eth0",
		static_ips: ["10.235.\($i / 250 | floor).\($i % 250 + 2)"]}},
	network_info: {bench: {name: "bench", id: ("1" * 64), driver: "bridge",
		network_interface: $br,
		subnets: [{subnet: "10.235.0.0/16", gateway: "10.235.255.254"}],
		ipv6_enabled: false, internal: false, dns_enabled: false,
		ipam_options: {driver: "host-local"}}}}'
}

# peer_add KIND I / peer_del KIND I - one container of a peer, as a
# container engine would make it: a namespace, then the plugin
peer_add() {
	local ns=bs-$1$2-$BENCH_SFX
	ip netns add "$ns"
	if [ "$1" = b ]; then
		printf '%s' "$CNI_CONF" | in_ns "$HB" env CNI_COMMAND=ADD \
			CNI_CONTAINERID="bench$2" CNI_NETNS="/run/netns/$ns" \
			CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni $CNI >/dev/null
	else
		nv_conf "$2" | in_ns "$HN" $NV --config "$BENCH_DIR/nv" \
			-f /dev/stdin setup "/run/netns/$ns" >/dev/null
	fi
}
peer_del() {
	local ns=bs-$1$2-$BENCH_SFX
	if [ "$1" = b ]; then
		printf '%s' "$CNI_CONF" | in_ns "$HB" env CNI_COMMAND=DEL \
			CNI_CONTAINERID="bench$2" CNI_NETNS="/run/netns/$ns" \
			CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni $CNI >/dev/null
	else
		nv_conf "$2" | in_ns "$HN" $NV --config "$BENCH_DIR/nv" \
			-f /dev/stdin teardown "/run/netns/$ns" >/dev/null
	fi
	ip netns del "$ns"
}
# peers_rm_all - remove what is left of the peers' containers
peers_rm_all() {
	local ns
	for ns in /run/netns/bs-[bn][0-9]*-"$BENCH_SFX"; do
		[ -e "$ns" ] || continue
		ns=${ns#/run/netns/bs-}
		peer_del "${ns:0:1}" "${ns:1:-$((${#BENCH_SFX} + 1))}" 2>/dev/null ||
			ip netns del "bs-$ns" 2>/dev/null || true
	done
}

# timed OUT CMD - run CMD (a shell snippet) and append its milliseconds;
# the clock is read by the shell itself, so only CMD is timed
timed() {
	local t=$EPOCHREALTIME b d
	eval "$2" >/dev/null
	b=$EPOCHREALTIME
	d=$((${b/./} - ${t/./}))
	printf '%d.%03d\n' $((d / 1000)) $((d % 1000)) >>"$1"
}

# fill KIND FROM TO - make objects FROM..TO (present in the next round)
fill() {
	local k=$1 i
	for i in $(seq "$2" "$3"); do
		case $k in
		m) moat create "f$i-$BENCH_SFX" >/dev/null ;;
		*) peer_add "$k" "$i" ;;
		esac
	done
}

have=0
for C in $COUNTS; do
	# C present: the timed sandbox comes on top of C - 1 others
	want=$((C - 1))
	if [ "$want" -gt "$have" ]; then
		log "bringing each tool to $want present"
		t0=$EPOCHREALTIME
		fill m $((have + 1)) "$want"
		t1=$EPOCHREALTIME
		echo "$have $want $(((${t1/./} - ${t0/./}) / 1000))" >>"$R/fill-m"
		fill b $((have + 1)) "$want"
		fill n $((have + 1)) "$want"
		have=$want
	fi
	# each timed one is removed before the next is made: C present at
	# most (a Linux bridge takes 1024 ports)
	log "timing $NT create/remove each with $C present (moat, CNI bridge, netavark, alternating)"
	for i in $(seq "$C" $((C + NT - 1))); do
		timed "$R/c-m-$C" "moat create t$i-$BENCH_SFX"
		timed "$R/c-b-$C" "peer_add b $i"
		timed "$R/c-n-$C" "peer_add n $i"
		timed "$R/r-m-$C" "moat rm t$i-$BENCH_SFX"
		timed "$R/r-b-$C" "peer_del b $i"
		timed "$R/r-n-$C" "peer_del n $i"
	done
done

# where a create's and a remove's time goes, with the most present
# (moat --verbose prints each step's milliseconds)
log "moat --verbose create and rm with $have present"
moat --verbose create "p-$BENCH_SFX" 2>"$R/steps-create" >/dev/null
moat --verbose rm "p-$BENCH_SFX" 2>"$R/steps-rm" >/dev/null

# memory and idle CPU of the supervisors, with the most present
log "supervisors: memory and idle CPU with $have sandboxes"
pids=$(moat ls --json | jq -r '.[] | .supervisor_pid')
ticks() { # ticks PID... - utime + stime of the processes and their children
	local p c
	for p in "$@"; do
		read -ra c < <(cat /proc/"$p"/task/*/children 2>/dev/null) || true
		for q in "$p" "${c[@]}"; do
			awk '{ print $14 + $15 }' "/proc/$q/stat" 2>/dev/null || true
		done
	done | awk '{ s += $1 } END { print s + 0 }'
}
# shellcheck disable=SC2086
t0=$(ticks $pids)
sleep "$IDLE"
# shellcheck disable=SC2086
t1=$(ticks $pids)
echo "$((t1 - t0))" >"$R/idle-ticks"
for pid in $pids; do
	read -ra kids < <(cat /proc/"$pid"/task/*/children) || true
	wk=$(for c in "${kids[@]}"; do
		[ "$(cat /proc/"$c"/comm)" = moat-worker ] && echo "$c"; done | head -n1)
	awk '/^VmRSS:/ { print $2 / 1024 }' "/proc/$pid/status" >>"$R/rss"
	[ -n "$wk" ] || continue
	awk '/^VmRSS:/ { print $2 / 1024 }' "/proc/$wk/status" >>"$R/rss-wk"
	awk '/^Pss:/ { s += $2 } END { print s / 1024 }' \
		"/proc/$pid/smaps_rollup" "/proc/$wk/smaps_rollup" >>"$R/pss"
done

# ------------------------------------------------------------- report
m() { median "$R/$1"; }
{
echo "## Create and remove at scale (bench/scale.sh)"
echo
echo "$(date -u '+%F %H:%M'), $(uname -r), $(nproc) cores; $NT timed create/remove pairs per count, the three tools alternating; CNI plugins $(dpkg-query -W -f '${Version}' containernetworking-plugins 2>/dev/null || echo '?'), netavark $($NV --version | cut -d' ' -f2)."
echo
echo "| present | moat create p50 / p99 (ms) | CNI bridge | netavark | moat remove p50 / p99 (ms) | CNI bridge | netavark |"
echo "|---|---|---|---|---|---|---|"
for C in $COUNTS; do
	row="| $C"
	for op in c r; do
		for k in m b n; do
			row+=" | $(m "$op-$k-$C") / $(pct 99 "$R/$op-$k-$C")"
		done
	done
	echo "$row |"
done
echo
first=${COUNTS%% *} last=${COUNTS##* }
for op in c r; do
	name=create; [ $op = r ] && name=remove
	echo "- moat $name p50 with $last present vs $first: $(ratio "$(m "$op-m-$last")" "$(m "$op-m-$first")")x (target: flat, within +-20%, and <= 15 ms; p99 <= 40 ms)"
done
while read -r from to ms; do
	echo "- moat: from $from to $to sandboxes, one after the other: $ms ms"
done <"$R/fill-m"
echo "- idle supervisors ($(wc -l <"$R/rss")): core RSS p50 / max $(m rss) / $(pct 100 "$R/rss") MiB, worker RSS p50 / max $(m rss-wk) / $(pct 100 "$R/rss-wk") MiB, core + worker PSS p50 / max $(m pss) / $(pct 100 "$R/pss") MiB (target <= 4 MiB)"
echo "- CPU of all idle supervisors and workers over ${IDLE} s: $(cat "$R/idle-ticks") clock ticks (of $(getconf CLK_TCK) a second)"
echo
echo "Steps of one create and one remove with $have present (moat --verbose):"
echo
for f in create rm; do
	sed -n 's/^moat: debug: \(create\|rm\|teardown\): //p' "$R/steps-$f" |
		awk -F': ' -v f="$f" '{ printf "%s%s %s", sep, $1, $2; sep = "; " }
			BEGIN { printf "- %s: ", f } END { print "" }'
done
} >"$R/table.md"
cat "$R/table.md"
if [ -n "$out" ]; then
	cp "$R/table.md" "$out"
else
	mkdir -p "$BENCH_TOP/bench/results"
	cp "$R/table.md" "$BENCH_TOP/bench/results/scale-$(date -u +%Y%m%d-%H%M).md"
fi
log "done"
