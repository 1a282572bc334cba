#!/usr/bin/env bats
# security.bats - what a stranger's message cannot make the sink do (issue 8, part 6): fetch from private,
# loopback, link-local or metadata addresses (by default), directly, through DNS or through a redirect; mail a
# report to a Return-Path whose MX is not allowlisted; act at all without a DKIM pass; leave its files open
# to others; write through a symbolic link planted in its folders; run a program.
#
# Besides the servers of t/netns-run, this file adds addresses to the namespace's loopback and runs
# t/servers/http_sink.py ("Server: msys-http", logging to $HTTP_LOG) on each, so that a fetch that got
# through would be seen:
#   10.0.0.80  172.16.0.80  192.168.0.80  100.64.0.80  169.254.169.254 (the cloud metadata address)
#   1.2.3.80   a public address: a tracking host that answers /redirect/... with a 302 to 127.0.0.81
# Run inside the mini internet: t/netns-run bats t/security.bats

load lib/common
load lib/sink
load lib/checks

EXTRA_ADDRS=(10.0.0.80 172.16.0.80 192.168.0.80 100.64.0.80 169.254.169.254 1.2.3.80)
OPEN_ONLY=(Upstream_Handled=0 OOB_percent=0 FBL_percent=0 Open_percent=50 Open_Again_percent=0 Click_percent=0
	Click_Again_percent=0)
OPEN_CLICK=(Upstream_Handled=0 OOB_percent=0 FBL_percent=0 Open_percent=50 Open_Again_percent=0 Click_percent=50
	Click_Again_percent=0)

setup_file() {
	local a
	for a in "${EXTRA_ADDRS[@]}"; do
		ip addr add "$a/32" dev lo
		"$PY" "$T_DIR/servers/http_sink.py" --listen "$a:80" --server-header msys-http --log "$HTTP_LOG" \
			</dev/null >/dev/null 2>&1 3>&- &
		echo $! >>"$BATS_FILE_TMPDIR/pids"
	done
	for a in "${EXTRA_ADDRS[@]}"; do
		wait_for 10 bash -c "(exec 3<>/dev/tcp/$a/80) 2>/dev/null"
	done
}

teardown_file() {
	local a
	local pids
	[[ -f $BATS_FILE_TMPDIR/pids ]] && mapfile -t pids <"$BATS_FILE_TMPDIR/pids" && kill "${pids[@]}" 2>/dev/null
	for a in "${EXTRA_ADDRS[@]}"; do
		ip addr del "$a/32" dev lo 2>/dev/null
	done
	return 0
}

setup() {
	reset_servers
	M=$BATS_TEST_TMPDIR
}

# signed OUT [make_msg key=value ...]: a message signed by sender.test
signed() {
	local out=$1
	shift
	make_msg "$out.unsigned" "$@"
	sign_msg "$out.unsigned" "$out"
}

# ---- fetches to where they must not go ---------------------------------------------------------------

# Pixels on private, shared, link-local, loopback and metadata addresses, written in several ways.
PRIVATE_PIXELS='<img src="http://10.0.0.80/q/ten">
<img src="http://172.16.0.80/q/oneseventwo">
<img src="http://192.168.0.80/q/oneninetwo">
<img src="http://100.64.0.80/q/shared">
<img src="http://169.254.169.254/latest/meta-data/iam/security-credentials/">
<img src="http://127.0.0.80/q/loopback">
<img src="http://2130706512/q/decimal">
<img src="http://0x7f000050/q/hex">
<img src="http://[::ffff:127.0.0.80]/q/mapped">
<img src="http://localhost/q/localhost">
<img src="http://[::1]/q/six">
<img src="http://private.test/q/dns">'

@test "control: with Fetch_Allow_Private=true the private servers of this test are reachable" {
	sink_config DKIM_Check=off "${OPEN_ONLY[@]}" Fetch_Allow_Private=true
	make_msg "$M/m.eml" to=x@openclick.sink.test html="$PRIVATE_PIXELS"
	run timed filter --json <"$M/m.eml"
	assert_success
	for a in 10.0.0.80 172.16.0.80 192.168.0.80 100.64.0.80 169.254.169.254 127.0.0.80; do
		[ "$(jq -r "select(.listen == \"$a:80\" and (.path | startswith(\"/f/a\") | not)) | .path" "$HTTP_LOG" | wc -l)" -ge 1 ] ||
			fail "no fetch reached $a"
	done
}

@test "by default no fetch or probe reaches a private, shared, link-local, loopback or metadata address" {
	sink_config DKIM_Check=off "${OPEN_ONLY[@]}" Fetch_Allow_Private=- Tracking_Domains_Allowlist=private.test
	make_msg "$M/m.eml" to=x@openclick.sink.test html="$PRIVATE_PIXELS"
	run timed filter --json <"$M/m.eml"
	assert_success
	run cat "$HTTP_LOG"
	assert_output ""
	log=$(last_record)
	# a probe per host (127.0.0.80 written in decimal or hex is the same host to curl), the fetch for the
	# allowlisted private.test; each refused before connecting, and logged as an error
	for want in \
		"probe http://10.0.0.80/f/a: refused: 10.0.0.80 is private (10.0.0.0/8)" \
		"probe http://172.16.0.80/f/a: refused: 172.16.0.80 is private (172.16.0.0/12)" \
		"probe http://192.168.0.80/f/a: refused: 192.168.0.80 is private (192.168.0.0/16)" \
		"probe http://100.64.0.80/f/a: refused: 100.64.0.80 is shared address space (100.64.0.0/10)" \
		"probe http://169.254.169.254/f/a: refused: 169.254.169.254 is link-local (169.254.0.0/16)" \
		"probe http://127.0.0.80/f/a: refused: 127.0.0.80 is loopback (127.0.0.0/8)" \
		"probe http://[::ffff:127.0.0.80]/f/a: refused: ::ffff:127.0.0.80 is loopback (127.0.0.0/8)" \
		"probe http://[::1]/f/a: refused: ::1 is loopback (::1)" \
		"probe http://localhost/f/a: refused: " \
		"!open http://private.test/q/dns: refused: 127.0.0.80 is loopback (127.0.0.0/8)"; do
		jq -e --arg w "$want" 'any(.[]; startswith("!") and contains($w))' <<<"$log" >/dev/null ||
			fail "not in the log: $want"
	done
	[ "$(counter open)" -eq 1 ]
	assert_whole_log 1
}

@test "a redirect from a public tracking host to a private address is refused at that hop, never fetched" {
	sink_config DKIM_Check=off "${OPEN_CLICK[@]}" Fetch_Allow_Private=- Tracking_Domains_Allowlist=1.2.3.80
	make_msg "$M/m.eml" to=x@openclick.sink.test \
		html='<img src="http://1.2.3.80/redirect/pixel"><a href="http://1.2.3.80/redirect/link">x</a>'
	run timed filter --json <"$M/m.eml"
	assert_success
	json_of "$output" | jq -e '[.actions[] | [.type, .status, .hops, .error]] ==
		[["open", 302, [{"url": "http://127.0.0.81/landed"}], "refused: 127.0.0.81 is loopback (127.0.0.0/8); Fetch_Allow_Private is off"],
		 ["click", 302, [{"url": "http://127.0.0.81/landed"}], "refused: 127.0.0.81 is loopback (127.0.0.0/8); Fetch_Allow_Private is off"]]'
	run jq -r '"\(.listen) \(.path)"' "$HTTP_LOG"
	assert_output $'1.2.3.80:80 /redirect/pixel\n1.2.3.80:80 /redirect/link'	# nothing on 127.0.0.81
	assert_whole_log 1
}

# ---- reports to strangers --------------------------------------------------------------------------------

@test "no bounce or complaint to a Return-Path whose MX is not allowlisted, even when signed by an allowlisted sender" {
	# stranger.test's MX is the SMTP sink of the mini internet: anything sent would arrive there
	sink_config Upstream_Handled=0 OOB_percent=100 FBL_percent=0 Open_percent=0 Open_Again_percent=0 \
		Click_percent=0 Click_Again_percent=0
	signed "$M/oob.eml" to=x@mix.sink.test return_path=b@stranger.test
	run timed filter --json <"$M/oob.eml"
	assert_success
	json_of "$output" | jq -e '.dkim == "pass" and .class == "oob" and .mx == "mx.stranger.test" and .actions == []'
	sink_config Upstream_Handled=0 OOB_percent=0 FBL_percent=100 Open_percent=0 Open_Again_percent=0 \
		Click_percent=0 Click_Again_percent=0
	signed "$M/fbl.eml" to=y@mix.sink.test return_path=b@stranger.test
	run timed filter --json <"$M/fbl.eml"
	assert_success
	json_of "$output" | jq -e '.class == "fbl" and .actions == [] and .fbl_address == null'
	[ "$(smtp_messages)" -eq 0 ]
	[ "$(counter oob_return_path_not_sparkpost)" -eq 1 ]
	[ "$(counter fbl_return_path_not_sparkpost)" -eq 1 ]
	log_records | jq -se '[.[] | [.[] | select(startswith("!"))]] == [
		["!OOB not sent: Return-Path domain stranger.test has MX mx.stranger.test, not an allowlisted MX"],
		["!FBL not sent: Return-Path domain stranger.test has MX mx.stranger.test, not an allowlisted MX"]]'
}

@test "without a DKIM pass nothing is done: no report, no probe, no fetch (oob., fbl., openclick.)" {
	sink_config "${OPEN_CLICK[@]}" Tracking_Domains_Allowlist=	# verify mode; every host would be probed
	for to in x@oob.sink.test x@fbl.sink.test x@openclick.sink.test; do
		make_msg "$M/m.eml" to=$to
		run timed filter --json --client-ip 192.0.2.10 <"$M/m.eml"
		assert_success
		json_of "$output" | jq -e '.dkim == "none" and .class == null and .actions == []'
	done
	# signed, then the body changed: the same
	signed "$M/s.eml" to=x@openclick.sink.test
	sed -i 's/Hello from the test sender/Hello from the fake sender/' "$M/s.eml"
	run timed filter --json <"$M/s.eml"
	assert_success
	json_of "$output" | jq -e '.dkim == "bodyhash" and .class == null and .actions == []'
	[ "$(smtp_messages)" -eq 0 ]
	run cat "$HTTP_LOG"
	assert_output ""
	[ "$(counter fail_dkim)" -eq 4 ]
	[ "$(counter total_messages)" -eq 4 ]
	for c in oob_sent fbl_sent open click oob_smtp_error fbl_smtp_error; do
		[ "$(counter $c)" -eq 0 ]
	done
	assert_whole_log 4
}

# ---- files -------------------------------------------------------------------------------------------

@test "a HELO that looks like an authorized IP is not the SPF client: the address PMTA saw is, and fails" {
	sink_config DKIM_Check=verify
	# PMTA writes "from HELO (IP)": the client said EHLO 192.0.2.10 (authorized) from 198.51.100.7 (not)
	make_msg "$BATS_TEST_TMPDIR/m.raw" to=x@fbl.sink.test from=news@sender.test return_path=bounces@sender.test \
		received_ip=198.51.100.7
	sed -i 's/^Received: from mta\.sender\.test (/Received: from 192.0.2.10 (/' "$BATS_TEST_TMPDIR/m.raw"
	grep -q '^Received: from 192.0.2.10 (198.51.100.7)' "$BATS_TEST_TMPDIR/m.raw"
	sign_msg "$BATS_TEST_TMPDIR/m.raw" "$BATS_TEST_TMPDIR/m.eml"
	run filter --json <"$BATS_TEST_TMPDIR/m.eml"
	assert_success
	[ "$(jq -r .client_ip <<<"$output")" = 198.51.100.7 ]
	[ "$(jq -r .spf <<<"$output")" = fail ]
	jq -e '.actions == []' <<<"$output"
	[ "$(smtp_messages)" -eq 0 ]
	# a HELO of 127.0.0.1 (which libspf2 would pass) is no client either
	sed -i 's/^Received: from 192\.0\.2\.10 (/Received: from 127.0.0.1 (/' "$BATS_TEST_TMPDIR/m.eml"
	run filter --json <"$BATS_TEST_TMPDIR/m.eml"
	[ "$(jq -r .client_ip <<<"$output")" = 198.51.100.7 ]
	[ "$(jq -r .spf <<<"$output")" = fail ]
	[ "$(smtp_messages)" -eq 0 ]
}

@test "log and done files are created 0640 in 0750 folders, whatever the umask" {
	sink_config DKIM_Check=off
	make_msg "$M/m.eml" to=x@accept.sink.test store_done=1
	run bash -c 'umask 000; exec "$@" <"$0"' "$M/m.eml" "$SINK_FILTER" -c "$SINK_INI"
	assert_success
	log=$SINK_LOG.$(date -u +%F)
	copy=$(find "$SINK_DONE" -name '*.eml')
	[ -n "$copy" ]
	[ "$(stat -c %a "$log")" = 640 ]
	[ "$(stat -c %a "${SINK_LOG%/*}")" = 750 ]
	[ "$(stat -c %a "$copy")" = 640 ]
	[ "$(stat -c %a "$SINK_DONE")" = 750 ]
}

@test "a symlink planted at the dated log file name is not written through; the failure goes to stderr" {
	sink_config DKIM_Check=off
	mkdir -p "${SINK_LOG%/*}"
	echo "precious" >"$M/victim"
	ln -s "$M/victim" "$SINK_LOG.$(date -u +%F)"
	make_msg "$M/m.eml" to=x@accept.sink.test
	run timed filter <"$M/m.eml"
	assert_success
	[ "$(cat "$M/victim")" = precious ]
	[ -L "$SINK_LOG.$(date -u +%F)" ]
	assert_output --partial "sink-filter: log not written: log file $SINK_LOG.$(date -u +%F): Too many levels of symbolic links"
	assert_output --partial ",x@accept.sink.test,bounces@sender.test,accept/subdomain,dkim=pass"	# the line, on stderr
	[ "$(counter total_messages)" -eq 1 ]
}

@test "a symlink planted at the Logfile name is replaced by the program's own link, its target untouched" {
	sink_config DKIM_Check=off
	mkdir -p "${SINK_LOG%/*}"
	echo "precious" >"$M/victim"
	ln -s "$M/victim" "$SINK_LOG"
	make_msg "$M/m.eml" to=x@accept.sink.test
	run timed filter <"$M/m.eml"
	assert_success
	[ "$(cat "$M/victim")" = precious ]
	assert_whole_log 1
}

@test "files in the log and done folders are opened without following links, new ones exclusively, then renamed" {
	sink_config DKIM_Check=off
	make_msg "$M/m.eml" to=x@accept.sink.test store_done=1
	run traced -f -qq -e trace=open,openat,creat,rename,renameat,renameat2,link,linkat,symlink,symlinkat,truncate \
		-o "$M/trace" -- "$SINK_FILTER" -c "$SINK_INI" <"$M/m.eml"
	assert_success
	[ -n "$(find "$SINK_DONE" -name '*.eml')" ]
	# every open for writing under the two folders: O_NOFOLLOW, and O_EXCL when it creates
	grep -E "open(at)?\(.*\"($M/log|$SINK_DONE)/" "$M/trace" | grep -E 'O_WRONLY|O_RDWR' >"$M/writes" || true
	cat "$M/writes"
	[ "$(wc -l <"$M/writes")" -ge 2 ]	# the log file and the done copy's temporary
	run grep -v 'O_NOFOLLOW\|O_EXCL' "$M/writes"
	assert_output ""
	if grep 'O_CREAT' "$M/writes" | grep -qv 'O_EXCL'; then
		fail "a file created without O_EXCL: $(grep O_CREAT "$M/writes" | grep -v O_EXCL)"
	fi
	# the done copy got its name by a rename
	grep -qE "rename(at2?)?\(.*\"$SINK_DONE/.*\.eml\"" "$M/trace"
	# nothing truncated, nothing hard-linked
	run grep -E '^[0-9]+ +(truncate|link|linkat)\(' "$M/trace"
	assert_output ""
}

# ---- no programs ---------------------------------------------------------------------------------------

@test "sink-filter never runs a program: its own execve (and sink-filter-static's, sink-filter-local's), whatever it does" {
	sink_config DKIM_Check=off "${OPEN_CLICK[@]}" Tracking_Domains_Allowlist=
	# a static (musl) sink-filter runs a message itself by exec'ing sink-filter-static, which hands a message
	# that needs the action module (each of these) on to sink-filter-local; without it, sink-filter-local
	local progs=("$SINK_FILTER")
	[[ ! -e $SINK_BUILD/bin/sink-filter-static ]] || progs+=("$SINK_BUILD/bin/sink-filter-static")
	[[ ! -e $SINK_BUILD/bin/sink-filter-local ]] || progs+=("$SINK_BUILD/bin/sink-filter-local")
	make_msg "$M/o.eml" to=x@openclick.sink.test
	make_msg "$M/b.eml" to=x@oob.sink.test
	make_msg "$M/f.eml" to=x@fbl.sink.test
	for m in o b f; do
		run traced -f -qq -e trace=execve,execveat,fork,vfork -o "$M/trace.$m" -- \
			"$SINK_FILTER" -c "$SINK_INI" --client-ip 192.0.2.10 <"$M/$m.eml"
		assert_success
		cat "$M/trace.$m"
		[ "$(grep -c 'execve' "$M/trace.$m")" -eq "${#progs[@]}" ]
		for p in "${progs[@]}"; do grep -q "execve(\"$p\"" "$M/trace.$m"; done
		run grep -E 'fork\(' "$M/trace.$m"
		assert_output ""
	done
	# and it did do everything: probed, fetched, bounced, complained
	[ "$(jq -r .path "$HTTP_LOG" | grep -c '^/f/a$')" -ge 1 ]
	[ "$(counter open)" -eq 1 ]
	[ "$(counter oob_sent)" -eq 1 ]
	[ "$(counter fbl_sent)" -eq 1 ]
}
