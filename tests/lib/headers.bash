# The fake server and one account for tests that look at a single submission: its header
# section and its envelope (tests/headers.bats, recipients.bats, envelope.bats). Plain SMTP
# without AUTH unless a test asks for more. Load after lib/common, whose send and assert_sent
# these tests use.
#
#   start [fakesmtp options] [-- config lines]   the fake server and an account for it ($CONF)
#   envelope KEY [N]    a value of msg-N.json (lists as JSON)
#   assert_rcpts JSON [N]                        the recipients of message N
#   header_block [N]    the header section of msg-N.eml without CRs
#   nothing_sent        no message, and no MAIL, RCPT or DATA on the wire
#   DATE_MSGID          Date: and Message-ID: fields, so postbote adds neither

# start [fakesmtp options] [-- config lines]: the fake server and an account for it.
start() {
	local -a opts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	[ "${1:-}" = -- ] && shift
	fake_start "${opts[@]}"
	fake_config --no-auth "$@"
}

# envelope KEY [N]: a value of msg-N.json (lists as JSON).
envelope() { json_get "$FAKE_OUT/msg-${2:-1}.json" "$1"; }

assert_rcpts() { # JSON list [N]
	assert_equal "$(envelope rcpt_tos "${2:-}")" "$1"
}

# header_block [N]: the header section of msg-N.eml without CRs.
header_block() { sed -n '1,/^\r$/p' "$FAKE_OUT/msg-${1:-1}.eml" | sed '$d' | tr -d '\r'; }

# DATE_MSGID: fields that keep postbote from adding any, for messages compared byte for byte.
# shellcheck disable=SC2034 # used by the .bats files
DATE_MSGID=$'Date: Sat, 01 Jun 2024 12:00:00 +0000\nMessage-ID: <headers-test@example.org>\n'

nothing_sent() {
	assert_file_not_exist "$FAKE_OUT/msg-1.eml"
	refute_client_sent '^(MAIL|RCPT|DATA)'
}
