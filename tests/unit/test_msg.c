/* Unit tests for msg: stdin to spool. Each case runs msg_spool on an input (from a memfd, from a
 * pipe with a writer process, or from a SOCK_SEQPACKET socket whose packets fix where each read()
 * ends) and compares the exact bytes of the spool file. Added Date: and Message-ID: values differ
 * from run to run: their shape is checked, then they are replaced by <DATE> and <MSGID>. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "buf.h"
#include "msg.h"
#include "rcpt.h"
#include "unit.h"

#define SENDER "me@sender.example"
#define HOST_DOMAIN "host.example"

static char dir[4096];	/* the spool directory of every run */

/* ---- running msg_spool ---- */

enum feed { FEED_FILE, FEED_PIPE, FEED_PACKETS };

enum {
	F_NODOT = 1 << 0,	/* -i: dot_ends = 0 */
	F_NOSENDER = 1 << 1,	/* the sender callback returns "" (null sender) */
	F_LOCALSENDER = 1 << 2,	/* ... returns "me" (no domain) */
	F_FROM_ON = 1 << 3,
	F_FROM_OFF = 1 << 4,
	F_NODATE = 1 << 5,
	F_NOMSGID = 1 << 6,
	F_EXTRACT = 1 << 7,
	F_KEEPBCC = 1 << 8,
	F_MAILDOMAIN = 1 << 9,	/* maildomain = "mail.example" */
	F_STEPS = 1 << 10,	/* msg_write_some, then msg_write_more in small steps */
	F_PASS = 1 << 11,	/* msg_write_some, then msg_pass in small steps, then the spool */
	F_MEMORY = 1 << 12,	/* msg_opts.memory: a small message stays in memory, then the spool */
};

struct cb {
	const char *sender;
	int calls;
	int from_null;
	char from[256];
};

static const char *cb_sender(void *ctx, const char *header_from)
{
	struct cb *c = ctx;

	c->calls++;
	c->from_null = header_from == NULL;
	snprintf(c->from, sizeof c->from, "%s", header_from ? header_from : "");
	return c->sender;
}

struct run {
	int rc;
	struct err e;
	struct msg m;		/* as msg_spool left it (fd closed by run_msg) */
	int fd_after_error;	/* m.fd after a failed msg_spool */
	struct buf out;		/* the spool file */
	struct buf norm;	/* the same with the added values replaced */
	struct buf rcpts;	/* m.rcpts, joined with ',' */
	struct cb cb;
	int writer;		/* how the writer ended (unit_in_child style status) */
	struct buf passed;	/* F_PASS: the bytes as msg_pass made them readable, in order */
	off_t stored_first;	/* F_PASS: what the spool held before msg_pass */
	off_t stored_max;	/* F_PASS: the most it held while passing */
	int in_memory;		/* F_MEMORY: msg_write made no spool file (passed: the bytes) */
};

static void run_free(struct run *r)
{
	buf_free(&r->out);
	buf_free(&r->norm);
	buf_free(&r->rcpts);
	buf_free(&r->passed);
}

struct packets {
	int fd;
	const char *p;
	size_t n;
	const size_t *cuts;	/* packet boundaries, increasing, then n; NULL: one byte each */
	size_t ncuts;
};

static void *packet_writer(void *arg)
{
	struct packets *w = arg;
	size_t at = 0, i = 0;

	while (at < w->n) {
		size_t next = w->cuts ? (i < w->ncuts ? w->cuts[i++] : w->n) : at + 1;

		if (next <= at)
			continue;
		if (send(w->fd, w->p + at, next - at, MSG_NOSIGNAL) != (ssize_t)(next - at))
			break;	/* the reader stopped reading */
		at = next;
	}
	close(w->fd);
	return NULL;
}

static void dir_is_empty(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!CHECK(d != NULL))
		return;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	CHECK_INT(n, 0);	/* the spool file is never left behind */
}

static void opts_for(unsigned flags, const char *full_name, struct cb *cb, struct msg_opts *o)
{
	memset(o, 0, sizeof *o);
	memset(cb, 0, sizeof *cb);
	cb->sender = flags & F_NOSENDER ? "" : flags & F_LOCALSENDER ? "me" : SENDER;
	o->dot_ends = !(flags & F_NODOT);
	o->maildomain = flags & F_MAILDOMAIN ? "mail.example" : NULL;
	o->remove_bcc = !(flags & F_KEEPBCC);
	o->set_from = flags & F_FROM_ON ? MSG_FROM_ON : flags & F_FROM_OFF ? MSG_FROM_OFF
									: MSG_FROM_AUTO;
	o->set_date = !(flags & F_NODATE);
	o->set_msgid = !(flags & F_NOMSGID);
	o->full_name = full_name;
	o->domain = HOST_DOMAIN;
	o->tmpdir = dir;
	o->memory = (flags & F_MEMORY) != 0;
}

/* What main does: the header section, the sender (and with -t the recipients) from it, then
 * the message. */
/* F_PASS: what a sender of chunks does, steps of 1 to 4000 bytes, sometimes asking again from
 * a little before, though never before where it asked from last time; every byte made readable, from the spool
 * or from m->pass, goes into out. Then the whole spool, read again from the input. */
static int pass_steps(struct msg *m, struct run *r, struct err *e)
{
	unsigned seed = (unsigned)m->size;
	off_t at = 0;

	r->stored_first = r->stored_max = m->stored;
	for (off_t last = 0;;) {
		off_t step = 1 + rand_r(&seed) % 4000, from = at, end;

		if (rand_r(&seed) % 5 == 0) {	/* still readable: not before the last from */
			from = at - rand_r(&seed) % 500;
			from = from > last ? from : last;
		}
		last = from;
		if (msg_pass(m, from, at + step, e) < 0)
			return -1;
		if (m->stored > r->stored_max)
			r->stored_max = m->stored;
		end = m->size < at + step ? m->size : at + step;
		for (off_t x = from; x < end; x++) {
			char c;

			if (x < m->stored) {
				if (pread(m->fd, &c, 1, x) != 1)
					return err_set(e, ERR_SOFTWARE, "byte %lld not in the spool",
						       (long long)x);
			} else if (x >= m->pass_at && x - m->pass_at < (off_t)m->pass_len) {
				c = m->pass[x - m->pass_at];
			} else {
				return err_set(e, ERR_SOFTWARE, "byte %lld of [%lld, %lld) is nowhere "
					       "(spool %lld, memory %lld+%zu)", (long long)x,
					       (long long)from, (long long)end, (long long)m->stored,
					       (long long)m->pass_at, m->pass_len);
			}
			if (x >= at && buf_addch(&r->passed, c) < 0)
				abort();
		}
		at = end;
		if (!m->more && at == m->size)
			break;
	}
	return msg_write_more(m, -1, e);
}

static int spool(int fd, const struct msg_opts *o, unsigned flags, struct cb *cb, struct msg *m,
		 struct rcpt_list *rl, struct run *r, struct err *e)
{
	const char *sender;

	if (msg_read_headers(fd, o, m, e) < 0)
		return -1;
	sender = cb_sender(cb, m->header_from);
	if ((flags & F_EXTRACT) && rcpt_from_headers(rl, &m->fields, e) < 0) {
		msg_close(m);
		return -1;
	}
	if (!(flags & (F_STEPS | F_PASS | F_MEMORY)))
		return msg_write(m, sender, e);
	if (flags & F_MEMORY) {
		if (msg_write(m, sender, e) < 0)
			return -1;
		r->in_memory = m->fd < 0;
		if (r->in_memory && CHECK_INT(m->pass_at, 0) && CHECK_INT(m->pass_len, m->size) &&
		    buf_add(&r->passed, m->pass, m->pass_len) < 0)
			abort();
		return msg_write_more(m, -1, e);	/* now into the spool file */
	}
	if (msg_write_some(m, sender, 1000, e) < 0)
		return -1;
	if (flags & F_PASS)
		return pass_steps(m, r, e);
	while (m->more) {
		off_t before = m->size;

		if (msg_write_more(m, m->size + 777, e) < 0)
			return -1;
		/* each step reads on until it has what was asked for, or the input ended */
		if (m->more && m->size < before + 777) {
			fprintf(stderr, "msg_write_more stopped short: %lld of %lld\n",
				(long long)m->size, (long long)before + 777);
			return err_set(e, ERR_SOFTWARE, "stopped short");
		}
	}
	return 0;
}

static void normalise(struct run *r);

/* Runs msg_spool on n bytes. cuts/ncuts: packet boundaries for FEED_PACKETS. */
static void run_msg(const char *in, size_t n, unsigned flags, const char *full_name,
		    enum feed how, const size_t *cuts, size_t ncuts, struct run *r)
{
	struct msg_opts o;
	int fd = -1;
	pid_t pid = -1;
	pthread_t th;
	struct packets w;
	struct rcpt_list rl = { 0 };
	int sv[2];

	memset(r, 0, sizeof *r);
	buf_init(&r->out, (size_t)-1 / 2);
	buf_init(&r->norm, (size_t)-1 / 2);
	buf_init(&r->rcpts, (size_t)-1 / 2);
	buf_init(&r->passed, (size_t)-1 / 2);
	opts_for(flags, full_name, &r->cb, &o);

	if (how == FEED_FILE) {
		size_t done = 0;

		fd = memfd_create("msg-input", MFD_CLOEXEC);
		if (fd < 0) {
			perror("memfd_create");
			exit(99);
		}
		while (done < n) {
			ssize_t k = write(fd, in + done, n - done);

			if (k <= 0) {
				perror("write");
				exit(99);
			}
			done += (size_t)k;
		}
		lseek(fd, 0, SEEK_SET);
	} else if (how == FEED_PIPE) {
		int p[2];

		if (pipe2(p, O_CLOEXEC) < 0) {
			perror("pipe");
			exit(99);
		}
		fflush(NULL);
		pid = fork();
		if (pid == 0) {
			size_t done = 0;

			close(p[0]);
			signal(SIGPIPE, SIG_DFL);
			while (done < n) {	/* in pieces, so the reader sees several reads */
				size_t k = n - done < 10000 ? n - done : 10000;
				ssize_t wr = write(p[1], in + done, k);

				if (wr <= 0)
					_exit(1);
				done += (size_t)wr;
			}
			_exit(0);
		}
		close(p[1]);
		fd = p[0];
	} else {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
			perror("socketpair");
			exit(99);
		}
		w = (struct packets){ .fd = sv[1], .p = in, .n = n, .cuts = cuts, .ncuts = ncuts };
		if (pthread_create(&th, NULL, packet_writer, &w) != 0) {
			perror("pthread_create");
			exit(99);
		}
		fd = sv[0];
	}

	r->rc = spool(fd, &o, flags, &r->cb, &r->m, &rl, r, &r->e);
	close(fd);	/* before waiting: a writer blocked on a full pipe then ends */
	if (how == FEED_PIPE) {
		int status;

		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		r->writer = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	} else if (how == FEED_PACKETS) {
		pthread_join(th, NULL);
	}

	for (size_t i = 0; i < rl.n; i++)
		if (buf_printf(&r->rcpts, "%s%s", i ? "," : "", rl.v[i]) < 0)
			abort();
	rcpt_free(&rl);
	if (r->rc == 0) {
		struct stat st;
		char chunk[65536];
		off_t at = 0;
		ssize_t k;

		CHECK(r->m.fd >= 0);
		while ((k = pread(r->m.fd, chunk, sizeof chunk, at)) > 0) {
			if (buf_add(&r->out, chunk, (size_t)k) < 0)
				abort();
			at += k;
		}
		CHECK(fstat(r->m.fd, &st) == 0);
		CHECK_INT(r->m.size, st.st_size);	/* size equals the bytes written */
		CHECK_INT(r->m.size, r->out.len);
		CHECK_INT(r->e.kind, ERR_NONE);
	} else {
		CHECK(r->e.kind != ERR_NONE);
		CHECK(r->e.text[0] != '\0');
		r->fd_after_error = r->m.fd;
	}
	msg_close(&r->m);
	CHECK_INT(r->m.fd, -1);
	dir_is_empty();
	if (r->rc == 0)
		normalise(r);
}

/* ---- the shape of added values ---- */

static regex_t re_date, re_msgid;

static void shapes_init(void)
{
	static const char date[] =
		"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), ([1-9]|[12][0-9]|3[01]) "
		"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([0-9]{4}) "
		"([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9]|60) ([+-])([01][0-9]|2[0-3])([0-5][0-9])$";
	/* msg-id = "<" id-left "@" id-right ">", id-left a dot-atom-text (RFC 5322 3.6.4) */
	static const char msgid[] =
		"^<([A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)@([^<>@ ]+)>$";

	if (regcomp(&re_date, date, REG_EXTENDED) || regcomp(&re_msgid, msgid, REG_EXTENDED)) {
		fprintf(stderr, "regcomp failed\n");
		exit(99);
	}
}

static int field_num(const char *s, const regmatch_t *m)
{
	int n = 0;

	for (regoff_t i = m->rm_so; i < m->rm_eo; i++)
		n = n * 10 + (s[i] - '0');
	return n;
}

/* Checks an added Date: value: its shape, that the weekday fits the date, and that it names the
 * present moment. Writes the zone ("+hhmm") to zone. */
static int check_date(const char *v, char zone[6])
{
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	regmatch_t g[11];
	struct tm tm = { 0 };
	time_t t, now = time(NULL);
	long off;
	int ok = 1;

	if (!CHECK(regexec(&re_date, v, 11, g, 0) == 0)) {
		fprintf(stderr, "    Date value: \"%s\"\n", v);
		return 0;
	}
	for (int i = 0; i < 12; i++)
		if (strncmp(v + g[3].rm_so, months[i], 3) == 0)
			tm.tm_mon = i;
	tm.tm_mday = field_num(v, &g[2]);
	tm.tm_year = field_num(v, &g[4]) - 1900;
	tm.tm_hour = field_num(v, &g[5]);
	tm.tm_min = field_num(v, &g[6]);
	tm.tm_sec = field_num(v, &g[7]);
	off = (field_num(v, &g[9]) * 60 + field_num(v, &g[10])) * 60L;
	if (v[g[8].rm_so] == '-')
		off = -off;
	t = timegm(&tm);	/* normalises tm and sets tm_wday */
	ok &= CHECK(strncmp(v + g[1].rm_so, days[tm.tm_wday], 3) == 0);
	t -= off;
	ok &= CHECK(t > now - 300 && t < now + 300);
	if (!ok)
		fprintf(stderr, "    Date value: \"%s\"\n", v);
	memcpy(zone, v + g[8].rm_so, 5);
	zone[5] = '\0';
	return ok;
}

static char last_zone[6];
static char last_msgid[2048];

/* Replaces the values of the added Date: and Message-ID: fields, after checking their shape. The
 * added fields are in the header section, which ends at the first empty line. */
static void normalise(struct run *r)
{
	const char *p = r->out.data, *end = r->out.data + r->out.len;
	const char *want_domain;
	int in_header = 1, dates = 0, msgids = 0;

	want_domain = strchr(r->cb.sender, '@') ? strchr(r->cb.sender, '@') + 1 : HOST_DOMAIN;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl + 1 - p) : (size_t)(end - p);
		char val[2048];
		size_t vlen;

		if (in_header && n == 2 && p[0] == '\r')
			in_header = 0;
		if (in_header && (r->m.added & MSG_ADDED_DATE) && n > 8 &&
		    strncmp(p, "Date: ", 6) == 0 && (vlen = n - 8) < sizeof val) {
			memcpy(val, p + 6, vlen);
			val[vlen] = '\0';
			dates++;
			if (check_date(val, last_zone)) {
				if (buf_addstr(&r->norm, "Date: <DATE>\r\n") < 0)
					abort();
				p += n;
				continue;
			}
		}
		if (in_header && (r->m.added & MSG_ADDED_MSGID) && n > 14 &&
		    strncmp(p, "Message-ID: ", 12) == 0 && (vlen = n - 14) < sizeof val) {
			regmatch_t g[4];

			memcpy(val, p + 12, vlen);
			val[vlen] = '\0';
			msgids++;
			snprintf(last_msgid, sizeof last_msgid, "%s", val);
			if (CHECK(regexec(&re_msgid, val, 4, g, 0) == 0) &&
			    CHECK_MEM(val + g[3].rm_so, (size_t)(g[3].rm_eo - g[3].rm_so), want_domain,
				      strlen(want_domain)) &&
			    CHECK(g[1].rm_eo - g[1].rm_so >= 16)) {	/* room for uniqueness */
				if (buf_addstr(&r->norm, "Message-ID: <MSGID>\r\n") < 0)
					abort();
				p += n;
				continue;
			}
			fprintf(stderr, "    Message-ID value: \"%s\"\n", val);
		}
		if (buf_add(&r->norm, p, n) < 0)
			abort();
		p += n;
	}
	CHECK_INT(dates, !!(r->m.added & MSG_ADDED_DATE));
	CHECK_INT(msgids, !!(r->m.added & MSG_ADDED_MSGID));
}

/* Every line ends with CRLF: no bare CR, no bare LF, no NUL. */
static void check_wire_form(const struct buf *b)
{
	for (size_t i = 0; i < b->len; i++) {
		char c = b->data[i];

		if (c == '\r') {
			if (!CHECK(i + 1 < b->len && b->data[i + 1] == '\n')) {
				fprintf(stderr, "    bare CR at byte %zu\n", i);
				return;
			}
		} else if (c == '\n') {
			if (!CHECK(i > 0 && b->data[i - 1] == '\r')) {
				fprintf(stderr, "    bare LF at byte %zu\n", i);
				return;
			}
		} else if (!CHECK(c != '\0')) {
			fprintf(stderr, "    NUL at byte %zu\n", i);
			return;
		}
	}
	CHECK(b->len == 0 || (b->len >= 2 && b->data[b->len - 1] == '\n'));
}

/* ---- the table ---- */

#define IN(s) s, sizeof(s) - 1
#define HDRS_LF \
	"From: Alice <alice@example.org>\nDate: Sat, 1 Jun 2024 12:00:00 +0000\nMessage-ID: <1@example.org>\n"
#define HDRS_CR \
	"From: Alice <alice@example.org>\rDate: Sat, 1 Jun 2024 12:00:00 +0000\rMessage-ID: <1@example.org>\r"
#define HDRS_CRLF                                                                      \
	"From: Alice <alice@example.org>\r\nDate: Sat, 1 Jun 2024 12:00:00 +0000\r\n" \
	"Message-ID: <1@example.org>\r\n"
#define ADDED "Date: <DATE>\r\nMessage-ID: <MSGID>\r\nFrom: " SENDER "\r\n"
/* "Subject: x\n\nb" with all three fields added, From: showing the full name as PHRASE */
#define NAMED_FROM(phrase) \
	"Subject: x\r\nDate: <DATE>\r\nMessage-ID: <MSGID>\r\nFrom: " phrase " <" SENDER ">\r\n\r\nb\r\n"
#define ALL (MSG_ADDED_DATE | MSG_ADDED_MSGID | MSG_ADDED_FROM)
#define DATE_MSGID (MSG_ADDED_DATE | MSG_ADDED_MSGID)
#define FAILS(kind) .rc = -1, .kind_ = kind

/* Rows leave out the fields at the end that are 0 for them. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
static const struct mcase {
	const char *name;
	const char *in;
	size_t inlen;
	unsigned flags;
	const char *full_name;
	const char *out;	/* normalised; NULL for a failure */
	unsigned added;
	int eight_bit;
	int rc;
	enum err_kind kind_;
	const char *rcpts;	/* -t: m.rcpts joined with ',' (NULL: "") */
} cases[] = {
	/* line endings */
	{ "LF", IN(HDRS_LF "Subject: s\n\nline 1\nline 2\n"), 0, NULL,
	  HDRS_CRLF "Subject: s\r\n\r\nline 1\r\nline 2\r\n" },
	{ "CRLF", IN(HDRS_CRLF "Subject: s\r\n\r\nline 1\r\nline 2\r\n"), 0, NULL,
	  HDRS_CRLF "Subject: s\r\n\r\nline 1\r\nline 2\r\n" },
	{ "bare CR", IN(HDRS_CR "Subject: s\r\rline 1\rline 2\r"), 0, NULL,
	  HDRS_CRLF "Subject: s\r\n\r\nline 1\r\nline 2\r\n" },
	{ "mixed", IN(HDRS_LF "A: 1\r\nB: 2\r\r\nline 1\r\rline 3\n\nline 5"), 0, NULL,
	  HDRS_CRLF "A: 1\r\nB: 2\r\n\r\nline 1\r\n\r\nline 3\r\n\r\nline 5\r\n" },
	{ "LF then CR is two line ends", IN(HDRS_LF "\na\n\rb\n"), 0, NULL,
	  HDRS_CRLF "\r\na\r\n\r\nb\r\n" },
	{ "CR CR LF is two line ends", IN(HDRS_LF "\na\r\r\nb\n"), 0, NULL,
	  HDRS_CRLF "\r\na\r\n\r\nb\r\n" },
	{ "no line end at the end", IN(HDRS_LF "\nbody"), 0, NULL, HDRS_CRLF "\r\nbody\r\n" },
	{ "CR as the last byte", IN(HDRS_LF "\nbody\r"), 0, NULL, HDRS_CRLF "\r\nbody\r\n" },
	{ "empty lines at the end are kept", IN(HDRS_LF "\nbody\n\n\n"), 0, NULL,
	  HDRS_CRLF "\r\nbody\r\n\r\n\r\n" },
	{ "blanks at line ends are kept", IN(HDRS_LF "\nbody  \n\t\n"), 0, NULL,
	  HDRS_CRLF "\r\nbody  \r\n\t\r\n" },
	{ "DEL and other controls are data", IN(HDRS_LF "\na\x7f\x01\x1b\x0c\n"), 0, NULL,
	  HDRS_CRLF "\r\na\x7f\x01\x1b\x0c\r\n" },

	/* dots */
	{ "a lone dot ends the input", IN(HDRS_LF "\nline\n.\nafter\n"), 0, NULL,
	  HDRS_CRLF "\r\nline\r\n" },
	{ "a lone dot is kept with -i", IN(HDRS_LF "\nline\n.\nafter\n"), F_NODOT, NULL,
	  HDRS_CRLF "\r\nline\r\n.\r\nafter\r\n" },
	{ "dot CRLF ends the input", IN(HDRS_CRLF "\r\nline\r\n.\r\nafter\r\n"), 0, NULL,
	  HDRS_CRLF "\r\nline\r\n" },
	{ "dot bare CR ends the input", IN(HDRS_LF "\nline\r.\rafter"), 0, NULL,
	  HDRS_CRLF "\r\nline\r\n" },
	{ "dot at EOF without a line end ends the input", IN(HDRS_LF "\nline\n."), 0, NULL,
	  HDRS_CRLF "\r\nline\r\n" },
	{ "dot at EOF without a line end, -i", IN(HDRS_LF "\nline\n."), F_NODOT, NULL,
	  HDRS_CRLF "\r\nline\r\n.\r\n" },
	{ "leading dots are kept (no unstuffing)", IN(HDRS_LF "\n..\n...\n.x\n. \n .\na.\n"), 0,
	  NULL, HDRS_CRLF "\r\n..\r\n...\r\n.x\r\n. \r\n .\r\na.\r\n" },
	{ "leading dots are kept, -i", IN(HDRS_LF "\n..\n...\n.x\n. \n .\na.\n"), F_NODOT, NULL,
	  HDRS_CRLF "\r\n..\r\n...\r\n.x\r\n. \r\n .\r\na.\r\n" },
	{ "a lone dot as the first line", IN(".\nignored\n"), 0, NULL, ADDED "\r\n", ALL },
	{ "a lone dot in the header section", IN("Subject: x\n.\nbody\n"), 0, NULL,
	  "Subject: x\r\n" ADDED "\r\n", ALL },
	{ "a NUL after the lone dot is never read", IN(HDRS_LF "\nok\n.\n\0x"), 0, NULL,
	  HDRS_CRLF "\r\nok\r\n" },
	{ "8-bit bytes after the lone dot do not count", IN(HDRS_LF "\nok\n.\n\xc3\xa4\n"), 0, NULL,
	  HDRS_CRLF "\r\nok\r\n" },

	/* NUL */
	{ "NUL in the body", IN(HDRS_LF "\nab\0c\n"), 0, NULL, NULL, FAILS(ERR_DATA) },
	{ "NUL in a header field", IN("Subject: a\0b\n\nx\n"), 0, NULL, NULL, FAILS(ERR_DATA) },
	{ "NUL as the only byte", IN("\0"), 0, NULL, NULL, FAILS(ERR_DATA) },
	{ "NUL right after a dot", IN(HDRS_LF "\n.\0\n"), 0, NULL, NULL, FAILS(ERR_DATA) },
	{ "NUL after a lone dot, -i", IN(HDRS_LF "\n.\n\0"), F_NODOT, NULL, NULL,
	  FAILS(ERR_DATA) },

	/* the header section */
	{ "no header section", IN("Hello world\nsecond line\n"), 0, NULL,
	  ADDED "\r\nHello world\r\nsecond line\r\n", ALL },
	{ "empty input", IN(""), 0, NULL, ADDED "\r\n", ALL },
	{ "only an empty line", IN("\n"), 0, NULL, ADDED "\r\n", ALL },
	{ "an empty line, then the body", IN("\nbody\n"), 0, NULL, ADDED "\r\nbody\r\n", ALL },
	{ "first line starts with a blank", IN(" indented\nmore\n"), 0, NULL,
	  ADDED "\r\n indented\r\nmore\r\n", ALL },
	{ "fields and no body", IN("Subject: x\n"), 0, NULL, "Subject: x\r\n" ADDED "\r\n", ALL },
	{ "fields without a line end", IN("Subject: x"), 0, NULL, "Subject: x\r\n" ADDED "\r\n",
	  ALL },
	{ "folded field", IN("Subject: a\n b\n\tc\n\nbody"), 0, NULL,
	  "Subject: a\r\n b\r\n\tc\r\n" ADDED "\r\nbody\r\n", ALL },
	{ "a non-field line starts the body", IN("Subject: x\nHello\n"), 0, NULL,
	  "Subject: x\r\n" ADDED "\r\nHello\r\n", ALL },

	/* fields that are there already */
	{ "Date, Message-ID and From are kept, nothing added", IN(HDRS_LF "\nbody\n"), 0, NULL,
	  HDRS_CRLF "\r\nbody\r\n" },
	{ "names compared without case",
	  IN("FROM: a@example.org\ndate: Sat, 1 Jun 2024 12:00:00 +0000\nmessage-id: <1@x>\n\nb\n"), 0,
	  NULL, "FROM: a@example.org\r\ndate: Sat, 1 Jun 2024 12:00:00 +0000\r\nmessage-id: <1@x>\r\n\r\nb\r\n" },
	{ "names with blanks before the colon",
	  IN("From : a@example.org\nDate\t: Sat, 1 Jun 2024 12:00:00 +0000\nMessage-ID : <1@x>\n\nb\n"),
	  0, NULL,
	  "From : a@example.org\r\nDate\t: Sat, 1 Jun 2024 12:00:00 +0000\r\nMessage-ID : <1@x>\r\n\r\nb\r\n" },
	{ "only Date", IN("Date: Sat, 1 Jun 2024 12:00:00 +0000\n\nb\n"), 0, NULL,
	  "Date: Sat, 1 Jun 2024 12:00:00 +0000\r\nMessage-ID: <MSGID>\r\nFrom: " SENDER
	  "\r\n\r\nb\r\n",
	  MSG_ADDED_MSGID | MSG_ADDED_FROM },
	{ "only From", IN("From: alice@example.org\n\nb\n"), 0, NULL,
	  "From: alice@example.org\r\nDate: <DATE>\r\nMessage-ID: <MSGID>\r\n\r\nb\r\n",
	  DATE_MSGID },
	{ "Resent-From is not From", IN("Resent-From: a@example.org\n\nb\n"), 0, NULL,
	  "Resent-From: a@example.org\r\n" ADDED "\r\nb\r\n", ALL },
	{ "From in the body is not From", IN("Subject: x\n\nFrom: a@example.org\n"), 0, NULL,
	  "Subject: x\r\n" ADDED "\r\nFrom: a@example.org\r\n", ALL },
	{ "null sender: no From added", IN("Subject: x\n\nb"), F_NOSENDER, NULL,
	  "Subject: x\r\nDate: <DATE>\r\nMessage-ID: <MSGID>\r\n\r\nb\r\n", DATE_MSGID },
	{ "sender without a domain", IN("Subject: x\n\nb"), F_LOCALSENDER, NULL,
	  "Subject: x\r\nDate: <DATE>\r\nMessage-ID: <MSGID>\r\nFrom: me\r\n\r\nb\r\n", ALL },
	{ "set_from off", IN("Subject: x\n\nb"), F_FROM_OFF, NULL,
	  "Subject: x\r\nDate: <DATE>\r\nMessage-ID: <MSGID>\r\n\r\nb\r\n", DATE_MSGID },
	{ "set_date off", IN("Subject: x\n\nb"), F_NODATE, NULL,
	  "Subject: x\r\nMessage-ID: <MSGID>\r\nFrom: " SENDER "\r\n\r\nb\r\n",
	  MSG_ADDED_MSGID | MSG_ADDED_FROM },
	{ "set_msgid off", IN("Subject: x\n\nb"), F_NOMSGID, NULL,
	  "Subject: x\r\nDate: <DATE>\r\nFrom: " SENDER "\r\n\r\nb\r\n",
	  MSG_ADDED_DATE | MSG_ADDED_FROM },

	/* the display name of an added From: */
	{ "full name, plain", IN("Subject: x\n\nb"), 0, "Jane Doe",
	  NAMED_FROM("Jane Doe"), ALL },
	{ "full name with a comma is quoted", IN("Subject: x\n\nb"), 0, "Doe, Jane",
	  NAMED_FROM("\"Doe, Jane\""), ALL },
	{ "full name with a dot is quoted", IN("Subject: x\n\nb"), 0, "Jane Q. Doe",
	  NAMED_FROM("\"Jane Q. Doe\""), ALL },
	{ "full name with parentheses is quoted", IN("Subject: x\n\nb"), 0, "Jane (JD)",
	  NAMED_FROM("\"Jane (JD)\""), ALL },
	{ "full name with '@' is quoted", IN("Subject: x\n\nb"), 0, "jane@home",
	  NAMED_FROM("\"jane@home\""), ALL },
	{ "full name with a quote and a backslash", IN("Subject: x\n\nb"), 0, "Jane \"JD\" D\\oe",
	  NAMED_FROM("\"Jane \\\"JD\\\" D\\\\oe\""), ALL },
	{ "full name in UTF-8 is an RFC 2047 encoded word", IN("Subject: x\n\nb"), 0,
	  "J\xc3\xbcrgen M\xc3\xbcller",
	  NAMED_FROM("=?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?="), ALL },
	{ "CR LF in the full name cannot add a field", IN("Subject: x\n\nb"), 0,
	  "Eve\r\nBcc: victim@example.org",
	  NAMED_FROM("=?UTF-8?B?RXZlDQpCY2M6IHZpY3RpbUBleGFtcGxlLm9yZw==?="), ALL },
	{ "empty full name", IN("Subject: x\n\nb"), 0, "", "Subject: x\r\n" ADDED "\r\nb\r\n", ALL },

	/* set_from on: the From: address becomes the sender's */
	{ "set_from on keeps the display name", IN("From: Alice <alice@example.org>\n\nb"),
	  F_FROM_ON, NULL,
	  "From: Alice <" SENDER ">\r\nDate: <DATE>\r\nMessage-ID: <MSGID>\r\n\r\nb\r\n",
	  DATE_MSGID },
	/* the message's own display name wins over -F: cron says "root (Cron Daemon)" and
	 * passes -FCronDaemon; the full name serves only a From: without a name */
	{ "set_from on keeps the message's name over a full name",
	  IN("From: Alice <alice@example.org>\n\nb"), F_FROM_ON, "Jane Doe",
	  "From: Alice <" SENDER ">\r\nDate: <DATE>\r\nMessage-ID: <MSGID>\r\n\r\nb\r\n",
	  DATE_MSGID },
	{ "set_from on with a full name and a bare From", IN("From: alice@example.org\n\nb"),
	  F_FROM_ON, "Jane Doe",
	  "From: Jane Doe <" SENDER ">\r\nDate: <DATE>\r\nMessage-ID: <MSGID>\r\n\r\nb\r\n",
	  DATE_MSGID },
	{ "set_from on with a bare address", IN("From: alice@example.org\n\nb"), F_FROM_ON, NULL,
	  "From: <" SENDER ">\r\nDate: <DATE>\r\nMessage-ID: <MSGID>\r\n\r\nb\r\n", DATE_MSGID },
	{ "set_from on, null sender: From kept", IN("From: alice@example.org\n\nb"),
	  F_FROM_ON | F_NOSENDER, NULL,
	  "From: alice@example.org\r\nDate: <DATE>\r\nMessage-ID: <MSGID>\r\n\r\nb\r\n",
	  DATE_MSGID },

	/* 8-bit */
	{ "8-bit body", IN(HDRS_LF "\nGr\xc3\xbc\xc3\x9f" "e\n"), 0, NULL,
	  HDRS_CRLF "\r\nGr\xc3\xbc\xc3\x9f" "e\r\n", 0, 1 },
	{ "8-bit header", IN(HDRS_LF "Subject: \xc3\xa4\n\nb\n"), 0, NULL,
	  HDRS_CRLF "Subject: \xc3\xa4\r\n\r\nb\r\n", 0, 1 },
	{ "0x80 is 8-bit", IN(HDRS_LF "\n\x80\n"), 0, NULL, HDRS_CRLF "\r\n\x80\r\n", 0, 1 },
	{ "8-bit in the first body line", IN("\xff\n"), 0, NULL, ADDED "\r\n\xff\r\n", ALL, 1 },
	{ "0x7f is not 8-bit", IN(HDRS_LF "\n\x7f\n"), 0, NULL, HDRS_CRLF "\r\n\x7f\r\n", 0, 0 },

	/* Bcc */
	{ "Bcc is left out", IN("To: a@example.org\nBcc: secret@example.org\nSubject: x\n\nb"), 0,
	  NULL, "To: a@example.org\r\nSubject: x\r\n" ADDED "\r\nb\r\n", ALL },
	{ "a folded Bcc is left out whole",
	  IN("Bcc: a@example.org,\n b@example.org\nSubject: x\n\nb"), 0, NULL,
	  "Subject: x\r\n" ADDED "\r\nb\r\n", ALL },
	{ "bcc in lower case is left out", IN("bcc: a@example.org\n\nb"), 0, NULL,
	  ADDED "\r\nb\r\n", ALL },
	{ "Resent-Bcc is left out", IN("Resent-Bcc: a@example.org\n\nb"), 0, NULL,
	  ADDED "\r\nb\r\n", ALL },
	{ "an empty Bcc is left out", IN("Bcc:\n\nb"), 0, NULL, ADDED "\r\nb\r\n", ALL },
	{ "Bcc kept when asked", IN("Bcc: a@example.org\n\nb"), F_KEEPBCC, NULL,
	  "Bcc: a@example.org\r\n" ADDED "\r\nb\r\n", ALL },

	/* -t */
	{ "-t: To, Cc and Bcc",
	  IN("To: a@example.org, B <b@example.org>\nCc: c@example.org\nBcc: d@example.org\n"
	     "Subject: x\n\nb"),
	  F_EXTRACT, NULL,
	  "To: a@example.org, B <b@example.org>\r\nCc: c@example.org\r\nSubject: x\r\n" ADDED
	  "\r\nb\r\n",
	  ALL, .rcpts = "a@example.org,b@example.org,c@example.org,d@example.org" },
	{ "-t: a group", IN("To: friends: a@example.org, b@example.org;\n\nb"), F_EXTRACT, NULL,
	  "To: friends: a@example.org, b@example.org;\r\n" ADDED "\r\nb\r\n", ALL,
	  .rcpts = "a@example.org,b@example.org" },
	{ "-t: the first Resent- block instead",
	  IN("Resent-To: r@example.org\nResent-Date: Sat, 1 Jun 2024 12:00:00 +0000\n"
	     "To: a@example.org\n\nb"),
	  F_EXTRACT, NULL,
	  "Resent-To: r@example.org\r\nResent-Date: Sat, 1 Jun 2024 12:00:00 +0000\r\n"
	  "To: a@example.org\r\n" ADDED "\r\nb\r\n",
	  ALL, .rcpts = "r@example.org" },
	/* RFC 5322 3.6.6/3.6.7: each resending prepends trace fields and then its own Resent- block;
	 * the newest block is the first, and a Received: after it starts the older ones */
	{ "-t: only the newest of several Resent- blocks",
	  IN("Received: from b.example.org\n"
	     "Resent-Date: Sun, 2 Jun 2024 12:00:00 +0000\nResent-To: new@example.org\n"
	     "Received: from a.example.org\n"
	     "Resent-Date: Sat, 1 Jun 2024 12:00:00 +0000\nResent-To: old@example.org\n"
	     "To: orig@example.org\n\nb"),
	  F_EXTRACT, NULL,
	  "Received: from b.example.org\r\n"
	  "Resent-Date: Sun, 2 Jun 2024 12:00:00 +0000\r\nResent-To: new@example.org\r\n"
	  "Received: from a.example.org\r\n"
	  "Resent-Date: Sat, 1 Jun 2024 12:00:00 +0000\r\nResent-To: old@example.org\r\n"
	  "To: orig@example.org\r\n" ADDED "\r\nb\r\n",
	  ALL, .rcpts = "new@example.org" },
	{ "-t: To in the body does not count", IN("To: a@example.org\n\nTo: b@example.org\n"),
	  F_EXTRACT, NULL, "To: a@example.org\r\n" ADDED "\r\nTo: b@example.org\r\n", ALL,
	  .rcpts = "a@example.org" },
	{ "-t: a To that does not parse", IN("To: <a@example.org\n\nb"), F_EXTRACT, NULL, NULL,
	  FAILS(ERR_DATA) },
	{ "without -t a To that does not parse is kept", IN("To: <a@example.org\n\nb"), 0, NULL,
	  "To: <a@example.org\r\n" ADDED "\r\nb\r\n", ALL },

	/* maildomain */
	{ "bare local names are qualified", IN("To: alice, bob@example.org\nCc: Carol <carol>\n\nb"),
	  F_MAILDOMAIN, NULL,
	  "To: alice@mail.example, bob@example.org\r\nCc: Carol <carol@mail.example>\r\n" ADDED
	  "\r\nb\r\n",
	  ALL },
	{ "Subject is not an address field", IN("Subject: alice\n\nb"), F_MAILDOMAIN, NULL,
	  "Subject: alice\r\n" ADDED "\r\nb\r\n", ALL },
};
#pragma GCC diagnostic pop

static void test_cases(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct mcase *c = &cases[i];
		struct run r;

		UNIT_CTX("msg case '%s'", c->name);
		run_msg(c->in, c->inlen, c->flags, c->full_name, FEED_FILE, NULL, 0, &r);
		if (!CHECK_INT(r.rc, c->rc)) {
			fprintf(stderr, "    error: %s\n", r.e.text);
			run_free(&r);
			continue;
		}
		if (c->rc < 0) {
			CHECK_INT(r.e.kind, c->kind_);
			CHECK_INT(r.fd_after_error, -1);
			run_free(&r);
			continue;
		}
		CHECK_MEM(r.norm.data, r.norm.len, c->out, strlen(c->out));
		CHECK_UINT(r.m.added, c->added);
		CHECK_INT(r.m.eight_bit, c->eight_bit);
		CHECK_STR(r.rcpts.data, c->rcpts ? c->rcpts : "");
		CHECK_INT(r.cb.calls, 1);	/* "called exactly once" */
		check_wire_form(&r.out);
		/* the same message kept in memory: no spool file until asked, the same bytes */
		{
			struct run rm;

			run_msg(c->in, c->inlen, c->flags | F_MEMORY, c->full_name, FEED_PIPE, NULL, 0,
				&rm);
			if (CHECK_INT(rm.rc, 0)) {
				CHECK_INT(rm.in_memory, 1);
				CHECK_MEM(rm.norm.data, rm.norm.len, c->out, strlen(c->out));
				CHECK_MEM(rm.passed.data, rm.passed.len, rm.out.data, rm.out.len);
			}
			run_free(&rm);
		}
		run_free(&r);
	}
	UNIT_CTX_CLEAR();
}

/* The same input must give the same spool file however read() splits it: a pipe, two packets
 * split at every position, and one byte per packet. */
static void test_splits(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct mcase *c = &cases[i];
		struct run whole, part;

		if (c->inlen > 400)
			continue;
		UNIT_CTX("msg splits '%s'", c->name);
		run_msg(c->in, c->inlen, c->flags, c->full_name, FEED_FILE, NULL, 0, &whole);
		for (size_t k = 0; k <= c->inlen + 1; k++) {
			size_t cut[1] = { k };

			UNIT_CTX("msg splits '%s', %s %zu", c->name,
				 k == 0 ? "pipe" : k == c->inlen + 1 ? "bytes" : "split at", k);
			if (k == c->inlen + 1)	/* and one byte per packet */
				run_msg(c->in, c->inlen, c->flags, c->full_name, FEED_PACKETS, NULL, 0,
					&part);
			else if (k == 0)
				run_msg(c->in, c->inlen, c->flags, c->full_name, FEED_PIPE, NULL, 0,
					&part);
			else
				run_msg(c->in, c->inlen, c->flags, c->full_name, FEED_PACKETS, cut, 1,
					&part);
			if (CHECK_INT(part.rc, whole.rc) && whole.rc == 0 &&
			    !CHECK_MEM(part.norm.data, part.norm.len, whole.norm.data, whole.norm.len)) {
				run_free(&part);
				break;
			}
			if (whole.rc < 0)
				CHECK_INT(part.e.kind, whole.e.kind);
			CHECK_INT(part.m.eight_bit, whole.m.eight_bit);
			if (k == 0)
				CHECK_INT(part.writer, 0);
			run_free(&part);
		}
		run_free(&whole);
	}
	UNIT_CTX_CLEAR();
}

/* ---- chunk boundaries: msg_spool reads 64 KiB at a time ---- */

#define CHUNK 65536

/* Appends lines of 'y' (none over 80 bytes) so that b ends with a line end at byte `upto`. */
static void fill_to(struct buf *b, size_t upto)
{
	while (b->len < upto) {
		size_t k = upto - b->len < 80 ? upto - b->len : 80;

		while (k-- > 1)
			if (buf_addch(b, 'y') < 0)
				abort();
		if (buf_addch(b, '\n') < 0)
			abort();
	}
}

/* A reference for the body: each CRLF, CR or LF ends a line, written as CRLF; with dot_ends a
 * line of a single "." ends the input. No NULs, no lines over 998 bytes in its inputs. */
static void ref_body(const char *s, size_t n, int dot_ends, struct buf *out)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i;

		while (j < n && s[j] != '\r' && s[j] != '\n')
			j++;
		if (dot_ends && j - i == 1 && s[i] == '.')
			return;
		if (buf_add(out, s + i, j - i) < 0 || buf_add(out, "\r\n", 2) < 0)
			abort();
		if (j < n && s[j] == '\r' && j + 1 < n && s[j + 1] == '\n')
			j++;
		i = j + 1;
	}
}

static void test_boundaries(void)
{
	static const struct {
		const char *name;
		const char *before;	/* its last byte is the last of the first 64 KiB chunk */
		const char *after;	/* the first bytes of the second chunk */
		const char *around;	/* must be in the output */
	} t[] = {
		{ "CR | LF is one line end", "x\r", "\nz\n", "\r\nx\r\nz\r\n" },
		{ "CR | text: a bare CR", "x\r", "z\n", "\r\nx\r\nz\r\n" },
		{ "CR | CR", "x\r", "\rz\n", "\r\nx\r\n\r\nz\r\n" },
		{ "CR | CR LF", "x\r", "\r\nz\n", "\r\nx\r\n\r\nz\r\n" },
		{ "LF | CR", "x\n", "\rz\n", "\r\nx\r\n\r\nz\r\n" },
		{ "dot | LF ends the input", "x\n.", "\nnot this\n", "\r\nx\r\n" },
		{ "dot | CR LF ends the input", "x\n.", "\r\nnot this\n", "\r\nx\r\n" },
		{ "dot | dot", "x\n.", ".\nz\n", "\r\nx\r\n..\r\nz\r\n" },
		{ "dot | text", "x\n.", "z\n", "\r\nx\r\n.z\r\n" },
		{ "LF | dot LF ends the input", "x\n", ".\nnot this\n", "\r\nx\r\n" },
		{ "CR | dot CR ends the input", "x\r", ".\rnot this\n", "\r\nx\r\n" },
		{ "CR LF | dot", "x\r\n", ".\n", "\r\nx\r\n" },
		{ "CR as the very last byte", "x\r", "", "\r\nx\r\n" },
		{ "dot as the very last byte", "x\n.", "", "\r\nx\r\n" },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct buf in, want;
		struct run r;
		size_t hdr;

		UNIT_CTX("boundary '%s'", t[i].name);
		buf_init(&in, (size_t)-1 / 2);
		buf_init(&want, (size_t)-1 / 2);
		if (buf_addstr(&in, HDRS_LF "\n") < 0)
			abort();
		hdr = in.len;
		fill_to(&in, CHUNK - strlen(t[i].before));
		if (buf_addstr(&in, t[i].before) < 0 || buf_addstr(&in, t[i].after) < 0)
			abort();
		if (!CHECK(in.data[CHUNK - 1] == t[i].before[strlen(t[i].before) - 1]))
			abort();
		if (buf_addstr(&want, HDRS_CRLF "\r\n") < 0)
			abort();
		ref_body(in.data + hdr, in.len - hdr, 1, &want);
		run_msg(in.data, in.len, 0, NULL, FEED_FILE, NULL, 0, &r);
		if (CHECK_INT(r.rc, 0)) {
			CHECK_MEM(r.out.data, r.out.len, want.data, want.len);
			/* the exact bytes around the boundary, independent of ref_body */
			CHECK(r.out.len >= strlen(t[i].around) &&
			      memcmp(r.out.data + r.out.len - strlen(t[i].around), t[i].around,
				     strlen(t[i].around)) == 0);
			check_wire_form(&r.out);
		}
		run_free(&r);
		buf_free(&in);
		buf_free(&want);
	}
	UNIT_CTX_CLEAR();
}

/* Random bodies of several chunks, mostly CRLF lines with LF, bare CR, CR CR LF, leading dots
 * and 8-bit bytes among them, against ref_body: the fast path for clean lines and the general
 * path must agree wherever one hands over to the other. Fixed seeds: the same inputs each run. */
static void test_random_bodies(void)
{
	static const char *const ends[] = { "\r\n", "\r\n", "\r\n", "\r\n", "\n", "\n", "\r",
					    "\r\r\n" };
	unsigned seed = 1;

	for (int iter = 0; iter < 60; iter++) {
		struct buf in, want;
		struct run r;
		size_t hdr, target = (size_t)(iter % 3 + 1) * CHUNK + (size_t)iter * 977;
		int dot_ends = iter % 2, high = 0;

		UNIT_CTX("random body %d (%s)", iter, dot_ends ? "dot ends" : "-i");
		buf_init(&in, (size_t)-1 / 2);
		buf_init(&want, (size_t)-1 / 2);
		if (buf_addstr(&in, HDRS_LF "\n") < 0)
			abort();
		hdr = in.len;
		while (in.len < hdr + target) {
			size_t len = (size_t)(rand_r(&seed) % 100 == 0 ? 900 + rand_r(&seed) % 98 :
					      rand_r(&seed) % 120);
			int lead = rand_r(&seed) % 40;

			for (size_t k = 0; k < len; k++) {
				int c = rand_r(&seed) % 200;
				char ch = (char)(c == 0 ? 0xc3 : 'a' + c % 26);

				if (k == 0 && lead == 0)
					ch = '.';
				if (k == 1 && lead == 0 && rand_r(&seed) % 2)
					ch = '.';
				if (buf_addch(&in, ch) < 0)
					abort();
			}
			/* a lone "." would end the input: keep those for the -i half */
			if (dot_ends && len == 1 && in.data[in.len - 1] == '.')
				in.data[in.len - 1] = 'd';
			if (buf_addstr(&in, ends[rand_r(&seed) % 8]) < 0)
				abort();
		}
		for (size_t k = hdr; k < in.len; k++)
			high |= (unsigned char)in.data[k] >> 7;
		if (buf_addstr(&want, HDRS_CRLF "\r\n") < 0)
			abort();
		ref_body(in.data + hdr, in.len - hdr, dot_ends, &want);
		run_msg(in.data, in.len, dot_ends ? 0 : F_NODOT, NULL, FEED_FILE, NULL, 0, &r);
		if (CHECK_INT(r.rc, 0)) {
			CHECK_MEM(r.out.data, r.out.len, want.data, want.len);
			CHECK_INT(r.m.eight_bit, high);
			check_wire_form(&r.out);
		}
		run_free(&r);
		run_msg(in.data, in.len, dot_ends ? 0 : F_NODOT, NULL, FEED_PIPE, NULL, 0, &r);
		if (CHECK_INT(r.rc, 0))
			CHECK_MEM(r.out.data, r.out.len, want.data, want.len);
		run_free(&r);
		/* read on in steps, as a message that goes while it is read is */
		run_msg(in.data, in.len, (dot_ends ? 0 : F_NODOT) | F_STEPS, NULL, FEED_PIPE, NULL, 0,
			&r);
		if (CHECK_INT(r.rc, 0)) {
			CHECK_MEM(r.out.data, r.out.len, want.data, want.len);
			CHECK_INT(r.m.eight_bit, high);
		}
		run_free(&r);
		/* passed without being kept (a file can be read again), then the whole spool again */
		run_msg(in.data, in.len, (dot_ends ? 0 : F_NODOT) | F_PASS, NULL, FEED_FILE, NULL, 0,
			&r);
		if (CHECK_INT(r.rc, 0)) {
			CHECK_MEM(r.passed.data, r.passed.len, want.data, want.len);
			CHECK_MEM(r.out.data, r.out.len, want.data, want.len);
			CHECK_INT(r.m.eight_bit, high);
			/* nothing went into the spool while passing */
			CHECK_INT(r.stored_max, r.stored_first);
			CHECK(r.stored_first < (off_t)want.len);
		}
		run_free(&r);
		/* bigger than one buffer: msg_opts.memory makes a spool file as usual */
		run_msg(in.data, in.len, (dot_ends ? 0 : F_NODOT) | F_MEMORY, NULL, FEED_PIPE, NULL,
			0, &r);
		if (CHECK_INT(r.rc, 0)) {
			CHECK_INT(r.in_memory, want.len <= CHUNK);
			CHECK_MEM(r.out.data, r.out.len, want.data, want.len);
		}
		run_free(&r);
		/* from a pipe msg_pass keeps all of it: nothing can be read again */
		run_msg(in.data, in.len, (dot_ends ? 0 : F_NODOT) | F_PASS, NULL, FEED_PIPE, NULL, 0,
			&r);
		if (CHECK_INT(r.rc, 0)) {
			CHECK_MEM(r.passed.data, r.passed.len, want.data, want.len);
			CHECK_MEM(r.out.data, r.out.len, want.data, want.len);
			CHECK_INT(r.stored_max, (off_t)want.len);
		}
		run_free(&r);
		buf_free(&in);
		buf_free(&want);
	}
	UNIT_CTX_CLEAR();
}

/* ---- sizes ---- */

static void test_large(void)
{
	struct buf in, want;
	struct run r;
	size_t hdr;
	unsigned long long x = 0x9e3779b97f4a7c15ULL;

	/* 5 MiB of lines of every length up to 300 with every line ending, through a pipe */
	UNIT_CTX("5 MiB through a pipe");
	buf_init(&in, (size_t)-1 / 2);
	buf_init(&want, (size_t)-1 / 2);
	if (buf_addstr(&in, HDRS_LF "\n") < 0)
		abort();
	hdr = in.len;
	while (in.len < 5 * 1024 * 1024) {
		size_t n;
		static const char *const ends[] = { "\n", "\r\n", "\r" };

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		n = (size_t)(x % 300);
		for (size_t i = 0; i < n; i++)
			if (buf_addch(&in, (char)(i == 0 ? 'a' : ' ' + (x >> (i % 40)) % 95)) < 0)
				abort();
		if (buf_addstr(&in, ends[(x >> 20) % 3]) < 0)
			abort();
	}
	ref_body(in.data + hdr, in.len - hdr, 1, &want);
	run_msg(in.data, in.len, 0, NULL, FEED_PIPE, NULL, 0, &r);
	if (CHECK_INT(r.rc, 0)) {
		CHECK_UINT(r.out.len, strlen(HDRS_CRLF "\r\n") + want.len);
		CHECK(r.out.len >= want.len && memcmp(r.out.data + r.out.len - want.len, want.data,
						      want.len) == 0);
		CHECK_INT(r.writer, 0);
	}
	run_free(&r);
	buf_free(&want);

	/* the writer gets no SIGPIPE when a lone dot ends the input early */
	UNIT_CTX("the rest after a lone dot is read");
	buf_reset(&in);
	if (buf_addstr(&in, HDRS_LF "\nok\n.\n") < 0)
		abort();
	while (in.len < 4 * 1024 * 1024)
		if (buf_addstr(&in, "more text after the end\n") < 0)
			abort();
	run_msg(in.data, in.len, 0, NULL, FEED_PIPE, NULL, 0, &r);
	CHECK_INT(r.rc, 0);
	CHECK_INT(r.writer, 0);
	CHECK_MEM(r.out.data, r.out.len, HDRS_CRLF "\r\nok\r\n", strlen(HDRS_CRLF "\r\nok\r\n"));
	run_free(&r);

	/* a header line over 1 MiB: ERR_DATA */
	UNIT_CTX("header line over 1 MiB");
	buf_reset(&in);
	if (buf_addstr(&in, "X-Big: ") < 0)
		abort();
	while (in.len < 1024 * 1024 + 10)
		if (buf_addch(&in, 'a') < 0)
			abort();
	if (buf_addstr(&in, "\n\nbody\n") < 0)
		abort();
	run_msg(in.data, in.len, 0, NULL, FEED_FILE, NULL, 0, &r);
	CHECK_INT(r.rc, -1);
	CHECK_INT(r.e.kind, ERR_DATA);
	run_free(&r);

	/* a field folded over more than HDR_FIELD_MAX: ERR_DATA */
	UNIT_CTX("folded field over the cap");
	buf_reset(&in);
	if (buf_addstr(&in, "X-Many: a\n") < 0)
		abort();
	while (in.len < 1100 * 1024)
		if (buf_addstr(&in, " folded line of the field\n") < 0)
			abort();
	if (buf_addstr(&in, "\nbody\n") < 0)
		abort();
	run_msg(in.data, in.len, 0, NULL, FEED_FILE, NULL, 0, &r);
	CHECK_INT(r.rc, -1);
	CHECK_INT(r.e.kind, ERR_DATA);
	run_free(&r);
	buf_free(&in);
	UNIT_CTX_CLEAR();
}

/* ---- lines over 998 bytes ---- */

static void test_long_lines(void)
{
	static const struct {
		size_t len;
		int no_header;	/* the long line is the first line: it comes through hdr */
		unsigned long split;	/* line breaks inserted (what main.c reports) */
	} t[] = {
		{ 998, 0, 0 }, { 999, 0, 1 }, { 1996, 0, 1 }, { 1997, 0, 2 }, { 2500, 0, 2 },
		{ 998, 1, 0 }, { 999, 1, 1 }, { 2500, 1, 2 }, { 100000, 0, 100 },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct buf in, want;
		struct run r;

		UNIT_CTX("body line of %zu bytes%s", t[i].len, t[i].no_header ? " (first line)" : "");
		buf_init(&in, (size_t)-1 / 2);
		buf_init(&want, (size_t)-1 / 2);
		if (!t[i].no_header && buf_addstr(&in, HDRS_LF "\n") < 0)
			abort();
		for (size_t k = 0; k < t[i].len; k++)
			if (buf_addch(&in, (char)('a' + k % 26)) < 0)
				abort();
		if (buf_addstr(&in, "\nnext\n") < 0)
			abort();
		run_msg(in.data, in.len, 0, NULL, FEED_FILE, NULL, 0, &r);
		if (CHECK_INT(r.rc, 0)) {
			/* the line comes out in pieces of 998, each ended by CRLF, nothing lost */
			if (buf_addstr(&want, t[i].no_header ? ADDED "\r\n" : HDRS_CRLF "\r\n") < 0)
				abort();
			for (size_t k = 0; k < t[i].len; k++) {
				if (k && k % 998 == 0 && buf_addstr(&want, "\r\n") < 0)
					abort();
				if (buf_addch(&want, (char)('a' + k % 26)) < 0)
					abort();
			}
			if (buf_addstr(&want, "\r\nnext\r\n") < 0)
				abort();
			CHECK_MEM(r.norm.data, r.norm.len, want.data, want.len);
			CHECK_UINT(r.m.split_lines, t[i].split);
		}
		run_free(&r);
		/* passed, then the spool read again: the same bytes, each split counted once */
		run_msg(in.data, in.len, F_PASS, NULL, FEED_FILE, NULL, 0, &r);
		if (CHECK_INT(r.rc, 0)) {
			CHECK_MEM(r.norm.data, r.norm.len, want.data, want.len);
			CHECK_UINT(r.m.split_lines, t[i].split);
		}
		run_free(&r);
		buf_free(&in);
		buf_free(&want);
	}

	/* header fields: a line over 998 is folded at a blank, and unfolding gives it back */
	UNIT_CTX("long header line");
	{
		struct buf in, unfolded;
		struct run r;
		const char *p;

		buf_init(&in, (size_t)-1 / 2);
		buf_init(&unfolded, (size_t)-1 / 2);
		if (buf_addstr(&in, "To: ") < 0)
			abort();
		for (int k = 0; k < 200; k++)
			if (buf_printf(&in, "%suser%03d@example.org", k ? ", " : "", k) < 0)
				abort();
		if (buf_addstr(&in, "\n\nb\n") < 0)
			abort();
		run_msg(in.data, in.len, 0, NULL, FEED_FILE, NULL, 0, &r);
		if (CHECK_INT(r.rc, 0)) {
			size_t col = 0, longest = 0;

			for (size_t k = 0; k < r.out.len; k++) {
				if (r.out.data[k] == '\n') {
					longest = col - 1 > longest ? col - 1 : longest;
					col = 0;
				} else {
					col++;
				}
			}
			CHECK(longest <= 998);
			/* unfold the To: field: remove each CRLF that is followed by a blank */
			for (p = r.out.data; p < r.out.data + r.out.len; p++) {
				if (p[0] == '\r' && p[1] == '\n' && (p[2] == ' ' || p[2] == '\t')) {
					p++;
					continue;
				}
				if (p[0] == '\r' && p[1] == '\n')
					break;
				if (buf_addch(&unfolded, *p) < 0)
					abort();
			}
			CHECK_MEM(unfolded.data, unfolded.len, in.data, in.len - 4);
		}
		run_free(&r);
		buf_free(&in);
		buf_free(&unfolded);
	}
	UNIT_CTX_CLEAR();
}

/* A header line over 998 bytes with no blank to fold at goes out as it is (msg.h), also when
 * it is larger than msg's 64 KiB output buffer. */
static void test_unfoldable(void)
{
	struct buf in, want;
	struct run r;

	UNIT_CTX("unfoldable header line of 100 KB");
	buf_init(&in, (size_t)-1 / 2);
	buf_init(&want, (size_t)-1 / 2);
	/* no blank even after the colon: a fold there would leave the line as long as it was */
	if (buf_addstr(&in, "X-Long:") < 0 || buf_addstr(&want, "X-Long:") < 0)
		abort();
	for (int k = 0; k < 100000; k++)
		if (buf_addch(&in, (char)('a' + k % 26)) < 0 || buf_addch(&want, (char)('a' + k % 26)) < 0)
			abort();
	if (buf_addstr(&in, "\nSubject: after\n\nb\n") < 0 ||
	    buf_addstr(&want, "\r\nSubject: after\r\n" ADDED "\r\nb\r\n") < 0)
		abort();
	run_msg(in.data, in.len, 0, NULL, FEED_PIPE, NULL, 0, &r);
	if (CHECK_INT(r.rc, 0))
		CHECK_MEM(r.norm.data, r.norm.len, want.data, want.len);
	run_free(&r);
	buf_free(&in);
	buf_free(&want);
	UNIT_CTX_CLEAR();
}

/* ---- the From: display name, long and non-ASCII ---- */

/* RFC 2047 section 2: "An 'encoded-word' may not be more than 75 characters long"; section 5:
 * each encoded-word must hold whole characters. Longer names take several encoded words. */
static void test_long_name(void)
{
	static const char name[] =
		"Maximilian M\xc3\xbcller-L\xc3\xbc" "denscheidt von Hohenzollern-Sigmaringen";
	struct run r;

	UNIT_CTX("long UTF-8 full name");
	run_msg(IN("Subject: x\n\nb"), 0, name, FEED_FILE, NULL, 0, &r);
	if (CHECK_INT(r.rc, 0)) {
		const char *from = strstr(r.out.data, "\r\nFrom: ");
		const char *p, *stop;
		int words = 0;

		if (CHECK(from != NULL)) {
			from += 8;
			stop = strstr(from, " <" SENDER ">");
			CHECK(stop != NULL);
			for (p = from; stop && p < stop;) {
				const char *w = strstr(p, "=?UTF-8?B?");
				const char *q = w ? strstr(w + 10, "?=") : NULL;

				if (!w || w >= stop || !q)
					break;
				words++;
				if (!CHECK((size_t)(q + 2 - w) <= 75))
					fprintf(stderr, "    encoded word of %zu characters\n",
						(size_t)(q + 2 - w));
				p = q + 2;
			}
			CHECK(words >= 1);
		}
	}
	run_free(&r);
	UNIT_CTX_CLEAR();
}

/* ---- the sender callback ---- */

static void test_sender_callback(void)
{
	static const struct {
		const char *in;
		unsigned flags;
		int from_null;
		const char *from;
	} t[] = {
		{ "Subject: x\n\nb", 0, 1, "" },
		{ "From: Alice <alice@example.org>\n\nb", 0, 0, "alice@example.org" },
		{ "From: a@example.org, b@example.org\n\nb", 0, 0, "a@example.org" },
		{ "From: alice\n\nb", F_MAILDOMAIN, 0, "alice@mail.example" },
		{ "From: alice\n\nb", 0, 0, "alice" },
		{ "", 0, 1, "" },
		{ "From: a@example.org\nFrom: b@example.org\n\nb", 0, 0, "a@example.org" },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct run r;

		UNIT_CTX("sender callback row %zu", i);
		run_msg(t[i].in, strlen(t[i].in), t[i].flags, NULL, FEED_FILE, NULL, 0, &r);
		CHECK_INT(r.rc, 0);
		CHECK_INT(r.cb.calls, 1);
		CHECK_INT(r.cb.from_null, t[i].from_null);
		CHECK_STR(r.cb.from, t[i].from);
		run_free(&r);
	}
	UNIT_CTX_CLEAR();
}

/* ---- Date: zones and Message-ID: uniqueness ---- */

static void test_date_zones(void)
{
	static const struct {
		const char *tz;
		const char *zone;
	} t[] = {
		{ "UTC0", "+0000" },
		{ "XST3:30", "-0330" },	/* POSIX: west of Greenwich is positive */
		{ "XST-5:45", "+0545" },
		{ "XST-14", "+1400" },
		{ "XST11", "-1100" },
	};
	const char *old = getenv("TZ");
	char *saved = old ? strdup(old) : NULL;

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct run r;

		UNIT_CTX("Date in TZ=%s", t[i].tz);
		setenv("TZ", t[i].tz, 1);
		tzset();
		last_zone[0] = '\0';
		run_msg(IN("Subject: x\n\nb"), 0, NULL, FEED_FILE, NULL, 0, &r);
		CHECK_INT(r.rc, 0);
		CHECK_MEM(r.norm.data, r.norm.len, "Subject: x\r\n" ADDED "\r\nb\r\n",
			  strlen("Subject: x\r\n" ADDED "\r\nb\r\n"));
		CHECK_STR(last_zone, t[i].zone);
		run_free(&r);
	}
	if (saved)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
	free(saved);
	UNIT_CTX_CLEAR();
}

static void test_msgid_unique(void)
{
	char seen[20][2048];

	UNIT_CTX("Message-ID uniqueness");
	for (int i = 0; i < 20; i++) {
		struct run r;

		run_msg(IN("Subject: x\n\nb"), 0, NULL, FEED_FILE, NULL, 0, &r);
		CHECK_INT(r.rc, 0);
		snprintf(seen[i], sizeof seen[i], "%s", last_msgid);
		for (int k = 0; k < i; k++)
			CHECK(strcmp(seen[k], seen[i]) != 0);
		run_free(&r);
	}
	UNIT_CTX_CLEAR();
}

/* ---- errors ---- */

static void fsize_child(void *arg)
{
	struct rlimit rl = { 4096, 4096 };
	struct run r;
	static char in[100000];

	(void)arg;
	signal(SIGXFSZ, SIG_IGN);	/* write() then fails with EFBIG */
	memcpy(in, HDRS_LF "\n", sizeof HDRS_LF);
	memset(in + sizeof HDRS_LF, 'q', sizeof in - sizeof HDRS_LF);
	for (size_t k = 100; k < sizeof in; k += 100)
		in[k] = '\n';
	if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
		_exit(2);
	run_msg(in, sizeof in, 0, NULL, FEED_PIPE, NULL, 0, &r);	/* a memfd has the limit too */
	_exit(r.rc == -1 && r.e.kind == ERR_IO && r.m.fd == -1 ? 0 : 3);
}

/* A field that maildomain would make longer than its cap: ERR_DATA, not a crash or "out of
 * memory". 10,000 bare names (the most one field may hold) with a 190-byte domain each. */
static void test_qualify_cap(void)
{
	static char domain[200];
	struct msg_opts o;
	struct cb cb;
	struct msg m;
	struct buf in;
	struct err e = { 0 };
	int fd = memfd_create("qualify", MFD_CLOEXEC);

	UNIT_CTX("maildomain past the field's cap");
	memset(domain, 'd', 180);
	memcpy(domain + 180, ".example", 9);
	opts_for(F_MAILDOMAIN, NULL, &cb, &o);
	o.maildomain = domain;
	buf_init(&in, 1 << 22);
	if (buf_addstr(&in, "To: ") < 0)
		abort();
	for (int i = 0; i < 10000; i++)
		if (buf_addstr(&in, i ? ", aaaaaaaaaaaaaaaaaaaa" : "aaaaaaaaaaaaaaaaaaaa") < 0)
			abort();
	if (buf_addstr(&in, "\n\nbody\n") < 0 || write(fd, in.data, in.len) != (ssize_t)in.len)
		abort();
	lseek(fd, 0, SEEK_SET);
	CHECK_INT(msg_spool(fd, &o, SENDER, &m, &e), -1);
	CHECK_INT(e.kind, ERR_DATA);
	CHECK(strstr(e.text, "To: header would be longer") != NULL);
	CHECK_INT(m.fd, -1);
	close(fd);
	buf_free(&in);
	dir_is_empty();
	UNIT_CTX_CLEAR();
}

static void test_errors(void)
{
	struct msg_opts o;
	struct cb cb;
	struct msg m;
	struct err e;
	int fd;

	/* input that cannot be read */
	UNIT_CTX("unreadable input");
	opts_for(0, NULL, &cb, &o);
	fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	memset(&e, 0, sizeof e);
	CHECK_INT(msg_spool(fd, &o, SENDER, &m, &e), -1);
	CHECK_INT(e.kind, ERR_IO);
	CHECK_INT(m.fd, -1);
	close(fd);
	dir_is_empty();

	/* no spool directory */
	UNIT_CTX("missing spool directory");
	o.tmpdir = "/nonexistent/postbote-test";
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	memset(&e, 0, sizeof e);
	CHECK_INT(msg_spool(fd, &o, SENDER, &m, &e), -1);
	CHECK_INT(e.kind, ERR_IO);
	CHECK(strstr(e.text, "/nonexistent/postbote-test") != NULL);
	CHECK_INT(m.fd, -1);
	close(fd);

	/* the disk fills up */
	UNIT_CTX("spool write fails");
	CHECK_INT(unit_in_child(fsize_child, NULL), 0);
	UNIT_CTX_CLEAR();
}

/* A file that changes after msg_pass left some of it out of the spool: the spool cannot be made
 * from it again, and msg_write_more says so (ERR_IO) instead of queueing something else. */
static void test_pass_changed(void)
{
	struct msg_opts o;
	struct cb cb;
	struct msg m;
	struct err e = { 0 };
	struct buf in;
	int fd = memfd_create("msg-input", MFD_CLOEXEC);

	UNIT_CTX("input file changed after msg_pass");
	opts_for(0, NULL, &cb, &o);
	buf_init(&in, (size_t)-1 / 2);
	if (buf_addstr(&in, HDRS_LF "\n") < 0)
		abort();
	while (in.len < 300000)
		if (buf_addstr(&in, "a line of the body\n") < 0)
			abort();
	if (!CHECK(fd >= 0) || !CHECK(write(fd, in.data, in.len) == (ssize_t)in.len))
		return;
	lseek(fd, 0, SEEK_SET);
	if (CHECK_INT(msg_read_headers(fd, &o, &m, &e), 0) &&
	    CHECK_INT(msg_write_some(&m, SENDER, 1000, &e), 0)) {
		CHECK_INT(msg_pass(&m, 0, 200000, &e), 0);
		CHECK_INT(msg_pass(&m, 199000, 280000, &e), 0);
		CHECK(m.stored < 199000);	/* the part between was not kept */
		CHECK(pwrite(fd, "more\n", 5, (off_t)in.len) == 5);
		CHECK_INT(msg_write_more(&m, -1, &e), -1);
		CHECK_INT(e.kind, ERR_IO);
		CHECK(strstr(e.text, "changed") != NULL);
		CHECK_INT(m.fd, -1);	/* closed */
	}
	msg_close(&m);
	close(fd);
	buf_free(&in);
	dir_is_empty();
	UNIT_CTX_CLEAR();
}

int main(void)
{
	if (unit_tmpdir(dir, sizeof dir, "postbote-test-msg") < 0)
		return 99;
	shapes_init();
	test_cases();
	test_splits();
	test_boundaries();
	test_random_bodies();
	test_large();
	test_long_lines();
	test_unfoldable();
	test_long_name();
	test_sender_callback();
	test_date_zones();
	test_msgid_unique();
	test_errors();
	test_qualify_cap();
	test_pass_changed();
	CHECK(rmdir(dir) == 0);
	regfree(&re_date);
	regfree(&re_msgid);
	return unit_done();
}
