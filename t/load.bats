#!/usr/bin/env bats
# load.bats - many sink-filters at once (issue 8, part 5): 500 messages through 50 concurrent processes, a
# mix of accepts and opens/clicks against the tracking host, a fifth of them with Store-Done. Nothing may be
# lost: every counter exact, every log line whole and in one piece, every done copy whole. Then the same
# across a midnight log switch (the dated file comes from the message's time, set with SINK_NOW).
# Run inside the mini internet: t/netns-run bats t/load.bats

load lib/common
load lib/sink
load lib/checks

N=500
PARALLEL=50

setup() {
	reset_servers
	sink_config DKIM_Check=off Upstream_Handled=0 OOB_percent=0 FBL_percent=0 Open_percent=50 \
		Open_Again_percent=0 Click_percent=50 Click_Again_percent=0 Tracking_Domains_Allowlist=track.test \
		Weekly_Cycle_Open_Rate=1,1,1,1,1,1,1 Signals_Traffic_Prefix= Open_Click_Timeout=30 Message_Timeout=60
	IN=$BATS_TEST_TMPDIR/in
	mkdir -p "$IN"
}

# make_inputs N DIR: N messages DIR/NNNN.eml, Message-ID <load-NNNN@sender.test>: odd numbers go to
# oNNNN@openclick.sink.test (2 pixels and 1 link on track.test), even ones to aNNNN@accept.sink.test; every
# fifth carries X-Bouncy-Sink: Store-Done. Each has a body of its own (a done copy can only match its input).
make_inputs() {
	"$PY" - "$1" "$2" <<'EOF'
import sys
n, out = int(sys.argv[1]), sys.argv[2]
for i in range(1, n + 1):
    to = ("o%04d@openclick.sink.test" if i % 2 else "a%04d@accept.sink.test") % i
    h = ["Return-Path: <bounces@sender.test>",
         "Received: from mta.sender.test (192.0.2.10) by sink.test id l%d for <%s>; Wed, 25 Nov 2026 10:00:00 +0000" % (i, to),
         "From: News <news@sender.test>", "To: " + to, "Subject: load %d" % i,
         "Date: Wed, 25 Nov 2026 10:00:00 +0000", "Message-ID: <load-%04d@sender.test>" % i]
    if i % 5 == 0:
        h.append("X-Bouncy-Sink: Store-Done")
    h += ["MIME-Version: 1.0", "Content-Type: text/html; charset=utf-8", ""]
    body = ('<html><body><p>message %d %s</p><img src="http://track.test/q/%d/a"><img src="http://track.test/q/%d/b">'
            '<a href="http://track.test/l/%d">read</a></body></html>' % (i, "x" * (i * 7 % 3000), i, i, i))
    with open("%s/%04d.eml" % (out, i), "w") as f:
        f.write("\n".join(h) + "\n" + body + "\n")
EOF
}

# run_all DIR [ENV=VALUE...]: every DIR/*.eml through sink-filter, $PARALLEL at a time; prints the number of
# runs that did not exit 0
run_all() {
	local dir=$1
	shift
	# shellcheck disable=SC2016 # the inner sh expands them
	find "$dir" -name '*.eml' -print0 | sort -z |
		env "$@" xargs -0 -P "$PARALLEL" -I{} sh -c '"$1" -c "$2" <"$3" >/dev/null 2>>"$4" || echo "$3: exit $?" >>"$4"' \
			_ "$SINK_FILTER" "$SINK_INI" {} "$BATS_TEST_TMPDIR/failures"
	grep -c ': exit ' "$BATS_TEST_TMPDIR/failures" || true
}

# check_log_against DIR LOGFILE...: each message of DIR has exactly one record in the log files, with its
# recipient, the class its subdomain gives, its fetches, no error and (every fifth) its done copy; prints
# "ok <records>"
check_log_against() {
	local dir=$1
	shift
	local f
	for f; do log_records "$f"; done | "$PY" -c '
import json, os, sys
recs = [json.loads(l) for l in sys.stdin]
want = {}
for name in os.listdir(sys.argv[1]):
    i = int(name[:4])
    want["load-%04d@sender.test" % i] = (("o%04d@openclick.sink.test" if i % 2 else "a%04d@accept.sink.test") % i,
                                        "openclick/subdomain" if i % 2 else "accept/subdomain")
seen = {}
for r in recs:
    assert r[3] in want, "a record for no message: %r" % r
    assert r[3] not in seen, "two records for %s" % r[3]
    seen[r[3]] = 1
    to, klass = want[r[3]]
    assert r[4] == to and r[5] == "bounces@sender.test" and r[6] == klass, "wrong record %r" % r
    i = int(r[3][5:9])
    errors = [f for f in r[6:] if f.startswith("!")]
    assert not errors, "errors logged for message %d: %r" % (i, errors)
    done = [f for f in r[7:] if f.startswith("done=")]
    assert len(done) == (i % 5 == 0), "done copy listed %r for message %d" % (done, i)
    if klass == "openclick/subdomain":
        assert sorted(f for f in r[8:] if not f.startswith("done=")) == sorted(["open http://track.test/q/%d/a 200" % i, "open http://track.test/q/%d/b 200" % i,
                                         "click http://track.test/l/%d 200" % i]), "wrong actions %r" % r
missing = sorted(set(want) - set(seen))
assert not missing, "no record for %d messages, e.g. %s" % (len(missing), missing[:3])
print("ok %d" % len(recs))
' "$dir"
}

# check_done DIR: the done folder holds exactly the Store-Done messages of DIR, byte for byte, nothing else
check_done() {
	"$PY" - "$1" "$SINK_DONE" <<'EOF'
import os, re, sys
src, done = sys.argv[1], sys.argv[2]
want = {}
for name in os.listdir(src):
    data = open(os.path.join(src, name), "rb").read()
    if b"X-Bouncy-Sink: Store-Done" in data:
        want[re.search(rb"Message-ID: <(load-\d+)@", data).group(1)] = data
files = os.listdir(done)
stray = [f for f in files if not f.endswith(".eml") or f.startswith(".")]
assert not stray, "half-written or stray files in the done folder: %s" % stray[:5]
got = {}
for f in files:
    data = open(os.path.join(done, f), "rb").read()
    m = re.search(rb"Message-ID: <(load-\d+)@", data)
    assert m, "a done copy without its Message-ID: %s" % f
    assert m.group(1) not in got, "two done copies of %s" % m.group(1)
    assert data == want.get(m.group(1)), "done copy %s differs from its input" % f
    assert oct(os.stat(os.path.join(done, f)).st_mode & 0o777) == "0o640", "mode of %s" % f
    got[m.group(1)] = f
assert set(got) == set(want), "%d done copies, %d Store-Done messages" % (len(got), len(want))
print("ok %d" % len(got))
EOF
}

@test "500 messages through 50 concurrent sink-filters: counters exact, 500 whole log lines, done copies whole" {
	make_inputs $N "$IN"
	t0=$EPOCHREALTIME
	failed=$(run_all "$IN")
	ms=$(((${EPOCHREALTIME/./} - ${t0/./}) / 1000))
	echo "$N messages, $PARALLEL at a time: $ms ms" >&3
	cat "$BATS_TEST_TMPDIR/failures"
	[ "$failed" -eq 0 ]
	# counters: every message once, the classes add up, every step counted
	[ "$(counter total_messages)" -eq $N ]
	[ "$(counter accept)" -eq $((N / 2)) ]
	[ "$(counter open)" -eq $((N / 2)) ]
	[ "$(counter click)" -eq $((N / 2)) ]
	[ $(($(counter accept) + $(counter open))) -eq $N ]
	for c in open_again click_again open_url_not_sparkpost click_url_not_sparkpost bad_message fail_dkim; do
		[ "$(counter $c)" -eq 0 ]
	done
	ts_sum=$(rcli --scan --pattern 'consume-mail:0:ts_*' | xargs -r redis-cli -s "$REDIS_SOCK" MGET | awk '{s += $1} END {print s}')
	[ "$ts_sum" -eq $N ]
	# what the tracking host saw
	[ "$(jq -r .path "$HTTP_LOG" | grep -c '^/q/')" -eq $N ]
	[ "$(jq -r .path "$HTTP_LOG" | grep -c '^/l/')" -eq $((N / 2)) ]
	# the log: N whole records (lib/checks), one per message, each right
	assert_whole_log $N
	run check_log_against "$IN" "$SINK_LOG.$(date -u +%F)"
	assert_output "ok $N"
	# the done copies: the Store-Done fifth, byte for byte, nothing half-written
	run check_done "$IN"
	assert_output "ok $((N / 5))"
}

@test "the same across midnight (SINK_NOW): each message in the file of its own UTC day, the link on the new day" {
	sink_config DKIM_Check=off Upstream_Handled=0 OOB_percent=0 FBL_percent=0 Open_percent=50 \
		Open_Again_percent=0 Click_percent=50 Click_Again_percent=0 Tracking_Domains_Allowlist=track.test \
		Weekly_Cycle_Open_Rate=1,1,1,1,1,1,1 Signals_Traffic_Prefix= Open_Click_Timeout=30 Message_Timeout=60 \
		Logfile_backup_count=7
	make_inputs 200 "$IN"
	mkdir -p "$IN.before" "$IN.after"
	for f in "$IN"/*.eml; do	# alternate: before and after midnight
		n=${f##*/}
		n=$((10#${n%.eml}))
		if ((n % 4 < 2)); then mv "$f" "$IN.before/"; else mv "$f" "$IN.after/"; fi
	done
	# dated files from before: with Logfile_backup_count 7, 2027-04-01 keeps itself and 2027-03-25 to 03-31;
	# the 03-24 one is one day past that
	mkdir -p "${SINK_LOG%/*}"
	echo "old" >"$SINK_LOG.2027-03-24"
	echo "kept" >"$SINK_LOG.2027-03-25"
	# both halves at once (PARALLEL in all), as processes that straddle midnight would run
	PARALLEL=$((PARALLEL / 2)) run_all "$IN.before" SINK_NOW=2027-03-31T23:59:59Z >"$BATS_TEST_TMPDIR/n1" &
	PARALLEL=$((PARALLEL / 2)) run_all "$IN.after" SINK_NOW=2027-04-01T00:00:00Z >"$BATS_TEST_TMPDIR/n2"
	wait
	cat "$BATS_TEST_TMPDIR/failures" 2>/dev/null || true
	[ "$(cat "$BATS_TEST_TMPDIR/n1")" -eq 0 ]
	[ "$(cat "$BATS_TEST_TMPDIR/n2")" -eq 0 ]
	old=$SINK_LOG.2027-03-31 new=$SINK_LOG.2027-04-01
	[ -f "$old" ] || fail "no $old: SINK_NOW=2027-03-31T23:59:59Z was not used for the log's date ($(ls "${SINK_LOG%/*}"))"
	[ -f "$new" ]
	assert_whole_log 100 "$old"
	assert_whole_log 100 "$new"
	log_records "$old" | jq -se 'all(.[]; .[0] == "2027-03-31T23:59:59Z")'
	log_records "$new" | jq -se 'all(.[]; .[0] == "2027-04-01T00:00:00Z")'
	run check_log_against "$IN.before" "$old"
	assert_output "ok 100"
	run check_log_against "$IN.after" "$new"
	assert_output "ok 100"
	# the per-minute counters follow the messages' time too
	[ "$(rcli GET "consume-mail:0:ts_$(date -ud 2027-03-31T23:59:00Z +%s)")" -eq 100 ]
	[ "$(rcli GET "consume-mail:0:ts_$(date -ud 2027-04-01T00:00:00Z +%s)")" -eq 100 ]
	[ "$(counter total_messages)" -eq 200 ]
	# the first writer of the new day pruned the file past retention, and kept the one within it
	[ ! -e "$SINK_LOG.2027-03-24" ]
	[ -e "$SINK_LOG.2027-03-25" ]
	# a straggler of the old day (started 23:59:59, finishing now) must not turn the link back
	make_inputs 1 "$BATS_TEST_TMPDIR"
	SINK_NOW=2027-03-31T23:59:59Z run timed filter <"$BATS_TEST_TMPDIR/0001.eml"
	assert_success
	assert_whole_log 101 "$old"
	[ "$(readlink "$SINK_LOG")" = "sink.log.2027-04-01" ] ||
		fail "the Logfile link points to $(readlink "$SINK_LOG") after an old-day straggler"
}
