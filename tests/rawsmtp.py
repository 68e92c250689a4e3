#!/usr/bin/python3
"""rawsmtp: a hostile SMTP server at the byte level, for what a real SMTP library cannot be made
to do. It accepts connections on a loopback port (written to --port-file through a rename) and
plays one scenario on each:

  trickle    "220-" greeting lines of 6 bytes sent one byte a second, forever: every line
             comes quicker than a timeout of 8 s, the reply never ends
  midreply   "220-half a greeting\r\n", then it closes the connection
  longline   a greeting line of --size bytes (default 1 MiB) without a line end
  code CODE  a greeting "CODE text\r\n" (e.g. 199 or 600), then it waits

It stops on SIGTERM.
"""
import argparse
import os
import signal
import socket
import sys
import threading
import time

import fakelib


def serve(conn, args):
    try:
        if args.scenario == "trickle":
            while True:
                for b in b"220-\r\n":
                    conn.sendall(bytes([b]))
                    time.sleep(1)
        elif args.scenario == "midreply":
            conn.sendall(b"220-half a greeting\r\n")
        elif args.scenario == "longline":
            chunk = b"x" * 65536
            left = args.size
            conn.sendall(b"220 ")
            while left > 0:
                conn.sendall(chunk[:left])
                left -= len(chunk)
            time.sleep(30)
        elif args.scenario == "code":
            conn.sendall(("%s not a real greeting\r\n" % args.code).encode())
            time.sleep(30)
    except OSError:
        pass
    finally:
        conn.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("scenario", choices=["trickle", "midreply", "longline", "code"])
    p.add_argument("code", nargs="?", default="600")
    p.add_argument("--port-file", required=True)
    p.add_argument("--outdir")  # accepted for fake_start; nothing is recorded
    p.add_argument("--size", type=int, default=1 << 20)
    args = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    fakelib.write_port_file(args.port_file, s.getsockname()[1])
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve, args=(conn, args), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
