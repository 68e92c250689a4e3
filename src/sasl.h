/* sasl: which mechanism to use, and the client side of it: our own code for PLAIN and LOGIN and
 * for the OAuth 2.0 bearer-token mechanisms that GNU SASL lacks (XOAUTH2, OAUTHBEARER of RFC
 * 7628), GNU SASL for the others (SCRAM-*, CRAM-MD5, EXTERNAL, GSSAPI, ...), loaded with dlopen
 * the first time one of them is used or asked about. Challenges and responses travel
 * base64-encoded, as SMTP AUTH carries them. */
#ifndef POSTBOTE_SASL_H
#define POSTBOTE_SASL_H

#include <stddef.h>

#include "err.h"

struct sasl;

/* What the mechanisms may learn about the connection. Strings are borrowed. */
struct sasl_peer {
	const char *host;	/* the server's name: GSSAPI's service host, OAUTHBEARER's host= */
	int port;		/* OAUTHBEARER's port= */
	int tls;		/* TLS is active */
	/* channel binding from tls_channel_binding(): "tls-exporter" or "tls-unique" and its
	 * base64 data; NULL when there is none (no TLS, or none safe), so no *-PLUS mechanism */
	const char *cb_type;
	const char *cb_data;
};

/* Picks the mechanism: `want` NULL or "on" means the strongest that the server offers (in
 * `offered`, space-separated, upper case), that we support and that the connection allows:
 * SCRAM-SHA-256-PLUS, SCRAM-SHA-1-PLUS (only with channel binding), SCRAM-SHA-256, SCRAM-SHA-1,
 * PLAIN, CRAM-MD5, LOGIN; mechanisms that reveal the password (PLAIN, LOGIN, and the token of
 * XOAUTH2 and OAUTHBEARER) only when p->tls or `plaintext_ok`. Anything else is `want` itself,
 * which must be offered: EXTERNAL, GSSAPI, XOAUTH2 and OAUTHBEARER are used only when named.
 * GNU SASL is loaded only when the choice needs it to say what it supports: for a name of its
 * own, or when auth = on reaches one of its mechanisms (SCRAM-*, CRAM-MD5) before one of ours.
 * Writes the name to out. -1 with ERR_AUTH (nothing usable) or ERR_CONFIG (not supported, or
 * GNU SASL cannot be loaded). */
int sasl_choose(const char *offered, const char *want, const struct sasl_peer *p,
		int plaintext_ok, char *out, size_t size, struct err *e);

/* True for mechanisms that use no password (EXTERNAL, GSSAPI): the caller need not fetch one,
 * and `user`, when set, is sent as the authorization identity. */
int sasl_no_password(const char *mech);

/* Starts a client session. user, password (the bearer token for XOAUTH2 and OAUTHBEARER; may be
 * NULL for sasl_no_password mechanisms) and p: borrowed for the life of the session. NULL with
 * ERR_AUTH (e.g. a -PLUS mechanism without channel binding data), or ERR_CONFIG when GNU SASL,
 * which the mechanism needs, cannot be loaded. */
struct sasl *sasl_start(const char *mech, const char *user, const char *password,
			const struct sasl_peer *p, struct err *e);
void sasl_free(struct sasl *s);

/* True when the mechanism starts with a client message, sent on the AUTH line itself. */
int sasl_client_first(const char *mech);

/* One step: `in` is the server's base64 challenge (NULL before the first). Returns 0 when the
 * mechanism is done on our side, 1 when it expects more, -1 with ERR_AUTH. *out is a malloc'd
 * base64 response (possibly ""), which the caller frees. A 334 with an OAuth error (JSON) gets
 * the dummy response RFC 7628 asks for, and sasl_server_error() then describes the error. */
int sasl_step(struct sasl *s, const char *in, char **out, struct err *e);

/* What the server said about a failure inside the exchange, e.g. an OAuth error:
 * "the server rejected the token: status invalid_token: {...}" (cleaned, capped), or "". The
 * caller appends it to its "authentication failed" message after the final 5xx. */
const char *sasl_server_error(const struct sasl *s);

/* Finds the first "status" member in json[0..n), which need not be terminated: the OAuth error
 * document a server sends in its 334 challenge, untrusted. Scans rather than parses, since only
 * this one key is wanted: a "status" in a nested object counts too, and a string that is not
 * closed runs to the end of the input. The value is a string's contents between the quotes,
 * escapes left as they are, or a bare number (its digits and '-'); it goes into out through
 * buf_clean_str, so it is printable, cut to fit size (at least 1) and terminated. Returns 0, or
 * -1 when no "status" member has a non-empty string or number value (out untouched then). */
int sasl_json_status(const char *json, size_t n, char *out, size_t size);

#endif
