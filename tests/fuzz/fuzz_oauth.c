/* fuzz_oauth: arbitrary bytes as the OAuth error document that a server sends, base64-encoded,
 * in a 334 challenge to XOAUTH2 or OAUTHBEARER. Checks the promises of sasl.h for
 * sasl_json_status at several output sizes (same answer at every size, each a prefix of the
 * largest, printable, terminated, nothing written past size, out untouched on -1, -1 whenever
 * there is no "status" at all), then runs both mechanisms through a whole exchange with the
 * bytes as the error challenge, encoded and as they are: the dummy response RFC 7628 asks for,
 * a printable and terminated sasl_server_error, and a further challenge refused with it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "sasl.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_SENTINEL 0x55

static int printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return 0;
	return 1;
}

static void check_status(const char *json, size_t n)
{
	static const size_t sizes[] = { 64, 9, 2, 1 };
	char big[64 + 16];
	int rc_big = 0;

	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		char out[64 + 16];
		size_t size = sizes[k], len;
		int rc;

		memset(out, FUZZ_SENTINEL, sizeof out);
		rc = sasl_json_status(json, n, out, size);
		REQUIRE(rc == 0 || rc == -1);
		for (size_t i = size; i < sizeof out; i++)
			REQUIRE(out[i] == FUZZ_SENTINEL);	/* nothing past size */
		if (k == 0) {
			rc_big = rc;
			memcpy(big, out, sizeof big);
			if (!memmem(json, n, "\"status\"", 8))
				REQUIRE(rc == -1);
		}
		REQUIRE(rc == rc_big);	/* the size cuts the value, never changes the answer */
		if (rc < 0) {
			for (size_t i = 0; i < size; i++)
				REQUIRE(out[i] == FUZZ_SENTINEL);	/* untouched */
			continue;
		}
		len = strnlen(out, size);
		REQUIRE(len < size);
		REQUIRE(printable(out, len));
		REQUIRE(size == 1 || len > 0);	/* a found value is never empty */
		REQUIRE(strncmp(out, big, len) == 0);	/* a prefix of the uncut value */
	}
}

/* One exchange: the first message, then `challenge` as the server's error, then one more. */
static void check_exchange(const char *mech, const char *challenge)
{
	struct sasl_peer peer = { .host = "smtp.example.org", .port = 587, .tls = 1 };
	struct err e;
	struct sasl *s;
	const char *why;
	char *out = NULL;
	int rc;

	memset(&e, 0, sizeof e);
	s = sasl_start(mech, "alice@example.org", "dG9rZW4", &peer, &e);
	REQUIRE(s != NULL);
	REQUIRE(sasl_step(s, NULL, &out, &e) == 0 && out && *out);
	free(out);

	rc = sasl_step(s, challenge, &out, &e);
	REQUIRE(rc == 1);
	REQUIRE(out && strcmp(out, strcmp(mech, "XOAUTH2") == 0 ? "" : "AQ==") == 0);
	free(out);
	why = sasl_server_error(s);
	REQUIRE(strncmp(why, "the server rejected the token", 29) == 0);
	REQUIRE(printable(why, strlen(why)));

	out = NULL;
	REQUIRE(sasl_step(s, challenge, &out, &e) == -1);
	REQUIRE(out == NULL && e.kind == ERR_AUTH);
	REQUIRE(memchr(e.text, '\0', sizeof e.text) != NULL);
	REQUIRE(strcmp(e.text, why) == 0);
	sasl_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *json = (const char *)data;
	struct buf b64;
	char *raw;

	if (size > 8192)	/* the SMTP reply that carries it is capped well below */
		return 0;
	check_status(json, size);

	buf_init(&b64, 4 * (size / 3) + 8);
	REQUIRE(buf_add_base64(&b64, data, size) == 0);
	check_exchange("XOAUTH2", b64.data);
	check_exchange("OAUTHBEARER", b64.data);
	buf_free(&b64);

	/* the bytes as they are, up to a NUL: mostly not base64 at all */
	raw = strndup(json, size);
	if (!raw)
		abort();
	check_exchange("OAUTHBEARER", raw);
	free(raw);
	return 0;
}
