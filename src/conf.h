/* conf: the only file that includes inih. Reads the system file and then the user file, keeps
 * every setting with the file and line it came from, checks keys and values as they are read,
 * refuses files that hold a password and are readable by others, and resolves one account with
 * [defaults] and built-in defaults filled in. */
#ifndef POSTBOTE_CONF_H
#define POSTBOTE_CONF_H

#include <stddef.h>

#include "err.h"

enum conf_tls { CONF_TLS_STARTTLS, CONF_TLS_IMPLICIT, CONF_TLS_OFF };

/* queue timing when the account says nothing (seconds) */
#define CONF_QUEUE_LIFETIME (5 * 86400)
#define CONF_QUEUE_RETRY_MIN 60
#define CONF_QUEUE_RETRY_MAX 3600

struct account {
	const char *name;
	const char *file;	/* where the account's section is */
	const char *host;
	int port;
	enum conf_tls tls;
	const char *tls_trust_file;	/* "system" or a path */
	const char *tls_crl_file;
	const char *tls_fingerprint;	/* SHA-256 pin: replaces CA verification */
	const char *tls_cert_file, *tls_key_file;	/* client certificate */
	const char *tls_priorities;
	const char *tls_min_version;	/* "1.2" or "1.3" */
	const char *tls_host_override;
	int tls_certcheck;		/* 0 only when the account says tls_certcheck = off */
	const char *auth;		/* "off", "on" or a mechanism name, upper case */
	char auth_upper[64];
	int auth_plaintext;		/* the user allowed a password without TLS */
	const char *user;
	const char *password;
	const char *passwordeval;
	const char *from;
	const char *domain;		/* NULL: the machine's FQDN */
	int timeout;
	const char *logfile;
	/* messages (issue 3) */
	const char *maildomain;		/* qualifies bare local names; NULL: none */
	const char *aliases;		/* /etc/aliases-style file; NULL: none */
	int allow_from_override;	/* -f may replace `from` (default on) */
	const char *set_from_header;	/* "auto", "on", "off" */
	const char *from_full_name;
	int set_date_header, set_msgid_header;	/* auto (1) or off (0) */
	int remove_bcc_headers;		/* default on */
	const char *dsn_notify;		/* NULL, "never" or a list of success,failure,delay */
	const char *dsn_return;		/* NULL, "full" or "headers" */
	/* the queue (issue 5) */
	int queue;			/* keep what cannot be sent now (default on) */
	const char *queue_dir;		/* NULL: the default */
	long queue_lifetime;		/* seconds; default 5 days */
	long queue_retry_min, queue_retry_max;	/* seconds; default 60 and 3600 */
	int queue_flush;		/* after a direct success, send what is due (default on) */
	int rate_limit;			/* messages per rate_window; 0: no limit */
	long rate_window;		/* 3600 or 86400 */
	int max_recipients;		/* per transaction; 0: no limit */
};

struct conf_entry;

struct conf {
	struct conf_entry *v;
	size_t n, cap;
	char *files[2];
	size_t nfiles;
};

/* Reads the configuration. `file` is -C's argument or NULL (then $POSTBOTE_CONFIG, then the XDG
 * user file). The system file SYSCONFDIR/postbote.conf is read first when it exists. -1 with
 * ERR_CONFIG and "FILE:LINE: ..." on any problem. */
int conf_load(struct conf *c, const char *file, struct err *e);
void conf_free(struct conf *c);

/* Resolves an account: `name` (-a) when given, else the one whose `from` is `from` (-f) when
 * given, else [defaults] default_account, else the account named "default". Strings in *a are
 * owned by c. -1 with ERR_CONFIG. */
int conf_account(const struct conf *c, const char *name, const char *from, struct account *a,
		 struct err *e);

/* True when v is a valid DSN NOTIFY list: "never", or success/failure/delay joined by commas. */
int conf_dsn_notify_ok(const char *v);

/* The names of the accounts, in the order they first appear; up to max. Returns the count. */
size_t conf_accounts(const struct conf *c, const char **names, size_t max);

/* The value of key in [defaults], or NULL. */
const char *conf_default(const struct conf *c, const char *key);

#endif
