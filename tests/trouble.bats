#!/usr/bin/env bats
# The failure policy (src/trouble.c) from the outside: what a broken reply, a forged TLS record,
# a reply out of turn, an impossible RCPT reply, "too many recipients" and a refused sender do to
# a submission and to a queue run. The rule behind all of them: once MAIL FROM is sent, a
# broken connection leaves the outcome unknown, so the message is deferred, never given up.

load lib/common
load lib/queue

setup_file() { common_setup_file; }
setup() { queue_setup; }
teardown() { queue_teardown; }

# hostile_start SCENARIO: tests/hostilesmtp.py as the smarthost; $CONF for it, queue on
hostile_start() {
	FAKESMTP=$BATS_TEST_DIRNAME/hostilesmtp.py fake_start "$1" --tls "${2:-starttls}"
	CONF=$BATS_TEST_TMPDIR/postbote.conf
	q_conf "$CONF" "$FAKE_PORT"
}

@test "a forged TLS record after the final dot: queued, not refused; -q later delivers it once" {
	hostile_start tls-garbage
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_queued "localhost" "the end of the message"
	assert_equal "$(wc -l <"$FAKE_OUT/dots")" 1
	assert_area_empty failed
	healthy_restart
	run_queue_due "$QID"
	assert_delivered_once
}

@test "a queue run that meets a forged TLS record keeps the message in q/, no bounce" {
	q_start
	queue_down
	fake_stop
	hostile_start tls-garbage
	run_queue_due "$QID"
	assert_equal "$(q_ids q)" "$QID"	# still waiting, nothing else (no bounce) queued
	assert_area_empty failed
	assert_equal "$(state_get "$QID" attempts)" 2
	state_get "$QID" error | grep -q "the end of the message" ||
		fail "last error: $(state_get "$QID" error)"
}

@test "a malformed reply to the final dot: queued, not refused" {
	q_start --raw-reply 'EOM=xyz garbled\r\n'
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_queued "sent a malformed reply to the end of the message"
	assert_area_empty failed
}

@test "an RCPT reply outside 2xx/4xx/5xx is a protocol error whose text is the reason" {
	q_start --reply 'RCPT=354 weird'
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_queued "answered RCPT TO:<bob@example.org> with 354 weird"
	assert_equal "$(msg_count)" 0
}

@test "552 5.5.3 too many recipients at RCPT is temporary: the others get it, that one is queued" {
	q_start --reply-rcpt 'many@example.org=552 5.5.3 too many recipients'
	run --separate-stderr pb -C "$CONF" bob@example.org many@example.org <"$MSG"
	assert_queued "many@example.org" "552 5.5.3 too many recipients"
	assert_equal "$(msg_count)" 1
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" rcpt_tos)" '["bob@example.org"]'
	assert_equal "$(sed -n '/^$/q; s/^rcpt: //p' "$QDIR/q/$QID")" many@example.org
}

@test "a sender refused at MAIL FROM is reported once, not once per recipient" {
	q_start --reply 'MAIL=553 5.7.1 sender not allowed'
	run --separate-stderr pb -C "$CONF" a@example.org b@example.org c@example.org d@example.org <"$MSG"
	assert_equal "$status" 69
	assert_error_line "rejected the sender: 553 5.7.1 sender not allowed"
	assert_area_empty q
}

@test "a reply sent ahead of time is never taken for the answer to the final dot" {
	hostile_start stray none
	fake_config --no-auth
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_equal "$status" 75
	assert_error_line "sent a reply nobody asked for" "try again later"
}

@test "a long sender with -V against a DSN server: the MAIL FROM line goes out whole" {
	q_start --ehlo-extra DSN
	local local_part envid
	local_part=$(printf 'a%.0s' {1..880})
	envid=$(printf 'v%.0s' {1..400})
	run --separate-stderr pb -C "$CONF" -v -f "$local_part@example.org" -V "$envid" \
		bob@example.org <"$MSG"
	# whatever the server makes of it, the line we sent was not cut in its parameters
	grep -q -- "^--> MAIL FROM:<$local_part@example.org> SIZE=[0-9]* ENVID=$envid\$" <<<"$stderr" ||
		fail "no whole MAIL FROM line in the transcript: $(grep -- '--> MAIL' <<<"$stderr" | cut -c1-200)..."
}
