#!/usr/bin/env bats
# What issue 3 asks of the message and its envelope, one key or option at a time: maildomain,
# aliases, Bcc removal, Resent- blocks, set_from_header, %U %H %F, allow_from_override, the
# null sender, dedupe, DSN, 8BITMIME, SMTPUTF8 and IDNA, long lines, and -t with a header
# that does not parse. Against the fake server, plain SMTP without AUTH.

load lib/common

setup_file() { common_setup_file; }
setup() { common_setup; }
teardown() { common_teardown; }

# start [fakesmtp options] [-- config lines]: the fake server and an account for it.
start() {
	local -a opts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	[ "${1:-}" = -- ] && shift
	fake_start "${opts[@]}"
	fake_config --no-auth "$@"
}

# send ARGS...: postbote with the test's config and $MSG on stdin.
send() {
	run --separate-stderr pb -C "$CONF" "$@" <"$MSG"
}

sent_ok() {
	[ "$status" -eq 0 ] || fail "postbote exited $status: $stderr"
	[ -z "$stderr" ] || fail "unexpected stderr: $stderr"
}

# envelope KEY [N]: a value of msg-N.json (lists as JSON).
envelope() { json_get "$FAKE_OUT/msg-${2:-1}.json" "$1"; }

assert_rcpts() { # JSON list [N]
	assert_equal "$(envelope rcpt_tos "${2:-}")" "$1"
}

# header_block [N]: the header section of msg-N.eml without CRs.
header_block() { sed -n '1,/^\r$/p' "$FAKE_OUT/msg-${1:-1}.eml" | sed '$d' | tr -d '\r'; }

# DATE_MSGID: fields that keep postbote from adding any, for messages compared byte for byte.
DATE_MSGID=$'Date: Sat, 01 Jun 2024 12:00:00 +0000\nMessage-ID: <headers-test@example.org>\n'

nothing_sent() {
	assert_file_not_exist "$FAKE_OUT/msg-1.eml"
	refute_client_sent '^(MAIL|RCPT|DATA)'
}

# ---- maildomain --------------------------------------------------------------------------

@test "maildomain: bare names in From, Sender, Reply-To, To, Cc and Resent- fields are qualified" {
	start -- "maildomain = example.org"
	cat >"$MSG" <<-EOF
		From: root (Cron Daemon)
		Sender: daemon
		Reply-To: "Web Master" <webmaster>, help@example.net
		To: alice, Bob <bob>, carol@example.net, undisclosed-recipients:;
		Cc: team: dave, erin@example.net;
		Resent-From: operator
		Resent-Sender: operator
		Resent-To: frank
		Resent-Cc: gina
		Resent-Date: Sat, 01 Jun 2024 12:30:00 +0000
		Subject: root alice bob
		X-Original-To: root
		In-Reply-To: <root@localhost>
		${DATE_MSGID}
		root, alice and bob in the body stay as they are
	EOF
	crlf >"$WANT" <<-EOF
		From: root@example.org (Cron Daemon)
		Sender: daemon@example.org
		Reply-To: "Web Master" <webmaster@example.org>, help@example.net
		To: alice@example.org, Bob <bob@example.org>, carol@example.net, undisclosed-recipients:;
		Cc: team: dave@example.org, erin@example.net;
		Resent-From: operator@example.org
		Resent-Sender: operator@example.org
		Resent-To: frank@example.org
		Resent-Cc: gina@example.org
		Resent-Date: Sat, 01 Jun 2024 12:30:00 +0000
		Subject: root alice bob
		X-Original-To: root
		In-Reply-To: <root@localhost>
		${DATE_MSGID}
		root, alice and bob in the body stay as they are
	EOF
	send zed@example.net
	sent_ok
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
}

@test "maildomain: a quoted local part, a comment and a folded field are qualified in place" {
	start -- "maildomain = example.org"
	printf '%s\n' 'From: "john doe" (J. Doe)' 'To: alice,' '	bob (Bob B.),' \
		'  "x\"y"' "${DATE_MSGID%$'\n'}" '' body >"$MSG"
	printf '%s\r\n' 'From: "john doe"@example.org (J. Doe)' 'To: alice@example.org,' \
		'	bob@example.org (Bob B.),' '  "x\"y"@example.org' \
		'Date: Sat, 01 Jun 2024 12:00:00 +0000' 'Message-ID: <headers-test@example.org>' \
		'' body >"$WANT"
	send zed@example.net
	sent_ok
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
}

@test "maildomain: bare recipients from the command line and from -t are qualified in the envelope" {
	start -- "maildomain = example.org"
	printf 'To: alice, Carol <carol@example.net>\nCc: dave\n%s\nbody\n' "$DATE_MSGID" >"$MSG"
	send -t root bob@example.net
	sent_ok
	assert_rcpts '["root@example.org", "bob@example.net", "alice@example.org", "carol@example.net", "dave@example.org"]'
}

@test "maildomain: a bare -f sender is qualified with it" {
	start -- "maildomain = example.org"
	std_message >"$MSG"
	send -f www-data bob@example.net
	sent_ok
	assert_equal "$(envelope mail_from)" www-data@example.org
}

@test "without maildomain: bare names stay bare in the fields and among the recipients" {
	start -- "domain = host.example.net"
	printf 'From: root\nTo: alice\n%s\nbody\n' "$DATE_MSGID" >"$MSG"
	crlf <"$MSG" >"$WANT"
	send -t
	sent_ok
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
	assert_rcpts '["alice"]'
}

# ---- aliases -----------------------------------------------------------------------------

@test "aliases: a local name becomes its addresses in the envelope; the To: field is not expanded" {
	printf 'root: admin@example.org, ops@example.net\n' >"$BATS_TEST_TMPDIR/aliases"
	start -- "maildomain = example.org" "aliases = $BATS_TEST_TMPDIR/aliases"
	printf 'To: root\n%s\nbody\n' "$DATE_MSGID" >"$MSG"
	send -t
	sent_ok
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
	sent_ok
	assert_rcpts '["alice@example.org", "bob@example.net", "backup@example.net", "tapes@example.net"]'
}

@test "aliases: default catches local names without an alias, not addresses with a domain" {
	printf 'root: admin@example.org\ndefault: catchall@example.org\n' >"$BATS_TEST_TMPDIR/aliases"
	start -- "maildomain = example.org" "aliases = $BATS_TEST_TMPDIR/aliases"
	std_message >"$MSG"
	send root nobody www-data bob@example.net
	sent_ok
	assert_rcpts '["admin@example.org", "catchall@example.org", "bob@example.net"]'
}

@test "aliases: a name that lists itself keeps itself" {
	printf 'root: root, admin@example.org\n' >"$BATS_TEST_TMPDIR/aliases"
	start -- "maildomain = example.org" "aliases = $BATS_TEST_TMPDIR/aliases"
	std_message >"$MSG"
	send root
	sent_ok
	assert_rcpts '["root@example.org", "admin@example.org"]'
}

@test "aliases: a loop ends where it closes" {
	printf 'a: b\nb: c\nc: a\n' >"$BATS_TEST_TMPDIR/aliases"
	start -- "maildomain = example.org" "aliases = $BATS_TEST_TMPDIR/aliases"
	std_message >"$MSG"
	PB_TIMEOUT=10 send a
	sent_ok
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
	sent_ok
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

@test "aliases: apply to -t recipients" {
	printf 'webmaster: alice@example.org\n' >"$BATS_TEST_TMPDIR/aliases"
	start -- "aliases = $BATS_TEST_TMPDIR/aliases"
	printf 'To: webmaster, bob@example.net\n%s\nbody\n' "$DATE_MSGID" >"$MSG"
	send -t
	sent_ok
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

# ---- Bcc ---------------------------------------------------------------------------------

@test "Bcc: and Resent-Bcc: never leave: folded, empty or in any case" {
	start
	printf '%s\n' 'From: alice@example.org' 'To: bob@example.net' 'Bcc: carol@example.net,' \
		'  dave@example.net' 'bcc:' 'BCC: erin@example.net' \
		'Resent-Bcc: frank@example.net' 'Subject: hidden copies' "${DATE_MSGID%$'\n'}" '' \
		'Bcc: in the body is text' >"$MSG"
	printf '%s\r\n' 'From: alice@example.org' 'To: bob@example.net' 'Subject: hidden copies' \
		'Date: Sat, 01 Jun 2024 12:00:00 +0000' 'Message-ID: <headers-test@example.org>' '' \
		'Bcc: in the body is text' >"$WANT"
	send bob@example.net carol@example.net
	sent_ok
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
}

@test "Bcc: with -t the Bcc: recipients get the message, without the field" {
	start
	printf 'To: bob@example.net\nBcc: carol@example.net, Dave <dave@example.net>\n%s\nbody\n' \
		"$DATE_MSGID" >"$MSG"
	send -t
	sent_ok
	assert_rcpts '["bob@example.net", "carol@example.net", "dave@example.net"]'
	refute grep -qi '^bcc:' "$FAKE_OUT/msg-1.eml"
}

@test "Bcc: remove_bcc_headers = off keeps Bcc: and Resent-Bcc:" {
	start -- "remove_bcc_headers = off"
	printf 'From: alice@example.org\nTo: bob@example.net\nBcc: carol@example.net\nResent-Bcc: dave@example.net\n%s\nbody\n' \
		"$DATE_MSGID" >"$MSG"
	crlf <"$MSG" >"$WANT"
	send bob@example.net
	sent_ok
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
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
	sent_ok
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
	sent_ok
	assert_rcpts '["dave@example.net"]'
}

# ---- set_from_header ---------------------------------------------------------------------

@test "set_from_header auto: a missing From: is the envelope sender, with -F or from_full_name" {
	start
	printf 'To: bob@example.net\n%s\nbody\n' "$DATE_MSGID" >"$MSG"
	send bob@example.net
	sent_ok
	run header_block 1
	assert_line "From: $FAKE_FROM"

	send -F 'Alice Example' bob@example.net
	sent_ok
	run header_block 2
	assert_line "From: Alice Example <$FAKE_FROM>"

	fake_config --no-auth 'from_full_name = Alice Q. Example'
	send bob@example.net
	sent_ok
	run header_block 3
	assert_line "From: \"Alice Q. Example\" <$FAKE_FROM>"
}

@test "set_from_header auto: an existing From: is kept as it is, even with -F" {
	start
	printf 'From: Bob <bob@example.net> (the real one)\n%s\nbody\n' "$DATE_MSGID" >"$MSG"
	crlf <"$MSG" >"$WANT"
	send -F 'Someone Else' bob@example.net
	sent_ok
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
}

@test "set_from_header on: From: becomes the envelope sender and keeps its display name" {
	start -- "set_from_header = on"
	printf 'From: "Bob Q. Example" <bob@example.net>\nTo: carol@example.net\n%s\nbody\n' \
		"$DATE_MSGID" >"$MSG"
	send carol@example.net
	sent_ok
	run header_block
	assert_line --index 0 "From: \"Bob Q. Example\" <$FAKE_FROM>"

	printf 'From: root (Cron Daemon)\n%s\nbody\n' "$DATE_MSGID" >"$MSG"
	send carol@example.net
	sent_ok
	run header_block 2
	assert_line --index 0 "From: Cron Daemon <$FAKE_FROM>"
}

@test "set_from_header on: a From: without a name gets from_full_name; a missing one is added" {
	start -- "set_from_header = on" "from_full_name = Alice Example"
	printf 'From: bob@example.net\n%s\nbody\n' "$DATE_MSGID" >"$MSG"
	send carol@example.net
	sent_ok
	run header_block
	assert_line --index 0 "From: Alice Example <$FAKE_FROM>"
	refute_output --partial bob@example.net

	printf 'To: carol@example.net\n%s\nbody\n' "$DATE_MSGID" >"$MSG"
	send carol@example.net
	sent_ok
	run header_block 2
	assert_line "From: Alice Example <$FAKE_FROM>"
}

@test "set_from_header off: no From: is added and an existing one is kept" {
	start -- "set_from_header = off"
	printf 'To: bob@example.net\n%s\nbody\n' "$DATE_MSGID" >"$MSG"
	crlf <"$MSG" >"$WANT"
	send bob@example.net
	sent_ok
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
}

@test "set_date_header and set_msgid_header off: nothing is added" {
	start -- "set_date_header = off" "set_msgid_header = off"
	printf 'From: alice@example.org\nTo: bob@example.net\n\nbody\n' >"$MSG"
	crlf <"$MSG" >"$WANT"
	send bob@example.net
	sent_ok
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
}

@test "Message-ID: the right side is the sender's domain" {
	start -- "domain = host.example.net"
	printf 'From: x@example.com\nDate: Sat, 01 Jun 2024 12:00:00 +0000\n\nbody\n' >"$MSG"
	send -f alice@sender.example bob@example.net
	sent_ok
	run header_block
	assert_line --regexp '^Message-ID: <[^<>@ ]+@sender\.example>$'
}

# ---- from with %U %H %F ------------------------------------------------------------------

@test "from = %U@example.org: the login name" {
	start -- "from = %U@example.org"
	std_message >"$MSG"
	send bob@example.net
	sent_ok
	assert_equal "$(envelope mail_from)" "$(id -un)@example.org"
}

@test "from = %U@%H: the login name at the account's domain" {
	start -- "from = %U@%H" "domain = host.example.net"
	std_message >"$MSG"
	send bob@example.net
	sent_ok
	assert_equal "$(envelope mail_from)" "$(id -un)@host.example.net"
}

@test "from = %F: the From: field's address, qualified with maildomain when bare" {
	start -- "from = %F" "maildomain = example.org"
	printf 'From: Bob <bob@example.net>\n%s\nbody\n' "$DATE_MSGID" >"$MSG"
	send carol@example.net
	sent_ok
	assert_equal "$(envelope mail_from)" bob@example.net

	printf 'From: www-data (Web Server)\n%s\nbody\n' "$DATE_MSGID" >"$MSG"
	send carol@example.net
	sent_ok
	assert_equal "$(envelope mail_from 2)" www-data@example.org
}

@test "from = %F without a From: field never becomes the null sender" {
	start -- "from = %F" "maildomain = example.org"
	printf 'To: carol@example.net\n%s\nbody\n' "$DATE_MSGID" >"$MSG"
	send carol@example.net
	[ "$status" -eq 0 ] || [ "$status" -eq 65 ] || [ "$status" -eq 78 ] ||
		fail "exit $status: $stderr"
	if [ "$status" -eq 0 ]; then
		[ -n "$(envelope mail_from)" ] || fail "MAIL FROM:<> for a message that is no bounce"
	fi
}

# ---- allow_from_override -----------------------------------------------------------------

@test "allow_from_override on (the default): -f replaces the account's from" {
	start
	std_message >"$MSG"
	send -f other@example.net bob@example.net
	sent_ok
	assert_equal "$(envelope mail_from)" other@example.net
}

@test "allow_from_override off: the account's from wins over -f and -r" {
	start -- "allow_from_override = off"
	std_message >"$MSG"
	send -f other@example.net bob@example.net
	sent_ok
	assert_equal "$(envelope mail_from)" "$FAKE_FROM"
	send -r other@example.net bob@example.net
	sent_ok
	assert_equal "$(envelope mail_from 2)" "$FAKE_FROM"
}

@test "allow_from_override off with no from in the account: -f is used" {
	fake_start
	CONF=$BATS_TEST_TMPDIR/postbote.conf
	write_config "$CONF" <<-EOF
		[defaults]
		default_account = fake

		[fake]
		host = localhost
		port = $FAKE_PORT
		tls = off
		queue = off
		allow_from_override = off
	EOF
	std_message >"$MSG"
	send -f other@example.net bob@example.net
	sent_ok
	assert_equal "$(envelope mail_from)" other@example.net
}

# ---- the null sender ---------------------------------------------------------------------

@test "null sender: -f '<>', -f '', -f MAILER-DAEMON, -r mailer-daemon give MAIL FROM:<>" {
	start -- "domain = host.example.net"
	printf 'To: bob@example.net\nSubject: Undelivered Mail\n\nbody\n' >"$MSG"
	local f
	for f in '<>' '' MAILER-DAEMON; do
		send -f "$f" bob@example.net
		sent_ok
	done
	send -r mailer-daemon bob@example.net
	sent_ok
	run client_lines
	assert_equal "$(grep -c '^MAIL FROM:' <<<"$output")" 4
	assert_equal "$(grep -c '^MAIL FROM:<> SIZE=[0-9]*$' <<<"$output")" 4
	# no From: made up for a bounce; Message-ID from the account's domain
	run header_block 1
	refute_line --regexp '^From:'
	assert_line --regexp '^Message-ID: <[^<>@ ]+@host\.example\.net>$'
}

# ---- dedupe ------------------------------------------------------------------------------

@test "dedupe: an address named twice, in any case or form, gets one RCPT (the first spelling)" {
	start
	printf 'To: bob@example.net, BOB@EXAMPLE.NET\nCc: Bob <Bob@Example.Net>\n%s\nbody\n' \
		"$DATE_MSGID" >"$MSG"
	send -t Bob@example.net 'Bob B. <bob@example.net>' carol@example.net bob@example.net
	sent_ok
	assert_rcpts '["Bob@example.net", "carol@example.net"]'
}

@test "dedupe: qualification and aliases do not make duplicates" {
	printf 'root: admin@example.org\npostmaster: root\n' >"$BATS_TEST_TMPDIR/aliases"
	start -- "maildomain = example.org" "aliases = $BATS_TEST_TMPDIR/aliases"
	std_message >"$MSG"
	send root postmaster admin@example.org carol carol@example.org
	sent_ok
	assert_rcpts '["admin@example.org", "carol@example.org"]'
}

# ---- DSN ---------------------------------------------------------------------------------
# aiosmtpd answers 555 to MAIL FROM parameters it does not know (RET, ENVID), so with DSN
# offered these tests look at the commands postbote sent, not at the outcome.

@test "DSN offered: -N, -R and -V become NOTIFY=, RET= and ENVID= (xtext)" {
	start --ehlo-extra DSN
	std_message >"$MSG"
	send -N success,failure -R hdrs -V 'id+1=a b' bob@example.net carol@example.net
	run client_lines
	assert_line --regexp '^MAIL FROM:<alice@example\.org> SIZE=[0-9]+ RET=HDRS ENVID=id\+2B1\+3Da\+20b$'
	assert_line 'RCPT TO:<bob@example.net> NOTIFY=SUCCESS,FAILURE'
	assert_line 'RCPT TO:<carol@example.net> NOTIFY=SUCCESS,FAILURE'
}

@test "DSN offered: dsn_notify and dsn_return from the account; -N and -R win" {
	start --ehlo-extra DSN -- "dsn_notify = failure,delay" "dsn_return = headers"
	std_message >"$MSG"
	send bob@example.net
	send -N never -R full carol@example.net
	run client_lines
	assert_line --regexp '^MAIL FROM:<alice@example\.org> SIZE=[0-9]+ RET=HDRS$'
	assert_line 'RCPT TO:<bob@example.net> NOTIFY=FAILURE,DELAY'
	assert_line --regexp '^MAIL FROM:<alice@example\.org> SIZE=[0-9]+ RET=FULL$'
	assert_line 'RCPT TO:<carol@example.net> NOTIFY=NEVER'
}

@test "DSN not offered: no NOTIFY, RET or ENVID, and the message goes" {
	start -- "dsn_notify = failure" "dsn_return = full"
	std_message >"$MSG"
	send -N success -R hdrs -V envid1 bob@example.net
	sent_ok
	refute_client_sent 'NOTIFY=|RET=|ENVID='
	assert_file_exist "$FAKE_OUT/msg-1.eml"
}

# ---- 8BITMIME ----------------------------------------------------------------------------

@test "8BITMIME: BODY=8BITMIME for 8-bit content (body or header) and -B8BITMIME, not for ASCII" {
	start
	std_message >"$MSG"
	send bob@example.net
	sent_ok
	send -B8BITMIME bob@example.net
	sent_ok
	send -B7BIT bob@example.net
	sent_ok
	{ std_message; printf 'Gr\xc3\xbc\xc3\x9fe\n'; } >"$MSG"
	send bob@example.net
	sent_ok
	printf 'Subject: Gr\xc3\xbc\xc3\x9fe\n%s\nascii body\n' "$DATE_MSGID" >"$MSG"
	send bob@example.net
	sent_ok
	run client_lines
	assert_equal "$(grep -c '^MAIL FROM:' <<<"$output")" 5
	assert_equal "$(grep '^MAIL FROM:' <<<"$output" | grep -c ' BODY=8BITMIME')" 3
	assert_equal "$(envelope mail_options 1)" "[\"SIZE=$(stat -c %s "$FAKE_OUT/msg-1.eml")\"]"
	envelope mail_options 2 | grep -q BODY=8BITMIME || fail "-B8BITMIME sent no BODY=8BITMIME"
	envelope mail_options 3 | grep -vq BODY=8BITMIME || fail "-B7BIT sent BODY=8BITMIME"
	envelope mail_options 4 | grep -q BODY=8BITMIME || fail "an 8-bit body sent no BODY=8BITMIME"
	envelope mail_options 5 | grep -q BODY=8BITMIME || fail "an 8-bit header sent no BODY=8BITMIME"
}

@test "8BITMIME not offered: no BODY= parameter, the 8-bit message still goes" {
	start --no-8bitmime
	{ std_message; printf 'Gr\xc3\xbc\xc3\x9fe\n'; } >"$MSG"
	send -B8BITMIME bob@example.net
	sent_ok
	refute_client_sent 'BODY='
	crlf <"$MSG" >"$WANT"
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
}

# ---- SMTPUTF8 and IDNA -------------------------------------------------------------------

@test "SMTPUTF8 offered: UTF-8 addresses go as they are, with SMTPUTF8 on MAIL FROM" {
	start --smtputf8
	std_message >"$MSG"
	send -f 'zoë@bücher.example' 'jürgen@bücher.example' bob@example.net
	sent_ok
	run client_lines
	assert_line 'MAIL FROM:<zoë@bücher.example> SIZE='"$(stat -c %s "$FAKE_OUT/msg-1.eml")"' SMTPUTF8'
	assert_line 'RCPT TO:<jürgen@bücher.example>'
	assert_line 'RCPT TO:<bob@example.net>'
}

@test "SMTPUTF8 offered, ASCII envelope: no SMTPUTF8 parameter" {
	start --smtputf8
	{ std_message; printf 'Gr\xc3\xbc\xc3\x9fe\n'; } >"$MSG"
	send bob@example.net
	sent_ok
	refute_client_sent 'SMTPUTF8'
}

@test "no SMTPUTF8: UTF-8 domains go as A-labels (IDNA), sender and recipients" {
	start
	std_message >"$MSG"
	send -f 'alice@bücher.example' 'bob@bücher.example' 'carol@ÉCOLE.example'
	sent_ok
	assert_equal "$(envelope mail_from)" alice@xn--bcher-kva.example
	assert_rcpts '["bob@xn--bcher-kva.example", "carol@xn--cole-9oa.example"]'
	refute_client_sent 'SMTPUTF8'
}

@test "no SMTPUTF8: a UTF-8 local part fails with exit 69 and a clear message; nothing sent" {
	start
	std_message >"$MSG"
	send 'jürgen@example.org'
	assert_equal "$status" 69
	assert_error_line 'jürgen@example.org' SMTPUTF8
	nothing_sent
}

@test "no SMTPUTF8: a UTF-8 local part among ASCII recipients fails alone" {
	start
	std_message >"$MSG"
	send bob@example.net 'jürgen@example.org' carol@example.net
	assert_equal "$status" 69
	assert_error_line 'jürgen@example.org' SMTPUTF8
	assert_rcpts '["bob@example.net", "carol@example.net"]'
}

@test "no SMTPUTF8: a UTF-8 sender local part fails with exit 69; nothing sent" {
	start
	std_message >"$MSG"
	send -f 'zoë@example.org' bob@example.net
	assert_equal "$status" 69
	assert_error_line 'zoë@example.org' SMTPUTF8
	nothing_sent
}

# ---- long lines --------------------------------------------------------------------------

@test "a header line over 998 bytes is folded at blanks: every line at most 998, nothing lost" {
	start
	local subject
	subject="Subject:$(printf ' word%04d' {1..300})" # 2,708 bytes
	printf '%s\n%s\nbody\n' "$subject" "$DATE_MSGID" >"$MSG"
	send bob@example.net
	sent_ok
	run "$PYTHON" -c 'import sys
data = open(sys.argv[1], "rb").read()
head = data.split(b"\r\n\r\n", 1)[0]
lines = head.split(b"\r\n")
assert max(map(len, lines)) <= 998, [len(x) for x in lines]
assert lines[0].startswith(b"Subject: word0001")
subj = [x for x in lines if x.startswith(b"Subject:") or x[:1] in b" \t"]
assert len(subj) >= 3, subj
assert b"".join(x for x in subj) == sys.argv[2].encode(), "unfolding does not give the field back"
' "$FAKE_OUT/msg-1.eml" "$subject"
	assert_success
}

@test "a body line of exactly 998 bytes passes untouched without a warning" {
	start
	local line
	line=$(printf 'x%.0s' {1..998})
	{ std_message; printf '%s\nend\n' "$line"; } >"$MSG"
	crlf <"$MSG" >"$WANT"
	send bob@example.net
	sent_ok
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
}

@test "body lines over 998 bytes get CRLF inserted after each 998 bytes; one warning line" {
	start
	local a b
	a=$(printf 'a%.0s' {1..999})
	b=$(printf 'b%.0s' {1..2500})
	{ std_message; printf '%s\n%s\nend\n' "$a" "$b"; } >"$MSG"
	{
		std_message
		printf '%s\n%s\n' "${a:0:998}" "${a:998}"
		printf '%s\n%s\n%s\n' "${b:0:998}" "${b:998:998}" "${b:1996}"
		printf 'end\n'
	} | crlf >"$WANT"
	send bob@example.net
	assert_success
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
	[[ $stderr == "postbote: warning: "* && $stderr != *$'\n'* && $stderr == *998* ]] ||
		fail "expected one warning line that mentions 998: $stderr"
	[[ $stderr == *3* ]] || fail "the warning does not count the 3 inserted line breaks: $stderr"
}

@test "a split that leaves a line with a single dot or a leading dot arrives intact (no -i)" {
	start
	local x
	x=$(printf 'x%.0s' {1..998})
	{ std_message; printf '%s.\n%s.z\nafter\n' "$x" "$x"; } >"$MSG"
	{ std_message; printf '%s\n.\n%s\n.z\nafter\n' "$x" "$x"; } | crlf >"$WANT"
	send bob@example.net
	assert_success
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
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
	sent_ok
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
}

# ---- -t, --read-envelope-from ------------------------------------------------------------

@test "-t adds the message's recipients to those on the command line" {
	start
	printf 'To: bob@example.net\nCc: carol@example.net\n%s\nbody\n' "$DATE_MSGID" >"$MSG"
	send -t dave@example.net
	sent_ok
	assert_rcpts '["dave@example.net", "bob@example.net", "carol@example.net"]'
}

@test "--read-envelope-from: the envelope sender is the From: address" {
	start -- "maildomain = example.org"
	printf 'From: Bob <bob@example.net>\n%s\nbody\n' "$DATE_MSGID" >"$MSG"
	send --read-envelope-from carol@example.net
	sent_ok
	assert_equal "$(envelope mail_from)" bob@example.net
	printf 'From: www-data\n%s\nbody\n' "$DATE_MSGID" >"$MSG"
	send --read-envelope-from carol@example.net
	sent_ok
	assert_equal "$(envelope mail_from 2)" www-data@example.org
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
