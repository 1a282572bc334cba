#!/usr/bin/env bats
# static.bats - sink-filter-static, the core and the DKIM module in one static program, which sink-filter
# execs to run a message in its own process: it maps no shared object and execs nothing for an accepted
# message; it decides as sink-filter-local (the dynamic program) does, record for record; a message that needs
# the action module it hands on whole to sink-filter-local, which makes the same decision and does the rest,
# counted and logged once; and when sink-filter-local cannot be run, that message is deferred (75) with nothing
# done.  Only where the build has it (a musl sink-filter and Debian's static archives: meson option
# static_runner); t/tree.bats checks that a build that could have it does.

load lib/common
load lib/sink
load lib/checks

STATIC=$SINK_BUILD/bin/sink-filter-static
LOCAL=$SINK_BUILD/bin/sink-filter-local
OPEN_HALF=(DKIM_Check=off Upstream_Handled=0 OOB_percent=0 FBL_percent=0 Open_percent=50 Open_Again_percent=0
	Click_percent=0 Click_Again_percent=0 Weekly_Cycle_Open_Rate=1,1,1,1,1,1,1 Signals_Traffic_Prefix=
	Tracking_Domains_Allowlist=track.test)

setup() {
	[[ -x $STATIC ]] || skip "this build has no sink-filter-static (meson option static_runner)"
	reset_servers
	sink_config
	M=$BATS_TEST_TMPDIR
}

# execs TRACE: the programs a strace -f of one run exec'd, by name, in order
execs() {
	sed -n 's/.*execve("[^"]*\/\([^/"]*\)".* = 0$/\1/p' "$1" | paste -sd' '
}

@test "an accepted message runs in sink-filter-static: no dynamic loader, no shared object opened, nothing more exec'd" {
	run readelf -l "$STATIC"
	refute_output --partial 'program interpreter'
	make_msg "$M/raw" to=x@accept.sink.test
	sign_msg "$M/raw" "$M/m.eml"
	run traced -f -qq -e trace=execve,openat -e signal=none -o "$M/trace" -- "$SINK_FILTER" -c "$SINK_INI" --json <"$M/m.eml"
	assert_success
	jq -e '.class == "accept" and .dkim == "pass" and .errors == []' <<<"$output"
	assert_equal "$(execs "$M/trace")" "sink-filter sink-filter-static"
	run grep -E 'openat\(.*\.so(\.[0-9]+)*"' "$M/trace"
	assert_output ""
	assert_counted 1
	assert_whole_log 1
}

@test "a message that needs the action module is handed on to sink-filter-local, decided once: the same class, counted and logged once" {
	sink_config "${OPEN_HALF[@]}"
	make_msg "$M/m.eml" to=x@mix.sink.test html="$(pixels 1)"
	local i handed=0 kept=0 class
	for i in $(seq 30); do
		traced -f -qq -e trace=execve -e signal=none -o "$M/trace.$i" -- "$SINK_FILTER" -c "$SINK_INI" --json \
			<"$M/m.eml" >"$M/rec.$i"
		class=$(jq -r .class "$M/rec.$i")
		# unseeded: had sink-filter-local drawn again, about half of those handed on would come out accepted
		case "$(execs "$M/trace.$i")" in
		"sink-filter sink-filter-static sink-filter-local")
			assert_equal "$class" openclick
			handed=$((handed + 1)) ;;
		"sink-filter sink-filter-static")
			assert_equal "$class" accept
			kept=$((kept + 1)) ;;
		*) fail "run $i exec'd: $(execs "$M/trace.$i")" ;;
		esac
	done
	echo "handed on $handed, kept $kept"
	((handed > 0 && kept > 0))
	assert_counted 30
	assert_equal "$(counter open)" "$handed"
	assert_equal "$(counter accept)" "$kept"
	assert_whole_log 30
	assert_equal "$(http_requests | jq -r .path | grep -c '^/q/p1$')" "$handed"
}

@test "sink-filter-static and sink-filter-local make the same record of each message (same seed and clock)" {
	sink_config Tracking_Domains_Allowlist=track.test Max_Message_Size=200000
	make_msg "$M/raw" to=x@accept.sink.test subject='=?windows-1252?Q?Caf=E9_=96_cr=E8me?=' html="$(links 3)"
	sign_msg "$M/raw" "$M/accept.eml"
	{ cat "$M/accept.eml"; echo "a line added on the way"; } >"$M/tampered.eml"
	make_msg "$M/unsigned.eml" to=x@accept.sink.test
	make_msg "$M/raw" to=x@openclick.sink.test html="$(pixels 2)$(links 2)"
	sign_msg "$M/raw" "$M/open.eml"
	head -c 300000 /dev/zero | tr '\0' x >"$M/big.html"
	make_msg "$M/raw" to=x@accept.sink.test subject='=?iso-2022-jp?B?GyRCJEgkYiRKGyhC?=' html="$M/big.html"
	sign_msg "$M/raw" "$M/big.eml"
	printf 'no header here\n' >"$M/junk.eml"
	: >"$M/empty.eml"
	local m
	# (open is handed on: its static record is sink-filter-local's, given the seed, clock and time left)
	for m in accept tampered unsigned open big junk empty; do
		SINK_NOW=2026-11-25T23:59:59.250Z "$STATIC" --no-server -c "$SINK_INI" --dry-run --json --seed 7 \
			<"$M/$m.eml" >"$M/$m.static"
		SINK_NOW=2026-11-25T23:59:59.250Z "$LOCAL" --no-server -c "$SINK_INI" --dry-run --json --seed 7 \
			<"$M/$m.eml" >"$M/$m.local"
		jq -c '{class, dkim, errors}' "$M/$m.static"
		diff <(jq -S 'del(.actions[]?.seconds)' "$M/$m.static") <(jq -S 'del(.actions[]?.seconds)' "$M/$m.local")
	done
	jq -e '.class == "accept" and .dkim == "pass"' "$M/accept.static"
	jq -e '.dkim == "bodyhash"' "$M/tampered.static"
	jq -e '.class == "openclick" and (.actions | length) > 0' "$M/open.static"
	jq -e '.errors | any(test("Max_Message_Size"))' "$M/big.static"
}

@test "without a sink-filter-local to run it, a message that needs the action module is deferred (75): nothing sent, fetched or counted, the log says why" {
	sink_config "${OPEN_HALF[@]}" Open_percent=100
	installed=$(sed -n 's/^#define SINK_LIBEXECDIR "\(.*\)"$/\1/p' "$SINK_BUILD/sink-build.h")/sink-filter-local
	[ ! -e "$installed" ] || fail "this machine has a $installed: the case cannot be tested here"
	mkdir "$M/alone"
	cp "$STATIC" "$M/alone/"
	make_msg "$M/m.eml" to=x@mix.sink.test html="$(pixels 1)"
	run "$M/alone/sink-filter-static" --no-server -c "$SINK_INI" <"$M/m.eml"
	assert_equal "$status" 75
	assert_output --partial "openclick needs the action module, and sink-filter-local cannot run it: $installed: No such file or directory; deferred, nothing done"
	assert_counted 0
	assert_equal "$(http_requests | wc -l)" 0
	assert_whole_log 1
	grep -q 'deferred, nothing done' <(log_lines)
	# one there that may not be run is named
	: >"$M/alone/sink-filter-local"
	chmod 644 "$M/alone/sink-filter-local"
	run "$M/alone/sink-filter-static" --no-server -c "$SINK_INI" <"$M/m.eml"
	assert_equal "$status" 75
	assert_output --partial "cannot run it: $M/alone/sink-filter-local: Permission denied; deferred"
	assert_counted 0
}

@test "what a handed-on run is given: --draw-seed seeds the decision alone (later draws stay unseeded), --time-left bounds the run" {
	sink_config "${OPEN_HALF[@]}" Open_percent=100 Open_Delay=1s-100000s
	make_msg "$M/m.eml" to=x@mix.sink.test html="$(pixels 1)"
	local i
	for i in 1 2 3 4 5; do
		"$LOCAL" --no-server -c "$SINK_INI" --json --draw-seed 5 <"$M/m.eml" | jq -c '[.draw, .delayed[0].delay]'
	done >"$M/draw-seed"
	for i in 1 2 3 4 5; do
		"$LOCAL" --no-server -c "$SINK_INI" --json --seed 5 <"$M/m.eml" | jq -c '[.draw, .delayed[0].delay]'
	done >"$M/seed"
	cat "$M/draw-seed" "$M/seed"
	assert_equal "$(jq -r '.[0]' "$M/draw-seed" | sort -u | wc -l)" 1
	(($(jq -r '.[1]' "$M/draw-seed" | sort -u | wc -l) >= 4))
	assert_equal "$(sort -u "$M/seed" | wc -l)" 1
	assert_equal "$(counter jobs_scheduled)" 10
	# a fetch that would take 5 s of its Open_Click_Timeout ends with the 1 s the static run left
	sink_config "${OPEN_HALF[@]}" Open_percent=100 Open_Click_Timeout=10 Message_Timeout=30
	make_msg "$M/slow.eml" to=x@mix.sink.test html='<html><body><img src="http://track.test/slow/5000/q/p1"></body></html>'
	local t0=$EPOCHREALTIME
	run "$LOCAL" --no-server -c "$SINK_INI" --json --draw-seed 5 --time-left 1000 <"$M/slow.eml"
	local took=$(((${EPOCHREALTIME/./} - ${t0/./}) / 1000))
	echo "took $took ms"
	assert_success
	((took < 3000))
	jq -e '.class == "openclick"' <<<"$output"
}
