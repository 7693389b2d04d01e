#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_reload.sh - a host firewall reload ("nft flush ruleset", what
# Debian's nftables.service runs on start, restart and reload) removes
# moat's table: the sandboxes must stay closed until it is back, and their
# supervisors must notice, log it and restore it at once.
#
#   [A: --allow host:8022] --moatX--+
#                                   |-- [HOST 192.168.77.2] services :22 :8022
#   [B: default policy]    --moatY--+       "nft flush ruleset" here ONLY
#                                   |
#                                 [LAN 192.168.77.1: .10] [INET 93.184.216.34]
#
# To hit the window deterministically, the supervisors (ours: their PIDs
# come from "moat inspect") are stopped with SIGSTOP before the flush, so
# that nothing can restore the table while the attacks run, then resumed.
# shellcheck source=../lib/preamble.sh
. "$(dirname "$0")/../lib/preamble.sh"

t_world
A=moat-a-$S
B=moat-b-$S
# status NAME: what "moat ls" shows for a sandbox
status() {
	m ls --json | python3 -c '
import json,sys
for s in json.load(sys.stdin):
    if s["name"] == sys.argv[1]: print(s["status"])' "$1"
}
table_present() { in_host nft list table inet moat >/dev/null 2>&1; }
ms_now() { date +%s%3N; }
# one-way UDP: a listener in the LAN records what it receives (no reply
# needed, no route back needed: exfiltration without the masquerade)
LANLOG=$WORLD_DIR/lan-udp.log
: >"$LANLOG"
in_lan socat -u UDP-RECV:9123,bind=192.168.77.10 OPEN:"$LANLOG",creat,append &
llan=$!
world_on_destroy kill "$llan"
world_wait_listen lan udp 9123
HOSTLOG=$WORLD_DIR/host-udp.log
: >"$HOSTLOG"
in_host socat -u UDP-RECV:9124 OPEN:"$HOSTLOG",creat,append &
lhost=$!
world_on_destroy kill "$lhost"
world_wait_listen host udp 9124
oneway() {	# oneway NS ADDR PORT TOKEN
	in_ns "$1" socat -u - "UDP-SENDTO:$2:$3" <<<"$4" 2>/dev/null
	in_ns "$1" socat -u - "UDP-SENDTO:$2:$3" <<<"$4" 2>/dev/null
}
received() {	# received FILE TOKEN: within a second
	wait_for 1 grep -q "$2" "$1"
}

m create "a-$S" --allow host:8022/tcp >/dev/null && m create "b-$S" >/dev/null ||
	{ not_ok "create the sandboxes"; t_end; }
ja=$(m inspect "a-$S" --json); jb=$(m inspect "b-$S" --json)
A_GW=$(jfield "$ja" gateway4)
B_IP=$(jfield "$jb" ipv4); B_IP6=$(jfield "$jb" ipv6)
PA=$(jfield "$ja" supervisor_pid); PB=$(jfield "$jb" supervisor_pid)
world_on_destroy kill -CONT "$PA" "$PB"	# if a check below fails while they are stopped
as_root_in "$B" socat TCP-LISTEN:7000,fork,reuseaddr SYSTEM:'echo SANDBOX-B' &
lb=$!
as_root_in "$B" socat TCP6-LISTEN:7000,fork,reuseaddr,ipv6only=1 SYSTEM:'echo SANDBOX-B' &
lb6=$!
world_on_destroy kill "$lb" "$lb6"
world_wait_listen "$B" tcp 7000

t_begin "controls, table present"
assert_ok -m "A reaches the public internet" probe_http "$A" http://93.184.216.34/
assert_ok -m "A reaches the host service it is allowed (allow: host:8022)" probe_tcp "$A" 192.168.77.2 8022
assert_fail -m "A does not reach the host's port 22" probe_tcp "$A" 192.168.77.2 22
assert_ok -m "B's listener answers the host" probe_tcp host "$B_IP" 7000
assert_ok -m "B's IPv6 listener answers the host" probe_tcp host "$B_IP6" 7000
assert_ok -m "the LAN answers the host" probe_tcp host 192.168.77.10 80
oneway host 192.168.77.10 9123 "HOST-TO-LAN"
check "one-way UDP from the host reaches the LAN's recorder" received "$LANLOG" HOST-TO-LAN
oneway lan 192.168.77.2 9124 "LAN-TO-HOST"
check "one-way UDP from the LAN reaches the host's recorder" received "$HOSTLOG" LAN-TO-HOST
assert_eq "$(status "a-$S")" running "moat ls: running"
assert_match "$(in_host ip rule)" "fwmark 0x400000/0x600000 prohibit" "the guard's routing rule is there"
assert_match "$(in_host ip -6 rule)" "fwmark 0x400000/0x600000 prohibit" "and for IPv6"
assert_match "$(in_host ip xfrm policy)" "mark 0x400000/0x600000" "and its IPsec policies"

t_begin "nft flush ruleset, supervisors stopped: nothing opens"
kill -STOP "$PA" "$PB"
in_host nft flush ruleset
if table_present; then not_ok "the table is gone"; else ok "the table is gone"; fi
assert_fail -m "A -> host 192.168.77.2:22 tcp" probe_tcp "$A" 192.168.77.2 22
assert_fail -m "A -> host gateway $A_GW:22 tcp" probe_tcp "$A" "$A_GW" 22
assert_fail -m "A -> host [2001:678:1234:77::2]:22 tcp" probe_tcp "$A" 2001:678:1234:77::2 22
assert_fail -m "A -> host 192.168.77.2:22 udp" probe_udp "$A" 192.168.77.2 22
assert_fail -m "A -> B tcp" probe_tcp "$A" "$B_IP" 7000
assert_fail -m "A -> B IPv6 tcp" probe_tcp "$A" "$B_IP6" 7000
assert_fail -m "A -> LAN 192.168.77.10:80 tcp" probe_tcp "$A" 192.168.77.10 80
assert_fail -m "A -> the public internet (closed too, until restored)" probe_tcp "$A" 93.184.216.34 80
oneway "$A" 192.168.77.10 9123 "A-TO-LAN"
oneway "$A" 10.0.0.5 9 "A-TO-LAN-LO"
if received "$LANLOG" A-TO-LAN; then not_ok "one-way UDP A -> LAN is not forwarded"; else ok "one-way UDP A -> LAN is not forwarded"; fi
oneway "$A" 192.168.77.2 9124 "A-TO-HOST"
oneway "$A" "$A_GW" 9124 "A-TO-GW"
if received "$HOSTLOG" A-TO-; then not_ok "one-way UDP A -> host is not delivered"; else ok "one-way UDP A -> host is not delivered"; fi
# spoofed source, without the table's anti-spoofing
as_root_in "$A" ip addr add 192.168.77.99/32 dev eth0 2>/dev/null
as_root_in "$A" socat -u - UDP-SENDTO:192.168.77.10:9123,bind=192.168.77.99 <<<"A-SPOOF" 2>/dev/null
if received "$LANLOG" A-SPOOF; then not_ok "a spoofed source is not forwarded either"; else ok "a spoofed source is not forwarded either"; fi
as_root_in "$A" ip addr del 192.168.77.99/32 dev eth0 2>/dev/null
assert_eq "$(status "a-$S")" degraded "moat ls: degraded while the table is absent"
assert_eq "$(m stats "a-$S" --json | jq -r '.sandboxes[0].status')" degraded "moat stats: degraded too"
assert_ok -m "the host itself still reaches the LAN (control)" probe_tcp host 192.168.77.10 80
assert_fail -m "B's answers to the host are sandbox traffic: refused too" probe_tcp host "$B_IP" 7000

t_begin "supervisors resumed: noticed, logged, restored"
t0=$(ms_now)
kill -CONT "$PA" "$PB"
if wait_for 5 table_present; then ok "the table is back ($(($(ms_now) - t0)) ms)"; else not_ok "the table is back"; fi
if wait_for 5 eval '[ "$(status "a-$S")" = running ] && [ "$(status "b-$S")" = running ]'; then
	ok "moat ls: running again ($(($(ms_now) - t0)) ms)"
else
	not_ok "moat ls: running again" "$(m ls)"
fi
# the first supervisor to get the lock restores every live sandbox; one
# that reads the event after that finds its rules back (and re-pins)
logs=$(m logs "a-$S" --json 2>&1; m logs "b-$S" --json 2>&1)
echo "# A: $(m logs "a-$S" --json 2>&1 | grep '"guard"' | tr -d '\n ')"
echo "# B: $(m logs "b-$S" --json 2>&1 | grep '"guard"' | tr -d '\n ')"
assert_match "$logs" '"kind": *"guard".*"rules": *"absent"' "a supervisor logged that the rules were absent"
assert_match "$(m logs "a-$S" --json 2>&1)" '"kind": *"guard".*"rules": *"restored"' "A's log says its rules were restored"
assert_match "$(m logs "b-$S" --json 2>&1)" '"kind": *"guard".*"rules": *"restored"' "and B's"
assert_ok -m "A reaches the public internet again" probe_http "$A" http://93.184.216.34/
assert_ok -m "A reaches its allowed host service again" probe_tcp "$A" 192.168.77.2 8022
assert_fail -m "A still does not reach the host's port 22" probe_tcp "$A" 192.168.77.2 22
assert_fail -m "nor B" probe_tcp "$A" "$B_IP" 7000
assert_ok -m "B reaches the public internet again" probe_http "$B" http://93.184.216.34/
assert_eq "$(probe_dns "$A" 192.0.2.1 example.com)" 93.184.216.34 "A's DNS is intercepted again"

t_begin "nft flush ruleset, supervisors running: restored within a second"
# D may reach only what its DNS answers pinned (ICMP: neither the proxy
# nor the QUIC drop in the way)
m create "d-$S" --default-egress deny --allow example.com/icmp >/dev/null ||
	not_ok "create D"
D=moat-d-$S
ping1() { in_ns "$1" ping -n -c1 -W1 "$2" >/dev/null 2>&1; }
assert_fail -m "D: nothing pinned yet, ping 93.184.216.34 refused" ping1 "$D" 93.184.216.34
assert_eq "$(probe_dns "$D" 192.0.2.1 example.com)" 93.184.216.34 "D: resolves example.com (pinned)"
assert_ok -m "D: ping 93.184.216.34 allowed by the pin" ping1 "$D" 93.184.216.34
in_host nft flush ruleset
t0=$(ms_now)
if wait_for 1 table_present; then ok "the table is back ($(($(ms_now) - t0)) ms)"; else not_ok "the table is back within a second"; fi
wait_for 2 eval '[ "$(status "a-$S")" = running ]'
assert_eq "$(status "a-$S")" running "moat ls: running"
assert_eq "$(m stats "a-$S" --json | jq -r '.sandboxes[0].status')" running "moat stats: running"
assert_ok -m "A reaches the public internet" probe_http "$A" http://93.184.216.34/
assert_fail -m "A does not reach the host's port 22" probe_tcp "$A" 192.168.77.2 22
nrest=$(m logs "a-$S" --json 2>&1 | grep -c '"restored"')
assert_eq "$nrest" 2 "two restorations in A's log"
wait_for 2 eval '[ "$(status "d-$S")" = running ]'
assert_ok -m "D: the pin was put back (no new lookup)" ping1 "$D" 93.184.216.34
assert_fail -m "D: still nothing else" ping1 "$D" 1.1.1.1
m rm -f "d-$S" >/dev/null

t_begin "deleting only the table, or one base chain"
in_host nft delete table inet moat
check "the table is back after 'nft delete table'" wait_for 1 table_present
in_host nft flush chain inet moat prerouting
marked() { in_host nft list chain inet moat prerouting 2>/dev/null | grep -q "meta mark set"; }
check "the prerouting base chain is refilled after 'nft flush chain'" wait_for 1 marked
assert_ok -m "A reaches the public internet" probe_http "$A" http://93.184.216.34/

t_begin "a removed sandbox stays removed; no sandbox: a flush breaks nothing"
kill "$lb" "$lb6" 2>/dev/null; wait "$lb" "$lb6" 2>/dev/null
m rm -f "b-$S" >/dev/null
in_host nft flush ruleset
# A's rules are restored in one transaction with the table: once A's
# chain is back, anything of B's would be back too
A_IF=$(jfield "$ja" host_interface)
wait_for 1 in_host nft list chain inet moat "${A_IF}_fwd" >/dev/null 2>&1
B_IF=$(jfield "$jb" host_interface)
if in_host nft list chain inet moat "${B_IF}_fwd" >/dev/null 2>&1; then not_ok "B's chains were not restored"; else ok "B's chains were not restored"; fi
m rm -f "a-$S" >/dev/null
in_host nft flush ruleset
assert_ok -m "the host reaches the LAN" probe_tcp host 192.168.77.10 80
assert_ok -m "the LAN reaches the host" probe_tcp lan 192.168.77.2 22
m create "c-$S" >/dev/null || not_ok "create a sandbox after the flush"
assert_ok -m "a new sandbox reaches the public internet" probe_http "moat-c-$S" http://93.184.216.34/
assert_fail -m "and not the host's port 22" probe_tcp "moat-c-$S" 192.168.77.2 22
m rm "c-$S" >/dev/null

t_end
