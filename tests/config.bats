#!/usr/bin/env bats
# The configuration file: errors (exit 78 with FILE:LINE), passwords, account selection,
# and where the file is looked for.

load lib/common

setup_file() { common_setup_file; }
setup() {
	common_setup
	CONF=$BATS_TEST_TMPDIR/postbote.conf
	std_message >"$MSG"
}
teardown() {
	teardown_sysfile
	common_teardown
}

@test "unknown key: exit 78, FILE:LINE and a suggestion" {
	write_config "$CONF" <<EOF
[defaults]
default_account = fake

[fake]
host = localhost
prot = 587
EOF
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_equal "$status" 78
	assert_equal "$stderr" "postbote: $CONF:6: unknown key 'prot'; did you mean 'port'?"
}

@test "a line longer than 200 bytes: exit 78 'line too long'" {
	local long
	long=$(printf 'x%.0s' {1..230})
	write_config "$CONF" <<EOF
[defaults]
default_account = fake

[fake]
host = localhost
passwordeval = echo $long
from = alice@example.org
EOF
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_equal "$status" 78
	assert_error_line
	[[ $stderr == "postbote: $CONF:"[0-9]*": line too long"* ]] ||
		fail "stderr is not 'postbote: $CONF:LINE: line too long ...': $stderr"
}

@test "an account without host: exit 78" {
	write_config "$CONF" <<EOF
[defaults]
default_account = fake

[fake]
port = 587
from = alice@example.org
EOF
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_equal "$status" 78
	assert_equal "$stderr" "postbote: $CONF: account 'fake' has no host"
}

@test "a password in a file readable by others: exit 78 asking for chmod 600, no connection" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config
	chmod 644 "$CONF"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_equal "$status" 78
	assert_equal "$stderr" "postbote: $CONF holds a password but is readable by others; run: chmod 600 $CONF"
	assert_file_empty "$FAKE_OUT/transcript.log"
}

@test "passwordeval: the first line of the command's output is the password" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	printf '%s\nsecond line\n' "$FAKE_PASS" >"$BATS_TEST_TMPDIR/pw"
	fake_config --no-auth "user = $FAKE_USER" "passwordeval = cat '$BATS_TEST_TMPDIR/pw'"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_success
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" auth_user)" "$FAKE_USER"
}

@test "a password with # in it is kept whole" {
	fake_start --tls starttls --auth "$FAKE_USER:p#ss:w0rd"
	FAKE_PASS='p#ss:w0rd' fake_config
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_success
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" auth_user)" "$FAKE_USER"
}

@test "indented lines and comment lines are accepted" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	write_config "$CONF" <<EOF
# a comment
; another comment
[defaults]
  default_account = fake

[fake]
    host = localhost
	port = $FAKE_PORT
    # indented comment
    tls = starttls
    tls_trust_file = $CA_DIR/ca.pem
    user = $FAKE_USER
    password = $FAKE_PASS
    from = $FAKE_FROM
EOF
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_success
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" auth_user)" "$FAKE_USER"
}

@test "domain sets the EHLO name" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config "domain = client.example.net"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_success
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" helo)" client.example.net
	run client_lines
	assert_line --index 0 "EHLO client.example.net"
}

# --- account selection ----------------------------------------------------------------------

# Two accounts on one server; the shared settings come from [defaults].
two_accounts() { # [default_account line]
	fake_start --tls starttls --auth alice:pw-alice --auth bob:pw-bob
	write_config "$CONF" <<EOF
[defaults]
host = localhost
port = $FAKE_PORT
tls = starttls
tls_trust_file = $CA_DIR/ca.pem
timeout = 10
$1

[first]
user = alice
password = pw-alice
from = alice@example.org

[second]
user = bob
password = pw-bob
from = bob@example.org
EOF
}

assert_sent_as() { # USER ENVELOPE-SENDER [message number]
	local j=$FAKE_OUT/msg-${3:-1}.json
	assert_equal "$(json_get "$j" auth_user)" "$1"
	assert_equal "$(json_get "$j" mail_from)" "$2"
}

@test "default_account is used without -a or a matching -f" {
	two_accounts "default_account = second"
	run --separate-stderr pb -C "$CONF" carol@example.org <"$MSG"
	assert_success
	assert_sent_as bob bob@example.org
}

@test "-a and --account pick the account" {
	two_accounts "default_account = second"
	run --separate-stderr pb -C "$CONF" -a first carol@example.org <"$MSG"
	assert_success
	assert_sent_as alice alice@example.org
	run --separate-stderr pb -C "$CONF" --account first carol@example.org <"$MSG"
	assert_success
	assert_sent_as alice alice@example.org 2
}

@test "-f picks the account whose from matches" {
	two_accounts "default_account = second"
	run --separate-stderr pb -C "$CONF" -f alice@example.org carol@example.org <"$MSG"
	assert_success
	assert_sent_as alice alice@example.org
}

@test "-f without a matching account uses the default account and keeps the sender" {
	two_accounts "default_account = first"
	run --separate-stderr pb -C "$CONF" -f nobody@example.org carol@example.org <"$MSG"
	assert_success
	assert_sent_as alice nobody@example.org
}

@test "an account named 'default' is used when there is no default_account" {
	fake_start --tls starttls --auth alice:pw-alice --auth bob:pw-bob
	write_config "$CONF" <<EOF
[other]
host = localhost
port = $FAKE_PORT
tls_trust_file = $CA_DIR/ca.pem
user = alice
password = pw-alice
from = alice@example.org

[default]
host = localhost
port = $FAKE_PORT
tls_trust_file = $CA_DIR/ca.pem
user = bob
password = pw-bob
from = bob@example.org
EOF
	run --separate-stderr pb -C "$CONF" carol@example.org <"$MSG"
	assert_success
	assert_sent_as bob bob@example.org
}

@test "one account and no default_account: that account is used, and -bv says why" {
	fake_start --tls starttls --auth alice:pw-alice
	write_config "$CONF" <<EOF
[defaults]
timeout = 10

[only]
host = localhost
port = $FAKE_PORT
tls_trust_file = $CA_DIR/ca.pem
user = alice
password = pw-alice
from = alice@example.org
EOF
	run --separate-stderr pb -C "$CONF" carol@example.org <"$MSG"
	assert_sent
	assert_sent_as alice alice@example.org
	run --separate-stderr pb -C "$CONF" -bv carol@example.org
	assert_sent
	assert_line --index 0 "account only (the only account): localhost port $FAKE_PORT, tls starttls, from <alice@example.org>"
}

@test "no account can be chosen: exit 78" {
	two_accounts ""
	run --separate-stderr pb -C "$CONF" carol@example.org <"$MSG"
	assert_equal "$status" 78
	assert_error_line
	assert_file_empty "$FAKE_OUT/transcript.log"
}

@test "-a with an unknown account: exit 78 naming it" {
	two_accounts "default_account = first"
	run --separate-stderr pb -C "$CONF" -a nosuch carol@example.org <"$MSG"
	assert_equal "$status" 78
	assert_error_line "nosuch"
	assert_file_empty "$FAKE_OUT/transcript.log"
}

# --- where the file is found ------------------------------------------------------------------

@test "POSTBOTE_CONFIG names the file when -C is not given" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config
	POSTBOTE_CONFIG=$CONF run --separate-stderr pb bob@example.org <"$MSG"
	assert_success
	assert_file_exist "$FAKE_OUT/msg-1.eml"
}

@test "-C wins over POSTBOTE_CONFIG" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config
	POSTBOTE_CONFIG=$BATS_TEST_TMPDIR/does-not-exist run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_success
	assert_file_exist "$FAKE_OUT/msg-1.eml"
}

@test "the user file is \$XDG_CONFIG_HOME/postbote/config" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	mkdir -p "$XDG_CONFIG_HOME/postbote"
	fake_config --file "$XDG_CONFIG_HOME/postbote/config"
	run --separate-stderr pb bob@example.org <"$MSG"
	assert_success
	assert_file_exist "$FAKE_OUT/msg-1.eml"
}

@test "the user file defaults to ~/.config/postbote/config" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	unset XDG_CONFIG_HOME
	mkdir -p "$HOME/.config/postbote"
	fake_config --file "$HOME/.config/postbote/config"
	run --separate-stderr pb bob@example.org <"$MSG"
	assert_success
	assert_file_exist "$FAKE_OUT/msg-1.eml"
}

# --- which files are trusted ------------------------------------------------------------------

OTHER_UID=4242	# owns nothing on this machine: a file of "another user"

# A configuration whose passwordeval leaves a mark when it runs.
marking_config() { # FILE
	fake_config --file "$1" --no-auth "user = $FAKE_USER" \
		"passwordeval = touch '$BATS_TEST_TMPDIR/ran'; echo '$FAKE_PASS'"
}

assert_refused_untrusted() { # FILE FIX
	assert_equal "$status" 78
	assert_equal "$stderr" "postbote: $1 $2"
	assert_file_not_exist "$BATS_TEST_TMPDIR/ran"
	assert_file_empty "$FAKE_OUT/transcript.log"
}

# assert_refused_foreign FILE: refused as a file of $OTHER_UID, naming the chown that fixes it
assert_refused_foreign() {
	assert_refused_untrusted "$1" "belongs to uid $OTHER_UID, neither you nor root, so postbote does not trust it; run: chown $(id -u) $1"
}

# run_changed_config CMD [ARG...]: the marking config at $CONF, changed by CMD ARG... $CONF
# (chmod MODE, chown UID), then postbote -C $CONF on $MSG against a fresh server.
run_changed_config() {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	marking_config "$CONF"
	"$@" "$CONF"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
}

@test "-C: a file of another user is refused, whatever it holds; its passwordeval never runs" {
	run_changed_config chown "$OTHER_UID"
	assert_refused_foreign "$CONF"
}

@test "POSTBOTE_CONFIG: a file of another user is refused" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	marking_config "$CONF"
	chown "$OTHER_UID" "$CONF"
	POSTBOTE_CONFIG=$CONF run --separate-stderr pb bob@example.org <"$MSG"
	assert_refused_foreign "$CONF"
}

@test "the XDG user file of another user's HOME is refused (root with su -m or sudo -E)" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	local f=$XDG_CONFIG_HOME/postbote/config
	mkdir -p "${f%/*}"
	marking_config "$f"
	chown -R "$OTHER_UID" "$HOME"
	run --separate-stderr pb bob@example.org <"$MSG"
	assert_refused_foreign "$f"
}

@test "a file its group may write is refused, naming the chmod" {
	run_changed_config chmod 620
	assert_refused_untrusted "$CONF" "may be changed by its group, so postbote does not trust it; run: chmod go-w $CONF"
}

@test "a file everyone may write is refused, naming the chmod" {
	run_changed_config chmod 602
	assert_refused_untrusted "$CONF" "may be changed by everyone, so postbote does not trust it; run: chmod go-w $CONF"
}

@test "a file of root that others may read but not write is used (it holds no password)" {
	run_changed_config chmod 644
	assert_success
	assert_file_exist "$BATS_TEST_TMPDIR/ran"
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" auth_user)" "$FAKE_USER"
}

# --- comments never cut a value ---------------------------------------------------------------

@test "' ; ' inside a value is part of it: passwordeval runs the whole command" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	# inih alone would run only 'true' and find no password
	fake_config --no-auth "user = $FAKE_USER" "passwordeval = true ; echo '$FAKE_PASS'"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_sent
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" auth_user)" "$FAKE_USER"
}

@test "a '; comment' after a value is part of the value, and the error says so" {
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config "timeout = 10 ; seconds"
	run --separate-stderr pb -C "$CONF" bob@example.org <"$MSG"
	assert_equal "$status" 78
	assert_equal "$stderr" "postbote: $CONF:15: timeout must be a number of seconds from 1 to 3600, not '10 ; seconds'"
	assert_file_empty "$FAKE_OUT/transcript.log"
}

# --- the system file (needs a build whose sysconfdir is a scratch directory) -----------------

# Sets SYSFILE to the binary's system file; skips unless its directory is one that tests may
# write: configure a build with --sysconfdir=DIR below this repository or /tmp.
need_scratch_sysconfdir() {
	SYSFILE=$(strings -a "$POSTBOTE" | grep -m1 '^/.*/postbote\.conf$') ||
		skip "cannot find the system file's name in $POSTBOTE"
	case ${SYSFILE%/*}/ in
	"$REPO_DIR"/*|/tmp/*) ;;
	*) skip "needs a build configured with --sysconfdir=DIR (below $REPO_DIR or /tmp), not ${SYSFILE%/*}" ;;
	esac
	mkdir -p "${SYSFILE%/*}"
	[ ! -e "$SYSFILE" ] || fail "$SYSFILE exists already (left by another run?)"
}

teardown_sysfile() {
	[ -z "${SYSFILE:-}" ] || rm -f "$SYSFILE"
}

# Runs postbote as root without the capabilities that let root read any file, so that file
# modes apply to it as to any user.
pb_without_dac() {
	timeout "${PB_TIMEOUT:-30}" setpriv --bounding-set -dac_override,-dac_read_search -- \
		"$POSTBOTE" "$@"
}

@test "the system file of another user is refused, whatever it holds" {
	need_scratch_sysconfdir
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	marking_config "$SYSFILE"
	chown "$OTHER_UID" "$SYSFILE"
	run --separate-stderr pb bob@example.org <"$MSG"
	assert_refused_untrusted "$SYSFILE" "belongs to uid $OTHER_UID, neither you nor root, so postbote does not trust it; run: chown 0 $SYSFILE"
}

@test "an unreadable user file beside a readable system file: a warning, then the system file" {
	need_scratch_sysconfdir
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config --file "$SYSFILE"
	local f=$XDG_CONFIG_HOME/postbote/config
	mkdir -p "${f%/*}"
	printf '[fake]\nfrom = other@example.org\n' >"$f"
	chmod 000 "$f"
	run --separate-stderr pb_without_dac bob@example.org <"$MSG"
	assert_success
	assert_equal "$stderr" "postbote: warning: cannot read $f (Permission denied); going on with $SYSFILE alone"
	assert_equal "$(json_get "$FAKE_OUT/msg-1.json" mail_from)" "$FAKE_FROM"
}

@test "an unreadable system file, no user file and no drop program: says so and where to read on" {
	need_scratch_sysconfdir
	fake_start --tls starttls --auth "$FAKE_USER:$FAKE_PASS"
	fake_config --file "$SYSFILE"
	chmod 000 "$SYSFILE"
	run --separate-stderr pb_without_dac bob@example.org <"$MSG"
	assert_equal "$status" 78
	# this build is not installed, so its drop program (tests/localusers.bats) is not there
	[[ $stderr == "postbote: you may not read $SYSFILE and have no $XDG_CONFIG_HOME/postbote/config. Local users send through /"*"/postbote/postbote-drop, which is not installed here (postbote(1), LOCAL USERS)" ]] ||
		fail "unexpected stderr: $stderr"
	assert_file_empty "$FAKE_OUT/transcript.log"
}
