/* envelope: what every layer says about one message, as plain data: the envelope (sender,
 * recipients, body type, DSN), where the message's bytes are (the spool), and each recipient's
 * fate. The command line fills it, submit and runq pass it down, smtp puts it on the wire, and
 * the queue stores it; no layer keeps a copy of its own shape. */
#ifndef POSTBOTE_ENVELOPE_H
#define POSTBOTE_ENVELOPE_H

#include <sys/types.h>

#include "err.h"

struct envelope {
	const char *from;	/* "" for the null sender */
	char **rcpts;
	size_t nrcpts;
	int body_8bit;		/* ask for BODY=8BITMIME where offered */
	int smtputf8;		/* ask for SMTPUTF8 whatever the addresses (-O smtputf8=yes):
				 * a server that does not offer it cannot take the message */
	/* DSN (RFC 3461), sent only to a server that offers DSN; NULL: not asked for */
	const char *dsn_notify;	/* upper case as on the wire: "NEVER", "SUCCESS,FAILURE" */
	const char *dsn_ret;	/* "FULL" or "HDRS" */
	const char *dsn_envid;	/* any text; xtext-encoded on the wire */
};

/* The message's bytes: size bytes of fd from offset, CRLF line ends, not dot-stuffed. */
struct spool {
	int fd;
	off_t offset, size;
	/* A message not all in fd (NULL once all of it is): one still being read, or one whose
	 * bytes were sent as they were read without being kept (input that can be read again).
	 * Makes bytes [from, want) of it readable, in fd or at mem, and updates size (it may forget
	 * the bytes before from); want < 0: all of it, in fd. 0, or -1 with e when the message
	 * cannot be read (then every later call fails the same way: nothing of it may be sent or
	 * queued). */
	int (*more)(const struct spool *sp, off_t from, off_t want, struct err *e);
	void *ctx;
	int reading;		/* still being read: size is not its whole size yet */
	/* bytes [mem_at, mem_at + mem_len) of the message, in memory and not in fd */
	const char *mem;
	off_t mem_at;
	size_t mem_len;
};

/* What became of one recipient. Every case has its own name, so nobody needs to read a reason
 * to know what it means. */
enum fate_state {
	FATE_PENDING,		/* not tried yet (or the connection failed before its turn) */
	FATE_SENT,		/* the server took the message for it */
	FATE_DEFERRED,		/* temporary: try again later (queue it) */
	FATE_FAILED,		/* permanent: the sender must be told */
	FATE_NEXT,		/* "too many recipients": try again in the next transaction */
};

#define FATE_REASON_MAX ERR_TEXT_MAX

struct fate {
	enum fate_state state;
	enum err_kind kind;	/* why FAILED (ERR_NOUSER for a refused recipient), or ERR_TEMP */
	char reason[FATE_REASON_MAX];	/* the server's words or ours, printable, one line */
};

/* True for sent and failed: the recipient needs nothing more (no retry, no listing). */
int fate_final(enum fate_state s);

/* "pending", "sent", "deferred", "failed", "next": the names the queue's state file and the log
 * file use. */
const char *fate_name(enum fate_state s);
/* The state with that name; -1 when there is none. */
int fate_parse(const char *name);

#endif
