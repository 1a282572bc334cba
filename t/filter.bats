#!/usr/bin/env bats
# filter.bats - sink-filter end to end: the pipeline, the counters in a real
# Redis, the log line, done copies and exit statuses, including bad input.
# Run inside the mini internet: t/netns-run bats t/filter.bats

load lib/common
load lib/sink

setup() {
	reset_servers
	sink_config DKIM_Check=off
	ETC_OVERLAY=
}

teardown() {
	[[ -z $ETC_OVERLAY ]] || umount /etc
}

json_field() {	# json_field FIELD < record
	/usr/bin/python3 -c 'import json,sys; v=json.load(sys.stdin)[sys.argv[1]]; print(json.dumps(v) if isinstance(v,(list,dict)) or v is None else v)' "$1"
}

@test "N accepted messages read exactly N in every counter, with N whole log lines" {
	make_msg "$BATS_TEST_TMPDIR/m.eml" to=someone@accept.sink.test
	for i in 1 2 3 4 5 6 7; do
		run filter <"$BATS_TEST_TMPDIR/m.eml"
		assert_success
	done
	[ "$(counter total_messages)" -eq 7 ]
	[ "$(counter accept)" -eq 7 ]
	[ -n "$(rcli GET consume-mail:0:startedRunning)" ]
	# every message in its minute's ts_ key (summed over the minutes: the test may cross one)
	[ "$(rcli --scan --pattern 'consume-mail:0:ts_*' | xargs redis-cli -s "$REDIS_SOCK" MGET | awk '{ s += $1 } END { print s }')" -eq 7 ]
	[ "$(log_lines | wc -l)" -eq 7 ]
	log_lines | grep -c ',sink-filter,INFO,.*,someone@accept.sink.test,bounces@sender.test,accept/subdomain,dkim=pass' | grep -qx 7
	[ "$(readlink "$SINK_LOG")" = "sink.log.$(date -u +%F)" ]
}

# outcomes: the fields of every tso_ hash summed, "field count" one a line, sorted (a minute may turn mid-test)
outcomes() {
	local k
	for k in $(rcli --scan --pattern 'consume-mail:0:tso_*'); do
		[ "$(rcli TYPE "$k")" = hash ] || { echo "$k is a $(rcli TYPE "$k")"; return 1; }
		rcli HGETALL "$k"
	done | paste - - | awk -F'\t' '{ n[$1] += $2 } END { for (f in n) print f, n[f] }' | sort
}

@test "each minute's tso_ hash counts every message's class/route and its counters but accept; ts_ stays as it was" {
	make_msg "$BATS_TEST_TMPDIR/sub.eml" to=x@accept.sink.test
	make_msg "$BATS_TEST_TMPDIR/mix.eml" to=x@mix.sink.test
	for i in 1 2 3; do filter <"$BATS_TEST_TMPDIR/sub.eml"; done
	sink_config DKIM_Check=off OOB_percent=0 FBL_percent=0 Open_percent=0 Open_Again_percent=0 Click_percent=0 \
		Click_Again_percent=0
	for i in 1 2; do filter <"$BATS_TEST_TMPDIR/mix.eml"; done
	filter </dev/null
	sink_config DKIM_Check=verify
	filter <"$BATS_TEST_TMPDIR/sub.eml"	# unsigned
	run outcomes
	assert_success
	assert_output "$(printf '%s\n' "accept/mix 2" "accept/subdomain 3" "bad_message 1" "fail_dkim 1")"
	# the original's per-minute keys are plain counts, as before
	[ "$(rcli --scan --pattern 'consume-mail:0:ts_*' | xargs redis-cli -s "$REDIS_SOCK" MGET | awk '{ s += $1 } END { print s }')" -eq 7 ]
	[ "$(counter accept)" -eq 5 ]
}

@test "x@fbl.anything is class fbl by subdomain, and the same seed gives the same record" {
	make_msg "$BATS_TEST_TMPDIR/m.eml" to=x@FBL.anything.sink.test
	run filter --dry-run --json --seed 7 <"$BATS_TEST_TMPDIR/m.eml"
	assert_success
	first=$output
	[ "$(json_field class <<<"$first")" = fbl ]
	[ "$(json_field route <<<"$first")" = subdomain ]
	run filter --dry-run --json --seed 7 <"$BATS_TEST_TMPDIR/m.eml"
	[ "$output" = "$first" ]
	# --dry-run counted and logged nothing
	[ "$(counter total_messages)" -eq 0 ]
	[ ! -e "$SINK_LOG" ]
}

@test "the mix is reproducible with --seed and varies across seeds" {
	make_msg "$BATS_TEST_TMPDIR/m.eml" to=x@mix.sink.test
	sink_config DKIM_Check=off Upstream_Handled=0 OOB_percent=0 FBL_percent=0 Open_percent=50 \
		Open_Again_percent=0 Click_percent=0 Click_Again_percent=0 Weekly_Cycle_Open_Rate=1,1,1,1,1,1,1 \
		Signals_Traffic_Prefix=
	a=$(filter --dry-run --json --seed 1 <"$BATS_TEST_TMPDIR/m.eml")
	b=$(filter --dry-run --json --seed 1 <"$BATS_TEST_TMPDIR/m.eml")
	[ "$a" = "$b" ]
	[ "$(json_field route <<<"$a")" = mix ]
	classes=$(for s in $(seq 1 40); do filter --dry-run --json --seed "$s" <"$BATS_TEST_TMPDIR/m.eml" | json_field class; done | sort -u | tr '\n' ' ')
	[ "$classes" = "accept openclick " ]
}

@test "DKIM_Check=header trusts only our own Authentication-Results, where PMTA puts it, on a signed message" {
	local d=$BATS_TEST_TMPDIR ours="sink.test; spf=pass smtp.mailfrom=bounces@sender.test; dkim=pass header.i=@sender.test"
	sink_config DKIM_Check=header
	make_msg "$d/raw.eml" to=a@accept.sink.test
	sign_msg "$d/raw.eml" "$d/signed.eml"
	pmta_authres "$d/signed.eml" "$d/ok.eml" "$ours"
	# another host's; ours written by the sender below PMTA's own (which says fail); ours on an unsigned
	# message (PMTA adds none to those); a pass hidden in a comment or a quoted value of ours
	pmta_authres "$d/signed.eml" "$d/other.eml" "elsewhere.test; dkim=pass header.i=@sender.test"
	make_msg "$d/raw2.eml" to=a@accept.sink.test extra_header="Authentication-Results: $ours"
	sign_msg "$d/raw2.eml" "$d/signed2.eml"
	pmta_authres "$d/signed2.eml" "$d/below.eml" "sink.test; dkim=fail header.i=@sender.test"
	pmta_authres "$d/raw.eml" "$d/unsigned.eml" "$ours"
	pmta_authres "$d/signed.eml" "$d/comment.eml" "sink.test; dkim=fail (sig from x; dkim=pass) header.d=sender.test"
	pmta_authres "$d/signed.eml" "$d/quoted.eml" 'sink.test; spf=fail smtp.mailfrom="a;dkim=pass"@sender.test; dkim=fail'
	run filter --json <"$d/ok.eml"
	assert_success
	[ "$(json_field dkim <<<"$output")" = pass ]
	for m in other below unsigned comment quoted; do
		run filter --json <"$d/$m.eml"
		assert_success
		echo "$m: $(json_field dkim <<<"$output") $(json_field dkim_detail <<<"$output")"
		[ "$(json_field dkim <<<"$output")" = fail ]
		[ "$(json_field class <<<"$output")" = null ]
		[ "$(json_field actions <<<"$output")" = "[]" ]
	done
	[ "$(counter accept)" -eq 1 ]
	[ "$(counter fail_dkim)" -eq 5 ]
	log_lines | grep -q '!DKIM fail: no Authentication-Results from our host'
	log_lines | grep -q '!DKIM fail: no DKIM-Signature'
	log_lines | grep -q "!DKIM fail: our host's Authentication-Results says no dkim=pass"
}

@test "empty stdin is accepted, counted as bad_message and logged" {
	run filter </dev/null
	assert_success
	[ "$(counter total_messages)" -eq 1 ]
	[ "$(counter bad_message)" -eq 1 ]
	log_lines | grep -q 'WARNING,-,-,-,!empty message; accepted without action'
}

@test "binary junk and a message without headers are accepted and logged" {
	# seeded, so every run parses the same bytes; a NUL first cannot start a header
	/usr/bin/python3 -c 'import random, sys; r = random.Random(57)
sys.stdout.buffer.write(b"\0\xfe" + bytes(r.getrandbits(8) for _ in range(4094)))' >"$BATS_TEST_TMPDIR/junk"
	printf 'just some words\nand more\n' >"$BATS_TEST_TMPDIR/noheaders"
	run filter <"$BATS_TEST_TMPDIR/junk"
	assert_success
	run filter <"$BATS_TEST_TMPDIR/noheaders"
	assert_success
	[ "$(counter total_messages)" -eq 2 ]
	[ "$(counter bad_message)" -eq 2 ]
	[ "$(log_lines | grep -c 'WARNING,-,-,-,!no message headers found; accepted without action')" -eq 2 ]
	# both are kept for a look: an error was logged
	[ "$(ls "$SINK_DONE" | wc -l)" -eq 2 ]
	cmp "$BATS_TEST_TMPDIR/junk" "$(log_lines | sed -n '1s/.*done=//p')"
}

@test "junk whose first line reads as a header is a message: no To:, processed, nothing kept" {
	# the mix all accept: an open would log "no HTML body", an error, and keep a copy
	sink_config DKIM_Check=off Upstream_Handled=0 OOB_percent=0 FBL_percent=0 Open_percent=0 \
		Open_Again_percent=0 Click_percent=0 Click_Again_percent=0
	{ printf 'x:\377\001\n\n'; head -c 2048 /dev/zero | tr '\0' '\377'; } >"$BATS_TEST_TMPDIR/junk"
	run filter <"$BATS_TEST_TMPDIR/junk"
	assert_success
	[ "$(counter total_messages)" -eq 1 ]
	[ "$(counter bad_message)" -eq 0 ]
	log_lines | grep -q ',INFO,-,-,-,accept/mix,'
	[ ! -e "$SINK_DONE" ] || [ -z "$(ls "$SINK_DONE")" ]
}

@test "a message without To: is processed, logged with '-' for the recipient" {
	make_msg "$BATS_TEST_TMPDIR/m.eml" to=
	sink_config DKIM_Check=off Upstream_Handled=0 OOB_percent=0 FBL_percent=0 Open_percent=0 \
		Open_Again_percent=0 Click_percent=0 Click_Again_percent=0
	run filter --json <"$BATS_TEST_TMPDIR/m.eml"
	assert_success
	[ "$(json_field to <<<"$output")" = null ]
	[ "$(counter accept)" -eq 1 ]
	log_lines | grep -q ',INFO,[^,]*,-,bounces@sender.test,accept/mix'
}

@test "a 20 MB message is read whole and accepted; a larger-than-limit one is drained and counted" {
	/usr/bin/python3 - "$BATS_TEST_TMPDIR/big.html" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    line = "<p>" + "lorem ipsum dolor sit amet " * 2 + "</p>\n"
    while f.tell() < 20 * 1024 * 1024:
        f.write(line * 1000)
PY
	make_msg "$BATS_TEST_TMPDIR/big.eml" to=a@accept.sink.test html="$BATS_TEST_TMPDIR/big.html" cte=7bit
	[ "$(stat -c %s "$BATS_TEST_TMPDIR/big.eml")" -gt 20000000 ]
	run filter --json <"$BATS_TEST_TMPDIR/big.eml"
	assert_success
	[ "$(counter accept)" -eq 1 ]
	sink_config DKIM_Check=off Max_Message_Size=1048576
	run filter <"$BATS_TEST_TMPDIR/big.eml"
	assert_success
	[ "$(counter oversize_message)" -eq 1 ]
	log_lines | grep -q '!message of [0-9]* bytes is larger than Max_Message_Size (1048576); accepted without action'
}

@test "a broken config asks PMTA to retry (75) and names the key; -n says 78" {
	printf '[Sink]\nOOB_percent = 0.5\nOpen_Percentage = 3\n' >"$BATS_TEST_TMPDIR/bad.ini"
	make_msg "$BATS_TEST_TMPDIR/m.eml"
	run "$SINK_FILTER" -c "$BATS_TEST_TMPDIR/bad.ini" <"$BATS_TEST_TMPDIR/m.eml"
	[ "$status" -eq 75 ]
	assert_output --partial "bad.ini: [Sink] Open_Percentage: unknown key"
	run "$SINK_FILTER" -n -c "$BATS_TEST_TMPDIR/bad.ini"
	[ "$status" -eq 78 ]
	run "$SINK_FILTER" -c "$BATS_TEST_TMPDIR/missing.ini" <"$BATS_TEST_TMPDIR/m.eml"
	[ "$status" -eq 75 ]
	assert_output --partial "missing.ini"
	[ "$(counter total_messages)" -eq 0 ]
}

@test "the original's config layout passes -n, with warnings for obsolete keys" {
	run "$SINK_FILTER" -n -c "$T_DIR/fixtures/original-style.ini"
	assert_success
	assert_output --partial "Max_Threads no longer means anything"
	assert_output --partial "original-style.ini: OK"
}

@test "a message run with the original's obsolete keys in its config prints no warning: sink-filter -n alone warns of them" {
	sed -e '/^Logfile *=/d' -e '/^Done_Msg_File_Dest *=/d' -e '/^User_Agents_File *=/d' \
		"$T_DIR/fixtures/original-style.ini" >"$BATS_TEST_TMPDIR/orig.ini"
	grep -q '^Max_Threads' "$BATS_TEST_TMPDIR/orig.ini"
	printf 'Logfile = %s\nDKIM_Check = off\nRedis_URL = %s\n' "$BATS_TEST_TMPDIR/log/sink.log" "$REDIS_URL" |
		sed -i '/^\[Sink\]/r /dev/stdin' "$BATS_TEST_TMPDIR/orig.ini"
	make_msg "$BATS_TEST_TMPDIR/m.eml" to=x@accept.sink.test
	"$SINK_FILTER" -c "$BATS_TEST_TMPDIR/orig.ini" <"$BATS_TEST_TMPDIR/m.eml" 2>"$BATS_TEST_TMPDIR/err"
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
	[ "$(counter accept)" -eq 1 ]
	run "$SINK_FILTER" -n -c "$BATS_TEST_TMPDIR/orig.ini"
	assert_success
	assert_output --partial "Max_Threads no longer means anything"
}

@test "a system config that is a link to nothing is an error naming it (78, 75 for a message), not the built-in defaults" {
	etc_overlay
	local sys=$SYS_CONFIG
	mkdir -p "${sys%/*}"
	ln -s /nonexistent/sink.ini "$sys"
	make_msg "$BATS_TEST_TMPDIR/m.eml" to=x@accept.sink.test
	SINK_CONFIG= run "$SINK_FILTER" --no-server -n
	echo "$output"
	[ "$status" -eq 78 ]
	assert_output --partial "$sys"
	refute_output --partial "built-in defaults"
	SINK_CONFIG= run "$SINK_FILTER" --no-server <"$BATS_TEST_TMPDIR/m.eml"
	[ "$status" -eq 75 ]
	assert_output --partial "$sys"
}

@test "a day's log file made by root (a run by hand) belongs to the log folder's owner and group: PMTA's user goes on writing it" {
	local d
	d=$(mktemp -d /tmp/sink-log.XXXXXX)
	chmod 0755 "$d"
	mkdir "$d/log"
	chown 65534:65534 "$d/log"
	sink_config DKIM_Check=off Logfile="$d/log/sink.log"
	chmod 0644 "$SINK_INI"
	cp "$SINK_INI" "$d/sink.ini"
	make_msg "$d/m.eml" to=x@accept.sink.test
	chmod 0644 "$d/m.eml"
	"$SINK_FILTER" --no-server -c "$d/sink.ini" <"$d/m.eml"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$SINK_FILTER" --no-server -c "$d/sink.ini" <"$d/m.eml"
	owner=$(stat -c '%u:%g' "$d/log/sink.log.$(date -u +%F)")
	lines=$(wc -l <"$d/log/sink.log.$(date -u +%F)")
	echo "$output"
	assert_success
	refute_output --partial "log not written"
	[ "$owner" = 65534:65534 ]
	[ "$lines" -eq 2 ]
	# a log folder of root's that PMTA's group may write: the day's file gets that group, group-writable
	rm -r "$d/log"
	mkdir "$d/log"
	chown 0:65534 "$d/log"
	chmod 0770 "$d/log"
	"$SINK_FILTER" --no-server -c "$d/sink.ini" <"$d/m.eml"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$SINK_FILTER" --no-server -c "$d/sink.ini" <"$d/m.eml"
	owner=$(stat -c '%u:%g %a' "$d/log/sink.log.$(date -u +%F)")
	lines=$(wc -l <"$d/log/sink.log.$(date -u +%F)")
	rm -rf "$d"
	echo "$output"
	assert_success
	refute_output --partial "log not written"
	[ "$owner" = "0:65534 660" ]
	[ "$lines" -eq 2 ]
}

@test "-n as another user (PMTA's) warns of a Done_Msg_File_Dest it cannot write or make, and of one that is a file" {
	local d
	d=$(mktemp -d /tmp/sink-n-done.XXXXXX)
	chmod 0755 "$d"
	mkdir "$d/done" "$d/log"
	chown 65534:65534 "$d/log"
	printf '[Sink]\nLogfile = %s/log/sink.log\nDone_Msg_File_Dest = %s/done\n' "$d" "$d" >"$d/sink.ini"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$SINK_FILTER" --no-server -n -c "$d/sink.ini"
	echo "$output"
	assert_success
	assert_line "sink-filter: warning: Done_Msg_File_Dest: folder $d/done: Permission denied: no done copy could be kept"
	assert_line "$d/sink.ini: OK"
	[ "${#lines[@]}" -eq 2 ]
	# not there yet: the folder it would be made in is named
	sed -i "s|^Done_Msg_File_Dest = .*|Done_Msg_File_Dest = $d/new/done|" "$d/sink.ini"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$SINK_FILTER" --no-server -n -c "$d/sink.ini"
	assert_line "sink-filter: warning: Done_Msg_File_Dest: folder $d: Permission denied: no done copy could be kept"
	# the user's own: made at the first copy, no warning
	sed -i "s|^Done_Msg_File_Dest = .*|Done_Msg_File_Dest = $d/log/done|" "$d/sink.ini"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$SINK_FILTER" --no-server -n -c "$d/sink.ini"
	assert_output "$d/sink.ini: OK"
	# a file where the folder should be: even root is told
	touch "$d/log/done"
	run "$SINK_FILTER" --no-server -n -c "$d/sink.ini"
	rm -rf "$d"
	assert_success
	assert_line "sink-filter: warning: Done_Msg_File_Dest: folder $d/log/done: Not a directory: no done copy could be kept"
}

@test "-n as another user (PMTA's) warns of a log it cannot write and a User-Agent list it cannot read, and still says OK" {
	local d
	d=$(mktemp -d /tmp/sink-n.XXXXXX)
	chmod 0755 "$d"
	# the original's relative paths, taken from the config's folder, which only root may write
	printf '[Sink]\nLogfile = ./consume-mail.log\nUser_Agents_File = ./user-agents.csv\nScanner_User_Agents_File = %s\n' \
		"$d/scanners.csv" >"$d/sink.ini"
	printf 'Software\nscanner/1\n' >"$d/scanners.csv"
	chmod 0600 "$d/scanners.csv"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$SINK_FILTER" --no-server -n -c "$d/sink.ini"
	echo "$output"
	assert_success
	assert_line "sink-filter: warning: Logfile: log folder $d: Permission denied: each message's log line would go to standard error instead"
	assert_line "sink-filter: warning: User_Agents_File: Failed to open file “$d/user-agents.csv”: No such file or directory; the built-in list would be used"
	assert_line "sink-filter: warning: Scanner_User_Agents_File: Failed to open file “$d/scanners.csv”: Permission denied; the built-in list would be used"
	assert_line "$d/sink.ini: OK"
	# today's file there but not its: named too; root is warned of nothing
	touch "$d/consume-mail.log.$(date -u +%F)"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$SINK_FILTER" --no-server -n -c "$d/sink.ini"
	assert_line "sink-filter: warning: Logfile: log file $d/consume-mail.log.$(date -u +%F): Permission denied: each message's log line would go to standard error instead"
	printf 'Software\nreader/1\n' >"$d/user-agents.csv"
	run "$SINK_FILTER" --no-server -n -c "$d/sink.ini"
	assert_success
	assert_output "$d/sink.ini: OK"
	# today's file a link (the log is written without following one): refused, said so
	mv "$d/consume-mail.log.$(date -u +%F)" "$d/elsewhere.log"
	ln -s elsewhere.log "$d/consume-mail.log.$(date -u +%F)"
	run "$SINK_FILTER" --no-server -n -c "$d/sink.ini"
	assert_success
	assert_output --partial "warning: Logfile: log file $d/consume-mail.log.$(date -u +%F): Too many levels of symbolic links"
	rm "$d/consume-mail.log.$(date -u +%F)"
	# a log whose folders are not there yet, under one the user may write: made at the first message, no warning
	chmod 0777 "$d"
	sed -i "s|^Logfile = .*|Logfile = $d/new/sub/sink.log|" "$d/sink.ini"
	chmod 0644 "$d/scanners.csv"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$SINK_FILTER" --no-server -n -c "$d/sink.ini"
	rm -rf "$d"
	assert_success
	assert_output "$d/sink.ini: OK"
}

@test "config files as editors leave them: a byte order mark is skipped; an empty day in a weekly cycle, a key given twice and a bad Redis_URL are errors naming the key" {
	local d=$BATS_TEST_TMPDIR
	printf '\xef\xbb\xbf[Sink]\nOOB_percent = 5\n' >"$d/bom.ini"
	run "$SINK_FILTER" -n -c "$d/bom.ini"
	assert_success
	assert_output --partial "bom.ini: OK"
	# 15 values with one empty: read as 14, every later day would shift
	printf '[Sink]\nWeekly_Cycle_Bounce_Rate = 4,40,,40,2,4,4,4,4,4,4,4,4,4,4\n' >"$d/gap.ini"
	run "$SINK_FILTER" -n -c "$d/gap.ini"
	assert_failure 78
	assert_output --partial 'gap.ini: [Sink] Weekly_Cycle_Bounce_Rate = "4,40,,40,2,4,4,4,4,4,4,4,4,4,4": item 3 is empty'
	printf '[Sink]\nWeekly_Cycle_Bounce_Rate = 4,40,40,2,4,4,4,4,4,4,4,4,4,4,\n' >"$d/trailing.ini"
	run "$SINK_FILTER" -n -c "$d/trailing.ini"
	assert_success
	# key names are matched without regard to case: one key given twice is an error, not the last one winning
	printf '[Sink]\nOOB_percent = 5\noob_percent = 60\n' >"$d/twice.ini"
	run "$SINK_FILTER" -n -c "$d/twice.ini"
	assert_failure 78
	assert_output --partial 'twice.ini: [Sink] oob_percent: given twice (also as OOB_percent)'
	printf '[Sink]\nOOB_percent = 5\nOOB_percent = 60\n' >"$d/same.ini"
	run "$SINK_FILTER" -n -c "$d/same.ini"
	assert_failure 78
	assert_output --partial 'same.ini: [Sink] OOB_percent: given twice'
	# a Redis_URL that is no URL: 78 with -n, and a message is retried (75), not run uncounted
	printf '[Sink]\nRedis_URL = htp:/nonsense\n' >"$d/url.ini"
	REDIS_URL= run "$SINK_FILTER" -n -c "$d/url.ini"
	assert_failure 78
	assert_output --partial 'url.ini: [Sink] Redis_URL: "htp:/nonsense" is not redis://'
	make_msg "$d/m.eml"
	REDIS_URL= run "$SINK_FILTER" -c "$d/url.ini" <"$d/m.eml"
	assert_failure 75
	[ "$(counter total_messages)" -eq 0 ]
}

@test "an allowlisted MX written with a final dot or in capitals matches the MX from DNS; an IP address is refused" {
	sink_config DKIM_Check=off
	sed -i 's/^smtp\.sparkpostmail\.com = /SMTP.SparkPostMail.com. = /' "$SINK_INI"
	grep -q '^SMTP.SparkPostMail.com. = fbl@sparkpostmail.com' "$SINK_INI"
	make_msg "$BATS_TEST_TMPDIR/m.eml" to=x@fbl.sink.test
	run filter --dry-run --json --client-ip 192.0.2.10 <"$BATS_TEST_TMPDIR/m.eml"
	assert_success
	[ "$(jq -r .mx <<<"$output")" = smtp.sparkpostmail.com ]
	[ "$(jq -r .fbl_address <<<"$output")" = fbl@sparkpostmail.com ]
	printf '[RP_MX_domain_allowlist]\n192.0.2.25 = fbl@example.test\n' >"$BATS_TEST_TMPDIR/ip.ini"
	run "$SINK_FILTER" -n -c "$BATS_TEST_TMPDIR/ip.ini"
	assert_failure 78
	assert_output --partial 'ip.ini: [RP_MX_domain_allowlist] 192.0.2.25: not an MX host name'
}

@test "a bad command line is usage (64)" {
	run "$SINK_FILTER" --no-such-option
	[ "$status" -eq 64 ]
	assert_output --partial "usage: sink-filter"
	run "$SINK_FILTER" --seed notanumber
	[ "$status" -eq 64 ]
	# a seed GRand cannot take whole would repeat another's draws, or none
	run "$SINK_FILTER" --seed -5
	assert_failure 64
	assert_output --partial "--seed must be 0 to 4294967295"
	run "$SINK_FILTER" --seed 4294967296
	assert_failure 64
	run "$SINK_FILTER" -c ''
	assert_failure 64
	assert_output --partial "-c: the file name is empty"
	# the default config is the one the product's contract names, whatever the install prefix
	run "$SINK_FILTER" --help
	assert_output --partial 'else /etc/bouncy-sink/sink.ini, else built-in defaults'
}

@test "the envelope is read as an address (<a@b>, padding); one that holds none (an unexpanded \$to) is logged and the header used" {
	local m=$BATS_TEST_TMPDIR/m.eml
	make_msg "$m" to=hdr@accept.sink.test
	run filter --json --to '<x@accept.sink.test>' --from ' <b@sender.test> ' <"$m"
	assert_success
	[ "$(jq -r .to <<<"$output")" = x@accept.sink.test ]
	[ "$(jq -r .return_path <<<"$output")" = b@sender.test ]
	jq -e '.errors == []' <<<"$output"
	# PMTA's macros left unexpanded by a mistyped pipe rule
	run filter --json --to '$to' --from '$from' <"$m"
	assert_success
	[ "$(jq -r .to <<<"$output")" = hdr@accept.sink.test ]
	[ "$(jq -r .return_path <<<"$output")" = bounces@sender.test ]
	jq -e '.errors | index("--to \"$to\" holds no address; the To: header'"'"'s is used") != null' <<<"$output"
	jq -e '.errors | index("--from \"$from\" holds no address; the Return-Path: header'"'"'s is used") != null' <<<"$output"
	log_lines | tail -n 1 | grep -qF '"!--to ""$to"" holds no address'	# a CSV field, its quotes doubled
	# the null sender stays null, without a word
	run filter --json --from '<>' <"$m"
	assert_success
	jq -e '.return_path == null and .errors == []' <<<"$output"
}

@test "stdin left non-blocking, the message arriving in two parts: read whole, not deferred" {
	local m=$BATS_TEST_TMPDIR/m.eml
	make_msg "$m" to=x@accept.sink.test
	run "$PY" - "$SINK_FILTER" "$SINK_INI" "$m" <<'PYEOF'
import fcntl, os, subprocess, sys, time
exe, ini, path = sys.argv[1:]
data = open(path, 'rb').read()
r, w = os.pipe()
fcntl.fcntl(r, fcntl.F_SETFL, fcntl.fcntl(r, fcntl.F_GETFL) | os.O_NONBLOCK)
p = subprocess.Popen([exe, '-c', ini, '--json'], stdin=r, stdout=subprocess.PIPE)
os.close(r)
os.write(w, data[:100])
time.sleep(0.5)
os.write(w, data[100:])
os.close(w)
out = p.communicate()[0]
print(out.decode())
sys.exit(p.returncode)
PYEOF
	assert_success
	[ "$(jq -r .to <<<"$output")" = x@accept.sink.test ]
	[ "$(counter accept)" -eq 1 ]
}

@test "Redis down: the message is still processed, exit 0, the log says so, and that alone keeps no done copy" {
	sink_config DKIM_Check=off Redis_URL=unix:/nonexistent/redis.sock
	make_msg "$BATS_TEST_TMPDIR/m.eml" to=a@accept.sink.test
	REDIS_URL= run filter <"$BATS_TEST_TMPDIR/m.eml"
	assert_success
	log_lines | grep -q 'accept/subdomain,.*!Redis unreachable: Redis at unix:/nonexistent/redis.sock'
	[ ! -d "$SINK_DONE" ] || [ -z "$(ls -A "$SINK_DONE")" ]
	# another error beside it still keeps the message, and Store-Done does too
	make_msg "$BATS_TEST_TMPDIR/open.eml" to=a@openclick.sink.test html=	# no HTML part: an error
	REDIS_URL= run filter <"$BATS_TEST_TMPDIR/open.eml"
	assert_success
	log_lines | grep -q 'openclick/subdomain,.*!No HTML body found.*!Redis unreachable'
	[ "$(ls "$SINK_DONE" | wc -l)" -eq 1 ]
	make_msg "$BATS_TEST_TMPDIR/keep.eml" to=a@accept.sink.test store_done=1
	REDIS_URL= run filter <"$BATS_TEST_TMPDIR/keep.eml"
	[ "$(ls "$SINK_DONE" | wc -l)" -eq 2 ]
}

@test "the log's folder is made when missing (with its parents, mode 0750); one that cannot be made is said, the message still counted" {
	sink_config DKIM_Check=off Logfile="$BATS_TEST_TMPDIR/a/b/sink.log"
	make_msg "$BATS_TEST_TMPDIR/m.eml" to=a@accept.sink.test
	run filter <"$BATS_TEST_TMPDIR/m.eml"
	assert_success
	[ -z "$output" ]
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/a/b")" = 750 ]
	grep -q ',accept/subdomain' "$BATS_TEST_TMPDIR/a/b/sink.log.$(date -u +%F)"
	[ "$(readlink "$BATS_TEST_TMPDIR/a/b/sink.log")" = "sink.log.$(date -u +%F)" ]
	run filter <"$BATS_TEST_TMPDIR/m.eml"	# today's file there: appended to
	assert_success
	[ "$(wc -l <"$BATS_TEST_TMPDIR/a/b/sink.log.$(date -u +%F)")" -eq 2 ]
	# a file where the folder should be
	touch "$BATS_TEST_TMPDIR/plain"
	sink_config DKIM_Check=off Logfile="$BATS_TEST_TMPDIR/plain/log/sink.log"
	run filter <"$BATS_TEST_TMPDIR/m.eml"
	assert_success
	assert_output --partial "sink-filter: log not written: log file $BATS_TEST_TMPDIR/plain/log/sink.log.$(date -u +%F): Not a directory"
	assert_output --regexp ',sink-filter,[A-Z]+,.*,accept/subdomain'	# the line itself, on stderr instead
	[ "$(counter accept)" -eq 3 ]
}

@test "Done_Max_Files caps the done folder: the oldest copies go first, each counted done_dropped and noted" {
	sink_config DKIM_Check=off Done_Max_Files=3
	mkdir -p "$SINK_DONE"
	# four older copies of ours, and two files that are not ours (left alone)
	for t in 20250101T000001 20250101T000002 20250101T000003 20250101T000004; do
		echo old >"$SINK_DONE/$t-1-0000000a.eml"
		touch -d "${t:0:4}-${t:4:2}-${t:6:2} ${t:9:2}:${t:11:2}:${t:13:2}" "$SINK_DONE/$t-1-0000000a.eml"
	done
	echo mine >"$SINK_DONE/notes.txt"
	echo mine >"$SINK_DONE/.hidden.eml"
	make_msg "$BATS_TEST_TMPDIR/keep.eml" to=a@accept.sink.test store_done=1
	run filter --json <"$BATS_TEST_TMPDIR/keep.eml"
	assert_success
	copy=$(json_field done <<<"$output")
	cmp "$copy" "$BATS_TEST_TMPDIR/keep.eml"
	# five of ours were there with the new one: the two oldest are gone
	[ ! -e "$SINK_DONE/20250101T000001-1-0000000a.eml" ]
	[ ! -e "$SINK_DONE/20250101T000002-1-0000000a.eml" ]
	[ -e "$SINK_DONE/20250101T000003-1-0000000a.eml" ]
	[ -e "$SINK_DONE/20250101T000004-1-0000000a.eml" ]
	[ -e "$SINK_DONE/notes.txt" ] && [ -e "$SINK_DONE/.hidden.eml" ]
	[ "$(counter done_dropped)" -eq 2 ]
	log_lines | grep -q 'done folder over Done_Max_Files (3): 2 oldest removed'
	# a storm of errors never holds more than the cap
	local kept=()
	for i in $(seq 6); do
		make_msg "$BATS_TEST_TMPDIR/e$i.eml" to=a@openclick.sink.test html=
		kept+=("$(filter --json <"$BATS_TEST_TMPDIR/e$i.eml" | jq -r .done)")
	done
	[ "$(ls "$SINK_DONE" | grep -c '^2.*\.eml$')" -eq 3 ]
	for i in 3 4 5; do [ -e "${kept[$i]}" ]; done	# the newest three, made within one second

	[ "$(counter done_dropped)" -eq 8 ]
	"$SINK_STATS" -c "$SINK_INI" --json | jq -e ".done_dropped == 8"
}

@test "X-Bouncy-Sink: Store-Done keeps an exact copy; a clean message leaves none" {
	make_msg "$BATS_TEST_TMPDIR/keep.eml" to=a@accept.sink.test store_done=1
	make_msg "$BATS_TEST_TMPDIR/clean.eml" to=a@accept.sink.test
	run filter <"$BATS_TEST_TMPDIR/clean.eml"
	assert_success
	[ ! -d "$SINK_DONE" ] || [ "$(ls -A "$SINK_DONE" | wc -l)" -eq 0 ]
	run filter --json <"$BATS_TEST_TMPDIR/keep.eml"
	assert_success
	copy=$(json_field done <<<"$output")
	cmp "$copy" "$BATS_TEST_TMPDIR/keep.eml"
	[ "$(stat -c %a "$copy")" = 640 ]
	[ "$(ls -A "$SINK_DONE" | wc -l)" -eq 1 ]
	log_lines | grep -q "done=$copy"
}

@test "40 concurrent sink-filters: counters exact, every log line whole" {
	make_msg "$BATS_TEST_TMPDIR/m.eml" to=a@accept.sink.test
	for i in $(seq 1 40); do
		filter <"$BATS_TEST_TMPDIR/m.eml" &
	done
	wait
	[ "$(counter total_messages)" -eq 40 ]
	[ "$(counter accept)" -eq 40 ]
	[ "$(log_lines | wc -l)" -eq 40 ]
	[ "$(log_lines | grep -c '^[0-9T:-]*Z,sink-filter,INFO,[^,]*,a@accept.sink.test,bounces@sender.test,accept/subdomain,dkim=pass$')" -eq 40 ]
}

@test "a system config that is there but out of reach is an error naming it (78, 75 for a message), not the built-in defaults" {
	etc_overlay
	local sys=$SYS_CONFIG
	mkdir -m 0700 "${sys%/*}"
	cp "$SINK_INI" "$sys"
	make_msg "$BATS_TEST_TMPDIR/m.eml" to=x@accept.sink.test
	SINK_CONFIG= run setpriv --reuid=65534 --regid=65534 --clear-groups "$SINK_FILTER" --no-server -n
	[ "$status" -eq 78 ]
	assert_output --partial "$sys"
	assert_output --partial "Permission denied"
	SINK_CONFIG= run setpriv --reuid=65534 --regid=65534 --clear-groups "$SINK_FILTER" --no-server <"$BATS_TEST_TMPDIR/m.eml"
	[ "$status" -eq 75 ]
	# root reads it
	SINK_CONFIG= run "$SINK_FILTER" --no-server -n
	assert_success
	assert_output "$sys: OK"
}
