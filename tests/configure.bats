#!/usr/bin/env bats
# postbote --configure ADDRESS and the presets: SRV records (RFC 8314 _submissions first, then
# RFC 6186 _submission) from a real DNS server, dnsmasq, in a private namespace
# (tests/lib/dnsns.bash), the presets by domain, by MX host and by name, IDN domains, and a
# probe of a real (fake) SMTP server whose certificate is verified against the system trust
# store (the test CA, bind-mounted over it inside the namespace). Every printed section must be
# accepted by postbote as it is. The namespace tests need root, unshare and dnsmasq.

# shellcheck disable=SC2054,SC2034 # commas are inside dnsmasq options; DNS, NS_CERT are read by ns_run

load lib/common
load lib/dnsns

setup_file() { common_setup_file; }

setup() {
	common_setup
	DNS=()
}

teardown() { common_teardown; }

need_ns() { dnsns_can_run || skip "needs root, unshare, ip, ss and dnsmasq"; }

# accepted_as SECTION-NAME "HOST port PORT, tls MODE": the printed section ($output) is a
# configuration postbote accepts, and -bv shows that server for it
accepted_as() {
	local f=$BATS_TEST_TMPDIR/section.conf
	printf '%s\n' "$output" >"$f"
	run --separate-stderr pb -C "$f" -a "$1" -bv someone@example.org
	[ "$status" -eq 0 ] || fail "postbote refuses the section (exit $status): $stderr"
	assert_output --partial "account $1 (named with -a): $2"
}

@test "--configure: _submissions SRV gives implicit TLS; the probe verifies TLS and lists AUTH" {
	need_ns
	dnsns_cert mail.example.test
	DNS=(--srv-host=_submissions._tcp.example.test,mail.example.test,465,0,0
		--srv-host=_submission._tcp.example.test,mail.example.test,587,0,0
		--host-record=mail.example.test,127.0.0.1)
	ns_run --smtp "465:implicit:--auth|u:p|--auth-mechs|PLAIN SCRAM-SHA-256" -- \
		"$POSTBOTE" --configure alice@example.test
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	assert_line "# source: DNS SRV _submissions._tcp.example.test: mail.example.test port 465 (DNS answers are not authenticated: check that this host is your provider's)"
	assert_line --regexp '^# probe of mail.example.test port 465, tls implicit: TLS1\.[23] .*, certificate verified$'
	assert_line "# the server offers AUTH PLAIN SCRAM-SHA-256"
	assert_line "# postbote will log in with SCRAM-SHA-256 (the strongest both support; a -PLUS one when the session allows)"
	refute_line --partial "# note: it is not a host of the address's domain"
	assert_line "[example.test]"
	assert_line "host = mail.example.test"
	assert_line "tls = implicit"
	assert_line "user = alice@example.test"
	assert_line "from = alice@example.test"
	assert_line "passwordeval = secret-tool lookup postbote 'alice@example.test'"
	accepted_as example.test "mail.example.test port 465, tls implicit"
}

@test "--configure: the printed section, with the password in a password_file, delivers" {
	need_ns
	dnsns_cert mail.example.test
	DNS=(--srv-host=_submissions._tcp.example.test,mail.example.test,465,0,0
		--host-record=mail.example.test,127.0.0.1)
	local w=$BATS_TEST_TMPDIR
	printf 'pa55 word\n' >"$w/secret"
	chmod 600 "$w/secret"
	printf 'Subject: configured\n\nhello\n' >"$MSG"
	# shellcheck disable=SC2016 # expanded by the inner bash
	ns_run --smtp "465:implicit:--auth|alice@example.test:pa55 word" -- bash -c '
		set -e
		"$POSTBOTE" --configure alice@example.test >"$1/section.conf"
		sed -i "s|^passwordeval = .*|password_file = $1/secret|" "$1/section.conf"
		"$POSTBOTE" -C "$1/section.conf" -a example.test bob@example.org <"$2"' ns "$w" "$MSG"
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	assert_equal "$(json_get "$NS_WORK/smtp-465/msg-1.json" auth_user)" alice@example.test
	assert_equal "$(json_get "$NS_WORK/smtp-465/msg-1.json" mail_from)" alice@example.test
}

@test "--configure: an SRV target outside the address's domain gets a note that its certificate proves nothing about it" {
	need_ns
	dnsns_cert smtp.provider.test
	DNS=(--srv-host=_submissions._tcp.example.test,smtp.provider.test,465,0,0
		--host-record=smtp.provider.test,127.0.0.1)
	ns_run --smtp "465:implicit:--auth|u:p" -- "$POSTBOTE" --configure alice@example.test
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	assert_line "# note: it is not a host of the address's domain, so its certificate proves nothing about that domain; be sure the domain really sends there"
	assert_line "host = smtp.provider.test"
}

@test "--configure: only _submission, and _submissions with target '.': STARTTLS on 587" {
	need_ns
	dnsns_cert smtp.example.test
	DNS=(--srv-host=_submissions._tcp.example.test
		--srv-host=_submission._tcp.example.test,smtp.example.test,587,10,0
		--host-record=smtp.example.test,127.0.0.1)
	ns_run --smtp "587:starttls:--auth|u:p" -- "$POSTBOTE" --configure bob@example.test
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	assert_line --partial "# source: DNS SRV _submission._tcp.example.test: smtp.example.test port 587"
	assert_line --regexp '^# probe of smtp.example.test port 587, tls starttls: TLS'
	assert_line "tls = starttls"
	accepted_as example.test "smtp.example.test port 587, tls starttls"
}

@test "--configure: an IDN domain is looked up as its A-label, and from uses it" {
	need_ns
	dnsns_cert mail.xn--bcher-kva.example
	DNS=(--srv-host=_submissions._tcp.xn--bcher-kva.example,mail.xn--bcher-kva.example,465,0,0
		--host-record=mail.xn--bcher-kva.example,127.0.0.1)
	ns_run --smtp "465:implicit:--auth|u:p" -- "$POSTBOTE" --configure "jürgen@bücher.example"
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	assert_line "# postbote --configure jürgen@bücher.example"
	assert_line "host = mail.xn--bcher-kva.example"
	assert_line "from = jürgen@xn--bcher-kva.example"
	accepted_as xn--bcher-kva.example "mail.xn--bcher-kva.example port 465, tls implicit"
}

@test "--configure: no SRV records: the preset for the domain (Fastmail: implicit TLS, EHLO domain)" {
	need_ns
	dnsns_cert smtp.fastmail.com
	DNS=(--host-record=smtp.fastmail.com,127.0.0.1)
	ns_run --smtp "465:implicit:--auth|u:p" -- "$POSTBOTE" --configure carol@fastmail.com
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	assert_line "# source: preset fastmail (Fastmail), for the domain (it has no SRV records)"
	assert_line "[fastmail]"
	assert_line "host = smtp.fastmail.com"
	assert_line "port = 465"
	assert_line "domain = fastmail.com"
	# the probe said EHLO with that name
	grep -rq 'EHLO fastmail.com' "$NS_WORK"/smtp-465/ || fail "the probe did not say EHLO fastmail.com"
	accepted_as fastmail "smtp.fastmail.com port 465, tls implicit"
}

@test "--configure: a domain of one's own is recognised by its MX hosts (Google Workspace)" {
	need_ns
	dnsns_cert smtp.gmail.com
	DNS=(--mx-host=example.test,aspmx.l.google.com,1 --mx-host=example.test,alt1.aspmx.l.google.com,5
		--host-record=smtp.gmail.com,127.0.0.1)
	ns_run --smtp "465:implicit:--auth|u:p" -- "$POSTBOTE" --configure dave@example.test
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	assert_line "# source: preset google-workspace (Google Workspace), found by the domain's MX hosts (no SRV records)"
	assert_line "host = smtp.gmail.com"
	assert_line "user = dave@example.test"
	accepted_as google-workspace "smtp.gmail.com port 465, tls implicit"
}

@test "--configure: a domain that receives through Amazon SES gets that region's preset" {
	need_ns
	dnsns_cert email-smtp.us-west-2.amazonaws.com
	DNS=(--mx-host=example.test,inbound-smtp.us-west-2.amazonaws.com,10
		--host-record=email-smtp.us-west-2.amazonaws.com,127.0.0.1)
	ns_run --smtp "587:starttls:--auth|u:p" -- "$POSTBOTE" --configure app@example.test
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	assert_line "# source: preset ses-us-west-2 (Amazon SES (us-west-2)), found by the domain's MX hosts (no SRV records)"
	assert_line "host = email-smtp.us-west-2.amazonaws.com"
}

@test "--configure: several SRV targets on one port become the host list, in RFC 2782 order" {
	need_ns
	dnsns_cert a.example.test b.example.test
	DNS=(--srv-host=_submissions._tcp.example.test,b.example.test,465,20,0
		--srv-host=_submissions._tcp.example.test,a.example.test,465,10,0
		--srv-host=_submissions._tcp.example.test,other.example.test,4650,30,0
		--host-record=a.example.test,127.0.0.1 --host-record=b.example.test,127.0.0.1)
	ns_run --smtp "465:implicit:--auth|u:p" -- "$POSTBOTE" --configure alice@example.test
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	assert_line "host = a.example.test, b.example.test"
	assert_line "port = 465"
	assert_line --regexp '^# probe of a\.example\.test port 465'
}

@test "--configure: an OAuth provider gets auth = XOAUTH2 and a token helper; the probe checks it is offered" {
	need_ns
	dnsns_cert smtp.office365.com
	DNS=(--mx-host=example.test,example-test.mail.protection.outlook.com,0
		--host-record=smtp.office365.com,127.0.0.1)
	ns_run --smtp "587:starttls:--auth|u:p|--auth-mechs|LOGIN" -- "$POSTBOTE" --configure erin@example.test
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	assert_line "auth = XOAUTH2"
	# with OAuth 2.0 support postbote fetches the tokens itself; without, a helper prints them
	printf '[t]\nhost = h\noauth2_provider = microsoft\n' >"$BATS_TEST_TMPDIR/probe.conf"
	if pb -C "$BATS_TEST_TMPDIR/probe.conf" -a t -bv x@example.org >/dev/null 2>&1; then
		assert_line "oauth2_provider = microsoft"
		assert_line "oauth2_client_id = YOUR-APPLICATION-CLIENT-ID"
		assert_line "#   postbote --oauth2-authorize microsoft365"
		refute_line --partial "passwordeval"
	else
		assert_line "passwordeval = oama access 'erin@example.test'"
	fi
	assert_line "# it does not offer XOAUTH2: try auth = on with a password"
	accepted_as microsoft365 "smtp.office365.com port 587, tls starttls"
}

@test "--configure: nothing found is exit 68 with what to do; nothing on stdout" {
	need_ns
	DNS=(--host-record=unrelated.example.test,127.0.0.1)
	ns_run -- "$POSTBOTE" --configure frank@example.test
	[ "$status" -eq 68 ] || fail "exit $status, expected 68: $stderr"
	assert_output ""
	assert_error_line "example.test has no SRV records for _submissions._tcp or _submission._tcp (RFC 6186), and no preset fits it: name one with --preset (postbote --preset list)"
}

@test "--configure: a probe that fails still prints the section, marked, with the probe's exit status" {
	need_ns
	DNS=(--srv-host=_submissions._tcp.example.test,mail.example.test,465,0,0
		--host-record=mail.example.test,127.0.0.1)
	ns_run -- "$POSTBOTE" --configure alice@example.test
	[ "$status" -eq 75 ] || fail "exit $status, expected 75 (nothing listens): $stderr"
	assert_line --regexp '^# probe of mail.example.test port 465: FAILED, so nothing above is confirmed: '
	assert_line "host = mail.example.test"
	assert_error_line "mail.example.test"
}

@test "--configure: a certificate the system does not trust fails the probe (exit 76)" {
	need_ns
	DNS=(--srv-host=_submissions._tcp.example.test,mail.example.test,465,0,0
		--host-record=mail.example.test,127.0.0.1)
	NS_CERT=$CA_DIR/wrongname.pem NS_KEY=$CA_DIR/wrongname.key
	ns_run --smtp "465:implicit" -- "$POSTBOTE" --configure alice@example.test
	[ "$status" -eq 76 ] || fail "exit $status, expected 76: $stderr"
	assert_line --partial "# probe of mail.example.test port 465: FAILED"
}

@test "--configure --preset NAME: a sending service, without looking anything up" {
	need_ns
	dnsns_cert email-smtp.eu-west-1.amazonaws.com
	DNS=(--host-record=email-smtp.eu-west-1.amazonaws.com,127.0.0.1)
	ns_run --smtp "587:starttls:--auth|u:p" -- "$POSTBOTE" --configure app@example.test --preset ses-eu-west-1
	[ "$status" -eq 0 ] || fail "exit $status: $stderr"
	assert_line "# source: preset ses-eu-west-1 (Amazon SES (eu-west-1)), named with --preset"
	assert_line "user = SES-SMTP-USERNAME"
	accepted_as ses-eu-west-1 "email-smtp.eu-west-1.amazonaws.com port 587, tls starttls"
}

@test "--configure: bad addresses and preset names are usage errors" {
	run --separate-stderr pb --configure 'no-at-sign'
	[ "$status" -eq 64 ]
	assert_error_line "--configure takes a mail address such as alice@example.org, not 'no-at-sign'"
	run --separate-stderr pb --configure 'a;rm -rf ~@example.org'
	[ "$status" -eq 64 ]
	run --separate-stderr pb --configure a@example.org --preset nosuch
	[ "$status" -eq 64 ]
	assert_error_line "no preset 'nosuch'; postbote --preset list shows them"
	run --separate-stderr pb --preset gmail bob@example.org
	[ "$status" -eq 64 ]
	assert_error_line "--preset goes with --configure ADDRESS"
}

# One tested configuration per preset: the file exists, postbote accepts it as it is, and host,
# port, TLS mode and AUTH are the table's.
@test "contrib/examples/presets: one file per preset, accepted, matching the table" {
	run --separate-stderr pb --preset list
	[ "$status" -eq 0 ] || fail "--preset list: exit $status: $stderr"
	[ "${#lines[@]}" -ge 20 ] || fail "too few presets: $output"
	local name host port tls auth rest n=0 f
	while read -r name host port tls auth rest; do
		[ "$name" = NAME ] && continue
		f=$REPO_DIR/contrib/examples/presets/$name.conf
		[ -f "$f" ] || fail "no $f"
		run --separate-stderr pb -C "$f" -bv someone@example.org
		[ "$status" -eq 0 ] || fail "$f: exit $status: $stderr"
		[[ ${lines[0]} == "account $name ("*"): $host port $port, tls $tls, from <"* ]] ||
			fail "$f: -bv says '${lines[0]}', the table $host $port $tls"
		grep -qx "auth = $auth" "$f" || fail "$f: no 'auth = $auth'"
		n=$((n + 1))
	done < <(pb --preset list)
	[ "$(find "$REPO_DIR/contrib/examples/presets" -name '*.conf' | wc -l)" -eq "$n" ] ||
		fail "contrib/examples/presets has files for presets that do not exist"
}
