#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_world.sh - proves the test harness itself (tests/lib/world.sh):
# every server of the throwaway world answers from the HOST namespace
# before moat is involved, DNS serves its test records, and the world
# leaves nothing behind. Does not use moat.
set -euo pipefail

# shellcheck source=../lib/preamble.sh
. "$(dirname "$0")/../lib/preamble.sh"

rc=0
require_kernel_feature netns veth nftables ipv6 || rc=$?
[ "$rc" = 77 ] && t_skip_all "kernel lacks a feature the world needs"
[ "$rc" = 0 ] || exit 1

t_begin "create"
if ! world_create; then
	not_ok "world_create"
	t_end
fi
ok "world_create (${WORLD_CREATE_SECONDS}s)"
for ns in "$HOST_NS" "$LAN_NS" "$INET_NS"; do
	assert_ok -m "namespace $ns exists" test -e "/run/netns/$ns"
done
assert_match "$(in_host sysctl -n net.ipv4.ip_forward)" '^0$' \
	"HOST does not forward IPv4 (moat turns it on)"
assert_match "$(in_host ip -6 route show default)" "via $WORLD_ROUTER6" \
	"HOST has a v6 default route"
assert_match "$(in_host ip -4 route show default)" "via $WORLD_ROUTER4" \
	"HOST has a v4 default route"

t_begin "http"
out=$(probe_http host http://93.184.216.34/ -H 'Host: example.com' || true)
assert_eq "$(sed -n 1p <<<"$out")" "INET 93.184.216.34" "body names the address"
assert_eq "$(sed -n 2p <<<"$out")" "host: example.com" "body echoes the Host header"
out=$(probe_http host 'http://[2606:2800:220:1::1]/' || true)
assert_eq "$(head -n1 <<<"$out")" "INET 2606:2800:220:1::1" "v6"
assert_eq "$(probe_http host http://151.101.1.1/bytes/100000 | wc -c)" 100000 \
	"/bytes/N sends N bytes"
assert_eq "$(probe_http host http://151.101.1.1/status/404 -o /dev/null -w '%{http_code}' || true)" \
	404 "/status/N"
# two requests on one keep-alive connection, each answered with its Host
out=$(in_host curl -sS --max-time 3 -w 'reused=%{num_connects}\n' \
	http://140.82.112.3/a -H 'Host: a.example' \
	--next -sS -w 'reused=%{num_connects}\n' \
	http://140.82.112.3/b -H 'Host: b.example' || true)
assert_eq "$out" $'INET 140.82.112.3\nhost: a.example\npath: /a\nreused=1\nINET 140.82.112.3\nhost: b.example\npath: /b\nreused=0' \
	"keep-alive: every request answered on one connection"

t_begin "https"
out=$(probe_http host https://github.com/ --resolve github.com:443:140.82.112.3 || true)
assert_eq "$(sed -n 1p <<<"$out")" "INET 140.82.112.3" "github.com with the world CA"
assert_match "$out" "sni: github.com" "server saw the SNI"
out=$(probe_http host https://raw.githubusercontent.com/ \
	--resolve raw.githubusercontent.com:443:151.101.1.1 || true)
assert_match "$out" "^INET 151.101.1.1" "wildcard SAN *.githubusercontent.com"
out=$(probe_http host 'https://example.com/' \
	--resolve 'example.com:443:[2606:2800:220:1::1]' || true)
assert_match "$out" "^INET 2606:2800:220:1::1" "v6"
assert_fail -m "an unknown name fails verification" \
	probe_http host https://unknown.test/ --resolve unknown.test:443:93.184.216.34
out=$(in_host openssl s_client -connect 93.184.216.34:443 -servername example.com \
	-CAfile "$WORLD_CA" -verify_return_error </dev/null 2>&1 || true)
assert_match "$out" "Verify return code: 0 " "openssl s_client verifies too"

t_begin "dns"
assert_eq "$(probe_dns host 8.8.8.8 github.com)" 140.82.112.3 "github.com A via 8.8.8.8"
assert_eq "$(probe_dns host 1.1.1.1 example.com AAAA)" 2606:2800:220:1::1 "example.com AAAA via 1.1.1.1"
assert_eq "$(probe_dns host 2001:4860:4860::8888 example.com)" 93.184.216.34 "over v6"
assert_eq "$(probe_dns host 9.9.9.9 example.com A +tcp)" 93.184.216.34 "over tcp"
assert_eq "$(dns_rcode host 8.8.8.8 nonexistent.example)" NXDOMAIN "unknown names: NXDOMAIN"
assert_eq "$(dns_rcode host 8.8.8.8 github.com AAAA)" NOERROR "github.com AAAA: NODATA"
assert_eq "$(probe_dns host 8.8.8.8 rebind-private.example)" 192.168.77.10 "rebind-private"
assert_eq "$(probe_dns host 8.8.8.8 rebind-loopback.example)" 127.0.0.1 "rebind-loopback"
assert_eq "$(probe_dns host 8.8.8.8 rebind-meta.example)" 169.254.169.254 "rebind-meta"
assert_eq "$(probe_dns host 8.8.8.8 rebind-zero.example)" 0.0.0.0 "rebind-zero"
assert_eq "$(probe_dns host 8.8.8.8 rebind-mapped.example AAAA)" ::ffff:10.0.0.5 "rebind-mapped"
assert_eq "$(probe_dns host 8.8.8.8 rebind-mixed.example | sort | tr '\n' ' ')" \
	"10.0.0.5 93.184.216.34 " "rebind-mixed: both"
assert_eq "$(probe_dns host 8.8.8.8 cname-private.example | tr '\n' ' ')" \
	"rebind-private.example. 192.168.77.10 " "cname-private"
out=$(in_host dig +time=1 +tries=1 +noall +answer @8.8.8.8 short-ttl.example)
assert_match "$out" $'^short-ttl\\.example\\.[[:space:]]+2[[:space:]]' "short-ttl: TTL 2"
out=$(in_host dig +time=1 +tries=1 +noall +answer @8.8.8.8 github.com)
assert_match "$out" $'[[:space:]]300[[:space:]]' "others: TTL 300"
out=$(in_host dig +time=1 +tries=1 +notcp +ignore @8.8.8.8 big.example)
assert_match "$out" 'flags: qr aa tc' "big.example is truncated over UDP"
assert_eq "$(probe_dns host 8.8.8.8 big.example A +tcp | wc -l)" 100 \
	"big.example: 100 records over TCP"
assert_match "$(probe_dns host 8.8.8.8 https-rr.example TYPE65)" 'ipv4hint|5DB8D822|5db8d822' \
	"https-rr.example has an HTTPS record"
assert_ok -m "dnsmasq logs queries" grep -q 'query\[A\] github.com' "$WORLD_DNSMASQ_LOG"

t_begin "lan"
assert_eq "$(probe_tcp host 192.168.77.10 80)" LAN-80 "192.168.77.10:80"
assert_eq "$(probe_tcp host 192.168.77.10 5432)" LAN-5432 "192.168.77.10:5432"
assert_eq "$(probe_tcp host 10.0.0.5 5432)" LAN-5432-10.0.0.5 "10.0.0.5:5432"
for a in $WORLD_PRIVATE4 $WORLD_PRIVATE6; do
	assert_eq "$(probe_tcp host "$a" 80)" "LAN-$a" "private $a tcp 80"
	assert_eq "$(probe_udp host "$a" 9)" "LAN-$a" "private $a udp 9"
done
for a in $WORLD_META4 $WORLD_META6; do
	assert_eq "$(probe_tcp host "$a" 80)" "META-$a" "metadata $a tcp 80"
done
assert_eq "$(probe_udp host 169.254.169.254 9)" META-169.254.169.254 "metadata udp 9"
assert_eq "$(probe_tcp host 169.254.1.1 80)" LL-169.254.1.1 "link-local 169.254.1.1"
for a in $WORLD_RESERVED4 $WORLD_RESERVED6; do
	assert_eq "$(probe_tcp host "$a" 80)" "RSV-$a" "reserved $a tcp 80"
done

t_begin "inet"
for a in $WORLD_PUBLIC4 $WORLD_PUBLIC6; do
	assert_eq "$(probe_tcp host "$a" 22)" "INET-22 $a" "$a tcp 22"
done
assert_eq "$(probe_tcp host 1.1.1.1 853)" "INET-853 1.1.1.1" "DoT-like tcp 853"
assert_eq "$(probe_udp host 1.1.1.1 853)" "INET-853 1.1.1.1" "DoQ-like udp 853"
assert_eq "$(probe_udp host 93.184.216.34 443)" "INET-443 93.184.216.34" "udp 443"
assert_eq "$(probe_udp host 2606:2800:220:1::1 9999)" "INET-9999 2606:2800:220:1::1" "udp 9999 v6"
assert_eq "$(probe_tcp host 93.184.216.34 9999)" "INET-9999 93.184.216.34" "tcp 9999"
assert_eq "$(in_host socat -T1 - TCP:93.184.216.34:22 <<<hello 2>/dev/null | tail -n1)" \
	hello "tcp servers echo after the token"
assert_match "$(cat "$WORLD_DIR/srv-inet.log")" "tcp 93.184.216.34:22 from 192.168.77.2:" \
	"INET sees the HOST's own address (no NAT in the world)"

t_begin "host services"
assert_eq "$(probe_tcp lan 192.168.77.2 22)" HOST-22 "tcp 22 from LAN"
assert_eq "$(probe_udp lan 192.168.77.2 22)" HOST-22 "udp 22 from LAN"
assert_eq "$(probe_tcp lan 2001:678:1234:77::2 8022)" HOST-8022 "tcp 8022 v6 from LAN"
assert_eq "$(probe_udp lan 2001:678:1234:77::2 8022)" HOST-8022 "udp 8022 v6 from LAN"
assert_eq "$(probe_tcp host 127.0.0.1 8000)" HOST-8000 "127.0.0.1:8000 inside HOST"
assert_eq "$(probe_tcp host ::1 8000)" HOST-8000 "[::1]:8000 inside HOST"
assert_fail -m "127.0.0.1:8000 is not reachable from LAN" probe_tcp lan 192.168.77.2 8000

t_begin "probes fail fast"
t0=$EPOCHREALTIME
assert_fail -m "a black-holed address times out" probe_tcp host 203.0.113.99 22
t1=$EPOCHREALTIME
assert_ok -m "within ~1s" awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 2.5) }'
assert_fail -m "a closed port is refused" probe_tcp host 93.184.216.34 23
assert_fail -m "udp to a closed port fails" probe_udp host 93.184.216.34 23

t_begin "safety"
assert_fail -m "the machine's own namespace has no world address" \
	bash -c "ip -o addr show | grep -qE '192\.168\.77\.|172\.31\.255\.|2001:678:1234:'"
# every server of the world runs inside the world
while read -r pid; do
	assert_match "$(ip netns identify "$pid" 2>/dev/null)" \
		"^moatw-(host|lan|inet)-$WORLD_SUFFIX\$" "server $pid runs in the world"
done <"$WORLD_DIR/pids"

t_begin "destroy"
dir=$WORLD_DIR suffix=$WORLD_SUFFIX
mapfile -t pids <"$dir/pids"
world_on_destroy touch "/tmp/moatw-ondestroy-$suffix"
# a sandbox namespace a test left (its own "moat rm -f" never ran)
ip netns add "moat-left-$suffix"
world_destroy
ok "world_destroy (${WORLD_DESTROY_SECONDS}s)"
assert_ok -m "world_on_destroy hooks ran" test -e "/tmp/moatw-ondestroy-$suffix"
rm -f "/tmp/moatw-ondestroy-$suffix"
assert_fail -m "no namespace left, a left sandbox's included" bash -c "ip netns list | grep -q '$suffix'"
assert_fail -m "no directory left" test -e "$dir"
left=
for pid in "${pids[@]}"; do
	proc_alive "$pid" && left+=" $pid"
done
assert_eq "$left" "" "no server left running"
assert_ok -m "world_destroy is idempotent" world_destroy

t_end
