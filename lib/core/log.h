/*
 * log.h - the per-message log line: CSV like the original, appended whole
 * with one write(2) to a daily file, with a stable current-name link and
 * Logfile_backup_count days kept.
 */
#ifndef SINK_LOG_H
#define SINK_LOG_H

#include <sys/stat.h>

#include "context.h"

/*
 * sink_log_line: the line for ctx without the newline: time, program,
 * level, message id, To, From, then notes, actions and '!'-errors.  g_free.
 */
char *sink_log_line(SinkCtx *ctx, const char *program);

/*
 * sink_log_warning_line: a line about the program, not a message, in the
 * same shape: time, program, WARNING, "-" for the message id, To and
 * From, then "!" and `text` as one error field.  g_free.
 */
char *sink_log_warning_line(GDateTime *now, const char *program, const char *text);

/*
 * sink_log_append: append `line` plus a newline to cfg->logfile's dated
 * file for `now` (UTC) in one write, pointing the Logfile name at it.
 * FALSE with `error` when it cannot.
 */
gboolean sink_log_append(const SinkConfig *cfg, GDateTime *now, const char *line, GError **error);

/*
 * sink_log_check: whether this process may append to the log for `now`
 * (-n): today's file writable, or, not there yet, the nearest folder of
 * its path that is there writable (sink_log_append makes the rest).
 * Nothing is made.  FALSE with `error` naming the file or folder.
 */
gboolean sink_log_check(const SinkConfig *cfg, GDateTime *now, GError **error);

/*
 * sink_give_to_folder_owner: for a process run as root (by hand), give fd,
 * a file or a folder it has just made in `folder` (stat), to that folder's
 * owner and group: a folder with the folder's permissions, a file group-
 * writable when the folder is.  The service's user (PMTA's: the folder's
 * owner, or its group when root owns it) must go on writing what a run by
 * hand made.  Nothing for another user.
 */
void sink_give_to_folder_owner(int fd, const struct stat *folder, gboolean is_folder);

/*
 * sink_writable_check: whether this process may write `target`, a file
 * (folder FALSE: it must not be a symbolic link) or a folder to make files
 * in; not there yet, whether it may make it: the nearest folder of its path
 * that is there writable.  Nothing is made.  FALSE with `error` naming
 * `what` (the target) or `up_what` (a folder above it) and its path.
 */
gboolean sink_writable_check(const char *target, gboolean folder, const char *what, const char *up_what,
			     GError **error);

/*
 * sink_log_dated_path: "<Logfile>.<YYYY-MM-DD>" for `when`.  g_free.
 */
char *sink_log_dated_path(const SinkConfig *cfg, GDateTime *when);

/*
 * sink_log_prune: delete dated log files older than Logfile_backup_count
 * days before `now`.  Returns the number deleted; with failed set, what
 * went wrong is added to it (g_free): each file that could not be deleted,
 * or the folder that could not be read, and why.
 */
int sink_log_prune(const SinkConfig *cfg, GDateTime *now, GPtrArray *failed);

#endif
