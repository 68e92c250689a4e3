/* oauth_int: what oauth.c (grants, store, HTTP) shares with oauth_flow.c (--oauth2-authorize);
 * no other file includes it. */
#ifndef POSTBOTE_OAUTH_INT_H
#define POSTBOTE_OAUTH_INT_H

#include "buf.h"
#include "oauth.h"
#include "oauth_data.h"

/* An account's OAuth settings with the provider's defaults filled in. */
struct oauth_cfg {
	const struct account *a;
	char token_url[1024], device_url[1024], auth_url[1024];	/* "" when unknown */
	const char *scope;	/* NULL: the endpoint's default */
	int (*secret_fn)(const struct account *, char **, struct err *);
	char *secret;		/* fetched on first need; "" for none; wiped */
	char dir[4096], path[4096], lock[4096];	/* the store's */
	int lock_fd;
};

/* Fills c and checks the keys against each other. -1 with ERR_CONFIG. */
int oauth_resolve(const struct account *a,
		  int (*fn)(const struct account *, char **, struct err *), struct oauth_cfg *c,
		  struct err *e);
void oauth_cfg_free(struct oauth_cfg *c);

/* The client secret (fetched once); "" when the account has none. NULL with e. */
const char *oauth_secret(struct oauth_cfg *c, struct err *e);

/* POSTs the form body to url (https only, verified against oauth2_trust_file), the answer into
 * resp (capped at OAUTH_RESPONSE_MAX), its HTTP status into *status. -1 with ERR_TEMP (no
 * connection, timeout), ERR_PROTOCOL (certificate, an answer too long) or ERR_OS. */
int oauth_post(struct oauth_cfg *c, const char *url, const char *body, struct buf *resp,
	       long *status, struct err *e);

/* What an answer that is not a token means: status and the error document (oe, may be NULL)
 * into e; always -1. */
int oauth_refused(struct oauth_cfg *c, long status, const struct oauth_error *oe, struct err *e);

/* The store, under its lock (oauth_lock creates the directory, 0700). load: 0 with *s (empty
 * when there is no file, or one for another user or client), -1 with e. save: atomically, 0600. */
int oauth_lock(struct oauth_cfg *c, struct err *e);
void oauth_unlock(struct oauth_cfg *c);
int oauth_load(struct oauth_cfg *c, struct oauth_store *s, struct err *e);
int oauth_save(struct oauth_cfg *c, const struct oauth_store *s, struct err *e);

/* Stores a token answer: the access token with its expiry, and its refresh token when one came
 * (origin says how: "rotated", "authorize"); s is updated. 0, or -1 with e. */
int oauth_keep(struct oauth_cfg *c, struct oauth_store *s, const struct oauth_token *t,
	       const char *origin, struct err *e);

/* "postbote -C FILE --oauth2-authorize NAME" for messages. */
void oauth_authorize_cmd(const struct account *a, char *out, size_t size);

#endif
