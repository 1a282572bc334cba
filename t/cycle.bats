#!/usr/bin/env bats
# cycle.bats - sink-cycle end to end on a copy of a PMTA config: only the value of the
# dummy-smtp-blacklist-bounce-percent line changes (cmp against the expected bytes), the reload command
# runs, a failing reload is an error that puts the old value back (and keeps what others changed meanwhile),
# a run killed before its reload leaves it owed to the next run, runs go one at a time, a config without the
# line is a clear error, and --dry-run changes nothing.
# Run inside the mini internet (it needs no server): t/netns-run bats t/cycle.bats

load lib/common
load lib/sink

setup() {
	PMTA=$BATS_TEST_TMPDIR/pmta/config
	RELOADED=$BATS_TEST_TMPDIR/reloaded
	mkdir -p "$BATS_TEST_TMPDIR/pmta"
	write_pmta_config "$PMTA"
	chmod 640 "$PMTA"
	cycle_config
}

# cycle_config [Key=Value ...]: a sink config for sink-cycle; today's bounce percent is 37 whatever the day.
cycle_config() {
	sink_config Weekly_Cycle_Bounce_Rate=37,37,37,37,37,37,37 PMTA_Config="$PMTA" \
		PMTA_Reload_Command="touch $RELOADED" "$@"
}

cycle() {
	"$SINK_CYCLE" -c "$SINK_INI" "$@"
}

# A PMTA config in the shape operators keep: comments, tabs, a trailing comment on our line, blocks.
write_pmta_config() {
	printf '%s\n' \
		'# PowerMTA config for a test sink' \
		'postmaster postmaster@sink.example.net' \
		'smtp-listener 192.0.2.10:25' \
		'' \
		'dummy-smtp-ip 192.0.2.11' \
		'dummy-smtp-port 25' \
		'dummy-smtp-blacklist /etc/pmta/blacklist.dat' \
		'dummy-smtp-blacklist-bounce-method random' \
		'#dummy-smtp-blacklist-bounce-percent 99' \
		$'dummy-smtp-blacklist-bounce-percent 4\t\t\t# set hourly by sink-cycle' \
		'<source 0/0>' \
		$'\tadd-received-header yes   # trailing spaces follow   ' \
		'</source>' \
		'<domain [*.]sink.example.net>' \
		'    type pipe' \
		'    command "/usr/local/bin/sink-filter --from \"$from\" --to \"$to\""' \
		'</domain>' >"$1"
	printf '# no newline at the end' >>"$1"
}

# expected FILE VALUE: FILE with the value of the uncommented directive line replaced, as sed sees it.
expected() {
	sed -E "s/^(dummy-smtp-blacklist-bounce-percent )[0-9.]+(\t)/\1$2\2/" "$1"
}

@test "the original's obsolete keys give cron nothing on stderr; sink-filter -n is where they are warned of" {
	cycle_config Max_Threads=32 Gather_Timeout=60
	cycle >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err"
	grep -q 'dummy-smtp-blacklist-bounce-percent' "$BATS_TEST_TMPDIR/out"
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
	run "$SINK_FILTER" -n -c "$SINK_INI"
	assert_success
	assert_output --partial "Max_Threads no longer means anything"
	assert_output --partial "Gather_Timeout no longer means anything"
}

@test "only the value on the bounce-percent line changes, byte for byte, and PMTA is reloaded" {
	cp -p "$PMTA" "$BATS_TEST_TMPDIR/orig"
	expected "$PMTA" 37 >"$BATS_TEST_TMPDIR/want"
	run cmp -s "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/orig"
	[ "$status" -ne 0 ]	# the fixture really changes
	[ ! -e "$RELOADED" ]
	run cycle
	assert_success
	assert_line --partial "$PMTA: dummy-smtp-blacklist-bounce-percent 4 -> 37 (Weekly_Cycle_Bounce_Rate item"
	assert_line "sink-cycle: ran \"touch $RELOADED\""
	cmp "$BATS_TEST_TMPDIR/want" "$PMTA"
	[ "$(diff "$BATS_TEST_TMPDIR/orig" "$PMTA" | grep -c '^[<>]')" -eq 2 ]
	[ -e "$RELOADED" ]
	[ "$(stat -c %a "$PMTA")" = 640 ]
	[ "$(ls -A "$BATS_TEST_TMPDIR/pmta")" = config ]	# no temporary file left
}

@test "a file that already has today's value is not rewritten and PMTA is not reloaded" {
	run cycle
	assert_success
	rm "$RELOADED"
	cp -p "$PMTA" "$BATS_TEST_TMPDIR/after-first"
	inode=$(stat -c %i "$PMTA")
	run cycle
	assert_success
	assert_output --partial "dummy-smtp-blacklist-bounce-percent is already 37"
	assert_output --partial "unchanged, no reload"
	[ ! -e "$RELOADED" ]
	cmp "$BATS_TEST_TMPDIR/after-first" "$PMTA"
	[ "$(stat -c %i "$PMTA")" = "$inode" ]
}

@test "--dry-run prints the new line only and changes nothing" {
	cp -p "$PMTA" "$BATS_TEST_TMPDIR/orig"
	out=$(cycle --dry-run 2>"$BATS_TEST_TMPDIR/err")
	[ "$out" = $'dummy-smtp-blacklist-bounce-percent 37\t\t\t# set hourly by sink-cycle' ]
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
	cmp "$BATS_TEST_TMPDIR/orig" "$PMTA"
	[ "$(stat -c %Y "$BATS_TEST_TMPDIR/orig")" = "$(stat -c %Y "$PMTA")" ]
	[ ! -e "$RELOADED" ]
}

@test "a failing reload command: non-zero exit, a clear message, and the old value put back" {
	cp -p "$PMTA" "$BATS_TEST_TMPDIR/orig"
	cycle_config PMTA_Reload_Command="sh -c 'echo pmta: syntax error in config >&2; exit 2'"
	run cycle
	[ "$status" -eq 75 ]
	assert_output --partial "reload command \"sh -c 'echo pmta: syntax error in config >&2; exit 2'\" failed: exit status 2: pmta: syntax error in config"
	assert_output --partial "put the old value back (dummy-smtp-blacklist-bounce-percent 4)"
	cmp "$BATS_TEST_TMPDIR/orig" "$PMTA"
	# so the next run, with a working reload, tries again
	cycle_config
	run cycle
	assert_success
	[ -e "$RELOADED" ]
}

@test "a failing reload after someone else changed the file meanwhile: only the value goes back, their change stays" {
	cycle_config PMTA_Reload_Command="sh -c 'echo smtp-listener 192.0.2.12:25 >>$PMTA; exit 1'"
	run cycle
	echo "$output"
	[ "$status" -eq 75 ]
	assert_output --partial "put the old value back (dummy-smtp-blacklist-bounce-percent 4)"
	grep -q $'^dummy-smtp-blacklist-bounce-percent 4\t' "$PMTA"
	grep -q 'smtp-listener 192.0.2.12:25$' "$PMTA"	# (after the last line, which has no line end)
	[ -z "$(ls -A "${PMTA%/*}" | grep -v '^config$')" ]	# nothing owed, no temporary left
}

@test "a run killed after writing the file, before PMTA reloaded: the next run reloads though the value is there, then no more" {
	# the reload command kills sink-cycle (its parent's parent: sh, then sink-cycle) before doing anything
	cycle_config PMTA_Reload_Command="sh -c 'kill -KILL \$PPID'"
	run cycle
	[ "$status" -eq 137 ]
	grep -q $'^dummy-smtp-blacklist-bounce-percent 37\t' "$PMTA"
	[ -e "${PMTA%/*}/.config.sink-cycle-reload-pending" ]
	cycle_config
	run cycle
	assert_success
	assert_output --partial "is already 37"
	assert_output --partial "but an earlier run ended before it reloaded PMTA: reloading"
	[ -e "$RELOADED" ]
	[ ! -e "${PMTA%/*}/.config.sink-cycle-reload-pending" ]
	rm "$RELOADED"
	run cycle
	assert_success
	assert_output --partial "unchanged, no reload"
	[ ! -e "$RELOADED" ]
}

@test "two runs at once go one after the other: the second waits for the first's failed reload and put-back, then does its own" {
	cycle_config PMTA_Reload_Command="sh -c 'while [ ! -e $BATS_TEST_TMPDIR/go ]; do sleep 0.05; done; exit 1'"
	cp "$SINK_INI" "$BATS_TEST_TMPDIR/failing.ini"
	cycle_config
	"$SINK_CYCLE" -c "$BATS_TEST_TMPDIR/failing.ini" >"$BATS_TEST_TMPDIR/first" 2>&1 &
	first=$!
	# the first has written 37 (holding the lock) and waits in its reload for the go
	wait_for 10 grep -q $'^dummy-smtp-blacklist-bounce-percent 37\t' "$PMTA"
	cycle >"$BATS_TEST_TMPDIR/second" 2>&1 &
	second=$!
	sleep 0.5
	[ ! -s "$BATS_TEST_TMPDIR/second" ]	# waiting for the lock, not reading 37 as done
	touch "$BATS_TEST_TMPDIR/go"
	st=0
	wait "$first" || st=$?
	cat "$BATS_TEST_TMPDIR/first"
	[ "$st" -eq 75 ]
	grep -q "put the old value back (dummy-smtp-blacklist-bounce-percent 4)" "$BATS_TEST_TMPDIR/first"
	wait "$second"
	cat "$BATS_TEST_TMPDIR/second"
	grep -q "dummy-smtp-blacklist-bounce-percent 4 -> 37" "$BATS_TEST_TMPDIR/second"
	[ -e "$RELOADED" ]
	grep -q $'^dummy-smtp-blacklist-bounce-percent 37\t' "$PMTA"
}

@test "a reload owed stays owed through a failed reload whose put-back leaves PMTA's value unknown, and the next run reloads" {
	owed=${PMTA%/*}/.config.sink-cycle-reload-pending
	# (1) the put-back cannot be done: the line had no value, and the file changed meanwhile
	sed -i 's/^dummy-smtp-blacklist-bounce-percent 4\t/dummy-smtp-blacklist-bounce-percent\t/' "$PMTA"
	cycle_config PMTA_Reload_Command="sh -c 'echo >>$PMTA; exit 1'"
	run cycle
	echo "$output"
	[ "$status" -eq 75 ]
	assert_output --partial "had no value before: left as it is"
	[ -e "$owed" ]
	cycle_config
	run cycle
	assert_success
	assert_output --partial "but an earlier run ended before it reloaded PMTA: reloading"
	[ -e "$RELOADED" ] && rm "$RELOADED"
	[ ! -e "$owed" ]
	# (2) owed by an earlier run, then a new value whose reload fails: the file goes back, the reload stays owed
	touch "$owed"
	cycle_config Weekly_Cycle_Bounce_Rate=5,5,5,5,5,5,5 PMTA_Reload_Command="false"
	run cycle
	[ "$status" -eq 75 ]
	assert_output --partial "put the old value back (dummy-smtp-blacklist-bounce-percent 37)"
	[ -e "$owed" ]
	cycle_config
	run cycle
	assert_success
	assert_output --partial "is already 37"
	assert_output --partial "reloading"
	[ -e "$RELOADED" ]
	[ ! -e "$owed" ]
}

@test "started with SIGCHLD ignored (as some schedulers leave it), a reload that works is a success, not a timeout" {
	SINK_CYCLE_TEST_RELOAD_TIMEOUT=3 run perl -e '$SIG{CHLD} = "IGNORE"; exec @ARGV or die' -- "$SINK_CYCLE" -c "$SINK_INI"
	assert_success
	[ -e "$RELOADED" ]
	grep -q $'^dummy-smtp-blacklist-bounce-percent 37\t' "$PMTA"
}

@test "not run as root: the new file keeps the old one's group, and the owner it could not keep is said" {
	local d
	d=$(mktemp -d /tmp/sink-cycle.XXXXXX)
	chmod 0777 "$d"
	write_pmta_config "$d/config"
	chown 0:1 "$d/config"	# root, group daemon
	chmod 0664 "$d/config"
	cycle_config PMTA_Config="$d/config" PMTA_Reload_Command="touch $d/reloaded"
	chmod 0644 "$SINK_INI"
	cp "$SINK_INI" "$d/sink.ini"
	run setpriv --reuid=65534 --regid=65534 --groups=1 "$SINK_CYCLE" -c "$d/sink.ini"
	stat -c '%u:%g %a' "$d/config"
	owner=$(stat -c '%u:%g %a' "$d/config")
	reloaded=$([ -e "$d/reloaded" ] && echo yes || true)
	rm -rf "$d"
	echo "$output"
	assert_success
	[ "$owner" = "65534:1 664" ]
	assert_output --partial "$d/config: its owner and group were 0:1, now 65534:1 (run as root to keep them)"
	[ "$reloaded" = yes ]
}

@test "a reload command that leaves a process holding its output still returns, within seconds, as a success" {
	# the background sleep keeps the command's stdout and stderr open; sink-cycle used to wait for their EOF
	cycle_config PMTA_Reload_Command="sh -c 'echo reloading; sleep 1000 & echo \$! >$BATS_TEST_TMPDIR/bg.pid'"
	start=$SECONDS
	run timeout 30 "$SINK_CYCLE" -c "$SINK_INI"
	elapsed=$((SECONDS - start))
	bg=$(cat "$BATS_TEST_TMPDIR/bg.pid")
	kill "$bg" 2>/dev/null || true	# ours, by its id: a reload that succeeded is not sink-cycle's to kill
	assert_success
	assert_line --partial "sink-cycle: ran \"sh -c 'echo reloading; sleep 1000 &"
	assert_output --partial ": reloading"
	[ "$elapsed" -le 10 ]
	grep -q $'^dummy-smtp-blacklist-bounce-percent 37\t' "$PMTA"
}

@test "a reload command that hangs is killed with all its processes at the deadline, and the old value put back" {
	cp -p "$PMTA" "$BATS_TEST_TMPDIR/orig"
	cycle_config PMTA_Reload_Command="sh -c 'sleep 1000 & echo \$! >$BATS_TEST_TMPDIR/bg.pid; echo stuck; sleep 1000'"
	start=$SECONDS
	SINK_CYCLE_TEST_RELOAD_TIMEOUT=2 run timeout 30 "$SINK_CYCLE" -c "$SINK_INI"
	elapsed=$((SECONDS - start))
	bg=$(cat "$BATS_TEST_TMPDIR/bg.pid")
	gone "$bg" || { kill "$bg"; false; }	# the background sleep went with its process group
	[ "$status" -eq 75 ]
	assert_output --partial "reload command \"sh -c 'sleep 1000 &"
	assert_output --partial "failed: timed out after 2 s"
	assert_output --partial "stuck"
	assert_output --partial "put the old value back (dummy-smtp-blacklist-bounce-percent 4)"
	[ "$elapsed" -le 10 ]
	cmp "$BATS_TEST_TMPDIR/orig" "$PMTA"
	# killed, the command may have reloaded PMTA: the next run reloads whatever the file holds, even unchanged
	[ -e "${PMTA%/*}/.config.sink-cycle-reload-pending" ]
	cycle_config Weekly_Cycle_Bounce_Rate=4,4,4,4,4,4,4
	run cycle
	assert_success
	assert_output --partial "is already 4"
	assert_output --partial "reloading"
	[ -e "$RELOADED" ]
}

@test "a reload command that cannot start is a failure too (75), not run through a shell" {
	cycle_config PMTA_Reload_Command="/nonexistent/pmta reload"
	run cycle
	[ "$status" -eq 75 ]
	assert_output --partial "did not start"
	# shell syntax is not interpreted: "touch A; touch B" touches three files named A;, touch and B
	# (run from the test's folder: the middle "touch" is a file made in the current folder)
	cycle_config PMTA_Reload_Command="touch $BATS_TEST_TMPDIR/a; touch $BATS_TEST_TMPDIR/b"
	cd "$BATS_TEST_TMPDIR"
	run cycle
	assert_success
	[ -e "$BATS_TEST_TMPDIR/a;" ]
	[ -e "$BATS_TEST_TMPDIR/touch" ]
	[ -e "$BATS_TEST_TMPDIR/b" ]
	[ ! -e "$BATS_TEST_TMPDIR/a" ]
}

@test "a PMTA config without the line is a clear error naming the file; nothing changes" {
	grep -v '^dummy-smtp-blacklist-bounce-percent' "$PMTA" >"$BATS_TEST_TMPDIR/noline"
	cp "$BATS_TEST_TMPDIR/noline" "$PMTA"
	run cycle
	[ "$status" -eq 78 ]
	assert_output --partial "$PMTA: no \"dummy-smtp-blacklist-bounce-percent\" line"
	cmp "$BATS_TEST_TMPDIR/noline" "$PMTA"
	[ ! -e "$RELOADED" ]
	run cycle --dry-run
	[ "$status" -eq 78 ]
}

@test "a missing PMTA config is an error naming it (66)" {
	cycle_config PMTA_Config="$BATS_TEST_TMPDIR/nowhere/config"
	run cycle
	[ "$status" -eq 66 ]
	assert_output --partial "$BATS_TEST_TMPDIR/nowhere/config"
	[ ! -e "$RELOADED" ]
}

@test "an empty PMTA_Config is a config error naming the key (78), here and in sink-filter -n, not a crash" {
	sink_config Weekly_Cycle_Bounce_Rate=37,37,37,37,37,37,37 PMTA_Config= PMTA_Reload_Command="touch $RELOADED"
	run cycle --dry-run
	[ "$status" -eq 78 ]
	assert_output --partial 'PMTA_Config = "": must not be empty'
	run "$SINK_FILTER" -n -c "$SINK_INI"
	[ "$status" -eq 78 ]
	assert_output --partial 'PMTA_Config = "": must not be empty'
	[ ! -e "$RELOADED" ]
}

@test "CRLF line endings and an indented line keep their bytes" {
	printf 'a 1\r\n  dummy-smtp-blacklist-bounce-percent\t2.5 # x\r\nb 2\r\n' >"$PMTA"
	run cycle
	assert_success
	printf 'a 1\r\n  dummy-smtp-blacklist-bounce-percent\t37 # x\r\nb 2\r\n' >"$BATS_TEST_TMPDIR/want"
	cmp "$BATS_TEST_TMPDIR/want" "$PMTA"
}

@test "a symbolic link to the PMTA config stays a link; its target gets the value" {
	mv "$PMTA" "$BATS_TEST_TMPDIR/pmta/config.real"
	ln -s config.real "$PMTA"
	run cycle
	assert_success
	[ -L "$PMTA" ]
	[ "$(readlink "$PMTA")" = config.real ]
	grep -q $'^dummy-smtp-blacklist-bounce-percent 37\t' "$BATS_TEST_TMPDIR/pmta/config.real"
}

@test "today's value is picked by ISO weekday and ISO week number, UTC" {
	cycle_config Weekly_Cycle_Bounce_Rate=1,2,3,4,5,6,7,8,9,10,11,12,13,14
	want() {
		"$PY" -c 'import datetime as d; t = d.datetime.now(d.timezone.utc).isocalendar(); print((t[2] - 1) + 7 * (t[1] % 2) + 1)'
	}
	before=$(want)
	out=$(cycle --dry-run)
	after=$(want)
	[ "$out" = "dummy-smtp-blacklist-bounce-percent $before"$'\t\t\t# set hourly by sink-cycle' ] ||
		[ "$out" = "dummy-smtp-blacklist-bounce-percent $after"$'\t\t\t# set hourly by sink-cycle' ]
}

@test "bad command lines are usage errors (64); a broken sink config is 78" {
	run cycle --no-such-option
	[ "$status" -eq 64 ]
	assert_output --partial "usage: sink-cycle"
	run cycle extra
	[ "$status" -eq 64 ]
	cycle_config Weekly_Cycle_Bounce_Rate=1,2,3
	run cycle
	[ "$status" -eq 78 ]
	assert_output --partial "Weekly_Cycle_Bounce_Rate"
}
