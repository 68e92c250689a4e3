#!/usr/bin/env bats
# TLS: a server without STARTTLS, certificate failures, and the STARTTLS injection attack.
# In every failure no credentials and no message may leave the client.

load lib/common
load lib/sasl

setup_file() { common_setup_file; }
setup() { sasl_setup; }
teardown() { common_teardown; }

# handshake_fails [--untrusted] MODE FRAGMENT [fakesmtp options]: postbote against a server with
# --tls MODE and the options (with --untrusted, trusting only the other CA) exits 76 with one
# line "postbote: TLS handshake with localhost failed: certificate" that contains FRAGMENT.
handshake_fails() {
	local trust=$CA_DIR/ca.pem mode frag
	if [ "$1" = --untrusted ]; then
		trust=$CA_DIR/other-ca.pem
		shift
	fi
	mode=$1 frag=$2
	shift 2
	fake_start --tls "$mode" --auth "$FAKE_USER:$FAKE_PASS" "$@"
	fake_config
	sed -i "s|^tls_trust_file = .*|tls_trust_file = $trust|" "$CONF"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_equal "$status" 76
	assert_error_line "postbote: TLS handshake with localhost failed: certificate" "$frag"
}

@test "server without STARTTLS (AUTH offered in clear): exit 69, no AUTH sent" {
	fake_start --tls starttls --no-starttls --auth "$FAKE_USER:$FAKE_PASS" --auth-plain-ok
	fake_config
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_equal "$status" 69
	assert_error_line "postbote: localhost does not offer STARTTLS"
	refute_sent_anything
}

@test "plain server without STARTTLS or AUTH: exit 69 with tls = starttls" {
	fake_start
	FAKE_TLS=starttls fake_config
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_equal "$status" 69
	assert_error_line "postbote: localhost does not offer STARTTLS"
	refute_sent_anything
}

@test "certificate from another CA: exit 76, not trusted, no AUTH sent" {
	handshake_fails --untrusted starttls "not trusted"
	refute_sent_anything tls
}

@test "certificate for another name: exit 76, does not match, no AUTH sent" {
	handshake_fails starttls "does not match" \
		--cert "$CA_DIR/wrongname.pem" --key "$CA_DIR/wrongname.key"
	refute_sent_anything
}

@test "expired certificate: exit 76, no AUTH sent" {
	handshake_fails starttls "expired" --cert "$CA_DIR/expired.pem" --key "$CA_DIR/expired.key"
	refute_sent_anything
}

@test "implicit TLS with an untrusted certificate: exit 76, nothing sent" {
	handshake_fails --untrusted implicit ""
	assert_file_empty "$FAKE_OUT/transcript.log"
}

@test "tls_trust_file = system does not trust the test CA (control: the test CA file does)" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_success
	sed -i "s|^tls_trust_file = .*|tls_trust_file = system|" "$CONF"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_equal "$status" 76
	assert_error_line "certificate"
	assert_file_not_exist "$FAKE_OUT/msg-2.eml"
}

# A man in the middle appends plaintext replies to "220 Ready to start TLS"; a client that
# keeps them in its read buffer would take them as the server's answers after the handshake.
@test "STARTTLS response injection: exit 76, the injected replies are not acted on" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS" \
		--raw-after-starttls '250-evil.example\r\n250 AUTH PLAIN\r\n235 2.7.0 ok\r\n250 2.1.0 ok\r\n'
	fake_config
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_equal "$status" 76
	assert_error_line
	refute_sent_anything tls
}

@test "connection closed right after 220 to STARTTLS: fails with 75 or 76, quickly" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS" --drop AFTER-STARTTLS
	fake_config
	local start=$SECONDS
	PB_TIMEOUT=20 run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	[ "$status" -eq 75 ] || [ "$status" -eq 76 ] || fail "exit $status, want 75 or 76 (stderr: $stderr)"
	assert_error_line
	refute_sent_anything
	[ $((SECONDS - start)) -lt 10 ] || fail "took $((SECONDS - start)) s"
}

@test "STARTTLS refused with 454: exit 75, nothing sent in clear" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS" --reply 'STARTTLS=454 4.7.0 TLS not available now'
	fake_config
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_equal "$status" 75
	assert_error_line "454 4.7.0 TLS not available now"
	refute_sent_anything
}
