/* fuzz_conf: the input as a configuration text, read with conf_load_mem (no file at all: not the
 * system file either), then accounts resolved the ways main.c and the queue commands do: by
 * default, by name, by sender, and every queue directory. cred_get runs only for a `password`
 * (never passwordeval: no shell commands from fuzz input). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "cred.h"
#include "fuzz.h"
#include "sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_account(const struct conf *c, const char *name, const char *from)
{
	struct account a;
	struct err e = { 0 };
	struct cred pw = { 0 };

	if (conf_account(c, name, from, &a, &e) < 0) {
		REQUIRE(e.kind == ERR_CONFIG && e.text[0]);
		return;
	}
	REQUIRE(a.name && a.file && a.nhosts >= 1 && a.nhosts <= CONF_HOSTS_MAX);
	for (size_t i = 0; i < a.nhosts; i++)
		REQUIRE(a.hosts[i][0] && strlen(a.hosts[i]) <= CONF_HOST_MAX &&
			!strpbrk(a.hosts[i], ", \t"));
	REQUIRE(a.port >= 1 && a.port <= 65535);
	REQUIRE(a.timeout >= 1 && a.timeout <= 3600);
	REQUIRE(a.tls == CONF_TLS_STARTTLS || a.tls == CONF_TLS_IMPLICIT || a.tls == CONF_TLS_OFF);
	REQUIRE(a.tls_trust_file && a.domain && *a.domain && a.queue_dir && *a.queue_dir);
	REQUIRE(a.tls_min_version == 12 || a.tls_min_version == 13);
	REQUIRE(!a.tls_cert_file == !a.tls_key_file);
	REQUIRE(a.queue_retry_min >= 1 && a.queue_retry_max >= a.queue_retry_min);
	REQUIRE(a.auth == CONF_AUTH_OFF || a.auth == CONF_AUTH_ON || a.auth == CONF_AUTH_MECH);
	if (a.auth == CONF_AUTH_MECH) {
		REQUIRE(a.mech[0] && strlen(a.mech) < sizeof a.mech);
		for (const char *p = a.mech; *p; p++)
			REQUIRE(!(*p >= 'a' && *p <= 'z'));
	}
	if (a.auth == CONF_AUTH_ON || (a.auth == CONF_AUTH_MECH && !sasl_no_password(a.mech))) {
		REQUIRE(a.user != NULL);
		REQUIRE(!(a.password && a.passwordeval));
		REQUIRE(!(a.password_file && (a.password || a.passwordeval)));
		REQUIRE(a.tls != CONF_TLS_OFF || a.auth_plaintext);
	}
	if (a.password && !a.passwordeval) {
		memset(&e, 0, sizeof e);
		/* "" when the account's AUTH needs no secret */
		if (cred_get(&a, a.hosts[0], &pw, &e) == 0)
			REQUIRE(strcmp(pw.secret, a.password) == 0 || !*pw.secret);
		else
			REQUIRE(e.kind == ERR_CONFIG);
		cred_wipe(&pw);
	}
	if (a.dsn_notify) {
		REQUIRE(conf_dsn_notify_ok(a.dsn_notify));
		for (const char *p = a.dsn_notify; *p; p++)
			REQUIRE(!(*p >= 'a' && *p <= 'z'));
	}
}

static void check_queue_dirs(const struct conf *c, const char *account)
{
	static char dirs[8][4096];
	struct err e = { 0 };
	size_t n = conf_queue_dirs(c, account, dirs, 8, &e);

	REQUIRE(n <= 8);
	if (n == 0)
		REQUIRE(account && e.kind == ERR_CONFIG && e.text[0]);
	for (size_t i = 0; i < n; i++) {
		REQUIRE(dirs[i][0]);
		for (size_t k = 0; k < i; k++)
			REQUIRE(strcmp(dirs[i], dirs[k]) != 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf c;
	struct err e = { 0 };

	if (conf_load_mem(&c, "fuzz.conf", (const char *)data, size, &e) < 0) {
		REQUIRE(e.kind == ERR_CONFIG && e.text[0]);
		conf_free(&c);
		return 0;
	}
	check_account(&c, NULL, NULL);
	check_account(&c, "default", NULL);
	check_account(&c, "defaults", NULL);
	check_account(&c, NULL, "alice@example.org");
	check_account(&c, "gmail", "Alice@Example.org");
	check_queue_dirs(&c, NULL);
	check_queue_dirs(&c, "default");
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
