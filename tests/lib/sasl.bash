# SASL and TLS helpers shared by tests/auth.bats, tls.bats, sasl.bats, tls_policy.bats and
# postfix.bats: tests/saslsmtp.py in place of the fake server, what must never leave the client
# after a failure, and the Postfix side (the pf_ helpers need lib/postfix). Load after
# lib/common.
#
#   sasl_setup_file NAME [CMD...]
#                               common_setup_file; where Postfix can run, a private instance for
#                               the file (postfix_setup_file NAME), then CMD; PF_READY=1 when
#                               all of that worked (need_postfix skips otherwise)
#   sasl_setup                  common_setup; CONF (fake_config and pf_conf write it), $MSG and
#                               its CRLF form in $WANT
#   sasl_server ARGS...         tests/saslsmtp.py in place of fakesmtp.py (same options where
#                               they overlap); skips without pyOpenSSL
#   auth_with MECHS [LINE...]   the fake server offers only MECHS over STARTTLS; an account with
#                               LINEs; one message sent (send)
#   refute_sent_anything [tls]  nothing after the failure point: no AUTH, MAIL, RCPT or DATA, the
#                               test user's AUTH PLAIN blob in no line, no message; with "tls",
#                               not a single line over TLS either
#   need_postfix                skip without the file's Postfix (PF_READY); empties the maildir
#   pf_send [ARGS...]           postbote against Postfix with $CONF and $MSG on stdin
#                               (default recipient bob@example.org), at most 60 s
#   pf_session SERVICE OFFSET   the log of the first session of postfix/SERVICE/smtpd after
#                               OFFSET, once that session has ended
#   assert_delivered_intact     one message in the maildir, equal to $MSG apart from the
#                               headers delivery adds
#   pf_deliver LISTENER [key=value...]
#                               $MSG through LISTENER (pf_conf with the pairs): exit 0, nothing
#                               on stderr, delivered intact; then `run pf_session LISTENER`
#   pf_auth_with MECH           pf_deliver with auth = MECH; Dovecot accepted MECH for $PF_USER

SASLSMTP=$TESTS_DIR/saslsmtp.py

sasl_setup_file() {
	local name=$1
	shift
	common_setup_file
	export PF_READY=
	if postfix_can_run && postfix_setup_file "$name"; then
		if [ $# -eq 0 ] || "$@" 3>&-; then
			PF_READY=1
		fi
	fi
}

sasl_setup() {
	common_setup
	CONF=$BATS_TEST_TMPDIR/postbote.conf
	std_message >"$MSG"
	std_message | crlf >"$WANT"
}

sasl_server() {
	"$PYTHON" -c 'import OpenSSL' 2>/dev/null || skip "saslsmtp.py needs pyOpenSSL (python3-openssl)"
	FAKESMTP=$SASLSMTP fake_start "$@"
}

auth_with() {
	local mechs=$1
	shift
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS" --auth-mechs "$mechs"
	fake_config "$@"
	send
}

refute_sent_anything() {
	local blob sent
	refute_client_sent '^(AUTH|MAIL|RCPT|DATA)' || return 1
	blob=$(printf '\0%s\0%s' "$FAKE_USER" "$FAKE_PASS" | base64 -w0)
	# shellcheck disable=SC2119
	if client_lines | grep -qF -- "$blob"; then
		fail "the client sent the credentials (AUTH PLAIN blob $blob)"
		return 1
	fi
	if [ "${1:-}" = tls ]; then
		sent=$(client_lines tls)
		[ -z "$sent" ] || { fail "the client sent over TLS: $sent"; return 1; }
	fi
	assert_file_not_exist "$FAKE_OUT/msg-1.eml"
}

need_postfix() {
	[ -n "${PF_READY:-}" ] || skip "needs root, postfix and dovecot-core (tests/lib/postfix.bash)"
	maildir_clear
}

pf_send() {
	[ $# -gt 0 ] || set -- bob@example.org
	run --separate-stderr timeout 60 "$POSTBOTE" -C "$CONF" "$@" <"$MSG"
}

pf_session() {
	pf_log_wait "$2" "postfix/$1/smtpd\[[0-9]+\]: disconnect from" || return 1
	pf_log_since "$2" | grep -E "postfix/$1/smtpd\[[0-9]+\]:" | sed -n '0,/disconnect from/p'
}

assert_delivered_intact() {
	maildir_wait 1
	run diff <(maildir_body 1) "$MSG"
	assert_success
}

pf_deliver() {
	local listener=$1 off
	shift
	pf_conf "$CONF" "$listener" "$@"
	off=$(pf_log_size)
	pf_send
	assert_sent
	assert_delivered_intact
	run pf_session "$listener" "$off"
}

pf_auth_with() {
	pf_deliver submission "auth=$1"
	assert_output --partial "sasl_method=$1, sasl_username=$PF_USER"
}
