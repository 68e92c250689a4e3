/* deliver: one account's smarthost session and the transfer of messages over it. Opening tries
 * the account's hosts in order while the failure is temporary; sending splits the recipients into
 * transactions (max_recipients, and a further one after "452 too many recipients") and tells each
 * recipient's fate. It decides nothing about queueing: that is the caller's. */
#ifndef POSTBOTE_DELIVER_H
#define POSTBOTE_DELIVER_H

#include <sys/types.h>

#include "conf.h"
#include "smtp.h"

#define DELIVER_HOSTS_MAX 8

struct deliver {
	const struct account *a;
	const char *domain;	/* EHLO name */
	const char *password;	/* NULL without AUTH */
	char hosts[DELIVER_HOSTS_MAX][256];
	size_t nhosts;
	struct smtp s;
	int open;
};

enum deliver_state { DELIVER_PENDING, DELIVER_SENT, DELIVER_DEFERRED, DELIVER_FAILED };

struct deliver_rcpt {
	const char *addr;
	enum deliver_state state;
	enum err_kind kind;	/* why FAILED: ERR_NOUSER for a refused recipient */
	char reason[400];	/* why DEFERRED or FAILED, for the user and the queue */
};

struct deliver_item {
	const char *from;	/* "" for the null sender */
	struct deliver_rcpt *rcpts;	/* those not PENDING are left alone */
	size_t nrcpts;
	int fd;
	off_t offset, size;
	int body_8bit;
	const char *dsn_notify, *dsn_ret, *dsn_envid;
};

/* Connects, says EHLO, starts TLS, authenticates. -1 with the error of the last host tried. */
int deliver_open(struct deliver *d, const struct account *a, const char *domain,
		 const char *password, struct err *e);

/* Sends one message to its PENDING recipients; each ends SENT, DEFERRED or FAILED. Returns 0,
 * or -1 when the connection can no longer be used (e says why; the recipients that were still
 * pending are DEFERRED or FAILED with that reason). */
int deliver_message(struct deliver *d, struct deliver_item *it, struct err *e);

/* QUIT and close; safe when never opened. */
void deliver_close(struct deliver *d);

/* --serverinfo: connects to the account's first host and prints on stdout the greeting, the EHLO
 * capabilities before and after TLS, the TLS version and cipher, and the server's certificate.
 * No AUTH, no mail. */
int deliver_serverinfo(const struct account *a, const char *domain, struct err *e);

/* The host that the session is open to. */
const char *deliver_host(const struct deliver *d);

#endif
