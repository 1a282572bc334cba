/*
 * sink-stats - show the sink's counters, and prune what is too old to keep.
 *
 * Run from cron: every minute with --prometheus -o for node_exporter's
 * textfile collector (or --html -o for a status page), daily with --prune.
 * The JSON is the original bouncy-sink's /json, so its consumers keep
 * working.  Output files are replaced atomically; when Redis cannot be
 * reached nothing is written and the exit status says so, so a stale file
 * stays stale rather than turning into zeros.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "account.h"
#include "config.h"
#include "dashboard.h"
#include "decide.h"
#include "format.h"
#include "log.h"
#include "redisurl.h"
#include "sink-build.h"
#include "stats.h"

#define REDIS_TIMEOUT_MS 5000

static char *opt_config, *opt_output;
static gboolean opt_json, opt_prometheus, opt_html, opt_prune, opt_version;

static const GOptionEntry entries[] = {
	{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &opt_config, "Config file (default $SINK_CONFIG, else " SINK_SYSCONFDIR "/sink.ini, else built-in defaults)", "FILE" },
	{ "json", 0, 0, G_OPTION_ARG_NONE, &opt_json, "The original /json object (the default)", NULL },
	{ "prometheus", 0, 0, G_OPTION_ARG_NONE, &opt_prometheus, "Prometheus text exposition format", NULL },
	{ "html", 0, 0, G_OPTION_ARG_NONE, &opt_html, "The dashboard: a self-contained HTML page (the mix against the config, errors, charts, counters)", NULL },
	{ "output", 'o', 0, G_OPTION_ARG_FILENAME, &opt_output, "Replace FILE atomically instead of writing to stdout", "FILE" },
	{ "prune", 0, 0, G_OPTION_ARG_NONE, &opt_prune, "Delete ts_ and tso_ keys older than 10 days and dated log files past Logfile_backup_count", NULL },
	{ "version", 0, 0, G_OPTION_ARG_NONE, &opt_version, "Print the version and exit", NULL },
	{ NULL }
};

static int
usage(const char *problem)
{
	fprintf(stderr, "sink-stats: %s\n", problem);
	fprintf(stderr, "usage: sink-stats [-c FILE] [--json|--prometheus|--html] [-o FILE] [--prune]\n");
	return EX_USAGE;
}

/* The dashboard, with the shares today's model of `cfg` asks for (a model that cannot be made is said on it). */
static char *
html_page(const SinkConfig *cfg, const SinkStats *stats, GDateTime *now)
{
	g_autoptr(GError) error = NULL;
	SinkModel model;

	if (!sink_model_init(&model, cfg, now, &error))
		return sink_dashboard_html(stats, NULL, error->message, now);
	return sink_dashboard_html(stats, &model, NULL, now);
}

int
main(int argc, char **argv)
{
	g_autoptr(GOptionContext) octx = g_option_context_new("- show the bouncy-sink counters");
	g_autoptr(GError) error = NULL;
	g_autoptr(SinkConfig) cfg = NULL;
	g_autoptr(SinkStats) stats = NULL;
	g_autoptr(GDateTime) now = NULL;
	g_autofree char *prefix = NULL, *text = NULL;
	redisContext *redis;
	gboolean want_output;
	const char *path;

	signal(SIGPIPE, SIG_IGN);
	g_option_context_add_main_entries(octx, entries, NULL);
	if (!g_option_context_parse(octx, &argc, &argv, &error))
		return usage(error->message);
	if (argc > 1)
		return usage("unexpected argument");
	if (opt_json + opt_prometheus + opt_html > 1)
		return usage("choose one of --json, --prometheus and --html");
	if (opt_version) {
		printf("sink-stats %s\n", SINK_VERSION);
		return 0;
	}
	/* --prune alone only prunes; any format or -o asks for output too */
	want_output = !opt_prune || opt_json || opt_prometheus || opt_html || opt_output;

	path = opt_config ? opt_config : sink_config_default_path();
	if ((cfg = sink_config_load(path, &error)) == NULL) {
		fprintf(stderr, "sink-stats: config: %s\n", error->message);
		return EX_CONFIG;
	}
	/* the config's warnings (obsolete keys of the original's) are for
	 * sink-filter -n: from cron they would mail the same lines every run */
	now = g_date_time_new_now_utc();
	prefix = sink_config_key_prefix(cfg);

	if ((redis = sink_redis_connect(cfg, REDIS_TIMEOUT_MS, &error)) == NULL) {
		fprintf(stderr, "sink-stats: cannot reach the counters: %s%s\n", error->message,
			opt_output ? "; output file left as it was" : "");
		return EX_UNAVAILABLE;
	}

	if (opt_prune) {
		guint keys = 0, hashes = 0;
		int logs = sink_log_prune(cfg, now);
		gboolean ok = sink_stats_prune(redis, prefix, now, &keys, &hashes, &error);
		FILE *report = want_output && !opt_output ? stderr : stdout;

		g_autofree char *kept = cfg->logfile_backup_count ? g_strdup_printf("past %d days",
										     cfg->logfile_backup_count)
			: g_strdup("(Logfile_backup_count = 0 keeps them all)");
		fprintf(report, "sink-stats: pruned %u ts_ key%s and %u tso_ key%s older than %d days, %d log file%s %s\n",
			keys, keys == 1 ? "" : "s", hashes, hashes == 1 ? "" : "s", SINK_STATS_TS_KEEP_DAYS, logs,
			logs == 1 ? "" : "s", kept);
		if (!ok) {
			g_autofree char *shown = sink_redis_url_display(cfg->redis_url);
			fprintf(stderr, "sink-stats: prune: Redis at %s: %s\n", shown, error->message);
			redisFree(redis);
			return EX_UNAVAILABLE;
		}
	}
	if (!want_output) {
		redisFree(redis);
		return 0;
	}

	stats = sink_stats_read(redis, prefix, cfg->results_key, now, &error);
	if (stats && opt_html && !sink_stats_read_outcomes(redis, prefix, stats, now, &error))
		g_clear_pointer(&stats, sink_stats_free);
	redisFree(redis);
	if (stats == NULL) {
		g_autofree char *shown = sink_redis_url_display(cfg->redis_url);
		fprintf(stderr, "sink-stats: reading the counters: Redis at %s: %s%s\n", shown,
			error->message, opt_output ? "; output file left as it was" : "");
		return EX_UNAVAILABLE;
	}
	for (guint i = 0; i < stats->warnings->len; i++)
		fprintf(stderr, "sink-stats: warning: %s\n", (const char *)stats->warnings->pdata[i]);

	if (opt_prometheus)
		text = sink_stats_prometheus(stats);
	else if (opt_html)
		text = html_page(cfg, stats, now);
	else
		text = sink_stats_json(stats);

	if (opt_output) {
		if (!sink_stats_write_file(opt_output, text, &error)) {
			fprintf(stderr, "sink-stats: %s\n", error->message);
			return EX_CANTCREAT;
		}
		return 0;
	}
	if (fputs(text, stdout) == EOF || fflush(stdout) != 0) {
		fprintf(stderr, "sink-stats: standard output: write failed\n");
		return EX_IOERR;
	}
	return 0;
}
