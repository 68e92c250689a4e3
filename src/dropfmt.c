/* dropfmt: the request text of a dropped message; see dropfmt.h for the format. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dropfmt.h"

enum dropfmt_kind { DK_STR, DK_FLAG, DK_RCPT };

static const struct dropfmt_key {
	const char *name;
	enum dropfmt_kind kind;
	size_t off;		/* of the const char * or int in struct request */
} dropfmt_keys[] = {
	{ "account", DK_STR, offsetof(struct request, account) },
	{ "from", DK_STR, offsetof(struct request, from) },
	{ "full-name", DK_STR, offsetof(struct request, full_name) },
	{ "extract", DK_FLAG, offsetof(struct request, extract) },
	{ "read-envelope-from", DK_FLAG, offsetof(struct request, read_envelope_from) },
	{ "8bit", DK_FLAG, offsetof(struct request, body_8bit) },
	{ "smtputf8", DK_FLAG, offsetof(struct request, smtputf8) },
	{ "dsn-notify", DK_STR, offsetof(struct request, dsn_notify) },
	{ "dsn-ret", DK_STR, offsetof(struct request, dsn_ret) },
	{ "dsn-envid", DK_STR, offsetof(struct request, dsn_envid) },
	{ "rcpt", DK_RCPT, 0 },
};
#define DROPFMT_NKEYS (sizeof dropfmt_keys / sizeof dropfmt_keys[0])

/* One line's worth: no control bytes (so no line break), within the cap. */
static int dropfmt_value_ok(const char *v, size_t n)
{
	if (n > DROP_VALUE_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return 0;
	return 1;
}

/* What the smarthost will see of the DSN keywords: the same few words the command line takes. */
static int dropfmt_dsn_ok(const char *key, const char *v)
{
	if (strcmp(key, "dsn-ret") == 0)
		return strcmp(v, "FULL") == 0 || strcmp(v, "HDRS") == 0;
	if (strcmp(key, "dsn-notify") == 0)
		return *v && strlen(v) <= 64 &&
		       strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ,") == strlen(v);
	return 1;
}

static int dropfmt_line(struct buf *out, const char *key, const char *v, struct err *e)
{
	if (!dropfmt_value_ok(v, strlen(v)) || !dropfmt_dsn_ok(key, v))
		return err_set(e, ERR_DATA, "cannot hand over the %s '%.80s': a line break, a "
			       "control character, or too long", key, v);
	if (buf_printf(out, "%s: %s\n", key, v) < 0)
		return err_set(e, ERR_DATA, "the options and recipients are over the %d bytes a "
			       "local user may drop", DROP_REQUEST_MAX);
	return 0;
}

int dropfmt_request(const struct request *rq, struct buf *out, struct err *e)
{
	if (rq->nrcpts > DROP_ARGS_MAX)
		return err_set(e, ERR_DATA, "more than %d recipient arguments", DROP_ARGS_MAX);
	if (buf_printf(out, "%s\n", DROPFMT_VERSION) < 0)
		return err_set(e, ERR_DATA, "no room for the request");
	for (size_t k = 0; k < DROPFMT_NKEYS; k++) {
		const struct dropfmt_key *dk = &dropfmt_keys[k];
		const char *base = (const char *)rq + dk->off;

		if (dk->kind == DK_STR && *(const char *const *)(const void *)base &&
		    dropfmt_line(out, dk->name, *(const char *const *)(const void *)base, e) < 0)
			return -1;
		if (dk->kind == DK_FLAG && *(const int *)(const void *)base &&
		    dropfmt_line(out, dk->name, "1", e) < 0)
			return -1;
		for (size_t i = 0; dk->kind == DK_RCPT && i < rq->nrcpts; i++)
			if (dropfmt_line(out, dk->name, rq->rcpts[i], e) < 0)
				return -1;
	}
	if (buf_addch(out, '\n') < 0)
		return err_set(e, ERR_DATA, "the options and recipients are over the %d bytes a "
			       "local user may drop", DROP_REQUEST_MAX);
	return 0;
}

int dropfmt_stamp(struct buf *out, uid_t uid, const char *user, time_t t)
{
	if (!dropfmt_value_ok(user, strlen(user)))
		user = "?";
	return buf_printf(out, "uid: %lu\nuser: %s\ntime: %lld\n", (unsigned long)uid, user,
			  (long long)t);
}

/* A decimal number of up to 18 digits, nothing else. */
static int dropfmt_number(const char *v, long long *out)
{
	size_t n = strspn(v, "0123456789");

	if (!n || n > 18 || v[n])
		return -1;
	*out = strtoll(v, NULL, 10);
	return 0;
}

/* The stamp's three lines, in order, at the start of the settings. */
static int dropfmt_parse_stamp(char **line, struct dropfmt *d, struct err *e)
{
	static const char *const keys[] = { "uid: ", "user: ", "time: " };

	for (size_t i = 0; i < 3; i++) {
		char *l = line[i];

		if (!l || strncmp(l, keys[i], strlen(keys[i])))
			return err_set(e, ERR_DATA, "a dropped file without its uid, user and time");
		l += strlen(keys[i]);
		if ((i == 0 && dropfmt_number(l, &d->uid) < 0) ||
		    (i == 2 && dropfmt_number(l, &d->time) < 0))
			return err_set(e, ERR_DATA, "a bad %.4s line in a dropped file", keys[i]);
		if (i == 1)
			d->user = l;
	}
	return 0;
}

/* One "key: value" setting (l is NUL-terminated, its line break gone). */
static int dropfmt_setting(char *l, struct dropfmt *d, size_t *nrcpts, unsigned *seen,
			   struct err *e)
{
	char *colon = strstr(l, ": ");

	if (!colon)
		return err_set(e, ERR_DATA, "a request line without \"key: value\"");
	*colon = '\0';
	for (size_t k = 0; k < DROPFMT_NKEYS; k++) {
		const struct dropfmt_key *dk = &dropfmt_keys[k];
		char *v = colon + 2;

		if (strcmp(l, dk->name))
			continue;
		if (!dropfmt_value_ok(v, strlen(v)) || !dropfmt_dsn_ok(l, v))
			return err_set(e, ERR_DATA, "a bad value for %s in the request", l);
		if (dk->kind != DK_RCPT && (*seen & (1u << k)))
			return err_set(e, ERR_DATA, "%s twice in the request", l);
		*seen |= 1u << k;
		if (dk->kind == DK_RCPT) {
			if (*nrcpts == DROP_ARGS_MAX)
				return err_set(e, ERR_DATA, "more than %d recipient arguments",
					       DROP_ARGS_MAX);
			d->rq.rcpts[(*nrcpts)++] = v;
		} else if (dk->kind == DK_FLAG) {
			if (strcmp(v, "1"))
				return err_set(e, ERR_DATA, "%s takes 1 in the request", l);
			*(int *)(void *)((char *)&d->rq + dk->off) = 1;
		} else {
			*(const char **)(void *)((char *)&d->rq + dk->off) = v;
		}
		return 0;
	}
	return err_set(e, ERR_DATA, "an unknown key '%.40s' in the request", l);
}

/* The lines of text (NUL-terminated, line breaks replaced by NULs), the last one empty. */
static int dropfmt_lines(struct dropfmt *d, size_t size, int stamped, struct err *e)
{
	char *lines[4] = { 0 }, *p = d->text, *end = d->text + size;
	size_t nrcpts = 0, nl = 0;
	unsigned seen = 0;

	if (strcmp(p, DROPFMT_VERSION))
		return err_set(e, ERR_DATA, "not a request of this version of postbote");
	p += strlen(p) + 1;
	for (char *q = p; q < end && nl < 3; q += strlen(q) + 1)
		lines[nl++] = q;
	if (stamped) {
		if (dropfmt_parse_stamp(lines, d, e) < 0)
			return -1;
		for (int i = 0; i < 3; i++)
			p += strlen(p) + 1;
	}
	for (char *next; p < end && *p; p = next) {
		next = p + strlen(p) + 1;	/* before the setting cuts the line at its colon */
		if (!stamped && (!strncmp(p, "uid: ", 5) || !strncmp(p, "user: ", 6) ||
				 !strncmp(p, "time: ", 6)))
			return err_set(e, ERR_DATA, "the request names its own uid, user or time");
		if (dropfmt_setting(p, d, &nrcpts, &seen, e) < 0)
			return -1;
	}
	d->rq.nrcpts = nrcpts;
	return 0;
}

int dropfmt_parse(const char *p, size_t len, int stamped, struct dropfmt *d, struct err *e)
{
	size_t room = len < DROP_REQUEST_MAX ? len : DROP_REQUEST_MAX, size = 0;

	for (size_t i = 0; i + 1 < room; i++)
		if (p[i] == '\n' && p[i + 1] == '\n') {
			size = i + 2;
			break;
		}
	if (!size) {
		if (len >= DROP_REQUEST_MAX)
			return err_set(e, ERR_DATA, "the request is over %d bytes",
				       DROP_REQUEST_MAX);
		return 1;
	}
	if (memchr(p, '\0', size))
		return err_set(e, ERR_DATA, "a NUL byte in the request");
	memset(d, 0, sizeof *d);
	d->len = size;
	d->text = malloc(size);
	d->rq.rcpts = malloc(sizeof *d->rq.rcpts * (size / 7 + 1));	/* a line is >= 7 bytes */
	if (!d->text || !d->rq.rcpts)
		err_oom();
	memcpy(d->text, p, size);
	for (size_t i = 0; i < size; i++)
		if (d->text[i] == '\n')
			d->text[i] = '\0';
	if (dropfmt_lines(d, size, stamped, e) < 0) {
		dropfmt_free(d);
		return -1;
	}
	return 0;
}

void dropfmt_free(struct dropfmt *d)
{
	free(d->text);
	free(d->rq.rcpts);
	memset(d, 0, sizeof *d);
}

void dropfmt_trailer(long long size, char *out)
{
	snprintf(out, DROPFMT_TRAILER_MAX, "postbote-drop-end %lld\n", size);
}

long long dropfmt_parse_trailer(const char *tail, size_t n, size_t *len)
{
	static const char word[] = "postbote-drop-end ";
	size_t start;
	long long size;
	char num[24];

	if (n < sizeof word || tail[n - 1] != '\n')
		return -1;
	start = n - 1;
	while (start > 0 && tail[start - 1] != '\n')
		start--;
	if (start == 0 && n >= DROPFMT_TRAILER_MAX)
		return -1;	/* no line break before it within reach */
	if (n - 1 - start <= sizeof word - 1 || n - 1 - start - (sizeof word - 1) >= sizeof num ||
	    memcmp(tail + start, word, sizeof word - 1))
		return -1;
	memcpy(num, tail + start + sizeof word - 1, n - 1 - start - (sizeof word - 1));
	num[n - 1 - start - (sizeof word - 1)] = '\0';
	if (dropfmt_number(num, &size) < 0)
		return -1;
	*len = n - start;
	return size;
}
