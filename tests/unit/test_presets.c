/* Unit tests for presets: the table itself (unique names that are file names, a port, TLS on,
 * an AUTH setting, something to say about the secret, the Amazon SES regions), and the three
 * look-ups: by name (any case), by the address's domain (exact, any case), by MX host (a
 * suffix at a label boundary, the final dot ignored, the most specific suffix winning). */
#include <string.h>

#include "presets.h"
#include "unit.h"

static void test_table(void)
{
	const struct preset *p, *q;
	size_t n = 0;

	for (size_t i = 0; (p = preset_at(i)); i++, n++) {
		UNIT_CTX("%s", p->name);
		CHECK(strspn(p->name, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(p->name));
		CHECK(p->port > 0 && p->port < 65536);
		CHECK(p->tls != CONF_TLS_OFF);
		CHECK(p->auth && *p->auth && p->secret && *p->secret && p->provider && p->host);
		CHECK(preset_by_name(p->name) == p);
		for (size_t k = 0; k < i; k++)
			CHECK(strcmp(preset_at(k)->name, p->name) != 0);
		/* implicit TLS goes with 465, STARTTLS with 587 */
		CHECK((p->tls == CONF_TLS_IMPLICIT) == (p->port == 465));
	}
	UNIT_CTX_CLEAR();
	CHECK(n >= 30);
	q = preset_by_name("SES-EU-WEST-1");
	if (CHECK(q != NULL)) {
		CHECK_STR(q->host, "email-smtp.eu-west-1.amazonaws.com");
		CHECK_INT(q->port, 587);
	}
	q = preset_by_name("postmark");
	if (CHECK(q != NULL))
		CHECK_INT(q->port, 587);	/* Postmark has no 465 */
	CHECK(preset_by_name("nosuch") == NULL);
	CHECK(preset_at(n) == NULL);
}

static void test_domain(void)
{
	CHECK_STR(preset_by_domain("gmail.com")->name, "gmail");
	CHECK_STR(preset_by_domain("GoogleMail.COM")->name, "gmail");
	CHECK_STR(preset_by_domain("hotmail.co.uk")->name, "outlook");
	CHECK_STR(preset_by_domain("web.de")->name, "webde");
	CHECK_STR(preset_by_domain("gmx.de")->name, "gmx");
	CHECK_STR(preset_by_domain("gmx.com")->name, "gmx-com");
	CHECK(preset_by_domain("mail.gmail.com") == NULL);	/* exact only */
	CHECK(preset_by_domain("xgmail.com") == NULL);
	CHECK(preset_by_domain("example.org") == NULL);
}

static void test_mx(void)
{
	const char *google[] = { "alt1.aspmx.l.google.com.", "aspmx.l.google.com" };
	const char *m365[] = { "example-org.mail.protection.outlook.com" };
	const char *fastmail[] = { "in1-smtp.messagingengine.com" };
	const char *eu[] = { "mxa.eu.mailgun.org" }, *us[] = { "mxa.mailgun.org" };
	const char *none[] = { "mx.example.org", "notgoogle.com", "google.com.evil.example" };

	CHECK_STR(preset_by_mx(google, 2)->name, "google-workspace");
	CHECK_STR(preset_by_mx(m365, 1)->name, "microsoft365");
	CHECK_STR(preset_by_mx(fastmail, 1)->name, "fastmail");
	CHECK_STR(preset_by_mx(eu, 1)->name, "mailgun-eu");
	CHECK_STR(preset_by_mx(us, 1)->name, "mailgun");
	const char *ses[] = { "inbound-smtp.eu-west-1.amazonaws.com" };
	const char *pm[] = { "inbound.postmarkapp.com." };

	CHECK_STR(preset_by_mx(ses, 1)->name, "ses-eu-west-1");
	CHECK_STR(preset_by_mx(pm, 1)->name, "postmark");
	CHECK(preset_by_mx(none, 3) == NULL);
	CHECK(preset_by_mx(none, 0) == NULL);
}

int main(void)
{
	test_table();
	test_domain();
	test_mx();
	return unit_done();
}
