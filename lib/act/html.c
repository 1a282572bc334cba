/*
 * html.c - the pixels and links of an HTML body, as a reader's mail client
 * sees them.
 *
 * libxml2's HTML parser reads tag soup the way a browser recovers it
 * (unclosed and misnested tags, upper-case names, unquoted attributes,
 * entities in attribute values); its start-tag events give <img src> and
 * <a href> decoded and in document order, without building a tree.
 * Comments and the contents of <script> and <style> are not markup and
 * are skipped by the parser itself.  Only http(s) URLs are kept: a
 * reader's client does not fetch mailto:, javascript: or data: URLs.
 */
#include <limits.h>
#include <string.h>

#include <libxml/HTMLparser.h>
#include <libxml/parserInternals.h>

#include "engage.h"

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

void
sink_html_urls(const char *html, gsize len, GPtrArray *imgs, GPtrArray *links)
{
	const int options = HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET |
			    HTML_PARSE_IGNORE_ENC;
	HtmlUrls out = { imgs, links };
	htmlParserCtxtPtr ctxt;
	xmlCharEncodingHandlerPtr utf8;

	if (html == NULL || len == 0 || (imgs == NULL && links == NULL))
		return;
	ctxt = htmlCreateMemoryParserCtxt(html, len > INT_MAX ? INT_MAX : (int)len);
	if (ctxt == NULL)
		return;
	/*
	 * Events only, no tree: a tree costs several times the parse on big
	 * bodies.  The parser still keeps its stack of open elements, so it
	 * closes and nests tags as it would for a tree.
	 */
	memset(ctxt->sax, 0, sizeof *ctxt->sax);
	ctxt->sax->startElement = on_start;
	ctxt->userData = ctxt;
	ctxt->_private = &out;
	htmlCtxtUseOptions(ctxt, options);
	/* The body was decoded to UTF-8 already; its <meta charset> no longer applies. */
	if ((utf8 = xmlFindCharEncodingHandler("UTF-8")) != NULL)
		xmlSwitchToEncoding(ctxt, utf8);
	htmlParseDocument(ctxt);
	if (ctxt->myDoc)
		xmlFreeDoc(ctxt->myDoc);
	htmlFreeParserCtxt(ctxt);
}
