# SPDX-License-Identifier: GPL-2.0-or-later
"""tests/lib/hold.py ADDR PORT SOCK [tcp|udp] - a held connection, poked

Connects to ADDR:PORT (TCP: reads the server's first line, its token;
UDP: a connected socket), then, for each connection on the Unix socket
SOCK, sends a numbered line on the held connection and answers "OK" if
it came back within 2 s, else "FAIL" (the connection is kept either way;
the world's UDP servers answer from the same port: one conntrack entry).
Used by test scripts to show that an established connection survives,
or is cut by, a change of moat's rules.
"""
import socket
import sys

addr, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
proto = sys.argv[4] if len(sys.argv) > 4 else "tcp"
if proto == "udp":
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    c = socket.socket(fam, socket.SOCK_DGRAM)
    c.connect((addr, port))
else:
    c = socket.create_connection((addr, port), timeout=3)
    c.recv(256)                         # the server's token
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(4)
n = 0
while True:
    k, _ = srv.accept()
    n += 1
    line = b"poke-%d\n" % n
    res = b"FAIL"
    try:
        c.settimeout(2)
        c.sendall(line)
        buf = b""
        while line not in buf:
            d = c.recv(2048)
            if not d:
                break
            buf += d
        if line in buf:
            res = b"OK"
    except OSError:
        pass
    k.sendall(res)
    k.close()
