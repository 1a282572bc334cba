# sink.bash - helpers for bats tests that run the real sink programs.
# Load after lib/common (the mini-internet helpers): `load lib/sink`.
#
#   sink_config [Key=Value ...]   write $SINK_INI: test defaults, then overrides
#                                 (a value of "-" drops the key); with SINK_SIGNING=1
#                                 the defaults sign every report with the sink.test key
#                                 the mini internet publishes (DKIM_Sign_*)
#   filter [ARGS...]              run sink-filter -c $SINK_INI ARGS (use with `run`)
#   counter NAME                  the int_NAME counter in Redis (0 when unset)
#   log_lines                     today's log file (after yesterday's, when the test crossed midnight)

: "${SINK_BUILD:=$(cd "$BATS_TEST_DIRNAME/.." && pwd)/build}"
SINK_FILTER="$SINK_BUILD/bin/sink-filter"
SINK_STATS="$SINK_BUILD/bin/sink-stats"
SINK_CYCLE="$SINK_BUILD/bin/sink-cycle"

sink_config() {
	SINK_INI="$BATS_TEST_TMPDIR/sink.ini"
	SINK_LOG="$BATS_TEST_TMPDIR/log/sink.log"
	SINK_DONE="$BATS_TEST_TMPDIR/done"
	declare -A kv=(
		[OOB_percent]=0.5 [FBL_percent]=0.01 [Open_percent]=55
		[Open_Again_percent]=10 [Click_percent]=15 [Click_Again_percent]=3
		[Upstream_Handled]=50
		[Logfile]="$SINK_LOG" [Logfile_backup_count]=7
		[Done_Msg_File_Dest]="$SINK_DONE"
		[Redis_URL]="${REDIS_URL:-unix:/nonexistent/redis.sock}"
		[Host_Name]=sink.test
		[DKIM_Check]=verify
		[SPF_Required_Direct]=true	# (the built-in default is false; the SPF tests want it on)
		[DNS_Timeout]=2 [SMTP_Timeout]=5 [Open_Click_Timeout]=3 [Message_Timeout]=30
		[Fetch_Allow_Private]=true
		[Tracking_Domains_Allowlist]=""
		# the engagement shares as configured every day (the built-in cycle lowers them on some weekdays: a
		# test of a share would pass or fail by the day it runs); a test of the cycle sets its own
		[Weekly_Cycle_Open_Rate]=1,1,1,1,1,1,1
	)
	if [[ ${SINK_SIGNING:-} == 1 ]]; then
		kv[DKIM_Sign_Domain]=sink.test
		kv[DKIM_Sign_Selector]=sink1
		kv[DKIM_Sign_Key]=$DKIM_KEYDIR/sink.test/sink1.private
	fi
	local arg
	for arg in "$@"; do
		if [[ ${arg#*=} == "-" ]]; then unset "kv[${arg%%=*}]"; else kv[${arg%%=*}]=${arg#*=}; fi
	done
	{
		echo "[Sink]"
		local k
		for k in "${!kv[@]}"; do echo "$k = ${kv[$k]}"; done
		echo
		echo "[RP_MX_domain_allowlist]"
		echo "smtp.sparkpostmail.com = fbl@sparkpostmail.com"
	} > "$SINK_INI"
	export SINK_INI SINK_LOG SINK_DONE
}

filter() {
	"$SINK_FILTER" -c "$SINK_INI" "$@"
}

counter() {
	local v
	v=$(redis-cli -s "$REDIS_SOCK" GET "consume-mail:${RESULTS_KEY:-0}:int_$1")
	echo "${v:-0}"
}

log_lines() {
	local files
	mapfile -t files < <(log_files)
	((${#files[@]})) && cat "${files[@]}"	# (none: fails, as cat of a missing file did)
}

# log_files: the dated log files of this test's day, one a line, oldest first: today's, after yesterday's when
# that is there (a message logged just before midnight, read just after, is in yesterday's); none when neither is
log_files() {
	local f
	for f in "$SINK_LOG.$(date -u -d yesterday +%F)" "$SINK_LOG.$(date -u +%F)"; do
		[[ ! -e $f ]] || echo "$f"
	done
}

# pixels N [PREFIX]: N <img> tags http://track.test/PREFIXq/pK; links M: M <a> tags http://track.test/l/K
# (awk, not a shell loop: under bats' DEBUG trap a loop of 100,000 printf takes a minute)
pixels() {
	awk -v n="$1" -v pre="${2:-}" 'BEGIN { for (i = 1; i <= n; i++)
		printf "<img src=\"http://track.test/%sq/p%d\" width=\"1\" height=\"1\">", pre, i }'
}
links() {
	awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++) printf "<p><a href=\"http://track.test/l/%d\">link %d</a></p>", i, i }'
}

# etc_overlay: /etc as an overlay in the test's own mount namespace (netns-run's), so that a test may make or
# change the system config without touching the machine's: SYS_CONFIG is the path sink-filter looks for by
# default (its folder removed in the overlay), ETC_OVERLAY=1 tells the teardown to `umount /etc`
etc_overlay() {
	SYS_CONFIG=$("$SINK_FILTER" --help | grep -o 'else /[^ ]*/sink\.ini' | cut -d' ' -f2)
	[[ $SYS_CONFIG == /etc/* ]] || return 1
	mkdir "$BATS_TEST_TMPDIR/etc-up" "$BATS_TEST_TMPDIR/etc-work"
	mount -t overlay overlay -o "lowerdir=/etc,upperdir=$BATS_TEST_TMPDIR/etc-up,workdir=$BATS_TEST_TMPDIR/etc-work" /etc
	ETC_OVERLAY=1
	rm -rf "${SYS_CONFIG%/*}"
}
