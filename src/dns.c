/* dns: DNS answers (RFC 1035) for SRV and MX records; no I/O. */
#include <stdlib.h>
#include <string.h>

#include "dns.h"

#define DNS_HEADER 12

static unsigned dns_u16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* Reads the name at *pos into out (dotted, lower case); *pos moves past it (past the first
 * pointer when compressed). -1 when malformed. */
static int dns_name(const unsigned char *msg, size_t len, size_t *pos, char *out)
{
	size_t p = *pos, n = 0, limit = *pos;	/* pointers must go before where they are */
	int jumped = 0;

	out[0] = '\0';
	for (;;) {
		unsigned l;

		if (p >= len)
			return -1;
		l = msg[p];
		if ((l & 0xc0) == 0xc0) {
			size_t to;

			if (p + 1 >= len)
				return -1;
			to = (size_t)(dns_u16(msg + p) & 0x3fff);
			if (to >= limit)
				return -1;
			if (!jumped)
				*pos = p + 2;
			jumped = 1;
			limit = to;
			p = to;
			continue;
		}
		if (l & 0xc0)
			return -1;	/* 0x40 and 0x80: extended label types, unused */
		if (l == 0)
			break;
		if (p + 1 + l > len || n + (n ? 1 : 0) + l > DNS_NAME_MAX)
			return -1;
		if (n)
			out[n++] = '.';
		for (unsigned i = 0; i < l; i++) {
			unsigned char c = msg[p + 1 + i];

			out[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
		out[n] = '\0';
		p += 1 + l;
	}
	if (!jumped)
		*pos = p + 1;
	return 0;
}

/* One record's data, of a type we keep. */
static int dns_rdata(const unsigned char *msg, size_t len, size_t at, size_t rdlen, int type,
		     struct dns_record *r)
{
	size_t p = at + (type == DNS_TYPE_SRV ? 6 : 2);

	if (rdlen < (type == DNS_TYPE_SRV ? 7u : 3u))
		return -1;
	r->priority = (int)dns_u16(msg + at);
	r->weight = type == DNS_TYPE_SRV ? (int)dns_u16(msg + at + 2) : 0;
	r->port = type == DNS_TYPE_SRV ? (int)dns_u16(msg + at + 4) : 0;
	if (dns_name(msg, len, &p, r->name) < 0 || p > at + rdlen)
		return -1;
	for (const char *c = r->name; *c; c++)
		if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f)
			return -1;	/* a host name of ours, never raw bytes for a config */
	return 0;
}

int dns_parse(const unsigned char *msg, size_t len, int type, struct dns_record *out, size_t max,
	      struct err *e)
{
	char name[DNS_NAME_MAX + 1];
	unsigned qd, an, rcode;
	size_t pos = DNS_HEADER, n = 0;

	if (len < DNS_HEADER || !(msg[2] & 0x80))
		return err_set(e, ERR_PROTOCOL, "the DNS answer is %s",
			       len < DNS_HEADER ? "too short" : "not a response");
	rcode = msg[3] & 0x0f;
	if (rcode == 3)
		return 0;	/* NXDOMAIN */
	if (rcode)
		return err_set(e, ERR_PROTOCOL, "the DNS server answered with error code %u", rcode);
	qd = dns_u16(msg + 4);
	an = dns_u16(msg + 6);
	for (unsigned i = 0; i < qd; i++) {
		if (dns_name(msg, len, &pos, name) < 0 || pos + 4 > len)
			goto bad;
		pos += 4;
	}
	for (unsigned i = 0; i < an; i++) {
		unsigned rtype, rdlen;

		if (dns_name(msg, len, &pos, name) < 0 || pos + 10 > len)
			goto bad;
		rtype = dns_u16(msg + pos);
		rdlen = dns_u16(msg + pos + 8);
		pos += 10;
		if (pos + rdlen > len)
			goto bad;
		if ((int)rtype == type && dns_u16(msg + pos - 8) == 1) {
			struct dns_record r;

			/* every record is checked, kept or not: the answer is good or bad as a whole */
			if (dns_rdata(msg, len, pos, rdlen, type, &r) < 0)
				goto bad;
			if (n < max)
				out[n++] = r;
		}
		pos += rdlen;
	}
	return (int)n;
bad:
	return err_set(e, ERR_PROTOCOL, "the DNS answer is malformed");
}

static int dns_cmp(const void *a, const void *b)
{
	const struct dns_record *x = a, *y = b;

	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	if (x->weight != y->weight)
		return x->weight > y->weight ? -1 : 1;
	return strcmp(x->name, y->name);
}

void dns_sort(struct dns_record *r, size_t n)
{
	if (n > 1)
		qsort(r, n, sizeof *r, dns_cmp);
}
