#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_publish.sh - published ports: served by the supervisor on the host,
# loopback by default (not reachable from the LAN), non-loopback binds
# with ingress.allow_from, UDP, restricted mode, large transfers byte-exact
# both ways, half-close, the connection limit; no peer from another sandbox
# (even one allowed "host" on the port), only loopback peers on a loopback
# bind (even with the host's route_localnet=1).
#
#   [LAN 192.168.77.1] -- [HOST 127.0.0.1:P, 192.168.77.2:P  (supervisor)]
#                                  | relays to
#                           [sandbox: socat servers on :80 :81 :53u]
# shellcheck source=../lib/preamble.sh
. "$(dirname "$0")/../lib/preamble.sh"

t_world
pids=()
kill_pids() { [ ${#pids[@]} = 0 ] || kill "${pids[@]}" 2>/dev/null; return 0; }
world_on_destroy kill_pids

# serve NS: token servers inside a sandbox (tcp 80, tcp 81 echo, udp 5300;
# the UDP one reads the datagram socat hands it before it answers: a
# command that exits first would make socat's write of it fail, EPIPE,
# and no answer go back)
serve() {
	local ns=$1
	ip netns exec "$ns" socat TCP-LISTEN:80,fork,reuseaddr SYSTEM:'echo SANDBOX-80' &
	pids+=($!)
	ip netns exec "$ns" socat TCP-LISTEN:81,fork,reuseaddr EXEC:cat &
	pids+=($!)
	ip netns exec "$ns" socat UDP-RECVFROM:5300,fork SYSTEM:'head -c1 >/dev/null; echo SANDBOX-UDP' &
	pids+=($!)
	world_wait_listen "$ns" tcp 80 && world_wait_listen "$ns" tcp 81 &&
		world_wait_listen "$ns" udp 5300
}

t_begin "loopback publish (the default bind)"
m create "p-$S" --publish 18080:80 --publish 18081:81 --publish 18053:5300/udp >/dev/null ||
	not_ok "create with --publish"
P=moat-p-$S
serve "$P"
assert_eq "$(probe_tcp host 127.0.0.1 18080)" SANDBOX-80 "reachable on host loopback"
assert_eq "$(probe_udp host 127.0.0.1 18053 3)" SANDBOX-UDP "udp reachable on host loopback"
assert_fail -m "not reachable from the LAN on the host's address" probe_tcp lan 192.168.77.2 18080
assert_fail -m "not reachable from the host's LAN address either" probe_tcp host 192.168.77.2 18080
assert_match "$(in_host ss -Hltn 'sport = :18080')" "127.0.0.1:18080" "listens on 127.0.0.1 only"

t_begin "byte-exact transfers both ways, half-close"
head -c 20000000 /dev/urandom >"$WORLD_DIR/big.bin"
want=$(sha256sum <"$WORLD_DIR/big.bin" | cut -d' ' -f1)
got=$(in_host sh -c "socat -t30 -T10 - TCP:127.0.0.1:18081 <'$WORLD_DIR/big.bin'" 2>/dev/null | sha256sum | cut -d' ' -f1)
assert_eq "$got" "$want" "20 MB echoed through the published port, byte-exact"
# (socat -t30: socat gives up 0.5 s after its stdin ends by default)
# a reader that stalls near the end: the sandbox has sent everything and
# closed while its last bytes still wait in the relay for the peer
slow_sha='import hashlib,sys,time
h=hashlib.sha256(); i=sys.stdin.buffer; n=0
while True:
    b=i.read(65536)
    if not b: break
    h.update(b); n+=len(b)
    if n>=19000000 and n-len(b)<19000000: time.sleep(1)
print(h.hexdigest())'
got=$(in_host sh -c "socat -t30 -T10 - TCP:127.0.0.1:18081 <'$WORLD_DIR/big.bin'" 2>/dev/null | python3 -c "$slow_sha")
assert_eq "$got" "$want" "byte-exact with a slow reader (nothing lost when the sandbox closes first)"

t_begin "non-loopback bind with allow_from"
cat >"$WORLD_DIR/pub.yaml" <<'EOF'
version: 1
ingress:
  publish: ["0.0.0.0:18090:80"]
  allow_from: [192.168.77.1/32]
EOF
m create "q-$S" --policy "$WORLD_DIR/pub.yaml" >/dev/null || not_ok "create with allow_from"
serve "moat-q-$S"
assert_eq "$(probe_tcp lan 192.168.77.2 18090)" SANDBOX-80 "allowed LAN source reaches it"
assert_fail -m "a source outside allow_from is refused" probe_tcp host 192.168.77.2 18090
assert_fail -m "another sandbox cannot reach it through the host (I2)" probe_tcp "$P" 192.168.77.2 18090
m create "r-$S" --publish 0.0.0.0:18091:80 >/dev/null
serve "moat-r-$S"
assert_eq "$(probe_tcp lan 192.168.77.2 18091)" SANDBOX-80 "no allow_from: any source (as Docker)"

t_begin "restricted mode"
m create "s-$S" --restricted --publish 18100:80 >/dev/null || not_ok "create restricted with --publish"
serve "moat-s-$S"
assert_eq "$(probe_tcp host 127.0.0.1 18100)" SANDBOX-80 "published port works in restricted mode"
assert_fail -m "while the sandbox reaches nothing" probe_tcp "moat-s-$S" 93.184.216.34 22

t_begin "connection limit"
cat >"$WORLD_DIR/lim.yaml" <<'EOF'
version: 1
ingress:
  publish: ["18110:81"]
limits:
  connections: 2
EOF
m create "l-$S" --policy "$WORLD_DIR/lim.yaml" >/dev/null || not_ok "create with limits.connections"
serve "moat-l-$S"
in_host socat -T20 TCP:127.0.0.1:18110 SYSTEM:'sleep 5' &
c1=$!
in_host socat -T20 TCP:127.0.0.1:18110 SYSTEM:'sleep 5' &
c2=$!
# active: the sandbox's relayed connections in use
active() { m inspect "l-$S" --json | jq -r .supervisor.publish.active; }
assert_eq "$(wait_eq 5 2 active)" 2 "two connections active"
out=$(echo hi | in_host socat -T2 - TCP:127.0.0.1:18110 2>/dev/null)
assert_ne "$out" hi "a third is refused"
ref=$(m inspect "l-$S" --json | jq -r .supervisor.publish.refused_limit)
assert_eq "$ref" 1 "the refusal is counted"
kill "$c1" "$c2" 2>/dev/null; wait "$c1" "$c2" 2>/dev/null
wait_eq 5 0 active >/dev/null
assert_eq "$(echo hi | in_host socat -T2 - TCP:127.0.0.1:18110)" hi "a new connection works once they closed"

t_begin "peers through published ports"
# sandbox t is allowed the host's ports 8022 (a host service) and
# 18091/18092 (where sandbox r and u publish on 0.0.0.0): the host service
# answers, the other sandboxes' published ports refuse it (I1)
m create "t-$S" --allow host:8022/tcp --allow host:18091/tcp --allow host:18092/udp >/dev/null ||
	not_ok "create the peer sandbox"
m create "u-$S" --publish 0.0.0.0:18092:5300/udp >/dev/null || not_ok "create with a UDP publish"
serve "moat-u-$S"
T_GW=$(m inspect "t-$S" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["gateway4"])')
assert_eq "$(probe_tcp "moat-t-$S" "$T_GW" 8022)" HOST-8022 "control: the sandbox reaches the host port it is allowed"
assert_eq "$(probe_tcp lan 192.168.77.2 18091)" SANDBOX-80 "control: the LAN reaches sandbox r's published TCP port"
assert_eq "$(probe_udp lan 192.168.77.2 18092 3)" SANDBOX-UDP "control: the LAN reaches sandbox u's published UDP port"
assert_fail -m "sandbox t cannot reach sandbox r through its published TCP port (host address)" probe_tcp "moat-t-$S" 192.168.77.2 18091
assert_fail -m "nor through its own gateway address" probe_tcp "moat-t-$S" "$T_GW" 18091
assert_fail -m "nor sandbox u through its published UDP port (gateway address)" probe_udp "moat-t-$S" "$T_GW" 18092 3
# a loopback bind takes loopback peers only. With the host's
# route_localnet=1 a LAN host can send to 127.0.0.1; what the published
# port sees then is a peer with a non-loopback address, which the host
# itself produces deterministically by binding its LAN address as the
# source of a connection to 127.0.0.1
from_src() {	# SRC PORT: connect from SRC to 127.0.0.1:PORT, print the token
	in_host "$WORLD_PYTHON" -c '
import socket,sys
s=socket.socket(); s.settimeout(2); s.bind((sys.argv[1],0))
s.connect(("127.0.0.1",int(sys.argv[2])))
d=s.recv(100)
sys.exit(0 if d else 1)' "$1" "$2"
}
assert_ok -m "control: a peer with source 192.168.77.2 reaches a host service on 127.0.0.1" from_src 192.168.77.2 8000
assert_ok -m "control: a loopback peer reaches the loopback-bound published port" from_src 127.0.0.1 18080
assert_fail -m "a non-loopback peer (192.168.77.2) is refused by the loopback-bound published port" from_src 192.168.77.2 18080

t_end
