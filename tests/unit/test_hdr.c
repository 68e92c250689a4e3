/* Unit tests for hdr: each case pushes lines and compares the events, written out as text, with
 * the expected transcript (golden style). A transcript line is "WHEN: EVENT", WHEN being the
 * number of the push after which the event came out (from 1) or "eof" after hdr_eof():
 *   N: F <name> "<field>"           a field, CR and LF written as \r \n
 *   N: E blank=0|1 body="<line>"    the end; body=- when there is no body line
 *   N: ERR <kind>                   hdr_push returned -1 */
#include <string.h>

#include "buf.h"
#include "hdr.h"
#include "unit.h"

static void put_escaped(struct buf *t, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		int r;

		if (c == '\r')
			r = buf_addstr(t, "\\r");
		else if (c == '\n')
			r = buf_addstr(t, "\\n");
		else if (c == '\t')
			r = buf_addstr(t, "\\t");
		else if (c == '"' || c == '\\')
			r = buf_printf(t, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			r = buf_printf(t, "\\x%02x", c);
		else
			r = buf_addch(t, (char)c);
		if (r < 0)
			abort();
	}
}

/* The invariants of every event, whatever the input. */
static void check_event(const struct hdr_ev *ev)
{
	if (ev->type == HDR_FIELD) {
		size_t i;

		CHECK(ev->name != NULL && ev->field != NULL);
		CHECK(ev->name == ev->field);	/* the field starts with its name */
		CHECK(ev->name_len > 0);
		CHECK(ev->name_len < ev->len);
		CHECK(ev->len <= HDR_FIELD_MAX);
		CHECK_UINT(hdr_name_len(ev->field, ev->len), ev->name_len);
		for (i = ev->name_len; i < ev->len && (ev->field[i] == ' ' || ev->field[i] == '\t');
		     i++)
			;
		CHECK(i < ev->len && ev->field[i] == ':');
		CHECK(ev->body == NULL);
	} else if (ev->type == HDR_END) {
		CHECK(ev->blank == 0 || ev->blank == 1);
		if (ev->blank)
			CHECK(ev->body == NULL);
		CHECK((ev->body == NULL) == (ev->body_len == 0));
	}
}

/* Pulls every event, appending them to the transcript. Returns how many ENDs came out. */
static int pull(struct hdr *h, struct buf *t, const char *when)
{
	struct hdr_ev ev;
	int ends = 0;

	while (hdr_next(h, &ev) != HDR_NONE) {
		check_event(&ev);
		if (buf_printf(t, "%s: ", when) < 0)
			abort();
		if (ev.type == HDR_FIELD) {
			if (buf_add(t, "F ", 2) < 0 || buf_add(t, ev.name, ev.name_len) < 0 ||
			    buf_add(t, " \"", 2) < 0)
				abort();
			put_escaped(t, ev.field, ev.len);
			if (buf_addstr(t, "\"\n") < 0)
				abort();
		} else {
			ends++;
			if (buf_printf(t, "E blank=%d body=", ev.blank) < 0)
				abort();
			if (ev.body) {
				if (buf_addch(t, '"') < 0)
					abort();
				put_escaped(t, ev.body, ev.body_len);
				if (buf_addch(t, '"') < 0)
					abort();
			} else if (buf_addch(t, '-') < 0) {
				abort();
			}
			if (buf_addch(t, '\n') < 0)
				abort();
		}
	}
	return ends;
}

/* Runs lines (separated by '\n' in `in`; a final '\n' ends the last line, it does not add an
 * empty one) through a parser, then hdr_eof() when `eof`. */
static void run(const char *in, size_t inlen, int eof, struct buf *t)
{
	struct hdr h;
	struct err e;
	const char *p = in, *end = in + inlen;
	int k = 0, ends = 0;
	char when[16];

	hdr_init(&h);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		snprintf(when, sizeof when, "%d", ++k);
		memset(&e, 0, sizeof e);
		if (hdr_push(&h, p, n, &e) < 0) {
			CHECK_INT(e.kind, ERR_DATA);
			if (buf_printf(t, "%s: ERR %d\n", when, (int)e.kind) < 0)
				abort();
			hdr_free(&h);
			return;
		}
		ends += pull(&h, t, when);
		p += n + (nl ? 1 : 0);
	}
	if (eof) {
		hdr_eof(&h);
		ends += pull(&h, t, "eof");
		CHECK_INT(ends, 1);	/* exactly one end, always, once the input ended */
		hdr_eof(&h);	/* a second time: nothing more */
		CHECK_INT(pull(&h, t, "eof2"), 0);
	}
	CHECK(ends <= 1);
	hdr_free(&h);
}

static const struct {
	const char *name;
	const char *in;
	int eof;
	const char *out;
} cases[] = {
	{ "simple fields",
	  "From: Alice <alice@example.org>\n"
	  "To: bob@example.org\n"
	  "Subject: hello\n"
	  "\n"
	  "body\n",
	  1,
	  "2: F From \"From: Alice <alice@example.org>\"\n"
	  "3: F To \"To: bob@example.org\"\n"
	  "4: F Subject \"Subject: hello\"\n"
	  "4: E blank=1 body=-\n" },
	{ "folded fields",
	  "Subject: a long\n"
	  " subject\n"
	  "\tline\n"
	  "To: bob@example.org,\n"
	  "  carol@example.org\n"
	  "\n",
	  1,
	  "4: F Subject \"Subject: a long\\r\\n subject\\r\\n\\tline\"\n"
	  "6: F To \"To: bob@example.org,\\r\\n  carol@example.org\"\n"
	  "6: E blank=1 body=-\n" },
	{ "a fold that holds only blanks", "A: 1\n \nB: 2\n\n", 1,
	  "3: F A \"A: 1\\r\\n \"\n"
	  "4: F B \"B: 2\"\n"
	  "4: E blank=1 body=-\n" },
	{ "blanks before the colon", "Subject : x\nTo\t:y\nCc \t :\n\n", 1,
	  "2: F Subject \"Subject : x\"\n"
	  "3: F To \"To\\t:y\"\n"
	  "4: F Cc \"Cc \\t :\"\n"
	  "4: E blank=1 body=-\n" },
	{ "empty value, no blank after the colon", "X-Empty:\nX-Tight:v\n\n", 1,
	  "2: F X-Empty \"X-Empty:\"\n"
	  "3: F X-Tight \"X-Tight:v\"\n"
	  "3: E blank=1 body=-\n" },
	{ "unusual but valid name characters", "X-a_b.c!#$%&'*+/=?^`{|}~: v\n\n", 1,
	  "2: F X-a_b.c!#$%&'*+/=?^`{|}~ \"X-a_b.c!#$%&'*+/=?^`{|}~: v\"\n"
	  "2: E blank=1 body=-\n" },
	{ "first line starts with a blank: all body", " leading blank\nSubject: x\n\n", 1,
	  "1: E blank=0 body=\" leading blank\"\n" },
	{ "first line starts with a tab", "\tx\n", 1, "1: E blank=0 body=\"\\tx\"\n" },
	{ "a non-header line ends the section",
	  "Subject: x\nThis is the body.\nTo: y\n", 1,
	  "2: F Subject \"Subject: x\"\n"
	  "2: E blank=0 body=\"This is the body.\"\n" },
	{ "an mbox From_ line is no field", "From alice@example.org Sat Jun  1 12:00:00 2024\n"
	  "Subject: x\n", 1,
	  "1: E blank=0 body=\"From alice@example.org Sat Jun  1 12:00:00 2024\"\n" },
	{ "a line starting with a colon", "A: 1\n:x\n", 1,
	  "2: F A \"A: 1\"\n"
	  "2: E blank=0 body=\":x\"\n" },
	{ "a blank inside the name", "Sub ject: x\n", 1, "1: E blank=0 body=\"Sub ject: x\"\n" },
	{ "no colon at all", "Subject\n", 1, "1: E blank=0 body=\"Subject\"\n" },
	{ "8-bit byte in the name", "S\xc3\xbc" "bject: x\n", 1,
	  "1: E blank=0 body=\"S\\xc3\\xbcbject: x\"\n" },
	{ "control byte in the name", "Sub\x01ject: x\n", 1,
	  "1: E blank=0 body=\"Sub\\x01ject: x\"\n" },
	{ "DEL in the name", "Sub\x7fject: x\n", 1, "1: E blank=0 body=\"Sub\\x7fject: x\"\n" },
	{ "8-bit bytes in the value are fine", "Subject: Gr\xc3\xbc\xc3\x9f" "e\n\n", 1,
	  "2: F Subject \"Subject: Gr\\xc3\\xbc\\xc3\\x9fe\"\n"
	  "2: E blank=1 body=-\n" },
	{ "only an empty line", "\n", 1, "1: E blank=1 body=-\n" },
	{ "empty line, then more", "\nSubject: x\n\n", 1, "1: E blank=1 body=-\n" },
	{ "no input at all", "", 1, "eof: E blank=0 body=-\n" },
	{ "EOF inside a field", "Subject: x\n y", 1,
	  "eof: F Subject \"Subject: x\\r\\n y\"\n"
	  "eof: E blank=0 body=-\n" },
	{ "EOF after a complete field", "A: 1\nB: 2\n", 1,
	  "2: F A \"A: 1\"\n"
	  "eof: F B \"B: 2\"\n"
	  "eof: E blank=0 body=-\n" },
	{ "no EOF: the last field waits", "A: 1\nB: 2\n", 0, "2: F A \"A: 1\"\n" },
	{ "the end comes with the field before it", "A: 1\n\n", 0,
	  "2: F A \"A: 1\"\n"
	  "2: E blank=1 body=-\n" },
	{ "the body line comes with the field before it", "A: 1\n body? no: fold\nbody\n", 0,
	  "3: F A \"A: 1\\r\\n body? no: fold\"\n"
	  "3: E blank=0 body=\"body\"\n" },
	{ "pushes after the end are ignored", "A: 1\n\nB: 2\n\nC: 3\n", 1,
	  "2: F A \"A: 1\"\n"
	  "2: E blank=1 body=-\n" },
	{ "a CR inside a line is data", "A: 1\r\n\r\n", 1,
	  "2: F A \"A: 1\\r\"\n"
	  "2: E blank=0 body=\"\\r\"\n" },
	{ "many fields",
	  "Received: from a by b; Sat, 1 Jun 2024 12:00:00 +0000\n"
	  "Received: from c\n"
	  "\tby d; Sat, 1 Jun 2024 11:59:00 +0000\n"
	  "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=s1;\n"
	  "\th=from:to:subject; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\n"
	  "\tb=AbCd\n"
	  "MIME-Version: 1.0\n"
	  "Content-Type: multipart/alternative;\n"
	  " boundary=\"b1\"\n"
	  "\n"
	  "--b1\n",
	  1,
	  "2: F Received \"Received: from a by b; Sat, 1 Jun 2024 12:00:00 +0000\"\n"
	  "4: F Received \"Received: from c\\r\\n\\tby d; Sat, 1 Jun 2024 11:59:00 +0000\"\n"
	  "7: F DKIM-Signature \"DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=s1;\\r\\n"
	  "\\th=from:to:subject; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\\r\\n\\tb=AbCd\"\n"
	  "8: F MIME-Version \"MIME-Version: 1.0\"\n"
	  "10: F Content-Type \"Content-Type: multipart/alternative;\\r\\n boundary=\\\"b1\\\"\"\n"
	  "10: E blank=1 body=-\n" },
};

static void test_cases(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct buf t;

		UNIT_CTX("hdr case '%s'", cases[i].name);
		buf_init(&t, 1 << 20);
		run(cases[i].in, strlen(cases[i].in), cases[i].eof, &t);
		CHECK_STR(t.data, cases[i].out);
		buf_free(&t);
	}
	UNIT_CTX_CLEAR();
}

/* A NUL byte is data to hdr (msg refuses it before); lengths, not terminators, count. */
static void test_nul(void)
{
	struct buf t;

	UNIT_CTX("NUL in a value");
	buf_init(&t, 4096);
	run("A: x\0y\n\n", 8, 1, &t);
	CHECK_STR(t.data, "2: F A \"A: x\\x00y\"\n2: E blank=1 body=-\n");
	buf_free(&t);
	UNIT_CTX("NUL in a name");
	buf_init(&t, 4096);
	run("A\0: x\n", 6, 1, &t);
	CHECK_STR(t.data, "1: E blank=0 body=\"A\\x00: x\"\n");
	buf_free(&t);
	UNIT_CTX_CLEAR();
}

static void test_field_max(void)
{
	char *line = malloc(HDR_FIELD_MAX + 2);
	struct hdr h;
	struct hdr_ev ev;
	struct err e;

	memset(line, 'x', HDR_FIELD_MAX + 2);
	memcpy(line, "X-Big: ", 7);

	/* one line of exactly HDR_FIELD_MAX bytes is a field */
	UNIT_CTX("one line at the cap");
	hdr_init(&h);
	CHECK_INT(hdr_push(&h, line, HDR_FIELD_MAX, &e), 0);
	CHECK_INT(hdr_push(&h, "", 0, &e), 0);
	CHECK_INT(hdr_next(&h, &ev), HDR_FIELD);
	CHECK_UINT(ev.len, HDR_FIELD_MAX);
	CHECK_UINT(ev.name_len, 5);
	CHECK_INT(hdr_next(&h, &ev), HDR_END);
	hdr_free(&h);

	/* one more byte is ERR_DATA */
	UNIT_CTX("one line past the cap");
	hdr_init(&h);
	memset(&e, 0, sizeof e);
	CHECK_INT(hdr_push(&h, line, HDR_FIELD_MAX + 1, &e), -1);
	CHECK_INT(e.kind, ERR_DATA);
	CHECK(e.text[0] != '\0');
	hdr_free(&h);

	/* the cap counts the whole field: its lines and the CRLFs between them */
	UNIT_CTX("folded field at the cap");
	for (int over = 0; over <= 1; over++) {
		size_t first = HDR_FIELD_MAX / 2, second;
		int rc;

		/* first + 2 (CRLF) + second == HDR_FIELD_MAX + over */
		second = HDR_FIELD_MAX + (size_t)over - first - 2;
		hdr_init(&h);
		CHECK_INT(hdr_push(&h, line, first, &e), 0);
		line[first] = ' ';	/* a continuation line starts with a blank */
		memset(&e, 0, sizeof e);
		rc = hdr_push(&h, line + first, second, &e);
		line[first] = 'x';
		if (over) {
			CHECK_INT(rc, -1);
			CHECK_INT(e.kind, ERR_DATA);
		} else {
			CHECK_INT(rc, 0);
			hdr_eof(&h);
			CHECK_INT(hdr_next(&h, &ev), HDR_FIELD);
			CHECK_UINT(ev.len, HDR_FIELD_MAX);
			CHECK(ev.field[first] == '\r' && ev.field[first + 1] == '\n' &&
			      ev.field[first + 2] == ' ');
		}
		hdr_free(&h);
	}

	/* many short folds add up */
	UNIT_CTX("many folds");
	{
		int rc = 0;
		long i;

		hdr_init(&h);
		CHECK_INT(hdr_push(&h, "X-Many: a", 9, &e), 0);
		for (i = 0; i < HDR_FIELD_MAX && rc == 0; i++)
			rc = hdr_push(&h, " b", 2, &e);
		CHECK_INT(rc, -1);
		CHECK_INT(e.kind, ERR_DATA);
		/* 9 + 4 * n <= HDR_FIELD_MAX: the push that fails is number n + 1 */
		CHECK_INT(i, (HDR_FIELD_MAX - 9) / 4 + 1);
		hdr_free(&h);
	}

	/* the cap is per field: many fields just under it are fine */
	UNIT_CTX("many large fields");
	{
		int rc = 0, n = 0;

		hdr_init(&h);
		for (int i = 0; i < 4; i++) {
			rc |= hdr_push(&h, line, HDR_FIELD_MAX, &e);
			while (hdr_next(&h, &ev) != HDR_NONE)
				n++;
		}
		hdr_eof(&h);
		while (hdr_next(&h, &ev) != HDR_NONE)
			n++;
		CHECK_INT(rc, 0);
		CHECK_INT(n, 5);
		hdr_free(&h);
	}
	free(line);
	UNIT_CTX_CLEAR();
}

/* Pointers of an event stay valid until the next push, also across hdr_next calls. */
static void test_pointer_life(void)
{
	struct hdr h;
	struct hdr_ev a, b;
	struct err e;

	UNIT_CTX("pointer life");
	hdr_init(&h);
	CHECK_INT(hdr_push(&h, "A: 1", 4, &e), 0);
	CHECK_INT(hdr_push(&h, "Body line", 9, &e), 0);
	CHECK_INT(hdr_next(&h, &a), HDR_FIELD);
	CHECK_INT(hdr_next(&h, &b), HDR_END);
	CHECK_MEM(a.field, a.len, "A: 1", 4);
	CHECK_MEM(b.body, b.body_len, "Body line", 9);
	CHECK_INT(hdr_next(&h, &b), HDR_NONE);
	CHECK_INT(b.type, HDR_NONE);
	CHECK(b.field == NULL && b.body == NULL);
	hdr_free(&h);
	UNIT_CTX_CLEAR();
}

static void test_is(void)
{
	static const struct {
		const char *line;
		const char *name;
		int is;
	} t[] = {
		{ "From: a", "From", 1 },
		{ "from: a", "From", 1 },
		{ "FROM: a", "From", 1 },
		{ "fRoM: a", "FROM", 1 },
		{ "From : a", "From", 1 },
		{ "From\t: a", "from", 1 },
		{ "Message-Id: <x@y>", "Message-ID", 1 },
		{ "MESSAGE-ID: <x@y>", "Message-ID", 1 },
		{ "From: a", "Fro", 0 },
		{ "From: a", "Froms", 0 },
		{ "Fro: a", "From", 0 },
		{ "Resent-From: a", "From", 0 },
		{ "From-X: a", "From", 0 },
		{ "Date: x", "Date", 1 },
		{ "Dates: x", "Date", 0 },
		{ "X: x", "x", 1 },
		{ "X: x", "", 0 },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct hdr h;
		struct hdr_ev ev;
		struct err e;

		UNIT_CTX("hdr_is row %zu: '%s' is '%s'", i, t[i].line, t[i].name);
		hdr_init(&h);
		CHECK_INT(hdr_push(&h, t[i].line, strlen(t[i].line), &e), 0);
		hdr_eof(&h);
		if (CHECK_INT(hdr_next(&h, &ev), HDR_FIELD))
			CHECK_INT(!!hdr_is(&ev, t[i].name), t[i].is);
		hdr_free(&h);
	}
	UNIT_CTX_CLEAR();
}

static void test_name_len(void)
{
	static const struct {
		const char *line;
		int len;	/* -1: strlen */
		size_t want;
	} t[] = {
		{ "Subject: x", -1, 7 },
		{ "Subject:", -1, 7 },
		{ "Subject:x", -1, 7 },
		{ "A:", -1, 1 },
		{ "~!:", -1, 2 },
		{ "Subject :x", -1, 7 },
		{ "Subject \t \t:x", -1, 7 },
		{ ":", -1, 0 },
		{ ": x", -1, 0 },
		{ " :", -1, 0 },
		{ "", -1, 0 },
		{ "Subject", -1, 0 },
		{ "Subject ", -1, 0 },
		{ "Subject x: y", -1, 0 },
		{ " Subject: x", -1, 0 },
		{ "\tSubject: x", -1, 0 },
		{ "Sub\x01ject: x", -1, 0 },
		{ "Sub\x7fject: x", -1, 0 },
		{ "S\xc3\xbc" "bject: x", -1, 0 },
		{ "\x80:", -1, 0 },
		{ "\xff:", -1, 0 },
		{ "Subject\r: x", -1, 0 },
		{ "Subject\n: x", -1, 0 },
		/* the length counts, not the terminator */
		{ "Subject: x", 7, 0 },
		{ "Subject: x", 8, 7 },
		{ "Subject  : x", 9, 0 },
		{ "Subject  : x", 10, 7 },
		{ "Subject: x", 0, 0 },
		{ "A:", 1, 0 },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		size_t n = t[i].len < 0 ? strlen(t[i].line) : (size_t)t[i].len;
		char *copy = malloc(n ? n : 1);	/* exactly n bytes: ASan sees reads past them */

		UNIT_CTX("hdr_name_len row %zu", i);
		memcpy(copy, t[i].line, n);
		CHECK_UINT(hdr_name_len(copy, n), t[i].want);
		free(copy);
	}
	UNIT_CTX_CLEAR();
}

int main(void)
{
	test_cases();
	test_nul();
	test_field_max();
	test_pointer_life();
	test_is();
	test_name_len();
	return unit_done();
}
