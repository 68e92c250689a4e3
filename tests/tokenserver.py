#!/usr/bin/python3
"""tokenserver: an OAuth 2.0 authorization server over HTTPS for postbote's tests (tests/oauth.bats).

It issues short-lived access tokens and rotating refresh tokens, and writes the access tokens
that are valid now to a file that tests/saslsmtp.py (--token-file) reads, so the SMTP server
accepts exactly the tokens this server issued and has not expired or revoked. Python's
http.server and ssl; one thread per request.

Usage: tokenserver.py --outdir DIR --port-file FILE --cert PEM --key PEM [options]
  --listen ADDR          loopback address (default 127.0.0.1)
  --client ID[:SECRET]   a client; with SECRET it must authenticate (client_secret in the form)
  --refresh TOKEN:USER   a valid refresh token and the mailbox it is for (repeatable)
  --expires-in N         lifetime of an access token in seconds (default 3600)
  --no-rotate            a refresh keeps the refresh token (default: a new one each time, and
                         the old one is invalid from then on)
  --token-length N       length of an access token (default 40)
  --jwt-key PEM          the service account's public key: jwt_bearer assertions must be
                         RS256-signed with its private key
  --jwt-iss EMAIL        the service account (the JWT's iss)
  --user USER            the mailbox that the device and authorization code flows authorize
  --status N             answer every /token request with this HTTP status and a
                         server_error document (a broken endpoint)
  --delay S              wait S seconds before answering a /token request
Endpoints (all https):
  POST /token            grant_type refresh_token, client_credentials, authorization_code,
                         urn:ietf:params:oauth:grant-type:jwt-bearer and ...:device_code
  POST /device           device authorization (RFC 8628); verification_uri is /device
  GET  /device?user_code=CODE    the person enters the code: the device code is approved
                         (with &deny=1: declined)
  GET  /authorize?...    the person consents at once: 302 to redirect_uri with code and state
  POST /admin/expire     every access token issued so far is revoked (valid.json emptied)
Records in DIR:
  requests.jsonl  one JSON object per request: n, method, path, form (all fields), query
  valid.json      {"TOKEN": {"user": USER or "*", "exp": UNIX_TIME}}, replaced by rename
Exit status: 0 after SIGTERM/SIGINT; 2 for bad options.
"""

import argparse
import base64
import hashlib
import http.server
import json
import os
import secrets
import signal
import ssl
import sys
import threading
import time
import urllib.parse

import fakelib

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class State:
    def __init__(self, conf):
        self.conf = conf
        self.lock = threading.Lock()
        self.n = 0
        self.clients = {}
        for v in conf.client:
            cid, _, secret = v.partition(":")
            self.clients[cid] = secret or None
        self.refresh = {}
        for v in conf.refresh:
            tok, sep, user = v.rpartition(":")
            if not sep:
                raise SystemExit(f"tokenserver: --refresh wants TOKEN:USER, got {v!r}")
            self.refresh[tok] = user
        self.valid = {}
        self.devices = {}       # device_code -> {"user_code", "approved"}
        self.codes = {}         # authorization code -> {"challenge", "redirect_uri", "client"}
        self.jwt_key = None
        if conf.jwt_key:
            from cryptography.hazmat.primitives import serialization
            with open(conf.jwt_key, "rb") as f:
                self.jwt_key = serialization.load_pem_public_key(f.read())
        os.makedirs(conf.outdir, exist_ok=True)
        self.reqlog = open(os.path.join(conf.outdir, "requests.jsonl"), "ab", buffering=0)
        self.save_valid()

    def record(self, method, path, form, query):
        with self.lock:
            self.n += 1
            rec = {"n": self.n, "method": method, "path": path, "form": form, "query": query}
            self.reqlog.write((json.dumps(rec, sort_keys=True) + "\n").encode())

    def save_valid(self):
        path = os.path.join(self.conf.outdir, "valid.json")
        tmp = f"{path}.tmp"
        with open(tmp, "w") as f:
            json.dump(self.valid, f)
        os.rename(tmp, path)

    def issue(self, user, with_refresh):
        """An access token (and a refresh token when asked), recorded as valid."""
        c = self.conf
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
        access = "".join(secrets.choice(alphabet) for _ in range(c.token_length))
        answer = {"access_token": access, "token_type": "Bearer", "expires_in": c.expires_in}
        with self.lock:
            self.valid[access] = {"user": user, "exp": time.time() + c.expires_in}
            if with_refresh:
                rt = "rt-" + secrets.token_urlsafe(24)
                self.refresh[rt] = user
                answer["refresh_token"] = rt
            self.save_valid()
        return answer


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    st = None

    def log_message(self, fmt, *args):
        sys.stderr.write("tokenserver: " + fmt % args + "\n")

    def reply(self, status, doc, headers=None):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def error(self, code, description, status=400):
        self.reply(status, {"error": code, "error_description": description})

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        self.st.record("GET", url.path, {}, query)
        if url.path == "/device":
            return self.approve_device(query)
        if url.path == "/authorize":
            return self.authorize(query)
        self.error("not_found", url.path, 404)

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n).decode("utf-8", "replace")
        form = dict(urllib.parse.parse_qsl(raw, keep_blank_values=True))
        self.st.record("POST", url.path, form, {})
        if self.headers.get("Content-Type", "") != "application/x-www-form-urlencoded":
            return self.error("invalid_request", "not a form")
        if url.path == "/token":
            return self.token(form)
        if url.path == "/device":
            return self.device(form)
        if url.path == "/admin/expire":
            with self.st.lock:
                self.st.valid.clear()
                self.st.save_valid()
            return self.reply(200, {"expired": True})
        self.error("not_found", url.path, 404)

    # ---- the client ----

    def client_ok(self, form):
        cid = form.get("client_id")
        if cid not in self.st.clients:
            self.error("invalid_client", "unknown client", 401)
            return False
        secret = self.st.clients[cid]
        if secret is not None and form.get("client_secret") != secret:
            self.error("invalid_client", "wrong client secret", 401)
            return False
        return True

    # ---- /token ----

    def token(self, form):
        c = self.st.conf
        if c.delay:
            time.sleep(c.delay)
        if c.status:
            return self.error("server_error", "broken on purpose", c.status)
        grant = form.get("grant_type")
        if grant == JWT_GRANT:
            return self.jwt_grant(form)
        if not self.client_ok(form):
            return
        if grant == "refresh_token":
            rt = form.get("refresh_token", "")
            with self.st.lock:
                user = self.st.refresh.get(rt)
                if user is not None and c.rotate:
                    del self.st.refresh[rt]
            if user is None:
                return self.error("invalid_grant", "AADSTS70000: the refresh token was revoked")
            answer = self.st.issue(user, c.rotate)
            return self.reply(200, answer)
        if grant == "client_credentials":
            return self.reply(200, self.st.issue("*", False))
        if grant == DEVICE_GRANT:
            return self.device_token(form)
        if grant == "authorization_code":
            return self.code_token(form)
        self.error("unsupported_grant_type", str(grant))

    def jwt_grant(self, form):
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding
        st = self.st
        try:
            head, claims, sig = form.get("assertion", "").split(".")
            header = json.loads(b64url_decode(head))
            body = json.loads(b64url_decode(claims))
            st.jwt_key.verify(b64url_decode(sig), f"{head}.{claims}".encode(),
                              padding.PKCS1v15(), hashes.SHA256())
        except (ValueError, InvalidSignature, AttributeError) as exc:
            return self.error("invalid_grant", f"bad assertion: {type(exc).__name__}")
        now = time.time()
        aud = f"https://localhost:{self.server.server_address[1]}/token"
        problems = []
        if header.get("alg") != "RS256":
            problems.append("alg")
        if body.get("iss") != st.conf.jwt_iss:
            problems.append("iss")
        if body.get("aud") != aud:
            problems.append(f"aud {body.get('aud')!r} != {aud!r}")
        if not (body.get("iat", 0) <= now + 60 and body.get("exp", 0) > now and
                body.get("exp", 0) - body.get("iat", 0) <= 3600):
            problems.append("iat/exp")
        if not body.get("scope"):
            problems.append("scope")
        if problems:
            return self.error("invalid_grant", "assertion: " + ", ".join(problems))
        self.reply(200, st.issue(body.get("sub") or "*", False))

    # ---- the device flow ----

    def device(self, form):
        if not self.client_ok(form):
            return
        dc = secrets.token_urlsafe(24)
        uc = "%04d-%04d" % (secrets.randbelow(10000), secrets.randbelow(10000))
        with self.st.lock:
            self.st.devices[dc] = {"user_code": uc, "approved": False}
        port = self.server.server_address[1]
        self.reply(200, {"device_code": dc, "user_code": uc,
                         "verification_uri": f"https://localhost:{port}/device",
                         "expires_in": 120, "interval": 1,
                         "message": f"Enter {uc} at https://localhost:{port}/device"})

    def approve_device(self, query):
        with self.st.lock:
            for d in self.st.devices.values():
                if d["user_code"] == query.get("user_code"):
                    d["approved"] = True
                    d["denied"] = bool(query.get("deny"))
                    break
            else:
                return self.error("invalid_request", "unknown user code", 404)
        self.reply(200, {"approved": True})

    def device_token(self, form):
        with self.st.lock:
            d = self.st.devices.get(form.get("device_code"))
            if d and d["approved"]:
                del self.st.devices[form.get("device_code")]
        if not d:
            return self.error("invalid_grant", "unknown device code")
        if d.get("denied"):
            return self.error("access_denied", "the user said no")
        if not d["approved"]:
            return self.error("authorization_pending", "waiting for the user")
        self.reply(200, self.st.issue(self.st.conf.user, True))

    # ---- the authorization code flow ----

    def authorize(self, q):
        if q.get("client_id") not in self.st.clients or q.get("response_type") != "code":
            return self.error("invalid_request", "client_id or response_type")
        if q.get("code_challenge_method") != "S256" or len(q.get("code_challenge", "")) != 43:
            return self.error("invalid_request", "PKCE S256 is required")
        redirect = q.get("redirect_uri", "")
        if not redirect.startswith("http://127.0.0.1:"):
            return self.error("invalid_request", "redirect_uri must be a loopback one")
        code = secrets.token_urlsafe(16)
        with self.st.lock:
            self.st.codes[code] = {"challenge": q["code_challenge"], "redirect_uri": redirect,
                                   "client": q["client_id"]}
        target = redirect + "?" + urllib.parse.urlencode({"code": code, "state": q.get("state", "")})
        self.send_response(302)
        self.send_header("Location", target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def code_token(self, form):
        with self.st.lock:
            c = self.st.codes.pop(form.get("code", ""), None)
        if not c:
            return self.error("invalid_grant", "unknown or used code")
        verifier = form.get("code_verifier", "")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if digest.rstrip(b"=").decode() != c["challenge"]:
            return self.error("invalid_grant", "PKCE verifier does not match")
        if form.get("redirect_uri") != c["redirect_uri"] or form.get("client_id") != c["client"]:
            return self.error("invalid_grant", "redirect_uri or client_id differ")
        self.reply(200, self.st.issue(self.st.conf.user, True))


def parse_args(argv):
    p = argparse.ArgumentParser(prog="tokenserver.py", description=__doc__.split("\n")[0])
    p.add_argument("--outdir", required=True)
    p.add_argument("--port-file")
    p.add_argument("--listen", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--client", action="append", default=[])
    p.add_argument("--refresh", action="append", default=[])
    p.add_argument("--expires-in", type=int, default=3600)
    p.add_argument("--no-rotate", dest="rotate", action="store_false")
    p.add_argument("--token-length", type=int, default=40)
    p.add_argument("--jwt-key")
    p.add_argument("--jwt-iss")
    p.add_argument("--user", default="alice")
    p.add_argument("--status", type=int, default=0)
    p.add_argument("--delay", type=float, default=0)
    conf = p.parse_args(argv)
    conf.tls = "implicit"
    fakelib.check_server_args(p, conf)
    return conf


def main(argv):
    conf = parse_args(argv)
    Handler.st = State(conf)
    httpd = http.server.ThreadingHTTPServer((conf.listen, conf.port), Handler)
    httpd.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(conf.cert, conf.key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(0))
    signal.signal(signal.SIGINT, lambda s, f: sys.exit(0))
    fakelib.write_port_file(conf.port_file, httpd.server_address[1])
    httpd.serve_forever()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
