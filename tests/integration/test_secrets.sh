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
      ports: [443]
    - allow: "*.example.com"
      ports: [80, 443]
    - allow: example.com
      ports: [80, 443]
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
insb() { m exec "$SB" -- sh -c "$1" 2>&1; }

out=$(insb 'echo "key=$API_KEY token=$TOKEN ssl=$SSL_CERT_FILE req=$REQUESTS_CA_BUNDLE"')
echo "DEBUG: $out"
out=$(insb 'curl -sS --max-time 5 -H "Authorization: Bearer $API_KEY" https://api.github.com/auth')
echo "DEBUG curl: $out"
m logs "$SB" | tail -5
m inspect "$SB" --json | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["supervisor"]["proxy"].get("intercept")))'
t_end
