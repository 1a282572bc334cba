/*
 * sink-filterd - the resident half of sink-filter, for speed.
 *
 * Loads and initialises the libraries once (GLib, GMime, the DKIM and
 * action modules with OpenSSL, libcurl and libxml2), listens on a Unix
 * socket, and runs each message a sink-filter hands over in a fresh fork
 * of itself (lib/server/server.c), with the client's descriptors, directory,
 * umask, environment and arguments: the same run as without the server,
 * less the exec and the loading.  Reads no config of its own: each run
 * reads the config its command line names, as it would without a server.
 * Runs in the foreground, one line on stderr per event; stops on SIGTERM
 * once the running messages are done.  Keeps nothing it inherits above
 * descriptor 2: its children would hold it through every run.
 *
 * With --spool DIR (what `sink-filter --spool` execs) it runs the message
 * files PMTA's file delivery leaves in DIR instead, through the same pool
 * (lib/server/spool.c), once over or, with --watch, until SIGTERM.  Each
 * run is sink-filter's with -c, --json, -v and --seed as given, the
 * recipient taken from the top Received: header (--to-from-received).
 *
 * With --worker it also runs the delayed steps' jobs when they are due
 * (lib/server/worker.c), in a child of its own under the config -c names,
 * as sink-worker would; that child ends with the server.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sysexits.h>

#include "filter.h"
#include "message.h"
#include "claim.h"
#include "config.h"
#include "module.h"
#include "server.h"
#include "sink-build.h"
#include "spool.h"
#include "worker.h"

static char *opt_socket, *opt_spool, *opt_config;
static int opt_max = -1, opt_spare = -1, opt_runs = 1000;	/* -1: not given */
static gint64 opt_seed = -1;
static gboolean opt_version, opt_watch, opt_json, opt_verbose, opt_worker;

static const GOptionEntry entries[] = {
	{ "socket", 's', 0, G_OPTION_ARG_FILENAME, &opt_socket, "Listen on SOCKET (default $SINK_SERVER, else " SINK_SERVER_SOCKET ")", "SOCKET" },
	{ "max-children", 'j', 0, G_OPTION_ARG_INT, &opt_max, "Run at most N messages at once (default 64; with --spool, the number of cores)", "N" },
	/* sink-filter --spool's spelling (its --help and man page): it execs this program with its arguments */
	{ "jobs", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &opt_max, "With --spool: N messages at once", "N" },
	{ "spare", 0, 0, G_OPTION_ARG_INT, &opt_spare, "Keep N children forked and waiting for a message (default 4, or --max-children when fewer)", "N" },
	{ "runs-per-child", 0, 0, G_OPTION_ARG_INT, &opt_runs, "A child runs N messages, one at a time, then exits (default 1000; 1: a fresh fork for every message)", "N" },
	{ "spool", 0, 0, G_OPTION_ARG_FILENAME, &opt_spool, "Run the message files PMTA's file delivery leaves in DIR (*.msg, *.eml), each once, then exit", "DIR" },
	{ "watch", 0, 0, G_OPTION_ARG_NONE, &opt_watch, "With --spool: keep watching DIR for new files until SIGTERM", NULL },
	{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &opt_config, "With --spool: the config of every run (default $SINK_CONFIG, else " SINK_SYSCONFDIR "/sink.ini, else built-in defaults)", "FILE" },
	{ "json", 0, 0, G_OPTION_ARG_NONE, &opt_json, "With --spool: print each message's decision record, one JSON object a line", NULL },
	{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose, "With --spool: also print each message's log line on stderr", NULL },
	{ "seed", 0, 0, G_OPTION_ARG_INT64, &opt_seed, "With --spool: seed every run's random choices", "N" },
	{ "worker", 0, 0, G_OPTION_ARG_NONE, &opt_worker, "Also run the delayed steps' jobs when due, as sink-worker (with -c: its config)", NULL },
	{ "version", 0, 0, G_OPTION_ARG_NONE, &opt_version, "Print the version and exit", NULL },
	{ NULL }
};

#define USAGE "usage: sink-filterd [-s SOCKET] [-j N] [--spare N] [--runs-per-child N] [--worker [-c FILE]]\n" \
	"       sink-filterd --spool DIR [-j N] [--watch] [-c FILE] [--json] [-v] [--seed N] [--runs-per-child N]\n"

static void
log_line(const char *line)
{
	fprintf(stderr, "sink-filterd: %s\n", line);
}

/*
 * --worker: the worker child, started again when it ends while the server
 * runs (a crash, a config it could not load); one that ended within
 * WORKER_QUICK_S of its start waits that long before it starts again.
 */
#define WORKER_QUICK_S 10

static SinkWorkerOptions worker_opts;
static pid_t worker = -1;
static gint64 worker_started;	/* monotonic, us */

static void
worker_start(guint pause_s)
{
	worker_opts.pause_s = pause_s;
	worker_started = g_get_monotonic_time() + (gint64)pause_s * G_USEC_PER_SEC;
	g_autofree char *line = NULL;

	if ((worker = sink_worker_spawn(&worker_opts)) < 0) {
		log_line("the worker cannot start: fork failed");
		return;
	}
	line = g_strdup_printf("the worker runs the delayed steps' jobs (pid %ld)", (long)worker);
	log_line(line);
}

static void
worker_exit(pid_t pid, int status)
{
	gboolean quick = g_get_monotonic_time() - worker_started < WORKER_QUICK_S * G_USEC_PER_SEC;
	g_autofree char *how = WIFSIGNALED(status) ? g_strdup_printf("died of signal %d (%s)", WTERMSIG(status),
								      strsignal(WTERMSIG(status)))
				: g_strdup_printf("exited %d", WEXITSTATUS(status));
	g_autofree char *line = NULL;

	if (pid != worker)
		return;
	line = g_strdup_printf("the worker (pid %ld) %s; started again%s", (long)pid, how,
			       quick ? " in " G_STRINGIFY(WORKER_QUICK_S) " s" : "");
	log_line(line);
	worker_start(quick ? WORKER_QUICK_S : 0);
}

/* Load and set up what every run would otherwise load and set up for itself. */
static void
warm(void)
{
	g_autoptr(GError) error = NULL;
	const SinkDkimModule *dkim;
	const SinkActModule *act;

	sink_gmime_init();
	if ((dkim = sink_module_dkim(&error)) != NULL)
		dkim->warm();
	else
		log_line(error->message);	/* each run that needs it says so again, and defers its message */
	g_clear_error(&error);
	if ((act = sink_module_act(&error)) != NULL)
		act->warm();
	else
		log_line(error->message);
}

/*
 * --spool: check the config (Message_Timeout says when a dead run's claims
 * are taken over), then run the folder.  Exit 0 when every message ran,
 * or --watch stopped; 75 when one was put back for a later run (or the
 * config is broken: none ran), 66 when the folder cannot be read, 73 when
 * its claims cannot be made (or .claimed/ went), 71 when the pool failed.
 */
static int
spool_main(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func(g_free);
	const char *path = opt_config ? opt_config : sink_config_default_path();
	const SinkConfig *cfg = sink_config_get(path, &error);
	SinkSpoolResult res;
	SinkSpoolOptions o = {
		.dir = opt_spool,
		.jobs = (guint)opt_max,
		.watch = opt_watch,
		.runs_per_child = (guint)opt_runs,
		.capture_stdout = opt_json,
		.run = sink_filter_main,
		.log = log_line,
	};

	if (cfg == NULL) {
		fprintf(stderr, "sink-filterd: config: %s; nothing run\n", error->message);
		return EX_TEMPFAIL;
	}
	o.claim_timeout_s = cfg->message_timeout;
	g_ptr_array_add(args, g_strdup("sink-filter"));
	g_ptr_array_add(args, g_strdup("--to-from-received"));
	if (opt_config) {
		g_ptr_array_add(args, g_strdup("-c"));
		g_ptr_array_add(args, g_strdup(opt_config));
	}
	if (opt_json)
		g_ptr_array_add(args, g_strdup("--json"));
	if (opt_verbose)
		g_ptr_array_add(args, g_strdup("-v"));
	if (opt_seed != -1)
		g_ptr_array_add(args, g_strdup_printf("--seed=%" G_GINT64_FORMAT, opt_seed));
	o.run_argc = (int)args->len;
	g_ptr_array_add(args, NULL);
	o.run_argv = (char **)args->pdata;
	warm();
	if (!sink_spool_run(&o, &res, &error)) {
		log_line(error->message);
		if (error->domain != SINK_CLAIMS_ERROR)
			return EX_OSERR;
		return error->code == SINK_CLAIMS_ERROR_FOLDER ? EX_NOINPUT : EX_CANTCREAT;
	}
	/* with --watch a file put back was retried while it ran; what is left waits for the next start */
	return res.deferred && !opt_watch ? EX_TEMPFAIL : 0;
}

int
main(int argc, char **argv)
{
	g_autoptr(GOptionContext) octx = g_option_context_new("- run sink-filter's messages without their start-up cost");
	g_autoptr(GError) error = NULL;
	SinkServerOptions o = { .run = sink_filter_main, .log = log_line, .other_exit = worker_exit };
	const char *bad_usage = NULL;
	gboolean ok;
	int fd;

	/*
	 * Nothing inherited above 2: every child would hold it through every
	 * run (a pipe's end held so keeps the script that started the server
	 * from ever seeing its EOF).  The listening socket is made later.
	 */
	closefrom(3);
	/* 0, 1 and 2 open, so that nothing of the server's lands there (a child restores them after each run) */
	while ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0 && fd < 3)
		fcntl(fd, F_SETFD, 0);
	if (fd >= 3)
		close(fd);
	g_option_context_add_main_entries(octx, entries, NULL);
	if (!g_option_context_parse(octx, &argc, &argv, &error))
		bad_usage = error->message;
	else if (argc > 1)
		bad_usage = "unexpected argument";
	else if (opt_max == -1)
		opt_max = opt_spool ? (int)MIN(g_get_num_processors(), 4096) : 64;
	if (bad_usage == NULL && (opt_max < 1 || opt_max > 4096 || (opt_spare != -1 && (opt_spare < 1 || opt_spare > opt_max)) ||
				  opt_runs < 1))
		bad_usage = opt_spool ? "-j must be 1 to 4096, --runs-per-child 1 or more"
				      : "--max-children must be 1 to 4096, --spare 1 to --max-children, --runs-per-child 1 or more";
	else if (bad_usage == NULL && opt_spool == NULL &&
		 (opt_watch || (opt_config && !opt_worker) || opt_json || opt_verbose || opt_seed != -1))
		bad_usage = "--watch, -c, --json, -v and --seed go with --spool (-c with --worker too)";
	else if (bad_usage == NULL && opt_spool && opt_worker)
		bad_usage = "--worker goes with the server, not --spool";
	else if (bad_usage == NULL && opt_spool && (opt_socket || opt_spare != -1))
		bad_usage = "--spool runs its own pool: no --socket or --spare";
	else if (bad_usage == NULL && opt_spool && (*opt_spool == '\0' || (opt_config && *opt_config == '\0')))
		bad_usage = "--spool and -c need a name";
	else if (bad_usage == NULL && opt_seed != -1 && (opt_seed < 0 || opt_seed > G_MAXUINT32))
		bad_usage = "--seed must be 0 to 4294967295";
	if (bad_usage) {
		fprintf(stderr, "sink-filterd: %s\n" USAGE, bad_usage);
		return EX_USAGE;
	}
	if (opt_version) {
		printf("sink-filterd %s\n", SINK_VERSION);
		return 0;
	}
	if (opt_spool)	/* the config first: a broken one runs nothing, as it would defer every message */
		return spool_main();
	o.socket_path = opt_socket ? opt_socket : g_getenv("SINK_SERVER");
	if (o.socket_path == NULL || *o.socket_path == '\0')
		o.socket_path = SINK_SERVER_SOCKET;
	o.max_children = (guint)opt_max;
	o.spare = opt_spare != -1 ? (guint)opt_spare : (guint)MIN(4, opt_max);
	o.runs_per_child = (guint)opt_runs;

	warm();
	if ((fd = sink_server_listen(&o, &error)) < 0) {
		log_line(error->message);
		return EX_CANTCREAT;
	}
	fprintf(stderr, "sink-filterd: listening on %s (up to %u messages at once)\n", o.socket_path, o.max_children);
	if (opt_worker) {
		worker_opts = (SinkWorkerOptions){
			.config_path = opt_config,
			.processes = 1, .program = "sink-filterd",
		};
		worker_start(0);
	}
	ok = sink_server_run(&o, fd, &error);
	if (worker > 0) {	/* it finishes its job, and stops */
		pid_t last = worker;

		worker = -1;	/* not started again */
		kill(last, SIGTERM);
		waitpid(last, NULL, 0);
	}
	if (!ok) {
		log_line(error->message);
		return EX_OSERR;
	}
	log_line("stopped");
	return 0;
}
