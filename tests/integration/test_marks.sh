#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_marks.sh - other tables of the host cannot switch moat's checks off
# by rewriting the packet mark, and "moat verify" warns of what other
# tables and sysctls do to sandbox traffic: a mark rewrite, a conntrack
# helper, route_localnet. Each attack from root in the sandbox, with its
# positive control.
#
#   [sandbox] --tcp 80--> [HOST: (mangle: mark rewrite) moat proxy :15001]
#                                  --> INET 140.82.112.3 (github.com) :80
# shellcheck source=../lib/preamble.sh
. "$(dirname "$0")/../lib/preamble.sh"
PY=$WORLD_PYTHON

t_world conntrack nat

if ! out=$(m create "mk-$S" --default-egress deny --allow github.com:80 2>&1); then
	not_ok "create the sandbox" "$out"
	t_end
	exit
fi
D=moat-mk-$S
VIF=$(m inspect "mk-$S" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["host_interface"])')
assert_eq "$(probe_dns "$D" 8.8.8.8 github.com)" 140.82.112.3 "github.com resolves (and is pinned)"

# get HOST: one request to github.com's address, port 80, as root in the
# sandbox; prints what comes back
get() {
	printf 'GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$1" |
		in_ns "$D" timeout 5 socat -T3 - TCP:140.82.112.3:80 2>&1
}
# warnings FILE: the warning rows of a verify --json report,
# "INV CHECK | EXPECTED | OBSERVED"
warnings() {
	"$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
for r in d["rows"]:
    if r.get("warning"):
        print(r["invariant"], r["check"], "|", r["expected"], "|", r["observed"])
' "$1" 2>&1
}
# mangle CHAIN-SPEC: a table of the host's that clears moat's mark bits
mangle() {
	in_host nft -f - <<EOF
table inet hostmark {
	chain c { type $1 priority mangle; policy accept; meta mark set meta mark and 0x0000ffff; }
}
EOF
}

t_begin "controls: the proxy checks the Host"
assert_match "$(get github.com)" "host: github.com" "control: Host github.com reaches the pinned address"
assert_match "$(get evil.example)" "X-Moat-Denied: not-allowed" "control: Host evil.example is refused by the proxy"

t_begin "a host table that erases the proxy mark (prerouting, mangle)"
mangle "filter hook prerouting"
out=$(get evil.example)
assert_no_match "$out" "host: evil.example" "Host evil.example does not pass on the pin alone"
assert_no_match "$(get github.com)" "host: github.com" "fail closed: the proxied port is refused, even for github.com"
assert_match "$(in_host nft list chain inet moat "${VIF}_fwd")" \
	'tcp dport \{ 80, 443 \} counter name "'"$VIF"'_d_i3_egress" counter packets [1-9]' \
	"the bypass is counted as an I3 denial"
n=$(grep -c "host=evil.example" "$WORLD_DIR/srv-inet.log" || true)
assert_eq "$n" 0 "no request naming evil.example reached the server"

# verify: a warning, not a breach (moat fails closed)
in_host "$MOAT" verify --json >"$WORLD_DIR/v1.json" 2>"$WORLD_DIR/v1.err"
rc=$?
assert_eq "$rc" 0 "verify: exit status 0 (a warning, not a breach)"
w=$("$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["warnings"], " ".join(sorted(set(r["expected"] for r in d["rows"] if r["warning"]))))
' "$WORLD_DIR/v1.json" 2>&1)
assert_match "$w" "^[1-9][0-9]* no mark rewrite$" "verify warns of the mark rewrite"
assert_match "$(warnings "$WORLD_DIR/v1.json")" \
	"I3 table inet hostmark chain c \| no mark rewrite \| writes the packet mark at prerouting priority -150, before moat's proxy redirect \(-100\)" \
	"... naming the chain"
in_host nft delete table inet hostmark
assert_match "$(get github.com)" "host: github.com" "control: without the table, github.com passes again"

t_begin "a host table that erases the proxy's socket mark (output, mangle)"
mangle "filter hook output"
in_host conntrack -D -p tcp -d 140.82.112.3 --dport 80 >/dev/null 2>&1
assert_match "$(get github.com)" "host: github.com" "the allowed connection still passes"
# the onward connection was judged by the sandbox's chains: they gave it
# the sandbox's instance mark (ct mark); unjudged, it would have none
inst=$(in_host nft list chain inet moat "${VIF}_host" | sed -n 's/.*ct mark set \(0x[0-9a-f]*\).*/\1/p')
ctm=$(in_host conntrack -L -p tcp -d 140.82.112.3 --dport 80 2>/dev/null | grep -v "src=10\." |
	sed -n 's/.* mark=\([0-9]*\).*/\1/p' | sort -u)
assert_eq "$ctm" "$(printf %d "${inst:-0}")" "the proxy's onward connection was judged by the sandbox's chains"
in_host "$MOAT" verify --json >"$WORLD_DIR/v2.json" 2>"$WORLD_DIR/v2.err"
assert_eq "$?" 0 "verify: exit status 0"
assert_match "$(warnings "$WORLD_DIR/v2.json")" \
	"I3 table inet hostmark chain c \| no mark rewrite \| writes the packet mark at output priority -150, before moat's output chain \(0\)" \
	"verify warns of the output mark rewrite"
in_host nft delete table inet hostmark

t_begin "verify: a conntrack helper on sandbox traffic, route_localnet"
in_host "$MOAT" verify --json >"$WORLD_DIR/v0.json" 2>"$WORLD_DIR/v0.err"
assert_eq "$?" 0 "control: verify exits 0"
assert_eq "$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["warnings"])' "$WORLD_DIR/v0.json")" 0 \
	"control: no warning without them"
in_host nft -f - <<'EOF'
table inet helpers {
	ct helper ftp-std { type "ftp" protocol tcp; }
	chain pre { type filter hook prerouting priority filter; policy accept; tcp dport 21 ct helper set "ftp-std"; }
}
EOF
in_host sysctl -qw net.ipv4.conf.all.route_localnet=1
in_host "$MOAT" verify --json >"$WORLD_DIR/v3.json" 2>"$WORLD_DIR/v3.err"
assert_eq "$?" 0 "verify: exit status 0 (warnings)"
w=$(warnings "$WORLD_DIR/v3.json")
assert_match "$w" "I1 table inet helpers chain pre \| no conntrack helper \| assigns a conntrack helper at prerouting" \
	"verify warns of the conntrack helper"
assert_match "$w" "I2 sysctl route_localnet \| 0 \| 1 on all" "verify warns of route_localnet"
out=$(in_host "$MOAT" verify 2>&1)
assert_match "$out" "[0-9]+ checks, 0 breaches, 2 warnings: isolation holds" "the text report counts them"
assert_match "$out" "sysctl route_localnet .* WARNING" "... and marks the row"
# route_localnet does not open the host's loopback: the sandbox's
# loopback destinations are still dropped as martian
assert_fail -m "route_localnet: 127.0.0.1:8000 stays unreachable" \
	probe_tcp "$D" 127.0.0.1 8000
in_host sysctl -qw net.ipv4.conf.all.route_localnet=0
in_host nft delete table inet helpers

t_end
