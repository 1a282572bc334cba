/*
 * store.c - done copies.  With Done_Msg_File_Dest set, a message that asks
 * for it (X-Bouncy-Sink: Store-Done) or that met any error is kept there,
 * written under a temporary name and renamed, so a reader never sees half
 * a file, with a name no other process can pick.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

static gboolean
had_errors(SinkCtx *ctx)
{
	if (ctx->errors->len)
		return TRUE;
	for (guint i = 0; i < ctx->actions->len; i++)
		if (((SinkAction *)ctx->actions->pdata[i])->error)
			return TRUE;
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

void
sink_store_done(SinkCtx *ctx)
{
	const char *dest = ctx->cfg->done_msg_file_dest;
	g_autofree char *stamp = NULL, *name = NULL, *path = NULL, *tmp = NULL;
	gsize len;
	const char *data;
	int fd, e;

	if (dest == NULL || *dest == '\0' || !(ctx->store_done || had_errors(ctx)))
		return;
	if (g_mkdir_with_parents(dest, 0750) != 0) {
		sink_ctx_error(ctx, "done copy not stored: folder %s: %s", dest, g_strerror(errno));
		return;
	}
	stamp = g_date_time_format(ctx->now, "%Y%m%dT%H%M%S");
	name = g_strdup_printf("%s-%d-%08x.eml", stamp, (int)getpid(), g_random_int());
	path = g_build_filename(dest, name, NULL);
	tmp = g_strdup_printf("%s/.%s.tmp", dest, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd < 0) {
		sink_ctx_error(ctx, "done copy not stored: %s: %s", tmp, g_strerror(errno));
		return;
	}
	data = g_bytes_get_data(ctx->raw, &len);
	if (!write_all(fd, data, len) || fsync(fd) != 0) {
		e = errno ? errno : EIO;
		close(fd);
		unlink(tmp);
		sink_ctx_error(ctx, "done copy not stored: %s: %s", tmp, g_strerror(e));
		return;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		e = errno;
		unlink(tmp);
		sink_ctx_error(ctx, "done copy not stored: %s: %s", path, g_strerror(e));
		return;
	}
	ctx->done_path = g_steal_pointer(&path);
}
