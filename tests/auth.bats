#!/usr/bin/env bats
# SMTP AUTH: each mechanism, the choice `auth = on` makes, failures, and the refusal to send
# credentials without TLS.

load lib/common
load lib/sasl

setup_file() { common_setup_file; }
setup() { sasl_setup; }
teardown() { common_teardown; }

assert_authenticated_with() { # MECH
	assert_sent
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" auth_user)" "$FAKE_USER"
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" auth_mechanism)" "$1"
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" auth_tls)" true
}

@test "AUTH PLAIN when it is the only mechanism offered" {
	auth_with PLAIN
	assert_authenticated_with PLAIN
}

@test "AUTH LOGIN when it is the only mechanism offered" {
	auth_with LOGIN
	assert_authenticated_with LOGIN
}

@test "AUTH CRAM-MD5 when it is the only mechanism offered" {
	auth_with CRAM-MD5
	assert_authenticated_with CRAM-MD5
	# CRAM-MD5 never sends the password itself
	run client_lines
	refute_output --partial "$FAKE_PASS"
}

@test "AUTH SCRAM-SHA-1 when it is the only mechanism offered" {
	auth_with SCRAM-SHA-1
	assert_authenticated_with SCRAM-SHA-1
}

@test "AUTH SCRAM-SHA-256 when it is the only mechanism offered" {
	auth_with SCRAM-SHA-256
	assert_authenticated_with SCRAM-SHA-256
}

@test "auth = on picks PLAIN over CRAM-MD5 and LOGIN over TLS, whatever the server's order" {
	auth_with "LOGIN CRAM-MD5 PLAIN" "auth = on"
	assert_authenticated_with PLAIN
}

@test "auth = on picks SCRAM-SHA-256 when everything is offered" {
	auth_with "LOGIN PLAIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256"
	assert_authenticated_with SCRAM-SHA-256
}

@test "auth = on picks SCRAM-SHA-1 over PLAIN" {
	auth_with "PLAIN LOGIN SCRAM-SHA-1"
	assert_authenticated_with SCRAM-SHA-1
}

@test "auth = LOGIN uses LOGIN even when stronger mechanisms are offered" {
	auth_with "PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256" "auth = LOGIN"
	assert_authenticated_with LOGIN
}

@test "auth = CRAM-MD5 when the server offers only PLAIN: exit 77, no AUTH sent" {
	auth_with PLAIN "auth = CRAM-MD5"
	assert_equal "$status" 77
	assert_error_line "no usable authentication mechanism"
	refute_client_sent '^(AUTH|MAIL)'
}

@test "server offers only a mechanism postbote lacks: exit 77, no usable mechanism" {
	auth_with GSSAPI
	assert_equal "$status" 77
	assert_error_line "no usable authentication mechanism"
	refute_client_sent '^(AUTH|MAIL)'
}

@test "wrong password: exit 77 quoting the 535 reply, no MAIL sent" {
	fake_start --tls starttls --auth "$FAKE_USER:not-the-password"
	fake_config
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_equal "$status" 77
	assert_error_line "authentication failed" "535 5.7.8 Authentication credentials invalid"
	[[ $stderr != *"$FAKE_PASS"* ]] || fail "the password is on stderr"
	refute_client_sent '^MAIL'
	assert_file_not_exist "$FAKE_OUT/msg-1.eml"
}

@test "wrong password with SCRAM-SHA-256: exit 77" {
	fake_start --tls starttls --auth "$FAKE_USER:not-the-password" --auth-mechs SCRAM-SHA-256
	fake_config
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_equal "$status" 77
	assert_error_line "authentication failed" "535"
	assert_file_not_exist "$FAKE_OUT/msg-1.eml"
}

@test "auth = off sends no AUTH (and this server then refuses MAIL)" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config "auth = off"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_equal "$status" 69
	assert_error_line "530"
	refute_client_sent '^AUTH'
}

@test "no user: AUTH defaults to off" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS" --auth-optional
	fake_config --no-auth
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_success
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" auth_user)" null
	refute_client_sent '^AUTH'
}

# tls = off with credentials would put the password on the wire in clear.
@test "tls = off with a user is refused without auth_plaintext = allow (exit 78), nothing sent" {
	fake_start --auth "$FAKE_USER:$FAKE_PASS" --auth-plain-ok
	fake_config "tls = off"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_equal "$status" 78
	assert_error_line
	refute_client_sent '^(AUTH|MAIL)'
	run client_lines
	refute_output --partial "$(printf '\0%s\0%s' "$FAKE_USER" "$FAKE_PASS" | base64 -w0)"
}

@test "tls = off with auth_plaintext = allow authenticates in clear" {
	fake_start --auth "$FAKE_USER:$FAKE_PASS" --auth-plain-ok
	fake_config "tls = off" "auth_plaintext = allow"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_success
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" auth_user)" "$FAKE_USER"
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" auth_tls)" false
}

# ---- replies that need a person ----------------------------------------------------------------

# refused_with_hint FAKEOPT HINT: exit 77 and one line that quotes the reply and says what to do
refused_with_hint() {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS" --reply "$1"
	fake_config
	std_message >"$MSG"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_equal "$status" 77
	assert_error_line "${1#*=}" "$2"
	assert_file_not_exist "$FAKE_OUT/msg-1.eml"
}

@test "Microsoft's 5.7.139 (basic authentication off): exit 77 and a hint to use OAuth 2.0" {
	refused_with_hint 'AUTH=535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.' \
		"Microsoft 365 has basic authentication (a password) turned off for SMTP on this tenant: use OAuth 2.0"
}

@test "Microsoft's 5.7.30 at MAIL FROM: exit 77, not 69, and the same hint" {
	refused_with_hint 'MAIL=550 5.7.30 Basic authentication is not supported for Client Submission.' \
		"Microsoft does not take a password for SMTP on this account: use OAuth 2.0"
}

@test "Google's 5.7.8 BadCredentials: exit 77 and the app password hint" {
	refused_with_hint 'AUTH=535 5.7.8 Username and Password not accepted. For more information, go to https://support.google.com/mail/?p=BadCredentials' \
		"Google refused the password: with 2-step verification on, it takes only an app password"
}
