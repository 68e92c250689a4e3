#!/usr/bin/env bats
# Golden tests: real-world messages as their callers really send them (cron, cronie, logwatch,
# unattended-upgrades, mutt, bsd-mailx, s-nail, git, PHP, scripts), each run with its caller's
# exact arguments against the fake server, and compared with the exact bytes expected on the
# wire and the expected envelope. One directory per case under tests/golden/:
#
#   NOTES          where the input comes from and why the expected output is what it is
#   input          the message as the caller writes it (bytes exact: LF, CRLF, 8-bit...)
#   args           postbote's arguments, one per line (-C is added)
#   config         lines added to the account (optional); @CASEDIR@ is the case's directory
#   server         fakesmtp.py options, one per line (optional)
#   status         the expected exit status (optional; default 0)
#   stderr.ere     an extended regular expression that stderr, one line, matches (optional;
#                  without it stderr must be empty)
#   wire           the exact DATA bytes expected (without it nothing may arrive), with the
#                  values of added Date: and Message-ID: fields as placeholders (check.py)
#   envelope.json  the expected mail_from, rcpt_tos, mail_options and rcpt_options
#
# The expected files were written from the contract (issue 3), not copied from postbote's
# output; see each NOTES.

load lib/common

GOLDEN=$BATS_TEST_DIRNAME/golden

setup_file() { common_setup_file; }
setup() { common_setup; }
teardown() { common_teardown; }

# golden_config CASEDIR: an account for the running fake server (no TLS, no AUTH) with the
# case's config lines; a case line replaces the default of the same key.
golden_config() {
	local dir=$1 line k
	local -a keys=(host port tls from timeout queue queue_dir)
	local -A val=([host]=localhost [port]=$FAKE_PORT [tls]=off [from]=$FAKE_FROM [timeout]=10
		[queue]=off [queue_dir]=$BATS_TEST_TMPDIR/queue)
	if [ -f "$dir/config" ]; then
		while IFS= read -r line; do
			line=${line//@CASEDIR@/$dir}
			k=${line%%=*} k=${k%"${k##*[! ]}"}
			[ -n "${val[$k]+x}" ] || keys+=("$k")
			val[$k]=${line#*= }
		done <"$dir/config"
	fi
	CONF=$BATS_TEST_TMPDIR/postbote.conf
	{
		printf '[defaults]\ndefault_account = golden\n\n[golden]\n'
		for k in "${keys[@]}"; do
			printf '%s = %s\n' "$k" "${val[$k]}"
		done
	} | write_config "$CONF"
}

# golden NAME: runs the case and checks status, stderr, the message and the envelope.
golden() {
	local dir=$GOLDEN/$1 want_status=0 ere
	local -a args=() server=()
	[ -d "$dir" ] || fail "no golden case $dir"
	[ -f "$dir/server" ] && mapfile -t server <"$dir/server"
	mapfile -t args <"$dir/args"
	[ -f "$dir/status" ] && want_status=$(<"$dir/status")
	fake_start "${server[@]}"
	golden_config "$dir"
	run --separate-stderr pb -C "$CONF" "${args[@]}" <"$dir/input"
	if [ "$status" -ne "$want_status" ]; then
		fail "postbote exited $status, expected $want_status; stderr: $stderr"
	fi
	if [ -f "$dir/stderr.ere" ]; then
		ere=$(<"$dir/stderr.ere")
		[[ $stderr != *$'\n'* && $stderr =~ $ere ]] ||
			fail "stderr is not one line matching /$ere/: $stderr"
	else
		[ -z "$stderr" ] || fail "unexpected stderr: $stderr"
	fi
	if [ -f "$dir/wire" ]; then
		run "$PYTHON" "$GOLDEN/check.py" "$dir" "$FAKE_OUT"
		[ "$status" -eq 0 ] || fail "$output"
	else
		assert_file_not_exist "$FAKE_OUT/msg-1.eml"
	fi
}

@test "golden: Debian cron (-FCronDaemon -i -B8BITMIME -oem root), maildomain, aliases" {
	golden cron-debian
}

@test "golden: Debian cron with set_from_header = on keeps the name: From: Cron Daemon <...>" {
	golden cron-debian-set-from-on
}

@test "golden: cronie (-FCronDaemon -i -odi -oem -oi -t -f root), From: \"(Cron Daemon)\" <root>" {
	golden cronie
}

@test "golden: logwatch (-t), From: Logwatch qualified, blanks at line ends kept" {
	golden logwatch
}

@test "golden: unattended-upgrades (-oi -t), Python email, quoted-printable" {
	golden unattended-upgrades
}

@test "golden: mutt (-oem -oi -- rcpts) with Bcc:, 8-bit body and a lone dot" {
	golden mutt
}

@test "golden: bsd-mailx (-i -t) with Bcc: and a raw UTF-8 Subject" {
	golden bsd-mailx
}

@test "golden: s-nail (-i -F -f -- rcpts), a complete message passes unchanged" {
	golden s-nail
}

@test "golden: git format-patch output, starting with its 'From <sha>' line" {
	golden git-format-patch
}

@test "golden: git send-email (-i -f addr rcpts), Message-Id and a folded Cc:" {
	golden git-send-email
}

@test "golden: PHP mail() (-t -i -f), CRLF headers and a bare-LF body" {
	golden php-mail
}

@test "golden: multipart message with a base64 attachment (-t -oi)" {
	golden multipart-attachment
}

@test "golden: a message resent twice: -t takes the newest Resent- block only" {
	golden resent
}

@test "golden: a 2,000-byte header line is folded, a 3,000-byte body line split, one warning" {
	golden long-lines
}

@test "golden: a UTF-8 display name in To: and from_full_name as an encoded word" {
	golden utf8-display-name
}

@test "golden: every case directory has a test in this file" {
	local d name
	for d in "$GOLDEN"/*/; do
		name=$(basename "$d")
		grep -q "^	golden $name\$" "$BATS_TEST_FILENAME" || fail "no test runs golden case $name"
		[ -f "$d/NOTES" ] && [ -f "$d/input" ] && [ -f "$d/args" ] ||
			fail "golden case $name lacks NOTES, input or args"
	done
}
