/* import: an msmtprc read as msmtp reads it (see import.h), its accounts flattened and written
 * out as postbote sections; each section is checked by reading it back with conf. */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "import.h"
#include "sasl.h"

/* What an msmtp account holds. Several commands fill one field (msmtp's compatibility names:
 * connect_timeout, tls_nostarttls, keepbcc, ...), as its own mask bits do. */
enum imp_field {
	IF_HOST, IF_PORT, IF_TIMEOUT, IF_PROTOCOL, IF_DOMAIN, IF_FROM, IF_FROM_FULL_NAME,
	IF_ALLOW_FROM_OVERRIDE, IF_AUTH, IF_USER, IF_PASSWORD, IF_PASSWORDEVAL, IF_NTLMDOMAIN,
	IF_TLS, IF_TLS_STARTTLS, IF_TLS_KEY_FILE, IF_TLS_CERT_FILE, IF_TLS_TRUST_FILE,
	IF_TLS_CRL_FILE, IF_TLS_FINGERPRINT, IF_TLS_CERTCHECK, IF_TLS_MIN_DH, IF_TLS_PRIORITIES,
	IF_TLS_HOST_OVERRIDE, IF_DSN_RETURN, IF_DSN_NOTIFY, IF_LOGFILE, IF_LOGFILE_TIME_FORMAT,
	IF_SYSLOG, IF_ALIASES, IF_PROXY_HOST, IF_PROXY_PORT, IF_SET_FROM, IF_SET_DATE,
	IF_SET_MSGID, IF_SET_TO, IF_REMOVE_BCC, IF_SOURCE_IP, IF_SOCKET, IF_AUTO_FROM,
	IF_MAILDOMAIN, IF_IGNORED, IF_N
};

/* How a command's argument is read. */
enum imp_kind {
	K_TEXT,		/* anything; empty unsets */
	K_NEEDED,	/* anything but empty */
	K_FILE,		/* a file name: empty unsets, a leading '~' is $HOME */
	K_SWITCH,	/* on (or empty) or off */
	K_INVERTED,	/* a switch stored the other way round (keepbcc) */
	K_FLAG,		/* no argument: stores `fixed` (tls_nocertcheck) */
	K_WORDS,	/* one of `words` ("a|b|c"); empty is the first */
	K_LEGACY,	/* on (or empty) stores `fixed`, off stores "off" (add_missing_*) */
	K_PORT,		/* 1-65535 */
	K_PORT_OPT,	/* 1-65535, or empty */
	K_COUNT_OPT,	/* a positive number, or empty */
	K_TIMEOUT,	/* off or a positive number */
	K_AUTH, K_FINGERPRINT, K_DSN_NOTIFY, K_DSN_RETURN, K_SYSLOG
};

struct imp_cmd {
	const char *name;
	enum imp_field f;
	enum imp_kind kind;
	const char *words;	/* K_WORDS */
	const char *fixed;	/* K_FLAG, K_LEGACY, K_INVERTED's "on" */
};

static const struct imp_cmd imp_cmds[] = {
	{ "host", IF_HOST, K_NEEDED, NULL, NULL },
	{ "port", IF_PORT, K_PORT, NULL, NULL },
	{ "timeout", IF_TIMEOUT, K_TIMEOUT, NULL, NULL },
	{ "connect_timeout", IF_TIMEOUT, K_TIMEOUT, NULL, NULL },
	{ "protocol", IF_PROTOCOL, K_WORDS, "!smtp|lmtp", NULL },
	{ "domain", IF_DOMAIN, K_TEXT, NULL, NULL },
	{ "from", IF_FROM, K_TEXT, NULL, NULL },
	{ "from_full_name", IF_FROM_FULL_NAME, K_TEXT, NULL, NULL },
	{ "allow_from_override", IF_ALLOW_FROM_OVERRIDE, K_WORDS, "!on|off", NULL },
	{ "auth", IF_AUTH, K_AUTH, NULL, NULL },
	{ "user", IF_USER, K_TEXT, NULL, NULL },
	{ "password", IF_PASSWORD, K_TEXT, NULL, NULL },
	{ "passwordeval", IF_PASSWORDEVAL, K_TEXT, NULL, NULL },
	{ "ntlmdomain", IF_NTLMDOMAIN, K_TEXT, NULL, NULL },
	{ "tls", IF_TLS, K_SWITCH, NULL, NULL },
	{ "tls_starttls", IF_TLS_STARTTLS, K_SWITCH, NULL, NULL },
	{ "tls_nostarttls", IF_TLS_STARTTLS, K_FLAG, NULL, "off" },
	{ "tls_key_file", IF_TLS_KEY_FILE, K_FILE, NULL, NULL },
	{ "tls_cert_file", IF_TLS_CERT_FILE, K_FILE, NULL, NULL },
	{ "tls_trust_file", IF_TLS_TRUST_FILE, K_FILE, NULL, NULL },
	{ "tls_crl_file", IF_TLS_CRL_FILE, K_FILE, NULL, NULL },
	{ "tls_fingerprint", IF_TLS_FINGERPRINT, K_FINGERPRINT, NULL, NULL },
	{ "tls_certcheck", IF_TLS_CERTCHECK, K_SWITCH, NULL, NULL },
	{ "tls_nocertcheck", IF_TLS_CERTCHECK, K_FLAG, NULL, "off" },
	{ "tls_min_dh_prime_bits", IF_TLS_MIN_DH, K_COUNT_OPT, NULL, NULL },
	{ "tls_priorities", IF_TLS_PRIORITIES, K_TEXT, NULL, NULL },
	{ "tls_host_override", IF_TLS_HOST_OVERRIDE, K_TEXT, NULL, NULL },
	{ "tls_force_sslv3", IF_IGNORED, K_TEXT, NULL, NULL },
	{ "dsn_return", IF_DSN_RETURN, K_DSN_RETURN, NULL, NULL },
	{ "dsn_notify", IF_DSN_NOTIFY, K_DSN_NOTIFY, NULL, NULL },
	{ "logfile", IF_LOGFILE, K_FILE, NULL, NULL },
	{ "logfile_time_format", IF_LOGFILE_TIME_FORMAT, K_TEXT, NULL, NULL },
	{ "syslog", IF_SYSLOG, K_SYSLOG, NULL, NULL },
	{ "aliases", IF_ALIASES, K_FILE, NULL, NULL },
	{ "proxy_host", IF_PROXY_HOST, K_TEXT, NULL, NULL },
	{ "proxy_port", IF_PROXY_PORT, K_PORT_OPT, NULL, NULL },
	{ "set_from_header", IF_SET_FROM, K_WORDS, "auto|on|off", NULL },
	{ "add_missing_from_header", IF_SET_FROM, K_LEGACY, NULL, "auto" },
	{ "set_date_header", IF_SET_DATE, K_WORDS, "auto|off", NULL },
	{ "add_missing_date_header", IF_SET_DATE, K_LEGACY, NULL, "auto" },
	{ "set_msgid_header", IF_SET_MSGID, K_WORDS, "auto|off", NULL },
	{ "set_to_header", IF_SET_TO, K_WORDS, "on|off|undisclosed_recipients", NULL },
	{ "undisclosed_recipients", IF_SET_TO, K_LEGACY, NULL, "undisclosed_recipients" },
	{ "remove_bcc_headers", IF_REMOVE_BCC, K_SWITCH, NULL, NULL },
	{ "keepbcc", IF_REMOVE_BCC, K_INVERTED, NULL, NULL },
	{ "source_ip", IF_SOURCE_IP, K_TEXT, NULL, NULL },
	{ "socket", IF_SOCKET, K_TEXT, NULL, NULL },
	{ "auto_from", IF_AUTO_FROM, K_SWITCH, NULL, NULL },
	{ "maildomain", IF_MAILDOMAIN, K_TEXT, NULL, NULL },
};
#define IMP_NCMDS (sizeof imp_cmds / sizeof imp_cmds[0])

static const char *const imp_mechs[] = {
	"scram-sha-256-plus", "scram-sha-1-plus", "scram-sha-256", "scram-sha-1", "plain",
	"gssapi", "external", "oauthbearer", "cram-md5", "digest-md5", "login", "ntlm", "xoauth2",
	NULL
};

struct imp_acct {
	char *name;
	int line;		/* of its `account` command */
	char *parents;		/* the text after ':', for the comment; NULL without */
	char *v[IF_N];		/* NULL: unset */
	int at[IF_N];		/* the line that set it */
	uint64_t mask;		/* what the account itself (or what it copied) set */
};

struct imp {
	const struct import_opts *o;
	struct err *e;
	struct imp_acct defaults;
	struct imp_acct *accts;
	size_t n;
	struct imp_acct *cur;
	int line;
};

_Static_assert(IF_N <= 64, "the mask has a bit per field");

static int imp_fail(struct imp *im, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int imp_fail(struct imp *im, const char *fmt, ...)
{
	char text[ERR_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	return err_set(im->e, ERR_CONFIG, "%s:%d: %s", im->o->file, im->line, text);
}

static void imp_acct_free(struct imp_acct *a)
{
	for (int f = 0; f < IF_N; f++)
		free(a->v[f]);
	free(a->name);
	free(a->parents);
}

static void imp_set(struct imp_acct *a, enum imp_field f, const char *v, int line)
{
	free(a->v[f]);
	a->v[f] = v ? xstrdup(v) : NULL;
	a->at[f] = line;
	a->mask |= (uint64_t)1 << f;
}

/* ---- reading: msmtp's line rules ---- */

static int imp_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Splits a line (its newline gone) into the command and the argument: blanks around both go,
 * and so do double quotes that enclose the whole argument. 0 for an empty or comment line. */
static int imp_split(char *line, char **cmd, char **arg)
{
	char *p = line, *end;
	size_t n;

	while (imp_blank(*p))
		p++;
	if (*p == '#' || *p == '\0')
		return 0;
	*cmd = p;
	while (*p && !imp_blank(*p))
		p++;
	if (*p)
		*p++ = '\0';
	while (imp_blank(*p))
		p++;
	n = strlen(p);
	while (n > 0 && imp_blank(p[n - 1]))
		n--;
	p[n] = '\0';
	end = p + n;
	if (n >= 2 && p[0] == '"' && end[-1] == '"') {
		end[-1] = '\0';
		p++;
	}
	*arg = p;
	return 1;
}

static int imp_digits(const char *s, long max, long *out)
{
	long n = 0;

	if (!*s || strlen(s) > 9 || strspn(s, "0123456789") != strlen(s))
		return -1;
	n = strtol(s, NULL, 10);
	if (n < 1 || n > max)
		return -1;
	*out = n;
	return 0;
}

static int imp_word_in(const char *words, const char *w)
{
	size_t n = strlen(w);

	for (const char *p = words; *p;) {
		size_t len = strcspn(p, "|");

		if (*p == '!')
			p++, len--;
		if (len == n && strncmp(p, w, n) == 0)
			return 1;
		p += len + (p[len] == '|');
	}
	return 0;
}

/* A fingerprint as msmtp takes it: hex pairs joined by ':', of 16, 20 or 32 bytes. */
static int imp_fingerprint_ok(const char *s)
{
	size_t n = strlen(s), bytes = (n + 1) / 3;

	if ((n + 1) % 3 || (bytes != 16 && bytes != 20 && bytes != 32))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

static int imp_syslog_ok(const char *s)
{
	return strcmp(s, "LOG_USER") == 0 || strcmp(s, "LOG_MAIL") == 0 ||
	       (strncmp(s, "LOG_LOCAL", 9) == 0 && s[9] >= '0' && s[9] <= '7' && !s[10]);
}

#define IMP_NEEDED 1	/* what the value helpers below return besides 0 */
#define IMP_INVALID 2

/* The switches and word lists: the stored value in *val (NULL: unset), or IMP_INVALID. */
static int imp_value_word(const struct imp_cmd *c, char *arg, char *buf, size_t size,
			  const char **val)
{
	int empty = !*arg, on = empty || strcmp(arg, "on") == 0;

	switch (c->kind) {
	case K_SWITCH:
	case K_INVERTED:
	case K_LEGACY:
		if (!on && strcmp(arg, "off"))
			return IMP_INVALID;
		*val = c->kind == K_SWITCH ? (on ? "on" : "off")
		       : c->kind == K_INVERTED ? (on ? "off" : "on") : (on ? c->fixed : "off");
		return 0;
	case K_WORDS:
		if (empty && c->words[0] == '!')
			return IMP_NEEDED;
		if (empty)
			snprintf(buf, size, "%.*s", (int)strcspn(c->words, "|"), c->words), *val = buf;
		return empty || imp_word_in(c->words, arg) ? 0 : IMP_INVALID;
	case K_AUTH:
		if (on) {
			*val = "on";
			return 0;
		}
		if (strcmp(arg, "off") == 0)
			return 0;
		for (size_t i = 0; imp_mechs[i]; i++)
			if (strcmp(arg, imp_mechs[i]) == 0) {
				for (char *p = arg; *p; p++)
					*p = (char)toupper((unsigned char)*p);
				return 0;
			}
		return IMP_INVALID;
	case K_SYSLOG:
		*val = on ? "LOG_USER" : strcmp(arg, "off") == 0 ? NULL : arg;
		return *val && !on && !imp_syslog_ok(arg) ? IMP_INVALID : 0;
	default:
		abort();	/* not a word kind */
	}
}

/* Numbers, fingerprints and the DSN settings: as imp_value_word. */
static int imp_value_other(const struct imp_cmd *c, char *arg, const char **val)
{
	int empty = !*arg;
	long n;

	switch (c->kind) {
	case K_PORT:
		return empty ? IMP_NEEDED : imp_digits(arg, 65535, &n) < 0 ? IMP_INVALID : 0;
	case K_PORT_OPT:
	case K_COUNT_OPT:
		if (empty)
			*val = NULL;
		else if (imp_digits(arg, c->kind == K_PORT_OPT ? 65535 : 999999999, &n) < 0)
			return IMP_INVALID;
		return 0;
	case K_TIMEOUT:
		if (empty)
			return IMP_NEEDED;
		return strcmp(arg, "off") && imp_digits(arg, 999999999, &n) < 0 ? IMP_INVALID : 0;
	case K_FINGERPRINT:
		if (empty)
			*val = NULL;
		return empty || imp_fingerprint_ok(arg) ? 0 : IMP_INVALID;
	case K_DSN_NOTIFY:
	case K_DSN_RETURN:
		if (empty)
			return IMP_NEEDED;
		if (strcmp(arg, "off") == 0)
			*val = NULL;
		else if (c->kind == K_DSN_RETURN && strcmp(arg, "headers") && strcmp(arg, "full"))
			return IMP_INVALID;
		return 0;
	default:
		abort();	/* not one of these kinds */
	}
}

/* The argument as the field stores it, in *val (NULL: unset; or a pointer into buf); -1 with
 * msmtp's complaint. */
static int imp_value(struct imp *im, const struct imp_cmd *c, char *arg, char *buf, size_t size,
		     const char **val)
{
	int r = 0;

	*val = arg;
	switch (c->kind) {
	case K_TEXT:
		if (!*arg)
			*val = NULL;
		break;
	case K_NEEDED:
		r = *arg ? 0 : IMP_NEEDED;
		break;
	case K_FILE:
		if (!*arg) {
			*val = NULL;
		} else if (arg[0] == '~') {
			if (!im->o->home)
				return imp_fail(im, "%s starts with ~, but HOME is not set", c->name);
			if ((size_t)snprintf(buf, size, "%s%s", im->o->home, arg + 1) >= size)
				return imp_fail(im, "%s is too long", c->name);
			*val = buf;
		}
		break;
	case K_FLAG:
		if (*arg)
			return imp_fail(im, "command %s does not take an argument", c->name);
		*val = c->fixed;
		break;
	case K_SWITCH: case K_INVERTED: case K_LEGACY: case K_WORDS: case K_AUTH: case K_SYSLOG:
		r = imp_value_word(c, arg, buf, size, val);
		break;
	default:
		r = imp_value_other(c, arg, val);
	}
	if (r == IMP_NEEDED)
		return imp_fail(im, "command %s needs an argument", c->name);
	if (r == IMP_INVALID)
		return imp_fail(im, "invalid argument %s for command %s", arg, c->name);
	return 0;
}

static struct imp_acct *imp_find(struct imp *im, const char *name)
{
	for (size_t i = 0; i < im->n; i++)
		if (strcmp(im->accts[i].name, name) == 0)
			return &im->accts[i];
	return NULL;
}

static char *imp_trim(const char *s, size_t n)
{
	while (n && imp_blank(*s))
		s++, n--;
	while (n && imp_blank(s[n - 1]))
		n--;
	char *t = xmalloc(n + 1);

	memcpy(t, s, n);
	t[n] = '\0';
	return t;
}

/* A new account with the current defaults. */
static struct imp_acct *imp_new(struct imp *im, char *name)
{
	struct imp_acct *a;

	if (im->n == IMPORT_ACCOUNTS_MAX) {
		free(name);
		imp_fail(im, "more than %d accounts", IMPORT_ACCOUNTS_MAX);
		return NULL;
	}
	im->accts = xrealloc(im->accts, (im->n + 1) * sizeof *im->accts);
	a = &im->accts[im->n++];
	memset(a, 0, sizeof *a);
	a->name = name;
	a->line = im->line;
	for (int f = 0; f < IF_N; f++) {
		a->v[f] = im->defaults.v[f] ? xstrdup(im->defaults.v[f]) : NULL;
		a->at[f] = im->defaults.at[f];
	}
	return a;
}

/* `account NAME [: A[,B...]]`: the parents are looked up before the new account exists. */
static int imp_account(struct imp *im, const char *arg)
{
	const char *colon = strchr(arg, ':');
	size_t parents[IMPORT_ACCOUNTS_MAX];
	struct imp_acct *a, *p;
	size_t np = 0;
	char *name;

	if (colon) {
		for (const char *s = colon + 1;; s++) {
			size_t n = strcspn(s, ",");
			char *id = imp_trim(s, n);

			p = imp_find(im, id);
			if (!*id || !p) {
				int r = *id ? imp_fail(im, "account %s not (yet) defined", id)
					    : imp_fail(im, "missing account name");
				free(id);
				return r;
			}
			free(id);
			parents[np++] = (size_t)(p - im->accts);	/* imp_new moves the array */
			s += n;
			if (!*s || np == IMPORT_ACCOUNTS_MAX)
				break;
		}
	}
	name = colon ? imp_trim(arg, (size_t)(colon - arg)) : xstrdup(arg);
	if (!*name || strpbrk(name, ":,")) {
		int r = *name ? imp_fail(im, "an account name must not contain colons or commas")
			      : imp_fail(im, "missing account name");

		free(name);
		return r;
	}
	if (imp_find(im, name)) {
		imp_fail(im, "account %s was already defined", name);
		free(name);
		return -1;
	}
	a = imp_new(im, name);
	if (!a)
		return -1;
	if (colon)
		a->parents = imp_trim(colon + 1, strlen(colon + 1));
	for (size_t i = 0; i < np; i++) {
		p = &im->accts[parents[i]];
		for (int f = 0; f < IF_N; f++)
			if (p->mask & ((uint64_t)1 << f)) {
				free(a->v[f]);
				a->v[f] = p->v[f] ? xstrdup(p->v[f]) : NULL;
				a->at[f] = p->at[f];
			}
		a->mask |= p->mask;
	}
	im->cur = &im->accts[im->n - 1];
	return 0;
}

/* One line of the file; 0 or -1. */
static int imp_line(struct imp *im, char *line)
{
	char *cmd, *arg, buf[IMPORT_LINE_MAX + 4096];
	const struct imp_cmd *c = NULL;
	const char *val;

	if (!imp_split(line, &cmd, &arg))
		return 0;
	if (strcmp(cmd, "eval") == 0)
		return imp_fail(im, "eval runs a command while the file is read, which postbote does "
				"not do: replace the line with what the command prints (for a password: "
				"passwordeval)");
	if (strcmp(cmd, "defaults") == 0) {
		if (*arg)
			return imp_fail(im, "command defaults does not take an argument");
		im->cur = &im->defaults;
		return 0;
	}
	/* as msmtp: the first account of a file without `account` is called default */
	if (!im->cur && strcmp(cmd, "account") != 0) {
		if (!imp_new(im, xstrdup("default")))
			return -1;
		im->cur = &im->accts[im->n - 1];
	}
	if (strcmp(cmd, "account") == 0)
		return imp_account(im, arg);
	for (size_t i = 0; i < IMP_NCMDS && !c; i++)
		if (strcmp(cmd, imp_cmds[i].name) == 0)
			c = &imp_cmds[i];
	if (!c)
		return imp_fail(im, "unknown command %s", cmd);
	if (imp_value(im, c, arg, buf, sizeof buf, &val) < 0)
		return -1;
	imp_set(im->cur, c->f, val, im->line);
	return 0;
}

static int imp_read(struct imp *im, const char *text, size_t len)
{
	char line[IMPORT_LINE_MAX + 2];
	size_t pos = 0;

	if (len > IMPORT_TEXT_MAX)
		return err_set(im->e, ERR_CONFIG, "%s is larger than %u bytes; not an msmtprc",
			       im->o->file, IMPORT_TEXT_MAX);
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;

		im->line++;
		if (n >= IMPORT_LINE_MAX)	/* msmtp: 500 with the newline */
			return imp_fail(im, "line longer than %d characters", IMPORT_LINE_MAX);
		if (memchr(text + pos, '\0', n))
			return imp_fail(im, "the line contains a NUL byte");
		memcpy(line, text + pos, n);
		line[n] = '\0';
		if (n && line[n - 1] == '\r')
			line[n - 1] = '\0';
		pos += n + (nl != NULL);
		if (imp_line(im, line) < 0)
			return -1;
	}
	return 0;
}

/* ---- writing ---- */

struct imp_out {
	struct imp *im;
	const struct imp_acct *a;
	struct buf b;		/* the section */
	unsigned notes;
};

static void imp_add(struct buf *b, const char *s)
{
	if (buf_addstr(b, s) < 0)
		buf_broken(__FILE__, __LINE__);	/* unbounded */
}

/* "# text\n" onto b: a comment line, whatever bytes the text holds. */
static void imp_vcomment(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static void imp_vcomment(struct buf *b, const char *fmt, va_list ap)
{
	char text[1024];

	vsnprintf(text, sizeof text, fmt, ap);
	for (char *p = text; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			*p = '?';
	imp_add(b, "# ");
	imp_add(b, text);
	imp_add(b, "\n");
}

static void imp_bcomment(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void imp_bcomment(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	imp_vcomment(b, fmt, ap);
	va_end(ap);
}

#define imp_comment(w, ...) imp_bcomment(&(w)->b, __VA_ARGS__)
/* A comment for what msmtp did that postbote will not. */
#define imp_note(w, ...) ((w)->notes++, imp_bcomment(&(w)->b, __VA_ARGS__))

/* "key = value", if postbote can hold the value; -1 with the reason and msmtp's line. */
static int imp_key(struct imp_out *w, enum imp_field f, const char *key, const char *val)
{
	size_t n = strlen(val);
	struct imp *im = w->im;

	if (f != IF_N)
		im->line = w->a->at[f];
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)val[i] < ' ' || val[i] == 0x7f)
			return imp_fail(im, "account %s: the value of %s holds a control character, "
					"which a postbote configuration line cannot", w->a->name, key);
	if (!n || imp_blank(val[0]) || imp_blank(val[n - 1]))
		return imp_fail(im, "account %s: the value of %s %s, which postbote cannot keep",
				w->a->name, key, n ? "starts or ends with a blank" : "is empty");
	if (strlen(key) + 3 + n + 1 >= 200)
		return imp_fail(im, "account %s: %s = ... would be a line of %zu bytes; postbote's "
				"lines must be shorter than 200", w->a->name, key,
				strlen(key) + 3 + n + 1);
	imp_add(&w->b, key);
	imp_add(&w->b, " = ");
	imp_add(&w->b, val);
	imp_add(&w->b, "\n");
	return 0;
}

#define V(f) (w->a->v[f])
#define IS(f, s) (V(f) && strcmp(V(f), s) == 0)

/* %C and %H become postbote's %H (the EHLO name, by default the machine's FQDN), %M
 * /etc/mailname's text. 0 when the result is in out, -1 when it cannot be translated. */
static int imp_subst(struct imp_out *w, const char *s, char *out, size_t size)
{
	struct buf b;
	int r = 0;

	buf_init(&b, size - 1);
	for (const char *p = s; *p && r == 0; p++) {
		if (p[0] == '%' && (p[1] == 'C' || p[1] == 'H'))
			r = buf_addstr(&b, "%H"), p++;
		else if (p[0] == '%' && p[1] == 'M')
			r = w->im->o->mailname ? buf_addstr(&b, w->im->o->mailname) : -1, p++;
		else
			r = buf_addch(&b, *p);
	}
	snprintf(out, size, "%s", b.data);
	buf_free(&b);
	return r;
}

/* host, port, tls, timeout, domain */
static int imp_write_server(struct imp_out *w)
{
	int tls = IS(IF_TLS, "on"), implicit = tls && IS(IF_TLS_STARTTLS, "off");
	char port[16], tmo[24], tmp[IMPORT_LINE_MAX + 4096];
	long n = 0;

	if (strpbrk(V(IF_HOST), " \t,")) {
		w->im->line = w->a->at[IF_HOST];
		return imp_fail(w->im, "account %s: host '%s' is more than one name", w->a->name,
				V(IF_HOST));
	}
	if (imp_key(w, IF_HOST, "host", V(IF_HOST)) < 0)
		return -1;
	if (!V(IF_PORT))
		imp_comment(w, "msmtp's default port for this TLS mode");
	snprintf(port, sizeof port, "%s", V(IF_PORT) ? V(IF_PORT) : implicit ? "465" : "25");
	if (imp_key(w, V(IF_PORT) ? IF_PORT : IF_N, "port", port) < 0 ||
	    imp_key(w, IF_N, "tls", implicit ? "implicit" : tls ? "starttls" : "off") < 0)
		return -1;
	if (IS(IF_TIMEOUT, "off")) {
		imp_note(w, "timeout off: postbote always waits at most timeout seconds (default 60)");
	} else if (V(IF_TIMEOUT)) {
		if (imp_digits(V(IF_TIMEOUT), 999999999, &n) == 0 && n > 3600)
			imp_note(w, "timeout %ld: postbote's longest is 3600", n);
		snprintf(tmo, sizeof tmo, "%ld", n > 3600 ? 3600 : n);
		if (imp_key(w, IF_TIMEOUT, "timeout", tmo) < 0)
			return -1;
	}
	if (V(IF_DOMAIN) && (strstr(V(IF_DOMAIN), "%H") || strstr(V(IF_DOMAIN), "%C")))
		imp_note(w, "domain %s: postbote's default is the machine's fully qualified name",
			 V(IF_DOMAIN));
	else if (V(IF_DOMAIN) && imp_subst(w, V(IF_DOMAIN), tmp, sizeof tmp) < 0)
		imp_note(w, "domain %s: /etc/mailname could not be read; set domain yourself",
			 V(IF_DOMAIN));
	else if (V(IF_DOMAIN) && imp_key(w, IF_DOMAIN, "domain", tmp) < 0)
		return -1;
	if (IS(IF_DOMAIN, "localhost"))
		imp_note(w, "domain localhost: some servers refuse EHLO localhost (Fastmail does); "
			 "without domain, postbote says the machine's name");
	return 0;
}

/* The keys that are the same in both, in the order of postbote.conf(5). */
static const struct { enum imp_field f; const char *key; } imp_same[] = {
	{ IF_TLS_CRL_FILE, "tls_crl_file" }, { IF_TLS_PRIORITIES, "tls_priorities" },
	{ IF_TLS_HOST_OVERRIDE, "tls_host_override" }, { IF_FROM_FULL_NAME, "from_full_name" },
	{ IF_ALLOW_FROM_OVERRIDE, "allow_from_override" }, { IF_SET_FROM, "set_from_header" },
	{ IF_SET_DATE, "set_date_header" }, { IF_SET_MSGID, "set_msgid_header" },
	{ IF_REMOVE_BCC, "remove_bcc_headers" }, { IF_DSN_NOTIFY, "dsn_notify" },
	{ IF_DSN_RETURN, "dsn_return" }, { IF_ALIASES, "aliases" },
};

static int imp_write_tls(struct imp_out *w)
{
	if (V(IF_TLS_TRUST_FILE) && !IS(IF_TLS_TRUST_FILE, "system") &&
	    imp_key(w, IF_TLS_TRUST_FILE, "tls_trust_file", V(IF_TLS_TRUST_FILE)) < 0)
		return -1;
	if (V(IF_TLS_FINGERPRINT) && strlen(V(IF_TLS_FINGERPRINT)) != 95)
		imp_note(w, "tls_fingerprint is SHA-1 or MD5: postbote pins SHA-256 fingerprints "
			 "only (postbote --serverinfo shows it); the certificate is verified instead");
	else if (V(IF_TLS_FINGERPRINT) &&
		 imp_key(w, IF_TLS_FINGERPRINT, "tls_fingerprint", V(IF_TLS_FINGERPRINT)) < 0)
		return -1;
	if (IS(IF_TLS_CERTCHECK, "off") &&
	    imp_key(w, IF_TLS_CERTCHECK, "tls_certcheck", "off") < 0)
		return -1;
	if (!V(IF_TLS_CERT_FILE) != !V(IF_TLS_KEY_FILE))
		imp_note(w, "%s without %s: msmtp refuses that too; left out",
			 V(IF_TLS_CERT_FILE) ? "tls_cert_file" : "tls_key_file",
			 V(IF_TLS_CERT_FILE) ? "tls_key_file" : "tls_cert_file");
	else if (V(IF_TLS_CERT_FILE) &&
		 (imp_key(w, IF_TLS_CERT_FILE, "tls_cert_file", V(IF_TLS_CERT_FILE)) < 0 ||
		  imp_key(w, IF_TLS_KEY_FILE, "tls_key_file", V(IF_TLS_KEY_FILE)) < 0))
		return -1;
	if (V(IF_TLS_MIN_DH))
		imp_note(w, "tls_min_dh_prime_bits has no equivalent (tls_priorities does that)");
	return 0;
}

/* auth, user, password or passwordeval */
static int imp_write_auth(struct imp_out *w, struct import_result *r)
{
	const char *auth = V(IF_AUTH);
	int need_pw = auth && strcmp(auth, "off") && (strcmp(auth, "on") == 0 ||
						      !sasl_no_password(auth));

	if (V(IF_USER) && imp_key(w, IF_USER, "user", V(IF_USER)) < 0)
		return -1;
	if (!auth || strcmp(auth, "off") == 0) {
		if (V(IF_USER) && imp_key(w, IF_N, "auth", "off") < 0)
			return -1;	/* msmtp logs in only with `auth`; postbote with a user */
	} else if (need_pw && !V(IF_USER)) {
		imp_note(w, "auth %s without user: msmtp cannot log in without one either; left "
			 "out", auth);
	} else if (need_pw && !IS(IF_TLS, "on")) {
		imp_note(w, "msmtp authenticates without TLS here (with auth on: by SCRAM only); "
			 "postbote does that only with auth_plaintext = allow. Better: turn TLS on");
		if (imp_key(w, IF_AUTH, "auth", strcmp(auth, "on") ? auth : "SCRAM-SHA-256") < 0 ||
		    imp_key(w, IF_N, "auth_plaintext", "allow") < 0)
			return -1;
	} else if (imp_key(w, IF_AUTH, "auth", auth) < 0) {
		return -1;
	}
	if (V(IF_PASSWORD)) {
		if (V(IF_PASSWORDEVAL))
			imp_note(w, "passwordeval left out: msmtp uses password when both are set");
		r->has_password = 1;
		return imp_key(w, IF_PASSWORD, "password", V(IF_PASSWORD));
	}
	if (V(IF_PASSWORDEVAL))
		return imp_key(w, IF_PASSWORDEVAL, "passwordeval", V(IF_PASSWORDEVAL));
	return 0;
}

/* Whether this postbote has the key and takes the value: a key that a build may lack
 * (syslog) is written only when conf accepts it. */
static int imp_known(const char *key, const char *value)
{
	char text[IMPORT_LINE_MAX + 4200];
	struct conf c;
	struct err e;
	int r;

	snprintf(text, sizeof text, "[t]\nhost = h\n%s = %s\n", key, value);
	r = conf_load_mem(&c, "import", text, strlen(text), &e);
	conf_free(&c);
	return r == 0;
}

/* msmtp's facility (LOG_MAIL) as postbote writes it (mail). */
static const char *imp_facility(const char *f, char *out, size_t size)
{
	snprintf(out, size, "%s", strncmp(f, "LOG_", 4) == 0 ? f + 4 : f);
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return out;
}

/* from (with auto_from), the header keys, the log file, and the notes for the rest */
static int imp_write_message(struct imp_out *w)
{
	char from[IMPORT_LINE_MAX + 4096];
	const char *f = V(IF_FROM);

	if (IS(IF_AUTO_FROM, "on")) {
		snprintf(from, sizeof from, "%%U%s%s", V(IF_MAILDOMAIN) ? "@" : "",
			 V(IF_MAILDOMAIN) ? V(IF_MAILDOMAIN) : "");
		f = from;
	} else if (V(IF_MAILDOMAIN)) {
		imp_note(w, "maildomain: msmtp uses it only with auto_from; left out");
	}
	if (f && strpbrk(f, "*?["))
		imp_note(w, "from %s is a pattern for -f: postbote has none; choose this account "
			 "with -a %s", f, w->a->name);
	else if (f && f != from && imp_subst(w, f, from, sizeof from) < 0)
		imp_note(w, "from %s: /etc/mailname could not be read; set from yourself", f);
	else if (f && imp_key(w, IS(IF_AUTO_FROM, "on") ? IF_AUTO_FROM : IF_FROM, "from",
			      from) < 0)
		return -1;
	for (size_t i = 0; i < sizeof imp_same / sizeof imp_same[0]; i++)
		if (V(imp_same[i].f) && imp_key(w, imp_same[i].f, imp_same[i].key,
						 V(imp_same[i].f)) < 0)
			return -1;
	if (IS(IF_LOGFILE, "-"))
		imp_note(w, "logfile - (standard output) has no equivalent; left out");
	else if (V(IF_LOGFILE) && imp_key(w, IF_LOGFILE, "logfile", V(IF_LOGFILE)) < 0)
		return -1;
	if (V(IF_LOGFILE_TIME_FORMAT))
		imp_note(w, "logfile_time_format has no equivalent: postbote's log lines have "
			 "their own time format");
	if (V(IF_SYSLOG) && imp_known("syslog", imp_facility(V(IF_SYSLOG), from, sizeof from))) {
		if (imp_key(w, IF_SYSLOG, "syslog", from) < 0)
			return -1;
	} else if (V(IF_SYSLOG)) {
		imp_note(w, "syslog %s has no equivalent in this postbote; left out", V(IF_SYSLOG));
	}
	if (V(IF_SET_TO) && !IS(IF_SET_TO, "off"))
		imp_note(w, "set_to_header %s has no equivalent; the To: header is left as it is",
			 V(IF_SET_TO));
	if (V(IF_SOURCE_IP))
		imp_note(w, "source_ip %s has no equivalent; left out", V(IF_SOURCE_IP));
	if (V(IF_NTLMDOMAIN))
		imp_note(w, "ntlmdomain has no equivalent; left out");
	if (V(IF_IGNORED))
		imp_note(w, "tls_force_sslv3: msmtp ignores it too");
	return 0;
}

/* Why postbote cannot use an msmtp account at all, or NULL. */
static const char *imp_unusable(const struct imp_acct *a)
{
	if (a->v[IF_SOCKET])
		return "it connects to a local socket, which postbote cannot";
	if (a->v[IF_PROXY_HOST])
		return "it goes through a SOCKS proxy, which postbote cannot (it would connect "
		       "directly)";
	if (a->v[IF_PROTOCOL] && strcmp(a->v[IF_PROTOCOL], "lmtp") == 0)
		return "it speaks LMTP; postbote speaks SMTP only";
	if (!a->v[IF_HOST])
		return "it has no host (msmtp cannot send with it either; accounts that "
		       "inherit from it are written out with its settings)";
	return NULL;
}

/* The section is read back as postbote would read it. */
static int imp_check(struct imp_out *w)
{
	struct conf c;
	struct account acc;
	struct err ce = { 0 };
	int r = conf_load_mem(&c, "import", w->b.data, w->b.len, &ce);

	if (r == 0)
		r = conf_account(&c, w->a->name, NULL, &acc, &ce);
	conf_free(&c);
	if (r < 0) {
		/* "import:7: " is a line of the section, not of the msmtprc: the key says enough */
		const char *why = ce.text;

		if (strncmp(why, "import:", 7) == 0 && strstr(why + 7, ": "))
			why = strstr(why + 7, ": ") + 2;
		w->im->line = w->a->line;
		return imp_fail(w->im, "account %s: postbote would not accept its translation: %s",
				w->a->name, why);
	}
	return 0;
}

static int imp_write(struct imp *im, const struct imp_acct *a, struct buf *out,
		     struct import_result *r)
{
	struct imp_out w = { .im = im, .a = a };
	const char *why = imp_unusable(a);
	int rc = -1;

	int bad = strcmp(a->name, "defaults") == 0 || strpbrk(a->name, "[]") ||
		  strlen(a->name) + 3 >= 200;

	for (const char *p = a->name; *p; p++)
		bad |= (unsigned char)*p < ' ' || *p == 0x7f;
	if (bad) {
		im->line = a->line;
		return imp_fail(im, "account name '%s' cannot be a postbote section name; rename "
				"it", a->name);
	}
	buf_init(&w.b, BUF_NO_MAX);
	imp_add(&w.b, "\n");
	if (why) {
		imp_comment(&w, "msmtp account %s (line %d) is not imported: %s", a->name, a->line,
			    why);
		r->skipped++;
		goto done;
	}
	imp_comment(&w, "msmtp account %s (line %d)%s%s", a->name, a->line,
		    a->parents ? ", inheriting from " : "", a->parents ? a->parents : "");
	imp_add(&w.b, "[");
	imp_add(&w.b, a->name);
	imp_add(&w.b, "]\n");
	if (imp_write_server(&w) < 0 || imp_write_tls(&w) < 0 || imp_write_auth(&w, r) < 0 ||
	    imp_write_message(&w) < 0 || imp_check(&w) < 0)
		goto out;
	r->accounts++;
done:
	r->notes += w.notes;
	imp_add(out, w.b.data);
	rc = 0;
out:
	buf_free(&w.b);
	return rc;
}

#undef V
#undef IS

int import_msmtprc(const char *text, size_t len, const struct import_opts *o, struct buf *out,
		   struct import_result *r, struct err *e)
{
	struct imp im = { .o = o, .e = e };
	struct import_result ignored;
	size_t start = out->len;
	int rc;

	r = r ? r : &ignored;
	memset(r, 0, sizeof *r);
	rc = imp_read(&im, text, len);
	if (rc == 0 && im.n == 0)
		rc = err_set(e, ERR_CONFIG, "%s defines no account", o->file);
	if (rc == 0) {
		imp_bcomment(out, "postbote configuration translated from %s by postbote "
			     "--import-msmtprc.", o->file);
		imp_add(out, "# msmtp's defaults and the accounts each account inherits from are "
			"written out in full\n# in every account; what postbote cannot do is said "
			"in a comment.\n");
	}
	for (size_t i = 0; rc == 0 && i < im.n; i++)
		rc = imp_write(&im, &im.accts[i], out, r);
	if (rc < 0) {
		buf_setlen(out, start);
		memset(r, 0, sizeof *r);
	}
	for (size_t i = 0; i < im.n; i++)
		imp_acct_free(&im.accts[i]);
	free(im.accts);
	imp_acct_free(&im.defaults);
	return rc;
}
