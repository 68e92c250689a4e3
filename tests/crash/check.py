#!/usr/bin/python3
"""check.py: the invariants of a tests/crash/run work directory, and its figures.

Usage: check.py validate WORKDIR     every file in queue/{q,hold,failed} is complete and every
                                     state file well-formed; what is in queue/tmp/ belongs to a
                                     killed process. Writes WORKDIR/validate.json.
       check.py report WORKDIR       after the final queue run: each message whose submission
                                     exited 0 was delivered (or is still queued), nothing was
                                     delivered twice outside the documented window, what a
                                     killed writer left in tmp/ was never sent. Prints the
                                     figures; exit 1 when an invariant is broken.

WORKDIR/log has one line per iteration: ITER ACTION TAG PID RC DELAY_MS (TAG "-" for a queue
run). Each iteration's postbote says EHLO itITER.crash.test, so the fake server's msg-N.json
("helo") tells which process delivered each copy; the final runs say EHLO drain.crash.test.
Messages carry Message-ID <TAG@crash.test>; WORKDIR/msgs/TAG is what was submitted.
"""

import glob
import json
import os
import re
import sys

STATE_KEYS = {"attempts", "next", "last", "error", "done", "failed"}
ID_RE = re.compile(r"^[0-9]{14}\.[0-9a-f]{10}$")
TMP_STATE_RE = re.compile(r"^([0-9]{14}\.[0-9a-f]{10})\.state\.([0-9]+)$")
MSGID_RE = re.compile(rb"^Message-ID: <([^>@]+)@crash\.test>\r?$", re.M | re.I)


def read_log(work):
    rows = []
    with open(os.path.join(work, "log")) as f:
        for line in f:
            it, action, tag, pid, rc, delay = line.split()
            rows.append({"iter": int(it), "action": action, "tag": tag, "pid": int(pid),
                         "rc": int(rc), "delay": int(delay)})
    return rows


def check_queue_file(path):
    """None when path is a complete queue file, else why not."""
    try:
        data = open(path, "rb").read()
    except OSError as e:
        return f"unreadable: {e}"
    if not data.startswith(b"postbote-queue 1\n"):
        return "no version line"
    head_end = data.find(b"\n\n")
    if head_end < 0:
        return "no end of envelope"
    env = {}
    rcpts = 0
    for line in data[len(b"postbote-queue 1\n"):head_end].split(b"\n"):
        k, sep, v = line.partition(b": ")
        if not sep:
            return f"bad envelope line {line[:60]!r}"
        env[k.decode()] = v
        rcpts += k == b"rcpt"
    for k in ("account", "from", "size", "created"):
        if k not in env:
            return f"no {k} in the envelope"
    if not rcpts:
        return "no recipient"
    size = int(env["size"])
    body = data[head_end + 2:]
    if len(body) != size + 4 or not body.endswith(b"end\n"):
        return f"message is {len(body)} bytes with marker, envelope says {size} + 4"
    return None


def check_state_file(path):
    try:
        text = open(path, "rb").read().decode("utf-8", "replace")
    except OSError as e:
        return f"unreadable: {e}"
    if text and not text.endswith("\n"):
        return "no final newline"
    for line in text.splitlines():
        k, sep, _ = line.partition(": ")
        if not sep or k not in STATE_KEYS:
            return f"bad line {line[:60]!r}"
    return None


def msgid_tag(path):
    try:
        m = MSGID_RE.search(open(path, "rb").read())
    except OSError:
        return None
    return m.group(1).decode() if m else None


def validate(work):
    rows = read_log(work)
    killed_pids = {r["pid"] for r in rows if r["rc"] == 137}
    by_tag = {r["tag"]: r for r in rows if r["tag"] != "-"}
    q = os.path.join(work, "queue")
    damaged, queued, orphans = [], [], []
    for area in ("q", "hold", "failed"):
        for p in sorted(glob.glob(os.path.join(q, area, "*"))):
            name = os.path.basename(p)
            if name.endswith(".state"):
                why = check_state_file(p)
                if not ID_RE.match(name[:-6]):
                    why = why or "state file with a bad name"
                elif not why and not os.path.exists(p[:-6]):
                    # a removal (message first, then state) or a move to another area that
                    # was killed half-way: garbage, never read, but never cleaned up either
                    orphans.append(f"{area}/{name}")
            elif ID_RE.match(name):
                why = check_queue_file(p)
                if area == "q" and not why:
                    queued.append(msgid_tag(p))
            else:
                why = "unexpected file"
            if why:
                damaged.append(f"{area}/{name}: {why}")
    tmp_files, tmp_bad, tmp_tags = [], [], []
    for p in sorted(glob.glob(os.path.join(q, "tmp", "*"))):
        name = os.path.basename(p)
        tmp_files.append(name)
        m = TMP_STATE_RE.match(name)
        if m:
            if int(m.group(2)) not in killed_pids:
                tmp_bad.append(f"tmp/{name}: state file of pid {m.group(2)}, which was not killed")
        elif ID_RE.match(name):
            tag = msgid_tag(p)
            if tag is None:
                # cut off before the message's Message-ID: only a killed writer leaves that
                if check_queue_file(p) is None:
                    tmp_bad.append(f"tmp/{name}: a complete queue file without a known message")
                continue
            tmp_tags.append(tag)
            if tag not in by_tag:
                tmp_bad.append(f"tmp/{name}: no known message in it")
            elif by_tag[tag]["rc"] != 137:
                tmp_bad.append(f"tmp/{name}: {tag}'s submission was not killed "
                               f"(exit {by_tag[tag]['rc']})")
        else:
            tmp_bad.append(f"tmp/{name}: unexpected name")
    res = {"damaged": damaged, "orphan_states": orphans,
           "queued_before_drain": len(queued), "tmp_files": tmp_files,
           "tmp_bad": tmp_bad, "tmp_tags": tmp_tags}
    with open(os.path.join(work, "validate.json"), "w") as f:
        json.dump(res, f, indent=1)
    for line in damaged + tmp_bad:
        print(f"check: {line}")
    return 1 if damaged or tmp_bad else 0


def crlf(data):
    return re.sub(rb"\r?\n", b"\r\n", data)


def report(work):
    rows = read_log(work)
    val = json.load(open(os.path.join(work, "validate.json")))
    by_iter = {r["iter"]: r for r in rows}
    subs = [r for r in rows if r["tag"] != "-"]
    runs = [r for r in rows if r["tag"] == "-"]
    problems = []

    # what the server accepted, in order
    deliveries = {}     # tag -> [(msg number, iteration or "drain")]
    corrupt = 0
    for jpath in sorted(glob.glob(os.path.join(work, "fake", "msg-*.json")),
                        key=lambda p: int(re.search(r"msg-(\d+)", p).group(1))):
        n = int(re.search(r"msg-(\d+)", jpath).group(1))
        meta = json.load(open(jpath))
        eml = jpath[:-5] + ".eml"
        tag = msgid_tag(eml)
        helo = meta.get("helo") or ""
        m = re.match(r"it(\d+)\.crash\.test$", helo)
        who = int(m.group(1)) if m else helo.split(".")[0]
        deliveries.setdefault(tag, []).append((n, who))
        src = os.path.join(work, "msgs", tag or "?")
        if not tag or not os.path.exists(src) or open(eml, "rb").read() != crlf(open(src, "rb").read()):
            corrupt += 1
            problems.append(f"msg-{n} ({tag}) is not exactly the message submitted")

    still_queued = set()
    for p in glob.glob(os.path.join(work, "queue", "q", "*")):
        if ID_RE.match(os.path.basename(p)):
            still_queued.add(msgid_tag(p))
    in_failed = set()
    for p in glob.glob(os.path.join(work, "queue", "failed", "*")):
        if ID_RE.match(os.path.basename(p)):
            in_failed.add(msgid_tag(p))

    ok = [r for r in subs if r["rc"] == 0]
    killed_subs = [r for r in subs if r["rc"] == 137]
    other = [r for r in subs if r["rc"] not in (0, 137)] + \
            [r for r in runs if r["rc"] not in (0, 137)]
    for r in other:
        problems.append(f"iteration {r['iter']} ({r['action']}) exited {r['rc']}")

    lost = [r["tag"] for r in ok if r["tag"] not in deliveries and r["tag"] not in still_queued]
    for t in lost:
        problems.append(f"{t}: exit 0, but neither delivered nor queued"
                        + (" (it is in failed/)" if t in in_failed else ""))
    for t in in_failed:
        problems.append(f"{t}: in failed/")

    # A copy is sent again only when the process that sent it was killed between the server's
    # 250 and the removal: one message in flight per process, so at most one per process.
    dup_tags = {t: d for t, d in deliveries.items() if len(d) > 1}
    dups_in_window = dups_outside = 0
    dups_by = {}
    for t, d in sorted(dup_tags.items()):
        for (n, who), (n2, who2) in zip(d, d[1:]):
            r = by_iter.get(who) if isinstance(who, int) else None
            if r and r["rc"] == 137 and who2 != who:
                dups_in_window += 1
                dups_by.setdefault(who, []).append(t)
            else:
                dups_outside += 1
                problems.append(f"{t}: delivered again (msg-{n2} by {who2}) after msg-{n} by "
                                f"{who}, which " + ("was not killed" if not r or r["rc"] != 137
                                                    else "sent it twice itself"))
    for who, tags in sorted(dups_by.items()):
        if len(tags) > 1:
            problems.append(f"iteration {who} was killed once but left {len(tags)} messages to "
                            f"be sent again: {' '.join(tags)}")
    for t in val["tmp_tags"]:
        if t in deliveries:
            problems.append(f"{t}: a copy in tmp/ (killed writer), yet delivered")

    delivered_ok = sum(1 for r in ok if r["tag"] in deliveries)
    delivered_killed = sum(1 for r in killed_subs if r["tag"] in deliveries)
    queued_killed = sum(1 for r in killed_subs if r["tag"] in still_queued)
    problems += [f"damaged: {x}" for x in val["damaged"]] + val["tmp_bad"]

    fig = [
        ("iterations", len(rows)),
        ("submissions", len(subs)),
        ("  while the server was down", sum(1 for r in subs if r["action"] == "submit-down")),
        ("  while it was up", sum(1 for r in subs if r["action"] == "submit-up")),
        ("queue runs", len(runs)),
        ("killed (SIGKILL before exit)", sum(1 for r in rows if r["rc"] == 137)),
        ("  submissions killed", len(killed_subs)),
        ("  queue runs killed", sum(1 for r in runs if r["rc"] == 137)),
        ("submissions that exited 0", len(ok)),
        ("  of those delivered", delivered_ok),
        ("  of those still queued", sum(1 for r in ok if r["tag"] in still_queued)),
        ("killed submissions delivered anyway", delivered_killed),
        ("killed submissions still queued", queued_killed),
        ("queued before the final runs", val["queued_before_drain"]),
        ("left in tmp/ by killed writers", len(val["tmp_files"])),
        ("state files left without their message", len(val["orphan_states"])),
        ("messages the server accepted", sum(len(d) for d in deliveries.values())),
        ("duplicates (crash after 250, before removal)", dups_in_window),
        ("duplicates outside that window", dups_outside),
        ("killed processes that left more than one duplicate",
         sum(1 for v in dups_by.values() if len(v) > 1)),
        ("damaged queue files", len(val["damaged"])),
        ("corrupt deliveries", corrupt),
        ("unexpected exit codes", len(other)),
        ("lost (exit 0, neither delivered nor queued)", len(lost)),
    ]
    for k, v in fig:
        print(f"{k:<52} {v}")
    with open(os.path.join(work, "figures.json"), "w") as f:
        json.dump(dict(fig), f, indent=1)
    for p in problems[:50]:
        print(f"PROBLEM: {p}")
    if len(problems) > 50:
        print(f"PROBLEM: ... and {len(problems) - 50} more")
    return 1 if problems else 0


def main(argv):
    if len(argv) != 3 or argv[1] not in ("validate", "report"):
        print(__doc__, file=sys.stderr)
        return 2
    return validate(argv[2]) if argv[1] == "validate" else report(argv[2])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
