/* Unit tests for addr: each case parses one field body and compares the addresses, written out
 * one per line as
 *   spec|name|start-end|local_end|has_domain      (name "-" when there is none)
 * with the expected text; errors are compared by their kind and a fragment of their message.
 * Every address of every case is also checked against the invariants of addr.h (positions
 * inside the text and ordered, spec not empty, the local part ending where "@domain" goes). */
#include <string.h>

#include "addr.h"
#include "buf.h"
#include "unit.h"

/* The invariants of one parsed address, whatever the input. */
static void check_addr(const struct addr *a, const char *text, size_t len)
{
	CHECK(a->spec != NULL);
	if (!a->spec)
		return;
	CHECK(a->spec[0] != '\0');
	CHECK(strlen(a->spec) <= ADDR_MAX);
	CHECK(a->start < a->end);
	CHECK(a->end <= len);
	CHECK(a->start <= a->local_end);
	CHECK(a->local_end <= a->end);
	CHECK(a->has_domain == 0 || a->has_domain == 1);
	if (a->start < a->end && a->end <= len) {
		/* an address starts and ends with part of it, never with a blank */
		CHECK(text[a->start] != ' ' && text[a->start] != '\t');
		CHECK(text[a->end - 1] != ' ' && text[a->end - 1] != '\t');
	}
	if (!a->has_domain) {
		CHECK_UINT(a->local_end, a->end);	/* all of it is the local part */
		CHECK(strchr(a->spec, '@') == NULL || a->spec[0] == '"');
	} else {
		CHECK(a->local_end < a->end);
		CHECK(strrchr(a->spec, '@') != NULL);
	}
}

/* Parses exactly len bytes (a copy without terminator, so ASan sees reads past the end) into
 * the transcript; returns addr_parse's result. */
static int parse(const char *text, size_t len, struct buf *t, struct err *e, size_t *count)
{
	struct addr_list l = { 0 };
	char *copy = malloc(len ? len : 1);
	int rc;

	memcpy(copy, text, len);
	memset(e, 0, sizeof *e);
	rc = addr_parse(copy, len, &l, e);
	for (size_t i = 0; i < l.n; i++) {
		const struct addr *a = &l.v[i];

		check_addr(a, copy, len);
		if (buf_printf(t, "%s|%s|%zu-%zu|%zu|%d\n", a->spec ? a->spec : "(null)",
			       a->name ? a->name : "-", a->start, a->end, a->local_end,
			       a->has_domain) < 0)
			abort();
	}
	if (count)
		*count = l.n;
	addr_list_free(&l);
	CHECK(l.v == NULL && l.n == 0);	/* freed and zeroed */
	free(copy);
	return rc;
}

struct acase {
	const char *name;
	const char *in;
	const char *want;	/* the transcript (what came before, when it fails) */
	const char *err;	/* NULL: it parses; else a fragment of the message */
};

static const struct acase cases[] = {
	/* plain forms */
	{ "addr-spec", "alice@example.org", "alice@example.org|-|0-17|5|1\n", NULL },
	{ "a bare local name", "root", "root|-|0-4|4|0\n", NULL },
	{ "name-addr", "Bob <bob@example.net>", "bob@example.net|Bob|5-20|8|1\n", NULL },
	{ "name-addr with a local name", "Bob <bob>", "bob|Bob|5-8|8|0\n", NULL },
	{ "angle-addr alone", "<a@b>", "a@b|-|1-4|2|1\n", NULL },
	{ "a phrase of several words, blanks squeezed, obsolete '.'", "Bob   Q.  Example <b@x>",
	  "b@x|Bob Q. Example|19-22|20|1\n", NULL },
	{ "a quoted display name kept with its quotes", "\"(Cron Daemon)\" <root>",
	  "root|\"(Cron Daemon)\"|17-21|21|0\n", NULL },
	{ "an encoded word as display name, kept as it is", "=?UTF-8?B?SsO8cmdlbg==?= <j@x>",
	  "j@x|=?UTF-8?B?SsO8cmdlbg==?=|26-29|27|1\n", NULL },
	{ "several addresses", "a@x, Bob <b@y>, c",
	  "a@x|-|0-3|1|1\nb@y|Bob|10-13|11|1\nc|-|16-17|17|0\n", NULL },
	{ "a folded field", "alice,\r\n bob", "alice|-|0-5|5|0\nbob|-|9-12|12|0\n", NULL },

	/* comments */
	{ "the comment after a bare address is its name", "root (Cron Daemon)",
	  "root|Cron Daemon|0-4|4|0\n", NULL },
	{ "a comment name that is no atom is quoted", "a@b (J. Doe)", "a@b|\"J. Doe\"|0-3|1|1\n",
	  NULL },
	{ "nested comments", "a@b (outer (inner) text)", "a@b|\"outer (inner) text\"|0-3|1|1\n",
	  NULL },
	{ "a quoted pair in a comment stands for the character", "x@y (a \\) b)",
	  "x@y|\"a ) b\"|0-3|1|1\n", NULL },
	{ "comments inside an addr-spec are no name", "a(c1).(c2)b@(c3)example.org",
	  "a.b@example.org|-|0-27|11|1\n", NULL },
	{ "a comment after an angle-addr", "Alice <a@b> (work), c@d",
	  "a@b|Alice|7-10|8|1\nc@d|-|20-23|21|1\n", NULL },
	{ "only a comment", "(nobody)", "", NULL },

	/* groups and empty members */
	{ "an empty group", "undisclosed-recipients:;", "", NULL },
	{ "a group and an address after it", "friends: a@x, b@y;, c@z",
	  "a@x|-|9-12|10|1\nb@y|-|14-17|15|1\nc@z|-|20-23|21|1\n", NULL },
	{ "a group without ';' at the end", "team: a@x, b@y", "a@x|-|6-9|7|1\nb@y|-|11-14|12|1\n",
	  NULL },
	{ "a group of name-addrs", "Team: Alice <a@x>, \"Bob B.\" <b@y>;",
	  "a@x|Alice|13-16|14|1\nb@y|\"Bob B.\"|29-32|30|1\n", NULL },
	{ "an empty group, then an address", "Undisclosed recipients:;, bob@x",
	  "bob@x|-|26-31|29|1\n", NULL },
	{ "empty list members", ",, a@x ,, b@y,", "a@x|-|3-6|4|1\nb@y|-|10-13|11|1\n", NULL },
	{ "empty text", "", "", NULL },
	{ "blanks only", " \t\r\n ", "", NULL },
	{ "the null address", "<>", "", NULL },
	{ "the null address with a name", "Bob <>", "", NULL },

	/* local parts */
	{ "a quoted local part", "\"john doe\"@example.org", "\"john doe\"@example.org|-|0-22|10|1\n",
	  NULL },
	{ "a quoted local part with escapes", "\"a\\\"b\"@x", "\"a\\\"b\"@x|-|0-8|6|1\n", NULL },
	{ "a quoted local name without domain", "\"john doe\" (J)",
	  "\"john doe\"|J|0-10|10|0\n", NULL },
	{ "obsolete: blanks around '.'", "a . b", "a.b|-|0-5|5|0\n", NULL },
	{ "obsolete: a dot before '@'", "a.@b", "a.@b|-|0-4|2|1\n", NULL },
	{ "obsolete: two dots", "a..b@c", "a..b@c|-|0-6|4|1\n", NULL },

	/* domains */
	{ "a domain literal", "user@[192.0.2.1]", "user@[192.0.2.1]|-|0-16|4|1\n", NULL },
	{ "an IPv6 domain literal", "user@[IPv6:2001:db8::1]", "user@[IPv6:2001:db8::1]|-|0-23|4|1\n",
	  NULL },
	{ "an obsolete route", "<@a.example,@b.example:user@c.example>",
	  "user@c.example|-|23-37|27|1\n", NULL },
	{ "an obsolete route after a name", "Joe <@relay.example:joe@example.org>",
	  "joe@example.org|Joe|20-35|23|1\n", NULL },

	/* UTF-8 (RFC 6532) */
	{ "UTF-8 in name, local part and domain", "Zo\xc3\xab <zo\xc3\xab@b\xc3\xbc" "cher.example>",
	  "zo\xc3\xab@b\xc3\xbc" "cher.example|Zo\xc3\xab|6-26|10|1\n", NULL },
	{ "a UTF-8 bare address", "j\xc3\xbcrgen", "j\xc3\xbcrgen|-|0-7|7|0\n", NULL },

	/* errors: the kind is ERR_DATA, the message says what is wrong */
	{ "'<' without '>'", "<a@b", "", "'<' without '>'" },
	{ "'>' without '<'", "a@b>", "", "'>' without '<'" },
	{ "an unclosed comment", "a@b (unclosed", "", "unbalanced parenthesis" },
	{ "an unclosed nested comment", "a@b (x (y)", "", "unbalanced parenthesis" },
	{ "an unterminated quoted string", "\"unterminated", "", "unterminated quoted string" },
	{ "an unterminated domain literal", "a@[1.2.3.4", "", "unterminated domain literal" },
	{ "'[' inside a domain literal", "a@[1[2]", "", "'[' inside a domain literal" },
	{ "two '@'", "a@b@c", "", "more than one '@'" },
	{ "an empty local part", "@b", "", "empty local part" },
	{ "an empty domain", "a@", "", "empty domain" },
	{ "two words without brackets", "john doe", "", "words without '.'" },
	{ "a quoted string as domain", "a@\"q\"", "", "a quoted string is not a domain" },
	{ "a domain literal as local part", "[1.2.3.4]@x", "", "a domain literal is not a local part" },
	{ "text after '>'", "Bob <a@b> c", "", "text after '>'" },
	{ "a stray ')'", "a)b", "", "unexpected ')'" },
	{ "a stray ']'", "a]b", "", "unexpected ']'" },
	{ "a stray backslash", "a\\b", "", "unexpected '\\'" },
	{ "a control character", "a\x01" "b@c", "", "control character 0x01" },
	{ "DEL", "a\x7f@c", "", "control character 0x7f" },
	{ "a route without ':'", "<@a.example user@b>", "", "a source route without ':'" },
	{ "';' outside a group", "a@b;c", "", "unexpected ';'" },
	{ "a group inside a group", "a: b: c@d;;", "", "unexpected ':'" },
	{ "a domain starting with a dot", "a@.example.org", "", "domain" },
	{ "a domain with two dots", "a@example..org", "", "domain" },
	{ "an error after an address keeps what came before", "a@x, <b@y", "a@x|-|0-3|1|1\n",
	  "'<' without '>'" },

	/* what would end an SMTP command never gets into a spec ("" : any message) */
	{ "a line break inside a quoted string", "\"a\r\nRCPT TO:<e@x>\"@y", "", "" },
	{ "a bare LF inside a quoted string", "\"a\nb\"@x", "", "" },
	{ "a bare CR inside a quoted string", "\"a\rb\"@x", "", "" },
	{ "a line break inside a domain literal", "a@[192.0.2.1\r\nRCPT TO:<e@x>]", "", "" },
	{ "a folded quoted string is unfolded", "\"a\r\n b\"@x", "\"a b\"@x|-|0-9|7|1\n", NULL },
};

static void test_cases(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct acase *c = &cases[i];
		struct buf t;
		struct err e;
		int rc;

		UNIT_CTX("addr case '%s'", c->name);
		buf_init(&t, 1 << 20);
		rc = parse(c->in, strlen(c->in), &t, &e, NULL);
		CHECK_STR(t.data, c->want);
		if (c->err) {
			CHECK_INT(rc, -1);
			CHECK_INT(e.kind, ERR_DATA);
			if (!CHECK(strstr(e.text, c->err) != NULL))
				fprintf(stderr, "    message: \"%s\"\n    wanted:  \"%s\"\n", e.text, c->err);
		} else {
			if (!CHECK_INT(rc, 0))
				fprintf(stderr, "    error: %s\n", e.text);
			CHECK_INT(e.kind, ERR_NONE);
		}
		buf_free(&t);
	}
	UNIT_CTX_CLEAR();
}

/* A NUL byte inside the given length is a control character, not the end. */
static void test_nul(void)
{
	struct buf t;
	struct err e;

	UNIT_CTX("NUL inside the text");
	buf_init(&t, 1 << 20);
	CHECK_INT(parse("a\0b@c", 5, &t, &e, NULL), -1);
	CHECK_INT(e.kind, ERR_DATA);
	CHECK(strstr(e.text, "0x00") != NULL);
	buf_reset(&t);

	UNIT_CTX("NUL inside a quoted string");
	buf_reset(&t);
	CHECK_INT(parse("\"a\0b\"@c", 7, &t, &e, NULL), -1);
	CHECK_INT(e.kind, ERR_DATA);
	CHECK_STR(t.data, "");
	buf_reset(&t);

	UNIT_CTX("only the given length is read");
	CHECK_INT(parse("a@b, c@d", 3, &t, &e, NULL), 0);
	CHECK_STR(t.data, "a@b|-|0-3|1|1\n");
	buf_free(&t);
	UNIT_CTX_CLEAR();
}

/* Parsing into a list that holds addresses appends. */
static void test_append(void)
{
	struct addr_list l = { 0 };
	struct err e = { 0 };

	UNIT_CTX("addr_parse appends");
	CHECK_INT(addr_parse("a@x, b@y", 8, &l, &e), 0);
	CHECK_INT(addr_parse("c@z", 3, &l, &e), 0);
	if (CHECK_UINT(l.n, 3)) {
		CHECK_STR(l.v[0].spec, "a@x");
		CHECK_STR(l.v[2].spec, "c@z");
		CHECK_UINT(l.v[2].start, 0);	/* positions are in the text of its own call */
	}
	addr_list_free(&l);
	addr_list_free(&l);	/* twice is harmless */
	UNIT_CTX_CLEAR();
}

/* What msg does with the positions: "@domain" inserted at local_end of each address without
 * one gives the qualified field, the rest of the text untouched. */
static void test_qualify(void)
{
	static const struct {
		const char *in, *want;
	} t[] = {
		{ "root", "root@example.org" },
		{ "root (Cron Daemon)", "root@example.org (Cron Daemon)" },
		{ "\"(Cron Daemon)\" <root>", "\"(Cron Daemon)\" <root@example.org>" },
		{ "Bob <bob>, alice@x, \"john doe\"", "Bob <bob@example.org>, alice@x, \"john doe\"@example.org" },
		{ "team: carol, dave (D);", "team: carol@example.org, dave@example.org (D);" },
		{ "alice,\r\n\tbob", "alice@example.org,\r\n\tbob@example.org" },
		{ "a . b", "a . b@example.org" },
		{ "a(c).b (name)", "a(c).b@example.org (name)" },
		{ "undisclosed-recipients:;", "undisclosed-recipients:;" },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct addr_list l = { 0 };
		struct err e = { 0 };
		struct buf out;
		size_t done = 0, len = strlen(t[i].in);

		UNIT_CTX("qualify '%s'", t[i].in);
		buf_init(&out, 1 << 16);
		if (!CHECK_INT(addr_parse(t[i].in, len, &l, &e), 0)) {
			addr_list_free(&l);
			buf_free(&out);
			continue;
		}
		for (size_t k = 0; k < l.n; k++) {
			if (l.v[k].has_domain)
				continue;
			if (buf_add(&out, t[i].in + done, l.v[k].local_end - done) < 0 ||
			    buf_addstr(&out, "@example.org") < 0)
				abort();
			done = l.v[k].local_end;
		}
		if (buf_add(&out, t[i].in + done, len - done) < 0)
			abort();
		CHECK_STR(out.data, t[i].want);
		addr_list_free(&l);
		buf_free(&out);
	}
	UNIT_CTX_CLEAR();
}

/* The caps: ADDR_MAX bytes in an address, ADDR_COUNT_MAX addresses in a field. */
static void test_caps(void)
{
	struct buf in, t;
	struct err e;
	size_t n;

	buf_init(&in, 1 << 20);
	buf_init(&t, 1 << 24);

	UNIT_CTX("an address of ADDR_MAX bytes");
	for (size_t i = 0; i < ADDR_MAX - 12; i++)
		if (buf_addch(&in, 'a') < 0)
			abort();
	if (buf_addstr(&in, "@example.org") < 0)
		abort();
	CHECK_UINT(in.len, ADDR_MAX);
	CHECK_INT(parse(in.data, in.len, &t, &e, &n), 0);
	CHECK_UINT(n, 1);

	UNIT_CTX("an address of ADDR_MAX + 1 bytes");
	buf_reset(&in);
	buf_reset(&t);
	for (size_t i = 0; i < ADDR_MAX - 11; i++)
		if (buf_addch(&in, 'a') < 0)
			abort();
	if (buf_addstr(&in, "@example.org") < 0)
		abort();
	CHECK_INT(parse(in.data, in.len, &t, &e, &n), -1);
	CHECK_INT(e.kind, ERR_DATA);
	CHECK(strstr(e.text, "998") != NULL);
	CHECK_UINT(n, 0);

	UNIT_CTX("ADDR_COUNT_MAX addresses");
	buf_reset(&in);
	for (int i = 0; i < ADDR_COUNT_MAX; i++)
		if (buf_printf(&in, "%sa%d@x", i ? "," : "", i) < 0)
			abort();
	buf_reset(&t);
	CHECK_INT(parse(in.data, in.len, &t, &e, &n), 0);
	CHECK_UINT(n, ADDR_COUNT_MAX);

	UNIT_CTX("ADDR_COUNT_MAX + 1 addresses");
	if (buf_addstr(&in, ",last@x") < 0)
		abort();
	buf_reset(&t);
	CHECK_INT(parse(in.data, in.len, &t, &e, &n), -1);
	CHECK_INT(e.kind, ERR_DATA);
	CHECK(strstr(e.text, "10000") != NULL);

	UNIT_CTX("ADDR_COUNT_MAX + 1 addresses in a group");
	buf_reset(&in);
	if (buf_addstr(&in, "everyone:") < 0)
		abort();
	for (int i = 0; i <= ADDR_COUNT_MAX; i++)
		if (buf_printf(&in, "%sa%d@x", i ? "," : "", i) < 0)
			abort();
	if (buf_addstr(&in, ";") < 0)
		abort();
	buf_reset(&t);
	CHECK_INT(parse(in.data, in.len, &t, &e, &n), -1);
	CHECK_INT(e.kind, ERR_DATA);

	buf_free(&in);
	buf_free(&t);
	UNIT_CTX_CLEAR();
}

/* ---- addr_add_phrase ---- */

static int b64val(char c)
{
	const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(a, c) : NULL;

	return p ? (int)(p - a) : -1;
}

/* Decodes "=?UTF-8?B?...?=" words separated by single blanks into out; -1 when the text is
 * not that, when a word is over 75 characters (RFC 2047 section 2) or does not decode to
 * whole UTF-8 characters (section 5: each word stands on its own). */
static int decode_words(const char *s, struct buf *out)
{
	while (*s) {
		const char *end = strstr(s, "?=");
		size_t start = out->len;
		unsigned v = 0;
		int bits = 0;

		if (strncmp(s, "=?UTF-8?B?", 10) != 0 || !end || end + 2 - s > 75)
			return -1;
		for (const char *p = s + 10; p < end && *p != '='; p++) {
			int d = b64val(*p);

			if (d < 0)
				return -1;
			v = (v << 6) | (unsigned)d;
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				if (buf_addch(out, (char)((v >> bits) & 0xff)) < 0)
					abort();
			}
		}
		/* the word's bytes are complete UTF-8 sequences */
		for (size_t i = start; i < out->len;) {
			unsigned char c = (unsigned char)out->data[i];
			size_t n = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;

			if (!n || i + n > out->len)
				return -1;
			i += n;
		}
		s = end + 2;
		if (*s == ' ')
			s++;
		else if (*s)
			return -1;
	}
	return 0;
}

static void test_phrase(void)
{
	static const struct {
		const char *name, *want;
	} t[] = {
		{ "Alice Example", "Alice Example" },
		{ "O'Brien", "O'Brien" },
		{ "Alice Q. Example", "\"Alice Q. Example\"" },
		{ "Doe, John", "\"Doe, John\"" },
		{ "(Cron Daemon)", "\"(Cron Daemon)\"" },
		{ "a \"b\" \\c", "\"a \\\"b\\\" \\\\c\"" },
		{ "J\xc3\xbcrgen Wei\xc3\x9f", "=?UTF-8?B?SsO8cmdlbiBXZWnDnw==?=" },
		{ "", "" },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct buf b;

		UNIT_CTX("addr_add_phrase '%s'", t[i].name);
		buf_init(&b, 1 << 16);
		addr_add_phrase(&b, t[i].name, strlen(t[i].name));
		CHECK_STR(b.data, t[i].want);
		buf_free(&b);
	}

	/* only len bytes count, and what is there already stays */
	UNIT_CTX("addr_add_phrase appends len bytes");
	{
		struct buf b;

		buf_init(&b, 1 << 16);
		if (buf_addstr(&b, "From: ") < 0)
			abort();
		addr_add_phrase(&b, "Alice Example and more", 13);
		CHECK_STR(b.data, "From: Alice Example");
		buf_free(&b);
	}

	/* a long UTF-8 name: encoded words of at most 75 characters, split between characters */
	UNIT_CTX("addr_add_phrase: a long UTF-8 name");
	{
		struct buf name, b, dec;

		buf_init(&name, 1 << 16);
		buf_init(&b, 1 << 16);
		buf_init(&dec, 1 << 16);
		for (int k = 0; k < 40; k++)
			if (buf_addstr(&name, k % 2 ? "\xc3\xa4" : "\xe2\x82\xac") < 0)	/* ä € */
				abort();
		addr_add_phrase(&b, name.data, name.len);
		if (!CHECK_INT(decode_words(b.data, &dec), 0))
			fprintf(stderr, "    phrase: %s\n", b.data);
		else
			CHECK_MEM(dec.data, dec.len, name.data, name.len);
		buf_free(&name);
		buf_free(&b);
		buf_free(&dec);
	}

	/* a phrase that addr_add_phrase writes parses back as the display name */
	UNIT_CTX("addr_add_phrase output parses back");
	{
		static const char *const names[] = { "Alice Q. Example", "a \"b\" \\c", "Doe, John",
						      "J\xc3\xbcrgen" };

		for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
			struct buf b;
			struct addr_list l = { 0 };
			struct err e = { 0 };

			buf_init(&b, 1 << 16);
			addr_add_phrase(&b, names[i], strlen(names[i]));
			if (buf_addstr(&b, " <a@example.org>") < 0)
				abort();
			if (CHECK_INT(addr_parse(b.data, b.len, &l, &e), 0) && CHECK_UINT(l.n, 1)) {
				CHECK_STR(l.v[0].spec, "a@example.org");
				CHECK(l.v[0].name != NULL && strlen(l.v[0].name) < b.len);
			}
			addr_list_free(&l);
			buf_free(&b);
		}
	}
	UNIT_CTX_CLEAR();
}

int main(void)
{
	test_cases();
	test_nul();
	test_append();
	test_qualify();
	test_caps();
	test_phrase();
	return unit_done();
}
