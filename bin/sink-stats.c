/*
 * sink-stats - show the sink's counters, and prune what is too old to keep.
 *
 * Run from cron: every minute with --prometheus -o for node_exporter's
 * textfile collector (or --html -o for a status page), daily with --prune.
 * The JSON is the original bouncy-sink's /json, so its consumers keep
 * working.  Output files are replaced atomically; when Redis cannot be
 * reached nothing is written and the exit status says so, so a stale file
 * stays stale rather than turning into zeros.
 *
 * Or run as a service with --serve: the same outputs over HTTP, at the
 * original's URLs (lib/web/serve.c), until SIGTERM; SIGHUP reads the
 * config again.
 */
#include <glib-unix.h>
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
#include "serve.h"
#include "sink-build.h"
#include "stats.h"

#define REDIS_TIMEOUT_MS 5000
#define CLIENT_TIMEOUT_S 10

static char *opt_config, *opt_output, *opt_serve;
static gboolean opt_json, opt_prometheus, opt_html, opt_prune, opt_version, opt_serving;
static int opt_client_timeout = CLIENT_TIMEOUT_S;

/* --serve takes its address as --serve=ADDR, --serve ADDR (main picks that up) or not at all (the default). */
static gboolean
serve_option(const char *name, const char *value, gpointer data, GError **error)
{
	opt_serving = TRUE;
	g_free(opt_serve);
	opt_serve = g_strdup(value);
	return TRUE;
}

static const GOptionEntry entries[] = {
	{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &opt_config, "Config file (default $SINK_CONFIG, else " SINK_SYSCONFDIR "/sink.ini, else built-in defaults)", "FILE" },
	{ "json", 0, 0, G_OPTION_ARG_NONE, &opt_json, "The original /json object (the default)", NULL },
	{ "prometheus", 0, 0, G_OPTION_ARG_NONE, &opt_prometheus, "Prometheus text exposition format", NULL },
	{ "html", 0, 0, G_OPTION_ARG_NONE, &opt_html, "The dashboard: a self-contained HTML page (the mix against the config, errors, charts, counters)", NULL },
	{ "output", 'o', 0, G_OPTION_ARG_FILENAME, &opt_output, "Replace FILE atomically instead of writing to stdout", "FILE" },
	{ "prune", 0, 0, G_OPTION_ARG_NONE, &opt_prune, "Delete ts_ and tso_ keys older than 10 days and dated log files past Logfile_backup_count", NULL },
	{ "serve", 0, G_OPTION_FLAG_OPTIONAL_ARG, G_OPTION_ARG_CALLBACK, serve_option, "Serve /json, /json/ts-messages, /metrics and the dashboard (/) over HTTP (default " SINK_SERVE_DEFAULT ")", "[ADDR:]PORT" },
	{ "client-timeout", 0, 0, G_OPTION_ARG_INT, &opt_client_timeout, "With --serve: close a client connection idle this long (default 10), and any 3 times this long after it came", "SECONDS" },
	{ "version", 0, 0, G_OPTION_ARG_NONE, &opt_version, "Print the version and exit", NULL },
	{ NULL }
};

static int
usage(const char *problem)
{
	fprintf(stderr, "sink-stats: %s\n", problem);
	fprintf(stderr, "usage: sink-stats [-c FILE] [--json|--prometheus|--html] [-o FILE] [--prune]\n"
			"       sink-stats [-c FILE] --serve [[ADDR:]PORT] [--client-timeout SECONDS]\n");
	return EX_USAGE;
}

/* ---- --serve -------------------------------------------------------------------------------------------- */

typedef struct {
	GMainLoop *loop;
	SinkServe *serve;
	const char *given;	/* -c's file; NULL: the default, looked for again at each reload */
} Service;

static void
service_log(const char *line, gpointer data)
{
	fprintf(stderr, "sink-stats: %s\n", line);
}

static gboolean
service_stop(gpointer data)
{
	g_main_loop_quit(((Service *)data)->loop);
	return G_SOURCE_CONTINUE;
}

/* SIGHUP: the config again; a bad one is said and the old one kept. */
static gboolean
service_reload(gpointer data)
{
	Service *svc = data;
	g_autoptr(GError) error = NULL;
	const char *path = svc->given ? svc->given : sink_config_default_path();
	SinkConfig *cfg = sink_config_load(path, &error);

	if (cfg == NULL) {
		fprintf(stderr, "sink-stats: config not reloaded, the old one is kept: %s\n", error->message);
		return G_SOURCE_CONTINUE;
	}
	sink_serve_set_config(svc->serve, cfg);
	fprintf(stderr, "sink-stats: config reloaded from %s\n", path ? path : "(built-in defaults)");
	return G_SOURCE_CONTINUE;
}

/* Serve until SIGTERM or SIGINT; 73 when the address cannot be listened on. */
static int
service_run(SinkConfig *cfg, const char *given, const char *spec)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GInetSocketAddress) address = sink_serve_parse_address(spec, &error);
	g_autofree char *url = NULL;
	Service svc = { NULL, NULL, given };
	guint sources[3];

	if (address == NULL) {
		sink_config_free(cfg);
		return usage(error->message);
	}
	svc.serve = sink_serve_new(cfg, (guint)opt_client_timeout, service_log, NULL);
	if (!sink_serve_listen(svc.serve, address, &error)) {
		fprintf(stderr, "sink-stats: --serve %s: cannot listen there: %s\n", spec, error->message);
		sink_serve_free(svc.serve);
		return EX_CANTCREAT;
	}
	url = sink_serve_url(svc.serve);
	fprintf(stderr, "sink-stats: serving %s (/, /json, /json/ts-messages, /metrics)\n", url ? url : spec);
	svc.loop = g_main_loop_new(NULL, FALSE);
	sources[0] = g_unix_signal_add(SIGTERM, service_stop, &svc);
	sources[1] = g_unix_signal_add(SIGINT, service_stop, &svc);
	sources[2] = g_unix_signal_add(SIGHUP, service_reload, &svc);
	g_main_loop_run(svc.loop);
	for (size_t i = 0; i < G_N_ELEMENTS(sources); i++)
		g_source_remove(sources[i]);
	sink_serve_free(svc.serve);
	g_main_loop_unref(svc.loop);
	fprintf(stderr, "sink-stats: stopped serving %s\n", url ? url : spec);
	return 0;
}

/* ---- the one-shot modes --------------------------------------------------------------------------------- */

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
	int prune_status = 0;	/* EX_IOERR when a log file could not be deleted (said, the rest done) */
	const char *path;

	signal(SIGPIPE, SIG_IGN);
	g_option_context_add_main_entries(octx, entries, NULL);
	if (!g_option_context_parse(octx, &argc, &argv, &error))
		return usage(error->message);
	if (opt_serving && opt_serve == NULL && argc == 2) {	/* --serve 8888 */
		opt_serve = g_strdup(argv[1]);
		argc--;
	}
	if (argc > 1)
		return usage("unexpected argument");
	if (opt_json + opt_prometheus + opt_html > 1)
		return usage("choose one of --json, --prometheus and --html");
	if (opt_serving && (opt_json || opt_prometheus || opt_html || opt_output || opt_prune))
		return usage("--serve serves every format: it takes none of --json, --prometheus, --html, -o, --prune");
	if (opt_client_timeout < 1)
		return usage("--client-timeout must be at least 1 second");
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
	if (opt_serving)
		return service_run(g_steal_pointer(&cfg), opt_config, opt_serve ? opt_serve : SINK_SERVE_DEFAULT);
	now = g_date_time_new_now_utc();
	prefix = sink_config_key_prefix(cfg);

	redis = sink_redis_connect(cfg, REDIS_TIMEOUT_MS, &error);
	if (opt_prune) {
		/* the log files are pruned whatever becomes of Redis: they are this host's */
		g_autoptr(GPtrArray) failed = g_ptr_array_new_with_free_func(g_free);
		guint keys = 0, hashes = 0;
		int logs = sink_log_prune(cfg, now, failed);
		gboolean ok = redis && sink_stats_prune(redis, prefix, now, &keys, &hashes, &error);
		FILE *report = want_output && !opt_output ? stderr : stdout;

		g_autofree char *kept = cfg->logfile_backup_count ? g_strdup_printf("past %d days",
										     cfg->logfile_backup_count)
			: g_strdup("(Logfile_backup_count = 0 keeps them all)");
		if (redis)
			fprintf(report, "sink-stats: pruned %u ts_ key%s and %u tso_ key%s older than %d days, ", keys,
				keys == 1 ? "" : "s", hashes, hashes == 1 ? "" : "s", SINK_STATS_TS_KEEP_DAYS);
		else
			fprintf(report, "sink-stats: pruned no ts_ or tso_ key (Redis unreachable), ");
		fprintf(report, "%d log file%s %s\n", logs, logs == 1 ? "" : "s", kept);
		for (guint i = 0; i < failed->len; i++)
			fprintf(stderr, "sink-stats: prune: %s\n", (const char *)failed->pdata[i]);
		if (redis && !ok) {
			g_autofree char *shown = sink_redis_url_display(cfg->redis_url);
			fprintf(stderr, "sink-stats: prune: Redis at %s: %s\n", shown, error->message);
			redisFree(redis);
			return EX_UNAVAILABLE;
		}
		if (failed->len > 0)
			prune_status = EX_IOERR;	/* the rest is still done */
	}
	if (redis == NULL) {
		fprintf(stderr, "sink-stats: cannot reach the counters: %s%s\n", error->message,
			opt_output ? "; output file left as it was" : "");
		return EX_UNAVAILABLE;
	}
	if (!want_output) {
		redisFree(redis);
		return prune_status;
	}

	/* the ts_ minutes are read (and checked) for every format, as before there was a dashboard */
	stats = sink_stats_read(redis, prefix, cfg->results_key, now,
				opt_html ? SINK_STATS_ALL : SINK_STATS_COUNTERS | SINK_STATS_MINUTES, &error);
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
		return prune_status;
	}
	if (fputs(text, stdout) == EOF || fflush(stdout) != 0) {
		fprintf(stderr, "sink-stats: standard output: write failed\n");
		return EX_IOERR;
	}
	return prune_status;
}
