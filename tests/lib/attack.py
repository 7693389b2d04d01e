#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""tests/lib/attack.py - packets an attacker with root in its netns crafts.

Run inside a sandbox's network namespace (as root there). Every target is an
address of the test world; nothing else is ever addressed.

  attack.py spoof-udp SRC DST PORT PAYLOAD   raw IPv4/UDP with any source
  attack.py spoof-udp6 SRC DST PORT PAYLOAD  raw IPv6/UDP with any source
  attack.py bind-tcp SRC DST PORT            TCP connect from a chosen source,
                                             prints what the peer sent
  attack.py ra                               router advertisement to ff02::1
                                             with prefix 2001:db8:bad::/64
  attack.py bcast PORT PAYLOAD ADDR...       UDP to broadcast addresses
  attack.py icmp6 SRC DST TYPE HOPLIMIT      raw ICMPv6 message of TYPE (an
                                             empty body) with any source, out
                                             of eth0 (DST may be multicast)
Exit status 0 if the packet was sent (or, for bind-tcp, if connected).
"""
import socket
import struct
import sys


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def spoof_udp(src, dst, port, payload):
    data = payload.encode()
    udp_len = 8 + len(data)
    s = socket.inet_aton(src)
    d = socket.inet_aton(dst)
    pseudo = s + d + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", 40000, port, udp_len, 0) + data
    udp = udp[:6] + struct.pack("!H", csum(pseudo + udp) or 0xFFFF) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0x1234, 0, 64,
                     17, 0, s, d)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    sock.sendto(ip + udp, (dst, 0))


def spoof_udp6(src, dst, port, payload):
    # IPV6_HDRINCL (36) needs a recent kernel; use IPV6_FREEBIND-free way:
    # a raw socket with IPV6_HDRINCL lets us choose the source
    data = payload.encode()
    udp_len = 8 + len(data)
    s = socket.inet_pton(socket.AF_INET6, src)
    d = socket.inet_pton(socket.AF_INET6, dst)
    pseudo = s + d + struct.pack("!I3xB", udp_len, 17)
    udp = struct.pack("!HHHH", 40000, port, udp_len, 0) + data
    udp = udp[:6] + struct.pack("!H", csum(pseudo + udp) or 0xFFFF) + udp[8:]
    ip6 = struct.pack("!IHBB16s16s", 6 << 28, udp_len, 17, 64, s, d)
    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sock.setsockopt(socket.IPPROTO_IPV6, 36, 1)  # IPV6_HDRINCL
    sock.sendto(ip6 + udp, (dst, 0))


def bind_tcp(src, dst, port):
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    sock = socket.socket(fam, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_IP, 15, 1)  # IP_TRANSPARENT-free: FREEBIND
    sock.settimeout(1.0)
    sock.bind((src, 0))
    sock.connect((dst, port))
    print(sock.recv(200).decode(errors="replace").strip())


def router_advert():
    # ICMPv6 RA: type 134, hop limit 64, lifetime 1800, prefix option
    prefix = socket.inet_pton(socket.AF_INET6, "2001:db8:bad::")
    opt = struct.pack("!BBBBIII16s", 3, 4, 64, 0xC0, 86400, 14400, 0, prefix)
    ra = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0) + opt
    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
    idx = socket.if_nametoindex("eth0")
    sock.sendto(ra, ("ff02::1", 0, 0, idx))


def icmp6(src, dst, typ, hops):
    s = socket.inet_pton(socket.AF_INET6, src)
    d = socket.inet_pton(socket.AF_INET6, dst)
    body = struct.pack("!BBHI", typ, 0, 0, 0) + bytes(16)
    pseudo = s + d + struct.pack("!I3xB", len(body), 58)
    body = body[:2] + struct.pack("!H", csum(pseudo + body)) + body[4:]
    ip6 = struct.pack("!IHBB16s16s", 6 << 28, len(body), 58, hops, s, d)
    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sock.setsockopt(socket.IPPROTO_IPV6, 36, 1)  # IPV6_HDRINCL
    sock.sendto(ip6 + body, (dst, 0, 0, socket.if_nametoindex("eth0")))


def bcast(port, payload, addrs):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    for a in addrs:
        sock.sendto(payload.encode(), (a, port))


def main():
    a = sys.argv[1:]
    try:
        if a[0] == "spoof-udp":
            spoof_udp(a[1], a[2], int(a[3]), a[4])
        elif a[0] == "spoof-udp6":
            spoof_udp6(a[1], a[2], int(a[3]), a[4])
        elif a[0] == "bind-tcp":
            bind_tcp(a[1], a[2], int(a[3]))
        elif a[0] == "ra":
            router_advert()
        elif a[0] == "icmp6":
            icmp6(a[1], a[2], int(a[3]), int(a[4]))
        elif a[0] == "bcast":
            bcast(int(a[1]), a[2], a[3:])
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except OSError as e:
        print("attack.py: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
