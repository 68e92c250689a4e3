/* mailq: the queue as the user sees it, and the commands that change it. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "mailq.h"
#include "queue.h"
#include "runq.h"

static const char *mailq_when(time_t t, char *out, size_t size)
{
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(out, size, "%Y-%m-%d %H:%M:%S", &tm);
	return out;
}

static void mailq_head(const struct queue_entry *ent)
{
	static const char *const marks[] = { [QUEUE_Q] = "", [QUEUE_HOLD] = " (held)",
					     [QUEUE_FAILED] = " (given up)" };
	char age[32], from[1100];

	runq_age(ent->created, age, sizeof age);
	buf_clean_str(from, sizeof from, ent->env.from, strlen(ent->env.from));
	printf("%s%s  %6s  %9lld  <%s>\n", ent->id, marks[ent->area], age,
	       (long long)ent->spool.size, from);
}

/* One message: its recipients still waiting (or, in the failed area, given up with the reason),
 * its tries. */
static void mailq_entry(const struct queue_entry *ent)
{
	char when[64];

	mailq_head(ent);
	for (size_t k = 0; k < ent->env.nrcpts; k++) {
		enum fate_state st = queue_fate(ent, k);
		char rc[1100], why[1100];

		if (ent->area == QUEUE_FAILED ? st == FATE_SENT : fate_final(st))
			continue;
		buf_clean_str(rc, sizeof rc, ent->env.rcpts[k], strlen(ent->env.rcpts[k]));
		if (ent->area != QUEUE_FAILED || st != FATE_FAILED) {
			printf("    to <%s>\n", rc);
			continue;
		}
		buf_clean_str(why, sizeof why, ent->st.fates[k].reason, strlen(ent->st.fates[k].reason));
		printf("    to <%s>: %s\n", rc, why);
	}
	if (ent->area != QUEUE_FAILED && (ent->st.attempts || ent->st.error)) {
		char err[600];

		buf_clean_str(err, sizeof err, ent->st.error ? ent->st.error : "",
			      ent->st.error ? strlen(ent->st.error) : 0);
		printf("    attempts %u, next try %s%s%s\n", ent->st.attempts,
		       ent->st.next <= time(NULL) ? "now"
						  : mailq_when(ent->st.next, when, sizeof when),
		       ent->st.error ? ", last error: " : "", err);
	}
}

static void mailq_area(struct queue *q, enum queue_area area, size_t *count)
{
	struct err e = { 0 };
	char **ids;
	size_t n;

	if (queue_list(q, area, &ids, &n, &e) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		struct queue_entry ent;
		int r = queue_get(q, area, ids[i], 0, &ent, &e);

		if (r == 0)
			mailq_entry(&ent);
		else if (r < 0 && area == QUEUE_FAILED)	/* set aside because it was damaged */
			printf("%s (given up)  %s\n", ids[i], e.text);
		if (r == 0 || (r < 0 && area == QUEUE_FAILED))
			(*count)++;
		queue_release(&ent);
	}
	queue_ids_free(ids, n);
}

/* The last line: what a person or a monitor reads first. */
static void mailq_summary(size_t count, size_t used, const char *where, size_t failed)
{
	char tail[160] = ".";

	if (failed)
		snprintf(tail, sizeof tail, "; %zu given up, in the failed area (listed above; each "
			 "kept %d days).", failed, RUNQ_FAILED_KEEP / 86400);
	if (!count)
		printf("The queue is empty%s\n", tail);
	else if (used == 1)
		printf("%zu message%s in the queue (%s)%s\n", count, count == 1 ? "" : "s", where, tail);
	else
		printf("%zu messages in %zu queues%s\n", count, used, tail);
}

int mailq_list(const struct conf *c, const char *account, struct err *e)
{
	static char dirs[RUNQ_DIRS_MAX][4096];
	size_t ndirs = runq_dirs(c, account, dirs, e), count = 0, used = 0, failed = 0;
	const char *where = NULL;

	if (!ndirs)
		return -1;
	for (size_t i = 0; i < ndirs; i++) {
		struct queue q;
		size_t before = count, fbefore = failed;

		if (access(dirs[i], F_OK) < 0 && i > 0)
			continue;
		if (queue_open(&q, dirs[i], e) < 0)
			return -1;
		mailq_area(&q, QUEUE_Q, &count);
		mailq_area(&q, QUEUE_HOLD, &count);
		mailq_area(&q, QUEUE_FAILED, &failed);
		if (count > before) {
			used++;
			where = dirs[i];
		}
		if (ndirs > 1 && (count > before || failed > fbefore))
			printf("(in %s)\n", q.dir);
	}
	mailq_summary(count, used, where, failed);
	return 0;
}

/* Finds id (locked) in the areas the edit may take it from. 0, 1 when it is not there. */
static int mailq_find(const struct conf *c, const char *account, enum mailq_edit what,
		      const char *id, struct queue *q, struct queue_entry *ent, struct err *e)
{
	static char dirs[RUNQ_DIRS_MAX][4096];
	size_t ndirs = runq_dirs(c, account, dirs, e);
	int r = 1;

	if (!ndirs)
		return -1;
	for (size_t i = 0; i < ndirs && r == 1; i++) {
		if (access(dirs[i], F_OK) < 0 && i > 0)
			continue;
		if (queue_open(q, dirs[i], e) < 0)
			return -1;
		if (what != MAILQ_RELEASE)
			r = queue_get(q, QUEUE_Q, id, 1, ent, e);
		if (r == 1 && what != MAILQ_HOLD)
			r = queue_get(q, QUEUE_HOLD, id, 1, ent, e);
	}
	return r;
}

int mailq_edit(const struct conf *c, const char *account, enum mailq_edit what, const char *id,
	       struct err *e)
{
	struct queue_entry ent;
	struct queue q;
	int r = mailq_find(c, account, what, id, &q, &ent, e);

	if (r < 0)
		return -1;
	if (r == 1)
		return err_set(e, ERR_USAGE, "no message %s %s (or it is being sent right now)", id,
			       what == MAILQ_RELEASE ? "is held" : "in the queue");
	if (what == MAILQ_DELETE) {
		r = queue_remove(&q, &ent, e);
	} else if (what == MAILQ_HOLD) {
		r = queue_move(&q, &ent, QUEUE_HOLD, e);
	} else {
		ent.st.next = time(NULL);
		r = queue_move(&q, &ent, QUEUE_Q, e) < 0 || queue_save(&q, &ent, e) < 0 ? -1 : 0;
	}
	queue_release(&ent);
	return r;
}
