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
	run --separate-stderr pb -C "$DOWN" bob@example.org <"$MSG"
	assert_queued
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
	run --separate-stderr pb -C "$DOWN" bob@example.org <"$MSG"
	assert_queued
	cp "$QDIR/q/$QID" "$QDIR/tmp/20240101000000.0123456789"
	run -0 pb -C "$CONF" --queue-delete "$QID"
	run_queue
	assert_success
	assert_equal "$(msg_count)" 0
	run -0 pb -C "$CONF" -bp
	assert_output "The queue is empty."
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
