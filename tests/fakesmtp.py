#!/usr/bin/python3
"""fakesmtp: a scriptable SMTP submission server for postbote's fault-injection tests.

Built on aiosmtpd (run it with /usr/bin/python3, which sees Debian's python3-aiosmtpd).
It listens on a loopback address only, on a port chosen by the kernel, and writes that port
to --port-file (through a temporary file and rename, so a reader never sees half a number).
It runs until SIGTERM or SIGINT and then exits with status 0.

Usage: fakesmtp.py --outdir DIR [--port-file FILE] [options]
(without --port-file the port is printed on stdout)

Listening and TLS
  --listen ADDR          loopback address to bind (default 127.0.0.1; ::1 works too)
  --port N               port to bind (default 0: let the kernel choose)
  --hostname NAME        name in the greeting and the EHLO reply (default fakesmtp.test)
  --tls MODE             none (default) | starttls | implicit (TLS from the first byte)
  --cert FILE --key FILE server certificate chain and key (PEM), needed for starttls/implicit
  --tls-group NAME       the one group the server takes for the key exchange (an OpenSSL
                         curve name, e.g. prime256v1); default: OpenSSL's list
  --no-starttls          with --tls starttls: do not advertise STARTTLS (the command still works)
  --starttls-optional    with --tls starttls: allow MAIL etc. before STARTTLS (default: 530)
  --raw-after-starttls B send the bytes B right after "220 Ready to start TLS\\r\\n", in the
                         same write (the STARTTLS response-injection attack)

Authentication
  --auth USER:PASS       accept this user (repeatable; the password may contain ':').
                         With at least one user, AUTH is required before MAIL
                         (unless --auth-optional).
  --auth-mechs "M ..."   mechanisms advertised, in this order (default "PLAIN LOGIN CRAM-MD5").
                         Implemented: PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1, SCRAM-SHA-256.
                         Any other name is advertised but answered with 504 (e.g. GSSAPI).
                         Implemented mechanisms not listed are answered with 504 too.
  --auth-optional        do not require AUTH before MAIL
  --auth-plain-ok        offer and accept AUTH without TLS (STARTTLS is then not required either)

Capabilities
  --no-pipelining        do not advertise PIPELINING (it is advertised by default)
  --size N               advertise SIZE N and enforce it (default 33554432; 0: no SIZE at all)
  --no-8bitmime          do not advertise 8BITMIME
  --smtputf8             advertise SMTPUTF8 and accept UTF-8 in commands
  --ehlo-extra KEYWORD   one more EHLO capability line (repeatable)
  --chunking             advertise CHUNKING and take BDAT (RFC 3030): each chunk is read whole,
                         whatever the reply; the reply to the LAST chunk is EOM's (the message is
                         recorded as with DATA, not unstuffed); without an accepted recipient
                         every chunk gets 554.  --reply BDAT=TEXT answers the chunks before LAST.
                         msg-N.json then has "chunks": the size of each chunk

Scripted faults.  CMD is one of GREETING EHLO HELO STARTTLS AUTH MAIL RCPT DATA EOM RSET NOOP
QUIT VRFY HELP BDAT, where DATA is the reply to the DATA command (instead of 354), EOM the reply
after the final dot, and GREETING the banner.  TEXT and BYTES understand the escapes \\r \\n
\\t \\\\ and \\xHH; write "550-a\\r\\n550 b" for a multi-line reply.
  --reply CMD=TEXT       answer CMD with TEXT (a CRLF is appended).  A 2xx text for EHLO, MAIL,
                         RCPT, AUTH or EOM still performs the command (only the text differs);
                         a 421 reply closes the connection after it is sent; after a non-2xx
                         greeting every command but QUIT gets 503.  For AUTH the reply comes
                         after the mechanism's exchange, whatever the credentials.
  --reply-rcpt ADDR=TEXT answer RCPT TO:<ADDR> with TEXT (overrides --reply RCPT=)
  --raw-reply CMD=BYTES  send BYTES as they are instead of the reply (no CRLF is added);
                         BYTES=@FILE sends the contents of FILE
  --delay CMD=SECONDS    wait before answering CMD (GREETING: before the banner)
  --drop CMD             close the connection when CMD arrives, without answering.  Also:
                         DATA-BODY closes it after 354 and the first line of the message,
                         AFTER-STARTTLS closes it right after "220 Ready to start TLS",
                         EOM closes it after the final dot, GREETING instead of the banner.

Records in --outdir DIR (created if missing):
  msg-N.eml       each accepted message (N = 1, 2, ...): the DATA bytes exactly as received,
                  after dot-unstuffing, CRLF preserved
  msg-N.json      its envelope: mail_from, rcpt_tos, mail_options, rcpt_options, helo,
                  helo_command (EHLO or HELO), auth_user, auth_mechanism, auth_tls (TLS was
                  active at AUTH), tls, tls_version, tls_cipher, tls_resumed (the client
                  resumed a session with a ticket of an earlier connection), tls_key_shares (the
                  groups of the key shares in the client's TLS 1.3 ClientHello), size, connection, and
                  pipelined_after (commands after which the client's next bytes were
                  already waiting, i.e. the client did not wait for the reply)
  transcript.log  every line the client sent outside the message body, AUTH payloads verbatim,
                  one per line as "CONN MODE LINE" where CONN counts connections from 1 and
                  MODE is "plain" or "tls" (the state when the line was read).  Created empty
                  at start, so an empty file means nothing was ever sent.
  session.log     for humans: both directions ("C:" / "S:") and events ("--")
  --debug         aiosmtpd's own log on stderr
Exit status: 0 after SIGTERM/SIGINT; 2 for bad options.
"""

import argparse
import asyncio
import base64
import functools
import hashlib
import hmac
import logging
import re
import secrets
import signal
import ssl
import sys
import time
import warnings

from aiosmtpd.smtp import MISSING, SMTP, AuthResult, auth_mechanism

import fakelib

COMMANDS = {"GREETING", "EHLO", "HELO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "EOM",
            "RSET", "NOOP", "QUIT", "VRFY", "HELP", "BDAT"}
DROP_POINTS = COMMANDS | {"DATA-BODY", "AFTER-STARTTLS"}
# Their scripted reply is given by a handler hook, so that a 2xx reply still does the work.
HOOKED = {"EHLO", "MAIL", "RCPT", "AUTH", "EOM", "GREETING", "BDAT"}
IMPLEMENTED_MECHS = ("PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256")
STARTTLS_READY = b"220 Ready to start TLS"


class Raw(bytes):
    """Bytes sent exactly as they are: no CRLF added."""


class Scripted(bytes):
    """A reply from --reply; a 421 closes the connection after it is sent."""


def unescape(text):
    """The escapes \\r \\n \\t \\\\ \\xHH of a command-line argument, as bytes."""
    raw = text.encode("utf-8", "surrogateescape")
    simple = {b"r": b"\r", b"n": b"\n", b"t": b"\t", b"\\": b"\\", b"0": b"\0"}

    def one(m):
        s = m.group(1)
        if s[:1] == b"x":
            return bytes([int(s[1:], 16)])
        if s in simple:
            return simple[s]
        raise ValueError("unknown escape \\" + s.decode("latin-1"))
    return re.sub(rb"\\(x[0-9A-Fa-f]{2}|.)", one, raw, flags=re.S)


def split_pair(value, option):
    key, sep, rest = value.partition("=")
    if not sep or not key:
        raise SystemExit(f"fakesmtp: {option} wants NAME=VALUE, got {value!r}")
    return key, rest


def command_name(name, option, allowed):
    up = name.upper()
    if up not in allowed:
        raise SystemExit(f"fakesmtp: {option}: unknown command {name!r}; "
                         f"known: {' '.join(sorted(allowed))}")
    return up


class Script:
    """The faults asked for on the command line."""

    def __init__(self, args):
        self.replies = {}
        for v in args.reply:
            k, text = split_pair(v, "--reply")
            self.replies[command_name(k, "--reply", COMMANDS)] = Scripted(unescape(text))
        for v in args.raw_reply:
            k, data = split_pair(v, "--raw-reply")
            k = command_name(k, "--raw-reply", COMMANDS)
            if k in self.replies:
                raise SystemExit(f"fakesmtp: both --reply and --raw-reply for {k}")
            if data.startswith("@"):
                with open(data[1:], "rb") as f:
                    self.replies[k] = Raw(f.read())
            else:
                self.replies[k] = Raw(unescape(data))
        self.rcpt_replies = {}
        for v in args.reply_rcpt:
            addr, text = split_pair(v, "--reply-rcpt")
            self.rcpt_replies[addr.strip("<>").lower()] = Scripted(unescape(text))
        self.delays = {}
        for v in args.delay:
            k, secs = split_pair(v, "--delay")
            self.delays[command_name(k, "--delay", COMMANDS)] = float(secs)
        self.drops = {command_name(k, "--drop", DROP_POINTS) for k in args.drop}
        self.after_starttls = unescape(args.raw_after_starttls) if args.raw_after_starttls else b""

    def reply(self, cmd):
        return self.replies.get(cmd)


def b64d(data):
    return base64.b64decode(data, validate=True)


class Handler:
    """aiosmtpd hooks: capabilities, scripted replies, custom AUTH mechanisms, recording."""

    def __init__(self, conf, script, rec, users):
        self.conf = conf
        self.script = script
        self.rec = rec
        self.users = users

    # -- EHLO --------------------------------------------------------------------------
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        scripted = self.script.reply("EHLO")
        if isinstance(scripted, Raw):
            return [scripted]
        if scripted is not None:
            if scripted[:1] == b"2":
                session.host_name = hostname
                server.helo_command = "EHLO"
            return [Scripted(line) for line in scripted.split(b"\r\n")]
        session.host_name = hostname
        server.helo_command = "EHLO"
        c = self.conf
        caps = []
        if not c.no_pipelining:
            caps.append("PIPELINING")
        if c.size:
            caps.append(f"SIZE {c.size}")
        if not c.no_8bitmime:
            caps.append("8BITMIME")
        if c.smtputf8:
            caps.append("SMTPUTF8")
        if c.tls == "starttls" and not c.no_starttls and not server.is_tls():
            caps.append("STARTTLS")
        if (self.users or c.auth_mechs_given) and (server.is_tls() or c.auth_plain_ok):
            caps.append("AUTH " + " ".join(c.auth_mechs))
        if c.chunking:
            caps.append("CHUNKING")
        caps.extend(c.ehlo_extra)
        caps.append("HELP")
        lines = [self.conf.hostname] + caps
        return [("250-" if i < len(lines) - 1 else "250 ") + x for i, x in enumerate(lines)]

    async def handle_HELO(self, server, session, envelope, hostname):
        server.helo_command = "HELO"
        return MISSING

    # -- MAIL / RCPT -------------------------------------------------------------------
    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        r = self.script.reply("MAIL")
        if r is None:
            return MISSING
        if r[:1] == b"2" and not isinstance(r, Raw):
            envelope.mail_from = address
            envelope.mail_options.extend(mail_options)
        return r

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        r = self.script.rcpt_replies.get(address.lower(), self.script.reply("RCPT"))
        if r is None:
            return MISSING
        if r[:1] == b"2" and not isinstance(r, Raw):
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(rcpt_options)
        return r

    # -- end of message ----------------------------------------------------------------
    async def handle_DATA(self, server, session, envelope):
        s = self.script
        if "EOM" in s.delays:
            await asyncio.sleep(s.delays["EOM"])
        if "EOM" in s.drops:
            await server.drop("after the final dot")
        r = s.reply("EOM")
        if r is not None and (isinstance(r, Raw) or r[:1] != b"2"):
            return r
        ssl_object = server.ssl_object()
        meta = {
            "connection": server.conn,
            "helo": session.host_name,
            "helo_command": server.helo_command,
            "mail_from": envelope.mail_from,
            "mail_options": envelope.mail_options,
            "rcpt_tos": envelope.rcpt_tos,
            "rcpt_options": envelope.rcpt_options,
            "auth_user": server.auth_user,
            "auth_mechanism": server.auth_mech,
            "auth_tls": server.auth_tls,
            "tls": ssl_object is not None,
            "tls_version": ssl_object.version() if ssl_object else None,
            "tls_cipher": ssl_object.cipher()[0] if ssl_object else None,
            "tls_resumed": ssl_object.session_reused if ssl_object else None,
            "tls_key_shares": KEY_SHARES.get(id(ssl_object)) if ssl_object else None,
            "pipelined_after": server.pipelined_after,
        }
        if server.chunks is not None:
            meta["chunks"] = server.chunks
        n = self.rec.message(envelope.original_content, meta)
        server.event(f"message {n} recorded ({len(envelope.original_content)} bytes)")
        return r if r is not None else f"250 2.0.0 Ok: queued as msg-{n}"

    # -- AUTH --------------------------------------------------------------------------
    def finish_auth(self, server, mechanism, user, ok):
        """The AuthResult for a finished exchange, scripted reply first."""
        if ok:
            server.auth_user = user.decode("utf-8", "replace")
            server.auth_mech = mechanism
            server.auth_tls = server.is_tls()
        server.event(f"AUTH {mechanism} user={user!r} {'ok' if ok else 'failed'}")
        r = self.script.reply("AUTH")
        if r is not None:
            return AuthResult(success=(r[:1] == b"2" and not isinstance(r, Raw)),
                              handled=False, message=r)
        return AuthResult(success=ok, handled=False)

    def authenticator(self, server, session, envelope, mechanism, auth_data):
        """PLAIN and LOGIN, after aiosmtpd has decoded them."""
        login, password = auth_data.login, auth_data.password
        ok = login in self.users and hmac.compare_digest(self.users[login], password)
        return self.finish_auth(server, mechanism, login, ok)

    @auth_mechanism("CRAM-MD5")
    async def auth_cram_md5(self, server, args):
        if len(args) != 1:
            await server.push("501 5.5.2 CRAM-MD5 takes no initial response")
            return AuthResult(success=False, handled=True)
        challenge = f"<{secrets.randbelow(10**9)}.{int(time.time())}@{self.conf.hostname}>"
        answer = await server.challenge_auth(challenge.encode())
        if answer is MISSING:
            return AuthResult(success=False, handled=True)
        user, _, digest = answer.rpartition(b" ")
        ok = False
        if user in self.users:
            want = hmac.new(self.users[user], challenge.encode(), hashlib.md5).hexdigest()
            ok = hmac.compare_digest(want.encode(), digest.lower())
        return self.finish_auth(server, "CRAM-MD5", user, ok)

    async def _scram(self, server, args, mech, hname):
        """RFC 5802 server side, without channel binding; 4096 iterations."""
        if len(args) == 2:
            try:
                first = b64d(args[1])
            except ValueError:
                await server.push("501 5.5.2 Can't decode base64")
                return AuthResult(success=False, handled=True)
        else:
            first = await server.challenge_auth(b"")
            if first is MISSING:
                return AuthResult(success=False, handled=True)
        m = re.fullmatch(rb"([ny]),(?:a=[^,]*)?,(n=([^,]*),r=([^,]+)(?:,.*)?)", first, re.S)
        if not m:
            await server.push("501 5.5.2 bad SCRAM client-first message")
            return AuthResult(success=False, handled=True)
        gs2 = first[:len(first) - len(m.group(2))]
        bare, user, cnonce = m.group(2), m.group(3), m.group(4)
        user = user.replace(b"=2C", b",").replace(b"=3D", b"=")
        salt, iterations = secrets.token_bytes(16), 4096
        nonce = cnonce + base64.b64encode(secrets.token_bytes(18))
        server_first = b"r=%s,s=%s,i=%d" % (nonce, base64.b64encode(salt), iterations)
        final = await server.challenge_auth(server_first)
        if final is MISSING:
            return AuthResult(success=False, handled=True)
        m = re.fullmatch(rb"(c=([^,]*),r=([^,]*)(?:,.*)?),p=([^,]+)", final, re.S)
        ok = False
        server_signature = None
        if m and m.group(3) == nonce and user in self.users:
            try:
                cbind = b64d(m.group(2))
                proof = b64d(m.group(4))
            except ValueError:
                cbind = proof = b""
            salted = hashlib.pbkdf2_hmac(hname, self.users[user], salt, iterations)
            client_key = hmac.new(salted, b"Client Key", hname).digest()
            stored_key = hashlib.new(hname, client_key).digest()
            auth_message = bare + b"," + server_first + b"," + m.group(1)
            client_sig = hmac.new(stored_key, auth_message, hname).digest()
            if cbind == gs2 and len(proof) == len(client_sig):
                recovered = bytes(a ^ b for a, b in zip(proof, client_sig))
                ok = hmac.compare_digest(hashlib.new(hname, recovered).digest(), stored_key)
            server_key = hmac.new(salted, b"Server Key", hname).digest()
            server_signature = hmac.new(server_key, auth_message, hname).digest()
        if ok:
            last = await server.challenge_auth(b"v=" + base64.b64encode(server_signature))
            if last is MISSING:
                return AuthResult(success=False, handled=True)
        return self.finish_auth(server, mech, user, ok)

    @auth_mechanism("SCRAM-SHA-1")
    async def auth_scram_sha_1(self, server, args):
        return await self._scram(server, args, "SCRAM-SHA-1", "sha1")

    @auth_mechanism("SCRAM-SHA-256")
    async def auth_scram_sha_256(self, server, args):
        return await self._scram(server, args, "SCRAM-SHA-256", "sha256")


class FakeSMTP(SMTP):
    """One connection.  Adds the transcript tap, scripted faults and the injection attack."""

    AuthLoginUsernameChallenge = "Username:"
    AuthLoginPasswordChallenge = "Password:"

    def __init__(self, handler, **kwargs):
        self.fake = handler
        super().__init__(handler, **kwargs)
        self.conn = handler.rec.new_connection()
        self.helo_command = None
        self.auth_user = self.auth_mech = self.auth_tls = None
        self.pipelined_after = []
        self.greeting_pending = True
        self.refusing = False
        self.in_data = False
        self.chunks = None      # sizes of the BDAT chunks of the message under way
        self.chunk_data = []
        for cmd, method in list(self._smtp_methods.items()):
            self._smtp_methods[cmd] = self._wrap(cmd, method)

    # -- helpers -----------------------------------------------------------------------
    def ssl_object(self):
        t = self.transport
        return t.get_extra_info("ssl_object") if t is not None else None

    def is_tls(self):
        return self.ssl_object() is not None

    def event(self, text):
        self.fake.rec.event(self.conn, text)

    async def drop(self, where):
        self.event(f"dropping the connection {where}")
        if self.transport is not None:
            self.transport.close()
        raise asyncio.CancelledError()

    # -- reading: every line the client sends passes here -------------------------------
    def _client_connected_cb(self, reader, writer):
        super()._client_connected_cb(reader, writer)
        original = reader.readuntil

        async def readuntil(separator=b"\n"):
            line = await original(separator)
            self._client_line(line, reader)
            return line
        reader.readuntil = readuntil    # StreamReader.readline() goes through it too

    def _client_line(self, line, reader):
        if self.in_data:
            return
        body = line[:-2] if line.endswith(b"\r\n") else line.rstrip(b"\n")
        self.fake.rec.client_line(self.conn, self.is_tls(), body)
        if len(reader._buffer):
            word = line.split(None, 1)[0].upper().decode("ascii", "replace") if line.strip() else ""
            self.pipelined_after.append(word if word in COMMANDS else "(continuation)")

    # -- writing: every reply passes here ------------------------------------------------
    async def push(self, status):
        if isinstance(status, str):
            status = status.encode("utf-8" if self.enable_SMTPUTF8 else "ascii")
        if self.greeting_pending:
            self.greeting_pending = False
            status = await self._greeting(status)
        rec = self.fake.rec
        if isinstance(status, Raw):
            rec.server_bytes(self.conn, status, raw=True)
            self._writer.write(bytes(status))
            await self._writer.drain()
            return
        data = bytes(status) + b"\r\n"
        rec.server_bytes(self.conn, data)
        if bytes(status) == STARTTLS_READY:
            script = self.fake.script
            if "AFTER-STARTTLS" in script.drops:
                self._writer.write(data)
                await self._writer.drain()
                await self.drop("after 220 to STARTTLS")
            if script.after_starttls:
                rec.server_bytes(self.conn, script.after_starttls, raw=True)
                data += script.after_starttls
        self._writer.write(data)
        await self._writer.drain()
        if isinstance(status, Scripted) and status[:3] == b"421":
            await self.drop("after a 421 reply")

    async def _greeting(self, banner):
        script = self.fake.script
        peer = self.transport.get_extra_info("peername") if self.transport else None
        self.event(f"connection from {peer}, {'tls' if self.is_tls() else 'plain'}")
        if "GREETING" in script.delays:
            await asyncio.sleep(script.delays["GREETING"])
        if "GREETING" in script.drops:
            await self.drop("instead of the greeting")
        r = script.reply("GREETING")
        if r is None:
            return banner
        if r[:1] != b"2":
            self.refusing = True
        return r

    # -- commands -------------------------------------------------------------------------
    def _wrap(self, cmd, method):
        @functools.wraps(method)
        async def wrapped(arg):
            script = self.fake.script
            if self.refusing and cmd != "QUIT":
                return await self.push("503 5.5.1 Error: no valid greeting; send QUIT")
            if cmd in script.delays:
                await asyncio.sleep(script.delays[cmd])
            if cmd in script.drops:
                await self.drop(f"on {cmd}")
            r = script.reply(cmd)
            if r is not None and cmd not in HOOKED:
                return await self.push(r)
            if cmd != "DATA":
                return await method(arg)
            if "DATA-BODY" in script.drops and self.session.host_name and self.envelope.rcpt_tos:
                await self.push("354 End data with <CR><LF>.<CR><LF>")
                self.in_data = True
                await self._reader.readuntil(b"\r\n")
                await self.drop("in the middle of the message")
            self.in_data = True
            try:
                return await method(arg)
            finally:
                self.in_data = False
        return wrapped

    async def smtp_STARTTLS(self, arg):
        await super().smtp_STARTTLS(arg)
        if self.is_tls():
            o = self.ssl_object()
            self.event(f"TLS established: {o.version()} {o.cipher()[0]}")

    async def smtp_BDAT(self, arg):
        if not self.fake.conf.chunking:
            return await self.push('500 Error: command "BDAT" not recognized')
        m = re.fullmatch(r"(\d+)( +LAST)?", (arg or "").strip(), re.I)
        if not m:
            return await self.push("501 5.5.4 Syntax: BDAT size [LAST]")
        size, last = int(m.group(1)), bool(m.group(2))
        data = await self._reader.readexactly(size) if size else b""
        self.event(f"BDAT chunk of {size} bytes{' (LAST)' if last else ''}")
        if not self.envelope.rcpt_tos:
            self.chunks, self.chunk_data = None, []
            return await self.push("554 5.5.1 Error: no valid recipients")
        if self.chunks is None:
            self.chunks = []
        self.chunks.append(size)
        self.chunk_data.append(data)
        if not last:
            r = self.fake.script.reply("BDAT")
            return await self.push(r if r is not None else f"250 2.0.0 {size} bytes received")
        self.envelope.original_content = self.envelope.content = b"".join(self.chunk_data)
        try:
            status = await self.fake.handle_DATA(self, self.session, self.envelope)
        finally:
            self.chunks, self.chunk_data = None, []
            self._set_post_data_state()
        await self.push(status)

    async def smtp_RSET(self, arg):
        self.chunks, self.chunk_data = None, []
        await super().smtp_RSET(arg)

    def connection_lost(self, exc):
        # in session.log, where it falls among the replies: whether the client waited for one
        self.event("the client closed the connection")
        super().connection_lost(exc)

    async def handle_exception(self, error):
        cause = error.__cause__ or error
        self.event(f"{type(error).__name__}: {type(cause).__name__}: {cause}")
        return f"500 Error: ({type(error).__name__}) {error}"


# TLS 1.3 named groups by their number (RFC 8446 4.2.7)
GROUP_NAMES = {0x0017: "secp256r1", 0x0018: "secp384r1", 0x0019: "secp521r1",
               0x001d: "x25519", 0x001e: "x448", 0x0100: "ffdhe2048", 0x0101: "ffdhe3072"}

# id(ssl object) -> the groups of the key shares in its ClientHello
KEY_SHARES = {}


def client_hello_key_shares(hello):
    """The groups of the key_share extension of a ClientHello handshake message, in order."""
    try:
        p = 4 + 2 + 32                      # header, legacy_version, random
        p += 1 + hello[p]                   # legacy_session_id
        p += 2 + int.from_bytes(hello[p:p + 2], "big")  # cipher_suites
        p += 1 + hello[p]                   # legacy_compression_methods
        end = p + 2 + int.from_bytes(hello[p:p + 2], "big")
        p += 2
        while p + 4 <= end:
            ext = int.from_bytes(hello[p:p + 2], "big")
            n = int.from_bytes(hello[p + 2:p + 4], "big")
            body = hello[p + 4:p + 4 + n]
            p += 4 + n
            if ext != 51:
                continue
            groups, q = [], 2
            while q + 4 <= len(body):
                g = int.from_bytes(body[q:q + 2], "big")
                groups.append(GROUP_NAMES.get(g, "0x%04x" % g))
                q += 4 + int.from_bytes(body[q + 2:q + 4], "big")
            return groups
    except IndexError:
        pass
    return []


def tls_context(conf):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(conf.cert, conf.key)
    if conf.tls_group:
        ctx.set_ecdh_curve(conf.tls_group)

    def hello(conn, direction, version, content_type, msg_type, data):
        if direction == "read" and msg_type == ssl._TLSMessageType.CLIENT_HELLO:
            KEY_SHARES[id(conn)] = client_hello_key_shares(data)
    ctx._msg_callback = hello   # CPython's hook for handshake messages (3.8 and later)
    return ctx


async def serve(conf):
    script = Script(conf)
    users = fakelib.user_pairs(conf.auth, "fakesmtp", "--auth", "USER:PASS")
    rec = fakelib.Recorder(conf.outdir)
    handler = Handler(conf, script, rec, users)
    ctx = tls_context(conf) if conf.tls != "none" else None
    excluded = [m for m in IMPLEMENTED_MECHS if m not in conf.auth_mechs]
    loop = asyncio.get_running_loop()

    def factory():
        return FakeSMTP(
            handler,
            hostname=conf.hostname,
            ident="fakesmtp",
            data_size_limit=conf.size or None,
            enable_SMTPUTF8=conf.smtputf8,
            tls_context=ctx if conf.tls == "starttls" else None,
            require_starttls=(conf.tls == "starttls" and not conf.no_starttls
                              and not conf.starttls_optional and not conf.auth_plain_ok),
            auth_required=bool(users) and not conf.auth_optional,
            auth_require_tls=not (conf.auth_plain_ok or conf.tls == "implicit"),
            auth_exclude_mechanism=excluded,
            authenticator=handler.authenticator,
            loop=loop,
        )

    server = await loop.create_server(factory, host=conf.listen, port=conf.port,
                                      ssl=ctx if conf.tls == "implicit" else None)
    port = server.sockets[0].getsockname()[1]
    rec.event(0, f"listening on {conf.listen} port {port}, tls={conf.tls}")
    fakelib.write_port_file(conf.port_file, port)

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    rec.event(0, "stopping")
    server.close()


def parse_args(argv):
    p = argparse.ArgumentParser(prog="fakesmtp.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    fakelib.add_server_args(p, "fakesmtp.test")
    p.add_argument("--no-starttls", action="store_true")
    p.add_argument("--starttls-optional", action="store_true")
    p.add_argument("--raw-after-starttls")
    p.add_argument("--auth", action="append", default=[], metavar="USER:PASS")
    p.add_argument("--auth-mechs")
    p.add_argument("--auth-optional", action="store_true")
    p.add_argument("--auth-plain-ok", action="store_true")
    p.add_argument("--no-pipelining", action="store_true")
    p.add_argument("--size", type=int, default=33554432)
    p.add_argument("--no-8bitmime", action="store_true")
    p.add_argument("--smtputf8", action="store_true")
    p.add_argument("--ehlo-extra", action="append", default=[])
    p.add_argument("--chunking", action="store_true")
    p.add_argument("--tls-group")
    p.add_argument("--reply", action="append", default=[], metavar="CMD=TEXT")
    p.add_argument("--reply-rcpt", action="append", default=[], metavar="ADDR=TEXT")
    p.add_argument("--raw-reply", action="append", default=[], metavar="CMD=BYTES")
    p.add_argument("--delay", action="append", default=[], metavar="CMD=SECONDS")
    p.add_argument("--drop", action="append", default=[], metavar="CMD")
    p.add_argument("--debug", action="store_true", help="aiosmtpd's own log on stderr")
    conf = p.parse_args(argv)
    fakelib.check_server_args(p, conf)
    conf.auth_mechs_given = conf.auth_mechs is not None
    conf.auth_mechs = (conf.auth_mechs or "PLAIN LOGIN CRAM-MD5").upper().split()
    return conf


def main(argv):
    conf = parse_args(argv)
    warnings.simplefilter("ignore")
    logging.basicConfig(level=logging.DEBUG if conf.debug else logging.ERROR, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        Script(conf)    # report bad fault options before binding
    except (ValueError, OSError) as e:
        raise SystemExit(f"fakesmtp: {e}")
    asyncio.run(serve(conf))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
