/* Unit tests for reply: the SMTP reply parser, reply_summary and the EHLO capability parser. */
#include <limits.h>
#include <string.h>

#include "reply.h"
#include "unit.h"

#define MAXL 8

/* One reply, pushed line by line. `lines` are C strings; `fail_at` is the index of the line that
 * must be refused (-1: none); otherwise the last line must complete the reply and every line
 * before it must return 0. */
static const struct {
	const char *name;
	const char *lines[MAXL];
	int fail_at;
	int code;
	const char *text;
} replies[] = {
	{ "single line", { "250 OK" }, -1, 250, "OK" },
	{ "greeting", { "220 mx.example.org ESMTP Postfix (Debian/GNU)" }, -1, 220,
	  "mx.example.org ESMTP Postfix (Debian/GNU)" },
	{ "enhanced code", { "550 5.1.1 <nobody@example.org>: Recipient address rejected" }, -1, 550,
	  "5.1.1 <nobody@example.org>: Recipient address rejected" },
	{ "code alone", { "250" }, -1, 250, "" },
	{ "code and space", { "250 " }, -1, 250, "" },
	{ "lowest code", { "200 x" }, -1, 200, "x" },
	{ "highest code", { "599 x" }, -1, 599, "x" },
	{ "4xx", { "421 4.3.2 Service shutting down" }, -1, 421, "4.3.2 Service shutting down" },
	{ "354", { "354 End data with <CR><LF>.<CR><LF>" }, -1, 354,
	  "End data with <CR><LF>.<CR><LF>" },
	{ "AUTH challenge", { "334 VXNlcm5hbWU6" }, -1, 334, "VXNlcm5hbWU6" },
	{ "text keeps blanks", { "250  two  spaces " }, -1, 250, " two  spaces " },
	{ "multi-line", { "250-mx.example.org", "250-PIPELINING", "250 SIZE 10240000" }, -1, 250,
	  "mx.example.org\nPIPELINING\nSIZE 10240000" },
	{ "multi-line, bare continuation", { "250-", "250-", "250 " }, -1, 250, "\n\n" },
	{ "multi-line, last line code alone", { "250-a", "250" }, -1, 250, "a\n" },
	{ "multi-line 5xx", { "554-5.7.1 Rejected", "554 5.7.1 See https://example.org/why" }, -1,
	  554, "5.7.1 Rejected\n5.7.1 See https://example.org/why" },
	{ "code 199", { "199 x" }, 0, 0, NULL },
	{ "code 100", { "100 x" }, 0, 0, NULL },
	{ "code 600", { "600 x" }, 0, 0, NULL },
	{ "code 099", { "099 x" }, 0, 0, NULL },
	{ "code 999", { "999 x" }, 0, 0, NULL },
	{ "letters", { "abc" }, 0, 0, NULL },
	{ "letters and text", { "abc def" }, 0, 0, NULL },
	{ "letter in code", { "2a0 x" }, 0, 0, NULL },
	{ "letter at end of code", { "25a x" }, 0, 0, NULL },
	{ "two digits", { "25" }, 0, 0, NULL },
	{ "two digits and space", { "25 x" }, 0, 0, NULL },
	{ "four digits", { "2500" }, 0, 0, NULL },
	{ "four digits and text", { "2500 x" }, 0, 0, NULL },
	{ "empty line", { "" }, 0, 0, NULL },
	{ "leading space", { " 250 x" }, 0, 0, NULL },
	{ "no space after code", { "250OK" }, 0, 0, NULL },
	{ "tab after code", { "250\tOK" }, 0, 0, NULL },
	{ "underscore after code", { "250_OK" }, 0, 0, NULL },
	{ "plus sign", { "+250 x" }, 0, 0, NULL },
	{ "code changes", { "250-a", "251 b" }, 1, 0, NULL },
	{ "class changes", { "250-a", "550 b" }, 1, 0, NULL },
	{ "code changes on continuation", { "250-a", "250-b", "252-c", "250 d" }, 2, 0, NULL },
	{ "bad code on second line", { "250-a", "25" }, 1, 0, NULL },
	{ "missing hyphen on second line", { "250-a", "250x" }, 1, 0, NULL },
	{ "garbage on second line", { "250-a", "hello" }, 1, 0, NULL },
	{ "empty second line", { "250-a", "" }, 1, 0, NULL },
};

static void test_table(void)
{
	for (size_t i = 0; i < sizeof replies / sizeof replies[0]; i++) {
		struct reply r;
		struct err e = { 0 };
		size_t n = 0;

		while (n < MAXL && replies[i].lines[n])
			n++;
		UNIT_CTX("reply '%s'", replies[i].name);
		reply_init(&r);
		for (size_t k = 0; k < n; k++) {
			const char *l = replies[i].lines[k];
			int rc = reply_push(&r, l, strlen(l), &e);
			int want = (int)k == replies[i].fail_at ? -1 : k + 1 == n ? 1 : 0;

			if (!CHECK_INT(rc, want))
				break;
			if (rc < 0) {
				CHECK_INT(e.kind, ERR_PROTOCOL);
				CHECK(e.text[0] != '\0');
				break;
			}
		}
		if (replies[i].fail_at < 0) {
			CHECK_INT(r.code, replies[i].code);
			CHECK_UINT(r.lines, n);
			CHECK_STR(r.text.data, replies[i].text);
			CHECK_UINT(r.text.len, strlen(replies[i].text));
		}
		/* after reset the same parser takes a new reply */
		reply_reset(&r);
		CHECK_INT(r.code, 0);
		CHECK_UINT(r.lines, 0);
		CHECK_UINT(r.text.len, 0);
		CHECK_INT(reply_push(&r, "221 2.0.0 Bye", 13, &e), 1);
		CHECK_INT(r.code, 221);
		CHECK_STR(r.text.data, "2.0.0 Bye");
		reply_free(&r);
	}
	UNIT_CTX_CLEAR();
}

/* The length comes from the caller: the text may hold NUL bytes, and the line is not
 * terminated. */
static void test_raw_bytes(void)
{
	struct reply r;
	struct err e;
	char line[] = "250 a\0b\x01\xff" "XXXX";

	UNIT_CTX("raw bytes");
	reply_init(&r);
	CHECK_INT(reply_push(&r, line, 9, &e), 1);
	CHECK_MEM(r.text.data, r.text.len, "a\0b\x01\xff", 5);
	CHECK(r.text.data[r.text.len] == '\0');
	reply_reset(&r);
	/* a line of "2" "5" with len 2 must not look at the bytes after it */
	CHECK_INT(reply_push(&r, "250 x", 2, &e), -1);
	reply_reset(&r);
	CHECK_INT(reply_push(&r, "250-x", 3, &e), 1);	/* "250" */
	CHECK_INT(r.code, 250);
	CHECK_UINT(r.text.len, 0);
	reply_reset(&r);
	CHECK_INT(reply_push(&r, "", 0, &e), -1);
	reply_free(&r);
	UNIT_CTX_CLEAR();
}

static void test_caps(void)
{
	static char line[REPLY_LINE_MAX + 64];
	struct reply r;
	struct err e;

	/* one line: REPLY_LINE_MAX bytes is fine, one more is refused */
	UNIT_CTX("line cap");
	memset(line, 'x', sizeof line);
	memcpy(line, "250 ", 4);
	reply_init(&r);
	CHECK_INT(reply_push(&r, line, REPLY_LINE_MAX, &e), 1);
	CHECK_UINT(r.text.len, REPLY_LINE_MAX - 4);
	reply_reset(&r);
	memset(&e, 0, sizeof e);
	CHECK_INT(reply_push(&r, line, REPLY_LINE_MAX + 1, &e), -1);
	CHECK_INT(e.kind, ERR_PROTOCOL);
	reply_reset(&r);
	memcpy(line, "250-", 4);
	CHECK_INT(reply_push(&r, line, 10, &e), 0);
	CHECK_INT(reply_push(&r, line, REPLY_LINE_MAX + 1, &e), -1);	/* on a continuation */
	reply_reset(&r);

	/* lines: REPLY_LINES_MAX are fine, one more is refused */
	UNIT_CTX("lines cap");
	for (int i = 0; i < REPLY_LINES_MAX - 1; i++)
		if (!CHECK_INT(reply_push(&r, "250-x", 5, &e), 0))
			break;
	CHECK_INT(reply_push(&r, "250 x", 5, &e), 1);
	CHECK_UINT(r.lines, REPLY_LINES_MAX);
	reply_reset(&r);
	for (int i = 0; i < REPLY_LINES_MAX; i++)
		if (!CHECK_INT(reply_push(&r, "250-x", 5, &e), 0))
			break;
	memset(&e, 0, sizeof e);
	CHECK_INT(reply_push(&r, "250 x", 5, &e), -1);
	CHECK_INT(e.kind, ERR_PROTOCOL);
	reply_reset(&r);
	/* a server that never stops: every line after the cap is refused */
	for (int i = 0; i < REPLY_LINES_MAX; i++)
		(void)reply_push(&r, "250-x", 5, &e);
	for (int i = 0; i < 10; i++)
		CHECK_INT(reply_push(&r, "250-x", 5, &e), -1);
	reply_reset(&r);

	/* text: exactly REPLY_BYTES_MAX is fine, one more is refused. 16 lines of 2044 text bytes
	 * and 15 newlines make 32719; the 17th line then brings 1 newline + 48 bytes = 32768. */
	UNIT_CTX("bytes cap");
	for (int extra = 48; extra <= 49; extra++) {
		int rc = 0;

		memcpy(line, "250-", 4);
		reply_reset(&r);
		for (int i = 0; i < 16; i++)
			if (!CHECK_INT(reply_push(&r, line, 2048, &e), 0))
				break;
		CHECK_UINT(r.text.len, 16 * 2044 + 15);
		memcpy(line, "250 ", 4);
		memset(&e, 0, sizeof e);
		rc = reply_push(&r, line, 4 + (size_t)extra, &e);
		if (extra == 48) {
			CHECK_INT(rc, 1);
			CHECK_UINT(r.text.len, REPLY_BYTES_MAX);
		} else {
			CHECK_INT(rc, -1);
			CHECK_INT(e.kind, ERR_PROTOCOL);
			CHECK(r.text.len <= REPLY_BYTES_MAX);
		}
		CHECK(r.text.data[r.text.len] == '\0');
	}
	/* many full lines: refused once the text passes the cap, long before the line cap */
	reply_reset(&r);
	memcpy(line, "250-", 4);
	{
		int i, rc = 0;

		for (i = 0; i < REPLY_LINES_MAX && rc == 0; i++)
			rc = reply_push(&r, line, REPLY_LINE_MAX, &e);
		CHECK_INT(rc, -1);
		CHECK_INT(i, 17);
	}
	reply_free(&r);
	UNIT_CTX_CLEAR();
}

static void test_class(void)
{
	static const struct {
		int code;
		int ok, temp;
	} t[] = {
		{ 200, 1, 0 }, { 250, 1, 0 }, { 334, 1, 0 }, { 354, 1, 0 }, { 399, 1, 0 },
		{ 400, 0, 1 }, { 421, 0, 1 }, { 499, 0, 1 }, { 500, 0, 0 }, { 554, 0, 0 },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct reply r = { .code = t[i].code };

		UNIT_CTX("class %d", t[i].code);
		CHECK_INT(!!REPLY_OK(&r), t[i].ok);
		CHECK_INT(!!REPLY_TEMP(&r), t[i].temp);
	}
	UNIT_CTX_CLEAR();
}

/* Builds a reply from lines separated by '\n' in `s` (each a full reply line). */
static int build(struct reply *r, const char *s)
{
	struct err e;
	int rc = -1;

	reply_reset(r);
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);

		rc = reply_push(r, s, n, &e);
		if (rc != 0)
			break;
		s += n + (nl ? 1 : 0);
	}
	return rc;
}

static void test_summary(void)
{
	static const struct {
		const char *in;
		size_t size;
		const char *out;
	} t[] = {
		{ "250 OK", 64, "250 OK" },
		{ "250", 64, "250" },
		{ "250 ", 64, "250" },
		{ "250-mx.example.org\n250-PIPELINING\n250 SIZE 100", 64,
		  "250 mx.example.org PIPELINING SIZE 100" },
		{ "550 bad\x1b[2Jterminal", 64, "550 bad\\x1b[2Jterminal" },
		{ "550 tab\there", 64, "550 tab\\x09here" },
		{ "550 back\\slash", 64, "550 back\\\\slash" },
		{ "550 Gr\xc3\xbc\xc3\x9f""e", 64, "550 Gr\\xc3\\xbc\\xc3\\x9fe" },
		{ "550 del\x7f", 64, "550 del\\x7f" },
		{ "550 cr\r", 64, "550 cr\\x0d" },
		/* cut to size - 1 bytes, terminated */
		{ "250 Hello", 8, "250 Hel" },
		{ "250 Hello", 10, "250 Hello" },
		{ "250 Hello", 9, "250 Hell" },
		{ "250 Hello", 4, "250" },
		{ "250 Hello", 2, "2" },
		{ "250 Hello", 1, "" },
		{ "550 \x01\x02", 8, "550 \\x0" },
	};
	struct reply r;

	reply_init(&r);
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		char out[80];

		UNIT_CTX("summary row %zu", i);
		if (!CHECK_INT(build(&r, t[i].in), 1))
			continue;
		memset(out, '#', sizeof out);
		reply_summary(&r, out, t[i].size);
		CHECK_STR(out, t[i].out);
		for (size_t k = t[i].size; k < sizeof out; k++)
			if (!CHECK(out[k] == '#'))
				break;
	}

	/* NUL bytes in the text are escaped, not the end */
	UNIT_CTX("summary NUL");
	{
		struct err e;
		char out[64];

		reply_reset(&r);
		CHECK_INT(reply_push(&r, "550 a\0b", 7, &e), 1);
		reply_summary(&r, out, sizeof out);
		CHECK_STR(out, "550 a\\x00b");
	}

	/* a reply at every cap into a small field: cut, terminated, printable */
	UNIT_CTX("summary of a large reply");
	{
		static char line[REPLY_LINE_MAX];
		struct err e;
		char out[512];

		memset(line, '\x01', sizeof line);
		memcpy(line, "250-", 4);
		reply_reset(&r);
		for (int i = 0; i < 15; i++)
			CHECK_INT(reply_push(&r, line, sizeof line, &e), 0);
		CHECK_INT(reply_push(&r, "250 end", 7, &e), 1);
		reply_summary(&r, out, sizeof out);
		CHECK_UINT(strlen(out), sizeof out - 1);
		CHECK(strncmp(out, "250 \\x01\\x01", 12) == 0);
		for (size_t k = 0; out[k]; k++)
			if (!CHECK(out[k] >= 0x20 && out[k] < 0x7f))
				break;
	}

	/* a printable line, then a long one that must be escaped: still filled up to the size */
	UNIT_CTX("summary of a short and a long line");
	{
		static char line[2004], first[104];
		struct err e;
		char out[512];

		memset(line, '\x01', sizeof line);
		memcpy(line, "250 ", 4);
		memset(first, 'a', sizeof first);
		memcpy(first, "250-", 4);
		reply_reset(&r);
		CHECK_INT(reply_push(&r, first, sizeof first, &e), 0);
		CHECK_INT(reply_push(&r, line, sizeof line, &e), 1);
		reply_summary(&r, out, sizeof out);
		CHECK_UINT(strlen(out), sizeof out - 1);
		CHECK(strncmp(out + 104, " \\x01\\x01", 9) == 0);
	}

	/* size 0: there is no room even for the terminator; nothing may be written */
	UNIT_CTX("summary size 0");
	{
		char out[64];

		memset(out, '#', sizeof out);
		CHECK_INT(build(&r, "250 OK"), 1);
		reply_summary(&r, out, 0);
		CHECK(out[0] == '#');
		CHECK(out[7] == '#');
	}
	reply_free(&r);
	UNIT_CTX_CLEAR();
}

/* EHLO replies, as servers send them. */
static const struct {
	const char *name;
	const char *reply;
	unsigned flags;
	unsigned long long size;
	const char *mechs;
} ehlos[] = {
	{ "Postfix",
	  "250-mail.example.org\n"
	  "250-PIPELINING\n"
	  "250-SIZE 10240000\n"
	  "250-VRFY\n"
	  "250-ETRN\n"
	  "250-STARTTLS\n"
	  "250-ENHANCEDSTATUSCODES\n"
	  "250-8BITMIME\n"
	  "250-DSN\n"
	  "250-SMTPUTF8\n"
	  "250 CHUNKING",
	  EHLO_PIPELINING | EHLO_SIZE | EHLO_STARTTLS | EHLO_ENHANCEDSTATUSCODES | EHLO_8BITMIME |
		  EHLO_DSN | EHLO_SMTPUTF8 | EHLO_CHUNKING,
	  10240000, "" },
	{ "Postfix after STARTTLS with Dovecot SASL",
	  "250-mail.example.org\n"
	  "250-PIPELINING\n"
	  "250-SIZE 10240000\n"
	  "250-ETRN\n"
	  "250-AUTH PLAIN LOGIN\n"
	  "250-ENHANCEDSTATUSCODES\n"
	  "250-8BITMIME\n"
	  "250-DSN\n"
	  "250 CHUNKING",
	  EHLO_PIPELINING | EHLO_SIZE | EHLO_AUTH | EHLO_ENHANCEDSTATUSCODES | EHLO_8BITMIME |
		  EHLO_DSN | EHLO_CHUNKING,
	  10240000, "PLAIN LOGIN" },
	{ "Exchange",
	  "250-EX01.contoso.com Hello [10.0.0.5]\n"
	  "250-SIZE 37748736\n"
	  "250-PIPELINING\n"
	  "250-DSN\n"
	  "250-ENHANCEDSTATUSCODES\n"
	  "250-STARTTLS\n"
	  "250-X-ANONYMOUSTLS\n"
	  "250-AUTH NTLM\n"
	  "250-X-EXPS GSSAPI NTLM\n"
	  "250-8BITMIME\n"
	  "250-BINARYMIME\n"
	  "250-CHUNKING\n"
	  "250 XRDST",
	  EHLO_SIZE | EHLO_PIPELINING | EHLO_DSN | EHLO_ENHANCEDSTATUSCODES | EHLO_STARTTLS |
		  EHLO_AUTH | EHLO_8BITMIME | EHLO_CHUNKING,
	  37748736, "NTLM" },
	{ "Exchange-style AUTH=",
	  "250-mail.example.com Hello [192.0.2.1]\n"
	  "250-TURN\n"
	  "250-SIZE\n"
	  "250-ETRN\n"
	  "250-PIPELINING\n"
	  "250-DSN\n"
	  "250-ENHANCEDSTATUSCODES\n"
	  "250-8bitmime\n"
	  "250-BINARYMIME\n"
	  "250-CHUNKING\n"
	  "250-VRFY\n"
	  "250-X-EXPS GSSAPI NTLM LOGIN\n"
	  "250-X-EXPS=LOGIN\n"
	  "250-AUTH=LOGIN\n"
	  "250-X-LINK2STATE\n"
	  "250-XEXCH50\n"
	  "250 OK",
	  EHLO_SIZE | EHLO_PIPELINING | EHLO_DSN | EHLO_ENHANCEDSTATUSCODES | EHLO_8BITMIME |
		  EHLO_CHUNKING | EHLO_AUTH,
	  0, "LOGIN" },
	{ "Office 365",
	  "250-AM0PR01CA0001.outlook.office365.com Hello [198.51.100.7]\n"
	  "250-SIZE 157286400\n"
	  "250-PIPELINING\n"
	  "250-DSN\n"
	  "250-ENHANCEDSTATUSCODES\n"
	  "250-AUTH LOGIN XOAUTH2\n"
	  "250-8BITMIME\n"
	  "250-BINARYMIME\n"
	  "250-CHUNKING\n"
	  "250 SMTPUTF8",
	  EHLO_SIZE | EHLO_PIPELINING | EHLO_DSN | EHLO_ENHANCEDSTATUSCODES | EHLO_AUTH |
		  EHLO_8BITMIME | EHLO_CHUNKING | EHLO_SMTPUTF8,
	  157286400, "LOGIN XOAUTH2" },
	{ "Gmail",
	  "250-smtp.gmail.com at your service, [203.0.113.9]\n"
	  "250-SIZE 35882577\n"
	  "250-8BITMIME\n"
	  "250-AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH\n"
	  "250-ENHANCEDSTATUSCODES\n"
	  "250-PIPELINING\n"
	  "250-CHUNKING\n"
	  "250 SMTPUTF8",
	  EHLO_SIZE | EHLO_8BITMIME | EHLO_AUTH | EHLO_ENHANCEDSTATUSCODES | EHLO_PIPELINING |
		  EHLO_CHUNKING | EHLO_SMTPUTF8,
	  35882577, "LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH" },
	{ "OpenSMTPD",
	  "250-mx.example.net Hello client.example.org [192.0.2.3], pleased to meet you\n"
	  "250-8BITMIME\n"
	  "250-ENHANCEDSTATUSCODES\n"
	  "250-SIZE 36700160\n"
	  "250-DSN\n"
	  "250-AUTH PLAIN LOGIN\n"
	  "250 HELP",
	  EHLO_8BITMIME | EHLO_ENHANCEDSTATUSCODES | EHLO_SIZE | EHLO_DSN | EHLO_AUTH, 36700160,
	  "PLAIN LOGIN" },
	{ "Exim with SCRAM",
	  "250-smtp.example.com Hello client [192.0.2.4]\n"
	  "250-SIZE 52428800\n"
	  "250-8BITMIME\n"
	  "250-PIPELINING\n"
	  "250-PIPE_CONNECT\n"
	  "250-AUTH SCRAM-SHA-256-PLUS SCRAM-SHA-256 SCRAM-SHA-1 PLAIN LOGIN CRAM-MD5\n"
	  "250-CHUNKING\n"
	  "250-PRDR\n"
	  "250 HELP",
	  EHLO_SIZE | EHLO_8BITMIME | EHLO_PIPELINING | EHLO_AUTH | EHLO_CHUNKING, 52428800,
	  "SCRAM-SHA-256-PLUS SCRAM-SHA-256 SCRAM-SHA-1 PLAIN LOGIN CRAM-MD5" },
	{ "lower-case keywords and mechanisms",
	  "250-localhost\n"
	  "250-pipelining\n"
	  "250-starttls\n"
	  "250-size 1000\n"
	  "250-auth plain login cram-md5\n"
	  "250-smtputf8\n"
	  "250-dsn\n"
	  "250-chunking\n"
	  "250 enhancedstatuscodes",
	  EHLO_PIPELINING | EHLO_STARTTLS | EHLO_SIZE | EHLO_AUTH | EHLO_SMTPUTF8 | EHLO_DSN |
		  EHLO_CHUNKING | EHLO_ENHANCEDSTATUSCODES,
	  1000, "PLAIN LOGIN CRAM-MD5" },
	{ "mixed-case mechanisms", "250-x\n250 Auth Plain xoauth2 Scram-Sha-1", EHLO_AUTH, 0,
	  "PLAIN XOAUTH2 SCRAM-SHA-1" },
	{ "SIZE without a number", "250-x\n250 SIZE", EHLO_SIZE, 0, "" },
	{ "SIZE with a space only", "250-x\n250 SIZE ", EHLO_SIZE, 0, "" },
	{ "SIZE 0", "250-x\n250 SIZE 0", EHLO_SIZE, 0, "" },
	{ "SIZE=", "250-x\n250 SIZE=2048", EHLO_SIZE, 2048, "" },
	{ "SIZE bogus", "250-x\n250 SIZE abc", EHLO_SIZE, 0, "" },
	{ "SIZE with unit", "250-x\n250 SIZE 10M", EHLO_SIZE, 0, "" },
	{ "SIZE negative", "250-x\n250 SIZE -1", EHLO_SIZE, 0, "" },
	{ "SIZE hex", "250-x\n250 SIZE 0x100", EHLO_SIZE, 0, "" },
	{ "SIZE trailing junk", "250-x\n250 SIZE 100 bytes", EHLO_SIZE, 0, "" },
	{ "SIZE largest", "250-x\n250 SIZE 18446744073709551615", EHLO_SIZE, ULLONG_MAX, "" },
	{ "last SIZE wins", "250-x\n250-SIZE 100\n250 SIZE 200", EHLO_SIZE, 200, "" },
	{ "bogus SIZE after a good one", "250-x\n250-SIZE 100\n250 SIZE x", EHLO_SIZE, 0, "" },
	{ "keyword prefixes are not keywords",
	  "250-x\n"
	  "250-PIPELININGX\n"
	  "250-STARTTLSX\n"
	  "250-SIZEX 100\n"
	  "250-AUTHENTICATE PLAIN\n"
	  "250-8BITMIMEX\n"
	  "250-DSNX\n"
	  "250-X-PIPELINING\n"
	  "250 AUTH2 LOGIN",
	  0, 0, "" },
	{ "keywords are not found inside the greeting",
	  "250 mx.example.org PIPELINING STARTTLS SIZE 100 AUTH PLAIN", 0, 0, "" },
	{ "the first line is the greeting, even when it looks like a keyword",
	  "250-STARTTLS\n250-SIZE 5\n250 8BITMIME", EHLO_SIZE | EHLO_8BITMIME, 5, "" },
	{ "no capabilities", "250 mx.example.org", 0, 0, "" },
	{ "code alone", "250", 0, 0, "" },
	{ "AUTH without mechanisms", "250-x\n250 AUTH", EHLO_AUTH, 0, "" },
	{ "AUTH with many blanks", "250-x\n250 AUTH   PLAIN    LOGIN  ", EHLO_AUTH, 0,
	  "PLAIN LOGIN" },
	{ "AUTH lines add up", "250-x\n250-AUTH PLAIN\n250 AUTH=LOGIN", EHLO_AUTH, 0,
	  "PLAIN LOGIN" },
	{ "AUTH mechanism with odd bytes", "250-x\n250 AUTH PL@IN L\x01GIN\xc3\xa4", EHLO_AUTH, 0,
	  "PL_IN L_GIN__" },
	{ "empty continuation lines", "250-x\n250-\n250-\n250 DSN", EHLO_DSN, 0, "" },
};

/* RFC 9422 LIMITS, as Exim advertises it and in the shapes a parser must survive. */
static const struct {
	const char *name;
	const char *reply;
	unsigned rcptmax, mailmax;
} limits[] = {
	{ "Exim's default", "250-x\n250-LIMITS MAILMAX=1000 RCPTMAX=50000\n250 HELP", 50000, 1000 },
	{ "one of them", "250-x\n250 LIMITS RCPTMAX=100", 100, 0 },
	{ "names in any case, domain limit ignored",
	  "250-x\n250 limits rcptdomainmax=5 MailMax=10 rcptMax=20", 20, 10 },
	{ "extra blanks", "250-x\n250 LIMITS   RCPTMAX=7    MAILMAX=3  ", 7, 3 },
	{ "no value", "250-x\n250 LIMITS RCPTMAX= MAILMAX", 0, 0 },
	{ "zero is no limit", "250-x\n250 LIMITS RCPTMAX=0 MAILMAX=0", 0, 0 },
	{ "not digits", "250-x\n250 LIMITS RCPTMAX=-5 MAILMAX=1e3", 0, 0 },
	{ "digits then junk", "250-x\n250 LIMITS RCPTMAX=12abc MAILMAX=4=4", 0, 0 },
	{ "too many digits", "250-x\n250 LIMITS RCPTMAX=99999999999999999999", 0, 0 },
	{ "capped", "250-x\n250 LIMITS RCPTMAX=999999999 MAILMAX=2000000", EHLO_LIMIT_MAX,
	  EHLO_LIMIT_MAX },
	{ "LIMITS alone", "250-x\n250 LIMITS", 0, 0 },
	{ "not a LIMITS line", "250-x\n250-LIMITSX RCPTMAX=5\n250 XLIMITS MAILMAX=5", 0, 0 },
	{ "the greeting line is not a capability", "250 LIMITS RCPTMAX=5", 0, 0 },
	{ "the last one counts", "250-x\n250-LIMITS RCPTMAX=5\n250 LIMITS RCPTMAX=9", 9, 0 },
};

static void test_limits(struct reply *r)
{
	for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
		struct ehlo c;

		UNIT_CTX("LIMITS '%s'", limits[i].name);
		if (!CHECK_INT(build(r, limits[i].reply), 1))
			continue;
		memset(&c, 0x5a, sizeof c);
		ehlo_parse(r, &c);
		CHECK_UINT(c.rcptmax, limits[i].rcptmax);
		CHECK_UINT(c.mailmax, limits[i].mailmax);
		CHECK_UINT(c.flags & EHLO_LIMITS,
			   strstr(limits[i].name, "not a") || strstr(limits[i].name, "greeting")
				   ? 0 : EHLO_LIMITS);
	}
	UNIT_CTX_CLEAR();
}

static void test_ehlo(void)
{
	struct reply r;

	reply_init(&r);
	for (size_t i = 0; i < sizeof ehlos / sizeof ehlos[0]; i++) {
		struct ehlo c;

		UNIT_CTX("ehlo '%s'", ehlos[i].name);
		if (!CHECK_INT(build(&r, ehlos[i].reply), 1))
			continue;
		memset(&c, 0x5a, sizeof c);	/* ehlo_parse must set every field */
		ehlo_parse(&r, &c);
		CHECK_UINT(c.flags, ehlos[i].flags);
		CHECK_UINT(c.size, ehlos[i].size);
		CHECK_STR(c.mechs, ehlos[i].mechs);
	}
	UNIT_CTX_CLEAR();
	test_limits(&r);

	/* SIZE beyond unsigned long long: malformed, so no limit. Both 0 and ULLONG_MAX mean
	 * that nothing is refused for its size (smtp.c only compares when size != 0). */
	UNIT_CTX("SIZE overflow");
	{
		struct ehlo c;

		CHECK_INT(build(&r, "250-x\n250 SIZE 99999999999999999999"), 1);
		ehlo_parse(&r, &c);
		CHECK(c.flags & EHLO_SIZE);
		CHECK(c.size == 0 || c.size == ULLONG_MAX);
	}

	/* more mechanisms than fit: whole names only, one blank between, terminated */
	UNIT_CTX("mechanism list overflow");
	{
		char line[REPLY_LINE_MAX];
		struct err e;
		struct ehlo c;
		size_t n = 0;

		n += (size_t)snprintf(line + n, sizeof line - n, "250 AUTH");
		for (int i = 0; i < 100; i++)
			n += (size_t)snprintf(line + n, sizeof line - n, " MECH-%03d", i);
		reply_reset(&r);
		CHECK_INT(reply_push(&r, "250-x", 5, &e), 0);
		CHECK_INT(reply_push(&r, line, n, &e), 1);
		ehlo_parse(&r, &c);
		CHECK(c.flags & EHLO_AUTH);
		CHECK(strlen(c.mechs) < sizeof c.mechs);
		CHECK(strncmp(c.mechs, "MECH-000 MECH-001 ", 18) == 0);
		/* 8-byte names and blanks: 28 names fit in 255 bytes (28 * 9 - 1 = 251) */
		CHECK_UINT(strlen(c.mechs), 251);
		CHECK(c.mechs[strlen(c.mechs) - 1] != ' ');
		CHECK(strcmp(c.mechs + strlen(c.mechs) - 8, "MECH-027") == 0);
		/* a short name later still fits when a long one does not */
		n = (size_t)snprintf(line, sizeof line, "250 AUTH");
		for (int i = 0; i < 28; i++)
			n += (size_t)snprintf(line + n, sizeof line - n, " MECH-%03d", i);
		n += (size_t)snprintf(line + n, sizeof line - n, " LONGMECHANISM X");
		reply_reset(&r);
		CHECK_INT(reply_push(&r, "250-x", 5, &e), 0);
		CHECK_INT(reply_push(&r, line, n, &e), 1);
		ehlo_parse(&r, &c);
		CHECK_UINT(strlen(c.mechs), 253);
		CHECK(strcmp(c.mechs + strlen(c.mechs) - 2, " X") == 0);
	}

	/* a reply at the byte cap: nothing read past its end */
	UNIT_CTX("ehlo of a full reply");
	{
		static char line[REPLY_LINE_MAX];
		struct err e;
		struct ehlo c;
		int rc = 0, i;

		memset(line, 'A', sizeof line);
		memcpy(line, "250-AUTH ", 9);
		reply_reset(&r);
		for (i = 0; i < 16 && rc == 0; i++)
			rc = reply_push(&r, line, sizeof line, &e);
		CHECK_INT(rc, 0);
		CHECK_INT(reply_push(&r, "250 SIZE 7", 10, &e), 1);
		ehlo_parse(&r, &c);
		CHECK_UINT(c.flags, EHLO_AUTH | EHLO_SIZE);
		CHECK_UINT(c.size, 7);
		CHECK_STR(c.mechs, "");	/* 2039-byte names do not fit */
	}
	reply_free(&r);
	UNIT_CTX_CLEAR();
}

int main(void)
{
	test_table();
	test_raw_bytes();
	test_caps();
	test_class();
	test_summary();
	test_ehlo();
	return unit_done();
}
