/*
 * fuzz-directive - raw bytes as X-Bouncy-Sink field values: the list's
 * tokenizer (hdrlist.c) and what the directives ask for (directive.c), and
 * the bytes as a local part (the keywords).
 *
 * The first byte picks Directive_Max_Repeats (1 to 100); the rest is
 * split at each 0xff byte into fields of one message, read in order, as
 * the raw values GMime hands over (not NUL-terminated: a read past a
 * field's end is caught).  Checks: every item lies within its field and
 * the reading moves on; a well-formed item has a name of name characters;
 * the bounds hold (bytes, items, notes); every value asked for is within
 * its range; a keyword read leaves no note.
 */
#include <string.h>

#include "directive.h"
#include "fuzz-common.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init();
	return 0;
}

/* The tokenizer alone, over one field. */
static void
check_items(const char *text, gsize len)
{
	SinkHdrListItem item;
	gsize pos = 0, before;

	for (before = pos; sink_hdrlist_next(text, len, &pos, &item); before = pos) {
		fuzz_assert(item.start <= item.end && item.end <= len, "item outside its field");
		fuzz_assert(pos > before && pos <= len, "the reading does not move on");
		fuzz_assert(item.error || *item.name, "a well-formed item without a name");
		for (const char *c = item.name; !item.error && *c; c++)
			fuzz_assert(g_ascii_isalnum(*c) || strchr("-_.", *c), "a name with a character out of place");
		fuzz_assert(strlen(item.name) <= SINK_HDRLIST_TOKEN_MAX && strlen(item.value) <= SINK_HDRLIST_TOKEN_MAX,
			    "a name or value past its bound");
	}
	fuzz_assert(pos == len, "the reading stops before the end");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	SinkDirectives d, kw;
	int max_repeats;
	gsize start = 1;

	if (size == 0)
		return 0;
	max_repeats = 1 + data[0] % 100;
	sink_directives_init(&d);
	for (gsize i = 1; i <= size; i++) {
		if (i < size && data[i] != 0xff)
			continue;
		/* each field in a buffer of its own size */
		char *field = g_memdup2(data + start, i - start);
		check_items(field, i - start);
		sink_directives_add(&d, field, i - start, max_repeats);
		g_free(field);
		start = i + 1;
	}
	sink_directives_finish(&d);

	fuzz_assert(d.bytes <= SINK_DIRECTIVE_BYTES_MAX && d.items <= SINK_DIRECTIVE_ITEMS_MAX, "bounds not kept");
	fuzz_assert(d.others <= d.items, "more other items than items");
	fuzz_assert(d.notes == NULL || d.notes->len <= SINK_DIRECTIVE_ITEMS_MAX + 2, "too many notes");
	fuzz_assert(d.opens == -1 || (d.opens >= 1 && d.opens <= max_repeats), "opens out of range");
	fuzz_assert(d.clicks == -1 || (d.clicks >= 0 && d.clicks <= max_repeats), "clicks out of range");
	fuzz_assert(d.delay >= -1 && d.delay <= SINK_DIRECTIVE_DELAY_MAX, "delay out of range");
	fuzz_assert(d.klass != SINK_CLASS_NONE || (!d.open && !d.click), "open or click without a class");
	fuzz_assert(d.feedback_type == NULL || d.implied != SINK_CLASS_NONE, "a feedback type that implied nothing");
	for (guint i = 0; d.notes && i < d.notes->len; i++)
		fuzz_assert(strpbrk(d.notes->pdata[i], "\r\n") == NULL, "a note on more than one line");
	sink_directives_clear(&d);

	if (sink_keyword_read((const char *)data + 1, size - 1, &kw))
		fuzz_assert(kw.notes == NULL && (kw.klass != SINK_CLASS_NONE || kw.implied != SINK_CLASS_NONE),
			    "a keyword that asks for nothing");
	return 0;
}
