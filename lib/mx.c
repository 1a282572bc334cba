/* mx.c - Return-Path MX allowlist (being written). */
#include "mx.h"

char *
sink_mx_map(const SinkConfig *cfg, const char *mx)
{
	return NULL;
}

gboolean
sink_mx_resolve(SinkCtx *ctx, const char *what, gboolean *tempfail)
{
	*tempfail = FALSE;
	sink_ctx_error(ctx, "%s not sent: MX look-up not built yet", what);
	return FALSE;
}
