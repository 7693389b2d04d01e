#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_hostfw.sh - living with the host's other firewalls. nftables runs
# every table's forward chain: one that drops what it does not accept
# drops a sandbox's allowed traffic too. In the world's host namespace:
#   - Docker's state, as iptables-nft makes it (table ip filter, chain
#     FORWARD policy drop, jumping to DOCKER-USER first): moat inserts
#     iifname/oifname "moat*" accept into DOCKER-USER (once), allowed
#     traffic flows, denied traffic is still refused; without those rules
#     the allowed traffic is dropped;
#   - ufw-like (table inet, forward chain policy drop, no DOCKER-USER) and
#     firewalld-like (a final reject): create refused with a one-line
#     error naming table and chain, exit status 1, nothing left behind;
#     --allow-foreign-drop creates it, and "moat verify" reports the drop;
#     the operator's own accept for moat's interfaces lets it through;
#   - "moat verify --probe-allow ADDR:PORT --probe-dns NAME": passes when
#     the allowed path works, fails with the reason when a foreign table
#     drops it.
#
#   [sandbox] --veth-- [HOST: inet moat + ip filter (Docker) / inet ufwlike]
#                        -- [LAN] -- [INET 140.82.112.3:9999, 93.184.216.34:9999]
# shellcheck source=../lib/preamble.sh
. "$(dirname "$0")/../lib/preamble.sh"

t_world conntrack nat
command -v jq >/dev/null || { echo "not ok - jq is needed"; exit 1; }

ALLOWED=140.82.112.3
ALLOWED6=2606:2800:220:1::1
DENIED=93.184.216.34

# reach NAME ADDR: "connected" if TCP ADDR:9999 (forwarded, not proxied)
# connects from sandbox NAME-$S, else "blocked: " and what the probe saw
reach() {
	local out
	out=$(probe_tcp "moat-$1-$S" "$2" 9999 2>&1) && echo connected || echo "blocked: $out"
}

# ipt ARGS...: iptables-nft in the world's host namespace (nft -f if absent)
HAVE_IPT=false
command -v iptables-nft >/dev/null && HAVE_IPT=true
docker_like() {
	local ipt
	if $HAVE_IPT; then
		for ipt in iptables-nft ip6tables-nft; do
			in_host "$ipt" -w -t filter -N DOCKER-USER &&
			in_host "$ipt" -w -t filter -A DOCKER-USER -j RETURN &&
			in_host "$ipt" -w -t filter -A FORWARD -j DOCKER-USER &&
			in_host "$ipt" -w -t filter -P FORWARD DROP || return 1
		done
	else
		for ipt in ip ip6; do
			in_host nft -f - <<EOF || return 1
table $ipt filter {
	chain DOCKER-USER { counter return; }
	chain FORWARD { type filter hook forward priority filter; policy drop; counter jump DOCKER-USER; }
}
EOF
		done
	fi
}
# moat_rules [FAMILY]: moat's rules in DOCKER-USER (table ip filter, or
# FAMILY filter), one per line
moat_rules() {
	in_host nft list chain "${1:-ip}" filter DOCKER-USER | grep -Eo '[io]ifname "moat\*".*accept' | sed 's/counter packets [0-9]* bytes [0-9]* //'
}
# residue NAME: what a refused creation could have left (netns, listing,
# state directory, interfaces)
residue() {
	[ -e "/run/netns/moat-$1-$S" ] && echo 1 || echo 0
	m ls --json | jq -r --arg n "$1-$S" '[.[] | select(.name == $n)] | length'
	[ -e "$MOAT_RUN_DIR/sandboxes/$1-$S" ] && echo 1 || echo 0
	in_host ip -o link show | grep -c ': moat' # no sandbox exists meanwhile
}

t_begin "Docker (iptables-nft): FORWARD policy drop, DOCKER-USER"
assert_ok -m "install Docker's filter state (iptables-nft: $HAVE_IPT)" docker_like
assert_match "$(in_host nft list chain ip filter FORWARD)" "policy drop" "control: the FORWARD chain drops"
sandbox dk --default-egress deny --allow "$ALLOWED:9999/tcp" --allow "[$ALLOWED6]:9999/tcp" || t_end
assert_eq "$(moat_rules | sort | tr '\n' ';')" 'iifname "moat*" accept;oifname "moat*" accept;' \
	"moat inserted its two accepts into DOCKER-USER"
assert_eq "$(moat_rules ip6 | sort | tr '\n' ';')" 'iifname "moat*" accept;oifname "moat*" accept;' \
	"... and into table ip6 filter's"
assert_match "$(in_host nft list chain ip filter DOCKER-USER | grep -n . | sed -n 3p)" 'moat' \
	"... at its head, before Docker's own return"
assert_eq "$(reach dk "$ALLOWED")" connected "allowed traffic flows through Docker's FORWARD"
assert_eq "$(reach dk "$ALLOWED6")" connected "... over IPv6 too"
assert_match "$(reach dk "$DENIED")" "^blocked" "denied traffic is still refused (moat's table judges)"
if $HAVE_IPT; then
	out=$(in_host iptables-nft -w -S DOCKER-USER 2>&1)
	assert_match "$out" "-A DOCKER-USER -i moat\+ -j ACCEPT" "iptables-nft reads moat's rules (Docker can still manage the table)"
	assert_no_match "$out" "incompatible|[Ww]arning" "... without complaint"
fi
sandbox dk2 --default-egress deny --allow "$ALLOWED:9999/tcp" || t_end
assert_eq "$(moat_rules | wc -l)" 2 "a second sandbox adds nothing (idempotent)"
assert_eq "$(reach dk2 "$ALLOWED")" connected "the second sandbox's allowed traffic flows"

# without moat's rules, Docker's FORWARD drops the allowed traffic: this is
# what moat before this handling left behind
while h=$(in_host nft -a list chain ip filter DOCKER-USER | sed -n 's/.*"moat\*".* # handle \([0-9]*\)$/\1/p' | head -n1) && [ -n "$h" ]; do
	in_host nft delete rule ip filter DOCKER-USER handle "$h"
done
assert_eq "$(moat_rules | wc -l)" 0 "moat's rules removed by hand"
assert_match "$(reach dk "$ALLOWED")" "^blocked" "without them the allowed traffic is dropped"
assert_ok -m "rm" m rm "dk-$S"
assert_ok -m "rm" m rm "dk2-$S"
sandbox dk3 --default-egress deny --allow "$ALLOWED:9999/tcp" || t_end
assert_eq "$(moat_rules | wc -l)" 2 "the next creation puts them back"
assert_eq "$(reach dk3 "$ALLOWED")" connected "... and the allowed traffic flows again"
assert_ok -m "rm" m rm "dk3-$S"
in_host nft delete table ip filter
in_host nft delete table ip6 filter

t_begin "ufw-like: table inet, forward policy drop, no DOCKER-USER"
in_host nft -f - <<'EOF'
table inet ufwlike {
	chain forward { type filter hook forward priority filter; policy drop; }
}
EOF
out=$(m create "uf-$S" --default-egress deny --allow "$ALLOWED:9999/tcp" 2>&1)
rc=$?
assert_eq "$rc" 1 "create refused: exit status 1"
assert_eq "$(wc -l <<<"$out")" 1 "... with one line"
assert_match "$out" "table inet ufwlike chain forward \(hook forward, policy drop\) would drop the sandbox's traffic: .*--allow-foreign-drop" \
	"... naming the table and chain, and what to do"
assert_eq "$(residue uf | tr '\n' ' ')" "0 0 0 0 " "nothing left behind (netns, listing, state, interfaces)"
out=$(m run --default-egress deny -- true 2>&1)
rc=$?
assert_match "$out" "table inet ufwlike chain forward" "run is refused the same way"
assert_eq "$rc" 125 "... exit status 125 (moat's own, not the command's)"
CTR=moatt-ctr-$S
ip netns add "$CTR" && world_on_destroy ip netns del "$CTR"
out=$(m attach "at-$S" --netns "/run/netns/$CTR" 2>&1)
rc=$?
assert_eq "$rc" 1 "attach refused the same way: exit status 1"
assert_match "$out" "table inet ufwlike chain forward" "... naming the chain"
assert_eq "$(ip -n "$CTR" -o link show | wc -l)" 1 "... the container's namespace untouched (lo only)"
assert_eq "$(residue at | tr '\n' ' ')" "0 0 0 0 " "... nothing left behind"
out=$(m create "uf-$S" --default-egress deny --allow "$ALLOWED:9999/tcp" --allow-foreign-drop 2>&1)
assert_eq "$?" 0 "--allow-foreign-drop: created"
assert_match "$out" "may drop the sandbox's traffic" "... with a warning"
assert_match "$(reach uf "$ALLOWED")" "^blocked" "... and its allowed traffic is indeed dropped"
assert_ok -m "rm" m rm "uf-$S"
in_host nft add rule inet ufwlike forward iifname '"moat*"' accept
in_host nft add rule inet ufwlike forward oifname '"moat*"' accept
sandbox uf2 --default-egress deny --allow "$ALLOWED:9999/tcp" || t_end
assert_eq "$(reach uf2 "$ALLOWED")" connected "the operator's accepts for moat's interfaces: created, allowed traffic flows"
assert_match "$(reach uf2 "$DENIED")" "^blocked" "denied traffic still refused"
assert_ok -m "rm" m rm "uf2-$S"
in_host nft delete table inet ufwlike

t_begin "firewalld-like: a final reject in a forward chain"
in_host nft -f - <<'EOF'
table inet fwdlike {
	chain filter_FORWARD { type filter hook forward priority filter + 10; policy accept; ct state established,related accept; reject with icmpx admin-prohibited; }
}
EOF
out=$(m create "fd-$S" 2>&1)
assert_eq "$?" 1 "create refused: exit status 1"
assert_match "$out" "table inet fwdlike chain filter_FORWARD \(hook forward, a final reject\)" "... naming the chain and its final reject"
assert_eq "$(residue fd | tr '\n' ' ')" "0 0 0 0 " "nothing left behind"
in_host nft delete table inet fwdlike

t_begin "moat verify: allowed-path probes and the foreign drop"
# vrun N ARGS...: verify --json in the world's host into $WORLD_DIR/vN.json;
# prints its exit status
vrun() {
	local n=$1
	shift
	in_host "$MOAT" verify --json "$@" >"$WORLD_DIR/v$n.json" 2>"$WORLD_DIR/v$n.err"
	echo $?
}
# failed N: the failed rows of vN.json, "CHECK | EXPECTED | OBSERVED"
failed() {
	jq -r '.rows[] | select(.ok == false and (.warning | not)) | "\(.check) | \(.expected) | \(.observed)"' "$WORLD_DIR/v$1.json" 2>&1
}
# row N REGEX: the rows of vN.json whose check matches, "CHECK | OK | OBSERVED"
row() {
	jq -r --arg re "$2" '.rows[] | select(.check | test($re)) | "\(.check) | \(.ok) | \(.observed)"' "$WORLD_DIR/v$1.json" 2>&1
}
PA=(--probe-allow "$ALLOWED:9999" --probe-dns github.com)
assert_eq "$(vrun 1 "${PA[@]}")" 0 "no foreign drop: verify passes (exit 0)"
assert_eq "$(failed 1)" "" "... no failed row"
assert_match "$(row 1 '^allowed path')" "^allowed path $ALLOWED:9999/tcp \| true \| connected" "the allowed path is probed and connects"
assert_match "$(row 1 '^allowed DNS')" "^allowed DNS github.com via gateway \| true \| DNS answer" "the allowed name resolves through the interceptor"
assert_match "$(row 1 '^other forward chains')" "\| true \|" "the audit finds no dropping forward chain"

in_host nft -f - <<'EOF'
table inet ufwlike {
	chain forward { type filter hook forward priority filter; policy drop; }
}
EOF
assert_eq "$(vrun 2 "${PA[@]}")" 1 "a foreign forward drop: verify fails (exit 1)"
assert_match "$(failed 2)" "allowed path $ALLOWED:9999/tcp \| reached \| no answer" "... the allowed path is the failed probe"
assert_match "$(failed 2)" "table inet ufwlike chain forward \| moat's traffic passes \| hook forward with policy drop" \
	"... and the audit names the table and chain"
assert_eq "$(vrun 3)" 1 "without --probe-allow the audit alone still fails it"
# the canaries' link is an allowed path too: the foreign drop stops it
assert_eq "$(failed 3 | grep -v 'table inet ufwlike chain forward' | grep -vcE ', linked, .*\| reached \| no answer$')" 0 \
	"... on that row and the link's only (isolation itself holds)"
assert_match "$(failed 3)" ', linked, .*\| reached \| no answer' "... the canaries' link is stopped by it too"
in_host nft delete table inet ufwlike

# a DNS probe for a name the world's resolver does not know: NXDOMAIN is
# not "resolved"
assert_eq "$(vrun 4 --probe-dns nosuchname.invalid)" 1 "--probe-dns of an unknown name: verify fails"
assert_match "$(failed 4)" "allowed DNS nosuchname.invalid via gateway \| resolved \| NXDOMAIN" "... with the reason"
assert_status -m "--probe-allow malformed: usage" 2 in_host "$MOAT" verify --probe-allow 2001:db8::1:443
assert_status -m "--probe-allow with --simulate: usage" 2 in_host "$MOAT" verify --simulate --probe-allow "$ALLOWED:9999"

t_end
