#!/usr/bin/python3
"""check.py CASEDIR OUTDIR: compares what the fake server recorded (OUTDIR/msg-1.eml and
msg-1.json) with the case's expected wire bytes (CASEDIR/wire) and envelope
(CASEDIR/envelope.json). Exit 0 when they match; otherwise the differences on stdout, exit 1.

Date: and Message-ID: fields that postbote adds differ from run to run. In the header section
of the received message, a field is taken as added when its value is not in the input; its
shape is checked here (an RFC 5322 date within ten minutes of now; a Message-ID of the form
<dot-atom@domain>), and then its value is replaced by the placeholder the .wire files use:
  Date: @DATE@
  Message-ID: <@MSGID@@domain>      (the domain is compared as it is)
A value that does not have the shape is left alone, so the comparison shows it. Everything
else is compared byte for byte.

In envelope.json, "SIZE=@SIZE@" stands for SIZE= with the size of the received message;
mail_options are compared without regard to order."""

import email.utils
import json
import os
import re
import sys
import time

DATE_RE = re.compile(rb"^Date: ((Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?[ 0-9]?[0-9] "
                     rb"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} "
                     rb"[0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}$")
MSGID_RE = re.compile(rb"^Message-ID: <([A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+)@([^<>@\s]+)>$")


def normalise(received, given, problems):
    """The received message with added Date/Message-ID values replaced by placeholders."""
    end = received.find(b"\r\n\r\n")
    head, rest = (received, b"") if end < 0 else (received[:end + 2], received[end + 2:])
    given_head = given.split(b"\n\n", 1)[0]
    out = []
    for line in head.split(b"\r\n"):
        if line.startswith(b"Date: ") and line[6:] not in given_head:
            if DATE_RE.match(line):
                try:
                    when = email.utils.parsedate_to_datetime(line[6:].decode()).timestamp()
                except (TypeError, ValueError):
                    when = None
                if when is None or abs(when - time.time()) > 600:
                    problems.append("added %r is not within ten minutes of now" % line.decode())
                else:
                    line = b"Date: @DATE@"
        elif line.startswith(b"Message-ID: ") and line[12:] not in given_head:
            m = MSGID_RE.match(line)
            if m and not m.group(1).startswith(b".") and not m.group(1).endswith(b".") \
                    and b".." not in m.group(1):
                line = b"Message-ID: <@MSGID@@" + m.group(2) + b">"
        out.append(line)
    return b"\r\n".join(out) + rest


def show(b):
    """Lines as Python literals, so CR, blanks at line ends and 8-bit bytes are visible."""
    return [repr(x) for x in b.split(b"\n")]


def main():
    case, outdir = sys.argv[1], sys.argv[2]
    problems = []
    given = open(os.path.join(case, "input"), "rb").read()
    want = open(os.path.join(case, "wire"), "rb").read()
    eml = os.path.join(outdir, "msg-1.eml")
    if not os.path.exists(eml):
        print("no message arrived at the fake server (%s)" % eml)
        return 1
    if os.path.exists(os.path.join(outdir, "msg-2.eml")):
        problems.append("more than one message arrived")
    got_raw = open(eml, "rb").read()
    got = normalise(got_raw, given, problems)
    if got != want:
        w, g = show(want), show(got)
        i = 0
        while i < min(len(w), len(g)) and w[i] == g[i]:
            i += 1
        problems.append("the message differs from %s/wire, first at line %d:\n"
                        "  expected: %s\n  received: %s\n"
                        "expected lines %d.. and received lines %d.. follow:\n%s\n--\n%s"
                        % (case, i + 1, w[i] if i < len(w) else "(end)",
                           g[i] if i < len(g) else "(end)", i + 1, i + 1,
                           "\n".join("  " + x for x in w[i:i + 8]),
                           "\n".join("  " + x for x in g[i:i + 8])))

    env_want = json.load(open(os.path.join(case, "envelope.json")))
    env_got = json.load(open(os.path.join(outdir, "msg-1.json")))
    size = "SIZE=%d" % len(got_raw)
    for key, value in env_want.items():
        have = env_got.get(key)
        if key == "mail_options":
            value = sorted(size if v == "SIZE=@SIZE@" else v for v in value)
            have = sorted(have or [])
        if have != value:
            problems.append("envelope %s: expected %s, received %s"
                            % (key, json.dumps(value, ensure_ascii=False),
                               json.dumps(have, ensure_ascii=False)))
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
