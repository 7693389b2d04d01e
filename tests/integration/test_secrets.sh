#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_secrets.sh - secrets the sandbox never sees: the proxy terminates
# TLS for the names the policy lists, with a leaf from the sandbox's CA,
# verifies the real server against "the host's trust store" (here the
# world's CA, MOAT_UPSTREAM_CA), puts the real secret into requests to the
# secret's hosts and refuses any request that carries a placeholder
# anywhere else. Real clients inside the sandbox (curl, Python's urllib
# and requests, openssl s_client), started by "moat exec".
#
#   [sandbox: curl/python with $API_KEY = moat-secret-API_KEY-...]
#        |  TLS to api.github.com (leaf from the sandbox's CA)
#   [supervisor: proxy :15001 -> intercept.c -> h1.c]
#        |  TLS, verified against the world CA, Authorization: Bearer REAL
#   [INET 140.82.112.3:443 worldsrv.py /auth: "authorised via bearer"]
#
# Names (world DNS): api.github.com 140.82.112.3 (secret API_KEY's host),
# www.example.com 93.184.216.34 (secret TOKEN's, set as a header),
# example.com (intercepted, no secret: leaks refused), evilgithub.com
# 151.101.1.1 (intercepted; the world's certificate does not cover it: a
# bad upstream certificate), raw.githubusercontent.com 151.101.1.1 (not
# intercepted: today's SNI-only path).
# shellcheck source=../lib/preamble.sh
. "$(dirname "$0")/../lib/preamble.sh"

VALUE="sk-test-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
WORLD_SECRET_FILE=$(mktemp)
export WORLD_SECRET_FILE
printf '%s\n' "$VALUE" >"$WORLD_SECRET_FILE"
trap 'rm -f "$WORLD_SECRET_FILE"' EXIT

t_world conntrack nat

cp "$WORLD_SECRET_FILE" "$WORLD_DIR/api.key"
chmod 600 "$WORLD_DIR/api.key"
cat >"$WORLD_DIR/sec.yaml" <<EOF
version: 1
egress:
  default: deny
  rules:
    - allow: api.github.com
      ports: [443, 8443]
    - allow: "*.example.com"
      ports: [80, 443, 8443]
    - allow: example.com
      ports: [80, 443, 8443]
    - allow: evilgithub.com
      ports: [443]
    - allow: raw.githubusercontent.com
      ports: [443]
secrets:
  - name: API_KEY
    from_file: $WORLD_DIR/api.key
    hosts: [api.github.com]
    replace_in: [headers, query, body]
  - name: TOKEN
    from_env: MOAT_TEST_TOKEN
    hosts: [www.example.com]
    set: "Authorization: Bearer {secret}"
intercept: [example.com, evilgithub.com]
EOF

t_begin "creation: values read, placeholders and a CA made"
if ! out=$(in_host env MOAT_TEST_TOKEN="$VALUE" MOAT_UPSTREAM_CA="$WORLD_CA" "$MOAT" create "sec-$S" --policy "$WORLD_DIR/sec.yaml" 2>&1); then
	not_ok "create a sandbox with secrets" "$out"
	t_end
	exit
fi
ok "create a sandbox with secrets"
SB=sec-$S
SD=$MOAT_RUN_DIR/sandboxes/$SB
# in: run CMD in the sandbox, as "moat exec" does
insb() { (cd / && m exec "$SB" -- sh -c "$1" 2>&1); }

# icnt KEY: a counter of the sandbox's interception; icnt_s SECRET KEY: of
# one secret's
icnt() { m inspect "$SB" --json | jq -r --arg k "$1" '.supervisor.proxy.intercept[$k] // "absent"'; }
icnt_s() { m inspect "$SB" --json | jq -r --arg k "$1_$2" '.supervisor.proxy.intercept.secrets[$k] // "absent"'; }
# curl in the sandbox: body (and headers with -i)
C='curl -sS --max-time 10'

assert_eq "$(stat -c %a "$SD/ca.key")" 600 "the CA's key is root's alone (0600)"
assert_eq "$(stat -c %a "$SD/secrets.env")" 600 "the placeholders file is root's alone"
assert_eq "$(stat -c %a "$SD/ca-bundle.pem")" 644 "the CA bundle is readable"
assert_eq "$(grep -c 'BEGIN CERTIFICATE' "$SD/ca-bundle.pem")" 2 "the bundle holds the host's store (here the world CA) and moat's CA"
assert_match "$(openssl x509 -in "$SD/ca.pem" -noout -subject -ext basicConstraints,nameConstraints 2>&1)" "CA:TRUE" "moat's CA is a CA"
assert_match "$(openssl x509 -in "$SD/ca.pem" -noout -ext nameConstraints 2>&1)" "DNS:api.github.com" "... constrained to the intercepted names"
assert_eq "$(grep -rlF "$VALUE" "$SD" "$MOAT_RUN_DIR" 2>/dev/null | grep -vc '/api.key$')" 0 "the value is in no file moat wrote"

t_begin "the sandbox's side: placeholders and the CA variables"
out=$(insb 'echo "$API_KEY $TOKEN"')
assert_match "$out" "^moat-secret-API_KEY-[0-9a-f]{32} moat-secret-TOKEN-[0-9a-f]{32}$" "each secret's variable holds a recognisable placeholder"
PH=${out%% *}
PHT=${out##* }
for v in SSL_CERT_FILE REQUESTS_CA_BUNDLE CURL_CA_BUNDLE NODE_EXTRA_CA_CERTS GIT_SSL_CAINFO; do
	assert_eq "$(insb "echo \$$v")" /run/moat/ca-bundle.pem "$v names the bundle"
done
assert_eq "$(insb 'grep -c "BEGIN CERTIFICATE" /run/moat/ca-bundle.pem')" 2 "the bundle is readable inside at /run/moat/ca-bundle.pem"
assert_ne "$(insb "cat $SD/ca.key >/dev/null 2>&1; echo \$?")" 0 "the CA's key is not readable inside"
assert_eq "$(insb "env; cat /proc/*/environ /proc/*/cmdline 2>/dev/null" | grep -cF "$VALUE")" 0 "the value is not in the command's environment or /proc"
assert_eq "$(insb "cat $WORLD_DIR/api.key 2>&1" | grep -cF "$VALUE")" 0 "nor readable from its file"

t_begin "the secret's host receives the real value"
assert_eq "$(insb "$C -H \"Authorization: Bearer \$API_KEY\" https://api.github.com/auth")" "authorised via bearer" "curl: Bearer header"
assert_eq "$(insb "$C -H \"X-Api-Key: \$API_KEY\" https://api.github.com/auth")" "authorised via header" "curl: another header"
assert_eq "$(insb "$C -u \"me:\$API_KEY\" https://api.github.com/auth")" "authorised via basic" "curl: Basic credentials (decoded, replaced, encoded)"
assert_eq "$(insb "$C \"https://api.github.com/auth?key=\$API_KEY\"")" "authorised via query" "curl: query string"
assert_eq "$(insb "$C --data \"key=\$API_KEY\" https://api.github.com/auth")" "authorised via body" "curl: body (Content-Length)"
assert_eq "$(insb "printf '{\"k\":\"%s\"}' \"\$API_KEY\" | $C -H 'Transfer-Encoding: chunked' --data-binary @- https://api.github.com/auth")" "authorised via body" "curl: chunked body"
assert_eq "$(insb "python3 -c 'import os,urllib.request as u; r=u.Request(\"https://api.github.com/auth\", headers={\"Authorization\": \"Bearer \"+os.environ[\"API_KEY\"]}); print(u.urlopen(r, timeout=5).read().decode().strip())'")" "authorised via bearer" "Python urllib (trusts \$SSL_CERT_FILE)"
assert_eq "$(insb "python3 -c 'import os,requests; print(requests.get(\"https://api.github.com/auth\", headers={\"X-Api-Key\": os.environ[\"API_KEY\"]}, timeout=5).text.strip())'")" "authorised via header" "Python requests (trusts \$REQUESTS_CA_BUNDLE)"
assert_eq "$(insb "node -e 'require(\"https\").get({host: \"api.github.com\", path: \"/auth\", headers: {\"X-Api-Key\": process.env.API_KEY}}, r => { let d = \"\"; r.on(\"data\", c => d += c); r.on(\"end\", () => console.log(d.trim())); })'")" "authorised via header" "Node.js (trusts \$NODE_EXTRA_CA_CERTS)"
out=$(insb "HOME=/tmp git -c http.extraHeader=\"X-Api-Key: \$API_KEY\" ls-remote https://api.github.com/auth 2>&1")
assert_no_match "$out" "SSL|certificate" "git (trusts \$GIT_SSL_CAINFO): no TLS error"
assert_match "$(grep 'auth/info/refs' "$WORLD_DIR/srv-inet.log")" "GET /auth/info/refs" "... its request reached the server"
out=$(insb "printf 'GET /auth HTTP/1.1\r\nHost: api.github.com\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n' \"\$API_KEY\" | timeout 5 openssl s_client -quiet -verify_return_error -CAfile \"\$SSL_CERT_FILE\" -servername api.github.com -connect api.github.com:443 2>/dev/null")
assert_match "$out" "authorised via bearer" "openssl s_client, verifying moat's leaf"
assert_eq "$(insb "$C https://www.example.com/auth")" "authorised via bearer" "set: the header is added to a request without one"
assert_eq "$(insb "$C -H 'Authorization: Bearer forged' https://www.example.com/auth")" "authorised via bearer" "set: and replaces the client's"
assert_eq "$(icnt_s API_KEY injected_total)" 11 "eleven requests got API_KEY (counted)"
assert_eq "$(icnt_s TOKEN injected_total)" 2 "two got TOKEN"
assert_ne "$(icnt upstream_resumed_total)" 0 "later connections to a name resume its server's session"
N=2000000
want=$(in_host curl -sS --max-time 10 --cacert "$WORLD_CA" --resolve api.github.com:443:140.82.112.3 "https://api.github.com/bytes/$N" | sha256sum)
assert_eq "$(insb "$C --max-time 10 https://api.github.com/bytes/$N | sha256sum")" "$want" "a 2 MB response through the interception is byte-exact"

t_begin "nothing the sandbox sees holds the value"
all=$(insb "$C -i -H \"Authorization: Bearer \$API_KEY\" https://api.github.com/auth; $C -i \"https://api.github.com/auth?key=\$API_KEY\"; $C -i https://www.example.com/auth -v 2>&1")
assert_eq "$(grep -cF "$VALUE" <<<"$all")" 0 "responses (headers included, curl -v)"
out=$(insb "$C -H \"Authorization: Bearer \$API_KEY\" https://api.github.com/echo-auth")
assert_match "$out" "you sent: Bearer \*{${#VALUE}}" "a server that echoes the credential: the value comes back masked, byte for byte"
assert_eq "$(grep -cF "$VALUE" <<<"$out")" 0 "... never in clear"
assert_eq "$(icnt values_masked_total)" 1 "... counted"
assert_eq "$(m logs "$SB" 2>&1 | grep -cF "$VALUE")" 0 "moat logs"
assert_eq "$(m inspect "$SB" --json | grep -cF "$VALUE")" 0 "moat inspect"

t_begin "every route of a placeholder to another host is refused"
# leak N CMD: the request carries the placeholder to a host not its own
leaks=0
leak() {
	local what=$1 cmd=$2 out
	out=$(insb "$cmd")
	leaks=$((leaks + 1))
	assert_match "$out" "X-Moat-Denied: secret-leak" "$what: 403, X-Moat-Denied: secret-leak"
}
leak "header" "$C -i -H \"X-Api-Key: \$API_KEY\" https://example.com/leak1"
leak "Bearer" "$C -i -H \"Authorization: Bearer \$API_KEY\" https://example.com/leak2"
leak "Basic credentials" "$C -i -u \"me:\$API_KEY\" https://example.com/leak3"
leak "query" "$C -i \"https://example.com/leak4?k=\$API_KEY\""
leak "percent-encoded query" "$C -i \"https://example.com/leak5?k=\$(echo \$API_KEY | sed 's/-/%2D/g')\""
leak "body" "$C -i --data \"k=\$API_KEY\" https://example.com/leak6"
leak "chunked body" "printf 'xx%s' \"\$API_KEY\" | $C -i -H 'Transfer-Encoding: chunked' --data-binary @- https://example.com/leak7"
leak "another secret's host" "$C -i -H \"X-Api-Key: \$API_KEY\" https://www.example.com/leak8"
leak "TOKEN to API_KEY's host" "$C -i -H \"X-T: \$TOKEN\" https://api.github.com/leak9"
leak "plain HTTP" "$C -i -H \"X-Api-Key: \$API_KEY\" http://example.com/leak10"
# split across TCP segments: the request written a few bytes at a time
out=$(insb "python3 - <<'EOF'
import os, socket, ssl, time
ctx = ssl.create_default_context()
s = ctx.wrap_socket(socket.create_connection(('example.com', 443), timeout=5), server_hostname='example.com')
body = 'x' * 14 + os.environ['API_KEY']
req = ('POST /leak11 HTTP/1.1\r\nHost: example.com\r\nContent-Length: %d\r\n\r\n' % len(body) + body).encode()
for i in range(0, len(req), 5):
    s.send(req[i:i + 5])
    time.sleep(0.002)
print(s.recv(4096).decode(errors='replace'))
EOF")
leaks=$((leaks + 1))
assert_match "$out" "X-Moat-Denied: secret-leak" "split across TLS records and TCP segments: refused"
out=$(insb "python3 -c 'import os,requests; r=requests.get(\"https://example.com/leak12\", headers={\"X-Api-Key\": os.environ[\"API_KEY\"]}, timeout=5); print(r.status_code, r.headers.get(\"X-Moat-Denied\"))'")
leaks=$((leaks + 1))
assert_eq "$out" "403 secret-leak" "Python requests: 403 secret-leak"
assert_eq "$(grep -c 'placeholder arrived' "$WORLD_DIR/srv-inet.log")" 0 "no placeholder reached a server"
# a streamed body's bytes before the placeholder may have gone (the
# connection to the server is then reset): every other request never left
assert_eq "$(grep '/leak' "$WORLD_DIR/srv-inet.log" | grep -vc '/leak11')" 0 "no other refused request reached a server"
assert_eq "$(icnt leaks_refused_total)" "$leaks" "each refusal counted ($leaks)"
assert_eq "$(icnt_s TOKEN leaks_refused_total)" 1 "... by secret"
assert_eq "$(nlogs "$SB" '.reason == "secret-leak" and .secret == "API_KEY"')" "$((leaks - 1))" "each logged with the secret's name"
assert_eq "$(m logs "$SB" 2>&1 | grep -cF -e "$PH" -e "$PHT")" 0 "... and neither the placeholders nor the value"
# the same probes where they are allowed
assert_eq "$(insb "$C -H \"X-Api-Key: \$API_KEY\" https://api.github.com/auth")" "authorised via header" "the same header to the secret's host is allowed"
assert_match "$(insb "$C https://example.com/fine")" "path: /fine" "a request without a placeholder to the intercepted host passes"

t_begin "bad upstream certificates"
out=$(insb "$C -i https://evilgithub.com/")
assert_match "$out" "X-Moat-Denied: upstream-certificate" "a certificate that does not cover the name: 403 upstream-certificate"
assert_eq "$(icnt upstream_verify_failed_total)" 1 "... counted"
assert_eq "$(nlogs "$SB" '.reason == "upstream-certificate" and (.why | test("mismatch"))')" 1 "... logged with the reason"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$WORLD_DIR/other.key" \
	-out "$WORLD_DIR/other.pem" -days 1 -subj "/CN=not the world CA" >/dev/null 2>&1
if out=$(in_host env MOAT_TEST_TOKEN="$VALUE" MOAT_UPSTREAM_CA="$WORLD_DIR/other.pem" "$MOAT" create "sec2-$S" --policy "$WORLD_DIR/sec.yaml" 2>&1); then
	out=$(m exec "sec2-$S" -- sh -c "$C -i -H \"Authorization: Bearer \$API_KEY\" https://api.github.com/auth" 2>&1)
	assert_match "$out" "X-Moat-Denied: upstream-certificate" "a server whose CA the host does not trust: refused" ||
		echo "# $(m logs "sec2-$S" 2>&1 | grep -v 'dns ' | tail -5; m inspect "sec2-$S" --json | jq -c .supervisor.proxy.intercept)"
	assert_no_match "$out" "authorised" "... and the secret never went to it"
	m rm -f "sec2-$S" >/dev/null 2>&1
else
	not_ok "create a second sandbox" "$out"
fi

t_begin "a name without interception keeps the SNI-only path"
out=$(insb "echo | timeout 5 openssl s_client -servername raw.githubusercontent.com -connect raw.githubusercontent.com:443 2>/dev/null | openssl x509 -noout -fingerprint -sha256")
assert_eq "$out" "$(openssl x509 -in "$WORLD_DIR/server.pem" -noout -fingerprint -sha256)" "the client gets the server's own certificate"
want=$(in_host curl -sS --max-time 10 --cacert "$WORLD_CA" --resolve raw.githubusercontent.com:443:151.101.1.1 "https://raw.githubusercontent.com/bytes/$N" | sha256sum)
assert_eq "$(insb "$C --max-time 10 https://raw.githubusercontent.com/bytes/$N | sha256sum")" "$want" "... and the bytes, untouched"
before=$(icnt connections_total)
insb "$C -H \"X: \$API_KEY\" https://raw.githubusercontent.com/ >/dev/null"
assert_eq "$(icnt connections_total)" "$before" "... not intercepted"

t_begin "a client that does not trust the sandbox's CA"
# the bundle's first certificate: the world CA alone
out=$(insb "sed '/END CERTIFICATE/q' \$SSL_CERT_FILE >/tmp/w.pem; $C --cacert /tmp/w.pem https://api.github.com/auth 2>&1")
assert_no_match "$out" "authorised" "its handshake fails: moat's leaf is not the world's"
assert_ne "$(icnt client_tls_failed_total)" 0 "... counted"

t_begin "plain HTTP: a placeholder in a body is refused as in a head"
l0=$(icnt leaks_refused_total)
# (the one sent inside TLS to a name not intercepted, above, arrived)
a0=$(grep 'placeholder arrived' "$WORLD_DIR/srv-inet.log")
out=$(insb "$C -i --data \"k=\$API_KEY\" http://example.com/leak20")
assert_match "$out" "X-Moat-Denied: secret-leak" "a Content-Length body: 403, X-Moat-Denied: secret-leak"
out=$(insb "printf 'xx%s' \"\$API_KEY\" | $C -i -H 'Transfer-Encoding: chunked' --data-binary @- http://example.com/leak21")
assert_match "$out" "X-Moat-Denied: secret-leak" "a chunked body: refused"
# pl CHUNKED: a request to http://example.com/leak22 on a raw socket, its
# body carrying the placeholder after 14 bytes; Content-Length written 5
# bytes at a time, or chunked with the placeholder split across two chunks
# sent apart; after a first request that passes on the same connection
pl() { insb "python3 - $1 <<'EOF'
import os, socket, sys, time
s = socket.create_connection(('example.com', 80), timeout=5)
s.sendall(b'GET /fine-first HTTP/1.1\r\nHost: example.com\r\n\r\n')
first = s.recv(4096).decode(errors='replace')
ph = os.environ['API_KEY'].encode()
body = b'x' * 14 + ph
if sys.argv[1] == 'chunked':
    s.sendall(b'POST /leak22 HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n')
    a, b = body[:30], body[30:]
    s.sendall(b'%x\r\n%s\r\n' % (len(a), a))
    time.sleep(0.2)
    s.sendall(b'%x\r\n%s\r\n0\r\n\r\n' % (len(b), b))
else:
    req = b'POST /leak22 HTTP/1.1\r\nHost: example.com\r\nContent-Length: %d\r\n\r\n' % len(body) + body
    for i in range(0, len(req), 5):
        s.send(req[i:i + 5])
        time.sleep(0.002)
try:
    print(first.split('\r\n')[0], s.recv(4096).decode(errors='replace'))
except OSError as e:
    print(first.split('\r\n')[0], 'error', e)
EOF"; }
out=$(pl length)
assert_match "$out" "^HTTP/1.1 200" "split across TCP segments, after a first request: the first passes"
assert_match "$out" "X-Moat-Denied: secret-leak" "... the one with the placeholder refused"
out=$(pl chunked)
assert_match "$out" "X-Moat-Denied: secret-leak" "split across two chunks sent apart: refused"
out=$(insb "python3 - <<'EOF'
import os, socket, time
s = socket.create_connection(('example.com', 80), timeout=5)
ph = os.environ['API_KEY'].encode()
s.sendall(b'POST /leak23 HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-T: ' + ph[:20])
time.sleep(0.2)
s.sendall(ph[20:] + b'\r\n\r\n')
print(s.recv(4096).decode(errors='replace'))
EOF")
assert_match "$out" "X-Moat-Denied: secret-leak" "in a chunked body's trailer, split: refused"
assert_eq "$(grep 'placeholder arrived' "$WORLD_DIR/srv-inet.log")" "$a0" "no placeholder reached the server"
assert_eq "$(grep -c '/leak2[01]' "$WORLD_DIR/srv-inet.log")" 0 "... nor the requests whose body was read whole before they went"
assert_eq "$(icnt leaks_refused_total)" "$((l0 + 5))" "each refusal counted"
assert_eq "$(nlogs "$SB" '.reason == "secret-leak" and .secret == "API_KEY" and .proto == "http"')" 6 "each logged with the secret's name (and the head's before)"
# the same bodies without a placeholder pass
assert_match "$(insb "$C --data 'k=hello' http://example.com/fine-body")" "path: /fine-body" "a plain-HTTP body without a placeholder passes (control)"
assert_match "$(insb "printf 'xx%s' hello | $C -H 'Transfer-Encoding: chunked' --data-binary @- http://example.com/fine-chunked")" "path: /fine-chunked" "... chunked too"
assert_match "$(insb "$C --data-binary @/etc/services http://example.com/fine-large")" "path: /fine-large" "... and a body of several reads"

t_begin "the worker's memory stays bounded: many intercepted connections, each with a body held half sent"
# 80 connections each send 1000000 bytes of a 1048576-byte body to the
# secret's host (buffered, to replace in it) and stop there: at most 16
# are taken, the rest refused, and the worker grows by under the
# documented 64 MiB (without the bound: 80 MB of bodies alone, and the
# TLS buffers)
wpid=$(m inspect "$SB" --json | jq -r .supervisor.worker.pid)
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$wpid/status"; }
rss0=$(rss)
ref0=$(icnt refused_total)
insb "python3 - <<'EOF'
import socket, ssl, time
ctx = ssl.create_default_context()
held, refused = [], 0
for i in range(80):
    try:
        s = ctx.wrap_socket(socket.create_connection(('api.github.com', 443), timeout=5), server_hostname='api.github.com')
        s.sendall(b'POST /auth HTTP/1.1\r\nHost: api.github.com\r\nContent-Length: 1048576\r\n\r\n' + b'a' * 1000000)
        held.append(s)
    except (OSError, ssl.SSLError):
        refused += 1
print('held', len(held), 'refused', refused, flush=True)
time.sleep(10)
EOF
" >"$WORLD_DIR/mem.out" 2>&1 &
mempid=$!
wait_for 90 grep -q '^held' "$WORLD_DIR/mem.out"
rss1=$(rss)
assert_match "$(cat "$WORLD_DIR/mem.out")" "^held 16 refused 64" "16 connections taken, the other 64 refused"
# under AddressSanitizer every allocation has redzones and shadow, and
# what is freed waits in a quarantine: three times the bound there (80
# connections held would still pass it by far)
bound=65536
ldd "$MOAT" 2>/dev/null | grep -q libasan && bound=$((3 * bound))
assert_ok -m "the worker grew by under $((bound / 1024)) MiB (VmRSS ${rss0:-?} -> ${rss1:-?} KiB)" test "$((rss1 - rss0))" -lt "$bound"
assert_ne "$(icnt refused_total)" "$ref0" "... the refusals counted"
assert_match "$(m logs "$SB" 2>&1 | grep 'api.github.com' | grep -c 'connection-limit')" "^[1-9]" "... and logged"
wait "$mempid"
assert_eq "$(insb "$C -H \"X-Api-Key: \$API_KEY\" https://api.github.com/auth")" "authorised via header" "once they are gone, a request to the secret's host succeeds (control)"

t_begin "moat run: the caller's variable is not the command's"
out=$(in_host env MOAT_TEST_TOKEN="$VALUE" MOAT_UPSTREAM_CA="$WORLD_CA" "$MOAT" run -q --policy "$WORLD_DIR/sec.yaml" -- sh -c "env; $C https://www.example.com/auth 2>&1" 2>&1)
assert_match "$out" "authorised via bearer" "the secret from moat run's environment reaches its host"
assert_eq "$(grep -cF "$VALUE" <<<"$out")" 0 "the command's environment has only placeholders"

t_begin "metrics"
out=$(m stats "$SB" --prometheus 2>&1)
assert_match "$out" "moat_proxy_intercept_secret_injected_total\\{sandbox=\"$SB\",secret=\"API_KEY\"\\} [1-9]" "Prometheus: injections per secret, the name a label"
assert_match "$out" "moat_proxy_intercept_secret_leaks_refused_total\\{sandbox=\"$SB\",secret=\"API_KEY\"\\} [1-9]" "... leaks refused per secret"
assert_no_match "$out" "API_KEY_|TOKEN_" "... no secret's name in a metric's name"
assert_match "$out" "moat_proxy_intercept_leaks_refused_total" "... leaks refused"
assert_match "$out" "moat_proxy_secret_leak_total" "... among the proxy's reasons"
assert_ok -m "moat stats (text) shows the sandbox" m stats "$SB"
assert_ok -m "moat inspect (text) too" m inspect "$SB"

t_begin "HTTP/2 where the client and the server both speak it"
# an HTTP/2-only server on port 8443 of every INET address
nsenter --net="$INET_NETNS" "$WORLD_PYTHON" "$MOAT_SRCDIR/tests/lib/worldsrv.py" --ready "$WORLD_DIR/ready-h2" \
	--cert "$WORLD_DIR/server.pem" --key "$WORLD_DIR/server.key" "h2s:0.0.0.0:8443:INET {addr}" \
	>"$WORLD_DIR/srv-h2.log" 2>&1 &
h2pid=$!
world_on_destroy kill "$h2pid"
wait_for 5 test -e "$WORLD_DIR/ready-h2" || not_ok "the HTTP/2 server starts" "$(cat "$WORLD_DIR/srv-h2.log")"
H2="$C --http2 -w '%{http_version}'"
# v WHERE VERSION: what /auth answers, then the HTTP version curl used
v() { printf 'authorised via %s\n%s' "$1" "$2"; }
assert_eq "$(insb "$H2 -H \"Authorization: Bearer \$API_KEY\" https://api.github.com:8443/auth")" "$(v bearer 2)" "curl over HTTP/2: the secret put into a header"
assert_eq "$(insb "$H2 -u \"me:\$API_KEY\" https://api.github.com:8443/auth")" "$(v basic 2)" "... Basic credentials"
assert_eq "$(insb "$H2 \"https://api.github.com:8443/auth?key=\$API_KEY\"")" "$(v query 2)" "... the query"
assert_eq "$(insb "$H2 --data \"key=\$API_KEY\" https://api.github.com:8443/auth")" "$(v body 2)" "... a body"
out=$(insb "$C --http2 -i -H \"X-Api-Key: \$API_KEY\" https://example.com:8443/leak-h2a")
assert_match "$out" "HTTP/2 403" "a placeholder to another host over HTTP/2: 403"
assert_match "$out" "x-moat-denied: secret-leak" "... x-moat-denied: secret-leak"
out=$(insb "$C --http2 -i --data \"k=\$API_KEY\" https://example.com:8443/leak-h2b")
assert_match "$out" "x-moat-denied: secret-leak" "... in a body too"
out=$(insb "$C --http2 -i \"https://example.com:8443/leak-h2c?k=\$API_KEY\" https://example.com:8443/fine-h2")
assert_match "$out" "path: /fine-h2" "... the connection's other requests go on"
assert_eq "$(grep -c 'placeholder arrived' "$WORLD_DIR/srv-h2.log")" 0 "no placeholder reached the HTTP/2 server"
assert_eq "$(insb "$H2 -H \"X-Api-Key: \$API_KEY\" https://api.github.com/auth")" "$(v header 1.1)" "a server of HTTP/1.1 only: the client is given HTTP/1.1"

t_begin "moat update cannot change the secrets"
sed 's/hosts: \[api.github.com\]/hosts: [api.github.com, github.com]/' "$WORLD_DIR/sec.yaml" >"$WORLD_DIR/sec-changed.yaml"
out=$(m update "$SB" --policy "$WORLD_DIR/sec-changed.yaml" 2>&1)
rc=$?
assert_ne "$rc" 0 "an update that changes a secret's hosts is refused"
assert_match "$out" "secrets and intercept: cannot change on a running sandbox" "... saying why"
assert_eq "$(insb "$C -H \"X-Api-Key: \$API_KEY\" https://api.github.com/auth")" "authorised via header" "... and the secret works as before"

t_begin "moat adopt keeps the CA and the placeholders"
fp=$(openssl x509 -in "$SD/ca.pem" -noout -fingerprint -sha256)
pid=$(m inspect "$SB" --json | jq -r .supervisor_pid)
kill -9 "$pid"
wait_for 2 proc_gone "$pid"
out=$(in_host env MOAT_TEST_TOKEN="$VALUE" MOAT_UPSTREAM_CA="$WORLD_CA" "$MOAT" adopt "$SB" 2>&1)
assert_eq "$out" "$SB" "moat adopt, with the variable in its environment"
assert_eq "$(openssl x509 -in "$SD/ca.pem" -noout -fingerprint -sha256)" "$fp" "the same CA"
assert_eq "$(insb 'echo $API_KEY')" "$PH" "the same placeholder"
assert_eq "$(insb "$C -H \"X-Api-Key: \$API_KEY\" https://api.github.com/auth")" "authorised via header" "the secret is put in again"
assert_eq "$(insb "$C https://www.example.com/auth")" "authorised via bearer" "... the one from adopt's environment too"
pid=$(m inspect "$SB" --json | jq -r .supervisor_pid)
kill -9 "$pid"
wait_for 2 proc_gone "$pid"
out=$(in_host env -u MOAT_TEST_TOKEN MOAT_UPSTREAM_CA="$WORLD_CA" "$MOAT" adopt "$SB" 2>&1)
assert_match "$out" "secret TOKEN: the variable MOAT_TEST_TOKEN is not set" "without the variable, adopt fails and says which"
assert_eq "$(grep -cF "$VALUE" <<<"$out")" 0 "... never with a value"
out=$(in_host env MOAT_TEST_TOKEN="$VALUE" MOAT_UPSTREAM_CA="$WORLD_CA" "$MOAT" adopt "$SB" 2>&1)
assert_eq "$out" "$SB" "with it, adopt succeeds"

# any connection given up (a handshake that never ended) is a bug here
assert_eq "$(m logs "$SB" 2>&1 | grep 'timeout')" "" "no intercepted connection timed out"
t_end
