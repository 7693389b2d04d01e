#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_dns.sh - the DNS interceptor (I4) and domain rules (SPEC §5):
# every DNS message a sandbox sends, to any address, UDP or TCP, is
# answered by its supervisor; names are decided on before anything is
# forwarded; answers are checked whole for rebinding; a domain allow rule
# opens only the addresses answered to this sandbox, pinned before the
# answer is released. dnsmasq in INET is the real upstream; its query log
# shows what was forwarded.
#
#   [sandboxes] --moatN-- [HOST: moat, the interceptors] -- [LAN] -- [INET: dnsmasq]
#
# It takes twenty seconds or more (a TTL expires, 500 lookups, a flood):
# tests/run-integration.sh starts it before the others.
# moat-test: long
# shellcheck source=../lib/preamble.sh
. "$(dirname "$0")/../lib/preamble.sh"

t_world
# world.sh exports MOAT_RESOLV_CONF: the interceptors' upstreams are the
# world's resolvers (8.8.8.8, 1.1.1.1 in INET)
P=$WORLD_DIR

# dnsctr NAME KEY: a counter of the sandbox's interceptor
dnsctr() { m stats "$1-$S" --json | jq -r ".sandboxes[0].supervisor.dns.$2"; }
# pinned SET ADDR: 0 iff ADDR is in the sandbox's pin set SET
pinned() { in_host nft list set inet moat "$1" | grep -q "$2 "; }
# forwarded NAME: 0 iff dnsmasq's log shows a query for NAME
forwarded() { grep -q "query\[[A-Z]*\] $1 " "$WORLD_DNSMASQ_LOG"; }

t_begin "interception: any address, UDP and TCP"
cat >"$P/pub.yaml" <<'EOF'
version: 1
dns:
  records: {db.internal: 10.0.0.5}
  block: ["*.tracker.example"]
EOF
sandbox pub --policy "$P/pub.yaml"
N=moat-pub-$S
assert_eq "$(probe_dns "$N" 8.8.8.8 example.com)" 93.184.216.34 "dig @8.8.8.8 example.com answered"
assert_eq "$(probe_dns "$N" 8.8.8.8 example.com A +tcp)" 93.184.216.34 "dig +tcp @8.8.8.8 answered"
# dnsmasq knows nothing of db.internal: only moat can answer it
assert_eq "$(probe_dns "$N" 9.9.9.9 db.internal)" 10.0.0.5 "dns.records answered by moat, whatever server is asked"
assert_eq "$(probe_dns "$N" 192.0.2.1 db.internal A +tcp)" 10.0.0.5 "a server that does not exist answers too (redirected, tcp)"
assert_eq "$(probe_dns "$N" 8.8.8.8 db.internal AAAA)" "" "dns.records: no AAAA for an IPv4 record"
assert_eq "$(dns_rcode "$N" 8.8.8.8 x.tracker.example)" NXDOMAIN "dns.block: NXDOMAIN"
assert_match "$(in_ns "$N" dig +time=2 +tries=1 @8.8.8.8 x.tracker.example 2>&1)" "EDE: 15" "dns.block carries an Extended DNS Error"
assert_fail -m "x.tracker.example was not forwarded" forwarded "x.tracker.example"
# not a valid host name: no pattern can match it, so none could block it;
# refused whatever the default (public here), never forwarded
assert_eq "$(dns_rcode "$N" 8.8.8.8 x.-y.tracker.example)" NXDOMAIN \
	"a name that is no host name (a label starting with '-'): NXDOMAIN"
assert_fail -m "... and it was not forwarded" forwarded "x.-y.tracker.example"
assert_match "$(dnsctr pub blocked_invalid_name_total)" "^[1-9]" "blocked_invalid_name_total counts"
assert_fail -m "DoT (853/tcp) stays dropped" probe_tcp "$N" 8.8.8.8 853
assert_eq "$(probe_dns "$N" 8.8.8.8 txt.example TXT)" '"moat-world-txt"' "other types pass"
assert_eq "$(dns_rcode "$N" 8.8.8.8 https-rr.example HTTPS)" NOERROR "HTTPS records: NOERROR"
assert_eq "$(probe_dns "$N" 8.8.8.8 https-rr.example HTTPS)" "" "... with an empty answer"
n=$(probe_dns "$N" 8.8.8.8 big.example | wc -l)
assert_eq "$n" 100 "a truncated answer is retried over TCP and complete (100 A)"
assert_match "$(dnsctr pub forwarded_total)" "^[1-9][0-9]*$" "forwarded_total counts"
assert_match "$(dnsctr pub blocked_blocklist_total)" "^[1-9]" "blocked_blocklist_total counts"
out=$(m run --policy "$P/pub.yaml" -- sh -c 'cat /etc/resolv.conf; getent hosts db.internal' 2>&1)
assert_match "$out" "nameserver 10\." "moat run: resolv.conf names the gateway"
assert_match "$out" "10\.0\.0\.5 +db\.internal" "moat run: the libc resolver reaches the interceptor"

# two queries pipelined on one TCP connection, answered both (RFC 7766)
out=$(in_ns "$N" python3 - <<'EOF2' 2>&1
import socket, struct
def q(i, name):
    n = b''.join(bytes([len(l)]) + l for l in name.encode().split(b'.')) + b'\0'
    m = struct.pack('>HHHHHH', i, 0x0100, 1, 0, 0, 0) + n + b'\0\1\0\1'
    return struct.pack('>H', len(m)) + m
s = socket.create_connection(('8.8.8.8', 53), timeout=3)
s.sendall(q(1, 'example.com') + q(2, 'db.internal'))
f = s.makefile('rb')
ids = []
for _ in range(2):
    ln = struct.unpack('>H', f.read(2))[0]
    m = f.read(ln)
    ids.append(struct.unpack('>H', m[:2])[0])
print(sorted(ids))
EOF2
)
assert_eq "$out" "[1, 2]" "two queries pipelined on one TCP connection: both answered"
# UDP queries come in batches (several per read): a burst of 40 is answered
# whole, each under its own ID; a query padded (EDNS padding) to 4000
# bytes is answered, one of 5000 bytes is none (over 4096: counted
# malformed, no answer)
m0=$(dnsctr pub malformed_total)
out=$(in_ns "$N" python3 - <<'EOF2' 2>&1
import socket, struct
def q(i, name, size=0):
    n = b''.join(bytes([len(l)]) + l for l in name.encode().split(b'.')) + b'\0'
    m = struct.pack('>HHHHHH', i, 0x0100, 1, 0, 0, 1 if size else 0) + n + b'\0\1\0\1'
    if size:	# OPT with a padding option filling the query to size
        pad = size - len(m) - 11 - 4
        m += b'\0' + struct.pack('>HHIH', 41, 4096, 0, 4 + pad) + struct.pack('>HH', 12, pad) + bytes(pad)
    return m
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.connect(('8.8.8.8', 53))
for i in range(40):
    s.send(q(100 + i, 'example.com'))
ids = set()
try:
    while len(ids) < 40:
        ids.add(struct.unpack('>H', s.recv(4096)[:2])[0])
except socket.timeout:
    pass
print("burst", len(ids), ids == set(range(100, 140)))
for i, size in ((1, 4000), (2, 5000)):
    s.send(q(i, 'example.com', size))
    try:
        print(size, struct.unpack('>H', s.recv(4096)[:2])[0])
    except socket.timeout:
        print(size, "none")
EOF2
)
assert_match "$out" "burst 40 True" "a burst of 40 UDP queries: every one answered, under its own ID"
assert_match "$out" "4000 1" "a query padded to 4000 bytes is answered"
assert_match "$out" "5000 none" "a 5000-byte query gets no answer"
assert_eq "$(dnsctr pub malformed_total)" "$((m0 + 1))" "... and is counted malformed"
# the host's resolv.conf naming a loopback resolver (systemd-resolved's
# 127.0.0.53): the interceptor runs in the host's namespace and reaches it
in_host dnsmasq --no-resolv --no-hosts --server=8.8.8.8 --listen-address=127.0.0.53 \
	--bind-interfaces --port=53 --pid-file="$P/lo-dnsmasq.pid" --log-facility=- >/dev/null 2>&1
world_on_destroy sh -c "kill \$(cat '$P/lo-dnsmasq.pid' 2>/dev/null) 2>/dev/null" || true
echo "nameserver 127.0.0.53" >"$P/resolv-lo.conf"
if out=$(in_host env MOAT_RESOLV_CONF="$P/resolv-lo.conf" "$MOAT" create "lo-$S" 2>&1); then
	assert_eq "$(probe_dns "moat-lo-$S" 8.8.8.8 example.com)" 93.184.216.34 "a loopback resolver in the host's resolv.conf answers through the interceptor"
	out=$(in_host env MOAT_RESOLV_CONF="$P/resolv-lo.conf" "$MOAT" run -- sh -c 'cat /etc/resolv.conf; getent ahostsv4 example.com | head -n1' 2>&1)
	assert_match "$out" "nameserver 10\." "... and moat run's resolv.conf names the gateway, not 127.0.0.53"
	assert_match "$out" "93\.184\.216\.34 +STREAM example\.com" "... where the libc resolver gets its answer"
else
	not_ok "create with a loopback resolv.conf" "$out"
fi

t_begin "rebind protection"
for n in rebind-private rebind-loopback rebind-ll rebind-meta rebind-cgn rebind-zero rebind-mixed cname-private; do
	assert_eq "$(dns_rcode "$N" 8.8.8.8 $n.example)" NXDOMAIN "$n.example (A) is NXDOMAIN"
done
for n in rebind-mapped rebind-ula; do
	assert_eq "$(dns_rcode "$N" 8.8.8.8 $n.example AAAA)" NXDOMAIN "$n.example (AAAA) is NXDOMAIN"
done
assert_match "$(in_ns "$N" dig +time=2 +tries=1 @8.8.8.8 rebind-mixed.example 2>&1)" "rebind protection: 10.0.0.5 is private" "the EDE says why"
assert_eq "$(probe_dns "$N" 8.8.8.8 cname-public.example | tail -n1)" 93.184.216.34 "a CNAME to a public name passes"
assert_match "$(dnsctr pub blocked_rebind_total)" "^[1-9]" "blocked_rebind_total counts"
sandbox lan --allow 192.168.77.10
assert_eq "$(probe_dns "moat-lan-$S" 8.8.8.8 rebind-private.example)" 192.168.77.10 "an explicit address allow lets its name resolve"
assert_eq "$(dns_rcode "moat-lan-$S" 8.8.8.8 rebind-meta.example)" NXDOMAIN "... and nothing else private"
sandbox norebind --no-rebind-protection
assert_eq "$(probe_dns "moat-norebind-$S" 8.8.8.8 rebind-private.example)" 192.168.77.10 "--no-rebind-protection passes private answers"

t_begin "allowlist: domain rules, pinning, nothing else forwarded"
cat >"$P/gh.yaml" <<'EOF'
version: 1
egress:
  default: deny
  rules:
    - deny: evil.github.com
    - allow: github.com
      ports: [443]
    - allow: "*.githubusercontent.com"
      ports: [443]
EOF
sandbox gh --policy "$P/gh.yaml"
sandbox gh2 --policy "$P/gh.yaml"
G=moat-gh-$S G2=moat-gh2-$S
assert_fail -m "before any lookup, github.com's address is closed" probe_http "$G" https://github.com/ --resolve github.com:443:140.82.112.3
assert_eq "$(probe_dns "$G" 8.8.8.8 github.com)" 140.82.112.3 "github.com resolves"
assert_ok -m "after the lookup, github.com:443 opens" probe_http "$G" https://github.com/ --resolve github.com:443:140.82.112.3
assert_fail -m "... but not another port of the same address" probe_tcp "$G" 140.82.112.3 22
assert_fail -m "pins are per sandbox: the other sandbox stays closed" probe_http "$G2" https://github.com/ --resolve github.com:443:140.82.112.3
assert_eq "$(probe_dns "$G" 8.8.8.8 raw.githubusercontent.com)" 151.101.1.1 "a wildcard rule resolves a subdomain"
assert_ok -m "and opens its address" probe_http "$G" https://raw.githubusercontent.com/ --resolve raw.githubusercontent.com:443:151.101.1.1
for n in example.com evilgithub.com github.com.evil.net api.github.com "nx-$S.example" evil.github.com; do
	assert_eq "$(dns_rcode "$G" 8.8.8.8 "$n")" NXDOMAIN "$n: NXDOMAIN (whole labels, first match)"
done
assert_fail -m "names no rule allows never reach the upstream" forwarded "nx-$S.example"
assert_fail -m "... not even over TCP" sh -c "dns_rcode '$G' 1.1.1.1 nx2-$S.example A +tcp >/dev/null; grep -q 'nx2-$S.example' '$WORLD_DNSMASQ_LOG'"
assert_fail -m "an address nobody resolved stays closed" probe_tcp "$G" 93.184.216.34 443
assert_match "$(dnsctr gh pinned_total)" "^[1-9]" "pinned_total counts"
p0=$(dnsctr gh pinned_total)
assert_eq "$(probe_dns "$G" 8.8.8.8 github.com)" 140.82.112.3 "github.com resolved again"
assert_eq "$(dnsctr gh pinned_total)" "$p0" "... its fresh pin is not renewed (no kernel transaction)"
assert_match "$(dnsctr gh pins_still_fresh_total)" "^[1-9]" "... counted as pins_still_fresh_total"
assert_match "$(dnsctr gh pin_latency_seconds.samples)" "^[1-9]" "the time from upstream answer to pin is measured"
assert_eq "$(m stats "gh-$S" --json | jq '.sandboxes[0].supervisor.dns.pin_latency_seconds | .p50 <= .p99 and .p99 <= .max and .p50 > 0 and .max < 10')" true "... p50 <= p99 <= max, in seconds"
assert_match "$(dnsctr gh blocked_default_deny_total)" "^[1-9]" "blocked_default_deny_total counts"
assert_match "$(dnsctr gh blocked_rule_total)" "^[1-9]" "blocked_rule_total counts (deny rule)"
assert_match "$(m logs "gh-$S" --json | jq -r '.[] | select(.kind == "dns") | .reason' | sort -u | tr '\n' ' ')" "default:deny" "DNS decisions are logged"

t_begin "pin, then connect at once, 500 times with a 1-2 s TTL"
cat >"$P/short.yaml" <<'EOF'
version: 1
egress:
  default: deny
  rules:
    - allow: short-ttl.example
      ports: [80]
dns:
  ttl: {min: 1, max: 2}
EOF
out=$(m run --policy "$P/short.yaml" -- sh -c 'f=0; for i in $(seq 500); do curl -s -o /dev/null --max-time 2 http://short-ttl.example/ || f=$((f+1)); done; echo "failures=$f"' 2>&1)
assert_eq "$out" "failures=0" "500 lookups each followed by a connection (through the proxy, port 80): no failure"

t_begin "TTL expiry closes new connections, not established ones"
cat >"$P/ttl.yaml" <<'EOF2'
version: 1
egress:
  default: deny
  rules:
    - allow: short-ttl.example
      ports: [9999]
      protocol: tcp
dns:
  ttl: {min: 1, max: 2}
EOF2
sandbox ttl --policy "$P/ttl.yaml"
T=moat-ttl-$S
IF=$(m inspect "ttl-$S" --json | jq -r .host_interface)
assert_eq "$(probe_dns "$T" 8.8.8.8 short-ttl.example)" 93.184.216.34 "short-ttl.example resolves"
assert_match "$(in_host nft list set inet moat "${IF}_d1_4")" "93\.184\.216\.34 timeout" "its address is pinned in the rule's set, with a timeout"
# expires_ms SET ADDR: milliseconds before ADDR's pin expires
expires_ms() {
	in_host nft list set inet moat "$1" | tr ',' '\n' | grep -F "$2 " |
		sed -n 's/.*expires \([0-9hms]*\).*/\1/p' |
		awk '{ t = 0; s = $1
			while (match(s, /^[0-9]+(ms|h|m|s)/)) {
				v = substr(s, 1, RLENGTH); s = substr(s, RLENGTH + 1)
				n = v + 0; u = v; sub(/^[0-9]+/, "", u)
				t += n * (u == "ms" ? 1 : u == "s" ? 1000 : u == "m" ? 60000 : 3600000)
			}
			print t }'
}
# time passing is the point: most of the 2 s pin gone, a new answer must
# renew it
sleep 1.2
assert_eq "$(probe_dns "$T" 8.8.8.8 short-ttl.example)" 93.184.216.34 "resolved again"
e=$(expires_ms "${IF}_d1_4" 93.184.216.34)
if [ "${e:-0}" -gt 1500 ]; then ok "a new answer renews the pin's timeout (expires in ${e} ms)"
else not_ok "a new answer renews the pin's timeout" "expires in ${e:-?} ms"; fi
mkfifo "$P/go"
in_ns "$T" bash -c 'exec 3<>/dev/tcp/93.184.216.34/9999 || exit 1
	read -r -t 2 tok <&3 || exit 1
	read -r _ <"$1"
	echo still-here >&3
	read -r -t 2 l <&3 && echo "$l"' _ "$P/go" >"$P/est.out" 2>&1 &
est=$!
# the pin lives 2 s at most; wait for the kernel to expire it
wait_for 6 eval '! pinned "${IF}_d1_4" 93.184.216.34'
assert_fail -m "the pin expired" pinned "${IF}_d1_4" 93.184.216.34
assert_fail -m "after expiry, a new connection is closed" probe_tcp "$T" 93.184.216.34 9999
# (the reader may have died: never block on the fifo)
timeout 5 sh -c 'echo go >"$1"' _ "$P/go"
wait "$est"
assert_eq "$(cat "$P/est.out")" still-here "the connection made before expiry still works"

t_begin "six resolvers at once in one sandbox"
sandbox six
# six threads, each 40 lookups as a C library makes them: one socket per
# lookup, its A and AAAA queries sent back to back, both answers awaited
# (480 messages: within the flows pace's burst of 1024); every lookup must
# get both answers, the A one the right address, whatever upstream
# sockets the interceptor reuses between them
out=$(in_ns "moat-six-$S" python3 - <<'EOF2' 2>&1
import random, socket, struct, threading
bad = []
def lookup(name):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    ids = {}
    for t in (1, 28):
        i = random.getrandbits(16)
        ids[i] = t
        q = b''.join(bytes([len(l)]) + l.encode() for l in name.split('.')) + b'\0'
        s.sendto(struct.pack('>HHHHHH', i, 0x0100, 1, 0, 0, 0) + q + struct.pack('>HH', t, 1), ('8.8.8.8', 53))
    got = {}
    try:
        while len(got) < 2:
            d = s.recv(4096)
            i = struct.unpack('>H', d[:2])[0]
            if i in ids:
                got[ids[i]] = d
    except socket.timeout:
        return 'timeout'
    finally:
        s.close()
    if any(d[3] & 15 for d in got.values()):
        return 'rcode'
    if socket.inet_aton('93.184.216.34') not in got[1]:
        return 'wrong A'
    return None
def run():
    for _ in range(40):
        r = lookup('example.com')
        if r:
            bad.append(r)
th = [threading.Thread(target=run) for _ in range(6)]
for t in th:
    t.start()
for t in th:
    t.join()
print('failed %d: %s' % (len(bad), sorted(set(bad))))
EOF2
)
assert_eq "$out" "failed 0: []" "240 lookups (A and AAAA) by six threads at once: all answered"
assert_eq "$(dnsctr six upstream_timeout_total)" 0 "... none waited for a lost upstream answer"
fw=$(dnsctr six forwarded_total) us=$(dnsctr six upstream_sockets_total)
if [ "${us:-0}" -ge 1 ] && [ "$((us * 2))" -le "${fw:-0}" ]; then
	ok "... upstream sockets reused: $us for $fw forwarded queries"
else
	not_ok "... upstream sockets reused" "$us sockets for $fw forwarded queries"
fi

t_begin "a flood from one sandbox; another still resolves"
# the bound tested here is the interceptor's (256 queries waiting): the
# flooding sandbox's DNS message pace (limits.flows) is raised out of the
# way, so that a slow round (ASan, a loaded machine) may be flooded again
printf 'version: 1\nlimits:\n  flows: 4096\n' >"$P/flood.yaml"
sandbox flood --dns-upstream 192.0.2.53 --policy "$P/flood.yaml"
sandbox calm
# flood ROUND: 600 queries for names nobody answers (the upstream is down),
# in bursts the kernel's socket buffer can hold, well within the 2 s the
# interceptor waits for an upstream
flood() {
	in_ns "moat-flood-$S" python3 - "$1" <<'EOF2' >/dev/null 2>&1
import socket, struct, sys, time
r = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(600):
    name = b''.join(bytes([len(l)]) + l for l in (b'f%d-%d' % (r, i), b'example')) + b'\0'
    s.sendto(struct.pack('>HHHHHH', i, 0x0100, 1, 0, 0, 0) + name + b'\0\1\0\1', ('8.8.8.8', 53))
    if i % 40 == 39:
        time.sleep(0.02)    # let the interceptor drain its socket
EOF2
}
# the interceptor reads what the kernel kept of each burst at its own
# pace (slower under ASan): wait for it to count, burst again if needed
# (the queue stays full for the 2 s its queries wait for the dead
# upstream: the flooding sandbox is asked at once after each round)
ov=0 rc=none
overloaded() { ov=$(dnsctr flood overload_total); [ "${ov:-0}" -gt 0 ] 2>/dev/null; }
for round in 1 2 3 4 5; do
	flood "$round"
	rc=$(dns_rcode "moat-flood-$S" 8.8.8.8 db.internal)
	[ "$rc" = REFUSED ] && break
done
assert_eq "$rc" REFUSED "the flooding sandbox gets REFUSED while its queue is full"
assert_eq "$(probe_dns "moat-calm-$S" 8.8.8.8 example.com)" 93.184.216.34 "another sandbox resolves during the flood"
wait_for 2 overloaded
assert_match "$ov" "^[1-9]" "queries over the bound are refused (overload_total=$ov)"

t_begin "pins are bounded: the oldest goes first"
cat >"$P/evict.yaml" <<'EOF2'
version: 1
egress:
  default: deny
  rules:
    - allow: big.example
    - allow: example.com
EOF2
out=$(in_host env MOAT_DNS_PINS=many "$MOAT" create "badpins-$S" --policy "$P/evict.yaml" 2>&1)
assert_match "$out" "MOAT_DNS_PINS: 'many' is not a number of pins" "a bad MOAT_DNS_PINS fails creation, saying why"
assert_fail -m "... and leaves nothing" m inspect "badpins-$S"
if out=$(in_host env MOAT_DNS_PINS=64 "$MOAT" create "ev-$S" --policy "$P/evict.yaml" 2>&1); then
	E=moat-ev-$S
	IF=$(m inspect "ev-$S" --json | jq -r .host_interface)
	# nelems SET: elements in a pin set
	nelems() { in_host nft -j list set inet moat "$1" | jq '[.nftables[] | select(.set) | .set.elem // [] | length] | add'; }
	n=$(probe_dns "$E" 8.8.8.8 big.example A +tcp | wc -l)
	assert_eq "$n" 64 "100 addresses answered, 64 pinned and released (one batch)"
	assert_eq "$(nelems "${IF}_d1_4")" 64 "the ring of 64 pins is full"
	assert_eq "$(probe_dns "$E" 8.8.8.8 example.com)" 93.184.216.34 "a new name resolves"
	assert_eq "$(nelems "${IF}_d1_4")" 63 "... and the oldest pin left the kernel's set"
	assert_ok -m "... the new one is in its own" pinned "${IF}_d2_4" 93.184.216.34
	assert_eq "$(dnsctr ev pins_evicted_total)" 1 "pins_evicted_total counts it"
	n=$(probe_dns "$E" 8.8.8.8 big.example A +tcp | wc -l)
	assert_eq "$(nelems "${IF}_d1_4")" 64 "big.example again: its addresses pinned anew"
	assert_fail -m "... and example.com, now the oldest, left" pinned "${IF}_d2_4" 93.184.216.34
	assert_eq "$(dnsctr ev pin_evict_failed_total)" 0 "no eviction failed"
else
	not_ok "create with MOAT_DNS_PINS=64" "$out"
fi

t_begin "upstream down"
sandbox down --dns-upstream 192.0.2.53
assert_eq "$(dns_rcode "moat-down-$S" 8.8.8.8 example.com A +time=5)" SERVFAIL "no upstream answers: SERVFAIL"
assert_match "$(dnsctr down servfail_total)" "^[1-9]" "servfail_total counts"
sandbox fail2 --dns-upstream 192.0.2.53 --dns-upstream 8.8.8.8
assert_eq "$(probe_dns "moat-fail2-$S" 1.1.1.1 example.com A +time=5)" 93.184.216.34 "failover to the next upstream"

t_begin "network restricted: DNS answers nothing"
sandbox restr --restricted
assert_eq "$(dns_rcode "moat-restr-$S" 8.8.8.8 example.com)" none "no answer"

t_end
