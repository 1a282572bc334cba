/*
 * test-directive.c - what each X-Bouncy-Sink directive asks for (classes,
 * repeats, feedback types, personas, delays; conflicts, caps, unknown
 * tokens, malformed items), several fields as one list, the bounds on a
 * huge header, and the keyword local parts.
 */
#include <string.h>

#include "directive.h"

/* What a list asks for, in one line. */
static char *
summary(const SinkDirectives *d)
{
	return g_strdup_printf("class=%s implied=%s open=%d click=%d opens=%d clicks=%d ft=%s unsub=%s persona=%s "
			       "delay=%" G_GINT64_FORMAT " store=%d notes=%u",
			       d->klass ? sink_class_name(d->klass) : "-", d->implied ? sink_class_name(d->implied) : "-",
			       d->open, d->click, d->opens, d->clicks, d->feedback_type ? d->feedback_type : "-",
			       d->unsubscribe ? sink_unsubscribe_method_name(d->unsubscribe) : "-",
			       d->persona_given ? sink_persona_name(d->persona) : "-", d->delay, d->store_done,
			       d->notes ? d->notes->len : 0);
}

static void
read_list(SinkDirectives *d, const char *text)
{
	sink_directives_init(d);
	sink_directives_add(d, text, strlen(text), 10);
	sink_directives_finish(d);
}

#define NOTHING "class=- implied=- open=0 click=0 opens=-1 clicks=-1 ft=- unsub=- persona=- delay=-1"

static void
test_meaning(void)
{
	static const struct { const char *in, *expect, *note; } cases[] = {
		{ "Store-Done", NOTHING " store=1 notes=0", NULL },
		{ "store-done=yes", NOTHING " store=0 notes=1", "store-done takes no value" },
		{ "oob, fbl", "class=oob implied=- open=0 click=0 opens=-1 clicks=-1 ft=- unsub=- persona=- delay=-1 store=0 notes=1",
		  "\"fbl\": the class is already oob (\"oob\", the first wins); ignored" },
		{ "FBL, oob", "class=fbl implied=- open=0 click=0 opens=-1 clicks=-1 ft=- unsub=- persona=- delay=-1 store=0 notes=1", NULL },
		{ "oob, oob", "class=oob implied=- open=0 click=0 opens=-1 clicks=-1 ft=- unsub=- persona=- delay=-1 store=0 notes=0", NULL },
		{ "open", "class=openclick implied=- open=1 click=0 opens=-1 clicks=-1 ft=- unsub=- persona=- delay=-1 store=0 notes=0", NULL },
		{ "click", "class=openclick implied=- open=1 click=1 opens=-1 clicks=-1 ft=- unsub=- persona=- delay=-1 store=0 notes=0", NULL },
		{ "openclick", "class=openclick implied=- open=0 click=0 opens=-1 clicks=-1 ft=- unsub=- persona=- delay=-1 store=0 notes=0", NULL },
		{ "open, click", "class=openclick implied=- open=1 click=1 opens=-1 clicks=-1 ft=- unsub=- persona=- delay=-1 store=0 notes=0", NULL },
		{ "oob, click", "class=oob implied=- open=0 click=0 opens=-1 clicks=-1 ft=- unsub=- persona=- delay=-1 store=0 notes=1",
		  "the class is already oob" },
		{ "open, fbl", "class=openclick implied=- open=1 click=0 opens=-1 clicks=-1 ft=- unsub=- persona=- delay=-1 store=0 notes=1",
		  "the class is already openclick (\"open\", the first wins)" },
		{ "opens=3", "class=- implied=openclick open=0 click=0 opens=3 clicks=-1 ft=- unsub=- persona=- delay=-1 store=0 notes=0", NULL },
		{ "opens=1000000", "class=- implied=openclick open=0 click=0 opens=10 clicks=-1 ft=- unsub=- persona=- delay=-1 store=0 notes=1",
		  "\"opens=1000000\": more than Directive_Max_Repeats (10); 10 used" },
		{ "opens=99999999999999999999999", "class=- implied=openclick open=0 click=0 opens=10 clicks=-1 ft=- unsub=- persona=- delay=-1 store=0 notes=1", NULL },
		{ "opens=0", "class=- implied=openclick open=0 click=0 opens=1 clicks=-1 ft=- unsub=- persona=- delay=-1 store=0 notes=1",
		  "at least once; 1 used" },
		{ "clicks=0", "class=- implied=openclick open=0 click=0 opens=-1 clicks=0 ft=- unsub=- persona=- delay=-1 store=0 notes=0", NULL },
		{ "opens=\"02\"", "class=- implied=openclick open=0 click=0 opens=2 clicks=-1 ft=- unsub=- persona=- delay=-1 store=0 notes=0", NULL },
		{ "opens=2, opens=3", "class=- implied=openclick open=0 click=0 opens=2 clicks=-1 ft=- unsub=- persona=- delay=-1 store=0 notes=1",
		  "opens is already 2 (the first wins)" },
		{ "opens=-1", NOTHING " store=0 notes=1", "not a whole number" },
		{ "opens=abc", NOTHING " store=0 notes=1", "not a whole number" },
		{ "opens=1e3", NOTHING " store=0 notes=1", "not a whole number" },
		{ "opens", NOTHING " store=0 notes=1", "needs a value (opens=...)" },
		{ "oob=1", NOTHING " store=0 notes=1", "oob takes no value" },
		{ "feedback-type=FRAUD", "class=- implied=fbl open=0 click=0 opens=-1 clicks=-1 ft=fraud unsub=- persona=- delay=-1 store=0 notes=0", NULL },
		{ "feedback-type=\"not-spam\"", "class=- implied=fbl open=0 click=0 opens=-1 clicks=-1 ft=not-spam unsub=- persona=- delay=-1 store=0 notes=0", NULL },
		{ "feedback-type=virus, feedback-type=other", "class=- implied=fbl open=0 click=0 opens=-1 clicks=-1 ft=virus unsub=- persona=- delay=-1 store=0 notes=1", NULL },
		{ "feedback-type=auth-failure", NOTHING " store=0 notes=1", "(RFC 6591) are not made" },
		{ "feedback-type=spam", NOTHING " store=0 notes=1", "unknown feedback type" },
		{ "feedback-type=fraud, oob", "class=oob implied=fbl open=0 click=0 opens=-1 clicks=-1 ft=fraud unsub=- persona=- delay=-1 store=0 notes=0", NULL },
		{ "unsubscribe", "class=unsubscribe implied=- open=0 click=0 opens=-1 clicks=-1 ft=- unsub=- persona=- delay=-1 store=0 notes=0", NULL },
		{ "unsubscribe=One-Click", "class=- implied=unsubscribe open=0 click=0 opens=-1 clicks=-1 ft=- unsub=one-click persona=- delay=-1 store=0 notes=0", NULL },
		{ "unsubscribe=post", NOTHING " store=0 notes=1", "unknown unsubscribe method" },
		{ "autoreply", "class=autoreply implied=- open=0 click=0 opens=-1 clicks=-1 ft=- unsub=- persona=- delay=-1 store=0 notes=0", NULL },
		{ "mpp", "class=- implied=- open=0 click=0 opens=-1 clicks=-1 ft=- unsub=- persona=mpp delay=-1 store=0 notes=0", NULL },
		{ "mpp, scanner", "class=- implied=- open=0 click=0 opens=-1 clicks=-1 ft=- unsub=- persona=mpp+scanner delay=-1 store=0 notes=0", NULL },
		{ "scanner, human", "class=- implied=- open=0 click=0 opens=-1 clicks=-1 ft=- unsub=- persona=scanner delay=-1 store=0 notes=1",
		  "the persona is already scanner" },
		{ "human, mpp", "class=- implied=- open=0 click=0 opens=-1 clicks=-1 ft=- unsub=- persona=none delay=-1 store=0 notes=1",
		  "the persona is already human" },
		{ "delay=10m", "class=- implied=- open=0 click=0 opens=-1 clicks=-1 ft=- unsub=- persona=- delay=600 store=0 notes=0", NULL },
		{ "delay=1H30m", "class=- implied=- open=0 click=0 opens=-1 clicks=-1 ft=- unsub=- persona=- delay=5400 store=0 notes=0", NULL },
		{ "delay=90", "class=- implied=- open=0 click=0 opens=-1 clicks=-1 ft=- unsub=- persona=- delay=90 store=0 notes=0", NULL },
		{ "delay=0", "class=- implied=- open=0 click=0 opens=-1 clicks=-1 ft=- unsub=- persona=- delay=0 store=0 notes=0", NULL },
		{ "delay=30d", "class=- implied=- open=0 click=0 opens=-1 clicks=-1 ft=- unsub=- persona=- delay=604800 store=0 notes=1",
		  "more than 7d; 7d used" },
		{ "delay=99999999999999999999d", "class=- implied=- open=0 click=0 opens=-1 clicks=-1 ft=- unsub=- persona=- delay=604800 store=0 notes=1", NULL },
		{ "delay=10x", NOTHING " store=0 notes=1", "not a duration" },
		{ "delay=m", NOTHING " store=0 notes=1", "not a duration" },
		{ "delay=1h30", NOTHING " store=0 notes=1", "not a duration" },
		{ "bounce", NOTHING " store=0 notes=1", "\"bounce\": unknown directive (a local part's keyword; here: oob); ignored" },
		{ "fraud", NOTHING " store=0 notes=1", "here: feedback-type=fraud" },
		{ "frobnicate", NOTHING " store=0 notes=1", "\"frobnicate\": unknown directive; ignored" },
		{ "o\x01ob", NOTHING " store=0 notes=1", "X-Bouncy-Sink \"o?ob\": a control character; ignored" },
		{ "o\n ob", NOTHING " store=0 notes=1", "X-Bouncy-Sink \"o  ob\": a second word" },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		SinkDirectives d;
		g_autofree char *got = NULL;
		gboolean found = cases[i].note == NULL;

		read_list(&d, cases[i].in);
		got = summary(&d);
		g_test_message("in: %s", cases[i].in);
		g_assert_cmpstr(got, ==, cases[i].expect);
		for (guint n = 0; !found && d.notes && n < d.notes->len; n++)
			found = strstr(d.notes->pdata[n], cases[i].note) != NULL;
		if (!found)
			g_test_message("note \"%s\" not among %u", cases[i].note, d.notes ? d.notes->len : 0);
		g_assert_true(found);
		sink_directives_clear(&d);
	}
}

static void
test_only_store_done(void)
{
	SinkDirectives d;

	read_list(&d, "store-done (keep it), Store-Done");
	g_assert_true(d.store_done);
	g_assert_true(sink_directives_only_store_done(&d));
	sink_directives_clear(&d);
	read_list(&d, "store-done, mpp");
	g_assert_false(sink_directives_only_store_done(&d));
	sink_directives_clear(&d);
	read_list(&d, "store-done, frobnicate");	/* a refused item is still something asked */
	g_assert_false(sink_directives_only_store_done(&d));
	sink_directives_clear(&d);
	read_list(&d, "no-store-done");	/* a name, not a substring */
	g_assert_false(d.store_done);
	sink_directives_clear(&d);
}

/* Several fields are one list, in order: the first class wins across them. */
static void
test_fields_are_one_list(void)
{
	SinkDirectives d;

	sink_directives_init(&d);
	sink_directives_add(&d, "oob\n", 4, 10);
	sink_directives_add(&d, " fbl, store-done\n", 17, 10);
	sink_directives_finish(&d);
	g_assert_cmpint(d.klass, ==, SINK_CLASS_OOB);
	g_assert_true(d.store_done);
	g_assert_cmpuint(d.items, ==, 3);
	g_assert_cmpuint(d.notes->len, ==, 1);
	sink_directives_clear(&d);
}

/* 100 KB of header, 10,000 tokens: the first 4096 bytes and 64 items are read, the rest noted. */
static void
test_bounds(void)
{
	SinkDirectives d;
	GString *big = g_string_new("fbl, ");
	GString *many = g_string_new(NULL);

	while (big->len < 100 * 1024)
		g_string_append_c(big, 'x');
	sink_directives_init(&d);
	sink_directives_add(&d, big->str, big->len, 10);
	sink_directives_finish(&d);
	g_assert_cmpint(d.klass, ==, SINK_CLASS_FBL);
	g_assert_cmpuint(d.items, ==, 1);	/* the x...x item is cut by the bound: not read at all */
	g_assert_cmpuint(d.bytes, ==, SINK_DIRECTIVE_BYTES_MAX);
	g_assert_cmpuint(d.bytes_ignored, ==, big->len - SINK_DIRECTIVE_BYTES_MAX);
	g_assert_cmpuint(d.notes->len, ==, 1);
	g_assert_nonnull(strstr(d.notes->pdata[0], "bytes past the first 4096 not read"));
	/* a field after the bound is not read at all */
	sink_directives_add(&d, "oob", 3, 10);
	g_assert_cmpuint(d.items, ==, 1);
	sink_directives_clear(&d);

	for (int i = 0; i < 10000; i++)
		g_string_append(many, i == 0 ? "store-done, " : i % 2 ? "open, " : "opens=3, ");
	sink_directives_init(&d);
	sink_directives_add(&d, many->str, many->len, 10);
	sink_directives_finish(&d);
	g_assert_cmpuint(d.items, ==, SINK_DIRECTIVE_ITEMS_MAX);
	g_assert_cmpuint(d.items_ignored, >, 0);
	g_assert_cmpuint(d.items + d.items_ignored, <, SINK_DIRECTIVE_BYTES_MAX / 6 + 2);
	g_assert_true(d.store_done);
	g_assert_cmpint(d.klass, ==, SINK_CLASS_OPENCLICK);
	g_assert_cmpint(d.opens, ==, 3);
	g_assert_false(sink_directives_only_store_done(&d));
	sink_directives_clear(&d);

	/* 64 refused items: 64 notes at most, and the bounds' two */
	g_string_truncate(many, 0);
	for (int i = 0; i < 200; i++)
		g_string_append(many, "?, ");
	sink_directives_init(&d);
	sink_directives_add(&d, many->str, many->len, 10);
	sink_directives_finish(&d);
	g_assert_cmpuint(d.notes->len, ==, SINK_DIRECTIVE_ITEMS_MAX + 1);
	sink_directives_clear(&d);
	g_string_free(big, TRUE);
	g_string_free(many, TRUE);
}

static void
test_keywords(void)
{
	static const struct {
		const char *local;
		const char *keyword;
		SinkClass klass, implied;
		const char *feedback_type;
		gboolean open, click;
		const char *persona;
	} cases[] = {
		{ "success", "success", SINK_CLASS_ACCEPT, 0, NULL, FALSE, FALSE, NULL },
		{ "Accept", "accept", SINK_CLASS_ACCEPT, 0, NULL, FALSE, FALSE, NULL },
		{ "BOUNCE", "bounce", SINK_CLASS_OOB, 0, NULL, FALSE, FALSE, NULL },
		{ "oob", "oob", SINK_CLASS_OOB, 0, NULL, FALSE, FALSE, NULL },
		{ "complaint", "complaint", SINK_CLASS_FBL, 0, NULL, FALSE, FALSE, NULL },
		{ "spam", "spam", SINK_CLASS_FBL, 0, NULL, FALSE, FALSE, NULL },
		{ "fbl", "fbl", SINK_CLASS_FBL, 0, NULL, FALSE, FALSE, NULL },
		{ "fraud", "fraud", SINK_CLASS_FBL, 0, "fraud", FALSE, FALSE, NULL },
		{ "virus", "virus", SINK_CLASS_FBL, 0, "virus", FALSE, FALSE, NULL },
		{ "Not-Spam", "not-spam", SINK_CLASS_FBL, 0, "not-spam", FALSE, FALSE, NULL },
		{ "open", "open", SINK_CLASS_OPENCLICK, 0, NULL, TRUE, FALSE, NULL },
		{ "click", "click", SINK_CLASS_OPENCLICK, 0, NULL, TRUE, TRUE, NULL },
		{ "unsubscribe", "unsubscribe", SINK_CLASS_UNSUBSCRIBE, 0, NULL, FALSE, FALSE, NULL },
		{ "ooto", "ooto", SINK_CLASS_AUTOREPLY, 0, NULL, FALSE, FALSE, NULL },
		{ "autoreply", "autoreply", SINK_CLASS_AUTOREPLY, 0, NULL, FALSE, FALSE, NULL },
		{ "mpp", "mpp", SINK_CLASS_NONE, SINK_CLASS_ACCEPT, NULL, FALSE, FALSE, "mpp" },
		{ "scanner", "scanner", SINK_CLASS_NONE, SINK_CLASS_ACCEPT, NULL, FALSE, FALSE, "scanner" },
		{ "bouncer", NULL, 0, 0, NULL, FALSE, FALSE, NULL },
		{ "bounce2", NULL, 0, 0, NULL, FALSE, FALSE, NULL },
		{ "human", NULL, 0, 0, NULL, FALSE, FALSE, NULL },
		{ "openclick", NULL, 0, 0, NULL, FALSE, FALSE, NULL },
		{ "", NULL, 0, 0, NULL, FALSE, FALSE, NULL },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		SinkDirectives d;
		const char *kw = sink_keyword_read(cases[i].local, strlen(cases[i].local), &d);

		g_test_message("local part: %s", cases[i].local);
		g_assert_cmpstr(kw, ==, cases[i].keyword);
		g_assert_cmpint(d.klass, ==, cases[i].klass);
		g_assert_cmpint(d.implied, ==, cases[i].implied);
		g_assert_cmpstr(d.feedback_type, ==, cases[i].feedback_type);
		g_assert_cmpint(d.open, ==, cases[i].open);
		g_assert_cmpint(d.click, ==, cases[i].click);
		g_assert_cmpstr(d.persona_given ? sink_persona_name(d.persona) : NULL, ==, cases[i].persona);
		g_assert_null(d.notes);
	}
	/* only the given length counts: "bounce+x" read up to its '+' */
	SinkDirectives d;
	g_assert_cmpstr(sink_keyword_read("bounce+x", 6, &d), ==, "bounce");
}

static void
test_duration_text(void)
{
	static const struct { gint64 s; const char *text; } cases[] = {
		{ 0, "0s" }, { 59, "59s" }, { 60, "1m" }, { 90, "90s" }, { 3600, "1h" }, { 5400, "90m" },
		{ 86400, "1d" }, { 604800, "7d" }, { 90000, "25h" },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *got = sink_duration_text(cases[i].s);
		g_assert_cmpstr(got, ==, cases[i].text);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/directive/meaning", test_meaning);
	g_test_add_func("/directive/only-store-done", test_only_store_done);
	g_test_add_func("/directive/fields-are-one-list", test_fields_are_one_list);
	g_test_add_func("/directive/bounds-100kb-and-10000-tokens", test_bounds);
	g_test_add_func("/directive/keywords", test_keywords);
	g_test_add_func("/directive/duration-text", test_duration_text);
	return g_test_run();
}
