/* complaint.c - RFC 5965 complaints (being written). */
#include "report.h"

void
sink_complaint_run(SinkCtx *ctx)
{
	SinkAction *a = sink_ctx_action(ctx, "fbl", NULL);
	sink_action_fail(a, "not built yet");
}

GMimeMessage *
sink_complaint_build(SinkCtx *ctx, GError **error)
{
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "not built yet");
	return NULL;
}
