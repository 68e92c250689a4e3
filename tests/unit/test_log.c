/* Unit tests for log: log file lines built with log_field from hostile values and read back by
 * a parser of this file's own (written from the format in postbote.conf(5), not from log.c),
 * which must find every key with its exact value and no field more; the one cleaner
 * (buf_add_clean_mode) in the modes log.c uses; log_note cleaning like log_error; and
 * log_append refusing a log file that is not ours (a symbolic link, a FIFO, a hard link, another
 * user's file) while appending to our own. Files go to a fresh directory under $TMPDIR. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "unit.h"

static char dir[4096];

/* ---- an independent reader of the format ---- */

#define MAXF 32

struct field {
	char key[64];
	char val[4096];
	size_t vlen;
};

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Splits " k=v k2="..."" into fields. -1 on anything the format does not allow. */
static int parse_fields(const char *p, struct field *f, int max)
{
	static const char bare[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._@+:/,<>-";
	int n = 0;

	while (*p) {
		struct field *x = &f[n];
		size_t k = 0;

		if (n == max || *p++ != ' ')
			return -1;
		while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-')
			if (k < sizeof x->key - 1)
				x->key[k++] = *p++;
			else
				return -1;
		x->key[k] = '\0';
		if (!k || *p++ != '=')
			return -1;
		x->vlen = 0;
		if (*p == '"') {
			for (p++; *p != '"'; p++) {
				int c = (unsigned char)*p;

				if (!c || c < 0x20 || c >= 0x7f || x->vlen == sizeof x->val)
					return -1;	/* raw bytes outside ASCII never appear */
				if (c == '\\') {
					p++;
					if (*p == '"' || *p == '\\') {
						c = *p;
					} else if (*p == 'x' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
						c = hexval(p[1]) * 16 + hexval(p[2]);
						p += 2;
					} else {
						return -1;
					}
				}
				x->val[x->vlen++] = (char)c;
			}
			p++;
			if (*p && *p != ' ')
				return -1;
		} else {
			while (*p && *p != ' ') {
				if (!strchr(bare, *p) || x->vlen == sizeof x->val)
					return -1;
				x->val[x->vlen++] = *p++;
			}
			if (!x->vlen)
				return -1;	/* an empty value is always "" */
		}
		n++;
	}
	return n;
}

/* ---- log_field ---- */

static const char *const hostile[] = {
	"250 2.0.0 ok\" exit=75 queued=FAKE x=\"",
	"\"a b\\\"c\"@example.org",
	"",
	" ",
	"=",
	"exit=75",
	"\\",
	"\\\"",
	"\"",
	"a\r\n2026-01-01T00:00:00+0000 host=evil exit=0",
	"\x01\x1b[31m\x7f",
	"\xc3\xa9t\xc3\xa9 \xff\xfe",
	"trailing\\",
	"x\" y=\"z",
	"\\x41",
	"bob@example.org,carol@example.org",
	"<>",
	"250",
};

static void test_field_roundtrip(void)
{
	struct buf b;
	struct field f[MAXF];
	size_t nh = sizeof hostile / sizeof hostile[0];

	buf_init(&b, 1 << 16);
	for (size_t i = 0; i < nh; i++) {
		UNIT_CTX("log_field: value %zu", i);
		buf_reset(&b);
		CHECK_INT(log_field(&b, "reply", hostile[i]), 0);
		CHECK_INT(log_field_num(&b, "exit", 0), 0);
		if (!CHECK_INT(parse_fields(b.data, f, MAXF), 2)) {
			fprintf(stderr, "    line: %s\n", b.data);
			continue;
		}
		CHECK_STR(f[0].key, "reply");
		CHECK_MEM(f[0].val, f[0].vlen, hostile[i], strlen(hostile[i]));
		CHECK_STR(f[1].key, "exit");
		CHECK_MEM(f[1].val, f[1].vlen, "0", 1);
	}

	UNIT_CTX("log_field: every hostile value in one line, in order");
	buf_reset(&b);
	for (size_t i = 0; i < nh; i++)
		CHECK_INT(log_field(&b, i % 2 ? "recipients" : "error", hostile[i]), 0);
	{
		int n = parse_fields(b.data, f, MAXF);

		if (CHECK_INT(n, (long long)nh))
			for (size_t i = 0; i < nh; i++) {
				CHECK_STR(f[i].key, i % 2 ? "recipients" : "error");
				CHECK_MEM(f[i].val, f[i].vlen, hostile[i], strlen(hostile[i]));
			}
	}

	UNIT_CTX("log_field: every byte value alone");
	for (int c = 1; c < 256; c++) {
		char v[3] = { 'a', (char)c, '\0' };

		buf_reset(&b);
		CHECK_INT(log_field(&b, "k", v), 0);
		if (!CHECK_INT(parse_fields(b.data, f, MAXF), 1))
			fprintf(stderr, "    byte 0x%02x: %s\n", c, b.data);
		else
			CHECK_MEM(f[0].val, f[0].vlen, v, 2);
	}
	buf_free(&b);
	UNIT_CTX_CLEAR();
}

static void test_field_forms(void)
{
	static const struct {
		const char *key, *value, *want;
	} t[] = {
		{ "host", "smtp.example.org", " host=smtp.example.org" },
		{ "from", "<>", " from=<>" },
		{ "recipients", "a+b@example.org,c-d@example.net", " recipients=a+b@example.org,c-d@example.net" },
		{ "rcpt", "bob@example.org:sent:250", " rcpt=bob@example.org:sent:250" },
		{ "user", "", " user=\"\"" },
		{ "reply", "250 2.0.0 ok", " reply=\"250 2.0.0 ok\"" },
		{ "reply", "ok\" exit=75", " reply=\"ok\\\" exit=75\"" },
		{ "error", "a\\b\x01\xc3\xa9", " error=\"a\\\\b\\x01\\xc3\\xa9\"" },
		{ "x", "a=b", " x=\"a=b\"" },
	};
	struct buf b;

	buf_init(&b, 1 << 16);
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		UNIT_CTX("log_field %s='%s'", t[i].key, t[i].value);
		buf_reset(&b);
		CHECK_INT(log_field(&b, t[i].key, t[i].value), 0);
		CHECK_STR(b.data, t[i].want);
	}
	buf_free(&b);

	UNIT_CTX("log_field: all or nothing at the cap");
	buf_init(&b, 20);
	CHECK_INT(log_field(&b, "host", "localhost"), 0);	/* 15 bytes */
	CHECK_INT(log_field(&b, "reply", "250 ok"), -1);
	CHECK_STR(b.data, " host=localhost");
	CHECK_INT(log_field_num(&b, "n", 42), 0);
	CHECK_STR(b.data, " host=localhost n=42");
	buf_free(&b);
	UNIT_CTX_CLEAR();
}

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

/* ---- log_append ---- */

static char *slurp(const char *path, char *out, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, out, size - 1);

	out[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
	return out;
}

static const char *append_path;

static void append_one(void)
{
	log_append(append_path, " host=x exit=0");
}

/* log_append to path: what it wrote on stderr into warn, and the file's content into got. */
static void append(const char *path, char *warn, size_t wsize)
{
	append_path = path;
	capture_stderr(append_one, warn, wsize);
}

static void test_append(void)
{
	char path[4200], other[4200], warn[1024], got[4096], before[4096];
	struct stat st;

	UNIT_CTX("log_append: a new file, mode 0600, one line");
	snprintf(path, sizeof path, "%s/new.log", dir);
	append(path, warn, sizeof warn);
	CHECK_STR(warn, "");
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600);
	slurp(path, got, sizeof got);
	CHECK(strlen(got) > 24 && strcmp(got + strlen(got) - 15, " host=x exit=0\n") == 0);
	CHECK(strchr(got, ' ') && strchr(got, ' ')[1] == 'h');	/* one blank after the stamp */

	UNIT_CTX("log_append: our own file is appended to");
	append(path, warn, sizeof warn);
	CHECK_STR(warn, "");
	slurp(path, got, sizeof got);
	CHECK(strchr(got, '\n') && strchr(strchr(got, '\n') + 1, '\n'));	/* two lines */

	UNIT_CTX("log_append: a symbolic link to our own file is refused");
	snprintf(other, sizeof other, "%s/link.log", dir);
	CHECK(symlink(path, other) == 0);
	append(other, warn, sizeof warn);
	CHECK(strstr(warn, "warning: log file ") && strstr(warn, "link.log is a symbolic link; "
							       "not writing to it"));
	CHECK_STR(slurp(path, before, sizeof before), got);	/* the file it points to as it was */

	UNIT_CTX("log_append: a dangling symbolic link is refused, nothing is created");
	snprintf(other, sizeof other, "%s/dangling.log", dir);
	CHECK(symlink("target-that-is-not-there", other) == 0);
	append(other, warn, sizeof warn);
	CHECK(strstr(warn, "is a symbolic link") != NULL);
	snprintf(other, sizeof other, "%s/target-that-is-not-there", dir);
	CHECK(access(other, F_OK) != 0);

	UNIT_CTX("log_append: a second hard link is refused");
	snprintf(other, sizeof other, "%s/hard.log", dir);
	CHECK(link(path, other) == 0);
	append(other, warn, sizeof warn);
	CHECK(strstr(warn, "hard.log has 2 hard links; not writing to it") != NULL);
	unlink(other);

	UNIT_CTX("log_append: a FIFO is refused without waiting for a reader");
	snprintf(other, sizeof other, "%s/fifo.log", dir);
	CHECK(mkfifo(other, 0600) == 0);
	append(other, warn, sizeof warn);
	CHECK(strstr(warn, "fifo.log is not a regular file; not writing to it") != NULL);

	UNIT_CTX("log_append: a directory is refused");
	append(dir, warn, sizeof warn);
	CHECK(strstr(warn, "cannot write to log file") != NULL ||
	      strstr(warn, "is not a regular file") != NULL);

	if (geteuid() == 0) {
		UNIT_CTX("log_append: a file of another uid is refused, and not written");
		snprintf(other, sizeof other, "%s/theirs.log", dir);
		CHECK(close(open(other, O_WRONLY | O_CREAT, 0666)) == 0);
		CHECK(chown(other, 54321, 54321) == 0);
		append(other, warn, sizeof warn);
		CHECK(strstr(warn, "theirs.log belongs to another user (uid 54321); not writing "
				   "to it") != NULL);
		CHECK(stat(other, &st) == 0 && st.st_size == 0);
	}
	UNIT_CTX_CLEAR();
}

int main(void)
{
	if (unit_tmpdir(dir, sizeof dir, "test_log") < 0)
		return 99;
	test_field_roundtrip();
	test_field_forms();
	test_clean_modes();
	test_note();
	test_append();
	unit_rmtree(dir);
	return unit_done();
}
