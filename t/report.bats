#!/usr/bin/env bats
# report.bats - the oob and fbl actions end to end: sink-filter mails a real RFC 3464 bounce or RFC 5965
# complaint over SMTP to the mini internet's MX, the receiving side parses it with Python's email package
# (as an ESP's bounce and ARF parsers would), and the counters in Redis match what the MX saw. Every
# report is DKIM-signed with the sink.test key (SINK_SIGNING), as a mailbox provider signs its mail, and
# after each test every message the MX received must verify with python3-dkim, an independent verifier.
# Run inside the mini internet: t/netns-run bats t/report.bats

load lib/common
load lib/sink
load lib/checks
load lib/report

SINK_SIGNING=1

setup() {
	reset_servers
	sink_config
}

teardown() {
	all_sent_signed
}

# signed NAME [make_msg key=value ...]: $BATS_TEST_TMPDIR/NAME.eml, DKIM-signed by sender.test (or by the
# domain of a return_path=... argument, so that its key and SPF record are used).
signed() {
	local name=$1 domain=sender.test arg
	shift
	for arg; do
		[[ $arg == return_path=*@* ]] && domain=${arg##*@}
	done
	make_msg "$BATS_TEST_TMPDIR/$name.unsigned" "$@"
	sign_msg "$BATS_TEST_TMPDIR/$name.unsigned" "$BATS_TEST_TMPDIR/$name.eml" "$domain"
}

json_field() {	# json_field EXPR < record   (EXPR indexes the record, e.g. '["actions"][0]["status"]')
	"$PY" -c 'import json,sys; v=eval("json.load(sys.stdin)"+sys.argv[1]); print(json.dumps(v) if isinstance(v,(list,dict)) or v is None else v)' "$1"
}

# ---- OOB ------------------------------------------------------------------------------------------------

@test "oob: x@oob.sink.test mails one RFC 3464 user-unknown bounce from the recipient to the Return-Path" {
	signed m to=x@oob.sink.test msfbl='eyJyIjoiMSJ9|c2ln'
	send m
	assert_success
	[ "$(json_field '["class"]' <<<"$output")" = oob ]
	[ "$(json_field '["actions"][0]["type"]' <<<"$output")" = oob ]
	[ "$(json_field '["actions"][0]["target"]' <<<"$output")" = smtp.sparkpostmail.com ]
	[ "$(json_field '["actions"][0]["status"]' <<<"$output")" = 250 ]
	[ "$(smtp_messages)" -eq 1 ]
	facts "$(smtp_eml 1)" >"$BATS_TEST_TMPDIR/f"
	cat "$BATS_TEST_TMPDIR/f"
	[ "$(fact mail_from "$BATS_TEST_TMPDIR/f")" = x@oob.sink.test ]
	[ "$(fact rcpt_tos "$BATS_TEST_TMPDIR/f")" = bounces@sender.test ]
	[ "$(fact helo "$BATS_TEST_TMPDIR/f")" = sink.test ]
	[ "$(fact crlf_only "$BATS_TEST_TMPDIR/f")" = True ]
	[ "$(fact type "$BATS_TEST_TMPDIR/f")" = multipart/report ]
	[ "$(fact report_type "$BATS_TEST_TMPDIR/f")" = delivery-status ]
	[ "$(fact from_addr "$BATS_TEST_TMPDIR/f")" = x@oob.sink.test ]
	[ "$(fact to_addr "$BATS_TEST_TMPDIR/f")" = bounces@sender.test ]
	[ "$(fact Auto-Submitted "$BATS_TEST_TMPDIR/f")" = auto-replied ]
	[ "$(fact MIME-Version "$BATS_TEST_TMPDIR/f")" = 1.0 ]
	[[ $(fact Message-ID "$BATS_TEST_TMPDIR/f") == \<*@sink.test\> ]]
	[ "$(fact parts "$BATS_TEST_TMPDIR/f")" = text/plain,message/delivery-status,message/rfc822 ]
	[ "$(fact block0.Reporting-MTA "$BATS_TEST_TMPDIR/f")" = "dns; sink.test" ]
	[ -n "$(fact block0.Arrival-Date "$BATS_TEST_TMPDIR/f")" ]
	[ "$(fact block1.Final-Recipient "$BATS_TEST_TMPDIR/f")" = "rfc822; x@oob.sink.test" ]
	[ "$(fact block1.Action "$BATS_TEST_TMPDIR/f")" = failed ]
	[ "$(fact block1.Status "$BATS_TEST_TMPDIR/f")" = 5.1.1 ]
	[ "$(fact block1.Diagnostic-Code "$BATS_TEST_TMPDIR/f")" = "smtp; 550 5.1.1 <x@oob.sink.test>... User unknown" ]
	[ "$(fact orig.X-MSFBL "$BATS_TEST_TMPDIR/f")" = 'eyJyIjoiMSJ9|c2ln' ]
	[ -n "$(fact orig.DKIM-Signature "$BATS_TEST_TMPDIR/f")" ]
	[ "$(counter oob_sent)" -eq 1 ]
	[ "$(counter oob_smtp_error)" -eq 0 ]
	log_lines | grep -q ',oob/subdomain,dkim=pass,spf=pass,oob smtp.sparkpostmail.com 250 2.0.0 OK queued'
}

@test "oob: the bounce carries the received message byte for byte (CRLF on the wire)" {
	signed m to=x@oob.sink.test msfbl='abc|def'
	send m
	assert_success
	[ "$(smtp_messages)" -eq 1 ]
	"$PY" - "$BATS_TEST_TMPDIR/m.eml" "$(smtp_eml 1)" <<'EOF'
import sys
orig = open(sys.argv[1], "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
report = open(sys.argv[2], "rb").read()
assert orig in report, "original not found verbatim in the report"
EOF
}

@test "oob and fbl: an original Message-ID too long for one In-Reply-To line is not referred to; the reports go out" {
	local id
	id=$(printf 'x%.0s' {1..980})@sender.test	# 992 octets: "<id>" fits a folded line, not "In-Reply-To: <id>"
	for class in oob fbl; do
		reset_servers
		make_msg "$BATS_TEST_TMPDIR/m.raw" to=x@$class.sink.test msgid="<$id>"
		sed 's/^Message-ID: </Message-ID:\n </' "$BATS_TEST_TMPDIR/m.raw" >"$BATS_TEST_TMPDIR/m.unsigned"
		sign_msg "$BATS_TEST_TMPDIR/m.unsigned" "$BATS_TEST_TMPDIR/m.eml"
		grep -qx " <$id>" "$BATS_TEST_TMPDIR/m.eml"
		send m
		assert_success
		[ "$(json_field '["actions"][0]["status"]' <<<"$output")" = 250 ]
		[ "$(smtp_messages)" -eq 1 ]
		facts "$(smtp_eml 1)" >"$BATS_TEST_TMPDIR/f"
		[ "$(fact In-Reply-To "$BATS_TEST_TMPDIR/f")" = None ]
		[ "$(fact References "$BATS_TEST_TMPDIR/f")" = None ]
	done
	# one that fits is still referred to
	reset_servers
	signed m to=x@oob.sink.test msgid="<short.1@sender.test>"
	send m
	assert_success
	facts "$(smtp_eml 1)" >"$BATS_TEST_TMPDIR/f"
	[ "$(fact In-Reply-To "$BATS_TEST_TMPDIR/f")" = "<short.1@sender.test>" ]
}

@test "oob: a Return-Path the MX rejects with 550 is logged with the reply and counted oob_smtp_error" {
	signed m to=x@oob.sink.test return_path=reject550@sender.test
	send m
	assert_success
	[ "$(json_field '["actions"][0]["status"]' <<<"$output")" = 550 ]
	[ "$(json_field '["actions"][0]["reply"]' <<<"$output")" = "5.1.1 User unknown" ]
	[ "$(json_field '["actions"][0]["error"]' <<<"$output")" = "permanent failure" ]
	[ "$(smtp_messages)" -eq 0 ]
	grep -qx '550 reject550@sender.test' "$SMTP_SPOOL/rejects.log"
	[ "$(counter oob_smtp_error)" -eq 1 ]
	[ "$(counter oob_sent)" -eq 0 ]
	log_lines | grep -q '!oob smtp.sparkpostmail.com 550 5.1.1 User unknown: permanent failure'
}

@test "oob: a Return-Path the MX answers 451 is a temporary failure, counted oob_smtp_error, not retried" {
	signed m to=x@oob.sink.test return_path=reject451@sender.test
	send m
	assert_success
	[ "$(json_field '["actions"][0]["status"]' <<<"$output")" = 451 ]
	[ "$(json_field '["actions"][0]["reply"]' <<<"$output")" = "4.3.0 Try again later" ]
	[ "$(json_field '["actions"][0]["error"]' <<<"$output")" = "temporary failure" ]
	[ "$(grep -c reject451 "$SMTP_SPOOL/rejects.log")" -eq 1 ]
	[ "$(counter oob_smtp_error)" -eq 1 ]
	log_lines | grep -q '!oob smtp.sparkpostmail.com 451 4.3.0 Try again later: temporary failure'
}

@test "oob: an allowlisted MX that refuses connections gives a no-connection error" {
	echo "mx.deadmx.test = fbl@deadmx.test" >>"$SINK_INI"
	signed m to=x@oob.sink.test from=news@deadmx.test return_path=b@deadmx.test
	send m
	assert_success
	[ "$(json_field '["actions"][0]["target"]' <<<"$output")" = mx.deadmx.test ]
	[[ $(json_field '["actions"][0]["error"]' <<<"$output") == "no connection: Connection refused"* ]]
	[ "$(json_field '["actions"][0].get("status")' <<<"$output")" = null ]
	[ "$(counter oob_smtp_error)" -eq 1 ]
	log_lines | grep -q '!oob mx.deadmx.test: no connection: Connection refused'
}

@test "oob: an MX that stalls after DATA times out within SMTP_Timeout" {
	sink_config SMTP_Timeout=2
	signed m to=x@oob.sink.test return_path=stall@sender.test
	send m
	assert_success
	(($(took_ms) < 5000))	# 2 s, start-up and a loaded machine; far from the 120 s a QUIT wait would take
	[[ $(json_field '["actions"][0]["error"]' <<<"$output") == "timed out after "* ]]
	[ "$(counter oob_smtp_error)" -eq 1 ]
	[ "$(counter oob_sent)" -eq 0 ]
}

@test "oob: an MX that takes the message and never answers QUIT: sent, and the run does not wait for the QUIT" {
	sink_config SMTP_Timeout=5
	signed m to=x@oob.sink.test return_path=quitstall@sender.test
	send m
	assert_success
	echo "took $(took_ms) ms"
	(($(took_ms) < 2500))	# the 5 s SMTP_Timeout a QUIT wait would take, far from start-up on a loaded machine
	[ "$(json_field '["actions"][0]["status"]' <<<"$output")" = 250 ]
	[ "$(smtp_messages)" -eq 1 ]
	[ "$(counter oob_sent)" -eq 1 ]
	wait_for 2 grep -q quitstall "$SMTP_SPOOL/stalls.log"	# the QUIT was sent, and its reply not awaited
}

@test "oob: a Return-Path whose MX is not allowlisted sends nothing, counted oob_return_path_not_sparkpost" {
	signed m to=x@oob.sink.test from=news@stranger.test return_path=b@stranger.test
	send m
	assert_success
	[ "$(json_field '["actions"]' <<<"$output")" = "[]" ]
	[ "$(smtp_messages)" -eq 0 ]
	[ "$(counter oob_return_path_not_sparkpost)" -eq 1 ]
	[ "$(counter oob_smtp_error)" -eq 0 ]
}

@test "oob: no Return-Path at all sends nothing, counted oob_missing_return_path" {
	sink_config SPF_Required_Direct=false
	signed m to=x@oob.sink.test return_path=
	send m
	assert_success
	[ "$(smtp_messages)" -eq 0 ]
	[ "$(counter oob_missing_return_path)" -eq 1 ]
	log_lines | grep -q '!OOB not sent: no Return-Path'
}

@test "oob: --dry-run -v builds the bounce but sends, counts and logs nothing" {
	signed m to=x@oob.sink.test
	send m --dry-run -v
	assert_success
	record=$(grep '^{' <<<"$output")
	[ "$(json_field '["actions"][0]["type"]' <<<"$record")" = oob ]
	[ "$(json_field '["actions"][0]["target"]' <<<"$record")" = smtp.sparkpostmail.com ]
	[ "$(json_field '["actions"][0]' <<<"$record")" = '{"type": "oob", "by": "reader", "target": "smtp.sparkpostmail.com"}' ]	# (no status, reply or time: nothing was sent)
	[ "$(smtp_messages)" -eq 0 ]
	[ "$(counter oob_sent)" -eq 0 ]
	[ "$(counter total_messages)" -eq 0 ]
	[ ! -e "$SINK_LOG" ]
}

@test "oob: the mix (Upstream_Handled=0, OOB_percent=100) bounces x@mix.sink.test" {
	sink_config Upstream_Handled=0 OOB_percent=100 FBL_percent=0 Open_percent=0 Open_Again_percent=0 \
		Click_percent=0 Click_Again_percent=0
	signed m to=x@mix.sink.test
	send m
	assert_success
	[ "$(json_field '["route"]' <<<"$output")" = mix ]
	[ "$(json_field '["class"]' <<<"$output")" = oob ]
	[ "$(smtp_messages)" -eq 1 ]
	facts "$(smtp_eml 1)" >"$BATS_TEST_TMPDIR/f"
	[ "$(fact mail_from "$BATS_TEST_TMPDIR/f")" = x@mix.sink.test ]
	[ "$(fact block1.Final-Recipient "$BATS_TEST_TMPDIR/f")" = "rfc822; x@mix.sink.test" ]
	[ "$(counter oob_sent)" -eq 1 ]
}

# ---- FBL ------------------------------------------------------------------------------------------------

@test "fbl: x@fbl.sink.test mails one RFC 5965 abuse report to the MX's feedback-loop address" {
	signed m to=x@fbl.sink.test msfbl='eyJyIjoiMiJ9|c2ln'
	send m
	assert_success
	[ "$(json_field '["actions"][0]["type"]' <<<"$output")" = fbl ]
	[ "$(json_field '["actions"][0]["status"]' <<<"$output")" = 250 ]
	[ "$(smtp_messages)" -eq 1 ]
	facts "$(smtp_eml 1)" >"$BATS_TEST_TMPDIR/f"
	cat "$BATS_TEST_TMPDIR/f"
	[ "$(fact mail_from "$BATS_TEST_TMPDIR/f")" = x@fbl.sink.test ]
	[ "$(fact rcpt_tos "$BATS_TEST_TMPDIR/f")" = fbl@sparkpostmail.com ]
	[ "$(fact crlf_only "$BATS_TEST_TMPDIR/f")" = True ]
	[ "$(fact type "$BATS_TEST_TMPDIR/f")" = multipart/report ]
	[ "$(fact report_type "$BATS_TEST_TMPDIR/f")" = feedback-report ]
	[ "$(fact from_addr "$BATS_TEST_TMPDIR/f")" = x@fbl.sink.test ]
	[ "$(fact to_addr "$BATS_TEST_TMPDIR/f")" = fbl@sparkpostmail.com ]
	[ "$(fact parts "$BATS_TEST_TMPDIR/f")" = text/plain,message/feedback-report,message/rfc822 ]
	[ "$(fact block0.Feedback-Type "$BATS_TEST_TMPDIR/f")" = abuse ]
	[[ $(fact block0.User-Agent "$BATS_TEST_TMPDIR/f") == bouncy-sink/* ]]
	[ "$(fact block0.Version "$BATS_TEST_TMPDIR/f")" = 1 ]
	[ "$(fact block0.Original-Mail-From "$BATS_TEST_TMPDIR/f")" = "<bounces@sender.test>" ]
	[ "$(fact block0.Original-Rcpt-To "$BATS_TEST_TMPDIR/f")" = "<x@fbl.sink.test>" ]
	[ -n "$(fact block0.Arrival-Date "$BATS_TEST_TMPDIR/f")" ]
	[ "$(fact block0.Source-IP "$BATS_TEST_TMPDIR/f")" = 192.0.2.10 ]
	[ "$(fact block0.Reported-Domain "$BATS_TEST_TMPDIR/f")" = sender.test ]
	[ "$(fact block0.Reported-URI "$BATS_TEST_TMPDIR/f")" = mailto:x@fbl.sink.test ]
	[ "$(fact block0.Removal-Recipient "$BATS_TEST_TMPDIR/f")" = x@fbl.sink.test ]
	[ "$(fact orig.X-MSFBL "$BATS_TEST_TMPDIR/f")" = 'eyJyIjoiMiJ9|c2ln' ]
	[ "$(counter fbl_sent)" -eq 1 ]
	log_lines | grep -q ',fbl/subdomain,dkim=pass,spf=pass,fbl smtp.sparkpostmail.com 250 2.0.0 OK queued'
}

@test "fbl: Reported-URI percent-encodes the '&' and '=' of the recipient (RFC 6068 section 2)" {
	signed m 'to=a=b&c+lab@fbl.sink.test'
	send m
	assert_success
	facts "$(smtp_eml 1)" >"$BATS_TEST_TMPDIR/f"
	[ "$(fact block0.Reported-URI "$BATS_TEST_TMPDIR/f")" = 'mailto:a%3Db%26c+lab@fbl.sink.test' ]
	# and an RFC 6068 reader gets the address back
	"$PY" -c 'import sys, urllib.parse; u = urllib.parse.urlsplit(sys.argv[1]); assert u.scheme == "mailto" and not u.query; assert urllib.parse.unquote(u.path) == "a=b&c+lab@fbl.sink.test", u' \
		"$(fact block0.Reported-URI "$BATS_TEST_TMPDIR/f")"
}

@test "fbl: a tenant MX (e.sparkpost.com) gets the complaint at fbl@<tenant>.mail.e.sparkpost.com" {
	signed m to=x@fbl.sink.test from=news@tenant.test return_path=b@tenant.test
	send m
	assert_success
	[ "$(json_field '["actions"][0]["target"]' <<<"$output")" = acme.mail.e.sparkpost.com ]
	[ "$(smtp_messages)" -eq 1 ]
	facts "$(smtp_eml 1)" >"$BATS_TEST_TMPDIR/f"
	[ "$(fact rcpt_tos "$BATS_TEST_TMPDIR/f")" = fbl@acme.mail.e.sparkpost.com ]
	[ "$(fact block0.Original-Mail-From "$BATS_TEST_TMPDIR/f")" = "<b@tenant.test>" ]
	[ "$(counter fbl_sent)" -eq 1 ]
}

@test "fbl: --dry-run builds the complaint but sends and counts nothing" {
	signed m to=x@fbl.sink.test
	send m --dry-run
	assert_success
	[ "$(json_field '["actions"][0]["type"]' <<<"$output")" = fbl ]
	[ "$(smtp_messages)" -eq 0 ]
	[ "$(counter fbl_sent)" -eq 0 ]
}

@test "fbl: each ARF feedback type FBL_Feedback_Types gives arrives in Feedback-Type, the Subject and the human part" {
	local type title noun
	while IFS=: read -r type title noun; do
		reset_servers
		sink_config FBL_Feedback_Types="$type:1"
		signed m to=x@fbl.sink.test subject="Weekly deals"
		send m
		assert_success
		[ "$(json_field '["plan"]["feedback_type"]' <<<"$output")" = "$type" ]
		[ "$(smtp_messages)" -eq 1 ]
		facts "$(smtp_eml 1)" >"$BATS_TEST_TMPDIR/f"
		[ "$(fact block0.Feedback-Type "$BATS_TEST_TMPDIR/f")" = "$type" ]
		[ "$(fact Subject "$BATS_TEST_TMPDIR/f")" = "$title: Weekly deals" ]
		[ "$(fact report_type "$BATS_TEST_TMPDIR/f")" = feedback-report ]
		fact human "$BATS_TEST_TMPDIR/f" | grep -q "^This is an email $noun report for an email message"
		[ "$(counter fbl_sent)" -eq 1 ]
		if [[ $type == abuse ]]; then
			log_lines | grep -q ',fbl/subdomain,dkim=pass,spf=pass,fbl smtp.sparkpostmail.com 250'
		else
			log_lines | grep -q ",fbl/subdomain,dkim=pass,spf=pass,feedback-type=$type,fbl smtp.sparkpostmail.com 250"
		fi
	done <<-EOF
		abuse:Abuse report:abuse
		fraud:Fraud report:fraud
		virus:Virus report:virus
		other:Feedback report:feedback
		not-spam:Not-spam report:not-spam
	EOF
}

@test "fbl: a feedback type the sender chose (X-Bouncy-Sink, a keyword) wins over FBL_Feedback_Types" {
	sink_config FBL_Feedback_Types=not-spam:1
	signed m to=x@fbl.sink.test 'extra_header=X-Bouncy-Sink: feedback-type=fraud'
	send m
	assert_success
	[ "$(json_field '["plan"]["feedback_type"]' <<<"$output")" = fraud ]
	signed k to=virus@mix.sink.test
	send k
	assert_success
	[ "$(json_field '["plan"]["feedback_type"]' <<<"$output")" = virus ]
	signed w to=y@fbl.sink.test
	send w
	assert_success
	[ "$(json_field '["plan"]["feedback_type"]' <<<"$output")" = not-spam ]
	[ "$(smtp_messages)" -eq 3 ]
	for i in 1 2 3; do facts "$(smtp_eml "$i")" | fact block0.Feedback-Type /dev/stdin; done >"$BATS_TEST_TMPDIR/types"
	[ "$(tr '\n' ' ' <"$BATS_TEST_TMPDIR/types")" = "fraud virus not-spam " ]
}

@test "fbl: the feedback type is drawn by the weights, the same for the same --seed, and the seed's decision is unchanged" {
	local seed a b types= fbl_seed=
	sink_config FBL_Feedback_Types="abuse:1,fraud:1,virus:1,other:1,not-spam:1" Upstream_Handled=0 OOB_percent=0 \
		FBL_percent=50 Open_percent=0 Open_Again_percent=0 Click_percent=0 Click_Again_percent=0
	signed m to=x@mix.sink.test
	for seed in 1 2 3 4 5 6 7 8 9 10 11 12; do
		send m --seed "$seed" --dry-run
		assert_success
		a=$output
		send m --seed "$seed" --dry-run
		[ "$(json_field '["class"]' <<<"$a")" = "$(json_field '["class"]' <<<"$output")" ]
		[ "$(json_field '["draw"]' <<<"$a")" = "$(json_field '["draw"]' <<<"$output")" ]
		[ "$(json_field '["plan"]["feedback_type"]' <<<"$a")" = "$(json_field '["plan"]["feedback_type"]' <<<"$output")" ]
		# the class draw is the one the default weights give (the type is drawn after it)
		sink_config Upstream_Handled=0 OOB_percent=0 FBL_percent=50 Open_percent=0 Open_Again_percent=0 \
			Click_percent=0 Click_Again_percent=0
		send m --seed "$seed" --dry-run
		[ "$(json_field '["draw"]' <<<"$a")" = "$(json_field '["draw"]' <<<"$output")" ]
		[ "$(json_field '["class"]' <<<"$a")" = "$(json_field '["class"]' <<<"$output")" ]
		sink_config FBL_Feedback_Types="abuse:1,fraud:1,virus:1,other:1,not-spam:1" Upstream_Handled=0 \
			OOB_percent=0 FBL_percent=50 Open_percent=0 Open_Again_percent=0 Click_percent=0 Click_Again_percent=0
		if [[ $(json_field '["class"]' <<<"$a") == fbl ]]; then
			b=$(json_field '["plan"]["feedback_type"]' <<<"$a")
			[[ " $types " == *" $b "* ]] || types+=" $b"
			fbl_seed=${fbl_seed:-$seed}
		else
			[ "$(json_field '["plan"]["feedback_type"]' <<<"$a")" = null ]
		fi
	done
	echo "types drawn:$types"
	(($(wc -w <<<"$types") >= 2))	# 5 equal weights over the fbl draws: more than one type
	# the type a seed drew is the one the complaint carries
	reset_servers
	send m --seed "$fbl_seed"
	assert_success
	[ "$(json_field '["class"]' <<<"$output")" = fbl ]
	facts "$(smtp_eml 1)" >"$BATS_TEST_TMPDIR/f"
	[ "$(fact block0.Feedback-Type "$BATS_TEST_TMPDIR/f")" = "$(json_field '["plan"]["feedback_type"]' <<<"$output")" ]
}

# ---- signed reports ----------------------------------------------------------------------------------------

# sig_tags EML: the DKIM-Signature's tags of a received report, one "tag=value" per line (FWS removed)
sig_tags() {
	"$PY" - "$1" <<'EOF'
import email, re, sys
m = email.message_from_bytes(open(sys.argv[1], "rb").read())
sigs = m.get_all("DKIM-Signature") or []
print("count=%d" % len(sigs))
for tag in (sigs[0] if sigs else "").split(";"):
    if "=" in tag:
        k, v = tag.split("=", 1)
        print("%s=%s" % (k.strip(), re.sub(r"\s+", "", v)))
EOF
}

@test "signed: bounces and complaints carry one DKIM signature of sink.test (rsa-sha256, relaxed/relaxed) that dkimverify accepts" {
	local i h
	signed o to=x@oob.sink.test msgid="<orig.1@sender.test>"
	signed f to=y@fbl.sink.test
	send o
	assert_success
	send f
	assert_success
	[ "$(smtp_messages)" -eq 2 ]
	for i in 1 2; do
		sig_tags "$(smtp_eml "$i")" >"$BATS_TEST_TMPDIR/t"
		cat "$BATS_TEST_TMPDIR/t"
		[ "$(fact count "$BATS_TEST_TMPDIR/t")" = 1 ]
		[ "$(fact d "$BATS_TEST_TMPDIR/t")" = sink.test ]
		[ "$(fact s "$BATS_TEST_TMPDIR/t")" = sink1 ]
		[ "$(fact a "$BATS_TEST_TMPDIR/t")" = rsa-sha256 ]
		[ "$(fact c "$BATS_TEST_TMPDIR/t")" = relaxed/relaxed ]
		[ -z "$(fact l "$BATS_TEST_TMPDIR/t")" ]	# the whole body
		h=$(fact h "$BATS_TEST_TMPDIR/t" | tr 'A-Z' 'a-z')
		for field in from to subject date message-id mime-version content-type; do
			[[ :$h: == *:$field:* ]]
		done
		# the independent verifier (python3-dkim's dkimverify) with the key in the test zone's DNS
		run dkim_verify "$(smtp_eml "$i")"
		assert_success
		assert_output 'signature ok'
	done
	# the bounce refers to the original: In-Reply-To and References are signed too
	h=$(sig_tags "$(smtp_eml 1)" | grep '^h=' | tr 'A-Z' 'a-z')
	[[ $h == *in-reply-to* && $h == *references* ]]
	# and a report changed on the way no longer verifies: the check can fail
	sed 's/^Subject: /Subject: changed /' "$(smtp_eml 2)" >"$BATS_TEST_TMPDIR/changed.eml"
	run dkim_verify "$BATS_TEST_TMPDIR/changed.eml"
	assert_failure
}

@test "signed: without DKIM_Sign_* the reports go out unsigned" {
	SINK_SIGNING=0 sink_config
	signed m to=x@fbl.sink.test
	send m
	assert_success
	[ "$(smtp_messages)" -eq 1 ]
	[ "$(sig_tags "$(smtp_eml 1)" | fact count /dev/stdin)" = 0 ]
}

@test "signed: a DKIM_Sign_Key that is missing or a folder is a config error naming the key; sink-filter -n exits 78" {
	local missing=$BATS_TEST_TMPDIR/no/such.pem
	signed m to=x@fbl.sink.test
	sink_config DKIM_Sign_Key="$missing"
	run filter -n
	[ "$status" -eq 78 ]
	assert_output "sink-filter: config: $SINK_INI: [Sink] DKIM_Sign_Key = \"$missing\": the key cannot be read: No such file or directory"
	send m
	[ "$status" -eq 75 ]	# the mail stays queued until the config is mended
	[ "$(smtp_messages)" -eq 0 ]
	sink_config DKIM_Sign_Key="$BATS_TEST_TMPDIR"
	run filter -n
	[ "$status" -eq 78 ]
	assert_output --partial "DKIM_Sign_Key = \"$BATS_TEST_TMPDIR\": the key cannot be read: not a file"
	# the three go together
	sink_config DKIM_Sign_Selector=-
	run filter -n
	[ "$status" -eq 78 ]
	assert_output --partial "DKIM_Sign_Domain, DKIM_Sign_Selector and DKIM_Sign_Key go together: DKIM_Sign_Selector is not set"
	sink_config DKIM_Sign_Domain='sink test'
	run filter -n
	[ "$status" -eq 78 ]
	assert_output --partial 'DKIM_Sign_Domain = "sink test": not a domain name'
}

@test "signed: a DKIM_Sign_Key that holds no private key fails sink-filter -n; a message is done, its report not sent unsigned" {
	cp "$DKIM_KEYDIR/sink.test/sink1.txt" "$BATS_TEST_TMPDIR/public.txt"	# the public half: no private key
	sink_config DKIM_Sign_Key="$BATS_TEST_TMPDIR/public.txt"
	run filter -n
	[ "$status" -eq 78 ]
	assert_output --partial "DKIM_Sign_Key = \"$BATS_TEST_TMPDIR/public.txt\": not an RSA private key in PEM"
	signed m to=x@fbl.sink.test
	send m
	assert_success
	[ "$(smtp_messages)" -eq 0 ]
	[[ $(json_field '["actions"][0]["error"]' <<<"$output") == "not sent: not signed: "*"not an RSA private key in PEM"* ]]
	[ "$(counter fbl_smtp_error)" -eq 1 ]
	[ "$(counter fbl_sent)" -eq 0 ]
	# the good key: -n says OK
	sink_config
	run filter -n
	assert_success
	assert_output "$SINK_INI: OK"
}

# ---- both -----------------------------------------------------------------------------------------------

@test "counters in Redis match what the SMTP server received" {
	signed ok1 to=a@oob.sink.test
	signed ok2 to=b@oob.sink.test
	signed bad to=c@oob.sink.test return_path=reject550@sender.test
	signed fbl1 to=d@fbl.sink.test
	signed fbl2 to=e@fbl.sink.test
	for m in ok1 ok2 bad fbl1 fbl2; do
		send "$m"
		assert_success
	done
	received_oob=$(grep -l '"rcpt_tos": \["bounces@sender.test"\]' "$SMTP_SPOOL"/*.json | wc -l)
	received_fbl=$(grep -l '"rcpt_tos": \["fbl@sparkpostmail.com"\]' "$SMTP_SPOOL"/*.json | wc -l)
	[ "$received_oob" -eq 2 ]
	[ "$received_fbl" -eq 2 ]
	[ "$(counter oob_sent)" -eq "$received_oob" ]
	[ "$(counter fbl_sent)" -eq "$received_fbl" ]
	[ "$(counter oob_smtp_error)" -eq "$(grep -c '^550 ' "$SMTP_SPOOL/rejects.log")" ]
	[ "$(counter total_messages)" -eq 5 ]
}

# A received message whose header values carry CR/LF (inside RFC 2047 encoded words) and raw UTF-8.
write_hostile() {
	local out=$1 to=$2
	{
		printf 'Return-Path: <bounces@sender.test>\n'
		printf 'Received: from mta.sender.test (192.0.2.10) by sink.test id abc for <%s>; %s\n' "$to" "$(date -uR)"
		printf 'From: =?utf-8?q?J=C3=B6rg=0D=0ABcc:_evil@attacker.test?= <news@sender.test>\n'
		printf 'To: =?utf-8?q?X=0D=0AX-Injected:_to?= <%s>\n' "$to"
		printf 'Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe=0D=0AX-Injected:_subject?= und Gr\xc3\xbc\xc3\x9fe roh\n'
		printf 'Date: %s\n' "$(date -uR)"
		printf 'Message-ID: <hostile-%s@sender.test>\n' "$RANDOM"
		printf 'X-MSFBL: abc|def\n'
		printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n'
		printf 'Gr\xc3\xbc\xc3\x9fe.\n'
	} >"$out"
}

@test "fbl: CR/LF and non-ASCII in the received headers cannot add headers or fields to the complaint" {
	write_hostile "$BATS_TEST_TMPDIR/h.unsigned" x@fbl.sink.test
	sign_msg "$BATS_TEST_TMPDIR/h.unsigned" "$BATS_TEST_TMPDIR/h.eml"
	send h
	assert_success
	[ "$(smtp_messages)" -eq 1 ]
	facts "$(smtp_eml 1)" >"$BATS_TEST_TMPDIR/f"
	cat "$BATS_TEST_TMPDIR/f"
	assert_not_injected "$BATS_TEST_TMPDIR/f" "$(smtp_eml 1)"
	[[ $(fact Subject "$BATS_TEST_TMPDIR/f") == "Abuse report: Grüße X-Injected: subject und Grüße roh" ]]
	[ "$(fact orig.X-MSFBL "$BATS_TEST_TMPDIR/f")" = 'abc|def' ]
	[ "$(counter fbl_sent)" -eq 1 ]
	# its raw UTF-8 header goes back quoted-printable: the whole report is 7-bit
	"$PY" -c 'import sys; assert all(b < 0x80 for b in open(sys.argv[1], "rb").read())' "$(smtp_eml 1)"
	grep -q '^Content-Transfer-Encoding: quoted-printable' "$(smtp_eml 1)"
}

@test "oob: CR/LF and non-ASCII in the received headers cannot add headers or fields to the bounce" {
	write_hostile "$BATS_TEST_TMPDIR/h.unsigned" x@oob.sink.test
	sign_msg "$BATS_TEST_TMPDIR/h.unsigned" "$BATS_TEST_TMPDIR/h.eml"
	send h
	assert_success
	[ "$(smtp_messages)" -eq 1 ]
	facts "$(smtp_eml 1)" >"$BATS_TEST_TMPDIR/f"
	assert_not_injected "$BATS_TEST_TMPDIR/f" "$(smtp_eml 1)"
	[ "$(fact block1.Final-Recipient "$BATS_TEST_TMPDIR/f")" = "rfc822; x@oob.sink.test" ]
}

@test "an original with 8-bit bytes goes back as its headers: the report is 7-bit (no BODY=8BITMIME to declare)" {
	printf '<html><body><p>Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln.</p></body></html>\n' >"$BATS_TEST_TMPDIR/8.html"
	for to in x@oob.sink.test x@fbl.sink.test; do
		reset_servers
		signed e to=$to html="$BATS_TEST_TMPDIR/8.html" cte=8bit
		send e
		assert_success
		rec '.notes | index("original returned as headers only: it has 8-bit bytes, and the report cannot declare BODY=8BITMIME")'
		facts "$(smtp_eml 1)" >"$BATS_TEST_TMPDIR/f"
		[[ $(fact parts "$BATS_TEST_TMPDIR/f") == text/plain,message/*,text/rfc822-headers ]]
		[ "$(fact orig.To "$BATS_TEST_TMPDIR/f")" = "$to" ]
		"$PY" - "$(smtp_eml 1)" <<'PYEOF'
import sys
raw = open(sys.argv[1], "rb").read()
assert all(b < 0x80 for b in raw), "8-bit bytes in the report"
assert b"Content-Type: text/rfc822-headers" in raw
PYEOF
	done
}

# hostile_rp LINE: a DKIM-exempt (DKIM_Check=off) oob message whose Return-Path: header is LINE (Python escapes), sent
hostile_rp() {
	make_msg "$BATS_TEST_TMPDIR/h.0" to=x@oob.sink.test return_path=
	raw_header "$BATS_TEST_TMPDIR/h.0" "$BATS_TEST_TMPDIR/h.eml" "$1"
	send h
}

@test "oob: a Return-Path with CR/LF, NUL, a space in quotes, 1,000 octets or a UTF-8 local part gets no bounce, and the record says why" {
	local line error long
	long=$(printf 'a%.0s' {1..990})
	sink_config DKIM_Check=off SPF_Required_Direct=false
	while IFS='|' read -r line error; do
		reset_servers
		echo "case: $line"
		hostile_rp "$line"
		assert_success
		[ "$(json_field '["actions"]' <<<"$output")" = "[]" ]
		jq -r '.errors[]' <<<"$output" | grep -qF -- "$error"
		[ "$(smtp_messages)" -eq 0 ]
		[ "$(counter oob_missing_return_path)" -eq 1 ]
	done <<-EOF
		Return-Path: <bounces@sender.test\rBcc: evil@attacker.test>|the Return-Path: header holds a control character (NUL, bare CR, ...); not used
		Return-Path: <bounces@sender.test\x00.evil.test>|the Return-Path: header holds a control character (NUL, bare CR, ...); not used
		Return-Path: <"john doe"@sender.test>|OOB not sent: no usable Return-Path address
		Return-Path: <$long@sender.test>|OOB not sent: no usable Return-Path address
		Return-Path: <bö@sender.test>|OOB not sent: the Return-Path address bö@sender.test has a non-ASCII local part (it needs SMTPUTF8, which the sink does not speak)
	EOF
}

@test "oob: a quoted local part and an IDN domain in the Return-Path get a well-formed bounce, the domain in A-labels" {
	sink_config DKIM_Check=off SPF_Required_Direct=false
	hostile_rp 'Return-Path: <"bo\\"unces"@sender.test>'
	assert_success
	[ "$(json_field '["actions"][0]["status"]' <<<"$output")" = 250 ]
	facts "$(smtp_eml 1)" >"$BATS_TEST_TMPDIR/f"
	[ "$(fact rcpt_tos "$BATS_TEST_TMPDIR/f")" = '"bo\"unces"@sender.test' ]
	[ "$(fact to_addr "$BATS_TEST_TMPDIR/f")" = '"bo\"unces"@sender.test' ]
	assert_not_injected "$BATS_TEST_TMPDIR/f" "$(smtp_eml 1)"

	reset_servers
	hostile_rp 'Return-Path: <bounces@bücher.test>'
	assert_success
	[ "$(json_field '["return_path"]' <<<"$output")" = bounces@bücher.test ]
	[ "$(json_field '["actions"][0]["status"]' <<<"$output")" = 250 ]
	facts "$(smtp_eml 1)" >"$BATS_TEST_TMPDIR/f"
	[ "$(fact rcpt_tos "$BATS_TEST_TMPDIR/f")" = bounces@xn--bcher-kva.test ]
	[ "$(fact to_addr "$BATS_TEST_TMPDIR/f")" = bounces@xn--bcher-kva.test ]
	assert_not_injected "$BATS_TEST_TMPDIR/f" "$(smtp_eml 1)"
	[ "$(counter oob_sent)" -eq 1 ]
}

@test "fbl: a 100 KB Subject, or one with broken encoded words, gives a well-formed complaint that quotes it shortened or as text, and says so" {
	local subject
	sink_config DKIM_Check=off
	for subject in "$(head -c 100000 /dev/zero | tr '\0' x)" "$(head -c 100000 /dev/zero | tr '\0' x | sed 's/x\{60\}/& /g')" \
		'=?utf-8?q?broken =?x-bogus?B?QUJD?= =?utf-8?B?//79?= end =?utf-8?q?=0D=0ABcc:_evil@attacker.test?='; do
		reset_servers
		make_msg "$BATS_TEST_TMPDIR/h.0" to=x@fbl.sink.test subject=
		raw_header "$BATS_TEST_TMPDIR/h.0" "$BATS_TEST_TMPDIR/h.eml" "Subject: $subject"
		send h
		assert_success
		record=$output	# (assert_not_injected runs commands of its own)
		[ "$(json_field '["actions"][0]["status"]' <<<"$record")" = 250 ]
		facts "$(smtp_eml 1)" >"$BATS_TEST_TMPDIR/f"
		assert_not_injected "$BATS_TEST_TMPDIR/f" "$(smtp_eml 1)"
		if ((${#subject} > 1000)); then
			jq -r '.notes[]' <<<"$record" | grep -qxE "the original's Subject \((100000|101666) characters\) is quoted in the report as its first 200"
			(($(fact Subject "$BATS_TEST_TMPDIR/f" | wc -c) < 250))
		else
			jq -r '.notes[]' <<<"$record" | grep -qF "the original's Subject has encoded words that do not decode"
			[[ $(fact Subject "$BATS_TEST_TMPDIR/f") == "Abuse report: broken =?x-bogus?B?QUJD?"* ]]
		fi
	done
}

@test "oob: an envelope recipient with CR/LF in it is not used: nothing sent, counted oob_missing_to" {
	signed m to=x@oob.sink.test
	send m --to $'x@oob.sink.test\r\nX-Injected: yes'
	assert_success
	[ "$(smtp_messages)" -eq 0 ]
	[ "$(counter oob_missing_to)" -eq 1 ]
	[ "$(json_field '["errors"]' <<<"$output")" = '["OOB not sent: no usable To: address"]' ]
}
