/* main: the sendmail command line. Reads the message, picks the account, submits it, and is the
 * one place where an error becomes an exit code. */
#include <ctype.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "cred.h"
#include "deliver.h"
#include "import.h"
#include "log.h"
#include "mailq.h"
#include "msg.h"
#include "rcpt.h"
#include "runq.h"
#include "setup.h"
#include "submit.h"

/* the long options without a short one */
enum { OPT_VERSION = 1, OPT_HELP, OPT_READ_ENVELOPE_FROM, OPT_QUEUE_DELETE, OPT_QUEUE_HOLD,
       OPT_QUEUE_RELEASE, OPT_SERVERINFO, OPT_IMPORT_MSMTPRC, OPT_CONFIGURE, OPT_PRESET };

enum mode { MODE_SEND, MODE_RUN, MODE_LIST, MODE_DELETE, MODE_HOLD, MODE_RELEASE,
	    MODE_SERVERINFO, MODE_NEWALIASES, MODE_VERIFY, MODE_IMPORT, MODE_CONFIGURE };

struct opts {
	enum mode mode;
	const char *queue_id;	/* -qI, --queue-delete and the like */
	int queue_all;		/* -q without an interval: every queued message, due or not */
	const char *config, *account, *from, *full_name;
	int ignore_dots, verbose, extract, read_envelope_from, body_8bit;
	const char *dsn_notify, *dsn_ret, *dsn_envid;
	const char *output, *address, *preset;	/* -o FILE with --import-msmtprc; --configure */
	char **rcpts;
	size_t nrcpts;
};

static int exit_code(enum err_kind k)
{
	switch (k) {
	case ERR_NONE: return 0;
	case ERR_USAGE: return EX_USAGE;
	case ERR_DATA: return EX_DATAERR;
	case ERR_NOUSER: return EX_NOUSER;
	case ERR_NOHOST: return EX_NOHOST;
	case ERR_UNAVAILABLE: return EX_UNAVAILABLE;
	case ERR_SOFTWARE: return EX_SOFTWARE;
	case ERR_OS: return EX_OSERR;
	case ERR_IO: return EX_IOERR;
	case ERR_TEMP: return EX_TEMPFAIL;
	case ERR_PROTOCOL: return EX_PROTOCOL;
	case ERR_AUTH: return EX_NOPERM;
	case ERR_CONFIG: return EX_CONFIG;
	}
	return EX_SOFTWARE;
}

static void usage(void)
{
	fputs("Usage: postbote [options] [--] recipient...\n"
	      "Reads a message on standard input and submits it to the account's smarthost.\n"
	      "\n"
	      "  -C, --config FILE    configuration file (default ~/.config/postbote/config)\n"
	      "  -a, --account NAME   account to use\n"
	      "  -f ADDR, -r ADDR     envelope sender (also picks the account with that from)\n"
	      "  -F NAME              full name for a From: header that postbote adds\n"
	      "  -i, -oi              a line with a single dot does not end the message\n"
	      "  -t                   also send to the To:, Cc: and Bcc: of the message\n"
	      "      --read-envelope-from  take the envelope sender from the From: header\n"
	      "  -N NOTIFY            DSN: never, or success,failure,delay\n"
	      "  -R full|hdrs         DSN: what a bounce returns\n"
	      "  -V ENVID             DSN: envelope identifier\n"
	      "  -B 8BITMIME          declare the body 8-bit\n"
	      "  -v, --verbose        show the SMTP conversation (passwords never shown)\n"
	      "Queue:\n"
	      "  -q                   send every message that is due (-q30m is the same)\n"
	      "  -qI ID               send that message now\n"
	      "  -bp, mailq           list the queue\n"
	      "      --queue-delete ID, --queue-hold ID, --queue-release ID\n"
	      "  -bv RECIPIENT...     show where each recipient goes, and through which account\n"
	      "  -bi, newaliases      nothing to rebuild: aliases are read at each submission\n"
	      "      --serverinfo     show the smarthost's capabilities, TLS and certificate\n"
	      "      --version        show the version\n"
	      "      --help           show this help\n"
	      "Setup:\n"
	      "      --import-msmtprc [FILE] [-o OUT]  translate an msmtp configuration\n"
	      "      --configure ADDRESS [--preset NAME]  find the server, print an account\n"
	      "      --preset list    the providers --configure knows\n"
	      "Accepted and ignored for sendmail compatibility: -o..., -h N, -L TAG,\n"
	      "-m, -n, -O OPT, -G, -U, -X FILE, -Ac, -Am, -bm, -B 7BIT.\n"
	      "See postbote(1) and postbote.conf(5).\n",
	      stdout);
}

/* -B, -N, -R: the values a message option may take. 1 when c is none of them. */
static int parse_value_opt(int c, struct opts *o, struct err *e)
{
	switch (c) {
	case 'B':
		if (strcasecmp(optarg, "8BITMIME") == 0)
			o->body_8bit = 1;
		else if (strcasecmp(optarg, "7BIT") != 0)
			return err_set(e, ERR_USAGE, "-B takes 7BIT or 8BITMIME, not '%s'", optarg);
		return 0;
	case 'N':
		if (!conf_dsn_notify_ok(optarg))
			return err_set(e, ERR_USAGE, "-N takes never, or success, failure and delay "
				       "joined by commas, not '%s'", optarg);
		o->dsn_notify = optarg;
		return 0;
	case 'R':
		if (strcasecmp(optarg, "full") == 0)
			o->dsn_ret = "FULL";
		else if (strcasecmp(optarg, "hdrs") == 0 || strcasecmp(optarg, "headers") == 0)
			o->dsn_ret = "HDRS";
		else
			return err_set(e, ERR_USAGE, "-R takes full or hdrs, not '%s'", optarg);
		return 0;
	case 'A':
		if (strcmp(optarg, "c") && strcmp(optarg, "m"))
			return err_set(e, ERR_USAGE, "unknown option -A%s; see postbote --help", optarg);
		return 0;
	}
	return 1;
}

/* The options that choose a mode other than sending: -b, -q, --queue-*, --serverinfo. 1 when c
 * is none of them. */
static int parse_mode_opt(int c, int argc, char **argv, struct opts *o, enum mode *mode,
			  struct err *e)
{
	switch (c) {
	case 'b':
		if (strcmp(optarg, "p") == 0)
			*mode = MODE_LIST;
		else if (strcmp(optarg, "i") == 0)
			*mode = MODE_NEWALIASES;
		else if (strcmp(optarg, "v") == 0)
			*mode = MODE_VERIFY;
		else if (strcmp(optarg, "m"))
			return err_set(e, ERR_USAGE, "mode -b%s is not supported; postbote sends mail "
				       "(-bm) and lists its queue (-bp)", optarg);
		return 0;
	case 'q':
		*mode = MODE_RUN;
		o->queue_all = !optarg;	/* -q5m (a daemon's interval) tries only what is due */
		if (optarg && optarg[0] == 'I' && optarg[1])
			o->queue_id = optarg + 1;
		else if (optarg && strcmp(optarg, "I") == 0 && optind < argc)
			o->queue_id = argv[optind++];	/* -qI ID */
		else if (optarg && strspn(optarg, "0123456789smhd") != strlen(optarg))
			return err_set(e, ERR_USAGE, "-q%s is not supported; use -q, -qI ID or -q with "
				       "an interval", optarg);
		return 0;
	case OPT_QUEUE_DELETE: *mode = MODE_DELETE; o->queue_id = optarg; return 0;
	case OPT_QUEUE_HOLD: *mode = MODE_HOLD; o->queue_id = optarg; return 0;
	case OPT_QUEUE_RELEASE: *mode = MODE_RELEASE; o->queue_id = optarg; return 0;
	case OPT_SERVERINFO: *mode = MODE_SERVERINFO; return 0;
	case OPT_IMPORT_MSMTPRC: *mode = MODE_IMPORT; return 0;
	case OPT_CONFIGURE: *mode = MODE_CONFIGURE; o->address = optarg; return 0;
	}
	return 1;
}

/* One option. */
static int parse_opt(int c, int argc, char **argv, struct opts *o, enum mode *mode, struct err *e)
{
	int r = parse_value_opt(c, o, e);

	if (r != 1 || (r = parse_mode_opt(c, argc, argv, o, mode, e)) != 1)
		return r;
	switch (c) {
	case 'C': o->config = optarg; return 0;
	case 'a': o->account = optarg; return 0;
	case 'f':
	case 'r': o->from = optarg; return 0;
	case 'F': o->full_name = optarg; return 0;
	case 'i': o->ignore_dots = 1; return 0;
	case 't': o->extract = 1; return 0;
	case OPT_READ_ENVELOPE_FROM: o->read_envelope_from = 1; return 0;
	case 'V': o->dsn_envid = optarg; return 0;
	case 'v': o->verbose = 1; return 0;
	case 'o': o->ignore_dots |= strcmp(optarg, "i") == 0; o->output = optarg; return 0;
	case OPT_PRESET: o->preset = optarg; return 0;
	case 'h': case 'L': case 'm': case 'n': case 'O': case 'G': case 'U': case 'X':
		return 0;	/* accepted for compatibility; they change nothing here */
	case OPT_VERSION:
		puts(PACKAGE_STRING);
		exit(0);
	case OPT_HELP:
		usage();
		exit(0);
	case ':':
		return err_set(e, ERR_USAGE, "option -%c needs an argument; see postbote --help",
			       optopt);
	}
	if (optopt)
		return err_set(e, ERR_USAGE, "unknown option -%c; see postbote --help", optopt);
	return err_set(e, ERR_USAGE, "unknown option %s; see postbote --help", argv[optind - 1]);
}

static int parse_args(int argc, char **argv, struct opts *o, struct err *e)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'C' },
		{ "account", required_argument, NULL, 'a' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "help", no_argument, NULL, OPT_HELP },
		{ "read-envelope-from", no_argument, NULL, OPT_READ_ENVELOPE_FROM },
		{ "queue-delete", required_argument, NULL, OPT_QUEUE_DELETE },
		{ "queue-hold", required_argument, NULL, OPT_QUEUE_HOLD },
		{ "queue-release", required_argument, NULL, OPT_QUEUE_RELEASE },
		{ "serverinfo", no_argument, NULL, OPT_SERVERINFO },
		{ "import-msmtprc", no_argument, NULL, OPT_IMPORT_MSMTPRC },
		{ "configure", required_argument, NULL, OPT_CONFIGURE },
		{ "preset", required_argument, NULL, OPT_PRESET },
		{ NULL, 0, NULL, 0 },
	};
	const char *name = strrchr(argv[0], '/');
	int c;

	name = name ? name + 1 : argv[0];
	if (strcmp(name, "mailq") == 0)
		o->mode = MODE_LIST;
	else if (strcmp(name, "newaliases") == 0)
		o->mode = MODE_NEWALIASES;
	opterr = 0;
	/* '+': options end at the first recipient, as in Postfix's sendmail; an address that a
	 * caller passes after its own can never be taken for -C or -f */
	while ((c = getopt_long(argc, argv, "+:C:a:f:r:F:itvB:o:h:L:mnO:GUA:b:N:R:V:X:q::", longopts,
				NULL)) != -1) {
		enum mode mode = MODE_SEND;

		if (parse_opt(c, argc, argv, o, &mode, e) < 0)
			return -1;
		if (mode == MODE_SEND)
			continue;
		if (o->mode != MODE_SEND && o->mode != mode)
			return err_set(e, ERR_USAGE, "choose one of -q, -bp, -bi, --queue-* and "
				       "--serverinfo");
		o->mode = mode;
	}
	o->rcpts = argv + optind;
	o->nrcpts = (size_t)(argc - optind);
	if (o->preset && o->mode == MODE_SEND && !o->nrcpts)
		o->mode = MODE_CONFIGURE;	/* --preset list */
	if (o->preset && o->mode != MODE_CONFIGURE)
		return err_set(e, ERR_USAGE, "--preset goes with --configure ADDRESS");
	if (o->mode == MODE_IMPORT && o->nrcpts == 3 && strcmp(o->rcpts[1], "-o") == 0) {
		o->output = o->rcpts[2];	/* FILE -o OUT: options end at FILE ('+') */
		o->nrcpts = 1;
	}
	if (o->mode == MODE_IMPORT && o->nrcpts > 1)
		return err_set(e, ERR_USAGE, "--import-msmtprc takes one file");
	if (o->mode != MODE_SEND && o->mode != MODE_VERIFY && o->mode != MODE_IMPORT && o->nrcpts)
		return err_set(e, ERR_USAGE, "recipients make no sense with -q, -bp, -bi or "
			       "--queue-*");
	return 0;
}

/* A sender address: no blanks, controls, brackets or commas. */
static int check_sender(const char *a, struct err *e)
{
	for (const unsigned char *p = (const unsigned char *)a; *p; p++)
		if (*p <= ' ' || *p == 127 || *p == '<' || *p == '>' || *p == ',')
			return err_set(e, ERR_USAGE, "invalid sender address '%s'", a);
	return 0;
}

static const char *login_name(void)
{
	struct passwd *pw = getpwuid(getuid());

	return pw ? pw->pw_name : "nobody";
}

/* `from` with %U (login name), %H (host name) and %F (the From: header's address). */
static void expand_from(const char *tmpl, const char *header_from, const char *host, char *out,
			size_t size)
{
	struct buf b;
	int r = 0;

	buf_init(&b, size - 1);
	for (const char *p = tmpl; *p && r == 0; p++) {
		if (p[0] != '%' || !p[1] || !strchr("UHF%", p[1])) {
			r = buf_addch(&b, *p);
			continue;
		}
		p++;
		r = *p == 'U' ? buf_addstr(&b, login_name())
		    : *p == 'H' ? buf_addstr(&b, host)
		    : *p == 'F' ? buf_addstr(&b, header_from ? header_from : "")
				: buf_addch(&b, '%');
	}
	snprintf(out, size, "%s", b.data);
	buf_free(&b);
}

/* The envelope sender, decided once the message's From: is known (header_from: its first
 * address, or NULL): -f, else --read-envelope-from, else the account's `from` (with %U %H %F),
 * else the login name; qualified; "" for the null sender. */
static int decide_sender(const struct opts *o, const struct account *a, const char *header_from,
			 char *s, size_t size, struct err *e)
{
	const char *domain = a->domain;

	s[0] = '\0';
	if (o->from && (a->allow_from_override || !a->from))
		snprintf(s, size, "%s", o->from);
	else if (o->read_envelope_from && header_from)
		snprintf(s, size, "%s", header_from);
	else if (a->from)
		expand_from(a->from, header_from, domain, s, size);
	if (!*s)	/* nothing said, or %F without a From: header */
		snprintf(s, size, "%s", login_name());
	if (strcmp(s, "<>") == 0 || strcasecmp(s, "MAILER-DAEMON") == 0) {
		s[0] = '\0';
		return 0;
	}
	if (s[0] == '<' && s[strlen(s) - 1] == '>') {
		memmove(s, s + 1, strlen(s) - 2);
		s[strlen(s) - 2] = '\0';
	}
	if (rcpt_is_local(s)) {
		size_t n = strlen(s);

		snprintf(s + n, size - n, "@%s", a->maildomain ? a->maildomain : domain);
	}
	return check_sender(s, e);
}

static const char *tls_mode_name(enum conf_tls t)
{
	return t == CONF_TLS_STARTTLS ? "starttls" : t == CONF_TLS_IMPLICIT ? "implicit" : "off";
}

/* The log file's line for a submission. */
static void report_log(const struct account *a, const struct submit_report *rep,
		       const struct envelope *env, const struct spool *sp, const struct err *e)
{
	struct buf b, list;

	if (!a->logfile)
		return;
	buf_init(&b, 65536);	/* room for the list below with every byte escaped */
	buf_init(&list, 8192 + 4);
	for (size_t i = 0; i < env->nrcpts; i++)
		if (list.len + 1 + strlen(env->rcpts[i]) > 8192 ||
		    buf_printf(&list, "%s%s", i ? "," : "", env->rcpts[i]) < 0) {
			if (buf_addstr(&list, ",...") < 0)	/* too many for one line: say so */
				abort();	/* cannot happen: 4 bytes are kept for it */
			break;
		}
	if (log_field(&b, "host", rep->host[0] ? rep->host : a->hosts[0]) < 0 ||
	    log_field(&b, "tls", tls_mode_name(a->tls)) < 0 ||
	    log_field(&b, "auth", rep->mech[0] ? rep->mech : "off") < 0 ||
	    log_field(&b, "user", a->user ? a->user : "-") < 0 ||
	    log_field(&b, "from", *env->from ? env->from : "<>") < 0 ||
	    log_field(&b, "recipients", list.data) < 0 ||
	    log_field_num(&b, "size", (long long)sp->size) < 0 ||
	    (rep->queued[0] && log_field(&b, "queued", rep->queued) < 0) ||
	    log_field(&b, e->kind == ERR_NONE ? "reply" : "error",
		      e->kind == ERR_NONE ? rep->reply : e->text) < 0 ||
	    log_field_num(&b, "exit", exit_code(e->kind)) < 0)
		log_warn("log line too long; cut short");
	log_append(a->logfile, b.data);
	buf_free(&list);
	buf_free(&b);
}

/* The DSN keywords: the command line wins over the account. */
static void dsn_params(const struct opts *o, const struct account *a, struct envelope *env,
		       char *notify, size_t size)
{
	const char *n = o->dsn_notify ? o->dsn_notify : a->dsn_notify;

	if (n) {
		snprintf(notify, size, "%s", n);
		for (char *p = notify; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		env->dsn_notify = notify;
	}
	env->dsn_ret = o->dsn_ret ? o->dsn_ret
		       : a->dsn_return == CONF_DSN_RET_FULL ? "FULL"
		       : a->dsn_return == CONF_DSN_RET_HDRS ? "HDRS" : NULL;
	env->dsn_envid = o->dsn_envid;
}

/* --serverinfo: what deliver_probe collected, for a person to read. */
static int serverinfo(const struct conf *c, const struct opts *o, struct err *e)
{
	struct deliver_probe p;
	struct account a;
	int r;

	if (conf_account(c, o->account, o->from, &a, e) < 0)
		return -1;
	printf("Server: %s port %d, tls = %s\n", a.hosts[0], a.port, tls_mode_name(a.tls));
	r = deliver_probe(&a, &p, e);
	if (p.greeting)
		printf("Greeting: %s\n", p.greeting);
	if (p.ehlo_plain)
		printf("EHLO reply before STARTTLS:\n%s", p.ehlo_plain);
	if (p.tls_desc)
		printf("TLS: %s\n%s", p.tls_desc, p.tls_info ? p.tls_info : "");
	if (p.ehlo)
		printf("EHLO reply %s:\n%s", p.tls_desc ? "with TLS" : "without TLS", p.ehlo);
	fflush(stdout);
	deliver_probe_free(&p);
	return r;
}

/* -bv: where each recipient argument goes after aliases and qualification, through which account
 * and why, from which sender; nothing is read from stdin and nothing is sent. */
static int verify(const struct conf *c, struct opts *o, struct err *e)
{
	struct account a;
	char sender[1024];
	struct buf out;
	int r = -1;

	if (!o->nrcpts)
		return err_set(e, ERR_USAGE, "-bv needs the recipients to verify");
	if (o->from && !*o->from)
		o->from = "<>";
	if (conf_account(c, o->account, o->from, &a, e) < 0 ||
	    decide_sender(o, &a, NULL, sender, sizeof sender, e) < 0)
		return -1;
	/* all of it, or (a bad recipient) nothing but the error */
	buf_init(&out, BUF_NO_MAX);
	if (buf_printf(&out, "account %s (%s): %s port %d, tls %s, from <%s>\n", a.name,
		       a.chosen_by, a.hosts[0], a.port, tls_mode_name(a.tls), sender) < 0)
		buf_broken(__FILE__, __LINE__);
	for (size_t i = 0; i < o->nrcpts; i++) {
		struct rcpt_list l = { 0 };
		int bad = rcpt_add_arg(&l, o->rcpts[i], e) < 0 ||
			  rcpt_expand(&l, a.aliases, a.maildomain, e) < 0;

		if (!bad && l.n) {	/* none: an empty argument, which rcpt_add_arg warned of */
			if (buf_add_clean_mode(&out, o->rcpts[i], strlen(o->rcpts[i]),
					       BUF_CLEAN_KEEP_UTF8) < 0 || buf_addstr(&out, " ->") < 0)
				buf_broken(__FILE__, __LINE__);
			for (size_t k = 0; k < l.n; k++)
				if (buf_addstr(&out, k ? ", <" : " <") < 0 ||
				    buf_add_clean_mode(&out, l.v[k], strlen(l.v[k]),
						       BUF_CLEAN_KEEP_UTF8) < 0 ||
				    buf_addstr(&out, ">") < 0)
					buf_broken(__FILE__, __LINE__);
			if (buf_addch(&out, '\n') < 0)
				buf_broken(__FILE__, __LINE__);
		}
		rcpt_free(&l);
		if (bad)
			goto out;
	}
	fputs(out.data, stdout);
	r = 0;
out:
	buf_free(&out);
	return r;
}

/* The queue commands: -q, -qI, -bp, --queue-*; and --serverinfo. */
static int other_mode(struct opts *o, const struct conf *c, struct err *e)
{
	struct runq_opts ro = { .account = o->account, .id = o->queue_id, .all = o->queue_all };

	switch (o->mode) {
	case MODE_RUN: return runq(c, &ro, e);
	case MODE_LIST: return mailq_list(c, o->account, e);
	case MODE_DELETE: return mailq_edit(c, o->account, MAILQ_DELETE, o->queue_id, e);
	case MODE_HOLD: return mailq_edit(c, o->account, MAILQ_HOLD, o->queue_id, e);
	case MODE_RELEASE: return mailq_edit(c, o->account, MAILQ_RELEASE, o->queue_id, e);
	case MODE_SERVERINFO: return serverinfo(c, o, e);
	case MODE_VERIFY: return verify(c, o, e);
	case MODE_NEWALIASES:
		/* package scripts run newaliases after editing /etc/aliases */
		log_note("postbote keeps no alias database: the aliases file is read as it is at "
			 "every submission, so there is nothing to rebuild");
		return 0;
	case MODE_SEND: case MODE_IMPORT: case MODE_CONFIGURE: break;	/* main's own */
	}
	return err_set(e, ERR_SOFTWARE, "unknown mode");
}

/* One message on its way: what main reads, decides and hands to submit. */
struct submission {
	const struct opts *o;
	struct account a;
	struct msg m;
	struct rcpt_list rcpts;
	char sender[1024], notify[64];
	struct envelope env;
	struct spool sp;
};

/* The message from stdin into the spool, with its envelope decided: the sender and (-t) the
 * recipients from the header section first, then the message written, the aliases applied. */
static int read_message(struct submission *s, struct err *e)
{
	const struct opts *o = s->o;
	const struct account *a = &s->a;
	struct msg_opts mo = {
		.dot_ends = !o->ignore_dots,
		.maildomain = a->maildomain,
		.remove_bcc = a->remove_bcc_headers,
		.set_from = a->set_from_header == CONF_FROM_ON	  ? MSG_FROM_ON
			    : a->set_from_header == CONF_FROM_OFF ? MSG_FROM_OFF
								  : MSG_FROM_AUTO,
		.set_date = a->set_date_header,
		.set_msgid = a->set_msgid_header,
		.full_name = o->full_name ? o->full_name : a->from_full_name,
		.domain = a->domain,
	};

	if (msg_read_headers(0, &mo, &s->m, e) < 0 ||
	    decide_sender(o, a, s->m.header_from, s->sender, sizeof s->sender, e) < 0 ||
	    (o->extract && rcpt_from_headers(&s->rcpts, &s->m.fields, e) < 0) ||
	    msg_write(&s->m, s->sender, e) < 0)
		return -1;
	if (s->m.split_lines)
		log_warn("%lu line break%s inserted into body lines longer than %d bytes",
			 s->m.split_lines, s->m.split_lines == 1 ? "" : "s", MSG_LINE_MAX);
	if (rcpt_expand(&s->rcpts, a->aliases, a->maildomain, e) < 0)
		return -1;
	if (s->rcpts.n == 0)
		return err_set(e, ERR_DATA, "no recipients: none given and none in the To:, Cc: or "
			       "Bcc: of the message");
	s->env = (struct envelope){ .from = s->m.sender, .rcpts = s->rcpts.v,
				    .nrcpts = s->rcpts.n, .body_8bit = s->m.eight_bit || o->body_8bit };
	s->sp = (struct spool){ .fd = s->m.fd, .offset = 0, .size = s->m.size };
	dsn_params(o, a, &s->env, s->notify, sizeof s->notify);
	return 0;
}

/* The recipients on the command line, the configuration and the account. */
static int prepare(struct submission *s, struct conf *conf, struct opts *o, struct err *e)
{
	for (size_t i = 0; i < o->nrcpts; i++)
		if (rcpt_add_arg(&s->rcpts, o->rcpts[i], e) < 0)
			return -1;
	if (s->rcpts.n == 0 && !o->extract)	/* none, or only empty arguments */
		return err_set(e, ERR_USAGE, "no recipients given; usage: postbote [options] "
			       "recipient..., or -t to read them from the message");
	if (o->from && !*o->from)
		o->from = "<>";
	if (conf_load(conf, o->config, e) < 0 || conf_account(conf, o->account, o->from, &s->a, e) < 0)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct err e = { 0 };
	struct conf conf = { 0 };
	struct submission s = { .o = &o, .m = { .fd = -1 }, .sp = { .fd = -1 } };
	struct submit_report rep = { 0 };
	int code, sending = 0;

	signal(SIGPIPE, SIG_IGN);
	cred_harden();	/* before the configuration, which may hold a password, is read */
	if (parse_args(argc, argv, &o, &e) < 0)
		goto done;
	log_set_verbose(o.verbose);
	if (o.mode == MODE_IMPORT) {	/* they read no postbote configuration */
		import_command(o.nrcpts ? o.rcpts[0] : NULL, o.output, &e);
		goto done;
	}
	if (o.mode == MODE_CONFIGURE) {
		setup_configure(o.address, o.preset, &e);
		goto done;
	}
	if (o.mode == MODE_NEWALIASES) {
		other_mode(&o, &conf, &e);	/* needs no configuration */
		goto done;
	}
	if (o.mode != MODE_SEND) {
		if (conf_load(&conf, o.config, &e) == 0)
			other_mode(&o, &conf, &e);
		goto done;
	}
	if (prepare(&s, &conf, &o, &e) < 0 || read_message(&s, &e) < 0)
		goto done;
	sending = 1;
	submit(&conf, &s.a, &s.env, &s.sp, &rep, &e);
done:
	if (sending)
		report_log(&s.a, &rep, &s.env, &s.sp, &e);
	msg_close(&s.m);
	rcpt_free(&s.rcpts);
	conf_free(&conf);
	code = exit_code(e.kind);
	if (code)
		log_error("%s", e.text);
	return code;
}
