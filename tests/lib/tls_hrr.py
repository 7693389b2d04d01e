#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# moat - per-sandbox networks enforced by the host kernel
#
# tls_hrr.py - a TLS 1.3 client through a HelloRetryRequest, for attacks
#
#   tls_hrr.py ADDR PORT SNI1 SNI2 [--pipelined] [--early-data]
#
# Sends a ClientHello naming SNI1, reads the server's first record (the
# HelloRetryRequest of worldsrv.py's "hrr" server), then, as a client in
# middlebox compatibility mode does, a ChangeCipherSpec and a second
# ClientHello naming SNI2. With --pipelined all three go at once, before
# the server has answered. With --early-data a ChangeCipherSpec and an
# application_data record (0-RTT data, which a server skips after a retry)
# follow the first ClientHello at once. Prints the first line the server sends back
# ("sni2: NAME") or why there is none ("reset", "closed", "timeout");
# exits 0 only if a line came.
import argparse
import os
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tls_hello  # noqa: E402


def hello(name):
    return tls_hello.hello(argparse.Namespace(sni=[name], pq=False, ech=False,
                                              pad=0, records=1,
                                              dup_ext=False))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("addr")
    ap.add_argument("port", type=int)
    ap.add_argument("sni1")
    ap.add_argument("sni2")
    ap.add_argument("--pipelined", action="store_true")
    ap.add_argument("--early-data", action="store_true")
    a = ap.parse_args()
    ccs = b"\x14\x03\x03\x00\x01\x01"
    early = b""
    if a.early_data:
        early = ccs + b"\x17\x03\x03\x00\x40" + os.urandom(64)
        ccs = b""
    s = socket.create_connection((a.addr, a.port), timeout=3)
    try:
        if a.pipelined:
            s.sendall(hello(a.sni1) + early + ccs + hello(a.sni2))
        else:
            s.sendall(hello(a.sni1) + early)
        if True:
            hdr = b""
            while len(hdr) < 5:
                d = s.recv(5 - len(hdr))
                if not d:
                    print("closed")
                    return 1
                hdr += d
            left = struct.unpack("!H", hdr[3:5])[0]
            while left:
                d = s.recv(left)
                if not d:
                    print("closed")
                    return 1
                left -= len(d)
            if not a.pipelined:
                s.sendall(ccs + hello(a.sni2))
        buf = b""
        while b"\n" not in buf:
            d = s.recv(4096)
            if not d:
                break
            buf += d
        if b"\n" in buf:
            line = buf.split(b"\n")[0].decode("ascii", "replace")
            if line.startswith("sni2:"):
                print(line)
                return 0
            print(line)
            return 1
        print("closed")
        return 1
    except ConnectionResetError:
        print("reset")
        return 1
    except socket.timeout:
        print("timeout")
        return 1
    finally:
        s.close()


if __name__ == "__main__":
    sys.exit(main())
