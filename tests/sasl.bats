#!/usr/bin/env bats
# SASL beyond tests/auth.bats: SCRAM-*-PLUS with TLS channel binding (tls-exporter on TLS 1.3,
# tls-unique on TLS 1.2), the choice auth = on makes with them, EXTERNAL with a client
# certificate, GSSAPI by name only, and the OAuth 2.0 mechanisms XOAUTH2 and OAUTHBEARER
# (RFC 7628) with their error challenge. Against tests/saslsmtp.py (which checks channel
# binding with OpenSSL's own exporter) and, when available, Postfix with Dovecot SASL.

load lib/common
load lib/postfix
load lib/sasl

TOKEN='ya29.a0AfB_byC-x.y~z+/w=='

setup_file() { sasl_setup_file sasl; }
teardown_file() { postfix_teardown_file; }
setup() { sasl_setup; }
teardown() { common_teardown; }

# ---- helpers ---------------------------------------------------------------------------------

# assert_authenticated MECH [CB]: delivered after AUTH MECH (with channel binding CB, or none).
assert_authenticated() {
	[ "$status" -eq 0 ] || fail "postbote exited $status; stderr: $stderr"
	assert_equal "$stderr" ""
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" auth_mechanism)" "$1"
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" auth_cb)" "${2:-null}"
}

# password_login MECHS [saslsmtp options] [-- config lines]: saslsmtp.py offers MECHS to the
# test user, who has a password; an account for it with the config lines; one message sent.
password_login() {
	local mechs=$1 opts=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	[ "${1:-}" = -- ] && shift
	sasl_server --auth "$FAKE_USER:$FAKE_PASS" --auth-mechs "$mechs" "${opts[@]}"
	fake_config "$@"
	send
}

# auth_get KEY: KEY of the last AUTH exchange the server saw (auth.jsonl).
auth_get() {
	tail -n 1 "$FAKE_OUT/auth.jsonl" | "$PYTHON" -c 'import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v[k]
print(v if isinstance(v, str) else json.dumps(v))' "$1"
}

# auth_payload: the decoded initial response of the first AUTH line the client sent, with ^A
# shown as "^A".
auth_payload() {
	client_lines | sed -n 's/^AUTH [A-Z0-9-]* //p' | head -n 1 | base64 -d | sed 's/\x01/^A/g'
}

# ---- SCRAM-*-PLUS: channel binding -------------------------------------------------------------

@test "auth = on picks SCRAM-SHA-256-PLUS over everything else; TLS 1.3 binds with tls-exporter" {
	password_login "PLAIN LOGIN SCRAM-SHA-1 SCRAM-SHA-256 SCRAM-SHA-1-PLUS SCRAM-SHA-256-PLUS" \
		--tls starttls
	assert_authenticated SCRAM-SHA-256-PLUS tls-exporter
	assert_equal "$(auth_get gs2)" "p=tls-exporter,,"
	assert_equal "$(auth_get tls_version)" TLSv1.3
}

@test "on TLS 1.2 SCRAM-SHA-256-PLUS binds with tls-unique" {
	password_login "SCRAM-SHA-256 SCRAM-SHA-256-PLUS PLAIN" --tls starttls --tls-max 1.2
	assert_authenticated SCRAM-SHA-256-PLUS tls-unique
	assert_equal "$(auth_get gs2)" "p=tls-unique,,"
}

@test "SCRAM-SHA-1-PLUS ranks above SCRAM-SHA-256 (implicit TLS)" {
	password_login "SCRAM-SHA-256 SCRAM-SHA-1-PLUS PLAIN" --tls implicit
	assert_authenticated SCRAM-SHA-1-PLUS tls-exporter
}

@test "auth = SCRAM-SHA-1-PLUS by name, on TLS 1.2" {
	password_login "SCRAM-SHA-256-PLUS SCRAM-SHA-1-PLUS" --tls starttls --tls-max 1.2 \
		-- "auth = SCRAM-SHA-1-PLUS"
	assert_authenticated SCRAM-SHA-1-PLUS tls-unique
}

@test "without TLS, auth = on passes over the -PLUS mechanisms to SCRAM-SHA-256 (gs2 n,,)" {
	password_login "SCRAM-SHA-256-PLUS SCRAM-SHA-1-PLUS SCRAM-SHA-256" --auth-plain-ok \
		-- "auth_plaintext = allow"
	assert_authenticated SCRAM-SHA-256
	assert_equal "$(auth_get gs2)" "n,,"
}

@test "auth = SCRAM-SHA-256-PLUS without TLS: exit 77, says why, no AUTH sent" {
	password_login "SCRAM-SHA-256-PLUS" --auth-plain-ok \
		-- "auth_plaintext = allow" "auth = SCRAM-SHA-256-PLUS"
	assert_equal "$status" 77
	assert_error_line "SCRAM-SHA-256-PLUS needs TLS channel binding"
	refute_sent_anything
}

@test "wrong password with SCRAM-SHA-256-PLUS: exit 77 quoting the server" {
	sasl_server --tls starttls --auth "$FAKE_USER:not-$FAKE_PASS" --auth-mechs "SCRAM-SHA-256-PLUS"
	fake_config
	send
	assert_equal "$status" 77
	assert_error_line "authentication failed for user $FAKE_USER" "SCRAM-SHA-256-PLUS" "535"
	refute_client_sent '^MAIL'
}

# ---- EXTERNAL and GSSAPI: only when named ----------------------------------------------------

@test "auth = on never picks EXTERNAL or GSSAPI (nor XOAUTH2, OAUTHBEARER)" {
	password_login "EXTERNAL GSSAPI XOAUTH2 OAUTHBEARER LOGIN" --tls starttls \
		--client-ca "$CA_DIR/ca.pem" --external "postbote test client" \
		-- "tls_cert_file = $CA_DIR/client.pem" "tls_key_file = $CA_DIR/client.key"
	assert_authenticated LOGIN
}

@test "auth = EXTERNAL with a client certificate and no user: empty authorization identity" {
	sasl_server --tls starttls --client-ca "$CA_DIR/ca.pem" --external "postbote test client" \
		--auth-mechs "PLAIN EXTERNAL"
	fake_config --no-auth "auth = EXTERNAL" \
		"tls_cert_file = $CA_DIR/client.pem" "tls_key_file = $CA_DIR/client.key"
	send
	assert_authenticated EXTERNAL
	assert_equal "$(auth_get authzid)" ""
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" auth_user)" "postbote test client"
	client_lines | grep -qx 'AUTH EXTERNAL =' || fail "no 'AUTH EXTERNAL =' line: $(client_lines)"
}

@test "auth = EXTERNAL with a user: sent as the authorization identity; no password needed" {
	sasl_server --tls starttls --client-ca "$CA_DIR/ca.pem" \
		--external "postbote test client=$FAKE_USER" --auth-mechs "EXTERNAL"
	fake_config --no-auth "user = $FAKE_USER" "auth = EXTERNAL" \
		"passwordeval = echo ran >$BATS_TEST_TMPDIR/evaluated; echo x" \
		"tls_cert_file = $CA_DIR/client.pem" "tls_key_file = $CA_DIR/client.key"
	send
	assert_authenticated EXTERNAL
	assert_equal "$(auth_get authzid)" "$FAKE_USER"
	assert_file_not_exist "$BATS_TEST_TMPDIR/evaluated"
}

@test "auth = EXTERNAL without a client certificate: exit 77 quoting the 535" {
	sasl_server --tls starttls --client-ca "$CA_DIR/ca.pem" --external "postbote test client" \
		--auth-mechs "EXTERNAL"
	fake_config --no-auth "auth = EXTERNAL"
	send
	assert_equal "$status" 77
	assert_error_line "EXTERNAL" "535"
	refute_client_sent '^MAIL'
}

@test "auth = GSSAPI when the server does not offer it: exit 77, no AUTH sent" {
	sasl_server --tls starttls --auth "$FAKE_USER:$FAKE_PASS" --auth-mechs "PLAIN"
	fake_config --no-auth "user = $FAKE_USER" "auth = GSSAPI"
	send
	assert_equal "$status" 77
	assert_error_line "does not offer GSSAPI"
	refute_sent_anything
}

# ---- XOAUTH2 -------------------------------------------------------------------------------------

@test "XOAUTH2: user=...^Aauth=Bearer TOKEN^A^A on the AUTH line" {
	sasl_server --tls starttls --token "$FAKE_USER:$TOKEN" --auth-mechs "PLAIN XOAUTH2"
	fake_config "auth = XOAUTH2" "password = $TOKEN"
	send
	assert_authenticated XOAUTH2
	assert_equal "$(auth_payload)" "user=$FAKE_USER^Aauth=Bearer $TOKEN^A^A"
}

@test "XOAUTH2 with the token from passwordeval (an OAuth refresh helper)" {
	sasl_server --tls implicit --token "$FAKE_USER:$TOKEN" --auth-mechs "XOAUTH2"
	fake_config --no-auth "user = $FAKE_USER" "auth = XOAUTH2" "passwordeval = printf '%s\\n' '$TOKEN'"
	send
	assert_authenticated XOAUTH2
}

@test "XOAUTH2 refused: empty dummy response, exit 77 with the 535 and the JSON status" {
	sasl_server --tls starttls --token "$FAKE_USER:$TOKEN" --auth-mechs "XOAUTH2"
	fake_config "auth = XOAUTH2" "password = expired.token"
	send
	assert_equal "$status" 77
	assert_error_line "authentication failed for user $FAKE_USER" "XOAUTH2" "535" "status 401" \
		'"scope":"https://mail.google.com/"'
	assert_equal "$(auth_get dummy)" ""
	refute_client_sent '^MAIL'
}

# ---- OAUTHBEARER -------------------------------------------------------------------------------

@test "OAUTHBEARER: GS2 header with the user, host, port and the bearer token" {
	sasl_server --tls starttls --token "$FAKE_USER:$TOKEN" --auth-mechs "PLAIN OAUTHBEARER"
	fake_config "auth = OAUTHBEARER" "password = $TOKEN"
	send
	assert_authenticated OAUTHBEARER
	assert_equal "$(auth_payload)" \
		"n,a=$FAKE_USER,^Ahost=localhost^Aport=$FAKE_PORT^Aauth=Bearer $TOKEN^A^A"
}

@test "OAUTHBEARER escapes ',' and '=' in the user name (RFC 5801 saslname)" {
	sasl_server --tls starttls --token "a,b=c:$TOKEN" --auth-mechs "OAUTHBEARER"
	fake_config --no-auth "user = a,b=c" "auth = OAUTHBEARER" "password = $TOKEN"
	send
	assert_authenticated OAUTHBEARER
	assert_equal "$(auth_get gs2)" "n,a=a=2Cb=3Dc,"
	assert_equal "$(auth_get user)" "a,b=c"
}

@test "OAUTHBEARER refused: dummy response AQ==, exit 77 with the 535 and the JSON status" {
	sasl_server --tls starttls --token "$FAKE_USER:$TOKEN" --auth-mechs "OAUTHBEARER"
	fake_config "auth = OAUTHBEARER" "password = stale-token"
	send
	assert_equal "$status" 77
	assert_error_line "authentication failed for user $FAKE_USER" "OAUTHBEARER" "535" \
		"status invalid_token"
	assert_equal "$(auth_get dummy)" "AQ=="
	refute_client_sent '^MAIL'
}

@test "an OAuth error document with control characters is shown cleaned" {
	sasl_server --tls starttls --token "$FAKE_USER:$TOKEN" --auth-mechs "OAUTHBEARER" \
		--oauth-error $'{"status" : "invalid_request",\n"x":"\e[31mred"}'
	fake_config "auth = OAUTHBEARER" "password = stale-token"
	send
	assert_equal "$status" 77
	assert_error_line "status invalid_request" '\x1b[31mred'
	[[ $stderr != *$'\e'* ]] || fail "an escape character reached stderr"
}

@test "a token with characters a bearer token cannot have: exit 77 before AUTH is sent" {
	sasl_server --tls starttls --token "$FAKE_USER:$TOKEN" --auth-mechs "OAUTHBEARER"
	fake_config "auth = OAUTHBEARER" "password = not a token"
	send
	assert_equal "$status" 77
	assert_error_line "OAUTHBEARER needs an OAuth 2.0 access token"
	refute_client_sent '^(AUTH|MAIL)'
}

# ---- against Postfix with Dovecot 2.3 ----------------------------------------------------------

@test "Postfix+Dovecot: auth = on picks SCRAM-SHA-256, the strongest offered (no -PLUS there)" {
	need_postfix
	pf_conf "$CONF" submission
	off=$(pf_log_size)
	run --separate-stderr timeout 60 "$POSTBOTE" -v -C "$CONF" bob@example.org <"$MSG"
	[ "$status" -eq 0 ] || fail "postbote exited $status; stderr: $stderr"
	[[ $stderr == *"250-AUTH "*SCRAM-SHA-256* ]] || fail "Dovecot offers no SCRAM-SHA-256: $stderr"
	[[ $stderr != *"-PLUS"* ]] || fail "this Dovecot offers a -PLUS mechanism now: extend the tests"
	run pf_session submission "$off"
	assert_output --partial "sasl_method=SCRAM-SHA-256, sasl_username=$PF_USER"
}

@test "Postfix+Dovecot: auth = PLAIN" {
	need_postfix
	pf_auth_with PLAIN
}

@test "Postfix+Dovecot: SCRAM-SHA-256 for the user whose password has blanks and UTF-8" {
	need_postfix
	pf_deliver submission auth=SCRAM-SHA-256 "user=$PF_USER2" "password=$PF_PASS2" "from=$PF_FROM2"
	assert_output --partial "sasl_method=SCRAM-SHA-256, sasl_username=$PF_USER2"
}

@test "Postfix+Dovecot: auth = SCRAM-SHA-256-PLUS, which Dovecot 2.3 lacks: exit 77, no AUTH" {
	need_postfix
	pf_conf "$CONF" submission auth=SCRAM-SHA-256-PLUS
	off=$(pf_log_size)
	pf_send
	assert_equal "$status" 77
	[[ $stderr == *"does not offer SCRAM-SHA-256-PLUS"* ]] || fail "stderr: $stderr"
	run pf_session submission "$off"
	refute_output --regexp 'disconnect from .*auth='
	[ "$(maildir_count)" -eq 0 ]
}
