/* queue: the crash-safe queue on disk. One directory per area (q: waiting, hold: held by the
 * user, failed: given up, with reasons) and tmp/ for files being written. A message is one file,
 * ID, written once: a version line, the envelope, the message, and an end marker, so a truncated
 * file is recognised and never sent half. What changes between tries (attempts, next try, last
 * error, recipients done) is in ID.state beside it, replaced atomically. Every write is
 * O_EXCL 0600, fsync'd, renamed into place, and the directory fsync'd.
 *
 * Who delivers a message holds an exclusive flock on its file; a runner that finds it locked
 * passes it by, so two runners never send the same message at the same time. A message is
 * removed only after the server's final 250: a crash between the two can cause one duplicate
 * (at-least-once), nothing else can. */
#ifndef POSTBOTE_QUEUE_H
#define POSTBOTE_QUEUE_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "err.h"

#define QUEUE_ID_MAX 40

struct queue {
	char dir[4096];
};

/* The envelope and history of one message. Strings are owned by the entry. */
struct queue_entry {
	char id[QUEUE_ID_MAX];
	char area[8];
	char *account;
	char *from;		/* "" for the null sender */
	char **rcpts;
	size_t nrcpts;
	char **done;		/* recipients that need nothing more (state) */
	size_t ndone;
	char **failed;		/* "addr\treason" for recipients given up (state) */
	size_t nfailed;
	int body_8bit;
	char *dsn_notify, *dsn_ret, *dsn_envid;	/* NULL when not asked for */
	time_t created;
	unsigned attempts;
	time_t next, last;
	char *error;		/* the last temporary error, or NULL */
	off_t offset, size;	/* where the message is in the file */
	int fd;			/* open (and locked) while the entry is held; -1 otherwise */
};

/* Opens the queue at dir, creating it and its areas 0700 when missing. Refuses a directory that
 * belongs to another user or that others can write (ERR_CONFIG). */
int queue_open(struct queue *q, const char *dir, struct err *e);

/* Adds a message: the envelope from *meta (its id, area and state fields are ignored), the
 * message from size bytes of spool_fd at offset 0. Writes the new id. */
int queue_add(struct queue *q, const char *area, const struct queue_entry *meta, int spool_fd,
	      off_t size, char *id, struct err *e);

/* The ids in an area, oldest first. Free with queue_ids_free. */
int queue_list(struct queue *q, const char *area, char ***ids, size_t *n, struct err *e);
void queue_ids_free(char **ids, size_t n);

/* Opens and reads a message. With lock, takes its flock first: returns 1 (and nothing read) when
 * another process holds it or it is gone. -1 with ERR_DATA for a damaged file. */
int queue_get(struct queue *q, const char *area, const char *id, int lock, struct queue_entry *ent,
	      struct err *e);
/* Closes (and so unlocks) and frees. */
void queue_put(struct queue_entry *ent);

/* Writes the entry's state file. */
int queue_save(struct queue *q, const struct queue_entry *ent, struct err *e);
/* Removes the message and its state (hold the lock). */
int queue_remove(struct queue *q, const struct queue_entry *ent, struct err *e);
/* Moves the message and its state to another area. */
int queue_move(struct queue *q, struct queue_entry *ent, const char *area, struct err *e);

/* Adds a recipient to done / failed. */
void queue_mark_done(struct queue_entry *ent, const char *addr);
void queue_mark_failed(struct queue_entry *ent, const char *addr, const char *reason);
/* True when addr is in done or failed. */
int queue_is_done(const struct queue_entry *ent, const char *addr);

/* Removes files in tmp/ older than age seconds: what a killed writer left, never sent. */
void queue_clean_tmp(struct queue *q, time_t age);

/* Rate limiting: the number of messages sent for account within the last `window` seconds, and
 * the time the oldest of them leaves the window. */
int queue_rate_count(struct queue *q, const char *account, time_t window, time_t *oldest);
/* Records one message sent now. */
void queue_rate_add(struct queue *q, const char *account);

#endif
