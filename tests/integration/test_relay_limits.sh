#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_relay_limits.sh - what one sandbox's relays can make the host hold:
# proxied connections to a server that never reads, written to as fast as
# the sandbox can, stay within the documented bound of host socket memory
# per connection; and the proxy and published ports have separate budgets
# of limits.connections: a sandbox holding every proxy slot still gets its
# published port. Attacks from root in the sandbox, with positive controls.
#
#   [sandbox] --tcp 8081--> [HOST: proxy :15001] --> INET 140.82.112.3:8081
#                                                    (accepts, never reads)
#   [HOST] 127.0.0.1:18080 --published--> [sandbox] :8080
# shellcheck source=../lib/preamble.sh
. "$(dirname "$0")/../lib/preamble.sh"
PY=$WORLD_PYTHON

t_world conntrack nat

N=4				# limits.connections
PER_CONN=$((4 * 2 * 131072))	# FWD_CONN_MEM_MAX's socket part (fwd.h)

# a server that accepts and never reads, at github.com's address (killed
# with the world: it runs in its namespace)
in_inet "$PY" -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("140.82.112.3", 8081)); s.listen(64)
held = []
while True:
    c, _ = s.accept(); held.append(c)
' >/dev/null 2>&1 &
world_wait_listen inet tcp 8081 140.82.112.3 5 || { not_ok "the never-reading server listens"; t_end; }

cat >"$WORLD_DIR/policy.yaml" <<EOF
version: 1
egress:
  default: deny
  rules:
    - allow: github.com
      ports: [80, 8081]
limits:
  connections: $N
ingress:
  publish:
    - "127.0.0.1:18080:8080"
    - "127.0.0.1:18082:8082"
EOF
if ! out=$(m create "rl-$S" --policy "$WORLD_DIR/policy.yaml" 2>&1); then
	not_ok "create the sandbox" "$out"
	t_end
fi
D=moat-rl-$S
assert_eq "$(probe_dns "$D" 8.8.8.8 github.com)" 140.82.112.3 "github.com resolves (and is pinned)"
# the sandbox's own service behind the published port
in_ns "$D" socat TCP-LISTEN:8080,fork,reuseaddr SYSTEM:'echo SB-8080' >/dev/null 2>&1 &
world_wait_listen "$D" tcp 8080 "" 5 || not_ok "the sandbox's service listens"

# hostmem: bytes the host namespace's TCP sockets hold (receive queues and
# send queues, as the kernel charges them: ss -m's r and w)
hostmem() {
	in_host ss -tmnH | "$PY" -c '
import re, sys
print(sum(int(r) + int(w) for r, w in re.findall(r"skmem:\(r(\d+),rb\d+,t\d+,tb\d+,f\d+,w(\d+)", sys.stdin.read())))'
}

t_begin "control: published port and proxy work"
assert_eq "$(in_host timeout 5 socat -T2 - TCP:127.0.0.1:18080 </dev/null 2>&1)" SB-8080 \
	"control: the published port reaches the sandbox's service"
assert_match "$(probe_http "$D" http://github.com/)" "host: github.com" "control: the proxy passes github.com"

t_begin "throughput with bounded buffers (measured, not judged)"
# 64 MiB through the proxy and through the published port
t0=$(date +%s.%N)
n=$(probe_http "$D" http://github.com/bytes/67108864 --max-time 60 | wc -c)
t1=$(date +%s.%N)
assert_eq "$n" 67108864 "control: a proxied 64 MiB download arrives whole"
echo "# proxied: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f MB/s", 67.108864 / (b - a) }')"
in_ns "$D" sh -c 'head -c 67108864 /dev/zero | socat -u - TCP-LISTEN:8082,reuseaddr' >/dev/null 2>&1 &
world_wait_listen "$D" tcp 8082 "" 5
t0=$(date +%s.%N)
n=$(in_host timeout 60 socat -u TCP:127.0.0.1:18082 - | wc -c)
t1=$(date +%s.%N)
assert_eq "$n" 67108864 "control: 64 MiB through the published port arrive whole"
echo "# published: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f MB/s", 67.108864 / (b - a) }')"

t_begin "a sandbox floods $N proxied connections to a server that never reads"
base=$(hostmem)
acc0=$(proxy_counter rl accepted_total)
# root in the sandbox: N connections, each written to until the kernel
# takes nothing more for 2 s; then they are held open (the script waits)
in_ns "$D" "$PY" -c '
import socket, sys, time, select
n, out = int(sys.argv[1]), sys.argv[2]
cs = []
for i in range(n):
    c = socket.create_connection(("140.82.112.3", 8081), timeout=5)
    c.setblocking(False); cs.append(c)
buf = b"\0" * 65536
sent = [0] * n
last = time.time()
while time.time() - last < 2 and time.time() - last < 60:
    for i, c in enumerate(cs):
        try:
            k = c.send(buf)
            if k: sent[i] += k; last = time.time()
        except BlockingIOError:
            pass
    time.sleep(0.001)
open(out, "w").write(" ".join(map(str, sent)) + "\n")
time.sleep(120)
' "$N" "$WORLD_DIR/sent" >/dev/null 2>"$WORLD_DIR/flood.err" &
flood=$!
wait_for 20 test -s "$WORLD_DIR/sent"
used=$(( $(hostmem) - base ))
sent=$(cat "$WORLD_DIR/sent" 2>/dev/null)
echo "# sent per connection: $sent; host socket memory: $used bytes ($((used / N)) per connection, bound $PER_CONN)"
min=$(tr ' ' '\n' <<<"${sent:-0}" | sort -n | head -1)
check "control: every connection carried bytes (more than 128 KiB)" test "${min:-0}" -gt 131072
assert_eq "$(( $(proxy_counter rl accepted_total) - acc0 ))" "$N" "control: the $N connections went through the proxy"
check "host socket memory stays within $N x $PER_CONN bytes (got $used)" test "$used" -le $((N * PER_CONN))

t_begin "separate budgets: the proxy's slots are all held"
out=$(in_ns "$D" timeout 5 socat -T2 - TCP:140.82.112.3:8081 </dev/null 2>&1)
assert_eq "$(proxy_counter rl connection_limit_total)" 1 "a proxied connection beyond limits.connections is refused"
assert_eq "$(in_host timeout 5 socat -T2 - TCP:127.0.0.1:18080 </dev/null 2>&1)" SB-8080 \
	"the published port still accepts"
kill "$flood" 2>/dev/null
wait "$flood" 2>/dev/null

t_end
