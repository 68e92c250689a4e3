/* submit: one message now. Delivers it to the account's smarthost; keeps in the queue what the
 * smarthost cannot take now (one "queued as" line); keeps refused recipients' copies in the
 * failed area when others got it; then sends what else is due over the same session. */
#ifndef POSTBOTE_SUBMIT_H
#define POSTBOTE_SUBMIT_H

#include "conf.h"
#include "cred.h"
#include "envelope.h"
#include "err.h"

struct deliver;

/* What the log file says of a submission. */
struct submit_report {
	char host[256];
	char mech[32];		/* "" without AUTH */
	char reply[256];	/* the server's last reply */
	char queued[48];	/* the queue id when some recipients were queued */
};

/* 0 when every recipient has the message or it is durably queued for those who do not, else -1
 * with e (each refused recipient's reason on its own line on stderr, one line for a reason they
 * share, e holding the last). The secret for AUTH is fetched here, once, after the message is
 * spooled: a passwordeval that misses its deadline queues the message. */
int submit(const struct conf *c, const struct account *a, const struct envelope *env,
	   const struct spool *sp, struct submit_report *rep, struct err *e);

struct deliver;
/* The same over d, a session to a's smarthost that the caller opened and keeps (-bs, which checked
 * the recipients over it); when it can no longer be used, submit opens one of its own. */
int submit_over(const struct conf *c, const struct account *a, struct deliver *d,
		const struct envelope *env, const struct spool *sp, struct submit_report *rep,
		struct err *e);
/* deliver_open with the secret in cred, and, when the server refused an OAuth token, one fresh
 * token (cred_renew) and one more try: the one place that retries a refused login, for submit
 * and the queue run alike. NULL with *fate and e as for deliver_open. */
struct deliver *submit_open(const struct account *a, struct cred *cred, struct fate *fate,
			    struct err *e);

#endif
