#!/usr/bin/env bats
# personas.bats - the machine traffic of a mailbox (SPEC sections 15 and 18), end to end: Apple Mail Privacy
# Protection prefetches the images of every message (x@mpp.sink.test, or MPP_percent of addresses), a security
# gateway looks at every link (x@scanner.sink.test, or Scanner_percent). track.test, slow.track.test and
# private.test (127.0.0.80) answer "Server: msys-http" like a SparkPost tracking host, web.test (127.0.0.81) is
# an ordinary web site; both log every request (method, path, User-Agent, Cookie, Referer) to $HTTP_LOG, and
# set a cookie on every answer (a client that kept cookies would send it back).
#
# Run: SINK_BUILD=/path/to/build t/netns-run bats t/personas.bats

load lib/common
load lib/sink
load lib/checks

UA_FILE=$BATS_TEST_DIRNAME/fixtures/ua-cr.csv
PROBE_UA="bouncy-sink/"	# the tracking-host probe announces itself; it is no persona's request

# Every message accepted (no reader steps), or opened, opened again, clicked and clicked again.
NOMIX=(Upstream_Handled=0 OOB_percent=0 FBL_percent=0 Open_percent=0 Open_Again_percent=0 Click_percent=0
	Click_Again_percent=0)
ALL=(Upstream_Handled=0 OOB_percent=0 FBL_percent=0 Open_percent=50 Open_Again_percent=50 Click_percent=50
	Click_Again_percent=50)
# A sender's one-click unsubscribe (RFC 8058): a gateway GETs the web URI, and never POSTs it.
ONECLICK=("extra_header=List-Unsubscribe: <mailto:leave@sender.test?subject=unsubscribe>, <http://track.test/u/oneclick?id=7>"
	"extra_header=List-Unsubscribe-Post: List-Unsubscribe=One-Click")

setup() {
	reset_servers
	MSG=$BATS_TEST_TMPDIR/msg.eml
}

# config KEY=VALUE...: the test config with DKIM off, plus overrides.
config() {
	sink_config DKIM_Check=off "$@"
}

# requests METHOD PATH-REGEX: how many logged requests of METHOD (- for any) have a path matching PATH-REGEX
requests() {
	jq -r --arg m "$1" 'select($m == "-" or .method == $m) | .path' "$HTTP_LOG" | grep -cE -- "$2" || true
}

# persona_requests: the logged requests that are not the tracking-host probe's
persona_requests() {
	jq -c --arg p "$PROBE_UA" 'select(.user_agent | startswith($p) | not)' "$HTTP_LOG"
}

@test "X-Bouncy-Sink: human to an mpp. address: the subdomain's persona stays, as its class would (SPEC 19), and the record says so" {
	config "${NOMIX[@]}"
	make_msg "$MSG" to=x@mpp.sink.test html="$(pixels 2)" 'extra_header=X-Bouncy-Sink: accept, human'
	run filter --json <"$MSG"
	assert_success
	echo "$output" | jq -e '.class == "accept" and .route == "header" and .persona == ["mpp"] and
		(.plan.notes | any(test("human.*subdomain gives mpp")))'
	run persona_requests
	assert_equal "$(wc -l <<<"$output")" 2
	assert_equal "$(counter open_prefetch)" 1
}

@test "an mpp. message with N images on a tracking host: N GETs at once as Mozilla/5.0, no Cookie, no Referer, before the run ends" {
	config "${NOMIX[@]}"
	# four distinct pixels (one of them twice: the proxy fetches a URL once), one image of a web site, links
	make_msg "$MSG" to=x@mpp.sink.test \
		html="$(pixels 4 slow/400/)$(pixels 1 slow/400/)<img src=\"http://web.test/q/w1\">$(links 2)"
	t0=$EPOCHREALTIME
	run filter --json <"$MSG"
	ms=$(((${EPOCHREALTIME/./} - ${t0/./}) / 1000))
	assert_success
	echo "4 pixels of 400 ms: $ms ms"
	record=$output
	echo "$record" | jq -e '.class == "accept" and .route == "mix" and .persona == ["mpp"]'
	run persona_requests
	assert_equal "$(wc -l <<<"$output")" 4
	assert_equal "$(jq -r '"\(.method) \(.host) \(.user_agent) \(.cookie) \(.referer)"' <<<"$output" | sort -u)" \
		"GET track.test Mozilla/5.0 null null"
	for i in 1 2 3 4; do assert_equal "$(requests GET "^/slow/400/q/p$i\$")" 1; done
	assert_equal "$(requests - '^/l/')" 0	# the proxy fetches images, not links
	assert_equal "$(requests - '^/q/w1$')" 0	# nor images off the tracking hosts
	# at once: in parallel, all four within a fraction of a second, and done when sink-filter is
	((ms < 1500))	# one after the other: 1600
	spread=$(persona_requests | jq -s '[.[].t] | (max - min) * 1000 | floor')
	echo "arrival spread: $spread ms"
	((spread < 300))
	assert_equal "$(echo "$record" | jq -c '[.actions[] | select(.by == "mpp" and .type == "open" and .status == 200)] | length')" 4
	assert_equal "$(counter open_prefetch)" 1
	assert_equal "$(counter accept)" 1
	assert_equal "$(counter open)" 0
	assert_equal "$(counter open_url_not_sparkpost)" 1
}

@test "an MPP reader's opens reach nobody (open_cached, no request); its clicks go out as usual, as the reader" {
	config "${ALL[@]}" MPP_percent=100 User_Agents_File="$UA_FILE"
	make_msg "$MSG" to=x@openclick.sink.test html="$(pixels 2)$(links 2)"
	run filter --json <"$MSG"
	assert_success
	echo "$output" | jq -e '.class == "openclick" and .persona == ["mpp"] and .open_again and .click and .click_again'
	ua=$(jq -r .user_agent <<<"$output")
	[[ $ua != Mozilla/5.0 ]]
	# each pixel once, by the proxy; each link twice (click, click again), by the reader
	for i in 1 2; do assert_equal "$(requests GET "^/q/p$i\$")" 1; done
	assert_equal "$(jq -r 'select(.path | startswith("/q/")) | .user_agent' "$HTTP_LOG" | sort -u)" Mozilla/5.0
	for i in 1 2; do assert_equal "$(requests GET "^/l/$i\$")" 2; done
	assert_equal "$(jq -r 'select(.path | startswith("/l/")) | .user_agent' "$HTTP_LOG" | sort -u)" "$ua"
	assert_equal "$(echo "$output" | jq -r '[.actions[] | "\(.type)/\(.by)"] | join(" ")')" \
		"open/mpp open/mpp open/reader open_again/reader click/reader click/reader click_again/reader click_again/reader"
	echo "$output" | jq -e '[.actions[] | select(.by == "reader" and (.type | startswith("open")))]
		| all(.target == null and .reply == "served from the MPP proxy'"'"'s cache: nothing fetched")'
	assert_equal "$(counter open_prefetch)" 1
	assert_equal "$(counter open_cached)" 2
	assert_equal "$(counter open)" 1	# still the reader's steps: the model's shares stay whole
	assert_equal "$(counter open_again)" 1
	assert_equal "$(counter click)" 1
	assert_equal "$(counter click_again)" 1
}

@test "a scanner. message with M links: a HEAD then a GET of each with the gateway's agent, List-Unsubscribe's web URI too, within a second; nothing POSTed" {
	config "${NOMIX[@]}"
	make_msg "$MSG" to=x@scanner.sink.test "${ONECLICK[@]}" \
		html="$(links 3)<a href=\"http://track.test/l/1\">again</a><a href=\"http://web.test/page\">web</a><a href=\"mailto:a@sender.test\">m</a>$(pixels 1)"
	run filter --json <"$MSG"
	assert_success
	record=$output
	echo "$record" | jq -e '.class == "accept" and .persona == ["scanner"]'
	ua=$(jq -r .scanner_user_agent <<<"$record")
	# the gateway's agent is one of the built-in list's (those of real gateways), for every request it makes
	grep -qF "\"$ua\"" "$BATS_TEST_DIRNAME/../lib/core/useragent.c"
	run persona_requests
	assert_equal "$(wc -l <<<"$output")" 8	# M = 4: three links and the unsubscribe URI
	assert_equal "$(jq -r '"\(.host) \(.user_agent) \(.cookie) \(.referer)"' <<<"$output" | sort -u)" "track.test $ua null null"
	for p in /l/1 /l/2 /l/3 '/u/oneclick?id=7'; do
		assert_equal "$(jq -r --arg p "$p" 'select(.path == $p) | .method' "$HTTP_LOG" | tr '\n' ' ')" "HEAD GET "
	done
	assert_equal "$(requests POST .)" 0
	assert_equal "$(requests - '^/q/')" 0	# a gateway looks at links, not images
	assert_equal "$(jq -r 'select(.host == "web.test") | "\(.method) \(.path)"' "$HTTP_LOG")" "GET /f/a"	# the probe only
	# within a second of each other; every HEAD before any GET
	spread=$(persona_requests | jq -s '[.[].t] | (max - min) * 1000 | floor')
	echo "spread: $spread ms"
	((spread < 1000))
	persona_requests | jq -se '(map(select(.method == "HEAD")) | map(.t) | max) <= (map(select(.method == "GET")) | map(.t) | min)'
	assert_equal "$(echo "$record" | jq -c '[.actions[] | "\(.by) \(.method) \(.status)"] | group_by(.) | map("\(length) \(.[0])")')" \
		'["4 scanner GET 200","4 scanner HEAD 200"]'
	assert_equal "$(counter click_scanner)" 1
	assert_equal "$(counter click)" 0
	assert_equal "$(counter click_url_not_sparkpost)" 1
}

@test "a gateway follows a redirect only while it stays on a tracking host it knows, at most 5 hops" {
	config "${NOMIX[@]}" Tracking_Domains_Allowlist=track.test,slow.track.test
	make_msg "$MSG" to=x@scanner.sink.test html='<a href="http://track.test/redirect/x">off</a>
		<a href="http://track.test/hops/5/l/five">5</a><a href="http://track.test/hops/6/l/six">6</a>
		<a href="http://track.test/to/slow.track.test/l/listed">listed</a>
		<a href="http://track.test/to/private.test/l/unknown">unknown</a>'
	run filter --json <"$MSG"
	assert_success
	assert_equal "$(requests - '^/landed$')" 0	# web.test's landing page: not a tracking host
	assert_equal "$(requests - '^/hops/0/l/five$')" 2	# HEAD and GET, after 5 hops
	assert_equal "$(requests - '^/hops/0/l/six$')" 0	# the sixth hop is not taken
	assert_equal "$(jq -r 'select(.path == "/l/listed") | "\(.host) \(.method)"' "$HTTP_LOG" | tr '\n' ' ')" \
		"slow.track.test HEAD slow.track.test GET "
	assert_equal "$(requests - '^/(f/a|l/unknown)$')" 0	# not known as a tracking host: not probed, not followed
	get() { jq -c --arg t "$1" '.actions[] | select(.method == "GET" and .target == $t)' <<<"$output"; }
	get http://track.test/redirect/x | jq -e '.status == 302 and (.error | not)
		and .reply == "redirect to http://127.0.0.81/landed not followed: not a tracking host"'
	get http://track.test/hops/5/l/five | jq -e '.status == 200 and (.hops | length) == 5 and (.error | not)'
	get http://track.test/hops/6/l/six | jq -e '.status == 302 and (.hops | length) == 5
		and .error == "redirect to http://track.test/hops/0/l/six not followed: more than a scanner'"'"'s redirects (5)"'
	get http://track.test/to/slow.track.test/l/listed | jq -e '.status == 200 and .hops == [{"url": "http://slow.track.test/l/listed", "status": 200}]'
	get http://track.test/to/private.test/l/unknown | jq -e '.status == 302 and (.reply | endswith("not a tracking host"))'
	log_lines | grep -qF ',click/scanner GET http://track.test/redirect/x 302 redirect to http://127.0.0.81/landed not followed: not a tracking host,'
}

# personas FILE [ARGS...]: for the addresses reader0..reader999@mix.sink.test, each run by sink-filter ARGS as
# its own message (--seed N*K+C when ARGS holds K C first), "ADDRESS PERSONA" lines into FILE
personas() {
	local out=$1 k=$2 c=$3 i
	shift 3
	for ((i = 0; i < ${N:-1000}; i++)); do
		"$SINK_FILTER" -c "$SINK_INI" --dry-run --json --seed $((i * k + c)) --to "reader$i@mix.sink.test" "$@" <"$MSG"
	done | jq -r '"\(.to) \(.persona | join("+"))"' >"$out"
}

@test "MPP_percent = 30 over 1,000 addresses: 30 % +- 4, and each address the same in other processes, with other seeds, on another day" {
	config "${NOMIX[@]}" MPP_percent=30
	make_msg "$MSG" to=nobody@sink.test html=
	# through a sink-filterd (cheaper than a start-up each) whose children run 30 messages each: 34 processes
	local sock=$BATS_TEST_TMPDIR/filter.sock d=$BATS_TEST_TMPDIR
	"$SINK_BUILD/bin/sink-filterd" -s "$sock" -j 2 --spare 1 --runs-per-child 30 </dev/null >/dev/null 2>&1 &
	local pid=$!
	wait_for 10 test -S "$sock"
	# (under a sanitizer a client's start costs ten times as much: 250 addresses then, and the share is left to
	# t/unit/test-persona.c, which counts the same hash over 1,000 and 2,000 addresses)
	local N=1000
	[[ -z ${SINK_SANITIZED:-} ]] || N=250
	personas "$d/first" 1 0 --server "$sock"
	n=$(grep -c ' mpp$' "$d/first")
	echo "MPP: $n of $N"
	[[ -n ${SINK_SANITIZED:-} ]] || ((n >= 260 && n <= 340))
	# again with other seeds, a few years later; and the first 100 in sink-filter's own process
	SINK_NOW=2031-02-03T04:05:06Z personas "$d/second" 7919 13 --server "$sock"
	diff "$d/first" "$d/second"
	N=100 personas "$d/own" 31 5 --no-server
	diff <(head -100 "$d/first") "$d/own"
	# the salt places every address afresh: about 42 % of them change (two independent 30 % draws)
	config "${NOMIX[@]}" MPP_percent=30 Persona_Salt=another
	N=100 personas "$d/salted" 1 0 --server "$sock"
	kill "$pid"
	wait "$pid" || true
	changed=$(diff <(head -100 "$d/first") "$d/salted" | grep -c '^<' || true)
	echo "changed with the salt: $changed of 100"
	((changed >= 20))
}

@test "an mpp. message with no images and a scanner. one with no links: the step shows why, nothing fetched, neither counted" {
	config "${NOMIX[@]}"
	make_msg "$MSG" to=x@mpp.sink.test html="$(links 2)"
	run filter --json <"$MSG"
	assert_success
	echo "$output" | jq -e '[.actions[] | select(.by == "mpp") | .reply] == ["no pixels found"]'
	make_msg "$MSG" to=x@scanner.sink.test html="$(pixels 2)"
	run filter --json <"$MSG"
	assert_success
	echo "$output" | jq -e '[.actions[] | select(.by == "scanner") | .reply] == ["no links found"]'
	run persona_requests
	assert_equal "$output" ""
	assert_equal "$(counter open_prefetch)" 0
	assert_equal "$(counter click_scanner)" 0
	assert_equal "$(counter accept)" 2
}

@test "an oob message to an mpp. address has no machine traffic; an accepted one loads the action module only with a persona" {
	config "${NOMIX[@]}" OOB_percent=100
	make_msg "$MSG" to=x@mpp.sink.test "${ONECLICK[@]}"
	run filter --dry-run --json <"$MSG"
	assert_success
	echo "$output" | jq -e '.class == "oob" and .persona == ["mpp"] and ([.actions[] | select(.by != "reader")] == [])'
	# accepted: without a persona libcurl's module is never mapped (nor, in its own process, is sink-filter-local
	# run, which has it); with one it is
	config "${NOMIX[@]}"
	make_msg "$MSG" to=x@accept.sink.test
	traced -f -qq -e trace=execve,openat -e signal=none -o "$BATS_TEST_TMPDIR/trace" -- \
		"$SINK_FILTER" --no-server -c "$SINK_INI" <"$MSG"
	run grep -E 'libbouncysink-act|execve\("[^"]*/sink-filter-local"' "$BATS_TEST_TMPDIR/trace"
	assert_output ""
	make_msg "$MSG" to=x@mpp.sink.test
	traced -f -qq -e trace=execve,openat -e signal=none -o "$BATS_TEST_TMPDIR/trace" -- \
		"$SINK_FILTER" --no-server -c "$SINK_INI" <"$MSG"
	grep -qE 'openat\([^)]*/libbouncysink-act\.so", [^)]*\) = [0-9]' "$BATS_TEST_TMPDIR/trace"
	assert_equal "$(counter open_prefetch)" 1
}

@test "dry run: the persona and its planned requests are listed; nothing is probed or fetched" {
	config Upstream_Handled=0 OOB_percent=0 FBL_percent=0 Open_percent=100 Open_Again_percent=0 Click_percent=100 \
		Click_Again_percent=0 Weekly_Cycle_Open_Rate=1,1,1,1,1,1,1 Signals_Traffic_Prefix= MPP_percent=100
	make_msg "$MSG" to=x@scanner.sink.test "${ONECLICK[@]}" html="$(pixels 1)$(links 1)"
	run filter --dry-run --json <"$MSG"
	assert_success
	echo "$output" | jq -e '.class == "openclick" and .persona == ["mpp", "scanner"] and (.scanner_user_agent | length > 0)'
	assert_equal "$(echo "$output" | jq -c '[.actions[] | [.type, .by, .method, .target]]')" \
		'[["click","scanner","HEAD","http://track.test/l/1"],["click","scanner","HEAD","http://track.test/u/oneclick?id=7"],["click","scanner","GET","http://track.test/l/1"],["click","scanner","GET","http://track.test/u/oneclick?id=7"],["open","mpp",null,"http://track.test/q/p1"],["open","reader",null,null],["click","reader",null,"http://track.test/l/1"]]'
	assert_equal "$(wc -l <"$HTTP_LOG")" 0
	assert_equal "$(rcli DBSIZE)" 0
}

@test "User_Agent_Per_Address = true: an address's reader keeps its one User-Agent whatever the seed" {
	config "${ALL[@]}" User_Agent_Per_Address=true User_Agents_File="$UA_FILE"
	make_msg "$MSG" to=x@openclick.sink.test html="$(pixels 1)"
	local a s agents=""
	for a in 1 2 3 4 5 6 7 8; do
		seen=$(for s in 1 2 3 4; do filter --dry-run --json --seed "$s" --to "r$a@openclick.sink.test" <"$MSG" | jq -r .user_agent; done | sort -u)
		assert_equal "$(wc -l <<<"$seen")" 1
		agents+="$seen"$'\n'
	done
	(($(sort -u <<<"$agents" | grep -c .) > 1))	# other addresses, other agents
	# without it, the seed draws the agent
	config "${ALL[@]}" User_Agents_File="$UA_FILE"
	seen=$(for s in 1 2 3 4 5 6 7 8; do filter --dry-run --json --seed "$s" <"$MSG" | jq -r .user_agent; done | sort -u)
	(($(wc -l <<<"$seen") > 1))
}

@test "the log line and sink-stats show the personas and what they did" {
	config "${NOMIX[@]}" MPP_percent=100
	make_msg "$MSG" to=x@scanner.sink.test html="$(pixels 1)$(links 1)"
	run filter <"$MSG"
	assert_success
	assert_whole_log 1
	line=$(log_lines)
	[[ $line == *',accept/mix,persona=mpp+scanner,dkim=pass,'* ]]
	[[ $line == *',click/scanner HEAD http://track.test/l/1 200,click/scanner GET http://track.test/l/1 200,open/mpp http://track.test/q/p1 200'* ]]
	run "$SINK_STATS" -c "$SINK_INI" --json
	assert_success
	echo "$output" | jq -e '.open_prefetch == 1 and .click_scanner == 1 and .accept == 1'
}
