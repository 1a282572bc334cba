/* spf.c - SPF with libspf2 (being written). */
#include "spf.h"

void
sink_spf_check(SinkCtx *ctx)
{
	g_free(ctx->spf);
	ctx->spf = g_strdup("none");
}
