/* import_io: the files around the msmtprc translator: finding and reading the msmtprc, the
 * optional /etc/mailname, and writing the result where it was asked for. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "import.h"
#include "log.h"

static const char *import_home(void)
{
	const char *home = getenv("HOME");
	struct passwd *pw;

	if ((!home || !*home) && (pw = getpwuid(getuid())))
		home = pw->pw_dir;
	return home && *home ? home : NULL;
}

/* msmtp's user file: ~/.msmtprc, else $XDG_CONFIG_HOME/msmtp/config. */
static int import_find(char *path, size_t size, struct err *e)
{
	const char *home = import_home(), *xdg = getenv("XDG_CONFIG_HOME");
	char other[4096];

	if (!home)
		return err_set(e, ERR_CONFIG, "no HOME to find ~/.msmtprc in; name the file: "
			       "postbote --import-msmtprc FILE");
	snprintf(path, size, "%s/.msmtprc", home);
	if (access(path, F_OK) == 0)
		return 0;
	if (xdg && *xdg)
		snprintf(other, sizeof other, "%s/msmtp/config", xdg);
	else
		snprintf(other, sizeof other, "%s/.config/msmtp/config", home);
	if (access(other, F_OK) == 0) {
		snprintf(path, size, "%s", other);
		return 0;
	}
	return err_set(e, ERR_CONFIG, "no msmtp configuration found: neither %s nor %s exists; "
		       "name the file: postbote --import-msmtprc FILE", path, other);
}

/* All of a regular file of at most max bytes, NUL-terminated, in *text. */
static int import_slurp(const char *path, size_t max, char **text, size_t *len, struct err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	size_t n = 0;
	char *b;

	if (fd < 0)
		return err_set(e, errno == ENOENT ? ERR_CONFIG : ERR_IO, "cannot read %s: %s", path,
			       strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		close(fd);
		return err_set(e, ERR_CONFIG, "%s is not a regular file of at most %zu bytes", path,
			       max);
	}
	b = xmalloc(max + 1);
	for (;;) {
		ssize_t r = read(fd, b + n, max + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err_set(e, ERR_IO, "cannot read %s: %s", path, strerror(errno));
			close(fd);
			free(b);
			return -1;
		}
		if (r == 0 || (n += (size_t)r) > max)
			break;
	}
	close(fd);
	if (n > max) {
		free(b);
		return err_set(e, ERR_CONFIG, "%s is larger than %zu bytes", path, max);
	}
	b[n] = '\0';
	*text = b;
	*len = n;
	return 0;
}

/* /etc/mailname's first line, for msmtp's %M; NULL when there is none. */
static char *import_mailname(void)
{
	struct err e;
	char *text;
	size_t len;

	if (import_slurp("/etc/mailname", 4096, &text, &len, &e) < 0)
		return NULL;
	text[strcspn(text, "\r\n")] = '\0';
	if (!*text) {
		free(text);
		return NULL;
	}
	return text;
}

/* A new file `path`, mode 0600, holding len bytes: written beside it, fsync'd, linked into
 * place (link fails if path exists: nothing is replaced), its directory fsync'd. */
static int import_write_new(const char *path, const char *data, size_t len, struct err *e)
{
	char tmp[4096], dir[4096];
	int fd, dfd, r = 0;
	size_t off = 0;

	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp)
		return err_set(e, ERR_IO, "%s: name too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return err_set(e, ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
	while (off < len && r == 0) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0 && errno != EINTR)
			r = err_set(e, ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
		else if (n > 0)
			off += (size_t)n;
	}
	if (r == 0 && fsync(fd) < 0)
		r = err_set(e, ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
	if (close(fd) < 0 && r == 0)
		r = err_set(e, ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
	if (r == 0 && link(tmp, path) < 0)
		r = err_set(e, errno == EEXIST ? ERR_CONFIG : ERR_IO, errno == EEXIST ?
			    "%s exists; postbote does not overwrite it: remove it or name another "
			    "file" : "cannot create %s: %s", path, strerror(errno));
	unlink(tmp);
	if (r < 0)
		return -1;
	snprintf(dir, sizeof dir, "%s", path);
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0)
		r = err_set(e, ERR_IO, "cannot sync the directory of %s: %s", path, strerror(errno));
	if (dfd >= 0)
		close(dfd);
	return r;
}

int import_command(const char *file, const char *output, struct err *e)
{
	char path[4096], *text = NULL, *mailname;
	struct import_result res;
	struct import_opts o;
	struct buf out;
	size_t len;
	int r;

	if (!file && import_find(path, sizeof path, e) < 0)
		return -1;
	if (file)
		snprintf(path, sizeof path, "%s", file);
	if (import_slurp(path, IMPORT_TEXT_MAX, &text, &len, e) < 0)
		return -1;
	mailname = import_mailname();
	o = (struct import_opts){ .file = path, .home = import_home(), .mailname = mailname };
	buf_init(&out, BUF_NO_MAX);
	r = import_msmtprc(text, len, &o, &out, &res, e);
	if (r == 0 && output)
		r = import_write_new(output, out.data, out.len, e);
	else if (r == 0 && (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout)))
		r = err_set(e, ERR_IO, "cannot write to standard output: %s", strerror(errno));
	if (r == 0 && (res.notes || res.skipped))
		log_warn("%s: %u account%s left out and %u command%s not translated; the comments "
			 "in the output say why", path, res.skipped, res.skipped == 1 ? "" : "s",
			 res.notes, res.notes == 1 ? "" : "s");
	if (r == 0 && res.has_password && !output)
		log_warn("the output holds a password: keep it in a file only you can read (-o FILE "
			 "writes one with mode 0600)");
	explicit_bzero(out.data, out.len);
	buf_free(&out);
	explicit_bzero(text, len);
	free(text);
	free(mailname);
	return r;
}
