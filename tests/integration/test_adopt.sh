#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_adopt.sh - a supervisor killed with SIGKILL: its sandbox stays
# closed (the kernel keeps its rules and pins; DNS, proxy and published
# port stop), "moat ls" shows it degraded (supervisor not running), and
# "moat adopt" gives it a new supervisor that knows the pins again
# (names included: read back from the kernel's sets), restores its rules
# if a firewall reload removed them meanwhile, and watches a "moat run"
# process again. "moat adopt --all"; a sandbox whose namespace is gone
# is dead, and refused.
#
#   [A: default deny; allow *.githubusercontent.com:443  [B: default policy]
#       (proxy), 151.101.1.1:22/tcp (kernel); :80 "SANDBOX-80"]       |
#        | moatX (veth)                                            | moatY
#   [HOST 192.168.77.2: moat and the supervisors (A's: DNS and proxy on
#    its gateway, published 127.0.0.1:18181 -> A:80)]
#        |   "nft flush ruleset" here ONLY
#   [LAN 192.168.77.1, .10] -- [INET 151.101.1.1 :22 :443, 93.184.216.34,
#                               dnsmasq 8.8.8.8: raw. and
#                               objects.githubusercontent.com -> 151.101.1.1]
# shellcheck source=../lib/preamble.sh
. "$(dirname "$0")/../lib/preamble.sh"
t_world conntrack nat
A=moat-a-$S

# field NAME KEY: a top-level field of "moat inspect NAME --json"
field() { jfield "$(m inspect "$1" --json)" "$2"; }
# lsfield NAME KEY: a field of NAME's object in "moat ls --json"
lsfield() {
	m ls --json | python3 -c '
import json,sys
for s in json.load(sys.stdin):
    if s["name"] == sys.argv[1]: print(s.get(sys.argv[2]) or "")' "$1" "$2"
}
# counter NAME: a proxy counter of A's supervisor
counter() {
	m inspect "a-$S" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["supervisor"]["proxy"][sys.argv[1]])' "$1"
}
# https NS NAME ADDR: GET https://NAME/ at ADDR, print the body
https() { probe_http "$1" "https://$2/" --resolve "$2:443:$3" 2>&1; }
# kill_sv NAME: SIGKILL the supervisor "moat inspect --json" names; wait
kill_sv() {
	local pid
	pid=$(field "$1" supervisor_pid)
	kill -9 "$pid"
	wait_for 2 proc_gone "$pid"
	echo "$pid"
}
table_present() { in_host nft list table inet moat >/dev/null 2>&1; }
# closed: what A may never reach, supervisor or not
closed() {
	assert_fail -m "$1: A -> 93.184.216.34:22 (no rule) refused" probe_tcp "$A" 93.184.216.34 22
	assert_fail -m "$1: A -> LAN 192.168.77.10:80 refused" probe_tcp "$A" 192.168.77.10 80
	assert_fail -m "$1: A -> host 192.168.77.2:22 refused" probe_tcp "$A" 192.168.77.2 22
	assert_fail -m "$1: A -> metadata 169.254.169.254:80 refused" probe_tcp "$A" 169.254.169.254 80
	assert_fail -m "$1: A -> DoT 8.8.8.8:853 refused" probe_tcp "$A" 8.8.8.8 853
}

if ! out=$(m create "a-$S" --default-egress deny --allow '*.githubusercontent.com:443/tcp' \
	--allow 151.101.1.1:22/tcp --publish 127.0.0.1:18181:80 2>&1); then
	not_ok "create A" "$out"
	t_end
fi
A_IF=$(field "a-$S" host_interface)
A_GW=$(field "a-$S" gateway4)
m create "b-$S" >/dev/null || not_ok "create B"
ip netns exec "$A" socat TCP-LISTEN:80,fork,reuseaddr SYSTEM:'echo SANDBOX-80' &
la=$!
world_on_destroy kill "$la"
world_wait_listen "$A" tcp 80

t_begin "controls: supervisor running"
assert_eq "$(lsfield "a-$S" status)" running "moat ls: running"
assert_eq "$(probe_dns "$A" 8.8.8.8 raw.githubusercontent.com)" 151.101.1.1 "DNS: raw.githubusercontent.com resolves (pinned)"
assert_match "$(in_host nft list set inet moat "${A_IF}_d1_4")" 'comment "raw.githubusercontent.com"' "the pin's element carries its name"
assert_match "$(https "$A" raw.githubusercontent.com 151.101.1.1)" "sni: raw.githubusercontent.com" "proxy: the pinned name is reached"
assert_no_match "$(https "$A" objects.githubusercontent.com 151.101.1.1)" "sni:" "proxy: a name of the rule not resolved yet is refused (not pinned)"
assert_no_match "$(https "$A" evil.example 151.101.1.1)" "sni:" "proxy: another name on the address is refused"
assert_eq "$(counter allowed_name_total) $(counter not_pinned_total) $(counter not_allowed_total)" "1 1 1" "... as allowed-name, not-pinned and not-allowed"
assert_eq "$(probe_tcp "$A" 151.101.1.1 22)" "INET-22 151.101.1.1" "kernel: the allowed address 151.101.1.1:22"
assert_eq "$(probe_tcp host 127.0.0.1 18181)" SANDBOX-80 "the published port"
closed "running"

t_begin "supervisor killed: closed, degraded"
P1=$(kill_sv "a-$S")
assert_ok -m "the supervisor is gone" proc_gone "$P1"
assert_eq "$(lsfield "a-$S" status)" degraded "moat ls: degraded"
assert_eq "$(lsfield "a-$S" reason)" "supervisor not running" "... reason: supervisor not running"
assert_match "$(m ls)" "a-$S +degraded .* supervisor not running" "... in the table too"
j=$(m inspect "a-$S" --json)
assert_eq "$(jfield "$j" status) / $(jfield "$j" reason) / $(jfield "$j" supervisor)" "degraded / supervisor not running / " "moat inspect: degraded, no supervisor status"
assert_eq "$(m stats "a-$S" --json | jq -r '.sandboxes[0].status + " / " + .sandboxes[0].reason')" "degraded / supervisor not running" "moat stats: the same"
assert_eq "$(dns_rcode "$A" 8.8.8.8 raw.githubusercontent.com)" none "DNS gets no answer (UDP)"
assert_eq "$(dns_rcode "$A" 8.8.8.8 raw.githubusercontent.com A +tcp)" none "DNS gets no answer (TCP)"
assert_eq "$(dns_rcode "$A" 192.168.77.10 example.com)" none "nor from another resolver"
assert_no_match "$(https "$A" raw.githubusercontent.com 151.101.1.1)" "sni:" "proxy: nothing answers for the pinned name"
assert_fail -m "the proxy's port on the gateway is closed" probe_tcp "$A" "$A_GW" 15001
assert_fail -m "the published port is closed" probe_tcp host 127.0.0.1 18181
assert_eq "$(probe_tcp "$A" 151.101.1.1 22)" "INET-22 151.101.1.1" "the kernel still lets the allowed address through (its rules stay as they were)"
closed "no supervisor"
assert_status -m "moat exec is refused" 125 m exec "a-$S" -- true
assert_match "$(m exec "a-$S" -- true 2>&1)" "moat adopt a-$S" "... its error names moat adopt"
assert_status -m "moat update is refused" 125 m update "a-$S" --allow 9.9.9.9

t_begin "moat adopt"
out=$(m adopt "a-$S" 2>&1); rc=$?
assert_eq "$rc/$out" "0/a-$S" "moat adopt succeeds and prints the name"
j=$(m inspect "a-$S" --json)
P2=$(jfield "$j" supervisor_pid)
assert_ne "$P2" "$P1" "a new supervisor PID is recorded"
assert_fail -m "... and runs" proc_gone "$P2"
assert_eq "$(jfield "$j" status)/$(jfield "$j" reason)/$(jfield "$j" adoptions)" "running//1" "moat inspect: running, one adoption"
assert_eq "$(jfield "$j" instance)" "$(jfield "$(m ls --json | jq -c ".[] | select(.name == \"a-$S\")")" instance)" "the same instance"
rec=$(m logs "a-$S" --json | grep '"adopted"')
assert_match "$rec" "\"previous_pid\": *\"$P1\"" "the log has an adopted record naming the dead supervisor"
assert_match "$rec" '"pins_restored": *"1"' "... and the pin it read back"
assert_match "$(https "$A" raw.githubusercontent.com 151.101.1.1)" "sni: raw.githubusercontent.com" "proxy: the name resolved before the supervisor died is reached without resolving again"
assert_no_match "$(https "$A" objects.githubusercontent.com 151.101.1.1)" "sni:" "proxy: a name of the rule still not resolved is refused: the names came back, not the rule"
assert_no_match "$(https "$A" evil.example 151.101.1.1)" "sni:" "proxy: another name on the address is still refused"
assert_eq "$(counter allowed_name_total) $(counter not_pinned_total) $(counter not_allowed_total)" "1 1 1" "... counted by the new supervisor"
assert_eq "$(probe_dns "$A" 8.8.8.8 objects.githubusercontent.com)" 151.101.1.1 "DNS answers again (and pins)"
assert_match "$(https "$A" objects.githubusercontent.com 151.101.1.1)" "sni: objects.githubusercontent.com" "proxy: the name just resolved is reached"
assert_eq "$(probe_tcp host 127.0.0.1 18181)" SANDBOX-80 "the published port works again"
assert_eq "$(probe_tcp "$A" 151.101.1.1 22)" "INET-22 151.101.1.1" "the allowed address still works"
closed "adopted"
out=$(m adopt "a-$S" 2>&1); rc=$?
assert_eq "$rc" 1 "moat adopt again is refused (exit 1)"
assert_match "$out" "is running \\(PID $P2\\)" "... saying the supervisor is running"
assert_eq "$(echo "$out" | wc -l)" 1 "... in one line"
assert_eq "$(field "a-$S" supervisor_pid)" "$P2" "... and changes nothing"
assert_status -m "moat adopt of a missing sandbox: 1" 1 m adopt "nope-$S"
assert_status -m "moat adopt without a name: 2" 2 m adopt
assert_status -m "moat adopt --all NAME: 2" 2 m adopt --all "a-$S"

t_begin "killed, then a firewall reload while nobody supervises A"
# B's supervisor, stopped first, would restore the table at once
PB=$(field "b-$S" supervisor_pid)
world_on_destroy kill -CONT "$PB"
P3=$(kill_sv "a-$S")
kill -STOP "$PB"
in_host nft flush ruleset
if table_present; then not_ok "the table is gone"; else ok "the table is gone"; fi
assert_eq "$(lsfield "a-$S" reason)" "supervisor not running, rules absent" "moat ls: degraded, supervisor not running, rules absent"
assert_fail -m "A -> 151.101.1.1:22 is refused too now" probe_tcp "$A" 151.101.1.1 22
closed "no supervisor, no table"
assert_eq "$(dns_rcode "$A" 8.8.8.8 raw.githubusercontent.com)" none "DNS gets no answer"
kill -CONT "$PB"
check "B's supervisor restores the table" wait_for 2 table_present
# shellcheck disable=SC2317 # called by wait_for
b_running() { [ "$(lsfield "b-$S" status)" = running ]; }
check "... and B's rules" wait_for 2 b_running
assert_fail -m "... but not A's: nobody supervises A" in_host nft list chain inet moat "${A_IF}_fwd"
assert_eq "$(lsfield "a-$S" reason)" "supervisor not running, rules absent" "moat ls still: supervisor not running, rules absent"
assert_fail -m "A -> 151.101.1.1:22 is still refused" probe_tcp "$A" 151.101.1.1 22
closed "no supervisor, table without A"
out=$(m adopt "a-$S" 2>&1); rc=$?
assert_eq "$rc/$out" "0/a-$S" "moat adopt succeeds"
assert_ok -m "A's chains are back" in_host nft list chain inet moat "${A_IF}_fwd"
assert_eq "$(lsfield "a-$S" status)" running "moat ls: running once moat adopt returns"
assert_match "$(m logs "a-$S" --json)" '"kind": *"guard".*"rules": *"restored"' "the new supervisor logged the restoration"
assert_match "$(m logs "a-$S" --json | grep '"adopted"' | tail -n1)" "\"previous_pid\": *\"$P3\".*\"adoptions\": *\"2\"|\"adoptions\": *\"2\".*\"previous_pid\": *\"$P3\"" "a second adopted record"
assert_eq "$(field "a-$S" adoptions)" 2 "moat inspect: two adoptions"
assert_eq "$(probe_tcp "$A" 151.101.1.1 22)" "INET-22 151.101.1.1" "the allowed address works again"
assert_eq "$(probe_dns "$A" 8.8.8.8 raw.githubusercontent.com)" 151.101.1.1 "DNS answers again"
assert_match "$(https "$A" raw.githubusercontent.com 151.101.1.1)" "sni: raw.githubusercontent.com" "the proxy works again"
assert_eq "$(probe_tcp host 127.0.0.1 18181)" SANDBOX-80 "the published port works again"
closed "restored"

t_begin "moat run: the adopted supervisor watches moat run again"
(exec nsenter --net="$HOST_NETNS" "$MOAT" run --name "r-$S" -- sleep 60) &
rp=$!
for _ in $(seq 100); do [ -e "$MOAT_RUN_DIR/sandboxes/r-$S/ctl.sock" ] && break; sleep 0.05; done
sleep 0.2
assert_eq "$(field "r-$S" run_pid)" "$rp" "the record names the moat run process"
R_IF=$(field "r-$S" host_interface)
kill_sv "r-$S" >/dev/null
assert_eq "$(lsfield "r-$S" status)" degraded "moat ls: degraded"
assert_eq "$(m adopt "r-$S" 2>&1)" "r-$S" "moat adopt"
kill -9 "$rp"; wait "$rp" 2>/dev/null
for _ in $(seq 100); do [ -e "$MOAT_RUN_DIR/sandboxes/r-$S" ] || break; sleep 0.05; done
assert_eq "$(leftovers "r-$S" "$R_IF")" "" "moat run killed: the new supervisor removed the sandbox"

t_begin "moat adopt --all; a dead sandbox"
m create "c-$S" >/dev/null || not_ok "create C"
C_IF=$(field "c-$S" host_interface)
PA=$(kill_sv "a-$S"); PB=$(kill_sv "b-$S"); kill_sv "c-$S" >/dev/null
ip netns delete "moat-c-$S"
for _ in $(seq 50); do in_host ip link show "$C_IF" >/dev/null 2>&1 || break; sleep 0.05; done
assert_eq "$(lsfield "c-$S" status) / $(lsfield "c-$S" reason)" "dead / supervisor not running, network namespace gone" "C without its namespace: dead"
out=$(m adopt "c-$S" 2>&1); rc=$?
assert_eq "$rc" 1 "moat adopt of a dead sandbox is refused (exit 1)"
assert_match "$out" "moat rm -f c-$S" "... pointing at moat rm -f"
out=$(m adopt --all 2>"$WORLD_DIR/all.err"); rc=$?
assert_eq "$(echo "$out" | tr '\n' ' ')" "a-$S b-$S " "moat adopt --all adopts A and B"
assert_eq "$rc" 1 "... and exits 1 for C"
assert_match "$(cat "$WORLD_DIR/all.err")" "c-$S" "... naming it"
assert_eq "$(lsfield "a-$S" status) $(lsfield "b-$S" status)" "running running" "A and B running"
assert_ne "$(field "a-$S" supervisor_pid)" "$PA" "A has a new supervisor"
assert_ne "$(field "b-$S" supervisor_pid)" "$PB" "B has a new supervisor"
assert_eq "$(probe_dns "moat-b-$S" 8.8.8.8 example.com)" 93.184.216.34 "B's DNS answers"
out=$(m adopt --all); rc=$?
assert_eq "$rc/$out" "1/" "moat adopt --all again: nothing adopted (C still dead)"
assert_ok -m "rm -f removes the dead C" m rm -f "c-$S"
assert_eq "$(leftovers "c-$S" "$C_IF")" "" "nothing of C left"
assert_eq "$(m adopt --all; echo "rc $?")" "rc 0" "moat adopt --all with nothing to adopt: 0"

t_begin "moat rm after adoption"
kill "$la" 2>/dev/null; wait "$la" 2>/dev/null
assert_ok -m "moat rm B (no -f needed: it runs)" m rm "b-$S"
P=$(field "a-$S" supervisor_pid)
assert_ok -m "moat rm A" m rm "a-$S"
assert_eq "$(leftovers "a-$S" "$A_IF")" "" "nothing of A left"
assert_ok -m "A's supervisor is gone" proc_gone "$P"
assert_eq "$(m ls | tail -n +2)" "" "moat ls is empty"

t_end
