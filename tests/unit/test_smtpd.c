/* test_smtpd: the -bs command parser. Each verb in any case; MAIL and RCPT paths with source
 * routes, quoted local parts and the null sender; every parameter of MAIL and RCPT, xtext
 * decoded; and each malformed line with the reply it gets (RFC 5321 4.2 codes). */
#include "smtpd.h"
#include "unit.h"

static const char *parse(const char *line, struct smtpd_cmd *c)
{
	return smtpd_parse(line, strlen(line), c);
}

static void test_verbs(void)
{
	static const struct {
		const char *line;
		enum smtpd_verb verb;
		const char *arg;
	} rows[] = {
		{ "EHLO client.example.org", SMTPD_EHLO, "client.example.org" },
		{ "ehlo [192.0.2.1]", SMTPD_EHLO, "[192.0.2.1]" },
		{ "HELO  x", SMTPD_HELO, "x" },
		{ "MAIL FROM:<alice@example.org>", SMTPD_MAIL, "alice@example.org" },
		{ "mail from:<>", SMTPD_MAIL, "" },
		{ "MAIL FROM: <alice@example.org>", SMTPD_MAIL, "alice@example.org" },
		{ "RCPT TO:<@relay1,@relay2:bob@example.org>", SMTPD_RCPT, "bob@example.org" },
		{ "RCPT TO:<\"bob smith\"@example.org>", SMTPD_RCPT, "\"bob smith\"@example.org" },
		{ "RCPT TO:<\"a\\\"b>\"@example.org>", SMTPD_RCPT, "\"a\\\"b>\"@example.org" },
		{ "RCPT TO:<postmaster>", SMTPD_RCPT, "postmaster" },
		{ "RCPT TO:<jörg@bücher.example>", SMTPD_RCPT, "jörg@bücher.example" },
		{ "DATA", SMTPD_DATA, "" }, { "rset", SMTPD_RSET, "" }, { "NOOP anything", SMTPD_NOOP, "" },
		{ "QUIT", SMTPD_QUIT, "" }, { "VRFY bob", SMTPD_VRFY, "" }, { "HELP me", SMTPD_HELP, "" },
		{ "STARTTLS", SMTPD_STARTTLS, "" }, { "AUTH PLAIN", SMTPD_AUTH, "" },
		{ "BDAT 100 LAST", SMTPD_BDAT, "" }, { "EXPN list", SMTPD_EXPN, "" },
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct smtpd_cmd c;

		UNIT_CTX("%s", rows[i].line);
		CHECK(parse(rows[i].line, &c) == NULL);
		CHECK_INT(c.verb, rows[i].verb);
		CHECK_STR(c.arg, rows[i].arg);
	}
	UNIT_CTX_CLEAR();
}

static void test_params(void)
{
	struct smtpd_cmd c;

	CHECK(parse("MAIL FROM:<a@example.org> SIZE=1234 BODY=8BITMIME SMTPUTF8 RET=hdrs "
		    "ENVID=QQ+2B1+3Dx AUTH=<>", &c) == NULL);
	CHECK_INT(c.size, 1234);
	CHECK_INT(c.body_8bit, 1);
	CHECK_INT(c.smtputf8, 1);
	CHECK_STR(c.ret, "HDRS");
	CHECK_STR(c.envid, "QQ+1=x");
	CHECK(parse("MAIL FROM:<a@example.org>", &c) == NULL);
	CHECK_INT(c.size, -1);
	CHECK_INT(c.body_8bit, 0);
	CHECK(parse("MAIL FROM:<a@example.org>  BODY=7BIT", &c) == NULL);
	CHECK(parse("RCPT TO:<b@example.org> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;b@example.org", &c) ==
	      NULL);
	CHECK_STR(c.notify, "SUCCESS,DELAY");
	CHECK(parse("RCPT TO:<b@example.org> NOTIFY=never", &c) == NULL);
}

static void test_refused(void)
{
	static const struct {
		const char *line, *reply;
	} rows[] = {
		{ "XYZZY", "500 5.5.1 command not recognized" },
		{ "", "500 5.5.1 command not recognized" },
		{ "MAILFROM:<a@b>", "500 5.5.1 command not recognized" },
		{ "EHLO", "501 5.5.4 HELO and EHLO take the client's name" },
		{ "HELO   ", "501 5.5.4 HELO and EHLO take the client's name" },
		{ "EHLO a\tb", "501 5.5.4 a control character in the client's name" },
		{ "MAIL", "501 5.5.2 syntax: MAIL FROM:<address>" },
		{ "MAIL TO:<a@b>", "501 5.5.2 syntax: MAIL FROM:<address>" },
		{ "MAIL FROM:a@b", "501 5.5.2 the address must be in angle brackets, as in <user@example.org>" },
		{ "MAIL FROM:<a@b", "501 5.5.2 the address has no closing '>'" },
		{ "MAIL FROM:<a b@c>", "501 5.1.3 a space in the address" },
		{ "MAIL FROM:<a\x01@b>", "501 5.1.3 a control character in the address" },
		{ "MAIL FROM:<@relay>", "501 5.1.3 a source route without its ':'" },
		{ "MAIL FROM:<a@b>x", "501 5.5.2 parameters are separated by spaces" },
		{ "MAIL FROM:<a@b> FOO=1", "555 5.5.4 unsupported parameter" },
		{ "MAIL FROM:<a@b> NOTIFY=NEVER", "555 5.5.4 unsupported parameter" },
		{ "MAIL FROM:<a@b> SIZE=x", "501 5.5.4 SIZE takes a number" },
		{ "MAIL FROM:<a@b> SIZE", "501 5.5.4 SIZE takes a number" },
		{ "MAIL FROM:<a@b> BODY=BINARYMIME", "555 5.5.4 BODY takes 7BIT or 8BITMIME" },
		{ "MAIL FROM:<a@b> SMTPUTF8=yes", "555 5.5.4 SMTPUTF8 takes no value" },
		{ "MAIL FROM:<a@b> RET=ALL", "501 5.5.4 RET takes FULL or HDRS" },
		{ "MAIL FROM:<a@b> ENVID=a+0A", "501 5.5.4 ENVID takes xtext of at most 100 characters" },
		{ "MAIL FROM:<a@b> ENVID=a+4", "501 5.5.4 ENVID takes xtext of at most 100 characters" },
		{ "MAIL FROM:<a@b> ENVID=a=b", "501 5.5.4 ENVID takes xtext of at most 100 characters" },
		{ "RCPT TO:<>", "501 5.1.3 a recipient cannot be the null address" },
		{ "RCPT TO:b@c", "501 5.5.2 the address must be in angle brackets, as in <user@example.org>" },
		{ "RCPT TO:<b@c> NOTIFY=SOMETIMES", "501 5.5.4 NOTIFY takes NEVER, or SUCCESS, FAILURE and DELAY" },
		{ "RCPT TO:<b@c> SIZE=1", "555 5.5.4 unsupported parameter" },
		{ "DATA now", "501 5.5.4 this command takes no arguments" },
		{ "QUIT please", "501 5.5.4 this command takes no arguments" },
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct smtpd_cmd c;
		const char *why;

		UNIT_CTX("%s", rows[i].line);
		why = parse(rows[i].line, &c);
		CHECK_STR(why ? why : "(accepted)", rows[i].reply);
	}
	UNIT_CTX_CLEAR();
}

static void test_limits(void)
{
	struct smtpd_cmd c;
	char line[SMTPD_LINE_MAX + 16], addr[ADDR_MAX + 2];

	CHECK_STR(smtpd_parse("NO\0OP", 5, &c), "500 5.5.2 a NUL byte in the command");
	memset(line, 'x', sizeof line);
	CHECK_STR(smtpd_parse(line, SMTPD_LINE_MAX + 1, &c), "500 5.5.2 line too long");
	memset(addr, 'a', sizeof addr);
	addr[ADDR_MAX + 1] = '\0';
	snprintf(line, sizeof line, "RCPT TO:<%s>", addr);
	CHECK_STR(parse(line, &c), "501 5.1.3 the address is too long");
	addr[ADDR_MAX] = '\0';
	snprintf(line, sizeof line, "RCPT TO:<%s>", addr);
	CHECK(parse(line, &c) == NULL);
	CHECK_UINT(strlen(c.arg), ADDR_MAX);
}

int main(void)
{
	test_verbs();
	test_params();
	test_refused();
	test_limits();
	return unit_done();
}
