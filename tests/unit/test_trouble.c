/* test_trouble: the failure policy, one row per rule: (phase, reply code, enhanced code, local
 * error) -> fate and kind. These rows are the contract of trouble.h; each defect the review
 * found in the old ad-hoc choices has a row (malformed reply or TLS record error after MAIL,
 * 552 5.5.3 at RCPT, an RCPT reply outside 2xx/4xx/5xx). */
#include "trouble.h"
#include "unit.h"

#define NONE ERR_NONE

static void test_fates(void)
{
	static const struct {
		enum smtp_phase phase;
		int code;
		const char *enhanced;
		enum err_kind local;	/* ERR_NONE: a reply came */
		enum fate_state state;
		enum err_kind kind;
	} t[] = {
		/* success */
		{ PHASE_RCPT, 250, "2.1.5", NONE, FATE_SENT, ERR_NONE },
		{ PHASE_DATA, 354, NULL, NONE, FATE_SENT, ERR_NONE },
		{ PHASE_DOT, 250, "2.0.0", NONE, FATE_SENT, ERR_NONE },
		/* temporary refusals, every phase */
		{ PHASE_GREETING, 421, "4.3.2", NONE, FATE_DEFERRED, ERR_TEMP },
		{ PHASE_EHLO, 451, NULL, NONE, FATE_DEFERRED, ERR_TEMP },
		{ PHASE_AUTH, 454, "4.7.0", NONE, FATE_DEFERRED, ERR_TEMP },
		{ PHASE_MAIL, 451, "4.3.0", NONE, FATE_DEFERRED, ERR_TEMP },
		{ PHASE_RCPT, 450, "4.2.1", NONE, FATE_DEFERRED, ERR_TEMP },
		{ PHASE_DOT, 452, "4.3.1", NONE, FATE_DEFERRED, ERR_TEMP },
		{ PHASE_RCPT, 421, NULL, NONE, FATE_DEFERRED, ERR_TEMP },
		/* too many recipients: the next transaction (RFC 5321 4.5.3.1.10) */
		{ PHASE_RCPT, 452, "4.5.3", NONE, FATE_NEXT, ERR_TEMP },
		{ PHASE_RCPT, 452, NULL, NONE, FATE_NEXT, ERR_TEMP },
		{ PHASE_RCPT, 451, "4.5.3", NONE, FATE_NEXT, ERR_TEMP },
		{ PHASE_RCPT, 552, "5.5.3", NONE, FATE_NEXT, ERR_TEMP },
		/* 552 at RCPT without 5.5.3 stays a refusal; 452 elsewhere is no recipient matter */
		{ PHASE_RCPT, 552, "5.2.2", NONE, FATE_FAILED, ERR_NOUSER },
		{ PHASE_DOT, 452, "4.5.3", NONE, FATE_DEFERRED, ERR_TEMP },
		/* permanent refusals */
		{ PHASE_GREETING, 554, "5.3.2", NONE, FATE_FAILED, ERR_UNAVAILABLE },
		{ PHASE_AUTH, 535, "5.7.8", NONE, FATE_FAILED, ERR_AUTH },
		{ PHASE_MAIL, 553, "5.7.1", NONE, FATE_FAILED, ERR_UNAVAILABLE },
		{ PHASE_RCPT, 550, "5.1.1", NONE, FATE_FAILED, ERR_NOUSER },
		{ PHASE_DATA, 554, "5.5.1", NONE, FATE_FAILED, ERR_UNAVAILABLE },
		{ PHASE_DOT, 554, "5.7.1", NONE, FATE_FAILED, ERR_UNAVAILABLE },
		/* a provider that refuses password logins: a person must act (exit 77) */
		{ PHASE_AUTH, 535, "5.7.139", NONE, FATE_FAILED, ERR_AUTH },
		{ PHASE_MAIL, 550, "5.7.30", NONE, FATE_FAILED, ERR_AUTH },
		{ PHASE_RCPT, 550, "5.7.30", NONE, FATE_FAILED, ERR_AUTH },
		/* a reply the step cannot have: a protocol error; from MAIL on, deferred */
		{ PHASE_RCPT, 354, NULL, NONE, FATE_DEFERRED, ERR_TEMP },
		{ PHASE_MAIL, 334, NULL, NONE, FATE_DEFERRED, ERR_TEMP },
		{ PHASE_DOT, 354, NULL, NONE, FATE_DEFERRED, ERR_TEMP },
		{ PHASE_EHLO, 354, NULL, NONE, FATE_FAILED, ERR_PROTOCOL },
		/* no reply: lost or timed out */
		{ PHASE_CONNECT, 0, NULL, ERR_TEMP, FATE_DEFERRED, ERR_TEMP },
		{ PHASE_DOT, 0, NULL, ERR_TEMP, FATE_DEFERRED, ERR_TEMP },
		/* malformed replies and broken TLS records: unknown outcome from MAIL on */
		{ PHASE_GREETING, 0, NULL, ERR_PROTOCOL, FATE_FAILED, ERR_PROTOCOL },
		{ PHASE_STARTTLS, 0, NULL, ERR_PROTOCOL, FATE_FAILED, ERR_PROTOCOL },
		{ PHASE_MAIL, 0, NULL, ERR_PROTOCOL, FATE_DEFERRED, ERR_TEMP },
		{ PHASE_RCPT, 0, NULL, ERR_PROTOCOL, FATE_DEFERRED, ERR_TEMP },
		{ PHASE_BODY, 0, NULL, ERR_PROTOCOL, FATE_DEFERRED, ERR_TEMP },
		{ PHASE_DOT, 0, NULL, ERR_PROTOCOL, FATE_DEFERRED, ERR_TEMP },
		/* local trouble keeps its kind */
		{ PHASE_CONNECT, 0, NULL, ERR_NOHOST, FATE_FAILED, ERR_NOHOST },
		{ PHASE_STARTTLS, 0, NULL, ERR_UNAVAILABLE, FATE_FAILED, ERR_UNAVAILABLE },
		{ PHASE_AUTH, 0, NULL, ERR_AUTH, FATE_FAILED, ERR_AUTH },
		{ PHASE_MAIL, 0, NULL, ERR_DATA, FATE_FAILED, ERR_DATA },
		{ PHASE_BODY, 0, NULL, ERR_IO, FATE_FAILED, ERR_IO },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct err e = { .kind = t[i].local };
		struct fate f = { 0 };

		UNIT_CTX("row %zu: %s %d %s", i, trouble_phase_name(t[i].phase), t[i].code,
			 t[i].enhanced ? t[i].enhanced : "-");
		trouble_fate(t[i].phase, t[i].code, t[i].enhanced, t[i].local ? &e : NULL, &f);
		CHECK_INT(f.state, t[i].state);
		CHECK_INT(f.kind, t[i].kind);
	}
	UNIT_CTX_CLEAR();
}

static void test_enhanced(void)
{
	static const struct {
		const char *text, *want;
	} t[] = {
		{ "5.1.1 no such user", "5.1.1" },
		{ "4.5.3 too many recipients", "4.5.3" },
		{ "2.0.0", "2.0.0" },
		{ "5.7.139 basic auth is off", "5.7.139" },
		{ "no such user", "" },
		{ "5.1 half", "" },
		{ "6.1.1 bad class", "" },
		{ "5.1.1x glued", "" },
		{ "5.1234.1 long", "" },
		{ "", "" },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		char out[16];

		UNIT_CTX("'%s'", t[i].text);
		trouble_enhanced(t[i].text, out, sizeof out);
		CHECK_STR(out, t[i].want);
	}
	UNIT_CTX_CLEAR();
}

static void test_hints(void)
{
	static const struct {
		const char *reply;
		const char *start;	/* NULL: no hint */
	} t[] = {
		{ "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for "
		  "the Tenant.", "Microsoft 365 has basic authentication" },
		{ "550 5.7.30 Basic authentication is not supported for Client Submission.",
		  "Microsoft does not take a password" },
		{ "534 5.7.9 Application-specific password required.", "Google wants an app password" },
		{ "535 5.7.8 Username and Password not accepted. For more information, go to "
		  "https://support.google.com/mail/?p=BadCredentials", "Google refused the password" },
		{ "535 5.7.8 Error: authentication failed: authentication failure", NULL },
		{ "534 5.7.9 Authentication mechanism is too weak", NULL },
		{ "550 5.1.1 no such user", NULL },
		{ "535", NULL },
		{ "", NULL },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		const char *h = trouble_hint(t[i].reply);

		UNIT_CTX("hint for '%s'", t[i].reply);
		if (!t[i].start)
			CHECK(h == NULL);
		else if (CHECK(h != NULL))
			CHECK(strncmp(h, t[i].start, strlen(t[i].start)) == 0);
	}
	UNIT_CTX_CLEAR();
}

static void test_names(void)
{
	for (int s = FATE_PENDING; s <= FATE_NEXT; s++)
		CHECK_INT(fate_parse(fate_name((enum fate_state)s)), s);
	CHECK_INT(fate_parse("bogus"), -1);
	CHECK_STR(trouble_phase_name(PHASE_DOT), "the end of the message");
	CHECK_STR(trouble_phase_name(PHASE_MAIL), "MAIL FROM");
}

int main(void)
{
	test_fates();
	test_enhanced();
	test_hints();
	test_names();
	return unit_done();
}
