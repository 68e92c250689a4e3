/* reply: the SMTP reply parser and the EHLO capability parser. No I/O: lines are pushed in one
 * at a time (without their line ending) and a reply comes out when its last line arrives.
 * Everything a server sends is capped here: the length of a line, the number of lines and the
 * total size of one reply. */
#ifndef POSTBOTE_REPLY_H
#define POSTBOTE_REPLY_H

#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "caps.h"

struct reply {
	int code;		/* 200..599 once complete */
	unsigned lines;
	struct buf text;	/* the lines' text after the code, joined with '\n', raw */
};

void reply_init(struct reply *r);
void reply_free(struct reply *r);
void reply_reset(struct reply *r);	/* before the first line of a new reply */

/* Pushes one line. Returns 1 when that line completed the reply, 0 when more lines follow, and
 * -1 with ERR_PROTOCOL in e when the line is not a valid reply line: a code outside [2-5][0-9][0-9],
 * no space or hyphen after it, a code that changes within one reply, or a cap exceeded. */
int reply_push(struct reply *r, const char *line, size_t len, struct err *e);

/* The reply as one printable line, "CODE text text...", cut to fit size bytes. */
void reply_summary(const struct reply *r, char *out, size_t size);

/* reply class */
#define REPLY_OK(r) ((r)->code >= 200 && (r)->code < 400)
#define REPLY_TEMP(r) ((r)->code >= 400 && (r)->code < 500)

enum {
	EHLO_PIPELINING = 1 << 0,
	EHLO_STARTTLS = 1 << 1,
	EHLO_8BITMIME = 1 << 2,
	EHLO_SMTPUTF8 = 1 << 3,
	EHLO_DSN = 1 << 4,
	EHLO_SIZE = 1 << 5,
	EHLO_AUTH = 1 << 6,
	EHLO_CHUNKING = 1 << 7,
	EHLO_ENHANCEDSTATUSCODES = 1 << 8,
	EHLO_LIMITS = 1 << 9,
};

/* The largest RCPTMAX or MAILMAX taken from LIMITS; a bigger value means this much. */
#define EHLO_LIMIT_MAX 1000000u

struct ehlo {
	unsigned flags;
	unsigned long long size;	/* SIZE limit; 0 when none given */
	/* RFC 9422 LIMITS: recipients per transaction and transactions per session; 0 when not
	 * given (or given as anything but 1 to 999999999 in digits) */
	unsigned rcptmax, mailmax;
	char mechs[EHLO_MECHS_MAX];	/* AUTH mechanisms, upper case, one space between */
};

/* Reads the capabilities from a complete 250 reply to EHLO. Unknown keywords are ignored; a
 * malformed SIZE value counts as no limit, and so does a malformed LIMITS value (unknown LIMITS
 * names are ignored). */
void ehlo_parse(const struct reply *r, struct ehlo *caps);

#endif
