/* log: stderr, transcript, log file and syslog; peer text is cleaned, secrets are never printed. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"

static int log_v;

void log_set_verbose(int on)
{
	log_v = on;
}

int log_verbose(void)
{
	return log_v;
}

/* One line, whatever the text holds: control characters (from a peer, an argument or a file)
 * are written as \xNN, so a message can never forge another line or drive the terminal. UTF-8
 * and the backslash stay as they are: this is read by people, not parsed. */
static void log_vline(const char *prefix, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void log_vline(const char *prefix, const char *fmt, va_list ap)
{
	char text[1024];
	struct buf line;

	vsnprintf(text, sizeof text, fmt, ap);
	buf_init(&line, 4 * sizeof text);	/* every byte may need a 4-byte escape */
	if (buf_add_clean_mode(&line, text, strlen(text),
			       BUF_CLEAN_KEEP_UTF8 | BUF_CLEAN_KEEP_BACKSLASH) < 0)
		abort();	/* cannot happen: the cap is 4 times the text */
	fprintf(stderr, "%s%s\n", prefix, line.data);
	fflush(stderr);
	buf_free(&line);
}

void log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline("postbote: ", fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline("postbote: warning: ", fmt, ap);
	va_end(ap);
}

void log_note(const char *fmt, ...)
{
	va_list ap;

	if (!log_v)
		return;
	va_start(ap, fmt);
	log_vline("--- ", fmt, ap);
	va_end(ap);
}

void log_transcript(enum log_dir dir, const char *line, size_t len, int flags)
{
	struct buf b;

	if (!log_v)
		return;
	buf_init(&b, 4 * 4096 + 64);	/* every byte may need a 4-byte escape */
	if (buf_addstr(&b, dir == LOG_IN ? "<-- " : "--> ") < 0)
		buf_broken(__FILE__, __LINE__);
	if (flags & LOG_SECRET) {
		/* "AUTH PLAIN <payload>" keeps "AUTH PLAIN"; a bare response shows nothing of itself */
		size_t keep = 0;

		if (len > 5 && strncasecmp(line, "AUTH ", 5) == 0) {
			const char *sp = memchr(line + 5, ' ', len - 5);

			keep = sp ? (size_t)(sp - line) : len;
		}
		if (buf_add_clean(&b, line, keep) < 0 ||
		    (keep < len && buf_addstr(&b, keep ? " ***" : "***") < 0))
			buf_broken(__FILE__, __LINE__);
	} else if (buf_add_clean(&b, line, len > 4096 ? 4096 : len) < 0) {
		buf_broken(__FILE__, __LINE__);
	}
	fprintf(stderr, "%s\n", b.data);
	buf_free(&b);
}

/* Characters a value may have and still be written bare; everything else is quoted. '=' and
 * '"' are not among them, nor the blank, so a bare value can never look like another field. */
#define LOG_BARE "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._@+:/,<>-"

int log_field(struct buf *b, const char *key, const char *value)
{
	size_t start = b->len, n = strlen(value);
	int r;

	/* keys are ours, never data: one that would need quoting is a bug */
	if (!*key || strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(key))
		abort();
	r = buf_addch(b, ' ') < 0 || buf_addstr(b, key) < 0 || buf_addch(b, '=') < 0;
	if (!r && n && strspn(value, LOG_BARE) == n)
		r = buf_add(b, value, n) < 0;
	else if (!r)
		r = buf_addch(b, '"') < 0 || buf_add_clean_mode(b, value, n, BUF_CLEAN_QUOTE) < 0 ||
		    buf_addch(b, '"') < 0;
	if (r) {
		b->len = start;	/* a field is all there or not at all */
		if (b->cap)
			b->data[start] = '\0';
		return -1;
	}
	return 0;
}

int log_field_num(struct buf *b, const char *key, long long value)
{
	char num[32];

	snprintf(num, sizeof num, "%lld", value);
	return log_field(b, key, num);
}

/* The log file, opened for appending only when it is ours: created new (0600), or an existing
 * regular file with one link that belongs to us or to root. Anything else may be someone else's
 * trap (a link to a file we can write and they cannot, a file they can read), so it is refused
 * with a warning that says why. -1 when refused. */
static int log_open(const char *path)
{
	struct stat st;
	int fd;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0 || errno != EEXIST)
		goto opened;
	/* O_NONBLOCK: a FIFO placed there must not hang us in open() */
	fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
opened:
	if (fd < 0) {
		if (errno == ELOOP)
			log_warn("log file %s is a symbolic link; not writing to it", path);
		else if (errno == ENXIO)
			log_warn("log file %s is not a regular file; not writing to it", path);
		else
			log_warn("cannot write to log file %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		log_warn("cannot write to log file %s: %s", path, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		log_warn("log file %s is not a regular file; not writing to it", path);
	} else if (st.st_uid != geteuid() && st.st_uid != 0) {
		log_warn("log file %s belongs to another user (uid %lu); not writing to it", path,
			 (unsigned long)st.st_uid);
	} else if (st.st_nlink != 1) {
		log_warn("log file %s has %lu hard links; not writing to it", path,
			 (unsigned long)st.st_nlink);
	} else {
		return fd;
	}
	close(fd);
	return -1;
}

void log_append(const char *path, const char *fields)
{
	char stamp[64];
	time_t now = time(NULL);
	struct tm tm;
	struct buf line;
	int fd;

	localtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S%z", &tm);
	if (*fields == ' ')	/* log_field puts a blank before each field */
		fields++;
	buf_init(&line, strlen(fields) + sizeof stamp + 2);
	if (buf_printf(&line, "%s %s\n", stamp, fields) < 0)
		abort();	/* cannot happen: the cap fits */
	fd = log_open(path);
	if (fd < 0) {
		buf_free(&line);
		return;
	}
	/* one write of the whole line: O_APPEND keeps lines of concurrent runs apart */
	if (write(fd, line.data, line.len) != (ssize_t)line.len)
		log_warn("cannot write to log file %s: %s", path, strerror(errno));
	close(fd);
	buf_free(&line);
}

/* The line to its places. syslog(3) drops it quietly when nothing listens on /dev/log, and
 * closelog() after each line keeps no descriptor open across a queue run's children. */
static void log_emit(const struct log_dest *d, int severity, const char *fields)
{
	if (d->logfile)
		log_append(d->logfile, fields);
	if (!d->syslog)
		return;
	openlog("postbote", LOG_PID, d->syslog);
	syslog(severity, "%s", *fields == ' ' ? fields + 1 : fields);
	closelog();
}

#define LOG_RCPTS_MAX 8192	/* the submission's recipient list, so that a line stays readable */

void log_submission(const struct log_dest *d, const struct log_submission *s)
{
	struct buf b, list;
	int queued = s->queued && *s->queued;

	if (!d->logfile && !d->syslog)
		return;
	buf_init(&b, 65536);	/* room for the list below with every byte escaped */
	buf_init(&list, LOG_RCPTS_MAX + 4);
	for (size_t i = 0; i < s->nrcpts; i++)
		if (list.len + 1 + strlen(s->rcpts[i]) > LOG_RCPTS_MAX ||
		    buf_printf(&list, "%s%s", i ? "," : "", s->rcpts[i]) < 0) {
			if (buf_addstr(&list, ",...") < 0)	/* too many for one line: say so */
				abort();	/* cannot happen: 4 bytes are kept for it */
			break;
		}
	if (log_field(&b, "host", s->host) < 0 || log_field(&b, "tls", s->tls) < 0 ||
	    log_field(&b, "auth", s->auth) < 0 || log_field(&b, "user", s->user) < 0 ||
	    (s->uid && log_field_num(&b, "uid", (long long)s->uid) < 0) ||
	    log_field(&b, "from", *s->from ? s->from : "<>") < 0 ||
	    log_field(&b, "recipients", list.data) < 0 || log_field_num(&b, "size", s->size) < 0 ||
	    (queued && log_field(&b, "queued", s->queued) < 0) ||
	    log_field(&b, s->error ? "error" : "reply", s->error ? s->error : s->reply) < 0 ||
	    log_field_num(&b, "exit", s->exit) < 0)
		log_warn("log line too long; cut short");
	log_emit(d, s->error ? LOG_ERR : queued ? LOG_WARNING : LOG_INFO, b.data);
	buf_free(&list);
	buf_free(&b);
}

void log_try(const struct log_dest *d, const struct log_try *t)
{
	int failed = 0, waiting = 0;
	struct buf b;

	if (!d->logfile && !d->syslog)
		return;
	buf_init(&b, 65536);
	if (buf_addstr(&b, "queue-run") < 0 || log_field(&b, "id", t->id) < 0 ||
	    log_field(&b, "host", t->host) < 0 || log_field(&b, "auth", t->auth) < 0 ||
	    log_field(&b, "from", *t->from ? t->from : "<>") < 0 ||
	    log_field_num(&b, "size", t->size) < 0 || log_field_num(&b, "attempt", t->attempt) < 0)
		buf_broken(__FILE__, __LINE__);
	for (size_t i = 0; i < t->nrcpts; i++) {
		failed |= strcmp(t->rcpts[i].state, "failed") == 0;
		waiting |= strcmp(t->rcpts[i].state, "sent") != 0;
	}
	for (size_t i = 0; i < t->nrcpts; i++) {
		const struct log_rcpt *r = &t->rcpts[i];
		struct buf v;
		int full;

		buf_init(&v, 4096);
		/* ADDRESS:STATE:REASON, quoted by log_field, so that no value can forge another */
		full = buf_printf(&v, "%s:%s:%s", r->addr, r->state, r->reason) < 0 ||
		       log_field(&b, "rcpt", v.data) < 0;
		buf_free(&v);
		if (full)
			break;
	}
	log_emit(d, failed ? LOG_ERR : waiting ? LOG_WARNING : LOG_INFO, b.data);
	buf_free(&b);
}
