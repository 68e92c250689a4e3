#!/usr/bin/env bats
# The round-trip savers against the fake server (issue 13): QUIT in the last flight without
# waiting for 221, CHUNKING/BDAT, RFC 9422 LIMITS, TLS session resumption across runs. Each test
# checks what arrived and what the fate was, never how long it took.

load lib/common

setup_file() { common_setup_file; }
setup() {
	common_setup
	std_message >"$MSG"
	crlf <"$MSG" >"$WANT"
}
teardown() { common_teardown; }

# session_lines: the fake server's session log of connection 1, without the connection column.
session_lines() {
	sed -n 's/^1 //p' "$FAKE_OUT/session.log"
}

# wait_session_line REGEX: bounded wait until the session log has a matching line.
wait_session_line() {
	local i
	for ((i = 0; i < 200; i++)); do
		grep -Eq -- "$1" "$FAKE_OUT/session.log" && return 0
		sleep 0.05
	done
	fail "no line matching /$1/ in the session log: $(cat "$FAKE_OUT/session.log")"
}

@test "direct submission: QUIT goes with the message and the client leaves before the 221" {
	# the 221 comes 4 s late: a client that waited for it would still be there to read it
	fake_start --delay QUIT=4
	fake_config --no-auth
	send
	assert_sent
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
	wait_session_line 'the client closed the connection'
	run session_lines
	assert_line 'C: QUIT'
	refute_line --regexp '^S: 221'
}

@test "the fate does not depend on the 221: no reply to QUIT, or a refusal, is still sent" {
	fake_start --drop QUIT
	fake_config --no-auth
	send
	assert_sent
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
	fake_stop
	fake_start --reply 'QUIT=554 5.0.0 no'
	fake_config --no-auth
	send
	assert_sent
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
}

@test "every recipient refused with QUIT pipelined: exit 67, nothing delivered" {
	fake_start --reply 'RCPT=550 5.1.1 no such user'
	fake_config --no-auth
	send
	[ "$status" -eq 67 ] || fail "exit $status; stderr: $stderr"
	assert_error_line 'bob@example.org' '550 5.1.1 no such user'
	[ ! -e "$FAKE_OUT/msg-1.eml" ]
}

@test "a queue waiting behind the message keeps the session: the flush uses it, then QUIT" {
	fake_start
	fake_config --no-auth 'queue = on'
	# queue one message while the server refuses for now, then send a new one
	fake_stop
	fake_start --reply 'MAIL=451 4.3.0 later'
	fake_config --no-auth 'queue = on' 'queue_retry_min = 1'
	send
	assert_success
	fake_stop
	fake_start
	fake_config --no-auth 'queue = on' 'queue_retry_min = 1'
	# the queued message becomes due
	mapfile -t states < <(find "$BATS_TEST_TMPDIR/queue/q" -name '*.state')
	[ "${#states[@]}" -eq 1 ] || fail "expected one queued message, found ${#states[@]}"
	sed -i 's/^next: .*/next: 0/' "${states[0]}"
	send
	assert_sent
	[ -e "$FAKE_OUT/msg-2.eml" ] || fail "the queued message did not go over the session"
	run json_get "$FAKE_OUT/msg-2.json" connection
	assert_output 1
}
