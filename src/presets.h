/* presets: the submission servers of the large mail providers and sending services, in one
 * table, for --configure when DNS has no SRV records (RFC 6186) for a domain. A preset is found
 * by the address's domain (gmail.com), by the domain's MX hosts (a Google Workspace or
 * Microsoft 365 domain of one's own), or by its name (--preset ses-eu-west-1). */
#ifndef POSTBOTE_PRESETS_H
#define POSTBOTE_PRESETS_H

#include <stddef.h>

#include "conf.h"

struct preset {
	const char *name;	/* --preset NAME, the file in contrib/examples/presets/ */
	const char *provider;	/* for people: "Gmail", "Amazon SES (eu-west-1)" */
	const char *host;
	int port;
	enum conf_tls tls;
	const char *auth;	/* "on" or a mechanism (XOAUTH2) */
	const char *user;	/* NULL: the address itself; else what the provider wants */
	const char *oauth;	/* the provider needs OAuth 2.0 tokens: its oauth2_provider
				 * ("microsoft"); NULL: a password does */
	int ehlo_domain;	/* the provider refuses EHLO localhost: set domain */
	const char *domains;	/* mail domains, blank-separated; NULL: none */
	const char *mx;		/* MX host suffixes that identify it, blank-separated */
	const char *secret;	/* how to get the password or token, one sentence */
};

/* The preset called name, or NULL. */
const struct preset *preset_by_name(const char *name);

/* The preset for an address's domain (ASCII, any case), or NULL. */
const struct preset *preset_by_domain(const char *domain);

/* The preset whose MX suffix one of the n MX host names ends with (at a label boundary), or
 * NULL. */
const struct preset *preset_by_mx(const char *const *mx, size_t n);

/* The i-th preset, NULL past the last. */
const struct preset *preset_at(size_t i);

#endif
