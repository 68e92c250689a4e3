/* main: the sendmail command line. Reads the message, picks the account, submits it, and is the
 * one place where an error becomes an exit code. */
#include <ctype.h>
#include <getopt.h>
#include <netdb.h>
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
#include "log.h"
#include "msg.h"
#include "rcpt.h"
#include "smtp.h"

struct opts {
	const char *config, *account, *from, *full_name;
	int ignore_dots, verbose, extract, read_envelope_from, body_8bit;
	const char *dsn_notify, *dsn_ret, *dsn_envid;
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
	      "      --version        show the version\n"
	      "      --help           show this help\n"
	      "Accepted and ignored for sendmail compatibility: -o..., -h N, -L TAG,\n"
	      "-m, -n, -O OPT, -G, -U, -Ac, -Am, -bm, -B 7BIT.\n"
	      "See postbote(1) and postbote.conf(5).\n",
	      stdout);
}

static int parse_args(int argc, char **argv, struct opts *o, struct err *e)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'C' },
		{ "account", required_argument, NULL, 'a' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 1 },
		{ "help", no_argument, NULL, 2 },
		{ "read-envelope-from", no_argument, NULL, 3 },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":C:a:f:r:F:itvB:o:h:L:mnO:GUA:b:N:R:V:", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'C': o->config = optarg; break;
		case 'a': o->account = optarg; break;
		case 'f':
		case 'r': o->from = optarg; break;
		case 'F': o->full_name = optarg; break;
		case 'i': o->ignore_dots = 1; break;
		case 't': o->extract = 1; break;
		case 3: o->read_envelope_from = 1; break;
		case 'B':
			if (strcasecmp(optarg, "8BITMIME") == 0)
				o->body_8bit = 1;
			else if (strcasecmp(optarg, "7BIT") != 0)
				return err_set(e, ERR_USAGE, "-B takes 7BIT or 8BITMIME, not '%s'", optarg);
			break;
		case 'N':
			if (!conf_dsn_notify_ok(optarg))
				return err_set(e, ERR_USAGE, "-N takes never, or success, failure and "
					       "delay joined by commas, not '%s'", optarg);
			o->dsn_notify = optarg;
			break;
		case 'R':
			if (strcasecmp(optarg, "full") == 0)
				o->dsn_ret = "FULL";
			else if (strcasecmp(optarg, "hdrs") == 0 || strcasecmp(optarg, "headers") == 0)
				o->dsn_ret = "HDRS";
			else
				return err_set(e, ERR_USAGE, "-R takes full or hdrs, not '%s'", optarg);
			break;
		case 'V':
			o->dsn_envid = optarg;
			break;
		case 'v': o->verbose = 1; break;
		case 'o':
			if (strcmp(optarg, "i") == 0)
				o->ignore_dots = 1;
			break;
		case 'A':
			if (strcmp(optarg, "c") && strcmp(optarg, "m"))
				return err_set(e, ERR_USAGE, "unknown option -A%s; see postbote --help",
					       optarg);
			break;
		case 'b':
			if (strcmp(optarg, "m"))
				return err_set(e, ERR_USAGE, "mode -b%s is not supported; postbote only "
					       "sends mail (-bm)", optarg);
			break;
		case 'h': case 'L': case 'm': case 'n': case 'O': case 'G': case 'U':
			break;	/* accepted for compatibility; they change nothing here */
		case 1:
			puts(PACKAGE_STRING);
			exit(0);
		case 2:
			usage();
			exit(0);
		case ':':
			return err_set(e, ERR_USAGE, "option -%c needs an argument; see postbote --help",
				       optopt);
		default:
			if (optopt)
				return err_set(e, ERR_USAGE, "unknown option -%c; see postbote --help",
					       optopt);
			return err_set(e, ERR_USAGE, "unknown option %s; see postbote --help",
				       argv[optind - 1]);
		}
	}
	o->rcpts = argv + optind;
	o->nrcpts = (size_t)(argc - optind);
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

/* The machine's fully qualified name, for EHLO and Message-ID. */
static void fqdn(char *out, size_t size)
{
	struct addrinfo hints = { .ai_flags = AI_CANONNAME }, *res;

	if (gethostname(out, size) < 0 || !*out)
		snprintf(out, size, "localhost");
	out[size - 1] = '\0';
	if (!strchr(out, '.') && getaddrinfo(out, NULL, &hints, &res) == 0) {
		if (res->ai_canonname && strchr(res->ai_canonname, '.'))
			snprintf(out, size, "%s", res->ai_canonname);
		freeaddrinfo(res);
	}
}

/* The envelope sender, decided once the message's From: is known. */
struct sender_ctx {
	const struct opts *o;
	const struct account *a;
	const char *domain;
	char sender[1024];
	struct err e;
};

/* `from` with %U (login name), %H (host name) and %F (the From: header's address). */
static void expand_from(const char *tmpl, const char *header_from, const char *host, char *out,
			size_t size)
{
	struct passwd *pw = getpwuid(getuid());
	struct buf b;

	buf_init(&b, size - 1);
	for (const char *p = tmpl; *p; p++) {
		int r;

		if (p[0] == '%' && p[1] == 'U')
			r = buf_addstr(&b, pw ? pw->pw_name : "nobody");
		else if (p[0] == '%' && p[1] == 'H')
			r = buf_addstr(&b, host);
		else if (p[0] == '%' && p[1] == 'F')
			r = buf_addstr(&b, header_from ? header_from : "");
		else if (p[0] == '%' && p[1] == '%')
			r = buf_addch(&b, '%');
		else {
			r = buf_addch(&b, *p);
			p--;
		}
		p++;
		if (r < 0)
			break;
	}
	snprintf(out, size, "%s", b.data);
	buf_free(&b);
}

static const char *resolve_sender(void *ctx, const char *header_from)
{
	struct sender_ctx *c = ctx;
	const struct account *a = c->a;
	char *s = c->sender;

	if (c->o->from && (a->allow_from_override || !a->from))
		snprintf(s, sizeof c->sender, "%s", c->o->from);
	else if (c->o->read_envelope_from && header_from)
		snprintf(s, sizeof c->sender, "%s", header_from);
	else if (a->from)
		expand_from(a->from, header_from, c->domain, s, sizeof c->sender);
	if (!*s) {	/* nothing said, or %F without a From: header */
		struct passwd *pw = getpwuid(getuid());

		snprintf(s, sizeof c->sender, "%s", pw ? pw->pw_name : "nobody");
	}
	if (strcmp(s, "<>") == 0 || strcasecmp(s, "MAILER-DAEMON") == 0) {
		s[0] = '\0';
		return s;
	}
	if (s[0] == '<' && s[strlen(s) - 1] == '>') {
		memmove(s, s + 1, strlen(s) - 2);
		s[strlen(s) - 2] = '\0';
	}
	if (rcpt_is_local(s)) {
		size_t n = strlen(s);

		snprintf(s + n, sizeof c->sender - n, "@%s", a->maildomain ? a->maildomain : c->domain);
	}
	check_sender(s, &c->e);
	return s;
}

/* Envelope addresses for this server: as they are with SMTPUTF8, else with A-label domains. */
static int envelope_ascii(const struct smtp *s, struct smtp_envelope *env, char (*from)[1024],
			  char **rcpts, struct err *e)
{
	int utf8 = rcpt_is_utf8(env->from);

	for (size_t i = 0; i < env->nrcpts && !utf8; i++)
		utf8 = rcpt_is_utf8(env->rcpts[i]);
	if (!utf8)
		return 0;
	if (s->caps.flags & EHLO_SMTPUTF8) {
		env->smtputf8 = 1;
		return 0;
	}
	if (rcpt_to_ascii(env->from, *from, sizeof *from, e) < 0)
		return err_wrap(e, "%s does not offer SMTPUTF8", s->host);
	env->from = *from;
	for (size_t i = 0; i < env->nrcpts; i++) {
		char out[1024];

		if (rcpt_to_ascii(env->rcpts[i], out, sizeof out, e) < 0)
			return err_wrap(e, "%s does not offer SMTPUTF8", s->host);
		rcpts[i] = xstrdup(out);
	}
	env->rcpts = (const char *const *)rcpts;
	return 0;
}

/* One connection: greeting, EHLO, TLS, AUTH, the transaction. */
static int submit(struct smtp *s, const struct account *a, const char *domain,
		  const char *password, struct smtp_envelope *env, const struct msg *m,
		  struct err *e)
{
	struct tls_opts to = { .host = a->host, .trust_file = a->tls_trust_file };
	char from[1024], **rcpts = calloc(env->nrcpts + 1, sizeof *rcpts);
	int r;

	if (!rcpts)
		err_oom();
	if (a->tls == CONF_TLS_IMPLICIT)
		r = smtp_open_tls(s, a->host, a->port, a->timeout, &to, e);
	else
		r = smtp_open(s, a->host, a->port, a->timeout, e);
	if (r == 0)
		r = smtp_ehlo(s, domain, e);
	if (r == 0 && a->tls == CONF_TLS_STARTTLS)
		r = smtp_starttls(s, &to, e) < 0 || smtp_ehlo(s, domain, e) < 0 ? -1 : 0;
	if (r == 0 && strcmp(a->auth, "off") != 0)
		r = smtp_auth(s, a->auth, a->auth_plaintext, a->user, password, e);
	if (r == 0)
		r = envelope_ascii(s, env, &from, rcpts, e);
	if (r == 0)
		r = smtp_send(s, env, m->fd, m->size, e);
	for (size_t i = 0; i < env->nrcpts; i++)
		free(rcpts[i]);
	free(rcpts);
	return r;
}

static const char *tls_name(enum conf_tls t)
{
	return t == CONF_TLS_STARTTLS ? "starttls" : t == CONF_TLS_IMPLICIT ? "implicit" : "off";
}

static void log_result(const struct account *a, const struct smtp *s,
		       const struct smtp_envelope *env, const struct msg *m, const struct err *e)
{
	struct buf b;

	if (!a->logfile)
		return;
	buf_init(&b, 16384);
	if (buf_printf(&b, "host=%s tls=%s auth=%s user=%s from=%s recipients=", a->host,
		       tls_name(a->tls), s->mech[0] ? s->mech : "off", a->user ? a->user : "-",
		       *env->from ? env->from : "<>") < 0)
		err_oom();
	for (size_t i = 0; i < env->nrcpts; i++)
		if (buf_printf(&b, "%s%s", i ? "," : "", env->rcpts[i]) < 0)
			break;
	if (buf_printf(&b, " size=%lld %s=\"", (long long)m->size,
		       e->kind == ERR_NONE ? "reply" : "error") < 0 ||
	    buf_add_clean(&b, e->kind == ERR_NONE ? s->last : e->text,
			  strlen(e->kind == ERR_NONE ? s->last : e->text)) < 0 ||
	    buf_printf(&b, "\" exit=%d", exit_code(e->kind)) < 0)
		log_warn("log line too long; cut short");
	log_append(a->logfile, b.data);
	buf_free(&b);
}

/* The DSN keywords: the command line wins over the account. */
static void dsn_params(const struct opts *o, const struct account *a, struct smtp_envelope *env,
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
		       : !a->dsn_return ? NULL
		       : strcmp(a->dsn_return, "full") == 0 ? "FULL" : "HDRS";
	env->dsn_envid = o->dsn_envid;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct err e = { 0 };
	struct conf conf = { 0 };
	struct account a;
	struct msg m = { .fd = -1 };
	struct smtp s = { .conn.fd = -1 };
	struct rcpt_list rcpts = { 0 };
	struct sender_ctx sc = { 0 };
	char domain[256], password[1024] = "", notify[64];
	struct smtp_envelope env = { 0 };
	int code;

	signal(SIGPIPE, SIG_IGN);
	if (parse_args(argc, argv, &o, &e) < 0)
		goto done;
	log_set_verbose(o.verbose);
	if (o.nrcpts == 0 && !o.extract) {
		err_set(&e, ERR_USAGE, "no recipients given; usage: postbote [options] recipient..., "
			"or -t to read them from the message");
		goto done;
	}
	for (size_t i = 0; i < o.nrcpts; i++)
		if (rcpt_add_arg(&rcpts, o.rcpts[i], &e) < 0)
			goto done;
	if (o.from && !*o.from)
		o.from = "<>";
	if (conf_load(&conf, o.config, &e) < 0 ||
	    conf_account(&conf, o.account, o.from, &a, &e) < 0)
		goto done;
	if (a.domain)
		snprintf(domain, sizeof domain, "%s", a.domain);
	else
		fqdn(domain, sizeof domain);
	if (strcmp(a.auth, "off") != 0 && conf_password(&a, password, sizeof password, &e) < 0)
		goto done;

	sc = (struct sender_ctx){ .o = &o, .a = &a, .domain = domain };
	struct msg_opts mo = {
		.dot_ends = !o.ignore_dots,
		.extract = o.extract,
		.maildomain = a.maildomain,
		.remove_bcc = a.remove_bcc_headers,
		.set_from = strcmp(a.set_from_header, "on") == 0    ? MSG_FROM_ON
			    : strcmp(a.set_from_header, "off") == 0 ? MSG_FROM_OFF
								    : MSG_FROM_AUTO,
		.set_date = a.set_date_header,
		.set_msgid = a.set_msgid_header,
		.full_name = o.full_name ? o.full_name : a.from_full_name,
		.domain = domain,
		.sender = resolve_sender,
		.ctx = &sc,
	};
	if (msg_spool(0, &mo, &m, &e) < 0)
		goto done;
	if (sc.e.kind) {
		e = sc.e;
		goto done;
	}
	if (m.split_lines)
		log_warn("%lu line break%s inserted into body lines longer than %d bytes",
			 m.split_lines, m.split_lines == 1 ? "" : "s", MSG_LINE_MAX);
	for (size_t i = 0; i < m.rcpts.n; i++)
		rcpt_add(&rcpts, m.rcpts.v[i].spec);
	if (rcpt_expand(&rcpts, a.aliases, a.maildomain, &e) < 0)
		goto done;
	if (rcpts.n == 0) {
		err_set(&e, ERR_DATA, "no recipients: none given and none in the To:, Cc: or Bcc: "
			"of the message");
		goto done;
	}
	env.from = m.sender;
	env.rcpts = (const char *const *)rcpts.v;
	env.nrcpts = rcpts.n;
	env.body_8bit = m.eight_bit || o.body_8bit;
	dsn_params(&o, &a, &env, notify, sizeof notify);
	submit(&s, &a, domain, password, &env, &m, &e);
	explicit_bzero(password, sizeof password);
	env.rcpts = (const char *const *)rcpts.v;	/* as given, for the log */
	env.from = m.sender;
	log_result(&a, &s, &env, &m, &e);
	smtp_close(&s);
done:
	explicit_bzero(password, sizeof password);
	msg_close(&m);
	rcpt_free(&rcpts);
	conf_free(&conf);
	code = exit_code(e.kind);
	if (code)
		log_error("%s", e.text);
	return code;
}
