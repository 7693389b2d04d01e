#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_update.sh - "moat update": a running sandbox's policy replaced at
# once, without recreating it. Its address, interface, instance and log
# stay; established connections the new policy allows keep working, those
# it refuses are cut; new connections and DNS answers follow the new
# policy; a domain rule added live starts the proxy and pins; a bad policy
# or a setting that cannot change live changes nothing.
#
#   [sandbox U] --moatN-- [HOST] -- [LAN] -- [INET 93.184.216.34:22 echo,
#                                             140.82.112.3:22 echo, :80, :443]
#
# Long-lived TCP and UDP connections (IPv4 and IPv6) are held open from
# inside the sandbox, as root there, by a small client (tests/lib/hold.py),
# poked over a Unix socket: each poke sends a line and waits for its echo.
# A cut connection is poked again: root inside cannot revive it.
#
# It takes twenty seconds or more (held connections are poked until they
# are cut, pins expire): tests/run-integration.sh starts it before the
# others.
# moat-test: long
# shellcheck source=../lib/preamble.sh
. "$(dirname "$0")/../lib/preamble.sh"

t_world conntrack
N=u-$S
U=moat-$N
jget() { python3 -c '
import json,sys
v=json.loads(sys.argv[1])
for k in sys.argv[2].split("."): v=v.get(k) if isinstance(v, dict) else None
print("" if v is None else json.dumps(v) if isinstance(v,(dict,list,bool)) else v)' "$1" "$2"; }

# held connections: tests/lib/hold.py (a TCP or UDP connection, poked)
hold() {	# hold NAME ADDR PORT [NS [udp]]: a held connection from a sandbox
	ip netns exec "${4:-$U}" python3 -I -S "$MOAT_SRCDIR/tests/lib/hold.py" "$2" "$3" "$WORLD_DIR/$1.sock" "${5:-tcp}" \
		2>>"$WORLD_DIR/hold.err" &
	world_on_destroy kill $!
	disown $!
	wait_for 5 test -S "$WORLD_DIR/$1.sock"
}
poke() {	# poke NAME: 0 iff the held connection still echoes
	[ "$(python3 -c '
import socket,sys
s=socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])
print(s.recv(16).decode())' "$WORLD_DIR/$1.sock" 2>/dev/null)" = OK ]
}
rcode() { dns_rcode "$U" 192.0.2.1 "$1"; }

t_begin "the command, before any sandbox"
out=$(m update "nosuch-$S" --deny example.com 2>&1); rc=$?
assert_eq "$rc" 1 "update of a sandbox that does not exist: exit 1"
assert_match "$out" "no such sandbox" "and it says so"
assert_status 2 m update
assert_ok -m "moat update --help" m update --help

t_begin "a sandbox with the default policy, held TCP, UDP and IPv6 connections"
m create "$N" >/dev/null || { not_ok "create the sandbox"; t_end; }
before=$(m inspect "$N" --json)
hold a 93.184.216.34 22 || not_ok "held connection a"
hold b 140.82.112.3 22 || not_ok "held connection b"
hold d 140.82.112.3 9999 "$U" udp || not_ok "held UDP flow d"
hold e 93.184.216.34 9999 "$U" udp || not_ok "held UDP flow e"
hold f 2606:2800:220:1::1 22 || not_ok "held IPv6 connection f"
assert_ok -m "a (93.184.216.34:22) echoes" poke a
assert_ok -m "b (140.82.112.3:22) echoes" poke b
assert_ok -m "d (UDP 140.82.112.3:9999) echoes" poke d
assert_ok -m "e (UDP 93.184.216.34:9999) echoes" poke e
assert_ok -m "f ([2606:2800:220:1::1]:22) echoes" poke f
assert_eq "$(rcode example.com)" NOERROR "example.com resolves"
assert_eq "$(rcode github.com)" NOERROR "github.com resolves"
assert_eq "$(jget "$before" proxy)" false "no domain rule: no proxy"

t_begin "update --deny example.com: DNS follows, connections stay"
out=$(m update "$N" --deny example.com 2>&1)
assert_eq "$?" 0 "exit 0"
echo "# $out"
assert_eq "$(jget "$(m inspect "$N" --json)" proxy)" true "a domain rule: the proxy was started live"
assert_eq "$(rcode example.com)" NXDOMAIN "example.com is now NXDOMAIN"
assert_eq "$(rcode github.com)" NOERROR "github.com still resolves"
assert_ok -m "a still echoes" poke a
assert_ok -m "b still echoes" poke b
assert_ok -m "d still echoes" poke d
assert_ok -m "f still echoes" poke f

t_begin "update --default-egress deny --allow 93.184.216.34:22/tcp --allow 93.184.216.34:9999/udp"
t0=$(date +%s%3N)
out=$(m update "$N" --default-egress deny --allow 93.184.216.34:22/tcp --allow 93.184.216.34:9999/udp 2>&1)
assert_eq "$?" 0 "exit 0"
echo "# $out ($(($(date +%s%3N) - t0)) ms, the command included)"
assert_match "$out" "3 connection\(s\) cut" "three connections cut (b, d, f)"
assert_ok -m "a (allowed by the new policy) still echoes" poke a
assert_ok -m "e (UDP, allowed by the new policy) still echoes" poke e
assert_fail -m "b (refused by the new policy) is cut" poke b
assert_fail -m "d (UDP, refused by the new policy) is cut" poke d
assert_fail -m "f (IPv6, refused by the new policy) is cut" poke f
assert_fail -m "b, poked again from root inside, stays cut" poke b
assert_ok -m "a new connection to 93.184.216.34:22 is allowed" probe_tcp "$U" 93.184.216.34 22
assert_fail -m "a new connection to 140.82.112.3:22 is refused" probe_tcp "$U" 140.82.112.3 22
assert_fail -m "a new connection to 93.184.216.34:80 is refused (default deny)" probe_tcp "$U" 93.184.216.34 80
assert_eq "$(rcode example.com)" NXDOMAIN "the earlier --deny example.com is still there"
after=$(m inspect "$N" --json)
for k in ipv4 ipv6 gateway4 host_interface instance netns supervisor_pid created; do
	assert_eq "$(jget "$after" $k)" "$(jget "$before" $k)" "inspect: $k unchanged"
done
assert_eq "$(jget "$after" policy.egress.default)" deny "inspect: the new policy (egress default deny)"
logs=$(m logs "$N" --json 2>&1)
assert_match "$logs" '"kind": *"policy".*"updated"' "the log has a 'policy updated' record"
assert_eq "$(grep -c '"policy"' <<<"$logs")" 2 "and the log kept the first update's record"

t_begin "a domain allow rule added live: the name resolves, is pinned and connects"
assert_fail -m "before: https://github.com/ is refused" probe_http "$U" https://github.com/
out=$(m update "$N" --allow github.com:443 2>&1)
assert_eq "$?" 0 "exit 0"
assert_eq "$(probe_dns "$U" 192.0.2.1 github.com)" 140.82.112.3 "github.com resolves"
assert_match "$(probe_http "$U" https://github.com/)" "sni: github.com" "https://github.com/ connects, through the proxy"
assert_fail -m "140.82.112.3:22 is still refused (the rule names 443)" probe_tcp "$U" 140.82.112.3 22
assert_ok -m "a still echoes" poke a

t_begin "a bad policy changes nothing"
printf 'version: 1\negress:\n  default: deny\n  rules:\n    - allow: 93.184.216.34\n      ports: [99999]\n' >"$WORLD_DIR/bad.yaml"
pol0=$(jget "$(m inspect "$N" --json)" policy)
out=$(m update "$N" --policy "$WORLD_DIR/bad.yaml" 2>&1); rc=$?
assert_eq "$rc" 1 "exit 1"
assert_match "$out" "bad.yaml:[0-9]+:[0-9]+:" "the error is located (FILE:LINE:COL)"
assert_eq "$(jget "$(m inspect "$N" --json)" policy)" "$pol0" "the policy is unchanged"
assert_ok -m "a still echoes" poke a
assert_ok -m "93.184.216.34:22 still allowed" probe_tcp "$U" 93.184.216.34 22
assert_fail -m "140.82.112.3:22 still refused" probe_tcp "$U" 140.82.112.3 22
out=$(m update "$N" --publish 8080:80 2>&1); rc=$?
assert_eq "$rc" 2 "--publish: usage error (cannot change live)"
printf 'version: 1\nnetwork: restricted\n' >"$WORLD_DIR/restricted.yaml"
out=$(m update "$N" --policy "$WORLD_DIR/restricted.yaml" 2>&1); rc=$?
assert_eq "$rc" 1 "a policy file changing the network mode: exit 1"
assert_match "$out" "cannot change on a running sandbox" "and it says why"
assert_eq "$(jget "$(m inspect "$N" --json)" policy)" "$pol0" "the policy is unchanged"

t_begin "update --policy FILE replaces the policy"
printf 'version: 1\negress:\n  default: public\n' >"$WORLD_DIR/public.yaml"
out=$(m update "$N" --policy "$WORLD_DIR/public.yaml" 2>&1)
assert_eq "$?" 0 "exit 0"
assert_eq "$(rcode example.com)" NOERROR "example.com resolves again"
assert_ok -m "140.82.112.3:22 allowed again" probe_tcp "$U" 140.82.112.3 22
assert_ok -m "a still echoes" poke a
assert_eq "$(jget "$(m inspect "$N" --json)" ipv4)" "$(jget "$before" ipv4)" "same address"

t_begin "pins carried over; a relay through the proxy cut"
# V reaches example.com on 22/tcp (a domain-rule port: through the proxy)
# and by ICMP (no proxy: the kernel's pin sets decide)
m create "v-$S" --default-egress deny --allow example.com:22/tcp \
	--allow example.com/icmp >/dev/null || not_ok "create V"
V=moat-v-$S
VIF=$(jget "$(m inspect "v-$S" --json)" host_interface)
ping1() { in_ns "$1" ping -n -c1 -W1 "$2" >/dev/null 2>&1; }
assert_fail -m "nothing pinned yet: ping 93.184.216.34 refused" ping1 "$V" 93.184.216.34
assert_eq "$(probe_dns "$V" 192.0.2.1 example.com)" 93.184.216.34 "example.com resolves (pinned)"
assert_ok -m "ping 93.184.216.34 allowed by the pin" ping1 "$V" 93.184.216.34
hold c 93.184.216.34 22 "$V" || not_ok "held connection c"
assert_ok -m "c (93.184.216.34:22, relayed by the proxy) echoes" poke c
out=$(m update "v-$S" --allow 1.1.1.1/icmp 2>&1)
assert_eq "$?" 0 "update --allow 1.1.1.1/icmp (every rule's index moves): exit 0"
assert_ok -m "ping 93.184.216.34 still allowed: the pin moved to the rule's new set, no new lookup" ping1 "$V" 93.184.216.34
assert_ok -m "ping 1.1.1.1 allowed" ping1 "$V" 1.1.1.1
assert_ok -m "c still echoes" poke c
printf 'version: 1\negress:\n  default: deny\n  rules:\n    - allow: 1.1.1.1\n      protocol: icmp\n' >"$WORLD_DIR/v.yaml"
out=$(m update "v-$S" --policy "$WORLD_DIR/v.yaml" 2>&1)
assert_eq "$?" 0 "update --policy without the domain rules: exit 0"
echo "# $out"
assert_fail -m "c (its name no longer allowed) is cut by the proxy" poke c
assert_fail -m "ping 93.184.216.34 refused: its pins are gone" ping1 "$V" 93.184.216.34
assert_ok -m "ping 1.1.1.1 still allowed" ping1 "$V" 1.1.1.1
assert_fail -m "a new connection to 93.184.216.34:22 is refused" probe_tcp "$V" 93.184.216.34 22
sets=$(in_host nft list sets table inet moat 2>/dev/null | grep -c "set ${VIF}_d")
assert_eq "$sets" 0 "the pin sets of the removed rules are deleted"
assert_match "$(m logs "v-$S" --json 2>&1)" '"proxied_cut": *"?1' "the log counts the relay cut"
# the audit of "moat verify" compiles each sandbox's rules from its record
# and stored policy: the live chains must be what an update left (U's
# proxy was started live, V's pin sets changed)
in_host "$MOAT" verify --json >"$WORLD_DIR/verify.json" 2>"$WORLD_DIR/verify.err"
vrc=$?
failed=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for r in d["rows"]:
    if not r["ok"]: print(r["invariant"], r["check"], r["observed"])' "$WORLD_DIR/verify.json" 2>&1)
assert_eq "$vrc/$failed" "0/" "moat verify (its ruleset audit included) passes after the updates"
m rm -f "$N" >/dev/null
m rm -f "v-$S" >/dev/null

t_begin "connections outlive their pins, across an update too"
# short-ttl.example: TTL 2, pinned for dns.ttl.min (5 s). UDP 9999 (a
# rule without ports: UDP to the ports domain rules name is dropped as
# QUIC) is judged by the kernel's pin sets; TCP 22, a domain-rule port,
# goes through the proxy
m create "x-$S" --default-egress deny --allow short-ttl.example:22/tcp \
	--allow short-ttl.example/udp >/dev/null || not_ok "create X"
X=moat-x-$S
XIF=$(jget "$(m inspect "x-$S" --json)" host_interface)
assert_eq "$(probe_dns "$X" 192.0.2.1 short-ttl.example)" 93.184.216.34 "short-ttl.example resolves (pinned)"
hold xu 93.184.216.34 9999 "$X" udp || not_ok "held UDP flow"
hold xt 93.184.216.34 22 "$X" || not_ok "held TCP connection (through the proxy)"
assert_ok -m "the UDP flow echoes" poke xu
assert_ok -m "the relayed TCP connection echoes" poke xt
pinned() { in_host nft list set inet moat "${XIF}_d2_4" 2>/dev/null | grep -q 93.184.216.34; }
if wait_for 10 eval '! pinned'; then ok "the pin expired"; else not_ok "the pin expired"; fi
assert_ok -m "the UDP flow outlives its pin" poke xu
assert_ok -m "so does the relayed TCP connection" poke xt
out=$(m update "x-$S" --allow 1.1.1.1/icmp 2>&1)
assert_eq "$?" 0 "update that keeps the domain rule: exit 0"
echo "# $out"
assert_ok -m "the UDP flow survives the update" poke xu
assert_ok -m "so does the relayed TCP connection" poke xt
out=$(m update "x-$S" --deny short-ttl.example 2>&1)
assert_eq "$?" 0 "update that denies the name: exit 0"
echo "# $out"
assert_fail -m "the UDP flow is cut" poke xu
assert_fail -m "the relayed TCP connection is cut" poke xt
m rm -f "x-$S" >/dev/null

t_begin "a host port closed live (I2): its established connection is cut"
m create "w-$S" --allow host:8022/tcp --allow host:22/tcp >/dev/null || not_ok "create W"
W=moat-w-$S
hold h1 192.168.77.2 8022 "$W" || not_ok "held connection to the host's port 8022"
hold h2 192.168.77.2 22 "$W" || not_ok "held connection to the host's port 22"
assert_ok -m "h1 (host:8022) echoes" poke h1
assert_ok -m "h2 (host:22) echoes" poke h2
out=$(m update "w-$S" --policy "$WORLD_DIR/public.yaml" --allow host:8022/tcp 2>&1)
assert_eq "$?" 0 "update: only host:8022 stays open"
echo "# $out"
assert_ok -m "h1 (still allowed) echoes" poke h1
assert_fail -m "h2 (host:22, closed now) is cut" poke h2
assert_fail -m "a new connection to the host's port 22 is refused" probe_tcp "$W" 192.168.77.2 22
assert_ok -m "a new connection to the host's port 8022 is allowed" probe_tcp "$W" 192.168.77.2 8022
assert_ok -m "the public internet is still reachable" probe_tcp "$W" 93.184.216.34 22
m rm -f "w-$S" >/dev/null
t_end
