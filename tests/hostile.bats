#!/usr/bin/env bats
# Hostile servers at the byte level (tests/rawsmtp.py): each ends cleanly with one stderr line,
# the right exit code, and within the timeout — never a hang, a crash or unbounded memory.
# The scripted-reply cases (huge EHLO replies, bad codes after the greeting, STARTTLS
# injection, wrong-name certificates) are in submit.bats and tls.bats.

bats_require_minimum_version 1.5.0

load lib/common

setup_file() { common_setup_file; }
setup() { common_setup; }
teardown() { common_teardown; }

raw_start() {
	FAKESMTP=$BATS_TEST_DIRNAME/rawsmtp.py fake_start "$@"
	fake_config --no-auth "timeout = ${RAW_TIMEOUT:-3}"
}

@test "a server that trickles a byte a second: exit 75 after the timeout, not later" {
	# each 6-byte line arrives within the timeout; only a deadline for the whole reply ends it
	RAW_TIMEOUT=8 raw_start trickle
	local start=$SECONDS
	run --separate-stderr pb -C "$CONF" bob@example.org <<<"Subject: x"
	assert_equal "$status" 75
	assert_error_line "timed out after 8 s" "the greeting"
	[ $((SECONDS - start)) -le 12 ] || fail "took $((SECONDS - start)) s with timeout = 8"
}

@test "a server that stops in the middle of a multi-line reply: exit 75, connection lost" {
	raw_start midreply
	run --separate-stderr pb -C "$CONF" bob@example.org <<<"Subject: x"
	assert_equal "$status" 75
	assert_error_line "connection to localhost lost while waiting for the reply to the greeting"
}

@test "a reply line of 1 MB: exit 76, and memory stays bounded" {
	raw_start longline
	run --separate-stderr /usr/bin/time -f 'maxrss=%M' "$POSTBOTE" -C "$CONF" bob@example.org \
		<<<"Subject: x"
	assert_equal "$status" 76
	[[ "$stderr" == *"sent a malformed reply to the greeting"* ]] || fail "stderr: $stderr"
	local rss=${stderr##*maxrss=}
	# the line is refused at its 2 KiB cap; nothing near the megabyte is ever held
	[ "$rss" -lt 20000 ] || fail "peak RSS ${rss} KiB for a 1 MB reply line"
}

@test "reply codes outside [2-5]dd are protocol errors: 199 and 600 exit 76" {
	local code
	for code in 199 600; do
		raw_start code "$code"
		run --separate-stderr pb -C "$CONF" bob@example.org <<<"Subject: x"
		assert_equal "$status" 76
		assert_error_line "malformed reply to the greeting" "code 200-599"
		fake_stop
	done
}
