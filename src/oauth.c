/* oauth: the grants, the token store and the one HTTP client (libcurl, built on GnuTLS). */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dl.h"
#include "log.h"
#include "oauth_int.h"
#include "state.h"

#define OAUTH_MS_BASE "https://login.microsoftonline.com/"
#define OAUTH_MS_DELEGATED "https://outlook.office.com/SMTP.Send offline_access"
#define OAUTH_MS_APP "https://outlook.office365.com/.default"
#define OAUTH_GOOGLE_TOKEN "https://oauth2.googleapis.com/token"
#define OAUTH_GOOGLE_AUTH "https://accounts.google.com/o/oauth2/v2/auth"
#define OAUTH_GOOGLE_SCOPE "https://mail.google.com/"
#define OAUTH_JWT_GRANT "urn:ietf:params:oauth:grant-type:jwt-bearer"

static const char *const oauth_grant_names[] = {
	[CONF_GRANT_REFRESH] = "refresh_token", [CONF_GRANT_CLIENT] = "client_credentials",
	[CONF_GRANT_JWT] = "jwt_bearer",
};

int oauth_enabled(const struct account *a)
{
	return a->auth == CONF_AUTH_MECH &&
	       (strcmp(a->mech, "XOAUTH2") == 0 || strcmp(a->mech, "OAUTHBEARER") == 0) &&
	       (a->oauth2_provider != CONF_OAUTH_NONE || a->oauth2_token_endpoint ||
		a->oauth2_client_id || a->oauth2_key_file);
}

void oauth_authorize_cmd(const struct account *a, char *out, size_t size)
{
	snprintf(out, size, "postbote -C %s --oauth2-authorize %s", a->file, a->name);
}

/* ---- settings ---- */

/* The state directory's oauth/ and the account's files in it; the account name is escaped so
 * that any section name makes one file name. */
static int oauth_paths(struct oauth_cfg *c, struct err *e)
{
	char name[1024];
	size_t k = 0;

	if (c->a->oauth2_store_dir)
		snprintf(c->dir, sizeof c->dir, "%s", c->a->oauth2_store_dir);
	else if (state_home(c->dir, sizeof c->dir, "oauth") < 0)
		return err_set(e, ERR_CONFIG, "no HOME, so no place for the OAuth token store");
	for (const unsigned char *p = (const unsigned char *)c->a->name; *p && k + 4 < sizeof name;
	     p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || (*p == '.' && k))
			name[k++] = (char)*p;
		else
			k += (size_t)snprintf(name + k, sizeof name - k, "%%%02X", *p);
	}
	name[k] = '\0';
	if ((size_t)snprintf(c->path, sizeof c->path, "%s/%s.tokens", c->dir, name) >= sizeof c->path ||
	    (size_t)snprintf(c->lock, sizeof c->lock, "%s/%s.lock", c->dir, name) >= sizeof c->lock)
		return err_set(e, ERR_CONFIG, "the OAuth token store's path is too long");
	return 0;
}

/* The provider's endpoints, where the account names none. */
static int oauth_endpoints(const struct account *a, struct oauth_cfg *c, struct err *e)
{
	const char *tenant = a->oauth2_tenant ? a->oauth2_tenant : "common";

	if (strspn(tenant, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
	    strlen(tenant))
		return err_set(e, ERR_CONFIG, "%s: oauth2_tenant of account '%s' must be a tenant "
			       "name, domain or ID", a->file, a->name);
	if (a->oauth2_provider == CONF_OAUTH_MICROSOFT) {
		snprintf(c->token_url, sizeof c->token_url, OAUTH_MS_BASE "%s/oauth2/v2.0/token",
			 tenant);
		snprintf(c->device_url, sizeof c->device_url,
			 OAUTH_MS_BASE "%s/oauth2/v2.0/devicecode", tenant);
		snprintf(c->auth_url, sizeof c->auth_url, OAUTH_MS_BASE "%s/oauth2/v2.0/authorize",
			 tenant);
		c->scope = a->oauth2_grant == CONF_GRANT_CLIENT ? OAUTH_MS_APP : OAUTH_MS_DELEGATED;
	} else if (a->oauth2_provider == CONF_OAUTH_GOOGLE) {
		snprintf(c->token_url, sizeof c->token_url, "%s", OAUTH_GOOGLE_TOKEN);
		snprintf(c->auth_url, sizeof c->auth_url, "%s", OAUTH_GOOGLE_AUTH);
		c->scope = OAUTH_GOOGLE_SCOPE;
	}
	/* a key given explicitly wins; an explicit device or authorization endpoint also picks
	 * the flow of --oauth2-authorize, so the other one is dropped */
	if (a->oauth2_token_endpoint)
		snprintf(c->token_url, sizeof c->token_url, "%s", a->oauth2_token_endpoint);
	if (a->oauth2_device_endpoint) {
		snprintf(c->device_url, sizeof c->device_url, "%s", a->oauth2_device_endpoint);
		if (!a->oauth2_auth_endpoint)
			c->auth_url[0] = '\0';
	}
	if (a->oauth2_auth_endpoint) {
		snprintf(c->auth_url, sizeof c->auth_url, "%s", a->oauth2_auth_endpoint);
		if (!a->oauth2_device_endpoint)
			c->device_url[0] = '\0';
	}
	if (a->oauth2_scope)
		c->scope = a->oauth2_scope;
	return 0;
}

int oauth_resolve(const struct account *a,
		  int (*fn)(const struct account *, char **, struct err *), struct oauth_cfg *c,
		  struct err *e)
{
	memset(c, 0, sizeof *c);
	c->a = a;
	c->secret_fn = fn;
	c->lock_fd = -1;
	if (oauth_endpoints(a, c, e) < 0 || oauth_paths(c, e) < 0)
		return -1;
	if (a->password || a->passwordeval)
		return err_set(e, ERR_CONFIG, "%s: account '%s' sets %s and OAuth 2.0 keys; keep "
			       "one (with OAuth, postbote gets the token itself)", a->file, a->name,
			       a->password ? "password" : "passwordeval");
	if (a->oauth2_client_secret && a->oauth2_client_secret_eval)
		return err_set(e, ERR_CONFIG, "%s: account '%s' sets both oauth2_client_secret and "
			       "oauth2_client_secret_eval; keep one", a->file, a->name);
	if (!c->token_url[0] && a->oauth2_grant != CONF_GRANT_JWT)
		return err_set(e, ERR_CONFIG, "%s: account '%s' has no token endpoint: set "
			       "oauth2_provider or oauth2_token_endpoint", a->file, a->name);
	if (a->oauth2_grant == CONF_GRANT_JWT ? !a->oauth2_key_file : !a->oauth2_client_id)
		return err_set(e, ERR_CONFIG, "%s: account '%s' has oauth2_grant = %s but no %s",
			       a->file, a->name, oauth_grant_names[a->oauth2_grant],
			       a->oauth2_grant == CONF_GRANT_JWT ? "oauth2_key_file"
								 : "oauth2_client_id");
	if (a->oauth2_grant == CONF_GRANT_CLIENT && !a->oauth2_client_secret &&
	    !a->oauth2_client_secret_eval)
		return err_set(e, ERR_CONFIG, "%s: account '%s' has oauth2_grant = client_credentials "
			       "but no oauth2_client_secret or oauth2_client_secret_eval", a->file,
			       a->name);
	return 0;
}

void oauth_cfg_free(struct oauth_cfg *c)
{
	if (c->secret) {
		explicit_bzero(c->secret, strlen(c->secret));
		free(c->secret);
	}
	c->secret = NULL;
	oauth_unlock(c);
}

const char *oauth_secret(struct oauth_cfg *c, struct err *e)
{
	if (!c->secret && c->secret_fn(c->a, &c->secret, e) < 0)
		return NULL;
	return c->secret;
}

/* ---- HTTP ---- */

static size_t oauth_write(char *p, size_t size, size_t n, void *ctx)
{
	struct buf *b = ctx;

	if (buf_add(b, p, size * n) < 0)
		return 0;	/* past OAUTH_RESPONSE_MAX: libcurl stops with CURLE_WRITE_ERROR */
	return size * n;
}

static int oauth_curl_error(struct oauth_cfg *c, CURLcode rc, const char *url,
			    const char *detail, struct err *e)
{
	switch (rc) {
	case CURLE_SSL_CACERT_BADFILE:
		return err_set(e, ERR_CONFIG, "cannot use oauth2_trust_file %s: %s",
			       c->a->oauth2_trust_file, detail);
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
		return err_set(e, ERR_PROTOCOL, "OAuth token endpoint %s: the TLS certificate did not "
			       "verify against oauth2_trust_file (%s): %s", url,
			       c->a->oauth2_trust_file, detail);
	case CURLE_WRITE_ERROR:
		return err_set(e, ERR_PROTOCOL, "OAuth endpoint %s sent more than %d bytes", url,
			       OAUTH_RESPONSE_MAX);
	case CURLE_OUT_OF_MEMORY:
		err_oom();
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return err_set(e, ERR_CONFIG, "OAuth endpoint %s: %s", url, detail);
	default:
		return err_set(e, ERR_TEMP, "OAuth endpoint %s could not be reached: %s", url, detail);
	}
}

/* libcurl, loaded the first time a token endpoint is spoken to: linked, it and the twenty
 * libraries it brings cost every run of postbote ten million instructions at start, and almost
 * every run has no token to fetch (postbote(1), tests/bench). */
static struct {
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *h, CURLoption opt, ...);
	CURLcode (*easy_perform)(CURL *h);
	CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
	const char *(*easy_strerror)(CURLcode rc);
	void (*easy_cleanup)(CURL *h);
} oauth_curl;

static int oauth_curl_load(struct err *e)
{
	static const struct dl_sym syms[] = {
		{ "curl_global_init", &oauth_curl.global_init },
		{ "curl_easy_init", &oauth_curl.easy_init },
		{ "curl_easy_setopt", &oauth_curl.easy_setopt },
		{ "curl_easy_perform", &oauth_curl.easy_perform },
		{ "curl_easy_getinfo", &oauth_curl.easy_getinfo },
		{ "curl_easy_strerror", &oauth_curl.easy_strerror },
		{ "curl_easy_cleanup", &oauth_curl.easy_cleanup },
	};
	static int loaded;

	if (loaded)
		return 0;
	/* json-c first: the endpoint's answer must be readable before anything is asked */
	if (oauth_json_load(e) < 0 ||
	    dl_load(OAUTH_CURL_SONAME, syms, sizeof syms / sizeof syms[0], "OAuth 2.0", "libcurl",
		    "libcurl3-gnutls", e) < 0)
		return -1;
	if (oauth_curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return err_set(e, ERR_OS, "libcurl failed to start");
	loaded = 1;
	return 0;
}

int oauth_post(struct oauth_cfg *c, const char *url, const char *body, struct buf *resp,
	       long *status, struct err *e)
{
	char detail[CURL_ERROR_SIZE] = "";
	CURL *h;
	CURLcode rc;

	if (oauth_curl_load(e) < 0)
		return -1;
	h = oauth_curl.easy_init();
	if (!h)
		err_oom();
	oauth_curl.easy_setopt(h, CURLOPT_URL, url);
	oauth_curl.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	oauth_curl.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	oauth_curl.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	oauth_curl.easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	oauth_curl.easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (strcmp(c->a->oauth2_trust_file, "system") != 0) {
		oauth_curl.easy_setopt(h, CURLOPT_CAINFO, c->a->oauth2_trust_file);
		oauth_curl.easy_setopt(h, CURLOPT_CAPATH, NULL);	/* that file alone */
	}
	oauth_curl.easy_setopt(h, CURLOPT_TIMEOUT, (long)c->a->timeout);
	oauth_curl.easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)c->a->timeout);
	oauth_curl.easy_setopt(h, CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
	oauth_curl.easy_setopt(h, CURLOPT_POSTFIELDS, body);
	oauth_curl.easy_setopt(h, CURLOPT_WRITEFUNCTION, oauth_write);
	oauth_curl.easy_setopt(h, CURLOPT_WRITEDATA, resp);
	oauth_curl.easy_setopt(h, CURLOPT_ERRORBUFFER, detail);
	rc = oauth_curl.easy_perform(h);
	if (rc == CURLE_OK)
		oauth_curl.easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	else if (!detail[0])
		snprintf(detail, sizeof detail, "%s", oauth_curl.easy_strerror(rc));
	oauth_curl.easy_cleanup(h);
	if (rc != CURLE_OK)
		return oauth_curl_error(c, rc, url, detail, e);
	return 0;
}

int oauth_refused(struct oauth_cfg *c, long status, const struct oauth_error *oe, struct err *e)
{
	const struct account *a = c->a;
	const char *code = oe && oe->error[0] ? oe->error : NULL;
	char cmd[1200], why[400];

	if (code)
		snprintf(why, sizeof why, "%s%s%s", code, oe->description[0] ? ": " : "",
			 oe->description);
	else
		snprintf(why, sizeof why, "HTTP status %ld", status);
	if (status >= 500 || status == 429 || (code && (!strcmp(code, "temporarily_unavailable") ||
							 !strcmp(code, "server_error"))))
		return err_set(e, ERR_TEMP, "OAuth token endpoint of account '%s' failed for now "
			       "(%s)", a->name, why);
	oauth_authorize_cmd(a, cmd, sizeof cmd);
	if (code && !strcmp(code, "invalid_grant") && a->oauth2_grant == CONF_GRANT_REFRESH)
		return err_set(e, ERR_AUTH, "account '%s': the OAuth token endpoint refused the "
			       "refresh token (%s); authorize again: %s", a->name, why, cmd);
	if (code && !strcmp(code, "invalid_grant"))
		return err_set(e, ERR_AUTH, "account '%s': the OAuth token endpoint refused the %s "
			       "grant (%s); check %s", a->name, oauth_grant_names[a->oauth2_grant],
			       why, a->oauth2_grant == CONF_GRANT_JWT
					    ? "oauth2_key_file and the domain-wide delegation"
					    : "the app's permissions");
	if (code && (!strcmp(code, "invalid_client") || !strcmp(code, "unauthorized_client")))
		return err_set(e, ERR_AUTH, "account '%s': the OAuth token endpoint refused the "
			       "client (%s); check oauth2_client_id and its secret", a->name, why);
	if (code)
		return err_set(e, ERR_CONFIG, "account '%s': the OAuth token endpoint refused the "
			       "request (%s)", a->name, why);
	return err_set(e, status == 401 || status == 403 ? ERR_AUTH : ERR_CONFIG,
		       "account '%s': the OAuth token endpoint %s answered %s", a->name,
		       c->token_url, why);
}

/* ---- the store ---- */

/* Creates dir and what is missing above it: the directories above as anyone's (0755), the
 * store's own as the user's alone (0700). */
static int oauth_mkdirs(const char *dir, struct err *e)
{
	char p[4096];

	snprintf(p, sizeof p, "%s", dir);
	for (char *s = p + 1;; s++) {
		char c = *s;

		if (c != '/' && c)
			continue;
		*s = '\0';
		if (mkdir(p, c ? 0755 : 0700) < 0 && errno != EEXIST)
			return err_set(e, ERR_IO, "cannot create %s for the OAuth token store: %s", p,
				       strerror(errno));
		*s = c;
		if (!c)
			break;
	}
	return 0;
}

int oauth_lock(struct oauth_cfg *c, struct err *e)
{
	if (c->lock_fd >= 0)
		return 0;
	if (oauth_mkdirs(c->dir, e) < 0)
		return -1;
	c->lock_fd = open(c->lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (c->lock_fd < 0)
		return err_set(e, ERR_IO, "cannot open %s: %s", c->lock, strerror(errno));
	/* held while the store is read, refreshed and replaced: two postbotes must not both
	 * spend the same refresh token, which a rotating endpoint would take as theft */
	while (flock(c->lock_fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return err_set(e, ERR_IO, "cannot lock %s: %s", c->lock, strerror(errno));
	return 0;
}

void oauth_unlock(struct oauth_cfg *c)
{
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	c->lock_fd = -1;
}

/* Whether the store is for this account's user and client (another's is not used). */
static int oauth_store_mine(const struct oauth_cfg *c, const struct oauth_store *s)
{
	const char *id = c->a->oauth2_client_id ? c->a->oauth2_client_id : "";

	return s->user && s->client_id && strcmp(s->user, c->a->user ? c->a->user : "") == 0 &&
	       strcmp(s->client_id, id) == 0;
}

int oauth_load(struct oauth_cfg *c, struct oauth_store *s, struct err *e)
{
	char *text;
	int fd = open(c->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), r = -1;
	size_t n = 0;
	ssize_t got = 1;

	memset(s, 0, sizeof *s);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return err_set(e, ERR_IO, "cannot read %s: %s", c->path, strerror(errno));
	}
	text = xmalloc(OAUTH_STORE_MAX + 1);
	while (n <= OAUTH_STORE_MAX && (got = read(fd, text + n, OAUTH_STORE_MAX + 1 - n)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			break;
		n += (size_t)got;
	}
	close(fd);
	if (got < 0) {
		err_set(e, ERR_IO, "cannot read %s: %s", c->path, strerror(errno));
	} else if (oauth_store_parse(text, n, s, e) < 0) {
		err_set(e, ERR_CONFIG, "%s is not a token store that postbote wrote (damaged or "
			"edited); move it away and authorize again", c->path);
	} else {
		if (!oauth_store_mine(c, s))
			oauth_store_free(s);	/* another user's or client's: as if there were none */
		r = 0;
	}
	explicit_bzero(text, n);
	free(text);
	return r;
}

/* Writes the bytes to a new file beside path and renames it over path, syncing both. */
static int oauth_replace(const char *dir, const char *path, const struct buf *b, struct err *e)
{
	char tmp[4200];
	int fd, dfd;

	snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
	unlink(tmp);	/* one a crash of this pid's predecessor left */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return err_set(e, ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
	for (size_t off = 0; off < b->len;) {
		ssize_t w = write(fd, b->data + off, b->len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			err_set(e, ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
			goto fail;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0) {
		err_set(e, ERR_IO, "cannot sync %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		err_set(e, ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		err_set(e, ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto fail;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

int oauth_save(struct oauth_cfg *c, const struct oauth_store *s, struct err *e)
{
	struct buf b;
	int r;

	buf_init(&b, OAUTH_STORE_MAX);
	r = oauth_store_format(s, &b, e);
	if (r == 0 && oauth_mkdirs(c->dir, e) < 0)
		r = -1;
	if (r == 0)
		r = oauth_replace(c->dir, c->path, &b, e);
	explicit_bzero(b.data, b.len);
	buf_free(&b);
	return r;
}

static void oauth_set(char **field, const char *v)
{
	if (*field) {
		explicit_bzero(*field, strlen(*field));
		free(*field);
	}
	*field = v ? xstrdup(v) : NULL;
}

int oauth_keep(struct oauth_cfg *c, struct oauth_store *s, const struct oauth_token *t,
	       const char *origin, struct err *e)
{
	const struct account *a = c->a;
	char seed[65] = "";
	long long now = (long long)time(NULL);

	if (a->oauth2_refresh_token)
		oauth_sha256_hex(a->oauth2_refresh_token, seed);
	oauth_set(&s->user, a->user ? a->user : "");
	oauth_set(&s->client_id, a->oauth2_client_id ? a->oauth2_client_id : "");
	if (t->refresh_token) {
		oauth_set(&s->refresh_token, t->refresh_token);
		oauth_set(&s->origin, origin);
		oauth_set(&s->seed, seed);
		s->stored = now;
	}
	oauth_set(&s->access_token, t->access_token);
	s->expires = now + t->expires_in;
	if (oauth_save(c, s, e) < 0)
		return err_wrap(e, "could not store the new OAuth tokens, so they are not used");
	return 0;
}

/* ---- the grants ---- */

/* The refresh token to spend: the configuration's when it is newer than the store (the user
 * put a new one there since), else the stored one. NULL with ERR_AUTH when there is none. */
static const char *oauth_refresh_of(struct oauth_cfg *c, const struct oauth_store *s,
				    struct err *e)
{
	const struct account *a = c->a;
	char seed[65], cmd[1200];

	if (a->oauth2_refresh_token) {
		oauth_sha256_hex(a->oauth2_refresh_token, seed);
		if (!s->refresh_token || !s->seed || strcmp(s->seed, seed) != 0)
			return a->oauth2_refresh_token;
	}
	if (s->refresh_token)
		return s->refresh_token;
	oauth_authorize_cmd(a, cmd, sizeof cmd);
	err_set(e, ERR_AUTH, "account '%s' has no OAuth refresh token yet; authorize once: %s",
		a->name, cmd);
	return NULL;
}

/* Reads a service account's key file: a secret, so only the user may read it. */
static int oauth_read_key(const struct account *a, struct oauth_key *k, struct err *e)
{
	char *text = xmalloc(OAUTH_KEY_FILE_MAX + 1);
	int fd = open(a->oauth2_key_file, O_RDONLY | O_CLOEXEC);
	struct stat st;
	ssize_t n = -1;
	int r = -1;

	if (fd < 0)
		err_set(e, ERR_CONFIG, "cannot read oauth2_key_file %s: %s", a->oauth2_key_file,
			strerror(errno));
	else if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > OAUTH_KEY_FILE_MAX)
		err_set(e, ERR_CONFIG, "oauth2_key_file %s is not a key file of at most %d bytes",
			a->oauth2_key_file, OAUTH_KEY_FILE_MAX);
	else if (st.st_mode & 077)
		err_set(e, ERR_CONFIG, "oauth2_key_file %s holds a private key but others may read "
			"it; run: chmod 600 %s", a->oauth2_key_file, a->oauth2_key_file);
	else if ((n = read(fd, text, OAUTH_KEY_FILE_MAX)) < 0)
		err_set(e, ERR_CONFIG, "cannot read oauth2_key_file %s: %s", a->oauth2_key_file,
			strerror(errno));
	else if (oauth_parse_key(text, (size_t)n, k, e) < 0)
		err_wrap(e, "oauth2_key_file %s", a->oauth2_key_file);
	else
		r = 0;
	if (fd >= 0)
		close(fd);
	if (n > 0)
		explicit_bzero(text, (size_t)n);
	free(text);
	return r;
}

/* RS256 over the signing input with the key's PEM private key (GnuTLS does the RSA). */
static int oauth_sign(const struct oauth_key *k, struct buf *jwt, struct err *e)
{
	gnutls_datum_t pem = { (unsigned char *)k->private_key, (unsigned)strlen(k->private_key) };
	gnutls_datum_t data = { (unsigned char *)jwt->data, (unsigned)jwt->len }, sig = { 0 };
	gnutls_privkey_t key;
	int r;

	if (gnutls_privkey_init(&key) < 0)
		err_oom();
	r = gnutls_privkey_import_x509_raw(key, &pem, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (r >= 0 && gnutls_privkey_get_pk_algorithm(key, NULL) != GNUTLS_PK_RSA)
		r = GNUTLS_E_UNKNOWN_PK_ALGORITHM;
	if (r >= 0)
		r = gnutls_privkey_sign_data(key, GNUTLS_DIG_SHA256, 0, &data, &sig);
	gnutls_privkey_deinit(key);
	if (r < 0)
		return err_set(e, ERR_CONFIG, "cannot sign the JWT with the RSA key of "
			       "oauth2_key_file: %s", gnutls_strerror(r));
	r = buf_addch(jwt, '.') < 0 || oauth_b64url(jwt, sig.data, sig.size) < 0 ? -1 : 0;
	gnutls_free(sig.data);
	if (r < 0)
		return err_set(e, ERR_CONFIG, "the signed JWT is too long");
	return 0;
}

/* The jwt_bearer form: a JWT for the account's user (domain-wide delegation), signed. */
static int oauth_jwt_form(struct oauth_cfg *c, struct buf *form, struct err *e)
{
	const struct account *a = c->a;
	struct oauth_key k;
	struct buf jwt;
	int r;

	if (oauth_read_key(a, &k, e) < 0)
		return -1;
	if (!c->token_url[0] && strncmp(k.token_uri, "https://", 8) == 0)
		snprintf(c->token_url, sizeof c->token_url, "%s", k.token_uri);
	if (!c->token_url[0]) {
		oauth_key_free(&k);
		return err_set(e, ERR_CONFIG, "%s: account '%s' has no token endpoint (and its key "
			       "file names no https token_uri)", a->file, a->name);
	}
	buf_init(&jwt, OAUTH_RESPONSE_MAX);
	r = oauth_jwt_input(k.private_key_id, k.client_email, a->user, c->token_url,
			    c->scope ? c->scope : "", (long long)time(NULL), &jwt, e);
	if (r == 0)
		r = oauth_sign(&k, &jwt, e);
	if (r == 0 && (oauth_form_add(form, "grant_type", OAUTH_JWT_GRANT) < 0 ||
		       oauth_form_add(form, "assertion", jwt.data) < 0))
		r = err_set(e, ERR_CONFIG, "the token request is too long");
	buf_free(&jwt);
	oauth_key_free(&k);
	return r;
}

/* The request body for the account's grant. */
static int oauth_grant_form(struct oauth_cfg *c, const struct oauth_store *s, struct buf *form,
			    struct err *e)
{
	const struct account *a = c->a;
	const char *refresh = NULL, *secret;

	if (a->oauth2_grant == CONF_GRANT_JWT)
		return oauth_jwt_form(c, form, e);
	if (a->oauth2_grant == CONF_GRANT_REFRESH && !(refresh = oauth_refresh_of(c, s, e)))
		return -1;
	if (!(secret = oauth_secret(c, e)))
		return -1;
	if (oauth_form_add(form, "grant_type", oauth_grant_names[a->oauth2_grant]) < 0 ||
	    (refresh && oauth_form_add(form, "refresh_token", refresh) < 0) ||
	    oauth_form_add(form, "client_id", a->oauth2_client_id) < 0 ||
	    (*secret && oauth_form_add(form, "client_secret", secret) < 0) ||
	    (c->scope && oauth_form_add(form, "scope", c->scope) < 0))
		return err_set(e, ERR_CONFIG, "the token request is too long");
	return 0;
}

/* One request for the grant; the answer stored. */
static int oauth_fetch(struct oauth_cfg *c, struct oauth_store *s, struct err *e)
{
	struct buf form, resp;
	struct oauth_token t = { 0 };
	struct oauth_error oe;
	long status = 0;
	int r;

	buf_init(&form, OAUTH_RESPONSE_MAX);
	buf_init(&resp, OAUTH_RESPONSE_MAX);
	r = oauth_grant_form(c, s, &form, e);
	if (r == 0) {
		log_note("asking %s for an OAuth access token (%s)", c->token_url,
			 oauth_grant_names[c->a->oauth2_grant]);
		r = oauth_post(c, c->token_url, form.data, &resp, &status, e);
	}
	if (r == 0) {
		r = oauth_parse_token(resp.data, resp.len, &t, &oe, e);
		if (r == 0 && status / 100 != 2)
			r = err_set(e, ERR_PROTOCOL, "the OAuth token endpoint answered HTTP %ld with "
				    "a token", status);
		else if (r == 1 || (r < 0 && status / 100 != 2))
			r = oauth_refused(c, status, r == 1 ? &oe : NULL, e);
	}
	if (r == 0)
		r = oauth_keep(c, s, &t, "rotated", e);
	oauth_token_free(&t);
	explicit_bzero(form.data, form.len);
	explicit_bzero(resp.data, resp.len);
	buf_free(&form);
	buf_free(&resp);
	return r;
}

int oauth_token(const struct account *a, unsigned flags,
		int (*secret)(const struct account *, char **, struct err *), char **token,
		struct err *e)
{
	struct oauth_cfg c;
	struct oauth_store s = { 0 };
	int r = -1;

	*token = NULL;
	if (oauth_resolve(a, secret, &c, e) < 0 || oauth_lock(&c, e) < 0 ||
	    oauth_load(&c, &s, e) < 0)
		goto out;
	if ((flags & OAUTH_FRESH) || !s.access_token ||
	    s.expires - (long long)time(NULL) <= OAUTH_MARGIN) {
		/* a token in its last minute still beats none while the endpoint is away */
		int fallback = !(flags & OAUTH_FRESH) && s.access_token &&
			       s.expires > (long long)time(NULL) + 5;

		if (flags & OAUTH_FRESH)
			log_note("the server refused the OAuth access token; asking for a new one");
		if (oauth_fetch(&c, &s, e) < 0) {
			if (!fallback || e->kind != ERR_TEMP)
				goto out;
			log_note("%s; using the cached token for its last seconds", e->text);
			memset(e, 0, sizeof *e);
		}
	}
	*token = xstrdup(s.access_token);
	r = 0;
out:
	oauth_store_free(&s);
	oauth_cfg_free(&c);
	return r;
}

/* ---- --serverinfo ---- */

static void oauth_when(long long t, char *out, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, size, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

void oauth_print_state(const struct account *a, FILE *out)
{
	struct oauth_cfg c;
	struct oauth_store s = { 0 };
	struct err e = { 0 };
	char when[64], seed[65];
	long long now = (long long)time(NULL);

	/* no lock: the store is only ever replaced whole, so a read sees one or the other */
	if (oauth_resolve(a, NULL, &c, &e) < 0 || oauth_load(&c, &s, &e) < 0) {
		fprintf(out, "OAuth 2.0: %s\n", e.text);
		oauth_cfg_free(&c);
		return;
	}
	fprintf(out, "OAuth 2.0: %s, grant %s, token endpoint %s\n", a->mech,
		oauth_grant_names[a->oauth2_grant], c.token_url[0] ? c.token_url : "(key file's)");
	fprintf(out, "  scope: %s\n", c.scope ? c.scope : "(the endpoint's default)");
	fprintf(out, "  token store: %s\n", c.path);
	if (a->oauth2_grant == CONF_GRANT_REFRESH) {
		if (a->oauth2_refresh_token)
			oauth_sha256_hex(a->oauth2_refresh_token, seed);
		if (s.refresh_token && (!a->oauth2_refresh_token || (s.seed && !strcmp(s.seed, seed)))) {
			oauth_when(s.stored, when, sizeof when);
			fprintf(out, "  refresh token: in the token store (%s, since %s)\n",
				s.origin ? s.origin : "?", when);
		} else if (a->oauth2_refresh_token) {
			fprintf(out, "  refresh token: oauth2_refresh_token in %s (not used yet)\n",
				a->file);
		} else {
			fprintf(out, "  refresh token: none; authorize once: postbote -C %s "
				"--oauth2-authorize %s\n", a->file, a->name);
		}
	}
	if (s.access_token) {
		oauth_when(s.expires, when, sizeof when);
		fprintf(out, "  access token: cached, %s %s (%s)\n",
			s.expires > now ? "expires" : "expired", when,
			s.expires - now > OAUTH_MARGIN ? "in use" : "renewed at the next use");
	} else {
		fprintf(out, "  access token: none cached\n");
	}
	oauth_store_free(&s);
	oauth_cfg_free(&c);
}
