/* tls: GnuTLS client sessions, verified by default. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "state.h"
#include "tls.h"

/* Where GnuTLS's system trust comes from on Debian: its identity goes into a session's name. */
#define TLS_SYSTEM_TRUST_FILE "/etc/ssl/certs/ca-certificates.crt"

struct tls {
	gnutls_session_t session;
	gnutls_certificate_credentials_t cred;
	char host[256];		/* the name verified */
	enum { TLS_TRUST_NONE, TLS_TRUST_SYSTEM, TLS_TRUST_FILE, TLS_TRUST_PIN } trust;
	char trust_file[512];	/* for tls_print_info */
	int pinned;
	int client_cert;	/* we have one to present */
	unsigned char pin[TLS_PIN_SIZE];
	int pin_colons, pin_upper;	/* how the user wrote it, to answer in kind */
	char pin_error[256];	/* set by tls_verify_pin when it fails the handshake */
	const char *trust_opt, *crl_opt;	/* loaded by tls_verify_cert when it is needed */
	int trust_loaded;
	unsigned verify_status;	/* what tls_verify_cert found */
	struct err load_err;	/* why loading the trust failed in the handshake */
	char session_dir[4096];	/* resumption: "" for none */
	char session_name[2 * TLS_PIN_SIZE + 16];
	int had_file;		/* the run found a session file of its own */
	int fd;
	unsigned char *wbuf;	/* records held back to go out together (tls_push) */
	size_t wlen;
};

#define TLS_WBUF (4 * (16384 + 256))	/* four full records: one 64 KiB write of conn_send */

static int tls_is_ip(const char *host)
{
	unsigned char a[16];

	return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

/* Hex pairs, joined by ':' or not, in upper or lower case. */
static void tls_hex(const unsigned char *p, size_t n, int colons, int upper, char *out,
		    size_t size)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	size_t used = 0;

	for (size_t i = 0; i < n && used + 4 <= size; i++) {
		if (i && colons)
			out[used++] = ':';
		out[used++] = digits[p[i] >> 4];
		out[used++] = digits[p[i] & 15];
	}
	out[used] = '\0';
}

int tls_pin_parse(const char *s, unsigned char pin[TLS_PIN_SIZE], int *colons, int *upper)
{
	size_t n = 0;
	int half = -1;

	*colons = *upper = 0;
	for (const char *p = s; *p; p++) {
		int v;

		if (*p == ':' && half < 0 && n > 0) {
			*colons = 1;
			continue;
		}
		if (!isxdigit((unsigned char)*p) || (half < 0 && n == TLS_PIN_SIZE))
			return -1;
		if (isupper((unsigned char)*p))
			*upper = 1;
		v = isdigit((unsigned char)*p) ? *p - '0' : tolower((unsigned char)*p) - 'a' + 10;
		if (half < 0) {
			half = v;
		} else {
			pin[n++] = (unsigned char)(half << 4 | v);
			half = -1;
		}
	}
	return n == TLS_PIN_SIZE && half < 0 && s[strlen(s) - 1] != ':' ? 0 : -1;
}

/* SHA-256 of the server's certificate as it came (DER); -1 when it sent none. */
static int tls_peer_sha256(gnutls_session_t session, unsigned char out[TLS_PIN_SIZE])
{
	const gnutls_datum_t *chain;
	unsigned n = 0;
	size_t len = TLS_PIN_SIZE;

	chain = gnutls_certificate_get_peers(session, &n);
	if (!chain || n == 0 || gnutls_fingerprint(GNUTLS_DIG_SHA256, &chain[0], out, &len) < 0 ||
	    len != TLS_PIN_SIZE)
		return -1;
	return 0;
}

/* Called by GnuTLS once the server's certificate has arrived, so a wrong one ends the handshake
 * before anything of ours is sent. */
static int tls_verify_pin(gnutls_session_t session)
{
	struct tls *t = gnutls_session_get_ptr(session);
	unsigned char got[TLS_PIN_SIZE];
	char hex[3 * TLS_PIN_SIZE];

	if (tls_peer_sha256(session, got) < 0) {
		snprintf(t->pin_error, sizeof t->pin_error, "the server sent no certificate to "
			 "compare with tls_fingerprint");
		return -1;
	}
	if (memcmp(got, t->pin, sizeof got) == 0)
		return 0;
	tls_hex(got, sizeof got, t->pin_colons, t->pin_upper, hex, sizeof hex);
	snprintf(t->pin_error, sizeof t->pin_error, "certificate fingerprint does not match "
		 "tls_fingerprint; the server's certificate has SHA-256 fingerprint %s", hex);
	return -1;
}

static int tls_load_trust(struct tls *t, struct err *e)
{
	const char *trust = t->trust_opt, *crl = t->crl_opt;
	int r;

	if (t->trust == TLS_TRUST_SYSTEM) {
		r = gnutls_certificate_set_x509_system_trust(t->cred);
		if (r <= 0)
			return err_set(e, ERR_CONFIG, "no certificates in the system trust store "
				       "(%s); install ca-certificates or set tls_trust_file",
				       r < 0 ? gnutls_strerror(r) : "it is empty");
	} else {
		r = gnutls_certificate_set_x509_trust_file(t->cred, trust, GNUTLS_X509_FMT_PEM);
		if (r <= 0)
			return err_set(e, ERR_CONFIG, "tls_trust_file %s: %s", trust,
				       r < 0 ? gnutls_strerror(r) : "no certificates in it");
	}
	if (crl) {
		r = gnutls_certificate_set_x509_crl_file(t->cred, crl, GNUTLS_X509_FMT_PEM);
		if (r <= 0)
			return err_set(e, ERR_CONFIG, "tls_crl_file %s: %s", crl,
				       r < 0 ? gnutls_strerror(r) : "no CRLs in it");
	}
	t->trust_loaded = 1;
	return 0;
}

/* What tls_load_trust will read, checked now so that a missing file is a configuration error
 * before any connection; the reading waits until a certificate is to be verified. */
static int tls_plan_trust(struct tls *t, const struct tls_opts *o, struct err *e)
{
	t->trust_opt = o->trust_file;
	t->crl_opt = o->crl_file;
	if (!o->trust_file || strcmp(o->trust_file, "system") == 0) {
		t->trust = TLS_TRUST_SYSTEM;
	} else {
		if (access(o->trust_file, R_OK) < 0)
			return err_set(e, ERR_CONFIG, "tls_trust_file %s: %s", o->trust_file,
				       strerror(errno));
		t->trust = TLS_TRUST_FILE;
		snprintf(t->trust_file, sizeof t->trust_file, "%s", o->trust_file);
	}
	/* GnuTLS says only "Error while reading file." for a missing one */
	if (o->crl_file && access(o->crl_file, R_OK) < 0)
		return err_set(e, ERR_CONFIG, "tls_crl_file %s: %s", o->crl_file, strerror(errno));
	return 0;
}

/* Called by GnuTLS once the server's certificate has arrived (never for a resumed session):
 * loads the trust on first need, then verifies as gnutls_session_set_verify_cert would, the
 * name, CRLs and a stapled OCSP response included. */
static int tls_verify_cert(gnutls_session_t session)
{
	struct tls *t = gnutls_session_get_ptr(session);
	gnutls_typed_vdata_st data = { .type = GNUTLS_DT_DNS_HOSTNAME,
				       .data = (unsigned char *)t->host };

	if (!t->trust_loaded && tls_load_trust(t, &t->load_err) < 0)
		return GNUTLS_E_CERTIFICATE_ERROR;
	if (gnutls_certificate_verify_peers(session, &data, 1, &t->verify_status) < 0)
		t->verify_status = GNUTLS_CERT_INVALID;
	return t->verify_status ? GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR : 0;
}

static int tls_load_client_cert(struct tls *t, const struct tls_opts *o, struct err *e)
{
	int r;

	if (!o->cert_file || !o->key_file)
		return 0;
	if (access(o->cert_file, R_OK) < 0)
		return err_set(e, ERR_CONFIG, "tls_cert_file %s: %s", o->cert_file,
			       strerror(errno));
	if (access(o->key_file, R_OK) < 0)
		return err_set(e, ERR_CONFIG, "tls_key_file %s: %s", o->key_file, strerror(errno));
	r = gnutls_certificate_set_x509_key_file(t->cred, o->cert_file, o->key_file,
						 GNUTLS_X509_FMT_PEM);
	t->client_cert = r >= 0;
	if (r < 0)
		return err_set(e, ERR_CONFIG, "tls_cert_file %s with tls_key_file %s: %s%s",
			       o->cert_file, o->key_file, gnutls_strerror(r),
			       r == GNUTLS_E_DECRYPTION_FAILED || r == GNUTLS_E_PK_INVALID_PUBKEY
				       ? " (an encrypted key is not supported)" : "");
	return 0;
}

/* GnuTLS's defaults (or the user's string) without the versions below the minimum. */
static int tls_priorities(struct tls *t, const struct tls_opts *o, struct err *e)
{
	static const char old[] = "-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1";
	/* GnuTLS's groups, X25519 first: the server takes the first key share it knows, and
	 * X25519 costs a third of SECP256R1's work (tls_new decides whether both shares are
	 * sent) */
	static const char groups[] = "-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-X448:"
				     "+GROUP-SECP384R1:+GROUP-SECP521R1:+GROUP-FFDHE2048:"
				     "+GROUP-FFDHE3072:+GROUP-FFDHE4096:+GROUP-FFDHE6144:"
				     "+GROUP-FFDHE8192";
	char prio[1024];
	const char *errpos = NULL;
	int r, v13;

	if (o->min_version != 0 && o->min_version != 12 && o->min_version != 13)
		return err_set(e, ERR_SOFTWARE, "tls_min_version was not checked: %d",
			       o->min_version);
	v13 = o->min_version == 13;
	if (!o->priorities) {
		snprintf(prio, sizeof prio, "%s%s:%s", old, v13 ? ":-VERS-TLS1.2" : "", groups);
		r = gnutls_set_default_priority_append(t->session, prio, &errpos, 0);
		if (r < 0)
			return err_set(e, ERR_SOFTWARE, "TLS priorities: %s", gnutls_strerror(r));
		return 0;
	}
	if ((size_t)snprintf(prio, sizeof prio, "%s:%s%s", o->priorities, old,
			     v13 ? ":-VERS-TLS1.2" : "") >= sizeof prio)
		return err_set(e, ERR_CONFIG, "tls_priorities is too long");
	r = gnutls_priority_set_direct(t->session, prio, &errpos);
	if (r < 0) {
		size_t at = errpos ? (size_t)(errpos - prio) : 0;

		if (errpos && at < strlen(o->priorities))
			return err_set(e, ERR_CONFIG, "tls_priorities: GnuTLS does not understand "
				       "\"%.60s\"", o->priorities + at);
		return err_set(e, ERR_CONFIG, "tls_priorities %s: %s", o->priorities,
			       gnutls_strerror(r));
	}
	return 0;
}

/* The identity of a file that decides verification: a changed file means another name. */
static void tls_hash_file(gnutls_hash_hd_t h, const char *path)
{
	struct stat st;
	long long id[5] = { 0 };

	gnutls_hash(h, path ? path : "", path ? strlen(path) + 1 : 1);
	if (path && stat(path, &st) == 0) {
		id[0] = (long long)st.st_dev;
		id[1] = (long long)st.st_ino;
		id[2] = (long long)st.st_size;
		id[3] = (long long)st.st_mtim.tv_sec;
		id[4] = (long long)st.st_mtim.tv_nsec;
	}
	gnutls_hash(h, id, sizeof id);
}

static void tls_hash_str(gnutls_hash_hd_t h, const char *s)
{
	gnutls_hash(h, s ? s : "", s ? strlen(s) + 1 : 1);
	gnutls_hash(h, s ? "+" : "-", 1);
}

/* The name of the session file: a hash of everything that decides whom the session trusts. */
static void tls_session_name(struct tls *t, const struct tls_opts *o)
{
	unsigned char d[TLS_PIN_SIZE];
	int nums[3] = { o->port, o->min_version, o->no_certcheck };
	gnutls_hash_hd_t h;
	int system = !o->trust_file || strcmp(o->trust_file, "system") == 0;

	if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0)
		err_oom();
	gnutls_hash(h, "postbote-session-1", 19);
	tls_hash_str(h, o->account);
	tls_hash_str(h, o->host);
	tls_hash_str(h, o->host_override);
	gnutls_hash(h, nums, sizeof nums);
	tls_hash_str(h, o->fingerprint);
	tls_hash_str(h, o->priorities);
	tls_hash_file(h, system ? NULL : o->trust_file);
	tls_hash_file(h, system ? TLS_SYSTEM_TRUST_FILE : NULL);
	tls_hash_file(h, o->crl_file);
	gnutls_hash_deinit(h, d);
	memcpy(t->session_name, "tls-", 4);
	tls_hex(d, sizeof d, 0, 0, t->session_name + 4, sizeof t->session_name - 4);
}

/* A session file: this magic, the group of the key exchange the server chose (2 bytes, big
 * endian, GnuTLS's number), then GnuTLS's session data. */
static const char tls_session_magic[8] = "pbtls-2";
#define TLS_SESSION_HEAD (sizeof tls_session_magic + 2)
#define TLS_TICKET_MAX_AGE (7 * 86400L)	/* RFC 8446 4.6.1: no ticket lives longer */

/* The session an earlier run kept for this server and these settings, and the group the server
 * chose then (0 when unknown), or NULL. */
static char *tls_resume_read(struct tls *t, const struct tls_opts *o, size_t *len,
			     unsigned *group)
{
	char *data;

	*group = 0;
	if ((size_t)snprintf(t->session_dir, sizeof t->session_dir, "%s", o->session_dir) >=
	    sizeof t->session_dir) {
		t->session_dir[0] = '\0';
		return NULL;
	}
	tls_session_name(t, o);
	data = state_read(t->session_dir, t->session_name, len);
	t->had_file = data != NULL;
	if (data && (*len <= TLS_SESSION_HEAD ||
		     memcmp(data, tls_session_magic, sizeof tls_session_magic) != 0)) {
		free(data);	/* another version's file: a cache miss */
		return NULL;
	}
	if (data)
		*group = (unsigned)(unsigned char)data[sizeof tls_session_magic] << 8 |
			 (unsigned char)data[sizeof tls_session_magic + 1];
	return data;
}

/* Keeps the session for the next run, once the server has given a ticket (TLS 1.3 sends them
 * after the handshake; they have been read with the first replies). */
static void tls_resume_save(struct tls *t)
{
	gnutls_datum_t d = { NULL, 0 };
	int v13 = gnutls_protocol_get_version(t->session) == GNUTLS_TLS1_3;
	unsigned group = (unsigned)gnutls_group_get(t->session);
	char *file;

	/* without a new ticket there is nothing new to keep (a resumed session's stays) */
	if (!t->session_dir[0] ||
	    (v13 && !(gnutls_session_get_flags(t->session) & GNUTLS_SFLAGS_SESSION_TICKET)))
		return;
	if (gnutls_session_get_data2(t->session, &d) == 0 && d.size &&
	    (file = malloc(TLS_SESSION_HEAD + d.size))) {
		memcpy(file, tls_session_magic, sizeof tls_session_magic);
		file[sizeof tls_session_magic] = (char)(group >> 8 & 0xff);
		file[sizeof tls_session_magic + 1] = (char)(group & 0xff);
		memcpy(file + TLS_SESSION_HEAD, d.data, d.size);
		/* a new file (settings, host or port changed, or the first run): the files of
		 * sessions no run has used for longer than a ticket may live go */
		if (state_write(t->session_dir, t->session_name, file, TLS_SESSION_HEAD + d.size) ==
			    0 && !t->had_file)
			state_prune(t->session_dir, "tls-", t->session_name, TLS_TICKET_MAX_AGE);
		free(file);
	}
	gnutls_free(d.data);
}

int tls_resumed(const struct tls *t)
{
	return gnutls_session_is_resumed(t->session) != 0;
}

/* ---- transport ----
 * GnuTLS writes each record with a write of its own: the client's ChangeCipherSpec and Finished
 * and the EHLO after them were three segments, and a large message one write per 16 KiB record.
 * tls_push holds records back (up to TLS_WBUF) and they go out together when GnuTLS next wants to
 * read, or when tls_flush is called (conn_send, after its last record). */

/* Sends what is held back: 0 when all of it went, else -1 with errno (EAGAIN: the socket is
 * full). */
static int tls_drain(struct tls *t)
{
	size_t done = 0;
	int r = 0;

	while (done < t->wlen) {
		ssize_t w = send(t->fd, t->wbuf + done, t->wlen - done, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			r = -1;
			break;
		}
		done += (size_t)w;
	}
	if (done) {
		int saved = errno;

		memmove(t->wbuf, t->wbuf + done, t->wlen - done);
		t->wlen -= done;
		errno = saved;
	}
	return r;
}

static ssize_t tls_push(gnutls_transport_ptr_t p, const void *data, size_t n)
{
	struct tls *t = p;

	if (t->wlen + n > TLS_WBUF && t->wlen && tls_drain(t) < 0 &&
	    (errno != EAGAIN || t->wlen + n > TLS_WBUF)) {
		gnutls_transport_set_errno(t->session, errno);
		return -1;
	}
	if (n > TLS_WBUF) {	/* bigger than the buffer, which is empty now: as it is */
		ssize_t w = send(t->fd, data, n, MSG_NOSIGNAL);

		if (w < 0)
			gnutls_transport_set_errno(t->session, errno);
		return w;
	}
	memcpy(t->wbuf + t->wlen, data, n);
	t->wlen += n;
	return (ssize_t)n;
}

/* What the server has sent already is read first; what is held back goes out before there is
 * any waiting (the server may be waiting for it): then EAGAIN, and the caller polls. */
static ssize_t tls_pull(gnutls_transport_ptr_t p, void *data, size_t n)
{
	struct tls *t = p;
	ssize_t r = recv(t->fd, data, n, 0);
	int err = errno;

	if (r >= 0)
		return r;
	if (err == EAGAIN && t->wlen && tls_drain(t) < 0 && errno != EAGAIN)
		err = errno;	/* the connection is gone */
	gnutls_transport_set_errno(t->session, err);
	return -1;
}

static int tls_pull_timeout(gnutls_transport_ptr_t p, unsigned ms)
{
	struct tls *t = p;
	struct pollfd pf = { .fd = t->fd, .events = POLLIN };

	if (t->wlen)
		return 1;	/* tls_pull sends it, or says EAGAIN */
	return poll(&pf, 1, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int)ms);
}

int tls_flush(struct tls *t, struct err *e)
{
	if (!t->wlen || tls_drain(t) == 0)
		return 0;
	if (errno == EAGAIN)
		return TLS_AGAIN;
	return err_set(e, ERR_TEMP, "connection lost (%s)", strerror(errno));
}

struct tls *tls_new(int fd, const struct tls_opts *o, struct err *e)
{
	struct tls *t = calloc(1, sizeof *t);
	const char *host = o->host_override ? o->host_override : o->host;
	unsigned flags = GNUTLS_CLIENT | GNUTLS_NONBLOCK, group = 0;
	char *resume = NULL;
	size_t resume_len = 0;

	if (!t)
		err_oom();
	snprintf(t->host, sizeof t->host, "%s", host);
	if (o->fingerprint) {
		if (tls_pin_parse(o->fingerprint, t->pin, &t->pin_colons, &t->pin_upper) < 0) {
			err_set(e, ERR_SOFTWARE, "tls_fingerprint was not checked: %s",
				o->fingerprint);
			goto fail;
		}
		t->pinned = 1;
	}
	if (gnutls_certificate_allocate_credentials(&t->cred) < 0)
		err_oom();
	/* a pinned certificate needs no CA, and one that is not checked needs nothing */
	if (!t->pinned && !o->no_certcheck && tls_plan_trust(t, o, e) < 0)
		goto fail;
	if (tls_load_client_cert(t, o, e) < 0)
		goto fail;
	if (o->session_dir && !t->client_cert)
		resume = tls_resume_read(t, o, &resume_len, &group);
	/* GnuTLS sends key shares for its first two groups, X25519 and SECP256R1, so that a server
	 * without X25519 needs no second round trip. A server that took X25519 last time gets only
	 * that one, which saves generating the other key; should it have changed, it asks for
	 * another (one round trip, once: the group it takes then is kept). */
	if (resume && group == GNUTLS_GROUP_X25519 && !o->priorities)
		flags |= GNUTLS_KEY_SHARE_TOP;
	if (gnutls_init(&t->session, flags) < 0)
		err_oom();
	if (tls_priorities(t, o, e) < 0)
		goto fail;
	gnutls_credentials_set(t->session, GNUTLS_CRD_CERTIFICATE, t->cred);
	if (!tls_is_ip(host))
		gnutls_server_name_set(t->session, GNUTLS_NAME_DNS, host, strlen(host));
	gnutls_session_set_ptr(t->session, t);
	if (t->pinned) {
		t->trust = TLS_TRUST_PIN;
		gnutls_session_set_verify_function(t->session, tls_verify_pin);
	} else if (!o->no_certcheck) {
		/* the handshake itself fails on a certificate that does not verify for this name;
		 * this also checks the CRLs and a stapled OCSP response (GnuTLS asks for one) */
		gnutls_session_set_verify_function(t->session, tls_verify_cert);
	}
	t->fd = fd;
	t->wbuf = xmalloc(TLS_WBUF);
	gnutls_transport_set_ptr(t->session, t);
	gnutls_transport_set_push_function(t->session, tls_push);
	gnutls_transport_set_pull_function(t->session, tls_pull);
	gnutls_transport_set_pull_timeout_function(t->session, tls_pull_timeout);
	if (resume)	/* data GnuTLS cannot use means a full handshake */
		gnutls_session_set_data(t->session, resume + TLS_SESSION_HEAD,
					resume_len - TLS_SESSION_HEAD);
	free(resume);
	return t;
fail:
	free(resume);
	tls_free(t);
	return NULL;
}

void tls_free(struct tls *t)
{
	if (!t)
		return;
	if (t->session)
		gnutls_deinit(t->session);
	if (t->cred)
		gnutls_certificate_free_credentials(t->cred);
	free(t->wbuf);
	free(t);
}

/* The names a certificate is for, "a, b, c", to show next to a name mismatch. */
static void tls_cert_names(gnutls_x509_crt_t crt, char *out, size_t size)
{
	size_t used = 0;

	out[0] = '\0';
	for (unsigned i = 0; used + 4 < size; i++) {
		char name[256];
		size_t len = sizeof name - 1;
		int type = gnutls_x509_crt_get_subject_alt_name(crt, i, name, &len, NULL);

		if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (type == GNUTLS_SAN_IPADDRESS) {
			char ip[INET6_ADDRSTRLEN];

			if (!inet_ntop(len == 4 ? AF_INET : AF_INET6, name, ip, sizeof ip))
				continue;
			snprintf(name, sizeof name, "%s", ip);
		} else if (type == GNUTLS_SAN_DNSNAME) {
			name[len] = '\0';
		} else {
			continue;
		}
		used += (size_t)snprintf(out + used, size - used, "%s%s", used ? ", " : "", name);
	}
	if (!out[0]) {
		size_t len = size;

		if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, out,
						  &len) < 0)
			snprintf(out, size, "no name at all");
	}
}

/* The server's certificate; NULL when it sent none. Free with gnutls_x509_crt_deinit. */
static gnutls_x509_crt_t tls_peer_cert(gnutls_session_t session)
{
	const gnutls_datum_t *chain;
	unsigned n = 0;
	gnutls_x509_crt_t crt;

	chain = gnutls_certificate_get_peers(session, &n);
	if (!chain || !n || gnutls_x509_crt_init(&crt) < 0)
		return NULL;
	if (gnutls_x509_crt_import(crt, &chain[0], GNUTLS_X509_FMT_DER) < 0) {
		gnutls_x509_crt_deinit(crt);
		return NULL;
	}
	return crt;
}

static void tls_time(time_t at, char *out, size_t size)
{
	struct tm tm;

	if (at == (time_t)-1 || !gmtime_r(&at, &tm) ||
	    !strftime(out, size, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(out, size, "(unknown)");
}

static void tls_revoked_text(struct tls *t, unsigned status, struct err *e)
{
	/* which of the two sources spoke: a stapled response, when there was one */
	int ocsp = gnutls_ocsp_status_request_is_checked(t->session,
							 GNUTLS_OCSP_SR_IS_AVAIL) != 0;

	if (status & GNUTLS_CERT_REVOKED)
		err_set(e, ERR_PROTOCOL, "certificate has been revoked (%s)",
			ocsp ? "the server's stapled OCSP response says so"
			     : "it is listed in tls_crl_file");
	else if (status & GNUTLS_CERT_MISSING_OCSP_STATUS)
		err_set(e, ERR_PROTOCOL, "certificate requires a stapled OCSP response (OCSP "
			"must-staple), but the server sent none");
	else if (status & GNUTLS_CERT_INVALID_OCSP_STATUS)
		err_set(e, ERR_PROTOCOL, "the server's stapled OCSP response for its certificate "
			"is invalid");
	else
		err_set(e, ERR_PROTOCOL, "the revocation data for the certificate (%s) %s",
			ocsp ? "the server's stapled OCSP response" : "tls_crl_file",
			status & GNUTLS_CERT_REVOCATION_DATA_SUPERSEDED
				? "is out of date; get a current CRL"
				: "is dated in the future; check the clock");
}

#define TLS_REVOCATION_BITS                                                                  \
	(GNUTLS_CERT_REVOKED | GNUTLS_CERT_MISSING_OCSP_STATUS | GNUTLS_CERT_INVALID_OCSP_STATUS | \
	 GNUTLS_CERT_REVOCATION_DATA_SUPERSEDED | GNUTLS_CERT_REVOCATION_DATA_ISSUED_IN_FUTURE)

static void tls_verify_text(struct tls *t, struct err *e)
{
	unsigned status = t->verify_status;
	gnutls_x509_crt_t crt = tls_peer_cert(t->session);
	char names[256] = "", when[64] = "";

	if (crt) {
		tls_cert_names(crt, names, sizeof names);
		tls_time(status & GNUTLS_CERT_EXPIRED ? gnutls_x509_crt_get_expiration_time(crt)
						      : gnutls_x509_crt_get_activation_time(crt),
			 when, sizeof when);
		gnutls_x509_crt_deinit(crt);
	}

	if (status & GNUTLS_CERT_EXPIRED)
		err_set(e, ERR_PROTOCOL, "certificate expired on %s", when);
	else if (status & GNUTLS_CERT_NOT_ACTIVATED)
		err_set(e, ERR_PROTOCOL, "certificate is not valid before %s", when);
	else if (status & TLS_REVOCATION_BITS)
		tls_revoked_text(t, status, e);
	else if (status & GNUTLS_CERT_UNEXPECTED_OWNER)
		err_set(e, ERR_PROTOCOL, "certificate does not match host name %s (it is for %s)",
			t->host, names);
	else if (status & (GNUTLS_CERT_SIGNER_NOT_FOUND | GNUTLS_CERT_SIGNER_NOT_CA))
		err_set(e, ERR_PROTOCOL,
			"certificate is not trusted (unknown issuer); check tls_trust_file");
	else if (status & GNUTLS_CERT_INSECURE_ALGORITHM)
		err_set(e, ERR_PROTOCOL, "certificate is signed with an insecure algorithm");
	else {
		gnutls_datum_t txt;

		if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &txt,
								  0) == 0) {
			err_set(e, ERR_PROTOCOL, "certificate does not verify: %s", txt.data);
			gnutls_free(txt.data);
		} else {
			err_set(e, ERR_PROTOCOL, "certificate does not verify");
		}
	}
}

/* The server's reason for ending the handshake, with the setting that can change it. */
static void tls_alert_text(struct tls *t, struct err *e)
{
	gnutls_alert_description_t a = gnutls_alert_get(t->session);
	const char *hint = "";

	if (gnutls_certificate_client_get_request_status(t->session) && !t->client_cert &&
	    a != GNUTLS_A_PROTOCOL_VERSION)
		hint = " (it asked for a client certificate: set tls_cert_file and tls_key_file)";
	else if (a == GNUTLS_A_PROTOCOL_VERSION)
		hint = " (it speaks no TLS version that tls_min_version and tls_priorities allow)";
	else if (a == GNUTLS_A_HANDSHAKE_FAILURE || a == GNUTLS_A_INSUFFICIENT_SECURITY)
		hint = " (perhaps no cipher or key exchange in common; see tls_priorities)";
	else if (a == GNUTLS_A_CERTIFICATE_REQUIRED)
		hint = " (it wants a client certificate: set tls_cert_file and tls_key_file)";
	else if (a == GNUTLS_A_BAD_CERTIFICATE || a == GNUTLS_A_UNKNOWN_CA ||
		 a == GNUTLS_A_CERTIFICATE_UNKNOWN || a == GNUTLS_A_UNSUPPORTED_CERTIFICATE ||
		 a == GNUTLS_A_CERTIFICATE_EXPIRED || a == GNUTLS_A_CERTIFICATE_REVOKED)
		hint = " (it does not accept the client certificate in tls_cert_file)";
	else if (a == GNUTLS_A_UNRECOGNIZED_NAME)
		hint = " (it does not know the name we asked for; see tls_host_override)";
	err_set(e, ERR_PROTOCOL, "the server ended the handshake: %s%s",
		gnutls_alert_get_name(a), hint);
}

int tls_handshake(struct tls *t, struct err *e)
{
	int r = gnutls_handshake(t->session);

	if (r == GNUTLS_E_SUCCESS)
		return 0;
	if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED || !gnutls_error_is_fatal(r))
		return TLS_AGAIN;
	if (t->pin_error[0])
		err_set(e, ERR_PROTOCOL, "%s", t->pin_error);
	else if (t->load_err.kind)
		*e = t->load_err;
	else if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR)
		tls_verify_text(t, e);
	else if (r == GNUTLS_E_PREMATURE_TERMINATION || r == GNUTLS_E_PUSH_ERROR ||
		 r == GNUTLS_E_PULL_ERROR)
		err_set(e, ERR_PROTOCOL, "the server closed the connection during the handshake");
	else if (r == GNUTLS_E_NO_PRIORITIES_WERE_SET || r == GNUTLS_E_UNSUPPORTED_VERSION_PACKET ||
		 r == GNUTLS_E_NO_CIPHER_SUITES || r == GNUTLS_E_INSUFFICIENT_CREDENTIALS)
		err_set(e, ERR_PROTOCOL, "%s (the server and tls_priorities / tls_min_version "
			"have nothing in common)", gnutls_strerror(r));
	else if (r == GNUTLS_E_WARNING_ALERT_RECEIVED || r == GNUTLS_E_FATAL_ALERT_RECEIVED)
		tls_alert_text(t, e);
	else
		err_set(e, ERR_PROTOCOL, "%s", gnutls_strerror(r));
	return -1;
}

int tls_wants_write(const struct tls *t)
{
	return t->wlen > 0 || gnutls_record_get_direction(t->session) == 1;
}

static ssize_t tls_result(ssize_t r, struct err *e)
{
	if (r >= 0)
		return r;
	if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
		return TLS_AGAIN;
	if (r == GNUTLS_E_PREMATURE_TERMINATION || r == GNUTLS_E_PUSH_ERROR ||
	    r == GNUTLS_E_PULL_ERROR)
		return err_set(e, ERR_TEMP, "connection lost (%s)", gnutls_strerror((int)r));
	/* TLS 1.3 servers check the client certificate after the handshake */
	if (r == GNUTLS_E_CERTIFICATE_REQUIRED)
		return err_set(e, ERR_PROTOCOL, "the server wants a client certificate: set "
			       "tls_cert_file and tls_key_file");
	return err_set(e, ERR_PROTOCOL, "TLS: %s", gnutls_strerror((int)r));
}

ssize_t tls_recv(struct tls *t, void *p, size_t n, struct err *e)
{
	return tls_result(gnutls_record_recv(t->session, p, n), e);
}

ssize_t tls_send(struct tls *t, const void *p, size_t n, struct err *e)
{
	return tls_result(gnutls_record_send(t->session, p, n), e);
}

void tls_bye(struct tls *t)
{
	tls_resume_save(t);
	gnutls_bye(t->session, GNUTLS_SHUT_WR);
	tls_drain(t);	/* the close_notify, if the socket takes it now */
}

void tls_describe(const struct tls *t, char *out, size_t size)
{
	const char *v = gnutls_protocol_get_name(gnutls_protocol_get_version(t->session));
	const char *c = gnutls_cipher_get_name(gnutls_cipher_get(t->session));

	snprintf(out, size, "%s %s", v ? v : "TLS", c ? c : "");
}

/* Certificate text may hold anything; a terminal gets it cleaned as every peer text is. */
static void tls_print_clean(FILE *out, const char *label, const char *text)
{
	struct buf b;

	buf_init(&b, 4 * strlen(text) + 1);
	if (buf_add_clean(&b, text, strlen(text)) < 0)
		buf_broken(__FILE__, __LINE__);	/* 4 bytes a byte at most */
	fprintf(out, "    %-13s %s\n", label, b.data);
	buf_free(&b);
}

static void tls_print_dn(FILE *out, const char *label, gnutls_x509_crt_t crt, int issuer)
{
	gnutls_datum_t dn = { NULL, 0 };
	int r = issuer ? gnutls_x509_crt_get_issuer_dn3(crt, &dn, 0)
		       : gnutls_x509_crt_get_dn3(crt, &dn, 0);

	tls_print_clean(out, label, r == 0 && dn.data ? (const char *)dn.data : "(none)");
	gnutls_free(dn.data);
}

void tls_print_info(const struct tls *t, FILE *out)
{
	gnutls_x509_crt_t crt = tls_peer_cert(t->session);
	char *desc = gnutls_session_get_desc(t->session);
	unsigned char fp[TLS_PIN_SIZE];
	char line[1024];

	fprintf(out, "TLS session:\n");
	fprintf(out, "    %-13s %s\n", "Protocol:",
		gnutls_protocol_get_name(gnutls_protocol_get_version(t->session)));
	fprintf(out, "    %-13s %s\n", "Cipher:",
		gnutls_cipher_get_name(gnutls_cipher_get(t->session)));
	if (desc)
		fprintf(out, "    %-13s %s\n", "Parameters:", desc);
	gnutls_free(desc);
	if (t->trust == TLS_TRUST_NONE)
		snprintf(line, sizeof line, "no (tls_certcheck = off)");
	else if (t->trust == TLS_TRUST_PIN)
		snprintf(line, sizeof line, "by its fingerprint (tls_fingerprint)");
	else if (t->trust == TLS_TRUST_SYSTEM)
		snprintf(line, sizeof line, "as %s, against the system trust store", t->host);
	else
		snprintf(line, sizeof line, "as %s, against tls_trust_file %s", t->host,
			 t->trust_file);
	tls_print_clean(out, "Verified:", line);
	if (!crt) {
		fprintf(out, "The server sent no certificate.\n");
		return;
	}
	fprintf(out, "Server certificate:\n");
	tls_print_dn(out, "Subject:", crt, 0);
	tls_print_dn(out, "Issuer:", crt, 1);
	tls_time(gnutls_x509_crt_get_activation_time(crt), line, sizeof line);
	fprintf(out, "    %-13s %s\n", "Valid from:", line);
	tls_time(gnutls_x509_crt_get_expiration_time(crt), line, sizeof line);
	fprintf(out, "    %-13s %s\n", "Valid until:", line);
	tls_cert_names(crt, line, sizeof line);
	tls_print_clean(out, "Names:", line);
	gnutls_x509_crt_deinit(crt);
	if (tls_peer_sha256(t->session, fp) == 0) {
		tls_hex(fp, sizeof fp, 1, 0, line, sizeof line);
		fprintf(out, "    %-13s %s\n", "SHA-256:", line);
	}
}

int tls_channel_binding(const struct tls *t, const char **type, char *b64, size_t size)
{
	gnutls_datum_t cb = { NULL, 0 }, enc = { NULL, 0 };
	int v13 = gnutls_protocol_get_version(t->session) == GNUTLS_TLS1_3, ok;

	/* without the extended master secret, tls-unique can be the same on two connections
	 * (the triple handshake attack), so it would bind nothing */
	if (!v13 && !(gnutls_session_get_flags(t->session) & GNUTLS_SFLAGS_EXT_MASTER_SECRET))
		return -1;
	if (gnutls_session_channel_binding(t->session,
					   v13 ? GNUTLS_CB_TLS_EXPORTER : GNUTLS_CB_TLS_UNIQUE,
					   &cb) < 0)
		return -1;
	ok = gnutls_base64_encode2(&cb, &enc) == 0 && enc.size < size;
	if (ok) {
		memcpy(b64, enc.data, enc.size);
		b64[enc.size] = '\0';
		*type = v13 ? "tls-exporter" : "tls-unique";
	}
	gnutls_free(cb.data);
	gnutls_free(enc.data);
	return ok ? 0 : -1;
}

int tls_pbkdf2(int sha256, const char *pw, size_t pwlen, const void *salt, size_t saltlen,
	       unsigned iterations, unsigned char *out)
{
	gnutls_datum_t key = { (unsigned char *)pw, (unsigned)pwlen };
	gnutls_datum_t s = { (unsigned char *)salt, (unsigned)saltlen };

	return gnutls_pbkdf2(sha256 ? GNUTLS_MAC_SHA256 : GNUTLS_MAC_SHA1, &key, &s, iterations,
			     out, sha256 ? 32 : 20) < 0 ? -1 : 0;
}

int tls_base64_decode(const char *in, char **out, size_t *n)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				       "0123456789+/";
	size_t len = strlen(in), k = strspn(in, alphabet);
	gnutls_datum_t enc = { (unsigned char *)in, (unsigned)len }, dec = { NULL, 0 };

	*out = NULL;
	*n = 0;
	/* whole quanta of the alphabet, with at most two '=' to complete the last one */
	if (len % 4 || len - k > 2 || strspn(in + k, "=") != len - k || len > UINT_MAX)
		return -1;
	if (len && gnutls_base64_decode2(&enc, &dec) < 0)
		return -1;
	*out = xmalloc(dec.size + 1);
	if (dec.size)
		memcpy(*out, dec.data, dec.size);
	(*out)[dec.size] = '\0';
	*n = dec.size;
	if (dec.data) {
		explicit_bzero(dec.data, dec.size);
		gnutls_free(dec.data);
	}
	return 0;
}
