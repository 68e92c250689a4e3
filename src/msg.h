/* msg: the message from stdin into a spool file, ready for the wire: line endings made CRLF
 * (a bare LF or a bare CR ends a line too, so the wire never carries either alone), the header
 * section parsed, missing Date:, Message-ID: and From: added, NUL bytes refused. Memory use does not
 * depend on the size of the message. */
#ifndef POSTBOTE_MSG_H
#define POSTBOTE_MSG_H

#include <sys/types.h>

#include "err.h"

struct msg_opts {
	int dot_ends;		/* a line with a single "." ends the input (no -i) */
	const char *from;	/* envelope sender: the address of an added From: */
	const char *full_name;	/* -F: the display name of an added From:, or NULL */
	const char *domain;	/* the right side of an added Message-ID: */
	const char *tmpdir;	/* where the spool file goes; NULL: $TMPDIR or /tmp */
};

struct msg {
	int fd;			/* the spool file, unlinked; -1 when closed */
	off_t size;		/* its size in bytes */
	int eight_bit;		/* some byte is >= 0x80 */
	unsigned added;		/* MSG_ADDED_* */
};

enum { MSG_ADDED_DATE = 1, MSG_ADDED_MSGID = 2, MSG_ADDED_FROM = 4 };

/* Reads all of fd `in` into a new spool file. -1 with ERR_DATA (a NUL byte, a header field too
 * long), ERR_IO (read or write failed, disk full) or ERR_OS. */
int msg_spool(int in, const struct msg_opts *o, struct msg *m, struct err *e);
void msg_close(struct msg *m);

#endif
