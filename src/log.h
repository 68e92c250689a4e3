/* log: everything postbote says: the one error line on stderr, warnings, the -v transcript and the
 * log file. Text that came from the peer is cleaned of non-printables here; secrets never reach
 * this module unredacted (callers pass LOG_SECRET lines). */
#ifndef POSTBOTE_LOG_H
#define POSTBOTE_LOG_H

#include <stddef.h>

#include "err.h"

void log_set_verbose(int on);

/* "postbote: TEXT" on stderr. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "--- TEXT" on stderr when verbose: what happened between the lines of the transcript. */
void log_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

enum log_dir { LOG_IN, LOG_OUT };
#define LOG_SECRET 1	/* show the command word only, the rest as *** */

/* One transcript line when verbose: "<-- " for what the server said, "--> " for what we sent. */
void log_transcript(enum log_dir dir, const char *line, size_t len, int flags);

/* Appends one line to path: "TIMESTAMP key=value ...". The caller builds `fields`. Errors are
 * reported as a warning; a log file never changes the outcome of a delivery. */
void log_append(const char *path, const char *fields);

#endif
