#!/usr/bin/env bats
# What the queue decides on its own: rate_limit, queue_lifetime and the bounce it sends, and
# queue_flush after a direct success.

load lib/common
load lib/queue

setup_file() { common_setup_file; }
setup() { queue_setup; }
teardown() { queue_teardown; }

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
	# mailq --json says when it will be tried
	run -0 pb -C "$CONF" -bp --json
	assert_output --partial "\"next_try\": $(state_get "$QID" next)}"
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
	run grep -E '^fate: 0 failed [0-9]+ ' "$QDIR/failed/$QID.state"
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
	run_queue_due "$b"
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

# ---- queue_flush ---------------------------------------------------------------------------

@test "queue_flush: after a direct success, due messages go out over the same connection" {
	q_start
	queue_tagged flush-1 flush-2
	wait_all_due
	q_conf "$CONF" "$FAKE_PORT" "queue_flush = on"
	tagged_message direct >"$MSG"
	run --separate-stderr pb -C "$CONF" carol@example.org <"$MSG"
	assert_sent
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
	queue_down
	wait_due "$QID"
	q_conf "$CONF" "$FAKE_PORT" "queue_flush = off"
	run --separate-stderr pb -C "$CONF" carol@example.org <"$MSG"
	assert_success
	assert_equal "$(msg_count)" 1
	assert_equal "$(q_ids q)" "$QID"
}
