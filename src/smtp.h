/* smtp: the blocking client session. Callers see an opaque session, one function per step of
 * its opening, and one transaction loop that keeps at most SMTP_PIPELINE_MAX commands in flight
 * (one without PIPELINING). A step returns 0 when it succeeded, or -1 with e: its text says what
 * happened in words, and smtp_failed_phase()/smtp_last_code() say where and what the server
 * answered, so that trouble_fate() can decide what it means for each recipient. */
#ifndef POSTBOTE_SMTP_H
#define POSTBOTE_SMTP_H

#include <stdio.h>
#include <sys/types.h>

#include "envelope.h"
#include "reply.h"
#include "tls.h"
#include "trouble.h"
#include "caps.h"

struct smtp;

/* Connects to host:port and reads the greeting; with tls (implicit TLS) after the handshake.
 * NULL with e; smtp_failed_phase() is then not available: the phase is PHASE_CONNECT, or
 * PHASE_GREETING when *phase says so. */
struct smtp *smtp_open(const char *host, int port, int timeout_s, const struct tls_opts *tls,
		       enum smtp_phase *phase, struct err *e);
/* EHLO, or HELO when the server rejects EHLO for good. */
int smtp_ehlo(struct smtp *s, const char *domain, struct err *e);
/* STARTTLS and the handshake (ERR_UNAVAILABLE when the server does not offer it); EHLO again. */
int smtp_starttls(struct smtp *s, const struct tls_opts *o, const char *domain, struct err *e);
/* AUTH with `want` (NULL: the strongest mechanism offered) and the secret. */
int smtp_auth(struct smtp *s, const char *want, int plaintext_ok, const char *user,
	      const char *secret, struct err *e);

/* What the server said to one recipient: its RCPT reply, or after a successful final dot that
 * reply. code 0: no answer came. */
struct smtp_rcpt_result {
	int code;
	char reply[256];	/* cleaned */
};

/* One transaction (RSET first when it is not the first on this connection): MAIL FROM:<from>,
 * RCPT TO for each of rcpts (the wire forms, already checked for this server), DATA, the spool
 * dot-stuffed, the final dot; or where CHUNKING is offered, the spool as it is in BDAT chunks
 * of 1 MiB, a small message in the same flight as MAIL and RCPT. smtputf8: ask for SMTPUTF8. Returns 0 when the server took the
 * message for the recipients whose res[i] is 2xx; 1 when it took no recipient (no message was
 * sent; res says why); -1 when the transaction failed (e, smtp_failed_phase, smtp_last_code),
 * after which smtp_usable says whether another one may follow. */
int smtp_send(struct smtp *s, const struct envelope *env, const char *from,
	      const char *const *rcpts, size_t n, int smtputf8, const struct spool *sp,
	      struct smtp_rcpt_result *res, struct err *e);

/* A recipient checked while a client of -bs waits: [RSET] MAIL FROM:<from> (without SIZE) and
 * RCPT TO:<rcpt> (its wire form), and no DATA; the transaction is left open, and the next one
 * on this connection starts with RSET. 0 with res the RCPT reply, -1 as smtp_send (MAIL refused,
 * the session lost). */
int smtp_verify(struct smtp *s, const struct envelope *env, const char *from, const char *rcpt,
		int smtputf8, struct smtp_rcpt_result *res, struct err *e);

/* Where the last failure happened, and the code of the reply that caused it (0: none came). */
enum smtp_phase smtp_failed_phase(const struct smtp *s);
int smtp_last_code(const struct smtp *s);
/* The last reply as one cleaned line ("250 2.0.0 ok"), for logs; "" before any. */
const char *smtp_last_reply(const struct smtp *s);

const char *smtp_host(const struct smtp *s);
const struct ehlo *smtp_caps(const struct smtp *s);
const char *smtp_mech(const struct smtp *s);	/* "" without AUTH */
int smtp_tls(const struct smtp *s);
const char *smtp_tls_desc(const struct smtp *s);	/* "TLS1.3 AES-256-GCM", or "" */
/* --serverinfo: the last reply's lines (the greeting, or the capabilities after EHLO), each
 * "CODE text" cleaned, one per line, into out; and the TLS details (see tls_print_info). */
void smtp_print_reply(const struct smtp *s, FILE *out, const char *indent);
void smtp_print_tls(const struct smtp *s, FILE *out);

/* Capabilities (EHLO_*) not to use even where the server offers them, from now on (a server
 * that offers CHUNKING and breaks on BDAT: chunking = off). */
void smtp_disable(struct smtp *s, unsigned flags);

/* The next transaction is the last one on this session: QUIT goes in the same flight as its
 * last command group, and once the replies before QUIT's are read the session is over (it is no
 * longer usable; smtp_close waits for no 221). What the server said to the message decides every
 * recipient's fate; the reply to QUIT never does. */
void smtp_last(struct smtp *s);

/* Transactions the server still takes on this session (RFC 9422 LIMITS MAILMAX); (size_t)-1
 * without a limit. */
size_t smtp_mail_left(const struct smtp *s);

/* True once QUIT went with a transaction after smtp_last: the session ended as it should. */
int smtp_over(const struct smtp *s);

/* False once the connection is gone, the server said 421, or QUIT was sent. */
int smtp_usable(const struct smtp *s);
/* QUIT (best effort, short wait; no wait after smtp_last), close, free; safe with NULL. */
void smtp_close(struct smtp *s);

#endif
