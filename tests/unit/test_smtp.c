/* test_smtp: the client session against a scripted connection. This file defines every conn_*
 * function that smtp.c calls, so the linker takes these instead of src/conn.c (Postfix's pmock
 * idea): no socket, no TLS, and the test sees every byte and every flush.
 *
 * A script is a list of steps: "C:LINE" is a line the client must send next, "S:BYTES" bytes
 * the server has sent by then. Server bytes become readable only once the client has flushed
 * the command lines before them, so pipelining shows as it would on the wire. */
#include <stdarg.h>

#include "buf.h"
#include "conn.h"
#include "smtp.h"
#include "unit.h"

struct conn {
	int open;
};

static struct conn the_conn;
static const char *const *script;
static size_t script_at, nflushes, first_flush_lines, flush_lines;
static struct buf out, in;
static size_t in_pos;
static char mismatch[512];

/* Makes the server bytes after the current position readable. */
static void feed(void)
{
	while (script[script_at] && strncmp(script[script_at], "S:", 2) == 0) {
		if (buf_addstr(&in, script[script_at] + 2) < 0)
			abort();
		script_at++;
	}
}

static void start(const char *const *s)
{
	script = s;
	script_at = nflushes = first_flush_lines = 0;
	mismatch[0] = '\0';
	buf_free(&out);
	buf_free(&in);
	buf_init(&out, 1 << 22);
	buf_init(&in, 1 << 22);
	in_pos = 0;
	feed();
}

struct conn *conn_open(const char *host, int port, int timeout_s, struct err *e)
{
	(void)host, (void)port, (void)timeout_s, (void)e;
	the_conn.open = 1;
	return &the_conn;
}

void conn_close(struct conn *c)
{
	if (c)
		c->open = 0;
}

void conn_cap_timeout(struct conn *c, int seconds) { (void)c, (void)seconds; }
int conn_timeout(const struct conn *c) { (void)c; return 7; }
long long conn_deadline(const struct conn *c) { (void)c; return 0; }
size_t conn_pending(const struct conn *c) { (void)c; return in.len - in_pos; }
int conn_is_tls(const struct conn *c) { (void)c; return 0; }
int conn_tls_resumed(const struct conn *c) { (void)c; return 0; }

void conn_tls_describe(const struct conn *c, char *o, size_t size)
{
	(void)c;
	if (size)
		o[0] = '\0';
}

int conn_channel_binding(const struct conn *c, const char **type, char *b64, size_t size)
{
	(void)c, (void)type, (void)b64, (void)size;
	return -1;
}

void conn_tls_info(const struct conn *c, FILE *f) { (void)c, (void)f; }

int conn_starttls(struct conn *c, const struct tls_opts *o, struct err *e)
{
	(void)c, (void)o;
	return err_set(e, ERR_PROTOCOL, "no TLS in this test");
}

int conn_write(struct conn *c, const void *p, size_t n, struct err *e)
{
	(void)c, (void)e;
	if (buf_add(&out, p, n) < 0)
		abort();
	return 0;
}

/* Checks each whole line sent against the script, then lets the replies after it through. */
int conn_flush(struct conn *c, struct err *e)
{
	char *nl;

	(void)c, (void)e;
	flush_lines = 0;
	while ((nl = memmem(out.data, out.len, "\r\n", 2))) {
		size_t n = (size_t)(nl - out.data);
		const char *want = script[script_at];

		if (!mismatch[0] && (!want || strncmp(want, "C:", 2) != 0 || strlen(want + 2) != n ||
				     memcmp(want + 2, out.data, n) != 0))
			snprintf(mismatch, sizeof mismatch, "step %zu: sent '%.*s', script wants '%s'",
				 script_at, (int)(n > 200 ? 200 : n), out.data, want ? want : "(end)");
		if (want && strncmp(want, "C:", 2) == 0)
			script_at++;
		buf_consume(&out, n + 2);
		flush_lines++;
		feed();
	}
	if (flush_lines && nflushes++ == 0)
		first_flush_lines = flush_lines;
	return 0;
}

int conn_readline(struct conn *c, struct buf *line, long long deadline, struct err *e)
{
	const char *p = in.data + in_pos, *nl;

	(void)c, (void)deadline;
	buf_reset(line);
	nl = memchr(p, '\n', in.len - in_pos);
	if (!nl)
		return err_set(e, ERR_TEMP, "the server closed it");
	if (buf_add(line, p, (size_t)(nl - p)) < 0)
		return err_set(e, ERR_PROTOCOL, "line longer than %zu bytes", line->max);
	in_pos += (size_t)(nl - p) + 1;
	if (line->len && line->data[line->len - 1] == '\r')
		buf_setlen(line, line->len - 1);
	return 0;
}

/* ---- helpers ---- */

#define GREET "S:220 test ESMTP\r\n"
#define EHLO_PIPE "C:EHLO me.example", "S:250-test\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
#define EHLO_PLAIN "C:EHLO me.example", "S:250-test\r\n250 8BITMIME\r\n"

static struct smtp *open_session(struct err *e)
{
	enum smtp_phase phase;
	struct smtp *s = smtp_open("test.example", 25, 7, NULL, &phase, e);

	if (!s || smtp_ehlo(s, "me.example", e) < 0) {
		fprintf(stderr, "cannot open the session: %s\n", e->text);
		exit(99);
	}
	return s;
}

static struct spool spool_of(const char *text)
{
	FILE *f = tmpfile();

	if (!f || fputs(text, f) < 0 || fflush(f) != 0)
		abort();
	return (struct spool){ .fd = dup(fileno(f)), .offset = 0, .size = (off_t)strlen(text) };
}

static int send_to(struct smtp *s, const char *const *rcpts, size_t n,
		   struct smtp_rcpt_result *res, struct err *e)
{
	struct envelope env = { .from = "a@example.org" };
	struct spool sp = spool_of("Subject: x\r\n\r\nbody\r\n");
	int r = smtp_send(s, &env, "a@example.org", rcpts, n, 0, &sp, res, e);

	close(sp.fd);
	return r;
}

static void script_done(void)
{
	if (mismatch[0])
		fprintf(stderr, "%s\n", mismatch);
	CHECK(mismatch[0] == '\0');
	CHECK(script[script_at] == NULL);
}

/* ---- tests ---- */

static void test_pipelined(void)
{
	static const char *const s[] = {
		GREET, EHLO_PIPE,
		"C:MAIL FROM:<a@example.org>", "C:RCPT TO:<b@example.org>",
		"C:RCPT TO:<c@example.org>", "C:DATA",
		"S:250 ok\r\n250 ok\r\n452 4.5.3 too many\r\n354 go\r\n",
		"C:Subject: x", "C:", "C:body", "C:.", "S:250 2.0.0 queued\r\n",
		"C:QUIT", "S:221 bye\r\n", NULL,
	};
	const char *rcpts[] = { "b@example.org", "c@example.org" };
	struct smtp_rcpt_result res[2];
	struct err e = { 0 };
	struct smtp *sm;

	UNIT_CTX("pipelined");
	start(s);
	sm = open_session(&e);
	nflushes = 0;
	CHECK_INT(send_to(sm, rcpts, 2, res, &e), 0);
	CHECK_INT(first_flush_lines, 4);	/* MAIL, RCPT, RCPT, DATA in one flight */
	CHECK_INT(res[0].code, 250);
	CHECK_STR(res[0].reply, "250 2.0.0 queued");
	CHECK_INT(res[1].code, 452);
	smtp_close(sm);
	script_done();
}

static void test_lockstep(void)
{
	static const char *const s[] = {
		GREET, EHLO_PLAIN,
		"C:MAIL FROM:<a@example.org>", "S:250 ok\r\n",
		"C:RCPT TO:<b@example.org>", "S:550 5.1.1 no\r\n",
		"C:RCPT TO:<c@example.org>", "S:250 ok\r\n",
		"C:DATA", "S:354 go\r\n",
		"C:Subject: x", "C:", "C:body", "C:.", "S:250 ok\r\n",
		"C:QUIT", "S:221 bye\r\n", NULL,
	};
	const char *rcpts[] = { "b@example.org", "c@example.org" };
	struct smtp_rcpt_result res[2];
	struct err e = { 0 };
	struct smtp *sm;

	UNIT_CTX("without PIPELINING");
	start(s);
	sm = open_session(&e);
	nflushes = 0;
	CHECK_INT(send_to(sm, rcpts, 2, res, &e), 0);
	CHECK_INT(first_flush_lines, 1);	/* one command, then its reply */
	CHECK_INT(res[0].code, 550);
	CHECK_INT(res[1].code, 250);
	smtp_close(sm);
	script_done();
}

static void test_bounded(void)
{
	enum { N = 150 };
	static const char *s[2 * N + 32];
	static char lines[N][64], addrs[N][64];
	const char *rcpts[N];
	struct smtp_rcpt_result res[N];
	struct err e = { 0 };
	struct smtp *sm;
	size_t k = 0;

	UNIT_CTX("a bounded pipeline");
	s[k++] = GREET;
	s[k++] = "C:EHLO me.example";
	s[k++] = "S:250-test\r\n250 PIPELINING\r\n";
	s[k++] = "C:MAIL FROM:<a@example.org>";
	s[k++] = "S:250 ok\r\n";
	/* each reply is written after the command it answers, as a server writes them */
	for (int i = 0; i < N; i++) {
		snprintf(addrs[i], sizeof addrs[i], "r%d@example.org", i);
		snprintf(lines[i], sizeof lines[i], "C:RCPT TO:<%s>", addrs[i]);
		rcpts[i] = addrs[i];
		s[k++] = lines[i];
		s[k++] = "S:250 ok\r\n";
	}
	s[k++] = "C:DATA";
	s[k++] = "S:554 5.5.1 no thanks\r\n";
	s[k++] = "C:QUIT";
	s[k++] = "S:221 bye\r\n";
	s[k] = NULL;
	start(s);
	sm = open_session(&e);
	nflushes = 0;
	CHECK_INT(send_to(sm, rcpts, N, res, &e), -1);
	CHECK(first_flush_lines <= SMTP_PIPELINE_MAX);
	CHECK(first_flush_lines > 1);
	CHECK_INT(smtp_failed_phase(sm), PHASE_DATA);
	CHECK_INT(smtp_last_code(sm), 554);
	CHECK_INT(res[N - 1].code, 250);
	smtp_close(sm);
	script_done();
}

static void test_421(void)
{
	static const char *const s[] = {
		GREET, EHLO_PLAIN,
		"C:MAIL FROM:<a@example.org>", "S:250 ok\r\n",
		"C:RCPT TO:<b@example.org>", "S:421 4.3.2 closing\r\n", NULL,
	};
	const char *rcpts[] = { "b@example.org" };
	struct smtp_rcpt_result res[1];
	struct err e = { 0 };
	struct smtp *sm;

	UNIT_CTX("421 at RCPT");
	start(s);
	sm = open_session(&e);
	CHECK_INT(send_to(sm, rcpts, 1, res, &e), -1);
	CHECK_INT(e.kind, ERR_TEMP);
	CHECK_INT(smtp_failed_phase(sm), PHASE_RCPT);
	CHECK_INT(smtp_last_code(sm), 421);
	CHECK(!smtp_usable(sm));	/* no QUIT after 421 */
	smtp_close(sm);
	script_done();
}

static void test_helo(void)
{
	static const char *const s[] = {
		GREET, "C:EHLO me.example", "S:502 5.5.2 what\r\n",
		"C:HELO me.example", "S:250 hello\r\n", "C:QUIT", "S:221 bye\r\n", NULL,
	};
	struct err e = { 0 };
	struct smtp *sm;

	UNIT_CTX("HELO fallback");
	start(s);
	sm = open_session(&e);
	CHECK_UINT(smtp_caps(sm)->flags, 0);
	smtp_close(sm);
	script_done();
}

static void test_stray(void)
{
	static const char *const s[] = {
		GREET, EHLO_PLAIN,
		"C:MAIL FROM:<a@example.org>", "S:250 ok\r\n",
		"C:RCPT TO:<b@example.org>", "S:250 ok\r\n",
		"C:DATA", "S:354 go\r\n250 2.0.0 stray\r\n", NULL,
	};
	const char *rcpts[] = { "b@example.org" };
	struct smtp_rcpt_result res[1];
	struct err e = { 0 };
	struct smtp *sm;

	UNIT_CTX("a stray reply after 354");
	start(s);
	sm = open_session(&e);
	CHECK_INT(send_to(sm, rcpts, 1, res, &e), -1);
	CHECK_INT(e.kind, ERR_PROTOCOL);
	CHECK(strstr(e.text, "nobody asked for") != NULL);
	CHECK_INT(smtp_failed_phase(sm), PHASE_BODY);
	CHECK(!smtp_usable(sm));
	smtp_close(sm);
	script_done();
}

static void test_long_mail(void)
{
	static const char *const s[] = {
		GREET, "C:EHLO me.example", "S:250-test\r\n250 DSN\r\n", NULL,
	};
	char from[901], envid[1500];
	struct envelope env = { .from = from, .dsn_envid = envid };
	const char *rcpts[] = { "b@example.org" };
	struct smtp_rcpt_result res[1];
	struct spool sp = spool_of("x\r\n");
	struct err e = { 0 };
	struct smtp *sm;

	UNIT_CTX("a MAIL FROM line too long for one command");
	memset(from, 'a', 880);
	strcpy(from + 880, "@example.org");
	memset(envid, 'v', sizeof envid - 1);
	envid[sizeof envid - 1] = '\0';
	start(s);
	sm = open_session(&e);
	CHECK_INT(smtp_send(sm, &env, from, rcpts, 1, 0, &sp, res, &e), -1);
	CHECK_INT(e.kind, ERR_DATA);
	CHECK_UINT(out.len, 0);	/* nothing cut went out */
	close(sp.fd);
	smtp_close(sm);
}

int main(void)
{
	test_pipelined();
	test_lockstep();
	test_bounded();
	test_421();
	test_helo();
	test_stray();
	test_long_mail();
	buf_free(&out);
	buf_free(&in);
	return unit_done();
}
