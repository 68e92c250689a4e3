/* test_oauth: the pure parts of OAuth 2.0 (oauth_data): token endpoint answers (success, error
 * documents, what is refused), device authorization answers, service account keys, the token
 * store's file format (round trip, and every way a file can be cut or damaged), the JWT's
 * header and claims (RFC 7523, decoded and compared), PKCE's S256 challenge (RFC 7636's
 * appendix B example), form encoding and the browser's redirect request. */
#include <stdio.h>
#include <string.h>

#include "oauth_data.h"
#include "unit.h"

/* ---- token answers ---- */

struct token_row {
	const char *json;
	int rc;			/* 0 token, 1 error document, -1 refused */
	const char *access, *refresh;	/* rc 0; refresh NULL: none */
	long expires;
	const char *error, *description;	/* rc 1; rc -1: a fragment of e.text */
};

static const struct token_row token_rows[] = {
	{ "{\"access_token\":\"ya29.a0-_~+/x=\",\"token_type\":\"Bearer\",\"expires_in\":3599,"
	  "\"refresh_token\":\"1//0g-x_y.z\",\"scope\":\"https://mail.google.com/\"}",
	  0, "ya29.a0-_~+/x=", "1//0g-x_y.z", 3599, NULL, NULL },
	/* Microsoft's: bearer in any case; expires_in quoted by some endpoints; no refresh */
	{ " {\"token_type\":\"bearer\",\"expires_in\":\"4000\",\"access_token\":\"eyJ0.eyJ1.c2ln\"}\r\n",
	  0, "eyJ0.eyJ1.c2ln", NULL, 4000, NULL, NULL },
	{ "{\"access_token\":\"abc\"}", 0, "abc", NULL, OAUTH_DEFAULT_LIFETIME, NULL, NULL },
	{ "{\"access_token\":\"abc\",\"expires_in\":null}", 0, "abc", NULL, OAUTH_DEFAULT_LIFETIME,
	  NULL, NULL },
	/* error documents (RFC 6749 5.2), cleaned */
	{ "{\"error\":\"invalid_grant\",\"error_description\":\"AADSTS70008: expired\"}", 1, NULL,
	  NULL, 0, "invalid_grant", "AADSTS70008: expired" },
	{ "{\"error\":\"invalid_client\"}", 1, NULL, NULL, 0, "invalid_client", "" },
	{ "{\"error\":\"x\\u0007y\",\"error_description\":\"a\\nb\"}", 1, NULL, NULL, 0,
	  "x\\x07y", "a\\x0ab" },
	{ "{\"error\":\"\"}", 1, NULL, NULL, 0, "(empty)", "" },
	/* refused */
	{ "", -1, NULL, NULL, 0, "not a JSON object", NULL },
	{ "[1]", -1, NULL, NULL, 0, "not a JSON object", NULL },
	{ "{\"access_token\":\"abc\"} trailing", -1, NULL, NULL, 0, "not a JSON object", NULL },
	{ "{\"access_token\":\"abc\"", -1, NULL, NULL, 0, "not a JSON object", NULL },
	{ "{\"token_type\":\"Bearer\"}", -1, NULL, NULL, 0, "has no access_token", NULL },
	{ "{\"access_token\":7}", -1, NULL, NULL, 0, "has no access_token", NULL },
	{ "{\"access_token\":\"a b\"}", -1, NULL, NULL, 0, "not a bearer token", NULL },
	{ "{\"access_token\":\"a\\u0001b\"}", -1, NULL, NULL, 0, "not a bearer token", NULL },
	{ "{\"access_token\":\"a\\u0000b\"}", -1, NULL, NULL, 0, "has no access_token", NULL },
	{ "{\"access_token\":\"=abc\"}", -1, NULL, NULL, 0, "not a bearer token", NULL },
	{ "{\"access_token\":\"abc\",\"token_type\":\"mac\"}", -1, NULL, NULL, 0, "not Bearer", NULL },
	{ "{\"access_token\":\"abc\",\"expires_in\":0}", -1, NULL, NULL, 0, "expires_in", NULL },
	{ "{\"access_token\":\"abc\",\"expires_in\":\"soon\"}", -1, NULL, NULL, 0, "expires_in", NULL },
	{ "{\"access_token\":\"abc\",\"refresh_token\":\"a b\"}", -1, NULL, NULL, 0,
	  "refresh_token", NULL },
	{ "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":{\"i\":1}}}}}}}},"
	  "\"access_token\":\"abc\"}", -1, NULL, NULL, 0, "not a JSON object", NULL },
};

static void test_tokens(void)
{
	for (size_t i = 0; i < sizeof token_rows / sizeof token_rows[0]; i++) {
		const struct token_row *r = &token_rows[i];
		struct oauth_token t = { 0 };
		struct oauth_error oe;
		struct err e = { 0 };
		int rc;

		UNIT_CTX("token row %zu: %s", i, r->json);
		rc = oauth_parse_token(r->json, strlen(r->json), &t, &oe, &e);
		CHECK_INT(rc, r->rc);
		if (rc == 0 && r->rc == 0) {
			CHECK_STR(t.access_token, r->access);
			if (r->refresh)
				CHECK(t.refresh_token && strcmp(t.refresh_token, r->refresh) == 0);
			else
				CHECK(t.refresh_token == NULL);
			CHECK_INT(t.expires_in, r->expires);
		} else if (rc == 1 && r->rc == 1) {
			CHECK_STR(oe.error, r->error);
			CHECK_STR(oe.description, r->description);
			CHECK(t.access_token == NULL);
		} else if (rc == -1) {
			CHECK_INT(e.kind, ERR_PROTOCOL);
			CHECK(strstr(e.text, r->error) != NULL);
			CHECK(t.access_token == NULL);
		}
		oauth_token_free(&t);
	}
	UNIT_CTX_CLEAR();
}

static void test_token_sizes(void)
{
	char json[CRED_SECRET_MAX + 64];
	struct oauth_token t = { 0 };
	struct oauth_error oe;
	struct err e = { 0 };
	int n;

	/* exactly CRED_SECRET_MAX is a token; one more is not */
	n = snprintf(json, sizeof json, "{\"access_token\":\"%0*d\"}", CRED_SECRET_MAX, 0);
	CHECK_INT(oauth_parse_token(json, (size_t)n, &t, &oe, &e), 0);
	CHECK_UINT(t.access_token ? strlen(t.access_token) : 0, CRED_SECRET_MAX);
	oauth_token_free(&t);
	n = snprintf(json, sizeof json, "{\"access_token\":\"%0*d\"}", CRED_SECRET_MAX + 1, 0);
	CHECK_INT(oauth_parse_token(json, (size_t)n, &t, &oe, &e), -1);
	CHECK(strstr(e.text, "longer than") != NULL);
	/* an answer longer than OAUTH_RESPONSE_MAX is not even parsed */
	CHECK_INT(oauth_parse_token(json, OAUTH_RESPONSE_MAX + 1, &t, &oe, &e), -1);
}

/* ---- device answers and keys ---- */

static void test_device(void)
{
	static const char ms[] = "{\"user_code\":\"ABCD-EFGH\",\"device_code\":\"DAQABAAEAAAD\","
		"\"verification_uri\":\"https://microsoft.com/devicelogin\",\"expires_in\":900,"
		"\"interval\":5,\"message\":\"To sign in, use a web browser...\"}";
	static const char google[] = "{\"device_code\":\"AH-1Ng\",\"user_code\":\"GQVQ-JKEC\","
		"\"verification_url\":\"https://www.google.com/device\",\"expires_in\":1800,"
		"\"interval\":0}";
	struct oauth_device d;
	struct oauth_error oe;
	struct err e = { 0 };

	CHECK_INT(oauth_parse_device(ms, strlen(ms), &d, &oe, &e), 0);
	CHECK_STR(d.user_code, "ABCD-EFGH");
	CHECK_STR(d.device_code, "DAQABAAEAAAD");
	CHECK_STR(d.uri, "https://microsoft.com/devicelogin");
	CHECK_STR(d.uri_complete, "");
	CHECK_INT(d.expires_in, 900);
	CHECK_INT(d.interval, 5);
	CHECK_INT(oauth_parse_device(google, strlen(google), &d, &oe, &e), 0);
	CHECK_STR(d.uri, "https://www.google.com/device");
	CHECK_INT(d.interval, 0);
#define DEVICE(json) oauth_parse_device(json, strlen(json), &d, &oe, &e)
	CHECK_INT(DEVICE("{\"error\":\"invalid_scope\"}"), 1);
	CHECK_STR(oe.error, "invalid_scope");
	CHECK_INT(DEVICE("{\"device_code\":\"x\",\"user_code\":\"y\"}"), -1);
	CHECK(strstr(e.text, "verification_uri") != NULL);
	CHECK_INT(DEVICE("{\"device_code\":\"x\",\"user_code\":\"y\",\"verification_uri\":"
			 "\"https://a\",\"interval\":3600}"), -1);
	CHECK(strstr(e.text, "interval") != NULL);
	CHECK_INT(DEVICE("{\"device_code\":\"x\",\"user_code\":\"y z\",\"verification_uri\":"
			 "\"https://a\"}"), -1);
	/* found by fuzz_oauthtok: an empty device_code is none */
	CHECK_INT(DEVICE("{\"device_code\":\"\",\"user_code\":\"y\",\"verification_uri\":"
			 "\"https://a\"}"), -1);
#undef DEVICE
}

static void test_key(void)
{
	static const char key[] = "{\"type\":\"service_account\",\"private_key_id\":\"k1\","
		"\"private_key\":\"-----BEGIN PRIVATE KEY-----\\nMII\\n-----END PRIVATE KEY-----\\n\","
		"\"client_email\":\"sa@p.iam.gserviceaccount.com\","
		"\"token_uri\":\"https://oauth2.googleapis.com/token\"}";
	struct oauth_key k;
	struct err e = { 0 };

	CHECK_INT(oauth_parse_key(key, strlen(key), &k, &e), 0);
	CHECK_STR(k.client_email, "sa@p.iam.gserviceaccount.com");
	CHECK_STR(k.private_key_id, "k1");
	CHECK_STR(k.token_uri, "https://oauth2.googleapis.com/token");
	CHECK(strncmp(k.private_key, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);
	oauth_key_free(&k);
	CHECK_INT(oauth_parse_key("{\"client_email\":\"a\"}", 20, &k, &e), -1);
	CHECK_INT(e.kind, ERR_CONFIG);
	CHECK_INT(oauth_parse_key("not json", 8, &k, &e), -1);
}

/* ---- the store ---- */

static void test_store_round_trip(void)
{
	struct oauth_store s = { .user = "alice@example.org", .client_id = "c-1",
				 .refresh_token = "0.AXoA-x_y*z!", .origin = "rotated",
				 .seed = "ab12", .stored = 1700000000,
				 .access_token = "eyJ0eXAi.x-y_z", .expires = 1700003600 };
	static const char want[] = "postbote-oauth 1\nuser alice@example.org\nclient_id c-1\n"
		"refresh_token 0.AXoA-x_y*z!\norigin rotated\nseed ab12\nstored 1700000000\n"
		"access_token eyJ0eXAi.x-y_z\nexpires 1700003600\nend\n";
	struct oauth_store back;
	struct buf b;
	struct err e = { 0 };

	buf_init(&b, OAUTH_STORE_MAX);
	CHECK_INT(oauth_store_format(&s, &b, &e), 0);
	CHECK_STR(b.data, want);
	CHECK_INT(oauth_store_parse(b.data, b.len, &back, &e), 0);
	CHECK_STR(back.user, s.user);
	CHECK_STR(back.client_id, s.client_id);
	CHECK_STR(back.refresh_token, s.refresh_token);
	CHECK_STR(back.origin, s.origin);
	CHECK_STR(back.seed, s.seed);
	CHECK_STR(back.access_token, s.access_token);
	CHECK_INT(back.stored, s.stored);
	CHECK_INT(back.expires, s.expires);
	oauth_store_free(&back);
	/* without tokens: neither the token lines nor their times */
	buf_reset(&b);
	s.refresh_token = s.access_token = NULL;
	CHECK_INT(oauth_store_format(&s, &b, &e), 0);
	CHECK(strstr(b.data, "stored") == NULL && strstr(b.data, "expires") == NULL);
	/* a value that cannot go on one line is refused, nothing written */
	buf_reset(&b);
	s.user = "a\nrefresh_token evil";
	CHECK_INT(oauth_store_format(&s, &b, &e), -1);
	CHECK_UINT(b.len, 0);
	buf_free(&b);
}

static const char *const bad_stores[] = {
	"",
	"postbote-oauth 2\nend\n",
	"postbote-oauth 1\nuser a\n",			/* cut before end */
	"postbote-oauth 1\nuser a\nend",		/* end without its newline */
	"postbote-oauth 1\nuser a\nuser b\nend\n",	/* a key twice */
	"postbote-oauth 1\nend\nuser a\n",		/* after end */
	"postbote-oauth 1\nnospace\nend\n",
	"postbote-oauth 1\naccess_token a b\nend\n",	/* not a bearer token */
	"postbote-oauth 1\nrefresh_token \nend\n",
	"postbote-oauth 1\nexpires soon\nend\n",
	"postbote-oauth 1\nexpires -5\nend\n",
	"postbote-oauth 1\nuser a\tb\nend\n",
	"postbote-oauth 1\r\nend\r\n",
};

static void test_store_bad(void)
{
	struct oauth_store s;
	struct err e = { 0 };

	for (size_t i = 0; i < sizeof bad_stores / sizeof bad_stores[0]; i++) {
		UNIT_CTX("bad store %zu", i);
		CHECK_INT(oauth_store_parse(bad_stores[i], strlen(bad_stores[i]), &s, &e), -1);
		CHECK_INT(e.kind, ERR_DATA);
		CHECK(s.user == NULL && s.access_token == NULL);
	}
	UNIT_CTX_CLEAR();
	/* a key of a newer version is skipped */
	CHECK_INT(oauth_store_parse("postbote-oauth 1\nfuture x\nuser a\nend\n", 37, &s, &e), 0);
	CHECK_STR(s.user, "a");
	oauth_store_free(&s);
}

/* ---- JWT, PKCE, forms, redirect ---- */

static void b64url_decode(const char *in, size_t n, char *out, size_t size)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned v = 0;
	int bits = 0;
	size_t k = 0;

	for (size_t i = 0; i < n && k + 1 < size; i++) {
		const char *p = strchr(al, in[i]);

		if (!p || !in[i])
			break;
		v = (v << 6) | (unsigned)(p - al);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[k++] = (char)((v >> bits) & 0xff);
		}
	}
	out[k] = '\0';
}

static void test_jwt(void)
{
	struct buf b;
	struct err e = { 0 };
	char part[512];
	const char *dot;

	buf_init(&b, 4096);
	CHECK_INT(oauth_jwt_input("kid-1", "sa@p.iam.gserviceaccount.com", "alice@example.org",
				  "https://oauth2.googleapis.com/token", "https://mail.google.com/",
				  1700000000, &b, &e), 0);
	dot = strchr(b.data, '.');
	CHECK(dot != NULL && strchr(dot + 1, '.') == NULL);
	CHECK(strpbrk(b.data, "+/=") == NULL);	/* base64url without padding */
	if (dot) {
		b64url_decode(b.data, (size_t)(dot - b.data), part, sizeof part);
		CHECK_STR(part, "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"kid-1\"}");
		b64url_decode(dot + 1, strlen(dot + 1), part, sizeof part);
		CHECK_STR(part, "{\"iss\":\"sa@p.iam.gserviceaccount.com\",\"sub\":"
			  "\"alice@example.org\",\"scope\":\"https://mail.google.com/\",\"aud\":"
			  "\"https://oauth2.googleapis.com/token\",\"iat\":1700000000,\"exp\":"
			  "1700003600}");
	}
	/* without kid and sub; a quote in a value is escaped, not spliced */
	buf_reset(&b);
	CHECK_INT(oauth_jwt_input(NULL, "a\"b", "", "https://t", "s", 5, &b, &e), 0);
	dot = strchr(b.data, '.');
	if (dot) {
		b64url_decode(b.data, (size_t)(dot - b.data), part, sizeof part);
		CHECK_STR(part, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}");
		b64url_decode(dot + 1, strlen(dot + 1), part, sizeof part);
		CHECK_STR(part, "{\"iss\":\"a\\\"b\",\"scope\":\"s\",\"aud\":\"https://t\",\"iat\":5,"
			  "\"exp\":3605}");
	}
	buf_free(&b);
}

static void test_pkce_form(void)
{
	char challenge[64], hex[65];
	struct buf b;

	/* RFC 7636 appendix B */
	CHECK_INT(oauth_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", challenge,
				       sizeof challenge), 0);
	CHECK_STR(challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
	CHECK_INT(oauth_pkce_challenge("x", challenge, 10), -1);
	oauth_sha256_hex("abc", hex);
	CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	buf_init(&b, 256);
	CHECK_INT(oauth_form_add(&b, "grant_type", "refresh_token"), 0);
	CHECK_INT(oauth_form_add(&b, "scope", "https://outlook.office.com/SMTP.Send offline_access"),
		  0);
	CHECK_INT(oauth_form_add(&b, "x", "a&b=c+d~é"), 0);
	CHECK_STR(b.data, "grant_type=refresh_token&scope=https%3A%2F%2Foutlook.office.com%2F"
		  "SMTP.Send%20offline_access&x=a%26b%3Dc%2Bd~%C3%A9");
	buf_free(&b);
	buf_init(&b, 8);
	CHECK_INT(oauth_form_add(&b, "key", "value!"), -1);
	buf_free(&b);
}

struct redirect_row {
	const char *req;
	int rc;
	const char *code, *state, *error;
};

static const struct redirect_row redirect_rows[] = {
	{ "GET /?state=s1&code=4%2F0Ad-x_y&scope=a+b HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 1,
	  "4/0Ad-x_y", "s1", "" },
	{ "GET /?code=c&state=s HTTP/1.0\r\n", 1, "c", "s", "" },
	{ "GET /?error=access_denied&state=s HTTP/1.1\r\n\r\n", 1, "", "s", "access_denied" },
	{ "GET /favicon.ico HTTP/1.1\r\n\r\n", 0, "", "", "" },
	{ "GET / HTTP/1.1\r\n\r\n", 0, "", "", "" },
	{ "GET /?state=s HTTP/1.1\r\n\r\n", 0, "", "s", "" },
	{ "POST /?code=c HTTP/1.1\r\n\r\n", 0, "", "", "" },
	{ "GET /?code=%0a HTTP/1.1\r\n\r\n", -1, "", "", "" },	/* decodes to a control */
	{ "GET /?code=%zz HTTP/1.1\r\n\r\n", -1, "", "", "" },
	{ "GET /?code=% HTTP/1.1\r\n\r\n", -1, "", "", "" },
	{ "GET /?code=c HTTP/2\r\n\r\n", -1, "", "", "" },
	{ "GET /?code=c\r\n\r\n", -1, "", "", "" },
	{ "garbage", -1, "", "", "" },
};

static void test_redirect(void)
{
	struct oauth_redirect r;

	for (size_t i = 0; i < sizeof redirect_rows / sizeof redirect_rows[0]; i++) {
		const struct redirect_row *w = &redirect_rows[i];

		UNIT_CTX("redirect row %zu: %s", i, w->req);
		CHECK_INT(oauth_parse_redirect(w->req, strlen(w->req), "/", &r), w->rc);
		if (w->rc >= 0) {
			CHECK_STR(r.code, w->code);
			CHECK_STR(r.error, w->error);
		}
		if (w->rc == 1)
			CHECK_STR(r.state, w->state);
	}
	UNIT_CTX_CLEAR();
}

int main(void)
{
	test_tokens();
	test_token_sizes();
	test_device();
	test_key();
	test_store_round_trip();
	test_store_bad();
	test_jwt();
	test_pkce_form();
	test_redirect();
	return unit_done();
}
