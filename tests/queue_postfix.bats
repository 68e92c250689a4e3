#!/usr/bin/env bats
# The queue against a real Postfix smarthost (tests/lib/postfix.bash): messages queued while
# Postfix is down go out with `postbote -q` once it is back, each exactly once; Postfix's own
# "452 4.5.3 too many recipients" makes postbote open further transactions.
# Needs root (Postfix's master), postfix, dovecot-core, gnutls-bin; skipped without them.

load lib/common
load lib/postfix
load lib/queue

setup_file() { postfix_setup_file queue-postfix; }

teardown_file() { postfix_teardown_file; }

setup() {
	common_setup
	maildir_clear
	CONF=$BATS_TEST_TMPDIR/config
	QDIR=$BATS_TEST_TMPDIR/queue
}

teardown() {
	# a test that failed while Postfix was paused must not leave it down for the next one
	[ -z "${PF_PAUSED:-}" ] || postfix_resume
}

# pf_queue_conf LISTENER [key=value...]: $CONF for LISTENER with the queue on in $QDIR, retries
# after 1 s. queue_dir is given in [defaults] as well, so that -q and -bp never look at the
# system's queue (see tests/queue_admin.bats, "-bp and -q without -a use the queue_dir set in
# the account").
pf_queue_conf() {
	local l=$1
	shift
	pf_conf "$CONF" "$l" queue=on "queue_dir=$QDIR" queue_retry_min=1s "$@"
	printf '\n[defaults]\nqueue_dir = %s\n' "$QDIR" >>"$CONF"
}

# dotted_message TAG: a message with its own Message-ID and Subject and a line that starts
# with a dot, so that it goes through dot-stuffing on the way in and out of the queue.
dotted_message() {
	printf '%s\n' 'Date: Sat, 01 Jun 2024 12:00:00 +0000' "Message-ID: <$1@example.org>" \
		'From: Alice <alice@example.org>' 'To: Bob <bob@example.org>' "Subject: $1" '' \
		"This is $1." '.a line with a leading dot'
}

@test "Postfix down: 10 submissions are queued (exit 0); once it is back, -q delivers each exactly once" {
	pf_queue_conf submission
	postfix_pause
	PF_PAUSED=1
	# (no loop variable "i" around `run`: Bats 1.8's run overwrites a global i)
	local k
	for ((k = 1; k <= 10; k++)); do
		dotted_message "pfq-$k" >"$MSG"
		run --separate-stderr timeout 60 "$POSTBOTE" -C "$CONF" bob@example.org <"$MSG"
		[ "$status" -eq 0 ] || fail "submission $k exited $status: $stderr"
		[[ $stderr =~ ^postbote:\ queued\ as\ [0-9.a-f]+:\ cannot\ connect\ to\ localhost\ port\ $PF_SUBMISSION:\ Connection\ refused\;\ will\ retry$ ]] ||
			fail "submission $k: unexpected stderr: $stderr"
	done
	[ "$(q_ids | wc -l)" -eq 10 ] || fail "expected 10 queued messages: $(q_ids)"
	[ -z "$(ls -A "$QDIR/tmp")" ] || fail "left in tmp/: $(ls -A "$QDIR/tmp")"
	[ "$(maildir_count)" -eq 0 ]

	postfix_resume
	PF_PAUSED=
	wait_all_due
	local off
	off=$(pf_log_size)
	run --separate-stderr timeout 120 "$POSTBOTE" -C "$CONF" -q
	[ "$status" -eq 0 ] || fail "-q exited $status: $stderr"
	[ -z "$stderr" ] || fail "-q said: $stderr"
	maildir_wait 10 30
	# one session for all ten, and each message exactly once
	pf_log_wait "$off" 'postfix/submission/smtpd\[[0-9]+\]: disconnect from .* mail=10 rcpt=10 bdat=10'
	for ((k = 1; k <= 10; k++)); do
		[ "$(tag_count "pfq-$k" "$PF_MAILDIR"/new/*)" -eq 1 ] || fail "pfq-$k delivered $(tag_count "pfq-$k" "$PF_MAILDIR"/new/*) times"
	done
	[ -z "$(q_ids)" ] || fail "still queued: $(q_ids)"
	# a second run finds nothing, and nothing more arrives
	run --separate-stderr timeout 60 "$POSTBOTE" -C "$CONF" -q
	[ "$status" -eq 0 ] || fail "second -q exited $status: $stderr"
	sleep 1	# anything a second run had sent would be in the maildir by now
	[ "$(maildir_count)" -eq 10 ] || fail "$(maildir_count) messages after a second run"
}

@test "smtpd_recipient_limit = 50: one message to 120 recipients reaches all 120 in three transactions" {
	pf_queue_conf limit50
	dotted_message many >"$MSG"
	local rcpts=() i
	for ((i = 1; i <= 120; i++)); do
		rcpts+=("$(printf 'r%03d@example.org' "$i")")
	done
	local off
	off=$(pf_log_size)
	run --separate-stderr timeout 120 "$POSTBOTE" -C "$CONF" "${rcpts[@]}" <"$MSG"
	[ "$status" -eq 0 ] || fail "exited $status: $stderr"
	[ -z "$stderr" ] || fail "stderr: $stderr"
	maildir_wait 120 60
	local delivered
	delivered=$(grep -h '^Delivered-To: ' "$PF_MAILDIR"/new/* | sort)
	[ "$delivered" = "$(printf 'Delivered-To: %s\n' "${rcpts[@]}" | sort)" ] ||
		fail "recipients delivered differ: $(diff <(echo "$delivered") <(printf 'Delivered-To: %s\n' "${rcpts[@]}" | sort))"
	[ "$(maildir_count)" -eq 120 ]
	# Postfix answers "452 4.5.3 Error: too many recipients" from the 51st RCPT on; postbote
	# sends those again in a further transaction of the same session: 50 + 50 + 20
	pf_log_wait "$off" 'postfix/limit50/smtpd\[[0-9]+\]: disconnect from .* mail=3 rcpt=[0-9/]+ bdat=3 rset=2'
	[ -z "$(q_ids)" ] || fail "something was queued: $(q_ids)"
}

@test "smtpd_recipient_limit = 50 from the queue: 120 recipients queued while Postfix is down all arrive" {
	pf_queue_conf limit50
	dotted_message many-queued >"$MSG"
	local rcpts=() i
	for ((i = 1; i <= 120; i++)); do
		rcpts+=("$(printf 'q%03d@example.org' "$i")")
	done
	postfix_pause
	PF_PAUSED=1
	run --separate-stderr timeout 60 "$POSTBOTE" -C "$CONF" "${rcpts[@]}" <"$MSG"
	[ "$status" -eq 0 ] || fail "exited $status: $stderr"
	[[ $stderr == "postbote: queued as "* ]] || fail "not queued: $stderr"
	postfix_resume
	PF_PAUSED=
	wait_all_due
	run --separate-stderr timeout 120 "$POSTBOTE" -C "$CONF" -q
	[ "$status" -eq 0 ] || fail "-q exited $status: $stderr"
	maildir_wait 120 60
	[ "$(maildir_count)" -eq 120 ]
	[ "$(grep -h '^Delivered-To: ' "$PF_MAILDIR"/new/* | sort -u | wc -l)" -eq 120 ]
	[ -z "$(q_ids)" ] || fail "still queued: $(q_ids)"
}
