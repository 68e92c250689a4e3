/* dropbox: handing a local user's message to the drop program, and root's pickup. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "dropbox.h"
#include "dropfmt.h"
#include "log.h"
#include "msg.h"
#include "queue.h"
#include "rcpt.h"
#include "runq.h"
#include "submission.h"

#define DROPBOX_TMP_AGE 86400	/* what a killed drop program left goes after a day */
#define DROPBOX_FILE_MAX (DROP_REQUEST_MAX + 256 + DROP_MESSAGE_MAX + DROPFMT_TRAILER_MAX)

extern char **environ;

/* ---- the user's side ---- */

/* The message as read from `in`: line endings, dots (dot_ends), NUL bytes and long lines dealt
 * with as for any submission, the header section otherwise as it came (the account's fix-ups are
 * the pickup's). */
static int dropbox_read(const struct request *rq, int in, int dot_ends, struct msg *m,
			struct err *e)
{
	struct msg_opts mo = { .dot_ends = dot_ends, .set_from = MSG_FROM_OFF };

	if (msg_read_headers(in, &mo, m, e) < 0)
		return -1;
	if (rq->extract) {
		struct rcpt_list l = { 0 };
		int r = rcpt_from_headers(&l, &m->fields, e);
		size_t n = l.n;

		rcpt_free(&l);
		if (r < 0) {
			msg_close(m);
			return -1;
		}
		if (!n && !rq->nrcpts) {
			msg_close(m);
			return err_set(e, ERR_DATA, "no recipients: none given and none in the To:, "
				       "Cc: or Bcc: of the message");
		}
	}
	if (msg_write(m, "", e) < 0)
		return -1;
	if (m->split_lines)
		log_warn("%lu line break%s inserted into body lines longer than %d bytes",
			 m->split_lines, m->split_lines == 1 ? "" : "s", MSG_LINE_MAX);
	return 0;
}

/* Whether the drop program is there; e says what it would have been for when it is not. */
static int dropbox_installed(struct err *e)
{
	char why[ERR_TEXT_MAX];

	if (access(DROPBOX_PROGRAM, X_OK) == 0)
		return 1;
	snprintf(why, sizeof why, "%s", e->text);
	err_set(e, ERR_CONFIG, "%s. Local users send through %s, which is not installed here "
		"(postbote(1), LOCAL USERS)", why, DROPBOX_PROGRAM);
	return 0;
}

/* What the drop program reads, in an unlinked file at offset 0: the request, then the message
 * from `in`. -1 with e. */
static int dropbox_prepare(const struct request *rq, int in, int dot_ends, struct err *e)
{
	struct msg m = { .fd = -1 };
	struct buf req;
	int fd = -1;

	if (rq->from && !*rq->from)
		return err_set(e, ERR_SOFTWARE, "the null sender must be given as <>");
	buf_init(&req, DROP_REQUEST_MAX);
	if (dropfmt_request(rq, &req, e) < 0 || dropbox_read(rq, in, dot_ends, &m, e) < 0)
		goto out;
	fd = msg_spool_file(NULL, e);
	if (fd >= 0 && (xwrite_all(fd, req.data, req.len) < 0 ||
			xcopy_range(fd, m.fd, 0, m.size) < 0 || lseek(fd, 0, SEEK_SET) < 0)) {
		err_set(e, ERR_IO, "cannot write the message to a temporary file: %s",
			strerror(errno));
		close(fd);
		fd = -1;
	}
out:
	msg_close(&m);
	buf_free(&req);
	return fd;
}

static char *const dropbox_argv[] = { (char *)"postbote-drop", NULL };
static char *const dropbox_envp[] = { NULL };

int dropbox_hand(const struct request *rq, struct err *e)
{
	int fd;

	if (!dropbox_installed(e))
		return -1;
	*e = (struct err){ 0 };
	fd = dropbox_prepare(rq, 0, !rq->ignore_dots, e);
	if (fd < 0)
		return -1;
	log_note("handing the message to %s for root's next queue run", DROPBOX_PROGRAM);
	fflush(stderr);
	if (dup2(fd, 0) < 0)
		return err_set(e, ERR_OS, "dup2: %s", strerror(errno));
	execve(DROPBOX_PROGRAM, dropbox_argv, dropbox_envp);
	return err_set(e, ERR_OS, "cannot run %s: %s", DROPBOX_PROGRAM, strerror(errno));
}

/* The drop program's exit as an error kind (it uses sysexits). */
static enum err_kind dropbox_kind(int code)
{
	switch (code) {
	case EX_USAGE: return ERR_USAGE;
	case EX_DATAERR: return ERR_DATA;
	case EX_TEMPFAIL: return ERR_TEMP;
	case EX_CONFIG: return ERR_CONFIG;
	case EX_IOERR: return ERR_IO;
	default: return ERR_OS;
	}
}

int dropbox_drop(const struct request *rq, int in, struct err *e)
{
	char why[ERR_TEXT_MAX] = "";
	int fd, pipefd[2], status;
	ssize_t n = 0, r;
	pid_t pid;

	if (!dropbox_installed(e))
		return -1;
	*e = (struct err){ 0 };
	fd = dropbox_prepare(rq, in, 0, e);
	if (fd < 0)
		return -1;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		close(fd);
		return err_set(e, ERR_OS, "pipe: %s", strerror(errno));
	}
	pid = fork();
	if (pid == 0) {
		if (dup2(fd, 0) < 0 || dup2(pipefd[1], 2) < 0)
			_exit(EX_OSERR);
		execve(DROPBOX_PROGRAM, dropbox_argv, dropbox_envp);
		_exit(EX_OSERR);
	}
	close(fd);
	close(pipefd[1]);
	while (pid > 0 && (r = read(pipefd[0], why + n, sizeof why - 1 - (size_t)n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || (n += r) >= (ssize_t)sizeof why - 1)
			break;
	}
	close(pipefd[0]);
	if (pid < 0)
		return err_set(e, ERR_OS, "fork: %s", strerror(errno));
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return err_set(e, ERR_OS, "waitpid: %s", strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	why[n > 0 ? n : 0] = '\0';
	why[strcspn(why, "\n")] = '\0';
	return err_set(e, WIFEXITED(status) ? dropbox_kind(WEXITSTATUS(status)) : ERR_OS, "%s",
		       *why ? (strncmp(why, "postbote: ", 10) ? why : why + 10)
			    : "the drop program failed");
}

/* ---- root's side ---- */

/* A name the drop program gives: digits, a dot, 20 hex digits. */
static int dropbox_name_ok(const char *n)
{
	size_t d = strspn(n, "0123456789");

	return d > 0 && d < 20 && n[d] == '.' && strlen(n + d + 1) == 20 &&
	       strspn(n + d + 1, "0123456789abcdef") == 20;
}

/* The drop directory, when it is one that only root and the drop program's group can fill. */
static int dropbox_open_dir(const char *path, int quiet)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (fd < 0) {
		if (errno != ENOENT && !quiet)
			log_warn("cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || st.st_uid != 0 || (st.st_mode & S_IWOTH)) {
		if (!quiet)
			log_warn("%s is not root's or can be written by anyone: its messages are left "
				 "alone (make install sets it up; postbote(1), LOCAL USERS)", path);
		close(fd);
		return -1;
	}
	return fd;
}

/* What the pickup knows of one dropped file. */
struct dropbox_file {
	const char *name;
	int fd;
	struct stat st;
	struct dropfmt d;
	off_t body, body_size;	/* where the message is in the file */
	char login[64];
	char trace[512];
};

/* Opens, locks and reads the request of one dropped file. 1: leave it (locked by another run,
 * gone, or a transient error), -1 with ERR_DATA: a file that is not what the drop program
 * writes. */
static int dropbox_open_file(int dir, struct dropbox_file *f, int lock, struct err *e)
{
	char *head, tail[DROPFMT_TRAILER_MAX];
	size_t hn, tn, tlen = 0;
	long long size;
	ssize_t n;
	int r;

	f->fd = openat(dir, f->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (f->fd < 0)
		return errno == ELOOP ? err_set(e, ERR_DATA, "a symbolic link") : 1;
	if ((lock && flock(f->fd, LOCK_EX | LOCK_NB) < 0) || fstat(f->fd, &f->st) < 0 ||
	    f->st.st_nlink == 0)
		return 1;	/* another run has it, or had it and is done */
	if (!S_ISREG(f->st.st_mode) || f->st.st_nlink != 1 || f->st.st_size > DROPBOX_FILE_MAX)
		return err_set(e, ERR_DATA, "not a file the drop program writes");
	hn = f->st.st_size < DROP_REQUEST_MAX + 256 ? (size_t)f->st.st_size : DROP_REQUEST_MAX + 256;
	head = xmalloc(hn + 1);
	n = pread(f->fd, head, hn, 0);
	r = n == (ssize_t)hn ? dropfmt_parse(head, hn, 1, &f->d, e)
			     : err_set(e, ERR_IO, "cannot read it: %s", strerror(errno));
	free(head);
	if (r != 0)
		return r < 0 ? -1 : err_set(e, ERR_DATA, "its request has no end");
	tn = f->st.st_size < DROPFMT_TRAILER_MAX ? (size_t)f->st.st_size : DROPFMT_TRAILER_MAX;
	if (pread(f->fd, tail, tn, f->st.st_size - (off_t)tn) != (ssize_t)tn)
		return err_set(e, ERR_IO, "cannot read it: %s", strerror(errno));
	size = dropfmt_parse_trailer(tail, tn, &tlen);
	if (size < 0 || (off_t)f->d.len + size + (off_t)tlen != f->st.st_size)
		return err_set(e, ERR_DATA, "its end does not match its size");
	if ((uid_t)f->d.uid != f->st.st_uid)
		return err_set(e, ERR_DATA, "its uid is not its owner's");
	f->body = (off_t)f->d.len;
	f->body_size = size;
	return 0;
}

/* The user's name for %U and the default sender, and the trace field naming them. */
static void dropbox_identity(struct dropbox_file *f, const char *host)
{
	struct passwd *pw = getpwuid(f->st.st_uid);
	const char *name = pw ? pw->pw_name : f->d.user;
	char date[MSG_DATE_MAX];

	if (!name || !*name || strlen(name) >= sizeof f->login ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
		    strlen(name))
		snprintf(f->login, sizeof f->login, "uid%lu", (unsigned long)f->st.st_uid);
	else
		snprintf(f->login, sizeof f->login, "%s", name);
	msg_date_text(time(NULL), date, sizeof date);
	snprintf(f->trace, sizeof f->trace, "Received: by %s (postbote, from userid %lu, user %s);"
		 "\r\n\t%s", host, (unsigned long)f->st.st_uid, f->login, date);
}

/* The dropped message resolved and queued; 0, or -1 with e. */
static int dropbox_resolve(const struct conf *c, struct dropbox_file *f, char *id, struct err *e)
{
	struct request rq = f->d.rq;
	struct submission s;
	struct submit_report rep = { 0 };
	struct queue q;
	int in = -1, r = -1;

	rq.uid = f->st.st_uid;
	rq.login = f->login;
	if (rq.dsn_notify && !conf_dsn_notify_ok(rq.dsn_notify))
		return err_set(e, ERR_USAGE, "bad DSN NOTIFY '%s'", rq.dsn_notify);
	submission_init(&s, &rq);
	if (submission_rcpts(&s, e) < 0 || submission_account(&s, c, e) < 0)
		goto out;
	dropbox_identity(f, s.a.domain);
	rq.trace = f->trace;
	in = msg_spool_file(NULL, e);
	if (in < 0)
		goto out;
	if (xcopy_range(in, f->fd, f->body, f->body_size) < 0 || lseek(in, 0, SEEK_SET) < 0) {
		err_set(e, ERR_IO, "cannot copy it: %s", strerror(errno));
		goto out;
	}
	if (submission_read(&s, in, 0, e) < 0 || runq_open_queue(&s.a, 0, &q, e) < 0 ||
	    queue_add(&q, QUEUE_Q, s.a.name, &s.env, &s.sp, NULL, id, e) < 0)
		goto out;
	snprintf(rep.queued, sizeof rep.queued, "%s", id);
	snprintf(rep.reply, sizeof rep.reply, "picked up from the drop directory");
	submission_log(&s, &rep, 0, e);
	r = 0;
out:
	if (in >= 0)
		close(in);
	submission_free(&s);
	return r;
}

/* Whether a failure is the message's own (set it aside) or the system's (try again later). An
 * account that cannot be resolved is the message's when the configuration has a usable default
 * and the user named another with -a or -f. */
static int dropbox_own_fault(const struct conf *c, const struct dropbox_file *f,
			     const struct err *e)
{
	struct account a;
	struct err ignored = { 0 };

	if (e->kind == ERR_USAGE || e->kind == ERR_DATA || e->kind == ERR_NOUSER)
		return 1;
	return e->kind == ERR_CONFIG && (f->d.rq.account || f->d.rq.from) &&
	       conf_account(c, NULL, NULL, &a, &ignored) == 0;
}

static void dropbox_reject(int dir, const char *name, const char *why)
{
	int rej;

	if (mkdir(DROP_REJECTED_DIR, 0700) < 0 && errno != EEXIST) {
		log_warn("cannot create %s: %s; %s stays in the drop directory", DROP_REJECTED_DIR,
			 strerror(errno), name);
		return;
	}
	rej = open(DROP_REJECTED_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rej < 0 || renameat(dir, name, rej, name) < 0 || fsync(rej) < 0 || fsync(dir) < 0)
		log_warn("cannot move %s to %s: %s", name, DROP_REJECTED_DIR, strerror(errno));
	else
		log_warn("dropped message %s set aside in %s: %s", name, DROP_REJECTED_DIR, why);
	if (rej >= 0)
		close(rej);
}

static int dropbox_one(const struct conf *c, int dir, const char *name)
{
	struct dropbox_file f = { .name = name, .fd = -1 };
	struct err e = { 0 };
	char id[QUEUE_ID_MAX];
	int r = dropbox_open_file(dir, &f, 1, &e), queued = 0;

	if (r == 0 && dropbox_resolve(c, &f, id, &e) == 0) {
		log_note("%s from uid %lu (%s): queued as %s", name, (unsigned long)f.st.st_uid,
			 f.login, id);
		if (unlinkat(dir, name, 0) < 0 || fsync(dir) < 0)
			log_warn("cannot remove %s from the drop directory after queueing it as %s: "
				 "%s (it may be sent twice)", name, id, strerror(errno));
		queued = 1;
	} else if (r < 0 && e.kind == ERR_DATA) {
		dropbox_reject(dir, name, e.text);
	} else if (r == 0 && dropbox_own_fault(c, &f, &e)) {
		dropbox_reject(dir, name, e.text);
	} else if (e.kind) {
		log_warn("dropped message %s from uid %lu stays for the next queue run: %s", name,
			 (unsigned long)f.st.st_uid, e.text);
	}
	dropfmt_free(&f.d);
	if (f.fd >= 0)
		close(f.fd);
	return queued;
}

static int dropbox_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names waiting in dir, oldest first; with clean, what a killed drop program left is
 * removed. */
static size_t dropbox_names(int dir, int clean, char ***out)
{
	int fd = dup(dir);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	char **v = NULL;
	size_t n = 0;
	time_t now = time(NULL);

	if (!d) {
		if (fd >= 0)
			close(fd);
		*out = NULL;
		return 0;
	}
	while ((de = readdir(d)) && n < RUNQ_MAX) {
		struct stat st;

		if (clean && strncmp(de->d_name, ".tmp.", 5) == 0 &&
		    fstatat(dir, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    now - st.st_mtime > DROPBOX_TMP_AGE)
			unlinkat(dir, de->d_name, 0);
		if (!dropbox_name_ok(de->d_name))
			continue;
		v = xrealloc(v, sizeof *v * (n + 1));
		v[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof *v, dropbox_cmp);
	*out = v;
	return n;
}

size_t dropbox_pickup(const struct conf *c)
{
	int dir = dropbox_open_dir(DROP_DIR, 0);
	size_t n, queued = 0;
	char **names;

	if (dir < 0)
		return 0;
	n = dropbox_names(dir, 1, &names);
	for (size_t i = 0; i < n; i++) {
		queued += (size_t)dropbox_one(c, dir, names[i]);
		free(names[i]);
	}
	free(names);
	close(dir);
	return queued;
}

size_t dropbox_each(int rejected, void (*fn)(void *ctx, const struct dropbox_entry *), void *ctx)
{
	int dir = dropbox_open_dir(rejected ? DROP_REJECTED_DIR : DROP_DIR, 1);
	size_t n, shown = 0;
	char **names;

	if (dir < 0)
		return 0;
	n = dropbox_names(dir, 0, &names);
	for (size_t i = 0; i < n; i++) {
		struct dropbox_file f = { .name = names[i], .fd = -1 };
		struct err e = { 0 };
		int r = dropbox_open_file(dir, &f, 0, &e);
		struct passwd *pw = r == 0 ? getpwuid(f.st.st_uid) : NULL;
		struct dropbox_entry de = {
			.name = names[i], .uid = (unsigned long)f.st.st_uid,
			.user = pw ? pw->pw_name : f.d.user ? f.d.user : "?", .time = (time_t)f.d.time,
			.size = (long long)f.body_size, .from = f.d.rq.from, .rcpts = f.d.rq.rcpts,
			.nrcpts = f.d.rq.nrcpts, .extract = f.d.rq.extract,
			.error = r < 0 ? e.text : NULL,
		};

		if (r <= 0) {	/* gone meanwhile: not shown */
			fn(ctx, &de);
			shown++;
		}
		dropfmt_free(&f.d);
		if (f.fd >= 0)
			close(f.fd);
		free(names[i]);
	}
	free(names);
	close(dir);
	return shown;
}
