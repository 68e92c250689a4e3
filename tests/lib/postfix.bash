# A private Postfix smarthost with Dovecot as its SASL server, on loopback, for the integration
# tests (tests/postfix.bats) and the benchmark (tests/bench/run). Needs root (Postfix's master
# runs as root), packages postfix, dovecot-core, gnutls-bin and iproute2 (ss). /etc/postfix and
# /etc/dovecot are never touched: everything lives under DIR.
#
# postfix_start DIR
#   DIR must be traversable by the users postfix and nobody (smtpd reaches Dovecot's socket by
#   absolute path, virtual(8) delivers as nobody): postfix_start makes DIR mode 0755 and fails
#   if a parent directory is not world-searchable. Bats' own temp dirs are 0700: use
#   `mktemp -d /tmp/NAME.XXXXXX`. Exports:
#     PF_DIR          DIR
#     PF_SUBMISSION   port: STARTTLS required (smtpd_tls_security_level=encrypt), AUTH,
#                     permit_sasl_authenticated,reject
#     PF_SMTPS        port: implicit TLS (wrappermode), AUTH, same restrictions
#     PF_PLAIN        port: offers no STARTTLS at all but does offer AUTH (so a client that sends
#                     credentials in clear text would succeed); its smtpd logs every command
#     PF_NOPIPE       port: like PF_SUBMISSION without PIPELINING
#     PF_LIMIT50      port: like PF_SUBMISSION with smtpd_recipient_limit = 50 (the 51st RCPT of
#                     a transaction gets "452 4.5.3 Error: too many recipients")
#     PF_CLOSED       a loopback port on which nothing listened at start-up
#     PF_CA           the test CA (ca.pem) that signed the servers' certificate
#     PF_CADIR        the make_test_ca directory (other-ca.pem, wrongname.pem, ...)
#     PF_MAILDIR      the maildir every recipient is delivered into (messages in $PF_MAILDIR/new)
#     PF_LOG          Postfix's log; PF_DOVECOT_LOG Dovecot's log
#     PF_USER PF_PASS PF_FROM       test account (password has : ; # @)
#     PF_USER2 PF_PASS2 PF_FROM2    second account (password has space = , and UTF-8)
# postfix_stop DIR
#   stops Postfix and Dovecot and waits until they are gone. Safe to call twice.
# postfix_pause / postfix_resume
#   stop only Postfix (Dovecot keeps running), so that every listener refuses connections, and
#   start it again, waiting until every listener accepts. Mail delivered before stays.
#
# Helpers: maildir_count, maildir_wait N [TIMEOUT], maildir_clear, maildir_files, maildir_cat [N],
# maildir_body [N], pf_log_size, pf_log_wait OFFSET REGEX [TIMEOUT], pf_log_since OFFSET,
# pf_conf FILE LISTENER [key=value...], pf_port LISTENER, pf_ports.

_PF_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/ca.bash
. "$_PF_LIB_DIR/ca.bash"

export PF_USER=alice
export PF_PASS='p@ss:w0rd;#x'
export PF_FROM=alice@example.org
export PF_USER2=carol@example.org
export PF_PASS2='C0rrect horse=,batt€ry'
export PF_FROM2=carol@example.org

_pf_err() { printf 'postfix.bash: %s\n' "$*" >&2; }

# _pf_poll TENTHS CMD...: run CMD every 0.1 s until it succeeds, at most TENTHS times.
_pf_poll() {
	local n=$1 i
	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

_pf_listening() { [ -n "$(ss -Hltn "sport = :$1")" ]; }
_pf_not_listening() { ! _pf_listening "$1"; }

# _pf_free_port: a loopback TCP port below the ephemeral range on which nothing listens.
# Ports already handed out in this start-up are in _pf_taken.
_pf_free_port() {
	local p i
	for ((i = 0; i < 200; i++)); do
		p=$((20000 + (RANDOM % 12000)))
		case " $_pf_taken " in *" $p "*) continue ;; esac
		if _pf_not_listening "$p"; then
			echo "$p"
			return 0
		fi
	done
	_pf_err "no free port found"
	return 1
}

_pf_searchable() { # every parent of $1 must be world-searchable
	local d
	d=$(dirname "$1")
	while [ "$d" != / ]; do
		if [ "$(($(stat -c '0%a' "$d") & 1))" = 0 ]; then
			_pf_err "$d is not world-searchable; postfix and nobody must reach $1"
			return 1
		fi
		d=$(dirname "$d")
	done
}

_pf_b64() { printf '%s' "$1" | base64 -w0; }

_pf_write_dovecot() {
	local d=$1
	mkdir -p "$d/dovecot/run" "$d/dovecot/state"
	cat >"$d/dovecot/dovecot.conf" <<-EOF
		# Dovecot as a SASL server for Postfix only: no IMAP/POP3, no mail storage.
		base_dir = $d/dovecot/run
		state_dir = $d/dovecot/state
		instance_name = postbote-test-$(basename "$d")
		protocols =
		ssl = no
		log_path = $d/dovecot.log
		info_log_path = $d/dovecot.log
		auth_verbose = yes
		auth_mechanisms = plain login cram-md5 digest-md5 scram-sha-1 scram-sha-256
		auth_failure_delay = 0s
		auth_username_chars =
		disable_plaintext_auth = no
		# Failed logins are answered at once: a first passdb that authenticates nobody adds
		# "nodelay" (fields of a failed passdb are rolled back, so passwd-file cannot add it).
		passdb {
		  driver = static
		  args = nopassword noauthenticate nodelay
		  result_success = continue
		}
		passdb {
		  driver = passwd-file
		  args = username_format=%u $d/dovecot/users
		}
		userdb {
		  driver = static
		  args = uid=65534 gid=65534 home=/nonexistent
		}
		service auth {
		  unix_listener auth-postfix {
		    mode = 0666
		  }
		}
		service anvil {
		  unix_listener anvil-auth-penalty {
		    mode = 0
		  }
		}
	EOF
	# passwd-file is colon-separated: store passwords base64-encoded.
	printf '%s:{PLAIN.B64}%s::::::\n' \
		"$PF_USER" "$(_pf_b64 "$PF_PASS")" \
		"$PF_USER2" "$(_pf_b64 "$PF_PASS2")" >"$d/dovecot/users"
	chmod 640 "$d/dovecot/users"
	chgrp dovecot "$d/dovecot/users"
}

_pf_write_postfix() {
	local d=$1
	mkdir -p "$d/conf" "$d/queue" "$d/data" "$d/mail"
	chown postfix "$d/data"
	chown 65534:65534 "$d/mail"
	cat >"$d/conf/main.cf" <<-EOF
		compatibility_level = 3.6
		queue_directory = $d/queue
		data_directory = $d/data
		mail_owner = postfix
		setgid_group = postdrop
		myhostname = postfix.test
		mydomain = postfix.test
		myorigin = \$myhostname
		mydestination =
		relay_domains =
		inet_interfaces = 127.0.0.1
		inet_protocols = ipv4
		mynetworks = 127.0.0.0/8
		biff = no
		maillog_file = $d/maillog
		maillog_file_prefixes = $d
		alias_maps =
		alias_database =
		local_recipient_maps =

		# Every recipient of every domain goes into one maildir; nothing can leave the machine.
		virtual_mailbox_domains = static:ALL
		virtual_mailbox_base = $d/mail
		virtual_mailbox_maps = static:catchall/
		virtual_uid_maps = static:65534
		virtual_gid_maps = static:65534
		virtual_minimum_uid = 100
		default_transport = error:5.7.1 mail leaves no test machine
		relay_transport = error:5.7.1 mail leaves no test machine
		local_transport = error:5.7.1 no local delivery in tests

		# Keep what the client sent: no added Date/Message-ID/From, no rewriting.
		local_header_rewrite_clients =
		always_add_missing_headers = no
		smtpd_forbid_bare_newline = reject
		smtpd_forbid_bare_newline_exclusions =
		smtpd_error_sleep_time = 0
		message_size_limit = 209715200
		virtual_mailbox_limit = 0
		mailbox_size_limit = 0

		smtpd_tls_cert_file = $d/ca/server.pem
		smtpd_tls_key_file = $d/ca/server.key
		smtpd_tls_loglevel = 1
		smtpd_tls_received_header = yes
		smtpd_sasl_type = dovecot
		smtpd_sasl_path = $d/dovecot/run/auth-postfix
		smtpd_sasl_authenticated_header = yes
		smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination
	EOF
	local auth='-o smtpd_sasl_auth_enable=yes -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject'
	cat >"$d/conf/master.cf" <<-EOF
		# service type  private unpriv  chroot  wakeup  maxproc command + args
		127.0.0.1:$PF_SUBMISSION inet n - n - - smtpd -o syslog_name=postfix/submission
		  -o smtpd_tls_security_level=encrypt $auth
		127.0.0.1:$PF_SMTPS inet n - n - - smtpd -o syslog_name=postfix/smtps
		  -o smtpd_tls_wrappermode=yes $auth
		127.0.0.1:$PF_PLAIN inet n - n - - smtpd -o syslog_name=postfix/plain
		  -o smtpd_tls_security_level=none -o smtpd_tls_auth_only=no $auth
		  -o debug_peer_list=127.0.0.1 -o debug_peer_level=2
		127.0.0.1:$PF_NOPIPE inet n - n - - smtpd -o syslog_name=postfix/nopipe
		  -o smtpd_tls_security_level=encrypt $auth
		  -o smtpd_discard_ehlo_keywords=pipelining
		127.0.0.1:$PF_LIMIT50 inet n - n - - smtpd -o syslog_name=postfix/limit50
		  -o smtpd_tls_security_level=encrypt $auth
		  -o smtpd_recipient_limit=50
		pickup    unix  n       -       n       60      1       pickup
		cleanup   unix  n       -       n       -       0       cleanup
		qmgr      unix  n       -       n       300     1       qmgr
		tlsmgr    unix  -       -       n       1000?   1       tlsmgr
		rewrite   unix  -       -       n       -       -       trivial-rewrite
		bounce    unix  -       -       n       -       0       bounce
		defer     unix  -       -       n       -       0       bounce
		trace     unix  -       -       n       -       0       bounce
		verify    unix  -       -       n       -       1       verify
		flush     unix  n       -       n       1000?   0       flush
		proxymap  unix  -       -       n       -       -       proxymap
		proxywrite unix -       -       n       -       1       proxymap
		smtp      unix  -       -       n       -       -       smtp
		relay     unix  -       -       n       -       -       smtp
		showq     unix  n       -       n       -       -       showq
		error     unix  -       -       n       -       -       error
		retry     unix  -       -       n       -       -       error
		discard   unix  -       -       n       -       -       discard
		local     unix  -       n       n       -       -       local
		virtual   unix  -       n       n       -       -       virtual
		lmtp      unix  -       -       n       -       -       lmtp
		anvil     unix  -       -       n       -       1       anvil
		scache    unix  -       -       n       -       1       scache
		postlog   unix-dgram n  -       n       -       1       postlogd
	EOF
}

postfix_start() {
	local d=${1:?postfix_start DIR}
	local p
	if [ "$(id -u)" != 0 ]; then
		_pf_err "Postfix's master must run as root"
		return 1
	fi
	for p in postfix postconf dovecot certtool ss; do
		command -v "$p" >/dev/null || { _pf_err "$p is not installed"; return 1; }
	done
	mkdir -p "$d" && d=$(cd "$d" && pwd) || return 1
	chmod 0755 "$d" && _pf_searchable "$d" || return 1
	export PF_DIR=$d PF_MAILDIR=$d/mail/catchall PF_LOG=$d/maillog PF_DOVECOT_LOG=$d/dovecot.log
	export PF_CADIR=$d/ca PF_CA=$d/ca/ca.pem

	make_test_ca "$d/ca" || { _pf_err "make_test_ca failed"; return 1; }
	chmod 0755 "$d/ca"
	local _pf_taken=''
	export PF_SUBMISSION PF_SMTPS PF_PLAIN PF_NOPIPE PF_LIMIT50 PF_CLOSED
	PF_SUBMISSION=$(_pf_free_port) && _pf_taken+=" $PF_SUBMISSION" &&
		PF_SMTPS=$(_pf_free_port) && _pf_taken+=" $PF_SMTPS" &&
		PF_PLAIN=$(_pf_free_port) && _pf_taken+=" $PF_PLAIN" &&
		PF_NOPIPE=$(_pf_free_port) && _pf_taken+=" $PF_NOPIPE" &&
		PF_LIMIT50=$(_pf_free_port) && _pf_taken+=" $PF_LIMIT50" &&
		PF_CLOSED=$(_pf_free_port) || return 1

	_pf_write_dovecot "$d"
	_pf_write_postfix "$d"
	: >"$d/maillog"
	: >"$d/dovecot.log"

	# Dovecot's master keeps the descriptors it inherits: give it none that anyone waits on.
	dovecot -c "$d/dovecot/dovecot.conf" </dev/null >/dev/null 2>>"$d/dovecot.log" 3>&- || {
		_pf_err "dovecot did not start; see $d/dovecot.log"
		return 1
	}
	_pf_poll 100 test -S "$d/dovecot/run/auth-postfix" || {
		_pf_err "dovecot's auth socket did not appear; see $d/dovecot.log"
		return 1
	}

	if ! postfix -c "$d/conf" check </dev/null >>"$d/postfix-start.log" 2>&1 3>&- ||
		! postfix -c "$d/conf" start </dev/null >>"$d/postfix-start.log" 2>&1 3>&-; then
		_pf_err "postfix did not start; see $d/postfix-start.log and $d/maillog"
		cat "$d/postfix-start.log" >&2
		return 1
	fi
	_pf_wait_listeners
}

# pf_ports: the ports of every listener
pf_ports() { echo "$PF_SUBMISSION $PF_SMTPS $PF_PLAIN $PF_NOPIPE $PF_LIMIT50"; }

# _pf_poll_ports N CHECK WHY: _pf_poll N CHECK PORT for every port; on the first that fails,
# says "port PORT WHY" and returns 1
_pf_poll_ports() {
	local n=$1 check=$2 why=$3 p
	for p in $(pf_ports); do
		_pf_poll "$n" "$check" "$p" || {
			_pf_err "port $p $why"
			return 1
		}
	done
}

_pf_wait_listeners() {
	_pf_poll_ports 150 _pf_listening "has no listener; see $PF_DIR/maillog"
}

# _pf_alive PID: running and not a zombie (a daemon's parent may never reap it)
_pf_alive() {
	local state
	[ -r "/proc/$1/stat" ] || return 1
	state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$state" ] && [ "$state" != Z ]
}

_pf_no_postfix() { # no Postfix process of this instance (Dovecot's run in dovecot/)
	local p c
	for p in /proc/[0-9]*; do
		c=$(readlink "$p/cwd" 2>/dev/null) || continue
		case $c in "$PF_DIR"/queue | "$PF_DIR"/queue/*) _pf_alive "${p#/proc/}" && return 1 ;; esac
	done
	return 0
}

postfix_pause() {
	local pid
	pid=$(_pf_pidfile "$PF_DIR/queue/pid/master.pid") || {
		_pf_err "no Postfix master pid in $PF_DIR/queue/pid/master.pid"
		return 1
	}
	kill -TERM "$pid" 2>/dev/null
	_pf_poll 100 _pf_no_postfix || {
		_pf_err "Postfix still running 10 s after SIGTERM"
		return 1
	}
	_pf_poll_ports 50 _pf_not_listening "still listening after Postfix stopped"
}

postfix_resume() {
	postfix -c "$PF_DIR/conf" start </dev/null >>"$PF_DIR/postfix-start.log" 2>&1 3>&- || {
		_pf_err "postfix did not start again; see $PF_DIR/postfix-start.log"
		return 1
	}
	_pf_wait_listeners
}

# _pf_procs DIR: pids of the processes of this instance. Every Postfix daemon runs in its
# queue_directory and every Dovecot process in its base_dir, both under DIR.
_pf_procs() {
	local p c
	for p in /proc/[0-9]*; do
		c=$(readlink "$p/cwd" 2>/dev/null) || continue
		case $c in "$1"/*) echo "${p#/proc/}" ;; esac
	done
}

_pf_no_procs() { [ -z "$(_pf_procs "$1")" ]; }

_pf_pidfile() { [ -s "$1" ] && tr -dc 0-9 <"$1"; }

postfix_stop() {
	local d=${1:?postfix_stop DIR}
	local pid left
	[ -d "$d" ] || return 0
	d=$(cd "$d" && pwd) || return 1
	# What `postfix stop` does, without its fixed one-second sleeps: SIGTERM to the master.
	pid=$(_pf_pidfile "$d/queue/pid/master.pid") && kill -TERM "$pid" 2>/dev/null
	pid=$(_pf_pidfile "$d/dovecot/run/master.pid") && kill -TERM "$pid" 2>/dev/null
	_pf_poll 100 _pf_no_procs "$d" && return 0
	left=$(_pf_procs "$d")
	_pf_err "still running after 10 s, killing: $left"
	# shellcheck disable=SC2086 # one pid per word
	kill -KILL $left 2>/dev/null
	_pf_poll 20 _pf_no_procs "$d"
	return 1
}

# ---- the maildir -------------------------------------------------------------------------

maildir_count() {
	local n=0 f
	for f in "$PF_MAILDIR"/new/*; do
		[ -f "$f" ] && n=$((n + 1))
	done
	echo "$n"
}

_pf_maildir_has() { [ "$(maildir_count)" -ge "$1" ]; }

# maildir_wait N [TIMEOUT]: wait until at least N messages are in the maildir (default 10 s).
maildir_wait() {
	local n=$1 t=${2:-10}
	_pf_poll $((t * 10)) _pf_maildir_has "$n" || {
		_pf_err "expected $n message(s) in $PF_MAILDIR/new, found $(maildir_count) after ${t}s"
		return 1
	}
}

maildir_clear() {
	rm -f "$PF_MAILDIR"/new/* "$PF_MAILDIR"/cur/* 2>/dev/null
	return 0
}

# maildir_files: message files, oldest first.
maildir_files() {
	local f
	for f in "$PF_MAILDIR"/new/*; do
		[ -f "$f" ] && printf '%s %s\n' "$(stat -c %.9Y "$f")" "$f"
	done | sort -n | cut -d' ' -f2-
}

# maildir_cat [N]: print the Nth message (1 = oldest, the default) as delivered.
maildir_cat() {
	local f
	f=$(maildir_files | sed -n "${1:-1}p")
	[ -n "$f" ] || { _pf_err "no message ${1:-1} in $PF_MAILDIR/new"; return 1; }
	cat -- "$f"
}

# maildir_body [N]: the Nth message without the Return-Path, Delivered-To and Received headers
# that delivery prepended, i.e. what the client sent (with LF line endings).
maildir_body() {
	maildir_cat "${1:-1}" | awk '
		done { print; next }
		/^(Return-Path|X-Original-To|Delivered-To|Received):/ { skip = 1; next }
		skip && /^[ \t]/ { next }
		{ done = 1; print }'
}

# ---- the logs ----------------------------------------------------------------------------

# pf_log_size: current size of Postfix's log, an offset for pf_log_since / pf_log_wait.
pf_log_size() { stat -c %s "$PF_LOG"; }

pf_log_since() { tail -c +$(($1 + 1)) "$PF_LOG"; }

_pf_log_has() { pf_log_since "$1" | grep -Eq -- "$2"; }

# pf_log_wait OFFSET REGEX [TIMEOUT]: wait until a line after OFFSET matches (postlogd writes
# asynchronously).
pf_log_wait() {
	_pf_poll $((${3:-10} * 10)) _pf_log_has "$1" "$2" || {
		_pf_err "no log line matching '$2' after offset $1 in $PF_LOG within ${3:-10}s"
		return 1
	}
}

# ---- client configuration ----------------------------------------------------------------

# pf_port LISTENER: the port of submission|smtps|plain|nopipe|limit50|closed.
pf_port() {
	case $1 in
	submission) echo "$PF_SUBMISSION" ;;
	smtps) echo "$PF_SMTPS" ;;
	plain) echo "$PF_PLAIN" ;;
	nopipe) echo "$PF_NOPIPE" ;;
	limit50) echo "$PF_LIMIT50" ;;
	closed) echo "$PF_CLOSED" ;;
	*) _pf_err "unknown listener '$1'"; return 1 ;;
	esac
}

# pf_conf FILE LISTENER [key=value...]: write a postbote config with one account "default"
# for LISTENER as the test user; key=value pairs replace or add keys, key= removes one.
# The file is mode 0600 (it holds a password).
pf_conf() {
	local f=$1 l=$2 port tls=starttls kv k v
	shift 2
	port=$(pf_port "$l") || return 1
	[ "$l" = smtps ] && tls=implicit
	# queue = off unless a test asks for it: a single submission then shows its own outcome
	local -a keys=(host port tls tls_trust_file user password from queue queue_dir state_dir)
	local -A val=([host]=localhost [port]=$port [tls]=$tls [tls_trust_file]=$PF_CA
		[user]=$PF_USER [password]=$PF_PASS [from]=$PF_FROM [queue]=off
		[queue_dir]=${BATS_TEST_TMPDIR:-$PF_DIR}/queue
		[state_dir]=${BATS_TEST_TMPDIR:-$PF_DIR}/state)
	for kv in "$@"; do
		k=${kv%%=*} v=${kv#*=}
		[ -n "${val[$k]+x}" ] || keys+=("$k")
		val[$k]=$v
	done
	(
		umask 077
		{
			echo '[default]'
			for k in "${keys[@]}"; do
				[ -n "${val[$k]}" ] && printf '%s = %s\n' "$k" "${val[$k]}"
			done
		} >"$f"
	)
	chmod 600 "$f"
}

# postfix_can_run: root, with Postfix and Dovecot installed.
postfix_can_run() {
	[ "$(id -u)" = 0 ] && command -v postfix >/dev/null && command -v dovecot >/dev/null
}

# postfix_setup_file NAME: a private instance for one .bats file, in PF_TOP; the file is
# skipped without root or the packages.
postfix_setup_file() {
	postfix_can_run || skip "needs root, postfix and dovecot-core"
	# Postfix (user postfix) and virtual(8) (user nobody) reach into the directory:
	# Bats' own temp dirs are mode 0700.
	PF_TOP=$(mktemp -d "${TMPDIR:-/tmp}/postbote-$1.XXXXXX")
	export PF_TOP
	postfix_start "$PF_TOP" 3>&-
}

# postfix_teardown_file: stops what postfix_setup_file started (POSTBOTE_KEEP keeps the files).
postfix_teardown_file() {
	[ -n "${PF_TOP:-}" ] || return 0
	postfix_stop "$PF_TOP"
	[ -n "${POSTBOTE_KEEP:-}" ] || rm -rf "$PF_TOP"
}
