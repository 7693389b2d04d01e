#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# scripts/install-deps.sh - installs the Debian 12 packages needed to build
# and test moat:
#
#   sudo ./scripts/install-deps.sh            # build + unit + integration tests
#   sudo ./scripts/install-deps.sh --bench    # also the benchmark peers (bench/)
#   ./scripts/install-deps.sh --check         # list what is missing; exit 1 if any
#
# Idempotent and quiet: when every package is already installed (checked
# with dpkg-query) it does nothing, not even apt-get update. Otherwise it
# runs apt-get update and installs the missing ones, printing apt's output
# only if that fails.
set -euo pipefail

# build: toolchain, libraries (SPEC section 9), fuzzing (clang + libFuzzer)
# tests: the real clients and peers of the integration tests, and what
#        tests/lib/world.sh needs (iproute2, util-linux's nsenter, python3,
#        openssl, dnsmasq); conntrack (test_reuse.sh puts entries back
#        by hand); prometheus for promtool, the strict parser
#        test_obs.sh checks moat's metrics with (its server is not started:
#        see policy-rc.d below); shellcheck and cppcheck, the static
#        analysis scripts/test.sh runs; qemu-system-x86, linux-image-amd64
#        and busybox-static for test_vm.sh (a real guest booted on a
#        sandbox's TAP device, its initramfs built from busybox);
#        containerd (its ctr run --cni), containernetworking-plugins, podman
#        and runc for test_cni.sh (moat as the CNI plugin of a real runtime)
#        and test_oci.sh (moat oci-hook under a real runtime, its image
#        imported from busybox-static); docker.io for test_docker.sh
#        (moat oci-runtime under a real dockerd, started by the test in
#        its world with its own state; the package's own dockerd is not
#        started: see policy-rc.d below); python3-requests, nodejs and
#        git, clients test_secrets.sh runs in a sandbox against the
#        proxy's TLS interception, python3-h2 its HTTP/2 server
#        (libssl-dev and libnghttp2-dev, above, are what moat links for
#        it: OpenSSL and Debian's HTTP/2 framing rather than our own)
packages=(
	meson ninja-build pkg-config
	libnftables-dev nftables libyaml-dev libjansson-dev
	libnl-3-dev libnl-route-3-dev libmnl-dev libnftnl-dev
	libcap-dev libseccomp-dev libcmocka-dev libldns-dev libssl-dev libnghttp2-dev libidn2-dev
	clang libclang-rt-14-dev llvm
	iproute2 procps psmisc kmod util-linux iputils-ping
	curl bind9-dnsutils socat netcat-openbsd openssl dnsmasq-base iperf3
	python3 python3-requests python3-h2 nodejs git jq conntrack
	prometheus shellcheck cppcheck
	qemu-system-x86 linux-image-amd64 busybox-static
	containerd containernetworking-plugins podman runc docker.io
)
# benchmarks: peers and load generators (mitmproxy: the peer of TLS
# interception with secrets, bench/secrets.sh)
bench_packages=(
	sockperf containernetworking-plugins iptables
	dnsperf wrk haproxy tinyproxy nginx unbound mitmproxy
	strace
	netavark	# bench/scale.sh: Podman's network back end, a create/remove peer
	# bench/proxy.sh: the sockmap relay prototype (bench/sockmap/), built
	# with clang's BPF target and libbpf; bpftool to look at it
	clang libbpf-dev bpftool
)

check_only=0
for arg in "$@"; do
	case $arg in
	--bench) packages+=("${bench_packages[@]}") ;;
	--check) check_only=1 ;;
	-h | --help)
		sed -n '3,14p' "$0" | sed 's/^# \{0,1\}//'
		exit 0 ;;
	*)
		echo "install-deps.sh: unknown option '$arg' (try --help)" >&2
		exit 2 ;;
	esac
done

if [ "$check_only" = 0 ] && [ "$(id -u)" != 0 ]; then
	echo "install-deps.sh: must run as root (it installs packages with apt-get):" >&2
	echo "  sudo $0 $*" >&2
	exit 1
fi

# missing PKG...: print those dpkg does not report as installed (one
# dpkg-query for all; unknown packages are simply not in its output)
missing() {
	local -A ok=()
	local p st
	while read -r p st; do
		[ "$st" = installed ] && ok[${p%%:*}]=1
	done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "$@" 2>/dev/null || true)
	for p in "$@"; do
		[ -n "${ok[$p]:-}" ] || echo "$p"
	done
}

mapfile -t missing < <(missing "${packages[@]}")

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$check_only" = 1 ]; then
	echo "missing: ${missing[*]}"
	exit 1
fi
log=$(mktemp /tmp/moat-install-deps.XXXXXX)
# packages such as unbound or haproxy would start their daemon in the
# machine's own namespace: forbid that while we install (Debian's
# policy-rc.d mechanism), unless the machine already has a policy
prc=/usr/sbin/policy-rc.d
made_prc=0
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	rm -f "$log"
	if [ "$made_prc" = 1 ]; then rm -f "$prc"; fi
}
trap cleanup EXIT
if [ ! -e "$prc" ]; then
	printf '#!/bin/sh\n# installed by moat scripts/install-deps.sh\nexit 101\n' >"$prc"
	chmod 755 "$prc"
	made_prc=1
fi
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-q -y --no-install-recommends -o DPkg::Lock::Timeout=300
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

if ! apt-get -q -o DPkg::Lock::Timeout=300 update >"$log" 2>&1; then
	cat "$log" >&2
	echo "install-deps.sh: apt-get update failed" >&2
	exit 1
fi
if ! apt-get "${apt_opts[@]}" install "${missing[@]}" >>"$log" 2>&1; then
	cat "$log" >&2
	echo "install-deps.sh: apt-get install failed for: ${missing[*]}" >&2
	exit 1
fi

# make sure dpkg agrees now
mapfile -t still < <(missing "${missing[@]}")
if [ ${#still[@]} -gt 0 ]; then
	cat "$log" >&2
	echo "install-deps.sh: still not installed: ${still[*]}" >&2
	exit 1
fi
exit 0
