#!/usr/bin/python3
"""raw-tls.py PORT CAFILE USER PASS FROM RCPT FILE: the bare TLS connection's throughput.

Makes the submission a client would make over implicit TLS to 127.0.0.1:PORT (as "localhost",
verified against CAFILE), AUTH PLAIN, and sends FILE (CRLF line ends) as it is in one
BDAT LAST, in 256 KiB writes, with nothing read or changed on the way: what the same
connection carries when the client does no work of its own. Prints the seconds from connect
to the reply that took the message. Exits 1 if the server did not take it.
"""

import base64
import os
import socket
import ssl
import sys
import time


def main():
    port, ca, user, password, sender, rcpt, path = sys.argv[1:8]
    ctx = ssl.create_default_context(cafile=ca)
    t0 = time.perf_counter()
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(port))),
                        server_hostname="localhost")
    f = s.makefile("rb")

    def reply():
        while True:
            line = f.readline()
            if not line:
                sys.exit("raw-tls.py: the server closed the connection")
            if line[3:4] != b"-":
                return line

    def ok(line, want):
        if not line.startswith(want):
            sys.exit("raw-tls.py: unexpected reply %r" % line)

    ok(reply(), b"220")
    s.sendall(b"EHLO bench.example\r\n")
    ok(reply(), b"250")
    token = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode())
    s.sendall(b"AUTH PLAIN " + token + b"\r\n")
    ok(reply(), b"235")
    size = os.path.getsize(path)
    s.sendall(b"MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nBDAT %d LAST\r\n"
              % (sender.encode(), rcpt.encode(), size))
    with open(path, "rb") as m:
        while True:
            chunk = m.read(262144)
            if not chunk:
                break
            s.sendall(chunk)
    ok(reply(), b"250")
    ok(reply(), b"250")
    ok(reply(), b"250")
    print("%.6f" % (time.perf_counter() - t0))
    s.close()


if __name__ == "__main__":
    main()
