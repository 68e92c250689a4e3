/* trouble: replies and local errors to fates, in one table-like function. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "trouble.h"

static const char *const fate_names[] = {
	[FATE_PENDING] = "pending", [FATE_SENT] = "sent", [FATE_DEFERRED] = "deferred",
	[FATE_FAILED] = "failed", [FATE_NEXT] = "next",
};

const char *fate_name(enum fate_state s)
{
	return (unsigned)s < sizeof fate_names / sizeof fate_names[0] ? fate_names[s] : "?";
}

int fate_final(enum fate_state s)
{
	return s == FATE_SENT || s == FATE_FAILED;
}

int fate_parse(const char *name)
{
	for (size_t i = 0; i < sizeof fate_names / sizeof fate_names[0]; i++)
		if (strcmp(fate_names[i], name) == 0)
			return (int)i;
	return -1;
}

const char *trouble_phase_name(enum smtp_phase p)
{
	static const char *const names[] = {
		[PHASE_CONNECT] = "connecting", [PHASE_GREETING] = "the greeting",
		[PHASE_EHLO] = "EHLO", [PHASE_STARTTLS] = "STARTTLS", [PHASE_AUTH] = "AUTH",
		[PHASE_RSET] = "RSET", [PHASE_MAIL] = "MAIL FROM", [PHASE_RCPT] = "RCPT TO",
		[PHASE_DATA] = "DATA", [PHASE_BODY] = "the message",
		[PHASE_DOT] = "the end of the message",
	};
	return (unsigned)p < sizeof names / sizeof names[0] ? names[p] : "?";
}

/* Replies that name their remedy: the enhanced code, words of the text that must be there too
 * (NULL: none), and what to tell the user. */
static const struct {
	const char *code, *words, *hint;
} trouble_hints[] = {
	{ "5.7.139", NULL, "Microsoft 365 has basic authentication (a password) turned off for SMTP "
	  "on this tenant: use OAuth 2.0, auth = xoauth2 with oauth2_provider = microsoft, then "
	  "postbote --oauth2-authorize ACCOUNT (postbote.conf(5))" },
	{ "5.7.30", NULL, "Microsoft does not take a password for SMTP on this account: use "
	  "OAuth 2.0, auth = xoauth2 with oauth2_provider = microsoft, then postbote "
	  "--oauth2-authorize ACCOUNT (postbote.conf(5))" },
	{ "5.7.9", "Application-specific password", "Google wants an app password for this "
	  "account (made in its Google Account security settings), or OAuth 2.0 with auth = xoauth2" },
	{ "5.7.8", "BadCredentials", "Google refused the password: with 2-step verification on, "
	  "it takes only an app password (or OAuth 2.0 with auth = xoauth2)" },
};

const char *trouble_hint(const char *reply)
{
	char enh[16];

	trouble_reply_enhanced(reply, enh, sizeof enh);
	for (size_t i = 0; i < sizeof trouble_hints / sizeof trouble_hints[0]; i++)
		if (strcmp(enh, trouble_hints[i].code) == 0 &&
		    (!trouble_hints[i].words || strstr(reply, trouble_hints[i].words)))
			return trouble_hints[i].hint;
	return NULL;
}

void trouble_enhanced(const char *text, char *out, size_t size)
{
	const char *p = text;
	size_t n;

	out[0] = '\0';
	/* class "." subject "." detail: [245].d{1,3}.d{1,3} (RFC 3463) */
	if (!(p[0] == '2' || p[0] == '4' || p[0] == '5') || p[1] != '.')
		return;
	p += 2;
	for (int part = 0; part < 2; part++) {
		size_t d = 0;

		while (isdigit((unsigned char)p[d]) && d < 4)
			d++;
		if (d == 0 || d > 3 || (part == 0 && p[d] != '.'))
			return;
		p += d + (part == 0);
	}
	if (*p && *p != ' ')
		return;
	n = (size_t)(p - text);
	if (n < size)
		snprintf(out, size, "%.*s", (int)n, text);
}

void trouble_reply_enhanced(const char *reply, char *out, size_t size)
{
	out[0] = '\0';
	if (strlen(reply) > 4)
		trouble_enhanced(reply + 4, out, size);
}

static void trouble_set(struct fate *f, enum fate_state s, enum err_kind k)
{
	f->state = s;
	f->kind = k;
}

/* No reply came: the connection, TLS or we ourselves failed. */
static void trouble_local(enum smtp_phase p, const struct err *local, struct fate *f)
{
	int in_transaction = p >= PHASE_MAIL;

	switch (local ? local->kind : ERR_TEMP) {
	case ERR_TEMP:
		trouble_set(f, FATE_DEFERRED, ERR_TEMP);
		return;
	case ERR_PROTOCOL:
		/* after MAIL the server may have taken the message: only a retry can tell */
		if (in_transaction)
			trouble_set(f, FATE_DEFERRED, ERR_TEMP);
		else
			trouble_set(f, FATE_FAILED, ERR_PROTOCOL);
		return;
	default:
		trouble_set(f, FATE_FAILED, local->kind);
		return;
	}
}

void trouble_fate(enum smtp_phase p, int code, const char *enhanced, const struct err *local,
		  struct fate *f)
{
	int cls = code / 100;
	int too_many = enhanced && strcmp(enhanced + 1, ".5.3") == 0;

	if (code == 0) {
		trouble_local(p, local, f);
		return;
	}
	if (cls == 2 || (p == PHASE_DATA && code == 354)) {
		trouble_set(f, FATE_SENT, ERR_NONE);
		return;
	}
	if (p == PHASE_RCPT && (code == 452 || (too_many && (cls == 4 || code == 552)))) {
		trouble_set(f, FATE_NEXT, ERR_TEMP);
		return;
	}
	if (cls == 4) {
		trouble_set(f, FATE_DEFERRED, ERR_TEMP);
		return;
	}
	if (cls == 5) {
		int login = enhanced && (strcmp(enhanced, "5.7.30") == 0 ||
					 strcmp(enhanced, "5.7.139") == 0);

		trouble_set(f, FATE_FAILED, p == PHASE_RCPT && !login ? ERR_NOUSER
					    : p == PHASE_AUTH || login ? ERR_AUTH
								       : ERR_UNAVAILABLE);
		return;
	}
	/* a code this step cannot have */
	if (p >= PHASE_MAIL)
		trouble_set(f, FATE_DEFERRED, ERR_TEMP);
	else
		trouble_set(f, FATE_FAILED, ERR_PROTOCOL);
}
