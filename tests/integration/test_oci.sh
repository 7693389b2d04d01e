#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_oci.sh - moat oci-hook, the OCI hook. First with the real Podman and
# runc, run inside the world's host namespace with their own state under
# $WORLD_DIR/podman and a hooks.d file made by "moat oci-hook
# --print-config": a container annotated io.moat.policy=FILE started with
# "--network none" (image: busybox-static imported offline) reaches the
# internet and not the LAN, metadata, the host or another sandbox; its DNS
# (a resolv.conf naming 8.8.8.8) is intercepted with a domain rule; it
# shows in ls, logs and stats; once stopped nothing of it is left. A hook
# failure (no such policy file, one not root's) keeps the container from
# starting; a container without the annotation is untouched. Then, in any
# case, the hook fed state JSON by hand for a namespace held by a process
# (what a runtime does), with its refusals.
#
#   [podman container: netns of runc]  --veth moat adds--  [HOST: moat, podman]  --  [LAN]  --  [INET]
#   [holder process's netns]           --veth--                 |
# shellcheck source=../lib/preamble.sh
. "$(dirname "$0")/../lib/preamble.sh"

t_world
command -v jq >/dev/null || { echo "not ok - jq is needed"; exit 1; }



pol=$WORLD_DIR/oci.yaml
cat >"$pol" <<EOF
version: 1
egress:
  default: public
  rules:
    - deny: evil.example
    - allow: github.com
      ports: [443]
      protocol: tcp
EOF
chmod 644 "$pol"

t_begin "--print-config"
hooks=$WORLD_DIR/hooks
mkdir -p "$hooks"
cfg=$(m oci-hook --print-config)
assert_eq "$(jq -r .version <<<"$cfg")" 1.0.0 "version 1.0.0"
assert_eq "$(jq -r .hook.path <<<"$cfg")" "$(readlink -f "$MOAT")" "the hook is this binary, by absolute path"
assert_eq "$(jq -c .stages <<<"$cfg")" '["createRuntime","poststop"]' "both stages"
assert_eq "$(jq -r '.when.annotations["^io\\.moat\\.policy$"]' <<<"$cfg")" ".*" "selected by the io.moat.policy annotation"
assert_match "$(jq -r '.hook.env[]' <<<"$cfg")" "MOAT_RUN_DIR=$MOAT_RUN_DIR" "moat's environment goes with it"
echo "$cfg" >"$hooks/moat.json"
assert_eq "$(jq -c 'del(.hook.path, .hook.env)' "$MOAT_SRCDIR/contrib/oci/moat-hook.json")" \
	"$(jq -c 'del(.hook.path, .hook.env)' <<<"$cfg")" "contrib/oci/moat-hook.json is what --print-config prints"

# --- with Podman --------------------------------------------------------------

podman_why=
if ! command -v podman >/dev/null || ! command -v runc >/dev/null; then
	podman_why="podman or runc is not installed (scripts/install-deps.sh)"
elif ! [ -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then
	podman_why="busybox-static is not installed"
fi

PD=$WORLD_DIR/podman
pod() {
	in_host podman --root "$PD/root" --runroot "$PD/run" --runtime runc \
		--cgroup-manager cgroupfs --events-backend file \
		--hooks-dir "$hooks" "$@"
}
# runc cannot raise rlimits where moat's tests may run without
# CAP_SYS_RESOURCE: ask for low ones (lowering is always allowed)
ulim=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
prun() { pod run -d --network none --runtime runc "${ulim[@]}" \
	-v "$WORLD_DIR/resolv.conf:/etc/resolv.conf:ro" "$@"; }
# bx CT ARGS...: busybox inside the container
bx() { local ct=$1; shift; pod exec "$ct" /bin/busybox "$@"; }
printf 'nameserver 8.8.8.8\noptions timeout:2 attempts:1\n' >"$WORLD_DIR/resolv.conf"

if [ -z "$podman_why" ]; then
	world_on_destroy rm -rf "$PD"
	world_on_destroy pod rm -af -t 0
	mkdir -p "$PD/img/bin"
	cp /bin/busybox "$PD/img/bin/busybox"
	ln -s busybox "$PD/img/bin/sh"
	mkdir -p "$PD/img/etc"
	if ! out=$(tar -C "$PD/img" -c . | pod import - localhost/moat-test 2>&1); then
		podman_why="podman import fails here: $(tail -n1 <<<"$out")"
	elif ! out=$(prun --rm localhost/moat-test /bin/busybox true 2>&1) ||
	     ! out=$(pod wait "$out" 2>&1 || true); then
		podman_why="podman run fails here: $(tail -n1 <<<"$out")"
	fi
fi

if [ -n "$podman_why" ]; then
	t_begin "podman"
	echo "ok - podman # SKIP $podman_why"
else
	t_begin "podman: an annotated container"
	ct=$(prun --annotation "io.moat.policy=$pol" localhost/moat-test /bin/busybox sleep 600 2>&1); rc=$?
	assert_eq "$rc" 0 "podman run with io.moat.policy starts: $ct"
	name=oci-${ct:0:12}
	j=$(m inspect "$name" --json)
	assert_eq "$(jfield "$j" status)" running "sandbox $name is running"
	assert_eq "$(jq -r .attached <<<"$j")" true "attached"
	IFH=$(jfield "$j" host_interface)
	IP4=$(jfield "$j" ipv4)
	SVP=$(jfield "$j" supervisor_pid)
	cpid=$(pod inspect -f '{{.State.Pid}}' "$ct")
	assert_eq "$(stat -L -c %i "/proc/$cpid/ns/net")" "$(jfield "$j" netns_inode)" "its namespace is the container's"
	assert_match "$(m ls)" "$name +running +filtered +$IP4 +$IFH" "ls shows it"
	assert_eq "$(bx "$ct" ip -o -4 addr show dev eth0 | awk '{print $4}')" "$IP4/30" "inside: eth0 with the sandbox's address"

	t_begin "podman: from inside the container"
	assert_match "$(bx "$ct" nc -w 3 93.184.216.34 22 </dev/null 2>&1)" "INET-22" "a public server answers"
	assert_match "$(in_host nc -w 2 192.168.77.10 5432 </dev/null 2>&1)" "LAN-5432" "control: the LAN answers the host"
	assert_fail -m "the LAN is refused" bx "$ct" sh -c 'nc -w 3 192.168.77.10 5432 </dev/null | grep -q LAN'
	get='GET / HTTP/1.0\r\nHost: 169.254.169.254\r\n\r\n'
	assert_match "$(in_host sh -c "printf '$get' | nc -w 2 169.254.169.254 80" 2>&1)" "META" "control: metadata answers the host"
	assert_fail -m "metadata is refused" bx "$ct" sh -c "printf '$get' | nc -w 3 169.254.169.254 80 | grep -q META"
	assert_ok -m "control: the host's port 22 answers the LAN" probe_tcp lan 192.168.77.2 22
	assert_fail -m "the host is refused" bx "$ct" sh -c 'nc -w 3 192.168.77.2 22 </dev/null | grep -q .'
	m create "b-$S" >/dev/null
	B_IP=$(jfield "$(m inspect "b-$S" --json)" ipv4)
	_world_spawn srv-b "/run/netns/moat-b-$S" "$WORLD_PYTHON" -I "$WORLD_SRV" "tcp:0.0.0.0:8080:B-8080"
	world_wait_listen "moat-b-$S" tcp 8080 >/dev/null
	assert_ok -m "control: sandbox b's server answers inside b" probe_tcp "moat-b-$S" "$B_IP" 8080
	assert_fail -m "another sandbox is refused" bx "$ct" sh -c "nc -w 3 $B_IP 8080 </dev/null | grep -q B-8080"
	assert_fail -m "... and it cannot reach the container" probe_tcp "moat-b-$S" "$IP4" 22

	t_begin "podman: DNS inside the container"
	assert_match "$(bx "$ct" cat /etc/resolv.conf)" "nameserver 8.8.8.8" "its resolv.conf names 8.8.8.8"
	assert_eq "$(probe_dns host 8.8.8.8 evil.example)" 151.101.1.1 "control: the upstream resolves evil.example"
	evil_before=$(grep -c 'query\[A\] evil.example' "$WORLD_DNSMASQ_LOG")
	assert_match "$(bx "$ct" nslookup -type=a github.com 2>&1)" "Address: 140.82.112.3" "an allowed name resolves"
	assert_match "$(bx "$ct" nslookup -type=a evil.example 2>&1)" "NXDOMAIN" "a denied name is NXDOMAIN"
	assert_eq "$(grep -c 'query\[A\] evil.example' "$WORLD_DNSMASQ_LOG")" "$evil_before" "evil.example never reached the upstream"
	# tls_first NAME: a ClientHello with SNI NAME sent by busybox nc from
	# the container to github.com's address, port 443 (allowed for
	# github.com); the first byte answered, in hex (16: a handshake)
	tls_first() {
		"$WORLD_PYTHON" "$MOAT_SRCDIR/tests/lib/tls_hello.py" --sni "$1" >"$WORLD_DIR/hello" || return 1
		pod exec -i "$ct" /bin/busybox nc -w 3 140.82.112.3 443 <"$WORLD_DIR/hello" 2>/dev/null |
			od -An -tx1 -N1 | tr -d ' \n'
	}
	assert_eq "$(tls_first github.com)" 16 "TLS with SNI github.com to its address: the server answers"
	assert_ne "$(tls_first evil.example)" 16 "SNI fronting (SNI evil.example to github.com's address) is refused"
	plogs() { m logs "$name" --json | jq -r ".[] | select(.kind == \"proxy\" and .action == \"$1\") | .name" | sort -u | tr '\n' ' '; }
	assert_eq "$(plogs allow)" "github.com " "logs: the proxy allowed github.com"
	assert_match "$(plogs deny)" "(^| )evil.example " "logs: the proxy refused SNI evil.example"

	t_begin "podman: logs and stats"
	lan_logged() { [ "$(nlogs "$name" '.kind == "deny" and .dst == "192.168.77.10"')" -gt 0 ]; }
	assert_ok -m "logs: the denial to the LAN" wait_for 5 lan_logged
	assert_match "$(m logs "$name")" "name=evil.example .*action=nxdomain" "logs: the NXDOMAIN"
	den=$(m stats "$name" --json | jq '[.sandboxes[0].counters[] | select(.verdict == "denied") | .packets] | add')
	if [ "${den:-0}" -gt 0 ]; then ok "stats: $den packets denied"; else not_ok "stats: packets denied" "$den"; fi

	t_begin "podman: the container stops, nothing is left"
	assert_ok -m "podman rm -f" pod rm -f -t 0 "$ct"
	assert_ok -m "the sandbox is gone" wait_for 5 sh -c "! [ -e '$MOAT_RUN_DIR/sandboxes/$name' ]"
	assert_eq "$(leftovers "$name" "$IFH")" "" "no veth, rules or record"
	assert_ok -m "its supervisor is gone" wait_for 3 proc_gone "$SVP"
	assert_eq "$(m ls | grep -c "$name")" 0 "ls does not show it"

	t_begin "podman: a hook failure keeps the container from starting"
	n_before=$(m ls --json | jq length)
	out=$(prun --annotation "io.moat.policy=$WORLD_DIR/nonexistent.yaml" localhost/moat-test /bin/busybox sleep 600 2>&1); rc=$?
	assert_ne "$rc" 0 "podman run fails with a missing policy file"
	assert_match "$out" "nonexistent.yaml': No such file" "podman shows the hook's error"
	assert_eq "$(pod ps -q | wc -l)" 0 "no container runs"
	assert_eq "$(m ls --json | jq length)" "$n_before" "no sandbox made"
	cp "$pol" "$WORLD_DIR/nobody.yaml"
	chown nobody "$WORLD_DIR/nobody.yaml"
	out=$(prun --annotation "io.moat.policy=$WORLD_DIR/nobody.yaml" localhost/moat-test /bin/busybox sleep 600 2>&1); rc=$?
	assert_ne "$rc" 0 "a policy file not owned by root: podman run fails"
	assert_match "$out" "not owned by root" "... saying why"
	assert_eq "$(pod ps -q | wc -l)" 0 "no container runs"
	pod rm -af -t 0 >/dev/null 2>&1

	t_begin "podman: a container without the annotation is untouched"
	ct2=$(prun localhost/moat-test /bin/busybox sleep 600 2>&1); rc=$?
	assert_eq "$rc" 0 "it starts"
	assert_eq "$(bx "$ct2" ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')" "lo " "inside: lo only"
	assert_eq "$(m ls --json | jq length)" "$n_before" "no sandbox"
	pod rm -f -t 0 "$ct2" >/dev/null
	m rm -f "b-$S" >/dev/null
fi

# --- runc through moat oci-runtime (Docker's path) ---------------------------

RR=$WORLD_DIR/runc-root
rt() { in_host "$MOAT" oci-runtime "$@"; }
# (the container keeps the stdio of "runc create": files, never a pipe the
# test reads to its end)
# bundle DIR: a runc bundle running busybox sleep, with its own network
# namespace (runc spec's default), nothing of moat
bundle() {
	mkdir -p "$1/rootfs/bin"
	cp /bin/busybox "$1/rootfs/bin/busybox"
	(cd "$1" && runc spec) || return 1
	jq '.process.args = ["/bin/busybox", "sleep", "600"] | .process.terminal = false' \
		"$1/config.json" >"$1/c.json" && mv "$1/c.json" "$1/config.json"
}
if ! command -v runc >/dev/null || ! [ -x /bin/busybox ]; then
	t_begin "oci-runtime"
	echo "ok - oci-runtime # SKIP runc or busybox-static is not installed"
else
	t_begin "oci-runtime: runc create with --policy"
	RID=rc${S}runc1
	B=$WORLD_DIR/bundle1
	bundle "$B"
	world_on_destroy in_host runc --root "$RR" delete -f "$RID"
	out=$(rt "--policy=$pol" --root "$RR" create --bundle "$B" "$RID" </dev/null >/dev/null 2>"$WORLD_DIR/rt.err"); rc=$?; out+=$(cat "$WORLD_DIR/rt.err")
	assert_eq "$rc" 0 "runc create through moat oci-runtime: exit 0 $out"
	assert_eq "$(jq -r '.annotations["io.moat.policy"]' "$B/config.json")" "$pol" "config.json: the annotation added"
	assert_eq "$(jq -r '.hooks.createRuntime[0].args, .hooks.poststop[0].args | join(" ")' "$B/config.json" | sort -u)" "moat oci-hook" "config.json: moat's hook at both stages"
	RPID=$(in_host runc --root "$RR" state "$RID" | jq .pid)
	RNAME=oci-${RID:0:12}
	j=$(m inspect "$RNAME" --json)
	assert_eq "$(jfield "$j" status)" running "sandbox $RNAME is running before the container starts"
	assert_eq "$(jfield "$j" netns_inode)" "$(stat -L -c %i "/proc/$RPID/ns/net")" "its namespace is the container's"
	RIF=$(jfield "$j" host_interface)
	assert_ok -m "runc start" in_host runc --root "$RR" start "$RID"
	assert_ok -m "a public server answers" probe_tcp "/proc/$RPID/ns/net" 93.184.216.34 22
	assert_fail -m "the LAN is refused" probe_tcp "/proc/$RPID/ns/net" 192.168.77.10 5432
	in_host runc --root "$RR" kill "$RID" KILL
	wait_for 5 sh -c "[ \"\$(nsenter --net=$HOST_NETNS runc --root $RR state $RID | jq -r .status)\" = stopped ]"
	assert_ok -m "runc delete (poststop)" rt --root "$RR" delete "$RID"
	assert_ok -m "the sandbox is gone" wait_for 5 sh -c "! [ -e '$MOAT_RUN_DIR/sandboxes/$RNAME' ]"
	assert_eq "$(leftovers "$RNAME" "$RIF")" "" "nothing left on the host"

	t_begin "oci-runtime: a hook failure, a container not moat's"
	RID2=rd${S}runc2
	B2=$WORLD_DIR/bundle2
	bundle "$B2"
	world_on_destroy in_host runc --root "$RR" delete -f "$RID2"
	out=$(rt "--policy=$WORLD_DIR/nonexistent.yaml" --root "$RR" create --bundle "$B2" "$RID2" </dev/null >/dev/null 2>"$WORLD_DIR/rt.err"); rc=$?; out+=$(cat "$WORLD_DIR/rt.err")
	assert_ne "$rc" 0 "a missing policy file: runc create fails"
	assert_match "$out" "nonexistent.yaml': No such file" "... with the hook's error"
	assert_fail -m "... and there is no container" in_host runc --root "$RR" state "$RID2"
	assert_eq "$(m ls --json | jq '[.[] | select(.name | startswith("oci-rd"))] | length')" 0 "... nor sandbox"
	B3=$WORLD_DIR/bundle3
	bundle "$B3"
	cp "$B3/config.json" "$WORLD_DIR/config3.json"
	out=$(rt --root "$RR" create --bundle "$B3" "$RID2" </dev/null >/dev/null 2>"$WORLD_DIR/rt.err"); rc=$?; out+=$(cat "$WORLD_DIR/rt.err")
	assert_eq "$rc" 0 "without --policy or annotation: runc create exits 0 $out"
	assert_ok -m "config.json unchanged" cmp "$B3/config.json" "$WORLD_DIR/config3.json"
	RPID2=$(in_host runc --root "$RR" state "$RID2" | jq .pid)
	assert_eq "$(nsenter --net="/proc/$RPID2/ns/net" ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')" "lo " "inside: lo only, no sandbox"
	in_host runc --root "$RR" delete -f "$RID2"
	assert_status -m "another runc command passes through (runc state of nothing: runc's status)" 1 rt --root "$RR" state "$RID2"
	assert_status -m "a relative --policy: exit 2" 2 rt --policy=oci.yaml --root "$RR" list
fi

# --- the hook by hand, as a runtime calls it -----------------------------------

# holder: a "container": a process with its own network namespace (lo up)
(exec unshare --net sleep 600) &
HP=$!
world_on_destroy kill "$HP"
wait_for 3 sh -c "[ \"\$(stat -L -c %i /proc/$HP/ns/net)\" != \"\$(stat -L -c %i /proc/self/ns/net)\" ]"
nsenter --net="/proc/$HP/ns/net" ip link set lo up
HN=/proc/$HP/ns/net
ID=abcdef012345${S}0000
HNAME=oci-abcdef012345
state() { # STATUS [ANNOTATIONS-JSON]
	local a=${2:-'{}'}
	jq -nc --arg id "$ID" --arg st "$1" --argjson pid "$HP" --argjson ann "$a" \
		'{ociVersion: "1.0.2", id: $id, status: $st, pid: $pid, bundle: "/nonexistent", annotations: $ann}'
}
hook() { state "$@" | in_host "$MOAT" oci-hook; }
ann=$(jq -nc --arg p "$pol" '{"io.moat.policy": $p, "io.moat.allow": "93.184.216.34", "io.moat.deny": "192.0.2.1,198.51.100.0/24", "io.moat.ifname": "net0"}')

t_begin "hook by hand: refusals change nothing"
before=$(nsenter --net="$HN" ip -o link show | wc -l)
assert_status -m "not JSON: exit 2" 2 sh -c "echo '{bad' | nsenter --net=$HOST_NETNS $MOAT oci-hook"
assert_eq "$(echo '{bad' | in_host "$MOAT" oci-hook 2>&1 | wc -l)" 1 "... in one line"
assert_status -m "a JSON array: exit 2" 2 sh -c "echo '[]' | nsenter --net=$HOST_NETNS $MOAT oci-hook"
assert_status -m "no annotation: exit 0" 0 hook creating
assert_status -m "no pid: exit 2" 2 sh -c "state creating '$ann' | jq -c 'del(.pid)' | nsenter --net=$HOST_NETNS $MOAT oci-hook"
assert_status -m "an unknown io.moat annotation: exit 2" 2 hook creating "$(jq -c '. + {"io.moat.polcy": "x"}' <<<"$ann")"
assert_status -m "a relative policy path: exit 1" 1 hook creating '{"io.moat.policy": "oci.yaml"}'
chmod 666 "$pol"
assert_match "$(hook creating "$ann" 2>&1)" "writable by group or others" "a policy file writable by others: refused"
chmod 644 "$pol"
mkdir -m 777 "$WORLD_DIR/open"
cp "$pol" "$WORLD_DIR/open/p.yaml"
assert_match "$(hook creating "{\"io.moat.policy\": \"$WORLD_DIR/open/p.yaml\"}" 2>&1)" "directory $WORLD_DIR/open is writable" "in a directory writable by others: refused"
ln -s "$WORLD_DIR/nobody.yaml" "$WORLD_DIR/link.yaml"
cp "$pol" "$WORLD_DIR/nobody.yaml" 2>/dev/null; chown nobody "$WORLD_DIR/nobody.yaml"
assert_match "$(hook creating "{\"io.moat.policy\": \"$WORLD_DIR/link.yaml\"}" 2>&1)" "not owned by root" "a symlink to a file not root's: refused"
assert_status -m "an unknown status: exit 2" 2 hook running "$ann"
assert_eq "$(nsenter --net="$HN" ip -o link show | wc -l)" "$before" "the namespace is unchanged"
assert_eq "$(m ls --json | jq '[.[] | select(.name | startswith("oci-"))] | length')" 0 "no sandbox made"

t_begin "hook by hand: creating attaches, stopped removes"
out=$(hook creating "$ann" 2>&1); rc=$?
assert_eq "$rc" 0 "creating: exit 0 ($out)"
j=$(m inspect "$HNAME" --json)
assert_eq "$(jfield "$j" status)" running "sandbox $HNAME is running"
assert_eq "$(jfield "$j" netns_inode)" "$(stat -L -c %i "$HN")" "its namespace is the holder's"
assert_eq "$(jfield "$j" inside_interface)" net0 "io.moat.ifname: the interface inside is net0"
HIF=$(jfield "$j" host_interface)
HSV=$(jfield "$j" supervisor_pid)
assert_ok -m "a public server answers" probe_tcp "$HN" 93.184.216.34 22
assert_fail -m "the LAN is refused" probe_tcp "$HN" 192.168.77.10 5432
assert_match "$(m policy test "$pol" 192.0.2.1:22 2>&1)" "allow|public" "control: the file alone allows 192.0.2.1"
assert_match "$(m inspect "$HNAME")" "192.0.2.1" "io.moat.deny reached the policy"
assert_status -m "creating again: refused (exit 125: the name exists), the sandbox stays" 125 hook creating "$ann"
assert_ok -m "... and still works" probe_tcp "$HN" 93.184.216.34 22
assert_status -m "stopped: exit 0" 0 hook stopped "$ann"
assert_eq "$(leftovers "$HNAME" "$HIF")" "" "nothing left on the host"
assert_ok -m "its supervisor is gone" wait_for 3 proc_gone "$HSV"
assert_status -m "stopped again: exit 0 (idempotent)" 0 hook stopped "$ann"
m create "$HNAME" >/dev/null
assert_status -m "stopped with a sandbox of that name not attached: exit 1" 1 hook stopped "$ann"
assert_eq "$(jfield "$(m inspect "$HNAME" --json)" status)" running "... and it is left alone"
m rm "$HNAME"

t_begin "hook by hand: the namespace ends, the sandbox goes by itself"
assert_status -m "creating" 0 hook creating "$ann"
HIF=$(jfield "$(m inspect "$HNAME" --json)" host_interface)
kill "$HP"; wait "$HP" 2>/dev/null
assert_ok -m "the sandbox removed itself" wait_for 10 sh -c "! [ -e '$MOAT_RUN_DIR/sandboxes/$HNAME' ]"
assert_eq "$(leftovers "$HNAME" "$HIF")" "" "nothing left on the host"
assert_status -m "stopped afterwards: exit 0" 0 hook stopped "$ann"

t_end
