#!/usr/bin/env bats
# The command line: informational options, usage errors, and the sendmail options that
# calling programs (cron, mutt, git) pass and postbote must accept and ignore.

load lib/common

setup_file() { common_setup_file; }
setup() { common_setup; }
teardown() { common_teardown; }

@test "--version prints 'postbote 0.1' on stdout and exits 0" {
	run --separate-stderr pb --version </dev/null
	assert_success
	assert_output "postbote 0.1"
	assert_equal "$stderr" ""
}

@test "--help prints usage on stdout and exits 0" {
	run --separate-stderr pb --help </dev/null
	assert_success
	assert_output --regexp '[Uu]sage'
	assert_output --partial "postbote"
	assert_equal "$stderr" ""
}

@test "an unknown long option exits 64 with one line on stderr" {
	fake_start
	fake_config --no-auth
	std_message >"$MSG"
	run --separate-stderr pb -C "$CONF" --no-such-option bob@example.org <"$MSG"
	assert_equal "$status" 64
	assert_error_line "no-such-option"
	assert_file_empty "$FAKE_OUT/transcript.log"
}

@test "an unknown short option exits 64 with one line on stderr" {
	std_message >"$MSG"
	run --separate-stderr pb -Z bob@example.org <"$MSG"
	assert_equal "$status" 64
	assert_error_line
}

@test "-bd, and -bi -bs -q given recipients, exit 64 with one line each" {
	local mode
	std_message >"$MSG"
	for mode in -bd -bi -bs -q; do
		run --separate-stderr pb "$mode" bob@example.org <"$MSG"
		[ "$status" -eq 64 ] || fail "postbote $mode exited $status, not 64 (stderr: $stderr)"
		assert_error_line
	done
}

@test "-t with a message that names nobody: exit 65, one line, nothing sent" {
	fake_start
	fake_config --no-auth
	printf 'Subject: no recipients\n\nbody\n' >"$MSG"
	run --separate-stderr pb -C "$CONF" -t <"$MSG"
	assert_equal "$status" 65
	assert_error_line "no recipients"
	refute_client_sent '^MAIL'
}

@test "no recipients exits 64 and connects to nothing" {
	fake_start
	fake_config --no-auth
	std_message >"$MSG"
	run --separate-stderr pb -C "$CONF" <"$MSG"
	assert_equal "$status" 64
	assert_error_line "postbote: no recipients given"
	assert_file_empty "$FAKE_OUT/transcript.log"
}

# The options each caller uses must be accepted, must not eat a recipient, and must not
# change the message.
_ignored_options_deliver() {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config
	std_message >"$MSG"
	std_message | crlf >"$WANT"
	run --separate-stderr pb -C "$CONF" "$@" <"$MSG"
	assert_sent
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" rcpt_tos)" '["bob@example.org"]'
}

@test "cron's options are accepted: -FCronDaemon -i -B8BITMIME -oem" {
	_ignored_options_deliver -FCronDaemon -i -B8BITMIME -oem bob@example.org
}

@test "mutt's options are accepted: -oem -oi --" {
	_ignored_options_deliver -oem -oi -- bob@example.org
}

@test "git send-email's options are accepted: -i -f ADDR" {
	_ignored_options_deliver -i -f "$FAKE_FROM" bob@example.org
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" mail_from)" "$FAKE_FROM"
}

@test "other ignored sendmail options and their arguments are skipped" {
	_ignored_options_deliver -B 8BITMIME -odi -odb -oQ/tmp -h 17 -L mytag -m -n \
		-O DeliveryMode=b -G -U -X /dev/null -Ac -Am -bm bob@example.org
}

# ---- options end at the first recipient ---------------------------------------------------

@test "options after a recipient are recipients: -C there reads no file and runs no passwordeval" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config
	local evil=$BATS_TEST_TMPDIR/evil.conf
	write_config "$evil" <<EOF2
[defaults]
default_account = x
[x]
host = localhost
port = $FAKE_PORT
tls = off
user = x
auth_plaintext = allow
passwordeval = touch '$BATS_TEST_TMPDIR/pwned'; echo x
EOF2
	std_message >"$MSG"
	run --separate-stderr pb -C "$CONF" bob@example.org -C "$evil" <"$MSG"
	assert_file_not_exist "$BATS_TEST_TMPDIR/pwned"
	assert_success
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" rcpt_tos)" "[\"bob@example.org\", \"-C\", \"$evil\"]"
}

@test "options after a recipient are recipients: -f there does not change the sender" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config
	std_message >"$MSG"
	run --separate-stderr pb -C "$CONF" bob@example.org -fattacker@evil.example <"$MSG"
	assert_success
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" mail_from)" "$FAKE_FROM"
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" rcpt_tos)" '["bob@example.org", "-fattacker@evil.example"]'
}

# ---- newaliases -------------------------------------------------------------------------------

@test "newaliases and -bi succeed quietly without any configuration; -v says why there is nothing to do" {
	ln -s "$POSTBOTE" "$BATS_TEST_TMPDIR/newaliases"
	run --separate-stderr timeout 30 "$BATS_TEST_TMPDIR/newaliases"
	assert_success
	assert_equal "$output$stderr" ""
	run --separate-stderr pb -bi
	assert_success
	assert_equal "$output$stderr" ""
	run --separate-stderr pb -bi -v
	assert_success
	assert_equal "$stderr" "--- postbote keeps no alias database: the aliases file is read as it is at every submission, so there is nothing to rebuild"
}
