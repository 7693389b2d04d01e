#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# scripts/demo.sh - moat's main job, offline: install, build, build a
# throwaway world of network namespaces (a host, a LAN with private
# services and a fake cloud-metadata endpoint, an "internet" with real
# servers), run moat in it, and show what a sandbox with the default policy
# can and cannot reach. Every packet stays inside the world; the world is
# removed on exit.
#
#   sudo ./scripts/demo.sh
#
# Exit status 0 only if every probe gave the expected result.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" != 0 ]; then
	echo "scripts/demo.sh: run as root (it builds network namespaces)" >&2
	exit 125
fi
"$top/scripts/install-deps.sh" || exit 125
if [ ! -f "$top/build/build.ninja" ]; then
	meson setup "$top/build" >/dev/null || exit 125
fi
ninja -C "$top/build" >/dev/null || exit 125
MOAT=$top/build/moat

. "$top/tests/lib/world.sh"
world_create || exit 125
export MOAT_RUN_DIR=$WORLD_DIR/run
S=$WORLD_SUFFIX
world_on_destroy in_host "$MOAT" rm -f "demo-$S" "demo2-$S"

in_host "$MOAT" create "demo-$S" >/dev/null || exit 125
in_host "$MOAT" create "demo2-$S" >/dev/null || exit 125
B_IP=$(in_host "$MOAT" inspect "demo2-$S" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["ipv4"])')
GW=$(in_host "$MOAT" inspect "demo-$S" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["gateway4"])')
NS=moat-demo-$S
ip netns exec "moat-demo2-$S" socat TCP-LISTEN:7000,fork,reuseaddr SYSTEM:'echo B' &
world_wait_listen "moat-demo2-$S" tcp 7000

echo
echo "A sandbox with the default policy (public internet only), probed from"
echo "root inside it:"
echo
printf '%-44s %-9s %-9s %s\n' PROBE EXPECTED OBSERVED VERDICT
bad=0
probe() {
	local desc=$1 expect=$2 got; shift 2
	if "$@" >/dev/null 2>&1; then got=reached; else got=blocked; fi
	local v=ok
	[ "$got" = "$expect" ] || { v=BREACH; bad=1; }
	printf '%-44s %-9s %-9s %s\n' "$desc" "$expect" "$got" "$v"
}
probe "public web 93.184.216.34:80"          reached probe_http "$NS" http://93.184.216.34/
probe "public ssh 140.82.112.3:22"           reached probe_tcp "$NS" 140.82.112.3 22
probe "public IPv6 [2606:2800:220:1::1]:22"  reached probe_tcp "$NS" 2606:2800:220:1::1 22
probe "LAN service 192.168.77.10:80"         blocked probe_tcp "$NS" 192.168.77.10 80
probe "private 10.0.0.5:80"                  blocked probe_tcp "$NS" 10.0.0.5 80
probe "CGN 100.64.0.1:80"                    blocked probe_tcp "$NS" 100.64.0.1 80
probe "cloud metadata 169.254.169.254:80"    blocked probe_tcp "$NS" 169.254.169.254 80
probe "host ssh 192.168.77.2:22"             blocked probe_tcp "$NS" 192.168.77.2 22
probe "host via the gateway $GW:22"    blocked probe_tcp "$NS" "$GW" 22
probe "another sandbox $B_IP:7000"       blocked probe_tcp "$NS" "$B_IP" 7000
probe "DNS over TLS 1.1.1.1:853"             blocked probe_tcp "$NS" 1.1.1.1 853
probe "DNS 8.8.8.8:53 (no interceptor yet)"  blocked probe_dns "$NS" 8.8.8.8 example.com
echo
if [ "$bad" = 0 ]; then
	echo "Every probe matched. The world is removed now."
else
	echo "BREACH: a probe did not match." >&2
fi
exit "$bad"
