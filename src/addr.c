/* addr: address-list tokenizer and parser; pure. */
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "buf.h"

enum tok_type { T_ATOM, T_QSTR, T_DLIT, T_COMMENT, T_SPECIAL };

struct tok {
	enum tok_type type;
	char c;			/* T_SPECIAL: the character */
	size_t start, end;	/* in the text */
};

struct toks {
	struct tok *v;
	size_t n, cap;
};

static void tok_add(struct toks *t, enum tok_type type, char c, size_t start, size_t end)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 32;
		t->v = xrealloc(t->v, t->cap * sizeof *t->v);
	}
	t->v[t->n++] = (struct tok){ type, c, start, end };
}

static int is_special(unsigned char c)
{
	return c && strchr("()<>[]:;@\\,.\"", c) != NULL;
}

static int is_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Inside a quoted string, comment or domain literal a line end may only be folding: CRLF (or
 * LF) followed by a blank. Anything else, and any NUL, would end up on the wire: an address is
 * never allowed to carry a line end into an SMTP command. Returns the bytes to skip, or 0. */
static size_t fold_len(const char *s, size_t i, size_t len)
{
	size_t k = i;

	if (k < len && s[k] == '\r')
		k++;
	if (k < len && s[k] == '\n')
		k++;
	return k > i && k < len && (s[k] == ' ' || s[k] == '\t') ? k - i : 0;
}

static int bad_byte(const char *s, size_t i, size_t len, size_t *skip)
{
	unsigned char c = (unsigned char)s[i];

	*skip = 0;
	if (c == '\r' || c == '\n') {
		*skip = fold_len(s, i, len);
		return !*skip;
	}
	return c == 0;
}

/* Splits the text into tokens; comments are kept so a bare address can take its name from one. */
static int tokenize(const char *s, size_t len, struct toks *t, struct err *e)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		size_t start = i;

		if (is_blank(c)) {
			i++;
		} else if (c == '(') {
			int depth = 0;

			for (; i < len; i++) {
				size_t skip;

				if (bad_byte(s, i, len, &skip))
					return err_set(e, ERR_DATA, "a line break or NUL inside a comment");
				if (skip)
					i += skip - 1;
				else if (s[i] == '\\' && i + 1 < len)
					i++;
				else if (s[i] == '(')
					depth++;
				else if (s[i] == ')' && --depth == 0)
					break;
			}
			if (i >= len)
				return err_set(e, ERR_DATA, "unbalanced parenthesis in a comment");
			tok_add(t, T_COMMENT, 0, start, ++i);
		} else if (c == '"') {
			for (i++; i < len && s[i] != '"'; i++) {
				size_t skip;

				if (bad_byte(s, i, len, &skip) ||
				    (s[i] == '\\' && i + 1 < len && bad_byte(s, i + 1, len, &skip)))
					return err_set(e, ERR_DATA, "a line break or NUL inside a quoted "
						       "string");
				if (skip)
					i += skip - 1;
				else if (s[i] == '\\' && i + 1 < len)
					i++;
			}
			if (i >= len)
				return err_set(e, ERR_DATA, "unterminated quoted string");
			tok_add(t, T_QSTR, 0, start, ++i);
		} else if (c == '[') {
			for (i++; i < len && s[i] != ']'; i++) {
				size_t skip;

				if (bad_byte(s, i, len, &skip) || skip || s[i] == '\\')
					return err_set(e, ERR_DATA, "a line break, NUL or backslash inside "
						       "a domain literal");
				if (s[i] == '[')
					return err_set(e, ERR_DATA, "'[' inside a domain literal");
			}
			if (i >= len)
				return err_set(e, ERR_DATA, "unterminated domain literal");
			tok_add(t, T_DLIT, 0, start, ++i);
		} else if (c == ')' || c == ']' || c == '\\') {
			return err_set(e, ERR_DATA, "unexpected '%c'", c);
		} else if (is_special(c)) {
			tok_add(t, T_SPECIAL, (char)c, start, ++i);
		} else if (c < 0x20 || c == 0x7f) {
			return err_set(e, ERR_DATA, "control character 0x%02x", c);
		} else {
			while (i < len && !is_blank((unsigned char)s[i]) && !is_special((unsigned char)s[i]) &&
			       ((unsigned char)s[i] >= 0x20 && s[i] != 0x7f))
				i++;
			tok_add(t, T_ATOM, 0, start, i);
		}
	}
	return 0;
}

static int tok_is(const struct toks *t, size_t i, char c)
{
	return i < t->n && t->v[i].type == T_SPECIAL && t->v[i].c == c;
}

/* The next token at or after i that is not a comment. */
static size_t skip_comments(const struct toks *t, size_t i)
{
	while (i < t->n && t->v[i].type == T_COMMENT)
		i++;
	return i;
}

/* Joins the text of tokens [a, b), leaving out comments: a phrase keeps one blank where the text
 * had any between two tokens, an addr-spec has none. */
static char *join(const char *s, const struct toks *t, size_t a, size_t b, int phrase)
{
	struct buf out;
	size_t prev_end = 0;

	buf_init(&out, BUF_NO_MAX);
	for (size_t i = a; i < b; i++) {
		const struct tok *k = &t->v[i];

		if (k->type == T_COMMENT)
			continue;
		if (phrase && out.len && k->start > prev_end && buf_addch(&out, ' ') < 0)
			buf_broken(__FILE__, __LINE__);
		prev_end = k->end;
		for (size_t j = k->start; j < k->end; j++)	/* unfolded: no CR or LF */
			if (s[j] != '\r' && s[j] != '\n' && buf_addch(&out, s[j]) < 0)
				buf_broken(__FILE__, __LINE__);
	}
	return buf_detach(&out, NULL);
}

static void list_add(struct addr_list *l, struct addr *a)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = xrealloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n++] = *a;
}

/* addr-spec in tokens [a, b): local-part ["@" domain]. The local part may use the obsolete
 * forms real mail has ("taro.@docomo.ne.jp", "a..b"); the domain must be a proper dot-atom or a
 * domain literal. */
static int parse_spec(const char *s, const struct toks *t, size_t a, size_t b, struct addr *out,
		      struct err *e)
{
	size_t i, at = b, first = b, last = a, local_last = a, local_words = 0, domain_words = 0;
	int want_word = 1, dlit = 0;

	for (i = a; i < b; i++) {
		const struct tok *k = &t->v[i];
		int in_domain = at != b;

		if (k->type == T_COMMENT)
			continue;
		if (first == b)
			first = i;
		last = i;
		if (k->type == T_SPECIAL && k->c == '@') {
			if (in_domain)
				return err_set(e, ERR_DATA, "more than one '@' in an address");
			if (!local_words)
				return err_set(e, ERR_DATA, "an address has an empty local part");
			at = i;
			want_word = 1;
			continue;
		}
		if (k->type == T_SPECIAL && k->c == '.') {
			if (in_domain && (want_word || dlit))
				return err_set(e, ERR_DATA, "a domain with an empty label");
			want_word = 1;
			if (!in_domain)
				local_last = i;
			continue;
		}
		if (k->type == T_SPECIAL)
			return err_set(e, ERR_DATA, "unexpected '%c' in an address", k->c);
		if (!want_word || dlit)
			return err_set(e, ERR_DATA, "words without '.' between them are not an address "
				       "(a name needs <angle brackets> around the address)");
		if (in_domain && k->type == T_QSTR)
			return err_set(e, ERR_DATA, "a quoted string is not a domain");
		if (!in_domain && k->type == T_DLIT)
			return err_set(e, ERR_DATA, "a domain literal is not a local part");
		if (in_domain && k->type == T_DLIT && domain_words)
			return err_set(e, ERR_DATA, "a domain literal must be the whole domain");
		domain_words += in_domain;
		dlit = k->type == T_DLIT;
		want_word = 0;
		if (!in_domain) {
			local_last = i;
			local_words++;
		}
	}
	if (first == b)
		return err_set(e, ERR_DATA, "an empty address");
	if (!local_words)
		return err_set(e, ERR_DATA, "an address has an empty local part");
	if (at != b && want_word)
		return err_set(e, ERR_DATA, "an address has an empty domain or ends with '.'");
	out->spec = join(s, t, first, last + 1, 0);
	if (strlen(out->spec) > ADDR_MAX) {
		free(out->spec);
		out->spec = NULL;
		return err_set(e, ERR_DATA, "an address is longer than %d bytes", ADDR_MAX);
	}
	out->start = t->v[first].start;
	out->end = t->v[last].end;
	out->local_end = t->v[local_last].end;
	out->has_domain = at != b;
	return 0;
}

/* The text of a comment as a display name: without its parentheses and quoting backslashes. */
static char *comment_name(const char *s, const struct tok *c)
{
	struct buf text, out;

	buf_init(&text, BUF_NO_MAX);
	for (size_t j = c->start + 1; j + 1 < c->end; j++) {
		if (s[j] == '\\' && j + 2 < c->end)
			j++;
		if (s[j] != '\r' && s[j] != '\n' && buf_addch(&text, s[j]) < 0)
			buf_broken(__FILE__, __LINE__);
	}
	buf_init(&out, BUF_NO_MAX);
	addr_add_phrase(&out, text.data, text.len);
	buf_free(&text);
	return buf_detach(&out, NULL);
}

/* A mailbox starting at token i, ending before a ',' (or ';' in a group) or the end. */
static int parse_mailbox(const char *s, const struct toks *t, size_t *pi, int in_group,
			 struct addr_list *l, struct err *e)
{
	size_t start = *pi, i = start, end = start, lt = (size_t)-1, gt;
	struct addr a = { 0 };

	for (; end < t->n; end++) {
		if (lt != (size_t)-1) {	/* inside <...> a ',' belongs to a source route */
			if (tok_is(t, end, '>'))
				break;
			continue;
		}
		if (tok_is(t, end, ',') || (in_group && tok_is(t, end, ';')))
			break;
		if (tok_is(t, end, '<'))
			lt = end;
		else if (tok_is(t, end, '>'))
			return err_set(e, ERR_DATA, "'>' without '<'");
	}
	*pi = end;
	if (lt == (size_t)-1) {
		/* a bare address, perhaps with a comment for a name: "root (Cron Daemon)" */
		if (parse_spec(s, t, i, end, &a, e) < 0)
			return -1;
		for (size_t k = i; k < end; k++)
			if (t->v[k].type == T_COMMENT && t->v[k].start >= a.end) {
				a.name = comment_name(s, &t->v[k]);
				break;
			}
		list_add(l, &a);
		return 0;
	}
	if (end >= t->n || !tok_is(t, end, '>'))
		return err_set(e, ERR_DATA, "'<' without '>'");
	gt = end;
	/* after '>' only comments may come before the separator */
	for (end = skip_comments(t, gt + 1); end < t->n; end = skip_comments(t, end + 1))
		if (tok_is(t, end, ',') || (in_group && tok_is(t, end, ';')))
			break;
		else
			return err_set(e, ERR_DATA, "text after '>'");
	*pi = end;
	i = lt + 1;
	if (tok_is(t, skip_comments(t, i), '@')) {	/* obsolete route: <@a,@b:user@c> */
		while (i < gt && !tok_is(t, i, ':'))
			i++;
		if (i == gt)
			return err_set(e, ERR_DATA, "a source route without ':'");
		i++;
	}
	if (skip_comments(t, i) == gt)	/* "<>": the null address, nobody to send to */
		return 0;
	if (parse_spec(s, t, i, gt, &a, e) < 0)
		return -1;
	if (skip_comments(t, start) < lt)
		a.name = join(s, t, start, lt, 1);
	list_add(l, &a);
	return 0;
}

/* One mailbox (in a group or not) onto the list, within ADDR_COUNT_MAX. */
static int add_mailbox(const char *text, const struct toks *t, size_t *i, int in_group,
		       struct addr_list *list, struct err *e)
{
	if (parse_mailbox(text, t, i, in_group, list, e) < 0)
		return -1;
	if (list->n > ADDR_COUNT_MAX)
		return err_set(e, ERR_DATA, "more than %d addresses", ADDR_COUNT_MAX);
	return 0;
}

int addr_parse(const char *text, size_t len, struct addr_list *list, struct err *e)
{
	struct toks t = { 0 };
	size_t i = 0;
	int r = -1;

	if (tokenize(text, len, &t, e) < 0)
		goto out;
	while ((i = skip_comments(&t, i)) < t.n) {
		size_t j;

		if (tok_is(&t, i, ',')) {	/* empty members are obsolete but allowed */
			i++;
			continue;
		}
		/* a group is a phrase then ':' before any '<' or ',' */
		for (j = i; j < t.n && !tok_is(&t, j, ':') && !tok_is(&t, j, '<') &&
			    !tok_is(&t, j, ',') && !tok_is(&t, j, '@');
		     j++)
			;
		if (tok_is(&t, j, ':')) {
			for (i = j + 1; (i = skip_comments(&t, i)) < t.n && !tok_is(&t, i, ';');) {
				if (tok_is(&t, i, ',')) {
					i++;
					continue;
				}
				if (add_mailbox(text, &t, &i, 1, list, e) < 0)
					goto out;
			}
			if (i < t.n)
				i++;	/* the ';'; a missing one at the very end is forgiven */
			continue;
		}
		if (add_mailbox(text, &t, &i, 0, list, e) < 0)
			goto out;
	}
	r = 0;
out:
	free(t.v);
	return r;
}

void addr_list_free(struct addr_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].spec);
		free(l->v[i].name);
	}
	free(l->v);
	memset(l, 0, sizeof *l);
}

void addr_add_phrase(struct buf *b, const char *name, size_t len)
{
	int ascii = 1, plain = 1;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c >= 0x80 || c < 0x20 || c == 0x7f)
			ascii = 0;
		else if (!(c == ' ' || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
			   (c >= 'a' && c <= 'z') || strchr("!#$%&'*+-/=?^_`{|}~", c)))
			plain = 0;
	}
	if (!ascii) {
		/* RFC 2047 encoded words of at most 75 characters: 45 bytes each, never cutting
		 * a UTF-8 sequence */
		for (size_t i = 0; i < len;) {
			size_t k = len - i < 45 ? len - i : 45;

			while (k < len - i && k > 1 && ((unsigned char)name[i + k] & 0xc0) == 0x80)
				k--;
			if ((i && buf_addch(b, ' ') < 0) || buf_addstr(b, "=?UTF-8?B?") < 0 ||
			    buf_add_base64(b, name + i, k) < 0 || buf_addstr(b, "?=") < 0)
				buf_broken(__FILE__, __LINE__);
			i += k;
		}
		return;
	}
	if (plain) {
		if (buf_add(b, name, len) < 0)
			buf_broken(__FILE__, __LINE__);
		return;
	}
	if (buf_addch(b, '"') < 0)
		buf_broken(__FILE__, __LINE__);
	for (size_t i = 0; i < len; i++)
		if (((name[i] == '"' || name[i] == '\\') && buf_addch(b, '\\') < 0) ||
		    buf_addch(b, name[i]) < 0)
			buf_broken(__FILE__, __LINE__);
	if (buf_addch(b, '"') < 0)
		buf_broken(__FILE__, __LINE__);
}
