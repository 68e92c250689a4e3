/* deliver: failover across hosts, recipient batches, per-recipient results. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "deliver.h"
#include "log.h"
#include "rcpt.h"

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
	};
	if (!a->tls_certcheck && a->tls != CONF_TLS_OFF)
		log_warn("tls_certcheck = off: the certificate of %s is not checked; anyone between "
			 "here and there can read and change this mail and its password", host);
}

static int deliver_session(struct deliver *d, const char *host, struct err *e)
{
	const struct account *a = d->a;
	struct tls_opts to;
	struct smtp *s = &d->s;

	deliver_tls_opts(a, host, &to);
	if (a->tls == CONF_TLS_IMPLICIT) {
		if (smtp_open_tls(s, host, a->port, a->timeout, &to, e) < 0)
			return -1;
	} else if (smtp_open(s, host, a->port, a->timeout, e) < 0) {
		return -1;
	}
	if (smtp_ehlo(s, d->domain, e) < 0)
		return -1;
	if (a->tls == CONF_TLS_STARTTLS &&
	    (smtp_starttls(s, &to, e) < 0 || smtp_ehlo(s, d->domain, e) < 0))
		return -1;
	if (a->auth != CONF_AUTH_OFF &&
	    smtp_auth(s, a->auth == CONF_AUTH_MECH ? a->mech : "on", a->auth_plaintext, a->user,
		      d->password, e) < 0)
		return -1;
	return 0;
}

int deliver_open(struct deliver *d, const struct account *a, const char *domain,
		 const char *password, struct err *e)
{
	memset(d, 0, sizeof *d);
	d->s.conn.fd = -1;
	d->a = a;
	d->domain = domain;
	d->password = password;
	for (size_t i = 0; i < a->nhosts; i++) {
		if (i)
			log_note("trying the next host, %s", a->hosts[i]);
		if (deliver_session(d, a->hosts[i], e) == 0) {
			d->open = 1;
			memset(e, 0, sizeof *e);	/* what failed on the hosts before is over */
			return 0;
		}
		smtp_close(&d->s);
		/* only a failure that another host may not have is worth another host */
		if (e->kind != ERR_TEMP && e->kind != ERR_NOHOST)
			break;
		if (i + 1 < a->nhosts)
			log_note("%s", e->text);
	}
	return -1;
}

const char *deliver_host(const struct deliver *d)
{
	return d->s.host ? d->s.host : d->a && d->a->nhosts ? d->a->hosts[0] : "";
}

void deliver_close(struct deliver *d)
{
	if (d->open)
		smtp_close(&d->s);
	d->open = 0;
}

static void deliver_set(struct deliver_rcpt *r, enum deliver_state st, enum err_kind kind,
			const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void deliver_set(struct deliver_rcpt *r, enum deliver_state st, enum err_kind kind,
			const char *fmt, ...)
{
	va_list ap;

	r->state = st;
	r->kind = kind;
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof r->reason, fmt, ap);
	va_end(ap);
}

/* The failure of a whole transaction, for the recipients in it that have no fate yet. */
static void deliver_fail_batch(struct deliver_rcpt **batch, size_t n, const struct err *e)
{
	for (size_t i = 0; i < n; i++)
		if (batch[i]->state == DELIVER_PENDING)
			deliver_set(batch[i], e->kind == ERR_TEMP ? DELIVER_DEFERRED : DELIVER_FAILED,
				    e->kind, "%s", e->text);
}

/* "452 4.5.3 too many recipients": the server wants the rest in another transaction. */
static int deliver_too_many(const struct smtp_rcpt_result *r)
{
	return r->code == 452 || strstr(r->reply, "4.5.3") != NULL;
}

/* Envelope addresses for this server: as they are with SMTPUTF8, else with A-label domains. */
static int deliver_ascii(struct deliver *d, const char *in, char *out, size_t size, int *utf8,
			 struct err *e)
{
	if (!rcpt_is_utf8(in)) {
		snprintf(out, size, "%s", in);
		return 0;
	}
	if (d->s.caps.flags & EHLO_SMTPUTF8) {
		*utf8 = 1;
		snprintf(out, size, "%s", in);
		return 0;
	}
	if (rcpt_to_ascii(in, out, size, e) < 0)
		return err_wrap(e, "%s does not offer SMTPUTF8", d->s.host);
	return 0;
}

/* One transaction for up to n pending recipients. 1 when some were accepted, 0 when none were,
 * -1 when the connection is no longer usable. */
static int deliver_batch(struct deliver *d, struct deliver_item *it, struct deliver_rcpt **batch,
			 size_t n, struct err *e)
{
	struct smtp_envelope env = { .body_8bit = it->body_8bit, .dsn_notify = it->dsn_notify,
				     .dsn_ret = it->dsn_ret, .dsn_envid = it->dsn_envid };
	char from[1024], (*wire)[1024] = calloc(n, sizeof *wire);
	const char **addrs = calloc(n, sizeof *addrs);
	struct smtp_rcpt_result *res = calloc(n, sizeof *res);
	size_t m = 0;
	int r, accepted = 0;

	if (!wire || !addrs || !res)
		err_oom();
	if (deliver_ascii(d, it->from, from, sizeof from, &env.smtputf8, e) < 0) {
		deliver_fail_batch(batch, n, e);	/* the sender concerns everyone */
		r = 0;
		goto out;
	}
	/* a recipient this server cannot take fails alone; the others go ahead */
	for (size_t i = 0, k = 0; i < n; i++) {
		if (deliver_ascii(d, batch[i]->addr, wire[k], sizeof wire[k], &env.smtputf8,
				  e) < 0) {
			deliver_set(batch[i], DELIVER_FAILED, e->kind, "%s", e->text);
			continue;
		}
		addrs[k] = wire[k];
		batch[k++] = batch[i];
		m = k;
	}
	n = m;
	if (!n) {
		r = 0;
		goto out;
	}
	env.from = from;
	env.rcpts = addrs;
	env.nrcpts = n;
	r = smtp_send(&d->s, &env, it->fd, it->offset, it->size, res, e);
	for (size_t i = 0; i < n; i++) {
		const struct smtp_rcpt_result *x = &res[i];

		if (x->code / 100 == 2 && r == 0) {
			deliver_set(batch[i], DELIVER_SENT, ERR_NONE, "%s", x->reply);
			accepted = 1;
		} else if (x->code / 100 == 5) {
			deliver_set(batch[i], DELIVER_FAILED, ERR_NOUSER, "%s rejected recipient <%s>: %s",
				    d->s.host, batch[i]->addr, x->reply);
		} else if (x->code / 100 == 4 && !deliver_too_many(x)) {
			deliver_set(batch[i], DELIVER_DEFERRED, ERR_TEMP, "%s answered RCPT TO:<%s> with %s",
				    d->s.host, batch[i]->addr, x->reply);
		} else if (x->code / 100 == 4) {
			snprintf(batch[i]->reason, sizeof batch[i]->reason, "%s answered RCPT TO:<%s> "
				 "with %s", d->s.host, batch[i]->addr, x->reply);
		}
	}
	if (r < 0) {
		deliver_fail_batch(batch, n, e);
		r = smtp_usable(&d->s) ? 0 : -1;
	} else {
		r = accepted;
	}
out:
	free(wire);
	free(addrs);
	free(res);
	return r;
}

int deliver_message(struct deliver *d, struct deliver_item *it, struct err *e)
{
	size_t max = d->a->max_recipients ? (size_t)d->a->max_recipients : it->nrcpts;
	struct deliver_rcpt **batch = calloc(it->nrcpts + 1, sizeof *batch);
	int r = 0;

	if (!batch)
		err_oom();
	for (;;) {
		size_t n = 0;

		for (size_t i = 0; i < it->nrcpts && n < max; i++)
			if (it->rcpts[i].state == DELIVER_PENDING)
				batch[n++] = &it->rcpts[i];
		if (!n)
			break;
		if (!smtp_usable(&d->s)) {
			err_set(e, ERR_TEMP, "connection to %s lost", d->s.host ? d->s.host : "?");
			r = -1;
		} else {
			r = deliver_batch(d, it, batch, n, e);
		}
		if (r < 0) {
			for (size_t i = 0; i < it->nrcpts; i++)
				if (it->rcpts[i].state == DELIVER_PENDING)
					deliver_set(&it->rcpts[i], e->kind == ERR_TEMP ? DELIVER_DEFERRED
										: DELIVER_FAILED,
						    e->kind, "%s", e->text);
			break;
		}
		/* recipients still pending got "452 too many": they go in the next transaction,
		 * as long as this one made progress; otherwise they wait for a later try */
		if (r == 0)
			for (size_t i = 0; i < n; i++)
				if (batch[i]->state == DELIVER_PENDING) {
					batch[i]->state = DELIVER_DEFERRED;
					batch[i]->kind = ERR_TEMP;
				}
		r = 0;
	}
	free(batch);
	return r;
}

/* The capabilities of the last EHLO reply, one per line, cleaned. */
static void deliver_print_caps(const struct smtp *s, const char *when)
{
	const char *p = s->reply.text.data, *end = p + s->reply.text.len;

	printf("EHLO reply %s:\n", when);
	while (p <= end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char line[600];

		buf_clean_str(line, sizeof line, p, n);
		printf("    %d %s\n", s->reply.code, line);
		p += n + 1;
	}
}

int deliver_serverinfo(const struct account *a, const char *domain, struct err *e)
{
	struct deliver d = { 0 };
	struct tls_opts to;
	struct smtp *s = &d.s;
	int r = -1;

	deliver_tls_opts(a, a->hosts[0], &to);
	printf("Server: %s port %d, tls = %s\n", a->hosts[0], a->port,
	       a->tls == CONF_TLS_STARTTLS ? "starttls" : a->tls == CONF_TLS_IMPLICIT ? "implicit" : "off");
	if (a->tls == CONF_TLS_IMPLICIT ? smtp_open_tls(s, a->hosts[0], a->port, a->timeout, &to, e)
					 : smtp_open(s, a->hosts[0], a->port, a->timeout, e))
		goto out;
	{
		char greeting[600];

		reply_summary(&s->reply, greeting, sizeof greeting);
		printf("Greeting: %s\n", greeting);
	}
	if (smtp_ehlo(s, domain, e) < 0)
		goto out;
	if (a->tls == CONF_TLS_STARTTLS) {
		deliver_print_caps(s, "before STARTTLS");
		if (smtp_starttls(s, &to, e) < 0 || smtp_ehlo(s, domain, e) < 0)
			goto out;
	}
	if (s->tls) {
		printf("TLS: %s\n", s->tls_desc);
		tls_print_info(s->conn.tls, stdout);
	}
	deliver_print_caps(s, s->tls ? "with TLS" : "without TLS");
	r = 0;
out:
	fflush(stdout);
	smtp_close(s);
	return r;
}
