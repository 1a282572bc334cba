/*
 * test-listunsub.c - reading List-Unsubscribe (RFC 2369 section 2): a table
 * of values and the URIs a reader takes from them.
 */
#include "listunsub.h"

static void
test_table(void)
{
	static const struct {
		const char *value;
		const char *expect;	/* the URIs joined with " | " */
	} cases[] = {
		{ "<mailto:leave@example.com>", "mailto:leave@example.com" },
		{ "<mailto:u@example.com?subject=unsubscribe>, <https://example.com/u?id=1&x=2>",
		  "mailto:u@example.com?subject=unsubscribe | https://example.com/u?id=1&x=2" },
		/* comments and folding whitespace around them */
		{ "(Use this command to get off the list)\r\n <mailto:u@example.com>  (or the web)\r\n\t,\r\n <http://example.com/u>",
		  "mailto:u@example.com | http://example.com/u" },
		{ "(nested (comment) \\) still) <http://example.com/a>", "http://example.com/a" },
		/* a long URI folded inside its brackets: the whitespace is not part of it */
		{ "<https://example.com/unsubscribe?\r\n list=news&id=1234>", "https://example.com/unsubscribe?list=news&id=1234" },
		/* rule 1: a field that does not start with '<' is ignored */
		{ "https://example.com/u", "" },
		{ "mailto:u@example.com, <https://example.com/u>", "" },
		/* rule 2: after a URI, anything but a comma ends the list */
		{ "<https://example.com/a> junk, <https://example.com/b>", "https://example.com/a" },
		{ "<https://example.com/a>; <https://example.com/b>", "https://example.com/a" },
		/* rule 3: after a syntax error, what was read is kept */
		{ "<https://example.com/a>, <https://example.com/b", "https://example.com/a" },
		{ "<https://example.com/a>, (unclosed comment <https://example.com/b>", "https://example.com/a" },
		/* empty brackets and empty fields */
		{ "<>, <https://example.com/a>", "https://example.com/a" },
		{ "<https://example.com/a>,", "https://example.com/a" },
		{ "", "" },
		{ "   ", "" },
		{ NULL, "" },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GPtrArray) uris = sink_list_unsubscribe_parse(cases[i].value);
		g_ptr_array_add(uris, NULL);
		g_autofree char *got = g_strjoinv(" | ", (char **)uris->pdata);

		g_test_message("%s", cases[i].value ? cases[i].value : "(null)");
		g_assert_cmpstr(got, ==, cases[i].expect);
	}
}

static void
test_from_message(void)
{
	static const char text[] =
		"From: a@example.com\r\n"
		"List-Unsubscribe: <mailto:u@example.com>,\r\n"
		"  <https://example.com/u?id=1>\r\n"
		"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
		"List-Unsubscribe: <https://example.com/second>\r\n"
		"\r\n"
		"body\r\n";
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeObject *mime;

	g_mime_init();
	stream = g_mime_stream_mem_new_with_buffer(text, sizeof text - 1);
	parser = g_mime_parser_new_with_stream(stream);
	mime = g_mime_parser_construct_part(parser, NULL);
	g_assert_nonnull(mime);

	g_autoptr(GPtrArray) uris = sink_list_unsubscribe_uris(mime);	/* the first field only */
	g_assert_cmpuint(uris->len, ==, 2);
	g_assert_cmpstr(uris->pdata[0], ==, "mailto:u@example.com");
	g_assert_cmpstr(uris->pdata[1], ==, "https://example.com/u?id=1");
	g_object_unref(mime);
	g_object_unref(parser);
	g_object_unref(stream);

	g_autoptr(GPtrArray) none = sink_list_unsubscribe_uris(NULL);
	g_assert_cmpuint(none->len, ==, 0);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/listunsub/rfc2369-values", test_table);
	g_test_add_func("/listunsub/first-field-of-a-message", test_from_message);
	return g_test_run();
}
