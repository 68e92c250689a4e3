/* fuzz_import: the input as an msmtprc, translated with import_msmtprc. Whatever it is, the
 * translation either fails with ERR_CONFIG and a message and leaves the output as it was, or
 * is a text that conf_load_mem accepts, in which every section written resolves as an
 * account (import_msmtprc promises postbote accepts it as it is), and that holds no control
 * character but the newline. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "import.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct import_opts o = { .file = "fuzz.msmtprc", .home = "/home/fuzz",
				 .mailname = size & 1 ? "mail.example.org" : NULL };
	struct import_result r;
	struct err e = { 0 };
	struct buf out;
	struct conf c;
	const char *names[IMPORT_ACCOUNTS_MAX];
	size_t n;

	buf_init(&out, BUF_NO_MAX);
	if (buf_addstr(&out, "x") < 0)
		abort();
	if (import_msmtprc((const char *)data, size, &o, &out, &r, &e) < 0) {
		REQUIRE(e.kind == ERR_CONFIG && e.text[0] && out.len == 1);
		buf_free(&out);
		return 0;
	}
	for (size_t i = 1; i < out.len; i++)
		REQUIRE(out.data[i] == '\n' || (unsigned char)out.data[i] >= ' ');
	memset(&e, 0, sizeof e);
	REQUIRE(conf_load_mem(&c, "imported", out.data + 1, out.len - 1, &e) == 0);
	n = conf_accounts(&c, names, IMPORT_ACCOUNTS_MAX);
	REQUIRE(n == r.accounts);
	for (size_t i = 0; i < n; i++) {
		struct account a;

		REQUIRE(conf_account(&c, names[i], NULL, &a, &e) == 0);
	}
	conf_free(&c);
	buf_free(&out);
	return 0;
}
