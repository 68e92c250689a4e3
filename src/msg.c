/* msg: stdin to spool, canonical CRLF, header fix-ups; streams in constant memory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "hdr.h"
#include "msg.h"

#define MSG_CHUNK 65536
#define MSG_HEADER_LINE_MAX (1024 * 1024)

struct msg_state {
	const struct msg_opts *o;
	struct msg *m;
	struct buf out;		/* pending output to the spool */
	struct buf line;	/* a header line being collected */
	struct hdr hdr;
	int in_body;
	int at_bol, pending_cr, dot_pending, ended;
	unsigned long lineno;
	unsigned seen;		/* MSG_ADDED_* bits of fields present in the input */
};

static int msg_write(struct msg_state *s, const char *p, size_t n, struct err *e)
{
	s->m->size += (off_t)n;
	while (n) {
		ssize_t w = write(s->m->fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return err_set(e, ERR_IO, "cannot write the spool file: %s", strerror(errno));
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int msg_flush(struct msg_state *s, struct err *e)
{
	int r = msg_write(s, s->out.data, s->out.len, e);

	buf_reset(&s->out);
	return r;
}

static int msg_put(struct msg_state *s, const char *p, size_t n, struct err *e)
{
	if (s->out.len + n > MSG_CHUNK && msg_flush(s, e) < 0)
		return -1;
	if (n > MSG_CHUNK)	/* large enough to write without copying */
		return msg_write(s, p, n, e);
	if (buf_add(&s->out, p, n) < 0)
		err_oom();
	return 0;
}

/* Formats the display name for From:, quoted when it has specials, encoded when it is not
 * ASCII (RFC 2047). */
static void msg_add_name(struct buf *b, const char *name)
{
	int ascii = 1, plain = 1;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (*p >= 0x80 || *p < 0x20)
			ascii = 0;
		else if (!(*p == ' ' || (*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') ||
			   (*p >= 'a' && *p <= 'z') || strchr("!#$%&'*+-/=?^_`{|}~", *p)))
			plain = 0;
	}
	if (!ascii) {
		if (buf_addstr(b, "=?UTF-8?B?") < 0 || buf_add_base64(b, name, strlen(name)) < 0 ||
		    buf_addstr(b, "?=") < 0)
			err_oom();
		return;
	}
	if (plain) {
		if (buf_addstr(b, name) < 0)
			err_oom();
		return;
	}
	if (buf_addch(b, '"') < 0)
		err_oom();
	for (const char *p = name; *p; p++)
		if ((*p == '"' || *p == '\\') ? buf_addch(b, '\\') < 0 || buf_addch(b, *p) < 0
					      : buf_addch(b, *p) < 0)
			err_oom();
	if (buf_addch(b, '"') < 0)
		err_oom();
}

static int msg_add_headers(struct msg_state *s, struct err *e)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct buf b;
	time_t now = time(NULL);
	struct tm tm;
	int r;

	buf_init(&b, 1 << 20);
	localtime_r(&now, &tm);
	if (!(s->seen & MSG_ADDED_DATE)) {
		long off = tm.tm_gmtoff / 60;

		if (buf_printf(&b, "Date: %s, %d %s %d %02d:%02d:%02d %c%02ld%02ld\r\n",
			       days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
			       tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+',
			       labs(off) / 60, labs(off) % 60) < 0)
			err_oom();
		s->m->added |= MSG_ADDED_DATE;
	}
	if (!(s->seen & MSG_ADDED_MSGID)) {
		unsigned char rnd[8] = { 0 };

		if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd) {
			unsigned long long t = (unsigned long long)now ^ ((unsigned long long)getpid() << 32);

			memcpy(rnd, &t, sizeof rnd);
		}
		if (buf_printf(&b, "Message-ID: <%04d%02d%02d%02d%02d%02d.%ld.", tm.tm_year + 1900,
			       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			       (long)getpid()) < 0)
			err_oom();
		for (size_t i = 0; i < sizeof rnd; i++)
			if (buf_printf(&b, "%02x", rnd[i]) < 0)
				err_oom();
		if (buf_printf(&b, "@%s>\r\n", s->o->domain) < 0)
			err_oom();
		s->m->added |= MSG_ADDED_MSGID;
	}
	if (!(s->seen & MSG_ADDED_FROM) && s->o->from && *s->o->from) {
		if (buf_addstr(&b, "From: ") < 0)
			err_oom();
		if (s->o->full_name && *s->o->full_name) {
			msg_add_name(&b, s->o->full_name);
			if (buf_printf(&b, " <%s>\r\n", s->o->from) < 0)
				err_oom();
		} else if (buf_printf(&b, "%s\r\n", s->o->from) < 0) {
			err_oom();
		}
		s->m->added |= MSG_ADDED_FROM;
	}
	r = msg_put(s, b.data, b.len, e);
	buf_free(&b);
	return r;
}

/* Pulls the header parser's events and writes what they say. */
static int msg_header_events(struct msg_state *s, struct err *e)
{
	struct hdr_ev ev;

	while (hdr_next(&s->hdr, &ev) != HDR_NONE) {
		if (ev.type == HDR_FIELD) {
			if (hdr_is(&ev, "Date"))
				s->seen |= MSG_ADDED_DATE;
			else if (hdr_is(&ev, "Message-ID"))
				s->seen |= MSG_ADDED_MSGID;
			else if (hdr_is(&ev, "From"))
				s->seen |= MSG_ADDED_FROM;
			if (msg_put(s, ev.field, ev.len, e) < 0 || msg_put(s, "\r\n", 2, e) < 0)
				return -1;
			continue;
		}
		s->in_body = 1;
		if (msg_add_headers(s, e) < 0 || msg_put(s, "\r\n", 2, e) < 0)
			return -1;
		if (ev.body && (msg_put(s, ev.body, ev.body_len, e) < 0 || msg_put(s, "\r\n", 2, e) < 0))
			return -1;
	}
	return 0;
}

/* Bytes of the current line. */
static int msg_text(struct msg_state *s, const char *p, size_t n, struct err *e)
{
	if (!n)
		return 0;
	s->at_bol = 0;
	if (s->in_body)
		return msg_put(s, p, n, e);
	if (buf_add(&s->line, p, n) < 0)
		return err_set(e, ERR_DATA, "header line %lu is longer than %d bytes", s->lineno + 1,
			       MSG_HEADER_LINE_MAX);
	return 0;
}

/* The current line ended. */
static int msg_eol(struct msg_state *s, struct err *e)
{
	s->lineno++;
	s->at_bol = 1;
	if (s->in_body)
		return msg_put(s, "\r\n", 2, e);
	if (hdr_push(&s->hdr, s->line.data, s->line.len, e) < 0)
		return -1;
	buf_reset(&s->line);
	return msg_header_events(s, e);
}

/* Feeds a block of input through the line-ending state machine. */
static int msg_feed(struct msg_state *s, const char *p, size_t n, struct err *e)
{
	const char *end = p + n;

	while (p < end && !s->ended) {
		const char *q;

		if (s->pending_cr) {
			s->pending_cr = 0;
			if (*p == '\n')
				p++;
			if (msg_eol(s, e) < 0)
				return -1;
			continue;
		}
		if (s->dot_pending) {
			s->dot_pending = 0;
			if (*p == '\n' || *p == '\r') {
				s->ended = 1;	/* a lone "." ends the message */
				break;
			}
			if (msg_text(s, ".", 1, e) < 0)
				return -1;
		} else if (s->at_bol && *p == '.' && s->o->dot_ends) {
			s->dot_pending = 1;
			s->at_bol = 0;
			p++;
			continue;
		}
		for (q = p; q < end; q++) {
			unsigned char c = (unsigned char)*q;

			if (c <= '\r' && (c == '\r' || c == '\n' || c == 0))
				break;
			s->m->eight_bit |= c >> 7;
		}
		if (msg_text(s, p, (size_t)(q - p), e) < 0)
			return -1;
		if (q == end)
			break;
		if (*q == 0)
			return err_set(e, ERR_DATA, "the message contains a NUL byte (line %lu); "
				       "nothing was sent", s->lineno + 1);
		if (*q == '\r')
			s->pending_cr = 1;
		else if (msg_eol(s, e) < 0)
			return -1;
		p = q + 1;
	}
	return 0;
}

/* End of input: close the last line, and the header section if it is still open. */
static int msg_finish(struct msg_state *s, struct err *e)
{
	/* a lone "." as the last line, even without its line end, ends the message too */
	if (!s->ended && !s->dot_pending && (s->pending_cr || !s->at_bol) && msg_eol(s, e) < 0)
		return -1;
	if (!s->in_body) {
		hdr_eof(&s->hdr);
		if (msg_header_events(s, e) < 0)
			return -1;
	}
	return msg_flush(s, e);
}

static int msg_open_spool(const struct msg_opts *o, struct err *e)
{
	const char *dir = o->tmpdir;
	char path[4096];
	int fd;

	if (!dir || !*dir)
		dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	snprintf(path, sizeof path, "%s/postbote.XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return err_set(e, ERR_IO, "cannot create a spool file in %s: %s", dir,
			       strerror(errno));
	unlink(path);
	return fd;
}

int msg_spool(int in, const struct msg_opts *o, struct msg *m, struct err *e)
{
	static char chunk[MSG_CHUNK];
	struct msg_state s = { .o = o, .m = m, .at_bol = 1 };
	int r = -1;

	memset(m, 0, sizeof *m);
	m->fd = msg_open_spool(o, e);
	if (m->fd < 0)
		return -1;
	buf_init(&s.out, MSG_CHUNK);
	buf_init(&s.line, MSG_HEADER_LINE_MAX);
	hdr_init(&s.hdr);
	for (;;) {
		ssize_t n = read(in, chunk, sizeof chunk);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_set(e, ERR_IO, "cannot read the message: %s", strerror(errno));
			goto out;
		}
		if (n == 0 || s.ended)
			break;
		if (msg_feed(&s, chunk, (size_t)n, e) < 0)
			goto out;
	}
	r = msg_finish(&s, e);
out:
	if (s.ended)	/* read the rest, so the writer gets no SIGPIPE */
		while (read(in, chunk, sizeof chunk) > 0)
			;
	buf_free(&s.out);
	buf_free(&s.line);
	hdr_free(&s.hdr);
	if (r < 0)
		msg_close(m);
	return r;
}

void msg_close(struct msg *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
}
