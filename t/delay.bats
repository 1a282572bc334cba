#!/usr/bin/env bats
# delay.bats: delayed steps (SPEC section 20). sink-filter queues a step that waits as a job in Redis and
# exits; sink-worker runs it when due, once, whichever of several workers claims it, and again after its
# lease when the worker that had it died. Runs in the mini internet: track.test logs every request to $HTTP_LOG
# with its time.
#
# Run: SINK_BUILD=/path/to/build t/netns-run bats t/delay.bats

load lib/common
load lib/sink

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
	run filter --json <"$MSG"
	assert_success
	local done=$EPOCHREALTIME
	echo "$output" | jq -e '.class == "openclick" and (.actions | length) == 0'
	echo "$output" | jq -e '.delayed | length == 1 and .[0].step == "open" and .[0].delay >= 2 and .[0].delay <= 3 and (.[0].job | length) == 32'
	local ua
	ua=$(echo "$output" | jq -r .user_agent)
	assert_equal "$(counter open)" 0
	assert_equal "$(counter jobs_scheduled)" 1
	assert_equal "$(requests '^/q/p1$')" 0
	assert_equal "$(queued)" 1
	worker
	wait_for 6 has 1 requests '^/q/p1$' 
	local t
	t=$(jq -r 'select(.path == "/q/p1") | .t' "$HTTP_LOG")
	# 2 to 3 s after sink-filter exited (and the worker's poll: at most 1 s late, far less in practice)
	awk -v t="$t" -v d="$done" 'BEGIN { exit !(t - d >= 1.95 && t - d <= 3.6) }'
	assert_equal "$(jq -r 'select(.path == "/q/p1") | .user_agent' "$HTTP_LOG")" "$ua"
	wait_for 3 has 1 counter open
	assert_equal "$(counter jobs_run)" 1
	assert_equal "$(queued)" 0
	assert_equal "$(rcli HLEN "${P}jobs:data")" 0
	log_lines | grep -q '^[^,]*,sink-worker,.*open '
}
