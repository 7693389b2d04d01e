#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_explicit.sh - an explicit address rule is honoured when the policy
# has domain rules (so the proxy is on): a connection an address rule
# allows is allowed whatever name it carries, or without one (no SNI, an IP
# literal), unless an earlier rule denied its name; a connection that only
# egress.default allows keeps the proxy's name checks.
#
#   [sandbox] --tcp 80/443--> [supervisor: proxy] --> INET servers
#
# In the world, 93.184.216.34 is example.com and www.example.com, 1.1.1.1 a
# resolver that also serves HTTPS, 151.101.1.1 a shared CDN address; the
# server certificate covers example.com, *.example.com and the addresses
# 93.184.216.34 and 1.1.1.1, so a failure is the proxy's doing.
# shellcheck source=../lib/preamble.sh
. "$(dirname "$0")/../lib/preamble.sh"

t_world conntrack nat

# raw NS ADDR PORT: send stdin to ADDR:PORT, print what comes back
raw() {
	in_ns "$1" timeout 5 socat -T2 - "TCP:$2:$3" 2>&1
}

t_begin "--deny example.com --allow 93.184.216.34:443/tcp (and :80/tcp)"
sandbox ex --deny example.com --allow 93.184.216.34:443/tcp --allow 93.184.216.34:80/tcp || t_end
D=moat-ex-$S
assert_eq "$(proxy_counter ex enabled)" 1 "a domain rule turns the proxy on"
out=$(probe_http "$D" "https://93.184.216.34/" -k 2>&1)
assert_match "$out" "INET 93.184.216.34" "curl -k https://93.184.216.34/ (no SNI) reaches the allowed address"
out=$(probe_http "$D" "https://93.184.216.34/" 2>&1)
assert_match "$out" "INET 93.184.216.34" "... and with the certificate checked against the address"
out=$(in_ns "$D" timeout 5 openssl s_client -connect 93.184.216.34:443 -servername 93.184.216.34 </dev/null 2>&1)
assert_eq "$(echo "$out" | grep -c 'BEGIN CERTIFICATE')" 1 "an IP literal as SNI is allowed there"
out=$(probe_http "$D" "https://www.example.com/" --resolve www.example.com:443:93.184.216.34 2>&1)
assert_match "$out" "sni: www.example.com" "a name no rule denies is allowed there by the address rule"
out=$(probe_http "$D" "https://example.com/" --resolve example.com:443:93.184.216.34 2>&1)
assert_no_match "$out" "INET" "SNI example.com, denied by the earlier rule, is refused at that address"
assert_eq "$(proxy_counter ex name_denied_total)" 1 "... counted as name-denied"
assert_eq "$(grep -c 'sni=example.com$' "$WORLD_DIR/srv-inet.log" 2>/dev/null)" 0 "... and never reached the server"
out=$(probe_http "$D" "http://93.184.216.34/" -i 2>&1)
assert_match "$out" "host: 93.184.216.34" "HTTP with an IP-literal Host reaches the allowed address"
out=$(probe_http "$D" "http://example.com/" --resolve example.com:80:93.184.216.34 -i 2>&1)
assert_match "$out" "X-Moat-Denied: name-denied" "HTTP Host example.com at that address gets 403 name-denied"
out=$(printf 'GET /one HTTP/1.1\r\nHost: 93.184.216.34\r\n\r\nGET /two HTTP/1.1\r\nHost: example.com\r\n\r\n' | raw "$D" 93.184.216.34 80)
assert_match "$out" "path: /one" "keep-alive: a first request with an IP-literal Host is answered"
assert_match "$out" "X-Moat-Denied: name-denied" "keep-alive: a second one naming the denied name gets 403"
assert_eq "$(grep -c 'GET /two ' "$WORLD_DIR/srv-inet.log")" 0 "... and never reaches the server"
out=$(printf 'GET /three HTTP/1.1\r\nHost: www.example.com\r\n\r\nGET /four HTTP/1.1\r\nHost: 93.184.216.34\r\n\r\n' | raw "$D" 93.184.216.34 80)
assert_match "$out" "path: /four" "keep-alive: a name then an IP literal, both answered"
out=$(printf 'GET http://example.com/five HTTP/1.1\r\nHost: 93.184.216.34\r\n\r\n' | raw "$D" 93.184.216.34 80)
assert_match "$out" "X-Moat-Denied: host-mismatch" "an IP-literal Host does not hide a denied name in the absolute-form target"
out=$(printf 'GET http://93.184.216.34/six HTTP/1.1\r\nHost: example.com\r\n\r\n' | raw "$D" 93.184.216.34 80)
assert_match "$out" "X-Moat-Denied: host-mismatch" "... nor an IP-literal target one in the Host"
assert_eq "$(grep -cE '/five |/six ' "$WORLD_DIR/srv-inet.log")" 0 "... neither reaches the server"

t_begin "default: public keeps the name checks where no address rule applies"
out=$(probe_http "$D" "https://151.101.1.1/" -k 2>&1)
assert_no_match "$out" "INET" "TLS without SNI to a public address no rule names is refused"
assert_eq "$(proxy_counter ex no_sni_total)" 1 "... counted as no-sni"
out=$(in_ns "$D" timeout 5 openssl s_client -connect 151.101.1.1:443 -servername 151.101.1.1 </dev/null 2>&1)
assert_ne "$(echo "$out" | grep -c 'BEGIN CERTIFICATE')" 1 "an IP literal as SNI there is refused"
assert_eq "$(proxy_counter ex sni_ip_literal_total)" 1 "... counted as sni-ip-literal"
out=$(probe_http "$D" "http://151.101.1.1/" -i 2>&1)
assert_match "$out" "X-Moat-Denied: host-ip-literal" "an IP-literal Host there gets 403 host-ip-literal"
out=$(probe_http "$D" "https://cdn.example/" --resolve cdn.example:443:151.101.1.1 2>&1)
assert_match "$out" "sni: cdn.example" "positive control: a name no rule matches is allowed there by default: public"

t_begin "moat-run(1)'s example with a domain rule: curl https://1.1.1.1/"
sandbox one --deny evil.example --allow 1.1.1.1:443/tcp || t_end
O=moat-one-$S
assert_eq "$(proxy_counter one enabled)" 1 "a domain rule turns the proxy on"
out=$(probe_http "$O" "https://1.1.1.1/" -sI 2>&1)
assert_match "$out" "^HTTP/1.1 200" "curl -sI https://1.1.1.1/ (moat-run(1)'s example) reaches the address a rule allows"
out=$(probe_http "$O" "https://1.1.1.1/" 2>&1)
assert_match "$out" "INET 1.1.1.1" "... and so does a GET"
out=$(probe_http "$O" "https://www.example.com/" --resolve www.example.com:443:1.1.1.1 2>&1)
assert_match "$out" "sni: www.example.com" "so does any name no earlier rule denies"
assert_eq "$(proxy_counter one allowed_address_total)" 3 "each counted as allowed-address"
out=$(probe_http "$O" "https://evil.example/" --resolve evil.example:443:1.1.1.1 2>&1)
assert_no_match "$out" "INET" "deny NAME before allow ADDR: the denied name is refused at that address"
assert_eq "$(proxy_counter one name_denied_total)" 1 "... counted as name-denied"
out=$(probe_http "$O" "https://9.9.9.9/" -k 2>&1)
assert_no_match "$out" "INET" "control: no SNI to 9.9.9.9, which only default: public allows, is refused"
assert_eq "$(proxy_counter one no_sni_total)" 1 "... counted as no-sni"

t_end
