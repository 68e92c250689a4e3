/* replay: runs a libFuzzer target without libFuzzer, over every file in the directories and files
 * named on the command line (or, without arguments, in FUZZ_CORPUS, set at build time), so the
 * ordinary test run replays the corpus under the sanitizers it was built with and a crash found
 * once stays fixed. Exit status: 0 when every input ran, 99 (a hard error for automake) when an
 * input could not be read; a crash or a sanitizer report ends the process on its own.
 *
 * To fuzz for real, configure a separate build with --enable-fuzzing (clang with libFuzzer;
 * configure fails if the compiler cannot link a fuzz target): `make` then also builds each
 * target linked with libFuzzer instead of this file, as tests/fuzz/fuzz_NAME, e.g.
 *   mkdir new && tests/fuzz/fuzz_reply -max_total_time=60 new ../tests/fuzz/corpus/reply
 * and an input that is worth keeping (a crash once fixed, new coverage) goes into
 * tests/fuzz/corpus/NAME, where every make check replays it. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long replay_count;

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	size_t size = 0, cap = 0;

	if (!f) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		size_t n;

		if (size == cap) {
			cap = cap ? cap * 2 : 65536;
			data = realloc(data, cap);
			if (!data) {
				fprintf(stderr, "replay: out of memory\n");
				exit(99);
			}
		}
		n = fread(data + size, 1, cap - size, f);
		size += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "replay: %s: read error\n", path);
		fclose(f);
		free(data);
		return -1;
	}
	fclose(f);
	/* an exact-size copy, so that ASan sees any read past the end of the input */
	{
		uint8_t *exact = malloc(size ? size : 1);

		if (!exact) {
			fprintf(stderr, "replay: out of memory\n");
			exit(99);
		}
		if (size)
			memcpy(exact, data, size);
		free(data);
		fprintf(stderr, "replay: %s (%zu bytes)\n", path, size);
		LLVMFuzzerTestOneInput(exact, size);
		free(exact);
	}
	replay_count++;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file in dir, in name order so that runs are repeatable; dot files are skipped. */
static int replay_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int r = 0;

	if (!d) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = realloc(names, cap * sizeof *names);
			if (!names) {
				fprintf(stderr, "replay: out of memory\n");
				exit(99);
			}
		}
		names[n] = malloc(strlen(dir) + strlen(de->d_name) + 2);
		if (!names[n]) {
			fprintf(stderr, "replay: out of memory\n");
			exit(99);
		}
		sprintf(names[n], "%s/%s", dir, de->d_name);
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof *names, by_name);
	for (size_t i = 0; i < n; i++) {
		struct stat st;

		if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode) && replay_file(names[i]) < 0)
			r = -1;
		free(names[i]);
	}
	free(names);
	return r;
}

static int replay_path(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return S_ISDIR(st.st_mode) ? replay_dir(path) : replay_file(path);
}

int main(int argc, char **argv)
{
	int r = 0;

	if (argc < 2) {
#ifdef FUZZ_CORPUS
		r = replay_path(FUZZ_CORPUS);
#else
		fprintf(stderr, "usage: %s CORPUS-DIR-OR-FILE...\n", argv[0]);
		return 99;
#endif
	}
	for (int i = 1; i < argc; i++)
		if (replay_path(argv[i]) < 0)
			r = -1;
	printf("replayed %lu input%s\n", replay_count, replay_count == 1 ? "" : "s");
	if (r == 0 && replay_count == 0) {
		fprintf(stderr, "replay: no inputs found\n");
		return 99;
	}
	return r < 0 ? 99 : 0;
}
