/* import: msmtp's configuration (an msmtprc) translated into postbote configuration text. The
 * translator is pure: text in, text out, no file, no command, no environment (the caller passes
 * $HOME for msmtp's "~" and /etc/mailname's contents for its %M). msmtp's rules are followed as
 * its documentation states them: a line is a command and an argument, '#' starts a comment
 * line, an argument wholly in double quotes loses them (no escapes), `defaults` applies to the
 * accounts defined after it, `account NAME : A,B` copies what A and B set; an empty argument
 * means "on" for switches and "unset" for the rest. Every account is written out flattened (no
 * [defaults]), each command without an equivalent becomes a comment saying so, and each
 * account written is checked with conf_load_mem and conf_account, so that postbote accepts
 * the result as it is. */
#ifndef POSTBOTE_IMPORT_H
#define POSTBOTE_IMPORT_H

#include <stddef.h>

#include "buf.h"
#include "caps.h"
#include "err.h"

struct import_opts {
	const char *file;	/* the msmtprc's name, in messages and in the first comment */
	const char *home;	/* replaces a leading '~' in file names; NULL: '~' is an error */
	const char *mailname;	/* the text of /etc/mailname for %M; NULL: %M is not translated */
};

struct import_result {
	unsigned accounts;	/* sections written */
	unsigned skipped;	/* msmtp accounts left out (socket, proxy, LMTP, no host) */
	unsigned notes;		/* commands that became comments */
	int has_password;	/* a `password` was written: the output must stay private */
};

/* Translates len bytes of msmtprc text (at most IMPORT_TEXT_MAX) into *out (appended). 0, or
 * -1 with ERR_CONFIG and "FILE:LINE: ..." for what msmtp itself refuses (an unknown command, a
 * bad argument, an account defined twice or inherited before it exists, a line over msmtp's 500
 * characters), for `eval` (it runs a command while the file is read), and for what postbote
 * cannot hold (a value with a control character, with blanks at either end, a line of 200 bytes
 * or more); out then holds nothing new. r may be NULL. */
int import_msmtprc(const char *text, size_t len, const struct import_opts *o, struct buf *out,
		   struct import_result *r, struct err *e);

/* --import-msmtprc: reads `file` (NULL: ~/.msmtprc, else $XDG_CONFIG_HOME/msmtp/config, as
 * msmtp looks for them), and /etc/mailname when it exists, translates, and writes the result to
 * stdout or, with `output`, into that new file, mode 0600 (created with O_EXCL beside it,
 * fsync'd, then linked into place, so an existing file is never replaced and a half-written
 * one is never seen). Says on stderr what was imported. -1 with ERR_CONFIG (what
 * import_msmtprc refuses, no file found), ERR_IO (a file that cannot be read or written). */
int import_command(const char *file, const char *output, struct err *e);

#endif
