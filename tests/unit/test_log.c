/* Unit tests for log: the one cleaner (buf_add_clean_mode) in the modes log.c uses, and
 * log_note cleaning like log_error. Files go to a fresh directory under $TMPDIR. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "unit.h"

static char dir[4096];

/* ---- buf_add_clean_mode, log_note ---- */

static void test_clean_modes(void)
{
	static const char in[] = "a\\b\"\x01\n\xc3\xa9\x7f~";
	static const struct {
		unsigned flags;
		const char *want;
	} t[] = {
		{ 0, "a\\\\b\"\\x01\\x0a\\xc3\\xa9\\x7f~" },
		{ BUF_CLEAN_KEEP_UTF8 | BUF_CLEAN_KEEP_BACKSLASH, "a\\b\"\\x01\\x0a\xc3\xa9\\x7f~" },
		{ BUF_CLEAN_QUOTE, "a\\\\b\\\"\\x01\\x0a\\xc3\\xa9\\x7f~" },
	};
	struct buf b, old;

	buf_init(&b, 1 << 10);
	buf_init(&old, 1 << 10);
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		UNIT_CTX("buf_add_clean_mode flags %u", t[i].flags);
		buf_reset(&b);
		CHECK_INT(buf_add_clean_mode(&b, in, sizeof in - 1, t[i].flags), 0);
		CHECK_STR(b.data, t[i].want);
	}
	UNIT_CTX("buf_add_clean is mode 0");
	buf_reset(&b);
	CHECK_INT(buf_add_clean(&old, in, sizeof in - 1), 0);
	CHECK_INT(buf_add_clean_mode(&b, in, sizeof in - 1, 0), 0);
	CHECK_STR(b.data, old.data);
	buf_free(&b);
	buf_free(&old);
	UNIT_CTX_CLEAR();
}

/* What fn writes to stderr, into out. */
static void capture_stderr(void (*fn)(void), char *out, size_t size)
{
	char path[4200];
	int fd, saved;
	ssize_t n;

	snprintf(path, sizeof path, "%s/stderr", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	saved = dup(2);
	if (fd < 0 || saved < 0 || dup2(fd, 2) < 0)
		abort();
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, out, size - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
}

static void say_notes(void)
{
	log_set_verbose(1);
	log_note("peer said %s", "hi\r\n--- forged\x1b[2J \xc3\xa9 a\\b");
	log_error("peer said %s", "hi\r\npostbote: forged");
	log_set_verbose(0);
	log_note("not shown");
}

static void test_note(void)
{
	char got[4096];

	UNIT_CTX("log_note cleans like log_error");
	capture_stderr(say_notes, got, sizeof got);
	CHECK_STR(got, "--- peer said hi\\x0d\\x0a--- forged\\x1b[2J \xc3\xa9 a\\b\n"
		       "postbote: peer said hi\\x0d\\x0apostbote: forged\n");
	UNIT_CTX_CLEAR();
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof dir, "%s/test_log.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 99;
	}
	test_clean_modes();
	test_note();
	{
		char cmd[4300];

		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return unit_done();
}
