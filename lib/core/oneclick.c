/*
 * oneclick.c - RFC 8058's one-click verdict, on every message that
 * carries List-Unsubscribe.
 *
 * A mailbox provider POSTs "List-Unsubscribe=One-Click" to the message's
 * https URI, without asking its reader anything more, only when (RFC 8058
 * sections 3.1 and 4):
 *   - List-Unsubscribe holds an https URI (the first is used; http too
 *     with Unsubscribe_Allow_HTTP, for tests);
 *   - List-Unsubscribe-Post is there, once, and is exactly
 *     "List-Unsubscribe=One-Click";
 *   - the message passed DKIM, and
 *   - a passing signature's h= covers both fields, so that nobody but the
 *     signer can have added or changed them.
 * The verdict names the first check that failed, in that order, and says
 * every failing one in words.  DKIM_Check = off records no signature
 * (tests and demos): the last check is skipped then, and the words say so.
 *
 * An accepted message without the field pays one look-up in its header
 * list; the field is read only when it is there.
 */
#include <string.h>

#include "dkimsig.h"
#include "listunsub.h"
#include "oneclick.h"

#define POST_VALUE "List-Unsubscribe=One-Click"

gboolean
sink_one_click_post_ok(const char *value)
{
	g_autofree char *v = NULL;
	GString *unfolded;

	if (value == NULL)
		return FALSE;
	unfolded = g_string_new(NULL);
	for (const char *p = value; *p; p++)
		if (*p != '\r' && *p != '\n')
			g_string_append_c(unfolded, *p);
	v = g_string_free(unfolded, FALSE);
	g_strstrip(v);
	return strcmp(v, POST_VALUE) == 0;
}

/* The fields of `wanted` that `sig`'s h= lacks, joined with ", "; NULL when it covers them all. */
static char *
lacking(const SinkDkimSig *sig, const char *const *wanted, const char *const *shown)
{
	GString *out = NULL;

	for (int i = 0; wanted[i]; i++) {
		if (sink_dkim_sig_covers(sig, wanted[i]))
			continue;
		if (out == NULL)
			out = g_string_new(shown[i]);
		else
			g_string_append_printf(out, ", %s", shown[i]);
	}
	return out ? g_string_free(out, FALSE) : NULL;
}

/* Why no passing signature covers both fields: each passing signature and what its h= lacks. */
static char *
not_signed_detail(const SinkCtx *ctx, const char *const *wanted, const char *const *shown)
{
	GString *out = g_string_new("not covered by a passing DKIM signature:");
	guint passing = 0;

	for (guint i = 0; i < ctx->dkim_sigs->len; i++) {
		const SinkDkimSig *sig = ctx->dkim_sigs->pdata[i];
		g_autofree char *missing = NULL;

		if (g_strcmp0(sig->result, "pass") != 0 || (missing = lacking(sig, wanted, shown)) == NULL)
			continue;
		g_string_append_printf(out, "%s the h= of d=%s lacks %s", passing++ ? ";" : "",
				       sig->domain ? sig->domain : "?", missing);
	}
	if (passing == 0)
		g_string_append(out, " no passing signature was recorded");
	return g_string_free(out, FALSE);
}

/* Record a failed check: the first one is the reason. */
static void
fail(SinkUnsub *u, GString *detail, const char *reason, const char *words)
{
	if (u->reason == NULL)
		u->reason = reason;
	if (detail->len)
		g_string_append(detail, "; ");
	g_string_append(detail, words);
}

void
sink_one_click_read(SinkCtx *ctx)
{
	static const char *const wanted[] = { "list-unsubscribe", "list-unsubscribe-post", NULL };
	static const char *const shown[] = { "List-Unsubscribe", "List-Unsubscribe-Post", NULL };
	GMimeHeaderList *headers;
	GMimeHeader *list = NULL;
	const char *post = NULL;
	guint lists = 0, posts = 0;
	gboolean allow_http = ctx->cfg->unsubscribe_allow_http;
	const SinkDkimSig *signer = NULL;
	GString *detail;
	SinkUnsub *u;

	if (ctx->mime == NULL || ctx->unsub != NULL)
		return;
	headers = g_mime_object_get_header_list(ctx->mime);
	if (!g_mime_header_list_contains(headers, "List-Unsubscribe"))
		return;
	for (int i = 0; i < g_mime_header_list_get_count(headers); i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
		const char *name = g_mime_header_get_name(h);

		if (g_ascii_strcasecmp(name, "List-Unsubscribe") == 0) {
			lists++;
			list = h;	/* the last: the one a signature naming the field once covers */
		} else if (g_ascii_strcasecmp(name, "List-Unsubscribe-Post") == 0 && posts++ == 0)
			post = g_mime_header_get_raw_value(h);
	}

	u = ctx->unsub = g_new0(SinkUnsub, 1);
	u->uris = g_ptr_array_new_with_free_func(g_free);
	u->problems = g_ptr_array_new_with_free_func(g_free);
	if (lists > 1)
		g_ptr_array_add(u->problems, g_strdup_printf("%u List-Unsubscribe fields: the last is read", lists));
	sink_list_unsub_parse(list ? g_mime_header_get_raw_value(list) : NULL, u->uris, u->problems);
	for (guint i = 0; i < u->uris->len && u->post_uri == NULL; i++) {
		SinkUriScheme s = sink_uri_scheme(u->uris->pdata[i]);
		if (s == SINK_URI_HTTPS || (allow_http && s == SINK_URI_HTTP))
			u->post_uri = g_strdup(u->uris->pdata[i]);
	}

	detail = g_string_new(NULL);
	if (u->post_uri == NULL)
		fail(u, detail, "no_https_uri", allow_http ? "List-Unsubscribe has no http(s) URI"
							    : "List-Unsubscribe has no https URI");
	/* a signature whose h= names the field once covers only the last (RFC 6376 5.4.2): one above it may
	 * have been added on the way, by anyone */
	if (lists > 1)
		fail(u, detail, "wrong_list_field", "more than one List-Unsubscribe field");
	if (posts == 0)
		fail(u, detail, "no_post_field", "no List-Unsubscribe-Post field");
	else if (posts > 1)
		fail(u, detail, "wrong_post_field", "more than one List-Unsubscribe-Post field");
	else if (!sink_one_click_post_ok(post))
		fail(u, detail, "wrong_post_field", "List-Unsubscribe-Post is not exactly \"" POST_VALUE "\"");
	if (g_strcmp0(ctx->dkim, "pass") != 0) {
		fail(u, detail, "no_dkim_pass", "the message did not pass DKIM");
	} else if (ctx->cfg->dkim_check != SINK_DKIM_OFF &&
		   (signer = sink_dkim_passing(ctx, NULL, wanted)) == NULL) {
		g_autofree char *why = not_signed_detail(ctx, wanted, shown);
		fail(u, detail, "not_signed", why);
	}

	u->eligible = u->reason == NULL;
	if (u->eligible && signer)
		g_string_printf(detail, "a POST to %s: List-Unsubscribe-Post is right, d=%s signs both fields",
				u->post_uri, signer->domain);
	else if (u->eligible)
		g_string_printf(detail, "a POST to %s: List-Unsubscribe-Post is right; DKIM_Check = off: no signature "
				"checked", u->post_uri);
	u->detail = g_string_free(detail, FALSE);
}

void
sink_one_click_check(SinkCtx *ctx)
{
	if (ctx->unsub != NULL)
		return;
	sink_one_click_read(ctx);
	if (ctx->unsub != NULL)
		sink_ctx_count(ctx, ctx->unsub->eligible ? "one_click_ready" : "one_click_not_ready");
}
