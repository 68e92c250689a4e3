/* net: blocking-style TCP connect with a timeout over every address of a host, and the waits that
 * the connection layer uses for its deadlines. Sockets are non-blocking; time is in milliseconds
 * of CLOCK_MONOTONIC. */
#ifndef POSTBOTE_NET_H
#define POSTBOTE_NET_H

#include <stddef.h>

#include "err.h"

/* Now, in monotonic milliseconds. */
long long net_now(void);

/* Connects to host:port, trying each address (IPv6 and IPv4, in getaddrinfo's order) with
 * timeout_s seconds for each. Returns a connected non-blocking socket with TCP_NODELAY, or -1 with
 * ERR_NOHOST (the name does not exist), ERR_TEMP (refused, unreachable, timed out, DNS try again). */
int net_connect(const char *host, int port, int timeout_s, struct err *e);

/* Waits until fd is readable (want_write 0) or writable (1), or the deadline passes.
 * Returns 0, or -1 with ERR_TEMP "timed out" / ERR_OS. `what` names the wait for the message. */
int net_wait(int fd, int want_write, long long deadline, const char *what, struct err *e);

/* The machine's fully qualified name (for EHLO and Message-ID), or its plain name. */
void net_fqdn(char *out, size_t size);

#endif
