#!/usr/bin/env bats
# demo.bats - the README's first command ends with etc/demo: on a machine with nothing running it shows
# records without errors, the counters and the HTML page, and leaves nothing behind (no Redis, no web
# server, no temporary folder); without redis-server it says what to install.

load lib/common
load lib/sink

setup() {
	export TMPDIR=$BATS_TEST_TMPDIR/tmp
	mkdir -p "$TMPDIR"
}

@test "etc/demo: five records of accept and openclick, no errors, the counters and the HTML page; nothing left running or behind" {
	local before
	before=$(pgrep -c -x redis-server || true)
	rm -f "$SINK_BUILD/demo/sink-stats.html"
	run "$T_DIR/../etc/demo" "$SINK_BUILD"
	echo "$output"
	assert_success
	[ "$(grep -c '^{"class":' <<<"$output")" -eq 5 ]
	[ "$(grep '^{"class":' <<<"$output" | jq -s 'map(select(.errors == [])) | length')" -eq 5 ]
	[ "$(grep '^{"class":' <<<"$output" | jq -rs 'map(.class) | unique | join(",")')" = accept,openclick ]
	# the opens and the click were real fetches from the demo's web server
	[ "$(grep '^{"class":' <<<"$output" | jq -s '[.[].actions[] | select(.status == 200)] | length')" -ge 4 ]
	json=$(sed -n '/^== sink-stats --json/{n;p}' <<<"$output")
	jq -e '.total_messages == 5 and .accept >= 1 and .open >= 3 and .click >= 1' <<<"$json"
	assert_output --partial "== the HTML page: $SINK_BUILD/demo/sink-stats.html"
	grep -q '<svg' "$SINK_BUILD/demo/sink-stats.html"
	# what it started is gone: no Redis of its own left, no temporary folder
	[ "$(pgrep -c -x redis-server || true)" -eq "$before" ]
	! pgrep -f 'http.server --bind 127.0.0.1' >/dev/null || false
	[ -z "$(ls -A "$TMPDIR")" ]
}

@test "etc/demo without redis-server on the PATH says what to install, exit 2, nothing started" {
	mkdir "$BATS_TEST_TMPDIR/bin"
	local p
	for p in bash sed cat mktemp dirname seq sleep rm mkdir env jq python3 head; do
		ln -s "$(command -v "$p")" "$BATS_TEST_TMPDIR/bin/"
	done
	PATH=$BATS_TEST_TMPDIR/bin run "$T_DIR/../etc/demo" "$SINK_BUILD"
	assert_failure 2
	assert_output --partial "redis-server is not installed: apt-get install redis-server"
	[ -z "$(ls -A "$TMPDIR")" ]
}
