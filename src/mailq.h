/* mailq: listing the queue (-bp, mailq) and editing it (--queue-delete, -hold, -release). What
 * the user reads is printed here: Postfix's mailq layout, so that monitors written for Postfix
 * (check_mailq -M postfix) read it, or one JSON object per message with postqueue -j's names. */
#ifndef POSTBOTE_MAILQ_H
#define POSTBOTE_MAILQ_H

#include <time.h>

#include "buf.h"
#include "conf.h"
#include "err.h"

/* One recipient of an entry: its address and why it waits (or, given up, why it failed); reason
 * "" when there is none yet. */
struct mailq_rcpt {
	const char *address, *reason;
};

/* What one entry of the listing shows, whatever holds the message (the queue; another source
 * only needs to fill one of these). Strings are borrowed. */
struct mailq_item {
	const char *queue_name;	/* postqueue -j's "active" (being sent now, '*'), "deferred",
				 * "hold" ('!'); ours: "failed" (given up) */
	const char *id;
	time_t arrival;		/* 0: unknown */
	long long size;
	const char *sender;	/* "" for the null sender */
	const struct mailq_rcpt *rcpts;
	size_t nrcpts;
	const char *error;	/* NULL, or why the message itself cannot be read */
	unsigned attempts;
	time_t next_try;	/* 0: none planned (held, given up), or due since it came */
};

/* The heading line that comes before the first entry of the text listing. */
int mailq_text_heading(struct buf *b) __attribute__((warn_unused_result));
/* One entry in Postfix's layout: "ID[*!] SIZE ARRIVAL SENDER", then each recipient indented,
 * each after its reason "(...)" when that differs from the one before. Bytes outside printable
 * ASCII as \xNN. No blank line: the caller puts one between entries. */
int mailq_text_entry(struct buf *b, const struct mailq_item *it) __attribute__((warn_unused_result));
/* The last line: "-- N Kbytes in M Requests." (one Request), or "Mail queue is empty". */
int mailq_text_summary(struct buf *b, size_t count, long long bytes)
	__attribute__((warn_unused_result));
/* One entry as one line of JSON (and its newline): queue_name, queue_id, arrival_time,
 * message_size, sender, recipients [{address, delay_reason}] as postqueue -j names them, then
 * attempts and next_try (and error when set). Strings hold valid UTF-8 as it is, escape '"', '\'
 * and control bytes, and write each byte that is not part of valid UTF-8 as \ufffd. */
int mailq_json_entry(struct buf *b, const struct mailq_item *it) __attribute__((warn_unused_result));

enum mailq_format { MAILQ_TEXT, MAILQ_JSON };

/* Prints the queue (every account's, or one's) on stdout: the waiting and held messages, or with
 * `failed` those given up. When only the waiting ones are listed, some were given up and stderr
 * is a terminal, one line there says how many and how to list them. */
int mailq_list(const struct conf *c, const char *account, enum mailq_format fmt, int failed,
	       struct err *e);

enum mailq_edit { MAILQ_DELETE, MAILQ_HOLD, MAILQ_RELEASE };
int mailq_edit(const struct conf *c, const char *account, enum mailq_edit what, const char *id,
	       struct err *e);

#endif
