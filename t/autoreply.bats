#!/usr/bin/env bats
# autoreply.bats - the autoreply class end to end: sink-filter mails an RFC 3834 out-of-office reply from the
# null sender to the Return-Path over SMTP, and the receiving side reads it with Python's email package (an
# independent reader: the envelope, the threading fields, the decoded Subject). Messages no responder
# answers (automatic ones, reports, list mail, a pair answered within the interval) get none, with the reason
# in the record and the log line; hostile Return-Paths and Subjects get a record entry and never a malformed
# reply. Every reply is DKIM-signed with the sink.test key (SINK_SIGNING) and, after each test, must verify
# with python3-dkim.
# Run inside the mini internet: t/netns-run bats t/autoreply.bats

load lib/common
load lib/sink
load lib/checks
load lib/report

SINK_SIGNING=1

setup() {
	reset_servers
	sink_config
	M=$BATS_TEST_TMPDIR
}

teardown() {
	all_sent_signed
}

# msg NAME [make_msg key=value ...]: $M/NAME.eml to x@autoreply.sink.test unless given, signed by sender.test.
msg() {
	local name=$1
	shift
	make_msg "$M/$name.unsigned" to=x@autoreply.sink.test "$@"
	sign_msg "$M/$name.unsigned" "$M/$name.eml"
}

# raw NAME LINE [make_msg key=value ...]: msg NAME with the header line LINE (Python escapes) put in byte for
# byte before signing.
raw() {
	local name=$1 line=$2
	shift 2
	make_msg "$M/$name.0" to=x@autoreply.sink.test "$@"
	raw_header "$M/$name.0" "$M/$name.unsigned" "$line"
	sign_msg "$M/$name.unsigned" "$M/$name.eml"
}

# reply N: what the receiving side reads in the Nth message the SMTP sink took, one "key=value" a line.
reply() {
	"$PY" - "$(smtp_eml "$1")" <<'EOF'
import email, email.policy, json, sys
path = sys.argv[1]
env = json.load(open(path[:-4] + ".json"))
raw = open(path, "rb").read()
m = email.message_from_bytes(raw, policy=email.policy.default)
head = raw.partition(b"\r\n\r\n")[0]
print("mail_from=%s" % env["mail_from"])	# aiosmtpd writes the null sender as <>
print("rcpt_tos=%s" % ",".join(env["rcpt_tos"]))
print("from=%s" % m["From"].addresses[0].addr_spec)
print("to=%s" % m["To"].addresses[0].addr_spec)
for h in ("Subject", "In-Reply-To", "References", "Auto-Submitted", "MIME-Version"):
    print("%s=%s" % (h, m[h]))
print("type=%s" % m.get_content_type())
print("body=%s" % m.get_content().replace("\r\n", "\n").replace("\n", "|"))
print("well_formed=%s" % (all(b < 0x80 for b in head) and raw.count(b"\n") == raw.count(b"\r\n")
                          and max(len(l) for l in raw.split(b"\r\n")) <= 998 and not m.defects
                          and [k.lower() for k in m.keys()].count("subject") == 1))
EOF
}

# said KEY VALUE N: the Nth reply's KEY is VALUE
said() {
	local got
	got=$(reply "$3") || return 1
	got=$(grep -m1 "^$1=" <<<"$got" | cut -d= -f2-)
	[[ $got == "$2" ]] || { echo "reply $3: $1 is '$got', not '$2'" >&2; printf %s "$got" | od -c | tail -3 >&2; return 1; }
}

@test "autoreply.: an RFC 3834 reply from <> to the Return-Path, From the recipient, Auto: subject, threaded, auto-replied" {
	msg m subject="Quarterly figures" msgid='<q3.1@sender.test>' return_path=bounces+42@sender.test
	send m
	assert_success
	rec '.class == "autoreply" and .route == "subdomain" and .exit == 0 and .errors == []'
	rec '.autoreply == {"skipped": null, "detail": null, "interval": "first"}'
	rec '.actions[0].type == "autoreply" and .actions[0].target == "smtp.sparkpostmail.com" and .actions[0].status == 250'
	rec '.counters == ["autoreply_sent"] and .fbl_address == null'
	[ "$(smtp_messages)" -eq 1 ]
	reply 1
	said mail_from '<>' 1
	said rcpt_tos bounces+42@sender.test 1
	said to bounces+42@sender.test 1
	said from x@autoreply.sink.test 1
	said Subject 'Auto: Quarterly figures' 1
	said In-Reply-To '<q3.1@sender.test>' 1
	said References '<q3.1@sender.test>' 1
	said Auto-Submitted auto-replied 1
	said type text/plain 1
	said body 'I am out of the office and will be back soon, with limited access to e-mail.|I will read your message when I return.|' 1
	said well_formed True 1
	[ "$(counter autoreply_sent)" -eq 1 ]
	log_lines | grep -q ',autoreply/subdomain,dkim=pass,autoreply smtp.sparkpostmail.com 250 '
}

@test "the reply's References: the original's (its last 20), then its Message-ID (RFC 5322 3.6.4); a domain-literal id is one" {
	raw r "References: <a1@sender.test>\n <a2@sender.test>" msgid='<q3.2@sender.test>'
	send r
	assert_success
	said In-Reply-To '<q3.2@sender.test>' 1
	said References '<a1@sender.test> <a2@sender.test> <q3.2@sender.test>' 1
	said well_formed True 1
	# 30 long ones: the last 20 kept, the reply's lines still within 998 octets
	local refs="" i
	for ((i = 1; i <= 30; i++)); do refs+=" <r$i.$(printf 'x%.0s' {1..90})@sender.test>"; done
	raw l "References:$refs" msgid='<q3.3@sender.test>' subject=Long return_path=b2@sender.test	# (another pair)
	send l
	assert_success
	reply 2 | grep '^References=' | tr ' \t' '\n\n' | grep -c '@sender.test>' | grep -qx 21
	reply 2 | grep '^References=' | grep -q '^References=<r11\.x'
	said well_formed True 2
	# an id whose right side is a domain literal is still referred to
	msg d msgid='<q3.4@[192.0.2.1]>' subject=Literal return_path=b3@sender.test
	send d
	assert_success
	said In-Reply-To '<q3.4@[192.0.2.1]>' 3
	said References '<q3.4@[192.0.2.1]>' 3
}

@test "ooto., the ooto and autoreply keywords and X-Bouncy-Sink: autoreply choose the class; Autoreply_Text is the body" {
	sink_config 'Autoreply_Text=Back on Monday.\nUrgent: call the desk.' Autoreply_Interval_Days=0
	local to route n=0
	for to in x@ooto.sink.test:subdomain ooto+ci@mix.sink.test:localpart autoreply@sink.test:localpart; do
		msg m to="${to%%:*}"
		send m
		assert_success
		rec ".class == \"autoreply\" and .route == \"${to##*:}\" and .counters == [\"autoreply_sent\"]"
		n=$((n + 1))
		said from "${to%%:*}" "$n"
	done
	msg h to=x@mix.sink.test 'extra_header=X-Bouncy-Sink: autoreply'
	send h
	rec '.class == "autoreply" and .route == "header" and .plan.class == "autoreply" and .plan.notes == []'
	[ "$(smtp_messages)" -eq 4 ]
	said body 'Back on Monday.|Urgent: call the desk.|' 4
}

@test "an encoded-word Subject is decoded and encoded again: the receiver reads Auto: and the same text" {
	msg m subject='Café réunion ☕ – Ümläute'
	grep -q '^Subject: =?utf-8?' "$M/m.eml"	# the sender's Subject is encoded words
	send m
	assert_success
	said Subject 'Auto: Café réunion ☕ – Ümläute' 1
	said well_formed True 1
	rec '.notes == []'
}

@test "a second message of the pair within the interval gets none (autoreply_skipped); another sender does; the key expires" {
	msg a
	send a
	rec '.autoreply.interval == "first"'
	msg b subject=again
	send b
	assert_success
	rec '.autoreply.skipped == "interval" and .autoreply.interval == "replied" and .actions == []'
	rec '.autoreply.detail == "bounces@sender.test was answered in the last 7 days (Autoreply_Interval_Days)"'
	rec '.counters == ["autoreply_skipped"] and .errors == []'
	[ "$(smtp_messages)" -eq 1 ]
	log_lines | tail -1 | grep -qF 'autoreply skipped (interval): bounces@sender.test was answered in the last 7 days'
	local ttl
	ttl=$(rcli TTL 'consume-mail:0:autoreply:x@autoreply.sink.test bounces@sender.test')
	((ttl > 7 * 86400 - 60 && ttl <= 7 * 86400))
	# the pair, not the recipient: another Return-Path, or another recipient, is answered
	msg c return_path=Other@sender.test
	send c
	rec '.autoreply.interval == "first" and .counters == ["autoreply_sent"]'
	msg d to=y@ooto.sink.test subject=again
	send d
	rec '.counters == ["autoreply_sent"]'
	[ "$(smtp_messages)" -eq 3 ]
	[ "$(counter autoreply_sent)" -eq 3 ]
	[ "$(counter autoreply_skipped)" -eq 1 ]
	# once the key is gone (its expiry), the pair is answered again
	rcli DEL 'consume-mail:0:autoreply:x@autoreply.sink.test bounces@sender.test' >/dev/null
	send b
	rec '.counters == ["autoreply_sent"]'
}

@test "Autoreply_Interval_Days = 0 answers every message; a reply the MX refused leaves the pair free" {
	sink_config Autoreply_Interval_Days=0
	msg m
	send m
	rec '.autoreply.interval == "off" and .counters == ["autoreply_sent"]'
	send m
	rec '.autoreply.interval == "off" and .counters == ["autoreply_sent"]'
	[ "$(smtp_messages)" -eq 2 ]
	[ "$(rcli --scan --pattern '*autoreply:*' | wc -l)" -eq 0 ]

	sink_config
	msg r return_path=reject550@sender.test
	send r
	assert_success
	rec '.actions[0].status == 550 and .counters == ["autoreply_smtp_error"]'
	[ "$(rcli EXISTS 'consume-mail:0:autoreply:x@autoreply.sink.test reject550@sender.test')" -eq 0 ]
	send r
	rec '.autoreply.interval == "first" and .counters == ["autoreply_smtp_error"]'
	[ "$(counter autoreply_smtp_error)" -eq 2 ]
}

@test "loop guards: Auto-Submitted other than no, a null sender, a DSN and an ARF report get no reply" {
	local h
	for h in 'Auto-Submitted: auto-generated' 'Auto-Submitted: auto-replied (vacation)' 'auto-submitted: Auto-Notified'; do
		msg m "extra_header=$h"
		send m
		assert_success
		rec '.autoreply.skipped == "auto_submitted" and .actions == [] and .counters == ["autoreply_skipped"]'
		[ "$(jq -r .autoreply.detail <<<"$output")" = "Auto-Submitted: ${h#*: }" ]
		rec '.autoreply.interval == null'	# the interval is not spent on it
	done
	log_lines | tail -1 | grep -qF 'autoreply skipped (auto_submitted): Auto-Submitted: Auto-Notified'
	msg no 'extra_header=Auto-Submitted: no'
	send no
	rec '.counters == ["autoreply_sent"]'

	msg n return_path=
	send n --from ''
	rec '.autoreply.skipped == "null_sender" and .actions == []'
	send n --from '<>'
	rec '.autoreply.skipped == "null_sender"'
	raw nullrp 'Return-Path: <>' return_path=
	send nullrp
	rec '.autoreply.skipped == "null_sender" and .errors == []'

	local type
	for type in delivery-status feedback-report; do
		printf '%s\n' 'Return-Path: <mailer@sender.test>' 'From: Mail Delivery System <mailer@sender.test>' \
			'To: x@autoreply.sink.test' 'Subject: a report' 'Message-ID: <r.1@sender.test>' 'MIME-Version: 1.0' \
			"Content-Type: multipart/report; report-type=$type; boundary=\"b\"" '' '--b' \
			'Content-Type: text/plain' '' 'report' '--b' "Content-Type: message/$type" '' 'Version: 1' '--b--' \
			>"$M/$type.unsigned"
		sign_msg "$M/$type.unsigned" "$M/$type.eml"
		send "$type"
		assert_success
		rec ".autoreply.skipped == \"report\" and .autoreply.detail == \"a report: multipart/report; report-type=$type\""
	done
	[ "$(smtp_messages)" -eq 1 ]
	[ "$(counter autoreply_skipped)" -eq 8 ]
}

@test "list and bulk mail get none (List-Id, Precedence: bulk, list, junk); Autoreply_Skip_Lists = false answers them" {
	local h
	for h in 'List-Id: Weekly deals <deals.sender.test>' 'Precedence: bulk' 'Precedence: List' 'Precedence: junk'; do
		msg m "extra_header=$h"
		send m
		rec '.autoreply.skipped == "list" and .actions == [] and .counters == ["autoreply_skipped"]'
	done
	rec '.autoreply.detail == "bulk or list mail: Precedence: junk"'
	msg f 'extra_header=Precedence: first-class'
	send f
	rec '.counters == ["autoreply_sent"]'
	sink_config Autoreply_Skip_Lists=false
	msg l 'extra_header=List-Id: <deals.sender.test>' return_path=list@sender.test
	send l
	rec '.autoreply.skipped == null and .counters == ["autoreply_sent"]'
	[ "$(smtp_messages)" -eq 2 ]
}

@test "Redis down: the reply goes anyway, and the record and the log line say the interval was not checked" {
	sink_config Redis_URL=unix:/nonexistent/redis.sock
	msg m
	REDIS_URL= send m	# (the environment's REDIS_URL would override the file's)
	assert_success
	rec '.autoreply.interval == "unchecked" and .actions[0].status == 250'
	rec '.notes | index("autoreply interval not checked (Redis unreachable): replied anyway") != null'
	[ "$(smtp_messages)" -eq 1 ]
	log_lines | tail -1 | grep -qF ',autoreply interval not checked (Redis unreachable): replied anyway,'
	log_lines | tail -1 | grep -qF '!Redis unreachable'
}

@test "bad Return-Paths: NUL, broken quotes, 1,000 octets get no reply and say why; CR/LF injects nothing; an IDN domain gets A-labels" {
	sink_config Autoreply_Interval_Days=0
	local rp long
	long=$(printf 'a%.0s' {1..990})@sender.test
	for rp in '"a"b@sender.test' '"unclosed@sender.test' 'a b@sender.test' "$long" 'bounces\x00evil@sender.test' \
		'bounces@sender.test\rX-Injected: 1'; do
		raw m "Return-Path: <$rp>" return_path=
		send m
		assert_success
		rec '.exit == 0 and .actions == [] and .counters == ["autoreply_missing_return_path"]'
		# refused as no address, or found to be none
		rec '.errors | map(select(test("^autoreply not sent: no (usable )?Return-Path"))) | length == 1'
	done
	[ "$(smtp_messages)" -eq 0 ]

	# CR/LF in --from: the first address is the Return-Path (as for reports); nothing after it reaches SMTP
	msg m return_path=
	send m --from $'bounces@sender.test\r\nRCPT TO:<evil@sender.test>'
	assert_success
	rec '.counters == ["autoreply_sent"]'
	said rcpt_tos bounces@sender.test 1
	said to bounces@sender.test 1
	! grep -rq evil "$SMTP_SPOOL" || false

	msg idn return_path=bounces@bücher.test
	send idn
	assert_success
	rec '.counters == ["autoreply_sent"]'
	said rcpt_tos bounces@xn--bcher-kva.test 2
	said to bounces@xn--bcher-kva.test 2
	# a Return-Path whose MX is not allowlisted gets none
	msg s return_path=b@stranger.test
	send s
	rec '.counters == ["autoreply_not_sparkpost"] and .actions == []'
	[ "$(smtp_messages)" -eq 2 ]
}

@test "hostile Subjects: 100 KB is shortened, broken encoded words are noted; the reply stays well formed" {
	local big
	big=$(head -c 100000 /dev/zero | tr '\0' 'x')
	sink_config DKIM_Check=off Autoreply_Interval_Days=0	# (libopendkim fails a signature over a 100 KB line)
	raw big "Subject: $big" subject=
	send big
	assert_success
	rec '.counters == ["autoreply_sent"]'
	rec '.notes | map(select(test("Subject \\(100000 characters\\) is quoted .* as its first 200"))) | length == 1'
	said Subject "Auto: $(head -c 200 /dev/zero | tr '\0' 'x')..." 1
	said well_formed True 1

	raw broken 'Subject: =?utf-8?B?not*base64?= and =?x-unknown-9?Q?caf=E9?= =?utf-8?Q?bad=ZZ?=' subject=
	send broken
	assert_success
	rec '.counters == ["autoreply_sent"]'
	rec '.notes | map(select(test("encoded words that do not decode"))) | length == 1'
	said well_formed True 2
	# what GMime made of the words, encoded again: the bad base64 as U+FFFD and such, the unknown charset
	# read as Latin-1, the bad Q escape as it stands; on one line, decoded by another reader
	reply 2 | grep -qx 'Subject=Auto: .* and cafébad=ZZ'
}

@test "Autoreply_percent = 100 makes the mix an autoreply; the counters reach Redis and sink-stats' JSON, Prometheus and page" {
	sink_config Autoreply_percent=100 OOB_percent=0 FBL_percent=0 Autoreply_Interval_Days=1
	msg m to=x@mix.sink.test
	send m
	assert_success
	rec '.class == "autoreply" and .route == "mix" and .counters == ["autoreply_sent"]'
	send m
	rec '.class == "autoreply" and .route == "mix" and .autoreply.skipped == "interval"'
	rec '.autoreply.detail == "bounces@sender.test was answered in the last 1 day (Autoreply_Interval_Days)"'
	msg s to=x@mix.sink.test return_path=b@stranger.test
	send s
	rec '.counters == ["autoreply_not_sparkpost"]'
	[ "$(counter autoreply_sent)" -eq 1 ]
	[ "$(counter autoreply_skipped)" -eq 1 ]
	[ "$(counter autoreply_not_sparkpost)" -eq 1 ]
	# each message in its minute's tso_ hash (summed over the minutes: the test may cross one)
	total=0
	for key in $(rcli --scan --pattern 'consume-mail:0:tso_*'); do
		v=$(rcli HGET "$key" autoreply/mix)
		total=$((total + ${v:-0}))
	done
	[ "$total" -eq 3 ]
	run "$SINK_STATS" -c "$SINK_INI" --json
	assert_success
	jq -e '.autoreply_sent == 1 and .autoreply_skipped == 1 and .autoreply_not_sparkpost == 1' <<<"$output"
	run "$SINK_STATS" -c "$SINK_INI" --prometheus
	assert_output --regexp 'event="autoreply_sent"\} 1'
	assert_output --regexp 'event="autoreply_skipped"\} 1'
	run "$SINK_STATS" -c "$SINK_INI" --html -o "$M/page.html"
	assert_success
	grep -q 'autoreply_sent' "$M/page.html"
	grep -q 'autoreply_not_sparkpost' "$M/page.html"
	grep -q '>autoreply<' "$M/page.html"
}

@test "--dry-run: the plan and the interval are looked at, nothing sent, nothing claimed" {
	msg m
	send m --dry-run
	assert_success
	rec '.class == "autoreply" and .dry_run and .autoreply.interval == "first" and .actions[0].type == "autoreply"'
	[ "$(smtp_messages)" -eq 0 ]
	[ "$(rcli --scan --pattern '*autoreply:*' | wc -l)" -eq 0 ]
}
