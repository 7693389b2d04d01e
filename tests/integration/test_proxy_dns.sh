#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_proxy_dns.sh - domain rules through the transparent proxy: the DNS
# interceptor pins what it answered, the proxy tells names on one shared
# address apart by the TLS SNI or the HTTP Host, and lets an allowed name
# through only to an address pinned for it.
#
#   [sandbox] --udp/tcp 53-->  [supervisor: dns.c]  --> dnsmasq (INET)
#       |                            | pins (nft sets + its own table)
#       +--tcp 80/443/9999-->  [supervisor: proxy :15001] --> INET servers
#
# In the world, 151.101.1.1 is shared by raw.githubusercontent.com,
# cdn.example, evil.example, evilgithub.com and github.com.evil.net;
# github.com is 140.82.112.3; the server certificate covers
# *.githubusercontent.com, github.com, evil.example and cdn.example, so a
# refused connection is the proxy's doing, not a certificate error.
# shellcheck source=../lib/preamble.sh
. "$(dirname "$0")/../lib/preamble.sh"

t_world conntrack nat

# https NS NAME ADDR [PORT]: GET https://NAME/ at ADDR, print the body
https() {
	probe_http "$1" "https://$2:${4:-443}/" --resolve "$2:${4:-443}:$3" 2>&1
}
# http NS NAME ADDR [CURL_ARGS...]: GET http://NAME/ at ADDR, with headers
http() {
	local ns=$1 name=$2 addr=$3
	shift 3
	probe_http "$ns" "http://$name/" --resolve "$name:80:$addr" -i "$@" 2>&1
}

cat >"$WORLD_DIR/dom.yaml" <<'EOF'
version: 1
egress:
  default: deny
  rules:
    - allow: raw.githubusercontent.com
      ports: [80, 443]
      protocol: tcp
    - allow: github.com
      ports: [443, 9999]
    - deny: "*.evil.example"
EOF
sandbox dom --policy "$WORLD_DIR/dom.yaml" || t_end
D=moat-dom-$S
assert_eq "$(proxy_counter dom enabled)" 1 "domain rules turn the proxy on"

t_begin "TLS: names on a shared address told apart"
assert_eq "$(probe_dns "$D" 8.8.8.8 raw.githubusercontent.com)" 151.101.1.1 "raw.githubusercontent.com resolves (and is pinned)"
out=$(https "$D" raw.githubusercontent.com 151.101.1.1)
assert_match "$out" "sni: raw.githubusercontent.com" "an allowed, pinned name is reached over TLS"
assert_eq "$(proxy_counter dom allowed_name_total)" 1 "... counted as allowed-name"
for name in cdn.example evil.example evilgithub.com github.com.evil.net; do
	out=$(https "$D" "$name" 151.101.1.1)
	assert_no_match "$out" "sni:" "domain fronting: SNI $name to the pinned shared address is refused"
done
assert_eq "$(proxy_counter dom not_allowed_total)" 4 "... each counted as not-allowed (no rule allows the name)"
assert_eq "$(grep -c 'sni: evil.example' "$WORLD_DIR/srv-inet.log" 2>/dev/null)" 0 "... and no refused name reached the server"

t_begin "TLS: an allowed name only to its own pins"
out=$(https "$D" github.com 140.82.112.3)
assert_no_match "$out" "sni:" "github.com before any DNS answer for it is refused"
assert_eq "$(proxy_counter dom not_pinned_total)" 1 "... counted as not-pinned"
assert_eq "$(probe_dns "$D" 8.8.8.8 github.com)" 140.82.112.3 "github.com resolves"
out=$(https "$D" github.com 140.82.112.3)
assert_match "$out" "sni: github.com" "after the answer, github.com is reached"
out=$(https "$D" github.com 151.101.1.1)
assert_no_match "$out" "sni:" "a forged resolution (--resolve github.com:443:151.101.1.1) is refused"
assert_eq "$(proxy_counter dom not_pinned_total)" 2 "... counted as not-pinned"

t_begin "HTTP: every Host checked"
out=$(http "$D" raw.githubusercontent.com 151.101.1.1)
assert_match "$out" "host: raw.githubusercontent.com" "an allowed, pinned Host is reached over HTTP"
out=$(http "$D" raw.githubusercontent.com 151.101.1.1 -H 'Host: cdn.example')
assert_match "$out" "HTTP/1.1 403" "a Host switched to another name on the same address gets 403"
assert_match "$out" "X-Moat-Denied: not-allowed" "... saying why"
out=$(http "$D" a.evil.example 151.101.1.1)
assert_match "$out" "X-Moat-Denied: name-denied" "a name a deny rule matches gets 403 name-denied"
out=$(http "$D" github.com 140.82.112.3)
assert_match "$out" "X-Moat-Denied: not-allowed" "github.com on port 80, which its rule does not name, is refused"
out=$(probe_http "$D" "http://raw.githubusercontent.com@cdn.example/" --resolve cdn.example:80:151.101.1.1 -i 2>&1)
assert_match "$out" "X-Moat-Denied: " "userinfo in the URL (allowed@other) does not pass as the allowed name"
out=$(printf 'GET http://raw.githubusercontent.com@cdn.example/ HTTP/1.1\r\nHost: raw.githubusercontent.com\r\n\r\n' |
	in_ns "$D" timeout 5 socat -T3 - TCP:151.101.1.1:80 2>&1)
assert_match "$out" "HTTP/1.1 403" "an absolute-form request with userinfo gets 403"
out=$(printf 'GET /one HTTP/1.1\r\nHost: raw.githubusercontent.com\r\n\r\nGET /two HTTP/1.1\r\nHost: cdn.example\r\n\r\n' |
	in_ns "$D" timeout 5 socat -T3 - TCP:151.101.1.1:80 2>&1)
assert_match "$out" "path: /one" "keep-alive: the first request (allowed Host) is answered"
assert_match "$out" "X-Moat-Denied: not-allowed" "keep-alive: a Host switched to another name on the connection gets 403"
assert_eq "$(grep -c 'GET /two ' "$WORLD_DIR/srv-inet.log")" 0 "keep-alive: the switched Host never reaches the server"
out=$(printf 'GET /three HTTP/1.1\r\nHost: raw.githubusercontent.com\r\n\r\nGET /four HTTP/1.1\r\nHost: raw.githubusercontent.com\r\n\r\n' |
	in_ns "$D" timeout 5 socat -T2 - TCP:151.101.1.1:80 2>&1)
assert_match "$out" "path: /four" "keep-alive: a second request for the allowed name is answered on the connection"

t_begin "a port a domain rule names, where the server may speak first"
out=$(in_ns "$D" timeout 3 bash -c 'exec 3<>/dev/tcp/140.82.112.3/9999 && read -r -t 2 l <&3 && echo "$l"' 2>&1)
assert_match "$out" "INET-9999 140.82.112.3" "the server's greeting reaches the client (140.82.112.3 is pinned for github.com)"
before=$(proxy_counter dom allowed_pinned_address_total)
check "... counted as allowed-pinned-address (got $before)" test "$before" -ge 1
out=$(echo ping | in_ns "$D" timeout 3 socat -T2 - TCP:140.82.112.3:9999 2>&1)
assert_match "$out" "ping" "another protocol is relayed both ways"
head -c 3000000 /dev/urandom >"$WORLD_DIR/big.bin"
got=$(in_ns "$D" timeout 20 socat -T5 - TCP:140.82.112.3:9999 <"$WORLD_DIR/big.bin" | tail -n +2 | sha256sum)
assert_eq "$got" "$(sha256sum <"$WORLD_DIR/big.bin")" "3 MB up and echoed back through the proxy, byte-exact both ways"
assert_fail -m "an address pinned for no allowed name on 9999 is refused (151.101.1.1)" \
	in_ns "$D" timeout 3 bash -c 'exec 3<>/dev/tcp/151.101.1.1/9999 && read -r -t 2 l <&3 && [ -n "$l" ]'
n0=$(proxy_counter dom not_allowed_total)
in_ns "$D" timeout 5 openssl s_client -connect 140.82.112.3:9999 -servername cdn.example </dev/null >/dev/null 2>&1
assert_eq "$(proxy_counter dom not_allowed_total)" "$((n0 + 1))" "a ClientHello for another name on that port is still judged by its SNI"
n0=$(proxy_counter dom allowed_name_total)
in_ns "$D" timeout 5 openssl s_client -connect 140.82.112.3:9999 -servername github.com </dev/null >/dev/null 2>&1
assert_eq "$(proxy_counter dom allowed_name_total)" "$((n0 + 1))" "... and one for github.com passes as allowed-name"

t_begin "QUIC and UDP on domain-rule ports dropped; the address rules still apply elsewhere"
assert_fail -m "UDP 443 to a pinned address is dropped (QUIC falls back to TCP)" probe_udp "$D" 151.101.1.1 443
assert_fail -m "UDP 9999 (a port the github.com rule names) is dropped" probe_udp "$D" 140.82.112.3 9999
sandbox udp --allow 151.101.1.1:443/udp --default-egress deny || t_end
assert_match "$(probe_udp "moat-udp-$S" 151.101.1.1 443)" "INET-443" "without domain rules, UDP 443 an address rule allows passes"

t_begin "decisions in the log and the metrics"
logs=$(m logs "dom-$S" --json)
assert_match "$(echo "$logs" | jq -r '.[] | select(.kind == "proxy" and .action == "deny" and .name == "cdn.example") | .reason' | sort -u)" \
	"^not-allowed$" "a refused SNI is logged with its name and reason"
assert_match "$(echo "$logs" | jq -r '.[] | select(.kind == "proxy" and .action == "allow") | "\(.name) \(.dst) \(.port)"' | sort -u)" \
	"raw.githubusercontent.com 151.101.1.1 443" "an allowed connection is logged with its destination"
assert_match "$(m logs "dom-$S" | grep ' proxy ' | head -1)" " proxy +tcp .* 151\.101\.1\.1 +443 " "moat logs shows proxy records as lines"
m stats "dom-$S" --prometheus >"$WORLD_DIR/metrics.txt"
assert_match "$(cat "$WORLD_DIR/metrics.txt")" 'moat_proxy_not_pinned_total\{sandbox="dom-'"$S"'"\} [1-9]' "proxy decisions are in the Prometheus output"
assert_match "$(cat "$WORLD_DIR/metrics.txt")" 'moat_dns_pin_latency_seconds_p99\{' "... and the time to pin"
if command -v promtool >/dev/null; then
	assert_ok -m "promtool check metrics accepts them" sh -c "promtool check metrics <'$WORLD_DIR/metrics.txt'"
fi

t_begin "a fresh sandbox with the same policy has no pins of its own"
sandbox dom2 --policy "$WORLD_DIR/dom.yaml" || t_end
out=$(https "moat-dom2-$S" raw.githubusercontent.com 151.101.1.1)
assert_no_match "$out" "sni:" "another sandbox's answers do not pin for this one"
assert_eq "$(probe_dns "moat-dom2-$S" 8.8.8.8 raw.githubusercontent.com)" 151.101.1.1 "it resolves"
out=$(https "moat-dom2-$S" raw.githubusercontent.com 151.101.1.1)
assert_match "$out" "sni: raw.githubusercontent.com" "then it is reached"

t_end
