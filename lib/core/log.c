/*
 * log.c - one log line per message, CSV like the original's.
 *
 * Many sink-filter processes append at once, so each line goes out in a
 * single write(2) on an O_APPEND descriptor: the kernel keeps such writes
 * whole on a local file system.  Files are daily, "<Logfile>.YYYY-MM-DD"
 * (UTC), with Logfile itself a symbolic link to today's file, switched by
 * an atomic rename; the first writer of a day prunes files past
 * Logfile_backup_count days.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "persona.h"

/* Append `s` as one CSV field: quoted when needed, kept on one line. */
static void
csv_field(GString *out, const char *s)
{
	if (out->len)
		g_string_append_c(out, ',');
	if (s == NULL)
		return;
	gboolean quote = strpbrk(s, ",\"\r\n") != NULL;
	if (quote)
		g_string_append_c(out, '"');
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			g_string_append(out, "\"\"");
		else if (*p == '\r' || *p == '\n' || *p == '\t')
			g_string_append_c(out, ' ');
		else if ((unsigned char)*p < 0x20 || *p == 0x7f)
			g_string_append_c(out, '?');
		else
			g_string_append_c(out, *p);
	}
	if (quote)
		g_string_append_c(out, '"');
}

static char *
action_text(const SinkAction *a)
{
	GString *s = g_string_new(NULL);

	if (a->error)
		g_string_append_c(s, '!');
	g_string_append(s, a->type);
	if (a->by)	/* machine traffic: open/mpp, click/scanner */
		g_string_append_printf(s, "/%s", a->by);
	if (a->method)
		g_string_append_printf(s, " %s", a->method);
	if (a->target)
		g_string_append_printf(s, " %s", a->target);
	if (a->status)
		g_string_append_printf(s, " %d", a->status);
	if (a->reply)
		g_string_append_printf(s, " %s", a->reply);
	for (guint i = 0; a->hops && i < a->hops->len; i++) {	/* the redirects followed: -> URL STATUS */
		const SinkHop *h = &g_array_index(a->hops, SinkHop, i);
		g_string_append_printf(s, " -> %s", h->url);
		if (h->status)
			g_string_append_printf(s, " %d", h->status);
	}
	if (a->error)
		g_string_append_printf(s, ": %s", a->error);
	return g_string_free(s, FALSE);
}

char *
sink_log_warning_line(GDateTime *now, const char *program, const char *text)
{
	GString *out = g_string_new(NULL);
	g_autofree char *when = g_date_time_format(now, "%Y-%m-%dT%H:%M:%SZ");
	g_autofree char *error = g_strconcat("!", text, NULL);

	csv_field(out, when);
	csv_field(out, program);
	csv_field(out, "WARNING");
	csv_field(out, "-");	/* no message: its id, To and From */
	csv_field(out, "-");
	csv_field(out, "-");
	csv_field(out, error);
	return g_string_free(out, FALSE);
}

char *
sink_log_line(SinkCtx *ctx, const char *program)
{
	GString *out = g_string_new(NULL);
	g_autofree char *when = g_date_time_format(ctx->now, "%Y-%m-%dT%H:%M:%SZ");
	gboolean bad = ctx->errors->len > 0;

	for (guint i = 0; i < ctx->actions->len && !bad; i++)
		bad = ((SinkAction *)ctx->actions->pdata[i])->error != NULL;
	csv_field(out, when);
	csv_field(out, program);
	csv_field(out, bad ? "WARNING" : "INFO");
	csv_field(out, ctx->message_id ? ctx->message_id : "-");
	csv_field(out, ctx->rcpt ? ctx->rcpt : "-");
	csv_field(out, ctx->return_path ? ctx->return_path : "-");
	if (ctx->klass != SINK_CLASS_NONE) {
		g_autofree char *c = g_strdup_printf("%s/%s", sink_class_name(ctx->klass), sink_route_name(ctx->route));
		csv_field(out, c);
	}
	if (ctx->label) {
		g_autofree char *l = g_strdup_printf("label=%s", ctx->label);
		csv_field(out, l);
	}
	if (ctx->persona) {
		const char *names[3];
		sink_persona_names(ctx->persona, names);
		g_autofree char *joined = g_strjoinv("+", (char **)names);
		g_autofree char *p = g_strdup_printf("persona=%s", joined);
		csv_field(out, p);
	}
	if (ctx->dkim) {
		g_autofree char *d = g_strdup_printf("dkim=%s", ctx->dkim);
		csv_field(out, d);
	}
	if (ctx->spf) {
		g_autofree char *s = g_strdup_printf("spf=%s", ctx->spf);
		csv_field(out, s);
	}
	if (ctx->unsub) {	/* RFC 8058's verdict, and what was wrong with List-Unsubscribe */
		g_autofree char *v = ctx->unsub->eligible ? g_strdup("one_click=ready")
			: g_strdup_printf("one_click=not_ready:%s", ctx->unsub->reason);
		csv_field(out, v);
		for (guint i = 0; i < ctx->unsub->problems->len; i++)
			csv_field(out, ctx->unsub->problems->pdata[i]);
	}
	for (guint i = 0; i < ctx->notes->len; i++)
		csv_field(out, ctx->notes->pdata[i]);
	for (guint i = 0; ctx->plan.notes && i < ctx->plan.notes->len; i++)
		csv_field(out, ctx->plan.notes->pdata[i]);
	if (ctx->plan.notes_dropped) {
		g_autofree char *more = g_strdup_printf("%u more notes not kept", ctx->plan.notes_dropped);
		csv_field(out, more);
	}
	for (guint i = 0; i < ctx->actions->len; i++) {
		g_autofree char *t = action_text(ctx->actions->pdata[i]);
		csv_field(out, t);
	}
	for (guint i = 0; i < ctx->errors->len; i++) {
		g_autofree char *e = g_strdup_printf("!%s", (const char *)ctx->errors->pdata[i]);
		csv_field(out, e);
	}
	if (ctx->done_path) {
		g_autofree char *d = g_strdup_printf("done=%s", ctx->done_path);
		csv_field(out, d);
	}
	return g_string_free(out, FALSE);
}

char *
sink_log_dated_path(const SinkConfig *cfg, GDateTime *when)
{
	g_autofree char *day = g_date_time_format(when, "%Y-%m-%d");

	return g_strdup_printf("%s.%s", cfg->logfile, day);
}

/* Point the stable Logfile name at today's file, unless it already does. */
static void
switch_link(const SinkConfig *cfg, const char *dated)
{
	g_autofree char *target = g_path_get_basename(dated);
	g_autofree char *current = g_file_read_link(cfg->logfile, NULL);
	struct stat st;

	/* never back: a message begun before midnight may finish after it (a
	 * link that is not to one of our dated files is replaced) */
	if (current && strlen(current) == strlen(target) &&
	    strncmp(current, target, strlen(target) - 10) == 0 && strcmp(current, target) >= 0)
		return;
	if (current == NULL && lstat(cfg->logfile, &st) == 0)
		return;	/* a real file of that name (say, the original's log): leave it */
	g_autofree char *tmp = g_strdup_printf("%s.link-%d", cfg->logfile, (int)getpid());
	unlink(tmp);
	if (symlink(target, tmp) == 0 && rename(tmp, cfg->logfile) != 0)
		unlink(tmp);
}

void
sink_give_to_folder_owner(int fd, const struct stat *folder, gboolean is_folder)
{
	if (geteuid() != 0)
		return;
	(void)fchown(fd, folder->st_uid, folder->st_gid);
	if (is_folder)
		(void)fchmod(fd, folder->st_mode & 0777);
	else if (folder->st_mode & S_IWGRP)	/* (a folder of root's: the service's user comes in by the group) */
		(void)fchmod(fd, 0660);
}

gboolean
sink_log_append(const SinkConfig *cfg, GDateTime *now, const char *line, GError **error)
{
	g_autofree char *dated = NULL, *dir = NULL;
	g_autofree char *buf = g_strconcat(line, "\n", NULL);
	size_t len = strlen(buf);
	gboolean created = FALSE;
	ssize_t n;
	int fd;

	if (cfg->logfile == NULL)
		return TRUE;
	dated = sink_log_dated_path(cfg, now);
	/* today's file is there but for the day's first line: one open(2), the folder made only when missing */
	fd = open(dated, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		dir = g_path_get_dirname(dated);
		if (g_mkdir_with_parents(dir, 0750) != 0) {
			int e = errno;
			g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "log folder %s: %s", dir,
				    g_strerror(e));
			return FALSE;
		}
		fd = open(dated, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
		if (fd >= 0) {
			struct stat st;

			created = TRUE;
			if (stat(dir, &st) == 0)	/* a day's file made by root (a run by hand): PMTA's to write too */
				sink_give_to_folder_owner(fd, &st, FALSE);
		} else if (errno == EEXIST) {	/* another writer made it first */
			fd = open(dated, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
		}
	}
	if (fd < 0) {
		int e = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "log file %s: %s", dated, g_strerror(e));
		return FALSE;
	}
	do
		n = write(fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)len) {
		int e = n < 0 ? errno : ENOSPC;
		/* a short append leaves a torn line: cut it back off */
		if (n > 0) {
			struct stat st;
			if (fstat(fd, &st) == 0 && st.st_size >= n)
				(void)ftruncate(fd, st.st_size - n);
		}
		close(fd);
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "log file %s: %s", dated, g_strerror(e));
		return FALSE;
	}
	if (close(fd) != 0) {
		int e = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "log file %s: %s", dated, g_strerror(e));
		return FALSE;
	}
	switch_link(cfg, dated);
	if (created)
		sink_log_prune(cfg, now, NULL);
	return TRUE;
}

gboolean
sink_writable_check(const char *target, gboolean folder, const char *what, const char *up_what, GError **error)
{
	g_autofree char *path = g_strdup(target);
	int mode = folder ? W_OK | X_OK : W_OK, e = 0;
	gboolean up = FALSE;
	struct stat st;

	/* (access as the effective user, the one that would write) */
	while (faccessat(AT_FDCWD, path, F_OK, AT_EACCESS | AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT) {
		char *dir = g_path_get_dirname(path);

		if (strcmp(dir, path) == 0) {
			g_free(dir);
			break;
		}
		g_free(path);
		path = dir;
		up = TRUE;
		mode = W_OK | X_OK;
	}
	if (!folder && !up && fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
		e = ELOOP;	/* a file opened without following a link (O_NOFOLLOW): one there is refused */
	else if ((folder || up) && stat(path, &st) == 0 && !S_ISDIR(st.st_mode))
		e = ENOTDIR;
	else if (faccessat(AT_FDCWD, path, mode, AT_EACCESS) != 0)
		e = errno;
	if (e != 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s %s: %s", up ? up_what : what, path,
			    g_strerror(e));
		return FALSE;
	}
	return TRUE;
}

gboolean
sink_log_check(const SinkConfig *cfg, GDateTime *now, GError **error)
{
	g_autofree char *path = NULL;

	if (cfg->logfile == NULL)
		return TRUE;
	path = sink_log_dated_path(cfg, now);
	return sink_writable_check(path, FALSE, "log file", "log folder", error);
}

int
sink_log_prune(const SinkConfig *cfg, GDateTime *now, GPtrArray *failed)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = NULL, *base = NULL;
	g_autoptr(GDateTime) oldest = NULL;
	g_autofree char *cutoff = NULL;
	GDir *d;
	const char *name;
	int deleted = 0;

	/* 0 keeps every file, as the original's backupCount=0 did */
	if (cfg->logfile == NULL || cfg->logfile_backup_count == 0)
		return 0;
	dir = g_path_get_dirname(cfg->logfile);
	base = g_path_get_basename(cfg->logfile);
	/* today plus Logfile_backup_count days before it are kept */
	oldest = g_date_time_add_days(now, -cfg->logfile_backup_count);
	cutoff = g_date_time_format(oldest, "%Y-%m-%d");
	if ((d = g_dir_open(dir, 0, &error)) == NULL) {
		if (failed && !g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT))	/* (no log yet: none to prune) */
			g_ptr_array_add(failed, g_strdup_printf("cannot read the log folder: %s", error->message));
		return 0;
	}
	size_t blen = strlen(base);
	while ((name = g_dir_read_name(d)) != NULL) {
		const char *day = name + blen + 1;
		if (strncmp(name, base, blen) != 0 || name[blen] != '.' || strlen(day) != 10)
			continue;
		GDate date;
		g_date_clear(&date, 1);
		g_date_set_parse(&date, day);
		if (!g_date_valid(&date) || day[4] != '-' || day[7] != '-')
			continue;
		if (strcmp(day, cutoff) < 0) {
			g_autofree char *path = g_build_filename(dir, name, NULL);
			if (unlink(path) == 0)
				deleted++;
			else if (failed)
				g_ptr_array_add(failed, g_strdup_printf("cannot delete %s: %s", path, g_strerror(errno)));
		}
	}
	g_dir_close(d);
	return deleted;
}
