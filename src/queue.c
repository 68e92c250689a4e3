/* queue: crash-safe queue files, state files, per-message locks, rate records. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "queue.h"

#define QUEUE_VERSION "postbote-queue 1"
#define QUEUE_END "end\n"
#define QUEUE_HEADER_MAX (16 * 1024 * 1024)
#define QUEUE_RATE_KEEP (24 * 3600)	/* the longest rate window */

static const char *const queue_areas[] = { "q", "tmp", "hold", "failed", "rate" };

static int queue_path(const struct queue *q, const char *area, const char *name, char *out,
		      size_t size, struct err *e)
{
	if ((size_t)snprintf(out, size, "%s/%s/%s", q->dir, area, name) >= size)
		return err_set(e, ERR_CONFIG, "queue directory path too long");
	return 0;
}

static int queue_fsync_dir(const struct queue *q, const char *area, struct err *e)
{
	char path[4200];
	int fd, r;

	snprintf(path, sizeof path, "%s/%s", q->dir, area);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, ERR_IO, "cannot open %s: %s", path, strerror(errno));
	r = fsync(fd);
	close(fd);
	if (r < 0)
		return err_set(e, ERR_IO, "cannot sync %s: %s", path, strerror(errno));
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* ---- the directory ---- */

/* mkdir -p, each missing directory 0700. */
static int queue_mkdirs(const char *dir, struct err *e)
{
	char path[4096];

	snprintf(path, sizeof path, "%s", dir);
	for (char *p = path + 1; ; p++) {
		if (*p != '/' && *p)
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return err_set(e, ERR_CONFIG, "cannot create queue directory %s: %s", path,
				       strerror(errno));
		*p = c;
		if (!c)
			return 0;
	}
}

int queue_open(struct queue *q, const char *dir, struct err *e)
{
	struct stat st;

	if (!*dir || strlen(dir) + 64 > sizeof q->dir)
		return err_set(e, ERR_CONFIG, "bad queue directory '%s'", dir);
	snprintf(q->dir, sizeof q->dir, "%s", dir);
	if (queue_mkdirs(dir, e) < 0)
		return -1;
	if (stat(dir, &st) < 0)
		return err_set(e, ERR_CONFIG, "queue directory %s: %s", dir, strerror(errno));
	if (st.st_uid != geteuid())
		return err_set(e, ERR_CONFIG, "queue directory %s belongs to uid %u, not to you; "
			       "set queue_dir to a directory of your own", dir, (unsigned)st.st_uid);
	if (st.st_mode & 022)
		return err_set(e, ERR_CONFIG, "queue directory %s can be written by others; run: "
			       "chmod 700 %s", dir, dir);
	for (size_t i = 0; i < sizeof queue_areas / sizeof queue_areas[0]; i++) {
		char path[4200];

		snprintf(path, sizeof path, "%s/%s", dir, queue_areas[i]);
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return err_set(e, ERR_CONFIG, "cannot create %s: %s", path, strerror(errno));
	}
	return 0;
}

/* ---- writing ---- */

static void queue_new_id(char *id)
{
	unsigned char rnd[5] = { 0 };
	time_t now = time(NULL);
	struct tm tm;

	if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd)
		memcpy(rnd, &(unsigned){ (unsigned)getpid() ^ (unsigned)now }, 4);
	gmtime_r(&now, &tm);
	snprintf(id, QUEUE_ID_MAX, "%04u%02u%02u%02u%02u%02u.%02x%02x%02x%02x%02x",
		 (unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)(tm.tm_mon + 1) % 100u,
		 (unsigned)tm.tm_mday % 100u, (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u,
		 (unsigned)tm.tm_sec % 100u, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4]);
}

static int queue_line(struct buf *b, const char *key, const char *value, struct err *e)
{
	if (strpbrk(value, "\r\n"))
		return err_set(e, ERR_DATA, "a line break in the envelope (%s)", key);
	if (buf_printf(b, "%s: %s\n", key, value) < 0)
		return err_set(e, ERR_DATA, "the envelope is too large to queue");
	return 0;
}

static int queue_header(const struct queue_entry *m, off_t size, struct buf *b, struct err *e)
{
	if (buf_printf(b, "%s\n", QUEUE_VERSION) < 0 || queue_line(b, "account", m->account, e) < 0 ||
	    buf_printf(b, "created: %lld\n", (long long)m->created) < 0 ||
	    queue_line(b, "from", m->from, e) < 0)
		return -1;
	for (size_t i = 0; i < m->nrcpts; i++)
		if (queue_line(b, "rcpt", m->rcpts[i], e) < 0)
			return -1;
	if ((m->body_8bit && buf_addstr(b, "8bit: 1\n") < 0) ||
	    (m->dsn_notify && queue_line(b, "dsn-notify", m->dsn_notify, e) < 0) ||
	    (m->dsn_ret && queue_line(b, "dsn-ret", m->dsn_ret, e) < 0) ||
	    (m->dsn_envid && queue_line(b, "dsn-envid", m->dsn_envid, e) < 0) ||
	    buf_printf(b, "size: %lld\n\n", (long long)size) < 0)
		return e->kind ? -1 : err_set(e, ERR_DATA, "the envelope is too large to queue");
	return 0;
}

/* Writes data (then the spool's bytes) to tmp/name durably and renames it to area/final. */
static int queue_commit(struct queue *q, const char *area, const char *name, const char *final,
			const struct buf *data, int spool_fd, off_t size, struct err *e)
{
	char tmp[4200], dst[4200];
	static char chunk[65536];
	off_t off = 0;
	int fd;

	if (queue_path(q, "tmp", name, tmp, sizeof tmp, e) < 0 ||
	    queue_path(q, area, final, dst, sizeof dst, e) < 0)
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set(e, errno == EEXIST ? ERR_TEMP : ERR_IO, "cannot create %s: %s", tmp,
			       strerror(errno));
	if (write_all(fd, data->data, data->len) < 0)
		goto fail;
	while (off < size) {
		size_t want = size - off < (off_t)sizeof chunk ? (size_t)(size - off) : sizeof chunk;
		ssize_t n = pread(spool_fd, chunk, want, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			goto fail;
		}
		if (write_all(fd, chunk, (size_t)n) < 0)
			goto fail;
		off += n;
	}
	if (spool_fd >= 0 && write_all(fd, QUEUE_END, strlen(QUEUE_END)) < 0)
		goto fail;
	if (fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, dst) < 0)
		goto fail;
	return queue_fsync_dir(q, area, e);
fail:
	err_set(e, ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

int queue_add(struct queue *q, const char *area, const struct queue_entry *meta, int spool_fd,
	      off_t size, char *id, struct err *e)
{
	struct buf b;
	int r = -1;

	buf_init(&b, QUEUE_HEADER_MAX);
	if (queue_header(meta, size, &b, e) < 0)
		goto out;
	for (int tries = 0; tries < 5; tries++) {
		queue_new_id(id);
		r = queue_commit(q, area, id, id, &b, spool_fd, size, e);
		if (r == 0 || e->kind != ERR_TEMP)	/* ERR_TEMP: the id was taken */
			break;
	}
out:
	buf_free(&b);
	return r;
}

int queue_save(struct queue *q, const struct queue_entry *ent, struct err *e)
{
	char name[QUEUE_ID_MAX + 16], final[QUEUE_ID_MAX + 8];
	struct buf b;
	int r = -1;

	buf_init(&b, QUEUE_HEADER_MAX);
	if (buf_printf(&b, "attempts: %u\nnext: %lld\nlast: %lld\n", ent->attempts,
		       (long long)ent->next, (long long)ent->last) < 0 ||
	    (ent->error && queue_line(&b, "error", ent->error, e) < 0))
		goto out;
	for (size_t i = 0; i < ent->ndone; i++)
		if (queue_line(&b, "done", ent->done[i], e) < 0)
			goto out;
	for (size_t i = 0; i < ent->nfailed; i++)
		if (queue_line(&b, "failed", ent->failed[i], e) < 0)
			goto out;
	snprintf(name, sizeof name, "%s.state.%d", ent->id, (int)getpid());
	snprintf(final, sizeof final, "%s.state", ent->id);
	unlink(name);
	r = queue_commit(q, ent->area, name, final, &b, -1, 0, e);
out:
	buf_free(&b);
	return r;
}

/* ---- reading ---- */

static void strv_add(char ***v, size_t *n, const char *s)
{
	*v = xrealloc(*v, (*n + 1) * sizeof **v);
	(*v)[(*n)++] = xstrdup(s);
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* One "key: value" line of a queue or state file. */
static void queue_parse_line(struct queue_entry *ent, char *line, int state)
{
	char *v = strstr(line, ": ");

	if (!v)
		return;
	*v = '\0';
	v += 2;
	if (state) {
		if (!strcmp(line, "attempts"))
			ent->attempts = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(line, "next"))
			ent->next = (time_t)strtoll(v, NULL, 10);
		else if (!strcmp(line, "last"))
			ent->last = (time_t)strtoll(v, NULL, 10);
		else if (!strcmp(line, "error"))
			free(ent->error), ent->error = xstrdup(v);
		else if (!strcmp(line, "done"))
			strv_add(&ent->done, &ent->ndone, v);
		else if (!strcmp(line, "failed"))
			strv_add(&ent->failed, &ent->nfailed, v);
		return;
	}
	if (!strcmp(line, "account"))
		free(ent->account), ent->account = xstrdup(v);
	else if (!strcmp(line, "from"))
		free(ent->from), ent->from = xstrdup(v);
	else if (!strcmp(line, "rcpt"))
		strv_add(&ent->rcpts, &ent->nrcpts, v);
	else if (!strcmp(line, "created"))
		ent->created = (time_t)strtoll(v, NULL, 10);
	else if (!strcmp(line, "8bit"))
		ent->body_8bit = 1;
	else if (!strcmp(line, "dsn-notify"))
		free(ent->dsn_notify), ent->dsn_notify = xstrdup(v);
	else if (!strcmp(line, "dsn-ret"))
		free(ent->dsn_ret), ent->dsn_ret = xstrdup(v);
	else if (!strcmp(line, "dsn-envid"))
		free(ent->dsn_envid), ent->dsn_envid = xstrdup(v);
	else if (!strcmp(line, "size"))
		ent->size = (off_t)strtoll(v, NULL, 10);
}

/* Reads and checks the envelope of an open queue file. */
static int queue_read(struct queue_entry *ent, int fd, struct err *e)
{
	struct buf b;
	char chunk[8192], *end = NULL, *line;
	off_t off = 0;
	struct stat st;
	char tail[sizeof QUEUE_END];

	buf_init(&b, QUEUE_HEADER_MAX);
	while (!end) {
		ssize_t n = pread(fd, chunk, sizeof chunk, off);

		if (n <= 0 || buf_add(&b, chunk, (size_t)n) < 0) {
			buf_free(&b);
			return err_set(e, ERR_DATA, "queue file %s is damaged (no end of envelope)",
				       ent->id);
		}
		off += n;
		end = strstr(b.data, "\n\n");
	}
	*++end = '\0';
	ent->offset = end + 1 - b.data;
	if (strncmp(b.data, QUEUE_VERSION "\n", strlen(QUEUE_VERSION) + 1) != 0) {
		buf_free(&b);
		return err_set(e, ERR_DATA, "queue file %s has an unknown format", ent->id);
	}
	for (line = strtok(b.data + strlen(QUEUE_VERSION) + 1, "\n"); line;
	     line = strtok(NULL, "\n"))
		queue_parse_line(ent, line, 0);
	buf_free(&b);
	if (fstat(fd, &st) < 0 || !ent->account || !ent->from || !ent->nrcpts ||
	    st.st_size != ent->offset + ent->size + (off_t)strlen(QUEUE_END) ||
	    pread(fd, tail, strlen(QUEUE_END), st.st_size - (off_t)strlen(QUEUE_END)) !=
		    (ssize_t)strlen(QUEUE_END) ||
	    memcmp(tail, QUEUE_END, strlen(QUEUE_END)) != 0)
		return err_set(e, ERR_DATA, "queue file %s is incomplete or damaged", ent->id);
	return 0;
}

static void queue_read_state(struct queue *q, struct queue_entry *ent)
{
	char path[4200], *line = NULL;
	size_t size = 0;
	struct err e;
	FILE *f;

	if (queue_path(q, ent->area, ent->id, path, sizeof path - 8, &e) < 0)
		return;
	strcat(path, ".state");
	f = fopen(path, "re");
	if (!f)
		return;
	while (getline(&line, &size, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		queue_parse_line(ent, line, 1);
	}
	free(line);
	fclose(f);
}

int queue_get(struct queue *q, const char *area, const char *id, int lock, struct queue_entry *ent,
	      struct err *e)
{
	char path[4200];
	struct stat a, b;
	int fd;

	memset(ent, 0, sizeof *ent);
	ent->fd = -1;
	if (strlen(id) >= QUEUE_ID_MAX || strchr(id, '/') || id[0] == '.')
		return err_set(e, ERR_USAGE, "'%s' is not a queue id", id);
	snprintf(ent->id, sizeof ent->id, "%s", id);
	snprintf(ent->area, sizeof ent->area, "%s", area);
	if (queue_path(q, area, id, path, sizeof path, e) < 0)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		return err_set(e, ERR_IO, "cannot open %s: %s", path, strerror(errno));
	}
	if (lock) {
		/* a runner that unlinked it after our open() must not be followed */
		if (flock(fd, LOCK_EX | LOCK_NB) < 0 || stat(path, &a) < 0 || fstat(fd, &b) < 0 ||
		    a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
			close(fd);
			return 1;
		}
	}
	if (queue_read(ent, fd, e) < 0) {
		close(fd);
		queue_put(ent);	/* what was read before the damage showed */
		snprintf(ent->id, sizeof ent->id, "%s", id);
		snprintf(ent->area, sizeof ent->area, "%s", area);
		return -1;
	}
	queue_read_state(q, ent);
	if (lock)
		ent->fd = fd;
	else
		close(fd);
	return 0;
}

void queue_put(struct queue_entry *ent)
{
	if (ent->fd >= 0)
		close(ent->fd);
	free(ent->account);
	free(ent->from);
	strv_free(ent->rcpts, ent->nrcpts);
	strv_free(ent->done, ent->ndone);
	strv_free(ent->failed, ent->nfailed);
	free(ent->dsn_notify);
	free(ent->dsn_ret);
	free(ent->dsn_envid);
	free(ent->error);
	memset(ent, 0, sizeof *ent);
	ent->fd = -1;
}

static int queue_id_ok(const char *name)
{
	size_t n = strlen(name);

	if (!n || n >= QUEUE_ID_MAX)
		return 0;
	for (const char *p = name; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || *p == '.'))
			return 0;
	return strchr(name, '.') == strrchr(name, '.') && name[0] != '.';
}

static int queue_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int queue_list(struct queue *q, const char *area, char ***ids, size_t *n, struct err *e)
{
	char path[4200];
	struct dirent *d;
	DIR *dir;

	*ids = NULL;
	*n = 0;
	snprintf(path, sizeof path, "%s/%s", q->dir, area);
	dir = opendir(path);
	if (!dir)
		return err_set(e, ERR_IO, "cannot read %s: %s", path, strerror(errno));
	while ((d = readdir(dir)))
		if (queue_id_ok(d->d_name))
			strv_add(ids, n, d->d_name);
	closedir(dir);
	if (*n)
		qsort(*ids, *n, sizeof **ids, queue_cmp);
	return 0;
}

void queue_ids_free(char **ids, size_t n)
{
	strv_free(ids, n);
}

void queue_clean_tmp(struct queue *q, time_t age)
{
	char path[4200];
	struct dirent *d;
	struct stat st;
	time_t now = time(NULL);
	DIR *dir;

	snprintf(path, sizeof path, "%s/tmp", q->dir);
	dir = opendir(path);
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof path, "%s/tmp/%.255s", q->dir, d->d_name) >=
		    sizeof path)
			continue;
		if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && now - st.st_mtime > age)
			unlink(path);
	}
	closedir(dir);
	/* a state file whose message is gone: a removal or move that was killed half way */
	for (const char *const *area = (const char *const[]){ "q", "hold", "failed", NULL }; *area;
	     area++) {
		snprintf(path, sizeof path, "%s/%s", q->dir, *area);
		dir = opendir(path);
		if (!dir)
			continue;
		while ((d = readdir(dir))) {
			size_t n = strlen(d->d_name);
			char msg[4200];

			if (n < 7 || strcmp(d->d_name + n - 6, ".state") != 0 ||
			    (size_t)snprintf(msg, sizeof msg, "%s/%s/%.*s", q->dir, *area,
					     (int)(n - 6), d->d_name) >= sizeof msg)
				continue;
			if (access(msg, F_OK) < 0 && errno == ENOENT) {
				strcat(msg, ".state");
				unlink(msg);
			}
		}
		closedir(dir);
	}
}

/* ---- changing ---- */

int queue_remove(struct queue *q, const struct queue_entry *ent, struct err *e)
{
	char path[4200];

	if (queue_path(q, ent->area, ent->id, path, sizeof path - 8, e) < 0)
		return -1;
	if (unlink(path) < 0 && errno != ENOENT)
		return err_set(e, ERR_IO, "cannot remove %s: %s", path, strerror(errno));
	strcat(path, ".state");
	unlink(path);
	return queue_fsync_dir(q, ent->area, e);
}

int queue_move(struct queue *q, struct queue_entry *ent, const char *area, struct err *e)
{
	char from[4200], to[4200];

	if (queue_path(q, ent->area, ent->id, from, sizeof from - 8, e) < 0 ||
	    queue_path(q, area, ent->id, to, sizeof to - 8, e) < 0)
		return -1;
	if (rename(from, to) < 0)
		return err_set(e, ERR_IO, "cannot move %s to %s: %s", from, to, strerror(errno));
	strcat(from, ".state");
	strcat(to, ".state");
	if (rename(from, to) < 0 && errno != ENOENT)
		return err_set(e, ERR_IO, "cannot move %s: %s", from, strerror(errno));
	if (queue_fsync_dir(q, area, e) < 0 || queue_fsync_dir(q, ent->area, e) < 0)
		return -1;
	snprintf(ent->area, sizeof ent->area, "%s", area);
	return 0;
}

void queue_mark_done(struct queue_entry *ent, const char *addr)
{
	strv_add(&ent->done, &ent->ndone, addr);
}

void queue_mark_failed(struct queue_entry *ent, const char *addr, const char *reason)
{
	struct buf b;

	buf_init(&b, 4096);
	if (buf_printf(&b, "%s\t", addr) < 0)
		err_oom();
	for (const char *p = reason; *p && b.len < 4000; p++)
		if (buf_addch(&b, *p == '\n' || *p == '\r' || *p == '\t' ? ' ' : *p) < 0)
			break;
	strv_add(&ent->failed, &ent->nfailed, b.data);
	buf_free(&b);
}

int queue_is_done(const struct queue_entry *ent, const char *addr)
{
	size_t n = strlen(addr);

	for (size_t i = 0; i < ent->ndone; i++)
		if (strcmp(ent->done[i], addr) == 0)
			return 1;
	for (size_t i = 0; i < ent->nfailed; i++)
		if (strncmp(ent->failed[i], addr, n) == 0 && ent->failed[i][n] == '\t')
			return 1;
	return 0;
}

/* ---- rate records ---- */

static void queue_rate_path(const struct queue *q, const char *account, char *out, size_t size)
{
	size_t n = (size_t)snprintf(out, size, "%s/rate/", q->dir);

	for (const char *p = account; *p && n + 1 < size; p++)
		out[n++] = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
				   (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'
			   ? *p
			   : '_';
	out[n] = '\0';
}

int queue_rate_count(struct queue *q, const char *account, time_t window, time_t *oldest)
{
	char path[4200], line[64];
	time_t now = time(NULL);
	int count = 0;
	FILE *f;

	*oldest = 0;
	queue_rate_path(q, account, path, sizeof path);
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

void queue_rate_add(struct queue *q, const char *account)
{
	char path[4200], line[64];
	time_t now = time(NULL);
	struct stat st;
	int fd;

	queue_rate_path(q, account, path, sizeof path);
	fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	flock(fd, LOCK_EX);
	if (fstat(fd, &st) == 0 && st.st_size > 65536) {
		/* keep only what a window can still see */
		FILE *f = fdopen(dup(fd), "r");
		struct buf keep;

		buf_init(&keep, 1 << 20);
		while (f && fgets(line, sizeof line, f))
			if ((time_t)strtoll(line, NULL, 10) > now - QUEUE_RATE_KEEP &&
			    buf_addstr(&keep, line) < 0)
				break;
		if (f)
			fclose(f);
		if (ftruncate(fd, 0) == 0)
			(void)!write(fd, keep.data, keep.len);
		buf_free(&keep);
	}
	snprintf(line, sizeof line, "%lld\n", (long long)now);
	(void)!write(fd, line, strlen(line));
	close(fd);
}
