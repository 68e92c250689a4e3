/* caps: every cap postbote puts on what it is given, in one list (as curl keeps its DYN_*
 * limits together), each with what it bounds. Exceeding one is an error of its own kind (data,
 * protocol or configuration), never "out of memory"; the modules that enforce them include this
 * file through their headers. Chunk sizes that only tune speed stay where they are used. */
#ifndef POSTBOTE_CAPS_H
#define POSTBOTE_CAPS_H

/* What a server may send: capped where it is read, so that a hostile or broken server ends
 * with ERR_PROTOCOL, never with unbounded memory or time. */
#define REPLY_LINE_MAX 2048		/* bytes in one reply line, without CRLF */
#define REPLY_LINES_MAX 128		/* lines in one multi-line reply */
#define REPLY_BYTES_MAX 32768		/* text of one reply */
#define EHLO_MECHS_MAX 256		/* the AUTH mechanisms an EHLO reply offers, as one string */
#define SMTP_AUTH_ROUNDS 16		/* challenges in one AUTH exchange */
#define SASL_MSG_MAX (CRED_SECRET_MAX + 2048)	/* one SASL message before base64: a bearer token
					 * of CRED_SECRET_MAX bytes with the user and host */

/* What postbote sends. */
#define SMTP_PIPELINE_MAX 100		/* commands in flight with PIPELINING (msmtp's bound too) */
#define SMTP_CMD_MAX 2048		/* one command line; longer is ERR_DATA, never a cut line */
#define SMTP_ADDR_MAX 900		/* one address on the wire */

/* What the message on stdin may hold: over a cap is ERR_DATA, with what to do about it. */
#define HDR_FIELD_MAX (1024 * 1024)	/* one header field, all its lines */
#define HDR_SECTION_MAX (16 * 1024 * 1024)	/* the whole header section, kept in memory until it is written */
#define MSG_HEADER_LINE_MAX (1024 * 1024)	/* one line of the header section as it comes in */
#define MSG_BOUNCE_MAX (1 << 20)	/* a bounce, the quoted headers included */
#define ADDR_MAX 998			/* the longest address kept */
#define ADDR_COUNT_MAX 10000		/* addresses in one field */
#define RCPT_MAX 100000			/* recipients of one message, after aliases */

/* What files and runs may hold: the configuration's side, the queue's, the secrets'. */
#define RCPT_ALIAS_DEPTH 16		/* aliases that expand into aliases, deep */
#define RCPT_ALIASES_FILE_MAX (16u << 20)	/* an aliases file (a bigger one is a mistake) */
#define CRED_SECRET_MAX 16384		/* a password or OAuth2 access token, from any source */
#define CRED_NETRC_MAX (1 << 20)	/* a ~/.netrc (a few lines; a bigger file is not one) */
#define CONF_HOSTS_MAX 8		/* hosts in one account's host list */
#define CONF_HOST_MAX 255		/* bytes of one host name */
#define QUEUE_HEADER_MAX (16 * 1024 * 1024)	/* the envelope of one queue file, or one state file */
#define RATE_FILE_MAX 65536		/* a rate record file; past this, what no window can see is dropped */
#define RUNQ_MAX 1000			/* messages one queue run takes on */
#define IMPORT_TEXT_MAX (1u << 20)	/* an msmtprc to import (msmtp's are a few KB) */
#define IMPORT_ACCOUNTS_MAX 256		/* accounts in one msmtprc */
#define IMPORT_LINE_MAX 500		/* msmtp's own limit on a line, without the newline */

/* What a client of -bs may send (smtpd.h). */
#define SMTPD_LINE_MAX 2048		/* a command line (RFC 5321 asks for 512 at least) */
#define SMTPD_RCPTS_MAX 1000		/* recipients of one transaction (RFC 5321: 100 at least) */
#define SMTPD_MESSAGE_MAX (256LL << 20)	/* one message, as the SIZE extension says */
#define SMTPD_ERRORS_MAX 20		/* bad commands before the session is closed */
#define SMTPD_IDLE 300			/* seconds a client may be silent (RFC 5321 4.5.3.2.7) */

/* What a local user may put into the drop directory (postbote(1), LOCAL USERS): the drop
 * program refuses more, and root's pickup refuses a file that holds more. */
#define DROP_REQUEST_MAX (1024 * 1024)	/* the request text: options and recipient arguments */
#define DROP_VALUE_MAX 65536		/* one option value or recipient argument */
#define DROP_ARGS_MAX 10000		/* recipient arguments */
#define DROP_MESSAGE_MAX (64LL << 20)	/* one message as it was read */
#define DROP_RESERVE (256LL << 20)	/* free space the drop program leaves on its file system */
/* What an OAuth 2.0 token endpoint, the browser and the files of oauth may hold. */
#define OAUTH_RESPONSE_MAX 65536	/* one answer of a token or device endpoint */
#define OAUTH_JSON_DEPTH 8		/* nesting in such an answer (they are flat) */
#define OAUTH_REFRESH_MAX 16384		/* a refresh token (Microsoft's are a few KB) */
#define OAUTH_STORE_MAX 65536		/* one account's token store file */
#define OAUTH_KEY_FILE_MAX 65536	/* a service account's JSON key file */
#define OAUTH_REDIRECT_MAX 8192		/* the browser's request to the loopback redirect */

#endif
