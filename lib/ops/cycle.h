/*
 * cycle.h - sink-cycle's work: today's Weekly_Cycle_Bounce_Rate value, the
 * edit of the one `dummy-smtp-blacklist-bounce-percent` line of PMTA's
 * config (everything else kept byte for byte), the atomic replacement of
 * that file, and PMTA's reload command.  Nothing here prints or exits.
 */
#ifndef SINK_CYCLE_H
#define SINK_CYCLE_H

#include <glib.h>

#include "config.h"

#define SINK_CYCLE_DIRECTIVE "dummy-smtp-blacklist-bounce-percent"

/* The reload command, and every process it started, is killed after this many seconds. */
#define SINK_CYCLE_RELOAD_TIMEOUT 120

#define SINK_CYCLE_ERROR (sink_cycle_error_quark())
GQuark sink_cycle_error_quark(void);

typedef enum {
	SINK_CYCLE_ERROR_READ,		/* the PMTA config cannot be read */
	SINK_CYCLE_ERROR_NO_DIRECTIVE,	/* it has no (uncommented) directive line */
	SINK_CYCLE_ERROR_WRITE,		/* it cannot be replaced */
	SINK_CYCLE_ERROR_RELOAD,	/* the reload command failed, or could not start */
	SINK_CYCLE_ERROR_RELOAD_TIMEOUT,	/* it timed out: it was killed, and PMTA may have reloaded */
} SinkCycleError;

/*
 * sink_cycle_bounce_rate: today's (`now`, UTC) value of
 * Weekly_Cycle_Bounce_Rate, by the same index rule as the open cycle
 * (sink_weekly_index).  *index (may be NULL) gets the list index used.
 */
double sink_cycle_bounce_rate(const SinkConfig *cfg, GDateTime *now, gsize *index);

/* sink_cycle_format_value: a percent as PMTA reads it: "4", "2.5".  g_free. */
char *sink_cycle_format_value(double percent);

typedef struct {
	char *text;		/* the whole new file; the same bytes as the old but the value */
	gsize len;
	char *old_line;		/* the first directive line, as it was (no line ending) */
	char *new_line;		/* that line with the new value (no line ending) */
	char *old_value;	/* its value before ("" when it had none) */
	guint lines;		/* directive lines found (all of them get the value) */
	gboolean changed;	/* text differs from the old file */
} SinkCycleEdit;

/*
 * sink_cycle_edit: in the file text `text` (`len` bytes, need not end in a
 * NUL; `name` is the file's name for messages) set the value of every
 * uncommented SINK_CYCLE_DIRECTIVE line (name matched case-insensitively,
 * indentation, spacing, a trailing comment and the line ending kept) to
 * `value`.  Fills `edit` (clear it with sink_cycle_edit_clear) and returns
 * TRUE, or returns FALSE with SINK_CYCLE_ERROR_NO_DIRECTIVE naming the file
 * when there is no such line.
 */
gboolean sink_cycle_edit(const char *name, const char *text, gsize len, const char *value, SinkCycleEdit *edit,
			 GError **error);

/* sink_cycle_edit_clear: free what `edit` holds and zero it. */
void sink_cycle_edit_clear(SinkCycleEdit *edit);

/*
 * sink_cycle_replace_file: replace the existing file `path` (a symbolic
 * link is followed: its target is replaced) with `len` bytes of `data`,
 * atomically: a temporary file in the same folder with the old file's mode
 * (and owner, when allowed), fsync, rename over it, fsync of the folder.
 * FALSE with SINK_CYCLE_ERROR_WRITE when it cannot; the old file is then
 * left as it was.
 */
gboolean sink_cycle_replace_file(const char *path, const char *data, gsize len, GError **error);

/*
 * sink_cycle_reload: run `command`, split into words as a shell would
 * (g_shell_parse_argv: quotes work, but no pipes, redirections or
 * variables) and searched in PATH, without a shell, in a process group of
 * its own, within SINK_CYCLE_RELOAD_TIMEOUT seconds: then the whole group
 * is killed.  *output (may be NULL) gets what it printed on stdout and
 * stderr (the first 64 KiB of each), trimmed (g_free); output is read until
 * the command exits and half a second more, not until every process it
 * started closes it.  FALSE with SINK_CYCLE_ERROR_RELOAD, naming the command
 * and why, when it cannot start, does not exit with 0, or times out.
 */
gboolean sink_cycle_reload(const char *command, char **output, GError **error);

/*
 * sink_cycle_lock: wait for and take an exclusive lock (flock(2)) on the
 * folder of the file at `path` (a link followed, as replacing it does), so
 * that runs of sink-cycle on one PMTA config go one after the other.
 * Returns the descriptor holding it (closed, the lock goes), or -1 with
 * SINK_CYCLE_ERROR_WRITE.
 */
int sink_cycle_lock(const char *path, GError **error);

/*
 * A reload owed: the file at `path` was replaced and PMTA not yet reloaded
 * (a run killed between the two), marked by an empty file
 * ".<name>.sink-cycle-reload-pending" beside it.  sink_cycle_reload_owed:
 * whether it is there; sink_cycle_owe_reload: make it (owed) or remove it,
 * FALSE with SINK_CYCLE_ERROR_WRITE when it cannot.
 */
gboolean sink_cycle_reload_owed(const char *path);
gboolean sink_cycle_owe_reload(const char *path, gboolean owed, GError **error);

/* sink_cycle_reload_within: sink_cycle_reload with a deadline of `timeout` seconds. */
gboolean sink_cycle_reload_within(const char *command, int timeout, char **output, GError **error);

#endif
