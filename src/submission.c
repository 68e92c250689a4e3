/* submission: a request resolved by the account's rules into an envelope and a spooled message. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "log.h"
#include "net.h"
#include "queue.h"
#include "submission.h"

void submission_init(struct submission *s, const struct request *rq)
{
	memset(s, 0, sizeof *s);
	s->rq = rq;
	s->m.fd = -1;
	s->sp.fd = -1;
}

int submission_rcpts(struct submission *s, struct err *e)
{
	for (size_t i = 0; i < s->rq->nrcpts; i++)
		if (rcpt_add_arg(&s->rcpts, s->rq->rcpts[i], e) < 0)
			return -1;
	if (s->rcpts.n == 0 && !s->rq->extract)	/* none, or only empty arguments */
		return err_set(e, ERR_USAGE, "no recipients given; usage: postbote [options] "
			       "recipient..., or -t to read them from the message");
	return 0;
}

int submission_account(struct submission *s, const struct conf *c, struct err *e)
{
	return conf_account(c, s->rq->account, s->rq->from, &s->a, e);
}

/* A sender address: no blanks, controls, brackets or commas. */
static int check_sender(const char *a, struct err *e)
{
	for (const unsigned char *p = (const unsigned char *)a; *p; p++)
		if (*p <= ' ' || *p == 127 || *p == '<' || *p == '>' || *p == ',')
			return err_set(e, ERR_USAGE, "invalid sender address '%s'", a);
	return 0;
}

/* `from` with %U (login name), %H (host name) and %F (the From: header's address). */
static void expand_from(const char *tmpl, const char *login, const char *header_from,
			const char *host, char *out, size_t size)
{
	struct buf b;
	int r = 0;

	buf_init(&b, size - 1);
	for (const char *p = tmpl; *p && r == 0; p++) {
		if (p[0] != '%' || !p[1] || !strchr("UHF%", p[1])) {
			r = buf_addch(&b, *p);
			continue;
		}
		p++;
		r = *p == 'U' ? buf_addstr(&b, login)
		    : *p == 'H' ? buf_addstr(&b, host)
		    : *p == 'F' ? buf_addstr(&b, header_from ? header_from : "")
				: buf_addch(&b, '%');
	}
	snprintf(out, size, "%s", b.data);
	buf_free(&b);
}

int submission_sender(const struct request *rq, const struct account *a, const char *header_from,
		      char *s, size_t size, struct err *e)
{
	const char *domain = a->domain, *from = rq->from;

	if (from && !*from)
		from = "<>";
	s[0] = '\0';
	if (from && (a->allow_from_override || !a->from))
		snprintf(s, size, "%s", from);
	else if (rq->read_envelope_from && header_from)
		snprintf(s, size, "%s", header_from);
	else if (a->from)
		expand_from(a->from, rq->login, header_from, domain, s, size);
	if (!*s)	/* nothing said, or %F without a From: header */
		snprintf(s, size, "%s", rq->login);
	if (strcmp(s, "<>") == 0 || strcasecmp(s, "MAILER-DAEMON") == 0) {
		s[0] = '\0';
		return 0;
	}
	if (s[0] == '<' && s[strlen(s) - 1] == '>') {
		memmove(s, s + 1, strlen(s) - 2);
		s[strlen(s) - 2] = '\0';
	}
	if (rcpt_is_local(s)) {
		size_t n = strlen(s);

		snprintf(s + n, size - n, "@%s", a->maildomain ? a->maildomain : domain);
	}
	return check_sender(s, e);
}

/* The DSN keywords: the request wins over the account. */
static void dsn_params(struct submission *s)
{
	const struct request *rq = s->rq;
	const char *n = rq->dsn_notify ? rq->dsn_notify : s->a.dsn_notify;

	if (n) {
		snprintf(s->notify, sizeof s->notify, "%s", n);
		for (char *p = s->notify; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		s->env.dsn_notify = s->notify;
	}
	s->env.dsn_ret = rq->dsn_ret ? rq->dsn_ret
			 : s->a.dsn_return == CONF_DSN_RET_FULL ? "FULL"
			 : s->a.dsn_return == CONF_DSN_RET_HDRS ? "HDRS" : NULL;
	s->env.dsn_envid = rq->dsn_envid;
}

/* Where the warnings about an MTA's aliases file are remembered, so that a cron job's mail
 * carries them once, not every minute: the account's queue directory, which queue_open checks
 * (ours, not writable by others) and creates. NULL (warn every time) with -v, or when it cannot
 * be used. */
static const char *aliases_stamp_dir(const struct account *a)
{
	struct queue q;
	struct err e;

	if (!a->aliases || log_verbose() || queue_open(&q, a->queue_dir, &e) < 0)
		return NULL;
	return a->queue_dir;
}

/* The whole message is in the spool. */
static void submission_read_done(struct submission *s)
{
	if (s->m.split_lines)
		log_warn("%lu line break%s inserted into body lines longer than %d bytes",
			 s->m.split_lines, s->m.split_lines == 1 ? "" : "s", MSG_LINE_MAX);
}

/* s->sp from s->m: how much of the message there is, and where. */
static void submission_spool(struct submission *s)
{
	s->sp.fd = s->m.fd;
	s->sp.size = s->m.size;
	s->sp.mem = s->m.pass;
	s->sp.mem_at = s->m.pass_at;
	s->sp.mem_len = s->m.pass_len;
	if (s->sp.reading && !s->m.more) {
		s->sp.reading = 0;
		s->env.body_8bit = s->m.eight_bit || s->rq->body_8bit;
		submission_read_done(s);
	}
	if (!s->m.more && s->m.stored == s->m.size)
		s->sp.more = NULL;
}

/* s->sp.more, for a message not all in the spool file: the rest of one sent while it is read
 * (bytes that go at once are not kept in the spool when the input is a file that can be read
 * again), or a small one that stays in memory until the queue needs it in a file. */
static int submission_more(const struct spool *sp, off_t from, off_t want, struct err *e)
{
	struct submission *s = sp->ctx;

	if (s->stream_err.kind) {
		*e = s->stream_err;
		return -1;
	}
	if (msg_pass(&s->m, from, want, &s->stream_err) < 0) {
		s->sp.fd = -1;	/* closed with the message */
		*e = s->stream_err;
		return -1;
	}
	submission_spool(s);
	return 0;
}

int submission_read(struct submission *s, int in, int dot_ends, struct err *e)
{
	const struct request *rq = s->rq;
	const struct account *a = &s->a;
	struct msg_opts mo = {
		.dot_ends = dot_ends && !rq->ignore_dots,
		.maildomain = a->maildomain,
		.remove_bcc = a->remove_bcc_headers,
		.set_from = a->set_from_header == CONF_FROM_ON	  ? MSG_FROM_ON
			    : a->set_from_header == CONF_FROM_OFF ? MSG_FROM_OFF
								  : MSG_FROM_AUTO,
		.set_date = a->set_date_header,
		.set_msgid = a->set_msgid_header,
		.full_name = rq->full_name ? rq->full_name : a->from_full_name,
		.domain = a->domain,
		.trace = rq->trace,
		.memory = s->stream,	/* sent at once: a small one needs no spool file */
	};
	long long t0 = net_now();

	if (msg_read_headers(in, &mo, &s->m, e) < 0 ||
	    submission_sender(rq, a, s->m.header_from, s->sender, sizeof s->sender, e) < 0 ||
	    (rq->extract && rcpt_from_headers(&s->rcpts, &s->m.fields, e) < 0) ||
	    msg_write_some(&s->m, s->sender, s->stream ? SUBMISSION_STREAM_AFTER : -1, e) < 0)
		return -1;
	/* input that came slowly may go on coming slowly: the smarthost would wait for each chunk
	 * (and give up after its timeout), so such a message is read to the end first */
	if (s->m.more && net_now() - t0 > SUBMISSION_STREAM_WITHIN && msg_write_more(&s->m, -1, e) < 0)
		return -1;
	if (!s->m.more)
		submission_read_done(s);
	if (rcpt_expand_once(&s->rcpts, a->aliases, a->maildomain, aliases_stamp_dir(a), e) < 0)
		return -1;
	if (s->rcpts.n == 0)
		return err_set(e, ERR_DATA, "no recipients: none given and none in the To:, Cc: or "
			       "Bcc: of the message");
	s->env = (struct envelope){ .from = s->m.sender, .rcpts = s->rcpts.v,
				    .nrcpts = s->rcpts.n,
				    .body_8bit = s->m.more || s->m.eight_bit || rq->body_8bit,
				    .smtputf8 = rq->smtputf8 };
	s->sp = (struct spool){ .more = submission_more, .ctx = s, .reading = s->m.more };
	submission_spool(s);
	dsn_params(s);
	return 0;
}

const char *submission_tls_name(enum conf_tls t)
{
	return t == CONF_TLS_STARTTLS ? "starttls" : t == CONF_TLS_IMPLICIT ? "implicit" : "off";
}

void submission_log(const struct submission *s, const struct submit_report *rep, int exit_code,
		    const struct err *e)
{
	const struct account *a = &s->a;
	struct log_dest d = { .logfile = a->logfile, .syslog = a->syslog };
	struct log_submission ls = {
		.host = rep->host[0] ? rep->host : a->hosts[0], .tls = submission_tls_name(a->tls),
		.auth = rep->mech[0] ? rep->mech : "off", .user = a->user ? a->user : "-",
		.uid = (unsigned long)s->rq->uid, .from = s->env.from, .rcpts = s->env.rcpts,
		.nrcpts = s->env.nrcpts, .size = (long long)s->sp.size, .queued = rep->queued,
		.reply = rep->reply, .error = e->kind == ERR_NONE ? NULL : e->text, .exit = exit_code,
	};

	log_submission(&d, &ls);
}

void submission_free(struct submission *s)
{
	msg_drain(&s->m);
	msg_close(&s->m);
	rcpt_free(&s->rcpts);
}
