#!/usr/bin/env bats
# Containers: the account made of POSTBOTE_ variables when no configuration file exists, and
# password_file (a Docker or Kubernetes secret), against the fake server (STARTTLS, AUTH). The
# ENV block of contrib/container/Dockerfile is run as it is written (no image is built).

load lib/common

setup_file() { common_setup_file; }

setup() {
	common_setup
	# no file anywhere: the build's system file does not exist, nor does the user file
	[ ! -e "$XDG_CONFIG_HOME/postbote/config" ]
	SECRET=$BATS_TEST_TMPDIR/smtp_password
	printf '%s\n' "$FAKE_PASS" >"$SECRET"
	chmod 600 "$SECRET"
	printf 'Subject: from a container\n\nhello\n' >"$MSG"
}

teardown() { common_teardown; }

# env_account: the variables of an account for the running fake server
env_account() {
	export POSTBOTE_HOST=localhost POSTBOTE_PORT=$FAKE_PORT POSTBOTE_TLS=starttls \
		POSTBOTE_TLS_TRUST_FILE=$CA_DIR/ca.pem POSTBOTE_USER=$FAKE_USER \
		POSTBOTE_PASSWORD_FILE=$SECRET POSTBOTE_FROM=app@example.org POSTBOTE_QUEUE=off \
		POSTBOTE_TIMEOUT=10
}

@test "no configuration file: the account of POSTBOTE_ variables sends, with the password from the file" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	env_account
	run --separate-stderr pb ops@example.org <"$MSG"
	assert_sent
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" auth_user)" "$FAKE_USER"
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" mail_from)" app@example.org
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" rcpt_tos)" '["ops@example.org"]'
	run --separate-stderr pb -bv ops@example.org
	assert_line --index 0 "account default (the account named default): localhost port $FAKE_PORT, tls starttls, from <app@example.org>"
}

@test "POSTBOTE_PASSWORD is refused, naming POSTBOTE_PASSWORD_FILE; nothing is sent" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	env_account
	unset POSTBOTE_PASSWORD_FILE
	export POSTBOTE_PASSWORD=$FAKE_PASS
	run --separate-stderr pb ops@example.org <"$MSG"
	[ "$status" -eq 78 ]
	assert_error_line "POSTBOTE_PASSWORD is refused" "set POSTBOTE_PASSWORD_FILE"
	[[ $stderr != *"$FAKE_PASS"* ]] || fail "the password is on stderr"
	[ ! -s "$FAKE_OUT/transcript.log" ] || fail "something was sent"
}

@test "a bad value names its variable; a near miss is suggested; other POSTBOTE_ variables are left alone" {
	export POSTBOTE_HOST=localhost POSTBOTE_PORT=smtp
	run --separate-stderr pb -bv ops@example.org
	[ "$status" -eq 78 ]
	assert_error_line "POSTBOTE_PORT: port must be a number from 1 to 65535, not 'smtp'"
	export POSTBOTE_PORT=2525 POSTBOTE_PROT=25
	run --separate-stderr pb -bv ops@example.org
	[ "$status" -eq 78 ]
	assert_error_line "POSTBOTE_PROT: no such setting; did you mean POSTBOTE_PORT?"
	unset POSTBOTE_PROT
	POSTBOTE_DEFAULT_ACCOUNT=x run --separate-stderr pb -bv ops@example.org
	[ "$status" -eq 78 ]
	assert_error_line "POSTBOTE_DEFAULT_ACCOUNT makes no sense: the environment makes one account, 'default'"
	export POSTBOTE_KEEP=1 POSTBOTE_SOMETHING_ELSE=x
	run --separate-stderr pb -bv ops@example.org
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	assert_line --index 0 --partial ": localhost port 2525, tls starttls, from <"
	export POSTBOTE_FROM=$'a@example.org\tb'
	run --separate-stderr pb -bv ops@example.org
	[ "$status" -eq 78 ]
	assert_error_line "POSTBOTE_FROM holds a control character"
}

@test "a configuration file wins: the variables are not read then" {
	export POSTBOTE_HOST=env.example POSTBOTE_PORT=smtp
	mkdir -p "$XDG_CONFIG_HOME/postbote"
	printf '[default]\nhost = file.example\n' >"$XDG_CONFIG_HOME/postbote/config"
	run --separate-stderr pb -bv ops@example.org
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	assert_line --index 0 --partial ": file.example port 587"
	rm "$XDG_CONFIG_HOME/postbote/config"
	unset POSTBOTE_HOST
	run --separate-stderr pb -bv ops@example.org
	[ "$status" -eq 78 ]
	assert_error_line "no configuration: create" "or set POSTBOTE_HOST"
}

@test "password_file: the first line, CRLF or not; refused when others may read it, empty, or with password" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config --no-auth "user = $FAKE_USER" "password_file = $SECRET"
	printf '%s\r\nsecond line\n' "$FAKE_PASS" >"$SECRET"
	send
	assert_sent
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" auth_user)" "$FAKE_USER"
	chmod 640 "$SECRET"	# a group-readable secret is fine, as for the system file
	send
	assert_sent
	chmod 644 "$SECRET"
	send
	[ "$status" -eq 78 ]
	assert_error_line "password_file $SECRET is readable by everyone; run: chmod 640 $SECRET"
	: >"$SECRET"
	chmod 600 "$SECRET"
	send
	[ "$status" -eq 78 ]
	assert_error_line "password_file $SECRET: the first line is empty"
	rm "$SECRET"
	send
	[ "$status" -eq 78 ]
	assert_error_line "password_file of account 'fake': cannot read $SECRET: No such file or directory"
	fake_config --no-auth "user = $FAKE_USER" "password_file = $SECRET" "password = x"
	send
	[ "$status" -eq 78 ]
	assert_error_line "account 'fake' sets both password_file and password; keep one"
	[ "$(ls "$FAKE_OUT"/msg-*.json | wc -l)" -eq 2 ] || fail "a refused submission was sent"
}

@test "contrib/container/Dockerfile: its ENV block makes an account postbote accepts as written" {
	local envs
	# the ENV instruction, continuation lines joined
	envs=$(sed -n '/^ENV /,/[^\\]$/p' "$REPO_DIR/contrib/container/Dockerfile" |
		sed 's/^ENV //; s/\\$//' | tr -s ' \n' '\n' | grep '^POSTBOTE_')
	[ "$(printf '%s\n' "$envs" | wc -l)" -ge 6 ] || fail "no ENV block found: $envs"
	printf '%s\n' "$envs" | grep -qx 'POSTBOTE_PASSWORD_FILE=/run/secrets/smtp_password'
	if printf '%s\n' "$envs" | grep -q '^POSTBOTE_PASSWORD='; then
		fail "the Dockerfile puts a password into the environment"
	fi
	run --separate-stderr env $envs "$POSTBOTE" -bv ops@example.org
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	assert_line --index 0 "account default (the account named default): smtp.example.org port 465, tls implicit, from <app@example.org>"
}
