#!/usr/bin/env bats
# OAuth 2.0 built in (issue 12): postbote gets its XOAUTH2/OAUTHBEARER access token from a token
# endpoint itself. tests/tokenserver.py is that endpoint (HTTPS with the test CA, short-lived
# tokens, rotating refresh tokens, JWT signatures checked, device and authorization code flows);
# tests/saslsmtp.py --token-file accepts exactly the access tokens it has issued and not revoked.

bats_require_minimum_version 1.5.0

load lib/common
load lib/sasl

TOKENSERVER=$TESTS_DIR/tokenserver.py
CLIENT=postbote-test
RT=rt-initial-0123456789

setup_file() { common_setup_file; }
setup() {
	sasl_setup
	# the state directory of a user; root's is the system's, so tests name it
	export XDG_STATE_HOME=$BATS_TEST_TMPDIR/state
	if [ "$(id -u)" -eq 0 ]; then
		STORE_DIR=$BATS_TEST_TMPDIR/store
	else
		STORE_DIR=$XDG_STATE_HOME/postbote/oauth
	fi
	STORE=$STORE_DIR/fake.tokens
	unset https_proxy HTTPS_PROXY all_proxy ALL_PROXY
	TOK_PID= BG_PID= USER_DIR=
}
teardown() {
	if [ -n "${BG_PID:-}" ]; then
		kill -TERM "$BG_PID" 2>/dev/null
		wait "$BG_PID" 2>/dev/null
	fi
	tok_stop
	common_teardown
	[ -z "${USER_DIR:-}" ] || rm -rf "$USER_DIR"
}

# ---- helpers -----------------------------------------------------------------------------

# tok_start [tokenserver.py options]: the token endpoint, at $TOK_URL; its records in $TOK_OUT
tok_start() {
	TOK_OUT=$BATS_TEST_TMPDIR/tok
	rm -rf "$TOK_OUT" "$TOK_OUT.port"
	"$PYTHON" "$TOKENSERVER" --outdir "$TOK_OUT" --port-file "$TOK_OUT.port" \
		--cert "$CA_DIR/server.pem" --key "$CA_DIR/server.key" "$@" \
		</dev/null >"$TOK_OUT.log" 2>&1 3>&- &
	TOK_PID=$!
	wait_for "[ -s '$TOK_OUT.port' ]" || fail "tokenserver.py did not start: $(cat "$TOK_OUT.log")"
	TOK_URL=https://localhost:$(<"$TOK_OUT.port")
}

tok_stop() {
	[ -n "${TOK_PID:-}" ] || return 0
	kill -TERM "$TOK_PID" 2>/dev/null
	wait "$TOK_PID" 2>/dev/null
	TOK_PID=
}

# wait_for SHELL-CONDITION: up to 30 s
wait_for() {
	local i
	for ((i = 0; i < 600; i++)); do
		eval "$1" && return 0
		sleep 0.05
	done
	return 1
}

# smtp_start [saslsmtp.py options]: the SMTP server (implicit TLS) that takes the endpoint's tokens
smtp_start() {
	sasl_server --tls implicit --auth-mechs "${MECHS:-XOAUTH2}" --token-file "$TOK_OUT/valid.json" "$@"
}

# oauth_config [LINE...]: account "fake" with XOAUTH2 through the token endpoint
oauth_config() {
	fake_config --no-auth "user = $FAKE_USER" "auth = ${MECH:-xoauth2}" \
		"oauth2_token_endpoint = $TOK_URL/token" "oauth2_client_id = $CLIENT" \
		"oauth2_trust_file = $CA_DIR/ca.pem" "$@"
	[ "$(id -u)" -ne 0 ] || echo "oauth2_store_dir = $STORE_DIR" >>"$CONF"
}

# the standard set-up: endpoint with a refresh token for alice, SMTP server, account
refresh_setup() {
	tok_start --client "$CLIENT" --refresh "$RT:$FAKE_USER" "$@"
	smtp_start
	oauth_config "oauth2_refresh_token = $RT"
}

# tok_count [PATH]: the requests the endpoint saw (POST /token by default)
tok_count() {
	"$PYTHON" -c 'import json, sys
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    n += r["method"] == "POST" and r["path"] == sys.argv[2]
print(n)' "$TOK_OUT/requests.jsonl" "${1:-/token}"
}

# tok_form N KEY: the form field KEY of the N-th POST /token (1-based)
tok_form() {
	"$PYTHON" -c 'import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
reqs = [r for r in reqs if r["method"] == "POST" and r["path"] == "/token"]
print(reqs[int(sys.argv[2]) - 1]["form"].get(sys.argv[3], ""))' "$TOK_OUT/requests.jsonl" "$1" "$2"
}

# auth_results: the token_ok of each AUTH the SMTP server saw, one per line
auth_results() {
	"$PYTHON" -c 'import json, sys
for l in open(sys.argv[1]):
    print(str(json.loads(l)["ok"]).lower())' "$FAKE_OUT/auth.jsonl"
}

store_get() { # KEY
	sed -n "s/^$1 //p" "$STORE"
}

assert_arrived() { # N: msg-N.eml is $WANT, sent with XOAUTH2 (or $MECH)
	assert_same_bytes "$WANT" "$FAKE_OUT/msg-$1.eml"
	local mech=${MECH:-xoauth2}
	assert_equal "$(json_get "$FAKE_OUT/msg-$1.json" auth_mechanism)" "${mech^^}"
}

# ---- the refresh grant --------------------------------------------------------------------

@test "refresh grant: the endpoint's token gets the message in, the store is 0600 in the state dir" {
	refresh_setup
	send
	assert_sent
	assert_arrived 1
	assert_equal "$(tok_count)" 1
	assert_equal "$(tok_form 1 grant_type)" refresh_token
	assert_equal "$(tok_form 1 refresh_token)" "$RT"
	assert_equal "$(tok_form 1 client_id)" "$CLIENT"
	assert_equal "$(auth_results)" true
	assert_file_exists "$STORE"
	assert_equal "$(stat -c %a "$STORE")" 600
	assert_equal "$(stat -c %a "$(dirname "$STORE")")" 700
	# the rotated refresh token is what the store keeps
	[[ $(store_get refresh_token) == rt-* ]] && [ "$(store_get refresh_token)" != "$RT" ] ||
		fail "store has refresh_token '$(store_get refresh_token)'"
}

@test "OAUTHBEARER: the same token, with host and port, also gets in" {
	MECHS="OAUTHBEARER" MECH=oauthbearer refresh_setup
	MECH=oauthbearer send
	assert_sent
	MECH=oauthbearer assert_arrived 1
}

@test "cached token reused: two messages, one request to the endpoint" {
	refresh_setup
	send
	assert_sent
	send
	assert_sent
	assert_arrived 1
	assert_arrived 2
	assert_equal "$(tok_count)" 1
}

@test "refresh on expiry: a token about to expire is renewed with the rotated refresh token" {
	# 60 s is within postbote's margin: each later use renews it
	refresh_setup --expires-in 60
	send
	assert_sent
	local rotated
	rotated=$(store_get refresh_token)
	send
	assert_sent
	assert_arrived 2
	assert_equal "$(tok_count)" 2
	assert_equal "$(tok_form 2 refresh_token)" "$rotated"
	# the endpoint dropped the first one when it rotated: only the rotated one could work
	[ "$rotated" != "$RT" ] || fail "no rotation happened"
}

@test "two postbotes renewing at once: the lock makes them spend each rotated token once" {
	# strict rotation (a spent refresh token is invalid) and a slow endpoint: without the
	# lock, both would spend the same refresh token and one would get invalid_grant
	refresh_setup --expires-in 60 --delay 1
	PB_TIMEOUT=60 send
	assert_sent
	local out1=$BATS_TEST_TMPDIR/one.err out2=$BATS_TEST_TMPDIR/two.err rc1=0 rc2=0 p1 p2
	"$POSTBOTE" -C "$CONF" bob@example.org <"$MSG" 2>"$out1" 3>&- &
	p1=$!
	"$POSTBOTE" -C "$CONF" bob@example.org <"$MSG" 2>"$out2" 3>&- &
	p2=$!
	wait "$p1" || rc1=$?
	wait "$p2" || rc2=$?
	[ "$rc1" -eq 0 ] && [ "$rc2" -eq 0 ] || fail "exit $rc1 and $rc2: $(cat "$out1" "$out2")"
	assert_arrived 2
	assert_arrived 3
	assert_equal "$(tok_count)" 3
	[ "$(tok_form 2 refresh_token)" != "$(tok_form 3 refresh_token)" ] ||
		fail "both spent the same refresh token"
}

@test "a refresh token that the configuration replaces is used instead of the stored one" {
	refresh_setup --refresh "rt-second:$FAKE_USER" --expires-in 60
	send
	assert_sent
	sed -i "s/^oauth2_refresh_token = .*/oauth2_refresh_token = rt-second/" "$CONF"
	send
	assert_sent
	assert_equal "$(tok_form 2 refresh_token)" rt-second
}

@test "server rejects the cached token: exactly one refresh and one retry, then sent" {
	refresh_setup
	send
	assert_sent
	# the provider revokes the token postbote still holds as valid
	curl -sS --cacert "$CA_DIR/ca.pem" -X POST -H 'Content-Type: application/x-www-form-urlencoded' \
		-d x=1 "$TOK_URL/admin/expire" >/dev/null
	send
	assert_sent
	assert_arrived 2
	assert_equal "$(tok_count)" 2
	assert_equal "$(auth_results | tr '\n' ' ')" "true false true "
}

@test "server rejects every token: one refresh, one retry, then exit 77 with the 535; nothing sent" {
	tok_start --client "$CLIENT" --refresh "$RT:$FAKE_USER"
	sasl_server --tls implicit --auth-mechs XOAUTH2 --token "$FAKE_USER:never-issued"
	oauth_config "oauth2_refresh_token = $RT"
	send
	assert_equal "$status" 77
	assert_error_line "authentication failed for user $FAKE_USER" "535"
	# the first token, and the one refresh after the rejection
	assert_equal "$(tok_count)" 2
	assert_equal "$(auth_results | tr '\n' ' ')" "false false "
	assert_file_not_exist "$FAKE_OUT/msg-1.eml"
}

@test "revoked refresh token (invalid_grant): exit 77, one line with the command to run; nothing sent" {
	tok_start --client "$CLIENT"
	smtp_start
	oauth_config "oauth2_refresh_token = rt-revoked"
	send
	assert_equal "$status" 77
	assert_error_line "account 'fake'" "invalid_grant" \
		"authorize again: postbote -C $CONF --oauth2-authorize fake"
	refute_client_sent '^(AUTH|MAIL)'
	assert_file_not_exist "$FAKE_OUT/msg-1.eml"
}

@test "no refresh token anywhere: exit 77, says to authorize once" {
	tok_start --client "$CLIENT"
	smtp_start
	oauth_config
	send
	assert_equal "$status" 77
	assert_error_line "has no OAuth refresh token yet" "postbote -C $CONF --oauth2-authorize fake"
	assert_equal "$(tok_count)" 0
}

@test "a wrong client secret: exit 77, says to check the client" {
	tok_start --client "$CLIENT:right" --refresh "$RT:$FAKE_USER"
	smtp_start
	oauth_config "oauth2_refresh_token = $RT" "oauth2_client_secret = s3cr3t-guess"
	send
	assert_equal "$status" 77
	assert_error_line "refused the client" "invalid_client" "oauth2_client_id"
	[[ $stderr != *s3cr3t-guess* ]] || fail "the secret is in the message: $stderr"
}

# ---- endpoint trouble ---------------------------------------------------------------------

@test "endpoint down, queue on: the message is queued, and a queue run sends it once it is back" {
	tok_start --client "$CLIENT" --refresh "$RT:$FAKE_USER"
	smtp_start
	local url=$TOK_URL
	TOK_URL=https://localhost:$(free_port)
	oauth_config "oauth2_refresh_token = $RT" "queue = on" "queue_retry_min = 1"
	sed -i 's/^queue = off$//' "$CONF"
	send
	assert_success
	assert_error_line "queued as" "could not be reached"
	assert_file_not_exist "$FAKE_OUT/msg-1.eml"
	sed -i "s|^oauth2_token_endpoint = .*|oauth2_token_endpoint = $url/token|" "$CONF"
	run --separate-stderr pb -C "$CONF" -q
	assert_success
	assert_arrived 1
}

@test "a queued message whose refresh token was revoked waits, and mailq says what to run" {
	tok_start --client "$CLIENT" --refresh "$RT:$FAKE_USER"
	smtp_start
	TOK_URL=https://localhost:$(free_port)
	oauth_config "oauth2_refresh_token = $RT" "queue = on" "queue_retry_min = 1"
	sed -i 's/^queue = off$//' "$CONF"
	send
	assert_success
	assert_error_line "queued as"
	# the endpoint is back, but it no longer knows the refresh token
	tok_stop
	tok_start --client "$CLIENT"
	sed -i "s|^oauth2_token_endpoint = .*|oauth2_token_endpoint = $TOK_URL/token|" "$CONF"
	run --separate-stderr pb -C "$CONF" -q
	assert_file_not_exist "$FAKE_OUT/msg-1.eml"
	run --separate-stderr pb -C "$CONF" -bp
	assert_success
	assert_output --partial "invalid_grant"
	assert_output --partial "postbote -C $CONF --oauth2-authorize fake"
}

@test "endpoint down while the cached token is in its last minute: that token is still used" {
	refresh_setup --expires-in 30
	send
	assert_sent
	tok_stop
	send
	assert_sent
	assert_arrived 2
}

@test "endpoint answers 503: temporary, exit 75 with the queue off" {
	tok_start --client "$CLIENT" --refresh "$RT:$FAKE_USER" --status 503
	smtp_start
	oauth_config "oauth2_refresh_token = $RT"
	send
	assert_equal "$status" 75
	assert_error_line "failed for now" "server_error"
	refute_client_sent '^AUTH'
}

@test "endpoint certificate not from oauth2_trust_file: exit 76, no token request reaches it" {
	refresh_setup
	sed -i "s|^oauth2_trust_file = .*|oauth2_trust_file = $CA_DIR/other-ca.pem|" "$CONF"
	send
	assert_equal "$status" 76
	assert_error_line "did not verify against oauth2_trust_file"
	assert_equal "$(tok_count)" 0
}

@test "an oauth2_trust_file that cannot be read: exit 78, names it" {
	refresh_setup
	sed -i "s|^oauth2_trust_file = .*|oauth2_trust_file = $BATS_TEST_TMPDIR/missing.pem|" "$CONF"
	send
	assert_equal "$status" 78
	assert_error_line "cannot use oauth2_trust_file $BATS_TEST_TMPDIR/missing.pem"
	assert_equal "$(tok_count)" 0
}

@test "an http:// token endpoint is refused when the file is read: exit 78" {
	FAKE_PORT=1 FAKE_TLS=implicit fake_config --no-auth "user = $FAKE_USER" "auth = xoauth2" \
		"oauth2_token_endpoint = http://localhost:1/token" "oauth2_client_id = x"
	send
	assert_equal "$status" 78
	assert_error_line "oauth2_token_endpoint must be an https:// URL"
}

@test "a file with oauth2_client_secret or oauth2_refresh_token readable by others is refused: exit 78" {
	local key
	for key in oauth2_client_secret oauth2_refresh_token; do
		FAKE_PORT=1 FAKE_TLS=implicit fake_config --no-auth "user = $FAKE_USER" \
			"auth = xoauth2" "oauth2_token_endpoint = https://localhost:1/token" \
			"oauth2_client_id = x" "$key = s3cr3t"
		chmod 644 "$CONF"
		send
		assert_equal "$status" 78
		assert_error_line "holds a password but is readable by others"
	done
}

# ---- other grants -------------------------------------------------------------------------

@test "client credentials (app-only): secret and scope in the request; the token gets in" {
	tok_start --client "app-id:app-secret"
	smtp_start
	oauth_config "oauth2_grant = client_credentials" "oauth2_client_secret = app-secret" \
		"oauth2_scope = https://outlook.office365.com/.default"
	sed -i "s/^oauth2_client_id = .*/oauth2_client_id = app-id/" "$CONF"
	send
	assert_sent
	assert_arrived 1
	assert_equal "$(tok_form 1 grant_type)" client_credentials
	assert_equal "$(tok_form 1 client_secret)" app-secret
	assert_equal "$(tok_form 1 scope)" "https://outlook.office365.com/.default"
}

@test "client credentials with oauth2_client_secret_eval: the command's first line is the secret" {
	tok_start --client "app-id:app-secret"
	smtp_start
	oauth_config "oauth2_grant = client_credentials" \
		"oauth2_client_secret_eval = printf '%s\\n' app-secret second-line"
	sed -i "s/^oauth2_client_id = .*/oauth2_client_id = app-id/" "$CONF"
	send
	assert_sent
	assert_equal "$(tok_form 1 client_secret)" app-secret
}

# make_sa_key NAME [TOKEN_URI]: an RSA service account key, $BATS_TEST_TMPDIR/NAME.json
# (Google's format) and NAME.pub (its public key)
make_sa_key() {
	local d=$BATS_TEST_TMPDIR
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$d/$1.pem" 2>/dev/null
	openssl pkey -in "$d/$1.pem" -pubout -out "$d/$1.pub"
	"$PYTHON" -c 'import json, sys
print(json.dumps({"type": "service_account", "project_id": "p", "private_key_id": "kid-1",
                  "private_key": open(sys.argv[1]).read(), "client_email": sys.argv[2],
                  "client_id": "1", "token_uri": sys.argv[3]}))' \
		"$d/$1.pem" sa@p.iam.gserviceaccount.com "${2:-https://oauth2.googleapis.com/token}" \
		>"$d/$1.json"
	chmod 600 "$d/$1.json"
}

@test "jwt_bearer: an RS256 JWT for the mailbox, checked by the endpoint, gets a token" {
	make_sa_key sa
	tok_start --jwt-key "$BATS_TEST_TMPDIR/sa.pub" --jwt-iss sa@p.iam.gserviceaccount.com
	smtp_start
	oauth_config "oauth2_grant = jwt_bearer" "oauth2_key_file = $BATS_TEST_TMPDIR/sa.json" \
		"oauth2_scope = https://mail.google.com/"
	send
	assert_sent
	assert_arrived 1
	assert_equal "$(tok_form 1 grant_type)" urn:ietf:params:oauth:grant-type:jwt-bearer
	# the claims name the mailbox (domain-wide delegation) and the endpoint
	run "$PYTHON" -c 'import base64, json, sys
p = sys.argv[1].split(".")[1]
c = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
print(c["sub"], c["aud"], c["scope"], c["exp"] - c["iat"])' "$(tok_form 1 assertion)"
	assert_output "$FAKE_USER $TOK_URL/token https://mail.google.com/ 3600"
}

@test "jwt_bearer without a token endpoint: the key file's token_uri is the endpoint and the audience" {
	local port
	port=$(free_port)
	make_sa_key sa "https://localhost:$port/token"
	tok_start --port "$port" --jwt-key "$BATS_TEST_TMPDIR/sa.pub" \
		--jwt-iss sa@p.iam.gserviceaccount.com
	smtp_start
	oauth_config "oauth2_grant = jwt_bearer" "oauth2_key_file = $BATS_TEST_TMPDIR/sa.json" \
		"oauth2_scope = https://mail.google.com/"
	sed -i '/^oauth2_token_endpoint = /d; /^oauth2_client_id = /d' "$CONF"
	send
	assert_sent
	assert_arrived 1
}

@test "jwt_bearer signed with another key: refused (invalid_grant), exit 77, says to check the key" {
	make_sa_key sa
	make_sa_key other
	tok_start --jwt-key "$BATS_TEST_TMPDIR/sa.pub" --jwt-iss sa@p.iam.gserviceaccount.com
	smtp_start
	oauth_config "oauth2_grant = jwt_bearer" "oauth2_key_file = $BATS_TEST_TMPDIR/other.json" \
		"oauth2_scope = https://mail.google.com/"
	send
	assert_equal "$status" 77
	assert_error_line "refused the jwt_bearer grant" "oauth2_key_file"
	assert_file_not_exist "$FAKE_OUT/msg-1.eml"
}

@test "jwt_bearer with a key file others may read: exit 78, says which chmod" {
	make_sa_key sa
	chmod 644 "$BATS_TEST_TMPDIR/sa.json"
	tok_start --jwt-key "$BATS_TEST_TMPDIR/sa.pub" --jwt-iss sa@p.iam.gserviceaccount.com
	smtp_start
	oauth_config "oauth2_grant = jwt_bearer" "oauth2_key_file = $BATS_TEST_TMPDIR/sa.json"
	send
	assert_equal "$status" 78
	assert_error_line "chmod 600 $BATS_TEST_TMPDIR/sa.json"
	assert_equal "$(tok_count)" 0
}

# ---- size, secrecy, state -----------------------------------------------------------------

@test "a 16 KiB access token from the endpoint goes on the AUTH line whole" {
	refresh_setup --token-length 16384
	send
	assert_sent
	assert_arrived 1
	[ "$(store_get access_token | wc -c)" -eq 16385 ] || fail "stored token is not 16384 bytes"
}

@test "tokens never in -v output, errors or the log file" {
	refresh_setup
	echo "logfile = $BATS_TEST_TMPDIR/log" >>"$CONF"
	send -v bob@example.org
	assert_success
	local access refresh
	access=$(store_get access_token)
	refresh=$(store_get refresh_token)
	[ -n "$access" ] && [ -n "$refresh" ] || fail "nothing stored"
	for t in "$access" "$refresh" "$RT" "$(printf 'user=%s\001auth=Bearer %s\001\001' "$FAKE_USER" "$access" | base64 -w0)"; do
		[[ $stderr != *"$t"* ]] || fail "a token is in the -v output"
		! grep -qF -- "$t" "$BATS_TEST_TMPDIR/log" || fail "a token is in the log file"
	done
}

@test "--serverinfo shows the grant, the store and the expiry, never a token" {
	refresh_setup
	send
	assert_sent
	run --separate-stderr pb -C "$CONF" --serverinfo
	assert_success
	assert_output --partial "OAuth 2.0: XOAUTH2, grant refresh_token, token endpoint $TOK_URL/token"
	assert_output --partial "token store: $STORE"
	assert_output --partial "refresh token: in the token store (rotated, since "
	assert_output --regexp "access token: cached, expires 20[0-9-]+ [0-9:]+ UTC \\(in use\\)"
	[[ $output != *"$(store_get access_token)"* ]] || fail "the access token is shown"
	[[ $output != *"$(store_get refresh_token)"* ]] || fail "the refresh token is shown"
}

@test "--serverinfo before any token: says to authorize" {
	tok_start --client "$CLIENT"
	smtp_start
	oauth_config
	run --separate-stderr pb -C "$CONF" --serverinfo
	assert_success
	assert_output --partial "refresh token: none; authorize once: postbote -C $CONF --oauth2-authorize fake"
	assert_output --partial "access token: none cached"
}

@test "oauth2_provider fills in endpoint and scope by grant and tenant; explicit keys win" {
	tok_start --client "$CLIENT"
	smtp_start
	fake_config --no-auth "user = $FAKE_USER" "auth = xoauth2" \
		"oauth2_provider = microsoft" "oauth2_tenant = example.com" "oauth2_client_id = c"
	run --separate-stderr pb -C "$CONF" --serverinfo
	assert_output --partial "token endpoint https://login.microsoftonline.com/example.com/oauth2/v2.0/token"
	assert_output --partial "scope: https://outlook.office.com/SMTP.Send offline_access"
	echo "oauth2_grant = client_credentials" >>"$CONF"
	echo "oauth2_client_secret = x" >>"$CONF"
	run --separate-stderr pb -C "$CONF" --serverinfo
	assert_output --partial "scope: https://outlook.office365.com/.default"
	sed -i 's/^oauth2_provider = .*/oauth2_provider = google/' "$CONF"
	echo "oauth2_scope = https://example.org/own" >>"$CONF"
	run --separate-stderr pb -C "$CONF" --serverinfo
	assert_output --partial "token endpoint https://oauth2.googleapis.com/token"
	assert_output --partial "scope: https://example.org/own"
}

@test "a user's store is in \$XDG_STATE_HOME/postbote/oauth, else ~/.local/state/postbote/oauth" {
	[ "$(id -u)" -eq 0 ] || skip "the other tests run as this user and find the store there"
	command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"
	# no rotation: the second run, with another store, starts from the file's refresh token
	refresh_setup --no-rotate
	sed -i '/^oauth2_store_dir = /d' "$CONF"
	# a home of nobody's own, outside the test's root-only directory
	USER_DIR=$(mktemp -d /tmp/postbote-oauth-user.XXXXXX)
	chmod 755 "$USER_DIR"
	cp "$CA_DIR/ca.pem" "$USER_DIR/ca.pem"
	sed -i "s|$CA_DIR/ca.pem|$USER_DIR/ca.pem|" "$CONF"
	cp "$CONF" "$USER_DIR/conf"
	chown -R nobody:nogroup "$USER_DIR"
	as_nobody() { # ENV... : postbote as nobody with that environment
		env -i PATH=/usr/bin:/bin "$@" setpriv --reuid=nobody --regid=nogroup --clear-groups \
			"$POSTBOTE" -C "$USER_DIR/conf" bob@example.org <"$MSG"
	}
	run --separate-stderr as_nobody HOME="$USER_DIR" XDG_STATE_HOME="$USER_DIR/xdg"
	assert_sent
	assert_file_exists "$USER_DIR/xdg/postbote/oauth/fake.tokens"
	assert_equal "$(stat -c '%U %a' "$USER_DIR/xdg/postbote/oauth/fake.tokens")" "nobody 600"
	assert_equal "$(stat -c '%a' "$USER_DIR/xdg/postbote/oauth")" 700
	run --separate-stderr as_nobody HOME="$USER_DIR"
	assert_sent
	assert_file_exists "$USER_DIR/.local/state/postbote/oauth/fake.tokens"
	assert_arrived 2
}

@test "a postbote killed while it waits for the endpoint leaves the store whole, no temporary file" {
	refresh_setup --delay 3 --expires-in 60
	PB_TIMEOUT=60 send
	assert_sent
	local before
	before=$(store_get refresh_token)
	"$POSTBOTE" -C "$CONF" bob@example.org <"$MSG" 2>/dev/null 3>&- &
	BG_PID=$!
	wait_for '[ "$(tok_count)" -eq 2 ]' || fail "no second request"
	kill -KILL "$BG_PID"
	wait "$BG_PID" 2>/dev/null || true
	BG_PID=
	assert_equal "$(store_get refresh_token)" "$before"
	assert_equal "$(find "$(dirname "$STORE")" -name '*.tmp' | wc -l)" 0
}

# ---- --oauth2-authorize -------------------------------------------------------------------

# authorize_bg: postbote --oauth2-authorize fake in the background, its output in $AUTH_OUT
authorize_bg() {
	AUTH_OUT=$BATS_TEST_TMPDIR/authorize.out
	timeout -k 5 60 "$POSTBOTE" -C "$CONF" --oauth2-authorize fake >"$AUTH_OUT" 2>&1 3>&- &
	BG_PID=$!
}

authorize_wait() { # the exit status of authorize_bg
	local rc=0
	wait "$BG_PID" || rc=$?
	BG_PID=
	return $rc
}

@test "--oauth2-authorize, device flow: prints URL and code, polls, stores the refresh token" {
	tok_start --client "$CLIENT" --user "$FAKE_USER"
	smtp_start
	oauth_config "oauth2_device_endpoint = $TOK_URL/device"
	authorize_bg
	wait_for "grep -q 'enter the code' '$AUTH_OUT'" || fail "no code: $(cat "$AUTH_OUT")"
	local code
	code=$(sed -n 's/.* and enter the code \(.*\)$/\1/p' "$AUTH_OUT")
	grep -qF "open $TOK_URL/device in a browser" "$AUTH_OUT" || fail "no URL: $(cat "$AUTH_OUT")"
	# the person enters the code
	curl -sS --cacert "$CA_DIR/ca.pem" "$TOK_URL/device?user_code=$code" >/dev/null
	authorize_wait || fail "exit $?: $(cat "$AUTH_OUT")"
	grep -qF "Authorized: the refresh token for account 'fake' is stored in $STORE" "$AUTH_OUT"
	assert_equal "$(store_get origin)" authorize
	assert_equal "$(tok_form 1 grant_type)" urn:ietf:params:oauth:grant-type:device_code
	# and mail goes out with what it stored, without oauth2_refresh_token in the file
	send
	assert_sent
	assert_arrived 1
}

@test "--oauth2-authorize, device flow declined by the person: exit 77, nothing stored" {
	tok_start --client "$CLIENT" --user "$FAKE_USER"
	FAKE_PORT=1 FAKE_TLS=implicit oauth_config "oauth2_device_endpoint = $TOK_URL/device"
	authorize_bg
	wait_for "grep -q 'enter the code' '$AUTH_OUT'" || fail "no code: $(cat "$AUTH_OUT")"
	local code rc=0
	code=$(sed -n 's/.* and enter the code \(.*\)$/\1/p' "$AUTH_OUT")
	curl -sS --cacert "$CA_DIR/ca.pem" "$TOK_URL/device?user_code=$code&deny=1" >/dev/null
	authorize_wait || rc=$?
	assert_equal "$rc" 77
	grep -qF "postbote: the authorization was declined (access_denied)" "$AUTH_OUT" ||
		fail "output: $(cat "$AUTH_OUT")"
	assert_file_not_exist "$STORE"
}

@test "--oauth2-authorize, loopback flow with PKCE: the browser's redirect comes back to postbote" {
	tok_start --client "$CLIENT" --user "$FAKE_USER" --expires-in 60
	smtp_start
	oauth_config "oauth2_auth_endpoint = $TOK_URL/authorize"
	authorize_bg
	wait_for "grep -q '^$TOK_URL/authorize?' '$AUTH_OUT'" || fail "no URL: $(cat "$AUTH_OUT")"
	local url
	url=$(grep "^$TOK_URL/authorize?" "$AUTH_OUT")
	[[ $url == *code_challenge_method=S256* && $url == *redirect_uri=http%3A%2F%2F127.0.0.1%3A* ]] ||
		fail "URL: $url"
	# someone else's request to the listener, without our state, is turned away
	local redirect
	redirect=$(sed -n 's|^Waiting for the browser at \(http://127.0.0.1:[0-9]*/\) .*|\1|p' "$AUTH_OUT")
	run curl -sS "${redirect}?code=stolen&state=guess"
	assert_output --partial "wrong state"
	# the browser: consent, then the redirect to postbote's listener
	run curl -sS -L --cacert "$CA_DIR/ca.pem" "$url"
	assert_output "postbote: authorized. You may close this page."
	authorize_wait || fail "exit $?: $(cat "$AUTH_OUT")"
	assert_equal "$(tok_form 1 grant_type)" authorization_code
	[ -n "$(tok_form 1 code_verifier)" ] || fail "no code_verifier"
	[ "$(tok_form 1 code)" != stolen ] || fail "the stolen code was exchanged"
	assert_equal "$(store_get origin)" authorize
	# the stored refresh token works (the 60 s token is renewed at once)
	send
	assert_sent
	assert_arrived 1
	assert_equal "$(tok_form 2 grant_type)" refresh_token
}

@test "--oauth2-authorize for an account without OAuth: exit 78" {
	FAKE_PORT=1 FAKE_TLS=implicit fake_config
	run --separate-stderr pb -C "$CONF" --oauth2-authorize fake
	assert_equal "$status" 78
	assert_error_line "does not use OAuth 2.0"
}

@test "without json-c an OAuth 2.0 account fails in one line naming libjson-c5, before asking the endpoint" {
	local lib
	[ "$(id -u)" = 0 ] || skip "needs root for a private mount namespace"
	lib=$(ldconfig -p | sed -n 's/^[[:space:]]*libjson-c\.so\.[0-9]* (.*=> //p' | head -n 1)
	[ -n "$lib" ] || skip "ldconfig knows no libjson-c"
	without_lib "$lib" true 2>/dev/null || skip "no private mount namespace here"
	refresh_setup
	run --separate-stderr without_lib "$lib" timeout 30 "$POSTBOTE" -C "$CONF" bob@example.org \
		<"$MSG"
	assert_equal "$status" 78
	assert_equal "$(printf '%s\n' "$stderr" | wc -l)" 1
	[[ $stderr == *"OAuth 2.0 needs json-c (libjson-c.so."*"), which cannot be loaded: "*"; install the Debian package libjson-c5"* ]] ||
		fail "stderr: $stderr"
	# the refresh token was not spent on an answer that could not be read
	assert_equal "$(tok_count)" 0
	[ ! -e "$FAKE_OUT/msg-1.eml" ] || fail "a message arrived"
}

@test "libcurl and json-c are loaded only to speak to a token endpoint: postbote links neither" {
	run ldd "$POSTBOTE"
	assert_success
	refute_output --partial libcurl
	refute_output --partial libjson-c
	refresh_setup
	LD_DEBUG=files LD_DEBUG_OUTPUT="$BATS_TEST_TMPDIR/ld1" send
	assert_sent
	run ld_loaded "$BATS_TEST_TMPDIR/ld1"
	assert_line --regexp '^libcurl(-gnutls)?\.so\.'
	assert_line --regexp '^libjson-c\.so\.'
	# the cached token: no endpoint, no JSON
	LD_DEBUG=files LD_DEBUG_OUTPUT="$BATS_TEST_TMPDIR/ld2" send
	assert_sent
	assert_equal "$(tok_count)" 1
	run ld_loaded "$BATS_TEST_TMPDIR/ld2"
	assert_line --partial libgnutls	# LD_DEBUG saw the run
	refute_output --partial libcurl
	refute_output --partial libjson-c
}
