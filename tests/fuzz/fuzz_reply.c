/* fuzz_reply: server bytes, split into lines as conn_readline does (at LF, one CR before it
 * dropped), pushed into the reply parser; each complete reply goes through ehlo_parse and
 * reply_summary. Checks the caps and the promises of reply.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reply.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_summary(const struct reply *r, size_t size)
{
	char out[600];
	size_t n;

	memset(out, 0x55, sizeof out);
	reply_summary(r, out, size);
	for (size_t i = size; i < sizeof out; i++)
		REQUIRE(out[i] == 0x55);	/* nothing written past size */
	n = strnlen(out, size);
	REQUIRE(n < size);	/* terminated within size */
	for (size_t i = 0; i < n; i++)
		REQUIRE(out[i] >= 0x20 && out[i] < 0x7f);	/* printable only */
	if (size > 4)
		REQUIRE(n >= 3 && out[0] >= '2' && out[0] <= '5');	/* starts with the code */
}

static void check_complete(const struct reply *r)
{
	struct ehlo c;
	size_t n;

	REQUIRE(r->code >= 200 && r->code <= 599);
	REQUIRE(r->lines >= 1 && r->lines <= REPLY_LINES_MAX);
	REQUIRE(r->text.len <= REPLY_BYTES_MAX);
	REQUIRE(r->text.data[r->text.len] == '\0');
	check_summary(r, 512);
	check_summary(r, 17);
	check_summary(r, 2);
	check_summary(r, 1);

	memset(&c, 0xa5, sizeof c);
	ehlo_parse(r, &c);
	n = strnlen(c.mechs, sizeof c.mechs);
	REQUIRE(n < sizeof c.mechs);
	/* upper-case names of [A-Z0-9_-], one blank between */
	for (size_t i = 0; i < n; i++) {
		char ch = c.mechs[i];

		REQUIRE((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
			(ch == ' ' && i > 0 && i + 1 < n && c.mechs[i - 1] != ' '));
	}
	if (!(c.flags & EHLO_SIZE))
		REQUIRE(c.size == 0);
	if (n)
		REQUIRE(c.flags & EHLO_AUTH);
	REQUIRE((c.flags & ~0x3ffu) == 0);
	REQUIRE(c.rcptmax <= EHLO_LIMIT_MAX && c.mailmax <= EHLO_LIMIT_MAX);
	if (!(c.flags & EHLO_LIMITS))
		REQUIRE(c.rcptmax == 0 && c.mailmax == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct reply r;
	struct err e;

	reply_init(&r);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		size_t len = n;
		int rc;

		if (len && p[len - 1] == '\r')
			len--;
		/* conn_readline refuses longer lines before they get here; the parser must too */
		memset(&e, 0, sizeof e);
		rc = reply_push(&r, p, len, &e);
		REQUIRE(rc >= -1 && rc <= 1);
		if (rc < 0) {
			REQUIRE(e.kind == ERR_PROTOCOL);
			REQUIRE(memchr(e.text, '\0', sizeof e.text) != NULL);
			reply_reset(&r);
		} else if (rc == 1) {
			check_complete(&r);
			reply_reset(&r);
		} else {
			REQUIRE(r.lines <= REPLY_LINES_MAX && r.text.len <= REPLY_BYTES_MAX);
		}
		p += n + (nl ? 1 : 0);
	}
	reply_free(&r);
	return 0;
}
