/* Unit tests for mailq's printers, which need no queue: one entry in Postfix's layout (marks,
 * the reason lines and when they repeat, the null sender, bytes that must not reach a terminal,
 * a reason too long to align), the summary line, and one entry as JSON, with strings of every
 * kind of byte: valid UTF-8 kept, controls escaped, each byte of a broken sequence (truncated,
 * overlong, a surrogate, past U+10FFFF) as \ufffd. Times are printed in UTC (TZ=UTC0). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "mailq.h"
#include "unit.h"

#define T0 1795269807	/* Sat Nov 21 14:03:27 2026 UTC */
#define ROW "                                               "	/* 47 blanks: the recipient column */

static const char *text(const struct mailq_item *it)
{
	static struct buf b;

	buf_free(&b);
	buf_init(&b, 1 << 20);
	if (mailq_text_entry(&b, it) < 0)
		return "(failed)";
	return b.data;
}

static const char *json(const struct mailq_item *it)
{
	static struct buf b;

	buf_free(&b);
	buf_init(&b, 1 << 20);
	if (mailq_json_entry(&b, it) < 0)
		return "(failed)";
	return b.data;
}

static void test_text(void)
{
	const struct mailq_rcpt r[] = {
		{ "bob@example.org", "smtp.example.org said 451 later" },
		{ "carol@example.org", "smtp.example.org said 451 later" },
		{ "dave@example.org", "" },
		{ "erin@example.org", "a" },
	};
	struct mailq_item it = { .queue_name = "deferred", .id = "20261121140327.5f1c0a9b2e",
				 .arrival = T0, .size = 2048, .sender = "alice@example.org",
				 .rcpts = r, .nrcpts = 4 };
	struct buf b;

	/* a reason once for the recipients that share it; "reason unavailable" after one */
	CHECK_STR(text(&it), "20261121140327.5f1c0a9b2e     2048 Sat Nov 21 14:03:27 alice@example.org\n"
		  "                                           (smtp.example.org said 451 later)\n"
		  ROW "bob@example.org\n"
		  ROW "carol@example.org\n"
		  "                                                        (reason unavailable)\n"
		  ROW "dave@example.org\n"
		  "                                                                         (a)\n"
		  ROW "erin@example.org\n");
	/* marks; the null sender; no recipients; no arrival time */
	it.queue_name = "active", it.nrcpts = 0, it.sender = "";
	CHECK_STR(text(&it), "20261121140327.5f1c0a9b2e*     2048 Sat Nov 21 14:03:27 MAILER-DAEMON\n");
	it.queue_name = "hold", it.arrival = 0, it.id = "x", it.size = 7;
	CHECK_STR(text(&it), "x!                       7 ??                  MAILER-DAEMON\n");
	/* the first recipient without a reason gets no reason line, as in Postfix */
	it.queue_name = "deferred", it.rcpts = r + 2, it.nrcpts = 1;
	CHECK_STR(text(&it), "x                        7 ??                  MAILER-DAEMON\n"
		  ROW "dave@example.org\n");
	/* bytes for a terminal are escaped everywhere; a reason longer than the column starts at 0 */
	{
		char reason[120], want[400], rs[116];
		const struct mailq_rcpt bad = { "e\x1b[2Jvil@example.org\n", reason };

		memset(reason, 'r', sizeof reason - 1);
		reason[sizeof reason - 1] = '\0';
		reason[3] = '\r';
		it.sender = "s\xc3\xa4@x", it.rcpts = &bad, it.nrcpts = 1;
		memset(rs, 'r', sizeof rs - 1);
		rs[sizeof rs - 1] = '\0';
		snprintf(want, sizeof want, "x                        7 ??                  s\\xc3\\xa4@x\n"
			 "(rrr\\x0d%s)\n" ROW "e\\x1b[2Jvil@example.org\\x0a\n", rs);
		CHECK_STR(text(&it), want);
	}
	/* a damaged file: its reason, no recipients */
	{
		struct mailq_item d = { .queue_name = "failed", .id = "bad", .sender = "",
					.error = "damaged: no end marker" };

		CHECK_STR(text(&d), "bad                      0 ??                  MAILER-DAEMON\n"
			  "                                                    (damaged: no end marker)\n");
	}
	/* the heading and the summary */
	buf_init(&b, 4096);
	CHECK(mailq_text_heading(&b) == 0);
	CHECK_STR(b.data, "----Queue ID----- --Size-- ---Arrival Time---- --Sender/Recipient------\n");
	buf_reset(&b);
	CHECK(mailq_text_summary(&b, 0, 0) == 0);
	CHECK_STR(b.data, "Mail queue is empty\n");
	buf_reset(&b);
	CHECK(mailq_text_summary(&b, 1, 1023) == 0);
	CHECK_STR(b.data, "\n-- 0 Kbytes in 1 Request.\n");
	buf_reset(&b);
	CHECK(mailq_text_summary(&b, 2, 3359) == 0);
	CHECK_STR(b.data, "\n-- 3 Kbytes in 2 Requests.\n");
	buf_free(&b);
	/* a buffer too small is an error, not a cut line */
	buf_init(&b, 10);
	it.rcpts = r, it.nrcpts = 1;
	CHECK(mailq_text_entry(&b, &it) < 0);
	CHECK(mailq_json_entry(&b, &it) < 0);
	buf_free(&b);
}

static void test_json_strings(void)
{
	static const struct {
		const char *in, *out;
	} rows[] = {
		{ "", "" },
		{ "plain@example.org", "plain@example.org" },
		{ "q\"b\\s/", "q\\\"b\\\\s/" },
		{ "\x01\t\n\x1f\x7f", "\\u0001\\u0009\\u000a\\u001f\\u007f" },
		/* valid UTF-8 of every length stays as it is */
		{ "\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf", "\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf" },
		/* a lone byte, a cut sequence, an overlong '/', a surrogate, past U+10FFFF */
		{ "a\xff" "b", "a\\ufffdb" },
		{ "\xc3", "\\ufffd" },
		{ "\xe2\x82", "\\ufffd\\ufffd" },
		{ "\xc0\xaf", "\\ufffd\\ufffd" },
		{ "\xe0\x80\xaf", "\\ufffd\\ufffd\\ufffd" },
		{ "\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd" },
		{ "\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd" },
		{ "\xf0\x9f\x98" "x", "\\ufffd\\ufffd\\ufffdx" },
		{ "\x80\xc3\xa4", "\\ufffd\xc3\xa4" },
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char want[256];
		struct mailq_item it = { .queue_name = "hold", .id = "i", .sender = rows[i].in };

		UNIT_CTX("row %zu", i);
		snprintf(want, sizeof want, "{\"queue_name\": \"hold\", \"queue_id\": \"i\", "
			 "\"arrival_time\": 0, \"message_size\": 0, \"sender\": \"%s\", "
			 "\"recipients\": [], \"attempts\": 0, \"next_try\": 0}\n", rows[i].out);
		CHECK_STR(json(&it), want);
	}
	UNIT_CTX_CLEAR();
}

static void test_json_entry(void)
{
	const struct mailq_rcpt r[] = { { "bob@example.org", "451 \"later\"" },
					{ "carol@example.org", "" } };
	struct mailq_item it = { .queue_name = "deferred", .id = "20261121140327.5f1c0a9b2e",
				 .arrival = T0, .size = 2048, .sender = "alice@example.org",
				 .rcpts = r, .nrcpts = 2, .attempts = 3, .next_try = T0 + 960 };

	CHECK_STR(json(&it), "{\"queue_name\": \"deferred\", \"queue_id\": \"20261121140327.5f1c0a9b2e\", "
		  "\"arrival_time\": 1795269807, \"message_size\": 2048, \"sender\": "
		  "\"alice@example.org\", \"recipients\": [{\"address\": \"bob@example.org\", "
		  "\"delay_reason\": \"451 \\\"later\\\"\"}, {\"address\": \"carol@example.org\"}], "
		  "\"attempts\": 3, \"next_try\": 1795270767}\n");
	it.error = "damaged\n", it.nrcpts = 0;
	CHECK(strstr(json(&it), "\"next_try\": 1795270767, \"error\": \"damaged\\u000a\"}\n") != NULL);
}

int main(void)
{
	setenv("TZ", "UTC0", 1);
	tzset();
	test_text();
	test_json_strings();
	test_json_entry();
	return unit_done();
}
