#!/usr/bin/env bats
# What the queue survives: damaged queue files and leftovers in tmp/, two runners at once, a
# full disk, and processes killed with SIGKILL at random moments (tests/crash/run).

load lib/common
load lib/queue

setup_file() { common_setup_file; }
setup() { queue_setup; }
teardown() { queue_teardown; }

# ---- damaged files ------------------------------------------------------------------------

# damaged QUEUE-FILE-EDIT: a queued message whose file is then damaged by the command is never
# sent, and goes to failed/.
damaged() {
	q_start
	queue_down
	local f=$QDIR/q/$QID
	"$@" "$f"
	wait_due "$QID"
	run_queue
	assert_equal "$(msg_count)" 0
	refute_client_sent '^MAIL FROM'
	assert_area_empty q
	assert_file_exist "$QDIR/failed/$QID"
	[[ $stderr == *"$QID"* ]] || fail "nothing on stderr names the damaged file: $stderr"
}

cut_end_marker() { truncate -s -4 "$1"; }
cut_in_body() { truncate -s $(($(stat -c %s "$1") - 20)) "$1"; }
cut_in_envelope() { truncate -s 30 "$1"; }
extra_bytes() { printf 'more\n' >>"$1"; }
empty_file() { : >"$1"; }
wrong_version() { sed -i '1s/.*/postbote-queue 9/' "$1"; }

@test "a queue file without its end marker is never sent and goes to failed/" { damaged cut_end_marker; }
@test "a queue file cut in the message is never sent and goes to failed/" { damaged cut_in_body; }
@test "a queue file cut in the envelope is never sent and goes to failed/" { damaged cut_in_envelope; }
@test "a queue file with bytes after the end marker is never sent and goes to failed/" { damaged extra_bytes; }
@test "an empty queue file is never sent and goes to failed/" { damaged empty_file; }
@test "a queue file of an unknown version is never sent and goes to failed/" { damaged wrong_version; }

@test "leftovers in tmp/ (a killed writer) are never sent" {
	q_start
	queue_down
	cp "$QDIR/q/$QID" "$QDIR/tmp/20240101000000.0123456789"
	run -0 pb -C "$CONF" --queue-delete "$QID"
	run_queue
	assert_success
	assert_equal "$(msg_count)" 0
	run -0 pb -C "$CONF" -bp
	assert_output "Mail queue is empty"
}

# ---- concurrency ---------------------------------------------------------------------------

@test "two queue runners started together on 20 messages deliver each exactly once" {
	q_start --delay EOM=0.05
	local k
	queue_tagged pair-{1..20}
	assert_equal "$(q_count q)" 20
	wait_all_due
	# both wait for the same file, so they start within a few milliseconds of each other
	local go=$BATS_TEST_TMPDIR/go
	local barrier='for ((w = 0; w < 1000; w++)); do [ -e "$0" ] && break; sleep 0.005; done'
	bash -c "$barrier"' && exec timeout 60 "$1" -C "$2" -q' "$go" "$POSTBOTE" "$CONF" \
		2>"$BATS_TEST_TMPDIR/r1.err" 3>&- &
	local p1=$!
	bash -c "$barrier"' && exec timeout 60 "$1" -C "$2" -q' "$go" "$POSTBOTE" "$CONF" \
		2>"$BATS_TEST_TMPDIR/r2.err" 3>&- &
	local p2=$!
	Q_PIDS="$p1 $p2"
	: >"$go"
	local s1=0 s2=0
	wait "$p1" || s1=$?
	wait "$p2" || s2=$?
	Q_PIDS=
	assert_equal "$s1 $s2" "0 0"
	assert_equal "$(msg_count)" 20
	for ((k = 1; k <= 20; k++)); do
		assert_equal "$(tag_count "pair-$k")" 1
	done
	assert_area_empty q
	assert_area_empty tmp
}

# ---- a full disk -----------------------------------------------------------------------------

# small_queue_fs: QDIR on a 64 kB tmpfs (root only)
small_queue_fs() {
	[ "$(id -u)" = 0 ] || skip "mounting a tmpfs needs root"
	mkdir -p "$QDIR"
	mount -t tmpfs -o size=64k,mode=0700 tmpfs "$QDIR" 2>/dev/null || skip "cannot mount a tmpfs here"
	Q_MOUNT=$QDIR
}

big_message() { # BYTES of body after std_message's headers
	{
		std_message
		"$PYTHON" -c 'import sys
n = int(sys.argv[1])
line = "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvw\n"
sys.stdout.write(line * (n // len(line)))' "$1"
	} >"$MSG"
}

@test "a full disk: a message larger than the queue's filesystem is not queued: exit 74, never 0" {
	small_queue_fs
	big_message 200000
	q_start
	run --separate-stderr pb -C "$DOWN" bob@example.org <"$MSG"
	assert_equal "$status" 74
	assert_error_line "could not queue" "No space left on device"
	assert_area_empty q
	assert_area_empty tmp
}

@test "a full disk: exit 0 means queued and sent later, exit 74 means never sent" {
	small_queue_fs
	q_start
	# fill the filesystem in ever smaller steps until nothing more fits, so that some attempt
	# runs out of space after the message file and before its state file
	local size n=0 tags=() codes=() i
	for size in 20000 20000 12000 8000 6000 4000 3000 2000 1000 500 200 100; do
		n=$((n + 1))
		big_message "$size"
		sed -i "s/^Message-ID: .*/Message-ID: <disk-$n@example.org>/" "$MSG"
		run --separate-stderr pb -C "$DOWN" bob@example.org <"$MSG"
		tags+=("disk-$n")
		codes+=("$status")
		if [ "$status" -ne 0 ]; then
			assert_equal "$status" 74
			assert_error_line "could not queue" "No space left on device"
		else
			[[ $stderr =~ $QUEUED_RE ]] || fail "exit 0 without 'queued as': $stderr"
		fi
	done
	[[ " ${codes[*]} " == *" 74 "* ]] || fail "the filesystem never filled up: ${codes[*]}"
	# every message in q/ has its state (checked after the run, which shows the consequence)
	local stateless=()
	for i in $(q_ids q); do
		[ -e "$QDIR/q/$i.state" ] || stateless+=("$i")
	done
	assert_area_empty tmp
	# the queue run sends exactly the messages whose submission said "queued"
	wait_all_due
	run_queue
	assert_success
	for i in "${!tags[@]}"; do
		if [ "${codes[i]}" -eq 0 ]; then
			assert_equal "${tags[i]} delivered $(tag_count "${tags[i]}")" "${tags[i]} delivered 1"
		else
			assert_equal "${tags[i]} (exit ${codes[i]}) delivered $(tag_count "${tags[i]}")" \
				"${tags[i]} (exit ${codes[i]}) delivered 0"
		fi
	done
	assert_area_empty q
	assert_equal "messages in q/ without a state file: ${stateless[*]}" "messages in q/ without a state file: "
}

# ---- crash safety ----------------------------------------------------------------------------

@test "crash safety: 100 submissions and queue runs killed with SIGKILL at random moments lose nothing" {
	# tests/crash/run -n 1000 is the long version; see its header for what it checks
	local work=$BATS_TEST_TMPDIR/crash
	run timeout 300 "$TESTS_DIR/crash/run" -n 100 -w "$work"
	echo "$output" | sed 's/^/# /' >&3
	assert_success
	assert_line --regexp '^lost \(exit 0, neither delivered nor queued\) +0$'
	assert_line --regexp '^damaged queue files +0$'
	assert_line --regexp '^duplicates outside that window +0$'
	assert_line --regexp '^killed processes that left more than one duplicate +0$'
}

# ---- what a queue run may not do (issue 9) ------------------------------------------------

@test "a queue run that has few descriptors sends every message and sets none aside (ulimit -n 24, 40 messages)" {
	q_start
	local i
	for i in $(seq 40); do
		tagged_message "fd-$i" >"$MSG"
		run --separate-stderr pb -C "$DOWN" bob@example.org <"$MSG"
		assert_equal "$status" 0
	done
	assert_equal "$(q_count q)" 40
	wait_all_due
	# one message file open at a time: 24 descriptors are plenty, and a file that could not be
	# opened would stay in q/, never go to failed/
	run --separate-stderr timeout 120 bash -c 'ulimit -n 24 && exec "$0" -C "$1" -q' "$POSTBOTE" "$CONF"
	assert_success
	assert_area_empty failed
	assert_equal "$(q_count q)" 0
	assert_equal "$(msg_count)" 40
	for i in $(seq 40); do
		assert_equal "fd-$i $(tag_count "fd-$i")" "fd-$i 1"
	done
}

@test "a message whose state cannot be written after a try is held, not sent again on every run" {
	small_queue_fs
	q_start --reply-rcpt 'carol@example.org=451 4.2.0 later'
	run --separate-stderr pb -C "$DOWN" bob@example.org carol@example.org <"$MSG"
	assert_queued
	dd if=/dev/zero of="$QDIR/fill" bs=1k count=100 2>/dev/null || true	# the disk is full now
	wait_due "$QID"
	run_queue
	# carol's deferral could not be recorded: the message waits for a person, who is told
	assert_success
	[[ $stderr == *"$QID: cannot "*"is held so that it is not sent again"*"--queue-release $QID"* ]] ||
		fail "stderr: $stderr"
	run_queue
	run_queue
	# bob got it once, however many runs came after
	assert_equal "$(msg_count)" 1
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" rcpt_tos)" '["bob@example.org"]'
	assert_equal "$(q_count q)" 0
	assert_equal "$(q_ids hold)" "$QID"
	rm -f "$QDIR/fill"
}

@test "a message that expires while the disk is full is bounced once at most, never on every run" {
	small_queue_fs
	Q_EXTRA=("queue_lifetime = 1s")
	q_start --reply-rcpt 'bob@example.org=450 4.2.1 over quota'
	queue_down
	sleep 1.1	# the lifetime is a number of seconds: it must pass
	dd if=/dev/zero of="$QDIR/fill" bs=1k count=100 2>/dev/null || true
	local i
	for i in 1 2 3 4; do
		run_queue
	done
	# no bounce while the move to failed/ cannot be recorded; the message is held
	assert_equal "$(msg_count)" 0
	assert_equal "$(q_ids hold)" "$QID"
	rm -f "$QDIR/fill"
}

@test "a queue run waiting for a password holds no lock: a second run sends everything meanwhile" {
	q_start
	local i
	for i in 1 2 3; do
		tagged_message "lock-$i" >"$MSG"
		run --separate-stderr pb -C "$DOWN" bob@example.org <"$MSG"
		assert_equal "$status" 0
	done
	wait_all_due
	local slow=$BATS_TEST_TMPDIR/slow.conf
	q_conf "$slow" "$FAKE_PORT"
	# the first runner's password comes only after the second runner is done
	local t=$BATS_TEST_TMPDIR
	sed -i "s|^password = .*|passwordeval = touch '$t/asked'; while [ ! -e '$t/go' ]; do sleep 0.1; done; printf '%s\\\\n' '$FAKE_PASS'|" "$slow"
	timeout 60 "$POSTBOTE" -C "$slow" -q 2>"$t/slow.err" &
	Q_PIDS=$!
	for i in $(seq 100); do [ -e "$t/asked" ] && break; sleep 0.1; done
	assert_file_exist "$t/asked"	# the first runner waits for its password now
	run_queue
	assert_success
	assert_equal "$(msg_count)" 3
	touch "$BATS_TEST_TMPDIR/go"
	wait "$Q_PIDS"
	Q_PIDS=
	assert_equal "$(msg_count)" 3
	for i in 1 2 3; do
		assert_equal "lock-$i $(tag_count "lock-$i")" "lock-$i 1"
	done
	assert_area_empty q
}
