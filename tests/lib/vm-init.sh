#!/bin/busybox sh
# shellcheck shell=sh disable=SC2153 # the probes' variables: /etc/probe.env
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tests/lib/vm-init.sh - /init of the guest tests/integration/test_vm.sh
# boots under QEMU on a sandbox's TAP device (busybox, in an initramfs
# built at test time).
#
# It takes its address by DHCP (udhcpc, /udhcpc.sh below is its script),
# then runs the probes /etc/probe.env names and prints one line per step
# on the serial console, "moat-guest: NAME=ok|fail DETAIL", which the
# test reads; "moat-guest: done" ends them. Then it serves HTTP on port
# 3000 (the published port) until it is stopped, powering off by itself
# after GUEST_LINGER seconds at most.
#
# /etc/probe.env sets: SPOOF4 (an address of the sandbox pool that is not
# the guest's), SPOOF6 (one of its /64 that is not its own), PUB4 PUB6
# (public servers; no PUB6 without IPv6), OK4 (a private address the
# policy allows on port 80), LAN4 (one it does not), META_OK META (a
# metadata address allowed on 80, one not), HOST_OK HOST_NO (ports of the
# host, allowed and not), HOSTLAN4 (the host's LAN address), OTHER4
# OTHER_PORT (another sandbox's server), RECORD (a dns.records name),
# DENIED (a name the policy denies), ALLOWED (a public name), PING_SPOOF
# PING_SPOOF6 PING_MAC (destinations of the spoofing probes), GUEST_LINGER.

/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# shellcheck source=/dev/null # written by the test
. /etc/probe.env

say() { echo "moat-guest: $*"; }

# probe NAME CMD...: "NAME=ok" and the first line of what CMD printed if it
# succeeded and printed something, "NAME=fail" otherwise
probe() {
	name=$1
	shift
	out=$("$@" 2>/dev/null | head -n 1)
	if [ -n "$out" ]; then
		say "$name=ok $out"
	else
		say "$name=fail"
	fi
}

# tcp ADDR PORT: the token a world server sends first
tcp() { timeout 3 nc "$1" "$2" </dev/null; }
# http ADDR: the first line of the body of GET / (busybox's wget is of no
# use in a static build: it crashes in the C library's resolver)
http() {
	printf 'GET / HTTP/1.0\r\nHost: %s\r\n\r\n' "$1" | timeout 5 nc "$1" 80 |
		tr -d '\r' | sed -n '/^$/,$p' | sed -n 2p
}
# ping1 [ARGS...] DEST: "reply" if an echo came back
ping1() { ping "$@" >/dev/null 2>&1 && echo reply; }
# resolve NAME: the first address the resolver DHCP named answers
resolve() { nslookup "$1" | sed -n '/^Name:/,$ s/^Address[^:]*: *//p'; }

while read -r m; do
	insmod "/lib/modules/$m" || say "insmod $m failed"
done </modules.order
ip link set lo up
ip link set eth0 up
mac=$(cat /sys/class/net/eth0/address)
say "init mac=$mac"
t_init=$(cut -d' ' -f1 /proc/uptime)

# IPv4 by DHCP: /udhcpc.sh prints what it was given
if ! udhcpc -i eth0 -f -q -n -t 10 -T 1 -s /udhcpc.sh >/dev/null 2>&1; then
	say "dhcp=fail"
fi
t_dhcp=$(cut -d' ' -f1 /proc/uptime)
ip4=$(ip -4 -o addr show dev eth0 | sed -n 's/.* inet \([0-9.]*\)\/.*/\1/p')
gw4=$(ip -4 route show default | sed -n 's/default via \([0-9.]*\).*/\1/p')

# DNS through the interceptor (the resolver DHCP named)
say "resolver $(sed -n 's/^nameserver //p' /etc/resolv.conf)"
probe dns-allowed resolve "$ALLOWED"
probe dns-denied resolve "$DENIED"
probe dns-record resolve "$RECORD"

# where the policy lets it go, and where not
probe public http "$PUB4"
probe private-allowed tcp "$OK4" 80
probe lan tcp "$LAN4" 80
probe metadata-allowed tcp "$META_OK" 80
probe metadata tcp "$META" 80
probe host-allowed tcp "$gw4" "$HOST_OK"
probe host-gateway tcp "$gw4" "$HOST_NO"
probe host-lan tcp "$HOSTLAN4" "$HOST_NO"
probe other-sandbox tcp "$OTHER4" "$OTHER_PORT"

# IPv6, by the router advertisement, where the sandbox has it
if [ -n "$PUB6" ]; then
	# until the address has passed duplicate address detection and the
	# default route is there
	i=0
	while [ $i -lt 50 ] && { ! ip -6 addr show dev eth0 scope global | grep -q inet6 ||
		ip -6 addr show dev eth0 | grep -q tentative ||
		[ -z "$(ip -6 route show default)" ]; }; do
		sleep 0.2
		i=$((i + 1))
	done
	ip6=$(ip -6 addr show dev eth0 scope global | sed -n 's/.*inet6 \([0-9a-f:]*\)\/.*/\1/p' | head -n 1)
	gw6=$(ip -6 route show default | sed -n 's/default via \([0-9a-f:]*\) .*/\1/p' | head -n 1)
	say "slaac ip6=${ip6:-none} gw6=${gw6:-none}"
	probe public6 http "$PUB6"
	# another address of its own /64
	ip -6 addr add "$SPOOF6/128" dev eth0
	i=0
	while [ $i -lt 25 ] && ip -6 addr show dev eth0 | grep -q tentative; do
		sleep 0.2
		i=$((i + 1))
	done
	probe spoof-ip6 ping1 -6 -c 3 -W 1 -I "$SPOOF6" "$PING_SPOOF6"
	ip -6 addr del "$SPOOF6/128" dev eth0
	probe spoof-ip6-control ping1 -6 -c 1 -W 3 "$PING_SPOOF6"
fi

# spoofing: another source address, then another source MAC; after each,
# the same ping from the guest's own (counted by the test at the server)
ip addr add "$SPOOF4/32" dev eth0
probe spoof-ip ping1 -c 3 -W 1 -I "$SPOOF4" "$PING_SPOOF"
ip addr del "$SPOOF4/32" dev eth0
probe spoof-ip-control ping1 -c 1 -W 3 "$PING_SPOOF"
ip link set eth0 address 02:00:00:00:00:66
probe spoof-mac ping1 -c 3 -W 1 "$PING_MAC"
ip link set eth0 address "$mac"
arping -U -c 1 -I eth0 "$ip4" >/dev/null 2>&1
probe spoof-mac-control ping1 -c 1 -W 3 "$PING_MAC"

# the published port: the host reaches port 3000 here
mkdir -p /www
echo "GUEST-3000 $ip4" >/www/index.html
httpd -p 3000 -h /www
say "uptime init=$t_init dhcp=$t_dhcp done=$(cut -d' ' -f1 /proc/uptime)"
say "done"
sleep "$GUEST_LINGER"
poweroff -f
