#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_links.sh - links between sandboxes: traffic from A to B flows on the
# ports both policies name (A: allow sandbox:B, B: accept sandbox:A), and
# nothing else does; links follow sandboxes as they come and go and as
# their policies change; attacks from root inside the sandboxes, each with
# its positive control.
#
#   [A agent: allow sandbox:db 5432] --moatA--+
#   [B db: accept sandbox:a 5432, 6000] -moatB-+-- [HOST] -- [LAN] -- [INET]
#   [C: allow sandbox:db 5432] ------moatC----+
#   [D: nothing] ---------------------moatD---+
#   later E (B's address, no links), B again, R (restricted, accepts C)
#
# The pool holds four sandboxes (a /28 and a /62), so that once B is
# removed the next sandbox gets B's address and interface name.
# B listens on TCP and UDP 5432, 5433 and 6000 (echo servers that greet
# first), A on TCP 7000.
# moat-test: long
# shellcheck source=../lib/preamble.sh
. "$(dirname "$0")/../lib/preamble.sh"

t_world conntrack
export MOAT_POOL4=10.231.0.0/28 MOAT_POOL6=fd6d:6f61:7400::/62
A=moat-a-$S
B=moat-db-$S
C=moat-c-$S
pids=()
kill_pids() { [ ${#pids[@]} = 0 ] || kill "${pids[@]}" 2>/dev/null; return 0; }
world_on_destroy kill_pids

# listen NS: B's (or its successor's) servers
listen() {
	local p
	for p in 5432 5433 6000; do
		as_root_in "$1" socat "TCP6-LISTEN:$p,ipv6only=0,fork,reuseaddr" SYSTEM:"echo TCP-$p; cat" 2>/dev/null &
		pids+=($!)
		as_root_in "$1" socat "UDP6-RECVFROM:$p,ipv6only=0,fork" SYSTEM:"head -c1 >/dev/null; echo UDP-$p" 2>/dev/null &
		pids+=($!)
	done
	for p in 5432 5433 6000; do
		world_wait_listen "$1" tcp "$p" && world_wait_listen "$1" udp "$p" ||
			return 1
	done
}

# hold NAME NS ADDR PORT: a TCP connection held open from NS, poked by
# "poke NAME" (0 iff a line sent comes back)
hold() {
	ip netns exec "$2" "$WORLD_PYTHON" -I -S "$MOAT_SRCDIR/tests/lib/hold.py" "$3" "$4" "$WORLD_DIR/$1.sock" \
		2>>"$WORLD_DIR/hold.err" &
	pids+=($!)
	disown $!
	wait_for 5 test -S "$WORLD_DIR/$1.sock"
}
poke() {
	[ "$("$WORLD_PYTHON" -c '
import socket,sys
s=socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])
print(s.recv(16).decode())' "$WORLD_DIR/$1.sock" 2>/dev/null)" = OK ]
}
# spoof NS SRC DST PORT: a TCP connect from a source address the sandbox
# does not own (root inside adds it first)
spoof() {
	ip netns exec "$1" "$WORLD_PYTHON" -c '
import socket,sys
fam=socket.AF_INET6 if ":" in sys.argv[2] else socket.AF_INET
s=socket.socket(fam); s.settimeout(1)
s.setsockopt(socket.SOL_IP, 15, 1)   # IP_FREEBIND
s.bind((sys.argv[1],0)); s.connect((sys.argv[2],int(sys.argv[3])))
print(s.recv(64).decode().strip())' "$2" "$3" "$4"
}
links_set() { in_host nft list set inet moat "${1:-links}" 2>/dev/null | tr -d '\n\t ' ; }
counter() {	# counter IFNAME NAME: packets of a sandbox's named counter
	in_host nft list counter inet moat "$1_$2" 2>/dev/null | sed -n 's/.*packets \([0-9]*\).*/\1/p'
}
logged() {	# logged NAME REASON: a denial with that reason is in NAME's log
	[ "$(nlogs "$1" ".reason == \"$2\"")" -ge 1 ] 2>/dev/null
}
link_live() {	# link_live NAME PEER DIRECTION: "true" or "false"
	m inspect "$1" --json | jq -r --arg p "$2" --arg d "$3" \
		'[.links[] | select(.peer == $p and .direction == $d) | .live | tostring] | first // "absent"'
}

printf 'version: 1\n' >"$WORLD_DIR/empty.yaml"

t_begin "policy check: a link names one sandbox, with ports"
printf 'version: 1\ningress:\n  accept:\n    - from: private\n      ports: [5432]\n' >"$WORLD_DIR/bad.yaml"
out=$(m policy check "$WORLD_DIR/bad.yaml" 2>&1); rc=$?
assert_eq "$rc" 1 "a group in place of a name: exit 1"
assert_match "$out" "bad.yaml:4:13: .*only a named sandbox" "located error"
out=$(m create "x-$S" --allow 'sandbox:*:5432' 2>&1); rc=$?
assert_eq "$rc" 2 "--allow sandbox:* refused (usage)"
assert_match "$out" "not a wildcard" "and says why"
assert_eq "$(leftovers "x-$S" moat)" "" "nothing created"

t_begin "B first (its link to A opens when A appears), then A, C and D"
sandbox db --accept "sandbox:a-$S:5432" --accept "sandbox:a-$S:6000/tcp" || t_end
jb=$(m inspect "db-$S" --json)
B_IP=$(jfield "$jb" ipv4); B_IP6=$(jfield "$jb" ipv6); B_IF=$(jfield "$jb" host_interface)
listen "$B" || not_ok "B's listeners"
assert_eq "$(link_live "db-$S" "a-$S" in)" false "inspect: B's link from A is not live before A exists"
sandbox a --allow "sandbox:db-$S:5432" || t_end
sandbox c --allow "sandbox:db-$S:5432" || t_end
sandbox d || t_end
ja=$(m inspect "a-$S" --json)
A_IP=$(jfield "$ja" ipv4); A_IF=$(jfield "$ja" host_interface)
as_root_in "$A" socat TCP-LISTEN:7000,fork,reuseaddr SYSTEM:'echo SANDBOX-A' 2>/dev/null &
pids+=($!)
world_wait_listen "$A" tcp 7000 || not_ok "A's listener"
assert_eq "$(link_live "a-$S" "db-$S" out)" true "inspect: A's link to B is live"
assert_eq "$(link_live "db-$S" "a-$S" in)" true "inspect: so is B's link from A"
assert_eq "$(link_live "c-$S" "db-$S" out)" false "inspect: C's is not (B does not accept C)"
assert_match "$(m inspect "c-$S" | grep -i -A3 links)" "no consent from the peer" "inspect (text) says why"

t_begin "A -> B on the linked port: TCP, UDP, IPv4 and IPv6"
assert_ok -m "control: the host reaches B's TCP 5433" probe_tcp host "$B_IP" 5433
assert_ok -m "control: and UDP 5433" probe_udp host "$B_IP" 5433
assert_eq "$(probe_tcp "$A" "$B_IP" 5432)" TCP-5432 "A -> B tcp 5432"
assert_eq "$(probe_udp "$A" "$B_IP" 5432)" UDP-5432 "A -> B udp 5432"
if [ -n "$B_IP6" ]; then
	# (A's IPv6 address may still be tentative, duplicate address
	# detection, just after its creation)
	assert_eq "$(wait_eq 5 TCP-5432 probe_tcp "$A" "$B_IP6" 5432)" TCP-5432 "A -> B tcp 5432 over IPv6"
	assert_eq "$(probe_udp "$A" "$B_IP6" 5432)" UDP-5432 "A -> B udp 5432 over IPv6"
	assert_fail -m "A -> B tcp 5433 over IPv6" probe_tcp "$A" "$B_IP6" 5433
else
	ok "# SKIP no IPv6 in this world"
fi

t_begin "everything else between them fails"
assert_fail -m "A -> B tcp 5433 (no link on that port)" probe_tcp "$A" "$B_IP" 5433
assert_fail -m "A -> B udp 5433" probe_udp "$A" "$B_IP" 5433
assert_ok -m "control: the host reaches A's 7000" probe_tcp host "$A_IP" 7000
assert_fail -m "B -> A tcp 7000 (a link has one direction)" probe_tcp "$B" "$A_IP" 7000
assert_fail -m "C -> B tcp 5432 (only C's consent)" probe_tcp "$C" "$B_IP" 5432
assert_fail -m "D -> B tcp 5432 (no consent at all)" probe_tcp "moat-d-$S" "$B_IP" 5432
assert_fail -m "A -> the host still refused (I2)" probe_tcp "$A" 192.168.77.2 22
as_root_in "$C" ip addr add "$A_IP/32" dev eth0 2>/dev/null
C_IF=$(jfield "$(m inspect "c-$S" --json)" host_interface)
before=$(counter "$C_IF" d_i5_any)
out=$(spoof "$C" "$A_IP" "$B_IP" 5432 2>&1); rc=$?
assert_ne "$rc" 0 "C -> B tcp 5432 with A's address spoofed fails"
assert_no_match "$out" "TCP-5432" "and B never answers it"
after=$(counter "$C_IF" d_i5_any)
if [ "${after:-0}" -gt "${before:-0}" ]; then ok "it was dropped as spoofing (I5: $before -> $after)"
else not_ok "the spoofed packets counted as I5" "$before -> $after"; fi
as_root_in "$C" ip addr del "$A_IP/32" dev eth0 2>/dev/null

t_begin "one-sided consent fails, and the log says which side"
assert_fail -m "A -> B tcp 6000 (only B's consent)" probe_tcp "$A" "$B_IP" 6000
if wait_for 5 logged "a-$S" I1:link-noself; then ok "A's log: I1:link-noself (no rule on this side)"; else not_ok "A's log has a link-noself denial" "$(m logs "a-$S" 2>&1 | tail -n3)"; fi
if wait_for 5 logged "c-$S" I1:link-nopeer; then ok "C's log: I1:link-nopeer (no consent from the peer)"; else not_ok "C's log has a link-nopeer denial" "$(m logs "c-$S" 2>&1 | tail -n3)"; fi
assert_match "$(m logs "c-$S" 2>&1)" "no consent from the peer" "the text log explains it"

t_begin "moat update of either side changes the link live"
hold h1 "$A" "$B_IP" 5432 || not_ok "a held connection A -> B"
assert_ok -m "the held connection echoes" poke h1
out=$(m update "db-$S" --policy "$WORLD_DIR/empty.yaml" 2>&1)
assert_eq "$?" 0 "B's update without accept: exit 0 ($out)"
assert_fail -m "A -> B tcp 5432 no longer" probe_tcp "$A" "$B_IP" 5432
assert_fail -m "the held connection is cut" poke h1
assert_eq "$(link_live "a-$S" "db-$S" out)" false "inspect: A's link is not live"
out=$(m update "db-$S" --accept "sandbox:a-$S:5432,5433/tcp" 2>&1)
assert_eq "$?" 0 "B accepts A on 5432 and 5433 again: exit 0"
assert_eq "$(probe_tcp "$A" "$B_IP" 5432)" TCP-5432 "A -> B tcp 5432 again"
assert_fail -m "A -> B tcp 5433: B accepts, A does not allow" probe_tcp "$A" "$B_IP" 5433
assert_fail -m "A -> B udp 5432: B accepts tcp only now" probe_udp "$A" "$B_IP" 5432
out=$(m update "a-$S" --allow "sandbox:db-$S:5433/tcp" 2>&1)
assert_eq "$?" 0 "A allows 5433 too: exit 0"
assert_eq "$(probe_tcp "$A" "$B_IP" 5433)" TCP-5433 "A -> B tcp 5433 now"
hold h2 "$A" "$B_IP" 5433 || not_ok "a held connection A -> B 5433"
assert_ok -m "the held connection echoes" poke h2
out=$(m update "a-$S" --policy "$WORLD_DIR/empty.yaml" --allow "sandbox:db-$S:5432/tcp" 2>&1)
assert_eq "$?" 0 "A drops 5433: exit 0"
assert_fail -m "A -> B tcp 5433 no longer" probe_tcp "$A" "$B_IP" 5433
assert_fail -m "its held connection is cut" poke h2
assert_eq "$(probe_tcp "$A" "$B_IP" 5432)" TCP-5432 "A -> B tcp 5432 still"

t_begin "a firewall reload: the links come back with moat's table"
in_host nft delete table inet moat
if wait_for 5 eval '[ "$(probe_tcp "$A" "$B_IP" 5432 2>/dev/null)" = TCP-5432 ]'; then
	ok "A -> B tcp 5432 again once the supervisors restored the table"
else
	not_ok "A -> B tcp 5432 after the reload" "$(links_set)"
fi
assert_match "$(links_set)" "\"$A_IF\"\.\"$B_IF\"\.tcp\.5432" "the live link is back in the set"
assert_fail -m "A -> B tcp 5433 still refused" probe_tcp "$A" "$B_IP" 5433
assert_fail -m "C -> B tcp 5432 still refused" probe_tcp "$C" "$B_IP" 5432

t_begin "removing B closes the link, connections included"
hold h3 "$A" "$B_IP" 5432 || not_ok "a held connection A -> B"
assert_ok -m "the held connection echoes" poke h3
assert_match "$(links_set)" "\"$A_IF\"\.\"$B_IF\"" "the kernel's links hold A -> B"
m rm -f "db-$S" >/dev/null || not_ok "rm B"
assert_fail -m "the held connection is cut" poke h3
assert_no_match "$(links_set)" "\"$B_IF\"" "no element names B's interface any more"
assert_eq "$(link_live "a-$S" "db-$S" out)" false "inspect: A's link is not live"

t_begin "a new sandbox with B's address and interface is not linked"
# the worst case: a sync that did not finish (as if interrupted) left an
# element naming B's interface, which E will reuse
in_host nft add element inet moat links "{ \"$A_IF\" . \"$B_IF\" . tcp . 5432 }"
touch "$MOAT_RUN_DIR/links.dirty"
sandbox e || t_end
assert_no_match "$(links_set)" "\"$B_IF\"" "E's creation removed the stale element first"
assert_ok -m "and finished that sync" test ! -e "$MOAT_RUN_DIR/links.dirty"
je=$(m inspect "e-$S" --json)
assert_eq "$(jfield "$je" ipv4)" "$B_IP" "E has B's address"
assert_eq "$(jfield "$je" host_interface)" "$B_IF" "and B's interface name"
listen "moat-e-$S" || not_ok "E's listeners"
assert_ok -m "control: the host reaches E's 5432" probe_tcp host "$B_IP" 5432
assert_fail -m "A -> E tcp 5432 (A's link names db, not e)" probe_tcp "$A" "$B_IP" 5432
assert_fail -m "A -> E udp 5432" probe_udp "$A" "$B_IP" 5432
assert_fail -m "C -> E tcp 5432" probe_tcp "$C" "$B_IP" 5432
m rm -f "e-$S" >/dev/null || not_ok "rm E"

t_begin "B recreated with the same name is linked again"
sandbox db --accept "sandbox:a-$S:5432" || t_end
jb=$(m inspect "db-$S" --json)
B_IP=$(jfield "$jb" ipv4); B_IP6=$(jfield "$jb" ipv6)
listen "$B" || not_ok "B's listeners"
assert_eq "$(probe_tcp "$A" "$B_IP" 5432)" TCP-5432 "A -> new B tcp 5432"
assert_fail -m "A -> new B udp 5432 (A allows tcp only since its update)" probe_udp "$A" "$B_IP" 5432
assert_fail -m "A -> new B tcp 5433" probe_tcp "$A" "$B_IP" 5433
assert_fail -m "C -> new B tcp 5432" probe_tcp "$C" "$B_IP" 5432

t_begin "names: db.moat.internal inside A"
assert_eq "$(probe_dns "$A" 192.0.2.1 "db-$S.moat.internal")" "$B_IP" "A resolves B's name to its address"
if [ -n "$B_IP6" ]; then
	assert_eq "$(probe_dns "$A" 192.0.2.1 "db-$S.moat.internal" AAAA)" "$B_IP6" "and to its IPv6 address"
fi
assert_eq "$(dns_rcode "$C" 192.0.2.1 "db-$S.moat.internal")" NXDOMAIN "C, not linked, gets NXDOMAIN"
assert_eq "$(dns_rcode "$A" 192.0.2.1 "c-$S.moat.internal")" NXDOMAIN "A gets NXDOMAIN for a sandbox it has no link to"
m update "db-$S" --policy "$WORLD_DIR/empty.yaml" >/dev/null
assert_eq "$(dns_rcode "$A" 192.0.2.1 "db-$S.moat.internal")" NXDOMAIN "once B stops accepting A, A's name for it goes"

t_begin "a receiver with network restricted (it reaches nothing) can be linked to"
m rm -f "d-$S" >/dev/null || not_ok "rm D (the pool holds four)"
sandbox r --restricted --accept "sandbox:c-$S:5432/tcp" || t_end
R_IP=$(jfield "$(m inspect "r-$S" --json)" ipv4)
listen "moat-r-$S" || not_ok "R's listeners"
assert_fail -m "C -> R tcp 5432 before C allows it" probe_tcp "$C" "$R_IP" 5432
m update "c-$S" --allow "sandbox:r-$S:5432/tcp" >/dev/null || not_ok "update C"
assert_eq "$(probe_tcp "$C" "$R_IP" 5432)" TCP-5432 "C -> R tcp 5432"
assert_fail -m "C -> R tcp 5433" probe_tcp "$C" "$R_IP" 5433
assert_ok -m "control: the host reaches A's 7000" probe_tcp host "$A_IP" 7000
assert_fail -m "R -> A tcp 7000 (restricted: nothing out)" probe_tcp "moat-r-$S" "$A_IP" 7000
m rm -f "r-$S" >/dev/null || not_ok "rm R"

t_begin "removal leaves nothing behind"
for n in a c db; do m rm -f "$n-$S" >/dev/null || not_ok "rm $n"; done
assert_match "$(links_set)" "setlinks" "the link sets stay in the table"
assert_no_match "$(links_set)$(links_set link_nopeer)$(links_set link_noself)" "elements" "and are empty"
t_end
