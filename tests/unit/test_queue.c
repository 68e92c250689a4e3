/* test_queue: the queue on disk. A message and its state survive the round trip field by field;
 * every kind of damage is recognised as damage (ERR_DATA) and never read as a message; an error
 * opening a file (no descriptors left) is not damage; the state file of version 0.1 still reads;
 * moving between areas keeps the state. Each case works in a fresh directory under $TMPDIR. */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "queue.h"
#include "unit.h"

static char top[256];
static struct queue q;

static void fresh_queue(const char *name)
{
	char dir[512];
	struct err e = { 0 };

	snprintf(dir, sizeof dir, "%s/%s", top, name);
	if (queue_open(&q, dir, &e) < 0) {
		fprintf(stderr, "queue_open: %s\n", e.text);
		exit(99);
	}
}

static struct spool spool_of(const char *text)
{
	int fd = memfd_create("spool", MFD_CLOEXEC);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	return (struct spool){ .fd = fd, .offset = 0, .size = (off_t)strlen(text) };
}

static char *rcpts3[] = { "bob@example.org", "carol@example.org", "dave@example.org" };
static const char body[] = "Subject: x\r\n\r\nbody\r\n";

/* Adds the standard message with a state: bob sent, carol failed, dave pending. */
static void add_std(enum queue_area area, char *id)
{
	struct envelope env = { .from = "alice@example.org", .rcpts = rcpts3, .nrcpts = 3,
				.body_8bit = 1, .dsn_notify = "SUCCESS,FAILURE", .dsn_ret = "HDRS",
				.dsn_envid = "id 1" };
	struct fate fates[3] = {
		{ .state = FATE_SENT, .reason = "250 2.0.0 ok" },
		{ .state = FATE_FAILED, .kind = ERR_NOUSER,
		  .reason = "localhost rejected recipient <carol@example.org>: 550\t5.1.1 gone" },
		{ .state = FATE_PENDING },
	};
	struct queue_state st = { .attempts = 3, .next = 2000000000, .last = 1999999000,
				  .error = "451 4.3.0 later", .fates = fates };
	struct spool sp = spool_of(body);
	struct err e = { 0 };

	CHECK_INT(queue_add(&q, area, "fake", &env, &sp, &st, id, &e), 0);
	close(sp.fd);
}

static void test_round_trip(void)
{
	char id[QUEUE_ID_MAX], got[64] = "";
	struct queue_entry ent;
	struct err e = { 0 };
	char **ids;
	size_t n;

	UNIT_CTX("round trip");
	fresh_queue("round");
	add_std(QUEUE_Q, id);
	CHECK_INT(queue_list(&q, QUEUE_Q, &ids, &n, &e), 0);
	CHECK_UINT(n, 1);
	if (n == 1)
		CHECK_STR(ids[0], id);
	queue_ids_free(ids, n);
	CHECK_INT(queue_get(&q, QUEUE_Q, id, 1, &ent, &e), 0);
	CHECK_STR(ent.account, "fake");
	CHECK_STR(ent.env.from, "alice@example.org");
	CHECK_UINT(ent.env.nrcpts, 3);
	CHECK_STR(ent.env.rcpts[2], "dave@example.org");
	CHECK_INT(ent.env.body_8bit, 1);
	CHECK_STR(ent.env.dsn_notify, "SUCCESS,FAILURE");
	CHECK_STR(ent.env.dsn_ret, "HDRS");
	CHECK_STR(ent.env.dsn_envid, "id 1");
	CHECK_INT(ent.spool.size, (long long)strlen(body));
	CHECK(ent.spool.fd >= 0);
	CHECK_INT(pread(ent.spool.fd, got, strlen(body), ent.spool.offset), (long long)strlen(body));
	CHECK_MEM(got, strlen(body), body, strlen(body));
	CHECK_UINT(ent.st.attempts, 3);
	CHECK_INT(ent.st.next, 2000000000);
	CHECK_INT(ent.st.last, 1999999000);
	CHECK_STR(ent.st.error, "451 4.3.0 later");
	CHECK_INT(queue_fate(&ent, 0), FATE_SENT);
	CHECK_INT(queue_fate(&ent, 1), FATE_FAILED);
	CHECK_INT(queue_fate(&ent, 2), FATE_PENDING);
	if (ent.st.fates) {
		CHECK_INT(ent.st.fates[1].kind, ERR_NOUSER);
		/* the reason is kept as a field: a tab or a colon in it changes nothing */
		CHECK_STR(ent.st.fates[1].reason,
			  "localhost rejected recipient <carol@example.org>: 550\t5.1.1 gone");
	}
	/* a second runner finds it locked */
	{
		struct queue_entry other;

		CHECK_INT(queue_get(&q, QUEUE_Q, id, 1, &other, &e), 1);
	}
	/* moved with its state */
	CHECK_INT(queue_move(&q, &ent, QUEUE_HOLD, &e), 0);
	queue_release(&ent);
	CHECK_INT(queue_get(&q, QUEUE_HOLD, id, 0, &ent, &e), 0);
	CHECK_INT(queue_fate(&ent, 1), FATE_FAILED);
	CHECK_UINT(ent.st.attempts, 3);
	CHECK_INT(queue_remove(&q, &ent, &e), 0);
	queue_release(&ent);
	CHECK_INT(queue_get(&q, QUEUE_HOLD, id, 0, &ent, &e), 1);
	UNIT_CTX_CLEAR();
}

static void write_file(const char *path, const char *text, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, text, n) != (ssize_t)n)
		abort();
	close(fd);
}

static size_t read_file(const char *path, char *out, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, out, size) : -1;

	if (n < 0)
		abort();
	close(fd);
	return (size_t)n;
}

/* Each variant of a good file is damage, read as such. */
static void test_damage(void)
{
	static const struct {
		const char *name;
		const char *find, *replace;	/* in the good file; NULL find: cut at `cut` */
		long cut;			/* bytes removed from the end */
	} t[] = {
		{ "no end marker", NULL, NULL, 4 },
		{ "cut in the message", NULL, NULL, 10 },
		{ "cut in the envelope", NULL, NULL, -40 },
		{ "another version", "postbote-queue 1", "postbote-queue 9", 0 },
		{ "no version line", "postbote-queue 1\n", "", 0 },
		{ "a size that does not match", "size: 20", "size: 21", 0 },
		{ "no account", "account: fake\n", "", 0 },
		{ "no sender", "from: alice@example.org\n", "", 0 },
		{ "no recipient", "rcpt: bob@example.org\nrcpt: carol@example.org\nrcpt: dave@example.org\n", "", 0 },
		{ "no size", "size: 20\n", "", 0 },
		{ "a NUL in the envelope", "account: fake", "account: f\0ke", 0 },
		{ "no empty line after the envelope", "\n\n", "\n", 0 },
	};
	char id[QUEUE_ID_MAX], path[4400], good[4096], bad[4096];
	size_t n;

	fresh_queue("damage");
	add_std(QUEUE_Q, id);
	snprintf(path, sizeof path, "%s/q/%s", q.dir, id);
	n = read_file(path, good, sizeof good);
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct queue_entry ent;
		struct err e = { 0 };
		size_t m = n;

		UNIT_CTX("damage: %s", t[i].name);
		memcpy(bad, good, n);
		if (t[i].find) {
			char *at = memmem(bad, n, t[i].find, strlen(t[i].find));
			size_t fl = strlen(t[i].find), rl = strlen(t[i].replace);

			if (!strcmp(t[i].name, "a NUL in the envelope"))
				rl = fl;
			if (!CHECK(at != NULL))
				continue;
			memmove(at + rl, at + fl, n - (size_t)(at - bad) - fl);
			memcpy(at, t[i].replace, rl);
			m = n - fl + rl;
		} else {
			m = t[i].cut > 0 ? n - (size_t)t[i].cut : (size_t)(-t[i].cut);
		}
		write_file(path, bad, m);
		CHECK_INT(queue_get(&q, QUEUE_Q, id, 1, &ent, &e), -1);
		CHECK_INT(e.kind, ERR_DATA);
		CHECK(strstr(e.text, id) != NULL);
		CHECK_INT(ent.spool.fd, -1);
		queue_release(&ent);
	}
	write_file(path, good, n);
	UNIT_CTX_CLEAR();
}

/* No descriptor left: that is no damage, and says so. */
static void test_emfile(void)
{
	char id[QUEUE_ID_MAX];
	struct queue_entry ent;
	struct rlimit old, low;
	struct err e = { 0 };
	int fd, r;

	UNIT_CTX("EMFILE");
	fresh_queue("emfile");
	add_std(QUEUE_Q, id);
	fd = dup(0);
	getrlimit(RLIMIT_NOFILE, &old);
	low = old;
	low.rlim_cur = (rlim_t)fd;	/* the next open() fails */
	close(fd);
	fd = open("/dev/null", O_RDONLY);	/* takes the last slot */
	if (setrlimit(RLIMIT_NOFILE, &low) < 0)
		abort();
	r = queue_get(&q, QUEUE_Q, id, 1, &ent, &e);
	setrlimit(RLIMIT_NOFILE, &old);
	close(fd);
	CHECK_INT(r, -1);
	CHECK(e.kind != ERR_DATA);
	CHECK(strstr(e.text, "Too many open files") != NULL);
	CHECK_INT(queue_get(&q, QUEUE_Q, id, 1, &ent, &e), 0);	/* it was never touched */
	queue_release(&ent);
	UNIT_CTX_CLEAR();
}

/* A state file written by postbote 0.1: "done:" and "failed: ADDR<TAB>REASON" lines. */
static void test_legacy_state(void)
{
	static const char st[] = "attempts: 2\nnext: 5\nlast: 4\ndone: bob@example.org\n"
				 "failed: carol@example.org\tlocalhost rejected it: 550 gone\n";
	char id[QUEUE_ID_MAX], path[4400];
	struct queue_entry ent;
	struct err e = { 0 };

	UNIT_CTX("a 0.1 state file");
	fresh_queue("legacy");
	add_std(QUEUE_Q, id);
	snprintf(path, sizeof path, "%s/q/%s.state", q.dir, id);
	write_file(path, st, sizeof st - 1);
	CHECK_INT(queue_get(&q, QUEUE_Q, id, 0, &ent, &e), 0);
	CHECK_UINT(ent.st.attempts, 2);
	CHECK_INT(queue_fate(&ent, 0), FATE_SENT);
	CHECK_INT(queue_fate(&ent, 1), FATE_FAILED);
	CHECK_INT(queue_fate(&ent, 2), FATE_PENDING);
	if (ent.st.fates)
		CHECK_STR(ent.st.fates[1].reason, "localhost rejected it: 550 gone");
	queue_release(&ent);
	UNIT_CTX_CLEAR();
}

/* queue_parse_state takes what it can and ignores what does not fit. */
static void test_state_lines(void)
{
	static const char env[] = "postbote-queue 1\naccount: a\nfrom: f@x\nrcpt: r1\nrcpt: r2\nsize: 1\n";
	static const char st[] = "fate: 5 sent 0 out of range\nfate: 0 bogus 0 x\nfate: x sent 0\n"
				 "fate: 1 failed 3 550 no\nnext: 77\nunknown: 1\n";
	struct queue_entry ent = { .spool.fd = -1 };
	struct err e = { 0 };

	UNIT_CTX("state lines");
	CHECK_INT(queue_parse_envelope(env, sizeof env - 1, &ent, &e), 0);
	queue_parse_state(st, sizeof st - 1, &ent);
	CHECK_INT(queue_fate(&ent, 0), FATE_PENDING);
	CHECK_INT(queue_fate(&ent, 1), FATE_FAILED);
	CHECK_INT(ent.st.next, 77);
	if (ent.st.fates)
		CHECK_STR(ent.st.fates[1].reason, "550 no");
	queue_release(&ent);
	UNIT_CTX_CLEAR();
}

int main(void)
{
	if (unit_tmpdir(top, sizeof top, "test_queue") < 0)
		return 99;
	test_round_trip();
	test_damage();
	test_emfile();
	test_legacy_state();
	test_state_lines();
	unit_rmtree(top);
	return unit_done();
}
