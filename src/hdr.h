/* hdr: RFC 5322 header section parser. No I/O: push one line at a time (without its line ending),
 * then pull events until HDR_NONE. A field comes out whole, with its folded lines joined by CRLF,
 * once the next line shows that it has ended. The section ends at an empty line, or at the first
 * line that is neither a field nor a continuation, which then belongs to the body. */
#ifndef POSTBOTE_HDR_H
#define POSTBOTE_HDR_H

#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "caps.h"

enum hdr_event { HDR_NONE, HDR_FIELD, HDR_END };

struct hdr_ev {
	enum hdr_event type;
	const char *name;	/* HDR_FIELD: the field name, not terminated */
	size_t name_len;
	const char *field;	/* HDR_FIELD: the whole raw field, CRLF between lines, no final CRLF */
	size_t len;
	const char *body;	/* HDR_END: a line that started the body without an empty line, */
	size_t body_len;	/*   or NULL */
	int blank;		/* HDR_END: the section ended with an empty line */
};

struct hdr {
	int done;		/* the section has ended */
	struct buf cur;		/* the field being collected */
	size_t cur_name;	/* length of its name */
	struct buf out;		/* a completed field waiting to be pulled */
	size_t out_name;
	int have_out, have_end, blank;
	struct buf body;
};

void hdr_init(struct hdr *h);
void hdr_free(struct hdr *h);

/* Pushes a line. -1 with ERR_DATA when a field grows past HDR_FIELD_MAX. Pushing after the
 * section ended is a no-op. Pull every event before the next push. */
int hdr_push(struct hdr *h, const char *line, size_t len, struct err *e);
/* The input ended: the pending field and the end come out. */
void hdr_eof(struct hdr *h);
/* The next event, or HDR_NONE. Pointers stay valid until the next push. */
enum hdr_event hdr_next(struct hdr *h, struct hdr_ev *ev);

/* A header section kept in memory: each field whole (as hdr_next gave it) with the number of the
 * line that ended it. At most HDR_SECTION_MAX bytes in all. */
struct hdr_field {
	char *text;		/* the raw field, CRLF between lines, NUL-terminated */
	size_t len, name_len;
	unsigned long line;
};

struct hdr_fields {
	struct hdr_field *v;
	size_t n, cap, bytes;
};

/* Appends a copy of the field of ev. -1 when the section would exceed HDR_SECTION_MAX. */
int hdr_fields_add(struct hdr_fields *f, const struct hdr_ev *ev, unsigned long line);
void hdr_fields_free(struct hdr_fields *f);
/* The field's value (after the colon) and its length. */
const char *hdr_field_value(const struct hdr_field *f, size_t *len);
/* True when the field's name is `name`, compared without regard to case. */
int hdr_field_is(const struct hdr_field *f, const char *name);

/* Length of the field name at the start of line, or 0 when it is no field line. Accepts
 * blanks before the colon (obsolete syntax). */
size_t hdr_name_len(const char *line, size_t len);

/* True when the field's name is `name`, compared without regard to case. */
int hdr_is(const struct hdr_ev *ev, const char *name);

#endif
