#!/usr/bin/env bats
# What postbote does to the message: line endings, dot-stuffing, the end-of-input dot,
# NUL bytes, and the Date/Message-ID/From headers it adds.

load lib/common

setup_file() { common_setup_file; }
setup() {
	common_setup
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config
}
teardown() { common_teardown; }

# The header block of msg-1.eml (without CRs), one header line per output line.
received_headers() { sed -n '1,/^\r$/p' "$FAKE_OUT/msg-1.eml" | sed '$d' | tr -d '\r'; }
# Everything after the blank line that ends the header block, as received (CRLF kept).
received_body() { sed '1,/^\r$/d' "$FAKE_OUT/msg-1.eml"; }

# No CR or LF on the wire except as a CRLF pair.
assert_only_crlf() { # FILE
	"$PYTHON" -c 'import re, sys
data = open(sys.argv[1], "rb").read()
bad = [m.start() for m in re.finditer(rb"\r(?!\n)|(?<!\r)\n", data)]
sys.exit("bare CR or LF at offsets %s" % bad[:10] if bad else 0)' "$1"
}

# assert_body_arrives BODY_IN BODY_OUT [OPTION...]: std_message followed by BODY_IN (printf %b
# escapes), sent with the OPTIONs, arrives as std_message followed by BODY_OUT, all in CRLF.
assert_body_arrives() {
	local in=$1 out=$2
	shift 2
	{ std_message; printf '%b' "$in"; } >"$MSG"
	{ std_message; printf '%b' "$out"; } | crlf >"$WANT"
	run --separate-stderr pb -C "$CONF" "$@" bob@example.org <"$MSG"
	assert_success
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
}

# many_recipients N [FIELD...]: a message to u0@example.org ... u(N-1)@example.org in To: fields
# of 10000 addresses each, then the FIELDs, on stdout
many_recipients() {
	"$PYTHON" - "$@" <<'PY'
import sys
n = int(sys.argv[1])
print("From: alice@example.org")
for start in range(0, n, 10000):
    print("To: " + ", ".join("u%d@example.org" % i for i in range(start, min(n, start + 10000))))
for field in sys.argv[2:]:
    print(field)
print("Subject: many\n\nbody")
PY
}

@test "bare LF, bare CR and CRLF all arrive as CRLF" {
	printf 'From: a@example.org\r\nTo: b@example.org\rSubject: endings\nDate: Mon, 01 Jan 2024 12:00:00 +0000\r\nMessage-ID: <le@example.org>\n\nlf line\ncr line\rcrlf line\r\ncr then crlf\r\r\nlast\n' >"$MSG"
	printf 'From: a@example.org\r\nTo: b@example.org\r\nSubject: endings\r\nDate: Mon, 01 Jan 2024 12:00:00 +0000\r\nMessage-ID: <le@example.org>\r\n\r\nlf line\r\ncr line\r\ncrlf line\r\ncr then crlf\r\n\r\nlast\r\n' >"$WANT"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_success
	assert_only_crlf "$FAKE_OUT/msg-1.eml"
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
}

@test "lines starting with a dot arrive unchanged (dot-stuffing on the wire)" {
	assert_body_arrives '.leading dot\n..two dots\n. dot space\n...\n' '.leading dot\n..two dots\n. dot space\n...\n'
}

@test "without -i a line with a single dot ends the input" {
	assert_body_arrives 'before\n.\nafter\n' 'before\n'
}

@test "with -i a line with a single dot is part of the message" {
	assert_body_arrives 'before\n.\nafter\n.\n' 'before\n.\nafter\n.\n' -i
}

@test "with -oi a line with a single dot is part of the message" {
	assert_body_arrives 'before\n.\nafter\n' 'before\n.\nafter\n' -oi
}

@test "a NUL byte: exit 65 and no connection" {
	{ std_message; printf 'bad \0 byte\n'; } >"$MSG"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_equal "$status" 65
	assert_error_line
	assert_file_empty "$FAKE_OUT/transcript.log"
}

@test "missing Date, Message-ID and From are added; From from -f with -F as the name" {
	printf 'Subject: no date, id or from\nTo: bob@example.org\n\nbody line\n' >"$MSG"
	run --separate-stderr pb -C "$CONF" -f "$FAKE_FROM" -F "Alice Example" bob@example.org <"$MSG"
	assert_success
	run received_headers
	assert_equal "${#lines[@]}" 5
	assert_line --index 0 "Subject: no date, id or from"
	assert_line --index 1 "To: bob@example.org"
	# the added ones follow, in any order, once each
	local added
	added=$(printf '%s\n' "${lines[@]:2}" | sed 's/:.*//' | tr '[:upper:]' '[:lower:]' | sort | tr '\n' ' ')
	assert_equal "$added" "date from message-id "
	assert_line "From: Alice Example <$FAKE_FROM>"
	assert_line --regexp '^Date: ((Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?[0-9]{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}(:[0-9]{2})? [+-][0-9]{4}$'
	assert_line --regexp '^[Mm]essage-I[Dd]: <[^<>@ ]+@[^<>@ ]+>$'
	run received_body
	assert_output $'body line\r'
}

@test "without -f the added From: is the account's from address" {
	printf 'Subject: no from\n\nbody\n' >"$MSG"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_success
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" mail_from)" "$FAKE_FROM"
	run received_headers
	assert_line --regexp "^From: (.*<$FAKE_FROM>|$FAKE_FROM)\$"
}

@test "-f and -r set the envelope sender" {
	std_message >"$MSG"
	run --separate-stderr pb -C "$CONF" -f other@example.org bob@example.org <"$MSG"
	assert_success
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" mail_from)" other@example.org
	run --separate-stderr pb -C "$CONF" -r third@example.org bob@example.org <"$MSG"
	assert_success
	assert_equal "$(json_get "$FAKE_OUT/msg-2.json" mail_from)" third@example.org
}

@test "existing Date, Message-ID and From are kept untouched" {
	cat >"$MSG" <<'EOF'
Received: from somewhere by here; Mon, 01 Jan 2024 11:59:00 +0000
From: "Alice Q. Example" <alice@example.org> (the sender)
Subject: a folded
  subject line
Date: Tue, 2 Jan 2024 10:00:00 +0100 (CET)
Message-Id: <keep.this.one@example.org>
X-Empty:

body stays
EOF
	crlf <"$MSG" >"$WANT"
	run --separate-stderr pb -C "$CONF" -f "$FAKE_FROM" -F "Someone Else" bob@example.org <"$MSG"
	assert_success
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
}

@test "input without a header block gets the added headers, a blank line, then the input" {
	printf 'Just a body line, no headers.\nsecond line\n' >"$MSG"
	run --separate-stderr pb -C "$CONF" -f "$FAKE_FROM" bob@example.org <"$MSG"
	assert_success
	run received_headers
	assert_equal "${#lines[@]}" 3
	local added
	added=$(printf '%s\n' "${lines[@]}" | sed 's/:.*//' | tr '[:upper:]' '[:lower:]' | sort | tr '\n' ' ')
	assert_equal "$added" "date from message-id "
	received_body >"$BATS_TEST_TMPDIR/body"
	printf 'Just a body line, no headers.\r\nsecond line\r\n' >"$WANT"
	assert_same_bytes "$WANT" "$BATS_TEST_TMPDIR/body"
}

# ---- recipients: empty arguments, too many, IDNs that map to nothing ----

@test "an empty recipient argument is skipped with one warning; the others get the message" {
	std_message >"$MSG"
	run --separate-stderr pb -C "$CONF" "" bob@example.org "" <"$MSG"
	assert_success
	assert_equal "$stderr" "postbote: warning: ignoring an empty recipient argument
postbote: warning: ignoring an empty recipient argument"
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" rcpt_tos)" '["bob@example.org"]'
	assert_equal "$(client_lines | grep -c '^RCPT TO:')" 1
}

@test "only empty recipient arguments: the usual no-recipients error, exit 64, nothing sent" {
	std_message >"$MSG"
	run --separate-stderr pb -C "$CONF" "" <"$MSG"
	assert_equal "$status" 64
	assert_equal "$(tail -n1 <<<"$stderr")" "postbote: no recipients given; usage: postbote [options] recipient..., or -t to read them from the message"
	assert_file_empty "$FAKE_OUT/transcript.log"
}

@test "-t with more than 100000 recipients: one error line, exit 65, nothing sent" {
	many_recipients 100001 >"$MSG"
	run --separate-stderr pb -C "$CONF" -t <"$MSG"
	assert_equal "$status" 65
	assert_equal "$stderr" "postbote: too many recipients: more than 100000"
	assert_file_empty "$FAKE_OUT/transcript.log"
}

@test "-t with exactly 100000 recipients (and duplicates) is not refused" {
	many_recipients 100000 "Cc: U0@EXAMPLE.ORG, u99999@example.org" >"$MSG"
	# a server that takes none: the answer comes before anything is sent to anyone
	fake_stop
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS" --reply 'MAIL=550 5.7.1 not you'
	fake_config
	run --separate-stderr pb -C "$CONF" -t <"$MSG"
	[[ $stderr != *"too many recipients"* ]] || fail "refused: $stderr"
	assert_equal "$(client_lines | grep -c '^MAIL FROM:')" 1
}

@test "an IDN whose first label maps to nothing fails alone, without SMTPUTF8; it never goes out as @.example" {
	std_message >"$MSG"
	run --separate-stderr pb -C "$CONF" -- $'user@\xe2\x80\x8b.example' bob@example.org <"$MSG"
	assert_equal "$status" 65
	assert_error_line $'the domain of user@\xe2\x80\x8b.example is not a valid international domain name: in ASCII it is \'.example\' and it has an empty label'
	refute_client_sent '^RCPT TO:<user@'
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" rcpt_tos)" '["bob@example.org"]'
}
