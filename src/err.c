/* err: fixed-size error records and the allocation wrappers that end on failure. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "err.h"

int err_set(struct err *e, enum err_kind kind, const char *fmt, ...)
{
	va_list ap;

	e->kind = kind;
	e->flags = 0;
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof e->text, fmt, ap);
	va_end(ap);
	return -1;
}

int err_timeout(struct err *e, const char *fmt, ...)
{
	va_list ap;

	e->kind = ERR_TEMP;
	e->flags = ERR_TIMEOUT;
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof e->text, fmt, ap);
	va_end(ap);
	return -1;
}

int err_wrap(struct err *e, const char *fmt, ...)
{
	char old[ERR_TEXT_MAX];
	va_list ap;
	int n;

	memcpy(old, e->text, sizeof old);
	va_start(ap, fmt);
	n = vsnprintf(e->text, sizeof e->text, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof e->text - 2)
		return -1;
	/* ": old", cut to fit (old text is the least important part of the line) */
	{
		size_t used = (size_t)n, k = strnlen(old, sizeof old);

		memcpy(e->text + used, ": ", 2);
		used += 2;
		if (k > sizeof e->text - 1 - used)
			k = sizeof e->text - 1 - used;
		memcpy(e->text + used, old, k);
		e->text[used + k] = '\0';
	}
	return -1;
}

void err_oom(void)
{
	static const char msg[] = "postbote: out of memory\n";

	(void)!write(2, msg, sizeof msg - 1);
	_exit(EX_OSERR);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		err_oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		err_oom();
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		err_oom();
	return p;
}

int xwrite_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int xcopy_range(int to, int from, off_t offset, off_t size)
{
	static char chunk[65536];

	while (size > 0) {
		ssize_t n = pread(from, chunk, size < (off_t)sizeof chunk ? (size_t)size : sizeof chunk,
				  offset);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		if (xwrite_all(to, chunk, (size_t)n) < 0)
			return -1;
		offset += n;
		size -= n;
	}
	return 0;
}
