#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# moat - per-sandbox networks enforced by the host kernel
#
# tls_hello.py - build TLS 1.3 ClientHellos for tests, corpora and attacks
#
# Writes to stdout the bytes a client would send first: a ClientHello with
# the options asked for, optionally split across several TLS records.
#   --sni NAME        server_name (repeatable: several host_name entries)
#   --pq              an X25519MLKEM768-sized key share (1216 + 32 bytes),
#                     what post-quantum clients send (hello > one packet)
#   --ech             an encrypted_client_hello extension (outer SNI kept)
#   --pad N           a padding extension of N bytes (oversized hellos)
#   --records N       split the handshake message across N records
#   --dup-ext         repeat the server_name extension (malformed)
import argparse
import os
import struct
import sys


def u8(b):
    return struct.pack("!B", len(b)) + b


def u16(b):
    return struct.pack("!H", len(b)) + b


def ext(t, data):
    return struct.pack("!H", t) + u16(data)


def hello(args):
    exts = b""
    if args.sni:
        names = b"".join(b"\x00" + u16(n.encode()) for n in args.sni)
        sni = ext(0, u16(names))
        exts += sni
        if args.dup_ext:
            exts += sni
    exts += ext(10, u16(b"\x11\xec\x00\x1d\x00\x17"))          # groups
    exts += ext(13, u16(b"\x04\x03\x08\x04\x04\x01"))          # sig algs
    exts += ext(43, u8(b"\x03\x04\x03\x03"))                   # versions
    shares = b"\x00\x1d" + u16(os.urandom(32))
    if args.pq:
        shares = b"\x11\xec" + u16(os.urandom(1216 + 32)) + shares
    exts += ext(51, u16(shares))                               # key_share
    if args.ech:
        exts += ext(0xfe0d, b"\x00\x00\x01\x00\x01\x2a" + u16(os.urandom(32))
                    + u16(os.urandom(200)))
    if args.pad:
        exts += ext(21, bytes(args.pad))
    body = (b"\x03\x03" + os.urandom(32) + u8(os.urandom(32))
            + u16(b"\x13\x01\x13\x02\x13\x03") + u8(b"\x00") + u16(exts))
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    n = max(1, args.records)
    step = -(-len(hs) // n)
    out = b""
    for i in range(0, len(hs), step):
        frag = hs[i:i + step]
        out += b"\x16\x03\x01" + struct.pack("!H", len(frag)) + frag
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sni", action="append", default=[])
    ap.add_argument("--pq", action="store_true")
    ap.add_argument("--ech", action="store_true")
    ap.add_argument("--pad", type=int, default=0)
    ap.add_argument("--records", type=int, default=1)
    ap.add_argument("--dup-ext", action="store_true")
    sys.stdout.buffer.write(hello(ap.parse_args()))


if __name__ == "__main__":
    main()
