/* fuzz.h: what every fuzz target shares. REQUIRE checks an invariant of the code under test and
 * aborts when it does not hold, so libFuzzer (or the replay of the corpus under the sanitizers)
 * reports the input; it stays on in every build, unlike assert(). */
#ifndef POSTBOTE_FUZZ_H
#define POSTBOTE_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

#define REQUIRE(c)                                                                          \
	do {                                                                                \
		if (!(c)) {                                                                 \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                            \
		}                                                                           \
	} while (0)

#endif
