#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_bandwidth.sh - limits.bandwidth / --bandwidth: each direction shaped
# on the host end of the sandbox's link (TBF; IFB for what the sandbox
# sends), measured with iperf3 against a server in INET within 10% of the
# limit; an unlimited sandbox measured well above it; the qdiscs and the
# IFB device exist with the sandbox and are gone after "moat rm"; a rate tc
# cannot express is refused where it is written (policy error, usage error)
# before anything is created.
#
#   [sandbox] --moatN (tbf) / ifbmoatN (tbf)-- [HOST] -- [LAN] -- [INET iperf3]
#
# It measures throughput against the limit: it runs alone, as the load of
# other scripts on the same cores would push the unlimited measurement
# under 3x the limit and the limited ones under 90% of it.
# moat-test: serial
# shellcheck source=../lib/preamble.sh
. "$(dirname "$0")/../lib/preamble.sh"

command -v iperf3 >/dev/null || t_skip_all "iperf3 is not installed"
t_world

SRV=93.184.216.34
LIMIT=20000000		# 20mbit: measurable on a shared 2-core machine
in_inet iperf3 -s -B "$SRV" -p 5201 -D -I "$WORLD_DIR/iperf3.pid" >/dev/null 2>&1
world_on_destroy sh -c "kill \$(cat $WORLD_DIR/iperf3.pid 2>/dev/null) 2>/dev/null" || true
world_wait_listen inet tcp 5201 "$SRV" || { not_ok "iperf3 server in INET"; t_end; }

# rate NS [-R]: bits per second received, measured over 3 s after 1 s
rate() {
	local ns=$1 out
	shift
	out=$(in_ns "$ns" iperf3 -c "$SRV" -p 5201 -t 3 -O 1 -J "$@" 2>&1) || {
		echo "iperf3 failed: $out" >&2
		echo 0
		return 1
	}
	"$WORLD_PYTHON" -c 'import json,sys; print(int(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]))' <<<"$out"
}
# within10 BPS: 0 if BPS is within 10% of the goodput LIMIT allows. tc
# counts whole frames (14 + 1500 bytes with MTU 1500), iperf3 counts TCP
# payload (1448 bytes of each, with timestamps): at most 95.6% of LIMIT.
GOODPUT=$((LIMIT * 1448 / 1514))
within10() {
	awk -v r="$1" -v l="$GOODPUT" 'BEGIN { exit !(r >= 0.9 * l && r <= 1.1 * l) }'
}

t_begin "bandwidth limited in both directions"
if out=$(m create "bw-$S" --bandwidth 20mbit 2>&1); then
	ok "create with --bandwidth 20mbit"
else
	not_ok "create with --bandwidth 20mbit" "$out"
	t_end
fi
ifname=$(m inspect "bw-$S" --json | "$WORLD_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["host_interface"])')
idx=${ifname#moat}
assert_match "$(in_host tc qdisc show dev "$ifname")" "tbf" "TBF on $ifname (towards the sandbox)"
assert_match "$(in_host tc filter show dev "$ifname" ingress)" "ifbmoat$idx" "ingress redirected to ifbmoat$idx"
assert_match "$(in_host tc qdisc show dev "ifbmoat$idx")" "tbf" "TBF on ifbmoat$idx (from the sandbox)"

up=$(rate "moat-bw-$S")
check "upload $up bit/s within 10% of $GOODPUT (payload at $LIMIT)" within10 "$up"
down=$(rate "moat-bw-$S" -R)
check "download $down bit/s within 10% of $GOODPUT (payload at $LIMIT)" within10 "$down"

t_begin "no limit without --bandwidth"
if out=$(m create "free-$S" 2>&1); then
	free=$(rate "moat-free-$S" -t 2 2>/dev/null || true)
	free=${free:-0}
	check "unlimited upload $free bit/s above 3x the limit" \
		awk -v r="$free" -v l="$LIMIT" 'BEGIN { exit !(r > 3 * l) }'
	fif=$(m inspect "free-$S" --json | "$WORLD_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["host_interface"])')
	assert_fail -m "no TBF on $fif" sh -c "nsenter --net=$HOST_NETNS tc qdisc show dev $fif | grep -q tbf"
	m rm "free-$S" >/dev/null 2>&1
else
	not_ok "create without a limit" "$out"
fi

t_begin "removal"
assert_ok -m "moat rm" m rm "bw-$S"
assert_fail -m "ifbmoat$idx is gone" in_host ip link show "ifbmoat$idx"
assert_fail -m "$ifname is gone" in_host ip link show "$ifname"

t_begin "a rate tc cannot express"
cat >"$WORLD_DIR/huge.yaml" <<'YAML'
version: 1
limits:
  bandwidth: 100gbit
YAML
out=$(m create "huge-$S" --policy "$WORLD_DIR/huge.yaml" 2>&1)
st=$?
assert_eq "$st" 1 "exit status 1 (a policy error, before anything is created)"
check "one-line error at its place, naming the rate" grep -q "huge.yaml:3:14: limits.bandwidth: 100000000000 bit/s is beyond what tc can shape" <<<"$out"
assert_status 1 m policy check "$WORLD_DIR/huge.yaml"
assert_status 2 m create "huge-$S" --bandwidth 20gbit
assert_fail -m "no sandbox left" m inspect "huge-$S"
assert_fail -m "no IFB device left" sh -c "nsenter --net=$HOST_NETNS ip -o link show | grep -q ifbmoat"

t_end
