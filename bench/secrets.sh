#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/secrets.sh - TLS interception with a secret put into every request,
# moat against mitmproxy (Debian's) doing the same, side by side in one
# run, with the direct path as the baseline:
#
#   direct     a moat sandbox whose policy intercepts nothing: the client
#              talks TLS to the server itself (the kernel path)
#   moat       a moat sandbox with a secret for bench.test: its proxy
#              terminates TLS with a leaf from the sandbox's CA, verifies
#              the server against the bench CA (MOAT_UPSTREAM_CA) and
#              replaces the placeholder in the Authorization header
#   mitmproxy  mitmdump in the host namespace as a reverse proxy to
#              https://bench.test (verified against the bench CA), setting
#              the Authorization header (modify_headers), bodies streamed;
#              the clients, in the direct sandbox, reach it as bench.test
#
# Measured (nginx, files on tmpfs, a certificate from a bench CA):
#   1. connect to first byte of a new TLS connection (TCP connect, TLS
#      handshake, a small request, the first byte of its answer), p50 and
#      p99 over NLAT connections from a small python client in the
#      sandbox: the added time is the figure minus direct's
#   2. requests per second on keep-alive connections: wrk, 1 thread, 4
#      connections, a 100-byte file
#   3. bulk throughput server -> sandbox: curl -o /dev/null of a large file
#   4. CPU seconds per GB of the interceptor (moat's worker, mitmdump)
#      around the bulk transfers, and its CPU per new connection around
#      1 (utime + stime, /proc/PID/stat): what a loaded machine's
#      latencies hide
#
#   sudo bench/secrets.sh [--quick] [--out FILE]
#
# --quick: one round, shorter runs, a smaller file. ROUNDS, SECS, BIG (MiB)
# and NLAT override the defaults; KEEP=DIR copies the raw measurements to
# DIR. Needs scripts/install-deps.sh --bench
# (nginx, wrk, mitmproxy, curl, openssl, jq).
#
# Topology (every namespace made here, random suffix, removed at exit):
#
#   +--------------------------+   +--------------------------------+
#   | sandbox sd-SFX (direct,  |   | sandbox sm-SFX (a secret for   |
#   |  and mitmproxy's clients)|   |  bench.test: intercepted)      |
#   +------------+-------------+   +---------------+----------------+
#                | moatN                            | moatM: 443 -> :15001
#   +------------+----------------------------------+----------------+
#   | HOST bs-host-SFX  moat, its supervisors; mitmdump on           |
#   |   198.51.100.1:8443 (reverse proxy to https://bench.test)      |
#   |  up0 172.31.253.1/30                                           |
#   +-------------------------------+--------------------------------+
#                                   | up0
#   +-------------------------------+--------------------------------+
#   | INET bs-inet-SFX  up0 172.31.253.2/30                          |
#   |  lo 203.0.113.10: nginx :443 (bench CA), files on tmpfs        |
#   +----------------------------------------------------------------+
#
# Clients find bench.test in an /etc/hosts bind-mounted in a private mount
# namespace (unshare -m): the server for direct and moat, mitmdump for
# mitmproxy.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

OUT=
QUICK=0
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--out) OUT=$2; shift ;;
	*) echo "secrets.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
if [ "$QUICK" = 1 ]; then
	ROUNDS=${ROUNDS:-1} SECS=${SECS:-2} BIG=${BIG:-64} NLAT=${NLAT:-50}
else
	ROUNDS=${ROUNDS:-3} SECS=${SECS:-4} BIG=${BIG:-256} NLAT=${NLAT:-200}
fi
for t in nginx wrk mitmdump curl openssl jq unshare; do
	command -v "$t" >/dev/null || { echo "secrets.sh: $t missing: sudo scripts/install-deps.sh --bench" >&2; exit 1; }
done

bench_init secrets
SRV=203.0.113.10 MB=198.51.100.1
H=bs-host-$BENCH_SFX I=bs-inet-$BENCH_SFX
SBD=sd-$BENCH_SFX SBM=sm-$BENCH_SFX
export MOAT_RUN_DIR=$BENCH_DIR/run
R=$BENCH_DIR/r
mkdir -p "$R"
[ -n "${KEEP:-}" ] && bench_on_exit "mkdir -p '$KEEP' && cp -r '$R/.' '$BENCH_DIR/mitm.log' '$KEEP/' && moat logs '$SBM' >'$KEEP/moat.log' 2>&1"
FILES=$(mktemp -d /dev/shm/moat-bench-secrets.XXXXXX)
chmod 755 "$FILES"
bench_on_exit "rm -rf '$FILES'"
bench_moat_ns "$H"

log "building the namespaces and the servers"
bench_ns bs-host
bench_ns bs-inet
ip -n "$H" link add up0 type veth peer name up0 netns "$I"
ip -n "$H" addr add 172.31.253.1/30 dev up0
ip -n "$I" addr add 172.31.253.2/30 dev up0
ip -n "$I" addr add $SRV/32 dev lo
ip -n "$H" addr add $MB/32 dev lo
ip -n "$H" link set up0 up
ip -n "$I" link set up0 up
ip -n "$H" route add default via 172.31.253.2
for ns in "$H" "$I"; do
	in_ns "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.tcp_max_tw_buckets=0 \
		net.ipv4.ip_local_port_range="10000 65000"
done

head -c $((BIG * 1024 * 1024)) /dev/zero >"$FILES/big"
head -c 100 /dev/zero >"$FILES/small"
# the bench CA, and the server's certificate from it
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$BENCH_DIR/ca.key" -out "$BENCH_DIR/ca.pem" -days 1 \
	-subj "/CN=moat bench CA" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$BENCH_DIR/key.pem" -out "$BENCH_DIR/srv.csr" -subj /CN=bench.test 2>/dev/null
printf 'subjectAltName=DNS:bench.test\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$BENCH_DIR/leaf.ext"
openssl x509 -req -in "$BENCH_DIR/srv.csr" -CA "$BENCH_DIR/ca.pem" -CAkey "$BENCH_DIR/ca.key" \
	-CAcreateserial -days 1 -extfile "$BENCH_DIR/leaf.ext" -out "$BENCH_DIR/cert.pem" 2>/dev/null

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

VALUE=bench-secret-value-0123456789abcdef
printf '%s\n' "$VALUE" >"$BENCH_DIR/secret"
chmod 600 "$BENCH_DIR/secret"
printf '%s bench.test\n' $SRV >"$BENCH_DIR/hosts-srv"
printf '%s bench.test\n' $MB >"$BENCH_DIR/hosts-mb"
# mitmdump: reverse proxy, upstream verified against the bench CA, the
# header set on every request, bodies streamed, its CA in its confdir
mkdir -p "$BENCH_DIR/mitm"
# shellcheck disable=SC2016 # expanded by the inner sh
bench_bg "$H" "$BENCH_DIR/mitm.log" unshare -m sh -c \
	'mount --bind "$0" /etc/hosts && exec "$@"' "$BENCH_DIR/hosts-srv" \
	mitmdump -q --mode reverse:https://bench.test:443/ \
	--listen-host $MB --listen-port 8443 \
	--set confdir="$BENCH_DIR/mitm" --set keep_host_header=true \
	--set ssl_verify_upstream_trusted_ca="$BENCH_DIR/ca.pem" \
	--set stream_large_bodies=1 \
	--modify-headers "/~q/Authorization/Bearer $VALUE"
MITM_PID=${BENCH_PIDS[-1]}
bench_wait_listen "$I" tcp 443 || { cat "$BENCH_DIR/nginx/error.log" >&2; exit 1; }
bench_wait_listen "$H" tcp 8443 || { cat "$BENCH_DIR/mitm.log" >&2; exit 1; }
# mitmdump runs as the unshare'd sh's exec: its PID is the one started
cat "$BENCH_DIR/mitm/mitmproxy-ca-cert.pem" >"$BENCH_DIR/mitm-trust.pem"

cat >"$BENCH_DIR/direct.yaml" <<EOF
version: 1
egress:
  default: deny
  rules:
    - allow: 203.0.113.0/28
      ports: [443]
      protocol: tcp
    - allow: host
      ports: [8443]
      protocol: tcp
limits:
  flows: 1048576
EOF
cp "$BENCH_DIR/direct.yaml" "$BENCH_DIR/moat.yaml"
cat >>"$BENCH_DIR/moat.yaml" <<EOF
secrets:
  - name: API_KEY
    from_file: $BENCH_DIR/secret
    hosts: [bench.test]
EOF
moat create "$SBD" --policy "$BENCH_DIR/direct.yaml" >/dev/null
in_ns "$H" env MOAT_UPSTREAM_CA="$BENCH_DIR/ca.pem" "$MOAT" create "$SBM" \
	--policy "$BENCH_DIR/moat.yaml" >/dev/null
NS_D=$(moat inspect "$SBD" --json | jq -r .netns)
NS_M=$(moat inspect "$SBM" --json | jq -r .netns)
WK_M=$(moat inspect "$SBM" --json | jq -r .supervisor.worker.pid)
PH=$(sed -n 's/^API_KEY=//p' "$MOAT_RUN_DIR/sandboxes/$SBM/secrets.env")
MOAT_TRUST=$MOAT_RUN_DIR/sandboxes/$SBM/ca-bundle.pem
for ns in "$NS_D" "$NS_M"; do
	nsenter --net="$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1 \
		net.ipv4.ip_local_port_range="10000 65000"
done
[ -n "$PH" ] && [ "$WK_M" -gt 0 ] || { echo "secrets.sh: no placeholder or worker in $SBM" >&2; exit 1; }

# cl WHO CMD... - run CMD as a client of WHO in its sandbox, bench.test
# naming the server (direct, moat) or mitmdump
cl() {
	local who=$1 ns=$NS_D hosts=$BENCH_DIR/hosts-srv
	shift
	[ "$who" = moat ] && ns=$NS_M
	[ "$who" = mitmproxy ] && hosts=$BENCH_DIR/hosts-mb
	# shellcheck disable=SC2016 # expanded by the inner sh
	nsenter --net="$ns" unshare -m sh -c \
		'h=$1; shift; mount --bind "$h" /etc/hosts && exec "$@"' \
		sh "$hosts" "$@"
}
port() { [ "$1" = mitmproxy ] && echo 8443 || echo 443; }
trust() {
	case $1 in
	direct) echo "$BENCH_DIR/ca.pem" ;;
	moat) echo "$MOAT_TRUST" ;;
	mitmproxy) echo "$BENCH_DIR/mitm-trust.pem" ;;
	esac
}
ipid() { [ "$1" = moat ] && echo "$WK_M" || echo "$MITM_PID"; }
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
WHO=(direct moat mitmproxy)

# the check: each path gets "authorised" semantics from nginx? nginx does
# not check; the header moat and mitmproxy put in is checked once here
# with a request to a server that echoes nothing: the counters say it.
for w in "${WHO[@]}"; do
	cl "$w" curl -sS -o /dev/null --max-time 10 --cacert "$(trust "$w")" \
		-H "Authorization: Bearer $PH" "https://bench.test:$(port "$w")/small" ||
		{ echo "secrets.sh: $w: the first request failed" >&2; exit 1; }
done
[ "$(moat inspect "$SBM" --json | jq -r .supervisor.proxy.intercept.secrets.API_KEY_injected_total)" -ge 1 ] ||
	{ echo "secrets.sh: moat did not put the secret in" >&2; exit 1; }

cat >"$BENCH_DIR/ttfb.py" <<'EOF'
import socket, ssl, sys, time
host, port, ca, n, ph = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
ctx = ssl.create_default_context(cafile=ca)
ctx.set_alpn_protocols(["http/1.1"])
addr = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM)[0][4]
req = ("GET /small HTTP/1.1\r\nHost: bench.test\r\nAuthorization: Bearer %s\r\n"
       "Connection: close\r\n\r\n" % ph).encode()
for _ in range(n):
    t0 = time.perf_counter()
    s = socket.create_connection(addr)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    t = ctx.wrap_socket(s, server_hostname="bench.test")
    t.sendall(req)
    t.recv(1)
    print("%.1f" % ((time.perf_counter() - t0) * 1e6))
    t.close()
EOF

log "1. connect to first byte, $NLAT new TLS connections x $ROUNDS"
for _ in $(seq "$ROUNDS"); do
	for w in "${WHO[@]}"; do
		c0=0
		[ "$w" != direct ] && c0=$(cpu_ticks "$(ipid "$w")")
		cl "$w" python3 "$BENCH_DIR/ttfb.py" bench.test "$(port "$w")" "$(trust "$w")" "$NLAT" "$PH" >>"$R/ttfb-$w"
		if [ "$w" != direct ]; then
			c1=$(cpu_ticks "$(ipid "$w")")
			# clock ticks (1/100 s) per connection, as microseconds
			python3 -c "import sys; print('%.0f' % ((float(sys.argv[2]) - float(sys.argv[1])) * 1e4 / float(sys.argv[3])))" \
				"$c0" "$c1" "$NLAT" >>"$R/conncpu-$w"
		fi
	done
done

log "2. keep-alive requests/s, wrk ${SECS}s x $ROUNDS"
for _ in $(seq "$ROUNDS"); do
	for w in "${WHO[@]}"; do
		cl "$w" wrk -t1 -c4 -d"${SECS}s" -H "Authorization: Bearer $PH" \
			"https://bench.test:$(port "$w")/small" >"$R/wrk.out" 2>&1 || true
		awk '/^Requests\/sec:/ { print $2 }' "$R/wrk.out" >>"$R/rps-$w"
	done
done

log "3. bulk $BIG MiB x $ROUNDS, and 4. CPU"
for _ in $(seq "$ROUNDS"); do
	for w in "${WHO[@]}"; do
		c0=0
		[ "$w" != direct ] && c0=$(cpu_ticks "$(ipid "$w")")
		bps=$(cl "$w" curl -sS -o /dev/null --max-time 300 --cacert "$(trust "$w")" \
			-H "Authorization: Bearer $PH" -w '%{speed_download}' \
			"https://bench.test:$(port "$w")/big") ||
			{ echo "secrets.sh: $w: the bulk transfer failed" >&2; exit 1; }
		echo "$bps" >>"$R/bulk-$w"
		if [ "$w" != direct ]; then
			c1=$(cpu_ticks "$(ipid "$w")")
			python3 -c "import sys; print('%.3f' % ((float(sys.argv[2]) - float(sys.argv[1])) / 100 / (float(sys.argv[3]) / 1024)))" \
				"$c0" "$c1" "$BIG" >>"$R/cpu-$w"
		fi
	done
done

m() { median "$R/$1"; }
sub() { python3 -c "import sys; print('%.0f' % (float(sys.argv[1]) - float(sys.argv[2])))" "$1" "$2"; }
gbit() { python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) * 8 / 1e9))" "$1"; }
{
	echo "| | direct | moat | mitmproxy | moat vs mitmproxy |"
	echo "|---|---|---|---|---|"
	d50=$(m ttfb-direct) d99=$(pct 99 "$R/ttfb-direct")
	m50=$(m ttfb-moat) m99=$(pct 99 "$R/ttfb-moat")
	x50=$(m ttfb-mitmproxy) x99=$(pct 99 "$R/ttfb-mitmproxy")
	echo "| connect to first byte p50, µs | $d50 | $m50 (+$(sub "$m50" "$d50")) | $x50 (+$(sub "$x50" "$d50")) | added: $(ratio "$(sub "$m50" "$d50")" "$(sub "$x50" "$d50")") |"
	echo "| connect to first byte p99, µs | $d99 | $m99 (+$(sub "$m99" "$d99")) | $x99 (+$(sub "$x99" "$d99")) | added: $(ratio "$(sub "$m99" "$d99")" "$(sub "$x99" "$d99")") |"
	echo "| CPU µs per new connection (the interceptor) | - | $(m conncpu-moat) | $(m conncpu-mitmproxy) | $(ratio "$(m conncpu-moat)" "$(m conncpu-mitmproxy)") |"
	echo "| keep-alive requests/s (wrk, 4 connections) | $(m rps-direct) | $(m rps-moat) | $(m rps-mitmproxy) | $(ratio "$(m rps-moat)" "$(m rps-mitmproxy)") |"
	echo "| bulk, Gbit/s | $(gbit "$(m bulk-direct)") | $(gbit "$(m bulk-moat)") | $(gbit "$(m bulk-mitmproxy)") | $(ratio "$(m bulk-moat)" "$(m bulk-mitmproxy)") |"
	echo "| CPU s per GB (the interceptor) | - | $(m cpu-moat) | $(m cpu-mitmproxy) | $(ratio "$(m cpu-moat)" "$(m cpu-mitmproxy)") |"
} | tee "${OUT:-/dev/null}"
