#!/usr/bin/env bats
# Delivery through the fake server, with the queue on: partial results (some recipients
# accepted, refused or deferred), several transactions on one connection (452 too many
# recipients, max_recipients), failover along a host list, and one connection per account for
# a queue run.

load lib/common
load lib/queue

setup_file() { common_setup_file; }
setup() { queue_setup; }
teardown() { queue_teardown; }

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
	# the state file keeps each recipient's fate as fields: index (carol is rcpt 0), state, kind
	run grep -E '^fate: 0 failed [0-9]+ ' "$f.state"
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
	run_queue_due "$QID"
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

# five_in_three_transactions: $MSG to r1 ... r5@example.org with $CONF is sent (exit 0, nothing
# on stderr) as three messages over the first connection, to r1 and r2, r3 and r4, and r5, each
# $WANT byte for byte.
five_in_three_transactions() {
	local n
	run --separate-stderr pb -C "$CONF" r1@example.org r2@example.org r3@example.org \
		r4@example.org r5@example.org <"$MSG"
	assert_sent
	assert_equal "$(msg_count)" 3
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" rcpt_tos)" '["r1@example.org", "r2@example.org"]'
	assert_equal "$(json_get "$FAKE_OUT/msg-2.json" rcpt_tos)" '["r3@example.org", "r4@example.org"]'
	assert_equal "$(json_get "$FAKE_OUT/msg-3.json" rcpt_tos)" '["r5@example.org"]'
	for n in 1 2 3; do
		assert_equal "$(json_get "$FAKE_OUT/msg-$n.json" connection)" 1
		assert_same_bytes "$WANT" "$FAKE_OUT/msg-$n.eml"
	done
}

@test "452 4.5.3 too many recipients: the rest go in further transactions on the same connection" {
	rcpt_limit_server
	FAKE_RCPT_LIMIT=2 q_start
	five_in_three_transactions
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
	five_in_three_transactions
	# and from the queue as well
	run --separate-stderr pb -C "$DOWN" r1@example.org r2@example.org r3@example.org <"$MSG"
	assert_queued
	run_queue_due "$QID"
	assert_equal "$(msg_count)" 5
	assert_equal "$(json_get "$FAKE_OUT/msg-4.json" rcpt_tos)" '["r1@example.org", "r2@example.org"]'
	assert_equal "$(json_get "$FAKE_OUT/msg-5.json" rcpt_tos)" '["r3@example.org"]'
	assert_equal "$(json_get "$FAKE_OUT/msg-4.json" connection)" "$(json_get "$FAKE_OUT/msg-5.json" connection)"
	assert_area_empty q
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
	queue_down "cannot connect to localhost port $port"
}

# ---- one connection per account -------------------------------------------------------------

@test "a queue run sends the messages of one account over one connection, RSET between" {
	q_start
	queue_tagged run-1 run-2 run-3
	local t
	assert_equal "$(q_count q)" 3
	wait_all_due
	run_queue
	assert_sent
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
