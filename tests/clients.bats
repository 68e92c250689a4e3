#!/usr/bin/env bats
# Real programs that call sendmail, with postbote as their sendmail, delivering through the
# private Postfix + Dovecot of tests/lib/postfix.bash into its maildir: git send-email,
# bsd-mailx, s-nail, and cron's exact command line. Also what only a real MTA shows: DSN and
# SMTPUTF8 as Postfix takes them.
# Needs root, postfix, dovecot-core, gnutls-bin; each client test is skipped when its program
# is missing (packages git-email with libmailtools-perl, bsd-mailx, s-nail).

# shellcheck disable=SC2030,SC2031 # every @test runs in a subshell of its own: exports stay there

load lib/common
load lib/postfix

setup_file() { postfix_setup_file clients; }

teardown_file() { postfix_teardown_file; }

setup() {
	# the clients read ~/.gitconfig, ~/.mailrc and the like: common_setup gives each test a HOME
	# of its own, never the real user's
	common_setup
	unset MAILRC
	maildir_clear
	CONF=$BATS_TEST_TMPDIR/config
}

# delivered_to ADDR: the maildir file delivered for ADDR (exactly one), on stdout.
delivered_to() {
	local files
	files=$(grep -l -x "Delivered-To: $1" "$PF_MAILDIR"/new/* 2>/dev/null) || true
	[ "$(printf '%s' "$files" | grep -c .)" = 1 ] ||
		fail "expected one message delivered to $1, found: ${files:-none}"
	printf '%s\n' "$files"
}

# header_of FILE: the header section of a delivered message.
header_of() { sed '/^$/q' "$1"; }

# assert_three_copies RETURN_PATH FROM [FUNCTION]: bob (To), carol (Cc) and dave (Bcc) each got
# exactly one copy, whose header has "Return-Path: <RETURN_PATH>" and "From: FROM" and no Bcc:
# field; FUNCTION FILE then runs for each copy, with its header in $output and $lines.
assert_three_copies() {
	local a f
	maildir_wait 3
	for a in bob@example.org carol@example.org dave@example.org; do
		f=$(delivered_to "$a")
		run header_of "$f"
		assert_line "Return-Path: <$1>"
		assert_line "From: $2"
		refute_line --regexp '^[Bb][Cc][Cc]:'
		[ -z "${3:-}" ] || "$3" "$f"
	done
}

need() { # PROGRAM PACKAGE
	command -v "$1" >/dev/null || skip "$1 is not installed (Debian package $2)"
}

# ---- git send-email ----------------------------------------------------------------------

need_send_email() {
	command -v git >/dev/null || skip "git is not installed"
	[ -x "$(git --exec-path)/git-send-email" ] || skip "git send-email is not installed (package git-email)"
	perl -MMail::Address -e 1 2>/dev/null ||
		skip "git send-email needs Mail::Address (package libmailtools-perl)"
}

# a repository with two commits; the second one's patch in $PATCH
make_patch() {
	local repo=$BATS_TEST_TMPDIR/repo
	git init -q "$repo"
	git -C "$repo" config user.name 'Jürgen Weiß'
	git -C "$repo" config user.email juergen@example.org
	printf 'hello\n' >"$repo/README"
	git -C "$repo" add README
	git -C "$repo" commit -q -m 'Add README'
	printf 'hello\nwörld\n' >"$repo/README"
	git -C "$repo" commit -q -am 'README: greet the wörld' -m 'With a second paragraph.'
	git -C "$repo" format-patch -q -1 -o "$BATS_TEST_TMPDIR/patches"
	PATCH=$(ls "$BATS_TEST_TMPDIR"/patches/*.patch)
	head -1 "$PATCH" | grep -q '^From [0-9a-f]\{40\} ' || fail "format-patch wrote no From_ line"
}

@test "git send-email --smtp-server=postbote delivers the patch to To, Cc and Bcc" {
	need_send_email
	make_patch
	pf_conf "$CONF" submission
	run --separate-stderr timeout 60 git -C "$BATS_TEST_TMPDIR/repo" send-email \
		--smtp-server="$POSTBOTE" --smtp-server-option=-C --smtp-server-option="$CONF" \
		--from='Alice <alice@example.org>' --envelope-sender=auto \
		--to='Bob <bob@example.org>' --cc=carol@example.org --bcc=dave@example.org \
		--suppress-cc=all --confirm=never --quiet "$PATCH"
	[ "$status" -eq 0 ] || fail "git send-email exited $status: $stderr"
	patch_copy() {
		assert_line 'To: Bob <bob@example.org>'
		assert_line 'Subject: [PATCH] =?UTF-8?q?README:=20greet=20the=20w=C3=B6rld?='
		assert_line --regexp '^Message-I[dD]: <[^<>]+-1-alice@example\.org>$'
		# git's own Message-Id: postbote added no second one
		assert_equal "$(grep -ci '^message-id:' <<<"$output")" 1
		run grep -x '+wörld' "$1"
		assert_success
	}
	assert_three_copies alice@example.org 'Alice <alice@example.org>' patch_copy
}

@test "git send-email with POSTBOTE_CONFIG and no envelope sender: the account's from" {
	need_send_email
	make_patch
	pf_conf "$CONF" submission
	export POSTBOTE_CONFIG=$CONF
	run --separate-stderr timeout 60 git -C "$BATS_TEST_TMPDIR/repo" send-email \
		--smtp-server="$POSTBOTE" --to=bob@example.org --suppress-cc=all --confirm=never \
		--quiet "$PATCH"
	[ "$status" -eq 0 ] || fail "git send-email exited $status: $stderr"
	maildir_wait 1
	run header_of "$(delivered_to bob@example.org)"
	assert_line "Return-Path: <$PF_FROM>"
	assert_line 'From: =?UTF-8?q?J=C3=BCrgen=20Wei=C3=9F?= <juergen@example.org>'
}

@test "a format-patch file piped to postbote with send-email's arguments keeps its headers" {
	need git git
	make_patch
	pf_conf "$CONF" submission
	run --separate-stderr timeout 60 "$POSTBOTE" -C "$CONF" -i -f juergen@example.org \
		bob@example.org <"$PATCH"
	[ "$status" -eq 0 ] || fail "postbote exited $status: $stderr"
	maildir_wait 1
	run header_of "$(delivered_to bob@example.org)"
	assert_line 'Subject: [PATCH] =?UTF-8?q?README:=20greet=20the=20w=C3=B6rld?='
	assert_line 'From: =?UTF-8?q?J=C3=BCrgen=20Wei=C3=9F?= <juergen@example.org>'
	refute_line --regexp '^From [0-9a-f]{40} '
}

# ---- mailx -------------------------------------------------------------------------------

@test "bsd-mailx (set sendmail=postbote): To, Cc and Bcc get it, no Bcc: field, From: added" {
	need bsd-mailx bsd-mailx
	pf_conf "$CONF" submission
	printf 'set sendmail=%s\n' "$POSTBOTE" >"$BATS_TEST_TMPDIR/mailrc"
	export MAILRC=$BATS_TEST_TMPDIR/mailrc POSTBOTE_CONFIG=$CONF
	run --separate-stderr timeout 60 bsd-mailx -s 'Grüße aus Köln' -c carol@example.org \
		-b dave@example.org bob@example.org <<<$'Hello,\nthis is bsd-mailx.\nGrüße'
	[ "$status" -eq 0 ] || fail "bsd-mailx exited $status: $stderr"
	mailx_copy() {
		assert_line 'To: bob@example.org'
		assert_line 'Cc: carol@example.org'
		assert_line 'Subject: Grüße aus Köln'
		assert_line --regexp '^Date: '
		assert_line --regexp "^Message-ID: <[^<>@ ]+@example\.org>\$"
		run tail -1 "$1"
		assert_output 'Grüße'
	}
	assert_three_copies "$PF_FROM" "$PF_FROM" mailx_copy
}

@test "s-nail (mta=postbote, -r): -i -F -f -- rcpts; To, Cc and Bcc get it" {
	need s-nail s-nail
	pf_conf "$CONF" submission
	export POSTBOTE_CONFIG=$CONF
	run --separate-stderr timeout 60 env LC_ALL=C.UTF-8 s-nail -n -S mta="$POSTBOTE" \
		-S sendwait -S ttycharset=utf-8 -s 'Grüße von s-nail' -r 'Alice <alice@example.org>' \
		-c carol@example.org -b dave@example.org bob@example.org <<<$'Hello,\nthis is s-nail.\nGrüße'
	[ "$status" -eq 0 ] || fail "s-nail exited $status: $stderr"
	snail_copy() {
		assert_equal "$(grep -ci '^message-id:' <<<"$output")" 1
		assert_equal "$(grep -ci '^date:' <<<"$output")" 1
	}
	assert_three_copies alice@example.org 'Alice <alice@example.org>' snail_copy
}

# ---- cron --------------------------------------------------------------------------------

# cron_message FILE: what Debian's cron writes to "sendmail -FCronDaemon -i -B8BITMIME -oem
# root" (bare LF, no Date or Message-ID)
cron_message() {
	printf '%s\n' 'From: root (Cron Daemon)' 'To: root' \
		'Subject: Cron <root@web1> /usr/local/bin/report' 'MIME-Version: 1.0' \
		'Content-Type: text/plain; charset=UTF-8' 'Content-Transfer-Encoding: 8bit' \
		'X-Cron-Env: <SHELL=/bin/sh>' 'X-Cron-Env: <HOME=/root>' \
		'X-Cron-Env: <PATH=/usr/bin:/bin>' 'X-Cron-Env: <LOGNAME=root>' '' \
		'report: 3 Einträge' '.' 'done' >"$1"
}

@test "cron's command line (-FCronDaemon -i -B8BITMIME -oem root) with maildomain" {
	pf_conf "$CONF" submission maildomain=example.org
	cron_message "$BATS_TEST_TMPDIR/cron.msg"
	run --separate-stderr timeout 60 "$POSTBOTE" -C "$CONF" -FCronDaemon -i -B8BITMIME -oem root \
		<"$BATS_TEST_TMPDIR/cron.msg"
	[ "$status" -eq 0 ] || fail "postbote exited $status: $stderr"
	[ -z "$stderr" ] || fail "unexpected stderr: $stderr"
	maildir_wait 1
	local f
	f=$(delivered_to root@example.org)
	run header_of "$f"
	assert_line "Return-Path: <$PF_FROM>"
	assert_line 'From: root@example.org (Cron Daemon)'
	assert_line 'To: root@example.org'
	assert_line 'Subject: Cron <root@web1> /usr/local/bin/report'
	assert_line 'X-Cron-Env: <LOGNAME=root>'
	assert_line --regexp '^Date: '
	assert_line --regexp '^Message-ID: <[^<>@ ]+@example\.org>$'
	run sed '1,/^$/d' "$f"
	assert_output $'report: 3 Einträge\n.\ndone'
}

@test "cron's command line with an aliases file: root's mail goes to the alias, To: stays root" {
	printf 'root: bob@example.org\n' >"$BATS_TEST_TMPDIR/aliases"
	pf_conf "$CONF" submission maildomain=example.org "aliases=$BATS_TEST_TMPDIR/aliases"
	cron_message "$BATS_TEST_TMPDIR/cron.msg"
	run --separate-stderr timeout 60 "$POSTBOTE" -C "$CONF" -FCronDaemon -i -B8BITMIME -oem root \
		<"$BATS_TEST_TMPDIR/cron.msg"
	[ "$status" -eq 0 ] || fail "postbote exited $status: $stderr"
	maildir_wait 1
	run header_of "$(delivered_to bob@example.org)"
	assert_line 'To: root@example.org'
	assert_equal "$(maildir_count)" 1
}

# ---- what a real MTA makes of the envelope -----------------------------------------------

@test "DSN to Postfix: -N success -R hdrs -V gives a success report with the envelope id" {
	pf_conf "$CONF" submission
	printf '%s\n' 'From: alice@example.org' 'To: bob@example.org' 'Subject: dsn please' \
		'Date: Sat, 01 Jun 2024 12:00:00 +0000' 'Message-ID: <dsn-1@example.org>' '' \
		'secret body' >"$BATS_TEST_TMPDIR/msg"
	run --separate-stderr timeout 60 "$POSTBOTE" -C "$CONF" -N success,failure -R hdrs \
		-V 'env+id=1' bob@example.org <"$BATS_TEST_TMPDIR/msg"
	[ "$status" -eq 0 ] || fail "postbote exited $status: $stderr"
	maildir_wait 2
	local report
	report=$(delivered_to alice@example.org)
	run cat "$report"
	assert_line --regexp '^Content-Type: multipart/report; report-type=delivery-status;'
	assert_line 'Original-Envelope-Id: env+id=1'
	assert_line 'Action: delivered'
	assert_line --regexp '^Original-Recipient: rfc822; ?bob@example\.org$'
	assert_line 'Content-Type: text/rfc822-headers'
	refute_output --partial 'secret body'	# RET=HDRS: the headers only
}

@test "SMTPUTF8 to Postfix: a UTF-8 recipient and sender arrive as they are" {
	pf_conf "$CONF" submission
	printf '%s\n' 'From: alice@example.org' 'To: jürgen@bücher.example' 'Subject: utf8' \
		'Date: Sat, 01 Jun 2024 12:00:00 +0000' 'Message-ID: <utf8-1@example.org>' '' \
		'body' >"$BATS_TEST_TMPDIR/msg"
	run --separate-stderr timeout 60 "$POSTBOTE" -C "$CONF" -f 'zoë@bücher.example' \
		'jürgen@bücher.example' <"$BATS_TEST_TMPDIR/msg"
	[ "$status" -eq 0 ] || fail "postbote exited $status: $stderr"
	maildir_wait 1
	run header_of "$(delivered_to 'jürgen@bücher.example')"
	assert_line 'Return-Path: <zoë@bücher.example>'
}

# ---- programs that speak SMTP to their sendmail (-bs) ------------------------------------

# symfony MODE: Symfony Mailer's sendmail transport sends two messages from app@example.org to
# bob@example.org with "postbote -C CONF MODE" (php-symfony-mailer)
symfony() {
	command -v php >/dev/null && [ -f /usr/share/php/Symfony/Component/Mailer/autoload.php ] ||
		fail "php-symfony-mailer is not installed (tests/run installs it)"
	run --separate-stderr timeout 60 php "$TESTS_DIR/clients/symfony-mailer.php" \
		"$POSTBOTE -C $CONF $1" 2 app@example.org bob@example.org
}

@test "Symfony Mailer's default transport (-bs): two messages over one session arrive through Postfix" {
	pf_conf "$CONF" submission
	symfony -bs
	[ "$status" -eq 0 ] || fail "php exited $status: $stderr $output"
	assert_output "sent 2"
	maildir_wait 2
	local m
	for m in 1 2; do
		run maildir_cat "$m"
		assert_line "Return-Path: <app@example.org>"
		assert_line "X-Original-To: bob@example.org"
		assert_line --regexp "^Subject: symfony [12]$"
		assert_line --regexp "^message [12] from Symfony Mailer"
	done
	[ "$(grep -h '^Subject:' "$PF_MAILDIR"/new/* | sort | tr '\n' ' ')" = "Subject: symfony 1 Subject: symfony 2 " ]
}

@test "Symfony Mailer with -t: both messages arrive, the sender from its -f" {
	pf_conf "$CONF" submission
	symfony '-t -i'
	[ "$status" -eq 0 ] || fail "php exited $status: $stderr $output"
	maildir_wait 2
	run maildir_cat 1
	assert_line "Return-Path: <app@example.org>"
}

@test "DSN through -bs to Postfix: RET, ENVID and NOTIFY are passed on" {
	pf_conf "$CONF" submission
	printf '%s\r\n' 'EHLO c' 'MAIL FROM:<alice@example.org> RET=HDRS ENVID=bs+2Bid' \
		'RCPT TO:<bob@example.org> NOTIFY=SUCCESS' DATA 'Subject: dsn via bs' \
		'Date: Sat, 01 Jun 2024 12:00:00 +0000' 'Message-ID: <dsn-bs@example.org>' '' \
		'secret body' . QUIT >"$BATS_TEST_TMPDIR/session"
	run --separate-stderr timeout 60 "$POSTBOTE" -C "$CONF" -bs <"$BATS_TEST_TMPDIR/session"
	assert_success
	assert_line $'250-DSN\r'
	maildir_wait 2
	run cat "$(delivered_to alice@example.org)"
	assert_line 'Original-Envelope-Id: bs+id'
	assert_line 'Action: delivered'
	refute_output --partial 'secret body'
}

# ---- libraries with a sendmail transport -------------------------------------------------

# assert_library_mail SUBJECT FROM: one message arrived for bob@example.org, with that subject
# and envelope sender
assert_library_mail() {
	maildir_wait 1
	run header_of "$(delivered_to bob@example.org)"
	assert_line "Subject: $1"
	assert_line "Return-Path: <$2>"
	assert_equal "$(maildir_count)" 1
}

@test "PHPMailer (isSendmail) delivers through postbote" {
	[ -f /usr/share/php/libphp-phpmailer/autoload.php ] ||
		fail "libphp-phpmailer is not installed (tests/run installs it)"
	pf_conf "$CONF" submission
	run --separate-stderr timeout 60 php "$TESTS_DIR/clients/phpmailer.php" "$POSTBOTE -C $CONF" \
		app@example.org bob@example.org
	[ "$status" -eq 0 ] || fail "php exited $status: $stderr $output"
	assert_library_mail "from PHPMailer" app@example.org
}

@test "Ruby's mail gem (delivery_method :sendmail) delivers through postbote" {
	ruby -e 'require "mail"' 2>/dev/null || fail "ruby-mail is not installed (tests/run installs it)"
	pf_conf "$CONF" submission
	run --separate-stderr timeout 60 ruby "$TESTS_DIR/clients/ruby-mail.rb" "$POSTBOTE" "$CONF" \
		app@example.org bob@example.org
	[ "$status" -eq 0 ] || fail "ruby exited $status: $stderr $output"
	assert_library_mail "from ruby-mail" app@example.org
}

@test "Perl's Email::Sender (Sendmail transport) delivers through postbote" {
	perl -MEmail::Sender::Simple -e 1 2>/dev/null ||
		fail "libemail-sender-perl is not installed (tests/run installs it)"
	pf_conf "$CONF" submission
	POSTBOTE_CONFIG=$CONF run --separate-stderr timeout 60 perl \
		"$TESTS_DIR/clients/email-sender.pl" "$POSTBOTE" app@example.org bob@example.org
	[ "$status" -eq 0 ] || fail "perl exited $status: $stderr $output"
	assert_library_mail "from Email::Sender" app@example.org
}

@test "nodemailer (sendmail transport) delivers through postbote" {
	local mods=${NODEMAILER_DIR:-$REPO_DIR/build/node}/node_modules
	[ -d "$mods/nodemailer" ] || fail "nodemailer is not installed in $mods (tests/run installs it)"
	pf_conf "$CONF" submission
	NODE_PATH=$mods POSTBOTE_CONFIG=$CONF run --separate-stderr timeout 60 node \
		"$TESTS_DIR/clients/nodemailer.js" "$POSTBOTE" app@example.org bob@example.org
	[ "$status" -eq 0 ] || fail "node exited $status: $stderr $output"
	assert_library_mail "from nodemailer" app@example.org
}
