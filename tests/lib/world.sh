# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tests/lib/world.sh - the throwaway test world of SPEC section 7.
#
#   . tests/lib/world.sh
#   world_create            # builds it; world_destroy runs on EXIT
#   in_host "$MOAT" run -- curl http://example.com/
#   probe_tcp host 93.184.216.34 22
#
# Every packet stays inside three network namespaces made here (random
# suffix, removed on exit even on failure). Nothing is ever added to the
# machine's own network namespace: the veths are created directly inside
# the world's namespaces.
#
#   sandboxes (made by moat later)
#        |  veths moat creates
#   +----+--------------------------------+
#   | HOST  moatw-host-SFX                | moat runs here (in_host); its own
#   |  lan0 192.168.77.2/24               | nftables, its own sysctls
#   |       2001:678:1234:77::2/64        | (ip_forward and v6 forwarding
#   |  default via .77.1 / 77::1          |  are 0: moat sets them)
#   |  host services: tcp+udp *:22 *:8022,| tokens HOST-22, HOST-8022,
#   |    tcp 127.0.0.1:8000 [::1]:8000    |        HOST-8000
#   +----+--------------------------------+
#        | veth  lan0 <-> lan0
#   +----+--------------------------------+
#   | LAN  moatw-lan-SFX  (router)        | forwards v4+v6, no NAT
#   |  lan0 192.168.77.1/24 + .10 (svc)   | 192.168.77.10: tcp 80 "LAN-80",
#   |       2001:678:1234:77::1/64        |   tcp 5432 "LAN-5432"
#   |  wan0 172.31.255.1/30               |
#   |       2001:678:1234:ff::1/64        |
#   |  lo: private  10.0.0.5 100.64.0.1   | tcp 80 + udp 9: "LAN-ADDR"
#   |      172.16.0.1 fd12:3456::5        |   (10.0.0.5 also tcp 5432
#   |                                     |    "LAN-5432-10.0.0.5")
#   |      metadata 169.254.169.254       | tcp 80 + udp 9: "META-ADDR"
#   |      169.254.170.2 169.254.169.253  |
#   |      169.254.169.123 100.100.100.200|
#   |      192.0.0.192 168.63.129.16      |
#   |      fd00:ec2::254                  |
#   |      link-local 169.254.1.1         | tcp 80 + udp 9: "LL-ADDR"
#   |      reserved 198.18.0.1 192.0.2.1  | tcp 80 + udp 9: "RSV-ADDR"
#   |      240.0.0.1 2001:db8::1          |
#   |  default via 172.31.255.2 / ff::2   |
#   +----+--------------------------------+
#        | veth  wan0 <-> wan0
#   +----+--------------------------------+
#   | INET  moatw-inet-SFX                | "the internet"
#   |  wan0 172.31.255.2/30               |
#   |       2001:678:1234:ff::2/64        |
#   |  routes back ONLY 192.168.77.0/24 and 2001:678:1234:77::/64 via LAN
#   |  (no default route: nothing loops, anything else is unreachable)
#   |  lo: 93.184.216.34 140.82.112.3 151.101.1.1 8.8.8.8 1.1.1.1 9.9.9.9
#   |      2606:2800:220:1::1 2001:4860:4860::8888 2606:4700:4700::1111
#   |  on every one of them:
#   |    http  tcp 80   body "INET ADDR\nhost: HOST\npath: PATH\n"
#   |    https tcp 443  the same + "sni: NAME\n" (cert from $WORLD_CA;
#   |         it also covers IP:93.184.216.34 and IP:1.1.1.1)
#   |         GET /bytes/N answers N bytes, /status/N answers status N,
#   |         /bytes-watch/N: N bytes, aborted on the client's FIN (as nginx)
#   |    tcp 22, 853, 9999       token "INET-PORT ADDR", then echo
#   |    udp 443, 853, 9999      token "INET-PORT ADDR\n" + the datagram
#   |  dnsmasq on 8.8.8.8 1.1.1.1 9.9.9.9 2001:4860:4860::8888
#   |    2606:4700:4700::1111 port 53 udp+tcp (records: see _world_dns)
#   +-------------------------------------+
#
# API (all functions return non-zero on failure; none calls exit):
#   world_create            build the world; sets and exports WORLD_DIR,
#                           WORLD_SUFFIX, HOST_NS, LAN_NS, INET_NS (names),
#                           HOST_NETNS, LAN_NETNS, INET_NETNS (/run/netns/..),
#                           WORLD_CA (CA cert of the HTTPS servers),
#                           WORLD_RESOLV_CONF (a resolv.conf naming 8.8.8.8
#                           and 1.1.1.1; also exported as MOAT_RESOLV_CONF,
#                           so that moat's DNS interceptors forward there),
#                           WORLD_DNSMASQ_LOG, and installs an
#                           EXIT trap (chained before any existing one) that
#                           calls world_destroy. Call it in the main shell,
#                           not in $(...), or the variables are lost.
#   world_destroy           kill what the world started, delete the
#                           namespaces, /etc/netns/<ns> and WORLD_DIR.
#                           Idempotent.
#   world_on_destroy CMD... run CMD (e.g. in_host "$MOAT" rm -f sb) first
#                           thing in world_destroy
#   in_host CMD...          run CMD in HOST (nsenter --net, NOT ip netns
#   in_lan CMD...           exec: bind mounts under /run/netns made by CMD
#   in_inet CMD...          stay visible). /sys still shows the machine's
#                           own interfaces there: use netlink, not sysfs.
#   in_ns NS CMD...         NS is host|lan|inet, a netns name (moat-foo) or
#                           a path
#   world_wait_tcp NS ADDR PORT [SECS]   wait until a connect succeeds
#   world_wait_udp NS ADDR PORT [SECS]   wait until a datagram is answered
#   world_wait_listen NS tcp|udp PORT [ADDR] [SECS]  wait for a listening
#                           socket (ss; sends no packet)
#   wait_for SECS CMD...    run CMD every 50 ms until it succeeds; 1 if it
#                           still fails after SECS (a fraction is fine)
#   proc_alive PID          the process exists and is not a zombie
#   probe_tcp NS ADDR PORT [SECS]  print the token; 0 iff connected + token
#   probe_udp NS ADDR PORT [SECS]  the same for udp
#   probe_http NS URL [CURL_ARGS...]  print the body (https trusts
#                           WORLD_CA); curl's exit status
#   probe_dns NS SERVER NAME [TYPE [DIG_ARGS...]]  print dig +short; 0 iff
#                           an answer (any rcode) came back
#   dns_rcode NS SERVER NAME [TYPE [DIG_ARGS...]]  print NOERROR, NXDOMAIN,
#                           ... or "none" when nothing came back
#   require_kernel_feature [FEATURE...]  features: netns veth nftables ipv6
#                           conntrack nat tun (default: netns veth nftables
#                           ipv6); prints "SKIP: ..." and returns 77 only
#                           when the kernel lacks one
#   world_cleanup_dir DIR   destroy the world recorded in DIR (used by
#                           tests/run-integration.sh after a killed script)
#
# Probes wait at most WORLD_PROBE_TIMEOUT seconds (default 1) to connect.
# Server logs: $WORLD_DIR/srv-{host,lan,inet}.log (one line per connection
# or datagram), $WORLD_DIR/dnsmasq.log (every query).
#
# DNS records (dnsmasq, TTL 300 unless said; unknown names get NXDOMAIN):
#   github.com, api.github.com        A 140.82.112.3
#   raw.githubusercontent.com, objects.githubusercontent.com, cdn.example,
#   evil.example, evilgithub.com, github.com.evil.net  A 151.101.1.1
#   example.com, www.example.com      A 93.184.216.34, AAAA 2606:2800:220:1::1
#   rebind-private.example  A 192.168.77.10   rebind-loopback.example A 127.0.0.1
#   rebind-ll.example       A 169.254.1.1     rebind-meta.example A 169.254.169.254
#   rebind-cgn.example      A 100.64.0.1      rebind-zero.example A 0.0.0.0
#   rebind-mapped.example   AAAA ::ffff:10.0.0.5
#   rebind-ula.example      AAAA fd12:3456::5
#   rebind-mixed.example    A 93.184.216.34 and A 10.0.0.5
#   cname-private.example   CNAME rebind-private.example
#   cname-public.example    CNAME example.com
#   short-ttl.example       A 93.184.216.34 with TTL 2 (dnsmasq's
#                           --host-record takes a per-record TTL)
#   big.example             100 A records 151.101.64.1-100: 1.6 kB, so
#                           truncated (TC) over UDP even with EDNS 1232
#   txt.example             TXT "moat-world-txt"
#   https-rr.example        A 93.184.216.34 + HTTPS (type 65) record
#                           "1 . alpn=h2 ipv4hint=93.184.216.34"
#
# Needs root, iproute2, util-linux (nsenter), python3, openssl, dnsmasq,
# dig, curl (scripts/install-deps.sh installs them).

WORLD_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Debian's python3 starts faster than a pyenv shim, and is what the
# install script provides
if [ -x /usr/bin/python3 ]; then
	WORLD_PYTHON=${WORLD_PYTHON:-/usr/bin/python3}
else
	WORLD_PYTHON=${WORLD_PYTHON:-python3}
fi
WORLD_SRV=$WORLD_LIB_DIR/worldsrv.py
WORLD_PROBE_TIMEOUT=${WORLD_PROBE_TIMEOUT:-1}

# --- addresses (exported so tests can use the names) ------------------------
export WORLD_HOST4=192.168.77.2 WORLD_HOST6=2001:678:1234:77::2
export WORLD_ROUTER4=192.168.77.1 WORLD_ROUTER6=2001:678:1234:77::1
export WORLD_LANSVC4=192.168.77.10
export WORLD_PRIVATE4="10.0.0.5 100.64.0.1 172.16.0.1"
export WORLD_PRIVATE6="fd12:3456::5"
export WORLD_META4="169.254.169.254 169.254.170.2 169.254.169.253 169.254.169.123 100.100.100.200 192.0.0.192 168.63.129.16"
export WORLD_META6="fd00:ec2::254"
export WORLD_LINKLOCAL4="169.254.1.1"
export WORLD_RESERVED4="198.18.0.1 192.0.2.1 240.0.0.1"
export WORLD_RESERVED6="2001:db8::1"
export WORLD_PUBLIC4="93.184.216.34 140.82.112.3 151.101.1.1 8.8.8.8 1.1.1.1 9.9.9.9"
export WORLD_PUBLIC6="2606:2800:220:1::1 2001:4860:4860::8888 2606:4700:4700::1111"
export WORLD_DNS4="8.8.8.8 1.1.1.1 9.9.9.9"
export WORLD_DNS6="2001:4860:4860::8888 2606:4700:4700::1111"

_world_log() { echo "world: $*" >&2; }

# in_ns NS CMD...: run CMD in a namespace of the world or any named netns
_world_nspath() {
	case $1 in
	host) echo "${HOST_NETNS:?no world}" ;;
	lan) echo "${LAN_NETNS:?no world}" ;;
	inet) echo "${INET_NETNS:?no world}" ;;
	/*) echo "$1" ;;
	*) echo "/run/netns/$1" ;;
	esac
}
in_ns() {
	local p
	p=$(_world_nspath "$1") || return 125
	shift
	nsenter --net="$p" "$@"
}
in_host() { nsenter --net="${HOST_NETNS:?no world}" "$@"; }
in_lan() { nsenter --net="${LAN_NETNS:?no world}" "$@"; }
in_inet() { nsenter --net="${INET_NETNS:?no world}" "$@"; }

# --- probes -------------------------------------------------------------------

probe_tcp() {
	in_ns "$1" "$WORLD_PYTHON" -I -S "$WORLD_SRV" probe tcp "$2" "$3" \
		"${4:-$WORLD_PROBE_TIMEOUT}"
}
probe_udp() {
	in_ns "$1" "$WORLD_PYTHON" -I -S "$WORLD_SRV" probe udp "$2" "$3" \
		"${4:-$WORLD_PROBE_TIMEOUT}"
}
world_wait_tcp() {
	in_ns "$1" "$WORLD_PYTHON" -I -S "$WORLD_SRV" wait tcp "$2" "$3" "${4:-5}"
}
world_wait_udp() {
	in_ns "$1" "$WORLD_PYTHON" -I -S "$WORLD_SRV" wait udp "$2" "$3" "${4:-5}"
}

# wait_for SECS CMD...: until CMD succeeds (it runs at least once)
wait_for() {
	local end
	end=$(awk -v s="$1" 'BEGIN { printf "%d", s * 1000000 }')
	end=$((${EPOCHREALTIME//[!0-9]/} + end))
	shift
	until "$@"; do
		[ "${EPOCHREALTIME//[!0-9]/}" -lt "$end" ] || return 1
		sleep 0.05
	done
}

# _world_listening NS SS_ARGS...: ss lists a socket
_world_listening() {
	local ns=$1
	shift
	in_ns "$ns" ss "$@" 2>/dev/null | grep -q .
}

# world_wait_listen NS tcp|udp PORT [ADDR] [SECS]
world_wait_listen() {
	local ns=$1 proto=$2 port=$3 addr=${4:-} secs=${5:-5} flag=-Hltn sel=()
	[ "$proto" = udp ] && flag=-Hlun
	[ -n "$addr" ] && sel=(src "$addr")
	wait_for "$secs" _world_listening "$ns" "$flag" "${sel[@]}" "sport = :$port" &&
		return 0
	_world_log "nothing listening on $proto ${addr:-*}:$port in $ns after ${secs}s"
	return 1
}

# probe_http NS URL [CURL_ARGS...]
probe_http() {
	local ns=$1 url=$2
	shift 2
	local ca=() max
	[ -n "${WORLD_CA:-}" ] && [ -f "$WORLD_CA" ] && ca=(--cacert "$WORLD_CA")
	# connecting takes at most the probe timeout; the whole exchange 3 times
	# that (a proxy in the path, a sanitizer build of moat)
	max=$(awk -v t="$WORLD_PROBE_TIMEOUT" 'BEGIN { print t * 3 }')
	in_ns "$ns" curl -sS --noproxy '*' "${ca[@]}" \
		--connect-timeout "$WORLD_PROBE_TIMEOUT" --max-time "$max" "$@" "$url"
}

# probe_dns NS SERVER NAME [TYPE [DIG_ARGS...]]
probe_dns() {
	local ns=$1 server=$2 name=$3 type=${4:-A}
	shift 3
	[ $# -gt 0 ] && shift
	local out
	out=$(in_ns "$ns" dig +time="$WORLD_PROBE_TIMEOUT" +tries=1 +short \
		"@$server" "$name" "$type" "$@" 2>&1) || { echo "$out" >&2; return 1; }
	# dig exits 0 but says so when no server answered over tcp
	case $out in *"connection refused"* | *"timed out"* | *"no servers"*)
		echo "$out" >&2; return 1 ;;
	esac
	[ -n "$out" ] && echo "$out"
	return 0
}

# dns_rcode NS SERVER NAME [TYPE [DIG_ARGS...]]
dns_rcode() {
	local ns=$1 server=$2 name=$3 type=${4:-A}
	shift 3
	[ $# -gt 0 ] && shift
	local out st
	out=$(in_ns "$ns" dig +time="$WORLD_PROBE_TIMEOUT" +tries=1 \
		"@$server" "$name" "$type" "$@" 2>/dev/null)
	st=$(sed -n 's/.*status: \([A-Z]*\),.*/\1/p' <<<"$out" | head -n1)
	echo "${st:-none}"
	[ -n "$st" ]
}

# --- kernel features ----------------------------------------------------------

# require_kernel_feature [FEATURE...]: 0 if all work; 77 + "SKIP: reason"
# if the kernel lacks one; 1 for anything else (not root, tool missing)
require_kernel_feature() {
	local feats=("$@") ns f err rc=0
	[ ${#feats[@]} -gt 0 ] || feats=(netns veth nftables ipv6)
	if [ "$(id -u)" != 0 ]; then
		echo "require_kernel_feature: needs root" >&2
		return 1
	fi
	for f in ip nft nsenter; do
		command -v "$f" >/dev/null || {
			echo "require_kernel_feature: $f missing (run scripts/install-deps.sh)" >&2
			return 1
		}
	done
	ns=moatw-probe-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
	if ! err=$(ip netns add "$ns" 2>&1); then
		echo "SKIP: network namespaces unavailable: $err"
		return 77
	fi
	# _rkf_try WHAT CMD...: run CMD in the scratch namespace
	_rkf_try() {
		local what=$1
		shift
		if ! err=$(nsenter --net="/run/netns/$ns" "$@" 2>&1); then
			case $err in
			*"not supported"* | *"Unknown device type"* | *"No such file"* | \
				*"Protocol not available"* | *"Address family"* | *"does not exist"*)
				echo "SKIP: kernel lacks $what: $err"
				rc=77 ;;
			*)
				echo "require_kernel_feature: $what check failed: $err" >&2
				rc=1 ;;
			esac
			return 1
		fi
	}
	for f in "${feats[@]}"; do
		case $f in
		netns) ;;
		veth) _rkf_try veth ip link add rkf0 type veth peer name rkf1 || break ;;
		nftables) _rkf_try nftables nft add table inet rkf || break ;;
		conntrack)
			_rkf_try conntrack nft 'add table inet rkfc; add chain inet rkfc c { type filter hook forward priority 0; ct state established accept; }' || break ;;
		nat)
			_rkf_try nat nft 'add table ip rkfn; add chain ip rkfn p { type nat hook postrouting priority 100; masquerade; }' || break ;;
		ipv6) _rkf_try ipv6 ip -6 addr add 2001:db8::1/128 dev lo nodad || break ;;
		tun) _rkf_try tun ip tuntap add rkft0 mode tap || break ;;
		*) echo "require_kernel_feature: unknown feature $f" >&2; rc=1; break ;;
		esac
	done
	ip netns del "$ns" 2>/dev/null
	unset -f _rkf_try
	return "$rc"
}

# --- creation -----------------------------------------------------------------

# _world_spawn NAME NETNS CMD...: start CMD in NETNS in the background,
# stdio to $WORLD_DIR/NAME.log, record its pid in $WORLD_DIR/pids. It is
# started from a subshell, so it is not a child of the caller (a bare
# `wait` in a test does not wait for the world's servers).
_world_spawn() {
	local name=$1 ns=$2
	shift 2
	# nsenter without --fork execs CMD, so $! is CMD's own pid
	(
		nsenter --net="$ns" "$@" </dev/null >>"$WORLD_DIR/$name.log" 2>&1 &
		echo "$!" >>"$WORLD_DIR/pids"
	)
}

_world_certs() {
	local d=$WORLD_DIR ext
	ext="subjectAltName=DNS:github.com,DNS:*.github.com,DNS:*.githubusercontent.com,DNS:example.com,DNS:*.example.com,DNS:evil.example,DNS:cdn.example,DNS:short-ttl.example,DNS:localhost,IP:93.184.216.34,IP:1.1.1.1
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth"
	printf '%s\n' "$ext" >"$d/leaf.ext"
	if ! { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$d/ca.key" -out "$d/ca.pem" -days 3 \
		-subj "/CN=moat test world CA $WORLD_SUFFIX" >/dev/null 2>&1 &&
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout "$d/server.key" -out "$d/server.csr" \
			-subj "/CN=example.com" >/dev/null 2>&1 &&
		openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
			-set_serial "0x$WORLD_SUFFIX" -days 3 -extfile "$d/leaf.ext" \
			-out "$d/server.pem" >/dev/null 2>&1; }; then
		_world_log "openssl failed to make the test certificates"
		return 1
	fi
}

# dnsmasq records (see the header comment)
_world_dns_args() {
	local i
	# shellcheck disable=SC2054 # commas belong to dnsmasq's syntax
	local a=(
		--host-record=github.com,api.github.com,140.82.112.3
		--host-record=raw.githubusercontent.com,objects.githubusercontent.com,151.101.1.1
		--host-record=cdn.example,evil.example,evilgithub.com,github.com.evil.net,151.101.1.1
		--host-record=example.com,www.example.com,93.184.216.34,2606:2800:220:1::1
		--host-record=rebind-private.example,192.168.77.10
		--host-record=rebind-loopback.example,127.0.0.1
		--host-record=rebind-ll.example,169.254.1.1
		--host-record=rebind-meta.example,169.254.169.254
		--host-record=rebind-cgn.example,100.64.0.1
		--host-record=rebind-zero.example,0.0.0.0
		--host-record=rebind-mapped.example,::ffff:10.0.0.5
		--host-record=rebind-ula.example,fd12:3456::5
		--host-record=rebind-mixed.example,93.184.216.34
		--host-record=rebind-mixed.example,10.0.0.5
		--cname=cname-private.example,rebind-private.example
		--cname=cname-public.example,example.com
		--host-record=short-ttl.example,93.184.216.34,2
		--txt-record=txt.example,moat-world-txt
		--host-record=https-rr.example,93.184.216.34
		# HTTPS RR: priority 1, target ".", alpn=h2, ipv4hint=93.184.216.34
		--dns-rr=https-rr.example,65,00010000010003026832000400045db8d822
	)
	for i in $(seq 1 100); do
		a+=("--host-record=big.example,151.101.64.$i")
	done
	printf '%s\n' "${a[@]}"
}

_world_build() {
	local d=$WORLD_DIR a specs=() pid i

	# namespaces first, so veths can be created straight inside them
	for a in "$HOST_NS" "$LAN_NS" "$INET_NS"; do
		ip netns add "$a" || return 1
		echo "$a" >>"$d/namespaces"
	done
	_world_certs &
	_WORLD_CERTPID=$!

	# sysctls, before any interface exists: no IPv6 DAD on the world's own
	# links (a tentative link-local delays neighbour discovery by ~1 s);
	# HOST forwards nothing until moat says so (a new namespace may inherit
	# IPv4 settings from the machine's own); LAN is a router
	nsenter --net="$HOST_NETNS" sysctl -q -w net.ipv4.ip_forward=0 \
		net.ipv6.conf.all.forwarding=0 net.ipv6.conf.default.accept_dad=0 \
		>/dev/null || return 1
	nsenter --net="$LAN_NETNS" sysctl -q -w net.ipv4.ip_forward=1 \
		net.ipv6.conf.all.forwarding=1 net.ipv6.conf.default.accept_dad=0 \
		>/dev/null || return 1
	nsenter --net="$INET_NETNS" sysctl -q -w \
		net.ipv6.conf.default.accept_dad=0 >/dev/null || return 1

	ip -n "$HOST_NS" -batch - <<-EOF || return 1
		link set lo up
		link add lan0 type veth peer name lan0 netns $LAN_NS
		link set lan0 up
		addr add $WORLD_HOST4/24 dev lan0
		addr add $WORLD_HOST6/64 dev lan0 nodad
	EOF
	ip -n "$LAN_NS" -batch - <<-EOF || return 1
		link set lo up
		link add wan0 type veth peer name wan0 netns $INET_NS
		link set lan0 up
		link set wan0 up
		addr add $WORLD_ROUTER4/24 dev lan0
		addr add $WORLD_LANSVC4/24 dev lan0
		addr add $WORLD_ROUTER6/64 dev lan0 nodad
		addr add 172.31.255.1/30 dev wan0
		addr add 2001:678:1234:ff::1/64 dev wan0 nodad
	EOF
	{
		for a in $WORLD_PRIVATE4 $WORLD_META4 $WORLD_LINKLOCAL4 $WORLD_RESERVED4; do
			echo "addr add $a/32 dev lo"
		done
		for a in $WORLD_PRIVATE6 $WORLD_META6 $WORLD_RESERVED6; do
			echo "addr add $a/128 dev lo nodad"
		done
		echo "route add default via 172.31.255.2"
		echo "route add default via 2001:678:1234:ff::2"
	} | ip -n "$LAN_NS" -batch - || return 1
	{
		echo "link set lo up"
		echo "link set wan0 up"
		echo "addr add 172.31.255.2/30 dev wan0"
		echo "addr add 2001:678:1234:ff::2/64 dev wan0 nodad"
		for a in $WORLD_PUBLIC4; do echo "addr add $a/32 dev lo"; done
		for a in $WORLD_PUBLIC6; do echo "addr add $a/128 dev lo nodad"; done
		echo "route add 192.168.77.0/24 via 172.31.255.1"
		echo "route add 2001:678:1234:77::/64 via 2001:678:1234:ff::1"
	} | ip -n "$INET_NS" -batch - || return 1
	# HOST's default routes last: the veth is up on both sides by now
	ip -n "$HOST_NS" -batch - <<-EOF || return 1
		route add default via $WORLD_ROUTER4
		route add default via $WORLD_ROUTER6
	EOF

	# HOST: later interfaces (moat's) get normal DAD again
	nsenter --net="$HOST_NETNS" sysctl -q -w \
		net.ipv6.conf.default.accept_dad=1 >/dev/null || return 1

	# --- servers -------------------------------------------------------
	# HOST: the host services attack tests must never reach
	_world_spawn srv-host "$HOST_NETNS" "$WORLD_PYTHON" -I "$WORLD_SRV" \
		--ready "$d/ready-host" \
		tcp:0.0.0.0:22:HOST-22 "tcp:[::]:22:HOST-22" \
		udp:0.0.0.0:22:HOST-22 "udp:[::]:22:HOST-22" \
		tcp:0.0.0.0:8022:HOST-8022 "tcp:[::]:8022:HOST-8022" \
		udp:0.0.0.0:8022:HOST-8022 "udp:[::]:8022:HOST-8022" \
		tcp:127.0.0.1:8000:HOST-8000 "tcp:[::1]:8000:HOST-8000"

	# LAN: private services, metadata, link-local and reserved targets
	specs=("tcp:$WORLD_LANSVC4:80:LAN-80" "tcp:$WORLD_LANSVC4:5432:LAN-5432"
		"udp:$WORLD_LANSVC4:9:LAN-$WORLD_LANSVC4"
		tcp:10.0.0.5:5432:LAN-5432-10.0.0.5)
	_world_lan_specs() {
		local tag=$1 x b
		shift
		for x in "$@"; do
			b=$x
			[[ $x == *:* ]] && b="[$x]"
			specs+=("tcp:$b:80:$tag-$x" "udp:$b:9:$tag-$x")
		done
	}
	# shellcheck disable=SC2086 # word lists
	{
		_world_lan_specs LAN $WORLD_PRIVATE4 $WORLD_PRIVATE6
		_world_lan_specs META $WORLD_META4 $WORLD_META6
		_world_lan_specs LL $WORLD_LINKLOCAL4
		_world_lan_specs RSV $WORLD_RESERVED4 $WORLD_RESERVED6
	}
	unset -f _world_lan_specs
	_world_spawn srv-lan "$LAN_NETNS" "$WORLD_PYTHON" -I "$WORLD_SRV" \
		--ready "$d/ready-lan" "${specs[@]}"

	# INET: the public servers (the certificate must exist by now)
	wait "$_WORLD_CERTPID" || return 1
	_WORLD_CERTPID=
	specs=()
	for a in 0.0.0.0 "[::]"; do
		specs+=("http:$a:80:INET {addr}" "https:$a:443:INET {addr}")
		for i in 22 853 9999; do specs+=("tcp:$a:$i:INET-$i {addr}"); done
		for i in 443 853 9999; do specs+=("udp:$a:$i:INET-$i {addr}"); done
	done
	_world_spawn srv-inet "$INET_NETNS" "$WORLD_PYTHON" -I "$WORLD_SRV" \
		--ready "$d/ready-inet" --cert "$d/server.pem" --key "$d/server.key" \
		"${specs[@]}"

	# dnsmasq, in the foreground so we own its pid; it logs every query
	local listen
	listen="$WORLD_DNS4 $WORLD_DNS6"
	listen=${listen// /,}
	local dns_args
	mapfile -t dns_args < <(_world_dns_args)
	_world_spawn dnsmasq-stderr "$INET_NETNS" dnsmasq --keep-in-foreground \
		--conf-file=/dev/null --no-resolv --no-hosts --no-poll \
		--user=root --group=root --pid-file="$d/dnsmasq.pid" \
		--bind-interfaces --listen-address="$listen" --port=53 \
		--log-queries=extra --log-facility="$d/dnsmasq.log" \
		--local=/#/ --local-ttl=300 --neg-ttl=60 --edns-packet-max=1232 \
		"${dns_args[@]}"

	# --- readiness: bounded polls in 0.05 s steps (at most 10 s) ---------
	for ((i = 0; i < 200; i++)); do
		if [ -f "$d/ready-host" ] && [ -f "$d/ready-lan" ] &&
			[ -f "$d/ready-inet" ] && [ -s "$d/dnsmasq.pid" ]; then
			break
		fi
		while read -r pid; do
			proc_alive "$pid" && continue
			_world_log "a server died while starting:"
			tail -n 20 "$d"/srv-*.log "$d"/dnsmasq*.log >&2 2>/dev/null
			return 1
		done <"$d/pids"
		sleep 0.05
	done
	[ "$i" -lt 200 ] || { _world_log "servers not ready after 10s"; return 1; }
	# dnsmasq binds all its addresses at once: one answered query is enough
	world_wait_udp inet 8.8.8.8 53 5 || return 1
	# end to end, both families: HOST -> LAN -> INET and back
	world_wait_tcp host 93.184.216.34 22 5 || return 1
	world_wait_tcp host 2606:2800:220:1::1 22 5 || return 1
	return 0
}

# world_create: build the world; see the header for what it sets
world_create() {
	if [ "$(id -u)" != 0 ]; then
		_world_log "must run as root"
		return 1
	fi
	if [ -n "${WORLD_DIR:-}" ]; then
		_world_log "a world already exists ($WORLD_DIR)"
		return 1
	fi
	local t0=$EPOCHREALTIME prev
	WORLD_SUFFIX=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
	WORLD_DIR=$(mktemp -d "${TMPDIR:-/tmp}/moatw-$WORLD_SUFFIX.XXXXXX") || return 1
	HOST_NS=moatw-host-$WORLD_SUFFIX
	LAN_NS=moatw-lan-$WORLD_SUFFIX
	INET_NS=moatw-inet-$WORLD_SUFFIX
	HOST_NETNS=/run/netns/$HOST_NS
	LAN_NETNS=/run/netns/$LAN_NS
	INET_NETNS=/run/netns/$INET_NS
	WORLD_CA=$WORLD_DIR/ca.pem
	WORLD_RESOLV_CONF=$WORLD_DIR/resolv.conf
	WORLD_DNSMASQ_LOG=$WORLD_DIR/dnsmasq.log
	export WORLD_SUFFIX WORLD_DIR HOST_NS LAN_NS INET_NS HOST_NETNS LAN_NETNS \
		INET_NETNS WORLD_CA WORLD_RESOLV_CONF WORLD_DNSMASQ_LOG
	WORLD_ON_DESTROY=()
	: >"$WORLD_DIR/pids"
	: >"$WORLD_DIR/namespaces"
	printf 'nameserver 8.8.8.8\nnameserver 1.1.1.1\n' >"$WORLD_RESOLV_CONF"
	# moat runs in HOST but sees the machine's /etc: its DNS interceptors
	# forward to the world's resolvers, never to the machine's
	export MOAT_RESOLV_CONF=$WORLD_RESOLV_CONF
	# tests/run-integration.sh cleans up after a script that was killed
	if [ -n "${WORLD_REGISTRY:-}" ] && [ -d "$WORLD_REGISTRY" ]; then
		echo "$WORLD_DIR" >"$WORLD_REGISTRY/$WORLD_SUFFIX"
	fi

	# world_destroy first on EXIT, then whatever the caller had
	prev=$(trap -p EXIT)
	prev=${prev#"trap -- "}
	prev=${prev%" EXIT"}
	eval "prev=${prev:-''}"
	# (a second INT or TERM, which timeout(1) sends to the script and to
	# its process group, must not cut the teardown short: ignored then)
	# shellcheck disable=SC2064 # expand $prev now
	trap "trap '' INT TERM HUP; world_destroy; $prev" EXIT
	# make INT/TERM/HUP run the EXIT trap (unless the caller set its own)
	[ -n "$(trap -p INT)" ] || trap 'exit 130' INT
	[ -n "$(trap -p TERM)" ] || trap 'exit 143' TERM
	[ -n "$(trap -p HUP)" ] || trap 'exit 129' HUP

	_WORLD_CERTPID=
	if ! _world_build; then
		_world_log "creation failed; tearing down"
		[ -z "$_WORLD_CERTPID" ] || wait "$_WORLD_CERTPID" 2>/dev/null
		world_destroy
		return 1
	fi
	WORLD_CREATE_SECONDS=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
	export WORLD_CREATE_SECONDS
	return 0
}

world_on_destroy() {
	local q
	printf -v q '%q ' "$@"
	WORLD_ON_DESTROY+=("$q")
}

# proc_alive PID: running (not gone, not a zombie waiting to be reaped:
# the world's servers and a killed sandbox's supervisor are orphans,
# reaped by init whenever it gets to it)
proc_alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

# _world_kill PID...: TERM, up to 2 s in 0.05 s steps, then KILL
_world_kill() {
	local pid alive i
	[ $# -gt 0 ] || return 0
	kill -TERM "$@" 2>/dev/null
	for ((i = 0; i < 40; i++)); do
		alive=()
		for pid in "$@"; do
			proc_alive "$pid" && alive+=("$pid")
		done
		[ ${#alive[@]} -eq 0 ] && return 0
		sleep 0.05
	done
	kill -KILL "${alive[@]}" 2>/dev/null
	return 0
}

# world_cleanup_dir DIR: tear down the world recorded in DIR. Only ever
# touches the namespaces listed there, processes inside them, and DIR.
world_cleanup_dir() {
	local d=$1 ns pid nsname sfx pids=() names=()
	case ${d##*/} in moatw-*) ;; *)
		_world_log "refusing to clean up $d (not a world directory)"
		return 1 ;;
	esac
	[ -d "$d" ] || return 0
	[ -f "$d/namespaces" ] && mapfile -t names <"$d/namespaces"
	# the tests' sandboxes are named NAME-SUFFIX: their namespaces
	# (moat-NAME-SUFFIX) belong to this world too, should a test's own
	# "moat rm -f" not have run (moat gone, the script killed)
	sfx=${d##*/moatw-}
	sfx=${sfx%%.*}
	if [ ${#sfx} = 8 ]; then
		for ns in /run/netns/moat-*-"$sfx"; do
			[ -e "$ns" ] && names+=("${ns##*/}")
		done
	fi
	# and any other sandbox of moat's run directory in the world
	# (MOAT_RUN_DIR=DIR/run, tests/lib/preamble.sh): "moat run"'s own
	# names, run-XXXXXXXX
	for ns in "$d"/run/sandboxes/*/; do
		ns=${ns%/}
		ns=moat-${ns##*/}
		[ -e "/run/netns/$ns" ] && names+=("$ns")
	done
	# and the scratch namespace moat compiles sandboxes in (src/nftx.c),
	# which the file DIR/run/scratch names until the last sandbox goes
	if [ -f "$d/run/scratch" ]; then
		read -r ns _ <"$d/run/scratch"
		case $ns in
		/run/netns/moat+scratch-*) [ -e "$ns" ] && names+=("${ns##*/}") ;;
		esac
	fi
	# 1. the processes the world started, if still in one of its namespaces
	#    (guards against pid reuse)
	if [ -f "$d/pids" ]; then
		while read -r pid; do
			[ -n "$pid" ] || continue
			nsname=$(ip netns identify "$pid" 2>/dev/null) || continue
			for ns in "${names[@]}"; do
				[ "$nsname" = "$ns" ] && pids+=("$pid")
			done
		done <"$d/pids"
	fi
	_world_kill "${pids[@]}"
	# 2. anything else left running inside the world's namespaces (e.g. a
	#    moat supervisor a failed test did not remove): it would keep the
	#    namespace, its nftables and veths alive. Never this shell itself.
	pids=()
	for ns in "${names[@]}"; do
		[ -e "/run/netns/$ns" ] || continue
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			[ "$pid" = "$$" ] || [ "$pid" = "${BASHPID:-}" ] || pids+=("$pid")
		done
	done
	if [ ${#pids[@]} -gt 0 ]; then
		_world_log "stopping processes left in the world: ${pids[*]}"
		_world_kill "${pids[@]}"
	fi
	# 3. the namespaces, their /etc/netns dirs, and the directory
	for ns in "${names[@]}"; do
		[ -e "/run/netns/$ns" ] && ip netns del "$ns" 2>/dev/null
		[ -d "/etc/netns/$ns" ] && rm -rf "/etc/netns/${ns:?}"
	done
	if [ -n "${WORLD_REGISTRY:-}" ]; then
		for ns in "$WORLD_REGISTRY"/*; do
			[ -f "$ns" ] && [ "$(cat "$ns")" = "$d" ] && rm -f "$ns"
		done
	fi
	rm -rf "$d"
	return 0
}

# world_destroy: tear the world down (idempotent; safe under set -e)
world_destroy() {
	[ -n "${WORLD_DIR:-}" ] || return 0
	local t0=$EPOCHREALTIME c
	for c in "${WORLD_ON_DESTROY[@]}"; do
		eval "$c" >/dev/null 2>&1 || true
	done
	WORLD_ON_DESTROY=()
	# run in a subshell so errexit of the caller cannot stop it half-way
	(set +e; world_cleanup_dir "$WORLD_DIR") || true
	WORLD_DESTROY_SECONDS=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
	export WORLD_DESTROY_SECONDS
	unset WORLD_DIR HOST_NS LAN_NS INET_NS HOST_NETNS LAN_NETNS INET_NETNS \
		WORLD_CA WORLD_RESOLV_CONF WORLD_DNSMASQ_LOG WORLD_SUFFIX
	return 0
}
