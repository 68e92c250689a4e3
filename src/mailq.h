/* mailq: listing the queue (-bp, mailq) and editing it (--queue-delete, -hold, -release). What
 * the user reads is printed here. */
#ifndef POSTBOTE_MAILQ_H
#define POSTBOTE_MAILQ_H

#include "conf.h"
#include "err.h"

/* Prints the queue (every account's, or one's) on stdout. */
int mailq_list(const struct conf *c, const char *account, struct err *e);

enum mailq_edit { MAILQ_DELETE, MAILQ_HOLD, MAILQ_RELEASE };
int mailq_edit(const struct conf *c, const char *account, enum mailq_edit what, const char *id,
	       struct err *e);

#endif
