#!/usr/bin/env bats
# stats.bats - sink-stats end to end against a real Redis: the original /json shape equals the counters in
# Redis, the Prometheus text passes a strict format check, the HTML page is self-contained with one chart
# bar per ts_ minute, --prune drops only what is old, and a Redis outage leaves the -o file alone.
# Run inside the mini internet: t/netns-run bats t/stats.bats

load lib/common
load lib/sink

P=consume-mail:0:

setup() {
	reset_servers
	sink_config DKIM_Check=off
}

stats() {
	"$SINK_STATS" -c "$SINK_INI" "$@"
}

# send N: N accepted messages through the real sink-filter.
send() {
	make_msg "$BATS_TEST_TMPDIR/m.eml" to=x@accept.sink.test
	local i
	for ((i = 0; i < $1; i++)); do
		filter <"$BATS_TEST_TMPDIR/m.eml" || return 1
	done
}

# redis_as_json PREFIX: {"startedRunning": ..., "<name>": int, ...} built from Redis by redis-cli alone.
redis_as_json() {
	local prefix=${1:-$P} keys
	mapfile -t keys < <(rcli --scan --pattern "${prefix}int_*")
	{
		rcli GET "${prefix}startedRunning"
		printf '%s\n' "${keys[@]}"
		((${#keys[@]} == 0)) || rcli MGET "${keys[@]}"
	} | "$PY" -c '
import json, sys
lines = sys.stdin.read().split("\n")[:-1]
started, rest = lines[0], lines[1:]
n = len(rest) // 2
prefix = sys.argv[1] + "int_"
d = {k[len(prefix):]: int(v) for k, v in zip(rest[:n], rest[n:])}
d["startedRunning"] = started or "Not yet - waiting for scheduled running to begin"
print(json.dumps(d, sort_keys=True))' "$prefix"
}

# normalise: parse JSON (strictly: no duplicate keys) and print it sorted.
normalise() {
	"$PY" -c '
import json, sys
def no_dups(pairs):
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), "duplicate keys"
    return dict(pairs)
d = json.loads(sys.stdin.read(), object_pairs_hook=no_dups)
for k, v in d.items():
    assert k == "startedRunning" or (type(v) is int), (k, v)
print(json.dumps(d, sort_keys=True))'
}

# prom_check FILE: a strict check of Prometheus text format 0.0.4; prints "family value" per sample.
prom_check() {
	"$PY" - "$1" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
assert text.endswith("\n"), "no final newline"
NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r"^(%s)(\{(?:%s(?:,%s)*,?)?\})? ([^ ]+)( -?[0-9]+)?$" % (NAME, LABEL, LABEL))
helps, types, seen_series, done_families = {}, {}, set(), set()
current = None
for n, line in enumerate(text[:-1].split("\n"), 1):
    def fail(why):
        sys.exit("line %d: %s: %r" % (n, why, line))
    if line.startswith("#"):
        m = re.match(r"^# (HELP|TYPE) (%s) (.+)$" % NAME, line)
        if not m:
            if line.startswith("# HELP") or line.startswith("# TYPE"):
                fail("bad HELP/TYPE line")
            continue
        kind, fam, rest = m.groups()
        table = helps if kind == "HELP" else types
        if fam in table:
            fail("second %s for %s" % (kind, fam))
        if fam in done_families:
            fail("%s after the family's samples" % kind)
        if kind == "TYPE" and rest not in ("counter", "gauge", "histogram", "summary", "untyped"):
            fail("unknown type")
        table[fam] = rest
        continue
    if not line.strip():
        fail("blank line")
    m = SAMPLE.match(line)
    if not m:
        fail("not a sample")
    name, labels, value = m.group(1), m.group(2) or "", m.group(3)
    fam = name
    if fam not in types:
        fail("sample without # TYPE")
    if current != fam:
        if fam in done_families:
            fail("family's samples not together")
        if current:
            done_families.add(current)
        current = fam
    if (name, labels) in seen_series:
        fail("duplicate series")
    seen_series.add((name, labels))
    float(value)
    if types[fam] == "counter" and not fam.endswith("_total"):
        fail("counter without _total")
    if not re.match(r"^bouncy_sink_", fam):
        fail("not in the bouncy_sink_ namespace")
    ev = re.search(r'event="([^"]*)"', labels)
    print("%s%s %s" % (fam, "/" + ev.group(1) if ev else "", value))
for fam in types:
    if fam not in helps:
        sys.exit("no # HELP for " + fam)
PY
}

@test "after N messages through sink-filter, --json equals the counters read straight from Redis" {
	send 6
	rcli SET "${P}int_custom_counter" 41 >/dev/null
	run stats --json
	assert_success
	[ "$(normalise <<<"$output")" = "$(redis_as_json)" ]
	[ "$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["total_messages"])' <<<"$output")" -eq 6 ]
	[ "$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["accept"])' <<<"$output")" -eq 6 ]
	# --json is the default
	run stats
	[ "$(normalise <<<"$output")" = "$(redis_as_json)" ]
}

@test "before any message, startedRunning is the original's 'Not yet' text and nothing else" {
	run stats --json
	assert_success
	assert_output '{"startedRunning": "Not yet - waiting for scheduled running to begin"}'
}

@test "counters are found with SCAN, never KEYS, also past several SCAN pages and MGET batches" {
	args=()
	for i in $(seq 1 1500); do args+=("${P}int_c$i" "$i"); done
	rcli MSET "${args[@]}" >/dev/null
	rcli SET "consume-mail:other:int_c1" 999 >/dev/null
	rcli CONFIG RESETSTAT >/dev/null
	run stats --json
	assert_success
	[ "$(normalise <<<"$output")" = "$(redis_as_json)" ]
	[ "$("$PY" -c 'import json,sys; d=json.load(sys.stdin); print(len(d), sum(v for k,v in d.items() if k != "startedRunning"))' <<<"$output")" = "1501 1125750" ]
	stats_info=$(rcli INFO commandstats)
	grep -q '^cmdstat_scan:' <<<"$stats_info"
	[ "$(grep -c '^cmdstat_keys:' <<<"$stats_info")" -eq 0 ]
}

@test "a counter key it cannot use is left out with a warning naming it, and the rest is shown" {
	rcli SET "${P}int_accept" 5 >/dev/null
	rcli SET "${P}int_" 6 >/dev/null
	printf 'SET %sint_bad\xff 7\n' "$P" | rcli >/dev/null	# (a name that is not UTF-8)
	rcli SET "${P}int_many" lots >/dev/null
	"$SINK_STATS" -c "$SINK_INI" --json >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err"
	jq -e '.accept == 5 and (keys | length) == 2' "$BATS_TEST_TMPDIR/out"
	grep -qxF "sink-stats: warning: skipped \"${P}int_\": it has no counter name" "$BATS_TEST_TMPDIR/err"
	grep -qxF "sink-stats: warning: skipped \"${P}int_bad\\377\": its counter name is not UTF-8" "$BATS_TEST_TMPDIR/err"
	grep -qxF "sink-stats: warning: skipped ${P}int_many: \"lots\" is not an integer" "$BATS_TEST_TMPDIR/err"
}

@test "RESULTS_KEY picks another instance's counters under the same Redis" {
	rcli SET "consume-mail:blue:int_accept" 3 >/dev/null
	rcli SET "${P}int_accept" 9 >/dev/null
	RESULTS_KEY=blue run stats --json
	assert_success
	assert_output '{"startedRunning": "Not yet - waiting for scheduled running to begin", "accept": 3}'
}

@test "--prometheus passes a strict text-format check and carries the same numbers" {
	send 4
	rcli SET "${P}int_oob_sent" 2 >/dev/null
	run stats --prometheus
	assert_success
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/out.prom"
	run prom_check "$BATS_TEST_TMPDIR/out.prom"
	assert_success
	assert_line "bouncy_sink_messages_total 4"
	assert_line "bouncy_sink_events_total/accept 4"
	assert_line "bouncy_sink_events_total/oob_sent 2"
	started=$(rcli GET "${P}startedRunning")
	assert_line "bouncy_sink_started_timestamp_seconds $(date -u -d "$started" +%s)"
	grep -q '^# TYPE bouncy_sink_messages_total counter$' "$BATS_TEST_TMPDIR/out.prom"
	grep -q '^# TYPE bouncy_sink_started_timestamp_seconds gauge$' "$BATS_TEST_TMPDIR/out.prom"
	grep -q '^bouncy_sink_events_total{results_key="0",event="accept"} 4$' "$BATS_TEST_TMPDIR/out.prom"
}

@test "promtool check metrics accepts the --prometheus output" {
	send 2
	stats --prometheus >"$BATS_TEST_TMPDIR/out.prom"
	run promtool check metrics <"$BATS_TEST_TMPDIR/out.prom"
	assert_success
}

@test "--prometheus -o replaces the file atomically, leaving no temporary file" {
	mkdir "$BATS_TEST_TMPDIR/textfile"
	out=$BATS_TEST_TMPDIR/textfile/sink.prom
	echo old >"$out"
	send 3
	run stats --prometheus -o "$out"
	assert_success
	assert_output ''
	grep -q '^bouncy_sink_messages_total{results_key="0"} 3$' "$out"
	[ "$(stat -c %a "$out")" = 644 ]
	[ "$(ls -A "$BATS_TEST_TMPDIR/textfile")" = sink.prom ]
	# a cron with a hardened umask: still 0644, for node_exporter's user
	run bash -c 'umask 077 && exec "$@"' umask "$SINK_STATS" -c "$SINK_INI" --prometheus -o "$out"
	assert_success
	[ "$(stat -c %a "$out")" = 644 ]
	run prom_check "$out"
	assert_success
}

@test "--html: counters in a table, one SVG bar per ts_ minute, escaped, and nothing external" {
	now=$(date -u +%s)
	m=$((now / 60 * 60))
	minutes=($((m - 7200)) $((m - 3600)) $((m - 3540)) $((m - 600)) $((m - 60)) "$m")
	for t in "${minutes[@]}"; do rcli SET "${P}ts_$t" $((t % 97 + 1)) >/dev/null; done
	rcli SET "${P}int_total_messages" 1234 >/dev/null
	rcli SET "${P}int_accept" 1200 >/dev/null
	rcli SET "${P}int_<b>odd&name" 7 >/dev/null
	rcli SET "${P}startedRunning" "2024-05-01T08:00:00+00:00" >/dev/null
	run stats --html -o "$BATS_TEST_TMPDIR/page.html"
	assert_success
	page=$BATS_TEST_TMPDIR/page.html
	grep -q '<td>total_messages</td><td class="n">1234</td>' "$page"
	grep -q '<td>accept</td><td class="n">1200</td>' "$page"
	grep -q '<td>&lt;b&gt;odd&amp;name</td><td class="n">7</td>' "$page"
	[ "$(grep -c '<b>odd' "$page")" -eq 0 ]
	grep -q '2024-05-01T08:00:00+00:00' "$page"
	[ "$(grep -c '<svg' "$page")" -eq 2 ]	# the minutes, the outcomes of the last day
	[ "$(grep -o '<rect class="bar"' "$page" | wc -l)" -eq ${#minutes[@]} ]
	for t in "${minutes[@]}"; do
		grep -q "<title>$(date -u -d "@$t" '+%Y-%m-%d %H:%M') UTC: $((t % 97 + 1)) messages</title>" "$page"
	done
	grep -q 'messages per minute' "$page"
	grep -q 'time (UTC)' "$page"
	# self-contained: no URL, no src/href, no script, no external style
	[ "$(grep -Eic 'https?:|src=|href=|<script|<link|@import|url\(' "$page")" -eq 0 ]
	# and well formed enough for a strict parser of the SVG part
	"$PY" - "$page" <<'PY'
import re, sys
import xml.etree.ElementTree as ET
html = open(sys.argv[1], encoding="utf-8").read()
svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
root = ET.fromstring(svg)
bars = [e for e in root.iter("rect") if e.get("class") == "bar"]
assert len(bars) == 6, len(bars)
for b in bars:
    assert float(b.get("height")) > 0 and float(b.get("width")) > 0
PY
}

@test "--html: the mix against the config: configured shares beside those of sink-filter's tso_ hashes; a bad tso_ key is a warning" {
	sink_config DKIM_Check=off Upstream_Handled=0 OOB_percent=0 FBL_percent=0 Open_percent=0 Open_Again_percent=0 \
		Click_percent=0 Click_Again_percent=0
	make_msg "$BATS_TEST_TMPDIR/mix.eml" to=x@mix.sink.test
	make_msg "$BATS_TEST_TMPDIR/sub.eml" to=x@oob.sink.test
	for i in 1 2 3; do filter <"$BATS_TEST_TMPDIR/mix.eml"; done
	filter <"$BATS_TEST_TMPDIR/sub.eml"
	m=$(($(date -u +%s) / 60 * 60))
	rcli SET "${P}tso_$((m - 120))" junk >/dev/null
	rcli HSET "${P}tso_$((m - 180))" accept/mix many >/dev/null
	run stats --html -o "$BATS_TEST_TMPDIR/page.html"
	assert_success
	assert_line "sink-stats: warning: skipped ${P}tso_$((m - 120)): WRONGTYPE Operation against a key holding the wrong kind of value"
	assert_line "sink-stats: warning: skipped ${P}tso_$((m - 180)) field accept/mix: \"many\" is not an integer"
	[ "${#lines[@]}" -eq 2 ]
	page=$BATS_TEST_TMPDIR/page.html
	row=$(grep -o '<tr data-outcome="accept".*' "$page")
	[[ $row == *'<td class="n conf" data-share="1">100&#8239;%</td>'* ]]
	[[ $row == *'data-window="hour" data-share="1" data-count="3" data-of="3"'* ]]
	[[ $row == *'data-window="day" data-share="1" data-count="3" data-of="3"'* ]]
	grep -q 'Another 1 and 1 were sent to a class' "$page"
	grep -q '<tr data-outcome="oob"><th scope="row">oob<small>of the mix</small></th><td class="n conf" data-share="0">0&#8239;%</td>' "$page"
}

@test "--html with an empty Redis still renders a page with an empty chart" {
	run stats --html
	assert_success
	assert_output --partial '<svg'
	assert_output --partial 'no messages counted in the kept window'
	assert_output --partial 'Not yet - waiting for scheduled running to begin'
	refute_output --partial '<rect class="bar"'
}

# html_page: sink-stats --html into $BATS_TEST_TMPDIR/page.html, a hang (an endless loop) made a failure by timeout
html_page() {
	run timeout 20 "$SINK_STATS" -c "$SINK_INI" --html -o "$BATS_TEST_TMPDIR/page.html"
}

# bars: how many bars the page draws
bars() {
	grep -o '<rect class="bar"' "$BATS_TEST_TMPDIR/page.html" | wc -l
}

@test "--html: a ts_ key near INT64_MAX is left out with a warning naming it, and the page is still made" {
	m=$(($(date -u +%s) / 60 * 60))
	rcli SET "${P}ts_$m" 4 >/dev/null
	rcli SET "${P}ts_9223372036854775740" 3 >/dev/null
	html_page	# the minute after it overflowed int64 and the x-tick loop never ended
	assert_success
	assert_output --partial "warning: left ${P}ts_9223372036854775740 out of the chart"
	[ "$(stat -c %s "$BATS_TEST_TMPDIR/page.html")" -lt 100000 ]
	[ "$(bars)" -eq 1 ]
	grep -q "<title>$(date -u -d "@$m" '+%Y-%m-%d %H:%M') UTC: 4 messages</title>" "$BATS_TEST_TMPDIR/page.html"
}

@test "--html: a minute's count near INT64_MAX is drawn off the top, the page still made and the total not wrapped" {
	m=$(($(date -u +%s) / 60 * 60))
	rcli SET "${P}ts_$((m - 60))" 4 >/dev/null
	rcli SET "${P}ts_$m" 9223372036854775807 >/dev/null
	html_page	# the y axis' step overflowed and its loop never ended
	assert_success
	[ "$(bars)" -eq 2 ]
	grep -q "UTC: 9223372036854775807 messages</title>" "$BATS_TEST_TMPDIR/page.html"
	! grep -q -- '-[0-9]\{6,\} messages' "$BATS_TEST_TMPDIR/page.html" || false	# no sum wrapped negative
}

@test "--prune with Logfile_backup_count = 0 keeps every log file, as the original did" {
	sink_config DKIM_Check=off Logfile_backup_count=0
	mkdir -p "$(dirname "$SINK_LOG")"
	for d in 0 8 400; do echo line >"$SINK_LOG.$(date -u -d "-$d days" +%F)"; done
	run stats --prune
	assert_success
	assert_output --partial ", 0 log files"
	for d in 0 8 400; do [ -e "$SINK_LOG.$(date -u -d "-$d days" +%F)" ]; done
}

@test "--html: a ts_ key in milliseconds next to normal minutes is left out, and the page stays small" {
	m=$(($(date -u +%s) / 60 * 60))
	old=$((m - 10 * 86400 - 3600))	# past the 10 days but not yet pruned (--prune runs daily): still drawn
	for t in $old $((m - 60)) $m; do rcli SET "${P}ts_$t" 2 >/dev/null; done
	rcli SET "${P}ts_$((m * 1000))" 3 >/dev/null
	rcli SET "${P}ts_$((m + 2 * 86400))" 3 >/dev/null
	rcli SET "${P}ts_60" 3 >/dev/null
	html_page	# it was 238 MB of x-axis ticks
	assert_success
	[ "$(stat -c %s "$BATS_TEST_TMPDIR/page.html")" -lt 100000 ]
	assert_line --partial "warning: left ${P}ts_$((m * 1000)) out of the chart"
	assert_line --partial "warning: left ${P}ts_$((m + 2 * 86400)) out of the chart"
	assert_line --partial "warning: left ${P}ts_60 out of the chart"
	[ "${#lines[@]}" -eq 3 ]	# the minutes in the window are no warning
	[ "$(bars)" -eq 3 ]
	[ "$(grep -c '<text x=[^>]*text-anchor="middle">[0-9][0-9]-[0-9][0-9]' "$BATS_TEST_TMPDIR/page.html")" -le 9 ]
}

@test "--html: a flood of stray ts_ keys is 20 warnings naming keys and one counting the rest" {
	m=$(($(date -u +%s) / 60 * 60))
	args=()
	for i in $(seq 1 25); do args+=("${P}ts_$((m * 1000 + i))" 1); done
	rcli MSET "${args[@]}" >/dev/null
	run stats --html -o "$BATS_TEST_TMPDIR/page.html"
	assert_success
	[ "$(grep -c "out of the chart: more than a day ahead of now" <<<"$output")" -eq 20 ]
	assert_line "sink-stats: warning: left 5 more ts_ keys out of the chart"
	[ "${#lines[@]}" -eq 21 ]
}

@test "a startedRunning key of the wrong type is a warning naming it, and the rest is still shown" {
	rcli HSET "${P}startedRunning" a 1 >/dev/null
	rcli SET "${P}int_accept" 5 >/dev/null
	stats --json >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err"
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = '{"startedRunning": "Not yet - waiting for scheduled running to begin", "accept": 5}' ]
	grep -q "^sink-stats: warning: ${P}startedRunning: .*WRONGTYPE" "$BATS_TEST_TMPDIR/err"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/err")" -eq 1 ]
	# Prometheus leaves the started gauge out, as before the first message
	stats --prometheus >"$BATS_TEST_TMPDIR/out" 2>/dev/null
	grep -q '^bouncy_sink_events_total{results_key="0",event="accept"} 5$' "$BATS_TEST_TMPDIR/out"
	[ "$(grep -c started_timestamp "$BATS_TEST_TMPDIR/out")" -eq 0 ]
}

@test "int_ and ts_ keys of the wrong type are warnings naming them, not silently dropped" {
	m=$(($(date -u +%s) / 60 * 60))
	rcli LPUSH "${P}int_z" 1 >/dev/null
	rcli HSET "${P}ts_$m" a 1 >/dev/null
	rcli SET "${P}int_accept" 5 >/dev/null
	stats --json >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err"
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = '{"startedRunning": "Not yet - waiting for scheduled running to begin", "accept": 5}' ]
	grep -q "^sink-stats: warning: skipped ${P}int_z: a Redis list, not a string$" "$BATS_TEST_TMPDIR/err"
	grep -q "^sink-stats: warning: skipped ${P}ts_$m: a Redis hash, not a string$" "$BATS_TEST_TMPDIR/err"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/err")" -eq 2 ]
}

# clear_of_midnight: when UTC midnight is less than 30 s away, wait for it to pass: a test that names log files
# by their age in days from the test's today, and has sink-stats judge them from its own, must not cross one
clear_of_midnight() {
	local left=$((86400 - $(date -u +%s) % 86400))
	((left > 30)) || sleep "$left"
}

@test "--prune deletes ts_ and tso_ keys older than 10 days and old dated logs, and keeps the recent ones" {
	sink_config DKIM_Check=off Logfile_backup_count=7
	clear_of_midnight
	now=$(date -u +%s)
	m=$((now / 60 * 60))
	old1=$((m - 11 * 86400)) old2=$((m - 10 * 86400 - 3600)) keep1=$((m - 9 * 86400)) keep2=$m
	for t in $old1 $old2 $keep1 $keep2; do
		rcli SET "${P}ts_$t" 5 >/dev/null
		rcli HSET "${P}tso_$t" accept/mix 5 >/dev/null
	done
	rcli SET "consume-mail:other:ts_$old1" 5 >/dev/null
	rcli HSET "consume-mail:other:tso_$old1" accept/mix 5 >/dev/null
	mkdir -p "$(dirname "$SINK_LOG")"
	for d in 0 3 7 8 30; do echo line >"$SINK_LOG.$(date -u -d "-$d days" +%F)"; done
	echo notes >"$SINK_LOG.notes"
	send 1
	run stats --prune
	assert_success
	assert_output "sink-stats: pruned 2 ts_ keys and 2 tso_ keys older than 10 days, 2 log files past 7 days"
	[ "$(rcli EXISTS "${P}ts_$old1" "${P}ts_$old2" "${P}tso_$old1" "${P}tso_$old2")" -eq 0 ]
	[ "$(rcli EXISTS "${P}ts_$keep1" "${P}ts_$keep2" "${P}tso_$keep1" "${P}tso_$keep2")" -eq 4 ]
	[ "$(rcli EXISTS "consume-mail:other:ts_$old1" "consume-mail:other:tso_$old1")" -eq 2 ]	# another instance's keys are not ours
	[ "$(counter total_messages)" -eq 1 ]
	for d in 0 3 7; do [ -e "$SINK_LOG.$(date -u -d "-$d days" +%F)" ]; done
	for d in 8 30; do [ ! -e "$SINK_LOG.$(date -u -d "-$d days" +%F)" ]; done
	[ -e "$SINK_LOG.notes" ]
	[ -L "$SINK_LOG" ]
	# --prune with a format also prints that format, after pruning
	run stats --prune --json -o "$BATS_TEST_TMPDIR/s.json"
	assert_success
	assert_output "sink-stats: pruned 0 ts_ keys and 0 tso_ keys older than 10 days, 0 log files past 7 days"
	[ "$(normalise <"$BATS_TEST_TMPDIR/s.json")" = "$(redis_as_json)" ]
}

@test "--prune: Redis down still prunes the old log files, and says both (69); a log file it cannot delete is named, the rest done (74)" {
	sink_config DKIM_Check=off Logfile_backup_count=7
	clear_of_midnight
	mkdir -p "$(dirname "$SINK_LOG")"
	for d in 0 8 30; do echo line >"$SINK_LOG.$(date -u -d "-$d days" +%F)"; done
	REDIS_URL=unix:$BATS_TEST_TMPDIR/no-redis.sock run stats --prune
	[ "$status" -eq 69 ]
	assert_line "sink-stats: pruned no ts_ or tso_ key (Redis unreachable), 2 log files past 7 days"
	assert_line --partial "cannot reach the counters"
	assert_line --partial "unix:$BATS_TEST_TMPDIR/no-redis.sock"
	[ -e "$SINK_LOG.$(date -u +%F)" ]
	for d in 8 30; do [ ! -e "$SINK_LOG.$(date -u -d "-$d days" +%F)" ]; done
	# a dated name unlink(2) refuses even to root: a folder
	stuck=$SINK_LOG.$(date -u -d "-9 days" +%F)
	mkdir "$stuck"
	echo line >"$SINK_LOG.$(date -u -d "-12 days" +%F)"
	rcli SET "${P}ts_$(($(date -u +%s) / 60 * 60 - 12 * 86400))" 5 >/dev/null
	run stats --prune
	[ "$status" -eq 74 ]
	assert_line "sink-stats: pruned 1 ts_ key and 0 tso_ keys older than 10 days, 1 log file past 7 days"
	assert_line "sink-stats: prune: cannot delete $stuck: Is a directory"
	[ ! -e "$SINK_LOG.$(date -u -d "-12 days" +%F)" ]
	# with a format, the output is still made
	run stats --prune --json -o "$BATS_TEST_TMPDIR/s.json"
	[ "$status" -eq 74 ]
	[ "$(normalise <"$BATS_TEST_TMPDIR/s.json")" = "$(redis_as_json)" ]
}

@test "Redis down: non-zero exit, a message naming the Redis URL, and the -o file left as it was" {
	echo "previous content" >"$BATS_TEST_TMPDIR/sink.prom"
	touch -d '2020-01-01 00:00:00' "$BATS_TEST_TMPDIR/sink.prom"
	before=$(stat -c '%Y %s %i' "$BATS_TEST_TMPDIR/sink.prom")
	for fmt in --prometheus --json --html; do
		REDIS_URL=unix:$BATS_TEST_TMPDIR/no-redis.sock run stats $fmt -o "$BATS_TEST_TMPDIR/sink.prom"
		[ "$status" -eq 69 ]
		assert_output --partial "unix:$BATS_TEST_TMPDIR/no-redis.sock"
		assert_output --partial "left as it was"
		[ "$(stat -c '%Y %s %i' "$BATS_TEST_TMPDIR/sink.prom")" = "$before" ]
		[ "$(cat "$BATS_TEST_TMPDIR/sink.prom")" = "previous content" ]
	done
	[ "$(ls -A "$BATS_TEST_TMPDIR" | grep -c sink.prom)" -eq 1 ]
	REDIS_URL=redis://127.0.0.1:1 run stats --json
	[ "$status" -eq 69 ]
	assert_output --partial "redis://127.0.0.1:1"
	# ... without its password: cron mails this
	REDIS_URL=redis://:s3cretpw@127.0.0.1:1 run stats --json
	[ "$status" -eq 69 ]
	assert_output --partial "Redis at redis://:***@127.0.0.1:1:"
	refute_output --partial s3cretpw
	REDIS_URL=unix:$BATS_TEST_TMPDIR/no-redis.sock run stats --prune
	[ "$status" -eq 69 ]
}

@test "the original's config, obsolete keys and all, gives cron nothing on stderr (sink-filter -n warns of them)" {
	rcli SET "${P}int_accept" 2 >/dev/null
	"$SINK_STATS" -c "$T_DIR/fixtures/original-style.ini" --json >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err"
	grep -q '"accept": 2' "$BATS_TEST_TMPDIR/out"
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
}

@test "bad command lines are usage errors (64); a broken config is 78" {
	run stats --json --html
	[ "$status" -eq 64 ]
	assert_output --partial "usage: sink-stats"
	run stats --no-such-option
	[ "$status" -eq 64 ]
	run stats extra-argument
	[ "$status" -eq 64 ]
	printf '[Sink]\nNo_Such_Key = 1\n' >"$BATS_TEST_TMPDIR/bad.ini"
	run "$SINK_STATS" -c "$BATS_TEST_TMPDIR/bad.ini"
	[ "$status" -eq 78 ]
	assert_output --partial "No_Such_Key"
}

@test "-o into a folder that does not exist fails (73) and names the file" {
	run stats --json -o "$BATS_TEST_TMPDIR/nowhere/s.json"
	[ "$status" -eq 73 ]
	assert_output --partial "$BATS_TEST_TMPDIR/nowhere/s.json"
}

@test "SINK_CONFIG is the default config" {
	rcli SET "${P}int_accept" 5 >/dev/null
	SINK_CONFIG=$SINK_INI run "$SINK_STATS"
	assert_success
	assert_output '{"startedRunning": "Not yet - waiting for scheduled running to begin", "accept": 5}'
}
