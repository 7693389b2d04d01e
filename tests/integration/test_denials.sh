#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_denials.sh - what a program inside a sandbox sees when moat denies
# it, and what is left to read afterwards:
#   - the kernel's denial: TCP and UDP fail at once with EHOSTUNREACH ("No
#     route to host": ICMP administratively prohibited), ping says "Packet
#     filtered", and an allowed ping works (unprivileged, ICMP echo socket);
#   - DNS: NXDOMAIN with an Extended DNS Error saying moat's policy blocked
#     the name;
#   - the proxy: a TLS client gets a fatal access_denied alert, an HTTP
#     client a 403 with X-Moat-Denied;
#   - "moat logs": DNS answers with the addresses pinned, the SNI of a
#     refused TLS connection;
#   - "moat run" prints a bounded summary of its denials (none with
#     --quiet), and "moat logs NAME" still works once it is gone, within
#     the archive's limits of age and size.
# Every denial is paired with the same probe succeeding where the policy
# allows it.
#
#   [moat run, user 65534] --+
#   [sandbox dn: domain rules]--moatN--  [HOST]  -- [LAN] -- [INET servers]
# shellcheck source=../lib/preamble.sh
. "$(dirname "$0")/../lib/preamble.sh"

t_world conntrack nat
TU=65534
# moat as the test user had run it with sudo: the command runs as TU
mu() { in_host env SUDO_UID=$TU SUDO_GID=$TU "$MOAT" "$@"; }

# line OUT KEY: the value of "KEY=..." in OUT
line() { sed -n "s/^$2=//p" <<<"$1" | head -1; }

t_begin "kernel denials: what a program sees"
# as an agent would: a command of moat run, not root
out=$(mu run --deny 151.101.1.1 --deny 9.9.9.9/icmp --deny 2001:4860:4860::8888 -- sh -c '
	s=$(date +%s%N)
	curl -sS --max-time 5 -o /dev/null http://151.101.1.1/
	echo "tcp=$? ms=$(( ($(date +%s%N) - s) / 1000000 ))"
	curl -sS -v --max-time 5 -o /dev/null http://151.101.1.1/ 2>&1 | grep -o "No route to host" | head -1 | sed "s/^/tcpmsg=/"
	curl -sS --max-time 5 -o /dev/null http://192.168.77.2:22/; echo "host=$?"
	curl -sS --max-time 5 -o /dev/null http://93.184.216.34/; echo "tcpok=$?"
	python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.connect((\"151.101.1.1\", 9999))
s.send(b\"x\")
try:
    s.recv(100)
    print(\"udp=answered\")
except OSError as e:
    print(\"udp=\" + (e.strerror or \"timeout\"))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.connect((\"93.184.216.34\", 9999))
s.send(b\"x\")
print(\"udpok=\" + s.recv(100).decode().split()[0])
"
	p=$(ping -c1 -W2 93.184.216.34 2>&1); echo "ping=$?"; echo "$p" | sed -n "s/.*\(1 received\).*/pingmsg=\1/p"
	p=$(ping -c1 -W2 9.9.9.9 2>&1); echo "pingdeny=$?"; echo "$p" | sed -n "s/.*\(Packet filtered\).*/pingdenymsg=\1/p"
	p=$(ping -c1 -W2 151.101.1.1 2>&1); echo "pingrule=$?"
	if [ -n "$(ip -6 route show default)" ]; then
		python3 -c "
import socket, time
s = socket.socket(socket.AF_INET6)
s.settimeout(5)
t = time.time()
try:
    s.connect((\"2001:4860:4860::8888\", 80))
    print(\"tcp6=connected\")
except OSError as e:
    print(\"tcp6=\" + (e.strerror or \"timeout\"))
print(\"tcp6ms=%d\" % ((time.time() - t) * 1000))
"
		p=$(ping -c1 -W2 2606:2800:220:1::1 2>&1); echo "ping6=$?"
		p=$(ping -c1 -W2 2001:4860:4860::8888 2>&1); echo "ping6deny=$?"
		echo "$p" | sed -n "s/.*\(Administratively prohibited\).*/ping6msg=\1/p"
	fi
' 2>&1)
assert_eq "$(line "$out" tcp | cut -d' ' -f1)" 7 "TCP to a denied address: curl fails (exit 7, cannot connect)"
ms=$(line "$out" tcp | sed -n 's/.*ms=//p')
if [ -n "$ms" ] && [ "$ms" -lt 1000 ]; then ok "... at once (${ms} ms), not after a timeout"; else not_ok "... at once" "$out"; fi
assert_eq "$(line "$out" tcpmsg)" "No route to host" "... with EHOSTUNREACH (ICMP administratively prohibited)"
assert_eq "$(line "$out" host)" 7 "TCP to the host (an invariant) fails the same way"
assert_eq "$(line "$out" tcpok)" 0 "control: TCP to an allowed address works"
assert_eq "$(line "$out" udp)" "No route to host" "UDP to a denied address: the next receive fails with EHOSTUNREACH"
assert_eq "$(line "$out" udpok)" "INET-9999" "control: UDP to an allowed address is answered"
assert_eq "$(line "$out" ping)" 0 "ping where the policy allows ICMP works, unprivileged"
assert_eq "$(line "$out" pingmsg)" "1 received" "... and gets its echo reply"
assert_eq "$(line "$out" pingdeny)" 1 "ping where a rule denies ICMP fails"
assert_eq "$(line "$out" pingdenymsg)" "Packet filtered" "... and says \"Packet filtered\""
assert_eq "$(line "$out" pingrule)" 1 "ping to an address a rule denies fails"
if [ -n "$(line "$out" tcp6)" ]; then
	assert_eq "$(line "$out" tcp6)" "Permission denied" "IPv6: TCP to a denied address fails with EACCES (ICMPv6 administratively prohibited)"
	ms=$(line "$out" tcp6ms)
	if [ "${ms:-9999}" -lt 2500 ]; then ok "... within the first SYN retransmission (${ms} ms)"; else not_ok "... within a second or so" "$out"; fi
	assert_eq "$(line "$out" ping6)" 0 "IPv6: ping where the policy allows ICMP works"
	assert_eq "$(line "$out" ping6deny)" 1 "IPv6: ping to a denied address fails"
	assert_eq "$(line "$out" ping6msg)" "Administratively prohibited" "... and says \"Administratively prohibited\""
fi
[ "$TAP_LAST" = 1 ] || _tap_detail "$out"

t_begin "DNS and the proxy: what a program sees"
cat >"$WORLD_DIR/dn.yaml" <<'EOF'
version: 1
egress:
  default: public
  rules:
    - deny: evil.example
    - allow: example.com
      ports: [80, 443]
      protocol: tcp
    - allow: cdn.example
      ports: [80, 443]
      protocol: tcp
EOF
if ! out=$(m create "dn-$S" --policy "$WORLD_DIR/dn.yaml" 2>&1); then
	not_ok "create dn" "$out"
	t_end
fi
D=moat-dn-$S
out=$(in_ns "$D" dig +time=2 +tries=1 @8.8.8.8 evil.example 2>&1)
assert_match "$out" "status: NXDOMAIN" "a name a rule denies: NXDOMAIN"
assert_match "$out" "EDE: 15 \(Blocked\): \(blocked by moat's network policy: rule 1 denies this name\)" "... with an EDE saying moat's policy blocked it, and which rule"
out=$(in_ns "$D" dig +time=2 +tries=1 @8.8.8.8 example.com 2>&1)
assert_match "$out" "status: NOERROR" "control: an allowed name resolves"
assert_match "$out" "93\.184\.216\.34" "... to its address"
in_ns "$D" dig +time=2 +tries=1 @8.8.8.8 cdn.example >/dev/null 2>&1
# cdn.example is pinned to 151.101.1.1, which evil.example shares: only
# the name the client gives tells them apart
out=$(in_ns "$D" timeout 5 openssl s_client -connect 151.101.1.1:443 -servername evil.example </dev/null 2>&1)
assert_match "$out" "alert access denied" "TLS with a denied SNI: the client's library reports a TLS access_denied alert"
assert_no_match "$out" "BEGIN CERTIFICATE" "... and no handshake happened"
out=$(in_ns "$D" timeout 5 openssl s_client -connect 151.101.1.1:443 -servername cdn.example </dev/null 2>&1)
assert_match "$out" "BEGIN CERTIFICATE" "control: the same address with an allowed SNI completes the handshake"
out=$(probe_http "$D" "https://evil.example/" --resolve evil.example:443:151.101.1.1 2>&1)
rc=$?
assert_eq "$rc" 35 "curl over TLS to a denied name: exit 35 (TLS handshake failed)"
assert_match "$out" "alert access denied" "... saying \"alert access denied\""
out=$(probe_http "$D" "http://evil.example/" --resolve evil.example:80:151.101.1.1 -i 2>&1)
assert_match "$out" "HTTP/1.1 403" "HTTP to a denied name: 403"
assert_match "$out" "X-Moat-Denied: name-denied" "... with X-Moat-Denied naming the reason"
assert_match "$out" "refused by the sandbox's network policy" "... and a one-line body"
out=$(probe_http "$D" "http://cdn.example/" --resolve cdn.example:80:151.101.1.1 2>&1)
assert_match "$out" "host: cdn.example" "control: HTTP to an allowed name on the same address is served"

t_begin "moat logs: DNS answers and the SNI of a TLS denial"
n=$(wait_eq 5 1 nlogs "dn-$S" '.kind == "dns" and .name == "example.com" and .qtype == "A" and .action == "answer" and .addrs == "93.184.216.34" and .pinned == "rule:2"')
assert_eq "$n" 1 "the answer for example.com: its address, pinned by rule 2"
n=$(wait_eq 5 1 nlogs "dn-$S" '.kind == "dns" and .name == "evil.example" and .action == "nxdomain" and .reason == "rule:1"')
assert_eq "$n" 1 "the NXDOMAIN for evil.example, by rule 1"
n=$(wait_eq 5 2 nlogs "dn-$S" '.kind == "proxy" and .action == "deny" and .port == 443 and .name == "evil.example" and .reason == "name-denied"')
assert_eq "$n" 2 "both TLS refusals of evil.example name it (the SNI)"
n=$(nlogs "dn-$S" '.kind == "proxy" and .action == "deny" and .name == ""')
assert_eq "$n" 0 "no refusal of a named connection without its name"
text=$(m logs "dn-$S")
assert_match "$text" "name=example\.com qtype=A action=answer rcode=NOERROR addrs=93\.184\.216\.34 pinned=rule:2" "the text form shows the answer's addresses"
m rm "dn-$S" >/dev/null 2>&1

t_begin "moat run: a summary of its denials"
R=r1-$S
out=$(mu run --name "$R" --deny 151.101.1.1 -- sh -c '
	for i in 1 2 3; do curl -s --max-time 3 -o /dev/null http://151.101.1.1/; done
	curl -s --max-time 3 -o /dev/null http://192.168.77.2:22/
	curl -s --max-time 3 -o /dev/null http://93.184.216.34/
	echo done' 2>&1)
summary=$(grep '^moat:' <<<"$out")
assert_match "$out" "done" "the command ran"
assert_match "$summary" "^moat: sandbox $R denied 4 flows or queries \(all of them: moat logs $R\):" "after it, moat run prints how many were denied"
assert_match "$summary" "moat: +3x 151\.101\.1\.1:80/tcp \(rule:1\)" "... one line per destination and reason, with the count"
assert_match "$summary" "moat: +1x 192\.168\.77\.2:22/tcp \(I2:host\)" "... the host's invariant too"
assert_no_match "$summary" "93\.184\.216\.34" "... and nothing that was allowed"
assert_eq "$(wc -l <<<"$summary")" 3 "... three lines in all"
out=$(mu run --quiet --deny 151.101.1.1 -- curl -s --max-time 3 -o /dev/null http://151.101.1.1/ 2>&1)
assert_eq "$out" "" "--quiet: no summary"
out=$(mu run -- sh -c 'curl -s --max-time 3 -o /dev/null http://93.184.216.34/; echo ok' 2>&1)
assert_eq "$out" "ok" "nothing denied: nothing printed"
# bounded: 15 ports of the host denied, 10 lines and one for the rest
out=$(mu run -- sh -c 'for p in $(seq 1001 1015); do curl -s --max-time 2 -o /dev/null http://192.168.77.2:$p/; done' 2>&1)
summary=$(grep '^moat:' <<<"$out")
assert_eq "$(grep -c 'moat: .*x 192\.168\.77\.2:10[0-9][0-9]/tcp (I2:host)' <<<"$summary")" 10 "15 destinations denied: 10 lines of them"
assert_match "$summary" "moat:   \.\.\. and 5 more to 5 other destinations" "... and one line for the rest"
assert_eq "$(wc -l <<<"$summary")" 12 "... 12 lines in all"

t_begin "moat logs NAME after the sandbox is gone"
err=$(m logs "$R" 2>&1 >/dev/null)
assert_match "$err" "sandbox $R is gone" "moat logs says the sandbox is gone"
assert_eq "$(nlogs "$R" '.kind == "deny" and .dst == "151.101.1.1" and .port == 80 and .reason == "rule:1"')" 3 "... and prints its log: the 3 denials"
assert_eq "$(nlogs "$R" '.kind == "deny" and .reason == "I2:host"')" 1 "... and the host's"
assert_status -m "... exit status 0" 0 m logs "$R"
assert_status -m "a name never used: no such sandbox (exit 1)" 1 m logs "never-$S"
# the name in use again: the live sandbox wins, --previous reads the kept log
m create "$R" >/dev/null || not_ok "create $R again"
err=$(m logs "$R" 2>&1 >/dev/null)
assert_no_match "$err" "gone" "the name in use again: moat logs reads the live sandbox"
assert_eq "$(nlogs "$R" '.kind == "deny" and .dst == "151.101.1.1"')" 0 "... whose log has none of the old denials"
assert_eq "$(nlogs "$R" '.kind == "deny" and .dst == "151.101.1.1"' --previous)" 3 "--previous: the removed one's log"
m rm "$R" >/dev/null
assert_eq "$(nlogs "$R" '.kind == "deny" and .dst == "151.101.1.1"')" 0 "removing the new one replaces the kept log of that name"

t_begin "the archive's limits"
A=$MOAT_RUN_DIR/logs
n0=$(find "$A" -mindepth 1 -maxdepth 1 | wc -l)
if [ "$n0" -ge 3 ]; then ok "each removed sandbox's log is kept ($n0)"; else not_ok "logs kept" "$(ls "$A")"; fi
# by age: what is older than MOAT_LOG_ARCHIVE_MAX_AGE goes at the next removal
touch -d '2 hours ago' "$A/$R"
in_host env MOAT_LOG_ARCHIVE_MAX_AGE=3600 "$MOAT" run --name "age-$S" --quiet -- true
check "a log older than MOAT_LOG_ARCHIVE_MAX_AGE is removed" test ! -e "$A/$R"
check "... the younger ones stay" test "$(find "$A" -mindepth 1 -maxdepth 1 | wc -l)" -eq "$n0"
# by size: the oldest go until the total fits; the newest always stays
in_host env MOAT_LOG_ARCHIVE_MAX_BYTES=1 "$MOAT" run --name "size-$S" --quiet --deny 151.101.1.1 -- curl -s --max-time 2 http://151.101.1.1/
assert_eq "$(find "$A" -mindepth 1 -maxdepth 1 -printf '%f\n')" "size-$S" "over MOAT_LOG_ARCHIVE_MAX_BYTES: the older logs are removed, the newest kept"
assert_eq "$(nlogs "size-$S" '.kind == "deny" and .dst == "151.101.1.1"')" 1 "... and readable"

t_end
