/* buf: a growable byte buffer with a hard maximum.
 * Invariants: `data` is never NULL and data[len] == '\0' at all times, so a buffer is always a
 * valid C string (which may hold NUL bytes before len). Growth past `max` fails with -1 and leaves
 * the buffer unchanged; out of memory ends the process. */
#ifndef POSTBOTE_BUF_H
#define POSTBOTE_BUF_H

#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;	/* allocated, not counting the terminator */
	size_t max;	/* len may never exceed this */
};

/* The max of a buffer whose input is capped before it arrives (a header field's text, say): the
 * cap that matters is that one, named where it is enforced. */
#define BUF_NO_MAX ((size_t)-1 / 2)

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);	/* len = 0, keeps the memory */

/* Each returns 0, or -1 when the result would exceed max (buffer unchanged). */
int buf_add(struct buf *b, const void *p, size_t n) __attribute__((warn_unused_result));
int buf_addstr(struct buf *b, const char *s) __attribute__((warn_unused_result));
int buf_addch(struct buf *b, char c) __attribute__((warn_unused_result));
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), warn_unused_result));

/* Cuts the buffer to n bytes (n <= len), keeping the terminator invariant. */
void buf_setlen(struct buf *b, size_t n);

/* Hands the memory to the caller (free it; never NULL, always terminated) and leaves the buffer
 * empty. */
char *buf_detach(struct buf *b, size_t *len);

/* After an append that cannot exceed the buffer's cap (the cap was sized from input that was
 * capped before it arrived): a -1 there is a bug of ours, not a lack of memory, so the process
 * ends with that said (abort), and never reports "out of memory". Allocation failures end the
 * process inside the buf functions themselves (err_oom). Call as buf_broken(__FILE__, __LINE__). */
void buf_broken(const char *file, int line) __attribute__((noreturn));

/* Removes the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);

/* Appends n bytes with every byte outside printable ASCII, and the backslash, written as
 * \xNN (or \\), so text from a peer can never reach a terminal raw. */
int buf_add_clean(struct buf *b, const void *p, size_t n) __attribute__((warn_unused_result));

/* The one cleaner for text from a peer, with flags for where it goes. Without flags it is
 * buf_add_clean: bytes outside printable ASCII as \xNN, the backslash as \\. Control bytes
 * (below 0x20, and 0x7f) are always escaped.
 *   BUF_CLEAN_KEEP_UTF8       bytes >= 0x80 stay as they are (stderr: a UTF-8 name is readable)
 *   BUF_CLEAN_KEEP_BACKSLASH  the backslash stays single (text for a reader, not for a parser)
 *   BUF_CLEAN_QUOTE           '"' is written as \" (inside a "..." value of a log line)
 * 0, or -1 when the result would exceed max (buffer unchanged). */
#define BUF_CLEAN_KEEP_UTF8 1u
#define BUF_CLEAN_KEEP_BACKSLASH 2u
#define BUF_CLEAN_QUOTE 4u
int buf_add_clean_mode(struct buf *b, const void *p, size_t n, unsigned flags)
	__attribute__((warn_unused_result));

/* The same into a fixed array of size bytes, cut to fit, always terminated. */
void buf_clean_str(char *dst, size_t size, const void *src, size_t n);

/* Appends the base64 (RFC 4648, padded) encoding of n bytes, all or nothing, in one allocation
 * at most (so a secret's encoding leaves no copy behind in memory that realloc freed). */
int buf_add_base64(struct buf *b, const void *p, size_t n) __attribute__((warn_unused_result));

#endif
