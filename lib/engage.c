/* engage.c - opens and clicks (being written). */
#include "engage.h"

void
sink_engage_run(SinkCtx *ctx)
{
	SinkAction *a = sink_ctx_action(ctx, "open", NULL);
	sink_action_fail(a, "not built yet");
}
