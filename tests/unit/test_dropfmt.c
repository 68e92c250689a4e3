/* test_dropfmt: the request text between postbote, the drop program and root's pickup. What
 * postbote writes reads back field by field; the drop program's stamp is required in a dropped
 * file and refused from a caller; every line a hostile caller could write past the parser (an
 * unknown key, a repeated one, a control byte, a forged uid, a NUL, an oversized value) is
 * refused; an unfinished request asks for more; the trailer states the message's size. */
#include "dropfmt.h"
#include "unit.h"

static int parse(const char *text, int stamped, struct dropfmt *d, struct err *e)
{
	memset(e, 0, sizeof *e);
	return dropfmt_parse(text, strlen(text), stamped, d, e);
}

static void test_round_trip(void)
{
	char *rcpts[] = { "bob@example.org", "", "carol, dave" };
	struct request rq = { .account = "work", .from = "<>", .full_name = "Cron Daemon",
			      .extract = 1, .body_8bit = 1, .dsn_notify = "success,delay",
			      .dsn_ret = "HDRS", .dsn_envid = "x+2Bid", .rcpts = rcpts, .nrcpts = 3,
			      .login = "ignored", .uid = 7 };
	struct buf b;
	struct dropfmt d;
	struct err e = { 0 };

	buf_init(&b, DROP_REQUEST_MAX);
	CHECK_INT(dropfmt_request(&rq, &b, &e), 0);
	CHECK_STR(b.data, "postbote-drop 1\naccount: work\nfrom: <>\nfull-name: Cron Daemon\n"
			  "extract: 1\n8bit: 1\ndsn-notify: success,delay\ndsn-ret: HDRS\n"
			  "dsn-envid: x+2Bid\nrcpt: bob@example.org\nrcpt: \nrcpt: carol, dave\n\n");
	CHECK(buf_addstr(&b, "Subject: x\r\n\r\nbody\r\n") == 0);
	CHECK_INT(dropfmt_parse(b.data, b.len, 0, &d, &e), 0);
	CHECK_INT((long long)d.len, (long long)(strstr(b.data, "\n\n") - b.data + 2));
	CHECK_STR(d.rq.account, "work");
	CHECK_STR(d.rq.from, "<>");
	CHECK_STR(d.rq.full_name, "Cron Daemon");
	CHECK_INT(d.rq.extract, 1);
	CHECK_INT(d.rq.read_envelope_from, 0);
	CHECK_INT(d.rq.body_8bit, 1);
	CHECK_STR(d.rq.dsn_notify, "success,delay");
	CHECK_STR(d.rq.dsn_ret, "HDRS");
	CHECK_STR(d.rq.dsn_envid, "x+2Bid");
	CHECK_UINT(d.rq.nrcpts, 3);
	CHECK_STR(d.rq.rcpts[0], "bob@example.org");
	CHECK_STR(d.rq.rcpts[1], "");
	CHECK_STR(d.rq.rcpts[2], "carol, dave");
	CHECK(d.rq.login == NULL && d.rq.trace == NULL);
	dropfmt_free(&d);
	/* the same as a dropped file needs the stamp */
	CHECK_INT(dropfmt_parse(b.data, b.len, 1, &d, &e), -1);
	CHECK_STR(e.text, "a dropped file without its uid, user and time");
	buf_free(&b);
}

static void test_stamp(void)
{
	struct buf b;
	struct dropfmt d;
	struct err e = { 0 };

	buf_init(&b, 4096);
	CHECK(buf_addstr(&b, "postbote-drop 1\n") == 0);
	CHECK(dropfmt_stamp(&b, 1001, "alice", 1764590000) == 0);
	CHECK(buf_addstr(&b, "rcpt: bob\n\n") == 0);
	CHECK_INT(dropfmt_parse(b.data, b.len, 1, &d, &e), 0);
	CHECK_INT(d.uid, 1001);
	CHECK_STR(d.user, "alice");
	CHECK_INT(d.time, 1764590000);
	CHECK_UINT(d.rq.nrcpts, 1);
	dropfmt_free(&d);
	/* from a caller, the stamp is a forgery */
	CHECK_INT(dropfmt_parse(b.data, b.len, 0, &d, &e), -1);
	CHECK_STR(e.text, "the request names its own uid, user or time");
	buf_free(&b);
	/* a user name that could not be one line is written as "?" */
	buf_init(&b, 4096);
	CHECK(dropfmt_stamp(&b, 5, "evil\nrcpt: x", 1) == 0);
	CHECK_STR(b.data, "uid: 5\nuser: ?\ntime: 1\n");
	buf_free(&b);
}

static void test_refused(void)
{
	static const struct {
		const char *in;
		int stamped;
		const char *why;
	} rows[] = {
		{ "postbote-drop 2\nrcpt: a\n\n", 0, "not a request of this version of postbote" },
		{ "Subject: hi\n\nbody\n", 0, "not a request of this version of postbote" },
		{ "postbote-drop 1\nqueue_dir: /tmp\n\n", 0, "an unknown key 'queue_dir' in the request" },
		{ "postbote-drop 1\nrcpt a\n\n", 0, "a request line without \"key: value\"" },
		{ "postbote-drop 1\nfrom: a\nfrom: b\n\n", 0, "from twice in the request" },
		{ "postbote-drop 1\nrcpt: a\rb\n\n", 0, "a bad value for rcpt in the request" },
		{ "postbote-drop 1\nrcpt: a\x7f\n\n", 0, "a bad value for rcpt in the request" },
		{ "postbote-drop 1\nextract: yes\n\n", 0, "extract takes 1 in the request" },
		{ "postbote-drop 1\ndsn-ret: ALL\n\n", 0, "a bad value for dsn-ret in the request" },
		{ "postbote-drop 1\ndsn-notify: SUCCESS ORCPT=x\n\n", 0,
		  "a bad value for dsn-notify in the request" },
		{ "postbote-drop 1\nuid: 0\nrcpt: a\n\n", 0, "the request names its own uid, user or time" },
		{ "postbote-drop 1\nuid: x\nuser: a\ntime: 1\n\n", 1, "a bad uid: line in a dropped file" },
		{ "postbote-drop 1\nuid: 1\nuser: a\n\n", 1, "a dropped file without its uid, user and time" },
		{ "postbote-drop 1\nuid: 1\nuser: a\ntime: 99999999999999999999\n\n", 1,
		  "a bad time line in a dropped file" },
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct dropfmt d;
		struct err e;

		UNIT_CTX("row %zu", i);
		CHECK_INT(parse(rows[i].in, rows[i].stamped, &d, &e), -1);
		CHECK_INT(e.kind, ERR_DATA);
		CHECK_STR(e.text, rows[i].why);
	}
	UNIT_CTX_CLEAR();
}

static void test_limits(void)
{
	struct dropfmt d;
	struct err e = { 0 };
	struct buf b;
	char *v = malloc(DROP_VALUE_MAX + 2);
	char *one[] = { v };
	struct request rq = { .rcpts = one, .nrcpts = 1 };

	/* NUL inside the request */
	CHECK_INT(dropfmt_parse("postbote-drop 1\nrcpt: a\0b\n\n", 27, 0, &d, &e), -1);
	CHECK_STR(e.text, "a NUL byte in the request");
	/* not finished: read more; past the cap: refused */
	CHECK_INT(parse("postbote-drop 1\nrcpt: a\n", 0, &d, &e), 1);
	buf_init(&b, BUF_NO_MAX);
	CHECK(buf_addstr(&b, "postbote-drop 1\n") == 0);
	while (b.len < DROP_REQUEST_MAX)
		if (buf_addstr(&b, "rcpt: someone@example.org\n") < 0)
			abort();
	CHECK_INT(dropfmt_parse(b.data, b.len, 0, &d, &e), -1);
	CHECK_STR(e.text, "the request is over 1048576 bytes");
	buf_free(&b);
	/* a value over the cap can neither be written nor read */
	memset(v, 'a', DROP_VALUE_MAX + 1);
	v[DROP_VALUE_MAX + 1] = '\0';
	buf_init(&b, DROP_REQUEST_MAX);
	CHECK_INT(dropfmt_request(&rq, &b, &e), -1);
	buf_free(&b);
	buf_init(&b, BUF_NO_MAX);
	CHECK(buf_printf(&b, "postbote-drop 1\nrcpt: %s\n\n", v) == 0);
	CHECK_INT(dropfmt_parse(b.data, b.len, 0, &d, &e), -1);
	CHECK_STR(e.text, "a bad value for rcpt in the request");
	buf_free(&b);
	/* a line break in a value cannot be written */
	one[0] = "bob\nuid: 0";
	buf_init(&b, DROP_REQUEST_MAX);
	CHECK_INT(dropfmt_request(&rq, &b, &e), -1);
	CHECK_INT(e.kind, ERR_DATA);
	buf_free(&b);
	free(v);
}

static void test_trailer(void)
{
	char t[DROPFMT_TRAILER_MAX], tail[128];
	size_t len = 0;

	dropfmt_trailer(12345, t);
	CHECK_STR(t, "postbote-drop-end 12345\n");
	snprintf(tail, sizeof tail, "body\r\n%s", t);
	CHECK_INT(dropfmt_parse_trailer(tail, strlen(tail), &len), 12345);
	CHECK_UINT(len, strlen(t));
	CHECK_INT(dropfmt_parse_trailer(t, strlen(t), &len), 12345);
	CHECK_INT(dropfmt_parse_trailer("body\r\npostbote-drop-end 12", 26, &len), -1);
	CHECK_INT(dropfmt_parse_trailer("x\npostbote-drop-end \n", 21, &len), -1);
	CHECK_INT(dropfmt_parse_trailer("x\npostbote-drop-end 1x\n", 23, &len), -1);
	CHECK_INT(dropfmt_parse_trailer("x\npostbote-drop-ends 1\n", 23, &len), -1);
	CHECK_INT(dropfmt_parse_trailer("", 0, &len), -1);
}

int main(void)
{
	test_round_trip();
	test_stamp();
	test_refused();
	test_limits();
	test_trailer();
	return unit_done();
}
