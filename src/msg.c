/* msg: stdin to spool (canonical CRLF, header rewriting and fix-ups, constant memory), and the bounces
 * that tell a sender what was given up. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "hdr.h"
#include "msg.h"
#include "caps.h"

#define MSG_CHUNK 65536
/* Between msg_read_headers and msg_write: the input's line-ending state machine, and what of the
 * input was read past the end of the header section. */
struct msg_state {
	struct msg_opts o;
	struct msg *m;
	int in;			/* the input */
	int writing;		/* msg_write has begun: output goes to the spool */
	struct buf out;		/* pending output to the spool */
	struct buf line;	/* a header line being collected */
	struct hdr hdr;
	int in_body;
	int at_bol, pending_cr, dot_pending, ended, eof;
	size_t col;		/* bytes in the current body line */
	unsigned long lineno;
	unsigned seen;		/* MSG_ADDED_* bits of fields present in the input */
	struct buf first_body;	/* a line that started the body without an empty line */
	int have_first_body;
	struct buf rest;	/* input read after the header section, not yet fed */
	/* win (m->pass): what msg_pass passed (output goes there, not to the spool, while
	 * passing), or a small message kept whole (msg_opts.memory) */
	int passing;
	struct buf win;
	/* input that is a regular file can be read again from where the body starts (body_in),
	 * into the spool from where the body starts there (body_out), with the line state it had */
	int rewindable;
	off_t in_size;
	struct timespec in_mtime;
	off_t body_in, body_out;
	struct {
		int at_bol, pending_cr, dot_pending;
		size_t col;
		unsigned long lineno, split_lines;
	} mark;
};

/* ---- output ---- */

/* Into the spool file, made at the first write. */
static int msg_store(struct msg_state *s, const char *p, size_t n, struct err *e)
{
	if (s->m->fd < 0 && (s->m->fd = msg_spool_file(s->o.tmpdir, e)) < 0)
		return -1;
	s->m->stored += (off_t)n;
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

static int msg_out(struct msg_state *s, const char *p, size_t n, struct err *e)
{
	s->m->size += (off_t)n;
	if (!s->passing)
		return msg_store(s, p, n, e);
	if (buf_add(&s->win, p, n) < 0)
		buf_broken(__FILE__, __LINE__);
	return 0;
}

static int msg_flush(struct msg_state *s, struct err *e)
{
	int r = msg_out(s, s->out.data, s->out.len, e);

	buf_reset(&s->out);
	return r;
}

static int msg_put(struct msg_state *s, const char *p, size_t n, struct err *e)
{
	int direct = n >= MSG_CHUNK / 2;	/* large enough to write without copying */

	if (s->passing)		/* into memory: no write to save */
		return msg_out(s, p, n, e);
	if ((direct || s->out.len + n > MSG_CHUNK) && s->out.len && msg_flush(s, e) < 0)
		return -1;
	if (direct)
		return msg_out(s, p, n, e);
	if (buf_add(&s->out, p, n) < 0)
		buf_broken(__FILE__, __LINE__);
	return 0;
}

/* Writes a header field and its CRLF, folding any line over MSG_LINE_MAX at the last blank
 * that keeps it under; a line with no such blank goes out as it is. */
static int msg_put_field(struct msg_state *s, const char *f, size_t len, struct err *e)
{
	/* on the first line only after the colon: "From :" must not lose its colon */
	const char *colon = memchr(f, ':', len);
	size_t min = colon ? (size_t)(colon - f) + 1 : len;

	while (len) {
		const char *nl = memchr(f, '\n', len);
		size_t n = nl ? (size_t)(nl - f) + 1 : len;	/* this physical line, with LF */
		size_t text = n - (nl ? 2 : 0);		/* without CRLF */
		size_t cut = 0;

		if (text > MSG_LINE_MAX) {
			for (size_t i = MSG_LINE_MAX; i > min && !cut; i--)
				if (f[i] == ' ' || f[i] == '\t')
					cut = i;
		}
		min = 1;	/* a continuation line may fold after its first blank */
		if (cut) {
			if (msg_put(s, f, cut, e) < 0 || msg_put(s, "\r\n", 2, e) < 0)
				return -1;
			f += cut;
			len -= cut;
			continue;
		}
		if (msg_put(s, f, n, e) < 0)
			return -1;
		f += n;
		len -= n;
	}
	return msg_put(s, "\r\n", 2, e);
}

/* ---- header fields ---- */

static int name_in(const struct hdr_ev *ev, const char *const *names)
{
	for (; *names; names++)
		if (hdr_is(ev, *names))
			return 1;
	return 0;
}

/* The field's value: the text after the colon. */
static const char *field_value(const struct hdr_ev *ev, size_t *len)
{
	const char *colon = memchr(ev->field + ev->name_len, ':', ev->len - ev->name_len);

	*len = ev->len - (size_t)(colon + 1 - ev->field);
	return colon + 1;
}

/* The field with "@maildomain" after every bare local name. */
/* -1 when the field would grow past what out may hold (thousands of bare names, each with a
 * long domain added). */
static int msg_qualify(const struct hdr_ev *ev, const struct addr_list *l, const char *domain,
		       struct buf *out)
{
	size_t vlen, done = 0;
	const char *v = field_value(ev, &vlen);
	size_t base = (size_t)(v - ev->field);

	for (size_t i = 0; i < l->n; i++) {
		size_t at = base + l->v[i].local_end;

		if (l->v[i].has_domain)
			continue;
		if (buf_add(out, ev->field + done, at - done) < 0 || buf_printf(out, "@%s", domain) < 0)
			return -1;
		done = at;
	}
	return buf_add(out, ev->field + done, ev->len - done);
}

/* From: with the envelope sender as its address. The message's own display name is kept (cron
 * says "root (Cron Daemon)" and passes -FCronDaemon); -F or from_full_name serve when it has
 * none. */
static void msg_from_field(struct msg_state *s, const char *name, struct buf *out)
{
	const char *fn = s->o.full_name;

	if (buf_addstr(out, "From: ") < 0)
		buf_broken(__FILE__, __LINE__);
	if (name && *name) {
		if (buf_addstr(out, name) < 0 || buf_addch(out, ' ') < 0)
			buf_broken(__FILE__, __LINE__);
	} else if (fn && *fn) {
		addr_add_phrase(out, fn, strlen(fn));
		if (buf_addch(out, ' ') < 0)
			buf_broken(__FILE__, __LINE__);
	}
	if (buf_printf(out, "<%s>", s->m->sender) < 0)
		buf_broken(__FILE__, __LINE__);
}

/* The first address of a From: field, qualified with the mail domain when it has none; NULL
 * when the field holds none or does not parse. */
static char *msg_from_address(const struct msg_state *s, const struct addr_list *l)
{
	struct buf b;

	if (!l->n)
		return NULL;
	if (l->v[0].has_domain || !s->o.maildomain)
		return xstrdup(l->v[0].spec);
	buf_init(&b, ADDR_MAX * 2);
	if (buf_printf(&b, "%s@%s", l->v[0].spec, s->o.maildomain) < 0)
		buf_broken(__FILE__, __LINE__);
	return buf_detach(&b, NULL);
}

/* Reading: one complete header field is kept, and the first From: address noted. */
static int msg_keep_field(struct msg_state *s, const struct hdr_ev *ev, struct err *e)
{
	if (hdr_is(ev, "From") && !(s->seen & MSG_ADDED_FROM)) {
		struct addr_list l = { 0 };
		struct err pe;
		size_t vlen;
		const char *v = field_value(ev, &vlen);

		s->seen |= MSG_ADDED_FROM;
		if (addr_parse(v, vlen, &l, &pe) == 0)
			s->m->header_from = msg_from_address(s, &l);
		addr_list_free(&l);
	}
	if (hdr_fields_add(&s->m->fields, ev, s->lineno) < 0)
		return err_set(e, ERR_DATA, "the header section is longer than %d bytes; nothing was "
			       "sent", HDR_SECTION_MAX);
	return 0;
}

/* Writing: one header field, rewritten as the account asks. */
static int msg_field(struct msg_state *s, const struct hdr_ev *ev, struct err *e)
{
	static const char *const addr_fields[] = { "From", "Sender", "To", "Cc", "Bcc", "Reply-To",
						   "Resent-From", "Resent-Sender", "Resent-To",
						   "Resent-Cc", "Resent-Bcc", NULL };
	int is_bcc = hdr_is(ev, "Bcc") || hdr_is(ev, "Resent-Bcc");
	int is_from = hdr_is(ev, "From");
	struct addr_list l = { 0 };
	struct buf out;
	int parsed = 0, r;

	if (hdr_is(ev, "Date"))
		s->seen |= MSG_ADDED_DATE;
	else if (hdr_is(ev, "Message-ID"))
		s->seen |= MSG_ADDED_MSGID;
	if (is_bcc && s->o.remove_bcc)
		return 0;
	if (name_in(ev, addr_fields)) {
		size_t vlen;
		const char *v = field_value(ev, &vlen);
		struct err pe = { 0 };

		parsed = addr_parse(v, vlen, &l, &pe) == 0;
	}
	buf_init(&out, HDR_FIELD_MAX * 2);
	if (is_from && !(s->seen & MSG_ADDED_FROM)) {
		s->seen |= MSG_ADDED_FROM;
		if (s->o.set_from == MSG_FROM_ON && *s->m->sender) {
			msg_from_field(s, parsed && l.n ? l.v[0].name : NULL, &out);
			r = msg_put_field(s, out.data, out.len, e);
			buf_free(&out);
			addr_list_free(&l);
			return r;
		}
	}
	if (parsed && s->o.maildomain) {
		if (msg_qualify(ev, &l, s->o.maildomain, &out) < 0) {
			buf_free(&out);
			addr_list_free(&l);
			return err_set(e, ERR_DATA, "the %.*s: header would be longer than %zu bytes "
				       "with maildomain added to its addresses; nothing was sent",
				       (int)ev->name_len, ev->name, out.max);
		}
	} else if (buf_add(&out, ev->field, ev->len) < 0)
		buf_broken(__FILE__, __LINE__);
	r = msg_put_field(s, out.data, out.len, e);
	buf_free(&out);
	addr_list_free(&l);
	return r;
}

/* "Date: ..." for now, in the local zone, with fixed English names (RFC 5322 3.3). */
void msg_date_text(time_t now, char *out, size_t size)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	long off;

	localtime_r(&now, &tm);
	off = tm.tm_gmtoff / 60;
	snprintf(out, size, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld", days[tm.tm_wday],
		 tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
}

static void msg_date(struct buf *b, time_t now)
{
	char date[MSG_DATE_MAX];

	msg_date_text(now, date, sizeof date);
	if (buf_printf(b, "Date: %s\r\n", date) < 0)
		buf_broken(__FILE__, __LINE__);
}

/* "Message-ID: <YYYYMMDDhhmmss.RANDOM@domain>": unique without any state. */
static void msg_msgid(struct buf *b, time_t now, const char *domain)
{
	unsigned char rnd[12] = { 0 };
	struct tm tm;

	localtime_r(&now, &tm);
	if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd) {
		unsigned long long t = (unsigned long long)now ^ ((unsigned long long)getpid() << 32);

		memcpy(rnd, &t, sizeof t);
	}
	if (buf_printf(b, "Message-ID: <%04d%02d%02d%02d%02d%02d.", tm.tm_year + 1900,
		       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec) < 0)
		buf_broken(__FILE__, __LINE__);
	for (size_t i = 0; i < sizeof rnd; i++)
		if (buf_printf(b, "%02x", rnd[i]) < 0)
			buf_broken(__FILE__, __LINE__);
	if (buf_printf(b, "@%s>\r\n", domain) < 0)
		buf_broken(__FILE__, __LINE__);
}

/* Date:, Message-ID: and From: when the input lacked them and the account wants them. */
static int msg_add_headers(struct msg_state *s, struct err *e)
{
	time_t now = time(NULL);
	struct buf b;
	int r;

	buf_init(&b, 1 << 20);
	if (!(s->seen & MSG_ADDED_DATE) && s->o.set_date) {
		msg_date(&b, now);
		s->m->added |= MSG_ADDED_DATE;
	}
	if (!(s->seen & MSG_ADDED_MSGID) && s->o.set_msgid) {
		/* the right side is the sender's domain: one that the sender controls */
		const char *at = strrchr(s->m->sender, '@');

		msg_msgid(&b, now, at && at[1] ? at + 1 : s->o.domain);
		s->m->added |= MSG_ADDED_MSGID;
	}
	if (!(s->seen & MSG_ADDED_FROM) && s->o.set_from != MSG_FROM_OFF && *s->m->sender) {
		if (s->o.full_name && *s->o.full_name)
			msg_from_field(s, NULL, &b);
		else if (buf_printf(&b, "From: %s", s->m->sender) < 0)	/* bare: no <> */
			buf_broken(__FILE__, __LINE__);
		if (buf_addstr(&b, "\r\n") < 0)
			buf_broken(__FILE__, __LINE__);
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
			if (msg_keep_field(s, &ev, e) < 0)
				return -1;
			continue;
		}
		s->in_body = 1;	/* the header section is read: msg_read_headers returns */
		if (ev.body) {
			s->have_first_body = 1;
			if (buf_add(&s->first_body, ev.body, ev.body_len) < 0)
				buf_broken(__FILE__, __LINE__);
		}
	}
	return 0;
}

/* The header section, rewritten, with what the account adds, the empty line, and the line that
 * started the body when the section had no empty line. */
static int msg_write_head(struct msg_state *s, struct err *e)
{
	const struct hdr_fields *f = &s->m->fields;
	const char *b = s->first_body.data;
	size_t blen = s->first_body.len;

	s->seen = 0;
	if (s->o.trace && (msg_put(s, s->o.trace, strlen(s->o.trace), e) < 0 ||
			   msg_put(s, "\r\n", 2, e) < 0))
		return -1;
	for (size_t i = 0; i < f->n; i++) {
		struct hdr_ev ev = { .type = HDR_FIELD, .name = f->v[i].text,
				     .name_len = f->v[i].name_len, .field = f->v[i].text,
				     .len = f->v[i].len };

		if (msg_field(s, &ev, e) < 0)
			return -1;
	}
	if (msg_add_headers(s, e) < 0 || msg_put(s, "\r\n", 2, e) < 0)
		return -1;
	if (!s->have_first_body)
		return 0;
	s->col = 0;
	for (size_t i = 0; i < blen; i += MSG_LINE_MAX) {
		size_t n = blen - i < MSG_LINE_MAX ? blen - i : MSG_LINE_MAX;

		if (i)
			s->m->split_lines++;
		if (msg_put(s, b + i, n, e) < 0 || msg_put(s, "\r\n", 2, e) < 0)
			return -1;
	}
	return 0;
}

/* ---- the line-ending state machine ---- */

/* Bytes of the current line. */
static int msg_text(struct msg_state *s, const char *p, size_t n, struct err *e)
{
	if (!n)
		return 0;
	s->at_bol = 0;
	if (!s->in_body) {
		if (buf_add(&s->line, p, n) < 0)
			return err_set(e, ERR_DATA, "header line %lu is longer than %d bytes",
				       s->lineno + 1, MSG_HEADER_LINE_MAX);
		return 0;
	}
	while (s->col + n > MSG_LINE_MAX) {	/* split as Postfix does: a line break inserted */
		size_t k = MSG_LINE_MAX - s->col;

		if (msg_put(s, p, k, e) < 0 || msg_put(s, "\r\n", 2, e) < 0)
			return -1;
		s->m->split_lines++;
		p += k;
		n -= k;
		s->col = 0;
	}
	s->col += n;
	return msg_put(s, p, n, e);
}

/* The current line ended. */
static int msg_eol(struct msg_state *s, struct err *e)
{
	s->lineno++;
	s->at_bol = 1;
	s->col = 0;
	if (s->in_body)
		return msg_put(s, "\r\n", 2, e);
	if (s->lineno == 1 && s->line.len >= 5 && memcmp(s->line.data, "From ", 5) == 0 &&
	    !hdr_name_len(s->line.data, s->line.len)) {
		buf_reset(&s->line);	/* an mbox separator (git format-patch): not mail */
		return 0;
	}
	if (hdr_push(&s->hdr, s->line.data, s->line.len, e) < 0)
		return -1;
	buf_reset(&s->line);
	return msg_header_events(s, e);
}

/* Whether any of the bytes is >= 0x80, a word at a time (a big message's body passes here). */
static int msg_high_bit(const char *p, size_t n)
{
	uint64_t acc = 0, w;
	size_t i = 0;

	for (; i + sizeof w <= n; i += sizeof w) {
		memcpy(&w, p + i, sizeof w);
		acc |= w;
	}
	for (; i < n; i++)
		acc |= (unsigned char)p[i];
	return (acc & 0x8080808080808080ULL) != 0;
}

/* The common case without the byte-by-byte machine: whole body lines that end in LF or CRLF,
 * with no other CR, no NUL, no leading dot to look at and no need to split. CRLF lines pass as
 * they are, in runs; an LF line gets its CR. Returns where the general path must take over (end
 * when the block is done), or NULL. */
static const char *msg_feed_fast(struct msg_state *s, const char *p, const char *end,
				 struct err *e)
{
	const char *run = p;	/* lines that pass unchanged, not yet put */

	if (!s->in_body || s->pending_cr || s->dot_pending || memchr(p, '\0', (size_t)(end - p)))
		return p;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n, len;
		int crlf;

		if (!nl)
			break;	/* the start of a line: the general path keeps it for the next block */
		n = (size_t)(nl - p);
		crlf = n && nl[-1] == '\r';
		len = n - (size_t)crlf;
		if ((s->at_bol && s->o.dot_ends && *p == '.') || s->col + len > MSG_LINE_MAX ||
		    memchr(p, '\r', len))
			break;
		/* only what is taken counts: bytes after a lone "." are not the message */
		s->m->eight_bit |= msg_high_bit(p, len);
		if (!crlf) {
			if (msg_put(s, run, (size_t)(p + len - run), e) < 0 ||
			    msg_put(s, "\r\n", 2, e) < 0)
				return NULL;
			run = nl + 1;
		}
		s->lineno++;
		s->at_bol = 1;
		s->col = 0;
		p = nl + 1;
	}
	if (p > run && msg_put(s, run, (size_t)(p - run), e) < 0)
		return NULL;
	return p;
}

/* While reading, the header section has ended: the rest waits for msg_write. */
static int msg_head_done(const struct msg_state *s)
{
	return !s->writing && s->in_body;
}

/* Feeds a block of input through the line-ending state machine. Returns how much of it was
 * taken (all of it, unless the header section ended while reading), or -1. */
static ssize_t msg_feed(struct msg_state *s, const char *start, size_t n, struct err *e)
{
	const char *end = start + n, *p;

	p = msg_feed_fast(s, start, end, e);
	if (!p)
		return -1;
	while (p < end && !s->ended && !msg_head_done(s)) {
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
		} else if (s->at_bol && *p == '.' && s->o.dot_ends) {
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
		if (q == end) {
			p = end;
			break;
		}
		if (*q == 0)
			return err_set(e, ERR_DATA, "the message contains a NUL byte (line %lu); "
				       "nothing was sent", s->lineno + 1);
		p = q + 1;
		if (*q == '\r')
			s->pending_cr = 1;
		else if (msg_eol(s, e) < 0)
			return -1;
	}
	if (s->ended)
		return (ssize_t)n;
	return p - start;
}

/* End of input: close the last line, and the header section if it is still open. */
static int msg_end_input(struct msg_state *s, struct err *e)
{
	s->eof = 1;
	/* a lone "." as the last line, even without its line end, ends the message too */
	if (!s->ended && !s->dot_pending && (s->pending_cr || !s->at_bol) && msg_eol(s, e) < 0)
		return -1;
	if (!s->in_body) {
		hdr_eof(&s->hdr);
		if (msg_header_events(s, e) < 0)
			return -1;
	}
	return 0;
}

/* Reads what is left of fd and drops it, so that its writer gets no SIGPIPE. */
static void msg_discard(int fd)
{
	static char chunk[MSG_CHUNK];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);

		if (n <= 0 && !(n < 0 && errno == EINTR))
			break;
	}
}

/* Feeds the input until it ends, or while reading until the header section ends (what was read
 * past it is kept in s->rest), or while writing until the spool has `limit` bytes (< 0: no
 * limit). The input has ended when s->eof is set. */
static int msg_pump(struct msg_state *s, off_t limit, struct err *e)
{
	static char chunk[MSG_CHUNK];

	while (!s->eof && !s->ended && !msg_head_done(s) &&
	       (limit < 0 || s->m->size + (off_t)s->out.len < limit)) {
		ssize_t n = read(s->in, chunk, sizeof chunk), used;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_set(e, ERR_IO, "cannot read the message: %s", strerror(errno));
		if (n == 0)
			return msg_end_input(s, e);
		used = msg_feed(s, chunk, (size_t)n, e);
		if (used < 0)
			return -1;
		if (used < n && buf_add(&s->rest, chunk + used, (size_t)(n - used)) < 0)
			buf_broken(__FILE__, __LINE__);
	}
	if (!s->ended || s->eof)
		return 0;
	msg_discard(s->in);
	return msg_end_input(s, e);	/* a lone "." ended it: the header section ends too */
}

static void msg_state_free(struct msg *m)
{
	struct msg_state *s = m->st;

	if (!s)
		return;
	buf_free(&s->out);
	buf_free(&s->line);
	buf_free(&s->first_body);
	buf_free(&s->rest);
	buf_free(&s->win);
	hdr_free(&s->hdr);
	free(s);
	m->st = NULL;
	m->pass = NULL;
	m->pass_len = 0;
}

int msg_read_headers(int in, const struct msg_opts *o, struct msg *m, struct err *e)
{
	struct msg_state *s = xmalloc(sizeof *s);
	struct stat st;

	memset(m, 0, sizeof *m);
	m->fd = -1;
	m->sender = "";
	memset(s, 0, sizeof *s);
	s->o = *o;
	s->m = m;
	s->in = in;
	s->at_bol = 1;
	m->st = s;
	buf_init(&s->out, MSG_CHUNK);
	buf_init(&s->line, MSG_HEADER_LINE_MAX);
	buf_init(&s->first_body, HDR_FIELD_MAX);
	buf_init(&s->rest, MSG_CHUNK);
	buf_init(&s->win, BUF_NO_MAX);	/* as big as msg_pass's caller asks for, and one read */
	hdr_init(&s->hdr);
	if (fstat(in, &st) == 0 && S_ISREG(st.st_mode) && lseek(in, 0, SEEK_CUR) >= 0) {
		s->rewindable = 1;
		s->in_size = st.st_size;
		s->in_mtime = st.st_mtim;
	}
	if (msg_pump(s, -1, e) < 0) {
		msg_close(m);
		return -1;
	}
	return 0;
}

/* Where the body starts, in the input and in the spool, for msg_rewind: the header section is
 * written (or waits in s->out) and s->rest holds the input read past it. */
static void msg_mark(struct msg_state *s)
{
	off_t at = s->rewindable ? lseek(s->in, 0, SEEK_CUR) : -1;

	if (at < (off_t)s->rest.len) {
		s->rewindable = 0;
		return;
	}
	s->body_in = at - (off_t)s->rest.len;
	s->body_out = s->m->size + (off_t)s->out.len;
	s->mark.at_bol = s->at_bol;
	s->mark.pending_cr = s->pending_cr;
	s->mark.dot_pending = s->dot_pending;
	s->mark.col = s->col;
	s->mark.lineno = s->lineno;
	s->mark.split_lines = s->m->split_lines;
}

/* Back to where the body starts (msg_mark), in the spool and in the input, after msg_pass left
 * some of the message out of the spool; -1 with ERR_IO when the input file is not as it was. */
static int msg_rewind(struct msg_state *s, struct err *e)
{
	struct msg *m = s->m;
	struct stat st;

	if (fstat(s->in, &st) < 0 || st.st_size != s->in_size ||
	    st.st_mtim.tv_sec != s->in_mtime.tv_sec || st.st_mtim.tv_nsec != s->in_mtime.tv_nsec)
		return err_set(e, ERR_IO, "the message's file changed while it was sent: not "
			       "sent, and not queued either; send it again");
	if (ftruncate(m->fd, s->body_out) < 0 || lseek(m->fd, s->body_out, SEEK_SET) < 0 ||
	    lseek(s->in, s->body_in, SEEK_SET) < 0)
		return err_set(e, ERR_IO, "cannot read the message again: %s", strerror(errno));
	m->size = m->stored = m->pass_at = s->body_out;
	m->split_lines = s->mark.split_lines;
	m->pass_len = 0;
	m->more = 1;
	s->at_bol = s->mark.at_bol;
	s->pending_cr = s->mark.pending_cr;
	s->dot_pending = s->mark.dot_pending;
	s->col = s->mark.col;
	s->lineno = s->mark.lineno;
	s->ended = s->eof = s->passing = 0;
	buf_reset(&s->win);
	buf_reset(&s->out);
	return 0;
}

int msg_write_some(struct msg *m, const char *sender, off_t limit, struct err *e)
{
	struct msg_state *s = m->st;

	m->sender = sender;
	s->writing = 1;
	if (msg_write_head(s, e) < 0)
		goto fail;
	msg_mark(s);
	if (s->rest.len && msg_feed(s, s->rest.data, s->rest.len, e) < 0)
		goto fail;
	buf_reset(&s->rest);
	m->more = 1;
	return msg_write_more(m, limit, e);
fail:
	msg_close(m);
	return -1;
}

/* A read or write failed: nothing of the message may be used any more. */
static int msg_fail(struct msg *m)
{
	m->more = 0;
	msg_close(m);
	return -1;
}

/* After a pump: what is in memory, and whether the input has ended (the state stays while the
 * spool lacks some of the message: msg_rewind or msg_write_more needs it). */
static void msg_pumped(struct msg *m)
{
	struct msg_state *s = m->st;

	if (!s)
		return;	/* all of it is in the spool file */
	m->pass = s->win.data;
	m->pass_len = s->win.len;
	if (s->eof) {
		m->more = 0;
		if (m->stored == m->size)
			msg_state_free(m);
	}
}

int msg_write_more(struct msg *m, off_t want, struct err *e)
{
	struct msg_state *s = m->st;

	if (m->stored < m->size && m->pass_at == m->stored) {	/* the rest is in memory */
		s->passing = 0;
		if (msg_store(s, s->win.data, s->win.len, e) < 0)
			goto fail;
		buf_reset(&s->win);
		m->pass_at = m->stored;
	} else if (m->stored < m->size) {	/* msg_pass forgot some: all of it again, this time */
		if (msg_rewind(s, e) < 0)
			goto fail;
		want = -1;
	}
	if (!m->more) {
		msg_pumped(m);
		return 0;
	}
	if (msg_pump(s, want, e) < 0)
		goto fail;
	if (s->eof && m->fd < 0 && s->o.memory && s->out.len) {
		/* all of it is in s->out: it stays in memory, with no spool file yet */
		m->pass_at = 0;
		m->size += (off_t)s->out.len;
		if (buf_add(&s->win, s->out.data, s->out.len) < 0)
			buf_broken(__FILE__, __LINE__);
		buf_reset(&s->out);
	} else if (msg_flush(s, e) < 0) {
		goto fail;
	}
	msg_pumped(m);
	return 0;
fail:
	return msg_fail(m);
}

int msg_pass(struct msg *m, off_t from, off_t want, struct err *e)
{
	struct msg_state *s = m->st;

	if (want < 0 || !s || (!s->rewindable && m->more))
		return msg_write_more(m, want, e);
	/* some of [from, want) was passed and forgotten: only the input has it now */
	if (m->stored < m->pass_at && from < m->pass_at && want > m->stored)
		return msg_write_more(m, -1, e);
	if (s->passing && from > m->pass_at) {
		size_t drop = (size_t)(from - m->pass_at);

		if (drop > s->win.len)
			drop = s->win.len;
		buf_consume(&s->win, drop);
		m->pass_at += (off_t)drop;
	}
	if (m->more && m->size < want) {
		if (!s->passing) {
			if (msg_flush(s, e) < 0)
				goto fail;
			s->passing = 1;
			m->pass_at = m->size;
		}
		if (msg_pump(s, want, e) < 0)
			goto fail;
	}
	msg_pumped(m);
	return 0;
fail:
	return msg_fail(m);
}

int msg_write(struct msg *m, const char *sender, struct err *e)
{
	return msg_write_some(m, sender, -1, e);
}

void msg_drain(struct msg *m)
{
	if (!m->more || !m->st || m->st->rewindable)
		return;
	msg_discard(m->st->in);
	m->more = 0;
}

int msg_spool(int in, const struct msg_opts *o, const char *sender, struct msg *m, struct err *e)
{
	if (msg_read_headers(in, o, m, e) < 0)
		return -1;
	return msg_write(m, sender, e);
}

int msg_spool_file(const char *dir, struct err *e)
{
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

void msg_close(struct msg *m)
{
	msg_state_free(m);
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	hdr_fields_free(&m->fields);
	free(m->header_from);
	m->header_from = NULL;
}

/* The original header section of sp, up to its empty line, at most max bytes, into b. */
static void msg_bounce_headers(const struct spool *sp, struct buf *b, size_t max)
{
	char chunk[8192];
	off_t off = sp->offset, end = sp->offset + sp->size;
	size_t orig = b->len;

	while (off < end && b->len - orig < max) {
		ssize_t n = pread(sp->fd, chunk, sizeof chunk, off);
		char *blank;

		if (n <= 0)
			break;
		if (off + n > end)
			n = end - off;
		if (buf_add(b, chunk, (size_t)n) < 0)
			break;
		off += n;
		blank = strstr(b->data + orig, "\r\n\r\n");
		if (blank) {
			buf_setlen(b, (size_t)(blank - b->data) + 2);
			break;
		}
	}
	if (b->len < 2 || memcmp(b->data + b->len - 2, "\r\n", 2) != 0)
		(void)!buf_addstr(b, "\r\n");
}

int msg_bounce(const struct msg_bounce *in, struct spool *out, struct err *e)
{
	time_t now = time(NULL);
	struct buf b;
	int fd = msg_spool_file(NULL, e), r = -1;

	if (fd < 0)
		return -1;
	buf_init(&b, MSG_BOUNCE_MAX);
	if (buf_printf(&b, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\nTo: <%s>\r\n"
			   "Subject: Undelivered Mail Returned to Sender\r\n", in->domain, in->to) < 0)
		buf_broken(__FILE__, __LINE__);
	msg_date(&b, now);
	msg_msgid(&b, now, in->domain);
	if (buf_printf(&b, "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
			   "Content-Type: text/plain; charset=utf-8\r\n\r\n"
			   "postbote could not deliver your message (queue id %s) to these "
			   "recipients:\r\n\r\n", in->id) < 0)
		buf_broken(__FILE__, __LINE__);
	for (size_t i = 0; i < in->n; i++)
		if (buf_printf(&b, "  <%s>\r\n    %s\r\n", in->addrs[i], in->reasons[i]) < 0)
			break;
	if (buf_addstr(&b, "\r\nThe headers of your message follow.\r\n\r\n") < 0)
		buf_broken(__FILE__, __LINE__);
	msg_bounce_headers(in->orig, &b, MSG_BOUNCE_MAX / 2);
	if (write(fd, b.data, b.len) == (ssize_t)b.len) {
		*out = (struct spool){ .fd = fd, .offset = 0, .size = (off_t)b.len };
		r = 0;
	} else {
		err_set(e, ERR_IO, "cannot write a bounce: %s", strerror(errno));
		close(fd);
	}
	buf_free(&b);
	return r;
}
