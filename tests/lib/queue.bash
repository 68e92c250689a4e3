# The queue against the fake server, shared by tests/queue_faults.bats, deliver.bats,
# queue_admin.bats, queue_policy.bats and queue_durability.bats (`load lib/queue` after
# `load lib/common`), and the parts that also fit tests/queue_postfix.bats (q_ids, state_get,
# wait_due, wait_all_due, tag_count).
#
# Each file does
#   setup_file() { common_setup_file; }
#   setup()      { queue_setup; }
#   teardown()   { queue_teardown; }
#
# Variables
#   QDIR          the queue directory of the test ($BATS_TEST_TMPDIR/queue)
#   Q_EXTRA       config lines q_conf adds to every account it writes (set before q_start)
#   Q_PIDS, SECOND_PID, Q_MOUNT
#                 background postbote runs, a second fake server and a tmpfs on QDIR that
#                 queue_teardown stops or unmounts
#   after q_start: CONF (the server), DOWN (the same account on a port where nothing listens)
#   after assert_queued: QID
#
# Helpers
#   q_conf FILE PORT [LINE...], q_start [fakesmtp options], healthy_restart [fakesmtp options]
#   q_ids [AREA], q_count AREA, state_get ID KEY [AREA], wait_due ID..., wait_all_due
#   msg_count, tag_count TAG [FILE...], tagged_message TAG, queue_tagged TAG..., run_queue [ARGS...]
#   queue_down [FRAGMENT...], run_queue_due ID...
#   assert_queued [FRAGMENT...], assert_queue_file ID RCPT..., assert_delivered_once [RCPT...],
#   assert_area_empty AREA, assert_nothing_kept (assert_sent is in lib/common)
#   fault_queued, fault_tempfail, fault_refused: one row of the fault matrix each

# shellcheck disable=SC2154 # status and stderr are set by the callers' run --separate-stderr
queue_setup() {
	common_setup
	QDIR=$BATS_TEST_TMPDIR/queue
	Q_EXTRA=()
	# shellcheck disable=SC2034 # read by expire_setup (tests/queue_policy.bats)
	Q_EXTRA_MORE=()
	Q_MOUNT=
	# shellcheck disable=SC2034 # read by fake_config, for a config written before any server runs
	FAKE_TLS=starttls
	std_message >"$MSG"
	std_message | crlf >"$WANT"
}

queue_teardown() {
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
# and --queue-* without -a look there as well (see the test "... queue_dir set in the account"
# in tests/queue_admin.bats).
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

q_ids() { # [AREA]: the message ids in QDIR/AREA (default q), oldest first
	local f
	for f in "$QDIR/${1:-q}"/*; do
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

# tag_count TAG [FILE...]: how many of the messages (default: those the fake server accepted)
# carry Message-ID <TAG@example.org>
tag_count() {
	local tag=$1 n
	shift
	[ $# -gt 0 ] || set -- "$FAKE_OUT"/msg-*.eml
	n=$(grep -l -F "Message-ID: <$tag@example.org>" "$@" 2>/dev/null | wc -l)
	echo "$n"
}

# tagged_message TAG: std_message with its own Message-ID and Subject
tagged_message() {
	std_message | sed -e "s/^Message-ID: .*/Message-ID: <$1@example.org>/" \
		-e "s/^Subject: .*/Subject: $1/"
}

QUEUED_RE='^postbote: queued as ([0-9]{14}\.[0-9a-f]{10}): (.+); will retry$'

# queue_tagged TAG...: tagged_message TAG to bob@example.org through $DOWN, for each TAG; each
# must say "queued as"
queue_tagged() {
	local t	# not "i": Bats 1.8's run overwrites a global i
	for t in "$@"; do
		tagged_message "$t" >"$MSG"
		run --separate-stderr pb -C "$DOWN" bob@example.org <"$MSG"
		[[ $stderr =~ $QUEUED_RE ]] || fail "$t not queued: $stderr"
	done
}

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

# queue_down [FRAGMENT...]: $MSG to bob@example.org through $DOWN is queued (assert_queued with
# the fragments). Sets QID.
queue_down() {
	run --separate-stderr pb -C "$DOWN" bob@example.org <"$MSG"
	assert_queued "$@"
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

# shellcheck disable=SC2120 # options are for tests that need them
run_queue() { # ARGS...: postbote -q with $CONF
	run --separate-stderr pb -C "$CONF" -q "$@"
}

# run_queue_due ID...: once each message is due, postbote -q with $CONF, which must exit 0
run_queue_due() {
	wait_due "$@"
	run_queue
	assert_success
}

# ---- the fault matrix: one row each ------------------------------------------------------
# Every step of the session, each with the server closing the connection (drop), a 4xx, a 5xx
# and no answer (timeout = 2), with the queue on and off: tests/queue_faults.bats.

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
	assert_sent
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

# ---- mailq's listing, as Postfix prints it (tests/queue_admin.bats, tests/mailq.bats) -------

pf_heading() {
	printf '%-17s %8s %-19s %s\n' "----Queue ID-----" "--Size--" "---Arrival Time----" \
		"--Sender/Recipient------"
}

pf_arrival() { # ID: its arrival as mailq prints it, from created: in its queue file (any area)
	local f
	for f in "$QDIR"/{q,hold,failed}/"$1"; do
		if [ -f "$f" ]; then
			LC_ALL=C date -d "@$(sed -n 's/^created: //p' "$f")" '+%a %b %e %H:%M:%S'
			return
		fi
	done
	fail "pf_arrival: no queue file $1"
}

# pf_entry ID[MARK] SIZE SENDER REASON RCPT...: one entry (REASON "": no reason line), the
# reason right-aligned to column 76 and each recipient in the fourth column
pf_entry() {
	local id=$1 size=$2 sender=$3 reason=$4 r
	shift 4
	printf '%-17s %8s %-19s %s\n' "$id" "$size" "$(pf_arrival "${id%[*!]}")" "$sender"
	[ -z "$reason" ] || printf '%76s\n' "($reason)"
	for r in "$@"; do
		printf '%-17s %8s %-19s %s\n' "" "" "" "$r"
	done
}
