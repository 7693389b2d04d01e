#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_split.sh - the supervisor split: a privileged core, an unprivileged
# worker. The worker holds no privilege; whatever it (or anyone with its
# UID) connects to is judged by its sandbox's rules in the kernel; when it
# dies, its core starts another with the pins and counters intact, and
# nothing opens meanwhile; when the core dies, the worker goes with it and
# the sandbox stays closed.
#
#   [sandbox sp]  --DNS/80-->  [HOST: core (root) + worker (UID W, no caps)]
#                                 |  the worker's own sockets (UID W / D):
#                                 |  judged as sandbox sp's traffic
#                                 +--> INET 93.184.216.34:80 (allowed)
#                                 +--> LAN 192.168.77.10:80, metadata,
#                                      the host's 127.0.0.1:8000 and
#                                      192.168.77.2:22, sandbox ot (refused)
#   [sandbox ot]  (a listener inside, tcp 7000)
# shellcheck source=../lib/preamble.sh
. "$(dirname "$0")/../lib/preamble.sh"
command -v setpriv >/dev/null || t_skip_all "setpriv (util-linux) is missing"
t_world conntrack nat
PY=$WORLD_PYTHON

# field NAME EXPR: a value of "moat inspect NAME --json" (a Python
# expression on d)
field() {
	m inspect "$1" --json 2>/dev/null |
		"$PY" -c 'import json,sys; d=json.load(sys.stdin); print('"$2"')' 2>/dev/null
}
# worker_of PID: the PID of the core's child named moat-worker
worker_of() {
	local c kids=()
	read -ra kids < <(cat /proc/"$1"/task/*/children 2>/dev/null)
	for c in "${kids[@]}"; do
		[ "$(cat /proc/"$c"/comm 2>/dev/null)" = moat-worker ] && echo "$c" && return 0
	done
	return 1
}
# status_line PID KEY: a line of /proc/PID/status, tabs as spaces
status_line() { sed -n "s/^$2:[[:space:]]*//p" /proc/"$1"/status | tr '\t' ' '; }
# as_uid UID PROTO ADDR PORT: a probe from the world's host namespace as UID
as_uid() {
	in_host setpriv --reuid="$1" --regid="$1" --clear-groups \
		"$PY" -I -S "$WORLD_SRV" probe "$2" "$3" "$4" 2 2>&1
}

if ! out=$(m create "sp-$S" --default-egress deny --allow github.com:80 \
	--allow 93.184.216.34:22 2>&1) || ! out=$(m create "ot-$S" 2>&1); then
	not_ok "create the sandboxes" "$out"
	t_end
	exit
fi
D=moat-sp-$S
CORE=$(field "sp-$S" 'd["supervisor_pid"]')
VIF=$(field "sp-$S" 'd["host_interface"]')
IDX=${VIF#moat}
W=$((0x7e000000 + 2 * IDX))
OT4=$(field "ot-$S" 'd["ipv4"].split("/")[0]')
_world_spawn srv-ot "$(_world_nspath "moat-ot-$S")" "$PY" -I "$WORLD_SRV" \
	"tcp:0.0.0.0:7000:OT-7000"
world_wait_listen "moat-ot-$S" tcp 7000 || true

t_begin "the core is root, the worker holds nothing"
WK=$(worker_of "$CORE")
assert_ne "${WK:-}" "" "the core ($CORE) has a worker child"
assert_eq "$(status_line "$CORE" Uid)" "0 0 0 0" "the core runs as root"
assert_eq "$(status_line "$WK" Uid)" "$W $W $((W + 1)) $W" \
	"the worker's UIDs: real and effective its own, saved its DNS UID"
assert_eq "$(status_line "$WK" Gid)" "$W $W $((W + 1)) $W" "... and its GIDs"
assert_eq "$(status_line "$WK" Groups)" "" "... no supplementary groups"
for c in CapInh CapPrm CapEff CapBnd CapAmb; do
	assert_eq "$(status_line "$WK" $c)" 0000000000000000 "the worker's $c is empty"
done
assert_eq "$(status_line "$WK" NoNewPrivs)" 1 "the worker has no_new_privs"
assert_eq "$(status_line "$WK" Seccomp)" 2 "the worker runs under a seccomp filter"
assert_eq "$(status_line "$CORE" Seccomp)" 2 "... and so does its core (a deny-list)"
assert_eq "$(find /proc/"$WK"/root/ -mindepth 1 -maxdepth 1 2>&1 | head -n3)" "" \
	"the worker's root is empty: no file system"
assert_ne "$(find /proc/"$CORE"/root/ -mindepth 1 -maxdepth 1 | wc -l)" 0 "control: the core sees the host's"
assert_ne "$(readlink /proc/"$WK"/ns/mnt)" "$(readlink /proc/"$CORE"/ns/mnt)" \
	"the worker has a mount namespace of its own"
cb=$(status_line "$CORE" CapBnd)
assert_ne "$cb" 000001ffffffffff "the core's bounding set is not full root's"
assert_ne "$cb" 0000000000000000 "... nor empty: it keeps what it needs"
assert_match "$(field "sp-$S" 'd["supervisor"]["worker"]')" "'state': 'running'" \
	"inspect shows the worker running"

t_begin "the worker's UID is judged as its sandbox"
assert_match "$(as_uid "$W" tcp 93.184.216.34 22)" "INET-22 93.184.216.34" \
	"control: what the sandbox may reach, the worker reaches"
assert_match "$(as_uid 0 tcp 192.168.77.10 80)" "LAN-80" \
	"control: the host itself (UID 0) reaches the LAN"
assert_no_match "$(as_uid "$W" tcp 192.168.77.10 80)" "LAN-80" "the LAN is refused"
assert_no_match "$(as_uid "$W" tcp 169.254.169.254 80)" "META" "metadata is refused"
assert_no_match "$(as_uid "$W" tcp 127.0.0.1 8000)" "HOST-8000" "the host's loopback is refused"
assert_no_match "$(as_uid "$W" tcp 192.168.77.2 22)" "HOST-22" "the host's own address is refused"
assert_match "$(as_uid 0 tcp "$OT4" 7000)" "OT-7000" "control: the host reaches sandbox ot's listener"
assert_no_match "$(as_uid "$W" tcp "$OT4" 7000)" "OT-7000" "another sandbox is refused"
assert_no_match "$(as_uid "$W" tcp 151.101.1.1 22)" "INET" \
	"a public address the policy does not allow is refused"
assert_no_match "$(as_uid $((W + 1)) tcp 192.168.77.10 80)" "LAN-80" \
	"the DNS UID: the LAN is refused"
assert_match "$(as_uid $((W + 1)) udp 8.8.8.8 53 | tr -d '\0')" "." \
	"the DNS UID: port 53 of a resolver is let through"
assert_no_match "$(as_uid $((0x7e000000 + 2 * 4000)) tcp 192.168.77.10 80)" "LAN-80" \
	"a worker UID without a sandbox is dropped"
assert_match "$(as_uid $((0x7e000000 - 1)) tcp 192.168.77.10 80)" "LAN-80" \
	"control: a UID just below the workers' range is the host's own"

t_begin "the worker dies: another starts, nothing opens meanwhile"
assert_eq "$(probe_dns "$D" 8.8.8.8 github.com)" 140.82.112.3 "control: github.com resolves"
q0=$(field "sp-$S" 'd["supervisor"]["dns"]["queries_total"]')
SET=$(in_host nft -j list sets table inet moat 2>/dev/null |
	"$PY" -c 'import json,sys
for o in json.load(sys.stdin)["nftables"]:
    s = o.get("set")
    if s and s["name"].startswith(sys.argv[1] + "_d") and s["name"].endswith("_4"):
        print(s["name"]); break' "$VIF")
assert_match "$(in_host nft list set inet moat "$SET" 2>&1)" "140.82.112.3" "github.com's address is pinned"
# load while it dies: names allowed and denied resolved, requests for an
# allowed and a denied Host through the proxy, each result on a line
load() {
	local end=$((SECONDS + 4))
	while [ $SECONDS -lt $end ]; do
		echo "dns-ok $(in_ns "$D" dig +time=1 +tries=1 +short @8.8.8.8 github.com 2>/dev/null | head -n1)"
		echo "dns-evil $(in_ns "$D" dig +time=1 +tries=1 +short @8.8.8.8 evil.example 2>/dev/null | head -n1)"
		echo "http-evil $(probe_http "$D" http://140.82.112.3/ -H 'Host: evil.example' 2>/dev/null | head -n2 | tr '\n' ' ')"
		echo "http-ok $(probe_http "$D" http://140.82.112.3/ -H 'Host: github.com' 2>/dev/null | head -n2 | tr '\n' ' ')"
	done
}
load >"$WORLD_DIR/load.txt" 2>&1 &
LOAD=$!
sleep 1		# the load runs a while before the kill (elapsed time is the point)
kill -KILL "$WK"
t0=$EPOCHREALTIME
if wait_for 3 probe_dns "$D" 8.8.8.8 github.com; then
	ms=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 }')
	ok "DNS answers again after the worker was killed (${ms} ms)"
	check "... within a second" [ "$ms" -lt 1000 ]
	WK2=$(worker_of "$CORE")
	assert_ne "${WK2:-$WK}" "$WK" "a new worker runs"
else
	not_ok "DNS answers again after the worker was killed"
fi
assert_match "$(in_host nft list set inet moat "$SET" 2>&1)" "140.82.112.3" "the pin stayed in the kernel"
assert_match "$(probe_http "$D" http://140.82.112.3/ -H 'Host: github.com')" \
	"host: github.com" "a request to the pinned address passes the new worker's proxy"
wait "$LOAD"
assert_no_match "$(grep '^dns-evil' "$WORLD_DIR/load.txt")" '[0-9]+\.[0-9]' \
	"under load, before, during and after: a denied name never got an address"
assert_no_match "$(grep '^http-evil' "$WORLD_DIR/load.txt")" 'host: evil.example' \
	"... a denied Host never reached the server"
check "... and no request naming it reached the server" \
	[ "$(grep -c 'host=evil.example' "$WORLD_DIR/srv-inet.log" 2>/dev/null || true)" = 0 ]
assert_match "$(grep '^http-ok' "$WORLD_DIR/load.txt")" 'host: github.com' \
	"control: allowed requests went through under load"
q1=$(field "sp-$S" 'd["supervisor"]["dns"]["queries_total"]')
check "the DNS counters carried over ($q0 before, $q1 after)" [ "${q1:-0}" -gt "${q0:-0}" ]
assert_eq "$(field "sp-$S" 'd["supervisor"]["worker"]["restarts_total"]')" 1 "the restart is counted"
assert_match "$(m logs "sp-$S" 2>&1)" "worker.*died" "the worker's death is logged"
assert_no_match "$(probe_tcp "$D" 192.168.77.10 80)" "LAN-80" "the LAN is still refused"

t_begin "killed again and again: nothing opens while the worker is down"
for i in 1 2 3; do
	WK=$(worker_of "$CORE") && kill -KILL "$WK"
	# at once, before a new one can listen: no answer, or a refusal
	a=$(in_ns "$D" dig +time=1 +tries=1 +short @8.8.8.8 evil.example 2>&1)
	assert_no_match "$a" '^[0-9]+\.' "round $i: a name the policy denies gets no address"
	assert_no_match "$(probe_tcp "$D" 151.101.1.1 22)" "INET" "round $i: nothing unallowed opens"
done
check "the worker comes back" wait_for 15 probe_dns "$D" 8.8.8.8 github.com

t_begin "the core dies: the worker goes too, the sandbox stays closed"
WK=$(worker_of "$CORE")
kill -KILL "$CORE"
check "the worker exits with its core" wait_for 3 sh -c "! kill -0 $WK 2>/dev/null"
assert_no_match "$(probe_dns "$D" 8.8.8.8 github.com 2>&1)" "140.82.112.3" "DNS gets no answer"
assert_no_match "$(probe_tcp "$D" 192.168.77.10 80)" "LAN-80" "the LAN is still refused"
assert_no_match "$(probe_tcp "$D" 151.101.1.1 22)" "INET" "a public address not allowed is still refused"
assert_match "$(probe_tcp "$D" 93.184.216.34 22)" "INET-22" "control: an allowed address still works (its rule is in the kernel)"

t_begin "a compromised worker (test hooks)"
if ! "$MOAT" --version | grep -q "test hooks"; then
	ok "# SKIP this build has no test hooks (meson -Dtest_hooks=true; scripts/test.sh builds them)"
else
	if ! out=$(in_host env MOAT_TEST_WORKER=evil "$MOAT" create "ev-$S" \
		--default-egress deny --allow github.com:443 --allow 93.184.216.34:22 2>&1); then
		not_ok "create a sandbox whose worker attacks its core" "$out"
	else
		EV=$(field "ev-$S" 'd["host_interface"]')
		check "the attacks are done" wait_for 30 sh -c \
			"$MOAT logs ev-$S 2>/dev/null | grep -q attack=allowed-pin"
		L=$(m logs "ev-$S" 2>&1)
		for a in rule-past-end address-rule "name-not-the-rule's" \
			name-not-normalised timeout-0 timeout-over-bound \
			metadata-address delete-address-rule; do
			assert_match "$L" "attack=$a .*result=refused" "refused: a pin request with $a"
		done
		for a in family-99 too-many-entries short-message length-not-entries \
			unknown-type a-reply; do
			assert_match "$L" "attack=$a .*result=malformed" "refused as malformed: $a"
		done
		assert_match "$L" "attack=allowed-pin .*result=accepted" \
			"control: a pin for its own domain rule is accepted (the most it can do)"
		sets=$(in_host nft list table inet moat 2>/dev/null | sed -n "/set ${EV}_d/,/}/p")
		assert_no_match "$sets" "169.254.169.254" "the metadata address is in no set"
		assert_match "$sets" "140.82.112.99" "the allowed pin is in its rule's set"
		assert_match "$(field "ev-$S" 'd["supervisor"]["worker"]["refused_total"]')" '^1[0-9]$' \
			"the core counts the refused requests"
		assert_no_match "$(probe_tcp "moat-ev-$S" 169.254.169.254 80)" "META" \
			"the sandbox cannot reach metadata"
		assert_match "$(probe_tcp "moat-ev-$S" 93.184.216.34 22)" "INET-22" \
			"control: the sandbox reaches what it may"
		m rm -f "ev-$S" >/dev/null 2>&1
	fi
fi

t_begin "a compromised worker makes a forbidden system call (test hooks)"
if ! "$MOAT" --version | grep -q "test hooks"; then
	ok "# SKIP this build has no test hooks (meson -Dtest_hooks=true; scripts/test.sh builds them)"
else
	if ! out=$(in_host env MOAT_TEST_WORKER=evil-syscall "$MOAT" create "ex-$S" \
		--default-egress deny --allow 93.184.216.34:22 2>&1); then
		not_ok "create a sandbox whose worker makes a forbidden call" "$out"
	else
		check "the worker was killed by its filter (SIGSYS), and the death logged" \
			wait_for 20 sh -c "$MOAT logs ex-$S 2>/dev/null | grep -q 'died.*signal 31'"
		assert_no_match "$(m logs "ex-$S" 2>&1)" "forbidden-syscall.*survived" \
			"the call never returned"
		assert_no_match "$(probe_tcp "moat-ex-$S" 192.168.77.10 80)" "LAN-80" \
			"the sandbox stays closed: the LAN is refused"
		assert_match "$(probe_tcp "moat-ex-$S" 93.184.216.34 22)" "INET-22" \
			"control: what its policy allows still works (its rule is in the kernel)"
		m rm -f "ex-$S" >/dev/null 2>&1
	fi
fi

t_begin "removal"
assert_ok -m "moat rm of both sandboxes" m rm -f "sp-$S" "ot-$S"
assert_eq "$(in_host nft list table inet moat 2>/dev/null | grep -c "$VIF" || true)" 0 \
	"nothing of the sandbox is left in the table"
t_end
