/*
 * authres.c - the DKIM trust check's modes.  DKIM_Check = header reads an
 * Authentication-Results header (RFC 8601), trusted only when its
 * authserv-id is our own host name, as PMTA's check-dkim-inbound writes it;
 * off passes everything (tests and demos only); verify hands over to the
 * DKIM module (dkim.c), loaded on first use.
 */
#include <string.h>

#include "dkim.h"
#include "module.h"

/* Skip CFWS: white space and (nested) comments. */
static const char *
skip_cfws(const char *p)
{
	for (;;) {
		while (g_ascii_isspace(*p))
			p++;
		if (*p != '(')
			return p;
		int depth = 0;
		do {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')')
				depth--;
			p++;
		} while (*p && depth > 0);
	}
}

gboolean
sink_authres_dkim_pass(const char *value, const char *host_name)
{
	const char *p, *end;

	if (value == NULL || host_name == NULL)
		return FALSE;
	p = skip_cfws(value);
	end = p;
	while (*end && *end != ';' && !g_ascii_isspace(*end) && *end != '(')
		end++;
	if ((size_t)(end - p) != strlen(host_name) || g_ascii_strncasecmp(p, host_name, (size_t)(end - p)) != 0)
		return FALSE;
	/* each resinfo after ';' is "method=result ..."; look for dkim=pass */
	for (p = strchr(end, ';'); p; p = strchr(p, ';')) {
		p = skip_cfws(p + 1);
		if (g_ascii_strncasecmp(p, "dkim", 4) == 0) {
			const char *q = skip_cfws(p + 4);
			if (*q == '=') {
				q = skip_cfws(q + 1);
				if (g_ascii_strncasecmp(q, "pass", 4) == 0 &&
				    !g_ascii_isalnum(q[4]) && q[4] != '-' && q[4] != '_')
					return TRUE;
			}
		}
	}
	return FALSE;
}

void
sink_dkim_set_result(SinkCtx *ctx, const char *result, const char *detail)
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
		sink_dkim_set_result(ctx, "none", "no headers");
		return;
	}
	headers = g_mime_object_get_header_list(ctx->mime);
	for (int i = 0; i < g_mime_header_list_get_count(headers); i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
		if (g_ascii_strcasecmp(g_mime_header_get_name(h), "Authentication-Results") == 0 &&
		    sink_authres_dkim_pass(g_mime_header_get_value(h), ctx->cfg->host_name)) {
			sink_dkim_set_result(ctx, "pass", "Authentication-Results");
			return;
		}
	}
	sink_dkim_set_result(ctx, "fail", "no Authentication-Results from our host with dkim=pass");
}

gboolean
sink_dkim_check(SinkCtx *ctx, GError **error)
{
	const SinkDkimModule *m;

	switch (ctx->cfg->dkim_check) {
	case SINK_DKIM_OFF:
		sink_dkim_set_result(ctx, "pass", "DKIM_Check = off");
		break;
	case SINK_DKIM_HEADER:
		check_header(ctx);
		break;
	case SINK_DKIM_VERIFY:
		if ((m = sink_module_dkim(error)) == NULL)
			return FALSE;
		m->verify(ctx);
		break;
	}
	return TRUE;
}
