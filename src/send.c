/* send: deliver now or queue; run the queue; bounces; failed area; rate limits; mailq. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "deliver.h"
#include "log.h"
#include "msg.h"
#include "net.h"
#include "queue.h"
#include "sasl.h"
#include "send.h"

#define SEND_FLUSH_SECONDS 30	/* how long a direct submission may spend on the queue after */
#define SEND_RUN_MAX 1000	/* messages one run takes on */

void send_ehlo_name(const struct account *a, char *out, size_t size)
{
	snprintf(out, size, "%s", a->domain);
}

int send_password(const struct account *a, char *out, size_t size, struct err *e)
{
	out[0] = '\0';
	if (a->auth == CONF_AUTH_OFF || (a->auth == CONF_AUTH_MECH && sasl_no_password(a->mech)))
		return 0;
	return conf_password(a, out, size, e);
}

#define SEND_DIRS_MAX 64

/* Opens (and creates) the account's queue; with `existing`, only one that is there already. */
static int send_open_queue(const struct conf *c, const struct account *a, int existing,
			   struct queue *q, struct err *e)
{
	if (existing && access(a->queue_dir, F_OK) < 0)
		return err_set(e, ERR_IO, "no queue directory %s", a->queue_dir);
	return queue_open(q, a->queue_dir, e);
}

static time_t send_backoff(const struct account *a, unsigned attempts)
{
	long d = a->queue_retry_min;

	for (unsigned i = 1; i < attempts && d < a->queue_retry_max; i++)
		d *= 2;
	return d > a->queue_retry_max ? a->queue_retry_max : d;
}

static const char *send_when(time_t t, char *out, size_t size)
{
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(out, size, "%Y-%m-%d %H:%M:%S", &tm);
	return out;
}

/* How long ago t was: "5m", "3h07m", "2d04h". */
static void send_age(time_t t, char *out, size_t size)
{
	long s = (long)(time(NULL) - t);

	if (s < 0)
		s = 0;
	if (s < 3600)
		snprintf(out, size, "%ldm", s / 60);
	else if (s < 86400)
		snprintf(out, size, "%ldh%02ldm", s / 3600, s / 60 % 60);
	else
		snprintf(out, size, "%ldd%02ldh", s / 86400, s / 3600 % 24);
}

/* Adds a message to area with the given recipients; the new id goes to id. */
static int send_enqueue(struct queue *q, const char *area, const struct account *a,
			const struct send_job *job, char **rcpts, size_t n, time_t next,
			const char *error, struct queue_entry *failed_from, char *id, struct err *e)
{
	struct queue_entry m = { 0 };

	m.account = (char *)a->name;
	m.from = (char *)job->from;
	m.rcpts = rcpts;
	m.nrcpts = n;
	m.body_8bit = job->body_8bit;
	m.dsn_notify = (char *)job->dsn_notify;
	m.dsn_ret = (char *)job->dsn_ret;
	m.dsn_envid = (char *)job->dsn_envid;
	m.created = time(NULL);
	if (queue_add(q, area, &m, job->fd, job->size, id, e) < 0)
		return -1;
	/* its state: when to try again and why it waits, or why it failed */
	struct queue_entry st = { .fd = -1, .attempts = 1, .next = next, .last = time(NULL) };

	snprintf(st.id, sizeof st.id, "%s", id);
	snprintf(st.area, sizeof st.area, "%s", area);
	st.error = (char *)error;
	if (failed_from) {
		st.failed = failed_from->failed;
		st.nfailed = failed_from->nfailed;
	}
	if (queue_save(q, &st, e) < 0) {
		struct err re;

		/* without its state it would still be sent later, after we said it was not kept */
		queue_remove(q, &st, &re);
		return -1;
	}
	return 0;
}

/* ---- bounces ---- */

/* Writes a bounce for ent (the failed recipients with their reasons, then the original headers)
 * into a new spool file; returns its fd and size. */
static int send_bounce_spool(const struct queue_entry *ent, const char *domain, off_t *size)
{
	char date[64], chunk[8192];
	time_t now = time(NULL);
	struct buf b;
	struct tm tm;
	off_t off = ent->offset, end = ent->offset + ent->size;
	struct err e;
	int fd = msg_spool_file(NULL, &e);

	if (fd < 0)
		return -1;
	localtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm);
	buf_init(&b, 1 << 20);
	if (buf_printf(&b, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\nTo: <%s>\r\n"
			   "Subject: Undelivered Mail Returned to Sender\r\nDate: %s\r\n"
			   "Message-ID: <%s.bounce@%s>\r\n"
			   "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
			   "Content-Type: text/plain; charset=utf-8\r\n\r\n"
			   "postbote could not deliver your message (queue id %s) to these "
			   "recipients:\r\n\r\n",
		       domain, ent->from, date, ent->id, domain, ent->id) < 0)
		err_oom();
	for (size_t i = 0; i < ent->nfailed; i++) {
		const char *tab = strchr(ent->failed[i], '\t');

		if (buf_printf(&b, "  <%.*s>\r\n    %s\r\n", tab ? (int)(tab - ent->failed[i]) : 0,
			       ent->failed[i], tab ? tab + 1 : ent->failed[i]) < 0)
			break;
	}
	if (buf_addstr(&b, "\r\nThe headers of your message follow.\r\n\r\n") < 0)
		err_oom();
	/* the original header section, up to its empty line */
	size_t orig = b.len;

	while (off < end && b.len < (1 << 20) - sizeof chunk) {
		ssize_t n = pread(ent->fd, chunk, sizeof chunk, off);
		char *blank;

		if (n <= 0)
			break;
		if (off + n > end)
			n = end - off;
		if (buf_add(&b, chunk, (size_t)n) < 0)
			break;
		off += n;
		blank = strstr(b.data + orig, "\r\n\r\n");
		if (blank) {
			b.len = (size_t)(blank - b.data) + 2;
			break;
		}
	}
	if (b.len < 2 || memcmp(b.data + b.len - 2, "\r\n", 2) != 0)
		(void)!buf_addstr(&b, "\r\n");
	if (write(fd, b.data, b.len) != (ssize_t)b.len) {
		close(fd);
		fd = -1;
	}
	*size = (off_t)b.len;
	buf_free(&b);
	return fd;
}

/* Tells the sender of ent which recipients failed and why: sent through d when it is open,
 * queued otherwise. Nothing for the null sender. */
static void send_bounce(struct queue *q, struct deliver *d, const struct account *a,
			const char *domain, const struct queue_entry *ent)
{
	struct send_job job = { .from = "" };
	char *rcpt[1] = { ent->from }, id[QUEUE_ID_MAX];
	struct deliver_rcpt r = { .addr = ent->from };
	struct deliver_item it = { .from = "", .rcpts = &r, .nrcpts = 1 };
	struct err e = { 0 };

	if (!*ent->from || !ent->nfailed)
		return;
	job.fd = send_bounce_spool(ent, domain, &job.size);
	if (job.fd < 0) {
		log_warn("cannot write a bounce for %s", ent->id);
		return;
	}
	it.fd = job.fd;
	it.size = job.size;
	if (d && d->open && deliver_message(d, &it, &e) == 0 && r.state == DELIVER_SENT) {
		log_note("bounce for %s sent to <%s>", ent->id, ent->from);
	} else if (r.state != DELIVER_FAILED || !d || !d->open) {
		if (send_enqueue(q, "q", a, &job, rcpt, 1, time(NULL), r.reason[0] ? r.reason : NULL,
				 NULL, id, &e) < 0)
			log_warn("cannot queue a bounce for %s: %s", ent->id, e.text);
	} else {
		log_warn("the bounce for %s was refused: %s", ent->id, r.reason);
	}
	close(job.fd);
}

/* ---- the queue run ---- */

struct send_account {
	struct account a;
	char domain[256];
	char password[1024];
	int ok;			/* resolved; else why not is in err */
	struct err err;
};

/* The account a queued message names; its password only when a session must be opened (a
 * second passwordeval, or a second prompt, after a direct submission would be wrong). */
static void send_resolve(const struct conf *c, const char *name, int need_password,
			 struct send_account *sa)
{
	memset(sa, 0, sizeof *sa);
	if (conf_account(c, name, NULL, &sa->a, &sa->err) < 0)
		return;
	send_ehlo_name(&sa->a, sa->domain, sizeof sa->domain);
	if (need_password &&
	    send_password(&sa->a, sa->password, sizeof sa->password, &sa->err) < 0)
		return;
	sa->ok = 1;
}

/* After a try: gives the message up when it is too old, else sets when to try next. */
static void send_after_try(struct queue *q, struct deliver *d, const struct send_account *sa,
			   struct queue_entry *ent, const char *why)
{
	time_t now = time(NULL);
	size_t left = 0;
	struct err e = { 0 };

	for (size_t i = 0; i < ent->nrcpts; i++)
		left += !queue_is_done(ent, ent->rcpts[i]);
	ent->attempts++;
	ent->last = now;
	if (left && why) {
		free(ent->error);
		ent->error = xstrdup(why);
	}
	if (left && now - ent->created >= sa->a.queue_lifetime) {
		char reason[600], age[32];

		send_age(ent->created, age, sizeof age);
		snprintf(reason, sizeof reason, "gave up after %u tries in %s: %s", ent->attempts,
			 age, why ? why : "");
		for (size_t i = 0; i < ent->nrcpts; i++)
			if (!queue_is_done(ent, ent->rcpts[i]))
				queue_mark_failed(ent, ent->rcpts[i], reason);
		left = 0;
	}
	if (!left) {
		if (ent->nfailed) {
			if (queue_save(q, ent, &e) < 0 || queue_move(q, ent, "failed", &e) < 0)
				log_warn("%s: %s", ent->id, e.text);
			send_bounce(q, d, &sa->a, sa->domain, ent);
		} else if (queue_remove(q, ent, &e) < 0) {
			log_warn("%s: %s", ent->id, e.text);
		}
		return;
	}
	ent->next = now + send_backoff(&sa->a, ent->attempts);
	if (queue_save(q, ent, &e) < 0)
		log_warn("%s: %s", ent->id, e.text);
}

/* One log file line per try of a queued message: what each recipient's fate was. */
static void send_log_try(const struct send_account *sa, const struct deliver *d,
			 const struct queue_entry *ent, const struct deliver_rcpt *r, size_t n,
			 const char *why)
{
	/* a recipient still pending was not tried: the connection failed before */
	static const char *const names[] = { "deferred", "sent", "deferred", "failed" };
	struct buf b;

	if (!sa->ok || !sa->a.logfile)
		return;
	buf_init(&b, 16384);
	if (buf_printf(&b, "queue-run id=%s host=%s auth=%s from=%s size=%lld attempt=%u",
		       ent->id, deliver_host(d), d->s.mech[0] ? d->s.mech : "off",
		       *ent->from ? ent->from : "<>", (long long)ent->size, ent->attempts + 1) < 0)
		err_oom();
	for (size_t i = 0; i < n; i++) {
		const char *reason = r[i].state == DELIVER_PENDING && why ? why : r[i].reason;

		if (buf_printf(&b, " rcpt=%s:%s:\"", r[i].addr, names[r[i].state]) < 0 ||
		    buf_add_clean(&b, reason, strlen(reason)) < 0 || buf_addch(&b, '"') < 0)
			break;
	}
	log_append(sa->a.logfile, b.data);
	buf_free(&b);
}

/* One try of one queued message over an open session (d may be closed: the try then fails
 * with `why`). */
static void send_try(struct queue *q, struct deliver *d, const struct send_account *sa,
		     struct queue_entry *ent, const char *why)
{
	struct deliver_rcpt *r = calloc(ent->nrcpts + 1, sizeof *r);
	struct deliver_item it = { .from = ent->from, .rcpts = r, .fd = ent->fd,
				   .offset = ent->offset, .size = ent->size,
				   .body_8bit = ent->body_8bit, .dsn_notify = ent->dsn_notify,
				   .dsn_ret = ent->dsn_ret, .dsn_envid = ent->dsn_envid };
	const char *deferred = why;
	struct err e = { 0 };

	if (!r)
		err_oom();
	for (size_t i = 0; i < ent->nrcpts; i++)
		if (!queue_is_done(ent, ent->rcpts[i]))
			r[it.nrcpts++] = (struct deliver_rcpt){ .addr = ent->rcpts[i] };
	if (d && d->open) {
		deliver_message(d, &it, &e);
		for (size_t i = 0; i < it.nrcpts; i++) {
			if (r[i].state == DELIVER_SENT)
				queue_mark_done(ent, r[i].addr);
			else if (r[i].state == DELIVER_FAILED)
				queue_mark_failed(ent, r[i].addr, r[i].reason);
			else if (deferred == why)
				deferred = r[i].reason;
		}
		for (size_t i = 0; i < it.nrcpts; i++)	/* sent to anyone: it counts, as in send_now */
			if (r[i].state == DELIVER_SENT) {
				if (sa->a.rate_limit)
					queue_rate_add(q, sa->a.name);
				break;
			}
		log_note("%s: tried", ent->id);
	}
	send_log_try(sa, d, ent, r, it.nrcpts, why);
	send_after_try(q, d, sa, ent, deferred);
	free(r);
}

/* Holds the lock of each due message; -1 when the queue cannot be read. */
static int send_collect(struct queue *q, const struct send_run_opts *o,
			struct queue_entry **out, size_t *n, struct err *e)
{
	char **ids;
	size_t nids;
	time_t now = time(NULL);

	*out = NULL;
	*n = 0;
	if (queue_list(q, "q", &ids, &nids, e) < 0)
		return -1;
	*out = calloc(nids + 1, sizeof **out);
	if (!*out)
		err_oom();
	for (size_t i = 0; i < nids && *n < SEND_RUN_MAX; i++) {
		struct queue_entry *ent = &(*out)[*n];
		struct err ge = { 0 };
		int r;

		if (o->id && strcmp(o->id, ids[i]) != 0)
			continue;
		r = queue_get(q, "q", ids[i], 1, ent, &ge);
		if (r < 0) {
			/* a damaged file is never sent: it goes where someone will look */
			log_warn("%s", ge.text);
			struct queue_entry bad = { .fd = -1 };

			snprintf(bad.id, sizeof bad.id, "%s", ids[i]);
			snprintf(bad.area, sizeof bad.area, "q");
			queue_move(q, &bad, "failed", &ge);
			continue;
		}
		if (r > 0)
			continue;
		if ((!o->id && ent->next > now) ||
		    (o->account && strcmp(o->account, ent->account) != 0)) {
			queue_put(ent);
			continue;
		}
		(*n)++;
	}
	queue_ids_free(ids, nids);
	return 0;
}

static int send_by_account(const void *a, const void *b)
{
	const struct queue_entry *x = a, *y = b;
	int r = strcmp(x->account, y->account);

	return r ? r : strcmp(x->id, y->id);
}

/* Runs the collected messages of one account over d (opened here when not open yet). */
static void send_account_run(const struct conf *c, struct queue *q, struct queue_entry *ents,
			     size_t n, struct deliver *d, long long deadline)
{
	struct send_account sa;
	struct err e = { 0 };
	const char *why = NULL;

	send_resolve(c, ents[0].account, !d->open, &sa);
	if (!sa.ok) {
		/* the account is gone or broken: keep trying on the defaults, so that fixing the
		 * configuration is enough, and give up only after the default lifetime */
		why = sa.err.text;
		conf_account_fallback(&sa.a, ents[0].account);
	}
	for (size_t i = 0; i < n; i++) {
		time_t oldest;

		if (deadline && net_now() > deadline)
			break;
		if (sa.ok && sa.a.rate_limit &&
		    queue_rate_count(q, sa.a.name, sa.a.rate_window, &oldest) >= sa.a.rate_limit) {
			ents[i].next = oldest + sa.a.rate_window;
			queue_save(q, &ents[i], &e);
			continue;
		}
		if (sa.ok && !d->open && !why) {
			if (deliver_open(d, &sa.a, sa.domain, sa.password, &e) < 0)
				why = e.text;
		}
		send_try(q, d, &sa, &ents[i], why);
	}
	explicit_bzero(sa.password, sizeof sa.password);
	deliver_close(d);
}

static void send_run_queue(const struct conf *c, struct queue *q, struct queue_entry *ents,
			   size_t n, struct deliver *open_session, long long deadline)
{
	struct deliver d = { 0 };

	qsort(ents, n, sizeof *ents, send_by_account);
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j < n && strcmp(ents[j].account, ents[i].account) == 0)
			j++;
		send_account_run(c, q, ents + i, j - i, open_session ? open_session : &d,
				 deadline);
		i = j;
	}
	for (size_t i = 0; i < n; i++)
		queue_put(&ents[i]);
}

int send_run(const struct conf *c, const struct send_run_opts *o, struct err *e)
{
	static char dirs[SEND_DIRS_MAX][4096];
	size_t ndirs = conf_queue_dirs(c, o->account, dirs, SEND_DIRS_MAX, e), total = 0;

	if (!ndirs)
		return -1;
	for (size_t i = 0; i < ndirs; i++) {
		struct queue_entry *ents;
		struct queue q;
		size_t n;

		/* a directory that does not exist has nothing to send */
		if (access(dirs[i], F_OK) < 0 && i > 0)
			continue;
		if (queue_open(&q, dirs[i], e) < 0 || send_collect(&q, o, &ents, &n, e) < 0)
			return -1;
		queue_clean_tmp(&q, 86400);
		send_run_queue(c, &q, ents, n, NULL, 0);
		free(ents);
		total += n;
	}
	if (o->id && !total)
		return err_set(e, ERR_USAGE, "no message %s in the queue (or it is being sent now)",
			       o->id);
	return 0;
}

/* ---- direct submission ---- */

int send_now(const struct conf *c, const struct account *a, const char *domain,
	     const char *password, const struct send_job *job, struct send_report *rep,
	     struct err *e)
{
	struct deliver_rcpt *r = calloc(job->nrcpts + 1, sizeof *r);
	char **deferred = calloc(job->nrcpts + 1, sizeof *deferred), id[QUEUE_ID_MAX];
	struct deliver_item it = { .from = job->from, .rcpts = r, .nrcpts = job->nrcpts,
				   .fd = job->fd, .size = job->size, .body_8bit = job->body_8bit,
				   .dsn_notify = job->dsn_notify, .dsn_ret = job->dsn_ret,
				   .dsn_envid = job->dsn_envid };
	struct queue_entry failed = { .fd = -1 };
	struct deliver d = { 0 };
	struct queue q;
	size_t ndeferred = 0, nfailed = 0, nsent = 0;
	const char *why = NULL;
	int queue_ok = 0, result = 0;
	time_t oldest, next = time(NULL) + a->queue_retry_min;
	char when[64];

	if (!r || !deferred)
		err_oom();
	for (size_t i = 0; i < job->nrcpts; i++)
		r[i].addr = job->rcpts[i];
	/* the queue is opened only when something needs it: a daemon whose home it cannot
	 * write still sends what the smarthost takes at once */
	if (a->rate_limit) {
		if (send_open_queue(c, a, 0, &q, e) < 0)
			goto out_err;
		queue_ok = 1;
	}
	if (a->rate_limit && (size_t)queue_rate_count(&q, a->name, a->rate_window, &oldest) >=
				     (size_t)a->rate_limit) {
		next = oldest + a->rate_window;
		snprintf(e->text, sizeof e->text, "the rate limit of %d per %s is reached; it goes "
			 "out at %s", a->rate_limit, a->rate_window == 3600 ? "hour" : "day",
			 send_when(next, when, sizeof when));
		why = e->text;
		for (size_t i = 0; i < job->nrcpts; i++)
			r[i].state = DELIVER_DEFERRED;
	} else if (deliver_open(&d, a, domain, password, e) < 0) {
		for (size_t i = 0; i < job->nrcpts; i++)
			r[i] = (struct deliver_rcpt){ .addr = job->rcpts[i],
						      .state = e->kind == ERR_TEMP ? DELIVER_DEFERRED
										   : DELIVER_FAILED,
						      .kind = e->kind };
		if (e->kind != ERR_TEMP)
			goto out_err;	/* a permanent failure before any transaction: say it */
		why = e->text;
	} else {
		deliver_message(&d, &it, e);
		snprintf(rep->reply, sizeof rep->reply, "%s", d.s.last);	/* before a flush */
	}
	for (size_t i = 0; i < job->nrcpts; i++) {
		if (r[i].state == DELIVER_SENT) {
			nsent++;
		} else if (r[i].state == DELIVER_DEFERRED) {
			deferred[ndeferred++] = job->rcpts[i];
			if (!why)
				why = r[i].reason;
		} else {
			nfailed++;
			queue_mark_failed(&failed, r[i].addr, r[i].reason);
		}
	}
	if (nsent && a->rate_limit && queue_ok)
		queue_rate_add(&q, a->name);
	if (ndeferred) {
		char reason[ERR_TEXT_MAX];

		snprintf(reason, sizeof reason, "%s", why ? why : "temporary failure");
		if (a->queue && !queue_ok)
			queue_ok = send_open_queue(c, a, 0, &q, e) == 0;
		if (!a->queue) {
			err_set(e, ERR_TEMP, "%s; try again later", reason);
			result = -1;
		} else if (!queue_ok || send_enqueue(&q, "q", a, job, deferred, ndeferred, next,
						     reason, NULL, id, e) < 0) {
			err_wrap(e, "could not deliver (%s) and could not queue the message", reason);
			e->kind = ERR_IO;
			result = -1;
		} else {
			log_error("queued as %s: %s; will retry", id, reason);
			snprintf(rep->queued, sizeof rep->queued, "%s", id);
			memset(e, 0, sizeof *e);	/* durably queued: that is success */
		}
	}
	if (nfailed) {
		size_t k = 0;

		/* every refused recipient on its own line; the last one is the error */
		for (size_t i = 0; i < job->nrcpts; i++) {
			if (r[i].state != DELIVER_FAILED)
				continue;
			if (++k < nfailed)
				log_error("%s", r[i].reason);
			else
				err_set(e, r[i].kind ? r[i].kind : ERR_UNAVAILABLE, "%s", r[i].reason);
		}
		struct err qe = { 0 };

		if (nsent && a->queue &&	/* the others got it: keep a copy for these */
		    (queue_ok || (queue_ok = send_open_queue(c, a, 0, &q, &qe) == 0))) {
			char **frcpts = calloc(nfailed + 1, sizeof *frcpts);
			size_t m = 0;

			if (!frcpts)
				err_oom();
			for (size_t i = 0; i < job->nrcpts; i++)
				if (r[i].state == DELIVER_FAILED)
					frcpts[m++] = job->rcpts[i];
			if (send_enqueue(&q, "failed", a, job, frcpts, m, 0, NULL, &failed, id, &qe) < 0)
				log_warn("cannot keep a copy in the failed area: %s", qe.text);
			free(frcpts);
		} else if (qe.kind) {
			log_warn("cannot keep a copy in the failed area: %s", qe.text);
		}
		result = -1;
	}
	if (!nfailed && !ndeferred && a->queue && a->queue_flush && d.open &&
	    (queue_ok || send_open_queue(c, a, 1, &q, &(struct err){ 0 }) == 0)) {
		/* the smarthost is up: send what waits for this account over the same session */
		struct send_run_opts ro = { .account = a->name };
		struct queue_entry *ents;
		size_t n;
		struct err re = { 0 };

		if (send_collect(&q, &ro, &ents, &n, &re) == 0) {
			if (n)
				send_run_queue(c, &q, ents, n, &d,
					       net_now() + SEND_FLUSH_SECONDS * 1000LL);
			free(ents);
		}
	}
	if (result == 0)
		memset(e, 0, sizeof *e);	/* sent or queued: nothing before that counts */
	goto out;
out_err:
	result = -1;
out:
	snprintf(rep->host, sizeof rep->host, "%s", deliver_host(&d));
	snprintf(rep->mech, sizeof rep->mech, "%s", d.s.mech);
	if (!rep->reply[0])
		snprintf(rep->reply, sizeof rep->reply, "%s", d.s.last);
	deliver_close(&d);
	for (size_t i = 0; i < failed.nfailed; i++)
		free(failed.failed[i]);
	free(failed.failed);
	free(r);
	free(deferred);
	return result;
}

/* ---- mailq and editing ---- */


static void send_list_area(struct queue *q, const char *area, size_t *count)
{
	char **ids, age[32], when[64];
	size_t n;
	struct err e = { 0 };

	if (queue_list(q, area, &ids, &n, &e) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		struct queue_entry ent;
		char from[1100];

		if (queue_get(q, area, ids[i], 0, &ent, &e) != 0)
			continue;
		send_age(ent.created, age, sizeof age);
		buf_clean_str(from, sizeof from, ent.from, strlen(ent.from));
		printf("%s%s  %6s  %9lld  <%s>\n", ent.id, strcmp(area, "hold") == 0 ? " (held)" : "",
		       age, (long long)ent.size, from);
		for (size_t k = 0; k < ent.nrcpts; k++) {
			char rc[1100];

			if (queue_is_done(&ent, ent.rcpts[k]))
				continue;
			buf_clean_str(rc, sizeof rc, ent.rcpts[k], strlen(ent.rcpts[k]));
			printf("    to <%s>\n", rc);
		}
		if (ent.attempts || ent.error) {
			char err[600];

			buf_clean_str(err, sizeof err, ent.error ? ent.error : "",
				      ent.error ? strlen(ent.error) : 0);
			printf("    attempts %u, next try %s%s%s\n", ent.attempts,
			       ent.next <= time(NULL) ? "now" : send_when(ent.next, when, sizeof when),
			       ent.error ? ", last error: " : "", err);
		}
		(*count)++;
		queue_put(&ent);
	}
	queue_ids_free(ids, n);
}

int send_list(const struct conf *c, const char *account, struct err *e)
{
	static char dirs[SEND_DIRS_MAX][4096];
	size_t ndirs = conf_queue_dirs(c, account, dirs, SEND_DIRS_MAX, e), count = 0, used = 0;
	const char *where = NULL;

	if (!ndirs)
		return -1;
	for (size_t i = 0; i < ndirs; i++) {
		struct queue q;
		size_t before = count;

		if (access(dirs[i], F_OK) < 0 && i > 0)
			continue;
		if (queue_open(&q, dirs[i], e) < 0)
			return -1;
		send_list_area(&q, "q", &count);
		send_list_area(&q, "hold", &count);
		if (count > before) {
			used++;
			where = dirs[i];
			if (ndirs > 1)
				printf("(in %s)\n", q.dir);
		}
	}
	if (!count)
		printf("The queue is empty.\n");
	else if (used == 1)
		printf("%zu message%s in the queue (%s).\n", count, count == 1 ? "" : "s", where);
	else
		printf("%zu messages in %zu queues.\n", count, used);
	return 0;
}

int send_edit(const struct conf *c, const char *account, enum send_edit what, const char *id,
	      struct err *e)
{
	static const char *const from_areas[] = { "q", "hold", NULL };
	static char dirs[SEND_DIRS_MAX][4096];
	size_t ndirs = conf_queue_dirs(c, account, dirs, SEND_DIRS_MAX, e);
	struct queue_entry ent;
	struct queue q;
	int r = 1;

	if (!ndirs)
		return -1;
	for (size_t i = 0; i < ndirs && r == 1; i++) {
		if (access(dirs[i], F_OK) < 0 && i > 0)
			continue;
		if (queue_open(&q, dirs[i], e) < 0)
			return -1;
		for (const char *const *area = from_areas; *area && r == 1; area++) {
			if ((what == SEND_HOLD && strcmp(*area, "q") != 0) ||
			    (what == SEND_RELEASE && strcmp(*area, "hold") != 0))
				continue;
			r = queue_get(&q, *area, id, 1, &ent, e);
		}
	}
	if (r < 0)
		return -1;
	if (r == 1)
		return err_set(e, ERR_USAGE, "no message %s %s (or it is being sent right now)", id,
			       what == SEND_RELEASE ? "is held" : "in the queue");
	if (what == SEND_DELETE)
		r = queue_remove(&q, &ent, e);
	else if (what == SEND_HOLD)
		r = queue_move(&q, &ent, "hold", e);
	else {
		ent.next = time(NULL);
		r = queue_move(&q, &ent, "q", e) < 0 || queue_save(&q, &ent, e) < 0 ? -1 : 0;
	}
	queue_put(&ent);
	return r;
}
