/* sasl: which mechanism to use, and the client side of it through GNU SASL. Challenges and
 * responses travel base64-encoded, as SMTP AUTH carries them. */
#ifndef POSTBOTE_SASL_H
#define POSTBOTE_SASL_H

#include "err.h"

struct sasl;

/* Picks the mechanism: `want` NULL or "on" means the strongest that the server offers (in
 * `offered`, space-separated, upper case), the library supports and the connection allows
 * (cleartext mechanisms only when `tls` is true or `plaintext_ok`); otherwise `want` itself, which
 * must be offered. Writes the name to out. -1 with ERR_AUTH (nothing usable) or ERR_CONFIG. */
int sasl_choose(const char *offered, const char *want, int tls, int plaintext_ok, char *out,
		size_t size, struct err *e);

/* Starts a client session. user, password: borrowed for the life of the session. */
struct sasl *sasl_start(const char *mech, const char *user, const char *password,
			const char *host, struct err *e);
void sasl_free(struct sasl *s);

/* True when the mechanism starts with a client message, sent on the AUTH line itself. */
int sasl_client_first(const char *mech);

/* One step: `in` is the server's base64 challenge (NULL before the first). Returns 0 when the
 * mechanism is done on our side, 1 when it expects more, -1 with ERR_AUTH. *out is a malloc'd
 * base64 response (possibly ""), which the caller frees. */
int sasl_step(struct sasl *s, const char *in, char **out, struct err *e);

#endif
