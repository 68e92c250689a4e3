#!/usr/bin/env bats
# Where the password comes from when the configuration holds none: ~/.netrc, then a prompt on
# the terminal; passwordeval's deadline (the account's timeout) and the size of a secret (OAuth
# 2.0 tokens of several KB arrive whole, from every source, against tests/saslsmtp.py); and
# --serverinfo, which shows a server without sending it anything secret.

bats_require_minimum_version 1.5.0

load lib/common

setup_file() { common_setup_file; }
setup() { common_setup; std_message >"$MSG"; }
teardown() {
	[ -z "${TMUX_SOCK:-}" ] || tmux -S "$TMUX_SOCK" kill-server 2>/dev/null || true
	# what a hanging passwordeval left behind (only when postbote failed to stop it)
	[ -z "${MARK:-}" ] || pkill -KILL -f -- "$MARK" 2>/dev/null || true
	common_teardown
}

# an account with user but no password, against a fake server that wants AUTH
start_nopass() {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config
	sed -i '/^password = /d' "$CONF"
}

# the password that arrived in AUTH PLAIN
plain_password() {
	client_lines | sed -n 's/^AUTH PLAIN //p' | base64 -d | tr '\0' '\n' | sed -n 3p
}

@test "~/.netrc supplies the password for the account's host and user" {
	start_nopass
	printf 'machine other.example login %s password wrong\nmachine localhost login %s password %s\n' \
		"$FAKE_USER" "$FAKE_USER" "$FAKE_PASS" >"$HOME/.netrc"
	chmod 600 "$HOME/.netrc"
	run --separate-stderr setsid -w "$POSTBOTE" -C "$CONF" bob@example.org <"$MSG"
	assert_success
	assert_equal "$(plain_password)" "$FAKE_PASS"
	assert_file_exists "$FAKE_OUT/msg-1.eml"
}

@test "~/.netrc: an entry for another login does not count; a default entry does" {
	start_nopass
	printf 'machine localhost login mallory password wrong\ndefault login %s password %s\n' \
		"$FAKE_USER" "$FAKE_PASS" >"$HOME/.netrc"
	chmod 600 "$HOME/.netrc"
	run --separate-stderr setsid -w "$POSTBOTE" -C "$CONF" bob@example.org <"$MSG"
	assert_success
	assert_equal "$(plain_password)" "$FAKE_PASS"
}

@test "~/.netrc readable by others is refused: exit 78, says which chmod fixes it" {
	start_nopass
	printf 'machine localhost login %s password %s\n' "$FAKE_USER" "$FAKE_PASS" >"$HOME/.netrc"
	chmod 644 "$HOME/.netrc"
	run --separate-stderr setsid -w "$POSTBOTE" -C "$CONF" bob@example.org <"$MSG"
	assert_equal "$status" 78
	assert_error_line "readable by others" "chmod 600 $HOME/.netrc"
	refute_client_sent '^AUTH'
}

@test "no password anywhere and no terminal: exit 78 naming every way to give one, nothing sent" {
	start_nopass
	run --separate-stderr setsid -w "$POSTBOTE" -C "$CONF" bob@example.org <"$MSG"
	assert_equal "$status" 78
	assert_error_line "has a user but no password" "passwordeval" "~/.netrc" "terminal"
	refute_client_sent '.'
}

@test "the password typed at the terminal prompt is used and never echoed" {
	start_nopass
	# a real terminal: postbote reads the message from a file and the password from /dev/tty
	tty_start "'$POSTBOTE' -C '$CONF' bob@example.org <'$MSG'; echo exit=\$?; sleep 30"
	tmux -S "$TMUX_SOCK" send-keys "$FAKE_PASS" Enter
	tty_wait_for '^exit=' || fail "postbote did not end: $(cat "$TTY_OUT")"
	grep -q '^exit=0$' "$TTY_OUT" || fail "postbote did not succeed: $(cat "$TTY_OUT")"
	! grep -qF "$FAKE_PASS" "$TTY_OUT" || fail "the password was echoed: $(cat "$TTY_OUT")"
	assert_equal "$(plain_password)" "$FAKE_PASS"
	assert_file_exists "$FAKE_OUT/msg-1.eml"
}

@test "--serverinfo shows greeting, capabilities before and after TLS, TLS and the certificate" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config
	run --separate-stderr pb -C "$CONF" --serverinfo
	assert_success
	assert_line "Greeting: 220 fakesmtp.test fakesmtp"
	assert_line "EHLO reply before STARTTLS:"
	assert_line "    250 STARTTLS"
	assert_line --regexp "^TLS: TLS1\.[23] "
	assert_line --regexp "^    Subject: +CN=localhost$"
	assert_line --regexp "^    Issuer: +CN=postbote test CA$"
	assert_line --regexp "^    Names: +localhost, 127\.0\.0\.1, ::1$"
	assert_line --regexp "^    SHA-256: +$(cert_sha256 "$CA_DIR/server.pem")$"
	assert_line "EHLO reply with TLS:"
	assert_line "    250 AUTH PLAIN LOGIN CRAM-MD5"
	# it only looks: no AUTH, no mail
	refute_client_sent '^(AUTH|MAIL)'
}

@test "--serverinfo with a certificate that does not verify: exit 76, the reason, no AUTH" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS" \
		--cert "$CA_DIR/wrongname.pem" --key "$CA_DIR/wrongname.key"
	fake_config
	run --separate-stderr pb -C "$CONF" --serverinfo
	assert_equal "$status" 76
	assert_error_line "does not match host name localhost" "wrong.example"
	refute_client_sent '^AUTH'
}

@test "passwordeval runs once per submission, also when the submission then sends the queue" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	local count=$BATS_TEST_TMPDIR/evals down=$BATS_TEST_TMPDIR/down.conf port
	fake_config "queue = on" "queue_retry_min = 1s" \
		"passwordeval = echo x >>'$count'; printf '%s\\n' '$FAKE_PASS'"
	sed -i '/^password = /d' "$CONF"
	# the same account and queue, but its host down: the first message is queued
	port=$(free_port)
	sed "s/^port = .*/port = $port/" "$CONF" >"$down"
	chmod 600 "$down"
	run --separate-stderr pb -C "$down" bob@example.org <"$MSG"
	assert_success
	[[ "$stderr" == *"queued as"* ]] || fail "not queued: $stderr"
	assert_equal "$(wc -l <"$count")" 1
	sleep 1.1	# the queued message is due after queue_retry_min
	run --separate-stderr pb -C "$CONF" carol@example.org <"$MSG"
	assert_success
	# both messages went out over the one session, with the one password fetched for it
	assert_file_exists "$FAKE_OUT/msg-2.eml"
	assert_equal "$(wc -l <"$count")" 2
}

# ---- passwordeval's deadline ------------------------------------------------------------------

# eval_config CMD: an account whose password comes from passwordeval CMD, with timeout = 2
eval_config() {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config "passwordeval = $1"
	sed -i -e '/^password = /d' -e 's/^timeout = .*/timeout = 2/' "$CONF"
}

# assert_gone: no process whose command line holds $MARK is left (bounded wait: a SIGKILLed
# process may take a moment to disappear)
assert_gone() {
	local i
	for ((i = 0; i < 100; i++)); do
		pgrep -f -- "$MARK" >/dev/null || return 0
		sleep 0.05
	done
	fail "left running: $(pgrep -af -- "$MARK")"
}

# assert_stopped: postbote gave up after the 2 s timeout, with one line, and sent nothing
assert_stopped() {
	[ "$elapsed" -le 8 ] || fail "took $elapsed s with timeout = 2"
	assert_equal "$status" 75
	assert_error_line "$CONF: passwordeval of account 'fake' did not finish within the " \
		"account's timeout (2 s); stopped it"
	refute_client_sent '.'
	assert_gone
}

# run_timed: postbote with the message, killed after 20 s; elapsed in seconds
run_timed() {
	local t0=$SECONDS
	PB_TIMEOUT=20 run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	elapsed=$((SECONDS - t0))
}

@test "passwordeval that hangs is killed after the account's timeout: exit 75, one line" {
	MARK=1000.$RANDOM$RANDOM
	eval_config "sleep $MARK"
	run_timed
	assert_stopped
}

@test "passwordeval that exits but leaves a child holding its output: killed with the child" {
	MARK=300.$RANDOM$RANDOM
	eval_config "(sleep $MARK &) ; echo pw"
	run_timed
	assert_stopped
}

@test "passwordeval that never stops printing is killed after the timeout" {
	MARK=pb-yes-$RANDOM$RANDOM
	eval_config "yes $MARK"
	run_timed
	assert_stopped
}

@test "passwordeval past its deadline with the queue on: the message is queued, and a later run sends it" {
	MARK=1000.$RANDOM$RANDOM
	eval_config "sleep $MARK"
	sed -i -e 's/^queue = off$/queue = on/' "$CONF"
	run_timed
	[ "$elapsed" -le 8 ] || fail "took $elapsed s with timeout = 2"
	assert_success
	[[ $stderr =~ ^postbote:\ queued\ as\ ([0-9]{14}\.[0-9a-f]{10}):\ .*passwordeval\ of\ account\ \'fake\'\ did\ not\ finish ]] ||
		fail "stderr: $stderr"
	local id=${BASH_REMATCH[1]}
	refute_client_sent '.'
	assert_gone
	# the queue run asks again: with a password that comes, the message goes
	sed -i "s|^passwordeval = .*|passwordeval = printf '%s\\\\n' '$FAKE_PASS'|" "$CONF"
	run --separate-stderr pb -C "$CONF" -qI "$id"
	assert_success
	assert_file_exists "$FAKE_OUT/msg-1.eml"
	assert_file_not_exists "$BATS_TEST_TMPDIR/queue/q/$id"
}

# ---- secrets of every size, from every source ----------------------------------------------

SASLSMTP=$TESTS_DIR/saslsmtp.py

# token_server LEN: saslsmtp.py (implicit TLS, XOAUTH2 only) that accepts only the LEN-byte
# token it is given, which is also in $TOKEN_FILE (no line end), and an account that uses
# XOAUTH2 with no password in its file
token_server() {
	"$PYTHON" -c 'import OpenSSL' 2>/dev/null || skip "saslsmtp.py needs pyOpenSSL (python3-openssl)"
	local len=$1
	shift
	TOKEN_FILE=$BATS_TEST_TMPDIR/token
	# varied bytes, so that a cut anywhere shows
	"$PYTHON" -c 'import sys
n = int(sys.argv[1])
a = "ya29.A0AfB_byC-x.y~z+/0123456789abcdefghijklmnopqrstuvwxyz"
sys.stdout.write((a * (n // len(a) + 1))[:n - 3] + "END")' "$len" >"$TOKEN_FILE"
	assert_equal "$(wc -c <"$TOKEN_FILE")" "$len"
	FAKESMTP=$SASLSMTP fake_start --tls implicit --token "$FAKE_USER:$(<"$TOKEN_FILE")" \
		--auth-mechs XOAUTH2
	fake_config --no-auth "user = $FAKE_USER" "auth = XOAUTH2" "$@"
}

assert_token_accepted() {
	[ "$status" -eq 0 ] || fail "postbote exited $status; stderr: $stderr"
	assert_equal "$stderr" ""
	assert_file_exists "$FAKE_OUT/msg-1.eml"
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" auth_mechanism)" XOAUTH2
}

send_token_message() {
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
}

netrc_token() {
	printf 'machine localhost login %s password %s\n' "$FAKE_USER" "$(<"$TOKEN_FILE")" \
		>"$HOME/.netrc"
	chmod 600 "$HOME/.netrc"
}

# tty_start SHELL-COMMAND: runs it in a real terminal (tmux) and waits for postbote's prompt;
# the screen is in $TTY_OUT
tty_start() {
	TMUX_SOCK=$BATS_TEST_TMPDIR/tmux.sock
	TTY_OUT=$BATS_TEST_TMPDIR/tty.out
	tmux -S "$TMUX_SOCK" new-session -d -x 200 -y 20 "$1"
	tty_wait_for "password for $FAKE_USER at localhost:" || fail "no prompt: $(cat "$TTY_OUT")"
}

# tty_wait_for ERE: waits up to 30 s for the screen to show ERE
tty_wait_for() {
	local i
	for ((i = 0; i < 600; i++)); do
		tmux -S "$TMUX_SOCK" capture-pane -p >"$TTY_OUT"
		grep -qE -- "$1" "$TTY_OUT" && return 0
		sleep 0.05
	done
	return 1
}

# tty_answer: runs postbote in a terminal and pastes $TOKEN_FILE at its prompt; sets status,
# and stderr (postbote's, kept apart from the terminal)
tty_answer() {
	local errf=$BATS_TEST_TMPDIR/tty.err
	tty_start "'$POSTBOTE' -C '$CONF' bob@example.org <'$MSG' 2>'$errf'; echo exit=\$?; sleep 60"
	tmux -S "$TMUX_SOCK" load-buffer "$TOKEN_FILE"
	tmux -S "$TMUX_SOCK" paste-buffer -d
	tmux -S "$TMUX_SOCK" send-keys Enter
	tty_wait_for '^exit=' || fail "postbote did not end: $(cat "$TTY_OUT")"
	status=$(sed -n 's/^exit=//p' "$TTY_OUT")
	stderr=$(cat "$errf")
	! grep -qF "END" "$TTY_OUT" || fail "the token was echoed: $(cat "$TTY_OUT")"
}

@test "a 2,000-byte XOAUTH2 token from passwordeval reaches the server whole" {
	token_server 2000 "passwordeval = cat '$BATS_TEST_TMPDIR/token'"
	send_token_message
	assert_token_accepted
}

@test "a 15,000-byte XOAUTH2 token from passwordeval reaches the server whole" {
	token_server 15000 "passwordeval = cat '$BATS_TEST_TMPDIR/token'"
	send_token_message
	assert_token_accepted
}

@test "a 20,000-byte token from passwordeval: exit 78, says it is too long, nothing sent" {
	token_server 20000 "passwordeval = cat '$BATS_TEST_TMPDIR/token'"
	send_token_message
	assert_equal "$status" 78
	assert_error_line "$CONF: passwordeval of account 'fake' printed more than 16384 bytes on " \
		"its first line"
	refute_client_sent '.'
}

@test "a 2,000-byte XOAUTH2 token from ~/.netrc reaches the server whole" {
	token_server 2000
	netrc_token
	run --separate-stderr setsid -w "$POSTBOTE" -C "$CONF" bob@example.org <"$MSG"
	assert_token_accepted
}

@test "a 15,000-byte XOAUTH2 token from ~/.netrc reaches the server whole" {
	token_server 15000
	netrc_token
	run --separate-stderr setsid -w "$POSTBOTE" -C "$CONF" bob@example.org <"$MSG"
	assert_token_accepted
}

@test "a 20,000-byte token in ~/.netrc: exit 78, says it is too long, nothing sent" {
	token_server 20000
	netrc_token
	run --separate-stderr setsid -w "$POSTBOTE" -C "$CONF" bob@example.org <"$MSG"
	assert_equal "$status" 78
	assert_error_line "$HOME/.netrc: the password for $FAKE_USER at localhost is longer than " \
		"16384 bytes"
	refute_client_sent '.'
}

@test "a 2,000-byte XOAUTH2 token typed at the prompt reaches the server whole" {
	token_server 2000
	tty_answer
	assert_token_accepted
}

@test "a 15,000-byte XOAUTH2 token typed at the prompt reaches the server whole" {
	token_server 15000
	tty_answer
	assert_token_accepted
}

@test "a 20,000-byte token typed at the prompt: exit 78, says it is too long, nothing sent" {
	token_server 20000
	tty_answer
	assert_equal "$status" 78
	assert_error_line "the password typed for $FAKE_USER at localhost is longer than 16384 bytes"
	refute_client_sent '.'
}

@test "Control-C at the prompt ends postbote like SIGINT and leaves the terminal echoing" {
	start_nopass
	# the shell in the terminal survives the ^C (trapped, so postbote gets the default action)
	tty_start "trap : INT; '$POSTBOTE' -C '$CONF' bob@example.org <'$MSG'; echo exit=\$?; stty -a |
		 tr ' ;' '\n\n' | grep -x -e echo -e icanon | sort | tr '\n' ' '; echo; sleep 60"
	tmux -S "$TMUX_SOCK" send-keys "half a password" C-c
	tty_wait_for 'icanon' || fail "postbote did not end: $(cat "$TTY_OUT")"
	grep -q 'exit=130$' "$TTY_OUT" || fail "not ended by SIGINT: $(cat "$TTY_OUT")"
	grep -q '^echo icanon *$' "$TTY_OUT" || fail "echo or icanon not restored: $(cat "$TTY_OUT")"
	refute_client_sent '.'
}

@test "the erase key edits the answer at the prompt" {
	start_nopass
	tty_start "'$POSTBOTE' -C '$CONF' bob@example.org <'$MSG'; echo exit=\$?; sleep 60"
	tmux -S "$TMUX_SOCK" send-keys "${FAKE_PASS}xy" BSpace BSpace Enter
	tty_wait_for '^exit=' || fail "postbote did not end: $(cat "$TTY_OUT")"
	grep -q '^exit=0$' "$TTY_OUT" || fail "postbote did not succeed: $(cat "$TTY_OUT")"
	assert_equal "$(plain_password)" "$FAKE_PASS"
}
