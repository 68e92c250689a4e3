#!/usr/bin/env bats
# The round-trip savers against the real Postfix + Dovecot (tests/lib/postfix.bash): BDAT where
# Postfix offers CHUNKING (it does by default), QUIT in the last flight, TLS session resumption.
# Needs root, postfix, dovecot-core; skipped without them.

load lib/common
load lib/postfix
load lib/sasl

setup_file() { postfix_setup_file fastpath; }
teardown_file() { postfix_teardown_file; }

setup() {
	common_setup
	maildir_clear
	CONF=$BATS_TEST_TMPDIR/config
	{
		printf '%s\n' 'Date: Sat, 01 Jun 2024 12:00:00 +0000' \
			'Message-ID: <fastpath@example.org>' 'From: Alice <alice@example.org>' \
			'To: Bob <bob@example.org>' 'Subject: fast path' '' 'Hello Bob,' \
			'.a line with a leading dot' '..two leading dots' 'end'
	} >"$MSG"
}

@test "Postfix: BDAT LAST with the envelope, QUIT with it; the message arrives byte for byte" {
	pf_conf "$CONF" submission
	off=$(pf_log_size)
	pf_send bob@example.org
	assert_sent
	assert_delivered_intact
	run pf_session submission "$off"
	assert_output --regexp 'disconnect from .* ehlo=2 starttls=1 auth=1 mail=1 rcpt=1 bdat=1 quit=1 commands=8'
	refute_output --partial 'improper command pipelining'
	refute_output --partial 'lost connection'
}

@test "Postfix: implicit TLS, BDAT and QUIT in one flight" {
	pf_conf "$CONF" smtps
	off=$(pf_log_size)
	pf_send bob@example.org carol@example.net
	assert_sent
	maildir_wait 2
	run pf_session smtps "$off"
	assert_output --regexp 'disconnect from .* ehlo=1 auth=1 mail=1 rcpt=2 bdat=1 quit=1'
	refute_output --partial 'improper command pipelining'
}

@test "Postfix: a 3 MiB message goes in 1 MiB chunks and arrives intact" {
	awk 'BEGIN { for (i = 0; i < 70000; i++) printf "%06d .a line of the big message, a dot first\n", i }' >>"$MSG"
	pf_conf "$CONF" submission
	off=$(pf_log_size)
	pf_send bob@example.org
	assert_sent
	maildir_wait 1 30
	run diff <(maildir_body 1) "$MSG"
	assert_success
	run pf_session submission "$off"
	assert_output --regexp 'disconnect from .* mail=1 rcpt=1 bdat=[3-9] quit=1'
}

@test "Postfix: an 8 MiB message (sent while it is read), from a file and from a pipe, arrives intact" {
	awk 'BEGIN { for (i = 0; i < 190000; i++) printf "%06d .a line of the big message, a dot first\n", i }' >>"$MSG"
	pf_conf "$CONF" submission
	off=$(pf_log_size)
	pf_send bob@example.org
	assert_sent
	maildir_wait 1 60
	run diff <(maildir_body 1) "$MSG"
	assert_success
	run pf_session submission "$off"
	assert_output --regexp 'disconnect from .* mail=1 rcpt=1 bdat=(9|[1-9][0-9]) quit=1'
	maildir_clear
	run --separate-stderr pb -C "$CONF" bob@example.org < <(cat "$MSG")
	assert_sent
	maildir_wait 1 60
	run diff <(maildir_body 1) "$MSG"
	assert_success
}

@test "Postfix: chunking = off sends DATA" {
	pf_conf "$CONF" submission chunking=off
	off=$(pf_log_size)
	pf_send bob@example.org
	assert_sent
	assert_delivered_intact
	run pf_session submission "$off"
	assert_output --regexp 'disconnect from .* mail=1 rcpt=1 data=1 quit=1'
}

@test "Postfix: the second submission resumes the first one's TLS session" {
	pf_conf "$CONF" submission
	pf_send bob@example.org
	assert_sent
	run --separate-stderr timeout 60 "$POSTBOTE" -v -C "$CONF" bob@example.org <"$MSG"
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	[[ $stderr == *"TLS started: "*"a session of an earlier run resumed"* ]] || fail "stderr: $stderr"
	maildir_wait 2
}

@test "Postfix: resumption refused after a pin change" {
	pf_conf "$CONF" submission "tls_fingerprint=$(cert_sha256 "$PF_CADIR/server.pem")"
	pf_send bob@example.org
	assert_sent
	pf_conf "$CONF" submission "tls_fingerprint=$(cert_sha256 "$PF_CADIR/other-ca.pem")"
	pf_send bob@example.org
	[ "$status" -eq 76 ] || fail "exit $status: $stderr"
	[[ $stderr == *"fingerprint does not match tls_fingerprint"* ]] || fail "stderr: $stderr"
}
