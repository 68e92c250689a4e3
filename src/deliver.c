/* deliver: failover across hosts, recipient batches, each recipient's fate. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "deliver.h"
#include "log.h"
#include "rcpt.h"
#include "smtp.h"
#include "state.h"
#include "trouble.h"

struct deliver {
	const struct account *a;
	struct smtp *s;		/* NULL only after a failed deliver_ready */
	const char *secret;	/* borrowed from deliver_open's caller, for opening again */
	int last;		/* deliver_last: the next message ends the session */
};

/* Where the account's TLS sessions are kept; NULL when they are not (tls_resume = off, or a
 * client certificate: such a session would let the next run log in as its owner). */
static const char *deliver_session_dir(const struct account *a)
{
	static char dir[4200];

	if (!a->tls_resume || a->tls_cert_file)
		return NULL;
	if (a->state_dir)
		snprintf(dir, sizeof dir, "%s/tls", a->state_dir);
	else
		state_home(dir, sizeof dir, "tls");
	return dir;
}

/* The account's TLS settings for one host: the one place they are read. */
static void deliver_tls_opts(const struct account *a, const char *host, struct tls_opts *to)
{
	*to = (struct tls_opts){
		.host = host,
		.host_override = a->tls_host_override,
		.trust_file = a->tls_trust_file,
		.crl_file = a->tls_crl_file,
		.fingerprint = a->tls_fingerprint,
		.cert_file = a->tls_cert_file,
		.key_file = a->tls_key_file,
		.priorities = a->tls_priorities,
		.min_version = a->tls_min_version,
		.no_certcheck = !a->tls_certcheck,
		.session_dir = deliver_session_dir(a),
		.account = a->name,
		.port = a->port,
	};
	if (!a->tls_certcheck && a->tls != CONF_TLS_OFF)
		log_warn("tls_certcheck = off: the certificate of %s is not checked; anyone between "
			 "here and there can read and change this mail and its password", host);
}

/* Where opening a session failed: the step, and the reply that failed it (code 0: none). */
struct deliver_failure {
	enum smtp_phase phase;
	int code;
	char enhanced[16];
};

static void deliver_note_failure(const struct smtp *s, struct deliver_failure *df)
{
	df->phase = smtp_failed_phase(s);
	df->code = smtp_last_code(s);
	df->enhanced[0] = '\0';
	if (df->code)
		trouble_reply_enhanced(smtp_last_reply(s), df->enhanced, sizeof df->enhanced);
}

static char *deliver_collect(const struct smtp *s, void (*print)(const struct smtp *, FILE *));
static void deliver_print_caps(const struct smtp *s, FILE *f);

/* Connects to host and says EHLO, with TLS as the account wants it: the opening sequence of
 * both a delivery and a probe (p, when not NULL, collects what the server says on the way:
 * the greeting, and the capabilities before STARTTLS). NULL with e and df. */
static struct smtp *deliver_connect(const struct account *a, const char *host,
				    struct deliver_probe *p, struct deliver_failure *df,
				    struct err *e)
{
	struct tls_opts to;
	struct smtp *s;

	deliver_tls_opts(a, host, &to);
	s = smtp_open(host, a->port, a->timeout, a->tls == CONF_TLS_IMPLICIT ? &to : NULL,
		      &df->phase, e);
	if (!s)
		return NULL;
	if (!a->chunking)
		smtp_disable(s, EHLO_CHUNKING);
	if (p)
		p->greeting = xstrdup(smtp_last_reply(s));
	if (smtp_ehlo(s, a->domain, e) < 0)
		goto fail;
	if (p && a->tls == CONF_TLS_STARTTLS)
		p->ehlo_plain = deliver_collect(s, deliver_print_caps);
	if (a->tls == CONF_TLS_STARTTLS && smtp_starttls(s, &to, a->domain, e) < 0)
		goto fail;
	return s;
fail:
	deliver_note_failure(s, df);
	smtp_close(s);
	return NULL;
}

/* What a failure of the session (opening it, or a whole transaction) means for a recipient. */
static void deliver_failure_fate(const struct deliver_failure *df, const struct err *e,
			      struct fate *f)
{
	trouble_fate(df->phase, df->code, df->enhanced[0] ? df->enhanced : NULL, e, f);
	snprintf(f->reason, sizeof f->reason, "%s", e->text);
}

/* Opens d->s on the first host that works. 0, or -1 with e and *fate. */
static int deliver_session(struct deliver *d, struct fate *fate, struct err *e)
{
	const struct account *a = d->a;

	for (size_t i = 0; i < a->nhosts; i++) {
		struct deliver_failure df = { 0 };

		if (i)
			log_note("trying the next host, %s", a->hosts[i]);
		d->s = deliver_connect(a, a->hosts[i], NULL, &df, e);
		if (d->s && (a->auth == CONF_AUTH_OFF ||
			     smtp_auth(d->s, a->auth == CONF_AUTH_MECH ? a->mech : NULL,
				       a->auth_plaintext, a->user, d->secret, e) == 0)) {
			memset(e, 0, sizeof *e);	/* what failed on the hosts before is over */
			return 0;
		}
		if (d->s)
			deliver_note_failure(d->s, &df);
		deliver_failure_fate(&df, e, fate);
		smtp_close(d->s);
		d->s = NULL;
		/* only a failure that another host may not have is worth another host */
		if (e->kind != ERR_TEMP && e->kind != ERR_NOHOST)
			break;
		if (i + 1 < a->nhosts)
			log_note("%s", e->text);
	}
	return -1;
}

struct deliver *deliver_open(const struct account *a, const char *secret, struct fate *fate,
			     struct err *e)
{
	struct deliver *d = xmalloc(sizeof *d);

	memset(d, 0, sizeof *d);
	d->a = a;
	d->secret = secret;
	if (deliver_session(d, fate, e) == 0)
		return d;
	free(d);
	return NULL;
}

/* Before a transaction: a session that ended on purpose is opened again: QUIT went with the
 * last transaction and the server still wanted recipients in another one, or the server's
 * LIMITS MAILMAX transactions are done. 0 when d->s can be used, else -1 with e. */
static int deliver_ready(struct deliver *d, struct err *e)
{
	struct fate f;
	int full = d->s && smtp_usable(d->s) && smtp_mail_left(d->s) == 0;

	if (smtp_usable(d->s) && !full)
		return 0;
	if (!d->s)
		return err_set(e, ERR_TEMP, "no session to the smarthost");
	if (!full && !smtp_over(d->s))
		return err_set(e, ERR_TEMP, "connection to %s lost", smtp_host(d->s));
	if (full)
		log_note("%s takes %u transactions per connection (LIMITS MAILMAX): connecting "
			 "again", smtp_host(d->s), smtp_caps(d->s)->mailmax);
	smtp_last(d->s);	/* its QUIT's reply is not needed */
	smtp_close(d->s);
	d->s = NULL;
	if (deliver_session(d, &f, e) == 0)
		return 0;
	err_wrap(e, "connecting again for the next transaction");
	return -1;
}

/* Recipients per transaction: max_recipients, and what the server's LIMITS RCPTMAX allows,
 * so that it never has to answer "too many recipients". */
static size_t deliver_max_rcpts(const struct deliver *d, size_t all)
{
	size_t max = d->a->max_recipients ? (size_t)d->a->max_recipients : all;
	unsigned rcptmax = d->s ? smtp_caps(d->s)->rcptmax : 0;

	return rcptmax && rcptmax < max ? rcptmax : max;
}

const char *deliver_host(const struct deliver *d)
{
	return d && d->s ? smtp_host(d->s) : "";
}

const char *deliver_mech(const struct deliver *d)
{
	return d && d->s ? smtp_mech(d->s) : "";
}

const char *deliver_last_reply(const struct deliver *d)
{
	return d && d->s ? smtp_last_reply(d->s) : "";
}

int deliver_offers_dsn(const struct deliver *d)
{
	return d && d->s && (smtp_caps(d->s)->flags & EHLO_DSN);
}

/* A session that ended on purpose (QUIT went with its last transaction, or LIMITS MAILMAX) is
 * opened again by the next deliver_message. */
int deliver_usable(const struct deliver *d)
{
	return d && (smtp_usable(d->s) || smtp_over(d->s));
}

void deliver_last(struct deliver *d)
{
	d->last = 1;
}

void deliver_close(struct deliver *d)
{
	if (!d)
		return;
	if (d->s)
		smtp_last(d->s);	/* every fate is known: QUIT's 221 would only cost a wait */
	smtp_close(d->s);
	free(d);
}

static void deliver_reason(struct fate *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void deliver_reason(struct fate *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->reason, sizeof f->reason, fmt, ap);
	va_end(ap);
}

/* Envelope addresses for this server: as they are with SMTPUTF8, else with A-label domains. */
static int deliver_ascii(struct deliver *d, const char *in, char *out, size_t size, int *utf8,
			 struct err *e)
{
	if (!rcpt_is_utf8(in)) {
		snprintf(out, size, "%s", in);
		return 0;
	}
	if (smtp_caps(d->s)->flags & EHLO_SMTPUTF8) {
		*utf8 = 1;
		snprintf(out, size, "%s", in);
		return 0;
	}
	if (rcpt_to_ascii(in, out, size, e) < 0)
		return err_wrap(e, "%s does not offer SMTPUTF8", smtp_host(d->s));
	return 0;
}

/* The fate of a recipient from its RCPT reply, with the reason in words. */
static void deliver_rcpt_fate(struct deliver *d, const char *addr,
			      const struct smtp_rcpt_result *x, struct fate *f)
{
	char enh[16];
	int cls = x->code / 100;

	trouble_reply_enhanced(x->reply, enh, sizeof enh);
	trouble_fate(PHASE_RCPT, x->code, enh[0] ? enh : NULL, NULL, f);
	if (f->state == FATE_FAILED)
		deliver_reason(f, "%s rejected recipient <%s>: %s", smtp_host(d->s), addr, x->reply);
	else if (cls == 4 || cls == 5)
		deliver_reason(f, "%s answered RCPT TO:<%s> with %s", smtp_host(d->s), addr, x->reply);
	else
		deliver_reason(f, "%s answered RCPT TO:<%s> with %s, which is not a reply RCPT can "
			       "have", smtp_host(d->s), addr, x->reply);
}

/* The failure of a whole transaction, for the recipients in it that have no fate yet. */
static void deliver_fail(struct deliver *d, struct fate **batch, size_t n, const struct err *e)
{
	struct deliver_failure df;
	struct fate f = { 0 };

	deliver_note_failure(d->s, &df);
	deliver_failure_fate(&df, e, &f);
	for (size_t i = 0; i < n; i++)
		if (batch[i]->state == FATE_PENDING || batch[i]->state == FATE_SENT)
			*batch[i] = f;
}

struct deliver_batch {
	struct fate **fates;
	const char **addrs;	/* the wire forms */
	char (*wire)[1024];
	size_t *idx;		/* which envelope recipient */
	size_t n;
};

/* Converts the batch's addresses for this server; a recipient it cannot take fails alone.
 * -1 when the sender cannot be converted (everyone fails with it). */
static int deliver_wire(struct deliver *d, const struct envelope *env, struct deliver_batch *b,
			char *from, size_t size, int *utf8, struct err *e)
{
	size_t k = 0;

	int refused = env->smtputf8 && !(smtp_caps(d->s)->flags & EHLO_SMTPUTF8);

	if (refused)
		err_set(e, ERR_UNAVAILABLE, "the message asks for SMTPUTF8 (-O smtputf8=yes) and %s "
			"does not offer it", smtp_host(d->s));
	*utf8 |= env->smtputf8;
	if (refused || deliver_ascii(d, env->from, from, size, utf8, e) < 0) {
		for (size_t i = 0; i < b->n; i++)
			*b->fates[i] = (struct fate){ .state = FATE_FAILED, .kind = e->kind };
		for (size_t i = 0; i < b->n; i++)
			snprintf(b->fates[i]->reason, FATE_REASON_MAX, "%s", e->text);
		return -1;
	}
	for (size_t i = 0; i < b->n; i++) {
		if (deliver_ascii(d, env->rcpts[b->idx[i]], b->wire[k], sizeof b->wire[k], utf8,
				  e) < 0) {
			*b->fates[i] = (struct fate){ .state = FATE_FAILED, .kind = e->kind };
			snprintf(b->fates[i]->reason, FATE_REASON_MAX, "%s", e->text);
			continue;
		}
		b->addrs[k] = b->wire[k];
		b->fates[k] = b->fates[i];
		b->idx[k++] = b->idx[i];
	}
	b->n = k;
	return 0;
}

/* One transaction for the batch. 1 when some recipient got the message, 0 when none did, -1
 * when the session can no longer be used. */
static int deliver_batch(struct deliver *d, const struct envelope *env, const struct spool *sp,
			 struct deliver_batch *b, struct err *e)
{
	struct smtp_rcpt_result *res = calloc(b->n + 1, sizeof *res);
	char from[1024];
	int r, utf8 = 0, accepted = 0;

	if (!res)
		err_oom();
	if (deliver_wire(d, env, b, from, sizeof from, &utf8, e) < 0 || !b->n) {
		free(res);
		return 0;
	}
	r = smtp_send(d->s, env, from, b->addrs, b->n, utf8, sp, res, e);
	for (size_t i = 0; i < b->n; i++) {
		if (res[i].code == 0)
			continue;
		if (res[i].code / 100 == 2) {
			*b->fates[i] = (struct fate){ .state = FATE_SENT };
			snprintf(b->fates[i]->reason, FATE_REASON_MAX, "%s", res[i].reply);
			accepted = r == 0;
		} else {
			deliver_rcpt_fate(d, env->rcpts[b->idx[i]], &res[i], b->fates[i]);
		}
	}
	free(res);
	if (r < 0) {
		deliver_fail(d, b->fates, b->n, e);
		return smtp_usable(d->s) ? 0 : -1;
	}
	return accepted;
}

/* The pending recipients, up to max, into b. */
static size_t deliver_pick(const struct envelope *env, struct fate *fates, size_t max,
			   struct deliver_batch *b)
{
	b->n = 0;
	for (size_t i = 0; i < env->nrcpts && b->n < max; i++)
		if (fates[i].state == FATE_PENDING) {
			b->fates[b->n] = &fates[i];
			b->idx[b->n++] = i;
		}
	return b->n;
}

int deliver_verify(struct deliver *d, const struct envelope *env, const char *rcpt,
		   struct fate *f, struct err *e)
{
	char from[1024], wire[1024];
	struct smtp_rcpt_result res;
	struct err ae = { 0 };
	int utf8 = 0;

	*f = (struct fate){ .state = FATE_PENDING };
	if (deliver_ascii(d, env->from, from, sizeof from, &utf8, &ae) < 0 ||
	    deliver_ascii(d, rcpt, wire, sizeof wire, &utf8, &ae) < 0) {
		*f = (struct fate){ .state = FATE_FAILED, .kind = ae.kind };
		snprintf(f->reason, sizeof f->reason, "%s", ae.text);
		return 0;
	}
	if (smtp_verify(d->s, env, from, wire, utf8, &res, e) < 0) {
		struct deliver_failure df;

		deliver_note_failure(d->s, &df);
		deliver_failure_fate(&df, e, f);
		return smtp_usable(d->s) ? 0 : -1;
	}
	if (res.code / 100 == 2) {
		*f = (struct fate){ .state = FATE_SENT };
		snprintf(f->reason, sizeof f->reason, "%s", res.reply);
	} else {
		deliver_rcpt_fate(d, rcpt, &res, f);
	}
	return 0;
}

/* Pending recipients outside the batch just picked. */
static int deliver_more(const struct envelope *env, const struct fate *fates,
			const struct deliver_batch *b)
{
	size_t pending = 0;

	for (size_t i = 0; i < env->nrcpts; i++)
		pending += fates[i].state == FATE_PENDING;
	return pending > b->n;
}

int deliver_message(struct deliver *d, const struct envelope *env, const struct spool *sp,
		    struct fate *fates, struct err *e)
{
	size_t max = d->a->max_recipients ? (size_t)d->a->max_recipients : env->nrcpts;
	size_t n = env->nrcpts + 1;
	struct deliver_batch b = { .fates = calloc(n, sizeof *b.fates),
				   .addrs = calloc(n, sizeof *b.addrs),
				   .wire = calloc(max < n ? max + 1 : n, sizeof *b.wire),
				   .idx = calloc(n, sizeof *b.idx) };
	int r = 0;

	if (!b.fates || !b.addrs || !b.wire || !b.idx)
		err_oom();
	while (deliver_pick(env, fates, deliver_max_rcpts(d, env->nrcpts), &b)) {
		r = deliver_ready(d, e);
		if (r == 0) {
			/* a new session may have other LIMITS */
			deliver_pick(env, fates, deliver_max_rcpts(d, env->nrcpts), &b);
			/* QUIT with the transaction that leaves nobody pending, or the last the
			 * server takes on this connection */
			if ((d->last && !deliver_more(env, fates, &b)) || smtp_mail_left(d->s) == 1)
				smtp_last(d->s);
			r = deliver_batch(d, env, sp, &b, e);
		}
		if (r < 0) {
			struct fate f = { .state = FATE_DEFERRED, .kind = ERR_TEMP };

			snprintf(f.reason, sizeof f.reason, "%s", e->text);
			for (size_t i = 0; i < env->nrcpts; i++)
				if (fates[i].state == FATE_PENDING || fates[i].state == FATE_NEXT)
					fates[i] = f;
			break;
		}
		/* "too many recipients": the rest go in the next transaction as long as this one
		 * made progress; otherwise they wait for a later try */
		for (size_t i = 0; i < env->nrcpts; i++)
			if (fates[i].state == FATE_NEXT)
				fates[i].state = r ? FATE_PENDING : FATE_DEFERRED;
		r = 0;
	}
	free(b.fates);
	free(b.addrs);
	free(b.wire);
	free(b.idx);
	return r;
}

/* Collects what the printing functions of the session write. */
static char *deliver_collect(const struct smtp *s, void (*print)(const struct smtp *, FILE *))
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		err_oom();
	print(s, f);
	if (fclose(f) != 0)
		err_oom();
	return text;
}

static void deliver_print_caps(const struct smtp *s, FILE *f)
{
	smtp_print_reply(s, f, "    ");
}

int deliver_probe(const struct account *a, struct deliver_probe *p, struct err *e)
{
	struct deliver_failure df = { 0 };
	struct smtp *s;

	memset(p, 0, sizeof *p);
	s = deliver_connect(a, a->hosts[0], p, &df, e);
	if (!s)
		return -1;
	if (smtp_tls(s)) {
		p->tls_desc = xstrdup(smtp_tls_desc(s));
		p->tls_info = deliver_collect(s, smtp_print_tls);
	}
	p->ehlo = deliver_collect(s, deliver_print_caps);
	smtp_close(s);
	return 0;
}

void deliver_probe_free(struct deliver_probe *p)
{
	free(p->greeting);
	free(p->ehlo_plain);
	free(p->ehlo);
	free(p->tls_desc);
	free(p->tls_info);
	memset(p, 0, sizeof *p);
}
