#!/usr/bin/env bats
# directives.bats - outcomes on demand (SPEC section 19), end to end: keyword local parts (bounce@,
# complaint+label@, ...) and the X-Bouncy-Sink directives each give their one outcome under 20 seeds (a
# choice, not a draw), observed in the mini internet: the report the SMTP sink receives (a bounce's Status,
# a complaint's Feedback-Type), the pixel and link requests the tracking host sees, the counters in Redis,
# and the record's class, route and plan. Then the precedence (subdomain > header > local part > mix) in
# each combination, the +label in the log, the bounds on a hostile header, and a message that fails DKIM
# obeying nothing.
#
# Run: SINK_BUILD=/path/to/build t/netns-run bats t/directives.bats

load lib/common
load lib/sink
load lib/checks

# A spread mix: over 20 seeds it gives every class, so one outcome over 20 seeds shows a choice.
SPREAD=(Upstream_Handled=0 OOB_percent=25 FBL_percent=25 Open_percent=25 Open_Again_percent=12 Click_percent=12
	Click_Again_percent=6 Weekly_Cycle_Open_Rate=1,1,1,1,1,1,1)
# Two pixels and two links on the tracking host.
HTML='<html><body><img src="http://track.test/q/p1"><img src="http://track.test/q/p2">
<a href="http://track.test/l/1">one</a> <a href="http://track.test/l/2">two</a></body></html>'
COUNTERS=(accept oob_sent fbl_sent open open_again click click_again)

setup() {
	reset_servers
	MSG=$BATS_TEST_TMPDIR/msg.eml
	config
}

# config KEY=VALUE...: the test config (DKIM off, the spread mix, track.test trusted), plus overrides.
config() {
	sink_config DKIM_Check=off Tracking_Domains_Allowlist=track.test "${SPREAD[@]}" "$@"
}

# msg [make_msg key=value ...]: $MSG with the two pixels and two links
msg() {
	make_msg "$MSG" html="$HTML" "$@"
}

# header_raw: insert stdin (raw header lines, control characters and all) above the To: line of $MSG.
header_raw() {
	"$PY" -c '
import sys
path, text = sys.argv[1], sys.stdin.buffer.read()
data = open(path, "rb").read()
i = data.index(b"\nTo: ") + 1
open(path, "wb").write(data[:i] + text + data[i:])' "$MSG"
}

# outcome RECORD: set $got to what the last run did, in one line, from what changed since the run before
# it (few processes a run: twenty runs many):
#   <class>/<route> plan=<class>:<persona>:<opens>:<clicks>:<feedback type> label=<label>
#   smtp=<reports received>:<the last one's Status or Feedback-Type> http=<pixel GETs>:<link GETs>
#   redis=<accept>,<oob_sent>,<fbl_sent>,<open>,<open_again>,<click>,<click_again>
outcome() {
	local report=- files lines vals keys=() counts= p=0 l=0 i c
	files=("$SMTP_SPOOL"/*.eml)
	[[ -e ${files[0]} ]] || files=()
	if ((${#files[@]} > seen_smtp)); then
		report=$(grep -m1 -aoE '^(Feedback-Type: [a-z-]+|Status: [0-9.]+)' "${files[-1]}" | tr -d ' ')
	fi
	mapfile -t lines <"$HTTP_LOG"
	for ((i = seen_http; i < ${#lines[@]}; i++)); do
		[[ ${lines[i]} =~ \"path\":\ \"/q/p[0-9]\" ]] && p=$((p + 1))
		[[ ${lines[i]} =~ \"path\":\ \"/l/[0-9]\" ]] && l=$((l + 1))
	done
	for c in "${COUNTERS[@]}"; do keys+=("consume-mail:0:int_$c"); done
	mapfile -t vals < <(rcli MGET "${keys[@]}")
	for i in "${!COUNTERS[@]}"; do counts+="${counts:+,}$((${vals[i]:-0} - ${seen_redis[i]:-0}))"; done
	[[ $1 =~ $RECORD_RE ]] || fail "not a decision record with a plan: $1"
	local r=("${BASH_REMATCH[@]}")
	printf -v got '%s/%s plan=%s:%s:%s:%s:%s label=%s smtp=%s:%s http=%s:%s redis=%s' \
		"${r[1]}" "${r[2]}" "${r[5]}" "${r[6]}" "${r[7]}" "${r[8]}" "${r[11]:--}" "${r[4]:--}" \
		$((${#files[@]} - seen_smtp)) "$report" "$p" "$l" "$counts"
	seen_smtp=${#files[@]} seen_http=${#lines[@]} seen_redis=("${vals[@]}")
}

# The record's class, route, label and plan (a regular expression: jq would cost more than the run).
RECORD_RE='"class":"([a-z]+)","route":"([a-z]+)","label":(null|"([^"]*)"),"plan":\{"class":"([a-z]+)","route":"[a-z]+",'
RECORD_RE+='"label":[^,]*,"persona":"([a-z]+)","opens":([0-9]+),"clicks":([0-9]+),"steps_chosen":(true|false),'
RECORD_RE+='"feedback_type":(null|"([a-z-]+)")'

# twenty WANT: run $MSG with seeds 1 to 20 (as PMTA would: client IP in sender.test's SPF range); every
# run's outcome must be WANT. The last run's record is left in $output.
twenty() {
	local seed
	reset_servers
	seen_smtp=0 seen_http=0 seen_redis=()
	for ((seed = 1; seed <= 20; seed++)); do
		output=$(filter --json --seed "$seed" --client-ip 192.0.2.10 <"$MSG") || fail "seed $seed: exit $?"
		outcome "$output"
		[[ $got == "$1" ]] || fail "seed $seed: $got
                      expected: $1"
	done
}

# ---- keyword local parts: each the same outcome under 20 seeds, the label kept ---------------------------

ACCEPT="smtp=0:- http=0:0 redis=1,0,0,0,0,0,0"
BOUNCED="smtp=1:Status:5.1.1 http=0:0 redis=0,1,0,0,0,0,0"
AUTOREPLIED="smtp=1: http=0:0 redis=0,0,0,0,0,0,0"	# (a reply has no Status or Feedback-Type)
complained() { echo "smtp=1:Feedback-Type:$1 http=0:0 redis=0,0,1,0,0,0,0"; }

@test "success@ and accept@: accepted, nothing sent or fetched" {
	for kw in success accept; do
		msg to=$kw+ci-42@mix.sink.test
		twenty "accept/localpart plan=accept:none:0:0:- label=ci-42 $ACCEPT"
	done
}

@test "bounce@ and oob@: one RFC 3464 user-unknown bounce" {
	for kw in bounce oob; do
		msg to=$kw+ci-42@mix.sink.test
		twenty "oob/localpart plan=oob:none:0:0:- label=ci-42 $BOUNCED"
	done
}

@test "complaint@, spam@ and fbl@: one abuse complaint" {
	for kw in complaint spam fbl; do
		msg to=$kw+ci-42@mix.sink.test
		twenty "fbl/localpart plan=fbl:none:0:0:abuse label=ci-42 $(complained abuse)"
	done
}

@test "fraud@, virus@ and not-spam@: one complaint with that Feedback-Type" {
	for kw in fraud virus not-spam; do
		msg to=$kw+ci-42@mix.sink.test
		twenty "fbl/localpart plan=fbl:none:0:0:$kw label=ci-42 $(complained $kw)"
	done
}

@test "open@: the pixels fetched once, no click" {
	msg to=open+ci-42@mix.sink.test
	twenty "openclick/localpart plan=openclick:none:1:0:- label=ci-42 smtp=0:- http=2:0 redis=0,0,0,1,0,0,0"
}

@test "click@: the pixels fetched once, then the links once" {
	msg to=click+ci-42@mix.sink.test
	twenty "openclick/localpart plan=openclick:none:1:1:- label=ci-42 smtp=0:- http=2:2 redis=0,0,0,1,0,1,0"
	assert_equal "$(jq -r '[.actions[].type] | join(" ")' <<<"$output")" "open open click click"
}

# The List-Unsubscribe fields of a message that offers all three ways to unsubscribe (one-click over http: the
# test servers speak http only, Unsubscribe_Allow_HTTP allows it).
UNSUB=('extra_header=List-Unsubscribe: <http://track.test/u/oc>, <mailto:leave@sender.test?subject=unsub>'
	'extra_header=List-Unsubscribe-Post: List-Unsubscribe=One-Click')
UNSUBSCRIBED="smtp=0:- http=0:0 redis=0,0,0,0,0,0,0"

@test "unsubscribe@: the reader unsubscribes, one-click as a mailbox provider would, every seed" {
	config Unsubscribe_Allow_HTTP=true
	msg to=unsubscribe+ci-42@mix.sink.test "${UNSUB[@]}"
	twenty "unsubscribe/localpart plan=unsubscribe:none:0:0:- label=ci-42 $UNSUBSCRIBED"
	jq -e '.plan.unsubscribe_method == "auto" and .plan.notes == [] and .unsubscribe.method == "one-click"' <<<"$output"
	assert_equal "$(jq -c 'select(.method == "POST") | .path' "$HTTP_LOG" | sort | uniq -c | tr -s ' ')" ' 20 "/u/oc"'
	assert_equal "$(counter unsubscribe_one_click)" 20
}

@test "ooto@ and autoreply@: an out-of-office reply to the Return-Path, every time with Autoreply_Interval_Days = 0" {
	config Autoreply_Interval_Days=0
	for kw in ooto autoreply; do
		msg to=$kw+ci-42@mix.sink.test
		twenty "autoreply/localpart plan=autoreply:none:0:0:- label=ci-42 $AUTOREPLIED"
		jq -e '.plan.notes == [] and .plan.unsubscribe_method == null and .counters == ["autoreply_sent"]' <<<"$output"
	done
	run log_lines
	assert_output --partial ",autoreply/localpart,label=ci-42,dkim=pass,autoreply smtp.sparkpostmail.com 250 "
}

@test "mpp@ and scanner@: the mailbox's persona does its machine traffic; the reader does nothing" {
	msg to=mpp+ci-42@mix.sink.test	# Apple's proxy: each of the two pixels once
	twenty "accept/localpart plan=accept:mpp:0:0:- label=ci-42 smtp=0:- http=2:0 redis=1,0,0,0,0,0,0"
	jq -e '.plan.notes == [] and .persona == ["mpp"]' <<<"$output"
	msg to=scanner+ci-42@mix.sink.test	# the gateway: a HEAD and a GET of each of the two links
	twenty "accept/localpart plan=accept:scanner:0:0:- label=ci-42 smtp=0:- http=0:4 redis=1,0,0,0,0,0,0"
	jq -e '.plan.notes == [] and .persona == ["scanner"]' <<<"$output"
}

@test "keywords match in any case, on any subdomain that is not a route, and on the bare domain" {
	for to in BOUNCE@mix.sink.test Bounce+X@a.b.sink.test bounce@sink.test; do
		msg to=$to
		twenty "oob/localpart plan=oob:none:0:0:- label=$([[ $to == *+X* ]] && echo X || echo -) $BOUNCED"
	done
}

@test "a Signals address keeps its meaning: its prefix is never read as a keyword" {
	config Signals_Traffic_Prefix=bounce
	msg to=bounce+1232@mix.sink.test
	local seed routes=""
	for seed in 1 2 3 4 5 6 7 8; do
		run filter --json --dry-run --seed $seed --client-ip 192.0.2.10 <"$MSG"
		routes+=$(jq -r '"\(.route) "' <<<"$output")
	done
	assert_equal "$routes" "mix mix mix mix mix mix mix mix "
}

# ---- the X-Bouncy-Sink directives: each the same outcome under 20 seeds ------------------------------

@test "X-Bouncy-Sink: accept, oob, fbl: that class, whatever the mix would draw" {
	msg to=x@mix.sink.test 'extra_header=X-Bouncy-Sink: accept'
	twenty "accept/header plan=accept:none:0:0:- label=- $ACCEPT"
	msg to=x@mix.sink.test 'extra_header=X-Bouncy-Sink: oob'
	twenty "oob/header plan=oob:none:0:0:- label=- $BOUNCED"
	msg to=x@mix.sink.test 'extra_header=X-Bouncy-Sink: FBL'
	twenty "fbl/header plan=fbl:none:0:0:abuse label=- $(complained abuse)"
}

@test "X-Bouncy-Sink: open opens once; click opens once and clicks once; openclick names the class, with the model's steps as x@openclick." {
	msg to=x@mix.sink.test 'extra_header=X-Bouncy-Sink: open'
	twenty "openclick/header plan=openclick:none:1:0:- label=- smtp=0:- http=2:0 redis=0,0,0,1,0,0,0"
	msg to=x@mix.sink.test "extra_header=X-Bouncy-Sink: click"
	twenty "openclick/header plan=openclick:none:1:1:- label=- smtp=0:- http=2:2 redis=0,0,0,1,0,1,0"
	# the class alone (SPEC 19): drawn, seed for seed the subdomain's steps
	make_msg "$BATS_TEST_TMPDIR/sub.eml" html="$HTML" to=x@openclick.sink.test
	msg to=x@mix.sink.test "extra_header=X-Bouncy-Sink: openclick"
	local seed steps=() header sub
	for ((seed = 1; seed <= 20; seed++)); do
		header=$(filter --dry-run --json --seed "$seed" --client-ip 192.0.2.10 <"$MSG" |
			jq -r 'select(.class == "openclick" and .route == "header" and .plan.steps_chosen == false) |
				"\(.plan.opens):\(.plan.clicks)"')
		sub=$(filter --dry-run --json --seed "$seed" --client-ip 192.0.2.10 <"$BATS_TEST_TMPDIR/sub.eml" |
			jq -r '"\(.plan.opens):\(.plan.clicks)"')
		[[ -n $header && $header == "$sub" ]] || fail "seed $seed: header $header, subdomain $sub"
		steps+=("$header")
	done
	[ "$(printf '%s\n' "${steps[@]}" | sort -u | wc -l)" -gt 1 ]
}

@test "X-Bouncy-Sink: opens=N, clicks=N: N fetches each, the first counted open/click, the others again" {
	msg to=x@mix.sink.test 'extra_header=X-Bouncy-Sink: opens=3, clicks=2'
	twenty "openclick/header plan=openclick:none:3:2:- label=- smtp=0:- http=6:4 redis=0,0,0,1,2,1,1"
	assert_equal "$(jq -r '[.actions[].type] | join(" ")' <<<"$output")" \
		"open open open_again open_again open_again open_again click click click_again click_again"
	msg to=x@mix.sink.test 'extra_header=X-Bouncy-Sink: opens=2'
	twenty "openclick/header plan=openclick:none:2:0:- label=- smtp=0:- http=4:0 redis=0,0,0,1,1,0,0"
	msg to=x@mix.sink.test 'extra_header=X-Bouncy-Sink: clicks=1'	# a reader who clicks opens first
	twenty "openclick/header plan=openclick:none:1:1:- label=- smtp=0:- http=2:2 redis=0,0,0,1,0,1,0"
}

@test "X-Bouncy-Sink: opens=1000000 is capped at Directive_Max_Repeats, with a note" {
	config Directive_Max_Repeats=4
	msg to=x@mix.sink.test 'extra_header=X-Bouncy-Sink: opens=1000000'
	twenty "openclick/header plan=openclick:none:4:0:- label=- smtp=0:- http=8:0 redis=0,0,0,1,3,0,0"
	jq -e '.plan.notes == ["X-Bouncy-Sink \"opens=1000000\": more than Directive_Max_Repeats (4); 4 used"]' <<<"$output"
	run log_lines
	assert_output --partial 'X-Bouncy-Sink ""opens=1000000"": more than Directive_Max_Repeats (4); 4 used'
}

@test "X-Bouncy-Sink: feedback-type=<type> for each ARF type: fbl with that Feedback-Type" {
	for t in abuse fraud virus other not-spam; do
		msg to=x@mix.sink.test "extra_header=X-Bouncy-Sink: feedback-type=$t"
		twenty "fbl/header plan=fbl:none:0:0:$t label=- $(complained $t)"
	done
	# the human part says it too, and the report parses as ARF
	"$PY" - "$(smtp_eml 1)" <<'EOF'
import email, email.policy, sys
m = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=email.policy.default)
assert m.get_content_type() == "multipart/report" and m.get_param("report-type") == "feedback-report"
parts = list(m.iter_parts())
assert "marked it as not spam" in parts[0].get_content(), parts[0].get_content()
assert parts[1].get_payload()[0]["Feedback-Type"] == "not-spam"
assert m["Subject"].startswith("Not-spam report")
EOF
}

@test "X-Bouncy-Sink: feedback-type=auth-failure or an unknown type is refused with a note; the mix decides" {
	msg to=x@mix.sink.test 'extra_header=X-Bouncy-Sink: feedback-type=auth-failure'
	run filter --json --dry-run --seed 1 <"$MSG"
	jq -e '.route == "mix" and (.plan.notes[0] | test("RFC 6591"))' <<<"$output"
}

@test "X-Bouncy-Sink: unsubscribe unsubscribes; unsubscribe=<method> takes that method only, over Unsubscribe_Method" {
	config Unsubscribe_Allow_HTTP=true Unsubscribe_Method=link
	msg to=x@mix.sink.test 'extra_header=X-Bouncy-Sink: unsubscribe' "${UNSUB[@]}"
	twenty "unsubscribe/header plan=unsubscribe:none:0:0:- label=- $UNSUBSCRIBED"
	jq -e '.plan.unsubscribe_method == "link" and .unsubscribe.method == "link"' <<<"$output"	# the config's
	for m in one-click mailto link; do
		reset_servers
		msg to=x@mix.sink.test "extra_header=X-Bouncy-Sink: unsubscribe=$m" "${UNSUB[@]}"
		run filter --json --seed 3 <"$MSG"
		assert_success
		jq -e --arg m "$m" '.class == "unsubscribe" and .plan.unsubscribe_method == $m and .unsubscribe.method == $m' <<<"$output"
		assert_equal "$(jq -r 'select(.path == "/u/oc") | .method' "$HTTP_LOG")" \
			"$(case $m in one-click) echo POST ;; link) echo GET ;; esac)"
		assert_equal "$(smtp_messages)" "$([[ $m == mailto ]] && echo 1 || echo 0)"
	done
}

@test "X-Bouncy-Sink: autoreply: an out-of-office reply; with the interval, the first of the pair only" {
	msg to=x@mix.sink.test 'extra_header=X-Bouncy-Sink: autoreply'
	filter --json --client-ip 192.0.2.10 <"$MSG" | jq -e '.class == "autoreply" and .route == "header" and
		.counters == ["autoreply_sent"] and .plan.notes == []'
	filter --json --client-ip 192.0.2.10 <"$MSG" | jq -e '.class == "autoreply" and .autoreply.skipped == "interval"'
	assert_equal "$(smtp_messages)" 1
}

@test "X-Bouncy-Sink: mpp, scanner, human: the persona on top of the class (oob gets no machine traffic), human clears it" {
	msg to=x@mix.sink.test 'extra_header=X-Bouncy-Sink: mpp, click'
	twenty "openclick/header plan=openclick:mpp:1:1:- label=- smtp=0:- http=2:2 redis=0,0,0,1,0,1,0"
	msg to=x@mix.sink.test 'extra_header=X-Bouncy-Sink: oob, scanner'
	twenty "oob/header plan=oob:scanner:0:0:- label=- $BOUNCED"
	msg to=mpp@mix.sink.test 'extra_header=X-Bouncy-Sink: human'	# the header's word wins over the local part's
	twenty "accept/localpart plan=accept:none:0:0:- label=- $ACCEPT"
	jq -e '.plan.notes == []' <<<"$output"
}

@test "X-Bouncy-Sink: delay=<duration> puts the class's step off to a job (t/delay.bats runs it)" {
	msg to=x@mix.sink.test 'extra_header=X-Bouncy-Sink: oob, delay=1h30m'
	run filter --client-ip 192.0.2.10 --json <"$MSG"
	assert_success
	jq -e '.class == "oob" and .plan.delay == 5400 and .plan.notes == [] and
		([.delayed[] | [.step, .delay]] == [["oob", 5400]]) and .actions == []' <<<"$output"
	assert_equal "$(smtp_messages)" 0
}

@test "X-Bouncy-Sink: store-done keeps a copy, with the other directives and alone (the mix decides)" {
	msg to=x@mix.sink.test 'extra_header=X-Bouncy-Sink: fbl, store-done'
	twenty "fbl/header plan=fbl:none:0:0:abuse label=- $(complained abuse)"
	jq -e '.plan.store_done' <<<"$output"
	cmp "$(jq -r .done <<<"$output")" "$MSG"
	rm -rf "$SINK_DONE"
	msg to=x@mix.sink.test 'extra_header=X-Bouncy-Sink: Store-Done'
	run filter --json --seed 3 --client-ip 192.0.2.10 <"$MSG"
	jq -e '.route == "mix" and .plan.store_done and (.plan.notes == [])' <<<"$output"
	[ "$(ls -A "$SINK_DONE" | wc -l)" -eq 1 ]
}

@test "several X-Bouncy-Sink fields, folded, with comments and quotes, are one list; the first class wins" {
	msg to=x@mix.sink.test
	printf 'X-Bouncy-Sink: (the first) opens = "2",\n\tfeedback-type=fraud\nX-Bouncy-Sink: fbl, oob (second: ignored)\n' | header_raw
	twenty "fbl/header plan=fbl:none:0:0:fraud label=- $(complained fraud)"
	jq -e '.plan.notes == [
		"X-Bouncy-Sink \"oob (second: ignored)\": the class is already fbl (\"fbl\", the first wins); ignored",
		"X-Bouncy-Sink \"opens=2\": not for class fbl; ignored"]' <<<"$output"
}

@test "unknown and malformed directives are noted, never fatal: the rest stands" {
	msg to=x@mix.sink.test
	printf 'X-Bouncy-Sink: bounce, frobnicate, opens=lots, oob; fbl, "q", clicks=2, store-done=yes\n' | header_raw
	twenty "openclick/header plan=openclick:none:1:2:- label=- smtp=0:- http=2:4 redis=0,0,0,1,0,1,1"
	jq -e '.plan.notes == [
		"X-Bouncy-Sink \"bounce\": unknown directive (a local part'"'"'s keyword; here: oob); ignored",
		"X-Bouncy-Sink \"frobnicate\": unknown directive; ignored",
		"X-Bouncy-Sink \"opens=lots\": not a whole number; ignored",
		"X-Bouncy-Sink \"oob; fbl\": a '"'"';'"'"' (items are separated by commas); ignored",
		"X-Bouncy-Sink \"\"q\"\": a character out of place; ignored",
		"X-Bouncy-Sink \"store-done=yes\": store-done takes no value; ignored"]' <<<"$output"
	jq -e '.errors == [] and .done == null' <<<"$output"	# notes, not errors: no done copy, an INFO line
	run log_lines
	assert_output --partial ',INFO,'
}

@test "a click on a message without links: the open happens, the click says it found none" {
	make_msg "$MSG" to=x@mix.sink.test html='<img src="http://track.test/q/p1">' 'extra_header=X-Bouncy-Sink: click'
	twenty "openclick/header plan=openclick:none:1:1:- label=- smtp=0:- http=1:0 redis=0,0,0,1,0,1,0"
	jq -e '.plan.notes == ["click: no links in the message"]' <<<"$output"
	jq -e '[.actions[] | select(.type == "click") | .reply] == ["no links found"]' <<<"$output"
}

# ---- precedence: subdomain > header > local part > mix -----------------------------------------------

@test "precedence: the subdomain wins over the header and the local part; the record says why" {
	msg to=bounce+p@fbl.sink.test 'extra_header=X-Bouncy-Sink: openclick'
	twenty "fbl/subdomain plan=fbl:none:0:0:abuse label=p $(complained abuse)"
	jq -e '.plan.notes == ["X-Bouncy-Sink \"openclick\": the subdomain chose fbl; ignored",
		"local part \"bounce\": the subdomain chose fbl; ignored"]' <<<"$output"
	msg to=x@oob.sink.test 'extra_header=X-Bouncy-Sink: fbl'
	twenty "oob/subdomain plan=oob:none:0:0:- label=- $BOUNCED"
	msg to=complaint@accept.sink.test
	twenty "accept/subdomain plan=accept:none:0:0:- label=- $ACCEPT"
}

@test "precedence: the header's details still apply to the subdomain's class when they fit it" {
	msg to=x@fbl.sink.test 'extra_header=X-Bouncy-Sink: feedback-type=virus'
	twenty "fbl/subdomain plan=fbl:none:0:0:virus label=- $(complained virus)"
	msg to=x@openclick.sink.test 'extra_header=X-Bouncy-Sink: opens=2, clicks=3'
	twenty "openclick/subdomain plan=openclick:none:2:3:- label=- smtp=0:- http=4:6 redis=0,0,0,1,1,1,2"
	msg to=x@accept.sink.test 'extra_header=X-Bouncy-Sink: feedback-type=fraud'
	twenty "accept/subdomain plan=accept:none:0:0:- label=- $ACCEPT"
	jq -e '.plan.notes == ["X-Bouncy-Sink \"feedback-type=fraud\": not for class accept; ignored"]' <<<"$output"
}

@test "precedence: the header wins over the local part; its details refine the keyword's class" {
	msg to=bounce+p@mix.sink.test 'extra_header=X-Bouncy-Sink: fbl'
	twenty "fbl/header plan=fbl:none:0:0:abuse label=p $(complained abuse)"
	msg to=fraud@mix.sink.test 'extra_header=X-Bouncy-Sink: feedback-type=virus'
	twenty "fbl/localpart plan=fbl:none:0:0:virus label=- $(complained virus)"
	msg to=click@mix.sink.test 'extra_header=X-Bouncy-Sink: opens=2'
	twenty "openclick/localpart plan=openclick:none:2:1:- label=- smtp=0:- http=4:2 redis=0,0,0,1,1,1,0"
}

@test "precedence: the header's details outrank a keyword's class they do not fit (bounce@ with opens=2 opens)" {
	local hdr want
	for hdr in 'opens=2:openclick' 'feedback-type=fraud:fbl' 'unsubscribe=link:unsubscribe'; do
		want=${hdr##*:}
		msg to=bounce+q@mix.sink.test "extra_header=X-Bouncy-Sink: ${hdr%:*}"
		run filter --json --dry-run --seed 3 --client-ip 192.0.2.10 <"$MSG"
		assert_success
		jq -e --arg k "$want" '.class == $k and .route == "header" and .plan.label == "q" and
			.plan.notes == ["local part \"bounce\": X-Bouncy-Sink chose \($k); ignored"]' <<<"$output"
	done
	jq -e '.plan.unsubscribe_method == "link"' <<<"$output"
}

@test "precedence: without subdomain, header or keyword the mix draws (several outcomes over 20 seeds)" {
	msg to=x@mix.sink.test
	local seed classes=""
	for seed in $(seq 1 20); do
		run filter --json --dry-run --seed "$seed" --client-ip 192.0.2.10 <"$MSG"
		jq -e '.route == "mix" and .plan.route == "mix"' <<<"$output" >/dev/null
		classes+=$(jq -r .class <<<"$output")$'\n'
	done
	echo "$classes" | sort | uniq -c
	(($(sort -u <<<"$classes" | grep -c .) >= 3))
}

@test "--dry-run --json shows the plan (class, route, label, persona, repeats, type, method) and does nothing" {
	msg to=click+ci-7@mix.sink.test 'extra_header=X-Bouncy-Sink: opens=2, mpp, delay=10m'
	run filter --json --dry-run --seed 5 <"$MSG"
	assert_success
	jq -e '.plan == {"class": "openclick", "route": "localpart", "label": "ci-7", "persona": "mpp", "opens": 2,
		"clicks": 1, "steps_chosen": true, "feedback_type": null, "unsubscribe_method": null, "delay": 600,
		"store_done": false, "notes": []}' <<<"$output"
	jq -e '[.delayed[] | [.step, .delay, .job]] == [["open", 600, null]]' <<<"$output"
	# (an MPP reader's opens are served from the proxy's cache: one action a step, nothing fetched)
	assert_equal "$(jq -r '[.actions[] | "\(.type)/\(.by)"] | join(" ")' <<<"$output")" \
		"open/mpp open/mpp open/reader open_again/reader click/reader click/reader"
	assert_equal "$(wc -l <"$HTTP_LOG")" 0
	assert_equal "$(rcli DBSIZE)" 0
	[ -z "$(log_lines)" ]
}

# ---- the label, hostile headers, DKIM ------------------------------------------------------------------

@test "the +label is kept in the log line and the record; control characters left out, at most 64 bytes" {
	msg to=bounce+ci-run-42@mix.sink.test
	run filter --json --client-ip 192.0.2.10 <"$MSG"
	assert_success
	jq -e '.label == "ci-run-42" and .plan.label == "ci-run-42"' <<<"$output"
	log_lines | grep -q ',oob/localpart,label=ci-run-42,dkim=pass,spf=pass,oob smtp.sparkpostmail.com 250'
	# a hostile envelope recipient: the label is cleaned, the line stays one whole record
	run filter --json --to "$(printf 'complaint+a\001b\rc%s@mix.sink.test' "$(printf 'x%.0s' {1..80})")" <"$MSG"
	assert_success
	jq -e '.label | test("^abcx+$") and length == 64' <<<"$output"
	assert_whole_log 2
	last_record | jq -e '.[] | select(startswith("label=")) | test("^label=abcx+$")'
}

@test "a 100 KB header, 10,000 tokens, control characters: only the record changes" {
	msg to=x@mix.sink.test
	"$PY" -c 'import sys; sys.stdout.write("X-Bouncy-Sink: fbl, " + "x" * 102400 + "\n")' | header_raw
	twenty "fbl/header plan=fbl:none:0:0:abuse label=- $(complained abuse)"
	jq -e '.plan.notes | length == 1 and (.[0] | test("^X-Bouncy-Sink: [0-9]+ bytes past the first 4096 not read$"))' <<<"$output"

	msg to=x@mix.sink.test
	"$PY" -c 'import sys; sys.stdout.write("X-Bouncy-Sink: oob, " + "fbl, " * 9999 + "\n")' | header_raw
	twenty "oob/header plan=oob:none:0:0:- label=- $BOUNCED"
	jq -e '(.plan.notes | length) == 17 and (.plan.notes[16] | test("^[0-9]+ more notes not kept$"))' <<<"$output"
	jq -e '.plan.notes[15] | test("the class is already oob")' <<<"$output"

	msg to=x@mix.sink.test
	printf 'X-Bouncy-Sink: o\x01ob, fbl (\x1b[31m), opens=\x013, feedback-type=virus\n' | header_raw
	twenty "fbl/header plan=fbl:none:0:0:virus label=- $(complained virus)"
	jq -e '.plan.notes == ["X-Bouncy-Sink \"o?ob\": a control character; ignored",
		"X-Bouncy-Sink \"fbl (?[31m)\": a control character; ignored",
		"X-Bouncy-Sink \"opens=?3\": a control character; ignored"]' <<<"$output"
	log_records >/dev/null	# every line one whole record, no control character in it
}

@test "a message that fails DKIM obeys nothing: no report, no fetch, no class; store-done still keeps it" {
	config DKIM_Check=verify
	make_msg "$BATS_TEST_TMPDIR/m.unsigned" to=fraud+x@mix.sink.test html="$HTML" \
		'extra_header=X-Bouncy-Sink: fbl, feedback-type=virus, opens=3, store-done'
	sign_msg "$BATS_TEST_TMPDIR/m.unsigned" "$BATS_TEST_TMPDIR/signed.eml"
	sed 's/Hello from the test sender/Hello from someone else/' "$BATS_TEST_TMPDIR/signed.eml" >"$MSG"
	for seed in 1 2 3; do
		reset_servers
		rm -rf "$SINK_DONE"
		run filter --json --seed $seed --client-ip 192.0.2.10 <"$MSG"
		assert_success
		jq -e '.dkim == "bodyhash" and .class == null and .route == null and .plan == null and .actions == []' <<<"$output"
		jq -e '.label == "x" and .notes == ["X-Bouncy-Sink: not obeyed without a DKIM pass (but for store-done)"]' <<<"$output"
		assert_equal "$(smtp_messages)" 0
		assert_equal "$(wc -l <"$HTTP_LOG")" 0
		assert_equal "$(counter fail_dkim)" 1
		for c in "${COUNTERS[@]}"; do assert_equal "$(counter "$c")" 0; done
		cmp "$(jq -r .done <<<"$output")" "$MSG"
	done
	# the same message, signed and untouched, obeys its header: the header's class over the keyword's
	cp "$BATS_TEST_TMPDIR/signed.eml" "$MSG"
	twenty "fbl/header plan=fbl:none:0:0:virus label=x $(complained virus)"
	jq -e '.dkim == "pass"' <<<"$output"
}
