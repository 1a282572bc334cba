# report.bash - reading the reports the SMTP sink received, as an ESP's bounce and ARF parsers would (Python's
# email package, an independent reader). Load after lib/common: `load lib/report`.
#
#   facts EML                   what a receiver's parser sees in a report, one "key=value" per line
#   fact KEY FILE               the value of KEY in a facts listing
#   assert_not_injected FACTS EML   no header or report field of the report came from the received message,
#                               and the report is well formed: ASCII headers, CRLF line ends only, no line
#                               over 998 octets
#   raw_header IN OUT LINE      IN with the header line LINE (Python string escapes: \r, \x00, ...) put in
#                               byte for byte after the trace headers on top (Return-Path:, Received:)
#   send NAME [ARGS...]         sink-filter --json (timed, under `run`) on $BATS_TEST_TMPDIR/NAME.eml from a client
#                               that sender.test's SPF authorizes
#   rec JQ                      jq -e JQ on the record of the last send (fails when false or null)
#   all_sent_signed             under a config that signs (DKIM_Sign_Key set), every message the SMTP sink took
#                               verifies with python3-dkim against sink.test's key (a teardown's check)

# facts EML: what a receiver's parser sees in a report, one "key=value" per line:
#   envelope from the .json next to it, top-level headers, the part types, the delivery-status or
#   feedback-report fields (block<i>.<Field>), and the attached original's headers (orig.<Header>).
facts() {
	"$PY" - "$1" <<'EOF'
import email, email.policy, json, os, sys
path = sys.argv[1]
env = json.load(open(path[:-4] + ".json"))
print("mail_from=%s" % env["mail_from"])
print("rcpt_tos=%s" % ",".join(env["rcpt_tos"]))
print("helo=%s" % env["helo"])
raw = open(path, "rb").read()
print("crlf_only=%s" % (raw.count(b"\n") == raw.count(b"\r\n")))
m = email.message_from_bytes(raw, policy=email.policy.default)
print("type=%s" % m.get_content_type())
print("report_type=%s" % m.get_param("report-type"))
print("headers=%s" % ",".join(m.keys()))
for h in ("From", "To", "Subject", "Auto-Submitted", "MIME-Version", "Message-ID", "In-Reply-To", "References"):
    print("%s=%s" % (h, m[h]))
print("from_addr=%s" % m["From"].addresses[0].addr_spec)
print("to_addr=%s" % m["To"].addresses[0].addr_spec)
parts = list(m.iter_parts())
print("parts=%s" % ",".join(p.get_content_type() for p in parts))
for p in parts:
    ct = p.get_content_type()
    if ct in ("message/delivery-status", "message/feedback-report"):
        for i, block in enumerate(p.get_payload()):
            for k, v in block.items():
                print("block%d.%s=%s" % (i, k, v))
    elif ct == "message/rfc822":
        orig = p.get_payload()[0]
        for k, v in orig.raw_items():	# raw: a hostile original need not parse
            print("orig.%s=%s" % (k, " ".join(str(v).split())))
    elif ct == "text/rfc822-headers":	# the original's headers alone (its size, 8-bit or unsafe bytes)
        text = p.get_payload(decode=True).decode("utf-8", "replace")
        for k, v in email.message_from_string(text, policy=email.policy.compat32).items():
            v = "".join(c if c.isprintable() else " " for c in str(v))	# (a NUL the original held, decoded)
            print("orig.%s=%s" % (k, " ".join(v.split())))
    elif ct == "text/plain":
        print("human=%s" % p.get_content().replace("\n", " "))
EOF
}

# fact KEY FILE: the value of KEY in a facts listing.
fact() {
	grep -m1 "^$1=" "$2" | cut -d= -f2-
}

# No header or field of the report may have been added by the received message.
assert_not_injected() {
	local f=$1
	run grep -E '^(block[0-9]+\.)?(X-Injected|Bcc)=' "$f"
	assert_failure
	[ "$(fact headers "$f" | tr , '\n' | grep -cx From)" -eq 1 ]
	[ "$(fact headers "$f" | tr , '\n' | grep -cx To)" -eq 1 ]
	"$PY" - "$2" <<'EOF'
import sys
raw = open(sys.argv[1], "rb").read()
head, _, rest = raw.partition(b"\r\n\r\n")
assert all(b < 0x80 for b in head), "8-bit bytes in the report's own headers"
assert b"\r\nX-Injected" not in head and b"\r\nBcc" not in head
assert raw.count(b"\n") == raw.count(b"\r\n") and raw.count(b"\r") == raw.count(b"\r\n"), "a bare LF or CR"
assert max(len(l) for l in raw.split(b"\r\n")) <= 998, "a line over 998 octets"
EOF
}

raw_header() {
	"$PY" - "$1" "$2" "$3" <<'EOF'
import re, sys
inp, out, line = sys.argv[1], sys.argv[2], sys.argv[3].encode("utf-8").decode("unicode_escape").encode("latin-1")
lines = open(inp, "rb").read().split(b"\n")
n = 0
while n < len(lines) and re.match(rb"(?i)(return-path|received):", lines[n]):
    n += 1
lines.insert(n, line)
open(out, "wb").write(b"\n".join(lines))
EOF
}

# all_sent_signed: whatever a test sent under a config that signs must verify (a test that turns signing off
# is left alone)
all_sent_signed() {
	if grep -q '^DKIM_Sign_Key = ' "$SINK_INI"; then
		smtp_all_signed sink.test
	fi
}

# send NAME [ARGS...]: sink-filter --json on $BATS_TEST_TMPDIR/NAME.eml as PMTA would (client IP in
# sender.test's SPF range), under `run` and `timed` (took_ms says how long it took)
send() {
	local name=$1
	shift
	run timed filter --client-ip 192.0.2.10 --json "$@" <"$BATS_TEST_TMPDIR/$name.eml"
}

# rec JQ: jq -e JQ on the record of the last send (fails when false or null)
rec() {
	jq -e "$1" <<<"$output"
}
