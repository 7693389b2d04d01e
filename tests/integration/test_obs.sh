#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_obs.sh - observability: "moat logs" shows each denied flow with its
# reason, "moat stats" counts them by reason, with known numbers of probes;
# a flood stays bounded (log rate limit, log file cap) while every packet
# is still counted and dropped; the Prometheus output passes promtool's
# strict parser, also when served by "moat stats --listen".
#
#   [obs: deny metadata]  --moatN--  [HOST 192.168.77.2]
#   [peer]  [flood: log cap 4 KiB]     -- [LAN: metadata] -- [INET: public]
# shellcheck source=../lib/preamble.sh
. "$(dirname "$0")/../lib/preamble.sh"

t_world

# counter NAME VERDICT REASON DIRECTION [packets|bytes]: from moat stats --json
counter() {
	m stats "$1" --json | jq -r --arg v "$2" --arg r "$3" --arg d "$4" --arg k "${5:-packets}" \
		'.sandboxes[0].counters[] | select(.verdict == $v and .reason == $r and .direction == $d) | .[$k]'
}
t_begin "denials logged and counted by reason"
cat >"$WORLD_DIR/obs.yaml" <<'EOF'
version: 1
egress:
  default: public
  rules:
    - deny: metadata
EOF
m create "obs-$S" --policy "$WORLD_DIR/obs.yaml" >/dev/null || not_ok "create obs" "$(m create "obs-$S" 2>&1)"
m create "peer-$S" >/dev/null || not_ok "create peer"
O=moat-obs-$S
PEER4=$(m inspect "peer-$S" --json | jq -r .ipv4)
for i in 1 2 3; do
	assert_fail -m "host 192.168.77.2:22 denied ($i/3)" probe_tcp "$O" 192.168.77.2 22
done
for i in 1 2; do
	assert_fail -m "metadata 169.254.169.254:80 denied ($i/2)" probe_tcp "$O" 169.254.169.254 80
done
for i in 1 2 3 4 5; do
	assert_ok -m "public 93.184.216.34:22 allowed ($i/5)" probe_tcp "$O" 93.184.216.34 22
done
# one datagram (a dropped TCP SYN would be sent again after a second)
assert_fail -m "another sandbox denied" probe_udp "$O" "$PEER4" 9

assert_eq "$(counter "obs-$S" denied I2 host)" 3 "stats: 3 packets denied to the host (I2)"
assert_eq "$(counter "obs-$S" denied I2 host bytes)" 180 "stats: their 180 bytes (3 SYNs of 60)"
assert_eq "$(counter "obs-$S" denied rule egress)" 2 "stats: 2 packets denied by a rule (metadata)"
assert_eq "$(counter "obs-$S" allowed default egress)" 5 "stats: 5 flows allowed by the default"
assert_eq "$(counter "obs-$S" denied I1 egress)" 1 "stats: 1 packet denied to another sandbox (I1)"
assert_eq "$(counter "obs-$S" allowed rule egress)" 0 "stats: no flow allowed by a rule"
tr=$(m stats "obs-$S" --json | jq -r '.sandboxes[0].traffic | "\(.egress_packets) \(.ingress_packets) \(.egress_bytes)"')
read -r egp inp egb <<<"$tr"
# 11 connection attempts and 5 connections (3 packets out each at least)
if [ "${egp:-0}" -ge 21 ] && [ "${inp:-0}" -ge 5 ] && [ "${egb:-0}" -ge $((21 * 40)) ]; then
	ok "stats: link traffic ($egp packets out, $inp in)"
else
	not_ok "stats: link traffic" "$tr"
fi
assert_ok -m "stats --json exits 0" m stats --json
assert_ok -m "stats NAME --json exits 0" m stats "obs-$S" --json
text=$(m stats "obs-$S")
if grep -Eq '^  denied +I2 +host +3 +180$' <<<"$text" && grep -Eq '^  allowed +default +egress +5 ' <<<"$text" &&
	grep -Eq '^  log\.denials_total +[0-9]+$' <<<"$text"; then
	ok "stats: the text table shows the counters and the supervisor's"
else
	not_ok "stats: text table" "$text"
fi

out=$(wait_eq 5 3 nlogs "obs-$S" '.kind == "deny" and .reason == "I2:host" and .proto == "tcp" and .dst == "192.168.77.2" and .port == 22')
assert_eq "$out" 3 "logs: 3 denials to 192.168.77.2:22/tcp, reason I2:host"
out=$(wait_eq 5 2 nlogs "obs-$S" '.reason == "rule:1" and .dst == "169.254.169.254" and .port == 80')
assert_eq "$out" 2 "logs: 2 denials to metadata, reason rule:1 (the policy's first rule)"
out=$(wait_eq 5 1 nlogs "obs-$S" ".reason == \"I1:sandbox\" and .dst == \"$PEER4\"")
assert_eq "$out" 1 "logs: 1 denial to the other sandbox, reason I1:sandbox"
assert_eq "$(nlogs "obs-$S" '.dst == "93.184.216.34"')" 0 "logs: allowed flows are not logged"
SB4=$(m inspect "obs-$S" --json | jq -r .ipv4)
assert_eq "$(nlogs "obs-$S" ".reason == \"I2:host\" and .src != \"$SB4\"")" 0 "logs: the source is the sandbox's address"
assert_ok -m "logs --json exits 0" m logs "obs-$S" --json
text=$(m logs "obs-$S")
if grep -E "^[0-9T:.-]+Z +deny +tcp +$SB4 +192\.168\.77\.2 +22 +I2:host" <<<"$text" >/dev/null; then
	ok "logs: text columns time, kind, protocol, source, destination, port, reason"
else
	not_ok "logs: text columns" "$text"
fi
assert_eq "$(nlogs "peer-$S" ".src == \"$SB4\" or .dst == \"192.168.77.2\"")" 0 "logs: the other sandbox's log holds none of these"

# a DNS bypass (I4): DNS over QUIC, 853/udp, which 1.1.1.1 answers
assert_fail -m "DoQ to 1.1.1.1:853/udp fails" probe_udp "$O" 1.1.1.1 853
doq_logged() { [ "$(nlogs "obs-$S" '(.reason | startswith("I4:")) and .proto == "udp" and .dst == "1.1.1.1" and .port == 853')" -ge 1 ]; }
assert_ok -m "logs: that datagram denied, reason I4" wait_for 5 doq_logged

t_begin "prometheus"
m stats --prometheus >"$WORLD_DIR/metrics.txt"
if command -v promtool >/dev/null; then
	assert_ok -m "promtool check metrics accepts moat stats --prometheus" \
		sh -c "promtool check metrics <'$WORLD_DIR/metrics.txt'"
else
	not_ok "promtool is missing (scripts/install-deps.sh installs Debian's prometheus package for it)"
fi
assert_ok -m "denied packets by sandbox, reason, direction" \
	grep -qx "moat_denied_packets_total{sandbox=\"obs-$S\",reason=\"I2\",direction=\"host\"} 3" "$WORLD_DIR/metrics.txt"
assert_ok -m "allowed flows" \
	grep -qx "moat_allowed_flows_total{sandbox=\"obs-$S\",reason=\"default\",direction=\"egress\"} 5" "$WORLD_DIR/metrics.txt"
assert_ok -m "supervisor counters passed through (log)" \
	grep -qE "^moat_log_denials_total\{sandbox=\"obs-$S\"\} [0-9]+$" "$WORLD_DIR/metrics.txt"
assert_ok -m "link traffic by direction" \
	grep -qE "^moat_traffic_packets_total\{sandbox=\"obs-$S\",direction=\"ingress\"\} [1-9][0-9]*$" "$WORLD_DIR/metrics.txt"
assert_ok -m "every sandbox up" \
	grep -qx "moat_sandbox_up{sandbox=\"peer-$S\"} 1" "$WORLD_DIR/metrics.txt"
assert_eq "$(grep -c '^# TYPE moat_denied_packets_total ' "$WORLD_DIR/metrics.txt")" 1 "one TYPE line per family"

PORT=19464
# nsenter execs moat: $! is moat's PID (a shell function would fork)
nsenter --net="$HOST_NETNS" "$MOAT" stats --listen 127.0.0.1:$PORT >"$WORLD_DIR/listen.out" 2>&1 &
LPID=$!
world_on_destroy kill "$LPID" 2>/dev/null
if world_wait_listen host tcp $PORT 127.0.0.1 5; then
	# idle clients must not delay a scrape: eight of them, connected and
	# silent for 4 s (each would hold a one-at-a-time server for its 2 s
	# timeout: 16 s), and the scrape must be answered within 1.5 s
	in_host "$WORLD_PYTHON" -c "
import socket,time
ss=[socket.create_connection(('127.0.0.1',$PORT)) for _ in range(8)]
print('connected', flush=True)
time.sleep(4)" >"$WORLD_DIR/idle.out" &
	IDLE=$!
	wait_for 5 grep -q connected "$WORLD_DIR/idle.out"
	in_host curl -sS --max-time 1.5 -o "$WORLD_DIR/scraped.txt" -w '%{http_code}' "http://127.0.0.1:$PORT/metrics" >"$WORLD_DIR/code" 2>&1
	assert_eq "$(cat "$WORLD_DIR/code")" 200 "--listen: GET /metrics answered within 1.5 s while eight idle clients are connected"
	# more idle clients than slots: the newest scrape still gets in
	in_host "$WORLD_PYTHON" -c "
import socket,time
ss=[socket.create_connection(('127.0.0.1',$PORT)) for _ in range(40)]
print('connected', flush=True)
time.sleep(4)" >"$WORLD_DIR/idle2.out" &
	IDLE2=$!
	wait_for 5 grep -q connected "$WORLD_DIR/idle2.out"
	assert_eq "$(in_host curl -sS --max-time 1.5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/metrics" 2>&1)" 200 \
		"--listen: answered with 40 idle clients connected (more than its 32 slots)"
	wait "$IDLE2" 2>/dev/null
	if command -v promtool >/dev/null; then
		assert_ok -m "--listen: promtool accepts the scraped text" sh -c "promtool check metrics <'$WORLD_DIR/scraped.txt'"
	fi
	assert_ok -m "--listen: the counters are there" grep -q "moat_denied_packets_total{sandbox=\"obs-$S\",reason=\"I2\",direction=\"host\"} 3" "$WORLD_DIR/scraped.txt"
	assert_eq "$(in_host curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/other")" 404 "--listen: other paths 404"
	assert_eq "$(in_host curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/metrics")" 405 "--listen: only GET"
	wait "$IDLE" 2>/dev/null
	# privilege separation: the process that owns the listening socket
	# (and parses HTTP) is an unprivileged child; its root parent has no
	# network socket. The child prints "serving" once it has dropped.
	wait_for 5 grep -q '^serving' "$WORLD_DIR/listen.out"
	SPIDS=$(in_host ss -ltnpH "sport = :$PORT" | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u)
	SPID=$(echo "$SPIDS" | head -n1)
	assert_eq "$(echo "$SPIDS" | wc -w)" 1 "--listen: one process owns the listening socket"
	assert_ne "$SPID" "$LPID" "--listen: the socket's owner is not the root parent"
	st() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }
	assert_eq "$(st "$SPID" PPid)" "$LPID" "--listen: the server is the parent's child"
	assert_eq "$(st "$SPID" Uid)" 65534 "--listen: the server runs as UID 65534"
	assert_eq "$(st "$SPID" Gid)" 65534 "--listen: the server runs as GID 65534"
	assert_eq "$(awk '$1 == "Groups:" { print NF - 1 }' "/proc/$SPID/status")" 0 "--listen: the server has no supplementary groups"
	assert_eq "$(st "$SPID" CapEff)" 0000000000000000 "--listen: the server has no effective capability"
	assert_eq "$(st "$SPID" CapPrm)" 0000000000000000 "--listen: the server has no permitted capability"
	assert_eq "$(st "$SPID" CapBnd)" 0000000000000000 "--listen: the server's bounding set is empty"
	assert_eq "$(st "$SPID" NoNewPrivs)" 1 "--listen: the server has no_new_privs"
	assert_eq "$(st "$SPID" Seccomp)" 2 "--listen: the server runs under a seccomp filter"
	# control: the same reading of the parent shows root with capabilities
	assert_eq "$(st "$LPID" Uid)" 0 "--listen: control: the parent is root"
	assert_ne "$(st "$LPID" CapEff)" 0000000000000000 "--listen: control: the parent has capabilities"
else
	not_ok "--listen: nothing listening on 127.0.0.1:$PORT" "$(cat "$WORLD_DIR/listen.out")"
fi
kill "$LPID" 2>/dev/null
wait "$LPID"
assert_eq "$?" 0 "--listen: exits 0 on SIGTERM"
if [[ -n ${SPID:-} ]]; then
	wait_for 5 test ! -d "/proc/$SPID"
	assert_fail -m "--listen: its server ends with it" test -d "/proc/$SPID"
fi
# the server's death ends the parent (with a failure): no parent left
# waiting without a server
nsenter --net="$HOST_NETNS" "$MOAT" stats --listen 127.0.0.1:$PORT >"$WORLD_DIR/listen2.out" 2>&1 &
LPID=$!
world_on_destroy kill "$LPID" 2>/dev/null
wait_for 5 grep -q '^serving' "$WORLD_DIR/listen2.out"
SPID=$(pgrep -P "$LPID" | head -n1)
if [[ -n $SPID ]]; then
	kill -KILL "$SPID"
	wait_for 5 eval '! kill -0 "$LPID" 2>/dev/null'
	assert_fail -m "--listen: the parent ends when its server is killed" kill -0 "$LPID"
	kill "$LPID" 2>/dev/null
	wait "$LPID"
	assert_eq "$?" 125 "--listen: and says it failed (125)"
else
	not_ok "--listen: no server child" "$(cat "$WORLD_DIR/listen2.out")"
	kill "$LPID" 2>/dev/null
fi
# and the parent's death ends the server: no unprivileged listener left
# behind without anyone to answer it
nsenter --net="$HOST_NETNS" "$MOAT" stats --listen 127.0.0.1:$PORT >"$WORLD_DIR/listen3.out" 2>&1 &
LPID=$!
world_on_destroy kill "$LPID" 2>/dev/null
wait_for 5 grep -q '^serving' "$WORLD_DIR/listen3.out"
SPID=$(pgrep -P "$LPID" | head -n1)
if [[ -n $SPID ]]; then
	world_on_destroy kill "$SPID" 2>/dev/null
	kill -KILL "$LPID"
	wait "$LPID" 2>/dev/null
	# reparented, it may stay a zombie until whoever adopted it reaps it
	wait_for 5 eval '! proc_alive "$SPID"'
	assert_fail -m "--listen: the server ends when its parent is killed" proc_alive "$SPID"
	assert_fail -m "--listen: and nothing listens on the port any more" \
		sh -c "nsenter --net='$HOST_NETNS' ss -ltnH 'sport = :$PORT' | grep -q ."
else
	not_ok "--listen: no server child" "$(cat "$WORLD_DIR/listen3.out")"
	kill "$LPID" 2>/dev/null
fi
assert_status 2 m stats --listen 192.168.77.2:$PORT
assert_status 2 m stats --listen 0.0.0.0:$PORT
assert_status 2 m stats --listen nonsense
assert_status 2 m stats --json --prometheus
assert_status 1 m stats "nosuch-$S"
assert_status 1 m logs "nosuch-$S"
assert_status 2 m logs
assert_status 2 m logs "obs-$S" --bogus

t_begin "a flood stays bounded"
in_host env MOAT_LOG_MAX_BYTES=4096 "$MOAT" create "flood-$S" >/dev/null || not_ok "create flood"
F=moat-flood-$S
FDIR=$MOAT_RUN_DIR/sandboxes/flood-$S
# a follower from the start: it must see every record across rotations
nsenter --net="$HOST_NETNS" "$MOAT" logs "flood-$S" --follow --json >"$WORLD_DIR/fflood.out" 2>&1 &
FFPID=$!
world_on_destroy kill "$FFPID" 2>/dev/null
probe_tcp "$F" 192.168.77.2 22 >/dev/null 2>&1
ff_started() { grep -q '"port":22' "$WORLD_DIR/fflood.out"; }
assert_ok -m "a follower sees the first denial" wait_for 5 ff_started
before=$(counter "flood-$S" denied I2 host)
# as many datagrams to the host as the sandbox can send in 2 seconds
sent=$(in_ns "$F" "$WORLD_PYTHON" -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
n = 0
end = time.monotonic() + 2
while time.monotonic() < end:
    try:
        s.sendto(b"x" * 32, ("192.168.77.2", 9)); n += 1
    except OSError:
        pass
print(n)')
t_flood=2
denied=$(($(counter "flood-$S" denied I2 host) - before))
if [ "${sent:-0}" -ge 2000 ] && [ "$denied" -ge $((sent * 9 / 10)) ] && [ "$denied" -le "$sent" ]; then
	ok "every datagram of the flood is counted and dropped ($denied of $sent)"
else
	not_ok "flood counted" "sent=$sent denied=$denied"
fi
# wait until the supervisor has written what NFLOG delivered: its count
# of logged denials no longer moves from one poll to the next
logged=0
log_settled() {
	local n
	n=$(m stats "flood-$S" --json | jq '.sandboxes[0].supervisor.log.denials_total')
	[ "$n" = "$logged" ] && [ "$n" -gt 0 ] && return 0
	logged=$n
	return 1
}
wait_for 3 log_settled
# 20 a second, burst 40, during the flood (plus a second of slack)
max=$((40 + 20 * (t_flood + 1)))
if [ "$logged" -ge 40 ] && [ "$logged" -le "$max" ]; then
	ok "the log is rate-limited: $logged denials logged of $denied (at most $max)"
else
	not_ok "log rate limit" "logged=$logged denied=$denied max=$max"
fi
cur=$(stat -c %s "$FDIR/log.jsonl" 2>/dev/null || echo missing)
old=$(stat -c %s "$FDIR/log.jsonl.1" 2>/dev/null || echo missing)
if [ "$cur" != missing ] && [ "$old" != missing ] && [ "$cur" -le 4096 ] && [ "$old" -le 4096 ]; then
	ok "the log file is capped and rotated (log.jsonl $cur B, log.jsonl.1 $old B, cap 4096)"
else
	not_ok "log cap" "log.jsonl=$cur log.jsonl.1=$old"
fi
assert_eq "$(find "$FDIR" -maxdepth 1 -name 'log*' | wc -l)" 2 "only two log files are kept"
rot=$(m stats "flood-$S" --json | jq '.sandboxes[0].supervisor.log.rotations_total')
if [ "${rot:-0}" -ge 1 ]; then ok "stats count the rotations ($rot)"; else not_ok "rotations counted" "$rot"; fi
assert_ok -m "the rotated records still read as JSON" test "$(m logs "flood-$S" --json | jq length)" -gt 20
records=$(m stats "flood-$S" --json | jq '.sandboxes[0].supervisor.log.records_total')
ff_all() { [ "$(grep -c . "$WORLD_DIR/fflood.out")" = "$records" ]; }
if wait_for 5 ff_all; then
	ok "--follow printed all $records records across the rotations"
else
	not_ok "--follow across rotations" "printed $(grep -c . "$WORLD_DIR/fflood.out") of $records"
fi
kill "$FFPID" 2>/dev/null
assert_fail -m "the host stays closed after the flood" probe_tcp "$F" 192.168.77.2 22

t_begin "logs --follow"
nsenter --net="$HOST_NETNS" "$MOAT" logs "obs-$S" --follow --json >"$WORLD_DIR/follow.out" 2>&1 &
FPID=$!
world_on_destroy kill "$FPID" 2>/dev/null
# the old records first (after them, nothing appended is missed)
old_printed() { [ "$(grep -c '"reason":"I2:host"' "$WORLD_DIR/follow.out")" -ge 3 ]; }
assert_ok -m "--follow prints the records so far" wait_for 5 old_printed
probe_tcp "$O" 192.168.77.2 8022 >/dev/null 2>&1
out=$(wait_eq 5 1 sh -c "grep -c '\"port\":8022' '$WORLD_DIR/follow.out'")
assert_eq "$out" 1 "--follow prints a new denial as it happens"
assert_ok -m "--follow prints one JSON object per line" sh -c "jq -e -s 'length > 5' '$WORLD_DIR/follow.out' >/dev/null"
m rm "obs-$S"
wait_for 5 eval '! kill -0 "$FPID" 2>/dev/null'
if kill -0 "$FPID" 2>/dev/null; then
	not_ok "--follow ends when the sandbox is removed"
	kill "$FPID"
else
	wait "$FPID"
	assert_eq "$?" 0 "--follow ends (status 0) when the sandbox is removed"
fi

t_end
