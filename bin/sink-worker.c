/*
 * sink-worker - runs the delayed steps (SPEC section 20) when they are due.
 *
 * sink-filter puts a step that waits (Open_Delay, Click_Delay, OOB_Delay,
 * ..., or an X-Bouncy-Sink delay=) into Redis as a job and is done; this
 * program runs those jobs, in the foreground until SIGTERM (systemd), or
 * with --once what is due now (cron).  Any number of them, on any hosts
 * that share the Redis, share the work: each job runs once
 * (lib/server/worker.c).
 */
#include <stdio.h>
#include <sysexits.h>

#include "config.h"
#include "message.h"
#include "module.h"
#include "sink-build.h"
#include "worker.h"

int
main(int argc, char **argv)
{
	g_autofree char *config = NULL;
	int concurrency = 1;
	gboolean once = FALSE, verbose = FALSE, version = FALSE;
	const GOptionEntry entries[] = {
		{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &config, "Config file (default $SINK_CONFIG, else " SINK_SYSCONFDIR "/sink.ini, else built-in defaults)", "FILE" },
		{ "concurrency", 'j', 0, G_OPTION_ARG_INT, &concurrency, "Run N jobs at once, each in a process of its own (default 1)", "N" },
		{ "once", 0, 0, G_OPTION_ARG_NONE, &once, "Run the jobs due now, then exit (for cron)", NULL },
		{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Also print each job's log line on stderr", NULL },
		{ "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
		{ NULL }
	};
	g_autoptr(GOptionContext) octx = g_option_context_new("- run the delayed steps' jobs when they are due");
	g_autoptr(GError) error = NULL;
	SinkWorkerOptions o = { .program = "sink-worker" };
	const char *bad_usage = NULL;

	g_option_context_add_main_entries(octx, entries, NULL);
	if (!g_option_context_parse(octx, &argc, &argv, &error))
		bad_usage = error->message;
	else if (argc > 1)
		bad_usage = "unexpected argument";
	else if (concurrency < 1 || concurrency > 1024)
		bad_usage = "--concurrency must be 1 to 1024";
	else if (config && *config == '\0')
		bad_usage = "-c: the file name is empty";
	if (bad_usage) {
		fprintf(stderr, "sink-worker: %s\nusage: sink-worker [-c FILE] [-j N] [--once] [-v]\n", bad_usage);
		return EX_USAGE;
	}
	if (version) {
		printf("sink-worker %s\n", SINK_VERSION);
		return 0;
	}
	o.config_path = config;
	o.processes = (guint)concurrency;
	o.once = once;
	o.verbose = verbose;
	sink_gmime_init();
	return sink_worker_run(&o);
}
