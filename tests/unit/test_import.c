/* Unit tests for import: msmtp's line rules (comments, quotes, blanks, CRLF), defaults that
 * apply only to the accounts after them, inheritance with `account NAME : A,B` (what A set, not
 * what A had from defaults), every command's translation or its comment, msmtp's default ports,
 * the accounts that cannot be imported, and the exact error for what msmtp or postbote refuses.
 * Each text is called "rc", so errors read "rc:LINE: ...". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "import.h"
#include "unit.h"

static char out_text[65536];

/* The translation of text, or "ERROR: message". */
static const char *tr(const char *text, struct import_result *r)
{
	struct import_opts o = { .file = "rc", .home = "/home/al", .mailname = "mx.example.net" };
	struct err e = { 0 };
	struct buf out;

	buf_init(&out, BUF_NO_MAX);
	if (import_msmtprc(text, strlen(text), &o, &out, r, &e) < 0) {
		CHECK_INT(out.len, 0);
		snprintf(out_text, sizeof out_text, "ERROR: %s", e.text);
	} else {
		snprintf(out_text, sizeof out_text, "%s", out.data);
	}
	buf_free(&out);
	return out_text;
}

/* Every '|'-separated line of want appears in got, as whole lines, in that order. */
static int has_lines(const char *got, const char *want)
{
	const char *at = got;
	char line[512];

	for (const char *p = want; *p;) {
		size_t n = strcspn(p, "|");
		const char *hit;

		snprintf(line, sizeof line, "\n%.*s\n", (int)n, p);
		hit = strstr(at - (at > got), line);
		if (!hit && strncmp(got, line + 1, strlen(line + 1)) == 0)
			hit = got - 1;
		if (!hit)
			return 0;
		at = hit + strlen(line) - 1;
		p += n + (p[n] == '|');
	}
	return 1;
}

struct row {
	const char *text;
	const char *want;	/* lines in order, or "ERROR: ..." (a prefix of the message) */
	const char *never;	/* a line that must not appear; NULL */
};

static const struct row rows[] = {
	/* ports: msmtp's default is 25, or 465 for TLS without STARTTLS */
	{ "account a\nhost h\n", "[a]|host = h|port = 25|tls = off", NULL },
	{ "account a\nhost h\ntls on\n", "[a]|port = 25|tls = starttls", NULL },
	{ "account a\nhost h\ntls\ntls_starttls off\n", "port = 465|tls = implicit", NULL },
	{ "account a\nhost h\ntls on\ntls_nostarttls\n", "port = 465|tls = implicit", NULL },
	{ "account a\nhost h\nport 587\ntls on\n", "port = 587|tls = starttls",
	  "# msmtp's default port for this TLS mode" },
	/* line rules: comments, blanks, quotes, CRLF; the first account without `account` */
	{ "  # comment\n\thost   \"smtp.example.org\"  \r\nport 2525\r\n",
	  "[default]|host = smtp.example.org|port = 2525", NULL },
	{ "account a\nhost h\nfrom \"  x@y \"\n", "ERROR: rc:3: account a: the value of from "
	  "starts or ends with a blank", NULL },
	{ "account a\nhost h\npassword \"\"\n", "[a]|host = h", "password = " },
	{ "account a\nhost h\npassword \"p#ss; w\"\"d\"\n", "password = p#ss; w\"\"d", NULL },
	/* defaults apply to the accounts after them only */
	{ "account a\nhost h\ndefaults\nfrom d@x\naccount b\nhost h\n",
	  "[a]|host = h|[b]|host = h|from = d@x", "# none" },
	/* inheritance copies what the parent set, over the child's own defaults */
	{ "defaults\ntls on\nport 587\naccount a\nhost ha\nuser ua\nauth on\npassword pa\n"
	  "defaults\ntls off\naccount b : a\nfrom b@x\n",
	  "[b]|host = ha|port = 587|tls = off|user = ua|auth_plaintext = allow|password = pa|"
	  "from = b@x", NULL },
	{ "account a\nhost ha\naccount b : a, c\n", "ERROR: rc:3: account c not (yet) defined",
	  NULL },
	{ "account a\nhost h\naccount a\n", "ERROR: rc:3: account a was already defined", NULL },
	{ "account a : \n", "ERROR: rc:1: missing account name", NULL },
	{ "account a,b\n", "ERROR: rc:1: an account name must not contain colons or commas", NULL },
	{ "account default : a\n", "ERROR: rc:1: account a not (yet) defined", NULL },
	{ "account a\nhost h\naccount default : a\n", "[a]|[default]|host = h", NULL },
	/* authentication */
	{ "account a\nhost h\ntls on\nuser u\n", "user = u|auth = off", NULL },
	{ "account a\nhost h\ntls on\nauth\nuser u\npasswordeval pass x\n",
	  "user = u|auth = on|passwordeval = pass x", NULL },
	{ "account a\nhost h\ntls on\nauth scram-sha-256\nuser u\n", "auth = SCRAM-SHA-256",
	  NULL },
	{ "account a\nhost h\ntls on\nauth SCRAM\n",
	  "ERROR: rc:4: invalid argument SCRAM for command auth", NULL },
	{ "account a\nhost h\ntls on\nauth on\n", "# auth on without user: msmtp cannot log in "
	  "without one either; left out", "auth = on" },
	{ "account a\nhost h\ntls on\nauth external\ntls_cert_file ~/c.pem\ntls_key_file ~/k\n",
	  "tls_cert_file = /home/al/c.pem|tls_key_file = /home/al/k|auth = EXTERNAL", NULL },
	{ "account a\nhost h\ntls on\nauth on\nuser u\npassword p\npasswordeval e\n",
	  "# passwordeval left out: msmtp uses password when both are set|password = p",
	  "passwordeval = e" },
	{ "account a\nhost h\nauth plain\nuser u\n", "auth = PLAIN|auth_plaintext = allow", NULL },
	/* TLS */
	{ "account a\nhost h\ntls on\ntls_trust_file system\ntls_crl_file ~/crl\n"
	  "tls_certcheck off\ntls_priorities NORMAL:-VERS-TLS1.2\ntls_host_override mx.x\n",
	  "tls_certcheck = off|tls_crl_file = /home/al/crl|tls_priorities = NORMAL:-VERS-TLS1.2|"
	  "tls_host_override = mx.x", "tls_trust_file = system" },
	{ "account a\nhost h\ntls on\ntls_nocertcheck\n", "tls_certcheck = off", NULL },
	{ "account a\nhost h\ntls on\ntls_fingerprint 00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:"
	  "ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff\n", "tls_fingerprint = 00:11:22:33:44:"
	  "55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff", NULL },
	{ "account a\nhost h\ntls on\ntls_fingerprint 00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:"
	  "ff:00:11:22:33\n", "# tls_fingerprint is SHA-1 or MD5: postbote pins SHA-256 "
	  "fingerprints only (postbote --serverinfo shows it); the certificate is verified instead",
	  NULL },
	{ "account a\nhost h\ntls_fingerprint 0011\n",
	  "ERROR: rc:3: invalid argument 0011 for command tls_fingerprint", NULL },
	{ "account a\nhost h\ntls_cert_file c\n", "# tls_cert_file without tls_key_file: msmtp "
	  "refuses that too; left out", "tls_cert_file = c" },
	{ "account a\nhost h\ntls_min_dh_prime_bits 512\n", "# tls_min_dh_prime_bits has no "
	  "equivalent (tls_priorities does that)", NULL },
	/* the message side */
	{ "account a\nhost h\nfrom %U@%C\ndomain mail.example.org\n",
	  "domain = mail.example.org|from = %U@%H", NULL },
	{ "account a\nhost h\nfrom x@%M\ndomain %M\n", "domain = mx.example.net|"
	  "from = x@mx.example.net", NULL },
	{ "account a\nhost h\ndomain %H\n", "# domain %H: postbote's default is the machine's "
	  "fully qualified name", "domain = %H" },
	{ "account a\nhost h\nfrom *@example.org\n", "# from *@example.org is a pattern for -f: "
	  "postbote has none; choose this account with -a a", "from = *@example.org" },
	{ "account a\nhost h\nauto_from on\nmaildomain example.org\nfrom x@y\n",
	  "from = %U@example.org", "from = x@y" },
	{ "account a\nhost h\nset_from_header on\nset_date_header off\nset_msgid_header\n"
	  "remove_bcc_headers off\nallow_from_override off\nfrom_full_name Al Ice\n",
	  "from_full_name = Al Ice|allow_from_override = off|set_from_header = on|"
	  "set_date_header = off|set_msgid_header = auto|remove_bcc_headers = off", NULL },
	{ "account a\nhost h\nadd_missing_from_header off\nadd_missing_date_header\nkeepbcc\n",
	  "set_from_header = off|set_date_header = auto|remove_bcc_headers = off", NULL },
	{ "account a\nhost h\ndsn_notify failure,delay\ndsn_return headers\n",
	  "dsn_notify = failure,delay|dsn_return = headers", NULL },
	{ "account a\nhost h\ndsn_notify off\ndsn_return off\n", "[a]", "dsn_return = off" },
	{ "account a\nhost h\ndsn_return\n", "ERROR: rc:3: command dsn_return needs an argument",
	  NULL },
	{ "account a\nhost h\nlogfile ~/log\naliases ~/.aliases\n",
	  "aliases = /home/al/.aliases|logfile = /home/al/log", NULL },
	{ "account a\nhost h\nlogfile -\nlogfile_time_format %H\n",
	  "# logfile - (standard output) has no equivalent; left out|# logfile_time_format has no "
	  "equivalent: postbote's log lines have their own time format", NULL },
	{ "account a\nhost h\ntimeout off\n", "# timeout off: postbote always waits at most "
	  "timeout seconds (default 60)", "timeout = off" },
	{ "account a\nhost h\ntimeout 7200\n", "# timeout 7200: postbote's longest is 3600|"
	  "timeout = 3600", NULL },
	{ "account a\nhost h\nconnect_timeout 30\n", "timeout = 30", NULL },
	{ "account a\nhost h\ntimeout soon\n", "ERROR: rc:3: invalid argument soon for command "
	  "timeout", NULL },
	{ "account a\nhost h\nport 0\n", "ERROR: rc:3: invalid argument 0 for command port", NULL },
	{ "account a\nhost h\nport\n", "ERROR: rc:3: command port needs an argument", NULL },
	/* what cannot be imported */
	{ "account a\nhost h\nsocket /run/s\naccount b\nhost h\n", "# msmtp account a (line 1) is "
	  "not imported: it connects to a local socket, which postbote cannot|[b]", "[a]" },
	{ "account a\nhost h\nproxy_host 127.0.0.1\nproxy_port 9050\n", "# msmtp account a (line 1) "
	  "is not imported: it goes through a SOCKS proxy, which postbote cannot (it would connect "
	  "directly)", "[a]" },
	{ "account a\nhost h\nprotocol lmtp\n", "# msmtp account a (line 1) is not imported: it "
	  "speaks LMTP; postbote speaks SMTP only", "[a]" },
	{ "account base\ntls on\naccount a : base\nhost h\n", "# msmtp account base (line 1) is not "
	  "imported: it has no host (msmtp cannot send with it either; accounts that inherit from "
	  "it are written out with its settings)|[a]|tls = starttls", "[base]" },
	{ "account defaults\nhost h\n", "ERROR: rc:1: account name 'defaults' cannot be a postbote "
	  "section name; rename it", NULL },
	{ "account a]\nhost h\n", "ERROR: rc:1: account name 'a]' cannot be a postbote section "
	  "name; rename it", NULL },
	{ "account a\nhost h1 h2\n", "ERROR: rc:2: account a: host 'h1 h2' is more than one name",
	  NULL },
	{ "account a\nhost h\ntls_host_override a:b\n", "ERROR: rc:1: account a: postbote would "
	  "not accept its translation: tls_host_override must be a domain name, not 'a:b'", NULL },
	{ "account a\nhost h\ndomain localhost\n", "domain = localhost|# domain localhost: some "
	  "servers refuse EHLO localhost (Fastmail does); without domain, postbote says the "
	  "machine's name", NULL },
	/* what msmtp refuses, and eval */
	{ "account a\nhost h\neval echo port 25\n", "ERROR: rc:3: eval runs a command while the "
	  "file is read", NULL },
	{ "account a\nhots h\n", "ERROR: rc:2: unknown command hots", NULL },
	{ "defaults x\n", "ERROR: rc:1: command defaults does not take an argument", NULL },
	{ "account a\nhost\n", "ERROR: rc:2: command host needs an argument", NULL },
	{ "account a\nhost h\ntls maybe\n", "ERROR: rc:3: invalid argument maybe for command tls",
	  NULL },
	{ "account a\nhost h\ntls_nocertcheck off\n", "ERROR: rc:3: command tls_nocertcheck does "
	  "not take an argument", NULL },
	{ "account a\nhost h\nsyslog LOG_DAEMON\n", "ERROR: rc:3: invalid argument LOG_DAEMON for "
	  "command syslog", NULL },
	{ "# nothing\n", "ERROR: rc defines no account", NULL },
	{ "account a\nhost h\nuser u\001x\n", "ERROR: rc:3: account a: the value of user holds a "
	  "control character, which a postbote configuration line cannot", NULL },
};

static void test_rows(void)
{
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct row *r = &rows[i];
		struct import_result res;
		const char *got;

		UNIT_CTX("row %zu: %.60s", i, r->text);
		got = tr(r->text, &res);
		if (strncmp(r->want, "ERROR: ", 7) == 0) {
			if (!CHECK(strncmp(got, r->want, strlen(r->want)) == 0))
				fprintf(stderr, "  got: %s\n", got);
			continue;
		}
		if (!CHECK(has_lines(got, r->want)))
			fprintf(stderr, "  want in order: %s\n  got:\n%s\n", r->want, got);
		if (r->never && !CHECK(!has_lines(got, r->never)))
			fprintf(stderr, "  must not have: %s\n  got:\n%s\n", r->never, got);
	}
	UNIT_CTX_CLEAR();
}

/* syslog is translated when this postbote has the key (a build with syslog support), and is
 * a comment otherwise: both are checked against what conf says of the key. */
static void test_syslog(void)
{
	struct conf c;
	struct err e;
	const char *probe = "[t]\nhost = h\nsyslog = local3\n";
	int have = conf_load_mem(&c, "t", probe, strlen(probe), &e) == 0;
	const char *got;

	conf_free(&c);
	got = tr("account a\nhost h\nsyslog LOG_LOCAL3\naccount b\nhost h\nsyslog\n", NULL);
	if (have) {
		CHECK(has_lines(got, "[a]|syslog = local3|[b]|syslog = user"));
	} else {
		CHECK(has_lines(got, "[a]|# syslog LOG_LOCAL3 has no equivalent in this postbote; "
				"left out|[b]|# syslog LOG_USER has no equivalent in this postbote; "
				"left out"));
	}
	CHECK(!strstr(got, "ERROR"));
}

/* The counts that --import-msmtprc reports, and what the header says. */
static void test_result(void)
{
	struct import_result r;
	const char *got = tr("account a\nhost h\nset_to_header on\npassword p\nuser u\nauth on\ntls on\n"
			     "account b\nsocket /s\n", &r);

	CHECK_UINT(r.accounts, 1);
	CHECK_UINT(r.skipped, 1);
	CHECK_UINT(r.notes, 1);
	CHECK_INT(r.has_password, 1);
	CHECK(strncmp(got, "# postbote configuration translated from rc by postbote "
		      "--import-msmtprc.\n", 60) == 0);
	tr("account a\nhost h\n", &r);
	CHECK_INT(r.has_password, 0);
}

/* Lines: msmtp's limit of 500 characters, postbote's of 200 bytes, NUL bytes, no HOME. */
static void test_limits(void)
{
	char text[1200], e_text[600];
	struct import_opts o = { .file = "rc" };
	struct err e = { 0 };
	struct buf out;

	memset(text, 'x', sizeof text);
	memcpy(text, "account a\nhost ", 15);
	text[15 + 485] = '\n';
	text[15 + 486] = '\0';
	CHECK(strcmp(tr(text, NULL), "ERROR: rc:2: account a: host = ... would be a line of 493 "
		      "bytes; postbote's lines must be shorter than 200") == 0);
	memset(text + 15, 'x', 495);	/* a line of 499 characters is msmtp's longest */
	text[15 + 495] = '\n';
	text[15 + 496] = '\0';
	CHECK_STR(tr(text, NULL), "ERROR: rc:2: line longer than 500 characters");
	buf_init(&out, BUF_NO_MAX);
	CHECK_INT(import_msmtprc("account a\nhost h\0x\n", 19, &o, &out, NULL, &e), -1);
	CHECK_STR(e.text, "rc:2: the line contains a NUL byte");
	CHECK_INT(import_msmtprc("account a\nhost h\nlogfile ~/x\n", 29, &o, &out, NULL, &e), -1);
	snprintf(e_text, sizeof e_text, "%s", e.text);
	CHECK_STR(e_text, "rc:3: logfile starts with ~, but HOME is not set");
	CHECK_INT(out.len, 0);
	buf_free(&out);
}

int main(void)
{
	test_rows();
	test_syslog();
	test_result();
	test_limits();
	return unit_done();
}
