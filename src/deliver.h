/* deliver: one account's smarthost session and the transfer of messages over it. Opening tries
 * the account's hosts in order while the failure is temporary; sending splits the recipients into
 * transactions (max_recipients, and another one after "too many recipients") and gives each
 * recipient its fate through trouble_fate(). It decides nothing about queueing: that is the
 * caller's. The session is opaque. */
#ifndef POSTBOTE_DELIVER_H
#define POSTBOTE_DELIVER_H

#include <stdio.h>

#include "conf.h"
#include "envelope.h"

struct deliver;

/* Connects, says EHLO (as the account's domain), starts TLS, authenticates with secret (NULL or
 * "" without AUTH), trying the account's hosts in order. NULL when no host could be used: e has the last host's error and *fate
 * what it means for the message's recipients (deferred or failed, with the exit kind). */
struct deliver *deliver_open(const struct account *a, const char *secret, struct fate *fate,
			     struct err *e);

/* Sends one message to its recipients whose fate is FATE_PENDING (fates[i] belongs to
 * env->rcpts[i]); each ends SENT, DEFERRED or FAILED with its reason. Returns 0, or -1 when the
 * session can no longer be used (e says why; the recipients still pending got that fate). */
int deliver_message(struct deliver *d, const struct envelope *env, const struct spool *sp,
		    struct fate *fates, struct err *e);

/* Asks the smarthost, without sending a message, whether it takes rcpt from env->from (for -bs,
 * while the client waits): *f SENT when it does (the reason its reply), else DEFERRED or FAILED
 * as for a message. Returns 0, or -1 when the session can no longer be used (*f says why). */
int deliver_verify(struct deliver *d, const struct envelope *env, const char *rcpt,
		   struct fate *f, struct err *e);

/* The message deliver_message sends next is the last one on this session (a direct submission
 * with nothing queued behind it): QUIT goes with its last transaction and no 221 is awaited. */
void deliver_last(struct deliver *d);

/* QUIT (without waiting for its reply) and close; safe with NULL. */
void deliver_close(struct deliver *d);

/* For logs: the host the session is open to, the SASL mechanism ("" without), the server's last
 * reply. Each "" for NULL. */
const char *deliver_host(const struct deliver *d);
const char *deliver_mech(const struct deliver *d);
const char *deliver_last_reply(const struct deliver *d);
int deliver_usable(const struct deliver *d);
/* The smarthost takes DSN requests (RFC 3461), so -bs may offer them. */
int deliver_offers_dsn(const struct deliver *d);

/* --serverinfo: what the first host says, collected without AUTH or mail. Strings are malloc'd
 * text (free with deliver_probe_free); NULL where the session did not get that far. */
struct deliver_probe {
	char *greeting;		/* one line */
	char *ehlo_plain;	/* "    CODE capability" lines before STARTTLS */
	char *ehlo;		/* the same with TLS (or without, for tls = off) */
	char *tls_desc;		/* "TLS1.3 AES-256-GCM" */
	char *tls_info;		/* protocol, verification and the certificate, see tls_print_info */
};
int deliver_probe(const struct account *a, struct deliver_probe *p, struct err *e);
void deliver_probe_free(struct deliver_probe *p);

#endif
