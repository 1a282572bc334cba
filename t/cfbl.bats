#!/usr/bin/env bats
# cfbl.bats - RFC 9477 end to end: a complaint goes to the CFBL-Address a message names when its DKIM
# signatures vouch for that header as the RFC asks (the sender's own domain, or both the From: domain and a
# third party's), to that address's MX though no allowlist names it; otherwise the Return-Path rule stands,
# and the record says why. Hostile CFBL-Address values are refused with a reason, and the complaint that
# goes out instead is well formed. Every report is signed with the sink.test key (RFC 9477 requires it of a
# CFBL report) and must verify with python3-dkim.
# Run inside the mini internet: t/netns-run bats t/cfbl.bats
#
# Zones (t/fixtures/dnsmasq.conf.in): cfbl.test (MX mx.cfbl.test; feedback.cfbl.test too) and esp.test (MX
# mx.esp.test), neither on the allowlist, both publishing the sender.test key as sel1; sender.test's MX is
# the allowlisted smtp.sparkpostmail.com. All MX hosts are the SMTP sink.

load lib/common
load lib/sink
load lib/checks
load lib/report

SINK_SIGNING=1
COVER=from:to:subject:date:message-id:cfbl-address:cfbl-feedback-id

setup() {
	reset_servers
	sink_config
	M=$BATS_TEST_TMPDIR
}

teardown() {
	all_sent_signed
}

# msg NAME SIGNERS [make_msg key=value ...]: $M/NAME.eml, to x@fbl.sink.test from news@cfbl.test (Return-Path
# bounces@cfbl.test unless given), signed by each domain of SIGNERS (comma-separated; "-": none) in turn over
# $SIGN_HEADERS (default: COVER, which names CFBL-Address and CFBL-Feedback-ID).
msg() {
	local name=$1 signers=$2 d in
	shift 2
	make_msg "$M/$name.0" to=x@fbl.sink.test from=news@cfbl.test return_path=bounces@cfbl.test "$@"
	in=$M/$name.0
	if [[ $signers != - ]]; then
		for d in ${signers//,/ }; do
			SIGN_HEADERS=${SIGN_HEADERS-$COVER} sign_msg "$in" "$M/$name.$d" "$d"
			in=$M/$name.$d
		done
	fi
	cp "$in" "$M/$name.eml"
}

# delivered_to_cfbl: the last send's complaint went to fbl@cfbl.test at mx.cfbl.test, accepted and counted
# as one (fbl_sent and fbl_cfbl_sent); its facts (t/lib/report.bash) in $M/f
delivered_to_cfbl() {
	rec '.actions[0].type == "fbl" and .actions[0].target == "mx.cfbl.test" and .actions[0].status == 250' &&
		rec '.counters == ["fbl_sent", "fbl_cfbl_sent"] and .errors == []' &&
		[ "$(smtp_messages)" -eq 1 ] || return 1
	facts "$(smtp_eml 1)" >"$M/f"
	cat "$M/f"
	[ "$(fact rcpt_tos "$M/f")" = fbl@cfbl.test ]
}

@test "a CFBL-Address of the From: domain, signed over it and CFBL-Feedback-ID, gets the complaint at its MX, which no allowlist names" {
	# without the header the complaint has nowhere to go: cfbl.test's MX is on no allowlist
	msg plain cfbl.test
	send plain
	assert_success
	rec '.complaint_route == "return_path" and .actions == [] and (has("cfbl") | not)'
	[ "$(smtp_messages)" -eq 0 ]
	[ "$(counter fbl_return_path_not_sparkpost)" -eq 1 ]

	reset_servers
	msg m cfbl.test msgid='<cfbl.1@cfbl.test>' extra_header='CFBL-Address: fbl@cfbl.test; report=arf' \
		extra_header='CFBL-Feedback-ID: 1234:a1b2c3'
	send m
	assert_success
	rec '.complaint_route == "cfbl" and .cfbl.honoured and .cfbl.reason == null'
	rec '.cfbl.address == "fbl@cfbl.test" and .cfbl.feedback_id == "1234:a1b2c3" and .cfbl.report == "arf"'
	rec '.mx == "mx.cfbl.test" and .fbl_address == "fbl@cfbl.test"'
	delivered_to_cfbl
	[ "$(fact mail_from "$M/f")" = x@fbl.sink.test ]
	[ "$(fact to_addr "$M/f")" = fbl@cfbl.test ]
	[ "$(fact from_addr "$M/f")" = x@fbl.sink.test ]
	[ "$(fact report_type "$M/f")" = feedback-report ]
	[ "$(fact parts "$M/f")" = text/plain,message/feedback-report,message/rfc822 ]
	[ "$(fact block0.Feedback-Type "$M/f")" = abuse ]
	# the reported message keeps what the sender finds its complaint by
	[ "$(fact orig.Message-ID "$M/f")" = '<cfbl.1@cfbl.test>' ]
	[ "$(fact orig.CFBL-Feedback-ID "$M/f")" = 1234:a1b2c3 ]
	[ "$(counter fbl_sent)" -eq 1 ]
	[ "$(counter fbl_cfbl_sent)" -eq 1 ]
	[ "$(counter fbl_return_path_not_sparkpost)" -eq 0 ]
	log_lines | grep -q ',fbl/subdomain,dkim=pass,spf=pass,cfbl=fbl@cfbl.test,fbl mx.cfbl.test 250 2.0.0 OK queued'
	# sink-stats shows the new counter as it shows every int_ counter
	run "$SINK_STATS" -c "$SINK_INI" --json
	assert_success
	jq -e '.fbl_cfbl_sent == 1 and .fbl_sent == 1' <<<"$output"
	run "$SINK_STATS" -c "$SINK_INI" --prometheus
	assert_output --regexp 'fbl_cfbl_sent.* 1'
}

@test "the CFBL-Address's MX is the sender's choice: its address must be public (Fetch_Allow_Private off), else nothing is sent, said" {
	sink_config Fetch_Allow_Private=false
	msg m cfbl.test extra_header='CFBL-Address: fbl@cfbl.test; report=arf'
	send m
	assert_success
	rec '.complaint_route == "cfbl" and .cfbl.honoured'
	rec '.actions[0].type == "fbl" and .actions[0].target == "mx.cfbl.test" and (.actions[0].status | not)'
	rec '.actions[0].error | test("^not sent: the MX.s address is refused: 127\\.[0-9.]+ is loopback .*; Fetch_Allow_Private is off$")'
	rec '.counters == ["fbl_smtp_error"]'
	[ "$(smtp_messages)" -eq 0 ]
	[ "$(counter fbl_smtp_error)" -eq 1 ]
	log_lines | grep -q ",!fbl mx.cfbl.test: not sent: the MX's address is refused: 127\.[0-9.]* is loopback .*; Fetch_Allow_Private is off"
	# an allowlisted MX is the operator's choice: a report to it goes, loopback or not (reset: the pair's own)
	reset_servers
	make_msg "$M/b.eml" to=x@oob.sink.test
	sign_msg "$M/b.eml" "$M/b.signed"
	run filter --json --client-ip 192.0.2.10 <"$M/b.signed"
	assert_success
	jq -e '.actions[0].type == "oob" and .actions[0].status == 250' <<<"$output"
}

@test "one organization: a subdomain's CFBL-Address with the From: domain's signature, or a From: subdomain, is honoured" {
	msg sub cfbl.test extra_header='CFBL-Address: fbl@feedback.cfbl.test'
	send sub
	assert_success
	rec '.cfbl.honoured and .actions[0].target == "mx.cfbl.test" and .cfbl.report == null'
	[ "$(jq -r '.fbl_address' <<<"$output")" = fbl@feedback.cfbl.test ]
	[ "$(jq -r '.counters | join(",")' <<<"$output")" = fbl_sent,fbl_cfbl_sent ]

	reset_servers
	msg parent cfbl.test from=news@mail.cfbl.test extra_header='CFBL-Address: fbl@cfbl.test'
	send parent
	assert_success
	rec '.cfbl.honoured and .fbl_address == "fbl@cfbl.test" and .actions[0].status == 250'
	[ "$(smtp_messages)" -eq 1 ]
	[ "$(facts "$(smtp_eml 1)" | fact rcpt_tos /dev/stdin)" = fbl@cfbl.test ]
}

@test "a third party's CFBL-Address (another organization) needs a signature of each, both covering the header" {
	local h='CFBL-Address: fbl@esp.test'
	msg both cfbl.test,esp.test extra_header="$h"
	send both
	assert_success
	rec '.cfbl.honoured and .mx == "mx.esp.test" and .fbl_address == "fbl@esp.test" and .actions[0].status == 250'
	[ "$(smtp_messages)" -eq 1 ]
	[ "$(facts "$(smtp_eml 1)" | fact rcpt_tos /dev/stdin)" = fbl@esp.test ]
	[ "$(counter fbl_cfbl_sent)" -eq 1 ]

	reset_servers
	msg from_only cfbl.test extra_header="$h"
	send from_only
	assert_success
	rec '.cfbl.honoured == false and .complaint_route == "return_path" and .actions == []'
	jq -r .cfbl.reason <<<"$output" | grep -qF "no valid DKIM signature of esp.test (the CFBL-Address domain's organization): a CFBL-Address of another organization than From:'s (cfbl.test) needs signatures of both"
	log_lines | grep -qF "CFBL-Address not honoured: no valid DKIM signature of esp.test"

	msg esp_only esp.test extra_header="$h"
	send esp_only
	assert_success
	rec '.dkim == "pass" and .cfbl.honoured == false'
	[ "$(jq -r .cfbl.reason <<<"$output")" = "no valid DKIM signature of cfbl.test (the From: domain's organization)" ]

	# both sign, but esp.test's h= leaves the header out
	make_msg "$M/half.0" to=x@fbl.sink.test from=news@cfbl.test return_path=bounces@cfbl.test extra_header="$h"
	SIGN_HEADERS=$COVER sign_msg "$M/half.0" "$M/half.1" cfbl.test
	SIGN_HEADERS=from:to:subject sign_msg "$M/half.1" "$M/half.eml" esp.test
	send half
	assert_success
	jq -r .cfbl.reason <<<"$output" | grep -qF "the valid DKIM signature of esp.test does not sign CFBL-Address in its h="
	[ "$(smtp_messages)" -eq 0 ]
	[ "$(counter fbl_cfbl_sent)" -eq 0 ]
}

@test "a signature that does not cover CFBL-Address (or a CFBL-Feedback-ID present) is not enough: the Return-Path rule stands" {
	# python3-dkim's default fields: CFBL-Address not among them
	SIGN_HEADERS= msg m cfbl.test extra_header='CFBL-Address: fbl@cfbl.test'
	send m
	assert_success
	rec '.complaint_route == "return_path" and .cfbl.honoured == false and .actions == []'
	[ "$(jq -r .cfbl.reason <<<"$output")" = "the valid DKIM signature of cfbl.test does not sign CFBL-Address in its h=" ]
	rec '.notes | index("CFBL-Address not honoured: the valid DKIM signature of cfbl.test does not sign CFBL-Address in its h=")'
	[ "$(smtp_messages)" -eq 0 ]
	[ "$(counter fbl_return_path_not_sparkpost)" -eq 1 ]
	[ "$(counter fbl_cfbl_sent)" -eq 0 ]

	# CFBL-Feedback-ID present but left out of h=
	SIGN_HEADERS=from:to:subject:cfbl-address msg fid cfbl.test extra_header='CFBL-Address: fbl@cfbl.test' \
		extra_header='CFBL-Feedback-ID: 99'
	send fid
	[ "$(jq -r .cfbl.reason <<<"$output")" = "the valid DKIM signature of cfbl.test does not sign CFBL-Address and CFBL-Feedback-ID in its h=" ]

	# another organization's signature over the header does not speak for cfbl.test
	msg other sender.test extra_header='CFBL-Address: fbl@cfbl.test'
	send other
	rec '.dkim == "pass" and .cfbl.honoured == false'
	[ "$(jq -r .cfbl.reason <<<"$output")" = "no valid DKIM signature of cfbl.test (the From: domain's organization)" ]
	[ "$(smtp_messages)" -eq 0 ]

	# with an allowlisted Return-Path the complaint takes that route, to the MX's feedback-loop address
	reset_servers
	SIGN_HEADERS= msg rp cfbl.test return_path=bounces@sender.test extra_header='CFBL-Address: fbl@cfbl.test'
	send rp
	assert_success
	rec '.complaint_route == "return_path" and .actions[0].target == "smtp.sparkpostmail.com" and .actions[0].status == 250'
	[ "$(smtp_messages)" -eq 1 ]
	[ "$(facts "$(smtp_eml 1)" | fact rcpt_tos /dev/stdin)" = fbl@sparkpostmail.com ]
	[ "$(counter fbl_sent)" -eq 1 ]
	[ "$(counter fbl_cfbl_sent)" -eq 0 ]
}

@test "report=xarf gets an ARF report (the RFC's fallback), and the log line says so" {
	msg m cfbl.test extra_header='CFBL-Address: fbl@cfbl.test;report=xarf'
	send m
	assert_success
	rec '.cfbl.honoured and .cfbl.report == "xarf" and .actions[0].status == 250'
	rec '.notes | index("CFBL report=xarf asked: ARF sent (the sink makes no XARF)")'
	[ "$(facts "$(smtp_eml 1)" | fact report_type /dev/stdin)" = feedback-report ]
	log_lines | grep -qF 'CFBL report=xarf asked: ARF sent'
}

@test "CFBL = false: the header is not looked at beyond saying so; the Return-Path rule stands" {
	sink_config CFBL=false
	msg m cfbl.test extra_header='CFBL-Address: fbl@cfbl.test'
	send m
	assert_success
	rec '.complaint_route == "return_path" and .cfbl.honoured == false and .cfbl.reason == "CFBL = false in the config"'
	[ "$(smtp_messages)" -eq 0 ]
	[ "$(counter fbl_return_path_not_sparkpost)" -eq 1 ]
}

@test "DKIM_Check = header: the signatures our Authentication-Results passes count, with the h= of their DKIM-Signature" {
	sink_config DKIM_Check=header
	msg signed cfbl.test extra_header='CFBL-Address: fbl@cfbl.test'
	pmta_authres "$M/signed.eml" "$M/ok.eml" 'sink.test; dkim=pass header.d=cfbl.test'
	send ok
	assert_success
	rec '.dkim == "pass" and .cfbl.honoured and .actions[0].target == "mx.cfbl.test" and .actions[0].status == 250'
	# our header vouching for another domain's signature does not vouch for cfbl.test's
	pmta_authres "$M/signed.eml" "$M/other.eml" 'sink.test; dkim=pass header.d=sender.test'
	send other
	rec '.dkim == "pass" and .cfbl.honoured == false'
	[ "$(jq -r .cfbl.reason <<<"$output")" = "no valid DKIM signature of cfbl.test (the From: domain's organization)" ]
}

@test "--dry-run: the record says where the complaint would go; nothing is sent or counted" {
	msg m cfbl.test extra_header='CFBL-Address: fbl@cfbl.test'
	send m --dry-run
	assert_success
	rec '.complaint_route == "cfbl" and .mx == "mx.cfbl.test" and .actions == [{"type": "fbl", "by": "reader", "target": "mx.cfbl.test"}]'
	[ "$(smtp_messages)" -eq 0 ]
	[ "$(counter fbl_cfbl_sent)" -eq 0 ]
}

@test "no Return-Path: an honoured CFBL-Address still gets the complaint, without Original-Mail-From; without one it is fbl_missing_return_path" {
	sink_config SPF_Required_Direct=false	# (with no MAIL FROM, SPF has no sender to check)
	msg m cfbl.test return_path= extra_header='CFBL-Address: fbl@cfbl.test; report=arf'
	! grep -qi '^Return-Path:' "$M/m.eml" || false
	send m
	assert_success
	rec '.complaint_route == "cfbl" and .cfbl.honoured and .return_path == null'
	delivered_to_cfbl
	[ "$(fact block0.Feedback-Type "$M/f")" = abuse ]
	[ "$(fact block0.Original-Rcpt-To "$M/f")" = '<x@fbl.sink.test>' ]
	[ "$(fact block0.Reported-Domain "$M/f")" = cfbl.test ]
	! grep -q '^block0.Original-Mail-From=' "$M/f" || false
	! grep -q 'smtp.mailfrom' "$M/f" || false

	reset_servers
	msg plain cfbl.test return_path=
	send plain
	assert_success
	rec '.complaint_route == "return_path" and .actions == [] and (.errors | any(test("FBL not sent: no Return-Path")))'
	[ "$(smtp_messages)" -eq 0 ]
	[ "$(counter fbl_missing_return_path)" -eq 1 ]
	[ "$(counter fbl_sent)" -eq 0 ]
}

@test "a complaint that does not run (SPF fails for the fbl. subdomain) has no route and no CFBL verdict in the record" {
	msg m cfbl.test extra_header='CFBL-Address: fbl@cfbl.test'
	run timed filter --client-ip 198.51.100.7 --json <"$M/m.eml"	# not in cfbl.test's SPF record
	assert_success
	rec '.spf == "fail" and .actions == [] and (has("complaint_route") | not) and (has("cfbl") | not)'
	[ "$(counter fail_spf)" -eq 1 ]
}

@test "an honoured CFBL-Address that cannot be delivered to: fbl_smtp_error, no fbl_cfbl_sent, and the reason" {
	# deadmx.test's MX refuses connections
	msg dead deadmx.test from=news@deadmx.test return_path=bounces@deadmx.test extra_header='CFBL-Address: fbl@deadmx.test'
	send dead
	assert_success
	rec '.cfbl.honoured and .actions[0].target == "mx.deadmx.test"'
	[[ $(jq -r '.actions[0].error' <<<"$output") == "no connection: Connection refused"* ]]
	[ "$(counter fbl_smtp_error)" -eq 1 ]
	[ "$(counter fbl_cfbl_sent)" -eq 0 ]
	# a subdomain of cfbl.test that does not exist: honoured (one organization), and nowhere to send
	msg gone cfbl.test extra_header='CFBL-Address: fbl@gone.cfbl.test'
	send gone
	assert_success
	rec '.cfbl.honoured and .actions == []'
	rec '.errors == ["FBL not sent: CFBL-Address domain gone.cfbl.test does not exist"]'
	[ "$(counter fbl_smtp_error)" -eq 2 ]
	[ "$(smtp_messages)" -eq 0 ]
}

# ---- hostile input ------------------------------------------------------------------------------------------

@test "hostile CFBL-Address values are not honoured, each with its reason; the complaint goes out well formed by the Return-Path rule" {
	local line reason long
	long=$(printf 'a%.0s' {1..990})
	# syntax is judged before signatures: DKIM_Check = off, and a Return-Path whose MX is allowlisted
	sink_config DKIM_Check=off
	while IFS='|' read -r line reason; do
		reset_servers
		make_msg "$M/h.0" to=x@fbl.sink.test from=news@cfbl.test return_path=bounces@sender.test
		raw_header "$M/h.0" "$M/h.eml" "$line"
		if [[ $line == *REPEAT* ]]; then
			raw_header "$M/h.eml" "$M/h.1" 'CFBL-Address: fbl@cfbl.test'
			sed -i 's/REPEAT/fbl@esp.test/' "$M/h.1"
			mv "$M/h.1" "$M/h.eml"
		fi
		echo "case: $line"
		send h
		assert_success
		rec '.complaint_route == "return_path" and .cfbl.honoured == false and .cfbl.address == null'
		jq -r .cfbl.reason <<<"$output" | grep -qF -- "$reason"
		[ "$(jq -r '.actions[0].status' <<<"$output")" = 250 ]
		[ "$(smtp_messages)" -eq 1 ]
		facts "$(smtp_eml 1)" >"$M/f"
		[ "$(fact rcpt_tos "$M/f")" = fbl@sparkpostmail.com ]
		[ "$(fact to_addr "$M/f")" = fbl@sparkpostmail.com ]
		assert_not_injected "$M/f" "$(smtp_eml 1)"
		[ "$(counter fbl_cfbl_sent)" -eq 0 ]
	done <<-EOF
		CFBL-Address: fbl@cfbl.test\rBcc: evil@attacker.test|CFBL-Address holds a control character
		CFBL-Address: fbl@cfbl.test\x00Bcc: evil@attacker.test|CFBL-Address holds a control character
		CFBL-Address: =?utf-8?q?fbl=0D=0ABcc:_evil@attacker.test?=@cfbl.test|CFBL-Address is not an addr-spec
		CFBL-Address: "fbl x"@cfbl.test|CFBL-Address has a quoted local part
		CFBL-Address: "fbl"@cfbl.test|CFBL-Address has a quoted local part
		CFBL-Address: $long@cfbl.test|CFBL-Address is longer than an address may be
		CFBL-Address: fbl@$long.test|CFBL-Address is longer than an address may be
		CFBL-Address: fbl@bücher.test|CFBL-Address is not ASCII
		CFBL-Address: fbl@cfbl.test, fbl@esp.test|CFBL-Address holds more than one address
		CFBL-Address: fbl@cfbl.test fbl@esp.test|CFBL-Address holds more than one address
		CFBL-Address: REPEAT|CFBL-Address appears 2 times
		CFBL-Address: <fbl@cfbl.test>|CFBL-Address is not an addr-spec (an address in <> or with a name)
		CFBL-Address: Feedback <fbl@cfbl.test>|CFBL-Address is not an addr-spec
		CFBL-Address: fbl@cfbl.test (feedback)|has something after the address
		CFBL-Address: fbl@cfbl.test; report=json|has something after the address
		CFBL-Address: fbl@cfbl_test.test|has no domain name after the @
		CFBL-Address: fbl@[127.0.0.25]|has no domain name after the @
		CFBL-Address:|CFBL-Address is not an addr-spec
	EOF
}

@test "hostile CFBL-Feedback-ID: repeated or not atext is not honoured, with its reason" {
	local line reason
	while IFS='|' read -r line reason; do
		reset_servers
		make_msg "$M/h.0" to=x@fbl.sink.test from=news@cfbl.test return_path=bounces@sender.test \
			extra_header='CFBL-Address: fbl@cfbl.test'
		raw_header "$M/h.0" "$M/h.1" "$line"
		raw_header "$M/h.1" "$M/h.2" 'CFBL-Feedback-ID: 1'
		[[ $line == *twice* ]] || cp "$M/h.1" "$M/h.2"
		SIGN_HEADERS=$COVER sign_msg "$M/h.2" "$M/h.eml" cfbl.test
		send h
		assert_success
		rec '.dkim == "pass" and .cfbl.honoured == false and .complaint_route == "return_path"'
		jq -r .cfbl.reason <<<"$output" | grep -qF -- "$reason"
		facts "$(smtp_eml 1)" >"$M/f"
		assert_not_injected "$M/f" "$(smtp_eml 1)"
	done <<-EOF
		CFBL-Feedback-ID: 12 twice|CFBL-Feedback-ID appears 2 times
		CFBL-Feedback-ID: <12@x>|CFBL-Feedback-ID holds characters other than atext and ':'
		CFBL-Feedback-ID: "12"|CFBL-Feedback-ID holds characters other than atext and ':'
	EOF
}

@test "no signature at all (DKIM_Check = off) honours no CFBL-Address" {
	sink_config DKIM_Check=off
	msg m - return_path=bounces@sender.test extra_header='CFBL-Address: fbl@cfbl.test'
	send m
	assert_success
	rec '.cfbl.honoured == false and .complaint_route == "return_path" and .dkim_signatures == []'
	[ "$(jq -r .cfbl.reason <<<"$output")" = "no valid DKIM signature of cfbl.test (the From: domain's organization)" ]
	[ "$(facts "$(smtp_eml 1)" | fact rcpt_tos /dev/stdin)" = fbl@sparkpostmail.com ]
}
