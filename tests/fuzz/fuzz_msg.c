/* fuzz_msg: a message through msg_spool, from a memfd into a spool file. The first byte picks the
 * options (-i, -t, maildomain, Bcc, set_from, the full name, the sender); the rest is stdin.
 * Its length modulo 3 picks how it is written: msg_write; msg_write kept in memory
 * (msg_opts.memory), then the spool; or msg_pass in small steps (the memfd is a file that can
 * be read again), then the spool. What was in memory or passed must be the spool's bytes.
 * Checks the spool file: CRLF only (no bare CR, no bare LF), no NUL, a header section, body
 * lines of at most 998 bytes, no Bcc when asked, the size right. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hdr.h"
#include "msg.h"
#include "fuzz.h"
#include "rcpt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char spool_dir[4096];
static int input_fd = -1;

static void cleanup(void)
{
	if (spool_dir[0])
		rmdir(spool_dir);	/* fails, and is caught by a test, if a spool file stayed */
}

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");

	if (input_fd >= 0)
		return;
	snprintf(spool_dir, sizeof spool_dir, "%s/postbote-fuzz-msg.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(spool_dir))
		abort();
	atexit(cleanup);
	input_fd = memfd_create("fuzz-msg-input", MFD_CLOEXEC);
	if (input_fd < 0)
		abort();
}

struct cb {
	const char *sender;
	int calls;
};

static const char *cb_sender(void *ctx, const char *header_from)
{
	struct cb *c = ctx;

	(void)header_from;
	c->calls++;
	return c->sender;
}

static int is_blank_line_at(const char *p, const char *end)
{
	return end - p >= 2 && p[0] == '\r' && p[1] == '\n';
}

static void check_spool(const char *s, size_t n, const struct msg_opts *o)
{
	const char *p = s, *end = s + n, *body = NULL;

	REQUIRE(n >= 2 && s[n - 2] == '\r' && s[n - 1] == '\n');
	for (size_t i = 0; i < n; i++) {
		REQUIRE(s[i] != '\0');
		if (s[i] == '\r')
			REQUIRE(i + 1 < n && s[i + 1] == '\n');
		if (s[i] == '\n')
			REQUIRE(i > 0 && s[i - 1] == '\r');
	}
	/* the header section: fields and their folds, up to the first empty line */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)(nl - p) - 1;	/* without CRLF */

		if (is_blank_line_at(p, end)) {
			body = nl + 1;
			break;
		}
		if (p[0] != ' ' && p[0] != '\t') {
			size_t name = hdr_name_len(p, len);

			REQUIRE(name > 0);	/* every line is a field or a fold */
			if (o->remove_bcc)
				REQUIRE(!(name == 3 && strncasecmp(p, "Bcc", 3) == 0) &&
					!(name == 10 && strncasecmp(p, "Resent-Bcc", 10) == 0));
		}
		p = nl + 1;
	}
	REQUIRE(body != NULL);	/* there always is an empty line after the header section */
	for (p = body; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		REQUIRE((size_t)(nl - p) - 1 <= MSG_LINE_MAX);
		p = nl + 1;
	}
}

/* msg_pass in steps of 97 bytes, as a sender of chunks asks, the bytes into got; then all of it
 * into the spool, read again from the input. */
static int pass_steps(struct msg *m, struct buf *got, struct err *e)
{
	off_t at = 0;

	while (m->more || at < m->size) {
		off_t end;

		if (msg_pass(m, at, at + 97, e) < 0)
			return -1;
		end = m->size < at + 97 ? m->size : at + 97;
		for (; at < end; at++) {
			char c;

			if (at < m->stored)
				REQUIRE(pread(m->fd, &c, 1, at) == 1);
			else if (at >= m->pass_at && at - m->pass_at < (off_t)m->pass_len)
				c = m->pass[at - m->pass_at];
			else
				REQUIRE(0);	/* msg_pass said it was readable */
			if (buf_addch(got, c) < 0)
				abort();
		}
	}
	return msg_write_more(m, -1, e);
}

static unsigned char opt_of(const uint8_t *data, size_t size)
{
	return size ? data[0] : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { NULL, "Jane Doe", "Doe, Jane", "J\xc3\xbcrgen",
					     "Eve\r\nBcc: x@example.org" };
	static const char *const senders[] = { "me@example.org", "", "me", "me@example.org" };
	struct cb cb = { 0 };
	struct msg_opts o = { 0 };
	struct rcpt_list rl = { 0 };
	int extract = !!(opt_of(data, size) & 2);
	struct msg m;
	struct err e = { 0 };
	struct stat st;
	unsigned char opt = size ? data[0] : 0;
	const uint8_t *in = size ? data + 1 : data;
	size_t inlen = size ? size - 1 : 0;
	char *out;
	ssize_t k;
	int rc, mode = (int)(inlen % 3);	/* 0: msg_write; 1: kept in memory; 2: passed */
	struct buf got;

	setup();
	if (ftruncate(input_fd, 0) < 0 || pwrite(input_fd, in, inlen, 0) != (ssize_t)inlen ||
	    lseek(input_fd, 0, SEEK_SET) != 0)
		abort();
	cb.sender = senders[(opt >> 6) & 3];
	o.dot_ends = !(opt & 1);
	o.maildomain = opt & 4 ? "mail.example" : NULL;
	o.remove_bcc = !(opt & 8);
	o.set_from = (opt >> 4) % 3 == 0 ? MSG_FROM_AUTO : (opt >> 4) % 3 == 1 ? MSG_FROM_ON
										: MSG_FROM_OFF;
	o.set_date = 1;
	o.set_msgid = !(opt & 32);
	o.full_name = names[opt % 5];
	o.domain = "host.example";
	o.tmpdir = spool_dir;
	o.memory = mode == 1;
	buf_init(&got, BUF_NO_MAX);

	rc = msg_read_headers(input_fd, &o, &m, &e);
	if (rc == 0) {
		const char *sender = cb_sender(&cb, m.header_from);

		if (extract && rcpt_from_headers(&rl, &m.fields, &e) < 0) {
			msg_close(&m);
			rc = -1;
		} else if (mode == 2) {
			rc = msg_write_some(&m, sender, 100, &e);
			if (rc == 0)
				rc = pass_steps(&m, &got, &e);
		} else {
			rc = msg_write(&m, sender, &e);
			if (rc == 0 && mode == 1 && m.fd < 0) {
				REQUIRE(m.pass_at == 0 && (off_t)m.pass_len == m.size && m.size > 0);
				if (buf_add(&got, m.pass, m.pass_len) < 0)
					abort();
				rc = msg_write_more(&m, -1, &e);	/* now into the spool file */
			}
		}
	}
	rcpt_free(&rl);
	if (rc < 0) {
		REQUIRE(e.kind == ERR_DATA || e.kind == ERR_IO);
		REQUIRE(m.fd == -1);
		/* without a NUL, -t or a giant line there is nothing to refuse */
		REQUIRE(memchr(in, 0, inlen) || extract || inlen > 1024 * 1024);
		msg_close(&m);
		buf_free(&got);
		return 0;
	}
	REQUIRE(cb.calls == 1);
	REQUIRE(m.fd >= 0 && fstat(m.fd, &st) == 0 && st.st_size == m.size);
	if (m.added & MSG_ADDED_FROM)
		REQUIRE(o.set_from != MSG_FROM_OFF && m.sender && *m.sender);
	out = malloc((size_t)m.size + 1);
	if (!out)
		abort();
	k = pread(m.fd, out, (size_t)m.size + 1, 0);
	REQUIRE(k == (ssize_t)m.size);
	check_spool(out, (size_t)k, &o);
	if (mode == 2 || got.len)	/* what went from memory is what the spool has */
		REQUIRE(got.len == (size_t)k && memcmp(got.data, out, got.len) == 0);
	free(out);
	buf_free(&got);
	msg_close(&m);
	REQUIRE(m.fd == -1 && m.fields.n == 0);
	return 0;
}
