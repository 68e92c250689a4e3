/* smtpd: `postbote -bs`, an RFC 5321 server on standard input and output for programs that speak
 * SMTP to their sendmail (Symfony Mailer, SwiftMailer, Laravel, pine) and for a localhost
 * listener started per connection (systemd's Accept=yes, inetd). Each message is one submission
 * (submission.h): recipients are checked with the smarthost while the client waits, so a
 * recipient the smarthost refuses gets its reply at RCPT time; the reply to the final dot is 250
 * only when the message is delivered or durably queued. A local user's messages go through the
 * drop program (dropbox.h), their recipients accepted as they come.
 *
 * The command parser is pure (smtpd_parse), for the unit tests and the fuzzer. */
#ifndef POSTBOTE_SMTPD_H
#define POSTBOTE_SMTPD_H

#include <stddef.h>

#include "caps.h"
#include "conf.h"
#include "err.h"
#include "request.h"

enum smtpd_verb {
	SMTPD_UNKNOWN, SMTPD_HELO, SMTPD_EHLO, SMTPD_MAIL, SMTPD_RCPT, SMTPD_DATA, SMTPD_RSET,
	SMTPD_NOOP, SMTPD_QUIT, SMTPD_VRFY, SMTPD_EXPN, SMTPD_HELP, SMTPD_STARTTLS, SMTPD_AUTH,
	SMTPD_BDAT
};

/* One command line, parsed. The strings are NUL-terminated copies. */
struct smtpd_cmd {
	enum smtpd_verb verb;
	char arg[SMTPD_LINE_MAX + 1];	/* HELO/EHLO's domain; for MAIL and RCPT the path */
	/* MAIL's parameters */
	long long size;			/* SIZE=, -1 when not given */
	int body_8bit, smtputf8;
	char ret[5];			/* "FULL", "HDRS" or "" */
	char envid[101];		/* ENVID=, decoded from xtext (RFC 3461: 100 chars) */
	/* RCPT's */
	char notify[64];		/* NOTIFY=, as given */
};

/* Parses one command line (without CRLF). 0 and c filled; otherwise the reply to give: a whole
 * line "CODE X.Y.Z text" (static), for an unknown command, a syntax error in the arguments, an
 * unknown or malformed parameter. */
const char *smtpd_parse(const char *line, size_t len, struct smtpd_cmd *c);

/* The server: reads commands from `in`, answers on `out`, until QUIT, the end of the input, or
 * an idle client's timeout (idle seconds; 0: SMTPD_IDLE). base holds what the command line said
 * (-a, -F, the login);
 * the account comes from c, or, with c NULL, the caller is a local user whose messages go
 * through the drop program. 0, or -1 with e when the session could not go on (a write
 * failed); a failed message is the client's to hear about, not an error of the session. */
int smtpd_serve(const struct conf *c, const struct request *base, int idle, int in, int out,
		struct err *e);

#endif
