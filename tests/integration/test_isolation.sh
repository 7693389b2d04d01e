#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_isolation.sh - attacks on the invariants, from root inside a sandbox
# (CAP_NET_ADMIN and CAP_NET_RAW in its namespace: the SPEC §1 attacker),
# each paired with the same probe succeeding where the policy allows it.
#
#   [A: default policy] --moatX--+
#                                |-- [HOST 192.168.77.2, 2001:678:1234:77::2]
#   [B: default policy] --moatY--+      host services :22 :8022, lo :8000
#                                |
#                              [LAN 192.168.77.1: .10, 10.0.0.5, 100.64.0.1,
#                                172.16.0.1, metadata, 169.254.1.1, reserved]
#                                |
#                              [INET 93.184.216.34, 140.82.112.3, 1.1.1.1,
#                                8.8.8.8, 2606:2800:220:1::1 ...]
#
# It takes twenty seconds or more (its many probes that must fail each
# wait out their timeout): tests/run-integration.sh starts it before the
# others.
# moat-test: long
# shellcheck source=../lib/preamble.sh
. "$(dirname "$0")/../lib/preamble.sh"

t_world
A=moat-a-$S
B=moat-b-$S
ATTACK=("$WORLD_PYTHON" "$here/../lib/attack.py")
# counter SANDBOX CHAIN COMMENT: packets counted by a labelled rule
counter() {
	m inspect "$1" --json | python3 -c '
import json,sys
c=json.load(sys.stdin)["counters"] or {}
print(c.get(sys.argv[1],{}).get(sys.argv[2],{}).get("packets",0))' "$2" "$3"
}

m create "a-$S" >/dev/null && m create "b-$S" >/dev/null ||
	{ not_ok "create the sandboxes"; t_end; }
ja=$(m inspect "a-$S" --json); jb=$(m inspect "b-$S" --json)
A_IP=$(jfield "$ja" ipv4); A_GW=$(jfield "$ja" gateway4); A_IF=$(jfield "$ja" host_interface)
B_IP=$(jfield "$jb" ipv4); B_GW=$(jfield "$jb" gateway4)
A_IP6=$(jfield "$ja" ipv6); B_IP6=$(jfield "$jb" ipv6); B_GW6=$(jfield "$jb" gateway6)
A_GW6=$(jfield "$ja" gateway6)

t_begin "allowed: the public internet (the same probes as the attacks)"
assert_ok -m "TCP 93.184.216.34:80" probe_http "$A" http://93.184.216.34/
assert_ok -m "TCP 140.82.112.3:22" probe_tcp "$A" 140.82.112.3 22
assert_ok -m "UDP 1.1.1.1:9999" probe_udp "$A" 1.1.1.1 9999
assert_ok -m "IPv6 [2606:2800:220:1::1]:80" probe_tcp "$A" 2606:2800:220:1::1 22
assert_match "$A_IP6" "^fd6d:6f61:7400:" "dual-stack host: the sandbox has a ULA address"

t_begin "I2: the host, on every address"
for addr in 192.168.77.2 "$A_GW" "$B_GW" 2001:678:1234:77::2 "$A_GW6" "$B_GW6"; do
	for port in 22 8022; do
		assert_fail -m "tcp $addr:$port" probe_tcp "$A" "$addr" "$port"
		assert_fail -m "udp $addr:$port" probe_udp "$A" "$addr" "$port"
	done
done
hll=$(in_host ip -6 -o addr show dev "$A_IF" scope link | awk '{print $4}' | cut -d/ -f1 | head -n1)
if [ -n "$hll" ]; then
	assert_fail -m "tcp host link-local [$hll%eth0]:22" probe_tcp "$A" "$hll%eth0" 22
fi
assert_ok -m "the host services answer the host itself (control)" probe_tcp host 192.168.77.2 22
assert_ok -m "and the LAN (control)" probe_tcp lan 192.168.77.2 8022

t_begin "I2: martian loopback destinations"
as_root_in "$A" sh -c "
	sysctl -qw net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.eth0.route_localnet=1
	ip route del 127.0.0.0/8 dev lo table local 2>/dev/null
	ip route del local 127.0.0.1 dev lo table local 2>/dev/null
	ip route add 127.0.0.0/8 via $A_GW dev eth0 onlink" 2>/dev/null
before=$(counter "a-$S" pre "martian loopback")
assert_fail -m "tcp 127.0.0.1:8000 through the gateway" probe_tcp "$A" 127.0.0.1 8000
after=$(counter "a-$S" pre "martian loopback")
if [ "$after" -gt "$before" ]; then ok "the packets reached the host and were dropped there ($before -> $after)"; else not_ok "martian packets counted at the host" "$before -> $after"; fi
as_root_in "$A" sh -c "ip route del 127.0.0.0/8; ip route add local 127.0.0.0/8 dev lo table local" 2>/dev/null

t_begin "I3: LAN, CGN, metadata, link-local, reserved"
for addr in 192.168.77.10 10.0.0.5 172.16.0.1 100.64.0.1 fd12:3456::5 \
	169.254.169.254 169.254.170.2 169.254.169.253 169.254.169.123 \
	100.100.100.200 192.0.0.192 168.63.129.16 fd00:ec2::254 169.254.1.1 \
	198.18.0.1 192.0.2.1 240.0.0.1 2001:db8::1; do
	assert_fail -m "tcp $addr:80" probe_tcp "$A" "$addr" 80
	assert_fail -m "udp $addr:9" probe_udp "$A" "$addr" 9
done
assert_ok -m "the LAN service answers the host (control)" probe_tcp host 192.168.77.10 80
assert_ok -m "metadata answers the host (control)" probe_tcp host 169.254.169.254 80

t_begin "I1: another sandbox, both ways"
as_root_in "$B" socat TCP-LISTEN:7000,fork,reuseaddr SYSTEM:'echo SANDBOX-B' &
lb=$!
as_root_in "$A" socat TCP-LISTEN:7000,fork,reuseaddr SYSTEM:'echo SANDBOX-A' &
la=$!
# (the UDP answer comes after the datagram is read: see test_publish.sh)
as_root_in "$B" socat UDP-RECVFROM:7001,fork SYSTEM:'head -c1 >/dev/null; echo SANDBOX-B' &
lu=$!
world_wait_listen "$B" tcp 7000 && world_wait_listen "$A" tcp 7000 && world_wait_listen "$B" udp 7001
assert_ok -m "B's listener answers the host (control)" probe_tcp host "$B_IP" 7000
assert_ok -m "B's UDP listener answers the host (control)" probe_udp host "$B_IP" 7001
assert_fail -m "A -> B tcp" probe_tcp "$A" "$B_IP" 7000
assert_fail -m "B -> A tcp" probe_tcp "$B" "$A_IP" 7000
assert_fail -m "A -> B udp" probe_udp "$A" "$B_IP" 7001
assert_fail -m "A -> B IPv6" probe_tcp "$A" "$B_IP6" 7000
as_root_in "$A" ip route add "$B_IP/32" dev eth0 2>/dev/null
assert_fail -m "A -> B with an on-link route to B" probe_tcp "$A" "$B_IP" 7000
as_root_in "$A" ip route del "$B_IP/32" dev eth0 2>/dev/null
kill "$lb" "$la" "$lu" 2>/dev/null; wait "$lb" "$la" "$lu" 2>/dev/null

t_begin "I4: DNS and its bypasses, multicast, broadcast"
# DNS to any address is answered by the sandbox's interceptor (test_dns.sh
# has the details): even an address where no server runs answers
assert_eq "$(probe_dns "$A" 192.0.2.1 example.com)" 93.184.216.34 "DNS udp to a serverless address is answered by moat (redirected)"
assert_eq "$(probe_dns "$A" 192.0.2.1 example.com A +tcp)" 93.184.216.34 "DNS tcp to a serverless address is answered by moat"
assert_ok -m "the resolver answers the host (control)" probe_dns host 8.8.8.8 example.com
assert_fail -m "DoT tcp 1.1.1.1:853" probe_tcp "$A" 1.1.1.1 853
assert_fail -m "DoQ udp 1.1.1.1:853" probe_udp "$A" 1.1.1.1 853
assert_ok -m "1.1.1.1 answers on 9999 (control)" probe_udp "$A" 1.1.1.1 9999
# Broadcast and multicast to the host are not "local" destinations, so the
# I2 rule does not see them: the last rule of the sandbox's input chain
# drops them, and its own counter (not shared with any other rule) says
# they reached the host. Control: a unicast datagram to the host moves
# the I2 counter, not this one. (The host's listeners hearing nothing
# proves less: the base input chain's fail-closed drop would stop these
# packets too if the sandbox's rule were missing.)
BC="broadcast and multicast to the host (I4)"
# counter_above SANDBOX CHAIN COMMENT N: wait up to 2 s for the counter to exceed N
counter_gt() { [ "$(counter "$1" "$2" "$3")" -gt "$4" ]; }
counter_above() { wait_for 2 counter_gt "$@"; }
# a host member of the mDNS group on the sandbox's link, as avahi-daemon
# joins it on every interface: without it the kernel drops a group's
# packets before the input hook, moat's rules or not
in_host "$WORLD_PYTHON" -c "
import socket,struct
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)
s.bind(('0.0.0.0',5353))
s.setsockopt(socket.IPPROTO_IP,socket.IP_ADD_MEMBERSHIP,struct.pack('4s4si',socket.inet_aton('224.0.0.251'),bytes(4),socket.if_nametoindex('$A_IF')))
print('joined',flush=True)
while True:
	d,a=s.recvfrom(2048)
	print('got',a[0],d,flush=True)" >"$WORLD_DIR/mdns-host.out" 2>&1 &
MDNS=$!
world_on_destroy kill "$MDNS" 2>/dev/null
wait_for 5 grep -q joined "$WORLD_DIR/mdns-host.out"
n0=$(grep -c "from $A_IP" "$WORLD_DIR/srv-host.log" 2>/dev/null)
b0=$(counter "a-$S" in "$BC"); h0=$(counter "a-$S" in "the host (I2)")
assert_ok -m "a unicast datagram to the host is sent (control)" as_root_in "$A" "${ATTACK[@]}" bcast 22 UNICAST "$A_GW"
assert_ok -m "it is counted by the I2 rule (control)" counter_above "a-$S" in "the host (I2)" "$h0"
assert_eq "$(counter "a-$S" in "$BC")" "$b0" "it is not counted as broadcast or multicast (control)"
for addr in 255.255.255.255 "${A_IP%.*}.$(( ${A_IP##*.} + 1 ))" 224.0.0.1 224.0.0.251; do
	b=$(counter "a-$S" in "$BC")
	assert_ok -m "udp to $addr:22 is sent" as_root_in "$A" "${ATTACK[@]}" bcast 22 BCAST "$addr"
	assert_ok -m "udp to $addr reaches the host and is dropped by the broadcast and multicast rule" \
		counter_above "a-$S" in "$BC" "$b"
done
# mDNS's port is one of DNS's bypasses: the rule before takes it
b=$(counter "a-$S" in "$BC"); d=$(counter "a-$S" in "DNS and its bypasses (I4)")
assert_ok -m "mDNS to 224.0.0.251:5353 is sent" as_root_in "$A" "${ATTACK[@]}" bcast 5353 MDNS 224.0.0.251
assert_ok -m "mDNS reaches the host and is dropped by the DNS bypass rule" \
	counter_above "a-$S" in "DNS and its bypasses (I4)" "$d"
assert_eq "$(counter "a-$S" in "$BC")" "$b" "and only by it"
n1=$(grep -c "from $A_IP" "$WORLD_DIR/srv-host.log" 2>/dev/null)
assert_eq "$n1" "$n0" "broadcast and multicast from the sandbox never reach the host's listeners (0.0.0.0:22)"
assert_eq "$(grep -c '^got' "$WORLD_DIR/mdns-host.out")" 0 "nor the host's member of the mDNS group (0.0.0.0:5353)"
kill "$MDNS" 2>/dev/null; wait "$MDNS" 2>/dev/null

t_begin "I5: spoofing"
# the server logs each datagram's first word: NAT rewrites the source, so
# the payload tells whose packet arrived
before=$(counter "a-$S" pre "spoofed source (I5)")
as_root_in "$A" "${ATTACK[@]}" spoof-udp 6.6.6.6 93.184.216.34 9999 SPOOF-ANY
as_root_in "$A" "${ATTACK[@]}" spoof-udp "$B_IP" 93.184.216.34 9999 SPOOF-AS-B
as_root_in "$A" "${ATTACK[@]}" spoof-udp6 2606:4700::6666 2606:2800:220:1::1 9999 SPOOF-V6
as_root_in "$A" "${ATTACK[@]}" spoof-udp "$A_IP" 93.184.216.34 9999 HONEST
assert_ok -m "the same raw packet with the sandbox's own source gets through (control)" \
	wait_for 2.5 grep -q "data=HONEST" "$WORLD_DIR/srv-inet.log"
after=$(counter "a-$S" pre "spoofed source (I5)")
assert_eq "$(grep -c 'data=SPOOF-ANY' "$WORLD_DIR/srv-inet.log")" 0 "a spoofed source never reaches the internet"
assert_eq "$(grep -c 'data=SPOOF-AS-B' "$WORLD_DIR/srv-inet.log")" 0 "B's address spoofed from A never reaches the internet"
assert_eq "$(grep -c 'data=SPOOF-V6' "$WORLD_DIR/srv-inet.log")" 0 "a spoofed IPv6 source never reaches the internet"
if [ "$after" -ge $((before + 3)) ]; then ok "dropped at the host ($before -> $after)"; else not_ok "spoofed packets counted at the host" "$before -> $after"; fi
as_root_in "$A" ip addr add "$B_IP/32" dev eth0
assert_fail -m "A takes B's address and connects from it" as_root_in "$A" "${ATTACK[@]}" bind-tcp "$B_IP" 140.82.112.3 22
as_root_in "$A" ip addr del "$B_IP/32" dev eth0
in_host ip -6 route show >"$WORLD_DIR/routes6.before"
RA="router advertisements and redirects (I5)"
before=$(counter "a-$S" pre "$RA")
as_root_in "$A" "${ATTACK[@]}" ra
# the host's kernel handles a router advertisement as it receives it:
# once moat's rule has counted it, the routes are what it left
assert_ok -m "the router advertisement reached the host and was dropped by its rule" \
	counter_above "a-$S" pre "$RA" "$before"
in_host ip -6 route show >"$WORLD_DIR/routes6.after"
assert_eq "$(diff "$WORLD_DIR/routes6.before" "$WORLD_DIR/routes6.after")" "" "a router advertisement from the sandbox changes nothing on the host"
assert_eq "$(in_host sysctl -n "net.ipv6.conf.$A_IF.accept_ra")" 0 "accept_ra=0 on the host side"
assert_eq "$(in_host sysctl -n "net.ipv4.conf.$A_IF.route_localnet")" 0 "route_localnet=0 on the host side"

t_begin "I7: the sandbox's own firewall and routes do not matter"
as_root_in "$A" nft flush ruleset 2>/dev/null
as_root_in "$A" sh -c "ip route flush table main; ip route add default via $A_GW dev eth0 onlink; ip route add 192.168.77.0/24 via $A_GW dev eth0 onlink" 2>/dev/null
assert_fail -m "LAN still blocked after flushing and rerouting" probe_tcp "$A" 192.168.77.10 80
assert_fail -m "host still blocked" probe_tcp "$A" 192.168.77.2 22
assert_ok -m "public still reachable" probe_tcp "$A" 140.82.112.3 22
assert_eq "$(as_root_in "$A" nft list tables 2>/dev/null)" "" "moat's table is not visible inside"

t_begin "no IPv6 when the host has none"
MOAT_IPV6=off m create "c-$S" >/dev/null
C=moat-c-$S
jc=$(m inspect "c-$S" --json)
assert_eq "$(jfield "$jc" ipv6)" "" "no IPv6 address"
assert_eq "$(as_root_in "$C" sysctl -n net.ipv6.conf.all.disable_ipv6)" 1 "IPv6 disabled inside"
as_root_in "$C" sh -c "sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.eth0.disable_ipv6=0; ip addr add fd6d:6f61:7400:ffff::2/64 dev eth0 nodad; ip -6 route add default dev eth0" 2>/dev/null
assert_fail -m "re-enabled IPv6 reaches nothing (host side refuses it)" probe_tcp "$C" 2606:2800:220:1::1 22
assert_fail -m "nor the host" probe_tcp "$C" 2001:678:1234:77::2 22
assert_ok -m "IPv4 public works (control)" probe_tcp "$C" 140.82.112.3 22

t_end
