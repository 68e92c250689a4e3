/* state: small files postbote keeps between runs that are not the queue (the TLS session
 * tickets of issue 13), in a directory of the user's own: $XDG_STATE_HOME/postbote or
 * ~/.local/state/postbote, root's LOCALSTATEDIR/lib/postbote. A cache, never a record: a file
 * that is missing, damaged, too big or not safely the user's own reads as absent, and losing one
 * costs only what it saved. No I/O on the network, no GnuTLS. */
#ifndef POSTBOTE_STATE_H
#define POSTBOTE_STATE_H

#include <stddef.h>

#define STATE_FILE_MAX 65536	/* one state file; a bigger one is not ours */

/* The built-in place for sub ("tls", "queue", "oauth") of the state: root's
 * LOCALSTATEDIR/lib/postbote/sub, a user's $XDG_STATE_HOME/postbote/sub, else
 * ~/.local/state/postbote/sub (HOME, else passwd's). 0, or -1 when there is no home (out is
 * then below "/"). */
int state_home(char *out, size_t size, const char *sub);

/* Reads dir/name when it is a regular file of the caller's, mode 0600 or stricter, at most
 * STATE_FILE_MAX bytes, in a directory that others cannot write. The contents (malloc'd; the
 * caller frees them) and *len, or NULL. */
char *state_read(const char *dir, const char *name, size_t *len);

/* Replaces dir/name with len bytes (mode 0600, through a temporary file and rename, so that a
 * reader sees the old file or the new one), creating dir 0700 and its parents when missing. No
 * fsync: a file lost in a crash is a cache miss. 0, or -1 when it could not be written (the
 * caller goes on without). */
int state_write(const char *dir, const char *name, const void *p, size_t len);

/* Removes the files of dir whose names start with prefix (or "." prefix: temporary files of a
 * killed run) and that have not changed for more than max_age seconds, except keep: regular files
 * of the caller's only. How many went. */
int state_prune(const char *dir, const char *prefix, const char *keep, long max_age);

#endif
