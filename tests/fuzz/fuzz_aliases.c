/* fuzz_aliases: the input's first line as a recipient argument (rcpt_add_arg), the rest as an
 * aliases file (rcpt_aliases_parse), then the expansion rcpt_expand does, with and without a
 * mail domain. Checks the promises of rcpt.h: a parse error is ERR_CONFIG naming the file and
 * leaves no aliases; parsing is deterministic; an expansion error is ERR_CONFIG or ERR_DATA and
 * leaves the list unchanged; an expanded list holds non-empty addresses without CR, LF or NUL,
 * no two equal without regard to case, at most RCPT_MAX, and with a mail domain no local name.
 *
 * With libFuzzer (from the top of the tree, after ./configure in build/):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -include build/config.h -Isrc \
 *     tests/fuzz/fuzz_aliases.c src/rcpt.c src/addr.c src/buf.c src/err.c src/log.c src/hdr.c \
 *     -lidn2 -o fuzz_aliases
 *   ./fuzz_aliases -close_fd_mask=2 -max_len=4096 tests/fuzz/corpus/aliases
 * (-close_fd_mask=2: the warnings for |program and /file entries would flood stderr). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rcpt.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Names an aliases file usually has, so the expansion has something to find. */
static const char *const names[] = { "root", "postmaster", "default", "MAILER-DAEMON", "a" };

static int cmp_icase(const void *x, const void *y)
{
	return strcasecmp(*(char *const *)x, *(char *const *)y);
}

static void check_expanded(const struct rcpt_list *l, const char *maildomain)
{
	char **sorted;

	REQUIRE(l->n <= RCPT_MAX);
	REQUIRE(l->n <= l->cap);
	for (size_t i = 0; i < l->n; i++) {
		REQUIRE(l->v[i] != NULL && l->v[i][0] != '\0');
		REQUIRE(strpbrk(l->v[i], "\r\n") == NULL);
		if (maildomain)
			REQUIRE(!rcpt_is_local(l->v[i]));
	}
	if (!l->n)
		return;
	sorted = malloc(l->n * sizeof *sorted);
	REQUIRE(sorted != NULL);
	memcpy(sorted, l->v, l->n * sizeof *sorted);
	qsort(sorted, l->n, sizeof *sorted, cmp_icase);
	for (size_t i = 1; i < l->n; i++)
		REQUIRE(strcasecmp(sorted[i - 1], sorted[i]) != 0);	/* no duplicates */
	free(sorted);
}

static void copy_list(const struct rcpt_list *from, struct rcpt_list *to)
{
	struct err e = { 0 };

	for (size_t i = 0; i < from->n; i++)
		REQUIRE(rcpt_add(to, from->v[i], &e) == 0);
}

static void same_list(const struct rcpt_list *a, const struct rcpt_list *b)
{
	REQUIRE(a->n == b->n);
	for (size_t i = 0; i < a->n; i++)
		REQUIRE(strcmp(a->v[i], b->v[i]) == 0);
}

static void expand(const struct rcpt_list *in, const struct rcpt_aliases *a,
		   const char *maildomain)
{
	struct rcpt_list l = { 0 };
	struct err e = { 0 };

	copy_list(in, &l);
	if (rcpt_expand_aliases(&l, a, maildomain, &e) == 0) {
		check_expanded(&l, maildomain);
	} else {
		REQUIRE(e.kind == ERR_CONFIG || e.kind == ERR_DATA);
		REQUIRE(e.text[0] != '\0');
		same_list(&l, in);	/* unchanged on error */
	}
	rcpt_free(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *nl = memchr(text, '\n', size);
	size_t alen = nl ? size - (size_t)(nl + 1 - text) : 0;
	const char *atext = nl ? nl + 1 : text + size;
	struct rcpt_aliases *a = NULL, *b = NULL;
	struct rcpt_list l = { 0 };
	struct err e = { 0 }, e2 = { 0 };
	char *arg;
	int r, r2;

	r = rcpt_aliases_parse("fuzz", atext, alen, &a, &e);
	r2 = rcpt_aliases_parse("fuzz", atext, alen, &b, &e2);
	REQUIRE(r == r2);	/* the same text parses the same way twice */
	if (r < 0) {
		REQUIRE(a == NULL && b == NULL);
		REQUIRE(e.kind == ERR_CONFIG && strncmp(e.text, "fuzz:", 5) == 0);
		REQUIRE(strcmp(e.text, e2.text) == 0);
		return 0;
	}
	REQUIRE(a != NULL && b != NULL);
	rcpt_aliases_free(b);

	/* the first line, cut at a NUL as a command-line argument would be */
	arg = malloc((nl ? (size_t)(nl - text) : size) + 1);
	REQUIRE(arg != NULL);
	memcpy(arg, text, nl ? (size_t)(nl - text) : size);
	arg[nl ? (size_t)(nl - text) : size] = '\0';
	memset(&e, 0, sizeof e);
	if (rcpt_add_arg(&l, arg, &e) < 0)
		REQUIRE(e.kind == ERR_USAGE || e.kind == ERR_DATA);
	free(arg);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		REQUIRE(rcpt_add(&l, names[i], &e) == 0);

	expand(&l, a, NULL);
	expand(&l, a, "example.org");
	rcpt_free(&l);
	rcpt_aliases_free(a);
	return 0;
}
