# A private /dev/log for tests/syslog.bats (`load lib/syslog` after `load lib/common`):
# tests/syslogsink.py listens on a socket in the test's directory, and pb_ns runs postbote in a
# mount namespace of its own (unshare --mount, as root) whose /dev is a tmpfs with links to the
# real nodes and a /dev/log that leads to that socket. The machine's /dev/log, and any syslog
# daemon behind it, are never touched.
#
#   syslog_setup, syslog_teardown   start and stop the listener (SYSLOG_SOCK, SYSLOG_OUT)
#   pb_ns ARGS...                    postbote ARGS in the namespace, killed after PB_TIMEOUT s
#   syslog_lines                     waits until everything sent so far has arrived (a marker
#                                    datagram sent after it), checks each line's form
#                                    "<PRI>Mmm dd hh:mm:ss postbote[PID]: FIELDS", and sets the
#                                    arrays SYSLOG_PRI and SYSLOG_MSG (FIELDS)
#   syslog_fields K                  output: the fields of line K, "key<TAB>value" per line, read
#                                    as postbote.conf(5) describes the log file's fields

syslog_setup() {
	unshare --mount true 2>/dev/null || skip "unshare --mount needs root (CAP_SYS_ADMIN)"
	SYSLOG_DIR=$BATS_TEST_TMPDIR/syslog
	SYSLOG_SOCK=$SYSLOG_DIR/log.sock
	SYSLOG_OUT=$SYSLOG_DIR/received
	mkdir -p "$SYSLOG_DIR"
	: >"$SYSLOG_OUT"
	"$PYTHON" "$TESTS_DIR/syslogsink.py" "$SYSLOG_SOCK" "$SYSLOG_OUT" \
		</dev/null >"$SYSLOG_DIR/sink.log" 2>&1 3>&- &
	SYSLOG_PID=$!
	local i
	for ((i = 0; i < 300; i++)); do
		[ -S "$SYSLOG_SOCK" ] && return 0
		_pid_running "$SYSLOG_PID" || break
		sleep 0.05
	done
	cat "$SYSLOG_DIR/sink.log" >&2
	fail "syslogsink.py is not listening on $SYSLOG_SOCK"
}

syslog_teardown() {
	[ -n "${SYSLOG_PID:-}" ] || return 0
	kill -TERM "$SYSLOG_PID" 2>/dev/null
	wait "$SYSLOG_PID" 2>/dev/null || true
	SYSLOG_PID=
	rm -f "$SYSLOG_SOCK"
	return 0
}

pb_ns() {
	unshare --mount -- /bin/sh -c '
		set -e
		dir=$1
		shift
		mkdir -p "$dir/realdev"
		mount --rbind /dev "$dir/realdev"
		mount -t tmpfs -o mode=755 tmpfs /dev
		for n in "$dir"/realdev/*; do
			[ "${n##*/}" = log ] || ln -s "$n" /dev/
		done
		ln -s "$dir/log.sock" /dev/log
		exec "$@"' sh "$SYSLOG_DIR" timeout -k 5 "${PB_TIMEOUT:-30}" "$POSTBOTE" "$@"
}

syslog_lines() {
	local marker="--end-$RANDOM$RANDOM--" i line re
	"$PYTHON" -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(sys.argv[2].encode(), sys.argv[1])' "$SYSLOG_SOCK" "$marker"
	for ((i = 0; i < 200; i++)); do
		grep -qxF -- "$marker" "$SYSLOG_OUT" && break
		sleep 0.05
	done
	grep -qxF -- "$marker" "$SYSLOG_OUT" || fail "the marker did not arrive in 10 s"
	SYSLOG_PRI=()
	SYSLOG_MSG=()
	re='^<([0-9]+)>[A-Z][a-z]{2} [ 1-3][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} postbote\[[1-9][0-9]*\]: (.*)$'
	while IFS= read -r line; do
		[[ $line == --end-*-- ]] && continue
		[[ $line =~ $re ]] || fail "not a syslog line from postbote: $line"
		SYSLOG_PRI+=("${BASH_REMATCH[1]}")
		SYSLOG_MSG+=("${BASH_REMATCH[2]}")
	done <"$SYSLOG_OUT"
}

syslog_fields() { # K
	run "$PYTHON" - "${SYSLOG_MSG[$1]}" <<'PY'
import re, sys
field = re.compile(r' ([a-z0-9-]+)=(?:"((?:[^"\\\x00-\x1f\x7f-\xff]|\\["\\]|\\x[0-9a-f]{2})*)"|([A-Za-z0-9._@+:/,<>-]+))')
line = " " + sys.argv[1]
pos = 0
if line.startswith(" queue-run "):
    print("queue-run\t")
    pos = len(" queue-run")
while pos < len(line):
    f = field.match(line, pos)
    if not f:
        sys.exit("not a field at %d: %r" % (pos, line[pos:]))
    v = f.group(2) if f.group(2) is not None else f.group(3)
    v = re.sub(r'\\(["\\]|x[0-9a-f]{2})', lambda m: chr(int(m.group(1)[1:], 16)) if m.group(1)[0] == "x" else m.group(1), v)
    print(f.group(1) + "\t" + v)
    pos = f.end()
PY
	assert_success
}
