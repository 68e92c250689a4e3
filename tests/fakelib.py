"""fakelib: what the test servers tests/fakesmtp.py, tests/saslsmtp.py and tests/rawsmtp.py share.

tests/lib/common.bash starts each of them the same way (fake_start: --outdir, --port-file) and
reads what they record the same way (client_lines, json_get), so the options, the port file and
the records are defined here once:

  add_server_args(parser, hostname)  --outdir --port-file --listen --port --hostname --tls
                                     --cert --key
  check_server_args(parser, conf)    --listen must be a loopback IP address; --tls needs
                                     --cert and --key (parser.error, exit status 2)
  write_port_file(path, port)        the port through a temporary file and rename, so a reader
                                     never sees half a number; without a path, on stdout
  user_pairs(values, prog, option, form)
                                     "NAME:SECRET" arguments as {bytes: bytes}
  Recorder(outdir)                   the files in --outdir, safe to use from several threads:
    transcript.log  "CONN MODE LINE" per line the client sent outside a message body (MODE
                    plain or tls); created empty at start, so empty means nothing was sent
    session.log     both directions ("C:" / "S:") and events ("--"), for humans
    msg-N.eml       each accepted message, N = 1, 2, ...; msg-N.json its metadata, with "n"
                    and "size" added; both written to a temporary file and renamed
"""

import ipaddress
import json
import os
import threading


def add_server_args(p, hostname):
    p.add_argument("--outdir", required=True)
    p.add_argument("--port-file")
    p.add_argument("--listen", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--hostname", default=hostname)
    p.add_argument("--tls", choices=("none", "starttls", "implicit"), default="none")
    p.add_argument("--cert")
    p.add_argument("--key")


def check_server_args(p, conf):
    # a test server answers whatever it is told to: never on an address others can reach
    try:
        if not ipaddress.ip_address(conf.listen).is_loopback:
            p.error("--listen must be a loopback address")
    except ValueError:
        p.error("--listen must be a loopback IP address")
    if conf.tls != "none" and not (conf.cert and conf.key):
        p.error(f"--tls {conf.tls} needs --cert and --key")


def write_port_file(path, port):
    if not path:
        print(port, flush=True)
        return
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(f"{port}\n")
    os.rename(tmp, path)


def user_pairs(values, prog, option, form):
    pairs = {}
    for v in values:
        name, sep, secret = v.partition(":")
        if not sep:
            raise SystemExit(f"{prog}: {option} wants {form}, got {v!r}")
        pairs[name.encode("utf-8")] = secret.encode("utf-8")
    return pairs


class Recorder:
    """Everything written to --outdir (the format tests/lib/common.bash reads)."""

    def __init__(self, outdir):
        self.outdir = outdir
        os.makedirs(outdir, exist_ok=True)
        self.lock = threading.Lock()
        self.transcript = open(os.path.join(outdir, "transcript.log"), "ab", buffering=0)
        self.session = open(os.path.join(outdir, "session.log"), "ab", buffering=0)
        self.connections = 0
        self.messages = 0

    def new_connection(self):
        """The number of a new connection, counting from 1."""
        with self.lock:
            self.connections += 1
            return self.connections

    def client_line(self, conn, tls, line):
        """A line the client sent, without its line end."""
        with self.lock:
            self.transcript.write(b"%d %s %s\n" % (conn, b"tls" if tls else b"plain", line))
            self.session.write(b"%d C: %s\n" % (conn, line))

    def server_bytes(self, conn, data, raw=False):
        """What the server sent: reply lines, or (raw) bytes shown as they are."""
        with self.lock:
            if raw:
                shown = repr(data if len(data) <= 400 else data[:400] + b"...").encode()
                self.session.write(b"%d S(raw): %s (%d bytes)\n" % (conn, shown, len(data)))
                return
            for line in data.split(b"\r\n"):
                if line:
                    self.session.write(b"%d S: %s\n" % (conn, line))

    def event(self, conn, text):
        with self.lock:
            self.session.write(b"%d -- %s\n" % (conn, text.encode("utf-8", "replace")))

    def _atomic(self, name, data):
        path = os.path.join(self.outdir, name)
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, path)

    def message(self, content, meta):
        """Records an accepted message; returns its number."""
        with self.lock:
            self.messages += 1
            n = self.messages
        meta = dict(meta, n=n, size=len(content))
        self._atomic(f"msg-{n}.eml", content)
        self._atomic(f"msg-{n}.json", (json.dumps(meta, indent=1, sort_keys=True) + "\n").encode())
        return n
