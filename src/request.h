/* request: what a caller of sendmail asked for, as plain data: the options that shape one
 * message and the recipient arguments as given. main.c fills one from the command line; a
 * dropped message (a local user's, see dropbox.h) carries one in text (dropfmt.h), so that root's
 * queue run resolves it exactly as that user's own submission would have been. */
#ifndef POSTBOTE_REQUEST_H
#define POSTBOTE_REQUEST_H

#include <stddef.h>
#include <sys/types.h>

struct request {
	const char *account;		/* -a, or NULL */
	const char *from;		/* -f / -r: "" and "<>" are the null sender; NULL: none */
	const char *full_name;		/* -F */
	int extract;			/* -t */
	int read_envelope_from;		/* --read-envelope-from */
	int body_8bit;			/* -B 8BITMIME */
	int smtputf8;			/* -O smtputf8=yes, or SMTPUTF8 on -bs's MAIL */
	int ignore_dots;		/* -i / -oi */
	const char *dsn_notify, *dsn_ret, *dsn_envid;	/* -N, -R (FULL/HDRS), -V */
	char **rcpts;			/* the recipient arguments, as given */
	size_t nrcpts;
	/* who asks: for %U in `from` and the sender when nothing else names one */
	const char *login;
	uid_t uid;
	const char *trace;		/* a Received: field (no CRLF) to put first, or NULL */
};

#endif
