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
# as CNI's error object with its codes, and nothing half made. Then two real
# clients, each in the world's host namespace with its own state under
# $WORLD_DIR: containerd's "ctr run --cni" and Podman's CNI backend
# ("podman run --network"), a busybox-static image made offline: the same
# reach and refusals from inside the container, DNS, and nothing left once
# the container is stopped.
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
jq '. + {runtimeConfig: {"io.kubernetes.cri.pod-annotations": {"io.moat.policy": "pick"}}}' "$dconf" >"$WORLD_DIR/cni-ann.conf"
container "moat-cnip5-$S"
assert_eq "$(pick 5 "K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=pod1" "$WORLD_DIR/cni-ann.conf")" "203.0.113.4 " "the pod annotation io.moat.policy=NAME before the pod's file"
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

t_begin "prevResult: moat after a plugin that made no interface in the namespace"
CT6=moat-cni6-$S; container "$CT6"
jq '. + {prevResult: {cniVersion: "1.0.0", interfaces: [{name: "other0"}], ips: [], dns: {nameservers: ["192.0.2.53"]}}}' "$conf" >"$WORLD_DIR/prev.conf"
out=$(cni ADD "pr$S" "/run/netns/$CT6" eth0 <"$WORLD_DIR/prev.conf"); rc=$?
assert_eq "$rc" 0 "ADD with a prevResult: exit 0"
assert_eq "$(jq -r '[.interfaces[].name] | join(" ")' <<<"$out")" "other0 $(jfield "$(m inspect "cni-pr$S" --json)" host_interface) eth0" "the prevResult's interface kept, moat's added"
assert_eq "$(jq -r '.ips[0].interface' <<<"$out")" 2 "moat's address names its interface's index in the list"
assert_eq "$(jq -r '.dns.nameservers | join(" ")' <<<"$out")" 192.0.2.53 "the prevResult's nameservers kept"
assert_status -m "DEL" 0 cni DEL "pr$S" "/run/netns/$CT6" eth0 <"$WORLD_DIR/prev.conf"

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
m create "cni-mine$S" --no-net >/dev/null
assert_status -m "DEL naming a sandbox 'moat create' made: exit 0" 0 cni DEL "mine$S" "" eth0 <"$conf"
assert_match "$(m ls)" "cni-mine$S +running" "... which is not removed: not the plugin's"
m rm "cni-mine$S"
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

t_begin "containerd: ctr run --cni with moat as the network's plugin"
# ctr (the client) runs the CNI plugins itself, from /etc/cni/net.d and
# /opt/cni/bin, which it does not let one change: ctr runs in a mount
# namespace of its own where the test's directories are mounted there.
# containerd runs in the world's host namespace with its own root, state
# socket, runc root and I/O FIFOs under $WORLD_DIR; the image is busybox-static,
# imported offline.
if ! command -v containerd >/dev/null || ! command -v ctr >/dev/null || ! [ -x /bin/busybox ]; then
	ok "# SKIP containerd, ctr or busybox-static not installed (./scripts/install-deps.sh)"
else
	CD=$WORLD_DIR/ctrd
	mkdir -p "$CD/root" "$CD/state" "$CD/net.d" "$CD/bin" "$CD/fifo"
	ln -s "$MOAT" "$CD/bin/moat"
	SOCK=$CD/containerd.sock
	cat >"$CD/config.toml" <<EOF
version = 2
root = "$CD/root"
state = "$CD/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
EOF
	printf '{"cniVersion":"1.0.0","name":"moatnet","plugins":[{"type":"moat","policy":"%s","deny":["evil.example"]}]}\n' \
		"$pol" >"$CD/net.d/10-moat.conflist"
	[ -e /run/containerd ] && rm_ctrd_run=false || rm_ctrd_run=true
	(exec nsenter --net="$HOST_NETNS" containerd --config "$CD/config.toml" >"$CD/log" 2>&1) &
	CTRD=$!
	ctr_() { nsenter --net="$HOST_NETNS" ctr --address "$SOCK" --namespace moat "$@"; }
	# ctrd_stop: on the way out, whatever happened: the container killed
	# and deleted, containerd stopped, no mount left under $CD
	ctrd_stop() {
		local mp
		ctr_ task kill --signal KILL "$CTR"; sleep 1
		ctr_ task delete --force "$CTR"; ctr_ container rm "$CTR"
		kill "$CTRD"; wait "$CTRD"
		awk -v d="$CD/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts |
			while read -r mp; do umount "$mp"; done
	}
	world_on_destroy ctrd_stop
	# containerd 1.6 puts its shims' sockets under /run/containerd/s, a
	# fixed path: removed after containerd (if empty) when it was not there
	! $rm_ctrd_run || world_on_destroy rmdir /run/containerd/s /run/containerd
	ctrd_up() { ctr_ version >/dev/null 2>&1; }
	assert_ok -m "containerd answers on its own socket" wait_for 10 ctrd_up
	# an OCI image layout of busybox-static: /bin/busybox and its applets
	"$WORLD_PYTHON" - "$CD/image.tar" <<'PY'
import hashlib, io, json, sys, tarfile
def blob(t, data):
    d = hashlib.sha256(data).hexdigest()
    i = tarfile.TarInfo("blobs/sha256/" + d); i.size = len(data)
    t.addfile(i, io.BytesIO(data))
    return {"digest": "sha256:" + d, "size": len(data)}
lb = io.BytesIO()
with tarfile.open(fileobj=lb, mode="w") as l:
    for d in ("bin", "etc", "proc", "sys", "dev", "tmp"):
        i = tarfile.TarInfo(d); i.type = tarfile.DIRTYPE; i.mode = 0o755; l.addfile(i)
    l.add("/bin/busybox", "bin/busybox")
    for a in ("sh", "nc", "nslookup", "sleep", "ip", "cat", "timeout"):
        i = tarfile.TarInfo("bin/" + a); i.type = tarfile.SYMTYPE; i.linkname = "busybox"; l.addfile(i)
layer = lb.getvalue()
cfg = json.dumps({"architecture": "amd64", "os": "linux",
                  "config": {"Env": ["PATH=/bin"], "Cmd": ["/bin/sh"]},
                  "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]}}).encode()
with tarfile.open(sys.argv[1], "w") as t:
    c = dict(blob(t, cfg), mediaType="application/vnd.oci.image.config.v1+json")
    ly = dict(blob(t, layer), mediaType="application/vnd.oci.image.layer.v1.tar")
    m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": c, "layers": [ly]}).encode()
    md = dict(blob(t, m), mediaType="application/vnd.oci.image.manifest.v1+json",
              annotations={"io.containerd.image.name": "docker.io/moat/busybox:test",
                           "org.opencontainers.image.ref.name": "test"})
    for n, d in (("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
                 ("index.json", json.dumps({"schemaVersion": 2, "manifests": [md]}).encode())):
        i = tarfile.TarInfo(n); i.size = len(d); t.addfile(i, io.BytesIO(d))
PY
	assert_ok -m "the busybox image imports offline" ctr_ image import --snapshotter native "$CD/image.tar"
	IMG=docker.io/moat/busybox:test
	CTR=ctr$S
	CN=cni-moat-$CTR	# ctr names the container "NAMESPACE-ID" to CNI
	# shellcheck disable=SC2016 # expanded by that sh
	(exec nsenter --net="$HOST_NETNS" unshare -m --propagation private sh -c '
		mount --bind "$1/net.d" /etc/cni/net.d && mount -t tmpfs none /opt &&
		mkdir -p /opt/cni/bin && ln -s "$1/bin/moat" /opt/cni/bin/moat &&
		exec ctr --address "$1/containerd.sock" --namespace moat run --rm --cni \
			--fifo-dir "$1/fifo" --runc-root "$1/runc" --snapshotter native "$2" "$3" sleep 600' sh "$CD" "$IMG" "$CTR" \
		>"$CD/run.log" 2>&1) &
	RUNP=$!
	world_on_destroy kill "$RUNP"
	running() { [ "$(jfield "$(m inspect "$CN" --json 2>/dev/null)" status 2>/dev/null)" = running ]; }
	if assert_ok -m "ctr run --cni: moat's sandbox $CN runs" wait_for 20 running; then
		j=$(m inspect "$CN" --json)
		CNS=$(jfield "$j" netns)
		CIP=$(jfield "$j" ipv4)
		assert_match "$CNS" "^/proc/[0-9]+/ns/net$" "attached by the task's /proc/PID/ns/net"
		tx() { timeout 20 nsenter --net="$HOST_NETNS" ctr --address "$SOCK" --namespace moat task exec --fifo-dir "$CD/fifo" --exec-id "x$RANDOM" "$CTR" "$@" </dev/null; }
		# tnc HOST PORT: what a TCP connection from the container receives
		# in 3 seconds (busybox's nc waits for the server to close)
		tnc() { tx timeout 3 nc "$1" "$2"; }
		assert_eq "$(tx ip -o -4 addr show dev eth0 | awk '{print $4}')" "$CIP/30" "inside the container: eth0 with the sandbox's address"
		assert_match "$(tnc 93.184.216.34 22)" "INET-22" "from the container: the public server"
		assert_ok -m "control: the LAN service answers the host" probe_tcp host 192.168.77.10 5432
		assert_match "$(tnc 192.168.77.10 5432 2>&1)" "can.t connect" "from the container: the LAN refused"
		assert_fail -m "the LAN refused (probe in its namespace)" probe_tcp "$CNS" 192.168.77.10 5432
		assert_fail -m "metadata refused" probe_udp "$CNS" 169.254.169.254 9
		assert_fail -m "the host refused" probe_tcp "$CNS" 192.168.77.2 22
		assert_ok -m "control: sandbox b answers inside b" probe_tcp "moat-b-$S" "$B_IP" 8080
		assert_fail -m "another sandbox refused" probe_tcp "$CNS" "$B_IP" 8080
		assert_match "$(tx nslookup github.com 8.8.8.8 2>&1)" "140.82.112.3" "from the container: github.com resolves"
		assert_match "$(tx nslookup evil.example 8.8.8.8 2>&1)" "NXDOMAIN" "from the container: evil.example is NXDOMAIN"
		assert_match "$(m ls)" "$CN +running" "moat ls lists the container"
		assert_match "$(m logs "$CN")" "name=evil.example .*action=nxdomain" "moat logs shows the NXDOMAIN"
		HIFC=$(jfield "$j" host_interface)
		ctr_ task kill --signal KILL "$CTR" >/dev/null 2>&1
		rundone() { ! kill -0 "$RUNP" 2>/dev/null; }
		assert_ok -m "the container stopped: ctr run ends" wait_for 20 rundone
		gone_c() { ! [ -e "$MOAT_RUN_DIR/sandboxes/$CN" ]; }
		assert_ok -m "... and the sandbox is gone" wait_for 10 gone_c
		assert_eq "$(in_host ip -o link show | grep -cw "$HIFC")" 0 "... with its host interface"
		assert_eq "$(in_host nft list table inet moat 2>/dev/null | grep -c "${HIFC}_")" 0 "... and its rules"
	else
		sed 's/^/# ctr run: /' "$CD/run.log"
		tail -5 "$CD/log" | sed 's/^/# containerd: /'
	fi
fi

t_begin "Podman's CNI backend: podman run --network with moat as the network's plugin"
# podman in the world's host namespace with its own storage, run directory
# and containers.conf (network_backend "cni", the test's CNI dirs)
if ! command -v podman >/dev/null || ! [ -x /bin/busybox ]; then
	ok "# SKIP podman or busybox-static not installed"
else
	PD=$WORLD_DIR/podman
	mkdir -p "$PD/net.d" "$PD/bin" "$PD/tmp"
	ln -s "$MOAT" "$PD/bin/moat"
	cat >"$PD/containers.conf" <<EOF
[network]
network_backend = "cni"
cni_plugin_dirs = ["$PD/bin"]
network_config_dir = "$PD/net.d"
[engine]
events_logger = "file"
cgroup_manager = "cgroupfs"
EOF
	printf '{"cniVersion":"1.0.0","name":"moatnet","plugins":[{"type":"moat","policy":"%s","deny":["evil.example"]}]}\n' \
		"$pol" >"$PD/net.d/moatnet.conflist"
	pm() {
		CONTAINERS_CONF=$PD/containers.conf timeout 60 nsenter --net="$HOST_NETNS" podman \
			--root "$PD/root" --runroot "$PD/run" --tmpdir "$PD/tmp" \
			--storage-driver vfs --network-config-dir "$PD/net.d" "$@"
	}
	"$WORLD_PYTHON" - "$PD/rootfs.tar" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1], "w") as l:
    for d in ("bin", "etc", "proc", "sys", "dev", "tmp"):
        i = tarfile.TarInfo(d); i.type = tarfile.DIRTYPE; i.mode = 0o755; l.addfile(i)
    l.add("/bin/busybox", "bin/busybox")
    for a in ("sh", "nc", "nslookup", "sleep", "ip", "cat", "timeout"):
        i = tarfile.TarInfo("bin/" + a); i.type = tarfile.SYMTYPE; i.linkname = "busybox"; l.addfile(i)
PY
	assert_ok -m "podman import of a busybox-static root" pm import -q "$PD/rootfs.tar" localhost/moat/busybox:test
	PCT=pod$S
	world_on_destroy pm rm -f -t 0 "$PCT"
	out=$(pm run -d --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --name "$PCT" --network moatnet localhost/moat/busybox:test sleep 600 2>&1); rc=$?
	assert_eq "$rc" 0 "podman run -d --network moatnet exits 0"
	[ "$rc" = 0 ] || printf '# podman: %s\n' "${out//$'\n'/$'\n'# podman: }"
	PID=$(pm inspect -f '{{.Id}}' "$PCT" 2>/dev/null)
	PN=cni-${PID:0:44}
	if [ "$rc" = 0 ] && assert_match "$(m ls)" "$PN +running" "moat ls: sandbox cni- and the container ID's first 44 characters"; then
		j=$(m inspect "$PN" --json)
		PNS=$(jfield "$j" netns)
		PIP=$(jfield "$j" ipv4)
		HIFP=$(jfield "$j" host_interface)
		assert_eq "$(pm inspect -f '{{.NetworkSettings.Networks.moatnet.IPAddress}}' "$PCT")" "$PIP" "podman inspect shows moat's address (from the CNI result)"
		px() { pm exec "$PCT" "$@" </dev/null; }
		assert_match "$(px timeout 3 nc 93.184.216.34 22)" "INET-22" "from the container: the public server"
		assert_match "$(px timeout 3 nc 192.168.77.10 5432 2>&1)" "can.t connect" "from the container: the LAN refused"
		assert_fail -m "metadata refused" probe_udp "$PNS" 169.254.169.254 9
		assert_fail -m "the host refused" probe_tcp "$PNS" 192.168.77.2 22
		assert_fail -m "another sandbox refused" probe_tcp "$PNS" "$B_IP" 8080
		assert_match "$(px nslookup github.com 8.8.8.8 2>&1)" "140.82.112.3" "from the container: github.com resolves"
		assert_match "$(px nslookup evil.example 8.8.8.8 2>&1)" "NXDOMAIN" "from the container: evil.example is NXDOMAIN"
		assert_ok -m "podman stop" pm stop -t 0 "$PCT"
		gone_p() { ! [ -e "$MOAT_RUN_DIR/sandboxes/$PN" ]; }
		assert_ok -m "... the sandbox is gone" wait_for 10 gone_p
		assert_eq "$(in_host ip -o link show | grep -cw "$HIFP")" 0 "... with its host interface"
		assert_eq "$(in_host nft list table inet moat 2>/dev/null | grep -c "${HIFP}_")" 0 "... and its rules"
	fi
fi

m rm -f "b-$S" >/dev/null
t_end
