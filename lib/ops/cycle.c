/*
 * cycle.c - sink-cycle's PMTA config edit and reload.
 *
 * Design: the edit is a pure function over the file's bytes, so the
 * "byte for byte except that value" promise is tested without files.  Only
 * the value token of the directive line changes; the line's indentation,
 * the spacing after the name, a trailing comment and the line ending (LF or
 * CRLF) stay.  The file is replaced the way an editor that cares does it
 * (temporary file, fsync, rename), keeping its mode, since PMTA may re-read
 * it at any moment.  The reload command runs without a shell: its words are
 * split once, so nothing in the config can inject shell syntax.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "cycle.h"

G_DEFINE_QUARK(sink-cycle-error-quark, sink_cycle_error)

double
sink_cycle_bounce_rate(const SinkConfig *cfg, GDateTime *now, gsize *index)
{
	gsize i = sink_weekly_index(cfg->weekly_bounce_rate_len, now);

	if (index)
		*index = i;
	return cfg->weekly_bounce_rate[i];
}

char *
sink_cycle_format_value(double percent)
{
	char buf[G_ASCII_DTOSTR_BUF_SIZE];
	char *end;

	/* fixed point, never an exponent ("1e-05"), which PMTA would not read; no trailing zeros */
	g_ascii_formatd(buf, sizeof buf, "%.10f", percent);
	for (end = buf + strlen(buf); end > buf && end[-1] == '0'; end--)
		;
	if (end > buf && end[-1] == '.')
		end--;
	return g_strndup(buf, (gsize)(end - buf));
}

/* ---- the edit ------------------------------------------------------------------------------------------- */

static gboolean
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * If line [p, end) is a directive line, set the offsets of its value
 * token (*v0, *v1, relative to p; an empty token sits where one belongs)
 * and return TRUE.
 */
static gboolean
find_value(const char *p, const char *end, gsize *v0, gsize *v1, gboolean *need_space)
{
	const gsize nlen = strlen(SINK_CYCLE_DIRECTIVE);
	const char *q = p, *ws;

	while (q < end && is_blank(*q))
		q++;
	if ((gsize)(end - q) < nlen || g_ascii_strncasecmp(q, SINK_CYCLE_DIRECTIVE, nlen) != 0)
		return FALSE;
	q += nlen;
	if (q < end && !is_blank(*q) && *q != '#')
		return FALSE;	/* a longer name */
	ws = q;
	while (q < end && is_blank(*q))
		q++;
	*need_space = q == ws;	/* "name" or "name#...": the value needs a blank before it */
	*v0 = (gsize)(q - p);
	while (q < end && !is_blank(*q) && *q != '#')
		q++;
	*v1 = (gsize)(q - p);
	return TRUE;
}

gboolean
sink_cycle_edit(const char *name, const char *text, gsize len, const char *value, SinkCycleEdit *edit,
		GError **error)
{
	GString *out = g_string_sized_new(len + 16);
	const char *p = text, *end = text + len;

	memset(edit, 0, sizeof *edit);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;	/* the line without its LF */
		const char *body_end = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
		gsize v0, v1;
		gboolean need_space;

		if (find_value(p, body_end, &v0, &v1, &need_space)) {
			gsize start = out->len;
			g_string_append_len(out, p, (gssize)v0);
			if (need_space)
				g_string_append_c(out, ' ');
			g_string_append(out, value);
			if (v1 == v0 && p + v1 < body_end && !is_blank(p[v1]))
				g_string_append_c(out, ' ');	/* "name # comment" stays readable */
			g_string_append_len(out, p + v1, body_end - (p + v1));
			if (edit->lines++ == 0) {
				edit->old_line = g_strndup(p, (gsize)(body_end - p));
				edit->new_line = g_strndup(out->str + start, out->len - start);
				edit->old_value = g_strndup(p + v0, v1 - v0);
			}
			g_string_append_len(out, body_end, (nl ? nl + 1 : end) - body_end);
		} else {
			g_string_append_len(out, p, (nl ? nl + 1 : end) - p);
		}
		p = nl ? nl + 1 : end;
	}
	if (edit->lines == 0) {
		g_string_free(out, TRUE);
		g_set_error(error, SINK_CYCLE_ERROR, SINK_CYCLE_ERROR_NO_DIRECTIVE,
			    "%s: no \"" SINK_CYCLE_DIRECTIVE "\" line (add one, e.g. \"" SINK_CYCLE_DIRECTIVE
			    " 4\", next to the dummy-smtp-blacklist setting)", name);
		return FALSE;
	}
	edit->changed = out->len != len || memcmp(out->str, text, len) != 0;
	edit->len = out->len;
	edit->text = g_string_free(out, FALSE);
	return TRUE;
}

void
sink_cycle_edit_clear(SinkCycleEdit *edit)
{
	g_free(edit->text);
	g_free(edit->old_line);
	g_free(edit->new_line);
	g_free(edit->old_value);
	memset(edit, 0, sizeof *edit);
}

/* ---- the file ------------------------------------------------------------------------------------------- */

static gboolean
write_error(GError **error, const char *path, const char *what, int e)
{
	g_set_error(error, SINK_CYCLE_ERROR, SINK_CYCLE_ERROR_WRITE, "%s: %s: %s", path, what, g_strerror(e));
	return FALSE;
}

static gboolean
write_all(int fd, const char *data, gsize len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return FALSE;
		data += n;
		len -= (gsize)n;
	}
	return TRUE;
}

gboolean
sink_cycle_replace_file(const char *path, const char *data, gsize len, GError **error)
{
	char real[PATH_MAX];
	struct stat st;
	int fd, e;

	if (realpath(path, real) == NULL)
		return write_error(error, path, "cannot resolve", errno);
	if (stat(real, &st) != 0)
		return write_error(error, real, "stat", errno);

	g_autofree char *dir = g_path_get_dirname(real);
	g_autofree char *base = g_path_get_basename(real);
	g_autofree char *tmp = g_strdup_printf("%s/.%s.sink-cycle-XXXXXX", dir, base);

	if ((fd = g_mkstemp_full(tmp, O_RDWR | O_CLOEXEC, 0600)) < 0)
		return write_error(error, real, "cannot create a temporary file in its folder", errno);
	if (!write_all(fd, data, len)) {
		e = errno ? errno : ENOSPC;
		goto fail;
	}
	if (fchmod(fd, st.st_mode & 07777) != 0) {
		e = errno;
		goto fail;
	}
	/* keep the owner when we may (as root); as its owner we already are it; else at least its group (as a
	 * member of it): what could not be kept, the caller sees on the new file */
	if ((st.st_uid != geteuid() || st.st_gid != getegid()) && fchown(fd, st.st_uid, st.st_gid) != 0) {
		if (errno != EPERM) {
			e = errno;
			goto fail;
		}
		(void)fchown(fd, (uid_t)-1, st.st_gid);
	}
	if (fsync(fd) != 0) {
		e = errno;
		goto fail;
	}
	if (close(fd) != 0) {
		e = errno;
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, real) != 0) {
		e = errno;
		goto fail;
	}
	{	/* make the rename itself durable */
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
	}
	return TRUE;

fail:
	if (fd >= 0)
		close(fd);
	g_unlink(tmp);
	return write_error(error, real, "not replaced", e);
}

/* ---- the reload ----------------------------------------------------------------------------------------- */

/*
 * After the command has exited, its output is read this much longer: a
 * daemon it started may hold its stdout and stderr open for good, and EOF
 * would then never come.
 */
#define OUTPUT_GRACE_US (500 * G_TIME_SPAN_MILLISECOND)
/* What is kept of the command's output; the rest is read and dropped so that it never blocks writing. */
#define OUTPUT_KEEP 65536
/* How often the loop looks whether the command has exited (poll does not wake for that). */
#define WAIT_SLICE_MS 50

/*
 * In the child, before exec: a process group of its own, so that at the
 * deadline the command goes with everything it started.
 */
static void
child_setup(gpointer data)
{
	(void)data;
	setpgid(0, 0);
}

/* Append what `fd` has to `buf` (up to OUTPUT_KEEP bytes); FALSE at EOF or on an error, when it is closed. */
static gboolean
drain(int fd, GString *buf)
{
	char chunk[4096];
	ssize_t n = read(fd, chunk, sizeof chunk);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return TRUE;
	if (n <= 0) {
		close(fd);
		return FALSE;
	}
	if (buf->len < OUTPUT_KEEP)
		g_string_append_len(buf, chunk, MIN((gsize)n, OUTPUT_KEEP - buf->len));
	return TRUE;
}

/*
 * Run argv with its stdout and stderr on pipes until it exits, or until
 * `timeout` seconds have passed and its process group is killed.  The
 * deadline is kept here, in the parent, and does not wait for EOF: an
 * alarm() in the child only ended the child, and a descendant left holding
 * the pipes (sh -c "daemon &") made g_spawn_sync wait for ever.  Sets
 * *status (a wait status) and *timed_out, and appends to out and err.
 * FALSE with `error` (G_SPAWN_ERROR) when it cannot start.
 */
static gboolean
run_with_deadline(char **argv, int timeout, int *status, gboolean *timed_out, GString *out, GString *err,
		  GError **error)
{
	struct pollfd fds[2];
	GString *bufs[2] = { out, err };
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout * G_TIME_SPAN_SECOND, stop_reading = G_MAXINT64;
	gboolean exited = FALSE;
	GPid pid;
	int nfds = 2;

	*timed_out = FALSE;
	if (!g_spawn_async_with_pipes(NULL, argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD, child_setup,
				      NULL, &pid, NULL, &fds[0].fd, &fds[1].fd, error))
		return FALSE;
	fds[0].events = fds[1].events = POLLIN;
	for (;;) {
		gint64 now = g_get_monotonic_time(), until;

		if (!exited && waitpid(pid, status, WNOHANG) == pid) {
			exited = TRUE;
			stop_reading = now + OUTPUT_GRACE_US;
		}
		if (!exited && now >= deadline) {
			kill(-pid, SIGKILL);	/* the group: what it started goes too */
			kill(pid, SIGKILL);	/* in case it left its group */
			while (waitpid(pid, status, 0) < 0 && errno == EINTR)
				;
			exited = *timed_out = TRUE;
			stop_reading = now + OUTPUT_GRACE_US;
		}
		if (exited && (nfds == 0 || now >= stop_reading))
			break;
		until = exited ? stop_reading : deadline;
		if (poll(fds, (nfds_t)nfds, (int)MIN((until - now + 999) / 1000, WAIT_SLICE_MS)) < 0 && errno != EINTR)
			break;
		for (int i = nfds - 1; i >= 0; i--) {
			if (fds[i].revents == 0 || drain(fds[i].fd, bufs[i]))
				continue;
			/* closed: move the last one into its place */
			fds[i] = fds[nfds - 1];
			bufs[i] = bufs[nfds - 1];
			nfds--;
		}
	}
	/* a descendant still holding a pipe gets EPIPE when it writes next, no more */
	for (int i = 0; i < nfds; i++)
		close(fds[i].fd);
	g_spawn_close_pid(pid);
	return TRUE;
}

gboolean
sink_cycle_reload(const char *command, char **output, GError **error)
{
	return sink_cycle_reload_within(command, SINK_CYCLE_RELOAD_TIMEOUT, output, error);
}

gboolean
sink_cycle_reload_within(const char *command, int timeout, char **output, GError **error)
{
	g_auto(GStrv) argv = NULL;
	g_autoptr(GString) out = g_string_new(NULL);
	g_autoptr(GString) err = g_string_new(NULL);
	g_autoptr(GError) local = NULL;
	gboolean timed_out;
	int status = 0;

	if (output)
		*output = NULL;
	if (!g_shell_parse_argv(command, NULL, &argv, &local)) {
		g_set_error(error, SINK_CYCLE_ERROR, SINK_CYCLE_ERROR_RELOAD,
			    "reload command \"%s\": %s", command, local->message);
		return FALSE;
	}
	if (!run_with_deadline(argv, timeout, &status, &timed_out, out, err, &local)) {
		g_set_error(error, SINK_CYCLE_ERROR, SINK_CYCLE_ERROR_RELOAD,
			    "reload command \"%s\" did not start: %s", command, local->message);
		return FALSE;
	}
	g_autofree char *both = g_strconcat(out->str, out->len && err->len ? "\n" : "", err->str, NULL);
	g_strstrip(both);
	if (output)
		*output = g_strdup(both);
	if (!timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return TRUE;

	g_autofree char *how = NULL;
	if (timed_out)
		how = g_strdup_printf("timed out after %d s (killed, with the processes it started)", timeout);
	else if (WIFEXITED(status))
		how = g_strdup_printf("exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		how = g_strdup_printf("killed by signal %d", WTERMSIG(status));
	else
		how = g_strdup_printf("wait status %d", status);
	g_set_error(error, SINK_CYCLE_ERROR, timed_out ? SINK_CYCLE_ERROR_RELOAD_TIMEOUT : SINK_CYCLE_ERROR_RELOAD,
		    "reload command \"%s\" failed: %s%s%s", command, how, *both ? ": " : "", both);
	return FALSE;
}

/* ---- one run at a time, and a reload owed ------------------------------------------------------------- */

int
sink_cycle_lock(const char *path, GError **error)
{
	char real[PATH_MAX];
	g_autofree char *dir = NULL;
	int fd, e;

	if (realpath(path, real) == NULL) {
		write_error(error, path, "cannot resolve", errno);
		return -1;
	}
	dir = g_path_get_dirname(real);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		write_error(error, dir, "cannot open its folder", errno);
		return -1;
	}
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			e = errno;
			close(fd);
			write_error(error, dir, "cannot lock the folder", e);
			return -1;
		}
	}
	return fd;
}

/* The marker of a reload owed for the file at path: ".<name>.sink-cycle-reload-pending" beside it; NULL if unresolvable. */
static char *
pending_path(const char *path)
{
	char real[PATH_MAX];
	g_autofree char *dir = NULL, *base = NULL;

	if (realpath(path, real) == NULL)
		return NULL;
	dir = g_path_get_dirname(real);
	base = g_path_get_basename(real);
	return g_strdup_printf("%s/.%s.sink-cycle-reload-pending", dir, base);
}

gboolean
sink_cycle_reload_owed(const char *path)
{
	g_autofree char *marker = pending_path(path);

	return marker && g_file_test(marker, G_FILE_TEST_EXISTS);
}

gboolean
sink_cycle_owe_reload(const char *path, gboolean owed, GError **error)
{
	g_autofree char *marker = pending_path(path);
	int fd;

	if (marker == NULL)
		return write_error(error, path, "cannot resolve", errno);
	if (!owed) {
		if (g_unlink(marker) != 0 && errno != ENOENT)
			return write_error(error, marker, "cannot remove", errno);
		return TRUE;
	}
	if ((fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return write_error(error, marker, "cannot create", errno);
	close(fd);
	return TRUE;
}
