#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_exhaust.sh - one sandbox cannot use up what the host shares.
#
# Connection tracking: sandbox A (limits.flows: 64) opens 200 TCP
# connections at once to a server in INET that completes and holds every
# handshake. At most 64 get through (its first ones do: the positive
# control), the rest are refused, logged and counted (I9); while A holds
# them, sandbox B (default policy) still gets HTTP and DNS from its own
# gateway, and the host namespace still opens new connections; A's own DNS
# queries still work (they are paced, not counted), and A connects again
# once it let go. Sandbox C (limits.flows: 64) sends 100 UDP datagrams
# from 100 source ports, slower than the pace: at most 64 are answered
# (the count); then 400 DNS queries
# from 400 ports to its gateway: at most 256 (and 6.4 a second) are
# answered, and their entries leave the host's table within 10 s. Sandbox F (limits.flows: 64) opens and closes 300
# connections in a row: the rate of new ones (64 at once, then 32 a
# second) and the two-second TIME_WAIT of its entries bound what the host
# keeps tracking of them. Sandbox G (limits.flows: 64) floods its DNS
# interceptor with queries from one socket: its DNS messages are paced too
# (256 at once, then 6.4 a second), which bounds the upstream flows the
# interceptor opens for it.
# Sandbox H holds 30 connections and is removed: none of its conntrack
# entries stay behind (a sandbox created, flooded and removed over and
# over would otherwise fill the table).
#
# Neighbour cache: from root in sandbox D, neighbour solicitations from 64
# forged fe80::/10 sources create no entry in the host's neighbour table
# for D's interface, and are counted as spoofing; one from D's own
# link-local address does (the positive control), and D's IPv6 works; NDs
# from it beyond the rate are dropped. IPv4: ARP requests from forged
# sender addresses teach the host nothing (reverse-path filter on its end).
#
# Pins: with dns.ttl {min: 0, max: 0} every pin of sandbox E still has a
# timeout (nftables takes 0 as "never"): the address works right after the
# answer and is closed again within seconds.
#
# The numbers stay small: the machine's conntrack table and its IPv6
# neighbour table (gc_thresh3) are shared with every other test.
#
#   [A, ..., H] --moatN-- [HOST] -- [LAN] -- [INET holding server :7777]
#
# It takes twenty seconds or more (floods paced by the kernel's rate
# limits): tests/run-integration.sh starts it before the others.
# moat-test: long
# shellcheck source=../lib/preamble.sh
. "$(dirname "$0")/../lib/preamble.sh"

t_world conntrack
EX=("$WORLD_PYTHON" "$here/../lib/exhaust.py")

SRV=93.184.216.34
PORT=7777
in_inet "${EX[@]}" listen "$SRV" "$PORT" >"$WORLD_DIR/listen.log" 2>&1 &
echo $! >"$WORLD_DIR/listen.pid"
world_on_destroy sh -c "kill \$(cat $WORLD_DIR/listen.pid) 2>/dev/null" || true
world_wait_listen inet tcp "$PORT" "$SRV" || { not_ok "holding server in INET"; t_end; }

# field NAME KEY: a field of "moat inspect --json", without prefix length
field() {
	m inspect "$1" --json | "$WORLD_PYTHON" -c 'import json,sys; v=json.load(sys.stdin)[sys.argv[1]]; print((v or "").split("/")[0])' "$2"
}
# counter IFNAME NAME: packets of one of a sandbox's named counters
counter() {
	in_host nft list counter inet moat "$1_$2" 2>/dev/null |
		sed -n 's/.*packets \([0-9]*\).*/\1/p'
}

cat >"$WORLD_DIR/flows.yaml" <<EOF
version: 1
limits:
  flows: 64
EOF
if out=$(m policy check "$WORLD_DIR/flows.yaml" 2>&1); then
	ok "limits.flows is a policy key"
	assert_match "$out" "flows: 64" "moat policy check prints it"
else
	# a moat without it: the checks below still show what A can take
	not_ok "limits.flows is a policy key" "$out"
	echo "version: 1" >"$WORLD_DIR/flows.yaml"
fi
for n in a b c f g; do
	pol=()
	[ $n = b ] || pol=(--policy "$WORLD_DIR/flows.yaml")
	out=$(m create "$n-$S" "${pol[@]}" 2>&1) || { not_ok "create $n-$S" "$out"; t_end; }
done
ifa=$(field "a-$S" host_interface)
gwa=$(field "a-$S" gateway4)
gwb=$(field "b-$S" gateway4)
gwc=$(field "c-$S" gateway4)
ifc=$(field "c-$S" host_interface)
ipf=$(field "f-$S" ipv4)
gwg=$(field "g-$S" gateway4)
ifg=$(field "g-$S" host_interface)

t_begin "conntrack: A opens 200 connections at once with limits.flows 64"
before=$(counter "$ifa" d_i9_any)
in_ns "moat-a-$S" "${EX[@]}" hold-tcp "$SRV" "$PORT" 200 "$WORLD_DIR/stop-a" >"$WORLD_DIR/hold-a.log" 2>&1 &
hold=$!
wait_for 10 grep -q connected "$WORLD_DIR/hold-a.log"
res=$(cat "$WORLD_DIR/hold-a.log")
k=$(sed -n 's/connected \([0-9]*\) of.*/\1/p' <<<"$res")
k=${k:-0}
check "A's first connections got through ($res)" test "$k" -ge 32
check "no more than 64 of A's connections got through ($res)" test "$k" -le 64
after=$(counter "$ifa" d_i9_any)
check "the refused ones are counted in ${ifa}_d_i9_any (${before:-none} -> ${after:-none})" \
	test "${after:-0}" -gt "${before:-0}"

t_begin "conntrack: while A holds its share"
assert_match "$(probe_http "moat-b-$S" "http://$SRV/")" "INET $SRV" "B's HTTP works"
assert_eq "$(dns_rcode "moat-b-$S" "$gwb" example.com)" NOERROR "B's DNS to its own gateway works"
assert_ok -m "the host namespace opens new connections" probe_tcp host "$SRV" 22
# A's DNS to its gateway is bounded by its own pace, not by the count: A
# still resolves
assert_eq "$(dns_rcode "moat-a-$S" "$gwa" example.com)" NOERROR "A's own DNS still works"
touch "$WORLD_DIR/stop-a"
wait "$hold" 2>/dev/null
check "A connects again once it closed its connections" \
	wait_for 10 probe_tcp "moat-a-$S" "$SRV" 22

t_begin "conntrack: C sends 100 UDP datagrams from 100 ports, 25 a second"
# slower than the pace of new flows (32 a second): the count refuses them
assert_match "$(probe_udp "moat-c-$S" "$SRV" 9999)" "INET-9999" "C's UDP works before"
res=$(in_ns "moat-c-$S" "${EX[@]}" udp "$SRV" 9999 100 0.04 2>&1)
k=$(sed -n 's/answered \([0-9]*\) of.*/\1/p' <<<"$res")
k=${k:-0}
check "some answered ($res)" test "$k" -ge 16
check "no more than 64 answered ($res)" test "$k" -le 64
check "the refused ones are counted in ${ifc}_d_i9_any" test "$(counter "$ifc" d_i9_any)" -gt 0 2>/dev/null

t_begin "conntrack: C sends 400 DNS queries from 400 ports to its gateway"
# the interceptor's flows are not in the count (a resolver opens one per
# query): 4 x 64 at once, then 6.4 a second, each tracked 10 s
res=$(in_ns "moat-c-$S" "${EX[@]}" udp-dns "$gwc" 400 2>&1)
k=$(sed -n 's/answered \([0-9]*\) of.*/\1/p' <<<"$res")
k=${k:-0}
check "C's first queries are answered ($res)" test "$k" -ge 64
check "no more than 4 x 64 + 6.4 a second are answered ($res)" test "$k" -le 290
ipc=$(field "c-$S" ipv4)
ct=$(in_host cat /proc/net/nf_conntrack)
dn=$(awk -v a="src=$ipc" '$3 == "udp" && $6 == a && / dport=53 /' <<<"$ct" | wc -l)
maxt=$(awk -v a="src=$ipc" '$3 == "udp" && $6 == a && / dport=53 / { if ($5 > m) m = $5 } END { print m + 0 }' <<<"$ct")
check "the host tracks at most 5 x 64 of them ($dn), for at most 10 s ($maxt s left at most)" \
	test "$dn" -le 320 -a "$maxt" -le 10

t_begin "conntrack: F opens and closes 300 connections, one after the other"
# closed connections leave the count but stay tracked (TIME_WAIT): the
# rate of new ones and their shorter timeout bound them
res=$(in_ns "moat-f-$S" "${EX[@]}" churn "$SRV" 22 300 5 2>&1)
k=$(sed -n 's/connected \([0-9]*\) of.*/\1/p' <<<"$res")
k=${k:-0}
check "F's first connections got through ($res)" test "$k" -ge 32
check "at most 64 + 32 a second got through in 5 s ($res)" test "$k" -le 240
ct=$(in_host cat /proc/net/nf_conntrack)
tw=$(awk -v a="src=$ipf" '$3 == "tcp" && $7 == a' <<<"$ct" | wc -l)
check "the host tracks at most 4 x 64 of F's connections ($tw)" test "$tw" -le 256
closed=$(awk -v a="src=$ipf" '$3 == "tcp" && $7 == a && ($6 == "TIME_WAIT" || $6 == "CLOSE")' <<<"$ct" | wc -l)
maxt=$(awk -v a="src=$ipf" '$3 == "tcp" && $7 == a && ($6 == "TIME_WAIT" || $6 == "CLOSE") { if ($5 > m) m = $5 } END { print m + 0 }' <<<"$ct")
check "the closed ones ($closed) for at most 2 s each ($maxt s left at most)" test "$closed" -gt 0 -a "$maxt" -le 2

t_begin "conntrack: G floods its DNS interceptor from one socket"
# each query the interceptor forwards leaves an upstream flow in the
# host's table for 30 s: the pace of G's DNS messages bounds them
upstream() { in_host cat /proc/net/nf_conntrack | grep -c ' dport=53 src=\(8\.8\.8\.8\|1\.1\.1\.1\) '; }
before=$(upstream)
res=$(in_ns "moat-g-$S" "${EX[@]}" dns-flood "$gwg" 3 2>&1)
after=$(upstream)
k=$(sed -n 's/.*answered \([0-9]*\).*/\1/p' <<<"$res")
k=${k:-0}
check "G's first queries are answered ($res)" test "$k" -ge 32
check "at most 4 x 64 + 6.4 a second are answered in 3 s ($res)" test "$k" -le 290
check "the interceptor's upstream flows in the host's table grew by at most 7 x 64 per resolver ($before -> $after)" \
	test $((after - before)) -le 896
check "the refused ones are counted in ${ifg}_d_i9_any" test "$(counter "$ifg" d_i9_any)" -gt 0 2>/dev/null
for n in a b c f g; do m rm "$n-$S" >/dev/null 2>&1; done

t_begin "conntrack: what a removed sandbox leaves"
if out=$(m create "h-$S" 2>&1); then
	iph=$(field "h-$S" ipv4)
	# the attacker's own firewall: no FIN or RST ever leaves, so what the
	# host tracks stays established (five days) when its sockets go
	in_ns "moat-h-$S" nft -f - <<-'EOF'
	add table inet h
	add chain inet h o { type filter hook output priority 0; }
	add rule inet h o tcp flags & (fin | rst) != 0 drop
	EOF
	in_ns "moat-h-$S" "${EX[@]}" hold-tcp "$SRV" "$PORT" 30 "$WORLD_DIR/stop-h" >"$WORLD_DIR/hold-h.log" 2>&1 &
	hold=$!
	wait_for 10 grep -q connected "$WORLD_DIR/hold-h.log"
	held() { in_host cat /proc/net/nf_conntrack | awk -v a="src=$iph" '$7 == a' | wc -l; }
	n=$(held)
	check "H holds connections: $(cat "$WORLD_DIR/hold-h.log"), $n entries" test "$n" -ge 30
	m rm -f "h-$S" >/dev/null 2>&1
	touch "$WORLD_DIR/stop-h"
	wait "$hold" 2>/dev/null
	assert_eq "$(held)" 0 "none of H's entries outlive it (they would stay five days)"
else
	not_ok "create h-$S" "$out"
fi

t_begin "neighbour cache: forged link-local sources"
if ! out=$(m create "d-$S" 2>&1); then
	not_ok "create d-$S" "$out"
	t_end
fi
ifd=$(field "d-$S" host_interface)
gw6=$(field "d-$S" gateway6)
v6=$(field "d-$S" ipv6)
if [ -z "$gw6" ]; then
	not_ok "d-$S has IPv6"
	t_end
fi
assert_match "$(probe_http "moat-d-$S" "http://[2606:2800:220:1::1]/")" "INET 2606:2800:220:1::1" "D's IPv6 works"
nforged() { in_host ip -6 neigh show dev "$ifd" | grep -c '^fe80::dead:'; }
srcs=()
for i in $(seq 1 64); do srcs+=("fe80::dead:$(printf %x "$i")"); done
before=$(counter "$ifd" d_i5_any)
assert_ok -m "64 solicitations sent" in_ns "moat-d-$S" "${EX[@]}" ns "$gw6" "${srcs[@]}"
# the host answers each with an advertisement (if it accepted it): wait
# until the spoof counter moved, then read the table
wait_for 5 sh -c "[ \"\$(nsenter --net=$HOST_NETNS nft list counter inet moat ${ifd}_d_i5_any | sed -n 's/.*packets \([0-9]*\).*/\1/p')\" -ge $((${before:-0} + 64)) ]"
n=$(nforged)
assert_eq "$n" 0 "no neighbour entry on $ifd for a forged source"
after=$(counter "$ifd" d_i5_any)
check "the 64 are counted as spoofing in ${ifd}_d_i5_any (${before:-none} -> ${after:-none})" \
	test "${after:-0}" -ge $((${before:-0} + 64))
ll=$(in_ns "moat-d-$S" ip -6 -o addr show dev eth0 scope link | awk '{print $4}' | cut -d/ -f1 | head -n1)
if [ -n "$ll" ]; then
	assert_eq "$ll" fe80::2 "D's link-local address is the one the host expects"
	in_ns "moat-d-$S" "${EX[@]}" ns "$gw6" "$ll"
	check "a solicitation from D's own link-local address $ll is accepted (an entry on $ifd)" \
		wait_for 5 sh -c "nsenter --net=$HOST_NETNS ip -6 neigh show dev $ifd | grep -q '^$ll '"
	before=$(counter "$ifd" d_i5_any)
	many=()
	for i in $(seq 1 500); do many+=("$ll"); done
	in_ns "moat-d-$S" "${EX[@]}" ns "$gw6" "${many[@]}"
	after=$(counter "$ifd" d_i5_any)
	check "500 solicitations from it at once: those beyond the rate are dropped (${before:-none} -> ${after:-none})" \
		test "${after:-0}" -ge $((${before:-0} + 300))
else
	not_ok "D has a link-local address"
fi
assert_match "$(probe_http "moat-d-$S" "http://[2606:2800:220:1::1]/")" "INET 2606:2800:220:1::1" "D's IPv6 still works"
assert_match "$(in_host ip -6 neigh show dev "$ifd")" "$v6" "the host reaches D's own address"

t_begin "neighbour cache: ARP from forged sender addresses"
gwd=$(field "d-$S" gateway4)
v4=$(field "d-$S" ipv4)
srcs=()
for i in $(seq 1 32); do srcs+=("10.99.0.$i" "198.51.100.$i"); done
assert_ok -m "64 ARP requests for the gateway sent" in_ns "moat-d-$S" "${EX[@]}" arp "$gwd" "${srcs[@]}"
assert_ok -m "an ARP request from D's own address" in_ns "moat-d-$S" "${EX[@]}" arp "$gwd" "$v4"
check "the host learns D's own address" \
	wait_for 5 sh -c "nsenter --net=$HOST_NETNS ip -4 neigh show dev $ifd | grep -q '^$v4 '"
assert_eq "$(in_host ip -4 neigh show dev "$ifd" | grep -c '^\(10\.99\.0\|198\.51\.100\)\.')" 0 \
	"no neighbour entry on $ifd for a forged sender (reverse-path filter)"
m rm "d-$S" >/dev/null 2>&1

t_begin "pins: dns.ttl {min: 0, max: 0}"
cat >"$WORLD_DIR/ttl0.yaml" <<EOF
version: 1
egress:
  default: deny
  rules:
    - allow: example.com
dns:
  ttl: {min: 0, max: 0}
EOF
if ! out=$(m create "e-$S" --policy "$WORLD_DIR/ttl0.yaml" 2>&1); then
	not_ok "create e-$S" "$out"
	t_end
fi
ife=$(field "e-$S" host_interface)
gwe=$(field "e-$S" gateway4)
NSE=/run/netns/moat-e-$S
# resolve, then connect at once (the pin lives a second)
resolve_connect() {
	nsenter --net="$NSE" sh -c "dig +short +time=1 +tries=1 @$gwe example.com A | grep -qx $SRV &&
		timeout 2 bash -c 'exec 3<>/dev/tcp/$SRV/22 && head -c 6 <&3' | grep -q INET"
}
check "example.com resolves and connects right away (the pin works)" wait_for 10 resolve_connect
set4=$(in_host nft list set inet moat "${ife}_d1_4" 2>&1)
# (listed a moment later, it may have expired already: then it is absent)
assert_no_match "$set4" "$SRV *[,}]" "the pin of a TTL-0 answer has a timeout"
gone() { ! nsenter --net="$HOST_NETNS" nft list set inet moat "${ife}_d1_4" | grep -q "$SRV"; }
check "the pin is gone within 3 s" wait_for 3 gone
assert_fail -m "so a connection without resolving again is refused" \
	in_ns "$NSE" timeout 2 bash -c "exec 3<>/dev/tcp/$SRV/22 && head -c 6 <&3"
m rm "e-$S" >/dev/null 2>&1

t_end
