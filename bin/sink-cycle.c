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
#include <stdio.h>
#include <sysexits.h>

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
	int status = 0;

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

	if (opt_dry_run) {
		printf("%s\n", edit.new_line);
	} else if (!edit.changed) {
		printf("sink-cycle: %s: " SINK_CYCLE_DIRECTIVE " is already %s (%s): unchanged, no reload\n",
		       cfg->pmta_config, value, why);
	} else if (!sink_cycle_replace_file(cfg->pmta_config, edit.text, edit.len, &error)) {
		status = fail(error);
	} else {
		printf("sink-cycle: %s: " SINK_CYCLE_DIRECTIVE " %s -> %s (%s)\n", cfg->pmta_config,
		       *edit.old_value ? edit.old_value : "(none)", value, why);
		if (*cfg->pmta_reload_command == '\0') {
			printf("sink-cycle: PMTA_Reload_Command is empty: not reloading\n");
		} else if (sink_cycle_reload_within(cfg->pmta_reload_command, reload_timeout(), &output, &error)) {
			printf("sink-cycle: ran \"%s\"%s%s\n", cfg->pmta_reload_command, *output ? ": " : "", output);
		} else {
			g_autoptr(GError) back = NULL;
			status = fail(error);
			if (sink_cycle_replace_file(cfg->pmta_config, old, len, &back))
				fprintf(stderr, "sink-cycle: %s: put the old file back (" SINK_CYCLE_DIRECTIVE
					" %s); the next run tries again\n", cfg->pmta_config, edit.old_value);
			else
				fprintf(stderr, "sink-cycle: could not put the old file back: %s\n", back->message);
		}
	}
	sink_cycle_edit_clear(&edit);
	if (fflush(stdout) != 0 && status == 0) {
		fprintf(stderr, "sink-cycle: standard output: write failed\n");
		status = EX_IOERR;
	}
	return status;
}
