/* runq: the queue run. Every due message, one session per account, one message locked and open
 * at a time; backoff, lifetime, bounces to the sender once a message is given up. Also where the
 * queue directories of the configuration are found and opened. */
#ifndef POSTBOTE_RUNQ_H
#define POSTBOTE_RUNQ_H

#include <time.h>

#include "conf.h"
#include "deliver.h"
#include "err.h"
#include "queue.h"

/* How long a message given up stays in the failed area, for mailq and for the administrator;
 * each queue run removes what is older (postbote(1) says so). */
#define RUNQ_FAILED_KEEP (30 * 86400)

struct runq_opts {
	const char *account;	/* -a: only this account's messages (and its queue_dir) */
	const char *id;		/* -qI: only this message, due or not */
	int all;		/* -q: every message not on hold, due or not (an administrator's flush) */
	long long deadline;	/* monotonic ms; 0: none */
};

/* Runs the queue. -1 only when the queue itself cannot be used. */
int runq(const struct conf *c, const struct runq_opts *o, struct err *e);

/* Sends what is due for account a over the open session d (after a direct submission). */
void runq_flush(const struct conf *c, const struct account *a, struct queue *q, struct deliver *d,
		long long deadline);

/* How long ago t was: "5m", "3h07m", "2d04h". */
void runq_age(time_t t, char *out, size_t size);

#define RUNQ_DIRS_MAX 64
/* The queue directories to work on: the named account's, or every account's (each once); see
 * conf_queue_dirs. */
size_t runq_dirs(const struct conf *c, const char *account, char (*dirs)[4096], struct err *e);
/* Opens (and creates) the account's queue; with `existing`, only one that is there already. */
int runq_open_queue(const struct account *a, int existing, struct queue *q, struct err *e);

#endif
