/* rcpt: the envelope recipients, from the command line and (with -t) the headers: each argument is
 * an address list of its own, aliases in /etc/aliases syntax are expanded (recursively, with a
 * `default` catch-all for local names), bare local names are qualified with the mail domain, and
 * duplicates go (compared without regard to case). */
#ifndef POSTBOTE_RCPT_H
#define POSTBOTE_RCPT_H

#include <stddef.h>

#include "addr.h"
#include "err.h"
#include "hdr.h"
#include "caps.h"

/* The most recipients one message may have, from every source together (finding 12 of the
 * security review: a message can name any number in its header). */
/* { 0 } is an empty list. v[0..n) are the addresses in the order first added; slot is a
 * case-insensitive hash set of indexes into v (index + 1, 0 = free), so adding is O(1). */
struct rcpt_list {
	char **v;
	size_t n, cap;
	size_t *slot;
	size_t nslot;	/* a power of two, at least twice n; 0 before the first add */
};

/* Adds one address (a copy) unless it is there already, compared without regard to case.
 * -1 with ERR_DATA when the list has RCPT_MAX addresses already (list unchanged). */
int rcpt_add(struct rcpt_list *l, const char *addr, struct err *e)
	__attribute__((warn_unused_result));
/* Adds every address of an address list such as a command-line argument: "a@b, Name <c@d>".
 * An argument that is empty or only blanks adds nothing and is named in a warning on stderr
 * (some callers pass one); 0. -1 with ERR_USAGE when it does not parse, ERR_DATA past
 * RCPT_MAX. */
int rcpt_add_arg(struct rcpt_list *l, const char *arg, struct err *e)
	__attribute__((warn_unused_result));
void rcpt_free(struct rcpt_list *l);

/* -t: adds the recipients that the header section names: To:, Cc: and Bcc:, or, when the message
 * has Resent- fields, those of its first (newest) Resent- block only (RFC 5322 3.6.6). -1 with
 * ERR_DATA when one of those fields does not parse. */
int rcpt_from_headers(struct rcpt_list *l, const struct hdr_fields *f, struct err *e);

/* Replaces the list by its expansion: aliases from `aliases_file` (NULL: none) applied to local
 * names, then local names qualified with `maildomain` (NULL: left as they are). -1 with ERR_CONFIG
 * (the aliases file is unreadable, malformed or over 16 MiB) or ERR_DATA (more than RCPT_MAX
 * recipients); the list is then unchanged. */
int rcpt_expand(struct rcpt_list *l, const char *aliases_file, const char *maildomain,
		struct err *e);
/* rcpt_expand, with the warnings about entries only a local delivery agent can use (|command,
 * /file, :include:) given once for each version of the aliases file (its device, inode, size
 * and modification time), not with every message: stamp_dir/aliases-warned.HASH remembers the
 * version warned about. stamp_dir NULL: every time, as rcpt_expand. */
int rcpt_expand_once(struct rcpt_list *l, const char *aliases_file, const char *maildomain,
		     const char *stamp_dir, struct err *e);

/* An aliases file read into memory. */
struct rcpt_aliases;

/* Parses len bytes of aliases text ("name: value, value", '#' comments, indented continuation
 * lines; a line ends at LF and its text at the first CR or NUL). `name` is the file name used
 * in messages ("NAME:LINE: ..."); it is copied. No I/O but warnings on stderr for entries only a
 * local delivery agent can use. 0 with *out set (free it with rcpt_aliases_free), or -1 with
 * ERR_CONFIG and *out NULL. */
int rcpt_aliases_parse(const char *name, const char *text, size_t len,
		       struct rcpt_aliases **out, struct err *e) __attribute__((warn_unused_result));
void rcpt_aliases_free(struct rcpt_aliases *a);	/* NULL is fine */

/* rcpt_expand with aliases already read (NULL: none). */
int rcpt_expand_aliases(struct rcpt_list *l, const struct rcpt_aliases *a,
			const char *maildomain, struct err *e) __attribute__((warn_unused_result));

/* True when the address has no '@' outside quotes: a local name such as "root". */
int rcpt_is_local(const char *addr);

/* True when the address has a byte >= 0x80. */
int rcpt_is_utf8(const char *addr);

/* The address with its domain as IDNA A-labels (libidn2), for a server without SMTPUTF8.
 * A non-ASCII local part cannot be converted: -1 with ERR_UNAVAILABLE. Writes to out. */
int rcpt_to_ascii(const char *addr, char *out, size_t size, struct err *e);

#endif
