/*
 * store.c - done copies.  With Done_Msg_File_Dest set, a message that asks
 * for it (X-Bouncy-Sink: Store-Done) or that met an error other than
 * Redis's is kept there, written under a temporary name and renamed, so a
 * reader never sees half a file, under a name made of the time, our pid and
 * a random number.
 *
 * The folder is bounded: past Done_Max_Files copies, the oldest (the names
 * sort by time) are removed, and counted as done_dropped, so that an error
 * storm (a DNS outage makes every message an error) cannot fill the disk.
 * A Redis outage alone keeps no copy at all: it says nothing about the
 * message.  Several processes may trim at once; a copy another one removed
 * first is simply not counted twice.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

static gboolean
had_errors(SinkCtx *ctx)
{
	if (ctx->errors->len > ctx->redis_errors)
		return TRUE;
	for (guint i = 0; i < ctx->actions->len; i++)
		if (((SinkAction *)ctx->actions->pdata[i])->error)
			return TRUE;
	return FALSE;
}

/* One of our copies: <YYYYmmddTHHMMSS>-<pid>-<random>.eml (not a temporary file, not somebody else's). */
static gboolean
is_copy_name(const char *name)
{
	return g_ascii_isdigit(name[0]) && strlen(name) > 20 && name[8] == 'T' && g_str_has_suffix(name, ".eml");
}

static int
name_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Remove the oldest copies past cfg->done_max_files; count each removed. */
static void
trim(SinkCtx *ctx, const char *dest)
{
	g_autoptr(GDir) dir = NULL;
	g_autoptr(GPtrArray) names = NULL;
	g_autoptr(GError) error = NULL;
	guint max = (guint)ctx->cfg->done_max_files, dropped = 0;
	const char *name;

	if (max == 0 || (dir = g_dir_open(dest, 0, &error)) == NULL)
		return;
	names = g_ptr_array_new_with_free_func(g_free);
	while ((name = g_dir_read_name(dir)) != NULL)
		if (is_copy_name(name))
			g_ptr_array_add(names, g_strdup(name));
	if (names->len <= max)
		return;
	g_ptr_array_sort(names, name_cmp);
	for (guint i = 0; i < names->len - max; i++) {
		g_autofree char *path = g_build_filename(dest, names->pdata[i], NULL);
		if (g_strcmp0(path, ctx->done_path) == 0)	/* (a clock set back) never this message's own */
			continue;
		if (unlink(path) == 0) {
			sink_ctx_count(ctx, "done_dropped");
			dropped++;
		}
	}
	if (dropped)
		sink_ctx_note(ctx, "done folder over Done_Max_Files (%u): %u oldest removed", max, dropped);
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
	trim(ctx, dest);
}
