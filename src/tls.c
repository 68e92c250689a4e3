/* tls: GnuTLS client sessions, verified by default. */
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tls.h"

struct tls {
	gnutls_session_t session;
	gnutls_certificate_credentials_t cred;
	char host[256];
};

static int tls_is_ip(const char *host)
{
	unsigned char a[16];

	return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

struct tls *tls_new(int fd, const struct tls_opts *o, struct err *e)
{
	struct tls *t = calloc(1, sizeof *t);
	int r;

	if (!t)
		err_oom();
	snprintf(t->host, sizeof t->host, "%s", o->host);
	if (gnutls_certificate_allocate_credentials(&t->cred) < 0)
		err_oom();
	if (!o->trust_file || strcmp(o->trust_file, "system") == 0) {
		r = gnutls_certificate_set_x509_system_trust(t->cred);
		if (r <= 0) {
			err_set(e, ERR_CONFIG, "no certificates in the system trust store (%s); "
				"install ca-certificates or set tls_trust_file",
				r < 0 ? gnutls_strerror(r) : "it is empty");
			goto fail;
		}
	} else {
		r = gnutls_certificate_set_x509_trust_file(t->cred, o->trust_file,
							   GNUTLS_X509_FMT_PEM);
		if (r <= 0) {
			err_set(e, ERR_CONFIG, "tls_trust_file %s: %s", o->trust_file,
				r < 0 ? gnutls_strerror(r) : "no certificates in it");
			goto fail;
		}
	}
	if (gnutls_init(&t->session, GNUTLS_CLIENT | GNUTLS_NONBLOCK) < 0)
		err_oom();
	r = gnutls_set_default_priority_append(t->session,
					       "-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1", NULL, 0);
	if (r < 0) {
		err_set(e, ERR_SOFTWARE, "TLS priorities: %s", gnutls_strerror(r));
		goto fail;
	}
	gnutls_credentials_set(t->session, GNUTLS_CRD_CERTIFICATE, t->cred);
	if (!tls_is_ip(o->host))
		gnutls_server_name_set(t->session, GNUTLS_NAME_DNS, o->host, strlen(o->host));
	/* the handshake itself fails on a certificate that does not verify for this name */
	gnutls_session_set_verify_cert(t->session, o->host, 0);
	gnutls_transport_set_int(t->session, fd);
	return t;
fail:
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

static void tls_verify_text(struct tls *t, struct err *e)
{
	unsigned status = gnutls_session_get_verify_cert_status(t->session);
	const gnutls_datum_t *chain;
	unsigned n = 0;
	gnutls_x509_crt_t crt = NULL;
	char names[256] = "", when[64] = "";

	chain = gnutls_certificate_get_peers(t->session, &n);
	if (chain && n && gnutls_x509_crt_init(&crt) == 0 &&
	    gnutls_x509_crt_import(crt, &chain[0], GNUTLS_X509_FMT_DER) == 0) {
		time_t at = status & GNUTLS_CERT_EXPIRED ? gnutls_x509_crt_get_expiration_time(crt)
							 : gnutls_x509_crt_get_activation_time(crt);
		struct tm tm;

		tls_cert_names(crt, names, sizeof names);
		if (at != (time_t)-1 && gmtime_r(&at, &tm))
			strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
	}
	if (crt)
		gnutls_x509_crt_deinit(crt);

	if (status & GNUTLS_CERT_EXPIRED)
		err_set(e, ERR_PROTOCOL, "certificate expired on %s", when);
	else if (status & GNUTLS_CERT_NOT_ACTIVATED)
		err_set(e, ERR_PROTOCOL, "certificate is not valid before %s", when);
	else if (status & GNUTLS_CERT_UNEXPECTED_OWNER)
		err_set(e, ERR_PROTOCOL, "certificate does not match host name %s (it is for %s)",
			t->host, names);
	else if (status & GNUTLS_CERT_REVOKED)
		err_set(e, ERR_PROTOCOL, "certificate has been revoked");
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

int tls_handshake(struct tls *t, struct err *e)
{
	int r = gnutls_handshake(t->session);

	if (r == GNUTLS_E_SUCCESS)
		return 0;
	if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED || !gnutls_error_is_fatal(r))
		return TLS_AGAIN;
	if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR)
		tls_verify_text(t, e);
	else if (r == GNUTLS_E_PREMATURE_TERMINATION || r == GNUTLS_E_PUSH_ERROR ||
		 r == GNUTLS_E_PULL_ERROR)
		err_set(e, ERR_PROTOCOL, "the server closed the connection during the handshake");
	else
		err_set(e, ERR_PROTOCOL, "%s", gnutls_strerror(r));
	return -1;
}

int tls_wants_write(const struct tls *t)
{
	return gnutls_record_get_direction(t->session) == 1;
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

size_t tls_pending(const struct tls *t)
{
	return gnutls_record_check_pending(t->session);
}

void tls_bye(struct tls *t)
{
	gnutls_bye(t->session, GNUTLS_SHUT_WR);
}

void tls_describe(const struct tls *t, char *out, size_t size)
{
	const char *v = gnutls_protocol_get_name(gnutls_protocol_get_version(t->session));
	const char *c = gnutls_cipher_get_name(gnutls_cipher_get(t->session));

	snprintf(out, size, "%s %s", v ? v : "TLS", c ? c : "");
}
