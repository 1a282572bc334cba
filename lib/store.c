/*
 * store.c - done copies.  With Done_Msg_File_Dest set, a message that asks
 * for it (X-Bouncy-Sink: Store-Done) or that met any error is kept there,
 * written under a temporary name and renamed, so a reader never sees half
 * a file, under a name made of the time, our pid and a random number.
 */
#include <errno.h>
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

void
sink_store_done(SinkCtx *ctx)
{
	const char *dest = ctx->cfg->done_msg_file_dest;
	g_autofree char *stamp = NULL, *name = NULL, *path = NULL;
	g_autoptr(GError) error = NULL;
	gsize len;
	const void *data;

	if (dest == NULL || *dest == '\0' || !(ctx->store_done || had_errors(ctx)))
		return;
	if (g_mkdir_with_parents(dest, 0750) != 0) {
		sink_ctx_error(ctx, "done copy not stored: folder %s: %s", dest, g_strerror(errno));
		return;
	}
	stamp = g_date_time_format(ctx->now, "%Y%m%dT%H%M%S");
	name = g_strdup_printf("%s-%d-%08x.eml", stamp, (int)getpid(), g_random_int());
	path = g_build_filename(dest, name, NULL);
	data = g_bytes_get_data(ctx->raw, &len);
	/* GLib writes a temporary file beside it, fsyncs and renames it into place */
	if (!g_file_set_contents_full(path, data ? (const char *)data : "", (gssize)len,
				      G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0640, &error)) {
		sink_ctx_error(ctx, "done copy not stored: %s", error->message);
		return;
	}
	ctx->done_path = g_steal_pointer(&path);
}
