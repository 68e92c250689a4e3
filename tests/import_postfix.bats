#!/usr/bin/env bats
# An msmtprc imported with --import-msmtprc delivers through the real Postfix + Dovecot of
# tests/lib/postfix.bash, STARTTLS on the submission port and implicit TLS on smtps, with the
# passwords of both test users (':' ';' '#' '@', and blanks, '=' ',' UTF-8) as msmtp reads
# them; msmtp itself delivers with the very same file, as the reference. Needs root, postfix,
# dovecot-core, gnutls-bin and msmtp.

load lib/common
load lib/postfix

setup_file() { postfix_setup_file import; }

teardown_file() { postfix_teardown_file; }

setup() {
	common_setup
	command -v msmtp >/dev/null || skip "needs msmtp"
	maildir_clear
	RC=$BATS_TEST_TMPDIR/msmtprc
	OUT=$BATS_TEST_TMPDIR/imported.conf
	write_config "$RC" <<RC
defaults
tls on
tls_trust_file $PF_CA
auth on
timeout 20

account submission
host localhost
port $PF_SUBMISSION
user $PF_USER
password $PF_PASS
from $PF_FROM

account smtps : submission
port $PF_SMTPS
tls_starttls off
user $PF_USER2
password "$PF_PASS2"
from $PF_FROM2
RC
	run --separate-stderr pb --import-msmtprc -o "$OUT" "$RC"
	[ "$status" -eq 0 ] || fail "import: exit $status: $stderr"
	printf 'Subject: imported\nMessage-ID: <imp@example.org>\n\nhello\n' >"$MSG"
}

# delivered_to ADDR: the one message delivered for ADDR
delivered_to() {
	grep -l -x "Delivered-To: $1" "$PF_MAILDIR"/new/* 2>/dev/null
}

@test "the imported STARTTLS account delivers through Postfix, as msmtp does with the same file" {
	run --separate-stderr pb -C "$OUT" -a submission bob@example.org <"$MSG"
	assert_sent
	maildir_wait 1
	run msmtp -C "$RC" -a submission carol@example.org <"$MSG"
	[ "$status" -eq 0 ] || fail "msmtp: exit $status: $output"
	maildir_wait 2
	local f
	f=$(delivered_to bob@example.org) || fail "nothing for bob"
	grep -qx "Return-Path: <$PF_FROM>" "$f"
	grep -q "Authenticated sender: $PF_USER" "$f"
	grep -q "(using TLS" "$f"
	f=$(delivered_to carol@example.org) || fail "msmtp's message did not arrive"
	grep -qx "Return-Path: <$PF_FROM>" "$f"
}

@test "the inheriting implicit-TLS account, with a password of blanks and UTF-8, delivers too" {
	run --separate-stderr pb -C "$OUT" -a smtps dave@example.org <"$MSG"
	assert_sent
	run msmtp -C "$RC" -a smtps erin@example.org <"$MSG"
	[ "$status" -eq 0 ] || fail "msmtp: exit $status: $output"
	maildir_wait 2
	local f
	f=$(delivered_to dave@example.org) || fail "nothing for dave"
	grep -qx "Return-Path: <$PF_FROM2>" "$f"
	grep -q "Authenticated sender: $PF_USER2" "$f"
	delivered_to erin@example.org >/dev/null || fail "msmtp's message did not arrive"
}
