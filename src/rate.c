/* rate: per-account rate records in the queue directory. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "rate.h"
#include "caps.h"

#define RATE_KEEP (24 * 3600)	/* the longest rate window */
static void rate_path(const struct queue *q, const char *account, char *out, size_t size)
{
	size_t n = (size_t)snprintf(out, size, "%s/rate/", q->dir);

	for (const char *p = account; *p && n + 1 < size; p++)
		out[n++] = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
				   (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'
			   ? *p
			   : '_';
	out[n] = '\0';
}

/* The messages sent within the last `window` seconds, and the oldest of them. */
static int rate_read(struct queue *q, const char *account, time_t window, time_t *oldest)
{
	char path[4200], line[64];
	time_t now = time(NULL);
	int count = 0;
	FILE *f;

	*oldest = 0;
	rate_path(q, account, path, sizeof path);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f)) {
		time_t t = (time_t)strtoll(line, NULL, 10);

		if (t > now - window) {
			count++;
			if (!*oldest || t < *oldest)
				*oldest = t;
		}
	}
	fclose(f);
	return count;
}

int rate_gate(struct queue *q, const struct account *a, time_t *next)
{
	time_t oldest;

	if (!a->rate_limit || rate_read(q, a->name, a->rate_window, &oldest) < a->rate_limit)
		return 0;
	*next = oldest + a->rate_window;
	return -1;
}

/* Keeps only what a window can still see. */
static void rate_trim(int fd, time_t now)
{
	FILE *f = fdopen(dup(fd), "r");
	struct buf keep;
	char line[64];

	buf_init(&keep, 1 << 20);
	while (f && fgets(line, sizeof line, f))
		if ((time_t)strtoll(line, NULL, 10) > now - RATE_KEEP && buf_addstr(&keep, line) < 0)
			break;
	if (f)
		fclose(f);
	if (ftruncate(fd, 0) == 0)
		(void)!write(fd, keep.data, keep.len);
	buf_free(&keep);
}

void rate_count(struct queue *q, const struct account *a)
{
	char path[4200], line[64];
	time_t now = time(NULL);
	struct stat st;
	int fd;

	if (!a->rate_limit)
		return;
	rate_path(q, a->name, path, sizeof path);
	fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	flock(fd, LOCK_EX);
	if (fstat(fd, &st) == 0 && st.st_size > RATE_FILE_MAX)
		rate_trim(fd, now);
	snprintf(line, sizeof line, "%lld\n", (long long)now);
	(void)!write(fd, line, strlen(line));
	close(fd);
}

void rate_reason(const struct account *a, time_t next, char *out, size_t size)
{
	char when[64];
	struct tm tm;

	localtime_r(&next, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(out, size, "the rate limit of %d per %s is reached; it goes out at %s",
		 a->rate_limit, a->rate_window == 3600 ? "hour" : "day", when);
}
