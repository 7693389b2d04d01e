#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_housekeeping.sh - no false alarms: the IPv6 link housekeeping a
# sandbox's own kernel sends when its interface comes up (router
# solicitations, MLD reports, duplicate address detection) is dropped
# without counting as an I5 attack, while the same messages with a forged
# source, and a router solicitation with a wrong hop limit, still count.
#
#   [sandbox, IPv6] --moatN-- [HOST]
# shellcheck source=../lib/preamble.sh
. "$(dirname "$0")/../lib/preamble.sh"

t_world
A=moat-h-$S
ATTACK=("$WORLD_PYTHON" "$here/../lib/attack.py")
# i5 SANDBOX: packets counted as I5 denials, all reasons
i5() {
	m inspect "$1" --json | python3 -c '
import json,sys
c=json.load(sys.stdin)["counters"] or {}
print(sum(v.get("packets",0) for k,v in c.get("pre",{}).items() if "(I5)" in k))'
}
# snmp6 NS FIELD: one ICMPv6 statistic of a namespace
# shellcheck disable=SC2016 # an awk program
snmp6() { as_root_in "$1" awk -v f="$2" '$1 == f { print $2 }' /proc/net/snmp6; }
# housekept NS: the sandbox's kernel is done with DAD and has sent its MLD
# reports (and its router solicitation, when it sends one)
housekept() {
	[ -z "$(as_root_in "$1" ip -6 addr show tentative)" ] &&
	[ "$(snmp6 "$1" Icmp6OutMLDv2Reports)" -ge 1 ] 2>/dev/null
}

t_begin "IPv6 housekeeping of a new sandbox"
m create "h-$S" >/dev/null || { not_ok "create the sandbox"; t_end; }
ja=$(m inspect "h-$S" --json)
A_IP6=$(jfield "$ja" ipv6)
assert_match "$A_IP6" "^fd6d:6f61:7400:" "the sandbox has IPv6"
wait_for 10 housekept "$A"
assert_ok -m "the sandbox's kernel finished DAD and sent MLD reports" housekept "$A"
# a router solicitation is sent when the sandbox accepts RAs; wait for the
# first one (a second follows 4 s later, counted below too if it came)
rs=$(snmp6 "$A" Icmp6OutRouterSolicits)
mld=$(snmp6 "$A" Icmp6OutMLDv2Reports)
echo "# sandbox sent: $mld MLDv2 reports, $rs router solicitations"
assert_eq "$(i5 "h-$S")" 0 "its own DAD, MLD reports and router solicitations are not counted as I5"
assert_eq "$(m logs "h-$S" 2>/dev/null | grep -c 'I5')" 0 "nor logged as I5"
# every housekeeping packet still went nowhere: nothing on the host saw a
# listener report from the sandbox
assert_ok -m "the sandbox reaches the internet over IPv6 (control)" probe_tcp "$A" 2606:2800:220:1::1 22

t_begin "forged housekeeping still counts"
LL=$(as_root_in "$A" ip -6 -o addr show dev eth0 scope link | awk '{ sub("/.*", "", $4); print $4; exit }')
before=$(i5 "h-$S")
as_root_in "$A" "${ATTACK[@]}" icmp6 2606:4700::6666 ff02::16 143 1          # MLDv2 report, forged global source
as_root_in "$A" "${ATTACK[@]}" icmp6 fd6d:6f61:7400:ffff::66 ff02::2 133 255 # RS, another sandbox's kind of address
as_root_in "$A" "${ATTACK[@]}" icmp6 "$LL" ff02::2 133 64                    # RS, own link-local, wrong hop limit
as_root_in "$A" "${ATTACK[@]}" icmp6 "$LL" 2606:2800:220:1::1 143 1          # MLD report off the link
as_root_in "$A" "${ATTACK[@]}" icmp6 "$LL" ff02::1 134 255                   # router advertisement
after=$(i5 "h-$S")
assert_eq "$((after - before))" 5 "five forged messages counted as I5 ($before -> $after)"
before=$(i5 "h-$S")
as_root_in "$A" "${ATTACK[@]}" icmp6 "$LL" ff02::16 143 1                    # what the kernel sends itself
as_root_in "$A" "${ATTACK[@]}" icmp6 :: ff02::16 143 1
as_root_in "$A" "${ATTACK[@]}" icmp6 "$LL" ff02::2 133 255
assert_eq "$(i5 "h-$S")" "$before" "the same messages as the kernel sends them are not counted"

t_end
