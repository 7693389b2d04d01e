#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_policy.sh - egress policies enforced (I3): defaults public, deny and
# allow; address, CIDR and group rules with ports and protocols; first
# match wins; command-line rules before the file's; "allow: host"; the
# network modes none and restricted. Each denial is paired with a probe the
# same policy allows.
#
#   [sandboxes, one per policy] --moatN-- [HOST] -- [LAN: private, metadata]
#                                                       -- [INET: public]
# shellcheck source=../lib/preamble.sh
. "$(dirname "$0")/../lib/preamble.sh"

t_world

# sandbox NAME [OPTIONS...]: create it, or record a failure
sandbox() {
	local name=$1; shift
	if ! out=$(m create "$name-$S" "$@" 2>&1); then
		not_ok "create $name $*" "$out"
		return 1
	fi
}
P=$WORLD_DIR

t_begin "default deny with an allowlist"
cat >"$P/deny.yaml" <<'EOF'
version: 1
egress:
  default: deny
  rules:
    - allow: 140.82.112.0/20
      ports: [22, 443]
      protocol: tcp
    - allow: 1.1.1.1
      ports: [9999]
      protocol: udp
    - allow: 192.168.77.10
      ports: [5432]
EOF
sandbox deny --policy "$P/deny.yaml"
D=moat-deny-$S
assert_ok -m "allowed CIDR and port (tcp 140.82.112.3:22)" probe_tcp "$D" 140.82.112.3 22
assert_fail -m "allowed CIDR, other port (tcp 140.82.112.3:9999)" probe_tcp "$D" 140.82.112.3 9999
assert_ok -m "allowed udp 1.1.1.1:9999" probe_udp "$D" 1.1.1.1 9999
assert_fail -m "same address over tcp (protocol: udp)" probe_tcp "$D" 1.1.1.1 9999
assert_fail -m "public address not in the list" probe_tcp "$D" 93.184.216.34 22
assert_fail -m "public IPv6 not in the list" probe_tcp "$D" 2606:2800:220:1::1 22
assert_ok -m "explicitly allowed private service" probe_tcp "$D" 192.168.77.10 5432
assert_fail -m "the same private host, other port" probe_tcp "$D" 192.168.77.10 80
t0=$(date +%s%N)
probe_tcp "$D" 93.184.216.34 22 >/dev/null 2>&1
t1=$(date +%s%N)
if [ $(( (t1 - t0) / 1000000 )) -lt 900 ]; then ok "a denied connection fails at once (rejected, $(( (t1 - t0) / 1000000 )) ms)"; else not_ok "denied connections are rejected, not left to time out"; fi

t_begin "default allow minus metadata and a port"
cat >"$P/allow.yaml" <<'EOF'
version: 1
egress:
  default: allow
  rules:
    - deny: metadata
    - deny: 10.0.0.0/8
      ports: [5432]
EOF
sandbox allow --policy "$P/allow.yaml"
L=moat-allow-$S
assert_ok -m "LAN reachable with default allow" probe_tcp "$L" 192.168.77.10 80
assert_ok -m "private 10.0.0.5:80 reachable" probe_tcp "$L" 10.0.0.5 80
assert_fail -m "10.0.0.5:5432 denied by port" probe_tcp "$L" 10.0.0.5 5432
assert_fail -m "metadata denied by group" probe_tcp "$L" 169.254.169.254 80
assert_fail -m "IPv6 metadata denied by group" probe_tcp "$L" fd00:ec2::254 80
assert_ok -m "link-local outside metadata reachable" probe_tcp "$L" 169.254.1.1 80
assert_ok -m "public reachable" probe_tcp "$L" 93.184.216.34 22
assert_fail -m "the host stays closed with default allow (I2)" probe_tcp "$L" 192.168.77.2 22
assert_fail -m "other sandboxes stay closed with default allow (I1)" probe_tcp "$L" "$(m inspect "deny-$S" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["ipv4"])')" 22

t_begin "first match wins; command-line rules come first"
cat >"$P/order.yaml" <<'EOF'
version: 1
egress:
  rules:
    - deny: 140.82.112.3
    - allow: private
      protocol: tcp
EOF
sandbox order --policy "$P/order.yaml" --allow 140.82.112.3:22/tcp
O=moat-order-$S
assert_ok -m "--allow before the file's deny" probe_tcp "$O" 140.82.112.3 22
assert_fail -m "the file's deny for other ports" probe_tcp "$O" 140.82.112.3 9999
assert_ok -m "allow: private, tcp" probe_tcp "$O" 10.0.0.5 80
assert_fail -m "allow: private does not cover udp" probe_udp "$O" 10.0.0.5 9
assert_fail -m "allow: private does not cover metadata" probe_tcp "$O" 169.254.169.254 80
sandbox order2 --deny 93.184.216.34 --default-egress public
assert_fail -m "--deny of a public address" probe_tcp "moat-order2-$S" 93.184.216.34 22
assert_ok -m "other public addresses stay open" probe_tcp "moat-order2-$S" 140.82.112.3 22

t_begin "allow: host"
sandbox host --allow host:8022/tcp
H=moat-host-$S
GW=$(m inspect "host-$S" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["gateway4"])')
assert_ok -m "host:8022/tcp on the gateway" probe_tcp "$H" "$GW" 8022
assert_ok -m "host:8022/tcp on the host's LAN address" probe_tcp "$H" 192.168.77.2 8022
assert_fail -m "host port 22 stays closed" probe_tcp "$H" "$GW" 22
assert_fail -m "host udp 8022 stays closed" probe_udp "$H" "$GW" 8022
sandbox hostcidr --allow 192.168.77.0/24
assert_ok -m "the CIDR opens the LAN" probe_tcp "moat-hostcidr-$S" 192.168.77.10 80
assert_fail -m "but not the host inside it" probe_tcp "moat-hostcidr-$S" 192.168.77.2 22

t_begin "network modes"
sandbox restricted --restricted --default-egress allow
R=moat-restricted-$S
assert_fail -m "restricted: nothing out, even with default allow" probe_tcp "$R" 93.184.216.34 22
assert_fail -m "restricted: not the host" probe_tcp "$R" 192.168.77.2 22
assert_eq "$(ip netns exec "$R" ls /sys/class/net 2>/dev/null | sort | tr '\n' ' ')" "eth0 lo " "restricted: the interface exists"
sandbox none --no-net
N=moat-none-$S
assert_eq "$(ip netns exec "$N" ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')" "lo " "none: only lo"
assert_fail -m "none: nothing out" probe_tcp "$N" 93.184.216.34 22
assert_eq "$(m inspect "none-$S" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["host_interface"])')" None "none: no host interface"

t_begin "icmp"
sandbox icmp --default-egress deny --allow 1.1.1.1/icmp
if command -v ping >/dev/null; then
	assert_ok -m "allowed icmp to 1.1.1.1" ip netns exec "moat-icmp-$S" ping -c1 -W1 1.1.1.1
	assert_fail -m "icmp to 8.8.8.8 denied" ip netns exec "moat-icmp-$S" ping -c1 -W1 8.8.8.8
	assert_fail -m "tcp to 1.1.1.1 denied (icmp only)" probe_tcp "moat-icmp-$S" 1.1.1.1 9999
fi

t_begin "moat policy test agrees with the probes"
# each verdict of "moat policy test" against what a sandbox with the same
# policy really gets (the sandbox deny above)
pt() { m policy test "$P/deny.yaml" "$@"; }
for c in "140.82.112.3:22 0 ok" "140.82.112.3:9999 1 fail" "93.184.216.34:22 1 fail" \
	 "[2606:2800:220:1::1]:22 1 fail" "192.168.77.10:5432 0 ok" "192.168.77.10:80 1 fail"; do
	read -r dest st want <<<"$c"
	assert_status "$st" pt "$dest"
	a=${dest%:*}; a=${a#[}; a=${a%]}
	if [ "$want" = ok ]; then
		assert_ok -m "$dest: allowed, and the probe connects" probe_tcp "$D" "$a" "${dest##*:}"
	else
		assert_fail -m "$dest: denied, and the probe fails" probe_tcp "$D" "$a" "${dest##*:}"
	fi
done
assert_status 0 pt 1.1.1.1:9999/udp
assert_ok -m "1.1.1.1:9999/udp allowed, and the probe gets through" probe_udp "$D" 1.1.1.1 9999
assert_status 1 pt 1.1.1.1:9999/tcp
assert_match "$(pt 140.82.112.3:22)" "rule: 1 at $P/deny.yaml:5:14: allow 140.82.112.0/20 ports 22,443 tcp" "the deciding rule, its number and place"
assert_match "$(pt github.com:443)" "path: dns: NXDOMAIN \(no allow rule matches" "a name under default deny with address rules only does not resolve"
assert_status 2 m policy test "$P/deny.yaml" 10.0.0.0/8
assert_status 2 m policy test "$P/deny.yaml"

t_begin "default deny: address rules alone resolve nothing; the example with domain rules works"
# the old examples/agent-github.yaml: GitHub's addresses, no domain rule
cat >"$P/addr-only.yaml" <<'EOF'
version: 1
egress:
  default: deny
  rules:
    - allow: 140.82.112.0/20
      ports: [22, 443]
      protocol: tcp
EOF
assert_match "$(m policy check "$P/addr-only.yaml" 2>&1 >/dev/null)" "addr-only.yaml:3:12: warning: egress.default is deny and no rule allows a domain name" "policy check warns"
assert_status 1 m policy test "$P/addr-only.yaml" github.com:443
sandbox addronly --policy "$P/addr-only.yaml"
AO=moat-addronly-$S
assert_eq "$(dns_rcode "$AO" 8.8.8.8 github.com)" NXDOMAIN "the warning is true: github.com does not resolve"
assert_ok -m "the address itself is open (control)" probe_tcp "$AO" 140.82.112.3 22
sandbox agent --policy "$MOAT_SRCDIR/examples/agent-github.yaml"
AG=moat-agent-$S
assert_status 0 m policy test "$MOAT_SRCDIR/examples/agent-github.yaml" github.com:22
assert_eq "$(probe_dns "$AG" 8.8.8.8 github.com)" 140.82.112.3 "examples/agent-github.yaml: github.com resolves"
assert_ok -m "and is reachable on 22 once resolved" probe_tcp "$AG" 140.82.112.3 22
assert_status 1 m policy test "$MOAT_SRCDIR/examples/agent-github.yaml" example.com:443
assert_eq "$(dns_rcode "$AG" 8.8.8.8 example.com)" NXDOMAIN "example.com does not resolve, as policy test says"
assert_fail -m "nor is it reachable by address" probe_tcp "$AG" 93.184.216.34 443

t_begin "command line"
assert_status 2 m run --allow -- true
assert_match "$(m run --allow -- true 2>&1)" "--allow needs a value before '--'" "--allow does not swallow '--'"
assert_status 2 m run --deny -- true
assert_status 2 m run --allow 2001:db8::1:443 -- true
assert_match "$(m run --allow 2001:db8::1:443 -- true 2>&1)" "write \[2001:db8::1\]:443 for port 443" "an unbracketed IPv6 address with a port is refused"
assert_status 0 m run --no-net --allow '[2001:db8::1]:443' --allow 2001:db8::1 -- true
assert_status 2 m run --bandwidth 20gbit -- true
assert_eq "$(find "$MOAT_RUN_DIR/sandboxes" -mindepth 1 -maxdepth 1 -name 'run-*' | wc -l)" 0 "a refused command line creates nothing"
assert_status 0 m run --bandwidth 17gbit -- true
assert_eq "$(m help run)" "$(m run --help)" "moat help run is moat run --help"
assert_status 2 m help nosuchcommand

t_end
