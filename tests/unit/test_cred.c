/* Unit tests for cred: core dumps off, where the secret comes from (password, passwordeval with
 * its deadline and size limit, ~/.netrc written into a temporary HOME), and the order.
 * Runs without a controlling terminal (setsid), so the prompt is never reached. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cred.h"
#include "unit.h"

static char home[4096];

static struct account test_account(void)
{
	struct account a;

	memset(&a, 0, sizeof a);
	a.name = "acct";
	a.file = "test.conf";
	snprintf(a.hosts[0], sizeof a.hosts[0], "mail.example.org");
	a.nhosts = 1;
	a.auth = CONF_AUTH_ON;
	a.user = "alice";
	a.timeout = 10;
	return a;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A string of n copies of c, in a static buffer (reused by the next call). */
static const char *repeat(char c, size_t n)
{
	static char b[CRED_SECRET_MAX * 2 + 1];

	memset(b, c, n);
	b[n] = '\0';
	return b;
}

static void test_harden(void)
{
	struct rlimit rl;

	UNIT_CTX("cred_harden");
	cred_harden();
	cred_harden();	/* idempotent */
	CHECK_INT(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
	CHECK_INT(getrlimit(RLIMIT_CORE, &rl), 0);
	CHECK_UINT(rl.rlim_cur, 0);
	CHECK_UINT(rl.rlim_max, 0);
	UNIT_CTX_CLEAR();
}

static void test_wipe(void)
{
	struct cred c = { 0 };

	cred_wipe(&c);	/* safe on a zeroed struct */
	CHECK(c.secret == NULL);
	c.secret = strdup("s3cret");
	c.len = 6;
	cred_wipe(&c);
	CHECK(c.secret == NULL);
	CHECK_UINT(c.len, 0);
}

/* No secret needed, or one in the configuration. */
static void test_config(void)
{
	struct account a = test_account();
	struct err e = { 0 };
	struct cred c;

	a.auth = CONF_AUTH_OFF;
	a.passwordeval = "echo never-run";
	if (CHECK_INT(cred_get(&a, "h", &c, &e), 0))
		CHECK_STR(c.secret, "");
	CHECK_UINT(c.len, 0);
	cred_wipe(&c);
	a.auth = CONF_AUTH_MECH;
	snprintf(a.mech, sizeof a.mech, "EXTERNAL");
	if (CHECK_INT(cred_get(&a, "h", &c, &e), 0))
		CHECK_STR(c.secret, "");
	cred_wipe(&c);
	a = test_account();
	a.password = "pw from the file";
	if (CHECK_INT(cred_get(&a, "h", &c, &e), 0))
		CHECK_STR(c.secret, "pw from the file");
	CHECK_UINT(c.len, strlen("pw from the file"));
	cred_wipe(&c);
}

static const struct {
	const char *cmd;
	int timeout;
	const char *want;	/* NULL: an error of kind `kind` containing `text` */
	enum err_kind kind;
	const char *text;
	double max_s;		/* it must end within this */
} evals[] = {
	{ "printf 'tok\\nsecond line\\n'", 10, "tok", 0, NULL, 5 },
	{ "printf 'crlf\\r\\nx'", 10, "crlf", 0, NULL, 5 },
	{ "printf 'no newline'", 10, "no newline", 0, NULL, 5 },
	{ "cat", 10, NULL, ERR_CONFIG, "printed no password", 5 },	/* stdin is /dev/null */
	{ "true", 10, NULL, ERR_CONFIG, "printed no password", 5 },
	{ "echo pw; exit 3", 10, NULL, ERR_CONFIG, "failed (exit status 3)", 5 },
	{ "printf 'a\\000b\\n'", 10, NULL, ERR_CONFIG, "NUL byte", 5 },
	{ "sleep 100", 1, NULL, ERR_TEMP,
	  "test.conf: passwordeval of account 'acct' did not finish within the account's timeout "
	  "(1 s); stopped it", 4 },
	{ "(sleep 100 &); echo pw", 1, NULL, ERR_TEMP, "timeout (1 s)", 4 },
	{ "echo pw; exec >&-; sleep 100", 1, NULL, ERR_TEMP, "timeout (1 s)", 4 },
	{ "yes", 1, NULL, ERR_TEMP, "timeout (1 s)", 4 },
	{ "head -c 16384 /dev/zero | tr '\\000' x", 10, "16384 x", 0, NULL, 5 },
	{ "head -c 16385 /dev/zero | tr '\\000' x", 10, NULL, ERR_CONFIG,
	  "test.conf: passwordeval of account 'acct' printed more than 16384 bytes on its first "
	  "line", 5 },
	{ "tr '\\000' x </dev/zero", 10, NULL, ERR_CONFIG, "more than 16384 bytes", 5 },
};

static void test_passwordeval(void)
{
	for (size_t i = 0; i < sizeof evals / sizeof *evals; i++) {
		struct account a = test_account();
		struct err e = { 0 };
		struct cred c = { 0 };
		double t0 = now_s();
		int r;

		UNIT_CTX("passwordeval = %s", evals[i].cmd);
		a.passwordeval = evals[i].cmd;
		a.timeout = evals[i].timeout;
		r = cred_get(&a, "h", &c, &e);
		CHECK(now_s() - t0 < evals[i].max_s);
		if (evals[i].want && strcmp(evals[i].want, "16384 x") == 0) {
			if (CHECK_INT(r, 0))
				CHECK_STR(c.secret, repeat('x', 16384));
		} else if (evals[i].want) {
			if (CHECK_INT(r, 0))
				CHECK_STR(c.secret, evals[i].want);
		} else {
			CHECK_INT(r, -1);
			CHECK(c.secret == NULL);
			CHECK_INT(e.kind, evals[i].kind);
			if (!CHECK(strstr(e.text, evals[i].text) != NULL))
				fprintf(stderr, "    error: %s\n", e.text);
		}
		cred_wipe(&c);
	}
	UNIT_CTX_CLEAR();
}

/* ---- ~/.netrc ---- */

static void write_netrc(const char *text, mode_t mode)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof path, "%s/.netrc", home);
	unlink(path);
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(99);
	}
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static const struct {
	const char *name, *netrc, *host, *user;
	const char *want;	/* NULL: no password found (the account's error), or `text` */
	const char *text;
} netrcs[] = {
	{ "the entry of the host", "machine other.example login alice password wrong\n"
	  "machine mail.example.org login alice password right\n", "mail.example.org", "alice",
	  "right", NULL },
	{ "one line, tabs, keywords in any order", "machine\tmail.example.org password right "
	  "login alice machine x password y", "mail.example.org", "alice", "right", NULL },
	{ "host names compare without case", "machine MAIL.Example.ORG login alice password right\n",
	  "mail.example.org", "alice", "right", NULL },
	{ "a longer machine name is another host", "machine mail.example.org.evil login alice "
	  "password wrong\n", "mail.example.org", "alice", NULL, NULL },
	{ "another login does not count, a default entry does", "machine mail.example.org login "
	  "mallory password wrong\ndefault login alice password dflt\n", "mail.example.org", "alice",
	  "dflt", NULL },
	{ "an entry without login is for every user", "machine mail.example.org password any\n",
	  "mail.example.org", "alice", "any", NULL },
	{ "logins compare with case", "machine mail.example.org login Alice password wrong\n",
	  "mail.example.org", "alice", NULL, NULL },
	{ "an entry without password is passed over", "machine mail.example.org login alice\n"
	  "machine mail.example.org login alice password second\n", "mail.example.org", "alice",
	  "second", NULL },
	{ "the first matching entry wins", "machine mail.example.org password first\n"
	  "machine mail.example.org password second\n", "mail.example.org", "alice", "first", NULL },
	{ "account takes a value that is not a keyword", "machine mail.example.org account machine "
	  "password right\n", "mail.example.org", "alice", "right", NULL },
	{ "a macdef body is not entries", "macdef init\nmachine mail.example.org password evil\n"
	  "\nmachine mail.example.org password right\n", "mail.example.org", "alice", "right",
	  NULL },
	{ "a macdef body with CRLF line ends", "macdef init\r\nmachine mail.example.org password "
	  "evil\r\n\r\nmachine mail.example.org password right\r\n", "mail.example.org", "alice",
	  "right", NULL },
	{ "a macdef at the end", "machine mail.example.org password right\nmacdef x\nmachine y",
	  "mail.example.org", "alice", "right", NULL },
	{ "a machine keyword with no name ends it", "machine", "mail.example.org", "alice", NULL,
	  NULL },
	{ "a password keyword with no value", "machine mail.example.org password",
	  "mail.example.org", "alice", NULL, NULL },
	{ "empty file", "", "mail.example.org", "alice", NULL, NULL },
};

static void test_netrc(void)
{
	for (size_t i = 0; i < sizeof netrcs / sizeof *netrcs; i++) {
		struct account a = test_account();
		struct err e = { 0 };
		struct cred c = { 0 };
		int r;

		UNIT_CTX("netrc: %s", netrcs[i].name);
		write_netrc(netrcs[i].netrc, 0600);
		a.user = netrcs[i].user;
		r = cred_get(&a, netrcs[i].host, &c, &e);
		if (netrcs[i].want) {
			if (CHECK_INT(r, 0))
				CHECK_STR(c.secret, netrcs[i].want);
		} else {
			CHECK_INT(r, -1);
			CHECK_INT(e.kind, ERR_CONFIG);
			CHECK(strstr(e.text, "has a user but no password") != NULL);
		}
		cred_wipe(&c);
	}
	UNIT_CTX_CLEAR();
}

/* The rules around the file itself: mode, size of the token, no file. */
static void test_netrc_file(void)
{
	struct account a = test_account();
	char text[CRED_SECRET_MAX * 2 + 100], path[8400];
	struct err e = { 0 };
	struct cred c = { 0 };

	UNIT_CTX("netrc readable by others");
	write_netrc("machine mail.example.org login alice password pw\n", 0644);
	CHECK_INT(cred_get(&a, "mail.example.org", &c, &e), -1);
	CHECK_INT(e.kind, ERR_CONFIG);
	snprintf(path, sizeof path, "%s/.netrc holds a password but is readable by others; run: "
		 "chmod 600 %s/.netrc", home, home);
	CHECK_STR(e.text, path);
	CHECK(c.secret == NULL);

	UNIT_CTX("netrc readable by others, but nothing for this host: not a reason to fail");
	write_netrc("machine other.example login alice password pw\n", 0644);
	CHECK_INT(cred_get(&a, "mail.example.org", &c, &e), -1);
	CHECK(strstr(e.text, "has a user but no password") != NULL);

	UNIT_CTX("a token of CRED_SECRET_MAX bytes");
	snprintf(text, sizeof text, "machine mail.example.org password %s\n",
		 repeat('t', CRED_SECRET_MAX));
	write_netrc(text, 0600);
	if (CHECK_INT(cred_get(&a, "mail.example.org", &c, &e), 0))
		CHECK_STR(c.secret, repeat('t', CRED_SECRET_MAX));
	CHECK_UINT(c.len, CRED_SECRET_MAX);
	cred_wipe(&c);

	UNIT_CTX("a token one byte too long");
	snprintf(text, sizeof text, "machine mail.example.org password %s\n",
		 repeat('t', CRED_SECRET_MAX + 1));
	write_netrc(text, 0600);
	CHECK_INT(cred_get(&a, "mail.example.org", &c, &e), -1);
	CHECK_INT(e.kind, ERR_CONFIG);
	CHECK(strstr(e.text, "the password for alice at mail.example.org is longer than 16384 "
			     "bytes") != NULL);

	UNIT_CTX("a long token of another entry does not matter");
	snprintf(text, sizeof text, "machine other password %s\nmachine mail.example.org password "
		 "ok\n", repeat('t', CRED_SECRET_MAX + 1));
	write_netrc(text, 0600);
	if (CHECK_INT(cred_get(&a, "mail.example.org", &c, &e), 0))
		CHECK_STR(c.secret, "ok");
	cred_wipe(&c);

	UNIT_CTX("no ~/.netrc and no terminal");
	snprintf(path, sizeof path, "%s/.netrc", home);
	unlink(path);
	CHECK_INT(cred_get(&a, "mail.example.org", &c, &e), -1);
	CHECK_STR(e.text, "test.conf: account 'acct' has a user but no password: set password or "
		  "passwordeval, add it to ~/.netrc, or run postbote from a terminal");

	UNIT_CTX("password and passwordeval come before ~/.netrc");
	write_netrc("machine mail.example.org password netrc\n", 0600);
	a.passwordeval = "echo eval";
	if (CHECK_INT(cred_get(&a, "mail.example.org", &c, &e), 0))
		CHECK_STR(c.secret, "eval");
	cred_wipe(&c);
	UNIT_CTX_CLEAR();
}

static int run_tests(void)
{
	if (unit_tmpdir(home, sizeof home, "test_cred") < 0)
		return 99;
	setenv("HOME", home, 1);
	test_harden();
	test_wipe();
	test_config();
	test_passwordeval();
	test_netrc();
	test_netrc_file();
	unit_rmtree(home);
	return unit_done();
}

int main(void)
{
	pid_t pid;
	int status;

	/* no controlling terminal, so that no test can end at the prompt; a process group leader
	 * cannot start a session, so then a child does */
	if (setsid() >= 0)
		return run_tests();
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 99;
	}
	if (pid == 0) {
		setsid();
		_exit(run_tests());
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 99;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 99;
}
