/* cred: the secret an account's AUTH needs (a password, or an OAuth 2.0 access token), from the
 * configuration, a passwordeval command (run against a deadline), ~/.netrc or the terminal.
 * Secrets are never cut: one that does not fit CRED_SECRET_MAX is an error. Every copy made here
 * is wiped when it is no longer needed, and the process is kept out of core dumps. */
#ifndef POSTBOTE_CRED_H
#define POSTBOTE_CRED_H

#include <stddef.h>

#include "conf.h"
#include "err.h"
#include "caps.h"

struct cred {
	char *secret;	/* "" when none is needed; NUL-terminated; owned, freed by cred_wipe */
	size_t len;
};

/* Turns core dumps off (prctl PR_SET_DUMPABLE 0, RLIMIT_CORE 0) so no secret can reach a core
 * file; called before any secret is read (cred_get calls it too; idempotent). Not dumpable also
 * means that other processes of the same user cannot ptrace this one. Children get a normal
 * dumpable state back at exec, but inherit RLIMIT_CORE 0. */
void cred_harden(void);

/* The secret that account a's AUTH needs, for the server `host` (netrc/prompt look it up by
 * that name): "" when auth is off or the mechanism needs none (sasl_no_password), else
 * `password`, the first line of `password_file` (owned by the caller or root, not readable by
 * others), the first line of `passwordeval`, ~/.netrc, or the terminal prompt. -1 with
 * ERR_CONFIG (none found, the command failed, printed nothing or more than CRED_SECRET_MAX
 * bytes), or ERR_TEMP when passwordeval missed its deadline (the caller may queue and retry),
 * or ERR_OS when a pipe, fork or read for it failed.
 * passwordeval runs with /bin/sh -c in a process group of its own, stdin from /dev/null, and
 * must print its first line and exit within a->timeout seconds; after that, or when the line
 * grows past CRED_SECRET_MAX, the whole group is killed (SIGKILL) and reaped. *out is
 * overwritten (call cred_wipe first to reuse one); on -1 it is left zeroed. */
int cred_get(const struct account *a, const char *host, struct cred *out, struct err *e);

/* With OAuth (oauth_enabled), cred_get's secret is the access token from oauth_token, and its
 * errors are oauth_token's (ERR_AUTH with the command to authorize again, ERR_TEMP, ...).
 * After a session that failed with `why`: when the server refused that token (ERR_AUTH with
 * ERR_REFUSED), replaces c with a fresh token from the endpoint and returns 1, so that the
 * caller tries once more; 0 when there is nothing to renew (no OAuth, another failure); -1 with
 * e when the renewal failed (c is then wiped). */
int cred_renew(const struct account *a, const struct err *why, struct cred *c, struct err *e);

/* The OAuth client secret: oauth2_client_secret, or the first line of oauth2_client_secret_eval
 * (run as passwordeval is), or "" for none. *out is malloc'd: wipe and free it. 0, or -1 with
 * e as for passwordeval. */
int cred_client_secret(const struct account *a, char **out, struct err *e);

/* Wipes (explicit_bzero) and frees; safe on a zeroed struct. Leaves it zeroed. */
void cred_wipe(struct cred *c);

#endif
