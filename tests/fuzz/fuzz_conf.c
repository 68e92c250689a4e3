/* fuzz_conf: the input as a configuration file (mode 0600, ours, so a password in it is allowed),
 * read with conf_load, then accounts resolved the ways main.c does: by default, by name and by
 * sender. conf_password runs only for a `password` (never passwordeval: no shell commands from
 * fuzz input). Note: conf_load also reads SYSCONFDIR/postbote.conf when it exists. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[4096], path[4200];

static void cleanup(void)
{
	if (path[0])
		unlink(path);
	if (dir[0])
		rmdir(dir);
}

static void check_account(const struct conf *c, const char *name, const char *from)
{
	struct account a;
	struct err e = { 0 };
	char pw[256];

	if (conf_account(c, name, from, &a, &e) < 0) {
		REQUIRE(e.kind == ERR_CONFIG && e.text[0]);
		return;
	}
	REQUIRE(a.name && a.file && a.host && *a.host);
	REQUIRE(a.port >= 1 && a.port <= 65535);
	REQUIRE(a.timeout >= 1 && a.timeout <= 3600);
	REQUIRE(a.tls == CONF_TLS_STARTTLS || a.tls == CONF_TLS_IMPLICIT || a.tls == CONF_TLS_OFF);
	REQUIRE(a.auth && a.tls_trust_file);
	if (strcmp(a.auth, "off") != 0) {
		REQUIRE(a.user != NULL);
		REQUIRE(!(a.password && a.passwordeval));
		REQUIRE(a.tls != CONF_TLS_OFF || a.auth_plaintext);
	}
	if (a.password && !a.passwordeval) {
		memset(&e, 0, sizeof e);
		if (conf_password(&a, pw, sizeof pw, &e) == 0)
			REQUIRE(strcmp(pw, a.password) == 0);
		else
			REQUIRE(e.kind == ERR_CONFIG);
	}
	if (a.dsn_notify)
		REQUIRE(conf_dsn_notify_ok(a.dsn_notify));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf c;
	struct err e = { 0 };
	int fd;

	if (!dir[0]) {
		const char *tmp = getenv("TMPDIR");
		char tmpl[4096];

		snprintf(tmpl, sizeof tmpl, "%s/postbote-fuzz-conf.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(tmpl))
			abort();
		snprintf(dir, sizeof dir, "%s", tmpl);
		snprintf(path, sizeof path, "%s/config", dir);
		atexit(cleanup);
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size || close(fd) < 0)
		abort();
	if (conf_load(&c, path, &e) < 0) {
		REQUIRE(e.kind == ERR_CONFIG && e.text[0]);
		conf_free(&c);
		return 0;
	}
	check_account(&c, NULL, NULL);
	check_account(&c, "default", NULL);
	check_account(&c, "defaults", NULL);
	check_account(&c, NULL, "alice@example.org");
	check_account(&c, "gmail", "Alice@Example.org");
	conf_free(&c);

	/* the DSN list check is pure: the first line of the input */
	{
		char line[256];
		size_t n = 0;

		while (n < size && n < sizeof line - 1 && data[n] != '\n' && data[n] != '\0') {
			line[n] = (char)data[n];
			n++;
		}
		line[n] = '\0';
		(void)conf_dsn_notify_ok(line);
	}
	return 0;
}
