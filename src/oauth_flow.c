/* oauth_flow: --oauth2-authorize, the one-time authorization by a person: the device flow (RFC
 * 8628) or the authorization code flow with PKCE (RFC 7636) and a loopback redirect (RFC 8252),
 * whose browser request is read here on 127.0.0.1 and parsed by oauth_data. */
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "oauth_int.h"

#define OAUTH_FLOW_SECONDS 600	/* how long a person may take in the browser */
#define OAUTH_PEER_SECONDS 10	/* how long the browser may take to send its request */
#define OAUTH_DEVICE_GRANT "urn:ietf:params:oauth:grant-type:device_code"

/* Stores what the endpoint gave for the authorization: a new store with its refresh token. */
static int oauth_flow_keep(struct oauth_cfg *c, const struct oauth_token *t, struct err *e)
{
	struct oauth_store s = { 0 };
	int r;

	if (!t->refresh_token)
		return err_set(e, ERR_AUTH, "the OAuth token endpoint gave no refresh token (the "
			       "scope needs offline_access at Microsoft; Google gives one with "
			       "access_type=offline, which postbote asks for)");
	if (oauth_lock(c, e) < 0)
		return -1;
	r = oauth_keep(c, &s, t, "authorize", e);
	oauth_unlock(c);
	oauth_store_free(&s);
	return r;
}

/* POSTs a form to the token endpoint: 0 with *t, 1 with *oe (an error document), -1 with e. */
static int oauth_flow_post(struct oauth_cfg *c, const char *url, const struct buf *form,
			   struct oauth_token *t, struct oauth_error *oe, struct err *e)
{
	struct buf resp;
	long status = 0;
	int r;

	buf_init(&resp, OAUTH_RESPONSE_MAX);
	r = oauth_post(c, url, form->data, &resp, &status, e);
	if (r == 0) {
		r = oauth_parse_token(resp.data, resp.len, t, oe, e);
		if (r == 0 && status / 100 != 2) {
			oauth_token_free(t);
			r = err_set(e, ERR_PROTOCOL, "%s answered HTTP %ld with a token", url, status);
		} else if (r < 0 && status / 100 != 2) {
			r = oauth_refused(c, status, NULL, e);
		}
	}
	explicit_bzero(resp.data, resp.len);
	buf_free(&resp);
	return r;
}

/* client_id and, for a confidential client, client_secret. */
static int oauth_flow_client(struct oauth_cfg *c, struct buf *form, struct err *e)
{
	const char *secret = oauth_secret(c, e);

	if (!secret)
		return -1;
	if (oauth_form_add(form, "client_id", c->a->oauth2_client_id) < 0 ||
	    (*secret && oauth_form_add(form, "client_secret", secret) < 0))
		return err_set(e, ERR_CONFIG, "the OAuth request is too long");
	return 0;
}

/* ---- the device flow ---- */

static int oauth_device_start(struct oauth_cfg *c, struct oauth_device *d, struct err *e)
{
	struct buf form, resp;
	struct oauth_error oe;
	long status = 0;
	int r;

	buf_init(&form, OAUTH_RESPONSE_MAX);
	buf_init(&resp, OAUTH_RESPONSE_MAX);
	r = oauth_flow_client(c, &form, e);
	if (r == 0 && c->scope && oauth_form_add(&form, "scope", c->scope) < 0)
		r = err_set(e, ERR_CONFIG, "the OAuth request is too long");
	if (r == 0)
		r = oauth_post(c, c->device_url, form.data, &resp, &status, e);
	if (r == 0) {
		r = oauth_parse_device(resp.data, resp.len, d, &oe, e);
		if (r == 1 || (r < 0 && status / 100 != 2))
			r = oauth_refused(c, status, r == 1 ? &oe : NULL, e);
	}
	explicit_bzero(form.data, form.len);
	buf_free(&form);
	buf_free(&resp);
	return r;
}

/* Polls the token endpoint until the person has entered the code (or said no, or time ran
 * out). */
static int oauth_device_poll(struct oauth_cfg *c, const struct oauth_device *d,
			     struct oauth_token *t, struct err *e)
{
	time_t deadline = time(NULL) + d->expires_in;
	long interval = d->interval < 1 ? 1 : d->interval;
	struct oauth_error oe;
	struct buf form;
	int r = -1;

	buf_init(&form, OAUTH_RESPONSE_MAX);
	if (oauth_form_add(&form, "grant_type", OAUTH_DEVICE_GRANT) < 0 ||
	    oauth_form_add(&form, "device_code", d->device_code) < 0 ||
	    oauth_flow_client(c, &form, e) < 0) {
		buf_free(&form);
		return e->kind ? -1 : err_set(e, ERR_CONFIG, "the OAuth request is too long");
	}
	while (time(NULL) + interval < deadline) {
		poll(NULL, 0, (int)interval * 1000);
		r = oauth_flow_post(c, c->token_url, &form, t, &oe, e);
		if (r == 0 || (r < 0 && e->kind != ERR_TEMP))
			break;
		if (r < 0)
			continue;	/* the network failed once: the code is still good */
		r = -1;
		if (strcmp(oe.error, "slow_down") == 0)
			interval += 5;
		else if (strcmp(oe.error, "authorization_pending") != 0) {
			if (strcmp(oe.error, "access_denied") == 0)
				err_set(e, ERR_AUTH, "the authorization was declined (access_denied)");
			else if (strcmp(oe.error, "expired_token") == 0)
				err_set(e, ERR_TEMP, "the code expired before it was entered; run "
					"--oauth2-authorize again");
			else
				oauth_refused(c, 400, &oe, e);
			break;
		}
	}
	if (r < 0 && !e->kind)
		err_set(e, ERR_TEMP, "the code was not entered within %ld seconds; run "
			"--oauth2-authorize again", d->expires_in);
	explicit_bzero(form.data, form.len);
	buf_free(&form);
	return r;
}

static int oauth_device_flow(struct oauth_cfg *c, FILE *out, struct err *e)
{
	struct oauth_device d;
	struct oauth_token t = { 0 };
	int r;

	if (oauth_device_start(c, &d, e) < 0)
		return -1;
	fprintf(out, "To authorize postbote to send mail as %s (account '%s'),\n"
		"open %s in a browser and enter the code %s\n",
		c->a->user ? c->a->user : "its user", c->a->name, d.uri, d.user_code);
	if (d.uri_complete[0])
		fprintf(out, "(or open %s)\n", d.uri_complete);
	fprintf(out, "Waiting for the code to be entered (up to %ld seconds)...\n", d.expires_in);
	fflush(out);
	r = oauth_device_poll(c, &d, &t, e);
	if (r == 0)
		r = oauth_flow_keep(c, &t, e);
	oauth_token_free(&t);
	explicit_bzero(&d, sizeof d);
	return r;
}

/* ---- the loopback flow ---- */

/* n random bytes in base64url: a PKCE verifier (32 bytes: 43 characters) or a state. */
static int oauth_random(size_t n, char *out, size_t size, struct err *e)
{
	unsigned char raw[64];
	struct buf b;

	if (n > sizeof raw || gnutls_rnd(GNUTLS_RND_KEY, raw, n) < 0)
		return err_set(e, ERR_OS, "no random bytes from GnuTLS");
	buf_init(&b, size - 1);
	if (oauth_b64url(&b, raw, n) < 0)
		buf_broken(__FILE__, __LINE__);
	snprintf(out, size, "%s", b.data);
	buf_free(&b);
	explicit_bzero(raw, sizeof raw);
	return 0;
}

/* A listening socket on 127.0.0.1 with a port of the kernel's choice. */
static int oauth_listen(int *port, struct err *e)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sin;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(fd, 8) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
		err_set(e, ERR_OS, "cannot listen on 127.0.0.1 for the browser: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

/* Reads one request's head from a browser connection, within OAUTH_PEER_SECONDS. */
static size_t oauth_read_request(int fd, char *req, size_t size)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	time_t deadline = time(NULL) + OAUTH_PEER_SECONDS;
	size_t n = 0;

	while (n + 1 < size && !memmem(req, n, "\r\n\r\n", 4) && time(NULL) < deadline) {
		ssize_t r;

		if (poll(&p, 1, 1000) <= 0)
			continue;
		r = read(fd, req + n, size - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	req[n] = '\0';
	return n;
}

static void oauth_answer(int fd, const char *status, const char *text)
{
	char page[512];
	int n = snprintf(page, sizeof page, "HTTP/1.1 %s\r\nContent-Type: text/plain; "
			 "charset=utf-8\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n%s\n",
			 status, strlen(text) + 1, text);

	if (write(fd, page, (size_t)n) < 0)
		return;	/* the browser went away; nothing to tell it */
}

/* Waits for the browser's redirect with our state; the code into r. */
static int oauth_wait_redirect(int lfd, const char *state, struct oauth_redirect *r,
			       struct err *e)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	time_t deadline = time(NULL) + OAUTH_FLOW_SECONDS;
	char *req = xmalloc(OAUTH_REDIRECT_MAX + 1);
	int got = -1;

	while (got < 0 && time(NULL) < deadline) {
		int fd, k;
		size_t n;

		if (poll(&p, 1, 1000) <= 0 || (fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			continue;
		n = oauth_read_request(fd, req, OAUTH_REDIRECT_MAX + 1);
		k = oauth_parse_redirect(req, n, "/", r);
		if (k == 1 && strcmp(r->state, state) != 0) {
			oauth_answer(fd, "400 Bad Request", "postbote: this is not the answer to its "
				     "request (wrong state); still waiting");
		} else if (k == 1 && r->error[0]) {
			oauth_answer(fd, "200 OK", "postbote: the authorization was not given.");
			err_set(e, ERR_AUTH, "the authorization was not given (%s)", r->error);
			got = 1;
		} else if (k == 1) {
			oauth_answer(fd, "200 OK", "postbote: authorized. You may close this page.");
			got = 0;
		} else {
			oauth_answer(fd, "404 Not Found", "postbote: nothing here");
		}
		close(fd);
	}
	explicit_bzero(req, OAUTH_REDIRECT_MAX + 1);
	free(req);
	if (got < 0)
		return err_set(e, ERR_TEMP, "no answer from the browser within %d seconds; run "
			       "--oauth2-authorize again", OAUTH_FLOW_SECONDS);
	return got == 0 ? 0 : -1;
}

/* The URL for the browser. */
static int oauth_auth_url(struct oauth_cfg *c, const char *redirect, const char *state,
			  const char *challenge, struct buf *url)
{
	struct buf q;
	int r;

	buf_init(&q, 8192);
	r = oauth_form_add(&q, "response_type", "code") < 0 ||
	    oauth_form_add(&q, "client_id", c->a->oauth2_client_id) < 0 ||
	    oauth_form_add(&q, "redirect_uri", redirect) < 0 ||
	    (c->scope && oauth_form_add(&q, "scope", c->scope) < 0) ||
	    oauth_form_add(&q, "state", state) < 0 ||
	    oauth_form_add(&q, "code_challenge", challenge) < 0 ||
	    oauth_form_add(&q, "code_challenge_method", "S256") < 0 ||
	    oauth_form_add(&q, "access_type", "offline") < 0 ||
	    oauth_form_add(&q, "prompt", "consent") < 0 ||
	    buf_printf(url, "%s%c%s", c->auth_url, strchr(c->auth_url, '?') ? '&' : '?',
		       q.data) < 0 ? -1 : 0;
	buf_free(&q);
	return r;
}

static int oauth_exchange(struct oauth_cfg *c, const char *code, const char *redirect,
			  const char *verifier, struct err *e)
{
	struct oauth_token t = { 0 };
	struct oauth_error oe;
	struct buf form;
	int r;

	buf_init(&form, OAUTH_RESPONSE_MAX);
	if (oauth_form_add(&form, "grant_type", "authorization_code") < 0 ||
	    oauth_form_add(&form, "code", code) < 0 ||
	    oauth_form_add(&form, "redirect_uri", redirect) < 0 ||
	    oauth_form_add(&form, "code_verifier", verifier) < 0)
		r = err_set(e, ERR_CONFIG, "the OAuth request is too long");
	else
		r = oauth_flow_client(c, &form, e);
	if (r == 0)
		r = oauth_flow_post(c, c->token_url, &form, &t, &oe, e);
	if (r == 1)
		r = oauth_refused(c, 400, &oe, e);
	if (r == 0)
		r = oauth_flow_keep(c, &t, e);
	oauth_token_free(&t);
	explicit_bzero(form.data, form.len);
	buf_free(&form);
	return r;
}

static int oauth_loopback_flow(struct oauth_cfg *c, FILE *out, struct err *e)
{
	char verifier[64], challenge[64], state[64], redirect[64];
	struct oauth_redirect *rd = xmalloc(sizeof *rd);
	struct buf url;
	int port, lfd, r = -1;

	buf_init(&url, 16384);
	if (oauth_random(32, verifier, sizeof verifier, e) < 0 ||
	    oauth_random(16, state, sizeof state, e) < 0 ||
	    oauth_pkce_challenge(verifier, challenge, sizeof challenge) < 0 ||
	    (lfd = oauth_listen(&port, e)) < 0)
		goto out;
	snprintf(redirect, sizeof redirect, "http://127.0.0.1:%d/", port);
	if (oauth_auth_url(c, redirect, state, challenge, &url) < 0) {
		close(lfd);
		err_set(e, ERR_CONFIG, "the authorization URL is too long");
		goto out;
	}
	fprintf(out, "To authorize postbote to send mail as %s (account '%s'), open this URL "
		"in a browser on this machine:\n\n%s\n\nWaiting for the browser at %s (up to %d "
		"seconds)...\n", c->a->user ? c->a->user : "its user", c->a->name, url.data,
		redirect, OAUTH_FLOW_SECONDS);
	fflush(out);
	r = oauth_wait_redirect(lfd, state, rd, e);
	close(lfd);
	if (r == 0)
		r = oauth_exchange(c, rd->code, redirect, verifier, e);
out:
	explicit_bzero(verifier, sizeof verifier);
	explicit_bzero(rd, sizeof *rd);
	free(rd);
	buf_free(&url);
	return r;
}

int oauth_authorize(const struct account *a,
		    int (*secret)(const struct account *, char **, struct err *), FILE *out,
		    struct err *e)
{
	struct oauth_cfg c;
	int r = -1;

	if (oauth_resolve(a, secret, &c, e) < 0)
		goto out;
	if (a->oauth2_grant != CONF_GRANT_REFRESH) {
		err_set(e, ERR_CONFIG, "%s: account '%s' has oauth2_grant = %s, which needs no "
			"authorization by a person", a->file, a->name,
			a->oauth2_grant == CONF_GRANT_CLIENT ? "client_credentials" : "jwt_bearer");
		goto out;
	}
	if (c.device_url[0])
		r = oauth_device_flow(&c, out, e);
	else if (c.auth_url[0])
		r = oauth_loopback_flow(&c, out, e);
	else
		err_set(e, ERR_CONFIG, "%s: account '%s' has neither oauth2_device_endpoint nor "
			"oauth2_auth_endpoint (nor an oauth2_provider that has them)", a->file,
			a->name);
	if (r == 0) {
		fprintf(out, "Authorized: the refresh token for account '%s' is stored in %s\n",
			a->name, c.path);
		fflush(out);
	}
out:
	oauth_cfg_free(&c);
	return r;
}
