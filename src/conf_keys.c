/* conf_keys: every configuration key, in one table: the field of struct account it fills, how
 * its value is converted and checked (once, when the file is read), and its default. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "conf.h"
#include "buf.h"
#include "conf_keys.h"
#include "sasl.h"
#include "tls.h"

struct conf_word {
	const char *word;
	int val;
};

/* One key: where its value goes in struct account, how it is converted, and its default. */
struct conf_key {
	const char *key;
	/* Converts v (its own copy, which it may change; never for a default) into the key's
	 * field(s) of a; -1 with the complaint, without file and line, in e. */
	int (*conv)(const struct conf_key *k, char *v, struct account *a, struct err *e);
	size_t off, size;	/* the field(s) in struct account; size 0: none (default_account) */
	const char *def;	/* the default as a file would say it; NULL: zero, or a rule below */
	long min, max;		/* conf_number's range */
	const char *unit;	/* conf_number: " of seconds" in the message */
	const struct conf_word *words;	/* conf_choice's words, NULL-terminated */
};

/* the field f, or the fields from f to l (declared next to each other in struct account) */
#define F(f) offsetof(struct account, f), sizeof(((struct account *)0)->f)
#define SPAN(f, l)                                                                            \
	offsetof(struct account, f),                                                              \
		offsetof(struct account, l) + sizeof(((struct account *)0)->l) -                      \
			offsetof(struct account, f)

/* SPAN's fields must follow each other, or the span would cover others (or wrap around) */
#define CONF_NEXT(f, l)                                                                       \
	(offsetof(struct account, l) - offsetof(struct account, f) -                          \
		 sizeof(((struct account *)0)->f) <                                           \
	 _Alignof(__typeof__(((struct account *)0)->l)))
_Static_assert(CONF_NEXT(hosts, nhosts) && CONF_NEXT(auth, mech) &&
		       CONF_NEXT(rate_limit, rate_window),
	       "the fields of a SPAN are declared next to each other");

/* conf_choice stores an int; the enums it fills must have that size */
_Static_assert(sizeof(enum conf_tls) == sizeof(int) && sizeof(enum conf_auth) == sizeof(int) &&
		       sizeof(enum conf_set_from) == sizeof(int) &&
		       sizeof(enum conf_dsn_ret) == sizeof(int) &&
		       sizeof(enum conf_oauth_provider) == sizeof(int) &&
		       sizeof(enum conf_oauth_grant) == sizeof(int),
	       "enums of struct account are int-sized");

static const struct conf_word conf_onoff[] = { { "on", 1 }, { "off", 0 }, { NULL, 0 } };
static const struct conf_word conf_autooff[] = { { "auto", 1 }, { "off", 0 }, { NULL, 0 } };
static const struct conf_word conf_allow[] = { { "allow", 1 }, { "deny", 0 }, { NULL, 0 } };
static const struct conf_word conf_tlsmode[] = {
	{ "starttls", CONF_TLS_STARTTLS }, { "implicit", CONF_TLS_IMPLICIT }, { "off", CONF_TLS_OFF },
	{ NULL, 0 }
};
static const struct conf_word conf_tlsversion[] = { { "1.2", 12 }, { "1.3", 13 }, { NULL, 0 } };
static const struct conf_word conf_setfrom[] = {
	{ "auto", CONF_FROM_AUTO }, { "on", CONF_FROM_ON }, { "off", CONF_FROM_OFF }, { NULL, 0 }
};
static const struct conf_word conf_dsnret[] = {
	{ "full", CONF_DSN_RET_FULL }, { "headers", CONF_DSN_RET_HDRS }, { NULL, 0 }
};
static const struct conf_word conf_provider[] = {
	{ "microsoft", CONF_OAUTH_MICROSOFT }, { "google", CONF_OAUTH_GOOGLE }, { NULL, 0 }
};
static const struct conf_word conf_grant[] = {
	{ "refresh_token", CONF_GRANT_REFRESH }, { "client_credentials", CONF_GRANT_CLIENT },
	{ "jwt_bearer", CONF_GRANT_JWT }, { NULL, 0 }
};

/* ---- converters ---- */

static int conf_str(const struct conf_key *k, char *v, struct account *a, struct err *e)
{
	if (!*v)
		return err_set(e, ERR_CONFIG, "%s has an empty value", k->key);
	if (k->size)
		*(const char **)((char *)a + k->off) = v;
	return 0;
}

static int conf_choice(const struct conf_key *k, char *v, struct account *a, struct err *e)
{
	char list[200] = "";
	size_t i, n;

	for (i = 0; k->words[i].word; i++)
		if (strcmp(v, k->words[i].word) == 0) {
			*(int *)((char *)a + k->off) = k->words[i].val;
			return 0;
		}
	for (n = i, i = 0; i < n; i++)
		snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
			 i == 0 ? "" : i + 1 == n ? " or " : ", ", k->words[i].word);
	return err_set(e, ERR_CONFIG, "%s must be %s, not '%s'", k->key, list, v);
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

static int conf_number(const struct conf_key *k, char *v, struct account *a, struct err *e)
{
	long n;

	if (conf_int(v, k->min, k->max, &n) < 0)
		return err_set(e, ERR_CONFIG, "%s must be a number%s from %ld to %ld, not '%s'",
			       k->key, k->unit ? k->unit : "", k->min, k->max, v);
	*(int *)((char *)a + k->off) = (int)n;
	return 0;
}

/* "90", "90s", "15m", "2h", "5d" in seconds. */
static int conf_duration(const struct conf_key *k, char *v, struct account *a, struct err *e)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || n < 0 || n > 1000000000L || (*end && end[1]))
		goto bad;
	switch (*end) {
	case '\0':
	case 's': break;
	case 'm': n *= 60; break;
	case 'h': n *= 3600; break;
	case 'd': n *= 86400; break;
	default: goto bad;
	}
	*(long *)((char *)a + k->off) = n;
	return 0;
bad:
	return err_set(e, ERR_CONFIG, "%s must be a duration such as 90s, 15m, 2h or 5d, not '%s'",
		       k->key, v);
}

/* "N/hour" or "N/day". */
static int conf_rate(const struct conf_key *k, char *v, struct account *a, struct err *e)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || n < 1 || n > 1000000)
		goto bad;
	if (strcmp(end, "/hour") == 0 || strcmp(end, "/h") == 0)
		a->rate_window = 3600;
	else if (strcmp(end, "/day") == 0 || strcmp(end, "/d") == 0)
		a->rate_window = 86400;
	else
		goto bad;
	a->rate_limit = (int)n;
	return 0;
bad:
	return err_set(e, ERR_CONFIG, "%s must be N/hour or N/day, not '%s'", k->key, v);
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

/* Stored upper case, as it goes on the wire. */
static int conf_dsn_notify(const struct conf_key *k, char *v, struct account *a, struct err *e)
{
	if (!conf_dsn_notify_ok(v))
		return err_set(e, ERR_CONFIG, "%s must be never or a comma-separated list of "
			       "success, failure and delay, not '%s'", k->key, v);
	for (char *p = v; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	a->dsn_notify = v;
	return 0;
}

static int conf_domain(const struct conf_key *k, char *v, struct account *a, struct err *e)
{
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p <= ' ' || strchr("@<>()[],;:\\\"", *p))
			return err_set(e, ERR_CONFIG, "%s must be a domain name, not '%s'", k->key, v);
	return conf_str(k, v, a, e);
}

static int conf_fingerprint(const struct conf_key *k, char *v, struct account *a, struct err *e)
{
	unsigned char pin[TLS_PIN_SIZE];
	int colons, upper;

	if (tls_pin_parse(v, pin, &colons, &upper) < 0)
		return err_set(e, ERR_CONFIG, "%s must be the SHA-256 fingerprint of the server's "
			       "certificate: 64 hex digits, pairs separated by ':' or not (postbote "
			       "--serverinfo shows it), not '%s'", k->key, v);
	a->tls_fingerprint = v;
	return 0;
}

/* "on" and "off" in any case, else a mechanism name, which is upper case on the wire. */
static int conf_auth(const struct conf_key *k, char *v, struct account *a, struct err *e)
{
	size_t n = strlen(v);

	if (strcasecmp(v, "on") == 0 || strcasecmp(v, "off") == 0) {
		a->auth = strcasecmp(v, "on") == 0 ? CONF_AUTH_ON : CONF_AUTH_OFF;
		return 0;
	}
	if (!n)
		return err_set(e, ERR_CONFIG, "%s has an empty value", k->key);
	if (n >= sizeof a->mech || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					  "0123456789-_") != n)
		return err_set(e, ERR_CONFIG, "%s must be on, off or a mechanism name such as "
			       "SCRAM-SHA-256, not '%s'", k->key, v);
	for (size_t i = 0; i <= n; i++)
		a->mech[i] = (char)toupper((unsigned char)v[i]);
	a->auth = CONF_AUTH_MECH;
	return 0;
}

/* An OAuth endpoint: https only, since it carries secrets; no blanks or controls (it goes
 * into a request line as it is). */
static int conf_https(const struct conf_key *k, char *v, struct account *a, struct err *e)
{
	if (strncasecmp(v, "https://", 8) != 0 || !v[8] || v[8] == '/')
		return err_set(e, ERR_CONFIG, "%s must be an https:// URL, not '%s'", k->key, v);
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return err_set(e, ERR_CONFIG, "%s must be a URL without blanks or control "
				       "characters", k->key);
	return conf_str(k, v, a, e);
}

/* "a.example.org, b.example.org" or blank-separated. */
static int conf_hosts(const struct conf_key *k, char *v, struct account *a, struct err *e)
{
	const char *p = v;

	a->nhosts = 0;
	for (;;) {
		size_t n;

		p += strspn(p, ", \t");
		n = strcspn(p, ", \t");
		if (!n)
			break;
		if (n > CONF_HOST_MAX)
			return err_set(e, ERR_CONFIG, "%s: '%.40s...' is longer than %d bytes", k->key,
				       p, CONF_HOST_MAX);
		/* no name or address has these; a "; comment" after the list is the likely one */
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)p[i] < ' ' || strchr(";#@<>()\"\\'", p[i]))
				return err_set(e, ERR_CONFIG, "%s must list host names or addresses, "
					       "not '%.*s'", k->key, (int)n, p);
		if (a->nhosts == CONF_HOSTS_MAX)
			return err_set(e, ERR_CONFIG, "%s lists more than %d hosts", k->key,
				       CONF_HOSTS_MAX);
		memcpy(a->hosts[a->nhosts], p, n);
		a->hosts[a->nhosts++][n] = '\0';
		p += n;
	}
	if (!a->nhosts)
		return err_set(e, ERR_CONFIG, "%s has an empty value", k->key);
	return 0;
}

/* "off", "on" (the mail facility, as Postfix and msmtp log), or a facility: mail, user,
 * daemon, local0 to local7, in any case, with or without LOG_. LOG_KERN is 0 and is not a
 * facility for programs, so 0 can mean off. */
static int conf_syslog(const struct conf_key *k, char *v, struct account *a, struct err *e)
{
	static const struct conf_word facilities[] = {
		{ "off", 0 }, { "on", LOG_MAIL }, { "mail", LOG_MAIL }, { "user", LOG_USER },
		{ "daemon", LOG_DAEMON }, { "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
		{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 },
		{ "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
		{ NULL, 0 }
	};
	const char *name = strncasecmp(v, "LOG_", 4) == 0 ? v + 4 : v;

	for (const struct conf_word *w = facilities; w->word; w++)
		if (strcasecmp(name, w->word) == 0 && (w->val || name == v)) {
			a->syslog = w->val;
			return 0;
		}
	return err_set(e, ERR_CONFIG, "%s must be on, off, or a facility: mail, user, daemon or "
		       "local0 to local7, not '%s'", k->key, v);
}

static const struct conf_key conf_keys[] = {
	{ "host", conf_hosts, SPAN(hosts, nhosts), NULL, 0, 0, NULL, NULL },
	{ "port", conf_number, F(port), NULL, 1, 65535, NULL, NULL },
	{ "tls", conf_choice, F(tls), "starttls", 0, 0, NULL, conf_tlsmode },
	{ "tls_trust_file", conf_str, F(tls_trust_file), "system", 0, 0, NULL, NULL },
	{ "tls_crl_file", conf_str, F(tls_crl_file), NULL, 0, 0, NULL, NULL },
	{ "tls_fingerprint", conf_fingerprint, F(tls_fingerprint), NULL, 0, 0, NULL, NULL },
	{ "tls_cert_file", conf_str, F(tls_cert_file), NULL, 0, 0, NULL, NULL },
	{ "tls_key_file", conf_str, F(tls_key_file), NULL, 0, 0, NULL, NULL },
	{ "tls_priorities", conf_str, F(tls_priorities), NULL, 0, 0, NULL, NULL },
	{ "tls_min_version", conf_choice, F(tls_min_version), "1.2", 0, 0, NULL, conf_tlsversion },
	{ "tls_host_override", conf_domain, F(tls_host_override), NULL, 0, 0, NULL, NULL },
	{ "tls_certcheck", conf_choice, F(tls_certcheck), "on", 0, 0, NULL, conf_onoff },
	{ "tls_resume", conf_choice, F(tls_resume), "on", 0, 0, NULL, conf_onoff },
	{ "auth", conf_auth, SPAN(auth, mech), NULL, 0, 0, NULL, NULL },
	{ "auth_plaintext", conf_choice, F(auth_plaintext), "deny", 0, 0, NULL, conf_allow },
	{ "user", conf_str, F(user), NULL, 0, 0, NULL, NULL },
	{ "password", conf_str, F(password), NULL, 0, 0, NULL, NULL },
	{ "password_file", conf_str, F(password_file), NULL, 0, 0, NULL, NULL },
	{ "passwordeval", conf_str, F(passwordeval), NULL, 0, 0, NULL, NULL },
	{ "from", conf_str, F(from), NULL, 0, 0, NULL, NULL },
	{ "domain", conf_str, F(domain), NULL, 0, 0, NULL, NULL },
	{ "timeout", conf_number, F(timeout), "60", 1, 3600, " of seconds", NULL },
	{ "logfile", conf_str, F(logfile), NULL, 0, 0, NULL, NULL },
	{ "syslog", conf_syslog, F(syslog), "off", 0, 0, NULL, NULL },
	{ "default_account", conf_str, 0, 0, NULL, 0, 0, NULL, NULL },
	{ "maildomain", conf_domain, F(maildomain), NULL, 0, 0, NULL, NULL },
	{ "aliases", conf_str, F(aliases), NULL, 0, 0, NULL, NULL },
	{ "allow_from_override", conf_choice, F(allow_from_override), "on", 0, 0, NULL, conf_onoff },
	{ "set_from_header", conf_choice, F(set_from_header), "auto", 0, 0, NULL, conf_setfrom },
	{ "from_full_name", conf_str, F(from_full_name), NULL, 0, 0, NULL, NULL },
	{ "set_date_header", conf_choice, F(set_date_header), "auto", 0, 0, NULL, conf_autooff },
	{ "set_msgid_header", conf_choice, F(set_msgid_header), "auto", 0, 0, NULL, conf_autooff },
	{ "remove_bcc_headers", conf_choice, F(remove_bcc_headers), "on", 0, 0, NULL, conf_onoff },
	{ "dsn_notify", conf_dsn_notify, F(dsn_notify), NULL, 0, 0, NULL, NULL },
	{ "dsn_return", conf_choice, F(dsn_return), NULL, 0, 0, NULL, conf_dsnret },
	{ "queue", conf_choice, F(queue), "on", 0, 0, NULL, conf_onoff },
	{ "queue_dir", conf_str, F(queue_dir), NULL, 0, 0, NULL, NULL },
	{ "queue_lifetime", conf_duration, F(queue_lifetime), "5d", 0, 0, NULL, NULL },
	{ "queue_retry_min", conf_duration, F(queue_retry_min), "60", 0, 0, NULL, NULL },
	{ "queue_retry_max", conf_duration, F(queue_retry_max), "3600", 0, 0, NULL, NULL },
	{ "queue_flush", conf_choice, F(queue_flush), "on", 0, 0, NULL, conf_onoff },
	{ "rate_limit", conf_rate, SPAN(rate_limit, rate_window), NULL, 0, 0, NULL, NULL },
	{ "max_recipients", conf_number, F(max_recipients), NULL, 1, 100000, NULL, NULL },
	{ "oauth2_provider", conf_choice, F(oauth2_provider), NULL, 0, 0, NULL, conf_provider },
	{ "oauth2_tenant", conf_domain, F(oauth2_tenant), NULL, 0, 0, NULL, NULL },
	{ "oauth2_token_endpoint", conf_https, F(oauth2_token_endpoint), NULL, 0, 0, NULL, NULL },
	{ "oauth2_device_endpoint", conf_https, F(oauth2_device_endpoint), NULL, 0, 0, NULL, NULL },
	{ "oauth2_auth_endpoint", conf_https, F(oauth2_auth_endpoint), NULL, 0, 0, NULL, NULL },
	{ "oauth2_client_id", conf_str, F(oauth2_client_id), NULL, 0, 0, NULL, NULL },
	{ "oauth2_client_secret", conf_str, F(oauth2_client_secret), NULL, 0, 0, NULL, NULL },
	{ "oauth2_client_secret_eval", conf_str, F(oauth2_client_secret_eval), NULL, 0, 0, NULL,
	  NULL },
	{ "oauth2_scope", conf_str, F(oauth2_scope), NULL, 0, 0, NULL, NULL },
	{ "oauth2_grant", conf_choice, F(oauth2_grant), "refresh_token", 0, 0, NULL, conf_grant },
	{ "oauth2_refresh_token", conf_str, F(oauth2_refresh_token), NULL, 0, 0, NULL, NULL },
	{ "oauth2_trust_file", conf_str, F(oauth2_trust_file), "system", 0, 0, NULL, NULL },
	{ "oauth2_key_file", conf_str, F(oauth2_key_file), NULL, 0, 0, NULL, NULL },
	{ "oauth2_store_dir", conf_str, F(oauth2_store_dir), NULL, 0, 0, NULL, NULL },
	{ "chunking", conf_choice, F(chunking), "on", 0, 0, NULL, conf_onoff },
	{ "state_dir", conf_str, F(state_dir), NULL, 0, 0, NULL, NULL },
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

const char *conf_key_suggest(const char *key)
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

const struct conf_key *conf_key_find(const char *name)
{
	for (size_t i = 0; i < CONF_NKEYS; i++)
		if (strcmp(conf_keys[i].key, name) == 0)
			return &conf_keys[i];
	return NULL;
}

const char *conf_key_name(const struct conf_key *k)
{
	return k->key;
}

unsigned char *conf_key_convert(const struct conf_key *k, char *value, struct err *e)
{
	struct account scratch;
	unsigned char *val;

	memset(&scratch, 0, sizeof scratch);
	if (k->conv(k, value, &scratch, e) < 0)
		return NULL;
	val = xmalloc(k->size ? k->size : 1);
	memcpy(val, (char *)&scratch + k->off, k->size);
	return val;
}

void conf_key_fill(struct account *a,
		   const unsigned char *(*value_of)(const void *ctx, const struct conf_key *k),
		   const void *ctx)
{
	for (const struct conf_key *k = conf_keys; k < conf_keys + CONF_NKEYS; k++) {
		const unsigned char *val;
		struct err e;

		if (!k->size)
			continue;
		val = value_of(ctx, k);
		if (val)
			memcpy((char *)a + k->off, val, k->size);
		else if (k->def && k->conv(k, (char *)k->def, a, &e) < 0)
			abort();	/* a default of our own that its converter refuses */
	}
}

const struct conf_key *conf_key_at(size_t i)
{
	return i < CONF_NKEYS ? &conf_keys[i] : NULL;
}

int conf_key_secret(const struct conf_key *k)
{
	return k->conv == conf_str &&
	       (strcmp(k->key, "password") == 0 || strcmp(k->key, "oauth2_client_secret") == 0 ||
		strcmp(k->key, "oauth2_refresh_token") == 0);
}

/* A duration in the largest unit that states it exactly. */
static int conf_show_duration(long v, struct buf *out)
{
	return v % 86400 == 0 ? buf_printf(out, "%ldd", v / 86400)
	       : v % 3600 == 0 ? buf_printf(out, "%ldh", v / 3600)
	       : v % 60 == 0 ? buf_printf(out, "%ldm", v / 60) : buf_printf(out, "%lds", v);
}

int conf_key_show(const struct conf_key *k, const struct account *a, struct buf *out)
{
	const char *field = (const char *)a + k->off;
	int n;

	if (!k->size)
		return 0;
	if (k->conv == conf_hosts) {
		for (size_t i = 0; i < a->nhosts; i++)
			if (buf_printf(out, "%s%s", i ? ", " : "", a->hosts[i]) < 0)
				return -1;
		return 1;
	}
	if (k->conv == conf_auth)
		return buf_addstr(out, a->auth == CONF_AUTH_MECH ? a->mech
				       : a->auth == CONF_AUTH_ON ? "on" : "off") < 0 ? -1 : 1;
	if (k->conv == conf_rate)
		return !a->rate_limit ? 0
		       : buf_printf(out, "%d/%s", a->rate_limit,
				    a->rate_window == 86400 ? "day" : "hour") < 0 ? -1 : 1;
	if (k->conv == conf_duration) {
		long v;

		memcpy(&v, field, sizeof v);
		return conf_show_duration(v, out) < 0 ? -1 : 1;
	}
	if (k->conv == conf_number || k->conv == conf_choice) {
		memcpy(&n, field, sizeof n);
		if (k->conv == conf_number)
			return !n ? 0 : buf_printf(out, "%d", n) < 0 ? -1 : 1;
		for (const struct conf_word *w = k->words; w->word; w++)
			if (w->val == n)
				return buf_addstr(out, w->word) < 0 ? -1 : 1;
		return 0;	/* an enum's "unset" (dsn_return) */
	}
	const char *str;

	memcpy(&str, field, sizeof str);	/* every other converter fills a string */
	if (!str)
		return 0;
	return buf_addstr(out, conf_key_secret(k) ? "(hidden)" : str) < 0 ? -1 : 1;
}
