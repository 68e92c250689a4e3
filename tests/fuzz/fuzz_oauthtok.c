/* fuzz_oauthtok: arbitrary bytes as what oauth_data parses from outside: a token endpoint's
 * answer, a device endpoint's answer, a service account key, the token store file and the
 * browser's request to the loopback redirect. Checks what oauth_data.h promises: the result is
 * one of the documented ones; a token that is accepted has only bearer-token characters and fits
 * CRED_SECRET_MAX; an error document's fields are printable; a store that parses formats back
 * and parses again to the same fields and the same bytes; redirect parameters hold no control
 * characters. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oauth_data.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int printable(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return 0;
	return 1;
}

static void check_token(const char *p, size_t n)
{
	struct oauth_token t = { 0 };
	struct oauth_error oe;
	struct err e = { 0 };
	int rc = oauth_parse_token(p, n, &t, &oe, &e);

	REQUIRE(rc == 0 || rc == 1 || rc == -1);
	REQUIRE(printable(oe.error) && printable(oe.description));
	if (rc == 0) {
		REQUIRE(t.access_token && strlen(t.access_token) <= CRED_SECRET_MAX);
		REQUIRE(strspn(t.access_token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				"0123456789-._~+/=") == strlen(t.access_token));
		REQUIRE(!t.refresh_token || (printable(t.refresh_token) &&
					     strlen(t.refresh_token) <= OAUTH_REFRESH_MAX));
		REQUIRE(t.expires_in >= 1);
	} else {
		REQUIRE(t.access_token == NULL && t.refresh_token == NULL);
		REQUIRE(rc == 1 ? oe.error[0] != '\0' : e.kind == ERR_PROTOCOL);
	}
	oauth_token_free(&t);
}

static void check_device_key(const char *p, size_t n)
{
	struct oauth_device d;
	struct oauth_error oe;
	struct oauth_key k;
	struct err e = { 0 };
	int rc = oauth_parse_device(p, n, &d, &oe, &e);

	REQUIRE(rc == 0 || rc == 1 || rc == -1);
	if (rc == 0) {
		REQUIRE(d.device_code[0] && printable(d.device_code) && printable(d.user_code));
		REQUIRE(d.uri[0] && printable(d.uri) && printable(d.uri_complete));
		REQUIRE(d.interval >= 0 && d.interval <= 60 && d.expires_in >= 1);
	}
	if (oauth_parse_key(p, n, &k, &e) == 0) {
		REQUIRE(strstr(k.private_key, "-----BEGIN") && printable(k.client_email));
		oauth_key_free(&k);
	} else {
		REQUIRE(e.kind == ERR_CONFIG && k.private_key == NULL);
	}
}

#define SAME(f) REQUIRE((!a->f && !b->f) || (a->f && b->f && strcmp(a->f, b->f) == 0))

static void same_store(const struct oauth_store *a, const struct oauth_store *b)
{
	SAME(user);
	SAME(client_id);
	SAME(refresh_token);
	SAME(origin);
	SAME(seed);
	SAME(access_token);
	REQUIRE(!a->refresh_token || a->stored == b->stored);
	REQUIRE(!a->access_token || a->expires == b->expires);
}

static void check_store(const char *p, size_t n)
{
	struct oauth_store s, again;
	struct buf b1, b2;
	struct err e = { 0 };

	if (oauth_store_parse(p, n, &s, &e) < 0) {
		REQUIRE(e.kind == ERR_DATA && s.user == NULL && s.refresh_token == NULL);
		return;
	}
	buf_init(&b1, OAUTH_STORE_MAX + 1024);
	buf_init(&b2, OAUTH_STORE_MAX + 1024);
	REQUIRE(oauth_store_format(&s, &b1, &e) == 0);
	REQUIRE(oauth_store_parse(b1.data, b1.len, &again, &e) == 0);
	same_store(&s, &again);
	REQUIRE(oauth_store_format(&again, &b2, &e) == 0);
	REQUIRE(b1.len == b2.len && memcmp(b1.data, b2.data, b1.len) == 0);
	oauth_store_free(&s);
	oauth_store_free(&again);
	buf_free(&b1);
	buf_free(&b2);
}

static int no_controls(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static void check_redirect(const char *p, size_t n)
{
	struct oauth_redirect r;
	int rc = oauth_parse_redirect(p, n, "/", &r);

	REQUIRE(rc == 0 || rc == 1 || rc == -1);
	REQUIRE(memchr(r.code, '\0', sizeof r.code) && memchr(r.state, '\0', sizeof r.state) &&
		memchr(r.error, '\0', sizeof r.error));
	if (rc >= 0)
		REQUIRE(no_controls(r.code) && no_controls(r.state) && no_controls(r.error));
	if (rc == 1)
		REQUIRE(r.code[0] || r.error[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;

	if (size > OAUTH_RESPONSE_MAX)
		return 0;
	check_token(p, size);
	check_device_key(p, size);
	check_store(p, size);
	check_redirect(p, size);
	return 0;
}
