/* dns: the answer section of a DNS response (RFC 1035 section 4), for the SRV (RFC 2782) and
 * MX records that --configure looks up. A parser only: bytes in, records out, no I/O, so that
 * the unit tests and the fuzzer drive it with bytes. The response comes from the network: every
 * length and every compression pointer is checked, a name is at most 255 bytes, and a chain of
 * pointers can only go backwards (so it ends). */
#ifndef POSTBOTE_DNS_H
#define POSTBOTE_DNS_H

#include <stddef.h>

#include "err.h"

#define DNS_TYPE_MX 15
#define DNS_TYPE_SRV 33
#define DNS_NAME_MAX 255	/* bytes of a name written with dots, without the final dot */
#define DNS_RECORDS_MAX 32	/* records of one answer kept */

struct dns_record {
	int priority;	/* SRV priority, MX preference */
	int weight, port;	/* SRV only */
	char name[DNS_NAME_MAX + 1];	/* the SRV target or MX exchange, lower case, no final
					 * dot; "" for the root ("." : no such service) */
};

/* The records of type `type` in the answer section of msg, in the order of the response, up to
 * max (more are dropped). Others (a CNAME on the way) are skipped. Returns the count, 0 for a
 * response with none (NXDOMAIN included), or -1 with ERR_PROTOCOL when the message is
 * malformed, is no response, or has an error code other than NXDOMAIN. */
int dns_parse(const unsigned char *msg, size_t len, int type, struct dns_record *out, size_t max,
	      struct err *e);

/* Sorts SRV records by priority, then by weight, highest first (RFC 2782's order, without its
 * random choice, so that the same answer always gives the same configuration). */
void dns_sort(struct dns_record *r, size_t n);

#endif
