/* submit: deliver now, keep what cannot go now, flush the queue over the same session. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cred.h"
#include "deliver.h"
#include "log.h"
#include "net.h"
#include "queue.h"
#include "rate.h"
#include "runq.h"
#include "submit.h"

#define SUBMIT_FLUSH_SECONDS 30	/* how long a direct submission may spend on the queue after */

struct submit {
	const struct conf *c;
	const struct account *a;
	const struct envelope *env;
	const struct spool *sp;
	struct fate *fates;
	struct deliver *d;
	int borrowed;		/* d is the caller's (submit_over): not ours to close */
	struct queue q;
	int queue_ok;		/* q is open */
	time_t next;		/* when a queued message is tried again */
	struct cred cred;	/* the secret for AUTH */
	struct err qerr;	/* why the queue could not be opened */
};

/* The queue is opened only when something needs it: a daemon whose home it cannot write still
 * sends what the smarthost takes at once. */
static int submit_queue(struct submit *s)
{
	if (!s->queue_ok)
		s->queue_ok = runq_open_queue(s->a, 0, &s->q, &s->qerr) == 0;
	return s->queue_ok;
}

static void submit_all(struct submit *s, const struct fate *f)
{
	for (size_t i = 0; i < s->env->nrcpts; i++)
		s->fates[i] = *f;
}

/* The secret for AUTH, from the account's first host's point of view (~/.netrc, the prompt). */
static int submit_secret(struct submit *s, struct err *e)
{
	return cred_get(s->a, s->a->hosts[0], &s->cred, e);
}

struct deliver *submit_open(const struct account *a, struct cred *cred, struct fate *fate,
			    struct err *e)
{
	struct deliver *d = deliver_open(a, cred->secret, fate, e);
	struct err why;
	int r;

	if (d)
		return d;
	why = *e;
	r = cred_renew(a, &why, cred, e);
	if (r == 0)
		return NULL;
	if (r < 0) {
		*fate = (struct fate){ .state = e->kind == ERR_TEMP ? FATE_DEFERRED : FATE_FAILED,
				       .kind = e->kind };
		snprintf(fate->reason, sizeof fate->reason, "%s", e->text);
		return NULL;
	}
	return deliver_open(a, cred->secret, fate, e);
}

/* Whether the queue flush after this message could use the session: only when something is in
 * the queue at all. Otherwise QUIT goes with the message and no 221 is awaited. */
static int submit_may_flush(const struct submit *s)
{
	char dir[4200];
	DIR *d;
	struct dirent *de;
	int any = 0;

	if (!s->a->queue || !s->a->queue_flush)
		return 0;
	snprintf(dir, sizeof dir, "%s/%s", s->a->queue_dir, queue_area_name(QUEUE_Q));
	d = opendir(dir);
	if (!d)
		return errno != ENOENT;	/* cannot tell: keep the session */
	while (!any && (de = readdir(d)))
		any = de->d_name[0] != '.';
	closedir(d);
	return any;
}

/* The rate gate, then the session and the transfer: every recipient gets its fate. -1 when the
 * submission failed before any transaction for a reason that is not the recipients' (e). */
static int submit_try(struct submit *s, struct err *e)
{
	struct fate f = { .state = FATE_DEFERRED, .kind = ERR_TEMP };
	time_t next;

	if (s->a->rate_limit) {
		if (!submit_queue(s)) {
			*e = s->qerr;
			return -1;
		}
		if (rate_gate(&s->q, s->a, &next) < 0) {
			s->next = next;
			rate_reason(s->a, next, f.reason, sizeof f.reason);
			submit_all(s, &f);
			return 0;
		}
	}
	if (s->d && deliver_usable(s->d)) {
		deliver_message(s->d, s->env, s->sp, s->fates, e);
		return 0;
	}
	s->d = NULL;	/* a borrowed session that broke: a session of our own */
	s->borrowed = 0;
	if (submit_secret(s, e) < 0) {
		if (e->kind != ERR_TEMP)
			return -1;
		snprintf(f.reason, sizeof f.reason, "%s", e->text);
		submit_all(s, &f);	/* the queue run will ask again */
		return 0;
	}
	s->d = submit_open(s->a, &s->cred, &f, e);
	if (!s->d) {
		if (f.state != FATE_DEFERRED)
			return -1;	/* a permanent failure before any transaction: say it */
		submit_all(s, &f);
		return 0;
	}
	if (!submit_may_flush(s))
		deliver_last(s->d);
	deliver_message(s->d, s->env, s->sp, s->fates, e);
	return 0;
}

/* The recipients in state st, as a list (owned by the caller: free the array only). */
static char **submit_pick(const struct submit *s, enum fate_state st, size_t *n)
{
	char **v = calloc(s->env->nrcpts + 1, sizeof *v);

	if (!v)
		err_oom();
	*n = 0;
	for (size_t i = 0; i < s->env->nrcpts; i++)
		if (s->fates[i].state == st)
			v[(*n)++] = s->env->rcpts[i];
	return v;
}

/* The first reason among the recipients in state st. */
static const char *submit_reason(const struct submit *s, enum fate_state st)
{
	for (size_t i = 0; i < s->env->nrcpts; i++)
		if (s->fates[i].state == st && s->fates[i].reason[0])
			return s->fates[i].reason;
	return NULL;
}

/* Queues the deferred recipients. 0 when queued (or none), -1 with e. */
static int submit_defer(struct submit *s, struct submit_report *rep, struct err *e)
{
	size_t n;
	char **rcpts = submit_pick(s, FATE_DEFERRED, &n), id[QUEUE_ID_MAX], reason[ERR_TEXT_MAX];
	struct envelope env = *s->env;
	int r = 0;

	if (!n)
		goto out;
	snprintf(reason, sizeof reason, "%s", submit_reason(s, FATE_DEFERRED) ?: "temporary failure");
	env.rcpts = rcpts;
	env.nrcpts = n;
	struct queue_state st = { .attempts = 1, .next = s->next ? s->next : time(NULL) +
							 s->a->queue_retry_min,
				  .last = time(NULL), .error = reason };

	if (!s->a->queue) {
		r = err_set(e, ERR_TEMP, "%s; try again later", reason);
	} else if (!submit_queue(s)) {
		*e = s->qerr;
		r = err_wrap(e, "could not deliver (%s) and could not queue the message", reason);
		e->kind = ERR_IO;
	} else if (queue_add(&s->q, QUEUE_Q, s->a->name, &env, s->sp, &st, id, e) < 0) {
		r = err_wrap(e, "could not deliver (%s) and could not queue the message", reason);
		e->kind = ERR_IO;
	} else {
		log_error("queued as %s: %s; will retry", id, reason);
		snprintf(rep->queued, sizeof rep->queued, "%s", id);
	}
out:
	free(rcpts);
	return r;
}

/* The others got it: a copy for the refused recipients in the failed area, with the reasons. */
static void submit_keep_failed(struct submit *s)
{
	size_t n, k = 0;
	char **rcpts = submit_pick(s, FATE_FAILED, &n), id[QUEUE_ID_MAX];
	struct envelope env = *s->env;
	struct queue_state st = { .attempts = 1, .last = time(NULL) };
	struct err e = { 0 };

	st.fates = calloc(n + 1, sizeof *st.fates);
	if (!st.fates)
		err_oom();
	for (size_t i = 0; i < s->env->nrcpts; i++)
		if (s->fates[i].state == FATE_FAILED)
			st.fates[k++] = s->fates[i];
	env.rcpts = rcpts;
	env.nrcpts = n;
	if (!submit_queue(s))
		log_warn("cannot keep a copy in the failed area: %s", s->qerr.text);
	else if (queue_add(&s->q, QUEUE_FAILED, s->a->name, &env, s->sp, &st, id, &e) < 0)
		log_warn("cannot keep a copy in the failed area: %s", e.text);
	free(st.fates);
	free(rcpts);
}

/* Every refused recipient on its own line, a reason they share (a refused sender) once; the
 * last one is the error. */
static void submit_report_failed(struct submit *s, struct err *e)
{
	const char *last = NULL;

	for (size_t i = 0; i < s->env->nrcpts; i++) {
		const struct fate *f = &s->fates[i];

		if (f->state != FATE_FAILED || (last && strcmp(last, f->reason) == 0))
			continue;
		if (last)
			log_error("%s", last);
		last = f->reason;
		err_set(e, f->kind ? f->kind : ERR_UNAVAILABLE, "%s", f->reason);
	}
}

int submit(const struct conf *c, const struct account *a, const struct envelope *env,
	   const struct spool *sp, struct submit_report *rep, struct err *e)
{
	return submit_over(c, a, NULL, env, sp, rep, e);
}

int submit_over(const struct conf *c, const struct account *a, struct deliver *d,
		const struct envelope *env, const struct spool *sp, struct submit_report *rep,
		struct err *e)
{
	struct submit s = { .c = c, .a = a, .env = env, .sp = sp, .d = d, .borrowed = d != NULL,
			    .fates = calloc(env->nrcpts + 1, sizeof *s.fates) };
	size_t nsent = 0, nfailed = 0;
	int result = 0, keep;

	if (!s.fates)
		err_oom();
	if (submit_try(&s, e) < 0) {
		result = -1;
		goto out;
	}
	for (size_t i = 0; i < env->nrcpts; i++) {
		nsent += s.fates[i].state == FATE_SENT;
		nfailed += s.fates[i].state == FATE_FAILED;
	}
	/* a message sent while it was read: one not all read (the smarthost refused or failed part
	 * way) is read to the end, and all of it goes into the spool file when the queue is to have
	 * it (not for recipients that were sent it or refused it, nor without a queue); one that
	 * cannot be read to the end goes nowhere */
	keep = a->queue && (nsent + nfailed < env->nrcpts || (nsent && nfailed));
	if (sp->more && (sp->reading || keep) && sp->more(sp, 0, -1, e) < 0) {
		result = -1;
		goto out;
	}
	snprintf(rep->reply, sizeof rep->reply, "%s", deliver_last_reply(s.d));	/* before a flush */
	if (nsent && a->rate_limit && submit_queue(&s))
		rate_count(&s.q, a);
	result = submit_defer(&s, rep, e);
	if (nfailed) {
		submit_report_failed(&s, e);
		if (nsent && a->queue)
			submit_keep_failed(&s);
		result = -1;
	}
	/* the smarthost took everything: send what waits over the same session (not when this
	 * message was just queued: it is not due, and the flush would only try it again) */
	if (nsent == env->nrcpts && a->queue && a->queue_flush && deliver_usable(s.d) &&
	    (s.queue_ok || runq_open_queue(a, 1, &s.q, &(struct err){ 0 }) == 0))
		runq_flush(c, a, &s.q, s.d, net_now() + SUBMIT_FLUSH_SECONDS * 1000LL);
	if (result == 0)
		memset(e, 0, sizeof *e);	/* sent or queued: nothing before that counts */
out:
	snprintf(rep->host, sizeof rep->host, "%s", *deliver_host(s.d) ? deliver_host(s.d) : "");
	snprintf(rep->mech, sizeof rep->mech, "%s", deliver_mech(s.d));
	if (!rep->reply[0])
		snprintf(rep->reply, sizeof rep->reply, "%s", deliver_last_reply(s.d));
	if (!s.borrowed)
		deliver_close(s.d);
	cred_wipe(&s.cred);
	free(s.fates);
	return result;
}
