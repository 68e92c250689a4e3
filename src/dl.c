/* dl: optional libraries, loaded when first needed. */
#include <dlfcn.h>
#include <string.h>

#include "dl.h"

int dl_load(const char *soname, const struct dl_sym *syms, size_t n, const char *what,
	    const char *lib, const char *package, struct err *e)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

	if (!h)
		return err_set(e, ERR_CONFIG, "%s needs %s (%s), which cannot be loaded: %s; install "
			       "the Debian package %s", what, lib, soname, dlerror(), package);
	for (size_t i = 0; i < n; i++) {
		void *fn = dlsym(h, syms[i].name);

		if (!fn) {
			dlclose(h);
			return err_set(e, ERR_CONFIG, "%s lacks %s, which postbote needs; install the "
				       "Debian package %s", soname, syms[i].name, package);
		}
		memcpy(syms[i].slot, &fn, sizeof fn);	/* POSIX: a function's address as void * */
	}
	return 0;
}
