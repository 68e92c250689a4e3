/* unit: a tiny helper for table-driven C unit tests.
 *
 * Every CHECK_* macro counts one check; a failed check prints FILE:LINE, the expression, both
 * values (bytes outside printable ASCII written as \xNN) and the current context (UNIT_CTX, the
 * row of a table being run), and the run goes on. unit_done() prints "N passed, N failed" and
 * returns the exit status: 0 only when nothing failed.
 *
 * Header-only on purpose: each test program is one .c file plus this, and links the library it
 * tests, so a bug in the library cannot hide a bug in the helper (the helper uses libc only). */
#ifndef POSTBOTE_UNIT_H
#define POSTBOTE_UNIT_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define UNIT_UNUSED __attribute__((unused))

static unsigned long unit_passed, unit_failed;
static char unit_ctx[256];

/* The context printed with each failure until the next UNIT_CTX or UNIT_CTX_CLEAR. */
#define UNIT_CTX(...) snprintf(unit_ctx, sizeof unit_ctx, __VA_ARGS__)
#define UNIT_CTX_CLEAR() (unit_ctx[0] = '\0')

/* Prints n bytes of p to f, escaped, at most `limit` bytes of input (then "..."). */
static UNIT_UNUSED void unit_print_bytes(FILE *f, const void *p, size_t n, size_t limit)
{
	const unsigned char *s = p;

	fputc('"', f);
	for (size_t i = 0; i < n && i < limit; i++) {
		if (s[i] == '\\' || s[i] == '"')
			fprintf(f, "\\%c", s[i]);
		else if (s[i] == '\r')
			fputs("\\r", f);
		else if (s[i] == '\n')
			fputs("\\n", f);
		else if (s[i] >= 0x20 && s[i] < 0x7f)
			fputc(s[i], f);
		else
			fprintf(f, "\\x%02x", s[i]);
	}
	fputc('"', f);
	if (n > limit)
		fprintf(f, "... (%zu bytes)", n);
}

static UNIT_UNUSED void unit_fail_head(const char *file, int line, const char *expr)
{
	unit_failed++;
	fprintf(stderr, "%s:%d: FAIL: %s", file, line, expr);
	if (unit_ctx[0])
		fprintf(stderr, "  [%s]", unit_ctx);
	fputc('\n', stderr);
}

static UNIT_UNUSED int unit_check(int ok, const char *file, int line, const char *expr)
{
	if (ok) {
		unit_passed++;
		return 1;
	}
	unit_fail_head(file, line, expr);
	return 0;
}

static UNIT_UNUSED int unit_check_int(long long got, long long want, const char *file, int line,
				      const char *expr)
{
	if (got == want) {
		unit_passed++;
		return 1;
	}
	unit_fail_head(file, line, expr);
	fprintf(stderr, "    got:  %lld\n    want: %lld\n", got, want);
	return 0;
}

static UNIT_UNUSED int unit_check_uint(unsigned long long got, unsigned long long want,
				       const char *file, int line, const char *expr)
{
	if (got == want) {
		unit_passed++;
		return 1;
	}
	unit_fail_head(file, line, expr);
	fprintf(stderr, "    got:  %llu (0x%llx)\n    want: %llu (0x%llx)\n", got, got, want,
		want);
	return 0;
}

/* Byte strings; a NULL pointer is a value of its own, different from "". */
static UNIT_UNUSED int unit_check_mem(const void *got, size_t glen, const void *want,
				      size_t wlen, const char *file, int line, const char *expr)
{
	size_t i;

	if (got == NULL && want == NULL) {
		unit_passed++;
		return 1;
	}
	if (got && want && glen == wlen && memcmp(got, want, glen) == 0) {
		unit_passed++;
		return 1;
	}
	unit_fail_head(file, line, expr);
	if (!got || !want) {
		fprintf(stderr, "    got:  %s\n    want: %s\n", got ? "(non-NULL)" : "NULL",
			want ? "(non-NULL)" : "NULL");
		return 0;
	}
	for (i = 0; i < glen && i < wlen && ((const char *)got)[i] == ((const char *)want)[i]; i++)
		;
	fprintf(stderr, "    lengths %zu and %zu, first difference at byte %zu\n    got:  ", glen,
		wlen, i);
	unit_print_bytes(stderr, got, glen, 600);
	fputs("\n    want: ", stderr);
	unit_print_bytes(stderr, want, wlen, 600);
	fputc('\n', stderr);
	if (i > 40 && (glen > 600 || wlen > 600)) {
		size_t from = i - 40;

		fprintf(stderr, "    near the difference, from byte %zu:\n    got:  ", from);
		unit_print_bytes(stderr, (const char *)got + from, glen - from, 120);
		fputs("\n    want: ", stderr);
		unit_print_bytes(stderr, (const char *)want + from, wlen - from, 120);
		fputc('\n', stderr);
	}
	return 0;
}

static UNIT_UNUSED int unit_check_str(const char *got, const char *want, const char *file,
				      int line, const char *expr)
{
	return unit_check_mem(got, got ? strlen(got) : 0, want, want ? strlen(want) : 0, file,
			      line, expr);
}

/* Each returns 1 when the check passed, so a test can skip what depends on it. */
#define CHECK(cond) unit_check(!!(cond), __FILE__, __LINE__, #cond)
#define CHECK_INT(got, want) \
	unit_check_int((long long)(got), (long long)(want), __FILE__, __LINE__, #got " == " #want)
#define CHECK_UINT(got, want)                                                                  \
	unit_check_uint((unsigned long long)(got), (unsigned long long)(want), __FILE__, __LINE__, \
			#got " == " #want)
#define CHECK_STR(got, want) unit_check_str((got), (want), __FILE__, __LINE__, #got " == " #want)
#define CHECK_MEM(got, glen, want, wlen) \
	unit_check_mem((got), (glen), (want), (wlen), __FILE__, __LINE__, #got " == " #want)

/* Runs fn(arg) in a child process: returns its exit status, or 128 + the signal that ended it.
 * For code whose contract is to end the process, or that might. */
static UNIT_UNUSED int unit_in_child(void (*fn)(void *), void *arg)
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(99);
	}
	if (pid == 0) {
		fn(arg);
		fflush(NULL);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			perror("waitpid");
			exit(99);
		}
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Makes a new directory $TMPDIR/NAME.XXXXXX (/tmp without TMPDIR) and puts its name in
 * dir[size]. Returns 0, or -1 after saying why on stderr; main() then returns 99. */
static UNIT_UNUSED int unit_tmpdir(char *dir, size_t size, const char *name)
{
	const char *tmp = getenv("TMPDIR");
	int n = snprintf(dir, size, "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", name);

	if (n < 0 || (size_t)n >= size) {
		fprintf(stderr, "temporary directory name too long\n");
		return -1;
	}
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return -1;
	}
	return 0;
}

/* Removes dir and all below it; a failure is only reported, as the checks are done by then. */
static UNIT_UNUSED void unit_rmtree(const char *dir)
{
	char cmd[4200];
	int n = snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);

	if (n < 0 || (size_t)n >= sizeof cmd || system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

/* The final line, and the exit status for main(). */
static UNIT_UNUSED int unit_done(void)
{
	printf("%lu passed, %lu failed\n", unit_passed, unit_failed);
	fflush(stdout);
	return unit_failed ? 1 : 0;
}

#endif
