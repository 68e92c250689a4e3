#!/usr/bin/env bats
# The log file (logfile =): lines a script can parse back whatever the server or the message
# says, and a file that is ours: created 0600, or an existing regular file of our own (or
# root's); another user's file and a symbolic link are refused with a warning and not written.

load lib/common

setup_file() { common_setup_file; }
setup() {
	common_setup
	LOG=$BATS_TEST_TMPDIR/postbote.log
	OTHER_USER=
}
teardown() {
	common_teardown
	if [ -n "$OTHER_USER" ]; then
		userdel "$OTHER_USER" 2>/dev/null || true
	fi
}

# The fields of each line of FILE, one "key<TAB>value" per line, a "--" line after each log
# line; exits 1 when a line is not TIMESTAMP [queue-run] key=value... as postbote.conf(5) says.
# Written from the manual: bare values, or "..." with \" \\ \xNN.
log_fields() { # FILE
	"$PYTHON" - "$1" <<'EOF'
import re, sys
field = re.compile(rb' ([a-z0-9-]+)=(?:"((?:[^"\\\x00-\x1f\x7f-\xff]|\\["\\]|\\x[0-9a-f]{2})*)"|([A-Za-z0-9._@+:/,<>-]+))')
def unescape(v):
    return re.sub(rb'\\(["\\]|x[0-9a-f]{2})',
                  lambda m: bytes([int(m.group(1)[1:], 16)]) if m.group(1)[:1] == b"x" else m.group(1), v)
out = sys.stdout.buffer
for line in open(sys.argv[1], "rb").read().split(b"\n")[:-1]:
    m = re.match(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}( queue-run)?", line)
    if not m:
        sys.exit("no timestamp: %r" % line)
    pos = m.end()
    while pos < len(line):
        f = field.match(line, pos)
        if not f:
            sys.exit("not a field at %d: %r" % (pos, line[pos:]))
        value = unescape(f.group(2)) if f.group(2) is not None else f.group(3)
        out.write(f.group(1) + b"\t" + value + b"\n")
        pos = f.end()
    out.write(b"--\n")
EOF
}

@test "a reply and a recipient that try to forge fields stay one field each: one exit=, the right one" {
	local reply='250 2.0.0 ok" exit=75 queued=FAKE x="'
	local rcpt='"a b\"c"@example.org'
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS" --reply "EOM=$reply"
	fake_config "logfile = $LOG"
	std_message >"$MSG"
	run --separate-stderr pb -C "$CONF" -- "$rcpt" <"$MSG"
	assert_success
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" rcpt_tos)" "[\"$(printf '%s' "$rcpt" | sed 's/[\\"]/\\&/g')\"]"
	run log_fields "$LOG"
	assert_success
	assert_equal "$(grep -c '^--$' <<<"$output")" 1
	assert_equal "$(grep -c '^exit	' <<<"$output")" 1
	assert_line "exit	0"
	refute_line --regexp '^queued	'
	refute_line --regexp '^x	'
	assert_line "reply	$reply"
	assert_line "recipients	$rcpt"
	assert_line "from	$FAKE_FROM"
	assert_line "host	localhost"
	# the keys, in order, and nothing else
	assert_equal "$(cut -f1 <<<"$output" | tr '\n' ' ')" "host tls auth user from recipients size reply exit -- "
}

@test "an error with control bytes, UTF-8 and quotes is one field that reads back as stderr said it" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS" \
		--reply 'RCPT=550 5.1.1 n\xc3\xa4\x1b[31m "x=1" exit=0'
	fake_config "logfile = $LOG"
	std_message >"$MSG"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_equal "$status" 67
	assert_error_line "550 5.1.1"
	local said=${stderr#postbote: }
	assert_equal "$(wc -l <"$LOG")" 1
	run grep -c ' exit=67$' "$LOG"
	assert_output 1
	run log_fields "$LOG"
	assert_success
	assert_equal "$(grep -c '^exit	' <<<"$output")" 1
	assert_line "exit	67"
	assert_line "error	$said"
	refute_line --regexp '^x	'
}

@test "a new log file is created 0600; our own file is appended to" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config "logfile = $LOG"
	std_message >"$MSG"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_sent
	assert_equal "$(stat -c '%a %u' "$LOG")" "600 $(id -u)"
	run --separate-stderr pb -C "$CONF" carol@example.org <"$MSG"
	assert_sent
	run log_fields "$LOG"
	assert_success
	assert_equal "$(grep -c '^--$' <<<"$output")" 2
	assert_line "recipients	bob@example.org"
	assert_line "recipients	carol@example.org"
}

@test "an existing file of our own, mode 0640, is appended to and keeps its lines" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config "logfile = $LOG"
	printf 'an old line\n' >"$LOG"
	chmod 640 "$LOG"
	std_message >"$MSG"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_sent
	assert_equal "$(head -n1 "$LOG")" "an old line"
	assert_equal "$(wc -l <"$LOG")" 2
	assert_equal "$(stat -c %a "$LOG")" 640
}

@test "another user's log file is refused with one warning, not written, and the mail still goes" {
	[ "$(id -u)" = 0 ] || skip "needs root to create a second user"
	command -v useradd >/dev/null || skip "no useradd"
	OTHER_USER=pblog$$
	useradd --no-create-home --shell /usr/sbin/nologin "$OTHER_USER" ||
		{ OTHER_USER=; fail "useradd failed"; }
	local uid
	uid=$(id -u "$OTHER_USER")
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config "logfile = $LOG"
	: >"$LOG"
	chown "$OTHER_USER" "$LOG"
	chmod 666 "$LOG"
	std_message >"$MSG"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_success
	assert_equal "$stderr" "postbote: warning: log file $LOG belongs to another user (uid $uid); not writing to it"
	assert_file_empty "$LOG"
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" rcpt_tos)" '["bob@example.org"]'
}

@test "a symbolic link as the log file is refused, and the file it points to is not written" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config "logfile = $LOG"
	: >"$BATS_TEST_TMPDIR/target"
	ln -s "$BATS_TEST_TMPDIR/target" "$LOG"
	std_message >"$MSG"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_success
	assert_equal "$stderr" "postbote: warning: log file $LOG is a symbolic link; not writing to it"
	assert_file_empty "$BATS_TEST_TMPDIR/target"
	[ -L "$LOG" ] || fail "the link was replaced"
}

@test "a dangling symbolic link as the log file creates nothing where it points" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config "logfile = $LOG"
	ln -s "$BATS_TEST_TMPDIR/created-by-us" "$LOG"
	std_message >"$MSG"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_success
	assert_equal "$stderr" "postbote: warning: log file $LOG is a symbolic link; not writing to it"
	assert_file_not_exist "$BATS_TEST_TMPDIR/created-by-us"
}

@test "queue-run lines quote each recipient's fate" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS" \
		--reply-rcpt 'bob@example.org=450 4.2.0 busy" rcpt=x@y:sent:"'
	fake_config "logfile = $LOG" "queue = on"
	std_message >"$MSG"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_success
	[[ $stderr =~ ^postbote:\ queued\ as\ ([0-9]{14}\.[0-9a-f]{10}): ]] || fail "not queued: $stderr"
	local qid=${BASH_REMATCH[1]}
	run --separate-stderr pb -C "$CONF" "-qI$qid"
	assert_success
	run log_fields "$LOG"
	assert_success
	assert_equal "$(grep -c '^--$' <<<"$output")" 2
	assert_equal "$(grep -c '^rcpt	' <<<"$output")" 1
	assert_line 'rcpt	bob@example.org:deferred:localhost answered RCPT TO:<bob@example.org> with 450 4.2.0 busy" rcpt=x@y:sent:"'
	assert_line "id	$qid"
	assert_line "queued	$qid"
	assert_line "attempt	2"	# the submission was the first
}
