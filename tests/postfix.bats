#!/usr/bin/env bats
# postbote against a real Postfix smarthost with Dovecot SASL on loopback (tests/lib/postfix.bash).
# Needs root (Postfix's master), postfix, dovecot-core, gnutls-bin; skipped without them.

load lib/common
load lib/postfix
load lib/sasl

setup_file() { postfix_setup_file postfix; }

teardown_file() { postfix_teardown_file; }

setup() {
	common_setup
	maildir_clear
	CONF=$BATS_TEST_TMPDIR/config
	write_msg "$MSG"
}

# write_msg FILE: a message with every header postbote would otherwise add, so what arrives
# must equal the file byte for byte (after delivery's own headers).
write_msg() {
	{
		printf '%s\n' \
			'Date: Sat, 01 Jun 2024 12:00:00 +0000' \
			'Message-ID: <postfix-bats@example.org>' \
			'From: Alice <alice@example.org>' \
			'To: Bob <bob@example.org>' \
			'Subject: integration =?utf-8?q?t=C3=A9st?=' \
			'MIME-Version: 1.0' \
			'Content-Type: text/plain; charset=utf-8' \
			'Content-Transfer-Encoding: 8bit' \
			'' \
			'Hello Bob,' \
			'.a line with a leading dot' \
			'..two leading dots' \
			' . space dot' \
			'trailing blanks   ' \
			'	tab-indented' \
			'Grüße, 日本語' \
			'' \
			'From the start of a line'
		printf 'x%.0s' $(seq 998)
		printf '\n%s\n' 'last line'
	} >"$1"
}

# shellcheck disable=SC2154 # stderr and stderr_lines are set by run --separate-stderr
assert_one_stderr_line() {
	if [ "${#stderr_lines[@]}" -ne 1 ]; then
		fail "expected exactly one line on stderr, got ${#stderr_lines[@]}:
$stderr"
	fi
	[[ ${stderr_lines[0]} == "postbote: "* ]] || fail "stderr does not start with 'postbote: ': $stderr"
}

# use_stderr: let assert_output/assert_line look at stderr (this bats-assert has no --stderr).
use_stderr() {
	[ -n "$stderr" ] || fail "stderr is empty"
	output=$stderr
	lines=("${stderr_lines[@]}")
}

# ---- delivery ----------------------------------------------------------------------------

@test "STARTTLS submission with AUTH delivers the message byte for byte" {
	pf_conf "$CONF" submission
	off=$(pf_log_size)
	pf_send bob@example.org
	assert_sent
	assert_output ''
	assert_delivered_intact

	run maildir_cat 1
	assert_line 'Return-Path: <alice@example.org>'
	assert_line 'Delivered-To: bob@example.org'
	assert_output --regexp '\(using TLSv1\.[23] with cipher [A-Z0-9_-]+'
	assert_output --partial '(Authenticated sender: alice)'
	assert_output --partial 'by postfix.test (Postfix) with ESMTPSA id'

	run pf_session submission "$off"
	assert_output --partial 'sasl_method=SCRAM-SHA-256, sasl_username=alice'
	refute_output --partial 'improper command pipelining'
	assert_output --regexp 'disconnect from .* ehlo=2 starttls=1 auth=1 mail=1 rcpt=1 bdat=1 quit=1'
}

@test "implicit TLS (smtps) with AUTH delivers the message byte for byte" {
	pf_conf "$CONF" smtps
	off=$(pf_log_size)
	pf_send bob@example.org
	assert_sent
	assert_delivered_intact

	run maildir_cat 1
	assert_line 'Return-Path: <alice@example.org>'
	assert_line 'Delivered-To: bob@example.org'
	assert_output --regexp '\(using TLSv1\.[23] with cipher'
	assert_output --partial '(Authenticated sender: alice)'

	run pf_session smtps "$off"
	assert_output --partial 'sasl_username=alice'
	refute_output --partial 'improper command pipelining'
	refute_output --partial 'starttls='
}

@test "every recipient gets its own copy with its envelope" {
	pf_conf "$CONF" submission
	pf_send bob@example.org carol@example.net 'dave@example.com'
	assert_sent
	maildir_wait 3
	run cat "$PF_MAILDIR"/new/*
	assert_line 'Delivered-To: bob@example.org'
	assert_line 'Delivered-To: carol@example.net'
	assert_line 'Delivered-To: dave@example.com'
	[ "$(grep -c '^Return-Path: <alice@example.org>$' "$PF_MAILDIR"/new/*  | awk -F: '{s += $NF} END {print s}')" -eq 3 ]
	local i
	for i in 1 2 3; do
		run diff <(maildir_body "$i") "$MSG"
		assert_success
	done
}

@test "the listener without PIPELINING still delivers, one command at a time" {
	pf_deliver nopipe
	assert_output --partial 'discarding EHLO keywords: PIPELINING'
	refute_output --partial 'improper command pipelining'
	assert_output --regexp 'disconnect from .* auth=1 mail=1 rcpt=1 bdat=1'
}

@test "-f picks the second account; its password has blanks, '=', ',' and UTF-8" {
	cat >"$CONF" <<-EOF
		[defaults]
		host = localhost
		port = $PF_SUBMISSION
		tls_trust_file = $PF_CA
		default_account = alice

		[alice]
		user = $PF_USER
		password = $PF_PASS
		from = $PF_FROM

		[carol]
		user = $PF_USER2
		password = $PF_PASS2
		from = $PF_FROM2
	EOF
	chmod 600 "$CONF"
	off=$(pf_log_size)
	pf_send -f "$PF_FROM2" bob@example.org
	assert_sent
	maildir_wait 1
	run maildir_cat 1
	assert_line "Return-Path: <$PF_FROM2>"
	assert_output --partial "(Authenticated sender: $PF_USER2)"
	run pf_session submission "$off"
	assert_output --partial "sasl_username=$PF_USER2"
}

@test "auth = PLAIN works against Dovecot" { pf_auth_with PLAIN; }
@test "auth = LOGIN works against Dovecot" { pf_auth_with LOGIN; }
@test "auth = CRAM-MD5 works against Dovecot" { pf_auth_with CRAM-MD5; }
@test "auth = SCRAM-SHA-1 works against Dovecot" { pf_auth_with SCRAM-SHA-1; }
@test "auth = SCRAM-SHA-256 works against Dovecot" { pf_auth_with SCRAM-SHA-256; }

@test "line endings: CRLF, bare CR and bare LF in the input all arrive as lines" {
	pf_conf "$CONF" submission
	printf 'Date: Sat, 01 Jun 2024 12:00:00 +0000\r\nMessage-ID: <eol@example.org>\r\nFrom: alice@example.org\nSubject: eol\r\rcrlf\r\ncr\rlf\nend\n' >"$MSG"
	pf_send bob@example.org
	assert_sent
	maildir_wait 1
	run maildir_body 1
	assert_output "Date: Sat, 01 Jun 2024 12:00:00 +0000
Message-ID: <eol@example.org>
From: alice@example.org
Subject: eol

crlf
cr
lf
end"
}

@test "-i: a line with a single dot arrives as a single dot" {
	pf_conf "$CONF" submission
	printf '%s\n' 'Date: Sat, 01 Jun 2024 12:00:00 +0000' 'Message-ID: <dot@example.org>' \
		'From: alice@example.org' '' 'before' '.' 'after' >"$MSG"
	pf_send -i bob@example.org
	assert_sent
	assert_delivered_intact
}

@test "a 30 MiB message arrives intact" {
	pf_conf "$CONF" submission
	{
		printf '%s\n' 'Date: Sat, 01 Jun 2024 12:00:00 +0000' 'Message-ID: <big@example.org>' \
			'From: alice@example.org' 'Subject: big' ''
		awk 'BEGIN { for (i = 0; i < 420000; i++)
			printf "%s%08d abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\n",
				(i % 7 == 0 ? "." : ""), i }'
	} >"$MSG"
	pf_send bob@example.org
	assert_sent
	maildir_wait 1 60
	[ "$(maildir_body 1 | sha256sum)" = "$(sha256sum <"$MSG")" ] || fail "the delivered message differs"
}

@test "-v transcript against Postfix hides the AUTH payload" {
	pf_conf "$CONF" submission auth=PLAIN
	pf_send -v bob@example.org
	[ "$status" -eq 0 ] || fail "postbote exited $status; stderr: $stderr"
	use_stderr
	assert_line --partial '<-- 220 postfix.test ESMTP'
	assert_line --regexp '^--> AUTH PLAIN'
	assert_line --partial '<-- 235 2.7.0 Authentication successful'
	local b64
	b64=$(printf '\0%s\0%s' "$PF_USER" "$PF_PASS" | base64 -w0)
	[[ $stderr != *"$b64"* ]] || fail "the AUTH PLAIN payload is on stderr"
	[[ $stderr != *"$PF_PASS"* ]] || fail "the password is on stderr"
	[[ $stderr == *'***'* ]] || fail "no *** in place of the AUTH payload"
}

@test "logfile records the delivery with Postfix's reply" {
	pf_conf "$CONF" submission "logfile=$BATS_TEST_TMPDIR/post.log"
	pf_send bob@example.org carol@example.net
	assert_sent
	run cat "$BATS_TEST_TMPDIR/post.log"
	assert_success
	[ "${#lines[@]}" -eq 1 ] || fail "expected one log line: $output"
	assert_output --partial 'host=localhost tls=starttls auth=SCRAM-SHA-256 user=alice from=alice@example.org'
	assert_output --partial 'recipients=bob@example.org,carol@example.net'
	assert_output --regexp 'reply="250 2\.0\.0 Ok: ([0-9]+ bytes )?queued as [0-9A-F]+"'
	assert_output --regexp 'exit=0$'
}

# ---- failures ----------------------------------------------------------------------------

@test "wrong password: exit 77, one line quoting the 535, nothing delivered" {
	pf_conf "$CONF" submission "password=not-$PF_PASS"
	off=$(pf_log_size)
	pf_send bob@example.org
	assert_failure 77
	assert_one_stderr_line
	use_stderr
	assert_line --regexp '^postbote: authentication failed.*: 535 5\.7\.8'
	run pf_session submission "$off"
	assert_output --partial 'authentication failed'
	assert_output --regexp 'disconnect from .* auth=0/1'
	refute_output --partial 'mail='
	[ "$(maildir_count)" -eq 0 ]
}

@test "server without STARTTLS: exit 69 and no credentials sent" {
	# The plain listener offers AUTH in the clear; a client that sent credentials would succeed.
	pf_conf "$CONF" plain
	off=$(pf_log_size)
	pf_send bob@example.org
	assert_failure 69
	assert_one_stderr_line
	use_stderr
	assert_line --partial "postbote: localhost does not offer STARTTLS"
	run pf_session plain "$off"
	assert_output --partial '< localhost[127.0.0.1]: EHLO'
	refute_output --regexp '< localhost\[127\.0\.0\.1\]: (AUTH|MAIL|RCPT|DATA)'
	refute_output --regexp 'disconnect from .*(auth|mail)='
	refute_output --partial "$PF_PASS"
	[ "$(maildir_count)" -eq 0 ]
}

@test "certificate from an untrusted CA: exit 76, no credentials sent" {
	pf_conf "$CONF" submission "tls_trust_file=$PF_CADIR/other-ca.pem"
	off=$(pf_log_size)
	pf_send bob@example.org
	assert_failure 76
	assert_one_stderr_line
	use_stderr
	assert_line --regexp '^postbote: TLS handshake with localhost failed: certificate'
	run pf_session submission "$off"
	refute_output --regexp 'disconnect from .*auth='
	[ "$(maildir_count)" -eq 0 ]
}

@test "certificate from an untrusted CA on the smtps port: exit 76" {
	pf_conf "$CONF" smtps "tls_trust_file=$PF_CADIR/other-ca.pem"
	pf_send bob@example.org
	assert_failure 76
	assert_one_stderr_line
	use_stderr
	assert_line --regexp '^postbote: TLS handshake with localhost failed: certificate'
	[ "$(maildir_count)" -eq 0 ]
}

@test "nothing listening on the port: exit 75" {
	_pf_not_listening "$PF_CLOSED" || skip "port $PF_CLOSED got taken meanwhile"
	pf_conf "$CONF" closed
	pf_send bob@example.org
	assert_failure 75
	assert_one_stderr_line
	use_stderr
	assert_line "postbote: cannot connect to localhost port $PF_CLOSED: Connection refused; try again later"
}
