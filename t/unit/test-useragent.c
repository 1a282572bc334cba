/*
 * test-useragent.c - the message's one User-Agent: the Software column of a
 * CSV file (quoted fields with commas, CR / CRLF / LF line ends, a header
 * in any column), and the built-in list when there is no usable file.
 */
#include <string.h>

#include "engage.h"
#include "useragent.h"

static char *
fixture(const char *name)
{
	return g_build_filename(SRCDIR, "t", "fixtures", name, NULL);
}

static char *
joined(GPtrArray *a)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < a->len; i++)
		g_string_append_printf(s, "%s%s", i ? "|" : "", (const char *)a->pdata[i]);
	return g_string_free(s, FALSE);
}

static void
test_read_table(void)
{
	static const struct {
		const char *file, *expect;
	} cases[] = {
		/* bare CR line ends, as the original's file has; quoted fields with commas and "" */
		{ "ua-cr.csv",
		  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36|"
		  "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0|"
		  "Test \"Quoted\" Agent/1.0 (a, b)" },
		/* CRLF, Software in the second column, a blank line, a quoted line break (skipped: not a
		 * header value), an empty value, no line end at the end */
		{ "ua-crlf.csv", "Agent One/1.0 (x, y)|Agent Three/3.0 \"q\"" },
		/* LF, a byte order mark, a lower-case header, spaces trimmed */
		{ "ua-lf-bom.csv", "Agent LF/1.0|Agent Spaces/2.0" },
		/* a byte order mark before a quoted header (as spreadsheets export), CRLF */
		{ "ua-bom-quoted.csv", "Agent Quoted BOM/1.0 (a, b)" },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *path = fixture(cases[i].file);
		g_autoptr(GError) error = NULL;
		g_autoptr(GPtrArray) values = sink_useragent_read(path, &error);

		g_test_message("file: %s", cases[i].file);
		g_assert_no_error(error);
		g_assert_nonnull(values);
		g_autofree char *got = joined(values);
		g_assert_cmpstr(got, ==, cases[i].expect);
	}
}

static void
test_read_errors(void)
{
	static const struct {
		const char *file, *says;
	} cases[] = {
		{ "ua-does-not-exist.csv", "ua-does-not-exist.csv" },
		{ "ua-no-software.csv", "no \"Software\" column" },
		{ "ua-header-only.csv", "no user agents" },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *path = fixture(cases[i].file);
		g_autoptr(GError) error = NULL;
		g_autoptr(GPtrArray) values = sink_useragent_read(path, &error);

		g_test_message("file: %s", cases[i].file);
		g_assert_null(values);
		g_assert_nonnull(error);
		g_assert_nonnull(strstr(error->message, cases[i].says));
	}
}

static gboolean
builtin_has(const char *ua)
{
	for (const char *const *p = sink_useragent_builtin(); *p; p++)
		if (strcmp(*p, ua) == 0)
			return TRUE;
	return FALSE;
}

static void
test_pick_from_file(void)
{
	g_autoptr(SinkConfig) cfg = sink_config_load(NULL, NULL);
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	GRand *rng = g_rand_new_with_seed(7);

	g_free(cfg->user_agents_file);
	cfg->user_agents_file = fixture("ua-cr.csv");
	for (int i = 0; i < 200; i++) {
		g_autofree char *why = NULL;
		char *ua = sink_useragent_pick(cfg, rng, &why);
		g_assert_false(builtin_has(ua));
		g_assert_null(why);
		g_hash_table_add(seen, ua);
	}
	g_assert_cmpuint(g_hash_table_size(seen), ==, 3);	/* every row is picked sometimes */
	g_assert_true(g_hash_table_contains(seen, "Test \"Quoted\" Agent/1.0 (a, b)"));
	g_rand_free(rng);
}

static void
test_pick_is_reproducible(void)
{
	g_autoptr(SinkConfig) cfg = sink_config_load(NULL, NULL);
	GRand *a = g_rand_new_with_seed(42), *b = g_rand_new_with_seed(42);

	g_free(cfg->user_agents_file);
	cfg->user_agents_file = fixture("ua-cr.csv");
	for (int i = 0; i < 20; i++) {
		g_autofree char *x = sink_useragent_pick(cfg, a, NULL);
		g_autofree char *y = sink_useragent_pick(cfg, b, NULL);
		g_assert_cmpstr(x, ==, y);
	}
	g_rand_free(a);
	g_rand_free(b);
}

static void
test_pick_builtin(void)
{
	g_autoptr(SinkConfig) cfg = sink_config_load(NULL, NULL);
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	GRand *rng = g_rand_new_with_seed(1);
	guint n = 0;

	for (const char *const *p = sink_useragent_builtin(); *p; p++, n++)
		g_assert_true(g_str_has_prefix(*p, "Mozilla/"));
	g_assert_cmpuint(n, >=, 8);

	/* no file configured: the built-in list, and nothing to complain about */
	g_clear_pointer(&cfg->user_agents_file, g_free);
	for (int i = 0; i < 500; i++) {
		g_autofree char *why = NULL;
		char *ua = sink_useragent_pick(cfg, rng, &why);
		g_assert_true(builtin_has(ua));
		g_assert_null(why);
		g_hash_table_add(seen, ua);
	}
	g_assert_cmpuint(g_hash_table_size(seen), ==, n);

	/* a configured file that is missing: the built-in list, and the reason */
	cfg->user_agents_file = fixture("ua-does-not-exist.csv");
	g_autofree char *why = NULL;
	g_autofree char *ua = sink_useragent_pick(cfg, rng, &why);
	g_assert_true(builtin_has(ua));
	g_assert_nonnull(why);
	g_assert_nonnull(strstr(why, "ua-does-not-exist.csv"));
	g_assert_nonnull(strstr(why, "built-in"));
	g_rand_free(rng);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/useragent/read/software-column-of-cr-crlf-lf-files", test_read_table);
	g_test_add_func("/useragent/read/unusable-files-are-errors", test_read_errors);
	g_test_add_func("/useragent/pick/from-the-file", test_pick_from_file);
	g_test_add_func("/useragent/pick/same-seed-same-agent", test_pick_is_reproducible);
	g_test_add_func("/useragent/pick/built-in-without-a-usable-file", test_pick_builtin);
	return g_test_run();
}
