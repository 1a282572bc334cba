#!/usr/bin/env bats
# unsubscribe.bats - unsubscribes as Gmail and Yahoo do them (SPEC section 16), end to end: messages signed
# by sender.test over chosen header fields go through the real sink-filter in the mini internet. track.test
# (127.0.0.80) is a tracking host ("Server: msys-http"), web.test (127.0.0.81) an ordinary web site; both log
# each request's method, body, content type, form fields, cookies, Referer and User-Agent to $HTTP_LOG.
# sender.test's MX is the allowlisted smtp.sparkpostmail.com (the SMTP sink); stranger.test's is not
# allowlisted. The test servers speak http only: Unsubscribe_Allow_HTTP is on unless a test says otherwise.
#
# Run: SINK_BUILD=/path/to/build t/netns-run bats t/unsubscribe.bats

load lib/common
load lib/sink

RCPT=reader@unsubscribe.sink.test
# h= of a signature over both fields (and the usual ones); dkimsign's own choice signs List-Unsubscribe only
BOTH=from:to:subject:date:message-id:list-unsubscribe:list-unsubscribe-post
NO_POST=from:to:subject:date:message-id:list-unsubscribe
POST_OK='List-Unsubscribe-Post: List-Unsubscribe=One-Click'
GMAIL_UA='Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/1.0 (KHTML, like Gecko; Gmail Actions)'

setup() {
	reset_servers
	M=$BATS_TEST_TMPDIR
	config
}

# config KEY=VALUE...: the test config (DKIM verified) with http allowed for one-click, plus overrides.
config() {
	sink_config Unsubscribe_Allow_HTTP=true "$@"
}

# with_fields IN OUT FIELD...: IN with each FIELD ("Name: value", as is: folded with "\n\t" if wanted; or
# @FILE: the field is FILE's text) put first among the sender's headers, below the trace headers make_msg
# writes on top.
with_fields() {
	"$PY" - "$@" <<'EOF'
import re, sys
inp, out, *fields = sys.argv[1:]
lines = open(inp, "rb").read().split(b"\n")
n = 0
while n < len(lines) and (re.match(rb"(?i)(return-path|received):", lines[n]) or (n and lines[n][:1] in (b" ", b"\t"))):
    n += 1
add = [open(f[1:], "rb").read().rstrip(b"\n") if f.startswith("@") else f.encode("utf-8", "surrogateescape") for f in fields]
open(out, "wb").write(b"\n".join(lines[:n] + add + lines[n:]))
EOF
}

# msg NAME H FIELD... [-- make_msg key=value ...]: $M/NAME.eml, a message to $RCPT (or to=... after --) with
# the FIELDs, signed by sender.test over H (a colon-separated h=; "default": dkimsign's choice).
# to_cfbl NAME DOMAIN: $M/NAME.raw, unsigned, from news@DOMAIN, its List-Unsubscribe a mailto to leave@cfbl.test
# (cfbl.test's MX is on no allowlist)
to_cfbl() {
	make_msg "$M/$1.plain" to=$RCPT from="news@$2" return_path="bounces@$2"
	with_fields "$M/$1.plain" "$M/$1.raw" 'List-Unsubscribe: <mailto:leave@cfbl.test?subject=x>'
}

msg() {
	local name=$1 h=$2 fields=() args=()
	shift 2
	while (($#)) && [[ $1 != -- ]]; do fields+=("$1"); shift; done
	(($#)) && shift
	args=("$@")
	make_msg "$M/$name.plain" to=$RCPT "${args[@]}"
	with_fields "$M/$name.plain" "$M/$name.raw" "${fields[@]}"
	if [[ $h == default ]]; then
		sign_msg "$M/$name.raw" "$M/$name.eml"
	else
		SIGN_HEADERS=$h sign_msg "$M/$name.raw" "$M/$name.eml"
	fi
}

# send NAME [ARGS...]: sink-filter --json on $M/NAME.eml (under `run`)
send() {
	local name=$1
	shift
	run filter --json --client-ip 192.0.2.10 "$@" <"$M/$name.eml"
}

# requests JQ-FILTER: the logged HTTP requests that match, one compact JSON a line
requests() {
	jq -c "select($1)" "$HTTP_LOG"
}

count_requests() {
	requests "$1" | wc -l
}

@test "an unsubscribe. message signed over both fields gets exactly one RFC 8058 POST: multipart List-Unsubscribe=One-Click, a provider's agent, no cookie, credentials or Referer" {
	msg m "$BOTH" 'List-Unsubscribe: <mailto:leave@sender.test?subject=unsub>, <http://user:secret@track.test/u/1?id=42>' "$POST_OK"
	send m
	assert_success
	jq -e '.class == "unsubscribe" and .route == "subdomain"' <<<"$output"
	jq -e '.one_click.eligible == true and .one_click.reason == null and .one_click.uri == "http://user:secret@track.test/u/1?id=42"' <<<"$output"
	jq -e '.plan.unsubscribe_method == "auto" and .unsubscribe == {"method": "one-click", "target": "http://user:secret@track.test/u/1?id=42"}' <<<"$output"
	jq -e '[.actions[] | .type] == ["unsubscribe_one_click"] and .actions[0].method == "POST" and .actions[0].status == 200 and (.actions[0].error | not)' <<<"$output"
	# one POST, nothing else on that path; the mailto is not used
	assert_equal "$(count_requests '.path | startswith("/u/")')" 1
	post=$(requests '.method == "POST"')
	assert_equal "$(wc -l <<<"$post")" 1
	jq -e '.path == "/u/1?id=42" and .host == "track.test"' <<<"$post"
	jq -e '.form == {"List-Unsubscribe": ["One-Click"]}' <<<"$post"
	jq -e '.content_type | startswith("multipart/form-data; boundary=")' <<<"$post"
	jq -e '.cookie == null and .referer == null and .authorization == null' <<<"$post"
	assert_equal "$(jq -r .user_agent <<<"$post")" "$GMAIL_UA"
	assert_equal "$(smtp_messages)" 0
	assert_equal "$(counter unsubscribe_one_click)" 1
	assert_equal "$(counter one_click_ready)" 1
	assert_equal "$(counter one_click_not_ready)" 0
	assert_equal "$(counter unsubscribe_error)" 0
	log_lines | grep -F 'unsubscribe/subdomain' | grep -qF 'one_click=ready'
}

@test "Unsubscribe_Post_Encoding = urlencoded: the body is exactly List-Unsubscribe=One-Click, application/x-www-form-urlencoded" {
	config Unsubscribe_Post_Encoding=urlencoded
	msg m "$BOTH" 'List-Unsubscribe: <http://track.test/u/2>' "$POST_OK"
	send m
	assert_success
	post=$(requests '.method == "POST"')
	jq -e '.content_type == "application/x-www-form-urlencoded" and .body == "List-Unsubscribe=One-Click"' <<<"$post"
	assert_equal "$(counter unsubscribe_one_click)" 1
}

@test "the same message signed without List-Unsubscribe-Post in h=: no POST, a not_ready verdict naming the field, and the mailto is sent instead" {
	msg m "$NO_POST" 'List-Unsubscribe: <http://track.test/u/3>, <mailto:leave@sender.test?subject=unsub%203>' "$POST_OK"
	send m
	assert_success
	jq -e '.one_click.eligible == false and .one_click.reason == "not_signed"' <<<"$output"
	jq -r .one_click.detail <<<"$output" | grep -F 'the h= of d=sender.test lacks List-Unsubscribe-Post'
	jq -e '.unsubscribe.method == "mailto" and .unsubscribe.target == "leave@sender.test"' <<<"$output"
	assert_equal "$(count_requests '.method == "POST"')" 0
	assert_equal "$(smtp_messages)" 1
	assert_equal "$(counter one_click_not_ready)" 1
	assert_equal "$(counter unsubscribe_mailto)" 1
	log_lines | grep -qF 'one_click=not_ready:not_signed'
	# dkimsign's own choice of fields signs List-Unsubscribe but not List-Unsubscribe-Post: the same verdict
	msg d default 'List-Unsubscribe: <http://track.test/u/3>' "$POST_OK"
	send d
	jq -e '.one_click.reason == "not_signed" and .unsubscribe.method == "link"' <<<"$output"
	assert_equal "$(count_requests '.method == "POST"')" 0
}

@test "a List-Unsubscribe added above a signed one (a signature covers only the last): not one-click eligible, the signed one used, the added one never requested" {
	msg m "$BOTH" 'List-Unsubscribe: <http://track.test/u/1?id=42>' "$POST_OK"
	{ echo 'List-Unsubscribe: <http://track.test/u/added>'; cat "$M/m.eml"; } >"$M/added.eml"
	send added
	assert_success
	jq -e '.dkim == "pass" and .class == "unsubscribe"' <<<"$output"
	jq -e '.one_click.eligible == false and .one_click.reason == "wrong_list_field"' <<<"$output"
	jq -e '.one_click.detail | contains("more than one List-Unsubscribe field")' <<<"$output"
	jq -e '.list_unsubscribe.uris == ["http://track.test/u/1?id=42"]' <<<"$output"
	jq -e '.list_unsubscribe.problems == ["2 List-Unsubscribe fields: the last is read"]' <<<"$output"
	# auto: no one-click, no mailto, so the signed field's link
	jq -e '.unsubscribe == {"method": "link", "target": "http://track.test/u/1?id=42"}' <<<"$output"
	assert_equal "$(count_requests '.path == "/u/1?id=42" and .method == "GET"')" 1
	assert_equal "$(count_requests '(.path | contains("added")) or .method == "POST"')" 0
	assert_equal "$(counter one_click_not_ready)" 1
	assert_equal "$(counter unsubscribe_link)" 1
}

@test "a one-click endpoint that redirects is not followed: one POST, no request where it points, the sender's error" {
	msg m "$BOTH" 'List-Unsubscribe: <http://track.test/redirect/u4>' "$POST_OK"
	send m
	assert_success
	jq -e '.actions[0].type == "unsubscribe_one_click" and .actions[0].status == 302' <<<"$output"
	jq -r '.actions[0].error' <<<"$output" | grep -F "the sender's endpoint redirected a one-click POST to http://127.0.0.81/landed, not followed"
	assert_equal "$(count_requests '.path == "/redirect/u4"')" 1
	assert_equal "$(count_requests '.path == "/landed"')" 0
	assert_equal "$(counter unsubscribe_error)" 1
	assert_equal "$(counter unsubscribe_one_click)" 0
	log_lines | grep -F '!unsubscribe_one_click POST http://track.test/redirect/u4 302'
}

@test "a one-click endpoint that answers 404 is an error, counted" {
	msg m "$BOTH" 'List-Unsubscribe: <http://track.test/status/404>' "$POST_OK"
	send m
	assert_success
	jq -e '.actions[0].status == 404 and .actions[0].error == "HTTP 404"' <<<"$output"
	assert_equal "$(counter unsubscribe_error)" 1
}

@test "mailto only: one mail to the URI's first address with its subject and body, From the recipient, through the allowlisted MX" {
	msg m "$BOTH" 'List-Unsubscribe: <mailto:leave-42@sender.test,other@sender.test?subject=Unsubscribe%20list%2042&body=remove%20me&cc=boss@sender.test>' "$POST_OK"
	send m
	assert_success
	jq -e '.one_click.eligible == false and .one_click.reason == "no_https_uri"' <<<"$output"
	jq -e '.unsubscribe.method == "mailto" and .unsubscribe.target == "leave-42@sender.test"' <<<"$output"
	jq -e '.actions[0].type == "unsubscribe_mailto" and .actions[0].target == "smtp.sparkpostmail.com" and .actions[0].status == 250' <<<"$output"
	assert_equal "$(smtp_messages)" 1
	jq -e '.mail_from == "reader@unsubscribe.sink.test" and .rcpt_tos == ["leave-42@sender.test"]' "$(smtp_json 1)"
	"$PY" - "$(smtp_eml 1)" <<'PYEOF'
import email, email.policy, sys
raw = open(sys.argv[1], "rb").read()
m = email.message_from_bytes(raw, policy=email.policy.default)
assert m["Subject"] == "Unsubscribe list 42", m["Subject"]
assert m["From"].addresses[0].addr_spec == "reader@unsubscribe.sink.test", m["From"]
assert m["To"].addresses[0].addr_spec == "leave-42@sender.test", m["To"]
assert m["Cc"] is None and m["Bcc"] is None
assert m.get_content_type() == "text/plain" and m.get_content().strip() == "remove me", m.get_content()
assert raw.count(b"\n") == raw.count(b"\r\n")
PYEOF
	assert_equal "$(counter unsubscribe_mailto)" 1
	assert_equal "$(wc -c <"$HTTP_LOG")" 0	# nothing requested
}

@test "a mailto to a UTF-8 local part (it needs SMTPUTF8, which the sink does not speak) is not sent: unsubscribe_error, said" {
	msg m "$NO_POST" 'List-Unsubscribe: <mailto:%C3%BCnsub@sender.test?subject=x>'
	send m
	assert_success
	jq -e '.unsubscribe.method == "mailto" and (.actions | length) == 0' <<<"$output"
	jq -e '.errors | any(test("mailto not sent: ünsub@sender.test has a non-ASCII local part"))' <<<"$output"
	assert_equal "$(smtp_messages)" 0
	assert_equal "$(counter unsubscribe_error)" 1
	assert_equal "$(counter unsubscribe_mailto)" 0
}

@test "a mailto of another organization than From:'s goes to its own MX only when both sign List-Unsubscribe (RFC 9477's rule); CFBL = false keeps the allowlist's" {
	to_cfbl o sender.test
	# signed by the address's organization alone: the allowlist's rule, which cfbl.test's MX is not on
	SIGN_HEADERS=from:to:subject:list-unsubscribe sign_msg "$M/o.raw" "$M/o1.eml" cfbl.test
	send o1
	assert_success
	jq -e '.unsubscribe.method == "mailto" and (.actions | length) == 0' <<<"$output"
	assert_equal "$(smtp_messages)" 0
	assert_equal "$(counter unsubscribe_url_not_sparkpost)" 1
	# and by From:'s too: to cfbl.test's own MX
	reset_servers
	SIGN_HEADERS=from:to:subject:list-unsubscribe sign_msg "$M/o1.eml" "$M/o2.eml" sender.test
	send o2
	assert_success
	jq -e '.actions[0].type == "unsubscribe_mailto" and .actions[0].target == "mx.cfbl.test" and
		.actions[0].status == 250' <<<"$output"
	assert_equal "$(smtp_messages)" 1
	assert_equal "$(counter unsubscribe_mailto)" 1
	# CFBL = false: the allowlist's rule only
	reset_servers
	config CFBL=false
	send o2
	assert_success
	jq -e '(.actions | length) == 0' <<<"$output"
	assert_equal "$(smtp_messages)" 0
	assert_equal "$(counter unsubscribe_url_not_sparkpost)" 1
}

@test "a mailto whose domain's MX is not allowlisted sends nothing: unsubscribe_url_not_sparkpost" {
	msg m "$BOTH" 'List-Unsubscribe: <mailto:leave@stranger.test?subject=x>'
	send m
	assert_success
	jq -e '.unsubscribe.method == "mailto" and (.actions | length) == 0' <<<"$output"
	jq -r '.errors[]' <<<"$output" | grep -F 'unsubscribe mailto not sent: mailto domain stranger.test has MX mx.stranger.test, not an allowlisted MX'
	assert_equal "$(smtp_messages)" 0
	assert_equal "$(counter unsubscribe_url_not_sparkpost)" 1
}

@test "a mailto the sender signed for its own organization's address goes to that domain's MX, as a CFBL-Address, not by the allowlist" {
	# cfbl.test's MX is on no allowlist; its messages are signed by cfbl.test
	to_cfbl c cfbl.test
	SIGN_HEADERS=from:to:subject:list-unsubscribe sign_msg "$M/c.raw" "$M/c.eml" cfbl.test
	send c
	assert_success
	jq -e '.unsubscribe.method == "mailto" and .actions[0].type == "unsubscribe_mailto" and
		.actions[0].target == "mx.cfbl.test" and .actions[0].status == 250' <<<"$output"
	jq -r '.notes[]' <<<"$output" | grep -qxF "unsubscribe mailto: List-Unsubscribe signed for cfbl.test by the From: domain's organization (and the address's, when another): to its own MX, not the allowlist's"
	assert_equal "$(smtp_messages)" 1
	assert_equal "$(jq -c .rcpt_tos "$(smtp_eml 1 | sed 's/\.eml$/.json/')")" '["leave@cfbl.test"]'
	assert_equal "$(counter unsubscribe_mailto)" 1
	# the same signature without List-Unsubscribe in its h=: the allowlist's rule, which cfbl.test's MX is not on
	reset_servers
	SIGN_HEADERS=from:to:subject sign_msg "$M/c.raw" "$M/c2.eml" cfbl.test
	send c2
	assert_success
	jq -e '(.actions | length) == 0' <<<"$output"
	assert_equal "$(smtp_messages)" 0
	assert_equal "$(counter unsubscribe_url_not_sparkpost)" 1
}

@test "link: a GET of the first http(s) List-Unsubscribe URI with the message's User-Agent, redirects followed as a click's" {
	msg m "$NO_POST" 'List-Unsubscribe: <http://track.test/hops/1/u5>, <http://track.test/u/other>'
	send m --seed 5
	assert_success
	jq -e '.unsubscribe.method == "link" and .unsubscribe.target == "http://track.test/hops/1/u5"' <<<"$output"
	jq -e '.actions[0].type == "unsubscribe_link" and .actions[0].status == 200 and (.actions[0].hops | length) == 1' <<<"$output"
	ua=$(jq -r .user_agent <<<"$output")
	[[ -n $ua && $ua != null && $ua != "$GMAIL_UA" ]]
	assert_equal "$(count_requests '(.path | test("u5")) and .method == "GET"')" 2
	assert_equal "$(requests '.path | test("u5")' | jq -r .user_agent | sort -u)" "$ua"
	assert_equal "$(count_requests '.path == "/u/other" or .method == "POST"')" 0
	assert_equal "$(counter unsubscribe_link)" 1
}

@test "link from the HTML body: the data-msys-unsubscribe link, else the one whose text says unsubscribe" {
	html='<p><a href="http://track.test/read">Read</a> <a href="http://track.test/u/text">Unsubscribe</a>
		<a data-msys-unsubscribe="1" href="http://track.test/u/marked">leave this list</a></p>'
	msg m "$BOTH" -- html="$html"
	send m
	assert_success
	jq -e 'has("one_click") | not' <<<"$output"	# no List-Unsubscribe: no verdict
	jq -e '.plan.unsubscribe_method == "auto" and .unsubscribe == {"method": "link", "target": "http://track.test/u/marked"}' <<<"$output"
	assert_equal "$(count_requests '.path == "/u/marked"')" 1
	reset_servers
	msg t "$BOTH" -- html="${html/data-msys-unsubscribe=\"1\" /}"
	send t
	jq -e '.unsubscribe.target == "http://track.test/u/text"' <<<"$output"
	assert_equal "$(count_requests '.path == "/u/text"')" 1
	assert_equal "$(counter one_click_ready)" 0
	assert_equal "$(counter one_click_not_ready)" 0
}

@test "a URL not on a tracking host is never requested, whatever the method (only the probe asks the host what it is)" {
	msg m "$BOTH" 'List-Unsubscribe: <http://web.test/u/6>' "$POST_OK"
	send m
	assert_success
	jq -e '.one_click.eligible and .unsubscribe.method == "one-click" and (.actions | length) == 0' <<<"$output"
	jq -r '.errors[]' <<<"$output" | grep -F 'unsubscribe one-click not requested: http://web.test is not a tracking host'
	assert_equal "$(requests '.host == "web.test"' | jq -r .path)" /f/a
	assert_equal "$(counter unsubscribe_url_not_sparkpost)" 1
	config Unsubscribe_Method=link
	reset_servers
	send m
	jq -e '.unsubscribe.method == "link" and (.actions | length) == 0' <<<"$output"
	assert_equal "$(count_requests '.path == "/u/6"')" 0
	assert_equal "$(counter unsubscribe_url_not_sparkpost)" 1
}

@test "one-click goes to https only: an http URI is not eligible unless Unsubscribe_Allow_HTTP" {
	config Unsubscribe_Allow_HTTP=false
	msg m "$BOTH" 'List-Unsubscribe: <http://track.test/u/7>' "$POST_OK"
	send m
	assert_success
	jq -e '.one_click.eligible == false and .one_click.reason == "no_https_uri" and .one_click.uri == null' <<<"$output"
	jq -e '.unsubscribe.method == "link"' <<<"$output"	# the link is still a reader's to follow
	assert_equal "$(count_requests '.method == "POST"')" 0
}

@test "Unsubscribe_Method forces one method: mailto or link on an eligible message; one-click on one that is not eligible is none" {
	msg m "$BOTH" 'List-Unsubscribe: <http://track.test/u/8>, <mailto:leave@sender.test?subject=forced>' "$POST_OK"
	config Unsubscribe_Method=mailto
	send m
	jq -e '.plan.unsubscribe_method == "mailto" and .unsubscribe == {"method": "mailto", "target": "leave@sender.test"}' <<<"$output"
	assert_equal "$(smtp_messages)" 1
	assert_equal "$(count_requests '.path == "/u/8"')" 0
	config Unsubscribe_Method=link
	reset_servers
	send m
	jq -e '.unsubscribe.method == "link"' <<<"$output"
	assert_equal "$(count_requests '.path == "/u/8" and .method == "GET"')" 1
	assert_equal "$(smtp_messages)" 0
	config Unsubscribe_Method=one-click
	reset_servers
	msg n "$NO_POST" 'List-Unsubscribe: <http://track.test/u/8>, <mailto:leave@sender.test>' "$POST_OK"
	send n
	assert_success
	jq -e '.plan.unsubscribe_method == "one-click" and .unsubscribe == {"method": "none", "target": null}' <<<"$output"
	jq -r '.errors[]' <<<"$output" | grep -F 'unsubscribe: no usable method: one-click: not covered by a passing DKIM signature'
	assert_equal "$(wc -c <"$HTTP_LOG")" 0
	assert_equal "$(smtp_messages)" 0
	assert_equal "$(counter unsubscribe_none)" 1
}

@test "--dry-run shows the verdict and the method it would use, and sends, fetches and counts nothing" {
	msg m "$BOTH" 'List-Unsubscribe: <http://track.test/u/9>' "$POST_OK"
	send m --dry-run
	assert_success
	jq -e '.dry_run and .one_click.eligible and .unsubscribe.method == "one-click"' <<<"$output"
	jq -e '.actions == [{"type": "unsubscribe_one_click", "by": "reader", "method": "POST", "target": "http://track.test/u/9"}]' <<<"$output"
	msg n "$BOTH" 'List-Unsubscribe: <mailto:leave@sender.test?subject=dry>'
	send n --dry-run
	jq -e '.unsubscribe.method == "mailto" and .actions[0].type == "unsubscribe_mailto" and .actions[0].target == "smtp.sparkpostmail.com" and (.actions[0].status | not)' <<<"$output"
	assert_equal "$(wc -c <"$HTTP_LOG")" 0
	assert_equal "$(smtp_messages)" 0
	assert_equal "$(rcli --scan --pattern '*int_*' | wc -l)" 0
}

@test "the one-click verdict for every message with List-Unsubscribe, whatever its class: in the record, the log line and the counters" {
	local cases=(
		# name|recipient|h=|List-Unsubscribe|List-Unsubscribe-Post|reason ("-": ready)|a word of the detail
		"ready|a1@accept.sink.test|$BOTH|<https://track.test/u/1>|List-Unsubscribe=One-Click|-|d=sender.test signs both fields"
		"mailto only|a2@accept.sink.test|$BOTH|<mailto:leave@sender.test>|List-Unsubscribe=One-Click|no_https_uri|List-Unsubscribe has no http(s) URI"
		"no Post field|a3@accept.sink.test|$BOTH|<https://track.test/u/1>||no_post_field|no List-Unsubscribe-Post field"
		"wrong Post field|a4@accept.sink.test|$BOTH|<https://track.test/u/1>|List-Unsubscribe=One-click|wrong_post_field|not exactly"
		"Post not signed|a5@accept.sink.test|$NO_POST|<https://track.test/u/1>|List-Unsubscribe=One-Click|not_signed|lacks List-Unsubscribe-Post"
		"neither signed|a6@accept.sink.test|from:to:subject|<https://track.test/u/1>|List-Unsubscribe=One-Click|not_signed|lacks List-Unsubscribe, List-Unsubscribe-Post"
	)
	local c name rcpt h lu post reason word ready=0 not_ready=0
	for c in "${cases[@]}"; do
		IFS='|' read -r name rcpt h lu post reason word <<<"$c"
		fields=("List-Unsubscribe: $lu")
		[[ -n $post ]] && fields+=("List-Unsubscribe-Post: $post")
		msg "c" "$h" "${fields[@]}" -- to="$rcpt"
		send c
		assert_success
		echo "case $name: $(jq -c .one_click <<<"$output")"
		jq -e '.class == "accept"' <<<"$output"
		if [[ $reason == - ]]; then
			jq -e '.one_click.eligible == true and .one_click.reason == null' <<<"$output"
			log_lines | grep -F ",$rcpt," | grep -qF ',one_click=ready'
			ready=$((ready + 1))
		else
			jq -e --arg r "$reason" '.one_click.eligible == false and .one_click.reason == $r' <<<"$output"
			log_lines | grep -F ",$rcpt," | grep -qF ",one_click=not_ready:$reason"
			not_ready=$((not_ready + 1))
		fi
		jq -r .one_click.detail <<<"$output" | grep -qF -- "$word"
	done
	# a message that fails DKIM (its body changed after signing) still gets its verdict
	msg f "$BOTH" 'List-Unsubscribe: <https://track.test/u/1>' "$POST_OK" -- to=a7@accept.sink.test
	sed -i 's/Hello from the test sender/Hello from someone else/' "$M/f.eml"
	send f
	jq -e '.dkim != "pass" and .class == null and .one_click.reason == "no_dkim_pass"' <<<"$output"
	not_ready=$((not_ready + 1))
	# other classes get it too (--dry-run: nothing sent, nothing counted)
	for rcpt in x@oob.sink.test x@fbl.sink.test x@openclick.sink.test; do
		msg o "$BOTH" 'List-Unsubscribe: <https://track.test/u/1>' "$POST_OK" -- to=$rcpt
		send o --dry-run
		jq -e '.one_click.eligible' <<<"$output"
	done
	assert_equal "$(counter one_click_ready)" $ready
	assert_equal "$(counter one_click_not_ready)" $not_ready
	assert_equal "$(counter accept)" ${#cases[@]}
	assert_equal "$(wc -c <"$HTTP_LOG")" 0	# an accepted message requests nothing
}

@test "DKIM_Check = header: the signature whose d= our Authentication-Results passed decides the verdict" {
	config DKIM_Check=header
	for h in "$BOTH" "$NO_POST"; do
		msg m "$h" 'List-Unsubscribe: <https://track.test/u/1>' "$POST_OK" -- to=h@accept.sink.test
		pmta_authres "$M/m.eml" "$M/ar.eml" "sink.test; dkim=pass header.d=sender.test header.s=sel1"
		send ar
		assert_success
		jq -e '.dkim == "pass" and .dkim_detail == "Authentication-Results"' <<<"$output"
		if [[ $h == "$BOTH" ]]; then
			jq -e '.one_click.eligible' <<<"$output"
		else
			jq -e '.one_click.reason == "not_signed"' <<<"$output"
			jq -r .one_click.detail <<<"$output" | grep -F 'the h= of d=sender.test lacks List-Unsubscribe-Post'
		fi
	done
	# a signature of a domain our Authentication-Results does not name vouches for nothing
	msg m "$BOTH" 'List-Unsubscribe: <https://track.test/u/1>' "$POST_OK" -- to=h@accept.sink.test
	pmta_authres "$M/m.eml" "$M/ar.eml" "sink.test; dkim=pass header.d=other.test"
	send ar
	jq -e '.dkim == "pass" and .one_click.reason == "not_signed"' <<<"$output"
	# two signatures of one domain, one passed and one failed: which is not known, so neither lends its h= (a
	# forged one naming both fields beside a good one that does not)
	msg m "$NO_POST" 'List-Unsubscribe: <https://track.test/u/1>' "$POST_OK" -- to=h@accept.sink.test
	{ echo "DKIM-Signature: v=1; a=rsa-sha256; d=sender.test; s=sel1; h=$BOTH; bh=AAAA; b=AAAA"; cat "$M/m.eml"; } \
		>"$M/forged.eml"
	pmta_authres "$M/forged.eml" "$M/ar.eml" "sink.test; dkim=pass header.d=sender.test; dkim=fail header.d=sender.test"
	send ar
	jq -e '.dkim == "pass" and .one_click.reason == "not_signed" and .dkim_signatures == []' <<<"$output"
	# both passed: both taken
	pmta_authres "$M/forged.eml" "$M/ar.eml" "sink.test; dkim=pass header.d=sender.test; dkim=pass header.d=sender.test"
	send ar
	jq -e '.one_click.eligible and (.dkim_signatures | length) == 2' <<<"$output"
}

@test "a message without List-Unsubscribe gets no verdict, no counter, no log field" {
	make_msg "$M/p.raw" to=plain@accept.sink.test
	sign_msg "$M/p.raw" "$M/p.eml"
	send p
	assert_success
	jq -e '(has("one_click") or has("list_unsubscribe")) | not' <<<"$output"
	assert_equal "$(counter one_click_ready)$(counter one_click_not_ready)" 00
	! log_lines | grep -q one_click || false
}

@test "bad input gets a clear record entry and nothing else: no brackets, 10,000 URIs, javascript: and data:, a mailto with CR/LF or NUL, 100 KB, an IDN host" {
	"$PY" -c 'print("List-Unsubscribe: " + ",\n ".join("<http://track.test/u/%d>" % i for i in range(10000)))' >"$M/many"
	"$PY" -c 'print("List-Unsubscribe: <https://track.test/u/" + "x" * 102400 + ">")' >"$M/huge"
	printf 'List-Unsubscribe: <https://b\xc3\xbccher.test/u/1>' >"$M/idn"
	local cases=(
		"List-Unsubscribe: https://track.test/u/1, mailto:leave@sender.test|does not start with a <URI> (RFC 2369)"
		"@$M/many|more than 16384: not read"
		"List-Unsubscribe: <javascript:fetch('http://track.test/u/js')>, <data:text/html,x>|a javascript: URI is not used"
		"List-Unsubscribe: <mailto:leave@sender.test?subject=x%0D%0ABcc:%20all@sender.test>|its subject holds CR, LF, NUL"
		"List-Unsubscribe: <mailto:leave@sender.test?subject=x&body=a%00b>|its body holds a NUL"
		"@$M/huge|bytes long, more than 16384: not read"
		"@$M/idn|has non-ASCII characters (an IDN host is written in A-labels"
	)
	local c field want h n=0
	for c in "${cases[@]}"; do
		field=${c%%|*} want=${c#*|} h=$BOTH
		# libopendkim fails a signature over a field past 64 KB (python3-dkim does not): sign the others
		[[ $field == @* ]] && h=from:to:subject:list-unsubscribe-post
		msg b "$h" "$field" "$POST_OK"
		send b
		assert_success
		echo "case: $want"
		jq -e '.exit == 0 and .class == "unsubscribe" and .unsubscribe.method == "none" and (.actions | length) == 0' <<<"$output"
		jq -e '.one_click.eligible == false' <<<"$output"
		jq -r '.list_unsubscribe.problems[]' <<<"$output" | grep -F -- "$want"
		log_lines | tail -1 | grep -qF -- "$want"
		n=$((n + 1))
	done
	assert_equal "$(wc -c <"$HTTP_LOG")" 0
	assert_equal "$(smtp_messages)" 0
	assert_equal "$(counter unsubscribe_none)" $n
	# the javascript:/data: case says both
	msg b "$BOTH" "${cases[2]%%|*}"
	send b
	jq -r '.list_unsubscribe.problems[]' <<<"$output" | grep -F 'a data: URI is not used'
}

@test "the mix: Unsubscribe_percent = 100 makes every mix message an unsubscribe" {
	config Upstream_Handled=0 OOB_percent=0 FBL_percent=0 Unsubscribe_percent=100
	msg m "$BOTH" 'List-Unsubscribe: <http://track.test/u/mix>' "$POST_OK" -- to=someone@mix.sink.test
	send m --seed 7
	assert_success
	jq -e '.class == "unsubscribe" and .route == "mix" and .unsubscribe.method == "one-click"' <<<"$output"
	assert_equal "$(count_requests '.method == "POST" and .path == "/u/mix"')" 1
}

@test "sink-stats shows every unsubscribe counter in JSON, Prometheus and HTML" {
	msg ok "$BOTH" 'List-Unsubscribe: <http://track.test/u/s1>' "$POST_OK"		# unsubscribe_one_click, one_click_ready
	msg mail "$BOTH" 'List-Unsubscribe: <mailto:leave@sender.test>'			# unsubscribe_mailto, one_click_not_ready
	msg link "$NO_POST" 'List-Unsubscribe: <http://track.test/u/s2>' "$POST_OK"	# unsubscribe_link
	msg err "$BOTH" 'List-Unsubscribe: <http://track.test/status/500>' "$POST_OK"	# unsubscribe_error
	msg none "$BOTH" 'List-Unsubscribe: <ftp://track.test/u>'			# unsubscribe_none
	msg web "$BOTH" 'List-Unsubscribe: <http://web.test/u/s3>' "$POST_OK"		# unsubscribe_url_not_sparkpost
	for m in ok mail link err none web; do
		send $m
		assert_success
	done
	run "$SINK_STATS" -c "$SINK_INI" --json
	assert_success
	jq -e '.unsubscribe_one_click == 1 and .unsubscribe_mailto == 1 and .unsubscribe_link == 1 and .unsubscribe_error == 1
		and .unsubscribe_none == 1 and .unsubscribe_url_not_sparkpost == 1 and .one_click_ready == 3 and .one_click_not_ready == 3' <<<"$output"
	run "$SINK_STATS" -c "$SINK_INI" --prometheus
	assert_success
	for c in unsubscribe_one_click unsubscribe_mailto unsubscribe_link unsubscribe_error unsubscribe_none unsubscribe_url_not_sparkpost; do
		grep -qx "bouncy_sink_events_total{results_key=\"0\",event=\"$c\"} 1" <<<"$output"
	done
	grep -qx 'bouncy_sink_events_total{results_key="0",event="one_click_ready"} 3' <<<"$output"
	run "$SINK_STATS" -c "$SINK_INI" --html
	assert_success
	for c in unsubscribe_one_click unsubscribe_mailto unsubscribe_link unsubscribe_error unsubscribe_none unsubscribe_url_not_sparkpost one_click_ready one_click_not_ready; do
		grep -qF "$c" <<<"$output"
	done
}

@test "a scanner persona looks at the List-Unsubscribe link first (HEAD, GET, its own agent); the reader's one POST follows" {
	config Scanner_percent=100
	msg m "$BOTH" 'List-Unsubscribe: <http://track.test/u/scan?id=1>' "$POST_OK"
	send m
	assert_success
	jq -e '.class == "unsubscribe" and .persona == ["scanner"] and .unsubscribe.method == "one-click"' <<<"$output"
	assert_equal "$(jq -c '[.actions[] | select(.target | test("/u/scan")) | [.type, .by, .method]]' <<<"$output")" \
		'[["click","scanner","HEAD"],["click","scanner","GET"],["unsubscribe_one_click","reader","POST"]]'
	assert_equal "$(count_requests '.path == "/u/scan?id=1" and .method == "POST"')" 1
	assert_equal "$(requests '.method == "POST"' | jq -r .user_agent)" "$GMAIL_UA"
	scanner_ua=$(jq -r .scanner_user_agent <<<"$output")
	assert_equal "$(requests '.path == "/u/scan?id=1" and .method != "POST"' | jq -r .user_agent | sort -u)" "$scanner_ua"
	assert_equal "$(counter unsubscribe_one_click)" 1
}

@test "with DKIM_Sign_* the mailto unsubscribe goes out DKIM-signed, as a mailbox provider's mail does, and verifies" {
	SINK_SIGNING=1 config
	msg m "$BOTH" 'List-Unsubscribe: <mailto:leave@sender.test?subject=signed>'
	send m
	assert_success
	jq -e '.unsubscribe.method == "mailto" and .actions[0].status == 250' <<<"$output"
	assert_equal "$(smtp_messages)" 1
	head -c 200 "$(smtp_eml 1)" | grep -q '^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=sink.test; s=sink1;'
	run dkim_verify "$(smtp_eml 1)"
	assert_output 'signature ok'
}
