#!/usr/bin/env bats
# The header section as postbote writes it, one key or option at a time: maildomain in the
# address fields, Bcc removal, set_from_header and the From: it writes, Date: and Message-ID:,
# and lines over 998 bytes. Against the fake server, plain SMTP without AUTH.

load lib/common
load lib/headers

setup_file() { common_setup_file; }
setup() { common_setup; }
teardown() { common_teardown; }

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
	assert_sent
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
	assert_sent
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
}

@test "maildomain: bare recipients from the command line and from -t are qualified in the envelope" {
	start -- "maildomain = example.org"
	printf 'To: alice, Carol <carol@example.net>\nCc: dave\n%s\nbody\n' "$DATE_MSGID" >"$MSG"
	send -t root bob@example.net
	assert_sent
	assert_rcpts '["root@example.org", "bob@example.net", "alice@example.org", "carol@example.net", "dave@example.org"]'
}

@test "maildomain: a bare -f sender is qualified with it" {
	start -- "maildomain = example.org"
	std_message >"$MSG"
	send -f www-data bob@example.net
	assert_sent
	assert_equal "$(envelope mail_from)" www-data@example.org
}

@test "without maildomain: bare names stay bare in the fields and among the recipients" {
	start -- "domain = host.example.net"
	printf 'From: root\nTo: alice\n%s\nbody\n' "$DATE_MSGID" >"$MSG"
	crlf <"$MSG" >"$WANT"
	send -t
	assert_sent
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
	assert_rcpts '["alice"]'
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
	assert_sent
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
}

@test "Bcc: with -t the Bcc: recipients get the message, without the field" {
	start
	printf 'To: bob@example.net\nBcc: carol@example.net, Dave <dave@example.net>\n%s\nbody\n' \
		"$DATE_MSGID" >"$MSG"
	send -t
	assert_sent
	assert_rcpts '["bob@example.net", "carol@example.net", "dave@example.net"]'
	refute grep -qi '^bcc:' "$FAKE_OUT/msg-1.eml"
}

@test "Bcc: remove_bcc_headers = off keeps Bcc: and Resent-Bcc:" {
	start -- "remove_bcc_headers = off"
	printf 'From: alice@example.org\nTo: bob@example.net\nBcc: carol@example.net\nResent-Bcc: dave@example.net\n%s\nbody\n' \
		"$DATE_MSGID" >"$MSG"
	crlf <"$MSG" >"$WANT"
	send bob@example.net
	assert_sent
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
}

# ---- set_from_header ---------------------------------------------------------------------

@test "set_from_header auto: a missing From: is the envelope sender, with -F or from_full_name" {
	start
	printf 'To: bob@example.net\n%s\nbody\n' "$DATE_MSGID" >"$MSG"
	send bob@example.net
	assert_sent
	run header_block 1
	assert_line "From: $FAKE_FROM"

	send -F 'Alice Example' bob@example.net
	assert_sent
	run header_block 2
	assert_line "From: Alice Example <$FAKE_FROM>"

	fake_config --no-auth 'from_full_name = Alice Q. Example'
	send bob@example.net
	assert_sent
	run header_block 3
	assert_line "From: \"Alice Q. Example\" <$FAKE_FROM>"
}

@test "set_from_header auto: an existing From: is kept as it is, even with -F" {
	start
	printf 'From: Bob <bob@example.net> (the real one)\n%s\nbody\n' "$DATE_MSGID" >"$MSG"
	crlf <"$MSG" >"$WANT"
	send -F 'Someone Else' bob@example.net
	assert_sent
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
}

@test "set_from_header on: From: becomes the envelope sender and keeps its display name" {
	start -- "set_from_header = on"
	printf 'From: "Bob Q. Example" <bob@example.net>\nTo: carol@example.net\n%s\nbody\n' \
		"$DATE_MSGID" >"$MSG"
	send carol@example.net
	assert_sent
	run header_block
	assert_line --index 0 "From: \"Bob Q. Example\" <$FAKE_FROM>"

	printf 'From: root (Cron Daemon)\n%s\nbody\n' "$DATE_MSGID" >"$MSG"
	send carol@example.net
	assert_sent
	run header_block 2
	assert_line --index 0 "From: Cron Daemon <$FAKE_FROM>"
}

@test "set_from_header on: a From: without a name gets from_full_name; a missing one is added" {
	start -- "set_from_header = on" "from_full_name = Alice Example"
	printf 'From: bob@example.net\n%s\nbody\n' "$DATE_MSGID" >"$MSG"
	send carol@example.net
	assert_sent
	run header_block
	assert_line --index 0 "From: Alice Example <$FAKE_FROM>"
	refute_output --partial bob@example.net

	printf 'To: carol@example.net\n%s\nbody\n' "$DATE_MSGID" >"$MSG"
	send carol@example.net
	assert_sent
	run header_block 2
	assert_line "From: Alice Example <$FAKE_FROM>"
}

@test "set_from_header off: no From: is added and an existing one is kept" {
	start -- "set_from_header = off"
	printf 'To: bob@example.net\n%s\nbody\n' "$DATE_MSGID" >"$MSG"
	crlf <"$MSG" >"$WANT"
	send bob@example.net
	assert_sent
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
}

@test "set_date_header and set_msgid_header off: nothing is added" {
	start -- "set_date_header = off" "set_msgid_header = off"
	printf 'From: alice@example.org\nTo: bob@example.net\n\nbody\n' >"$MSG"
	crlf <"$MSG" >"$WANT"
	send bob@example.net
	assert_sent
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
}

@test "Message-ID: the right side is the sender's domain" {
	start -- "domain = host.example.net"
	printf 'From: x@example.com\nDate: Sat, 01 Jun 2024 12:00:00 +0000\n\nbody\n' >"$MSG"
	send -f alice@sender.example bob@example.net
	assert_sent
	run header_block
	assert_line --regexp '^Message-ID: <[^<>@ ]+@sender\.example>$'
}

# ---- long lines --------------------------------------------------------------------------

@test "a header line over 998 bytes is folded at blanks: every line at most 998, nothing lost" {
	start
	local subject
	subject="Subject:$(printf ' word%04d' {1..300})" # 2,708 bytes
	printf '%s\n%s\nbody\n' "$subject" "$DATE_MSGID" >"$MSG"
	send bob@example.net
	assert_sent
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
	assert_sent
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
