#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_proxy_escape.sh - the proxy's onward connections are judged by the
# kernel with the sandbox's own rules, in their order.
#
# The supervisor connects to a proxied connection's original destination
# from the host's network namespace. Root in the sandbox can make that
# destination anything: here it rewrites its own packets on their way out
# of eth0 (a netdev egress chain; an ingress chain rewrites the replies
# back, so the client's socket sees its own peer) so that the proxy reads,
# with SO_ORIGINAL_DST, 0.0.0.0, ::, ::ffff:127.0.0.2 (which the host's
# connect() delivers to its own loopback), or the IPv4-mapped form of an
# address the host gained after the sandbox was made. A host service
# listens on *:80 (token "HOST-80 <address reached>"); none of these may
# reach it. Each attack has a positive control: the same rewrite to a
# public address is relayed by the proxy, so "refused" is not "broken".
#
# Also: a "deny: ADDR" rule before "allow: NAME" wins on the proxied path,
# as it does on the kernel's.
#
# It takes twenty seconds or more (each refused connection waits out its
# timeout): tests/run-integration.sh starts it before the others.
# moat-test: long
# shellcheck source=../lib/preamble.sh
. "$(dirname "$0")/../lib/preamble.sh"

t_world conntrack nat

# rewrite NS DEST4 TO4 DEST6 TO6: from root in the sandbox, rewrite TCP 80
# to DEST4 (DEST6) into TO4 (TO6) as it leaves eth0, and the replies' source
# back as they come in
rewrite() {
	in_ns "$1" nft -f - <<-EOF
		table netdev evil
		delete table netdev evil
		table netdev evil {
			chain eg {
				type filter hook egress device "eth0" priority 0; policy accept;
				ip daddr $2 tcp dport 80 ip daddr set $3
				ip6 daddr $4 tcp dport 80 ip6 daddr set $5
			}
			chain ing {
				type filter hook ingress device "eth0" priority 0; policy accept;
				ip saddr $3 tcp sport 80 ip saddr set $2
				ip6 saddr $5 tcp sport 80 ip6 saddr set $4
			}
		}
	EOF
}
# get NS ADDR: one HTTP request from the sandbox to ADDR:80; print the answer
get() {
	local t=TCP4:$2:80
	[[ $2 == *:* ]] && t="TCP6:[$2]:80"
	printf 'GET / HTTP/1.1\r\nHost: www.example.com\r\nConnection: close\r\n\r\n' |
		in_ns "$1" timeout 5 socat -T3 - "$t" 2>&1
}
# attack NS TO4 TO6 WHAT: the sandbox's TCP 80 to 93.184.216.34 (v4) and
# 2606:2800:220:1::1 (v6) rewritten to TO4 / TO6 must not reach the host
D4=93.184.216.34 D6=2606:2800:220:1::1
attack() {
	local ns=$1 to4=$2 to6=$3 what=$4 out
	rewrite "$ns" "$D4" "$to4" "$D6" "$to6" || { not_ok "rewrite rules for $what" ; return; }
	if [ "$to4" != 192.0.2.99 ]; then
		out=$(get "$ns" "$D4")
		assert_no_match "$out" "HOST-80" "$what: IPv4 original destination $to4 does not reach the host"
	fi
	if [ "$to6" != 2001:db8::99 ]; then
		out=$(get "$ns" "$D6")
		assert_no_match "$out" "HOST-80" "$what: IPv6 original destination $to6 does not reach the host"
	fi
}
# control NS WHAT: the same rewrite to a public address is relayed
control() {
	local ns=$1 what=$2 out
	rewrite "$ns" "$D4" 151.101.1.1 "$D6" ::ffff:151.101.1.1 || { not_ok "rewrite rules"; return; }
	out=$(get "$ns" "$D4")
	assert_match "$out" "INET 151.101.1.1" "$what: control: rewritten to 151.101.1.1, relayed by the proxy"
	out=$(get "$ns" "$D6")
	assert_match "$out" "INET 151.101.1.1" "$what: control: rewritten to ::ffff:151.101.1.1, relayed by the proxy"
}

# a host service on *:80, every host address (the loopback ones too)
_world_spawn srv-host80 "$HOST_NETNS" "$WORLD_PYTHON" -I "$WORLD_SRV" \
	--ready "$WORLD_DIR/ready-host80" "tcp:0.0.0.0:80:HOST-80 {addr}" "tcp:[::]:80:HOST-80 {addr}"
wait_for 5 test -f "$WORLD_DIR/ready-host80" || { not_ok "the host service on *:80"; t_end; }

t_begin "setup"
assert_match "$(probe_tcp host 127.0.0.1 80)" "HOST-80 127.0.0.1" "the host service answers on 127.0.0.1:80"
assert_match "$(probe_tcp host ::1 80)" "HOST-80 ::1" "... and on [::1]:80"

t_begin "default allow, one domain rule"
sandbox all --default-egress allow --allow example.com:443 || t_end
A=moat-all-$S
if [ -z "$(in_ns "$A" ip -6 route show default)" ]; then
	not_ok "the sandbox has IPv6 (the world's host has global IPv6)"
fi
assert_eq "$(proxy_counter all enabled)" 1 "the domain rule turns the proxy on"
control "$A" "default allow"
attack "$A" 0.0.0.0 :: "unspecified"
attack "$A" 127.0.0.2 ::ffff:127.0.0.2 "loopback"
attack "$A" 192.0.2.99 ::ffff:0.0.0.0 "mapped unspecified"
attack "$A" "$WORLD_HOST4" "::ffff:$WORLD_HOST4" "the host's LAN address"
attack "$A" 192.0.2.99 "$WORLD_HOST6" "the host's IPv6 address"
gw4=$(m inspect "all-$S" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["gateway4"])')
attack "$A" "$gw4" "::ffff:$gw4" "the sandbox's own gateway"
# the proxy refuses loopback and unspecified destinations itself; the
# host's LAN address (allowed by the policy's default) the kernel refuses
assert_eq "$(proxy_counter all host_total)" 4 "the proxy refused the four loopback and unspecified destinations"
assert_eq "$(proxy_counter all kernel_denied_total)" 1 "the kernel refused the host's LAN address, counted as kernel-denied"
out=$(m logs "all-$S" --json 2>&1 | grep '"proxy"' | grep -c 'kernel-denied')
assert_eq "$out" 1 "... and logged with its reason"
control "$A" "default allow, after the attacks"

t_begin "allow: 0.0.0.0/0"
sandbox cidr --allow 0.0.0.0/0 --allow example.com:443 || t_end
C=moat-cidr-$S
control "$C" "allow 0.0.0.0/0"
attack "$C" 0.0.0.0 ::ffff:0.0.0.0 "unspecified"
attack "$C" 127.0.0.2 ::ffff:127.0.0.2 "loopback"

t_begin "default policy: addresses the host gains after the sandbox starts"
sandbox dflt --allow github.com:443 || t_end
P=moat-dflt-$S
in_host ip addr add 93.184.216.99/32 dev lo
in_host ip addr add 93.184.216.98/32 dev lan0
in_host ip route add local 93.184.217.0/24 dev lo
assert_match "$(probe_tcp host 93.184.217.5 80)" "HOST-80 93.184.217.5" "the host answers in its new local route"
control "$P" "default policy"
attack "$P" 192.0.2.99 ::ffff:93.184.216.99 "a new address on lo, IPv4-mapped"
attack "$P" 192.0.2.99 ::ffff:93.184.216.98 "a new address on lan0, IPv4-mapped"
attack "$P" 192.0.2.99 ::ffff:93.184.217.5 "an address-less local route, IPv4-mapped"
assert_no_match "$(probe_tcp "$P" 93.184.216.99 80 2>&1)" "HOST-80" "the kernel path to the new address stays closed"
assert_eq "$(proxy_counter dflt kernel_denied_total)" 3 "the kernel refused all three, counted as kernel-denied"
out=$(m logs "dflt-$S" --json 2>&1 | grep -c '"moat:I2:host"\|I2:host')
assert_ok -m "... and its chains logged them as I2:host ($out records)" test "$out" -ge 3
in_ns "$P" nft delete table netdev evil
control "$P" "default policy, after the attacks"

t_begin "the kernel's judgement: sockets with a sandbox's mark, from the host"
# marked MARK ADDR PORT [udp]: connect (or send a DNS query) from the host
# with SO_MARK MARK, as a supervisor does; print what happened
marked() {
	in_host python3 - "$@" <<'PY'
import socket, struct, sys
mark, addr, port = int(sys.argv[1], 0), sys.argv[2], int(sys.argv[3])
udp = len(sys.argv) > 4
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, struct.pack("I", mark))
s.settimeout(2)
try:
    s.connect((addr, port))
    if udp:
        s.send(bytes.fromhex("12340100000100000000000007657861" "6d706c6503636f6d0000010001"))
        s.recv(512)
        print("answered")
    else:
        print("connected")
except socket.timeout:
    print("timeout")
except OSError as e:
    print("refused: %s" % e.strerror)
PY
}
idx=$(m inspect "dflt-$S" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["host_interface"][4:])')
mk=$(printf '0x%08x' $((0x80000000 | idx)))
assert_eq "$(marked "$mk" 93.184.216.34 80)" connected "control: the sandbox's mark reaches a public address its policy allows"
assert_match "$(marked 0 127.0.0.1 80)" "connected" "control: unmarked, the host's own socket reaches its loopback"
assert_match "$(marked "$mk" 127.0.0.1 80)" "^refused" "with the sandbox's mark, not the host's loopback"
assert_match "$(marked "$mk" 0.0.0.0 80)" "^refused" "... nor 0.0.0.0"
assert_match "$(marked "$mk" ::1 80)" "^refused" "... nor ::1"
assert_match "$(marked "$mk" :: 80)" "^refused" "... nor ::"
assert_match "$(marked "$mk" ::ffff:127.0.0.2 80)" "^refused" "... nor ::ffff:127.0.0.2"
assert_match "$(marked "$mk" "$WORLD_HOST4" 80)" "^refused" "... nor the host's LAN address"
assert_match "$(marked "$mk" 93.184.216.98 80)" "^refused" "... nor an address the host gained later"
assert_match "$(marked "$mk" 93.184.217.5 80)" "^refused" "... nor one of its local routes"
assert_match "$(marked "$mk" "$WORLD_LANSVC4" 80)" "^refused" "... nor a LAN address its policy does not allow"
assert_eq "$(marked "$((mk | 0x40000000))" 8.8.8.8 53 udp)" answered "a DNS upstream socket reaches its resolver on port 53"
# a drop in the output hook: EPERM for a datagram, silence for a SYN
assert_match "$(marked "$mk" 8.8.8.8 53 udp)" "^(timeout|refused: Operation not permitted)" "the proxy's mark does not (DNS is dropped, I4)"
assert_match "$(marked 0x8000fffe 93.184.216.34 80)" "^(timeout|refused: Operation not permitted)" "a mark with no sandbox is dropped (fail closed)"

t_begin "deny: ADDR before allow: NAME"
sandbox order --deny 140.82.112.3 --allow github.com:443 || t_end
O=moat-order-$S
assert_eq "$(probe_dns "$O" 8.8.8.8 github.com)" 140.82.112.3 "github.com resolves (and is pinned)"
out=$(probe_http "$O" https://github.com/ 2>&1)
assert_no_match "$out" "sni: github.com" "https://github.com is refused: the deny of its address comes first"
sandbox order2 --allow github.com:443 || t_end
O2=moat-order2-$S
assert_eq "$(probe_dns "$O2" 8.8.8.8 github.com)" 140.82.112.3 "control: github.com resolves"
out=$(probe_http "$O2" https://github.com/ 2>&1)
assert_match "$out" "sni: github.com" "control: without the deny, https://github.com is reached"
# the kernel's own judgement of the proxy's connections, in the same order
declare -A mks
for sb in order order2; do
	idx=$(m inspect "$sb-$S" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["host_interface"][4:])')
	mks[$sb]=$(printf '0x%08x' $((0x80000000 | idx)))
done
assert_match "$(marked "${mks[order]}" 140.82.112.3 443)" "^refused" "the kernel refuses the pinned address with the deny first"
assert_eq "$(marked "${mks[order2]}" 140.82.112.3 443)" connected "control: and admits it without the deny"

for n in all cidr dflt order order2; do m rm -f "$n-$S" >/dev/null 2>&1; done
t_end
