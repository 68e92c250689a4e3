#!/usr/bin/env bats
# postbote --import-msmtprc: msmtprc files translated, with msmtp itself (package msmtp) run on
# the same file as the reference: for every account, msmtp -P (--pretend: the settings it would
# use) and postbote -bv on the translation must name the same host, port, TLS mode, user and
# envelope sender. Also the output file (mode 0600, never replacing one), where the msmtprc is
# looked for, eval, and what has no equivalent. Delivery through the real Postfix with an
# imported file is in import_postfix.bats.

load lib/common

setup_file() { common_setup_file; }

setup() {
	common_setup
	RC=$BATS_TEST_TMPDIR/msmtprc
	OUT=$BATS_TEST_TMPDIR/imported.conf
}

teardown() { common_teardown; }

need_msmtp() { command -v msmtp >/dev/null || skip "needs msmtp"; }

# msmtp_get ACCOUNT KEY: the value msmtp -P shows for KEY ("host = x" -> x)
msmtp_get() {
	msmtp -C "$RC" -a "$1" -P </dev/null 2>/dev/null | sed -n "s/^$2 = //p"
}

# msmtp_mode ACCOUNT: msmtp's TLS settings in postbote's words
msmtp_mode() {
	if [ "$(msmtp_get "$1" tls)" = off ]; then
		echo off
	elif [ "$(msmtp_get "$1" tls_starttls)" = on ]; then
		echo starttls
	else
		echo implicit
	fi
}

# section_get ACCOUNT KEY: KEY's value in the section [ACCOUNT] of $OUT
section_get() {
	awk -v s="[$1]" -v k="$2" '$0 == s { on = 1; next } /^\[/ { on = 0 }
		on && index($0, k " = ") == 1 { print substr($0, length(k) + 4) }' "$OUT"
}

# same_as_msmtp ACCOUNT: postbote's view of the imported account equals msmtp's of the original
same_as_msmtp() {
	local a=$1 host port mode from user
	host=$(msmtp_get "$a" host) port=$(msmtp_get "$a" port) mode=$(msmtp_mode "$a")
	from=$(msmtp_get "$a" from) user=$(msmtp_get "$a" user)
	[ -n "$host" ] || fail "msmtp -P shows no host for $a"
	run --separate-stderr pb -C "$OUT" -a "$a" -bv someone@example.org
	[ "$status" -eq 0 ] || fail "postbote refuses account $a of the translation: $stderr"
	# without from, msmtp needs -f; postbote falls back to the login name (postbote(1))
	[ "$from" = "(not set)" ] && from=${lines[0]##*from <} from=${from%>}
	[ "${lines[0]}" = "account $a (named with -a): $host port $port, tls $mode, from <$from>" ] ||
		fail "account $a: postbote says '${lines[0]}'; msmtp: $host port $port, tls $mode, from <$from>"
	if [ "$user" = "(not set)" ]; then
		[ -z "$(section_get "$a" user)" ] || fail "account $a: user set, but msmtp has none"
	else
		[ "$(section_get "$a" user)" = "$user" ] || fail "account $a: user '$(section_get "$a" user)', msmtp '$user'"
	fi
}

typical_rc() {
	write_config "$RC" <<'RC'
# mail accounts, as msmtp's documentation describes them
defaults
auth           on
tls            on
tls_trust_file /etc/ssl/certs/ca-certificates.crt
logfile        ~/.msmtp.log

# a provider on the submission port
account        gmail
host           smtp.gmail.com
port           587
from           alice@gmail.com
user           alice@gmail.com
passwordeval   "secret-tool lookup host smtp.gmail.com ; echo"

# inherits everything from gmail that gmail set, then changes some
account        work : gmail
host           mail.work.example
tls_starttls   off
port           465
from           "bob@work.example"
user           bob
password       p@ss:w0rd;#x

# no port: msmtp's default for each TLS mode
account        smtps
host           smtps.example.net
tls_starttls   off
user           carol

defaults
tls off
auth off

account        relay
host           relay.lan
from           %U@relay.lan

account default : work
RC
}

@test "every account of a typical msmtprc: msmtp -P and postbote -bv agree on host, port, TLS, user, from" {
	need_msmtp
	typical_rc
	HOME=/home/alice run --separate-stderr pb --import-msmtprc -o "$OUT" "$RC"
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	# work and default have both password and passwordeval: msmtp uses the password
	[ "$stderr" = "postbote: warning: $RC: 0 accounts left out and 2 commands not translated; the comments in the output say why" ] ||
		fail "stderr: $stderr"
	local a
	for a in gmail work smtps relay default; do
		HOME=/home/alice same_as_msmtp "$a"
	done
	# msmtp's own defaults: 465 for TLS without STARTTLS, 25 otherwise
	[ "$(section_get smtps port)" = 465 ]
	[ "$(section_get relay port)" = 25 ]
	# ~ is HOME when the file is imported, as msmtp expands it when it reads it
	[ "$(section_get gmail logfile)" = /home/alice/.msmtp.log ]
	[ "$(HOME=/home/alice msmtp_get gmail logfile)" = /home/alice/.msmtp.log ]
	# the value as msmtp reads it: quotes gone, ';' and '#' kept
	[ "$(section_get gmail passwordeval)" = "secret-tool lookup host smtp.gmail.com ; echo" ]
	[ "$(section_get work password)" = 'p@ss:w0rd;#x' ]
	# a user without auth: msmtp does not log in; postbote would, so it says auth = off
	[ "$(section_get smtps auth)" = on ]
	[ "$(section_get relay auth)" = "" ]
}

@test "without -a both use the account named default" {
	need_msmtp
	typical_rc
	run --separate-stderr pb --import-msmtprc -o "$OUT" "$RC"
	[ "$status" -eq 0 ]
	msmtp -C "$RC" -P </dev/null 2>&1 | grep -qx 'using account default from .*' ||
		msmtp -C "$RC" -P </dev/null 2>&1 | grep -q 'using account default'
	run --separate-stderr pb -C "$OUT" -bv someone@example.org
	[ "$status" -eq 0 ]
	# default is defined after "defaults / tls off": it copies what work set itself
	# (tls_starttls, port, ...), not work's tls, which came from the defaults before work
	assert_line --index 0 "account default (the account named default): mail.work.example port 465, tls off, from <bob@work.example>"
	[ "$(msmtp_get default tls)" = off ]
}

@test "-o writes a new file of mode 0600 and never replaces one" {
	typical_rc
	run --separate-stderr pb --import-msmtprc -o "$OUT" "$RC"
	[ "$status" -eq 0 ]
	[ "$(stat -c %a "$OUT")" = 600 ]
	grep -qx '\[work\]' "$OUT"
	echo "keep me" >"$OUT"
	run --separate-stderr pb --import-msmtprc "$RC" -o "$OUT"
	[ "$status" -eq 78 ]
	assert_error_line "$OUT exists; postbote does not overwrite it"
	[ "$(cat "$OUT")" = "keep me" ]
	[ -z "$(find "$BATS_TEST_TMPDIR" -name 'imported.conf.tmp*')" ] || fail "a temporary file was left"
}

@test "on standard output, a password is warned about" {
	typical_rc
	run --separate-stderr pb --import-msmtprc "$RC"
	[ "$status" -eq 0 ]
	assert_line "password = p@ss:w0rd;#x"
	[[ $stderr == *$'\n'"postbote: warning: the output holds a password: keep it in a file only you can read (-o FILE writes one with mode 0600)" ]] ||
		fail "stderr: $stderr"
}

@test "the msmtprc is ~/.msmtprc, else \$XDG_CONFIG_HOME/msmtp/config, as msmtp looks" {
	mkdir -p "$XDG_CONFIG_HOME/msmtp"
	printf 'account xdg\nhost xdg.example\n' >"$XDG_CONFIG_HOME/msmtp/config"
	run --separate-stderr pb --import-msmtprc
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	assert_line "[xdg]"
	printf 'account home\nhost home.example\n' >"$HOME/.msmtprc"
	run --separate-stderr pb --import-msmtprc
	assert_line "[home]"
	refute_line "[xdg]"
	rm "$HOME/.msmtprc" "$XDG_CONFIG_HOME/msmtp/config"
	run --separate-stderr pb --import-msmtprc
	[ "$status" -eq 78 ]
	assert_error_line "no msmtp configuration found: neither $HOME/.msmtprc nor $XDG_CONFIG_HOME/msmtp/config exists"
}

@test "eval is refused with its line, and never run; nothing is written" {
	local marker=$BATS_TEST_TMPDIR/ran
	printf 'account a\nhost h.example\neval touch %s; echo port 25\n' "$marker" >"$RC"
	run --separate-stderr pb --import-msmtprc -o "$OUT" "$RC"
	[ "$status" -eq 78 ]
	assert_error_line "$RC:3: eval runs a command while the file is read, which postbote does not do"
	assert_output ""
	[ ! -e "$marker" ] || fail "the eval command ran"
	[ ! -e "$OUT" ] || fail "$OUT was written"
}

@test "what msmtp refuses is refused, with the line" {
	need_msmtp
	local bad
	for bad in 'hots h.example' 'tls maybe' 'port 99999' 'auth scram'; do
		printf 'account a\nhost h.example\n%s\n' "$bad" >"$RC"
		chmod 600 "$RC"
		run msmtp -C "$RC" -a a -P </dev/null
		[ "$status" -ne 0 ] || fail "msmtp accepts '$bad'"
		run --separate-stderr pb --import-msmtprc "$RC"
		[ "$status" -eq 78 ] || fail "'$bad': exit $status"
		assert_error_line "$RC:3: "
	done
}

@test "commands without an equivalent become comments, counted in a warning; accounts postbote cannot use are left out" {
	need_msmtp
	write_config "$RC" <<'RC'
account a
host h.example
tls on
set_to_header undisclosed_recipients
logfile_time_format %Y
from *@example.org

account tor
host h.example
proxy_host 127.0.0.1
proxy_port 9050
RC
	run --separate-stderr pb --import-msmtprc -o "$OUT" "$RC"
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	assert_error_line "warning: $RC: 1 account left out and 3 commands not translated; the comments in the output say why"
	grep -qx '# set_to_header undisclosed_recipients has no equivalent; the To: header is left as it is' "$OUT"
	grep -qx '# from \*@example.org is a pattern for -f: postbote has none; choose this account with -a a' "$OUT"
	grep -q '^# msmtp account tor (line 8) is not imported: it goes through a SOCKS proxy' "$OUT"
	if grep -qx '\[tor\]' "$OUT"; then fail "the proxy account was imported"; fi
	run --separate-stderr pb -C "$OUT" -a a -bv someone@example.org
	[ "$status" -eq 0 ] || fail "the translation is refused: $stderr"
}

@test "a line postbote cannot hold is an error that says so" {
	printf 'account a\nhost h.example\nfrom "  lead@example.org"\n' >"$RC"
	run --separate-stderr pb --import-msmtprc "$RC"
	[ "$status" -eq 78 ]
	assert_error_line "$RC:3: account a: the value of from starts or ends with a blank, which postbote cannot keep"
	printf 'account a\nhost h.example\npasswordeval %s\n' "$(printf 'x%.0s' $(seq 250))" >"$RC"
	run --separate-stderr pb --import-msmtprc "$RC"
	[ "$status" -eq 78 ]
	assert_error_line "$RC:3: account a: passwordeval = ... would be a line of 266 bytes"
}

@test "msmtp's own example files (Debian's msmtprc-user and msmtprc-system): every account as msmtp sees it" {
	need_msmtp
	local ex=/usr/share/doc/msmtp/examples f a n=0
	[ -f "$ex/msmtprc-user.example" ] || skip "no $ex/msmtprc-user.example"
	# msmtp -P runs passwordeval (here gpg2 -d ...): a stand-in that prints a password
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	printf '#!/bin/sh\necho secret\n' >"$BATS_TEST_TMPDIR/bin/gpg2"
	chmod +x "$BATS_TEST_TMPDIR/bin/gpg2"
	PATH=$BATS_TEST_TMPDIR/bin:$PATH
	for f in "$ex/msmtprc-user.example" "$ex/msmtprc-system.example"; do
		(umask 077 && cp "$f" "$RC")
		rm -f "$OUT"
		run --separate-stderr pb --import-msmtprc -o "$OUT" "$RC"
		[ "$status" -eq 0 ] || fail "$f: exit $status: $stderr"
		for a in $(sed -n 's/^account[ \t]*\([^ \t:]*\).*/\1/p' "$RC"); do
			same_as_msmtp "$a"
			n=$((n + 1))
		done
	done
	[ "$n" -ge 5 ] || fail "only $n accounts compared"
}

@test "golden: every translated command at once (tests/import/full.msmtprc -> full.conf)" {
	local dir=$BATS_TEST_DIRNAME/import
	(umask 077 && cp "$dir/full.msmtprc" "$RC")
	HOME=/home/al run --separate-stderr pb --import-msmtprc "$RC"
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	printf '%s\n' "$output" |
		sed "s|^# postbote configuration translated from $RC by|# postbote configuration translated from @FILE@ by|" \
			>"$BATS_TEST_TMPDIR/got.conf"
	assert_same_bytes "$dir/full.conf" "$BATS_TEST_TMPDIR/got.conf"
}
