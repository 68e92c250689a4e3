/* smtp: the blocking client session, one function per protocol step. Each returns 0 when the step
 * succeeded, or -1 with the failure classified in e: ERR_TEMP (4xx, lost, timed out: try later),
 * ERR_UNAVAILABLE / ERR_NOUSER / ERR_AUTH (permanent), ERR_PROTOCOL (the server or TLS broke). */
#ifndef POSTBOTE_SMTP_H
#define POSTBOTE_SMTP_H

#include <sys/types.h>

#include "buf.h"
#include "conn.h"
#include "reply.h"

struct smtp {
	struct conn conn;
	const char *host;	/* for messages */
	const char *cmd;	/* what the reply being read answers, for messages */
	struct reply reply;
	struct buf line;
	struct ehlo caps;
	int tls;		/* TLS is active */
	char tls_desc[64];	/* "TLS1.3 AES-256-GCM", or "" */
	char mech[32];		/* the SASL mechanism used, or "" */
	char last[256];		/* the last reply, cleaned, for the log file */
};

struct smtp_envelope {
	const char *from;	/* "" for the null sender */
	const char *const *rcpts;
	size_t nrcpts;
	int body_8bit;		/* ask for BODY=8BITMIME when offered */
	int smtputf8;		/* ask for SMTPUTF8 (the caller checked that it is offered) */
	/* DSN (RFC 3461), sent only when the server offers DSN; NULL: not asked for */
	const char *dsn_notify;	/* "NEVER" or e.g. "SUCCESS,FAILURE" */
	const char *dsn_ret;	/* "FULL" or "HDRS" */
	const char *dsn_envid;	/* any text; xtext-encoded here */
};

/* Connects and reads the greeting. */
int smtp_open(struct smtp *s, const char *host, int port, int timeout_s, struct err *e);
/* EHLO, or HELO when the server rejects EHLO for good. Fills s->caps. */
int smtp_ehlo(struct smtp *s, const char *domain, struct err *e);
/* STARTTLS and the handshake (fails with ERR_UNAVAILABLE when the server does not offer it).
 * The caller must say EHLO again afterwards. */
int smtp_starttls(struct smtp *s, const struct tls_opts *o, struct err *e);
/* The handshake of implicit TLS, right after connecting, before the greeting is read. */
int smtp_open_tls(struct smtp *s, const char *host, int port, int timeout_s,
		  const struct tls_opts *o, struct err *e);
/* AUTH with `want` ("on" or a mechanism name). */
int smtp_auth(struct smtp *s, const char *want, int plaintext_ok, const char *user,
	      const char *password, struct err *e);
/* One transaction: MAIL, RCPT for each recipient, DATA, the message from fd (size bytes, CRLF
 * line endings, not dot-stuffed), the final dot. Pipelined when the server offers PIPELINING.
 * All or nothing: if any recipient is refused, nothing is sent. */
int smtp_send(struct smtp *s, const struct smtp_envelope *env, int fd, off_t size, struct err *e);
/* QUIT (best effort) and close. Safe after any failure and on a never-opened session. */
void smtp_close(struct smtp *s);

#endif
