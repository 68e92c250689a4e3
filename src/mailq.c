/* mailq: the queue as the user (or a monitor) sees it, and the commands that change it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "dropbox.h"
#include "log.h"
#include "mailq.h"
#include "queue.h"
#include "runq.h"

/* ---- one entry, as text and as JSON ---- */

/* Postfix's layout for its long queue ids (ours are longer still; the columns after the id
 * then move right, as Postfix's do with a long id): id and mark, size, arrival, address. */
#define MAILQ_ROW "%-17s %8s %-19s "
#define MAILQ_REASON_COL 76	/* a reason ends here, right-aligned, as in Postfix */

int mailq_text_heading(struct buf *b)
{
	return buf_printf(b, MAILQ_ROW "%s\n", "----Queue ID-----", "--Size--",
			  "---Arrival Time----", "--Sender/Recipient------");
}

static int mailq_add_clean(struct buf *b, const char *s)
{
	return buf_add_clean(b, s, strlen(s));
}

/* "(reason)" on a line of its own, ending at MAILQ_REASON_COL when it is short enough. */
static int mailq_text_reason(struct buf *b, const char *reason)
{
	size_t start = b->len, n;
	int r = buf_addch(b, '(') < 0 || mailq_add_clean(b, reason) < 0 || buf_addch(b, ')') < 0;

	n = b->len - start;
	if (!r && n < MAILQ_REASON_COL) {
		size_t pad = MAILQ_REASON_COL - n;

		r = buf_printf(b, "%*s", (int)pad, "") < 0;
		if (!r) {	/* the padding goes before the text just written */
			memmove(b->data + start + pad, b->data + start, n);
			memset(b->data + start, ' ', pad);
		}
	}
	return r || buf_addch(b, '\n') < 0 ? -1 : 0;
}

int mailq_text_entry(struct buf *b, const struct mailq_item *it)
{
	const char *mark = strcmp(it->queue_name, "active") == 0 ? "*"
			   : strcmp(it->queue_name, "hold") == 0 ? "!" : "";
	char idm[QUEUE_ID_MAX + 2], size[32], when[32] = "??";
	const char *last = "";
	struct tm tm;

	snprintf(idm, sizeof idm, "%s%s", it->id, mark);
	snprintf(size, sizeof size, "%lld", it->size);
	if (it->arrival && localtime_r(&it->arrival, &tm))
		strftime(when, sizeof when, "%a %b %e %H:%M:%S", &tm);
	if (buf_printf(b, "%-17s %8s %-19s ", idm, size, when) < 0 ||
	    mailq_add_clean(b, *it->sender ? it->sender : "MAILER-DAEMON") < 0 ||
	    buf_addch(b, '\n') < 0 || (it->error && mailq_text_reason(b, it->error) < 0))
		return -1;
	for (size_t i = 0; i < it->nrcpts; i++) {
		const struct mailq_rcpt *r = &it->rcpts[i];

		/* a reason once for the recipients that share it, as Postfix does */
		if (strcmp(r->reason, last) != 0 &&
		    mailq_text_reason(b, *r->reason ? r->reason : "reason unavailable") < 0)
			return -1;
		last = r->reason;
		if (buf_printf(b, MAILQ_ROW, "", "", "") < 0 || mailq_add_clean(b, r->address) < 0 ||
		    buf_addch(b, '\n') < 0)
			return -1;
	}
	return 0;
}

int mailq_text_summary(struct buf *b, size_t count, long long bytes)
{
	if (!count)
		return buf_addstr(b, "Mail queue is empty\n");
	return buf_printf(b, "\n-- %lld Kbytes in %zu Request%s.\n", bytes / 1024, count,
			  count == 1 ? "" : "s");
}

/* The length of the valid UTF-8 sequence at s (n bytes left), or 0 when there is none: no
 * overlong forms, no surrogates, nothing above U+10FFFF (RFC 3629). */
static size_t mailq_utf8_len(const unsigned char *s, size_t n)
{
	size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
	unsigned long cp;

	if (s[0] < 0xc2 || s[0] > 0xf4 || n < len)
		return 0;
	cp = s[0] & (0x3f >> (len - 1));
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* A JSON string (RFC 8259 section 7) of any bytes. */
static int mailq_json_str(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	if (buf_addch(b, '"') < 0)
		return -1;
	for (size_t i = 0; i < n;) {
		size_t k = p[i] >= 0x80 ? mailq_utf8_len(p + i, n - i) : 1;
		int r;

		if (p[i] >= 0x80 && k)
			r = buf_add(b, p + i, k);
		else if (p[i] >= 0x80)	/* not UTF-8: the replacement character, byte by byte */
			r = buf_addstr(b, "\\ufffd"), k = 1;
		else if (p[i] == '"' || p[i] == '\\')
			r = buf_addch(b, '\\') < 0 ? -1 : buf_addch(b, (char)p[i]);
		else if (p[i] < 0x20 || p[i] == 0x7f)
			r = buf_printf(b, "\\u%04x", p[i]);
		else
			r = buf_addch(b, (char)p[i]);
		if (r < 0)
			return -1;
		i += k;
	}
	return buf_addch(b, '"');
}

int mailq_json_entry(struct buf *b, const struct mailq_item *it)
{
	if (buf_addstr(b, "{\"queue_name\": ") < 0 || mailq_json_str(b, it->queue_name) < 0 ||
	    buf_addstr(b, ", \"queue_id\": ") < 0 || mailq_json_str(b, it->id) < 0 ||
	    buf_printf(b, ", \"arrival_time\": %lld, \"message_size\": %lld, \"sender\": ",
		       (long long)it->arrival, it->size) < 0 ||
	    mailq_json_str(b, it->sender) < 0 || buf_addstr(b, ", \"recipients\": [") < 0)
		return -1;
	for (size_t i = 0; i < it->nrcpts; i++) {
		const struct mailq_rcpt *r = &it->rcpts[i];

		if (buf_addstr(b, i ? ", {\"address\": " : "{\"address\": ") < 0 ||
		    mailq_json_str(b, r->address) < 0 ||
		    (*r->reason && (buf_addstr(b, ", \"delay_reason\": ") < 0 ||
				    mailq_json_str(b, r->reason) < 0)) ||
		    buf_addch(b, '}') < 0)
			return -1;
	}
	if (buf_printf(b, "], \"attempts\": %u, \"next_try\": %lld", it->attempts,
		       (long long)it->next_try) < 0 ||
	    (it->error && (buf_addstr(b, ", \"error\": ") < 0 || mailq_json_str(b, it->error) < 0)))
		return -1;
	return buf_addstr(b, "}\n");
}

/* ---- the queue's messages as entries ---- */

/* The queue files that some process holds a lock on right now, from /proc/locks (Linux): a
 * queue run locks a message while it sends it. Reading the table takes no lock, so listing
 * never makes a queue run pass a message by. Without /proc, no message shows as active. */
struct mailq_locks {
	struct { unsigned long major, minor, ino; } *v;
	size_t n;
};

static void mailq_locks_read(struct mailq_locks *l)
{
	char line[256];
	FILE *f = fopen("/proc/locks", "re");
	size_t cap = 0;

	memset(l, 0, sizeof *l);
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		unsigned long ma, mi, ino;
		char *p = strstr(line, "FLOCK");

		/* "1: FLOCK  ADVISORY  WRITE 4711 fe:00:1234567 0 EOF" */
		if (!p || !strstr(p, "WRITE") || !(p = strchr(strstr(p, "WRITE") + 5, ':')))
			continue;
		while (p > line && p[-1] != ' ')
			p--;
		if (sscanf(p, "%lx:%lx:%lu", &ma, &mi, &ino) != 3)
			continue;
		if (l->n == cap) {
			cap = cap ? cap * 2 : 16;
			l->v = xrealloc(l->v, cap * sizeof *l->v);
		}
		l->v[l->n].major = ma, l->v[l->n].minor = mi, l->v[l->n++].ino = ino;
	}
	fclose(f);
}

static int mailq_locked(const struct mailq_locks *l, const struct queue *q, const char *id)
{
	char path[sizeof q->dir + QUEUE_ID_MAX + 8];
	struct stat st;

	snprintf(path, sizeof path, "%s/%s/%s", q->dir, queue_area_name(QUEUE_Q), id);
	if (!l->n || stat(path, &st) < 0)
		return 0;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].ino == st.st_ino && l->v[i].major == major(st.st_dev) &&
		    l->v[i].minor == minor(st.st_dev))
			return 1;
	return 0;
}

/* What one listing adds up, and how it prints. */
struct mailq_out {
	enum mailq_format fmt;
	struct mailq_locks locks;
	size_t count;
	long long bytes;
	int listing_rejected;	/* mailq_dropped: the drop's rejected directory */
};

static void mailq_print(struct mailq_out *o, const struct mailq_item *it)
{
	struct buf b;

	buf_init(&b, BUF_NO_MAX);	/* what a queue file may hold is capped when it is queued */
	if ((o->fmt == MAILQ_TEXT &&
	     ((o->count ? buf_addch(&b, '\n') : mailq_text_heading(&b)) < 0 ||
	      mailq_text_entry(&b, it) < 0)) ||
	    (o->fmt == MAILQ_JSON && mailq_json_entry(&b, it) < 0))
		buf_broken(__FILE__, __LINE__);
	fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
	o->count++;
	o->bytes += it->size;
}

/* The recipients an entry shows: those still waiting, with why; in the failed area, those given
 * up, with why. */
static size_t mailq_rcpts(const struct queue_entry *ent, struct mailq_rcpt *r)
{
	size_t n = 0;

	for (size_t k = 0; k < ent->env.nrcpts; k++) {
		enum fate_state st = queue_fate(ent, k);
		const char *why = ent->st.fates && ent->st.fates[k].reason[0] ? ent->st.fates[k].reason
			: ent->st.error ? ent->st.error : "";

		if (ent->area == QUEUE_FAILED ? st != FATE_FAILED : fate_final(st))
			continue;
		r[n++] = (struct mailq_rcpt){ .address = ent->env.rcpts[k], .reason = why };
	}
	return n;
}

static void mailq_entry(struct mailq_out *o, const struct queue *q, const struct queue_entry *ent)
{
	struct mailq_rcpt *r = calloc(ent->env.nrcpts + 1, sizeof *r);
	struct mailq_item it = {
		.queue_name = ent->area == QUEUE_HOLD ? "hold" : ent->area == QUEUE_FAILED ? "failed"
			      : mailq_locked(&o->locks, q, ent->id) ? "active" : "deferred",
		.id = ent->id, .arrival = ent->created, .size = (long long)ent->spool.size,
		.sender = ent->env.from, .rcpts = r, .attempts = ent->st.attempts,
		.next_try = ent->area == QUEUE_Q ? ent->st.next : 0,	/* a rate limit sets it too */
	};

	if (!r)
		err_oom();
	it.nrcpts = mailq_rcpts(ent, r);
	mailq_print(o, &it);
	free(r);
}

/* Every message of one area. Returns how many there were (damaged ones in failed/ included:
 * they were set aside there). */
static size_t mailq_area(struct mailq_out *o, struct queue *q, enum queue_area area, int show)
{
	struct err e = { 0 };
	size_t n, seen = 0;
	char **ids;

	if (queue_list(q, area, &ids, &n, &e) < 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		struct queue_entry ent;
		int r = queue_get(q, area, ids[i], 0, &ent, &e);

		if (r == 0 && show)
			mailq_entry(o, q, &ent);
		if (r < 0 && area == QUEUE_FAILED && show) {	/* set aside because it was damaged */
			struct mailq_item it = { .queue_name = "failed", .id = ids[i], .sender = "",
						 .error = e.text };

			mailq_print(o, &it);
		}
		seen += r == 0 || (r < 0 && area == QUEUE_FAILED);
		queue_release(&ent);
	}
	queue_ids_free(ids, n);
	return seen;
}

/* A local user's dropped message: waiting in the drop directory for root's next queue run
 * ("maildrop", as Postfix calls its own), or set aside there ("corrupt"). */
static void mailq_dropped(void *ctx, const struct dropbox_entry *de)
{
	struct mailq_out *o = ctx;
	int rejected = o->listing_rejected;
	char why[512];
	struct mailq_rcpt *r = calloc(de->nrcpts + 2, sizeof *r);
	struct mailq_item it = {
		.queue_name = rejected ? "corrupt" : "maildrop", .id = de->name,
		.arrival = de->time, .size = de->size, .rcpts = r, .error = de->error,
		.sender = de->from && strcmp(de->from, "<>") ? de->from : de->from ? "" : de->user,
	};

	if (!r)
		err_oom();
	snprintf(why, sizeof why, "%s by local user %s (uid %lu)%s",
		 rejected ? "set aside: dropped" : "dropped", de->user, de->uid,
		 rejected ? "; postbote's warning at the queue run said why"
			  : ", waiting for root's next queue run");
	for (size_t i = 0; i < de->nrcpts; i++)
		r[it.nrcpts++] = (struct mailq_rcpt){ .address = de->rcpts[i], .reason = why };
	if (de->extract)
		r[it.nrcpts++] = (struct mailq_rcpt){ .address = "(and those in its header, -t)",
						      .reason = why };
	mailq_print(o, &it);
	free(r);
}

int mailq_list(const struct conf *c, const char *account, enum mailq_format fmt, int failed,
	       struct err *e)
{
	static char dirs[RUNQ_DIRS_MAX][4096];
	size_t ndirs = runq_dirs(c, account, dirs, e), given_up = 0;
	struct mailq_out o = { .fmt = fmt };

	if (!ndirs)
		return -1;
	mailq_locks_read(&o.locks);
	for (size_t i = 0; i < ndirs; i++) {
		struct queue q;

		if (access(dirs[i], F_OK) < 0 && i > 0)
			continue;
		if (queue_open(&q, dirs[i], e) < 0) {
			free(o.locks.v);
			return -1;
		}
		if (!failed) {
			mailq_area(&o, &q, QUEUE_Q, 1);
			mailq_area(&o, &q, QUEUE_HOLD, 1);
		}
		given_up += mailq_area(&o, &q, QUEUE_FAILED, failed);
	}
	/* local users' messages, before root's queue run takes them up (root reads them) */
	o.listing_rejected = failed;
	if (!account)
		dropbox_each(failed, mailq_dropped, &o);
	free(o.locks.v);
	if (fmt == MAILQ_TEXT) {
		struct buf b;

		buf_init(&b, 128);
		if (mailq_text_summary(&b, o.count, o.bytes) < 0)
			buf_broken(__FILE__, __LINE__);
		fputs(b.data, stdout);
		buf_free(&b);
	}
	fflush(stdout);
	/* for a person at a terminal: a monitor (Icinga shows a plugin's stderr) or a cron job
	 * reads what waits, and a warning there would only be noise on every run */
	if (!failed && given_up && isatty(STDERR_FILENO))
		log_warn("%zu message%s given up, not counted above: each is kept %d days in the "
			 "failed area, and postbote -bp --failed lists %s", given_up,
			 given_up == 1 ? " was" : "s were", RUNQ_FAILED_KEEP / 86400,
			 given_up == 1 ? "it" : "them");
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
