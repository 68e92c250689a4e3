#!/usr/bin/env bats
# syslog = on | off | FACILITY: one line per submission and per queue try, with the fields of
# the log file line, at LOG_INFO (sent), LOG_WARNING (some recipients wait in the queue) or
# LOG_ERR (failed). Each test runs postbote in a mount namespace of its own whose /dev/log is a
# socket the test listens on (tests/lib/syslog.bash), so the machine's syslog, if it has one, sees
# nothing, and the test reads the exact datagrams: <PRI>, ident, pid and fields.

load lib/common
load lib/queue
load lib/syslog

setup_file() { common_setup_file; }
setup() {
	queue_setup
	syslog_setup
	LOG=$BATS_TEST_TMPDIR/postbote.log
}
teardown() {
	syslog_teardown
	queue_teardown
}

# facility * 8 + severity, as RFC 5424 6.2.1 numbers them
MAIL=2 LOCAL3=19 ERR=3 WARNING=4 INFO=6

@test "syslog = on: a sent message is one LOG_MAIL|LOG_INFO line, ident postbote[PID], with the log file's fields" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config "syslog = on" "logfile = $LOG"
	std_message >"$MSG"
	run --separate-stderr pb_ns -C "$CONF" bob@example.org carol@example.org <"$MSG"
	assert_sent
	syslog_lines
	assert_equal "${#SYSLOG_PRI[@]}" 1
	assert_equal "${SYSLOG_PRI[0]}" $((MAIL * 8 + INFO))
	# the same fields, byte for byte, as the log file's line after its time stamp
	assert_equal "${SYSLOG_MSG[0]}" "$(cut -d' ' -f2- "$LOG")"
	syslog_fields 0
	assert_equal "$(cut -f1 <<<"$output" | tr '\n' ' ')" "host tls auth user from recipients size reply exit "
	assert_line "recipients	bob@example.org,carol@example.org"
	assert_line "from	$FAKE_FROM"
	assert_line "user	$FAKE_USER"
	assert_line "exit	0"
	assert_line "size	$(wc -c <"$FAKE_OUT/msg-1.eml")"
	assert_line --regexp '^reply	250 '
}

@test "syslog = LOG_LOCAL3: a refused recipient is LOG_ERR with the error and exit 67" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS" \
		--reply-rcpt 'carol@example.org=550 5.1.1 carol is gone'
	fake_config "syslog = LOG_LOCAL3"
	std_message >"$MSG"
	run --separate-stderr pb_ns -C "$CONF" bob@example.org carol@example.org <"$MSG"
	assert_equal "$status" 67
	syslog_lines
	assert_equal "${#SYSLOG_PRI[@]}" 1
	assert_equal "${SYSLOG_PRI[0]}" $((LOCAL3 * 8 + ERR))
	syslog_fields 0
	assert_line "exit	67"
	assert_line --regexp '^error	.*550 5\.1\.1 carol is gone'
	refute_line --regexp '^reply	'
}

@test "queued, then each queue try: LOG_WARNING while a recipient waits, LOG_INFO once sent, in syslog and the log file alike" {
	Q_EXTRA=("syslog = mail" "logfile = $LOG")
	q_start --reply-rcpt 'carol@example.org=450 4.2.1 carol is busy'
	run --separate-stderr pb_ns -C "$CONF" bob@example.org carol@example.org <"$MSG"
	assert_queued "carol is busy"
	# a try that defers carol again, then one that reaches her
	wait_due "$QID"
	run --separate-stderr pb_ns -C "$CONF" "-qI$QID"
	assert_success
	healthy_restart
	run --separate-stderr pb_ns -C "$CONF" "-qI$QID"
	assert_sent
	assert_area_empty q
	syslog_lines
	assert_equal "${#SYSLOG_PRI[@]}" 3
	assert_equal "${SYSLOG_PRI[*]}" "$((MAIL * 8 + WARNING)) $((MAIL * 8 + WARNING)) $((MAIL * 8 + INFO))"
	assert_equal "$(wc -l <"$LOG")" 3
	local k
	for k in 0 1 2; do
		assert_equal "${SYSLOG_MSG[k]}" "$(sed -n "$((k + 1))p" "$LOG" | cut -d' ' -f2-)"
	done
	syslog_fields 0
	assert_line "queued	$QID"
	assert_line "exit	0"
	syslog_fields 1
	assert_equal "$(cut -f1 <<<"$output" | tr '\n' ' ')" "queue-run id host auth from size attempt rcpt "
	assert_line "id	$QID"
	assert_line "attempt	2"
	assert_line "rcpt	carol@example.org:deferred:localhost answered RCPT TO:<carol@example.org> with 450 4.2.1 carol is busy"
	syslog_fields 2
	assert_line "attempt	3"
	assert_line --regexp '^rcpt	carol@example\.org:sent:250 '
	# bob had it from the first try: no queue try names him
	refute_line --regexp '^rcpt	bob@'
}

@test "a queue try where the recipient is refused for good is LOG_ERR" {
	Q_EXTRA=("syslog = user")
	q_start --reply-rcpt 'bob@example.org=450 4.2.1 bob is busy'
	run --separate-stderr pb_ns -C "$CONF" bob@example.org <"$MSG"
	assert_queued "bob is busy"
	fake_stop
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS" \
		--reply-rcpt 'bob@example.org=550 5.1.1 bob left'
	q_conf "$CONF" "$FAKE_PORT"
	run --separate-stderr pb_ns -C "$CONF" "-qI$QID"
	assert_success
	syslog_lines
	assert_equal "${#SYSLOG_PRI[@]}" 2
	assert_equal "${SYSLOG_PRI[*]}" "$((1 * 8 + WARNING)) $((1 * 8 + ERR))"
	syslog_fields 1
	assert_line "rcpt	bob@example.org:failed:localhost rejected recipient <bob@example.org>: 550 5.1.1 bob left"
}

@test "syslog is off by default and names that are not facilities are refused (exit 78)" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config
	std_message >"$MSG"
	run --separate-stderr pb_ns -C "$CONF" bob@example.org <"$MSG"
	assert_sent
	syslog_lines
	assert_equal "${#SYSLOG_PRI[@]}" 0
	fake_config "syslog = kern"
	run --separate-stderr pb_ns -C "$CONF" bob@example.org <"$MSG"
	assert_equal "$status" 78
	assert_error_line "syslog must be on, off, or a facility" "'kern'"
	assert_equal "$(msg_count)" 1
}

@test "syslog = on with nothing listening on /dev/log: the message goes, nothing on stderr" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config "syslog = on"
	std_message >"$MSG"
	syslog_teardown	# no listener: /dev/log in the namespace leads nowhere
	run --separate-stderr pb_ns -C "$CONF" bob@example.org <"$MSG"
	assert_sent
	assert_equal "$(msg_count)" 1
}
