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

static void smtp_init(struct smtp *s, const char *host, int timeout_s)
{
	memset(s, 0, sizeof *s);
	s->conn.fd = -1;
	s->conn.timeout = timeout_s;
	s->host = host;
	reply_init(&s->reply);
	buf_init(&s->line, REPLY_LINE_MAX + 1);
}

/* Queues one command line (CRLF added) and shows it in the transcript. */
static int smtp_put(struct smtp *s, const char *line, int flags, struct err *e)
{
	size_t n = strlen(line);

	log_transcript(LOG_OUT, line, n, flags);
	if (conn_write(&s->conn, line, n, e) < 0 || conn_write(&s->conn, "\r\n", 2, e) < 0)
		return err_wrap(e, "sending %s to %s", s->cmd, s->host);
	return 0;
}

static int smtp_flush(struct smtp *s, struct err *e)
{
	if (conn_flush(&s->conn, e) < 0) {
		if (e->kind == ERR_TEMP && strncmp(e->text, "timed out", 9) == 0)
			return err_set(e, ERR_TEMP, "%s timed out after %d s while postbote was "
				       "sending %s", s->host, s->conn.timeout, s->cmd);
		return err_wrap(e, "connection to %s failed while sending %s", s->host, s->cmd);
	}
	return 0;
}

/* Reads one whole reply into s->reply, answering s->cmd. */
static int smtp_read(struct smtp *s, struct err *e)
{
	int r;

	reply_reset(&s->reply);
	do {
		if (conn_readline(&s->conn, &s->line, e) < 0) {
			if (e->kind == ERR_PROTOCOL)
				return err_wrap(e, "%s sent a malformed reply to %s", s->host, s->cmd);
			if (strncmp(e->text, "timed out", 9) == 0)
				return err_set(e, ERR_TEMP, "%s timed out after %d s waiting for the "
					       "reply to %s", s->host, s->conn.timeout, s->cmd);
			if (e->kind == ERR_TEMP) {
				char why[ERR_TEXT_MAX];

				memcpy(why, e->text, sizeof why);
				return err_set(e, ERR_TEMP, "connection to %s lost while waiting for "
					       "the reply to %s (%s)", s->host, s->cmd, why);
			}
			return -1;
		}
		log_transcript(LOG_IN, s->line.data, s->line.len, 0);
		r = reply_push(&s->reply, s->line.data, s->line.len, e);
		if (r < 0)
			return err_wrap(e, "%s sent a malformed reply to %s", s->host, s->cmd);
	} while (r == 0);
	reply_summary(&s->reply, s->last, sizeof s->last);
	return 0;
}

/* A failure reply in s->reply, as an error of the right kind. `perm` is the kind of a 5xx. */
static int smtp_refused(struct smtp *s, enum err_kind perm, const char *what, struct err *e)
{
	if (REPLY_TEMP(&s->reply))
		return err_set(e, ERR_TEMP, "%s answered %s with %s; try again later", s->host,
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
	smtp_init(s, host, timeout_s);
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
	smtp_init(s, host, timeout_s);
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
					       "%s; try again later", s->host, s->last);
			return err_set(e, ERR_AUTH, "authentication failed for user %s on %s "
				       "(%s): %s", user, s->host, s->mech, s->last);
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
	if (sasl_choose(s->caps.mechs, want, s->tls, plaintext_ok, s->mech, sizeof s->mech, e) < 0)
		return err_wrap(e, "%s", s->host);
	sa = sasl_start(s->mech, user, password, s->host, e);
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
	r = smtp_put(s, line.data, LOG_SECRET, e);
	buf_free(&line);
	if (r == 0)
		r = smtp_flush(s, e);
	if (r == 0)
		r = smtp_auth_rounds(s, sa, state, user, e);
	sasl_free(sa);
	return r;
}

/* Sends the spool file, dot-stuffed, and the final dot, in large writes. */
static int smtp_body(struct smtp *s, int fd, struct err *e)
{
	static char chunk[65536];
	int at_bol = 1;
	ssize_t n;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return err_set(e, ERR_IO, "cannot read the spooled message: %s", strerror(errno));
	log_transcript(LOG_OUT, "(message body)", 14, 0);
	while ((n = read(fd, chunk, sizeof chunk)) != 0) {
		const char *p = chunk, *end;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return err_set(e, ERR_IO, "cannot read the spooled message: %s",
				       strerror(errno));
		}
		end = chunk + n;
		while (p < end) {
			/* the next line that starts with a dot gets one more */
			const char *dot = p;

			if (at_bol && *p == '.') {
				if (conn_write(&s->conn, ".", 1, e) < 0)
					return -1;
				dot = p + 1;
			}
			for (;;) {
				const char *nl = memchr(dot, '\n', (size_t)(end - dot));

				if (!nl || nl + 1 == end) {
					at_bol = nl != NULL;
					dot = end;
					break;
				}
				if (nl[1] == '.') {
					dot = nl + 1;
					at_bol = 1;
					break;
				}
				dot = nl + 1;
			}
			if (conn_write(&s->conn, p, (size_t)(dot - p), e) < 0)
				return -1;
			p = dot;
		}
	}
	log_transcript(LOG_OUT, ".", 1, 0);
	return conn_write(&s->conn, ".\r\n", 3, e);
}

/* The first refused recipient, a permanent refusal preferred over a temporary one. */
struct smtp_refusal {
	size_t rcpt;
	int code;
	char reply[256];
};

static void smtp_note_rcpt(struct smtp *s, size_t i, struct smtp_refusal *f)
{
	if (s->reply.code / 100 == 2)
		return;
	if (!f->code || (f->code / 100 == 4 && s->reply.code / 100 == 5)) {
		f->rcpt = i;
		f->code = s->reply.code;
		memcpy(f->reply, s->last, sizeof f->reply);
	}
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

/* MAIL, RCPT..., DATA: 0 when the server said 354 to DATA and accepted every recipient. */
static int smtp_envelope(struct smtp *s, const struct smtp_envelope *env, off_t size,
			 struct err *e)
{
	int pipelining = (s->caps.flags & EHLO_PIPELINING) != 0, mail_ok;
	struct smtp_refusal f = { 0 };
	char line[1100];
	size_t i;

	int dsn = (s->caps.flags & EHLO_DSN) != 0;
	struct buf params;

	buf_init(&params, sizeof line - 20 - strlen(env->from));
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
	snprintf(line, sizeof line, "MAIL FROM:<%s>%s", env->from, params.data);
	buf_free(&params);
	s->cmd = "MAIL FROM";
	if (smtp_put(s, line, 0, e) < 0)
		return -1;
	if (!pipelining && (smtp_flush(s, e) < 0 || smtp_read(s, e) < 0))
		return -1;
	if (!pipelining && s->reply.code / 100 != 2)
		return smtp_refused(s, ERR_UNAVAILABLE, "rejected the sender", e);
	for (i = 0; i < env->nrcpts && !f.code; i++) {
		snprintf(line, sizeof line, "RCPT TO:<%s>%s%s", env->rcpts[i],
			 dsn && env->dsn_notify ? " NOTIFY=" : "",
			 dsn && env->dsn_notify ? env->dsn_notify : "");
		s->cmd = "RCPT TO";
		if (smtp_put(s, line, 0, e) < 0)
			return -1;
		if (pipelining)
			continue;
		if (smtp_flush(s, e) < 0 || smtp_read(s, e) < 0)
			return -1;
		if (s->reply.code == 421)
			return smtp_refused(s, ERR_UNAVAILABLE, "", e);
		smtp_note_rcpt(s, i, &f);
	}
	if (!f.code) {
		s->cmd = "DATA";
		if (smtp_put(s, "DATA", 0, e) < 0 || smtp_flush(s, e) < 0 ||
		    (!pipelining && smtp_read(s, e) < 0))
			return -1;
	}
	if (pipelining) {
		s->cmd = "MAIL FROM";
		if (smtp_read(s, e) < 0)
			return -1;
		mail_ok = s->reply.code / 100 == 2;
		if (!mail_ok)
			smtp_refused(s, ERR_UNAVAILABLE, "rejected the sender", e);
		if (s->reply.code == 421)	/* the server is closing: nothing more will come */
			return smtp_refused(s, ERR_UNAVAILABLE, "", e);
		for (i = 0; i < env->nrcpts; i++) {
			s->cmd = "RCPT TO";
			if (smtp_read(s, e) < 0)
				return -1;
			if (s->reply.code == 421)
				return smtp_refused(s, ERR_UNAVAILABLE, "", e);
			if (mail_ok)
				smtp_note_rcpt(s, i, &f);
		}
		s->cmd = "DATA";
		if (smtp_read(s, e) < 0)
			return -1;
		if (!mail_ok || f.code) {
			/* a server that said 354 now waits for a message that must not go out
			 * to only some recipients: closing the connection takes it back */
			if (s->reply.code == 354)
				conn_close(&s->conn);
			if (!mail_ok)
				return -1;
		}
	}
	if (f.code / 100 == 4)
		return err_set(e, ERR_TEMP, "%s answered RCPT TO:<%s> with %s; nothing was sent; "
			       "try again later", s->host, env->rcpts[f.rcpt], f.reply);
	if (f.code)
		return err_set(e, ERR_NOUSER, "%s rejected recipient <%s>: %s; nothing was sent",
			       s->host, env->rcpts[f.rcpt], f.reply);
	if (s->reply.code != 354)
		return smtp_refused(s, ERR_UNAVAILABLE, "rejected the message", e);
	return 0;
}

int smtp_send(struct smtp *s, const struct smtp_envelope *env, int fd, off_t size, struct err *e)
{
	if ((s->caps.flags & EHLO_SIZE) && s->caps.size && (unsigned long long)size > s->caps.size)
		return err_set(e, ERR_UNAVAILABLE, "the message is %lld bytes but %s accepts at most "
			       "%llu", (long long)size, s->host, s->caps.size);
	if (strlen(env->from) > 998)
		return err_set(e, ERR_DATA, "the sender address is too long");
	for (size_t i = 0; i < env->nrcpts; i++)
		if (strlen(env->rcpts[i]) > 998)
			return err_set(e, ERR_DATA, "recipient address too long: %.40s...",
				       env->rcpts[i]);
	if (smtp_envelope(s, env, size, e) < 0)
		return -1;
	s->cmd = "the message";
	if (smtp_body(s, fd, e) < 0) {
		if (e->kind == ERR_TEMP || e->kind == ERR_PROTOCOL)
			return err_wrap(e, "connection to %s lost while sending the message", s->host);
		return -1;
	}
	s->cmd = "the end of the message";
	if (smtp_flush(s, e) < 0 || smtp_read(s, e) < 0)
		return -1;
	if (s->reply.code / 100 != 2)
		return smtp_refused(s, ERR_UNAVAILABLE, "rejected the message", e);
	return 0;
}

void smtp_close(struct smtp *s)
{
	struct err e;

	if (s->conn.fd >= 0) {
		s->cmd = "QUIT";
		if (smtp_put(s, "QUIT", 0, &e) == 0 && smtp_flush(s, &e) == 0) {
			s->conn.timeout = s->conn.timeout < 5 ? s->conn.timeout : 5;
			smtp_read(s, &e);
		}
		conn_close(&s->conn);
	}
	reply_free(&s->reply);
	buf_free(&s->line);
}
