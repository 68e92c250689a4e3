/* presets: the table of providers' submission servers, and its look-ups. Ports and TLS modes
 * are the providers' documented submission settings; where a provider offers both, implicit
 * TLS (RFC 8314) is preferred, except where its documentation names 587 first. A sending
 * service is found by MX only where a domain receives through it (SES's inbound-smtp.REGION,
 * SendGrid's and Postmark's inbound hosts); otherwise it is named with --preset. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "presets.h"

#define APP "an app password (your account's security settings, with 2-step verification on)"
#define SES(r)                                                                                \
	{ "ses-" r, "Amazon SES (" r ")", "email-smtp." r ".amazonaws.com", 587,              \
	  CONF_TLS_STARTTLS, "on", "SES-SMTP-USERNAME", NULL, 0, NULL,                           \
	  "inbound-smtp." r ".amazonaws.com",                                                 \
	  "the SMTP credentials made in the SES console (not your AWS access key)" }

static const struct preset presets[] = {
	{ "gmail", "Gmail", "smtp.gmail.com", 465, CONF_TLS_IMPLICIT, "on", NULL, NULL, 0,
	  "gmail.com googlemail.com", NULL,
	  APP " (or an OAuth 2.0 access token with auth = XOAUTH2)" },
	{ "google-workspace", "Google Workspace", "smtp.gmail.com", 465, CONF_TLS_IMPLICIT, "on",
	  NULL, NULL, 0, NULL, "google.com googlemail.com",
	  APP " (or an OAuth 2.0 access token with auth = XOAUTH2)" },
	{ "microsoft365", "Microsoft 365", "smtp.office365.com", 587, CONF_TLS_STARTTLS,
	  "XOAUTH2", NULL, "microsoft", 0, NULL, "mail.protection.outlook.com",
	  "an OAuth 2.0 access token: Microsoft has turned basic authentication off" },
	{ "outlook", "Outlook.com", "smtp-mail.outlook.com", 587, CONF_TLS_STARTTLS, "XOAUTH2",
	  NULL, "microsoft", 0, "outlook.com hotmail.com live.com msn.com outlook.de hotmail.de "
	  "hotmail.co.uk hotmail.fr live.de live.co.uk", "olc.protection.outlook.com",
	  "an OAuth 2.0 access token: Microsoft has turned basic authentication off" },
	{ "fastmail", "Fastmail", "smtp.fastmail.com", 465, CONF_TLS_IMPLICIT, "on", NULL, NULL, 1,
	  "fastmail.com fastmail.fm", "messagingengine.com",
	  "an app password (Settings, Privacy & Security, App passwords)" },
	{ "icloud", "iCloud Mail", "smtp.mail.me.com", 587, CONF_TLS_STARTTLS, "on", NULL, NULL, 0,
	  "icloud.com me.com mac.com", "mail.icloud.com",
	  "an app-specific password (account.apple.com, Sign-In and Security)" },
	{ "yahoo", "Yahoo Mail", "smtp.mail.yahoo.com", 465, CONF_TLS_IMPLICIT, "on", NULL, NULL, 0,
	  "yahoo.com ymail.com rocketmail.com yahoo.co.uk yahoo.de yahoo.fr", "yahoodns.net",
	  APP },
	{ "gmx", "GMX", "mail.gmx.net", 587, CONF_TLS_STARTTLS, "on", NULL, NULL, 0,
	  "gmx.net gmx.de gmx.at gmx.ch", "gmx.net",
	  "your password, with POP3/IMAP access turned on in GMX's settings" },
	{ "gmx-com", "GMX (gmx.com)", "mail.gmx.com", 587, CONF_TLS_STARTTLS, "on", NULL, NULL, 0,
	  "gmx.com gmx.us gmx.co.uk", "gmx.com",
	  "your password, with POP3/IMAP access turned on in GMX's settings" },
	{ "webde", "WEB.DE", "smtp.web.de", 587, CONF_TLS_STARTTLS, "on", NULL, NULL, 0, "web.de",
	  "web.de", "your password, with POP3/IMAP access turned on in WEB.DE's settings" },
	{ "mailbox-org", "mailbox.org", "smtp.mailbox.org", 465, CONF_TLS_IMPLICIT, "on", NULL, NULL,
	  0, "mailbox.org", "mailbox.org", "your password (or an app password)" },
	SES("us-east-1"), SES("us-east-2"), SES("us-west-1"), SES("us-west-2"),
	SES("ca-central-1"), SES("eu-west-1"), SES("eu-west-2"), SES("eu-west-3"),
	SES("eu-central-1"), SES("eu-north-1"), SES("ap-south-1"), SES("ap-northeast-1"),
	SES("ap-northeast-2"), SES("ap-southeast-1"), SES("ap-southeast-2"), SES("sa-east-1"),
	{ "sendgrid", "SendGrid", "smtp.sendgrid.net", 587, CONF_TLS_STARTTLS, "on", "apikey", NULL,
	  0, NULL, "mx.sendgrid.net",
	  "an API key with the Mail Send permission; the user is the word apikey" },
	{ "mailgun", "Mailgun (US)", "smtp.mailgun.org", 587, CONF_TLS_STARTTLS, "on", NULL, NULL, 0,
	  NULL, "mailgun.org", "the SMTP password of the domain's SMTP credentials" },
	{ "mailgun-eu", "Mailgun (EU)", "smtp.eu.mailgun.org", 587, CONF_TLS_STARTTLS, "on", NULL,
	  NULL, 0, NULL, "eu.mailgun.org", "the SMTP password of the domain's SMTP credentials" },
	{ "postmark", "Postmark", "smtp.postmarkapp.com", 587, CONF_TLS_STARTTLS, "on",
	  "POSTMARK-SERVER-TOKEN", NULL, 0, NULL, "inbound.postmarkapp.com",
	  "the Server API token, which is the user as well (Postmark has no port 465)" },
};
#define PRESETS_N (sizeof presets / sizeof presets[0])

const struct preset *preset_at(size_t i)
{
	return i < PRESETS_N ? &presets[i] : NULL;
}

const struct preset *preset_by_name(const char *name)
{
	for (size_t i = 0; i < PRESETS_N; i++)
		if (strcasecmp(presets[i].name, name) == 0)
			return &presets[i];
	return NULL;
}

/* Whether the blank-separated list holds word (without regard to case); with `suffix`, whether
 * word ends with one of them at a label boundary. */
static int preset_listed(const char *list, const char *word, int suffix)
{
	size_t wn = strlen(word);

	while (wn && word[wn - 1] == '.')
		wn--;	/* an MX host written with the final dot */
	for (const char *p = list; p && *p;) {
		size_t n = strcspn(p, " ");

		if (n && (wn == n || (suffix && wn > n && word[wn - n - 1] == '.')) &&
		    strncasecmp(word + wn - n, p, n) == 0)
			return 1;
		p += n + (p[n] == ' ');
	}
	return 0;
}

const struct preset *preset_by_domain(const char *domain)
{
	for (size_t i = 0; i < PRESETS_N; i++)
		if (preset_listed(presets[i].domains, domain, 0))
			return &presets[i];
	return NULL;
}

const struct preset *preset_by_mx(const char *const *mx, size_t n)
{
	/* the most specific suffix wins: eu.mailgun.org before mailgun.org */
	const struct preset *best = NULL;
	size_t best_len = 0;

	for (size_t k = 0; k < n; k++)
		for (size_t i = 0; i < PRESETS_N; i++)
			for (const char *p = presets[i].mx; p && *p;) {
				size_t len = strcspn(p, " ");
				char one[256];

				snprintf(one, sizeof one, "%.*s", (int)len, p);
				if (preset_listed(one, mx[k], 1) && len > best_len)
					best = &presets[i], best_len = len;
				p += len + (p[len] == ' ');
			}
	return best;
}
