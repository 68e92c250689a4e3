/* queue: crash-safe queue files, state files with each recipient's fate, per-message locks. */
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
#include "caps.h"

#define QUEUE_VERSION "postbote-queue 1"
#define QUEUE_END "end\n"
#define QUEUE_PATH_MAX 4200

static const char *const queue_areas[] = { "q", "tmp", "hold", "failed", "rate" };

const char *queue_area_name(enum queue_area a)
{
	return a == QUEUE_HOLD ? "hold" : a == QUEUE_FAILED ? "failed" : "q";
}

/* One path builder per kind of file; queue_open made sure that every one fits. */
static void queue_path(const struct queue *q, const char *area, const char *name,
		       const char *suffix, char out[QUEUE_PATH_MAX])
{
	if ((size_t)snprintf(out, QUEUE_PATH_MAX, "%s/%s/%s%s", q->dir, area, name, suffix) >=
	    QUEUE_PATH_MAX)
		abort();	/* queue_open caps the directory; ids and suffixes are short */
}

static void queue_msg_path(const struct queue *q, const struct queue_entry *ent,
			   char out[QUEUE_PATH_MAX])
{
	queue_path(q, queue_area_name(ent->area), ent->id, "", out);
}

static void queue_state_path(const struct queue *q, const struct queue_entry *ent,
			     char out[QUEUE_PATH_MAX])
{
	queue_path(q, queue_area_name(ent->area), ent->id, ".state", out);
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

static int queue_header(const char *account, const struct envelope *env, time_t created,
			off_t size, struct buf *b, struct err *e)
{
	if (buf_printf(b, "%s\n", QUEUE_VERSION) < 0 || queue_line(b, "account", account, e) < 0 ||
	    buf_printf(b, "created: %lld\n", (long long)created) < 0 ||
	    queue_line(b, "from", env->from, e) < 0)
		return -1;
	for (size_t i = 0; i < env->nrcpts; i++)
		if (queue_line(b, "rcpt", env->rcpts[i], e) < 0)
			return -1;
	if ((env->body_8bit && buf_addstr(b, "8bit: 1\n") < 0) ||
	    (env->smtputf8 && buf_addstr(b, "smtputf8: 1\n") < 0) ||
	    (env->dsn_notify && queue_line(b, "dsn-notify", env->dsn_notify, e) < 0) ||
	    (env->dsn_ret && queue_line(b, "dsn-ret", env->dsn_ret, e) < 0) ||
	    (env->dsn_envid && queue_line(b, "dsn-envid", env->dsn_envid, e) < 0) ||
	    buf_printf(b, "size: %lld\n\n", (long long)size) < 0)
		return e->kind ? -1 : err_set(e, ERR_DATA, "the envelope is too large to queue");
	return 0;
}

/* Writes data (then, with sp, the spool's bytes and the end marker) to tmp/name durably and
 * renames it to area/final. */
static int queue_commit(struct queue *q, const char *area, const char *name, const char *final,
			const struct buf *data, const struct spool *sp, struct err *e)
{
	char tmp[QUEUE_PATH_MAX], dst[QUEUE_PATH_MAX];
	int fd;

	queue_path(q, "tmp", name, "", tmp);
	queue_path(q, area, final, "", dst);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set(e, errno == EEXIST ? ERR_TEMP : ERR_IO, "cannot create %s: %s", tmp,
			       strerror(errno));
	if (xwrite_all(fd, data->data, data->len) < 0 ||
	    (sp && (xcopy_range(fd, sp->fd, sp->offset, sp->size) < 0 ||
		    xwrite_all(fd, QUEUE_END, strlen(QUEUE_END)) < 0)) ||
	    fsync(fd) < 0)
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

/* The state file's text. */
static int queue_state_text(const struct queue_entry *ent, struct buf *b, struct err *e)
{
	if (buf_printf(b, "attempts: %u\nnext: %lld\nlast: %lld\n", ent->st.attempts,
		       (long long)ent->st.next, (long long)ent->st.last) < 0 ||
	    (ent->st.error && queue_line(b, "error", ent->st.error, e) < 0))
		return e->kind ? -1 : err_set(e, ERR_DATA, "the state is too large");
	for (size_t i = 0; ent->st.fates && i < ent->env.nrcpts; i++) {
		const struct fate *f = &ent->st.fates[i];

		if (f->state == FATE_PENDING)
			continue;
		/* "fate: INDEX STATE KIND reason": fields, never an address to match again */
		if (buf_printf(b, "fate: %zu %s %d ", i, fate_name(f->state), (int)f->kind) < 0)
			return err_set(e, ERR_DATA, "the state is too large");
		for (const char *p = f->reason; *p; p++)
			if (buf_addch(b, *p == '\n' || *p == '\r' ? ' ' : *p) < 0)
				return err_set(e, ERR_DATA, "the state is too large");
		if (buf_addch(b, '\n') < 0)
			return err_set(e, ERR_DATA, "the state is too large");
	}
	return 0;
}

int queue_save(struct queue *q, const struct queue_entry *ent, struct err *e)
{
	char name[QUEUE_ID_MAX + 32], final[QUEUE_ID_MAX + 8];
	struct buf b;
	int r = -1;

	buf_init(&b, QUEUE_HEADER_MAX);
	if (queue_state_text(ent, &b, e) < 0)
		goto out;
	snprintf(name, sizeof name, "%s.state.%d", ent->id, (int)getpid());
	snprintf(final, sizeof final, "%s.state", ent->id);
	r = queue_commit(q, queue_area_name(ent->area), name, final, &b, NULL, e);
out:
	buf_free(&b);
	return r;
}

int queue_add(struct queue *q, enum queue_area area, const char *account,
	      const struct envelope *env, const struct spool *sp, const struct queue_state *st,
	      char *id, struct err *e)
{
	struct queue_entry ent = { .area = area, .env = *env, .created = time(NULL) };
	struct buf b;
	int r = -1;

	buf_init(&b, QUEUE_HEADER_MAX);
	if (queue_header(account, env, ent.created, sp->size, &b, e) < 0)
		goto out;
	for (int tries = 0; tries < 5; tries++) {
		queue_new_id(id);
		r = queue_commit(q, queue_area_name(area), id, id, &b, sp, e);
		if (r == 0 || e->kind != ERR_TEMP)	/* ERR_TEMP: the id was taken */
			break;
	}
	if (r == 0 && st) {
		struct err re;

		snprintf(ent.id, sizeof ent.id, "%s", id);
		ent.st = *st;
		/* without its state it would be sent at once, after the caller said it was not */
		if (queue_save(q, &ent, e) < 0) {
			queue_remove(q, &ent, &re);
			r = -1;
		}
	}
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

static void queue_set_str(const char **field, const char *v)
{
	free((char *)*field);
	*field = xstrdup(v);
}

/* One "key: value" line of a queue file's envelope. */
static void queue_parse_line(struct queue_entry *ent, const char *line, const char *v,
			     off_t *size)
{
	struct envelope *env = &ent->env;

	if (!strcmp(line, "account"))
		free(ent->account), ent->account = xstrdup(v);
	else if (!strcmp(line, "from"))
		queue_set_str(&env->from, v);
	else if (!strcmp(line, "rcpt"))
		strv_add(&env->rcpts, &env->nrcpts, v);
	else if (!strcmp(line, "created"))
		ent->created = (time_t)strtoll(v, NULL, 10);
	else if (!strcmp(line, "8bit"))
		env->body_8bit = 1;
	else if (!strcmp(line, "smtputf8"))
		env->smtputf8 = 1;
	else if (!strcmp(line, "dsn-notify"))
		queue_set_str(&env->dsn_notify, v);
	else if (!strcmp(line, "dsn-ret"))
		queue_set_str(&env->dsn_ret, v);
	else if (!strcmp(line, "dsn-envid"))
		queue_set_str(&env->dsn_envid, v);
	else if (!strcmp(line, "size"))
		*size = (off_t)strtoll(v, NULL, 10);
}

/* Calls fn for each "key: value" line of text (a copy is split in place). */
static void queue_each_line(const char *text, size_t len, struct queue_entry *ent, off_t *size,
			    void (*fn)(struct queue_entry *, const char *, const char *, off_t *))
{
	char *copy = xmalloc(len + 1), *line, *save = NULL;

	memcpy(copy, text, len);
	copy[len] = '\0';
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *v = strstr(line, ": ");

		if (!v)
			continue;
		*v = '\0';
		fn(ent, line, v + 2, size);
	}
	free(copy);
}

int queue_parse_envelope(const char *text, size_t len, struct queue_entry *ent, struct err *e)
{
	size_t vlen = strlen(QUEUE_VERSION) + 1;
	off_t size = -1;

	if (len < vlen || memcmp(text, QUEUE_VERSION "\n", vlen) != 0)
		return err_set(e, ERR_DATA, "queue file %s has an unknown format", ent->id);
	if (memchr(text, '\0', len))
		return err_set(e, ERR_DATA, "queue file %s is damaged (a NUL byte)", ent->id);
	queue_each_line(text + vlen, len - vlen, ent, &size, queue_parse_line);
	if (!ent->account || !ent->env.from || !ent->env.nrcpts || size < 0)
		return err_set(e, ERR_DATA, "queue file %s is incomplete or damaged", ent->id);
	ent->spool.size = size;
	return 0;
}

/* One line of a state file. `done:` and `failed: ADDR<TAB>REASON` are what version 0.1 wrote. */
static void queue_state_line(struct queue_entry *ent, const char *key, const char *v, off_t *unused)
{
	struct fate f = { 0 };
	char state[16];
	int kind, off = 0;
	size_t i;

	(void)unused;
	if (!strcmp(key, "attempts"))
		ent->st.attempts = (unsigned)strtoul(v, NULL, 10);
	else if (!strcmp(key, "next"))
		ent->st.next = (time_t)strtoll(v, NULL, 10);
	else if (!strcmp(key, "last"))
		ent->st.last = (time_t)strtoll(v, NULL, 10);
	else if (!strcmp(key, "error"))
		free(ent->st.error), ent->st.error = xstrdup(v);
	else if (!strcmp(key, "fate") &&
		 sscanf(v, "%zu %15s %d %n", &i, state, &kind, &off) == 3 && off > 0 &&
		 i < ent->env.nrcpts && fate_parse(state) > FATE_PENDING) {
		f.state = (enum fate_state)fate_parse(state);
		f.kind = kind >= ERR_NONE && kind <= ERR_CONFIG ? (enum err_kind)kind : ERR_UNAVAILABLE;
		snprintf(f.reason, sizeof f.reason, "%s", v + off);
		queue_set_fate(ent, i, &f);
	} else if (!strcmp(key, "done") || !strcmp(key, "failed")) {
		size_t n = strcspn(v, "\t");

		f.state = key[0] == 'd' ? FATE_SENT : FATE_FAILED;
		f.kind = key[0] == 'd' ? ERR_NONE : ERR_NOUSER;
		snprintf(f.reason, sizeof f.reason, "%s", v[n] ? v + n + 1 : "");
		for (i = 0; i < ent->env.nrcpts; i++)
			if (strlen(ent->env.rcpts[i]) == n && !strncmp(ent->env.rcpts[i], v, n))
				queue_set_fate(ent, i, &f);
	}
}

void queue_parse_state(const char *text, size_t len, struct queue_entry *ent)
{
	queue_each_line(text, len, ent, NULL, queue_state_line);
}

/* Reads the envelope of an open queue file and checks that the file is whole. -1 with ERR_IO
 * when it cannot be read, ERR_DATA when what was read is damaged. */
static int queue_read(struct queue_entry *ent, int fd, struct err *e)
{
	char chunk[8192], *end = NULL, tail[sizeof QUEUE_END];
	off_t off = 0;
	struct stat st;
	struct buf b;
	int r;

	buf_init(&b, QUEUE_HEADER_MAX);
	while (!end) {
		ssize_t n = pread(fd, chunk, sizeof chunk, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			buf_free(&b);
			return err_set(e, ERR_IO, "cannot read queue file %s: %s", ent->id,
				       strerror(errno));
		}
		if (n == 0 || buf_add(&b, chunk, (size_t)n) < 0) {
			buf_free(&b);
			return err_set(e, ERR_DATA, "queue file %s is damaged (no end of envelope)",
				       ent->id);
		}
		off += n;
		end = strstr(b.data, "\n\n");
	}
	ent->spool.offset = end + 2 - b.data;
	r = queue_parse_envelope(b.data, (size_t)(end + 1 - b.data), ent, e);
	buf_free(&b);
	if (r < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		return err_set(e, ERR_IO, "cannot read queue file %s: %s", ent->id, strerror(errno));
	if (st.st_size != ent->spool.offset + ent->spool.size + (off_t)strlen(QUEUE_END) ||
	    pread(fd, tail, strlen(QUEUE_END), st.st_size - (off_t)strlen(QUEUE_END)) !=
		    (ssize_t)strlen(QUEUE_END) ||
	    memcmp(tail, QUEUE_END, strlen(QUEUE_END)) != 0)
		return err_set(e, ERR_DATA, "queue file %s is incomplete or damaged", ent->id);
	return 0;
}

/* The state file, when there is one. -1 with ERR_IO when it is there but cannot be read: the
 * message must then wait, since its state says who has it already. */
static int queue_read_state(struct queue *q, struct queue_entry *ent, struct err *e)
{
	char path[QUEUE_PATH_MAX];
	struct buf b;
	int fd, r = 0;

	queue_state_path(q, ent, path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : err_set(e, ERR_IO, "cannot open %s: %s", path,
						     strerror(errno));
	buf_init(&b, QUEUE_HEADER_MAX);
	for (;;) {
		char chunk[8192];
		ssize_t n = read(fd, chunk, sizeof chunk);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = err_set(e, ERR_IO, "cannot read %s: %s", path, strerror(errno));
			break;
		}
		if (n == 0 || buf_add(&b, chunk, (size_t)n) < 0)
			break;
	}
	close(fd);
	if (r == 0)
		queue_parse_state(b.data, b.len, ent);
	buf_free(&b);
	return r;
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

static void queue_entry_init(struct queue_entry *ent, enum queue_area area, const char *id)
{
	memset(ent, 0, sizeof *ent);
	ent->spool.fd = -1;
	ent->area = area;
	snprintf(ent->id, sizeof ent->id, "%s", id);
}

int queue_get(struct queue *q, enum queue_area area, const char *id, int lock,
	      struct queue_entry *ent, struct err *e)
{
	char path[QUEUE_PATH_MAX];
	struct stat a, b;
	int fd;

	queue_entry_init(ent, area, id);
	if (strlen(id) >= QUEUE_ID_MAX || strchr(id, '/') || id[0] == '.' || !id[0])
		return err_set(e, ERR_USAGE, "'%s' is not a queue id", id);
	queue_msg_path(q, ent, path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		return err_set(e, errno == EMFILE || errno == ENFILE || errno == ENOMEM ? ERR_OS
										      : ERR_IO,
			       "cannot open %s: %s", path, strerror(errno));
	}
	/* a runner that unlinked it after our open() must not be followed */
	if (lock && (flock(fd, LOCK_EX | LOCK_NB) < 0 || stat(path, &a) < 0 || fstat(fd, &b) < 0 ||
		     a.st_ino != b.st_ino || a.st_dev != b.st_dev)) {
		close(fd);
		return 1;
	}
	if (queue_read(ent, fd, e) < 0 || queue_read_state(q, ent, e) < 0) {
		close(fd);
		queue_release(ent);	/* what was read before the damage showed */
		queue_entry_init(ent, area, id);
		return -1;
	}
	if (lock)
		ent->spool.fd = fd;
	else
		close(fd);
	return 0;
}

void queue_release(struct queue_entry *ent)
{
	enum queue_area area = ent->area;
	char id[QUEUE_ID_MAX];

	if (ent->spool.fd >= 0)
		close(ent->spool.fd);
	free(ent->account);
	free((char *)ent->env.from);
	strv_free(ent->env.rcpts, ent->env.nrcpts);
	free((char *)ent->env.dsn_notify);
	free((char *)ent->env.dsn_ret);
	free((char *)ent->env.dsn_envid);
	free(ent->st.error);
	free(ent->st.fates);
	memcpy(id, ent->id, sizeof id);
	queue_entry_init(ent, area, id);
}

static int queue_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int queue_list(struct queue *q, enum queue_area area, char ***ids, size_t *n, struct err *e)
{
	char path[QUEUE_PATH_MAX];
	struct dirent *d;
	DIR *dir;

	*ids = NULL;
	*n = 0;
	queue_path(q, queue_area_name(area), "", "", path);
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

/* Removes the state files in area whose message is gone: a removal or move that was killed
 * half way. */
static void queue_clean_orphans(struct queue *q, const char *area)
{
	char path[QUEUE_PATH_MAX];
	struct dirent *d;
	DIR *dir;

	queue_path(q, area, "", "", path);
	dir = opendir(path);
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		size_t n = strlen(d->d_name);
		char msg[QUEUE_PATH_MAX], id[QUEUE_ID_MAX];

		if (n < 7 || n - 6 >= sizeof id || strcmp(d->d_name + n - 6, ".state") != 0)
			continue;
		snprintf(id, sizeof id, "%.*s", (int)(n - 6), d->d_name);
		queue_path(q, area, id, "", msg);
		if (access(msg, F_OK) < 0 && errno == ENOENT) {
			queue_path(q, area, id, ".state", msg);
			unlink(msg);
		}
	}
	closedir(dir);
}

void queue_clean_tmp(struct queue *q, time_t age)
{
	char path[QUEUE_PATH_MAX];
	struct dirent *d;
	struct stat st;
	time_t now = time(NULL);
	DIR *dir;

	queue_path(q, "tmp", "", "", path);
	dir = opendir(path);
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.' || strlen(d->d_name) > 255)
			continue;
		queue_path(q, "tmp", d->d_name, "", path);
		if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && now - st.st_mtime > age)
			unlink(path);
	}
	closedir(dir);
	queue_clean_orphans(q, "q");
	queue_clean_orphans(q, "hold");
	queue_clean_orphans(q, "failed");
}

/* ---- changing ---- */

int queue_remove(struct queue *q, const struct queue_entry *ent, struct err *e)
{
	char path[QUEUE_PATH_MAX];

	queue_msg_path(q, ent, path);
	if (unlink(path) < 0 && errno != ENOENT)
		return err_set(e, ERR_IO, "cannot remove %s: %s", path, strerror(errno));
	queue_state_path(q, ent, path);
	unlink(path);
	return queue_fsync_dir(q, queue_area_name(ent->area), e);
}

int queue_move(struct queue *q, struct queue_entry *ent, enum queue_area area, struct err *e)
{
	struct queue_entry to = { .area = area };
	char from[QUEUE_PATH_MAX], dst[QUEUE_PATH_MAX];

	memcpy(to.id, ent->id, sizeof to.id);
	queue_msg_path(q, ent, from);
	queue_msg_path(q, &to, dst);
	if (rename(from, dst) < 0)
		return err_set(e, ERR_IO, "cannot move %s to %s: %s", from, dst, strerror(errno));
	queue_state_path(q, ent, from);
	queue_state_path(q, &to, dst);
	if (rename(from, dst) < 0 && errno != ENOENT)
		return err_set(e, ERR_IO, "cannot move %s: %s", from, strerror(errno));
	if (queue_fsync_dir(q, queue_area_name(area), e) < 0 ||
	    queue_fsync_dir(q, queue_area_name(ent->area), e) < 0)
		return -1;
	ent->area = area;
	return 0;
}

enum fate_state queue_fate(const struct queue_entry *ent, size_t i)
{
	return ent->st.fates && i < ent->env.nrcpts ? ent->st.fates[i].state : FATE_PENDING;
}

void queue_set_fate(struct queue_entry *ent, size_t i, const struct fate *f)
{
	if (i >= ent->env.nrcpts)
		return;
	if (!ent->st.fates) {
		ent->st.fates = calloc(ent->env.nrcpts, sizeof *ent->st.fates);
		if (!ent->st.fates)
			err_oom();
	}
	ent->st.fates[i] = *f;
}

/* The last change of a message or its state, 0 when neither is there. */
static time_t queue_mtime(const struct queue *q, const struct queue_entry *ent)
{
	char path[QUEUE_PATH_MAX];
	struct stat st;
	time_t t = 0;

	queue_msg_path(q, ent, path);
	if (lstat(path, &st) == 0)
		t = st.st_mtime;
	queue_state_path(q, ent, path);
	if (lstat(path, &st) == 0 && st.st_mtime > t)
		t = st.st_mtime;
	return t;
}

size_t queue_prune(struct queue *q, enum queue_area area, time_t age)
{
	time_t now = time(NULL);
	size_t n, gone = 0;
	struct err e;
	char **ids;

	if (queue_list(q, area, &ids, &n, &e) < 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		struct queue_entry ent;
		time_t t;

		queue_entry_init(&ent, area, ids[i]);
		t = queue_mtime(q, &ent);
		if (t && now - t > age && queue_remove(q, &ent, &e) == 0)
			gone++;
	}
	queue_ids_free(ids, n);
	return gone;
}
