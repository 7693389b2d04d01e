#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_verify.sh - "moat verify", the isolation canary: --simulate passes
# on its own world and leaves nothing behind; live, in a test world, every
# kind of breach is introduced on purpose and must be reported, exactly,
# with exit status 1; changes that are not breaches (an accept in another
# table, a new host listener) must not be.
#
#   [canaries a, b] [victim] --moatN-- [HOST: moat, listeners] -- [LAN] -- [INET]
#
# It takes twenty seconds or more (three simulated worlds and a dozen live
# verify runs): tests/run-integration.sh starts it before the others.
# moat-test: long
# shellcheck source=../lib/preamble.sh
. "$(dirname "$0")/../lib/preamble.sh"
PY=$WORLD_PYTHON

require_kernel_feature netns veth nftables ipv6 || exit $?

# --- verify --simulate: the README's first command -----------------------
t_begin "verify --simulate"
MOAT_TMP=$(mktemp -d)
trap 'rm -rf "$MOAT_TMP"' EXIT
out=$("$MOAT" verify --simulate 2>&1)
rc=$?
sfx=$(sed -n 's/.*moatv-{host,lan,inet}-\([0-9a-f]*\)$/\1/p' <<<"$out")
assert_eq "$rc" 0 "exits 0: every probe matched"
assert_match "$out" "[0-9]+ checks, 0 breaches: isolation holds" "prints the verdict"
assert_match "$out" "public 93.184.216.34:80/tcp +verify-[0-9a-f]+-a +I3 +reached +connected +ok" \
	"an allowed public probe succeeds"
assert_match "$out" "allowed LAN 192.168.77.10:5432/tcp .* reached +connected +ok" \
	"the policy-allowed LAN port succeeds"
assert_match "$out" "metadata 169.254.169.254:80/tcp .* blocked .* ok" "metadata blocked"
assert_match "$out" "host via proxy 0.0.0.0:80/tcp +verify-[0-9a-f]+-b +I2 +blocked +refused by proxy +ok" \
	"the proxied path to the host's loopback is probed and refused"
assert_match "$out" "host via proxy \[::ffff:192.168.77.2\]:443/tcp .* blocked +refused by proxy +ok" \
	"... and to the host's address, IPv4-mapped"
assert_match "$out" "queries reaching the upstream resolver .* 0 +0 +ok" \
	"no DNS query reached the upstream"
# world_left SFX: something of world SFX is left (a namespace, its run
# directory)
world_left() {
	ip netns list | grep -q -E "^(moatv-[a-z]+|moat-verify)-$1\b" ||
		compgen -G "/tmp/moatv-$1.*" >/dev/null
}
world_absent() { ! world_left "$1"; }
# world_gone SFX: wait up to 10 s until nothing of world SFX is left
world_gone() {
	[[ $1 =~ ^[0-9a-f]{8}$ ]] || { echo "no world suffix: $1" >&2; return 1; }
	wait_for 10 world_absent "$1" && return 0
	ip netns list | grep -E -- "-$1" >&2
	return 1
}
check "its namespaces, canaries and run directory are gone" world_gone "${sfx:-none}"

# has_canary ERRFILE: the world named in ERRFILE has a canary; its suffix
# in $sim_sfx
has_canary() {
	sim_sfx=$(sed -n 's/.*moatv-{host,lan,inet}-\([0-9a-f]*\)$/\1/p' "$1")
	[ -n "$sim_sfx" ] && ip netns list | grep -q "^moat-verify-$sim_sfx"
}
# sim_started ERRFILE: wait until the world has a canary; print the suffix
sim_started() {
	# 20 s: a loaded machine, a sanitizer build
	wait_for 20 has_canary "$1" && echo "$sim_sfx" && return 0
	echo none
}
# SIGINT while the world exists: everything removed, status 130
"$MOAT" verify --simulate >/dev/null 2>"$MOAT_TMP/sigint.err" &
pid=$!
sfx=$(sim_started "$MOAT_TMP/sigint.err")
kill -INT "$pid"
wait "$pid"
assert_eq "$?" 130 "SIGINT: exit status 130"
check "SIGINT: the world is removed" world_gone "$sfx"

# SIGKILL: moat cannot clean up; its warden and the canaries' supervisors do
"$MOAT" verify --simulate >/dev/null 2>"$MOAT_TMP/sigkill.err" &
pid=$!
sfx=$(sim_started "$MOAT_TMP/sigkill.err")
kill -KILL "$pid"
wait "$pid" 2>/dev/null
check "SIGKILL: the world and the canaries are removed all the same" world_gone "$sfx"

# --- live, in a test world ------------------------------------------------
t_world

m create "victim-$S" >/dev/null || { not_ok "create the victim sandbox"; t_end; }
VIF=$(m inspect "victim-$S" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["host_interface"])')

# verify_json OUT: run a live verify, JSON in OUT, status in $vrc
verify_json() {
	in_host "$MOAT" verify --json >"$1" 2>"$1.err"
	vrc=$?
}
# breaches FILE: one line per failed row, "INV CHECK: OBSERVED", sorted
breaches() {
	"$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
for r in sorted(d["rows"], key=lambda r: r["check"]):
    if not r["ok"]:
        print("%s %s: %s" % (r["invariant"], r["check"], r["observed"]))
' "$1"
}
# audit_breaches FILE: the failed rows of the ruleset audit only
audit_breaches() { breaches "$1" | grep -v -E '^I[0-9] (host|sandbox|metadata|DNS|DNS/tcp|DoT) ' || true; }

t_begin "live verify: changes that are not breaches"
# an accept in another table cannot override moat's drops
in_host nft -f - <<'EOF'
table inet other {
	chain f { type filter hook forward priority -500; policy accept; accept; }
	chain i { type filter hook input priority -500; policy accept; accept; }
}
EOF
# a DNAT ahead of moat, but limited to another input interface; and a
# Docker-style published port (moat filters whatever address NAT made)
in_host nft -f - <<'EOF'
table ip lanonly {
	chain pre {
		type nat hook prerouting priority -150; policy accept;
		iifname "lan0" udp dport 53 dnat to 8.8.8.8
		fib daddr type local jump DOCKER
	}
	chain DOCKER {
		tcp dport 8080 dnat to 10.0.0.5:80
	}
}
EOF
# a new host listener (TCP and UDP) must show up among the probes, blocked
# (nsenter execs python: $! is the listener itself)
nsenter --net="$HOST_NETNS" "$PY" -c '
import socket, sys, time
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("0.0.0.0", 47123)); t.listen(8)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 47124))
open(sys.argv[1], "w").close()
time.sleep(120)
' "$WORLD_DIR/listen-ready" &
LPID=$!
world_on_destroy kill "$LPID"
wait_for 10 test -f "$WORLD_DIR/listen-ready"
# the operator names an internet target: a direct connection must fail
in_host "$MOAT" verify --json --probe-target 93.184.216.34:443 >"$WORLD_DIR/v0.json" 2>"$WORLD_DIR/v0.err"
vrc=$?
assert_eq "$vrc" 0 "exit status 0"
assert_eq "$(breaches "$WORLD_DIR/v0.json")" "" "no breach reported (accept in another table, DNAT on lan0 only or of another port, new listener)"
assert_eq "$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["mode"], d["ok"], d["breaches"])' "$WORLD_DIR/v0.json")" \
	"live True 0" "--json: mode, ok, breaches"
assert_eq "$("$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join("%s:%s:%s" % (r["check"].split()[0], r["expected"], r["ok"]) for r in d["rows"]
               if "93.184.216.34" in r["check"]))' "$WORLD_DIR/v0.json")" \
	"direct:blocked:True DoT:blocked:True" "--probe-target: direct connection and DoT blocked"
assert_eq "$(breaches "$WORLD_DIR/v0.json")" "" "no breach reported"
rows=$("$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
for r in d["rows"]:
    if r["check"] in ("host lan0 192.168.77.2:47123/tcp", "host lan0 192.168.77.2:47124/udp",
                      "host lan0 [2001:678:1234:77::2]:47123/tcp"):
        print(r["check"], r["expected"], r["ok"])
' "$WORLD_DIR/v0.json")
assert_eq "$rows" "host lan0 192.168.77.2:47123/tcp blocked True
host lan0 192.168.77.2:47124/udp blocked True
host lan0 [2001:678:1234:77::2]:47123/tcp blocked True" "a new host listener is probed, blocked"
kill "$LPID" 2>/dev/null
assert_match "$("$PY" -c 'import json,sys; print(" ".join(sorted({r["check"].split()[0] for r in json.load(open(sys.argv[1]))["rows"]})))' "$WORLD_DIR/v0.json")" \
	"^DNS DNS/tcp DoT direct guard host metadata other sandbox sysctl table$" "probes of every kind and the audit ran"
assert_match "$(in_host "$MOAT" ls)" "victim-$S" "the victim sandbox is still there"
assert_eq "$(in_host "$MOAT" ls | grep -c verify- || true)" 0 "the canaries are removed"
in_host nft delete table inet other
in_host nft delete table ip lanonly
assert_eq "$(in_host nft list tables | grep -c -v 'inet moat' || true)" 0 "verify added no table"

t_begin "breach: an accept added to a sandbox's own chain"
in_host nft insert rule inet moat "${VIF}_fwd" accept
verify_json "$WORLD_DIR/v2.json"
assert_eq "$vrc" 1 "exit status 1"
assert_match "$(breaches "$WORLD_DIR/v2.json")" \
	"^I3 inet moat chain ${VIF}_fwd: rules: unexpected rule 1: \[\{\"accept\":null\}\]$" \
	"reported, exactly that"
h=$(in_host nft -a list chain inet moat "${VIF}_fwd" | awk '/^\t\taccept # handle/ { print $NF; exit }')
in_host nft delete rule inet moat "${VIF}_fwd" handle "$h"

t_begin "breach: a sandbox's dispatch entry deleted"
in_host nft delete element inet moat fwd_dispatch "{ \"$VIF\" }"
verify_json "$WORLD_DIR/v3.json"
assert_eq "$vrc" 1 "exit status 1"
assert_eq "$(breaches "$WORLD_DIR/v3.json")" \
	"I3 inet moat map fwd_dispatch: missing entry for $VIF (sandbox victim-$S)" \
	"reported, exactly that"
in_host nft add element inet moat fwd_dispatch "{ \"$VIF\" : jump ${VIF}_fwd }"

t_begin "breach: the routing rule that keeps sandboxes closed without the table deleted"
in_host ip rule del pref 10 fwmark 0x400000/0x600000 prohibit
verify_json "$WORLD_DIR/v3g.json"
assert_eq "$vrc" 1 "exit status 1"
assert_eq "$(breaches "$WORLD_DIR/v3g.json")" \
	"I10 guard routing rules and IPsec policies (fail closed without the table): ip rule pref 10" \
	"reported, exactly that"
in_host ip rule add pref 10 fwmark 0x400000/0x600000 prohibit

t_begin "breach: stale dispatch entry and chain; a netdev chain forwarding packets away"
in_host nft add chain inet moat moat999_in
in_host nft add element inet moat in_dispatch '{ "moat999" : jump moat999_in }'
in_host nft -f - <<EOF
table netdev around {
	chain ing {
		type filter hook ingress device "$VIF" priority 0; policy accept;
		ip daddr 192.168.77.10 fwd to "lan0"
	}
}
EOF
verify_json "$WORLD_DIR/v3s.json"
assert_eq "$vrc" 1 "exit status 1"
assert_match "$(breaches "$WORLD_DIR/v3s.json")" \
	"^I2 inet moat chains: stale chain moat999_in \(no such sandbox\)
I2 inet moat map in_dispatch: stale entry for moat999 \(no such sandbox\)
I3 table netdev around chain ing: forwards sandbox packets before any IP hook: .*fwd.*$" \
	"reported, exactly those"
in_host nft delete element inet moat in_dispatch '{ "moat999" }'
in_host nft delete chain inet moat moat999_in
in_host nft delete table netdev around

t_begin "breach: another table DNATs sandbox DNS ahead of moat"
in_host nft -f - <<'EOF'
table ip evil {
	chain pre {
		type nat hook prerouting priority -150; policy accept;
		jump dns
	}
	chain dns {
		udp dport { 53, 5353 } dnat to 8.8.8.8
	}
}
EOF
verify_json "$WORLD_DIR/v4.json"
assert_eq "$vrc" 1 "exit status 1"
b4=$(breaches "$WORLD_DIR/v4.json")
assert_match "$(echo "$b4" | grep -v ' via gateway: ')" \
	"^I4 table ip evil chain dns: translates sandbox traffic at priority -150, before moat's DNS interception \(-100\): .*dnat.*$" \
	"the audit reports it (found through the jump)"
assert_match "$(echo "$b4" | grep ' via gateway: ')" \
	"^I4 DNS moat-verify-[0-9a-f]+.example via gateway: no answer$" \
	"the canary's DNS probe, hijacked, misses its NXDOMAIN: the only other breach"
in_host nft delete table ip evil
t_begin "breach: moat's forward chain flushed"
in_host nft flush chain inet moat forward
verify_json "$WORLD_DIR/v6.json"
assert_eq "$vrc" 1 "exit status 1"
assert_match "$(audit_breaches "$WORLD_DIR/v6.json")" \
	"^I3 inet moat chain forward: rules: 0 rules, expected [1-9][0-9]* \(flushed or cut short\)$" \
	"the audit reports exactly that"
# what the flush opened shows up as probe breaches too: canary to canary
assert_match "$(breaches "$WORLD_DIR/v6.json")" "I1 sandbox verify-[0-9a-f]+-b 10\.231\.[0-9.]+:9/tcp: reached \(reset\)" \
	"and the canaries reach each other"
# put it back (the next create rewrites the base table)
rm -f "$MOAT_RUN_DIR/base.hash"
m create "fix-$S" >/dev/null && m rm "fix-$S"

t_begin "breach: moat's input chain flushed"
in_host nft flush chain inet moat input
verify_json "$WORLD_DIR/v8.json"
assert_eq "$vrc" 1 "exit status 1"
assert_match "$(audit_breaches "$WORLD_DIR/v8.json")" \
	"^I2 inet moat chain input: rules: 0 rules, expected [1-9][0-9]* \(flushed or cut short\)$" \
	"the audit reports exactly that"
b8=$(breaches "$WORLD_DIR/v8.json")
assert_match "$b8" "I2 host lan0 192.168.77.2:22/tcp: connected" "the host's ssh port is reached"
assert_match "$b8" "I2 host lan0 192.168.77.2:22/udp: answered" "a host UDP service is reached"
assert_no_match "$b8" "DNS/tcp .* via gateway" \
	"DNS over TCP to the gateway is still answered by the interceptor (no breach)"
rm -f "$MOAT_RUN_DIR/base.hash"
m create "fix2-$S" >/dev/null && m rm "fix2-$S"

t_begin "verify options"
assert_status -m "unknown option: usage" 2 in_host "$MOAT" verify --bogus
assert_status -m "bad --interval" 2 in_host "$MOAT" verify --interval 5x
assert_status -m "bad --probe-target" 2 in_host "$MOAT" verify --probe-target 2001:db8::1:443
assert_status -m "--simulate with --interval" 2 in_host "$MOAT" verify --simulate --interval 5m
assert_match "$("$MOAT" verify --help)" "--on-fail CMD" "--help"

t_begin "--interval"
# (nsenter execs moat: $! is moat itself)
nsenter --net="$HOST_NETNS" "$MOAT" verify --interval 1s --json >"$WORLD_DIR/iv.json" 2>&1 &
ipid=$!
two_runs() { [ "$(wc -l <"$WORLD_DIR/iv.json")" -ge 2 ]; }
wait_for 60 two_runs
kill -TERM "$ipid"
wait "$ipid"
assert_eq "$?" 0 "SIGTERM ends it; the last run's status"
assert_eq "$("$PY" -c '
import json, sys
print(" ".join(str(json.loads(l)["ok"]) for l in open(sys.argv[1]) if l.strip())[:9])' "$WORLD_DIR/iv.json" 2>&1)" \
	"True True" "one JSON document per run, repeated"
assert_eq "$(in_host "$MOAT" ls | grep -c verify- || true)" 0 "no canary left behind"

t_begin "--on-fail gets the JSON report"
in_host nft insert rule inet moat "${VIF}_in" accept
in_host "$MOAT" verify --on-fail "cat >$WORLD_DIR/onfail.json" >/dev/null 2>&1
assert_eq "$?" 1 "exit status 1"
assert_eq "$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["ok"], d["breaches"])' "$WORLD_DIR/onfail.json" 2>&1)" \
	"False 1" "the command read the report (one breach: the repair worked)"
t_end
