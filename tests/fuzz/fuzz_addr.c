/* fuzz_addr: arbitrary bytes as the body of an address field, through addr_parse. Checks the
 * promises of addr.h for every address (positions inside the text, ordered, the local part ending
 * where "@domain" goes, spec not empty and within ADDR_MAX), that no spec can carry CR, LF or
 * NUL into an SMTP command, that the same text parses the same way twice, and that qualifying
 * every bare address in place, as msg does, gives a field that parses to the same addresses
 * with "@example.org" added. Also addr_add_phrase on the same bytes: its output must parse back
 * as the display name of an address. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "buf.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DOMAIN "@example.org"

static void check_list(const struct addr_list *l, const char *text, size_t size)
{
	size_t prev_end = 0;

	REQUIRE(l->n <= l->cap);
	REQUIRE(l->n <= size);	/* every address takes at least one byte */
	for (size_t i = 0; i < l->n; i++) {
		const struct addr *a = &l->v[i];
		size_t n;

		REQUIRE(a->spec != NULL);
		n = strlen(a->spec);
		REQUIRE(n > 0 && n <= ADDR_MAX);
		/* an envelope address never carries a line end into a command */
		REQUIRE(strchr(a->spec, '\r') == NULL && strchr(a->spec, '\n') == NULL);
		REQUIRE(a->start < a->end && a->end <= size);
		REQUIRE(a->start <= a->local_end && a->local_end <= a->end);
		REQUIRE(a->start >= prev_end);	/* in order, not overlapping */
		prev_end = a->end;
		REQUIRE(a->has_domain == 0 || a->has_domain == 1);
		if (a->has_domain) {
			REQUIRE(a->local_end < a->end);
			REQUIRE(strrchr(a->spec, '@') != NULL);
		} else {
			REQUIRE(a->local_end == a->end);
		}
		/* CFWS is not part of an address: it starts and ends with a word or a special */
		REQUIRE(text[a->start] != ' ' && text[a->start] != '\t' && text[a->start] != '(');
		REQUIRE(text[a->end - 1] != ' ' && text[a->end - 1] != '\t');
	}
}

static void same_lists(const struct addr_list *a, const struct addr_list *b)
{
	REQUIRE(a->n == b->n);
	for (size_t i = 0; i < a->n; i++) {
		REQUIRE(strcmp(a->v[i].spec, b->v[i].spec) == 0);
		REQUIRE((a->v[i].name == NULL) == (b->v[i].name == NULL));
		REQUIRE(!a->v[i].name || strcmp(a->v[i].name, b->v[i].name) == 0);
		REQUIRE(a->v[i].start == b->v[i].start && a->v[i].end == b->v[i].end);
		REQUIRE(a->v[i].local_end == b->v[i].local_end);
		REQUIRE(a->v[i].has_domain == b->v[i].has_domain);
	}
}

/* msg's in-place qualification: "@example.org" after the local part of every bare address. */
static void check_qualified(const struct addr_list *l, const char *text, size_t size)
{
	struct addr_list q = { 0 };
	struct err e = { 0 };
	struct buf out;
	size_t done = 0, bare = 0;
	int too_long = 0;

	buf_init(&out, size * 2 + l->n * sizeof DOMAIN + 16);
	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].has_domain)
			continue;
		bare++;
		REQUIRE(buf_add(&out, text + done, l->v[i].local_end - done) == 0);
		REQUIRE(buf_addstr(&out, DOMAIN) == 0);
		done = l->v[i].local_end;
	}
	if (!bare) {
		buf_free(&out);
		return;
	}
	REQUIRE(buf_add(&out, text + done, size - done) == 0);
	if (addr_parse(out.data, out.len, &q, &e) < 0) {
		/* only the length cap may stop it: some bare spec was too long for "@domain" */
		for (size_t i = 0; i < l->n; i++)
			if (!l->v[i].has_domain && strlen(l->v[i].spec) + strlen(DOMAIN) > ADDR_MAX)
				too_long = 1;
		REQUIRE(too_long);
		addr_list_free(&q);
		buf_free(&out);
		return;
	}
	REQUIRE(q.n == l->n);
	for (size_t i = 0; i < l->n; i++) {
		REQUIRE(q.v[i].has_domain == 1);
		if (l->v[i].has_domain) {
			REQUIRE(strcmp(q.v[i].spec, l->v[i].spec) == 0);
		} else {
			size_t n = strlen(l->v[i].spec);

			REQUIRE(strncmp(q.v[i].spec, l->v[i].spec, n) == 0);
			REQUIRE(strcmp(q.v[i].spec + n, DOMAIN) == 0);
		}
	}
	addr_list_free(&q);
	buf_free(&out);
}

/* addr_add_phrase's output is a display name that parses back. */
static void check_phrase(const char *p, size_t size)
{
	struct addr_list l = { 0 };
	struct err e = { 0 };
	struct buf b;

	buf_init(&b, (size_t)-1 / 2);
	addr_add_phrase(&b, p, size);
	REQUIRE(memchr(b.data, '\r', b.len) == NULL && memchr(b.data, '\n', b.len) == NULL);
	REQUIRE(buf_addstr(&b, " <a@example.org>") == 0);
	REQUIRE(addr_parse(b.data, b.len, &l, &e) == 0);
	REQUIRE(l.n == 1 && strcmp(l.v[0].spec, "a@example.org") == 0);
	/* a name with anything but blanks in it is there */
	for (size_t i = 0; i < size; i++)
		if (p[i] != ' ') {
			REQUIRE(l.v[0].name != NULL && l.v[0].name[0] != '\0');
			break;
		}
	addr_list_free(&l);
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct addr_list l = { 0 }, again = { 0 };
	struct err e = { 0 }, e2 = { 0 };
	int rc = addr_parse(text, size, &l, &e);

	REQUIRE(rc == 0 || rc == -1);
	if (rc < 0) {
		REQUIRE(e.kind == ERR_DATA);
		REQUIRE(e.text[0] != '\0');
	} else {
		REQUIRE(e.kind == ERR_NONE);
	}
	check_list(&l, text, size);

	/* the same text, the same answer */
	REQUIRE(addr_parse(text, size, &again, &e2) == rc);
	REQUIRE(e2.kind == e.kind && strcmp(e2.text, e.text) == 0);
	same_lists(&l, &again);
	addr_list_free(&again);

	if (rc == 0)
		check_qualified(&l, text, size);
	addr_list_free(&l);
	REQUIRE(l.v == NULL && l.n == 0);

	check_phrase(text, size);
	return 0;
}
