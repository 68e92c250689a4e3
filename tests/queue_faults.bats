#!/usr/bin/env bats
# The queue against the fake server: every fault at every step with the queue on and off, what
# is kept in QDIR, and that `postbote -q` later delivers each queued message exactly once;
# partial results, 452 follow-up transactions, max_recipients, rate limits, failover, mailq, the
# queue commands, lifetime and bounces, damaged files, queue_flush, two runners at once and a
# full disk.

load lib/common

setup_file() { common_setup_file; }

setup() {
	common_setup
	QDIR=$BATS_TEST_TMPDIR/queue
	Q_EXTRA=()
	Q_EXTRA_MORE=()
	Q_MOUNT=
	# shellcheck disable=SC2034 # read by fake_config, for a config written before any server runs
	FAKE_TLS=starttls
	std_message >"$MSG"
	std_message | crlf >"$WANT"
}

teardown() {
	common_teardown
	local p
	for p in ${Q_PIDS:-}; do
		kill -TERM "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	[ -n "${SECOND_PID:-}" ] && { kill -TERM "$SECOND_PID" 2>/dev/null; wait "$SECOND_PID" 2>/dev/null; }
	if [ -n "$Q_MOUNT" ]; then
		umount "$Q_MOUNT" 2>/dev/null || umount -l "$Q_MOUNT" 2>/dev/null
	fi
	return 0
}

# ---- helpers -----------------------------------------------------------------------------

# q_conf FILE PORT [LINE...]: account "fake" for a server on PORT with the queue on in $QDIR,
# retries after 1 s, plus $Q_EXTRA and LINEs. queue_dir is in [defaults] too, so that -q, -bp
# and --queue-* without -a look there as well (see the test "... queue_dir set in the account").
q_conf() {
	local file=$1 port=$2 keep=${CONF:-}
	shift 2
	FAKE_PORT=$port fake_config --file "$file" "queue = on" "queue_retry_min = 1s" \
		"${Q_EXTRA[@]}" "$@"
	sed -i "s|^default_account = fake\$|&\nqueue_dir = $QDIR|" "$file"
	CONF=${keep:-$file}
}

# q_start [fakesmtp options]: a STARTTLS+AUTH fake server with the options; $CONF for it and
# $DOWN, the same account on a port where nothing listens (the smarthost is down).
q_start() {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS" "$@"
	CONF=$BATS_TEST_TMPDIR/postbote.conf
	DOWN=$BATS_TEST_TMPDIR/down.conf
	q_conf "$CONF" "$FAKE_PORT"
	q_conf "$DOWN" "$(free_port)"
}

# healthy_restart [fakesmtp options]: replace the server by one without faults; $CONF follows.
# shellcheck disable=SC2120 # options are for tests that need them
healthy_restart() {
	fake_stop
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS" "$@"
	q_conf "$CONF" "$FAKE_PORT"
}

q_ids() { # AREA: the message ids in QDIR/AREA, oldest first
	local f
	for f in "$QDIR/$1"/*; do
		[ -f "$f" ] || continue
		f=${f##*/}
		[[ $f == *.state ]] || echo "$f"
	done
}

q_count() { # AREA
	local n
	n=$(q_ids "$1" | wc -l)
	echo "$n"
}

assert_area_empty() { # AREA: no file at all (message or state) in QDIR/AREA
	local left
	left=$(find "$QDIR/$1" -mindepth 1 2>/dev/null) || true
	[ -z "$left" ] || fail "expected nothing in $QDIR/$1, found: $left"
}

assert_nothing_kept() { # queue = off: no file anywhere under QDIR
	local left
	left=$(find "$QDIR" -type f 2>/dev/null) || true
	[ -z "$left" ] || fail "queue = off kept files: $left"
}

msg_count() { # messages the fake server accepted
	local n
	n=$(find "$FAKE_OUT" -maxdepth 1 -name 'msg-*.eml' 2>/dev/null | wc -l)
	echo "$n"
}

# tag_count TAG: how many accepted messages carry Message-ID <TAG@example.org>
tag_count() {
	local n
	n=$(grep -l -F "Message-ID: <$1@example.org>" "$FAKE_OUT"/msg-*.eml 2>/dev/null | wc -l)
	echo "$n"
}

# tagged_message TAG: std_message with its own Message-ID and Subject
tagged_message() {
	std_message | sed -e "s/^Message-ID: .*/Message-ID: <$1@example.org>/" \
		-e "s/^Subject: .*/Subject: $1/"
}

QUEUED_RE='^postbote: queued as ([0-9]{14}\.[0-9a-f]{10}): (.+); will retry$'

# assert_queued [FRAGMENT...]: exit 0 and exactly one stderr line "postbote: queued as ID:
# REASON; will retry" with the fragments; ID is the only message in q/, with its state, and
# nothing is left in tmp/. Sets QID.
assert_queued() {
	[ "$status" -eq 0 ] || fail "exit $status, expected 0 (queued); stderr: $stderr"
	assert_error_line "$@"
	[[ $stderr =~ $QUEUED_RE ]] || fail "stderr is not 'postbote: queued as ID: REASON; will retry': $stderr"
	QID=${BASH_REMATCH[1]}
	assert_equal "$(q_ids q)" "$QID"
	assert_file_exist "$QDIR/q/$QID.state"
	assert_area_empty tmp
}

# assert_queue_file ID RCPT...: q/ID is a complete queue file for those recipients whose
# message is exactly $WANT.
assert_queue_file() {
	local id=$1 f=$QDIR/q/$1
	shift
	assert_equal "$(head -n 1 "$f")" "postbote-queue 1"
	assert_equal "$(tail -c 4 "$f" | od -An -c | tr -d ' ')" 'end\n'
	assert_equal "$(sed -n '/^$/q; s/^rcpt: //p' "$f")" "$(printf '%s\n' "$@")"
	assert_equal "$(sed -n '/^$/q; s/^account: //p' "$f")" fake
	"$PYTHON" -c 'import sys
data = open(sys.argv[1], "rb").read()
sys.stdout.buffer.write(data[data.index(b"\n\n") + 2:-4])' "$f" >"$BATS_TEST_TMPDIR/queued-body"
	assert_same_bytes "$WANT" "$BATS_TEST_TMPDIR/queued-body"
	assert_equal "$(sed -n 's/^size: //p' "$f")" "$(wc -c <"$WANT")"
}

state_get() { # ID KEY [AREA]
	sed -n "s/^$2: //p" "$QDIR/${3:-q}/$1.state"
}

_q_due() { # a message without a state file has never been tried: due
	local next
	next=$(state_get "$1" next 2>/dev/null) || true
	[ "${next:-0}" -le "$(date +%s)" ]
}

# wait_due ID...: until each message's next try has come (retry_min is 1 s here)
wait_due() {
	local id i
	for id in "$@"; do
		for ((i = 0; i < 100; i++)); do
			_q_due "$id" && break
			sleep 0.1
		done
		_q_due "$id" || fail "$id is not due after 10 s (next: $(state_get "$id" next))"
	done
}

# wait_all_due: every message in q/
wait_all_due() {
	local ids
	mapfile -t ids < <(q_ids q)
	[ ${#ids[@]} -eq 0 ] || wait_due "${ids[@]}"
}

# assert_delivered_once [RCPT...]: the server accepted exactly one message, $WANT byte for byte,
# from $FAKE_FROM to the recipients (default bob@example.org); the queue is empty.
assert_delivered_once() {
	local want_rcpts
	[ $# -gt 0 ] || set -- bob@example.org
	want_rcpts=$(printf '"%s", ' "$@")
	assert_equal "$(msg_count)" 1
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" mail_from)" "$FAKE_FROM"
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" rcpt_tos)" "[${want_rcpts%, }]"
	assert_area_empty q
	assert_area_empty tmp
	assert_area_empty failed
}

assert_sent() { # exit 0 and nothing on stderr
	[ "$status" -eq 0 ] || fail "exit $status, expected 0; stderr: $stderr"
	[ -z "$stderr" ] || fail "exit 0, but stderr: $stderr"
}

# shellcheck disable=SC2120 # options are for tests that need them
run_queue() { # ARGS...: postbote -q with $CONF
	run --separate-stderr pb -C "$CONF" -q "$@"
}

# ---- the fault matrix ----------------------------------------------------------------------
# Every step of the session, each with the server closing the connection (drop), a 4xx, a 5xx
# and no answer (timeout = 2), with the queue on and off.

# fault_queued FRAGMENT FAKEOPT...: a temporary fault with the queue on: exit 0, one "queued as"
# line with FRAGMENT, the complete message in q/; then -q against a healthy server delivers it
# exactly once and empties the queue.
fault_queued() {
	local frag=$1
	shift
	q_start "$@"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_queued "$frag"
	assert_queue_file "$QID" bob@example.org
	assert_equal "$(state_get "$QID" attempts)" 1
	[[ $(state_get "$QID" error) == *"$frag"* ]] || fail "state error: $(state_get "$QID" error)"
	assert_equal "$(msg_count)" 0
	healthy_restart
	wait_due "$QID"
	run_queue
	assert_success
	assert_equal "$stderr" ""
	assert_delivered_once
}

# fault_tempfail FRAGMENT FAKEOPT...: the same fault with queue = off: exit 75, one line ending
# "; try again later", no file kept.
fault_tempfail() {
	local frag=$1
	shift
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS" "$@"
	fake_config "queue_dir = $QDIR" "${Q_EXTRA[@]}"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_equal "$status" 75
	assert_error_line "$frag"
	[[ $stderr == *"; try again later" ]] || fail "stderr does not end '; try again later': $stderr"
	assert_equal "$(msg_count)" 0
	assert_nothing_kept
}

# fault_refused QUEUE CODE FRAGMENT FAKEOPT...: a permanent fault: exit CODE and one line, with
# the queue on (QUEUE=on) or off; nothing is queued and nothing was accepted.
fault_refused() {
	local queue=$1 code=$2 frag=$3
	shift 3
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS" "$@"
	if [ "$queue" = on ]; then
		q_conf "$BATS_TEST_TMPDIR/postbote.conf" "$FAKE_PORT"
	else
		fake_config "queue_dir = $QDIR"
	fi
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_equal "$status" "$code"
	assert_error_line "$frag"
	[[ $stderr != *"queued as"* ]] || fail "a permanent failure was queued: $stderr"
	assert_equal "$(msg_count)" 0
	if [ "$queue" = on ]; then
		assert_area_empty q
		assert_area_empty tmp
	else
		assert_nothing_kept
	fi
}

# drop: the server closes the connection instead of answering
@test "queue on, drop at the greeting: queued; -q delivers it once" { fault_queued "lost while waiting for the reply to the greeting" --drop GREETING; }
@test "queue on, drop at EHLO: queued; -q delivers it once" { fault_queued "lost while waiting for the reply to EHLO" --drop EHLO; }
@test "queue on, drop at STARTTLS: queued; -q delivers it once" { fault_queued "lost while waiting for the reply to STARTTLS" --drop STARTTLS; }
@test "queue on, drop at AUTH: queued; -q delivers it once" { fault_queued "lost while waiting for the reply to AUTH" --drop AUTH; }
@test "queue on, drop at MAIL: queued; -q delivers it once" { fault_queued "lost while waiting for the reply to MAIL FROM" --drop MAIL; }
@test "queue on, drop at RCPT: queued; -q delivers it once" { fault_queued "lost while waiting for the reply to RCPT TO" --drop RCPT; }
@test "queue on, drop at DATA: queued; -q delivers it once" { fault_queued "lost while waiting for the reply to DATA" --drop DATA; }
@test "queue on, drop in the message body: queued; -q delivers it once" { fault_queued "connection to localhost lost" --drop DATA-BODY; }
@test "queue on, drop after the final dot: queued; -q delivers it once" { fault_queued "lost while waiting for the reply to the end of the message" --drop EOM; }

@test "queue off, drop at the greeting: exit 75" { fault_tempfail "lost while waiting for the reply to the greeting" --drop GREETING; }
@test "queue off, drop at EHLO: exit 75" { fault_tempfail "lost while waiting for the reply to EHLO" --drop EHLO; }
@test "queue off, drop at STARTTLS: exit 75" { fault_tempfail "lost while waiting for the reply to STARTTLS" --drop STARTTLS; }
@test "queue off, drop at AUTH: exit 75" { fault_tempfail "lost while waiting for the reply to AUTH" --drop AUTH; }
@test "queue off, drop at MAIL: exit 75" { fault_tempfail "lost while waiting for the reply to MAIL FROM" --drop MAIL; }
@test "queue off, drop at RCPT: exit 75" { fault_tempfail "lost while waiting for the reply to RCPT TO" --drop RCPT; }
@test "queue off, drop at DATA: exit 75" { fault_tempfail "lost while waiting for the reply to DATA" --drop DATA; }
@test "queue off, drop in the message body: exit 75" { fault_tempfail "connection to localhost lost" --drop DATA-BODY; }
@test "queue off, drop after the final dot: exit 75" { fault_tempfail "lost while waiting for the reply to the end of the message" --drop EOM; }

# 4xx
@test "queue on, 421 greeting: queued; -q delivers it once" { fault_queued "answered the greeting with 421 4.3.2 too busy" --reply 'GREETING=421 4.3.2 too busy'; }
@test "queue on, 4xx to EHLO: queued; -q delivers it once" { fault_queued "answered EHLO with 451 4.3.0 ehlo later" --reply 'EHLO=451 4.3.0 ehlo later'; }
@test "queue on, 4xx to STARTTLS: queued; -q delivers it once" { fault_queued "answered STARTTLS with 454 4.7.0 TLS not available now" --reply 'STARTTLS=454 4.7.0 TLS not available now'; }
@test "queue on, 4xx to AUTH: queued; -q delivers it once" { fault_queued "454 4.7.0 temporary authentication failure" --reply 'AUTH=454 4.7.0 temporary authentication failure'; }
@test "queue on, 4xx to MAIL: queued; -q delivers it once" { fault_queued "answered MAIL FROM with 451 4.3.0 try later" --reply 'MAIL=451 4.3.0 try later'; }
@test "queue on, 4xx to RCPT: queued; -q delivers it once" { fault_queued "answered RCPT TO:<bob@example.org> with 450 4.2.1 mailbox busy" --reply 'RCPT=450 4.2.1 mailbox busy'; }
@test "queue on, 4xx to DATA: queued; -q delivers it once" { fault_queued "answered DATA with 451 4.3.0 not now" --reply 'DATA=451 4.3.0 not now'; }
@test "queue on, 4xx after the final dot: queued; -q delivers it once" { fault_queued "answered the end of the message with 452 4.3.1 insufficient storage" --reply 'EOM=452 4.3.1 insufficient storage'; }

@test "queue off, 421 greeting: exit 75" { fault_tempfail "answered the greeting with 421 4.3.2 too busy" --reply 'GREETING=421 4.3.2 too busy'; }
@test "queue off, 4xx to EHLO: exit 75" { fault_tempfail "answered EHLO with 451 4.3.0 ehlo later" --reply 'EHLO=451 4.3.0 ehlo later'; }
@test "queue off, 4xx to STARTTLS: exit 75" { fault_tempfail "answered STARTTLS with 454 4.7.0 TLS not available now" --reply 'STARTTLS=454 4.7.0 TLS not available now'; }
@test "queue off, 4xx to AUTH: exit 75" { fault_tempfail "454 4.7.0 temporary authentication failure" --reply 'AUTH=454 4.7.0 temporary authentication failure'; }
@test "queue off, 4xx to MAIL: exit 75" { fault_tempfail "answered MAIL FROM with 451 4.3.0 try later" --reply 'MAIL=451 4.3.0 try later'; }
@test "queue off, 4xx to RCPT: exit 75" { fault_tempfail "answered RCPT TO:<bob@example.org> with 450 4.2.1 mailbox busy" --reply 'RCPT=450 4.2.1 mailbox busy'; }
@test "queue off, 4xx to DATA: exit 75" { fault_tempfail "answered DATA with 451 4.3.0 not now" --reply 'DATA=451 4.3.0 not now'; }
@test "queue off, 4xx after the final dot: exit 75" { fault_tempfail "answered the end of the message with 452 4.3.1 insufficient storage" --reply 'EOM=452 4.3.1 insufficient storage'; }

# 5xx: never queued
@test "queue on, 554 greeting: exit 69, not queued" { fault_refused on 69 "refused the connection: 554 5.3.2 no service" --reply 'GREETING=554 5.3.2 no service'; }
@test "queue on, 5xx to EHLO (HELO then gives no STARTTLS): exit 69, not queued" { fault_refused on 69 "localhost" --reply 'EHLO=550 5.5.0 no ehlo'; }
@test "queue on, 5xx to STARTTLS: exit 69, not queued" { fault_refused on 69 "refused STARTTLS: 554 5.7.0 no TLS for you" --reply 'STARTTLS=554 5.7.0 no TLS for you'; }
@test "queue on, 5xx to AUTH: exit 77, not queued" { fault_refused on 77 "535 5.7.8 bad credentials" --reply 'AUTH=535 5.7.8 bad credentials'; }
@test "queue on, 5xx to MAIL: exit 69, not queued" { fault_refused on 69 "rejected the sender: 553 5.7.1 sender not allowed" --reply 'MAIL=553 5.7.1 sender not allowed'; }
@test "queue on, 5xx to RCPT: exit 67, not queued" { fault_refused on 67 "rejected recipient <bob@example.org>: 550 5.1.1 no such user" --reply 'RCPT=550 5.1.1 no such user'; }
@test "queue on, 5xx to DATA: exit 69, not queued" { fault_refused on 69 "554 5.5.1 no valid recipients" --reply 'DATA=554 5.5.1 no valid recipients'; }
@test "queue on, 5xx after the final dot: exit 69, not queued" { fault_refused on 69 "rejected the message: 554 5.7.1 spam" --reply 'EOM=554 5.7.1 spam'; }

@test "queue off, 554 greeting: exit 69" { fault_refused off 69 "refused the connection: 554 5.3.2 no service" --reply 'GREETING=554 5.3.2 no service'; }
@test "queue off, 5xx to EHLO: exit 69" { fault_refused off 69 "localhost" --reply 'EHLO=550 5.5.0 no ehlo'; }
@test "queue off, 5xx to STARTTLS: exit 69" { fault_refused off 69 "refused STARTTLS: 554 5.7.0 no TLS for you" --reply 'STARTTLS=554 5.7.0 no TLS for you'; }
@test "queue off, 5xx to AUTH: exit 77" { fault_refused off 77 "535 5.7.8 bad credentials" --reply 'AUTH=535 5.7.8 bad credentials'; }
@test "queue off, 5xx to MAIL: exit 69" { fault_refused off 69 "rejected the sender: 553 5.7.1 sender not allowed" --reply 'MAIL=553 5.7.1 sender not allowed'; }
@test "queue off, 5xx to RCPT: exit 67" { fault_refused off 67 "rejected recipient <bob@example.org>: 550 5.1.1 no such user" --reply 'RCPT=550 5.1.1 no such user'; }
@test "queue off, 5xx to DATA: exit 69" { fault_refused off 69 "554 5.5.1 no valid recipients" --reply 'DATA=554 5.5.1 no valid recipients'; }
@test "queue off, 5xx after the final dot: exit 69" { fault_refused off 69 "rejected the message: 554 5.7.1 spam" --reply 'EOM=554 5.7.1 spam'; }

# timeouts: no answer within timeout = 2
@test "queue on, no greeting within the timeout: queued; -q delivers it once" { Q_EXTRA=("timeout = 2"); fault_queued "timed out after 2 s while waiting for the reply to the greeting" --delay GREETING=60; }
@test "queue on, no answer to EHLO: queued; -q delivers it once" { Q_EXTRA=("timeout = 2"); fault_queued "timed out after 2 s while waiting for the reply to EHLO" --delay EHLO=60; }
@test "queue on, no answer to STARTTLS: queued; -q delivers it once" { Q_EXTRA=("timeout = 2"); fault_queued "timed out after 2 s while waiting for the reply to STARTTLS" --delay STARTTLS=60; }
@test "queue on, no answer to AUTH: queued; -q delivers it once" { Q_EXTRA=("timeout = 2"); fault_queued "timed out after 2 s while waiting for the reply to AUTH" --delay AUTH=60; }
@test "queue on, no answer to MAIL: queued; -q delivers it once" { Q_EXTRA=("timeout = 2"); fault_queued "timed out after 2 s while waiting for the reply to MAIL FROM" --delay MAIL=60; }
@test "queue on, no answer to RCPT: queued; -q delivers it once" { Q_EXTRA=("timeout = 2"); fault_queued "timed out after 2 s while waiting for the reply to RCPT TO" --delay RCPT=60; }
@test "queue on, no answer to DATA: queued; -q delivers it once" { Q_EXTRA=("timeout = 2"); fault_queued "timed out after 2 s while waiting for the reply to DATA" --delay DATA=60; }
@test "queue on, no answer after the final dot: queued; -q delivers it once" { Q_EXTRA=("timeout = 2"); fault_queued "timed out after 2 s while waiting for the reply to the end of the message" --delay EOM=60; }

@test "queue off, no greeting within the timeout: exit 75" { Q_EXTRA=("timeout = 2"); fault_tempfail "timed out after 2 s while waiting for the reply to the greeting" --delay GREETING=60; }
@test "queue off, no answer to EHLO: exit 75" { Q_EXTRA=("timeout = 2"); fault_tempfail "timed out after 2 s while waiting for the reply to EHLO" --delay EHLO=60; }
@test "queue off, no answer to STARTTLS: exit 75" { Q_EXTRA=("timeout = 2"); fault_tempfail "timed out after 2 s while waiting for the reply to STARTTLS" --delay STARTTLS=60; }
@test "queue off, no answer to AUTH: exit 75" { Q_EXTRA=("timeout = 2"); fault_tempfail "timed out after 2 s while waiting for the reply to AUTH" --delay AUTH=60; }
@test "queue off, no answer to MAIL: exit 75" { Q_EXTRA=("timeout = 2"); fault_tempfail "timed out after 2 s while waiting for the reply to MAIL FROM" --delay MAIL=60; }
@test "queue off, no answer to RCPT: exit 75" { Q_EXTRA=("timeout = 2"); fault_tempfail "timed out after 2 s while waiting for the reply to RCPT TO" --delay RCPT=60; }
@test "queue off, no answer to DATA: exit 75" { Q_EXTRA=("timeout = 2"); fault_tempfail "timed out after 2 s while waiting for the reply to DATA" --delay DATA=60; }
@test "queue off, no answer after the final dot: exit 75" { Q_EXTRA=("timeout = 2"); fault_tempfail "timed out after 2 s while waiting for the reply to the end of the message" --delay EOM=60; }

@test "connection refused with the queue on: queued; -q delivers it once" {
	q_start
	local port
	port=$(sed -n 's/^port = //p' "$DOWN")
	run --separate-stderr pb -C "$DOWN" bob@example.org <"$MSG"
	assert_queued "cannot connect to localhost port $port: Connection refused"
	assert_queue_file "$QID" bob@example.org
	wait_due "$QID"
	run_queue
	assert_success
	assert_delivered_once
}

@test "connection refused with the queue off: exit 75, nothing kept" {
	local port
	port=$(free_port)
	FAKE_PORT=$port fake_config "queue_dir = $QDIR"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_equal "$status" 75
	assert_error_line "postbote: cannot connect to localhost port $port: Connection refused; try again later"
	assert_nothing_kept
}

@test "a queued message arrives exactly as a direct submission of the same input would" {
	# no Date, no Message-ID: postbote adds them once, at submission, and the queue keeps them
	printf 'From: Alice <alice@example.org>\nTo: bob@example.org\nSubject: added headers\n\nbody\n' >"$MSG"
	q_start
	run --separate-stderr pb -C "$DOWN" bob@example.org <"$MSG"
	assert_queued "Connection refused"
	local queued_id=$QID
	run --separate-stderr pb -C "$CONF" carol@example.org <"$MSG"	# direct
	assert_success
	# queue_flush (on by default) may have sent the queued one over the same connection if due;
	# otherwise -q does
	wait_all_due
	run_queue
	assert_success
	assert_equal "$(msg_count)" 2
	local direct queued f
	for f in "$FAKE_OUT"/msg-*.json; do
		case $(json_get "$f" rcpt_tos) in
		'["carol@example.org"]') direct=${f%.json}.eml ;;
		'["bob@example.org"]') queued=${f%.json}.eml ;;
		esac
	done
	[ -n "$direct" ] && [ -n "$queued" ] || fail "expected one message to carol and one to bob"
	grep -q '^Message-ID: <' "$queued" || fail "no Message-ID added to the queued message"
	grep -q '^Date: ' "$queued" || fail "no Date added to the queued message"
	# the same bytes apart from the generated Date and Message-ID
	diff <(grep -v -e '^Date: ' -e '^Message-ID: ' "$direct") \
		<(grep -v -e '^Date: ' -e '^Message-ID: ' "$queued") ||
		fail "the queued message differs from the direct one beyond Date/Message-ID"
	run grep -c '^Message-ID: ' "$queued"
	assert_output 1
	assert_area_empty q
	[ -n "$queued_id" ]
}

# ---- partial results ----------------------------------------------------------------------

@test "5xx to one of two recipients: the other gets it, exit 67, a copy in failed/ with the reason" {
	q_start --reply-rcpt 'carol@example.org=550 5.1.1 carol is gone'
	run --separate-stderr pb -C "$CONF" bob@example.org carol@example.org <"$MSG"
	assert_equal "$status" 67
	assert_error_line "rejected recipient <carol@example.org>: 550 5.1.1 carol is gone"
	assert_equal "$(msg_count)" 1
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" rcpt_tos)" '["bob@example.org"]'
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
	assert_area_empty q
	assert_area_empty tmp
	local ids
	ids=$(q_ids failed)
	[ "$(q_count failed)" -eq 1 ] || fail "expected one copy in failed/: $ids"
	local f=$QDIR/failed/$ids
	assert_equal "$(sed -n '/^$/q; s/^rcpt: //p' "$f")" carol@example.org
	assert_equal "$(tail -c 4 "$f" | od -An -c | tr -d ' ')" 'end\n'
	run grep -F $'failed: carol@example.org\t' "$f.state"
	assert_success
	assert_output --partial "550 5.1.1 carol is gone"
	# the failed area is never sent again
	run_queue
	assert_success
	assert_equal "$(msg_count)" 1
}

@test "4xx to one of two recipients: the other gets it now, the deferred one is queued (exit 0)" {
	q_start --reply-rcpt 'carol@example.org=450 4.2.1 carol is busy'
	run --separate-stderr pb -C "$CONF" bob@example.org carol@example.org <"$MSG"
	assert_queued "answered RCPT TO:<carol@example.org> with 450 4.2.1 carol is busy"
	assert_equal "$(msg_count)" 1
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" rcpt_tos)" '["bob@example.org"]'
	assert_queue_file "$QID" carol@example.org
	healthy_restart
	wait_due "$QID"
	run_queue
	assert_success
	assert_delivered_once carol@example.org
}

@test "one recipient accepted, one refused, one deferred: exit 67, two lines, the deferred one queued" {
	q_start --reply-rcpt 'carol@example.org=550 5.1.1 carol is gone' \
		--reply-rcpt 'dave@example.org=451 4.3.0 dave later'
	run --separate-stderr pb -C "$CONF" bob@example.org carol@example.org dave@example.org <"$MSG"
	assert_equal "$status" 67
	# shellcheck disable=SC2154 # set by run --separate-stderr
	assert_equal "${#stderr_lines[@]}" 2
	[[ $stderr == *"rejected recipient <carol@example.org>: 550 5.1.1 carol is gone"* ]] ||
		fail "carol's refusal is not on stderr: $stderr"
	local line
	line=$(grep '^postbote: queued as ' <<<"$stderr")
	[[ $line =~ $QUEUED_RE ]] || fail "no 'queued as' line: $stderr"
	[[ $line == *"dave@example.org"* ]] || fail "the queued line does not name dave: $line"
	QID=${BASH_REMATCH[1]}
	assert_equal "$(q_ids q)" "$QID"
	assert_queue_file "$QID" dave@example.org
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" rcpt_tos)" '["bob@example.org"]'
	[ "$(q_count failed)" -eq 1 ] || fail "no copy for carol in failed/"
}

# ---- several transactions -----------------------------------------------------------------

# rcpt_limit_server: a fakesmtp.py that answers "452 4.5.3 too many recipients" to every
# RCPT beyond $FAKE_RCPT_LIMIT in one transaction, like Postfix's smtpd_recipient_limit.
rcpt_limit_server() {
	local f=$BATS_TEST_TMPDIR/fakesmtp_limit.py
	cat >"$f" <<EOF
import os, sys
sys.path.insert(0, "$TESTS_DIR")
import fakesmtp
_orig = fakesmtp.Handler.handle_RCPT
LIMIT = int(os.environ["FAKE_RCPT_LIMIT"])
async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
    if len(envelope.rcpt_tos) >= LIMIT:
        return "452 4.5.3 Error: too many recipients"
    return await _orig(self, server, session, envelope, address, rcpt_options)
fakesmtp.Handler.handle_RCPT = handle_RCPT
sys.exit(fakesmtp.main(sys.argv[1:]))
EOF
	FAKESMTP=$f
}

@test "452 4.5.3 too many recipients: the rest go in further transactions on the same connection" {
	rcpt_limit_server
	FAKE_RCPT_LIMIT=2 q_start
	run --separate-stderr pb -C "$CONF" r1@example.org r2@example.org r3@example.org \
		r4@example.org r5@example.org <"$MSG"
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(msg_count)" 3
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" rcpt_tos)" '["r1@example.org", "r2@example.org"]'
	assert_equal "$(json_get "$FAKE_OUT/msg-2.json" rcpt_tos)" '["r3@example.org", "r4@example.org"]'
	assert_equal "$(json_get "$FAKE_OUT/msg-3.json" rcpt_tos)" '["r5@example.org"]'
	local i
	for i in 1 2 3; do
		assert_equal "$(json_get "$FAKE_OUT/msg-$i.json" connection)" 1
		assert_same_bytes "$WANT" "$FAKE_OUT/msg-$i.eml"
	done
	run grep -c '^1 tls RSET$' "$FAKE_OUT/transcript.log"
	assert_output 2
	assert_area_empty q
}

@test "452 to a recipient that is refused again in its own transaction: the others get it, that one is queued" {
	q_start --reply-rcpt 'carol@example.org=452 4.5.3 too many recipients'
	run --separate-stderr pb -C "$CONF" bob@example.org carol@example.org dave@example.org <"$MSG"
	assert_queued "carol@example.org" "452 4.5.3"
	assert_equal "$(msg_count)" 1
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" rcpt_tos)" '["bob@example.org", "dave@example.org"]'
	# the follow-up transaction was tried on the same connection
	run grep -c '^1 tls RCPT TO:<carol@example.org>' "$FAKE_OUT/transcript.log"
	assert_output 2
	assert_queue_file "$QID" carol@example.org
}

@test "max_recipients = 2: five recipients go in three transactions over one connection" {
	Q_EXTRA=("max_recipients = 2")
	q_start
	run --separate-stderr pb -C "$CONF" r1@example.org r2@example.org r3@example.org \
		r4@example.org r5@example.org <"$MSG"
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(msg_count)" 3
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" rcpt_tos)" '["r1@example.org", "r2@example.org"]'
	assert_equal "$(json_get "$FAKE_OUT/msg-2.json" rcpt_tos)" '["r3@example.org", "r4@example.org"]'
	assert_equal "$(json_get "$FAKE_OUT/msg-3.json" rcpt_tos)" '["r5@example.org"]'
	local i
	for i in 1 2 3; do
		assert_equal "$(json_get "$FAKE_OUT/msg-$i.json" connection)" 1
		assert_same_bytes "$WANT" "$FAKE_OUT/msg-$i.eml"
	done
	# and from the queue as well
	run --separate-stderr pb -C "$DOWN" r1@example.org r2@example.org r3@example.org <"$MSG"
	assert_queued
	wait_due "$QID"
	run_queue
	assert_success
	assert_equal "$(msg_count)" 5
	assert_equal "$(json_get "$FAKE_OUT/msg-4.json" rcpt_tos)" '["r1@example.org", "r2@example.org"]'
	assert_equal "$(json_get "$FAKE_OUT/msg-5.json" rcpt_tos)" '["r3@example.org"]'
	assert_equal "$(json_get "$FAKE_OUT/msg-4.json" connection)" "$(json_get "$FAKE_OUT/msg-5.json" connection)"
	assert_area_empty q
}

# ---- rate limit -----------------------------------------------------------------------------

@test "rate_limit = 2/hour: the third message is queued with the reason, not refused, and -q keeps it" {
	Q_EXTRA=("rate_limit = 2/hour")
	q_start
	local t
	for t in rate-1 rate-2; do
		tagged_message "$t" >"$MSG"
		run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
		assert_success
		assert_equal "$stderr" ""
	done
	tagged_message rate-3 >"$MSG"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_queued "rate limit of 2 per hour"
	assert_equal "$(msg_count)" 2
	assert_equal "$(tag_count rate-3)" 0
	# nothing was even tried: there were two connections, not three
	assert_equal "$(cut -d' ' -f1 "$FAKE_OUT/transcript.log" | sort -u | wc -l)" 2
	local next
	next=$(state_get "$QID" next)
	[ "$next" -ge $(($(date +%s) + 3000)) ] || fail "next try $next is not about an hour away"
	run -0 pb -C "$CONF" "-qI$QID"
	assert_equal "$(msg_count)" 2
	assert_equal "$(q_ids q)" "$QID"
	run -0 pb -C "$CONF" -bp
	assert_output --partial "rate limit"
}

# ---- failover ------------------------------------------------------------------------------

@test "host list: the first host refuses the connection, the second delivers" {
	# 127.0.0.2 is loopback too, but the fake server listens on 127.0.0.1 only
	q_start
	q_conf "$CONF" "$FAKE_PORT" "host = 127.0.0.2, localhost"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_sent
	assert_delivered_once
}

@test "host list: a 421 greeting from the first host, the second delivers" {
	q_start
	local out=$BATS_TEST_TMPDIR/second
	"$PYTHON" "$FAKESMTP" --outdir "$out" --port-file "$out.port" --listen 127.0.0.2 \
		--port "$FAKE_PORT" --reply 'GREETING=421 4.3.2 busy here' </dev/null >"$out.log" 2>&1 3>&- &
	SECOND_PID=$!
	local i
	for ((i = 0; i < 200; i++)); do
		[ -s "$out.port" ] && break
		sleep 0.05
	done
	[ -s "$out.port" ] || fail "second server did not start: $(cat "$out.log")"
	q_conf "$CONF" "$FAKE_PORT" "host = 127.0.0.2, localhost"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_sent
	assert_delivered_once
	grep -q 'S: 421 4.3.2 busy here' "$out/session.log" || fail "the first host was not tried"
}

@test "host list: every host down: queued with the last host's error" {
	q_start
	local port
	port=$(sed -n 's/^port = //p' "$DOWN")
	q_conf "$DOWN" "$port" "host = 127.0.0.2, localhost"
	run --separate-stderr pb -C "$DOWN" bob@example.org <"$MSG"
	assert_queued "cannot connect to localhost port $port"
}

# ---- mailq and the queue commands -------------------------------------------------------

@test "mailq (-bp and the mailq name) lists id, age, size, sender, recipients, attempts, next try, last error" {
	q_start
	local port
	port=$(sed -n 's/^port = //p' "$DOWN")
	run --separate-stderr pb -C "$DOWN" bob@example.org carol@example.org <"$MSG"
	assert_queued
	local size
	size=$(wc -c <"$WANT")
	wait_due "$QID"	# "next try now" from here on, so two listings are equal
	run --separate-stderr pb -C "$CONF" -bp
	assert_success
	assert_equal "$stderr" ""
	assert_line --index 0 --regexp "^$QID +0m +$size +<$FAKE_FROM>\$"
	assert_line --index 1 '    to <bob@example.org>'
	assert_line --index 2 '    to <carol@example.org>'
	assert_line --index 3 "    attempts 1, next try now, last error: cannot connect to localhost port $port: Connection refused"
	assert_line --index 4 "1 message in the queue ($QDIR)."
	local listing=$output
	ln -s "$POSTBOTE" "$BATS_TEST_TMPDIR/mailq"
	run --separate-stderr timeout 30 "$BATS_TEST_TMPDIR/mailq" -C "$CONF"
	assert_success
	assert_equal "$output" "$listing"
	# an empty queue
	run --separate-stderr pb -C "$CONF" --queue-delete "$QID"
	assert_success
	run --separate-stderr pb -C "$CONF" -bp
	assert_success
	assert_output "The queue is empty."
}

@test "mailq marks held messages and leaves out recipients already done" {
	q_start --reply-rcpt 'carol@example.org=450 4.2.1 carol is busy'
	run --separate-stderr pb -C "$CONF" bob@example.org carol@example.org <"$MSG"
	assert_queued
	run -0 pb -C "$CONF" --queue-hold "$QID"
	run --separate-stderr pb -C "$CONF" -bp
	assert_success
	assert_line --index 0 --regexp "^$QID \(held\) "
	assert_line '    to <carol@example.org>'
	refute_line '    to <bob@example.org>'
}

@test "--queue-hold keeps a message from -q; --queue-release lets it go at once" {
	q_start
	run --separate-stderr pb -C "$DOWN" bob@example.org <"$MSG"
	assert_queued
	run --separate-stderr pb -C "$CONF" --queue-hold "$QID"
	assert_success
	assert_equal "$stderr" ""
	assert_file_exist "$QDIR/hold/$QID"
	assert_file_exist "$QDIR/hold/$QID.state"
	assert_area_empty q
	sleep 1.1	# past queue_retry_min: it would be due if it were not held
	run_queue
	assert_success
	assert_equal "$(msg_count)" 0
	run --separate-stderr pb -C "$CONF" "-qI$QID"
	assert_equal "$status" 64
	assert_error_line "no message $QID"
	assert_equal "$(msg_count)" 0
	run --separate-stderr pb -C "$CONF" --queue-release "$QID"
	assert_success
	assert_equal "$stderr" ""
	assert_file_exist "$QDIR/q/$QID"
	assert_area_empty hold
	_q_due "$QID" || fail "a released message is not due at once"
	run_queue
	assert_success
	assert_delivered_once
}

@test "--queue-delete removes a message and its state; unknown ids are usage errors" {
	q_start
	run --separate-stderr pb -C "$DOWN" bob@example.org <"$MSG"
	assert_queued
	run --separate-stderr pb -C "$CONF" --queue-delete "$QID"
	assert_success
	assert_equal "$stderr" ""
	assert_area_empty q
	wait_all_due
	run_queue
	assert_equal "$(msg_count)" 0
	run --separate-stderr pb -C "$CONF" --queue-delete "$QID"
	assert_equal "$status" 64
	assert_error_line "$QID"
	run --separate-stderr pb -C "$CONF" --queue-release 20240101000000.0123456789
	assert_equal "$status" 64
	assert_error_line
	run --separate-stderr pb -C "$CONF" --queue-hold ../../etc/passwd
	assert_equal "$status" 64
	assert_error_line
}

@test "-qIID sends that message even when not due, and only that one" {
	Q_EXTRA=("queue_retry_min = 1h")
	q_start
	tagged_message first >"$MSG"
	run --separate-stderr pb -C "$DOWN" bob@example.org <"$MSG"
	assert_queued
	local first=$QID
	tagged_message second >"$MSG"
	run --separate-stderr pb -C "$DOWN" bob@example.org <"$MSG"
	[[ $stderr =~ $QUEUED_RE ]] || fail "second message not queued: $stderr"
	local second=${BASH_REMATCH[1]}
	run_queue	# nothing is due for an hour
	assert_success
	assert_equal "$(msg_count)" 0
	run --separate-stderr pb -C "$CONF" "-qI$second"
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(msg_count)" 1
	assert_equal "$(tag_count second)" 1
	assert_equal "$(q_ids q)" "$first"
	run --separate-stderr pb -C "$CONF" -q30m	# accepted; still nothing due
	assert_success
	assert_equal "$(msg_count)" 1
}

@test "-qI ID (the id as its own argument, as --help shows it) sends that message" {
	Q_EXTRA=("queue_retry_min = 1h")
	q_start
	run --separate-stderr pb -C "$DOWN" bob@example.org <"$MSG"
	assert_queued
	run --separate-stderr pb -C "$CONF" -qI "$QID"
	assert_success
	assert_equal "$stderr" ""
	assert_delivered_once
}

@test "backoff: 1 minute by default, doubling per try up to queue_retry_max" {
	q_start
	run --separate-stderr pb -C "$DOWN" bob@example.org <"$MSG"
	assert_queued
	# default retry_min is 1m: the first retry is a minute after the try
	FAKE_PORT=$(sed -n 's/^port = //p' "$DOWN") fake_config --file "$BATS_TEST_TMPDIR/default.conf" \
		"queue = on" "queue_dir = $QDIR"
	CONF=$BATS_TEST_TMPDIR/postbote.conf
	run --separate-stderr pb -C "$BATS_TEST_TMPDIR/default.conf" bob@example.org <"$MSG"
	[[ $stderr =~ $QUEUED_RE ]] || fail "not queued: $stderr"
	local d=${BASH_REMATCH[1]}
	# (next is reckoned when the submission starts, last when it is queued: a second may tick)
	local gap=$(($(state_get "$d" next) - $(state_get "$d" last)))
	[ "$gap" -ge 59 ] && [ "$gap" -le 60 ] || fail "first retry after $gap s, expected 60"
	run -0 pb -C "$CONF" --queue-delete "$d"
	# 1 s, then 2, 4, 4 with queue_retry_max = 4s
	q_conf "$DOWN" "$(sed -n 's/^port = //p' "$DOWN")" "queue_retry_max = 4s"
	gap=$(($(state_get "$QID" next) - $(state_get "$QID" last)))
	[ "$gap" -ge 0 ] && [ "$gap" -le 1 ] || fail "first retry after $gap s, expected 1"
	local want
	for want in "2 2" "3 4" "4 4" "5 4"; do
		run --separate-stderr pb -C "$DOWN" "-qI$QID"
		assert_success
		assert_equal "$(state_get "$QID" attempts)" "${want% *}"
		assert_equal $(($(state_get "$QID" next) - $(state_get "$QID" last))) "${want#* }"
		[[ $(state_get "$QID" error) == *"Connection refused"* ]] || fail "error: $(state_get "$QID" error)"
	done
}

@test "a queue run sends the messages of one account over one connection, RSET between" {
	q_start
	local t
	for t in run-1 run-2 run-3; do
		tagged_message "$t" >"$MSG"
		run --separate-stderr pb -C "$DOWN" bob@example.org <"$MSG"
		[[ $stderr =~ $QUEUED_RE ]] || fail "not queued: $stderr"
	done
	assert_equal "$(q_count q)" 3
	wait_all_due
	run_queue
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(msg_count)" 3
	for t in run-1 run-2 run-3; do
		assert_equal "$(tag_count "$t")" 1
	done
	local i
	for i in 1 2 3; do
		assert_equal "$(json_get "$FAKE_OUT/msg-$i.json" connection)" 1
	done
	run grep -c '^1 tls RSET$' "$FAKE_OUT/transcript.log"
	assert_output 2
	run grep -c '^1 tls AUTH ' "$FAKE_OUT/transcript.log"
	assert_output 1
	assert_area_empty q
}

# ---- the queue directory ---------------------------------------------------------------------

@test "-bp and -q without -a use the queue_dir set in the account" {
	q_start
	# queue_dir only in [fake]; [defaults] points elsewhere, so a wrong guess is harmless
	local other=$BATS_TEST_TMPDIR/other-queue
	awk -v q="$QDIR" -v o="$other" '
		/^\[/ { sec = $0 }
		/^queue_dir = / { print "queue_dir = " (sec == "[defaults]" ? o : q); next }
		{ print }' "$DOWN" >"$DOWN.new" && mv "$DOWN.new" "$DOWN" && chmod 600 "$DOWN"
	awk -v q="$QDIR" -v o="$other" '
		/^\[/ { sec = $0 }
		/^queue_dir = / { print "queue_dir = " (sec == "[defaults]" ? o : q); next }
		{ print }' "$CONF" >"$CONF.new" && mv "$CONF.new" "$CONF" && chmod 600 "$CONF"
	run --separate-stderr pb -C "$DOWN" bob@example.org <"$MSG"
	assert_queued
	run --separate-stderr pb -C "$CONF" -bp
	assert_success
	assert_line --index 0 --regexp "^$QID "
	wait_due "$QID"
	run_queue
	assert_success
	assert_delivered_once
}

@test "a queue_dir that others can write is never used: exit 74 naming it, never 0" {
	mkdir -p "$QDIR"
	chmod 777 "$QDIR"
	q_start
	run --separate-stderr pb -C "$DOWN" bob@example.org <"$MSG"
	assert_equal "$status" 74
	assert_error_line "could not queue the message" "$QDIR can be written by others"
	assert_equal "$(find "$QDIR" -type f | wc -l)" 0
	# what the smarthost takes at once still goes out
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_success
	assert_equal "$(msg_count)" 1
}

@test "a queue_dir that cannot be used does not hide a refused recipient: exit 67 naming it" {
	mkdir -p "$QDIR"
	chmod 777 "$QDIR"
	q_start --reply-rcpt 'carol@example.org=550 5.1.1 carol is gone'
	run --separate-stderr pb -C "$CONF" bob@example.org carol@example.org <"$MSG"
	assert_equal "$status" 67
	[[ $stderr == *"rejected recipient <carol@example.org>: 550 5.1.1 carol is gone"* ]] ||
		fail "the refused recipient is not on stderr: $stderr"
	assert_equal "$(msg_count)" 1
}

@test "-q without -a runs the queue of every account, also one with its own queue_dir" {
	q_start
	local q2=$BATS_TEST_TMPDIR/queue2 port
	port=$(sed -n 's/^port = //p' "$DOWN")
	for f in "$CONF" "$DOWN"; do
		p=$(sed -n 's/^port = //p' "$f")
		cat >>"$f" <<-EOF

			[other]
			host = localhost
			port = $p
			tls = starttls
			tls_trust_file = $CA_DIR/ca.pem
			user = $FAKE_USER
			password = $FAKE_PASS
			from = other@example.org
			queue = on
			queue_dir = $q2
			queue_retry_min = 1s
		EOF
	done
	run --separate-stderr pb -C "$DOWN" -a other bob@example.org <"$MSG"
	[[ $stderr =~ $QUEUED_RE ]] || fail "not queued: $stderr"
	local id=${BASH_REMATCH[1]}
	assert_file_exist "$q2/q/$id"
	sleep 1.1	# past queue_retry_min
	run --separate-stderr pb -C "$CONF" -bp
	assert_success
	assert_output --partial "$id"
	run_queue
	assert_success
	assert_equal "$(msg_count)" 1
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" mail_from)" other@example.org
	[ ! -e "$q2/q/$id" ] || fail "$id is still in $q2/q"
}

# ---- lifetime and bounces -----------------------------------------------------------------

# expire_setup FAKEOPT...: a message from $FAKE_FROM to bob queued with queue_lifetime = 1s,
# then the lifetime passes.
expire_setup() {
	Q_EXTRA=("queue_lifetime = 1s" "${Q_EXTRA_MORE[@]}")
	q_start "$@"
	run --separate-stderr pb -C "${EXPIRE_CONF:-$CONF}" "${EXPIRE_ARGS[@]}" bob@example.org <"$MSG"
	assert_queued
	local created i
	created=$(sed -n '/^$/q; s/^created: //p' "$QDIR/q/$QID")
	for ((i = 0; i < 50; i++)); do
		[ "$(date +%s)" -gt $((created + 1)) ] && break
		sleep 0.1
	done
	wait_due "$QID"
}

@test "queue_lifetime: a message still deferred after its lifetime goes to failed/ and the sender gets a bounce" {
	EXPIRE_ARGS=()
	expire_setup --reply-rcpt 'bob@example.org=450 4.2.1 bob is over quota'
	run_queue
	assert_success
	assert_area_empty q
	assert_file_exist "$QDIR/failed/$QID"
	run grep -F $'failed: bob@example.org\t' "$QDIR/failed/$QID.state"
	assert_success
	assert_output --partial "450 4.2.1 bob is over quota"
	# the bounce went through the smarthost, from the null sender to the envelope sender
	assert_equal "$(msg_count)" 1
	local j=$FAKE_OUT/msg-1.json b=$FAKE_OUT/msg-1.eml
	assert_equal "$(json_get "$j" mail_from)" "<>"	# aiosmtpd's null sender
	assert_equal "$(json_get "$j" rcpt_tos)" "[\"$FAKE_FROM\"]"
	run grep -i '^To: ' "$b"
	assert_output --partial "$FAKE_FROM"
	run grep -i '^Subject: ' "$b"
	assert_output --regexp '[Uu]ndeliver|[Rr]eturned|[Ff]ailure|[Ff]ailed'
	run cat "$b"
	assert_output --partial "bob@example.org"
	assert_output --partial "450 4.2.1 bob is over quota"
	assert_output --partial "Subject: postbote test"	# the original headers
	assert_output --partial "$QID"
	assert_area_empty tmp
}

@test "queue_lifetime while the smarthost is down: failed/, and the bounce goes out with the next run" {
	EXPIRE_ARGS=()
	EXPIRE_CONF=$BATS_TEST_TMPDIR/down.conf
	expire_setup
	run --separate-stderr pb -C "$DOWN" -q
	assert_success
	assert_file_exist "$QDIR/failed/$QID"
	assert_equal "$(msg_count)" 0
	# the bounce waits in the queue, addressed to the sender from the null sender
	local b
	b=$(q_ids q)
	[ -n "$b" ] || fail "no bounce was queued"
	assert_equal "$(sed -n '/^$/q; s/^rcpt: //p' "$QDIR/q/$b")" "$FAKE_FROM"
	assert_equal "$(sed -n '/^$/q; s/^from: *//p' "$QDIR/q/$b")" ""
	wait_due "$b"
	run_queue
	assert_success
	assert_equal "$(msg_count)" 1
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" mail_from)" "<>"
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" rcpt_tos)" "[\"$FAKE_FROM\"]"
	run cat "$FAKE_OUT/msg-1.eml"
	assert_output --partial "Connection refused"
	assert_area_empty q
}

@test "queue_lifetime with the null sender (-f '<>'): failed/, and no bounce to anyone" {
	EXPIRE_ARGS=(-f '<>')
	Q_EXTRA_MORE=("allow_from_override = on")
	expire_setup --reply-rcpt 'bob@example.org=450 4.2.1 bob is over quota'
	assert_equal "$(sed -n '/^$/q; s/^from: *//p' "$QDIR/q/$QID")" ""
	run_queue
	assert_success
	assert_file_exist "$QDIR/failed/$QID"
	assert_area_empty q
	assert_equal "$(msg_count)" 0
	run grep -c '^[0-9]* tls MAIL FROM:<>' "$FAKE_OUT/transcript.log"
	assert_output 2	# the submission and the last try; no third for a bounce
}

# ---- damaged files ------------------------------------------------------------------------

# damaged QUEUE-FILE-EDIT: a queued message whose file is then damaged by the command is never
# sent, and goes to failed/.
damaged() {
	q_start
	run --separate-stderr pb -C "$DOWN" bob@example.org <"$MSG"
	assert_queued
	local f=$QDIR/q/$QID
	"$@" "$f"
	wait_due "$QID"
	run_queue
	assert_equal "$(msg_count)" 0
	refute_client_sent '^MAIL FROM'
	assert_area_empty q
	assert_file_exist "$QDIR/failed/$QID"
	[[ $stderr == *"$QID"* ]] || fail "nothing on stderr names the damaged file: $stderr"
}

cut_end_marker() { truncate -s -4 "$1"; }
cut_in_body() { truncate -s $(($(stat -c %s "$1") - 20)) "$1"; }
cut_in_envelope() { truncate -s 30 "$1"; }
extra_bytes() { printf 'more\n' >>"$1"; }
empty_file() { : >"$1"; }
wrong_version() { sed -i '1s/.*/postbote-queue 9/' "$1"; }

@test "a queue file without its end marker is never sent and goes to failed/" { damaged cut_end_marker; }
@test "a queue file cut in the message is never sent and goes to failed/" { damaged cut_in_body; }
@test "a queue file cut in the envelope is never sent and goes to failed/" { damaged cut_in_envelope; }
@test "a queue file with bytes after the end marker is never sent and goes to failed/" { damaged extra_bytes; }
@test "an empty queue file is never sent and goes to failed/" { damaged empty_file; }
@test "a queue file of an unknown version is never sent and goes to failed/" { damaged wrong_version; }

@test "leftovers in tmp/ (a killed writer) are never sent" {
	q_start
	run --separate-stderr pb -C "$DOWN" bob@example.org <"$MSG"
	assert_queued
	cp "$QDIR/q/$QID" "$QDIR/tmp/20240101000000.0123456789"
	run -0 pb -C "$CONF" --queue-delete "$QID"
	run_queue
	assert_success
	assert_equal "$(msg_count)" 0
	run -0 pb -C "$CONF" -bp
	assert_output "The queue is empty."
}

# ---- queue_flush ---------------------------------------------------------------------------

@test "queue_flush: after a direct success, due messages go out over the same connection" {
	q_start
	local t
	for t in flush-1 flush-2; do
		tagged_message "$t" >"$MSG"
		run --separate-stderr pb -C "$DOWN" bob@example.org <"$MSG"
		[[ $stderr =~ $QUEUED_RE ]] || fail "not queued: $stderr"
	done
	wait_all_due
	q_conf "$CONF" "$FAKE_PORT" "queue_flush = on"
	tagged_message direct >"$MSG"
	run --separate-stderr pb -C "$CONF" carol@example.org <"$MSG"
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(msg_count)" 3
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" rcpt_tos)" '["carol@example.org"]'
	assert_equal "$(tag_count direct)" 1
	assert_equal "$(tag_count flush-1)" 1
	assert_equal "$(tag_count flush-2)" 1
	local i
	for i in 1 2 3; do
		assert_equal "$(json_get "$FAKE_OUT/msg-$i.json" connection)" 1
	done
	assert_area_empty q
}

@test "queue_flush = off: a direct success leaves the queue alone" {
	q_start
	run --separate-stderr pb -C "$DOWN" bob@example.org <"$MSG"
	assert_queued
	wait_due "$QID"
	q_conf "$CONF" "$FAKE_PORT" "queue_flush = off"
	run --separate-stderr pb -C "$CONF" carol@example.org <"$MSG"
	assert_success
	assert_equal "$(msg_count)" 1
	assert_equal "$(q_ids q)" "$QID"
}

# ---- concurrency ---------------------------------------------------------------------------

@test "two queue runners started together on 20 messages deliver each exactly once" {
	q_start --delay EOM=0.05
	# (no loop variable "i" around `run`: Bats 1.8's run overwrites a global i)
	local k
	for ((k = 1; k <= 20; k++)); do
		tagged_message "pair-$k" >"$MSG"
		run --separate-stderr pb -C "$DOWN" bob@example.org <"$MSG"
		[[ $stderr =~ $QUEUED_RE ]] || fail "message $k not queued: $stderr"
	done
	assert_equal "$(q_count q)" 20
	wait_all_due
	# both wait for the same file, so they start within a few milliseconds of each other
	local go=$BATS_TEST_TMPDIR/go
	local barrier='for ((w = 0; w < 1000; w++)); do [ -e "$0" ] && break; sleep 0.005; done'
	bash -c "$barrier"' && exec timeout 60 "$1" -C "$2" -q' "$go" "$POSTBOTE" "$CONF" \
		2>"$BATS_TEST_TMPDIR/r1.err" 3>&- &
	local p1=$!
	bash -c "$barrier"' && exec timeout 60 "$1" -C "$2" -q' "$go" "$POSTBOTE" "$CONF" \
		2>"$BATS_TEST_TMPDIR/r2.err" 3>&- &
	local p2=$!
	Q_PIDS="$p1 $p2"
	: >"$go"
	local s1=0 s2=0
	wait "$p1" || s1=$?
	wait "$p2" || s2=$?
	Q_PIDS=
	assert_equal "$s1 $s2" "0 0"
	assert_equal "$(msg_count)" 20
	for ((k = 1; k <= 20; k++)); do
		assert_equal "$(tag_count "pair-$k")" 1
	done
	assert_area_empty q
	assert_area_empty tmp
}

# ---- a full disk -----------------------------------------------------------------------------

# small_queue_fs: QDIR on a 64 kB tmpfs (root only)
small_queue_fs() {
	[ "$(id -u)" = 0 ] || skip "mounting a tmpfs needs root"
	mkdir -p "$QDIR"
	mount -t tmpfs -o size=64k,mode=0700 tmpfs "$QDIR" 2>/dev/null || skip "cannot mount a tmpfs here"
	Q_MOUNT=$QDIR
}

big_message() { # BYTES of body after std_message's headers
	{
		std_message
		"$PYTHON" -c 'import sys
n = int(sys.argv[1])
line = "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvw\n"
sys.stdout.write(line * (n // len(line)))' "$1"
	} >"$MSG"
}

@test "a full disk: a message larger than the queue's filesystem is not queued: exit 74, never 0" {
	small_queue_fs
	big_message 200000
	q_start
	run --separate-stderr pb -C "$DOWN" bob@example.org <"$MSG"
	assert_equal "$status" 74
	assert_error_line "could not queue" "No space left on device"
	assert_area_empty q
	assert_area_empty tmp
}

@test "a full disk: exit 0 means queued and sent later, exit 74 means never sent" {
	small_queue_fs
	q_start
	# fill the filesystem in ever smaller steps until nothing more fits, so that some attempt
	# runs out of space after the message file and before its state file
	local size n=0 tags=() codes=() i
	for size in 20000 20000 12000 8000 6000 4000 3000 2000 1000 500 200 100; do
		n=$((n + 1))
		big_message "$size"
		sed -i "s/^Message-ID: .*/Message-ID: <disk-$n@example.org>/" "$MSG"
		run --separate-stderr pb -C "$DOWN" bob@example.org <"$MSG"
		tags+=("disk-$n")
		codes+=("$status")
		if [ "$status" -ne 0 ]; then
			assert_equal "$status" 74
			assert_error_line "could not queue" "No space left on device"
		else
			[[ $stderr =~ $QUEUED_RE ]] || fail "exit 0 without 'queued as': $stderr"
		fi
	done
	[[ " ${codes[*]} " == *" 74 "* ]] || fail "the filesystem never filled up: ${codes[*]}"
	# every message in q/ has its state (checked after the run, which shows the consequence)
	local stateless=()
	for i in $(q_ids q); do
		[ -e "$QDIR/q/$i.state" ] || stateless+=("$i")
	done
	assert_area_empty tmp
	# the queue run sends exactly the messages whose submission said "queued"
	wait_all_due
	run_queue
	assert_success
	for i in "${!tags[@]}"; do
		if [ "${codes[i]}" -eq 0 ]; then
			assert_equal "${tags[i]} delivered $(tag_count "${tags[i]}")" "${tags[i]} delivered 1"
		else
			assert_equal "${tags[i]} (exit ${codes[i]}) delivered $(tag_count "${tags[i]}")" \
				"${tags[i]} (exit ${codes[i]}) delivered 0"
		fi
	done
	assert_area_empty q
	assert_equal "messages in q/ without a state file: ${stateless[*]}" "messages in q/ without a state file: "
}

# ---- crash safety ----------------------------------------------------------------------------

@test "crash safety: 100 submissions and queue runs killed with SIGKILL at random moments lose nothing" {
	# tests/crash/run -n 1000 is the long version; see its header for what it checks
	local work=$BATS_TEST_TMPDIR/crash
	run timeout 300 "$TESTS_DIR/crash/run" -n 100 -w "$work"
	echo "$output" | sed 's/^/# /' >&3
	assert_success
	assert_line --regexp '^lost \(exit 0, neither delivered nor queued\) +0$'
	assert_line --regexp '^damaged queue files +0$'
	assert_line --regexp '^duplicates outside that window +0$'
	assert_line --regexp '^killed processes that left more than one duplicate +0$'
}
