/*
 * store.c - done copies.  With Done_Msg_File_Dest set, a message that asks
 * for it (X-Bouncy-Sink: Store-Done) or that met an error other than
 * Redis's is kept there, written under a temporary name and renamed, so a
 * reader never sees half a file, under a name made of the time, our pid and
 * a random number.
 *
 * The folder is bounded: past Done_Max_Files copies, the oldest (by
 * modification time) are removed, and counted as done_dropped, so that an
 * error storm (a DNS outage makes every message an error) cannot fill the
 * disk.
 * A Redis outage alone keeps no copy at all: it says nothing about the
 * message.  Several processes may trim at once; a copy another one removed
 * first is simply not counted twice.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
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

/* One of the folder's copies, by age. */
typedef struct {
	char *name;
	gint64 mtime_ns;
} Copy;

static void
copy_clear(gpointer p)
{
	g_free(((Copy *)p)->name);
}

static int
older_first(gconstpointer a, gconstpointer b)
{
	const Copy *x = a, *y = b;

	if (x->mtime_ns != y->mtime_ns)
		return x->mtime_ns < y->mtime_ns ? -1 : 1;
	return strcmp(x->name, y->name);
}

/*
 * Remove the oldest copies (by modification time: the names of one second,
 * or of hosts whose clocks differ, do not sort by age) past
 * cfg->done_max_files, never this message's own (`own`); count each one.
 */
static void
trim(SinkCtx *ctx, const char *dest, const char *own)
{
	g_autoptr(GDir) dir = NULL;
	g_autoptr(GArray) copies = NULL;
	g_autoptr(GError) error = NULL;
	guint max = (guint)ctx->cfg->done_max_files, dropped = 0;
	const char *name;

	if (max == 0 || (dir = g_dir_open(dest, 0, &error)) == NULL)
		return;
	copies = g_array_new(FALSE, FALSE, sizeof(Copy));
	g_array_set_clear_func(copies, copy_clear);
	while ((name = g_dir_read_name(dir)) != NULL) {
		g_autofree char *path = NULL;
		struct stat st;

		if (!is_copy_name(name) || strcmp(name, own) == 0)
			continue;
		path = g_build_filename(dest, name, NULL);
		if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		g_array_append_val(copies, ((Copy){ g_strdup(name),
					       (gint64)st.st_mtim.tv_sec * G_GINT64_CONSTANT(1000000000) + st.st_mtim.tv_nsec }));
	}
	if (copies->len < max)	/* with this message's own, at most max */
		return;
	g_array_sort(copies, older_first);
	for (guint i = 0; i < copies->len + 1 - max; i++) {
		g_autofree char *path = g_build_filename(dest, g_array_index(copies, Copy, i).name, NULL);
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
	/* (not GLib's generator: the children of a server or spool inherit its state, and would draw alike) */
	name = g_strdup_printf("%s-%d-%08x.eml", stamp, (int)getpid(), sink_random_u32());
	path = g_build_filename(dest, name, NULL);
	data = g_bytes_get_data(ctx->raw, &len);
	/* GLib writes a temporary file beside it, fsyncs and renames it into place */
	if (!g_file_set_contents_full(path, data ? (const char *)data : "", (gssize)len,
				      G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0640, &error)) {
		sink_ctx_error(ctx, "done copy not stored: %s", error->message);
		return;
	}
	ctx->done_path = g_steal_pointer(&path);
	trim(ctx, dest, name);
}
