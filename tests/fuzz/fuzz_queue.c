/* fuzz_queue: the queue file reader. The input is a queue file's envelope (up to its empty line)
 * followed by a state file, as a damaged or hostile spool directory could hold them: both go
 * through queue_parse_envelope and queue_parse_state. Checks what queue.h promises of an entry
 * that was accepted: an account, a sender, at least one recipient, a size, and fates only for
 * recipients that exist, each reason one line. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *blank = NULL;
	struct queue_entry ent = { .spool.fd = -1 };
	struct err e = { 0 };
	size_t env_len = size;

	for (size_t i = 0; i + 1 < size; i++)
		if (data[i] == '\n' && data[i + 1] == '\n') {
			blank = text + i;
			break;
		}
	if (blank)
		env_len = (size_t)(blank - text) + 1;
	snprintf(ent.id, sizeof ent.id, "fuzz");
	if (queue_parse_envelope(text, env_len, &ent, &e) < 0) {
		REQUIRE(e.kind == ERR_DATA && e.text[0]);
		queue_release(&ent);
		return 0;
	}
	REQUIRE(ent.account && ent.env.from && ent.env.nrcpts > 0 && ent.spool.size >= 0);
	for (size_t i = 0; i < ent.env.nrcpts; i++)
		REQUIRE(ent.env.rcpts[i] && !strchr(ent.env.rcpts[i], '\n'));
	if (blank)
		queue_parse_state(blank + 2, size - env_len - 1, &ent);
	for (size_t i = 0; ent.st.fates && i < ent.env.nrcpts; i++) {
		const struct fate *f = &ent.st.fates[i];

		REQUIRE(f->state >= FATE_PENDING && f->state <= FATE_NEXT);
		REQUIRE(memchr(f->reason, '\0', sizeof f->reason) != NULL);
		REQUIRE(!strchr(f->reason, '\n'));
	}
	REQUIRE(!ent.st.error || !strchr(ent.st.error, '\n'));
	queue_release(&ent);
	return 0;
}
