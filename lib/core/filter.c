/*
 * filter.c - what a mailbox provider and its reader do with one message.
 *
 * PMTA's pipe delivery runs sink-filter once per recipient with the message
 * on stdin: read it, check who signed it, decide what this recipient does
 * (accept, bounce, complain, open and click), do it, count it, log one
 * line, exit.  The exit status is PMTA's: 0 delivered, 75 retry later.
 * Everything that can fail before the message is read asks for a retry;
 * after that the message is done, whatever the actions did.
 *
 * This is the program's body (filter.h): it runs in the process PMTA
 * started, or in one of sink-filterd's children, which runs one message
 * after another; so nothing of a run outlives it, its options included.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "context.h"
#include "decide.h"
#include "exitcode.h"
#include "filter.h"
#include "log.h"
#include "message.h"
#include "module.h"
#include "pipeline.h"
#include "record.h"
#include "sink-build.h"
#include "useragent.h"

/* The command line, parsed afresh by each run (a server's child runs many). */
typedef struct {
	char *config, *from, *to, *client_ip, *server, *spool;
	gint64 seed, draw_seed, time_left_ms;
	int jobs;
	gboolean dry_run, json, check, version, verbose, no_server, help, to_from_received, watch;
} FilterOptions;

static void
filter_options_clear(FilterOptions *o)
{
	g_free(o->config);
	g_free(o->from);
	g_free(o->to);
	g_free(o->client_ip);
	g_free(o->server);
	g_free(o->spool);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(FilterOptions, filter_options_clear)

int
sink_filter_main(int argc, char **argv)
{
	g_auto(FilterOptions) o = { .seed = -1, .draw_seed = -1 };
	const GOptionEntry entries[] = {
		{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &o.config, "Config file (default $SINK_CONFIG, else " SINK_SYSCONFDIR "/sink.ini, else built-in defaults)", "FILE" },
		{ "from", 0, 0, G_OPTION_ARG_FILENAME, &o.from, "Envelope sender (PMTA's $from); default: the Return-Path: header", "ADDR" },
		{ "to", 0, 0, G_OPTION_ARG_FILENAME, &o.to, "Envelope recipient (PMTA's $to); default: the first To: address", "ADDR" },
		{ "to-from-received", 0, 0, G_OPTION_ARG_NONE, &o.to_from_received, "Without --to, the recipient is the for <...> of the top Received: header (PMTA's file delivery), else the first To: address", NULL },
		{ "client-ip", 0, 0, G_OPTION_ARG_FILENAME, &o.client_ip, "Connecting client's IP for SPF; default: from the top Received: header", "IP" },
		{ "seed", 0, 0, G_OPTION_ARG_INT64, &o.seed, "Seed every random choice, for reproducible decisions", "N" },
		/* sink-filter-static's hand-on (module.h): the seed of the decision's draws alone, and the time left */
		{ "draw-seed", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT64, &o.draw_seed, NULL, "N" },
		{ "time-left", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT64, &o.time_left_ms, NULL, "MS" },
		{ "dry-run", 0, 0, G_OPTION_ARG_NONE, &o.dry_run, "Decide and check, but send, fetch, count and store nothing", NULL },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &o.json, "Print the decision record as JSON on stdout", NULL },
		{ "check-config", 'n', 0, G_OPTION_ARG_NONE, &o.check, "Check the config only (exit 0, or 78 when bad)", NULL },
		{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &o.verbose, "Also print the log line (and reports) on stderr", NULL },
		{ "version", 0, 0, G_OPTION_ARG_NONE, &o.version, "Print the version and exit", NULL },
		/* GOption's own --help exits the process, which a server's child must not do before it answers */
		{ "help", 'h', 0, G_OPTION_ARG_NONE, &o.help, "Show the options", NULL },
		/* read by the thin client before this runs (bin/sink-filter.c); accepted here */
		{ "server", 0, 0, G_OPTION_ARG_FILENAME, &o.server, "Hand the message to the sink-filterd listening on SOCKET (default $SINK_SERVER, else " SINK_SERVER_SOCKET ")", "SOCKET" },
		{ "no-server", 0, 0, G_OPTION_ARG_NONE, &o.no_server, "Run the message in this process, whether a server listens or not", NULL },
		/* read by the thin client too: it hands a spool run to sink-filterd, which has the pool */
		{ "spool", 0, 0, G_OPTION_ARG_FILENAME, &o.spool, "Run each message file (*.msg, *.eml) that PMTA's file delivery left in DIR once, N at a time, then exit; with -c, --json, -v and --seed only", "DIR" },
		{ "jobs", 'j', 0, G_OPTION_ARG_INT, &o.jobs, "With --spool: N messages at once (default: the number of cores)", "N" },
		{ "watch", 0, 0, G_OPTION_ARG_NONE, &o.watch, "With --spool: keep watching DIR for new files (inotify) until SIGTERM", NULL },
		{ NULL }
	};
	g_autoptr(GOptionContext) octx = g_option_context_new("- decide and act on one message read from stdin");
	g_autoptr(GError) error = NULL;
	const SinkConfig *cfg = NULL;	/* the cache's (sink_config_get): a server's child reuses it */
	g_autoptr(SinkCtx) ctx = NULL;
	g_autofree char *line = NULL;
	const char *path, *bad_usage = NULL;
	SinkModel model;
#ifdef SINK_STATIC_RUNNER
	g_auto(GStrv) given = g_strdupv(argv);	/* as given: a message handed on runs with it (module.h) */
#endif

	signal(SIGPIPE, SIG_IGN);
	g_set_prgname("sink-filter");
	g_option_context_set_help_enabled(octx, FALSE);
	g_option_context_add_main_entries(octx, entries, NULL);
	if (!g_option_context_parse(octx, &argc, &argv, &error))
		bad_usage = error->message;
	else if (argc > 1)
		bad_usage = "unexpected argument";
	else if (o.config && *o.config == '\0')
		bad_usage = "-c: the file name is empty";
	else if (o.seed != -1 && (o.seed < 0 || o.seed > G_MAXUINT32))	/* GRand takes 32 bits */
		bad_usage = "--seed must be 0 to 4294967295";
	else if (o.draw_seed != -1 && (o.draw_seed < 0 || o.draw_seed > G_MAXUINT32))
		bad_usage = "--draw-seed must be 0 to 4294967295";
	else if (o.time_left_ms < 0)
		bad_usage = "--time-left must not be negative";
	else if (o.spool)	/* the thin client execs sink-filterd for it: a run of one message never sees it */
		bad_usage = "--spool is run by sink-filterd (sink-filter execs it), not in a message's run";
	else if (o.jobs || o.watch)
		bad_usage = "-j and --watch go with --spool";
	if (bad_usage) {
		fprintf(stderr, "sink-filter: %s\n", bad_usage);
		fprintf(stderr, "usage: sink-filter [-c FILE] [--from ADDR] [--to ADDR] [--client-ip IP] "
			"[--seed N] [--dry-run] [--json] [-n] [-v] [--server SOCKET | --no-server]\n"
			"       sink-filter --spool DIR [-j N] [--watch] [-c FILE] [--json] [-v] [--seed N]\n");
		return sink_exit_status(SINK_OUTCOME_USAGE);
	}
	if (o.help) {
		g_autofree char *help = g_option_context_get_help(octx, TRUE, NULL);

		fputs(help, stdout);
		return fflush(stdout) == 0 ? 0 : sink_exit_status(SINK_OUTCOME_USAGE);
	}
	if (o.version) {
		printf("sink-filter %s\n", SINK_VERSION);
		return 0;
	}

#ifdef SINK_STATIC_RUNNER
	if (o.seed < 0)	/* the draws seeded always: a message handed on is decided again the same */
		o.draw_seed = sink_random_u32();
#endif
	path = o.config ? o.config : sink_config_default_path();
	cfg = sink_config_get(path, &error);
	if (cfg) {
		/* the model follows the day; the message's clock is the context's */
		ctx = sink_ctx_new(cfg, o.seed >= 0 ? o.seed : o.draw_seed);
		/* --draw-seed seeds the decision alone: what is drawn later (delays, a job's steps) stays unseeded */
		ctx->seed = o.seed;
		if (o.time_left_ms > 0)
			ctx->deadline = MIN(ctx->deadline, g_get_monotonic_time() + o.time_left_ms * 1000);
		if (!sink_model_init(&model, cfg, ctx->now, &error)) {
			g_clear_pointer(&ctx, sink_ctx_free);
			cfg = NULL;
		}
	}
	if (cfg == NULL) {
		fprintf(stderr, "sink-filter: config: %s\n", error->message);
		return sink_exit_status(o.check ? SINK_OUTCOME_CHECK_BAD : SINK_OUTCOME_CONFIG_BAD);
	}
	if (o.check) {
		const SinkDkimModule *dkim;

		/* whether the signing key loads is the DKIM module's to say, here and not on every message */
		if (cfg->dkim_sign_key &&
		    ((dkim = sink_module_dkim(&error)) == NULL || !dkim->sign_check(cfg, &error))) {
			fprintf(stderr, "sink-filter: config: %s\n", error->message);
			return sink_exit_status(SINK_OUTCOME_CHECK_BAD);
		}
		/* the obsolete keys are warned of here only: on every message they would only fill PMTA's log */
		for (guint i = 0; i < cfg->warnings->len; i++)
			fprintf(stderr, "sink-filter: warning: %s\n", (const char *)cfg->warnings->pdata[i]);
		/* and what only a message would show, for the user running this (PMTA's): a log it cannot write,
		 * a folder for done copies it cannot write, a User-Agent list it cannot read */
		if (!sink_log_check(cfg, ctx->now, &error)) {
			fprintf(stderr, "sink-filter: warning: Logfile: %s: each message's log line would go to standard "
				"error instead\n", error->message);
			g_clear_error(&error);
		}
		if (cfg->done_msg_file_dest && *cfg->done_msg_file_dest &&
		    !sink_writable_check(cfg->done_msg_file_dest, TRUE, "folder", "folder", &error)) {
			fprintf(stderr, "sink-filter: warning: Done_Msg_File_Dest: %s: no done copy could be kept\n",
				error->message);
			g_clear_error(&error);
		}
		const struct { const char *key, *file; } lists[] = {
			{ "User_Agents_File", cfg->user_agents_file },
			{ "Scanner_User_Agents_File", cfg->scanner_user_agents_file },
		};
		for (size_t i = 0; i < G_N_ELEMENTS(lists); i++) {
			g_autoptr(GPtrArray) agents = lists[i].file && *lists[i].file ?
						      sink_useragent_read(lists[i].file, &error) : NULL;

			if (error) {
				fprintf(stderr, "sink-filter: warning: %s: %s; the built-in list would be used\n",
					lists[i].key, error->message);
				g_clear_error(&error);
			}
		}
		printf("%s: OK\n", path ? path : "(built-in defaults)");
		return 0;
	}

	ctx->dry_run = o.dry_run;
	ctx->verbose = o.verbose;
	ctx->env_from = g_strdup(o.from);
	ctx->env_to = o.to && *o.to ? g_strdup(o.to) : NULL;
	ctx->to_from_received = o.to_from_received;
	if (o.client_ip && *o.client_ip && (ctx->client_ip = sink_ip_normalize(o.client_ip)) == NULL)
		sink_ctx_error(ctx, "--client-ip \"%s\" is not an IP address; ignored", o.client_ip);
	if (!sink_message_read(ctx, STDIN_FILENO, &error)) {
		/* in the log too: PowerMTA may keep no word of a pipe's standard error while it retries */
		g_autofree char *why = g_strdup_printf("message not read, deferred (75): %s", error->message);
		g_autofree char *warning = sink_log_warning_line(ctx->now, "sink-filter", why);

		fprintf(stderr, "sink-filter: %s\n", error->message);
		g_clear_error(&error);
		if (!o.dry_run && !sink_log_append(cfg, ctx->now, warning, &error))
			fprintf(stderr, "sink-filter: log not written: %s\n", error->message);
		return sink_exit_status(SINK_OUTCOME_READ_FAILED);
	}

	sink_pipeline_run(ctx, &model);
#ifdef SINK_STATIC_RUNNER
	if (ctx->hand_on)
		sink_module_hand_on(ctx, given, (guint32)(o.seed >= 0 ? o.seed : o.draw_seed));	/* returns only when it cannot: deferred, logged here */
#endif

	line = sink_log_line(ctx, "sink-filter");
	if (!o.dry_run && !sink_log_append(cfg, ctx->now, line, &error))
		fprintf(stderr, "sink-filter: log not written: %s\n", error->message);
	/* on stderr too when the log failed, or the message is deferred (why PMTA keeps it) */
	if (o.verbose || (error && !o.dry_run) || ctx->exit_code != 0)
		fprintf(stderr, "%s\n", line);
	if (o.verbose && ctx->report_text)
		fputs(ctx->report_text, stderr);
	if (o.json) {
		g_autofree char *json = sink_record_json(ctx);
		printf("%s\n", json);
	}
	if (fflush(stdout) != 0)
		fprintf(stderr, "sink-filter: standard output: write failed\n");
	return ctx->exit_code;
}
