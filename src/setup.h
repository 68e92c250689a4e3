/* setup: --configure ADDRESS. Finds the submission server of the address's domain: DNS SRV
 * records (RFC 8314's _submissions._tcp first, then RFC 6186's _submission._tcp), else the
 * preset for the domain or for its MX hosts (presets.h), or the preset named with --preset;
 * then opens a session to it as --serverinfo does (deliver_probe: TLS verified, no AUTH, no
 * mail) and prints a ready account section on stdout, with comments naming the source and what
 * the probe saw. IDN domains are looked up as A-labels (libidn2). */
#ifndef POSTBOTE_SETUP_H
#define POSTBOTE_SETUP_H

#include "err.h"

/* address may be NULL with preset "list": prints the table of presets. -1 with ERR_USAGE (a
 * bad address or preset name), ERR_NOHOST (no SRV record and no preset), or the probe's error
 * (the section is printed all the same, marked as not confirmed). */
int setup_configure(const char *address, const char *preset, struct err *e);

#endif
