/* dropfmt: the text that carries a local user's request into the drop directory, and its parser.
 * Pure: no I/O, so the drop program, root's pickup, the unit tests and the fuzzer share it.
 *
 * What postbote hands the drop program on its stdin, then what the drop program writes:
 *
 *   postbote-drop 1            version line
 *   uid: 1001                  } only in a dropped file, first, written by the drop program
 *   user: alice                } (never accepted from the caller)
 *   time: 1764590000           }
 *   from: a@example.org        one line per setting of the request, "key: value"
 *   rcpt: bob                  one per recipient argument, in order
 *   <empty line>
 *   the message, as read (CRLF lines), then in a dropped file the trailer line
 *   postbote-drop-end SIZE     the message's size in bytes
 *
 * Values are one line each: no control bytes, at most DROP_VALUE_MAX bytes; unknown keys and
 * repeated keys (but rcpt) are refused, so a caller cannot smuggle anything past the parser. */
#ifndef POSTBOTE_DROPFMT_H
#define POSTBOTE_DROPFMT_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "buf.h"
#include "caps.h"
#include "err.h"
#include "request.h"

#define DROPFMT_VERSION "postbote-drop 1"

/* Where local users' messages wait for root's queue run (made by make install: root, group of
 * the drop program, mode 1770: sticky, so no one removes or renames another's file), and where the pickup sets aside what it cannot resolve. */
#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif
#define DROP_DIR LOCALSTATEDIR "/spool/postbote/drop"
#define DROP_REJECTED_DIR LOCALSTATEDIR "/spool/postbote/rejected"
#define DROPFMT_TRAILER_MAX 64

/* The request as text (the version line, its settings, the empty line); rq->login, uid and
 * trace are not part of it. -1 with ERR_DATA when a value cannot be carried (a line break or
 * control byte, or over a cap): such a request could not have come from the command line. */
int dropfmt_request(const struct request *rq, struct buf *out, struct err *e);

/* The drop program's lines, to follow the version line. */
int dropfmt_stamp(struct buf *out, uid_t uid, const char *user, time_t t);

struct dropfmt {
	struct request rq;	/* strings point into text */
	char *text;		/* a copy of the request's lines, owned */
	long long uid;		/* the stamp (stamped only) */
	const char *user;
	long long time;
	size_t len;		/* bytes of the input that the request took, its empty line included */
};

/* Parses the request at the start of the len bytes at p, which may go on past it (the message
 * follows). With `stamped`, the uid/user/time lines must come right after the version line (a
 * dropped file); without, they must not appear (what a caller hands the drop program). 0 and d
 * filled, 1 when the empty line has not come within len bytes (read more; d untouched), -1 with
 * ERR_DATA. Free d with dropfmt_free. */
int dropfmt_parse(const char *p, size_t len, int stamped, struct dropfmt *d, struct err *e);
void dropfmt_free(struct dropfmt *d);

/* The trailer line for a message of size bytes, into out (DROPFMT_TRAILER_MAX bytes). */
void dropfmt_trailer(long long size, char *out);

/* The size a trailer states, from the last bytes of a file (tail, n bytes, ending with the
 * trailer's line break); -1 when they end with no valid trailer. *len: the trailer's length. */
long long dropfmt_parse_trailer(const char *tail, size_t n, size_t *len);

#endif
