/* reply: SMTP reply and EHLO capability parser; pure, capped. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reply.h"

void reply_init(struct reply *r)
{
	r->code = 0;
	r->lines = 0;
	buf_init(&r->text, REPLY_BYTES_MAX);
}

void reply_free(struct reply *r)
{
	buf_free(&r->text);
	r->code = 0;
	r->lines = 0;
}

void reply_reset(struct reply *r)
{
	buf_reset(&r->text);
	r->code = 0;
	r->lines = 0;
}

int reply_push(struct reply *r, const char *line, size_t len, struct err *e)
{
	int code;

	if (len > REPLY_LINE_MAX)
		return err_set(e, ERR_PROTOCOL, "reply line longer than %d bytes", REPLY_LINE_MAX);
	if (len < 3 || line[0] < '2' || line[0] > '5' || !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]) || (len > 3 && line[3] != ' ' && line[3] != '-'))
		return err_set(e, ERR_PROTOCOL, "reply line does not start with a code 200-599");
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (r->lines && code != r->code)
		return err_set(e, ERR_PROTOCOL, "reply code changed from %d to %d within one reply",
			       r->code, code);
	if (++r->lines > REPLY_LINES_MAX)
		return err_set(e, ERR_PROTOCOL, "reply has more than %d lines", REPLY_LINES_MAX);
	r->code = code;
	if ((r->lines > 1 && buf_addch(&r->text, '\n') < 0) ||
	    (len > 4 && buf_add(&r->text, line + 4, len - 4) < 0))
		return err_set(e, ERR_PROTOCOL, "reply longer than %d bytes", REPLY_BYTES_MAX);
	return len > 3 && line[3] == '-' ? 0 : 1;
}

void reply_summary(const struct reply *r, char *out, size_t size)
{
	size_t used, i;

	if (!size)
		return;
	snprintf(out, size, "%d", r->code);
	used = strlen(out);
	for (i = 0; i < r->text.len && used + 1 < size;) {
		const char *nl = memchr(r->text.data + i, '\n', r->text.len - i);
		size_t n = nl ? (size_t)(nl - (r->text.data + i)) : r->text.len - i;

		out[used++] = ' ';
		out[used] = '\0';
		buf_clean_str(out + used, size - used, r->text.data + i, n);
		used += strlen(out + used);
		i += n + 1;
	}
}

/* Keyword of one EHLO line, compared without regard to case. */
static int ehlo_is(const char *p, size_t n, const char *kw)
{
	size_t k = strlen(kw);

	return n >= k && strncasecmp(p, kw, k) == 0 && (n == k || p[k] == ' ' || p[k] == '=');
}

static void ehlo_add_mechs(struct ehlo *c, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t start, k, have;

		while (i < n && (p[i] == ' ' || p[i] == '='))
			i++;
		start = i;
		while (i < n && p[i] != ' ')
			i++;
		k = i - start;
		have = strlen(c->mechs);
		if (!k || have + k + 2 > sizeof c->mechs)
			continue;
		if (have)
			c->mechs[have++] = ' ';
		for (size_t j = 0; j < k; j++) {
			unsigned char ch = (unsigned char)p[start + j];
			/* mechanism names are [A-Z0-9-_]; anything else is dropped */
			c->mechs[have + j] = isalnum(ch) || ch == '-' || ch == '_' ? (char)toupper(ch) : '_';
		}
		c->mechs[have + k] = '\0';
	}
}

/* One LIMITS value: 1 to 9 digits and nothing else, capped at EHLO_LIMIT_MAX; 0 when it is not
 * such a number (RFC 9422 values are positive integers). */
static unsigned ehlo_limit_value(const char *p, size_t n)
{
	unsigned long v = 0;

	if (!n || n > 9)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return 0;
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	return v > EHLO_LIMIT_MAX ? EHLO_LIMIT_MAX : (unsigned)v;
}

/* "LIMITS RCPTMAX=50 MAILMAX=10 RCPTDOMAINMAX=5": names in any case, blank-separated. */
static void ehlo_limits(struct ehlo *c, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t start, eq = 0;

		while (i < n && p[i] == ' ')
			i++;
		start = i;
		while (i < n && p[i] != ' ') {
			if (p[i] == '=' && !eq)
				eq = i;
			i++;
		}
		if (!eq)
			continue;
		if (eq - start == 7 && strncasecmp(p + start, "RCPTMAX", 7) == 0)
			c->rcptmax = ehlo_limit_value(p + eq + 1, i - eq - 1);
		else if (eq - start == 7 && strncasecmp(p + start, "MAILMAX", 7) == 0)
			c->mailmax = ehlo_limit_value(p + eq + 1, i - eq - 1);
	}
}

void ehlo_parse(const struct reply *r, struct ehlo *c)
{
	const char *s = r->text.data;
	size_t len = r->text.len, i = 0;
	int first = 1;

	memset(c, 0, sizeof *c);
	while (i <= len) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (s + i)) : len - i;
		const char *p = s + i;

		i += n + 1;
		if (first) {	/* the first line is the server's name and greeting */
			first = 0;
			continue;
		}
		if (ehlo_is(p, n, "PIPELINING"))
			c->flags |= EHLO_PIPELINING;
		else if (ehlo_is(p, n, "STARTTLS"))
			c->flags |= EHLO_STARTTLS;
		else if (ehlo_is(p, n, "8BITMIME"))
			c->flags |= EHLO_8BITMIME;
		else if (ehlo_is(p, n, "SMTPUTF8"))
			c->flags |= EHLO_SMTPUTF8;
		else if (ehlo_is(p, n, "DSN"))
			c->flags |= EHLO_DSN;
		else if (ehlo_is(p, n, "CHUNKING"))
			c->flags |= EHLO_CHUNKING;
		else if (ehlo_is(p, n, "ENHANCEDSTATUSCODES"))
			c->flags |= EHLO_ENHANCEDSTATUSCODES;
		else if (ehlo_is(p, n, "LIMITS")) {
			c->flags |= EHLO_LIMITS;
			ehlo_limits(c, p + 6, n - 6);
		} else if (ehlo_is(p, n, "SIZE")) {
			char num[24];
			size_t k = n > 5 ? n - 5 : 0;

			c->flags |= EHLO_SIZE;
			c->size = 0;
			if (k && k < sizeof num) {
				char *end;

				memcpy(num, p + 5, k);
				num[k] = '\0';
				c->size = strtoull(num, &end, 10);
				if (*end || num[0] == '-')
					c->size = 0;
			}
		} else if (ehlo_is(p, n, "AUTH")) {
			c->flags |= EHLO_AUTH;
			if (n > 5)
				ehlo_add_mechs(c, p + 5, n - 5);
		}
	}
}
