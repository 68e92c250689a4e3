/* Unit tests for dns: SRV and MX answers built byte by byte (with and without name
 * compression), the root target ("no such service"), NXDOMAIN and other error codes, records of
 * other types on the way, and malformed messages: truncated, pointers forward or in a loop,
 * names too long; then the RFC 2782 order of dns_sort. */
#include <string.h>

#include "dns.h"
#include "unit.h"

struct msg {
	unsigned char b[4096];
	size_t n;
};

static void put(struct msg *m, const void *p, size_t n)
{
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void u16(struct msg *m, unsigned v)
{
	unsigned char b[2] = { (unsigned char)(v >> 8), (unsigned char)v };

	put(m, b, 2);
}

/* a name as labels: "a.b" -> 1 a 1 b 0 */
static void name(struct msg *m, const char *s)
{
	while (*s) {
		size_t n = strcspn(s, ".");
		unsigned char l = (unsigned char)n;

		put(m, &l, 1);
		put(m, s, n);
		s += n + (s[n] == '.');
	}
	put(m, "", 1);
}

/* header (a response with rcode), one question for qname */
static void head(struct msg *m, unsigned rcode, unsigned ancount, const char *qname, unsigned qtype)
{
	m->n = 0;
	u16(m, 0x1234);
	u16(m, 0x8180 | rcode);
	u16(m, 1);
	u16(m, ancount);
	u16(m, 0);
	u16(m, 0);
	name(m, qname);
	u16(m, qtype);
	u16(m, 1);
}

/* an SRV record whose owner is a pointer to the question (offset 12) */
static void srv(struct msg *m, int prio, int weight, int port, const char *target)
{
	size_t len;

	u16(m, 0xc00c);
	u16(m, DNS_TYPE_SRV);
	u16(m, 1);
	u16(m, 0);
	u16(m, 300);
	len = 6 + strlen(target) + 2 - (*target == '\0');
	u16(m, (unsigned)len);
	u16(m, (unsigned)prio);
	u16(m, (unsigned)weight);
	u16(m, (unsigned)port);
	name(m, target);
}

static void test_srv(void)
{
	struct dns_record r[4];
	struct err e = { 0 };
	struct msg m;

	head(&m, 0, 3, "_submissions._tcp.example.org", DNS_TYPE_SRV);
	srv(&m, 10, 5, 465, "Mail.Example.org");
	srv(&m, 5, 0, 465, "first.example.org");
	srv(&m, 10, 50, 465, "heavy.example.org");
	CHECK_INT(dns_parse(m.b, m.n, DNS_TYPE_SRV, r, 4, &e), 3);
	CHECK_STR(r[0].name, "mail.example.org");
	CHECK_INT(r[0].port, 465);
	CHECK_INT(r[0].priority, 10);
	CHECK_INT(r[0].weight, 5);
	dns_sort(r, 3);
	CHECK_STR(r[0].name, "first.example.org");
	CHECK_STR(r[1].name, "heavy.example.org");
	CHECK_STR(r[2].name, "mail.example.org");
	CHECK_INT(dns_parse(m.b, m.n, DNS_TYPE_SRV, r, 2, &e), 2);
	CHECK_INT(dns_parse(m.b, m.n, DNS_TYPE_MX, r, 4, &e), 0);	/* none of that type */

	head(&m, 0, 1, "_submission._tcp.example.org", DNS_TYPE_SRV);
	srv(&m, 0, 0, 0, "");
	CHECK_INT(dns_parse(m.b, m.n, DNS_TYPE_SRV, r, 4, &e), 1);
	CHECK_STR(r[0].name, "");

	head(&m, 3, 0, "_submission._tcp.nowhere.example", DNS_TYPE_SRV);
	CHECK_INT(dns_parse(m.b, m.n, DNS_TYPE_SRV, r, 4, &e), 0);
	head(&m, 2, 0, "_submission._tcp.example.org", DNS_TYPE_SRV);
	CHECK_INT(dns_parse(m.b, m.n, DNS_TYPE_SRV, r, 4, &e), -1);
	CHECK_STR(e.text, "the DNS server answered with error code 2");
	CHECK_INT(e.kind, ERR_PROTOCOL);
}

static void test_mx_plain(void)
{
	struct dns_record r[4];
	struct err e = { 0 };
	struct msg m;
	static const unsigned char exch[] = "\005aspmx\001l\006google\003com";

	head(&m, 0, 1, "example.org", DNS_TYPE_MX);
	u16(&m, 0xc00c);
	u16(&m, DNS_TYPE_MX);
	u16(&m, 1);
	u16(&m, 0);
	u16(&m, 60);
	u16(&m, 2 + sizeof exch);
	u16(&m, 1);
	put(&m, exch, sizeof exch);
	CHECK_INT(dns_parse(m.b, m.n, DNS_TYPE_MX, r, 4, &e), 1);
	CHECK_STR(r[0].name, "aspmx.l.google.com");
	CHECK_INT(r[0].priority, 1);
	/* cut anywhere: malformed, never a crash or a record */
	for (size_t n = 0; n < m.n; n++) {
		UNIT_CTX("cut at %zu", n);
		CHECK_INT(dns_parse(m.b, n, DNS_TYPE_MX, r, 4, &e), -1);
	}
	UNIT_CTX_CLEAR();
}

static void test_malformed(void)
{
	struct dns_record r[4];
	struct err e = { 0 };
	struct msg m;

	/* a question name that points to itself */
	head(&m, 0, 0, "", DNS_TYPE_SRV);
	m.n = 12;
	u16(&m, 0xc00c);
	u16(&m, DNS_TYPE_SRV);
	u16(&m, 1);
	CHECK_INT(dns_parse(m.b, m.n, DNS_TYPE_SRV, r, 4, &e), -1);
	CHECK_STR(e.text, "the DNS answer is malformed");
	/* a query, not a response */
	head(&m, 0, 0, "example.org", DNS_TYPE_SRV);
	m.b[2] = 0x01;
	CHECK_INT(dns_parse(m.b, m.n, DNS_TYPE_SRV, r, 4, &e), -1);
	CHECK_STR(e.text, "the DNS answer is not a response");
	/* a name of 300 bytes */
	head(&m, 0, 0, "", DNS_TYPE_SRV);
	m.n = 12;
	for (int i = 0; i < 5; i++) {
		unsigned char l = 60;

		put(&m, &l, 1);
		memset(m.b + m.n, 'a', 60);
		m.n += 60;
	}
	put(&m, "", 1);
	u16(&m, DNS_TYPE_SRV);
	u16(&m, 1);
	CHECK_INT(dns_parse(m.b, m.n, DNS_TYPE_SRV, r, 4, &e), -1);
	CHECK_INT(dns_parse(m.b, 5, DNS_TYPE_SRV, r, 4, &e), -1);
	CHECK_STR(e.text, "the DNS answer is too short");
}

int main(void)
{
	test_srv();
	test_mx_plain();
	test_malformed();
	return unit_done();
}
