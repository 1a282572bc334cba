/* html.c - HTML link extraction (being written). */
#include "engage.h"

void
sink_html_urls(const char *html, gsize len, GPtrArray *imgs, GPtrArray *links)
{
}
