#!/usr/bin/env bats
# Submitting a message to the fake server: what arrives, the SMTP session, and the exit
# code and single stderr line for every kind of server failure.

load lib/common

setup_file() { common_setup_file; }
setup() { common_setup; }
teardown() { common_teardown; }

b64() { printf '%s' "$1" | base64 -w0; }

# The AUTH PLAIN blob for the test account: authzid empty, user, password.
plain_blob() { printf '\0%s\0%s' "$FAKE_USER" "$FAKE_PASS" | base64 -w0; }

@test "a message arrives over STARTTLS with AUTH PLAIN, byte for byte" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config
	std_message >"$MSG"
	std_message | crlf >"$WANT"
	run --separate-stderr pb -C "$CONF" bob@example.org carol@example.org <"$MSG"
	assert_sent
	assert_output ""
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
	local j=$FAKE_OUT/msg-1.json
	assert_equal "$(json_get "$j" mail_from)" "$FAKE_FROM"
	assert_equal "$(json_get "$j" rcpt_tos)" '["bob@example.org", "carol@example.org"]'
	assert_equal "$(json_get "$j" tls)" true
	assert_equal "$(json_get "$j" auth_user)" "$FAKE_USER"
	assert_equal "$(json_get "$j" auth_mechanism)" PLAIN
	assert_equal "$(json_get "$j" auth_tls)" true
	assert_file_not_exist "$FAKE_OUT/msg-2.eml"
}

@test "before TLS only EHLO and STARTTLS are sent; the password never goes out in clear" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config
	std_message >"$MSG"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_success
	run client_lines plain
	assert_equal "${#lines[@]}" 2
	assert_line --index 0 --regexp '^EHLO [^ ]+$'
	assert_line --index 1 STARTTLS
	run client_lines tls
	assert_line --index 0 --regexp '^EHLO '
	assert_line --regexp '^AUTH PLAIN'
	refute_line --regexp '^STARTTLS'
	# nothing that carries the secret in any encoding went out before TLS
	run client_lines plain
	refute_output --partial "$FAKE_PASS"
	refute_output --partial "$(b64 "$FAKE_PASS")"
	refute_output --partial "$(plain_blob)"
}

@test "implicit TLS: a message arrives over TLS from the first byte" {
	fake_start --tls implicit --auth "$FAKE_USER:$FAKE_PASS"
	fake_config
	std_message >"$MSG"
	std_message | crlf >"$WANT"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_sent
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" tls)" true
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" auth_mechanism)" PLAIN
	run client_lines plain
	assert_output ""
	run client_lines tls
	refute_line STARTTLS
}

@test "plain SMTP (tls = off, no auth) works" {
	fake_start
	fake_config --no-auth "tls = off"
	std_message >"$MSG"
	std_message | crlf >"$WANT"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_success
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" tls)" false
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" auth_user)" null
}

@test "SIZE= is sent with the exact size of the message before dot-stuffing" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config
	{ std_message; printf '.a line with a leading dot\n..and two\n'; } >"$MSG"
	run --separate-stderr pb -C "$CONF" -i bob@example.org <"$MSG"
	assert_success
	local size
	size=$(stat -c %s "$FAKE_OUT/msg-1.eml")
	run json_get "$FAKE_OUT/msg-1.json" mail_options
	assert_output --partial "\"SIZE=$size\""
}

@test "no SIZE= when the server does not advertise SIZE" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS" --size 0
	fake_config
	std_message >"$MSG"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_success
	run json_get "$FAKE_OUT/msg-1.json" mail_options
	refute_output --partial "SIZE"
}

@test "a message over the advertised SIZE is refused: 69, and no body is sent" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS" --size 100
	fake_config
	std_message >"$MSG"
	printf 'padding padding padding padding padding padding padding padding\n%.0s' 1 2 3 >>"$MSG"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_equal "$status" 69
	assert_error_line
	assert_file_not_exist "$FAKE_OUT/msg-1.eml"
	run client_lines
	refute_output --partial "Subject:"
	refute_output --partial "padding"
}

@test "without PIPELINING every command waits for its reply" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS" --no-pipelining
	fake_config
	std_message >"$MSG"
	std_message | crlf >"$WANT"
	run --separate-stderr pb -C "$CONF" bob@example.org carol@example.org <"$MSG"
	assert_success
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" pipelined_after)" '[]'
}

# The server sees a command as pipelined when the next one is already waiting when it reads
# it; postbote coalesces MAIL, RCPT and DATA into one write, so this is deterministic.
@test "with PIPELINING, MAIL and RCPT are pipelined but EHLO, STARTTLS, AUTH and DATA are not" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config
	std_message >"$MSG"
	run --separate-stderr pb -C "$CONF" bob@example.org carol@example.org <"$MSG"
	assert_success
	run json_get "$FAKE_OUT/msg-1.json" pipelined_after
	assert_output --partial '"MAIL"'
	assert_output --partial '"RCPT"'
	refute_output --regexp 'EHLO|STARTTLS|AUTH|DATA|continuation'
}

@test "EHLO refused: HELO fallback with tls = off and no auth, no ESMTP parameters" {
	fake_start --reply 'EHLO=502 5.5.1 EHLO not implemented'
	fake_config --no-auth "tls = off"
	std_message >"$MSG"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_success
	std_message | crlf >"$WANT"
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" helo_command)" HELO
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" mail_options)" '[]'
}

# --- failures: exit code and exactly one line on stderr -----------------------------------

# The queue-off rows of the fault matrix in tests/queue_faults.bats cover 4xx and 5xx at every
# step with the exit code and the stderr line; the tests here add what the matrix does not
# check, such as which commands or bytes were (not) sent.

_fail_setup() { # fakesmtp options
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS" "$@"
	fake_config
	std_message >"$MSG"
}

# fails_with CODE FRAGMENT FAKEOPT...: against the STARTTLS+AUTH server with the options,
# postbote exits CODE with one line on stderr that contains FRAGMENT.
fails_with() {
	local code=$1 frag=$2
	shift 2
	_fail_setup "$@"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_equal "$status" "$code"
	assert_error_line "$frag"
}

# times_out FAKEOPT...: the server does not answer where the options (--delay CMD=60) say;
# with timeout = 2 postbote gives up within 10 s: exit 75, "timed out".
times_out() {
	_fail_setup "$@"
	fake_config "timeout = 2"
	local start=$SECONDS
	PB_TIMEOUT=20 run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_equal "$status" 75
	assert_error_line "timed out"
	[ $((SECONDS - start)) -lt 10 ] || fail "took $((SECONDS - start)) s with timeout = 2"
}

@test "4xx to DATA: exit 75" {
	fails_with 75 "451 4.3.0 not now" --reply 'DATA=451 4.3.0 not now'
	run client_lines
	refute_output --partial "Subject:"
}

@test "4xx to AUTH: exit 75" {
	fails_with 75 "454 4.7.0 temporary authentication failure" \
		--reply 'AUTH=454 4.7.0 temporary authentication failure'
	refute_client_sent '^MAIL'
}

@test "5xx to RCPT TO: exit 67 naming the recipient" {
	fails_with 67 "rejected recipient <bob@example.org>: 550 5.1.1 no such user" \
		--reply 'RCPT=550 5.1.1 no such user'
	assert_file_not_exist "$FAKE_OUT/msg-1.eml"
}

@test "5xx to one of two recipients: exit 67 naming that one" {
	_fail_setup --reply-rcpt 'carol@example.org=550 5.1.1 carol is gone'
	run --separate-stderr pb -C "$CONF" bob@example.org carol@example.org <"$MSG"
	assert_equal "$status" 67
	assert_error_line "rejected recipient <carol@example.org>: 550 5.1.1 carol is gone"
}

@test "5xx to MAIL FROM: exit 69" {
	fails_with 69 "rejected the sender: 553 5.7.1 sender not allowed" \
		--reply 'MAIL=553 5.7.1 sender not allowed'
	assert_file_not_exist "$FAKE_OUT/msg-1.eml"
}

@test "5xx to DATA: exit 69" {
	fails_with 69 "554 5.5.1 no valid recipients" --reply 'DATA=554 5.5.1 no valid recipients'
	run client_lines
	refute_output --partial "Subject:"
}

@test "5xx after the final dot: exit 69" {
	fails_with 69 "rejected the message: 554 5.7.1 message looks like spam" \
		--reply 'EOM=554 5.7.1 message looks like spam'
	assert_file_not_exist "$FAKE_OUT/msg-1.eml"
}

@test "554 greeting: exit 69, nothing but QUIT is sent" {
	fails_with 69 "554 5.3.2 no service for you" --reply 'GREETING=554 5.3.2 no service for you'
	run client_lines
	refute_output --regexp 'EHLO|HELO|AUTH|MAIL'
}

@test "421 greeting: exit 75" {
	fails_with 75 "421 4.3.2 too busy" --reply 'GREETING=421 4.3.2 too busy'
}

@test "421 to RCPT TO (server closes): exit 75" {
	fails_with 75 "421 4.4.2 shutting down" --reply 'RCPT=421 4.4.2 shutting down'
}

@test "connection closed in the middle of the message: exit 75" {
	fails_with 75 "postbote: connection to localhost lost" --drop DATA-BODY
}

# The server closes while postbote is still writing: postbote must not die of SIGPIPE.
@test "connection closed early in a 4 MB body: exit 75, one line" {
	_fail_setup --drop DATA-BODY
	"$PYTHON" -c 'import sys
sys.stdout.write("".join("line %06d of a long message, padded to about seventy bytes....\n" % i
                         for i in range(60000)))' >>"$MSG"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_equal "$status" 75
	assert_error_line "postbote: connection to localhost lost"
}

@test "connection closed instead of the reply to MAIL FROM: exit 75" {
	fails_with 75 "postbote: connection to localhost lost" --drop MAIL
}

@test "connection closed instead of the greeting: exit 75" {
	fails_with 75 "postbote: connection to localhost lost" --drop GREETING
}

@test "connection closed at QUIT after the message was accepted: exit 0" {
	_fail_setup --drop QUIT
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_success
	assert_file_exist "$FAKE_OUT/msg-1.eml"
}

@test "connection refused: exit 75 'cannot connect'" {
	local port
	port=$(free_port)
	FAKE_TLS=starttls FAKE_PORT=$port fake_config
	std_message >"$MSG"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_equal "$status" 75
	assert_error_line "postbote: cannot connect to localhost port $port: Connection refused"
}

@test "a server that never greets: exit 75 'timed out' after timeout = 2" {
	times_out --delay GREETING=60
}

@test "no reply after the final dot: exit 75 'timed out' after timeout = 2" {
	times_out --delay EOM=60
}

# A broken reply once MAIL FROM is sent leaves the message's fate unknown: it is deferred (exit
# 75 with queue = off, queued otherwise; tests/trouble.bats has the queue side), never refused.
@test "a malformed reply code to MAIL FROM: deferred, exit 75" {
	fails_with 75 "malformed reply to MAIL FROM" --raw-reply 'MAIL=25O ok\r\n'
	assert_error_line "try again later"
	assert_file_not_exist "$FAKE_OUT/msg-1.eml"
}

@test "a reply without the space after the code: deferred, exit 75" {
	fails_with 75 "malformed reply to RCPT TO" --raw-reply 'RCPT=250ok\r\n'
	assert_error_line "try again later"
}

@test "a reply line of 100 kB to MAIL FROM: deferred, exit 75" {
	"$PYTHON" -c 'import sys; sys.stdout.write("250 " + "x" * 100000 + "\r\n")' >"$BATS_TEST_TMPDIR/long"
	_fail_setup --raw-reply "MAIL=@$BATS_TEST_TMPDIR/long"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_equal "$status" 75
	assert_error_line "malformed reply to MAIL FROM" "try again later"
}

@test "an EHLO reply of 1 MB in 50000 lines: exit 76" {
	"$PYTHON" -c 'import sys
sys.stdout.write("250-fakesmtp.test\r\n" + "250-X-FILLER-abcdefghijklmnop\r\n" * 50000 + "250 HELP\r\n")' \
		>"$BATS_TEST_TMPDIR/huge"
	_fail_setup --raw-reply "EHLO=@$BATS_TEST_TMPDIR/huge"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_equal "$status" 76
	assert_error_line
	refute_client_sent '^(AUTH|MAIL)'
}

@test "control characters in a server reply are not copied to stderr" {
	fails_with 69 "550 5.7.1 evil" --reply 'MAIL=550 5.7.1 evil\x1b[2J\x07text'
	[[ $stderr != *$'\e'* && $stderr != *$'\a'* ]] || fail "stderr contains raw control characters: $(printf '%q' "$stderr")"
}

# --- -v and the log file ------------------------------------------------------------------

# run_verbose [fakesmtp options]: postbote -v to a STARTTLS server that knows the test account;
# it must succeed, and $stderr holds the transcript
run_verbose() {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS" "$@"
	fake_config
	std_message >"$MSG"
	run --separate-stderr pb -C "$CONF" -v bob@example.org <"$MSG"
	assert_success
}

# assert_password_masked: the transcript in $stderr shows *** for the secret, and neither the
# password nor its base64
assert_password_masked() {
	[[ $stderr == *"***"* ]] || fail "no *** in: $stderr"
	[[ $stderr != *"$FAKE_PASS"* ]] || fail "the password is on stderr"
	[[ $stderr != *"$(b64 "$FAKE_PASS")"* ]] || fail "the base64 password is on stderr"
}

@test "-v shows the SMTP transcript with AUTH PLAIN's payload as ***" {
	run_verbose
	[[ $stderr == *"<-- 220 "* ]] || fail "no '<-- 220' greeting in: $stderr"
	[[ $stderr == *"--> EHLO "* ]] || fail "no '--> EHLO' in: $stderr"
	[[ $stderr == *"--> STARTTLS"* ]] || fail "no '--> STARTTLS' in: $stderr"
	[[ $stderr == *"--> MAIL FROM:<$FAKE_FROM>"* ]] || fail "no MAIL FROM in: $stderr"
	[[ $stderr == *"<-- 235 "* ]] || fail "no '<-- 235' in: $stderr"
	[[ $stderr == *"--> AUTH PLAIN"* ]] || fail "no AUTH PLAIN in: $stderr"
	assert_password_masked
	[[ $stderr != *"$(plain_blob)"* ]] || fail "the AUTH PLAIN blob is on stderr"
}

@test "-v with AUTH LOGIN shows neither the user name nor the password payload" {
	run_verbose --auth-mechs LOGIN
	[[ $stderr == *"--> AUTH LOGIN"* ]] || fail "no AUTH LOGIN in: $stderr"
	assert_password_masked
	[[ $stderr != *"$(b64 "$FAKE_USER")"* ]] || fail "the base64 user name payload is on stderr"
}

@test "logfile gets one line: host, tls, auth, recipients, size, reply, exit=0, no password" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config "logfile = $BATS_TEST_TMPDIR/postbote.log"
	std_message >"$MSG"
	run --separate-stderr pb -C "$CONF" bob@example.org carol@example.org <"$MSG"
	assert_success
	assert_file_exist "$BATS_TEST_TMPDIR/postbote.log"
	run cat "$BATS_TEST_TMPDIR/postbote.log"
	assert_equal "${#lines[@]}" 1
	local size
	size=$(stat -c %s "$FAKE_OUT/msg-1.eml")
	assert_output --partial " host=localhost "
	assert_output --partial " tls=starttls "
	assert_output --partial " auth=PLAIN "
	assert_output --partial " user=$FAKE_USER "
	assert_output --partial " from=$FAKE_FROM "
	assert_output --partial " recipients=bob@example.org,carol@example.org "
	assert_output --partial " size=$size "
	assert_output --partial ' reply="250 '
	assert_output --regexp ' exit=0$'
	refute_output --partial "$FAKE_PASS"
	refute_output --partial "$(plain_blob)"
}

@test "logfile records a failure with its exit code" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS" --reply 'RCPT=550 5.1.1 no such user'
	fake_config "logfile = $BATS_TEST_TMPDIR/postbote.log"
	std_message >"$MSG"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_equal "$status" 67
	run cat "$BATS_TEST_TMPDIR/postbote.log"
	assert_equal "${#lines[@]}" 1
	assert_output --regexp ' exit=67$'
}
