#!/usr/bin/env bats
# Who gets the message: aliases, Resent- blocks, dedupe, -t (with fields that do not parse),
# and recipient addresses that must never reach the wire as they are. Against the fake server,
# plain SMTP without AUTH.

load lib/common
load lib/headers

setup_file() { common_setup_file; }
setup() { common_setup; }
teardown() { common_teardown; }

# ---- aliases -----------------------------------------------------------------------------

@test "aliases: a local name becomes its addresses in the envelope; the To: field is not expanded" {
	printf 'root: admin@example.org, ops@example.net\n' >"$BATS_TEST_TMPDIR/aliases"
	start -- "maildomain = example.org" "aliases = $BATS_TEST_TMPDIR/aliases"
	printf 'To: root\n%s\nbody\n' "$DATE_MSGID" >"$MSG"
	send -t
	assert_sent
	assert_rcpts '["admin@example.org", "ops@example.net"]'
	run header_block
	assert_line 'To: root@example.org'
}

@test "aliases: recursion, comments, indented continuation lines, blank lines, any case" {
	printf '%s\n' '# /etc/aliases' 'postmaster: root' "# root's mail goes to the admins" \
		'root: admin,' '    backup@example.net,' '	tape' '' \
		'admin: alice@example.org, Bob <bob@example.net>' 'TAPE: tapes@example.net' \
		>"$BATS_TEST_TMPDIR/aliases"
	start -- "maildomain = example.org" "aliases = $BATS_TEST_TMPDIR/aliases"
	std_message >"$MSG"
	send postmaster
	assert_sent
	assert_rcpts '["alice@example.org", "bob@example.net", "backup@example.net", "tapes@example.net"]'
}

@test "aliases: default catches local names without an alias, not addresses with a domain" {
	printf 'root: admin@example.org\ndefault: catchall@example.org\n' >"$BATS_TEST_TMPDIR/aliases"
	start -- "maildomain = example.org" "aliases = $BATS_TEST_TMPDIR/aliases"
	std_message >"$MSG"
	send root nobody www-data bob@example.net
	assert_sent
	assert_rcpts '["admin@example.org", "catchall@example.org", "bob@example.net"]'
}

@test "aliases: a name that lists itself keeps itself" {
	printf 'root: root, admin@example.org\n' >"$BATS_TEST_TMPDIR/aliases"
	start -- "maildomain = example.org" "aliases = $BATS_TEST_TMPDIR/aliases"
	std_message >"$MSG"
	send root
	assert_sent
	assert_rcpts '["root@example.org", "admin@example.org"]'
}

@test "aliases: a loop ends where it closes" {
	printf 'a: b\nb: c\nc: a\n' >"$BATS_TEST_TMPDIR/aliases"
	start -- "maildomain = example.org" "aliases = $BATS_TEST_TMPDIR/aliases"
	std_message >"$MSG"
	PB_TIMEOUT=10 send a
	assert_sent
	assert_rcpts '["a@example.org"]'
}

@test "aliases: a loop through several lists ends quickly (no exponential expansion)" {
	# ten lists that each name the umbrella list again: a mistake, but one made in real files
	{
		printf 'all: '
		printf 'team%d, ' {1..9}
		printf 'team10\n'
		for i in {1..10}; do printf 'team%d: member%d@example.org, all\n' "$i" "$i"; done
	} >"$BATS_TEST_TMPDIR/aliases"
	start -- "maildomain = example.org" "aliases = $BATS_TEST_TMPDIR/aliases"
	std_message >"$MSG"
	local t0=$SECONDS
	PB_TIMEOUT=20 send all
	[ "$status" -ne 124 ] || fail "postbote was still expanding aliases after 20 s"
	assert_sent
	[ $((SECONDS - t0)) -le 5 ] || fail "alias expansion took $((SECONDS - t0)) s"
	run envelope rcpt_tos
	local i
	for i in {1..10}; do assert_output --partial "\"member$i@example.org\""; done
}

@test "aliases: |program, /file and :include: entries are left out, each with a warning" {
	printf 'root: |/usr/bin/procmail, /var/mail/root, :include:/etc/staff, admin@example.org\n' \
		>"$BATS_TEST_TMPDIR/aliases"
	start -- "aliases = $BATS_TEST_TMPDIR/aliases"
	std_message >"$MSG"
	send root
	assert_success
	assert_rcpts '["admin@example.org"]'
	# shellcheck disable=SC2154 # set by run --separate-stderr
	assert_equal "${#stderr_lines[@]}" 3
	[[ $stderr == *'|/usr/bin/procmail'* && $stderr == *'/var/mail/root'* &&
		$stderr == *':include:/etc/staff'* ]] || fail "the warnings do not name each entry: $stderr"
}

@test "aliases: the warnings come once per version of the file, not with every message; -v and -bv always show them" {
	local aliases=$BATS_TEST_TMPDIR/aliases warn="postbote: warning: $BATS_TEST_TMPDIR/aliases:1: alias 'root': |/usr/bin/procmail is for a local delivery agent; postbote ignores it"
	printf 'root: |/usr/bin/procmail, admin@example.org\n' >"$aliases"
	start -- "aliases = $aliases"
	std_message >"$MSG"
	send root
	assert_success
	assert_equal "$stderr" "$warn"
	# what a cron job mailing every minute sees from then on: nothing
	send root
	assert_sent
	send root
	assert_sent
	assert_equal "$(envelope rcpt_tos 3)" '["admin@example.org"]'
	assert_equal "$(find "$BATS_TEST_TMPDIR/queue" -maxdepth 1 -name 'aliases-warned.*' | wc -l)" 1
	# a person who asks sees them
	run --separate-stderr pb -C "$CONF" -bv root
	assert_success
	assert_equal "$stderr" "$warn"
	send -v root
	assert_success
	[[ $stderr == *"$warn"* ]] || fail "-v hides the warning: $stderr"
	# a changed file is warned about again, once
	printf 'root: |/usr/bin/procmail, admin@example.org\nops: :include:/etc/ops\n' >"$aliases"
	send root
	assert_success
	assert_equal "${#stderr_lines[@]}" 2
	assert_equal "${stderr_lines[0]}" "$warn"
	send root
	assert_sent
}

@test "aliases: apply to -t recipients" {
	printf 'webmaster: alice@example.org\n' >"$BATS_TEST_TMPDIR/aliases"
	start -- "aliases = $BATS_TEST_TMPDIR/aliases"
	printf 'To: webmaster, bob@example.net\n%s\nbody\n' "$DATE_MSGID" >"$MSG"
	send -t
	assert_sent
	assert_rcpts '["alice@example.org", "bob@example.net"]'
}

@test "aliases: a file that cannot be read: exit 78 naming it, nothing sent" {
	start -- "aliases = $BATS_TEST_TMPDIR/no-such-aliases"
	std_message >"$MSG"
	send root@example.org
	assert_equal "$status" 78
	assert_error_line "$BATS_TEST_TMPDIR/no-such-aliases"
	nothing_sent
}

@test "aliases: a line that is not 'name: addresses': exit 78 with FILE:LINE" {
	printf '# ok\nroot: admin@example.org\nthis line has no colon\n' >"$BATS_TEST_TMPDIR/aliases"
	start -- "aliases = $BATS_TEST_TMPDIR/aliases"
	std_message >"$MSG"
	send root
	assert_equal "$status" 78
	assert_error_line "$BATS_TEST_TMPDIR/aliases:3"
	nothing_sent
}

@test "aliases: an alias whose addresses do not parse: exit 78 naming the alias" {
	printf 'root: <admin@example.org\n' >"$BATS_TEST_TMPDIR/aliases"
	start -- "aliases = $BATS_TEST_TMPDIR/aliases"
	std_message >"$MSG"
	send root
	assert_equal "$status" 78
	assert_error_line "$BATS_TEST_TMPDIR/aliases:1" root "'<' without '>'"
	nothing_sent
}

# ---- Resent- -----------------------------------------------------------------------------

@test "Resent-: with -t the first block's Resent-To/Cc/Bcc replace To/Cc/Bcc; argv is added" {
	start
	cat >"$MSG" <<-EOF
		Resent-From: alice@example.org
		Resent-Date: Sat, 01 Jun 2024 15:00:00 +0000
		Resent-To: dave@example.net
		Resent-Cc: Erin <erin@example.net>
		Resent-Bcc: frank@example.net
		From: carol@example.net
		To: bob@example.net
		Cc: team@example.net
		Bcc: boss@example.net
		${DATE_MSGID}
		body
	EOF
	send -t gina@example.net
	assert_sent
	assert_rcpts '["gina@example.net", "dave@example.net", "erin@example.net", "frank@example.net"]'
	refute grep -qi 'bcc:' "$FAKE_OUT/msg-1.eml"
}

@test "Resent-: a Received: between two Resent- blocks ends the newest one" {
	start
	cat >"$MSG" <<-EOF
		Resent-From: alice@example.org
		Resent-Date: Sat, 01 Jun 2024 15:00:00 +0000
		Resent-To: dave@example.net
		Received: from mx.example.net by mail.example.org; Sat, 01 Jun 2024 14:00:00 +0000
		Resent-From: bob@example.net
		Resent-Date: Sat, 01 Jun 2024 13:00:00 +0000
		Resent-To: alice@example.org
		From: carol@example.net
		To: bob@example.net
		${DATE_MSGID}
		body
	EOF
	send -t
	assert_sent
	assert_rcpts '["dave@example.net"]'
}

# ---- dedupe ------------------------------------------------------------------------------

@test "dedupe: an address named twice, in any case or form, gets one RCPT (the first spelling)" {
	start
	printf 'To: bob@example.net, BOB@EXAMPLE.NET\nCc: Bob <Bob@Example.Net>\n%s\nbody\n' \
		"$DATE_MSGID" >"$MSG"
	send -t Bob@example.net 'Bob B. <bob@example.net>' carol@example.net bob@example.net
	assert_sent
	assert_rcpts '["Bob@example.net", "carol@example.net"]'
}

@test "dedupe: qualification and aliases do not make duplicates" {
	printf 'root: admin@example.org\npostmaster: root\n' >"$BATS_TEST_TMPDIR/aliases"
	start -- "maildomain = example.org" "aliases = $BATS_TEST_TMPDIR/aliases"
	std_message >"$MSG"
	send root postmaster admin@example.org carol carol@example.org
	assert_sent
	assert_rcpts '["admin@example.org", "carol@example.org"]'
}

# ---- -t with fields that do not parse ----------------------------------------------------

@test "-t: To: <unterminated: exit 65 naming To:, nothing sent" {
	start
	printf 'To: Bob <bob@example.net\nSubject: x\n\nbody\n' >"$MSG"
	send -t
	assert_equal "$status" 65
	assert_error_line 'To:'
	assert_file_empty "$FAKE_OUT/transcript.log"
}

@test "-t: an unbalanced comment in Cc: or a broken Bcc:: exit 65 naming the field" {
	start
	printf 'To: bob@example.net\nCc: carol@example.net (Carol\nSubject: x\n\nbody\n' >"$MSG"
	send -t
	assert_equal "$status" 65
	assert_error_line 'Cc:'
	printf 'To: bob@example.net\nBcc: a@b@c\n\nbody\n' >"$MSG"
	send -t
	assert_equal "$status" 65
	assert_error_line 'Bcc:'
	assert_file_empty "$FAKE_OUT/transcript.log"
}

@test "-t: a Resent-To: of the first block that does not parse: exit 65" {
	start
	printf 'Resent-To: <dave@example.net\nResent-Date: Sat, 01 Jun 2024 15:00:00 +0000\nTo: bob@example.net\n\nbody\n' >"$MSG"
	send -t
	assert_equal "$status" 65
	assert_error_line 'Resent-To:'
	assert_file_empty "$FAKE_OUT/transcript.log"
}

@test "without -t a To: that does not parse is sent as it is" {
	start -- "maildomain = example.org"
	printf 'From: alice@example.org\nTo: Bob <bob@example.net\n%s\nbody\n' "$DATE_MSGID" >"$MSG"
	crlf <"$MSG" >"$WANT"
	send bob@example.net
	assert_sent
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
}

# ---- -t -----------------------------------------------------------------------------------

@test "-t adds the message's recipients to those on the command line" {
	start
	printf 'To: bob@example.net\nCc: carol@example.net\n%s\nbody\n' "$DATE_MSGID" >"$MSG"
	send -t dave@example.net
	assert_sent
	assert_rcpts '["dave@example.net", "bob@example.net", "carol@example.net"]'
}

# ---- addresses that must never reach the wire as they are --------------------------------

@test "a recipient argument that does not parse: exit 64 with the reason, nothing sent" {
	start
	std_message >"$MSG"
	send 'Bob <bob@example.net'
	assert_equal "$status" 64
	assert_error_line "invalid recipient 'Bob <bob@example.net'" "'<' without '>'"
	nothing_sent
}

@test "a recipient argument with CR LF inside quotes cannot inject SMTP commands" {
	start
	std_message >"$MSG"
	send $'"a\r\nRCPT TO:<evil@example.net>\r\nNOOP "@example.org'
	assert_equal "$status" 64
	assert_error_line
	refute_client_sent 'evil@example\.net|^NOOP'
	nothing_sent
}

@test "a domain literal with a line break cannot inject SMTP commands" {
	start
	std_message >"$MSG"
	send $'bob@[192.0.2.1\nRCPT TO:<evil@example.net>]'
	assert_equal "$status" 64
	refute_client_sent 'evil@example\.net'
	nothing_sent
}

@test "-t: a quoted local part folded over two lines never puts a line break in RCPT TO" {
	start
	printf 'To: "a\r\n RCPT TO:<evil@example.net>"@example.org\r\nSubject: x\r\n%s\nbody\n' \
		"$DATE_MSGID" >"$MSG"
	send -t
	# refused (65), or sent with the folding taken out: never a command line of its own
	[ "$status" -eq 0 ] || [ "$status" -eq 65 ] || fail "exit $status: $stderr"
	refute_client_sent '^[[:space:]]|^RCPT TO:<"a$'
	run client_lines
	refute_line --regexp '^RCPT TO:<evil@example\.net>'
}

# ---- -bv ----------------------------------------------------------------------------------

@test "-bv shows where each recipient goes, through which account and why, and sends nothing" {
	printf 'root: admin@example.org, ops\nops: ops-team@example.net\n' >"$BATS_TEST_TMPDIR/aliases"
	start -- "maildomain = example.org" "aliases = $BATS_TEST_TMPDIR/aliases"
	run --separate-stderr pb -C "$CONF" -bv root carol 'Dave <dave@example.com>' </dev/null
	assert_success
	assert_equal "$stderr" ""
	assert_line --index 0 "account fake (default_account in [defaults]): localhost port $FAKE_PORT, tls off, from <$FAKE_FROM>"
	assert_line --index 1 "root -> <admin@example.org>, <ops-team@example.net>"
	assert_line --index 2 "carol -> <carol@example.org>"
	assert_line --index 3 "Dave <dave@example.com> -> <dave@example.com>"
	assert_equal "${#lines[@]}" 4
	refute_client_sent '.'	# not even a connection
	# a bad recipient: the exit and the line a submission would give, and nothing else
	run --separate-stderr pb -C "$CONF" -bv carol 'a b <' </dev/null
	assert_equal "$status" 64
	assert_equal "$output" ""
	assert_error_line "invalid recipient 'a b <'"
}
