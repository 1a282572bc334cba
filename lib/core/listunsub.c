/*
 * listunsub.c - RFC 2369's List-Unsubscribe, read as a mail client must.
 *
 *   List-Unsubscribe: <mailto:leave@list.example?subject=unsubscribe>,
 *       (or on the web) <https://list.example/u/opaque-id>
 *
 * The client rules of RFC 2369 section 2: content that does not begin
 * with '<' (after white space and comments) is ignored; white space a
 * poorly behaved MTA put inside the brackets is ignored; after an enclosed
 * URI only a comma (after white space and comments) continues the list,
 * anything else ends it; a client uses the leftmost URI it supports.
 *
 * The field is the sender's and anything may be in it.  So a URI must be
 * printable US-ASCII (RFC 3986: an IDN host is written in A-labels,
 * xn--), only the schemes a mailbox provider acts on are kept (http, https
 * and mailto: never javascript: or data:), at most SINK_LIST_UNSUB_MAX_URIS
 * are read, and a field over SINK_LIST_UNSUB_MAX_FIELD bytes is not read at
 * all.  Whatever is refused is said in a sentence, for the record.
 */
#include <string.h>

#include "listunsub.h"
#include "message.h"

/* At most this many characters of the sender's text are quoted in a sentence. */
#define SHOWN_MAX 80

/*
 * len bytes of `s` for a sentence: valid UTF-8, folding white space as one
 * space and none at the ends, other controls as '?', cut at SHOWN_MAX
 * characters.
 */
static char *
shown(const char *s, gsize len)
{
	g_autofree char *valid = g_utf8_make_valid(s, (gssize)len);
	GString *out = g_string_new(NULL);
	const char *p = valid;

	for (guint n = 0; *p && n < SHOWN_MAX; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			if (out->len && out->str[out->len - 1] != ' ')
				g_string_append_c(out, ' '), n++;
			continue;
		}
		g_string_append_unichar(out, c < 0x20 || c == 0x7f ? '?' : c);
		n++;
	}
	while (out->len && out->str[out->len - 1] == ' ')
		g_string_truncate(out, out->len - 1);
	if (*p)
		g_string_append(out, "...");
	return g_string_free(out, FALSE);
}

static void G_GNUC_PRINTF(2, 3)
problem(GPtrArray *problems, const char *fmt, ...)
{
	va_list ap;

	if (problems == NULL)
		return;
	va_start(ap, fmt);
	g_ptr_array_add(problems, g_strdup_vprintf(fmt, ap));
	va_end(ap);
}

SinkUriScheme
sink_uri_scheme(const char *uri)
{
	if (uri == NULL)
		return SINK_URI_OTHER;
	if (g_ascii_strncasecmp(uri, "https:", 6) == 0)
		return SINK_URI_HTTPS;
	if (g_ascii_strncasecmp(uri, "http:", 5) == 0)
		return SINK_URI_HTTP;
	if (g_ascii_strncasecmp(uri, "mailto:", 7) == 0)
		return SINK_URI_MAILTO;
	return SINK_URI_OTHER;
}

/* The length of the URI scheme at `s` ("ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )"), before its ':'; 0: none. */
static gsize
scheme_len(const char *s)
{
	gsize n = 0;

	if (!g_ascii_isalpha(s[0]))
		return 0;
	while (g_ascii_isalnum(s[n]) || s[n] == '+' || s[n] == '-' || s[n] == '.')
		n++;
	return s[n] == ':' ? n : 0;
}

/*
 * The URI between the brackets (len bytes at `s`), white space removed,
 * when it is one of the kinds used; else NULL, with the problem said.
 */
static char *
checked_uri(const char *s, gsize len, GPtrArray *problems)
{
	GString *uri = g_string_sized_new(len);
	g_autofree char *show = shown(s, len);
	gboolean ascii = TRUE, controls = FALSE;
	gsize slen;

	for (gsize i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		ascii = ascii && c < 0x80;
		controls = controls || c < 0x20 || c == 0x7f;
		g_string_append_c(uri, (char)c);
	}
	if (uri->len == 0)
		problem(problems, "List-Unsubscribe: an empty <> holds no URI");
	else if (!ascii)
		problem(problems, "List-Unsubscribe: <%s> is not a URI: it has non-ASCII characters "
			"(an IDN host is written in A-labels, xn--): not used", show);
	else if (controls)
		problem(problems, "List-Unsubscribe: <%s> is not a URI: it has control characters: not used", show);
	else if ((slen = scheme_len(uri->str)) == 0)
		problem(problems, "List-Unsubscribe: <%s> is not a URI: no scheme: not used", show);
	else if (sink_uri_scheme(uri->str) == SINK_URI_OTHER)
		problem(problems, "List-Unsubscribe: <%s>: a %.*s: URI is not used (only http, https and mailto are)",
			show, (int)MIN(slen, 20), uri->str);
	else if (sink_uri_scheme(uri->str) == SINK_URI_MAILTO ? uri->str[7] == '\0'
		 : strncmp(uri->str + slen + 1, "//", 2) != 0 || strchr("/?#", uri->str[slen + 3]) != NULL)
		problem(problems, "List-Unsubscribe: <%s> has no %s: not used", show,
			sink_uri_scheme(uri->str) == SINK_URI_MAILTO ? "address" : "host");
	else
		return g_string_free(uri, FALSE);
	g_string_free(uri, TRUE);
	return NULL;
}

guint
sink_list_unsub_parse(const char *value, GPtrArray *uris, GPtrArray *problems)
{
	gsize len = value ? strlen(value) : 0;
	guint kept = 0, read = 0;
	const char *p;

	if (value == NULL)
		return 0;
	if (len > SINK_LIST_UNSUB_MAX_FIELD) {
		problem(problems, "List-Unsubscribe is %" G_GSIZE_FORMAT " bytes long, more than %d: not read", len,
			SINK_LIST_UNSUB_MAX_FIELD);
		return 0;
	}
	p = sink_skip_cfws(value);
	if (*p == '\0') {
		problem(problems, "List-Unsubscribe is empty");
		return 0;
	}
	if (*p != '<') {
		g_autofree char *show = shown(p, strlen(p));
		problem(problems, "List-Unsubscribe does not start with a <URI> (RFC 2369): \"%s\" not read", show);
		return 0;
	}
	for (;;) {		/* at a '<' */
		const char *end = strchr(p + 1, '>');
		char *uri;

		if (read == SINK_LIST_UNSUB_MAX_URIS) {
			problem(problems, "List-Unsubscribe has more than %d URIs: the rest not read",
				SINK_LIST_UNSUB_MAX_URIS);
			break;
		}
		if (end == NULL) {
			g_autofree char *show = shown(p + 1, strlen(p + 1));
			problem(problems, "List-Unsubscribe: <%s is not closed with '>': not read", show);
			break;
		}
		read++;
		if ((uri = checked_uri(p + 1, (gsize)(end - p - 1), problems)) != NULL) {
			g_ptr_array_add(uris, uri);
			kept++;
		}
		p = sink_skip_cfws(end + 1);
		if (*p == '\0')
			break;
		if (*p != ',') {
			g_autofree char *show = shown(p, strlen(p));
			problem(problems, "List-Unsubscribe: \"%s\" after a <URI> ends the list (RFC 2369)", show);
			break;
		}
		p = sink_skip_cfws(p + 1);
		if (*p == '\0')		/* a comma at the end */
			break;
		if (*p != '<') {
			g_autofree char *show = shown(p, strlen(p));
			problem(problems, "List-Unsubscribe: \"%s\" after a comma is not a <URI>: not read", show);
			break;
		}
	}
	return kept;
}
