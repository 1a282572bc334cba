#!/usr/bin/env bats
# serve.bats - sink-stats --serve end to end: a real HTTP client (curl) against the running server and the
# real Redis of the mini internet. The original's /json and /json/ts-messages compared with what the
# original's code computes from the same Redis, /metrics accepted by promtool, HEAD, OPTIONS, 404 and 405,
# 503 within 2 s with Redis gone or mute, concurrent clients, a slow client and a 1 MB request line that stop
# nobody else, a port in use (73), SIGHUP and SIGTERM; and the dashboard loaded in headless Chromium.
#
# Besides the servers of t/netns-run, this file starts t/servers/stall_server.py as $MUTE_SOCK, a "Redis"
# that accepts connections and never answers; each test starts its own sink-stats --serve and teardown
# stops it (SIGTERM: it must exit 0, which under LeakSanitizer also says it leaked nothing).
# The browser's screenshot of the dashboard at phone width is kept, as a test artefact, in
# $SINK_ARTEFACTS (default t/artefacts/, which git ignores): dashboard-phone.png.
# Run inside the mini internet: t/netns-run bats t/serve.bats

load lib/common
load lib/sink

P=consume-mail:0:
ADDR=127.0.0.1:8888
URL=http://$ADDR
NOMIX=(Upstream_Handled=0 OOB_percent=0 FBL_percent=0 Open_percent=0 Open_Again_percent=0 Click_percent=0
	Click_Again_percent=0)

setup_file() {
	export MUTE_SOCK=$BATS_FILE_TMPDIR/mute-redis.sock
	"$PY" "$T_DIR/servers/stall_server.py" --unix "$MUTE_SOCK" </dev/null >/dev/null 2>&1 3>&- &
	echo $! >"$BATS_FILE_TMPDIR/mute.pid"
	wait_for 10 test -S "$MUTE_SOCK"
}

teardown_file() {
	[[ -f $BATS_FILE_TMPDIR/mute.pid ]] && kill "$(cat "$BATS_FILE_TMPDIR/mute.pid")" 2>/dev/null
	return 0
}

setup() {
	reset_servers
	sink_config DKIM_Check=off "${NOMIX[@]}"
	SERVE_PID=
}

teardown() {
	local status=0 pid
	if [[ -n $SERVE_PID ]]; then
		kill -TERM "$SERVE_PID" 2>/dev/null
		wait "$SERVE_PID" || status=$?
		if ((status != 0)); then
			echo "sink-stats --serve exited $status:" >&3
			cat "$BATS_TEST_TMPDIR/serve.err" >&3
			return 1
		fi
	fi
	for pid in ${SLOW_PIDS:-}; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
	[[ -z ${ETC_OVERLAY:-} ]] || umount /etc
	return 0
}

# serve [ARGS...]: start sink-stats --serve ADDR with the test config (and ARGS) in the background, ready
serve() {
	"$SINK_STATS" -c "$SINK_INI" --serve "$ADDR" "$@" 2>"$BATS_TEST_TMPDIR/serve.err" </dev/null 3>&- &
	SERVE_PID=$!
	wait_for 10 curl -s -o /dev/null "$URL/json"
}

# send N [TO]: N messages through the real sink-filter (default to the mix)
send() {
	make_msg "$BATS_TEST_TMPDIR/m.eml" to="${2:-x@mix.sink.test}"
	local i
	for ((i = 0; i < $1; i++)); do filter <"$BATS_TEST_TMPDIR/m.eml" || return 1; done
}

# get PATH [CURL ARGS...]: the body on stdout, "status content-type" in $BATS_TEST_TMPDIR/meta
get() {
	local path=$1
	shift
	curl -s -o "$BATS_TEST_TMPDIR/body" -w '%{http_code} %{content_type}' "$@" "$URL$path" >"$BATS_TEST_TMPDIR/meta"
	cat "$BATS_TEST_TMPDIR/body"
}

meta() {
	cat "$BATS_TEST_TMPDIR/meta"
}

# original_json: what the original's /json answered for this Redis (webReporter.py's getMatchingResults: the
# started time or its placeholder, every int_ counter as an integer), as json.dumps writes it, keys sorted
# after startedRunning (the original's order was SCAN's, which no client can rely on)
original_json() {
	local keys
	mapfile -t keys < <(rcli --scan --pattern "${P}int_*")
	{
		rcli GET "${P}startedRunning"
		printf '%s\n' "${keys[@]}"
		((${#keys[@]} == 0)) || rcli MGET "${keys[@]}"
	} | "$PY" -c '
import json, sys
lines = sys.stdin.read().split("\n")[:-1]
started, rest = lines[0], lines[1:]
n = len(rest) // 2
prefix = sys.argv[1] + "int_"
counters = {k[len(prefix):]: int(v) for k, v in zip(rest[:n], rest[n:])}
res = {"startedRunning": started or "Not yet - waiting for scheduled running to begin"}
res.update(sorted(counters.items()))
sys.stdout.write(json.dumps(res))' "$P"
}

# original_ts: what the original's /json/ts-messages answered for this Redis (getArrayResults("ts_",
# "messages"): each ts_ key's time rounded down to its minute, as ISO 8601 in UTC, sorted)
original_ts() {
	local keys
	mapfile -t keys < <(rcli --scan --pattern "${P}ts_*")
	{
		printf '%s\n' "${keys[@]}"
		((${#keys[@]} == 0)) || rcli MGET "${keys[@]}"
	} | "$PY" -c '
import json, sys
from datetime import datetime, timezone
lines = [l for l in sys.stdin.read().split("\n") if l]
n = len(lines) // 2
t = {}
for k, v in zip(lines[:n], lines[n:]):
    minute = int(k[len(sys.argv[1]) + 3:]) // 60 * 60
    t[datetime.fromtimestamp(minute, timezone.utc).isoformat(sep="T", timespec="seconds")] = int(v)
sys.stdout.write(json.dumps([{"time": k, "messages": v} for k, v in sorted(t.items())]))' "$P"
}

# within SECONDS CMD...: CMD succeeds and takes less than SECONDS of wall time
within() {
	local limit=$1 t0 ms
	shift
	t0=${EPOCHREALTIME/./}
	"$@" || return 1
	ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
	echo "took $ms ms"
	((ms < limit * 1000))
}

@test "/json is the original's object, byte for byte what its code made of the same Redis, with CORS open" {
	serve
	run get /json
	assert_output '{"startedRunning": "Not yet - waiting for scheduled running to begin"}'
	[ "$(meta)" = "200 application/json" ]
	send 3
	send 2 x@oob.sink.test
	rcli SET "${P}int_custom" 41 >/dev/null
	run get /json
	assert_output "$(original_json)"
	[ "$(meta)" = "200 application/json" ]
	jq -e '(.startedRunning | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+]00:00$"))
		and .total_messages == 5 and .accept == 3 and .custom == 41
		and ([.[] | numbers] | length) == (length - 1)' <<<"$output"
	[ "$output" = "$("$SINK_STATS" -c "$SINK_INI" --json)" ]	# the one-shot's, without the final newline
	curl -s -D "$BATS_TEST_TMPDIR/headers" -o /dev/null "$URL/json"
	grep -qi '^Access-Control-Allow-Origin: \*' "$BATS_TEST_TMPDIR/headers"
	grep -qi '^Cache-Control: no-store' "$BATS_TEST_TMPDIR/headers"
}

@test "/json/ts-messages is the original's list of {time, messages} per minute, sorted, byte for byte" {
	serve
	run get /json/ts-messages
	assert_output '[]'
	m=$(($(date -u +%s) / 60 * 60))
	for t in $((m - 7200)) $((m - 60)) "$m" $((m - 86400 * 3)); do rcli SET "${P}ts_$t" $((t % 89 + 1)) >/dev/null; done
	run get /json/ts-messages
	[ "$(meta)" = "200 application/json" ]
	assert_output "$(original_ts)"
	jq -e 'length == 4 and (map(.time) == (map(.time) | sort)) and all(.[]; (.messages | type) == "number")' <<<"$output"
	jq -e --arg t "$(date -u -d "@$m" +%Y-%m-%dT%H:%M:%S+00:00)" --argjson n $((m % 89 + 1)) \
		'.[-1] == {"time": $t, "messages": $n}' <<<"$output"
	curl -s -D "$BATS_TEST_TMPDIR/headers" -o /dev/null "$URL/json/ts-messages"
	grep -qi '^Access-Control-Allow-Origin: \*' "$BATS_TEST_TMPDIR/headers"
}

@test "/metrics is --prometheus's text, which promtool check metrics accepts" {
	serve
	send 4
	get /metrics >"$BATS_TEST_TMPDIR/metrics"
	[ "$(meta)" = "200 text/plain; version=0.0.4; charset=utf-8" ]
	run promtool check metrics <"$BATS_TEST_TMPDIR/metrics"
	assert_success
	grep -q '^bouncy_sink_messages_total{results_key="0"} 4$' "$BATS_TEST_TMPDIR/metrics"
	[ "$(cat "$BATS_TEST_TMPDIR/metrics")" = "$("$SINK_STATS" -c "$SINK_INI" --prometheus)" ]
}

@test "/ is the dashboard, made for each request: a new message shows in the next page" {
	serve
	send 2
	get / >"$BATS_TEST_TMPDIR/a.html"
	[ "$(meta)" = "200 text/html; charset=utf-8" ]
	grep -q '<table class="shares">' "$BATS_TEST_TMPDIR/a.html"
	grep -q 'data-window="hour" data-share="1" data-count="2" data-of="2"' "$BATS_TEST_TMPDIR/a.html"
	send 1
	get / >"$BATS_TEST_TMPDIR/b.html"
	grep -q 'data-window="hour" data-share="1" data-count="3" data-of="3"' "$BATS_TEST_TMPDIR/b.html"
	[ "$(grep -Eic 'https?:|src=|href=|<script|<link|@import|url\(' "$BATS_TEST_TMPDIR/b.html")" -eq 0 ]
}

@test "HEAD answers the GET's status and headers without a body; OPTIONS says what is allowed" {
	serve
	send 1
	for path in / /json /json/ts-messages /metrics; do
		curl -s -D "$BATS_TEST_TMPDIR/get" -o "$BATS_TEST_TMPDIR/body" "$URL$path"
		curl -s -I -o "$BATS_TEST_TMPDIR/head" "$URL$path"
		grep -q '^HTTP/1.1 200' "$BATS_TEST_TMPDIR/head"
		length=$(sed -n 's/^Content-Length: \([0-9]*\)\r$/\1/ip' "$BATS_TEST_TMPDIR/head")
		[ -n "$length" ]
		# the dashboard's page can differ by the second it was made in; the others are the same bytes
		[[ $path == / ]] || [ "$length" -eq "$(stat -c %s "$BATS_TEST_TMPDIR/body")" ]
		[ "$(grep -i '^Content-Type' "$BATS_TEST_TMPDIR/head")" = "$(grep -i '^Content-Type' "$BATS_TEST_TMPDIR/get")" ]
	done
	# curl -I reads no body; a raw HEAD shows none is sent
	exec 5<>/dev/tcp/127.0.0.1/8888
	printf 'HEAD /json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&5
	timeout 5 cat <&5 >"$BATS_TEST_TMPDIR/raw"
	exec 5<&-
	grep -q '^HTTP/1.1 200 OK' "$BATS_TEST_TMPDIR/raw"
	[ "$(tail -c 4 "$BATS_TEST_TMPDIR/raw" | od -An -c | tr -d ' ')" = '\r\n\r\n' ]
	# OPTIONS: a browser's preflight on the JSON endpoints
	curl -s -X OPTIONS -D "$BATS_TEST_TMPDIR/options" -o /dev/null -H 'Origin: http://dash.example' \
		-H 'Access-Control-Request-Method: GET' "$URL/json"
	grep -q '^HTTP/1.1 204' "$BATS_TEST_TMPDIR/options"
	grep -qi '^Allow: GET, HEAD, OPTIONS' "$BATS_TEST_TMPDIR/options"
	grep -qi '^Access-Control-Allow-Origin: \*' "$BATS_TEST_TMPDIR/options"
	grep -qi '^Access-Control-Allow-Methods: GET, HEAD, OPTIONS' "$BATS_TEST_TMPDIR/options"
	# the dashboard and /metrics are not for other origins' scripts
	curl -s -D "$BATS_TEST_TMPDIR/headers" -o /dev/null "$URL/metrics"
	! grep -qi '^Access-Control-Allow-Origin' "$BATS_TEST_TMPDIR/headers" || false
}

@test "an unknown path is 404, another method 405 with Allow; neither asks Redis" {
	serve
	rcli CONFIG RESETSTAT >/dev/null
	for path in /nope /json/ /JSON /favicon.ico /json/ts-messages/x "/$(printf 'x%.0s' {1..5000})"; do
		run get "$path"
		[ "$(meta)" = "404 text/plain; charset=utf-8" ]
		assert_output --partial "404 not found"
	done
	for method in POST PUT DELETE PATCH; do
		curl -s -X "$method" -D "$BATS_TEST_TMPDIR/headers" -o "$BATS_TEST_TMPDIR/body" -d x "$URL/json"
		grep -q '^HTTP/1.1 405' "$BATS_TEST_TMPDIR/headers"
		grep -qi '^Allow: GET, HEAD, OPTIONS' "$BATS_TEST_TMPDIR/headers"
		grep -q "405 $method is not allowed here" "$BATS_TEST_TMPDIR/body"
	done
	! rcli INFO commandstats | grep -E '^cmdstat_(scan|get|mget|hgetall):' || false
}

@test "a request body is never kept: a POST streaming 300 MB gets 405 at once, the server's memory stays put; a GET with a body is 413" {
	serve
	rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$SERVE_PID/status"; }
	local before t0
	before=$(rss)
	t0=$EPOCHREALTIME
	head -c 300M /dev/zero | timeout 20 curl -s -X POST -T - -D "$BATS_TEST_TMPDIR/headers" -o "$BATS_TEST_TMPDIR/body" \
		"$URL/json" || true
	cat "$BATS_TEST_TMPDIR/headers"
	grep -q '^HTTP/1.1 405' "$BATS_TEST_TMPDIR/headers"
	grep -qi '^Connection: close' "$BATS_TEST_TMPDIR/headers"
	awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { exit !(b - a < 10) }'
	echo "RSS $before KB -> $(rss) KB"
	(($(rss) - before < 20000))
	curl -s -D "$BATS_TEST_TMPDIR/headers" -o "$BATS_TEST_TMPDIR/body" -H 'Content-Type: text/plain' --data-binary x \
		-X GET "$URL/json"
	grep -q '^HTTP/1.1 413' "$BATS_TEST_TMPDIR/headers"
	grep -q "413 a GET request has no body here" "$BATS_TEST_TMPDIR/body"
	run get /json
	[ "$(meta)" = "200 application/json" ]
}

@test "Redis gone: every endpoint answers 503 within 2 s with a short reason, and 200 again when it is back" {
	export REDIS_URL=unix:$BATS_TEST_TMPDIR/redis.sock	# (the environment's wins over the config's)
	serve
	for path in / /json /json/ts-messages /metrics; do
		run within 2 get "$path"
		assert_success
		[ "$(meta)" = "503 text/plain; charset=utf-8" ]
		assert_output --partial "503 the counters cannot be read: Redis at unix:$BATS_TEST_TMPDIR/redis.sock: "
	done
	curl -s -D "$BATS_TEST_TMPDIR/headers" -o /dev/null "$URL/json"
	grep -qi '^Access-Control-Allow-Origin: \*' "$BATS_TEST_TMPDIR/headers"	# a browser may read why
	grep -qi '^Retry-After: ' "$BATS_TEST_TMPDIR/headers"
	ln -s "$REDIS_SOCK" "$BATS_TEST_TMPDIR/redis.sock"
	run get /json
	[ "$(meta)" = "200 application/json" ]
	# the log says it once, then that Redis is back
	[ "$(grep -c 'answering 503 while Redis cannot be read' "$BATS_TEST_TMPDIR/serve.err")" -eq 1 ]
	grep -q 'Redis answers again' "$BATS_TEST_TMPDIR/serve.err"
}

@test "Redis mute (accepts, never answers): every endpoint answers 503 within 2 s, also many at once" {
	export REDIS_URL=unix:$MUTE_SOCK
	serve
	for path in / /json /json/ts-messages /metrics; do
		run within 2 get "$path"
		assert_success
		[ "$(meta)" = "503 text/plain; charset=utf-8" ]
		assert_output --partial "no answer"
	done
	# 30 at once: each is bounded by its own clock, not queued behind the others
	d=$BATS_TEST_TMPDIR/clients
	mkdir "$d"
	t0=${EPOCHREALTIME/./}
	pids=()
	for i in $(seq 1 30); do
		curl -s -o /dev/null -w '%{http_code} %{time_total}\n' "$URL/json" >"$d/$i" &
		pids+=($!)
	done
	wait "${pids[@]}"	# (not the server)
	cat "$d"/* | sort | uniq -c
	[ "$(cat "$d"/* | awk '$1 == 503 && $2 < 2' | wc -l)" -eq 30 ]
	(((${EPOCHREALTIME/./} - t0) / 1000 < 4000))
}

@test "concurrent clients all get whole, equal answers" {
	serve
	send 5
	d=$BATS_TEST_TMPDIR/clients
	mkdir "$d"
	pids=()
	for i in $(seq 1 24); do
		path=$(case $((i % 3)) in 0) echo /json ;; 1) echo /metrics ;; 2) echo / ;; esac)
		curl -s -o "$d/body$i" -w '%{http_code}\n' "$URL$path" >"$d/status$i" &
		pids+=($!)
	done
	wait "${pids[@]}"	# (not the server)
	[ "$(cat "$d"/status* | sort | uniq -c | tr -s ' ')" = " 24 200" ]
	for i in $(seq 3 3 24); do [ "$(cat "$d/body$i")" = "$(cat "$d/body3")" ]; done
	for i in $(seq 1 3 24); do grep -q '^bouncy_sink_messages_total{results_key="0"} 5$' "$d/body$i"; done
	for i in $(seq 2 3 24); do tail -1 "$d/body$i" | grep -qx '</html>'; done
}

@test "connection after connection leaves no descriptor open (libsoup 3.2's own listener kept each one), and none counted open" {
	serve
	before=$(ls "/proc/$SERVE_PID/fd" | wc -l)
	# 300 (past the 256 kept open at once: each must count no more once closed); 404s: no Redis needed
	codes=$(for i in $(seq 1 300); do curl -s -o /dev/null -w '%{http_code}\n' "$URL/$((i % 2 ? 0 : 1))"; done | sort | uniq -c)
	echo "$codes"
	[ "$(echo $codes)" = "300 404" ]
	curl -s -o /dev/null "$URL/json"
	after=$(ls "/proc/$SERVE_PID/fd" | wc -l)
	echo "descriptors: $before before, $after after"
	((after <= before + 2))
}

@test "a slow client holding a connection stops nobody, and is closed after --client-timeout" {
	serve --client-timeout 2
	send 1
	# half a request line, then nothing: the connection is held open
	"$PY" - "$BATS_TEST_TMPDIR/slow.out" <<'PY' 3>&- &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", 8888))
s.sendall(b"GET /json HTT")
t = time.time()
data = s.recv(100)
open(sys.argv[1], "w").write("closed after %.1f s, %d bytes\n" % (time.time() - t, len(data)))
PY
	SLOW_PIDS=$!
	sleep 0.3
	run within 1 get /json
	assert_success
	[ "$(meta)" = "200 application/json" ]
	run within 1 get /
	assert_success
	wait_for 5 test -s "$BATS_TEST_TMPDIR/slow.out"
	cat "$BATS_TEST_TMPDIR/slow.out"
	grep -Eq '^closed after (1\.[89]|2\.[0-9]|3\.[0-9]) s, 0 bytes$' "$BATS_TEST_TMPDIR/slow.out"
}

@test "a client trickling its request a byte at a time, never idle, is closed after 3 client timeouts" {
	serve --client-timeout 1
	run "$PY" - <<'PY'
import socket, time
s = socket.create_connection(("127.0.0.1", 8888))
s.settimeout(0.4)
t = time.time()
line = b"GET /json HTTP/1.1\r\nX-Slow: " + b"a" * 40
for b in line:
    try:
        s.send(bytes([b]))
        if s.recv(100) == b"":
            break
    except socket.timeout:
        continue
    except OSError:
        break
print("closed after %.1f s" % (time.time() - t))
PY
	echo "$output"
	[[ $output =~ ^closed\ after\ (2\.[89]|3\.[0-9]|4\.[0-4])\ s$ ]]
	run get /json
	[ "$(meta)" = "200 application/json" ]
}

@test "256 connections open at once: one more is closed as it comes, said once; once they close, clients are served again" {
	serve --client-timeout 30
	"$PY" - "$BATS_TEST_TMPDIR/held" <<'PY' 3>&- &
import os, socket, sys, time
held = [socket.create_connection(("127.0.0.1", 8888)) for _ in range(256)]
open(sys.argv[1], "w").write("%d\n" % len(held))
while not os.path.exists(sys.argv[1] + ".done"):
    time.sleep(0.05)
for s in held:
    s.close()
PY
	SLOW_PIDS=$!
	wait_for 10 test -s "$BATS_TEST_TMPDIR/held"
	sleep 0.3
	for i in 1 2 3; do
		t0=${EPOCHREALTIME/./}
		code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$URL/json") || true
		ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
		echo "$code after $ms ms"
		[ "$code" = 000 ]	# closed unanswered,
		((ms < 2000))	# at once
	done
	[ "$(grep -c "256 connections open, the most kept" "$BATS_TEST_TMPDIR/serve.err")" -eq 1 ]
	touch "$BATS_TEST_TMPDIR/held.done"
	wait "$SLOW_PIDS"
	SLOW_PIDS=
	wait_for 5 curl -sf -o /dev/null "$URL/json"
	run get /json
	[ "$(meta)" = "200 application/json" ]
}

@test "a 1 MB request line: that connection is closed unanswered (libsoup's 64 KB limit on a request head); the server goes on" {
	serve
	"$PY" - <<'PY'
import socket, threading
s = socket.create_connection(("127.0.0.1", 8888))
got = []
def read():
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            got.append(d)
    except OSError:
        pass
t = threading.Thread(target=read)
t.start()
try:
    s.sendall(b"GET /" + b"a" * (1 << 20) + b" HTTP/1.1\r\nHost: x\r\n\r\n")
except OSError:
    pass
t.join(10)
assert not t.is_alive(), "still open"
assert not b"".join(got).startswith(b"HTTP/1.1 2"), b"".join(got)[:100]
PY
	run get /json
	[ "$(meta)" = "200 application/json" ]
	kill -0 "$SERVE_PID"
}

@test "--serve on a port in use exits 73 naming the address; a bad address or another format is usage (64)" {
	serve
	run "$SINK_STATS" -c "$SINK_INI" --serve "$ADDR"
	[ "$status" -eq 73 ]
	assert_output --partial "sink-stats: --serve $ADDR: cannot listen there: "
	assert_output --partial "in use"
	run "$SINK_STATS" -c "$SINK_INI" --serve	# the default address is the original's port on the loopback
	[ "$status" -eq 73 ]
	assert_output --partial "--serve 127.0.0.1:8888: cannot listen there"
	for bad in 99999 host:80 1.2.3:80 ::1:80 "[::1]" x; do
		run "$SINK_STATS" -c "$SINK_INI" --serve "$bad"
		[ "$status" -eq 64 ]
		assert_output --partial "usage: sink-stats"
	done
	run "$SINK_STATS" -c "$SINK_INI" --serve 8889 --json
	[ "$status" -eq 64 ]
	run "$SINK_STATS" -c "$SINK_INI" --serve=8889 --client-timeout 0
	[ "$status" -eq 64 ]
	run get /json
	[ "$(meta)" = "200 application/json" ]	# the first server is still there
}

@test "SIGHUP reads the config again (a broken one is said and the old kept); SIGTERM stops it, exit 0" {
	rcli SET "consume-mail:blue:int_accept" 7 >/dev/null
	serve
	sink_config DKIM_Check=off Results_Key=blue
	kill -HUP "$SERVE_PID"
	wait_for 5 grep -q "config reloaded from $SINK_INI" "$BATS_TEST_TMPDIR/serve.err"
	run get /json
	assert_output '{"startedRunning": "Not yet - waiting for scheduled running to begin", "accept": 7}'
	echo "No_Such_Key = 1" >>"$SINK_INI"
	kill -HUP "$SERVE_PID"
	wait_for 5 grep -q "config not reloaded, the old one is kept: .*No_Such_Key" "$BATS_TEST_TMPDIR/serve.err"
	run get /json
	assert_output --partial '"accept": 7'
	kill -TERM "$SERVE_PID"
	wait "$SERVE_PID"
	SERVE_PID=
	grep -q "stopped serving http://127.0.0.1:8888/" "$BATS_TEST_TMPDIR/serve.err"
	! curl -s -o /dev/null "$URL/json" || false
}

@test "SIGHUP without -c looks for the default config again: one made after the start is read" {
	etc_overlay
	local sys=$SYS_CONFIG
	rcli SET "consume-mail:blue:int_accept" 7 >/dev/null
	SINK_CONFIG= "$SINK_STATS" --serve "$ADDR" 2>"$BATS_TEST_TMPDIR/serve.err" </dev/null 3>&- &
	SERVE_PID=$!
	wait_for 10 curl -s -o /dev/null "$URL/json"
	run get /json
	refute_output --partial '"accept": 7'	# the built-in defaults: Results_Key 0, another Redis
	sink_config DKIM_Check=off Results_Key=blue
	mkdir "${sys%/*}"
	cp "$SINK_INI" "$sys"
	kill -HUP "$SERVE_PID"
	wait_for 5 grep -q "config reloaded from $sys" "$BATS_TEST_TMPDIR/serve.err"
	run get /json
	assert_output '{"startedRunning": "Not yet - waiting for scheduled running to begin", "accept": 7}'
}

@test "headless Chromium loads the dashboard without errors; its DOM has the charts and, for every outcome, the configured and observed shares" {
	command -v chromium >/dev/null || skip "chromium is not installed (.ci/install-deps installs it)"
	# (Weekly_Cycle_Open_Rate 1 every day: the built-in cycle scales the openclick share by the weekday)
	sink_config DKIM_Check=off Upstream_Handled=0 OOB_percent=10 FBL_percent=5 Open_percent=40 \
		Open_Again_percent=20 Click_percent=20 Click_Again_percent=10 Open_Click_Timeout=2 \
		Weekly_Cycle_Open_Rate=1,1,1,1,1,1,1
	# real traffic: the mix (its OOB and FBL meet an MX that is not allowlisted: errors), and direct classes
	make_msg "$BATS_TEST_TMPDIR/mix.eml" to=x@mix.sink.test
	for s in $(seq 1 24); do filter --seed "$s" <"$BATS_TEST_TMPDIR/mix.eml"; done
	send 2 x@fbl.sink.test
	# and an earlier hour, a day's minutes back, so that the day's shares differ from the hour's
	m=$(($(date -u +%s) / 60 * 60 - 7200))
	rcli HSET "${P}tso_$m" accept/mix 40 oob/mix 6 fbl/mix 3 openclick/mix 21 open 21 open_again 4 click 9 \
		click_again 1 fail_dkim 2 >/dev/null
	rcli SET "${P}ts_$m" 72 >/dev/null
	serve
	mkdir -p "$BATS_TEST_TMPDIR/chrome"
	CHROME=(chromium --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$BATS_TEST_TMPDIR/chrome"
		--enable-logging=stderr --v=0)
	timeout 90 "${CHROME[@]}" --dump-dom "$URL/" >"$BATS_TEST_TMPDIR/dom.html" 2>"$BATS_TEST_TMPDIR/chrome.err"
	# no console message (a script error, a resource that failed to load: the page loads none)
	! grep -E 'CONSOLE|Failed to load resource|ERR_' "$BATS_TEST_TMPDIR/chrome.err" || false
	"$PY" - "$BATS_TEST_TMPDIR/dom.html" <<'PY'
import html.parser, sys
class Dom(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.rows, self.svgs, self.bars, self.lines, self.row = [], {}, [], 0, [], None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg":
            self.svgs.append(a.get("class"))
        if tag == "rect" and a.get("class") == "bar":
            self.bars += 1
        if tag == "polyline":
            self.lines.append(a.get("data-series"))
        if tag == "tr" and "data-outcome" in a:
            self.row = self.rows.setdefault(a["data-outcome"], {})
        if tag == "td" and self.row is not None:
            if "conf" in a.get("class", ""):
                self.row["configured"] = a.get("data-share")
            if "data-window" in a:
                self.row[a["data-window"]] = (a.get("data-share"), a.get("data-count"), a.get("data-of"))
    def handle_endtag(self, tag):
        if tag == "tr":
            self.row = None
d = Dom()
d.feed(open(sys.argv[1], encoding="utf-8").read())
assert d.svgs == ["chart minutes", "chart outcomes"], d.svgs
assert d.bars >= 2, d.bars
assert set(["accept", "oob", "fbl", "openclick", "open", "click", "errors"]) <= set(d.lines), d.lines
want = {"accept": 0.45, "oob": 0.1, "fbl": 0.05, "openclick": 0.4, "open_again": 0.5, "click": 0.5, "click_again": 0.5}
for name, share in want.items():
    row = d.rows[name]
    assert abs(float(row["configured"]) - share) < 1e-9, (name, row)
    for w in ("hour", "day"):
        s, n, of = row[w]
        assert s is not None and int(of) > 0 and abs(float(s) - int(n) / int(of)) < 1e-5, (name, w, row)
    print(name, row)
assert int(d.rows["accept"]["day"][2]) == int(d.rows["accept"]["hour"][2]) + 70
PY
	# the screenshot at phone width, kept for people to look at (see the file's header)
	art=${SINK_ARTEFACTS:-$T_DIR/artefacts}
	mkdir -p "$art"
	rm -f "$art/dashboard-phone.png"
	timeout 90 "${CHROME[@]}" --hide-scrollbars --window-size=390,2400 --screenshot="$art/dashboard-phone.png" \
		"$URL/" 2>>"$BATS_TEST_TMPDIR/chrome.err" >/dev/null
	[ "$(head -c 8 "$art/dashboard-phone.png" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ]
	[ "$(stat -c %s "$art/dashboard-phone.png")" -gt 20000 ]
}
