/* smtp_int: what the files of the smtp module share and nothing else may use: the session's
 * state and the send/receive primitives that every exchange is built on (smtp.c), used by the
 * AUTH exchange (smtp_auth.c). */
#ifndef POSTBOTE_SMTP_INT_H
#define POSTBOTE_SMTP_INT_H

#include "buf.h"
#include "conn.h"
#include "reply.h"
#include "smtp.h"

struct smtp {
	struct conn *conn;
	const char *host;	/* for messages */
	int port;
	const char *cmd;	/* what the reply being read answers, for messages */
	enum smtp_phase phase;	/* the step under way, for the failure policy */
	int code;		/* the code of the reply that failed a step; 0: none came */
	struct reply reply;
	struct buf line;
	struct ehlo caps;
	int tls;		/* TLS is active */
	char tls_desc[64];	/* "TLS1.3 AES-256-GCM", or "" */
	char mech[32];		/* the SASL mechanism used, or "" */
	char last[256];		/* the last reply, cleaned, for the log file */
	unsigned transactions;	/* started on this connection; RSET goes before the next */
	int broken;		/* the connection failed or the server said 421: never reuse it */
	unsigned disabled;	/* EHLO_* capabilities not to use even when offered */
	int closing;		/* smtp_last: QUIT goes with the next transaction's last flight */
	int quit_sent;		/* QUIT is on its way: the session is over */
};

/* What the next reply answers (cmd: its name for messages; NULL: the phase's). */
void smtp_step(struct smtp *s, enum smtp_phase p, const char *cmd);
/* Queues one command line (LOG_SECRET in flags: the transcript shows only its verb). */
int smtp_put(struct smtp *s, const char *line, int flags, struct err *e);
/* Writes what is queued. */
int smtp_flush(struct smtp *s, struct err *e);
/* No reply may be waiting before a command that expects one: a server speaking out of turn is
 * a protocol error. */
int smtp_in_turn(struct smtp *s, struct err *e);
/* Reads one whole reply into s->reply (and s->last); -1 when none can be read. */
int smtp_read(struct smtp *s, struct err *e);

#endif
