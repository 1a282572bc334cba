/*
 * spool.h - sink-filterd's spool mode, the original's way of running: PMTA
 * delivers each message as a file into a folder (type file, file-format
 * newfile-plain), and every message file there runs once through the same
 * pipeline, N at a time, without a process started per message.
 *
 * The runs are the server's (server.h): the spool starts sink-filterd's
 * pool of forked children on a private socket and hands each one claimed
 * file as standard input with the wire protocol (wire.h), as sink-filter
 * hands over its own: the same children, the same run, the same answers.
 * What the spool adds is which file runs when, and claims (claim.h), so
 * that no file is run twice and none is lost.
 *
 * A message file is a regular file whose name ends in .msg (PMTA's, and
 * what the original took) or .eml and does not start with a dot.  One that
 * changed in the last 2 seconds is left for later (PMTA may still be
 * writing it); with watch, a file closed after writing or moved in runs at
 * once.  A claimed file still open for writing (its writer stalled) goes
 * back, for the next run or, with watch, until its writer closes it.
 * After its run: exit 0, its claim is removed (the run kept a done
 * copy where section 9's rules want one); a run that asks for a retry
 * (71, 74, 75) or dies puts the file back for a later run; a file that is
 * empty, unreadable or not a regular file, or whose run exited otherwise,
 * goes to DIR/.quarantine/.  Each
 * of these, and every file left alone, is one line through o->log.
 */
#ifndef SINK_SPOOL_H
#define SINK_SPOOL_H

#include <glib.h>

typedef struct {
	const char *dir;		/* the folder PMTA delivers into */
	guint jobs;			/* messages run at once (the pool's children) */
	gboolean watch;			/* keep going (inotify) until SIGTERM or SIGINT; else once over the folder */
	int claim_timeout_s;		/* Message_Timeout: a gone run's claims are taken over after it and a margin */
	guint runs_per_child;		/* as the server's (server.h) */
	int run_argc;			/* each message's run: its arguments (argv[0] first) */
	char **run_argv;
	gboolean capture_stdout;	/* each run's standard output (--json) goes out whole, one run's after another's */
	int (*run)(int argc, char **argv);	/* one message, in a pool child; returns its exit status */
	void (*log)(const char *line);	/* one line per event worth an operator's eye */
} SinkSpoolOptions;

/* What a spool run did. */
typedef struct {
	guint done;		/* messages run and removed */
	guint deferred;		/* put back for a later run: their run asked for a retry, died or was refused */
	guint quarantined;	/* files that are not messages, moved to .quarantine/ */
	guint unstarted;	/* handed to the pool but not started before a stop: back in the folder as they were */
} SinkSpoolResult;

/*
 * sink_spool_run: run the folder's message files.  Once over (without
 * watch): returns when a look at the folder finds nothing more to run,
 * having waited for files still being written and for the claims of runs
 * that died to come of age (not for another live run's).  With watch, or
 * once over, SIGTERM or SIGINT stop it: no more claims, the running
 * messages finish, the rest stays in the folder.  *result says what was
 * done.  Must be called single-threaded: it forks.  It blocks SIGCHLD,
 * SIGTERM, SIGINT and SIGHUP (read on a signalfd; SIGHUP is ignored) with
 * their default dispositions, and ignores SIGPIPE.  FALSE with error set
 * when it cannot go on: the folder cannot be opened or watched, or gone
 * (SINK_CLAIMS_ERROR_FOLDER), claims cannot be made (_CLAIMS), the pool
 * failed (G_FILE_ERROR); what was running has finished by then.
 */
gboolean sink_spool_run(const SinkSpoolOptions *o, SinkSpoolResult *result, GError **error);

#endif
