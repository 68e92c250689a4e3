# Test certificates, made at test time with certtool (package gnutls-bin).
#
# make_test_ca DIR
#   DIR/ca.pem, DIR/ca.key          a test CA
#   DIR/server.pem, DIR/server.key  signed by it, for DNS:localhost and IP 127.0.0.1 / ::1
#   DIR/wrongname.pem, .key         signed by it, for DNS:wrong.example only
#   DIR/expired.pem, .key           signed by it, for localhost, expired yesterday
#   DIR/other-ca.pem                a second CA that signed nothing the servers use
#   DIR/client.pem, DIR/client.key  a client certificate signed by the test CA
# Every file is made once per DIR; calling it again is cheap.

_ca_template() { # file, then lines
	local f=$1; shift
	printf '%s\n' "$@" >"$f"
}

make_test_ca() {
	local d=$1
	[ -s "$d/client.pem" ] && return 0
	mkdir -p "$d" || return 1
	(
		set -e
		cd "$d"
		_ca_template ca.tmpl 'cn = "postbote test CA"' 'ca' 'cert_signing_key' 'expiration_days = 30'
		certtool --generate-privkey --key-type=ecdsa --outfile ca.key 2>/dev/null
		certtool --generate-self-signed --load-privkey ca.key --template ca.tmpl --outfile ca.pem 2>/dev/null

		_ca_template other.tmpl 'cn = "postbote other CA"' 'ca' 'cert_signing_key' 'expiration_days = 30'
		certtool --generate-privkey --key-type=ecdsa --outfile other-ca.key 2>/dev/null
		certtool --generate-self-signed --load-privkey other-ca.key --template other.tmpl --outfile other-ca.pem 2>/dev/null

		_ca_template server.tmpl 'cn = "localhost"' 'dns_name = "localhost"' 'ip_address = "127.0.0.1"' \
			'ip_address = "::1"' 'tls_www_server' 'encryption_key' 'signing_key' 'expiration_days = 30'
		_ca_template wrong.tmpl 'cn = "wrong.example"' 'dns_name = "wrong.example"' \
			'tls_www_server' 'encryption_key' 'signing_key' 'expiration_days = 30'
		_ca_template expired.tmpl 'cn = "localhost"' 'dns_name = "localhost"' 'ip_address = "127.0.0.1"' \
			'tls_www_server' 'encryption_key' 'signing_key' 'activation_date = "2020-01-01 00:00:00 UTC"' \
			'expiration_date = "2020-02-01 00:00:00 UTC"'
		_ca_template client.tmpl 'cn = "postbote test client"' 'email = "client@example.org"' \
			'tls_www_client' 'signing_key' 'expiration_days = 30'
		for n in server:server wrongname:wrong expired:expired client:client; do
			out=${n%%:*} tmpl=${n#*:}
			certtool --generate-privkey --key-type=ecdsa --outfile "$out.key" 2>/dev/null
			certtool --generate-certificate --load-privkey "$out.key" --load-ca-certificate ca.pem \
				--load-ca-privkey ca.key --template "$tmpl.tmpl" --outfile "$out.pem" 2>/dev/null
		done
		chmod 600 ./*.key
	)
}

# cert_sha256 PEM: the SHA-256 fingerprint of a certificate, as hex pairs joined by ':'.
cert_sha256() {
	certtool --fingerprint --hash=sha256 --infile "$1" 2>/dev/null | sed 's/../&:/g; s/:$//'
}
