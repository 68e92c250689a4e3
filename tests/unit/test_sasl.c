/* test_sasl: mechanism choice (sasl_choose over offered lists, auth = on or a name, TLS, channel
 * binding, auth_plaintext), that GNU SASL stays unloaded when none of its mechanisms is needed,
 * the per-mechanism flags, the PLAIN and LOGIN exchanges (byte for byte, and against GNU SASL's
 * own for the same input), the XOAUTH2 and OAUTHBEARER messages (the examples of Google's
 * XOAUTH2 page and RFC 7628, decoded and compared byte for byte), the OAuth error exchange and
 * the JSON status scanner. Nothing here links GNU SASL: where the test asks it itself, it loads
 * it as sasl.c does. */
#include <dlfcn.h>
#include <gsasl.h>

#include "sasl.h"
#include "tls.h"
#include "unit.h"

#define CB "tls-exporter"
#define OK ERR_NONE, NULL	/* the end of a row that expects success */

struct choose_row {
	const char *offered, *want;
	int tls;
	const char *cb_type;	/* NULL: no channel binding */
	int plaintext_ok;
	const char *chosen;	/* NULL when an error is expected */
	enum err_kind kind;
	const char *error;
};

static const struct choose_row choose_rows[] = {
	/* auth = on (want NULL or "on"): the strongest that the connection allows */
	{ "PLAIN LOGIN SCRAM-SHA-256 SCRAM-SHA-256-PLUS", NULL, 1, CB, 0, "SCRAM-SHA-256-PLUS", OK },
	{ "PLAIN LOGIN SCRAM-SHA-256 SCRAM-SHA-256-PLUS", "on", 1, CB, 0, "SCRAM-SHA-256-PLUS", OK },
	{ "PLAIN LOGIN SCRAM-SHA-256 SCRAM-SHA-256-PLUS", NULL, 1, NULL, 0, "SCRAM-SHA-256", OK },
	{ "SCRAM-SHA-1 SCRAM-SHA-1-PLUS SCRAM-SHA-256", NULL, 1, CB, 0, "SCRAM-SHA-1-PLUS", OK },
	{ "SCRAM-SHA-1 SCRAM-SHA-256", NULL, 1, CB, 0, "SCRAM-SHA-256", OK },
	{ "CRAM-MD5 SCRAM-SHA-1 PLAIN", "on", 1, NULL, 0, "SCRAM-SHA-1", OK },
	{ "LOGIN PLAIN CRAM-MD5", NULL, 1, NULL, 0, "PLAIN", OK },
	{ "LOGIN CRAM-MD5", NULL, 1, NULL, 0, "CRAM-MD5", OK },
	{ "LOGIN", NULL, 1, NULL, 0, "LOGIN", OK },
	/* without TLS only what keeps the password hidden, unless auth_plaintext = allow */
	{ "PLAIN LOGIN CRAM-MD5", NULL, 0, NULL, 0, "CRAM-MD5", OK },
	{ "PLAIN LOGIN CRAM-MD5", NULL, 0, NULL, 1, "PLAIN", OK },
	{ "LOGIN", "on", 0, NULL, 1, "LOGIN", OK },
	{ "SCRAM-SHA-256 PLAIN", NULL, 0, NULL, 0, "SCRAM-SHA-256", OK },
	{ "PLAIN LOGIN", NULL, 0, NULL, 0, NULL, ERR_AUTH,
	  "no usable authentication mechanism: the server offers PLAIN LOGIN" },
	/* -PLUS only with channel binding */
	{ "SCRAM-SHA-256-PLUS SCRAM-SHA-1-PLUS", NULL, 1, NULL, 0, NULL, ERR_AUTH,
	  "no usable authentication mechanism: the server offers SCRAM-SHA-256-PLUS "
	  "SCRAM-SHA-1-PLUS" },
	/* named only, never picked by auth = on */
	{ "XOAUTH2 OAUTHBEARER EXTERNAL GSSAPI", NULL, 1, CB, 1, NULL, ERR_AUTH,
	  "no usable authentication mechanism: the server offers XOAUTH2 OAUTHBEARER EXTERNAL "
	  "GSSAPI" },
	{ "DIGEST-MD5 NTLM", "on", 1, NULL, 1, NULL, ERR_AUTH,
	  "no usable authentication mechanism: the server offers DIGEST-MD5 NTLM" },
	/* whole names only */
	{ "XPLAIN PLAINX SCRAM-SHA-256-PLUSX", NULL, 1, CB, 1, NULL, ERR_AUTH,
	  "no usable authentication mechanism: the server offers XPLAIN PLAINX "
	  "SCRAM-SHA-256-PLUSX" },
	{ "", NULL, 1, CB, 1, NULL, ERR_AUTH,
	  "no usable authentication mechanism: the server offers none" },

	/* a named mechanism */
	{ "PLAIN LOGIN", "PLAIN", 1, NULL, 0, "PLAIN", OK },
	{ "SCRAM-SHA-256 PLAIN LOGIN", "LOGIN", 1, CB, 0, "LOGIN", OK },
	{ "PLAIN", "PLAIN", 0, NULL, 1, "PLAIN", OK },
	{ "PLAIN", "PLAIN", 0, NULL, 0, NULL, ERR_AUTH,
	  "refusing to send the password with PLAIN over a connection without TLS" },
	{ "LOGIN", "LOGIN", 0, NULL, 0, NULL, ERR_AUTH,
	  "refusing to send the password with LOGIN over a connection without TLS" },
	{ "CRAM-MD5", "CRAM-MD5", 0, NULL, 0, "CRAM-MD5", OK },
	{ "SCRAM-SHA-1", "SCRAM-SHA-1", 0, NULL, 0, "SCRAM-SHA-1", OK },
	{ "PLAIN", "LOGIN", 1, NULL, 0, NULL, ERR_AUTH,
	  "no usable authentication mechanism: the server does not offer LOGIN (it offers: "
	  "PLAIN)" },
	{ "", "SCRAM-SHA-256", 1, NULL, 0, NULL, ERR_AUTH,
	  "no usable authentication mechanism: the server does not offer SCRAM-SHA-256 (it "
	  "offers: none)" },
	/* not offered comes before not over TLS */
	{ "LOGIN", "PLAIN", 0, NULL, 0, NULL, ERR_AUTH,
	  "no usable authentication mechanism: the server does not offer PLAIN (it offers: "
	  "LOGIN)" },
	{ "SCRAM-SHA-256-PLUS", "SCRAM-SHA-256-PLUS", 1, CB, 0, "SCRAM-SHA-256-PLUS", OK },
	{ "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1-PLUS", 1, "tls-unique", 0, "SCRAM-SHA-1-PLUS", OK },
	{ "SCRAM-SHA-256-PLUS", "SCRAM-SHA-256-PLUS", 1, NULL, 1, NULL, ERR_AUTH,
	  "SCRAM-SHA-256-PLUS needs TLS channel binding, which this connection does not provide "
	  "(TLS 1.2 without the extended master secret)" },
	{ "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1-PLUS", 0, NULL, 1, NULL, ERR_AUTH,
	  "SCRAM-SHA-1-PLUS needs TLS channel binding, which this connection does not provide "
	  "(no TLS)" },
	{ "XOAUTH2 PLAIN", "XOAUTH2", 1, NULL, 0, "XOAUTH2", OK },
	{ "XOAUTH2", "XOAUTH2", 0, NULL, 1, "XOAUTH2", OK },
	{ "XOAUTH2", "XOAUTH2", 0, NULL, 0, NULL, ERR_AUTH,
	  "refusing to send the token with XOAUTH2 over a connection without TLS" },
	{ "OAUTHBEARER", "OAUTHBEARER", 1, CB, 0, "OAUTHBEARER", OK },
	{ "OAUTHBEARER", "OAUTHBEARER", 0, NULL, 0, NULL, ERR_AUTH,
	  "refusing to send the token with OAUTHBEARER over a connection without TLS" },
	{ "PLAIN", "OAUTHBEARER", 1, NULL, 0, NULL, ERR_AUTH,
	  "no usable authentication mechanism: the server does not offer OAUTHBEARER (it "
	  "offers: PLAIN)" },
	/* EXTERNAL sends no secret: no TLS needed to choose it */
	{ "PLAIN EXTERNAL", "EXTERNAL", 0, NULL, 0, "EXTERNAL", OK },
	/* GNU SASL's own mechanisms that are not in our table may be named */
	{ "DIGEST-MD5", "DIGEST-MD5", 0, NULL, 0, "DIGEST-MD5", OK },
	/* unsupported comes before not offered */
	{ "FOO-BAR", "FOO-BAR", 1, CB, 1, NULL, ERR_CONFIG,
	  "authentication mechanism FOO-BAR is not supported by this build of GNU SASL" },
	{ "PLAIN", "FOO-BAR", 1, CB, 1, NULL, ERR_CONFIG,
	  "authentication mechanism FOO-BAR is not supported by this build of GNU SASL" },
};

static void run_choose(const struct choose_row *r)
{
	struct sasl_peer p = { .host = "smtp.example.org", .port = 587, .tls = r->tls,
			       .cb_type = r->cb_type, .cb_data = r->cb_type ? "Y2I=" : NULL };
	struct err e = { 0 };
	char out[64];
	int rc;

	strcpy(out, "untouched");
	rc = sasl_choose(r->offered, r->want, &p, r->plaintext_ok, out, sizeof out, &e);
	if (r->chosen) {
		CHECK_INT(rc, 0);
		CHECK_STR(out, r->chosen);
		CHECK_INT(e.kind, ERR_NONE);
	} else {
		CHECK_INT(rc, -1);
		CHECK_INT(e.kind, r->kind);
		CHECK_STR(e.text, r->error);
	}
}

static void test_choose(void)
{
	for (size_t i = 0; i < sizeof choose_rows / sizeof choose_rows[0]; i++) {
		const struct choose_row *r = &choose_rows[i];

		UNIT_CTX("choose row %zu: offered \"%s\", want %s, tls %d, cb %s, plaintext_ok %d", i,
			 r->offered, r->want ? r->want : "NULL", r->tls,
			 r->cb_type ? r->cb_type : "none", r->plaintext_ok);
		run_choose(r);
	}
	UNIT_CTX_CLEAR();
}

/* GNU SASL's functions that the test calls itself. */
struct test_gsasl {
	__typeof__(gsasl_init) *init;
	__typeof__(gsasl_done) *done;
	__typeof__(gsasl_client_support_p) *client_support_p;
	__typeof__(gsasl_client_start) *client_start;
	__typeof__(gsasl_finish) *finish;
	__typeof__(gsasl_property_set) *property_set;
	__typeof__(gsasl_step64) *step64;
	__typeof__(gsasl_strerror) *strerror;
	__typeof__(gsasl_free) *free;
};

/* Loaded the first time, or NULL (and a failed check). */
static struct test_gsasl *gsasl(void)
{
	static struct test_gsasl gs;
	static int loaded;
	void *lib;

	if (loaded)
		return &gs;
	lib = dlopen(SASL_GSASL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!CHECK(lib != NULL))
		return NULL;
	*(void **)&gs.init = dlsym(lib, "gsasl_init");
	*(void **)&gs.done = dlsym(lib, "gsasl_done");
	*(void **)&gs.client_support_p = dlsym(lib, "gsasl_client_support_p");
	*(void **)&gs.client_start = dlsym(lib, "gsasl_client_start");
	*(void **)&gs.finish = dlsym(lib, "gsasl_finish");
	*(void **)&gs.property_set = dlsym(lib, "gsasl_property_set");
	*(void **)&gs.step64 = dlsym(lib, "gsasl_step64");
	*(void **)&gs.strerror = dlsym(lib, "gsasl_strerror");
	*(void **)&gs.free = dlsym(lib, "gsasl_free");
	if (!CHECK(gs.init && gs.done && gs.client_support_p && gs.client_start && gs.finish &&
		   gs.property_set && gs.step64 && gs.strerror && gs.free))
		return NULL;
	loaded = 1;
	return &gs;
}

static int gsasl_loaded(void)
{
	void *lib = dlopen(SASL_GSASL_SONAME, RTLD_NOW | RTLD_NOLOAD);

	if (lib)
		dlclose(lib);	/* drops only the reference NOLOAD took */
	return lib != NULL;
}

/* Choosing and running PLAIN, LOGIN, XOAUTH2 and OAUTHBEARER leaves GNU SASL unloaded (and with
 * it libidn, libntlm and libgssglue): also auth = on when one of ours is the strongest offered
 * that the connection allows. Runs before any test that loads it. */
static void test_gsasl_unloaded(void)
{
	static const struct choose_row rows[] = {
		{ "PLAIN LOGIN", "PLAIN", 1, NULL, 0, "PLAIN", OK },
		{ "PLAIN LOGIN", "LOGIN", 1, NULL, 0, "LOGIN", OK },
		{ "XOAUTH2", "XOAUTH2", 1, NULL, 0, "XOAUTH2", OK },
		{ "OAUTHBEARER", "OAUTHBEARER", 1, NULL, 0, "OAUTHBEARER", OK },
		{ "LOGIN PLAIN CRAM-MD5 XOAUTH2", NULL, 1, NULL, 0, "PLAIN", OK },
		{ "CRAM-MD5 LOGIN", "on", 1, NULL, 0, "CRAM-MD5", OK },	/* loads it: last */
	};
	struct sasl_peer p = { .host = "smtp.example.org", .port = 587, .tls = 1 };
	static const char *const mechs[] = { "PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER" };

	UNIT_CTX("GNU SASL before any test");
	if (!CHECK(!gsasl_loaded()))
		return;
	for (size_t i = 0; i + 1 < sizeof rows / sizeof rows[0]; i++) {
		UNIT_CTX("choose %s from \"%s\": GNU SASL not loaded", rows[i].want ? rows[i].want
			 : "on", rows[i].offered);
		run_choose(&rows[i]);
		CHECK(!gsasl_loaded());
	}
	for (size_t i = 0; i < sizeof mechs / sizeof mechs[0]; i++) {
		struct err e = { 0 };
		struct sasl *s = sasl_start(mechs[i], "user", "t0ken", &p, &e);
		char *out = NULL;

		UNIT_CTX("%s exchange: GNU SASL not loaded", mechs[i]);
		if (!CHECK(s != NULL))
			continue;
		CHECK(sasl_step(s, sasl_client_first(mechs[i]) ? NULL : "", &out, &e) >= 0);
		free(out);
		sasl_free(s);
		CHECK(!gsasl_loaded());
	}
	/* auth = on reaching CRAM-MD5 has to ask GNU SASL whether it has it */
	UNIT_CTX("auth = on, CRAM-MD5 the strongest offered: GNU SASL loaded");
	run_choose(&rows[sizeof rows / sizeof rows[0] - 1]);
	CHECK(gsasl_loaded());
	UNIT_CTX_CLEAR();
}

/* GSSAPI is GNU SASL's, and a build of it may leave it out: expect what this one says. */
static void test_choose_gssapi(void)
{
	struct test_gsasl *gs = gsasl();
	Gsasl *ctx;
	int have;

	if (!gs || !CHECK_INT(gs->init(&ctx), GSASL_OK))
		return;
	have = gs->client_support_p(ctx, "GSSAPI");
	gs->done(ctx);
	UNIT_CTX("GSSAPI, %s by this GNU SASL", have ? "supported" : "not supported");
	if (have) {
		const struct choose_row r = { "PLAIN GSSAPI", "GSSAPI", 0, NULL, 0, "GSSAPI", OK };

		run_choose(&r);
	} else {
		const struct choose_row r = { "PLAIN GSSAPI", "GSSAPI", 0, NULL, 0, NULL, ERR_CONFIG,
			"authentication mechanism GSSAPI is not supported by this build of GNU SASL" };

		run_choose(&r);
	}
	UNIT_CTX_CLEAR();
}

static void test_flags(void)
{
	static const struct {
		const char *mech;
		int no_password, client_first;
	} rows[] = {
		{ "EXTERNAL", 1, 1 },
		{ "GSSAPI", 1, 1 },
		{ "GS2-KRB5", 1, 1 },
		{ "PLAIN", 0, 1 },
		{ "LOGIN", 0, 0 },
		{ "CRAM-MD5", 0, 0 },
		{ "DIGEST-MD5", 0, 0 },
		{ "SCRAM-SHA-1", 0, 1 },
		{ "SCRAM-SHA-256", 0, 1 },
		{ "SCRAM-SHA-256-PLUS", 0, 1 },
		{ "XOAUTH2", 0, 1 },
		{ "OAUTHBEARER", 0, 1 },
		{ "external", 0, 1 },	/* names arrive upper case; nothing folds them here */
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		UNIT_CTX("%s", rows[i].mech);
		CHECK_INT(!!sasl_no_password(rows[i].mech), rows[i].no_password);
		CHECK_INT(!!sasl_client_first(rows[i].mech), rows[i].client_first);
	}
	UNIT_CTX_CLEAR();
}

/* Decodes b64 with GnuTLS's decoder (not buf's encoder, which made it) and compares. */
static void check_b64(const char *b64, const char *want, size_t wlen)
{
	char *raw = NULL;
	size_t n = 0;

	if (!CHECK(b64 != NULL))
		return;
	if (!CHECK_INT(tls_base64_decode(b64, &raw, &n), 0))
		return;
	CHECK_MEM(raw, n, want, wlen);
	free(raw);
}

#define CHECK_B64(b64, lit) check_b64((b64), (lit), sizeof(lit) - 1)

/* The first message of mech for user and token, or NULL (and a failed check). */
static char *first_message(const char *mech, const char *user, const char *token,
			   const struct sasl_peer *p)
{
	struct err e = { 0 };
	struct sasl *s = sasl_start(mech, user, token, p, &e);
	char *out = NULL;

	if (!CHECK(s != NULL)) {
		fprintf(stderr, "    sasl_start: %s\n", e.text);
		return NULL;
	}
	CHECK_INT(sasl_step(s, NULL, &out, &e), 0);
	sasl_free(s);
	return out;
}

/* One step of the exchange: what the server sends (NULL: none yet), and what should come back:
 * the return of sasl_step, the response (base64) or the error. */
struct password_step {
	const char *in;
	int rc;
	const char *out;	/* the response, or the error text when rc is -1 */
};

struct password_row {
	const char *mech, *user, *password;
	struct password_step steps[5];	/* up to the first with in == NULL after the first */
};

#define NOAUTHID "Authentication failed because the authentication identity was not provided."
#define NOPASS "Authentication failed because the password was not provided."
#define BADB64 "Base 64 coding error in SASL library"
#define TOOMANY "SASL mechanism called too many times"

static const struct password_row password_rows[] = {
	/* PLAIN: empty authzid, user, password, as they are (no SASLprep: the UTF-8 stays) */
	{ "PLAIN", "user", "p\xc3\xa4ssword", { { NULL, 0, "AHVzZXIAcMOkc3N3b3Jk" } } },
	{ "PLAIN", "u", "", { { NULL, 0, "AHUA" } } },
	{ "PLAIN", "", "pw", { { NULL, 0, "AABwdw==" } } },
	/* a further challenge gets the same again; one that is not base64 ends it */
	{ "PLAIN", "user", "pw", { { NULL, 0, "AHVzZXIAcHc=" }, { "", 0, "AHVzZXIAcHc=" },
				   { "cXV4", 0, "AHVzZXIAcHc=" }, { "!!", -1, BADB64 } } },
	{ "PLAIN", NULL, "pw", { { NULL, -1, NOAUTHID } } },
	{ "PLAIN", "u", NULL, { { NULL, -1, NOPASS } } },
	/* LOGIN: "Username:", "Password:", then no more */
	{ "LOGIN", "user", "pw", { { "VXNlcm5hbWU6", 1, "dXNlcg==" }, { "UGFzc3dvcmQ6", 0, "cHc=" },
				   { "UGFzc3dvcmQ6", -1, TOOMANY } } },
	/* the challenges' words do not matter, empty ones neither */
	{ "LOGIN", "user", "pw", { { "", 1, "dXNlcg==" }, { "eHl6", 0, "cHc=" } } },
	{ "LOGIN", "", "", { { "VXNlcm5hbWU6", 1, "" }, { "UGFzc3dvcmQ6", 0, "" } } },
	{ "LOGIN", "user", "p\xc3\xa4ssword", { { "VXNlcm5hbWU6", 1, "dXNlcg==" },
					     { "UGFzc3dvcmQ6", 0, "cMOkc3N3b3Jk" } } },
	/* not base64: blanks, a line break, missing or stray padding, other alphabets */
	{ "LOGIN", "user", "pw", { { "!!", -1, BADB64 } } },
	{ "LOGIN", "user", "pw", { { "VXNlcm5hbWU6", 1, "dXNlcg==" },
				   { "UGFz c3dvcmQ6", -1, BADB64 } } },
	{ "LOGIN", "user", "pw", { { "VXNlcm5hbWU6\n", -1, BADB64 } } },
	{ "LOGIN", "user", "pw", { { "QQ", -1, BADB64 } } },
	{ "LOGIN", "user", "pw", { { "QQ=", -1, BADB64 } } },
	{ "LOGIN", "user", "pw", { { "QQ===", -1, BADB64 } } },
	{ "LOGIN", "user", "pw", { { "QQ==QQ==", -1, BADB64 } } },
	{ "LOGIN", "user", "pw", { { "-_8=", -1, BADB64 } } },
	/* a step that failed is not counted: GNU SASL's LOGIN did not count it either */
	{ "LOGIN", "user", "pw", { { "!!", -1, BADB64 }, { "VXNlcm5hbWU6", 1, "dXNlcg==" } } },
	{ "LOGIN", NULL, "pw", { { "VXNlcm5hbWU6", -1, NOAUTHID } } },
	{ "LOGIN", "u", NULL, { { "VXNlcm5hbWU6", 1, "dQ==" }, { "UGFzc3dvcmQ6", -1, NOPASS } } },
};

static void test_password_exchange(void)
{
	struct sasl_peer p = { .host = "smtp.example.org", .port = 587, .tls = 1 };

	for (size_t i = 0; i < sizeof password_rows / sizeof password_rows[0]; i++) {
		const struct password_row *r = &password_rows[i];
		struct err e = { 0 };
		struct sasl *s = sasl_start(r->mech, r->user, r->password, &p, &e);

		UNIT_CTX("%s row %zu", r->mech, i);
		if (!CHECK(s != NULL))
			continue;
		for (size_t k = 0; k < 5 && (k == 0 || r->steps[k].in); k++) {
			char *out = (char *)"untouched";

			UNIT_CTX("%s row %zu, step %zu, challenge %s", r->mech, i, k,
				 r->steps[k].in ? r->steps[k].in : "none");
			memset(&e, 0, sizeof e);
			CHECK_INT(sasl_step(s, r->steps[k].in, &out, &e), r->steps[k].rc);
			if (r->steps[k].rc < 0) {
				CHECK(out == NULL);
				CHECK_INT(e.kind, ERR_AUTH);
				CHECK_STR(e.text, r->steps[k].out);
			} else {
				CHECK_STR(out, r->steps[k].out);
				free(out);
			}
		}
		sasl_free(s);
	}
	UNIT_CTX_CLEAR();
}

/* The same rows through GNU SASL's own PLAIN and LOGIN, which postbote used before: the same
 * return, the same response, the same words for an error; whichever GNU SASL is installed. */
static void test_password_as_gsasl(void)
{
	struct test_gsasl *gs = gsasl();

	if (!gs)
		return;
	for (size_t i = 0; i < sizeof password_rows / sizeof password_rows[0]; i++) {
		const struct password_row *r = &password_rows[i];
		Gsasl *ctx;
		Gsasl_session *sess;

		UNIT_CTX("GNU SASL's %s, row %zu", r->mech, i);
		if (!CHECK_INT(gs->init(&ctx), GSASL_OK))
			return;
		if (!CHECK_INT(gs->client_start(ctx, r->mech, &sess), GSASL_OK)) {
			gs->done(ctx);
			continue;
		}
		if (r->user)
			CHECK_INT(gs->property_set(sess, GSASL_AUTHID, r->user), GSASL_OK);
		if (r->password)
			CHECK_INT(gs->property_set(sess, GSASL_PASSWORD, r->password), GSASL_OK);
		for (size_t k = 0; k < 5 && (k == 0 || r->steps[k].in); k++) {
			char *out = NULL;
			int rc = gs->step64(sess, r->steps[k].in ? r->steps[k].in : "", &out);

			UNIT_CTX("GNU SASL's %s, row %zu, step %zu", r->mech, i, k);
			CHECK_INT(rc == GSASL_OK ? 0 : rc == GSASL_NEEDS_MORE ? 1 : -1,
				  r->steps[k].rc);
			CHECK_STR(rc == GSASL_OK || rc == GSASL_NEEDS_MORE ? out : gs->strerror(rc),
				  r->steps[k].out);
			gs->free(out);
		}
		gs->finish(sess);
		gs->done(ctx);
	}
	UNIT_CTX_CLEAR();
}

static void test_oauth_messages(void)
{
	struct sasl_peer imap = { .host = "server.example.com", .port = 143, .tls = 1 };
	struct sasl_peer smtp = { .host = "smtp.example.org", .port = 587, .tls = 1 };
	char *out;

	/* Google's XOAUTH2 example, to the byte, and its published encoding */
	UNIT_CTX("XOAUTH2, Google's example");
	out = first_message("XOAUTH2", "someuser@example.com",
			    "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg", &smtp);
	CHECK_B64(out, "user=someuser@example.com\001auth=Bearer "
		       "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\001\001");
	CHECK_STR(out, "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRj"
		       "Mk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==");
	free(out);

	UNIT_CTX("XOAUTH2 without a user");
	out = first_message("XOAUTH2", NULL, "abc", &smtp);
	CHECK_B64(out, "user=\001auth=Bearer abc\001\001");
	free(out);

	/* RFC 7628 section 4.1, the IMAP example: host, port and the a= authzid */
	UNIT_CTX("OAUTHBEARER, RFC 7628 4.1");
	out = first_message("OAUTHBEARER", "user@example.com",
			    "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==", &imap);
	CHECK_B64(out, "n,a=user@example.com,\001host=server.example.com\001port=143\001"
		       "auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\001\001");
	CHECK_STR(out, "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQz"
		       "AWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB");
	free(out);

	/* RFC 5801 saslname: ',' and '=' escaped in the authzid */
	UNIT_CTX("OAUTHBEARER, a user with , and =");
	out = first_message("OAUTHBEARER", "a,b=c", "t0k", &smtp);
	CHECK_B64(out, "n,a=a=2Cb=3Dc,\001host=smtp.example.org\001port=587\001auth=Bearer t0k"
		       "\001\001");
	free(out);

	UNIT_CTX("OAUTHBEARER without a user");
	out = first_message("OAUTHBEARER", "", "t0k", &smtp);
	CHECK_B64(out, "n,,\001host=smtp.example.org\001port=587\001auth=Bearer t0k\001\001");
	free(out);
	out = first_message("OAUTHBEARER", NULL, "t0k", &smtp);
	CHECK_B64(out, "n,,\001host=smtp.example.org\001port=587\001auth=Bearer t0k\001\001");
	free(out);
	UNIT_CTX_CLEAR();
}

static void test_oauth_refused(void)
{
	static const struct {
		const char *mech, *user, *token, *error;
	} rows[] = {
		{ "XOAUTH2", "u", NULL, "XOAUTH2 needs an OAuth 2.0 access token as the password (or "
		  "from passwordeval), and there is none" },
		{ "OAUTHBEARER", "u", "two words", "OAUTHBEARER needs an OAuth 2.0 access token as "
		  "the password (or from passwordeval), and this is not one: a token has only "
		  "letters, digits and -._~+/ (and = at the end)" },
		{ "XOAUTH2", "u", "", "XOAUTH2 needs an OAuth 2.0 access token as the password (or "
		  "from passwordeval), and this is not one: a token has only letters, digits and "
		  "-._~+/ (and = at the end)" },
		{ "XOAUTH2", "u", "ab=c", "XOAUTH2 needs an OAuth 2.0 access token as the password "
		  "(or from passwordeval), and this is not one: a token has only letters, digits "
		  "and -._~+/ (and = at the end)" },
		{ "XOAUTH2", "u", "tok\001auth=Bearer x", "XOAUTH2 needs an OAuth 2.0 access token "
		  "as the password (or from passwordeval), and this is not one: a token has only "
		  "letters, digits and -._~+/ (and = at the end)" },
		{ "OAUTHBEARER", "u\001host=evil", "tok", "the user name has a control character" },
		{ "SCRAM-SHA-256-PLUS", "u", "secret", "SCRAM-SHA-256-PLUS needs TLS channel "
		  "binding, which this connection does not provide" },
	};
	struct sasl_peer p = { .host = "smtp.example.org", .port = 587, .tls = 1 };

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct err e = { 0 };

		UNIT_CTX("sasl_start %s, token %s", rows[i].mech,
			 rows[i].token ? rows[i].token : "NULL");
		CHECK(sasl_start(rows[i].mech, rows[i].user, rows[i].token, &p, &e) == NULL);
		CHECK_INT(e.kind, ERR_AUTH);
		CHECK_STR(e.text, rows[i].error);
	}

	/* the tokens that are fine: b64token, = only at the end */
	static const char *const good[] = { "a", "ab==", "A-._~+/z09", "ya29.a0Af_h" };

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		struct err e = { 0 };
		struct sasl *s;

		UNIT_CTX("token %s", good[i]);
		s = sasl_start("XOAUTH2", "u", good[i], &p, &e);
		CHECK(s != NULL);
		sasl_free(s);
	}

	/* a token that does not fit the message cap */
	{
		size_t n = 20000;
		char *big = malloc(n + 1);
		struct err e = { 0 };
		struct sasl *s;
		char *out = NULL;

		memset(big, 'a', n);
		big[n] = '\0';
		UNIT_CTX("a %zu-byte token", n);
		s = sasl_start("OAUTHBEARER", "u", big, &p, &e);
		if (CHECK(s != NULL)) {
			CHECK_INT(sasl_step(s, NULL, &out, &e), -1);
			CHECK(out == NULL);
			CHECK_INT(e.kind, ERR_AUTH);
			CHECK_STR(e.text, "the OAuth token is too long");
			sasl_free(s);
		}
		free(big);
	}
	UNIT_CTX_CLEAR();
}

/* The error exchange: a 334 with JSON gets the dummy response, sasl_server_error describes it,
 * and a second challenge ends the exchange with that description. */
static void run_error_exchange(const char *mech, const char *challenge, const char *dummy,
			       const char *why)
{
	struct sasl_peer p = { .host = "smtp.example.org", .port = 587, .tls = 1 };
	struct err e = { 0 };
	struct sasl *s = sasl_start(mech, "user@example.com", "tok", &p, &e);
	char *out = NULL;

	if (!CHECK(s != NULL))
		return;
	CHECK_STR(sasl_server_error(s), "");
	CHECK_INT(sasl_step(s, NULL, &out, &e), 0);
	free(out);
	CHECK_INT(sasl_step(s, challenge, &out, &e), 1);
	CHECK_STR(out, dummy);
	free(out);
	CHECK_STR(sasl_server_error(s), why);
	out = NULL;
	CHECK_INT(sasl_step(s, "e30=", &out, &e), -1);
	CHECK(out == NULL);
	CHECK_INT(e.kind, ERR_AUTH);
	CHECK_STR(e.text, why);
	sasl_free(s);
}

static void test_oauth_error(void)
{
	/* RFC 7628 section 4.3: the server's error and the client's ^A */
	UNIT_CTX("OAUTHBEARER, RFC 7628 4.3");
	run_error_exchange("OAUTHBEARER",
			   "eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUiOiJleGFtcGxlX3Njb3BlIiwi"
			   "b3BlbmlkLWNvbmZpZ3VyYXRpb24iOiJodHRwczovL2V4YW1wbGUuY29tLy53ZWxsLWtu"
			   "b3duL29wZW5pZC1jb25maWd1cmF0aW9uIn0=",
			   "AQ==",
			   "the server rejected the token: status invalid_token: "
			   "{\"status\":\"invalid_token\",\"scope\":\"example_scope\","
			   "\"openid-configuration\":\"https://example.com/.well-known/"
			   "openid-configuration\"}");

	/* Google's XOAUTH2 error; the dummy response is empty */
	UNIT_CTX("XOAUTH2, Google's 401");
	run_error_exchange("XOAUTH2",
			   "eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIG1hYyIsInNjb3BlIjoiaHR0cHM6"
			   "Ly9tYWlsLmdvb2dsZS5jb20vIn0=",
			   "",
			   "the server rejected the token: status 401: {\"status\":\"401\","
			   "\"schemes\":\"bearer mac\",\"scope\":\"https://mail.google.com/\"}");

	UNIT_CTX("XOAUTH2, JSON without a status, with a control character");
	/* {"error":"x\u0001"} with a raw ^A and newline */
	run_error_exchange("XOAUTH2", "eyJlcnJvciI6IngBIn0K", "",
			   "the server rejected the token: status unknown: "
			   "{\"error\":\"x\\x01\"}\\x0a");

	UNIT_CTX("OAUTHBEARER, a challenge that is not base64");
	run_error_exchange("OAUTHBEARER", "not base64!", "AQ==",
			   "the server rejected the token (its error challenge is not base64)");
	UNIT_CTX_CLEAR();
}

static void test_json_status(void)
{
	static const struct {
		const char *json;
		int rc;
		const char *status;
	} rows[] = {
		{ "{\"status\":\"401\",\"schemes\":\"bearer mac\",\"scope\":"
		  "\"https://mail.google.com/\"}", 0, "401" },
		{ "{\"status\":\"invalid_token\",\"scope\":\"example_scope\"}", 0, "invalid_token" },
		{ "{\"status\": 401, \"scope\": \"x\"}", 0, "401" },
		{ "{\"status\":-1}", 0, "-1" },
		{ "{\n  \"status\" \t:\r\n  \"insufficient_scope\"\n}", 0, "insufficient_scope" },
		/* escapes stay as they are, and the backslash is cleaned to \\ */
		{ "{\"status\":\"a\\\"b\",\"x\":1}", 0, "a\\\\\"b" },
		/* a quoted "status" inside a string is no key */
		{ "{\"msg\":\"\\\"status\\\": \\\"fake\\\"\",\"status\":\"real\"}", 0, "real" },
		{ "{\"msg\":\"status\",\"state\":\"status\"}", -1, NULL },
		/* empty or non-scalar values are skipped for a later one */
		{ "{\"status\":\"\",\"status\":\"second\"}", 0, "second" },
		{ "{\"status\":true}", -1, NULL },
		{ "{\"status\":null}", -1, NULL },
		{ "{\"status\":{\"code\":1}}", -1, NULL },
		/* scanned, not parsed: nested counts, first wins */
		{ "{\"error\":{\"status\":\"nested\"},\"status\":\"outer\"}", 0, "nested" },
		/* cut input */
		{ "{\"status\"", -1, NULL },
		{ "{\"status\": ", -1, NULL },
		{ "{\"status\":\"never closed", 0, "never closed" },
		{ "{\"status\":\"abc\\", 0, "abc\\\\" },
		{ "{\"STATUS\":\"401\"}", -1, NULL },
		{ "401 invalid token", -1, NULL },
		{ "", -1, NULL },
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char out[64];

		UNIT_CTX("json row %zu: %s", i, rows[i].json);
		strcpy(out, "untouched");
		CHECK_INT(sasl_json_status(rows[i].json, strlen(rows[i].json), out, sizeof out),
			  rows[i].rc);
		CHECK_STR(out, rows[i].rc == 0 ? rows[i].status : "untouched");
	}

	/* n bounds the scan: no terminator needed, nothing read past n */
	{
		static const char doc[] = "{\"status\":\"401\"}";
		char *exact = malloc(sizeof doc - 1), out[16];

		memcpy(exact, doc, sizeof doc - 1);
		UNIT_CTX("unterminated input of exact size");
		CHECK_INT(sasl_json_status(exact, sizeof doc - 1, out, sizeof out), 0);
		CHECK_STR(out, "401");
		/* cut inside the value: what is there */
		CHECK_INT(sasl_json_status(exact, 12, out, sizeof out), 0);
		CHECK_STR(out, "4");
		/* cut inside the key */
		CHECK_INT(sasl_json_status(exact, 6, out, sizeof out), -1);
		free(exact);
	}

	/* control bytes are cleaned, the value is cut to fit, always terminated */
	{
		static const char doc[] = "{\"status\":\"\001\033[31mred\377\"}";
		char out[64], small[6];

		UNIT_CTX("control bytes");
		CHECK_INT(sasl_json_status(doc, sizeof doc - 1, out, sizeof out), 0);
		CHECK_STR(out, "\\x01\\x1b[31mred\\xff");
		CHECK_INT(sasl_json_status(doc, sizeof doc - 1, small, sizeof small), 0);
		CHECK_STR(small, "\\x01\\");
		CHECK_INT(sasl_json_status(doc, sizeof doc - 1, small, 1), 0);
		CHECK_STR(small, "");
	}
	UNIT_CTX_CLEAR();
}

int main(void)
{
	test_gsasl_unloaded();	/* first: it checks that nothing loaded GNU SASL before */
	test_choose();
	test_choose_gssapi();
	test_flags();
	test_password_exchange();
	test_password_as_gsasl();
	test_oauth_messages();
	test_oauth_refused();
	test_oauth_error();
	test_json_status();
	return unit_done();
}
