/* log: everything postbote says: the one error line on stderr, warnings, the -v transcript, the
 * log file and syslog. Text that came from the peer is cleaned of non-printables here; secrets never reach
 * this module unredacted (callers pass LOG_SECRET lines). */
#ifndef POSTBOTE_LOG_H
#define POSTBOTE_LOG_H

#include <stddef.h>

#include "err.h"

void log_set_verbose(int on);
int log_verbose(void);

/* "postbote: TEXT" on stderr. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "--- TEXT" on stderr when verbose: what happened between the lines of the transcript. */
void log_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

enum log_dir { LOG_IN, LOG_OUT };
#define LOG_SECRET 1	/* show the command word only, the rest as *** */

/* One transcript line when verbose: "<-- " for what the server said, "--> " for what we sent. */
void log_transcript(enum log_dir dir, const char *line, size_t len, int flags);

struct buf;

/* Appends ` key=value` to b, the one way a field of a log file line is written. value is written
 * as it is when it is non-empty and all of it is [A-Za-z0-9._@+:/,<>-]; else as "..." with \"
 * for '"', \\ for '\', and \xNN for control bytes and bytes >= 0x80. So no value, whatever a
 * peer put in it, can end its field early or make another: a line splits into fields at the
 * blanks outside quotes. key must be [a-z0-9-]+ (abort otherwise: keys are ours, not data).
 * 0, or -1 when b would exceed its max (b unchanged: a field is there whole or not at all). */
int log_field(struct buf *b, const char *key, const char *value)
	__attribute__((warn_unused_result));
/* The same for a number. */
int log_field_num(struct buf *b, const char *key, long long value)
	__attribute__((warn_unused_result));

/* Appends one line to path: "TIMESTAMP" and `fields` (built with log_field; a leading blank is
 * dropped). The file must be ours: it is created with O_EXCL (0600), or when it exists it must
 * be a regular file, not a symbolic link, with one link, owned by the caller or by root;
 * anything else is refused with a warning naming the file and why, and nothing is written.
 * Errors are reported as a warning; a log file never changes the outcome of a delivery. */
void log_append(const char *path, const char *fields);

/* Where the line of a submission or a queue try goes: the account's logfile and syslog. */
struct log_dest {
	const char *logfile;	/* NULL: none */
	int syslog;		/* the facility (LOG_MAIL...); 0: no syslog */
};

/* What one submission did: the fields of its line, in this order. */
struct log_submission {
	const char *host, *tls, *auth, *user, *from;	/* from: "" for the null sender */
	unsigned long uid;	/* the local user who sent it, when not root (0: left out) */
	char *const *rcpts;
	size_t nrcpts;
	long long size;
	const char *queued;	/* the queue id some recipients wait under; NULL or "": none */
	const char *reply;	/* the server's last reply (when error is NULL) */
	const char *error;	/* what went wrong; NULL: nothing */
	int exit;		/* the exit code */
};

/* One recipient of a queue try: what became of it ("sent", "deferred", "failed") and why. */
struct log_rcpt {
	const char *addr, *state, *reason;
};

/* What one try of a queued message did. */
struct log_try {
	const char *id, *host, *auth, *from;	/* from: "" for the null sender */
	long long size;
	unsigned attempt;	/* this try's number, from 1 */
	const struct log_rcpt *rcpts;	/* the recipients tried */
	size_t nrcpts;
};

/* One line for a submission: appended to the log file (log_append), and sent to syslog as
 * "postbote[PID]: FIELDS" at LOG_INFO when it was sent, LOG_WARNING when some recipients were
 * queued, LOG_ERR when it failed. The recipient list is cut at 8 KiB with ",...". */
void log_submission(const struct log_dest *d, const struct log_submission *s);

/* One line for a queue try, "queue-run id=... rcpt=ADDR:STATE:REASON ...": LOG_INFO when every
 * recipient tried got it, LOG_ERR when one failed for good, else LOG_WARNING. Recipients that
 * do not fit in 64 KiB are left off. */
void log_try(const struct log_dest *d, const struct log_try *t);

#endif
