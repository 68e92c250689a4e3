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
#include "dropbox.h"
#include "log.h"
#include "mailq.h"
#include "msg.h"
#include "oauth.h"
#include "rcpt.h"
#include "runq.h"
#include "setup.h"
#include "smtpd.h"
#include "submission.h"
#include "submit.h"

/* the long options without a short one */
enum { OPT_VERSION = 1, OPT_HELP, OPT_READ_ENVELOPE_FROM, OPT_QUEUE_DELETE, OPT_QUEUE_HOLD,
       OPT_QUEUE_RELEASE, OPT_SERVERINFO, OPT_PRETEND, OPT_JSON, OPT_FAILED,
       OPT_OAUTH2_AUTHORIZE, OPT_IMPORT_MSMTPRC, OPT_CONFIGURE, OPT_PRESET };

enum mode { MODE_SEND, MODE_RUN, MODE_LIST, MODE_DELETE, MODE_HOLD, MODE_RELEASE,
	    MODE_SERVERINFO, MODE_NEWALIASES, MODE_VERIFY, MODE_SMTP, MODE_PRETEND,
	    MODE_OAUTH2_AUTHORIZE, MODE_IMPORT, MODE_CONFIGURE };

struct opts {
	enum mode mode;
	const char *queue_id;	/* -qI, --queue-delete and the like */
	int queue_all;		/* -q without an interval: every queued message, due or not */
	int smtp_idle;		/* -bs: -O Timeout.command=SECONDS */
	int json, list_failed;	/* -bp --json, -bp --failed */
	const char *output, *address, *preset;	/* -o FILE with --import-msmtprc; --configure */
	const char *config;
	int verbose;
	struct request rq;	/* what shapes the message: -f, -t, -N, the recipients, ... */
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
	      "  -q                   send every queued message now (-q5m: those that are due)\n"
	      "  -qI ID               send that message now\n"
	      "  -bp, mailq           list the queue, as Postfix's mailq does\n"
	      "      --json           with -bp: one JSON object per message (postqueue -j)\n"
	      "      --failed         with -bp: the messages given up instead\n"
	      "      --queue-delete ID, --queue-hold ID, --queue-release ID\n"
	      "  -bv RECIPIENT...     show where each recipient goes, and through which account\n"
	      "  -bi, newaliases      nothing to rebuild: aliases are read at each submission\n"
	      "  -bs                  SMTP on stdin and stdout (-O Timeout.command=SECONDS)\n"
	      "      --serverinfo     show the smarthost's capabilities, TLS and certificate\n"
	      "      --oauth2-authorize ACCOUNT  authorize OAuth 2.0 for the account once\n"
	      "  -P, --pretend        show the account's effective configuration (secrets hidden)\n"
	      "      --version        show the version\n"
	      "      --help           show this help\n"
	      "Setup:\n"
	      "      --import-msmtprc [FILE] [-o OUT]  translate an msmtp configuration\n"
	      "      --configure ADDRESS [--preset NAME]  find the server, print an account\n"
	      "      --preset list    the providers --configure knows\n"
	      "  -O smtputf8=yes      ask for SMTPUTF8 whatever the envelope\n"
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
			o->rq.body_8bit = 1;
		else if (strcasecmp(optarg, "7BIT") != 0)
			return err_set(e, ERR_USAGE, "-B takes 7BIT or 8BITMIME, not '%s'", optarg);
		return 0;
	case 'N':
		if (!conf_dsn_notify_ok(optarg))
			return err_set(e, ERR_USAGE, "-N takes never, or success, failure and delay "
				       "joined by commas, not '%s'", optarg);
		o->rq.dsn_notify = optarg;
		return 0;
	case 'R':
		if (strcasecmp(optarg, "full") == 0)
			o->rq.dsn_ret = "FULL";
		else if (strcasecmp(optarg, "hdrs") == 0 || strcasecmp(optarg, "headers") == 0)
			o->rq.dsn_ret = "HDRS";
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
		else if (strcmp(optarg, "s") == 0)
			*mode = MODE_SMTP;
		else if (strcmp(optarg, "m"))
			return err_set(e, ERR_USAGE, "mode -b%s is not supported; postbote sends mail "
				       "(-bm, or SMTP on stdin with -bs) and lists its queue (-bp)",
				       optarg);
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
	case OPT_OAUTH2_AUTHORIZE: *mode = MODE_OAUTH2_AUTHORIZE; o->rq.account = optarg; return 0;
	case OPT_IMPORT_MSMTPRC: *mode = MODE_IMPORT; return 0;
	case OPT_CONFIGURE: *mode = MODE_CONFIGURE; o->address = optarg; return 0;
	case 'P':
	case OPT_PRETEND: *mode = MODE_PRETEND; return 0;
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
	case 'a': o->rq.account = optarg; return 0;
	case 'f':
	case 'r': o->rq.from = optarg; return 0;
	case 'F': o->rq.full_name = optarg; return 0;
	case 'i': o->rq.ignore_dots = 1; return 0;
	case 't': o->rq.extract = 1; return 0;
	case OPT_READ_ENVELOPE_FROM: o->rq.read_envelope_from = 1; return 0;
	case OPT_JSON: o->json = 1; return 0;
	case OPT_FAILED: o->list_failed = 1; return 0;
	case 'V': o->rq.dsn_envid = optarg; return 0;
	case 'v': o->verbose = 1; return 0;
	case 'o': o->rq.ignore_dots |= strcmp(optarg, "i") == 0; o->output = optarg; return 0;
	case OPT_PRESET: o->preset = optarg; return 0;
	case 'O':
		/* sendmail's name for how long -bs waits for a command; the rest are ignored */
		if (strncasecmp(optarg, "Timeout.command=", 16) == 0 &&
		    (o->smtp_idle = atoi(optarg + 16)) <= 0)
			return err_set(e, ERR_USAGE, "-O Timeout.command takes seconds");
		if (strcasecmp(optarg, "smtputf8=yes") == 0 || strcasecmp(optarg, "smtputf8") == 0)
			o->rq.smtputf8 = 1;
		return 0;
	case 'h': case 'L': case 'm': case 'n': case 'G': case 'U': case 'X':
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
		{ "pretend", no_argument, NULL, OPT_PRETEND },
		{ "oauth2-authorize", required_argument, NULL, OPT_OAUTH2_AUTHORIZE },
		{ "import-msmtprc", no_argument, NULL, OPT_IMPORT_MSMTPRC },
		{ "configure", required_argument, NULL, OPT_CONFIGURE },
		{ "preset", required_argument, NULL, OPT_PRESET },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "failed", no_argument, NULL, OPT_FAILED },
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
	while ((c = getopt_long(argc, argv, "+:C:a:f:r:F:itvB:o:h:L:mnO:GUA:b:N:R:V:X:Pq::", longopts,
				NULL)) != -1) {
		enum mode mode = MODE_SEND;

		if (parse_opt(c, argc, argv, o, &mode, e) < 0)
			return -1;
		if (mode == MODE_SEND)
			continue;
		if (o->mode != MODE_SEND && o->mode != mode)
			return err_set(e, ERR_USAGE, "choose one of -q, -bp, -bi, -bs, -P, --queue-*, "
				       "--serverinfo and --oauth2-authorize");
		o->mode = mode;
	}
	if ((o->json || o->list_failed) && o->mode != MODE_LIST)
		return err_set(e, ERR_USAGE, "--json and --failed go with -bp (mailq)");
	o->rq.rcpts = argv + optind;
	o->rq.nrcpts = (size_t)(argc - optind);
	if (o->preset && o->mode == MODE_SEND && !o->rq.nrcpts)
		o->mode = MODE_CONFIGURE;	/* --preset list */
	if (o->preset && o->mode != MODE_CONFIGURE)
		return err_set(e, ERR_USAGE, "--preset goes with --configure ADDRESS");
	if (o->mode == MODE_IMPORT && o->rq.nrcpts == 3 && strcmp(o->rq.rcpts[1], "-o") == 0) {
		o->output = o->rq.rcpts[2];	/* FILE -o OUT: options end at FILE ('+') */
		o->rq.nrcpts = 1;
	}
	if (o->mode == MODE_IMPORT && o->rq.nrcpts > 1)
		return err_set(e, ERR_USAGE, "--import-msmtprc takes one file");
	if (o->mode != MODE_SEND && o->mode != MODE_VERIFY && o->mode != MODE_IMPORT &&
	    o->rq.nrcpts)
		return err_set(e, ERR_USAGE, "recipients make no sense with -q, -bp, -bi, -bs or "
			       "--queue-*");
	return 0;
}

static const char *login_name(void)
{
	struct passwd *pw = getpwuid(getuid());

	return pw ? pw->pw_name : "nobody";
}

/* --serverinfo: what deliver_probe collected, for a person to read. */
static int serverinfo(const struct conf *c, const struct opts *o, struct err *e)
{
	struct deliver_probe p;
	struct account a;
	int r;

	if (conf_account(c, o->rq.account, o->rq.from, &a, e) < 0)
		return -1;
	printf("Server: %s port %d, tls = %s\n", a.hosts[0], a.port, submission_tls_name(a.tls));
	if (oauth_enabled(&a))
		oauth_print_state(&a, stdout);
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

/* -P: the account a submission with these options would use, as a file would say it. */
static int pretend(const struct conf *c, const struct opts *o, struct err *e)
{
	struct account a;
	struct buf out;

	if (conf_account(c, o->rq.account, o->rq.from, &a, e) < 0)
		return -1;
	buf_init(&out, BUF_NO_MAX);
	if (conf_account_show(c, &a, &out) < 0)
		buf_broken(__FILE__, __LINE__);
	fputs(out.data, stdout);
	if (oauth_enabled(&a)) {	/* where the tokens are and when they expire, never a token */
		fputs("# OAuth 2.0 state\n", stdout);
		oauth_print_state(&a, stdout);
	}
	buf_free(&out);
	return 0;
}

/* -bv: where each recipient argument goes after aliases and qualification, through which account
 * and why, from which sender; nothing is read from stdin and nothing is sent. */
static int verify(const struct conf *c, struct opts *o, struct err *e)
{
	struct account a;
	char sender[1024];
	struct buf out;
	int r = -1;

	if (!o->rq.nrcpts)
		return err_set(e, ERR_USAGE, "-bv needs the recipients to verify");
	if (conf_account(c, o->rq.account, o->rq.from, &a, e) < 0 ||
	    submission_sender(&o->rq, &a, NULL, sender, sizeof sender, e) < 0)
		return -1;
	/* all of it, or (a bad recipient) nothing but the error */
	buf_init(&out, BUF_NO_MAX);
	if (buf_printf(&out, "account %s (%s): %s port %d, tls %s, from <%s>\n", a.name,
		       a.chosen_by, a.hosts[0], a.port, submission_tls_name(a.tls), sender) < 0)
		buf_broken(__FILE__, __LINE__);
	for (size_t i = 0; i < o->rq.nrcpts; i++) {
		struct rcpt_list l = { 0 };
		int bad = rcpt_add_arg(&l, o->rq.rcpts[i], e) < 0 ||
			  rcpt_expand(&l, a.aliases, a.maildomain, e) < 0;

		if (!bad && l.n) {	/* none: an empty argument, which rcpt_add_arg warned of */
			if (buf_add_clean_mode(&out, o->rq.rcpts[i], strlen(o->rq.rcpts[i]),
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

/* --oauth2-authorize ACCOUNT: the one-time OAuth 2.0 authorization, by a person. */
static int authorize(const struct conf *c, const struct opts *o, struct err *e)
{
	struct account a;

	if (conf_account(c, o->rq.account, NULL, &a, e) < 0)
		return -1;
	if (!oauth_enabled(&a))
		return err_set(e, ERR_CONFIG, "%s: account '%s' does not use OAuth 2.0: it needs auth "
			       "= xoauth2 (or oauthbearer) and oauth2_provider or "
			       "oauth2_token_endpoint", a.file, a.name);
	return oauth_authorize(&a, cred_client_secret, stdout, e);
}

/* The queue commands: -q, -qI, -bp, --queue-*; and --serverinfo, -P, --oauth2-authorize. */
static int other_mode(struct opts *o, const struct conf *c, struct err *e)
{
	struct runq_opts ro = { .account = o->rq.account, .id = o->queue_id, .all = o->queue_all };

	switch (o->mode) {
	case MODE_RUN: return runq(c, &ro, e);
	case MODE_LIST:
		return mailq_list(c, o->rq.account, o->json ? MAILQ_JSON : MAILQ_TEXT, o->list_failed, e);
	case MODE_DELETE: return mailq_edit(c, o->rq.account, MAILQ_DELETE, o->queue_id, e);
	case MODE_HOLD: return mailq_edit(c, o->rq.account, MAILQ_HOLD, o->queue_id, e);
	case MODE_RELEASE: return mailq_edit(c, o->rq.account, MAILQ_RELEASE, o->queue_id, e);
	case MODE_SERVERINFO: return serverinfo(c, o, e);
	case MODE_PRETEND: return pretend(c, o, e);
	case MODE_OAUTH2_AUTHORIZE: return authorize(c, o, e);
	case MODE_VERIFY: return verify(c, o, e);
	case MODE_NEWALIASES:
		/* package scripts run newaliases after editing /etc/aliases */
		log_note("postbote keeps no alias database: the aliases file is read as it is at "
			 "every submission, so there is nothing to rebuild");
		return 0;
	case MODE_SEND: case MODE_SMTP: case MODE_IMPORT: case MODE_CONFIGURE:
		break;	/* main's own */
	}
	return err_set(e, ERR_SOFTWARE, "unknown mode");
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct err e = { 0 };
	struct conf conf = { 0 };
	struct submission s;
	struct submit_report rep = { 0 };
	int code, sending = 0;

	signal(SIGPIPE, SIG_IGN);
	cred_harden();	/* before the configuration, which may hold a password, is read */
	submission_init(&s, &o.rq);
	o.rq.login = login_name();
	o.rq.uid = getuid();
	if (parse_args(argc, argv, &o, &e) < 0)
		goto done;
	log_set_verbose(o.verbose);
	if (o.mode == MODE_IMPORT) {	/* they read no postbote configuration */
		import_command(o.rq.nrcpts ? o.rq.rcpts[0] : NULL, o.output, &e);
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
	if (o.mode == MODE_SMTP) {	/* a local user's messages go through the drop */
		int r = conf_load(&conf, o.config, &e);

		if (r == 0 || conf.must_drop) {
			e = (struct err){ 0 };
			smtpd_serve(r == 0 ? &conf : NULL, &o.rq, o.smtp_idle, 0, 1, &e);
		}
		goto done;
	}
	if (o.mode != MODE_SEND) {
		if (conf_load(&conf, o.config, &e) == 0)
			other_mode(&o, &conf, &e);
		goto done;
	}
	if (o.rq.from && !*o.rq.from)
		o.rq.from = "<>";
	if (submission_rcpts(&s, &e) < 0)
		goto done;
	if (conf_load(&conf, o.config, &e) < 0) {
		if (conf.must_drop)	/* a local user: the drop program takes it from here */
			dropbox_hand(&o.rq, &e);
		goto done;
	}
	s.stream = 1;	/* submit follows at once */
	if (submission_account(&s, &conf, &e) < 0 || submission_read(&s, 0, 1, &e) < 0)
		goto done;
	sending = 1;
	submit(&conf, &s.a, &s.env, &s.sp, &rep, &e);
done:
	if (sending)
		submission_log(&s, &rep, exit_code(e.kind), &e);
	submission_free(&s);
	conf_free(&conf);
	code = exit_code(e.kind);
	if (code)
		log_error("%s", e.text);
	return code;
}
