/* conf: the only file that includes inih. Reads the system file and then the user file (or a
 * text in memory), refuses files that others could have written, converts and checks every value
 * once as it is read, with the file and line it came from, and resolves one account with
 * [defaults] and built-in defaults filled in, so that no caller parses a setting again. */
#ifndef POSTBOTE_CONF_H
#define POSTBOTE_CONF_H

#include <stddef.h>

#include "err.h"
#include "caps.h"

enum conf_tls { CONF_TLS_STARTTLS, CONF_TLS_IMPLICIT, CONF_TLS_OFF };
enum conf_auth { CONF_AUTH_OFF, CONF_AUTH_ON, CONF_AUTH_MECH };	/* MECH: a->mech, upper case */
enum conf_set_from { CONF_FROM_AUTO, CONF_FROM_ON, CONF_FROM_OFF };
enum conf_dsn_ret { CONF_DSN_RET_UNSET, CONF_DSN_RET_FULL, CONF_DSN_RET_HDRS };
enum conf_oauth_provider { CONF_OAUTH_NONE, CONF_OAUTH_MICROSOFT, CONF_OAUTH_GOOGLE };
enum conf_oauth_grant { CONF_GRANT_REFRESH, CONF_GRANT_CLIENT, CONF_GRANT_JWT };

/* queue timing when the account says nothing (seconds) */
#define CONF_QUEUE_LIFETIME (5 * 86400)
#define CONF_QUEUE_RETRY_MIN 60
#define CONF_QUEUE_RETRY_MAX 3600

/* One account, every value converted. Strings point into the struct conf it came from (or are
 * static) and live as long as it. */
struct account {
	const char *name;
	const char *chosen_by;	/* why this account: "-a", "its from matches -f", "default_account",
				 * "the account named default", "the only account" (for -bv) */
	const char *file;	/* where the account's section is */
	/* `host` split once: at least one name, none longer than CONF_HOST_MAX (hosts and nhosts
	 * stay next to each other: one key fills both) */
	char hosts[CONF_HOSTS_MAX][CONF_HOST_MAX + 1];
	size_t nhosts;
	int port;		/* 1-65535; default 587, or 465 with tls = implicit */
	enum conf_tls tls;
	const char *tls_trust_file;	/* "system" or a path */
	const char *tls_crl_file;
	const char *tls_fingerprint;	/* SHA-256 pin (tls_pin_parse accepts it): replaces CA
					 * verification */
	const char *tls_cert_file, *tls_key_file;	/* client certificate: both or neither */
	const char *tls_priorities;
	int tls_min_version;		/* 12 or 13 */
	const char *tls_host_override;
	int tls_certcheck;		/* 0 only when the account says tls_certcheck = off */
	enum conf_auth auth;		/* default: ON with a user, else OFF */
	char mech[64];			/* with CONF_AUTH_MECH (next to auth: one key fills both) */
	int auth_plaintext;		/* the user allowed a password without TLS */
	const char *user;
	const char *password;
	const char *password_file;	/* the first line of this file is the password (a Docker
					 * or Kubernetes secret); cred.c reads it */
	const char *passwordeval;
	const char *from;
	const char *domain;		/* always set: the account's, else the machine's FQDN
					 * (net_fqdn, looked up once per process) */
	int timeout;			/* seconds, 1-3600; default 60 */
	const char *logfile;
	int syslog;			/* the syslog facility (LOG_MAIL, LOG_LOCAL0...); 0: off */
	/* messages (issue 3) */
	const char *maildomain;		/* qualifies bare local names; NULL: none */
	const char *aliases;		/* /etc/aliases-style file; NULL: none */
	int allow_from_override;	/* -f may replace `from` (default on) */
	enum conf_set_from set_from_header;
	const char *from_full_name;
	int set_date_header, set_msgid_header;	/* auto (1) or off (0) */
	int remove_bcc_headers;		/* default on */
	const char *dsn_notify;		/* NULL, or upper case as on the wire: "NEVER",
					 * "SUCCESS,DELAY" */
	enum conf_dsn_ret dsn_return;
	/* the queue (issue 5) */
	int queue;			/* keep what cannot be sent now (default on) */
	const char *queue_dir;		/* always set: the account's, [defaults]', or the built-in
					 * default: root's LOCALSTATEDIR/spool/postbote, a user's
					 * $XDG_STATE_HOME/postbote/queue or
					 * ~/.local/state/postbote/queue */
	long queue_lifetime;		/* seconds; default 5 days */
	long queue_retry_min, queue_retry_max;	/* seconds; 1 <= min <= max; default 60, 3600 */
	int queue_flush;		/* after a direct success, send what is due (default on) */
	int rate_limit;			/* messages per rate_window; 0: no limit (rate_limit and */
	long rate_window;		/* rate_window stay together: one key fills both); 3600
					 * or 86400 */
	int max_recipients;		/* per transaction; 0: no limit */
	/* OAuth 2.0 (issue 12; oauth.h fills in the provider's endpoints and scope) */
	enum conf_oauth_provider oauth2_provider;
	const char *oauth2_tenant;	/* Microsoft's; NULL: "common" */
	const char *oauth2_token_endpoint;	/* https:// URLs, checked when read */
	const char *oauth2_device_endpoint, *oauth2_auth_endpoint;
	const char *oauth2_client_id, *oauth2_client_secret, *oauth2_client_secret_eval;
	const char *oauth2_scope;
	enum conf_oauth_grant oauth2_grant;
	const char *oauth2_refresh_token;	/* the first one; later ones are in the store */
	const char *oauth2_trust_file;	/* "system" or a path */
	const char *oauth2_key_file;	/* jwt_bearer: the service account's JSON key */
	const char *oauth2_store_dir;	/* NULL: the state directory's (oauth.h) */
	int chunking;			/* BDAT where offered (default on) */
	int tls_resume;			/* keep TLS sessions between runs (default on) */
	const char *state_dir;		/* for them; NULL: state_dir_default() */
};

struct conf_entry;

#define CONF_ENV_FILE "the environment"	/* the account's `file` when it comes from there */

struct conf {
	struct conf_entry *v;
	size_t n, cap;
	char *files[2];		/* the files read (or the name given to conf_load_mem) */
	size_t nfiles;
	char *default_queue_dir;	/* the built-in queue directory, decided at load */
	int must_drop;		/* conf_load failed because the caller may not read the system
				 * file and has none of their own: a local user, whose mail goes
				 * through the drop program (dropbox.h) */
};

/* Reads the configuration. `file` is -C's argument or NULL (then $POSTBOTE_CONFIG, then the XDG
 * user file). The system file SYSCONFDIR/postbote.conf is read first when it exists. When no
 * file exists at all and POSTBOTE_HOST is set, the account "default" is made of the environment
 * (CONF_ENV_FILE): POSTBOTE_ and a key's name in upper case sets that key (POSTBOTE_PORT), with
 * the same checks as in a file; POSTBOTE_PASSWORD is refused (an environment is easy to read:
 * POSTBOTE_PASSWORD_FILE instead), and so is a variable whose name is near a key's. A file is
 * refused unless it belongs to the caller or root and neither its group nor others may write it;
 * one that holds a password must not be readable by others either. An unreadable default user
 * file is skipped with a warning when the system file was read. -1 with ERR_CONFIG and
 * "FILE:LINE: ..." (or "FILE ...") on any problem. c must be freed either way. */
int conf_load(struct conf *c, const char *file, struct err *e);

/* The same from len bytes of text, as if they were the only file, called `name` in messages.
 * Reads no file at all (git's git_config_from_mem) and so checks no owner or mode: for the unit
 * tests and the fuzzer. -1 with ERR_CONFIG; c must be freed either way. */
int conf_load_mem(struct conf *c, const char *name, const char *text, size_t len, struct err *e);

void conf_free(struct conf *c);

/* Resolves an account: `name` (-a) when given, else the one whose `from` is `from` (-f) when
 * given, else [defaults] default_account, else the account named "default", else the only
 * account when there is just one. Each key comes from
 * the account, else [defaults], else its built-in default; then the rules between keys: a
 * mechanism that needs a password (every one but those of sasl_no_password) needs a user, TLS or
 * auth_plaintext = allow, and not both password and passwordeval; tls_cert_file goes with
 * tls_key_file. Strings in *a are owned by c. -1 with ERR_CONFIG. */
int conf_account(const struct conf *c, const char *name, const char *from, struct account *a,
		 struct err *e);

/* For a queued message whose account is gone or broken: clears *a and gives it the name and the
 * built-in queue timing, so that the message waits (and finally expires) as on the defaults.
 * Nothing else is set: such an account never opens a session. `name` is borrowed. */
void conf_account_fallback(struct account *a, const char *name);

/* The queue directories that queue commands work on, each once, up to max: with `account`, that
 * account's (0 with ERR_CONFIG when it cannot be resolved); else the default account's (or, when
 * there is none, [defaults]' queue_dir or the built-in one) followed by every other account's
 * (accounts that do not resolve are skipped). Returns the count. */
size_t conf_queue_dirs(const struct conf *c, const char *account, char (*dirs)[4096], size_t max,
		       struct err *e);

struct buf;
/* -P: every key of account a that has a value, "key = value" as a file would say it, each with
 * where it was set (FILE:LINE, or built-in default); secrets are shown as "(hidden)". -1 when out
 * is full. */
int conf_account_show(const struct conf *c, const struct account *a, struct buf *out);

/* True when v is a valid DSN NOTIFY list: "never", or success/failure/delay joined by commas. */
int conf_dsn_notify_ok(const char *v);

/* The names of the accounts, in the order they first appear; up to max. Returns the count. */
size_t conf_accounts(const struct conf *c, const char **names, size_t max);

#endif
