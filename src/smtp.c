/* smtp: the client session, one function per step, each result OK / TEMP / PERM. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sasl.h"
#include "smtp.h"

#define SMTP_AUTH_ROUNDS 16

static void smtp_init(struct smtp *s, const char *host, int port, int timeout_s)
{
	memset(s, 0, sizeof *s);
	s->port = port;
	s->conn.fd = -1;
	s->conn.timeout = timeout_s;
	s->host = host;
	reply_init(&s->reply);
	buf_init(&s->line, REPLY_LINE_MAX + 1);
}

/* A failed connection, as one message: timed out, or lost while doing `what`. */
static int smtp_lost(struct smtp *s, const char *what, struct err *e)
{
	char why[ERR_TEXT_MAX];

	s->broken = 1;
	if (e->kind != ERR_TEMP && e->kind != ERR_PROTOCOL)
		return -1;
	if (strncmp(e->text, "timed out", 9) == 0)
		return err_set(e, ERR_TEMP, "%s timed out after %d s while %s", s->host,
			       s->conn.timeout, what);
	memcpy(why, e->text, sizeof why);
	return err_set(e, e->kind, "connection to %s lost while %s (%s)", s->host, what, why);
}

/* Queues one command line (CRLF added) and shows it in the transcript. */
static int smtp_put(struct smtp *s, const char *line, int flags, struct err *e)
{
	size_t n = strlen(line);

	log_transcript(LOG_OUT, line, n, flags);
	if (conn_write(&s->conn, line, n, e) < 0 || conn_write(&s->conn, "\r\n", 2, e) < 0) {
		char what[64];

		snprintf(what, sizeof what, "sending %s", s->cmd);
		return smtp_lost(s, what, e);
	}
	return 0;
}

static int smtp_flush(struct smtp *s, struct err *e)
{
	char what[64];

	if (conn_flush(&s->conn, e) < 0) {
		snprintf(what, sizeof what, "sending %s", s->cmd);
		return smtp_lost(s, what, e);
	}
	return 0;
}

/* Reads one whole reply into s->reply, answering s->cmd. */
static int smtp_read(struct smtp *s, struct err *e)
{
	int r;

	long long deadline = conn_deadline(&s->conn);

	reply_reset(&s->reply);
	do {
		if (conn_readline(&s->conn, &s->line, deadline, e) < 0) {
			char what[96];

			if (e->kind == ERR_PROTOCOL) {
				s->broken = 1;
				return err_wrap(e, "%s sent a malformed reply to %s", s->host, s->cmd);
			}
			snprintf(what, sizeof what, "waiting for the reply to %s", s->cmd);
			return smtp_lost(s, what, e);
		}
		log_transcript(LOG_IN, s->line.data, s->line.len, 0);
		r = reply_push(&s->reply, s->line.data, s->line.len, e);
		if (r < 0) {
			s->broken = 1;
			return err_wrap(e, "%s sent a malformed reply to %s", s->host, s->cmd);
		}
	} while (r == 0);
	if (s->reply.code == 421)
		s->broken = 1;
	reply_summary(&s->reply, s->last, sizeof s->last);
	return 0;
}

/* A failure reply in s->reply, as an error of the right kind. `perm` is the kind of a 5xx. */
static int smtp_refused(struct smtp *s, enum err_kind perm, const char *what, struct err *e)
{
	if (REPLY_TEMP(&s->reply))
		return err_set(e, ERR_TEMP, "%s answered %s with %s", s->host,
			       s->cmd, s->last);
	return err_set(e, perm, "%s %s: %s", s->host, what, s->last);
}

/* Sends a command and reads its reply; 0 with any reply, -1 when none came. */
static int smtp_cmd(struct smtp *s, const char *cmd, const char *line, int flags, struct err *e)
{
	s->cmd = cmd;
	if (smtp_put(s, line, flags, e) < 0 || smtp_flush(s, e) < 0)
		return -1;
	return smtp_read(s, e);
}

static int smtp_greeting(struct smtp *s, struct err *e)
{
	s->cmd = "the greeting";
	if (smtp_read(s, e) < 0)
		return -1;
	if (s->reply.code / 100 != 2)
		return smtp_refused(s, ERR_UNAVAILABLE, "refused the connection", e);
	return 0;
}

int smtp_open(struct smtp *s, const char *host, int port, int timeout_s, struct err *e)
{
	smtp_init(s, host, port, timeout_s);
	if (conn_open(&s->conn, host, port, timeout_s, e) < 0)
		return -1;
	return smtp_greeting(s, e);
}

static int smtp_tls_done(struct smtp *s, struct err *e)
{
	s->tls = 1;
	tls_describe(s->conn.tls, s->tls_desc, sizeof s->tls_desc);
	log_note("TLS started: %s", s->tls_desc);
	return 0;
}

int smtp_open_tls(struct smtp *s, const char *host, int port, int timeout_s,
		  const struct tls_opts *o, struct err *e)
{
	smtp_init(s, host, port, timeout_s);
	if (conn_open(&s->conn, host, port, timeout_s, e) < 0)
		return -1;
	if (conn_starttls(&s->conn, o, e) < 0)
		return err_wrap(e, "TLS handshake with %s failed", host);
	smtp_tls_done(s, e);
	return smtp_greeting(s, e);
}

int smtp_ehlo(struct smtp *s, const char *domain, struct err *e)
{
	char line[300];

	snprintf(line, sizeof line, "EHLO %s", domain);
	if (smtp_cmd(s, "EHLO", line, 0, e) < 0)
		return -1;
	if (s->reply.code / 100 == 2) {
		ehlo_parse(&s->reply, &s->caps);
		return 0;
	}
	if (s->reply.code / 100 != 5)
		return smtp_refused(s, ERR_UNAVAILABLE, "rejected EHLO", e);
	memset(&s->caps, 0, sizeof s->caps);
	snprintf(line, sizeof line, "HELO %s", domain);
	if (smtp_cmd(s, "HELO", line, 0, e) < 0)
		return -1;
	if (s->reply.code / 100 != 2)
		return smtp_refused(s, ERR_UNAVAILABLE, "rejected HELO", e);
	return 0;
}

int smtp_starttls(struct smtp *s, const struct tls_opts *o, struct err *e)
{
	if (!(s->caps.flags & EHLO_STARTTLS))
		return err_set(e, ERR_UNAVAILABLE, "%s does not offer STARTTLS; refusing to continue "
			       "without TLS (tls = off turns TLS off, for a trusted local relay only)",
			       s->host);
	if (smtp_cmd(s, "STARTTLS", "STARTTLS", 0, e) < 0)
		return -1;
	if (s->reply.code != 220)
		return smtp_refused(s, ERR_UNAVAILABLE, "refused STARTTLS", e);
	if (conn_starttls(&s->conn, o, e) < 0)
		return err_wrap(e, "TLS handshake with %s failed", s->host);
	memset(&s->caps, 0, sizeof s->caps);	/* what was said in plaintext no longer counts */
	return smtp_tls_done(s, e);
}

/* The rounds of one AUTH exchange after the first line was sent. */
static int smtp_auth_rounds(struct smtp *s, struct sasl *sa, int state, const char *user,
			    struct err *e)
{
	for (int round = 0; round < SMTP_AUTH_ROUNDS; round++) {
		char *out = NULL;

		if (smtp_read(s, e) < 0)
			return -1;
		if (s->reply.code == 235) {
			if (state == 1 && strncmp(s->mech, "SCRAM-", 6) == 0)
				return err_set(e, ERR_AUTH, "%s accepted the login without proving "
					       "that it knows the password (SCRAM); refusing to "
					       "continue", s->host);
			return 0;
		}
		if (s->reply.code != 334) {
			if (REPLY_TEMP(&s->reply))
				return err_set(e, ERR_TEMP, "%s could not check the credentials now: "
					       "%s", s->host, s->last);
			return err_set(e, ERR_AUTH, "authentication failed for user %s on %s "
				       "(%s): %s%s%s", user, s->host, s->mech, s->last,
				       *sasl_server_error(sa) ? "; " : "", sasl_server_error(sa));
		}
		state = sasl_step(sa, s->reply.text.data, &out, e);
		if (state < 0) {
			char why[ERR_TEXT_MAX];

			memcpy(why, e->text, sizeof why);
			/* cancel the exchange; the server answers 501 */
			if (smtp_put(s, "*", 0, e) == 0 && smtp_flush(s, e) == 0)
				smtp_read(s, e);
			return err_set(e, ERR_AUTH, "authentication with %s on %s failed: %s",
				       s->mech, s->host, why);
		}
		s->cmd = "AUTH";
		int r = smtp_put(s, out, LOG_SECRET, e);

		free(out);
		if (r < 0 || smtp_flush(s, e) < 0)
			return -1;
	}
	return err_set(e, ERR_PROTOCOL, "%s kept asking for more authentication data", s->host);
}

int smtp_auth(struct smtp *s, const char *want, int plaintext_ok, const char *user,
	      const char *password, struct err *e)
{
	struct sasl *sa;
	struct buf line;
	int state = 1, r;

	if (!(s->caps.flags & EHLO_AUTH))
		return err_set(e, ERR_AUTH, "%s does not offer authentication (no AUTH in its "
			       "EHLO reply); set auth = off if it needs none", s->host);
	char cb[512];
	struct sasl_peer peer = { .host = s->host, .port = s->port, .tls = s->tls };

	if (s->tls && tls_channel_binding(s->conn.tls, &peer.cb_type, cb, sizeof cb) == 0)
		peer.cb_data = cb;
	if (sasl_choose(s->caps.mechs, want, &peer, plaintext_ok, s->mech, sizeof s->mech, e) < 0)
		return err_wrap(e, "%s", s->host);
	sa = sasl_start(s->mech, user, password, &peer, e);
	if (!sa)
		return -1;
	buf_init(&line, 1 << 16);
	if (buf_printf(&line, "AUTH %s", s->mech) < 0)
		err_oom();
	if (sasl_client_first(s->mech)) {
		char *out = NULL;

		state = sasl_step(sa, NULL, &out, e);
		if (state < 0) {
			sasl_free(sa);
			buf_free(&line);
			return err_wrap(e, "authentication with %s", s->mech);
		}
		if (buf_printf(&line, " %s", *out ? out : "=") < 0)
			err_oom();
		free(out);
	}
	s->cmd = "AUTH";
	log_note("%s: what the client sends is shown as *** (it carries the credentials)", s->mech);
	r = smtp_put(s, line.data, LOG_SECRET, e);
	buf_free(&line);
	if (r == 0)
		r = smtp_flush(s, e);
	if (r == 0)
		r = smtp_auth_rounds(s, sa, state, user, e);
	sasl_free(sa);
	return r;
}

/* Sends size bytes of fd from offset, dot-stuffed, and the final dot, in large writes. */
static int smtp_body(struct smtp *s, int fd, off_t offset, off_t size, struct err *e)
{
	static char chunk[65536];
	int at_bol = 1;
	off_t left = size;

	log_transcript(LOG_OUT, "(message body)", 14, 0);
	while (left > 0) {
		size_t want = left < (off_t)sizeof chunk ? (size_t)left : sizeof chunk;
		ssize_t n = pread(fd, chunk, want, offset);
		const char *p = chunk, *end;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return err_set(e, ERR_IO, "cannot read the spooled message: %s",
				       n < 0 ? strerror(errno) : "it is shorter than it should be");
		offset += n;
		left -= n;
		end = chunk + n;
		while (p < end) {
			/* everything up to the next line that starts with a dot goes in one write;
			 * that line gets one more dot */
			const char *hit, *stop;

			if (at_bol && *p == '.' && conn_write(&s->conn, ".", 1, e) < 0)
				return -1;
			hit = memmem(p, (size_t)(end - p), "\n.", 2);
			stop = hit ? hit + 1 : end;
			if (conn_write(&s->conn, p, (size_t)(stop - p), e) < 0)
				return -1;
			at_bol = stop[-1] == '\n';
			p = stop;
		}
	}
	log_transcript(LOG_OUT, ".", 1, 0);
	return conn_write(&s->conn, ".\r\n", 3, e);
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

/* The MAIL FROM line with its parameters. */
static int smtp_mail_line(struct smtp *s, const struct smtp_envelope *env, off_t size, char *line,
			  size_t n, struct err *e)
{
	int dsn = (s->caps.flags & EHLO_DSN) != 0;
	struct buf params;

	buf_init(&params, 600);
	if (((s->caps.flags & EHLO_SIZE) && buf_printf(&params, " SIZE=%lld", (long long)size) < 0) ||
	    (env->body_8bit && (s->caps.flags & EHLO_8BITMIME) &&
	     buf_addstr(&params, " BODY=8BITMIME") < 0) ||
	    (env->smtputf8 && buf_addstr(&params, " SMTPUTF8") < 0) ||
	    (dsn && env->dsn_ret && buf_printf(&params, " RET=%s", env->dsn_ret) < 0) ||
	    (dsn && env->dsn_envid && (buf_addstr(&params, " ENVID=") < 0 ||
				       smtp_xtext(&params, env->dsn_envid) < 0))) {
		buf_free(&params);
		return err_set(e, ERR_DATA, "the MAIL FROM parameters are too long");
	}
	snprintf(line, n, "MAIL FROM:<%s>%s", env->from, params.data);
	buf_free(&params);
	return 0;
}

static void smtp_note(struct smtp *s, struct smtp_rcpt_result *r)
{
	r->code = s->reply.code;
	memcpy(r->reply, s->last, sizeof r->reply);
}

/* [RSET], MAIL, RCPT..., DATA, pipelined when offered. 1 when the server said 354 and took some
 * recipient; 0 when it refused every recipient (res says how); -1 when the transaction failed. */
static int smtp_envelope(struct smtp *s, const struct smtp_envelope *env, off_t size,
			 struct smtp_rcpt_result *res, struct err *e)
{
	int pipelining = (s->caps.flags & EHLO_PIPELINING) != 0;
	int dsn = (s->caps.flags & EHLO_DSN) != 0, rset = s->transactions > 0, mail_ok = 1;
	size_t i, accepted = 0;
	char line[1100];

	/* a command and, without PIPELINING, its reply */
#define SMTP_STEP(name, text)                                                                      \
	(s->cmd = (name), smtp_put(s, (text), 0, e) < 0 ||                                         \
				  (!pipelining && (smtp_flush(s, e) < 0 || smtp_read(s, e) < 0)))

	s->transactions++;
	if (smtp_mail_line(s, env, size, line, sizeof line, e) < 0)
		return -1;
	if (rset) {
		if (SMTP_STEP("RSET", "RSET"))
			return -1;
		if (!pipelining && s->reply.code / 100 != 2)
			return smtp_refused(s, ERR_UNAVAILABLE, "refused RSET", e);
	}
	if (SMTP_STEP("MAIL FROM", line))
		return -1;
	if (!pipelining && s->reply.code / 100 != 2)
		return smtp_refused(s, ERR_UNAVAILABLE, "rejected the sender", e);
	for (i = 0; i < env->nrcpts; i++) {
		snprintf(line, sizeof line, "RCPT TO:<%s>%s%s", env->rcpts[i],
			 dsn && env->dsn_notify ? " NOTIFY=" : "",
			 dsn && env->dsn_notify ? env->dsn_notify : "");
		if (SMTP_STEP("RCPT TO", line))
			return -1;
		if (pipelining)
			continue;
		if (s->reply.code == 421)
			return smtp_refused(s, ERR_UNAVAILABLE, "", e);
		smtp_note(s, &res[i]);
		accepted += s->reply.code / 100 == 2;
	}
	if (!pipelining && !accepted)
		return 0;
	if (SMTP_STEP("DATA", "DATA"))
		return -1;
#undef SMTP_STEP
	if (pipelining) {
		if (smtp_flush(s, e) < 0)
			return -1;
		if (rset) {
			s->cmd = "RSET";
			if (smtp_read(s, e) < 0)
				return -1;
		}
		s->cmd = "MAIL FROM";
		if (smtp_read(s, e) < 0)
			return -1;
		if (s->reply.code == 421)	/* the server is closing: nothing more will come */
			return smtp_refused(s, ERR_UNAVAILABLE, "", e);
		if (s->reply.code / 100 != 2) {
			smtp_refused(s, ERR_UNAVAILABLE, "rejected the sender", e);
			mail_ok = 0;
		}
		for (i = 0; i < env->nrcpts; i++) {
			s->cmd = "RCPT TO";
			if (smtp_read(s, e) < 0)
				return -1;
			if (s->reply.code == 421)
				return smtp_refused(s, ERR_UNAVAILABLE, "", e);
			if (mail_ok) {
				smtp_note(s, &res[i]);
				accepted += s->reply.code / 100 == 2;
			}
		}
		s->cmd = "DATA";
		if (smtp_read(s, e) < 0)
			return -1;
		if (!mail_ok || !accepted) {
			/* a server that says 354 now would take a message for nobody: only
			 * closing the connection takes that back */
			if (s->reply.code == 354)
				conn_close(&s->conn);
			if (!mail_ok)
				return -1;
			return 0;
		}
	}
	if (s->reply.code != 354)
		return smtp_refused(s, ERR_UNAVAILABLE, "rejected the message", e);
	return 1;
}

/* A command line must never be split: no address may carry a control character. */
static int smtp_has_control(const char *a)
{
	for (const unsigned char *p = (const unsigned char *)a; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 1;
	return 0;
}

int smtp_send(struct smtp *s, const struct smtp_envelope *env, int fd, off_t offset, off_t size,
	      struct smtp_rcpt_result *res, struct err *e)
{
	int r;

	memset(res, 0, env->nrcpts * sizeof *res);
	if ((s->caps.flags & EHLO_SIZE) && s->caps.size && (unsigned long long)size > s->caps.size)
		return err_set(e, ERR_UNAVAILABLE, "the message is %lld bytes but %s accepts at most "
			       "%llu", (long long)size, s->host, s->caps.size);
	if (strlen(env->from) > 900 || smtp_has_control(env->from))
		return err_set(e, ERR_DATA, "the sender address is too long or has control "
			       "characters");
	for (size_t i = 0; i < env->nrcpts; i++)
		if (strlen(env->rcpts[i]) > 900 || smtp_has_control(env->rcpts[i]))
			return err_set(e, ERR_DATA, "a recipient address is too long or has control "
				       "characters");
	r = smtp_envelope(s, env, size, res, e);
	if (r <= 0)
		return r;
	s->cmd = "the message";
	if (smtp_body(s, fd, offset, size, e) < 0)
		return e->kind == ERR_IO ? -1 : smtp_lost(s, "sending the message", e);
	s->cmd = "the end of the message";
	if (smtp_flush(s, e) < 0 || smtp_read(s, e) < 0)
		return -1;
	if (s->reply.code / 100 != 2)
		return smtp_refused(s, ERR_UNAVAILABLE, "rejected the message", e);
	for (size_t i = 0; i < env->nrcpts; i++)
		if (res[i].code / 100 == 2)
			smtp_note(s, &res[i]);
	return 0;
}

int smtp_usable(const struct smtp *s)
{
	return s->conn.fd >= 0 && !s->broken;
}

void smtp_close(struct smtp *s)
{
	struct err e;

	if (smtp_usable(s)) {
		s->cmd = "QUIT";
		if (smtp_put(s, "QUIT", 0, &e) == 0 && smtp_flush(s, &e) == 0) {
			s->conn.timeout = s->conn.timeout < 5 ? s->conn.timeout : 5;
			smtp_read(s, &e);
		}
	}
	if (s->conn.fd >= 0)
		conn_close(&s->conn);
	reply_free(&s->reply);
	buf_free(&s->line);
}
