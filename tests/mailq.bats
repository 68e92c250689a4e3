#!/usr/bin/env bats
# mailq as monitors and scripts read it: Debian's check_mailq -M postfix (monitoring-plugins)
# against postbote installed where the plugin looks for mailq; mailq --json parsed line by line;
# the '*' of a message a queue run is sending. The layout itself: tests/queue_admin.bats and
# tests/unit/test_mailq.c.

load lib/common
load lib/queue

setup_file() { common_setup_file; }
setup() { queue_setup; }
teardown() {
	[ -n "${RUN_PID:-}" ] && { kill -TERM "$RUN_PID" 2>/dev/null; wait "$RUN_PID" 2>/dev/null; }
	queue_teardown
}

CHECK_MAILQ=/usr/lib/nagios/plugins/check_mailq

# check_mailq ARGS...: the plugin as Nagios runs it, with postbote as the mailq it runs: the
# plugin runs the program its utils.pm names (PATH_TO_MAILQ, /usr/bin/mailq on Debian) and
# nothing from PATH, so postbote is bind-mounted over that file in a mount namespace of its own
# (that file, usually Postfix's link to its sendmail, is untouched outside it). postbote reads
# $POSTBOTE_CONFIG, which the plugin passes on.
check_mailq() {
	[ -x "$CHECK_MAILQ" ] || skip "no $CHECK_MAILQ (install monitoring-plugins-standard)"
	unshare --mount true 2>/dev/null || skip "unshare --mount needs root (CAP_SYS_ADMIN)"
	local path
	path=$(perl -I"${CHECK_MAILQ%/*}" -Mutils -e 'print $utils::PATH_TO_MAILQ')
	[ -n "$path" ] || fail "utils.pm names no PATH_TO_MAILQ"
	[ -e "$path" ] || skip "no $path to bind postbote over (postfix installs it)"
	POSTBOTE_CONFIG=$CONF unshare --mount -- /bin/sh -c '
		mount --bind "$1" "$2" || exit 99
		shift 2
		exec timeout -k 5 60 "$@"' sh "$POSTBOTE" "$path" "$CHECK_MAILQ" "$@"
}

@test "check_mailq -M postfix reads postbote's mailq: empty, OK, WARNING, CRITICAL; held ones count, given-up ones do not" {
	q_start --reply-rcpt 'gone@example.org=550 5.1.1 gone'
	run check_mailq -M postfix -w 2 -c 3
	assert_equal "$status" 0
	assert_output "OK: postfix mailq reports queue is empty|unsent=0;2;3;0"
	queue_tagged one
	run check_mailq -M postfix -w 2 -c 3
	assert_equal "$status" 0
	assert_output "OK: postfix mailq (1) is below threshold (2/3)|unsent=1;2;3;0"
	queue_tagged two
	run check_mailq -M postfix -w 2 -c 3
	assert_equal "$status" 1
	assert_output "WARNING: postfix mailq is 2 (threshold w = 2)|unsent=2;2;3;0"
	# a held message still waits; one given up does not
	queue_tagged three
	run -0 pb -C "$CONF" --queue-hold "$(q_ids q | head -n 1)"
	run --separate-stderr pb -C "$CONF" bob@example.org gone@example.org <"$MSG"
	assert_equal "$status" 67
	assert_equal "$(q_count failed)" 1
	run check_mailq -M postfix -w 2 -c 3
	assert_equal "$status" 2
	assert_output "CRITICAL: postfix mailq is 3 (threshold c = 3)|unsent=3;2;3;0"
	# the plugin really ran postbote: the same count as our own listing's last line
	run --separate-stderr pb -C "$CONF" -bp
	assert_equal "${lines[-1]}" "-- 0 Kbytes in 3 Requests."
}

# json_check FILE: each line of FILE parsed as JSON on its own; prints, per line,
# "queue_name queue_id arrival_time message_size attempts next_try sender" and then
# "  address delay_reason" for each recipient (tab-separated; Python's ascii() for the strings,
# so any character shows as an escape)
json_check() {
	"$PYTHON" - "$1" <<'EOF'
import json, sys
keys = ["queue_name", "queue_id", "arrival_time", "message_size", "sender", "recipients",
        "attempts", "next_try"]
for n, line in enumerate(open(sys.argv[1], "rb").read().split(b"\n")[:-1]):
    o = json.loads(line)
    if list(o)[:len(keys)] != keys or set(o) - set(keys) - {"error"}:
        sys.exit("line %d: keys %r" % (n, list(o)))
    for k in ("arrival_time", "message_size", "attempts", "next_try"):
        if type(o[k]) is not int:
            sys.exit("line %d: %s is not an integer" % (n, k))
    print("\t".join([o["queue_name"], o["queue_id"], str(o["arrival_time"]), str(o["message_size"]),
                     str(o["attempts"]), str(o["next_try"]), ascii(o["sender"])]))
    for r in o["recipients"]:
        if set(r) - {"address", "delay_reason"}:
            sys.exit("line %d: recipient keys %r" % (n, list(r)))
        print("\t".join(["", ascii(r["address"]), ascii(r.get("delay_reason"))]))
EOF
}

@test "mailq --json and -bp --json: one object per message and line, postqueue -j's names plus attempts and next_try, any byte escaped" {
	q_start
	local port
	port=$(sed -n 's/^port = //p' "$DOWN")
	queue_down
	local first=$QID
	# a sender that is not UTF-8 and a recipient with a quote and a backslash
	run --separate-stderr pb -C "$DOWN" -f $'\xffodd\xc3\xa4@example.org' -- '"a\"b\\c"@example.org' <"$MSG"
	[[ $stderr =~ $QUEUED_RE ]] || fail "not queued: $stderr"
	local second=${BASH_REMATCH[1]}
	run -0 pb -C "$CONF" --queue-hold "$second"
	pb -C "$CONF" -bp --json >"$BATS_TEST_TMPDIR/bp.json"
	ln -s "$POSTBOTE" "$BATS_TEST_TMPDIR/mailq"
	timeout 30 "$BATS_TEST_TMPDIR/mailq" -C "$CONF" --json >"$BATS_TEST_TMPDIR/mailq.json"
	assert_same_bytes "$BATS_TEST_TMPDIR/bp.json" "$BATS_TEST_TMPDIR/mailq.json"
	run json_check "$BATS_TEST_TMPDIR/bp.json"
	assert_success
	local why="cannot connect to localhost port $port: Connection refused" T=$'\t'
	assert_equal "${#lines[@]}" 4
	assert_line --index 0 "deferred${T}$first${T}$(sed -n 's/^created: //p' "$QDIR/q/$first")${T}$(wc -c <"$WANT")${T}1${T}$(state_get "$first" next)${T}'$FAKE_FROM'"
	assert_line --index 1 "${T}'bob@example.org'${T}'$why'"
	assert_line --index 2 "hold${T}$second${T}$(sed -n 's/^created: //p' "$QDIR/hold/$second")${T}$(wc -c <"$WANT")${T}1${T}0${T}'\\ufffdodd\\xe4@example.org'"
	assert_line --index 3 "${T}'\"a\\\\\"b\\\\\\\\c\"@example.org'${T}'$why'"
	# an empty queue: no line at all
	run -0 pb -C "$CONF" --queue-delete "$first"
	run -0 pb -C "$CONF" --queue-delete "$second"
	run --separate-stderr pb -C "$CONF" -bp --json
	assert_sent
	assert_output ""
	# only with -bp
	run --separate-stderr pb -C "$CONF" --json bob@example.org <"$MSG"
	assert_equal "$status" 64
	assert_error_line "--json and --failed go with -bp (mailq)"
}

@test "a message a queue run is sending right now is marked '*' (active); the listing takes no lock" {
	q_start --delay EOM=5
	queue_down
	wait_due "$QID"
	timeout -k 5 30 "$POSTBOTE" -C "$CONF" "-qI$QID" </dev/null >"$BATS_TEST_TMPDIR/run.out" 2>&1 3>&- &
	RUN_PID=$!
	local i seen=
	for ((i = 0; i < 100; i++)); do
		run --separate-stderr pb -C "$CONF" -bp
		if [[ ${lines[1]:-} == "$QID* "* ]]; then
			seen=1
			break
		fi
		sleep 0.05
	done
	[ -n "$seen" ] || fail "no '*' while the queue run sent $QID: $output"
	run --separate-stderr pb -C "$CONF" -bp --json
	assert_output --partial "{\"queue_name\": \"active\", \"queue_id\": \"$QID\""
	wait "$RUN_PID"
	assert_equal "$?" 0
	RUN_PID=
	# listing did not make the run pass the message by
	assert_delivered_once
	run --separate-stderr pb -C "$CONF" -bp
	assert_output "Mail queue is empty"
}
