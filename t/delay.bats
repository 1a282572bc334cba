#!/usr/bin/env bats
# delay.bats: delayed steps (SPEC section 20). sink-filter queues a step that waits as a job in Redis and
# exits; sink-worker runs it when due, once, whichever of several workers claims it, and again after its
# lease when the worker that had it died. Runs in the mini internet: track.test logs every request to $HTTP_LOG
# with its time.
#
# Run: SINK_BUILD=/path/to/build t/netns-run bats t/delay.bats

load lib/common
load lib/sink
load lib/report

SINK_WORKER="$SINK_BUILD/bin/sink-worker"
RCPT=x@openclick.sink.test
OPEN_ONLY=(Open_percent=50 Open_Again_percent=0 Click_percent=0 Click_Again_percent=0 Upstream_Handled=0)
OPEN_CLICK=(Open_percent=50 Open_Again_percent=0 Click_percent=50 Click_Again_percent=0 Upstream_Handled=0)
P="consume-mail:0:"

setup() {
	reset_servers
	MSG=$BATS_TEST_TMPDIR/msg.eml
	WORKERS=()
}

teardown() {
	local pid
	for pid in "${WORKERS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
	for pid in "${WORKERS[@]}"; do wait "$pid" 2>/dev/null || true; done
}

config() {
	sink_config DKIM_Check=off Message_Timeout=5 "$@"
}

# worker [ARGS]: a sink-worker in the background on $SINK_INI, its pid in WORKERS and $!
worker() {
	"$SINK_WORKER" -c "$SINK_INI" "$@" 2>>"$BATS_TEST_TMPDIR/worker.err" &
	WORKERS+=($!)
}

queued() {
	echo $(($(rcli ZCARD "${P}jobs:due") + $(rcli ZCARD "${P}jobs:lease")))
}

# has N CMD...: CMD prints N (for wait_for, which runs its command again each time)
has() {
	local n=$1
	shift
	[[ $("$@") == "$n" ]]
}

# requests PATH-REGEX: how many logged requests have a path matching PATH-REGEX
requests() {
	jq -r .path "$HTTP_LOG" | grep -cE -- "$1" || true
}

@test "Open_Delay = 2s-3s: sink-filter queues the open and exits; the worker fetches the pixel 2-3 s later, as the reader" {
	config "${OPEN_ONLY[@]}" Open_Delay=2s-3s
	make_msg "$MSG" to=$RCPT html="<html><body>$(pixels 1)</body></html>"
	local start=$EPOCHREALTIME
	run filter --json <"$MSG"
	assert_success
	local done=$EPOCHREALTIME
	echo "$output" | jq -e '.class == "openclick" and (.actions | length) == 0'
	echo "$output" | jq -e '.delayed | length == 1 and .[0].step == "open" and .[0].delay >= 2 and .[0].delay <= 3 and (.[0].job | length) == 32'
	local ua
	ua=$(echo "$output" | jq -r .user_agent)
	assert_equal "$(counter open)" 0
	assert_equal "$(counter jobs_scheduled)" 1
	# and in the message's minute of the dashboard's hash
	local k
	assert_equal "$(for k in $(rcli --scan --pattern "${P}tso_*"); do rcli HGET "$k" jobs_scheduled; done)" 1
	assert_equal "$(requests '^/q/p1$')" 0
	# nor is the host asked what it is (the probe, /f/a): that is the job's, when it runs
	assert_equal "$(requests '^/f/a$')" 0
	assert_equal "$(queued)" 1
	worker
	wait_for 6 has 1 requests '^/q/p1$' 
	local t
	t=$(jq -r 'select(.path == "/q/p1") | .t' "$HTTP_LOG")
	# 2 to 3 s after sink-filter queued it (and the worker's poll: at most 1 s late, far less in practice); it
	# queued it between its start and its exit (which, under a sanitizer, can come well after)
	awk -v t="$t" -v s="$start" -v d="$done" 'BEGIN { exit !(t - s >= 2 && t - d <= 3.6) }'
	assert_equal "$(jq -r 'select(.path == "/q/p1") | .user_agent' "$HTTP_LOG")" "$ua"
	wait_for 3 has 1 counter open
	assert_equal "$(counter jobs_run)" 1
	assert_equal "$(queued)" 0
	assert_equal "$(rcli HLEN "${P}jobs:data")" 0
	log_lines | grep -q '^[^,]*,sink-worker,.*open '
}

@test "Open_Delay and Click_Delay: the click job follows its open by Click_Delay, chained by the worker" {
	config "${OPEN_CLICK[@]}" Open_Delay=1s Click_Delay=1s
	make_msg "$MSG" to=$RCPT html="<html><body>$(pixels 1)$(links 1)</body></html>"
	run filter --json <"$MSG"
	assert_success
	echo "$output" | jq -e '[.delayed[].step] == ["open", "click"] and .delayed[0].job == .delayed[1].job'
	worker
	wait_for 6 has 1 counter click
	local o c
	o=$(jq -r 'select(.path == "/q/p1") | .t' "$HTTP_LOG")
	c=$(jq -r 'select(.path == "/l/1") | .t' "$HTTP_LOG")
	awk -v o="$o" -v c="$c" 'BEGIN { exit !(c - o >= 0.95 && c - o <= 2.2) }'
	assert_equal "$(counter open)" 1
	assert_equal "$(counter jobs_run)" 2
	assert_equal "$(counter jobs_scheduled)" 2
}

@test "X-Bouncy-Sink: delay= sets the first step's delay; a delayed OOB goes out from the worker with the original" {
	config OOB_Delay=0
	make_msg "$MSG" to=x@oob.sink.test extra_header="X-Bouncy-Sink: delay=1s"
	run filter --client-ip 192.0.2.10 --json <"$MSG"
	assert_success
	echo "$output" | jq -e '.plan.delay == 1 and .delayed[0].step == "oob"'
	assert_equal "$(smtp_messages)" 0
	run "$SINK_WORKER" -c "$SINK_INI" --once
	assert_success
	assert_equal "$(smtp_messages)" 0	# not due yet
	sleep 1.1
	run "$SINK_WORKER" -c "$SINK_INI" --once
	assert_success
	assert_equal "$(smtp_messages)" 1
	assert_equal "$(counter oob_sent)" 1
	grep -qi '^Status: 5.1.1' "$(smtp_eml 1)"
}

@test "FBL_Delay and Autoreply_Delay: the complaint and the out-of-office reply leave from the worker, signed, the reply once per pair" {
	SINK_SIGNING=1 config FBL_Delay=1s Autoreply_Delay=1s Autoreply_Interval_Days=7
	make_msg "$BATS_TEST_TMPDIR/fbl.raw" to=x@fbl.sink.test
	sign_msg "$BATS_TEST_TMPDIR/fbl.raw" "$BATS_TEST_TMPDIR/fbl.eml"
	make_msg "$BATS_TEST_TMPDIR/ooto.raw" to=x@autoreply.sink.test subject="Quarterly report"
	sign_msg "$BATS_TEST_TMPDIR/ooto.raw" "$BATS_TEST_TMPDIR/ooto.eml"
	# the message came an hour ago (its clock): the complaint says so, whenever the job sends it
	local came
	came=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)
	SINK_NOW=$came run filter --client-ip 192.0.2.10 --json <"$BATS_TEST_TMPDIR/fbl.eml"
	assert_success
	echo "$output" | jq -e '.class == "fbl" and .delayed[0].step == "fbl"'
	for _ in 1 2; do	# the second of the pair: queued too, and skipped by the interval when it runs
		run filter --client-ip 192.0.2.10 --json <"$BATS_TEST_TMPDIR/ooto.eml"
		assert_success
		echo "$output" | jq -e '.class == "autoreply" and .delayed[0].step == "autoreply"'
	done
	assert_equal "$(smtp_messages)" 0
	assert_equal "$(counter fbl_sent)" 0
	assert_equal "$(queued)" 3
	sleep 1.1
	run "$SINK_WORKER" -c "$SINK_INI" --once
	assert_success
	assert_equal "$(queued)" 0
	assert_equal "$(smtp_messages)" 2
	assert_equal "$(counter fbl_sent)" 1
	assert_equal "$(counter autoreply_sent)" 1
	assert_equal "$(counter autoreply_skipped)" 1
	assert_equal "$(counter jobs_run)" 3
	smtp_all_signed sink.test
	local arf reply
	arf=$(grep -l 'report-type=feedback-report' "$SMTP_SPOOL"/*.eml)
	reply=$(grep -il '^Auto-Submitted: auto-replied' "$SMTP_SPOOL"/*.eml)
	facts "$arf" >"$BATS_TEST_TMPDIR/f"
	assert_equal "$(fact block0.Feedback-Type "$BATS_TEST_TMPDIR/f")" abuse
	# the complaint says when the message came, not when the worker sent it
	"$PY" - "$(fact block0.Arrival-Date "$BATS_TEST_TMPDIR/f")" "$came" <<'PYEOF'
import datetime, email.utils, sys
arrival = email.utils.parsedate_to_datetime(sys.argv[1])
came = datetime.datetime.strptime(sys.argv[2], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
assert arrival == came, (arrival, came)
PYEOF
	grep -q '^Subject: Auto: Quarterly report' "$reply"
	assert_equal "$(jq -r .mail_from "${reply%.eml}.json")" "<>"
}

@test "Unsubscribe_Delay: the one-click POST comes from the worker, the message's signature still judged eligible" {
	config Unsubscribe_Allow_HTTP=true Unsubscribe_Delay=1s DKIM_Check=verify
	make_msg "$BATS_TEST_TMPDIR/u.raw" to=x@unsubscribe.sink.test \
		'extra_header=List-Unsubscribe: <http://track.test/u/1?id=42>' \
		'extra_header=List-Unsubscribe-Post: List-Unsubscribe=One-Click'
	SIGN_HEADERS=from:to:subject:date:message-id:list-unsubscribe:list-unsubscribe-post \
		sign_msg "$BATS_TEST_TMPDIR/u.raw" "$BATS_TEST_TMPDIR/u.eml"
	run filter --client-ip 192.0.2.10 --json <"$BATS_TEST_TMPDIR/u.eml"
	assert_success
	echo "$output" | jq -e '.class == "unsubscribe" and .one_click.eligible == true and .delayed[0].step == "unsubscribe"'
	assert_equal "$(requests '^/u/')" 0
	sleep 1.1
	run "$SINK_WORKER" -c "$SINK_INI" --once
	assert_success
	assert_equal "$(jq -c 'select(.path | startswith("/u/")) | [.method, .path, .form]' "$HTTP_LOG")" \
		'["POST","/u/1?id=42",{"List-Unsubscribe":["One-Click"]}]'
	assert_equal "$(counter unsubscribe_one_click)" 1
	assert_equal "$(counter jobs_run)" 1
	# the verdict counted once, by sink-filter: the job judges it again, and counts nothing of it
	assert_equal "$(counter one_click_ready)" 1
	assert_equal "$(counter one_click_not_ready)" 0
}

@test "Unsubscribe_Delay on a message past Report_Original_Max: the job keeps its body, whose HTML link the worker follows" {
	config Unsubscribe_Delay=1s Report_Original_Max=500
	make_msg "$MSG" to=x@unsubscribe.sink.test \
		html='<html><body><p>News. <a data-msys-unsubscribe="1" href="http://track.test/u/body">leave</a></p></body></html>'
	(($(stat -c %s "$MSG") > 500))
	run filter --json <"$MSG"
	assert_success
	echo "$output" | jq -e '.class == "unsubscribe" and .delayed[0].step == "unsubscribe"'
	sleep 1.1
	run "$SINK_WORKER" -c "$SINK_INI" --once
	assert_success
	assert_equal "$(requests '^/u/body$')" 1
	assert_equal "$(counter unsubscribe_link)" 1
	assert_equal "$(counter unsubscribe_none)" 0
}

@test "one worker's jobs share its Redis connections: 12 delayed opens, two connections for all of them (the claims', the jobs')" {
	config "${OPEN_ONLY[@]}" Open_Delay=1s
	make_msg "$MSG" to=$RCPT html="<html><body>$(pixels 1)</body></html>"
	for i in $(seq 12); do filter <"$MSG" || fail "message $i: exit $?"; done
	assert_equal "$(queued)" 12
	sleep 1.2
	before=$(redis_connections)
	run "$SINK_WORKER" -c "$SINK_INI" --once
	assert_success
	after=$(redis_connections)
	conns=$((after - before - 1))	# (the second INFO's own connection left out)
	echo "worker's connections: $conns"
	assert_equal "$(counter jobs_run)" 12
	assert_equal "$(requests '^/q/p1$')" 12
	# each job asks the tracking cache what track.test is: on the connection the job before it left
	((conns == 2))
}

@test "Redis down when the step is scheduled: it runs at once, and the log says why" {
	config "${OPEN_ONLY[@]}" Open_Delay=1h
	make_msg "$MSG" to=$RCPT html="<html><body>$(pixels 1)</body></html>"
	REDIS_URL=unix:/nonexistent/redis.sock run filter --json <"$MSG"
	assert_success
	echo "$output" | jq -e '.delayed == [] and ([.actions[].type] == ["open"])'
	echo "$output" | jq -e '[.notes[] | select(test("open not delayed: Redis unreachable; run at once"))] | length == 1'
	assert_equal "$(requests '^/q/p1$')" 1
}

@test "Redis slow when the step is scheduled (no answer within 2 s, then the job queued): the step waits for its worker, done once" {
	config "${OPEN_ONLY[@]}" Open_Delay=1s Tracking_Domains_Allowlist=track.test
	make_msg "$MSG" to=$RCPT html="<html><body>$(pixels 1)</body></html>"
	filter <"$MSG"	# (the script that queues loaded, so that it runs when the sleep below ends)
	reset_servers
	rcli CLIENT PAUSE 3000 ALL >/dev/null	# every command waits 3 s
	run filter --json <"$MSG"
	assert_success
	jq -c '[.notes, .errors]' <<<"$output"
	echo "$output" | jq -e '(.delayed | length) == 1 and ([.actions[].type] == [])'
	echo "$output" | jq -e '[.notes[] | select(test("^open: Redis answered late, the job queued$"))] | length == 1'
	assert_equal "$(requests '^/q/p1$')" 0
	assert_equal "$(rcli HLEN "${P}jobs:data")" 1
	sleep 1
	run "$SINK_WORKER" -c "$SINK_INI" --once
	assert_success
	assert_equal "$(requests '^/q/p1$')" 1
	assert_equal "$(counter jobs_run)" 1
	assert_equal "$(queued)" 0
}

@test "a delayed open of a Signals address follows the rule on the day it would be made: not on a day its digit may not open" {
	# test+u5@ may open on days 3 and 18 (the original's Digit5_days)
	config Upstream_Handled=0 OOB_percent=0 FBL_percent=0 Open_percent=100 Open_Again_percent=0 Click_percent=0 \
		Click_Again_percent=0 Weekly_Cycle_Open_Rate=1,1,1,1,1,1,1 Open_Delay=1s
	make_msg "$MSG" to=test+u5@news.sink.test html="<html><body>$(pixels 1)</body></html>"
	SINK_NOW=2026-12-03T23:59:59Z run filter --json <"$MSG"
	assert_success
	echo "$output" | jq -e '.class == "openclick" and .route == "mix" and .delayed[0].step == "open"'
	sleep 1.1
	SINK_NOW=2026-12-04T00:00:01Z run "$SINK_WORKER" -c "$SINK_INI" --once
	assert_success
	assert_equal "$(requests '^/q/')" 0
	assert_equal "$(counter open)" 0
	assert_equal "$(counter jobs_run)" 1
	grep -q 'Signals address: no opens on day 4; the open is not made' "$SINK_LOG.2026-12-04"
	# the same on an allowed day: the pixel is fetched
	SINK_NOW=2026-12-03T23:59:59Z run filter <"$MSG"
	sleep 1.1
	SINK_NOW=2026-12-18T10:00:00Z run "$SINK_WORKER" -c "$SINK_INI" --once
	assert_success
	assert_equal "$(requests '^/q/')" 1
	assert_equal "$(counter open)" 1
}

@test "a delayed step that will not run is not in the record's delayed list: an oob whose SPF fails, opens of a message without HTML" {
	config OOB_Delay=1h SPF_Required_Direct=true
	make_msg "$MSG" to=x@oob.sink.test
	run filter --client-ip 198.51.100.7 --json <"$MSG"	# (not in sender.test's SPF record)
	assert_success
	echo "$output" | jq -e '.class == "oob" and .spf == "fail" and ((.delayed // []) | length) == 0'
	assert_equal "$(counter fail_spf)" 1
	config "${OPEN_CLICK[@]}" Open_percent=100 Click_percent=100 Open_Delay=1h Click_Delay=1h
	make_msg "$MSG" to=$RCPT html=
	run filter --json <"$MSG"
	assert_success
	echo "$output" | jq -e '.class == "openclick" and (.errors | index("No HTML body found")) and ((.delayed // []) | length) == 0'
	assert_equal "$(queued)" 0
}

@test "a reader's step that waits probes nothing at delivery: with the open now and the click later, only the pixel's host is asked" {
	config "${OPEN_CLICK[@]}" Open_percent=100 Click_percent=100 Click_Delay=1h Tracking_Domains_Allowlist=
	make_msg "$MSG" to=$RCPT html='<html><body><img src="http://track.test/q/p1"><a href="http://web.test/l/1">go</a></body></html>'
	run filter --json <"$MSG"
	assert_success
	echo "$output" | jq -e '.delayed[0].step == "click"'
	assert_equal "$(jq -r 'select(.host | startswith("track.test")) | .path' "$HTTP_LOG" | grep -c '^/f/a$')" 1
	assert_equal "$(jq -r 'select(.host | startswith("web.test")) | .path' "$HTTP_LOG" | wc -l)" 0
}

@test "Delay_Queue_Max: past it the step runs at once, with a note; jobs_not_delayed counts it" {
	config "${OPEN_ONLY[@]}" Open_Delay=1h Delay_Queue_Max=1
	make_msg "$MSG" to=$RCPT html="<html><body>$(pixels 1)</body></html>"
	filter >/dev/null <"$MSG"
	run filter --json <"$MSG"
	echo "$output" | jq -e '[.notes[] | select(test("queue holds Delay_Queue_Max"))] | length == 1'
	assert_equal "$(requests '^/q/p1$')" 1
	assert_equal "$(counter jobs_not_delayed)" 1
	assert_equal "$(queued)" 1
}

@test "a corrupt job gets a clear log line, is counted failed and removed; the worker goes on with the next" {
	config "${OPEN_ONLY[@]}" Open_Delay=1s
	make_msg "$MSG" to=$RCPT html="<html><body>$(pixels 1)</body></html>"
	filter <"$MSG"
	rcli HSET "${P}jobs:data" bad1 'not a job at all' >/dev/null
	rcli ZADD "${P}jobs:due" 0 bad1 >/dev/null
	sleep 1.1
	run "$SINK_WORKER" -c "$SINK_INI" --once
	assert_success
	assert_output --partial "job bad1: cannot be read: not a job"
	assert_equal "$(counter jobs_failed)" 1
	assert_equal "$(counter jobs_run)" 1
	assert_equal "$(counter open)" 1
	assert_equal "$(queued)" 0
	log_lines | grep -q 'sink-worker,WARNING,-,-,-,"\?!job bad1: cannot be read'
}

@test "a job whose host now stalls ends within Open_Click_Timeout" {
	config "${OPEN_ONLY[@]}" Open_Delay=1s Open_Click_Timeout=2
	make_msg "$MSG" to=$RCPT html='<html><body><img src="http://track.test/slow/20000/q/p1"></body></html>'
	filter <"$MSG"
	sleep 1
	local t0=$EPOCHREALTIME
	run "$SINK_WORKER" -c "$SINK_INI" --once
	assert_success
	local took=$(((${EPOCHREALTIME/./} - ${t0/./}) / 1000))
	((took < 3500))
	assert_equal "$(counter jobs_run)" 1
	assert_equal "$(queued)" 0
	log_lines | grep 'sink-worker' | grep -q '!open '
}

@test "a worker killed in the middle of a job: another runs it once after the lease (Message_Timeout + 2 s)" {
	config "${OPEN_ONLY[@]}" Open_Delay=1s Message_Timeout=2 Open_Click_Timeout=2
	make_msg "$MSG" to=$RCPT html='<html><body><img src="http://track.test/slow/1500/q/p1"></body></html>'
	filter <"$MSG"
	worker
	local first=$!
	wait_for 5 has 1 requests '^/slow/'
	kill -KILL "$first"
	local killed=$EPOCHREALTIME
	assert_equal "$(counter open)" 0
	assert_equal "$(rcli ZCARD "${P}jobs:lease")" 1
	worker
	wait_for 8 has 1 counter jobs_run
	assert_equal "$(requests '^/slow/')" 2
	local t
	t=$(jq -r 'select(.path | startswith("/slow/")) | .t' "$HTTP_LOG" | tail -1)
	awk -v t="$t" -v k="$killed" 'BEGIN { exit !(t - k >= 2.5) }'	# not before the lease ended
	wait_for 3 has 1 counter open
	sleep 0.5
	assert_equal "$(counter open)" 1
	assert_equal "$(queued)" 0
}

@test "sink-worker -j 2: SIGHUP stops nothing; a worker that dies of a signal is said and started again, and its job still runs once; SIGTERM stops them all, exit 0" {
	config "${OPEN_ONLY[@]}" Open_Delay=1s
	worker -j 2
	local parent=$!
	wait_for 5 has 2 pgrep -c -P "$parent"
	# a hang-up stops nothing
	kill -HUP "$parent" $(pgrep -P "$parent")
	sleep 0.3
	kill -0 "$parent"
	assert_equal "$(pgrep -c -P "$parent")" 2
	local dead
	dead=$(pgrep -P "$parent" | head -1)
	kill -KILL "$dead"	# (as the OOM killer: no sanitizer turns it into an exit)
	wait_for 5 grep -q "^sink-worker: worker $dead died of signal 9 (Killed); another starts in 1 s$" \
		"$BATS_TEST_TMPDIR/worker.err"
	wait_for 5 has 2 pgrep -c -P "$parent"
	! pgrep -P "$parent" | grep -qx "$dead" || false
	# the new one and its sibling run what comes
	make_msg "$MSG" to=$RCPT html="<html><body>$(pixels 1)</body></html>"
	filter <"$MSG"
	wait_for 6 has 1 counter jobs_run
	assert_equal "$(requests '^/q/p1$')" 1
	kill -TERM "$parent"
	local st=0
	wait "$parent" || st=$?
	assert_equal "$st" 0
	[ -z "$(pgrep -P "$parent")" ]
}

@test "sink-worker --once -j 3 (cron) runs the due jobs three at a time, then exits 0" {
	config "${OPEN_ONLY[@]}" Open_Delay=1s Open_Click_Timeout=5
	for i in 1 2 3; do
		make_msg "$MSG" to=$RCPT html="<html><body><img src=\"http://track.test/slow/1500/q/p$i\"></body></html>"
		filter <"$MSG"
	done
	assert_equal "$(queued)" 3
	sleep 1.1
	local t0=$EPOCHREALTIME
	run "$SINK_WORKER" -c "$SINK_INI" --once -j 3
	local took=$(((${EPOCHREALTIME/./} - ${t0/./}) / 1000))
	echo "$output (took $took ms)"
	assert_success
	assert_output ""
	assert_equal "$(counter jobs_run)" 3
	assert_equal "$(counter open)" 3
	assert_equal "$(queued)" 0
	# the three 1.5 s fetches at once: they began within a second of each other (one after the other, 1.5 s
	# apart), and the run took no 4.5 s
	jq -rs '[.[] | select(.path | startswith("/slow/")) | .t] | (max - min) < 1' "$HTTP_LOG" | grep -qx true
	((took >= 1500 && took < 4400))
}

@test "a single sink-worker (no -j) and a --once run stop on SIGTERM, not on SIGHUP" {
	config "${OPEN_ONLY[@]}" Open_Delay=1s
	worker
	local single=$!
	# (once it ignores SIGHUP: before that, at its start, the default would end it)
	wait_for 5 bash -c '(( 0x$(awk "/^SigIgn/ { print \$2 }" /proc/$0/status) & 1 ))' "$single"
	kill -HUP "$single"
	sleep 0.3
	kill -0 "$single"
	# what comes is still run
	make_msg "$MSG" to=$RCPT html="<html><body>$(pixels 1)</body></html>"
	filter <"$MSG"
	wait_for 6 has 1 counter jobs_run
	kill -TERM "$single"
	local st=0
	wait "$single" || st=$?
	assert_equal "$st" 0
	# --once, busy with a slow job when the hang-up comes
	make_msg "$MSG" to=$RCPT html='<html><body><img src="http://track.test/slow/1500/q/p2"></body></html>'
	filter <"$MSG"
	sleep 1.1
	"$SINK_WORKER" -c "$SINK_INI" --once &
	local once=$!
	WORKERS+=("$once")
	wait_for 5 has 1 requests '^/slow/'
	(( 0x$(awk '/^SigIgn/ { print $2 }' "/proc/$once/status") & 1 ))
	kill -HUP "$once"
	st=0
	wait "$once" || st=$?
	assert_equal "$st" 0
	assert_equal "$(counter jobs_run)" 2
}

@test "sink-worker -j 2 loads the modules before its workers: workers started again after an upgrade was installed run with their own build's" {
	config "${OPEN_ONLY[@]}" Open_Delay=1s
	# the modules where this worker finds them, as installed
	mkdir "$BATS_TEST_TMPDIR/mods"
	ln -s "$SINK_BUILD/lib/dkim/libbouncysink-dkim.so" "$SINK_BUILD/lib/act/libbouncysink-act.so" \
		"$BATS_TEST_TMPDIR/mods/"
	SINK_MODULE_DIR=$BATS_TEST_TMPDIR/mods worker -j 2
	local parent=$! w
	wait_for 5 has 2 pgrep -c -P "$parent"
	# an upgrade installs another build's action module; both workers die and are started again
	echo 'const void *sink_act_module[16];' >"$BATS_TEST_TMPDIR/new.c"
	rm "$BATS_TEST_TMPDIR/mods/libbouncysink-act.so"
	cc -shared -fPIC -o "$BATS_TEST_TMPDIR/mods/libbouncysink-act.so" "$BATS_TEST_TMPDIR/new.c"
	for w in $(pgrep -P "$parent"); do kill -KILL "$w"; done
	wait_for 5 has 2 pgrep -c -P "$parent"
	make_msg "$MSG" to=$RCPT html="<html><body>$(pixels 1)</body></html>"
	filter <"$MSG"
	wait_for 6 has 1 counter jobs_run
	assert_equal "$(requests '^/q/p1$')" 1
	! grep -q 'cannot run jobs' "$BATS_TEST_TMPDIR/worker.err" || false
}

@test "sink-worker -j 2 with a bad config: the workers exit 75, and so does sink-worker" {
	config
	echo "Open_Delay = soon" >>"$SINK_INI"
	run timeout 10 "$SINK_WORKER" -c "$SINK_INI" -j 2
	assert_equal "$status" 75
	assert_output --partial "Open_Delay"
}

@test "the action module missing (an upgrade): no job is claimed, one line says why; --once exits 75; the jobs run once it is back" {
	config "${OPEN_ONLY[@]}" Open_Delay=1s
	make_msg "$MSG" to=$RCPT html="<html><body>$(pixels 1)</body></html>"
	filter <"$MSG"
	filter <"$MSG"
	sleep 1.1
	run env SINK_MODULE_DIR="$BATS_TEST_TMPDIR/nothing" "$SINK_WORKER" -c "$SINK_INI" --once -v
	assert_equal "$status" 75
	assert_equal "$(rcli ZCARD "${P}jobs:due")" 2
	assert_equal "$(rcli ZCARD "${P}jobs:lease")" 0
	assert_equal "$(rcli HLEN "${P}jobs:tries")" 0
	# a long-running worker waits, saying so once
	SINK_MODULE_DIR="$BATS_TEST_TMPDIR/nothing" worker
	sleep 2.5
	kill -TERM $!
	wait $! || true
	assert_equal "$(rcli ZCARD "${P}jobs:due")" 2
	assert_equal "$(rcli HLEN "${P}jobs:tries")" 0
	assert_equal "$(log_lines | grep -c 'cannot run jobs: cannot load .*libbouncysink-act.so.*; none claimed')" 2
	assert_equal "$(log_lines | grep -c '; none claimed; trying again every second')" 1	# (not --once's)
	assert_equal "$(requests '^/q/')" 0
	# back: each runs once
	run "$SINK_WORKER" -c "$SINK_INI" --once
	assert_success
	assert_equal "$(requests '^/q/p1$')" 2
	assert_equal "$(counter jobs_run)" 2
	assert_equal "$(counter jobs_failed)" 0
}

@test "Redis refusing the claim (a key of the wrong type): --once exits 75 with one line; a running worker says it once" {
	config "${OPEN_ONLY[@]}" Open_Delay=1s
	rcli SET "${P}jobs:lease" "not a sorted set"
	run timeout 10 "$SINK_WORKER" -c "$SINK_INI" --once
	assert_equal "$status" 75
	assert_equal "$(log_lines | grep -c 'Redis: claim failed: WRONGTYPE')" 1
	worker
	sleep 3.5
	kill -TERM $!
	wait $! || true
	assert_equal "$(log_lines | grep -c 'Redis: claim failed: WRONGTYPE.*; trying again every second"$')" 1
}

@test "a running worker follows its config to another Redis (Redis_URL changed): the jobs queued there run" {
	local dir=$BATS_TEST_TMPDIR/redis2 sock=$BATS_TEST_TMPDIR/redis2/r.sock
	mkdir -p "$dir"
	redis-server --port 0 --unixsocket "$sock" --save '' --dir "$dir" >/dev/null 2>&1 3>&- &
	local rpid=$!
	wait_for 5 test -S "$sock"
	config "${OPEN_ONLY[@]}" Open_Delay=1s
	env -u REDIS_URL "$SINK_WORKER" -c "$SINK_INI" 2>>"$BATS_TEST_TMPDIR/worker.err" &
	WORKERS+=($!)
	sleep 1
	config "${OPEN_ONLY[@]}" Open_Delay=1s Redis_URL="unix:$sock"
	make_msg "$MSG" to=$RCPT html="<html><body>$(pixels 1)</body></html>"
	REDIS_URL=unix:$sock filter <"$MSG"
	assert_equal "$(redis-cli -s "$sock" ZCARD "${P}jobs:due")" 1
	wait_for 8 has 1 requests '^/q/p1$'
	wait_for 3 has 1 redis-cli -s "$sock" GET "${P}int_jobs_run"
	assert_equal "$(counter jobs_run)" 0
	redis-cli -s "$sock" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
	wait "$rpid" || true
}

@test "Redis restarted while jobs wait (appendonly): none is lost, each runs once" {
	local dir=$BATS_TEST_TMPDIR/redis sock=$BATS_TEST_TMPDIR/redis/r.sock
	mkdir -p "$dir"
	redis-server --port 0 --unixsocket "$sock" --save '' --appendonly yes --appendfsync always --dir "$dir" \
		>/dev/null 2>&1 &
	local rpid=$!
	wait_for 5 test -S "$sock"
	config "${OPEN_ONLY[@]}" Open_Delay=2s
	local REDIS_URL=unix:$sock	# (the environment's wins over the config's)
	local i
	for i in 1 2 3 4 5; do
		make_msg "$MSG" to=$RCPT html="<html><body>$(pixels 1 "r$i")</body></html>"
		filter <"$MSG"
	done
	assert_equal "$(redis-cli -s "$sock" ZCARD "${P}jobs:due")" 5
	redis-cli -s "$sock" SHUTDOWN >/dev/null 2>&1 || true
	wait "$rpid" || true
	redis-server --port 0 --unixsocket "$sock" --save '' --appendonly yes --dir "$dir" >/dev/null 2>&1 &
	rpid=$!
	wait_for 5 test -S "$sock"
	wait_for 5 redis-cli -s "$sock" PING
	assert_equal "$(redis-cli -s "$sock" ZCARD "${P}jobs:due")" 5
	sleep 2
	run "$SINK_WORKER" -c "$SINK_INI" --once
	assert_success
	assert_equal "$(redis-cli -s "$sock" GET "${P}int_open")" 5
	assert_equal "$(redis-cli -s "$sock" ZCARD "${P}jobs:due")" 0
	assert_equal "$(requests '^/r[0-9]q/p1$')" 5
	redis-cli -s "$sock" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
	wait "$rpid" || true
}

# own_redis [ARGS]: a Redis of the test's own with its data in an append-only file ($BATS_TEST_TMPDIR/redis), its
# socket in $sock, its pid in $rpid, REDIS_URL set to it; ARGS added to its command line
own_redis() {
	dir=$BATS_TEST_TMPDIR/redis sock=$BATS_TEST_TMPDIR/redis/r.sock
	mkdir -p "$dir"
	redis-server --port 0 --unixsocket "$sock" --save '' --appendonly yes --appendfsync always --dir "$dir" "$@" \
		>/dev/null 2>&1 3>&- &
	rpid=$!
	wait_for 5 test -S "$sock"
	REDIS_URL=unix:$sock
}

# slow_open_running MESSAGE_TIMEOUT: a delayed open whose pixel answers in 2 s, claimed and fetching by a worker
slow_open_running() {
	config "${OPEN_ONLY[@]}" Open_Delay=1s Message_Timeout="$1"
	make_msg "$MSG" to=$RCPT html='<html><body><img src="http://track.test/slow/2000/q/p1"></body></html>'
	filter <"$MSG"
	worker -v
	wait_for 5 has 1 requests '^/slow/'
	redis-cli -s "$sock" SHUTDOWN >/dev/null 2>&1 || true
	wait "$rpid" || true
}

@test "Redis restarted while a job runs (appendonly): the job ends on a new connection, its step done and counted once" {
	local dir sock rpid
	own_redis
	slow_open_running 5
	redis-server --port 0 --unixsocket "$sock" --save '' --appendonly yes --dir "$dir" >/dev/null 2>&1 3>&- &
	rpid=$!
	wait_for 5 redis-cli -s "$sock" PING
	wait_for 8 has 1 redis-cli -s "$sock" GET "${P}int_jobs_run"
	# past the lease (Message_Timeout + 2 s from the claim): nobody ran it again
	sleep 6
	assert_equal "$(requests '^/slow/')" 1
	assert_equal "$(redis-cli -s "$sock" GET "${P}int_open")" 1
	assert_equal "$(redis-cli -s "$sock" GET "${P}int_jobs_run")" 1
	assert_equal "$(redis-cli -s "$sock" ZCARD "${P}jobs:lease")" 0
	assert_equal "$(redis-cli -s "$sock" HLEN "${P}jobs:data")" 0
	grep -q 'job ended on a new connection to Redis' "$BATS_TEST_TMPDIR/worker.err"
	redis-cli -s "$sock" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
	wait "$rpid" || true
}

# aof_rewritten SOCK: the Redis at SOCK has no AOF rewrite going or waiting
aof_rewritten() {
	redis-cli -s "$1" INFO persistence | grep -q '^aof_rewrite_in_progress:0' &&
		redis-cli -s "$1" INFO persistence | grep -q '^aof_rewrite_scheduled:0'
}

@test "Redis still loading its data when the job ends (LOADING): the end is tried again while the lease lasts, the step done once" {
	local dir sock rpid
	own_redis --enable-debug-command yes
	# keys enough that a restart loads them for about 3 s (1 ms each, below)
	redis-cli -s "$sock" DEBUG POPULATE 3000 filler >/dev/null
	redis-cli -s "$sock" BGREWRITEAOF >/dev/null
	wait_for 5 aof_rewritten "$sock"
	slow_open_running 8
	redis-server --port 0 --unixsocket "$sock" --save '' --appendonly yes --dir "$dir" --key-load-delay 1000 \
		>/dev/null 2>&1 3>&- &
	rpid=$!
	wait_for 5 test -S "$sock"
	wait_for 12 has 1 redis-cli -s "$sock" GET "${P}int_jobs_run"
	# (the connection lost first, then LOADING on the new one: before, the end was given up at that answer)
	grep -q 'job ended on a new connection to Redis' "$BATS_TEST_TMPDIR/worker.err"
	! grep -q 'job not ended' "$BATS_TEST_TMPDIR/worker.err" || false
	# past the lease (Message_Timeout + 2 s from the claim): nobody ran it again
	sleep 4
	assert_equal "$(requests '^/slow/')" 1
	assert_equal "$(redis-cli -s "$sock" GET "${P}int_open")" 1
	assert_equal "$(redis-cli -s "$sock" ZCARD "${P}jobs:lease")" 0
	redis-cli -s "$sock" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
	wait "$rpid" || true
}

@test "500 messages with delayed opens and clicks, 2 workers: the counters the seeded decisions predict, each request inside its window" {
	local n=${DELAY_ACCEPTANCE_N:-500}
	config Open_percent=50 Open_Again_percent=10 Click_percent=25 Click_Again_percent=5 Upstream_Handled=0 \
		OOB_percent=0 FBL_percent=0 Open_Delay=1s-2s Click_Delay=1s-2s Tracking_Domains_Allowlist=track.test
	make_msg "$MSG" to=$RCPT html='<html><body><img src="http://track.test/PFXq/p1"><a href="http://track.test/PFXl/1">go</a></body></html>'
	local tmpl i out=$BATS_TEST_TMPDIR/records times=$BATS_TEST_TMPDIR/times
	tmpl=$(<"$MSG")
	"$SINK_WORKER" -c "$SINK_INI" -v 2>"$BATS_TEST_TMPDIR/w1.err" &
	WORKERS+=($!)
	"$SINK_WORKER" -c "$SINK_INI" -v 2>"$BATS_TEST_TMPDIR/w2.err" &
	WORKERS+=($!)
	for ((i = 1; i <= n; i++)); do
		local start=$EPOCHREALTIME
		filter --seed "$i" --json <<<"${tmpl//PFX/m$i}" >>"$out"
		echo "$i $start $EPOCHREALTIME" >>"$times"
	done
	# the prediction: each record's plan (sink-filter with the same --seed and --dry-run plans the same)
	for i in 1 2 3 17 250; do
		assert_equal "$(filter --seed "$i" --dry-run --json <<<"${tmpl//PFX/m$i}" | jq -c '[.plan, [.delayed[] | [.step, .delay]]]')" \
			"$(sed -n "${i}p" "$out" | jq -c '[.plan, [.delayed[] | [.step, .delay]]]')"
	done
	local want_jobs
	want_jobs=$(jq -s '[.[] | .delayed | length] | add' "$out")
	((want_jobs > n / 4))
	wait_for 20 has "$want_jobs" counter jobs_run
	assert_equal "$(queued)" 0
	for c in open open_again click click_again; do
		assert_equal "$(counter $c)" "$(jq -s --arg c $c '[.[] | .plan |
			if $c == "open" then (if .opens > 0 then 1 else 0 end) elif $c == "open_again" then ([.opens - 1, 0] | max)
			elif $c == "click" then (if .clicks > 0 then 1 else 0 end) else ([.clicks - 1, 0] | max) end] | add' "$out")"
	done
	assert_equal "$(counter jobs_failed)" 0
	# both workers ran jobs, and each request came inside its window
	grep -q sink-worker "$BATS_TEST_TMPDIR/w1.err"
	grep -q sink-worker "$BATS_TEST_TMPDIR/w2.err"
	"$PY" - "$out" "$times" "$HTTP_LOG" <<'PYEOF'
import json, sys, re
records = [json.loads(l) for l in open(sys.argv[1])]
# each job was queued between sink-filter's start and its exit (which, under a sanitizer, can come well after)
start = {int(l.split()[0]): float(l.split()[1]) for l in open(sys.argv[2])}
done = {int(l.split()[0]): float(l.split()[2]) for l in open(sys.argv[2])}
first = {}
count = {}
for l in open(sys.argv[3]):
    r = json.loads(l)
    m = re.match(r"^/m(\d+)([ql])/", r["path"])
    if m:
        k = (int(m.group(1)), m.group(2))
        first.setdefault(k, r["t"])
        count[k] = count.get(k, 0) + 1
bad = []
for i, rec in enumerate(records, 1):
    p, d = rec["plan"], {x["step"]: x["delay"] for x in rec["delayed"]}
    if count.get((i, "q"), 0) != p["opens"] or count.get((i, "l"), 0) != p["clicks"]:
        bad.append("%d: %s pixel and %s link requests for %d opens, %d clicks" % (i, count.get((i, "q")), count.get((i, "l")), p["opens"], p["clicks"]))
        continue
    if p["opens"]:
        lag = first[(i, "q")] - done[i]
        if not (first[(i, "q")] - start[i] >= d["open"] - 0.01 and lag <= d["open"] + 2.0):
            bad.append("%d: open %.2f s after sink-filter's start, %.2f s after its exit, delay %d"
                       % (i, first[(i, "q")] - start[i], lag, d["open"]))
    if p["clicks"]:
        lag = first[(i, "l")] - first[(i, "q")]
        if not d["click"] - 0.1 <= lag <= d["click"] + 2.0:
            bad.append("%d: click %.2f s after its open, delay %d" % (i, lag, d["click"]))
print("\n".join(bad[:20]))
sys.exit(1 if bad else 0)
PYEOF
}

@test "sink-stats shows the queue's depth, the oldest due job's lag and the jobs run, failed and expired (Prometheus, HTML); its JSON stays the original's, counters only" {
	config "${OPEN_ONLY[@]}" Open_Delay=1s
	make_msg "$MSG" to=$RCPT html="<html><body>$(pixels 1)</body></html>"
	filter <"$MSG"
	filter <"$MSG"
	rcli ZADD "${P}jobs:lease" 1 gone >/dev/null	# a job a dead worker left
	sleep 1.5
	run "$SINK_STATS" -c "$SINK_INI" --json
	assert_success
	# startedRunning and the int_ counters, nothing else: the queue's gauges are no counters
	echo "$output" | jq -e '.jobs_scheduled == 2'
	diff <(echo "$output" | jq -r 'keys[]' | grep -vx startedRunning | LC_ALL=C sort) \
		<(rcli --scan --pattern "${P}int_*" | sed "s/^${P}int_//" | LC_ALL=C sort)
	run "$SINK_STATS" -c "$SINK_INI" --prometheus
	assert_success
	assert_output --partial 'bouncy_sink_delay_jobs{results_key="0",state="running"} 1'
	assert_output --partial 'bouncy_sink_delay_jobs{results_key="0",state="waiting"} 2'
	echo "$output" | awk '/^bouncy_sink_delay_due_lag_seconds/ { lag = $2 } END { exit !(lag >= 0.4) }'
	if command -v promtool >/dev/null; then
		echo "$output" | promtool check metrics
	fi
	run "$SINK_STATS" -c "$SINK_INI" --html
	assert_success
	assert_output --partial 'Delayed steps'
	assert_output --partial 'jobs waiting</td><td class="n">2'
}

@test "sink-filterd --worker runs the due jobs too, starts its worker again when it dies, and stops it with itself" {
	config "${OPEN_ONLY[@]}" Open_Delay=1s
	make_msg "$MSG" to=$RCPT html="<html><body>$(pixels 1)</body></html>"
	filter <"$MSG"
	"$SINK_BUILD/bin/sink-filterd" -s "$BATS_TEST_TMPDIR/s.sock" --worker -c "$SINK_INI" 2>"$BATS_TEST_TMPDIR/d.err" &
	local d=$!
	WORKERS+=($d)
	wait_for 5 has 1 counter jobs_run
	assert_equal "$(counter open)" 1
	# its worker killed soon after its start: started again after a pause of 10 s, and it runs the next job
	local w
	w=$(sed -n 's/.*the worker runs the delayed steps. jobs (pid \([0-9]*\)).*/\1/p' "$BATS_TEST_TMPDIR/d.err")
	[[ -n $w ]]
	kill -KILL "$w"
	wait_for 5 grep -q "the worker (pid $w) died of signal 9 (Killed); started again in 10 s" "$BATS_TEST_TMPDIR/d.err"
	filter <"$MSG"
	wait_for 15 has 2 counter jobs_run
	assert_equal "$(counter open)" 2
	assert_equal "$(grep -c 'the worker runs the delayed' "$BATS_TEST_TMPDIR/d.err")" 2
	kill -TERM "$d"
	wait_for 5 bash -c "! kill -0 $d 2>/dev/null"
	! pgrep -f "s.sock --worker" >/dev/null || false
}
