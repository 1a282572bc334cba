/*
 * module.c - the modules of sink-filter-static (see core/module.h): the
 * DKIM module is linked in; the action module is not, so a message that
 * needs it is handed on, whole, to sink-filter-local.
 *
 * The hand-on runs the same command line with --draw-seed (the seed this
 * run drew its decision with, filter.c), --time-left (what is left of
 * Message_Timeout), --no-server and $SINK_NOW (its clock), the message on
 * stdin from a memfd: sink-filter-local decides the same, and does the
 * rest.  Nothing was sent, fetched, counted, stored or logged here first.
 * sink-filter-local is looked for beside this program, else where it was
 * installed (places.h, as sink-filter looks for this one).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "exitcode.h"
#include "module.h"
#include "places.h"
#include "sink-build.h"

extern const SinkDkimModule sink_dkim_module;	/* lib/dkim/dkim.c */

G_DEFINE_QUARK(sink-module-error-quark, sink_module_error)

const SinkDkimModule *
sink_module_dkim(GError **error)
{
	return &sink_dkim_module;
}

const SinkActModule *
sink_module_act(GError **error)
{
	g_set_error(error, SINK_MODULE_ERROR, SINK_MODULE_ERROR_ELSEWHERE,
		    "the action module is not in sink-filter-static");
	return NULL;
}

/* The message as read, as this process's stdin, from its start; FALSE with errno. */
static gboolean
message_as_stdin(GBytes *raw)
{
	gsize len, done = 0;
	const char *data = g_bytes_get_data(raw, &len);
	int fd = memfd_create("sink-message", MFD_CLOEXEC), saved;

	if (fd < 0)
		return FALSE;
	while (done < len) {
		ssize_t n = write(fd, data + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		done += (gsize)n;
	}
	if (lseek(fd, 0, SEEK_SET) != 0 || dup2(fd, STDIN_FILENO) < 0)
		goto fail;
	close(fd);
	return TRUE;
fail:
	saved = errno ? errno : EIO;
	close(fd);
	errno = saved;
	return FALSE;
}

void
sink_module_hand_on(SinkCtx *ctx, char **argv, guint32 draw_seed)
{
	g_autofree char *seed = g_strdup_printf("%" G_GUINT32_FORMAT, draw_seed);
	g_autofree char *left = g_strdup_printf("%" G_GINT64_FORMAT,
						MAX((ctx->deadline - g_get_monotonic_time()) / 1000, 1));
	g_autofree char *now = g_date_time_format_iso8601(ctx->now);
	g_autoptr(GStrvBuilder) b = g_strv_builder_new();
	g_auto(GStrv) args = NULL;
	ExecTried tried = { .err = ENOENT };
	const char *failed = tried.path;
	char *own0;

	/* first, before any "--" */
	g_strv_builder_add(b, "sink-filter");	/* argv[0]: replaced by the program's path below */
	g_strv_builder_add_many(b, "--no-server", "--draw-seed", seed, "--time-left", left, NULL);
	if (argv[0] != NULL)
		g_strv_builder_addv(b, (const char **)argv + 1);
	args = g_strv_builder_end(b);
	own0 = args[0];
	fflush(NULL);
	if (!message_as_stdin(ctx->raw)) {
		tried.err = errno;
		failed = "the message's copy (memfd)";
	} else if (!g_setenv("SINK_NOW", now, TRUE)) {
		tried.err = errno;
		failed = "$SINK_NOW";
	} else {
		exec_beside("sink-filter-local", SINK_LIBEXECDIR "/sink-filter-local", args, &tried);
	}
	args[0] = own0;	/* args owns its strings */
	sink_ctx_error(ctx, "%s needs the action module, and sink-filter-local cannot run it: %s: %s; deferred, nothing done",
		       sink_class_name(ctx->klass), failed, g_strerror(tried.err));
	ctx->exit_code = sink_exit_status(SINK_OUTCOME_EARLY_FAILURE);
}
