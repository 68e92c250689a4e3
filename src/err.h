/* err: what went wrong, as a kind and one line of text, in a caller-owned struct.
 * Filling an error never allocates, so it works on every failure path. Kinds map to
 * sysexits codes in main.c only. */
#ifndef POSTBOTE_ERR_H
#define POSTBOTE_ERR_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

enum err_kind {
	ERR_NONE = 0,
	ERR_USAGE,	/* bad command line */
	ERR_DATA,	/* the message itself is unusable */
	ERR_NOUSER,	/* a recipient was refused for good */
	ERR_NOHOST,	/* the host name does not resolve */
	ERR_UNAVAILABLE,	/* the server refused for good */
	ERR_SOFTWARE,	/* a bug of ours */
	ERR_OS,		/* a system call failed */
	ERR_IO,		/* reading or writing a file failed */
	ERR_TEMP,	/* try again later: 4xx, refused, timed out, lost */
	ERR_PROTOCOL,	/* the peer broke the protocol or TLS failed */
	ERR_AUTH,	/* authentication failed or permission denied */
	ERR_CONFIG,	/* the configuration is wrong */
};

#define ERR_TEXT_MAX 512

/* What a caller may need beyond the kind; err_set clears them. */
#define ERR_TIMEOUT 1u	/* a deadline passed (the kind is ERR_TEMP): nothing more came */
#define ERR_REFUSED 2u	/* the server refused the credentials with a 5xx to AUTH (ERR_AUTH) */

struct err {
	enum err_kind kind;
	unsigned flags;
	char text[ERR_TEXT_MAX];
};

/* Sets kind and text (printf format); always returns -1 so callers can `return err_set(...)`.
 * A second call replaces the first. */
int err_set(struct err *e, enum err_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* err_set, then marks the error as a timeout. */
int err_timeout(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefixes the existing text with more context: "CONTEXT: old text". Returns -1. */
int err_wrap(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Ends the process after an allocation failure (EX_OSERR); never returns. */
void err_oom(void) __attribute__((noreturn));

/* malloc/realloc/strdup that end the process on failure. */
void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* Writes all n bytes of p to fd, again after EINTR and short writes. 0, or -1 with errno. */
int xwrite_all(int fd, const void *p, size_t n);

/* Copies size bytes of `from` at offset to `to` (at its position). 0, or -1 with errno (EIO when
 * `from` ends early). */
int xcopy_range(int to, int from, off_t offset, off_t size);

#endif
