#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_proxy_slow_connect.sh - a proxied client that keeps sending while
# the proxy's onward connection is still being made: the proxy has read
# (sniffed) the request head and is connecting, the client sends its body
# meanwhile, and half-closes. The relay asks nothing of the client's side
# until its bytes may move (they wait for the connect and for the sniffed
# head to be written first); then every byte arrives, in order, and the
# answer comes back. INET drops the first SYN of every connection to port
# 80, so each onward connect takes a SYN retransmission (about a second);
# a request made first with no drop is the control. Nothing is timed.
#
#   [sandbox] --tcp 80, redirected--> [HOST: proxy :15001]
#        client: head, then body while          |  connect: first SYN
#        the proxy connects, then FIN           |  dropped by INET
#                                               v
#                              [INET 93.184.216.34:80 http, answers with
#                               the body's length and SHA-256]
# shellcheck source=../lib/preamble.sh
. "$(dirname "$0")/../lib/preamble.sh"

t_world conntrack nat

cat >"$WORLD_DIR/sc.yaml" <<'EOF'
version: 1
egress:
  default: deny
  rules:
    - allow: 93.184.216.34
      ports: [80]
      protocol: tcp
EOF
if ! out=$(in_host env MOAT_PROXY=all "$MOAT" create "sc-$S" --policy "$WORLD_DIR/sc.yaml" 2>&1); then
	not_ok "create a sandbox with MOAT_PROXY=all" "$out"
	t_end
	exit
fi
D=moat-sc-$S
assert_eq "$(proxy_counter sc enabled)" 1 "the supervisor runs the proxy"

# client.py N WAIT [--fin] [--chunked]: POST /up with an N-byte body (a
# fixed pseudo-random pattern): the head, then WAIT seconds, then the
# body, then (--fin) shutdown(SHUT_WR); prints "SECONDS SHA256-OF-BODY"
# (the seconds for a person reading the log), then the response
cat >"$WORLD_DIR/client.py" <<'EOF'
import hashlib, random, socket, sys, time
n, wait = int(sys.argv[1]), float(sys.argv[2])
fin, chunked = "--fin" in sys.argv, "--chunked" in sys.argv
body = random.Random(16).randbytes(n)
head = b"POST /up HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n"
head += b"Transfer-Encoding: chunked\r\n\r\n" if chunked else b"Content-Length: %d\r\n\r\n" % n
t0 = time.monotonic()
s = socket.create_connection(("93.184.216.34", 80), timeout=15)
s.sendall(head)
time.sleep(wait)
if chunked:
    for i in range(0, n, 70000):
        part = body[i:i + 70000]
        s.sendall(b"%x\r\n" % len(part) + part + b"\r\n")
    s.sendall(b"0\r\n\r\n")
else:
    s.sendall(body)
if fin:
    s.shutdown(socket.SHUT_WR)
resp = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    resp += d
print("%.2f %s" % (time.monotonic() - t0, hashlib.sha256(body).hexdigest()))
sys.stdout.write(resp.decode("latin-1"))
EOF

# post LABEL N [ARGS]: one request; checks that the server got the body
# whole and that its answer came back
post() {
	local label=$1 n=$2 out sum
	shift 2
	out=$(in_ns "$D" python3 "$WORLD_DIR/client.py" "$n" 0.3 "$@" 2>&1)
	read -r _ sum <<<"$(head -1 <<<"$out")"
	assert_match "$out" "body: $n $sum" "$label: the server got the $n-byte body whole"
	assert_match "$out" "HTTP/1.1 200" "$label: ... and its answer came back"
}
proxy_active() { m inspect "sc-$S" --json | jq -r .supervisor.publish.active; }

t_begin "control: a connect that is not delayed"
post "no delay" 3000000 --fin

t_begin "the client's body and FIN come while the proxy connects"
# every other SYN to port 80 dropped: each connection's first, the next
# retransmitted after a second
in_inet nft -f - <<'EOF'
table inet slow {
	chain in {
		type filter hook input priority -10; policy accept;
		ip daddr 93.184.216.34 tcp dport 80 tcp flags & (syn | ack) == syn numgen inc mod 2 == 0 counter drop
	}
}
EOF
drops() { in_inet nft list chain inet slow in | sed -n 's/.*packets \([0-9]*\).*/\1/p'; }
post "Content-Length body, then FIN" 3000000 --fin
# the body was sent 0.3 s after the head; the connect waited for a SYN
# retransmission (a second at least): it was sent while connecting
assert_eq "$(drops)" 1 "... while the onward connect waited for a SYN retransmission"
post "chunked body, then FIN" 1000000 --fin --chunked
post "Content-Length body, no FIN" 500000
assert_eq "$(drops)" 3 "each of the three connections lost its first SYN"
assert_eq "$(proxy_counter sc allowed_address_total)" 4 "four connections allowed by the address rules"
assert_eq "$(wait_eq 5 0 proxy_active)" 0 "every relayed connection closed"

in_inet nft delete table inet slow
t_end
