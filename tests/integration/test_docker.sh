#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_docker.sh - moat oci-runtime under a real Docker daemon (Debian's
# docker.io). dockerd runs inside the world's host namespace with its own
# state under $WORLD_DIR/docker (data root, exec root, socket, pid file,
# the containerd it starts itself), no iptables and no bridge; its
# daemon.json registers the runtime "moat" = "moat oci-runtime
# --policy=FILE". The image is busybox-static imported offline. A
# container run with "--runtime moat --network none" reaches the internet
# and not the LAN, metadata or the host; its DNS (--dns 8.8.8.8) is
# intercepted with a domain rule; it shows in ls; once removed nothing of
# it is left. A container run with the default runtime is untouched. A
# missing policy file keeps the container from starting. dockerd and its
# containerd are stopped by PID when the world goes.
#
#   [docker container: netns of runc]  --veth moat adds--  [HOST: dockerd, moat]  --  [LAN]  --  [INET]
# shellcheck source=../lib/preamble.sh
. "$(dirname "$0")/../lib/preamble.sh"

t_world
command -v jq >/dev/null || { echo "not ok - jq is needed"; exit 1; }



pol=$WORLD_DIR/docker.yaml
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

DK=$WORLD_DIR/docker
# Debian's client (the daemon's version), whatever else is first in PATH
DOCKER=/usr/bin/docker
why=
if ! [ -x /usr/sbin/dockerd ] || ! [ -x "$DOCKER" ]; then
	why="docker.io is not installed (scripts/install-deps.sh)"
elif ! command -v runc >/dev/null; then
	why="runc is not installed"
elif ! [ -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then
	why="busybox-static is not installed"
fi
[ -z "$why" ] || t_skip_all "$why"

dk() { in_host "$DOCKER" -H "unix://$DK/sock" "$@"; }

# dk_stop: every container removed (their shims exit), then dockerd and
# the containerd it started, by PID
dk_stop() {
	local p
	dk ps -aq 2>/dev/null | xargs -r nsenter --net="$HOST_NETNS" "$DOCKER" -H "unix://$DK/sock" rm -f >/dev/null 2>&1
	for p in "$(cat "$DK/pid" 2>/dev/null)" "$(cat "$DK/exec/containerd/containerd.pid" 2>/dev/null)"; do
		[ -n "$p" ] || continue
		kill "$p" 2>/dev/null
		wait_for 10 proc_gone "$p" || kill -9 "$p" 2>/dev/null
	done
	# a shim left behind: its command line names our containerd's socket
	for p in $(pgrep -f "containerd-shim.*$DK/exec/containerd/containerd.sock"); do
		kill -9 "$p" 2>/dev/null
	done
	rm -rf "$DK"
}

mkdir -p "$DK/data" "$DK/exec" "$DK/img/bin" "$DK/img/etc"
cat >"$DK/daemon.json" <<EOF
{ "runtimes": { "moat": { "path": "$(readlink -f "$MOAT")",
    "runtimeArgs": ["oci-runtime", "--policy=$pol"] } },
  "deprecated-key-path": "$DK/key.json" }
EOF
world_on_destroy dk_stop
# dockerd makes /run/docker/plugins (a fixed path): removed afterwards if
# it was not there
[ -e /run/docker ] || world_on_destroy rmdir /run/docker/plugins /run/docker
# dockerd gives containerd, the shim and runc its environment: moat's
# hook gets MOAT_RUN_DIR from there
in_host setsid dockerd --data-root "$DK/data" --exec-root "$DK/exec" \
	--pidfile "$DK/pid" -H "unix://$DK/sock" --config-file "$DK/daemon.json" \
	--iptables=false --ip6tables=false --bridge=none --ip-forward=false \
	--storage-driver vfs >"$DK/log" 2>&1 </dev/null &
wait_for 30 dk info >/dev/null 2>&1 ||
	t_skip_all "dockerd does not start here: $(grep -m1 -iE 'level=(fatal|error)|failed' "$DK/log" | cut -c1-200)"

t_begin "dockerd in the world's host namespace"
DPID=$(cat "$DK/pid")
assert_eq "$(stat -L -c %i "/proc/$DPID/ns/net")" "$(stat -L -c %i "$HOST_NETNS")" "dockerd runs in the world's host namespace"
assert_match "$(dk info --format '{{json .Runtimes}}')" '"moat"' "the runtime moat is registered"
cp /bin/busybox "$DK/img/bin/busybox"
ln -s busybox "$DK/img/bin/sh"
assert_ok -m "docker import of a busybox-static rootfs" sh -c "tar -C '$DK/img' -c . | nsenter --net=$HOST_NETNS $DOCKER -H unix://$DK/sock import - moat-test >/dev/null"

ulim=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
drun() { dk run -d --network none "${ulim[@]}" --dns 8.8.8.8 --dns-option timeout:2 --dns-option attempts:1 "$@"; }
bx() { local ct=$1; shift; dk exec "$ct" /bin/busybox "$@"; }

t_begin "docker run --runtime moat"
ct=$(drun --runtime moat moat-test /bin/busybox sleep 600 2>&1); rc=$?
assert_eq "$rc" 0 "docker run --runtime moat --network none starts: $ct"
name=oci-${ct:0:12}
j=$(m inspect "$name" --json)
assert_eq "$(jfield "$j" status)" running "sandbox $name is running"
IFH=$(jfield "$j" host_interface)
IP4=$(jfield "$j" ipv4)
SVP=$(jfield "$j" supervisor_pid)
cpid=$(dk inspect -f '{{.State.Pid}}' "$ct")
assert_eq "$(stat -L -c %i "/proc/$cpid/ns/net")" "$(jfield "$j" netns_inode)" "its namespace is the container's"
assert_match "$(m ls)" "$name +running +filtered +$IP4 +$IFH" "ls shows it"
assert_eq "$(bx "$ct" ip -o -4 addr show dev eth0 | awk '{print $4}')" "$IP4/30" "inside: eth0 with the sandbox's address"

t_begin "docker: from inside the container"
assert_match "$(bx "$ct" nc -w 3 93.184.216.34 22 </dev/null 2>&1)" "INET-22" "a public server answers"
assert_match "$(in_host nc -w 2 192.168.77.10 5432 </dev/null 2>&1)" "LAN-5432" "control: the LAN answers the host"
assert_fail -m "the LAN is refused" bx "$ct" sh -c 'nc -w 3 192.168.77.10 5432 </dev/null | grep -q LAN'
get='GET / HTTP/1.0\r\nHost: 169.254.169.254\r\n\r\n'
assert_match "$(in_host sh -c "printf '$get' | nc -w 2 169.254.169.254 80" 2>&1)" "META" "control: metadata answers the host"
assert_fail -m "metadata is refused" bx "$ct" sh -c "printf '$get' | nc -w 3 169.254.169.254 80 | grep -q META"
assert_ok -m "control: the host's port 22 answers the LAN" probe_tcp lan 192.168.77.2 22
assert_fail -m "the host is refused" bx "$ct" sh -c 'nc -w 3 192.168.77.2 22 </dev/null | grep -q .'

t_begin "docker: DNS inside the container"
assert_match "$(bx "$ct" cat /etc/resolv.conf)" "nameserver 8.8.8.8" "its resolv.conf (--dns) names 8.8.8.8"
assert_eq "$(probe_dns host 8.8.8.8 evil.example)" 151.101.1.1 "control: the upstream resolves evil.example"
evil_before=$(grep -c 'query\[A\] evil.example' "$WORLD_DNSMASQ_LOG")
assert_match "$(bx "$ct" nslookup -type=a github.com 2>&1)" "Address: 140.82.112.3" "an allowed name resolves"
assert_match "$(bx "$ct" nslookup -type=a evil.example 2>&1)" "NXDOMAIN" "a denied name is NXDOMAIN"
assert_eq "$(grep -c 'query\[A\] evil.example' "$WORLD_DNSMASQ_LOG")" "$evil_before" "evil.example never reached the upstream"

t_begin "docker: the container is removed, nothing is left"
assert_ok -m "docker rm -f" dk rm -f "$ct"
assert_ok -m "the sandbox is gone" wait_for 5 sh -c "! [ -e '$MOAT_RUN_DIR/sandboxes/$name' ]"
assert_eq "$(leftovers "$name" "$IFH")" "" "no veth, rules or record"
assert_ok -m "its supervisor is gone" wait_for 3 proc_gone "$SVP"
assert_eq "$(m ls | grep -c "$name")" 0 "ls does not show it"

t_begin "docker: a container that ends by itself"
out=$(dk run --rm --runtime moat --network none "${ulim[@]}" moat-test /bin/busybox sh -c \
	'ip -o link show dev eth0 >/dev/null && echo has-eth0; nc -w 3 93.184.216.34 22 </dev/null' 2>&1); rc=$?
assert_eq "$rc" 0 "docker run --rm --runtime moat (attached) exits 0"
assert_match "$out" "has-eth0" "... it had moat's eth0"
assert_match "$out" "INET-22" "... it reached the public server"
assert_eq "$(m ls --json | jq '[.[] | select(.name | startswith("oci-"))] | length')" 0 "... and no sandbox is left"

t_begin "docker: a hook failure keeps the container from starting"
sed -i "s|--policy=$pol|--policy=$WORLD_DIR/nonexistent.yaml|" "$DK/daemon.json"
assert_ok -m "dockerd reloads daemon.json (SIGHUP)" kill -HUP "$DPID"
wait_for 10 sh -c "nsenter --net=$HOST_NETNS $DOCKER -H unix://$DK/sock info --format '{{json .Runtimes}}' | grep -q nonexistent"
out=$(drun --runtime moat moat-test /bin/busybox sleep 600 2>&1); rc=$?
assert_ne "$rc" 0 "a missing policy file: docker run fails"
assert_match "$out" "nonexistent.yaml': No such file" "docker shows the hook's error"
assert_eq "$(dk ps -q | wc -l)" 0 "no container runs"
assert_eq "$(m ls --json | jq length)" 0 "no sandbox made"
dk ps -aq | xargs -r nsenter --net="$HOST_NETNS" "$DOCKER" -H "unix://$DK/sock" rm -f >/dev/null 2>&1

t_begin "docker: a container of the default runtime is untouched"
ct2=$(drun moat-test /bin/busybox sleep 600 2>&1); rc=$?
assert_eq "$rc" 0 "docker run --network none (runc) starts"
assert_eq "$(dk inspect -f '{{.HostConfig.Runtime}}' "$ct2")" runc "its runtime is runc"
assert_eq "$(bx "$ct2" ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')" "lo " "inside: lo only"
assert_eq "$(m ls --json | jq length)" 0 "no sandbox"
dk rm -f "$ct2" >/dev/null

t_end
