/*
 * module.h - the stages that need heavy libraries, loaded on demand.
 *
 * sink-filter runs once per message, so every shared object it maps costs
 * on every message.  The core library (parse, decide, count, log) links only
 * GLib, GMime and hiredis; DKIM verification and signing (libopendkim,
 * libcrypto) and the actions (libcurl, libspf2, libxml2) live in two modules beside it,
 * opened with dlopen(3) the first time a message needs them.  An accepted
 * message in DKIM_Check = header mode never maps either (unless its
 * recipient has a persona, whose machine traffic is an action).
 * sink-filter-static has its own versions of these (lib/static/module.c).
 */
#ifndef SINK_MODULE_H
#define SINK_MODULE_H

#include "context.h"

/* What libbouncysink-dkim.so exports, as the symbol "sink_dkim_module". */
typedef struct {
	void (*verify)(SinkCtx *ctx);
	/* the DKIM-Signature field for a message as it goes out (CRLF); NULL with error (dkim.h) */
	char *(*sign)(const SinkConfig *cfg, const char *data, gsize len, GError **error);
	gboolean (*sign_check)(const SinkConfig *cfg, GError **error);	/* for sink-filter -n: the key loads */
	void (*warm)(void);	/* one-time library set-up, for a process that forks runs (sink-filterd) */
} SinkDkimModule;

/* What libbouncysink-act.so exports, as the symbol "sink_act_module". */
typedef struct {
	void (*spf_check)(SinkCtx *ctx);
	void (*bounce_run)(SinkCtx *ctx);
	void (*complaint_run)(SinkCtx *ctx);
	void (*engage_run)(SinkCtx *ctx);	/* the personas' machine traffic, then the openclick steps */
	void (*unsubscribe_run)(SinkCtx *ctx);
	/* a delayed job's reader steps: the opens over the pixels, the clicks over the links (engage.h) */
	void (*reader_run)(SinkCtx *ctx, char **pixels, char **links, gboolean opens, gboolean clicks);
	void (*autoreply_run)(SinkCtx *ctx);	/* an RFC 3834 out-of-office reply, unless a loop guard says no */
	void (*warm)(void);	/* one-time library set-up, for a process that forks runs (sink-filterd) */
} SinkActModule;

/*
 * What each module exports beside its table, as the symbol
 * "sink_module_stamp" (SINK_MODULE_STAMP): its version and the sizes of
 * what it shares with the core.  A module of another build than the core
 * already running is refused, never run with other layouts: an upgrade
 * installed under a running process (a sink-worker's restarted worker, a
 * module first loaded late) or under a message run during the install.
 */
typedef struct {
	const char *version;
	gsize ctx_size, config_size, table_size;
} SinkModuleStamp;

#define SINK_MODULE_STAMP(table_type) { SINK_VERSION, sizeof(SinkCtx), sizeof(SinkConfig), sizeof(table_type) }

/*
 * sink_module_dkim / sink_module_act: the module's table, loaded on first
 * use from the core library's own folder (or $SINK_MODULE_DIR).  NULL with
 * `error` set when it cannot be loaded, or is of another build (its stamp).
 * The tables are static: never free.
 */
const SinkDkimModule *sink_module_dkim(GError **error);
const SinkActModule *sink_module_act(GError **error);

/*
 * sink-filter-static (lib/static/) is the core and the DKIM module linked
 * into one static program, for a message run in its own process: nothing
 * to map or bind.  It has no action module (libcurl, libxml2, libspf2 and
 * libpsl are not linked statically), so its sink_module_act fails with
 * SINK_MODULE_ERROR_ELSEWHERE: the pipeline then does nothing more and
 * sets ctx->hand_on, and sink_module_hand_on runs the whole message again
 * in sink-filter-local (the dynamic program, which loads the module),
 * with the seed the decision was drawn with (--draw-seed: the decision's
 * alone, so that a run without --seed stays unseeded after it), the same
 * clock ($SINK_NOW) and the time left of Message_Timeout (--time-left), so
 * that it makes the same decision in no more time.  It returns only when
 * that program cannot be run: the message is deferred.
 */
#define SINK_MODULE_ERROR sink_module_error_quark()
GQuark sink_module_error_quark(void);
enum { SINK_MODULE_ERROR_ELSEWHERE = 1 };
void sink_module_hand_on(SinkCtx *ctx, char **argv, guint32 draw_seed);

#endif
