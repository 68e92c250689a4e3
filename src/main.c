/* main: the sendmail command line. Reads the message, picks the account, submits it, and is the
 * one place where an error becomes an exit code. */
#include <getopt.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "log.h"
#include "msg.h"
#include "smtp.h"

struct opts {
	const char *config, *account, *from, *full_name;
	int ignore_dots, verbose;
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
	      "  -v, --verbose        show the SMTP conversation (passwords never shown)\n"
	      "      --version        show the version\n"
	      "      --help           show this help\n"
	      "Accepted and ignored for sendmail compatibility: -B TYPE, -o..., -h N, -L TAG,\n"
	      "-m, -n, -O OPT, -G, -U, -Ac, -Am, -bm, -N DSN, -R RET, -V ENVID.\n"
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
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":C:a:f:r:F:ivB:o:h:L:mnO:GUA:b:N:R:V:", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'C': o->config = optarg; break;
		case 'a': o->account = optarg; break;
		case 'f':
		case 'r': o->from = optarg; break;
		case 'F': o->full_name = optarg; break;
		case 'i': o->ignore_dots = 1; break;
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
		case 'B': case 'h': case 'L': case 'm': case 'n': case 'O': case 'G': case 'U':
		case 'N': case 'R': case 'V':
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

/* A command-line recipient: "addr" or "<addr>", no blanks or control characters. */
static int check_rcpt(char *r, struct err *e)
{
	size_t n = strlen(r);

	if (n >= 2 && r[0] == '<' && r[n - 1] == '>') {
		memmove(r, r + 1, n - 2);
		r[n - 2] = '\0';
	}
	if (!*r)
		return err_set(e, ERR_USAGE, "empty recipient address");
	for (const unsigned char *p = (const unsigned char *)r; *p; p++)
		if (*p <= ' ' || *p == 127 || *p == '<' || *p == '>' || *p == ',')
			return err_set(e, ERR_USAGE, "invalid recipient address '%s'", r);
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

static const char *tls_name(enum conf_tls t)
{
	return t == CONF_TLS_STARTTLS ? "starttls" : t == CONF_TLS_IMPLICIT ? "implicit" : "off";
}

/* One connection: greeting, EHLO, TLS, AUTH, the transaction. */
static int submit(struct smtp *s, const struct account *a, const char *domain,
		  const char *password, const struct smtp_envelope *env, const struct msg *m,
		  struct err *e)
{
	struct tls_opts to = { .host = a->host, .trust_file = a->tls_trust_file };

	if (a->tls == CONF_TLS_IMPLICIT) {
		if (smtp_open_tls(s, a->host, a->port, a->timeout, &to, e) < 0)
			return -1;
	} else if (smtp_open(s, a->host, a->port, a->timeout, e) < 0) {
		return -1;
	}
	if (smtp_ehlo(s, domain, e) < 0)
		return -1;
	if (a->tls == CONF_TLS_STARTTLS &&
	    (smtp_starttls(s, &to, e) < 0 || smtp_ehlo(s, domain, e) < 0))
		return -1;
	if (strcmp(a->auth, "off") != 0 &&
	    smtp_auth(s, a->auth, a->auth_plaintext, a->user, password, e) < 0)
		return -1;
	return smtp_send(s, env, m->fd, m->size, e);
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

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct err e = { 0 };
	struct conf conf = { 0 };
	struct account a;
	struct msg m = { .fd = -1 };
	struct smtp s = { .conn.fd = -1 };
	char domain[256], sender[1024], password[1024] = "";
	struct smtp_envelope env = { 0 };
	int code;

	signal(SIGPIPE, SIG_IGN);
	if (parse_args(argc, argv, &o, &e) < 0)
		goto done;
	log_set_verbose(o.verbose);
	if (o.nrcpts == 0) {
		err_set(&e, ERR_USAGE, "no recipients given; usage: postbote [options] recipient...");
		goto done;
	}
	for (size_t i = 0; i < o.nrcpts; i++)
		if (check_rcpt(o.rcpts[i], &e) < 0)
			goto done;
	if (conf_load(&conf, o.config, &e) < 0 ||
	    conf_account(&conf, o.account, o.from, &a, &e) < 0)
		goto done;
	if (a.domain)
		snprintf(domain, sizeof domain, "%s", a.domain);
	else
		fqdn(domain, sizeof domain);
	if (o.from) {
		snprintf(sender, sizeof sender, "%s", o.from);
	} else if (a.from) {
		snprintf(sender, sizeof sender, "%s", a.from);
	} else {
		struct passwd *pw = getpwuid(getuid());

		snprintf(sender, sizeof sender, "%s@%s", pw ? pw->pw_name : "nobody", domain);
	}
	if (strcmp(sender, "<>") == 0)
		sender[0] = '\0';
	else if (check_rcpt(sender, &e) < 0) {
		err_set(&e, ERR_USAGE, "invalid sender address '%s'", sender);
		goto done;
	}
	if (strcmp(a.auth, "off") != 0 && conf_password(&a, password, sizeof password, &e) < 0)
		goto done;

	struct msg_opts mo = { .dot_ends = !o.ignore_dots, .from = sender,
			       .full_name = o.full_name, .domain = domain };
	if (msg_spool(0, &mo, &m, &e) < 0)
		goto done;
	env.from = sender;
	env.rcpts = (const char *const *)o.rcpts;
	env.nrcpts = o.nrcpts;
	env.body_8bit = m.eight_bit;
	submit(&s, &a, domain, password, &env, &m, &e);
	explicit_bzero(password, sizeof password);
	log_result(&a, &s, &env, &m, &e);
	smtp_close(&s);
done:
	explicit_bzero(password, sizeof password);
	msg_close(&m);
	conf_free(&conf);
	code = exit_code(e.kind);
	if (code)
		log_error("%s", e.text);
	return code;
}
