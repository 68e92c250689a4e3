/* conf: INI files through libinih (the only file that includes it), who may own them, and the
 * accounts they describe; what each key means and how its value is converted is conf_keys.c. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "conf_keys.h"
#include "log.h"
#include "net.h"
#include "sasl.h"
#include "state.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif

#define CONF_SYSTEM_FILE SYSCONFDIR "/postbote.conf"

/* inih starts an inline comment at " ;", which would cut `passwordeval = a ; b` to "a" without
 * a word. conf_read_line hands inih every ';' as this byte instead, which a line may not
 * contain, and the handler puts the ';' back. */
#define CONF_SEMI '\x01'

struct conf_entry {
	const char *file;	/* owned by conf.files */
	int line;
	char *section, *key, *value;
	const struct conf_key *k;
	unsigned char *val;	/* the converted field(s): k->size bytes of a struct account */
};

/* ---- reading files ---- */

struct conf_reader {
	struct conf *c;
	FILE *f;		/* a file, or */
	const char *mem;	/* len bytes of text */
	size_t len, pos;
	const char *path;
	int line;
	int has_password;
	struct err *e;
	int failed;
	char *held;		/* the current line */
	size_t held_size;
};

/* The next line, with its newline if it has one, in r->held; its length, or -1 at the end. */
static ssize_t conf_next_line(struct conf_reader *r)
{
	const char *nl;
	size_t n;

	if (r->f)
		return getline(&r->held, &r->held_size, r->f);
	if (r->pos >= r->len)
		return -1;
	nl = memchr(r->mem + r->pos, '\n', r->len - r->pos);
	n = nl ? (size_t)(nl - (r->mem + r->pos)) + 1 : r->len - r->pos;
	if (n + 1 > r->held_size) {
		r->held_size = n + 1;
		r->held = xrealloc(r->held, r->held_size);
	}
	memcpy(r->held, r->mem + r->pos, n);
	r->held[n] = '\0';
	r->pos += n;
	return (ssize_t)n;
}

/* Feeds inih one line at a time: counts lines, drops leading blanks (so indentation never turns
 * a line into a continuation), turns comment lines into empty ones and hides every other ';'
 * (see CONF_SEMI), and catches lines longer than inih's fixed buffer, which it would otherwise
 * cut silently. */
static char *conf_read_line(char *str, int num, void *stream)
{
	struct conf_reader *r = stream;
	ssize_t n;
	char *p;

	if (r->failed)
		return NULL;
	n = conf_next_line(r);
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
	if (memchr(p, '\0', (size_t)n) || memchr(p, CONF_SEMI, (size_t)n)) {
		r->failed = 1;
		err_set(r->e, ERR_CONFIG, "%s:%d: the line contains a %s", r->path, r->line,
			memchr(p, '\0', (size_t)n) ? "NUL byte" : "control character (0x01)");
		return NULL;
	}
	if (*p == ';' || *p == '#')
		n = 0;	/* a comment: inih sees an empty line, whatever its length */
	if (n + 2 > num) {
		r->failed = 1;
		err_set(r->e, ERR_CONFIG, "%s:%d: line too long (%zd bytes; the limit is %d)",
			r->path, r->line, n, num - 2);
		return NULL;
	}
	for (ssize_t i = 0; i < n; i++)
		str[i] = p[i] == ';' ? CONF_SEMI : p[i];
	str[n] = '\n';
	str[n + 1] = '\0';
	return str;
}

static char *conf_unhide(const char *s)
{
	char *copy = xstrdup(s);

	for (char *p = copy; *p; p++)
		if (*p == CONF_SEMI)
			*p = ';';
	return copy;
}

/* Where a key may be; 0, or -1 with the complaint in r->e. */
static int conf_placed(struct conf_reader *r, const char *section, const char *key)
{
	const char *s;

	if (!conf_key_find(key) && (s = conf_key_suggest(key)))
		return err_set(r->e, ERR_CONFIG, "%s:%d: unknown key '%s'; did you mean '%s'?",
			       r->path, r->line, key, s);
	if (!conf_key_find(key))
		return err_set(r->e, ERR_CONFIG, "%s:%d: unknown key '%s' (see postbote.conf(5))",
			       r->path, r->line, key);
	if (!*section)
		return err_set(r->e, ERR_CONFIG, "%s:%d: '%s' is outside any section; put it under "
			       "[defaults] or an [account]", r->path, r->line, key);
	if (strcmp(key, "default_account") == 0 && strcmp(section, "defaults") != 0)
		return err_set(r->e, ERR_CONFIG, "%s:%d: default_account belongs in [defaults]",
			       r->path, r->line);
	return 0;
}

static int conf_handler(void *user, const char *hsection, const char *hkey, const char *hvalue)
{
	struct conf_reader *r = user;
	struct conf *c = r->c;
	struct conf_entry en = { .file = r->path, .line = r->line };

	if (r->failed)
		return 1;
	en.section = conf_unhide(hsection);
	en.key = conf_unhide(hkey);
	en.value = conf_unhide(hvalue);
	if (conf_placed(r, en.section, en.key) < 0)
		goto fail;
	en.k = conf_key_find(en.key);
	en.val = conf_key_convert(en.k, en.value, r->e);
	if (!en.val) {
		err_wrap(r->e, "%s:%d", r->path, r->line);
		goto fail;
	}
	if (strcmp(en.key, "password") == 0 || strcmp(en.key, "oauth2_client_secret") == 0 ||
	    strcmp(en.key, "oauth2_refresh_token") == 0)
		r->has_password = 1;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 32;
		c->v = xrealloc(c->v, c->cap * sizeof *c->v);
	}
	c->v[c->n++] = en;
	return 1;
fail:
	r->failed = 1;
	free(en.section);
	free(en.key);
	free(en.value);
	return 1;
}

/* Runs inih over the reader; 0, or -1 with the first problem in e. */
static int conf_parse(struct conf_reader *r)
{
	int rc = ini_parse_stream(conf_read_line, r, conf_handler, r);

	if (!r->failed && r->f && ferror(r->f))
		err_set(r->e, ERR_CONFIG, "cannot read %s: %s", r->path, strerror(errno)),
			r->failed = 1;
	free(r->held);
	r->held = NULL;
	if (r->failed)
		return -1;
	if (rc > 0)
		return err_set(r->e, ERR_CONFIG, "%s:%d: syntax error: expected [section] or "
			       "key = value", r->path, rc);
	if (rc < 0)
		return err_set(r->e, ERR_CONFIG, "cannot parse %s", r->path);
	return 0;
}

/* A file whose owner is neither the caller nor root, or that its group or others may change,
 * could hold anyone's passwordeval, logfile or host: it is refused, whatever it holds. */
static int conf_check_trust(const char *path, const struct stat *st, int system, struct err *e)
{
	if (st->st_uid != 0 && st->st_uid != getuid())
		return err_set(e, ERR_CONFIG, "%s belongs to uid %u, neither you nor root, so "
			       "postbote does not trust it; run: chown %u %s", path,
			       (unsigned)st->st_uid, system ? 0u : (unsigned)getuid(), path);
	if (st->st_mode & 022)
		return err_set(e, ERR_CONFIG, "%s may be changed by %s, so postbote does not trust "
			       "it; run: chmod go-w %s", path,
			       st->st_mode & 002 ? "everyone" : "its group", path);
	return 0;
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

enum conf_file { CONF_FILE_SYSTEM, CONF_FILE_NAMED, CONF_FILE_USER };

/* Reads one file: the system file, one named with -C or POSTBOTE_CONFIG (which must exist), or
 * the default user file. Returns 1 when read, 0 when absent, CONF_UNREADABLE when it exists but
 * may not be read and that is no error (the system file, or the user file after it), -1 with
 * ERR_CONFIG. */
#define CONF_UNREADABLE 2
static int conf_read_file(struct conf *c, const char *path, enum conf_file kind, struct err *e)
{
	struct conf_reader r = { .c = c, .e = e };
	int system = kind == CONF_FILE_SYSTEM;
	struct stat st;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (kind != CONF_FILE_NAMED && errno == ENOENT)
			return 0;
		if (system && errno == EACCES)
			return CONF_UNREADABLE;
		/* a HOME the caller may not enter (sudo keeping root's): they have no file there */
		if (kind == CONF_FILE_USER && c->must_drop && errno == EACCES)
			return 0;
		if (kind == CONF_FILE_USER && c->nfiles > 0) {
			log_warn("cannot read %s (%s); going on with %s alone", path, strerror(errno),
				 c->files[0]);
			return CONF_UNREADABLE;
		}
		return err_set(e, ERR_CONFIG, "cannot read configuration file %s: %s", path,
			       strerror(errno));
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(e, ERR_CONFIG, "%s is not a regular file", path);
	}
	if (conf_check_trust(path, &st, system, e) < 0) {
		close(fd);
		return -1;
	}
	r.f = fdopen(fd, "r");
	if (!r.f)
		err_oom();
	c->files[c->nfiles] = xstrdup(path);
	r.path = c->files[c->nfiles++];
	rc = conf_parse(&r);
	fclose(r.f);
	if (rc < 0)
		return -1;
	if (r.has_password && conf_check_mode(path, &st, system, e) < 0)
		return -1;
	return 1;
}

/* Where the queue is when nothing says otherwise: root's in the spool, a user's in the XDG
 * state directory. */
static char *conf_builtin_queue_dir(void)
{
	char out[4096];

	if (geteuid() == 0)
		snprintf(out, sizeof out, "%s/spool/postbote", LOCALSTATEDIR);
	else
		state_home(out, sizeof out, "queue");
	return xstrdup(out);
}

static void conf_init(struct conf *c)
{
	memset(c, 0, sizeof *c);
	c->default_queue_dir = conf_builtin_queue_dir();
}

int conf_load_mem(struct conf *c, const char *name, const char *text, size_t len, struct err *e)
{
	struct conf_reader r = { .c = c, .e = e, .mem = text, .len = len };

	conf_init(c);
	c->files[c->nfiles] = xstrdup(name);
	r.path = c->files[c->nfiles++];
	return conf_parse(&r);
}

/* The default user file: $XDG_CONFIG_HOME/postbote/config, else below HOME (or passwd's). */
static void conf_user_file(char *path, size_t size)
{
	const char *env = getenv("XDG_CONFIG_HOME");

	if (env && *env) {
		snprintf(path, size, "%s/postbote/config", env);
	} else {
		const char *home = getenv("HOME");
		struct passwd *pw;

		if ((!home || !*home) && (pw = getpwuid(getuid())))
			home = pw->pw_dir;
		snprintf(path, size, "%s/.config/postbote/config", home ? home : "");
	}
}

/* One POSTBOTE_ variable as "key = value\n" on text; 0 (also for a variable that names no key
 * and is near none), or -1 with ERR_CONFIG. */
static int conf_env_var(const char *var, struct buf *text, struct err *e)
{
	const char *eq = strchr(var, '='), *value = eq ? eq + 1 : "", *near;
	char key[64], *copy;
	const struct conf_key *k;
	unsigned char *val;
	size_t n = eq ? (size_t)(eq - var) - 9 : 0;

	if (!eq || n == 0 || n >= sizeof key)
		return 0;
	for (size_t i = 0; i < n; i++)
		key[i] = (char)tolower((unsigned char)var[9 + i]);
	key[n] = '\0';
	if (strcmp(key, "config") == 0)
		return 0;
	if (strcmp(key, "password") == 0)
		return err_set(e, ERR_CONFIG, "POSTBOTE_PASSWORD is refused: every process that may "
			       "read the environment would see it; put the password in a file "
			       "(a Docker or Kubernetes secret) and set POSTBOTE_PASSWORD_FILE");
	if (strcmp(key, "default_account") == 0)
		return err_set(e, ERR_CONFIG, "POSTBOTE_DEFAULT_ACCOUNT makes no sense: the "
			       "environment makes one account, 'default'");
	k = conf_key_find(key);
	if (!k) {
		near = conf_key_suggest(key);
		if (!near)
			return 0;	/* not meant for the account */
		snprintf(key, sizeof key, "%s", near);
		for (char *p = key; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		return err_set(e, ERR_CONFIG, "%.*s: no such setting; did you mean POSTBOTE_%s?",
			       (int)(eq - var), var, key);
	}
	for (const char *p = value; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			return err_set(e, ERR_CONFIG, "%.*s holds a control character", (int)(eq - var),
				       var);
	copy = xstrdup(value);
	val = conf_key_convert(k, copy, e);
	free(copy);
	if (!val)
		return err_wrap(e, "%.*s", (int)(eq - var), var);
	free(val);
	if (n + 3 + strlen(value) + 2 > 200)
		return err_set(e, ERR_CONFIG, "%.*s is longer than a configuration line may be (%d "
			       "bytes)", (int)(eq - var), var, 200 - 5 - (int)n);
	if (buf_printf(text, "%s = %s\n", key, value) < 0)
		buf_broken(__FILE__, __LINE__);
	return 0;
}

/* The account "default" of POSTBOTE_ variables, read as a file called CONF_ENV_FILE. */
static int conf_env(struct conf *c, struct err *e)
{
	extern char **environ;
	struct conf_reader r = { .c = c, .e = e };
	struct buf text;
	int rc = 0;

	buf_init(&text, BUF_NO_MAX);
	if (buf_addstr(&text, "[default]\n") < 0)
		buf_broken(__FILE__, __LINE__);
	for (char **v = environ; *v && rc == 0; v++)
		if (strncmp(*v, "POSTBOTE_", 9) == 0)
			rc = conf_env_var(*v, &text, e);
	if (rc == 0) {
		c->files[c->nfiles] = xstrdup(CONF_ENV_FILE);
		r.path = c->files[c->nfiles++];
		r.mem = text.data;
		r.len = text.len;
		rc = conf_parse(&r);
	}
	buf_free(&text);
	return rc;
}

int conf_load(struct conf *c, const char *file, struct err *e)
{
	char path[4096];
	const char *env = getenv("POSTBOTE_CONFIG");
	int sys, r;

	conf_init(c);
	sys = conf_read_file(c, CONF_SYSTEM_FILE, CONF_FILE_SYSTEM, e);
	if (sys < 0)
		return -1;
	if (file || (env && *env))
		return conf_read_file(c, file ? file : env, CONF_FILE_NAMED, e) < 0 ? -1 : 0;
	conf_user_file(path, sizeof path);
	c->must_drop = sys == CONF_UNREADABLE;	/* so far */
	r = conf_read_file(c, path, CONF_FILE_USER, e);
	c->must_drop = r == 0 && sys == CONF_UNREADABLE;
	if (r < 0)
		return -1;
	/* variables that name a host are a configuration of the caller's own, even where the
	 * system file cannot be read */
	if (r == 0 && c->nfiles == 0 && getenv("POSTBOTE_HOST")) {
		c->must_drop = 0;
		return conf_env(c, e);
	}
	if (c->must_drop)
		return err_set(e, ERR_CONFIG, "you may not read %s and have no %s", CONF_SYSTEM_FILE,
			       path);
	if (r == 0 && c->nfiles == 0)
		return err_set(e, ERR_CONFIG, "no configuration: create %s or %s, or set "
			       "POSTBOTE_HOST (see postbote.conf(5))", path, CONF_SYSTEM_FILE);
	return 0;
}

void conf_free(struct conf *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].section);
		free(c->v[i].key);
		free(c->v[i].value);
		free(c->v[i].val);
	}
	free(c->v);
	for (size_t i = 0; i < c->nfiles; i++)
		free(c->files[i]);
	free(c->default_queue_dir);
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

/* The account's setting of key, else [defaults]'. */
static const struct conf_entry *conf_get(const struct conf *c, const char *account,
					 const char *key)
{
	const struct conf_entry *en = conf_find(c, account, key);

	return en ? en : conf_find(c, "defaults", key);
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

static void conf_files(const struct conf *c, char *out, size_t size)
{
	out[0] = '\0';
	for (size_t i = 0; i < c->nfiles; i++)
		snprintf(out + strlen(out), size - strlen(out), "%s%s", i ? " and " : "",
			 c->files[i]);
}

static const char *conf_pick_name(const struct conf *c, const char *name, const char *from,
				  const char **why, struct err *e)
{
	const struct conf_entry *def;
	char files[1024];

	conf_files(c, files, sizeof files);
	if (name) {
		if (strcmp(name, "defaults") == 0 || !conf_section(c, name)) {
			err_set(e, ERR_CONFIG, "no account '%s' in %s", name, files);
			return NULL;
		}
		*why = "named with -a";
		return name;
	}
	if (from && *from) {
		for (size_t i = 0; i < c->n; i++)
			if (strcmp(c->v[i].key, "from") == 0 &&
			    strcmp(c->v[i].section, "defaults") != 0 &&
			    strcasecmp(c->v[i].value, from) == 0) {
				*why = "its from is the sender given with -f";
				return c->v[i].section;
			}
	}
	def = conf_find(c, "defaults", "default_account");
	if (def) {
		if (!conf_section(c, def->value) || strcmp(def->value, "defaults") == 0) {
			err_set(e, ERR_CONFIG, "default_account names '%s', but %s has no such account",
				def->value, files);
			return NULL;
		}
		*why = "default_account in [defaults]";
		return def->value;
	}
	*why = "the account named default";
	if (conf_section(c, "default"))
		return "default";
	/* one account and nothing else to go by: there is no choice to make, so refusing would
	 * only make every new user add a default_account line */
	{
		const char *names[2];

		if (conf_accounts(c, names, 2) == 1) {
			*why = "the only account";
			return names[0];
		}
	}
	err_set(e, ERR_CONFIG, "no account chosen: use -a NAME, or set default_account in "
		"[defaults] of %s", files);
	return NULL;
}

/* The converted value of key k for the account being filled: its own, [defaults]', or NULL. */
static const unsigned char *conf_value_of(const void *ctx, const struct conf_key *k)
{
	const struct conf *c = ((const void *const *)ctx)[0];
	const struct account *a = ((const void *const *)ctx)[1];
	const struct conf_entry *en = conf_get(c, a->name, conf_key_name(k));

	return en ? en->val : NULL;
}

/* Every key from the account, [defaults] or its default. */
static void conf_fill(const struct conf *c, struct account *a)
{
	const void *ctx[2] = { c, a };

	conf_key_fill(a, conf_value_of, ctx);
}

/* The rules between keys, and the defaults that depend on other keys. */
static int conf_rules(const struct conf *c, struct account *a, struct err *e)
{
	const char *mech;

	if (!a->nhosts)
		return err_set(e, ERR_CONFIG, "%s: account '%s' has no host", a->file, a->name);
	if (!conf_get(c, a->name, "port"))
		a->port = a->tls == CONF_TLS_IMPLICIT ? 465 : 587;
	if (!conf_get(c, a->name, "auth"))
		a->auth = a->user ? CONF_AUTH_ON : CONF_AUTH_OFF;
	mech = a->auth == CONF_AUTH_MECH ? a->mech : "on";
	if (!a->domain) {
		static char fqdn[CONF_HOST_MAX + 1];	/* the machine's name does not change */

		if (!fqdn[0])
			net_fqdn(fqdn, sizeof fqdn);
		a->domain = fqdn;
	}
	if (!a->queue_dir)
		a->queue_dir = c->default_queue_dir;
	if (a->queue_retry_min < 1)
		a->queue_retry_min = 1;
	if (a->queue_retry_max < a->queue_retry_min)
		a->queue_retry_max = a->queue_retry_min;
	if (!a->tls_cert_file != !a->tls_key_file)
		return err_set(e, ERR_CONFIG, "%s: account '%s' sets %s without %s; a client "
			       "certificate needs both", a->file, a->name,
			       a->tls_cert_file ? "tls_cert_file" : "tls_key_file",
			       a->tls_cert_file ? "tls_key_file" : "tls_cert_file");
	/* the certificate or the Kerberos ticket is the credential: no password, maybe no user */
	if (a->auth == CONF_AUTH_OFF || sasl_no_password(mech))
		return 0;
	if (!a->user)
		return err_set(e, ERR_CONFIG, "%s: account '%s' has auth = %s but no user", a->file,
			       a->name, a->auth == CONF_AUTH_MECH ? a->mech : "on");
	if (a->password && a->passwordeval)
		return err_set(e, ERR_CONFIG, "%s: account '%s' sets both password and passwordeval; "
			       "keep one", a->file, a->name);
	if (a->password_file && (a->password || a->passwordeval))
		return err_set(e, ERR_CONFIG, "%s: account '%s' sets both password_file and %s; "
			       "keep one", a->file, a->name,
			       a->password ? "password" : "passwordeval");
	if (a->tls == CONF_TLS_OFF && !a->auth_plaintext)
		return err_set(e, ERR_CONFIG, "%s: account '%s' has tls = off, so the password would "
			       "cross the network in cleartext; turn TLS on (or, dangerously, set "
			       "auth_plaintext = allow)", a->file, a->name);
	return 0;
}

int conf_account(const struct conf *c, const char *name, const char *from, struct account *a,
		 struct err *e)
{
	memset(a, 0, sizeof *a);
	a->name = conf_pick_name(c, name, from, &a->chosen_by, e);
	if (!a->name)
		return -1;
	a->file = conf_section(c, a->name)->file;
	conf_fill(c, a);
	return conf_rules(c, a, e);
}

void conf_account_fallback(struct account *a, const char *name)
{
	memset(a, 0, sizeof *a);
	a->name = name;
	a->queue_lifetime = CONF_QUEUE_LIFETIME;
	a->queue_retry_min = CONF_QUEUE_RETRY_MIN;
	a->queue_retry_max = CONF_QUEUE_RETRY_MAX;
}

/* Adds dir to dirs unless it is there; the new count. */
static size_t conf_add_dir(char (*dirs)[4096], size_t n, const char *dir)
{
	for (size_t k = 0; k < n; k++)
		if (strcmp(dirs[k], dir) == 0)
			return n;
	snprintf(dirs[n], sizeof dirs[n], "%s", dir);
	return n + 1;
}

size_t conf_queue_dirs(const struct conf *c, const char *account, char (*dirs)[4096], size_t max,
		       struct err *e)
{
	const struct conf_entry *en;
	const char **names;
	struct account a;
	struct err ae;
	size_t n, nn;

	if (max == 0)
		return 0;
	if (account) {
		if (conf_account(c, account, NULL, &a, e) < 0)
			return 0;
		return conf_add_dir(dirs, 0, a.queue_dir);
	}
	/* first the default account's queue (which [defaults] sets too) */
	if (conf_account(c, NULL, NULL, &a, &ae) == 0)
		n = conf_add_dir(dirs, 0, a.queue_dir);
	else if ((en = conf_find(c, "defaults", "queue_dir")))
		n = conf_add_dir(dirs, 0, en->value);
	else
		n = conf_add_dir(dirs, 0, c->default_queue_dir);
	names = xmalloc(max * sizeof *names);
	nn = conf_accounts(c, names, max);
	for (size_t i = 0; i < nn && n < max; i++)
		if (conf_account(c, names[i], NULL, &a, &ae) == 0)
			n = conf_add_dir(dirs, n, a.queue_dir);
	free(names);
	return n;
}

/* One pass of conf_account_show: the keys set in a file, each after its origin (set), or the
 * others. */
static int conf_show_keys(const struct conf *c, const struct account *a, int set, struct buf *out)
{
	for (size_t i = 0; conf_key_at(i); i++) {
		const struct conf_key *k = conf_key_at(i);
		const struct conf_entry *en = conf_get(c, a->name, conf_key_name(k));
		size_t start = out->len;
		int r;

		if ((en != NULL) != set)
			continue;
		if ((en && buf_printf(out, "# %s:%d\n", en->file, en->line) < 0) ||
		    buf_printf(out, "%s = ", conf_key_name(k)) < 0)
			return -1;
		r = conf_key_show(k, a, out);
		if (r < 0 || (r > 0 && buf_addch(out, '\n') < 0))
			return -1;
		if (r == 0)
			buf_setlen(out, start);
	}
	return 0;
}

int conf_account_show(const struct conf *c, const struct account *a, struct buf *out)
{
	if (buf_printf(out, "# account %s (%s), in %s\n[%s]\n", a->name, a->chosen_by,
		       a->file ? a->file : "(built in)", a->name) < 0 ||
	    conf_show_keys(c, a, 1, out) < 0 || buf_addstr(out, "# built-in defaults\n") < 0 ||
	    conf_show_keys(c, a, 0, out) < 0)
		return -1;
	return 0;
}
