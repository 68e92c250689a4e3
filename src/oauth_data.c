/* oauth_data: token answers, the store format, JWT input, PKCE, forms and the redirect request;
 * no I/O. JSON goes through json-c, whose parser has been fuzzed for years; what we take from
 * its objects is checked here. */
#include <ctype.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dl.h"
#include "oauth_data.h"

/* ---- JSON ---- */

/* json-c, loaded with dlopen when JSON is first read or written: only OAuth 2.0 needs it, and a
 * linked library costs every run its relocation at start. */
static struct {
	struct json_tokener *(*tokener_new_ex)(int depth);
	struct json_object *(*tokener_parse_ex)(struct json_tokener *tok, const char *str, int len);
	size_t (*tokener_get_parse_end)(struct json_tokener *tok);
	enum json_tokener_error (*tokener_get_error)(struct json_tokener *tok);
	void (*tokener_free)(struct json_tokener *tok);
	int (*object_is_type)(const struct json_object *o, enum json_type type);
	int (*object_put)(struct json_object *o);
	json_bool (*object_object_get_ex)(const struct json_object *o, const char *key,
					  struct json_object **value);
	int (*object_get_string_len)(const struct json_object *o);
	const char *(*object_get_string)(struct json_object *o);
	int64_t (*object_get_int64)(const struct json_object *o);
	const char *(*object_to_json_string_ext)(struct json_object *o, int flags);
	struct json_object *(*object_new_object)(void);
	int (*object_object_add)(struct json_object *o, const char *key, struct json_object *v);
	struct json_object *(*object_new_string)(const char *s);
	struct json_object *(*object_new_int64)(int64_t i);
} jc;

int oauth_json_load(struct err *e)
{
	static const struct dl_sym syms[] = {
		{ "json_tokener_new_ex", &jc.tokener_new_ex },
		{ "json_tokener_parse_ex", &jc.tokener_parse_ex },
		{ "json_tokener_get_parse_end", &jc.tokener_get_parse_end },
		{ "json_tokener_get_error", &jc.tokener_get_error },
		{ "json_tokener_free", &jc.tokener_free },
		{ "json_object_is_type", &jc.object_is_type },
		{ "json_object_put", &jc.object_put },
		{ "json_object_object_get_ex", &jc.object_object_get_ex },
		{ "json_object_get_string_len", &jc.object_get_string_len },
		{ "json_object_get_string", &jc.object_get_string },
		{ "json_object_get_int64", &jc.object_get_int64 },
		{ "json_object_to_json_string_ext", &jc.object_to_json_string_ext },
		{ "json_object_new_object", &jc.object_new_object },
		{ "json_object_object_add", &jc.object_object_add },
		{ "json_object_new_string", &jc.object_new_string },
		{ "json_object_new_int64", &jc.object_new_int64 },
	};
	static int loaded;

	if (!loaded && dl_load(OAUTH_JSONC_SONAME, syms, sizeof syms / sizeof syms[0], "OAuth 2.0",
			       "json-c", "libjson-c5", e) < 0)
		return -1;
	loaded = 1;
	return 0;
}

/* The object in json[0..n): one value, nothing but blanks after it. NULL when there is none. */
static struct json_object *oauth_json(const char *json, size_t n)
{
	struct json_tokener *tok;
	struct json_object *o;
	size_t end;

	if (n > OAUTH_RESPONSE_MAX || n > (size_t)0x7fffffff)
		return NULL;
	tok = jc.tokener_new_ex(OAUTH_JSON_DEPTH);
	if (!tok)
		err_oom();
	o = jc.tokener_parse_ex(tok, json, (int)n);
	end = jc.tokener_get_parse_end(tok);
	if (o && jc.tokener_get_error(tok) == json_tokener_success) {
		while (end < n && strchr(" \t\r\n", json[end]) && json[end])
			end++;
	}
	if (!o || end != n || !jc.object_is_type(o, json_type_object)) {
		jc.object_put(o);
		o = NULL;
	}
	jc.tokener_free(tok);
	return o;
}

/* A member that is a string without NUL bytes: its text, else NULL. */
static const char *oauth_jstr(struct json_object *o, const char *key)
{
	struct json_object *v;
	const char *s;

	if (!jc.object_object_get_ex(o, key, &v) || !jc.object_is_type(v, json_type_string))
		return NULL;
	s = jc.object_get_string(v);
	if (strlen(s) != (size_t)jc.object_get_string_len(v))
		return NULL;
	return s;
}

/* A member that is a number, or a string of digits (some endpoints quote expires_in): 1 with
 * *out, 0 when absent, -1 when it is something else or outside [min, max]. */
static int oauth_jnum(struct json_object *o, const char *key, long min, long max, long *out)
{
	struct json_object *v;
	long long n;

	if (!jc.object_object_get_ex(o, key, &v) || jc.object_is_type(v, json_type_null))
		return 0;
	if (jc.object_is_type(v, json_type_int)) {
		n = jc.object_get_int64(v);
	} else if (jc.object_is_type(v, json_type_string)) {
		const char *s = jc.object_get_string(v);
		char *end;

		errno = 0;
		n = strtoll(s, &end, 10);
		if (errno || end == s || *end)
			return -1;
	} else {
		return -1;
	}
	if (n < min || n > max)
		return -1;
	*out = (long)n;
	return 1;
}

static void oauth_clean_member(struct json_object *o, const char *key, char *out, size_t size)
{
	const char *s = oauth_jstr(o, key);

	out[0] = '\0';
	if (s)
		buf_clean_str(out, size, s, strlen(s));
}

/* 1 with *oe when the object is an error document. */
static int oauth_error_of(struct json_object *o, struct oauth_error *oe)
{
	if (!oauth_jstr(o, "error"))
		return 0;
	oauth_clean_member(o, "error", oe->error, sizeof oe->error);
	oauth_clean_member(o, "error_description", oe->description, sizeof oe->description);
	if (!oe->error[0])
		snprintf(oe->error, sizeof oe->error, "(empty)");
	return 1;
}

/* RFC 6750 b64token: what a bearer token may hold, which keeps SASL's separators unambiguous. */
static int oauth_b64token(const char *t)
{
	size_t n = strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			     "0123456789-._~+/");

	return n > 0 && strspn(t + n, "=") == strlen(t + n);
}

/* Printable ASCII without blanks: what a refresh token or a code may hold here. */
static int oauth_printable(const char *t)
{
	for (const char *p = t; *p; p++)
		if (*p <= ' ' || *p > '~')
			return 0;
	return *t != '\0';
}

int oauth_parse_token(const char *json, size_t n, struct oauth_token *t, struct oauth_error *oe,
		      struct err *e)
{
	struct json_object *o;
	const char *access, *refresh, *type;
	long expires = OAUTH_DEFAULT_LIFETIME;
	int r = -1;

	memset(oe, 0, sizeof *oe);
	if (oauth_json_load(e) < 0)
		return -1;
	o = oauth_json(json, n);
	if (!o)
		return err_set(e, ERR_PROTOCOL, "the token endpoint's answer is not a JSON object");
	if (oauth_error_of(o, oe)) {
		jc.object_put(o);
		return 1;
	}
	access = oauth_jstr(o, "access_token");
	refresh = oauth_jstr(o, "refresh_token");
	type = oauth_jstr(o, "token_type");
	if (!access)
		err_set(e, ERR_PROTOCOL, "the token endpoint's answer has no access_token");
	else if (strlen(access) > CRED_SECRET_MAX || !oauth_b64token(access))
		err_set(e, ERR_PROTOCOL, "the token endpoint's access_token is %s",
			strlen(access) > CRED_SECRET_MAX ? "longer than postbote takes (16384 bytes)"
							 : "not a bearer token (RFC 6750)");
	else if (refresh && (strlen(refresh) > OAUTH_REFRESH_MAX || !oauth_printable(refresh)))
		err_set(e, ERR_PROTOCOL, "the token endpoint's refresh_token is too long or has "
			"characters a token cannot have");
	else if (type && strcasecmp(type, "bearer") != 0)
		err_set(e, ERR_PROTOCOL, "the token endpoint gave a token of type '%.32s', not Bearer",
			type);
	else if (oauth_jnum(o, "expires_in", 1, 10L * 365 * 86400, &expires) < 0)
		err_set(e, ERR_PROTOCOL, "the token endpoint's expires_in is not a number of seconds");
	else {
		t->access_token = xstrdup(access);
		t->refresh_token = refresh ? xstrdup(refresh) : NULL;
		t->expires_in = expires;
		r = 0;
	}
	jc.object_put(o);
	return r;
}

static void oauth_wipe_str(char **s)
{
	if (*s) {
		explicit_bzero(*s, strlen(*s));
		free(*s);
	}
	*s = NULL;
}

void oauth_token_free(struct oauth_token *t)
{
	oauth_wipe_str(&t->access_token);
	oauth_wipe_str(&t->refresh_token);
	t->expires_in = 0;
}

/* Copies a member that must fit; 0, or -1 when it is too long or not printable, or (need) absent
 * or empty. */
static int oauth_copy(struct json_object *o, const char *key, char *out, size_t size, int need)
{
	const char *s = oauth_jstr(o, key);

	out[0] = '\0';
	if (!s || (need && !*s))
		return need ? -1 : 0;
	if (strlen(s) >= size || (*s && !oauth_printable(s)))
		return -1;
	snprintf(out, size, "%s", s);
	return 0;
}

int oauth_parse_device(const char *json, size_t n, struct oauth_device *d, struct oauth_error *oe,
		       struct err *e)
{
	struct json_object *o;
	int r = -1;

	memset(oe, 0, sizeof *oe);
	if (oauth_json_load(e) < 0)
		return -1;
	o = oauth_json(json, n);
	if (!o)
		return err_set(e, ERR_PROTOCOL, "the device endpoint's answer is not a JSON object");
	if (oauth_error_of(o, oe)) {
		jc.object_put(o);
		return 1;
	}
	memset(d, 0, sizeof *d);
	d->expires_in = 600;
	d->interval = 5;
	if (oauth_copy(o, "device_code", d->device_code, sizeof d->device_code, 1) < 0 ||
	    oauth_copy(o, "user_code", d->user_code, sizeof d->user_code, 1) < 0)
		err_set(e, ERR_PROTOCOL, "the device endpoint's answer lacks a usable device_code "
			"or user_code");
	else if ((oauth_copy(o, "verification_uri", d->uri, sizeof d->uri, 1) < 0 &&
		  oauth_copy(o, "verification_url", d->uri, sizeof d->uri, 1) < 0) || !d->uri[0])
		err_set(e, ERR_PROTOCOL, "the device endpoint's answer lacks a usable "
			"verification_uri");
	else if (oauth_copy(o, "verification_uri_complete", d->uri_complete,
			    sizeof d->uri_complete, 0) < 0 ||
		 oauth_jnum(o, "expires_in", 1, 86400, &d->expires_in) < 0 ||
		 oauth_jnum(o, "interval", 0, 60, &d->interval) < 0)
		err_set(e, ERR_PROTOCOL, "the device endpoint's answer has a malformed "
			"verification_uri_complete, expires_in or interval");
	else
		r = 0;
	jc.object_put(o);
	return r;
}

int oauth_parse_key(const char *json, size_t n, struct oauth_key *k, struct err *e)
{
	struct json_object *o;
	const char *pk, *email, *kid, *uri;

	memset(k, 0, sizeof *k);
	if (oauth_json_load(e) < 0)
		return -1;
	o = oauth_json(json, n);
	if (!o)
		return err_set(e, ERR_CONFIG, "it is not a JSON object (a service account's key "
			       "file is)");
	pk = oauth_jstr(o, "private_key");
	email = oauth_jstr(o, "client_email");
	kid = oauth_jstr(o, "private_key_id");
	uri = oauth_jstr(o, "token_uri");
	if (!pk || !strstr(pk, "-----BEGIN") || !email || !oauth_printable(email) ||
	    (kid && *kid && !oauth_printable(kid)) || (uri && *uri && !oauth_printable(uri))) {
		jc.object_put(o);
		return err_set(e, ERR_CONFIG, "it lacks a PEM private_key or a client_email, or has "
			       "a malformed private_key_id or token_uri");
	}
	k->private_key = xstrdup(pk);
	k->client_email = xstrdup(email);
	k->private_key_id = xstrdup(kid ? kid : "");
	k->token_uri = xstrdup(uri ? uri : "");
	jc.object_put(o);
	return 0;
}

void oauth_key_free(struct oauth_key *k)
{
	oauth_wipe_str(&k->private_key);
	free(k->client_email);
	free(k->private_key_id);
	free(k->token_uri);
	memset(k, 0, sizeof *k);
}

/* ---- the store file ---- */

#define OAUTH_STORE_VERSION "postbote-oauth 1"

/* The store's keys; the first six are its strings, in oauth_store_str's order. */
static const char *const oauth_store_keys[] = {
	"user", "client_id", "refresh_token", "origin", "seed", "access_token", "stored", "expires",
};
#define OAUTH_KEY_STORED 6
#define OAUTH_KEY_EXPIRES 7

static int oauth_store_key(const char *key, size_t n)
{
	for (size_t i = 0; i < sizeof oauth_store_keys / sizeof oauth_store_keys[0]; i++)
		if (strlen(oauth_store_keys[i]) == n && memcmp(key, oauth_store_keys[i], n) == 0)
			return (int)i;
	return -1;
}

static char **oauth_store_str(struct oauth_store *s, int k)
{
	char **fields[] = { &s->user, &s->client_id, &s->refresh_token, &s->origin, &s->seed,
			    &s->access_token };

	return k >= 0 && k < OAUTH_KEY_STORED ? fields[k] : NULL;
}

static int oauth_store_time(const char *v, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(v, &end, 10);
	return errno || end == v || *end || *out < 0 ? -1 : 0;
}

/* Checks one value for key k. */
static int oauth_store_value_ok(int k, const char *value, size_t vn)
{
	for (size_t i = 0; i < vn; i++)
		if (value[i] < ' ' || value[i] > '~')
			return 0;
	if (k == 5)	/* access_token */
		return oauth_b64token(value) && vn <= CRED_SECRET_MAX;
	if (k == 2)	/* refresh_token */
		return oauth_printable(value) && vn <= OAUTH_REFRESH_MAX;
	return 1;
}

/* One "KEY VALUE" line (without its newline) into s; seen: the keys had so far. */
static int oauth_store_line(struct oauth_store *s, const char *line, size_t n, unsigned *seen)
{
	const char *sp = memchr(line, ' ', n);
	char value[(OAUTH_REFRESH_MAX > CRED_SECRET_MAX ? OAUTH_REFRESH_MAX : CRED_SECRET_MAX) + 1];
	size_t kn, vn;
	int k, r = 0;

	if (!sp)
		return -1;
	kn = (size_t)(sp - line);
	vn = n - kn - 1;
	k = oauth_store_key(line, kn);
	if (k < 0)
		return 0;	/* a key of a newer postbote */
	if (vn >= sizeof value || (*seen & (1u << k)))
		return -1;
	*seen |= 1u << k;
	memcpy(value, sp + 1, vn);
	value[vn] = '\0';
	if (!oauth_store_value_ok(k, value, vn))
		r = -1;
	else if (k == OAUTH_KEY_STORED)
		r = oauth_store_time(value, &s->stored);
	else if (k == OAUTH_KEY_EXPIRES)
		r = oauth_store_time(value, &s->expires);
	else
		*oauth_store_str(s, k) = xstrdup(value);
	explicit_bzero(value, vn);
	return r;
}

int oauth_store_parse(const char *text, size_t n, struct oauth_store *s, struct err *e)
{
	size_t vl = strlen(OAUTH_STORE_VERSION), pos;
	unsigned seen = 0;
	int ended = 0;

	memset(s, 0, sizeof *s);
	if (n > OAUTH_STORE_MAX || n < vl + 1 || memcmp(text, OAUTH_STORE_VERSION "\n", vl + 1))
		return err_set(e, ERR_DATA, "not a token store of this version");
	for (pos = vl + 1; pos < n;) {
		const char *nl = memchr(text + pos, '\n', n - pos);
		size_t len;

		if (!nl || ended)
			goto bad;	/* a last line without its newline, or lines after end */
		len = (size_t)(nl - (text + pos));
		if (len == 3 && memcmp(text + pos, "end", 3) == 0)
			ended = 1;
		else if (oauth_store_line(s, text + pos, len, &seen) < 0)
			goto bad;
		pos += len + 1;
	}
	if (ended)
		return 0;
bad:
	oauth_store_free(s);
	return err_set(e, ERR_DATA, "a malformed or cut-short token store");
}

/* " VALUE" that the parser takes back: printable, no newline. */
static int oauth_store_put(struct buf *b, const char *key, const char *v)
{
	if (!v)
		return 0;
	for (const char *p = v; *p; p++)
		if (*p < ' ' || *p > '~')
			return -1;
	return buf_printf(b, "%s %s\n", key, v);
}

int oauth_store_format(const struct oauth_store *s, struct buf *out, struct err *e)
{
	if (buf_addstr(out, OAUTH_STORE_VERSION "\n") < 0 ||
	    oauth_store_put(out, "user", s->user) < 0 ||
	    oauth_store_put(out, "client_id", s->client_id) < 0 ||
	    oauth_store_put(out, "refresh_token", s->refresh_token) < 0 ||
	    oauth_store_put(out, "origin", s->origin) < 0 ||
	    oauth_store_put(out, "seed", s->seed) < 0 ||
	    (s->refresh_token && buf_printf(out, "stored %lld\n", s->stored) < 0) ||
	    oauth_store_put(out, "access_token", s->access_token) < 0 ||
	    (s->access_token && buf_printf(out, "expires %lld\n", s->expires) < 0) ||
	    buf_addstr(out, "end\n") < 0) {
		explicit_bzero(out->data, out->len);
		buf_setlen(out, 0);
		return err_set(e, ERR_DATA, "a value of the token store is too long or has a "
			       "control character");
	}
	return 0;
}

void oauth_store_free(struct oauth_store *s)
{
	oauth_wipe_str(&s->refresh_token);
	oauth_wipe_str(&s->access_token);
	free(s->user);
	free(s->client_id);
	free(s->origin);
	free(s->seed);
	memset(s, 0, sizeof *s);
}

/* ---- encodings, JWT, PKCE ---- */

int oauth_b64url(struct buf *b, const void *p, size_t n)
{
	size_t start = b->len;

	if (buf_add_base64(b, p, n) < 0)
		return -1;
	for (size_t i = start; i < b->len; i++)
		b->data[i] = b->data[i] == '+' ? '-' : b->data[i] == '/' ? '_' : b->data[i];
	while (b->len > start && b->data[b->len - 1] == '=')
		buf_setlen(b, b->len - 1);
	return 0;
}

static int oauth_pct(struct buf *b, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int r = isalnum(*p) || strchr("-._~", *p) ? buf_addch(b, (char)*p)
							   : buf_printf(b, "%%%02X", *p);
		if (r < 0)
			return -1;
	}
	return 0;
}

int oauth_form_add(struct buf *b, const char *key, const char *value)
{
	if ((b->len && buf_addch(b, '&') < 0) || oauth_pct(b, key) < 0 || buf_addch(b, '=') < 0)
		return -1;
	return oauth_pct(b, value);
}

/* One JSON object's text, base64url-encoded, into out. */
static int oauth_jwt_part(struct json_object *o, struct buf *out)
{
	const char *text = jc.object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							     JSON_C_TO_STRING_NOSLASHESCAPE);

	return oauth_b64url(out, text, strlen(text));
}

int oauth_jwt_input(const char *kid, const char *iss, const char *sub, const char *aud,
		    const char *scope, long long now, struct buf *out, struct err *e)
{
	struct json_object *h, *c;
	int r;

	if (oauth_json_load(e) < 0)
		return -1;
	h = jc.object_new_object();
	c = jc.object_new_object();
	if (!h || !c)
		err_oom();
	jc.object_object_add(h, "alg", jc.object_new_string("RS256"));
	jc.object_object_add(h, "typ", jc.object_new_string("JWT"));
	if (kid && *kid)
		jc.object_object_add(h, "kid", jc.object_new_string(kid));
	jc.object_object_add(c, "iss", jc.object_new_string(iss));
	if (sub && *sub)
		jc.object_object_add(c, "sub", jc.object_new_string(sub));
	jc.object_object_add(c, "scope", jc.object_new_string(scope));
	jc.object_object_add(c, "aud", jc.object_new_string(aud));
	jc.object_object_add(c, "iat", jc.object_new_int64(now));
	jc.object_object_add(c, "exp", jc.object_new_int64(now + 3600));
	r = oauth_jwt_part(h, out) < 0 || buf_addch(out, '.') < 0 || oauth_jwt_part(c, out) < 0
		    ? err_set(e, ERR_CONFIG, "the JWT for the token endpoint is too long")
		    : 0;
	jc.object_put(h);
	jc.object_put(c);
	return r;
}

int oauth_pkce_challenge(const char *verifier, char *out, size_t size)
{
	unsigned char digest[32];
	struct buf b;

	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, verifier, strlen(verifier), digest) < 0)
		return -1;
	buf_init(&b, 64);
	if (oauth_b64url(&b, digest, sizeof digest) < 0 || b.len >= size) {
		buf_free(&b);
		return -1;
	}
	snprintf(out, size, "%s", b.data);
	buf_free(&b);
	return 0;
}

void oauth_sha256_hex(const char *s, char *out)
{
	unsigned char digest[32];

	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, s, strlen(s), digest) < 0)
		abort();	/* SHA-256 is always there; failing it is a broken library */
	for (size_t i = 0; i < sizeof digest; i++)
		snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

/* ---- the loopback redirect ---- */

static int oauth_hex(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
		: c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Percent-decodes p[0..n) ('+' is a blank) into out; -1 when it does not fit or is malformed,
 * or decodes to a control character. */
static int oauth_unpct(const char *p, size_t n, char *out, size_t size)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)p[i];

		if (c == '%') {
			if (i + 2 >= n || oauth_hex(p[i + 1]) < 0 || oauth_hex(p[i + 2]) < 0)
				return -1;
			c = oauth_hex(p[i + 1]) * 16 + oauth_hex(p[i + 2]);
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (c < ' ' || c == 0x7f || k + 1 >= size)
			return -1;
		out[k++] = (char)c;
	}
	out[k] = '\0';
	return 0;
}

int oauth_parse_redirect(const char *req, size_t n, const char *path, struct oauth_redirect *r)
{
	const char *end = memchr(req, '\n', n), *target, *sp, *q;
	size_t pl = strlen(path);

	memset(r, 0, sizeof *r);
	if (!end)
		end = req + n;
	if (end > req && end[-1] == '\r')
		end--;
	if ((size_t)(end - req) < 4 || memcmp(req, "GET ", 4) != 0)
		return memchr(req, ' ', (size_t)(end - req)) ? 0 : -1;	/* another method */
	target = req + 4;
	sp = memchr(target, ' ', (size_t)(end - target));
	if (!sp || (size_t)(end - sp) != 9 || memcmp(sp, " HTTP/1.", 8) != 0)
		return -1;
	if ((size_t)(sp - target) < pl || memcmp(target, path, pl) != 0 ||
	    (target + pl < sp && target[pl] != '?'))
		return 0;
	for (q = target + pl + (target + pl < sp); q < sp;) {
		const char *amp = memchr(q, '&', (size_t)(sp - q)), *eq;
		size_t len = (size_t)((amp ? amp : sp) - q);
		char *dst = NULL;
		size_t size = 0;

		eq = memchr(q, '=', len);
		if (eq) {
			size_t kn = (size_t)(eq - q);

			if (kn == 4 && !memcmp(q, "code", 4))
				dst = r->code, size = sizeof r->code;
			else if (kn == 5 && !memcmp(q, "state", 5))
				dst = r->state, size = sizeof r->state;
			else if (kn == 5 && !memcmp(q, "error", 5))
				dst = r->error, size = sizeof r->error;
			if (dst && oauth_unpct(eq + 1, len - kn - 1, dst, size) < 0)
				return -1;
		}
		q += len + (amp != NULL);
	}
	return r->code[0] || r->error[0] ? 1 : 0;
}
