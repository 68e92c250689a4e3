/* postbote-drop: the one privileged step of postbote, installed setgid to its own group (see
 * postbote(1), LOCAL USERS). It takes a local user's message on stdin, as postbote prepared it
 * (a request in dropfmt's text, then the message), checks the request, and writes both durably
 * into the drop directory, stamped with the caller's real uid, user name and the time, for
 * root's queue run to pick up. It reads no configuration, opens no network connection, runs no
 * other program, takes no arguments and no environment: the only input that matters is stdin,
 * and everything in it is checked again by the pickup. Postfix's postdrop is the model. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "dropfmt.h"

/* Read by AddressSanitizer in a sanitizer build (and unused otherwise): its leak check cannot
 * stop the world in a set-group-ID process and would fail every exit, and this process gets no
 * environment to say so in. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}

static int drop_dir = -1;
static char drop_tmp[64];	/* the file being written, removed on any failure */

static void drop_fail(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
static void drop_fail(int code, const char *fmt, ...)
{
	va_list ap;

	if (drop_tmp[0])
		unlinkat(drop_dir, drop_tmp, 0);
	fputs("postbote: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

/* Nothing of the caller's survives but stdin, stderr and the real uid. */
static void drop_clean_process(void)
{
	struct rlimit core = { 0, 0 };

	clearenv();
	umask(077);
	setrlimit(RLIMIT_CORE, &core);
	signal(SIGPIPE, SIG_IGN);
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	if (fcntl(1, F_GETFD) < 0)	/* keep 0-2 taken, so no file of ours becomes stdout */
		open("/dev/null", O_WRONLY);
}

static void drop_room(const char *what)
{
	struct statvfs vfs;

	if (fstatvfs(drop_dir, &vfs) == 0 &&
	    (long long)vfs.f_bavail * (long long)vfs.f_frsize < DROP_RESERVE)
		drop_fail(EX_TEMPFAIL, "the file system of %s is nearly full (%s); the message was "
			  "not taken: try again later, or ask the administrator", DROP_DIR, what);
}

/* Reads stdin until the request is complete: the request parsed, what followed it in *head. */
static void drop_read_request(struct buf *head, struct dropfmt *d)
{
	char chunk[65536];
	struct err e = { 0 };

	for (;;) {
		ssize_t n = read(0, chunk, sizeof chunk);
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			drop_fail(EX_IOERR, "cannot read the message: %s", strerror(errno));
		if (n > 0 && buf_add(head, chunk, (size_t)n) < 0)
			drop_fail(EX_DATAERR, "the request is over %d bytes", DROP_REQUEST_MAX);
		r = dropfmt_parse(head->data, head->len, 0, d, &e);
		if (r < 0)
			drop_fail(EX_DATAERR, "refused: %s (postbote-drop is run by postbote, not by "
				  "hand)", e.text);
		if (r == 0)
			return;
		if (n == 0)
			drop_fail(EX_DATAERR, "refused: the input ended inside the request "
				  "(postbote-drop is run by postbote, not by hand)");
	}
}

/* The rest of stdin after the request, to fd; the message's size. */
static long long drop_copy_message(int fd, const char *first, size_t nfirst)
{
	static char chunk[65536];
	long long size = (long long)nfirst;

	if (nfirst > DROP_MESSAGE_MAX)
		drop_fail(EX_DATAERR, "the message is over the %lld MiB a local user may send",
			  DROP_MESSAGE_MAX >> 20);
	if (xwrite_all(fd, first, nfirst) < 0)
		drop_fail(errno == ENOSPC ? EX_TEMPFAIL : EX_IOERR, "cannot write to %s: %s",
			  DROP_DIR, strerror(errno));
	for (;;) {
		ssize_t n = read(0, chunk, sizeof chunk);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			drop_fail(EX_IOERR, "cannot read the message: %s", strerror(errno));
		if (n == 0)
			return size;
		size += n;
		if (size > DROP_MESSAGE_MAX)
			drop_fail(EX_DATAERR, "the message is over the %lld MiB a local user may "
				  "send", DROP_MESSAGE_MAX >> 20);
		if (xwrite_all(fd, chunk, (size_t)n) < 0)
			drop_fail(errno == ENOSPC ? EX_TEMPFAIL : EX_IOERR, "cannot write to %s: %s",
				  DROP_DIR, strerror(errno));
		if ((size & ((16 << 20) - 1)) < n)
			drop_room("while writing the message");
	}
}

/* A name no other message has: the time, then 80 random bits. */
static void drop_name(char *out, size_t size)
{
	unsigned char r[10];

	if (getrandom(r, sizeof r, 0) != sizeof r)
		drop_fail(EX_OSERR, "no random bytes for a file name");
	snprintf(out, size, "%lld.%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x", (long long)time(NULL),
		 r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9]);
}

int main(int argc, char **argv)
{
	struct buf head, out;
	struct dropfmt d;
	struct passwd *pw;
	char name[48], trailer[DROPFMT_TRAILER_MAX];
	long long size;
	int fd;

	drop_clean_process();
	if (argc > 1)
		drop_fail(EX_USAGE, "postbote-drop takes no arguments (it is run by postbote, which "
			  "gives it the message on stdin); not '%.40s'", argv[1]);
	drop_dir = open(DROP_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (drop_dir < 0)
		drop_fail(errno == ENOENT || errno == EACCES ? EX_CONFIG : EX_OSERR,
			  "cannot open the drop directory %s: %s; is postbote installed (make "
			  "install as root creates it)?", DROP_DIR, strerror(errno));
	buf_init(&head, DROP_REQUEST_MAX + 65536);
	drop_read_request(&head, &d);
	drop_room("before the message");

	pw = getpwuid(getuid());
	buf_init(&out, DROP_REQUEST_MAX + 256);
	if (buf_printf(&out, "%s\n", DROPFMT_VERSION) < 0 ||
	    dropfmt_stamp(&out, getuid(), pw ? pw->pw_name : "?", time(NULL)) < 0 ||
	    buf_add(&out, head.data + strlen(DROPFMT_VERSION) + 1,
		    d.len - strlen(DROPFMT_VERSION) - 1) < 0)
		drop_fail(EX_DATAERR, "the request is over %d bytes", DROP_REQUEST_MAX);

	drop_name(name, sizeof name);
	snprintf(drop_tmp, sizeof drop_tmp, ".tmp.%s", name);
	fd = openat(drop_dir, drop_tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		drop_tmp[0] = '\0';	/* not ours: leave it */
		drop_fail(EX_TEMPFAIL, "cannot create a file in %s: %s", DROP_DIR, strerror(errno));
	}
	if (xwrite_all(fd, out.data, out.len) < 0)
		drop_fail(errno == ENOSPC ? EX_TEMPFAIL : EX_IOERR, "cannot write to %s: %s",
			  DROP_DIR, strerror(errno));
	size = drop_copy_message(fd, head.data + d.len, head.len - d.len);
	dropfmt_trailer(size, trailer);
	if (xwrite_all(fd, trailer, strlen(trailer)) < 0 || fsync(fd) < 0 || close(fd) < 0)
		drop_fail(errno == ENOSPC || errno == EDQUOT ? EX_TEMPFAIL : EX_IOERR,
			  "cannot write to %s: %s", DROP_DIR, strerror(errno));
	/* never over another message (a name taken cannot happen, with 80 random bits) */
	if (renameat2(drop_dir, drop_tmp, drop_dir, name, RENAME_NOREPLACE) < 0)
		drop_fail(EX_TEMPFAIL, "cannot add the message to %s: %s", DROP_DIR, strerror(errno));
	drop_tmp[0] = '\0';
	if (fsync(drop_dir) < 0)
		drop_fail(EX_IOERR, "cannot sync %s: %s (the message may be there)", DROP_DIR,
			  strerror(errno));
	return 0;
}
