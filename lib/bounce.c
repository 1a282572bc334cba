/* bounce.c - RFC 3464 bounces (being written). */
#include "report.h"

void
sink_bounce_run(SinkCtx *ctx)
{
	SinkAction *a = sink_ctx_action(ctx, "oob", NULL);
	sink_action_fail(a, "not built yet");
}

GMimeMessage *
sink_bounce_build(SinkCtx *ctx, GError **error)
{
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "not built yet");
	return NULL;
}
