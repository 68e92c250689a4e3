/* runq: the queue run, message by message, one session per account. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cred.h"
#include "dropbox.h"
#include "log.h"
#include "msg.h"
#include "net.h"
#include "rate.h"
#include "runq.h"
#include "submit.h"
#include "caps.h"

#define RUNQ_TMP_AGE 86400	/* what a killed writer left in tmp/ goes after a day */

/* ---- the queue directories ---- */

size_t runq_dirs(const struct conf *c, const char *account, char (*dirs)[4096], struct err *e)
{
	return conf_queue_dirs(c, account, dirs, RUNQ_DIRS_MAX, e);
}

int runq_open_queue(const struct account *a, int existing, struct queue *q, struct err *e)
{
	if (existing && access(a->queue_dir, F_OK) < 0)
		return err_set(e, ERR_IO, "no queue directory %s", a->queue_dir);
	return queue_open(q, a->queue_dir, e);
}

/* ---- one account's session ---- */

struct runq_account {
	struct account a;
	struct cred cred;
	int ok;			/* resolved; else why not is in err */
	struct err err;
	struct deliver *d;	/* open session, or NULL */
	int borrowed;		/* d belongs to the caller */
	const char *why;	/* why there is no session: every try fails with it */
	int force;		/* -qI, -q: try it even when it is not due */
	struct err open_err;
};

/* The account a queued message names. A blank one with the built-in queue timing when it is
 * gone or broken: fixing the configuration is then enough, and the message is given up only
 * after the default lifetime. */
static void runq_resolve(const struct conf *c, const char *name, struct runq_account *ra)
{
	memset(ra, 0, sizeof *ra);
	if (conf_account(c, name, NULL, &ra->a, &ra->err) == 0) {
		ra->ok = 1;
		return;
	}
	ra->why = ra->err.text;
	conf_account_fallback(&ra->a, name);
}

/* Opens the session on first need: the password is fetched then, before any message is locked,
 * and only once per run. */
static void runq_session(struct runq_account *ra)
{
	struct fate f;

	if (ra->d || ra->why || !ra->ok)
		return;
	if (cred_get(&ra->a, ra->a.hosts[0], &ra->cred, &ra->open_err) < 0) {
		ra->why = ra->open_err.text;
		return;
	}
	ra->d = submit_open(&ra->a, &ra->cred, &f, &ra->open_err);
	if (!ra->d)
		ra->why = ra->open_err.text;
}

static void runq_end_session(struct runq_account *ra)
{
	cred_wipe(&ra->cred);
	if (!ra->borrowed)
		deliver_close(ra->d);
	ra->d = NULL;
}

/* ---- one message ---- */

static time_t runq_backoff(const struct account *a, unsigned attempts)
{
	long d = a->queue_retry_min;

	for (unsigned i = 1; i < attempts && d < a->queue_retry_max; i++)
		d *= 2;
	return d > a->queue_retry_max ? a->queue_retry_max : d;
}

/* How long ago t was: "5m", "3h07m", "2d04h". */
void runq_age(time_t t, char *out, size_t size)
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

/* Tells the sender of ent which recipients failed and why: over the session when it is open,
 * queued otherwise. Nothing for the null sender. */
static void runq_bounce(struct queue *q, struct runq_account *ra, const struct queue_entry *ent)
{
	size_t n = 0, nr = ent->env.nrcpts;
	const char **addrs = calloc(nr + 1, sizeof *addrs), **reasons = calloc(nr + 1, sizeof *reasons);
	char *to[1] = { (char *)ent->env.from }, id[QUEUE_ID_MAX];
	struct envelope env = { .from = "", .rcpts = to, .nrcpts = 1 };
	struct fate f = { 0 };
	struct spool sp;
	struct err e = { 0 };

	if (!addrs || !reasons)
		err_oom();
	for (size_t i = 0; i < nr; i++)
		if (queue_fate(ent, i) == FATE_FAILED) {
			addrs[n] = ent->env.rcpts[i];
			reasons[n++] = ent->st.fates[i].reason;
		}
	struct msg_bounce b = { .to = ent->env.from, .id = ent->id, .domain = ra->a.domain ? ra->a.domain : "localhost",
				.addrs = addrs, .reasons = reasons, .n = n, .orig = &ent->spool };

	if (!*ent->env.from || !n || msg_bounce(&b, &sp, &e) < 0) {
		if (e.kind)
			log_warn("cannot write a bounce for %s: %s", ent->id, e.text);
		goto out;
	}
	if (deliver_usable(ra->d) && deliver_message(ra->d, &env, &sp, &f, &e) == 0 &&
	    f.state == FATE_SENT) {
		log_note("bounce for %s sent to <%s>", ent->id, ent->env.from);
	} else if (f.state != FATE_FAILED) {
		struct queue_state st = { .attempts = 1, .next = time(NULL), .last = time(NULL),
					  .error = f.reason[0] ? f.reason : NULL };

		if (queue_add(q, QUEUE_Q, ra->a.name, &env, &sp, &st, id, &e) < 0)
			log_warn("cannot queue a bounce for %s: %s", ent->id, e.text);
	} else {
		log_warn("the bounce for %s was refused: %s", ent->id, f.reason);
	}
	close(sp.fd);
out:
	free(addrs);
	free(reasons);
}

/* The state could not be written after a try: the record of who has the message is lost, so
 * the message must not go out again on its own. */
static void runq_unrecorded(struct queue *q, struct queue_entry *ent, const struct err *why)
{
	struct err e;

	if (ent->area == QUEUE_Q && queue_move(q, ent, QUEUE_HOLD, &e) == 0)
		log_error("%s: %s; the message is held so that it is not sent again: see mailq, then "
			  "postbote --queue-release %s once the queue can be written", ent->id,
			  why->text, ent->id);
	else
		log_error("%s: %s", ent->id, why->text);
}

/* Gives ent up: failed/ first (durably), then the bounce, once. */
static void runq_give_up(struct queue *q, struct runq_account *ra, struct queue_entry *ent)
{
	struct err e = { 0 };

	if (queue_save(q, ent, &e) < 0) {
		runq_unrecorded(q, ent, &e);
		return;
	}
	if (queue_move(q, ent, QUEUE_FAILED, &e) < 0) {
		log_warn("%s: %s", ent->id, e.text);
		return;
	}
	runq_bounce(q, ra, ent);
}

/* After a try: gives the message up when it is too old, else sets when to try next. */
static void runq_after(struct queue *q, struct runq_account *ra, struct queue_entry *ent,
		       const char *why)
{
	time_t now = time(NULL);
	size_t left = 0, failed = 0;
	struct err e = { 0 };

	for (size_t i = 0; i < ent->env.nrcpts; i++) {
		left += !fate_final(queue_fate(ent, i));
		failed += queue_fate(ent, i) == FATE_FAILED;
	}
	ent->st.attempts++;
	ent->st.last = now;
	if (left && why) {
		free(ent->st.error);
		ent->st.error = xstrdup(why);
	}
	if (left && now - ent->created >= ra->a.queue_lifetime) {
		struct fate f = { .state = FATE_FAILED, .kind = ERR_UNAVAILABLE };
		char age[32];

		runq_age(ent->created, age, sizeof age);
		snprintf(f.reason, sizeof f.reason, "gave up after %u tries in %s: %.300s",
			 ent->st.attempts, age, why ? why : "");
		for (size_t i = 0; i < ent->env.nrcpts; i++)
			if (!fate_final(queue_fate(ent, i)))
				queue_set_fate(ent, i, &f), failed++;
		left = 0;
	}
	if (!left && failed) {
		runq_give_up(q, ra, ent);
	} else if (!left) {
		if (queue_remove(q, ent, &e) < 0)
			log_warn("%s: %s", ent->id, e.text);
	} else {
		ent->st.next = now + runq_backoff(&ra->a, ent->st.attempts);
		if (queue_save(q, ent, &e) < 0)
			runq_unrecorded(q, ent, &e);
	}
}

/* One line per try of a queued message, in the log file and syslog: what each recipient tried
 * became. */
static void runq_log_try(const struct runq_account *ra, const struct queue_entry *ent,
			 const struct fate *f, const unsigned char *tried, const char *why)
{
	struct log_dest d = { .logfile = ra->a.logfile, .syslog = ra->a.syslog };
	struct log_rcpt *r;
	struct log_try t = {
		.id = ent->id, .host = deliver_host(ra->d),
		.auth = *deliver_mech(ra->d) ? deliver_mech(ra->d) : "off", .from = ent->env.from,
		.size = (long long)ent->spool.size, .attempt = ent->st.attempts + 1,
	};

	if (!ra->ok || (!d.logfile && !d.syslog))
		return;
	r = calloc(ent->env.nrcpts + 1, sizeof *r);
	if (!r)
		err_oom();
	for (size_t i = 0; i < ent->env.nrcpts; i++) {
		/* a recipient still pending was not tried: the connection failed before */
		int pending = f[i].state == FATE_PENDING;

		if (!tried[i])
			continue;
		r[t.nrcpts++] = (struct log_rcpt){
			.addr = ent->env.rcpts[i],
			.state = pending ? "deferred" : fate_name(f[i].state),
			.reason = pending && why ? why : f[i].reason,
		};
	}
	t.rcpts = r;
	log_try(&d, &t);
	free(r);
}

/* -q -v: one line per message tried, with its outcome. */
static void runq_say(const struct queue_entry *ent, const struct fate *f,
		     const unsigned char *tried, const char *why)
{
	size_t n[FATE_NEXT + 1] = { 0 };

	for (size_t i = 0; i < ent->env.nrcpts; i++)
		if (tried[i])
			n[f[i].state == FATE_PENDING ? FATE_DEFERRED : f[i].state]++;
	if (!n[FATE_SENT] && !n[FATE_FAILED]) {
		log_note("%s: deferred for %zu recipient%s: %s", ent->id, n[FATE_DEFERRED],
			 n[FATE_DEFERRED] == 1 ? "" : "s", why ? why : "temporary failure");
		return;
	}
	log_note("%s: sent to %zu, deferred for %zu, failed for %zu recipient%s%s%s", ent->id,
		 n[FATE_SENT], n[FATE_DEFERRED], n[FATE_FAILED],
		 n[FATE_FAILED] == 1 ? "" : "s", n[FATE_DEFERRED] && why ? ": " : "",
		 n[FATE_DEFERRED] && why ? why : "");
}

/* One try of one locked message over the account's session (or, without one, a try that fails
 * with why). */
static void runq_try(struct queue *q, struct runq_account *ra, struct queue_entry *ent)
{
	size_t n = ent->env.nrcpts;
	struct fate *f = calloc(n + 1, sizeof *f);
	unsigned char *tried = calloc(n + 1, 1);
	const char *why = ra->why;
	struct err e = { 0 };

	if (!f || !tried)
		err_oom();
	if (!why && !deliver_usable(ra->d))
		why = "the connection to the smarthost was lost earlier in this queue run";
	for (size_t i = 0; i < n; i++) {
		enum fate_state st = queue_fate(ent, i);

		tried[i] = !fate_final(st);
		f[i] = tried[i] ? (struct fate){ .state = FATE_PENDING } : ent->st.fates[i];
	}
	if (deliver_usable(ra->d)) {
		int sent = 0;

		deliver_message(ra->d, &ent->env, &ent->spool, f, &e);
		why = NULL;
		for (size_t i = 0; i < n; i++) {
			if (!tried[i])
				continue;
			if (f[i].state != FATE_PENDING)
				queue_set_fate(ent, i, &f[i]);
			if (f[i].state == FATE_DEFERRED && !why)
				why = f[i].reason;
			sent |= f[i].state == FATE_SENT;
		}
		if (sent)	/* sent to anyone: it counts, as in a direct submission */
			rate_count(q, &ra->a);
	} else {
		struct fate d = { .state = FATE_DEFERRED, .kind = ERR_TEMP };

		snprintf(d.reason, sizeof d.reason, "%s", why);
		for (size_t i = 0; i < n; i++)
			if (tried[i])
				queue_set_fate(ent, i, &d);
	}
	runq_log_try(ra, ent, f, tried, why);
	runq_say(ent, f, tried, why);
	runq_after(q, ra, ent, why);
	free(f);
	free(tried);
}

/* A damaged file is never sent: it goes where someone will look. An error opening or reading
 * one (no descriptors, no memory, EIO) is not damage: it waits for the next run. */
static void runq_damaged(struct queue *q, const char *id, const struct err *ge)
{
	struct queue_entry bad = { .area = QUEUE_Q, .spool.fd = -1 };
	struct err e;

	if (ge->kind != ERR_DATA) {
		log_warn("%s; it stays in the queue for the next run", ge->text);
		return;
	}
	log_warn("%s; moved to the failed area", ge->text);
	snprintf(bad.id, sizeof bad.id, "%s", id);
	if (queue_move(q, &bad, QUEUE_FAILED, &e) < 0)
		log_warn("%s", e.text);
}

/* One message: locked and opened only now, so that a run holds one at a time, and never while
 * it waits for a password or a server. */
static void runq_one(struct queue *q, struct runq_account *ra, const char *id)
{
	struct queue_entry ent;
	struct err e = { 0 };
	time_t next = 0;
	int gated = ra->ok && rate_gate(q, &ra->a, &next) < 0, r;

	if (!gated)
		runq_session(ra);
	r = queue_get(q, QUEUE_Q, id, 1, &ent, &e);
	if (r != 0) {
		if (r < 0)
			runq_damaged(q, id, &e);
		return;
	}
	if (!ra->force && ent.st.next > time(NULL)) {
		/* another runner tried it since this one looked */
	} else if (gated) {
		ent.st.next = next;
		if (queue_save(q, &ent, &e) < 0)
			log_warn("%s: %s", ent.id, e.text);
	} else {
		runq_try(q, ra, &ent);
	}
	queue_release(&ent);
}

/* What the run will work on: the id and account of each due message. */
struct runq_item {
	char id[QUEUE_ID_MAX];
	char *account;
};

static int runq_by_account(const void *a, const void *b)
{
	const struct runq_item *x = a, *y = b;
	int r = strcmp(x->account, y->account);

	return r ? r : strcmp(x->id, y->id);
}

/* The due messages (all with -qI's id), in account order. Each is looked at under its lock and
 * closed again at once. */
static size_t runq_collect(struct queue *q, const struct runq_opts *o, struct runq_item **out,
			   struct err *e)
{
	time_t now = time(NULL);
	size_t nids, n = 0;
	char **ids;

	*out = NULL;
	if (queue_list(q, QUEUE_Q, &ids, &nids, e) < 0)
		return (size_t)-1;
	*out = calloc(nids + 1, sizeof **out);
	if (!*out)
		err_oom();
	for (size_t i = 0; i < nids && n < RUNQ_MAX; i++) {
		struct queue_entry ent;
		struct err ge = { 0 };
		int r;

		if (o->id && strcmp(o->id, ids[i]) != 0)
			continue;
		r = queue_get(q, QUEUE_Q, ids[i], 1, &ent, &ge);
		if (r < 0)
			runq_damaged(q, ids[i], &ge);
		if (r != 0)
			continue;
		if ((o->id || o->all || ent.st.next <= now) &&
		    (!o->account || strcmp(o->account, ent.account) == 0)) {
			snprintf((*out)[n].id, sizeof (*out)[n].id, "%s", ent.id);
			(*out)[n++].account = xstrdup(ent.account);
		}
		queue_release(&ent);
	}
	queue_ids_free(ids, nids);
	qsort(*out, n, sizeof **out, runq_by_account);
	return n;
}

/* Runs the items of one account, over `open` when the caller has a session. */
static void runq_account(const struct conf *c, struct queue *q, struct runq_item *it, size_t n,
			 struct deliver *open, const struct account *a, const struct runq_opts *o)
{
	struct runq_account ra;
	long long deadline = o->deadline;

	runq_resolve(c, it[0].account, &ra);
	ra.force = o->id != NULL || o->all;
	if (open) {
		ra.a = *a;
		ra.d = open;
		ra.borrowed = 1;
	}
	for (size_t i = 0; i < n && (!deadline || net_now() <= deadline); i++)
		runq_one(q, &ra, it[i].id);
	runq_end_session(&ra);
}

static void runq_items(const struct conf *c, struct queue *q, struct runq_item *it, size_t n,
		       struct deliver *open, const struct account *a, const struct runq_opts *o)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j < n && strcmp(it[j].account, it[i].account) == 0)
			j++;
		runq_account(c, q, it + i, j - i, open, a, o);
		i = j;
	}
	for (size_t i = 0; i < n; i++)
		free(it[i].account);
	free(it);
}

int runq(const struct conf *c, const struct runq_opts *o, struct err *e)
{
	static char dirs[RUNQ_DIRS_MAX][4096];
	size_t ndirs = runq_dirs(c, o->account, dirs, e), total = 0;

	if (!ndirs)
		return -1;
	/* local users' messages first, so that this run sends them (-qI names one queued already) */
	if (geteuid() == 0 && !o->id)
		dropbox_pickup(c);
	for (size_t i = 0; i < ndirs; i++) {
		struct runq_item *it;
		struct queue q;
		size_t n;

		/* a directory that does not exist has nothing to send */
		if (access(dirs[i], F_OK) < 0 && i > 0)
			continue;
		if (queue_open(&q, dirs[i], e) < 0)
			return -1;
		n = runq_collect(&q, o, &it, e);
		if (n == (size_t)-1)
			return -1;
		queue_clean_tmp(&q, RUNQ_TMP_AGE);
		queue_prune(&q, QUEUE_FAILED, RUNQ_FAILED_KEEP);
		runq_items(c, &q, it, n, NULL, NULL, o);
		total += n;
	}
	if (o->id && !total)
		return err_set(e, ERR_USAGE, "no message %s in the queue (or it is being sent now)",
			       o->id);
	return 0;
}

void runq_flush(const struct conf *c, const struct account *a, struct queue *q, struct deliver *d,
		long long deadline)
{
	struct runq_opts o = { .account = a->name, .deadline = deadline };
	struct runq_item *it;
	struct err e = { 0 };
	size_t n = runq_collect(q, &o, &it, &e);

	if (n == (size_t)-1)
		return;
	runq_items(c, q, it, n, d, a, &o);
}
