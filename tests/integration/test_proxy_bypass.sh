#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_proxy_bypass.sh - name checks a client must not step around: HTTP
# on a domain-rule port other than 80/443 told by its grammar (leading
# empty lines, any method), a second ClientHello after a HelloRetryRequest,
# and a DNS query's additional section and EDNS options, which must never
# reach the upstream. Each attack from root in the sandbox, with its
# positive control.
#
#   [sandbox] --tcp 8080/8443/9999--> [supervisor: proxy :15001]
#                                          --> INET 140.82.112.3 (github.com)
#                                              8080 http, 8443 hrr, 9999 echo
#   [sandbox] --udp/tcp 53--> [supervisor: dns.c] --> 198.51.100.53 "dnsup"
#                                                     (logs each query whole)
# shellcheck source=../lib/preamble.sh
. "$(dirname "$0")/../lib/preamble.sh"

t_world conntrack nat

# this script's own servers in INET (killed with the world): HTTP on 8080
# and the scripted HelloRetryRequest server on 8443 at github.com's address,
# a logging DNS upstream at 198.51.100.53 (it answers hrr* names with
# 198.51.100.80, where the HelloRetryRequest server is on 443 too: INET's
# wildcard HTTPS listener holds port 443, so INET redirects it to 8443)
UP=198.51.100.53
in_inet ip addr add "$UP/32" dev lo
in_inet ip addr add 198.51.100.80/32 dev lo
in_inet nft -f - <<'EOF'
table ip bypass {
	chain pre {
		type nat hook prerouting priority dstnat;
		ip daddr 198.51.100.80 tcp dport 443 dnat to 198.51.100.80:8443
	}
}
EOF
_world_spawn srv-bypass "$INET_NETNS" "$WORLD_PYTHON" -I "$WORLD_SRV" \
	--ready "$WORLD_DIR/ready-bypass" --cert "$WORLD_DIR/server.pem" --key "$WORLD_DIR/server.key" \
	"http:140.82.112.3:8080:INET-8080 {addr}" "hrr:140.82.112.3:8443" \
	"https-p256:140.82.112.3:8444:INET-8444 {addr}" "hrr:198.51.100.80:8443" \
	"dnsup:$UP:53"
wait_for 5 test -f "$WORLD_DIR/ready-bypass" || { not_ok "the bypass servers in INET"; t_end; }
SRVLOG=$WORLD_DIR/srv-bypass.log

# raw NS ADDR PORT: send stdin as it is, print what comes back (3 s)
raw() {
	in_ns "$1" timeout 5 socat -T3 - "TCP:$2:$3" 2>&1
}

sandbox byp --default-egress deny --allow github.com:443,8080,8443,8444,9999 || t_end
D=moat-byp-$S
assert_eq "$(probe_dns "$D" 8.8.8.8 github.com)" 140.82.112.3 "github.com resolves (and is pinned)"

t_begin "HTTP on a domain-rule port other than 80/443: judged by its grammar"
req() {		# req METHOD HOST [PREFIX]: one request, Connection: close
	printf '%b%s / HTTP/1.1\r\nHost: %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n' \
		"${3:-}" "$1" "$2"
}
out=$(req GET github.com | raw "$D" 140.82.112.3 8080)
assert_match "$out" "host: github.com" "control: GET with Host github.com is allowed"
out=$(req PROPFIND github.com | raw "$D" 140.82.112.3 8080)
assert_match "$out" "host: github.com" "control: PROPFIND with Host github.com is allowed"
out=$(req GET github.com '\r\n' | raw "$D" 140.82.112.3 8080)
assert_match "$out" "host: github.com" "control: a leading empty line with Host github.com is allowed"
out=$(req GET evil.example | raw "$D" 140.82.112.3 8080)
assert_match "$out" "X-Moat-Denied: not-allowed" "GET with Host evil.example is refused"
out=$(req GET evil.example '\r\n' | raw "$D" 140.82.112.3 8080)
assert_no_match "$out" "host: evil.example" "a leading empty line (RFC 9112 2.2) does not step around the Host check"
assert_match "$out" "X-Moat-Denied: not-allowed" "... it is refused with a 403"
out=$(req GET evil.example '\r\n\r\n\r\n' | raw "$D" 140.82.112.3 8080)
assert_match "$out" "X-Moat-Denied" "... several empty lines too"
for meth in PROPFIND QUERY MKCOL X-ANY-TOKEN; do
	out=$(req "$meth" evil.example | raw "$D" 140.82.112.3 8080)
	assert_no_match "$out" "host: evil.example" "a $meth request with Host evil.example does not pass as another protocol"
	assert_match "$out" "X-Moat-Denied: not-allowed" "... it is refused with a 403"
done
out=$(printf 'GET  /  HTTP/1.1\r\nHost: evil.example\r\n\r\n' | raw "$D" 140.82.112.3 8080)
assert_no_match "$out" "host: evil.example" "a lenient request line (double spaces) is refused, not passed"
out=$(printf 'GET /a b HTTP/1.1\r\nHost: evil.example\r\n\r\n' | raw "$D" 140.82.112.3 8080)
assert_no_match "$out" "host: evil.example" "... a space in the target (nginx takes it) too"
out=$(printf ' PROPFIND / HTTP/1.1\r\nHost: evil.example\r\n\r\n' | raw "$D" 140.82.112.3 8080)
assert_no_match "$out" "host: evil.example" "... leading whitespace (Python's server takes it) too"
out=$(printf 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' | raw "$D" 140.82.112.3 8080)
assert_match "$out" "X-Moat-Denied: http2-prior-knowledge" "HTTP/2 prior knowledge (no Host to check) is refused"
out=$(printf 'EHLO mail.example\r\n' | raw "$D" 140.82.112.3 9999)
assert_match "$out" "EHLO mail.example" "control: another protocol on a domain-rule port still passes"
out=$(printf 'SSH-2.0-OpenSSH_9.2\r\n' | raw "$D" 140.82.112.3 9999)
assert_match "$out" "SSH-2.0" "control: ... an SSH client's identification line too"
out=$(printf 'QUIT' | raw "$D" 140.82.112.3 9999)
assert_match "$out" "QUIT" "control: ... and a word that ends with the client's FIN before it could be a request"
n=$(grep -c "http .*host=evil.example" "$SRVLOG")
assert_eq "$n" 0 "no request naming evil.example reached the server"

t_begin "TLS: a second ClientHello after a HelloRetryRequest is judged"
hrr() { in_ns "$D" timeout 10 "$WORLD_PYTHON" "$WORLD_LIB_DIR/tls_hrr.py" 140.82.112.3 8443 "$@" 2>&1; }
out=$(hrr github.com github.com)
assert_eq "$out" "sni2: github.com" "control: a second ClientHello with the same SNI passes"
before=$(proxy_counter byp sni_changed_total)
out=$(hrr github.com evil.example)
assert_no_match "$out" "sni2:" "a second ClientHello naming evil.example is refused"
assert_eq "$(proxy_counter byp sni_changed_total)" $((before + 1)) "... counted as sni-changed"
out=$(hrr github.com evil.example --pipelined)
assert_no_match "$out" "sni2:" "... also sent before the server answered"
out=$(hrr github.com evil.example --early-data)
assert_no_match "$out" "sni2:" "... also after early data (0-RTT, which a server skips after a retry)"
assert_eq "$(hrr github.com github.com --early-data)" "sni2: github.com" "control: early data, then a second ClientHello with the same SNI passes"
out=$(hrr github.com 10.0.0.1)
assert_no_match "$out" "sni2:" "a second ClientHello with an IP literal is refused"
assert_match "$(m logs "byp-$S" 2>&1)" "sni-changed" "the refusal is logged with its reason"
out=$(hrr github.com github.com --pipelined)
assert_eq "$out" "sni2: github.com" "control: pipelined with the same SNI passes"
# on 443, where the client must speak first (the connection waits for its
# ClientHello before connecting): the same
sandbox hrr --default-egress deny --allow hrr.example:443 --dns-upstream "$UP" --no-rebind-protection || t_end
H=moat-hrr-$S
assert_eq "$(probe_dns "$H" 8.8.8.8 hrr.example)" 198.51.100.80 "hrr.example resolves (and is pinned)"
hrr443() { in_ns "$H" timeout 10 "$WORLD_PYTHON" "$WORLD_LIB_DIR/tls_hrr.py" 198.51.100.80 443 "$@" 2>&1; }
assert_eq "$(hrr443 hrr.example hrr.example)" "sni2: hrr.example" "control: on 443, a second ClientHello with the same SNI passes"
assert_no_match "$(hrr443 hrr.example evil.example)" "sni2:" "on 443, a second ClientHello naming evil.example is refused"
assert_no_match "$(hrr443 hrr.example evil.example --pipelined)" "sni2:" "... also sent before the server answered"
assert_eq "$(proxy_counter hrr sni_changed_total)" 2 "... both counted as sni-changed"
# an address rule lets a hello without a name through; a second hello
# then naming a host is refused all the same
sandbox hrrx --deny evil.example:8443/tcp --allow 140.82.112.3:8443/tcp || t_end
hrrx() { in_ns "moat-hrrx-$S" timeout 10 "$WORLD_PYTHON" "$WORLD_LIB_DIR/tls_hrr.py" 140.82.112.3 8443 "$@" 2>&1; }
assert_match "$(hrrx 140.82.112.3 140.82.112.3)" "^sni2: " "control: an IP literal as SNI twice passes where an address rule allows the destination"
assert_no_match "$(hrrx 140.82.112.3 evil.example)" "sni2:" "after an IP literal, a second ClientHello naming evil.example is refused"
assert_no_match "$(hrrx 140.82.112.3 evil.example --pipelined)" "sni2:" "... also sent before the server answered"
assert_eq "$(proxy_counter hrrx sni_changed_total)" 2 "... both counted as sni-changed"
n=$(grep -c "hrr second sni=evil.example\|hrr second sni=10.0.0.1" "$SRVLOG")
assert_eq "$n" 0 "the server never saw a second ClientHello naming another host"
# a real HelloRetryRequest (the server takes P-256 only, curl's first key
# share is X25519): the second ClientHello is judged and passes
out=$(probe_http "$D" "https://github.com:8444/" --resolve github.com:8444:140.82.112.3 \
	--curves X25519:P-256 --tlsv1.3 -v 2>&1)
assert_match "$out" "sni: github.com" "control: curl through a real HelloRetryRequest is allowed"
assert_eq "$(grep -c 'OUT), TLS handshake, Client hello' <<<"$out")" 2 "... two ClientHellos: the server did ask for a retry"
# a real TLS 1.3 handshake is followed to the ServerHello, then spliced
out=$(probe_http "$D" "https://github.com/bytes/20000000" --resolve github.com:443:140.82.112.3 \
	-o /dev/null -w '%{size_download}' 2>&1)
assert_eq "$out" 20000000 "control: HTTPS through the proxy, 20 MB whole"

t_begin "DNS: only the question, and EDNS of moat's own, reach the upstream"
sandbox dq --default-egress deny --allow github.com:443 --dns-upstream "$UP" || t_end
Q=moat-dq-$S
cat >"$WORLD_DIR/q.py" <<'EOF'
import socket, struct, sys
# github.com A, RD, with an additional A record (rdata 0a0b0c0d) and an OPT
# record: UDP size 4096, DO, options ECS (code 8) and 65001 = deadbeef
q = (bytes.fromhex("abcd01000001000000000002") +
     b"\x06github\x03com\x00\x00\x01\x00\x01" +
     b"\x01x\x00\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x0a\x0b\x0c\x0d" +
     bytes.fromhex("0000291000000080000010") +
     bytes.fromhex("000800040001180000fde90004deadbeef"))
if sys.argv[1] == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.sendto(q, ("8.8.8.8", 53))
    a = s.recv(65535)
else:
    s = socket.create_connection(("8.8.8.8", 53), timeout=3)
    s.sendall(struct.pack("!H", len(q)) + q)
    n = struct.unpack("!H", s.recv(2))[0]
    a = b""
    while len(a) < n:
        a += s.recv(n - len(a))
# the client's ID and question come back, and the answer
ok = a[:2] == q[:2] and a[12:28] == q[12:28]
print("id-question-ok" if ok else "mismatch", a[-4:].hex())
EOF
for how in udp tcp; do
	n0=$(wc -l <"$SRVLOG")
	out=$(in_ns "$Q" timeout 5 "$WORLD_PYTHON" "$WORLD_DIR/q.py" "$how" 2>&1)
	assert_eq "$out" "id-question-ok 5db8d822" "control ($how): the question resolves, the answer matches the client's ID and question"
	# (a TCP client's query goes upstream over UDP first)
	line=$(tail -n +$((n0 + 1)) "$SRVLOG" | grep "^dnsup .* github.com" | tail -n 1)
	assert_match "$line" "dnsup .* github.com" "... and the query reached the upstream ($how)"
	assert_no_match "$line" "deadbe|fde9" "an EDNS option of the client does not reach the upstream ($how)"
	assert_no_match "$line" "0a0b0c0d" "an additional record of the client does not reach the upstream ($how)"
	assert_no_match "$line" "00080004" "client subnet (ECS) does not reach the upstream ($how)"
	assert_match "$line" "ar=1 " "the only additional record upstream is moat's OPT ($how)"
done
out=$(dns_rcode "$Q" 8.8.8.8 example.com A +ednsopt=65001:deadbeef)
assert_eq "$out" NXDOMAIN "default deny: a name no rule allows is answered locally"
assert_no_match "$(grep "^dnsup" "$SRVLOG")" "example\.com" "... and never reaches the upstream, options or not"

t_end
