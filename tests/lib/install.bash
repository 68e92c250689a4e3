# A real installation of postbote for the tests of local users (tests/localusers.bats): the source
# tree configured as $POSTBOTE's build was (the same compiler, flags and sanitizers), with its
# prefix, sysconfdir and localstatedir in a directory of the test's, built, and installed by
# `make install` as root, so the drop program is setgid to a group of the test's own and the
# spool and drop directory are made as an administrator's installation makes them. Needs root.
#
# install_postbote DIR     configure, build and install into DIR (mode 0755, so that other
#                          users reach the programs). Exports PBI (DIR), PBI_BIN (postbote),
#                          PBI_DROP (the drop program), PBI_SPOOL, PBI_DROPDIR, PBI_CONF (the
#                          system file), PBI_GROUP (the drop program's group)
# uninstall_postbote       make uninstall (which removes the group), then DIR
# test_user NAME           a user made with useradd (home directory HOME made, mode 0700);
#                          removed by remove_test_users
# as_user NAME CMD...      CMD as that user, with nothing of root's environment: HOME, USER,
#                          LOGNAME and PATH as login would set them; killed after PB_TIMEOUT

install_postbote() {
	local dir=$1 build=${POSTBOTE%/src/postbote}
	local -a args=()
	if [ -x "$build/config.status" ]; then
		eval "args=($("$build/config.status" --config))"
	fi
	export PBI=$dir PBI_GROUP=pbdrop$$
	mkdir -p "$dir/build" "$dir/etc"
	chmod 755 "$dir" "$dir/etc"
	(
		cd "$dir/build" &&
			"$REPO_DIR/configure" -q "${args[@]}" --prefix="$dir/inst" --sysconfdir="$dir/etc" \
				--localstatedir="$dir/var" --with-drop-group="$PBI_GROUP" &&
			make -j"$(nproc)" -s && make -s install
	) >"$dir/install.log" 2>&1 || { cat "$dir/install.log"; return 1; }
	export PBI_BIN=$dir/inst/bin/postbote PBI_DROP=$dir/inst/libexec/postbote/postbote-drop
	export PBI_SPOOL=$dir/var/spool/postbote PBI_DROPDIR=$dir/var/spool/postbote/drop
	export PBI_CONF=$dir/etc/postbote.conf
}

uninstall_postbote() {
	[ -n "${PBI:-}" ] && [ -d "$PBI/build" ] || return 0
	make -C "$PBI/build" -s uninstall >/dev/null 2>&1
	getent group "$PBI_GROUP" >/dev/null && groupdel "$PBI_GROUP"
	[ -n "${POSTBOTE_KEEP:-}" ] || rm -rf "$PBI"
}

# (a string, not an array: setup_file's exports reach teardown_file, arrays do not)
export TEST_USERS=${TEST_USERS:-}
test_user() {
	useradd -m -d "/home/$1" -s /bin/sh "$1" || return 1
	TEST_USERS="$TEST_USERS $1"
	chmod 700 "/home/$1"
}

remove_test_users() {
	local u
	for u in $TEST_USERS; do
		pkill -KILL -u "$u" 2>/dev/null
		userdel -r "$u" 2>/dev/null
	done
	TEST_USERS=
}

as_user() {
	local u=$1
	shift
	timeout -k 5 "${PB_TIMEOUT:-30}" runuser -u "$u" -- env -i HOME="/home/$u" USER="$u" \
		LOGNAME="$u" PATH=/usr/local/bin:/usr/bin:/bin "$@"
}
