/*
 * pool.h - a private pool of sink-filterd's children, and its one client:
 * what spool mode runs its messages with.
 *
 * The pool is server.c's, unchanged: a sink_server_run() in a forked
 * process, listening on a socket in a temporary folder of its own, with
 * as many children as messages may run at once.  Each message is handed
 * to it as sink-filter hands over its own (wire.h): the same arguments and
 * environment every time, a file as standard input, and an answer per
 * connection.  The pool is told to die with the process that started it
 * (PR_SET_PDEATHSIG): killed outright, that process takes its pool with
 * it, and the runs going on end as their connections close (server.c).
 */
#ifndef SINK_POOL_H
#define SINK_POOL_H

#include <glib.h>

#include "server.h"
#include "wire.h"

typedef struct {
	SinkServerOptions so;	/* the pool's: socket_path is made by sink_pool_start */
	char *tmpdir, *sock;
	pid_t pid;		/* 0: not started; -1: ended */
	int cwd_fd;		/* the working directory every run gets */
	size_t request_len;
	char request[SINK_WIRE_MAX];	/* every run's: its arguments, our umask and environment */
} SinkPool;

/* What the pool answered for one message. */
typedef enum {
	SINK_POOL_EXIT,		/* the run exited with *status */
	SINK_POOL_REFUSED,	/* the pool did not run it (it is stopping); *why says so */
	SINK_POOL_DIED,		/* the connection closed without an answer: the run died */
} SinkPoolAnswer;

/*
 * sink_pool_init: get p ready (nothing started): the pool's options (its
 * socket_path is ignored) and the request of every run, argv's argc
 * strings with this process's umask and environment.  FALSE with error
 * set when they do not fit in a request or the working directory cannot
 * be opened.  Clean up with sink_pool_stop.
 */
gboolean sink_pool_init(SinkPool *p, const SinkServerOptions *so, int argc, char **argv, GError **error);

/*
 * sink_pool_start: make the socket and fork the pool.  In the child,
 * child_setup(data) runs first (to close what the pool must not hold);
 * every other descriptor stays, so a lock held on one lasts while any of
 * the pool lives.  The pool's lines go to so->log, but for its
 * "stopping:" (the caller stops it).  FALSE with error set.
 */
gboolean sink_pool_start(SinkPool *p, void (*child_setup)(gpointer), gpointer data, GError **error);

/*
 * sink_pool_hand_over: hand a message to the pool: `in` as its standard
 * input, `out` as its standard output, our standard error.  Returns the
 * connection to wait on for the answer (POLLIN), or -1 with errno set.
 */
int sink_pool_hand_over(SinkPool *p, int in, int out);

/*
 * sink_pool_answer: read the answer on conn, and close it.  *status is
 * the run's exit status with SINK_POOL_EXIT; *why (g_free) the pool's
 * reason with SINK_POOL_REFUSED, else NULL.
 */
SinkPoolAnswer sink_pool_answer(int conn, int *status, char **why);

/*
 * sink_pool_ended: after a SIGCHLD, whether the pool has ended (reaped
 * then; *wstatus is its wait status).  Only sink_pool_stop ends it on
 * purpose.
 */
gboolean sink_pool_ended(SinkPool *p, int *wstatus);

/* sink_pool_stop: stop the pool (SIGTERM: it lets running messages finish), wait for it, clean up. */
void sink_pool_stop(SinkPool *p);

#endif
