/* fuzz_hdr: bytes split into lines as msg does (at CR, LF or CRLF), pushed into the header parser,
 * every event pulled after each push. Checks the events against hdr.h and against the input: the
 * fields and the body line, put back together, are exactly the lines that were pushed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hdr.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct state {
	struct buf pushed;	/* the lines pushed before the end, each with "\n" */
	struct buf seen;	/* what the events gave back, the same way */
	int ends, blank, failed;
};

static void add(struct buf *b, const char *p, size_t n)
{
	if (buf_add(b, p, n) < 0)
		abort();
}

static void pull(struct hdr *h, struct state *st)
{
	struct hdr_ev ev;

	while (hdr_next(h, &ev) != HDR_NONE) {
		REQUIRE(st->ends == 0);	/* nothing after the end */
		if (ev.type == HDR_FIELD) {
			size_t i;

			REQUIRE(ev.name == ev.field && ev.name_len > 0 && ev.name_len < ev.len);
			REQUIRE(ev.len <= HDR_FIELD_MAX);
			REQUIRE(hdr_name_len(ev.field, ev.len) == ev.name_len);
			REQUIRE(hdr_is(&ev, "x") == (ev.name_len == 1 && (ev.name[0] | 0x20) == 'x'));
			for (i = ev.name_len; ev.field[i] == ' ' || ev.field[i] == '\t'; i++)
				;
			REQUIRE(ev.field[i] == ':');
			REQUIRE(ev.body == NULL);
			/* lines joined by CRLF; each continuation starts with a blank */
			for (i = 0; i < ev.len; i++) {
				if (ev.field[i] == '\r') {
					REQUIRE(i + 2 < ev.len && ev.field[i + 1] == '\n' &&
						(ev.field[i + 2] == ' ' || ev.field[i + 2] == '\t'));
					add(&st->seen, "\n", 1);
					i++;
				} else {
					REQUIRE(ev.field[i] != '\n');
					add(&st->seen, ev.field + i, 1);
				}
			}
			add(&st->seen, "\n", 1);
		} else {
			REQUIRE(ev.type == HDR_END);
			st->ends++;
			st->blank = ev.blank;
			REQUIRE(!ev.blank || ev.body == NULL);
			REQUIRE((ev.body == NULL) == (ev.body_len == 0));
			if (ev.body) {
				add(&st->seen, ev.body, ev.body_len);
				add(&st->seen, "\n", 1);
			}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct hdr h;
	struct err e;
	struct state st = { 0 };

	buf_init(&st.pushed, (size_t)-1 / 2);
	buf_init(&st.seen, (size_t)-1 / 2);
	hdr_init(&h);
	while (p < end) {
		const char *q = p;
		int was_end = st.ends;

		while (q < end && *q != '\r' && *q != '\n')
			q++;
		memset(&e, 0, sizeof e);
		if (hdr_push(&h, p, (size_t)(q - p), &e) < 0) {
			REQUIRE(e.kind == ERR_DATA);
			/* only at the cap (a field has CRLF where pushed has LF) */
			REQUIRE(2 * st.pushed.len + (size_t)(q - p) + 2 > HDR_FIELD_MAX);
			st.failed = 1;
			break;
		}
		if (!was_end && q > p)
			add(&st.pushed, p, (size_t)(q - p)), add(&st.pushed, "\n", 1);
		pull(&h, &st);
		if (q < end && *q == '\r' && q + 1 < end && q[1] == '\n')
			q++;
		p = q + (q < end);
	}
	if (!st.failed) {
		hdr_eof(&h);
		pull(&h, &st);
		REQUIRE(st.ends == 1);
		/* the fields and the body line are the pushed lines, in order, nothing lost */
		REQUIRE(st.seen.len == st.pushed.len);
		REQUIRE(memcmp(st.seen.data, st.pushed.data, st.seen.len) == 0);
	}
	hdr_free(&h);
	buf_free(&st.pushed);
	buf_free(&st.seen);
	return 0;
}
