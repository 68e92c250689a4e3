#!/usr/bin/env bats
# The envelope: the sender (from with %U %H %F, allow_from_override, --read-envelope-from, the
# null sender) and the MAIL/RCPT parameters DSN, 8BITMIME and SMTPUTF8 (or IDNA without it).
# Against the fake server, plain SMTP without AUTH.

load lib/common
load lib/headers

setup_file() { common_setup_file; }
setup() { common_setup; }
teardown() { common_teardown; }

# ---- from with %U %H %F ------------------------------------------------------------------

@test "from = %U@example.org: the login name" {
	start -- "from = %U@example.org"
	std_message >"$MSG"
	send bob@example.net
	assert_sent
	assert_equal "$(envelope mail_from)" "$(id -un)@example.org"
}

@test "from = %U@%H: the login name at the account's domain" {
	start -- "from = %U@%H" "domain = host.example.net"
	std_message >"$MSG"
	send bob@example.net
	assert_sent
	assert_equal "$(envelope mail_from)" "$(id -un)@host.example.net"
}

@test "from = %F: the From: field's address, qualified with maildomain when bare" {
	start -- "from = %F" "maildomain = example.org"
	printf 'From: Bob <bob@example.net>\n%s\nbody\n' "$DATE_MSGID" >"$MSG"
	send carol@example.net
	assert_sent
	assert_equal "$(envelope mail_from)" bob@example.net

	printf 'From: www-data (Web Server)\n%s\nbody\n' "$DATE_MSGID" >"$MSG"
	send carol@example.net
	assert_sent
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
	assert_sent
	assert_equal "$(envelope mail_from)" other@example.net
}

@test "allow_from_override off: the account's from wins over -f and -r" {
	start -- "allow_from_override = off"
	std_message >"$MSG"
	send -f other@example.net bob@example.net
	assert_sent
	assert_equal "$(envelope mail_from)" "$FAKE_FROM"
	send -r other@example.net bob@example.net
	assert_sent
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
	assert_sent
	assert_equal "$(envelope mail_from)" other@example.net
}

# ---- the null sender ---------------------------------------------------------------------

@test "null sender: -f '<>', -f '', -f MAILER-DAEMON, -r mailer-daemon give MAIL FROM:<>" {
	start -- "domain = host.example.net"
	printf 'To: bob@example.net\nSubject: Undelivered Mail\n\nbody\n' >"$MSG"
	local f
	for f in '<>' '' MAILER-DAEMON; do
		send -f "$f" bob@example.net
		assert_sent
	done
	send -r mailer-daemon bob@example.net
	assert_sent
	run client_lines
	assert_equal "$(grep -c '^MAIL FROM:' <<<"$output")" 4
	assert_equal "$(grep -c '^MAIL FROM:<> SIZE=[0-9]*$' <<<"$output")" 4
	# no From: made up for a bounce; Message-ID from the account's domain
	run header_block 1
	refute_line --regexp '^From:'
	assert_line --regexp '^Message-ID: <[^<>@ ]+@host\.example\.net>$'
}

# ---- --read-envelope-from ---------------------------------------------------------------

@test "--read-envelope-from: the envelope sender is the From: address" {
	start -- "maildomain = example.org"
	printf 'From: Bob <bob@example.net>\n%s\nbody\n' "$DATE_MSGID" >"$MSG"
	send --read-envelope-from carol@example.net
	assert_sent
	assert_equal "$(envelope mail_from)" bob@example.net
	printf 'From: www-data\n%s\nbody\n' "$DATE_MSGID" >"$MSG"
	send --read-envelope-from carol@example.net
	assert_sent
	assert_equal "$(envelope mail_from 2)" www-data@example.org
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
	assert_sent
	refute_client_sent 'NOTIFY=|RET=|ENVID='
	assert_file_exist "$FAKE_OUT/msg-1.eml"
}

# ---- 8BITMIME ----------------------------------------------------------------------------

@test "8BITMIME: BODY=8BITMIME for 8-bit content (body or header) and -B8BITMIME, not for ASCII" {
	start
	std_message >"$MSG"
	send bob@example.net
	assert_sent
	send -B8BITMIME bob@example.net
	assert_sent
	send -B7BIT bob@example.net
	assert_sent
	{ std_message; printf 'Gr\xc3\xbc\xc3\x9fe\n'; } >"$MSG"
	send bob@example.net
	assert_sent
	printf 'Subject: Gr\xc3\xbc\xc3\x9fe\n%s\nascii body\n' "$DATE_MSGID" >"$MSG"
	send bob@example.net
	assert_sent
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
	assert_sent
	refute_client_sent 'BODY='
	crlf <"$MSG" >"$WANT"
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
}

# ---- SMTPUTF8 and IDNA -------------------------------------------------------------------

@test "SMTPUTF8 offered: UTF-8 addresses go as they are, with SMTPUTF8 on MAIL FROM" {
	start --smtputf8
	std_message >"$MSG"
	send -f 'zoë@bücher.example' 'jürgen@bücher.example' bob@example.net
	assert_sent
	run client_lines
	assert_line 'MAIL FROM:<zoë@bücher.example> SIZE='"$(stat -c %s "$FAKE_OUT/msg-1.eml")"' SMTPUTF8'
	assert_line 'RCPT TO:<jürgen@bücher.example>'
	assert_line 'RCPT TO:<bob@example.net>'
}

@test "SMTPUTF8 offered, ASCII envelope: no SMTPUTF8 parameter" {
	start --smtputf8
	{ std_message; printf 'Gr\xc3\xbc\xc3\x9fe\n'; } >"$MSG"
	send bob@example.net
	assert_sent
	refute_client_sent 'SMTPUTF8'
}

@test "-O smtputf8=yes: SMTPUTF8 asked for with an ASCII envelope (UTF-8 in the header only)" {
	start --smtputf8
	{ printf 'From: Zoë <alice@example.org>\nTo: bob@example.net\nSubject: Grüße\n\nbody\n'; } >"$MSG"
	send -O smtputf8=yes bob@example.net
	assert_sent
	run client_lines
	assert_line --regexp '^MAIL FROM:<[^>]+> SIZE=[0-9]+ BODY=8BITMIME SMTPUTF8$'
}

@test "-O smtputf8=yes and a server without SMTPUTF8: refused with exit 69, nothing sent; other -O and -o7 -o8 are ignored" {
	start
	std_message >"$MSG"
	send -O smtputf8=yes bob@example.net
	assert_equal "$status" 69
	assert_error_line "asks for SMTPUTF8 (-O smtputf8=yes)" "does not offer it"
	nothing_sent
	# -O with other options Postfix ignores, and -o7 / -o8: accepted
	send -O DeliveryMode=b -o7 -o8 bob@example.net
	assert_sent
}

@test "no SMTPUTF8: UTF-8 domains go as A-labels (IDNA), sender and recipients" {
	start
	std_message >"$MSG"
	send -f 'alice@bücher.example' 'bob@bücher.example' 'carol@ÉCOLE.example'
	assert_sent
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
