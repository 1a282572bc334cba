#!/usr/bin/env bats
# tree.bats - the tree is the architecture (lib/meson.build): each lib/ folder builds one shared object;
# the core includes no header of another folder, maps no ops, server or web code (nor libsoup), and no two
# files include each other (a circle says the split is wrong).

load lib/common
load lib/sink

LIB="$T_DIR/../lib"

# includes FILE: the project headers FILE includes, one a line
includes() {
	sed -n 's/^#include "\([^"]*\)".*/\1/p' "$1"
}

@test "every file in lib/core/ includes only headers of lib/core/ (and the build's sink-build.h)" {
	local f h bad=()
	for f in "$LIB"/core/*.[ch]; do
		while read -r h; do
			[[ $h == sink-build.h || -f $LIB/core/$h ]] || bad+=("${f#"$LIB"/}: $h")
		done < <(includes "$f")
	done
	printf '%s\n' "${bad[@]}"
	((${#bad[@]} == 0))
}

@test "each lib/ folder is one of core, dkim, act, server, ops, web, static, with a meson.build whose header says what it is" {
	run find "$LIB" -mindepth 1 -maxdepth 1 -type d -printf '%f\n'
	assert_equal "$(sort <<<"$output" | tr '\n' ' ')" "act core dkim ops server static web "
	local d
	for d in act core dkim ops server static web; do
		head -1 "$LIB/$d/meson.build" | grep -q "^# $d/: "
	done
	# no source file is left at the top of lib/
	[ -z "$(find "$LIB" -maxdepth 1 -name '*.[ch]')" ]
}

@test "no two files include each other: none includes, even through other headers, a header of a file whose own includes reach its header" {
	"$PY" - "$LIB" <<'PYEOF'
import os, re, sys
lib = sys.argv[1]
path = {}                                   # header or source name -> path
for d, _, files in os.walk(lib):
    for f in files:
        if f.endswith((".c", ".h")):
            path[f] = os.path.join(d, f)
def direct(f):
    return [h for h in re.findall(r'^#include "([^"]+)"', open(path[f]).read(), re.M) if h in path]
def closure(f):
    seen, todo = set(), direct(f)
    while todo:
        h = todo.pop()
        if h not in seen:
            seen.add(h)
            todo += direct(h)
    return seen
bad = []
for a in sorted(f for f in path if f.endswith(".c")):
    for h in closure(a):
        b = h[:-2] + ".c"
        if b != a and b in path and a[:-2] + ".h" in closure(b) and a < b:
            bad.append("%s <-> %s" % (a, b))
print("\n".join(bad))
sys.exit(1 if bad else 0)
PYEOF
}

@test "no two object files of one library need each other's symbols (bounce.o and smtp.o, account.o and config.o were such a pair)" {
	"$PY" - "$SINK_BUILD/lib" <<'PYEOF'
import glob, subprocess, sys
bad = []
for objdir in sorted(glob.glob(sys.argv[1] + "/*/*.p")):
    defined, needs = {}, {}
    for o in glob.glob(objdir + "/*.o"):
        name = o.rsplit("/", 1)[1].split(".c.o")[0]
        out = subprocess.run(["nm", o], capture_output=True, text=True, check=True).stdout.split("\n")
        defined[name] = {l.split()[-1] for l in out if len(l.split()) == 3 and l.split()[1] in "TDBR"}
        needs[name] = {l.split()[-1] for l in out if len(l.split()) == 2 and l.split()[0] == "U"}
    for a in defined:
        for b in defined:
            if a < b and needs[a] & defined[b] and needs[b] & defined[a]:
                bad.append("%s <-> %s (%s / %s)" % (a, b, sorted(needs[a] & defined[b])[0], sorted(needs[b] & defined[a])[0]))
print("\n".join(bad))
sys.exit(1 if bad else 0)
PYEOF
}

@test "the core shared library exports no stats, cycle, server or web symbol; sink-filterd, sink-stats and sink-cycle have them" {
	run nm -D --defined-only "$SINK_BUILD/lib/core/libbouncysink.so"
	assert_success
	refute_output --regexp 'sink_(stats|cycle|server|wire|serve|shares|dashboard|chart)'
	nm "$SINK_BUILD/bin/sink-filterd" | grep -q ' T sink_server_run$'
	nm "$SINK_BUILD/bin/sink-stats" | grep -q ' T sink_stats_json$'
	nm "$SINK_BUILD/bin/sink-stats" | grep -q ' T sink_serve_listen$'
	nm "$SINK_BUILD/bin/sink-cycle" | grep -q ' T sink_cycle_edit$'
}

@test "libsoup is sink-stats' alone: neither the core, the modules, sink-filterd nor sink-cycle needs it" {
	readelf -d "$SINK_BUILD/bin/sink-stats" | grep -q 'NEEDED.*libsoup-3'
	local f
	for f in "$SINK_BUILD"/lib/*/*.so "$SINK_BUILD/bin/sink-filterd" "$SINK_BUILD/bin/sink-cycle"; do
		! readelf -d "$f" | grep -q 'NEEDED.*libsoup' || { echo "$f needs libsoup"; return 1; }
	done
}

@test "a message run in its own process maps the core, not the ops or server code" {
	sink_config DKIM_Check=off
	make_msg "$BATS_TEST_TMPDIR/m.eml" to=x@accept.sink.test
	if [[ -x $SINK_BUILD/bin/sink-filter-static ]]; then
		# the core linked into one static program, without the rest: nothing is loaded at all
		run nm "$SINK_BUILD/bin/sink-filter-static"
		assert_output --regexp ' T sink_filter_main'
		refute_output --regexp ' T (sink_(stats|cycle|server|wire|serve|shares|dashboard|chart|pool|spool)|soup_|curl_|xml|SPF_|psl_)'
		strace -f -qq -e trace=openat -o "$BATS_TEST_TMPDIR/trace" "$SINK_FILTER" --no-server -c "$SINK_INI" \
			<"$BATS_TEST_TMPDIR/m.eml"
		run grep -E '\.so(\.[0-9]+)*"' "$BATS_TEST_TMPDIR/trace"
		assert_output ""
		return
	fi
	LD_DEBUG=files "$SINK_FILTER" --no-server -c "$SINK_INI" <"$BATS_TEST_TMPDIR/m.eml" 2>"$BATS_TEST_TMPDIR/ld"
	grep -q 'file=[^ ]*libbouncysink\.so' "$BATS_TEST_TMPDIR/ld"
	! grep -qE 'libsink(ops|server|web)|libsoup|libbouncysink-(act|dkim)' "$BATS_TEST_TMPDIR/ld" || false
}

@test "sink-filter-static is built exactly where it can be: a musl sink-filter and every static archive (t/static.bats runs then)" {
	local lib can=yes
	! readelf -l "$SINK_FILTER" | grep -q 'program interpreter' || can=no
	for lib in $(sed -n "/^static_runner_libs = \[/,/\]/p" "$LIB/static/meson.build" | grep -o "'[^']*'" | tr -d "'"); do
		compgen -G "/usr/lib/*/lib$lib.a" >/dev/null || { echo "no lib$lib.a"; can=no; }
	done
	echo "can: $can"
	if [[ $can == yes ]]; then [ -x "$SINK_BUILD/bin/sink-filter-static" ]; else [ ! -e "$SINK_BUILD/bin/sink-filter-static" ]; fi
}
