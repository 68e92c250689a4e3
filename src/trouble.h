/* trouble: the failure policy, in one place. What a step of the session answered (a reply code
 * with its enhanced status code) or how it failed without an answer (a local or connection
 * error) becomes a recipient's fate and the kind of error that main turns into an exit code.
 * Postfix keeps this in smtp_trouble.c; every rule below has a test in tests/unit/test_trouble.c. */
#ifndef POSTBOTE_TROUBLE_H
#define POSTBOTE_TROUBLE_H

#include "envelope.h"
#include "err.h"

/* The steps of a session, in order. Everything from MAIL on belongs to a transaction: once MAIL
 * was sent, a broken connection leaves the message's fate unknown. */
enum smtp_phase {
	PHASE_CONNECT, PHASE_GREETING, PHASE_EHLO, PHASE_STARTTLS, PHASE_AUTH,
	PHASE_RSET, PHASE_MAIL, PHASE_RCPT, PHASE_DATA, PHASE_BODY, PHASE_DOT,
};

/* "the greeting", "EHLO", ..., "the end of the message": what a reply answers, for messages. */
const char *trouble_phase_name(enum smtp_phase p);

/* The fate of a recipient at phase p when the server answered `code` (0: no answer came) with
 * `enhanced` ("5.1.1", or NULL when the reply has none), or when `local` (may be NULL when a
 * reply came) says how the step failed. Sets f->state and f->kind; the reason is the caller's.
 *  - 2xx (and 354 to DATA): FATE_SENT here means "this step succeeded".
 *  - 421, any 4xx: deferred; at RCPT, 452 and x.5.3 (too many recipients, RFC 5321 4.5.3.1.10,
 *    also when old servers say 552 5.5.3): try in the next transaction.
 *  - 5xx: failed; ERR_NOUSER at RCPT, ERR_AUTH at AUTH, ERR_UNAVAILABLE elsewhere, and ERR_AUTH
 *    wherever trouble_hint knows the reply (a provider refusing password logins at MAIL FROM).
 *  - a code the step cannot have (1xx, 3xx where no 354 is due): a protocol error; from MAIL on
 *    the outcome is unknown, so deferred, never failed.
 *  - no answer: a lost connection or a timeout is deferred; a malformed reply or a broken TLS
 *    record is failed before MAIL (ERR_PROTOCOL) and deferred from MAIL on; other local errors
 *    (bad data, no STARTTLS, a spool read error) fail with their own kind. */
void trouble_fate(enum smtp_phase p, int code, const char *enhanced, const struct err *local,
		  struct fate *f);

/* For replies that need a person rather than a retry (a provider that turned password logins
 * off, or wants an app password): one sentence saying what to do, or NULL. `reply` is the
 * cleaned reply line, "535 5.7.139 ...". */
const char *trouble_hint(const char *reply);

/* The enhanced status code at the start of a reply's text ("5.1.1 no such user"), into out
 * (at least 16 bytes); "" when there is none. */
void trouble_enhanced(const char *text, char *out, size_t size);
/* The same from a whole reply line, "550 5.1.1 no such user". */
void trouble_reply_enhanced(const char *reply, char *out, size_t size);

#endif
