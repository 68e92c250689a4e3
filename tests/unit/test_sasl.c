/* test_sasl: mechanism choice (sasl_choose over offered lists, auth = on or a name, TLS, channel
 * binding, auth_plaintext), the per-mechanism flags, the XOAUTH2 and OAUTHBEARER messages (the
 * examples of Google's XOAUTH2 page and RFC 7628, decoded and compared byte for byte), the OAuth
 * error exchange and the JSON status scanner. */
#include <gsasl.h>

#include "sasl.h"
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

/* GSSAPI is GNU SASL's, and a build of it may leave it out: expect what this one says. */
static void test_choose_gssapi(void)
{
	Gsasl *ctx;
	int have;

	if (!CHECK_INT(gsasl_init(&ctx), GSASL_OK))
		return;
	have = gsasl_client_support_p(ctx, "GSSAPI");
	gsasl_done(ctx);
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

/* Decodes b64 with GNU SASL's decoder (not ours, which only encodes) and compares. */
static void check_b64(const char *b64, const char *want, size_t wlen)
{
	char *raw = NULL;
	size_t n = 0;

	if (!CHECK(b64 != NULL))
		return;
	if (!CHECK_INT(gsasl_base64_from(b64, strlen(b64), &raw, &n), GSASL_OK))
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
	test_choose();
	test_choose_gssapi();
	test_flags();
	test_oauth_messages();
	test_oauth_refused();
	test_oauth_error();
	test_json_status();
	return unit_done();
}
