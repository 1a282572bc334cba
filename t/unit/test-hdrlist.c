/*
 * test-hdrlist.c - reading a structured header's comma-separated list:
 * items and values, quoted-strings, comments, folds, and broken input
 * (refused items, and the list going on after them), never past its end.
 */
#include <string.h>

#include "hdrlist.h"

/* The items of `text` as "name", "name=value" or "!error", joined by " | ". */
static char *
items_of(const char *text, gsize len)
{
	GString *out = g_string_new(NULL);
	SinkHdrListItem item;
	gsize pos = 0;

	while (sink_hdrlist_next(text, len, &pos, &item)) {
		g_assert_cmpuint(item.start, <=, item.end);
		g_assert_cmpuint(item.end, <=, len);
		g_assert_cmpuint(pos, <=, len);
		if (out->len)
			g_string_append(out, " | ");
		if (item.error)
			g_string_append_printf(out, "!%s", item.error);
		else if (item.has_value)
			g_string_append_printf(out, "%s=%s", item.name, item.value);
		else
			g_string_append(out, item.name);
	}
	g_assert_cmpuint(pos, ==, len);
	return g_string_free(out, FALSE);
}

static void
test_tokenizer(void)
{
	static const struct { const char *in, *expect; } cases[] = {
		{ "", "" },
		{ " \n", "" },
		{ "Store-Done", "store-done" },
		{ "  oob ,fbl,, ,openclick ", "oob | fbl | openclick" },
		{ ",,,", "" },
		{ "opens=3, clicks = 2", "opens=3 | clicks=2" },
		{ "feedback-type=\"fraud\"", "feedback-type=fraud" },
		{ "x=\"a,b\", oob", "x=a,b | oob" },
		{ "x=\"a\\\"b\\\\c\"", "x=a\"b\\c" },
		{ "x=\"\"", "x=" },
		{ "delay=1h30m", "delay=1h30m" },
		{ "unsubscribe=one-click", "unsubscribe=one-click" },
		/* comments: anywhere white space may be, nested, with quoted-pairs */
		{ "(comment) oob (another (nested) one), fbl", "oob | fbl" },
		{ "(a\\)b) oob", "oob" },
		{ "(a, b) oob", "oob" },
		{ "x=(c)v(d)", "x=v" },
		{ "x (c) = (d) \"v\" (e)", "x=v" },
		{ "(only a comment)", "" },
		/* folding white space: LF or CRLF and then SP or HTAB; the field's own line break at the end */
		{ "oob,\n fbl\n", "oob | fbl" },
		{ "oob,\r\n\tfbl\r\n", "oob | fbl" },
		{ "x=\"fold\n ed\"", "x=fold ed" },
		{ "(a\n b) oob", "oob" },
		{ "o\n ob", "!a second word (items are separated by commas)" },
		/* broken items: refused, and the list goes on after the next comma outside quotes and comments */
		{ "oob (unclosed, fbl", "!an unclosed comment" },
		{ "x=\"unclosed, fbl", "!an unclosed quoted string" },
		{ "oob; fbl", "!a ';' (items are separated by commas)" },
		{ "oob fbl, accept", "!a second word (items are separated by commas) | accept" },
		{ "=3, oob", "!no name before '=' | oob" },
		{ "=?utf-8?q?oob?=", "!no name before '='" },
		{ "opens=, oob", "!no value after '=' | oob" },
		{ "opens=", "!no value after '='" },
		{ "opens=\"3\"x, oob", "!a second word (items are separated by commas) | oob" },
		{ "x=\"a,b\" junk, oob", "!a second word (items are separated by commas) | oob" },
		{ "\"quoted\", oob", "!a character out of place | oob" },
		{ "x=\"a\" (b, c) d, oob", "!a second word (items are separated by commas) | oob" },
		{ "oob), fbl", "!a character out of place | fbl" },
		{ "\\", "!a character out of place" },
		{ "x=a=b", "!a character out of place" },
		{ "caf\xc3\xa9, oob", "!a non-ASCII character outside quotes | oob" },
		{ "x=\"caf\xc3\xa9\"", "x=caf\xc3\xa9" },
		{ "(caf\xc3\xa9) oob", "oob" },
		/* control characters: the item they are in is refused, wherever in it they are */
		{ "o\x01ob, fbl", "!a control character | fbl" },
		{ "oob\rfbl, accept", "!a control character | accept" },
		{ "x=\"a\x1b\", oob", "!a control character | oob" },
		{ "oob (\x7f), fbl", "!a control character | fbl" },
		{ "(a\\\x01) oob, fbl", "!a control character | fbl" },
		{ "\x01", "!a control character" },
		/* a name or value past 64 characters */
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, oob",
		  "!a name longer than 64 characters | oob" },
		{ "x=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "x=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
		{ "x=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "!a value longer than 64 characters" },
		{ "x=\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\", oob",
		  "!a value longer than 64 characters | oob" },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *got = items_of(cases[i].in, strlen(cases[i].in));
		g_test_message("in: %s", cases[i].in);
		g_assert_cmpstr(got, ==, cases[i].expect);
	}
}

/* A NUL is a byte like another: the text is (pointer, length), never read past. */
static void
test_tokenizer_nul_and_bounds(void)
{
	static const char with_nul[] = "o\0ob, fbl";
	g_autofree char *got = items_of(with_nul, sizeof with_nul - 1);
	g_autofree char *cut = NULL;

	g_assert_cmpstr(got, ==, "!a control character | fbl");
	/* every prefix of a tricky list reads without going past its end */
	const char *tricky = "x=\"a\\\"b\" (c (d\\) e) f), (g, y = \"h\\";
	for (gsize n = 0; n <= strlen(tricky); n++) {
		char *copy = g_memdup2(tricky, n);	/* no NUL after it: a read past the end is caught by ASan */
		g_free(items_of(copy, n));
		g_free(copy);
	}
	cut = items_of("oob\\", 4);
	g_assert_cmpstr(cut, ==, "!a character out of place");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/hdrlist/items", test_tokenizer);
	g_test_add_func("/hdrlist/nul-and-every-prefix", test_tokenizer_nul_and_bounds);
	return g_test_run();
}
