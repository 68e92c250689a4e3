/* fuzz_dns: the input as a DNS response, parsed for SRV and for MX records with room for a few
 * and for many. Either -1 with ERR_PROTOCOL and a message, or a count within the room, each name
 * printable, terminated and at most DNS_NAME_MAX bytes, with the same records whatever the
 * room (the first ones); dns_sort then keeps them in RFC 2782's order. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int types[] = { DNS_TYPE_SRV, DNS_TYPE_MX };

	for (int t = 0; t < 2; t++) {
		struct dns_record few[2], many[DNS_RECORDS_MAX];
		struct err e1 = { 0 }, e2 = { 0 };
		int a = dns_parse(data, size, types[t], few, 2, &e1);
		int b = dns_parse(data, size, types[t], many, DNS_RECORDS_MAX, &e2);

		REQUIRE((a < 0) == (b < 0));
		if (b < 0) {
			REQUIRE(e2.kind == ERR_PROTOCOL && e2.text[0]);
			continue;
		}
		REQUIRE(a <= 2 && b <= DNS_RECORDS_MAX && a == (b < 2 ? b : 2));
		for (int i = 0; i < b; i++) {
			size_t n = strnlen(many[i].name, sizeof many[i].name);

			REQUIRE(n <= DNS_NAME_MAX);
			for (size_t k = 0; k < n; k++)
				REQUIRE(many[i].name[k] > ' ' && many[i].name[k] < 0x7f);
			if (i < a)
				REQUIRE(few[i].priority == many[i].priority &&
					few[i].weight == many[i].weight && few[i].port == many[i].port &&
					strcmp(few[i].name, many[i].name) == 0);
		}
		dns_sort(many, (size_t)b);
		for (int i = 1; i < b; i++)
			REQUIRE(many[i - 1].priority < many[i].priority ||
				(many[i - 1].priority == many[i].priority &&
				 many[i - 1].weight >= many[i].weight));
	}
	return 0;
}
