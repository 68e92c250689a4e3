#!/usr/bin/env bats
# make install and make uninstall as an administrator or a package build runs them: with
# ./configure --enable-sendmail-links, the sendmail, mailq and newaliases links and their
# manual pages, each name behaving as its program; without it, none of them; another MTA's
# files are never replaced or removed; make distcheck passes with the option on. Each build is
# configured here from this source tree (prefix /usr, installed under a DESTDIR), so the
# installed binary is not $POSTBOTE but one built the way a package builds it.

load lib/common

# build DIR CONFIGURE-ARGS...: a build of this tree in DIR, its own sysconfdir so that the
# machine's /usr/etc or /etc is never read
build() {
	local dir=$1; shift
	mkdir -p "$dir"
	(cd "$dir" && "$REPO_DIR/configure" -q --prefix=/usr --sysconfdir="$dir/etc" "$@" &&
		nice make -j2 -s) >"$dir.log" 2>&1 || { cat "$dir.log" >&2; return 1; }
}

setup_file() {
	common_setup_file
	[ -x "$REPO_DIR/configure" ] || skip "run autoreconf -fi in $REPO_DIR first"
	export LINKS_BUILD=$BATS_FILE_TMPDIR/links
	build "$LINKS_BUILD" --enable-sendmail-links
}
setup() {
	common_setup
	DEST=$BATS_TEST_TMPDIR/dest
}
teardown() { common_teardown; }

# make_in DIR TARGET...: make in the build DIR, installing under $DEST
make_in() {
	local dir=$1; shift
	run --separate-stderr make -C "$dir" -s "$@" DESTDIR="$DEST"
}

# assert_link LINK TARGET: LINK is a relative symbolic link that resolves to TARGET
assert_link() {
	[ -h "$1" ] || fail "$1 is not a symbolic link"
	local to
	to=$(readlink "$1")
	[[ $to != /* ]] || fail "$1 points to the absolute $to, which is wrong under DESTDIR"
	assert_equal "$(readlink -f "$1")" "$(readlink -f "$2")"
}

assert_stderr_has() { # FRAGMENT: $stderr (run --separate-stderr) contains it
	[[ $stderr == *"$1"* ]] || fail "stderr lacks '$1': $stderr"
}

@test "--enable-sendmail-links: sendmail, mailq, newaliases and their manual pages link to postbote" {
	make_in "$LINKS_BUILD" install
	[ "$status" -eq 0 ] || fail "make install: exit $status: $stderr"
	assert_file_executable "$DEST/usr/bin/postbote"
	assert_link "$DEST/usr/sbin/sendmail" "$DEST/usr/bin/postbote"
	assert_link "$DEST/usr/bin/mailq" "$DEST/usr/bin/postbote"
	assert_link "$DEST/usr/bin/newaliases" "$DEST/usr/bin/postbote"
	local page
	for page in sendmail mailq newaliases; do
		assert_link "$DEST/usr/share/man/man1/$page.1" "$DEST/usr/share/man/man1/postbote.1"
	done
	# a second make install (an upgrade) keeps the links and succeeds
	make_in "$LINKS_BUILD" install
	[ "$status" -eq 0 ] || fail "second make install: exit $status: $stderr"
	assert_link "$DEST/usr/sbin/sendmail" "$DEST/usr/bin/postbote"
}

@test "each installed name behaves as its program: sendmail sends and verifies, mailq lists, newaliases succeeds" {
	make_in "$LINKS_BUILD" install
	[ "$status" -eq 0 ] || fail "make install: exit $status: $stderr"
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config
	std_message >"$MSG"
	std_message | crlf >"$WANT"
	run --separate-stderr "$DEST/usr/sbin/sendmail" -C "$CONF" -i bob@example.org <"$MSG"
	assert_sent
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-1.eml"

	run --separate-stderr "$DEST/usr/sbin/sendmail" -C "$CONF" -bv carol@example.org
	assert_success
	assert_line --partial "account fake"
	assert_line --partial "carol@example.org"

	# a message queued through sendmail is what mailq lists
	local down
	down=$(free_port)
	fake_config "queue = on" "port = $down"
	run --separate-stderr "$DEST/usr/sbin/sendmail" -C "$CONF" bob@example.org <"$MSG"
	assert_success
	[[ $stderr =~ queued\ as\ ([0-9]{14}\.[0-9a-f]{10}) ]] || fail "not queued: $stderr"
	local qid=${BASH_REMATCH[1]}
	run --separate-stderr "$DEST/usr/bin/mailq" -C "$CONF"
	assert_success
	assert_output --partial "$qid"

	run --separate-stderr "$DEST/usr/bin/newaliases" -C "$CONF"
	assert_sent
	assert_output ""
}

@test "make uninstall removes the links with the program and leaves nothing of ours" {
	make_in "$LINKS_BUILD" install
	[ "$status" -eq 0 ] || fail "make install: exit $status: $stderr"
	make_in "$LINKS_BUILD" uninstall
	[ "$status" -eq 0 ] || fail "make uninstall: exit $status: $stderr"
	run find "$DEST" ! -type d
	assert_output ""
}

@test "another MTA's sendmail is neither replaced by make install nor removed by make uninstall" {
	mkdir -p "$DEST/usr/sbin" "$DEST/usr/bin"
	printf '#!/bin/sh\necho other MTA\n' >"$DEST/usr/sbin/sendmail"
	chmod 755 "$DEST/usr/sbin/sendmail"
	make_in "$LINKS_BUILD" install
	assert_failure
	assert_stderr_has "$DEST/usr/sbin/sendmail is already there and is not postbote's link;"
	run "$DEST/usr/sbin/sendmail"
	assert_output "other MTA"

	rm "$DEST/usr/sbin/sendmail"
	ln -s /usr/sbin/exim4 "$DEST/usr/bin/mailq"
	make_in "$LINKS_BUILD" install
	assert_failure
	assert_stderr_has "$DEST/usr/bin/mailq is already there"
	rm "$DEST/usr/bin/mailq"
	make_in "$LINKS_BUILD" install
	[ "$status" -eq 0 ] || fail "make install: exit $status: $stderr"
	# the MTA put its own mailq back after our install: uninstall leaves it
	rm "$DEST/usr/bin/mailq"
	ln -s /usr/sbin/exim4 "$DEST/usr/bin/mailq"
	make_in "$LINKS_BUILD" uninstall
	[ "$status" -eq 0 ] || fail "make uninstall: exit $status: $stderr"
	assert_equal "$(readlink "$DEST/usr/bin/mailq")" /usr/sbin/exim4
	assert_not_exist "$DEST/usr/sbin/sendmail"
}

@test "a link made by hand to postbote (an absolute one, as README once said) becomes ours" {
	mkdir -p "$DEST/usr/sbin" "$DEST/usr/bin"
	ln -s "$DEST/usr/bin/postbote" "$DEST/usr/sbin/sendmail"
	make_in "$LINKS_BUILD" install
	[ "$status" -eq 0 ] || fail "make install: exit $status: $stderr"
	assert_link "$DEST/usr/sbin/sendmail" "$DEST/usr/bin/postbote"
	ln -sf "$DEST/usr/bin/postbote" "$DEST/usr/bin/mailq"
	make_in "$LINKS_BUILD" uninstall
	[ "$status" -eq 0 ] || fail "make uninstall: exit $status: $stderr"
	run find "$DEST" ! -type d
	assert_output ""
}

@test "without --enable-sendmail-links make install adds postbote alone" {
	local plain=$BATS_TEST_TMPDIR/plain
	build "$plain"
	make_in "$plain" install
	[ "$status" -eq 0 ] || fail "make install: exit $status: $stderr"
	assert_file_executable "$DEST/usr/bin/postbote"
	run find "$DEST" -name sendmail -o -name 'sendmail.*' -o -name 'mailq*' -o -name 'newaliases*'
	assert_output ""
}

@test "configure refuses a value that --enable-sendmail-links cannot take" {
	local dir=$BATS_TEST_TMPDIR/bad
	mkdir -p "$dir"
	cd "$dir"
	run "$REPO_DIR/configure" -q --enable-sendmail-links=maybe
	assert_failure
	assert_output --partial "--enable-sendmail-links takes yes or no, not 'maybe'"
}

# make distcheck: the tarball builds, passes make check, installs (also under DESTDIR) and
# uninstalls to nothing, with --enable-sendmail-links from AM_DISTCHECK_CONFIGURE_FLAGS. About
# 25 s on an idle two-core machine.
@test "make distcheck passes with the sendmail links on" {
	run make -C "$LINKS_BUILD" -s distcheck
	[ "$status" -eq 0 ] || fail "make distcheck: exit $status: $(tail -n 40 <<<"$output")"
	# the links were installed and removed, so the option did reach distcheck's configure
	assert_line --regexp "^ ln -s \.\./bin/postbote '.*/_inst/sbin/sendmail'$"
	assert_line --regexp "^ rm -f '.*/_inst/sbin/sendmail'$"
	assert_output --partial "archives ready for distribution"
	rm -f "$LINKS_BUILD"/postbote-*.tar.gz
}
