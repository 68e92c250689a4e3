/* smtp: the client session: greeting, EHLO, STARTTLS, one transaction loop with a bounded
 * pipeline (DATA or BDAT), QUIT; AUTH is in smtp_auth.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "conn.h"
#include "log.h"
#include "smtp.h"
#include "smtp_int.h"
#include "caps.h"

#define SMTP_QUIT_WAIT 5	/* seconds for the reply to QUIT */
#define SMTP_BODY_CHUNK 65536
/* CHUNKING: the message goes in BDAT chunks of this many bytes, at most SMTP_BDAT_WINDOW of
 * them unanswered, so that memory stays flat and a refusal stops the sending soon. */
#define SMTP_BDAT_CHUNK (1 << 20)
#define SMTP_BDAT_WINDOW 4
#define SMTP_CHUNKS_UNKNOWN ((size_t)-1 / 4)	/* the message is still being read */


static struct smtp *smtp_new(const char *host, int port)
{
	struct smtp *s = xmalloc(sizeof *s);

	memset(s, 0, sizeof *s);
	s->port = port;
	s->host = host;
	reply_init(&s->reply);
	buf_init(&s->line, REPLY_LINE_MAX + 1);
	return s;
}

static void smtp_free(struct smtp *s)
{
	conn_close(s->conn);
	reply_free(&s->reply);
	buf_free(&s->line);
	free(s);
}

/* The step that starts now: what it is called in messages and where it is in the session. */
void smtp_step(struct smtp *s, enum smtp_phase p, const char *cmd)
{
	s->phase = p;
	s->cmd = cmd ? cmd : trouble_phase_name(p);
	s->code = 0;
}

/* A failed connection, as one message: timed out, or lost while doing `what`. */
static int smtp_lost(struct smtp *s, const char *what, struct err *e)
{
	char why[ERR_TEXT_MAX];

	s->broken = 1;
	s->code = 0;
	if (e->kind != ERR_TEMP && e->kind != ERR_PROTOCOL)
		return -1;
	if (e->flags & ERR_TIMEOUT)
		return err_timeout(e, "%s timed out after %d s while %s", s->host,
				   conn_timeout(s->conn), what);
	memcpy(why, e->text, sizeof why);
	return err_set(e, e->kind, "connection to %s lost while %s (%s)", s->host, what, why);
}

static int smtp_lost_sending(struct smtp *s, struct err *e)
{
	char what[64];

	snprintf(what, sizeof what, "sending %s", s->cmd);
	return smtp_lost(s, what, e);
}

/* Queues one command line (CRLF added) and shows it in the transcript. */
int smtp_put(struct smtp *s, const char *line, int flags, struct err *e)
{
	size_t n = strlen(line);

	log_transcript(LOG_OUT, line, n, flags);
	if (conn_write(s->conn, line, n, e) < 0 || conn_write(s->conn, "\r\n", 2, e) < 0)
		return smtp_lost_sending(s, e);
	return 0;
}

int smtp_flush(struct smtp *s, struct err *e)
{
	if (conn_flush(s->conn, e) < 0)
		return smtp_lost_sending(s, e);
	return 0;
}

/* Before a command whose reply is the only one due: whatever the server sent already came out
 * of turn, and a reply read after it would be taken for the wrong command. */
static int smtp_in_turn_at(struct smtp *s, const char *when, struct err *e)
{
	if (!conn_pending(s->conn))
		return 0;
	s->broken = 1;
	s->code = 0;
	return err_set(e, ERR_PROTOCOL, "%s sent a reply nobody asked for (%s); its replies cannot "
		       "be trusted (a broken server, or something between us)", s->host, when);
}

int smtp_in_turn(struct smtp *s, struct err *e)
{
	char when[96];

	snprintf(when, sizeof when, "before %s", s->cmd);
	return smtp_in_turn_at(s, when, e);
}

static int smtp_malformed(struct smtp *s, struct err *e)
{
	s->broken = 1;
	s->code = 0;
	return err_wrap(e, "%s sent a malformed reply to %s", s->host, s->cmd);
}

/* Reads one whole reply into s->reply, answering s->cmd. */
int smtp_read(struct smtp *s, struct err *e)
{
	long long deadline = conn_deadline(s->conn);
	int r;

	reply_reset(&s->reply);
	do {
		if (conn_readline(s->conn, &s->line, deadline, e) < 0) {
			char what[96];

			if (e->kind == ERR_PROTOCOL)
				return smtp_malformed(s, e);
			snprintf(what, sizeof what, "waiting for the reply to %s", s->cmd);
			return smtp_lost(s, what, e);
		}
		log_transcript(LOG_IN, s->line.data, s->line.len, 0);
		r = reply_push(&s->reply, s->line.data, s->line.len, e);
		if (r < 0)
			return smtp_malformed(s, e);
	} while (r == 0);
	if (s->reply.code == 421)
		s->broken = 1;
	reply_summary(&s->reply, s->last, sizeof s->last);
	return 0;
}

/* A refusal in s->reply, as an error: ERR_TEMP for 4xx, else `perm` (ERR_AUTH with a hint
 * when the reply is one that trouble_hint knows). */
static int smtp_refused(struct smtp *s, enum err_kind perm, const char *what, struct err *e)
{
	const char *hint = trouble_hint(s->last);

	s->code = s->reply.code;
	if (REPLY_TEMP(&s->reply))
		return err_set(e, ERR_TEMP, "%s answered %s with %s", s->host, s->cmd, s->last);
	if (hint)
		return err_set(e, ERR_AUTH, "%s %s: %s; %s", s->host, what, s->last, hint);
	return err_set(e, perm, "%s %s: %s", s->host, what, s->last);
}

/* Sends a command whose reply is the only one due, and reads that reply. */
static int smtp_cmd(struct smtp *s, const char *line, int flags, struct err *e)
{
	if (smtp_in_turn(s, e) < 0 || smtp_put(s, line, flags, e) < 0 || smtp_flush(s, e) < 0)
		return -1;
	return smtp_read(s, e);
}

/* Builds a command line in a capped buffer: a line that does not fit is an error, not a cut. */
static int smtp_line(struct buf *b, struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int smtp_line(struct buf *b, struct err *e, const char *fmt, ...)
{
	char *p = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0)
		err_oom();
	buf_reset(b);
	if (buf_add(b, p, (size_t)n) < 0) {
		free(p);
		return err_set(e, ERR_DATA, "a command would be %d bytes, more than the %d that "
			       "postbote sends", n, SMTP_CMD_MAX);
	}
	free(p);
	return 0;
}

static int smtp_greeting(struct smtp *s, struct err *e)
{
	smtp_step(s, PHASE_GREETING, NULL);
	if (smtp_read(s, e) < 0)
		return -1;
	if (s->reply.code / 100 != 2)
		return smtp_refused(s, ERR_UNAVAILABLE, "refused the connection", e);
	return 0;
}

static void smtp_tls_done(struct smtp *s)
{
	s->tls = 1;
	conn_tls_describe(s->conn, s->tls_desc, sizeof s->tls_desc);
	log_note("TLS started: %s%s", s->tls_desc, conn_tls_resumed(s->conn)
		 ? " (a session of an earlier run resumed: its certificate was verified then)" : "");
}

struct smtp *smtp_open(const char *host, int port, int timeout_s, const struct tls_opts *tls,
		       enum smtp_phase *phase, struct err *e)
{
	struct smtp *s = smtp_new(host, port);

	*phase = PHASE_CONNECT;
	s->conn = conn_open(host, port, timeout_s, e);
	if (!s->conn)
		goto fail;
	if (tls) {
		if (conn_starttls(s->conn, tls, e) < 0) {
			err_wrap(e, "TLS handshake with %s failed", host);
			goto fail;
		}
		smtp_tls_done(s);
	}
	*phase = PHASE_GREETING;
	if (smtp_greeting(s, e) < 0)
		goto fail;
	return s;
fail:
	smtp_free(s);
	return NULL;
}

int smtp_ehlo(struct smtp *s, const char *domain, struct err *e)
{
	struct buf line;
	int r = -1;

	buf_init(&line, SMTP_CMD_MAX);
	smtp_step(s, PHASE_EHLO, "EHLO");
	if (smtp_line(&line, e, "EHLO %s", domain) < 0 || smtp_cmd(s, line.data, 0, e) < 0)
		goto out;
	if (s->reply.code / 100 == 2) {
		ehlo_parse(&s->reply, &s->caps);
		s->caps.flags &= ~s->disabled;
		r = 0;
		goto out;
	}
	if (s->reply.code / 100 != 5) {
		smtp_refused(s, ERR_UNAVAILABLE, "rejected EHLO", e);
		goto out;
	}
	memset(&s->caps, 0, sizeof s->caps);
	smtp_step(s, PHASE_EHLO, "HELO");
	if (smtp_line(&line, e, "HELO %s", domain) < 0 || smtp_cmd(s, line.data, 0, e) < 0)
		goto out;
	if (s->reply.code / 100 != 2)
		smtp_refused(s, ERR_UNAVAILABLE, "rejected HELO", e);
	else
		r = 0;
out:
	buf_free(&line);
	return r;
}

int smtp_starttls(struct smtp *s, const struct tls_opts *o, const char *domain, struct err *e)
{
	smtp_step(s, PHASE_STARTTLS, NULL);
	if (!(s->caps.flags & EHLO_STARTTLS))
		return err_set(e, ERR_UNAVAILABLE, "%s does not offer STARTTLS; refusing to continue "
			       "without TLS (tls = off turns TLS off, for a trusted local relay only)",
			       s->host);
	if (smtp_cmd(s, "STARTTLS", 0, e) < 0)
		return -1;
	if (s->reply.code != 220)
		return smtp_refused(s, ERR_UNAVAILABLE, "refused STARTTLS", e);
	if (conn_starttls(s->conn, o, e) < 0) {
		s->broken = 1;
		return err_wrap(e, "TLS handshake with %s failed", s->host);
	}
	memset(&s->caps, 0, sizeof s->caps);	/* what was said in plaintext no longer counts */
	smtp_tls_done(s);
	return smtp_ehlo(s, domain, e);
}

/* After smtp_last, QUIT joins the flight being queued: its reply is never read, so nothing
 * depends on it. Not when a recipient was told "too many recipients" (452) in this
 * transaction: those want another one on this session, and QUIT then goes at smtp_close. */
static int smtp_quit_with(struct smtp *s, const struct smtp_rcpt_result *res, size_t n,
			  struct err *e)
{
	if (!s->closing || s->quit_sent)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (res[i].code == 452)
			return 0;
	s->quit_sent = 1;
	log_transcript(LOG_OUT, "QUIT", 4, 0);
	if (conn_write(s->conn, "QUIT\r\n", 6, e) < 0)
		return smtp_lost_sending(s, e);
	return 0;
}

void smtp_disable(struct smtp *s, unsigned flags)
{
	s->disabled |= flags;
	s->caps.flags &= ~flags;
}

void smtp_last(struct smtp *s)
{
	s->closing = 1;
}

/* Up to left bytes of the message from at (*p points to them): where the spool has them in
 * memory, else read from its file. -1 with ERR_IO. */
static ssize_t smtp_spool_bytes(const struct spool *sp, off_t at, off_t left, const char **p,
				struct err *e)
{
	static char chunk[SMTP_BODY_CHUNK];
	ssize_t n;

	if (at >= sp->mem_at && at - sp->mem_at < (off_t)sp->mem_len) {
		*p = sp->mem + (at - sp->mem_at);
		n = (ssize_t)(sp->mem_len - (size_t)(at - sp->mem_at));
		return n > left ? (ssize_t)left : n;
	}
	*p = chunk;
	do
		n = pread(sp->fd, chunk, left < SMTP_BODY_CHUNK ? (size_t)left : SMTP_BODY_CHUNK,
			  sp->offset + at);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return err_set(e, ERR_IO, "cannot read the spooled message: %s",
			       n < 0 ? strerror(errno) : "it is shorter than it should be");
	return n;
}

/* Sends the spool dot-stuffed, and the final dot, in large writes. */
static int smtp_body(struct smtp *s, const struct spool *sp, struct err *e)
{
	int at_bol = 1;
	off_t at = 0, left = sp->size;

	log_transcript(LOG_OUT, "(message body)", 14, 0);
	while (left > 0) {
		const char *p, *end;
		ssize_t n = smtp_spool_bytes(sp, at, left, &p, e);

		if (n < 0)
			return -1;
		at += n;
		left -= n;
		end = p + n;
		while (p < end) {
			/* everything up to the next line that starts with a dot goes in one write;
			 * that line gets one more dot */
			const char *hit, *stop;

			if (at_bol && *p == '.' && conn_write(s->conn, ".", 1, e) < 0)
				return -1;
			hit = memmem(p, (size_t)(end - p), "\n.", 2);
			stop = hit ? hit + 1 : end;
			if (conn_write(s->conn, p, (size_t)(stop - p), e) < 0)
				return -1;
			at_bol = stop[-1] == '\n';
			p = stop;
		}
	}
	log_transcript(LOG_OUT, ".", 1, 0);
	return conn_write(s->conn, ".\r\n", 3, e);
}

/* RFC 3461 xtext: '+', '=' and anything outside '!'..'~' as +XX. */
static int smtp_xtext(struct buf *b, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int r = *p < '!' || *p > '~' || *p == '+' || *p == '='
				? buf_printf(b, "+%02X", *p)
				: buf_addch(b, (char)*p);
		if (r < 0)
			return -1;
	}
	return 0;
}

/* The MAIL FROM line with its parameters, whole or not at all. */
static int smtp_mail_line(struct smtp *s, const struct envelope *env, const char *from,
			  int smtputf8, off_t size, struct buf *line, struct err *e)
{
	int dsn = (s->caps.flags & EHLO_DSN) != 0;

	buf_reset(line);
	if (buf_printf(line, "MAIL FROM:<%s>", from) < 0 ||
	    ((s->caps.flags & EHLO_SIZE) && size > 0 &&	/* 0: not known yet (smtp_verify) */
	     buf_printf(line, " SIZE=%lld", (long long)size) < 0) ||
	    (env->body_8bit && (s->caps.flags & EHLO_8BITMIME) &&
	     buf_addstr(line, " BODY=8BITMIME") < 0) ||
	    (smtputf8 && buf_addstr(line, " SMTPUTF8") < 0) ||
	    (dsn && env->dsn_ret && buf_printf(line, " RET=%s", env->dsn_ret) < 0) ||
	    (dsn && env->dsn_envid && (buf_addstr(line, " ENVID=") < 0 ||
				       smtp_xtext(line, env->dsn_envid) < 0)))
		return err_set(e, ERR_DATA, "the MAIL FROM command with its parameters would be "
			       "longer than %d bytes (a shorter sender or -V helps)", SMTP_CMD_MAX);
	return 0;
}

/* A command line must never be split: no address may carry a control character. */
static int smtp_addr_ok(const char *a)
{
	if (strlen(a) > SMTP_ADDR_MAX)
		return 0;
	for (const unsigned char *p = (const unsigned char *)a; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

/* Whether the message is bigger than the server takes (then e says so, with its whole size: one
 * still being read is read to the end for that). */
static int smtp_too_big(struct smtp *s, const struct spool *sp, struct err *e)
{
	if (!(s->caps.flags & EHLO_SIZE) || !s->caps.size ||
	    (unsigned long long)sp->size <= s->caps.size)
		return 0;
	/* one still being read: its whole size, for the error (nothing of it is kept for this) */
	while (sp->reading)
		if (sp->more(sp, sp->size, sp->size + SMTP_BDAT_CHUNK, e) < 0)
			return 1;
	err_set(e, ERR_UNAVAILABLE, "the message is %lld bytes but %s accepts at most %llu",
		(long long)sp->size, s->host, s->caps.size);
	return 1;
}

static int smtp_check(struct smtp *s, const char *from, const char *const *rcpts, size_t n,
		      const struct spool *sp, struct err *e)
{
	smtp_step(s, PHASE_MAIL, NULL);
	if (smtp_too_big(s, sp, e))
		return -1;
	if (!smtp_addr_ok(from))
		return err_set(e, ERR_DATA, "the sender address is too long or has control "
			       "characters");
	for (size_t i = 0; i < n; i++)
		if (!smtp_addr_ok(rcpts[i]))
			return err_set(e, ERR_DATA, "a recipient address is too long or has control "
				       "characters");
	return 0;
}

/* The commands of one transaction, in order: [RSET] MAIL RCPT... DATA, or with CHUNKING
 * [RSET] MAIL RCPT... BDAT... (the last one LAST). */
struct smtp_txn {
	const struct envelope *env;
	const char *from;
	const char *const *rcpts;
	size_t n;
	int smtputf8;
	const struct spool *sp;
	struct smtp_rcpt_result *res;
	int rset;		/* the first command is RSET */
	size_t ncmds;
	int mail_ok;		/* -1 until MAIL's reply is read */
	int mail_code;
	char mail_last[256];	/* MAIL's reply, when it refused */
	size_t accepted;
	struct err mail_err;	/* why MAIL failed, reported once the replies are read */
	struct buf line;
	int bdat;		/* CHUNKING: the commands after RCPT are BDAT chunks */
	size_t nchunks;
	int chunk_code;		/* the first refused chunk's reply code; 0: none */
	char chunk_last[256];
	struct err chunk_err;
};

static enum smtp_phase smtp_txn_phase(const struct smtp_txn *t, size_t i)
{
	if (t->rset && i == 0)
		return PHASE_RSET;
	i -= (size_t)t->rset;
	return i == 0 ? PHASE_MAIL : i <= t->n ? PHASE_RCPT : PHASE_DATA;
}

static size_t smtp_txn_rcpt(const struct smtp_txn *t, size_t i)
{
	return i - (size_t)t->rset - 1;
}

/* Command i is BDAT chunk number *k (from 0). */
static int smtp_txn_chunk(const struct smtp_txn *t, size_t i, size_t *k)
{
	size_t first = (size_t)t->rset + 1 + t->n;

	if (!t->bdat || i < first)
		return 0;
	*k = i - first;
	return 1;
}

static int smtp_mail_failed(struct smtp *s, struct smtp_txn *t, struct err *e);

/* The BDAT chunks of a message of size bytes: one at least (BDAT 0 LAST). */
static size_t smtp_bdat_chunks(off_t size)
{
	size_t n = (size_t)((size + SMTP_BDAT_CHUNK - 1) / SMTP_BDAT_CHUNK);

	return n ? n : 1;
}

/* Queues BDAT chunk k: its command and its bytes, straight from the spool, which is already
 * CRLF and not dot-stuffed (BDAT takes the bytes as they are). After smtp_last, QUIT follows
 * the last chunk in the same flight: its reply is never read. */
static int smtp_bdat_put(struct smtp *s, struct smtp_txn *t, size_t k, struct err *e)
{
	off_t at = (off_t)k * SMTP_BDAT_CHUNK, left;
	int last;

	/* a message still being read: this chunk's bytes and one more, to know whether it is the
	 * last; a failure part way leaves the transaction without its LAST, which only closing
	 * the connection ends */
	if (t->sp->more && (t->sp->more(t->sp, at, at + SMTP_BDAT_CHUNK + 1, e) < 0 ||
			    smtp_too_big(s, t->sp, e))) {
		s->broken = 1;
		return -1;
	}
	if (!t->sp->reading && t->nchunks == SMTP_CHUNKS_UNKNOWN) {
		t->nchunks = smtp_bdat_chunks(t->sp->size);
		if (t->nchunks <= k)
			t->nchunks = k + 1;	/* it ended where this chunk starts: BDAT 0 LAST */
		t->ncmds = (size_t)t->rset + 1 + t->n + t->nchunks;
	}
	left = t->sp->size - at;
	last = k + 1 == t->nchunks;
	if (left > SMTP_BDAT_CHUNK)
		left = SMTP_BDAT_CHUNK;
	s->cmd = "BDAT";
	if (smtp_line(&t->line, e, "BDAT %lld%s", (long long)left, last ? " LAST" : "") < 0 ||
	    smtp_put(s, t->line.data, 0, e) < 0)
		return -1;
	log_transcript(LOG_OUT, "(message body)", 14, 0);
	while (left > 0) {
		const char *p;
		ssize_t n = smtp_spool_bytes(t->sp, at, left, &p, e);

		if (n < 0) {
			s->broken = 1;	/* the chunk's size is promised: the session cannot go on */
			return -1;
		}
		if (conn_write(s->conn, p, (size_t)n, e) < 0)
			return smtp_lost(s, "sending the message", e);
		at += n;
		left -= n;
	}
	/* the RCPT replies are still to come: only a lone recipient cannot be told "too many" */
	return last && t->n == 1 ? smtp_quit_with(s, t->res, 0, e) : 0;
}

/* The reply to a BDAT chunk. Every chunk sent is answered (RFC 3030 has the server read each
 * one whatever it thinks of it), so all those replies are read; the first refusal decides
 * (smtp_bdat_outcome, once the last is in). */
static void smtp_bdat_reply(struct smtp *s, struct smtp_txn *t)
{
	if (t->mail_ok && t->accepted && !t->chunk_code && s->reply.code / 100 != 2) {
		t->chunk_code = s->reply.code;
		memcpy(t->chunk_last, s->last, sizeof t->chunk_last);
		smtp_refused(s, ERR_UNAVAILABLE, "rejected the message", &t->chunk_err);
	}
}

/* After the last chunk's reply: 0 when the server took the message, 1 when it took no
 * recipient, -1 when the transaction failed (the reply that decided is s->last again). */
static int smtp_bdat_outcome(struct smtp *s, struct smtp_txn *t, struct err *e)
{
	if (!t->mail_ok)
		return smtp_mail_failed(s, t, e);
	if (!t->accepted)
		return 1;	/* its "no valid recipients" says nothing new */
	if (t->chunk_code) {
		*e = t->chunk_err;
		s->phase = PHASE_DOT;
		s->code = t->chunk_code;
		memcpy(s->last, t->chunk_last, sizeof s->last);
		return -1;
	}
	return 0;
}

/* Queues command i. */
static int smtp_txn_put(struct smtp *s, struct smtp_txn *t, size_t i, struct err *e)
{
	enum smtp_phase p = smtp_txn_phase(t, i);
	int dsn = (s->caps.flags & EHLO_DSN) && t->env->dsn_notify;
	int r = 0;
	size_t k;

	if (smtp_txn_chunk(t, i, &k))
		return smtp_bdat_put(s, t, k, e);
	s->cmd = trouble_phase_name(p);
	if (p == PHASE_RSET)
		r = smtp_line(&t->line, e, "RSET");
	else if (p == PHASE_MAIL)
		r = smtp_mail_line(s, t->env, t->from, t->smtputf8, t->sp->reading ? 0 : t->sp->size,
				   &t->line, e);
	else if (p == PHASE_RCPT)
		r = smtp_line(&t->line, e, "RCPT TO:<%s>%s%s", t->rcpts[smtp_txn_rcpt(t, i)],
			      dsn ? " NOTIFY=" : "", dsn ? t->env->dsn_notify : "");
	else
		r = smtp_line(&t->line, e, "DATA");
	if (r < 0)
		return -1;
	return smtp_put(s, t->line.data, 0, e);
}

static int smtp_mail_failed(struct smtp *s, struct smtp_txn *t, struct err *e)
{
	*e = t->mail_err;
	s->phase = PHASE_MAIL;
	s->code = t->mail_code;
	memcpy(s->last, t->mail_last, sizeof s->last);	/* the reply that decided, not DATA's */
	return -1;
}

/* Takes the reply to command i. 0 to go on, 1 when the transaction ends without a message
 * (every recipient refused: res says why), -1 when it failed. */
static int smtp_txn_reply(struct smtp *s, struct smtp_txn *t, size_t i, struct err *e)
{
	enum smtp_phase p = smtp_txn_phase(t, i);
	size_t k;

	if (s->reply.code == 421)	/* the server is closing: nothing more will come */
		return smtp_refused(s, ERR_UNAVAILABLE, "", e);
	if (smtp_txn_chunk(t, i, &k)) {
		smtp_bdat_reply(s, t);
		return 0;
	}
	switch (p) {
	case PHASE_RSET:
		return s->reply.code / 100 == 2 ? 0 : smtp_refused(s, ERR_UNAVAILABLE, "refused RSET", e);
	case PHASE_MAIL:
		t->mail_ok = s->reply.code / 100 == 2;
		t->mail_code = s->reply.code;
		memcpy(t->mail_last, s->last, sizeof t->mail_last);
		if (!t->mail_ok)
			smtp_refused(s, ERR_UNAVAILABLE, "rejected the sender", &t->mail_err);
		return 0;
	case PHASE_RCPT:
		if (t->mail_ok) {
			struct smtp_rcpt_result *r = &t->res[smtp_txn_rcpt(t, i)];

			r->code = s->reply.code;
			memcpy(r->reply, s->last, sizeof r->reply);
			t->accepted += s->reply.code / 100 == 2;
		}
		return 0;
	default:
		break;
	}
	if (!t->mail_ok || !t->accepted) {
		/* a server that says 354 now would take a message for nobody: only closing the
		 * connection takes that back */
		if (s->reply.code == 354) {
			s->broken = 1;
			conn_close(s->conn);
			s->conn = NULL;
		}
		if (!t->mail_ok)
			return smtp_mail_failed(s, t, e);
		return 1;
	}
	if (s->reply.code != 354)
		return smtp_refused(s, ERR_UNAVAILABLE, "rejected the message", e);
	return 0;
}

/* Without PIPELINING, MAIL's refusal ends the transaction at once and DATA goes only to a
 * server that took a recipient. */
static int smtp_txn_stop(struct smtp *s, struct smtp_txn *t, size_t next, struct err *e)
{
	if (s->caps.flags & EHLO_PIPELINING)
		return 0;
	if (t->mail_ok == 0)
		return smtp_mail_failed(s, t, e);
	if (smtp_txn_phase(t, next) == PHASE_DATA && !t->accepted)
		return 1;	/* neither DATA nor a first BDAT chunk */
	return 0;
}

/* Command i may go now, with `ahead` commands unanswered: a BDAT chunk after the first only
 * while few are, so that a refusal stops the sending soon. */
static int smtp_txn_may(const struct smtp_txn *t, size_t i, size_t ahead)
{
	size_t k;

	return !smtp_txn_chunk(t, i, &k) || k == 0 || ahead < SMTP_BDAT_WINDOW;
}

/* With the replies before command `done` read: the rest of the message is not worth sending
 * (the sender or every recipient was refused, or a chunk was). The chunks sent are still
 * answered; the next transaction starts with RSET, which ends the unfinished one. */
static int smtp_txn_futile(const struct smtp_txn *t, size_t done)
{
	return t->bdat && (t->chunk_code || (done > (size_t)t->rset + t->n &&
					     (!t->mail_ok || !t->accepted)));
}

/* What the reply to command i answers, for messages and the failure policy. */
static void smtp_txn_step(struct smtp *s, const struct smtp_txn *t, size_t i)
{
	size_t k;

	if (smtp_txn_chunk(t, i, &k))
		smtp_step(s, PHASE_DOT, "BDAT");
	else
		smtp_step(s, smtp_txn_phase(t, i), NULL);
}

/* The envelope (and with CHUNKING the whole message): one loop for both modes, at most `depth`
 * commands in flight. 0 when the server said 354 (or took the last chunk), 1 when it took no
 * recipient, -1 when the transaction failed. */
static int smtp_envelope(struct smtp *s, struct smtp_txn *t, struct err *e)
{
	size_t depth = (s->caps.flags & EHLO_PIPELINING) ? SMTP_PIPELINE_MAX : 1;
	size_t sent = 0, done = 0;

	while (done < t->ncmds) {
		if (sent < t->ncmds && smtp_txn_futile(t, done)) {
			t->ncmds = sent;	/* no more chunks: read what the sent ones get */
			continue;
		}
		while (sent < t->ncmds && sent - done < depth && smtp_txn_may(t, sent, sent - done)) {
			int r = sent == done ? smtp_txn_stop(s, t, sent, e) : 0;

			if (r)
				return r;
			if (sent == done && smtp_in_turn(s, e) < 0)
				return -1;
			if (smtp_txn_put(s, t, sent, e) < 0)
				return -1;
			sent++;
		}
		if (smtp_flush(s, e) < 0)
			return -1;
		smtp_txn_step(s, t, done);	/* what the next reply answers */
		if (smtp_read(s, e) < 0)
			return -1;
		int r = smtp_txn_reply(s, t, done++, e);

		if (r)
			return r;
	}
	return t->bdat ? smtp_bdat_outcome(s, t, e) : 0;
}

/* The server took the message (its reply is in s->reply): each accepted recipient's result. */
static int smtp_took(struct smtp *s, struct smtp_rcpt_result *res, size_t n, struct err *e)
{
	/* two answers to one end: which one was it? (after QUIT, its 221 may be there already) */
	if (!s->quit_sent && smtp_in_turn_at(s, "after its reply to the end of the message", e) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (res[i].code / 100 == 2) {
			res[i].code = s->reply.code;
			memcpy(res[i].reply, s->last, sizeof res[i].reply);
		}
	return 0;
}

int smtp_verify(struct smtp *s, const struct envelope *env, const char *from, const char *rcpt,
		int smtputf8, struct smtp_rcpt_result *res, struct err *e)
{
	static const struct spool unknown = { .fd = -1 };
	struct smtp_txn t = { .env = env, .from = from, .rcpts = &rcpt, .n = 1,
			      .smtputf8 = smtputf8, .sp = &unknown, .res = res, .mail_ok = -1 };
	int r;

	memset(res, 0, sizeof *res);
	if (smtp_check(s, from, &rcpt, 1, &unknown, e) < 0)
		return -1;
	t.rset = s->transactions++ > 0;
	t.ncmds = (size_t)t.rset + 2;	/* [RSET] MAIL RCPT, and no DATA */
	buf_init(&t.line, SMTP_CMD_MAX);
	r = smtp_envelope(s, &t, e);
	buf_free(&t.line);
	if (r == 0 && t.mail_ok == 0)	/* with PIPELINING, MAIL's refusal is told at the end */
		return smtp_mail_failed(s, &t, e);
	return r;
}

int smtp_send(struct smtp *s, const struct envelope *env, const char *from,
	      const char *const *rcpts, size_t n, int smtputf8, const struct spool *sp,
	      struct smtp_rcpt_result *res, struct err *e)
{
	struct smtp_txn t = { .env = env, .from = from, .rcpts = rcpts, .n = n,
			      .smtputf8 = smtputf8, .sp = sp, .res = res, .mail_ok = -1 };
	int r;

	memset(res, 0, n * sizeof *res);
	t.bdat = (s->caps.flags & EHLO_CHUNKING) != 0;
	/* a message still being read goes as it is read only in BDAT chunks, and with BODY=8BITMIME
	 * declared (its 8-bit bytes may be yet to come); otherwise all of it first (one all in
	 * memory can go as it is) */
	if (sp->more && (!t.bdat || !(s->caps.flags & EHLO_8BITMIME)) &&
	    (sp->reading || sp->mem_at != 0 || (off_t)sp->mem_len != sp->size) &&
	    sp->more(sp, 0, -1, e) < 0)
		return -1;
	if (smtp_check(s, from, rcpts, n, sp, e) < 0)
		return -1;
	t.rset = s->transactions++ > 0;
	if (sp->reading)
		t.nchunks = SMTP_CHUNKS_UNKNOWN;	/* until the end is read (smtp_bdat_put) */
	else
		t.nchunks = t.bdat ? smtp_bdat_chunks(sp->size) : 1;
	t.ncmds = (size_t)t.rset + 1 + n + t.nchunks;
	buf_init(&t.line, SMTP_CMD_MAX);
	r = smtp_envelope(s, &t, e);
	buf_free(&t.line);
	if (r != 0)
		return r;
	if (t.bdat)
		return smtp_took(s, res, n, e);
	smtp_step(s, PHASE_BODY, NULL);
	if (smtp_in_turn_at(s, "after its 354 to DATA", e) < 0)
		return -1;
	if (smtp_body(s, sp, e) < 0)
		return e->kind == ERR_IO ? -1 : smtp_lost(s, "sending the message", e);
	smtp_step(s, PHASE_DOT, NULL);
	if (smtp_quit_with(s, res, n, e) < 0 || smtp_flush(s, e) < 0 || smtp_read(s, e) < 0)
		return -1;
	if (s->reply.code / 100 != 2)
		return smtp_refused(s, ERR_UNAVAILABLE, "rejected the message", e);
	return smtp_took(s, res, n, e);
}

enum smtp_phase smtp_failed_phase(const struct smtp *s)
{
	return s->phase;
}

int smtp_last_code(const struct smtp *s)
{
	return s->code;
}

const char *smtp_last_reply(const struct smtp *s)
{
	return s->last;
}

const char *smtp_host(const struct smtp *s)
{
	return s->host;
}

const struct ehlo *smtp_caps(const struct smtp *s)
{
	return &s->caps;
}

const char *smtp_mech(const struct smtp *s)
{
	return s->mech;
}

int smtp_tls(const struct smtp *s)
{
	return s->tls;
}

const char *smtp_tls_desc(const struct smtp *s)
{
	return s->tls_desc;
}

void smtp_print_reply(const struct smtp *s, FILE *out, const char *indent)
{
	const char *p = s->reply.text.data, *end = p + s->reply.text.len;

	while (p <= end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char line[600];

		buf_clean_str(line, sizeof line, p, n);
		fprintf(out, "%s%d %s\n", indent, s->reply.code, line);
		p += n + 1;
	}
}

void smtp_print_tls(const struct smtp *s, FILE *out)
{
	if (s->conn)
		conn_tls_info(s->conn, out);
}

size_t smtp_mail_left(const struct smtp *s)
{
	if (!s->caps.mailmax)
		return (size_t)-1;
	return s->transactions >= s->caps.mailmax ? 0 : s->caps.mailmax - s->transactions;
}

int smtp_over(const struct smtp *s)
{
	return s && s->quit_sent && !s->broken;
}

int smtp_usable(const struct smtp *s)
{
	return s && s->conn && !s->broken && !s->quit_sent;
}

void smtp_close(struct smtp *s)
{
	struct err e;

	if (!s)
		return;
	if (smtp_usable(s)) {
		s->cmd = "QUIT";
		/* after smtp_last every fate is known: the 221 would only cost a round trip */
		if (smtp_put(s, "QUIT", 0, &e) == 0 && smtp_flush(s, &e) == 0 && !s->closing) {
			conn_cap_timeout(s->conn, SMTP_QUIT_WAIT);
			smtp_read(s, &e);
		}
	}
	smtp_free(s);
}
