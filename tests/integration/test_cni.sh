#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_cni.sh - moat as a CNI plugin (CNI_COMMAND set), invoked the way a
# runtime invokes it, in the world's host namespace: VERSION; ADD of a
# container's namespace (the result: interfaces, addresses, gateway, DNS);
# the same ADD again (the same result); from inside, the internet reachable,
# the LAN, metadata, the host and another sandbox not, DNS intercepted with
# the configuration's rules; the policy chosen per pod from "policyDir";
# CHECK, and CHECK after tampering (the inside address deleted, the host
# interface deleted); DEL, DEL again, DEL of an unknown container; errors
# as CNI's error object with its codes, and nothing half made.
#
#   [container moat-cni1-S] --veth moat adds-- [HOST: moat as plugin] -- [LAN] -- [INET]
# shellcheck source=../lib/preamble.sh
. "$(dirname "$0")/../lib/preamble.sh"

t_world
command -v jq >/dev/null || { echo "not ok - jq is needed"; exit 1; }

# container NAME: a namespace as a runtime makes it before CNI ADD: lo only
container() {
	ip netns add "$1" || return 1
	world_on_destroy ip netns del "$1"
	ip -n "$1" link set lo up
}

# cni COMMAND ID NETNS [IFNAME [VAR=VALUE...]] <CONF: run the plugin as a
# runtime does; prints its standard output, returns its status
cni() {
	local cmd=$1 id=$2 ns=$3 ifn=${4:-eth0}
	shift 3; [ $# -gt 0 ] && shift
	in_host env CNI_COMMAND="$cmd" CNI_CONTAINERID="$id" CNI_NETNS="$ns" \
		CNI_IFNAME="$ifn" CNI_PATH=/nonexistent "$@" "$MOAT" 2>/dev/null
}

# records PREFIX: how many sandbox records have names starting with PREFIX
records() {
	local f n=0
	for f in "$MOAT_RUN_DIR/sandboxes/$1"*; do [ -e "$f" ] && n=$((n + 1)); done
	echo "$n"
}

# code JSON: the error code of a CNI error object
code() { jq -r .code <<<"$1" 2>/dev/null; }

pol=$WORLD_DIR/cni-policy.yaml
cat >"$pol" <<EOF
version: 1
egress:
  default: public
  rules:
    - allow: github.com
      ports: [443]
      protocol: tcp
EOF
conf=$WORLD_DIR/cni.conf
cat >"$conf" <<EOF
{ "cniVersion": "1.0.0", "name": "moatnet", "type": "moat",
  "policy": "$pol", "deny": ["evil.example"] }
EOF

t_begin "VERSION"
out=$(cni VERSION "" "" "" </dev/null); rc=$?
assert_eq "$rc" 0 "VERSION exits 0"
assert_eq "$(jq -c .supportedVersions <<<"$out")" '["0.3.0","0.3.1","0.4.0","1.0.0"]' "supported versions"
assert_eq "$(jq -r .cniVersion <<<"$out")" 1.0.0 "VERSION's own cniVersion"

t_begin "ADD"
CT1=moat-cni1-$S
container "$CT1"
C1=/run/netns/$CT1
ID1=c1$S$(printf '%060d' 0 | tr 0 a)
N1=cni-${ID1:0:44}
out=$(cni ADD "$ID1" "$C1" eth0 <"$conf"); rc=$?
assert_eq "$rc" 0 "ADD exits 0"
j=$(m inspect "$N1" --json)
assert_eq "$(jfield "$j" status)" running "sandbox '$N1' (cni- and 44 characters of the ID) runs"
assert_eq "$(jfield "$j" netns)" "$C1" "... attached to CNI_NETNS"
IP1=$(jfield "$j" ipv4); GW1=$(jfield "$j" gateway4); HIF1=$(jfield "$j" host_interface)
assert_eq "$(jq -r .cniVersion <<<"$out")" 1.0.0 "result: cniVersion"
assert_eq "$(jq -r '.interfaces[0].name' <<<"$out")" "$HIF1" "result: the host interface"
assert_eq "$(jq -r '.interfaces[1] | "\(.name) \(.sandbox)"' <<<"$out")" "eth0 $C1" "result: eth0 in the container's namespace"
assert_eq "$(jq -r '.interfaces[1].mac' <<<"$out")" "$(ip -n "$CT1" -o link show eth0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)" "result: eth0's MAC"
assert_eq "$(jq -r '.ips[0] | "\(.address) \(.gateway) \(.interface)"' <<<"$out")" "$IP1/30 $GW1 1" "result: address, gateway, interface index"
assert_eq "$(ip -n "$CT1" -o -4 addr show dev eth0 | awk '{print $4}')" "$IP1/30" "eth0 has that address"
assert_eq "$(jq -r '.dns.nameservers[0]' <<<"$out")" "$GW1" "result: the gateway is the nameserver"
assert_eq "$(jq -r '.routes[0] | "\(.dst) \(.gw)"' <<<"$out")" "0.0.0.0/0 $GW1" "result: the default route"
assert_match "$(m ls)" "$N1 +running" "moat ls lists it"

t_begin "ADD again"
out2=$(cni ADD "$ID1" "$C1" eth0 <"$conf"); rc=$?
assert_eq "$rc" 0 "the same ADD again exits 0"
assert_eq "$(jq -c '[.interfaces, .ips]' <<<"$out2")" "$(jq -c '[.interfaces, .ips]' <<<"$out")" "... with the same result"
assert_eq "$(records cni-)" 1 "... and still one sandbox"
out2=$(cni ADD "other$S" "$C1" eth0 <"$conf"); rc=$?
assert_eq "$rc" 1 "another container ID for the same namespace: exit 1"
assert_eq "$(code "$out2")" 105 "... code 105"
assert_match "$(jq -r .msg <<<"$out2")" "already the inside of sandbox '$N1'" "... naming the sandbox"
out2=$(cni ADD "$ID1" "$C1" eth1 <"$conf"); rc=$?
assert_eq "$(code "$out2")" 105 "the same container with another CNI_IFNAME: code 105"

t_begin "from inside: reach and refusals"
assert_ok -m "public TCP reachable" probe_tcp "$C1" 93.184.216.34 22
assert_ok -m "public UDP reachable" probe_udp "$C1" 93.184.216.34 9999
assert_ok -m "control: the LAN service is up (from the host)" probe_tcp host 192.168.77.10 5432
assert_fail -m "the LAN is refused" probe_tcp "$C1" 192.168.77.10 5432
assert_ok -m "control: metadata is up (from the host)" probe_udp host 169.254.169.254 9
assert_fail -m "metadata is refused" probe_udp "$C1" 169.254.169.254 9
assert_ok -m "control: the host's port 22 answers the LAN" probe_tcp lan 192.168.77.2 22
assert_fail -m "the host is refused" probe_tcp "$C1" 192.168.77.2 22
assert_fail -m "the host by the gateway address is refused" probe_tcp "$C1" "$GW1" 22
m create "b-$S" >/dev/null
B_IP=$(jfield "$(m inspect "b-$S" --json)" ipv4)
_world_spawn srv-b "/run/netns/moat-b-$S" "$WORLD_PYTHON" -I "$WORLD_SRV" "tcp:0.0.0.0:8080:B-8080"
world_wait_listen "moat-b-$S" tcp 8080 >/dev/null
assert_ok -m "control: sandbox b's server answers inside b" probe_tcp "moat-b-$S" "$B_IP" 8080
assert_fail -m "another sandbox is refused" probe_tcp "$C1" "$B_IP" 8080

t_begin "DNS: the configuration's policy file and its deny list"
assert_eq "$(probe_dns host 8.8.8.8 evil.example)" 151.101.1.1 "control: the upstream resolves evil.example"
for r in 8.8.8.8 "$GW1" 127.0.0.53; do
	assert_eq "$(probe_dns "$C1" "$r" github.com)" 140.82.112.3 "@$r: github.com (the policy file's allow) resolves"
	assert_eq "$(dns_rcode "$C1" "$r" evil.example)" NXDOMAIN "@$r: evil.example (the configuration's deny) is NXDOMAIN"
done
assert_match "$(m logs "$N1")" "name=evil.example .*action=nxdomain" "logs: the interceptor's NXDOMAIN"

t_begin "policy per pod from policyDir"
pd=$WORLD_DIR/policies
mkdir -p "$pd/ns1"
for f in ns1/pod1:203.0.113.1 ns1:203.0.113.2 default:203.0.113.3 pick:203.0.113.4; do
	printf 'version: 1\negress:\n  default: public\n  rules:\n    - deny: %s\n' "${f#*:}" >"$pd/${f%%:*}.yaml"
done
dconf=$WORLD_DIR/cni-dir.conf
printf '{"cniVersion":"1.0.0","name":"moatnet","type":"moat","policyDir":"%s","policy":"%s"}\n' "$pd" "$pol" >"$dconf"
# pick N ARGS [CONF]: ADD container moat-cnipN-S with CNI_ARGS=ARGS, print
# which marker of the policy files the chosen policy denies, DEL it
pick() {
	local ct=moat-cnip$1-$S id=p$1$S out
	shift
	out=$(cni ADD "$id" "/run/netns/$ct" eth0 CNI_ARGS="$1" <"${2:-$dconf}") ||
		{ echo "ADD failed: $out"; return; }
	m inspect "cni-$id" --json | jq -c .policy | grep -oE '203\.0\.113\.[0-9]|github\.com' | sort -u | tr '\n' ' '
	cni DEL "$id" "/run/netns/$ct" eth0 <"${2:-$dconf}" >/dev/null
}
for i in 0 1 2 3 4; do container "moat-cnip$i-$S"; done
assert_eq "$(pick 0 "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=pod1")" "203.0.113.1 " "NAMESPACE/POD.yaml first"
assert_eq "$(pick 1 "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=pod2")" "203.0.113.2 " "then NAMESPACE.yaml"
assert_eq "$(pick 2 "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns2;K8S_POD_NAME=pod1")" "203.0.113.3 " "then default.yaml"
assert_eq "$(pick 3 "MOAT_POLICY=pick;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=pod1")" "203.0.113.4 " "MOAT_POLICY=NAME before all"
rm "$pd/default.yaml"
assert_eq "$(pick 4 "K8S_POD_NAMESPACE=ns2;K8S_POD_NAME=pod1")" "github.com " "no default.yaml: the \"policy\" file"
ct=moat-cnipx-$S; container "$ct"
out=$(cni ADD "px$S" "/run/netns/$ct" eth0 CNI_ARGS="MOAT_POLICY=../ns1/pod1" <"$dconf"); rc=$?
assert_eq "$rc/$(code "$out")" 1/7 "MOAT_POLICY with a path: exit 1, code 7"
out=$(cni ADD "px$S" "/run/netns/$ct" eth0 CNI_ARGS="MOAT_POLICY=nosuch" <"$dconf")
assert_eq "$(code "$out")" 7 "MOAT_POLICY naming no file: code 7"
out=$(cni ADD "px$S" "/run/netns/$ct" eth0 CNI_ARGS="MOAT_POLICY=pick" <"$conf")
assert_eq "$(code "$out")" 7 "MOAT_POLICY without policyDir: code 7"
assert_eq "$(records cni-px)" 0 "... none made a sandbox"
assert_eq "$(ip -n "$ct" -o link show | wc -l)" 1 "... nor an interface in the namespace"

t_begin "CHECK"
assert_status -m "CHECK of the running sandbox: exit 0" 0 cni CHECK "$ID1" "$C1" eth0 <"$conf"
jq --argjson r "$(cni ADD "$ID1" "$C1" eth0 <"$conf")" '. + {prevResult: $r}' "$conf" >"$WORLD_DIR/check.conf"
assert_status -m "CHECK with ADD's result as prevResult: exit 0" 0 cni CHECK "$ID1" "$C1" eth0 <"$WORLD_DIR/check.conf"
jq '.prevResult.ips[0].address = "10.255.255.1/30"' "$WORLD_DIR/check.conf" >"$WORLD_DIR/check-bad.conf"
out=$(cni CHECK "$ID1" "$C1" eth0 <"$WORLD_DIR/check-bad.conf"); rc=$?
assert_eq "$rc/$(code "$out")" 1/104 "CHECK with a prevResult naming another address: exit 1, code 104"
out=$(cni CHECK "nosuch$S" "$C1" eth0 <"$conf"); rc=$?
assert_eq "$rc/$(code "$out")" 1/102 "CHECK of an unknown container: exit 1, code 102"
out=$(cni CHECK "$ID1" "$C1" eth0 <<<'{"cniVersion":"0.3.1","name":"n","type":"moat"}'); rc=$?
assert_eq "$rc/$(code "$out")" 1/1 "CHECK with cniVersion 0.3.1: code 1"
CT3=moat-cni3-$S; container "$CT3"; C3=/run/netns/$CT3; ID3=t$S
assert_status -m "ADD a container to tamper with" 0 cni ADD "$ID3" "$C3" net0 <"$conf"
j=$(m inspect "cni-$ID3" --json); IP3=$(jfield "$j" ipv4); HIF3=$(jfield "$j" host_interface)
assert_eq "$(ip -n "$CT3" -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | tr '\n' ' ')" "lo net0 " "CNI_IFNAME net0 inside"
assert_status -m "control: CHECK passes before tampering" 0 cni CHECK "$ID3" "$C3" net0 <"$conf"
ip -n "$CT3" addr del "$IP3/30" dev net0
out=$(cni CHECK "$ID3" "$C3" net0 <"$conf"); rc=$?
assert_eq "$rc/$(code "$out")" 1/104 "the inside address deleted: CHECK exit 1, code 104"
assert_match "$(jq -r .msg <<<"$out")" "lacks its address $IP3/30" "... saying which"
out=$(cni CHECK "$ID3" "$C3" eth0 <"$conf")
assert_eq "$(code "$out")" 104 "CHECK for another CNI_IFNAME: code 104"
in_host ip link del "$HIF3"
out=$(cni CHECK "$ID3" "$C3" net0 <"$conf"); rc=$?
c=$(code "$out")
if [ "$rc" = 1 ] && [[ "$c" =~ ^10[234]$ ]]; then ok "the host interface deleted: CHECK fails (code $c)"; else not_ok "the host interface deleted: CHECK fails" "$rc $out"; fi
check_gone() { [ "$(code "$(cni CHECK "$ID3" "$C3" net0 <"$conf")")" = 102 ]; }
assert_ok -m "... and once the sandbox has ended by itself: code 102" wait_for 5 check_gone
assert_status -m "DEL after that: exit 0" 0 cni DEL "$ID3" "$C3" net0 <"$conf"

t_begin "errors, and nothing half made"
out=$(cni ADD "e$S" "$C1" eth0 <<<'{"cniVersion": '); rc=$?
assert_eq "$rc/$(code "$out")" 1/6 "not JSON: exit 1, code 6"
out=$(cni ADD "e$S" "$C1" eth0 <<<'{"cniVersion":"9.9.9","name":"n","type":"moat"}')
assert_eq "$(code "$out")" 1 "cniVersion 9.9.9: code 1"
out=$(in_host env CNI_COMMAND=ADD CNI_CONTAINERID="e$S" CNI_IFNAME=eth0 "$MOAT" <"$conf" 2>/dev/null)
assert_eq "$(code "$out")" 4 "ADD without CNI_NETNS: code 4"
out=$(cni ADD "e/$S" "$C1" eth0 <"$conf")
assert_eq "$(code "$out")" 4 "a container ID with a slash: code 4"
CT4=moat-cni4-$S; container "$CT4"
ip -n "$CT4" link add eth0 type veth peer name eth0p
out=$(cni ADD "e$S" "/run/netns/$CT4" eth1 <"$conf"); rc=$?
assert_eq "$rc/$(code "$out")" 1/100 "a namespace with an interface already (a plugin before moat made it): code 100"
assert_match "$(jq -r .details <<<"$out")" "interface" "... details say why"
CT5=moat-cni5-$S; container "$CT5"
out=$(cni ADD "e$S" "/run/netns/$CT5" eth0 <<<'{"cniVersion":"1.0.0","name":"n","type":"moat","policy":"/nonexistent.yaml"}')
assert_eq "$(code "$out")" 7 "a missing policy file: code 7"
out=$(cni ADD "e$S" "/run/netns/$CT5" eth0 <<<'{"cniVersion":"1.0.0","name":"n","type":"moat","allow":["bad rule!"]}')
assert_eq "$(code "$out")" 7 "a bad inline rule: code 7"
out=$(cni ADD "e$S" "/run/netns/$CT5" eth0 <<<'{"cniVersion":"1.0.0","name":"n","type":"moat","default_egress":"maybe"}')
assert_eq "$(code "$out")" 7 "a bad default_egress: code 7"
assert_eq "$(records cni-e)" 0 "no sandbox left by any of them"
assert_eq "$(ip -n "$CT4" -o link show | wc -l)" 3 "the refused namespace is as it was (lo, eth0, eth0p)"
assert_eq "$(ip -n "$CT5" -o link show | wc -l)" 1 "the namespace of the refused policies: lo alone"

t_begin "DEL"
assert_status -m "DEL of an unknown container: exit 0" 0 cni DEL "nosuch$S" "" eth0 <"$conf"
assert_eq "$(cni DEL "nosuch$S" "" eth0 <"$conf")" "" "... printing nothing"
assert_status -m "DEL: exit 0" 0 cni DEL "$ID1" "$C1" eth0 <"$conf"
assert_eq "$(records cni-)" 0 "no record left"
assert_eq "$(in_host ip -o link show | grep -cw "$HIF1")" 0 "no host interface left"
assert_eq "$(in_host nft list table inet moat 2>/dev/null | grep -c "${HIF1}_")" 0 "no rules left"
assert_eq "$(ip -n "$CT1" -o link show | wc -l)" 1 "the container's namespace: lo alone"
assert_fail -m "and no network from it" probe_tcp "$C1" 93.184.216.34 22
assert_status -m "DEL again: exit 0" 0 cni DEL "$ID1" "$C1" eth0 <"$conf"
assert_status -m "ADD after DEL: exit 0" 0 cni ADD "$ID1" "$C1" eth0 <"$conf"
assert_ok -m "... the internet again" probe_tcp "$C1" 93.184.216.34 22
ip netns del "$CT1"
gone() { ! [ -e "$MOAT_RUN_DIR/sandboxes/$N1" ]; }
assert_ok -m "the namespace deleted without DEL: the sandbox ends by itself" wait_for 5 gone
assert_status -m "DEL after that: exit 0" 0 cni DEL "$ID1" "$C1" eth0 <"$conf"

m rm -f "b-$S" >/dev/null
t_end
