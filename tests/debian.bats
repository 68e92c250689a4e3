#!/usr/bin/env bats
# contrib/debian: the two binary packages that dpkg-buildpackage -b builds from a copy of this
# tree with contrib/debian moved to debian/: postbote (the program and its files) and
# postbote-mta (the sendmail links, provides mail-transport-agent in the way Debian's
# msmtp-mta does), what each contains, what lintian says, and what the maintainer scripts do
# at installation and purge. Nothing is installed on this machine: the scripts run in a mount
# namespace of their own against stand-ins for the system's tools. The build takes about 20 s.

load lib/common

setup_file() {
	common_setup_file
	local tool
	for tool in dpkg-buildpackage dh lintian; do
		command -v "$tool" >/dev/null ||
			fail "$tool is missing: install the group [packaging] of .ci/packages (tests/run does)"
	done
	export PKG_DIR=$BATS_FILE_TMPDIR/pkg
	local src=$PKG_DIR/postbote
	mkdir -p "$src"
	# the tree as a checkout has it: no build directories, no git metadata
	(cd "$REPO_DIR" && tar -c --exclude=./build --exclude='./build-*' --exclude=./.git \
		--exclude=./autom4te.cache .) | tar -x -C "$src"
	mv "$src/contrib/debian" "$src/debian"
	(cd "$src" && nice dpkg-buildpackage -b -us -uc) >"$PKG_DIR/build.log" 2>&1 || {
		tail -n 60 "$PKG_DIR/build.log" >&2
		fail "dpkg-buildpackage failed (log: $PKG_DIR/build.log)"
	}
	export DEB_MAIN DEB_MTA
	DEB_MAIN=$(echo "$PKG_DIR"/postbote_*_*.deb)
	DEB_MTA=$(echo "$PKG_DIR"/postbote-mta_*_all.deb)
}
setup() { common_setup; }
teardown() { common_teardown; }

# contents DEB: "TYPE PATH[ -> TARGET] MODE OWNER" for each entry, sorted
contents() {
	dpkg-deb -c "$1" | awk '{ p = $6; for (i = 7; i <= NF; i++) p = p " " $i;
		print substr($1, 1, 1), p, $1, $2 }' | sort
}

@test "both packages are built, from this tree's version" {
	assert_file_exist "$DEB_MAIN"
	assert_file_exist "$DEB_MTA"
	local version
	version=$(sed -n 's/^AC_INIT(\[postbote\], \[\([^]]*\)\].*/\1/p' "$REPO_DIR/configure.ac")
	[[ $(dpkg-deb -f "$DEB_MAIN" Version) == "$version"-* ]] ||
		fail "postbote's version $(dpkg-deb -f "$DEB_MAIN" Version) is not $version-N"
	assert_equal "$(dpkg-deb -f "$DEB_MTA" Version)" "$(dpkg-deb -f "$DEB_MAIN" Version)"
	assert_equal "$(dpkg-deb -f "$DEB_MTA" Architecture)" all
	# the libraries postbote loads with dlopen are not NEEDED: control names them
	local dep
	for dep in libcurl3-gnutls libjson-c5 libgsasl18; do
		[[ ", $(dpkg-deb -f "$DEB_MAIN" Depends)," == *", $dep"[\ ,]* ]] ||
			fail "postbote does not depend on $dep: $(dpkg-deb -f "$DEB_MAIN" Depends)"
	done
}

@test "postbote has the program, its pages, logrotate, completion and the examples, and no links" {
	run contents "$DEB_MAIN"
	assert_line "- ./usr/bin/postbote -rwxr-xr-x root/root"
	assert_line "- ./usr/share/man/man1/postbote.1.gz -rw-r--r-- root/root"
	assert_line "- ./usr/share/man/man5/postbote.conf.5.gz -rw-r--r-- root/root"
	assert_line "- ./etc/logrotate.d/postbote -rw-r--r-- root/root"
	assert_line "- ./usr/share/bash-completion/completions/postbote -rw-r--r-- root/root"
	assert_line "- ./usr/share/zsh/vendor-completions/_postbote -rw-r--r-- root/root"
	local f
	for f in provider-465-app-password.conf lan-relay-no-auth.conf local-user-own-account.conf \
		user/postbote-queue.service user/postbote-queue.timer; do
		assert_line "- ./usr/share/doc/postbote/examples/$f -rw-r--r-- root/root"
	done
	assert_line "- ./lib/systemd/system/postbote-queue.service -rw-r--r-- root/root"
	assert_line "- ./lib/systemd/system/postbote-queue.timer -rw-r--r-- root/root"
	assert_line "- ./etc/cron.d/postbote -rw-r--r-- root/root"
	refute_line --regexp 'sendmail|mailq|newaliases'
	# the logrotate file is a conffile, so an administrator's changes survive upgrades
	run bash -c "dpkg-deb --ctrl-tarfile '$DEB_MAIN' | tar -xO ./conffiles"
	assert_line /etc/logrotate.d/postbote
	# setgid comes from postinst's statoverride, not from the package
	run contents "$DEB_MAIN"
	assert_line "- ./usr/libexec/postbote/postbote-drop -rwxr-xr-x root/root"
}

# deb_file DEB PATH: the file's contents
deb_file() {
	dpkg-deb --fsys-tarfile "$1" | tar -xO "$2"
}

@test "postbote runs root's queue by itself: a systemd timer and a cron job, inert until there is a configuration" {
	run deb_file "$DEB_MAIN" ./lib/systemd/system/postbote-queue.service
	assert_success
	# postbote's own path: /usr/sbin/sendmail is another MTA's without postbote-mta
	assert_line "ExecStart=/usr/bin/postbote -q5m"
	assert_line ConditionPathExists=/etc/postbote.conf
	refute_line --partial /usr/sbin/sendmail
	run bash -c "dpkg-deb --ctrl-tarfile '$DEB_MAIN' | tar -xO ./postinst"
	assert_line --partial "deb-systemd-helper enable 'postbote-queue.timer'"
	# every unit of contrib/systemd/system is installed
	local unit
	for unit in "$REPO_DIR"/contrib/systemd/system/postbote-*; do
		deb_file "$DEB_MAIN" "./lib/systemd/system/${unit##*/}" >/dev/null ||
			fail "${unit##*/} is not in the package"
	done
	# the cron job: not where systemd runs, not without /etc/postbote.conf
	run deb_file "$DEB_MAIN" ./etc/cron.d/postbote
	assert_line "$(printf '* * * * *\troot\t[ ! -d /run/systemd/system ] && [ -e /etc/postbote.conf ] && /usr/bin/postbote -q5m')"
}

@test "postbote-mta has the links to postbote and provides, conflicts with and replaces mail-transport-agent" {
	run contents "$DEB_MTA"
	assert_line "l ./usr/sbin/sendmail -> ../bin/postbote lrwxrwxrwx root/root"
	assert_line "l ./usr/lib/sendmail -> ../sbin/sendmail lrwxrwxrwx root/root"
	assert_line "l ./usr/bin/mailq -> postbote lrwxrwxrwx root/root"
	assert_line "l ./usr/bin/newaliases -> postbote lrwxrwxrwx root/root"
	local page
	for page in sendmail mailq newaliases; do
		assert_line "l ./usr/share/man/man1/$page.1.gz -> postbote.1.gz lrwxrwxrwx root/root"
	done
	# nothing but links, directories and its documentation
	refute_line --regexp '^- ./usr/(s?bin|lib)/'
	assert_equal "$(dpkg-deb -f "$DEB_MTA" Provides)" mail-transport-agent
	assert_equal "$(dpkg-deb -f "$DEB_MTA" Conflicts)" mail-transport-agent
	assert_equal "$(dpkg-deb -f "$DEB_MTA" Replaces)" mail-transport-agent
	# the links need the program of the same version
	local v
	v=$(dpkg-deb -f "$DEB_MAIN" Version)
	assert_equal "$(dpkg-deb -f "$DEB_MTA" Depends)" "postbote (<< $v.1~), postbote (>= $v)"
}

@test "lintian finds no errors in either package" {
	run --separate-stderr lintian --no-tag-display-limit "$DEB_MAIN" "$DEB_MTA"
	refute_line --regexp '^E: '
	# lintian's own exit status is 0 without errors (warnings do not count)
	[ "$status" -eq 0 ] || fail "lintian: exit $status: $output $stderr"
}

# ---- the maintainer scripts --------------------------------------------------------------
# They run in a private mount namespace with a tmpfs on /var/spool, so that the directories
# they make are real and the machine's are untouched; addgroup, delgroup, getent and
# dpkg-statoverride are stand-ins that keep their state in $FAKE_STATE and log each call (and
# debhelper's systemd helpers do nothing).

# maint_twice SCRIPT ARGS...: run the package's maintainer SCRIPT (postinst, postrm) twice over
# the same state, printing after each run the stand-ins' calls and then what is in
# /var/spool/postbote, with modes; MAINT_SETUP, shell commands, prepares /var/spool first
maint_twice() {
	local ctrl=$BATS_TEST_TMPDIR/ctrl stubs=$BATS_TEST_TMPDIR/stubs
	mkdir -p "$ctrl" "$stubs"
	dpkg-deb -e "$DEB_MAIN" "$ctrl"
	cat >"$stubs/getent" <<'EOF'
#!/bin/sh
[ "$1" = group ] && grep -qx "$2" "$FAKE_STATE/groups" 2>/dev/null && echo "$2:x:999:"
EOF
	cat >"$stubs/addgroup" <<'EOF'
#!/bin/sh
echo "addgroup $*" >>"$FAKE_STATE/log"
eval "last=\${$#}"; echo "$last" >>"$FAKE_STATE/groups"
EOF
	cat >"$stubs/delgroup" <<'EOF'
#!/bin/sh
echo "delgroup $*" >>"$FAKE_STATE/log"
eval "last=\${$#}"; grep -vx "$last" "$FAKE_STATE/groups" >"$FAKE_STATE/groups.new"
mv "$FAKE_STATE/groups.new" "$FAKE_STATE/groups"
EOF
	cat >"$stubs/dpkg-statoverride" <<'EOF'
#!/bin/sh
case $1 in
--list) grep -q " $2\$" "$FAKE_STATE/overrides" 2>/dev/null && grep " $2\$" "$FAKE_STATE/overrides" ;;
--update) shift 2; echo "statoverride --add $*" >>"$FAKE_STATE/log"; echo "$*" >>"$FAKE_STATE/overrides" ;;
--remove) echo "statoverride --remove $2" >>"$FAKE_STATE/log"; : >"$FAKE_STATE/overrides" ;;
*) exit 2 ;;
esac
EOF
	# debhelper's systemd snippets: nothing to enable in a test
	local quiet
	for quiet in deb-systemd-helper deb-systemd-invoke systemctl; do
		printf '#!/bin/sh\nexit 0\n' >"$stubs/$quiet"
	done
	chmod 755 "$stubs"/*
	# install -g NAME needs a group of that name on this machine: the stand-in uses root's
	cat >"$stubs/install" <<'EOF'
#!/bin/sh
echo "install $*" >>"$FAKE_STATE/log"
exec /usr/bin/install $(echo "$*" | sed 's/-g [a-z]*/-g 0/')
EOF
	chmod 755 "$stubs/install"
	export FAKE_STATE=$BATS_TEST_TMPDIR/state
	mkdir -p "$FAKE_STATE"
	local script=$ctrl/$1
	shift
	unshare --mount --propagation private sh -ec '
		mount -t tmpfs tmpfs /var/spool
		eval "${MAINT_SETUP:-}"
		run() { PATH=$1:/usr/sbin:/usr/bin:/sbin:/bin; export PATH; shift; "$@"; }
		for step in 1 2; do
			echo "== $step"
			run "$0" sh -e "$@"
			[ ! -f "$FAKE_STATE/log" ] || cat "$FAKE_STATE/log"; : >"$FAKE_STATE/log"
			find /var/spool/postbote -printf "%p %m\n" 2>/dev/null | sort
		done' "$stubs" "$script" "$@"
}

@test "postinst: the group, the drop program's setgid bit, root's queue and the drop directory, once" {
	[ "$(id -u)" = 0 ] || skip "a mount namespace needs root"
	command -v unshare >/dev/null || fail "unshare (util-linux) is missing"
	run maint_twice postinst configure
	assert_success
	assert_output "== 1
addgroup --quiet --system postbote
statoverride --add root postbote 2755 /usr/libexec/postbote/postbote-drop
install -d -o root -g root -m 0755 /var/spool/postbote
install -d -o root -g postbote -m 1770 /var/spool/postbote/drop
/var/spool/postbote 755
/var/spool/postbote/drop 1770
== 2
/var/spool/postbote 755
/var/spool/postbote/drop 1770"
}

@test "postrm purge: the statoverride, the spool with its messages and the group go; remove keeps them" {
	[ "$(id -u)" = 0 ] || skip "a mount namespace needs root"
	command -v unshare >/dev/null || fail "unshare (util-linux) is missing"
	mkdir -p "$BATS_TEST_TMPDIR/state"
	echo postbote >"$BATS_TEST_TMPDIR/state/groups"
	echo "root postbote 2755 /usr/libexec/postbote/postbote-drop" >"$BATS_TEST_TMPDIR/state/overrides"
	MAINT_SETUP='mkdir -p /var/spool/postbote/q /var/spool/postbote/drop
		echo queued >/var/spool/postbote/q/1.msg'
	export MAINT_SETUP
	# remove (not purge): everything stays
	run maint_twice postrm remove
	assert_success
	assert_output "== 1
/var/spool/postbote 755
/var/spool/postbote/drop 755
/var/spool/postbote/q 755
/var/spool/postbote/q/1.msg 644
== 2
/var/spool/postbote 755
/var/spool/postbote/drop 755
/var/spool/postbote/q 755
/var/spool/postbote/q/1.msg 644"
	run maint_twice postrm purge
	assert_success
	assert_output "== 1
statoverride --remove /usr/libexec/postbote/postbote-drop
delgroup --quiet --system --only-if-empty postbote
== 2"
}
