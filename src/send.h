/* send: what becomes of a message. Submits it now, and keeps in the queue what the smarthost
 * cannot take now; runs the queue (one connection per account, backoff, lifetime, bounces to the
 * sender); keeps refused recipients' copies in the failed area; applies rate limits; lists and
 * edits the queue. Everything the user sees about the outcome is said here or in main. */
#ifndef POSTBOTE_SEND_H
#define POSTBOTE_SEND_H

#include <sys/types.h>

#include "conf.h"
#include "err.h"

struct send_job {
	const char *from;	/* "" for the null sender */
	char **rcpts;
	size_t nrcpts;
	int fd;			/* the spooled message */
	off_t size;
	int body_8bit;
	const char *dsn_notify, *dsn_ret, *dsn_envid;
};

/* The EHLO name: the account's domain, or the machine's fully qualified name. */
void send_ehlo_name(const struct account *a, char *out, size_t size);

/* What the log file says of a submission. */
struct send_report {
	char host[256];
	char mech[32];		/* "" without AUTH */
	char reply[256];	/* the server's last reply */
	char queued[48];	/* the queue id when some recipients were queued */
};

/* Submits a message for account a: 0 when every recipient has it or it is durably queued for
 * those who do not (one "queued as" line on stderr), else -1 with e (refused recipients are
 * reported one per line on stderr, e holding the last). */
int send_now(const struct conf *c, const struct account *a, const char *domain,
	     const char *password, const struct send_job *job, struct send_report *rep,
	     struct err *e);

struct send_run_opts {
	const char *account;	/* -a: only this account's messages (and its queue_dir) */
	const char *id;		/* -qI: only this message, due or not */
};

/* Runs the queue. -1 only when the queue itself cannot be used. */
int send_run(const struct conf *c, const struct send_run_opts *o, struct err *e);

/* mailq: prints the queue on stdout. */
int send_list(const struct conf *c, const char *account, struct err *e);

enum send_edit { SEND_DELETE, SEND_HOLD, SEND_RELEASE };
int send_edit(const struct conf *c, const char *account, enum send_edit what, const char *id,
	      struct err *e);

#endif
