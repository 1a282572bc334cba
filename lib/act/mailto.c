/*
 * mailto.c - the mailto: method of unsubscribing (RFC 6068), as a mailbox
 * provider does it for its reader: one message to the URI's address, with
 * the URI's subject and body, From the reader.
 *
 *   mailto:leave-123@list.example?subject=unsubscribe%20123&body=...
 *
 * Every part of the URI is percent-encoded UTF-8.  Only the first address
 * is written to (several may be listed, RFC 6068 section 2), and of the
 * hfields only subject and body are used: a cc, bcc or in-reply-to in a
 * sender's header is not the reader's wish.  A subject is a header value,
 * so one with a CR, LF, NUL or other control character in it (encoded as
 * %0D%0A, say) is refused whole, never cleaned up: that is a header
 * injection.  A body may break lines (RFC 6068 writes them %0D%0A); its
 * line breaks become the text part's, a NUL refuses it.  The message is
 * built with GMime like the reports (report.c), so every value is encoded
 * as a header or a part needs.
 */
#include <string.h>

#include "mailto.h"
#include "report-int.h"

/* Percent-decode len bytes of `s`; NULL on a bad escape or when the result is not UTF-8.  g_free. */
static char *
decode(const char *s, gsize len, gsize *out_len)
{
	GString *out = g_string_sized_new(len);

	for (gsize i = 0; i < len; i++) {
		if (s[i] != '%') {
			g_string_append_c(out, s[i]);
			continue;
		}
		if (i + 2 >= len) {
			g_string_free(out, TRUE);
			return NULL;
		}
		int hi = g_ascii_xdigit_value(s[i + 1]), lo = g_ascii_xdigit_value(s[i + 2]);
		if (hi < 0 || lo < 0) {
			g_string_free(out, TRUE);
			return NULL;
		}
		g_string_append_c(out, (char)(hi * 16 + lo));
		i += 2;
	}
	/* UTF-8 around any NUL (g_utf8_validate refuses a NUL: it is the callers' to judge) */
	for (gsize start = 0; start < out->len;) {
		const char *nul = memchr(out->str + start, '\0', out->len - start);
		gsize end = nul ? (gsize)(nul - out->str) : out->len;
		if (!g_utf8_validate_len(out->str + start, end - start, NULL)) {
			g_string_free(out, TRUE);
			return NULL;
		}
		start = end + 1;
	}
	*out_len = out->len;
	return g_string_free(out, FALSE);
}

static gboolean
has_nul(const char *s, gsize len)
{
	return memchr(s, '\0', len) != NULL;
}

/* A subject may hold no control character at all (TAB aside). */
static gboolean
header_safe(const char *s, gsize len)
{
	for (gsize i = 0; i < len; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
			return FALSE;
	return TRUE;
}

/* CRLF, CR and LF each become LF. */
static char *
lf_lines(const char *s)
{
	GString *out = g_string_new(NULL);

	for (const char *p = s; *p; p++) {
		if (*p == '\r') {
			g_string_append_c(out, '\n');
			if (p[1] == '\n')
				p++;
		} else {
			g_string_append_c(out, *p);
		}
	}
	return g_string_free(out, FALSE);
}

/* The first address of a comma-separated list (len bytes at `s`), decoded and checked; NULL with *why. */
static char *
first_address(const char *s, gsize len, char **why)
{
	const char *comma = memchr(s, ',', len);
	gsize n = comma ? (gsize)(comma - s) : len, dlen = 0;
	g_autofree char *decoded = decode(s, n, &dlen);
	char *addr;

	if (decoded == NULL) {
		*why = g_strdup("its address has a bad %-escape or is not UTF-8");
		return NULL;
	}
	if (has_nul(decoded, dlen) || (addr = sink_report_addr(decoded)) == NULL) {
		*why = g_strdup("its address is not an address (or holds control characters)");
		return NULL;
	}
	return addr;
}

gboolean
sink_mailto_parse(const char *uri, SinkMailto *m, char **why)
{
	const char *path, *query;
	g_auto(GStrv) hfields = NULL;
	g_autofree char *to_hfield = NULL;

	memset(m, 0, sizeof *m);
	*why = NULL;
	if (uri == NULL || g_ascii_strncasecmp(uri, "mailto:", 7) != 0) {
		*why = g_strdup("not a mailto: URI");
		return FALSE;
	}
	path = uri + 7;
	query = strchr(path, '?');
	if (query) {
		hfields = g_strsplit(query + 1, "&", -1);
		for (char **h = hfields; *h; h++) {
			char *eq = strchr(*h, '=');
			gsize nlen = eq ? (gsize)(eq - *h) : strlen(*h), vlen = 0;
			g_autofree char *name = decode(*h, nlen, &vlen);
			const char *raw = eq ? eq + 1 : "";
			char *value;

			if (name == NULL || (value = decode(raw, strlen(raw), &vlen)) == NULL) {
				*why = g_strdup("an hfield has a bad %-escape or is not UTF-8");
				goto fail;
			}
			if (g_ascii_strcasecmp(name, "subject") == 0 && m->subject == NULL) {
				if (!header_safe(value, vlen)) {
					*why = g_strdup("its subject holds CR, LF, NUL or another control character");
					g_free(value);
					goto fail;
				}
				m->subject = value;
			} else if (g_ascii_strcasecmp(name, "body") == 0 && m->body == NULL) {
				if (has_nul(value, vlen)) {
					*why = g_strdup("its body holds a NUL");
					g_free(value);
					goto fail;
				}
				m->body = lf_lines(value);
				g_free(value);
			} else if (g_ascii_strcasecmp(name, "to") == 0 && to_hfield == NULL) {
				g_free(value);
				to_hfield = g_strdup(raw);
			} else {
				g_free(value);	/* cc, bcc, in-reply-to, ...: not the reader's */
			}
		}
	}
	if (query ? query != path : *path != '\0')
		m->to = first_address(path, query ? (gsize)(query - path) : strlen(path), why);
	else if (to_hfield)
		m->to = first_address(to_hfield, strlen(to_hfield), why);
	else
		*why = g_strdup("it names no address");
	if (m->to != NULL)
		return TRUE;
fail:
	sink_mailto_clear(m);
	return FALSE;
}

void
sink_mailto_clear(SinkMailto *m)
{
	g_clear_pointer(&m->to, g_free);
	g_clear_pointer(&m->subject, g_free);
	g_clear_pointer(&m->body, g_free);
}

GMimeMessage *
sink_mailto_build(SinkCtx *ctx, const SinkMailto *m, const char *from)
{
	g_autofree char *body = NULL;
	g_autofree char *id = sink_report_text(ctx->message_id);
	GMimeMessage *msg;
	GMimeObject *part;

	msg = sink_mail_new(ctx, NULL, from, m->to, m->subject && *m->subject ? m->subject : "unsubscribe");
	g_mime_object_set_header(GMIME_OBJECT(msg), "MIME-Version", "1.0", NULL);
	if (m->body)
		body = g_str_has_suffix(m->body, "\n") ? g_strdup(m->body) : g_strconcat(m->body, "\n", NULL);
	else
		body = g_strdup_printf("Please remove %s from this list.\n\n"
				       "(Sent for the List-Unsubscribe field of the message %s%s%s.)\n",
				       from, id ? "<" : "", id ? id : "you sent", id ? ">" : "");
	part = sink_text_part(body);
	g_mime_message_set_mime_part(msg, part);
	g_object_unref(part);
	return msg;
}
