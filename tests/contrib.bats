#!/usr/bin/env bats
# contrib/: the example configurations (each accepted as it is, and delivering through the fake
# server once its host and port point there), the logrotate file (rotation while postbote
# keeps logging), and the bash and zsh completion (driven as the shells drive them).

load lib/common

CONTRIB=$REPO_DIR/contrib

setup_file() { common_setup_file; }
setup() {
	common_setup
	# shellcheck source=contrib/completion/postbote.bash
	source "$CONTRIB/completion/postbote.bash"
}
teardown() { common_teardown; }

# example NAME: contrib/examples/NAME.conf copied to $EX (mode 600), as a user installs it
example() {
	EX=$BATS_TEST_TMPDIR/$1.conf
	cp "$CONTRIB/examples/$1.conf" "$EX"
	chmod 600 "$EX"
}

# point_at_fake: $EX's host and port at the running fake server, its trust file the test CA
point_at_fake() {
	sed -i -e "s|^host = .*|host = localhost\nport = $FAKE_PORT\ntls_trust_file = $CA_DIR/ca.pem|" \
		-e '/^port = /d' -e '/^#.*tls_trust_file/d' \
		-e "s|^queue = on|queue = on\nqueue_dir = $BATS_TEST_TMPDIR/queue|" "$EX"
}

# ---- example configurations --------------------------------------------------------------

@test "each example is accepted as it is and says which account and server it uses" {
	local name want
	for name in provider-465-app-password lan-relay-no-auth local-user-own-account; do
		example "$name"
		case $name in
		provider-*) want="account provider (default_account in [defaults]): smtp.example.com port 465, tls implicit, from <alerts@example.com>" ;;
		lan-*) want="account relay (default_account in [defaults]): relay.example.org port 25, tls starttls, from <$(id -un)@example.org>" ;;
		local-*) want="account mine (default_account in [defaults]): mail.example.net port 587, tls starttls, from <jo@example.net>" ;;
		esac
		run --separate-stderr pb -C "$EX" -bv someone@example.org
		assert_sent
		assert_line "$want"
		assert_line "someone@example.org -> <someone@example.org>"
	done
}

@test "no example writes a password into the file: each one that logs in uses passwordeval" {
	local f
	for f in "$CONTRIB"/examples/*.conf; do
		run grep -E '^[[:space:]]*password[[:space:]]*=' "$f"
		assert_failure
		if grep -qE '^user[[:space:]]*=' "$f"; then
			grep -qE '^passwordeval[[:space:]]*=' "$f" || fail "$f has a user and no passwordeval"
		fi
	done
}

@test "the LAN relay example delivers through a STARTTLS server without AUTH" {
	fake_start --tls starttls
	example lan-relay-no-auth
	point_at_fake
	std_message >"$MSG"
	std_message | crlf >"$WANT"
	run --separate-stderr pb -C "$EX" bob@example.org <"$MSG"
	assert_sent
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
	local j=$FAKE_OUT/msg-1.json
	assert_equal "$(json_get "$j" mail_from)" "$(id -un)@example.org"
	assert_equal "$(json_get "$j" tls)" true
	assert_equal "$(json_get "$j" auth_user)" null
}

@test "the provider example logs in over implicit TLS with the password that passwordeval prints" {
	fake_start --tls implicit --auth "alerts@example.com:$FAKE_PASS"
	example provider-465-app-password
	point_at_fake
	local pass=$BATS_TEST_TMPDIR/pass
	printf '%s\n' "$FAKE_PASS" >"$pass"
	sed -i "s|^passwordeval = .*|passwordeval = cat $pass|" "$EX"
	std_message >"$MSG"
	std_message | crlf >"$WANT"
	run --separate-stderr pb -C "$EX" bob@example.org <"$MSG"
	assert_sent
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
	local j=$FAKE_OUT/msg-1.json
	assert_equal "$(json_get "$j" mail_from)" alerts@example.com
	assert_equal "$(json_get "$j" auth_user)" alerts@example.com
	assert_equal "$(json_get "$j" tls)" true
}

# ---- logrotate ---------------------------------------------------------------------------

@test "logrotate's create rotation: the next line goes into the new file, 0600 and root's" {
	command -v logrotate >/dev/null || fail "logrotate is missing (.ci/packages, [packaging])"
	[ "$(id -u)" = 0 ] || skip "create 0600 root root needs root"
	local dir=$BATS_TEST_TMPDIR/log
	mkdir -m 755 "$dir"
	local log=$dir/postbote.log conf=$dir/logrotate.conf
	sed "s|/var/log/postbote.log|$log|" "$CONTRIB/logrotate/postbote" >"$conf"
	fake_start
	fake_config --no-auth "logfile = $log"
	std_message >"$MSG"
	send bob@example.org
	assert_sent
	logrotate -f -s "$dir/state" "$conf"
	assert_file_exist "$log.1"
	run grep -c 'bob@example.org' "$log.1"
	assert_output 1
	assert_equal "$(stat -c '%a %U' "$log")" "600 root"
	[ ! -s "$log" ] || fail "the new log is not empty: $(cat "$log")"
	send carol@example.org
	assert_sent
	run grep -c . "$log"
	assert_output 1
	run grep -c 'carol@example.org' "$log"
	assert_output 1
	run grep -c 'carol@example.org' "$log.1"
	assert_output 0
}

# ---- bash completion ---------------------------------------------------------------------

# complete_words WORD...: what bash would offer for the last WORD, one a line, sorted
complete_words() {
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMPREPLY=()
	_postbote
	[ ${#COMPREPLY[@]} -eq 0 ] || printf '%s\n' "${COMPREPLY[@]}" | sort
}

@test "bash: the options are those of postbote --help" {
	run complete_words "$POSTBOTE" --queue-
	assert_output "--queue-delete
--queue-hold
--queue-release"
	run complete_words "$POSTBOTE" -
	local o
	for o in -C --config -a --account -f -r -F -i -oi -t --read-envelope-from -N -R -V -B -v \
		--verbose -q -qI -bp -bv -bi -bs -O -P --pretend --json --failed --oauth2-authorize \
		--import-msmtprc --configure --preset --serverinfo --version --help; do
		assert_line -- "$o"
	done
	# the options accepted and ignored for compatibility are not offered (-O is: smtputf8)
	refute_line -- -X
	refute_line -- -G
	assert_equal "$(complete -p postbote)" "complete -F _postbote postbote"
}

@test "bash: -a offers the accounts of the file -C names, or of the user's file, never [defaults]" {
	write_config "$BATS_TEST_TMPDIR/c.conf" <<-'EOF'
	[defaults]
	default_account = work
	[work]
	host = a.example
	  [home] ; indented
	host = b.example
	EOF
	run complete_words "$POSTBOTE" -C "$BATS_TEST_TMPDIR/c.conf" -a ''
	assert_line work
	assert_line home
	refute_line defaults
	run complete_words "$POSTBOTE" -C "$BATS_TEST_TMPDIR/c.conf" --account h
	assert_output home
	mkdir -p "$XDG_CONFIG_HOME/postbote"
	printf '[mine]\nhost = c.example\n' | write_config "$XDG_CONFIG_HOME/postbote/config"
	run complete_words "$POSTBOTE" -a m
	assert_output mine
}

@test "bash: --queue-* and -qI offer the ids that postbote -bp lists" {
	fake_start
	local down
	down=$(free_port)
	fake_config --no-auth "queue = on" "port = $down"
	std_message >"$MSG"
	local ids=() i
	for i in 1 2; do
		send bob@example.org
		[[ $stderr =~ queued\ as\ ([0-9]{14}\.[0-9a-f]{10}) ]] || fail "not queued: $stderr"
		ids+=("${BASH_REMATCH[1]}")
	done
	local want
	want=$(printf '%s\n' "${ids[@]}" | sort)
	run complete_words "$POSTBOTE" -C "$CONF" --queue-hold ''
	assert_output "$want"
	run complete_words "$POSTBOTE" -C "$CONF" -qI "${ids[0]:0:16}"
	assert_output --partial "${ids[0]}"
	run complete_words "$POSTBOTE" -C "$CONF" "-qI${ids[1]}"
	assert_output "-qI${ids[1]}"
	# without -C the user's (empty) queue: nothing
	run complete_words "$POSTBOTE" --queue-delete ''
	assert_output ""
}

@test "bash: the values of -N, -R and -B" {
	run complete_words "$POSTBOTE" -N success,f
	assert_output success,failure
	run complete_words "$POSTBOTE" -N n
	assert_output never
	run complete_words "$POSTBOTE" -R ''
	assert_output "full
hdrs"
	run complete_words "$POSTBOTE" -B 8
	assert_output 8BITMIME
	run complete_words "$POSTBOTE" -f ''
	assert_output ""
}

# ---- zsh completion ----------------------------------------------------------------------

@test "zsh: _postbote parses, and knows every option of postbote --help" {
	command -v zsh >/dev/null || fail "zsh is missing (.ci/packages, [packaging])"
	run zsh -n "$CONTRIB/completion/_postbote"
	assert_success
	local help zsh_opts
	help=$(_postbote_options "$POSTBOTE" | sort -u)
	zsh_opts=$(sed -n "/_arguments/,/^}/p" "$CONTRIB/completion/_postbote" |
		grep -oE "(^|[{,'\)])--?[A-Za-z][A-Za-z0-9-]*" | sed -e "s/^[{,')]//" -e 's/-$//' | sort -u)
	assert_equal "$zsh_opts" "$help"
}

# zcomplete LINE: what zsh's completion system offers for LINE (tests/lib/zcomplete.zsh), with
# $POSTBOTE's directory first in PATH, so that "postbote" on LINE is the binary under test
zcomplete() {
	PATH=${POSTBOTE%/*}:$PATH timeout 20 zsh -f "$TESTS_LIB_DIR/zcomplete.zsh" \
		"$CONTRIB/completion" "$1"
}

@test "zsh: options, accounts, queue ids and -N values, as compinit offers them" {
	command -v zsh >/dev/null || fail "zsh is missing (.ci/packages, [packaging])"
	[ "${POSTBOTE##*/}" = postbote ] || skip "the binary is not named postbote"
	run zcomplete "postbote --queue-"
	assert_output "--queue-delete
--queue-hold
--queue-release"
	run zcomplete "postbote -b"
	assert_output "-bi
-bp
-bs
-bv"
	run zcomplete "postbote -N "
	assert_output "delay
failure
never
success"
	run zcomplete "postbote -N success,"
	assert_output "delay
failure"
	run zcomplete "postbote -R "
	assert_output "full
hdrs"

	fake_start
	local down
	down=$(free_port)
	fake_config --no-auth "queue = on" "port = $down"
	printf '[other]\nhost = b.example\n' >>"$CONF"
	run zcomplete "postbote -C $CONF -a "
	assert_output "fake
other"
	std_message >"$MSG"
	send bob@example.org
	[[ $stderr =~ queued\ as\ ([0-9]{14}\.[0-9a-f]{10}) ]] || fail "not queued: $stderr"
	local qid=${BASH_REMATCH[1]}
	run zcomplete "postbote -C $CONF --queue-hold="
	assert_output "$qid"
}
