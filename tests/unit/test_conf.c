/* Unit tests for conf, through conf_load_mem (no file is read): every type of value, good and bad,
 * with the exact message; the built-in defaults; [defaults] inheritance; the choice of account
 * by -a, by from and by default_account; the host list; the rules between keys; comments and
 * the bytes a line may not hold; the queue directories and the fallback account. Each text is
 * called "t.conf", so messages read "t.conf:LINE: ...". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "net.h"
#include "unit.h"

/* Loads text and resolves account `name` (NULL: the usual choice); the error text, or "" when
 * both worked. */
static const char *resolve(const char *text, const char *name, const char *from,
			   struct conf *c, struct account *a)
{
	static struct err e;

	memset(&e, 0, sizeof e);
	if (conf_load_mem(c, "t.conf", text, strlen(text), &e) < 0)
		return e.text;
	if (conf_account(c, name, from, a, &e) < 0)
		return e.text;
	return "";
}

/* One field of the account, written out: numbers and enums in decimal, strings as they are,
 * NULL as "(null)", the host list joined by '|', auth as OFF, ON or the mechanism. */
static const char *field(const struct account *a, const char *key)
{
	static char out[4096];
	const char *s = NULL;
	long n = 0;
	int is_str = 1;

#define STR(k, f) else if (strcmp(key, k) == 0) s = a->f
#define NUM(k, f) else if (strcmp(key, k) == 0) n = (long)a->f, is_str = 0
	if (strcmp(key, "host") == 0) {
		out[0] = '\0';
		for (size_t i = 0; i < a->nhosts; i++)
			snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s", i ? "|" : "",
				 a->hosts[i]);
		return out;
	} else if (strcmp(key, "auth") == 0) {
		return a->auth == CONF_AUTH_MECH ? a->mech : a->auth == CONF_AUTH_ON ? "ON" : "OFF";
	} else if (strcmp(key, "rate_limit") == 0) {
		snprintf(out, sizeof out, "%d/%ld", a->rate_limit, a->rate_window);
		return out;
	}
	NUM("port", port); NUM("tls", tls); STR("tls_trust_file", tls_trust_file);
	STR("tls_crl_file", tls_crl_file); STR("tls_fingerprint", tls_fingerprint);
	STR("tls_cert_file", tls_cert_file); STR("tls_key_file", tls_key_file);
	STR("tls_priorities", tls_priorities); NUM("tls_min_version", tls_min_version);
	STR("tls_host_override", tls_host_override); NUM("tls_certcheck", tls_certcheck);
	NUM("auth_plaintext", auth_plaintext); STR("user", user); STR("password", password);
	STR("passwordeval", passwordeval); STR("from", from); STR("domain", domain);
	NUM("timeout", timeout); STR("logfile", logfile); STR("maildomain", maildomain);
	STR("aliases", aliases); NUM("allow_from_override", allow_from_override);
	NUM("set_from_header", set_from_header); STR("from_full_name", from_full_name);
	NUM("set_date_header", set_date_header); NUM("set_msgid_header", set_msgid_header);
	NUM("remove_bcc_headers", remove_bcc_headers); STR("dsn_notify", dsn_notify);
	NUM("dsn_return", dsn_return); NUM("queue", queue); STR("queue_dir", queue_dir);
	NUM("queue_lifetime", queue_lifetime); NUM("queue_retry_min", queue_retry_min);
	NUM("queue_retry_max", queue_retry_max); NUM("queue_flush", queue_flush);
	NUM("max_recipients", max_recipients); NUM("syslog", syslog);
	else
		return "(no such field)";
#undef STR
#undef NUM
	if (is_str)
		return s ? s : "(null)";
	snprintf(out, sizeof out, "%ld", n);
	return out;
}

/* ---- every type: good values (the converted field) and bad ones (the exact message) ---- */

#define FP_QUARTER "ab:cd:ef:01:23:45:67:89"
#define FP_COLONS FP_QUARTER ":" FP_QUARTER ":" FP_QUARTER ":" FP_QUARTER
#define FP_BARE "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789"
#define FP_MSG "tls_fingerprint must be the SHA-256 fingerprint of the server's certificate: 64 " \
	       "hex digits, pairs separated by ':' or not (postbote --serverinfo shows it), not '"

#define DSN_MSG "dsn_notify must be never or a comma-separated list of success, failure and " \
		"delay, not "
#define DURATION_MSG " must be a duration such as 90s, 15m, 2h or 5d, not "
#define SYSLOG_MSG "syslog must be on, off, or a facility: mail, user, daemon or local0 to " \
		   "local7, not "
#define AUTH_MSG "auth must be on, off or a mechanism name such as SCRAM-SHA-256, not "

static const struct {
	const char *key, *value;
	const char *want;	/* the field written out, or "!" and the message after "t.conf:4: " */
} values[] = {
	{ "port", "25", "25" },
	{ "port", "65535", "65535" },
	{ "port", "0", "!port must be a number from 1 to 65535, not '0'" },
	{ "port", "65536", "!port must be a number from 1 to 65535, not '65536'" },
	{ "port", "25x", "!port must be a number from 1 to 65535, not '25x'" },
	{ "timeout", "3600", "3600" },
	{ "timeout", "0", "!timeout must be a number of seconds from 1 to 3600, not '0'" },
	{ "max_recipients", "100000", "100000" },
	{ "max_recipients", "100001", "!max_recipients must be a number from 1 to 100000, not '100001'" },
	{ "tls", "implicit", "1" },
	{ "tls", "off", "2" },
	{ "tls", "STARTTLS", "!tls must be starttls, implicit or off, not 'STARTTLS'" },
	{ "tls_min_version", "1.3", "13" },
	{ "tls_min_version", "1.2", "12" },
	{ "tls_min_version", "1.1", "!tls_min_version must be 1.2 or 1.3, not '1.1'" },
	{ "tls_certcheck", "off", "0" },
	{ "tls_certcheck", "maybe", "!tls_certcheck must be on or off, not 'maybe'" },
	{ "auth_plaintext", "allow", "1" },
	{ "auth_plaintext", "yes", "!auth_plaintext must be allow or deny, not 'yes'" },
	{ "set_from_header", "on", "1" },
	{ "set_from_header", "off", "2" },
	{ "set_from_header", "always", "!set_from_header must be auto, on or off, not 'always'" },
	{ "set_date_header", "off", "0" },
	{ "set_msgid_header", "on", "!set_msgid_header must be auto or off, not 'on'" },
	{ "dsn_return", "headers", "2" },
	{ "dsn_return", "full", "1" },
	{ "dsn_return", "hdrs", "!dsn_return must be full or headers, not 'hdrs'" },
	{ "dsn_notify", "success,Delay", "SUCCESS,DELAY" },
	{ "dsn_notify", "never", "NEVER" },
	{ "dsn_notify", "success,", "!" DSN_MSG "'success,'" },
	{ "dsn_notify", "never,success", "!" DSN_MSG "'never,success'" },
	{ "queue_lifetime", "90", "90" },
	{ "queue_lifetime", "15m", "900" },
	{ "queue_lifetime", "2h", "7200" },
	{ "queue_lifetime", "5d", "432000" },
	{ "queue_lifetime", "5days", "!queue_lifetime" DURATION_MSG "'5days'" },
	{ "queue_retry_min", "-1", "!queue_retry_min" DURATION_MSG "'-1'" },
	{ "rate_limit", "100/hour", "100/3600" },
	{ "rate_limit", "5/d", "5/86400" },
	{ "rate_limit", "0/day", "!rate_limit must be N/hour or N/day, not '0/day'" },
	{ "rate_limit", "5/week", "!rate_limit must be N/hour or N/day, not '5/week'" },
	{ "maildomain", "example.org", "example.org" },
	{ "maildomain", "a@b", "!maildomain must be a domain name, not 'a@b'" },
	{ "tls_host_override", "mx example",
	  "!tls_host_override must be a domain name, not 'mx example'" },
	{ "tls_fingerprint", FP_COLONS, FP_COLONS },
	{ "tls_fingerprint", FP_BARE, FP_BARE },
	{ "tls_fingerprint", "ab:cd:ef", "!" FP_MSG "ab:cd:ef'" },
	/* ':' inside a pair: the old read-time check let it through, the connection refused it */
	{ "tls_fingerprint", "a:bcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
	  "!" FP_MSG "a:bcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789'" },
	{ "tls_fingerprint", FP_BARE ":", "!" FP_MSG FP_BARE ":'" },
	{ "auth", "On", "ON" },
	{ "auth", "OFF", "OFF" },
	{ "auth", "scram-sha-256", "SCRAM-SHA-256" },
	{ "auth", "plain text", "!" AUTH_MSG "'plain text'" },
	{ "auth", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	  "!" AUTH_MSG "'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'" },
	{ "user", "", "!user has an empty value" },
	{ "queue_dir", "", "!queue_dir has an empty value" },
	{ "logfile", "/var/log/pb.log", "/var/log/pb.log" },
	/* syslog: the facility as <syslog.h> numbers it (LOG_MAIL 16, LOG_USER 8, LOG_LOCAL0 128) */
	{ "syslog", "on", "16" },
	{ "syslog", "off", "0" },
	{ "syslog", "mail", "16" },
	{ "syslog", "LOG_MAIL", "16" },
	{ "syslog", "user", "8" },
	{ "syslog", "Local7", "184" },
	{ "syslog", "log_local0", "128" },
	{ "syslog", "LOG_OFF", "!" SYSLOG_MSG "'LOG_OFF'" },
	{ "syslog", "kern", "!" SYSLOG_MSG "'kern'" },
	{ "syslog", "local8", "!" SYSLOG_MSG "'local8'" },
	/* the whole value, even with " ; " in it (inih would start a comment there) */
	{ "passwordeval", "pass show mail ; echo", "pass show mail ; echo" },
	{ "from_full_name", "A;B ;C", "A;B ;C" },
	{ "host", "a.example, b.example\tc.example d.example", "a.example|b.example|c.example|d.example" },
	{ "host", "1,2,3,4,5,6,7,8", "1|2|3|4|5|6|7|8" },
	{ "host", "1,2,3,4,5,6,7,8,9", "!host lists more than 8 hosts" },
	{ "host", " , ", "!host has an empty value" },
	{ "host", "::1 [2001:db8::1] 192.0.2.1", "::1|[2001:db8::1]|192.0.2.1" },
	{ "host", "smtp.example.org ; the relay", "!host must list host names or addresses, not ';'" },
	{ "host", "a@b.example", "!host must list host names or addresses, not 'a@b.example'" },
};

static void test_values(void)
{
	for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
		char text[1024];
		struct conf c;
		struct account a;
		const char *got;

		UNIT_CTX("%s = %s", values[i].key, values[i].value);
		/* user = u with auth_plaintext, so that auth and tls rows resolve */
		snprintf(text, sizeof text, "[a]\nhost = h.example\nuser = u\n%s = %s\n"
			 "auth_plaintext = allow\n", values[i].key, values[i].value);
		got = resolve(text, "a", NULL, &c, &a);
		if (values[i].want[0] == '!') {
			char want[600];

			snprintf(want, sizeof want, "t.conf:4: %s", values[i].want + 1);
			CHECK_STR(got, want);
		} else if (CHECK_STR(got, "")) {
			CHECK_STR(field(&a, values[i].key), values[i].want);
		}
		conf_free(&c);
	}
	UNIT_CTX_CLEAR();
}

/* ---- host names: the longest that fits, and one byte more ---- */

static void test_host_length(void)
{
	char text[700], name[300], want[200];
	struct conf c;
	struct account a;

	/* inih's line buffer is 200 bytes, so a name over CONF_HOST_MAX cannot even be written
	 * today; the longest that fits is kept whole */
	memset(name, 'x', 190);
	name[190] = '\0';
	snprintf(text, sizeof text, "[a]\nhost = %s\n", name);
	if (CHECK_STR(resolve(text, "a", NULL, &c, &a), ""))
		CHECK_STR(a.hosts[0], name);
	conf_free(&c);
	memset(name, 'x', 255);
	name[255] = '\0';
	snprintf(text, sizeof text, "[a]\nhost = b.example,%s\n", name);
	snprintf(want, sizeof want, "t.conf:2: line too long (%zu bytes; the limit is 198)",
		 strlen("host = b.example,") + 255);
	CHECK_STR(resolve(text, "a", NULL, &c, &a), want);
	conf_free(&c);
}

/* ---- the built-in defaults ---- */

static void test_defaults(void)
{
	static const struct {
		const char *key, *want;
	} rows[] = {
		{ "port", "587" }, { "tls", "0" }, { "tls_trust_file", "system" },
		{ "tls_crl_file", "(null)" }, { "tls_fingerprint", "(null)" },
		{ "tls_min_version", "12" }, { "tls_certcheck", "1" }, { "auth", "OFF" },
		{ "auth_plaintext", "0" }, { "user", "(null)" }, { "timeout", "60" },
		{ "maildomain", "(null)" }, { "allow_from_override", "1" },
		{ "set_from_header", "0" }, { "set_date_header", "1" }, { "set_msgid_header", "1" },
		{ "remove_bcc_headers", "1" }, { "dsn_notify", "(null)" }, { "dsn_return", "0" },
		{ "queue", "1" }, { "queue_lifetime", "432000" }, { "queue_retry_min", "60" },
		{ "queue_retry_max", "3600" }, { "queue_flush", "1" }, { "rate_limit", "0/0" },
		{ "max_recipients", "0" }, { "syslog", "0" },
	};
	char fqdn[256], qdir[4096];
	struct conf c;
	struct account a;

	if (!CHECK_STR(resolve("[a]\nhost = h.example\n", "a", NULL, &c, &a), ""))
		return;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		UNIT_CTX("default of %s", rows[i].key);
		CHECK_STR(field(&a, rows[i].key), rows[i].want);
	}
	UNIT_CTX_CLEAR();
	CHECK_STR(a.name, "a");
	CHECK_STR(a.file, "t.conf");
	net_fqdn(fqdn, sizeof fqdn);
	CHECK_STR(a.domain, fqdn);
	if (geteuid() == 0)
		snprintf(qdir, sizeof qdir, "%s/spool/postbote", LOCALSTATEDIR);
	else
		snprintf(qdir, sizeof qdir, "%s/postbote/queue", getenv("XDG_STATE_HOME"));
	CHECK_STR(a.queue_dir, qdir);
	conf_free(&c);

	/* port follows tls; auth follows user */
	CHECK_STR(resolve("[a]\nhost = h\ntls = implicit\nuser = u\n", "a", NULL, &c, &a), "");
	CHECK_INT(a.port, 465);
	CHECK_INT(a.auth, CONF_AUTH_ON);
	conf_free(&c);
	/* the retry times stay in order */
	CHECK_STR(resolve("[a]\nhost = h\nqueue_retry_min = 0\nqueue_retry_max = 0\n", "a", NULL,
			  &c, &a), "");
	CHECK_INT(a.queue_retry_min, 1);
	CHECK_INT(a.queue_retry_max, 1);
	conf_free(&c);
	CHECK_STR(resolve("[a]\nhost = h\nqueue_retry_min = 2h\nqueue_retry_max = 1h\n", "a", NULL,
			  &c, &a), "");
	CHECK_INT(a.queue_retry_max, 7200);
	conf_free(&c);
}

/* ---- [defaults], later settings, and the choice of account ---- */

/* with a line of choice between the two */
static const char accounts_head[] =
	"[defaults]\n"
	"port = 2525\n"
	"queue_dir = /q/shared\n";
static const char accounts_tail[] =
	"[first]\n"
	"host = one.example\n"
	"from = alice@example.org\n"
	"[second]\n"
	"host = two.example\n"
	"port = 25\n"
	"from = bob@example.org\n"
	"queue_dir = /q/second\n"
	"[first]\n"
	"timeout = 9\n";

static void accounts(char *text, size_t size, const char *defaults_line)
{
	snprintf(text, size, "%s%s\n%s", accounts_head, defaults_line, accounts_tail);
}

static void test_choice(void)
{
	static const struct {
		const char *defaults_line, *name, *from;
		const char *want;	/* the account's name, or "!" and the message */
	} rows[] = {
		{ "default_account = second", NULL, NULL, "second" },
		{ "default_account = second", "first", NULL, "first" },
		{ "default_account = second", NULL, "ALICE@example.org", "first" },
		{ "default_account = first", NULL, "nobody@example.org", "first" },
		{ "default_account = first", "nosuch", NULL, "!no account 'nosuch' in t.conf" },
		{ "default_account = first", "defaults", NULL, "!no account 'defaults' in t.conf" },
		{ "default_account = zz", NULL, NULL,
		  "!default_account names 'zz', but t.conf has no such account" },
		{ "", NULL, NULL, "!no account chosen: use -a NAME, or set default_account in "
				  "[defaults] of t.conf" },
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char text[1024];
		struct conf c;
		struct account a;
		const char *got;

		UNIT_CTX("row %zu: %s, -a %s, -f %s", i, rows[i].defaults_line,
			 rows[i].name ? rows[i].name : "-", rows[i].from ? rows[i].from : "-");
		accounts(text, sizeof text, rows[i].defaults_line);
		got = resolve(text, rows[i].name, rows[i].from, &c, &a);
		if (rows[i].want[0] == '!')
			CHECK_STR(got, rows[i].want + 1);
		else if (CHECK_STR(got, ""))
			CHECK_STR(a.name, rows[i].want);
		conf_free(&c);
	}
	UNIT_CTX_CLEAR();

	/* an account named "default" when nothing else chooses */
	{
		struct conf c;
		struct account a;

		CHECK_STR(resolve("[x]\nhost = x\n[default]\nhost = d\n", NULL, NULL, &c, &a), "");
		CHECK_STR(a.name, "default");
		conf_free(&c);
	}
	/* one account and nothing to choose by: that one, [defaults] or not; -a still checks */
	{
		struct conf c;
		struct account a;

		if (CHECK_STR(resolve("[defaults]\nport = 25\n[only]\nhost = o\n", NULL, NULL, &c,
				      &a), "")) {
			CHECK_STR(a.name, "only");
			CHECK_STR(a.chosen_by, "the only account");
			CHECK_INT(a.port, 25);
		}
		conf_free(&c);
		CHECK_STR(resolve("[only]\nhost = o\n", "other", NULL, &c, &a),
			  "no account 'other' in t.conf");
		conf_free(&c);
		CHECK_STR(resolve("[defaults]\nhost = o\n", NULL, NULL, &c, &a),
			  "no account chosen: use -a NAME, or set default_account in [defaults] of "
			  "t.conf");
		conf_free(&c);
	}
}

static void test_inheritance(void)
{
	char text[1024];
	struct conf c;
	struct account a;

	accounts(text, sizeof text, "default_account = first");
	if (CHECK_STR(resolve(text, "first", NULL, &c, &a), "")) {
		CHECK_INT(a.port, 2525);	/* from [defaults] */
		CHECK_INT(a.timeout, 9);	/* a second [first] section adds to the first */
		CHECK_STR(a.queue_dir, "/q/shared");
		CHECK_STR(field(&a, "host"), "one.example");
	}
	conf_free(&c);
	if (CHECK_STR(resolve(text, "second", NULL, &c, &a), "")) {
		CHECK_INT(a.port, 25);		/* the account wins over [defaults] */
		CHECK_STR(a.queue_dir, "/q/second");
	}
	conf_free(&c);
	/* the last setting wins */
	if (CHECK_STR(resolve("[a]\nhost = h\nport = 1\nport = 2\n", "a", NULL, &c, &a), ""))
		CHECK_INT(a.port, 2);
	conf_free(&c);
}

/* ---- the rules between keys ---- */

static void test_rules(void)
{
	static const struct {
		const char *lines;	/* after "[a]\nhost = h\n" */
		const char *want;	/* "" or the message */
	} rows[] = {
		{ "user = u\n", "" },
		{ "auth = PLAIN\n", "t.conf: account 'a' has auth = PLAIN but no user" },
		{ "auth = on\n", "t.conf: account 'a' has auth = on but no user" },
		{ "auth = off\npassword = p\npasswordeval = echo p\n", "" },
		/* the mechanisms of sasl_no_password need neither a user nor TLS */
		{ "auth = EXTERNAL\ntls = off\n", "" },
		{ "auth = gssapi\n", "" },
		{ "auth = GS2-KRB5\ntls = off\n", "" },
		{ "user = u\ntls = off\n",
		  "t.conf: account 'a' has tls = off, so the password would cross the network in "
		  "cleartext; turn TLS on (or, dangerously, set auth_plaintext = allow)" },
		{ "user = u\ntls = off\nauth_plaintext = allow\n", "" },
		{ "user = u\npassword = p\npasswordeval = echo p\n",
		  "t.conf: account 'a' sets both password and passwordeval; keep one" },
		{ "user = u\npassword_file = /run/secrets/p\n", "" },
		{ "user = u\npassword_file = /f\npassword = p\n",
		  "t.conf: account 'a' sets both password_file and password; keep one" },
		{ "user = u\npassword_file = /f\npasswordeval = echo p\n",
		  "t.conf: account 'a' sets both password_file and passwordeval; keep one" },
		{ "tls_cert_file = /c.pem\n",
		  "t.conf: account 'a' sets tls_cert_file without tls_key_file; a client "
		  "certificate needs both" },
		{ "tls_key_file = /c.key\n",
		  "t.conf: account 'a' sets tls_key_file without tls_cert_file; a client "
		  "certificate needs both" },
		{ "tls_cert_file = /c.pem\ntls_key_file = /c.key\n", "" },
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char text[1024];
		struct conf c;
		struct account a;

		UNIT_CTX("%s", rows[i].lines);
		snprintf(text, sizeof text, "[a]\nhost = h\n%s", rows[i].lines);
		CHECK_STR(resolve(text, "a", NULL, &c, &a), rows[i].want);
		conf_free(&c);
	}
	UNIT_CTX_CLEAR();

	{
		struct conf c;
		struct account a;

		CHECK_STR(resolve("[a]\nport = 25\n", "a", NULL, &c, &a),
			  "t.conf: account 'a' has no host");
		conf_free(&c);
	}
}

/* ---- reading: keys, sections, comments, bytes ---- */

static void test_reading(void)
{
	static const struct {
		const char *text;
		const char *want;	/* "" or the message */
	} rows[] = {
		{ "[a]\nhost = h\nprot = 587\n", "t.conf:3: unknown key 'prot'; did you mean 'port'?" },
		{ "[a]\nhost = h\nsomething_else = 1\n",
		  "t.conf:3: unknown key 'something_else' (see postbote.conf(5))" },
		{ "host = h\n[a]\n", "t.conf:1: 'host' is outside any section; put it under "
				     "[defaults] or an [account]" },
		{ "[a]\nhost = h\ndefault_account = a\n",
		  "t.conf:3: default_account belongs in [defaults]" },
		{ "[a]\nhost = h\njust words\n",
		  "t.conf:3: syntax error: expected [section] or key = value" },
		{ "[a]\nhost = h\nuser = a\x01" "b\n",
		  "t.conf:3: the line contains a control character (0x01)" },
		{ "[a]\nhost = h\nuser = a\0b\n", "t.conf:3: the line contains a NUL byte" },
		/* comment lines of any length, indented or not; a comment after a section name */
		{ "; one\n# two\n  ; three\n[a] ; the account\n\thost = h\n", "" },
		{ "# xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
		  "[a]\nhost = h\n", "" },
		{ "[a]\r\nhost = h\r\n", "" },
		{ "[a]\nhost = h", "" },	/* no newline at the end */
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct conf c;
		struct account a;
		struct err e = { 0 };
		size_t len = strlen(rows[i].text);

		UNIT_CTX("row %zu", i);
		if (strstr(rows[i].want, "NUL"))
			len = sizeof "[a]\nhost = h\nuser = a\0b\n" - 1;
		if (conf_load_mem(&c, "t.conf", rows[i].text, len, &e) < 0)
			CHECK_STR(e.text, rows[i].want);
		else if (conf_account(&c, "a", NULL, &a, &e) < 0)
			CHECK_STR(e.text, rows[i].want);
		else if (CHECK_STR("", rows[i].want))
			CHECK_STR(field(&a, "host"), "h");
		conf_free(&c);
	}
	UNIT_CTX_CLEAR();

	/* a ';' in a section name or a key is kept, and named in the message */
	{
		struct conf c;
		struct err e = { 0 };
		static const char text[] = "[a]\nhost = h\nport;x = 1\n";

		CHECK(conf_load_mem(&c, "t.conf", text, strlen(text), &e) < 0);
		CHECK_STR(e.text, "t.conf:3: unknown key 'port;x'; did you mean 'port'?");
		conf_free(&c);
	}
}

/* ---- queue directories and the fallback account ---- */

static void test_queue_dirs(void)
{
	static char dirs[8][4096];
	char text[1024];
	struct conf c;
	struct err e = { 0 };
	size_t n;

	accounts(text, sizeof text, "default_account = second");
	CHECK(conf_load_mem(&c, "t.conf", text, strlen(text), &e) == 0);
	n = conf_queue_dirs(&c, NULL, dirs, 8, &e);
	if (CHECK_INT(n, 2)) {
		CHECK_STR(dirs[0], "/q/second");	/* the default account's first */
		CHECK_STR(dirs[1], "/q/shared");
	}
	n = conf_queue_dirs(&c, "first", dirs, 8, &e);
	if (CHECK_INT(n, 1))
		CHECK_STR(dirs[0], "/q/shared");
	n = conf_queue_dirs(&c, NULL, dirs, 1, &e);
	CHECK_INT(n, 1);
	CHECK_INT(conf_queue_dirs(&c, "nosuch", dirs, 8, &e), 0);
	CHECK_STR(e.text, "no account 'nosuch' in t.conf");
	conf_free(&c);

	/* no default account: [defaults]' queue_dir, and accounts that do not resolve are left out */
	{
		static const char t2[] = "[defaults]\nqueue_dir = /q/d\n[x]\nhost = x\nqueue_dir = /q/x\n"
					 "[broken]\nport = 1\nqueue_dir = /q/broken\n";

		CHECK(conf_load_mem(&c, "t.conf", t2, strlen(t2), &e) == 0);
		n = conf_queue_dirs(&c, NULL, dirs, 8, &e);
		if (CHECK_INT(n, 2)) {
			CHECK_STR(dirs[0], "/q/d");
			CHECK_STR(dirs[1], "/q/x");
		}
		conf_free(&c);
	}
	/* nothing says: the built-in directory, which accounts share */
	{
		static const char t3[] = "[x]\nhost = x\n";
		struct account a;

		CHECK(conf_load_mem(&c, "t.conf", t3, strlen(t3), &e) == 0);
		CHECK(conf_account(&c, "x", NULL, &a, &e) == 0);
		n = conf_queue_dirs(&c, NULL, dirs, 8, &e);
		if (CHECK_INT(n, 1))
			CHECK_STR(dirs[0], a.queue_dir);
		conf_free(&c);
	}
}

static void test_fallback(void)
{
	struct account a;

	memset(&a, 0x55, sizeof a);
	conf_account_fallback(&a, "gone");
	CHECK_STR(a.name, "gone");
	CHECK_INT(a.queue_lifetime, CONF_QUEUE_LIFETIME);
	CHECK_INT(a.queue_retry_min, CONF_QUEUE_RETRY_MIN);
	CHECK_INT(a.queue_retry_max, CONF_QUEUE_RETRY_MAX);
	CHECK_INT(a.nhosts, 0);
	CHECK_INT(a.rate_limit, 0);
	CHECK(a.logfile == NULL && a.user == NULL);
}

int main(void)
{
	/* a user's built-in queue directory depends on these */
	setenv("XDG_STATE_HOME", "/state", 1);
	test_values();
	test_host_length();
	test_defaults();
	test_choice();
	test_inheritance();
	test_rules();
	test_reading();
	test_queue_dirs();
	test_fallback();
	return unit_done();
}
