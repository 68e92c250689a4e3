#!/usr/bin/env bats
# TLS policy: a pinned fingerprint instead of CA trust, tls_certcheck = off, tls_host_override and
# SNI, tls_min_version and tls_priorities, CRLs and stapled OCSP, client certificates. Against
# tests/fakesmtp.py, tests/saslsmtp.py (for SNI, OCSP stapling and client certificates, which
# Python's ssl module cannot show) and, when available, the real Postfix of tests/lib/postfix.bash.
# In every failure no credentials and no message may leave the client.

load lib/common
load lib/postfix
load lib/sasl

setup_file() { sasl_setup_file tlspolicy pf_add_ccert_listener; }
teardown_file() { postfix_teardown_file; }
setup() { sasl_setup; }
teardown() { common_teardown; }

# ---- helpers ---------------------------------------------------------------------------------

# starttls_send [config lines]: the fake server with STARTTLS and the test user, an account for
# it with the config lines, one message sent.
starttls_send() {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config "$@"
	send
}

assert_delivered() {
	[ "$status" -eq 0 ] || fail "postbote exited $status; stderr: $stderr"
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
}

# assert_tls_version VERSION: delivered over TLS of that version (TLSv1.2, TLSv1.3).
assert_tls_version() {
	assert_delivered
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" tls_version)" "$1"
}

# upper_bare FINGERPRINT: the same fingerprint in capitals without colons.
upper_bare() {
	printf '%s' "$1" | tr -d : | tr a-f A-F
}

# wrong_pin FINGERPRINT: a fingerprint that differs in the first byte, same form.
wrong_pin() {
	case $1 in
	00*) printf '11%s' "${1#00}" ;;
	*) printf '00%s' "${1:2}" ;;
	esac
}

# make_crl OUT [CERT]: a CRL of the test CA, revoking CERT when given.
make_crl() {
	local tmpl=$BATS_TEST_TMPDIR/crl.tmpl
	printf '%s\n' 'crl_next_update = 30' 'crl_number = 1' >"$tmpl"
	certtool --generate-crl --load-ca-privkey "$CA_DIR/ca.key" --load-ca-certificate "$CA_DIR/ca.pem" \
		${2:+--load-certificate "$2"} --template "$tmpl" --outfile "$1" 2>/dev/null
}

# make_ocsp OUT good|revoked: a DER OCSP response for server.pem, signed by the test CA.
make_ocsp() {
	command -v openssl >/dev/null || skip "needs openssl to make an OCSP response"
	local d=$BATS_TEST_TMPDIR/ocsp serial subj exp
	mkdir -p "$d"
	serial=$(openssl x509 -in "$CA_DIR/server.pem" -noout -serial | cut -d= -f2)
	subj=$(openssl x509 -in "$CA_DIR/server.pem" -noout -subject -nameopt compat | sed 's/^subject=//')
	exp=$(date -u -d '+30 days' +%y%m%d%H%M%SZ)
	if [ "$2" = revoked ]; then
		printf 'R\t%s\t%s\t%s\tunknown\t%s\n' "$exp" "$(date -u -d '-1 hour' +%y%m%d%H%M%SZ)" \
			"$serial" "$subj" >"$d/index.txt"
	else
		printf 'V\t%s\t\t%s\tunknown\t%s\n' "$exp" "$serial" "$subj" >"$d/index.txt"
	fi
	openssl ocsp -issuer "$CA_DIR/ca.pem" -cert "$CA_DIR/server.pem" -reqout "$d/req.der" \
		-no_nonce >/dev/null 2>&1 &&
		openssl ocsp -index "$d/index.txt" -rsigner "$CA_DIR/ca.pem" -rkey "$CA_DIR/ca.key" \
			-CA "$CA_DIR/ca.pem" -reqin "$d/req.der" -respout "$1" -ndays 1 >/dev/null 2>&1 ||
		fail "openssl could not make the OCSP response"
}

# A Postfix listener that asks for a client certificate and lets a client with a verified one
# relay without AUTH (and nobody else): delivery proves the certificate was presented.
pf_add_ccert_listener() {
	local _pf_taken="$PF_SUBMISSION $PF_SMTPS $PF_PLAIN $PF_NOPIPE $PF_CLOSED"
	PF_CCERT=$(_pf_free_port) || return 1
	export PF_CCERT
	cat >>"$PF_DIR/conf/master.cf" <<-EOF
		127.0.0.1:$PF_CCERT inet n - n - - smtpd -o syslog_name=postfix/ccert
		  -o smtpd_tls_security_level=encrypt -o smtpd_tls_ask_ccert=yes
		  -o smtpd_tls_CAfile=$PF_CA -o smtpd_sasl_auth_enable=no
		  -o smtpd_recipient_restrictions=permit_tls_all_clientcerts,reject
	EOF
	postfix -c "$PF_DIR/conf" reload </dev/null >/dev/null 2>&1 || return 1
	_pf_poll 150 _pf_listening "$PF_CCERT"
}

# ---- tls_fingerprint ---------------------------------------------------------------------------

@test "tls_fingerprint of the server's certificate replaces CA trust (colons, lower case)" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config "tls_trust_file = $CA_DIR/other-ca.pem" \
		"tls_fingerprint = $(cert_sha256 "$CA_DIR/server.pem")"
	send
	assert_delivered
	assert_equal "$stderr" ""
}

@test "tls_fingerprint in capitals without colons works too, and accepts an expired certificate" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS" \
		--cert "$CA_DIR/expired.pem" --key "$CA_DIR/expired.key"
	fake_config "tls_fingerprint = $(upper_bare "$(cert_sha256 "$CA_DIR/expired.pem")")"
	send
	assert_delivered
}

@test "wrong tls_fingerprint: exit 76, the actual fingerprint in the same form, no AUTH sent" {
	local fp
	fp=$(cert_sha256 "$CA_DIR/server.pem")
	starttls_send "tls_fingerprint = $(wrong_pin "$fp")"
	assert_equal "$status" 76
	assert_error_line "postbote: TLS handshake with localhost failed:" "tls_fingerprint" "$fp"
	refute_sent_anything tls
}

@test "wrong tls_fingerprint written bare in capitals: the actual one is shown the same way" {
	local fp
	fp=$(upper_bare "$(cert_sha256 "$CA_DIR/server.pem")")
	fake_start --tls implicit --auth "$FAKE_USER:$FAKE_PASS"
	fake_config "tls_fingerprint = $(wrong_pin "$fp")"
	send
	assert_equal "$status" 76
	assert_error_line "does not match tls_fingerprint" "$fp"
	assert_file_empty "$FAKE_OUT/transcript.log"
}

@test "wrong tls_fingerprint on a certificate the CA trusts still fails: the pin decides" {
	starttls_send "tls_fingerprint = $(wrong_pin "$(cert_sha256 "$CA_DIR/server.pem")")"
	assert_equal "$status" 76
	refute_sent_anything tls
}

@test "malformed tls_fingerprint (too short): exit 78, says what a fingerprint looks like" {
	starttls_send "tls_fingerprint = ab:cd:ef"
	assert_equal "$status" 78
	assert_error_line "tls_fingerprint" "64 hex digits"
	refute_sent_anything tls
}

# ---- tls_certcheck -----------------------------------------------------------------------------

@test "tls_certcheck = off accepts an untrusted, expired certificate, with a warning" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS" \
		--cert "$CA_DIR/expired.pem" --key "$CA_DIR/expired.key"
	fake_config "tls_trust_file = $CA_DIR/other-ca.pem" "tls_certcheck = off"
	send
	assert_delivered
	assert_error_line "warning" "tls_certcheck"
}

@test "tls_certcheck = on (explicit) still refuses an untrusted certificate" {
	starttls_send "tls_trust_file = $CA_DIR/other-ca.pem" "tls_certcheck = on"
	assert_equal "$status" 76
	assert_error_line "not trusted"
	refute_sent_anything tls
}

@test "tls_certcheck must be on or off" {
	starttls_send "tls_certcheck = maybe"
	assert_equal "$status" 78
	assert_error_line "tls_certcheck"
	assert_file_empty "$FAKE_OUT/transcript.log"
}

# ---- SNI and tls_host_override -----------------------------------------------------------------

@test "SNI carries the host name" {
	sasl_server --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config
	send
	assert_delivered
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" tls_sni)" localhost
}

@test "no SNI for an IP address (and the certificate's IP name is verified)" {
	sasl_server --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config "host = 127.0.0.1"
	send
	assert_delivered
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" tls_sni)" null
}

@test "tls_host_override: verified and sent as SNI instead of host" {
	sasl_server --tls starttls --auth "$FAKE_USER:$FAKE_PASS" \
		--cert "$CA_DIR/wrongname.pem" --key "$CA_DIR/wrongname.key"
	fake_config "tls_host_override = wrong.example"
	send
	assert_delivered
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" tls_sni)" wrong.example
}

@test "without tls_host_override the same certificate fails for host, naming what it is for" {
	sasl_server --tls starttls --auth "$FAKE_USER:$FAKE_PASS" \
		--cert "$CA_DIR/wrongname.pem" --key "$CA_DIR/wrongname.key"
	fake_config
	send
	assert_equal "$status" 76
	assert_error_line "does not match host name localhost" "wrong.example"
	refute_sent_anything tls
}

@test "tls_host_override that the certificate does not match: exit 76 naming the override" {
	sasl_server --tls implicit --auth "$FAKE_USER:$FAKE_PASS"
	fake_config "tls_host_override = mail.example.net"
	send
	assert_equal "$status" 76
	assert_error_line "does not match host name mail.example.net" "localhost"
	assert_file_empty "$FAKE_OUT/transcript.log"
}

# ---- tls_min_version and tls_priorities ------------------------------------------------------

@test "by default TLS 1.2 is accepted" {
	sasl_server --tls starttls --tls-max 1.2 --auth "$FAKE_USER:$FAKE_PASS"
	fake_config
	send
	assert_tls_version TLSv1.2
}

@test "tls_min_version = 1.3 against a server that stops at TLS 1.2: exit 76, no AUTH" {
	sasl_server --tls starttls --tls-max 1.2 --auth "$FAKE_USER:$FAKE_PASS"
	fake_config "tls_min_version = 1.3"
	send
	assert_equal "$status" 76
	assert_error_line "TLS handshake with localhost failed" "tls_min_version"
	refute_sent_anything tls
}

@test "tls_min_version = 1.3 against a TLS 1.3 server" {
	starttls_send "tls_min_version = 1.3"
	assert_tls_version TLSv1.3
}

@test "tls_min_version must be 1.2 or 1.3" {
	starttls_send "tls_min_version = 1.1"
	assert_equal "$status" 78
	assert_error_line "tls_min_version" "1.1"
	assert_file_empty "$FAKE_OUT/transcript.log"
}

@test "tls_priorities replaces the default: NORMAL:-VERS-TLS1.3 gives TLS 1.2" {
	starttls_send "tls_priorities = NORMAL:-VERS-TLS1.3"
	assert_tls_version TLSv1.2
}

@test "tls_priorities cannot bring back TLS 1.1" {
	starttls_send "tls_priorities = NORMAL:-VERS-ALL:+VERS-TLS1.1"
	[ "$status" -eq 76 ] || [ "$status" -eq 78 ] || fail "exit $status, want 76 or 78 (stderr: $stderr)"
	assert_error_line "tls_priorities"
	refute_sent_anything tls
}

@test "tls_priorities that GnuTLS does not understand: exit 78 quoting the bad part" {
	starttls_send "tls_priorities = NORMAL:+NO-SUCH-THING"
	assert_equal "$status" 78
	assert_error_line "tls_priorities" "NO-SUCH-THING"
	refute_sent_anything tls
}

# ---- revocation: tls_crl_file and stapled OCSP -------------------------------------------------

@test "tls_crl_file that revokes the server's certificate: exit 76, revoked, no AUTH" {
	make_crl "$BATS_TEST_TMPDIR/crl.pem" "$CA_DIR/server.pem"
	starttls_send "tls_crl_file = $BATS_TEST_TMPDIR/crl.pem"
	assert_equal "$status" 76
	assert_error_line "certificate has been revoked" "tls_crl_file"
	refute_sent_anything tls
}

@test "tls_crl_file that revokes nothing: delivered" {
	make_crl "$BATS_TEST_TMPDIR/crl.pem"
	starttls_send "tls_crl_file = $BATS_TEST_TMPDIR/crl.pem"
	assert_delivered
}

@test "tls_crl_file that does not exist: exit 78 naming it" {
	starttls_send "tls_crl_file = $BATS_TEST_TMPDIR/no-such-crl.pem"
	assert_equal "$status" 78
	assert_error_line "tls_crl_file" "no-such-crl.pem"
	refute_sent_anything tls
}

@test "a stapled OCSP response saying revoked: exit 76 (TLS 1.3), no AUTH" {
	make_ocsp "$BATS_TEST_TMPDIR/ocsp.der" revoked
	sasl_server --tls starttls --auth "$FAKE_USER:$FAKE_PASS" --ocsp "$BATS_TEST_TMPDIR/ocsp.der"
	fake_config
	send
	assert_equal "$status" 76
	assert_error_line "certificate has been revoked" "stapled OCSP"
	refute_sent_anything tls
}

@test "a stapled OCSP response saying revoked: exit 76 (TLS 1.2)" {
	make_ocsp "$BATS_TEST_TMPDIR/ocsp.der" revoked
	sasl_server --tls implicit --tls-max 1.2 --auth "$FAKE_USER:$FAKE_PASS" \
		--ocsp "$BATS_TEST_TMPDIR/ocsp.der"
	fake_config
	send
	assert_equal "$status" 76
	assert_error_line "revoked" "stapled OCSP"
	assert_file_empty "$FAKE_OUT/transcript.log"
}

@test "a stapled OCSP response saying good: delivered" {
	make_ocsp "$BATS_TEST_TMPDIR/ocsp.der" good
	sasl_server --tls starttls --auth "$FAKE_USER:$FAKE_PASS" --ocsp "$BATS_TEST_TMPDIR/ocsp.der"
	fake_config
	send
	assert_delivered
}

# ---- client certificates -------------------------------------------------------------------------

@test "tls_cert_file and tls_key_file: the client certificate is presented (TLS 1.3)" {
	sasl_server --tls starttls --auth "$FAKE_USER:$FAKE_PASS" --client-ca "$CA_DIR/ca.pem" \
		--require-client-cert
	fake_config "tls_cert_file = $CA_DIR/client.pem" "tls_key_file = $CA_DIR/client.key"
	send
	assert_delivered
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" client_cert)" "postbote test client"
}

@test "tls_cert_file and tls_key_file: the client certificate is presented (TLS 1.2)" {
	sasl_server --tls implicit --tls-max 1.2 --auth "$FAKE_USER:$FAKE_PASS" \
		--client-ca "$CA_DIR/ca.pem" --require-client-cert
	fake_config "tls_cert_file = $CA_DIR/client.pem" "tls_key_file = $CA_DIR/client.key"
	send
	assert_delivered
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" client_cert)" "postbote test client"
}

@test "no client certificate when none is configured, even when the server asks" {
	sasl_server --tls starttls --auth "$FAKE_USER:$FAKE_PASS" --client-ca "$CA_DIR/ca.pem"
	fake_config
	send
	assert_delivered
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" client_cert)" null
}

@test "a server that requires a client certificate, none configured (TLS 1.2): exit 76, says so" {
	sasl_server --tls starttls --tls-max 1.2 --auth "$FAKE_USER:$FAKE_PASS" \
		--client-ca "$CA_DIR/ca.pem" --require-client-cert
	fake_config
	send
	assert_equal "$status" 76
	assert_error_line "client certificate" "tls_cert_file"
	refute_sent_anything tls
}

@test "tls_cert_file without tls_key_file: exit 78" {
	starttls_send "tls_cert_file = $CA_DIR/client.pem"
	assert_equal "$status" 78
	assert_error_line "tls_key_file"
	assert_file_empty "$FAKE_OUT/transcript.log"
}

@test "a key that does not belong to the certificate: exit 78, no AUTH" {
	starttls_send "tls_cert_file = $CA_DIR/client.pem" "tls_key_file = $CA_DIR/server.key"
	assert_equal "$status" 78
	assert_error_line "tls_cert_file" "do not match"
	refute_sent_anything tls
}

# ---- against Postfix ---------------------------------------------------------------------------

@test "Postfix: the pinned fingerprint of the real server works without CA trust" {
	need_postfix
	pf_deliver submission "tls_trust_file=$PF_CADIR/other-ca.pem" \
		"tls_fingerprint=$(cert_sha256 "$PF_CADIR/server.pem")"
	assert_output --regexp 'disconnect from .* starttls=1 auth=1 mail=1'
}

@test "Postfix: a wrong pin fails the handshake; no credentials reach the server" {
	need_postfix
	pf_conf "$CONF" submission "tls_fingerprint=$(wrong_pin "$(cert_sha256 "$PF_CADIR/server.pem")")"
	off=$(pf_log_size)
	pf_send
	assert_equal "$status" 76
	[[ $stderr == *"$(cert_sha256 "$PF_CADIR/server.pem")"* ]] ||
		fail "the server's fingerprint is not in: $stderr"
	run pf_session submission "$off"
	refute_output --regexp 'disconnect from .*(auth|mail)='
	refute_output --partial "$PF_PASS"
	[ "$(maildir_count)" -eq 0 ]
}

@test "Postfix: a client certificate is presented and verified (relay by certificate)" {
	need_postfix
	pf_conf "$CONF" submission "port=$PF_CCERT" "auth=off" "user=" "password=" \
		"tls_cert_file=$PF_CADIR/client.pem" "tls_key_file=$PF_CADIR/client.key"
	off=$(pf_log_size)
	pf_send
	[ "$status" -eq 0 ] || fail "postbote exited $status; stderr: $stderr"
	maildir_wait 1
	run maildir_cat 1
	assert_output --partial 'Client CN "postbote test client", Issuer "postbote test CA" (verified OK)'
}

@test "Postfix: without the client certificate the same listener refuses to relay" {
	need_postfix
	pf_conf "$CONF" submission "port=$PF_CCERT" "auth=off" "user=" "password="
	pf_send
	assert_equal "$status" 67
	[[ $stderr == *"Access denied"* || $stderr == *"rejected"* ]] || fail "stderr: $stderr"
	[ "$(maildir_count)" -eq 0 ]
}
