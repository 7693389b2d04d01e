#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_vm.sh - a real Linux guest on a sandbox's TAP device: QEMU, run by
# "moat exec" inside the sandbox as the TAP's owner without a capability,
# boots the host's Debian kernel (/boot/vmlinuz-*) with an initramfs built
# here from busybox-static (tests/lib/vm-init.sh is its /init), which takes
# its address by DHCP from moat and prints its probes on the serial
# console:
#
#   [guest eth0] =virtio= [QEMU | tap0 =wire= eth0]  sandbox vm-S
#                                                |  veth moatN
#                                [HOST: moat's rules, DHCP, RA, DNS, port 8080]
#
# Checked, each attack with a control where the policy allows the same:
# the TAP's owner only may attach; DHCP gives the sandbox's address, its
# gateway, the DNS interceptor and the MTU, to the MAC moat chose, and IPv6
# comes by router advertisement (the EUI-64 address moat recorded); names
# resolve through the interceptor (a denied name does not, a dns.records
# name does); the public internet is reached, the LAN, metadata, the host
# and another sandbox are refused (an allowed private address, metadata
# address and host port are reached); a spoofed source address and a
# spoofed source MAC get nothing through (counted at the destination,
# against the same ping from the guest's own); the published port reaches
# port 3000 in the guest; QEMU stopped by PID, "moat rm" leaves nothing,
# the TAP device included, even while something outside holds the
# namespace.
#
# Accelerator: KVM when the VMM's user can open /dev/kvm and a guest
# boots under it within VM_KVM_WAIT seconds, else TCG (MOAT_TEST_VM_ACCEL
# forces one). The VM's files live in MOAT_TEST_VM_DIR (default: the
# directory of $MOAT), outside /tmp, which "moat exec" covers.
#
# It boots a VM and waits for it:
# moat-test: long
# shellcheck source=../lib/preamble.sh
. "$(dirname "$0")/../lib/preamble.sh"

VM_WAIT=100		# seconds for the guest's probes to end (TCG)
VM_KVM_WAIT=20		# seconds for a KVM guest to say it runs
VM_MODULES=(virtio_pci virtio_net)

# --- what the test needs, else skip ------------------------------------------
qemu=$(command -v qemu-system-x86_64) || t_skip_all "qemu-system-x86_64 missing (scripts/install-deps.sh)"
busybox=$(command -v busybox) || t_skip_all "busybox missing (busybox-static)"
ldd "$busybox" >/dev/null 2>&1 && t_skip_all "$busybox is not static (install busybox-static)"
kernel=$(find /boot -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -n 1)
[ -r "$kernel" ] || t_skip_all "no kernel in /boot (install linux-image-amd64)"
kver=${kernel#/boot/vmlinuz-}
modules=$(modprobe -a -S "$kver" --show-depends "${VM_MODULES[@]}" 2>/dev/null |
	awk '$1 == "insmod" && !seen[$2]++ { print $2 }')
[ -n "$modules" ] || t_skip_all "no modules for $kver (virtio_net)"
[ "$(stat -c %a /dev/net/tun 2>/dev/null)" = 666 ] ||
	t_skip_all "/dev/net/tun is not open to every user: a VMM without capabilities cannot open its TAP"

t_world conntrack nat tun
vmdir=$(mktemp -d "${MOAT_TEST_VM_DIR:-$(dirname "$MOAT")}/test-vm-$S.XXXXXX") ||
	{ not_ok "a directory for the VM's files"; t_end; }
qpid=
srv=
holder=
stop_vm() {
	local p
	for p in $qpid $srv $holder; do kill "$p" 2>/dev/null; done
	rm -rf "$vmdir"
	return 0
}
world_on_destroy stop_vm
chmod 755 "$vmdir"

t_begin "setup"
# the policy: a private address, a metadata address and a host port
# allowed, so that each refusal below has its control; a blocked name and
# a dns.records name (no domain rule: TCP 80 is not proxied, and the token
# servers speak first); the published port
cat >"$vmdir/vm.yaml" <<'EOF'
version: 1
egress:
  rules:
    - allow: 10.0.0.5
      ports: [80]
    - allow: 169.254.170.2
      ports: [80]
    - allow: host
      ports: [8022]
dns:
  block: [evil.example]
  records:
    db.vm.test: 10.0.0.5
ingress:
  publish: ["8080:3000"]
EOF
sandbox vm --tap --policy "$vmdir/vm.yaml" || t_end
sandbox other --publish 7001:7000 || t_end
vm=$(m inspect "vm-$S" --json)
other=$(m inspect "other-$S" --json)
mac=$(jq -r .tap.guest_mac <<<"$vm")
addr4=$(jq -r .ipv4 <<<"$vm")
gw4=$(jq -r .gateway4 <<<"$vm")
addr6=$(jq -r '.tap.guest_ipv6 // empty' <<<"$vm")
owner=$(jq -r .tap.owner_uid <<<"$vm")
assert_eq "$(jq -r .tap.name <<<"$vm")" tap0 "inspect --json: the TAP's name"
assert_match "$mac" '^02:6d:([0-9a-f]{2}:){3}[0-9a-f]{2}$' "inspect --json: a locally administered guest MAC"
assert_eq "$(jq -r .tap.guest_ipv4 <<<"$vm")" "$addr4" "inspect --json: the guest's address is the sandbox's"
assert_match "$(as_root_in "moat-vm-$S" ip -d link show tap0)" "tun type tap .*persist on user" \
	"the namespace has a persistent tap0 with an owner"
# another sandbox's server, reachable through its own published port
ip netns exec "moat-other-$S" socat TCP-LISTEN:7000,fork,reuseaddr SYSTEM:'echo OTHER-7000' &
srv=$!
world_wait_listen "moat-other-$S" tcp 7000 || not_ok "the other sandbox's server listens"

# the TAP: its owner attaches without a capability, anybody else not
attach='import fcntl,os,struct,sys
fd=os.open("/dev/net/tun",os.O_RDWR)
try:
    fcntl.ioctl(fd,0x400454ca,struct.pack("16sH",b"tap0",0x1002))
    print("attached")
except OSError as e:
    print("refused",os.strerror(e.errno))'
t_begin "the TAP's owner"
assert_eq "$(m exec "vm-$S" -- python3 -c "$attach" 2>&1)" attached \
	"moat exec's default user (host UID $owner) attaches to tap0"
assert_match "$(m exec "vm-$S" --user 4242 -- python3 -c "$attach" 2>&1)" "^refused Operation not permitted" \
	"another user is refused"

# --- the guest ----------------------------------------------------------------
t_begin "boot"
root=$vmdir/root
mkdir -p "$root"/bin "$root"/dev "$root"/proc "$root"/sys "$root"/etc "$root"/lib/modules
cp "$busybox" "$root/bin/busybox"
for ko in $modules; do
	base=${ko##*/}
	case $ko in
	*.xz) xz -dc "$ko" >"$root/lib/modules/${base%.xz}"; base=${base%.xz} ;;
	*.zst) zstd -qdc "$ko" >"$root/lib/modules/${base%.zst}"; base=${base%.zst} ;;
	*) cp "$ko" "$root/lib/modules/" ;;
	esac
	echo "$base" >>"$root/modules.order"
done
install -m 755 "$MOAT_SRCDIR/tests/lib/vm-init.sh" "$root/init"
cat >"$root/udhcpc.sh" <<'EOF'
#!/bin/sh
case $1 in
bound | renew)
	ip addr flush dev "$interface"
	ip addr add "$ip/$mask" dev "$interface"
	[ -z "$mtu" ] || ip link set "$interface" mtu "$mtu"
	ip route add default via "$router" dev "$interface"
	echo "nameserver $dns" >/etc/resolv.conf
	echo "moat-guest: dhcp ip=$ip mask=$mask router=$router dns=$dns mtu=$mtu lease=$lease serverid=$serverid" >/dev/console
	;;
esac
EOF
chmod 755 "$root/udhcpc.sh"
other4=$(jq -r .ipv4 <<<"$other")
spoof6=
[ -z "$addr6" ] || spoof6=$("$WORLD_PYTHON" -c 'import ipaddress, sys
print(ipaddress.ip_network(sys.argv[1] + "/64", strict=False)[0x99])' "$addr6")
# an address of the pool that is neither sandbox's
spoof4=${addr4%.*}.$(( (${addr4##*.} + 100) % 250 + 2 ))
cat >"$root/etc/probe.env" <<EOF
SPOOF4=$spoof4
SPOOF6=$spoof6
PUB4=93.184.216.34
PUB6=${addr6:+2606:2800:220:1::1}
OK4=10.0.0.5
LAN4=$WORLD_LANSVC4
META_OK=169.254.170.2
META=169.254.169.254
HOST_OK=8022
HOST_NO=22
HOSTLAN4=$WORLD_HOST4
OTHER4=$other4
OTHER_PORT=7000
RECORD=db.vm.test
DENIED=evil.example
ALLOWED=example.com
PING_SPOOF=9.9.9.9
PING_SPOOF6=2001:4860:4860::8888
PING_MAC=8.8.8.8
GUEST_LINGER=$((VM_WAIT + 60))
EOF
(cd "$root" && find . | "$busybox" cpio -o -H newc 2>/dev/null) | gzip -1 >"$vmdir/initrd.gz"
chmod 644 "$vmdir/initrd.gz"

# echo requests that reach the internet, counted there by destination
in_inet nft -f - <<'EOF'
table inet vmtest {
	counter spoof_ip { }
	counter spoof_ip6 { }
	counter spoof_mac { }
	chain input {
		type filter hook input priority 0;
		ip daddr 9.9.9.9 icmp type echo-request counter name spoof_ip
		ip6 daddr 2001:4860:4860::8888 icmpv6 type echo-request counter name spoof_ip6
		ip daddr 8.8.8.8 icmp type echo-request counter name spoof_mac
	}
}
EOF

# boot VM_ACCEL: start QEMU in the sandbox as the TAP's owner, by "moat
# exec" (the guest's MAC from the environment moat gives it)
boot() {
	: >"$vmdir/serial.log"
	chmod 666 "$vmdir/serial.log"
	# shellcheck disable=SC2016 # expanded by the sandbox's shell
	nsenter --net="$HOST_NETNS" "$MOAT" exec "vm-$S" -- sh -c 'exec "$0" \
		-accel "$1" -m 256 -smp 1 -nodefaults -no-user-config \
		-display none -no-reboot -serial "file:$2/serial.log" \
		-kernel "$3" -initrd "$2/initrd.gz" \
		-append "console=ttyS0 panic=-1 quiet" \
		-netdev tap,id=n0,ifname="$MOAT_TAP",script=no,downscript=no \
		-device virtio-net-pci,netdev=n0,mac="$MOAT_GUEST_MAC"' \
		"$qemu" "$1" "$vmdir" "$kernel" >"$vmdir/qemu.log" 2>&1 &
	qpid=$!
}
serial_has() { grep -q "$1" "$vmdir/serial.log"; }
accel=${MOAT_TEST_VM_ACCEL:-}
if [ -z "$accel" ]; then
	accel=tcg
	m exec "vm-$S" -- sh -c 'exec 3<>/dev/kvm' 2>/dev/null && accel=kvm
fi
t0=$EPOCHREALTIME
boot "$accel"
if [ "$accel" = kvm ] && [ -z "${MOAT_TEST_VM_ACCEL:-}" ] &&
	! wait_for "$VM_KVM_WAIT" serial_has "moat-guest: init"; then
	echo "# KVM opened but the guest did not start: TCG instead"
	kill "$qpid" 2>/dev/null
	wait "$qpid" 2>/dev/null
	accel=tcg
	t0=$EPOCHREALTIME
	boot tcg
fi
if ! wait_for "$VM_WAIT" serial_has "moat-guest: done"; then
	not_ok "the guest ran its probes ($accel)" "$(tail -n 30 "$vmdir/serial.log")" \
		"$(cat "$vmdir/qemu.log")"
	t_end
fi
secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
ok "the guest booted and ran its probes in ${secs}s ($accel)"
serial=$(tr -d '\r' <"$vmdir/serial.log")
# line KEY: the guest's line "moat-guest: KEY..." (its first)
line() { grep -m1 "^moat-guest: $1" <<<"$serial" | sed 's/^moat-guest: //'; }
echo "# guest $(line uptime) (seconds since its kernel started)"
assert_eq "$(line init)" "init mac=$mac" "its NIC has the MAC moat chose"

t_begin "DHCP and router advertisements"
assert_eq "$(line dhcp)" "dhcp ip=$addr4 mask=30 router=$gw4 dns=$gw4 mtu=1500 lease=86400 serverid=$gw4" \
	"DHCP: the sandbox's address, gateway, the DNS interceptor, MTU, lease"
assert_match "$(m inspect "vm-$S" --json | jq -c .supervisor.dhcp)" \
	'"ack_total":[1-9]' "the server counted its ACK"
assert_match "$(m logs "vm-$S" --json | jq -c '.[] | select(.kind == "dhcp")')" \
	"\"event\":\"ack\".*\"mac\":\"$mac\"" "the lease is logged"
if [ -n "$addr6" ]; then
	assert_match "$(line slaac)" "^slaac ip6=$addr6 gw6=fe80:" \
		"IPv6: the EUI-64 address moat recorded, the gateway's link-local as router"
	assert_eq "$(line public6=)" "public6=ok INET 2606:2800:220:1::1" "IPv6: a public server"
	assert_match "$(m inspect "vm-$S" --json | jq -c .supervisor.ra)" '"advertisements_total":[1-9]' \
		"router advertisements sent"
fi

t_begin "DNS through the interceptor"
assert_eq "$(line resolver)" "resolver $gw4" "the resolver is the gateway"
assert_eq "$(line dns-allowed=)" "dns-allowed=ok 93.184.216.34" "a name resolves"
assert_eq "$(line dns-denied=)" "dns-denied=fail" "a name the policy denies does not"
assert_eq "$(probe_dns host 8.8.8.8 evil.example)" 151.101.1.1 "... which the upstream resolver knows"
assert_eq "$(line dns-record=)" "dns-record=ok 10.0.0.5" "a dns.records name resolves"
assert_match "$(m logs "vm-$S" --json | jq -r '.[] | select(.kind == "dns") | .name' | sort -u | tr '\n' ' ')" \
	"evil.example" "the interceptor logged the guest's queries"

t_begin "egress"
assert_eq "$(line public=)" "public=ok INET 93.184.216.34" "the public internet"
assert_eq "$(line private-allowed=)" "private-allowed=ok LAN-10.0.0.5" "an allowed private address (control)"
assert_eq "$(line lan=)" "lan=fail" "the LAN is refused"
assert_eq "$(probe_tcp host "$WORLD_LANSVC4" 80)" LAN-80 "... whose server answers the host (control)"
assert_eq "$(line metadata-allowed=)" "metadata-allowed=ok META-169.254.170.2" "an allowed metadata address (control)"
assert_eq "$(line metadata=)" "metadata=fail" "the metadata endpoint is refused"
assert_eq "$(probe_tcp lan 169.254.169.254 80)" META-169.254.169.254 "... which answers the LAN (control)"
assert_eq "$(line host-allowed=)" "host-allowed=ok HOST-8022" "the host port the policy opens (control)"
assert_eq "$(line host-gateway=)" "host-gateway=fail" "another host port, on the gateway, is refused"
assert_eq "$(line host-lan=)" "host-lan=fail" "... and on the host's LAN address"
assert_eq "$(probe_tcp host "$WORLD_HOST4" 22)" HOST-22 "... where it answers the host (control)"
assert_eq "$(line other-sandbox=)" "other-sandbox=fail" "another sandbox is refused"
assert_eq "$(probe_tcp host 127.0.0.1 7001)" OTHER-7000 "... whose server answers its published port (control)"

t_begin "spoofing"
assert_eq "$(line spoof-ip=)" "spoof-ip=fail" "a spoofed source address gets no answer"
assert_eq "$(line spoof-ip-control=)" "spoof-ip-control=ok reply" "the same ping from the guest's address does (control)"
assert_eq "$(in_inet nft list counter inet vmtest spoof_ip | sed -n 's/.*packets \([0-9]*\).*/\1/p')" 1 \
	"only the control's echo request reached the server"
if [ -n "$addr6" ]; then
	assert_eq "$(line spoof-ip6=)" "spoof-ip6=fail" "IPv6: another address of its /64 gets no answer"
	assert_eq "$(line spoof-ip6-control=)" "spoof-ip6-control=ok reply" "the same ping from its own does (control)"
	assert_eq "$(in_inet nft list counter inet vmtest spoof_ip6 | sed -n 's/.*packets \([0-9]*\).*/\1/p')" 1 \
		"only the control's echo request reached the server"
fi
assert_eq "$(line spoof-mac=)" "spoof-mac=fail" "a spoofed source MAC gets no answer"
assert_eq "$(line spoof-mac-control=)" "spoof-mac-control=ok reply" "the same ping from the guest's MAC does (control)"
assert_eq "$(in_inet nft list counter inet vmtest spoof_mac | sed -n 's/.*packets \([0-9]*\).*/\1/p')" 1 \
	"only the control's echo request reached the server"
i5=$(m stats "vm-$S" --json | jq '.sandboxes[0].counters[] |
	select(.verdict == "denied" and .reason == "I5") | .packets')
assert_match "$i5" '^([6-9]|[1-9][0-9]+)$' "the host dropped them as spoofing (I5: $i5 packets)"
assert_match "$(m logs "vm-$S" --json | jq -r '.[] | select(.kind == "deny") | .reason' | sort -u | tr '\n' ' ')" \
	"I5:spoof" "and logged them"

t_begin "published port"
assert_eq "$(in_host curl -s --max-time 5 http://127.0.0.1:8080/)" "GUEST-3000 $addr4" \
	"127.0.0.1:8080 on the host reaches port 3000 in the guest"

t_begin "teardown"
kill "$qpid"
wait "$qpid" 2>/dev/null
qpid=
assert_eq "$(ip netns pids "moat-vm-$S" | wc -l)" 0 "QEMU stopped by PID, nothing left in the namespace"
# something outside holds the namespace: the TAP must go anyway
sleep 300 3<"/run/netns/moat-vm-$S" &
holder=$!
# the background shell opens the descriptor, then becomes sleep: wait for it
assert_ok -m "a process outside holds the namespace" wait_for 5 test -e "/proc/$holder/fd/3"
assert_ok -m "tap0 is there before rm (control)" nsenter --net="/proc/$holder/fd/3" ip link show tap0
assert_ok -m "moat rm" m rm "vm-$S"
assert_ok -m "... the namespace still held after rm" test -e "/proc/$holder/fd/3"
assert_fail -m "tap0 is gone, though the namespace lives on" nsenter --net="/proc/$holder/fd/3" ip link show tap0
kill "$holder"
holder=
check "the namespace is unmounted" test ! -e "/run/netns/moat-vm-$S"
assert_eq "$(m ls --json | jq -r ".[] | select(.name == \"vm-$S\") | .name")" "" "no record"
assert_no_match "$(in_host nft list chains inet moat 2>/dev/null)" \
	"$(jq -r .host_interface <<<"$vm")_" "no chain of its"
assert_no_match "$(in_host ip -o link show)" "$(jq -r .host_interface <<<"$vm")[:@]" "no host interface"
t_end
