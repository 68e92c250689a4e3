#!/usr/bin/python3
"""A /dev/log for the tests: receives syslog datagrams on a Unix socket and appends each to a
file as one line, flushed at once (a datagram's own backslashes and newlines are written as \\\\
and \\n, so that one datagram is always one line).

    syslogsink.py SOCKET FILE

The socket is bound under a temporary name and renamed into place, so once SOCKET exists it is
ready. It runs until it is killed."""
import os
import socket
import sys

sock_path, out_path = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sock_path + ".new")
os.chmod(sock_path + ".new", 0o666)
with open(out_path, "ab", buffering=0) as out:
    os.rename(sock_path + ".new", sock_path)
    while True:
        data = s.recv(1 << 20)
        out.write(data.replace(b"\\", b"\\\\").replace(b"\n", b"\\n") + b"\n")
