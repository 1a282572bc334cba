# common.bash: helpers for the end-to-end bats tests. Load it with `load lib/common` from a file in t/, and
# run the tests inside the mini internet: `t/netns-run bats t/FILE.bats` (see t/netns-run for the servers and
# the environment: T_DIR T_STATE REDIS_SOCK REDIS_URL SMTP_SPOOL HTTP_LOG DKIM_KEYDIR).
#
#   reset_servers                       empty Redis (FLUSHALL), the SMTP spool and the HTTP log; call in setup()
#   rcli ARGS...                        redis-cli on the test Redis
#   make_msg OUT [key=value ...]        write a test message (OUT - for stdout); keys: see t/lib/mkmsg.py
#   sign_msg IN OUT [DOMAIN] [SEL]      DKIM-sign IN into OUT (default sender.test, sel1), relaxed/relaxed;
#                                       SIGN_HEADERS=from:to:cfbl-address... signs those header fields
#   pmta_authres IN OUT VALUE           IN with PMTA's Authentication-Results: VALUE below its trace headers
#   dkim_verify [FILE]                  dkimverify FILE (or stdin): "signature ok" and status 0 when it verifies
#   dns_query NAME TYPE                 DNS answers one per line ("10 mx.host." for MX, joined strings for
#                                       TXT), or the error (NXDOMAIN, NoAnswer, LifetimeTimeout); DNS_LIFETIME=2 s
#   smtp_messages                       number of messages the SMTP sink has accepted
#   smtp_eml N / smtp_json N            path of the Nth accepted message / of its envelope (1 = oldest)
#   smtp_all_signed DOMAIN              every message the SMTP sink accepted has a DKIM signature of DOMAIN
#                                       that verifies (python3-dkim, not libopendkim; keys from this DNS);
#                                       names each that does not
#   http_requests [FILTER]              the HTTP log's JSON lines (only those containing FILTER)
#   wait_for SECONDS CMD...             run CMD until it succeeds; fail after SECONDS

if [[ -z ${T_STATE:-} || -z ${SINK_NETNS_READY:-} ]]; then
	echo "common.bash: run the tests inside the mini internet: t/netns-run bats ${BATS_TEST_FILENAME:-t/...}" >&2
	return 1
fi

load '/usr/lib/bats/bats-support/load'	# Debian: bats-support
load '/usr/lib/bats/bats-assert/load'	# Debian: bats-assert

PY=/usr/bin/python3
# dnspython (in dkimsign, dkimverify, dns_query) loads 0.6 s of DNS-over-HTTPS modules unless this is on
# PYTHONPATH: see t/lib/python-nodoh/README. Used for those helpers only.
NODOH=$T_DIR/lib/python-nodoh

reset_servers() {
	rcli FLUSHALL >/dev/null
	rm -f "$SMTP_SPOOL"/*
	: >"$HTTP_LOG"
	: >"$T_STATE/blackhole.log"
}

rcli() {
	redis-cli -s "$REDIS_SOCK" "$@"
}

make_msg() {
	"$PY" "$T_DIR/lib/mkmsg.py" "$@"
}

# pmta_authres IN OUT VALUE: IN with "Authentication-Results: VALUE" after the trace headers on its top (Return-Path:,
# Received:), where PMTA's check-dkim-inbound puts its own
pmta_authres() {
	LC_ALL=C awk -v ar="Authentication-Results: $3" '
		top && !(/^[ \t]/ || tolower($0) ~ /^(return-path|received):/) { print ar; top = 0 }
		{ print }' top=1 "$1" >"$2"
}

# sign_msg IN OUT [DOMAIN] [SELECTOR]: sign as the sender's MTA would, with python3-dkim (as its dkimsign) and
# the key $DKIM_KEYDIR/DOMAIN/SELECTOR.private; relaxed/relaxed, or relaxed/$SIGN_BCANON for the body; over
# python3-dkim's default header fields, or those SIGN_HEADERS lists (colon-separated, from among them, e.g.
# from:to:subject:cfbl-address). The trace headers on top of IN (Return-Path:, Received:, as make_msg writes them) stay on top,
# unsigned, as if added by PMTA after the signature.
sign_msg() {
	local in=$1 out=$2 domain=${3:-sender.test} selector=${4:-sel1}
	local key=$DKIM_KEYDIR/$domain/$selector.private tmp
	if [[ ! -r $key ]]; then
		echo "sign_msg: no key $key" >&2
		return 1
	fi
	tmp=$(mktemp -d "$T_STATE/sign.XXXXXX")
	LC_ALL=C awk -v trace="$tmp/trace" -v rest="$tmp/rest" '
		BEGIN { top = 1; printf "" > trace; printf "" > rest }
		top && (/^[ \t]/ || tolower($0) ~ /^(return-path|received):/) { print > trace; next }
		{ top = 0; print > rest }' "$in"
	if ! PYTHONPATH=$NODOH "$PY" - "$selector" "$domain" "$key" "${SIGN_BCANON:-relaxed}" "${SIGN_HEADERS:-}" \
		"$tmp/rest" "$tmp/signed" <<'EOF'
import sys, dkim, dkim.util
selector, domain, key, bcanon, headers, inp, out = sys.argv[1:8]
message = open(inp, "rb").read()
d = dkim.DKIM(message, linesep=dkim.util.get_linesep(message))
sig = d.sign(selector.encode(), domain.encode(), open(key, "rb").read(), canonicalize=(b"relaxed", bcanon.encode()),
             include_headers=[h.encode() for h in headers.split(":")] if headers else None)
open(out, "wb").write(sig + message)
EOF
	then
		echo "sign_msg: python3-dkim did not sign $in" >&2
		rm -rf "$tmp"
		return 1
	fi
	cat "$tmp/trace" "$tmp/signed" >"$out"
	rm -rf "$tmp"
}

dkim_verify() {
	PYTHONPATH=$NODOH dkimverify <"${1:-/dev/stdin}"
}

dns_query() {
	PYTHONPATH=$NODOH "$PY" - "$@" <<'EOF'
import os, sys, dns.resolver
name, rtype = sys.argv[1:3]
try:
    answers = dns.resolver.resolve(name, rtype, lifetime=float(os.environ.get("DNS_LIFETIME", "2")))
    for r in sorted(answers, key=lambda r: getattr(r, "preference", 0)):
        print(b"".join(r.strings).decode() if rtype.upper() == "TXT" else r.to_text())
except Exception as e:
    print(type(e).__name__)
EOF
}

smtp_messages() {
	find "$SMTP_SPOOL" -maxdepth 1 -name '*.eml' | wc -l
}

smtp_eml() {
	local files=("$SMTP_SPOOL"/*.eml)
	[[ -e ${files[$1 - 1]:-} ]] || { echo "smtp_eml: no message $1" >&2; return 1; }
	echo "${files[$1 - 1]}"
}

smtp_json() {
	local eml
	eml=$(smtp_eml "$1") || return 1
	echo "${eml%.eml}.json"
}

smtp_all_signed() {
	PYTHONPATH=$NODOH "$PY" - "$SMTP_SPOOL" "$1" <<'EOF'
import glob, re, sys, dkim
spool, domain = sys.argv[1:3]
bad = []
for path in sorted(glob.glob(spool + "/*.eml")):
    d = dkim.DKIM(open(path, "rb").read())
    sigs = [v for n, v in d.headers if n.lower() == b"dkim-signature"]
    ok = any(re.search(rb"(^|;)\s*d\s*=\s*" + re.escape(domain.encode()) + rb"\s*(;|$)", v) and d.verify(idx=i)
             for i, v in enumerate(sigs))
    if not ok:
        bad.append(path)
for path in bad:
    print("smtp_all_signed: %s has no signature of %s that verifies" % (path, domain))
sys.exit(1 if bad else 0)
EOF
}

http_requests() {
	grep -F -- "${1:-}" "$HTTP_LOG" || true
}

# redis_connections: the connections Redis has taken since it started (this one, the asking, included)
redis_connections() {
	rcli INFO stats | tr -d '\r' | sed -n 's/^total_connections_received://p'
}

# gone PID: the process has ended (a zombie not yet reaped counts as ended)
gone() {
	local state
	read -r _ _ state _ 2>/dev/null <"/proc/$1/stat" || return 0
	[[ $state == Z ]]
}

wait_for() {
	local seconds=$1 deadline
	shift
	deadline=$((${EPOCHREALTIME/./} + seconds * 1000000))
	until "$@"; do
		if ((${EPOCHREALTIME/./} > deadline)); then
			echo "wait_for: '$*' still fails after $seconds s" >&2
			return 1
		fi
		sleep 0.02
	done
}
