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
	int port;
	const char *cmd;	/* what the reply being read answers, for messages */
	struct reply reply;
	struct buf line;
	struct ehlo caps;
	int tls;		/* TLS is active */
	char tls_desc[64];	/* "TLS1.3 AES-256-GCM", or "" */
	char mech[32];		/* the SASL mechanism used, or "" */
	char last[256];		/* the last reply, cleaned, for the log file */
	unsigned transactions;	/* started on this connection; RSET goes before the next */
	int broken;		/* the connection failed or the server said 421: never reuse it */
};

/* What the server said about one recipient: its RCPT reply when that was a refusal, else the
 * reply after the final dot. code 0: no answer (the transaction failed before). */
struct smtp_rcpt_result {
	int code;
	char reply[256];
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
/* One transaction (after RSET when it is not the first on this connection): MAIL, RCPT for each
 * recipient, DATA, size bytes of fd from offset (CRLF line endings, not dot-stuffed), the final
 * dot; pipelined when the server offers PIPELINING. The message goes to the recipients the
 * server accepts. Returns 0 with res[i] (one per recipient) telling each recipient's fate, or
 * -1 when the transaction failed for every recipient not already refused in res, with the
 * failure in e. After -1 check smtp_usable before another transaction. */
int smtp_send(struct smtp *s, const struct smtp_envelope *env, int fd, off_t offset, off_t size,
	      struct smtp_rcpt_result *res, struct err *e);
/* False once the connection is gone (closed by either side). */
int smtp_usable(const struct smtp *s);
/* QUIT (best effort) and close. Safe after any failure and on a never-opened session. */
void smtp_close(struct smtp *s);

#endif
