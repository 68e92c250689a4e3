#!/usr/bin/env bats
# Where the password comes from when the configuration holds none: ~/.netrc, then a prompt on
# the terminal; and --serverinfo, which shows a server without sending it anything secret.

bats_require_minimum_version 1.5.0

load lib/common

setup_file() { common_setup_file; }
setup() { common_setup; std_message >"$MSG"; }
teardown() {
	[ -z "${TMUX_SOCK:-}" ] || tmux -S "$TMUX_SOCK" kill-server 2>/dev/null || true
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
	TMUX_SOCK=$BATS_TEST_TMPDIR/tmux.sock
	local out=$BATS_TEST_TMPDIR/tty.out i
	# a real terminal: postbote reads the message from a file and the password from /dev/tty
	tmux -S "$TMUX_SOCK" new-session -d -x 200 -y 20 \
		"'$POSTBOTE' -C '$CONF' bob@example.org <'$MSG'; echo exit=\$?; sleep 30"
	for ((i = 0; i < 200; i++)); do
		tmux -S "$TMUX_SOCK" capture-pane -p >"$out"
		grep -q "password for $FAKE_USER at localhost:" "$out" && break
		sleep 0.05
	done
	grep -q "password for $FAKE_USER at localhost:" "$out" || fail "no prompt: $(cat "$out")"
	tmux -S "$TMUX_SOCK" send-keys "$FAKE_PASS" Enter
	for ((i = 0; i < 300; i++)); do
		tmux -S "$TMUX_SOCK" capture-pane -p >"$out"
		grep -q '^exit=' "$out" && break
		sleep 0.05
	done
	grep -q '^exit=0$' "$out" || fail "postbote did not succeed: $(cat "$out")"
	! grep -qF "$FAKE_PASS" "$out" || fail "the password was echoed: $(cat "$out")"
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
