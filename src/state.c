/* state: capped, owner-checked cache files between runs. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "state.h"

#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif

int state_home(char *out, size_t size, const char *sub)
{
	const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	struct passwd *pw;

	if (geteuid() == 0) {
		snprintf(out, size, "%s/lib/postbote/%s", LOCALSTATEDIR, sub);
	} else if (state && *state) {
		snprintf(out, size, "%s/postbote/%s", state, sub);
	} else {
		if ((!home || !*home) && (pw = getpwuid(getuid())))
			home = pw->pw_dir;
		snprintf(out, size, "%s/.local/state/postbote/%s", home ? home : "", sub);
		if (!home || !*home)
			return -1;
	}
	return 0;
}

/* A directory that only its owner, the caller, can change. */
static int state_dir_ok(const char *dir)
{
	struct stat st;

	return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
	       !(st.st_mode & (S_IWGRP | S_IWOTH));
}

char *state_read(const char *dir, const char *name, size_t *len)
{
	char path[4352];
	struct stat st;
	char *p = NULL;
	size_t got = 0;
	int fd;

	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path ||
	    !state_dir_ok(dir))
		return NULL;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) || st.st_size <= 0 || st.st_size > STATE_FILE_MAX)
		goto out;
	p = xmalloc((size_t)st.st_size);
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, p + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got != (size_t)st.st_size) {
		free(p);
		p = NULL;
	}
	*len = got;
out:
	close(fd);
	return p;
}

/* mkdir -p with mode 0700 for what it creates. */
static int state_mkdirs(const char *dir)
{
	char path[4096];

	if ((size_t)snprintf(path, sizeof path, "%s", dir) >= sizeof path)
		return -1;
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(path, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

int state_write(const char *dir, const char *name, const void *p, size_t len)
{
	char path[4352], tmp[4400];
	int fd, ok;

	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path ||
	    (size_t)snprintf(tmp, sizeof tmp, "%s/.%s.%ld", dir, name, (long)getpid()) >=
		    sizeof tmp || len > STATE_FILE_MAX)
		return -1;
	if (state_mkdirs(dir) < 0 || !state_dir_ok(dir))
		return -1;
	unlink(tmp);	/* a leftover of a killed run with our pid */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	ok = xwrite_all(fd, p, len) == 0;
	if (close(fd) < 0)
		ok = 0;
	if (!ok || rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

int state_prune(const char *dir, const char *prefix, const char *keep, long max_age)
{
	size_t k = strlen(prefix);
	time_t now = time(NULL);
	struct dirent *d;
	DIR *dh;
	int n = 0;

	if (!state_dir_ok(dir) || !(dh = opendir(dir)))
		return 0;
	while ((d = readdir(dh))) {
		/* ours, or the temporary file of a run killed before its rename */
		const char *name = d->d_name[0] == '.' ? d->d_name + 1 : d->d_name;
		struct stat st;

		if (strncmp(name, prefix, k) != 0 || strcmp(d->d_name, keep) == 0 ||
		    fstatat(dirfd(dh), d->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode) || st.st_uid != geteuid() || now - st.st_mtime <= max_age)
			continue;
		if (unlinkat(dirfd(dh), d->d_name, 0) == 0)
			n++;
	}
	closedir(dh);
	return n;
}
