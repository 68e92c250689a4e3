# A private DNS server for --configure's tests: dnsmasq on 127.0.0.1:53 inside a new network
# and mount namespace (unshare --mount --net), with /etc/resolv.conf bind-mounted to point at
# it (authoritative for .test, .example, .com and .org: other names there are NXDOMAIN, as in real
# DNS) and the test CA bind-mounted over the system trust store, so that postbote looks up SRV
# and MX records and verifies certificates exactly as it does for real, and nothing outside
# the namespace sees or disturbs any of it (port 53 and the submission ports inside are the
# namespace's own: runs in parallel cannot collide). Needs root, unshare, ip, ss, dnsmasq.
#
# dnsns_can_run                  root and the tools: use as `dnsns_can_run || skip ...`
# dnsns_cert NAME...             NS_CERT/NS_KEY: a server certificate for these DNS names,
#                                signed by the test CA ($CA_DIR)
# ns_run [--smtp PORT:TLS[:ARGS]]... [--] COMMAND...
#                                run COMMAND inside a fresh namespace where dnsmasq answers with
#                                the records in the array DNS (dnsmasq options such as
#                                --srv-host=... --host-record=...), and one fakesmtp.py listens
#                                on 127.0.0.1:PORT per --smtp (TLS: implicit, starttls or none;
#                                ARGS: more fakesmtp.py arguments, separated by '|'), with
#                                NS_CERT.
#                                Sets status, output (COMMAND's stdout) and stderr like
#                                `run --separate-stderr`. Every server started is stopped before
#                                ns_run returns; waits are bounded.

dnsns_can_run() {
	[ "$(id -u)" = 0 ] && command -v unshare >/dev/null && command -v dnsmasq >/dev/null &&
		command -v ip >/dev/null && command -v ss >/dev/null
}

dnsns_cert() {
	local d=$BATS_TEST_TMPDIR/nscert name
	mkdir -p "$d"
	{
		printf 'cn = "%s"\n' "$1"
		for name in "$@"; do printf 'dns_name = "%s"\n' "$name"; done
		printf '%s\n' tls_www_server encryption_key signing_key 'expiration_days = 30'
	} >"$d/srv.tmpl"
	if ! certtool --generate-privkey --key-type=ecdsa --outfile "$d/srv.key" 2>/dev/null ||
		! certtool --generate-certificate --load-privkey "$d/srv.key" \
			--load-ca-certificate "$CA_DIR/ca.pem" --load-ca-privkey "$CA_DIR/ca.key" \
			--template "$d/srv.tmpl" --outfile "$d/srv.pem" 2>/dev/null; then
		fail "dnsns_cert: certtool failed"
	fi
	NS_CERT=$d/srv.pem NS_KEY=$d/srv.key
}

# shellcheck disable=SC2016 # the script is run by bash -c, which expands it
# The script run inside the namespace: arguments are the work directory, the number of SMTP
# servers, their specs, then the command. Everything it starts it stops in its EXIT trap.
_ns_inner='
set -u
work=$1 nsmtp=$2
shift 2
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
}
trap cleanup EXIT
ip link set lo up || exit 90
echo "nameserver 127.0.0.1" >"$work/resolv.conf"
mount --bind "$work/resolv.conf" /etc/resolv.conf || exit 91
mount --bind "$CA_DIR/ca.pem" /etc/ssl/certs/ca-certificates.crt || exit 92
mapfile -t dns <"$work/dns.args"
dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --no-poll \
	--listen-address=127.0.0.1 --bind-interfaces --port=53 --user=root \
	--pid-file="$work/dnsmasq.pid" --log-facility="$work/dnsmasq.log" "${dns[@]}" \
	--local=/test/ --local=/com/ --local=/example/ --local=/org/ \
	</dev/null >>"$work/dnsmasq.log" 2>&1 &
pids+=($!)
ports=()
for ((i = 0; i < nsmtp; i++)); do
	spec=$1
	shift
	port=${spec%%:*} rest=${spec#*:}
	tls=${rest%%:*} extra=
	[ "$rest" != "$tls" ] && extra=${rest#*:}
	args=(--outdir "$work/smtp-$port" --port "$port" --tls "$tls" --port-file "$work/smtp-$port.port")
	[ "$tls" != none ] && args+=(--cert "$NS_CERT" --key "$NS_KEY")
	[ -n "$extra" ] && IFS="|" read -r -a more <<<"$extra" && args+=("${more[@]}")
	"$PYTHON" "$FAKESMTP" "${args[@]}" </dev/null >"$work/smtp-$port.log" 2>&1 &
	pids+=($!)
	ports+=("$port")
done
ready() {
	[ -n "$(ss -Hlun "sport = :53")" ] || return 1
	local p
	for p in "${ports[@]}"; do [ -s "$work/smtp-$p.port" ] || return 1; done
}
for ((i = 0; i < 600; i++)); do ready && break; sleep 0.05; done
ready || { echo "ns_run: servers not ready after 30 s" >&2; cat "$work"/*.log >&2; exit 93; }
"$@"
'

ns_run() {
	local specs=() work
	while [ $# -gt 0 ]; do
		case $1 in
		--smtp) specs+=("$2"); shift 2 ;;
		--) shift; break ;;
		*) break ;;
		esac
	done
	work=$(mktemp -d "$BATS_TEST_TMPDIR/ns.XXXXXX")
	printf '%s\n' "${DNS[@]}" >"$work/dns.args"
	export CA_DIR NS_CERT NS_KEY PYTHON FAKESMTP
	run --separate-stderr timeout -k 5 60 unshare --mount --net bash -c "$_ns_inner" ns \
		"$work" "${#specs[@]}" "${specs[@]}" "$@"
	# shellcheck disable=SC2034 # for the test: the servers' outdirs are $NS_WORK/smtp-PORT
	NS_WORK=$work
}
