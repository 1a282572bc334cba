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
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sysexits.h>

#include "filter.h"
#include "message.h"
#include "module.h"
#include "server.h"
#include "sink-build.h"

static char *opt_socket;
static int opt_max = 64, opt_spare = -1, opt_runs = 1000;	/* spare -1: not given */
static gboolean opt_version;

static const GOptionEntry entries[] = {
	{ "socket", 's', 0, G_OPTION_ARG_FILENAME, &opt_socket, "Listen on SOCKET (default $SINK_SERVER, else " SINK_SERVER_SOCKET ")", "SOCKET" },
	{ "max-children", 'j', 0, G_OPTION_ARG_INT, &opt_max, "Run at most N messages at once (default 64)", "N" },
	{ "spare", 0, 0, G_OPTION_ARG_INT, &opt_spare, "Keep N children forked and waiting for a message (default 4, or --max-children when fewer)", "N" },
	{ "runs-per-child", 0, 0, G_OPTION_ARG_INT, &opt_runs, "A child runs N messages, one at a time, then exits (default 1000; 1: a fresh fork for every message)", "N" },
	{ "version", 0, 0, G_OPTION_ARG_NONE, &opt_version, "Print the version and exit", NULL },
	{ NULL }
};

static void
log_line(const char *line)
{
	fprintf(stderr, "sink-filterd: %s\n", line);
}

int
main(int argc, char **argv)
{
	g_autoptr(GOptionContext) octx = g_option_context_new("- run sink-filter's messages without their start-up cost");
	g_autoptr(GError) error = NULL;
	const SinkDkimModule *dkim;
	const SinkActModule *act;
	SinkServerOptions o = { .run = sink_filter_main, .log = log_line };
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
	if (!g_option_context_parse(octx, &argc, &argv, &error) || argc > 1 || opt_max < 1 || opt_max > 4096 ||
	    (opt_spare != -1 && (opt_spare < 1 || opt_spare > opt_max)) || opt_runs < 1) {
		fprintf(stderr, "sink-filterd: %s\n", error ? error->message :
			argc > 1 ? "unexpected argument" : "--max-children must be 1 to 4096, --spare 1 to --max-children, --runs-per-child 1 or more");
		fprintf(stderr, "usage: sink-filterd [-s SOCKET] [-j N] [--spare N] [--runs-per-child N]\n");
		return EX_USAGE;
	}
	if (opt_version) {
		printf("sink-filterd %s\n", SINK_VERSION);
		return 0;
	}
	o.socket_path = opt_socket ? opt_socket : g_getenv("SINK_SERVER");
	if (o.socket_path == NULL || *o.socket_path == '\0')
		o.socket_path = SINK_SERVER_SOCKET;
	o.max_children = (guint)opt_max;
	o.spare = opt_spare != -1 ? (guint)opt_spare : (guint)MIN(4, opt_max);
	o.runs_per_child = (guint)opt_runs;

	/* what every run would otherwise load and set up for itself */
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
	g_clear_error(&error);

	if ((fd = sink_server_listen(&o, &error)) < 0) {
		log_line(error->message);
		return EX_CANTCREAT;
	}
	fprintf(stderr, "sink-filterd: listening on %s (up to %u messages at once)\n", o.socket_path, o.max_children);
	if (!sink_server_run(&o, fd, &error)) {
		log_line(error->message);
		return EX_OSERR;
	}
	log_line("stopped");
	return 0;
}
