#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_proxy.sh - the transparent egress proxy: TCP 80 and 443 go through
# the sandbox's supervisor, which reads the TLS SNI or the HTTP Host,
# decides, and splices the connection to its original destination. Here
# the proxy is turned on without domain rules (MOAT_PROXY=all): no name is
# pinned to an address, the address rules decide, and names are checked
# for what the parsers refuse (no Host...; no SNI and IP literals where no
# address rule allows the destination). Domain rules: test_proxy_dns.sh.
#
#   [sandbox] --redirect 15001--> [supervisor in HOST] --> [INET servers]
# shellcheck source=../lib/preamble.sh
. "$(dirname "$0")/../lib/preamble.sh"

t_world conntrack nat

# active: relayed connections (published ports and proxy) in use
active() {
	m inspect "px-$S" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["supervisor"]["publish"]["active"])'
}

v6refused=0
t_begin "proxy on (MOAT_PROXY=all); address rules decide"
cat >"$WORLD_DIR/px.yaml" <<'EOF'
version: 1
egress:
  default: deny
  rules:
    - allow: 93.184.216.34
      ports: [80, 443]
      protocol: tcp
    - allow: 2606:2800:220:1::1
      ports: [80, 443]
      protocol: tcp
    - allow: 151.101.1.1
      ports: [22]
      protocol: tcp
limits:
  connections: 2
EOF
if ! out=$(in_host env MOAT_PROXY=all "$MOAT" create "px-$S" --policy "$WORLD_DIR/px.yaml" 2>&1); then
	not_ok "create a sandbox with MOAT_PROXY=all" "$out"
	t_end
	exit
fi
D=moat-px-$S
assert_eq "$(proxy_counter px enabled)" 1 "the supervisor runs the proxy"

# byte-exact through the proxy against the same fetch made from HOST
N=3000000
want=$(in_host curl -sS --max-time 10 "http://93.184.216.34/bytes/$N" | sha256sum)
got=$(probe_http "$D" "http://example.com/bytes/$N" --resolve example.com:80:93.184.216.34 --max-time 10 | sha256sum)
assert_eq "$got" "$want" "HTTP GET /bytes/$N through the proxy is byte-exact"
got=$(probe_http "$D" "https://example.com/bytes/$N" --resolve example.com:443:93.184.216.34 --max-time 10 | sha256sum)
assert_eq "$got" "$want" "HTTPS GET /bytes/$N through the proxy is byte-exact"
# a server that aborts on the client's FIN (as nginx does) gets none from
# the proxy while it answers: the whole response arrives
n=$(probe_http "$D" "http://example.com/bytes-watch/20000000" --resolve example.com:80:93.184.216.34 --max-time 10 | wc -c)
assert_eq "$n" 20000000 "a 20 MB response from a server that aborts on a half-close arrives whole"
assert_eq "$(grep -c 'aborted: client closed early' "$WORLD_DIR/srv-inet.log")" 0 "... the proxy never half-closed towards it"
out=$(probe_http "$D" "https://example.com/" --resolve example.com:443:93.184.216.34)
assert_match "$out" "sni: example.com" "the server sees the client's SNI"
assert_eq "$(proxy_counter px allowed_address_total)" 4 "four connections allowed by the address rules"
if [ -n "$(in_ns "$D" ip -6 route show default)" ]; then
	got=$(probe_http "$D" "https://example.com/bytes/$N" --resolve "example.com:443:[2606:2800:220:1::1]" --max-time 10 | sha256sum)
	assert_eq "$got" "$want" "HTTPS over IPv6 through the proxy is byte-exact"
	hdr=$(probe_http "$D" "http://github.com/" --resolve "github.com:80:[2001:4860:4860::8888]" -i 2>&1)
	assert_match "$hdr" "X-Moat-Denied: not-allowed" "HTTP over IPv6 to an address no rule allows gets 403"
	v6refused=1
fi
# a port the proxy does not handle keeps the direct path
assert_ok -m "other ports are not redirected (tcp 151.101.1.1:22)" probe_tcp "$D" 151.101.1.1 22

t_begin "refusals"
out=$(probe_http "$D" "https://github.com/" --resolve github.com:443:140.82.112.3 2>&1)
rc=$?
assert_ne "$rc" 0 "TLS to an address no rule allows is refused"
assert_match "$out" "alert access denied" "... with a TLS access_denied alert"
hdr=$(probe_http "$D" "http://github.com/" --resolve github.com:80:140.82.112.3 -i 2>&1)
assert_match "$hdr" "HTTP/1.1 403" "HTTP to an address no rule allows gets 403"
assert_match "$hdr" "X-Moat-Denied: not-allowed" "... with X-Moat-Denied"
assert_match "$hdr" "refused by the sandbox's network policy" "... and a one-line body"
assert_eq "$(proxy_counter px not_allowed_total)" "$((2 + v6refused))" "both refusals counted as not-allowed"
# no SNI: curl sends none for an IP literal; only an address rule lets a
# connection without a name through (test_explicit.sh)
assert_fail -m "TLS without SNI to an address no rule allows is refused" probe_http "$D" "https://140.82.112.3/" -k
assert_eq "$(proxy_counter px no_sni_total)" 1 "... counted as no-sni"
out=$(in_ns "$D" timeout 5 openssl s_client -connect 140.82.112.3:443 -servername 140.82.112.3 </dev/null 2>&1)
assert_ne "$(echo "$out" | grep -c 'BEGIN CERTIFICATE')" 1 "an IP literal as SNI there is refused"
assert_eq "$(proxy_counter px sni_ip_literal_total)" 1 "... counted as sni-ip-literal"
assert_ok -m "TLS without SNI to the address a rule allows passes" probe_http "$D" "https://93.184.216.34/" -k
out=$(in_ns "$D" timeout 5 openssl s_client -connect 93.184.216.34:443 -servername 93.184.216.34 </dev/null 2>&1)
assert_eq "$(echo "$out" | grep -c 'BEGIN CERTIFICATE')" 1 "... and so does an IP literal as SNI"
out=$(in_ns "$D" timeout 5 openssl s_client -connect 93.184.216.34:443 -servername example.com </dev/null 2>&1)
assert_eq "$(echo "$out" | grep -c 'BEGIN CERTIFICATE')" 1 "the same address with a name SNI is allowed"
hdr=$(printf 'GET / HTTP/1.1\r\n\r\n' | in_ns "$D" timeout 5 socat -T3 - TCP:93.184.216.34:80 2>&1)
assert_match "$hdr" "X-Moat-Denied: no-host" "HTTP without Host gets 403 no-host"

# tls_first ARGS...: send a ClientHello (tls_hello.py ARGS) in two TCP
# segments to 93.184.216.34:443; print the first byte answered, in hex
# (nothing if the connection ends without an answer)
tls_first() {
	"$WORLD_PYTHON" "$here/../lib/tls_hello.py" "$@" >"$WORLD_DIR/hello" || return 1
	in_ns "$D" "$WORLD_PYTHON" -c '
import socket, sys, time
h = open(sys.argv[1], "rb").read()
s = socket.create_connection(("93.184.216.34", 443), timeout=3)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.sendall(h[:60])
time.sleep(0.1)	# the point: the rest in a second segment, read apart
s.sendall(h[60:])
try:
    print(s.recv(1).hex())
except OSError:
    print()' "$WORLD_DIR/hello"
}
b=$(tls_first --sni example.com --pq --records 2)
assert_match "$b" "^1[56]$" "a post-quantum-sized hello in two records and two segments is passed on"
assert_eq "$(tls_first --sni example.com --pad 20000 --records 2)" "15" "an oversized hello is refused (an alert)"
assert_eq "$(proxy_counter px tls_too_large_total)" 1 "... counted as tls-too-large"
printf '\x16\x03\x01\x00\x08garbage!' >"$WORLD_DIR/garbage"
b=$(in_ns "$D" timeout 5 socat -T2 - TCP:93.184.216.34:443 <"$WORLD_DIR/garbage" 2>/dev/null | od -An -tx1)
assert_eq "${b# }" "15 03 01 00 02 02 31" "a malformed hello is refused (a fatal access_denied alert)"
assert_eq "$(proxy_counter px tls_malformed_total)" 1 "... counted as tls-malformed"

t_begin "HTTP: every request of a keep-alive connection"
# two requests on one connection: both judged (the address rules allow
# 93.184.216.34 whatever the Host, there are no domain rules here)
out=$(printf 'GET /a HTTP/1.1\r\nHost: example.com\r\n\r\nGET /b HTTP/1.1\r\nHost: www.example.com\r\n\r\n' |
	in_ns "$D" timeout 5 socat -T2 - TCP:93.184.216.34:80 2>&1)
assert_match "$out" "path: /a" "the first request is answered"
assert_match "$out" "path: /b" "the second request on the same connection is answered"
assert_match "$out" "host: www.example.com" "... with its own Host"
assert_eq "$(grep -c 'GET /b ' "$WORLD_DIR/srv-inet.log")" 1 "... over the same connection"
# a refused request after an allowed one: 403 after the first response,
# and it never reaches the server
out=$(printf 'GET /c HTTP/1.1\r\nHost: example.com\r\n\r\nGET /d HTTP/1.1\r\n\r\nGET /e HTTP/1.1\r\nHost: example.com\r\n\r\n' |
	in_ns "$D" timeout 5 socat -T2 - TCP:93.184.216.34:80 2>&1)
assert_match "$out" "path: /c" "keep-alive: the allowed request is answered"
assert_match "$out" "X-Moat-Denied: no-host" "keep-alive: the next request without Host gets 403, after it"
assert_eq "$(grep -c 'GET /d \|GET /e ' "$WORLD_DIR/srv-inet.log")" 0 "... and neither it nor what follows reached the server"
# a chunked body is followed to its end; the request after it is judged
printf 'POST /post HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /f HTTP/1.1\r\nHost: example.com\r\n\r\n' |
	in_ns "$D" timeout 5 socat -T2 - TCP:93.184.216.34:80 >"$WORLD_DIR/chunked.out" 2>&1
assert_match "$(cat "$WORLD_DIR/srv-inet.log")" "POST /post" "a chunked request is forwarded"
assert_match "$(cat "$WORLD_DIR/chunked.out")" "path: /f" "the request after its body is judged and answered"
# curl reusing the connection for a second URL
out=$(in_ns "$D" curl -sS -v --noproxy '*' --max-time 5 --resolve example.com:80:93.184.216.34 \
	http://example.com/x http://example.com/y 2>&1)
assert_match "$out" "path: /x" "a client's first request is answered"
assert_match "$out" "path: /y" "a client's second request is answered"
assert_match "$out" "Re-using existing connection" "... on the same connection"

t_begin "connection limit"
for k in 1 2; do
	(in_ns "$D" bash -c 'exec 3<>/dev/tcp/93.184.216.34/80; echo $$ >"$1"; exec sleep 15' _ "$WORLD_DIR/hold$k") 2>/dev/null &
done
assert_eq "$(wait_eq 5 2 active)" 2 "two proxied connections hold the table"
assert_fail -m "a third is refused" probe_http "$D" "http://example.com/" --resolve example.com:80:93.184.216.34
assert_eq "$(proxy_counter px connection_limit_total)" 1 "... counted as connection-limit"
{ kill "$(cat "$WORLD_DIR/hold1")" "$(cat "$WORLD_DIR/hold2")"; wait; } 2>/dev/null
wait_eq 5 0 active >/dev/null
out=$(probe_http "$D" "http://example.com/" --resolve example.com:80:93.184.216.34)
assert_match "$out" "host: example.com" "a new connection works once they closed"

t_end
