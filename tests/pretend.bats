#!/usr/bin/env bats
# -P / --pretend: the effective configuration of the account a submission would use, each key
# with where it was set, the built-in defaults after them, secrets hidden; nothing is sent.

load lib/common

setup() {
	common_setup
	CONF=$BATS_TEST_TMPDIR/config
	write_config "$CONF" <<'EOF2'
[defaults]
maildomain = example.org
timeout = 20

[work]
host = smtp1.example.org, smtp2.example.org
port = 465
tls = implicit
user = alice
password = Sup3r:secret;#x
from = alice@example.org
rate_limit = 100/day
queue_retry_max = 2h

[default]
host = relay.example.org
tls = off
EOF2
}

@test "-P prints the account chosen by -f, each key with its origin, the defaults after, the password hidden" {
	run --separate-stderr pb -C "$CONF" -P -f alice@example.org
	assert_success
	assert_equal "$stderr" ""
	refute_output --partial "Sup3r"
	assert_line --index 0 "# account work (its from is the sender given with -f), in $CONF"
	assert_line --index 1 "[work]"
	run sed -n '3,$p' <<<"$output"
	assert_output --partial "# $CONF:6
host = smtp1.example.org, smtp2.example.org
# $CONF:7
port = 465
# $CONF:8
tls = implicit"
	assert_output --partial "# $CONF:10
password = (hidden)"
	assert_output --partial "# $CONF:3
timeout = 20"
	assert_output --partial "# $CONF:2
maildomain = example.org"
	assert_output --partial "rate_limit = 100/day"
	assert_output --partial "queue_retry_max = 2h"
	# the defaults come after their heading, without origins
	run sed -n '/^# built-in defaults$/,$p' <<<"$output"
	assert_line "tls_trust_file = system"
	assert_line "queue_retry_min = 1m"
	assert_line "queue_lifetime = 5d"
	refute_line --regexp '^# '"$CONF"
}

@test "-P without -a or -f shows the default account; -a picks another; an unknown one is refused" {
	run --separate-stderr pb -C "$CONF" -P
	assert_success
	assert_line --index 0 "# account default (the account named default), in $CONF"
	assert_line "host = relay.example.org"
	assert_line "tls = off"
	run --separate-stderr pb -C "$CONF" --pretend -a work
	assert_success
	assert_line "port = 465"
	run --separate-stderr pb -C "$CONF" -P -a nosuch
	assert_equal "$status" 78
	assert_error_line "nosuch"
}

@test "what -P prints reads back as the same configuration" {
	run --separate-stderr pb -C "$CONF" -P -a work
	assert_success
	grep -v '^password = ' <<<"$output" >"$BATS_TEST_TMPDIR/again"
	chmod 600 "$BATS_TEST_TMPDIR/again"
	run --separate-stderr pb -C "$BATS_TEST_TMPDIR/again" -P -a work
	assert_success
	diff <(grep -v '^#' <<<"$output" | grep -v '^password' | sort) \
		<(grep -v '^#' "$BATS_TEST_TMPDIR/again" | sort)
}
