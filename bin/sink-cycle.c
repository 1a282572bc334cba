/*
 * sink-cycle - set PMTA's in-band bounce rate to today's value.
 *
 * Run hourly from cron.  Weekly_Cycle_Bounce_Rate lists one percent per
 * day over whole weeks; today's (UTC) value goes on the
 * dummy-smtp-blacklist-bounce-percent line of PMTA's config and PMTA is
 * reloaded.  A file that already has it is left alone (no reload).  When the
 * reload fails, PMTA keeps running its old config, so the old file is put
 * back: file and daemon agree, and the next run tries again.
 *
 * Exit: 0 done or unchanged; 64 usage; 66 PMTA config unreadable; 73 not
 * replaced; 75 reload failed (old file restored); 78 sink config invalid
 * or no directive line in the PMTA config.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "config.h"
#include "cycle.h"
#include "sink-build.h"

static char *opt_config;
static gboolean opt_dry_run, opt_version;

static const GOptionEntry entries[] = {
	{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &opt_config, "Config file (default $SINK_CONFIG, else " SINK_SYSCONFDIR "/sink.ini, else built-in defaults)", "FILE" },
	{ "dry-run", 0, 0, G_OPTION_ARG_NONE, &opt_dry_run, "Print the new line only; change nothing", NULL },
	{ "version", 0, 0, G_OPTION_ARG_NONE, &opt_version, "Print the version and exit", NULL },
	{ NULL }
};

/* The exit status for each way the library can fail. */
static int
exit_status(const GError *error)
{
	if (error->domain != SINK_CYCLE_ERROR)
		return EX_SOFTWARE;
	switch ((SinkCycleError)error->code) {
	case SINK_CYCLE_ERROR_READ: return EX_NOINPUT;
	case SINK_CYCLE_ERROR_NO_DIRECTIVE: return EX_CONFIG;
	case SINK_CYCLE_ERROR_WRITE: return EX_CANTCREAT;
	case SINK_CYCLE_ERROR_RELOAD: return EX_TEMPFAIL;
	case SINK_CYCLE_ERROR_RELOAD_TIMEOUT: return EX_TEMPFAIL;
	}
	return EX_SOFTWARE;
}

/*
 * The reload deadline: SINK_CYCLE_RELOAD_TIMEOUT (120) seconds, or, for
 * the tests only (t/cycle.bats, which cannot wait two minutes), the fewer
 * seconds in SINK_CYCLE_TEST_RELOAD_TIMEOUT.  Not a setting: not
 * documented for users.
 */
static int
reload_timeout(void)
{
	const char *s = g_getenv("SINK_CYCLE_TEST_RELOAD_TIMEOUT");
	guint64 n;

	if (s && g_ascii_string_to_unsigned(s, 10, 1, SINK_CYCLE_RELOAD_TIMEOUT, &n, NULL))
		return (int)n;
	return SINK_CYCLE_RELOAD_TIMEOUT;
}

static int
fail(const GError *error)
{
	fprintf(stderr, "sink-cycle: %s\n", error->message);
	return exit_status(error);
}

/*
 * Replace the PMTA config with data; say so when its owner or group could
 * not be kept (not run as root nor as its owner: the new file is ours).
 */
static gboolean
replace(const char *path, const char *data, gsize len, GError **error)
{
	struct stat before, after;
	gboolean known = stat(path, &before) == 0;

	if (!sink_cycle_replace_file(path, data, len, error))
		return FALSE;
	if (known && stat(path, &after) == 0 && (after.st_uid != before.st_uid || after.st_gid != before.st_gid))
		fprintf(stderr, "sink-cycle: %s: its owner and group were %ld:%ld, now %ld:%ld (run as root to keep "
			"them)\n", path, (long)before.st_uid, (long)before.st_gid, (long)after.st_uid,
			(long)after.st_gid);
	return TRUE;
}

/*
 * After a failed reload: the file back to the value PMTA runs.  Only the
 * directive goes back: the whole old file when the file is still what this
 * run wrote, else the old value set again in what it is now (someone
 * changed it since: those changes stay).  TRUE when it went back.
 */
static gboolean
put_back(const char *path, const char *old, gsize len, const SinkCycleEdit *edit)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *now = NULL;
	gsize now_len = 0;
	SinkCycleEdit back = { 0 };
	gboolean ok;

	if (!g_file_get_contents(path, &now, &now_len, &error)) {
		fprintf(stderr, "sink-cycle: could not put the old value back: %s\n", error->message);
		return FALSE;
	}
	if (now_len == edit->len && memcmp(now, edit->text, now_len) == 0) {
		ok = replace(path, old, len, &error);
	} else if (*edit->old_value == '\0') {
		fprintf(stderr, "sink-cycle: %s: changed since this run wrote it, and " SINK_CYCLE_DIRECTIVE
			" had no value before: left as it is\n", path);
		return FALSE;
	} else {
		ok = sink_cycle_edit(path, now, now_len, edit->old_value, &back, &error) &&
		     replace(path, back.text, back.len, &error);
		sink_cycle_edit_clear(&back);
	}
	if (!ok) {
		fprintf(stderr, "sink-cycle: could not put the old value back: %s\n", error->message);
		return FALSE;
	}
	fprintf(stderr, "sink-cycle: %s: put the old value back (" SINK_CYCLE_DIRECTIVE " %s); the next run tries "
		"again\n", path, edit->old_value);
	return TRUE;
}

int
main(int argc, char **argv)
{
	g_autoptr(GOptionContext) octx = g_option_context_new("- set PMTA's bounce percent to today's value");
	g_autoptr(GError) error = NULL;
	g_autoptr(SinkConfig) cfg = NULL;
	g_autoptr(GDateTime) now = NULL;
	g_autofree char *old = NULL, *value = NULL, *day = NULL, *why = NULL, *output = NULL;
	SinkCycleEdit edit;
	const char *path;
	gsize len, index;
	gboolean earlier;
	int status = 0, lock = -1;

	/* the reload's exit is waited for: SIGCHLD left ignored by whoever started us, the kernel would reap it
	 * unseen and a reload that worked would time out */
	signal(SIGCHLD, SIG_DFL);
	/* cron mails stdout and stderr as one: lines in the order they happened */
	setvbuf(stdout, NULL, _IOLBF, 0);
	g_option_context_add_main_entries(octx, entries, NULL);
	if (!g_option_context_parse(octx, &argc, &argv, &error) || argc > 1) {
		fprintf(stderr, "sink-cycle: %s\n", error ? error->message : "unexpected argument");
		fprintf(stderr, "usage: sink-cycle [-c FILE] [--dry-run]\n");
		return EX_USAGE;
	}
	if (opt_version) {
		printf("sink-cycle %s\n", SINK_VERSION);
		return 0;
	}
	path = opt_config ? opt_config : sink_config_default_path();
	if ((cfg = sink_config_load(path, &error)) == NULL) {
		fprintf(stderr, "sink-cycle: config: %s\n", error->message);
		return EX_CONFIG;
	}
	/* the config's warnings (obsolete keys of the original's) are for
	 * sink-filter -n: from cron they would mail the same lines every run */
	/* one run at a time on a PMTA config: the read, the edit, the reload and a put-back are one step */
	if (!opt_dry_run && (lock = sink_cycle_lock(cfg->pmta_config, &error)) < 0) {
		g_autoptr(GError) e = g_error_new(SINK_CYCLE_ERROR, SINK_CYCLE_ERROR_READ, "PMTA config: %s",
						  error->message);
		return fail(e);
	}

	now = g_date_time_new_now_utc();
	value = sink_cycle_format_value(sink_cycle_bounce_rate(cfg, now, &index));
	day = g_date_time_format(now, "%Y-%m-%d (%a, ISO week %V)");
	why = g_strdup_printf("Weekly_Cycle_Bounce_Rate item %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT
			      " for %s UTC", index + 1, cfg->weekly_bounce_rate_len, day);

	if (!g_file_get_contents(cfg->pmta_config, &old, &len, &error)) {
		g_autoptr(GError) e = g_error_new(SINK_CYCLE_ERROR, SINK_CYCLE_ERROR_READ, "PMTA config: %s",
						  error->message);
		return fail(e);
	}
	g_clear_error(&error);
	if (!sink_cycle_edit(cfg->pmta_config, old, len, value, &edit, &error))
		return fail(error);
	/* a reload owed by an earlier run (killed before it reloaded): what PMTA runs is not known */
	earlier = !opt_dry_run && sink_cycle_reload_owed(cfg->pmta_config);

	if (opt_dry_run) {
		printf("%s\n", edit.new_line);
	} else if (!edit.changed && !earlier) {
		printf("sink-cycle: %s: " SINK_CYCLE_DIRECTIVE " is already %s (%s): unchanged, no reload\n",
		       cfg->pmta_config, value, why);
	} else if (edit.changed && (!sink_cycle_owe_reload(cfg->pmta_config, TRUE, &error) ||
				    !replace(cfg->pmta_config, edit.text, edit.len, &error))) {
		status = fail(error);
		if (!earlier)
			(void)sink_cycle_owe_reload(cfg->pmta_config, FALSE, NULL);
	} else {
		gboolean owed = TRUE;	/* (the marker is there: made above, or an earlier run's) */

		if (edit.changed)
			printf("sink-cycle: %s: " SINK_CYCLE_DIRECTIVE " %s -> %s (%s)\n", cfg->pmta_config,
			       *edit.old_value ? edit.old_value : "(none)", value, why);
		else
			printf("sink-cycle: %s: " SINK_CYCLE_DIRECTIVE " is already %s (%s), but an earlier run ended "
			       "before it reloaded PMTA: reloading\n", cfg->pmta_config, value, why);
		if (*cfg->pmta_reload_command == '\0') {
			printf("sink-cycle: PMTA_Reload_Command is empty: not reloading\n");
			owed = FALSE;
		} else if (sink_cycle_reload_within(cfg->pmta_reload_command, reload_timeout(), &output, &error)) {
			printf("sink-cycle: ran \"%s\"%s%s\n", cfg->pmta_reload_command, *output ? ": " : "", output);
			owed = FALSE;
		} else {
			gboolean timed_out = g_error_matches(error, SINK_CYCLE_ERROR, SINK_CYCLE_ERROR_RELOAD_TIMEOUT);

			status = fail(error);
			g_clear_error(&error);
			/* PMTA runs its old config: the file goes back to it, and no reload is owed; unless what
			 * PMTA runs is not known: an earlier run's reload was owed too, or this one timed out
			 * (killed, it may have reloaded): then the next run reloads whatever the file holds */
			if (edit.changed && put_back(cfg->pmta_config, old, len, &edit) && !earlier && !timed_out)
				owed = FALSE;
		}
		if (!owed && !sink_cycle_owe_reload(cfg->pmta_config, FALSE, &error)) {
			fprintf(stderr, "sink-cycle: %s\n", error->message);
			g_clear_error(&error);
		}
	}
	sink_cycle_edit_clear(&edit);
	if (lock >= 0)
		close(lock);
	if (fflush(stdout) != 0 && status == 0) {
		fprintf(stderr, "sink-cycle: standard output: write failed\n");
		status = EX_IOERR;
	}
	return status;
}
