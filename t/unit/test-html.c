/*
 * test-html.c - the pixels and links a reader's client would fetch from an
 * HTML body: <img src> and <a href>, entities decoded, only http(s), in
 * document order, through tag soup, and fast on huge bodies.
 */
#include <string.h>
#include <time.h>

#include "html.h"
#include "unit.h"

/* The budget for 100,000 links (and as many pixels); sanitizers slow the parser several times. */
#if defined(__SANITIZE_ADDRESS__)
#define HUGE_SECONDS_MAX 10.0
#else
#define HUGE_SECONDS_MAX 1.0
#endif

static void
test_table(void)
{
	static const struct {
		const char *name, *html, *imgs, *links;
	} cases[] = {
		{ "img and a in document order",
		  "<p><a href='http://t.test/1'>x</a><img src=\"http://t.test/p1\"><a href=\"https://t.test/2\">y</a>"
		  "<img src='https://t.test/p2'></p>",
		  "http://t.test/p1|https://t.test/p2", "http://t.test/1|https://t.test/2" },
		{ "entities in attributes are decoded",
		  "<a href=\"http://t.test/c?a=1&amp;b=2&#38;c=&#x33;\">x</a><img src=\"http://t.test/o?x=&quot;q&quot;&lt;\">",
		  "http://t.test/o?x=\"q\"<", "http://t.test/c?a=1&b=2&c=3" },
		{ "upper-case tags, attributes and schemes",
		  "<HTML><BODY><IMG SRC=\"HTTP://T.test/P\"><A HREF=\"HTTPS://t.test/L\">x</A></BODY></HTML>",
		  "HTTP://T.test/P", "HTTPS://t.test/L" },
		{ "whitespace around and newlines inside URLs are dropped",
		  "<img src=\"  \n http://t.test/p\n1 \t\"><a href=\"\thttp://t.test/l  \">x</a>",
		  "http://t.test/p1", "http://t.test/l" },
		{ "javascript:, data:, mailto:, relative and other schemes are left out",
		  "<a href=\"javascript:alert(1)\">j</a><a href=\"mailto:a@b.test\">m</a><a href=\"/relative\">r</a>"
		  "<a href=\"ftp://t.test/f\">f</a><a href=\"#top\">t</a><a href=\"httpx://t.test/\">h</a>"
		  "<a href=\"http:/t.test\">s</a><img src=\"data:image/gif;base64,R0lGOD\"><img src=\"cid:part1\">"
		  "<a href=\"http://t.test/ok\">ok</a>",
		  "", "http://t.test/ok" },
		{ "nested and unclosed tags",
		  "<table><tr><td><a href=\"http://t.test/1\"><img src=\"http://t.test/p1\"></a><td>"
		  "<div><span><a href=\"http://t.test/2\">x<div><img src=\"http://t.test/p2\"></table>",
		  "http://t.test/p1|http://t.test/p2", "http://t.test/1|http://t.test/2" },
		{ "malformed markup still yields what a browser would find",
		  "<<p>>< a href=\"http://t.test/no\">x</ a><a href=http://t.test/bare>b</a><img src=http://t.test/p "
		  "alt=1><img src='http://t.test/q' src='http://t.test/dup'><a href=\"http://t.test/u>x</a><p>\">y</a>",
		  "http://t.test/p|http://t.test/q", "http://t.test/bare|http://t.test/u>x</a><p>" },
		{ "comments, script and style are not markup",
		  "<!-- <img src=\"http://t.test/c\"> --><script>document.write('<img src=\"http://t.test/s\">')</script>"
		  "<style>a{background:url(http://t.test/css)}</style><img src=\"http://t.test/real\">",
		  "http://t.test/real", "" },
		{ "a without href, img without src, empty values",
		  "<a name=\"x\">x</a><a href=\"\">e</a><img alt=\"\"><img src=\"\"><img src=\"http://t.test/p\">",
		  "http://t.test/p", "" },
		{ "repeated URLs are kept, each is a fetch",
		  "<img src=\"http://t.test/p\"><img src=\"http://t.test/p\"><a href=\"http://t.test/l\">1</a>"
		  "<a href=\"http://t.test/l\">2</a>",
		  "http://t.test/p|http://t.test/p", "http://t.test/l|http://t.test/l" },
		{ "a fragment without html or body elements",
		  "<img src=\"http://t.test/p\">", "http://t.test/p", "" },
		{ "UTF-8 text and URLs survive",
		  "<p>Grüße</p><a href=\"http://t.test/é?q=ü\">ä</a>", "", "http://t.test/é?q=ü" },
		{ "a meta charset does not re-decode the UTF-8 text",
		  "<meta charset=\"iso-8859-1\"><a href=\"http://t.test/é\">x</a>", "", "http://t.test/é" },
		{ "invalid UTF-8 does not stop the parse",
		  "<p>\xff\xfe\xc3</p><img src=\"http://t.test/p\"><a href=\"http://t.test/l\">\x80</a>",
		  "http://t.test/p", "http://t.test/l" },
		{ "not HTML at all", "just some text, http://t.test/x", "", "" },
		{ "empty input", "", "", "" },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GPtrArray) imgs = g_ptr_array_new_with_free_func(g_free);
		g_autoptr(GPtrArray) links = g_ptr_array_new_with_free_func(g_free);

		g_test_message("case: %s", cases[i].name);
		sink_html_urls(cases[i].html, strlen(cases[i].html), imgs, links);
		g_autofree char *got_imgs = unit_joined(imgs);
		g_autofree char *got_links = unit_joined(links);
		g_assert_cmpstr(got_imgs, ==, cases[i].imgs);
		g_assert_cmpstr(got_links, ==, cases[i].links);
	}
}

static void
test_one_kind_only(void)
{
	const char *html = "<img src=\"http://t.test/p\"><a href=\"http://t.test/l\">x</a>";
	g_autoptr(GPtrArray) imgs = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) links = g_ptr_array_new_with_free_func(g_free);

	sink_html_urls(html, strlen(html), imgs, NULL);
	g_assert_cmpuint(imgs->len, ==, 1);
	sink_html_urls(html, strlen(html), NULL, links);
	g_assert_cmpuint(links->len, ==, 1);
	sink_html_urls(html, strlen(html), NULL, NULL);
	sink_html_urls(NULL, 0, imgs, links);
	g_assert_cmpuint(imgs->len, ==, 1);
}

static void
test_nul_and_length(void)
{
	/* Only `len` bytes count; a NUL inside does not end the document early. */
	const char html[] = "<img src=\"http://t.test/1\">\0<img src=\"http://t.test/2\"><img src=\"http://t.test/3\">";
	g_autoptr(GPtrArray) imgs = g_ptr_array_new_with_free_func(g_free);
	gsize upto3 = sizeof html - 1 - strlen("<img src=\"http://t.test/3\">");

	sink_html_urls(html, upto3, imgs, NULL);
	g_assert_cmpuint(imgs->len, >=, 1);
	g_assert_cmpstr(imgs->pdata[0], ==, "http://t.test/1");
	for (guint i = 0; i < imgs->len; i++)
		g_assert_cmpstr(imgs->pdata[i], !=, "http://t.test/3");
}

static void
test_deep_nesting(void)
{
	GString *html = g_string_new(NULL);
	g_autoptr(GPtrArray) links = g_ptr_array_new_with_free_func(g_free);

	for (int i = 0; i < 100000; i++)
		g_string_append(html, "<div>");
	g_string_append(html, "<a href=\"http://t.test/deep\">x</a>");
	sink_html_urls(html->str, html->len, NULL, links);	/* must not crash; libxml2 caps the depth */
	g_assert_cmpuint(links->len, <=, 1);
	g_string_free(html, TRUE);
}

static void
test_huge(void)
{
	GString *html = g_string_new("<html><body>");
	g_autoptr(GPtrArray) imgs = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) links = g_ptr_array_new_with_free_func(g_free);
	clock_t c0;
	double seconds;

	for (int i = 0; i < 100000; i++) {
		g_string_append_printf(html, "<p><a href=\"http://t.test/l/%d?a=1&amp;b=2\">link %d</a></p>\n", i, i);
		if (i % 10 == 0)
			g_string_append_printf(html, "<img src=\"http://t.test/p/%d\">\n", i);
	}
	g_string_append(html, "</body></html>");
	c0 = clock();	/* CPU time: a loaded test machine must not make this fail */
	sink_html_urls(html->str, html->len, imgs, links);
	seconds = (double)(clock() - c0) / CLOCKS_PER_SEC;
	g_test_message("100000 links and 10000 pixels (%" G_GSIZE_FORMAT " bytes) in %.3f s of CPU", html->len, seconds);
	g_assert_cmpuint(links->len, ==, 100000);
	g_assert_cmpuint(imgs->len, ==, 10000);
	g_assert_cmpstr(links->pdata[99999], ==, "http://t.test/l/99999?a=1&b=2");
	g_assert_cmpstr(imgs->pdata[9999], ==, "http://t.test/p/99990");
	g_assert_cmpfloat(seconds, <, HUGE_SECONDS_MAX);
	g_string_free(html, TRUE);
}

/* The body's unsubscribe link: SparkPost's mark first, else the first link whose text says so. */
static void
test_unsubscribe_link(void)
{
	static const struct { const char *name, *html, *expect; } cases[] = {
		{ "marked link wins over an earlier text match",
		  "<a href=\"http://t.test/u-text\">Unsubscribe</a><p><a data-msys-unsubscribe=\"1\" href=\"http://t.test/u-mark\">"
		  "leave</a>", "http://t.test/u-mark" },
		{ "text in any case, inside other elements",
		  "<a href=\"http://t.test/read\">Read more</a><a href=\"https://t.test/u\"><span>Click to <b>UNSUBSCRIBE</b></span></a>",
		  "https://t.test/u" },
		{ "the first text match", "<a href=\"http://t.test/1\">unsubscribe</a> <a href=\"http://t.test/2\">unsubscribe</a>",
		  "http://t.test/1" },
		{ "a mark other than 1 is no mark",
		  "<a data-msys-unsubscribe=\"0\" href=\"http://t.test/no\">x</a><a href=\"http://t.test/u\">Unsubscribe here</a>",
		  "http://t.test/u" },
		{ "a mark with white space and upper-case attribute", "<A DATA-MSYS-UNSUBSCRIBE=' 1 ' HREF='http://t.test/m'>x</A>",
		  "http://t.test/m" },
		{ "mailto: and javascript: links are not taken",
		  "<a href=\"mailto:u@t.test\">unsubscribe</a><a data-msys-unsubscribe=\"1\" href=\"javascript:x()\">unsubscribe</a>",
		  NULL },
		{ "text outside any link does not count", "<p>To unsubscribe, <a href=\"http://t.test/h\">click here</a></p>", NULL },
		{ "an unclosed link at the end", "<a href=\"http://t.test/u\">unsubscribe", "http://t.test/u" },
		{ "a link inside a link closes it", "<a href=\"http://t.test/a\">un<a href=\"http://t.test/b\">subscribe</a>", NULL },
		{ "no links", "<p>hello</p>", NULL },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *got = sink_html_unsubscribe_link(cases[i].html, strlen(cases[i].html));
		g_test_message("case: %s", cases[i].name);
		g_assert_cmpstr(got, ==, cases[i].expect);
	}
	g_assert_null(sink_html_unsubscribe_link(NULL, 0));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/html/table", test_table);
	g_test_add_func("/html/one-kind-only", test_one_kind_only);
	g_test_add_func("/html/length-not-nul", test_nul_and_length);
	g_test_add_func("/html/deep-nesting-survives", test_deep_nesting);
	g_test_add_func("/html/100000-links-under-a-second", test_huge);
	g_test_add_func("/html/unsubscribe-link", test_unsubscribe_link);
	return g_test_run();
}
