/* addr: RFC 5322 address-list parser. No I/O. Takes the body of a header field (after the colon,
 * folded lines included) and returns each address with its place in the text, so a caller can
 * rewrite a field without disturbing the rest of it. Handles groups ("undisclosed-recipients:;"),
 * comments (nested), quoted strings and local parts, domain literals, obsolete routes and empty list
 * members; UTF-8 counts as text (RFC 6532). */
#ifndef POSTBOTE_ADDR_H
#define POSTBOTE_ADDR_H

#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "caps.h"

struct addr {
	char *spec;		/* "local@domain", or "local" when there is no domain; CFWS removed */
	char *name;		/* display name (phrase, or the comment after a bare address), or NULL */
	size_t start, end;	/* where the address is in the text: [start, end) */
	size_t local_end;	/* where its local part ends: insert "@domain" here */
	int has_domain;
};

struct addr_list {
	struct addr *v;
	size_t n, cap;
};

/* Parses an address list and appends to *list (which starts zeroed). -1 with ERR_DATA and the
 * reason when the text is not an address list; the list then holds what came before. */
int addr_parse(const char *text, size_t len, struct addr_list *list, struct err *e);
void addr_list_free(struct addr_list *list);

/* Appends name (len bytes) as a display name: as it is when it is all atoms and blanks, else as a
 * quoted string, or as an RFC 2047 encoded word when it is not ASCII. */
void addr_add_phrase(struct buf *b, const char *name, size_t len);

#endif
