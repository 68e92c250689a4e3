#!/usr/bin/python3
"""saslsmtp: a small SMTP submission server for postbote's TLS-policy and SASL tests.

It does what tests/fakesmtp.py cannot, because aiosmtpd runs on Python's ssl module, which has
no TLS exporter, no server-side OCSP stapling and no way to ask for the tls-unique of a TLS 1.2
handshake: SCRAM-SHA-1-PLUS and SCRAM-SHA-256-PLUS with tls-exporter (TLS 1.3) or tls-unique
(TLS 1.2) channel binding, client certificates and EXTERNAL, a stapled OCSP response, and the
OAuth 2.0 mechanisms XOAUTH2 and OAUTHBEARER (RFC 7628), including their error challenge.
TLS is pyOpenSSL (Debian: python3-openssl). One thread per connection; no PIPELINING.

Its options and records match fakesmtp.py where the two overlap (both take them from
tests/fakelib.py), so tests/lib/common.bash works with it: FAKESMTP=tests/saslsmtp.py
fake_start ...; fake_config; client_lines.

Usage: saslsmtp.py --outdir DIR --port-file FILE [options]
  --listen ADDR          loopback address to bind (default 127.0.0.1)
  --hostname NAME        name in the greeting and the EHLO reply (default saslsmtp.test)
  --tls MODE             none (default) | starttls | implicit
  --cert FILE --key FILE server certificate chain and key (PEM)
  --tls-max VERSION      1.2 or 1.3 (default): the newest TLS version the server accepts
  --client-ca FILE       ask for a client certificate issued by this CA (PEM) and verify it;
                         the client may still send none unless --require-client-cert
  --require-client-cert  fail the handshake without a client certificate
  --ocsp FILE            staple this DER-encoded OCSP response when the client asks for one
  --auth USER:PASS       a password user for PLAIN, LOGIN, SCRAM-* (repeatable)
  --token USER:TOKEN     an OAuth 2.0 user for XOAUTH2 and OAUTHBEARER (repeatable)
  --token-file FILE      also accept the access tokens that FILE lists as valid now, read at
                         each AUTH: tests/tokenserver.py's valid.json, {"TOKEN": {"user":
                         USER or "*", "exp": UNIX_TIME}}
  --external CN[=AUTHZID]
                         accept EXTERNAL from a verified client certificate with this common
                         name (repeatable); the identity is the CN, and the client may ask to
                         act as AUTHZID (an empty authorization identity is always fine)
  --auth-mechs "M ..."   mechanisms advertised, in this order (default "PLAIN"). Implemented:
                         PLAIN LOGIN SCRAM-SHA-1 SCRAM-SHA-256 SCRAM-SHA-1-PLUS
                         SCRAM-SHA-256-PLUS EXTERNAL XOAUTH2 OAUTHBEARER; others get 504.
  --oauth-error JSON     the error document of a refused token (default: a typical one per
                         mechanism)
  --auth-plain-ok        offer AUTH without TLS too
With any --auth, --token, --token-file or --external, MAIL needs AUTH first; with --tls starttls, it needs
STARTTLS first.

Records in --outdir DIR (created if missing):
  transcript.log  every line the client sent outside message bodies, AUTH payloads verbatim,
                  as "CONN MODE LINE" (MODE plain or tls); created empty at start
  session.log     both directions and events, for humans
  auth.jsonl      one JSON object per AUTH exchange: connection, mechanism, ok, user, reason,
                  cb (channel binding type used, or null), gs2 (the client's GS2 header),
                  client_cert (CN of a verified client certificate, or null), tls_version,
                  oauth (OAUTHBEARER/XOAUTH2 fields: user, host, port, token_ok), dummy (what
                  the client answered to an OAuth error challenge), authzid (EXTERNAL)
  msg-N.eml       each accepted message, as received after dot-unstuffing
  msg-N.json      mail_from, rcpt_tos, auth_user, auth_mechanism, auth_cb, client_cert,
                  tls, tls_version, tls_sni (the name the client sent as SNI), connection
Exit status: 0 after SIGTERM/SIGINT; 2 for bad options.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import signal
import socket
import sys
import threading
import time

from OpenSSL import SSL, crypto

import fakelib

LINE_MAX = 65536
PLUS = {"SCRAM-SHA-1-PLUS": "sha1", "SCRAM-SHA-256-PLUS": "sha256"}
SCRAM = {"SCRAM-SHA-1": "sha1", "SCRAM-SHA-256": "sha256", **PLUS}
IMPLEMENTED = {"PLAIN", "LOGIN", "EXTERNAL", "XOAUTH2", "OAUTHBEARER", *SCRAM}
OAUTH_ERRORS = {
    "XOAUTH2": '{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}',
    "OAUTHBEARER": '{"status":"invalid_token","scope":"smtp",'
                   '"openid-configuration":"https://auth.example/.well-known/openid-configuration"}',
}


class Closed(Exception):
    """The client went away."""


class Recorder(fakelib.Recorder):
    """fakelib's records plus auth.jsonl."""

    def __init__(self, outdir):
        super().__init__(outdir)
        self.authlog = open(os.path.join(outdir, "auth.jsonl"), "ab", buffering=0)

    def auth(self, record):
        with self.lock:
            self.authlog.write((json.dumps(record, sort_keys=True) + "\n").encode())


def b64d(data):
    return base64.b64decode(data, validate=True)


def saslname(s):
    return s.replace(b"=2C", b",").replace(b"=3D", b"=")


class Session:
    """One client connection."""

    def __init__(self, server, sock):
        self.srv = server
        self.conf = server.conf
        self.rec = server.rec
        self.sock = sock
        self.tls = None             # the SSL.Connection once TLS is up
        self.inbuf = b""
        self.conn = self.rec.new_connection()
        self.helo = None
        self.auth_user = self.auth_mech = self.auth_cb = None
        self.mail_from = None
        self.rcpts = []

    # -- I/O ------------------------------------------------------------------------------
    def _recv(self):
        try:
            data = self.tls.recv(16384) if self.tls else self.sock.recv(16384)
        except (SSL.ZeroReturnError, SSL.SysCallError, ConnectionError):
            raise Closed()
        except SSL.Error as e:
            self.rec.event(self.conn, f"TLS error: {e}")
            raise Closed()
        if not data:
            raise Closed()
        return data

    def readline(self, record=True):
        while b"\n" not in self.inbuf:
            if len(self.inbuf) > LINE_MAX:
                raise Closed()
            self.inbuf += self._recv()
        line, _, self.inbuf = self.inbuf.partition(b"\n")
        line = line[:-1] if line.endswith(b"\r") else line
        if record:
            self.rec.client_line(self.conn, self.tls is not None, line)
        return line

    def send(self, text):
        data = text.encode() if isinstance(text, str) else text
        self.rec.server_bytes(self.conn, data)
        data += b"\r\n"
        try:
            if self.tls:
                self.tls.sendall(data)
            else:
                self.sock.sendall(data)
        except (SSL.Error, OSError):
            raise Closed()

    def challenge(self, data):
        """334 with base64 data; the client's answer, decoded, or None when it cancelled."""
        self.send(b"334 " + base64.b64encode(data))
        line = self.readline()
        if line == b"*":
            self.send("501 5.7.0 Authentication cancelled")
            return None
        try:
            return b64d(line)
        except ValueError:
            self.send("501 5.5.2 Cannot decode the response")
            return None

    # -- TLS --------------------------------------------------------------------------------
    def start_tls(self):
        tls = SSL.Connection(self.srv.ctx, self.sock)
        tls.set_accept_state()
        try:
            tls.do_handshake()
        except SSL.Error as e:
            self.rec.event(self.conn, f"TLS handshake failed: {e}")
            raise Closed()
        self.tls = tls
        self.inbuf = b""
        self.rec.event(self.conn, f"TLS established: {tls.get_protocol_version_name()} "
                                  f"{tls.get_cipher_name()} sni={self.sni()} "
                                  f"client_cert={self.client_cn()}")

    def tls_version(self):
        return self.tls.get_protocol_version_name() if self.tls else None

    def sni(self):
        """The name the client asked for (SNI), or None."""
        name = self.tls.get_servername() if self.tls else None
        return name.decode("ascii", "replace") if name else None

    def client_cn(self):
        """The CN of a client certificate that verified, or None."""
        if not self.tls:
            return None
        cert = self.tls.get_peer_certificate()
        if cert is None:
            return None
        return cert.get_subject().CN

    def channel_binding(self, cbname):
        """Our side of the channel binding the client named, or None."""
        if not self.tls:
            return None
        v13 = self.tls.get_protocol_version_name() == "TLSv1.3"
        if cbname == b"tls-exporter":
            return self.tls.export_keying_material(b"EXPORTER-Channel-Binding", 32)
        if cbname == b"tls-unique" and not v13:
            # the first Finished of the handshake: the client's (this server never resumes)
            return self.tls.get_peer_finished()
        return None

    # -- the session ------------------------------------------------------------------------
    def run(self):
        try:
            if self.conf.tls == "implicit":
                self.start_tls()
            self.send(f"220 {self.conf.hostname} ESMTP saslsmtp")
            while True:
                line = self.readline()
                verb, _, arg = line.decode("utf-8", "replace").partition(" ")
                handler = getattr(self, "cmd_" + verb.upper(), None)
                if handler is None:
                    self.send("500 5.5.2 Error: command not recognized")
                elif handler(arg.strip()) == "quit":
                    break
        except Closed:
            pass
        finally:
            self.rec.event(self.conn, "connection closed")
            try:
                self.sock.close()
            except OSError:
                pass

    def ehlo_lines(self):
        c = self.conf
        lines = [c.hostname, "SIZE 33554432", "8BITMIME"]
        if c.tls == "starttls" and not self.tls:
            lines.append("STARTTLS")
        if c.auth_mechs and (self.tls or c.auth_plain_ok):
            lines.append("AUTH " + " ".join(c.auth_mechs))
        return lines

    def cmd_EHLO(self, arg):
        self.helo = arg
        lines = self.ehlo_lines()
        self.send("\r\n".join(("250-" if i < len(lines) - 1 else "250 ") + x
                              for i, x in enumerate(lines)))

    def cmd_HELO(self, arg):
        self.helo = arg
        self.send(f"250 {self.conf.hostname}")

    def cmd_NOOP(self, arg):
        self.send("250 2.0.0 Ok")

    def cmd_RSET(self, arg):
        self.mail_from, self.rcpts = None, []
        self.send("250 2.0.0 Ok")

    def cmd_QUIT(self, arg):
        self.send("221 2.0.0 Bye")
        return "quit"

    def cmd_STARTTLS(self, arg):
        if self.conf.tls != "starttls" or self.tls:
            return self.send("454 4.7.0 TLS not available")
        self.send("220 Ready to start TLS")
        if self.inbuf:
            self.rec.event(self.conn, "data after STARTTLS; closing")
            raise Closed()
        self.start_tls()
        self.helo = None

    def must_tls(self):
        return self.conf.tls == "starttls" and not self.tls

    def cmd_MAIL(self, arg):
        if self.must_tls():
            return self.send("530 5.7.0 Must issue a STARTTLS command first")
        if self.srv.auth_required and not self.auth_user:
            return self.send("530 5.7.0 Authentication required")
        m = re.match(r"(?i)FROM:\s*<([^>]*)>", arg)
        if not m:
            return self.send("501 5.5.4 Syntax: MAIL FROM:<address>")
        self.mail_from, self.rcpts = m.group(1), []
        self.send("250 2.1.0 Ok")

    def cmd_RCPT(self, arg):
        if self.mail_from is None:
            return self.send("503 5.5.1 Error: need MAIL command")
        m = re.match(r"(?i)TO:\s*<([^>]*)>", arg)
        if not m:
            return self.send("501 5.5.4 Syntax: RCPT TO:<address>")
        self.rcpts.append(m.group(1))
        self.send("250 2.1.5 Ok")

    def cmd_DATA(self, arg):
        if not self.rcpts:
            return self.send("503 5.5.1 Error: need RCPT command")
        self.send("354 End data with <CR><LF>.<CR><LF>")
        body = []
        while True:
            line = self.readline(record=False)
            if line == b".":
                break
            body.append(line[1:] if line.startswith(b".") else line)
        content = b"".join(x + b"\r\n" for x in body)
        n = self.rec.message(content, {
            "connection": self.conn, "helo": self.helo, "mail_from": self.mail_from,
            "rcpt_tos": self.rcpts, "auth_user": self.auth_user,
            "auth_mechanism": self.auth_mech, "auth_cb": self.auth_cb,
            "client_cert": self.client_cn(), "tls": self.tls is not None,
            "tls_version": self.tls_version(), "tls_sni": self.sni(),
        })
        self.mail_from, self.rcpts = None, []
        self.send(f"250 2.0.0 Ok: queued as msg-{n}")

    # -- AUTH -------------------------------------------------------------------------------
    def cmd_AUTH(self, arg):
        mech, _, initial = arg.partition(" ")
        mech = mech.upper()
        if self.auth_user:
            return self.send("503 5.5.1 Error: already authenticated")
        if not (self.tls or self.conf.auth_plain_ok):
            return self.send("538 5.7.11 Encryption required for requested authentication "
                             "mechanism")
        if mech not in self.conf.auth_mechs or mech not in IMPLEMENTED:
            return self.send("504 5.5.4 Unrecognized authentication type")
        if initial == "=":
            first = b""
        elif initial:
            try:
                first = b64d(initial)
            except ValueError:
                return self.send("501 5.5.2 Cannot decode the initial response")
        else:
            first = None
        record = {"connection": self.conn, "mechanism": mech, "ok": False, "user": None,
                  "reason": None, "cb": None, "gs2": None, "client_cert": self.client_cn(),
                  "tls_version": self.tls_version(), "oauth": None, "dummy": None,
                  "authzid": None}
        name = "auth_" + mech.replace("-", "_")
        if mech in SCRAM:
            done = self.auth_scram(mech, first, record)
        else:
            done = getattr(self, name)(first, record)
        self.rec.auth(record)
        self.rec.event(self.conn, f"AUTH {mech} user={record['user']!r} ok={record['ok']} "
                                  f"reason={record['reason']}")
        if not done:
            return  # cancelled or malformed: already answered
        if record["ok"]:
            self.auth_user, self.auth_mech, self.auth_cb = record["user"], mech, record["cb"]
            self.send("235 2.7.0 Authentication successful")
        else:
            self.send("535 5.7.8 Error: authentication failed: " + (record["reason"] or "no"))

    def _first(self, first):
        if first is None:
            return self.challenge(b"")
        return first

    def _first_match(self, first, pattern, what, record, flags=0):
        """The client's first message matched against pattern; None if the client cancelled,
        or after a 501 when it does not match (m.string is the message)."""
        data = self._first(first)
        if data is None:
            return None
        m = re.fullmatch(pattern, data, flags)
        if not m:
            self.send(f"501 5.5.2 Malformed {what}")
            record["reason"] = f"malformed: {data!r}"
        return m

    def _oauth_result(self, mech, user, ok, record, host=None, port=None):
        """Records an OAuth attempt; a bad token gets the RFC 7628 error challenge."""
        record["user"] = user.decode("utf-8", "replace")
        record["oauth"] = {"user": record["user"], "host": host, "port": port, "token_ok": ok}
        record["ok"] = ok
        if not ok:
            record["reason"] = "invalid token"
            self._oauth_refuse(mech, record)
        return True

    def auth_PLAIN(self, first, record):
        data = self._first(first)
        if data is None:
            return False
        parts = data.split(b"\0")
        if len(parts) != 3:
            self.send("501 5.5.2 Malformed PLAIN response")
            return False
        user, password = parts[1], parts[2]
        record["user"] = user.decode("utf-8", "replace")
        record["ok"] = hmac.compare_digest(self.srv.users.get(user, b"\0\0"), password)
        record["reason"] = None if record["ok"] else "wrong user or password"
        return True

    def auth_LOGIN(self, first, record):
        user = first if first is not None else self.challenge(b"Username:")
        if user is None:
            return False
        password = self.challenge(b"Password:")
        if password is None:
            return False
        record["user"] = user.decode("utf-8", "replace")
        record["ok"] = hmac.compare_digest(self.srv.users.get(user, b"\0\0"), password)
        record["reason"] = None if record["ok"] else "wrong user or password"
        return True

    def auth_EXTERNAL(self, first, record):
        authzid = self._first(first)
        if authzid is None:
            return False
        cn = self.client_cn()
        authzid = authzid.decode("utf-8", "replace")
        record["user"], record["authzid"] = cn, authzid
        if cn is None:
            record["reason"] = "no verified client certificate"
        elif cn not in self.srv.external:
            record["reason"] = f"certificate CN {cn} not accepted"
        elif authzid and authzid not in (cn, self.srv.external[cn]):
            record["reason"] = f"{cn} may not act as {authzid}"
        else:
            record["ok"] = True
            record["user"] = authzid or cn
        return True

    def _oauth_refuse(self, mech, record):
        """The RFC 7628 error challenge; the client must answer with the dummy response."""
        error = (self.conf.oauth_error or OAUTH_ERRORS[mech]).encode()
        self.send(b"334 " + base64.b64encode(error))
        answer = self.readline()
        record["dummy"] = answer.decode("ascii", "replace")
        want = b"" if mech == "XOAUTH2" else b"AQ=="
        if answer != want:
            record["reason"] = (record["reason"] or "") + f"; wrong dummy response {answer!r}"

    def auth_XOAUTH2(self, first, record):
        m = self._first_match(first, rb"user=([^\x01]*)\x01auth=Bearer ([^\x01]+)\x01\x01",
                              "XOAUTH2 response", record)
        if not m:
            return False
        user, token = m.group(1), m.group(2)
        return self._oauth_result("XOAUTH2", user, self.srv.token_ok(user, token), record)

    def auth_OAUTHBEARER(self, first, record):
        m = self._first_match(first,
                              rb"(n,(?:a=([^,]*))?,)\x01((?:[A-Za-z]+=[^\x01]*\x01)+)\x01",
                              "OAUTHBEARER response", record)
        if not m:
            return False
        record["gs2"] = m.group(1).decode("utf-8", "replace")
        user = saslname(m.group(2) or b"")
        kv = dict(p.split(b"=", 1) for p in m.group(3).split(b"\x01") if p)
        auth = kv.get(b"auth", b"")
        token = auth[7:] if auth.startswith(b"Bearer ") else b""
        ok = bool(token) and self.srv.token_ok(user, token)
        return self._oauth_result("OAUTHBEARER", user, ok, record,
                                  host=kv.get(b"host", b"").decode("utf-8", "replace") or None,
                                  port=kv.get(b"port", b"").decode("ascii", "replace") or None)

    def auth_scram(self, mech, first, record):
        """RFC 5802 / 7677 server side, with channel binding for the -PLUS variants."""
        hname = SCRAM[mech]
        m = self._first_match(
            first, rb"(n|y|p=([A-Za-z0-9.-]+)),(?:a=([^,]*))?,(n=([^,]*),r=([^,]+)(?:,.*)?)",
            "SCRAM client-first message", record, re.S)
        if not m:
            return False
        data = m.string
        gs2 = data[:len(data) - len(m.group(4))]
        record["gs2"] = gs2.decode("utf-8", "replace")
        flag, cbname = m.group(1)[:1], m.group(2)
        bare, user, cnonce = m.group(4), saslname(m.group(5)), m.group(6)
        record["user"] = user.decode("utf-8", "replace")
        cbdata = b""
        reason = None
        if mech in PLUS:
            if flag != b"p":
                reason = "a -PLUS mechanism without channel binding"
            else:
                cb = self.channel_binding(cbname)
                if cb is None:
                    reason = f"channel binding type {cbname!r} not available"
                else:
                    cbdata = cb
                    record["cb"] = cbname.decode()
        elif flag == b"p":
            reason = "channel binding with a mechanism that has none"
        elif flag == b"y" and any(x in PLUS for x in self.conf.auth_mechs) and self.tls:
            reason = "client thinks the server offers no -PLUS mechanism (downgrade)"
        salt, iterations = secrets.token_bytes(16), 4096
        nonce = cnonce + base64.b64encode(secrets.token_bytes(18))
        server_first = b"r=%s,s=%s,i=%d" % (nonce, base64.b64encode(salt), iterations)
        final = self.challenge(server_first)
        if final is None:
            return False
        m = re.fullmatch(rb"(c=([^,]*),r=([^,]*)(?:,.*)?),p=([^,]+)", final, re.S)
        ok = False
        if not m:
            reason = reason or "malformed client-final message"
        elif m.group(3) != nonce:
            reason = reason or "wrong nonce"
        elif user not in self.srv.users:
            reason = reason or "unknown user"
        else:
            try:
                cbind, proof = b64d(m.group(2)), b64d(m.group(4))
            except ValueError:
                cbind = proof = b""
            salted = hashlib.pbkdf2_hmac(hname, self.srv.users[user], salt, iterations)
            client_key = hmac.new(salted, b"Client Key", hname).digest()
            stored_key = hashlib.new(hname, client_key).digest()
            auth_message = bare + b"," + server_first + b"," + m.group(1)
            client_sig = hmac.new(stored_key, auth_message, hname).digest()
            if cbind != gs2 + cbdata:
                reason = reason or "channel binding data does not match"
            elif len(proof) != len(client_sig):
                reason = reason or "malformed proof"
            else:
                recovered = bytes(a ^ b for a, b in zip(proof, client_sig))
                if hmac.compare_digest(hashlib.new(hname, recovered).digest(), stored_key):
                    ok = reason is None
                else:
                    reason = reason or "wrong password"
            if ok:
                server_key = hmac.new(salted, b"Server Key", hname).digest()
                signature = hmac.new(server_key, auth_message, hname).digest()
                if self.challenge(b"v=" + base64.b64encode(signature)) is None:
                    return False
        record["ok"], record["reason"] = ok, reason
        return True


class Server:
    def __init__(self, conf):
        self.conf = conf
        self.rec = Recorder(conf.outdir)
        self.users = fakelib.user_pairs(conf.auth, "saslsmtp", "--auth", "USER:PASS")
        self.tokens = fakelib.user_pairs(conf.token, "saslsmtp", "--token", "USER:TOKEN")
        self.external = {}
        for v in conf.external:
            cn, _, authzid = v.partition("=")
            self.external[cn] = authzid or cn
        self.auth_required = bool(self.users or self.tokens or self.external or conf.token_file)
        self.ctx = self.tls_context() if conf.tls != "none" else None

    def token_ok(self, user, token):
        """A --token pair, or a token that --token-file says is valid now for this user."""
        if hmac.compare_digest(self.tokens.get(user, b"\0\0"), token):
            return True
        if not self.conf.token_file:
            return False
        try:
            with open(self.conf.token_file) as f:
                valid = json.load(f)
        except (OSError, ValueError):
            return False
        entry = valid.get(token.decode("ascii", "replace"))
        return bool(entry) and entry["exp"] > time.time() and \
            entry["user"] in ("*", user.decode("utf-8", "replace"))

    def tls_context(self):
        c = self.conf
        ctx = SSL.Context(SSL.TLS_SERVER_METHOD)
        ctx.set_min_proto_version(SSL.TLS1_2_VERSION)
        ctx.set_max_proto_version(SSL.TLS1_3_VERSION if c.tls_max == "1.3" else SSL.TLS1_2_VERSION)
        ctx.use_certificate_chain_file(c.cert)
        ctx.use_privatekey_file(c.key)
        if c.client_ca:
            ctx.load_verify_locations(c.client_ca)
            with open(c.client_ca, "rb") as f:
                ctx.add_client_ca(crypto.load_certificate(crypto.FILETYPE_PEM, f.read()))
            mode = SSL.VERIFY_PEER
            if c.require_client_cert:
                mode |= SSL.VERIFY_FAIL_IF_NO_PEER_CERT
            ctx.set_verify(mode, lambda conn, cert, errno, depth, ok: bool(ok))
        if c.ocsp:
            with open(c.ocsp, "rb") as f:
                response = f.read()
            ctx.set_ocsp_server_callback(lambda conn, data: response)
        return ctx

    def serve(self):
        c = self.conf
        family = socket.AF_INET6 if ":" in c.listen else socket.AF_INET
        ls = socket.socket(family, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((c.listen, c.port))
        ls.listen(16)
        port = ls.getsockname()[1]
        self.rec.event(0, f"listening on {c.listen} port {port}, tls={c.tls}")
        fakelib.write_port_file(c.port_file, port)
        while True:
            sock, _ = ls.accept()
            threading.Thread(target=Session(self, sock).run, daemon=True).start()


def parse_args(argv):
    p = argparse.ArgumentParser(prog="saslsmtp.py", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    fakelib.add_server_args(p, "saslsmtp.test")
    p.add_argument("--tls-max", choices=("1.2", "1.3"), default="1.3")
    p.add_argument("--client-ca")
    p.add_argument("--require-client-cert", action="store_true")
    p.add_argument("--ocsp")
    p.add_argument("--auth", action="append", default=[], metavar="USER:PASS")
    p.add_argument("--token", action="append", default=[], metavar="USER:TOKEN")
    p.add_argument("--token-file")
    p.add_argument("--external", action="append", default=[], metavar="CN[=AUTHZID]")
    p.add_argument("--auth-mechs", default="PLAIN")
    p.add_argument("--oauth-error")
    p.add_argument("--auth-plain-ok", action="store_true")
    conf = p.parse_args(argv)
    fakelib.check_server_args(p, conf)
    conf.auth_mechs = conf.auth_mechs.upper().split()
    return conf


def main(argv):
    conf = parse_args(argv)
    server = Server(conf)

    def stop(signum, frame):
        server.rec.event(0, "stopping")
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.serve()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
