/* fuzz_smtpd: the -bs command parser on any line a client can send. Checks what smtpd.h
 * promises: either a reply (a whole line: three digits, a space, an enhanced code) or a command
 * whose verb is known, whose path for MAIL and RCPT is one line of printable bytes within
 * ADDR_MAX (never empty for RCPT), and whose decoded ENVID has no control character. */
#include <stdint.h>
#include <string.h>

#include "smtpd.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtpd_cmd c;
	const char *why = smtpd_parse((const char *)data, size, &c);

	if (why) {
		REQUIRE(strlen(why) > 10 && why[0] >= '4' && why[0] <= '5' && why[3] == ' ');
		REQUIRE(!strchr(why, '\n') && !strchr(why, '\r'));
		return 0;
	}
	REQUIRE(c.verb != SMTPD_UNKNOWN);
	REQUIRE(memchr(c.arg, '\0', sizeof c.arg) != NULL);
	if (c.verb == SMTPD_MAIL || c.verb == SMTPD_RCPT) {
		REQUIRE(strlen(c.arg) <= ADDR_MAX);
		for (const char *p = c.arg; *p; p++)
			REQUIRE((unsigned char)*p >= 0x20 && *p != 0x7f);
		REQUIRE(c.verb == SMTPD_MAIL || c.arg[0]);
	}
	for (const char *p = c.envid; *p; p++)
		REQUIRE((unsigned char)*p >= 0x20 && *p != 0x7f);
	REQUIRE(!c.ret[0] || !strcmp(c.ret, "FULL") || !strcmp(c.ret, "HDRS"));
	return 0;
}
