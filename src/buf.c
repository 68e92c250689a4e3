/* buf: capped byte buffer, never NULL, always NUL-terminated. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"

static char buf_empty[1];

void buf_init(struct buf *b, size_t max)
{
	b->data = buf_empty;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void buf_free(struct buf *b)
{
	if (b->cap)
		free(b->data);
	buf_init(b, b->max);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->cap)
		b->data[0] = '\0';
}

static int buf_grow(struct buf *b, size_t extra)
{
	size_t want, cap;

	if (extra > b->max - b->len)
		return -1;
	want = b->len + extra;
	if (want <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < want)
		cap = cap > ((size_t)-1) / 4 ? want : cap * 2;
	if (cap > b->max)
		cap = b->max;
	if (b->cap) {
		b->data = xrealloc(b->data, cap + 1);
	} else {
		b->data = xmalloc(cap + 1);
		b->data[0] = '\0';
	}
	b->cap = cap;
	return 0;
}

int buf_add(struct buf *b, const void *p, size_t n)
{
	if (buf_grow(b, n) < 0)
		return -1;
	if (n) {
		memcpy(b->data + b->len, p, n);
		b->len += n;
	}
	if (b->cap)
		b->data[b->len] = '\0';
	return 0;
}

int buf_addstr(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int buf_addch(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_grow(b, (size_t)n) < 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void buf_broken(const char *file, int line)
{
	fprintf(stderr, "postbote: internal error: a buffer cap was exceeded at %s:%d\n", file, line);
	abort();
}

void buf_setlen(struct buf *b, size_t n)
{
	if (n > b->len)
		abort();
	b->len = n;
	if (b->cap)
		b->data[n] = '\0';
}

char *buf_detach(struct buf *b, size_t *len)
{
	char *p = b->cap ? b->data : xstrdup("");

	if (len)
		*len = b->len;
	buf_init(b, b->max);
	return p;
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

/* The cleaned form of byte c into out (at most 4 bytes) under the BUF_CLEAN_* flags; returns
 * its length. */
static size_t buf_clean_byte(unsigned char c, unsigned flags, char *out)
{
	static const char hex[] = "0123456789abcdef";

	if (c == '\\' && !(flags & BUF_CLEAN_KEEP_BACKSLASH)) {
		out[0] = out[1] = '\\';
		return 2;
	}
	if (c == '"' && (flags & BUF_CLEAN_QUOTE)) {
		out[0] = '\\';
		out[1] = '"';
		return 2;
	}
	if ((c >= 0x20 && c < 0x7f) || (c >= 0x80 && (flags & BUF_CLEAN_KEEP_UTF8))) {
		out[0] = (char)c;
		return 1;
	}
	out[0] = '\\';
	out[1] = 'x';
	out[2] = hex[c >> 4];
	out[3] = hex[c & 15];
	return 4;
}

int buf_add_clean_mode(struct buf *b, const void *p, size_t n, unsigned flags)
{
	const unsigned char *s = p;
	size_t start = b->len;

	for (size_t i = 0; i < n; i++) {
		char esc[4];
		size_t k = buf_clean_byte(s[i], flags, esc);

		if (buf_add(b, esc, k) < 0) {
			b->len = start;	/* all or nothing, as every buf function */
			if (b->cap)
				b->data[start] = '\0';
			return -1;
		}
	}
	return 0;
}

int buf_add_clean(struct buf *b, const void *p, size_t n)
{
	return buf_add_clean_mode(b, p, n, 0);
}

void buf_clean_str(char *dst, size_t size, const void *src, size_t n)
{
	const unsigned char *s = src;
	size_t used = 0;

	if (!size)
		return;
	for (size_t i = 0; i < n; i++) {
		char esc[4];
		size_t k = buf_clean_byte(s[i], 0, esc);

		if (used + k > size - 1)	/* a prefix of the cleaned text: cut to fit */
			k = size - 1 - used;
		memcpy(dst + used, esc, k);
		used += k;
		if (used == size - 1)
			break;
	}
	dst[used] = '\0';
}

int buf_add_base64(struct buf *b, const void *p, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *s = p;
	size_t i, start = b->len;

	/* all or nothing, and room for all of it at once: growing as it goes would leave copies
	 * of a password's encoding in the blocks that realloc frees */
	if (buf_grow(b, (n + 2) / 3 * 4) < 0)
		return -1;
	for (i = 0; i + 2 < n; i += 3) {
		char q[4] = { tab[s[i] >> 2], tab[((s[i] & 3) << 4) | (s[i + 1] >> 4)],
			      tab[((s[i + 1] & 15) << 2) | (s[i + 2] >> 6)], tab[s[i + 2] & 63] };
		if (buf_add(b, q, 4) < 0)
			goto fail;
	}
	if (n - i == 1) {
		char q[4] = { tab[s[i] >> 2], tab[(s[i] & 3) << 4], '=', '=' };

		if (buf_add(b, q, 4) < 0)
			goto fail;
	} else if (n - i == 2) {
		char q[4] = { tab[s[i] >> 2], tab[((s[i] & 3) << 4) | (s[i + 1] >> 4)],
			      tab[(s[i + 1] & 15) << 2], '=' };

		if (buf_add(b, q, 4) < 0)
			goto fail;
	}
	return 0;
fail:
	b->len = start;
	if (b->cap)
		b->data[start] = '\0';
	return -1;
}
