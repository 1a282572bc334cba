/*
 * server.h - sink-filterd's machinery: a process with the libraries loaded
 * and initialised that runs each message handed to it (wire.h) in a fresh
 * fork of itself, with the client's descriptors, working directory, umask,
 * environment and arguments.  The forks are made ahead of time: a few
 * children always wait on the socket, so no client waits for a fork.
 *
 * A child runs up to runs_per_child messages, one at a time, then exits.
 * With 1, every message gets a fresh fork: what a process per message
 * gives (a clean state, a crash or leak of its own), less the exec, the
 * dynamic loader and the libraries' initialisation.  More than 1 also
 * saves the fork and, on virtual machines where a page fault is dear,
 * the copy-on-write faults a fresh fork takes on every run.  A run's
 * state lives in its context and is freed with it (valgrind checks that);
 * what the libraries cache across runs is bounded.
 */
#ifndef SINK_SERVER_H
#define SINK_SERVER_H

#include <glib.h>

typedef struct {
	const char *socket_path;
	guint max_children;		/* children at most, waiting or running; more clients wait in the backlog */
	guint spare;			/* children kept waiting for a connection (1 to max_children) */
	guint runs_per_child;		/* messages a child runs before it exits (1: a fresh fork for each) */
	int (*run)(int argc, char **argv);	/* one message, in the child; returns its exit status */
	void (*log)(const char *line);	/* one line per event worth an operator's eye */
	/* a child the server did not start itself ended (sink-filterd --worker's): its pid and wait status; may be NULL */
	void (*other_exit)(pid_t pid, int status);
} SinkServerOptions;

/*
 * sink_server_listen: bind and listen on o->socket_path (mode 0600 by the
 * umask 0177 around bind: only the server's own user may connect).  A
 * socket file left by a server that is gone is
 * replaced; one that a live server answers on is an error, as is any other
 * kind of file there.  Returns the listening descriptor, or -1 with error
 * set naming the path.
 */
int sink_server_listen(const SinkServerOptions *o, GError **error);

/*
 * sink_server_run: serve on listen_fd until SIGTERM or SIGINT, then stop
 * taking messages (clients still in the backlog are refused, and run their
 * messages themselves), remove the socket, wait for the running ones, and
 * return TRUE.  Must be called single-threaded: it forks.  It blocks
 * SIGCHLD, SIGTERM, SIGINT and SIGHUP (they are read on a signalfd) with
 * their default dispositions, whatever the process inherited, and ignores
 * SIGPIPE.  FALSE with error set when the server cannot go on (its set-up
 * or poll fail).
 */
gboolean sink_server_run(const SinkServerOptions *o, int listen_fd, GError **error);

#endif
