/* setup: --configure: DNS SRV or a preset, a probe through deliver_probe, one account section
 * printed. The section's text is what is probed: it is read back with conf_load_mem, so what is
 * printed is what postbote accepts. */
#include <arpa/nameser.h>
#include <ctype.h>
#include <stdarg.h>
#include <idn2.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "conf.h"
#include "deliver.h"
#include "dns.h"
#include "presets.h"
#include "sasl.h"
#include "setup.h"

/* Where the server came from, and what to write. */
struct setup_plan {
	char hosts[CONF_HOSTS_MAX][DNS_NAME_MAX + 1];
	size_t nhosts;
	int port;
	enum conf_tls tls;
	const struct preset *preset;	/* NULL: from SRV */
	char source[1024];		/* the comment naming the source */
	char section[DNS_NAME_MAX + 1];
};

static const char *setup_tls_name(enum conf_tls t)
{
	return t == CONF_TLS_IMPLICIT ? "implicit" : t == CONF_TLS_STARTTLS ? "starttls" : "off";
}

static void setup_list(void)
{
	const struct preset *p;

	printf("%-18s %-26s %-5s %-8s %-8s %s\n", "NAME", "HOST", "PORT", "TLS", "AUTH",
	       "PROVIDER");
	for (size_t i = 0; (p = preset_at(i)); i++)
		printf("%-18s %-26s %-5d %-8s %-8s %s\n", p->name, p->host, p->port,
		       setup_tls_name(p->tls), p->auth, p->provider);
}

/* The address checked, and its domain as an A-label in ascii (lower case). */
static int setup_address(const char *address, char *ascii, size_t size, struct err *e)
{
	const char *at = strrchr(address, '@');
	char *ace = NULL;
	int r;

	for (const unsigned char *p = (const unsigned char *)address; *p; p++)
		if (*p <= ' ' || *p == 0x7f || strchr("<>()[],;:\\\"'`$", *p))
			return err_set(e, ERR_USAGE, "--configure takes a mail address such as "
				       "alice@example.org, not '%s'", address);
	if (!at || at == address || !at[1] || strlen(address) > 254)
		return err_set(e, ERR_USAGE, "--configure takes a mail address such as "
			       "alice@example.org, not '%s'", address);
	r = idn2_lookup_u8((const uint8_t *)at + 1, (uint8_t **)&ace,
			   IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
	if (r != IDN2_OK)
		return err_set(e, ERR_USAGE, "%s is not a valid domain name: %s", at + 1,
			       idn2_strerror(r));
	for (char *p = ace; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	snprintf(ascii, size, "%s", ace);
	idn2_free(ace);
	return 0;
}

/* The records of one type for name through the system resolver: the count (0: none), or -1
 * with ERR_TEMP when the resolver could not answer, ERR_PROTOCOL for a broken answer. */
static int setup_query(const char *name, int type, struct dns_record *r, struct err *e)
{
	unsigned char answer[8192];
	int n = res_query(name, C_IN, type, answer, sizeof answer);

	if (n < 0)
		return h_errno == HOST_NOT_FOUND || h_errno == NO_DATA
			       ? 0
			       : err_set(e, ERR_TEMP, "DNS look-up of %s failed: %s", name,
					 hstrerror(h_errno));
	return dns_parse(answer, (size_t)(n > (int)sizeof answer ? (int)sizeof answer : n), type, r,
			 DNS_RECORDS_MAX, e);
}

/* Letters, digits, '-', '_' and dots: a name that can go into `host` as it is (the DNS may
 * carry any byte in a label). */
static int setup_hostname_ok(const char *name)
{
	return *name && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-_.") == strlen(name);
}

/* Whether host is domain or a name below it. A certificate the probe verifies is the SRV
 * target's (RFC 6186 section 6 leaves the reference identity to the client): below the
 * address's domain that ties the two together, elsewhere only the unauthenticated DNS does. */
static int setup_within(const char *host, const char *domain)
{
	size_t h = strlen(host), d = strlen(domain);

	return h == d ? strcmp(host, domain) == 0
		      : h > d && host[h - d - 1] == '.' && strcmp(host + h - d, domain) == 0;
}

/* RFC 8314 section 5.1 and RFC 6186 section 3.1: _submissions (implicit TLS) is preferred;
 * a target of "." says the service is not offered. 1 when found, 0 when not. */
static int setup_srv(const char *domain, struct setup_plan *pl, struct err *e)
{
	static const char *const service[] = { "_submissions._tcp", "_submission._tcp" };
	struct dns_record r[DNS_RECORDS_MAX];

	for (int s = 0; s < 2; s++) {
		char name[DNS_NAME_MAX + 32];
		int n;

		snprintf(name, sizeof name, "%s.%s", service[s], domain);
		n = setup_query(name, DNS_TYPE_SRV, r, e);
		if (n < 0)
			return -1;
		dns_sort(r, (size_t)n);
		if (n == 0 || !r[0].name[0] || r[0].port == 0)
			continue;
		if (!setup_hostname_ok(r[0].name))
			return err_set(e, ERR_PROTOCOL, "%s names '%s', which is not a host name", name,
				       r[0].name);
		pl->port = r[0].port;
		pl->tls = s == 0 ? CONF_TLS_IMPLICIT : CONF_TLS_STARTTLS;
		/* postbote has one port per account: the targets on the best one's port, in order */
		for (int i = 0; i < n && pl->nhosts < CONF_HOSTS_MAX; i++)
			if (r[i].port == pl->port && setup_hostname_ok(r[i].name))
				snprintf(pl->hosts[pl->nhosts++], sizeof pl->hosts[0], "%s", r[i].name);
		snprintf(pl->source, sizeof pl->source, "DNS SRV %s: %s port %d (DNS answers are not "
			 "authenticated: check that this host is your provider's)%s", name,
			 pl->hosts[0], pl->port, setup_within(pl->hosts[0], domain) ? "" :
			 "\n# note: it is not a host of the address's domain, so its certificate "
			 "proves nothing about that domain; be sure the domain really sends there");
		snprintf(pl->section, sizeof pl->section, "%s", domain);
		return 1;
	}
	return 0;
}

static void setup_from_preset(const struct preset *p, const char *why, struct setup_plan *pl)
{
	pl->preset = p;
	snprintf(pl->hosts[0], sizeof pl->hosts[0], "%s", p->host);
	pl->nhosts = 1;
	pl->port = p->port;
	pl->tls = p->tls;
	snprintf(pl->source, sizeof pl->source, "preset %s (%s), %s", p->name, p->provider, why);
	snprintf(pl->section, sizeof pl->section, "%s", p->name);
}

/* SRV, then the domain's preset, then its MX hosts' preset. */
static int setup_find(const char *domain, struct setup_plan *pl, struct err *e)
{
	struct dns_record mx[DNS_RECORDS_MAX];
	const char *names[DNS_RECORDS_MAX];
	const struct preset *p;
	struct err dns_err = { 0 }, mx_err = { 0 };
	int r = setup_srv(domain, pl, &dns_err), n;

	if (r > 0)
		return 0;
	if ((p = preset_by_domain(domain))) {
		setup_from_preset(p, r < 0 ? "for the domain (the SRV look-up failed)"
					   : "for the domain (it has no SRV records)", pl);
		return 0;
	}
	n = setup_query(domain, DNS_TYPE_MX, mx, &mx_err);	/* only a hint */
	for (int i = 0; i < n; i++)
		names[i] = mx[i].name;
	if (n > 0 && (p = preset_by_mx(names, (size_t)n))) {
		setup_from_preset(p, "found by the domain's MX hosts (no SRV records)", pl);
		return 0;
	}
	if (r < 0)
		return err_set(e, dns_err.kind, "%s", dns_err.text);
	return err_set(e, ERR_NOHOST, "%s has no SRV records for _submissions._tcp or "
		       "_submission._tcp (RFC 6186), and no preset fits it: name one with --preset "
		       "(postbote --preset list), or write the account by hand (postbote.conf(5))",
		       domain);
}

/* The text in single quotes for /bin/sh. */
static void setup_quote(struct buf *b, const char *s)
{
	if (buf_addch(b, '\'') < 0)
		buf_broken(__FILE__, __LINE__);
	for (; *s; s++)
		if ((*s == '\'' ? buf_addstr(b, "'\\''") : buf_addch(b, *s)) < 0)
			buf_broken(__FILE__, __LINE__);
	if (buf_addch(b, '\'') < 0)
		buf_broken(__FILE__, __LINE__);
}

static void setup_add(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void setup_add(struct buf *b, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (buf_addstr(b, line) < 0)
		buf_broken(__FILE__, __LINE__);
}

/* Whether this postbote has the key and takes the value (the OAuth keys come with OAuth 2.0
 * support): asked of conf itself. */
static int setup_known(const char *key, const char *value)
{
	char text[256];
	struct conf c;
	struct err e;
	int r;

	snprintf(text, sizeof text, "[t]\nhost = h\n%.64s = %.64s\n", key, value);
	r = conf_load_mem(&c, "--configure", text, strlen(text), &e);
	conf_free(&c);
	return r == 0;
}

/* The section itself, without the probe's comments. */
static void setup_section(const struct setup_plan *pl, const char *address, const char *from,
			  const char *domain, struct buf *b)
{
	const struct preset *p = pl->preset;
	const char *auth = p ? p->auth : "on", *user = p && p->user ? p->user : address;

	setup_add(b, "[%s]\nhost = ", pl->section);
	for (size_t i = 0; i < pl->nhosts; i++)
		setup_add(b, "%s%s", i ? ", " : "", pl->hosts[i]);
	setup_add(b, "\nport = %d\ntls = %s\n", pl->port, setup_tls_name(pl->tls));
	if (p && p->ehlo_domain)
		setup_add(b, "# %s refuses EHLO localhost: the EHLO name is your mail domain\n"
			  "domain = %s\n", p->provider, domain);
	setup_add(b, "auth = %s\nuser = %s\n", auth, user);
	if (p && p->user)
		setup_add(b, "# user: %s wants '%s' here, not your address\n", p->provider,
			  p->user);
	setup_add(b, "# the secret: %s.\n", p ? p->secret : "your password");
	if (p && p->oauth && setup_known("oauth2_provider", p->oauth)) {
		setup_add(b, "# register an application with %s for its client ID, then "
			  "authorize once:\n#   postbote --oauth2-authorize %s\noauth2_provider = %s\n"
			  "oauth2_client_id = YOUR-APPLICATION-CLIENT-ID\nfrom = %s\n", p->provider,
			  pl->section, p->oauth, from);
		return;
	} else if (p && p->oauth) {
		setup_add(b, "# passwordeval must print a fresh OAuth 2.0 access token, for example "
			  "with oama (https://github.com/pdobsan/oama):\npasswordeval = oama access ");
	} else {
		setup_add(b, "# store it once with: secret-tool store --label=postbote postbote ");
		setup_quote(b, address);
		setup_add(b, "\n# (or put it in a file of mode 0600 and use password_file = PATH)\n"
			  "passwordeval = secret-tool lookup postbote ");
	}
	setup_quote(b, address);
	setup_add(b, "\nfrom = %s\n", from);
}

/* "AUTH ..." of the EHLO reply as deliver_probe collected it ("    250 AUTH PLAIN"). */
static void setup_mechs(const char *ehlo, char *out, size_t size)
{
	out[0] = '\0';
	for (const char *l = ehlo; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *p = l + strspn(l, " ");
		size_t n;

		if (strlen(p) < 9 || (p[3] != ' ' && p[3] != '-') || strncasecmp(p + 4, "AUTH", 4) ||
		    (p[8] != ' ' && p[8] != '='))
			continue;
		p += 9;
		n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_ ");
		snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), p);
		return;
	}
}

/* Opens a session to the section's server as --serverinfo does; the comments on b. */
static int setup_probe(const struct setup_plan *pl, const char *text, struct buf *b,
		       struct err *e)
{
	const char *want = pl->preset ? pl->preset->auth : "on";
	struct deliver_probe p = { 0 };
	char mechs[EHLO_MECHS_MAX], mech[64];
	struct sasl_peer peer = { .host = pl->hosts[0], .port = pl->port, .tls = 1 };
	struct err ce = { 0 };
	struct account a;
	struct conf c;
	int r;

	r = conf_load_mem(&c, "--configure", text, strlen(text), e);
	if (r == 0)
		r = conf_account(&c, pl->section, NULL, &a, e);
	if (r == 0)
		r = deliver_probe(&a, &p, e);
	if (r < 0) {
		setup_add(b, "# probe of %s port %d: FAILED, so nothing above is confirmed: %s\n",
			  pl->hosts[0], pl->port, e->text);
		goto out;
	}
	setup_mechs(p.ehlo, mechs, sizeof mechs);
	setup_add(b, "# probe of %s port %d, tls %s: %s%s\n", pl->hosts[0], pl->port,
		  setup_tls_name(pl->tls), p.tls_desc ? p.tls_desc : "no TLS",
		  p.tls_desc ? ", certificate verified" : "");
	setup_add(b, "# the server offers AUTH %s\n", mechs[0] ? mechs : "(none)");
	if (!mechs[0])
		setup_add(b, "# it offers no AUTH at all here: set auth = off if it needs none\n");
	else if (sasl_choose(mechs, want, &peer, 0, mech, sizeof mech, &ce) == 0)
		setup_add(b, "# postbote will log in with %s%s\n", mech, strcmp(want, "on") ? "" :
			  " (the strongest both support; a -PLUS one when the session allows)");
	else if (strcmp(want, "on") != 0)
		setup_add(b, "# it does not offer %s: try auth = on with a password\n", want);
	else
		setup_add(b, "# postbote supports none of them: %s\n", ce.text);
out:
	deliver_probe_free(&p);
	conf_free(&c);
	return r;
}

int setup_configure(const char *address, const char *preset, struct err *e)
{
	char domain[DNS_NAME_MAX + 1], from[600];
	struct setup_plan pl = { 0 };
	struct buf text, head;
	int r;

	if (!address && preset && strcmp(preset, "list") == 0) {
		setup_list();
		return 0;
	}
	if (!address)
		return err_set(e, ERR_USAGE, "--preset NAME goes with --configure ADDRESS "
			       "(postbote --preset list shows the names)");
	if (setup_address(address, domain, sizeof domain, e) < 0)
		return -1;
	if (preset) {
		const struct preset *p = preset_by_name(preset);

		if (!p)
			return err_set(e, ERR_USAGE, "no preset '%s'; postbote --preset list shows "
				       "them", preset);
		setup_from_preset(p, "named with --preset", &pl);
	} else if (setup_find(domain, &pl, e) < 0) {
		return -1;
	}
	/* the envelope sender with the domain as the DNS knows it: no SMTPUTF8 needed for it */
	snprintf(from, sizeof from, "%.*s@%s", (int)(strrchr(address, '@') - address), address,
		 domain);
	buf_init(&text, BUF_NO_MAX);
	buf_init(&head, BUF_NO_MAX);
	setup_section(&pl, address, from, domain, &text);
	setup_add(&head, "# postbote --configure %s\n# source: %s\n", address, pl.source);
	r = setup_probe(&pl, text.data, &head, e);
	setup_add(&head, "# add this section to ~/.config/postbote/config; to use it by default, "
		  "set\n# default_account = %s in [defaults] (or call the section [default])\n",
		  pl.section);
	fputs(head.data, stdout);
	fputs(text.data, stdout);
	fflush(stdout);
	buf_free(&text);
	buf_free(&head);
	return r;
}
