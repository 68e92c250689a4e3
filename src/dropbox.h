/* dropbox: both unprivileged ends of the drop directory (postbote(1), LOCAL USERS). A local user
 * who may not read the system configuration and has none of their own hands the message to the
 * setgid drop program (dropbox_hand); root's queue run picks dropped messages up, resolves each
 * by the system configuration exactly as that user's own submission would be, and queues it
 * (dropbox_pickup). The drop program itself is src/postbote-drop.c. */
#ifndef POSTBOTE_DROPBOX_H
#define POSTBOTE_DROPBOX_H

#include <stddef.h>
#include <time.h>

#include "conf.h"
#include "err.h"
#include "request.h"

#ifndef PKGLIBEXECDIR
#define PKGLIBEXECDIR "/usr/libexec/postbote"
#endif
#define DROPBOX_PROGRAM PKGLIBEXECDIR "/postbote-drop"

/* Reads the message from stdin (dots end it unless -i; the rest of the account's rules wait for
 * the pickup), checks what can be checked without the configuration (recipient arguments, with
 * -t that the header section names someone), and replaces this process with the drop program,
 * whose exit is then the caller's. Returns only on failure: -1 with e (ERR_CONFIG when the drop
 * program is not installed). */
int dropbox_hand(const struct request *rq, struct err *e);

/* The same for one message of -bs, read from `in` (already without the SMTP dot-stuffing): the
 * drop program is run and waited for. 0 when the message is dropped, else -1 with e (the kind
 * from the drop program's exit, its line as the text). */
int dropbox_drop(const struct request *rq, int in, struct err *e);

/* Root's side: every message in the drop directory resolved and queued, then removed from it;
 * one that cannot be resolved for a reason of its own (a bad recipient, no recipients) is
 * moved to the rejected directory, one that fails for a reason of the system's (the
 * configuration, the disk) stays for the next run. Problems are warnings; returns how many
 * messages were queued. */
size_t dropbox_pickup(const struct conf *c);

/* One dropped message, as mailq shows it. Strings are borrowed for the call. */
struct dropbox_entry {
	const char *name;		/* its file name: the time and a random part */
	unsigned long uid;		/* the file's owner */
	const char *user;
	time_t time;			/* when the drop program wrote it */
	long long size;			/* the message's */
	const char *from;		/* -f as given, or NULL */
	char **rcpts;			/* the recipient arguments as given */
	size_t nrcpts;
	int extract;			/* -t: more recipients in the header section */
	const char *error;		/* not a file the drop program writes: why */
};

/* Calls fn for each message waiting in the drop directory (rejected: in the rejected directory),
 * oldest first, reading without locking; nothing when the directory cannot be read (not root).
 * Returns how many. */
size_t dropbox_each(int rejected, void (*fn)(void *ctx, const struct dropbox_entry *), void *ctx);

#endif
