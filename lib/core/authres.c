/*
 * authres.c - the DKIM trust check's modes.  DKIM_Check = header reads an
 * Authentication-Results header (RFC 8601), trusted only when its
 * authserv-id is our own host name, as PMTA's check-dkim-inbound writes it;
 * off passes everything (tests and demos only); verify hands over to the
 * DKIM module (dkim.c), loaded on first use.
 */
#include <string.h>

#include "authres.h"
#include "dkimsig.h"
#include "message.h"
#include "module.h"

/* Past a quoted-string that starts at `p` (on its '"'). */
static const char *
skip_quoted(const char *p)
{
	for (p++; *p && *p != '"'; p++)
		if (*p == '\\' && p[1])
			p++;
	return *p ? p + 1 : p;
}

/*
 * The next ';' that separates two resinfo, or NULL: one in a comment or a
 * quoted string (smtp.mailfrom="a;dkim=pass"@x, or "(sig from x; dkim=pass)")
 * is part of a value, and must not start a result of its own.
 */
static const char *
next_resinfo(const char *p)
{
	while (*p) {
		if (*p == '(')
			p = sink_skip_cfws(p);
		else if (*p == '"')
			p = skip_quoted(p);
		else if (*p == ';')
			return p;
		else
			p++;
	}
	return NULL;
}

/* Past the authserv-id of an Authentication-Results value when it is `host_name`, else NULL. */
static const char *
past_our_authserv_id(const char *value, const char *host_name)
{
	const char *p, *end;

	if (value == NULL || host_name == NULL)
		return NULL;
	p = sink_skip_cfws(value);
	end = p;
	while (*end && *end != ';' && !g_ascii_isspace(*end) && *end != '(')
		end++;
	if ((size_t)(end - p) != strlen(host_name) || g_ascii_strncasecmp(p, host_name, (size_t)(end - p)) != 0)
		return NULL;
	return end;
}

gboolean
sink_authres_dkim_pass(const char *value, const char *host_name)
{
	const char *p, *end = past_our_authserv_id(value, host_name);

	if (end == NULL)
		return FALSE;
	/* each resinfo after ';' is "method=result ..."; look for dkim=pass */
	for (p = next_resinfo(end); p; p = next_resinfo(p)) {
		p = sink_skip_cfws(p + 1);
		if (g_ascii_strncasecmp(p, "dkim", 4) == 0) {
			const char *q = sink_skip_cfws(p + 4);
			if (*q == '=') {
				q = sink_skip_cfws(q + 1);
				if (g_ascii_strncasecmp(q, "pass", 4) == 0 &&
				    !g_ascii_isalnum(q[4]) && q[4] != '-' && q[4] != '_')
					return TRUE;
			}
		}
	}
	return FALSE;
}

/*
 * The next property of a resinfo at `p` (before `stop`, its ';', or the
 * end): "ptype.property = value" with CFWS around the '='.  Sets *name,
 * *name_len and the value (a quoted-string's inside); returns where the
 * next one starts, or NULL when there is none.
 */
static const char *
next_property(const char *p, const char *stop, const char **name, gsize *name_len, char **value)
{
	const char *v, *w;

	for (;;) {
		p = sink_skip_cfws(p);
		if (*p == '\0' || p == stop)
			return NULL;
		*name = p;
		while (*p && p != stop && *p != '=' && *p != '(' && !g_ascii_isspace(*p))
			p++;
		*name_len = (gsize)(p - *name);
		v = sink_skip_cfws(p);
		if (*v == '=')
			break;
		if (p == *name)	/* a stray character: past it */
			p++;
	}
	v = sink_skip_cfws(v + 1);
	if (*v == '"') {
		w = skip_quoted(v);
		*value = g_strndup(v + 1, (gsize)MAX(w - v - 2, 0));
		return w;
	}
	for (w = v; *w && w != stop && *w != '(' && !g_ascii_isspace(*w); w++)
		;
	*value = g_strndup(v, (gsize)(w - v));
	return w;
}

void
sink_authres_dkim_domains(const char *value, const char *host_name, GPtrArray *out)
{
	const char *p, *end = past_our_authserv_id(value, host_name);

	for (p = end ? next_resinfo(end) : NULL; p; p = next_resinfo(p)) {
		const char *stop, *q, *name;
		gsize name_len;
		char *v;
		g_autofree char *d = NULL, *i = NULL;

		p = sink_skip_cfws(p + 1);
		if (g_ascii_strncasecmp(p, "dkim", 4) != 0 || *(q = sink_skip_cfws(p + 4)) != '=' ||
		    g_ascii_strncasecmp(q = sink_skip_cfws(q + 1), "pass", 4) != 0 || g_ascii_isalnum(q[4]) ||
		    q[4] == '-' || q[4] == '_')
			continue;
		stop = next_resinfo(q);
		for (q += 4; (q = next_property(q, stop, &name, &name_len, &v)) != NULL; g_free(v)) {
			if (name_len == 8 && g_ascii_strncasecmp(name, "header.d", 8) == 0 && d == NULL)
				d = g_strdup(v);
			else if (name_len == 8 && g_ascii_strncasecmp(name, "header.i", 8) == 0 && i == NULL)
				i = g_strdup(v);
		}
		if (d == NULL && i != NULL && strchr(i, '@'))
			d = g_strdup(strchr(i, '@') + 1);
		if (d != NULL && *d)
			g_ptr_array_add(out, g_ascii_strdown(d, -1));
	}
}

/*
 * The pass of `passes` that a signature of domain d may be: d's own, else
 * the one pass of a subdomain of d (PMTA names a pass by header.i, whose
 * domain may be below d=, RFC 6376 3.5); NULL when none is, or several
 * subdomains' passes are (which one the signature made is not known).
 */
static const char *
pass_of(GHashTable *passes, const char *d)
{
	GHashTableIter it;
	gpointer k;
	const char *found = NULL;
	gsize dlen = strlen(d);

	if (g_hash_table_lookup_extended(passes, d, &k, NULL))
		return k;
	g_hash_table_iter_init(&it, passes);
	while (g_hash_table_iter_next(&it, &k, NULL)) {
		gsize klen = strlen(k);

		if (klen > dlen + 1 && ((char *)k)[klen - dlen - 1] == '.' && strcmp((char *)k + klen - dlen, d) == 0) {
			if (found)
				return NULL;
			found = k;
		}
	}
	return found;
}

/*
 * Header mode's signatures: each DKIM-Signature of the message whose d= our
 * Authentication-Results passed, recorded as passing with its h=.  A result
 * names a domain, not a signature: when the message has more signatures of
 * a domain than the results pass (one of them failed), which passed is not
 * known, and none of that domain's is taken (a forged one would otherwise
 * lend its h= to what the good one signed).
 */
static void
record_passing(SinkCtx *ctx, GMimeHeaderList *headers, const char *authres)
{
	g_autoptr(GPtrArray) domains = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) sigs = g_ptr_array_new_with_free_func(sink_dkim_sig_free);
	g_autoptr(GHashTable) passes = g_hash_table_new(g_str_hash, g_str_equal);	/* domain: passes - signatures */
	g_autoptr(GPtrArray) keys = g_ptr_array_new();	/* each of sigs' pass (a domains string) */
	int count = g_mime_header_list_get_count(headers);
	const char *key;

	sink_authres_dkim_domains(authres, ctx->cfg->host_name, domains);
	for (guint j = 0; j < domains->len; j++)
		g_hash_table_insert(passes, domains->pdata[j],
				    GINT_TO_POINTER(GPOINTER_TO_INT(g_hash_table_lookup(passes, domains->pdata[j])) + 1));
	for (int i = 0; i < count && domains->len; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
		SinkDkimSig *sig;
		gpointer left;

		if (g_ascii_strcasecmp(g_mime_header_get_name(h), "DKIM-Signature") != 0 ||
		    (sig = sink_dkim_sig_parse(g_mime_header_get_raw_value(h), "pass")) == NULL)
			continue;
		if ((key = pass_of(passes, sig->domain)) == NULL) {
			sink_dkim_sig_free(sig);
			continue;
		}
		left = g_hash_table_lookup(passes, key);
		g_hash_table_insert(passes, (gpointer)key, GINT_TO_POINTER(GPOINTER_TO_INT(left) - 1));
		g_ptr_array_add(sigs, sig);
		g_ptr_array_add(keys, (gpointer)key);
	}
	for (guint i = 0; i < sigs->len; i++) {
		SinkDkimSig *sig = sigs->pdata[i];

		if (GPOINTER_TO_INT(g_hash_table_lookup(passes, keys->pdata[i])) >= 0) {
			sigs->pdata[i] = NULL;	/* ctx's now */
			g_ptr_array_add(ctx->dkim_sigs, sig);
		}
	}
}

void
sink_dkim_set_result(SinkCtx *ctx, const char *result, const char *detail)
{
	g_free(ctx->dkim);
	ctx->dkim = g_strdup(result);
	g_free(ctx->dkim_detail);
	ctx->dkim_detail = g_strdup(detail);
}

/* Whether `name` is a trace header our MTA puts above the message's own. */
static gboolean
is_trace(const char *name)
{
	return g_ascii_strcasecmp(name, "Return-Path") == 0 || g_ascii_strcasecmp(name, "Received") == 0 ||
	       g_ascii_strcasecmp(name, "Received-SPF") == 0 ||
	       g_ascii_strcasecmp(name, "Authentication-Results") == 0;
}

/*
 * Whether the message carries a signature PMTA's check writes a result
 * for: a DKIM-Signature with d=, s= and h=.  Without one, an
 * Authentication-Results with our authserv-id among the trace headers is
 * the sender's (an empty "DKIM-Signature:" would otherwise let it pass).
 */
static gboolean
has_signature(GMimeHeaderList *headers)
{
	int count = g_mime_header_list_get_count(headers);

	for (int i = 0; i < count; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
		SinkDkimSig *sig;
		gboolean whole;

		if (g_ascii_strcasecmp(g_mime_header_get_name(h), "DKIM-Signature") != 0 ||
		    (sig = sink_dkim_sig_parse(g_mime_header_get_raw_value(h), "none")) == NULL)
			continue;
		whole = sig->selector && *sig->selector && sig->headers && sig->headers[0];
		sink_dkim_sig_free(sig);
		if (whole)
			return TRUE;
	}
	return FALSE;
}

/*
 * DKIM_Check = header.  PMTA's check-dkim-inbound puts its
 * Authentication-Results among the trace headers it adds on top, and only
 * to a message that carries a DKIM-Signature.  So only that place is
 * read: the first Authentication-Results with our authserv-id among the
 * trace headers at the top decides, and one anywhere else, or in a message
 * with no signature for PMTA to have checked, was written by the sender.
 */
static void
check_header(SinkCtx *ctx)
{
	GMimeHeaderList *headers;
	int count;

	if (ctx->mime == NULL) {
		sink_dkim_set_result(ctx, "none", "no headers");
		return;
	}
	headers = g_mime_object_get_header_list(ctx->mime);
	count = g_mime_header_list_get_count(headers);
	if (!has_signature(headers)) {
		sink_dkim_set_result(ctx, "fail", "no DKIM-Signature with d=, s= and h=, so no Authentication-Results "
				     "of our host's");
		return;
	}
	for (int i = 0; i < count; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
		const char *name = g_mime_header_get_name(h);
		g_autofree char *value = NULL;

		if (!is_trace(name))
			break;
		if (g_ascii_strcasecmp(name, "Authentication-Results") != 0)
			continue;
		/* as PMTA wrote it: decoded, an encoded word in the sender's MAIL FROM or header.i that PMTA
		 * copied in would read as a "; dkim=pass" of its own */
		value = sink_header_unfolded(h);
		if (past_our_authserv_id(value, ctx->cfg->host_name) == NULL)
			continue;	/* another host's is not ours to read */
		if (sink_authres_dkim_pass(value, ctx->cfg->host_name)) {
			sink_dkim_set_result(ctx, "pass", "Authentication-Results");
			record_passing(ctx, headers, value);
		} else
			sink_dkim_set_result(ctx, "fail", "our host's Authentication-Results says no dkim=pass");
		return;
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
