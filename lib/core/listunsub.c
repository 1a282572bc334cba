/*
 * listunsub.c - reading List-Unsubscribe (RFC 2369 section 2).
 *
 *   List-Unsubscribe: <mailto:leave@example.com?subject=unsubscribe>,
 *       (the web page) <https://example.com/u?id=1>
 *
 * A comma-separated list of URIs in angle brackets, preferred first, with
 * comments and folding whitespace between them.  The RFC's rules for
 * readers: a field that does not start (after whitespace and comments)
 * with '<' is ignored; whatever follows a URI is ignored unless it is a
 * comma; the rest may be ignored after a syntax error, which is what this
 * reader does: it keeps what it read before it.  Whitespace inside the
 * brackets is removed, as a folded long URI has it.  The URIs are returned
 * as written: each user checks the schemes it handles.
 */
#include <string.h>

#include "listunsub.h"

/* Past whitespace and comments ("(...)", nested, with \-escapes); at the end of an unclosed comment: the end. */
static const char *
skip_cfws(const char *p)
{
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p != '(')
			return p;
		for (int depth = 0; *p; p++) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')' && --depth == 0) {
				p++;
				break;
			}
		}
	}
}

GPtrArray *
sink_list_unsubscribe_parse(const char *value)
{
	GPtrArray *uris = g_ptr_array_new_with_free_func(g_free);
	const char *p = value;

	if (value == NULL)
		return uris;
	for (;;) {
		const char *end;
		GString *uri;

		p = skip_cfws(p);
		if (*p != '<' || (end = strchr(p, '>')) == NULL)
			break;
		uri = g_string_sized_new((gsize)(end - p));
		for (p++; p < end; p++)
			if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
				g_string_append_c(uri, *p);
		if (uri->len)
			g_ptr_array_add(uris, g_string_free(uri, FALSE));
		else
			g_string_free(uri, TRUE);
		p = skip_cfws(end + 1);
		if (*p != ',')
			break;
		p++;
	}
	return uris;
}

GPtrArray *
sink_list_unsubscribe_uris(GMimeObject *mime)
{
	GMimeHeader *h = NULL;

	if (mime)
		h = g_mime_header_list_get_header(g_mime_object_get_header_list(mime), "List-Unsubscribe");
	return sink_list_unsubscribe_parse(h ? g_mime_header_get_raw_value(h) : NULL);
}
