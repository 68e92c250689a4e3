/* submission: one request resolved into a message on its way: the account chosen, the envelope
 * sender decided from the options and the message's From:, the recipients (with -t from the
 * header section) with aliases and qualification applied, the message spooled with the
 * account's header fix-ups. main.c uses it for a caller on the command line, the dropbox for a
 * local user's dropped message, so both are resolved by the same rules. */
#ifndef POSTBOTE_SUBMISSION_H
#define POSTBOTE_SUBMISSION_H

#include "conf.h"
#include "envelope.h"
#include "err.h"
#include "msg.h"
#include "rcpt.h"
#include "request.h"
#include "submit.h"

struct submission {
	const struct request *rq;	/* borrowed */
	struct account a;
	struct msg m;
	struct rcpt_list rcpts;
	char sender[1024], notify[64];
	struct envelope env;
	struct spool sp;
	int stream;		/* the caller sends at once: a big message may go while it is read */
	struct err stream_err;	/* why the rest of it could not be read */
};

/* s->rq set, everything else empty (call before any of the below). */
void submission_init(struct submission *s, const struct request *rq);

/* The recipient arguments checked; -1 with ERR_USAGE when there are none and no -t. */
int submission_rcpts(struct submission *s, struct err *e);

/* The account for the request from c. -1 with ERR_CONFIG. */
int submission_account(struct submission *s, const struct conf *c, struct err *e);

/* Reads the message from fd `in` (dots end it unless -i, as the request says; dot_ends 0
 * overrides that for a message read before) into the spool and decides the envelope. With
 * s->stream, a message longer than SUBMISSION_STREAM_AFTER is read only that far: s->sp.more reads
 * the rest, as the smarthost takes it (the envelope then says 8-bit until the end is known). */
#define SUBMISSION_STREAM_AFTER (4 << 20)
#define SUBMISSION_STREAM_WITHIN 2000	/* ms: when the first 4 MiB took longer, it does not */
int submission_read(struct submission *s, int in, int dot_ends, struct err *e);

/* The envelope sender for the request through account a, once the message's first From:
 * address is known (header_from, or NULL): -f (when the account allows it), else
 * --read-envelope-from, else the account's `from` (with %U %H %F), else the login name;
 * qualified; "" for the null sender. -1 with ERR_USAGE for an address that cannot be one. */
int submission_sender(const struct request *rq, const struct account *a, const char *header_from,
		      char *out, size_t size, struct err *e);

/* The log file's line for the submission (nothing when the account has no logfile). */
void submission_log(const struct submission *s, const struct submit_report *rep, int exit_code,
		    const struct err *e);

void submission_free(struct submission *s);

/* "starttls", "implicit", "off" */
const char *submission_tls_name(enum conf_tls t);

#endif
