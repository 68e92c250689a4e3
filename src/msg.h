/* msg: the message from stdin into a spool file, ready for the wire. Line endings become CRLF (a
 * bare LF or a bare CR ends a line too, so the wire never carries either alone); NUL bytes are
 * refused; header fields are rewritten where the account asks (bare local addresses qualified,
 * Bcc removed, From set) and Date:, Message-ID: and From: added when missing; header lines over
 * 998 bytes are folded and body lines over 998 bytes split; a leading mbox "From " line is
 * dropped, as sendmail does. With -t the recipients in the headers
 * are collected. Memory use does not depend on the size of the message. */
#ifndef POSTBOTE_MSG_H
#define POSTBOTE_MSG_H

#include <sys/types.h>

#include "addr.h"
#include "err.h"

#define MSG_LINE_MAX 998	/* RFC 5322 2.1.1, without the CRLF */

enum msg_set_from { MSG_FROM_AUTO, MSG_FROM_ON, MSG_FROM_OFF };

struct msg_opts {
	int dot_ends;		/* a line with a single "." ends the input (no -i) */
	int extract;		/* -t: collect To/Cc/Bcc (or the first Resent- block's) */
	const char *maildomain;	/* qualifies bare local addresses in address headers; NULL: no */
	int remove_bcc;		/* leave Bcc: and Resent-Bcc: out */
	enum msg_set_from set_from;
	int set_date, set_msgid;	/* add Date: / Message-ID: when missing */
	const char *full_name;	/* display name of an added or replaced From:, or NULL */
	const char *domain;	/* the right side of an added Message-ID: */
	const char *tmpdir;	/* where the spool file goes; NULL: $TMPDIR or /tmp */
	/* Gives the envelope sender ("" for the null sender) once the From: header is known:
	 * header_from is its first address (qualified), or NULL when the message has none.
	 * Called exactly once, before any From: is written. The string must outlive msg_spool. */
	const char *(*sender)(void *ctx, const char *header_from);
	void *ctx;
};

struct msg {
	int fd;			/* the spool file, unlinked; -1 when closed */
	off_t size;		/* its size in bytes */
	int eight_bit;		/* some byte is >= 0x80 */
	unsigned added;		/* MSG_ADDED_* */
	unsigned long split_lines;	/* line breaks inserted into body lines over MSG_LINE_MAX */
	struct addr_list rcpts;	/* -t: the recipients the headers name (unqualified) */
	const char *sender;	/* what opts.sender returned */
};

enum { MSG_ADDED_DATE = 1, MSG_ADDED_MSGID = 2, MSG_ADDED_FROM = 4 };

/* Reads all of fd `in` into a new spool file. -1 with ERR_DATA (a NUL byte, a header field too
 * long, with -t an address header that does not parse), ERR_IO (read or write failed, disk full)
 * or ERR_OS. */
int msg_spool(int in, const struct msg_opts *o, struct msg *m, struct err *e);
void msg_close(struct msg *m);

/* A new spool file, already unlinked, in dir (NULL: $TMPDIR, else /tmp). -1 with ERR_IO. */
int msg_spool_file(const char *dir, struct err *e);

#endif
