/* cred: passwords and tokens: the configuration, passwordeval (with a deadline), ~/.netrc, the
 * terminal prompt. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cred.h"
#include "oauth.h"
#include "sasl.h"
#include "caps.h"

#define CRED_CHUNK 4096

void cred_harden(void)
{
	struct rlimit none = { 0, 0 };

	/* a core file (or a debugger attached by another process of this user) would show every
	 * secret in memory; core_pattern pipes ignore RLIMIT_CORE, hence both */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	setrlimit(RLIMIT_CORE, &none);
}

void cred_wipe(struct cred *c)
{
	if (c->secret) {
		explicit_bzero(c->secret, c->len);
		free(c->secret);
	}
	c->secret = NULL;
	c->len = 0;
}

/* The one place that knows how an account says "no secret needed"; a one-line change when
 * conf gives auth an enum. */
static int cred_needed(const struct account *a)
{
	return a->auth == CONF_AUTH_ON || (a->auth == CONF_AUTH_MECH && !sasl_no_password(a->mech));
}

static void cred_set(struct cred *out, const char *p, size_t n)
{
	out->secret = xmalloc(n + 1);
	memcpy(out->secret, p, n);
	out->secret[n] = '\0';
	out->len = n;
}

static long long cred_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- passwordeval ---- */

/* The first line of a command's output, as it arrives. */
struct cred_line {
	char text[CRED_SECRET_MAX + 1];
	size_t len;
	int done;	/* the line ended (\n or \r); the rest is read and dropped */
	int too_long, nul;
};

static void cred_line_add(struct cred_line *l, const char *p, size_t n)
{
	for (size_t i = 0; i < n && !l->done && !l->too_long; i++) {
		if (p[i] == '\n' || p[i] == '\r')
			l->done = 1;
		else if (l->len == CRED_SECRET_MAX)
			l->too_long = 1;
		else if (p[i] == '\0')
			l->nul = l->done = 1;
		else
			l->text[l->len++] = p[i];
	}
}

/* Starts /bin/sh -c cmd as the leader of a new process group, its stdout into *fd. */
static pid_t cred_spawn(const char *cmd, int *fd, struct err *e)
{
	int fds[2], devnull;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return err_set(e, ERR_OS, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return err_set(e, ERR_OS, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		/* its own group, so that killing it reaches whatever it started */
		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);	/* ignored here; a helper expects the default */
		devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(fds[1], 1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	/* also here: the group must exist before a kill can be sent to it */
	setpgid(pid, pid);
	close(fds[1]);
	*fd = fds[0];
	return pid;
}

static void cred_kill(pid_t pid)
{
	int status;

	kill(-pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
}

/* Reads fd until EOF, the deadline, or a first line too long. 0 at EOF, 1 past the deadline,
 * -errno on a read error. */
static int cred_drain(int fd, long long deadline, struct cred_line *l)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char chunk[CRED_CHUNK];
	int r = 0;

	while (!l->too_long) {
		long long left = deadline - cred_now();
		ssize_t n;

		if (left <= 0) {
			r = 1;
			break;
		}
		if (poll(&p, 1, left > 60000 ? 60000 : (int)left) <= 0)
			continue;	/* EINTR, or time to look at the clock again */
		n = read(fd, chunk, sizeof chunk);
		if (n == 0)
			break;
		if (n < 0 && errno != EINTR && errno != EAGAIN) {
			r = -errno;
			break;
		}
		if (n > 0)
			cred_line_add(l, chunk, (size_t)n);
	}
	explicit_bzero(chunk, sizeof chunk);
	return r;
}

/* Reaps pid before the deadline. 0 with *status, 1 when it is still running then. */
static int cred_reap(pid_t pid, long long deadline, int *status)
{
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return 0;	/* cannot happen for our own child; treat as gone */
		if (cred_now() >= deadline)
			return 1;
		poll(NULL, 0, 10);
	}
}

/* Runs cmd (the value of the key `key`: passwordeval, oauth2_client_secret_eval) and keeps the
 * first line of its output, which is a `what` ("password"). */
static int cred_eval(const struct account *a, const char *cmd, const char *key, const char *what,
		     struct cred *out, struct err *e)
{
	long long deadline = cred_now() + (long long)a->timeout * 1000;
	struct cred_line *l = xmalloc(sizeof *l);
	int fd = -1, r, status = 0;
	pid_t pid;

	memset(l, 0, sizeof *l);
	pid = cred_spawn(cmd, &fd, e);
	if (pid < 0) {
		free(l);
		return -1;
	}
	r = cred_drain(fd, deadline, l);
	if (r != 0 || l->too_long || cred_reap(pid, deadline, &status) != 0) {
		cred_kill(pid);
		if (r == 0 && !l->too_long)
			r = 1;
	}
	close(fd);
	if (l->too_long)
		err_set(e, ERR_CONFIG, "%s: %s of account '%s' printed more than %d bytes on its "
			"first line, more than a %s may have", a->file, key, a->name,
			CRED_SECRET_MAX, strcmp(what, "password") ? what : "password or token");
	else if (r > 0)
		err_set(e, ERR_TEMP, "%s: %s of account '%s' did not finish within the account's "
			"timeout (%d s); stopped it", a->file, key, a->name, a->timeout);
	else if (r < 0)
		err_set(e, ERR_OS, "reading the output of %s: %s", key, strerror(-r));
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		err_set(e, ERR_CONFIG, "%s: %s of account '%s' failed (exit status %d)", a->file,
			key, a->name, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	else if (l->nul)
		err_set(e, ERR_CONFIG, "%s: %s of account '%s' printed a NUL byte in its first line",
			a->file, key, a->name);
	else if (!l->len)
		err_set(e, ERR_CONFIG, "%s: %s of account '%s' printed no %s", a->file, key,
			a->name, what);
	else
		cred_set(out, l->text, l->len);
	explicit_bzero(l, sizeof *l);
	free(l);
	return out->secret ? 0 : -1;
}

/* ---- ~/.netrc ---- */

struct cred_tok {
	const char *p;
	size_t n;
};

struct cred_netrc_entry {
	int is_default;
	struct cred_tok machine, login, password;
};

static int cred_tok_is(const struct cred_tok *t, const char *word)
{
	return t->n == strlen(word) && memcmp(t->p, word, t->n) == 0;
}

/* The next blank-separated token of text[*pos..len). 0 at the end. */
static int cred_netrc_token(const char *text, size_t len, size_t *pos, struct cred_tok *t)
{
	size_t i = *pos;

	while (i < len && strchr(" \t\r\n", text[i]))
		i++;
	t->p = text + i;
	while (i < len && !strchr(" \t\r\n", text[i]))
		i++;
	t->n = (size_t)(text + i - t->p);
	*pos = i;
	return t->n > 0;
}

/* Skips a macdef body: it ends at the first empty line (ftp(1)), and may hold any word. */
static void cred_netrc_skip_macdef(const char *text, size_t len, size_t *pos)
{
	size_t i = *pos;

	while (i < len && text[i] != '\n')
		i++;	/* the rest of the macdef line */
	while (i < len) {
		size_t start = ++i;

		while (i < len && text[i] != '\n')
			i++;
		if (i == start || (i == start + 1 && text[start] == '\r'))
			break;	/* empty, also with CRLF line ends */
	}
	*pos = i;
}

/* Whether an entry gives the password of user at host: a password, the machine named host (or
 * the default entry) and the login user or none. */
static int cred_netrc_match(const struct cred_netrc_entry *en, const char *host, const char *user)
{
	if (!en->password.n)
		return 0;
	if (!en->is_default && (en->machine.n != strlen(host) ||
				strncasecmp(en->machine.p, host, en->machine.n) != 0))
		return 0;
	return !en->login.n || (en->login.n == strlen(user) &&
				memcmp(en->login.p, user, en->login.n) == 0);
}

/* The password of the first entry of a .netrc text that matches; 1 when found. */
static int cred_netrc_find(const char *text, size_t len, const char *host, const char *user,
			   struct cred_tok *pw)
{
	struct cred_netrc_entry en = { 0 };
	int in_entry = 0;
	struct cred_tok t, v;
	size_t pos = 0;

	while (cred_netrc_token(text, len, &pos, &t)) {
		int is_machine = cred_tok_is(&t, "machine");

		if (is_machine || cred_tok_is(&t, "default")) {
			if (in_entry && cred_netrc_match(&en, host, user))
				break;
			memset(&en, 0, sizeof en);
			in_entry = 1;
			en.is_default = !is_machine;
			if (is_machine && !cred_netrc_token(text, len, &pos, &en.machine))
				return 0;
		} else if (cred_tok_is(&t, "macdef")) {
			cred_netrc_skip_macdef(text, len, &pos);
		} else if (cred_tok_is(&t, "login") || cred_tok_is(&t, "password") ||
			   cred_tok_is(&t, "account")) {
			if (!cred_netrc_token(text, len, &pos, &v))
				break;
			if (cred_tok_is(&t, "login"))
				en.login = v;
			else if (cred_tok_is(&t, "password"))
				en.password = v;
		}
	}
	if (!in_entry || !cred_netrc_match(&en, host, user))
		return 0;
	*pw = en.password;
	return 1;
}

/* Reads all of an open .netrc into a new buffer; -1 when it is not a small regular file. */
static int cred_netrc_read(int fd, const struct stat *st, char **text, size_t *len)
{
	size_t cap = (size_t)st->st_size + 1, n = 0;
	char *b;

	if (!S_ISREG(st->st_mode) || st->st_size > CRED_NETRC_MAX)
		return -1;
	b = xmalloc(cap);
	for (;;) {
		ssize_t r = read(fd, b + n, cap - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		if (n == cap) {
			/* it grew since fstat: read what it is now, within the limit */
			char *bigger;

			if (cap > CRED_NETRC_MAX)
				break;
			bigger = xmalloc(cap * 2);
			memcpy(bigger, b, n);
			explicit_bzero(b, n);
			free(b);
			b = bigger;
			cap *= 2;
		}
	}
	*text = b;
	*len = n;
	return 0;
}

/* The password for user at host from ~/.netrc. 1 when found, 0 when not, -1 with ERR_CONFIG. */
static int cred_netrc(const struct account *a, const char *host, struct cred *out,
		      struct err *e)
{
	const char *home = getenv("HOME");
	char path[4096], *text = NULL;
	struct cred_tok pw;
	struct stat st;
	size_t len = 0;
	int fd, r = 0;

	if (!home || !*home || (size_t)snprintf(path, sizeof path, "%s/.netrc", home) >= sizeof path)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) < 0 || cred_netrc_read(fd, &st, &text, &len) < 0) {
		close(fd);
		return err_set(e, ERR_CONFIG, "%s is not a regular file of at most %d bytes", path,
			       CRED_NETRC_MAX);
	}
	close(fd);
	if (cred_netrc_find(text, len, host, a->user, &pw)) {
		if (st.st_mode & 077)
			r = err_set(e, ERR_CONFIG, "%s holds a password but is readable by others; "
				    "run: chmod 600 %s", path, path);
		else if (pw.n > CRED_SECRET_MAX)
			r = err_set(e, ERR_CONFIG, "%s: the password for %s at %s is longer than %d "
				    "bytes, more than a password or token may have", path, a->user,
				    host, CRED_SECRET_MAX);
		else {
			cred_set(out, pw.p, pw.n);
			r = 1;
		}
	}
	explicit_bzero(text, len);
	free(text);
	return r;
}

/* ---- the terminal ---- */

/* The line typed at the prompt. */
struct cred_typed {
	struct cred_line l;
	int sig;	/* the interrupt or quit character was typed: this signal is due */
};

static int cred_cc(const struct termios *t, int idx, char c)
{
	return t->c_cc[idx] != _POSIX_VDISABLE && c == (char)t->c_cc[idx];
}

/* Applies one typed byte, with the terminal's own erase, kill, end-of-file, interrupt and quit
 * characters: the terminal is neither canonical (its 4096-byte line limit would cut a token) nor
 * signalling (a signal mid-prompt would leave it without echo). 1 when the line is complete. */
static int cred_prompt_byte(const struct termios *t, struct cred_typed *ty, char c)
{
	struct cred_line *l = &ty->l;

	if (c == '\n' || c == '\r' || cred_cc(t, VEOF, c))
		return 1;
	if (cred_cc(t, VINTR, c) || cred_cc(t, VQUIT, c)) {
		ty->sig = cred_cc(t, VINTR, c) ? SIGINT : SIGQUIT;
		return 1;
	}
	if (cred_cc(t, VERASE, c) || c == '\b' || c == 0x7f) {
		if (l->len && !l->too_long)
			l->text[--l->len] = '\0';
	} else if (cred_cc(t, VKILL, c)) {
		explicit_bzero(l->text, l->len);
		l->len = 0;
		l->too_long = 0;
	} else if (l->len == CRED_SECRET_MAX) {
		l->too_long = 1;
	} else if (!l->too_long) {
		l->text[l->len++] = c;
	}
	return 0;
}

/* Reads one line from the terminal fd, without echo. */
static void cred_prompt_read(int fd, const struct termios *old, struct cred_typed *ty)
{
	char chunk[256];
	int done = 0;

	while (!done) {
		ssize_t n = read(fd, chunk, sizeof chunk);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n && !done; i++)
			done = cred_prompt_byte(old, ty, chunk[i]);
	}
	explicit_bzero(chunk, sizeof chunk);
}

/* Asks on the terminal. 1 when answered, 0 when there is no terminal or no answer, -1 with
 * ERR_CONFIG when the answer is too long. */
static int cred_prompt(const struct account *a, const char *host, struct cred *out,
		       struct err *e)
{
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC), r = 0, sig;
	struct termios old, quiet;
	struct cred_typed *ty;

	if (fd < 0)
		return 0;
	if (tcgetattr(fd, &old) < 0) {
		close(fd);
		return 0;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG);
	quiet.c_cc[VMIN] = 1;
	quiet.c_cc[VTIME] = 0;
	ty = xmalloc(sizeof *ty);
	memset(ty, 0, sizeof *ty);
	/* quiet before the prompt: what is typed once it shows must be neither echoed nor
	 * flushed by TCSAFLUSH */
	tcsetattr(fd, TCSAFLUSH, &quiet);
	dprintf(fd, "postbote: password for %s at %s: ", a->user, host);
	cred_prompt_read(fd, &old, ty);
	tcsetattr(fd, TCSAFLUSH, &old);
	dprintf(fd, "\n");
	close(fd);
	sig = ty->sig;
	if (ty->l.too_long)
		r = err_set(e, ERR_CONFIG, "the password typed for %s at %s is longer than %d bytes, "
			    "more than a password or token may have", a->user, host,
			    CRED_SECRET_MAX);
	else if (ty->l.len && !sig) {
		cred_set(out, ty->l.text, ty->l.len);
		r = 1;
	}
	explicit_bzero(ty, sizeof *ty);
	free(ty);
	if (sig)
		raise(sig);	/* as if typed in canonical mode; ignored, it is "no answer" */
	return r;
}

/* ---- OAuth 2.0 ---- */

int cred_client_secret(const struct account *a, char **out, struct err *e)
{
	struct cred c = { 0 };

	*out = NULL;
	if (a->oauth2_client_secret_eval) {
		if (cred_eval(a, a->oauth2_client_secret_eval, "oauth2_client_secret_eval",
			      "client secret", &c, e) < 0)
			return -1;
		*out = c.secret;	/* handed over: the caller wipes it */
		return 0;
	}
	*out = xstrdup(a->oauth2_client_secret ? a->oauth2_client_secret : "");
	return 0;
}

static int cred_oauth(const struct account *a, unsigned flags, struct cred *out, struct err *e)
{
	char *token = NULL;

	if (oauth_token(a, flags, cred_client_secret, &token, e) < 0)
		return -1;
	out->secret = token;
	out->len = strlen(token);
	return 0;
}

int cred_renew(const struct account *a, const struct err *why, struct cred *c, struct err *e)
{
	if (!oauth_enabled(a) || why->kind != ERR_AUTH || !(why->flags & ERR_REFUSED))
		return 0;
	cred_wipe(c);
	return cred_oauth(a, OAUTH_FRESH, c, e) < 0 ? -1 : 1;
}

/* ---- password_file ---- */

/* The first line of password_file (a Docker or Kubernetes secret). The file is refused on the
 * rules of a configuration file that holds a password, as for the system file: it belongs to
 * the caller or root and others may not read it (its group may, so that a secret mounted for
 * a group works). */
static int cred_file(const struct account *a, struct cred *out, struct err *e)
{
	const char *path = a->password_file;
	struct cred_line *l;
	struct stat st;
	char chunk[CRED_CHUNK];
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;
	ssize_t n;

	if (fd < 0)
		return err_set(e, ERR_CONFIG, "%s: password_file of account '%s': cannot read %s: %s",
			       a->file, a->name, path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		r = err_set(e, ERR_CONFIG, "password_file %s is not a regular file", path);
	else if (st.st_uid != 0 && st.st_uid != getuid())
		r = err_set(e, ERR_CONFIG, "password_file %s belongs to uid %u, neither you nor root; "
			    "run: chown %u %s", path, (unsigned)st.st_uid, (unsigned)getuid(), path);
	else if (st.st_mode & 007)
		r = err_set(e, ERR_CONFIG, "password_file %s is readable by everyone; run: chmod 640 "
			    "%s (a Kubernetes secret: defaultMode 0440)", path, path);
	if (r < 0) {
		close(fd);
		return -1;
	}
	l = xmalloc(sizeof *l);
	memset(l, 0, sizeof *l);
	while (!l->done && !l->too_long && (n = read(fd, chunk, sizeof chunk)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = err_set(e, ERR_CONFIG, "cannot read password_file %s: %s", path,
				    strerror(errno));
			break;
		}
		cred_line_add(l, chunk, (size_t)n);
	}
	close(fd);
	explicit_bzero(chunk, sizeof chunk);
	if (r == 0 && l->too_long)
		r = err_set(e, ERR_CONFIG, "password_file %s: the first line is longer than %d bytes, "
			    "more than a password or token may have", path, CRED_SECRET_MAX);
	else if (r == 0 && (l->nul || !l->len))
		r = err_set(e, ERR_CONFIG, "password_file %s: %s", path,
			    l->nul ? "the first line holds a NUL byte" : "the first line is empty");
	else if (r == 0)
		cred_set(out, l->text, l->len);
	explicit_bzero(l, sizeof *l);
	free(l);
	return r;
}

/* ---- the order ---- */

int cred_get(const struct account *a, const char *host, struct cred *out, struct err *e)
{
	int r;

	out->secret = NULL;
	out->len = 0;
	cred_harden();
	if (oauth_enabled(a))
		return cred_oauth(a, 0, out, e);
	if (!cred_needed(a)) {
		cred_set(out, "", 0);
		return 0;
	}
	if (a->password) {
		if (strlen(a->password) > CRED_SECRET_MAX)
			return err_set(e, ERR_CONFIG, "the password of account '%s' is longer than %d "
				       "bytes", a->name, CRED_SECRET_MAX);
		cred_set(out, a->password, strlen(a->password));
		return 0;
	}
	if (a->password_file)
		return cred_file(a, out, e);
	if (a->passwordeval)
		return cred_eval(a, a->passwordeval, "passwordeval", "password", out, e);
	r = cred_netrc(a, host, out, e);
	if (r == 0)
		r = cred_prompt(a, host, out, e);
	if (r)
		return r < 0 ? -1 : 0;
	return err_set(e, ERR_CONFIG, "%s: account '%s' has a user but no password: set password "
		       "or passwordeval, add it to ~/.netrc, or run postbote from a terminal",
		       a->file, a->name);
}
