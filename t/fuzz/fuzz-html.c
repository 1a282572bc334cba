/*
 * fuzz-html - bytes as the decoded HTML body: libxml2's HTML parser and
 * the pixel, link and unsubscribe-link extraction (html.c).  Checks: every URL is http(s)
 * without the whitespace a browser strips.  The input sits right before an
 * inaccessible page, so libxml2 reading past it crashes.
 */
#include <string.h>

#include "html.h"
#include "fuzz-common.h"

static void
check_urls(GPtrArray *urls)
{
	for (guint i = 0; i < urls->len; i++) {
		const char *u = urls->pdata[i];
		fuzz_assert(g_ascii_strncasecmp(u, "http://", 7) == 0 || g_ascii_strncasecmp(u, "https://", 8) == 0,
			    "a URL that is not http(s)");
		fuzz_assert(strpbrk(u, "\t\r\n") == NULL, "a URL with a tab or line break inside");
		fuzz_assert((unsigned char)u[strlen(u) - 1] > 0x20, "a URL with trailing whitespace");
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GPtrArray) imgs = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) links = g_ptr_array_new_with_free_func(g_free);

	g_autoptr(GBytes) html = fuzz_guarded_bytes(data, size);

	sink_html_urls(g_bytes_get_data(html, NULL), size, imgs, links);
	check_urls(imgs);
	check_urls(links);
	g_ptr_array_set_size(links, 0);
	g_ptr_array_add(links, sink_html_unsubscribe_link(g_bytes_get_data(html, NULL), size));
	if (links->pdata[0] == NULL)
		g_ptr_array_set_size(links, 0);
	check_urls(links);
	return 0;
}
