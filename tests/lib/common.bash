# Loaded by every tests/*.bats file (`load lib/common`): Bats libraries, paths, the fake SMTP
# server (tests/fakesmtp.py) and config helpers. Loaded after it where a file needs them:
# lib/queue.bash (the queue tests), lib/headers.bash (one submission's header and envelope),
# lib/sasl.bash (saslsmtp.py, what must not leave the client, the Postfix side of SASL/TLS) and
# lib/postfix.bash (a private Postfix with Dovecot).  Each .bats file does
#
#   setup_file() { common_setup_file; }
#   setup()      { common_setup; }
#   teardown()   { common_teardown; }
#
# Variables
#   POSTBOTE     absolute path of the binary (default: build/src/postbote in this repository)
#   PYTHON       the interpreter for fakesmtp.py: /usr/bin/python3, which sees Debian's aiosmtpd
#                (override with FAKESMTP_PYTHON)
#   CA_DIR       test certificates from make_test_ca (tests/lib/ca.bash), one set per .bats file
#   FAKE_USER, FAKE_PASS, FAKE_FROM   the account that fake_config writes
#   after fake_start: FAKE_PORT, FAKE_OUT (the server's --outdir), FAKE_PID, FAKE_TLS
#   after fake_config: CONF (the config file)
#
# Helpers
#   fake_start [fakesmtp.py options]  start the server in the background; --tls starttls|implicit
#                                     gets --cert/--key for localhost unless given
#   fake_stop                         stop it (common_teardown does this)
#   fake_config [--no-auth] [--file F] [LINE...]
#                                     write an account config for the running server: account
#                                     "fake" (the default_account), LINEs appended to it
#   write_config FILE <<EOF           write FILE from stdin, mode 600
#   free_port                         a loopback port that nothing listens on
#   pb ARGS...                        run postbote, killed after PB_TIMEOUT seconds (default 30)
#   send [ARGS...]                    run --separate-stderr pb -C "$CONF" ARGS with $MSG on stdin
#                                     (without ARGS: the one recipient bob@example.org)
#   assert_sent                       exit 0 and nothing on stderr (after send or run)
#   json_get FILE KEY                 a value from a msg-N.json (strings bare, the rest as JSON)
#   assert_error_line [FRAGMENT...]   $stderr (from run --separate-stderr) is one line,
#                                     "postbote: ...", containing every FRAGMENT
#   assert_same_bytes WANT GOT        the two files hold the same bytes (od -c of both if not)
#   client_lines [plain|tls]          what the client sent (transcript.log without the columns)
#   refute_client_sent ERE            no line the client sent matches ERE (works on an empty
#                                     transcript, unlike refute_line)
#   crlf                              stdin with every LF turned into CRLF
#   std_message                       a complete test message on stdout (LF line ends)
# MSG and WANT are file names under $BATS_TEST_TMPDIR for the input and the expected bytes.

bats_require_minimum_version 1.5.0

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load /usr/lib/bats/bats-file/load

TESTS_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TESTS_DIR=${TESTS_LIB_DIR%/lib}
REPO_DIR=${TESTS_DIR%/tests}

POSTBOTE=${POSTBOTE:-$REPO_DIR/build/src/postbote}
case $POSTBOTE in
/*) ;;
*) POSTBOTE=$PWD/$POSTBOTE ;;
esac
PYTHON=${FAKESMTP_PYTHON:-/usr/bin/python3}
FAKESMTP=$TESTS_DIR/fakesmtp.py
# the servers import tests/fakelib.py (and one test imports fakesmtp.py): no __pycache__ in the
# source tree
PYTHONDONTWRITEBYTECODE=1
export POSTBOTE PYTHON FAKESMTP PYTHONDONTWRITEBYTECODE

FAKE_USER=alice
FAKE_PASS='s3cr3t:Pa55-word'
FAKE_FROM=alice@example.org

# shellcheck source=tests/lib/ca.bash
source "$TESTS_LIB_DIR/ca.bash"

common_setup_file() {
	export CA_DIR=$BATS_FILE_TMPDIR/ca
	make_test_ca "$CA_DIR"
}

common_setup() {
	CA_DIR=${CA_DIR:-$BATS_FILE_TMPDIR/ca}
	make_test_ca "$CA_DIR"	# cheap when setup_file made it already
	[ -x "$POSTBOTE" ] || fail "postbote binary not found at $POSTBOTE (build it, or set POSTBOTE)"
	# Never read the real user's configuration.
	export HOME=$BATS_TEST_TMPDIR/home
	export XDG_CONFIG_HOME=$HOME/.config
	mkdir -p "$HOME"
	unset POSTBOTE_CONFIG
	# shellcheck disable=SC2034 # used by the .bats files
	MSG=$BATS_TEST_TMPDIR/msg	# the message a test feeds to postbote
	# shellcheck disable=SC2034
	WANT=$BATS_TEST_TMPDIR/want	# the bytes the server should receive
	FAKE_PID=
}

common_teardown() {
	if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -n "${FAKE_OUT:-}" ] && [ -d "$FAKE_OUT" ]; then
		echo "# fake server session (${FAKE_OUT}/session.log):"
		sed 's/^/#   /' "$FAKE_OUT/session.log" 2>/dev/null | tail -n 60
		[ -s "$FAKE_OUT.log" ] && sed 's/^/# server stderr: /' "$FAKE_OUT.log" | tail -n 20
	fi
	fake_stop
}

_pid_running() { # a child that has exited stays a zombie until waited for
	local state
	[ -r "/proc/$1/stat" ] || return 1
	state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$state" ] && [ "$state" != Z ]
}

fake_start() {
	[ -z "${FAKE_PID:-}" ] || fail "fake_start: a fake server is already running"
	local args=("$@") tls=none have_cert='' i
	for ((i = 0; i < ${#args[@]}; i++)); do
		case ${args[i]} in
		--tls) tls=${args[i + 1]} ;;
		--tls=*) tls=${args[i]#--tls=} ;;
		--cert | --cert=*) have_cert=1 ;;
		esac
	done
	if [ "$tls" != none ] && [ -z "$have_cert" ]; then
		args+=(--cert "$CA_DIR/server.pem" --key "$CA_DIR/server.key")
	fi
	FAKE_TLS=$tls
	FAKE_OUT=$BATS_TEST_TMPDIR/fake
	rm -rf "$FAKE_OUT" "$FAKE_OUT.port"
	"$PYTHON" "$FAKESMTP" --outdir "$FAKE_OUT" --port-file "$FAKE_OUT.port" "${args[@]}" \
		</dev/null >"$FAKE_OUT.log" 2>&1 3>&- &
	FAKE_PID=$!
	# Bounded wait for the port file (written by rename, so never seen half-written).
	for ((i = 0; i < 600; i++)); do
		[ -s "$FAKE_OUT.port" ] && break
		if ! _pid_running "$FAKE_PID"; then
			wait "$FAKE_PID" 2>/dev/null
			FAKE_PID=
			cat "$FAKE_OUT.log" >&2
			fail "fake_start: fakesmtp.py exited before listening"
		fi
		sleep 0.05
	done
	[ -s "$FAKE_OUT.port" ] || fail "fake_start: no port file after 30 s"
	FAKE_PORT=$(<"$FAKE_OUT.port")
	export FAKE_PORT FAKE_OUT FAKE_PID FAKE_TLS
}

fake_stop() {
	[ -n "${FAKE_PID:-}" ] || return 0
	local i
	kill -TERM "$FAKE_PID" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		_pid_running "$FAKE_PID" || break
		sleep 0.05
	done
	_pid_running "$FAKE_PID" && kill -KILL "$FAKE_PID" 2>/dev/null
	wait "$FAKE_PID" 2>/dev/null
	FAKE_PID=
	return 0
}

# ld_loaded PREFIX: the shared objects that a run under LD_DEBUG=files LD_DEBUG_OUTPUT=PREFIX
# loaded, linked or with dlopen, one per line
ld_loaded() {
	cat "$1".* | sed -n 's/^[[:space:]]*[0-9]*:[[:space:]]*file=\([^ ]*\) .*/\1/p' | sort -u
}

# without_lib LIB CMD...: CMD in a private mount namespace where the file LIB is /dev/null, as
# if its package were not installed (needs root)
without_lib() {
	local lib=$1
	shift
	unshare -m sh -c 'mount --bind /dev/null "$1" && shift && exec "$@"' sh "$lib" "$@"
}

write_config() { # FILE, contents on stdin
	(umask 077 && cat >"$1") && chmod 600 "$1"
}

# fake_config [--no-auth] [--file FILE] [LINE...]: an account "fake" for the running fake
# server, chosen by default_account.  LINEs ("key = value") are appended to the account.
fake_config() {
	local auth=1
	CONF=$BATS_TEST_TMPDIR/postbote.conf
	while [ $# -gt 0 ]; do
		case $1 in
		--no-auth) auth= ;;
		--file) CONF=$2; shift ;;
		*) break ;;
		esac
		shift
	done
	local tls=$FAKE_TLS
	[ "$tls" = none ] && tls=off
	{
		echo "[defaults]"
		echo "default_account = fake"
		echo
		echo "[fake]"
		echo "host = localhost"
		echo "port = $FAKE_PORT"
		echo "tls = $tls"
		echo "tls_trust_file = $CA_DIR/ca.pem"
		if [ -n "$auth" ]; then
			echo "user = $FAKE_USER"
			echo "password = $FAKE_PASS"
		fi
		echo "from = $FAKE_FROM"
		echo "timeout = 10"
		# the tests of a single submission see its own outcome: queue tests say queue = on
		echo "queue = off"
		echo "queue_dir = $BATS_TEST_TMPDIR/queue"
		local line
		for line in "$@"; do
			echo "$line"
		done
		# last, so that the lines above keep their numbers: TLS sessions of one test are
		# never offered in another (a LINE that sets it again wins)
		case " $* " in *" state_dir = "*) ;; *) echo "state_dir = $BATS_TEST_TMPDIR/state" ;; esac
	} | write_config "$CONF"
	export CONF
}

free_port() {
	"$PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

pb() {
	timeout -k 5 "${PB_TIMEOUT:-30}" "$POSTBOTE" "$@"
}

send() {
	[ $# -gt 0 ] || set -- bob@example.org
	run --separate-stderr pb -C "$CONF" "$@" <"$MSG"
}

assert_sent() {
	[ "$status" -eq 0 ] || fail "exit $status, expected 0; stderr: $stderr"
	[ -z "$stderr" ] || fail "exit 0, but stderr: $stderr"
}

json_get() { # FILE KEY
	"$PYTHON" -c 'import json, sys
v = json.load(open(sys.argv[1]))[sys.argv[2]]
print(v if isinstance(v, str) else json.dumps(v))' "$1" "$2"
}

assert_error_line() { # [FRAGMENT...]
	if [ -z "${stderr:-}" ] || [[ $stderr == *$'\n'* ]] || [[ $stderr != "postbote: "* ]]; then
		batslib_print_kv_single_or_multi 8 stderr "${stderr:-}" |
			batslib_decorate 'stderr is not exactly one line starting "postbote: "' | fail
		return 1
	fi
	local f
	for f in "$@"; do
		if [[ $stderr != *"$f"* ]]; then
			batslib_print_kv_single_or_multi 8 stderr "$stderr" expected "$f" |
				batslib_decorate 'stderr does not contain the expected fragment' | fail
			return 1
		fi
	done
}

assert_same_bytes() { # EXPECTED_FILE ACTUAL_FILE
	if ! cmp -s "$1" "$2"; then
		{
			echo "expected ($1):"
			od -c "$1" 2>&1 | sed 's/^/  /'
			echo "actual ($2):"
			od -c "$2" 2>&1 | sed 's/^/  /'
		} | batslib_decorate 'files differ' | fail
		return 1
	fi
}

# shellcheck disable=SC2120 # the .bats files pass the argument
client_lines() { # [plain|tls]
	local mode=${1:-[a-z]*}
	sed -n "s/^[0-9]* $mode //p" "$FAKE_OUT/transcript.log"
}

refute_client_sent() { # ERE: no line the client sent matches it
	local hits
	# shellcheck disable=SC2119
	hits=$(client_lines | grep -E -- "$1") || true
	if [ -n "$hits" ]; then
		printf '%s\n' "$hits" | batslib_decorate "the client sent lines matching /$1/" | fail
		return 1
	fi
}

crlf() {
	sed 's/$/\r/'
}

# std_message: a complete message (From, Date and Message-ID present, so postbote adds
# nothing), LF line ends.  Tests write it to $MSG and its CRLF form to $WANT.
std_message() {
	cat <<'MSG'
From: Alice Example <alice@example.org>
To: Bob <bob@example.org>
Subject: postbote test
Date: Mon, 01 Jan 2024 12:00:00 +0000
Message-ID: <std-1@example.org>

Hello Bob,
this is the body.
MSG
}
