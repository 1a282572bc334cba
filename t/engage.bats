#!/usr/bin/env bats
# engage.bats: opens and clicks, end to end. An x@openclick.sink.test message goes through the real
# sink-filter in the mini internet: track.test, slow.track.test and private.test (127.0.0.80) answer
# "Server: msys-http" like a SparkPost tracking host, web.test (127.0.0.81) is an ordinary web site
# ("Server: nginx"); both log every request to $HTTP_LOG.
#
# Run: SINK_BUILD=/path/to/build t/netns-run bats t/engage.bats

load lib/common
load lib/sink

UA_FILE=$BATS_TEST_DIRNAME/fixtures/ua-cr.csv
RCPT=x@openclick.sink.test

# The percentages decide the steps: equal shares make every conditional 1 (open again, click, click again
# always), zero shares make them 0. The weekly open cycle scales all of them alike.
ALL=(Open_percent=50 Open_Again_percent=50 Click_percent=50 Click_Again_percent=50 Upstream_Handled=0)
OPEN_ONLY=(Open_percent=50 Open_Again_percent=0 Click_percent=0 Click_Again_percent=0 Upstream_Handled=0)
OPEN_CLICK=(Open_percent=50 Open_Again_percent=0 Click_percent=50 Click_Again_percent=0 Upstream_Handled=0)

setup() {
	reset_servers
	MSG=$BATS_TEST_TMPDIR/msg.eml
}

# config KEY=VALUE...: the test config with DKIM off and the fixture user-agent file, plus overrides.
config() {
	sink_config DKIM_Check=off User_Agents_File="$UA_FILE" "$@"
}

# requests PATH-REGEX: how many logged requests have a path matching PATH-REGEX
requests() {
	jq -r .path "$HTTP_LOG" | grep -cE -- "$1" || true
}

# ms_since T0: milliseconds since $EPOCHREALTIME was T0
ms_since() {
	echo $(((${EPOCHREALTIME/./} - ${1/./}) / 1000))
}

@test "open, open again, click, click again: N pixels get 2N GETs, M links 2M GETs, counters match" {
	config "${ALL[@]}"
	make_msg "$MSG" to=$RCPT html="<html><body>$(pixels 3)$(links 2)</body></html>"
	run filter --json <"$MSG"
	assert_success
	echo "$output" | jq -e '.class == "openclick" and .open_again and .click and .click_again'
	assert_equal "$(requests '^/q/p[0-9]+$')" 6
	assert_equal "$(requests '^/l/[0-9]+$')" 4
	for i in 1 2 3; do assert_equal "$(requests "^/q/p$i\$")" 2; done
	for i in 1 2; do assert_equal "$(requests "^/l/$i\$")" 2; done
	assert_equal "$(requests '^/f/a$')" 1	# track.test probed once for all of it
	# every request a GET; the step types in the record, each with its status
	assert_equal "$(jq -r .method "$HTTP_LOG" | sort -u)" GET
	assert_equal "$(echo "$output" | jq -r '[.actions[].type] | join(" ")')" \
		"open open open open_again open_again open_again click click click_again click_again"
	assert_equal "$(echo "$output" | jq -r '[.actions[] | select(.status == 200 and (.error | not))] | length')" 10
	for c in open open_again click click_again; do assert_equal "$(counter $c)" 1; done
	assert_equal "$(counter open_url_not_sparkpost)" 0
	assert_equal "$(counter click_url_not_sparkpost)" 0
}

@test "all fetches of a message use its one User-Agent, from the Software column of User_Agents_File" {
	config "${ALL[@]}"
	make_msg "$MSG" to=$RCPT html="$(pixels 2)$(links 2)"
	run filter --json --seed 11 <"$MSG"
	assert_success
	ua=$(echo "$output" | jq -r .user_agent)
	# the fetches' agent (the /f/a probe announces itself as the sink, honestly)
	run bash -c "jq -r 'select(.path != \"/f/a\") | .user_agent' '$HTTP_LOG' | sort -u"
	assert_output "$ua"
	case $ua in
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36" | \
	"Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0" | \
	'Test "Quoted" Agent/1.0 (a, b)') ;;
	*) fail "user agent not from $UA_FILE: $ua" ;;
	esac
	# the same seed picks the same agent again; another seed can pick another
	run filter --json --seed 11 <"$MSG"
	assert_equal "$(echo "$output" | jq -r .user_agent)" "$ua"
}

@test "seeded decisions: the GETs match what the --json record says was decided" {
	config	# the test config's mix of percentages
	make_msg "$MSG" to=$RCPT html="$(pixels 2)$(links 3)"
	local seed seen=""
	for seed in 1 2 3 4 5 6 7 8 9 10 11 12; do
		reset_servers
		run filter --json --seed $seed <"$MSG"
		assert_success
		read -r again click click_again < <(echo "$output" | jq -r '"\(.open_again) \(.click) \(.click_again)"')
		seen+="$again/$click/$click_again "
		want_p=2 want_l=0
		[[ $again == true ]] && want_p=4
		[[ $click == true ]] && want_l=3
		[[ $click_again == true ]] && want_l=6
		assert_equal "$(requests '^/q/p[0-9]$')" $want_p
		assert_equal "$(requests '^/l/[0-9]$')" $want_l
		assert_equal "$(counter open)" 1
		assert_equal "$(counter open_again)" $([[ $again == true ]] && echo 1 || echo 0)
		assert_equal "$(counter click)" $([[ $click == true ]] && echo 1 || echo 0)
		assert_equal "$(counter click_again)" $([[ $click_again == true ]] && echo 1 || echo 0)
	done
	echo "decisions (open_again/click/click_again): $seen"
}

@test "pixels are fetched in parallel: 5 pixels that take 1 s each take about 1 s together" {
	config "${OPEN_ONLY[@]}" Tracking_Domains_Allowlist=track.test
	make_msg "$MSG" to=$RCPT html="$(pixels 5 slow/1000/)"
	t0=$EPOCHREALTIME
	run filter --json <"$MSG"
	ms=$(ms_since "$t0")
	assert_success
	echo "5 pixels of 1000 ms: $ms ms"
	assert_equal "$(requests '^/slow/1000/q/p[0-9]$')" 5
	((ms >= 1000 && ms < 2500))	# one after the other would be 5000
	# all five requests arrived within a fraction of a second of each other
	spread=$(jq -s '[.[].t] | (max - min) * 1000 | floor' "$HTTP_LOG")
	echo "arrival spread: $spread ms"
	((spread < 300))
	assert_equal "$(echo "$output" | jq '[.actions[] | select(.status == 200)] | length')" 5
}

@test "12 pixels on one host go 6 at a time, as a browser's; each fetch has its own whole timeout" {
	config "${OPEN_ONLY[@]}" Tracking_Domains_Allowlist=track.test Open_Click_Timeout=2
	make_msg "$MSG" to=$RCPT html="$(pixels 12 slow/1000/)"
	t0=$EPOCHREALTIME
	run filter --json <"$MSG"
	ms=$(ms_since "$t0")
	assert_success
	echo "12 pixels of 1000 ms, 6 at a time: $ms ms"
	assert_equal "$(echo "$output" | jq '[.actions[] | select(.status == 200 and (.error | not))] | length')" 12
	((ms >= 2000 && ms < 3500))
	# two waves of six, a second apart
	waves=$(jq -s '[.[].t] | min as $m | map(. - $m | floor) | group_by(.) | map(length) | join(" ")' -r "$HTTP_LOG")
	assert_equal "$waves" "6 6"
}

@test "a plain web host gets only the /f/a probe; its URLs count *_url_not_sparkpost" {
	config "${OPEN_CLICK[@]}"
	make_msg "$MSG" to=$RCPT html='<img src="http://web.test/q/w1"><img src="http://track.test/q/t1">
		<a href="http://web.test/page">w</a><a href="http://track.test/l/1">t</a><a href="http://web.test/other">w2</a>'
	run filter --json <"$MSG"
	assert_success
	run bash -c "jq -r 'select(.host == \"web.test\") | \"\(.method) \(.path)\"' '$HTTP_LOG'"
	assert_output "GET /f/a"
	assert_equal "$(requests '^/q/t1$')" 1
	assert_equal "$(requests '^/l/1$')" 1
	assert_equal "$(counter open_url_not_sparkpost)" 1
	assert_equal "$(counter click_url_not_sparkpost)" 2
	run log_lines
	assert_output --partial "probe http://web.test/f/a: 200, Server: nginx: not a tracking host"
}

@test "a second message does not probe again: the verdict is cached in Redis for an hour" {
	config "${OPEN_ONLY[@]}"
	make_msg "$MSG" to=$RCPT html='<img src="http://track.test/q/p1"><img src="http://web.test/q/w1">'
	run filter <"$MSG"
	assert_success
	assert_equal "$(requests '^/f/a$')" 2
	assert_equal "$(rcli GET consume-mail:0:http://track.test)" 1
	assert_equal "$(rcli GET consume-mail:0:http://web.test)" 0
	ttl=$(rcli TTL consume-mail:0:http://track.test)
	((ttl > 3590 && ttl <= 3600))

	: >"$HTTP_LOG"
	run filter <"$MSG"
	assert_success
	assert_equal "$(requests '^/f/a$')" 0
	assert_equal "$(requests '^/q/p1$')" 1
	assert_equal "$(requests '^/q/w1$')" 0
	assert_equal "$(counter open)" 2
	assert_equal "$(counter open_url_not_sparkpost)" 2
}

@test "a cached verdict wins over the probe: a host cached as not tracking is not fetched" {
	config "${OPEN_ONLY[@]}"
	rcli SET consume-mail:0:http://track.test 0 EX 3600 >/dev/null
	make_msg "$MSG" to=$RCPT html="$(pixels 2)"
	run filter <"$MSG"
	assert_success
	assert_equal "$(wc -l <"$HTTP_LOG")" 0
	assert_equal "$(counter open_url_not_sparkpost)" 2
}

@test "an allowlisted tracking host is fetched without a probe; other hosts are still probed" {
	config "${OPEN_ONLY[@]}" Tracking_Domains_Allowlist="other.test, track.test"
	make_msg "$MSG" to=$RCPT html="$(pixels 2)"'<img src="http://slow.track.test/q/s1">'
	run filter <"$MSG"
	assert_success
	assert_equal "$(jq -r 'select(.path == "/f/a") | .host' "$HTTP_LOG")" slow.track.test
	assert_equal "$(requests '^/q/(p1|p2|s1)$')" 3
	assert_equal "$(rcli EXISTS consume-mail:0:http://track.test)" 0	# nothing to cache for it
}

@test "quoted-printable and base64 HTML parts are decoded before parsing" {
	long=$(printf 'x%.0s' {1..120})
	html="<html><body><p>Caf&eacute; =&gt; \"quoted\"</p><img src=\"http://track.test/q/$long?a=1&amp;b=2\">
		<a href=\"http://track.test/l/=3D?x=%20\">l</a></body></html>"
	for cte in qp base64; do
		reset_servers
		config "${OPEN_CLICK[@]}"
		make_msg "$MSG" to=$RCPT cte=$cte html="$html"
		grep -qi "Content-Transfer-Encoding: $([[ $cte == qp ]] && echo quoted-printable || echo base64)" "$MSG"
		run filter --json <"$MSG"
		assert_success
		assert_equal "$(requests "^/q/$long\\?a=1&b=2\$")" 1
		assert_equal "$(requests '^/l/=3D\?x=%20$')" 1
	done
}

@test "a NUL in the decoded HTML (=00) does not end the page: the pixel after it is fetched" {
	config "${OPEN_ONLY[@]}"
	make_msg "$MSG" to=$RCPT cte=qp html='<p>before NULHERE after</p><img src="http://track.test/q/after-nul">'
	sed -i 's/NULHERE/=00/' "$MSG"
	grep -q '=00' "$MSG"
	run filter --json <"$MSG"
	assert_success
	assert_equal "$(requests '^/q/after-nul$')" 1
	assert_equal "$(counter open)" 1
}

@test "a slow tracking server cannot hold the message past Open_Click_Timeout" {
	config "${OPEN_ONLY[@]}" Tracking_Domains_Allowlist=track.test Open_Click_Timeout=1
	make_msg "$MSG" to=$RCPT html='<img src="http://track.test/slow/5000/q/p1"><img src="http://track.test/q/p2">'
	t0=$EPOCHREALTIME
	run filter --json <"$MSG"
	ms=$(ms_since "$t0")
	assert_success
	echo "slow pixel with Open_Click_Timeout=1: $ms ms"
	((ms < 2500))	# without the timeout: 5000
	echo "$output" | jq -e '.actions[0].error | test("timed out")'
	echo "$output" | jq -e '.actions[1].status == 200 and (.actions[1].error | not)'
	run log_lines
	assert_output --partial "!open http://track.test/slow/5000/q/p1"
	assert_equal "$(counter open)" 1
}

@test "Message_Timeout bounds all steps together, whatever Open_Click_Timeout allows" {
	config "${ALL[@]}" Tracking_Domains_Allowlist=track.test Open_Click_Timeout=10 Message_Timeout=2
	make_msg "$MSG" to=$RCPT html='<img src="http://track.test/slow/5000/q/p1"><a href="http://track.test/slow/5000/l/1">l</a>'
	t0=$EPOCHREALTIME
	run filter --json <"$MSG"
	ms=$(ms_since "$t0")
	assert_success
	echo "Message_Timeout=2 with 4 steps of 5 s: $ms ms"
	((ms < 3500))	# without the budget: 20000
	assert_equal "$(echo "$output" | jq '[.actions[] | select(.error)] | length')" 4
	for c in open open_again click click_again; do assert_equal "$(counter $c)" 1; done
}

@test "with Fetch_Allow_Private=false the 127.0.0.80 target is refused and logged, nothing is sent" {
	config "${OPEN_ONLY[@]}" Tracking_Domains_Allowlist=track.test Fetch_Allow_Private=false
	make_msg "$MSG" to=$RCPT html="$(pixels 1)"
	run filter --json <"$MSG"
	assert_success
	echo "$output" | jq -e '.actions[0].error | test("refused: 127.0.0.80 is loopback")'
	assert_equal "$(wc -l <"$HTTP_LOG")" 0
	run log_lines
	assert_output --partial "!open http://track.test/q/p1: refused: 127.0.0.80 is loopback"
}

@test "with Fetch_Allow_Private=false an unlisted host's probe is refused and logged, not cached" {
	config "${OPEN_ONLY[@]}" Fetch_Allow_Private=false
	make_msg "$MSG" to=$RCPT html='<img src="http://private.test/q/p1">'
	run filter --json <"$MSG"
	assert_success
	assert_equal "$(wc -l <"$HTTP_LOG")" 0
	echo "$output" | jq -e '.errors | any(test("probe http://private.test/f/a: refused: 127.0.0.80 is loopback"))'
	assert_equal "$(rcli EXISTS consume-mail:0:http://private.test)" 0
	assert_equal "$(counter open_url_not_sparkpost)" 1
}

@test "a click follows the tracking link's redirect to the landing page, fetched once with the message's User-Agent; a 404 is a result" {
	config "${OPEN_CLICK[@]}"
	make_msg "$MSG" to=$RCPT html='<img src="http://track.test/status/404"><a href="http://track.test/redirect/x">r</a>'
	run filter --json <"$MSG"
	assert_success
	echo "$output" | jq -e '.actions[0] | .type == "open" and .status == 404 and (.error | not) and (.hops | not)'
	echo "$output" | jq -e '.actions[1] | .type == "click" and .target == "http://track.test/redirect/x" and .status == 200
		and .hops == [{"url": "http://127.0.0.81/landed", "status": 200}] and (.error | not)'
	assert_equal "$(requests '^/landed$')" 1
	ua=$(jq -r .user_agent <<<"$output")
	assert_equal "$(jq -r 'select(.path == "/landed") | .user_agent' "$HTTP_LOG")" "$ua"
	assert_equal "$(jq -r 'select(.path == "/redirect/x") | .user_agent' "$HTTP_LOG")" "$ua"
	log_lines | grep -qF ',click http://track.test/redirect/x 200 -> http://127.0.0.81/landed 200'
}

@test "the tracking-host probe never follows a redirect: a host whose /f/a moves to a tracking host is not one" {
	config "${OPEN_CLICK[@]}"
	make_msg "$MSG" to=$RCPT html='<img src="http://moved.web.test/q/p1">'
	run filter --json <"$MSG"
	assert_success
	assert_equal "$(counter open_url_not_sparkpost)" 1
	run jq -r '"\(.host) \(.path)"' "$HTTP_LOG"
	assert_output 'moved.web.test /f/a'	# the probe, answered 302 by nginx; track.test never asked
}

@test "redirects: Max_Redirects hops are followed (relative Locations too), one more is an error; 0 follows none" {
	config "${OPEN_CLICK[@]}"
	make_msg "$MSG" to=$RCPT html='<img src="http://track.test/hops/4/q/p1"><a href="http://track.test/hops/5/page">r</a>'
	run filter --json <"$MSG"
	assert_success
	echo "$output" | jq -e '.actions[0] | .type == "open" and .status == 200 and (.hops | length) == 4
		and .hops[3] == {"url": "http://track.test/hops/0/q/p1", "status": 200} and (.error | not)'
	echo "$output" | jq -e '.actions[1] | .type == "click" and .status == 302 and (.hops | length) == 4
		and .error == "redirect to http://track.test/hops/0/page not followed: more than Max_Redirects (4)"'
	assert_equal "$(requests '^/hops/0/')" 1	# the pixel's end; the link's was never asked for
	config "${OPEN_CLICK[@]}" Max_Redirects=0
	reset_servers
	run filter --json <"$MSG"
	echo "$output" | jq -e '[.actions[] | [.type, .status, (.hops | length), (.error // "")]] == [["open", 302, 0, ""], ["click", 302, 0, ""]]'
	assert_equal "$(requests '^/hops/')" 2
}

@test "a message without an HTML part: !No HTML body found, and no open counted" {
	config "${ALL[@]}"
	make_msg "$MSG" to=$RCPT html=
	run filter --json <"$MSG"
	assert_success
	echo "$output" | jq -e '.class == "openclick" and (.errors | index("No HTML body found")) and (.actions == [])'
	assert_equal "$(counter open)" 0
	assert_equal "$(wc -l <"$HTTP_LOG")" 0
	run log_lines
	assert_output --partial "!No HTML body found"
}

@test "an HTML part without pixels or links: the steps are counted and say so" {
	config "${OPEN_CLICK[@]}"
	make_msg "$MSG" to=$RCPT html='<p>Nothing to see, <a href="mailto:a@b.test">mail</a></p>'
	run filter --json <"$MSG"
	assert_success
	echo "$output" | jq -e '[.actions[] | "\(.type): \(.reply)"] == ["open: no pixels found", "click: no links found"]'
	assert_equal "$(counter open)" 1
	assert_equal "$(counter click)" 1
}

@test "dry run: the steps and their URLs are listed; nothing is probed, fetched, cached or counted" {
	config "${ALL[@]}"
	make_msg "$MSG" to=$RCPT html="$(pixels 2)$(links 1)"
	run filter --json --dry-run <"$MSG"
	assert_success
	assert_equal "$(echo "$output" | jq -r '[.actions[] | "\(.type) \(.target)"] | join(",")')" \
		"open http://track.test/q/p1,open http://track.test/q/p2,open_again http://track.test/q/p1,open_again http://track.test/q/p2,click http://track.test/l/1,click_again http://track.test/l/1"
	assert_equal "$(wc -l <"$HTTP_LOG")" 0
	assert_equal "$(rcli DBSIZE)" 0
	# a step with nothing to fetch is still listed
	make_msg "$MSG" to=$RCPT html="$(pixels 1)"
	run filter --json --dry-run <"$MSG"
	assert_equal "$(echo "$output" | jq -c '[.actions[] | [.type, .target, .reply]]')" \
		'[["open","http://track.test/q/p1",null],["open_again","http://track.test/q/p1",null],["click",null,"no links found"],["click_again",null,"no links found"]]'
}

@test "Max_URLs_Per_Message caps each step; the excess is counted and logged" {
	config "${OPEN_ONLY[@]}" Max_URLs_Per_Message=2
	make_msg "$MSG" to=$RCPT html="$(pixels 5)"
	run filter <"$MSG"
	assert_success
	assert_equal "$(requests '^/q/p[0-9]$')" 2
	assert_equal "$(requests '^/q/p[12]$')" 2
	assert_equal "$(counter open_url_over_limit)" 1
	run log_lines
	assert_output --partial "open: 3 of 5 pixels over Max_URLs_Per_Message (2) not used"
}

@test "sixty images from a web site before the open pixel: the pixel is still fetched (the cap counts hosts looked up and URLs fetched)" {
	config "${OPEN_ONLY[@]}" Max_URLs_Per_Message=50
	local i imgs=
	for ((i = 1; i <= 60; i++)); do imgs+="<img src=\"http://web.test/img/$i.png\">"; done
	make_msg "$MSG" to=$RCPT html="<html><body>$imgs$(pixels 1)</body></html>"
	run filter --json <"$MSG"
	assert_success
	assert_equal "$(requests '^/q/p1$')" 1
	assert_equal "$(requests '^/img/')" 0
	assert_equal "$(requests '^/f/a$')" 2	# one probe per host: web.test and track.test
	assert_equal "$(counter open_url_not_sparkpost)" 60
	assert_equal "$(counter open_url_over_limit)" 0
}

@test "a missing User_Agents_File: a built-in browser agent is used and the log says why" {
	config "${OPEN_ONLY[@]}" User_Agents_File=/nonexistent/agents.csv
	make_msg "$MSG" to=$RCPT html="$(pixels 1)"
	run filter --json <"$MSG"
	assert_success
	echo "$output" | jq -e '.user_agent | startswith("Mozilla/")'
	assert_equal "$(jq -r .user_agent "$HTTP_LOG" | grep -v '^bouncy-sink' | sort -u)" "$(echo "$output" | jq -r .user_agent)"
	run log_lines
	assert_output --partial "User_Agents_File: "
	assert_output --partial "/nonexistent/agents.csv"
	assert_output --partial "the built-in list is used"
}

@test "Redis down: hosts are still probed and pixels fetched, nothing is cached" {
	config "${OPEN_ONLY[@]}"
	make_msg "$MSG" to=$RCPT html="$(pixels 2)"
	REDIS_URL=unix:/nonexistent/redis.sock run filter --json <"$MSG"	# the environment overrides the file
	assert_success
	echo "$output" | jq -e '.errors | any(test("Redis unreachable"))'
	assert_equal "$(requests '^/f/a$')" 1
	assert_equal "$(requests '^/q/p[12]$')" 2
	assert_equal "$(rcli DBSIZE)" 0
}

@test "a message with 100,000 links: the first Max_URLs_Per_Message are clicked, and quickly" {
	config "${OPEN_CLICK[@]}" Tracking_Domains_Allowlist=track.test
	links 100000 >"$BATS_TEST_TMPDIR/big.html"
	make_msg "$MSG" to=$RCPT html="$BATS_TEST_TMPDIR/big.html"
	t0=$EPOCHREALTIME
	run filter <"$MSG"
	ms=$(ms_since "$t0")
	assert_success
	echo "$(wc -c <"$MSG") bytes, 100000 links: $ms ms"
	assert_equal "$(requests '^/l/[0-9]+$')" 50
	assert_equal "$(requests '^/l/50$')" 1
	assert_equal "$(requests '^/l/51$')" 0
	assert_equal "$(counter click_url_over_limit)" 1
	((ms < 5000))
}
