/* oauth_data: the pure parts of OAuth 2.0, for oauth.c and oauth_flow.c, the unit tests and the
 * fuzzer: the answers of token and device endpoints (JSON, through json-c), the token store's
 * file format, the JWT of RFC 7523 up to its signature, PKCE (RFC 7636), form encoding and the
 * browser's request to the loopback redirect. No I/O: every function takes bytes and gives
 * fields. Input from the network or a file is untrusted and capped (caps.h). */
#ifndef POSTBOTE_OAUTH_DATA_H
#define POSTBOTE_OAUTH_DATA_H

#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "caps.h"

/* The error document of an endpoint (RFC 6749 5.2): both cleaned (buf_clean_str), "" when
 * absent. */
struct oauth_error {
	char error[64];
	char description[256];
};

/* A token endpoint's successful answer. Strings are malloc'd; oauth_token_free wipes them. */
struct oauth_token {
	char *access_token;	/* RFC 6750 b64token characters, at most CRED_SECRET_MAX bytes */
	char *refresh_token;	/* NULL when none came; printable ASCII, at most OAUTH_REFRESH_MAX */
	long expires_in;	/* seconds, 1 or more; OAUTH_DEFAULT_LIFETIME when none was said */
};
#define OAUTH_DEFAULT_LIFETIME 600

/* Loads json-c (the parsers and oauth_jwt_input do, the first time): 0, or -1 with ERR_CONFIG.
 * Called before a request whose answer must be read: a rotated refresh token that cannot be
 * parsed would be lost. */
int oauth_json_load(struct err *e);

/* Parses a token endpoint's answer (json[0..n), need not be terminated). 0 with *t filled; 1
 * when it is an error document (*oe filled, *t untouched); -1 with ERR_PROTOCOL when it is
 * neither (not JSON, not an object, a token with characters a token cannot have, too long, a
 * token_type other than Bearer). *oe is cleared first either way. */
int oauth_parse_token(const char *json, size_t n, struct oauth_token *t, struct oauth_error *oe,
		      struct err *e);
void oauth_token_free(struct oauth_token *t);

/* A device authorization endpoint's answer (RFC 8628 3.2); Google says verification_url. */
struct oauth_device {
	char device_code[2048];
	char user_code[64];
	char uri[512];		/* printable ASCII */
	char uri_complete[1024];	/* "" when none came */
	long expires_in;	/* seconds; 600 when none was said */
	long interval;		/* seconds between polls: 0 to 60; 5 when none was said */
};
/* Like oauth_parse_token: 0 with *d, 1 with *oe, -1 with ERR_PROTOCOL. */
int oauth_parse_device(const char *json, size_t n, struct oauth_device *d, struct oauth_error *oe,
		       struct err *e);

/* A Google service account's JSON key: private_key (PEM), client_email, private_key_id (may be
 * ""), token_uri (may be ""). Strings malloc'd; oauth_key_free wipes the private key. */
struct oauth_key {
	char *private_key, *client_email, *private_key_id, *token_uri;
};
/* 0, or -1 with ERR_CONFIG (says which member is missing or malformed). */
int oauth_parse_key(const char *json, size_t n, struct oauth_key *k, struct err *e);
void oauth_key_free(struct oauth_key *k);

/* One account's token store, as oauth keeps it in its file. Strings malloc'd (NULL: absent);
 * oauth_store_free wipes the tokens. */
struct oauth_store {
	char *user, *client_id;		/* whom the tokens are for: a store for another is unused */
	char *refresh_token;		/* NULL: none stored */
	char *origin;			/* where it came from: "config", "authorize", "rotated" */
	char *seed;			/* hex SHA-256 of the oauth2_refresh_token it descends from,
					 * "" when it came from --oauth2-authorize */
	long long stored;		/* when the refresh token was stored (Unix time) */
	char *access_token;		/* NULL: none cached */
	long long expires;		/* when the access token expires (Unix time) */
};

/* The file: a version line "postbote-oauth 1", then "KEY VALUE" lines (user, client_id,
 * refresh_token, origin, seed, stored, access_token, expires), then "end". A file without its
 * end line (cut short), with an unknown version, a key twice, a value that a token cannot have
 * or more than OAUTH_STORE_MAX bytes is refused: -1 with ERR_DATA. Unknown keys are skipped
 * (a newer postbote may add some). 0 with *s filled; *s is cleared first. */
int oauth_store_parse(const char *text, size_t n, struct oauth_store *s, struct err *e);
/* Writes s in that format; -1 with ERR_DATA when a value has a control character or is too
 * long (nothing then goes to disk). out must be empty. */
int oauth_store_format(const struct oauth_store *s, struct buf *out, struct err *e);
void oauth_store_free(struct oauth_store *s);

/* Base64url without padding (RFC 7515 2). */
int oauth_b64url(struct buf *b, const void *p, size_t n) __attribute__((warn_unused_result));

/* "key=value" percent-encoded for application/x-www-form-urlencoded (and URL queries), with a
 * leading '&' unless b is empty. -1 when b's max is reached. */
int oauth_form_add(struct buf *b, const char *key, const char *value)
	__attribute__((warn_unused_result));

/* The signing input of an RFC 7523 JWT, "HEADER.CLAIMS" in base64url: header {"alg":"RS256",
 * "typ":"JWT"[,"kid":kid]}, claims {"iss","scope","aud","iat","exp" (iat + 3600)[,"sub"]}.
 * kid and sub may be NULL or "". Into out (empty). */
int oauth_jwt_input(const char *kid, const char *iss, const char *sub, const char *aud,
		    const char *scope, long long now, struct buf *out, struct err *e);

/* PKCE S256: the challenge (base64url of SHA-256) of a verifier, into out (at least 44 bytes). */
int oauth_pkce_challenge(const char *verifier, char *out, size_t size);

/* Hex SHA-256 of s, into out (at least 65 bytes). */
void oauth_sha256_hex(const char *s, char *out);

/* The browser's request to the loopback redirect, req[0..n) (its first line is enough): "GET
 * /PATH?QUERY HTTP/1.x". The decoded code, state and error parameters go into code, state and
 * error ("" when absent; each cut-free or the call fails). 1 when it is a GET of path with a
 * code or an error, 0 for any other request (a favicon, say), -1 when the line is malformed or a
 * parameter is too long. */
struct oauth_redirect {
	char code[2048], state[128], error[128];
};
int oauth_parse_redirect(const char *req, size_t n, const char *path, struct oauth_redirect *r);

#endif
