#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/proxy.sh - moat's transparent proxy (SPEC section 8: "proxied
# (SNI-checked) bulk throughput >= 90% of direct", "proxied connect
# overhead p50 <= 300 us"), side by side in one run with the direct path
# and two explicit middleboxes, reported as ratios to the direct path:
#
#   direct    a moat sandbox without the proxy: the kernel path
#   moat      a moat sandbox created with MOAT_PROXY=all: its TCP 80/443
#             is redirected to its supervisor, which reads the TLS SNI or
#             the HTTP Host, decides, connects and splices
#   haproxy   haproxy in TCP mode with an SNI rule (req.ssl_sni) on 8443
#             and a Host rule on 8080, one thread, splice-auto, in the
#             host namespace; clients use curl --connect-to / wrk
#   tinyproxy tinyproxy as an explicit HTTP proxy (absolute-form GET for
#             HTTP, CONNECT for TLS) in the host namespace; curl -x
#   sockmap   (bulk only) bench/sockmap/'s prototype: a relay whose bytes
#             the kernel redirects between its two sockets (BPF sockmap,
#             sk_skb verdict), explicit, in the host namespace on 8090
#             (nginx HTTP), 8091 (nginx TLS), 8092 (hc.test); built here
#             when clang and libbpf-dev are installed
#
# Measured, HTTP on port 80 and TLS on 443 (nginx, self-signed cert made
# at run time, files on tmpfs):
#   1. bulk throughput sandbox <- server: curl -o /dev/null of a large file
#   2. connections per second: wrk, a new connection per request
#      (Connection: close, the cost of a connection: the proxy's sniff,
#      decision and connect); wrk cannot speak CONNECT, so no TLS figure
#      for tinyproxy
#   3. time from connect() to the first byte of the response of a small
#      request (TCP connect, TLS handshake for TLS, request, first byte),
#      p50/p99, a new connection each time, from one small python client
#      per path (bench-made, in the sandbox; no name lookup, no process
#      start, no CA store in what is timed): the connect overhead, as
#      microseconds added to direct
#   4. CPU seconds per GB of the middlebox process (utime + stime from
#      /proc/PID/stat around the bulk transfers): moat's supervisor (its
#      core and its worker), haproxy, tinyproxy; and the whole machine's
#      (every core's busy time, /proc/stat), both ends included, for every
#      path: on two cores, what a relay costs is taken from the ends
#   5. CPU microseconds per connection of each middlebox process over
#      the wrk runs of 2 (utime + stime, as in 4, divided by wrk's
#      requests); with PERF=DIR the first wrk round of each middlebox is
#      recorded with perf record -g (moat: its worker) into DIR instead
#      of being counted
#   6. system calls per connection of each middlebox (strace -c attached
#      to it, all threads, while the client of 3 makes NSYS connections
#      one after the other: no batching of events across connections, so
#      the count is the connection's own)
#
#   sudo bench/proxy.sh [--quick] [--only PARTS] [--out FILE]
#
# The table's first line gives the load average at the start and the end:
# two cores serve client, server and middlebox, and other work on the
# machine moves every figure but the system-call and CPU-per-connection
# counts.
#
# PARTS: comma-separated subset of bulk,cps,ttfb,sys (default: all).
# --quick: one round, shorter runs, a smaller file (a smoke run; the
# figures in docs/BENCHMARKS.md come from a full run). ROUNDS, SECS, BIG
# (MiB), NLAT, NSYS override the defaults; KEEP=DIR copies the raw measurements
# (per-run figures, curl's connect/TLS/first-byte times) to DIR.
# Needs: scripts/install-deps.sh --bench (nginx, haproxy, tinyproxy, wrk,
# curl, openssl, jq, strace; clang and libbpf-dev for the sockmap row).
#
# Topology (every namespace made here, random suffix, removed at exit;
# the sandboxes' namespaces are moat's, removed with the sandboxes):
#
#   +-------------------------+   +-------------------------------+
#   | sandbox pd-SFX (direct) |   | sandbox pp-SFX (MOAT_PROXY=all)|
#   |  clients: curl, wrk     |   |  clients: curl, wrk           |
#   +-----------+-------------+   +--------------+----------------+
#               | moatN (veth)                   | moatM: tcp 80/443
#               |                                |  redirected to gw:15001
#   +-----------+--------------------------------+----------------+
#   | HOST bp-host-SFX   moat and the two supervisors run here     |
#   |  lo 198.51.100.1: haproxy :8080 (Host rule) :8443 (SNI rule) |
#   |                   tinyproxy :8888                            |
#   |  up0 172.31.254.1/30                                         |
#   +-----------------------------+--------------------------------+
#                                 | up0 (veth)
#   +-----------------------------+--------------------------------+
#   | INET bp-inet-SFX   up0 172.31.254.2/30                       |
#   |  lo 203.0.113.10: nginx :80 and :443, files on tmpfs         |
#   |  lo 203.0.113.11: a minimal HTTP server on :80 (python,      |
#   |     sendfile) that, unlike nginx, lets a client half-close   |
#   +--------------------------------------------------------------+
#
# Why the second HTTP server: a proxy that half-closes its connection to
# the server after a request (moat's did, until it learnt to judge every
# request of a keep-alive connection) gets large responses from nginx cut
# short, because nginx takes a client's FIN during a response as an abort
# ("client prematurely closed connection"). The row against nginx catches
# that; the row against hc.test (203.0.113.11), which never watches for
# the FIN, measures the relay itself either way.
#
# Both sandboxes get the same policy: TCP 80/443 to 203.0.113.0/28 and the
# host's ports 8080, 8443, 8888; nothing else. The name bench.test is
# given to clients (and tinyproxy) by an /etc/hosts bind-mounted in a
# private mount namespace of their own (unshare -m).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

quick=0
out=
only=,bulk,cps,ttfb,sys,
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 ;;
	--out) out=$2; shift ;;
	--only) only=",$2,"; shift ;;
	-h | --help) sed -n '3,65p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "proxy.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
	esac
	shift
done

if [ "$quick" = 1 ]; then
	ROUNDS=${ROUNDS:-1} SECS=${SECS:-2} BIG=${BIG:-128} NLAT=${NLAT:-50}
	NSYS=${NSYS:-50}
else
	ROUNDS=${ROUNDS:-5} SECS=${SECS:-4} BIG=${BIG:-512} NLAT=${NLAT:-200}
	NSYS=${NSYS:-200}
fi
for t in nginx haproxy tinyproxy wrk curl openssl jq unshare strace; do
	command -v "$t" >/dev/null || { echo "proxy.sh: $t missing: sudo scripts/install-deps.sh --bench" >&2; exit 1; }
done

bench_init proxy
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
SRV=203.0.113.10 SRV2=203.0.113.11 MB=198.51.100.1
H=bp-host-$BENCH_SFX I=bp-inet-$BENCH_SFX
SBD=pd-$BENCH_SFX SBP=pp-$BENCH_SFX
export MOAT_RUN_DIR=$BENCH_DIR/run
R=$BENCH_DIR/r
mkdir -p "$R"
# the served files live on tmpfs, outside BENCH_DIR (which is on disk)
FILES=$(mktemp -d /dev/shm/moat-bench-proxy.XXXXXX)
chmod 755 "$FILES"  # nginx workers run as nobody
bench_on_exit "rm -rf '$FILES'"

bench_moat_ns "$H"

# ---------------------------------------------------------------- world
log "building the namespaces and the servers"
bench_ns bp-host
bench_ns bp-inet
ip -n "$H" link add up0 type veth peer name up0 netns "$I"
ip -n "$H" addr add 172.31.254.1/30 dev up0
ip -n "$I" addr add 172.31.254.2/30 dev up0
ip -n "$I" addr add $SRV/32 dev lo
ip -n "$I" addr add $SRV2/32 dev lo
ip -n "$H" addr add $MB/32 dev lo
ip -n "$H" link set up0 up
ip -n "$I" link set up0 up
ip -n "$H" route add default via 172.31.254.2
# many short connections from one client address: the servers (nginx in
# INET, the middleboxes in HOST) close first, and their TIME_WAIT sockets
# would make the clients' reused port pairs stall on SYN retransmits
# (rounds after the first fell to a tenth); the two namespaces keep none
for ns in "$H" "$I"; do
	in_ns "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.tcp_max_tw_buckets=0 \
		net.ipv4.ip_local_port_range="10000 65000"
done

# files: one large, one small (the small one is the request of 2 and 3)
head -c $((BIG * 1024 * 1024)) /dev/zero >"$FILES/big"
head -c 100 /dev/zero >"$FILES/small"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$BENCH_DIR/key.pem" -out "$BENCH_DIR/cert.pem" -days 1 \
	-subj /CN=bench.test -addext subjectAltName=DNS:bench.test 2>/dev/null

mkdir -p "$BENCH_DIR/nginx"
cat >"$BENCH_DIR/nginx.conf" <<EOF
worker_processes 1;
error_log $BENCH_DIR/nginx/error.log;
pid $BENCH_DIR/nginx/nginx.pid;
events { worker_connections 4096; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 1000000;
	default_type application/octet-stream;
	client_body_temp_path $BENCH_DIR/nginx/body;
	proxy_temp_path $BENCH_DIR/nginx/proxy;
	fastcgi_temp_path $BENCH_DIR/nginx/fastcgi;
	uwsgi_temp_path $BENCH_DIR/nginx/uwsgi;
	scgi_temp_path $BENCH_DIR/nginx/scgi;
	server {
		listen $SRV:80 reuseport backlog=4096;
		listen $SRV:443 ssl reuseport backlog=4096;
		server_name bench.test;
		ssl_certificate $BENCH_DIR/cert.pem;
		ssl_certificate_key $BENCH_DIR/key.pem;
		root $FILES;
	}
}
EOF
bench_bg "$I" "$BENCH_DIR/nginx.log" nginx -e "$BENCH_DIR/nginx/error.log" \
	-c "$BENCH_DIR/nginx.conf" -g 'daemon off;'

# hc.test: one request per connection, headers then sendfile(2), close
cat >"$BENCH_DIR/hcserver.py" <<'EOF'
import os, socket, sys, threading
addr, port, root = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((addr, port))
ls.listen(1024)
def serve(c):
    with c:
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = c.recv(4096)
            if not d:
                return
            buf += d
        name = os.path.join(root, os.path.basename(buf.split(b" ", 2)[1].decode()))
        try:
            f = open(name, "rb")
        except OSError:
            c.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        with f:
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                      % os.fstat(f.fileno()).st_size)
            c.sendfile(f)
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
bench_bg "$I" "$BENCH_DIR/hcserver.log" python3 "$BENCH_DIR/hcserver.py" $SRV2 80 "$FILES"

cat >"$BENCH_DIR/haproxy.cfg" <<EOF
global
	nbthread 1
	maxconn 4096
defaults
	mode tcp
	option splice-auto
	timeout connect 5s
	timeout client 60s
	timeout server 60s
frontend tls
	bind $MB:8443
	tcp-request inspect-delay 5s
	tcp-request content accept if { req.ssl_hello_type 1 } { req.ssl_sni -i bench.test }
	tcp-request content reject
	default_backend tls
backend tls
	server s $SRV:443
frontend http
	bind $MB:8080
	tcp-request inspect-delay 5s
	tcp-request content accept if { req.hdr(host),field(1,:) -i bench.test }
	tcp-request content accept if { req.hdr(host),field(1,:) -i hc.test }
	tcp-request content reject
	use_backend hc if { req.hdr(host),field(1,:) -i hc.test }
	default_backend http
backend http
	server s $SRV:80
backend hc
	server s $SRV2:80
EOF
bench_bg "$H" "$BENCH_DIR/haproxy.log" haproxy -db -f "$BENCH_DIR/haproxy.cfg"
HAPROXY_PID=${BENCH_PIDS[-1]}

cat >"$BENCH_DIR/tinyproxy.conf" <<EOF
Port 8888
Listen $MB
Timeout 60
MaxClients 1024
LogLevel Error
ConnectPort 443
EOF
# tinyproxy resolves bench.test itself: give it the name
printf '%s bench.test\n%s hc.test\n' $SRV $SRV2 >"$BENCH_DIR/hosts-srv"
printf '%s bench.test hc.test\n' $MB >"$BENCH_DIR/hosts-mb"
# shellcheck disable=SC2016 # expanded by the inner sh
bench_bg "$H" "$BENCH_DIR/tinyproxy.log" unshare -m sh -c \
	'mount --bind "$0" /etc/hosts && exec tinyproxy -d -c "$1"' \
	"$BENCH_DIR/hosts-srv" "$BENCH_DIR/tinyproxy.conf"
TINY_PID=${BENCH_PIDS[-1]}

# the sockmap prototype (bench/sockmap/): bulk only, when clang's BPF
# target and libbpf are there; one relay per server: HTTP (nginx) on 8090,
# TLS (nginx) on 8091, HTTP (hc.test) on 8092
SOCKMAP=
if [[ $only == *,bulk,* ]] && command -v clang >/dev/null && [ -e /usr/include/bpf/libbpf.h ]; then
	SM=$BENCH_TOP/bench/sockmap
	clang -O2 -g -target bpf -I/usr/include/"$(gcc -dumpmachine)" \
		-c "$SM/relay.bpf.c" -o "$BENCH_DIR/relay.bpf.o"
	cc -O2 "$SM/relay.c" -lbpf -o "$BENCH_DIR/relay"
	for r in "8090 $SRV 80" "8091 $SRV 443" "8092 $SRV2 80"; do
		read -r lp sa sp <<<"$r"
		bench_bg "$H" "$BENCH_DIR/relay-$lp.log" "$BENCH_DIR/relay" $MB "$lp" "$sa" "$sp" \
			"$BENCH_DIR/relay.bpf.o"
	done
	SOCKMAP=sockmap
else
	log "no clang BPF target or libbpf: no sockmap row (scripts/install-deps.sh --bench)"
fi

# wait_srv NS PORT LOG - wait for a listener; show the server's log if none
wait_srv() {
	bench_wait_listen "$1" tcp "$2" || { cat "$3" >&2; exit 1; }
}
wait_srv "$I" 80 "$BENCH_DIR/nginx/error.log"
wait_srv "$I" 443 "$BENCH_DIR/nginx/error.log"
wait_srv "$H" 8080 "$BENCH_DIR/haproxy.log"
wait_srv "$H" 8443 "$BENCH_DIR/haproxy.log"
wait_srv "$H" 8888 "$BENCH_DIR/tinyproxy.log"
if [ -n "$SOCKMAP" ]; then
	for lp in 8090 8091 8092; do
		wait_srv "$H" $lp "$BENCH_DIR/relay-$lp.log"
	done
fi

cat >"$BENCH_DIR/policy.yaml" <<EOF
version: 1
egress:
  default: deny
  rules:
    - allow: 203.0.113.0/28
      ports: [80, 443]
      protocol: tcp
    - allow: host
      ports: [8080, 8443, 8888, 8090, 8091, 8092]
      protocol: tcp
# thousands of new connections a second: beyond what limits.flows' default
# lets one sandbox open (docs/POLICY.md)
limits:
  flows: 1048576
EOF
moat create "$SBD" --policy "$BENCH_DIR/policy.yaml" >/dev/null
in_ns "$H" env MOAT_PROXY=all "$MOAT" create "$SBP" --policy "$BENCH_DIR/policy.yaml" >/dev/null
# the sandboxes' namespaces, as paths
NS_D=$(moat inspect "$SBD" --json | jq -r .netns)
NS_P=$(moat inspect "$SBP" --json | jq -r .netns)
SV_P=$(moat inspect "$SBP" --json | jq -r .supervisor_pid)
[ "$(moat inspect "$SBP" --json | jq -r .supervisor.proxy.enabled)" = 1 ] ||
	{ echo "proxy.sh: the proxy is not on in $SBP" >&2; exit 1; }
[ "$(moat inspect "$SBD" --json | jq -r .supervisor.proxy.enabled)" = 0 ] ||
	{ echo "proxy.sh: the proxy is on in $SBD" >&2; exit 1; }
for ns in "$NS_D" "$NS_P"; do
	nsenter --net="$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1 \
		net.ipv4.ip_local_port_range="10000 65000"
done

# cl WHO CMD... - run CMD as a client of WHO (direct, moat, haproxy,
# tinyproxy): in the sandbox's network namespace (moat's for "moat", the
# direct one otherwise), with bench.test naming the server (or the
# haproxy middlebox) in its /etc/hosts
cl() {
	local who=$1 ns=$NS_D hosts=$BENCH_DIR/hosts-srv
	shift
	[ "$who" = moat ] && ns=$NS_P
	[ "$who" = haproxy ] || [ "$who" = sockmap ] && hosts=$BENCH_DIR/hosts-mb
	# shellcheck disable=SC2016 # expanded by the inner sh
	nsenter --net="$ns" unshare -m sh -c \
		'h=$1; shift; mount --bind "$h" /etc/hosts && exec "$@"' \
		sh "$hosts" "$@"
}
# url WHO PROTO PATH [HOST] - the URL WHO's clients fetch (HOST:
# bench.test, nginx, or hc.test); curl_args WHO: the proxy option of
# tinyproxy's clients
url() {
	local port=
	if [ "$1" = haproxy ]; then
		[ "$2" = http ] && port=:8080 || port=:8443
	elif [ "$1" = sockmap ]; then
		[ "$2" = http ] && port=:8090 || port=:8091
		[ "${4:-}" = hc.test ] && port=:8092
	fi
	echo "$2://${4:-bench.test}$port/$3"
}
curl_args() {
	if [ "$1" = tinyproxy ]; then
		echo "-x http://$MB:8888"
	fi
}

# cpu_ticks PID - utime + stime, clock ticks (every thread), of PID and its
# children: moat's supervisor is a core and, its child, the worker that
# relays
cpu_ticks() {
	local p t=0 n
	for p in "$1" $(pgrep -P "$1"); do
		n=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat")
		t=$((t + n))
	done
	echo "$t"
}
# machine_ticks - clock ticks every core spent busy (user, nice, system,
# irq, softirq: /proc/stat), whoever it was for
machine_ticks() {
	awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat
}
mb_pid() {
	case $1 in
	moat) echo "$SV_P" ;;
	haproxy) echo "$HAPROXY_PID" ;;
	tinyproxy) echo "$TINY_PID" ;;
	*) echo ;;
	esac
}

WHO="direct moat haproxy tinyproxy"
tck=$(getconf CLK_TCK)
# readiness and correctness: every path fetches the small file
for who in $WHO; do
	for t in "http bench.test" "https bench.test" "http hc.test"; do
		read -r proto host <<<"$t"
		# shellcheck disable=SC2046
		n=$(cl "$who" curl -fksS --max-time 10 $(curl_args "$who") -o /dev/null \
			-w '%{size_download}' "$(url "$who" "$proto" small "$host")") ||
			{ echo "proxy.sh: $who $proto $host: cannot fetch" >&2; exit 1; }
		[ "$n" = 100 ] || { echo "proxy.sh: $who $proto $host: got $n bytes" >&2; exit 1; }
	done
done
# and the middleboxes refuse what their rule does not allow
if cl haproxy curl -ksS --max-time 5 -o /dev/null --connect-to other.test:443:$MB:8443 \
	https://other.test/small 2>/dev/null; then
	echo "proxy.sh: haproxy's SNI rule lets other.test through" >&2
	exit 1
fi

# ---------------------------------------------------------------- bulk
if [[ $only == *,bulk,* ]]; then
log "bulk: $ROUNDS rounds of ${BIG} MiB per path and protocol, alternating"

# keys: http (nginx), https (nginx), hc (HTTP, hc.test). A transfer cut
# short is recorded in bulkfail-KEY-WHO (bytes received), not as a figure
for _ in $(seq "$ROUNDS"); do
	for t in "http http bench.test" "https https bench.test" "hc http hc.test"; do
		read -r key proto host <<<"$t"
		for who in $WHO $SOCKMAP; do
			pid=$(mb_pid "$who")
			[ -n "$pid" ] && c0=$(cpu_ticks "$pid")
			m0=$(machine_ticks)
			# shellcheck disable=SC2046
			o=$(cl "$who" curl -ksS --max-time 120 $(curl_args "$who") -o /dev/null \
				-w '%{http_code} %{speed_download} %{size_download}' \
				"$(url "$who" "$proto" big "$host")" 2>>"$BENCH_DIR/curl-bulk.log") || true
			read -r code bps bytes <<<"$o"
			if [ "$code" != 200 ] || [ "$bytes" != $((BIG * 1024 * 1024)) ]; then
				log "$who $key: transfer cut short (HTTP $code, $bytes bytes)"
				echo "$bytes" >>"$R/bulkfail-$key-$who"
				continue
			fi
			echo "$bps" >>"$R/bulk-$key-$who"
			echo "$(($(machine_ticks) - m0)) $bytes" >>"$R/mcpu-$key-$who"
			if [ -n "$pid" ]; then
				c1=$(cpu_ticks "$pid")
				echo "$((c1 - c0)) $bytes" >>"$R/cpu-$key-$who"
			fi
		done
	done
done

fi
# ---------------------------------------------------------- conn/s (wrk)
if [[ $only == *,cps,* ]]; then
log "connections per second: $ROUNDS rounds of ${SECS}s, wrk, Connection: close"
cat >"$BENCH_DIR/absolute.lua" <<'EOF'
-- tinyproxy: an explicit proxy wants the absolute form of the target
wrk.path = "http://bench.test/small"
EOF
wrk_rps() { # wrk_rps WHO PROTO
	local who=$1 proto=$2 o u s=()
	u=$(url "$who" "$proto" small)
	if [ "$who" = tinyproxy ]; then
		u=http://$MB:8888/
		s=(-s "$BENCH_DIR/absolute.lua")
	fi
	o=$(cl "$who" wrk -t 1 -c 32 -d "${SECS}s" -H 'Connection: close' "${s[@]}" "$u")
	echo "$o" >>"$BENCH_DIR/wrk-$proto-$who.log"
	sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' <<<"$o"
}
# wrk_cpu WHO PROTO: wrk_rps, and the middlebox's CPU ticks over the run
# with the connections it made (wrk's request count) in cpuc-PROTO-WHO;
# with PERF=DIR, the first round of each middlebox is also recorded with
# perf record -g (moat: its worker) into DIR/perf-PROTO-WHO.data
wrk_cpu() {
	local who=$1 proto=$2 pid c0 pp=
	pid=$(mb_pid "$who")
	[ -n "$pid" ] && c0=$(cpu_ticks "$pid")
	if [ -n "${PERF:-}" ] && [ -n "$pid" ] && [ ! -e "$PERF/perf-$proto-$who.data" ]; then
		mkdir -p "$PERF"
		local pp_pid=$pid
		[ "$who" = moat ] && pp_pid=$(pgrep -P "$SV_P")
		perf record -q -g -p "$pp_pid" -o "$PERF/perf-$proto-$who.data" 2>/dev/null &
		pp=$!
		sleep 0.2
	fi
	wrk_rps "$who" "$proto" >>"$R/cps-$proto-$who"
	if [ -n "$pp" ]; then
		kill -INT "$pp"
		wait "$pp" || true
	fi
	# a round under perf costs more: not counted
	if [ -n "$pid" ] && [ -z "$pp" ]; then
		echo "$(($(cpu_ticks "$pid") - c0)) $(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' \
			"$BENCH_DIR/wrk-$proto-$who.log" | tail -n 1)" >>"$R/cpuc-$proto-$who"
	fi
}
for _ in $(seq "$ROUNDS"); do
	for proto in http https; do
		for who in $WHO; do
			[ "$who/$proto" = tinyproxy/https ] && continue
			wrk_cpu "$who" $proto
		done
	done
done

fi
# ------------------------------------------------------ time to first byte
if [[ $only == *,ttfb,* || $only == *,sys,* ]]; then
# ttfb.py ADDR PORT N [--tls] [--proxy]: N times, connect to ADDR:PORT
# (with --proxy: an explicit proxy, CONNECT for TLS, absolute-form GET
# for HTTP), TLS handshake with SNI bench.test, GET /small; prints the
# microseconds from connect() to the response's first byte, one a line;
# fails on anything but a complete 200 response
cat >"$BENCH_DIR/ttfb.py" <<'EOF'
import socket, ssl, sys, time
addr, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
tls, proxy = "--tls" in sys.argv, "--proxy" in sys.argv
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
path = b"http://bench.test/small" if proxy and not tls else b"/small"
req = b"GET %s HTTP/1.1\r\nHost: bench.test\r\nConnection: close\r\n\r\n" % path
def head(s):
    b = b""
    while b"\r\n\r\n" not in b:
        d = s.recv(4096)
        if not d:
            sys.exit("connection closed in a response head")
        b += d
    if b.split(b" ", 2)[1] != b"200":
        sys.exit("not 200: %r" % b[:80])
    return b
out = []
for i in range(n):
    t0 = time.perf_counter_ns()
    s = socket.create_connection((addr, port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if proxy and tls:
        s.sendall(b"CONNECT bench.test:443 HTTP/1.1\r\nHost: bench.test:443\r\n\r\n")
        head(s)
    if tls:
        s = ctx.wrap_socket(s, server_hostname="bench.test")
    s.sendall(req)
    first = s.recv(1)
    t1 = time.perf_counter_ns()
    if first != b"H":
        sys.exit("no response")
    rest = first
    while True:
        d = s.recv(65536)
        if not d:
            break
        rest += d
    if not rest.startswith(b"HTTP/1.1 200") or len(rest.split(b"\r\n\r\n", 1)[1]) != 100:
        sys.exit("bad response: %r" % rest[:80])
    s.close()
    out.append("%.1f" % ((t1 - t0) / 1000))
print("\n".join(out))
EOF
ttfb_loop() { # ttfb_loop WHO PROTO N
	local opt=(--) addr=$SRV port=80
	[ "$2" = https ] && { opt+=(--tls); port=443; }
	case $1 in
	haproxy) addr=$MB; [ "$2" = https ] && port=8443 || port=8080 ;;
	tinyproxy) addr=$MB; port=8888; opt+=(--proxy) ;;
	esac
	cl "$1" python3 "$BENCH_DIR/ttfb.py" "$addr" "$port" "$3" "${opt[@]}"
}
fi
if [[ $only == *,ttfb,* ]]; then
log "time to first byte: $ROUNDS x $NLAT small requests per path and protocol"
for _ in $(seq "$ROUNDS"); do
	for proto in http https; do
		for who in $WHO; do
			ttfb_loop "$who" $proto "$NLAT" >>"$R/ttfb-$proto-$who"
		done
	done
done

fi
# ------------------------------------------------- system calls (strace)
if [[ $only == *,sys,* ]]; then
log "system calls per connection: $NSYS connections one after the other, strace -c"
for proto in http https; do
	for who in moat haproxy tinyproxy; do
		pid=$(mb_pid "$who")
		# moat's relay is its supervisor's worker (the core's child)
		[ "$who" = moat ] && pid=$(pgrep -P "$SV_P")
		strace -c -f -q -p "$pid" -o "$R/strace-$proto-$who" &
		sp=$!
		for _ in $(seq 100); do	# attached: the tracer shows
			[ "$(awk '/^TracerPid/ { print $2 }' "/proc/$pid/status")" != 0 ] && break
			sleep 0.05
		done
		ttfb_loop "$who" $proto "$NSYS" >/dev/null
		kill -INT "$sp"
		wait "$sp" || true
		awk -v n="$NSYS" '$NF == "total" { printf "%.1f\n", $4 / n }' \
			"$R/strace-$proto-$who" >"$R/sys-$proto-$who"
	done
done

fi
# ------------------------------------------------------------- report
# check what the proxy did: every connection of the moat sandbox allowed
pstat=$(moat inspect "$SBP" --json | jq -c .supervisor.proxy)
log "moat proxy counters: $pstat"

m() { median "$R/$1"; }
gbit() { python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) * 8 / 1e9))" "$1"; }
pctr() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print('%.0f%%' % (100 * a / b) if b else 'nan')" "$1" "$2"; }
sub() { python3 -c "import sys; print('%+.0f' % (float(sys.argv[1]) - float(sys.argv[2])))" "$1" "$2"; }
# cpu_per_gb FILE - CPU seconds per GB (1e9 bytes) over every transfer
cpu_per_gb() {
	awk -v t="$tck" '{ c += $1; b += $2 } END { printf "%.2f\n", b ? c / t / (b / 1e9) : 0 }' "$1"
}
met() { python3 -c "import sys; print('met' if eval(sys.argv[1]) else 'missed')" "$1"; }

{
echo "## Transparent proxy (bench/proxy.sh)"
echo
echo "$(date -u +'%F %H:%M'), $(uname -r), $(nproc) cores, load average $LOAD0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end; $ROUNDS rounds, alternating; bulk ${BIG} MiB, wrk ${SECS}s -c 32 -t 1, TTFB over $((ROUNDS * NLAT)) requests; medians."
echo
# the sockmap prototype's column, where it ran (bulk rows only)
sx=
[ -n "$SOCKMAP" ] && sx=" | -"
echo "| what | direct | moat proxy | haproxy (TCP, SNI rule) | tinyproxy${SOCKMAP:+ | sockmap relay (prototype)} |"
echo "|---|---|---|---|---|${SOCKMAP:+---|}"
# bulk_cell KEY WHO [DIRECT] - Gbit/s (and % of DIRECT), or the failures
bulk_cell() {
	local f=$R/bulk-$1-$2 x=$R/bulkfail-$1-$2 c="" v
	if [ -s "$f" ]; then
		v=$(median "$f")
		c=$(gbit "$v")
		[ -n "${3:-}" ] && c+=" ($(pctr "$v" "$3"))"
	fi
	if [ -s "$x" ]; then
		[ -n "$c" ] && c+=", "
		c+="**cut short** in $(wc -l <"$x") of $ROUNDS runs (median $(python3 -c "import sys; print('%.1f' % (float(sys.argv[1]) / 1048576))" "$(median "$x")") MiB of $BIG)"
	fi
	echo "${c:--}"
}
if [[ $only == *,bulk,* ]]; then
for t in "http HTTP bulk, nginx" "hc HTTP bulk, server that allows half-close" "https TLS bulk, nginx"; do
	read -r key P <<<"$t"
	d=
	[ -s "$R/bulk-$key-direct" ] && d=$(m "bulk-$key-direct")
	row="| $P (Gbit/s) | $(bulk_cell "$key" direct)"
	for who in moat haproxy tinyproxy $SOCKMAP; do
		row+=" | $(bulk_cell "$key" "$who" "$d")"
	done
	echo "$row |"
done
fi
if [[ $only == *,cps,* ]]; then
for proto in http https; do
	P=HTTP
	[ $proto = https ] && P=TLS
	d=$(m "cps-$proto-direct")
	row="| $P connections/s (wrk, new connection per request) | $(printf '%.0f' "$d")"
	for who in moat haproxy tinyproxy; do
		if [ -s "$R/cps-$proto-$who" ]; then
			v=$(m "cps-$proto-$who")
			row+=" | $(printf '%.0f' "$v") ($(pctr "$v" "$d"))"
		else
			row+=" | - (wrk has no CONNECT)"
		fi
	done
	echo "$row$sx |"
done
# CPU per connection of the middlebox process over every wrk run (the
# load cannot make a connection cost fewer ticks, only more)
for proto in http https; do
	P=HTTP
	[ $proto = https ] && P=TLS
	row="| $P middlebox CPU us per connection (wrk runs) | -"
	for who in moat haproxy tinyproxy; do
		if [ -s "$R/cpuc-$proto-$who" ]; then
			row+=" | $(awk -v t="$tck" '{ c += $1; n += $2 } END { printf "%.1f", n ? c / t / n * 1e6 : 0 }' "$R/cpuc-$proto-$who")"
		else
			row+=" | -"
		fi
	done
	echo "$row$sx |"
done
fi
if [[ $only == *,ttfb,* ]]; then
for proto in http https; do
	P=HTTP
	[ $proto = https ] && P=TLS
	d50=$(m "ttfb-$proto-direct") d99=$(pct 99 "$R/ttfb-$proto-direct")
	row="| $P connect to first byte p50 / p99 (us) | $(printf '%.0f / %.0f' "$d50" "$d99")"
	for who in moat haproxy tinyproxy; do
		v50=$(m "ttfb-$proto-$who") v99=$(pct 99 "$R/ttfb-$proto-$who")
		row+=" | $(printf '%.0f / %.0f' "$v50" "$v99") ($(sub "$v50" "$d50") / $(sub "$v99" "$d99"))"
	done
	echo "$row$sx |"
done
fi
if [[ $only == *,sys,* ]]; then
for proto in http https; do
	P=HTTP
	[ $proto = https ] && P=TLS
	row="| $P system calls per connection (middlebox, strace -c) | -"
	for who in moat haproxy tinyproxy; do
		row+=" | $(cat "$R/sys-$proto-$who")"
	done
	echo "$row$sx |"
done
fi
if [[ $only == *,bulk,* ]]; then
# what a transfer costs the whole machine, both ends and the middlebox:
# with the cores busy, the relay's share is what the direct path would
# have had (on a shared machine, other work is counted too)
for t in "http HTTP (nginx)" "hc HTTP (hc.test)" "https TLS (nginx)"; do
	read -r key P <<<"$t"
	row="| $P machine CPU s per GB (all cores, /proc/stat)"
	for who in direct moat haproxy tinyproxy $SOCKMAP; do
		if [ -s "$R/mcpu-$key-$who" ]; then
			row+=" | $(cpu_per_gb "$R/mcpu-$key-$who")"
		else
			row+=" | -"
		fi
	done
	echo "$row |"
done
for t in "hc HTTP (hc.test)" "https TLS (nginx)"; do
	read -r key P <<<"$t"
	row="| $P CPU s per GB relayed (middlebox process) | -"
	for who in moat haproxy tinyproxy; do
		if [ -s "$R/cpu-$key-$who" ]; then
			row+=" | $(cpu_per_gb "$R/cpu-$key-$who")"
		else
			row+=" | -"
		fi
	done
	echo "$row$sx |"
done
fi
echo
echo "Targets (SPEC section 8), moat proxy against direct:"
echo
if [[ $only == *,bulk,* ]]; then
for t in "http HTTP bulk (nginx)" "hc HTTP bulk (hc.test)" "https TLS bulk (nginx)"; do
	read -r key P <<<"$t"
	if [ -s "$R/bulkfail-$key-moat" ]; then
		echo "- $P >= 90% of direct: missed, transfers cut short"
	elif [ -s "$R/bulk-$key-moat" ] && [ -s "$R/bulk-$key-direct" ]; then
		a=$(m "bulk-$key-moat") b=$(m "bulk-$key-direct")
		echo "- $P >= 90% of direct: $(pctr "$a" "$b"), $(met "$a >= 0.9 * $b")"
	fi
done
fi
if [[ $only == *,ttfb,* ]]; then
for proto in http https; do
	P=HTTP
	[ $proto = https ] && P=TLS
	a=$(m "ttfb-$proto-moat") b=$(m "ttfb-$proto-direct")
	echo "- $P connect overhead p50 <= 300 us: $(sub "$a" "$b") us, $(met "$a - $b <= 300")"
done
fi
echo
echo "moat proxy counters at the end: \`$pstat\`"
} >"$R/table.md"
cat "$R/table.md"
if [ -n "${KEEP:-}" ]; then
	mkdir -p "$KEEP"
	cp -r "$R/." "$KEEP/"
fi
if [ -n "$out" ]; then
	cp "$R/table.md" "$out"
else
	mkdir -p "$BENCH_TOP/bench/results"
	cp "$R/table.md" "$BENCH_TOP/bench/results/proxy-$(date -u +%Y%m%d-%H%M).md"
fi
log "done"
