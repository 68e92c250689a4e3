/* rate: the rate limit of an account, one gate for direct submissions and queue runs. Each
 * message sent is one line (its time) in the queue's rate/ACCOUNT file. */
#ifndef POSTBOTE_RATE_H
#define POSTBOTE_RATE_H

#include <time.h>

#include "conf.h"
#include "queue.h"

/* 0 when account a may send one more message now (always, without a rate_limit); else -1 with
 * the time the oldest message counted leaves the window, when the next may go, in *next. */
int rate_gate(struct queue *q, const struct account *a, time_t *next);

/* Records one message sent now (nothing without a rate_limit). */
void rate_count(struct queue *q, const struct account *a);

/* "the rate limit of 2 per hour is reached; it goes out at 2026-12-01 11:00:00" */
void rate_reason(const struct account *a, time_t next, char *out, size_t size);

#endif
