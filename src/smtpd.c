/* smtpd: -bs, the server side on stdin/stdout. The parser first (pure), then the session. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cred.h"
#include "deliver.h"
#include "dropbox.h"
#include "log.h"
#include "msg.h"
#include "net.h"
#include "rcpt.h"
#include "smtpd.h"
#include "submission.h"
#include "submit.h"

/* ---- the parser ---- */

static const struct {
	const char *name;
	enum smtpd_verb verb;
} smtpd_verbs[] = {
	{ "HELO", SMTPD_HELO }, { "EHLO", SMTPD_EHLO }, { "MAIL", SMTPD_MAIL },
	{ "RCPT", SMTPD_RCPT }, { "DATA", SMTPD_DATA }, { "RSET", SMTPD_RSET },
	{ "NOOP", SMTPD_NOOP }, { "QUIT", SMTPD_QUIT }, { "VRFY", SMTPD_VRFY },
	{ "EXPN", SMTPD_EXPN }, { "HELP", SMTPD_HELP }, { "STARTTLS", SMTPD_STARTTLS },
	{ "AUTH", SMTPD_AUTH }, { "BDAT", SMTPD_BDAT },
};

/* The path between < and > (with a source route dropped, RFC 5321 4.1.1.3's "SHOULD accept and
 * ignore"), into out as it is written (quoted parts kept); *end: the byte after '>'. NULL, or
 * the reply for a bad path. */
static const char *smtpd_path(const char *p, const char *lim, char *out, size_t size,
			      const char **end)
{
	int quoted = 0, escaped = 0;
	size_t n = 0;

	if (p >= lim || *p != '<')
		return "501 5.5.2 the address must be in angle brackets, as in <user@example.org>";
	p++;
	if (p < lim && *p == '@') {	/* @relay,@relay:user@domain */
		const char *colon = memchr(p, ':', (size_t)(lim - p));

		if (!colon)
			return "501 5.1.3 a source route without its ':'";
		p = colon + 1;
	}
	for (; p < lim; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch < 0x20 || ch == 0x7f)
			return "501 5.1.3 a control character in the address";
		if (escaped)
			escaped = 0;
		else if (quoted && ch == '\\')
			escaped = 1;
		else if (ch == '"')
			quoted = !quoted;
		else if (!quoted && ch == '>')
			break;
		else if (!quoted && ch == ' ')
			return "501 5.1.3 a space in the address";
		if (n + 1 >= size || n >= ADDR_MAX)
			return "501 5.1.3 the address is too long";
		out[n++] = (char)ch;
	}
	if (p >= lim)
		return "501 5.5.2 the address has no closing '>'";
	out[n] = '\0';
	*end = p + 1;
	return NULL;
}

static int smtpd_hex(unsigned char ch)
{
	return isdigit(ch) ? ch - '0' : isxdigit(ch) ? toupper(ch) - 'A' + 10 : -1;
}

/* RFC 3461 xtext, decoded; -1 when it is not xtext, or decodes to a control character. */
static int smtpd_xtext(const char *v, size_t len, char *out, size_t size)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (ch < '!' || ch > '~' || ch == '=')
			return -1;
		if (ch == '+') {
			int hi, lo;

			if (i + 2 >= len)
				return -1;
			hi = smtpd_hex((unsigned char)v[i + 1]);
			lo = smtpd_hex((unsigned char)v[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			ch = (unsigned char)(hi << 4 | lo);
			i += 2;
			if (ch < 0x20 || ch == 0x7f)
				return -1;
		}
		if (n + 1 >= size)
			return -1;
		out[n++] = (char)ch;
	}
	out[n] = '\0';
	return 0;
}

static int smtpd_is(const char *p, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(p, word, n) == 0;
}

/* One parameter of MAIL (mail 1) or RCPT, KEY[=VALUE]. */
static const char *smtpd_param(const char *k, size_t klen, const char *v, size_t vlen, int mail,
			       struct smtpd_cmd *c)
{
	if (mail && smtpd_is(k, klen, "SIZE")) {
		/* the line is not NUL-terminated here: count within vlen */
		if (!v || !vlen || vlen > 18)
			return "501 5.5.4 SIZE takes a number";
		c->size = 0;
		for (size_t i = 0; i < vlen; i++) {
			if (!isdigit((unsigned char)v[i]))
				return "501 5.5.4 SIZE takes a number";
			c->size = c->size * 10 + (v[i] - '0');
		}
	} else if (mail && smtpd_is(k, klen, "BODY")) {
		if (v && smtpd_is(v, vlen, "8BITMIME"))
			c->body_8bit = 1;
		else if (!v || !smtpd_is(v, vlen, "7BIT"))
			return "555 5.5.4 BODY takes 7BIT or 8BITMIME";
	} else if (mail && smtpd_is(k, klen, "SMTPUTF8")) {
		if (v)
			return "555 5.5.4 SMTPUTF8 takes no value";
		c->smtputf8 = 1;
	} else if (mail && smtpd_is(k, klen, "RET")) {
		if (v && (smtpd_is(v, vlen, "FULL") || smtpd_is(v, vlen, "HDRS")))
			snprintf(c->ret, sizeof c->ret, "%s", toupper((unsigned char)*v) == 'F' ? "FULL" : "HDRS");
		else
			return "501 5.5.4 RET takes FULL or HDRS";
	} else if (mail && smtpd_is(k, klen, "ENVID")) {
		if (!v || smtpd_xtext(v, vlen, c->envid, sizeof c->envid) < 0)
			return "501 5.5.4 ENVID takes xtext of at most 100 characters";
	} else if (mail && smtpd_is(k, klen, "AUTH")) {
		/* RFC 4954's AUTH=<>: nothing to trust without AUTH */
	} else if (!mail && smtpd_is(k, klen, "NOTIFY")) {
		if (!v || !vlen || vlen >= sizeof c->notify)
			return "501 5.5.4 NOTIFY takes NEVER, or SUCCESS, FAILURE and DELAY";
		memcpy(c->notify, v, vlen);
		c->notify[vlen] = '\0';
		if (!conf_dsn_notify_ok(c->notify))
			return "501 5.5.4 NOTIFY takes NEVER, or SUCCESS, FAILURE and DELAY";
	} else if (!mail && smtpd_is(k, klen, "ORCPT")) {
		/* the original recipient is the smarthost's business; we keep none */
	} else {
		return "555 5.5.4 unsupported parameter";
	}
	return NULL;
}

/* MAIL FROM:<path> params / RCPT TO:<path> params */
static const char *smtpd_mail_rcpt(const char *p, const char *lim, int mail, struct smtpd_cmd *c)
{
	const char *word = mail ? "FROM:" : "TO:", *why;
	size_t wl = strlen(word);

	if ((size_t)(lim - p) < wl || strncasecmp(p, word, wl))
		return mail ? "501 5.5.2 syntax: MAIL FROM:<address>"
			    : "501 5.5.2 syntax: RCPT TO:<address>";
	p += wl;
	while (p < lim && *p == ' ')	/* "MAIL FROM: <a>" is common enough to take */
		p++;
	why = smtpd_path(p, lim, c->arg, sizeof c->arg, &p);
	if (why)
		return why;
	if (!mail && !c->arg[0])
		return "501 5.1.3 a recipient cannot be the null address";
	while (p < lim) {
		const char *k, *eq, *end;

		if (*p != ' ')
			return "501 5.5.2 parameters are separated by spaces";
		while (p < lim && *p == ' ')
			p++;
		if (p == lim)
			break;
		k = p;
		end = memchr(p, ' ', (size_t)(lim - p));
		end = end ? end : lim;
		eq = memchr(k, '=', (size_t)(end - k));
		why = smtpd_param(k, (size_t)((eq ? eq : end) - k), eq ? eq + 1 : NULL,
				  eq ? (size_t)(end - eq - 1) : 0, mail, c);
		if (why)
			return why;
		p = end;
	}
	return NULL;
}

const char *smtpd_parse(const char *line, size_t len, struct smtpd_cmd *c)
{
	const char *lim = line + len, *sp = memchr(line, ' ', len), *args;
	size_t vlen = sp ? (size_t)(sp - line) : len;

	memset(c, 0, sizeof *c);
	c->size = -1;
	if (len > SMTPD_LINE_MAX)
		return "500 5.5.2 line too long";
	if (memchr(line, '\0', len))
		return "500 5.5.2 a NUL byte in the command";
	for (size_t i = 0; i < sizeof smtpd_verbs / sizeof smtpd_verbs[0]; i++)
		if (smtpd_is(line, vlen, smtpd_verbs[i].name))
			c->verb = smtpd_verbs[i].verb;
	if (c->verb == SMTPD_UNKNOWN)
		return "500 5.5.1 command not recognized";
	args = sp ? sp + 1 : lim;
	switch (c->verb) {
	case SMTPD_HELO:
	case SMTPD_EHLO:
		while (args < lim && *args == ' ')
			args++;
		if (args == lim)
			return "501 5.5.4 HELO and EHLO take the client's name";
		for (const char *p = args; p < lim; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return "501 5.5.4 a control character in the client's name";
		memcpy(c->arg, args, (size_t)(lim - args));
		c->arg[lim - args] = '\0';
		return NULL;
	case SMTPD_MAIL:
	case SMTPD_RCPT:
		return smtpd_mail_rcpt(args, lim, c->verb == SMTPD_MAIL, c);
	case SMTPD_DATA:
	case SMTPD_RSET:
	case SMTPD_QUIT:
	case SMTPD_STARTTLS:
		if (sp)
			return "501 5.5.4 this command takes no arguments";
		return NULL;
	default:
		return NULL;	/* NOOP, HELP, VRFY, EXPN, AUTH and BDAT: their arguments are ignored */
	}
}

/* ---- the session ---- */


#define SMTPD_DATA_LINE_MAX (1024 * 1024)	/* a line of the message, in DATA */

struct smtpd {
	const struct conf *c;	/* NULL: a local user, whose mail goes through the drop */
	const struct request *base;
	int in, out, idle;
	struct buf in_buf, out_buf;
	size_t in_pos;
	int eof, greeted, errors;
	char name[256];		/* the name we greet with */
	/* the transaction */
	int in_mail;
	char from[SMTPD_LINE_MAX + 1];
	struct smtpd_cmd mail;	/* MAIL's parameters */
	char **rcpts;
	size_t nrcpts;
	char notify[64];
	/* the smarthost, for checking recipients while the client waits */
	struct account a;
	int have_account, no_checks;
	struct deliver *d;
	struct cred cred;
};

static int smtpd_flush(struct smtpd *sd, struct err *e)
{
	if (xwrite_all(sd->out, sd->out_buf.data, sd->out_buf.len) < 0)
		return err_set(e, ERR_IO, "cannot answer the client: %s", strerror(errno));
	buf_reset(&sd->out_buf);
	return 0;
}

/* One reply line ("250 2.1.0 ok"); written when the client waits for it (pipelining). */
static void smtpd_reply(struct smtpd *sd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void smtpd_reply(struct smtpd *sd, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	n = strcspn(line, "\r\n");	/* text from a smarthost is cleaned; this makes sure */
	if (buf_add(&sd->out_buf, line, n) < 0 || buf_addstr(&sd->out_buf, "\r\n") < 0)
		buf_broken(__FILE__, __LINE__);
}

/* The next line (without its line ending) into line. 1 with a line, 0 at the end of the input,
 * -1 when the client stayed silent too long (e), 2 for a line over max (skipped). Replies not yet
 * written go out before waiting. */
static int smtpd_getline(struct smtpd *sd, struct buf *line, size_t max, struct err *e)
{
	int skipping = 0;

	buf_reset(line);
	for (;;) {
		const char *p = sd->in_buf.data + sd->in_pos;
		size_t avail = sd->in_buf.len - sd->in_pos;
		const char *nl = memchr(p, '\n', avail);
		size_t take = nl ? (size_t)(nl - p) : avail;

		if (!skipping && line->len + take > max)
			skipping = 1;
		if (!skipping && buf_add(line, p, take) < 0)
			buf_broken(__FILE__, __LINE__);
		sd->in_pos += take + (nl != NULL);
		if (nl) {
			if (!skipping && line->len && line->data[line->len - 1] == '\r')
				buf_setlen(line, line->len - 1);
			return skipping ? 2 : 1;
		}
		if (sd->eof)
			return line->len ? 1 : 0;
		if (smtpd_flush(sd, e) < 0)
			return -1;
		buf_reset(&sd->in_buf);
		sd->in_pos = 0;

		struct pollfd pfd = { .fd = sd->in, .events = POLLIN };
		int r = poll(&pfd, 1, sd->idle * 1000);

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			return err_timeout(e, "the client said nothing for %d s", sd->idle);
		char chunk[65536];
		ssize_t n = read(sd->in, chunk, sizeof chunk);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			sd->eof = 1;
		else if (buf_add(&sd->in_buf, chunk, (size_t)n) < 0)
			buf_broken(__FILE__, __LINE__);
	}
}

static void smtpd_reset(struct smtpd *sd)
{
	for (size_t i = 0; i < sd->nrcpts; i++)
		free(sd->rcpts[i]);
	free(sd->rcpts);
	sd->rcpts = NULL;
	sd->nrcpts = 0;
	sd->in_mail = 0;
	sd->from[0] = '\0';
	sd->notify[0] = '\0';
}

/* The request that a message of this transaction makes: the command line's, with the envelope
 * of the transaction. */
static struct request smtpd_request(const struct smtpd *sd)
{
	struct request rq = *sd->base;

	rq.from = sd->from[0] ? sd->from : "<>";
	rq.rcpts = sd->rcpts;
	rq.nrcpts = sd->nrcpts;
	rq.extract = 0;
	rq.ignore_dots = 1;
	rq.body_8bit = sd->mail.body_8bit || sd->base->body_8bit;
	rq.smtputf8 = sd->mail.smtputf8 || sd->base->smtputf8;
	rq.dsn_ret = sd->mail.ret[0] ? sd->mail.ret : sd->base->dsn_ret;
	rq.dsn_envid = sd->mail.envid[0] ? sd->mail.envid : sd->base->dsn_envid;
	rq.dsn_notify = sd->notify[0] ? sd->notify : sd->base->dsn_notify;
	return rq;
}

static int smtpd_session(struct smtpd *sd, struct err *e);

static void smtpd_ehlo(struct smtpd *sd, const struct smtpd_cmd *c)
{
	smtpd_reset(sd);
	sd->greeted = 1;
	if (c->verb == SMTPD_HELO) {
		smtpd_reply(sd, "250 %s", sd->name);
		return;
	}
	smtpd_reply(sd, "250-%s", sd->name);
	smtpd_reply(sd, "250-PIPELINING");
	smtpd_reply(sd, "250-8BITMIME");
	smtpd_reply(sd, "250-SMTPUTF8");
	smtpd_reply(sd, "250-SIZE %lld", SMTPD_MESSAGE_MAX);
	/* DSN only when the smarthost passes it on: the session opened now serves RCPT too */
	if (sd->c && smtpd_session(sd, &(struct err){ 0 }) == 0 && deliver_offers_dsn(sd->d))
		smtpd_reply(sd, "250-DSN");
	smtpd_reply(sd, "250 ENHANCEDSTATUSCODES");
}

static void smtpd_mail(struct smtpd *sd, const struct smtpd_cmd *c)
{
	if (!sd->greeted)
		return smtpd_reply(sd, "503 5.5.1 say HELO or EHLO first");
	if (sd->in_mail)
		return smtpd_reply(sd, "503 5.5.1 a transaction is open: RSET first");
	if (c->size > SMTPD_MESSAGE_MAX)
		return smtpd_reply(sd, "552 5.3.4 a message may have at most %lld bytes",
				   SMTPD_MESSAGE_MAX);
	sd->mail = *c;
	snprintf(sd->from, sizeof sd->from, "%s", c->arg);
	sd->in_mail = 1;
	smtpd_reply(sd, "250 2.1.0 sender ok");
}

/* The account of this transaction, and a session to its smarthost: opened for the first
 * recipient, kept while the account stays the same. 0 with sd->d, or -1 when recipients cannot
 * be checked now (they are then taken as they come; e says why). */
static int smtpd_session(struct smtpd *sd, struct err *e)
{
	struct account a;
	struct fate f;

	/* the account a submission with this sender picks */
	if (conf_account(sd->c, sd->base->account, sd->from[0] ? sd->from : "<>", &a, e) < 0)
		return -1;
	if (!sd->have_account || strcmp(a.name, sd->a.name) != 0) {
		deliver_close(sd->d);
		sd->d = NULL;
		cred_wipe(&sd->cred);
		sd->no_checks = 0;
	}
	sd->a = a;
	sd->have_account = 1;
	if (sd->d || sd->no_checks)
		return sd->d ? 0 : -1;
	if (!sd->cred.secret && cred_get(&sd->a, sd->a.hosts[0], &sd->cred, e) < 0) {
		sd->no_checks = 1;
		return -1;
	}
	sd->d = submit_open(&sd->a, &sd->cred, &f, e);	/* one fresh OAuth token if refused */
	if (!sd->d) {
		log_warn("cannot check recipients with the smarthost now (%s); taking them as they "
			 "come", e->text);
		sd->no_checks = 1;
		return -1;
	}
	return 0;
}

/* The smarthost's own reply when it is one ("550 5.1.1 ..."), else ours with its reason. */
static void smtpd_relay_reply(struct smtpd *sd, const struct fate *f)
{
	const char *r = deliver_last_reply(sd->d);
	int temp = f->state != FATE_FAILED;

	if (strlen(r) > 4 && r[0] == (temp ? '4' : '5') && isdigit((unsigned char)r[1]) &&
	    isdigit((unsigned char)r[2]) && r[3] == ' ')
		smtpd_reply(sd, "%s", r);
	else
		smtpd_reply(sd, "%s %s", temp ? "451 4.4.0" : "550 5.1.0", f->reason);
}

/* Checks a recipient argument as the message will be sent: aliases and qualification, then the
 * smarthost for each address it becomes. 1 when it may be taken (a reply was given otherwise). */
static int smtpd_check_rcpt(struct smtpd *sd, const char *arg)
{
	struct rcpt_list l = { 0 };
	struct err e = { 0 };
	char sender[1024];
	int ok = 1;

	if (rcpt_add_arg(&l, arg, &e) < 0 || !l.n) {
		smtpd_reply(sd, "501 5.1.3 %s", l.n ? e.text : "an empty recipient");
		rcpt_free(&l);
		return 0;
	}
	if (!sd->c || smtpd_session(sd, &e) < 0) {	/* the drop, or the smarthost is away */
		rcpt_free(&l);
		return 1;
	}
	struct request rq = smtpd_request(sd);

	if (rcpt_expand(&l, sd->a.aliases, sd->a.maildomain, &e) < 0 ||
	    submission_sender(&rq, &sd->a, NULL, sender, sizeof sender, &e) < 0) {
		smtpd_reply(sd, "%s %s", e.kind == ERR_USAGE ? "553 5.1.7" : "451 4.3.0", e.text);
		rcpt_free(&l);
		return 0;
	}
	struct envelope env = { .from = sender, .body_8bit = rq.body_8bit };

	for (size_t i = 0; ok && i < l.n; i++) {
		struct fate f;

		if (deliver_verify(sd->d, &env, l.v[i], &f, &e) < 0) {
			deliver_close(sd->d);	/* lost: the rest are taken as they come */
			sd->d = NULL;
			sd->no_checks = 1;
			break;
		}
		if (f.state != FATE_SENT) {
			smtpd_relay_reply(sd, &f);
			ok = 0;
		}
	}
	rcpt_free(&l);
	return ok;
}

static void smtpd_rcpt(struct smtpd *sd, const struct smtpd_cmd *c)
{
	if (!sd->in_mail)
		return smtpd_reply(sd, "503 5.5.1 MAIL first");
	if (sd->nrcpts >= SMTPD_RCPTS_MAX)
		return smtpd_reply(sd, "452 4.5.3 at most %d recipients in one message",
				   SMTPD_RCPTS_MAX);
	if (!smtpd_check_rcpt(sd, c->arg))
		return;
	sd->rcpts = xrealloc(sd->rcpts, sizeof *sd->rcpts * (sd->nrcpts + 1));
	sd->rcpts[sd->nrcpts++] = xstrdup(c->arg);
	if (c->notify[0] && !sd->notify[0])	/* one NOTIFY for the message: the first given */
		snprintf(sd->notify, sizeof sd->notify, "%s", c->notify);
	smtpd_reply(sd, "250 2.1.5 recipient ok");
}

/* The reply to the final dot from what became of the message. */
static void smtpd_outcome(struct smtpd *sd, const struct submit_report *rep, const struct err *e)
{
	switch (e->kind) {
	case ERR_NONE:
		if (rep && rep->queued[0])
			return smtpd_reply(sd, "250 2.0.0 queued as %s; will retry", rep->queued);
		return smtpd_reply(sd, "250 2.0.0 %s", rep ? "sent" : "taken for root's next queue run");
	case ERR_DATA: case ERR_USAGE: case ERR_NOUSER: case ERR_UNAVAILABLE: case ERR_NOHOST:
		return smtpd_reply(sd, "554 5.0.0 %s", e->text);
	default:
		return smtpd_reply(sd, "451 4.3.0 %s", e->text);
	}
}

/* The message in fd (offset 0) submitted, or dropped for a local user. */
static void smtpd_submit(struct smtpd *sd, int fd)
{
	struct request rq = smtpd_request(sd);
	struct submit_report rep = { 0 };
	struct submission s;
	struct err e = { 0 };

	if (!sd->c) {
		dropbox_drop(&rq, fd, &e);
		return smtpd_outcome(sd, NULL, &e);
	}
	submission_init(&s, &rq);
	if (submission_rcpts(&s, &e) == 0 && submission_account(&s, sd->c, &e) == 0 &&
	    submission_read(&s, fd, 0, &e) == 0) {
		/* over the session that checked the recipients, when it is this account's */
		int same = sd->d && sd->have_account && strcmp(sd->a.name, s.a.name) == 0;

		submit_over(sd->c, &s.a, same ? sd->d : NULL, &s.env, &s.sp, &rep, &e);
		submission_log(&s, &rep, e.kind ? 1 : 0, &e);
	}
	submission_free(&s);
	smtpd_outcome(sd, &rep, &e);
}

/* Writes what chunk holds to fd, and empties it. */
static int smtpd_spool(int fd, struct buf *chunk)
{
	if (xwrite_all(fd, chunk->data, chunk->len) < 0)
		return -1;
	buf_reset(chunk);
	return 0;
}

/* DATA: the message up to its dot, unstuffed, into a spool file; then the submission. -1 only
 * when the session ends (the client went away or stayed silent). */
static int smtpd_data(struct smtpd *sd, struct err *e)
{
	struct buf line, chunk;
	long long size = 0;
	int fd, r, too_long = 0;

	if (!sd->in_mail || !sd->nrcpts) {
		smtpd_reply(sd, sd->in_mail ? "554 5.5.1 no valid recipients" : "503 5.5.1 MAIL first");
		return 0;
	}
	fd = msg_spool_file(NULL, e);
	if (fd < 0) {
		smtpd_reply(sd, "451 4.3.0 %s", e->text);
		return 0;
	}
	smtpd_reply(sd, "354 end the message with a line holding a single dot");
	buf_init(&line, SMTPD_DATA_LINE_MAX);
	buf_init(&chunk, BUF_NO_MAX);
	while ((r = smtpd_getline(sd, &line, SMTPD_DATA_LINE_MAX, e)) > 0) {
		const char *p = line.data;
		size_t n = line.len;

		if (r == 2) {
			too_long = 1;
			continue;
		}
		if (n == 1 && p[0] == '.')
			break;
		if (p[0] == '.')
			p++, n--;
		size += (long long)n + 2;
		if (size > SMTPD_MESSAGE_MAX || too_long)
			continue;
		if (buf_add(&chunk, p, n) < 0 || buf_addstr(&chunk, "\r\n") < 0)
			buf_broken(__FILE__, __LINE__);
		if (chunk.len >= 65536 && smtpd_spool(fd, &chunk) < 0)
			too_long = -1;
	}
	if (r > 0 && !too_long && smtpd_spool(fd, &chunk) < 0)
		too_long = -1;
	buf_free(&chunk);
	buf_free(&line);
	if (r <= 0) {
		close(fd);
		if (r == 0)
			err_set(e, ERR_DATA, "the client went away before the end of the message");
		return -1;
	}
	if (too_long < 0)
		smtpd_reply(sd, "451 4.3.0 cannot write the message to a temporary file: %s",
			    strerror(errno));
	else if (too_long)
		smtpd_reply(sd, "554 5.6.0 a line of the message is longer than %d bytes",
			    SMTPD_DATA_LINE_MAX);
	else if (size > SMTPD_MESSAGE_MAX)
		smtpd_reply(sd, "552 5.3.4 a message may have at most %lld bytes", SMTPD_MESSAGE_MAX);
	else if (lseek(fd, 0, SEEK_SET) == 0)
		smtpd_submit(sd, fd);
	close(fd);
	smtpd_reset(sd);
	return 0;
}

/* When stderr is the connection itself (inetd, a socket unit without StandardError=), a warning
 * would reach the client as a reply: send it nowhere instead. */
static void smtpd_quiet_stderr(int out)
{
	struct stat a, b;

	if (fstat(out, &a) == 0 && fstat(2, &b) == 0 && S_ISSOCK(a.st_mode) &&
	    a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
		int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

		if (fd >= 0) {
			dup2(fd, 2);
			close(fd);
		}
	}
}

/* One command; 1 when the session ends. */
static int smtpd_command(struct smtpd *sd, const struct smtpd_cmd *c, struct err *e)
{
	switch (c->verb) {
	case SMTPD_HELO:
	case SMTPD_EHLO: smtpd_ehlo(sd, c); return 0;
	case SMTPD_MAIL: smtpd_mail(sd, c); return 0;
	case SMTPD_RCPT: smtpd_rcpt(sd, c); return 0;
	case SMTPD_DATA:
		if (smtpd_data(sd, e) == 0)
			return 0;
		/* the client went away or fell silent in the middle: it was told nothing, so it
		 * still has the message */
		if (e->flags & ERR_TIMEOUT)
			smtpd_reply(sd, "421 4.4.2 %s: %s, closing", sd->name, e->text);
		log_warn("-bs: %s; nothing was sent", e->text);
		*e = (struct err){ 0 };
		return 1;
	case SMTPD_RSET: smtpd_reset(sd); smtpd_reply(sd, "250 2.0.0 ok"); return 0;
	case SMTPD_NOOP: smtpd_reply(sd, "250 2.0.0 ok"); return 0;
	case SMTPD_QUIT: smtpd_reply(sd, "221 2.0.0 %s closing", sd->name); return 1;
	case SMTPD_VRFY: smtpd_reply(sd, "252 2.5.2 not verified; send and see"); return 0;
	case SMTPD_HELP: smtpd_reply(sd, "214 2.0.0 postbote -bs: RFC 5321 with PIPELINING, "
				     "8BITMIME, SMTPUTF8, SIZE, DSN"); return 0;
	default: smtpd_reply(sd, "502 5.5.1 not offered"); return 0;	/* EXPN STARTTLS AUTH BDAT */
	}
}

int smtpd_serve(const struct conf *c, const struct request *base, int idle, int in, int out,
		struct err *e)
{
	struct smtpd sd = { .c = c, .base = base, .in = in, .out = out,
			    .idle = idle > 0 ? idle : SMTPD_IDLE };
	struct buf line;
	int r = 0;

	smtpd_quiet_stderr(out);
	net_fqdn(sd.name, sizeof sd.name);
	buf_init(&sd.in_buf, BUF_NO_MAX);
	buf_init(&sd.out_buf, BUF_NO_MAX);
	buf_init(&line, SMTPD_LINE_MAX);
	smtpd_reply(&sd, "220 %s ESMTP postbote", sd.name);
	for (int done = 0; !done;) {
		struct smtpd_cmd cmd;
		const char *why;

		r = smtpd_getline(&sd, &line, SMTPD_LINE_MAX, e);
		if (r == 0)
			break;
		if (r < 0) {	/* silence, or the input failed: the session ends as RFC 5321 says */
			smtpd_reply(&sd, "421 4.4.2 %s: %s, closing", sd.name, e->text);
			*e = (struct err){ 0 };
			break;
		}
		why = r == 2 ? "500 5.5.2 line too long" : smtpd_parse(line.data, line.len, &cmd);
		if (why) {
			smtpd_reply(&sd, "%s", why);
			if (++sd.errors >= SMTPD_ERRORS_MAX) {
				smtpd_reply(&sd, "421 4.7.0 %s: too many errors, closing", sd.name);
				break;
			}
			continue;
		}
		done = smtpd_command(&sd, &cmd, e);
	}
	r = smtpd_flush(&sd, e);
	smtpd_reset(&sd);
	deliver_close(sd.d);
	cred_wipe(&sd.cred);
	buf_free(&line);
	buf_free(&sd.in_buf);
	buf_free(&sd.out_buf);
	return r;
}
