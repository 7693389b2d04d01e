#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_attach.sh - moat attach: a network namespace someone else made (a
# "container": an "ip netns add" namespace, or an "unshare --net" process
# holding one) becomes a sandbox's inside. From inside: the internet
# reachable; the LAN, metadata, the host and another sandbox not; spoofing
# refused; DNS intercepted whatever resolver the container names (8.8.8.8,
# 127.0.0.53, ::1), a domain rule enforced. It shows in ls, inspect, logs
# and stats, takes exec and update, and goes by itself, leaving nothing,
# when the container ends (namespace deleted, holder process killed), also
# under an adopted supervisor, or when its interface is deleted by hand
# (the table inside then stays, as documented). Refusals (the host's
# namespace, one already attached, one with interfaces) with their exit
# statuses; a failure midway leaves the namespace exactly as it was.
#
#   [container moat-ctr1-S]  --veth moat adds--  [HOST: moat]  --  [LAN]  --  [INET]
#   [holder process's netns] --veth--                 |
#   [sandbox b-S]            --veth--                 +- state in $WORLD_DIR/run
# shellcheck source=../lib/preamble.sh
. "$(dirname "$0")/../lib/preamble.sh"

t_world
command -v jq >/dev/null || { echo "not ok - jq is needed"; exit 1; }


# container NAME [down]: a namespace as a runtime leaves it before its
# network is set up: nothing but lo (up, unless "down"); removed on exit
container() {
	ip netns add "$1" || return 1
	world_on_destroy ip netns del "$1"
	world_on_destroy rm -rf "/etc/netns/$1"
	[ "${2:-}" = down ] || ip -n "$1" link set lo up
}

# ns_snapshot NSPATH: everything moat could change inside a namespace
ns_snapshot() {
	local p=$1
	nsenter --net="$p" ip -o link show | sed -E 's/^[0-9]+: //; s/ link\/.*//'
	nsenter --net="$p" ip -o addr show
	nsenter --net="$p" ip route show table all
	nsenter --net="$p" ip -6 route show table all
	nsenter --net="$p" nft list ruleset
	nsenter --net="$p" sysctl -n net.ipv4.ping_group_range \
		net.ipv6.conf.all.disable_ipv6 net.ipv6.conf.default.disable_ipv6 \
		net.ipv4.conf.all.route_localnet
}

# host_moat: moat's interfaces, sandbox chains and records on the host
host_moat() {
	in_host ip -o link show | grep -oE '(ifb)?moat[0-9]+' | sort -u
	in_host nft list table inet moat 2>/dev/null | grep -oE 'moat[0-9]+_[a-z0-9_]+' | sort -u
	ls "$MOAT_RUN_DIR/sandboxes"
}


# resolve NS RESOLV NAME: getent through the glibc resolver of a container
# whose /etc/resolv.conf says RESOLV (ip netns exec binds
# /etc/netns/NS/resolv.conf over it, as a runtime gives a container its own)
resolve() {
	mkdir -p "/etc/netns/$1"
	printf '%s\noptions timeout:1 attempts:1\n' "$2" >"/etc/netns/$1/resolv.conf"
	ip netns exec "$1" getent ahosts "$3" | awk '{print $1}' | sort -u | tr '\n' ' '
}

pol=$WORLD_DIR/attach.yaml
cat >"$pol" <<EOF
version: 1
egress:
  default: public
  rules:
    - deny: evil.example
    - allow: github.com
      ports: [443]
      protocol: tcp
EOF

t_begin "attach by --netns"
CT1=moat-ctr1-$S
container "$CT1"
C1=/run/netns/$CT1
out=$(m attach "a-$S" --netns "$C1" --policy "$pol" 2>&1); rc=$?
assert_eq "$rc" 0 "attach exits 0"
assert_eq "$out" "a-$S" "attach prints the name"
j=$(m inspect "a-$S" --json)
assert_eq "$(jfield "$j" status)" running "status running"
assert_eq "$(jq -r .attached <<<"$j")" true "inspect --json: attached true"
assert_eq "$(jfield "$j" netns)" "$C1" "inspect --json: the path it was attached by"
assert_eq "$(jfield "$j" netns_inode)" "$(stat -L -c %i "$C1")" "inspect --json: the namespace's inode"
assert_eq "$(jfield "$j" inside_interface)" eth0 "inside interface eth0"
A_IF=$(jfield "$j" host_interface)
A_IP=$(jfield "$j" ipv4)
A_GW=$(jfield "$j" gateway4)
A_PID=$(jfield "$j" supervisor_pid)
assert_match "$(m inspect "a-$S")" "attached: +yes" "inspect (text) says attached"
assert_match "$(m ls)" "a-$S +running +filtered +$A_IP +$A_IF" "ls shows it running"
assert_eq "$(ip -n "$CT1" -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | tr '\n' ' ')" "lo eth0 " "inside: lo and eth0"
assert_eq "$(ip -n "$CT1" -o -4 addr show dev eth0 | awk '{print $4}')" "$A_IP/30" "eth0 has the sandbox's address"
assert_match "$(ip -n "$CT1" route show default)" "default via $A_GW dev eth0" "default route through the gateway"
assert_match "$(nsenter --net="$C1" nft list tables)" "inet moat_dns" "the loopback DNS table is inside"

t_begin "from inside: reach and refusals"
assert_ok -m "public TCP reachable" probe_tcp "$C1" 93.184.216.34 22
assert_ok -m "public UDP reachable" probe_udp "$C1" 93.184.216.34 9999
# (TCP 80 and 443 go through the proxy, which the policy's domain rule
# turns on: other ports meet the kernel's rules directly)
assert_ok -m "control: the LAN service is up (from the host)" probe_tcp host 192.168.77.10 5432
assert_fail -m "the LAN is refused" probe_tcp "$C1" 192.168.77.10 5432
assert_ok -m "control: the LAN's web server is up (from the host)" probe_tcp host 192.168.77.10 80
assert_fail -m "the LAN's web server is refused (through the proxy)" probe_http "$C1" http://192.168.77.10/ -f
assert_ok -m "control: metadata is up (from the host)" probe_udp host 169.254.169.254 9
assert_fail -m "metadata is refused" probe_udp "$C1" 169.254.169.254 9
assert_ok -m "control: the host's port 22 answers the LAN" probe_tcp lan 192.168.77.2 22
assert_fail -m "the host is refused" probe_tcp "$C1" 192.168.77.2 22
assert_fail -m "the host by the gateway address is refused" probe_tcp "$C1" "$A_GW" 22
m create "b-$S" >/dev/null
B_IP=$(jfield "$(m inspect "b-$S" --json)" ipv4)
_world_spawn srv-b "/run/netns/moat-b-$S" "$WORLD_PYTHON" -I "$WORLD_SRV" "tcp:0.0.0.0:8080:B-8080"
_world_spawn srv-c1 "$C1" "$WORLD_PYTHON" -I "$WORLD_SRV" "tcp:0.0.0.0:8080:C-8080"
world_wait_listen "moat-b-$S" tcp 8080 >/dev/null
world_wait_listen "$C1" tcp 8080 >/dev/null
assert_ok -m "control: sandbox b's server answers inside b" probe_tcp "moat-b-$S" "$B_IP" 8080
assert_fail -m "another sandbox is refused" probe_tcp "$C1" "$B_IP" 8080
assert_ok -m "control: the container's server answers inside it" probe_tcp "$C1" "$A_IP" 8080
assert_fail -m "... and another sandbox cannot reach it" probe_tcp "moat-b-$S" "$A_IP" 8080
# root in a container may change its addresses; the host judges by its own
# from_addr NS SRC DST PORT: a TCP connection from a chosen source address
from_addr() {
	in_ns "$1" "$WORLD_PYTHON" -c 'import socket, sys
s = socket.socket(); s.settimeout(1); s.bind((sys.argv[1], 0))
s.connect((sys.argv[2], int(sys.argv[3]))); print(s.recv(100).decode().strip())' "$2" "$3" "$4"
}
ip -n "$CT1" addr add "$B_IP/32" dev eth0
assert_eq "$(from_addr "$C1" "$A_IP" 93.184.216.34 22)" "INET-22 93.184.216.34" "control: from its own address"
assert_fail -m "spoofing another sandbox's address is refused" from_addr "$C1" "$B_IP" 93.184.216.34 22
ip -n "$CT1" addr del "$B_IP/32" dev eth0

t_begin "DNS inside, whatever the resolver"
# the upstream answers evil.example; the interceptor must refuse it
assert_eq "$(probe_dns host 8.8.8.8 evil.example)" 151.101.1.1 "control: the upstream resolves evil.example"
evil_before=$(grep -c 'query\[A\] evil.example' "$WORLD_DNSMASQ_LOG")
for r in 8.8.8.8 127.0.0.53 127.0.0.1 ::1; do
	assert_eq "$(probe_dns "$C1" "$r" github.com)" 140.82.112.3 "@$r: an allowed name resolves"
	assert_eq "$(dns_rcode "$C1" "$r" evil.example)" NXDOMAIN "@$r: a denied name is NXDOMAIN"
done
assert_eq "$(probe_dns "$C1" 127.0.0.53 github.com A +tcp)" 140.82.112.3 "@127.0.0.53 over TCP"
assert_eq "$(resolve "$CT1" "nameserver 8.8.8.8" github.com)" "140.82.112.3 " "resolv.conf naming 8.8.8.8: github.com"
assert_eq "$(resolve "$CT1" "nameserver 8.8.8.8" evil.example)" "" "resolv.conf naming 8.8.8.8: no evil.example"
assert_eq "$(resolve "$CT1" "nameserver 127.0.0.53" github.com)" "140.82.112.3 " "resolv.conf naming 127.0.0.53: github.com"
assert_eq "$(resolve "$CT1" "nameserver 127.0.0.53" evil.example)" "" "resolv.conf naming 127.0.0.53: no evil.example"
assert_eq "$(grep -c 'query\[A\] evil.example' "$WORLD_DNSMASQ_LOG")" "$evil_before" "evil.example never reached the upstream"
CT0=moat-ctr0-$S
container "$CT0"
assert_eq "$(dns_rcode "$CT0" 127.0.0.53 github.com)" none "control: 127.0.0.53 answers nothing in a container moat did not attach"
assert_ok -m "loopback still serves the container itself" \
	in_ns "$C1" "$WORLD_PYTHON" -I -S "$WORLD_SRV" probe tcp 127.0.0.1 8080

t_begin "ls, inspect, logs, stats, exec, update"
lan_logged() { [ "$(nlogs "a-$S" '.kind == "deny" and .dst == "192.168.77.10"')" -gt 0 ]; }
assert_ok -m "logs: the denial to the LAN" wait_for 5 lan_logged
assert_match "$(m logs "a-$S")" "name=evil.example .*action=nxdomain" "logs: the interceptor's NXDOMAIN"
assert_match "$(m logs "a-$S")" "name=github.com .*action=answer" "logs: the interceptor's answer"
den=$(m stats "a-$S" --json | jq '[.sandboxes[0].counters[] | select(.verdict == "denied") | .packets] | add')
if [ "${den:-0}" -gt 0 ]; then ok "stats: $den packets denied"; else not_ok "stats: packets denied" "$den"; fi
assert_match "$(m stats "a-$S")" "a-$S" "stats (text) names it"
assert_eq "$(m exec "a-$S" -- sh -c 'ip -o -4 addr show dev eth0 | awk "{print \$4}"')" "$A_IP/30" "exec runs in the container's namespace"
assert_ok -m "exec: the internet" m exec "a-$S" -- curl -sS --max-time 3 http://93.184.216.34/
assert_ok -m "update: deny github.com" m update "a-$S" --deny github.com
assert_eq "$(dns_rcode "$C1" 127.0.0.53 github.com)" NXDOMAIN "after update: github.com is NXDOMAIN"
assert_ok -m "update: the policy file again" m update "a-$S" --policy "$pol"
assert_eq "$(probe_dns "$C1" 127.0.0.53 github.com)" 140.82.112.3 "after update: github.com again"

t_begin "refusals"
assert_status -m "already attached: exit 1" 1 m attach "x-$S" --netns "$C1"
assert_match "$(m attach "x-$S" --netns "$C1" 2>&1)" "already the network namespace of sandbox 'a-$S'" "... naming the sandbox"
assert_status -m "the host's own namespace: exit 1" 1 m attach "x-$S" --netns "$HOST_NETNS"
assert_match "$(m attach "x-$S" --netns "$HOST_NETNS" 2>&1)" "namespace moat runs in" "... says why"
(exec nsenter --net="$HOST_NETNS" sleep 60) &
hostp=$!
if wait_for 2 sh -c "[ \"\$(stat -L -c %i /proc/$hostp/ns/net)\" = \"\$(stat -L -c %i $HOST_NETNS)\" ]"; then
	assert_status -m "the host's namespace by --pid: exit 1" 1 m attach "x-$S" --pid "$hostp"
else
	not_ok "a process in the world's host namespace" "$(ls -l /proc/$hostp/ns/net)"
fi
kill "$hostp"; wait "$hostp" 2>/dev/null
m create "n-$S" --no-net >/dev/null
assert_status -m "a created sandbox's namespace: exit 1" 1 m attach "x-$S" --netns "/run/netns/moat-n-$S"
m rm "n-$S"
CT2=moat-ctr2-$S
container "$CT2"
ip -n "$CT2" link add veth0 type veth peer name veth1
before=$(ns_snapshot "/run/netns/$CT2")
out=$(m attach "x-$S" --netns "/run/netns/$CT2" 2>&1); rc=$?
assert_eq "$rc" 1 "a namespace with interfaces: exit 1"
assert_match "$out" "interfaces other than lo \(veth[01], veth[01]\)" "... naming them"
assert_eq "$(echo "$out" | wc -l)" 1 "... in one line"
assert_eq "$(ns_snapshot "/run/netns/$CT2")" "$before" "... and the namespace is unchanged"
ip -n "$CT2" link del veth0
ip -n "$CT2" link add eth0 type veth peer name x0
assert_match "$(m attach "x-$S" --netns "/run/netns/$CT2" 2>&1)" "already has an interface named eth0" "moat's interface name taken: refused"
assert_status -m "not a network namespace: exit 1" 1 m attach "x-$S" --netns /etc/hostname
assert_status -m "no such file: exit 1" 1 m attach "x-$S" --netns "/run/netns/nonexistent-$S"
sh -c 'exit 0' & deadp=$!; wait "$deadp"
assert_status -m "no such process: exit 1" 1 m attach "x-$S" --pid "$deadp"
assert_status -m "no namespace given: exit 2" 2 m attach "x-$S"
assert_status -m "--netns and --pid: exit 2" 2 m attach "x-$S" --netns "$C1" --pid 1
assert_status -m "--no-net: exit 2" 2 m attach "x-$S" --netns "$C1" --no-net
assert_status -m "--ifname lo: exit 2" 2 m attach "x-$S" --netns "$C1" --ifname lo
assert_status -m "--ifname too long: exit 2" 2 m attach "x-$S" --netns "$C1" --ifname abcdefghijklmnop
assert_status -m "--pid not a number: exit 2" 2 m attach "x-$S" --pid 12ab
assert_status -m "missing name: exit 2" 2 m attach --netns "$C1"
assert_status -m "--netns on create: exit 2" 2 m create "x-$S" --netns "$C1"
printf 'version: 1\nnetwork: none\n' >"$WORLD_DIR/none.yaml"
assert_status -m "a policy with network none: exit 1" 1 m attach "x-$S" --netns "/run/netns/$CT0" --policy "$WORLD_DIR/none.yaml"
assert_eq "$(m ls | awk 'NR > 1 {print $1}' | sort | tr '\n' ' ')" "a-$S b-$S " "no sandbox made by the refusals"
assert_ok -m "the attached sandbox still works" probe_tcp "$C1" 93.184.216.34 22

t_begin "a failure midway leaves the namespace as it was"
CT3=moat-ctr3-$S
container "$CT3" down
before=$(ns_snapshot "/run/netns/$CT3")
host_before=$(host_moat)
(exec nsenter --net="$HOST_NETNS" "$WORLD_PYTHON" -c 'import socket,time,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1",18091)); s.listen(); sys.stdout.write("ready\n"); sys.stdout.flush(); time.sleep(60)' >"$WORLD_DIR/busy.out") &
busy=$!
wait_for 5 grep -q ready "$WORLD_DIR/busy.out"
out=$(in_host "$MOAT" --verbose attach "f-$S" --netns "/run/netns/$CT3" --publish 127.0.0.1:18091:80 2>&1); rc=$?
assert_eq "$rc" 125 "attach fails when a published port is taken"
assert_match "$out" "18091" "the error names the port"
assert_match "$out" "create: loopback DNS" "it failed after the table inside was added"
assert_eq "$(ns_snapshot "/run/netns/$CT3")" "$before" "the namespace is exactly as before (lo down, no table, no route)"
assert_eq "$(host_moat)" "$host_before" "nothing of it on the host (links, chains, records)"
assert_eq "$(m ls | grep -c "f-$S")" 0 "ls does not show it"
kill "$busy"; wait "$busy" 2>/dev/null
out=$(m attach "f-$S" --netns "/run/netns/$CT3" 2>&1); rc=$?
assert_eq "$rc" 0 "the same namespace attaches once the port is free: $out"
assert_ok -m "and works" probe_tcp "/run/netns/$CT3" 93.184.216.34 22
assert_ok -m "moat rm" m rm "f-$S"

t_begin "moat rm of a live container: detached, the namespace stays"
assert_ok -m "rm of an attached sandbox whose container runs" m rm "a-$S"
assert_eq "$(leftovers "a-$S" "$A_IF")" "" "nothing left on the host"
assert_ok -m "its supervisor is gone" wait_for 3 proc_gone "$A_PID"
assert_ok -m "the namespace is still there" test -e "$C1"
assert_eq "$(ip -n "$CT1" -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')" "lo " "inside: lo only"
assert_eq "$(nsenter --net="$C1" nft list ruleset)" "" "inside: no table"
assert_ok -m "the container's own process still runs" \
	in_ns "$C1" "$WORLD_PYTHON" -I -S "$WORLD_SRV" probe tcp 127.0.0.1 8080
assert_eq "$(dns_rcode "$C1" 127.0.0.53 github.com)" none "127.0.0.53 answers nothing any more"
assert_fail -m "no network any more" probe_tcp "$C1" 93.184.216.34 22
out=$(m attach "a-$S" --netns "$C1" 2>&1); rc=$?
assert_eq "$rc" 0 "it can be attached again: $out"
A_IF=$(jfield "$(m inspect "a-$S" --json)" host_interface)
A_PID=$(jfield "$(m inspect "a-$S" --json)" supervisor_pid)
assert_ok -m "and works" probe_tcp "$C1" 93.184.216.34 22

t_begin "the container ends: the sandbox goes by itself"
pkill_ns() { local p; for p in $(ip netns pids "$1"); do kill "$p"; done; }
pkill_ns "$CT1"
ip netns del "$CT1"
assert_ok -m "gone within 5 s of ip netns del" wait_for 5 test ! -e "$MOAT_RUN_DIR/sandboxes/a-$S"
assert_eq "$(leftovers "a-$S" "$A_IF")" "" "nothing left: link, rules, state"
assert_ok -m "its supervisor exited" wait_for 3 proc_gone "$A_PID"
assert_match "$(m logs --previous "a-$S")" "supervisor=removing" "its log is archived, saying why"
assert_status -m "moat rm finds nothing" 1 m rm "a-$S"

t_begin "its interface deleted by hand while the container runs"
out=$(m attach "h-$S" --netns "/run/netns/$CT0" 2>&1); rc=$?
assert_eq "$rc" 0 "attach: $out"
H_IF=$(jfield "$(m inspect "h-$S" --json)" host_interface)
assert_ok -m "control: it works" probe_tcp "/run/netns/$CT0" 93.184.216.34 22
in_host ip link del "$H_IF"
assert_ok -m "the sandbox goes by itself" wait_for 5 test ! -e "$MOAT_RUN_DIR/sandboxes/h-$S"
assert_eq "$(leftovers "h-$S" "$H_IF")" "" "nothing of it on the host"
assert_eq "$(ip -n "$CT0" -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')" "lo " "inside: lo only"
# documented: its supervisor joins no namespace, so the table stays
assert_match "$(nsenter --net="/run/netns/$CT0" nft list tables)" "inet moat_dns" "the table inside stays (moat-attach(1))"
out=$(m attach "h-$S" --netns "/run/netns/$CT0" 2>&1); rc=$?
assert_eq "$rc" 0 "attached again: $out"
assert_eq "$(nsenter --net="/run/netns/$CT0" nft list tables | grep -c moat_dns)" 1 "one table inside, replaced"
assert_eq "$(probe_dns "/run/netns/$CT0" 127.0.0.53 github.com)" 140.82.112.3 "loopback DNS to the new gateway"
assert_ok -m "moat rm" m rm "h-$S"
assert_eq "$(nsenter --net="/run/netns/$CT0" nft list ruleset)" "" "moat rm removes the table"

t_begin "attach by --pid, --ifname, the holder killed"
# the holder is the container's one process: a server on port 8080
unshare --net "$WORLD_PYTHON" -I "$WORLD_SRV" tcp:0.0.0.0:8080:P-8080 2>/dev/null &
hp=$!
world_on_destroy kill "$hp"
wait_for 2 sh -c "[ \"\$(stat -L -c %i /proc/$hp/ns/net)\" != \"\$(stat -L -c %i /proc/self/ns/net)\" ]"
nsenter --net="/proc/$hp/ns/net" ip link set lo up
world_wait_listen "/proc/$hp/ns/net" tcp 8080 >/dev/null
out=$(m attach "p-$S" --pid "$hp" --ifname ceth0 --bandwidth 10mbit --publish 127.0.0.1:18092:8080 2>&1); rc=$?
assert_eq "$rc" 0 "attach --pid: $out"
j=$(m inspect "p-$S" --json)
P_IF=$(jfield "$j" host_interface)
P_PID=$(jfield "$j" supervisor_pid)
assert_eq "$(jfield "$j" netns)" "/proc/$hp/ns/net" "recorded by the process's path"
assert_eq "$(jfield "$j" inside_interface)" ceth0 "inside interface ceth0"
assert_eq "$(nsenter --net="/proc/$hp/ns/net" ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | tr '\n' ' ')" "lo ceth0 " "inside: lo and ceth0"
assert_ok -m "public reachable" probe_tcp "/proc/$hp/ns/net" 93.184.216.34 22
assert_eq "$(probe_dns "/proc/$hp/ns/net" 127.0.0.53 github.com)" 140.82.112.3 "DNS through 127.0.0.53"
assert_match "$(nsenter --net="/proc/$hp/ns/net" nft list table inet moat_dns)" 'oifname "ceth0"' "the table names ceth0"
assert_ok -m "the bandwidth limit's IFB exists" in_host ip link show "ifb$P_IF"
assert_eq "$(probe_tcp host 127.0.0.1 18092)" P-8080 "its published port reaches the container's server"
kill "$hp"; wait "$hp" 2>/dev/null
assert_ok -m "gone within 5 s of the holder's end" wait_for 5 test ! -e "$MOAT_RUN_DIR/sandboxes/p-$S"
assert_eq "$(leftovers "p-$S" "$P_IF")" "" "nothing left: link, IFB, rules, state"
assert_ok -m "its supervisor exited" wait_for 3 proc_gone "$P_PID"
assert_fail -m "its published port is closed" probe_tcp host 127.0.0.1 18092

t_begin "a supervisor killed, adopted; then the container ends"
CT4=moat-ctr4-$S
container "$CT4"
m attach "k-$S" --netns "/run/netns/$CT4" >/dev/null
j=$(m inspect "k-$S" --json)
K_IF=$(jfield "$j" host_interface)
kill -9 "$(jfield "$j" supervisor_pid)"
assert_ok -m "degraded once its supervisor is killed" \
	wait_for 3 sh -c "MOAT_RUN_DIR=$MOAT_RUN_DIR nsenter --net=$HOST_NETNS $MOAT ls | grep -q 'k-$S .*degraded'"
assert_fail -m "the LAN still refused" probe_tcp "/run/netns/$CT4" 192.168.77.10 80
assert_ok -m "adopt" m adopt "k-$S"
K_PID=$(jfield "$(m inspect "k-$S" --json)" supervisor_pid)
assert_eq "$(probe_dns "/run/netns/$CT4" 127.0.0.53 github.com)" 140.82.112.3 "DNS again under the new supervisor"
ip netns del "$CT4"
assert_ok -m "the adopted supervisor removes it when the namespace ends" \
	wait_for 5 test ! -e "$MOAT_RUN_DIR/sandboxes/k-$S"
assert_eq "$(leftovers "k-$S" "$K_IF")" "" "nothing left"
assert_ok -m "its supervisor exited" wait_for 3 proc_gone "$K_PID"

t_begin "help"
assert_status -m "attach --help" 0 m attach --help
assert_eq "$("$MOAT" help attach)" "$("$MOAT" attach --help)" "moat help attach"
assert_match "$("$MOAT" --help)" "attach NAME" "moat --help lists attach"

m rm -f "b-$S" >/dev/null
t_end
