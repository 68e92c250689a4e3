#!/usr/bin/python3
"""Loopback TCP proxy that counts round trips per connection.

usage: rtt-proxy.py TARGET_PORT LOGFILE PORTFILE [TARGET_HOST]

Listens on 127.0.0.1 on a free port (written to PORTFILE once listening), relays every
connection to TARGET_HOST:TARGET_PORT (default 127.0.0.1) and, when a connection ends, appends
one line to LOGFILE:

    conn=N round_trips=K waits=W c2s_bytes=B s2c_bytes=B seconds=S

A wait is counted each time the traffic direction turns from server->client to client->server,
or the client closes its side right after the server spoke: the client waited for something
from the server, then spoke or left. The greeting's wait counts, and so does the wait for the
last reply before the client closes (whether it then sends QUIT, a TLS close_notify or only its
FIN). round_trips is W + 1: the TCP handshake before the client can send anything.
Bytes are counted as the proxy reads them, so a client that writes while the server is still
sending is counted as having waited; on loopback such overlaps are rare. TLS is relayed as
opaque bytes, so handshake round trips are included.
Runs until SIGTERM or SIGINT.
"""

import os
import signal
import socket
import sys
import threading
import time


class Conn:
    def __init__(self, n):
        self.n = n
        self.lock = threading.Lock()
        self.last = None  # "c2s" or "s2c"
        self.turns = 0
        self.bytes = {"c2s": 0, "s2c": 0}
        self.start = time.monotonic()

    def saw(self, direction, count):
        with self.lock:
            if direction == "c2s" and self.last == "s2c":
                self.turns += 1
            self.last = direction
            self.bytes[direction] += count


def pump(src, dst, conn, direction, done):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                if direction == "c2s":
                    conn.saw(direction, 0)  # the client left after the server spoke
                break
            conn.saw(direction, len(data))
            dst.sendall(data)
    except OSError:
        pass
    finally:
        # Pass the half-close on so the other side sees EOF as it would without the proxy.
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        done.release()


def serve(client, target, conn, log, log_lock):
    try:
        server = socket.create_connection(target)
    except OSError as e:
        client.close()
        with log_lock:
            log.write("conn=%d error=%s\n" % (conn.n, e))
            log.flush()
        return
    for s in (client, server):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    done = threading.Semaphore(0)
    threading.Thread(target=pump, args=(client, server, conn, "c2s", done), daemon=True).start()
    threading.Thread(target=pump, args=(server, client, conn, "s2c", done), daemon=True).start()
    done.acquire()
    done.acquire()
    client.close()
    server.close()
    with log_lock:
        log.write(
            "conn=%d round_trips=%d waits=%d c2s_bytes=%d s2c_bytes=%d seconds=%.3f\n"
            % (conn.n, conn.turns + 1, conn.turns, conn.bytes["c2s"], conn.bytes["s2c"],
               time.monotonic() - conn.start)
        )
        log.flush()


def main():
    if len(sys.argv) not in (4, 5):
        sys.stderr.write(__doc__)
        return 64
    target = (sys.argv[4] if len(sys.argv) == 5 else "127.0.0.1", int(sys.argv[1]))
    log = open(sys.argv[2], "a", buffering=1)
    log_lock = threading.Lock()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))

    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(16)
    tmp = sys.argv[3] + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % lsock.getsockname()[1])
    os.rename(tmp, sys.argv[3])

    n = 0
    while True:
        client, _ = lsock.accept()
        n += 1
        threading.Thread(
            target=serve, args=(client, target, Conn(n), log, log_lock), daemon=True
        ).start()


if __name__ == "__main__":
    sys.exit(main())
