/* dl: the libraries only some runs need (libcurl, json-c, GNU SASL), loaded with dlopen the first
 * time they are: a linked library is relocated at every start, needed or not. */
#ifndef POSTBOTE_DL_H
#define POSTBOTE_DL_H

#include <stddef.h>

#include "err.h"

struct dl_sym {
	const char *name;
	void *slot;	/* the function pointer that gets it */
};

/* Loads the library by its SONAME (RTLD_NOW | RTLD_LOCAL; it stays until exit) and fills each
 * slot. For the error: what needs it ("OAuth 2.0", a SASL mechanism), lib its name for a person,
 * package the Debian package that has it. 0, or -1 with ERR_CONFIG. */
int dl_load(const char *soname, const struct dl_sym *syms, size_t n, const char *what,
	    const char *lib, const char *package, struct err *e);

#endif
