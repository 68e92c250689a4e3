#!/usr/bin/env bats
# Looking at and editing the queue: mailq (-bp and the mailq name), --queue-hold,
# --queue-release and --queue-delete, -qI, the retry backoff, and which queue directory -q and
# -bp use.

load lib/common
load lib/queue

setup_file() { common_setup_file; }
setup() { queue_setup; }
teardown() { queue_teardown; }

# ---- mailq and the queue commands -------------------------------------------------------

@test "mailq (-bp and the mailq name) lists as Postfix does: id, size, arrival, sender, (reason), recipients; summary last" {
	q_start
	local port
	port=$(sed -n 's/^port = //p' "$DOWN")
	run --separate-stderr pb -C "$DOWN" bob@example.org carol@example.org <"$MSG"
	assert_queued
	local size first=$QID
	size=$(wc -c <"$WANT")
	run --separate-stderr pb -C "$CONF" -bp
	assert_sent
	assert_equal "$output" "$(pf_heading
		pf_entry "$QID" "$size" "$FAKE_FROM" \
			"cannot connect to localhost port $port: Connection refused" \
			bob@example.org carol@example.org
		printf '\n-- 0 Kbytes in 1 Request.')"
	local listing=$output
	ln -s "$POSTBOTE" "$BATS_TEST_TMPDIR/mailq"
	run --separate-stderr timeout 30 "$BATS_TEST_TMPDIR/mailq" -C "$CONF"
	assert_sent
	assert_equal "$output" "$listing"
	# two messages: a blank line between them, the sizes added up, "Requests"
	tagged_message big >"$MSG"
	head -c 3000 /dev/zero | tr '\0' x | fold -w 70 >>"$MSG"
	run --separate-stderr pb -C "$DOWN" -f '' dave@example.org <"$MSG"
	[[ $stderr =~ $QUEUED_RE ]] || fail "not queued: $stderr"
	local second=${BASH_REMATCH[1]} size2
	size2=$(sed -n 's/^size: //p' "$QDIR/q/$second")
	local e1 e2
	e1=$(pf_entry "$first" "$size" "$FAKE_FROM" \
		"cannot connect to localhost port $port: Connection refused" \
		bob@example.org carol@example.org)
	e2=$(pf_entry "$second" "$size2" MAILER-DAEMON \
		"cannot connect to localhost port $port: Connection refused" dave@example.org)
	[[ $first < $second ]] || { local t=$e1; e1=$e2; e2=$t; }	# oldest first; then by id
	run --separate-stderr pb -C "$CONF" -bp
	assert_sent
	assert_equal "$output" "$(pf_heading
		printf '%s\n\n%s\n' "$e1" "$e2"
		printf '\n-- %d Kbytes in 2 Requests.' $(((size + size2) / 1024)))"
	[ $(((size + size2) / 1024)) -ge 3 ] || fail "the second message is too small to count"
	# an empty queue
	run --separate-stderr pb -C "$CONF" --queue-delete "$first"
	assert_success
	run --separate-stderr pb -C "$CONF" --queue-delete "$second"
	assert_success
	run --separate-stderr pb -C "$CONF" -bp
	assert_sent
	assert_output "Mail queue is empty"
}

@test "mailq marks held messages and leaves out recipients already done" {
	q_start --reply-rcpt 'carol@example.org=450 4.2.1 carol is busy'
	run --separate-stderr pb -C "$CONF" bob@example.org carol@example.org <"$MSG"
	assert_queued
	run -0 pb -C "$CONF" --queue-hold "$QID"
	run --separate-stderr pb -C "$CONF" -bp
	assert_sent
	assert_equal "$output" "$(pf_heading
		pf_entry "$QID!" "$(wc -c <"$WANT")" "$FAKE_FROM" \
			"localhost answered RCPT TO:<carol@example.org> with 450 4.2.1 carol is busy" \
			carol@example.org
		printf '\n-- 0 Kbytes in 1 Request.')"
}

@test "--queue-hold keeps a message from -q; --queue-release lets it go at once" {
	q_start
	queue_down
	run --separate-stderr pb -C "$CONF" --queue-hold "$QID"
	assert_sent
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
	assert_sent
	assert_file_exist "$QDIR/q/$QID"
	assert_area_empty hold
	_q_due "$QID" || fail "a released message is not due at once"
	run_queue
	assert_success
	assert_delivered_once
}

@test "--queue-delete removes a message and its state; unknown ids are usage errors" {
	q_start
	queue_down
	run --separate-stderr pb -C "$CONF" --queue-delete "$QID"
	assert_sent
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
	queue_down
	local first=$QID
	tagged_message second >"$MSG"
	run --separate-stderr pb -C "$DOWN" bob@example.org <"$MSG"
	[[ $stderr =~ $QUEUED_RE ]] || fail "second message not queued: $stderr"
	local second=${BASH_REMATCH[1]}
	run --separate-stderr pb -C "$CONF" -q30m	# what a timer runs: nothing is due for an hour
	assert_success
	assert_equal "$(msg_count)" 0
	run --separate-stderr pb -C "$CONF" "-qI$second"
	assert_sent
	assert_equal "$(msg_count)" 1
	assert_equal "$(tag_count second)" 1
	assert_equal "$(q_ids q)" "$first"
	run --separate-stderr pb -C "$CONF" -q30m	# still nothing due
	assert_success
	assert_equal "$(msg_count)" 1
}

@test "-q without an interval tries every message now, whatever its backoff; held ones stay" {
	Q_EXTRA=("queue_retry_min = 1h")
	q_start
	local i ids=()
	for i in 1 2 3; do
		tagged_message "flush-$i" >"$MSG"
		run --separate-stderr pb -C "$DOWN" bob@example.org <"$MSG"
		[[ $stderr =~ $QUEUED_RE ]] || fail "flush-$i not queued: $stderr"
		ids+=("${BASH_REMATCH[1]}")
	done
	run -0 pb -C "$CONF" --queue-hold "${ids[2]}"
	run --separate-stderr pb -C "$CONF" -q5m	# the timer's run: none is due for an hour
	assert_success
	assert_equal "$(msg_count)" 0
	run --separate-stderr pb -C "$CONF" -q -v	# the administrator's, after the outage
	assert_success
	assert_equal "$(msg_count)" 2
	assert_equal "$(tag_count flush-1) $(tag_count flush-2) $(tag_count flush-3)" "1 1 0"
	# -v says what became of each message tried, one line each
	assert_equal "$(grep -c -- '^--- [0-9.a-f]*: sent to 1, deferred for 0, failed for 0 recipients$' <<<"$stderr")" 2
	assert_equal "$(q_ids q)" ""
	assert_equal "$(q_ids hold)" "${ids[2]}"
}

@test "-qI ID (the id as its own argument, as --help shows it) sends that message" {
	Q_EXTRA=("queue_retry_min = 1h")
	q_start
	queue_down
	run --separate-stderr pb -C "$CONF" -qI "$QID"
	assert_sent
	assert_delivered_once
}

@test "backoff: 1 minute by default, doubling per try up to queue_retry_max" {
	q_start
	queue_down
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
	queue_down
	run --separate-stderr pb -C "$CONF" -bp
	assert_success
	assert_line --index 1 --regexp "^$QID "
	run_queue_due "$QID"
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


@test "mailq counts only what waits; a warning at a terminal names what was given up, -bp --failed lists it with each reason; queue runs prune it after 30 days" {
	q_start --reply-rcpt 'carol@example.org=550 5.1.1 carol is gone'
	run --separate-stderr pb -C "$CONF" bob@example.org carol@example.org <"$MSG"
	assert_equal "$status" 67
	local id
	id=$(q_ids failed)
	[ -n "$id" ] || fail "no copy in failed/"
	run --separate-stderr pb -C "$CONF" -bp
	assert_sent
	assert_output "Mail queue is empty"
	# a person at a terminal is told (script(1) gives mailq a terminal)
	run script -qec "$POSTBOTE -C '$CONF' -bp" /dev/null
	assert_success
	assert_equal "$(tr -d '\r' <<<"$output")" "Mail queue is empty
postbote: warning: 1 message was given up, not counted above: each is kept 30 days in the failed area, and postbote -bp --failed lists it"
	run --separate-stderr pb -C "$CONF" -bp --failed
	assert_sent
	assert_equal "$output" "$(pf_heading
		pf_entry "$id" "$(wc -c <"$WANT")" "$FAKE_FROM" \
			"localhost rejected recipient <carol@example.org>: 550 5.1.1 carol is gone" \
			carol@example.org
		printf '\n-- 0 Kbytes in 1 Request.')"
	# a queue run keeps it for 30 days, then removes it
	run_queue
	assert_success
	assert_equal "$(q_ids failed)" "$id"
	touch -d '31 days ago' "$QDIR/failed/$id" "$QDIR/failed/$id.state"
	run_queue
	assert_success
	assert_area_empty failed
	run --separate-stderr pb -C "$CONF" -bp
	assert_sent
	assert_output "Mail queue is empty"
}
