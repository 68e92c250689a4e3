/* tls: the only file that includes GnuTLS. A client session on a connected non-blocking socket:
 * trust (system store or a PEM file, CRLs, stapled OCSP), SNI, certificate verification or a
 * pinned fingerprint inside the handshake, a client certificate, and failure messages a user can
 * act on. It never waits: the connection layer polls and calls again. */
#ifndef POSTBOTE_TLS_H
#define POSTBOTE_TLS_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "err.h"

/* Every field but host may be left zero / NULL, which gives the safe default: verified against
 * the system store, TLS 1.2 or newer, GnuTLS's default priorities, no client certificate. */
struct tls_opts {
	const char *host;	/* the server's name as configured */
	const char *host_override;	/* the name verified and sent as SNI instead of host */
	const char *trust_file;	/* PEM file of CA certificates; NULL or "system": system store */
	const char *crl_file;	/* PEM file of CRLs, checked with the trust file */
	/* SHA-256 of the server's certificate as tls_pin_parse() accepts it (the caller checked
	 * it). When set it replaces verification against the trust store (trust_file and crl_file
	 * are not read). */
	const char *fingerprint;
	/* client certificate and key, PEM: both or none (the caller checked that) */
	const char *cert_file, *key_file;
	const char *priorities;	/* GnuTLS priority string instead of the default */
	int min_version;	/* 12 (0 means that) or 13: TLS 1.2 or 1.3 at least */
	/* 1 when tls_certcheck = off: the certificate is not checked at all (a fingerprint still
	 * is). Inverted so that a zeroed struct verifies; the caller prints the warning. */
	int no_certcheck;
	/* Session resumption across runs: the directory where the session (ticket) of each
	 * server is kept, NULL for none. The file's name is a hash of account, host, port and
	 * every setting above, the identity (device, inode, size, time) of the trust, CRL and
	 * system trust files included, so that a changed pin or trust never resumes a session that
	 * was verified under the old one. Never with a client certificate. */
	const char *session_dir;
	const char *account;	/* for the session's name */
	int port;		/* the same */
};

struct tls;

#define TLS_PIN_SIZE 32	/* SHA-256 */

/* A SHA-256 fingerprint as users copy it from certtool, openssl or a browser: 64 hex digits in
 * either case, where ':' may stand between two pairs (not first, not last, not inside a pair).
 * Pure (no GnuTLS): conf checks tls_fingerprint with it, tls_new uses it. 0 with the 32 bytes
 * in pin, *colons set when ':' separated pairs and *upper when a hex letter was upper case (so
 * that a mismatch can be answered in kind); -1 when s is not such a fingerprint. */
int tls_pin_parse(const char *s, unsigned char pin[TLS_PIN_SIZE], int *colons, int *upper);

/* Sets up a session on fd. NULL with ERR_CONFIG (an option or a file it names is unusable, said
 * with the option's configuration key) or ERR_SOFTWARE. The trust store (system or file) is
 * loaded only once the server's certificate is to be verified: a resumed session needs none. */
struct tls *tls_new(int fd, const struct tls_opts *o, struct err *e);
void tls_free(struct tls *t);

#define TLS_AGAIN (-2)

/* 0 when the handshake is complete, TLS_AGAIN when it must be called again once the socket is
 * ready in direction tls_wants_write(), -1 with ERR_PROTOCOL and the reason (certificate problems
 * spelled out, a fingerprint mismatch with the server's actual fingerprint written like the
 * configured one) when it failed. Nothing of ours has been sent over TLS when it fails. */
int tls_handshake(struct tls *t, struct err *e);
int tls_wants_write(const struct tls *t);

/* Sends the records tls_send has held back: 0 when they are out, TLS_AGAIN when it must be
 * called again once the socket is writable, -1 with ERR_TEMP. */
int tls_flush(struct tls *t, struct err *e);

/* > 0 bytes, 0 at a clean end of stream, TLS_AGAIN, or -1 with ERR_TEMP (connection lost)
 * or ERR_PROTOCOL. */
ssize_t tls_recv(struct tls *t, void *p, size_t n, struct err *e);
ssize_t tls_send(struct tls *t, const void *p, size_t n, struct err *e);

/* Best-effort close_notify; never waits. Keeps the session for resumption first (see
 * session_dir), when the server gave a ticket. */
void tls_bye(struct tls *t);

/* The handshake resumed a session kept by an earlier run: the certificate was not sent again
 * and so was not verified again (it was when the session was made, under the same settings). */
int tls_resumed(const struct tls *t);

/* "TLS1.3 AES-256-GCM" for logs. */
void tls_describe(const struct tls *t, char *out, size_t size);

/* For --serverinfo, after the handshake: protocol, cipher, how the server was verified, and the
 * server's certificate (subject, issuer, validity in UTC, names, SHA-256 fingerprint). Text from
 * the certificate is printed with non-printable bytes replaced. */
void tls_print_info(const struct tls *t, FILE *out);

/* Channel binding for SASL *-PLUS mechanisms, after the handshake: "tls-exporter" (RFC 9266) on
 * TLS 1.3, "tls-unique" (RFC 5929) on TLS 1.2 with the extended master secret. Writes the type
 * (a static string) to *type and the data, base64-encoded and NUL-terminated, to b64
 * (TLS_CB_B64_MAX bytes are enough). -1 when the session offers no safe channel binding. */
#define TLS_CB_B64_MAX 64
int tls_channel_binding(const struct tls *t, const char **type, char *b64, size_t size);

/* PBKDF2 with HMAC-SHA-256 (sha256) or HMAC-SHA-1 into out (32 or 20 bytes): SCRAM's
 * SaltedPassword, through GnuTLS's hash code (it uses the CPU's SHA instructions). 0, or -1. */
int tls_pbkdf2(int sha256, const char *pw, size_t pwlen, const void *salt, size_t saltlen,
	       unsigned iterations, unsigned char *out);

/* Decodes base64 as SASL carries it: RFC 4648 with its padding, and no blanks or line breaks
 * (GnuTLS's decoder would skip them; GNU SASL's, which postbote used before, refused them).
 * The bytes go to *out, malloc'd and NUL-terminated, their number to *n; "" decodes to
 * nothing. -1 when in is not base64 (*out NULL then). The caller wipes what was secret and
 * frees it. */
int tls_base64_decode(const char *in, char **out, size_t *n);

#endif
