#!/usr/bin/python3
"""hostilesmtp: an SMTP server that breaks the protocol in the middle of a transaction, where a
real SMTP library will not: one scenario per run, after a plain happy path (EHLO, STARTTLS with
--tls starttls, AUTH PLAIN with any credentials after TLS, MAIL and RCPT answered 250):

  tls-garbage  after the final dot, bytes that are not a TLS record go straight to the TCP
               socket instead of the reply (what an on-path attacker who cannot read or forge
               TLS can inject); needs --tls starttls
  stray        DATA is answered "354" and, in the same write, a "250" nobody asked for; the
               final dot then gets "554 5.7.1 rejected"

Options as fake_start (tests/lib/common.bash) passes them: --port-file, --outdir (each message
that reached its final dot is counted, one line in OUTDIR/dots), --tls none|starttls, --cert,
--key. It stops on SIGTERM."""
import argparse
import os
import select
import signal
import socket
import ssl
import sys
import threading


def serve(conn, args, ctx):
    f = conn.makefile("rb")
    w = conn.sendall
    try:
        w(b"220 tlsinject ESMTP\r\n")
        while True:
            line = f.readline()
            if not line:
                return
            cmd = line.upper()
            if cmd.startswith(b"EHLO"):
                if isinstance(conn, ssl.SSLSocket) or args.tls == "none":
                    w(b"250-tlsinject\r\n250-PIPELINING\r\n250 AUTH PLAIN\r\n")
                else:
                    w(b"250-tlsinject\r\n250 STARTTLS\r\n")
            elif cmd.startswith(b"STARTTLS"):
                w(b"220 go ahead\r\n")
                conn = ctx.wrap_socket(conn, server_side=True)
                f = conn.makefile("rb")
                w = conn.sendall
            elif cmd.startswith(b"AUTH"):
                w(b"235 2.7.0 ok\r\n")
            elif cmd.startswith(b"DATA"):
                w(b"354 go ahead\r\n250 2.0.0 stray\r\n" if args.scenario == "stray"
                  else b"354 go ahead\r\n")
                while f.readline() not in (b".\r\n", b""):
                    pass
                with open(os.path.join(args.outdir, "dots"), "a") as d:
                    d.write("1\n")
                if args.scenario == "stray":
                    w(b"554 5.7.1 rejected\r\n")
                    continue
                # the TLS socket's own descriptor, under the TLS layer
                fd = conn.fileno()
                os.write(fd, b"\x17\x03\x03\x00\x20" + os.urandom(32))
                # keep the connection open: the client must meet the record, not an early end
                select.select([fd], [], [], 30)
                return
            elif cmd.startswith(b"QUIT"):
                w(b"221 bye\r\n")
                return
            else:
                w(b"250 ok\r\n")
    except (OSError, ssl.SSLError):
        pass
    finally:
        conn.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("scenario", choices=["tls-garbage", "stray"])
    p.add_argument("--port-file", required=True)
    p.add_argument("--outdir", required=True)
    p.add_argument("--tls", default="starttls")
    p.add_argument("--cert")
    p.add_argument("--key")
    args = p.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    ctx = None
    if args.tls != "none":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    os.rename(tmp, args.port_file)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve, args=(conn, args, ctx), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
