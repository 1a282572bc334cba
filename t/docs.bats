#!/usr/bin/env bats
# docs.bats - the documents say what the code has: every config key is in the README, the annotated
# etc/sink.ini and sink.ini(5); every option of each program in its manual page; every counter in the
# README's table and sink-stats(1)'s, and those tables name only counters the code has; every keyword
# local part and X-Bouncy-Sink word in the README's table of outcomes and sink-filter(1); the README's
# "check an address" example runs as written.

load lib/common
load lib/sink

TOP="$T_DIR/.."
MAN="$TOP/man"

# config_keys: the [Sink] keys of lib/core/config.c's table, one a line, then " obsolete" for those only
# accepted with a warning
config_keys() {
	sed -n '/^static const KeySpec keys\[\] = {/,/^};/s/^\t{ "\([A-Za-z0-9_]*\)", \(K_[A-Z0-9]*\).*/\1 \2/p' \
		"$TOP/lib/core/config.c" | sed 's/ K_OBSOLETE$/ obsolete/; s/ K_[A-Z0-9]*$//'
}

# table_words TABLE: the first strings of lib/core/directive.c's table TABLE (class_tokens, keywords, ...)
table_words() {
	sed -n "/^} $1\[\] = {/,/^};/s/^\t{ \"\([a-z-]*\)\".*/\1/p" "$TOP/lib/core/directive.c"
}

# readme_counters: the names in the first column of the README's counter table
readme_counters() {
	sed -n '/^| counter | meaning |$/,/^$/p' "$TOP/README.md" | sed -n '3,$p' | cut -d'|' -f2 |
		grep -o '`[a-z_]*`' | tr -d '`' | sort -u
}

@test "the key table is read: it has the original's keys and the new ones, and knows the obsolete" {
	run config_keys
	[ "${#lines[@]}" -ge 70 ]
	assert_line "OOB_percent"
	assert_line "Digit9_days"
	assert_line "Redis_URL"
	assert_line "Delay_Job_Max_Age"
	assert_line "Max_Threads obsolete"
}

@test "every config key is in a table of the README, in etc/sink.ini (set; obsolete: named) and in sink.ini(5)" {
	local key kind missing=()
	while read -r key kind; do
		# the digits' keys are one range in the README and the manual page
		local shown=$key
		[[ $key =~ ^Digit[1-8]_days$ ]] && shown=Digit9_days
		grep -q "^|.*\`$shown\`" "$TOP/README.md" || missing+=("README.md's tables: $key")
		if [[ $kind == obsolete ]]; then
			grep -q "\b$key\b" "$TOP/etc/sink.ini" || missing+=("etc/sink.ini: $key (obsolete)")
		else
			grep -q "^$key =" "$TOP/etc/sink.ini" || missing+=("etc/sink.ini: $key")
		fi
		grep -q "^\.B[RI]* \(.* \)*$shown\b" "$MAN/sink.ini.5" || missing+=("man/sink.ini.5: $key")
	done < <(config_keys)
	printf '%s\n' "${missing[@]}"
	((${#missing[@]} == 0))
}

@test "every key sink.ini(5) and etc/sink.ini set is one the config reads" {
	local keys key bad=()
	keys=$(config_keys | cut -d' ' -f1)
	while read -r key; do
		grep -qx "$key" <<<"$keys" || bad+=("etc/sink.ini: $key")
	done < <(sed -n '/^\[Sink\]/,/^\[/s/^\([A-Za-z][A-Za-z0-9_]*\) =.*/\1/p' "$TOP/etc/sink.ini")
	while read -r key; do
		grep -qx "$key" <<<"$keys" || bad+=("man/sink.ini.5: $key")
	done < <(sed -n 's/^\.B \([A-Z][A-Za-z0-9_]*\) = .*/\1/p' "$MAN/sink.ini.5")
	printf '%s\n' "${bad[@]}"
	((${#bad[@]} == 0))
}

@test "every option each program prints with --help-all (sink-filter: --help) is in its manual page" {
	local pair prog page opt missing=() seen=0
	for pair in sink-filter:sink-filter.1 sink-filterd:sink-filterd.8 sink-stats:sink-stats.1 \
		sink-cycle:sink-cycle.1 sink-worker:sink-worker.1; do
		prog=${pair%%:*} page=$MAN/${pair#*:}
		while read -r opt; do
			seen=$((seen + 1))
			# troff writes each - of an option as \-
			grep -qF -- "${opt//-/\\-}" "$page" || missing+=("$prog $opt: not in ${page##*/}")
		done < <({ "$SINK_BUILD/bin/$prog" --help-all 2>/dev/null || "$SINK_BUILD/bin/$prog" --help; } |
			grep -o -- '--[a-z][a-z-]*' | sort -u)
	done
	printf '%s\n' "${missing[@]}"
	((${#missing[@]} == 0))
	((seen >= 40))
}

@test "every manual page in man/ is installed, and each names sink.ini(5) among its others" {
	local page
	for page in "$MAN"/*.[1-8]; do
		grep -q "'${page##*/}'" "$MAN/meson.build"
		[[ ${page##*/} == sink.ini.5 ]] || sed -n '/^\.SH SEE ALSO/,$p' "$page" | grep -q '^\.BR sink\.ini (5)'
	done
}

@test "the README's counters and sink-stats(1)'s are the same list" {
	local readme man
	readme=$(readme_counters)
	# the names that head each entry (after .TP, or .TQ for one more), not those in the text
	man=$(sed -n '/^\.SH COUNTERS/,/^\.SH /p' "$MAN/sink-stats.1" | awk '/^\.T[PQ]$/ { getline; print }' |
		sed -n 's/^\.B \([a-z_]*\)$/\1/p' | sort -u)
	[ "$(wc -l <<<"$readme")" -ge 50 ]
	diff <(echo "$readme") <(echo "$man")
}

@test "every counter the code names is in the README's table, and every one there is in the code" {
	local documented c missing=() named=0
	documented=$(readme_counters)
	# the names passed to a count function, the reports' and replies' counter fields (lib/act), the names in
	# the readers' step tables (lib/act/engage.c: "open", "click_scanner", ...), and the message count
	while read -r c; do
		named=$((named + 1))
		grep -qx "$c" <<<"$documented" || missing+=("in the code, not in the README: $c")
	done < <({
		grep -rhoE '(count|bump)[a-z_]*\([^;]*"[a-z][a-z_]+"' "$TOP/lib" | grep -oE '"[a-z][a-z_]+"'
		grep -rhoE '\.(sent|also_sent|smtp_error|dns_error|missing_to|missing_return_path|not_allowed) = "[a-z_]+"' \
			"$TOP/lib/act" | grep -oE '"[a-z_]+"'
		grep -ohE '"(open|click)(_[a-z_]+)?"' "$TOP/lib/act/engage.c"
		grep -ohE 'int_[a-z_]+"' "$TOP/lib/core/account.c" | sed 's/^int_/"/'
	} | tr -d '"' | sort -u)
	# each documented one appears in lib/ whole, or as the step's prefix and the rest (open_url_over_limit)
	while read -r c; do
		grep -rqw -- "$c" "$TOP/lib" || grep -rq -- "\"_${c#*_}\"\|%s_${c#*_}\"" "$TOP/lib" ||
			missing+=("in the README, not in the code: $c")
	done <<<"$documented"
	printf '%s\n' "${missing[@]}"
	((${#missing[@]} == 0))
	((named >= 35))
}

@test "every keyword local part and X-Bouncy-Sink word is in the README's table of outcomes and in sink-filter(1)" {
	local outcomes w missing=() n=0
	outcomes=$(sed -n '/^| address or header | what happens, every time |$/,/^$/p' "$TOP/README.md")
	while read -r w; do
		n=$((n + 1))
		grep -qF "\`$w@…\`" <<<"$outcomes" || missing+=("README.md: $w@")
		sed -n '/^\.SS Keyword local parts/,/^\.S[HS] X/p' "$MAN/sink-filter.1" | grep '^\.BR* ' |
			grep -qwF -- "${w//-/\\-}" || missing+=("sink-filter.1: $w@")
	done < <(table_words keywords)
	while read -r w; do
		n=$((n + 1))
		grep -q "^| \`X-Bouncy-Sink: .*\b$w\b" <<<"$outcomes" || missing+=("README.md: X-Bouncy-Sink: $w")
		sed -n '/^\.SS X-Bouncy-Sink directives/,/^\.S[HS] /p' "$MAN/sink-filter.1" | grep -qF -- "${w//-/\\-}" ||
			missing+=("sink-filter.1: X-Bouncy-Sink: $w")
	done < <({
		table_words class_tokens
		table_words persona_tokens
		table_words unsubscribe_methods
		# the directives with a value, and store-done (read in sink_directives_parse)
		printf '%s\n' feedback-type opens clicks delay store-done
	})
	printf '%s\n' "${missing[@]}"
	((${#missing[@]} == 0))
	((n >= 35))
}

@test "the README's 'check an address' example runs as written and prints what it shows" {
	local block cmds expected
	block=$(sed -n '/^Check an address before sending to it/,/^```$/p' "$TOP/README.md" | sed -n '/^```sh$/,/^```$/p')
	cmds=$(grep '^\$ ' <<<"$block" | sed 's/^\$ //')
	expected=$(grep -v '^\$ \|^```' <<<"$block")
	[ "$(wc -l <<<"$cmds")" -eq 2 ]
	[ -n "$expected" ]
	# in a copy of the top folder's two files it reads, the build's program where it names build/bin, its
	# /tmp file in the test's folder
	mkdir -p "$BATS_TEST_TMPDIR/top/etc" "$BATS_TEST_TMPDIR/top/build"
	cp "$TOP/etc/sample.eml" "$BATS_TEST_TMPDIR/top/etc/"
	ln -s "$(dirname "$SINK_FILTER")" "$BATS_TEST_TMPDIR/top/build/bin"
	cmds=${cmds//\/tmp\/check.ini/$BATS_TEST_TMPDIR/check.ini}
	cd "$BATS_TEST_TMPDIR/top"
	run env -u SINK_SERVER bash -eo pipefail -c "$cmds"
	echo "$output"
	assert_success
	[ "$output" = "$expected" ]
}
