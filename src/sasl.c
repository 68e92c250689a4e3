/* sasl: mechanism choice and the client side of each mechanism (GNU SASL). */
#include <gsasl.h>
#include <stdlib.h>
#include <string.h>

#include "sasl.h"

struct sasl {
	Gsasl *ctx;
	Gsasl_session *session;
};

/* Strongest first. `clear` mechanisms reveal the password to anyone reading the connection. */
static const struct {
	const char *name;
	int clear;
} sasl_order[] = {
	{ "SCRAM-SHA-256", 0 },
	{ "SCRAM-SHA-1", 0 },
	{ "PLAIN", 1 },
	{ "CRAM-MD5", 0 },
	{ "LOGIN", 1 },
};

static int sasl_offered(const char *offered, const char *name)
{
	size_t k = strlen(name);

	for (const char *p = offered; (p = strstr(p, name)); p += k)
		if ((p == offered || p[-1] == ' ') && (p[k] == ' ' || p[k] == '\0'))
			return 1;
	return 0;
}

static int sasl_is_clear(const char *name)
{
	for (size_t i = 0; i < sizeof sasl_order / sizeof sasl_order[0]; i++)
		if (strcmp(sasl_order[i].name, name) == 0)
			return sasl_order[i].clear;
	return 0;
}

int sasl_choose(const char *offered, const char *want, int tls, int plaintext_ok, char *out,
		size_t size, struct err *e)
{
	Gsasl *ctx;
	int found = 0;

	if (gsasl_init(&ctx) != GSASL_OK)
		return err_set(e, ERR_SOFTWARE, "GNU SASL failed to start");
	if (want && strcmp(want, "on") != 0) {
		if (!gsasl_client_support_p(ctx, want))
			err_set(e, ERR_CONFIG, "authentication mechanism %s is not supported by "
				"this build of GNU SASL", want);
		else if (!sasl_offered(offered, want))
			err_set(e, ERR_AUTH, "no usable authentication mechanism: the server does not "
				"offer %s (it offers: %s)", want, *offered ? offered : "none");
		else if (sasl_is_clear(want) && !tls && !plaintext_ok)
			err_set(e, ERR_AUTH, "refusing to send the password with %s over a "
				"connection without TLS", want);
		else {
			snprintf(out, size, "%s", want);
			found = 1;
		}
	} else {
		for (size_t i = 0; i < sizeof sasl_order / sizeof sasl_order[0] && !found; i++) {
			if (!sasl_offered(offered, sasl_order[i].name) ||
			    !gsasl_client_support_p(ctx, sasl_order[i].name) ||
			    (sasl_order[i].clear && !tls && !plaintext_ok))
				continue;
			snprintf(out, size, "%s", sasl_order[i].name);
			found = 1;
		}
		if (!found)
			err_set(e, ERR_AUTH, "no usable authentication mechanism: the server offers "
				"%s", *offered ? offered : "none");
	}
	gsasl_done(ctx);
	return found ? 0 : -1;
}

int sasl_client_first(const char *mech)
{
	return strcmp(mech, "LOGIN") != 0 && strcmp(mech, "CRAM-MD5") != 0 &&
	       strcmp(mech, "DIGEST-MD5") != 0;
}

struct sasl *sasl_start(const char *mech, const char *user, const char *password,
			const char *host, struct err *e)
{
	struct sasl *s = calloc(1, sizeof *s);
	int r;

	if (!s)
		err_oom();
	if ((r = gsasl_init(&s->ctx)) != GSASL_OK) {
		err_set(e, ERR_SOFTWARE, "GNU SASL: %s", gsasl_strerror(r));
		free(s);
		return NULL;
	}
	if ((r = gsasl_client_start(s->ctx, mech, &s->session)) != GSASL_OK) {
		err_set(e, ERR_AUTH, "cannot start %s: %s", mech, gsasl_strerror(r));
		sasl_free(s);
		return NULL;
	}
	gsasl_property_set(s->session, GSASL_AUTHID, user);
	gsasl_property_set(s->session, GSASL_PASSWORD, password);
	gsasl_property_set(s->session, GSASL_SERVICE, "smtp");
	gsasl_property_set(s->session, GSASL_HOSTNAME, host);
	return s;
}

void sasl_free(struct sasl *s)
{
	if (!s)
		return;
	if (s->session)
		gsasl_finish(s->session);
	gsasl_done(s->ctx);
	free(s);
}

int sasl_step(struct sasl *s, const char *in, char **out, struct err *e)
{
	int r = gsasl_step64(s->session, in ? in : "", out);

	if (r == GSASL_OK)
		return 0;
	if (r == GSASL_NEEDS_MORE)
		return 1;
	*out = NULL;
	return err_set(e, ERR_AUTH, "%s", gsasl_strerror(r));
}
