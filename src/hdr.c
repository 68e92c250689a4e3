/* hdr: header section parser; push lines, pull whole fields. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hdr.h"

void hdr_init(struct hdr *h)
{
	memset(h, 0, sizeof *h);
	buf_init(&h->cur, HDR_FIELD_MAX);
	buf_init(&h->out, HDR_FIELD_MAX);
	buf_init(&h->body, BUF_NO_MAX);	/* a line that msg capped already */
}

void hdr_free(struct hdr *h)
{
	buf_free(&h->cur);
	buf_free(&h->out);
	buf_free(&h->body);
}

size_t hdr_name_len(const char *line, size_t len)
{
	size_t i = 0, name;

	while (i < len && line[i] > ' ' && line[i] < 127 && line[i] != ':')
		i++;
	name = i;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	return name && i < len && line[i] == ':' ? name : 0;
}

/* The collected field, if any, becomes the one to pull. */
static void hdr_complete(struct hdr *h)
{
	struct buf t;

	if (!h->cur.len)
		return;
	t = h->out;
	h->out = h->cur;
	h->cur = t;
	buf_reset(&h->cur);
	h->out_name = h->cur_name;
	h->have_out = 1;
}

static void hdr_end(struct hdr *h, const char *body, size_t len)
{
	hdr_complete(h);
	h->done = 1;
	h->have_end = 1;
	h->blank = body == NULL;
	if (body && buf_add(&h->body, body, len) < 0)
		buf_broken(__FILE__, __LINE__);
}

int hdr_push(struct hdr *h, const char *line, size_t len, struct err *e)
{
	size_t name;

	if (h->done)
		return 0;
	if (len == 0) {
		hdr_end(h, NULL, 0);
		return 0;
	}
	if (line[0] == ' ' || line[0] == '\t') {
		if (!h->cur.len) {	/* nothing to continue: this is body text */
			hdr_end(h, line, len);
			return 0;
		}
		if (buf_add(&h->cur, "\r\n", 2) < 0 || buf_add(&h->cur, line, len) < 0)
			return err_set(e, ERR_DATA, "a header field is longer than %d bytes",
				       HDR_FIELD_MAX);
		return 0;
	}
	name = hdr_name_len(line, len);
	if (!name) {
		hdr_end(h, line, len);
		return 0;
	}
	hdr_complete(h);
	if (buf_add(&h->cur, line, len) < 0)
		return err_set(e, ERR_DATA, "a header field is longer than %d bytes", HDR_FIELD_MAX);
	h->cur_name = name;
	return 0;
}

void hdr_eof(struct hdr *h)
{
	if (!h->done) {
		hdr_complete(h);
		h->done = 1;
		h->have_end = 1;
		h->blank = 0;
	}
}

enum hdr_event hdr_next(struct hdr *h, struct hdr_ev *ev)
{
	memset(ev, 0, sizeof *ev);
	if (h->have_out) {
		h->have_out = 0;
		ev->type = HDR_FIELD;
		ev->name = h->out.data;
		ev->name_len = h->out_name;
		ev->field = h->out.data;
		ev->len = h->out.len;
		return HDR_FIELD;
	}
	if (h->have_end) {
		h->have_end = 0;
		ev->type = HDR_END;
		ev->blank = h->blank;
		if (h->body.len) {
			ev->body = h->body.data;
			ev->body_len = h->body.len;
		}
		return HDR_END;
	}
	return HDR_NONE;
}

int hdr_is(const struct hdr_ev *ev, const char *name)
{
	return ev->name_len == strlen(name) && strncasecmp(ev->name, name, ev->name_len) == 0;
}

int hdr_fields_add(struct hdr_fields *f, const struct hdr_ev *ev, unsigned long line)
{
	struct hdr_field *x;

	if (ev->len > HDR_SECTION_MAX - f->bytes)
		return -1;
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 16;
		f->v = xrealloc(f->v, f->cap * sizeof *f->v);
	}
	x = &f->v[f->n++];
	x->text = xmalloc(ev->len + 1);
	memcpy(x->text, ev->field, ev->len);
	x->text[ev->len] = '\0';
	x->len = ev->len;
	x->name_len = ev->name_len;
	x->line = line;
	f->bytes += ev->len;
	return 0;
}

void hdr_fields_free(struct hdr_fields *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i].text);
	free(f->v);
	memset(f, 0, sizeof *f);
}

const char *hdr_field_value(const struct hdr_field *f, size_t *len)
{
	const char *colon = memchr(f->text + f->name_len, ':', f->len - f->name_len);

	*len = f->len - (size_t)(colon + 1 - f->text);
	return colon + 1;
}

int hdr_field_is(const struct hdr_field *f, const char *name)
{
	return f->name_len == strlen(name) && strncasecmp(f->text, name, f->name_len) == 0;
}
