/*
 * html.c - the pixels and links of an HTML body, as a reader's mail client
 * sees them, and the link a reader would follow to unsubscribe.
 *
 * libxml2's HTML parser reads tag soup the way a browser recovers it
 * (unclosed and misnested tags, upper-case names, unquoted attributes,
 * entities in attribute values); its start-tag events give <img src> and
 * <a href> decoded and in document order, without building a tree.
 * Comments and the contents of <script> and <style> are not markup and
 * are skipped by the parser itself.  Only http(s) URLs are kept: a
 * reader's client does not fetch mailto:, javascript: or data: URLs.
 *
 * The unsubscribe link is the one SparkPost marks (data-msys-unsubscribe
 * = "1" on the <a>), else the first <a> whose text (its descendants' text
 * included) says "unsubscribe", as a reader looking for it would read.
 */
#include <limits.h>
#include <string.h>

#include <libxml/HTMLparser.h>
#include <libxml/parserInternals.h>

#include "html.h"

/* ASCII whitespace and C0 controls, which the WHATWG URL parser strips at both ends. */
static gboolean
url_trim_char(unsigned char c)
{
	return c <= 0x20;
}

/*
 * The URL as a browser would take it from an attribute: leading and
 * trailing whitespace and controls stripped, tabs and newlines inside
 * removed.  NULL unless the scheme is http or https.
 */
static char *
http_url(const char *value)
{
	const char *start = value, *end = value + strlen(value);
	GString *url;

	while (start < end && url_trim_char((unsigned char)*start))
		start++;
	while (end > start && url_trim_char((unsigned char)end[-1]))
		end--;
	url = g_string_sized_new((gsize)(end - start));
	for (const char *p = start; p < end; p++)
		if (*p != '\t' && *p != '\n' && *p != '\r')
			g_string_append_c(url, *p);
	if (g_ascii_strncasecmp(url->str, "http://", 7) != 0 && g_ascii_strncasecmp(url->str, "https://", 8) != 0) {
		g_string_free(url, TRUE);
		return NULL;
	}
	return g_string_free(url, FALSE);
}

typedef struct {
	GPtrArray *imgs;
	GPtrArray *links;
} HtmlUrls;

static void
take(const xmlChar **atts, const char *attr, GPtrArray *into)
{
	if (into == NULL || atts == NULL)
		return;
	for (; atts[0]; atts += 2) {
		if (g_ascii_strcasecmp((const char *)atts[0], attr) == 0) {
			char *url = atts[1] ? http_url((const char *)atts[1]) : NULL;
			if (url)
				g_ptr_array_add(into, url);
			return;		/* the parser keeps the first of repeated attributes */
		}
	}
}

/* SAX start-tag callback: names are lower case, attribute values decoded. */
static void
on_start(void *data, const xmlChar *name, const xmlChar **atts)
{
	htmlParserCtxtPtr ctxt = data;
	HtmlUrls *out = ctxt->_private;

	if (g_ascii_strcasecmp((const char *)name, "img") == 0)
		take(atts, "src", out->imgs);
	else if (g_ascii_strcasecmp((const char *)name, "a") == 0)
		take(atts, "href", out->links);
}

/*
 * Run libxml2's HTML parser over `html` with `sax`'s callbacks (the
 * context's _private is `data`).  Events only, no tree: a tree costs
 * several times the parse on big bodies.  The parser still keeps its stack
 * of open elements, so it closes and nests tags as it would for a tree.
 */
static void
parse_events(const char *html, gsize len, const htmlSAXHandler *sax, void *data)
{
	const int options = HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET |
			    HTML_PARSE_IGNORE_ENC;
	htmlParserCtxtPtr ctxt;
	xmlCharEncodingHandlerPtr utf8;

	ctxt = htmlCreateMemoryParserCtxt(html, len > INT_MAX ? INT_MAX : (int)len);
	if (ctxt == NULL)
		return;
	memcpy(ctxt->sax, sax, sizeof *ctxt->sax);
	ctxt->userData = ctxt;
	ctxt->_private = data;
	htmlCtxtUseOptions(ctxt, options);
	/* The body was decoded to UTF-8 already; its <meta charset> no longer applies. */
	if ((utf8 = xmlFindCharEncodingHandler("UTF-8")) != NULL)
		xmlSwitchToEncoding(ctxt, utf8);
	htmlParseDocument(ctxt);
	if (ctxt->myDoc)
		xmlFreeDoc(ctxt->myDoc);
	htmlFreeParserCtxt(ctxt);
}

void
sink_html_urls(const char *html, gsize len, GPtrArray *imgs, GPtrArray *links)
{
	HtmlUrls out = { imgs, links };
	htmlSAXHandler sax = { 0 };

	if (html == NULL || len == 0 || (imgs == NULL && links == NULL))
		return;
	sax.startElement = on_start;
	parse_events(html, len, &sax, &out);
}

/* ---- the unsubscribe link ------------------------------------------------------------------------------ */

/* The text of an <a> is looked at up to this many bytes. */
#define LINK_TEXT_MAX 4096

typedef struct {
	char *marked;		/* the first data-msys-unsubscribe="1" link */
	char *by_text;		/* the first link whose text says unsubscribe */
	char *href;		/* the <a> being read, when its href is http(s) */
	GString *text;		/* its text so far */
} UnsubLink;

static const char *
attribute(const xmlChar **atts, const char *name)
{
	for (; atts && atts[0]; atts += 2)
		if (g_ascii_strcasecmp((const char *)atts[0], name) == 0)
			return atts[1] ? (const char *)atts[1] : "";
	return NULL;
}

/* The end of the <a> being read: its text decides. */
static void
link_end(UnsubLink *u)
{
	if (u->href && u->by_text == NULL) {
		g_autofree char *lower = g_ascii_strdown(u->text->str, (gssize)u->text->len);
		if (strstr(lower, "unsubscribe"))
			u->by_text = g_steal_pointer(&u->href);
	}
	g_clear_pointer(&u->href, g_free);
	g_string_truncate(u->text, 0);
}

static void
on_unsub_start(void *data, const xmlChar *name, const xmlChar **atts)
{
	UnsubLink *u = ((htmlParserCtxtPtr)data)->_private;
	const char *href, *mark;
	char *url;

	if (g_ascii_strcasecmp((const char *)name, "a") != 0)
		return;
	link_end(u);	/* an <a> inside an <a> closes it, as a browser reads it */
	href = attribute(atts, "href");
	if (href == NULL || (url = http_url(href)) == NULL)
		return;
	mark = attribute(atts, "data-msys-unsubscribe");
	g_autofree char *trimmed = mark ? g_strstrip(g_strdup(mark)) : NULL;
	if (u->marked == NULL && trimmed && strcmp(trimmed, "1") == 0)
		u->marked = g_strdup(url);
	u->href = url;
}

static void
on_unsub_end(void *data, const xmlChar *name)
{
	UnsubLink *u = ((htmlParserCtxtPtr)data)->_private;

	if (g_ascii_strcasecmp((const char *)name, "a") == 0)
		link_end(u);
}

static void
on_unsub_text(void *data, const xmlChar *text, int len)
{
	UnsubLink *u = ((htmlParserCtxtPtr)data)->_private;

	if (u->href && u->text->len < LINK_TEXT_MAX)
		g_string_append_len(u->text, (const char *)text, MIN(len, (int)(LINK_TEXT_MAX - u->text->len)));
}

char *
sink_html_unsubscribe_link(const char *html, gsize len)
{
	UnsubLink u = { NULL, NULL, NULL, NULL };
	htmlSAXHandler sax = { 0 };

	if (html == NULL || len == 0)
		return NULL;
	u.text = g_string_new(NULL);
	sax.startElement = on_unsub_start;
	sax.endElement = on_unsub_end;
	sax.characters = on_unsub_text;
	parse_events(html, len, &sax, &u);
	link_end(&u);	/* an <a> the body never closed */
	g_string_free(u.text, TRUE);
	if (u.marked) {
		g_free(u.by_text);
		return u.marked;
	}
	return u.by_text;
}
