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

#include "envelope.h"
#include "err.h"

#define QUEUE_ID_MAX 40

struct queue {
	char dir[4096];
};

enum queue_area { QUEUE_Q, QUEUE_HOLD, QUEUE_FAILED };

/* What changes between tries; in ID.state. fates has one entry per recipient of the envelope
 * (NULL before the first try: everyone is pending). */
struct queue_state {
	unsigned attempts;
	time_t next, last;
	char *error;		/* the last temporary error, or NULL */
	struct fate *fates;
};

/* One queued message. Strings are owned by the entry. */
struct queue_entry {
	char id[QUEUE_ID_MAX];
	enum queue_area area;
	char *account;
	struct envelope env;
	time_t created;
	struct spool spool;	/* fd: open (and locked) while the entry is held; -1 otherwise */
	struct queue_state st;
};

/* "q", "hold", "failed": the directory of an area. */
const char *queue_area_name(enum queue_area a);

/* Opens the queue at dir, creating it and its areas 0700 when missing. Refuses a directory that
 * belongs to another user or that others can write (ERR_CONFIG). */
int queue_open(struct queue *q, const char *dir, struct err *e);

/* Adds a message for account: the envelope, the message from sp (its offset and size), and its
 * first state (st; NULL: none yet). Writes the new id. The message is durably queued when this
 * returns 0, state included; on -1 nothing is left behind. */
int queue_add(struct queue *q, enum queue_area area, const char *account,
	      const struct envelope *env, const struct spool *sp, const struct queue_state *st,
	      char *id, struct err *e);

/* The ids in an area, oldest first. Free with queue_ids_free. */
int queue_list(struct queue *q, enum queue_area area, char ***ids, size_t *n, struct err *e);
void queue_ids_free(char **ids, size_t n);

/* Opens and reads a message. With lock, takes its flock first: returns 1 (and nothing read) when
 * another process holds it or it is gone. -1 with ERR_DATA for a file that was read and is
 * damaged, and with ERR_IO (or ERR_OS) when it could not be opened or read: only the first kind
 * may be set aside. */
int queue_get(struct queue *q, enum queue_area area, const char *id, int lock,
	      struct queue_entry *ent, struct err *e);
/* Closes (and so unlocks) and frees. */
void queue_release(struct queue_entry *ent);

/* Writes the entry's state file. */
int queue_save(struct queue *q, const struct queue_entry *ent, struct err *e);
/* Removes the message and its state (hold the lock). */
int queue_remove(struct queue *q, const struct queue_entry *ent, struct err *e);
/* Moves the message and its state to another area. */
int queue_move(struct queue *q, struct queue_entry *ent, enum queue_area area, struct err *e);

/* The recipient's fate; FATE_PENDING before the first try. */
enum fate_state queue_fate(const struct queue_entry *ent, size_t i);
/* Sets it (allocating the fates on first use). */
void queue_set_fate(struct queue_entry *ent, size_t i, const struct fate *f);

/* Reads a queue file's envelope from memory (the bytes up to and including the empty line):
 * for the fuzzer and the unit tests. -1 with ERR_DATA. */
int queue_parse_envelope(const char *text, size_t len, struct queue_entry *ent, struct err *e);
/* Reads a state file from memory into ent->st (ent->env.nrcpts must be known). */
void queue_parse_state(const char *text, size_t len, struct queue_entry *ent);

/* Removes the messages in area (and their state) that have been there longer than age seconds,
 * counted from the last change of either file. Returns how many went. */
size_t queue_prune(struct queue *q, enum queue_area area, time_t age);

/* Removes files in tmp/ older than age seconds: what a killed writer left, never sent. */
void queue_clean_tmp(struct queue *q, time_t age);

#endif
