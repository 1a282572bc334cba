#!/usr/bin/env bats
# faults.bats - the mini internet misbehaving (issue 8, part 4): Redis gone or mute, DNS that never answers,
# an MX that refuses or stalls, a tracking host that stalls mid-response, a full disk, stdin that cannot be
# read, memory that runs out. Each case: the exit status SPEC section 10 gives (0 once the message is read:
# after a side effect a retry would repeat it; 75 before), a wall-clock time within its budget (measured with
# EPOCHREALTIME), and a log line (or, when the log itself cannot be written, stderr) that says what failed.
#
# Besides the servers of t/netns-run, this file starts t/servers/stall_server.py twice:
#   $MUTE_SOCK        a "Redis" that accepts connections and never answers
#   127.0.0.82:80     a "tracking host" that sends a status line and a Server: msys-http header, then nothing
# Run inside the mini internet: t/netns-run bats t/faults.bats

load lib/common
load lib/sink
load lib/checks

NOMIX=(Upstream_Handled=0 OOB_percent=0 FBL_percent=0 Open_percent=0 Open_Again_percent=0 Click_percent=0
	Click_Again_percent=0)
OPEN_ONLY=(Upstream_Handled=0 OOB_percent=0 FBL_percent=0 Open_percent=50 Open_Again_percent=0 Click_percent=0
	Click_Again_percent=0)

setup_file() {
	export MUTE_SOCK=$BATS_FILE_TMPDIR/mute-redis.sock
	export MUTE_LOG=$BATS_FILE_TMPDIR/mute-redis.log
	export STALL_LOG=$BATS_FILE_TMPDIR/stall-http.log
	"$PY" "$T_DIR/servers/stall_server.py" --unix "$MUTE_SOCK" --log "$MUTE_LOG" </dev/null >/dev/null 2>&1 3>&- &
	echo $! >"$BATS_FILE_TMPDIR/mute.pid"
	"$PY" "$T_DIR/servers/stall_server.py" --listen 127.0.0.82:80 --http --log "$STALL_LOG" </dev/null >/dev/null 2>&1 3>&- &
	echo $! >"$BATS_FILE_TMPDIR/stall.pid"
	wait_for 10 test -S "$MUTE_SOCK"
	wait_for 10 bash -c '(exec 3<>/dev/tcp/127.0.0.82/80) 2>/dev/null'
}

teardown_file() {
	local f
	for f in mute stall; do
		[[ -f $BATS_FILE_TMPDIR/$f.pid ]] && kill "$(cat "$BATS_FILE_TMPDIR/$f.pid")" 2>/dev/null
	done
	return 0
}

setup() {
	reset_servers
	sink_config DKIM_Check=off "${NOMIX[@]}"
	M=$BATS_TEST_TMPDIR
}

teardown() {
	if mountpoint -q "$BATS_TEST_TMPDIR/full" 2>/dev/null; then
		umount "$BATS_TEST_TMPDIR/full"
	fi
	rcli CONFIG SET timeout 0 >/dev/null	# the idle-close test's setting
	if [[ -n ${ACL_REDIS:-} ]]; then	# the ACL test's own Redis
		kill "$ACL_REDIS" 2>/dev/null
		wait "$ACL_REDIS" 2>/dev/null
	fi
	return 0
}

# has_error_like REGEX: the last log record has an error field matching REGEX (jq's test)
has_error_like() {
	last_record | jq -e --arg re "$1" 'any(.[6:][]; startswith("!") and test($re))' >/dev/null ||
		{ echo "no error field like /$1/ in: $(last_record)" >&2; return 1; }
}

# only_done_copies: the done folder holds finished copies (<time>-<pid>-<random>.eml) and nothing else: no
# temporary file left half-written
only_done_copies() {
	run find "$SINK_DONE" -mindepth 1 ! -name '[0-9]*T[0-9]*-[0-9]*-*.eml'
	assert_output ""
}

# no_done_copy: the done folder is absent or empty
no_done_copy() {
	[ ! -e "$SINK_DONE" ] || [ -z "$(ls -A "$SINK_DONE")" ]
}

# kept_copy FILE: the done folder holds exactly one copy, equal to FILE, and nothing half-written
kept_copy() {
	only_done_copies
	[ "$(find "$SINK_DONE" -name '*.eml' | wc -l)" -eq 1 ]
	cmp "$(find "$SINK_DONE" -name '*.eml')" "$1"
}

# ---- Redis ---------------------------------------------------------------------------------------------

@test "Redis gone (a stale socket file, nobody listening): exit 0 at once, logged, no done copy for that alone" {
	"$PY" -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$M/stale.sock"	# bound, then closed
	[ -S "$M/stale.sock" ]
	make_msg "$M/m.eml" to=x@accept.sink.test
	REDIS_URL=unix:$M/stale.sock run timed filter <"$M/m.eml"
	assert_success
	echo "$(took_ms) ms"
	(($(took_ms) < 2000))
	assert_whole_log 1
	has_error_like "^!Redis unreachable: Redis at unix:$M/stale.sock: Connection refused"
	last_record | jq -e '.[6] == "accept/subdomain"'
	no_done_copy
}

@test "Redis on TCP with nothing listening: exit 0 at once, logged" {
	make_msg "$M/m.eml" to=x@accept.sink.test
	REDIS_URL=redis://127.0.0.1:6390 run timed filter <"$M/m.eml"
	assert_success
	(($(took_ms) < 2000))
	has_error_like '^!Redis unreachable: Redis at redis://127.0.0.1:6390: Connection refused'
	assert_whole_log 1
}

@test "Redis_URL with a named user and password (Redis 6 ACL) and an IPv6 host in brackets: counted there" {
	# (its own server, with bats' descriptors closed, stopped by teardown)
	redis-server --port 6391 --bind ::1 --save '' --appendonly no --daemonize no \
		--user default off --user sink on '>s3 cret' '~*' '+@all' >"$M/redis.log" 2>&1 3>&- &
	ACL_REDIS=$!
	local acl=(redis-cli -h ::1 -p 6391 --user sink --pass "s3 cret" --no-auth-warning)
	wait_for 5 "${acl[@]}" PING
	make_msg "$M/m.eml" to=x@accept.sink.test
	REDIS_URL='redis://sink:s3%20cret@[::1]:6391/2' run filter <"$M/m.eml"
	assert_success
	[ "$("${acl[@]}" -n 2 GET consume-mail:0:int_total_messages)" = 1 ]
	# a wrong password is refused by the server and said so, the message still done
	REDIS_URL='redis://sink:wrong@[::1]:6391' run filter <"$M/m.eml"
	assert_success
	has_error_like '^!Redis unreachable: .*WRONGPASS'
}

@test "Redis accepting but never answering: the counters give up after 2 s, exit 0, 'Redis ...' logged" {
	make_msg "$M/m.eml" to=x@accept.sink.test
	: >"$MUTE_LOG"
	REDIS_URL=unix:$MUTE_SOCK run timed filter <"$M/m.eml"
	assert_success
	echo "$(took_ms) ms"
	(($(took_ms) >= 1900 && $(took_ms) < 3500))	# the 2 s Redis timeout, once
	grep -q connect "$MUTE_LOG"	# it did get through to the mute server
	assert_whole_log 1
	has_error_like '^!Redis '
	last_record | jq -e '.[6] == "accept/subdomain"'
	no_done_copy
}

@test "Redis mute during an open (tracking-host cache, then counters): still one 2 s wait in all" {
	sink_config DKIM_Check=off "${OPEN_ONLY[@]}"
	make_msg "$M/m.eml" to=x@openclick.sink.test html='<img src="http://track.test/q/p1">'
	REDIS_URL=unix:$MUTE_SOCK run timed filter --json <"$M/m.eml"
	assert_success
	echo "$(took_ms) ms"
	(($(took_ms) < 3500))
	[ "$(jq -r .path "$HTTP_LOG" | grep -c '^/q/p1$')" -eq 1 ]	# the open still happened
	assert_whole_log 1
	has_error_like '^!Redis '
}

@test "Redis closing an idle connection during a slow open: a new one is opened, the counters written" {
	sink_config DKIM_Check=off "${OPEN_ONLY[@]}" Open_Click_Timeout=5
	rcli CONFIG SET timeout 1 >/dev/null	# back to 0 in teardown
	make_msg "$M/m.eml" to=x@openclick.sink.test html='<img src="http://track.test/slow/2500/q/p1">'
	run filter --json <"$M/m.eml"
	assert_success
	echo "$output" | jq -e '.errors == []'
	[ "$(counter total_messages)" = 1 ]
	[ "$(counter open)" = 1 ]
	[ "$(redis_connections)" -ge 2 ]
}

@test "a counter key of the wrong type: that key is named in the log, the other counters are written" {
	rcli HSET consume-mail:0:int_total_messages field 1 >/dev/null
	make_msg "$M/m.eml" to=x@accept.sink.test
	run filter <"$M/m.eml"
	assert_success
	has_error_like '^!Redis counter consume-mail:0:int_total_messages not written: WRONGTYPE'
	[ "$(counter accept)" = 1 ]	# the command after the failing one
	[ "$(rcli --scan --pattern 'consume-mail:0:ts_*' | xargs redis-cli -s "$REDIS_SOCK" MGET)" = 1 ]
}

@test "a Redis_URL password is never shown: not in the log, the record or a config error" {
	make_msg "$M/m.eml" to=x@accept.sink.test
	REDIS_URL='redis://sink:s3cretpw@127.0.0.1:6390/2' run filter --json <"$M/m.eml"
	assert_success
	has_error_like '^!Redis unreachable: Redis at redis://sink:[*]{3}@127[.]0[.]0[.]1:6390/2: Connection refused'
	! log_lines | grep -q s3cretpw || false
	! grep -q s3cretpw <<<"$output" || false
	# a URL that is not one: the config is refused (78 with -n), the password still hidden
	REDIS_URL='redis://sink:s3cretpw@[bad' run filter -n
	assert_failure 78
	assert_output --partial 'REDIS_URL (environment): "redis://***@[bad" is not redis://'
	! grep -q s3cretpw <<<"$output" || false
}

# ---- DNS -----------------------------------------------------------------------------------------------

@test "DKIM key behind a dead name server (verify mode): temperror within DNS_Timeout, exit 0, logged" {
	sink_config DKIM_Check=verify DNS_Timeout=1
	make_msg "$M/u.eml" to=x@fbl.sink.test from=news@blackhole.test return_path=b@blackhole.test
	sign_msg "$M/u.eml" "$M/m.eml" blackhole.test
	run timed filter --json --client-ip 192.0.2.10 <"$M/m.eml"
	assert_success
	echo "$(took_ms) ms"
	(($(took_ms) >= 900 && $(took_ms) < 2500))
	json_of "$output" | jq -e '.dkim == "temperror" and .class == null and .actions == []'
	has_error_like '^!DKIM temperror: key look-up for sel1._domainkey.blackhole.test failed: timed out'
	[ "$(counter fail_dkim)" -eq 1 ]
	[ "$(smtp_messages)" -eq 0 ]
	assert_counted 1
	assert_whole_log 1
	kept_copy "$M/m.eml"
}

@test "Message_Timeout caps a DNS look-up that DNS_Timeout would let run longer" {
	sink_config DKIM_Check=verify DNS_Timeout=10 Message_Timeout=2
	make_msg "$M/u.eml" to=x@fbl.sink.test from=news@blackhole.test return_path=b@blackhole.test
	sign_msg "$M/u.eml" "$M/m.eml" blackhole.test
	run timed filter --json --client-ip 192.0.2.10 <"$M/m.eml"
	assert_success
	echo "$(took_ms) ms"
	(($(took_ms) < 3500))	# not 10 s
	json_of "$output" | jq -e '.dkim == "temperror"'
	assert_whole_log 1
}

@test "a tracking host whose name server never answers: not fetched, the rest of the message goes on" {
	sink_config DKIM_Check=off "${OPEN_ONLY[@]}" Open_Click_Timeout=2
	make_msg "$M/m.eml" to=x@openclick.sink.test \
		html='<img src="http://track.blackhole.test/q/p1"><img src="http://track.test/q/p2">'
	run timed filter --json <"$M/m.eml"
	assert_success
	echo "$(took_ms) ms"
	(($(took_ms) < 3500))
	grep -q 'track.blackhole.test' "$T_STATE/blackhole.log"	# the question did go out
	[ "$(jq -r .path "$HTTP_LOG" | grep -c '^/q/p2$')" -eq 1 ]
	[ "$(counter open_url_not_sparkpost)" -eq 1 ]
	last_record | jq -e 'any(.[]; startswith("probe http://track.blackhole.test/f/a: "))'
	assert_counted 1
	assert_whole_log 1
}

# ---- SMTP ----------------------------------------------------------------------------------------------

@test "an allowlisted MX that refuses connections (deadmx.test): fbl_smtp_error at once, exit 0, logged" {
	echo "mx.deadmx.test = fbl@deadmx.test" >>"$SINK_INI"
	make_msg "$M/m.eml" to=x@fbl.sink.test from=news@deadmx.test return_path=b@deadmx.test
	run timed filter --json <"$M/m.eml"
	assert_success
	echo "$(took_ms) ms"
	(($(took_ms) < 2000))
	json_of "$output" | jq -e '.actions[0].target == "mx.deadmx.test" and (.actions[0].error | startswith("no connection: Connection refused"))'
	has_error_like '^!fbl mx.deadmx.test: no connection: Connection refused'
	[ "$(counter fbl_smtp_error)" -eq 1 ]
	[ "$(counter fbl_sent)" -eq 0 ]
	assert_counted 1
	assert_whole_log 1
	kept_copy "$M/m.eml"
}

@test "an allowlisted MX whose own address look-up never answers: given up after SMTP_Timeout, not the resolver's wait" {
	sink_config DKIM_Check=off "${NOMIX[@]}" SMTP_Timeout=2
	echo "mx.blackhole.test = fbl@slowmx.test" >>"$SINK_INI"
	# the system resolver (which libcurl's threaded resolver uses) waits 4 s a question here
	cp /etc/resolv.conf "$M/resolv.conf.saved"
	printf 'nameserver 127.0.0.1\noptions timeout:4 attempts:1\n' >/etc/resolv.conf
	make_msg "$M/m.eml" to=x@fbl.sink.test from=news@slowmx.test return_path=b@slowmx.test
	run timed filter --json <"$M/m.eml"
	cat "$M/resolv.conf.saved" >/etc/resolv.conf
	assert_success
	echo "$(took_ms) ms"
	(($(took_ms) >= 1500 && $(took_ms) < 3500))	# SMTP_Timeout 2 s, not the 4 s the look-up would take
	json_of "$output" | jq -e '.actions[0].target == "mx.blackhole.test"'
	has_error_like '^!fbl mx.blackhole.test: '
	[ "$(counter fbl_smtp_error)" -eq 1 ]
	assert_counted 1
}

@test "an MX that accepts, then stalls after DATA: given up after SMTP_Timeout, fbl_smtp_error, exit 0" {
	sink_config DKIM_Check=off "${NOMIX[@]}" SMTP_Timeout=2
	sed -i 's/^smtp.sparkpostmail.com = .*/smtp.sparkpostmail.com = stall-fbl@sparkpostmail.com/' "$SINK_INI"
	make_msg "$M/m.eml" to=x@fbl.sink.test
	: >"$SMTP_SPOOL/stalls.log"
	run timed filter --json <"$M/m.eml"
	assert_success
	echo "$(took_ms) ms"
	(($(took_ms) >= 1500 && $(took_ms) < 4500))	# SMTP_Timeout 2 s (SMTP_STALL_SECONDS is 10)
	grep -q 'stall stall-fbl@sparkpostmail.com' "$SMTP_SPOOL/stalls.log"
	json_of "$output" | jq -e '.actions[0].error | startswith("timed out after ")'
	has_error_like '^!fbl smtp.sparkpostmail.com: timed out after '
	[ "$(counter fbl_smtp_error)" -eq 1 ]
	assert_counted 1
	assert_whole_log 1
}

@test "Message_Timeout caps a stalled SMTP transaction that SMTP_Timeout would let run longer" {
	sink_config DKIM_Check=off "${NOMIX[@]}" SMTP_Timeout=30 Message_Timeout=2
	make_msg "$M/m.eml" to=x@oob.sink.test return_path=stall-oob@sender.test
	run timed filter --json <"$M/m.eml"
	assert_success
	echo "$(took_ms) ms"
	(($(took_ms) < 3500))
	json_of "$output" | jq -e '.actions[0].type == "oob" and (.actions[0].error | test("timed out"))'
	[ "$(counter oob_smtp_error)" -eq 1 ]
	assert_whole_log 1
}

# ---- HTTP ----------------------------------------------------------------------------------------------

@test "a tracking host that stalls mid-response: that fetch times out after Open_Click_Timeout, the others succeed" {
	sink_config DKIM_Check=off "${OPEN_ONLY[@]}" Tracking_Domains_Allowlist="127.0.0.82, track.test" Open_Click_Timeout=1
	make_msg "$M/m.eml" to=x@openclick.sink.test html='<img src="http://127.0.0.82/q/stall"><img src="http://track.test/q/p2">'
	: >"$STALL_LOG"
	run timed filter --json <"$M/m.eml"
	assert_success
	echo "$(took_ms) ms"
	(($(took_ms) >= 900 && $(took_ms) < 2500))
	grep -q 'request /q/stall' "$STALL_LOG"	# the request went out and got its half answer
	json_of "$output" | jq -e '[.actions[] | select(.target == "http://127.0.0.82/q/stall")][0].error | test("timed out")'
	json_of "$output" | jq -e '[.actions[] | select(.target == "http://track.test/q/p2")][0] | .status == 200 and (.error | not)'
	has_error_like '^!open http://127.0.0.82/q/stall .*timed out'
	[ "$(counter open)" -eq 1 ]
	assert_counted 1
	assert_whole_log 1
}

@test "a probe of a host that stalls mid-response: undecided, not cached, within Open_Click_Timeout" {
	sink_config DKIM_Check=off "${OPEN_ONLY[@]}" Open_Click_Timeout=1
	make_msg "$M/m.eml" to=x@openclick.sink.test html='<img src="http://127.0.0.82/q/stall">'
	: >"$STALL_LOG"
	run timed filter --json <"$M/m.eml"
	assert_success
	(($(took_ms) < 2500))
	grep -q 'request /f/a' "$STALL_LOG"
	[ "$(rcli EXISTS consume-mail:0:http://127.0.0.82)" -eq 0 ]
	[ "$(counter open_url_not_sparkpost)" -eq 1 ]
	last_record | jq -e 'any(.[]; startswith("probe http://127.0.0.82/f/a: ") and test("timed out"))'
	assert_whole_log 1
}

@test "Message_Timeout caps fetches from a stalling host that Open_Click_Timeout would let run longer" {
	sink_config DKIM_Check=off "${OPEN_ONLY[@]}" Tracking_Domains_Allowlist=127.0.0.82 Open_Click_Timeout=20 Message_Timeout=2
	make_msg "$M/m.eml" to=x@openclick.sink.test html='<img src="http://127.0.0.82/q/stall1"><img src="http://127.0.0.82/q/stall2">'
	run timed filter --json <"$M/m.eml"
	assert_success
	echo "$(took_ms) ms"
	(($(took_ms) < 3500))
	json_of "$output" | jq -e '[.actions[] | select(.error)] | length == 2'
	assert_whole_log 1
}

# ---- disk full -----------------------------------------------------------------------------------------

# full_disk: a 64 KB tmpfs at $M/full holding the log and the done folder (config rewritten), umounted in
# teardown
full_disk() {
	mkdir -p "$M/full"
	mount -t tmpfs -o size=64k tmpfs "$M/full"
	sink_config DKIM_Check=off "${NOMIX[@]}" Logfile="$M/full/log/sink.log" Done_Msg_File_Dest="$M/full/done"
	SINK_LOG=$M/full/log/sink.log SINK_DONE=$M/full/done
}

# pad_log N: append a line to today's log so that its last page (4 KB) has N bytes left: a tmpfs page with
# room in it takes a write even when the file system is full
pad_log() {
	"$PY" -c 'import os,sys; p=sys.argv[1]; n=(4096-os.path.getsize(p)%4096-int(sys.argv[2]))%4096; n+=4096*(n<2); open(p,"a").write("#"*(n-1)+"\n")' \
		"$SINK_LOG.$(date -u +%F)" "$1"
}

# fill: fill the tmpfs to the last byte
fill() {
	dd if=/dev/zero of="$M/full/filler.$RANDOM" bs=4k 2>/dev/null || true
	[ "$(df --output=avail "$M/full" | tail -1 | tr -d ' ')" -eq 0 ]
}

@test "disk full for the log and the done folder: exit 0, both failures on stderr, nothing half-written left" {
	full_disk
	make_msg "$M/m.eml" to=x@accept.sink.test store_done=1
	run timed filter <"$M/m.eml"	# while there is room: log line and done copy
	assert_success
	assert_whole_log 1
	[ "$(find "$SINK_DONE" -name '*.eml' | wc -l)" -eq 1 ]
	pad_log 0
	cp "$SINK_LOG.$(date -u +%F)" "$M/log.before"
	fill
	run timed filter <"$M/m.eml"
	assert_success
	echo "$output"
	assert_output --partial "sink-filter: log not written: log file $SINK_LOG.$(date -u +%F): No space left on device"
	# the line that could not be logged goes to stderr whole, with the done copy's failure in it
	line=$(grep '^[0-9-]*T[0-9:]*Z,sink-filter,WARNING,' <<<"$output")
	[[ $line == *",accept/subdomain,dkim=pass,!done copy not stored: "*": No space left on device" ]]
	# no torn line, no half-written copy
	cmp "$SINK_LOG.$(date -u +%F)" "$M/log.before"
	only_done_copies
	[ "$(find "$SINK_DONE" -name '*.eml' | wc -l)" -eq 1 ]
	assert_counted 2	# Redis is not on that disk
}

@test "disk full in the middle of a log line: the torn part is cut back off, the log stays whole" {
	full_disk
	make_msg "$M/m.eml" to=x@accept.sink.test
	run timed filter <"$M/m.eml"
	assert_success
	log=$SINK_LOG.$(date -u +%F)
	pad_log 20
	cp "$log" "$M/log.before"
	fill
	run timed filter <"$M/m.eml"
	assert_success
	assert_output --partial "log not written: log file $log: No space left on device"
	cmp "$log" "$M/log.before"	# the 20 bytes that did fit were taken back
	tail -c 1 "$log" | od -An -c | grep -q '\\n'
	assert_counted 2
}

@test "disk full for the done folder only: exit 0, logged, no temporary file left behind" {
	mkdir -p "$M/full"
	mount -t tmpfs -o size=64k tmpfs "$M/full"
	sink_config DKIM_Check=off "${NOMIX[@]}" Done_Msg_File_Dest="$M/full/done"
	mkdir "$M/full/done"
	fill
	make_msg "$M/m.eml" to=x@accept.sink.test store_done=1
	run timed filter <"$M/m.eml"
	assert_success
	assert_whole_log 1
	has_error_like '^!done copy not stored: .*: No space left on device$'
	run find "$M/full/done" -mindepth 1
	assert_output ""
	assert_counted 1
}

# ---- before the first side effect: retry later --------------------------------------------------------

@test "stdin that cannot be read (a folder, or closed): 75, nothing counted, a WARNING line in the log says why" {
	make_msg "$M/m.eml" to=x@accept.sink.test
	run timed filter </
	[ "$status" -eq 75 ]
	assert_output --partial "reading the message from standard input: Is a directory"
	run timed bash -c 'exec 0<&-; exec "$@"' _ "$SINK_FILTER" -c "$SINK_INI"
	[ "$status" -eq 75 ]
	assert_output --partial "reading the message from standard input: Bad file descriptor"
	[ "$(rcli DBSIZE)" -eq 0 ]
	log_lines
	[ "$(log_lines | wc -l)" -eq 2 ]
	log_lines | grep -q '^[0-9T:-]*Z,sink-filter,WARNING,-,-,-,"\?!message not read, deferred (75): reading the message from standard input: Is a directory'
	log_lines | grep -q '^[0-9T:-]*Z,sink-filter,WARNING,-,-,-,"\?!message not read, deferred (75): reading the message from standard input: Bad file descriptor'
	[ ! -e "$SINK_DONE" ] || [ -z "$(ls -A "$SINK_DONE")" ]
	# --dry-run writes no log
	run timed filter --dry-run </
	[ "$status" -eq 75 ]
	[ "$(log_lines | wc -l)" -eq 2 ]
}

@test "memory running out while the message is read: 75 (retry later), not a crash; nothing counted, the log says why" {
	# (t/sanitize.env) a sanitizer runtime reserves terabytes of address space: no ulimit -v is possible
	[[ -z ${SINK_SANITIZED:-} ]] || skip "needs an address-space limit, which a sanitized build cannot run under"
	sink_config DKIM_Check=off "${NOMIX[@]}" Max_Message_Size=1073741824
	# 400 MB of address space; the message is 600 MB
	run bash -c 'ulimit -v 400000; head -c 600M /dev/zero | timeout 30 "$1" -c "$2"; echo "sink=${PIPESTATUS[1]}"' \
		_ "$SINK_FILTER" "$SINK_INI"
	echo "$output"
	assert_output --partial "sink=75"
	[ "$(rcli DBSIZE)" -eq 0 ]
	# the one line in the log says why
	log_lines
	[ "$(log_lines | wc -l)" -eq 1 ]
	log_lines | grep -q '^[0-9T:-]*Z,sink-filter,WARNING,-,-,-,"\?!message not read, deferred (75): reading the message from standard input: out of memory after [0-9]* bytes'
}

@test "a module that cannot be loaded (DKIM, or the actions): 75, said in the log and on stderr, nothing counted or stored" {
	sink_config DKIM_Check=verify "${NOMIX[@]}"
	mkdir "$M/nomodules"
	signed_msg() { make_msg "$M/$1.raw" to="$2"; sign_msg "$M/$1.raw" "$M/$1.eml"; }
	# DKIM_Check = verify without the DKIM module: no verdict, so not fail_dkim (in the program that loads it:
	# sink-filter-static has it linked in)
	signed_msg verify x@accept.sink.test
	local loader=("$SINK_FILTER" --no-server)
	[[ ! -x $SINK_BUILD/bin/sink-filter-static ]] || loader=("$SINK_BUILD/bin/sink-filter-local" --no-server)
	run env SINK_MODULE_DIR="$M/nomodules" "${loader[@]}" -c "$SINK_INI" <"$M/verify.eml"
	[ "$status" -eq 75 ]
	assert_output --partial "!DKIM check cannot run: cannot load $M/nomodules/libbouncysink-dkim.so"
	assert_output --partial "deferred, nothing done"
	# an openclick without the action module (the DKIM module found where it is)
	signed_msg act x@openclick.sink.test
	mkdir "$M/dkimonly"
	ln -s "$SINK_BUILD/lib/dkim/libbouncysink-dkim.so" "$M/dkimonly/"
	run env SINK_MODULE_DIR="$M/dkimonly" "$SINK_FILTER" --no-server -c "$SINK_INI" <"$M/act.eml"
	[ "$status" -eq 75 ]
	assert_output --partial "!openclick cannot run: cannot load $M/dkimonly/libbouncysink-act.so"
	[ "$(log_lines | grep -c 'deferred, nothing done')" -eq 2 ]
	[ "$(rcli DBSIZE)" -eq 0 ]
	[ ! -e "$SINK_DONE" ] || [ -z "$(ls -A "$SINK_DONE")" ]
	# with its modules, the same message is done: the 75 was the install's, not the message's
	mkdir "$M/both"	# (as installed: both modules in one folder)
	ln -s "$SINK_BUILD/lib/dkim/libbouncysink-dkim.so" "$SINK_BUILD/lib/act/libbouncysink-act.so" "$M/both/"
	run env SINK_MODULE_DIR="$M/both" "$SINK_FILTER" --no-server -c "$SINK_INI" --dry-run --json <"$M/act.eml"
	assert_success
	assert_output --partial '"class":"openclick"'
}

@test "a module of another build (an upgrade installed under a running process): refused, never run: 75, said, nothing counted" {
	sink_config DKIM_Check=off "${NOMIX[@]}"
	local version
	version=$("$SINK_FILTER" --version | cut -d' ' -f2)
	# action modules as other builds would be: another version; this version with other layouts; one made before
	# modules were stamped (its table alone)
	cat >"$M/stamped.c" <<'EOF'
#include <stddef.h>
struct stamp { const char *version; size_t ctx_size, config_size, table_size; };
const struct stamp sink_module_stamp = { VERSION, 1, 2, 3 };
const void *sink_act_module[16];
EOF
	echo 'const void *sink_act_module[16];' >"$M/unstamped.c"
	mkdir "$M/other" "$M/same" "$M/older"
	cc -shared -fPIC -DVERSION='"9.9.9"' -o "$M/other/libbouncysink-act.so" "$M/stamped.c"
	cc -shared -fPIC -DVERSION="\"$version\"" -o "$M/same/libbouncysink-act.so" "$M/stamped.c"
	cc -shared -fPIC -o "$M/older/libbouncysink-act.so" "$M/unstamped.c"
	make_msg "$M/m.eml" to=x@openclick.sink.test
	run env SINK_MODULE_DIR="$M/other" "$SINK_FILTER" --no-server -c "$SINK_INI" <"$M/m.eml"
	[ "$status" -eq 75 ]
	assert_output --partial "!openclick cannot run: $M/other/libbouncysink-act.so is of another build (version 9.9.9) than the program running (version $version): an upgrade installed while it runs? restart it"
	run env SINK_MODULE_DIR="$M/same" "$SINK_FILTER" --no-server -c "$SINK_INI" <"$M/m.eml"
	[ "$status" -eq 75 ]
	assert_output --partial "!openclick cannot run: $M/same/libbouncysink-act.so is of another build (version the same, other structures)"
	run env SINK_MODULE_DIR="$M/older" "$SINK_FILTER" --no-server -c "$SINK_INI" <"$M/m.eml"
	[ "$status" -eq 75 ]
	assert_output --partial "!openclick cannot run: $M/older/libbouncysink-act.so has no sink_module_stamp (a module of an older build)"
	[ "$(rcli DBSIZE)" -eq 0 ]
	[ "$(log_lines | grep -c 'deferred, nothing done')" -eq 3 ]
	# this build's own, found where it is installed beside the core: done
	run "$SINK_FILTER" --no-server -c "$SINK_INI" --dry-run --json <"$M/m.eml"
	assert_success
	assert_output --partial '"class":"openclick"'
}

@test "reports signed (DKIM_Sign_*) and the DKIM module missing: a bounce, a complaint, a reply or an unsubscribe (it may be a mail) is deferred, 75; an open runs" {
	SINK_SIGNING=1 sink_config DKIM_Check=off "${NOMIX[@]}"
	mkdir "$M/actonly"
	ln -s "$SINK_BUILD/lib/act/libbouncysink-act.so" "$M/actonly/"
	make_msg "$M/m.eml" to=x@accept.sink.test 'extra_header=List-Unsubscribe: <mailto:leave@sender.test>'
	local class
	for class in oob fbl autoreply unsubscribe; do
		run env SINK_MODULE_DIR="$M/actonly" "$SINK_FILTER" --no-server -c "$SINK_INI" --to "x@$class.sink.test" \
			<"$M/m.eml"
		[ "$status" -eq 75 ]
		assert_output --partial "!DKIM signing cannot run: cannot load $M/actonly/libbouncysink-dkim.so"
	done
	[ "$(rcli DBSIZE)" -eq 0 ]
	[ "$(smtp_messages)" -eq 0 ]
	run env SINK_MODULE_DIR="$M/actonly" "$SINK_FILTER" --no-server -c "$SINK_INI" --to x@openclick.sink.test \
		--dry-run --json <"$M/m.eml"
	assert_success
	assert_output --partial '"class":"openclick"'
}
