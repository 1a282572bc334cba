/*
 * dkimsig.c - the message's DKIM signatures as facts (dkimsig.h): which
 * domain signed, with what result, over which header fields.
 *
 * A DKIM-Signature's value is a tag-list (RFC 6376 3.2): tag=value pairs
 * separated by ';', folding white space allowed around and inside values
 * (it is removed); h= is a colon-separated list of field names.  Only the
 * three tags the sink uses are read here; verifying is the DKIM module's.
 */
#include <string.h>

#include "dkimsig.h"

/* h=From : To:subject -> { "from", "to", "subject", NULL } */
static char **
header_list(const char *h)
{
	g_auto(GStrv) parts = NULL;
	GPtrArray *out = g_ptr_array_new();

	if (h != NULL) {
		parts = g_strsplit(h, ":", -1);
		for (char **p = parts; *p; p++) {
			char *name = g_strstrip(g_strdup(*p));
			if (*name)
				g_ptr_array_add(out, g_ascii_strdown(name, -1));
			g_free(name);
		}
	}
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(out, FALSE);
}

SinkDkimSig *
sink_dkim_sig_new(const char *domain, const char *selector, const char *result, const char *h)
{
	SinkDkimSig *sig = g_new0(SinkDkimSig, 1);

	sig->domain = domain ? g_ascii_strdown(domain, -1) : NULL;
	sig->selector = g_strdup(selector);
	sig->result = g_strdup(result);
	sig->headers = header_list(h);
	return sig;
}

/* A tag's value with all white space (FWS) taken out. */
static char *
squeeze(const char *s, gsize len)
{
	GString *out = g_string_sized_new(len);

	for (gsize i = 0; i < len; i++)
		if (!g_ascii_isspace(s[i]))
			g_string_append_c(out, s[i]);
	return g_string_free(out, FALSE);
}

SinkDkimSig *
sink_dkim_sig_parse(const char *value, const char *result)
{
	g_autofree char *d = NULL, *s = NULL, *h = NULL;
	const char *p = value;

	while (p && *p) {
		const char *end = strchr(p, ';'), *eq;
		gsize len = end ? (gsize)(end - p) : strlen(p);
		g_autofree char *tag = NULL;

		eq = memchr(p, '=', len);
		if (eq != NULL) {
			tag = squeeze(p, (gsize)(eq - p));
			char **slot = strcmp(tag, "d") == 0 ? &d : strcmp(tag, "s") == 0 ? &s : strcmp(tag, "h") == 0 ? &h : NULL;
			if (slot != NULL && *slot == NULL)	/* a tag given twice: the first (RFC 6376 makes it invalid) */
				*slot = squeeze(eq + 1, len - (gsize)(eq + 1 - p));
		}
		p = end ? end + 1 : NULL;
	}
	if (d == NULL || *d == '\0')
		return NULL;
	return sink_dkim_sig_new(d, s, result, h);
}

gboolean
sink_dkim_sig_covers(const SinkDkimSig *sig, const char *name)
{
	for (char **h = sig->headers; h && *h; h++)
		if (g_ascii_strcasecmp(*h, name) == 0)
			return TRUE;
	return FALSE;
}

const SinkDkimSig *
sink_dkim_passing_where(const SinkCtx *ctx, gboolean (*match)(const char *domain, gpointer data), gpointer data,
			const char *const *fields)
{
	for (guint i = 0; ctx->dkim_sigs && i < ctx->dkim_sigs->len; i++) {
		const SinkDkimSig *sig = ctx->dkim_sigs->pdata[i];
		gboolean all = TRUE;

		if (g_strcmp0(sig->result, "pass") != 0 || (match != NULL && (sig->domain == NULL || !match(sig->domain, data))))
			continue;
		for (const char *const *f = fields; f && *f && all; f++)
			all = sink_dkim_sig_covers(sig, *f);
		if (all)
			return sig;
	}
	return NULL;
}

static gboolean
same_domain(const char *domain, gpointer wanted)
{
	return g_ascii_strcasecmp(domain, wanted) == 0;
}

const SinkDkimSig *
sink_dkim_passing(const SinkCtx *ctx, const char *domain, const char *const *fields)
{
	return sink_dkim_passing_where(ctx, domain ? same_domain : NULL, (gpointer)domain, fields);
}
