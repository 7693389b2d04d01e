#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_reuse.sh - connection-tracking state never outlives its sandbox, and
# "related" is not "established": attacks from root inside a sandbox, each
# with a positive control.
#
# The pool here holds one sandbox (MOAT_POOL4 a /30, MOAT_POOL6 a /64), so
# the second sandbox gets the first one's address, gateway and interface
# name: the worst case of reuse, whatever the allocator does.
#
#   [A, then B: 10.231.0.2, moat0] --- [HOST 192.168.77.2: udp *:8022,
#                                        an admin table with an FTP helper]
#                                              |
#                                        [LAN router] --- [INET 1.1.1.1 udp 9999 echo,
#                                                          93.184.216.34 tcp 21 fake FTP,
#                                                          tcp 9999 token]
# shellcheck source=../lib/preamble.sh
. "$(dirname "$0")/../lib/preamble.sh"

t_world conntrack nat
export MOAT_POOL4=10.231.0.0/30 MOAT_POOL6=fd6d:6f61:7400::/64
pids=()
kill_pids() { [ ${#pids[@]} = 0 ] || kill "${pids[@]}" 2>/dev/null; return 0; }
world_on_destroy kill_pids

# udp_from NS SPORT DST PORT: send one datagram from a fixed source port,
# print the first reply (nothing within 2 s: exit 1)
udp_from() {
	ip netns exec "$1" "$WORLD_PYTHON" -c '
import socket,sys
sport,dst,port=int(sys.argv[1]),sys.argv[2],int(sys.argv[3])
fam=socket.AF_INET6 if ":" in dst else socket.AF_INET
s=socket.socket(fam,socket.SOCK_DGRAM); s.settimeout(2)
s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)
s.bind(("::" if fam==socket.AF_INET6 else "0.0.0.0",sport))
s.sendto(b"probe",(dst,port))
try: print(s.recv(200).decode(errors="replace").strip()); sys.exit(0)
except OSError: sys.exit(1)' "$2" "$3" "$4"
}

# ct_marked MARK: conntrack entries of the host namespace with that mark
ct_marked() {
	in_host grep -c "mark=$(($1)) " /proc/net/nf_conntrack 2>/dev/null || true
}

t_begin "A sandbox inherits nothing of the one before it (same address, same interface)"
m create "a-$S" --allow host:8022/udp >/dev/null || not_ok "create A"
ja=$(m inspect "a-$S" --json)
A_IP=$(jfield "$ja" ipv4); A_GW=$(jfield "$ja" gateway4); A_IF=$(jfield "$ja" host_interface)
A_INST=$(jfield "$ja" instance)
assert_match "$(udp_from "moat-a-$S" 40000 1.1.1.1 9999)" "INET-9999" "control: A's UDP flow to the internet gets replies"
assert_match "$(udp_from "moat-a-$S" 40002 2606:4700:4700::1111 9999)" "INET-9999" "control: and over IPv6 (NAT66)"
assert_match "$(udp_from "moat-a-$S" 40001 "$A_GW" 8022)" "HOST-8022" "control: A's UDP flow to the host service it is allowed gets replies"
# a flow to a port where nothing answers yet: its first "reply" may come later
udp_from "moat-a-$S" 40004 1.1.1.1 7777 >/dev/null
assert_ne "$(ct_marked "$A_INST")" 0 "A's connections carry its instance mark"
m rm -f "a-$S" >/dev/null
assert_eq "$(ct_marked "$A_INST")" 0 "rm removes A's conntrack entries"

m create "b-$S" --restricted >/dev/null || not_ok "create B"
jb=$(m inspect "b-$S" --json)
assert_eq "$(jfield "$jb" ipv4) $(jfield "$jb" host_interface)" "$A_IP $A_IF" "B has A's address and interface (a one-sandbox pool)"
assert_ne "$(jfield "$jb" instance)" "$A_INST" "B is another instance"
assert_fail -m "restricted B cannot use A's UDP flow to the internet" udp_from "moat-b-$S" 40000 1.1.1.1 9999
assert_fail -m "nor A's IPv6 flow" udp_from "moat-b-$S" 40002 2606:4700:4700::1111 9999
assert_fail -m "nor A's flow to the host service" udp_from "moat-b-$S" 40001 "$A_GW" 8022
# an internet server pushes a datagram at A's flow that had no reply yet
# (to the host's address: masquerade kept the source port)
ip netns exec "moat-b-$S" "$WORLD_PYTHON" -c '
import socket
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(3); s.bind(("0.0.0.0",40004))
try: print(s.recv(100).decode()); 
except OSError: print("nothing")' >"$WORLD_DIR/push.out" &
pusher=$!
world_wait_listen "moat-b-$S" udp 40004
in_inet "$WORLD_PYTHON" -c '
import socket
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("1.1.1.1",7777))
s.sendto(b"PUSHED",("192.168.77.2",40004))' 2>/dev/null
wait "$pusher"
assert_eq "$(cat "$WORLD_DIR/push.out")" nothing "B receives nothing an internet server pushes at A's old flow"
m rm -f "b-$S" >/dev/null

# entries that outlive their sandbox (say its rm was killed before it
# flushed them): put one back by hand with A's mark, for A's flow to the
# host service, and B still cannot use it; the same entry with B's own
# mark shows the probe would have seen it
m create "b-$S" --restricted >/dev/null || not_ok "create B again"
B_INST=$(jfield "$(m inspect "b-$S" --json)" instance)
ct_put() {	# MARK SPORT: a UDP entry A -> gateway:8022, replied, assured
	# (conntrack 1.4.7 overwrites --mark with --status on -I: two steps)
	in_host conntrack -I -p udp -s "$A_IP" -d "$A_GW" --sport "$2" --dport 8022 \
		-r "$A_GW" -q "$A_IP" --reply-port-src 8022 --reply-port-dst "$2" \
		-t 120 --status ASSURED,SEEN_REPLY >/dev/null 2>&1 &&
	in_host conntrack -U -p udp -s "$A_IP" -d "$A_GW" --sport "$2" --dport 8022 \
		--mark "$(printf 0x%x "$1")" >/dev/null 2>&1 &&
	[ "$(ct_marked "$1")" != 0 ]
}
assert_ok -m "an entry of A's instance is put back" ct_put "$A_INST" 40001
assert_fail -m "B cannot use a left-over entry of A's instance to reach the host service" \
	udp_from "moat-b-$S" 40001 "$A_GW" 8022
assert_ok -m "control: an entry with B's own mark" ct_put "$B_INST" 40003
assert_match "$(udp_from "moat-b-$S" 40003 "$A_GW" 8022)" "HOST-8022" \
	"control: is used as established (so the probe can see a reply)"
m rm -f "b-$S" >/dev/null

t_begin "related is not established"
# the host's administrator enables the FTP conntrack helper for port 21
in_host nft -f - <<'EOF'
table inet admin {
	ct helper ftp-std { type "ftp" protocol tcp; }
	chain pre { type filter hook prerouting priority filter; policy accept; tcp dport 21 ct helper set "ftp-std"; }
}
EOF
cat >"$WORLD_DIR/ftpd.py" <<'EOF'
# a fake FTP server: PASV names port 9999 (the world's token server)
import socket,sys,threading
def serve(c):
    f=c.makefile("rwb",buffering=0)
    f.write(b"220 fake ftp\r\n")
    for line in f:
        cmd=line.decode(errors="replace").strip()
        if cmd.upper()=="PASV":
            f.write(b"227 Entering Passive Mode (93,184,216,34,39,15)\r\n")
        else:
            f.write(b"500 ?\r\n")
    c.close()
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)
s.bind(("93.184.216.34",21)); s.listen()
print("ready",flush=True)
while True:
    c,_=s.accept(); threading.Thread(target=serve,args=(c,),daemon=True).start()
EOF
in_inet "$WORLD_PYTHON" "$WORLD_DIR/ftpd.py" >"$WORLD_DIR/ftpd.out" 2>&1 &
pids+=($!)
world_wait_listen inet tcp 21 93.184.216.34

# ftp_pasv NS: PASV, then connect to the data port it names; print the token
ftp_pasv() {
	ip netns exec "$1" "$WORLD_PYTHON" -c '
import socket,sys
c=socket.create_connection(("93.184.216.34",21),timeout=2); f=c.makefile("rwb",buffering=0)
f.readline(); f.write(b"PASV\r\n"); r=f.readline().decode()
n=[int(x) for x in r[r.index("(")+1:r.index(")")].split(",")]
d=socket.create_connection((".".join(map(str,n[:4])),n[4]*256+n[5]),timeout=2)
print(d.recv(100).decode().strip())'
}
m create "f-$S" --default-egress deny --allow 93.184.216.34:21/tcp >/dev/null || not_ok "create F"
assert_fail -m "control: F cannot reach port 9999 directly (not allowed)" probe_tcp "moat-f-$S" 93.184.216.34 9999
assert_fail -m "F cannot reach port 9999 through the FTP helper's PASV expectation" ftp_pasv "moat-f-$S"
m rm -f "f-$S" >/dev/null
m create "g-$S" --default-egress deny --allow 93.184.216.34:21/tcp --allow 93.184.216.34:9999/tcp >/dev/null ||
	not_ok "create G"
assert_match "$(ftp_pasv "moat-g-$S")" "INET-9999" "control: PASV works where the policy allows the data port"
m rm -f "g-$S" >/dev/null

t_end
