#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""tests/lib/exhaust.py - a sandbox trying to use up what the host shares.

Run inside a sandbox's network namespace (as root there, for "ns"). Every
target is an address of the test world; the numbers stay small (the
machine's conntrack and neighbour tables are shared by every test).

  exhaust.py listen ADDR PORT              (in INET) listen with a deep
                                           backlog, never accept: the
                                           kernel completes and holds every
                                           handshake
  exhaust.py hold-tcp DST PORT N STOPFILE  open N TCP connections at once,
                                           print "connected K of N" once
                                           they settled (3 s at most), hold
                                           them until STOPFILE exists (60 s
                                           at most), close them with RST
  exhaust.py churn DST PORT N SECS         open and close up to N TCP
                                           connections one after the other
                                           (read what the server sends
                                           first, FIN, read its FIN; 0.3 s
                                           per step at most) for SECS at
                                           most; print "connected K of M"
  exhaust.py udp-dns SERVER N              N DNS queries, each from its own
                                           socket (its own source port), at
                                           once; print "answered K of N"
  exhaust.py udp DST PORT N [GAP]          the same with a datagram "ping I",
                                           GAP seconds apart
  exhaust.py dns-flood SERVER SECS         DNS queries for names never asked
                                           before, from one socket, 50 every
                                           5 ms or so, for SECS; print "sent
                                           N answered K"
  exhaust.py arp GW SRC...                 one ARP request for GW (broadcast)
                                           from each sender address SRC
  exhaust.py ns GW SRC...                  one neighbour solicitation for GW
                                           (unicast, hop limit 255, source
                                           link-layer option) from each SRC
"""
import fcntl
import os
import select
import socket
import struct
import sys
import time


def listen(addr, port):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(4096)
    while True:
        time.sleep(3600)


def hold_tcp(dst, port, n, stopfile):
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    pending = {}
    for _ in range(n):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setblocking(False)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
        try:
            s.connect((dst, port))
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            continue
        pending[s.fileno()] = s
    connected = []
    ep = select.epoll()
    for fd in pending:
        ep.register(fd, select.EPOLLOUT | select.EPOLLERR)
    end = time.time() + 3
    while pending and time.time() < end:
        for fd, _ in ep.poll(max(0.0, end - time.time())):
            s = pending.pop(fd, None)
            if s is None:
                continue
            ep.unregister(fd)
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                connected.append(s)
            else:
                s.close()
    for s in pending.values():
        s.close()
    print("connected %d of %d" % (len(connected), n), flush=True)
    end = time.time() + 60
    while not os.path.exists(stopfile) and time.time() < end:
        time.sleep(0.1)
    for s in connected:
        s.close()


def churn(dst, port, n, secs):
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    k = m = 0
    end = time.time() + secs
    while m < n and time.time() < end:
        m += 1
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(0.3)
        try:
            s.connect((dst, port))
            k += 1
            s.recv(64)              # the token: then the close is a FIN
            s.shutdown(socket.SHUT_WR)
            s.recv(64)              # the server's FIN
        except OSError:
            pass
        s.close()
    print("connected %d of %d" % (k, m))


def dns_query(qid, name):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack("!HH", 1, 1)


def udp_many(server, port, n, gap=0.0):
    fam = socket.AF_INET6 if ":" in server else socket.AF_INET
    socks = {}
    for i in range(n):
        if gap:
            time.sleep(gap)
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.setblocking(False)
        try:
            s.sendto(dns_query(i + 1, "example.com") if port == 53 else
                     b"ping %d\n" % i, (server, port))
        except OSError:
            s.close()
            continue
        socks[s.fileno()] = s
    answered = 0
    ep = select.epoll()
    for fd in socks:
        ep.register(fd, select.EPOLLIN)
    end = time.time() + 3
    while socks and time.time() < end:
        for fd, _ in ep.poll(max(0.0, end - time.time())):
            s = socks.pop(fd, None)
            if s is None:
                continue
            ep.unregister(fd)
            try:
                if len(s.recv(4096)) >= 12:
                    answered += 1
            except OSError:
                pass
            s.close()
    for s in socks.values():
        s.close()
    print("answered %d of %d" % (answered, n))


def dns_flood(server, secs):
    fam = socket.AF_INET6 if ":" in server else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setblocking(False)
    tag = os.getpid()
    n = answered = 0
    end = time.time() + secs
    while time.time() < end:
        for _ in range(50):
            try:
                s.sendto(dns_query(n & 0xFFFF, "f%d-%d.example.com" % (tag, n)),
                         (server, 53))
                n += 1
            except OSError:
                pass
        select.select([s], [], [], 0.005)
        try:
            while True:
                if len(s.recv(4096)) >= 12:
                    answered += 1
        except OSError:
            pass
    print("sent %d answered %d" % (n, answered))


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def arp(gw, srcs):
    ifr = fcntl.ioctl(socket.socket(), 0x8927,  # SIOCGIFHWADDR
                      struct.pack("256s", b"eth0"))
    mac = ifr[18:24]
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind(("eth0", 0))
    for src in srcs:
        frame = (b"\xff" * 6 + mac + struct.pack("!H", 0x0806) +
                 struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, mac,
                             socket.inet_aton(src), b"\0" * 6,
                             socket.inet_aton(gw)))
        sock.send(frame)


def ns(gw, srcs):
    ifr = fcntl.ioctl(socket.socket(), 0x8927,  # SIOCGIFHWADDR
                      struct.pack("256s", b"eth0"))
    mac = ifr[18:24]
    d = socket.inet_pton(socket.AF_INET6, gw)
    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sock.setsockopt(socket.IPPROTO_IPV6, 36, 1)  # IPV6_HDRINCL
    for src in srcs:
        s = socket.inet_pton(socket.AF_INET6, src)
        icmp = struct.pack("!BBHI16sBB6s", 135, 0, 0, 0, d, 1, 1, mac)
        pseudo = s + d + struct.pack("!I3xB", len(icmp), 58)
        icmp = icmp[:2] + struct.pack("!H", csum(pseudo + icmp)) + icmp[4:]
        ip6 = struct.pack("!IHBB16s16s", 6 << 28, len(icmp), 58, 255, s, d)
        sock.sendto(ip6 + icmp, (gw, 0))


def main():
    a = sys.argv[1:]
    if a and a[0] == "listen" and len(a) == 3:
        listen(a[1], int(a[2]))
    elif a and a[0] == "hold-tcp" and len(a) == 5:
        hold_tcp(a[1], int(a[2]), int(a[3]), a[4])
    elif a and a[0] == "churn" and len(a) == 5:
        churn(a[1], int(a[2]), int(a[3]), float(a[4]))
    elif a and a[0] == "udp-dns" and len(a) == 3:
        udp_many(a[1], 53, int(a[2]))
    elif a and a[0] == "udp" and len(a) in (4, 5):
        udp_many(a[1], int(a[2]), int(a[3]), float(a[4]) if len(a) == 5 else 0)
    elif a and a[0] == "dns-flood" and len(a) == 3:
        dns_flood(a[1], float(a[2]))
    elif a and a[0] == "arp" and len(a) >= 3:
        arp(a[1], a[2:])
    elif a and a[0] == "ns" and len(a) >= 3:
        ns(a[1], a[2:])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
