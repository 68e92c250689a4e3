/* smtp_auth: the AUTH exchange of a session: the mechanism chosen with the server's offer and
 * the TLS channel, the SASL rounds, and what a refusal means. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sasl.h"
#include "smtp_int.h"
#include "trouble.h"
#include "caps.h"

/* A 235 after the client's first message: SCRAM lets the server prove that it knows the password
 * in its last challenge, which it skipped. */
static int smtp_auth_done(struct smtp *s, int state, struct err *e)
{
	if (state == 1 && strncmp(s->mech, "SCRAM-", 6) == 0)
		return err_set(e, ERR_AUTH, "%s accepted the login without proving that it knows "
			       "the password (SCRAM); refusing to continue", s->host);
	return 0;
}

static int smtp_auth_failed(struct smtp *s, struct sasl *sa, const char *user, struct err *e)
{
	s->code = s->reply.code;
	if (REPLY_TEMP(&s->reply))
		return err_set(e, ERR_TEMP, "%s could not check the credentials now: %s", s->host,
			       s->last);
	const char *hint = trouble_hint(s->last);

	err_set(e, ERR_AUTH, "authentication failed for user %s on %s (%s): %s%s%s%s%s", user,
		s->host, s->mech, s->last, *sasl_server_error(sa) ? "; " : "",
		sasl_server_error(sa), hint ? "; " : "", hint ? hint : "");
	e->flags |= ERR_REFUSED;	/* an OAuth caller may get a fresh token and try again */
	return -1;
}

/* The mechanism failed on our side: cancel the exchange (the server answers 501). */
static int smtp_auth_cancel(struct smtp *s, struct err *e)
{
	char why[ERR_TEXT_MAX];

	memcpy(why, e->text, sizeof why);
	if (smtp_put(s, "*", 0, e) == 0 && smtp_flush(s, e) == 0)
		smtp_read(s, e);
	return err_set(e, ERR_AUTH, "authentication with %s on %s failed: %s", s->mech, s->host,
		       why);
}

/* The rounds of one AUTH exchange after the first line was sent. */
static int smtp_auth_rounds(struct smtp *s, struct sasl *sa, int state, const char *user,
			    struct err *e)
{
	for (int round = 0; round < SMTP_AUTH_ROUNDS; round++) {
		char *out = NULL;
		int r;

		if (smtp_read(s, e) < 0)
			return -1;
		if (s->reply.code == 235)
			return smtp_auth_done(s, state, e);
		if (s->reply.code != 334)
			return smtp_auth_failed(s, sa, user, e);
		state = sasl_step(sa, s->reply.text.data, &out, e);
		if (state < 0)
			return smtp_auth_cancel(s, e);
		r = smtp_put(s, out, LOG_SECRET, e);
		explicit_bzero(out, strlen(out));
		free(out);
		if (r < 0 || smtp_flush(s, e) < 0)
			return -1;
	}
	return err_set(e, ERR_PROTOCOL, "%s kept asking for more authentication data", s->host);
}

/* "AUTH MECH" with the initial response when the mechanism has one. 0, or -1 with e. */
static int smtp_auth_line(struct smtp *s, struct sasl *sa, struct buf *line, int *state,
			  struct err *e)
{
	char *out = NULL;

	if (buf_printf(line, "AUTH %s", s->mech) < 0)
		buf_broken(__FILE__, __LINE__);
	if (!sasl_client_first(s->mech))
		return 0;
	*state = sasl_step(sa, NULL, &out, e);
	if (*state < 0)
		return err_wrap(e, "authentication with %s", s->mech);
	if (buf_printf(line, " %s", *out ? out : "=") < 0) {
		free(out);
		return err_set(e, ERR_AUTH, "the first %s message is too long", s->mech);
	}
	explicit_bzero(out, strlen(out));
	free(out);
	return 0;
}

int smtp_auth(struct smtp *s, const char *want, int plaintext_ok, const char *user,
	      const char *secret, struct err *e)
{
	struct sasl_peer peer = { .host = s->host, .port = s->port, .tls = s->tls };
	struct sasl *sa;
	struct buf line;
	char cb[512];
	int state = 1, r;

	smtp_step(s, PHASE_AUTH, NULL);
	if (!(s->caps.flags & EHLO_AUTH))
		return err_set(e, ERR_AUTH, "%s does not offer authentication (no AUTH in its "
			       "EHLO reply); set auth = off if it needs none", s->host);
	if (conn_channel_binding(s->conn, &peer.cb_type, cb, sizeof cb) == 0)
		peer.cb_data = cb;
	if (sasl_choose(s->caps.mechs, want, &peer, plaintext_ok, s->mech, sizeof s->mech, e) < 0)
		return err_wrap(e, "%s", s->host);
	sa = sasl_start(s->mech, user, secret, &peer, e);
	if (!sa)
		return -1;
	buf_init(&line, 1 << 16);
	log_note("%s: what the client sends is shown as *** (it carries the credentials)", s->mech);
	r = smtp_auth_line(s, sa, &line, &state, e);
	if (r == 0 && (smtp_in_turn(s, e) < 0 || smtp_put(s, line.data, LOG_SECRET, e) < 0 ||
		       smtp_flush(s, e) < 0))
		r = -1;
	explicit_bzero(line.data, line.len);
	buf_free(&line);
	if (r == 0)
		r = smtp_auth_rounds(s, sa, state, user, e);
	sasl_free(sa);
	return r;
}
