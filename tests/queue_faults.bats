#!/usr/bin/env bats
# The queue against the fake server: every fault at every step of the session (the server
# closing the connection, a 4xx, a 5xx, no answer) with the queue on and off, what is kept in
# QDIR, and that `postbote -q` later delivers each queued message exactly once. The matrix's
# helpers (fault_queued, fault_tempfail, fault_refused) are in tests/lib/queue.bash.

load lib/common
load lib/queue

setup_file() { common_setup_file; }
setup() { queue_setup; }
teardown() { queue_teardown; }

# ---- the fault matrix ----------------------------------------------------------------------
# Every step of the session, each with the server closing the connection (drop), a 4xx, a 5xx
# and no answer (timeout = 2), with the queue on and off.

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
	queue_down "cannot connect to localhost port $port: Connection refused"
	assert_queue_file "$QID" bob@example.org
	run_queue_due "$QID"
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
	queue_down "Connection refused"
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
