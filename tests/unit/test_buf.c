/* Unit tests for buf: caps, invariants, consume, printf, cleaning, base64. */
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "unit.h"

/* The invariants from buf.h, checked after every operation. */
#define CHECK_INVARIANTS(b)                          \
	do {                                         \
		CHECK((b)->data != NULL);            \
		if ((b)->data)                       \
			CHECK((b)->data[(b)->len] == '\0'); \
		CHECK((b)->len <= (b)->max);         \
	} while (0)

/* Checks that b holds exactly the n bytes at p (and its invariants). */
#define CHECK_BUF(b, p, n)                                   \
	do {                                                 \
		CHECK_INVARIANTS(b);                         \
		CHECK_MEM((b)->data, (b)->len, (p), (size_t)(n)); \
	} while (0)

/* A table row: the input (in), a count (its length, or how many bytes to consume) and the
 * expected result (out). */
struct bytes_row {
	const char *in;
	size_t n;
	const char *out;
};

static void test_init_free(void)
{
	struct buf b;

	UNIT_CTX("init/free");
	buf_init(&b, 100);
	CHECK_BUF(&b, "", 0);
	CHECK_UINT(b.max, 100);
	buf_reset(&b);	/* on a buffer that never allocated */
	CHECK_BUF(&b, "", 0);
	buf_consume(&b, 0);
	CHECK_BUF(&b, "", 0);
	buf_free(&b);
	CHECK_BUF(&b, "", 0);
	CHECK_UINT(b.max, 100);	/* buf_free keeps the maximum: the buffer can be used again */
	CHECK_INT(buf_addstr(&b, "again"), 0);
	CHECK_BUF(&b, "again", 5);
	buf_free(&b);
	buf_free(&b);	/* twice is harmless */
	CHECK_BUF(&b, "", 0);
}

static void test_caps(void)
{
	static const size_t maxes[] = { 0, 1, 5, 63, 64, 65, 127, 128, 1000 };
	char big[1100];

	memset(big, 'a', sizeof big);
	for (size_t m = 0; m < sizeof maxes / sizeof maxes[0]; m++) {
		size_t max = maxes[m];
		struct buf b;

		UNIT_CTX("max %zu", max);
		buf_init(&b, max);
		/* empty additions always succeed, even with max 0 */
		CHECK_INT(buf_add(&b, "", 0), 0);
		CHECK_INT(buf_addstr(&b, ""), 0);
		CHECK_BUF(&b, "", 0);
		/* one byte at a time up to max */
		for (size_t i = 0; i < max; i++)
			if (!CHECK_INT(buf_addch(&b, 'a'), 0))
				break;
		CHECK_BUF(&b, big, max);
		/* every kind of growth past max fails and leaves the buffer as it was */
		CHECK_INT(buf_addch(&b, 'x'), -1);
		CHECK_BUF(&b, big, max);
		CHECK_INT(buf_add(&b, "xy", 2), -1);
		CHECK_BUF(&b, big, max);
		CHECK_INT(buf_addstr(&b, "x"), -1);
		CHECK_BUF(&b, big, max);
		CHECK_INT(buf_printf(&b, "%d", 7), -1);
		CHECK_BUF(&b, big, max);
		CHECK_INT(buf_add(&b, big, (size_t)-1), -1);	/* no overflow in len + n */
		CHECK_BUF(&b, big, max);
		CHECK_INT(buf_add(&b, "", 0), 0);	/* still fine when full */
		CHECK_BUF(&b, big, max);

		/* a single addition of exactly max bytes, and of max + 1 */
		buf_free(&b);
		CHECK_INT(buf_add(&b, big, max), 0);
		CHECK_BUF(&b, big, max);
		buf_free(&b);
		CHECK_INT(buf_add(&b, big, max + 1), -1);
		CHECK_BUF(&b, "", 0);
		/* partly filled, then an addition one byte too long */
		if (max >= 2) {
			buf_free(&b);
			CHECK_INT(buf_add(&b, "zz", 2), 0);
			CHECK_INT(buf_add(&b, big, max - 1), -1);
			CHECK_BUF(&b, "zz", 2);
			CHECK_INT(buf_add(&b, big, max - 2), 0);
			CHECK_UINT(b.len, max);
			CHECK_INVARIANTS(&b);
		}
		/* buf_printf of exactly max bytes, then past it */
		buf_free(&b);
		CHECK_INT(buf_printf(&b, "%.*s", (int)max, big), 0);
		CHECK_BUF(&b, big, max);
		buf_free(&b);
		CHECK_INT(buf_printf(&b, "%.*s", (int)max + 1, big), -1);
		CHECK_BUF(&b, "", 0);
		buf_free(&b);
	}
	UNIT_CTX_CLEAR();
}

static void test_growth(void)
{
	struct buf b;
	char expect[300000];
	size_t n = 0;

	UNIT_CTX("growth");
	buf_init(&b, sizeof expect);
	/* additions of every size from 0 up, across many reallocations */
	for (size_t k = 0; n + k <= sizeof expect; k++) {
		char piece[1000];

		for (size_t i = 0; i < k; i++)
			piece[i] = (char)('A' + (n + i) % 26);
		if (!CHECK_INT(buf_add(&b, piece, k), 0))
			break;
		memcpy(expect + n, piece, k);
		n += k;
		CHECK_INVARIANTS(&b);
		if (k == 700)
			break;
	}
	CHECK_BUF(&b, expect, n);
	CHECK(b.cap >= b.len && b.cap <= b.max);
	buf_free(&b);

	/* a huge max does not make the first allocation huge */
	buf_init(&b, (size_t)-1 / 2);
	CHECK_INT(buf_addch(&b, 'x'), 0);
	CHECK_BUF(&b, "x", 1);
	CHECK(b.cap < 4096);
	buf_free(&b);
	UNIT_CTX_CLEAR();
}

static void test_reset(void)
{
	struct buf b;
	size_t cap;

	UNIT_CTX("reset");
	buf_init(&b, 1000);
	CHECK_INT(buf_addstr(&b, "hello, world"), 0);
	cap = b.cap;
	buf_reset(&b);
	CHECK_BUF(&b, "", 0);
	CHECK_UINT(b.cap, cap);	/* keeps the memory */
	CHECK_INT(buf_addstr(&b, "x"), 0);
	CHECK_BUF(&b, "x", 1);
	buf_free(&b);
	UNIT_CTX_CLEAR();
}

static void test_embedded_nul(void)
{
	struct buf b;

	UNIT_CTX("NUL bytes");
	buf_init(&b, 100);
	CHECK_INT(buf_add(&b, "a\0b", 3), 0);
	CHECK_INT(buf_addch(&b, '\0'), 0);
	CHECK_BUF(&b, "a\0b\0", 4);
	buf_consume(&b, 1);
	CHECK_BUF(&b, "\0b\0", 3);
	buf_free(&b);
	UNIT_CTX_CLEAR();
}

static void test_consume(void)
{
	static const struct bytes_row t[] = {
		{ "", 0, "" },
		{ "abcdef", 0, "abcdef" },
		{ "abcdef", 1, "bcdef" },
		{ "abcdef", 5, "f" },
		{ "abcdef", 6, "" },
		{ "250-first\r\n250 second\r\n", 11, "250 second\r\n" },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct buf b;
		size_t cap;

		UNIT_CTX("consume row %zu", i);
		buf_init(&b, 64);
		CHECK_INT(buf_addstr(&b, t[i].in), 0);
		cap = b.cap;
		buf_consume(&b, t[i].n);
		CHECK_BUF(&b, t[i].out, strlen(t[i].out));
		CHECK_UINT(b.cap, cap);
		/* the buffer is usable afterwards, and the space is available again */
		CHECK_INT(buf_addstr(&b, "+"), 0);
		CHECK_UINT(b.len, strlen(t[i].out) + 1);
		CHECK_INVARIANTS(&b);
		buf_free(&b);
	}

	/* consuming frees room under the cap */
	struct buf b;

	UNIT_CTX("consume frees room");
	buf_init(&b, 4);
	CHECK_INT(buf_addstr(&b, "abcd"), 0);
	CHECK_INT(buf_addch(&b, 'e'), -1);
	buf_consume(&b, 2);
	CHECK_INT(buf_addstr(&b, "ef"), 0);
	CHECK_BUF(&b, "cdef", 4);
	buf_free(&b);

	/* a line reader's loop: consume one line at a time */
	UNIT_CTX("consume lines");
	buf_init(&b, 1000);
	CHECK_INT(buf_addstr(&b, "one\ntwo\nthree\n"), 0);
	const char *want[] = { "one", "two", "three" };
	for (size_t i = 0; i < 3; i++) {
		const char *nl = memchr(b.data, '\n', b.len);

		if (!CHECK(nl != NULL))
			break;
		CHECK_MEM(b.data, (size_t)(nl - b.data), want[i], strlen(want[i]));
		buf_consume(&b, (size_t)(nl - b.data) + 1);
		CHECK_INVARIANTS(&b);
	}
	CHECK_BUF(&b, "", 0);
	buf_free(&b);
	UNIT_CTX_CLEAR();
}

static void test_printf(void)
{
	struct buf b;
	char big[500];

	UNIT_CTX("printf");
	buf_init(&b, 1000);
	CHECK_INT(buf_printf(&b, "%s", ""), 0);	/* nothing, into a buffer with no memory yet */
	CHECK_BUF(&b, "", 0);
	CHECK_INT(buf_printf(&b, "MAIL FROM:<%s>", "a@example.org"), 0);
	CHECK_BUF(&b, "MAIL FROM:<a@example.org>", 25);
	CHECK_INT(buf_printf(&b, " SIZE=%lld%s", 12345LL, ""), 0);	/* appends */
	CHECK_BUF(&b, "MAIL FROM:<a@example.org> SIZE=12345", 36);
	CHECK_INT(buf_printf(&b, "%c%c", 0, 'x'), 0);	/* a NUL byte in the output */
	CHECK_BUF(&b, "MAIL FROM:<a@example.org> SIZE=12345\0x", 38);
	buf_reset(&b);
	/* longer than the first allocation */
	memset(big, 'q', sizeof big);
	CHECK_INT(buf_printf(&b, "<%.*s>", (int)sizeof big, big), 0);
	CHECK_UINT(b.len, sizeof big + 2);
	CHECK(b.data[0] == '<' && b.data[sizeof big + 1] == '>' && b.data[250] == 'q');
	CHECK_INVARIANTS(&b);
	/* past the cap: unchanged */
	CHECK_INT(buf_printf(&b, "%.*s", (int)sizeof big, big), -1);
	CHECK_UINT(b.len, sizeof big + 2);
	CHECK_INVARIANTS(&b);
	buf_free(&b);
	UNIT_CTX_CLEAR();
}

/* What buf_add_clean makes of each class of byte, written out by hand from the contract in
 * buf.h (printable ASCII stays, a backslash doubles, every other byte becomes \xNN with lower-case
 * hex digits), so the test shares no code, and no mistake, with buf.c. */
static const struct bytes_row clean_rows[] = {
	/* printable ASCII */
	{ "", 0, "" },
	{ " ", 1, " " },
	{ "250 OK", 6, "250 OK" },
	{ "!~", 2, "!~" },	/* the first and the last printable byte after the space */
	/* the backslash */
	{ "\\", 1, "\\\\" },
	{ "back\\slash", 10, "back\\\\slash" },
	{ "\\x41", 4, "\\\\x41" },	/* an escape-looking input stays distinguishable */
	/* controls */
	{ "\0", 1, "\\x00" },
	{ "\t", 1, "\\x09" },
	{ "a\r\nb", 4, "a\\x0d\\x0ab" },
	{ "\x1b[31mred", 8, "\\x1b[31mred" },
	{ "\x1f", 1, "\\x1f" },
	/* DEL */
	{ "\x7f", 1, "\\x7f" },
	{ "~\x7f", 2, "~\\x7f" },
	/* bytes from 0x80 on */
	{ "\x80", 1, "\\x80" },
	{ "\xa0", 1, "\\xa0" },
	{ "\xff", 1, "\\xff" },
	{ "Gr\xc3\xbc\xc3\x9f""e", 7, "Gr\\xc3\\xbc\\xc3\\x9fe" },
};

/* Bytes 0x00 to 0xff in order, cleaned: every class at once. */
static const char clean_all_bytes[] =
	"\\x00\\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08\\x09\\x0a\\x0b\\x0c\\x0d\\x0e\\x0f"
	"\\x10\\x11\\x12\\x13\\x14\\x15\\x16\\x17\\x18\\x19\\x1a\\x1b\\x1c\\x1d\\x1e\\x1f"
	" !\"#$%&'()*+,-./"
	"0123456789:;<=>?"
	"@ABCDEFGHIJKLMNO"
	"PQRSTUVWXYZ[\\\\]^_"
	"`abcdefghijklmno"
	"pqrstuvwxyz{|}~\\x7f"
	"\\x80\\x81\\x82\\x83\\x84\\x85\\x86\\x87\\x88\\x89\\x8a\\x8b\\x8c\\x8d\\x8e\\x8f"
	"\\x90\\x91\\x92\\x93\\x94\\x95\\x96\\x97\\x98\\x99\\x9a\\x9b\\x9c\\x9d\\x9e\\x9f"
	"\\xa0\\xa1\\xa2\\xa3\\xa4\\xa5\\xa6\\xa7\\xa8\\xa9\\xaa\\xab\\xac\\xad\\xae\\xaf"
	"\\xb0\\xb1\\xb2\\xb3\\xb4\\xb5\\xb6\\xb7\\xb8\\xb9\\xba\\xbb\\xbc\\xbd\\xbe\\xbf"
	"\\xc0\\xc1\\xc2\\xc3\\xc4\\xc5\\xc6\\xc7\\xc8\\xc9\\xca\\xcb\\xcc\\xcd\\xce\\xcf"
	"\\xd0\\xd1\\xd2\\xd3\\xd4\\xd5\\xd6\\xd7\\xd8\\xd9\\xda\\xdb\\xdc\\xdd\\xde\\xdf"
	"\\xe0\\xe1\\xe2\\xe3\\xe4\\xe5\\xe6\\xe7\\xe8\\xe9\\xea\\xeb\\xec\\xed\\xee\\xef"
	"\\xf0\\xf1\\xf2\\xf3\\xf4\\xf5\\xf6\\xf7\\xf8\\xf9\\xfa\\xfb\\xfc\\xfd\\xfe\\xff";

static void test_clean(void)
{
	struct buf b, each;
	unsigned char all[256];

	for (size_t i = 0; i < sizeof clean_rows / sizeof clean_rows[0]; i++) {
		UNIT_CTX("clean row %zu", i);
		buf_init(&b, 100);
		CHECK_INT(buf_addstr(&b, ">"), 0);	/* appends */
		CHECK_INT(buf_add_clean(&b, clean_rows[i].in, clean_rows[i].n), 0);
		CHECK_STR(b.data + 1, clean_rows[i].out);
		CHECK_UINT(b.len, strlen(clean_rows[i].out) + 1);
		CHECK_INVARIANTS(&b);
		buf_free(&b);
	}

	/* every byte, all at once and one at a time: the same text either way */
	for (int c = 0; c < 256; c++)
		all[c] = (unsigned char)c;
	UNIT_CTX("all bytes");
	buf_init(&b, 4096);
	CHECK_INT(buf_add_clean(&b, all, sizeof all), 0);
	CHECK_BUF(&b, clean_all_bytes, sizeof clean_all_bytes - 1);
	buf_init(&each, 4096);
	for (int c = 0; c < 256; c++) {
		UNIT_CTX("byte 0x%02x", c);
		buf_reset(&b);
		CHECK_INT(buf_add_clean(&b, &all[c], 1), 0);
		/* nothing that reaches a terminal raw: only printable ASCII comes out */
		for (size_t i = 0; i < b.len; i++)
			CHECK(b.data[i] >= 0x20 && b.data[i] < 0x7f);
		CHECK_INT(buf_add(&each, b.data, b.len), 0);
	}
	UNIT_CTX("all bytes one at a time");
	CHECK_BUF(&each, clean_all_bytes, sizeof clean_all_bytes - 1);
	buf_free(&each);
	buf_free(&b);

	/* cut to fit: what fits exactly goes in; past the cap -1, and (buf.h: "Growth past max
	 * fails with -1 and leaves the buffer unchanged") nothing of a partial escape stays behind */
	static const struct {
		const char *in;
		size_t n;
		size_t max;
		int rc;
		const char *out;
	} caps[] = {
		{ "abc", 3, 3, 0, "abc" },
		{ "abc", 3, 2, -1, "" },
		{ "\x01", 1, 4, 0, "\\x01" },
		{ "\x01", 1, 3, -1, "" },	/* the escape needs 4 bytes */
		{ "ab\x01", 3, 6, 0, "ab\\x01" },
		{ "ab\x01", 3, 5, -1, "" },	/* fails in the middle */
		{ "\\", 1, 2, 0, "\\\\" },
		{ "\\", 1, 1, -1, "" },
		{ "\xff", 1, 3, -1, "" },
	};
	for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
		UNIT_CTX("clean cap row %zu", i);
		buf_init(&b, caps[i].max);
		CHECK_INT(buf_add_clean(&b, caps[i].in, caps[i].n), caps[i].rc);
		CHECK_BUF(&b, caps[i].out, strlen(caps[i].out));
		buf_free(&b);
	}
	UNIT_CTX_CLEAR();
}

struct clean_str_case {
	size_t size;
	const char *in;
	size_t n;
	const char *want;
	char out[64];
};

/* Exits 0 when the result is c->want, 3 when it is something else. */
static void clean_str_child(void *arg)
{
	struct clean_str_case *c = arg;

	buf_clean_str(c->out, c->size, c->in, c->n);
	if (strcmp(c->out, c->want) != 0)
		_exit(3);
}

static void test_clean_str(void)
{
	static const struct {
		size_t size;
		const char *in;
		size_t n;
		const char *out;
	} t[] = {
		{ 64, "250 OK", 6, "250 OK" },
		{ 7, "250 OK", 6, "250 OK" },	/* exactly fits */
		{ 6, "250 OK", 6, "250 O" },	/* cut */
		{ 1, "250 OK", 6, "" },
		{ 64, "a\nb", 3, "a\\x0ab" },
		{ 4, "a\nb", 3, "a\\x" },	/* cut inside an escape: still printable */
		{ 64, "", 0, "" },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		char out[64];

		UNIT_CTX("clean_str row %zu", i);
		memset(out, '#', sizeof out);
		buf_clean_str(out, t[i].size, t[i].in, t[i].n);
		CHECK_STR(out, t[i].out);
		/* nothing written past size */
		for (size_t k = t[i].size; k < sizeof out; k++)
			if (!CHECK(out[k] == '#'))
				break;
	}

	UNIT_CTX("clean_str size 0");
	{
		char out[4] = "###";

		buf_clean_str(out, 0, "abc", 3);
		CHECK_STR(out, "###");
	}

	/* "cut to fit": input much longer than the destination must be cut, not end the
	 * process. buf_clean_str sizes its scratch buffer as size * 4 + 16 and calls err_oom()
	 * when the escaped input is longer, so this ends the process with EX_OSERR (71). */
	static const struct {
		size_t size;
		size_t n;
		int byte;
		const char *want;
	} longs[] = {
		{ 8, 100, 'a', "aaaaaaa" },
		{ 8, 13, 0x01, "\\x01\\x0" },	/* 13 escapes = 52 bytes > 8 * 4 + 16 */
		/* a long line from a peer into a 64-byte field */
		{ 64, 4096, 'x', "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" },
	};
	for (size_t i = 0; i < sizeof longs / sizeof longs[0]; i++) {
		struct clean_str_case c = { .size = longs[i].size, .n = longs[i].n,
					    .want = longs[i].want };
		char *in = malloc(longs[i].n);

		UNIT_CTX("clean_str long input row %zu (size %zu, %zu bytes)", i, longs[i].size,
			 longs[i].n);
		memset(in, longs[i].byte, longs[i].n);
		c.in = in;
		CHECK_INT(unit_in_child(clean_str_child, &c), 0);
		free(in);
	}
	UNIT_CTX_CLEAR();
}

static void test_base64(void)
{
	/* RFC 4648, section 10 */
	static const struct bytes_row t[] = {
		{ "", 0, "" },
		{ "f", 1, "Zg==" },
		{ "fo", 2, "Zm8=" },
		{ "foo", 3, "Zm9v" },
		{ "foob", 4, "Zm9vYg==" },
		{ "fooba", 5, "Zm9vYmE=" },
		{ "foobar", 6, "Zm9vYmFy" },
		/* the two last letters of the alphabet, and high bits */
		{ "\xfb\xff", 2, "+/8=" },
		{ "\xff\xff\xff", 3, "////" },
		{ "\0\0\0", 3, "AAAA" },
		{ "\0", 1, "AA==" },
		{ "\x14\xfb\x9c\x03\xd9\x7e", 6, "FPucA9l+" },	/* RFC 4648 section 9 */
		{ "\x14\xfb\x9c\x03\xd9", 5, "FPucA9k=" },
		{ "\x14\xfb\x9c\x03", 4, "FPucAw==" },
		/* SMTP AUTH PLAIN of "\0user\0pass" */
		{ "\0user\0pass", 10, "AHVzZXIAcGFzcw==" },
		/* RFC 4954 example: "\0tim\0tanstaaftanstaaf" */
		{ "\0tim\0tanstaaftanstaaf", 21, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm" },
	};
	struct buf b;

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		UNIT_CTX("base64 row %zu", i);
		buf_init(&b, 100);
		CHECK_INT(buf_add_base64(&b, t[i].in, t[i].n), 0);
		CHECK_BUF(&b, t[i].out, strlen(t[i].out));
		/* appends after existing text */
		CHECK_INT(buf_add_base64(&b, t[i].in, t[i].n), 0);
		CHECK_UINT(b.len, 2 * strlen(t[i].out));
		CHECK_INVARIANTS(&b);
		buf_free(&b);
	}

	/* all 256 byte values, checked by decoding */
	UNIT_CTX("base64 round trip");
	{
		static const char tab[] =
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		unsigned char all[256], back[256];
		size_t nb = 0;
		unsigned acc = 0;
		int bits = 0;

		for (int i = 0; i < 256; i++)
			all[i] = (unsigned char)i;
		buf_init(&b, 1000);
		CHECK_INT(buf_add_base64(&b, all, sizeof all), 0);
		CHECK_UINT(b.len, (sizeof all + 2) / 3 * 4);
		for (size_t i = 0; i < b.len && b.data[i] != '='; i++) {
			const char *q = strchr(tab, b.data[i]);

			if (!CHECK(q && *q))
				break;
			acc = (acc << 6) | (unsigned)(q - tab);
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				if (nb < sizeof back)
					back[nb++] = (unsigned char)(acc >> bits);
				acc &= (1u << bits) - 1;
			}
		}
		CHECK_MEM(back, nb, all, sizeof all);
		buf_free(&b);
	}

	/* past the cap: -1 and (buf.h) the buffer unchanged, also when the cap is reached after
	 * some groups of four were already written */
	static const struct {
		const char *in;
		size_t n;
		size_t max;
	} caps[] = {
		{ "f", 1, 3 },
		{ "foo", 3, 3 },
		{ "foobar", 6, 7 },	/* "Zm9v" fits, "YmFy" does not */
		{ "foob", 4, 4 },	/* "Zm9v" fits, "Yg==" does not */
	};
	for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
		UNIT_CTX("base64 cap row %zu", i);
		buf_init(&b, caps[i].max);
		CHECK_INT(buf_add_base64(&b, caps[i].in, caps[i].n), -1);
		CHECK_BUF(&b, "", 0);
		buf_free(&b);
	}
	UNIT_CTX_CLEAR();
}

/* Random operations against a plain model of the contents. */
static void test_model(void)
{
	static char model[4096];
	size_t mlen = 0;
	unsigned long long x = 88172645463325252ULL;
	struct buf b;

	buf_init(&b, sizeof model);
	for (int step = 0; step < 20000; step++) {
		char tmp[256];
		size_t n;
		int r, op;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		op = (int)(x % 7);
		n = (size_t)(x >> 8) % 200;
		for (size_t i = 0; i < n; i++)
			tmp[i] = (char)((x >> (i % 50)) + i);
		UNIT_CTX("model step %d op %d n %zu len %zu", step, op, n, mlen);
		switch (op) {
		case 0:
		case 1:
			r = buf_add(&b, tmp, n);
			if (CHECK_INT(r, mlen + n <= sizeof model ? 0 : -1) && r == 0) {
				memcpy(model + mlen, tmp, n);
				mlen += n;
			}
			break;
		case 2:
			r = buf_addch(&b, tmp[0]);
			if (CHECK_INT(r, mlen < sizeof model ? 0 : -1) && r == 0)
				model[mlen++] = tmp[0];
			break;
		case 3: {
			char f[32];
			size_t k = (size_t)snprintf(f, sizeof f, "%zu:", n);

			r = buf_printf(&b, "%zu:", n);
			if (CHECK_INT(r, mlen + k <= sizeof model ? 0 : -1) && r == 0) {
				memcpy(model + mlen, f, k);
				mlen += k;
			}
			break;
		}
		case 4:
			n = mlen ? n % (mlen + 1) : 0;
			buf_consume(&b, n);
			memmove(model, model + n, mlen - n);
			mlen -= n;
			break;
		case 5:
			if (n < 5) {
				buf_reset(&b);
				mlen = 0;
			}
			break;
		case 6:
			if (n < 3) {
				buf_free(&b);
				mlen = 0;
			}
			break;
		}
		CHECK_INVARIANTS(&b);
		if (!CHECK_MEM(b.data, b.len, model, mlen))
			break;
	}
	buf_free(&b);
	UNIT_CTX_CLEAR();
}

int main(void)
{
	test_init_free();
	test_caps();
	test_growth();
	test_reset();
	test_embedded_nul();
	test_consume();
	test_printf();
	test_clean();
	test_clean_str();
	test_base64();
	test_model();
	return unit_done();
}
