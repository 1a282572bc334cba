/*
 * worker.h - sink-worker, and sink-filterd --worker: the delayed steps'
 * jobs (core/job.h) run when they are due, by any number of processes on
 * any number of hosts sharing one Redis (SPEC section 20).
 *
 * A job is claimed by a Lua script that moves it from the due set to the
 * lease set, scored by the lease's end (Message_Timeout + 2 s, the time a
 * run may take and a margin): no other worker can take it while the lease
 * runs.  It is run through the action module, as on delivery, and ended by
 * a second script that, only if the lease is still this worker's, removes
 * the job, bumps its counters and adds the job that follows it (a click
 * after its open): all at once, so a job's counters are bumped once.  A job
 * whose worker died is claimed again when its lease ends; one claimed
 * SINK_WORKER_MAX_TRIES times without ending is dropped as failed (a job
 * that kills its worker is not run forever), as is a job that cannot be
 * read; one older than Delay_Job_Max_Age is dropped as expired.
 */
#ifndef SINK_WORKER_H
#define SINK_WORKER_H

#include <signal.h>

#include <glib.h>

#include "config.h"

#define SINK_WORKER_MAX_TRIES 3
#define SINK_WORKER_LEASE_MARGIN 2	/* seconds past Message_Timeout */

typedef struct {
	const char *config_path;	/* NULL: the default, looked for at each job (config.h) */
	guint processes;		/* jobs run at once, each in a process of its own (1: this one) */
	gboolean once;			/* run what is due now, then return */
	gboolean verbose;		/* each job's log line on stderr too */
	const char *program;		/* the log lines' program field */
	guint pause_s;			/* sink_worker_spawn: the child waits this long before it starts (a restart) */
} SinkWorkerOptions;

/*
 * sink_worker_run: load the config (again when it changes) and run jobs
 * until SIGTERM or SIGINT (the jobs running finish first), or with `once`
 * until none is due.  Installs its own handlers for those signals.
 * Returns an exit status: 0, or 75 when the config is bad or (with once)
 * Redis cannot be reached; problems are said on stderr.
 */
int sink_worker_run(const SinkWorkerOptions *o);

/*
 * sink_worker_spawn: sink_worker_run in a child process that ends with its
 * parent (sink-filterd --worker), after o->pause_s seconds; the child
 * closes every descriptor above 2 and unblocks every signal, so that it may
 * be forked from inside the server's loop.  Returns its pid, or -1 with
 * errno.
 */
pid_t sink_worker_spawn(const SinkWorkerOptions *o);

#endif
