#!/usr/bin/env bats
# Local users (postbote(1), LOCAL USERS): a user who may not read the system file, and has none
# of their own, sends through the setgid drop program; root's queue run resolves and delivers
# what they dropped. Against a real installation (tests/lib/install.bash: make install as root
# into a directory of the test's), real users made with useradd, the fake server and the real
# Postfix. Needs root.

load lib/common
load lib/postfix
load lib/install

setup_file() {
	[ "$(id -u)" = 0 ] || skip "needs root: useradd, make install, a setgid program"
	postfix_setup_file localusers
	install_postbote "$PF_TOP/pbi"
	export U1=pbla$$ U2=pblb$$
	test_user "$U1"
	test_user "$U2"
	export UID1 UID2
	UID1=$(id -u "$U1")
	UID2=$(id -u "$U2")
	export SECRET=$PF_PASS
}

teardown_file() {
	remove_test_users
	uninstall_postbote
	postfix_teardown_file
}

setup() {
	common_setup
	maildir_clear
	rm -rf "${PBI_DROPDIR:?}"/* "$PBI_DROPDIR"/.tmp.* "$PBI_SPOOL"/{q,hold,failed,rejected,tmp,rate}
	rm -f "$PBI/log" "$PBI_CONF"
	printf 'Subject: from a local user\n\nHello from a cron job.\n' >"$MSG"
	chmod 644 "$MSG"
	FAKE_PID=
}

teardown() {
	[ -n "${LISTENER:-}" ] && kill "$LISTENER" 2>/dev/null
	[ -n "${RUNNER:-}" ] && kill "$RUNNER" 2>/dev/null
	mountpoint -q "$PBI_DROPDIR" && umount "$PBI_DROPDIR"
	rm -f /etc/sudoers.d/postbote-test
	common_teardown
}

# system_conf [key=value...]: the system file for the real Postfix's submission port, 0600
# root, with the password in it; root's queue is the installation's spool
system_conf() {
	pf_conf "$PBI_CONF" submission from= queue=on queue_dir= maildomain=example.org \
		"logfile=$PBI/log" "$@"
	[ "$(stat -c '%a %U' "$PBI_CONF")" = "600 root" ] || fail "system file not 0600 root"
}

# fake_system_conf [LINE...]: the system file for the fake server (no TLS, no auth)
fake_system_conf() {
	{
		printf '[default]\nhost = localhost\nport = %s\ntls = off\nmaildomain = example.org\n' \
			"$FAKE_PORT"
		printf '%s\n' "$@"
	} | write_config "$PBI_CONF"
}

dropped() { find "$PBI_DROPDIR" -mindepth 1 -maxdepth 1 -name '[0-9]*' | sort; }
dropped_tmp() { find "$PBI_DROPDIR" -mindepth 1 -maxdepth 1 -name '.tmp.*'; }

# root's queue run, as cron or the path unit starts it
root_run() { run --separate-stderr timeout 60 "$PBI_BIN" -q "$@"; }

@test "a local user's message is dropped at once, and root's queue run delivers it through Postfix naming the user" {
	system_conf
	run --separate-stderr as_user "$U1" "$PBI_BIN" bob@example.org <"$MSG"
	assert_sent
	run dropped
	assert_equal "${#lines[@]}" 1
	assert_equal "$(stat -c '%U %G %a' "${lines[0]}")" "$U1 $PBI_GROUP 600"
	assert_equal "$(maildir_count)" 0

	root_run
	assert_sent
	maildir_wait 1
	run dropped
	assert_output ""
	run maildir_cat
	assert_line "Return-Path: <$U1@example.org>"
	assert_line "X-Original-To: bob@example.org"
	assert_line --regexp "^Received: by [^ ]+ \(postbote, from userid $UID1, user $U1\);$"
	assert_line "From: $U1@example.org"
	assert_line "Subject: from a local user"
	assert_line "Hello from a cron job."
	# the log line names the uid
	run grep -c "uid=$UID1 from=$U1@example.org recipients=bob@example.org .*queued=" "$PBI/log"
	assert_output 1
}

@test "the sender is the user's; -f is taken only as allow_from_override allows" {
	fake_start
	fake_system_conf "from = %U@example.org" "allow_from_override = off"
	run --separate-stderr as_user "$U1" "$PBI_BIN" -f ceo@example.org bob@example.org <"$MSG"
	assert_sent
	root_run
	assert_sent
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" mail_from)" "$U1@example.org"

	fake_system_conf
	run --separate-stderr as_user "$U2" "$PBI_BIN" -f ceo@example.org bob@example.org <"$MSG"
	assert_sent
	root_run
	assert_sent
	assert_equal "$(json_get "$FAKE_OUT/msg-2.json" mail_from)" "ceo@example.org"
	grep -q "^Received: by [^ ]* (postbote, from userid $UID2, user $U2);" "$FAKE_OUT/msg-2.eml"
}

@test "-t, the aliases file and bare local names resolve as in the user's own submission" {
	fake_start
	printf 'root: admin@example.org\n' >"$PBI/aliases"
	fake_system_conf "aliases = $PBI/aliases"
	printf 'To: root\nCc: carol\nSubject: logwatch\n\nreport\n' >"$MSG"
	run --separate-stderr as_user "$U1" "$PBI_BIN" -t -i <"$MSG"
	assert_sent
	root_run
	assert_sent
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" rcpt_tos)" '["admin@example.org", "carol@example.org"]'
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" mail_from)" "$U1@example.org"
	grep -q "^To: root@example.org" "$FAKE_OUT/msg-1.eml"
}

@test "what postbote can check without the configuration fails at once, as a direct submission would" {
	system_conf
	run --separate-stderr as_user "$U1" "$PBI_BIN" <"$MSG"
	assert_equal "$status" 64
	assert_error_line "no recipients given"
	printf 'Subject: no one\n\nbody\n' >"$MSG"
	run --separate-stderr as_user "$U1" "$PBI_BIN" -t <"$MSG"
	assert_equal "$status" 65
	assert_error_line "no recipients: none given and none in the To:, Cc: or Bcc:"
	printf 'Subject: nul\n\nbo\0dy\n' >"$MSG"
	run --separate-stderr as_user "$U1" "$PBI_BIN" bob@example.org <"$MSG"
	assert_equal "$status" 65
	run dropped
	assert_output ""
}

@test "a dropped message that cannot be resolved is set aside, not lost, and says why" {
	fake_start
	fake_system_conf
	run --separate-stderr as_user "$U1" "$PBI_BIN" -a nosuchaccount bob@example.org <"$MSG"
	assert_sent
	root_run
	assert_success
	[[ $stderr == *"set aside in $PBI_SPOOL/rejected"*"nosuchaccount"* ]] || fail "stderr: $stderr"
	run dropped
	assert_output ""
	assert_equal "$(find "$PBI_SPOOL/rejected" -type f | wc -l)" 1
	assert_file_not_exists "$FAKE_OUT/msg-1.json"
	# a configuration problem of the system's own keeps the message for the next run
	printf 'not an ini file\n' | write_config "$PBI_CONF"
	run --separate-stderr as_user "$U1" "$PBI_BIN" bob@example.org <"$MSG"
	assert_sent
	root_run
	assert_equal "$status" 78
	run dropped
	assert_equal "${#lines[@]}" 1
}

@test "the user cannot read the smarthost's password: file, drop directory, queue, /proc, the drop program" {
	system_conf
	run --separate-stderr as_user "$U1" "$PBI_BIN" bob@example.org <"$MSG"
	assert_sent
	local file
	file=$(dropped)
	# every file that holds it or the message, and every directory above them
	for f in "$PBI_CONF" "$file" "$PBI_DROPDIR"; do
		run as_user "$U1" cat "$f"
		assert_failure
		refute_output --partial "$SECRET"
	done
	run as_user "$U1" ls "$PBI_DROPDIR"
	assert_failure
	# root's queue: Postfix down, so the message waits there
	postfix_pause
	root_run
	assert_success
	postfix_resume
	run find "$PBI_SPOOL/q" -type f
	assert_equal "${#lines[@]}" 2
	for f in "${lines[@]}" "$PBI_SPOOL/q"; do
		run as_user "$U1" cat "$f"
		assert_failure
	done
	run as_user "$U1" ls "$PBI_SPOOL/q"
	assert_failure
	# postbote as the user shows nothing of it
	for args in "--serverinfo" "-bv bob@example.org" "-bp" "-q"; do
		# shellcheck disable=SC2086 # split on purpose
		run as_user "$U1" "$PBI_BIN" $args
		refute_output --partial "$SECRET"
		refute_output --partial "$PF_USER"
	done
	# the drop program takes no options and never opens the configuration
	for args in "-C $PBI_CONF" "--help" "$PBI_CONF" "-bv x"; do
		# shellcheck disable=SC2086
		run as_user "$U1" "$PBI_DROP" $args </dev/null
		assert_equal "$status" 64
		assert_output --partial "takes no arguments"
		refute_output --partial "$SECRET"
	done
	run strings "$PBI_DROP"
	refute_output --partial "postbote.conf"
	run ldd "$PBI_DROP"
	refute_output --regexp "gnutls|inih|gsasl|idn2"
	# a running queue run of root's, waiting for a server that never answers
	local port pid
	port=$(free_port)
	"$PYTHON" -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(5); c = s.accept(); time.sleep(60)' "$port" 3>&- &
	LISTENER=$!	# teardown stops it, whatever happens here
	for _ in $(seq 100); do
		[ -n "$(ss -Hltn "sport = :$port")" ] && break
		sleep 0.1
	done
	pf_conf "$PBI_CONF" submission "port=$port" tls=off queue=on queue_dir= timeout=60 \
		auth_plaintext=allow
	"$PBI_BIN" -q </dev/null >/dev/null 2>&1 3>&- &
	pid=$!
	RUNNER=$pid
	for _ in $(seq 100); do
		[ -n "$(ss -Htn state established "( dport = :$port )")" ] && break
		sleep 0.1
	done
	[ -n "$(ss -Htn state established "( dport = :$port )")" ] || fail "the queue run never connected"
	for f in environ mem maps "fd/0"; do
		run as_user "$U1" cat "/proc/$pid/$f"
		assert_failure
		refute_output --partial "$SECRET"
	done
	run as_user "$U1" ls "/proc/$pid/fd"
	assert_failure
	run as_user "$U1" cat "/proc/$pid/cmdline"
	refute_output --partial "$SECRET"
	kill "$pid" "$LISTENER"
	wait "$pid" "$LISTENER" 2>/dev/null || true
	LISTENER= RUNNER=
}

@test "a hostile user cannot write into the drop directory, nor make the drop program write what it did not check" {
	fake_start
	fake_system_conf
	run as_user "$U1" touch "$PBI_DROPDIR/1.00000000000000000000"
	assert_failure
	run as_user "$U1" ln -s /etc/shadow "$PBI_DROPDIR/1.00000000000000000000"
	assert_failure
	# requests written by hand instead of by postbote: each refused, nothing left
	local req
	for req in 'postbote-drop 1\nuid: 0\nrcpt: a\n\n' 'postbote-drop 1\nuser: root\nrcpt: a\n\n' \
		'postbote-drop 1\nqueue_dir: /tmp\nrcpt: a\n\n' 'postbote-drop 1\nrcpt: a\rb\n\n' \
		'postbote-drop 1\nfrom: a\nfrom: b\n\n' 'postbote-drop 1\ndsn-notify: SUCCESS ORCPT=x\n\n' \
		'postbote-drop 2\nrcpt: a\n\n' 'Subject: a plain message\n\nbody\n' \
		'postbote-drop 1\nrcpt: a\n'; do
		run --separate-stderr as_user "$U1" sh -c "printf '$req' | '$PBI_DROP'"
		assert_equal "$status" 65
		assert_error_line "refused"
	done
	run dropped
	assert_output ""
	run dropped_tmp
	assert_output ""
	# over the documented size: refused, and nothing left behind
	run --separate-stderr as_user "$U1" sh -c "{ printf 'postbote-drop 1\nrcpt: bob\n\n'; head -c 67108865 /dev/zero; } | '$PBI_DROP'"
	assert_equal "$status" 65
	assert_error_line "over the 64 MiB a local user may send"
	run find "$PBI_DROPDIR" -mindepth 1
	assert_output ""
	# a request that is fine is written, stamped with the caller's real uid whatever it says
	run --separate-stderr as_user "$U1" sh -c "printf 'postbote-drop 1\nrcpt: bob@example.org\n\nSubject: by hand\r\n\r\nx\r\n' | '$PBI_DROP'"
	assert_sent
	grep -qx "uid: $UID1" "$(dropped)"
	root_run
	assert_sent
	grep -q "^Received: by [^ ]* (postbote, from userid $UID1, user $U1);" "$FAKE_OUT/msg-1.eml"
}

@test "the drop program leaves room on its file system: a nearly full disk is a temporary failure" {
	mount -t tmpfs -o size=4m,mode=1770 tmpfs "$PBI_DROPDIR"
	chown "root:$PBI_GROUP" "$PBI_DROPDIR"
	system_conf
	run --separate-stderr as_user "$U1" "$PBI_BIN" bob@example.org <"$MSG"
	assert_equal "$status" 75
	assert_error_line "is nearly full" "the message was not taken"
	run find "$PBI_DROPDIR" -mindepth 1
	assert_output ""
}

@test "a drop program killed while writing leaves nothing that is ever sent" {
	fake_start
	fake_system_conf
	local fifo=$PBI/fifo
	rm -f "$fifo"
	mkfifo -m 666 "$fifo"
	as_user "$U1" "$PBI_DROP" <"$fifo" 3>&- &
	local waiter=$!
	exec 7>"$fifo"	# (fd 3 is bats')
	printf 'postbote-drop 1\nrcpt: bob@example.org\n\nSubject: half\r\n\r\nthe first half\r\n' >&7
	for _ in $(seq 100); do
		[ -n "$(dropped_tmp)" ] && [ -s "$(dropped_tmp)" ] && break
		sleep 0.1
	done
	[ -s "$(dropped_tmp)" ] || fail "the drop program wrote nothing"
	pkill -KILL -u "$U1" -x postbote-drop
	exec 7>&-
	wait "$waiter" || true
	run dropped
	assert_output ""
	root_run
	assert_sent
	assert_file_not_exists "$FAKE_OUT/msg-1.json"
	# what a killed drop program left goes after a day
	touch -d '2 days ago' "$(dropped_tmp)"
	root_run
	assert_sent
	run dropped_tmp
	assert_output ""
	assert_file_not_exists "$FAKE_OUT/msg-1.json"
}

@test "a user with a configuration of their own sends directly, and their queue stays theirs" {
	fake_start
	system_conf
	local home=/home/$U2
	install -d -o "$U2" -m 700 "$home/.config" "$home/.config/postbote"
	printf '[default]\nhost = localhost\nport = %s\ntls = off\nfrom = %s@example.org\n' \
		"$FAKE_PORT" "$U2" >"$home/.config/postbote/config"
	chown "$U2" "$home/.config/postbote/config"
	chmod 600 "$home/.config/postbote/config"
	run --separate-stderr as_user "$U2" "$PBI_BIN" bob@example.org <"$MSG"
	assert_sent
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" mail_from)" "$U2@example.org"
	run dropped
	assert_output ""
	fake_stop
	run --separate-stderr as_user "$U2" "$PBI_BIN" bob@example.org <"$MSG"
	assert_success
	run find "$home/.local/state/postbote/queue/q" -type f -user "$U2"
	assert_equal "${#lines[@]}" 2
	root_run
	assert_sent
	run find "$home/.local/state/postbote/queue/q" -type f
	assert_equal "${#lines[@]}" 2
}

@test "sudo mails about a non-root user's failed password through the drop" {
	command -v sudo >/dev/null || fail "sudo is not installed (tests/run installs it)"
	system_conf
	printf 'Defaults mailerpath=%s\nDefaults mailto=admin@example.org\nDefaults mail_badpass\n' \
		"$PBI_BIN" >/etc/sudoers.d/postbote-test
	chmod 440 /etc/sudoers.d/postbote-test
	visudo -cq -f /etc/sudoers.d/postbote-test
	run as_user "$U1" sh -c 'echo wrong | sudo -S -k true'
	assert_failure
	# sudo's mailer runs as the invoking user: so the message must be in the drop directory
	for _ in $(seq 100); do
		[ -n "$(dropped)" ] && break
		sleep 0.1
	done
	run dropped
	assert_equal "${#lines[@]}" 1
	root_run
	assert_sent
	maildir_wait 1
	run maildir_cat
	assert_line "X-Original-To: admin@example.org"
	assert_line --regexp "^Subject: \*\*\* SECURITY information for "
	assert_line --regexp "^Received: by [^ ]+ \(postbote, from userid $UID1, user $U1\);$"
}

@test "PHP's mail() as www-data: dropped, then delivered through Postfix" {
	command -v php >/dev/null || fail "php is not installed (tests/run installs php-cli)"
	system_conf
	run --separate-stderr timeout 30 runuser -u www-data -- env -i HOME=/var/www PATH=/usr/bin:/bin \
		php -d "sendmail_path=$PBI_BIN -t -i" \
		-r 'exit(mail("bob@example.org", "from php", "Hello from PHP.") ? 0 : 1);'
	assert_sent
	run dropped
	assert_equal "${#lines[@]}" 1
	root_run
	assert_sent
	maildir_wait 1
	run maildir_cat
	assert_line "Return-Path: <www-data@example.org>"
	assert_line "Subject: from php"
	assert_line --regexp "^Received: by [^ ]+ \(postbote, from userid $(id -u www-data), user www-data\);$"
}

@test "a per-user crontab under Debian's cron: the job's output is mailed through the drop" {
	command -v cron >/dev/null && command -v crontab >/dev/null ||
		fail "cron is not installed (tests/run installs it)"
	system_conf
	local ns=$PBI/cron
	rm -rf "$ns"
	mkdir -p "$ns/crontabs" "$ns/cron.d"
	chown root:crontab "$ns/crontabs"
	chmod 1730 "$ns/crontabs"
	: >"$ns/crontab"
	: >"$ns/crond.pid"
	printf 'MAILTO=admin@example.org\n* * * * * echo "the job of %s ran"\n' "$U1" >"$ns/job"
	chmod 644 "$ns/job"
	# cron in a mount namespace of its own, where /usr/sbin/sendmail is the installed postbote and
	# the machine's crontabs, cron.d and pid file are out of sight
	[ -e /run/crond.pid ] || : >/run/crond.pid
	unshare --mount --propagation private sh -c '
		mount --bind "$1" /usr/sbin/sendmail &&
		mount --bind "$2/crontabs" /var/spool/cron/crontabs &&
		mount --bind "$2/cron.d" /etc/cron.d && mount --bind "$2/crontab" /etc/crontab &&
		mount --bind "$2/crond.pid" /run/crond.pid &&
		crontab -u "$3" "$2/job" && exec cron -f' _ "$PBI_BIN" "$ns" "$U1" \
		>"$ns/cron.log" 2>&1 3>&- &
	local cron=$!
	# the job runs at the next full minute
	for _ in $(seq 900); do
		[ -n "$(dropped)" ] && break
		_pid_running "$cron" || break
		sleep 0.1
	done
	kill "$cron" 2>/dev/null
	wait "$cron" 2>/dev/null || true
	run dropped
	[ "${#lines[@]}" -ge 1 ] || fail "nothing dropped; cron said: $(cat "$ns/cron.log")"
	root_run
	assert_sent
	maildir_wait 1
	run maildir_cat
	assert_line "X-Original-To: admin@example.org"
	assert_line "Return-Path: <$U1@example.org>"
	assert_line --regexp "^Subject: Cron <$U1@[^>]+> echo "
	assert_line "the job of $U1 ran"
	assert_line --regexp "^Received: by [^ ]+ \(postbote, from userid $UID1, user $U1\);$"
}

@test "make install as root makes the group, the setgid bit and the directories; uninstall removes them; DESTDIR only prints" {
	local dir=$PF_TOP/second group=pbdrop2$$
	rm -rf "$dir"
	mkdir -p "$dir/build"
	(cd "$dir/build" && "$REPO_DIR/configure" -q --prefix="$dir/inst" --localstatedir="$dir/var" \
		--sysconfdir="$dir/etc" --with-drop-group="$group" && make -j"$(nproc)" -s) >/dev/null 2>&1 ||
		fail "build failed"
	run make -C "$dir/build" -s install
	assert_success
	getent group "$group"
	assert_equal "$(stat -c '%U %G %a' "$dir/inst/libexec/postbote/postbote-drop")" "root $group 2755"
	assert_equal "$(stat -c '%U %G %a' "$dir/var/spool/postbote")" "root root 755"
	assert_equal "$(stat -c '%U %G %a' "$dir/var/spool/postbote/drop")" "root $group 1770"
	run make -C "$dir/build" -s uninstall
	assert_success
	run getent group "$group"
	assert_failure
	assert_file_not_exists "$dir/inst/libexec/postbote/postbote-drop"
	assert_dir_not_exists "$dir/var/spool/postbote/drop"
	# into a staging directory: files only, and the commands for root
	run make -C "$dir/build" -s install DESTDIR="$dir/stage"
	assert_success
	assert_output --partial "so that local users can send, run as root"
	assert_output --partial "groupadd --system $group"
	assert_output --partial "chmod 2755 '$dir/inst/libexec/postbote/postbote-drop'"
	assert_equal "$(stat -c '%U %G %a' "$dir/stage$dir/inst/libexec/postbote/postbote-drop")" "root root 755"
	run getent group "$group"
	assert_failure
	rm -rf "$dir"
}

@test "Symfony Mailer's default -bs transport as www-data (PHP-FPM): recipients taken, both messages dropped, then delivered" {
	command -v php >/dev/null && [ -f /usr/share/php/Symfony/Component/Mailer/autoload.php ] ||
		fail "php-symfony-mailer is not installed (tests/run installs it)"
	system_conf
	cp "$TESTS_DIR/clients/symfony-mailer.php" "$PBI/symfony-mailer.php"
	chmod 644 "$PBI/symfony-mailer.php"
	run --separate-stderr timeout 60 runuser -u www-data -- env -i HOME=/var/www PATH=/usr/bin:/bin \
		php "$PBI/symfony-mailer.php" "$PBI_BIN -bs" 2 app@example.org bob@example.org
	[ "$status" -eq 0 ] || fail "php exited $status: $stderr $output"
	assert_output "sent 2"
	run dropped
	assert_equal "${#lines[@]}" 2
	root_run
	assert_sent
	maildir_wait 2
	for m in 1 2; do
		run maildir_cat "$m"
		assert_line "Return-Path: <app@example.org>"
		assert_line --regexp "^Subject: symfony [12]$"
		assert_line --regexp "^Received: by [^ ]+ \(postbote, from userid $(id -u www-data), user www-data\);$"
	done
}

@test "-bs as a local user: the session's answers, the message dropped with the envelope it gave" {
	fake_start
	fake_system_conf
	printf '%s\r\n' 'EHLO c' 'MAIL FROM:<app@example.org>' 'RCPT TO:<bob@example.org>' \
		'RCPT TO:<carol>' DATA 'Subject: by bs' '' '..dot' . QUIT >"$PBI/session"
	chmod 644 "$PBI/session"
	run --separate-stderr as_user "$U1" "$PBI_BIN" -bs <"$PBI/session"
	assert_success
	assert_line --regexp $'^250 2\\.0\\.0 taken for root\'s next queue run\r$'
	refute_line --regexp '^250-DSN'
	run dropped
	assert_equal "${#lines[@]}" 1
	root_run
	assert_sent
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" rcpt_tos)" '["bob@example.org", "carol@example.org"]'
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" mail_from)" "app@example.org"
	grep -q '^\.dot' "$FAKE_OUT/msg-1.eml"
}

@test "mailq as root lists what local users dropped, in Postfix's layout and as JSON; -bp --failed what was set aside" {
	fake_start
	fake_system_conf
	run --separate-stderr as_user "$U1" "$PBI_BIN" -f app@example.org bob@example.org carol <"$MSG"
	assert_sent
	local name size
	name=$(basename "$(dropped)")
	size=$(stat -c %s "$MSG")
	run --separate-stderr "$PBI_BIN" -bp
	assert_success
	assert_line --index 0 --regexp '^-+Queue ID-+ '
	assert_line --index 1 --regexp "^$name +[0-9]+ [A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} +app@example.org$"
	assert_line --regexp "^ *\(dropped by local user $U1 \(uid $UID1\), waiting for root's next queue run\)$"
	assert_line --regexp '^ +bob@example.org$'
	assert_line --regexp '^ +carol$'
	assert_line --regexp '^-- [0-9]+ Kbytes in 1 Request\.$'
	# as JSON, one line
	run --separate-stderr "$PBI_BIN" -bp --json
	assert_success
	run "$PYTHON" -c 'import json, sys
m = json.loads(sys.stdin.read())
print(m["queue_name"], m["queue_id"], m["sender"], [r["address"] for r in m["recipients"]])' <<<"$output"
	assert_output "maildrop $name app@example.org ['bob@example.org', 'carol']"
	# the user sees none of it
	run --separate-stderr as_user "$U1" "$PBI_BIN" -bp
	refute_output --partial "$name"
	# picked up, it is an ordinary queued message; one that cannot be resolved is listed with --failed
	run --separate-stderr as_user "$U1" "$PBI_BIN" -a nosuch bob@example.org <"$MSG"
	assert_sent
	root_run
	run --separate-stderr "$PBI_BIN" -bp --failed
	assert_success
	assert_line --regexp "^ *\(set aside: dropped by local user $U1 \(uid $UID1\); postbote's warning at the queue run said why\)$"
}
