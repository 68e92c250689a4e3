/* conf: INI files through libinih; every value checked where it is read. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "conf.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

struct conf_entry {
	const char *file;	/* owned by conf.files */
	int line;
	char *section, *key, *value;
};

enum conf_type { T_STR, T_PORT, T_TLS, T_AUTH, T_ALLOW, T_TIMEOUT, T_PATH, T_ONOFF, T_AUTOONOFF,
		 T_AUTOOFF, T_DSN_NOTIFY, T_DSN_RETURN, T_DOMAIN, T_DURATION, T_RATE, T_COUNT,
		 T_FINGERPRINT, T_TLSVERSION };

static const struct {
	const char *key;
	enum conf_type type;
} conf_keys[] = {
	{ "host", T_STR },
	{ "port", T_PORT },
	{ "tls", T_TLS },
	{ "tls_trust_file", T_PATH },
	{ "tls_crl_file", T_PATH },
	{ "tls_fingerprint", T_FINGERPRINT },
	{ "tls_cert_file", T_PATH },
	{ "tls_key_file", T_PATH },
	{ "tls_priorities", T_STR },
	{ "tls_min_version", T_TLSVERSION },
	{ "tls_host_override", T_DOMAIN },
	{ "tls_certcheck", T_ONOFF },
	{ "auth", T_AUTH },
	{ "auth_plaintext", T_ALLOW },
	{ "user", T_STR },
	{ "password", T_STR },
	{ "passwordeval", T_STR },
	{ "from", T_STR },
	{ "domain", T_STR },
	{ "timeout", T_TIMEOUT },
	{ "logfile", T_PATH },
	{ "default_account", T_STR },
	{ "maildomain", T_DOMAIN },
	{ "aliases", T_PATH },
	{ "allow_from_override", T_ONOFF },
	{ "set_from_header", T_AUTOONOFF },
	{ "from_full_name", T_STR },
	{ "set_date_header", T_AUTOOFF },
	{ "set_msgid_header", T_AUTOOFF },
	{ "remove_bcc_headers", T_ONOFF },
	{ "dsn_notify", T_DSN_NOTIFY },
	{ "dsn_return", T_DSN_RETURN },
	{ "queue", T_ONOFF },
	{ "queue_dir", T_PATH },
	{ "queue_lifetime", T_DURATION },
	{ "queue_retry_min", T_DURATION },
	{ "queue_retry_max", T_DURATION },
	{ "queue_flush", T_ONOFF },
	{ "rate_limit", T_RATE },
	{ "max_recipients", T_COUNT },
};
#define CONF_NKEYS (sizeof conf_keys / sizeof conf_keys[0])

/* Edit distance, for "did you mean". Keys are short. */
static size_t conf_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64], i, j;

	if (la >= 63 || lb >= 63)
		return 99;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static const char *conf_suggest(const char *key)
{
	const char *best = NULL;
	size_t bestd = 3;

	for (size_t i = 0; i < CONF_NKEYS; i++) {
		size_t d = conf_distance(key, conf_keys[i].key);

		if (d < bestd) {
			bestd = d;
			best = conf_keys[i].key;
		}
	}
	return best;
}

static int conf_int(const char *v, long min, long max, long *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

/* "90", "90s", "15m", "2h", "5d" in seconds; -1 when malformed. */
static long conf_duration(const char *v)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || n < 0 || n > 1000000000L)
		return -1;
	switch (*end) {
	case '\0':
	case 's': break;
	case 'm': n *= 60; break;
	case 'h': n *= 3600; break;
	case 'd': n *= 86400; break;
	default: return -1;
	}
	return *end && end[1] ? -1 : n;
}

/* "N/hour" or "N/day": the count, and the window in *window. -1 when malformed. */
static int conf_rate(const char *v, long *window)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || n < 1 || n > 1000000)
		return -1;
	if (strcmp(end, "/hour") == 0 || strcmp(end, "/h") == 0)
		*window = 3600;
	else if (strcmp(end, "/day") == 0 || strcmp(end, "/d") == 0)
		*window = 86400;
	else
		return -1;
	return (int)n;
}

/* "never", or success, failure and delay joined by commas (RFC 3461 NOTIFY). */
int conf_dsn_notify_ok(const char *v)
{
	const char *p = v;

	if (strcasecmp(v, "never") == 0)
		return 1;
	while (*p) {
		size_t n = strcspn(p, ",");

		if (!((n == 7 && strncasecmp(p, "success", 7) == 0) ||
		      (n == 7 && strncasecmp(p, "failure", 7) == 0) ||
		      (n == 5 && strncasecmp(p, "delay", 5) == 0)))
			return 0;
		p += n;
		if (*p == ',' && *++p == '\0')
			return 0;
	}
	return *v != '\0';
}

/* Checks one value; 0, or -1 with the complaint (without file and line) in e. */
static int conf_check(enum conf_type t, const char *key, const char *v, struct err *e)
{
	long n;

	switch (t) {
	case T_STR:
	case T_PATH:
		if (!*v)
			return err_set(e, ERR_CONFIG, "%s has an empty value", key);
		return 0;
	case T_PORT:
		if (conf_int(v, 1, 65535, &n) < 0)
			return err_set(e, ERR_CONFIG, "port must be a number from 1 to 65535, not '%s'",
				       v);
		return 0;
	case T_TIMEOUT:
		if (conf_int(v, 1, 3600, &n) < 0)
			return err_set(e, ERR_CONFIG, "timeout must be a number of seconds from 1 to "
				       "3600, not '%s'", v);
		return 0;
	case T_TLS:
		if (strcmp(v, "starttls") && strcmp(v, "implicit") && strcmp(v, "off"))
			return err_set(e, ERR_CONFIG, "tls must be starttls, implicit or off, not '%s'",
				       v);
		return 0;
	case T_ALLOW:
		if (strcmp(v, "allow") && strcmp(v, "deny"))
			return err_set(e, ERR_CONFIG, "%s must be allow or deny, not '%s'", key, v);
		return 0;
	case T_ONOFF:
		if (strcmp(v, "on") && strcmp(v, "off"))
			return err_set(e, ERR_CONFIG, "%s must be on or off, not '%s'", key, v);
		return 0;
	case T_AUTOONOFF:
		if (strcmp(v, "auto") && strcmp(v, "on") && strcmp(v, "off"))
			return err_set(e, ERR_CONFIG, "%s must be auto, on or off, not '%s'", key, v);
		return 0;
	case T_AUTOOFF:
		if (strcmp(v, "auto") && strcmp(v, "off"))
			return err_set(e, ERR_CONFIG, "%s must be auto or off, not '%s'", key, v);
		return 0;
	case T_DSN_RETURN:
		if (strcmp(v, "full") && strcmp(v, "headers"))
			return err_set(e, ERR_CONFIG, "dsn_return must be full or headers, not '%s'", v);
		return 0;
	case T_DSN_NOTIFY:
		if (conf_dsn_notify_ok(v))
			return 0;
		return err_set(e, ERR_CONFIG, "dsn_notify must be never or a comma-separated list of "
			       "success, failure and delay, not '%s'", v);
	case T_DOMAIN:
		for (const char *p = v; *p; p++)
			if ((unsigned char)*p <= ' ' || strchr("@<>()[],;:\\\"", *p))
				return err_set(e, ERR_CONFIG, "%s must be a domain name, not '%s'", key,
					       v);
		if (!*v)
			return err_set(e, ERR_CONFIG, "%s has an empty value", key);
		return 0;
	case T_FINGERPRINT: {
		size_t hex = 0;

		for (const char *p = v; *p; p++) {
			if (isxdigit((unsigned char)*p))
				hex++;
			else if (*p != ':')
				hex = 999;
		}
		if (hex != 64)
			return err_set(e, ERR_CONFIG, "tls_fingerprint must be the SHA-256 fingerprint of "
				       "the server's certificate: 64 hex digits, pairs separated by "
				       "':' or not (postbote --serverinfo shows it), not '%s'", v);
		return 0;
	}
	case T_TLSVERSION:
		if (strcmp(v, "1.2") && strcmp(v, "1.3"))
			return err_set(e, ERR_CONFIG, "tls_min_version must be 1.2 or 1.3, not '%s'", v);
		return 0;
	case T_DURATION:
		if (conf_duration(v) < 0)
			return err_set(e, ERR_CONFIG, "%s must be a duration such as 90s, 15m, 2h or 5d, "
				       "not '%s'", key, v);
		return 0;
	case T_RATE:
		if (conf_rate(v, &n) < 0)
			return err_set(e, ERR_CONFIG, "rate_limit must be N/hour or N/day, not '%s'", v);
		return 0;
	case T_COUNT:
		if (conf_int(v, 1, 100000, &n) < 0)
			return err_set(e, ERR_CONFIG, "%s must be a number from 1 to 100000, not '%s'",
				       key, v);
		return 0;
	case T_AUTH:
		for (const char *p = v; *p; p++)
			if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
				return err_set(e, ERR_CONFIG, "auth must be on, off or a mechanism name "
					       "such as SCRAM-SHA-256, not '%s'", v);
		if (!*v)
			return err_set(e, ERR_CONFIG, "auth has an empty value");
		return 0;
	}
	return 0;
}

/* ---- reading files ---- */

struct conf_reader {
	struct conf *c;
	FILE *f;
	const char *path;
	int line;
	int has_password;
	struct err *e;
	int failed;
	char *held;		/* getline's buffer */
	size_t held_size;
};

/* Feeds inih one line at a time: counts lines, drops leading blanks (so indentation never turns
 * a line into a continuation), and catches lines longer than inih's fixed buffer, which it would
 * otherwise cut silently. */
static char *conf_read_line(char *str, int num, void *stream)
{
	struct conf_reader *r = stream;
	ssize_t n;
	char *p;

	if (r->failed)
		return NULL;
	n = getline(&r->held, &r->held_size, r->f);
	if (n < 0)
		return NULL;
	r->line++;
	p = r->held;
	while (*p == ' ' || *p == '\t')
		p++;
	n -= p - r->held;
	if (n > 0 && p[n - 1] == '\n')
		p[--n] = '\0';
	if (n > 0 && p[n - 1] == '\r')
		p[--n] = '\0';
	if (memchr(p, '\0', (size_t)n)) {
		r->failed = 1;
		err_set(r->e, ERR_CONFIG, "%s:%d: the line contains a NUL byte", r->path, r->line);
		return NULL;
	}
	if (n + 2 > num) {
		r->failed = 1;
		err_set(r->e, ERR_CONFIG, "%s:%d: line too long (%zd bytes; the limit is %d)",
			r->path, r->line, n, num - 2);
		return NULL;
	}
	memcpy(str, p, (size_t)n);
	str[n] = '\n';
	str[n + 1] = '\0';
	return str;
}

static int conf_handler(void *user, const char *section, const char *key, const char *value)
{
	struct conf_reader *r = user;
	struct conf *c = r->c;
	struct conf_entry *en;
	size_t i;

	if (r->failed)
		return 1;
	for (i = 0; i < CONF_NKEYS; i++)
		if (strcmp(conf_keys[i].key, key) == 0)
			break;
	if (i == CONF_NKEYS) {
		const char *s = conf_suggest(key);

		r->failed = 1;
		if (s)
			err_set(r->e, ERR_CONFIG, "%s:%d: unknown key '%s'; did you mean '%s'?",
				r->path, r->line, key, s);
		else
			err_set(r->e, ERR_CONFIG, "%s:%d: unknown key '%s' (see postbote.conf(5))",
				r->path, r->line, key);
		return 1;
	}
	if (!*section) {
		r->failed = 1;
		err_set(r->e, ERR_CONFIG, "%s:%d: '%s' is outside any section; put it under "
			"[defaults] or an [account]", r->path, r->line, key);
		return 1;
	}
	if (strcmp(key, "default_account") == 0 && strcmp(section, "defaults") != 0) {
		r->failed = 1;
		err_set(r->e, ERR_CONFIG, "%s:%d: default_account belongs in [defaults]", r->path,
			r->line);
		return 1;
	}
	if (conf_check(conf_keys[i].type, key, value, r->e) < 0) {
		r->failed = 1;
		err_wrap(r->e, "%s:%d", r->path, r->line);
		return 1;
	}
	if (strcmp(key, "password") == 0)
		r->has_password = 1;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 32;
		c->v = xrealloc(c->v, c->cap * sizeof *c->v);
	}
	en = &c->v[c->n++];
	en->file = r->path;
	en->line = r->line;
	en->section = xstrdup(section);
	en->key = xstrdup(key);
	en->value = xstrdup(value);
	return 1;
}

/* A file that holds a password must not be readable by other users. The system file may be
 * readable by its group, so that daemons in that group can send. */
static int conf_check_mode(const char *path, const struct stat *st, int system, struct err *e)
{
	if (system) {
		if (st->st_mode & 007)
			return err_set(e, ERR_CONFIG, "%s holds a password but is readable by everyone; "
				       "run: chmod 640 %s", path, path);
		if (st->st_uid != 0 && st->st_uid != getuid())
			return err_set(e, ERR_CONFIG, "%s holds a password but is owned by uid %u; "
				       "run: chown root %s", path, (unsigned)st->st_uid, path);
		return 0;
	}
	if (st->st_uid != getuid())
		return err_set(e, ERR_CONFIG, "%s holds a password but belongs to uid %u, not to you; "
			       "run: chown %u %s", path, (unsigned)st->st_uid, (unsigned)getuid(),
			       path);
	if (st->st_mode & 077)
		return err_set(e, ERR_CONFIG, "%s holds a password but is readable by others; "
			       "run: chmod 600 %s", path, path);
	return 0;
}

/* Reads one file. `must`: a missing file is an error. Returns 1 when read, 0 when absent. */
static int conf_read_file(struct conf *c, const char *path, int must, int system, struct err *e)
{
	struct conf_reader r = { .c = c, .e = e };
	struct stat st;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (!must && (errno == ENOENT || (system && errno == EACCES)))
			return 0;
		return err_set(e, ERR_CONFIG, "cannot read configuration file %s: %s", path,
			       strerror(errno));
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(e, ERR_CONFIG, "%s is not a regular file", path);
	}
	r.f = fdopen(fd, "r");
	if (!r.f)
		err_oom();
	c->files[c->nfiles] = xstrdup(path);
	r.path = c->files[c->nfiles++];
	rc = ini_parse_stream(conf_read_line, &r, conf_handler, &r);
	if (!r.failed && ferror(r.f))
		err_set(e, ERR_CONFIG, "cannot read %s: %s", path, strerror(errno)), r.failed = 1;
	fclose(r.f);
	free(r.held);
	if (r.failed)
		return -1;
	if (rc > 0)
		return err_set(e, ERR_CONFIG, "%s:%d: syntax error: expected [section] or key = value",
			       path, rc);
	if (rc < 0)
		return err_set(e, ERR_CONFIG, "cannot parse %s", path);
	if (r.has_password && conf_check_mode(path, &st, system, e) < 0)
		return -1;
	return 1;
}

int conf_load(struct conf *c, const char *file, struct err *e)
{
	char path[4096];
	const char *env;
	int r;

	memset(c, 0, sizeof *c);
	if (conf_read_file(c, SYSCONFDIR "/postbote.conf", 0, 1, e) < 0)
		return -1;
	if (file)
		return conf_read_file(c, file, 1, 0, e) < 0 ? -1 : 0;
	env = getenv("POSTBOTE_CONFIG");
	if (env && *env)
		return conf_read_file(c, env, 1, 0, e) < 0 ? -1 : 0;
	env = getenv("XDG_CONFIG_HOME");
	if (env && *env) {
		snprintf(path, sizeof path, "%s/postbote/config", env);
	} else {
		const char *home = getenv("HOME");
		struct passwd *pw;

		if ((!home || !*home) && (pw = getpwuid(getuid())))
			home = pw->pw_dir;
		snprintf(path, sizeof path, "%s/.config/postbote/config", home ? home : "");
	}
	r = conf_read_file(c, path, 0, 0, e);
	if (r < 0)
		return -1;
	if (r == 0 && c->nfiles == 0)
		return err_set(e, ERR_CONFIG, "no configuration: create %s or %s "
			       "(see postbote.conf(5))", path, SYSCONFDIR "/postbote.conf");
	return 0;
}

void conf_free(struct conf *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].section);
		free(c->v[i].key);
		free(c->v[i].value);
	}
	free(c->v);
	for (size_t i = 0; i < c->nfiles; i++)
		free(c->files[i]);
	memset(c, 0, sizeof *c);
}

/* ---- accounts ---- */

/* The last setting of key in section: later lines and the user file win. */
static const struct conf_entry *conf_find(const struct conf *c, const char *section,
					  const char *key)
{
	for (size_t i = c->n; i-- > 0;)
		if (strcmp(c->v[i].section, section) == 0 && strcmp(c->v[i].key, key) == 0)
			return &c->v[i];
	return NULL;
}

static const struct conf_entry *conf_section(const struct conf *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i].section, name) == 0)
			return &c->v[i];
	return NULL;
}

static const char *conf_get(const struct conf *c, const char *account, const char *key)
{
	const struct conf_entry *en = conf_find(c, account, key);

	if (!en)
		en = conf_find(c, "defaults", key);
	return en ? en->value : NULL;
}

size_t conf_accounts(const struct conf *c, const char **names, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n && n < max; i++) {
		size_t k;

		if (strcmp(c->v[i].section, "defaults") == 0)
			continue;
		for (k = 0; k < n && strcmp(names[k], c->v[i].section) != 0; k++)
			;
		if (k == n)
			names[n++] = c->v[i].section;
	}
	return n;
}

const char *conf_default(const struct conf *c, const char *key)
{
	const struct conf_entry *en = conf_find(c, "defaults", key);

	return en ? en->value : NULL;
}

static void conf_files(const struct conf *c, char *out, size_t size)
{
	out[0] = '\0';
	for (size_t i = 0; i < c->nfiles; i++)
		snprintf(out + strlen(out), size - strlen(out), "%s%s", i ? " and " : "",
			 c->files[i]);
}

static const char *conf_pick_name(const struct conf *c, const char *name, const char *from,
				  struct err *e)
{
	char files[1024];
	const char *def;

	conf_files(c, files, sizeof files);
	if (name) {
		if (strcmp(name, "defaults") == 0 || !conf_section(c, name)) {
			err_set(e, ERR_CONFIG, "no account '%s' in %s", name, files);
			return NULL;
		}
		return name;
	}
	if (from && *from) {
		for (size_t i = 0; i < c->n; i++)
			if (strcmp(c->v[i].key, "from") == 0 &&
			    strcmp(c->v[i].section, "defaults") != 0 &&
			    strcasecmp(c->v[i].value, from) == 0)
				return c->v[i].section;
	}
	def = conf_get(c, "defaults", "default_account");
	if (def) {
		if (!conf_section(c, def) || strcmp(def, "defaults") == 0) {
			err_set(e, ERR_CONFIG, "default_account names '%s', but %s has no such account",
				def, files);
			return NULL;
		}
		return def;
	}
	if (conf_section(c, "default"))
		return "default";
	err_set(e, ERR_CONFIG, "no account chosen: use -a NAME, or set default_account in "
		"[defaults] of %s", files);
	return NULL;
}

int conf_account(const struct conf *c, const char *name, const char *from, struct account *a,
		 struct err *e)
{
	const char *v;
	long n;

	memset(a, 0, sizeof *a);
	a->name = conf_pick_name(c, name, from, e);
	if (!a->name)
		return -1;
	a->file = conf_section(c, a->name)->file;
	a->host = conf_get(c, a->name, "host");
	if (!a->host)
		return err_set(e, ERR_CONFIG, "%s: account '%s' has no host", a->file, a->name);
	v = conf_get(c, a->name, "tls");
	a->tls = !v || strcmp(v, "starttls") == 0 ? CONF_TLS_STARTTLS
		 : strcmp(v, "implicit") == 0	  ? CONF_TLS_IMPLICIT
						  : CONF_TLS_OFF;
	v = conf_get(c, a->name, "port");
	a->port = v && conf_int(v, 1, 65535, &n) == 0 ? (int)n
		  : a->tls == CONF_TLS_IMPLICIT	      ? 465
						      : 587;
	v = conf_get(c, a->name, "timeout");
	a->timeout = v && conf_int(v, 1, 3600, &n) == 0 ? (int)n : 60;
	a->tls_trust_file = conf_get(c, a->name, "tls_trust_file");
	if (!a->tls_trust_file)
		a->tls_trust_file = "system";
	a->tls_crl_file = conf_get(c, a->name, "tls_crl_file");
	a->tls_fingerprint = conf_get(c, a->name, "tls_fingerprint");
	a->tls_cert_file = conf_get(c, a->name, "tls_cert_file");
	a->tls_key_file = conf_get(c, a->name, "tls_key_file");
	a->tls_priorities = conf_get(c, a->name, "tls_priorities");
	a->tls_min_version = conf_get(c, a->name, "tls_min_version");
	a->tls_host_override = conf_get(c, a->name, "tls_host_override");
	v = conf_get(c, a->name, "tls_certcheck");
	a->tls_certcheck = !v || strcmp(v, "on") == 0;
	if (!a->tls_cert_file != !a->tls_key_file)
		return err_set(e, ERR_CONFIG, "%s: account '%s' sets %s without %s; a client "
			       "certificate needs both", a->file, a->name,
			       a->tls_cert_file ? "tls_cert_file" : "tls_key_file",
			       a->tls_cert_file ? "tls_key_file" : "tls_cert_file");
	a->user = conf_get(c, a->name, "user");
	a->password = conf_get(c, a->name, "password");
	a->passwordeval = conf_get(c, a->name, "passwordeval");
	a->from = conf_get(c, a->name, "from");
	a->domain = conf_get(c, a->name, "domain");
	a->logfile = conf_get(c, a->name, "logfile");
	v = conf_get(c, a->name, "auth_plaintext");
	a->auth_plaintext = v && strcmp(v, "allow") == 0;
	a->maildomain = conf_get(c, a->name, "maildomain");
	a->aliases = conf_get(c, a->name, "aliases");
	v = conf_get(c, a->name, "allow_from_override");
	a->allow_from_override = !v || strcmp(v, "on") == 0;
	a->set_from_header = conf_get(c, a->name, "set_from_header");
	if (!a->set_from_header)
		a->set_from_header = "auto";
	a->from_full_name = conf_get(c, a->name, "from_full_name");
	v = conf_get(c, a->name, "set_date_header");
	a->set_date_header = !v || strcmp(v, "auto") == 0;
	v = conf_get(c, a->name, "set_msgid_header");
	a->set_msgid_header = !v || strcmp(v, "auto") == 0;
	v = conf_get(c, a->name, "remove_bcc_headers");
	a->remove_bcc_headers = !v || strcmp(v, "on") == 0;
	a->dsn_notify = conf_get(c, a->name, "dsn_notify");
	a->dsn_return = conf_get(c, a->name, "dsn_return");
	v = conf_get(c, a->name, "queue");
	a->queue = !v || strcmp(v, "on") == 0;
	a->queue_dir = conf_get(c, a->name, "queue_dir");
	v = conf_get(c, a->name, "queue_lifetime");
	a->queue_lifetime = v ? conf_duration(v) : CONF_QUEUE_LIFETIME;
	v = conf_get(c, a->name, "queue_retry_min");
	a->queue_retry_min = v ? conf_duration(v) : CONF_QUEUE_RETRY_MIN;
	v = conf_get(c, a->name, "queue_retry_max");
	a->queue_retry_max = v ? conf_duration(v) : CONF_QUEUE_RETRY_MAX;
	if (a->queue_retry_min < 1)
		a->queue_retry_min = 1;
	if (a->queue_retry_max < a->queue_retry_min)
		a->queue_retry_max = a->queue_retry_min;
	v = conf_get(c, a->name, "queue_flush");
	a->queue_flush = !v || strcmp(v, "on") == 0;
	v = conf_get(c, a->name, "rate_limit");
	a->rate_limit = v ? conf_rate(v, &a->rate_window) : 0;
	v = conf_get(c, a->name, "max_recipients");
	a->max_recipients = v && conf_int(v, 1, 100000, &n) == 0 ? (int)n : 0;
	v = conf_get(c, a->name, "auth");
	if (!v)
		a->auth = a->user ? "on" : "off";
	else if (strcasecmp(v, "on") == 0)
		a->auth = "on";
	else if (strcasecmp(v, "off") == 0)
		a->auth = "off";
	else {
		/* mechanism names are upper case on the wire; accept any case here */
		char *up = a->auth_upper;

		snprintf(up, sizeof a->auth_upper, "%s", v);
		for (char *q = up; *q; q++)
			*q = (char)toupper((unsigned char)*q);
		a->auth = up;
	}
	if (strcmp(a->auth, "EXTERNAL") == 0 || strcmp(a->auth, "GSSAPI") == 0) {
		/* no password: the certificate or the Kerberos ticket is the credential */
	} else if (strcmp(a->auth, "off") != 0) {
		if (!a->user)
			return err_set(e, ERR_CONFIG, "%s: account '%s' has auth = %s but no user",
				       a->file, a->name, a->auth);
		if (a->password && a->passwordeval)
			return err_set(e, ERR_CONFIG, "%s: account '%s' sets both password and "
				       "passwordeval; keep one", a->file, a->name);
		if (a->tls == CONF_TLS_OFF && !a->auth_plaintext)
			return err_set(e, ERR_CONFIG, "%s: account '%s' has tls = off, so the password "
				       "would cross the network in cleartext; turn TLS on (or, "
				       "dangerously, set auth_plaintext = allow)", a->file, a->name);
	}
	return 0;
}
