/* measure INPUT CMD...: runs CMD with INPUT on stdin and stdout on /dev/null; prints
 * "wall_s cpu_s maxrss_kib rc". A small C program, started with posix_spawn: the kernel charges a
 * child for what its parent's memory map held at exec, and a Python parent holds megabytes. */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

int main(int argc, char **argv)
{
	posix_spawn_file_actions_t fa;
	struct timespec t0, t1;
	struct rusage ru;
	int status, rc;
	pid_t pid;

	if (argc < 3) {
		fprintf(stderr, "usage: measure INPUT CMD...\n");
		return 64;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, argv[1], O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((rc = posix_spawnp(&pid, argv[2], &fa, NULL, argv + 2, environ)) != 0) {
		fprintf(stderr, "measure: cannot run %s\n", argv[2]);
		return 127;
	}
	if (wait4(pid, &status, 0, &ru) < 0)
		return 71;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%.6f %.6f %ld %d\n", (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	       (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
	       ru.ru_maxrss, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}
