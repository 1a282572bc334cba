#!/usr/bin/env bats
# server.bats - sink-filterd and the thin sink-filter client end to end: a message handed to the server runs
# exactly as it would in-process (same record, same counters, same log line, same mail sent, same exit
# status), with the client's descriptors, directory, umask and environment; a client that cannot use a server
# runs the message itself; the server survives its children dying, its clients dying, bad requests and
# strangers, and stops cleanly on SIGTERM.
#
# One sink-filterd serves the whole file ($SOCK, started in setup_file, -j 8 --spare 2). It runs in a folder
# of its own holding a broken sink.ini, with umask 077 and an environment of its own (SINK_CONFIG naming that
# broken file, SINK_NOW in 2001, RESULTS_KEY=9): a run that used the server's directory, umask or environment
# instead of its client's shows at once. Tests that kill, stop or confine a server start their own (`serve`).
#
# Whether a run went through a server: the client is started under strace (`client`), so a client that ran the
# message itself shows the exec of a program that has the core (sink-filter-static, sink-filter-local) or the
# dlopen of the core library (`local_runs`).
# Run inside the mini internet: t/netns-run bats t/server.bats

load lib/common
load lib/sink
load lib/checks

SINK_FILTERD=$SINK_BUILD/bin/sink-filterd	# ($SINK_FILTER: lib/sink)

NOMIX=(Upstream_Handled=0 OOB_percent=0 FBL_percent=0 Open_percent=0 Open_Again_percent=0 Click_percent=0
	Click_Again_percent=0)

setup_file() {
	export SRV_DIR=$BATS_FILE_TMPDIR/srv
	export SOCK=$SRV_DIR/filter.sock SRV_LOG=$SRV_DIR/filterd.log
	mkdir -p "$SRV_DIR/cwd"
	printf '[Sink]\nNo_Such_Key = 1\n' >"$SRV_DIR/cwd/sink.ini"
	(
		cd "$SRV_DIR/cwd" || exit 1
		umask 077
		exec env SINK_CONFIG="$SRV_DIR/cwd/sink.ini" SINK_NOW=2001-01-01T00:00:00Z RESULTS_KEY=9 \
			"$SINK_FILTERD" -s "$SOCK" -j 8 --spare 2 </dev/null >/dev/null 2>"$SRV_LOG"
	) &
	echo $! >"$SRV_DIR/pid"
	wait_for 10 grep -q "listening on $SOCK" "$SRV_LOG"
}

teardown_file() {
	stop_pid "$(cat "$SRV_DIR/pid")"
}

setup() {
	reset_servers
	sink_config DKIM_Check=off "${NOMIX[@]}"
	M=$BATS_TEST_TMPDIR
	mkdir -p "$M/ld"
	UNDER=()
}

teardown() {
	local pid
	if [[ -f $M/.servers ]]; then
		while read -r pid; do stop_pid "$pid"; done <"$M/.servers"
	fi
	[[ -z ${PUB:-} ]] || rm -rf "$PUB"
	return 0
}

# stop_pid PID: SIGTERM, then, if it is still there after 3 s (a child stuck in a run), SIGKILL to it and its
# children; wait for it
stop_pid() {
	local i kids
	kids=$(pgrep -P "$1")
	kill -TERM "$1" 2>/dev/null || return 0
	for ((i = 0; i < 300; i++)); do
		gone "$1" && break
		sleep 0.01
	done
	if ! gone "$1"; then
		echo "stop_pid: $1 still running after SIGTERM; killed, with its children $kids" >&2
		# shellcheck disable=SC2086 # a list of pids
		kill -KILL "$1" $kids 2>/dev/null || true
	fi
	wait "$1" 2>/dev/null || true
}

# serve SOCKET [ARGS...]: start a sink-filterd of this test's own on SOCKET, logging to SOCKET.log; sets S_PID
# and S_LOG; teardown stops it. With UNDER set (an array: a command that ends by exec'ing its arguments), the
# server is started through it, and S_PID is still the server's.
serve() {
	local sock=$1
	shift
	S_LOG=$sock.log
	"${UNDER[@]}" "$SINK_FILTERD" -s "$sock" "$@" </dev/null >/dev/null 2>"$S_LOG" &
	S_PID=$!
	echo "$S_PID" >>"$M/.servers"
	wait_for 10 grep -q "listening on $sock" "$S_LOG"
}

# client ARGS...: sink-filter -c $SINK_INI ARGS, its execs and opens traced into $M/ld/ (see local_runs)
# shellcheck disable=SC2153 # SINK_FILTER is lib/sink's
client() {
	bare -c "$SINK_INI" "$@"
}

# bare ARGS...: the same without the -c
bare() {
	# (LeakSanitizer cannot run under a tracer: traced's detect_leaks=0)
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		strace -f -qq -e trace=execve,openat -e signal=none -o "$(mktemp "$M/ld/trace.XXXXXX")" "$SINK_FILTER" "$@"
}

# local_runs: how many `client` runs so far ran the message themselves (in-process)
local_runs() {
	grep -lE 'execve\("[^"]*/sink-filter-(static|local)"|openat\([^)]*/libbouncysink\.so\.[0-9]+", [^)]*\) = [0-9]' \
		"$M"/ld/trace.* 2>/dev/null | wc -l
}

# norm: a --json record on stdin, without what legitimately differs between two runs (each action's time)
norm() {
	jq -cS 'del(.actions[].seconds)'
}

# outcome: what the last run left behind: the int_* counters and the log records without their time field
outcome() {
	local k
	for k in $(rcli --scan --pattern 'consume-mail:*:int_*' | sort); do
		echo "$k=$(rcli GET "$k")"
	done
	if [[ -e $SINK_LOG.$(date -u +%F) ]]; then
		log_records | jq -c '.[1:]'
	else
		echo "no log file"
	fi
}

# srv_log_since N: the shared server's log lines after the first N
srv_log_since() {
	tail -n +"$(($1 + 1))" "$SRV_LOG"
}

# children_are PID N: PID has N children
children_are() {
	[ "$(pgrep -c -P "$1")" -eq "$2" ]
}

# busy_child SERVER_PID FILE: the server's child whose standard input is FILE (the one running that message)
busy_child() {
	local c
	for c in $(pgrep -P "$1"); do
		if [[ $(readlink "/proc/$c/fd/0" 2>/dev/null) == "$2" ]]; then
			echo "$c"
			return 0
		fi
	done
	return 1
}

# slow_msg OUT: a message signed by blackhole.test, whose DKIM key look-up never gets an answer: with
# DKIM_Check=verify its run takes DNS_Timeout seconds, then ends with dkim temperror
slow_msg() {
	make_msg "$1.unsigned" to=x@accept.sink.test from=news@blackhole.test return_path=b@blackhole.test
	sign_msg "$1.unsigned" "$1" blackhole.test
}

# blocked_in_recv PID: the process waits for a packet (the client waiting for the server's answer)
blocked_in_recv() {
	grep -q 'skb_wait' "/proc/$1/wchan" 2>/dev/null
}

# mail_sent: the envelopes of the mail the SMTP sink took, one line each
mail_sent() {
	local j
	for j in "$SMTP_SPOOL"/*.json; do
		[[ -e $j ]] && jq -c '[.mail_from, .rcpt_tos, .helo]' "$j"
	done | sort
}

# fetches: the requests the HTTP servers had, one line each, without their time
fetches() {
	jq -c '[.method, .host, .path, .user_agent, .listen]' "$HTTP_LOG" | sort
}

# ---- 1. the same run through the server as in-process ---------------------------------------------------

# both MSG ARGS...: MSG through the server ($SOCK), then in-process (--no-server), the Redis, SMTP, HTTP and log
# state reset before each; the exit status, the --json record (norm) and the outcome must be equal. Leaves the
# server run's output in $SERVED, the in-process one's in $HERE.
both() {
	local msg=$1 st1 st2 o1 o2
	shift
	rm -f "$M"/ld/*
	reset_servers
	rm -f "$SINK_LOG" "$SINK_LOG".*
	st1=0
	SERVED=$(client --server "$SOCK" "$@" <"$msg" 2>"$M/err1") || st1=$?
	o1=$(outcome)
	mail1=$(mail_sent) http1=$(fetches)
	reset_servers
	rm -f "$SINK_LOG" "$SINK_LOG".*
	st2=0
	HERE=$(client --no-server "$@" <"$msg" 2>"$M/err2") || st2=$?
	o2=$(outcome)
	mail2=$(mail_sent) http2=$(fetches)
	echo "served ($st1): $SERVED"
	echo "here   ($st2): $HERE"
	echo "served outcome: $o1"
	echo "here outcome:   $o2"
	[ "$st1" -eq "$st2" ]
	[ "$(norm <<<"$SERVED")" = "$(norm <<<"$HERE")" ]
	[ "$o1" = "$o2" ]
	echo "served mail: $mail1; fetches: $http1"
	echo "here mail:   $mail2; fetches: $http2"
	[ "$mail1" = "$mail2" ]
	[ "$http1" = "$http2" ]
	[ ! -s "$M/err1" ]
	[ ! -s "$M/err2" ]
	[ "$(local_runs)" -eq 1 ]	# the --no-server one only
}

@test "a signed accept message gives the same record and status through the server as in-process" {
	sink_config DKIM_Check=verify
	make_msg "$M/u.eml" to=x@accept.sink.test
	sign_msg "$M/u.eml" "$M/m.eml"
	both "$M/m.eml" --seed 5 --json --dry-run --client-ip 192.0.2.10
	jq -e '.class == "accept" and .dkim == "pass" and .dry_run == true' <<<"$SERVED"
	both "$M/m.eml" --seed 5 --json --client-ip 192.0.2.10
	jq -e '.class == "accept" and .dkim == "pass" and .dry_run == false' <<<"$SERVED"
}

@test "a real run through the server counts once in Redis and writes its log line once" {
	make_msg "$M/m.eml" to=x@accept.sink.test msgid='<once@sender.test>'
	run client --server "$SOCK" <"$M/m.eml"
	assert_success
	assert_output ""
	[ "$(local_runs)" -eq 0 ]
	assert_counted 1
	[ "$(counter accept)" -eq 1 ]
	[ "$(rcli DBSIZE)" -eq 5 ]	# int_total_messages, int_accept, startedRunning, one ts_ key, one tso_ hash
	[ "$(rcli --scan --pattern 'consume-mail:9:*' | wc -l)" -eq 0 ]	# not the server's RESULTS_KEY
	assert_whole_log 1
	last_record | jq -e '.[3] == "once@sender.test" and .[4] == "x@accept.sink.test" and .[6] == "accept/subdomain"'
	last_record | jq -e --arg d "$(date -u +%F)" '.[0] | startswith($d)'	# not the server's SINK_NOW
}

# ENGAGE: a config where an openclick message opens, opens again and clicks (all fetches on track.test,
# allowlisted: no probe, whose verdict Redis would cache from the first run for the second)
ENGAGE=(DKIM_Check=verify Tracking_Domains_Allowlist=track.test Upstream_Handled=0 OOB_percent=0 FBL_percent=0
	Open_percent=50 Open_Again_percent=50 Click_percent=50 Click_Again_percent=0)

# report_same CLASS RCPT: a CLASS (oob or fbl) message gives the same record, counters, log line and mail
# through the server as in-process (both), its report mailed to RCPT
report_same() {
	sink_config "${ENGAGE[@]}"
	make_msg "$M/u.eml" to="x@$1.sink.test"
	sign_msg "$M/u.eml" "$M/m.eml"
	both "$M/m.eml" --seed 11 --json --client-ip 192.0.2.10
	jq -e --arg c "$1" '.class == $c and .dkim == "pass" and .actions[0].type == $c and .actions[0].status == 250' \
		<<<"$SERVED"
	[ "$(smtp_messages)" -eq 1 ]
	jq -e --arg r "$2" '.rcpt_tos == [$r]' "$(smtp_json 1)"
}

@test "oob (a bounce mailed) gives the same record, counters, log line and mail through the server as in-process" {
	report_same oob bounces@sender.test
}

@test "fbl (a complaint mailed) gives the same record, counters, log line and mail through the server as in-process" {
	report_same fbl fbl@sparkpostmail.com
}

@test "open (pixels and a link fetched) gives the same record, counters, log line and fetches through the server as in-process" {
	sink_config "${ENGAGE[@]}"
	make_msg "$M/u.eml" to=x@openclick.sink.test
	sign_msg "$M/u.eml" "$M/m.eml"
	both "$M/m.eml" --seed 11 --json --client-ip 192.0.2.10
	jq -e '.class == "openclick" and .user_agent != null and .open_again == true and .click == true and
		([.actions[] | select(.status == 200)] | length == 3)' <<<"$SERVED"
	# the last (in-process) run's fetches, the same as the server's (both): with the record's User-Agent
	[ "$(jq -r .path "$HTTP_LOG" | grep -c '^/q/open1$')" -eq 2 ]
	[ "$(jq -r .path "$HTTP_LOG" | grep -c '^/f/a/click1$')" -eq 1 ]
	[ "$(jq -r .user_agent "$HTTP_LOG" | sort -u)" = "$(jq -r .user_agent <<<"$SERVED")" ]
}

@test "oob and fbl through the server mail their report once each and count it" {
	sink_config
	make_msg "$M/o.u" to=x@oob.sink.test
	sign_msg "$M/o.u" "$M/o.eml"
	make_msg "$M/f.u" to=x@fbl.sink.test
	sign_msg "$M/f.u" "$M/f.eml"
	run client --server "$SOCK" --client-ip 192.0.2.10 <"$M/o.eml"
	assert_success
	run client --server "$SOCK" --client-ip 192.0.2.10 <"$M/f.eml"
	assert_success
	[ "$(local_runs)" -eq 0 ]
	[ "$(smtp_messages)" -eq 2 ]
	jq -e '.rcpt_tos == ["bounces@sender.test"]' "$(smtp_json 1)"
	jq -e '.rcpt_tos == ["fbl@sparkpostmail.com"]' "$(smtp_json 2)"
	[ "$(counter oob_sent)" -eq 1 ]
	[ "$(counter fbl_sent)" -eq 1 ]
	assert_counted 2
	assert_whole_log 2
}

# ---- 2. exit statuses -------------------------------------------------------------------------------------

@test "through the server: an unknown option exits 64, a missing config 75, -n with a bad config 78, each with its message on the client's stderr" {
	make_msg "$M/m.eml" to=x@accept.sink.test
	run bare --server "$SOCK" --bogus <"$M/m.eml"
	[ "$status" -eq 64 ]
	assert_line "sink-filter: Unknown option --bogus"
	assert_line --partial "usage: sink-filter "
	run bare --server "$SOCK" -c "$M/missing.ini" <"$M/m.eml"
	[ "$status" -eq 75 ]
	assert_output "sink-filter: config: $M/missing.ini: No such file or directory"
	printf '[Sink]\nOOB_percent = lots\n' >"$M/bad.ini"
	run bare --server "$SOCK" -n -c "$M/bad.ini" </dev/null
	[ "$status" -eq 78 ]
	assert_output --partial "sink-filter: config: $M/bad.ini"
	assert_output --partial "OOB_percent"
	run bare --server "$SOCK" -n -c "$SINK_INI" </dev/null
	assert_success
	assert_output "$SINK_INI: OK"
	# all four were served: not one loaded the library itself
	[ "$(local_runs)" -eq 0 ]
	# nothing of it went to the server's own stderr
	run grep -c 'Unknown option\|OOB_percent\|missing.ini' "$SRV_LOG"
	assert_output 0
	assert_counted 0
}

# ---- 3. the client's stdout and stderr --------------------------------------------------------------------

@test "the --json record comes out on the client's stdout and the -v log line on its stderr, not the server's" {
	make_msg "$M/m.eml" to=x@accept.sink.test msgid='<vv@sender.test>'
	nlog=$(wc -l <"$SRV_LOG")
	client --server "$SOCK" --json -v <"$M/m.eml" >"$M/out" 2>"$M/err"
	[ "$(local_runs)" -eq 0 ]
	[ "$(wc -l <"$M/out")" -eq 1 ]
	jq -e '.message_id == "vv@sender.test" and .class == "accept"' "$M/out"
	[ "$(wc -l <"$M/err")" -eq 1 ]
	grep -q '^[0-9T:-]*Z,sink-filter,INFO,vv@sender.test,x@accept.sink.test,bounces@sender.test,accept/subdomain' "$M/err"
	cmp "$M/err" <(log_lines)	# the same line as in the log
	run srv_log_since "$nlog"
	assert_output ""
	# a pipe on stdout: the record is there, whole, when the client has exited
	"$SINK_FILTER" -c "$SINK_INI" --server "$SOCK" --json --dry-run <"$M/m.eml" | jq -e '.dry_run and .class == "accept"'
}

@test "a 2 MB message piped in (as PMTA's pipe delivery gives it) is read whole through the server" {
	head -c 1500000 /dev/urandom | base64 -w 76 >"$M/big.txt"
	make_msg "$M/m.eml" to=x@accept.sink.test text="$M/big.txt" html= store_done=1
	[ "$(stat -c %s "$M/m.eml")" -gt 2000000 ]
	# shellcheck disable=SC2002 # a pipe on purpose
	cat "$M/m.eml" | client --server "$SOCK" --json >"$M/out"
	[ "$(local_runs)" -eq 0 ]
	jq -e '.class == "accept" and .done != null' "$M/out"
	cmp "$(jq -r .done "$M/out")" "$M/m.eml"
	assert_counted 1
	[ "$(counter oversize_message)" -eq 0 ]
}

@test "a client whose stdin is closed gets 75 at once through the server, as in-process (no hang)" {
	serve "$M/s.sock" -j 2 --spare 1
	run timed bash -c 'exec 0<&-; exec "$@"' _ "$SINK_FILTER" -c "$SINK_INI" --no-server
	[ "$status" -eq 75 ]
	assert_output --partial "reading the message from standard input: Bad file descriptor"
	# output to files, not to run's pipe: a run stuck in the server would hold a pipe open
	st=0
	LIMIT=2 timed bash -c 'exec 0<&-; exec "$@"' _ "$SINK_FILTER" -c "$SINK_INI" --server "$M/s.sock" \
		>"$M/out" 2>"$M/err" || st=$?
	echo "through the server: exit $st after $(took_ms) ms: $(cat "$M/err")"
	for c in $(pgrep -P "$S_PID"); do	# a child stuck reading a socket as the message: end it now
		if [[ $(readlink "/proc/$c/fd/0") == socket:* ]]; then
			echo "child $c is stuck reading the client's own socket as its stdin; killed"
			kill -KILL "$c"
		fi
	done
	(($(took_ms) < 1500))
	[ "$st" -eq 75 ]
	grep -q "reading the message from standard input: Bad file descriptor" "$M/err"
	[ "$(rcli DBSIZE)" -eq 0 ]
}

@test "a client whose stdout or stderr is closed gets the in-process exit status through the server (0; 64 for a bad option)" {
	serve "$M/s.sock" -j 2 --spare 1
	make_msg "$M/m.eml" to=x@accept.sink.test
	no_out() { LIMIT=4 timed bash -c 'exec 1>&-; exec "$@"' _ "$SINK_FILTER" -c "$SINK_INI" "$@" --json <"$M/m.eml"; }
	no_err() { LIMIT=4 timed bash -c 'exec 2>&-; exec "$@"' _ "$SINK_FILTER" -c "$SINK_INI" "$@" --bogus <"$M/m.eml"; }
	s1=0 s2=0 s3=0 s4=0
	no_out --no-server 2>"$M/err1" || s1=$?
	no_out --server "$M/s.sock" 2>"$M/err2" || s2=$?
	no_err --no-server || s3=$?
	no_err --server "$M/s.sock" || s4=$?
	echo "stdout closed: in-process $s1, through the server $s2: $(cat "$M/err2")"
	echo "stderr closed, bad option: in-process $s3, through the server $s4"
	[ "$s1" -eq 0 ]
	[ "$s2" -eq 0 ]
	[ "$s3" -eq 64 ]
	[ "$s4" -eq 64 ]
	assert_counted 2
	assert_whole_log 2
}

# ---- 4. the client's working directory --------------------------------------------------------------------

@test "a relative -c is taken from the client's working directory, not the server's nor the last client's" {
	make_msg "$M/m.eml" to=x@accept.sink.test
	mkdir -p "$M/a" "$M/b"
	cp "$SINK_INI" "$M/a/sink.ini"
	cd "$M/a"
	run bare --server "$SOCK" -c sink.ini --json <"$M/m.eml"
	assert_success
	jq -e '.class == "accept"' <<<"$output"
	assert_counted 1
	assert_whole_log 1
	# in b there is no sink.ini (the server's own folder has a broken one; the last client's a good one)
	cd "$M/b"
	run bare --server "$SOCK" -c sink.ini --json <"$M/m.eml"
	[ "$status" -eq 75 ]
	assert_output "sink-filter: config: sink.ini: No such file or directory"
	assert_counted 1
	# relative paths inside the config are taken from its folder, wherever the client is
	sed -i "s|^Logfile = .*|Logfile = rel/sink.log|" "$M/a/sink.ini"
	run bare --server "$SOCK" -c ../a/sink.ini <"$M/m.eml"
	assert_success
	assert_whole_log 1 "$M/a/rel/sink.log.$(date -u +%F)"
	[ ! -e "$SRV_DIR/cwd/rel" ]
	[ "$(local_runs)" -eq 0 ]
}

# ---- 5. the client's environment and umask ----------------------------------------------------------------

@test "SINK_NOW, SINK_CONFIG and RESULTS_KEY set on the client are used; the next run does not keep them" {
	make_msg "$M/m.eml" to=x@accept.sink.test
	SINK_NOW=2027-03-31T23:59:59Z run client --server "$SOCK" --json <"$M/m.eml"
	assert_success
	assert_whole_log 1 "$SINK_LOG.2027-03-31"
	last_record "$SINK_LOG.2027-03-31" | jq -e '.[0] == "2027-03-31T23:59:59Z"'
	[ "$(rcli GET "consume-mail:0:ts_$(date -ud 2027-03-31T23:59:00Z +%s)")" -eq 1 ]
	# the next run, without it: now
	run client --server "$SOCK" <"$M/m.eml"
	assert_success
	assert_whole_log 1
	last_record | jq -e --arg d "$(date -u +%F)" '.[0] | startswith($d)'
	# SINK_CONFIG when there is no -c
	SINK_CONFIG=$SINK_INI run bare --server "$SOCK" --json <"$M/m.eml"
	assert_success
	jq -e '.class == "accept"' <<<"$output"
	assert_whole_log 2
	printf '[Sink]\nBogus_Key = 1\n' >"$M/other.ini"
	SINK_CONFIG=$M/other.ini run bare --server "$SOCK" <"$M/m.eml"
	[ "$status" -eq 75 ]
	assert_output --partial "$M/other.ini"
	assert_output --partial "Bogus_Key"
	# RESULTS_KEY
	RESULTS_KEY=7 run client --server "$SOCK" <"$M/m.eml"
	assert_success
	[ "$(rcli GET consume-mail:7:int_total_messages)" -eq 1 ]
	assert_counted 3
	[ "$(local_runs)" -eq 0 ]
}

@test "files the run creates get the client's umask (the server's is 077)" {
	make_msg "$M/m.eml" to=x@accept.sink.test store_done=1
	(umask 022 && exec "$SINK_FILTER" --server "$SOCK" -c "$SINK_INI" <"$M/m.eml")
	[ "$(stat -c %a "${SINK_LOG%/*}")" = 750 ]
	[ "$(stat -c %a "$SINK_LOG.$(date -u +%F)")" = 640 ]
	[ "$(stat -c %a "$SINK_DONE")" = 750 ]
	[ "$(stat -c %a "$(find "$SINK_DONE" -name '*.eml')")" = 640 ]
	sink_config DKIM_Check=off "${NOMIX[@]}" Logfile="$M/log2/sink.log" Done_Msg_File_Dest="$M/done2"
	(umask 077 && exec "$SINK_FILTER" --server "$SOCK" -c "$SINK_INI" <"$M/m.eml")
	[ "$(stat -c %a "$M/log2")" = 700 ]
	[ "$(stat -c %a "$M/log2/sink.log.$(date -u +%F)")" = 600 ]
	[ "$(stat -c %a "$M/done2")" = 700 ]
	[ "$(stat -c %a "$(find "$M/done2" -name '*.eml')")" = 600 ]
	(umask 027 && exec "$SINK_FILTER" --server "$SOCK" -c "$SINK_INI" <"$M/m.eml")
	assert_whole_log 2 "$M/log2/sink.log.$(date -u +%F)"
	assert_counted 3
}

# ---- 6. no server -----------------------------------------------------------------------------------------

@test "no server at a named socket: the message runs in-process with the same result, and a warning names the path" {
	make_msg "$M/m.eml" to=x@accept.sink.test
	run client --server "$M/none.sock" --json --seed 3 <"$M/m.eml"
	assert_success
	assert_line "sink-filter: server $M/none.sock: No such file or directory; running the message here"
	[ "${#lines[@]}" -eq 2 ]
	here=$(json_of "$output")
	[ "$(local_runs)" -eq 1 ]
	assert_counted 1
	assert_whole_log 1
	run client --server "$SOCK" --json --seed 3 <"$M/m.eml"
	assert_success
	[ "$(norm <<<"$output")" = "$(norm <<<"$here")" ]
	[ "$(local_runs)" -eq 1 ]
	# the same through $SINK_SERVER
	SINK_SERVER=$M/none.sock run client --json --seed 3 <"$M/m.eml"
	assert_success
	assert_line "sink-filter: server $M/none.sock: No such file or directory; running the message here"
	[ "$(local_runs)" -eq 2 ]
	assert_counted 3
}

@test "no server at the built-in socket path: the message runs in-process without a word" {
	[ ! -e /run/bouncy-sink/filter.sock ] ||
		fail "this machine has a /run/bouncy-sink/filter.sock: the case cannot be tested here"
	make_msg "$M/m.eml" to=x@accept.sink.test
	run env -u SINK_SERVER "$SINK_FILTER" -c "$SINK_INI" --json <"$M/m.eml"
	assert_success
	[ "${#lines[@]}" -eq 1 ]
	jq -e '.class == "accept"' <<<"$output"
	assert_counted 1
}

@test "a static (musl) sink-filter runs a message itself with sink-filter-static or -local; without them: 75, stdin untouched, the path named" {
	make_msg "$M/m.eml" to=x@accept.sink.test
	size=$(wc -c <"$M/m.eml")
	if [[ ! -e $SINK_BUILD/bin/sink-filter-local ]]; then
		# built without musl-gcc: sink-filter is the dynamic program that opens the core itself
		readelf -l "$SINK_FILTER" | grep -q 'program interpreter'
		run client --no-server --json <"$M/m.eml"
		assert_success
		[ "$(local_runs)" -eq 1 ]
		assert_counted 1
		return
	fi
	run readelf -l "$SINK_FILTER"
	refute_output --partial 'program interpreter'
	# in-process means in sink-filter-static (the core linked in), else sink-filter-local (which opens it)
	run client --no-server --json <"$M/m.eml"
	assert_success
	jq -e '.class == "accept"' <<<"$output"
	[ "$(local_runs)" -eq 1 ]
	assert_counted 1
	# alone in a folder, and nothing installed: it defers and leaves the message to PMTA
	installed=$(sed -n 's/^#define SINK_LIBEXECDIR "\(.*\)"$/\1/p' "$SINK_BUILD/sink-build.h")/sink-filter-local
	[ ! -e "$installed" ] || fail "this machine has a $installed: the case cannot be tested here"
	[ ! -e "${installed%-local}-static" ] || fail "this machine has a ${installed%-local}-static: the case cannot be tested here"
	mkdir "$M/alone"
	cp "$SINK_FILTER" "$M/alone/"
	run bash -c '"$1" -c "$2" --no-server; echo "exit $?"; echo "left $(wc -c)"' _ "$M/alone/sink-filter" "$SINK_INI" \
		<"$M/m.eml"
	assert_line "sink-filter: cannot run the message here: $installed: No such file or directory; deferred"
	assert_line "exit 75"
	assert_line "left $size"
	# one beside it that may not be run is named, not passed over in silence
	: >"$M/alone/sink-filter-local"
	chmod 644 "$M/alone/sink-filter-local"
	run bash -c '"$1" -c "$2" --no-server; echo "exit $?"; echo "left $(wc -c)"' _ "$M/alone/sink-filter" "$SINK_INI" \
		<"$M/m.eml"
	assert_line "sink-filter: cannot run the message here: $M/alone/sink-filter-local: Permission denied; deferred"
	assert_line "exit 75"
	assert_line "left $size"
	# and so is a sink-filter-static that may not be run
	rm "$M/alone/sink-filter-local"
	: >"$M/alone/sink-filter-static"
	chmod 644 "$M/alone/sink-filter-static"
	run bash -c '"$1" -c "$2" --no-server; echo "exit $?"; echo "left $(wc -c)"' _ "$M/alone/sink-filter" "$SINK_INI" \
		<"$M/m.eml"
	assert_line "sink-filter: cannot run the message here: $M/alone/sink-filter-static: Permission denied; deferred"
	assert_line "exit 75"
	assert_line "left $size"
	assert_counted 1
	assert_whole_log 1
}

@test "--server=PATH and \$SINK_SERVER choose the server; --no-server and an empty path run in-process without a word" {
	make_msg "$M/m.eml" to=x@accept.sink.test
	run client --server="$SOCK" <"$M/m.eml"
	assert_success
	assert_output ""
	SINK_SERVER=$SOCK run client <"$M/m.eml"
	assert_success
	assert_output ""
	[ "$(local_runs)" -eq 0 ]
	SINK_SERVER=$SOCK run client --no-server <"$M/m.eml"
	assert_success
	assert_output ""
	[ "$(local_runs)" -eq 1 ]
	SINK_SERVER='' run client <"$M/m.eml"
	assert_success
	assert_output ""
	[ "$(local_runs)" -eq 2 ]
	SINK_SERVER=$SOCK run client --server '' <"$M/m.eml"
	assert_success
	assert_output ""
	[ "$(local_runs)" -eq 3 ]
	# --server wins over $SINK_SERVER
	SINK_SERVER=$M/none.sock run client --server "$SOCK" <"$M/m.eml"
	assert_success
	assert_output ""
	[ "$(local_runs)" -eq 3 ]
	assert_counted 6
	assert_whole_log 6
}

@test "an envelope sender that looks like an option (--from '--server=PATH@x') is the sender: it does not choose the socket" {
	# PMTA runs: sink-filter --from "$from" --to "$to"; the remote sender picks $from
	make_msg "$M/m.eml" to=x@accept.sink.test
	SINK_SERVER=$SOCK run client --from "--server=$M/evil.sock@x.test" --to x@accept.sink.test --json <"$M/m.eml"
	echo "$output"
	assert_success
	[ "${#lines[@]}" -eq 1 ]	# no warning about $M/evil.sock@x.test
	jq -e --arg rp "--server=$M/evil.sock@x.test" '.return_path == $rp' <<<"$output"
	[ "$(local_runs)" -eq 0 ]	# served by $SINK_SERVER's server
	SINK_SERVER=$SOCK run client --from "--no-server" --json <"$M/m.eml"
	assert_success
	[ "$(local_runs)" -eq 0 ]
	assert_counted 2
}

# ---- 7. a stale socket ------------------------------------------------------------------------------------

@test "a socket left by a killed server: the client runs the message itself (with a warning) and a new server takes the path" {
	serve "$M/s.sock" -j 2 --spare 2
	wait_for 5 children_are "$S_PID" 2
	kids=$(pgrep -P "$S_PID" | tr '\n' ' ')
	old=$S_PID
	kill -KILL "$S_PID"
	wait "$S_PID" || true
	for k in $kids; do wait_for 5 gone "$k"; done	# the children see the server go and leave
	[ -S "$M/s.sock" ]
	make_msg "$M/m.eml" to=x@accept.sink.test
	run client --server "$M/s.sock" --json <"$M/m.eml"
	assert_success
	assert_line "sink-filter: server $M/s.sock: Connection refused; running the message here"
	json_of "$output" | jq -e '.class == "accept"'
	[ "$(local_runs)" -eq 1 ]
	serve "$M/s.sock" -j 2 --spare 1
	[ "$S_PID" != "$old" ]
	run client --server "$M/s.sock" --json <"$M/m.eml"
	assert_success
	[ "${#lines[@]}" -eq 1 ]
	[ "$(local_runs)" -eq 1 ]
	assert_counted 2
	assert_whole_log 2
}

# ---- 8. the socket path taken ------------------------------------------------------------------------------

@test "a second sink-filterd on a live server's socket exits 73 naming the path; the first goes on serving" {
	run "$SINK_FILTERD" -s "$SOCK"
	[ "$status" -eq 73 ]
	assert_output "sink-filterd: $SOCK: another sink-filterd is listening there"
	[ -S "$SOCK" ]
	make_msg "$M/m.eml" to=x@accept.sink.test
	run client --server "$SOCK" <"$M/m.eml"
	assert_success
	assert_output ""
	[ "$(local_runs)" -eq 0 ]
	assert_counted 1
}

@test "sink-filterd on a path that is a regular file exits 73 naming the path and leaves the file alone" {
	echo "not a socket" >"$M/file.sock"
	run "$SINK_FILTERD" -s "$M/file.sock"
	[ "$status" -eq 73 ]
	assert_output "sink-filterd: $M/file.sock: exists and is not a socket"
	[ "$(cat "$M/file.sock")" = "not a socket" ]
}

# ---- 9. another uid ---------------------------------------------------------------------------------------

@test "a client of another uid is refused (logged) and runs the message itself, with the right result" {
	PUB=$(mktemp -d /tmp/sink-server-bats.XXXXXX)
	chmod 755 "$PUB"
	sink_config DKIM_Check=verify
	cp "$SINK_INI" "$PUB/sink.ini"
	chmod 644 "$PUB/sink.ini"
	make_msg "$M/u.eml" to=x@fbl.sink.test
	sign_msg "$M/u.eml" "$M/m.eml"
	serve "$PUB/s.sock" -j 2 --spare 1
	chmod 666 "$PUB/s.sock"
	cd "$PUB"
	# ten times: the refusal must reach the client every time, whatever the timing
	for i in 1 2 3 4 5 6 7 8 9 10; do
		run setpriv --reuid=65534 --regid=65534 --clear-groups "$SINK_FILTER" -c "$PUB/sink.ini" \
			--server "$PUB/s.sock" --dry-run --json --seed 4 --client-ip 192.0.2.10 <"$M/m.eml"
		echo "run $i: $status: $output"
		assert_success
		assert_line "sink-filter: server $PUB/s.sock refused the message: client uid 65534 gid 65534 is not the server's uid 0 gid 0; running it here"
		[ "${#lines[@]}" -eq 2 ]
	done
	nobody=$(json_of "$output")
	[ "$(grep -c "^sink-filterd: refused a client with uid 65534 gid 65534: only uid 0 gid 0 may use this server$" "$S_LOG")" -eq 10 ]
	run "$SINK_FILTER" -c "$PUB/sink.ini" --no-server --dry-run --json --seed 4 --client-ip 192.0.2.10 <"$M/m.eml"
	assert_success
	[ "$(norm <<<"$nobody")" = "$(norm <<<"$output")" ]
	jq -e '.class == "fbl" and .dkim == "pass" and .spf == "pass" and .dry_run' <<<"$nobody"
	# root is still served
	run "$SINK_FILTER" -c "$PUB/sink.ini" --server "$PUB/s.sock" --dry-run --json --seed 4 --client-ip 192.0.2.10 <"$M/m.eml"
	assert_success
	[ "${#lines[@]}" -eq 1 ]
}

@test "a client of the server's uid and gid with other supplementary groups is refused and runs the message itself, with its own" {
	make_msg "$M/m.eml" to=x@accept.sink.test
	serve "$M/s.sock"
	local ours
	ours=$(awk '/^Groups:/ { $1 = ""; print }' /proc/self/status | xargs)	# the server's (this shell's)
	run setpriv --groups="$(echo $ours 4242 | tr ' ' ,)" "$SINK_FILTER" --server "$M/s.sock" --dry-run --json <"$M/m.eml"
	echo "$output"
	assert_success
	assert_line "sink-filter: server $M/s.sock refused the message: the client's supplementary groups are not the server's; running it here"
	grep -q "^sink-filterd: refused a client with uid 0 gid 0 and $(($(wc -w <<<"$ours") + 1)) supplementary group(s) other than the server's" "$S_LOG"
	# the same groups are served
	run "$SINK_FILTER" --server "$M/s.sock" --dry-run --json <"$M/m.eml"
	assert_success
	[ "${#lines[@]}" -eq 1 ]
}

@test "the socket is made mode 0600, for the server's own user only" {
	serve "$M/s.sock"
	[ "$(stat -c %a "$M/s.sock")" = 600 ]
}

@test "a client will not hand its message to a server of another user: it runs the message itself" {
	PUB=$(mktemp -d /tmp/sink-server-bats.XXXXXX)
	chmod 777 "$PUB"
	make_msg "$M/m.eml" to=x@accept.sink.test
	setpriv --reuid=65534 --regid=65534 --clear-groups "$SINK_FILTERD" -s "$PUB/s.sock" \
		</dev/null >/dev/null 2>"$PUB/s.log" &
	echo $! >>"$M/.servers"
	wait_for 10 grep -q "listening on $PUB/s.sock" "$PUB/s.log"
	chmod 666 "$PUB/s.sock"
	run client --server "$PUB/s.sock" --dry-run --json <"$M/m.eml"
	assert_success
	assert_line "sink-filter: server $PUB/s.sock runs as uid 65534, not as this user; running the message here"
	[ "$(local_runs)" -eq 1 ]
	jq -e '.class == "accept"' <<<"$(json_of "$output")"
}

@test "--help through the server prints sink-filter's options and exits 0" {
	run client --server "$SOCK" --help </dev/null
	assert_success
	assert_line --partial "sink-filter [OPTION"
	assert_line --partial "--no-server"
	[ "$(local_runs)" -eq 0 ]
}

@test "a server started with its standard descriptors closed keeps no client's pipe open after the run" {
	make_msg "$M/m.eml" to=x@accept.sink.test
	"$SINK_FILTERD" -s "$M/c.sock" <&- >&- 2>&- &
	echo $! >>"$M/.servers"
	wait_for 10 test -S "$M/c.sock"
	# `| cat` ends only when every holder of the pipe has let go of it, the serving child included
	run timeout 10 bash -c '"$1" -c "$2" --server "$3" --dry-run --json <"$4" 2>&1 | cat' _ \
		"$SINK_FILTER" "$SINK_INI" "$M/c.sock" "$M/m.eml"
	assert_success
	jq -e '.class == "accept"' <<<"$output"
}

# ---- 10. nothing carried from one run to the next ---------------------------------------------------------

@test "one child running message after message: options, output and the random draw are fresh each run" {
	serve "$M/s.sock" --runs-per-child 1000 --spare 1 -j 1
	sink_config DKIM_Check=off Upstream_Handled=0 OOB_percent=0 FBL_percent=0 Open_percent=50 Open_Again_percent=0 \
		Click_percent=0 Click_Again_percent=0 Weekly_Cycle_Open_Rate=1,1,1,1,1,1,1 Signals_Traffic_Prefix=
	make_msg "$M/m.eml" to=x@accept.sink.test
	make_msg "$M/mix.eml" to=x@mix.sink.test
	client --server "$M/s.sock" --json -v --dry-run --seed 1 --from other@sender.test --to y@accept.sink.test \
		<"$M/m.eml" >"$M/out1" 2>"$M/err1"
	jq -e '.return_path == "other@sender.test" and .to == "y@accept.sink.test" and .dry_run' "$M/out1"
	[ -s "$M/err1" ]
	child=$(pgrep -P "$S_PID")
	# the next run has none of those options: no JSON, no log line on stderr, a real run, the headers' envelope
	client --server "$M/s.sock" <"$M/m.eml" >"$M/out2" 2>"$M/err2"
	[ ! -s "$M/out2" ]
	[ ! -s "$M/err2" ]
	assert_counted 1
	last_record | jq -e '.[4] == "x@accept.sink.test" and .[5] == "bounces@sender.test"'
	fds=$(find "/proc/$child/fd" -mindepth 1 | wc -l)
	# 200 unseeded draws of the mix: the classes vary, and the draws are (nearly) all different
	for i in $(seq 200); do
		"$SINK_FILTER" -c "$SINK_INI" --server "$M/s.sock" --dry-run --json <"$M/mix.eml"
	done >"$M/draws" 2>"$M/err3"
	[ ! -s "$M/err3" ]	# served, every one ("running the message here" otherwise)
	[ "$(wc -l <"$M/draws")" -eq 200 ]
	jq -r .class "$M/draws" | sort | uniq -c
	[ "$(jq -r .class "$M/draws" | sort -u | tr '\n' ' ')" = "accept openclick " ]
	[ "$(jq -r .class "$M/draws" | grep -c openclick)" -ge 50 ]
	[ "$(jq -r .class "$M/draws" | grep -c accept)" -ge 50 ]
	[ "$(jq -r .draw "$M/draws" | sort -u | wc -l)" -ge 190 ]
	# the same seed still gives the same draw
	a=$(client --server "$M/s.sock" --dry-run --json --seed 9 <"$M/mix.eml")
	b=$(client --server "$M/s.sock" --dry-run --json --seed 9 <"$M/mix.eml")
	[ "$(norm <<<"$a")" = "$(norm <<<"$b")" ]
	# all of it through the one child, which holds no more descriptors than after its second run
	[ "$(pgrep -P "$S_PID")" = "$child" ]
	ls -l "/proc/$child/fd"
	[ "$(find "/proc/$child/fd" -mindepth 1 | wc -l)" -eq "$fds" ]
	[ "$(local_runs)" -eq 0 ]
	assert_counted 1
}

@test "one child running message after message keeps its Redis connection, and opens another when Redis closed it" {
	serve "$M/s.sock" --runs-per-child 1000 --spare 1 -j 1
	sink_config DKIM_Check=off
	make_msg "$M/m.eml" to=x@accept.sink.test
	before=$(redis_connections)
	for i in $(seq 5); do
		client --server "$M/s.sock" <"$M/m.eml"
	done
	# the child's one connection, and this second INFO's
	[ "$(($(redis_connections) - before))" -eq 2 ]
	assert_counted 5
	# Redis closes it (as for idling, or a restart): the next message sees that before its first command (a
	# delayed open's job, which no retry would save) and works on a new one
	rcli CLIENT KILL TYPE normal
	sink_config DKIM_Check=off Open_Delay=1h Tracking_Domains_Allowlist=track.test
	make_msg "$M/o.eml" to=x@openclick.sink.test
	run client --server "$M/s.sock" --json <"$M/o.eml"
	assert_success
	jq -e '.errors == [] and (.delayed | length) == 1 and .delayed[0].step == "open"' <<<"$output"
	assert_equal "$(rcli ZCARD consume-mail:0:jobs:due)" 1
	assert_counted 6
	assert_whole_log 6
	[ "$(local_runs)" -eq 0 ]
}

@test "one child running message after message takes an in-place edit of its config (same inode and size) at the next message" {
	serve "$M/s.sock" --spare 1 -j 1
	make_msg "$M/m.eml" to=x@accept.sink.test
	mkdir -p "$M/log"
	conf() { printf '[Sink]\nLogfile = %s/log/%s\nRedis_URL = %s\nDKIM_Check = %s\n' "$M" "$1" "$REDIS_URL" "$2"; }
	conf a.log off >"$M/c.ini"
	ino=$(stat -c %i "$M/c.ini")
	sleep 3	# a file changed in the last 2 s is read for every message
	child=$(pgrep -P "$S_PID")
	for i in 1 2; do client -c "$M/c.ini" --server "$M/s.sock" <"$M/m.eml"; done
	# rewritten in place: the same inode, the same size
	conf b.log off >"$M/c.ini"
	client -c "$M/c.ini" --server "$M/s.sock" <"$M/m.eml"
	[ "$(stat -c %i "$M/c.ini")" = "$ino" ]
	[ "$(cat "$M"/log/a.log.* | wc -l)" -eq 2 ]
	[ "$(cat "$M"/log/b.log.* | wc -l)" -eq 1 ]
	# a broken edit is a config error for the next message, not the old config
	conf b.log of >"$M/c.ini"
	run client -c "$M/c.ini" --server "$M/s.sock" <"$M/m.eml"
	[ "$status" -eq 75 ]
	assert_output --partial "DKIM_Check"
	[ "$(pgrep -P "$S_PID")" = "$child" ]
	[ "$(local_runs)" -eq 0 ]
	assert_counted 3
}

@test "one child running message after message checks each signature against its own key, not the last one read" {
	serve "$M/s.sock" --spare 1 -j 1
	sink_config DKIM_Check=verify
	make_msg "$M/m.raw" to=x@accept.sink.test
	sign_msg "$M/m.raw" "$M/sender.eml"
	sign_msg "$M/m.raw" "$M/tenant.eml" tenant.test
	# d=stranger.test publishes sender.test's key; this one is signed with tenant.test's
	mkdir -p "$M/keys/stranger.test"
	cp "$DKIM_KEYDIR/tenant.test/sel1.private" "$M/keys/stranger.test/"
	DKIM_KEYDIR=$M/keys sign_msg "$M/m.raw" "$M/stranger.eml" stranger.test
	child=$(pgrep -P "$S_PID")
	for m in sender tenant stranger sender stranger stranger tenant; do
		client --server "$M/s.sock" --dry-run --json <"$M/$m.eml" | jq -r '"\(.dkim) \(.dkim_detail // "")"'
	done >"$M/results"
	cat "$M/results"
	[ "$(cut -d' ' -f1 "$M/results" | tr '\n' ' ')" = "pass pass fail pass fail fail pass " ]
	[ "$(grep -c "signature verification failed" "$M/results")" -eq 3 ]
	[ "$(pgrep -P "$S_PID")" = "$child" ]
	[ "$(local_runs)" -eq 0 ]
}

@test "one child running message after message asks DNS for a key once in its time to live, a missing key every time" {
	serve "$M/s.sock" --spare 1 -j 1
	sink_config DKIM_Check=verify
	make_msg "$M/m.raw" to=x@accept.sink.test
	sign_msg "$M/m.raw" "$M/sender.eml"
	sign_msg "$M/m.raw" "$M/nokey.eml" nokey.test
	ttl=$(sed -n 's/^local-ttl=//p' "$T_STATE/dnsmasq.conf")
	# asked QUERIES: how many key look-ups dnsmasq has answered for sender.test and for nokey.test
	asked() { echo "$(grep -c 'query\[TXT\] sel1\._domainkey\.sender\.test ' "$T_STATE/dnsmasq.log")" \
		"$(grep -c 'query\[TXT\] sel1\._domainkey\.nokey\.test ' "$T_STATE/dnsmasq.log")"; }
	read -r sender0 nokey0 < <(asked)
	child=$(pgrep -P "$S_PID")
	for _ in 1 2 3; do
		client --server "$M/s.sock" --dry-run --json <"$M/sender.eml" | jq -r .dkim
		client --server "$M/s.sock" --dry-run --json <"$M/nokey.eml" | jq -r .dkim
	done >"$M/results"
	read -r sender1 nokey1 < <(asked)
	sleep "$ttl.5"
	client --server "$M/s.sock" --dry-run --json <"$M/sender.eml" | jq -r .dkim >>"$M/results"
	read -r sender2 nokey2 < <(asked)
	cat "$M/results"
	echo "sender.test asked $((sender1 - sender0)) then $((sender2 - sender1)); nokey.test $((nokey1 - nokey0))"
	[ "$(tr '\n' ' ' <"$M/results")" = "pass nokey pass nokey pass nokey pass " ]
	[ $((sender1 - sender0)) -eq 1 ]
	[ $((nokey1 - nokey0)) -eq 3 ]
	[ $((sender2 - sender1)) -eq 1 ]
	[ "$(pgrep -P "$S_PID")" = "$child" ]
	[ "$(local_runs)" -eq 0 ]
}

@test "one child running message after message takes a change of the system host name (Host_Name empty) at the next message" {
	sink_config DKIM_Check=header Host_Name=- "${NOMIX[@]}"
	make_msg "$M/u.eml" to=x@accept.sink.test
	sign_msg "$M/u.eml" "$M/s.eml"
	for h in a b; do pmta_authres "$M/s.eml" "$M/$h.eml" "sink-$h.test; dkim=pass header.d=sender.test"; done
	# the server in a UTS namespace of its own, named sink-a.test there
	UNDER=(unshare -u sh -c 'hostname sink-a.test && exec "$@"' sh)
	serve "$M/s.sock" --spare 1 -j 1
	# a config file older than 2 s: the child keeps it from one message to the next (sink_config_get)
	# shellcheck disable=SC2016 # the inner bash expands them
	wait_for 5 bash -c '(($(date +%s) - $(stat -c %Z "$1") > 2))' _ "$SINK_INI"
	run client --server "$M/s.sock" --json --dry-run --seed 5 <"$M/a.eml"
	assert_success
	jq -e '.dkim == "pass"' <<<"$output"
	child=$(pgrep -P "$S_PID")
	nsenter -t "$S_PID" -u hostname sink-b.test
	served=$(client --server "$M/s.sock" --json --dry-run --seed 5 <"$M/b.eml")
	here=$(nsenter -t "$S_PID" -u "$SINK_FILTER" -c "$SINK_INI" --no-server --json --dry-run --seed 5 <"$M/b.eml")
	echo "served: $served"
	echo "here:   $here"
	jq -e '.dkim == "pass"' <<<"$here"
	[ "$(norm <<<"$served")" = "$(norm <<<"$here")" ]
	# and the old name is not ours any more
	run client --server "$M/s.sock" --json --dry-run --seed 5 <"$M/a.eml"
	jq -e '.dkim == "fail"' <<<"$output"
	[ "$(pgrep -P "$S_PID")" = "$child" ]	# all through the one child
	[ "$(local_runs)" -eq 0 ]
}

@test "the server sleeps through messages while enough children wait; busy ones that leave too few make it start more" {
	serve "$M/s.sock" --spare 2 -j 6
	make_msg "$M/m.eml" to=x@accept.sink.test
	wakes() { awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$S_PID/status"; }
	# the first message leaves one waiting: the server starts a third child
	client --server "$M/s.sock" <"$M/m.eml"
	wait_for 2 children_are "$S_PID" 3	# (a function: the count read again at each try)
	before=$(wakes)
	for i in $(seq 20); do client --server "$M/s.sock" <"$M/m.eml"; done
	[ "$(wakes)" -eq "$before" ]
	[ "$(pgrep -c -P "$S_PID")" -eq 3 ]
	# three held busy at once (DNS look-ups that never get an answer): two more start, to keep two waiting
	sink_config DKIM_Check=verify DNS_Timeout=3 "${NOMIX[@]}"
	slow_msg "$M/slow.eml"
	slow=()
	for i in 1 2 3; do
		cp "$M/slow.eml" "$M/slow$i.eml"
		"$SINK_FILTER" -c "$SINK_INI" --server "$M/s.sock" <"$M/slow$i.eml" >/dev/null 2>&1 &
		slow+=($!)
	done
	for i in 1 2 3; do wait_for 2 busy_child "$S_PID" "$M/slow$i.eml" >/dev/null; done
	wait_for 2 children_are "$S_PID" 5
	# and a fourth at once is served by one of them, not queued behind the look-ups
	t0=$EPOCHREALTIME
	client --server "$M/s.sock" <"$M/m.eml"
	(((${EPOCHREALTIME/./} - ${t0/./}) / 1000 < 2000))
	wait "${slow[@]}"
	[ "$(local_runs)" -eq 0 ]
	assert_counted 25
}

@test "--runs-per-child 2: a child leaves after its second message and a fresh one serves the third" {
	serve "$M/s.sock" --runs-per-child 2 --spare 1 -j 1
	make_msg "$M/m.eml" to=x@accept.sink.test
	wait_for 2 pgrep -P "$S_PID" >/dev/null
	first=$(pgrep -P "$S_PID")
	client --server "$M/s.sock" <"$M/m.eml"
	client --server "$M/s.sock" <"$M/m.eml"
	wait_for 2 gone "$first"
	wait_for 2 pgrep -P "$S_PID" >/dev/null
	second=$(pgrep -P "$S_PID")
	[ "$second" != "$first" ]
	client --server "$M/s.sock" <"$M/m.eml"
	[ "$(pgrep -P "$S_PID")" = "$second" ]
	[ "$(local_runs)" -eq 0 ]
	assert_counted 3
	assert_whole_log 3
	run cat "$S_LOG"
	refute_output --partial "died"
}

# ---- 11. load ---------------------------------------------------------------------------------------------

@test "200 messages from 50 concurrent clients through one server (-j 8): every counter exact, every log line whole" {
	sink_config DKIM_Check=off Upstream_Handled=0 OOB_percent=0 FBL_percent=0 Open_percent=50 \
		Open_Again_percent=0 Click_percent=50 Click_Again_percent=0 Tracking_Domains_Allowlist=track.test \
		Weekly_Cycle_Open_Rate=1,1,1,1,1,1,1 Signals_Traffic_Prefix= Open_Click_Timeout=30 Message_Timeout=60
	N=200
	mkdir "$M/in"
	"$PY" - "$N" "$M/in" <<'EOF'
import sys
n, out = int(sys.argv[1]), sys.argv[2]
for i in range(1, n + 1):
    to = ("o%04d@openclick.sink.test" if i % 2 else "a%04d@accept.sink.test") % i
    with open("%s/%04d.eml" % (out, i), "w") as f:
        f.write("Return-Path: <bounces@sender.test>\nFrom: news@sender.test\nTo: %s\nSubject: load %d\n"
                "Message-ID: <srv-%04d@sender.test>\nMIME-Version: 1.0\nContent-Type: text/html\n\n"
                '<p>%d %s</p><img src="http://track.test/q/%d"><a href="http://track.test/l/%d">x</a>\n'
                % (to, i, i, i, "y" * (i * 37 % 2000), i, i))
EOF
	nlog=$(wc -l <"$SRV_LOG")
	t0=$EPOCHREALTIME
	# shellcheck disable=SC2016 # the inner sh expands them
	find "$M/in" -name '*.eml' -print0 | sort -z |
		xargs -0 -P 50 -I{} sh -c '"$1" -c "$2" --server "$3" <"$4" >/dev/null 2>>"$5" || echo "$4: exit $?" >>"$5"' \
			_ "$SINK_FILTER" "$SINK_INI" "$SOCK" {} "$M/failures"
	echo "$N messages, 50 at a time: $(((${EPOCHREALTIME/./} - ${t0/./}) / 1000)) ms" >&3
	run cat "$M/failures"
	assert_output ""	# no exit but 0, not a word on stderr (no "running the message here")
	[ "$(counter total_messages)" -eq $N ]
	[ "$(counter accept)" -eq $((N / 2)) ]
	[ "$(counter open)" -eq $((N / 2)) ]
	[ "$(counter click)" -eq $((N / 2)) ]
	for c in open_again click_again open_url_not_sparkpost bad_message fail_dkim; do
		[ "$(counter $c)" -eq 0 ]
	done
	[ "$(jq -r .path "$HTTP_LOG" | grep -c '^/q/')" -eq $((N / 2)) ]
	[ "$(jq -r .path "$HTTP_LOG" | grep -c '^/l/')" -eq $((N / 2)) ]
	assert_whole_log $N
	# one record per message, each with its own recipient
	[ "$(log_records | jq -r '.[3]' | sort -u | wc -l)" -eq $N ]
	log_records | jq -se 'all(.[]; (.[3] | test("^srv-[0-9]{4}@sender.test$")) and .[3][4:8] == .[4][1:5])'
	run srv_log_since "$nlog"
	refute_output --partial "died"
	refute_output --partial "refused"
}

# ---- 12. the server's child dies mid-message ---------------------------------------------------------------

@test "the child running a message killed (SIGKILL): the client defers (75) with a 'went away' line; the server logs it and serves on" {
	serve "$M/s.sock" -j 2 --spare 1
	sink_config DKIM_Check=verify DNS_Timeout=3
	slow_msg "$M/slow.eml"
	t0=$EPOCHREALTIME
	"$SINK_FILTER" -c "$SINK_INI" --server "$M/s.sock" --json <"$M/slow.eml" >"$M/out" 2>"$M/err" &
	cpid=$!
	wait_for 2 busy_child "$S_PID" "$M/slow.eml" >/dev/null
	child=$(busy_child "$S_PID" "$M/slow.eml")
	kill -KILL "$child"
	st=0
	wait "$cpid" || st=$?
	ms=$(((${EPOCHREALTIME/./} - ${t0/./}) / 1000))
	echo "client exit $st after $ms ms; stderr: $(cat "$M/err")"
	[ "$st" -eq 75 ]
	((ms < 2000))	# not the DNS_Timeout
	[ "$(cat "$M/err")" = "sink-filter: server $M/s.sock went away with the message (no answer); deferred" ]
	[ ! -s "$M/out" ]
	wait_for 2 grep -q "pid $child died of signal 9" "$S_LOG"
	grep -q "pid $child died of signal 9 (Killed); its client defers the message" "$S_LOG"
	assert_counted 0
	[ ! -e "$SINK_LOG.$(date -u +%F)" ]
	# and serves the next one
	make_msg "$M/m.eml" to=x@accept.sink.test
	sink_config DKIM_Check=off "${NOMIX[@]}"
	run client --server "$M/s.sock" --json <"$M/m.eml"
	assert_success
	[ "${#lines[@]}" -eq 1 ]
	[ "$(local_runs)" -eq 0 ]
	assert_counted 1
	kill -0 "$S_PID"
}

# ---- 13. the client dies mid-message -----------------------------------------------------------------------

@test "the client killed (SIGKILL) mid-message: its run in the server ends at once, nothing logged or counted; the server serves on" {
	serve "$M/s.sock" -j 2 --spare 1
	sink_config DKIM_Check=verify DNS_Timeout=3
	slow_msg "$M/slow.eml"
	"$SINK_FILTER" -c "$SINK_INI" --server "$M/s.sock" <"$M/slow.eml" >"$M/out" 2>"$M/err" &
	cpid=$!
	wait_for 2 busy_child "$S_PID" "$M/slow.eml" >/dev/null
	child=$(busy_child "$S_PID" "$M/slow.eml")
	t0=$EPOCHREALTIME
	kill -KILL "$cpid"
	wait "$cpid" || true
	wait_for 1 gone "$child"	# well before the 3 s look-up would end
	echo "child gone after $(((${EPOCHREALTIME/./} - ${t0/./}) / 1000)) ms"
	wait_for 2 grep -q "pid $child: " "$S_LOG"
	cat "$S_LOG"
	grep -qx "sink-filterd: pid $child: its client went away, which ended the run" "$S_LOG"
	run grep -c "died" "$S_LOG"
	assert_output 0	# not reported as a failure
	assert_counted 0
	[ ! -e "$SINK_LOG.$(date -u +%F)" ]
	make_msg "$M/m.eml" to=x@accept.sink.test
	sink_config DKIM_Check=off "${NOMIX[@]}"
	run client --server "$M/s.sock" --json <"$M/m.eml"
	assert_success
	[ "${#lines[@]}" -eq 1 ]
	[ "$(local_runs)" -eq 0 ]
	assert_counted 1
}

# ---- 14. SIGTERM ------------------------------------------------------------------------------------------

# term_with_a_waiting_client SINK-FILTERD-ARGS...: a server with one child, running a slow message (client
# a: $apid, $M/out.a, $M/err.a) while client b waits in the backlog ($bpid, $M/out.b, $M/err.b); then SIGTERM.
# $M/m.eml is a signed accept message like b's.
term_with_a_waiting_client() {
	serve "$M/s.sock" -j 1 --spare 1 "$@"
	sink_config DKIM_Check=verify DNS_Timeout=2
	slow_msg "$M/slow.eml"
	make_msg "$M/u.eml" to=x@accept.sink.test
	sign_msg "$M/u.eml" "$M/m.eml"
	cp "$M/m.eml" "$M/m2.eml"
	"$SINK_FILTER" -c "$SINK_INI" --server "$M/s.sock" --json <"$M/slow.eml" >"$M/out.a" 2>"$M/err.a" &
	apid=$!
	wait_for 2 busy_child "$S_PID" "$M/slow.eml" >/dev/null
	# b connects while the only child is busy: it waits in the backlog
	"$SINK_FILTER" -c "$SINK_INI" --server "$M/s.sock" --json <"$M/m2.eml" >"$M/out.b" 2>"$M/err.b" &
	bpid=$!
	wait_for 2 blocked_in_recv "$bpid"
	kill -TERM "$S_PID"
}

# a_finished_b_ran_itself_server_stopped: after term_with_a_waiting_client, a's slow message finished
# through the server (exit 0), b was refused and ran its message itself (exit 0), and the server stopped.
a_finished_b_ran_itself_server_stopped() {
	local st=0
	wait "$apid" || st=$?
	[ "$st" -eq 0 ]
	[ ! -s "$M/err.a" ]
	jq -e '.dkim == "temperror"' "$M/out.a"
	st=0
	wait "$bpid" || st=$?
	cat "$M/err.b"
	[ "$st" -eq 0 ]
	[ "$(cat "$M/err.b")" = "sink-filter: server $M/s.sock refused the message: the server is stopping; running it here" ]
	jq -e '.class == "accept" and .dkim == "pass"' "$M/out.b"
	st=0
	wait "$S_PID" || st=$?
	[ "$st" -eq 0 ]
	[ "$(tail -n 1 "$S_LOG")" = "sink-filterd: stopped" ]
	[ -z "$(pgrep -P "$S_PID")" ]
}

@test "SIGTERM: the running message finishes (exit 0), a waiting client is refused and runs itself, the socket goes, 'stopped', exit 0" {
	term_with_a_waiting_client
	wait_for 1 test ! -e "$M/s.sock"
	wait_for 1 grep -q "stopping: 1 message(s) running" "$S_LOG"
	# a client that comes now finds no socket and runs the message itself
	run client --server "$M/s.sock" --json <"$M/m.eml"
	assert_success
	assert_line "sink-filter: server $M/s.sock: No such file or directory; running the message here"
	[ "$(local_runs)" -eq 1 ]
	kill -0 "$S_PID"	# still there: a message is running
	a_finished_b_ran_itself_server_stopped
	assert_counted 3
	assert_whole_log 3
}

@test "SIGTERM while the only child is on its last run (--runs-per-child 1): the waiting client is still refused and runs itself" {
	term_with_a_waiting_client --runs-per-child 1
	a_finished_b_ran_itself_server_stopped
	assert_counted 2
	assert_whole_log 2
}

@test "SIGTERM to an idle server: socket removed, children gone, 'stopped', exit 0 at once" {
	serve "$M/s.sock" -j 4 --spare 3
	wait_for 5 children_are "$S_PID" 3
	kids=$(pgrep -P "$S_PID")
	t0=$EPOCHREALTIME
	kill -TERM "$S_PID"
	st=0
	wait "$S_PID" || st=$?
	ms=$(((${EPOCHREALTIME/./} - ${t0/./}) / 1000))
	[ "$st" -eq 0 ]
	((ms < 1000))
	[ ! -e "$M/s.sock" ]
	for k in $kids; do gone "$k"; done
	run cat "$S_LOG"
	assert_line "sink-filterd: stopping: 0 message(s) running"
	assert_line "sink-filterd: stopped"
}

# ---- 15. sink-filterd's options ---------------------------------------------------------------------------

@test "sink-filterd with --spare 0, -j 0, --spare over -j, --runs-per-child 0 or an extra argument exits 64 with a message" {
	local args
	for args in "--spare 0" "-j 0" "-j 2 --spare 3" "--runs-per-child 0" "extra" "--bogus" "-j 5000"; do
		# shellcheck disable=SC2086 # split on purpose
		run "$SINK_FILTERD" -s "$M/x.sock" $args
		echo "$args: $status: $output"
		[ "$status" -eq 64 ]
		[ "${lines[0]:0:14}" = "sink-filterd: " ]
		[ "${#lines[0]}" -gt 20 ]
		assert_line "usage: sink-filterd [-s SOCKET] [-j N] [--spare N] [--runs-per-child N] [--worker [-c FILE]]"
		[ ! -e "$M/x.sock" ]
	done
	run "$SINK_FILTERD" -s "$M/x.sock" extra
	assert_line "sink-filterd: unexpected argument"
	run "$SINK_FILTERD" -s "$M/x.sock" --bogus
	assert_line --partial "--bogus"
}

@test "sink-filterd -j 2 without --spare starts (the spare default, 4, is held to -j) and serves" {
	serve "$M/s.sock" -j 2
	make_msg "$M/m.eml" to=x@accept.sink.test
	run client --server "$M/s.sock" <"$M/m.eml"
	assert_success
	[ "$(counter accept)" -eq 1 ]
	[ "$(local_runs)" -eq 0 ]	# through the server, not in-process
	[ "$(pgrep -c -P "$S_PID")" -le 2 ]
}

# ---- 16. bad requests -------------------------------------------------------------------------------------

@test "bad requests on the socket are refused with a 'refused' reply and a log line; the server serves on" {
	nlog=$(wc -l <"$SRV_LOG")
	run "$PY" - "$SOCK" "$SINK_FILTER" "$SINK_INI" "$M/out" <<'EOF'
import array, os, socket, sys
path, prog, ini, out = sys.argv[1:5]

def ask(data, fds=()):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(path)
    if fds:
        s.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
    else:
        s.send(data)
    s.settimeout(5)
    reply = s.recv(1000)
    s.close()
    print(reply.decode())

def req(args, env=("A=b",)):
    return b"".join(x.encode() + b"\0" for x in ["sink-filter/1", "0022", str(len(args)), str(len(env))] + list(args) + list(env))

null = os.open("/dev/null", os.O_RDWR)
outfd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
cwd = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
four = [null, outfd, null, cwd]
ask(b"garbage")                                         # no descriptors
ask(b"garbage\0", four)                                 # not the magic
ask(req(["sink-filter"])[:-4], four)                    # cut short
ask(req(["sink-filter", "-n"]).replace(b"\x002\0", b"\x009\0", 1), four)   # argc says 9
ask(req(["sink-filter"]).replace(b"0022", b"0x22"), four)  # bad umask
ask(b"sink-filter/1\0" + b"x" * 70000, four)            # too large
ask(req(["sink-filter"]), four[:3])                     # three descriptors
ask(req(["sink-filter", "-n", "-c", ini]), four)        # a good one: exit 0, "OK" on the given stdout
EOF
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "refused request without its four descriptors" ]
	[ "${lines[1]}" = "refused not a sink-filter/1 request" ]
	[ "${lines[2]:0:8}" = "refused " ]
	[ "${lines[3]}" = "refused arguments and environment do not match their counts" ]
	[ "${lines[4]}" = "refused bad umask" ]
	[ "${lines[5]}" = "refused request too large" ]
	[ "${lines[6]}" = "refused request without its four descriptors" ]
	[ "${lines[7]}" = "exit 0" ]
	[ "$(cat "$M/out")" = "$SINK_INI: OK" ]
	run srv_log_since "$nlog"
	echo "$output"
	[ "$(grep -c '^sink-filterd: refused a request from pid [0-9]*: ' <<<"$output")" -eq 7 ]
	assert_line --regexp '^sink-filterd: refused a request from pid [0-9]+: request without its four descriptors$'
	assert_line --regexp '^sink-filterd: refused a request from pid [0-9]+: not a sink-filter/1 request$'
	assert_line --regexp '^sink-filterd: refused a request from pid [0-9]+: request too large$'
	refute_output --partial "died"
	# and a real client is served as before
	make_msg "$M/m.eml" to=x@accept.sink.test
	run client --server "$SOCK" --json <"$M/m.eml"
	assert_success
	[ "${#lines[@]}" -eq 1 ]
	[ "$(local_runs)" -eq 0 ]
	assert_counted 1
}

@test "a fourth descriptor that is not a directory: refused with that reason, logged in the server's log and not on the client's stderr, even a closed pipe" {
	nlog=$(wc -l <"$SRV_LOG")
	run "$PY" - "$SOCK" "$M" <<'EOF2'
import array, os, socket, sys
path, m = sys.argv[1:3]

def ask(fds):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(path)
    req = b"".join(x.encode() + b"\0" for x in ["sink-filter/1", "0022", "2", "0", "sink-filter", "--version"])
    s.sendmsg([req], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
    s.settimeout(5)
    print(s.recv(1000).decode())
    s.close()

null = os.open("/dev/null", os.O_RDWR)
out = os.open(m + "/out", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
err = os.open(m + "/err", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
notdir = os.open(m + "/file", os.O_RDONLY | os.O_CREAT, 0o644)
ask([null, out, err, notdir])
r, w = os.pipe()
os.close(r)  # stderr a pipe nobody reads: a write there fails
ask([null, out, w, notdir])
EOF2
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	assert_line --index 0 "refused the server cannot take the client's descriptors or directory: Not a directory"
	assert_line --index 1 "refused the server cannot take the client's descriptors or directory: Not a directory"
	[ ! -s "$M/out" ]
	run cat "$M/err"
	assert_output ""
	run srv_log_since "$nlog"
	echo "$output"
	[ "$(grep -cx "sink-filterd: cannot take the client's descriptors or directory: Not a directory" <<<"$output")" -eq 2 ]
	# the child's own 0-2 are back: the next message through it is served as usual
	make_msg "$M/m.eml" to=x@accept.sink.test
	run client --server "$SOCK" --json <"$M/m.eml"
	assert_success
	[ "${#lines[@]}" -eq 1 ]
	[ "$(local_runs)" -eq 0 ]
	assert_counted 1
}

@test "a client in a folder the server may not search (a group only the client has) is refused for its groups, logged by the server, not on the client's stderr" {
	PUB=$(mktemp -d /tmp/sink-server-bats.XXXXXX)
	chmod 777 "$PUB"
	install -d -m 710 -o 0 -g 4242 "$PUB/g4242"
	# the server without group 4242, its client with it: the same uid and gid, but not the same groups (before
	# the groups were compared, the client was taken, and its folder could not be entered)
	UNDER=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	serve "$PUB/s.sock" -j 1 --spare 1
	# shellcheck disable=SC2016 # the inner bash expands them
	run setpriv --reuid=65534 --regid=65534 --groups=4242 bash -c 'cd "$1" && exec "$2" --server "$3" --version 2>"$4"' \
		_ "$PUB/g4242" "$SINK_FILTER" "$PUB/s.sock" "$PUB/err"
	echo "$output"
	assert_success
	assert_output --regexp '^sink-filter [0-9.]+$'
	run cat "$PUB/err"
	assert_output "sink-filter: server $PUB/s.sock refused the message: the client's supplementary groups are not the server's; running it here"
	grep -qx "sink-filterd: refused a client with uid 65534 gid 65534 and 1 supplementary group(s) other than the server's: it runs the message itself, with its own" "$S_LOG"
}

# ---- 17. what the server's parent leaves it ---------------------------------------------------------------

# IGNORING: a command that execs its arguments with SIGCHLD, SIGTERM, SIGINT and SIGHUP ignored, as some
# supervisors and language runtimes start their children (an ignored signal stays ignored across execve)
# shellcheck disable=SC2016 # perl's variables
IGNORING=(perl -e '$SIG{$_} = "IGNORE" for qw(CHLD TERM INT HUP); exec { $ARGV[0] } @ARGV or die "exec $ARGV[0]: $!\n"')

# ignores_all PID: PID ignores SIGCHLD (17), SIGTERM (15), SIGINT (2) and SIGHUP (1)
ignores_all() {
	local mask
	mask=$(awk '/^SigIgn:/ { print $2 }' "/proc/$1/status")
	(((0x$mask & 0x14003) == 0x14003))
}

@test "a server started with SIGCHLD, SIGTERM, SIGINT and SIGHUP ignored replaces each child (-j 1 --runs-per-child 1) and stops on SIGTERM" {
	"${IGNORING[@]}" sleep 10 3>&- &
	wait_for 2 ignores_all $!	# IGNORING does what it says
	kill -KILL $!	# (SIGTERM it ignores)
	wait $! || true
	UNDER=("${IGNORING[@]}")
	serve "$M/s.sock" -j 1 --spare 1 --runs-per-child 1
	make_msg "$M/m.eml" to=x@accept.sink.test
	for i in 1 2 3; do
		st=0
		LIMIT=5 timed "$SINK_FILTER" -c "$SINK_INI" --server "$M/s.sock" <"$M/m.eml" >"$M/out" 2>"$M/err" || st=$?
		echo "message $i: exit $st after $(took_ms) ms: $(cat "$M/err")"
		[ "$st" -eq 0 ]
		[ ! -s "$M/err" ]	# served ("running the message here" otherwise)
	done
	assert_counted 3
	wait_for 2 children_are "$S_PID" 1
	kill -TERM "$S_PID"
	wait_for 2 gone "$S_PID"
	st=0
	wait "$S_PID" || st=$?
	[ "$st" -eq 0 ]
	[ "$(tail -n 1 "$S_LOG")" = "sink-filterd: stopped" ]
}

@test "a server started with SIGCHLD ignored serves 5000 messages (1000 with sanitizers), two at a time, with --runs-per-child 10: each counted once, none run by its client" {
	UNDER=("${IGNORING[@]}")
	serve "$M/s.sock" -j 2 --spare 2 --runs-per-child 10
	make_msg "$M/m.eml" to=x@accept.sink.test
	# against a sanitizer build (t/sanitize.env) a client's start costs ten times as much: 1000 messages, still
	# 100 children used up and replaced
	N=5000
	[[ -z ${SINK_SANITIZED:-} ]] || N=1000
	# the fastest client path: a C driver that posix_spawns sink-filter, two at a time. Its output to
	# files, not to run's pipe: a client stuck in the backlog has handed its descriptors over, and the server
	# holds them until it dies
	st=0
	BENCH_STDERR=1 LIMIT=60 timed "$SINK_BUILD/t/bench/bench-driver" -n $N -p 2 -s -i "$M/m.eml" -- \
		"$SINK_FILTER" -c "$SINK_INI" --server "$M/s.sock" >"$M/out" 2>"$M/err" || st=$?
	echo "$N messages: $(took_ms) ms" >&3
	cat "$M/out" "$M/err"
	# (on a failure, what the server and its children said: a client that met a closed connection without an
	# answer, once in tens of thousands of messages in CI, left nothing else to go on)
	sed 's/^/server: /' "$S_LOG"
	[ "$st" -eq 0 ]
	grep -q ' fails=0$' "$M/out"
	[ ! -s "$M/err" ]	# not one client said a word ("running the message here")
	assert_counted $N
	[ "$(counter accept)" -eq $N ]
	assert_whole_log $N
	run cat "$S_LOG"
	refute_output --partial "died"
	refute_output --partial "refused"
	[ "$(pgrep -c -P "$S_PID")" -le 2 ]
	kill -TERM "$S_PID"
	wait_for 2 gone "$S_PID"
}

@test "descriptors the server inherits (a pipe's write end, a file, bats' own fd 3) are closed at start: the pipe's reader sees EOF, and no child holds them" {
	mkfifo "$M/fifo"
	(exec cat "$M/fifo" >/dev/null) 3>&- &
	reader=$!
	echo "$reader" >>"$M/.servers"
	"$SINK_FILTERD" -s "$M/s.sock" -j 2 --spare 2 </dev/null >/dev/null 2>"$M/s.log" 5>"$M/fifo" 7>"$M/held" &
	S_PID=$!
	echo "$S_PID" >>"$M/.servers"
	wait_for 10 grep -q "listening on $M/s.sock" "$M/s.log"
	wait_for 5 children_are "$S_PID" 2
	make_msg "$M/m.eml" to=x@accept.sink.test
	run client --server "$M/s.sock" <"$M/m.eml"
	assert_success
	assert_output ""
	[ "$(local_runs)" -eq 0 ]
	wait_for 2 gone "$reader"	# EOF: no process of the server's holds the pipe
	fd3=$(readlink "/proc/$BASHPID/fd/3")
	for p in "$S_PID" $(pgrep -P "$S_PID"); do
		run ls -l "/proc/$p/fd"
		echo "pid $p: $output"
		refute_output --partial "$M/held"
		refute_output --partial "$M/fifo"
		refute_output --partial " -> $fd3"
	done
}
