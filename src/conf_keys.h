/* conf_keys: the table of configuration keys, for conf.c alone. A key knows the field(s) of
 * struct account it fills, converts a value into them (checking it once), and has a default. */
#ifndef POSTBOTE_CONF_KEYS_H
#define POSTBOTE_CONF_KEYS_H

#include "conf.h"

struct conf_key;

/* The key called name, or NULL when there is none. */
const struct conf_key *conf_key_find(const char *name);
const char *conf_key_name(const struct conf_key *k);
/* The known key nearest to an unknown name ("did you mean"), or NULL when none is near. */
const char *conf_key_suggest(const char *name);

/* Converts value (which the converter may change, and string fields then point into: it must
 * live as long as the account) into the bytes of the key's field(s): malloc'd, or NULL with the
 * complaint (without file and line) in e. */
unsigned char *conf_key_convert(const struct conf_key *k, char *value, struct err *e);

/* Fills every field of a: from value_of(ctx, k), bytes that conf_key_convert made, or, when it
 * returns NULL, the key's default. */
void conf_key_fill(struct account *a,
		   const unsigned char *(*value_of)(const void *ctx, const struct conf_key *k),
		   const void *ctx);

/* The i-th key of the table, or NULL past its end (for -P). */
const struct conf_key *conf_key_at(size_t i);

/* A key whose value is never shown (password, oauth2_client_secret, oauth2_refresh_token). */
int conf_key_secret(const struct conf_key *k);

struct buf;
/* The account's value of key k as a configuration file would say it, appended to out: 1 when
 * there is one, 0 when the key is unset (nothing appended), -1 when out is full. A secret shows
 * as "(hidden)". */
int conf_key_show(const struct conf_key *k, const struct account *a, struct buf *out);

#endif
