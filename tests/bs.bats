#!/usr/bin/env bats
# sendmail -bs: postbote as an SMTP server on stdin and stdout (Symfony Mailer's default
# transport, SwiftMailer, Laravel, pine), and as the program a per-connection listener starts
# (systemd's Accept=yes, inetd). Against the fake server (tests/fakesmtp.py): what the client is
# told, command by command, and what reaches the smarthost.

load lib/common

setup_file() { common_setup_file; }

setup() {
	common_setup
	SESSION=$BATS_TEST_TMPDIR/session
}

teardown() {
	[ -n "${SPAWNER:-}" ] && kill "$SPAWNER" 2>/dev/null && wait "$SPAWNER" 2>/dev/null
	common_teardown
}

# session LINE...: the client's side, one command or message line per argument, CRLF added,
# written all at once (a pipelining client); then postbote -bs with it on stdin. The replies are
# in $output and $lines without their CRs.
session() {
	printf '%s\r\n' "$@" >"$SESSION"
	run --separate-stderr bs_run
}
bs_run() { pb -C "$CONF" -bs "${BS_ARGS[@]}" <"$SESSION" | tr -d '\r'; }
BS_ARGS=()

# codes: the reply codes, one per reply (a multi-line reply counts once)
codes() { printf '%s\n' "${lines[@]}" | grep -E '^[0-9]{3} ' | cut -c1-3 | tr '\n' ' '; }

@test "two messages over one session, pipelined: every reply in order, the bytes as sent, dots unstuffed" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config
	session 'EHLO client.example.org' 'MAIL FROM:<alice@example.org>' 'RCPT TO:<bob@example.org>' \
		'RCPT TO:<carol@example.org>' DATA 'Subject: one' \
		'Date: Tue, 01 Dec 2026 10:00:00 +0000' 'Message-ID: <one@example.org>' '' \
		'..a line that starts with a dot' '...and two' '.' \
		'MAIL FROM:<alice@example.org> BODY=8BITMIME' 'RCPT TO:<dave@example.org>' DATA \
		'Subject: two' 'Date: Tue, 01 Dec 2026 10:00:01 +0000' 'Message-ID: <two@example.org>' \
		'' 'Grüße' '.' QUIT
	assert_success
	assert_equal "$(codes)" "220 250 250 250 250 354 250 250 250 354 250 221 "
	assert_line --index 0 --regexp '^220 [^ ]+ ESMTP postbote$'
	assert_line "250-PIPELINING"
	assert_line "250-8BITMIME"
	assert_line "250-SMTPUTF8"
	assert_line "250-SIZE 268435456"
	assert_line "250 ENHANCEDSTATUSCODES"
	refute_line "250-DSN"	# the fake server offers none
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" rcpt_tos)" '["bob@example.org", "carol@example.org"]'
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" mail_from)" "alice@example.org"
	printf '%s\r\n' 'Subject: one' 'Date: Tue, 01 Dec 2026 10:00:00 +0000' \
		'Message-ID: <one@example.org>' 'From: alice@example.org' '' \
		'.a line that starts with a dot' '..and two' >"$WANT"
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
	assert_equal "$(json_get "$FAKE_OUT/msg-2.json" rcpt_tos)" '["dave@example.org"]'
	grep -q 'Grüße' "$FAKE_OUT/msg-2.eml"
	[[ $(json_get "$FAKE_OUT/msg-2.json" mail_options) == *BODY=8BITMIME* ]]
	# the recipients were checked, and both messages sent, over one connection
	assert_equal "$(grep -c -- '-- connection from' "$FAKE_OUT/session.log")" 1
}

@test "a recipient the smarthost refuses gets the smarthost's reply at RCPT time; the others get the message" {
	fake_start --reply-rcpt 'nobody@example.org=550 5.1.1 <nobody@example.org>: no such user'
	fake_config --no-auth
	session 'EHLO c' 'MAIL FROM:<alice@example.org>' 'RCPT TO:<nobody@example.org>' \
		'RCPT TO:<bob@example.org>' DATA 'Subject: x' '' 'body' '.' QUIT
	assert_success
	assert_equal "$(codes)" "220 250 250 550 250 354 250 221 "
	assert_line "550 5.1.1 <nobody@example.org>: no such user"
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" rcpt_tos)" '["bob@example.org"]'
	assert_file_not_exists "$FAKE_OUT/msg-2.json"
}

@test "a temporary refusal at RCPT is passed on as such, and the aliases decide what is checked" {
	fake_start --reply-rcpt 'admin@example.org=451 4.2.0 mailbox busy'
	printf 'root: admin@example.org\n' >"$BATS_TEST_TMPDIR/aliases"
	fake_config --no-auth "aliases = $BATS_TEST_TMPDIR/aliases" "maildomain = example.org"
	session 'EHLO c' 'MAIL FROM:<alice@example.org>' 'RCPT TO:<root>' 'RCPT TO:<bob>' DATA \
		'Subject: x' '' 'body' '.' QUIT
	assert_equal "$(codes)" "220 250 250 451 250 354 250 221 "
	assert_line "451 4.2.0 mailbox busy"
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" rcpt_tos)" '["bob@example.org"]'
}

@test "the smarthost unreachable: recipients taken, the message durably queued, 250 says so; -q sends it" {
	local port
	port=$(free_port)
	fake_start
	fake_config --no-auth "queue = on"
	sed -i "s/^port = .*/port = $port/" "$CONF"
	session 'EHLO c' 'MAIL FROM:<alice@example.org>' 'RCPT TO:<bob@example.org>' DATA \
		'Subject: later' '' 'body' '.' QUIT
	assert_success
	assert_equal "$(codes)" "220 250 250 250 354 250 221 "
	assert_line --regexp '^250 2\.0\.0 queued as [0-9]{14}\.[0-9a-f]{10}; will retry$'
	run find "$BATS_TEST_TMPDIR/queue/q" -type f -not -name '*.state'
	assert_equal "${#lines[@]}" 1
	sed -i "s/^port = .*/port = $FAKE_PORT/" "$CONF"
	run pb -C "$CONF" -q
	assert_success
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" rcpt_tos)" '["bob@example.org"]'
}

@test "unreachable with the queue off: 451 to the final dot, so the client keeps the message" {
	local port
	port=$(free_port)
	FAKE_PORT=$port FAKE_TLS=none fake_config --no-auth
	session 'EHLO c' 'MAIL FROM:<alice@example.org>' 'RCPT TO:<bob@example.org>' DATA \
		'Subject: x' '' 'body' '.' QUIT
	assert_success
	assert_equal "$(codes)" "220 250 250 250 354 451 221 "
	assert_line --regexp "^451 4\.3\.0 .*cannot connect to localhost port $port.*try again later"
}

@test "a message the smarthost refuses at the end gets 554, and no DSN is offered that it cannot pass on" {
	fake_start --reply 'EOM=554 5.6.0 content rejected'
	fake_config --no-auth
	session 'EHLO c' 'MAIL FROM:<alice@example.org>' 'RCPT TO:<bob@example.org>' \
		DATA 'Subject: x' '' 'body' '.' QUIT
	assert_success
	refute_line "250-DSN"
	assert_equal "$(codes)" "220 250 250 250 354 554 221 "
	assert_line --regexp '^554 5\.0\.0 .*554 5\.6\.0 content rejected'
	fake_stop
	fake_start --ehlo-extra DSN
	fake_config --no-auth
	session 'EHLO c' QUIT
	assert_line "250-DSN"
}

@test "commands out of order and malformed ones get RFC 5321 replies, and the session goes on" {
	fake_start
	fake_config --no-auth
	session 'MAIL FROM:<a@example.org>' 'EHLO c' 'RCPT TO:<b@example.org>' DATA \
		'MAIL FROM:a@example.org' 'MAIL FROM:<a@example.org> FOO=1' 'MAIL TO:<a@example.org>' \
		'MAIL FROM:<a@example.org>' 'MAIL FROM:<a@example.org>' 'DATA' 'RCPT TO:<>' \
		'RCPT TO:<b@example.org' 'RCPT TO:<b c@example.org>' 'DATA now' 'XYZZY' 'VRFY bob' \
		'EXPN list' 'STARTTLS' 'AUTH PLAIN' 'BDAT 10 LAST' 'NOOP' 'HELP' 'RSET' \
		'RCPT TO:<b@example.org>' QUIT
	assert_success
	assert_equal "$(codes)" "220 503 250 503 503 501 555 501 250 503 554 501 501 501 501 500 252 502 502 502 502 250 214 250 503 221 "
	assert_file_not_exists "$FAKE_OUT/msg-1.json"
}

@test "lines over the limit, NUL bytes and a stream of errors: refused, then the session is closed" {
	fake_start
	fake_config --no-auth
	local long
	long=$(printf 'x%.0s' $(seq 3000))
	{
		printf 'EHLO c\r\nNOOP %s\r\nNO\0OP\r\n' "$long"
		for _ in $(seq 25); do printf 'BOGUS\r\n'; done
		printf 'NOOP\r\n'
	} >"$SESSION"
	run --separate-stderr bs_run
	assert_success
	assert_line --index 7 "500 5.5.2 line too long"
	assert_line --index 8 "500 5.5.2 a NUL byte in the command"
	assert_line --regexp '^421 4\.7\.0 .*too many errors, closing$'
	refute_line "250 2.0.0 ok"	# the NOOP after the errors was never read
}

@test "an idle client is told 421 and the session ends (-O Timeout.command)" {
	fake_start
	fake_config --no-auth
	local fifo=$BATS_TEST_TMPDIR/fifo
	mkfifo "$fifo"
	# a client that says EHLO and then nothing, keeping its end open
	{ printf 'EHLO c\r\n'; sleep 20; } >"$fifo" 3>&- &
	local client=$!
	run --separate-stderr timeout 15 "$POSTBOTE" -C "$CONF" -bs -O Timeout.command=1 <"$fifo"
	kill "$client" 2>/dev/null || true
	wait "$client" 2>/dev/null || true
	assert_success
	assert_line --regexp $'^421 4\\.4\\.2 .*the client said nothing for 1 s, closing\r$'
}

@test "a message over the advertised SIZE gets 552 and nothing is sent" {
	fake_start
	fake_config --no-auth
	session 'EHLO c' 'MAIL FROM:<a@example.org> SIZE=999999999999' 'RSET' QUIT
	assert_equal "$(codes)" "220 250 552 250 221 "
	assert_file_not_exists "$FAKE_OUT/msg-1.json"
}

@test "swaks --pipe 'postbote -bs' with pipelining delivers" {
	command -v swaks >/dev/null || fail "swaks is not installed (tests/run installs it)"
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config
	run swaks --pipe "$POSTBOTE -C $CONF -bs" --pipeline --from alice@example.org \
		--to bob@example.org --header 'Subject: from swaks' --body 'swaks body'
	assert_success
	assert_output --regexp "<[-~]  250 2\.0\.0 sent"
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" rcpt_tos)" '["bob@example.org"]'
	grep -q '^Subject: from swaks' "$FAKE_OUT/msg-1.eml"
	grep -q 'swaks body' "$FAKE_OUT/msg-1.eml"
}

@test "a localhost listener in the inetd manner: Python's smtplib and swaks over TCP, stderr on the socket too" {
	command -v swaks >/dev/null || fail "swaks is not installed (tests/run installs it)"
	fake_start
	fake_config --no-auth
	local port
	port=$(free_port)
	# an inetd: accept, and run postbote -bs with the connection as stdin, stdout and stderr
	"$PYTHON" - "$port" "$POSTBOTE" "$CONF" 3>&- <<'EOF' &
import os, signal, socket, sys
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
while True:
    c, _ = s.accept()
    if os.fork() == 0:
        for fd in (0, 1, 2):
            os.dup2(c.fileno(), fd)
        os.execv(sys.argv[2], [sys.argv[2], "-C", sys.argv[3], "-bs"])
    c.close()
EOF
	SPAWNER=$!
	for _ in $(seq 100); do
		[ -n "$(ss -Hltn "sport = :$port")" ] && break
		sleep 0.1
	done
	run "$PYTHON" - "$port" <<'EOF'
import smtplib, sys
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=20) as s:
    s.ehlo("printer.example.org")
    assert s.has_extn("pipelining") and s.has_extn("8bitmime") and s.has_extn("smtputf8")
    refused = s.sendmail("scanner@example.org", ["bob@example.org", "carol@example.org"],
                         b"Subject: scan\r\n\r\nyour scan\r\n")
    print("refused", refused)
EOF
	assert_success
	assert_output "refused {}"
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" rcpt_tos)" '["bob@example.org", "carol@example.org"]'
	run swaks --server "127.0.0.1:$port" --pipeline --from a@example.org --to dave@example.org \
		--header 'Subject: second'
	assert_success
	assert_equal "$(json_get "$FAKE_OUT/msg-2.json" rcpt_tos)" '["dave@example.org"]'
}

@test "Symfony Mailer (-bs) and a recipient the smarthost refuses: the application gets the smarthost's reply" {
	command -v php >/dev/null && [ -f /usr/share/php/Symfony/Component/Mailer/autoload.php ] ||
		fail "php-symfony-mailer is not installed (tests/run installs it)"
	fake_start --reply-rcpt 'nobody@example.org=550 5.1.1 <nobody@example.org>: no such user'
	fake_config --no-auth
	run --separate-stderr timeout 60 php "$TESTS_DIR/clients/symfony-mailer.php" \
		"$POSTBOTE -C $CONF -bs" 1 app@example.org nobody@example.org
	assert_failure
	[[ "$stderr$output" == *"550 5.1.1 <nobody@example.org>: no such user"* ]] ||
		fail "not the smarthost's refusal: $stderr $output"
	assert_file_not_exists "$FAKE_OUT/msg-1.json"
}
