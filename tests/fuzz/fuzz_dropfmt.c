/* fuzz_dropfmt: the drop program's parser of what a local user hands it, and root's pickup's
 * parser of a dropped file (the input is tried both ways), and the trailer reader. Checks what
 * dropfmt.h promises of an accepted request: its length within the input and ending with the
 * empty line, every value one line of printable bytes within the cap, recipients within
 * DROP_ARGS_MAX, the stamp present exactly when asked for; and that writing an accepted request
 * again gives a text that parses to the same settings. */
#include <stdint.h>
#include <string.h>

#include "dropfmt.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_value(const char *v)
{
	if (!v)
		return;
	REQUIRE(strlen(v) <= DROP_VALUE_MAX);
	for (const char *p = v; *p; p++)
		REQUIRE((unsigned char)*p >= 0x20 && *p != 0x7f);
}

static void check_request(const struct dropfmt *d, size_t size, int stamped)
{
	const struct request *rq = &d->rq;

	REQUIRE(d->len >= 2 && d->len <= size && d->len <= DROP_REQUEST_MAX);
	REQUIRE(rq->nrcpts <= DROP_ARGS_MAX);
	check_value(rq->account);
	check_value(rq->from);
	check_value(rq->full_name);
	check_value(rq->dsn_notify);
	check_value(rq->dsn_envid);
	REQUIRE(!rq->dsn_ret || !strcmp(rq->dsn_ret, "FULL") || !strcmp(rq->dsn_ret, "HDRS"));
	for (size_t i = 0; i < rq->nrcpts; i++)
		check_value(rq->rcpts[i]);
	REQUIRE(!stamped || (d->user && d->uid >= 0 && d->time >= 0));
	REQUIRE(rq->login == NULL && rq->trace == NULL);
}

/* Written again and read back: the same settings. */
static void check_round_trip(const struct dropfmt *d)
{
	struct buf b;
	struct dropfmt again;
	struct err e = { 0 };

	buf_init(&b, DROP_REQUEST_MAX + 65536);
	if (dropfmt_request(&d->rq, &b, &e) == 0) {
		REQUIRE(dropfmt_parse(b.data, b.len, 0, &again, &e) == 0);
		REQUIRE(again.rq.nrcpts == d->rq.nrcpts);
		for (size_t i = 0; i < d->rq.nrcpts; i++)
			REQUIRE(strcmp(again.rq.rcpts[i], d->rq.rcpts[i]) == 0);
		REQUIRE(!d->rq.from == !again.rq.from);
		REQUIRE(again.rq.extract == d->rq.extract);
		dropfmt_free(&again);
	}
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	size_t tlen = 0;

	for (int stamped = 0; stamped < 2; stamped++) {
		struct dropfmt d;
		struct err e = { 0 };
		int r = dropfmt_parse(text, size, stamped, &d, &e);

		REQUIRE(r >= -1 && r <= 1);
		if (r < 0)
			REQUIRE(e.kind == ERR_DATA && e.text[0]);
		if (r == 1)
			REQUIRE(size < DROP_REQUEST_MAX);
		if (r != 0)
			continue;
		check_request(&d, size, stamped);
		check_round_trip(&d);
		dropfmt_free(&d);
	}
	long long n = dropfmt_parse_trailer(text, size, &tlen);
	REQUIRE(n == -1 || (n >= 0 && tlen > 0 && tlen <= size && text[size - 1] == '\n'));
	return 0;
}
