/*
 * dkim.c - the DKIM trust check.  DKIM_Check = verify checks the message's
 * signatures with libopendkim against keys in DNS; header trusts our own
 * Authentication-Results; off passes everything (tests and demos only).
 */
#include <string.h>

#include "dkim.h"

static void
set_result(SinkCtx *ctx, const char *result, const char *detail)
{
	g_free(ctx->dkim);
	ctx->dkim = g_strdup(result);
	g_free(ctx->dkim_detail);
	ctx->dkim_detail = g_strdup(detail);
}

static void
check_header(SinkCtx *ctx)
{
	GMimeHeaderList *headers;

	if (ctx->mime == NULL) {
		set_result(ctx, "none", "no headers");
		return;
	}
	headers = g_mime_object_get_header_list(GMIME_OBJECT(ctx->mime));
	for (int i = 0; i < g_mime_header_list_get_count(headers); i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
		if (g_ascii_strcasecmp(g_mime_header_get_name(h), "Authentication-Results") == 0 &&
		    sink_authres_dkim_pass(g_mime_header_get_value(h), ctx->cfg->host_name)) {
			set_result(ctx, "pass", "Authentication-Results");
			return;
		}
	}
	set_result(ctx, "fail", "no Authentication-Results from our host with dkim=pass");
}

static void
check_verify(SinkCtx *ctx)
{
	set_result(ctx, "temperror", "libopendkim verification not built yet");
}

void
sink_dkim_check(SinkCtx *ctx)
{
	switch (ctx->cfg->dkim_check) {
	case SINK_DKIM_OFF:
		set_result(ctx, "pass", "DKIM_Check = off");
		break;
	case SINK_DKIM_HEADER:
		check_header(ctx);
		break;
	case SINK_DKIM_VERIFY:
		check_verify(ctx);
		break;
	}
}
