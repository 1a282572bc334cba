#!/usr/bin/env bats
# valgrind.bats - memcheck finds no leak and no invalid access in sink-filter
# (or in sink-filter-local, where a static sink-filter runs a message itself
# in sink-filter-static) on each path: accept with DKIM verified, junk, a bounce and a
# complaint really sent, and an open with its fetches.  (Not run against a
# sanitizer build: t/run-tests leaves this file out there, ASan does that job.)

load lib/common
load lib/sink

setup() {
	reset_servers
	sink_config Tracking_Domains_Allowlist=track.test
}

# memcheck MESSAGE [sink-filter args]: exit 99 on any error, 98 on a definite leak.  Memcheck cannot see into a
# static glibc program (its malloc is not replaced: every read of the heap looks uninitialised), so where
# sink-filter runs a message in sink-filter-static, the same code is checked in sink-filter-local, the
# dynamic program it hands messages on to.
memcheck() {
	local msg=$1 prog=("$SINK_FILTER")
	shift
	[[ ! -x $SINK_BUILD/bin/sink-filter-static ]] || prog=("$SINK_BUILD/bin/sink-filter-local" --no-server)
	run valgrind --quiet --trace-children=yes --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		--suppressions="$T_DIR/valgrind.supp" "${prog[@]}" -c "$SINK_INI" "$@" <"$msg"
	if [ "$status" -ne 0 ]; then
		echo "$output" >&2
		return 1
	fi
}

@test "memcheck: accept with DKIM verified, and junk, are clean" {
	make_msg "$BATS_TEST_TMPDIR/raw" to=a@accept.sink.test
	sign_msg "$BATS_TEST_TMPDIR/raw" "$BATS_TEST_TMPDIR/m.eml"
	memcheck "$BATS_TEST_TMPDIR/m.eml"
	log_lines | grep -q 'accept/subdomain,dkim=pass'
	head -c 3000 /dev/urandom >"$BATS_TEST_TMPDIR/junk"
	memcheck "$BATS_TEST_TMPDIR/junk"
	[ "$(counter total_messages)" -eq 2 ]
}

@test "memcheck: a bounce and a complaint sent over SMTP are clean" {
	for class in oob fbl; do
		make_msg "$BATS_TEST_TMPDIR/raw" to=x@$class.sink.test
		sign_msg "$BATS_TEST_TMPDIR/raw" "$BATS_TEST_TMPDIR/$class.eml"
		memcheck "$BATS_TEST_TMPDIR/$class.eml" --client-ip 192.0.2.10
	done
	[ "$(counter oob_sent)" -eq 1 ]
	[ "$(counter fbl_sent)" -eq 1 ]
	[ "$(smtp_messages)" -eq 2 ]
}

@test "memcheck: an open with its fetches is clean" {
	make_msg "$BATS_TEST_TMPDIR/raw" to=x@openclick.sink.test
	sign_msg "$BATS_TEST_TMPDIR/raw" "$BATS_TEST_TMPDIR/m.eml"
	memcheck "$BATS_TEST_TMPDIR/m.eml" --seed 3
	[ "$(counter open)" -eq 1 ]
	[ "$(http_requests /q/open1 | wc -l)" -ge 1 ]
}
