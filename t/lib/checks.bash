# checks.bash - what every hostile, fault, load and security test checks about a run of sink-filter: that
# nothing was lost. Load after lib/common and lib/sink: `load lib/checks`.
#
#   timed CMD...                 run CMD (use inside `run`: `run timed filter ...`; `filter` is lib/sink's)
#                                under `timeout` ($LIMIT seconds, default 20) and keep its wall time
#   took_ms                      the wall time of the last `timed` run, in milliseconds
#   log_records [FILE]           every line of the log file (default today's, after yesterday's when the test
#                                crossed midnight: lib/sink's log_files) as one JSON array of its CSV
#                                fields per line; fails, naming the line, unless every line is one whole
#                                record: ISO 8601 UTC time, "sink-filter", INFO or WARNING (WARNING exactly
#                                when a field starts with "!"), message id, To, Return-Path, and no control
#                                characters, torn quotes or stray CR
#   last_record                  the last log record (JSON array)
#   assert_whole_log N [FILE]    the log has exactly N records, all whole
#   assert_counted N             int_total_messages is N
#   record_field EXPR < JSON     jq -r EXPR on a --json record (fails when stdout is not one JSON object)
#   json_of OUTPUT               the JSON record line of a `run` output that also holds stderr lines
#   traced STRACE-ARGS -- CMD...  strace STRACE-ARGS CMD under `timed`; with a sanitized build (t/sanitize.env)
#                                LeakSanitizer, which cannot run under a tracer, is turned off for CMD

LIMIT=${LIMIT:-20}

timed() {
	local t0=$EPOCHREALTIME rc=0
	if [[ $1 == filter ]]; then	# a shell function: timeout runs programs only
		shift
		set -- "$SINK_FILTER" -c "$SINK_INI" "$@"
	fi
	timeout --kill-after=2 "$LIMIT" "$@" || rc=$?
	echo $(((${EPOCHREALTIME/./} - ${t0/./}) / 1000)) >"$BATS_TEST_TMPDIR/.ms"
	return "$rc"
}

took_ms() {
	cat "$BATS_TEST_TMPDIR/.ms"
}

log_records() {
	local files=()
	if [[ -n ${1:-} ]]; then files=("$1"); else mapfile -t files < <(log_files); fi
	((${#files[@]})) || files=("$SINK_LOG.$(date -u +%F)")	# (none: the error names today's)
	"$PY" - "${files[@]}" <<'EOF'
import csv, json, re, sys
def lines():
    for path in sys.argv[1:]:
        try:
            data = open(path, "rb").read()
        except FileNotFoundError:
            sys.exit("log_records: no log file %s" % path)
        if data and not data.endswith(b"\n"):
            sys.exit("log_records: %s does not end with a newline (torn last line): %r" % (path, data[-80:]))
        text = data.decode("utf-8", "surrogateescape")
        for n, line in enumerate(text.split("\n")[:-1], 1):
            yield path, n, line
for path, n, line in lines():
    def bad(why):
        sys.exit("log_records: %s line %d: %s: %r" % (path, n, why, line[:300]))
    if re.search(r"[\x00-\x1f\x7f]", line):
        bad("control character")
    try:
        rows = list(csv.reader([line], strict=True))
    except csv.Error as e:
        bad("not one CSV record (%s)" % e)
    if len(rows) != 1:
        bad("not one CSV record")
    rec = rows[0]
    if len(rec) < 6:
        bad("fewer than 6 fields")
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rec[0]):
        bad("first field is not an ISO 8601 UTC time")
    if rec[1] != "sink-filter":
        bad("second field is not sink-filter")
    want = "WARNING" if any(f.startswith("!") for f in rec[6:]) else "INFO"
    if rec[2] != want:
        bad("level %s, but the fields say %s" % (rec[2], want))
    if any(f == "" for f in rec[3:6]):
        bad("an empty id, To or Return-Path field (absent ones are '-')")
    print(json.dumps(rec, ensure_ascii=False))
EOF
}

last_record() {
	local all
	all=$(log_records "$@") || return 1
	tail -n 1 <<<"$all"
}

assert_whole_log() {
	local n
	n=$(log_records "${2:-}" | wc -l)
	log_records "${2:-}" >/dev/null || return 1
	if ((n != $1)); then
		echo "assert_whole_log: $n whole log records, expected $1" >&2
		return 1
	fi
}

assert_counted() {
	local got
	got=$(counter total_messages)
	if ((got != $1)); then
		echo "assert_counted: int_total_messages is $got, expected $1" >&2
		return 1
	fi
}

record_field() {
	jq -er "$1"
}

json_of() {
	grep -m1 '^{' <<<"$1"
}

traced() {
	local args=()
	while (($#)) && [[ $1 != -- ]]; do
		args+=("$1")
		shift
	done
	shift
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 timed strace "${args[@]}" "$@"
}
