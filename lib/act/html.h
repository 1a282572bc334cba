/*
 * html.h - what a reader's mail client finds in an HTML body (html.c,
 * libxml2's HTML parser): the pixels and links it would fetch, and the
 * link a reader would follow to unsubscribe.
 */
#ifndef SINK_HTML_H
#define SINK_HTML_H

#include <glib.h>

/*
 * sink_html_urls: parse `html` (len bytes) with libxml2's HTML parser and
 * append the http(s) URLs of <img src> to imgs and of <a href> to links
 * (new strings, entities decoded).  Either array may be NULL.
 */
void sink_html_urls(const char *html, gsize len, GPtrArray *imgs, GPtrArray *links);

/*
 * sink_html_unsubscribe_link: the http(s) URL of the body's unsubscribe
 * link: the first <a data-msys-unsubscribe="1" href> (SparkPost's mark),
 * else the first <a href> whose text says "unsubscribe" (any case).  NULL
 * when there is none.  g_free.
 */
char *sink_html_unsubscribe_link(const char *html, gsize len);

#endif
