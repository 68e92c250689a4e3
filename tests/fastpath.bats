#!/usr/bin/env bats
# The round-trip savers against the fake server (issue 13): QUIT in the last flight without
# waiting for 221, CHUNKING/BDAT, RFC 9422 LIMITS, TLS session resumption across runs. Each test
# checks what arrived and what the fate was, never how long it took.

load lib/common

setup_file() { common_setup_file; }
setup() {
	common_setup
	std_message >"$MSG"
	crlf <"$MSG" >"$WANT"
}
teardown() { common_teardown; }

# session_lines: the fake server's session log of connection 1, without the connection column.
session_lines() {
	sed -n 's/^1 //p' "$FAKE_OUT/session.log"
}

# wait_session_line REGEX: bounded wait until the session log has a matching line.
wait_session_line() {
	local i
	for ((i = 0; i < 200; i++)); do
		grep -Eq -- "$1" "$FAKE_OUT/session.log" && return 0
		sleep 0.05
	done
	fail "no line matching /$1/ in the session log: $(cat "$FAKE_OUT/session.log")"
}

@test "direct submission: QUIT goes with the message and the client leaves before the 221" {
	# the 221 comes 4 s late: a client that waited for it would still be there to read it
	fake_start --delay QUIT=4
	fake_config --no-auth
	send
	assert_sent
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
	wait_session_line 'the client closed the connection'
	run session_lines
	assert_line 'C: QUIT'
	refute_line --regexp '^S: 221'
}

@test "the fate does not depend on the 221: no reply to QUIT, or a refusal, is still sent" {
	fake_start --drop QUIT
	fake_config --no-auth
	send
	assert_sent
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
	fake_stop
	fake_start --reply 'QUIT=554 5.0.0 no'
	fake_config --no-auth
	send
	assert_sent
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
}

@test "every recipient refused with QUIT pipelined: exit 67, nothing delivered" {
	fake_start --reply 'RCPT=550 5.1.1 no such user'
	fake_config --no-auth
	send
	[ "$status" -eq 67 ] || fail "exit $status; stderr: $stderr"
	assert_error_line 'bob@example.org' '550 5.1.1 no such user'
	[ ! -e "$FAKE_OUT/msg-1.eml" ]
}

@test "a queue waiting behind the message keeps the session: the flush uses it, then QUIT" {
	fake_start
	fake_config --no-auth 'queue = on'
	# queue one message while the server refuses for now, then send a new one
	fake_stop
	fake_start --reply 'MAIL=451 4.3.0 later'
	fake_config --no-auth 'queue = on' 'queue_retry_min = 1'
	send
	assert_success
	fake_stop
	fake_start
	fake_config --no-auth 'queue = on' 'queue_retry_min = 1'
	# the queued message becomes due
	mapfile -t states < <(find "$BATS_TEST_TMPDIR/queue/q" -name '*.state')
	[ "${#states[@]}" -eq 1 ] || fail "expected one queued message, found ${#states[@]}"
	sed -i 's/^next: .*/next: 0/' "${states[0]}"
	send
	assert_sent
	[ -e "$FAKE_OUT/msg-2.eml" ] || fail "the queued message did not go over the session"
	run json_get "$FAKE_OUT/msg-2.json" connection
	assert_output 1
}

# ---- CHUNKING / BDAT -------------------------------------------------------------------

# dotted_message: a message with lines that DATA would have to dot-stuff
dotted_message() {
	std_message
	printf '%s\n' '.a leading dot' '..two' '.' 'end'
}

@test "CHUNKING: MAIL, RCPT and BDAT LAST with the body in one flight, the bytes unstuffed" {
	fake_start --chunking
	fake_config --no-auth
	dotted_message >"$MSG"
	crlf <"$MSG" >"$WANT"
	send -i bob@example.org carol@example.org
	assert_sent
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
	run json_get "$FAKE_OUT/msg-1.json" chunks
	assert_output "[$(stat -c %s "$WANT")]"
	# the client did not wait between MAIL, the RCPTs, BDAT and the body
	run json_get "$FAKE_OUT/msg-1.json" pipelined_after
	assert_output '["MAIL", "RCPT", "RCPT", "BDAT"]'
	run client_lines
	refute_line DATA
	assert_line "BDAT $(stat -c %s "$WANT") LAST"
}

@test "CHUNKING: a 3 MiB message goes in 1 MiB chunks and arrives intact" {
	fake_start --chunking --size 0
	fake_config --no-auth
	{
		std_message
		awk 'BEGIN { for (i = 0; i < 40000; i++) printf "%06d .line of the big message, dot first in the second word\n", i }'
	} >"$MSG"
	crlf <"$MSG" >"$WANT"
	send
	assert_sent
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
	local size
	size=$(stat -c %s "$WANT")
	run json_get "$FAKE_OUT/msg-1.json" chunks
	assert_output "[1048576, 1048576, $((size - 2097152))]"
}

@test "CHUNKING: every recipient refused while BDAT is in flight: the RCPT replies decide" {
	fake_start --chunking --reply 'RCPT=550 5.1.1 no such user'
	fake_config --no-auth
	send
	[ "$status" -eq 67 ] || fail "exit $status; stderr: $stderr"
	assert_error_line 'bob@example.org' '550 5.1.1 no such user'
	[ ! -e "$FAKE_OUT/msg-1.eml" ]
	# the server read the chunk and answered it: nothing was left unanswered
	grep -q 'S: 554 5.5.1 Error: no valid recipients' "$FAKE_OUT/session.log"
}

# big_message MIB: std_message with about MIB MiB of body lines
big_message() {
	std_message
	awk -v n=$(($1 * 1048576 / 50)) 'BEGIN { for (i = 0; i < n; i++) printf "%06d a line of a big message, forty-nine bytes\n", i }'
}

# chunks_sent: how many BDAT chunks the fake server read
chunks_sent() { grep -c -- '-- BDAT chunk of' "$FAKE_OUT/session.log" || true; }

@test "CHUNKING: every recipient refused: the rest of a big message is not sent" {
	fake_start --chunking --size 0 --reply 'RCPT=550 5.1.1 no such user'
	fake_config --no-auth
	big_message 8 >"$MSG"
	send
	[ "$status" -eq 67 ] || fail "exit $status; stderr: $stderr"
	assert_error_line '550 5.1.1 no such user'
	# the chunks that went before the RCPT reply came, and no more (8 MiB is 9 chunks)
	run chunks_sent
	assert_output 3
	[ ! -e "$FAKE_OUT/msg-1.eml" ]
}

@test "CHUNKING: a refused chunk stops the message; the server's words are the error" {
	fake_start --chunking --size 0 --reply 'BDAT=552 5.3.4 no room for more'
	fake_config --no-auth
	big_message 8 >"$MSG"
	send
	[ "$status" -eq 69 ] || fail "exit $status; stderr: $stderr"
	assert_error_line '552 5.3.4 no room for more'
	run chunks_sent
	[ "$output" -lt 9 ] || fail "all $output chunks were sent after the refusal"
	[ ! -e "$FAKE_OUT/msg-1.eml" ]
}

@test "CHUNKING: one recipient refused, the other gets the message" {
	fake_start --chunking --reply-rcpt 'carol@example.org=550 5.1.1 carol is gone'
	fake_config --no-auth 'queue = on'
	send bob@example.org carol@example.org
	[ "$status" -eq 67 ] || fail "exit $status; stderr: $stderr"
	assert_error_line 'carol@example.org' 'carol is gone'
	run json_get "$FAKE_OUT/msg-1.json" rcpt_tos
	assert_output '["bob@example.org"]'
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
}

@test "CHUNKING: a refused chunk fails the message with the server's words" {
	fake_start --chunking --reply 'EOM=552 5.3.4 message too big for us'
	fake_config --no-auth
	send
	[ "$status" -eq 69 ] || fail "exit $status; stderr: $stderr"
	assert_error_line '552 5.3.4 message too big for us'
}

@test "CHUNKING: 451 to BDAT LAST queues the message" {
	fake_start --chunking --reply 'EOM=451 4.3.0 try later'
	fake_config --no-auth 'queue = on'
	send
	assert_success
	[[ $stderr == *"queued as"*"451 4.3.0 try later"* ]] || fail "stderr: $stderr"
	assert_queued_whole	# it was in memory only: now in the queue, whole
}

# ---- a big message goes while it is read (SUBMISSION_STREAM_AFTER, 4 MiB) ----------------

# queued_body ID: the message of queue file q/ID (tests/lib/queue.bash's format)
queued_body() {
	"$PYTHON" -c 'import sys
data = open(sys.argv[1], "rb").read()
sys.stdout.buffer.write(data[data.index(b"\n\n") + 2:-4])' "$BATS_TEST_TMPDIR/queue/q/$1"
}

# assert_queued_whole: one message in the queue, and its bytes are $WANT's
assert_queued_whole() {
	local f
	f=$(find "$BATS_TEST_TMPDIR/queue/q" -type f ! -name '*.state')
	[ -n "$f" ] || fail "nothing queued"
	[ "$(wc -l <<<"$f")" -eq 1 ] || fail "more than one message queued: $f"
	queued_body "${f##*/}" >"$BATS_TEST_TMPDIR/queued"
	assert_same_bytes "$WANT" "$BATS_TEST_TMPDIR/queued"
}

@test "a big message goes while it is read: the server has chunks before the input ends, all arrives" {
	fake_start --chunking
	fake_config --no-auth
	big_message 6 >"$MSG"
	crlf <"$MSG" >"$WANT"
	mkfifo "$BATS_TEST_TMPDIR/in"
	# the writer holds the last MiB back until the server has read a chunk (at most 20 s)
	(
		head -c 5242880 "$MSG"
		for ((k = 0; k < 200; k++)); do
			if grep -q -- '-- BDAT chunk of' "$FAKE_OUT/session.log" 2>/dev/null; then
				touch "$BATS_TEST_TMPDIR/chunk-seen"
				break
			fi
			sleep 0.1
		done
		tail -c +5242881 "$MSG"
	) >"$BATS_TEST_TMPDIR/in" 3>&- &
	local writer=$!
	run --separate-stderr pb -C "$CONF" bob@example.org <"$BATS_TEST_TMPDIR/in"
	wait "$writer"
	assert_sent
	[ -e "$BATS_TEST_TMPDIR/chunk-seen" ] || fail "no chunk reached the server before the input ended"
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
	# no SIZE= (not known when MAIL goes), BODY=8BITMIME (8-bit bytes may still come)
	run json_get "$FAKE_OUT/msg-1.json" mail_options
	assert_output '["BODY=8BITMIME"]'
}

@test "a big message that fails before it goes (-t, no recipient in it) is still read to the end: no SIGPIPE" {
	fake_start --chunking
	fake_config --no-auth
	big_message 6 | sed '/^To:/d' >"$MSG"
	run --separate-stderr bash -c 'cat "$1" | "$2" -C "$3" -t; echo "writer ${PIPESTATUS[0]} postbote ${PIPESTATUS[1]}"' \
		sh "$MSG" "$POSTBOTE" "$CONF"
	assert_output "writer 0 postbote 65"
	assert_error_line 'no recipients'
}

@test "a big message whose first 4 MiB come slowly is read to the end before it goes" {
	fake_start --chunking
	fake_config --no-auth
	big_message 6 >"$MSG"
	crlf <"$MSG" >"$WANT"
	# a producer that pauses (the pause is the input, not a wait for something)
	run --separate-stderr pb -C "$CONF" bob@example.org \
		< <(head -c 1048576 "$MSG"; sleep 3; tail -c +1048577 "$MSG")
	assert_sent
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
	# the size known when MAIL goes, and no 8-bit body declared for this 7-bit one
	run json_get "$FAKE_OUT/msg-1.json" mail_options
	assert_output "[\"SIZE=$(wc -c <"$WANT")\"]"
}

@test "a NUL byte late in a big message: 65 in one line, the chunks sent never got their LAST, nothing queued" {
	fake_start --chunking
	fake_config --no-auth 'queue = on'
	{ big_message 6; printf 'a NUL \0 here\n'; } >"$MSG"
	send
	[ "$status" -eq 65 ] || fail "exit $status; stderr: $stderr"
	assert_error_line 'NUL byte' 'nothing was sent'
	[ ! -e "$FAKE_OUT/msg-1.eml" ] || fail "the server recorded a message"
	grep -q -- '-- BDAT chunk of' "$FAKE_OUT/session.log" || fail "no chunk was sent"
	! grep -q -- '(LAST)' "$FAKE_OUT/session.log" || fail "a LAST chunk was sent"
	local left
	left=$(find "$BATS_TEST_TMPDIR/queue" -type f 2>/dev/null) || true
	[ -z "$left" ] || fail "queued: $left"
}

@test "a big message refused part way for now (451 to a chunk): all of it is queued" {
	fake_start --chunking --reply 'BDAT=451 4.3.0 try later'
	fake_config --no-auth 'queue = on'
	big_message 6 >"$MSG"
	crlf <"$MSG" >"$WANT"
	send
	assert_success
	[[ $stderr == *"queued as"*"451 4.3.0 try later"* ]] || fail "stderr: $stderr"
	assert_queued_whole
}

# spool_bytes STRACE_LOG: the bytes written into the spool file (the O_TMPFILE one)
spool_bytes() {
	local fd
	fd=$(sed -n 's/^[0-9]* *openat(.*O_TMPFILE.* = \([0-9]*\)$/\1/p' "$1" | head -1)
	[ -n "$fd" ] || fail "no spool file opened: $(grep openat "$1")"
	awk -v fd="$fd" '$2 ~ "^write\\(" fd "," { n += $NF } END { print n + 0 }' "$1"
}

# strace_pb STDIN ARGS...: postbote under strace (openat and write into $BATS_TEST_TMPDIR/st)
strace_pb() {
	local in=$1
	shift
	strace -o /dev/null true 2>/dev/null || skip "strace cannot trace here"
	# LeakSanitizer stops the process with ptrace at its exit, which strace's tracing forbids
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		run --separate-stderr strace -f -o "$BATS_TEST_TMPDIR/st" -e trace=openat,write \
		-e signal=none "$POSTBOTE" "$@" <"$in"
}

@test "a small message sent at once makes no spool file; one that must be queued gets one, whole" {
	fake_start
	fake_config --no-auth 'queue = on'
	strace_pb "$MSG" -C "$CONF" bob@example.org
	assert_sent
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
	! grep -q 'O_TMPFILE' "$BATS_TEST_TMPDIR/st" || fail "a spool file: $(grep O_TMPFILE "$BATS_TEST_TMPDIR/st")"
	fake_stop
	fake_start --reply 'EOM=451 4.3.0 try later'
	fake_config --no-auth 'queue = on'
	strace_pb "$MSG" -C "$CONF" bob@example.org
	assert_success
	[[ $stderr == *"queued as"* ]] || fail "stderr: $stderr"
	grep -q 'O_TMPFILE' "$BATS_TEST_TMPDIR/st" || fail "no spool file for the queue"
	assert_queued_whole
}

@test "a big message from a file is not copied into the spool: only its first 4 MiB are; from a pipe all of it" {
	fake_start --chunking
	fake_config --no-auth
	big_message 12 >"$MSG"
	crlf <"$MSG" >"$WANT"
	strace_pb "$MSG" -C "$CONF" bob@example.org
	assert_sent
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
	run spool_bytes "$BATS_TEST_TMPDIR/st"
	[ "$output" -ge 4194304 ] && [ "$output" -lt 5242880 ] ||
		fail "$output bytes into the spool for a $(wc -c <"$WANT")-byte message"
	mkfifo "$BATS_TEST_TMPDIR/in"
	cat "$MSG" >"$BATS_TEST_TMPDIR/in" 3>&- &
	local writer=$!
	strace_pb "$BATS_TEST_TMPDIR/in" -C "$CONF" bob@example.org
	wait "$writer"
	assert_sent
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-2.eml"
	run spool_bytes "$BATS_TEST_TMPDIR/st"
	assert_output "$(wc -c <"$WANT")"
}

@test "a big message from a file, 451 to its last chunk: it is read again, and all of it is queued" {
	fake_start --chunking --reply 'EOM=451 4.3.0 try later'
	fake_config --no-auth 'queue = on'
	big_message 12 >"$MSG"
	crlf <"$MSG" >"$WANT"
	send
	assert_success
	[[ $stderr == *"queued as"*"451 4.3.0 try later"* ]] || fail "stderr: $stderr"
	grep -q -- 'BDAT chunk of [0-9]* bytes (LAST)' "$FAKE_OUT/session.log" || fail "no LAST chunk"
	assert_queued_whole
}

@test "a big message from a pipe, 451 to its last chunk: all of it is queued" {
	fake_start --chunking --reply 'EOM=451 4.3.0 try later'
	fake_config --no-auth 'queue = on'
	big_message 12 >"$MSG"
	crlf <"$MSG" >"$WANT"
	run --separate-stderr pb -C "$CONF" bob@example.org < <(cat "$MSG")
	assert_success
	[[ $stderr == *"queued as"*"451 4.3.0 try later"* ]] || fail "stderr: $stderr"
	assert_queued_whole
}

@test "a big message from a file in two transactions (RCPTMAX=1): the second reads the file again, both intact" {
	fake_start --chunking --ehlo-extra 'LIMITS RCPTMAX=1'
	fake_config --no-auth
	big_message 12 >"$MSG"
	crlf <"$MSG" >"$WANT"
	send r1@example.org r2@example.org
	assert_sent
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-2.eml"
	run json_get "$FAKE_OUT/msg-2.json" rcpt_tos
	assert_output '["r2@example.org"]'
}

@test "a big message whose file changes before a 451 sends it to the queue: 74, one line, nothing queued" {
	fake_start --chunking --delay 'EOM=3' --reply 'EOM=451 4.3.0 try later'
	fake_config --no-auth 'queue = on'
	big_message 12 >"$MSG"
	pb -C "$CONF" bob@example.org <"$MSG" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	local client=$! rc=0
	wait_session_line 'BDAT chunk of [0-9]* bytes \(LAST\)'
	echo "a line added while it was sent" >>"$MSG"	# within the 3 s the server waits
	wait "$client" || rc=$?
	stderr=$(cat "$BATS_TEST_TMPDIR/err")
	[ "$rc" -eq 74 ] || fail "exit $rc; stderr: $stderr"
	assert_error_line "file changed while it was sent" "not queued"
	local left
	left=$(find "$BATS_TEST_TMPDIR/queue" -type f 2>/dev/null) || true
	[ -z "$left" ] || fail "queued: $left"
}

@test "a big message over the server's SIZE: its whole size in the one line, exit 69" {
	fake_start --chunking --size 5000000
	fake_config --no-auth
	big_message 6 >"$MSG"
	send
	[ "$status" -eq 69 ] || fail "exit $status; stderr: $stderr"
	assert_error_line "the message is $(crlf <"$MSG" | wc -c) bytes but" "accepts at most 5000000"
	[ ! -e "$FAKE_OUT/msg-1.eml" ]
}

@test "a big message to a server without CHUNKING: read to the end first, then DATA with its SIZE" {
	fake_start
	fake_config --no-auth
	big_message 6 >"$MSG"
	crlf <"$MSG" >"$WANT"
	send
	assert_sent
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
	run json_get "$FAKE_OUT/msg-1.json" mail_options
	assert_output "[\"SIZE=$(wc -c <"$WANT")\"]"
}

@test "chunking = off: DATA even where CHUNKING is offered" {
	fake_start --chunking
	fake_config --no-auth 'chunking = off'
	dotted_message >"$MSG"
	crlf <"$MSG" >"$WANT"
	send -i bob@example.org
	assert_sent
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
	run client_lines
	assert_line DATA
	refute_line --regexp '^BDAT'
}

@test "CHUNKING without PIPELINING: one command at a time, still BDAT" {
	fake_start --chunking --no-pipelining
	fake_config --no-auth
	send
	assert_sent
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
	# only the body came with its command, without a wait
	run json_get "$FAKE_OUT/msg-1.json" pipelined_after
	assert_output '["BDAT"]'
}

@test "CHUNKING: a second message on the session (queue flush) starts with RSET" {
	fake_start --reply 'MAIL=451 4.3.0 later'
	fake_config --no-auth 'queue = on' 'queue_retry_min = 1'
	send
	assert_success
	fake_stop
	fake_start --chunking
	fake_config --no-auth 'queue = on' 'queue_retry_min = 1'
	mapfile -t states < <(find "$BATS_TEST_TMPDIR/queue/q" -name '*.state')
	sed -i 's/^next: .*/next: 0/' "${states[0]}"
	send
	assert_sent
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-2.eml"
	run client_lines
	assert_line RSET
}

@test "CHUNKING: 452 for one of two recipients: the other has it, that one is tried again on the same session" {
	fake_start --chunking --reply-rcpt 'carol@example.org=452 4.5.3 too many recipients'
	fake_config --no-auth 'queue = on'
	send bob@example.org carol@example.org
	assert_success
	[[ $stderr == *"queued as"*"452 4.5.3"* ]] || fail "stderr: $stderr"
	run json_get "$FAKE_OUT/msg-1.json" rcpt_tos
	assert_output '["bob@example.org"]'
	# carol's second try went over the first connection, after RSET
	run client_lines
	assert_line RSET
	[ "$(grep -c -- '-- connection from' "$FAKE_OUT/session.log")" -eq 1 ]
}

# ---- AUTH --------------------------------------------------------------------------------

@test "AUTH: PLAIN and SCRAM put their first message on the AUTH line (no empty 334 round)" {
	local mech
	for mech in PLAIN SCRAM-SHA-256; do
		fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS" --auth-mechs "$mech"
		fake_config
		send
		assert_sent
		run client_lines tls
		assert_line --regexp "^AUTH $mech [A-Za-z0-9+/=]{8,}\$"
		fake_stop
	done
}

@test "AUTH PLAIN and LOGIN need no GNU SASL: postbote does not link it, and loads it for SCRAM only" {
	command -v readelf >/dev/null || skip "no readelf (binutils)"
	run readelf -d "$POSTBOTE"
	assert_success
	assert_output --partial "(NEEDED)"
	refute_output --partial libgsasl
	local mech want offer
	# auth = on over PLAIN picks it without asking GNU SASL about CRAM-MD5 below it
	for want in on:PLAIN LOGIN:LOGIN on:SCRAM-SHA-256; do
		mech=${want#*:}
		offer="LOGIN PLAIN CRAM-MD5"
		[ "$mech" = SCRAM-SHA-256 ] && offer="PLAIN SCRAM-SHA-256"
		fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS" --auth-mechs "$offer"
		fake_config "auth = ${want%%:*}"
		rm -f "$BATS_TEST_TMPDIR"/ld.*
		LD_DEBUG=files LD_DEBUG_OUTPUT="$BATS_TEST_TMPDIR/ld" send
		assert_sent
		assert_equal "$(json_get "$FAKE_OUT/msg-1.json" auth_mechanism)" "$mech"
		run ld_loaded "$BATS_TEST_TMPDIR/ld"
		assert_line --partial libgnutls	# LD_DEBUG saw the run
		if [ "$mech" = SCRAM-SHA-256 ]; then
			assert_line --regexp '^libgsasl\.so\.'
		else
			refute_output --partial libgsasl
		fi
		fake_stop
	done
}

@test "without GNU SASL's library PLAIN still works, and SCRAM is one line naming the package (exit 78)" {
	local lib
	[ "$(id -u)" = 0 ] || skip "needs root for a private mount namespace"
	lib=$(ldconfig -p | sed -n 's/^[[:space:]]*libgsasl\.so\.[0-9]* (.*=> //p' | head -n 1)
	[ -n "$lib" ] || skip "ldconfig knows no libgsasl"
	without_lib "$lib" true 2>/dev/null || skip "no private mount namespace here"
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS" --auth-mechs "PLAIN SCRAM-SHA-256"
	fake_config "auth = PLAIN"
	run --separate-stderr without_lib "$lib" timeout 30 "$POSTBOTE" -C "$CONF" bob@example.org \
		<"$MSG"
	assert_sent
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" auth_mechanism)" PLAIN
	fake_config "auth = on"
	run --separate-stderr without_lib "$lib" timeout 30 "$POSTBOTE" -C "$CONF" bob@example.org \
		<"$MSG"
	assert_equal "$status" 78
	assert_equal "$(printf '%s\n' "$stderr" | wc -l)" 1
	[[ $stderr == *"SCRAM-SHA-256 needs GNU SASL (libgsasl.so."*"), which cannot be loaded: "*"; install the Debian package libgsasl18"* ]] ||
		fail "stderr: $stderr"
	[ ! -e "$FAKE_OUT/msg-2.eml" ] || fail "a second message arrived"
}

# socket_writes FILE: the sizes of the writes to the connection in strace output FILE, from the
# first "EHLO" on (its file descriptor's), one per line
socket_writes() {
	local fd
	fd=$(sed -n 's/^[0-9]* *\(sendto\|write\|sendmsg\)(\([0-9]*\), "EHLO .*/\2/p' "$1" | head -1)
	[ -n "$fd" ] || fail "no EHLO in $(cat "$1")"
	sed -n '/"EHLO /,$p' "$1" |
		sed -n "s/^[0-9]* *\(sendto\|write\|sendmsg\)($fd, .*= \([0-9]*\)\$/\2/p"
}

@test "STARTTLS: ChangeCipherSpec, Finished and the EHLO after them go in one write; 7 writes in all" {
	strace -o /dev/null true 2>/dev/null || skip "strace cannot trace here"
	fake_start --tls starttls --chunking --auth "$FAKE_USER:$FAKE_PASS" --auth-mechs PLAIN
	fake_config
	# LeakSanitizer stops the process with ptrace at its exit, which strace's tracing forbids
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		run --separate-stderr strace -f -o "$BATS_TEST_TMPDIR/st" -e trace=write,sendto,sendmsg \
		-e signal=none "$POSTBOTE" -C "$CONF" bob@example.org <"$MSG"
	assert_sent
	run socket_writes "$BATS_TEST_TMPDIR/st"
	# EHLO, STARTTLS, ClientHello, ChangeCipherSpec + Finished + EHLO, AUTH,
	# MAIL + RCPT + BDAT + message + QUIT, close_notify
	assert_equal "${#lines[@]}" 7
	refute_line 6	# a ChangeCipherSpec record on its own
}

# ---- TLS session resumption ----------------------------------------------------------------

# resume_conf [LINE...]: the account for the running TLS fake server, with its state directory
resume_conf() {
	STATE=$BATS_TEST_TMPDIR/state	# fake_config's state_dir
	fake_config --no-auth "$@"
}

tls_resumed_of() { json_get "$FAKE_OUT/msg-$1.json" tls_resumed; }

@test "resumption: the second run resumes the first run's session; the file is the user's, 0600" {
	fake_start --tls starttls
	resume_conf
	send
	assert_sent
	run tls_resumed_of 1
	assert_output false
	local files
	files=("$STATE"/tls/tls-*)
	[ "${#files[@]}" -eq 1 ] && [ -f "${files[0]}" ] || fail "no session file in $STATE/tls"
	assert_equal "$(stat -c '%a %U' "${files[0]}")" "600 $(id -un)"
	assert_equal "$(stat -c %a "$STATE/tls")" 700
	send -v bob@example.org
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	[[ $stderr == *"TLS started: "*"a session of an earlier run resumed"* ]] || fail "stderr: $stderr"
	run tls_resumed_of 2
	assert_output true
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-2.eml"
}

@test "resumption with implicit TLS" {
	fake_start --tls implicit
	resume_conf
	send
	assert_sent
	send
	assert_sent
	run tls_resumed_of 2
	assert_output true
}

@test "resumption refused after a pin change: the new pin is checked on a full handshake" {
	fake_start --tls starttls
	resume_conf "tls_fingerprint = $(cert_sha256 "$CA_DIR/server.pem")"
	send
	assert_sent
	# the pin changes (here to the CA's, which the server does not present)
	resume_conf "tls_fingerprint = $(cert_sha256 "$CA_DIR/ca.pem")"
	send
	[ "$status" -eq 76 ] || fail "exit $status: $stderr"
	assert_error_line 'fingerprint does not match tls_fingerprint'
	[ ! -e "$FAKE_OUT/msg-2.eml" ]
}

@test "resumption refused after a trust change: another trust file, or new contents at the same path" {
	fake_start --tls starttls
	cp "$CA_DIR/ca.pem" "$BATS_TEST_TMPDIR/trust.pem"
	resume_conf "tls_trust_file = $BATS_TEST_TMPDIR/trust.pem"
	send
	assert_sent
	resume_conf "tls_trust_file = $CA_DIR/other-ca.pem"
	send
	[ "$status" -eq 76 ] || fail "exit $status: $stderr"
	assert_error_line 'not trusted'
	# the same path, now with a CA that did not sign the server's certificate
	cp "$CA_DIR/other-ca.pem" "$BATS_TEST_TMPDIR/trust.pem"
	resume_conf "tls_trust_file = $BATS_TEST_TMPDIR/trust.pem"
	send
	[ "$status" -eq 76 ] || fail "exit $status: $stderr"
	assert_error_line 'not trusted'
	[ ! -e "$FAKE_OUT/msg-2.eml" ]
}

@test "no resumption with tls_resume = off, with a client certificate, or from a file others can read" {
	fake_start --tls starttls
	resume_conf 'tls_resume = off'
	send
	assert_sent
	[ ! -e "$STATE/tls" ] || fail "tls_resume = off wrote $(ls "$STATE/tls")"
	resume_conf "tls_cert_file = $CA_DIR/client.pem" "tls_key_file = $CA_DIR/client.key"
	send
	assert_sent
	[ ! -e "$STATE/tls" ] || fail "a session with a client certificate was kept"
	resume_conf
	send
	assert_sent
	chmod 644 "$STATE"/tls/tls-*
	send
	assert_sent
	run tls_resumed_of 4
	assert_output false
}

key_shares_of() { json_get "$FAKE_OUT/msg-$1.json" tls_key_shares; }

@test "resumption: a server that took X25519 gets only an X25519 key share, not a second one" {
	fake_start --tls starttls
	resume_conf
	send
	assert_sent
	run key_shares_of 1
	assert_output '["x25519", "secp256r1"]'
	send
	assert_sent
	run tls_resumed_of 2
	assert_output true
	run key_shares_of 2
	assert_output '["x25519"]'
}

@test "resumption: a server that takes only SECP256R1 gets both key shares each time" {
	fake_start --tls implicit --tls-group prime256v1
	resume_conf
	send
	assert_sent
	send
	assert_sent
	run tls_resumed_of 2
	assert_output true
	run key_shares_of 2
	assert_output '["x25519", "secp256r1"]'
}

@test "resumption: a server that dropped X25519 asks again once; the message goes, the next run sends both" {
	fake_start --tls starttls
	resume_conf
	send
	assert_sent
	local port=$FAKE_PORT
	fake_stop
	fake_start --tls starttls --port "$port" --tls-group prime256v1
	resume_conf
	send
	assert_sent
	# the only share offered was X25519's; after the server's HelloRetryRequest, SECP256R1's
	run key_shares_of 1
	assert_output '["secp256r1"]'
	send
	assert_sent
	run key_shares_of 2
	assert_output '["x25519", "secp256r1"]'
}

@test "resumption: a new session file clears those no run has used for over 7 days; newer ones stay" {
	fake_start --tls starttls
	resume_conf
	mkdir -p -m 700 "$STATE" "$STATE/tls"
	local old=$STATE/tls/tls-$(printf '%064d' 1) recent=$STATE/tls/tls-$(printf '%064d' 2)
	local leftover=$STATE/tls/.tls-$(printf '%064d' 3).4242 other=$STATE/tls/notes
	for f in "$old" "$recent" "$leftover" "$other"; do
		(umask 077 && echo x >"$f")
	done
	touch -d '8 days ago' "$old" "$leftover" "$other"
	touch -d '6 days ago' "$recent"
	send
	assert_sent
	[ ! -e "$old" ] || fail "a session file unused for 8 days is still there"
	[ ! -e "$leftover" ] || fail "a killed run's temporary file is still there"
	[ -e "$recent" ] || fail "a session file used 6 days ago was removed"
	[ -e "$other" ] || fail "a file that is not a session file was removed"
	local files
	files=("$STATE"/tls/tls-*)
	assert_equal "${#files[@]}" 2
	# a run that resumes writes its own file again and looks at no other
	touch -d '8 days ago' "$recent"
	send
	assert_sent
	run tls_resumed_of 2
	assert_output true
	[ -e "$recent" ] || fail "a resumed run pruned"
}

# ---- RFC 9422 LIMITS -----------------------------------------------------------------------

@test "LIMITS RCPTMAX=2: five recipients in three transactions on one connection, no 452 needed" {
	fake_start --ehlo-extra 'LIMITS RCPTMAX=2'
	fake_config --no-auth
	send r1@example.org r2@example.org r3@example.org r4@example.org r5@example.org
	assert_sent
	run json_get "$FAKE_OUT/msg-1.json" rcpt_tos
	assert_output '["r1@example.org", "r2@example.org"]'
	run json_get "$FAKE_OUT/msg-2.json" rcpt_tos
	assert_output '["r3@example.org", "r4@example.org"]'
	run json_get "$FAKE_OUT/msg-3.json" rcpt_tos
	assert_output '["r5@example.org"]'
	[ "$(grep -c -- '-- connection from' "$FAKE_OUT/session.log")" -eq 1 ]
	# never more than two RCPTs between a MAIL and the message
	run awk '/ MAIL FROM/ { n = 0 } / RCPT TO/ { if (++n > 2) bad = 1 } END { exit bad }' \
		"$FAKE_OUT/transcript.log"
	assert_success
}

@test "LIMITS MAILMAX=2: a queue run of three messages connects again after the second" {
	fake_start --reply 'MAIL=451 4.3.0 later'
	fake_config --no-auth 'queue = on'
	local i
	for i in 1 2 3; do
		send "r$i@example.org"
		assert_success
	done
	fake_stop
	fake_start --ehlo-extra 'LIMITS MAILMAX=2'
	fake_config --no-auth 'queue = on'
	run --separate-stderr pb -C "$CONF" -q
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	[ -e "$FAKE_OUT/msg-3.eml" ] || fail "not all three messages arrived"
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" connection)" 1
	assert_equal "$(json_get "$FAKE_OUT/msg-2.json" connection)" 1
	assert_equal "$(json_get "$FAKE_OUT/msg-3.json" connection)" 2
	# the first connection ended after its second message, the client did not try a third
	run grep -c '^1 [a-z]* MAIL FROM' "$FAKE_OUT/transcript.log"
	assert_output 2
	[ -z "$(find "$BATS_TEST_TMPDIR/queue/q" -type f)" ] || fail "left in the queue"
}

@test "a damaged session file costs only a full handshake, and is replaced" {
	fake_start --tls starttls
	resume_conf
	send
	assert_sent
	local f
	f=$(echo "$STATE"/tls/tls-*)
	head -c 300 /dev/urandom >"$f"
	send
	assert_sent
	run tls_resumed_of 2
	assert_output false
	send
	assert_sent
	run tls_resumed_of 3
	assert_output true
}
