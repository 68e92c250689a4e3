/* Unit tests for rcpt: the recipient list (rcpt_add, rcpt_add_arg, dedupe without regard to
 * case), aliases in /etc/aliases syntax (rcpt_expand: recursion, default, loops, depth,
 * qualification with the mail domain, errors with FILE:LINE), and the envelope form of an
 * address for a server without SMTPUTF8 (rcpt_to_ascii). Lists are compared written out as
 * "a,b,c". Aliases files go to a fresh directory under $TMPDIR (or /tmp). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "rcpt.h"
#include "unit.h"

static char dir[4096];

static const char *write_file(const char *name, const char *content)
{
	static char path[4200];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f || fputs(content, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(99);
	}
	return path;
}

/* The list as "a,b,c". */
static void joined(const struct rcpt_list *l, struct buf *out)
{
	buf_reset(out);
	for (size_t i = 0; i < l->n; i++)
		if (buf_printf(out, "%s%s", i ? "," : "", l->v[i]) < 0)
			abort();
}

/* rcpt_add, which must not fail here. */
static void add(struct rcpt_list *l, const char *addr)
{
	struct err e = { 0 };

	if (rcpt_add(l, addr, &e) < 0) {
		fprintf(stderr, "rcpt_add %s: %s\n", addr, e.text);
		abort();
	}
}

/* Adds the comma-free items of "a|b|c" with rcpt_add. */
static void add_all(struct rcpt_list *l, const char *items)
{
	char *copy = strdup(items), *save = NULL;

	for (char *p = strtok_r(copy, "|", &save); p; p = strtok_r(NULL, "|", &save))
		add(l, p);
	free(copy);
}

/* ---- rcpt_add, rcpt_add_arg ---- */

static void test_add(void)
{
	struct rcpt_list l = { 0 };
	struct buf j;
	char mine[32] = "bob@example.org";

	buf_init(&j, 1 << 16);
	UNIT_CTX("rcpt_add: dedupe without regard to case, the first spelling stays");
	add(&l, mine);
	add(&l, "Bob@Example.ORG");
	add(&l, "alice@example.org");
	add(&l, "BOB@EXAMPLE.ORG");
	add(&l, "root");
	add(&l, "ROOT");
	strcpy(mine, "changed");	/* the list holds copies */
	joined(&l, &j);
	CHECK_STR(j.data, "bob@example.org,alice@example.org,root");

	UNIT_CTX("rcpt_add: many addresses");
	for (int i = 0; i < 1000; i++) {
		char a[32];

		snprintf(a, sizeof a, "user%d@example.org", i % 500);
		add(&l, a);
	}
	CHECK_UINT(l.n, 3 + 500);
	rcpt_free(&l);
	CHECK(l.v == NULL && l.n == 0);
	rcpt_free(&l);	/* twice is harmless */
	buf_free(&j);
	UNIT_CTX_CLEAR();
}

static void test_add_arg(void)
{
	static const struct {
		const char *arg, *want, *err;	/* want: the list after adding to "x@y" */
	} t[] = {
		{ "a@example.org", "x@y,a@example.org", NULL },
		{ "a@example.org, Bob <b@example.net>", "x@y,a@example.org,b@example.net", NULL },
		{ "team: a@example.org, b@example.net;", "x@y,a@example.org,b@example.net", NULL },
		{ "X@Y, root", "x@y,root", NULL },
		{ "root (Cron Daemon)", "x@y,root", NULL },
		/* an empty argument is skipped (with a warning), not an error */
		{ "", "x@y", NULL },
		{ " \t ", "x@y", NULL },
		{ "undisclosed-recipients:;", "x@y", "no address in it" },
		{ "<>", "x@y", "no address in it" },
		{ "<a@example.org", "x@y", "invalid recipient '<a@example.org': '<' without '>'" },
		{ "john doe", "x@y", "invalid recipient 'john doe': words without '.'" },
		{ "a@b@c", "x@y", "invalid recipient 'a@b@c': more than one '@'" },
		{ "\"a\r\nRCPT TO:<evil@example.net>\"@example.org", "x@y", "invalid recipient" },
	};
	struct buf j;

	buf_init(&j, 1 << 16);
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct rcpt_list l = { 0 };
		struct err e = { 0 };
		int rc;

		UNIT_CTX("rcpt_add_arg '%s'", t[i].arg);
		add(&l, "x@y");
		rc = rcpt_add_arg(&l, t[i].arg, &e);
		joined(&l, &j);
		CHECK_STR(j.data, t[i].want);
		if (t[i].err) {
			CHECK_INT(rc, -1);
			CHECK_INT(e.kind, ERR_USAGE);
			if (!CHECK(strstr(e.text, t[i].err) != NULL))
				fprintf(stderr, "    message: \"%s\"\n    wanted:  \"%s\"\n", e.text,
					t[i].err);
		} else {
			CHECK_INT(rc, 0);
		}
		rcpt_free(&l);
	}
	buf_free(&j);
	UNIT_CTX_CLEAR();
}

/* ---- rcpt_is_local, rcpt_is_utf8 ---- */

static void test_predicates(void)
{
	static const struct {
		const char *addr;
		int local, utf8;
	} t[] = {
		{ "root", 1, 0 },
		{ "root@example.org", 0, 0 },
		{ "\"a@b\"", 1, 0 },		/* the '@' is quoted */
		{ "\"a@b\"@example.org", 0, 0 },
		{ "\"a\\\"@b\"", 1, 0 },	/* an escaped quote does not end the quotes */
		{ "\"john doe\"", 1, 0 },
		{ "j\xc3\xbcrgen", 1, 1 },
		{ "bob@b\xc3\xbc" "cher.example", 0, 1 },
		{ "", 1, 0 },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		UNIT_CTX("predicates of '%s'", t[i].addr);
		CHECK_INT(!!rcpt_is_local(t[i].addr), t[i].local);
		CHECK_INT(!!rcpt_is_utf8(t[i].addr), t[i].utf8);
	}
	UNIT_CTX_CLEAR();
}

/* ---- rcpt_expand ---- */

struct xcase {
	const char *name;
	const char *aliases;	/* the file's content; NULL: no aliases file */
	const char *maildomain;
	const char *in;		/* "a|b|c" */
	const char *want;	/* "a,b,c"; on error the list unchanged */
	const char *err;	/* a fragment of the message; "@FILE" stands for the path */
};

static const struct xcase xcases[] = {
	{ "nothing to do", NULL, NULL, "root|a@example.org", "root,a@example.org", NULL },
	{ "maildomain qualifies bare names only", NULL, "example.org",
	  "root|bob@example.net|\"john doe\"", "root@example.org,bob@example.net,\"john doe\"@example.org",
	  NULL },
	{ "qualification does not make duplicates", NULL, "example.org",
	  "root|ROOT@example.org|bob@example.net", "root@example.org,bob@example.net", NULL },
	{ "an alias", "root: admin@example.org, ops@example.net\n", NULL, "root",
	  "admin@example.org,ops@example.net", NULL },
	{ "alias names match without regard to case", "Root: admin@example.org\n", NULL, "ROOT",
	  "admin@example.org", NULL },
	{ "an address with a domain is not an alias name", "root: admin@example.org\n", NULL,
	  "root@example.org", "root@example.org", NULL },
	{ "recursion, then qualification", "postmaster: root\nroot: admin, tape@example.net\n"
	  "admin: alice\n", "example.org", "postmaster", "alice@example.org,tape@example.net", NULL },
	{ "display names and groups in an alias", "team: Alice <alice@x.example>, staff: "
	  "bob@x.example;, carol@x.example (C)\n", NULL, "team",
	  "alice@x.example,bob@x.example,carol@x.example", NULL },
	{ "comments, blank lines, continuation lines, CRLF, blanks before ':'",
	  "# aliases\r\n\r\nroot : a@x.example,\r\n  b@x.example,\r\n\tc@x.example\r\n"
	  "# the end\r\nops: d@x.example\r\n", NULL, "root|ops",
	  "a@x.example,b@x.example,c@x.example,d@x.example", NULL },
	{ "default catches local names without an alias", "root: a@x.example\n"
	  "default: catchall@x.example\n", "example.org", "root|nobody|bob@y.example",
	  "a@x.example,catchall@x.example,bob@y.example", NULL },
	{ "default does not catch addresses with a domain", "default: catchall@x.example\n", NULL,
	  "nobody@example.org", "nobody@example.org", NULL },
	{ "a name that lists itself keeps itself", "root: root, admin@x.example\n", "example.org",
	  "root", "root@example.org,admin@x.example", NULL },
	{ "two aliases with the same address: one recipient", "a: x@y.example\nb: X@Y.example\n",
	  NULL, "a|b", "x@y.example", NULL },
	{ "a loop ends at the name where it closes", "a: b\nb: c\nc: a\n", "example.org", "a",
	  "a@example.org", NULL },
	{ "a loop of two", "a: b\nb: a\n", NULL, "b", "b", NULL },
	{ "a chain 15 aliases deep is followed to its end",
	  "a1: a2\na2: a3\na3: a4\na4: a5\na5: a6\na6: a7\na7: a8\na8: a9\na9: a10\na10: a11\n"
	  "a11: a12\na12: a13\na13: a14\na14: a15\na15: final@x.example\n", NULL, "a1",
	  "final@x.example", NULL },
	{ "an alias that is not used may be anything", "broken: <x\nroot: a@x.example\n", NULL,
	  "root", "a@x.example", NULL },

	/* errors: ERR_CONFIG, the list unchanged */
	{ "a line without ':'", "root a@x.example\n", NULL, "root", "root",
	  "@FILE:1: expected 'name: address, ...'" },
	{ "a line starting with ':'", "# c\n: a@x.example\n", NULL, "root", "root",
	  "@FILE:2: expected 'name: address, ...'" },
	{ "a continuation line first", "  a@x.example\nroot: b@x.example\n", NULL, "root", "root",
	  "@FILE:1: continuation line without an alias" },
	{ "an alias that does not parse", "# c\nroot: <a@x.example\n", NULL, "root", "root",
	  "@FILE:2: alias 'root': '<' without '>'" },
};

static void test_expand(void)
{
	struct buf j, want;

	buf_init(&j, 1 << 16);
	buf_init(&want, 1 << 16);
	for (size_t i = 0; i < sizeof xcases / sizeof xcases[0]; i++) {
		const struct xcase *c = &xcases[i];
		struct rcpt_list l = { 0 };
		struct err e = { 0 };
		const char *file = NULL;
		char fname[32];
		int rc;

		UNIT_CTX("rcpt_expand case '%s'", c->name);
		if (c->aliases) {
			snprintf(fname, sizeof fname, "aliases.%zu", i);
			file = write_file(fname, c->aliases);
		}
		add_all(&l, c->in);
		rc = rcpt_expand(&l, file, c->maildomain, &e);
		joined(&l, &j);
		CHECK_STR(j.data, c->want);
		if (c->err) {
			CHECK_INT(rc, -1);
			CHECK_INT(e.kind, ERR_CONFIG);
			buf_reset(&want);
			if (strncmp(c->err, "@FILE", 5) == 0) {
				if (buf_addstr(&want, file) < 0 || buf_addstr(&want, c->err + 5) < 0)
					abort();
			} else if (buf_addstr(&want, c->err) < 0) {
				abort();
			}
			if (!CHECK(strstr(e.text, want.data) != NULL))
				fprintf(stderr, "    message: \"%s\"\n    wanted:  \"%s\"\n", e.text,
					want.data);
		} else if (!CHECK_INT(rc, 0)) {
			fprintf(stderr, "    error: %s\n", e.text);
		}
		rcpt_free(&l);
	}
	buf_free(&j);
	buf_free(&want);
	UNIT_CTX_CLEAR();
}

/* "all" names ten lists that each name "all" again: the expansion must not walk every path
 * through the loop (10^8 of them within a depth of 16). Runs in a child: exit 0 when the result
 * is right within 5 s, 1 when it is wrong, killed by SIGALRM when it takes more than 20 s. */
static void fanout(void *arg)
{
	struct rcpt_list l = { 0 };
	struct err e = { 0 };
	struct buf a;
	const char *f;
	time_t t0 = time(NULL);

	(void)arg;
	buf_init(&a, 1 << 16);
	if (buf_addstr(&a, "all: ") < 0)
		abort();
	for (int i = 1; i <= 10; i++)
		if (buf_printf(&a, "%steam%d", i > 1 ? ", " : "", i) < 0)
			abort();
	if (buf_addch(&a, '\n') < 0)
		abort();
	for (int i = 1; i <= 10; i++)
		if (buf_printf(&a, "team%d: m%d@x.example, all\n", i, i) < 0)
			abort();
	f = write_file("aliases.fanout", a.data);
	add(&l, "all");
	alarm(20);
	if (rcpt_expand(&l, f, NULL, &e) < 0 || time(NULL) - t0 > 5 ||
	    l.n != 11)	/* m1..m10, and "all" where the loop closes */
		_exit(1);
	_exit(0);
}

static void test_expand_file_errors(void)
{
	struct rcpt_list l = { 0 };
	struct err e = { 0 };
	char path[4200];

	UNIT_CTX("rcpt_expand: a missing aliases file");
	snprintf(path, sizeof path, "%s/no-such-file", dir);
	add(&l, "root");
	CHECK_INT(rcpt_expand(&l, path, NULL, &e), -1);
	CHECK_INT(e.kind, ERR_CONFIG);
	CHECK(strstr(e.text, path) != NULL);
	CHECK(strstr(e.text, strerror(ENOENT)) != NULL);
	CHECK_UINT(l.n, 1);

	UNIT_CTX("rcpt_expand: an alias name too long to keep");
	{
		struct buf a;
		const char *f;

		buf_init(&a, 1 << 16);
		for (int i = 0; i < 300; i++)
			if (buf_addch(&a, 'n') < 0)
				abort();
		if (buf_addstr(&a, ": a@x.example\n") < 0)
			abort();
		f = write_file("aliases.long", a.data);
		memset(&e, 0, sizeof e);
		CHECK_INT(rcpt_expand(&l, f, NULL, &e), -1);
		CHECK_INT(e.kind, ERR_CONFIG);
		CHECK(strstr(e.text, ":1:") != NULL);
		buf_free(&a);
	}

	UNIT_CTX("rcpt_expand: a fan-out through a loop stays quick");
	CHECK_INT(unit_in_child(fanout, NULL), 0);
	rcpt_free(&l);
	UNIT_CTX_CLEAR();
}

/* ---- rcpt_expand_once: the warnings once per version of the file ---- */

/* How many warning lines one rcpt_expand_once of "root" through file prints (stderr goes to
 * a file for the call). */
static int warnings_of(const char *file, const char *stamp_dir)
{
	char path[4200], text[8192];
	struct rcpt_list l = { 0 };
	struct err e = { 0 };
	int fd, saved, n = 0;
	ssize_t got;

	snprintf(path, sizeof path, "%s/stderr", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	saved = dup(2);
	if (fd < 0 || saved < 0 || dup2(fd, 2) < 0)
		abort();
	add(&l, "root");
	if (rcpt_expand_once(&l, file, NULL, stamp_dir, &e) < 0 || l.n != 1 ||
	    strcmp(l.v[0], "admin@x.example") != 0)
		n = -1;
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	got = pread(fd, text, sizeof text - 1, 0);
	close(fd);
	for (ssize_t i = 0; n >= 0 && i < got; i++)
		n += text[i] == '\n';
	rcpt_free(&l);
	return n;
}

static void test_expand_once(void)
{
	char stamps[4200];
	const char *f;

	snprintf(stamps, sizeof stamps, "%s/stamps", dir);
	CHECK(mkdir(stamps, 0700) == 0);
	f = write_file("aliases.mta", "root: |/usr/bin/procmail, admin@x.example, /var/mail/root\n");
	UNIT_CTX("without a stamp directory: every time");
	CHECK_INT(warnings_of(f, NULL), 2);
	CHECK_INT(warnings_of(f, NULL), 2);
	UNIT_CTX("with one: once, then not again");
	CHECK_INT(warnings_of(f, stamps), 2);
	CHECK_INT(warnings_of(f, stamps), 0);
	CHECK_INT(warnings_of(f, stamps), 0);
	UNIT_CTX("a new version of the file: once more");
	f = write_file("aliases.mta", "root: |/usr/bin/procmail, admin@x.example\n");
	CHECK_INT(warnings_of(f, stamps), 1);
	CHECK_INT(warnings_of(f, stamps), 0);
	UNIT_CTX("a file with nothing to warn of leaves no stamp");
	f = write_file("aliases.plain", "root: admin@x.example\n");
	CHECK_INT(warnings_of(f, stamps), 0);
	{
		DIR *d = opendir(stamps);
		struct dirent *de;
		int n = 0;

		while (d && (de = readdir(d)))
			n += strncmp(de->d_name, "aliases-warned.", 15) == 0;
		if (d)
			closedir(d);
		CHECK_INT(n, 1);	/* aliases.mta's, replaced when it changed */
	}
	UNIT_CTX("a stamp directory that cannot be written: the warnings come every time");
	f = write_file("aliases.mta2", "root: |/bin/cat, admin@x.example\n");
	{
		char none[4300];

		snprintf(none, sizeof none, "%s/no-such-dir", dir);
		CHECK_INT(warnings_of(f, none), 1);
		CHECK_INT(warnings_of(f, none), 1);
	}
	UNIT_CTX_CLEAR();
}

/* ---- rcpt_to_ascii ---- */

static void test_to_ascii(void)
{
	static const struct {
		const char *in, *want;
		enum err_kind kind;	/* ERR_NONE: it converts */
		const char *err;
	} t[] = {
		{ "bob@example.org", "bob@example.org", ERR_NONE, NULL },
		{ "root", "root", ERR_NONE, NULL },
		{ "bob@b\xc3\xbc" "cher.example", "bob@xn--bcher-kva.example", ERR_NONE, NULL },
		{ "carol@\xc3\x89" "COLE.example", "carol@xn--cole-9oa.example", ERR_NONE, NULL },
		{ "bob@\xe3\x83\x89\xe3\x83\xa1\xe3\x82\xa4\xe3\x83\xb3.\xe3\x83\x86\xe3\x82\xb9"
		  "\xe3\x83\x88", "bob@xn--eckwd4c7c.xn--zckzah", ERR_NONE, NULL },
		{ "\"a@b\"@b\xc3\xbc" "cher.example", "\"a@b\"@xn--bcher-kva.example", ERR_NONE, NULL },
		{ "j\xc3\xbcrgen@example.org", NULL, ERR_UNAVAILABLE, "non-ASCII local part" },
		{ "zo\xc3\xab", NULL, ERR_UNAVAILABLE, "SMTPUTF8" },
		{ "\"a@\xc3\xbc\"@example.org", NULL, ERR_UNAVAILABLE, "non-ASCII local part" },
		{ "bob@b\xc3\xbc\xe2\x98\x83" "cher.example", NULL, ERR_DATA,
		  "not a valid international domain name" },
		/* UTS #46 maps U+200B to nothing: the A-label form is checked again */
		{ "user@\xe2\x80\x8b.example", NULL, ERR_DATA,
		  "in ASCII it is '.example' and it has an empty label" },
		{ "user@b\xc3\xbc" "cher.\xe2\x80\x8b", NULL, ERR_DATA, "empty label" },
		{ "user@b\xc3\xbc" "cher.example.", NULL, ERR_DATA, "empty label" },
		{ "user@b\xc3\xbc" "cher.ex_ample", NULL, ERR_DATA,
		  "a character other than a letter, digit, '-' or '.'" },
		{ "user@b\xc3\xbc" "cher.-example", NULL, ERR_DATA, "not a valid international domain" },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		char out[1024] = "untouched";
		struct err e = { 0 };
		int rc;

		UNIT_CTX("rcpt_to_ascii '%s'", t[i].in);
		rc = rcpt_to_ascii(t[i].in, out, sizeof out, &e);
		if (t[i].kind == ERR_NONE) {
			if (CHECK_INT(rc, 0))
				CHECK_STR(out, t[i].want);
			else
				fprintf(stderr, "    error: %s\n", e.text);
		} else {
			CHECK_INT(rc, -1);
			CHECK_INT(e.kind, t[i].kind);
			CHECK(strstr(e.text, t[i].err) != NULL);
			CHECK(strstr(e.text, t[i].in) != NULL);	/* the message names the address */
		}
	}

	UNIT_CTX("rcpt_to_ascii: an output buffer too small");
	{
		char out[12];
		struct err e = { 0 };

		CHECK_INT(rcpt_to_ascii("bob@b\xc3\xbc" "cher.example", out, sizeof out, &e), -1);
		CHECK_INT(e.kind, ERR_DATA);
		CHECK(strlen(out) < sizeof out);
	}
	UNIT_CTX_CLEAR();
}

/* ---- RCPT_MAX ---- */

static void fill(struct rcpt_list *l, size_t n)
{
	char a[48];

	for (size_t i = 0; i < n; i++) {
		snprintf(a, sizeof a, "u%zu@example.org", i);
		add(l, a);
	}
}

static void test_max(void)
{
	struct rcpt_list l = { 0 };
	struct err e = { 0 };
	struct rcpt_aliases *al = NULL;
	static const char text[] = "team: one@x.example, two@x.example\n";

	UNIT_CTX("rcpt_add: RCPT_MAX addresses, then one more");
	fill(&l, RCPT_MAX);
	CHECK_UINT(l.n, RCPT_MAX);
	CHECK_INT(rcpt_add(&l, "U7@EXAMPLE.ORG", &e), 0);	/* a duplicate is no new one */
	CHECK_INT(e.kind, ERR_NONE);
	CHECK_INT(rcpt_add(&l, "one-too-many@example.org", &e), -1);
	CHECK_INT(e.kind, ERR_DATA);
	CHECK_STR(e.text, "too many recipients: more than 100000");
	CHECK_UINT(l.n, RCPT_MAX);
	CHECK_STR(l.v[RCPT_MAX - 1], "u99999@example.org");
	rcpt_free(&l);

	UNIT_CTX("rcpt_add_arg: past RCPT_MAX");
	fill(&l, RCPT_MAX - 1);
	memset(&e, 0, sizeof e);
	CHECK_INT(rcpt_add_arg(&l, "a@example.org, b@example.org", &e), -1);
	CHECK_INT(e.kind, ERR_DATA);
	CHECK_UINT(l.n, RCPT_MAX);
	rcpt_free(&l);

	UNIT_CTX("rcpt_expand_aliases: an alias that goes past RCPT_MAX, the list unchanged");
	fill(&l, RCPT_MAX - 1);
	add(&l, "team");
	CHECK_INT(rcpt_aliases_parse("mem", text, strlen(text), &al, &e), 0);
	memset(&e, 0, sizeof e);
	CHECK_INT(rcpt_expand_aliases(&l, al, NULL, &e), -1);
	CHECK_INT(e.kind, ERR_DATA);
	CHECK_UINT(l.n, RCPT_MAX);
	CHECK_STR(l.v[l.n - 1], "team");
	rcpt_aliases_free(al);
	rcpt_free(&l);
	UNIT_CTX_CLEAR();
}

/* ---- rcpt_aliases_parse: from memory ---- */

static void test_aliases_parse(void)
{
	static const struct {
		const char *name;
		const char *text;
		size_t len;	/* 0: strlen(text) */
		const char *in, *want, *err;
	} t[] = {
		{ "no newline at the end", "root: a@x.example", 0, "root", "a@x.example", NULL },
		{ "empty text", "", 0, "root", "root", NULL },
		{ "a NUL ends the text of its line, not the file",
		  "root: a@x.example\0, evil@y.example\nops: b@x.example\n", 52, "root|ops",
		  "a@x.example,b@x.example", NULL },
		{ "the length counts, not a NUL", "root: a@x.example\nops: b@x.example\n", 18,
		  "root|ops", "a@x.example,ops", NULL },
		{ "a CR ends the text of its line", "root: a@x.example\r, c@y.example\n", 0, "root",
		  "a@x.example", NULL },
		{ "continuation at the very end", "root: a@x.example,\n  b@x.example", 0, "root",
		  "a@x.example,b@x.example", NULL },
		{ "errors name the given name and line", "# c\n\nroot a@x.example\n", 0, "root",
		  NULL, "mem:3: expected 'name: address, ...'" },
	};
	struct buf j;

	buf_init(&j, 1 << 16);
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct rcpt_aliases *a = (struct rcpt_aliases *)&j;	/* must be overwritten */
		struct rcpt_list l = { 0 };
		struct err e = { 0 };
		size_t len = t[i].len ? t[i].len : strlen(t[i].text);
		int rc;

		UNIT_CTX("rcpt_aliases_parse: %s", t[i].name);
		add_all(&l, t[i].in);
		rc = rcpt_aliases_parse("mem", t[i].text, len, &a, &e);
		if (t[i].err) {
			CHECK_INT(rc, -1);
			CHECK(a == NULL);
			CHECK_INT(e.kind, ERR_CONFIG);
			CHECK_STR(e.text, t[i].err);
		} else if (CHECK_INT(rc, 0)) {
			CHECK_INT(rcpt_expand_aliases(&l, a, NULL, &e), 0);
			joined(&l, &j);
			CHECK_STR(j.data, t[i].want);
		}
		rcpt_aliases_free(a);
		rcpt_free(&l);
	}
	buf_free(&j);
	UNIT_CTX_CLEAR();
}

int main(void)
{
	if (unit_tmpdir(dir, sizeof dir, "test_rcpt") < 0)
		return 99;
	test_add();
	test_add_arg();
	test_predicates();
	test_expand();
	test_expand_file_errors();
	test_expand_once();
	test_to_ascii();
	test_max();
	test_aliases_parse();
	/* the directory and its aliases files go */
	unit_rmtree(dir);
	return unit_done();
}
