/* msg: the message from stdin into a spool file, ready for the wire. Line endings become CRLF (a
 * bare LF or a bare CR ends a line too, so the wire never carries either alone); NUL bytes are
 * refused; header fields are rewritten where the account asks (bare local addresses qualified,
 * Bcc removed, From set) and Date:, Message-ID: and From: added when missing; header lines over
 * 998 bytes are folded and body lines over 998 bytes split; a leading mbox "From " line is
 * dropped, as sendmail does. Reading happens in two steps, so that the caller can decide the
 * envelope sender (and, with -t, the recipients) from the header section before anything is
 * written: msg_read_headers reads up to the end of the header section and keeps it (capped),
 * msg_write writes the fixed-up message with that sender and streams the rest of the input.
 * Memory use does not depend on the size of the body. */
#ifndef POSTBOTE_MSG_H
#define POSTBOTE_MSG_H

#include <sys/types.h>

#include "addr.h"
#include "envelope.h"
#include "hdr.h"
#include "err.h"
#include "caps.h"

#define MSG_LINE_MAX 998	/* RFC 5322 2.1.1, without the CRLF */

enum msg_set_from { MSG_FROM_AUTO, MSG_FROM_ON, MSG_FROM_OFF };

struct msg_opts {
	int dot_ends;		/* a line with a single "." ends the input (no -i) */
	const char *maildomain;	/* qualifies bare local addresses in address headers; NULL: no */
	int remove_bcc;		/* leave Bcc: and Resent-Bcc: out */
	enum msg_set_from set_from;
	int set_date, set_msgid;	/* add Date: / Message-ID: when missing */
	const char *full_name;	/* display name of an added or replaced From:, or NULL */
	const char *domain;	/* the right side of an added Message-ID: */
	const char *tmpdir;	/* where the spool file goes; NULL: $TMPDIR or /tmp */
	int memory;		/* a message that fits in one buffer (64 KiB) stays in memory
				 * (m->pass) with no spool file, until msg_write_more is asked
				 * for all of it */
	const char *trace;	/* a whole field without CRLF (a Received: line) to write before
				 * all others, or NULL; it must outlive the msg */
};

struct msg_state;

struct msg {
	int fd;			/* the spool file, unlinked; -1 before the first byte is written
				 * into it, and when closed */
	off_t size;		/* bytes of the message so far (all of them once !more) */
	off_t stored;		/* how many of them are in fd: size, unless msg_pass left some out */
	/* bytes [pass_at, pass_at + pass_len) of the message, in memory only: passed by msg_pass,
	 * or a small message kept whole (msg_opts.memory) */
	const char *pass;
	off_t pass_at;
	size_t pass_len;
	int eight_bit;		/* some byte is >= 0x80 */
	unsigned added;		/* MSG_ADDED_* */
	unsigned long split_lines;	/* line breaks inserted into body lines over MSG_LINE_MAX */
	struct hdr_fields fields;	/* the header section as it came, for rcpt_from_headers */
	char *header_from;	/* the first From: address, qualified; NULL when there is none */
	const char *sender;	/* what msg_write was given */
	struct msg_state *st;	/* between the two steps, and while input is left */
	int more;		/* msg_write_some stopped before the end of the input */
};

enum { MSG_ADDED_DATE = 1, MSG_ADDED_MSGID = 2, MSG_ADDED_FROM = 4 };

/* Reads fd `in` up to the end of the header section: m->fields and m->header_from. -1 with ERR_DATA
 * (a NUL byte, a header field or section too long) or ERR_IO; m is then closed. */
int msg_read_headers(int in, const struct msg_opts *o, struct msg *m, struct err *e);
/* Writes the message into a new spool file with `sender` as the envelope sender ("" for the null
 * sender; it must outlive m), reading the rest of the input. -1 with ERR_DATA, ERR_IO (read or
 * write failed, disk full) or ERR_OS; m is then closed. */
int msg_write(struct msg *m, const char *sender, struct err *e);
/* msg_write that stops once the spool has `limit` bytes (< 0: never), with m->more set when
 * input is left: msg_write_more reads on. */
int msg_write_some(struct msg *m, const char *sender, off_t limit, struct err *e);
/* Reads more of the input into the spool until m->size >= want (< 0: to the end), clearing
 * m->more when the input has ended. Bytes only in memory (m->pass) go into the spool first;
 * when msg_pass forgot some, the input is read again from the start of the body, to the end.
 * 0 (also when nothing is left), or -1 with ERR_DATA or ERR_IO (also when the input file changed
 * since it was first read); m is then closed. */
int msg_write_more(struct msg *m, off_t want, struct err *e);
/* Makes bytes [from, want) of the message readable, for a caller that sends them now: those
 * the spool does not have yet go to m->pass (from m->pass_at) instead, and bytes before from that
 * are there are forgotten. Only input that is a regular file can be passed (msg_write_more reads
 * it again should the whole spool be needed later); other input goes into the spool, as with
 * msg_write_more. The same results as msg_write_more. */
int msg_pass(struct msg *m, off_t from, off_t want, struct err *e);
/* Reads what is left of the input and drops it: the writer of a message that fails before it
 * is read to the end gets no SIGPIPE, as when all of it was read first (a file has no writer
 * to wait for it: it is left as it is). */
void msg_drain(struct msg *m);
/* Both steps at once, for a caller whose sender does not depend on the headers. */
int msg_spool(int in, const struct msg_opts *o, const char *sender, struct msg *m, struct err *e);
void msg_close(struct msg *m);

/* A bounce: who gets it, about which queued message, and why each recipient failed. */
struct msg_bounce {
	const char *to;		/* the original sender */
	const char *id;		/* the queue id */
	const char *domain;	/* for From: MAILER-DAEMON@domain and the Message-ID */
	const char *const *addrs, *const *reasons;
	size_t n;
	const struct spool *orig;	/* the message; its header section is quoted */
};

/* Writes the bounce into a new spool file (out: its fd, offset 0 and size; the caller closes
 * the fd). -1 with ERR_IO. */
int msg_bounce(const struct msg_bounce *in, struct spool *out, struct err *e);

/* The RFC 5322 date-time of now in local time ("Tue, 1 Dec 2026 12:05:03 +0000"), whatever the
 * locale: for Date: and trace fields. */
#define MSG_DATE_MAX 40
void msg_date_text(time_t now, char *out, size_t size);

/* A new spool file, already unlinked, in dir (NULL: $TMPDIR, else /tmp). -1 with ERR_IO. */
int msg_spool_file(const char *dir, struct err *e);

#endif
