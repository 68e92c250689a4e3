/* conn: one connection to the server, plain or TLS, behind one interface: a capped line reader,
 * a write buffer that coalesces everything queued until conn_flush, and deadlines on every wait.
 * Protocol code never learns which kind of connection it has. */
#ifndef POSTBOTE_CONN_H
#define POSTBOTE_CONN_H

#include <stddef.h>
#include <stdio.h>

#include "buf.h"
#include "err.h"
#include "tls.h"

#define CONN_IN_SIZE 16384
#define CONN_OUT_FLUSH 65536	/* conn_write flushes by itself past this */

struct conn;

/* Connects (see net_connect); NULL with e. The timeout (seconds) bounds every later wait. */
struct conn *conn_open(const char *host, int port, int timeout_s, struct err *e);
/* Best-effort TLS close_notify, close and free; safe with NULL. */
void conn_close(struct conn *c);

/* Shortens the timeout of later waits to at most seconds (for QUIT). */
void conn_cap_timeout(struct conn *c, int seconds);
int conn_timeout(const struct conn *c);

/* Bytes the server sent that nobody has read yet. Where a reply is awaited after a command that
 * was not pipelined, such bytes are the server speaking out of turn. */
size_t conn_pending(const struct conn *c);

/* Now plus the connection's timeout: a deadline for conn_readline. */
long long conn_deadline(const struct conn *c);

/* Reads one line into line (reset first), without its CRLF or LF. A line longer than line->max
 * fails with ERR_PROTOCOL; the end of the stream fails with ERR_TEMP; a line not complete by the
 * deadline (monotonic ms, see conn_deadline) fails with ERR_TEMP "timed out". A whole reply shares
 * one deadline, so a server that trickles bytes cannot stretch it. */
int conn_readline(struct conn *c, struct buf *line, long long deadline, struct err *e);

/* Queues bytes for sending; sends when more than CONN_OUT_FLUSH bytes are queued. */
int conn_write(struct conn *c, const void *p, size_t n, struct err *e);
/* Sends everything queued. */
int conn_flush(struct conn *c, struct err *e);

/* Starts TLS on the connection. Fails with ERR_PROTOCOL when the server already sent bytes that
 * have not been read (they would be taken as if protected by TLS: the STARTTLS injection attack),
 * or when the handshake or the certificate fails. */
int conn_starttls(struct conn *c, const struct tls_opts *o, struct err *e);

/* TLS is active. */
int conn_is_tls(const struct conn *c);
/* TLS resumed a session of an earlier run (see tls_resumed). */
int conn_tls_resumed(const struct conn *c);
/* "TLS1.3 AES-256-GCM", or "" without TLS. */
void conn_tls_describe(const struct conn *c, char *out, size_t size);
/* See tls_channel_binding; -1 without TLS. */
int conn_channel_binding(const struct conn *c, const char **type, char *b64, size_t size);
/* See tls_print_info; nothing without TLS. */
void conn_tls_info(const struct conn *c, FILE *out);

#endif
