/* rcpt: recipients from argv and headers, aliases, qualification, dedupe. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <idn2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "rcpt.h"
#include "caps.h"

/* The case-insensitive hash of an address, with the same tolower() as strcasecmp, so two
 * addresses that compare equal always land in the same chain. FNV-1a. */
static size_t rcpt_hash(const char *s)
{
	size_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		h = (h ^ (size_t)tolower(*p)) * 16777619u;
	return h;
}

/* Where addr is in the set, or the empty slot where it would go. nslot is a power of two and
 * never more than half full, so the probe ends. */
static size_t rcpt_probe(const struct rcpt_list *l, const char *addr)
{
	size_t i = rcpt_hash(addr) & (l->nslot - 1);

	while (l->slot[i] && strcasecmp(l->v[l->slot[i] - 1], addr) != 0)
		i = (i + 1) & (l->nslot - 1);
	return i;
}

static void rcpt_rehash(struct rcpt_list *l)
{
	free(l->slot);
	l->nslot = l->nslot ? l->nslot * 2 : 64;
	l->slot = xmalloc(l->nslot * sizeof *l->slot);
	memset(l->slot, 0, l->nslot * sizeof *l->slot);
	for (size_t k = 0; k < l->n; k++)
		l->slot[rcpt_probe(l, l->v[k])] = k + 1;
}

int rcpt_add(struct rcpt_list *l, const char *addr, struct err *e)
{
	size_t i;

	if (2 * (l->n + 1) > l->nslot)
		rcpt_rehash(l);
	i = rcpt_probe(l, addr);
	if (l->slot[i])
		return 0;	/* there already: the first spelling stays */
	if (l->n >= RCPT_MAX)
		return err_set(e, ERR_DATA, "too many recipients: more than %d", RCPT_MAX);
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xrealloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n++] = xstrdup(addr);
	l->slot[i] = l->n;
	return 0;
}

int rcpt_add_arg(struct rcpt_list *l, const char *arg, struct err *e)
{
	struct addr_list al = { 0 };
	int r = 0;

	if (!arg[strspn(arg, " \t")]) {
		/* some callers build the command line from a variable that may be empty */
		log_warn("ignoring an empty recipient argument");
		return 0;
	}
	if (addr_parse(arg, strlen(arg), &al, e) < 0) {
		addr_list_free(&al);
		e->kind = ERR_USAGE;
		return err_wrap(e, "invalid recipient '%s'", arg);
	}
	if (al.n == 0) {
		addr_list_free(&al);
		return err_set(e, ERR_USAGE, "invalid recipient '%s': no address in it", arg);
	}
	for (size_t i = 0; i < al.n && r == 0; i++)
		r = rcpt_add(l, al.v[i].spec, e);
	addr_list_free(&al);
	return r;
}

void rcpt_free(struct rcpt_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	free(l->slot);
	memset(l, 0, sizeof *l);
}

int rcpt_is_local(const char *addr)
{
	int quoted = 0;

	for (const char *p = addr; *p; p++) {
		if (*p == '\\' && quoted && p[1])
			p++;
		else if (*p == '"')
			quoted = !quoted;
		else if (*p == '@' && !quoted)
			return 0;
	}
	return 1;
}

/* ---- aliases ---- */

struct alias {
	char *name;
	char *value;	/* the raw address list */
	const char *file;
	int line;
};

struct rcpt_aliases {
	struct alias *v;
	size_t n, cap;
	char *file;	/* the name in messages; each alias points here */
	int quiet;	/* warned about this version of the file before: say nothing */
	size_t local;	/* the entries for a local delivery agent (each warned of unless quiet) */
};

void rcpt_aliases_free(struct rcpt_aliases *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++) {
		free(a->v[i].name);
		free(a->v[i].value);
	}
	free(a->v);
	free(a->file);
	free(a);
}

/* The value without "|program", "/file" and ":include:" entries, which only a local delivery
 * agent can act on; each is counted, and named in a warning unless a->quiet. */
static void aliases_filter(struct rcpt_aliases *a, const char *name, struct buf *value, int line)
{
	struct buf out;
	const char *p = value->data;

	buf_init(&out, value->max);
	while (*p) {
		size_t n = 0;
		int quoted = 0;
		const char *item;

		while (p[n] && (quoted || p[n] != ',')) {
			if (p[n] == '"')
				quoted = !quoted;
			else if (p[n] == '\\' && p[n + 1])
				n++;
			n++;
		}
		item = p + strspn(p, " \t");
		if (*item == '|' || *item == '/' || strncmp(item, ":include:", 9) == 0 ||
		    strncmp(item, "\"|", 2) == 0) {
			if (!a->quiet)
				log_warn("%s:%d: alias '%s': %.*s is for a local delivery agent; "
					 "postbote ignores it", a->file, line, name,
					 (int)(n - (size_t)(item - p)), item);
			a->local++;
		} else if ((out.len && buf_addch(&out, ',') < 0) || buf_add(&out, p, n) < 0)
			break;
		p += n + (p[n] == ',');
	}
	buf_reset(value);
	if (buf_add(value, out.data, out.len) < 0)
		buf_broken(__FILE__, __LINE__);
	buf_free(&out);
}

static void aliases_add(struct rcpt_aliases *a, const char *name, size_t nlen, struct buf *value,
			int line)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 32;
		a->v = xrealloc(a->v, a->cap * sizeof *a->v);
	}
	a->v[a->n].name = xmalloc(nlen + 1);
	memcpy(a->v[a->n].name, name, nlen);
	a->v[a->n].name[nlen] = '\0';
	aliases_filter(a, a->v[a->n].name, value, line);
	a->v[a->n].value = xstrdup(value->data);
	a->v[a->n].file = a->file;
	a->v[a->n].line = line;
	a->n++;
}

/* The parser's state between lines: the alias being read (continuation lines add to it). */
struct aliases_state {
	char name[256];
	size_t nlen;	/* 0: no alias under way */
	int start;	/* its first line */
	struct buf value;
};

/* One line (its text up to the first CR, LF or NUL, which is what a line of the file has
 * always meant here). */
static int aliases_line(struct rcpt_aliases *a, struct aliases_state *st, const char *line,
			size_t len, int lineno, struct err *e)
{
	const char *colon;

	if (len && line[0] == '#')
		return 0;
	if (len && (line[0] == ' ' || line[0] == '\t')) {
		size_t skip = 0;

		while (skip < len && (line[skip] == ' ' || line[skip] == '\t'))
			skip++;
		if (skip == len)
			return 0;
		if (!st->nlen)
			return err_set(e, ERR_CONFIG, "%s:%d: continuation line without an alias",
				       a->file, lineno);
		if (buf_addch(&st->value, ' ') < 0 || buf_add(&st->value, line + skip, len - skip) < 0)
			return err_set(e, ERR_CONFIG, "%s:%d: alias too long", a->file, lineno);
		return 0;
	}
	if (st->nlen)
		aliases_add(a, st->name, st->nlen, &st->value, st->start);
	st->nlen = 0;
	buf_reset(&st->value);
	if (!len)
		return 0;
	colon = memchr(line, ':', len);
	if (!colon || colon == line || (size_t)(colon - line) >= sizeof st->name)
		return err_set(e, ERR_CONFIG, "%s:%d: expected 'name: address, ...'", a->file,
			       lineno);
	st->nlen = (size_t)(colon - line);
	while (st->nlen && (line[st->nlen - 1] == ' ' || line[st->nlen - 1] == '\t'))
		st->nlen--;
	memcpy(st->name, line, st->nlen);
	st->start = lineno;
	if (buf_add(&st->value, colon + 1, len - (size_t)(colon + 1 - line)) < 0)
		return err_set(e, ERR_CONFIG, "%s:%d: alias too long", a->file, lineno);
	return 0;
}

static int aliases_parse(const char *name, const char *text, size_t len, int quiet,
			 struct rcpt_aliases **out, struct err *e)
{
	struct rcpt_aliases *a = xmalloc(sizeof *a);
	struct aliases_state st = { .nlen = 0 };
	const char *p = text, *end = text + len;
	int lineno = 0, r = 0;

	memset(a, 0, sizeof *a);
	a->file = xstrdup(name);
	a->quiet = quiet;
	buf_init(&st.value, 1 << 20);
	while (p < end && r == 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p), k = 0;

		while (k < n && p[k] != '\r' && p[k] != '\0')
			k++;
		r = aliases_line(a, &st, p, k, ++lineno, e);
		p += n + (nl != NULL);
	}
	if (!r && st.nlen)
		aliases_add(a, st.name, st.nlen, &st.value, st.start);
	buf_free(&st.value);
	if (r < 0) {
		rcpt_aliases_free(a);
		*out = NULL;
		return -1;
	}
	*out = a;
	return 0;
}

int rcpt_aliases_parse(const char *name, const char *text, size_t len,
		       struct rcpt_aliases **out, struct err *e)
{
	return aliases_parse(name, text, len, 0, out, e);
}

/* ---- warning once per version of an aliases file ----
 * A cron job that mails every minute would repeat the warnings about an MTA's aliases file in
 * every mail it gets. So dir/aliases-warned.HASH (HASH of the file's name) holds the version
 * that was warned about, as its device, inode, size and modification time; the warnings come
 * again when the file changes. The stamp is a hint, not data: a lost or unwritable one only
 * means one more warning, so it is written without fsync. */

static void aliases_stamp_path(const char *dir, const char *file, char *out, size_t size)
{
	unsigned long long h = 14695981039346656037ULL;	/* FNV-1a, 64 bits */

	for (const unsigned char *p = (const unsigned char *)file; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	snprintf(out, size, "%s/aliases-warned.%016llx", dir, h);
}

static void aliases_version(const struct stat *st, const char *file, char *out, size_t size)
{
	snprintf(out, size, "%llu %llu %lld %lld.%09ld %s\n", (unsigned long long)st->st_dev,
		 (unsigned long long)st->st_ino, (long long)st->st_size,
		 (long long)st->st_mtim.tv_sec, (long)st->st_mtim.tv_nsec, file);
}

static int aliases_warned(const char *stamp, const char *version)
{
	char got[4200];
	int fd = open(stamp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, got, sizeof got - 1);
	close(fd);
	return n > 0 && (size_t)n == strlen(version) && memcmp(got, version, (size_t)n) == 0;
}

static void aliases_mark(const char *stamp, const char *version)
{
	char tmp[4300];
	int fd, ok;

	snprintf(tmp, sizeof tmp, "%s.%ld", stamp, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	ok = write(fd, version, strlen(version)) == (ssize_t)strlen(version);
	if (close(fd) < 0 || !ok || rename(tmp, stamp) < 0)
		unlink(tmp);
}

/* The whole file in memory, then aliases_parse; with stamp_dir, quiet about a version of the
 * file that was warned about before. */
static int aliases_read(const char *file, const char *stamp_dir, struct rcpt_aliases **out,
			struct err *e)
{
	struct buf text;
	char chunk[65536], stamp[4200], version[4200];
	struct stat st;
	ssize_t n;
	int fd = open(file, O_RDONLY | O_CLOEXEC), r, quiet = 0;

	if (fd < 0)
		return err_set(e, ERR_CONFIG, "cannot read aliases file %s: %s", file,
			       strerror(errno));
	if (stamp_dir && fstat(fd, &st) == 0) {
		aliases_stamp_path(stamp_dir, file, stamp, sizeof stamp);
		aliases_version(&st, file, version, sizeof version);
		quiet = aliases_warned(stamp, version);
	} else {
		stamp_dir = NULL;
	}
	buf_init(&text, RCPT_ALIASES_FILE_MAX);
	while ((n = read(fd, chunk, sizeof chunk)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || buf_add(&text, chunk, (size_t)n) < 0) {
			r = n < 0 ? err_set(e, ERR_CONFIG, "cannot read aliases file %s: %s", file,
					    strerror(errno))
				  : err_set(e, ERR_CONFIG, "aliases file %s is larger than %u MiB",
					    file, RCPT_ALIASES_FILE_MAX >> 20);
			close(fd);
			buf_free(&text);
			return r;
		}
	}
	close(fd);
	r = aliases_parse(file, text.data, text.len, quiet, out, e);
	buf_free(&text);
	if (r == 0 && stamp_dir && !quiet && (*out)->local)
		aliases_mark(stamp, version);
	return r;
}

static const struct alias *aliases_find(const struct rcpt_aliases *a, const char *name)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcasecmp(a->v[i].name, name) == 0)
			return &a->v[i];
	return NULL;
}

/* Names met while expanding: each alias is expanded once, so fan-out through loops stays
 * linear; a name met again while its own expansion is under way closes a loop and stays as a
 * recipient itself, as "root: root" does. */
struct alias_seen {
	char **names;
	int *done;
	size_t n;
};

static int seen_find(const struct alias_seen *v, const char *name)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcasecmp(v->names[i], name) == 0)
			return (int)i;
	return -1;
}

static int expand_one(const struct rcpt_aliases *a, const char *addr, int depth, int use_default,
		      struct alias_seen *seen, struct rcpt_list *out, struct err *e)
{
	const struct alias *al;
	struct addr_list list = { 0 };
	int r = 0, k;

	if (!rcpt_is_local(addr) || !a->n)
		return rcpt_add(out, addr, e);
	al = aliases_find(a, addr);
	if (!al && use_default)
		al = aliases_find(a, "default");
	if (!al)
		return rcpt_add(out, addr, e);
	k = seen_find(seen, al->name);
	if (k >= 0)	/* expanded before: its recipients are in out already */
		return seen->done[k] ? 0 : rcpt_add(out, addr, e);	/* or the loop closes here */
	if (depth >= RCPT_ALIAS_DEPTH)	/* a chain this deep is a mistake: stop here */
		return rcpt_add(out, addr, e);
	seen->names = xrealloc(seen->names, (seen->n + 1) * sizeof *seen->names);
	seen->done = xrealloc(seen->done, (seen->n + 1) * sizeof *seen->done);
	seen->names[seen->n] = al->name;
	seen->done[seen->n] = 0;
	k = (int)seen->n++;
	if (addr_parse(al->value, strlen(al->value), &list, e) < 0) {
		addr_list_free(&list);
		e->kind = ERR_CONFIG;
		return err_wrap(e, "%s:%d: alias '%s'", al->file, al->line, al->name);
	}
	if (!list.n)	/* only program, file or include entries: the name stays a recipient */
		r = rcpt_add(out, addr, e);
	for (size_t i = 0; i < list.n && r == 0; i++) {
		if (strcasecmp(list.v[i].spec, addr) == 0)
			r = rcpt_add(out, addr, e);	/* "root: root, admin@x" keeps root */
		else
			r = expand_one(a, list.v[i].spec, depth + 1, 0, seen, out, e);
	}
	seen->done[k] = 1;
	addr_list_free(&list);
	return r;
}

/* Local names of in qualified with maildomain into out. */
static int rcpt_qualify(const struct rcpt_list *in, const char *maildomain,
			struct rcpt_list *out, struct err *e)
{
	struct buf b;
	int r = 0;

	buf_init(&b, 2048);
	for (size_t i = 0; i < in->n && r == 0; i++) {
		if (!rcpt_is_local(in->v[i])) {
			r = rcpt_add(out, in->v[i], e);
			continue;
		}
		buf_reset(&b);
		if (buf_printf(&b, "%s@%s", in->v[i], maildomain) < 0)
			buf_broken(__FILE__, __LINE__);
		r = rcpt_add(out, b.data, e);
	}
	buf_free(&b);
	return r;
}

int rcpt_expand_aliases(struct rcpt_list *l, const struct rcpt_aliases *a,
			const char *maildomain, struct err *e)
{
	static const struct rcpt_aliases none;
	struct rcpt_list out = { 0 }, q = { 0 };
	struct alias_seen seen = { 0 };
	int r = 0;

	if (!a)
		a = &none;
	for (size_t i = 0; i < l->n && r == 0; i++)
		r = expand_one(a, l->v[i], 0, 1, &seen, &out, e);
	free(seen.names);
	free(seen.done);
	if (r == 0 && maildomain) {
		r = rcpt_qualify(&out, maildomain, &q, e);
		rcpt_free(&out);
		out = q;
	}
	if (r < 0) {
		rcpt_free(&out);
		return -1;
	}
	rcpt_free(l);
	*l = out;
	return 0;
}

int rcpt_expand(struct rcpt_list *l, const char *aliases_file, const char *maildomain,
		struct err *e)
{
	return rcpt_expand_once(l, aliases_file, maildomain, NULL, e);
}

int rcpt_expand_once(struct rcpt_list *l, const char *aliases_file, const char *maildomain,
		     const char *stamp_dir, struct err *e)
{
	struct rcpt_aliases *a = NULL;
	int r;

	if (aliases_file && aliases_read(aliases_file, stamp_dir, &a, e) < 0)
		return -1;
	r = rcpt_expand_aliases(l, a, maildomain, e);
	rcpt_aliases_free(a);
	return r;
}

int rcpt_is_utf8(const char *addr)
{
	for (const unsigned char *p = (const unsigned char *)addr; *p; p++)
		if (*p >= 0x80)
			return 1;
	return 0;
}

/* NULL when d is a domain as RFC 5321 writes one in ASCII (labels of letters, digits and
 * hyphens, not starting or ending with a hyphen, 1 to 63 bytes each, 253 in all), else what is
 * wrong with it. The A-label form needs this check of its own: UTS #46 maps some characters to
 * nothing, so a label that looked fine can come out empty. */
static const char *rcpt_domain_problem(const char *d)
{
	size_t total = strlen(d);

	if (!total)
		return "it is empty";
	if (total > 253)
		return "it is longer than 253 bytes";
	for (const char *p = d;; p++) {
		size_t n = strcspn(p, ".");

		if (!n)
			return "it has an empty label";
		if (n > 63)
			return "it has a label longer than 63 bytes";
		if (p[0] == '-' || p[n - 1] == '-')
			return "a label starts or ends with '-'";
		for (size_t i = 0; i < n; i++)
			if (!isascii((unsigned char)p[i]) ||
			    !(isalnum((unsigned char)p[i]) || p[i] == '-'))
				return "it has a character other than a letter, digit, '-' or '.'";
		p += n;
		if (!*p)
			return NULL;
	}
}

int rcpt_to_ascii(const char *addr, char *out, size_t size, struct err *e)
{
	const char *at = strrchr(addr, '@'), *why;
	char *ace = NULL;
	int r;

	for (const char *p = addr; p < (at ? at : addr + strlen(addr)); p++)
		if ((unsigned char)*p >= 0x80)
			return err_set(e, ERR_UNAVAILABLE, "the address %s has a non-ASCII local part, "
				       "which needs a server with SMTPUTF8", addr);
	if (!at) {
		snprintf(out, size, "%s", addr);
		return 0;
	}
	r = idn2_to_ascii_8z(at + 1, &ace, IDN2_NONTRANSITIONAL);
	if (r != IDN2_OK)
		return err_set(e, ERR_DATA, "the domain of %s is not a valid international domain "
			       "name: %s", addr, idn2_strerror(r));
	why = rcpt_domain_problem(ace);
	if (why) {
		r = err_set(e, ERR_DATA, "the domain of %s is not a valid international domain name: "
			    "in ASCII it is '%s' and %s", addr, ace, why);
		idn2_free(ace);
		return r;
	}
	if ((size_t)snprintf(out, size, "%.*s@%s", (int)(at - addr), addr, ace) >= size) {
		idn2_free(ace);
		return err_set(e, ERR_DATA, "the address %s is too long", addr);
	}
	idn2_free(ace);
	return 0;
}

/* ---- -t ---- */

static int rcpt_name_in(const struct hdr_field *f, const char *const *names)
{
	for (; *names; names++)
		if (hdr_field_is(f, *names))
			return 1;
	return 0;
}

/* Adds the addresses of one field. */
static int rcpt_add_field(struct rcpt_list *l, const struct hdr_field *f, struct err *e)
{
	struct addr_list al = { 0 };
	struct err pe = { 0 };
	size_t vlen;
	const char *v = hdr_field_value(f, &vlen);

	if (addr_parse(v, vlen, &al, &pe) < 0) {
		addr_list_free(&al);
		return err_set(e, ERR_DATA, "cannot read the addresses in the %.*s: header (line %lu): "
			       "%s; nothing was sent", (int)f->name_len, f->text, f->line, pe.text);
	}
	for (size_t i = 0; i < al.n; i++)
		if (rcpt_add(l, al.v[i].spec, e) < 0) {
			addr_list_free(&al);
			return -1;
		}
	addr_list_free(&al);
	return 0;
}

int rcpt_from_headers(struct rcpt_list *l, const struct hdr_fields *f, struct err *e)
{
	static const char *const plain[] = { "To", "Cc", "Bcc", NULL };
	static const char *const resent[] = { "Resent-To", "Resent-Cc", "Resent-Bcc", NULL };
	size_t first = f->n, end = f->n;

	/* the first Resent- block: consecutive Resent- fields; any other field ends it */
	for (size_t i = 0; i < f->n; i++) {
		int is_resent = f->v[i].name_len > 7 && strncasecmp(f->v[i].text, "Resent-", 7) == 0;

		if (is_resent && first == f->n)
			first = i;
		else if (!is_resent && first < f->n) {
			end = i;
			break;
		}
	}
	for (size_t i = first < f->n ? first : 0; i < (first < f->n ? end : f->n); i++)
		if (rcpt_name_in(&f->v[i], first < f->n ? resent : plain) &&
		    rcpt_add_field(l, &f->v[i], e) < 0)
			return -1;
	return 0;
}
