/* tls: the only file that includes GnuTLS. A client session on a connected non-blocking socket:
 * trust (system store or a PEM file), SNI, certificate verification inside the handshake, and
 * failure messages a user can act on. It never waits: the connection layer polls and calls again. */
#ifndef POSTBOTE_TLS_H
#define POSTBOTE_TLS_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"

struct tls_opts {
	const char *host;	/* the name verified and sent as SNI (not for IP literals) */
	const char *trust_file;	/* PEM file of CA certificates; NULL or "system": system store */
};

struct tls;

/* Sets up a session on fd. NULL with ERR_CONFIG (trust file unusable) or ERR_SOFTWARE. */
struct tls *tls_new(int fd, const struct tls_opts *o, struct err *e);
void tls_free(struct tls *t);

#define TLS_AGAIN (-2)

/* 0 when the handshake is complete, TLS_AGAIN when it must be called again once the socket is
 * ready in direction tls_wants_write(), -1 with ERR_PROTOCOL and the reason (certificate problems
 * spelled out) when it failed. */
int tls_handshake(struct tls *t, struct err *e);
int tls_wants_write(const struct tls *t);

/* > 0 bytes, 0 at a clean end of stream, TLS_AGAIN, or -1 with ERR_TEMP (connection lost)
 * or ERR_PROTOCOL. */
ssize_t tls_recv(struct tls *t, void *p, size_t n, struct err *e);
ssize_t tls_send(struct tls *t, const void *p, size_t n, struct err *e);
size_t tls_pending(const struct tls *t);

/* Best-effort close_notify; never waits. */
void tls_bye(struct tls *t);

/* "TLS1.3 AES-256-GCM" for logs. */
void tls_describe(const struct tls *t, char *out, size_t size);

#endif
