#!/usr/bin/env bats
# spool.bats - `sink-filter --spool DIR`, the original's way of running: PMTA's file delivery (type file,
# file-format newfile-plain) leaves each message as a file in a folder, and every message file there runs once
# through the same pipeline (counters, log line, done copies, --json records), N at a time, from sink-filterd's
# pool. Nothing lost, nothing doubled: a file is claimed by a rename before it runs and removed after its
# outcome is counted and logged; concurrent runs never run a file twice; a run killed outright leaves its
# claims to the next run; files that are not messages are left or quarantined with a line each.
#
# t/fixtures/pmta-file.msg is a message in the format the original's PMTA wrote (Return-Path:, PMTA's
# Received: with "for <...>", its Authentication-Results:, a DKIM-Signature:, X-MSFBL:, multipart body),
# written for this project; its A-R names sink.test, the tests' Host_Name, so DKIM_Check = header trusts it.
# Run inside the mini internet: t/netns-run bats t/spool.bats

load lib/common
load lib/sink
load lib/checks

NOMIX=(Upstream_Handled=0 OOB_percent=0 FBL_percent=0 Open_percent=0 Open_Again_percent=0 Click_percent=0
	Click_Again_percent=0)
FIXTURE=$T_DIR/fixtures/pmta-file.msg
FIXTURE_RCPT=test+40917711385220361057@accept.sink.test

setup() {
	reset_servers
	sink_config DKIM_Check=off "${NOMIX[@]}"
	M=$BATS_TEST_TMPDIR
	S=$M/spool
	mkdir -p "$S"
	SPOOL=("$SINK_FILTER" --spool "$S" -c "$SINK_INI")
	PIDS=()
}

teardown() {
	local p
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" $(descendants "$p") 2>/dev/null || true
	done
	return 0
}

# spool ARGS...: sink-filter --spool $S -c $SINK_INI ARGS (the same as "${SPOOL[@]}", for `timed`)
spool() {
	"${SPOOL[@]}" "$@"
}

# fill N TEMPLATE [OLD NEW]...: N copies of TEMPLATE in $S under PMTA-like names (16 hex digits, .msg), each OLD
# replaced by NEW with {i} the copy's number, modified a minute ago (settled); prints nothing
fill() {
	"$PY" - "$S" "$@" <<'EOF'
import os, sys
d, n, tpl, pairs = sys.argv[1], int(sys.argv[2]), open(sys.argv[3], "rb").read(), sys.argv[4:]
for i in range(n):
    data = tpl
    for old, new in zip(pairs[0::2], pairs[1::2]):
        data = data.replace(old.encode(), new.format(i=i).encode())
    path = os.path.join(d, os.urandom(8).hex() + ".msg")
    with open(path, "wb") as f:
        f.write(data)
    t = os.stat(path).st_mtime - 60
    os.utime(path, (t, t))
EOF
}

# left: what is left in the folder (but .quarantine/) and in its .claimed/ (leases included), one name a line
left() {
	(cd "$S" && find . -mindepth 1 \( -name .quarantine -prune \) -o \( -path ./.claimed -prune \) -o -print &&
		find .claimed -mindepth 1 2>/dev/null) | sort
}

# descendants PID: its children, their children, ...
descendants() {
	local c
	for c in $(pgrep -P "$1"); do
		echo "$c"
		descendants "$c"
	done
}

# claims: the claims in .claimed/ (not the leases)
claims() {
	find "$S/.claimed" -mindepth 1 -not -name '.*' -printf '%f\n' 2>/dev/null | sort
}

# the log's To field (the recipient), one a line, sorted
log_rcpts() {
	log_records | jq -r '.[4]' | sort
}

@test "the original's file format: recipient from PMTA's Received for <...>, sender from Return-Path, client IP from Received; trusted by its Authentication-Results" {
	sink_config DKIM_Check=header "${NOMIX[@]}"
	cp "$FIXTURE" "$S/00056dd4a780a5f1.msg"
	touch -d '-1 min' "$S/00056dd4a780a5f1.msg"
	run spool --json -j 1
	assert_success
	echo "$output"
	[ "$(wc -l <<<"$output")" -eq 1 ]
	record_field . <<<"$output" >/dev/null
	jq -e --arg r "$FIXTURE_RCPT" '.to == $r and .return_path == "bounces@sender.test" and .client_ip == "192.0.2.10"
		and .class == "accept" and .route == "subdomain" and .dkim == "pass"
		and .message_id == "A7.0C.51320.8E1F22C6@mta1.sender.test" and .exit == 0' <<<"$output"
	assert_counted 1
	[ "$(counter accept)" -eq 1 ]
	assert_whole_log 1
	last_record | jq -e --arg r "$FIXTURE_RCPT" '.[4] == $r and .[5] == "bounces@sender.test"'
	[ -z "$(left)" ]
	# the same record as sink-filter --to-from-received on the file itself
	run filter --dry-run --json --seed 1 --to-from-received <"$FIXTURE"
	jq -e --arg r "$FIXTURE_RCPT" '.to == $r and .class == "accept"' <<<"$output"
}

@test "the recipient is the top Received's for <...>, not To:; without a for clause, the first To:" {
	sed 's/^To: .*/To: Reader <reader@oob.sink.test>/' "$FIXTURE" >"$M/to-differs.eml"
	sed -e 's/^To: .*/To: reader@fbl.sink.test/' -e '2s/ for <[^>]*>//' "$FIXTURE" >"$M/no-for.eml"
	grep -q '^Received: .* id q7nyr31kfbzd; Mon' "$M/no-for.eml"
	fill 1 "$M/to-differs.eml"
	sink_config DKIM_Check=header "${NOMIX[@]}" OOB_percent=100
	run spool --json
	assert_success
	jq -e --arg r "$FIXTURE_RCPT" '.to == $r and .class == "accept"' <<<"$output"
	[ "$(smtp_messages)" -eq 0 ]
	# the pipe path is unchanged: sink-filter without --to takes To:
	run filter --dry-run --json <"$M/to-differs.eml"
	jq -e '.to == "reader@oob.sink.test" and .class == "oob"' <<<"$output"
	sink_config DKIM_Check=header "${NOMIX[@]}"
	fill 1 "$M/no-for.eml"
	run spool --json
	assert_success
	jq -e '.to == "reader@fbl.sink.test"' <<<"$output"
	[ -z "$(left)" ]
}

@test "a folder of 1,000 messages is emptied: every counter exact, 1,000 whole log lines, each message once" {
	make_msg "$M/m.eml" to=x@accept.sink.test msgid='<N@sender.test>'
	fill 1000 "$M/m.eml" 'for <x@accept.sink.test>' 'for <x{i}@accept.sink.test>' '<N@sender.test>' '<{i}@sender.test>'
	[ "$(find "$S" -name '*.msg' | wc -l)" -eq 1000 ]
	run timed "${SPOOL[@]}" -j 2
	echo "$output"
	assert_success
	assert_output ""
	echo "1,000 messages in $(took_ms) ms"
	assert_counted 1000
	[ "$(counter accept)" -eq 1000 ]
	[ "$(rcli --scan --pattern 'consume-mail:0:int_*' | wc -l)" -eq 2 ]	# total_messages and accept only
	assert_whole_log 1000
	[ "$(log_rcpts | uniq | wc -l)" -eq 1000 ]
	[ "$(log_records | jq -r '.[3]' | sort -u | wc -l)" -eq 1000 ]
	[ -z "$(left)" ]	# no file, no claim, no lease
	[ -z "$(ls -A "$SINK_DONE" 2>/dev/null)" ]	# nothing asked for a done copy
}

@test "2,000 messages in the original's format run with exact counters, one --json record each" {
	sink_config DKIM_Check=header "${NOMIX[@]}"
	fill 2000 "$FIXTURE" 40917711385220361057 '{i}' A7.0C.51320 'A7.0C.{i}'
	run timed "${SPOOL[@]}" --json
	assert_success
	echo "2,000 messages in $(took_ms) ms"
	[ "$(grep -c '^{' <<<"$output")" -eq 2000 ]
	[ "$(wc -l <<<"$output")" -eq 2000 ]
	[ "$(jq -r 'select(.class == "accept" and .dkim == "pass" and .exit == 0) | .to' <<<"$output" | sort -u | wc -l)" -eq 2000 ]
	assert_counted 2000
	[ "$(counter accept)" -eq 2000 ]
	assert_whole_log 2000
	[ "$(log_rcpts | uniq | wc -l)" -eq 2000 ]
	[ -z "$(left)" ]
}

@test "the done copies follow the pipe's rules: a Store-Done message is kept in Done_Msg_File_Dest, byte for byte" {
	make_msg "$M/keep.eml" to=k@accept.sink.test store_done=1
	make_msg "$M/drop.eml" to=d@accept.sink.test
	fill 1 "$M/keep.eml"
	fill 1 "$M/drop.eml"
	run spool --json
	assert_success
	[ "$(ls "$SINK_DONE" | wc -l)" -eq 1 ]
	cmp "$SINK_DONE"/*.eml "$M/keep.eml"
	jq -se 'map(select(.to == "k@accept.sink.test")) | length == 1 and .[0].done != null' <<<"$output"
	[ -z "$(left)" ]
	# kept by two children: each name's random part its own (the children do not draw alike)
	rm "$SINK_DONE"/*.eml
	fill 20 "$M/keep.eml"
	run spool -j 2
	assert_success
	ls "$SINK_DONE"
	[ "$(ls "$SINK_DONE" | wc -l)" -eq 20 ]
	[ "$(ls "$SINK_DONE" | sed 's/.*-\([0-9a-f]*\)\.eml$/\1/' | sort -u | wc -l)" -eq 20 ]
}

@test "two concurrent --spool runs on one folder run each file once" {
	make_msg "$M/m.eml" to=x@accept.sink.test
	fill 1000 "$M/m.eml" 'for <x@accept.sink.test>' 'for <x{i}@accept.sink.test>'
	"${SPOOL[@]}" -j 2 --json >"$M/a.out" 2>"$M/a.err" &
	a=$!
	"${SPOOL[@]}" -j 2 --json >"$M/b.out" 2>"$M/b.err" &
	b=$!
	PIDS=("$a" "$b")
	wait "$a"
	wait "$b"
	cat "$M/a.err" "$M/b.err"
	[ ! -s "$M/a.err" ]
	[ ! -s "$M/b.err" ]
	echo "first run: $(wc -l <"$M/a.out") messages, second: $(wc -l <"$M/b.out")"
	[ "$(wc -l <"$M/a.out")" -gt 0 ]
	[ "$(wc -l <"$M/b.out")" -gt 0 ]
	[ "$(cat "$M/a.out" "$M/b.out" | jq -r .to | sort | uniq | wc -l)" -eq 1000 ]
	[ "$(cat "$M/a.out" "$M/b.out" | wc -l)" -eq 1000 ]
	assert_counted 1000
	assert_whole_log 1000
	[ "$(log_rcpts | uniq | wc -l)" -eq 1000 ]
	[ -z "$(left)" ]
}

# slow OUT: a message signed by blackhole.test, whose DKIM key look-up gets no answer: its run takes
# Message_Timeout (which bounds DNS_Timeout) and ends in dkim temperror, before any side effect
slow() {
	make_msg "$1.unsigned" to=s@accept.sink.test from=news@blackhole.test return_path=b@blackhole.test
	sign_msg "$1.unsigned" "$1" blackhole.test
}

@test "SIGKILL in the middle: every unfinished file is run once by the next run, which takes the dead run's claims over" {
	sink_config DKIM_Check=verify "${NOMIX[@]}" DNS_Timeout=3 Message_Timeout=3
	make_msg "$M/u.eml" to=f@accept.sink.test
	sign_msg "$M/u.eml" "$M/fast.eml"
	slow "$M/slow.eml"
	fill 30 "$M/fast.eml" 'for <f@accept.sink.test>' 'for <f{i}@accept.sink.test>'
	touch -d '-10 min' "$S"/*.msg	# the fast ones run first (oldest first)
	fill 10 "$M/slow.eml" 'for <s@accept.sink.test>' 'for <s{i}@accept.sink.test>'
	"${SPOOL[@]}" -j 2 2>"$M/first.err" &
	first=$!
	PIDS=("$first")
	# every fast message done and removed; eight slow ones claimed (two running, waiting for their DKIM
	# key, and the next six handed to the pool behind them), two still in the folder
	wait_for 20 bash -c '[[ $(wc -l <"$0" 2>/dev/null) -eq 30 && $(find "$1/.claimed" -name "*,*" -not -name ".*" 2>/dev/null | wc -l) -eq 8 &&
		$(find "$1" -maxdepth 1 -name "*.msg" | wc -l) -eq 2 ]]' "$SINK_LOG.$(date -u +%F)" "$S"
	all=$(descendants "$first")
	kill -KILL "$first" $all
	wait "$first" || true
	for p in $all; do wait_for 5 gone "$p"; done
	claims
	[ "$(claims | wc -l)" -eq 8 ]
	[ "$(claims | grep -c '^[0-9a-f]\{16\}\.msg,')" -eq 8 ]
	assert_counted 30	# the killed runs had done nothing yet
	# the next run: the two files left, then the dead run's claims once they come of age (Message_Timeout + 2 s)
	run timed "${SPOOL[@]}" -j 2
	echo "$output"
	assert_success
	[ "$(grep -c 'taken over from the claim of run .*, which is gone' <<<"$output")" -eq 8 ]
	assert_counted 40
	[ "$(counter accept)" -eq 30 ]
	[ "$(counter fail_dkim)" -eq 10 ]
	assert_whole_log 40
	[ "$(log_rcpts | uniq | wc -l)" -eq 40 ]
	[ -z "$(left)" ]	# the dead run's lease too
}

@test "a run as root on a folder PMTA's user owns gives that user .claimed/, .quarantine/ and its lease: its runs go on, and take a killed root run's claims over" {
	local d
	d=$(mktemp -d /tmp/sink-spool-owner.XXXXXX)	# (the test's own folder is root's alone)
	chmod 0755 "$d"
	mkdir "$d/in" "$d/log"
	chown 65534:65534 "$d/in" "$d/log"
	sink_config DKIM_Check=verify "${NOMIX[@]}" DNS_Timeout=3 Message_Timeout=3 Logfile="$d/log/sink.log"
	cp "$SINK_INI" "$d/sink.ini"
	chmod 0644 "$d/sink.ini"
	S=$d/in
	slow "$M/slow.eml"
	fill 1 "$M/slow.eml"
	: >"$S/empty.msg"
	touch -d '-1 min' "$S/empty.msg"
	chmod 0644 "$S"/*
	# root's run, by hand: killed while its message waits for its DKIM key
	"$SINK_FILTER" --spool "$S" -c "$d/sink.ini" -j 1 2>"$M/root.err" &
	first=$!
	PIDS=("$first")
	wait_for 10 bash -c '[[ -f $0/.quarantine/empty.msg && -n $(find "$0/.claimed" -name "*.msg,*") ]]' "$S"
	all=$(descendants "$first")
	kill -KILL "$first" $all
	wait "$first" || true
	for p in $all; do wait_for 5 gone "$p"; done
	cat "$M/root.err"
	owners=$(stat -c '%n %u:%g' "$S/.claimed" "$S/.quarantine" "$S"/.claimed/.run,*)
	echo "$owners"
	[ "$(grep -c ' 65534:65534$' <<<"$owners")" -eq 3 ]
	# PMTA's user's run: takes the dead root run's claim over (its lease could be locked) and runs it
	TMPDIR=/tmp run timeout 30 setpriv --reuid=65534 --regid=65534 --clear-groups "$SINK_FILTER" --spool "$S" -c "$d/sink.ini"
	echo "$output"
	assert_success
	assert_line --regexp "^sink-filterd: spool $S: [0-9a-f]{16}\.msg: taken over from the claim of run .*, which is gone$"
	assert_whole_log 1 "$d/log/sink.log.$(date -u +%F)"
	left=$(cd "$S" && find . -mindepth 1 -not -path './.quarantine*' -not -path ./.claimed)
	# .claimed/ made by root before runs gave it away: the user's run says whose it is, and what to do
	chown 0:0 "$S/.claimed"
	TMPDIR=/tmp run setpriv --reuid=65534 --regid=65534 --clear-groups "$SINK_FILTER" --spool "$S" -c "$d/sink.ini"
	echo "$output"
	[ -z "$left" ]
	[ "$status" -eq 73 ]
	assert_output --partial ".claimed/ belongs to uid 0, this run is uid 65534: give it and what is in it to the user the spool runs as"
	# a folder of root's that PMTA's group may write: .claimed/ gets that group and the folder's permissions
	S=$d/in2
	mkdir "$S"
	chown 0:65534 "$S"
	chmod 0770 "$S"
	"$SINK_FILTER" --spool "$S" -c "$d/sink.ini"
	owners=$(stat -c '%u:%g %a' "$S/.claimed")
	make_msg "$M/m.eml" to=x@accept.sink.test
	fill 1 "$M/m.eml"
	chmod 0644 "$S"/*.msg
	TMPDIR=/tmp run setpriv --reuid=65534 --regid=65534 --clear-groups "$SINK_FILTER" --spool "$S" -c "$d/sink.ini"
	left=$(cd "$S" && find . -mindepth 1 -not -path ./.claimed)
	rm -rf "$d"
	echo "$output"
	assert_success
	[ "$owners" = "0:65534 770" ]
	[ -z "$left" ]
}

@test "a run on another host (its lock not seen here) keeps its claims while it beats, however old they are; once it stops, they are taken over" {
	sink_config DKIM_Check=off "${NOMIX[@]}" Message_Timeout=1
	make_msg "$M/m.eml" to=x@accept.sink.test
	mkdir -p "$S/.claimed"
	owner="otherhost:4242:0badcafe"
	cp "$M/m.eml" "$S/.claimed/0000000000000001.msg,$owner"	# its claim, made now
	touch "$S/.claimed/.run,$owner"	# its lease, unlocked: as a lock on another host looks from here
	# it beats every second for 6 s (its claim older than Message_Timeout + 2 s by then), then finishes
	# the message: removes its claim and its lease
	( for _ in 1 2 3 4 5 6; do touch "$S/.claimed/.run,$owner"; sleep 1; done
	  rm "$S/.claimed/0000000000000001.msg,$owner" "$S/.claimed/.run,$owner" ) &
	beater=$!
	PIDS=("$beater")
	t0=${EPOCHREALTIME/./}
	run timed "${SPOOL[@]}" -j 1	# waits for the claim to come of age, which it never does: it goes
	echo "$output"
	assert_success
	refute_output --partial "taken over"
	(( ${EPOCHREALTIME/./} - t0 > 4000000 ))
	assert_counted 0
	wait "$beater"
	# a run that stops beating (died on its host): taken over once Message_Timeout + 2 s have passed
	cp "$M/m.eml" "$S/.claimed/0000000000000002.msg,$owner"
	touch "$S/.claimed/.run,$owner"
	run timed "${SPOOL[@]}" -j 1
	echo "$output"
	assert_success
	assert_output --partial "0000000000000002.msg: taken over from the claim of run $owner, which is gone"
	assert_counted 1
	[ -z "$(left)" ]
}

@test "a live run's claim is never taken over, however old: another run leaves it alone" {
	sink_config DKIM_Check=off "${NOMIX[@]}" Message_Timeout=1
	make_msg "$M/m.eml" to=x@accept.sink.test
	fill 200 "$M/m.eml" 'for <x@accept.sink.test>' 'for <x{i}@accept.sink.test>'
	# the first run's records fill a pipe nobody reads until the test says "go": it stops, a claim still held
	mkfifo "$M/fifo" "$M/go"
	(exec 7<"$M/fifo"; read -r _ <"$M/go"; cat <&7 >"$M/a.out") &
	reader=$!
	"${SPOOL[@]}" -j 1 --json >"$M/fifo" 2>"$M/a.err" &
	a=$!
	PIDS=("$a" "$reader")
	wait_for 5 bash -c '[[ -n $(find "$0/.claimed" -name "*,*" -not -name ".*" 2>/dev/null) ]]' "$S"
	sleep 4	# older than Message_Timeout + 2 s now
	# four: the one whose record the spool is writing, and the next three, handed to the pool behind it
	[ "$(claims | wc -l)" -eq 4 ]
	# held up writing its records, the run still beats: its lease touched within the last 2 s
	lease=$(find "$S/.claimed" -maxdepth 1 -name '.run,*')
	[ "$(wc -l <<<"$lease")" -eq 1 ]
	(( $(date +%s) - $(stat -c %Y "$lease") <= 2 ))
	held=$(claims)
	run spool -j 2
	echo "$output"
	assert_success
	refute_output --partial "taken over"
	[ "$(claims)" = "$held" ]
	echo go >"$M/go"
	wait "$a"
	wait "$reader"
	[ ! -s "$M/a.err" ]
	assert_counted 200
	assert_whole_log 200
	[ "$(log_rcpts | uniq | wc -l)" -eq 200 ]
	[ -z "$(left)" ]
}

@test "out of descriptors (ulimit -n 16): the file that cannot be opened goes back, the run stops (71) saying why; the next run does the rest" {
	sink_config DKIM_Check=off "${NOMIX[@]}"
	make_msg "$M/m.eml" to=x@accept.sink.test
	fill 40 "$M/m.eml" 'for <x@accept.sink.test>' 'for <x{i}@accept.sink.test>'
	run bash -c 'ulimit -n 16 && exec "$@"' _ "${SPOOL[@]}" -j 8
	echo "$output"
	[ "$status" -eq 71 ]
	assert_output --partial "Too many open files"
	[ -z "$(claims)" ]	# every claim ended: done, or back under its own name
	done_first=$(counter accept)
	[ "$done_first" -lt 40 ]
	run spool -j 8
	assert_success
	assert_counted 40
	assert_whole_log 40
	[ "$(log_rcpts | uniq | wc -l)" -eq 40 ]
	[ -z "$(left)" ]
}

# stop_run: SIGTERM to the run started as $pid, waited for: exit 0 (its standard error, $M/err, shown)
stop_run() {
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	cat "$M/err"
	[ "$st" -eq 0 ]
}

# stopped_with_six_claimed ARGS...: a spool run (ARGS added) over six slow messages, stopped by SIGTERM once all six
# are claimed (two running, four handed to the pool behind them): exit 0, the four said to go back unstarted
stopped_with_six_claimed() {
	"${SPOOL[@]}" -j 2 "$@" 2>"$M/err" &
	pid=$!
	PIDS=("$pid")
	wait_for 5 bash -c '[[ $(find "$0/.claimed" -name "*,*" -not -name ".*" 2>/dev/null | wc -l) -eq 6 ]]' "$S"
	stop_run
	[ "$(grep -c 'not started before the stop; back in the folder for the next run' "$M/err")" -eq 4 ]
}

@test "SIGTERM: the running messages finish and are removed, the rest stays for the next run; exit 0" {
	sink_config DKIM_Check=verify "${NOMIX[@]}" DNS_Timeout=2 Message_Timeout=2
	slow "$M/slow.eml"
	fill 6 "$M/slow.eml" 'for <s@accept.sink.test>' 'for <s{i}@accept.sink.test>'
	stopped_with_six_claimed
	grep -q 'stopping: 2 message(s) running; the rest stays in the folder' "$M/err"
	assert_counted 2
	[ -z "$(claims)" ]
	[ "$(find "$S" -maxdepth 1 -name '*.msg' | wc -l)" -eq 4 ]
	run spool -j 2
	assert_success
	assert_counted 6
	assert_whole_log 6
	[ -z "$(left)" ]
	# the same with --watch: its last line counts what it did not start
	fill 6 "$M/slow.eml" 'for <s@accept.sink.test>' 'for <w{i}@accept.sink.test>'
	stopped_with_six_claimed --watch
	grep -q ': stopped: 2 done, 0 put back, 0 quarantined, 4 not started$' "$M/err"
	assert_counted 8
}

@test "--watch runs files written after it started, and a file written slowly (as PMTA writes it) only once whole" {
	sink_config DKIM_Check=verify "${NOMIX[@]}"
	"${SPOOL[@]}" --watch -j 2 --json >"$M/out" 2>"$M/err" &
	pid=$!
	PIDS=("$pid")
	wait_for 10 grep -q 'watching, 2 message(s) at once' "$M/err"
	make_msg "$M/u.eml" to=w@accept.sink.test
	sign_msg "$M/u.eml" "$M/signed.eml"
	for i in 1 2 3 4 5; do
		sed "s/for <w@accept.sink.test>/for <w$i@accept.sink.test>/" "$M/signed.eml" >"$S/new$i.msg"
	done
	wait_for 10 bash -c '[[ $(wc -l <"$0") -eq 5 ]]' "$M/out"
	# moved in whole from elsewhere
	sed "s/for <w@accept.sink.test>/for <moved@accept.sink.test>/" "$M/signed.eml" >"$S/.moved.tmp"
	mv "$S/.moved.tmp" "$S/moved.msg"
	wait_for 10 bash -c '[[ $(wc -l <"$0") -eq 6 ]]' "$M/out"
	# written in four pieces, 0.6 s apart, by one open descriptor: run once, whole (its signature verifies)
	sed "s/for <w@accept.sink.test>/for <slow@accept.sink.test>/" "$M/signed.eml" >"$M/slow.eml"
	size=$(stat -c %s "$M/slow.eml")
	exec 5>"$S/slow.msg"
	for part in 0 1 2 3; do
		tail -c +$((part * size / 4 + 1)) "$M/slow.eml" | head -c $(((part + 1) * size / 4 - part * size / 4)) >&5
		sleep 0.6
	done
	exec 5>&-
	cmp "$S/slow.msg" "$M/slow.eml" 2>/dev/null || [ ! -e "$S/slow.msg" ]
	wait_for 10 bash -c '[[ $(wc -l <"$0") -eq 7 ]]' "$M/out"
	sleep 0.5
	stop_run
	grep -q 'stopped: 7 done, 0 put back, 0 quarantined' "$M/err"
	jq -se 'map(select(.to == "slow@accept.sink.test")) | length == 1 and .[0].dkim == "pass" and .[0].class == "accept"' "$M/out"
	[ "$(jq -r .to "$M/out" | sort -u | wc -l)" -eq 7 ]
	[ "$(jq -r 'select(.dkim == "pass") | .to' "$M/out" | wc -l)" -eq 7 ]
	assert_counted 7
	[ "$(counter fail_dkim)" -eq 0 ]
	assert_whole_log 7
	[ -z "$(left)" ]
}

@test "a file whose writer stalls past the settle time still holding it open is not run: one-shot leaves it for the next run, --watch runs it whole once its writer closes it" {
	sink_config DKIM_Check=verify "${NOMIX[@]}"
	make_msg "$M/u.eml" to=w@accept.sink.test
	sign_msg "$M/u.eml" "$M/signed.eml"
	half=$(($(stat -c %s "$M/signed.eml") / 2))
	# half written, its time a minute back (settled), its writer's descriptor open; and one still empty
	head -c "$half" "$M/signed.eml" >"$S/stall.msg"
	exec 5>>"$S/stall.msg" 6>"$S/empty.msg"
	touch -d '-1 min' "$S/stall.msg" "$S/empty.msg"
	run "${SPOOL[@]}" --json
	assert_success
	echo "$output"
	grep -q ': stall.msg: still open for writing (its writer has not closed it); back in the folder for the next run$' <<<"$output"
	grep -q ': empty.msg: still open for writing (its writer has not closed it); back in the folder for the next run$' <<<"$output"
	[ "$(left)" = "$(printf './empty.msg\n./stall.msg')" ]
	assert_counted 0
	# the writer ends it: the next run runs it whole (its signature verifies)
	tail -c +$((half + 1)) "$M/signed.eml" >&5
	exec 5>&- 6>&-
	cmp "$S/stall.msg" "$M/signed.eml"
	rm "$S/empty.msg"
	run "${SPOOL[@]}" --json
	assert_success
	json_of "$output" | jq -e '.dkim == "pass" and .class == "accept"'
	assert_counted 1
	[ -z "$(left)" ]

	# --watch: found at its start half written, put back; its writer's close runs it at once
	head -c "$half" "$M/signed.eml" >"$S/stall2.msg"
	exec 5>>"$S/stall2.msg"
	touch -d '-1 min' "$S/stall2.msg"
	"${SPOOL[@]}" --watch --json >"$M/out" 2>"$M/err" &
	pid=$!
	PIDS=("$pid")
	wait_for 10 grep -q ': stall2.msg: still open for writing (its writer has not closed it); back in the folder for when its writer closes it$' "$M/err"
	sleep 0.5
	[ ! -s "$M/out" ]
	tail -c +$((half + 1)) "$M/signed.eml" >&5
	exec 5>&-
	wait_for 5 bash -c '[[ $(wc -l <"$0") -eq 1 ]]' "$M/out"
	stop_run
	grep -q 'stopped: 1 done, 0 put back, 0 quarantined' "$M/err"
	jq -e '.dkim == "pass" and .class == "accept"' "$M/out"
	assert_counted 2
	assert_whole_log 2
	[ -z "$(left)" ]
}

@test "on a file system where a lease cannot tell a writer (ramfs here, as NFS and SMB): a whole file held open runs once settled, never put back for ever" {
	mkdir -p "$M/ram"
	mount -t ramfs ramfs "$M/ram"
	S=$M/ram/spool
	mkdir "$S"
	SPOOL=("$SINK_FILTER" --spool "$S" -c "$SINK_INI")
	make_msg "$M/u.eml" to=w@accept.sink.test
	cp "$M/u.eml" "$S/held.msg"
	exec 5>>"$S/held.msg"
	touch -d '-1 min' "$S/held.msg"
	run "${SPOOL[@]}"
	exec 5>&-
	umount "$M/ram"
	echo "$output"
	assert_success
	refute_output --partial "still open for writing"
	assert_counted 1
}

@test "files that are not messages: empty ones quarantined, folders, FIFOs and links left, each with one line; other names and dot-files left without a word" {
	make_msg "$M/m.eml" to=x@accept.sink.test
	fill 3 "$M/m.eml"
	: >"$S/empty.msg"
	mkdir "$S/folder.msg" "$S/done"
	mkfifo "$S/fifo.msg"
	ln -s "$M/m.eml" "$S/link.msg"
	cp "$M/m.eml" "$S/.being-written.msg"
	cp "$M/m.eml" "$S/notes.txt"
	touch -d '-1 min' "$S"/* "$S/.being-written.msg"
	run spool
	echo "$output"
	assert_success
	assert_line "sink-filterd: spool $S: empty.msg: empty, not a message; moved to .quarantine/empty.msg"
	assert_line "sink-filterd: spool $S: folder.msg: a folder, not a message file; left alone"
	assert_line "sink-filterd: spool $S: fifo.msg: not a regular file; left alone"
	assert_line "sink-filterd: spool $S: link.msg: a symbolic link, not a message file; left alone"
	[ "${#lines[@]}" -eq 4 ]
	assert_counted 3
	[ -f "$S/.quarantine/empty.msg" ]
	[ -f "$S/notes.txt" ] && [ -f "$S/.being-written.msg" ] && [ -d "$S/done" ] && [ -p "$S/fifo.msg" ] && [ -L "$S/link.msg" ]
	[ -z "$(claims)" ]
}

@test "a file the run's user cannot read (root's, mode 0600) goes to .quarantine/ with a line; the others run" {
	local d
	d=$(mktemp -d /tmp/sink-spool-read.XXXXXX)	# (the test's own folder is root's alone)
	chmod 0755 "$d"
	mkdir "$d/in" "$d/log"
	chown 65534:65534 "$d/in" "$d/log"
	sink_config DKIM_Check=off "${NOMIX[@]}" Logfile="$d/log/sink.log"
	cp "$SINK_INI" "$d/sink.ini"
	chmod 0644 "$d/sink.ini"
	S=$d/in
	make_msg "$M/m.eml" to=x@accept.sink.test
	fill 2 "$M/m.eml"
	chmod 0644 "$S"/*.msg
	cp "$M/m.eml" "$S/0000000000000001.msg"
	chmod 0600 "$S/0000000000000001.msg"
	touch -d '-1 min' "$S/0000000000000001.msg"
	TMPDIR=/tmp run setpriv --reuid=65534 --regid=65534 --clear-groups "$SINK_FILTER" --spool "$S" -c "$d/sink.ini"
	quarantined=$(ls -A "$S/.quarantine")
	left=$(cd "$S" && find . -mindepth 1 -not -path './.quarantine*' -not -path ./.claimed)
	records=$(log_records "$d/log/sink.log.$(date -u +%F)" | wc -l)
	rm -rf "$d"
	echo "$output"
	assert_success
	assert_line "sink-filterd: spool $S: 0000000000000001.msg: cannot be read: Permission denied; moved to .quarantine/0000000000000001.msg"
	[ "${#lines[@]}" -eq 1 ]
	[ "$quarantined" = 0000000000000001.msg ]
	[ -z "$left" ]
	[ "$records" -eq 2 ]
}

@test "a file changed in the last 2 seconds is waited for (PMTA may be writing it), then run" {
	make_msg "$S/fresh.msg" to=x@accept.sink.test
	run timed "${SPOOL[@]}"
	assert_success
	echo "took $(took_ms) ms"
	(($(took_ms) >= 900))
	assert_counted 1
	[ -z "$(left)" ]
}

@test "a file whose time is a second ahead (a writer's clock ahead) is waited for too; one far ahead is run at once" {
	make_msg "$S/ahead.msg" to=x@accept.sink.test
	touch -d '+1 sec' "$S/ahead.msg"
	run timed "${SPOOL[@]}"
	assert_success
	echo "took $(took_ms) ms"
	(($(took_ms) >= 1900))	# 2 s after its time, a second ahead
	assert_counted 1
	make_msg "$S/far.msg" to=x@accept.sink.test
	touch -d '+1 hour' "$S/far.msg"
	run timed "${SPOOL[@]}"
	assert_success
	echo "took $(took_ms) ms"
	(($(took_ms) < 1500))
	assert_counted 2
	[ -z "$(left)" ]
}

@test "one-shot under steady mail: the run takes what the folder held when it began and ends; what came since is the next run's" {
	fill 40 "$FIXTURE"
	# a writer adding a message every 20 ms for 6 s, as PMTA would under load: there is always one a run
	# waits for (changed in the last 2 s)
	"$PY" - "$S" "$FIXTURE" <<'PY' 3>&- &
import os, sys, time
d, data = sys.argv[1], open(sys.argv[2], "rb").read()
end = time.time() + 6
while time.time() < end:
    path = os.path.join(d, os.urandom(8).hex() + ".msg")
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.rename(path + ".tmp", path)
    time.sleep(0.02)
PY
	PIDS+=($!)
	sleep 0.3
	run timed "${SPOOL[@]}"
	assert_success
	echo "took $(took_ms) ms; $(log_lines | wc -l) run"
	(($(took_ms) < 3500))	# the last it saw waited for 2 s; it did not follow the writer to its end
	kill -0 "${PIDS[0]}"	# (the writer still going)
	n=$(log_lines | wc -l)
	((n >= 40 && n < 40 + 3500 / 20))
	wait "${PIDS[0]}"
	run "${SPOOL[@]}"	# the next run takes the rest
	assert_success
	[ -z "$(left)" ]
	total=$(log_lines | wc -l)
	assert_counted "$total"
}

@test ".claimed/ removed while a run goes on: it stops claiming, says why and exits 73; the next run makes it again and runs the rest" {
	sink_config DKIM_Check=off Upstream_Handled=0 Open_percent=100 Open_Again_percent=0 Click_percent=0 \
		Click_Again_percent=0 Fetch_Allow_Private=true Tracking_Domains_Allowlist=track.test
	for i in $(seq 12); do
		make_msg "$S/$i.msg" to=x@openclick.sink.test html="<html><body>$(pixels 1 slow/400/)</body></html>"
		touch -d '-1 min' "$S/$i.msg"
	done
	"${SPOOL[@]}" -j 1 2>"$M/err" &
	PIDS+=($!)
	wait_for 5 test -s "$SINK_LOG"	# the first message done (each takes 400 ms)
	rm -rf "$S/.claimed"
	wait_for 10 gone "${PIDS[0]}"	# (before, it looked again and again for ever, every claim "another run's")
	st=0
	wait "${PIDS[0]}" || st=$?
	cat "$M/err"
	[ "$st" -eq 73 ]
	grep -q "$S/.claimed/ was removed while the run went on: nothing more can be claimed" "$M/err"
	! grep -q "stays until a later run" "$M/err" || false	# (no later run will: the claims went with the folder)
	left_before=$(find "$S" -maxdepth 1 -name '*.msg' | wc -l)
	((left_before >= 5))	# what it had not claimed (12, but one or two done and -j 1 + 3 in hand) is still there
	run "${SPOOL[@]}"
	assert_success
	[ -z "$(find "$S" -maxdepth 1 -name '*.msg')" ]
	[ -d "$S/.claimed" ]
}

@test "delayed steps from a run's children are each their own job: 40 opens at -j 4 queue 40 jobs" {
	sink_config DKIM_Check=off Upstream_Handled=0 Open_percent=100 Open_Again_percent=0 Click_percent=0 \
		Click_Again_percent=0 Open_Delay=1h
	make_msg "$M/m.eml" to=x@openclick.sink.test html="<html><body>$(pixels 1)</body></html>"
	fill 40 "$M/m.eml"
	run spool -j 4
	assert_success
	assert_equal "$(counter jobs_scheduled)" 40
	# (the children, forked from one process, drew the same ids from GLib's generator: 4 jobs to an id)
	assert_equal "$(rcli ZCARD consume-mail:0:jobs:due)" 40
	assert_equal "$(rcli HLEN consume-mail:0:jobs:data)" 40
}

@test "a run that asks for a retry (75: a module missing) puts its file back and the spool exits 75; a broken config runs nothing" {
	sink_config DKIM_Check=verify "${NOMIX[@]}"
	make_msg "$M/m.eml" to=x@accept.sink.test
	fill 2 "$M/m.eml"
	ls "$S" >"$M/before"
	SINK_MODULE_DIR=$M/none run spool -j 1
	echo "$output"
	[ "$status" -eq 75 ]
	[ "$(grep -c 'its run asked for a retry (exit 75); back in the folder for the next run' <<<"$output")" -eq 2 ]
	assert_counted 0
	[ "$(ls "$S")" = "$(cat "$M/before")" ]	# the same files, under their own names
	[ -z "$(claims)" ]
	# the config broken: nothing is claimed or run
	printf '[Sink]\nOOB_percent = lots\n' >"$M/bad.ini"
	run "$SINK_FILTER" --spool "$S" -c "$M/bad.ini"
	[ "$status" -eq 75 ]
	assert_output --partial "sink-filterd: config: $M/bad.ini"
	assert_output --partial "nothing run"
	[ "$(ls "$S")" = "$(cat "$M/before")" ]
	# and once mended, both run
	run spool
	assert_success
	assert_counted 2
	[ -z "$(left)" ]
}

@test "spool usage: no folder exits 66, options of one message (--to, --dry-run, --server) or -j 0 exit 64; -j and --watch need --spool; --jobs is -j" {
	run "$SINK_FILTER" --spool "$M/missing" -c "$SINK_INI"
	[ "$status" -eq 66 ]
	assert_output --partial "$M/missing: No such file or directory"
	for bad in "--to x@accept.sink.test" --dry-run "--server $M/sock" "-j 0" "--from a@b"; do
		# shellcheck disable=SC2086 # the option and its value
		run spool $bad
		echo "$bad: $output"
		[ "$status" -eq 64 ]
		assert_line --partial "sink-filterd --spool DIR [-j N]"
	done
	run spool -j 0
	assert_line "sink-filterd: -j must be 1 to 4096, --runs-per-child 1 or more"
	make_msg "$M/m.eml" to=x@accept.sink.test
	run filter -j 2 <"$M/m.eml"
	[ "$status" -eq 64 ]
	assert_output --partial "-j and --watch go with --spool"
	run filter --watch <"$M/m.eml"
	[ "$status" -eq 64 ]
	assert_counted 0
	[ -z "$(left)" ]
	# -j's long spelling, as sink-filter --help and its man page give it
	fill 2 "$M/m.eml"
	run spool --jobs 1
	assert_success
	assert_counted 2
	[ -z "$(left)" ]
}

@test "an empty folder starts no pool and prints nothing; a run's own pool and socket leave nothing behind" {
	run traced -f -e trace=clone,clone3,fork,vfork -o "$M/trace" -- "$SINK_FILTER" --spool "$S" -c "$SINK_INI"
	assert_success
	assert_output ""
	! grep -qE 'clone|fork' "$M/trace" || false
	[ -z "$(left)" ]
	make_msg "$M/m.eml" to=x@accept.sink.test
	fill 3 "$M/m.eml"
	TMPDIR=$M/tmp
	mkdir "$TMPDIR"
	TMPDIR=$TMPDIR run spool
	assert_success
	assert_counted 3
	[ -z "$(ls -A "$M/tmp")" ]
}
