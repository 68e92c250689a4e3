/* sasl: mechanism choice and the client side of each mechanism: PLAIN, LOGIN and the OAuth 2.0
 * bearer-token ones (XOAUTH2 as Google and Microsoft define it, OAUTHBEARER of RFC 7628) here,
 * the others in GNU SASL, loaded only for them. */
#include <gsasl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dl.h"
#include "sasl.h"
#include "tls.h"
#include "caps.h"

#define SASL_SCRAM_ITER_MAX 10000000	/* a server asking for more is stalling us */

enum sasl_own { SASL_GSASL, SASL_PLAIN, SASL_LOGIN, SASL_XOAUTH2, SASL_OAUTHBEARER };

struct sasl {
	enum sasl_own own;
	Gsasl *ctx;
	Gsasl_session *session;
	const char *user, *secret;	/* the password, or XOAUTH2's and OAUTHBEARER's token */
	const struct sasl_peer *peer;
	int step;
	char server_error[320];
};

/* `clear`: reveals the password (or token) to anyone reading the connection. `cb`: needs TLS
 * channel binding. `auto_ok`: may be picked by auth = on, strongest first. */
static const struct {
	const char *name;
	int clear, cb, auto_ok;
	enum sasl_own own;
} sasl_mechs[] = {
	{ "SCRAM-SHA-256-PLUS", 0, 1, 1, SASL_GSASL },
	{ "SCRAM-SHA-1-PLUS", 0, 1, 1, SASL_GSASL },
	{ "SCRAM-SHA-256", 0, 0, 1, SASL_GSASL },
	{ "SCRAM-SHA-1", 0, 0, 1, SASL_GSASL },
	{ "PLAIN", 1, 0, 1, SASL_PLAIN },
	{ "CRAM-MD5", 0, 0, 1, SASL_GSASL },
	{ "LOGIN", 1, 0, 1, SASL_LOGIN },
	{ "EXTERNAL", 0, 0, 0, SASL_GSASL },
	{ "GSSAPI", 0, 0, 0, SASL_GSASL },
	{ "XOAUTH2", 1, 0, 0, SASL_XOAUTH2 },
	{ "OAUTHBEARER", 1, 0, 0, SASL_OAUTHBEARER },
};
#define SASL_NMECHS (sizeof sasl_mechs / sizeof sasl_mechs[0])

/* GNU SASL, loaded the first time one of its mechanisms is used or asked about, as oauth.c loads
 * libcurl: linked, it and what it brings (libidn, libntlm, libgssglue) were relocated at every
 * start, 0.4 million instructions (callgrind), a twentieth of a whole submission with AUTH
 * PLAIN, which needs none of them. gsasl.h still gives the types and constants; __typeof__
 * gives each pointer the type of the function that the header declares. */
static struct {
	__typeof__(gsasl_init) *init;
	__typeof__(gsasl_done) *done;
	__typeof__(gsasl_client_support_p) *client_support_p;
	__typeof__(gsasl_callback_set) *callback_set;
	__typeof__(gsasl_client_start) *client_start;
	__typeof__(gsasl_finish) *finish;
	__typeof__(gsasl_property_set) *property_set;
	__typeof__(gsasl_property_fast) *property_fast;
	__typeof__(gsasl_mechanism_name) *mechanism_name;
	__typeof__(gsasl_step64) *step64;
	__typeof__(gsasl_strerror) *strerror;
	__typeof__(gsasl_saslprep) *saslprep;
	__typeof__(gsasl_free) *free;
} sasl_gs;

/* mech: what needs it, for the error. */
static int sasl_gsasl_load(const char *mech, struct err *e)
{
	static const struct dl_sym syms[] = {
		{ "gsasl_init", &sasl_gs.init },
		{ "gsasl_done", &sasl_gs.done },
		{ "gsasl_client_support_p", &sasl_gs.client_support_p },
		{ "gsasl_callback_set", &sasl_gs.callback_set },
		{ "gsasl_client_start", &sasl_gs.client_start },
		{ "gsasl_finish", &sasl_gs.finish },
		{ "gsasl_property_set", &sasl_gs.property_set },
		{ "gsasl_property_fast", &sasl_gs.property_fast },
		{ "gsasl_mechanism_name", &sasl_gs.mechanism_name },
		{ "gsasl_step64", &sasl_gs.step64 },
		{ "gsasl_strerror", &sasl_gs.strerror },
		{ "gsasl_saslprep", &sasl_gs.saslprep },
		{ "gsasl_free", &sasl_gs.free },
	};
	static int loaded;

	if (!loaded && dl_load(SASL_GSASL_SONAME, syms, sizeof syms / sizeof syms[0], mech,
			       "GNU SASL", "libgsasl18", e) < 0)
		return -1;
	loaded = 1;
	return 0;
}

/* Its row, or NULL for a name only GNU SASL may know (DIGEST-MD5, NTLM, ...). */
static int sasl_find(const char *name)
{
	for (size_t i = 0; i < SASL_NMECHS; i++)
		if (strcmp(sasl_mechs[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int sasl_offered(const char *offered, const char *name)
{
	size_t k = strlen(name);

	for (const char *p = offered; (p = strstr(p, name)); p += k)
		if ((p == offered || p[-1] == ' ') && (p[k] == ' ' || p[k] == '\0'))
			return 1;
	return 0;
}

static int sasl_bearer(enum sasl_own own)
{
	return own == SASL_XOAUTH2 || own == SASL_OAUTHBEARER;
}

/* Whether this build can do it: 1 or 0, or -1 with e. Ours always; GNU SASL's when compiled into
 * it (GSSAPI may not be), which only GNU SASL can say: it is loaded and *ctx started for that
 * the first time, and only then. */
static int sasl_supported(Gsasl **ctx, const char *name, struct err *e)
{
	int i = sasl_find(name);

	if (i >= 0 && sasl_mechs[i].own != SASL_GSASL)
		return 1;
	if (!*ctx) {
		if (sasl_gsasl_load(name, e) < 0)
			return -1;
		if (sasl_gs.init(ctx) != GSASL_OK) {
			*ctx = NULL;
			return err_set(e, ERR_SOFTWARE, "GNU SASL failed to start");
		}
	}
	return sasl_gs.client_support_p(*ctx, name) != 0;
}

static int sasl_choose_named(Gsasl **ctx, const char *offered, const char *want,
			     const struct sasl_peer *p, int plaintext_ok, struct err *e)
{
	int i = sasl_find(want), r = sasl_supported(ctx, want, e);

	if (r < 0)
		return -1;
	if (r == 0)
		return err_set(e, ERR_CONFIG, "authentication mechanism %s is not supported by "
			       "this build of GNU SASL", want);
	if (!sasl_offered(offered, want))
		return err_set(e, ERR_AUTH, "no usable authentication mechanism: the server does "
			       "not offer %s (it offers: %s)", want, *offered ? offered : "none");
	if (i >= 0 && sasl_mechs[i].cb && !p->cb_type)
		return err_set(e, ERR_AUTH, "%s needs TLS channel binding, which this connection "
			       "does not provide (%s)", want,
			       p->tls ? "TLS 1.2 without the extended master secret" : "no TLS");
	if (i >= 0 && sasl_mechs[i].clear && !p->tls && !plaintext_ok)
		return err_set(e, ERR_AUTH, "refusing to send the %s with %s over a connection "
			       "without TLS",
			       sasl_bearer(sasl_mechs[i].own) ? "token" : "password", want);
	return 0;
}

int sasl_choose(const char *offered, const char *want, const struct sasl_peer *p,
		int plaintext_ok, char *out, size_t size, struct err *e)
{
	Gsasl *ctx = NULL;
	int found = 0, r = 0;

	if (want && strcmp(want, "on") != 0) {
		found = sasl_choose_named(&ctx, offered, want, p, plaintext_ok, e) == 0;
		if (found)
			snprintf(out, size, "%s", want);
	} else {
		for (size_t i = 0; i < SASL_NMECHS && !found && r >= 0; i++) {
			if (!sasl_mechs[i].auto_ok || !sasl_offered(offered, sasl_mechs[i].name) ||
			    (sasl_mechs[i].cb && !p->cb_type) ||
			    (sasl_mechs[i].clear && !p->tls && !plaintext_ok))
				continue;
			/* asked last: for a mechanism of GNU SASL's, asking loads it */
			if ((r = sasl_supported(&ctx, sasl_mechs[i].name, e)) <= 0)
				continue;
			snprintf(out, size, "%s", sasl_mechs[i].name);
			found = 1;
		}
		if (!found && r >= 0)
			err_set(e, ERR_AUTH, "no usable authentication mechanism: the server "
				"offers %s", *offered ? offered : "none");
	}
	if (ctx)
		sasl_gs.done(ctx);
	return found ? 0 : -1;
}

int sasl_no_password(const char *mech)
{
	return strcmp(mech, "EXTERNAL") == 0 || strcmp(mech, "GSSAPI") == 0 ||
	       strcmp(mech, "GS2-KRB5") == 0;
}

int sasl_client_first(const char *mech)
{
	return strcmp(mech, "LOGIN") != 0 && strcmp(mech, "CRAM-MD5") != 0 &&
	       strcmp(mech, "DIGEST-MD5") != 0;
}

static void sasl_prop(Gsasl_session *session, Gsasl_property prop, const char *v)
{
	if (v && sasl_gs.property_set(session, prop, v) != GSASL_OK)
		err_oom();
}

/* GNU SASL asks for SCRAM's SaltedPassword once the server's salt and iteration count are in:
 * the same PBKDF2, through GnuTLS, whose SHA code uses the CPU's SHA instructions where GNU
 * SASL's own does not; it is nearly all of SCRAM's CPU time. Anything unexpected leaves the
 * work to GNU SASL (GSASL_NO_CALLBACK). */
static int sasl_callback(Gsasl *ctx, Gsasl_session *sctx, Gsasl_property prop)
{
	const char *mech = sasl_gs.mechanism_name(sctx), *pw, *salt64, *iter;
	char *prep = NULL, *salt = NULL, *end, hex[65];
	unsigned char dk[32];
	size_t saltlen = 0, n;
	unsigned long iterations;
	int sha256, r;

	(void)ctx;
	if (prop != GSASL_SCRAM_SALTED_PASSWORD || !mech || strncmp(mech, "SCRAM-SHA-", 10) != 0)
		return GSASL_NO_CALLBACK;
	sha256 = strncmp(mech, "SCRAM-SHA-256", 13) == 0;
	n = sha256 ? 32 : 20;
	pw = sasl_gs.property_fast(sctx, GSASL_PASSWORD);
	salt64 = sasl_gs.property_fast(sctx, GSASL_SCRAM_SALT);
	iter = sasl_gs.property_fast(sctx, GSASL_SCRAM_ITER);
	if (!pw || !salt64 || !iter)
		return GSASL_NO_CALLBACK;
	iterations = strtoul(iter, &end, 10);
	if (*end || !iterations || iterations > SASL_SCRAM_ITER_MAX ||
	    sasl_gs.saslprep(pw, GSASL_ALLOW_UNASSIGNED, &prep, NULL) != GSASL_OK)
		return GSASL_NO_CALLBACK;
	r = tls_base64_decode(salt64, &salt, &saltlen) == 0 &&
	    tls_pbkdf2(sha256, prep, strlen(prep), salt, saltlen, (unsigned)iterations, dk) == 0;
	explicit_bzero(prep, strlen(prep));
	sasl_gs.free(prep);
	free(salt);
	if (!r)
		return GSASL_NO_CALLBACK;
	for (size_t i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", dk[i]);
	r = sasl_gs.property_set(sctx, GSASL_SCRAM_SALTED_PASSWORD, hex);
	explicit_bzero(dk, sizeof dk);
	explicit_bzero(hex, sizeof hex);
	return r == GSASL_OK ? GSASL_OK : GSASL_NO_CALLBACK;
}

static int sasl_start_gsasl(struct sasl *s, const char *mech, const char *password,
			    struct err *e)
{
	int r;

	if (sasl_gsasl_load(mech, e) < 0)
		return -1;
	if ((r = sasl_gs.init(&s->ctx)) != GSASL_OK) {
		s->ctx = NULL;
		return err_set(e, ERR_SOFTWARE, "GNU SASL: %s", sasl_gs.strerror(r));
	}
	sasl_gs.callback_set(s->ctx, sasl_callback);
	if ((r = sasl_gs.client_start(s->ctx, mech, &s->session)) != GSASL_OK) {
		s->session = NULL;
		return err_set(e, ERR_AUTH, "cannot start %s: %s", mech, sasl_gs.strerror(r));
	}
	/* without a password the identity comes from elsewhere (certificate, ticket); the user
	 * name then asks to act as that user */
	sasl_prop(s->session, sasl_no_password(mech) ? GSASL_AUTHZID : GSASL_AUTHID, s->user);
	sasl_prop(s->session, GSASL_PASSWORD, password);
	sasl_prop(s->session, GSASL_SERVICE, "smtp");
	sasl_prop(s->session, GSASL_HOSTNAME, s->peer->host);
	if (strstr(mech, "-PLUS")) {
		/* GNU SASL takes tls-exporter when both are set; set only the one we have */
		if (!s->peer->cb_type || !s->peer->cb_data)
			return err_set(e, ERR_AUTH, "%s needs TLS channel binding, which this "
				       "connection does not provide", mech);
		sasl_prop(s->session, strcmp(s->peer->cb_type, "tls-exporter") == 0
					      ? GSASL_CB_TLS_EXPORTER : GSASL_CB_TLS_UNIQUE,
			  s->peer->cb_data);
	}
	return 0;
}

/* RFC 6750 b64token: the characters a bearer token may have, which keeps the ^A separators of
 * both messages unambiguous. */
static int sasl_token_ok(const char *t)
{
	size_t n = strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			     "0123456789-._~+/");

	return n > 0 && strspn(t + n, "=") == strlen(t + n);
}

struct sasl *sasl_start(const char *mech, const char *user, const char *password,
			const struct sasl_peer *p, struct err *e)
{
	struct sasl *s = calloc(1, sizeof *s);
	int i = sasl_find(mech);

	if (!s)
		err_oom();
	s->user = user;
	s->peer = p;
	s->own = i >= 0 ? sasl_mechs[i].own : SASL_GSASL;
	if (s->own == SASL_GSASL) {
		if (sasl_start_gsasl(s, mech, password, e) < 0)
			goto fail;
		return s;
	}
	s->secret = password;
	if (!sasl_bearer(s->own))
		return s;	/* a missing user or password is an error at the first step */
	if (!password || !sasl_token_ok(password)) {
		err_set(e, ERR_AUTH, "%s needs an OAuth 2.0 access token as the password (or from "
			"passwordeval), and %s", mech, password ? "this is not one: a token has "
			"only letters, digits and -._~+/ (and = at the end)" : "there is none");
		goto fail;
	}
	if (user && strchr(user, '\001')) {
		err_set(e, ERR_AUTH, "the user name has a control character");
		goto fail;
	}
	return s;
fail:
	sasl_free(s);
	return NULL;
}

void sasl_free(struct sasl *s)
{
	if (!s)
		return;
	if (s->session)
		sasl_gs.finish(s->session);
	if (s->ctx)
		sasl_gs.done(s->ctx);
	free(s);
}

/* RFC 5801 saslname: ',' and '=' cannot appear in the GS2 header as they are. */
static int sasl_add_saslname(struct buf *b, const char *name)
{
	for (const char *p = name; *p; p++) {
		int r = *p == ',' ? buf_addstr(b, "=2C")
			: *p == '=' ? buf_addstr(b, "=3D")
				    : buf_addch(b, *p);
		if (r < 0)
			return -1;
	}
	return 0;
}

/* The one message of XOAUTH2 or OAUTHBEARER, base64-encoded, malloc'd. */
static int sasl_oauth_message(struct sasl *s, char **out, struct err *e)
{
	struct buf msg, b64;
	int r;

	buf_init(&msg, SASL_MSG_MAX);
	if (s->own == SASL_XOAUTH2) {
		r = buf_printf(&msg, "user=%s\001auth=Bearer %s\001\001", s->user ? s->user : "",
			       s->secret);
	} else {
		r = buf_addstr(&msg, "n,");
		if (r == 0 && s->user && *s->user)
			r = buf_addstr(&msg, "a=") < 0 || sasl_add_saslname(&msg, s->user) < 0
				    ? -1 : 0;
		if (r == 0)
			r = buf_printf(&msg, ",\001host=%s\001port=%d\001auth=Bearer %s\001\001",
				       s->peer->host ? s->peer->host : "", s->peer->port,
				       s->secret);
	}
	buf_init(&b64, SASL_MSG_MAX * 4 / 3 + 4);
	if (r == 0)
		r = buf_add_base64(&b64, msg.data, msg.len);
	explicit_bzero(msg.data, msg.len);
	buf_free(&msg);
	if (r < 0) {
		buf_free(&b64);
		return err_set(e, ERR_AUTH, "the OAuth token is too long");
	}
	*out = xstrdup(b64.data);
	explicit_bzero(b64.data, b64.len);
	buf_free(&b64);
	return 0;
}

static int sasl_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int sasl_json_status(const char *json, size_t n, char *out, size_t size)
{
	const char *end = json + n;

	for (const char *p = json; p + 8 <= end; p++) {
		const char *v;
		size_t len = 0;

		if (memcmp(p, "\"status\"", 8) != 0)
			continue;
		for (v = p + 8; v < end && sasl_json_space(*v); v++)
			;
		if (v == end || *v != ':')
			continue;
		for (v++; v < end && sasl_json_space(*v); v++)
			;
		if (v < end && *v == '"') {
			const char *q = ++v;

			while (q < end && *q != '"')
				q += *q == '\\' && q + 1 < end ? 2 : 1;
			len = (size_t)(q - v);
		} else {
			while (v + len < end && ((v[len] >= '0' && v[len] <= '9') || v[len] == '-'))
				len++;
		}
		if (len == 0)
			continue;
		buf_clean_str(out, size, v, len);
		return 0;
	}
	return -1;
}

/* An OAuth server that refuses the token says why in a 334 challenge (JSON); the exchange must
 * still be finished with a dummy response, after which the server sends its 5xx. */
static int sasl_oauth_error(struct sasl *s, const char *in, char **out, struct err *e)
{
	char *json = NULL, status[64] = "", text[200];
	size_t n = 0;

	if (s->step > 1)
		return err_set(e, ERR_AUTH, "%s", s->server_error[0] ? s->server_error
				       : "the server sent an unexpected challenge");
	s->step = 2;
	if (tls_base64_decode(in, &json, &n) < 0) {
		snprintf(s->server_error, sizeof s->server_error, "the server rejected the token "
			 "(its error challenge is not base64)");
	} else {
		if (sasl_json_status(json, n, status, sizeof status) < 0)
			snprintf(status, sizeof status, "unknown");
		buf_clean_str(text, sizeof text, json, n);
		snprintf(s->server_error, sizeof s->server_error, "the server rejected the token: "
			 "status %s: %s", status, text);
	}
	free(json);
	*out = xstrdup(s->own == SASL_XOAUTH2 ? "" : "AQ==");	/* nothing, or one ^A */
	return 1;
}

/* PLAIN and LOGIN send what GNU SASL's did (plain/client.c and login/client.c of GNU SASL 2.2),
 * so that no server sees a change: PLAIN an empty authorization identity, then the user and the
 * password as they are (no SASLprep), and the same again for any further challenge; LOGIN the
 * user, then the password, whatever the two challenges say. A challenge that is not base64 and
 * a third one for LOGIN are errors, in GNU SASL's words, as before. */
static int sasl_password_step(struct sasl *s, const char *in, char **out, struct err *e)
{
	int login = s->own == SASL_LOGIN;
	struct buf b64;
	char *msg = NULL;
	size_t n;

	if (in) {
		if (tls_base64_decode(in, &msg, &n) < 0)
			return err_set(e, ERR_AUTH, "Base 64 coding error in SASL library");
		free(msg);	/* neither mechanism reads what the server says */
		msg = NULL;
	}
	if (login && s->step > 1)
		return err_set(e, ERR_AUTH, "SASL mechanism called too many times");
	if ((!login || s->step == 0) && !s->user)
		return err_set(e, ERR_AUTH, "Authentication failed because the authentication "
			       "identity was not provided.");
	if ((!login || s->step == 1) && !s->secret)
		return err_set(e, ERR_AUTH, "Authentication failed because the password was not "
			       "provided.");
	if (login) {
		n = strlen(s->step == 0 ? s->user : s->secret);
	} else {
		size_t u = strlen(s->user), p = strlen(s->secret);

		n = u + p + 2;	/* both capped before they got here (conf, cred) */
		msg = xmalloc(n);
		msg[0] = '\0';
		memcpy(msg + 1, s->user, u);
		msg[1 + u] = '\0';
		memcpy(msg + 2 + u, s->secret, p);
	}
	buf_init(&b64, (n + 2) / 3 * 4);
	if (buf_add_base64(&b64, msg ? msg : s->step == 0 ? s->user : s->secret, n) < 0)
		buf_broken(__FILE__, __LINE__);
	if (msg) {
		explicit_bzero(msg, n);
		free(msg);
	}
	*out = buf_detach(&b64, NULL);	/* the caller wipes it */
	if (!login)
		return 0;
	return s->step++ == 0 ? 1 : 0;
}

int sasl_step(struct sasl *s, const char *in, char **out, struct err *e)
{
	int r;

	*out = NULL;
	if (s->own == SASL_PLAIN || s->own == SASL_LOGIN)
		return sasl_password_step(s, in, out, e);
	if (s->own != SASL_GSASL) {
		if (s->step == 0) {
			s->step = 1;
			return sasl_oauth_message(s, out, e) < 0 ? -1 : 0;
		}
		return sasl_oauth_error(s, in ? in : "", out, e) < 0 ? -1 : 1;
	}
	r = sasl_gs.step64(s->session, in ? in : "", out);
	if (r == GSASL_OK)
		return 0;
	if (r == GSASL_NEEDS_MORE)
		return 1;
	*out = NULL;
	return err_set(e, ERR_AUTH, "%s", sasl_gs.strerror(r));
}

const char *sasl_server_error(const struct sasl *s)
{
	return s->server_error;
}
