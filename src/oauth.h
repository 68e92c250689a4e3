/* oauth: OAuth 2.0 access tokens for XOAUTH2 and OAUTHBEARER, got by postbote itself. The
 * account's grant (refresh_token, client_credentials, or an RFC 7523 JWT signed with a service
 * account's key) is sent to its token endpoint over verified https (libcurl); the answer (JSON,
 * json-c) is checked by oauth_data. Tokens are kept per account in a store file in
 * oauth2_store_dir, by default in the state directory (root's LOCALSTATEDIR/lib/postbote/oauth,
 * else $XDG_STATE_HOME/postbote/oauth or ~/.local/state/postbote/oauth), 0600, replaced
 * atomically (rename) under a lock, so that a rotated refresh token is on disk before the access
 * token is used and a crash leaves the old store or the new one, never none. Tokens never reach
 * argv, a log or an error message. oauth.c: grants, store, HTTP; oauth_flow.c:
 * --oauth2-authorize; oauth_data.c: the parsers and encoders, without I/O. */
#ifndef POSTBOTE_OAUTH_H
#define POSTBOTE_OAUTH_H

#include <stdio.h>

#include "conf.h"
#include "err.h"

/* Seconds before its expiry at which a cached access token is no longer used. */
#define OAUTH_MARGIN 60

/* True when the account's token comes from oauth: auth is XOAUTH2 or OAUTHBEARER and an OAuth
 * key (oauth2_provider, oauth2_token_endpoint, oauth2_client_id or oauth2_key_file) is set. */
int oauth_enabled(const struct account *a);

/* `secret` below: how oauth gets the client secret, only when a request needs it:
 * oauth2_client_secret, or the first line of oauth2_client_secret_eval (cred_client_secret).
 * It sets *out, malloc'd ("" for none), and returns 0, or -1 with e. */

#define OAUTH_FRESH 1u	/* the server refused the cached token: ask the endpoint for a new one */

/* The access token for account a, malloc'd into *token (wipe and free it): the cached one while
 * it has more than OAUTH_MARGIN seconds left (unless OAUTH_FRESH), else a new one from the
 * endpoint, stored before it is returned. -1 with e:
 *   ERR_AUTH    the endpoint refused the grant (invalid_grant: the refresh token is revoked or
 *               expired) or the client; the text says what to run (postbote --oauth2-authorize)
 *   ERR_TEMP    the endpoint could not be reached, timed out, or answered 5xx/429
 *   ERR_PROTOCOL its certificate did not verify against oauth2_trust_file, or its answer is
 *               not a token
 *   ERR_CONFIG  keys missing or contradicting each other; no refresh token anywhere
 *   ERR_IO/ERR_OS the store could not be read or written */
int oauth_token(const struct account *a, unsigned flags,
		int (*secret)(const struct account *, char **, struct err *), char **token,
		struct err *e);

/* postbote --oauth2-authorize: the one-time authorization by a person, printed to out and
 * answered in a browser: the device flow (RFC 8628) where the account has a device endpoint
 * (Microsoft), else the authorization code flow with PKCE and a loopback redirect on
 * 127.0.0.1 (RFC 8252, RFC 7636; Google). The refresh token is stored as oauth_token would.
 * -1 with e (ERR_AUTH when the person or the endpoint said no, ERR_TEMP when it timed out). */
int oauth_authorize(const struct account *a,
		    int (*secret)(const struct account *, char **, struct err *), FILE *out,
		    struct err *e);

/* --serverinfo: the grant, the endpoint, where the refresh token is and when the cached access
 * token expires; never a token. */
void oauth_print_state(const struct account *a, FILE *out);

#endif
