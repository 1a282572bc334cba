#!/usr/bin/env bats
# trust.bats - the trust checks end to end (SPEC section 6): DKIM verified
# with libopendkim against keys in the mini internet's DNS, SPF with
# libspf2, the Return-Path MX allowlist, and DNS that never answers costing
# at most DNS_Timeout per look-up.
# Run inside the mini internet: t/netns-run bats t/trust.bats
#
# Client IPs are documentation addresses: libspf2 passes every 127/8 client.
# 192.0.2.0/24 is authorized by the test zones' SPF records, 198.51.100.0/24
# is not.

load lib/common
load lib/sink

GOOD_IP=192.0.2.10
BAD_IP=198.51.100.7

setup() {
	reset_servers
	sink_config	# DKIM_Check=verify, DNS_Timeout=2
	M=$BATS_TEST_TMPDIR
}

teardown() {
	# a test that pointed the resolver at dead name servers
	if [[ -f $M/resolv.conf.saved ]]; then
		cat "$M/resolv.conf.saved" >/etc/resolv.conf
	fi
}

json_field() {	# json_field FIELD < record
	/usr/bin/python3 -c 'import json,sys; v=json.load(sys.stdin)[sys.argv[1]]; print(json.dumps(v) if isinstance(v,(list,dict)) or v is None else v)' "$1"
}

# signed OUT DOMAIN [make_msg key=value ...]: a message from DOMAIN, signed by DOMAIN (selector sel1)
signed() {
	local out=$1 domain=$2
	shift 2
	make_msg "$out.unsigned" from="news@$domain" return_path="bounces@$domain" "$@"
	sign_msg "$out.unsigned" "$out" "$domain"
}

now_us() { echo "${EPOCHREALTIME/./}"; }

# sign_as IN OUT DOMAIN SELECTOR [l=]: like sign_msg (relaxed/relaxed, trace headers stay on top unsigned), with
# the sender.test key whatever DOMAIN and SELECTOR say (the record published there decides), and with l=, the
# body length, when asked (python3-dkim; dkimsign cannot set it); SIGN_ALG (a=, default rsa-sha256),
# SIGN_IDENTITY (i=) and SIGN_HEADERS (h=, colon-separated) from the environment
sign_as() {
	PYTHONPATH=$NODOH "$PY" - "$@" "$DKIM_KEYDIR/sender.test/sel1.private" <<'EOF'
import os, re, sys, dkim
inp, out, domain, selector = sys.argv[1:5]
length, key = (sys.argv[5] == "l=", sys.argv[6]) if len(sys.argv) > 6 else (False, sys.argv[5])
lines = open(inp, "rb").read().split(b"\n")
n = 0
while n < len(lines) and (re.match(rb"(?i)(return-path|received):", lines[n]) or (n and lines[n][:1] in (b" ", b"\t"))):
    n += 1
rest = b"\n".join(lines[n:])
identity, headers = os.environ.get("SIGN_IDENTITY"), os.environ.get("SIGN_HEADERS")
sig = dkim.sign(rest, selector.encode(), domain.encode(), open(key, "rb").read(),
                canonicalize=(b"relaxed", b"relaxed"), length=length, linesep=b"\n",
                signature_algorithm=os.environ.get("SIGN_ALG", "rsa-sha256").encode(),
                identity=identity.encode() if identity else None,
                include_headers=[h.encode() for h in headers.split(":")] if headers else None)
open(out, "wb").write(b"".join(l + b"\n" for l in lines[:n]) + sig + rest)
EOF
}

# ---- the good path --------------------------------------------------------------------------------------------

@test "a signed fbl message from an authorized client passes DKIM, SPF and the MX check and reaches the action" {
	signed "$M/m.eml" sender.test to=x@fbl.sink.test
	run filter --dry-run --json --client-ip $GOOD_IP <"$M/m.eml"
	assert_success
	rec=$output
	[ "$(json_field dkim <<<"$rec")" = pass ]
	[ "$(json_field dkim_domain <<<"$rec")" = sender.test ]
	[ "$(json_field dkim_selector <<<"$rec")" = sel1 ]
	[ "$(json_field spf <<<"$rec")" = pass ]
	[ "$(json_field class <<<"$rec")" = fbl ]
	[ "$(json_field mx <<<"$rec")" = smtp.sparkpostmail.com ]	# preference 10 beats backup.sender.test (20)
	[ "$(json_field fbl_address <<<"$rec")" = fbl@sparkpostmail.com ]
	[ "$(json_field errors <<<"$rec")" = "[]" ]
	/usr/bin/python3 -c 'import json,sys; a=json.load(sys.stdin)["actions"]; assert [x["type"] for x in a]==["fbl"], a' <<<"$rec"
}

@test "a signed oob message from an authorized client passes all checks and reaches the action" {
	signed "$M/m.eml" sender.test to=x@oob.sink.test
	run filter --dry-run --json --client-ip $GOOD_IP <"$M/m.eml"
	assert_success
	[ "$(json_field dkim <<<"$output")" = pass ]
	[ "$(json_field spf <<<"$output")" = pass ]
	[ "$(json_field class <<<"$output")" = oob ]
	[ "$(json_field mx <<<"$output")" = smtp.sparkpostmail.com ]
	[ "$(json_field errors <<<"$output")" = "[]" ]
	/usr/bin/python3 -c 'import json,sys; a=json.load(sys.stdin)["actions"]; assert [x["type"] for x in a]==["oob"], a' <<<"$output"
}

@test "a message signed with CRLF line endings verifies as well as LF" {
	signed "$M/m.eml" sender.test to=x@fbl.sink.test crlf=1
	grep -q $'\r$' "$M/m.eml"
	run filter --dry-run --json --client-ip $GOOD_IP <"$M/m.eml"
	assert_success
	[ "$(json_field dkim <<<"$output")" = pass ]
}

@test "mixed line ends (CRLF and LF lines in one message) verify: every line end reads as CRLF" {
	signed "$M/m.eml" sender.test to=x@fbl.sink.test crlf=1
	# every other line loses its CR, in the headers and in the body
	/usr/bin/python3 -c '
import sys
lines = open(sys.argv[1], "rb").read().split(b"\r\n")
out = b"".join(l + (b"\n" if i % 2 else b"\r\n") for i, l in enumerate(lines[:-1])) + lines[-1]
open(sys.argv[2], "wb").write(out)' "$M/m.eml" "$M/mixed.eml"
	grep -q $'\r$' "$M/mixed.eml"
	grep -qv $'\r$' "$M/mixed.eml"
	run filter --dry-run --json --client-ip $GOOD_IP <"$M/mixed.eml"
	assert_success
	[ "$(json_field dkim <<<"$output")" = pass ]
}

@test "a message whose last line has no line end verifies (LF and CRLF, relaxed and simple body)" {
	# LF and CRLF, relaxed body; and simple body canonicalization, which adds the same CRLF
	for case in 0:relaxed 1:relaxed 0:simple; do
		SIGN_BCANON=${case#*:} signed "$M/m.eml" sender.test to=x@fbl.sink.test crlf=${case%%:*} \
			text="last line without its end" html=
		grep -q "c=relaxed/${case#*:}" "$M/m.eml"
		# the signer saw the line end; the message comes without it
		/usr/bin/python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); open(sys.argv[2], "wb").write(d.rstrip(b"\r\n"))' \
			"$M/m.eml" "$M/cut.eml"
		[ "$(tail -c 1 "$M/cut.eml")" = d ]
		run filter --dry-run --json --client-ip $GOOD_IP <"$M/cut.eml"
		assert_success
		[ "$(json_field dkim <<<"$output")" = pass ]
	done
}

@test "a CRLF split between two of the pieces handed to libopendkim (64 KB each) verifies" {
	# a body of short lines past 64 KB, signed; then lines are added before them
	# until a CR is a piece's last byte and its LF the next piece's first
	split_at() {	# split_at SHIFT: sign the message moved on by SHIFT bytes, print the offset of the last CR at or below 65535
		/usr/bin/python3 -c '
import sys
shift = int(sys.argv[1])
pad = ["x" * (shift % 60)] + ["y" * 58] * (shift // 60)	# 60 bytes a line with its CRLF
print(*pad, *("line %05d of the body" % i for i in range(4000)), sep="\n")' "$1" >"$M/body.txt"
		signed "$M/m.eml" sender.test to=x@fbl.sink.test crlf=1 text="$M/body.txt" html= \
			msgid="<split@sender.test>" date="Mon, 07 Dec 2026 10:00:00 +0000"
		/usr/bin/python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); print(d.rindex(b"\r\n", 0, 65537))' "$M/m.eml"
	}
	at=$(split_at 0)
	at=$(split_at $((65535 - at)))
	[ "$at" -eq 65535 ]
	run filter --dry-run --json --client-ip $GOOD_IP <"$M/m.eml"
	assert_success
	[ "$(json_field dkim <<<"$output")" = pass ]
	# a body byte changed past the split fails: the whole body was hashed
	sed 's/^line 03999 of the body/line 03999 of the bodx/' "$M/m.eml" >"$M/changed.eml"
	if cmp -s "$M/m.eml" "$M/changed.eml"; then false; fi
	run filter --dry-run --json --client-ip $GOOD_IP <"$M/changed.eml"
	[ "$(json_field dkim <<<"$output")" = bodyhash ]
}

@test "without --client-ip the client is the IP of the top Received header" {
	signed "$M/m.eml" sender.test to=x@fbl.sink.test received_ip=$GOOD_IP
	run filter --dry-run --json <"$M/m.eml"
	[ "$(json_field client_ip <<<"$output")" = $GOOD_IP ]
	[ "$(json_field spf <<<"$output")" = pass ]
	signed "$M/bad.eml" sender.test to=x@fbl.sink.test received_ip=$BAD_IP
	run filter --dry-run --json <"$M/bad.eml"
	[ "$(json_field spf <<<"$output")" = fail ]
}

# ---- DKIM failures: no class, no action, fail_dkim counted, the log line says why -----------------------------

# rejected_by_dkim FILE RESULT LOG-TEXT: run FILE for real; check record, counters, log and SMTP spool
rejected_by_dkim() {
	run filter --json --client-ip $GOOD_IP <"$1"
	assert_success
	[ "$(json_field dkim <<<"$output")" = "$2" ]
	[ "$(json_field class <<<"$output")" = null ]
	[ "$(json_field actions <<<"$output")" = "[]" ]
	json_field dkim_detail <<<"$output" | grep -qF -- "$3"
	[ "$(counter fail_dkim)" -eq 1 ]
	[ "$(counter fbl_sent)" -eq 0 ]
	[ "$(counter oob_sent)" -eq 0 ]
	log_lines | grep -qF -- "!DKIM $2: "
	log_lines | grep -qF -- "$3"
	[ "$(smtp_messages)" -eq 0 ]
}

@test "one body byte changed after signing: dkim bodyhash, nothing sent" {
	signed "$M/m.eml" sender.test to=x@fbl.sink.test
	sed '0,/Hello from the test sender/s//Hello from the test sendor/' "$M/m.eml" >"$M/changed.eml"
	if cmp -s "$M/m.eml" "$M/changed.eml"; then false; fi
	rejected_by_dkim "$M/changed.eml" bodyhash "body hash mismatch"
}

@test "a signed header changed after signing: dkim fail, nothing sent" {
	signed "$M/m.eml" sender.test to=x@fbl.sink.test subject="Weekly news"
	sed 's/^Subject: Weekly news$/Subject: Weekly newt/' "$M/m.eml" >"$M/changed.eml"
	if cmp -s "$M/m.eml" "$M/changed.eml"; then false; fi
	rejected_by_dkim "$M/changed.eml" fail "signature verification failed"
}

@test "an unsigned message: dkim none, nothing sent" {
	make_msg "$M/m.eml" to=x@fbl.sink.test
	rejected_by_dkim "$M/m.eml" none "not signed"
}

@test "a signature whose key is not published (nokey.test): dkim nokey, nothing sent" {
	signed "$M/m.eml" nokey.test to=x@oob.sink.test
	rejected_by_dkim "$M/m.eml" nokey "no key published at sel1._domainkey.nokey.test"
	[ "$(json_field dkim_domain <<<"$output")" = nokey.test ]
}

@test "an unsigned header added on top after signing still passes (trace headers are not signed)" {
	signed "$M/m.eml" sender.test to=x@fbl.sink.test
	{ echo "Received: from relay.sink.test by sink.test; $(date -R)"; cat "$M/m.eml"; } >"$M/traced.eml"
	run filter --dry-run --json --client-ip $GOOD_IP <"$M/traced.eml"
	[ "$(json_field dkim <<<"$output")" = pass ]
}

@test "a signature that verifies with a testing key (t=y): dkim none, treated as unsigned (RFC 6376 3.6.1)" {
	# testy._domainkey.sender.test publishes the sel1 key with t=y: the same signature under sel1 passes
	make_msg "$M/m.raw" to=x@fbl.sink.test from=news@sender.test return_path=bounces@sender.test
	sign_as "$M/m.raw" "$M/sel1.eml" sender.test sel1
	run filter --dry-run --json --client-ip $GOOD_IP <"$M/sel1.eml"
	[ "$(json_field dkim <<<"$output")" = pass ]
	sign_as "$M/m.raw" "$M/m.eml" sender.test testy
	rejected_by_dkim "$M/m.eml" none "signature d=sender.test s=testy verified with a testing key (t=y): treated as unsigned"
}

@test "a key for its own domain only (t=s) refuses a signature whose i= is on a subdomain: dkim fail (RFC 6376 3.6.1)" {
	# strict._domainkey.sender.test publishes the sel1 key with t=s
	make_msg "$M/m.raw" to=x@fbl.sink.test from=news@sender.test return_path=bounces@sender.test
	SIGN_IDENTITY=@sender.test sign_as "$M/m.raw" "$M/own.eml" sender.test strict
	run filter --dry-run --json --client-ip $GOOD_IP <"$M/own.eml"
	[ "$(json_field dkim <<<"$output")" = pass ]
	SIGN_IDENTITY=@mail.sender.test sign_as "$M/m.raw" "$M/m.eml" sender.test strict
	rejected_by_dkim "$M/m.eml" fail "signature d=sender.test s=strict: "
}

@test "an rsa-sha1 signature is no pass, though its key does not refuse sha1 (RFC 8301)" {
	# anyhash._domainkey.sender.test publishes the sel1 key without h=sha256
	make_msg "$M/m.raw" to=x@fbl.sink.test from=news@sender.test return_path=bounces@sender.test
	sign_as "$M/m.raw" "$M/sha256.eml" sender.test anyhash
	run filter --dry-run --json --client-ip $GOOD_IP <"$M/sha256.eml"
	[ "$(json_field dkim <<<"$output")" = pass ]
	SIGN_ALG=rsa-sha1 sign_as "$M/m.raw" "$M/m.eml" sender.test anyhash
	grep -q 'a=rsa-sha1' "$M/m.eml"
	# (the signature itself is good, python3-dkim says: the refusal is the sink's, by RFC 8301)
	PYTHONPATH=$NODOH "$PY" - "$M/m.eml" <<'PYEOF'
import sys, dkim
assert dkim.verify(open(sys.argv[1], "rb").read()), "python3-dkim does not verify the rsa-sha1 signature"
PYEOF
	rejected_by_dkim "$M/m.eml" fail "signature d=sender.test s=anyhash is rsa-sha1, which RFC 8301 forbids verifying"
}

@test "header mode reads our Authentication-Results as PMTA wrote it: an encoded word the sender put in it is no dkim=pass" {
	sink_config DKIM_Check=header
	signed "$M/m.eml" sender.test to=x@fbl.sink.test
	# PMTA copies the sender's MAIL FROM into smtp.mailfrom=: decoded, it would read "a;dkim=pass@sender.test"
	pmta_authres "$M/m.eml" "$M/ar.eml" \
		"sink.test; spf=fail smtp.mailfrom==?us-ascii?q?a=3Bdkim=3Dpass?=@sender.test; dkim=fail header.i=@sender.test"
	rejected_by_dkim "$M/ar.eml" fail "our host's Authentication-Results says no dkim=pass"
	reset_servers
	pmta_authres "$M/m.eml" "$M/ar.eml" \
		"sink.test; dkim=fail header.i==?us-ascii?q?x=3Bdkim=3Dpass?=@evil.example"
	rejected_by_dkim "$M/ar.eml" fail "our host's Authentication-Results says no dkim=pass"
}

@test "header mode: without a DKIM-Signature PMTA would check (an empty one), an Authentication-Results of ours is the sender's" {
	sink_config DKIM_Check=header
	make_msg "$M/m.raw" to=x@fbl.sink.test from=news@sender.test return_path=bounces@sender.test \
		'extra_header=DKIM-Signature: '
	pmta_authres "$M/m.raw" "$M/ar.eml" "sink.test; dkim=pass header.i=@sender.test"
	rejected_by_dkim "$M/ar.eml" fail "no DKIM-Signature with d=, s= and h=, so no Authentication-Results of our host's"
}

@test "header mode: a pass named by a header.i below d= (i=@news.sender.test) lends its signature's h= to the one-click verdict" {
	sink_config DKIM_Check=header Unsubscribe_Allow_HTTP=true
	make_msg "$M/m.raw" to=x@accept.sink.test from=news@sender.test return_path=bounces@sender.test \
		'extra_header=List-Unsubscribe: <http://track.test/u/1>' \
		'extra_header=List-Unsubscribe-Post: List-Unsubscribe=One-Click'
	SIGN_IDENTITY=@news.sender.test SIGN_HEADERS=from:to:subject:list-unsubscribe:list-unsubscribe-post \
		sign_as "$M/m.raw" "$M/m.eml" sender.test sel1
	pmta_authres "$M/m.eml" "$M/ar.eml" "sink.test; dkim=pass header.i=@news.sender.test"
	run filter --dry-run --json <"$M/ar.eml"
	assert_success
	jq -e '.dkim == "pass" and .one_click.eligible == true' <<<"$output"
	jq -e '[.dkim_signatures[] | [.domain, .result]] == [["sender.test", "pass"]]' <<<"$output"
}

@test "a signature with an l= body length is no pass: what follows it may be appended, a link to click among it" {
	make_msg "$M/m.raw" to=x@fbl.sink.test from=news@sender.test return_path=bounces@sender.test
	sign_as "$M/m.raw" "$M/m.eml" sender.test sel1 l=
	grep -q '; l=[0-9]' "$M/m.eml"
	{ cat "$M/m.eml"; echo '<a href="http://track.test/f/a/added">more</a>'; } >"$M/added.eml"
	for m in m added; do
		reset_servers
		rejected_by_dkim "$M/$m.eml" fail "signature d=sender.test s=sel1 signs only the first"
		json_field dkim_detail <<<"$output" | grep -qF 'bytes of the body (l=): what follows is not vouched for'
	done
}

# with_junk_signature IN OUT: IN with an unparsable DKIM-Signature header (no s=, no b=) after its trace headers
with_junk_signature() {
	local junk='DKIM-Signature: v=1; a=rsa-sha256; d=sender.test; junk'
	awk -v junk="$junk" '!done && !/^(Return-Path|Received):|^[ \t]/ { print junk; done = 1 } 1' "$1" >"$2"
	grep -qxF "$junk" "$2"
}

@test "the record lists each signature checked with its result and the fields its h= covers, in verify and header mode" {
	sink_config DKIM_Check=verify
	signed "$M/one.eml" sender.test to=x@accept.sink.test
	# a second signature, by tenant.test, on top: both are checked and listed
	sign_msg "$M/one.eml" "$M/two.eml" tenant.test
	run filter --dry-run --json <"$M/two.eml"
	assert_success
	jq -e '.dkim == "pass" and (.dkim_signatures | length) == 2' <<<"$output"
	jq -e '[.dkim_signatures[] | [.domain, .selector, .result]] | sort == [["sender.test", "sel1", "pass"], ["tenant.test", "sel1", "pass"]]' <<<"$output"
	# h= as python3-dkim signed it: From and Subject among them, lower case
	jq -e '.dkim_signatures[0].headers | index("from") and index("subject")' <<<"$output"
	# a signature that fails is listed as failing beside the one that passes
	sed 's/^Subject: .*/Subject: changed after signing/' "$M/one.eml" >"$M/changed.eml"
	sign_msg "$M/changed.eml" "$M/mixed.eml" tenant.test
	run filter --dry-run --json <"$M/mixed.eml"
	jq -e '.dkim == "pass" and ([.dkim_signatures[] | "\(.domain)=\(.result)"] | sort) == ["sender.test=fail", "tenant.test=pass"]' <<<"$output"
	# header mode: the signatures of the domain our Authentication-Results passed, their h= read from the message
	sink_config DKIM_Check=header
	pmta_authres "$M/two.eml" "$M/ar.eml" "sink.test; dkim=pass (ok) header.i=@tenant.test"
	run filter --dry-run --json <"$M/ar.eml"
	jq -e '.dkim == "pass" and ([.dkim_signatures[] | [.domain, .result]]) == [["tenant.test", "pass"]]' <<<"$output"
	jq -e '.dkim_signatures[0].headers | index("from")' <<<"$output"
	# DKIM_Check = off vouches for no field
	sink_config DKIM_Check=off
	run filter --dry-run --json <"$M/two.eml"
	jq -e '.dkim == "pass" and .dkim_signatures == []' <<<"$output"
}

@test "an unparsable DKIM-Signature header is skipped: a valid signature next to it still passes" {
	signed "$M/m.eml" sender.test to=x@fbl.sink.test
	with_junk_signature "$M/m.eml" "$M/junk.eml"
	[ "$(grep -c '^DKIM-Signature:' "$M/junk.eml")" -eq 2 ]
	run filter --dry-run --json --client-ip $GOOD_IP <"$M/junk.eml"
	assert_success
	[ "$(json_field dkim <<<"$output")" = pass ]
	[ "$(json_field dkim_detail <<<"$output")" = "signature d=sender.test s=sel1 verified" ]
}

@test "a message whose only DKIM-Signature header is unparsable does not pass: dkim fail, nothing sent" {
	make_msg "$M/m.eml" to=x@fbl.sink.test from=news@sender.test
	with_junk_signature "$M/m.eml" "$M/junk.eml"
	rejected_by_dkim "$M/junk.eml" fail "signature d=sender.test"
}

@test "at most 8 signatures are checked: a valid ninth under eight without keys is not reached" {
	signed "$M/s.eml" sender.test to=x@fbl.sink.test
	for i in 1 2 3 4 5 6 7 8; do
		sign_as "$M/s.eml" "$M/next.eml" nokey.test sel1
		mv "$M/next.eml" "$M/s.eml"
	done
	[ "$(grep -c '^DKIM-Signature:' "$M/s.eml")" -eq 9 ]
	rejected_by_dkim "$M/s.eml" nokey "no key published at sel1._domainkey.nokey.test (1 more signature not checked: at most 8 are)"
}

# ---- SPF -----------------------------------------------------------------------------------------------------

@test "an unauthorized client IP: spf fail, fail_spf counted, nothing sent, the log says why" {
	signed "$M/m.eml" sender.test to=x@fbl.sink.test
	run filter --json --client-ip $BAD_IP <"$M/m.eml"
	assert_success
	[ "$(json_field dkim <<<"$output")" = pass ]
	[ "$(json_field spf <<<"$output")" = fail ]
	[ "$(json_field actions <<<"$output")" = "[]" ]
	[ "$(counter fail_spf)" -eq 1 ]
	[ "$(counter fail_dkim)" -eq 0 ]
	[ "$(counter fbl_sent)" -eq 0 ]
	log_lines | grep -qF "!SPF fail for client $BAD_IP and sender bounces@sender.test: FBL not sent"
	[ "$(smtp_messages)" -eq 0 ]
}

@test "no client IP at all: spf none, which the direct route does not accept" {
	signed "$M/m.eml" sender.test to=x@oob.sink.test received_ip=
	run filter --json <"$M/m.eml"
	assert_success
	[ "$(json_field client_ip <<<"$output")" = null ]
	[ "$(json_field spf <<<"$output")" = none ]
	[ "$(counter fail_spf)" -eq 1 ]
	log_lines | grep -qF "!SPF none for client (unknown)"
}

@test "SPF_Required_Direct=false lets an unauthorized direct message through to the MX check" {
	sink_config SPF_Required_Direct=false
	signed "$M/m.eml" sender.test to=x@fbl.sink.test
	run filter --dry-run --json --client-ip $BAD_IP <"$M/m.eml"
	[ "$(json_field spf <<<"$output")" = fail ]
	[ "$(json_field mx <<<"$output")" = smtp.sparkpostmail.com ]
	[ "$(json_field fbl_address <<<"$output")" = fbl@sparkpostmail.com ]
}

@test "SPF_Required_Direct is off by default, as in the original: an unauthorized direct fbl is still sent, spf recorded" {
	sink_config SPF_Required_Direct=-	# not in the file: the built-in default
	signed "$M/m.eml" sender.test to=x@fbl.sink.test
	run filter --json --client-ip $BAD_IP <"$M/m.eml"
	[ "$status" -eq 0 ]
	[ "$(json_field spf <<<"$output")" = fail ]
	[ "$(counter fail_spf)" -eq 0 ]
	[ "$(counter fbl_sent)" -eq 1 ]
	log_lines | grep -qF 'spf=fail'
	! log_lines | grep -qF '!SPF' || false
}

@test "a sender domain without an SPF record: spf none" {
	signed "$M/m.eml" sender.test to=x@fbl.sink.test return_path=bounces@backup.sender.test
	run filter --dry-run --json --client-ip $GOOD_IP <"$M/m.eml"
	[ "$(json_field spf <<<"$output")" = none ]
}

# ---- the Return-Path MX allowlist --------------------------------------------------------------------------

@test "a Return-Path whose MX is not allowlisted (stranger.test): nothing sent, the MX is named" {
	signed "$M/m.eml" stranger.test to=x@fbl.sink.test
	run filter --json --client-ip $GOOD_IP <"$M/m.eml"
	assert_success
	[ "$(json_field dkim <<<"$output")" = pass ]
	[ "$(json_field spf <<<"$output")" = pass ]
	[ "$(json_field mx <<<"$output")" = mx.stranger.test ]
	[ "$(json_field fbl_address <<<"$output")" = null ]
	json_field errors <<<"$output" |
		grep -qF 'FBL not sent: Return-Path domain stranger.test has MX mx.stranger.test, not an allowlisted MX'
	log_lines | grep -qF '!FBL not sent: Return-Path domain stranger.test has MX mx.stranger.test, not an allowlisted MX'
	[ "$(counter fbl_return_path_not_sparkpost)" -eq 1 ]
	[ "$(counter fbl_sent)" -eq 0 ]
	[ "$(smtp_messages)" -eq 0 ]
}

@test "the same for an OOB: oob_return_path_not_sparkpost" {
	signed "$M/m.eml" stranger.test to=x@oob.sink.test
	run filter --json --client-ip $GOOD_IP <"$M/m.eml"
	log_lines | grep -qF '!OOB not sent: Return-Path domain stranger.test has MX mx.stranger.test, not an allowlisted MX'
	[ "$(counter oob_return_path_not_sparkpost)" -eq 1 ]
	[ "$(smtp_messages)" -eq 0 ]
}

@test "a tenant MX (tenant.test -> acme.mail.e.sparkpost.com) maps to fbl@acme.mail.e.sparkpost.com" {
	signed "$M/m.eml" tenant.test to=x@fbl.sink.test
	run filter --dry-run --json --client-ip $GOOD_IP <"$M/m.eml"
	assert_success
	[ "$(json_field dkim <<<"$output")" = pass ]
	[ "$(json_field dkim_domain <<<"$output")" = tenant.test ]
	[ "$(json_field spf <<<"$output")" = pass ]
	[ "$(json_field mx <<<"$output")" = acme.mail.e.sparkpost.com ]
	[ "$(json_field fbl_address <<<"$output")" = fbl@acme.mail.e.sparkpost.com ]
	[ "$(json_field errors <<<"$output")" = "[]" ]
}

@test "a domain without MX but with an address (nomx.test) is its own MX, which is not allowlisted" {
	signed "$M/m.eml" nomx.test to=x@oob.sink.test
	run filter --dry-run --json --client-ip $GOOD_IP <"$M/m.eml"
	[ "$(json_field spf <<<"$output")" = pass ]
	[ "$(json_field mx <<<"$output")" = nomx.test ]
	json_field errors <<<"$output" | grep -qF 'OOB not sent: Return-Path domain nomx.test has MX nomx.test, not an allowlisted MX'
}

@test "an allowlisted MX host itself without MX records is allowlisted (no MX: the A record)" {
	sink_config SPF_Required_Direct=false
	signed "$M/m.eml" sender.test to=x@oob.sink.test return_path=bounces@smtp.sparkpostmail.com
	run filter --dry-run --json --client-ip $GOOD_IP <"$M/m.eml"
	[ "$(json_field mx <<<"$output")" = smtp.sparkpostmail.com ]
	[ "$(json_field errors <<<"$output")" = "[]" ]
}

@test "an IDN Return-Path domain (bücher.test) is looked up in A-labels for SPF and MX, as written or in Unicode" {
	make_msg "$M/m.raw" to=x@fbl.sink.test from=news@sender.test return_path=bounces@xn--bcher-kva.test
	sign_msg "$M/m.raw" "$M/m.eml" sender.test
	for from in "" bounces@xn--bcher-kva.test "bounces@bücher.test"; do
		run filter --dry-run --json --client-ip $GOOD_IP ${from:+--from "$from"} <"$M/m.eml"
		assert_success
		[ "$(json_field spf <<<"$output")" = pass ]
		[ "$(json_field mx <<<"$output")" = smtp.sparkpostmail.com ]
		[ "$(json_field errors <<<"$output")" = "[]" ]
	done
	# and an unauthorized client still fails SPF there
	run filter --dry-run --json --client-ip $BAD_IP --from "bounces@bücher.test" <"$M/m.eml"
	[ "$(json_field spf <<<"$output")" = fail ]
}

@test "a Return-Path domain that does not exist: nothing sent, said so" {
	sink_config SPF_Required_Direct=false
	signed "$M/m.eml" sender.test to=x@oob.sink.test return_path=bounces@nowhere.sender.test
	run filter --dry-run --json --client-ip $GOOD_IP <"$M/m.eml"
	[ "$(json_field mx <<<"$output")" = null ]
	json_field errors <<<"$output" | grep -qF 'OOB not sent: Return-Path domain nowhere.sender.test does not exist'
}

# ---- DNS that never answers: temperror after about DNS_Timeout per look-up ------------------------------------

# Budget for N look-ups at DNS_Timeout T seconds: N * (T + 1.5) s, in microseconds.
budget_us() { echo $(( $1 * ($2 * 1000000 + 1500000) )); }

@test "a DKIM key behind a dead name server: dkim temperror within DNS_Timeout + 1.5 s" {
	signed "$M/m.eml" blackhole.test to=x@fbl.sink.test
	t0=$(now_us)
	run filter --json --client-ip $GOOD_IP <"$M/m.eml"
	elapsed=$(( $(now_us) - t0 ))
	echo "elapsed ${elapsed} us" >&3
	assert_success
	[ "$elapsed" -lt "$(budget_us 1 2)" ]
	[ "$(json_field dkim <<<"$output")" = temperror ]
	json_field dkim_detail <<<"$output" | grep -qF 'key look-up for sel1._domainkey.blackhole.test failed: timed out'
	grep -q 'sel1._domainkey.blackhole.test 16' "$T_STATE/blackhole.log"	# the question did go out
	[ "$(counter fail_dkim)" -eq 1 ]
	log_lines | grep -qF '!DKIM temperror: key look-up for sel1._domainkey.blackhole.test failed: timed out'
}

@test "the DKIM key timeout follows DNS_Timeout (1 s)" {
	sink_config DNS_Timeout=1
	signed "$M/m.eml" blackhole.test to=x@fbl.sink.test
	t0=$(now_us)
	run filter --dry-run --json --client-ip $GOOD_IP <"$M/m.eml"
	elapsed=$(( $(now_us) - t0 ))
	echo "elapsed ${elapsed} us" >&3
	[ "$elapsed" -lt "$(budget_us 1 1)" ]
	[ "$elapsed" -ge 900000 ]
	[ "$(json_field dkim <<<"$output")" = temperror ]
}

@test "ten signatures with keys behind a dead name server stop at Message_Timeout (3 s, DNS_Timeout 1 s)" {
	sink_config DNS_Timeout=1 Message_Timeout=3
	make_msg "$M/s.eml" to=x@fbl.sink.test from=news@blackhole.test return_path=bounces@sender.test
	for i in 1 2 3 4 5 6 7 8 9 10; do
		sign_as "$M/s.eml" "$M/next.eml" blackhole.test sel1
		mv "$M/next.eml" "$M/s.eml"
	done
	t0=$(now_us)
	run filter --json --client-ip $GOOD_IP <"$M/s.eml"
	elapsed=$(( $(now_us) - t0 ))
	echo "elapsed ${elapsed} us" >&3
	assert_success
	[ "$elapsed" -lt 3500000 ]
	[ "$(json_field dkim <<<"$output")" = temperror ]
	json_field dkim_detail <<<"$output" | grep -qF 'key look-up for sel1._domainkey.blackhole.test failed: timed out'
	[ "$(counter fail_dkim)" -eq 1 ]
}

@test "three name servers that never answer cost DNS_Timeout (1 s), not a second each" {
	sink_config DNS_Timeout=1
	signed "$M/m.eml" sender.test to=x@fbl.sink.test
	cp /etc/resolv.conf "$M/resolv.conf.saved"	# put back by teardown
	printf 'nameserver 127.0.0.53\nnameserver 127.0.0.53\nnameserver 127.0.0.53\noptions timeout:1 attempts:1\n' \
		>/etc/resolv.conf
	t0=$(now_us)
	run filter --dry-run --json --client-ip $GOOD_IP <"$M/m.eml"
	elapsed=$(( $(now_us) - t0 ))
	echo "elapsed ${elapsed} us" >&3
	[ "$elapsed" -lt "$(budget_us 1 1)" ]
	[ "$(json_field dkim <<<"$output")" = temperror ]
	json_field dkim_detail <<<"$output" | grep -qF 'key look-up for sel1._domainkey.sender.test failed: timed out'
}

@test "a key whose reply is over 512 bytes comes whole over TCP after the truncated UDP reply: dkim pass" {
	[ "$(dns_query long._domainkey.sender.test TXT | wc -c)" -gt 512 ]
	make_msg "$M/m.raw" to=x@fbl.sink.test from=news@sender.test return_path=bounces@sender.test
	sign_as "$M/m.raw" "$M/m.eml" sender.test long
	run filter --dry-run --json --client-ip $GOOD_IP <"$M/m.eml"
	[ "$(json_field dkim <<<"$output")" = pass ]
}

@test "two signatures, the first checked with its key behind a dead name server: the second's key, asked meanwhile, still passes it" {
	sink_config DNS_Timeout=1 Message_Timeout=10
	make_msg "$M/m.raw" to=x@accept.sink.test from=news@sender.test return_path=bounces@sender.test
	sign_as "$M/m.raw" "$M/one.eml" sender.test sel1
	sign_as "$M/one.eml" "$M/m.eml" blackhole.test sel1	# on top: checked first
	t0=$(now_us)
	run filter --dry-run --json --client-ip $GOOD_IP <"$M/m.eml"
	elapsed=$(( $(now_us) - t0 ))
	echo "elapsed ${elapsed} us" >&3
	[ "$(json_field dkim <<<"$output")" = pass ]
	[ "$elapsed" -lt "$(budget_us 1 1)" ]
	# each signature recorded: the dead one's temperror beside the pass
	jq -e '[.dkim_signatures[] | .result] | sort == ["pass", "temperror"]' <<<"$output"
}

@test "a silent first name server and a working second: the key comes from the second within DNS_Timeout: dkim pass" {
	sink_config DNS_Timeout=2
	signed "$M/m.eml" sender.test to=x@accept.sink.test	# (an fbl's SPF and MX look-ups would each wait too)
	cp /etc/resolv.conf "$M/resolv.conf.saved"	# put back by teardown
	printf 'nameserver 127.0.0.53\nnameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >/etc/resolv.conf
	t0=$(now_us)
	run filter --dry-run --json --client-ip $GOOD_IP <"$M/m.eml"
	elapsed=$(( $(now_us) - t0 ))
	echo "elapsed ${elapsed} us" >&3
	[ "$(json_field dkim <<<"$output")" = pass ]
	[ "$elapsed" -lt "$(budget_us 1 2)" ]
}

# mangled MODE: the resolver pointed at dns_mangle.py in MODE (dnsmasq's replies, spoiled one way), started for
# the test and stopped with it
mangled() {
	/usr/bin/python3 "$T_DIR/servers/dns_mangle.py" --listen 127.0.0.56:53 --upstream 127.0.0.1:53 --mode "$1" &
	MANGLER=$!
	cp /etc/resolv.conf "$M/resolv.conf.saved"	# put back by teardown
	printf 'nameserver 127.0.0.56\noptions timeout:2 attempts:1\n' >/etc/resolv.conf
	for _ in $(seq 50); do	# until it listens (127.0.0.56:53 in /proc/net/udp's notation)
		grep -q ' 3800007F:0035 ' /proc/net/udp && break
		sleep 0.1
	done
}

@test "name server replies as glibc reads them: without the QR bit, taken; with a byte too many, malformed; SERVFAIL, a failure" {
	signed "$M/m.eml" sender.test to=x@accept.sink.test
	for mode in noqr trailing servfail; do
		mangled "$mode"
		t0=$(now_us)
		run filter --dry-run --json --client-ip $GOOD_IP <"$M/m.eml"
		elapsed=$(( $(now_us) - t0 ))
		kill "$MANGLER"
		wait "$MANGLER" || true
		cat "$M/resolv.conf.saved" >/etc/resolv.conf
		echo "$mode: elapsed ${elapsed} us: $(json_field dkim_detail <<<"$output")" >&3
		case $mode in
		noqr) [ "$(json_field dkim <<<"$output")" = pass ] ;;
		trailing)
			[ "$(json_field dkim <<<"$output")" = temperror ]
			json_field dkim_detail <<<"$output" | grep -qF 'key look-up for sel1._domainkey.sender.test failed: malformed reply' ;;
		servfail)
			[ "$(json_field dkim <<<"$output")" = temperror ]
			json_field dkim_detail <<<"$output" | grep -qF 'key look-up for sel1._domainkey.sender.test failed' ;;
		esac
		[ "$elapsed" -lt "$(budget_us 1 2)" ]
	done
}

@test "a name server that refuses (nothing on its port): dkim temperror at once, said so" {
	sink_config DNS_Timeout=2
	signed "$M/m.eml" sender.test to=x@fbl.sink.test
	cp /etc/resolv.conf "$M/resolv.conf.saved"	# put back by teardown
	printf 'nameserver 127.0.0.54\noptions timeout:2 attempts:1\n' >/etc/resolv.conf
	t0=$(now_us)
	run filter --dry-run --json --client-ip $GOOD_IP <"$M/m.eml"
	elapsed=$(( $(now_us) - t0 ))
	echo "elapsed ${elapsed} us" >&3
	[ "$elapsed" -lt 1000000 ]
	[ "$(json_field dkim <<<"$output")" = temperror ]
	json_field dkim_detail <<<"$output" | grep -qF 'key look-up for sel1._domainkey.sender.test failed: connection refused'
}

@test "an SPF record behind a dead name server: spf temperror within DNS_Timeout + 1.5 s, fail_spf" {
	signed "$M/m.eml" sender.test to=x@fbl.sink.test return_path=bounces@blackhole.test
	t0=$(now_us)
	run filter --json --client-ip $GOOD_IP <"$M/m.eml"
	elapsed=$(( $(now_us) - t0 ))
	echo "elapsed ${elapsed} us" >&3
	assert_success
	[ "$elapsed" -lt "$(budget_us 1 2)" ]
	[ "$(json_field dkim <<<"$output")" = pass ]
	[ "$(json_field spf <<<"$output")" = temperror ]
	grep -q '^[a-z]* blackhole.test 16$' "$T_STATE/blackhole.log"
	[ "$(counter fail_spf)" -eq 1 ]
	log_lines | grep -qF '!SPF temperror for client 192.0.2.10 and sender bounces@blackhole.test: FBL not sent'
}

@test "an MX behind a dead name server: the look-up fails temporarily within its budget, nothing sent" {
	sink_config SPF_Required_Direct=false
	signed "$M/m.eml" sender.test to=x@oob.sink.test return_path=bounces@blackhole.test
	t0=$(now_us)
	run filter --json --client-ip $GOOD_IP <"$M/m.eml"
	elapsed=$(( $(now_us) - t0 ))
	echo "elapsed ${elapsed} us (SPF TXT + MX)" >&3
	assert_success
	[ "$elapsed" -lt "$(budget_us 2 2)" ]	# two look-ups: SPF's TXT, then the MX
	[ "$(json_field spf <<<"$output")" = temperror ]
	[ "$(json_field mx <<<"$output")" = null ]
	json_field errors <<<"$output" | grep -qF 'OOB not sent: MX look-up for Return-Path domain blackhole.test failed: timed out'
	grep -q '^[a-z]* blackhole.test 15$' "$T_STATE/blackhole.log"
	[ "$(smtp_messages)" -eq 0 ]
}
