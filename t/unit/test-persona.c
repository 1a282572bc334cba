/*
 * test-persona.c - the mailbox's personas: a keyed hash of the address that
 * is the same everywhere (pinned to SHA-256 values computed apart from this
 * code), the shares it gives over many addresses, the subdomains, and the
 * User-Agents it picks for an address's reader and gateway.
 */
#include <math.h>
#include <string.h>

#include "persona.h"
#include "unit.h"
#include "useragent.h"

/* A config with these [Sink] lines on top of the defaults. */
static SinkConfig *
config(const char *lines)
{
	g_autofree char *text = g_strdup_printf("[Sink]\n%s\n", lines);

	return unit_config_from(text);
}

static void
test_hash_is_pinned(void)
{
	/*
	 * The first 8 bytes of SHA-256(purpose NUL salt NUL address) over 2^64,
	 * 53 bits of it; computed with Python's hashlib:
	 *   int.from_bytes(sha256(b"mpp\0\0x@sink.test").digest()[:8], "big") >> 11) * 2**-53
	 * A change here moves every address to another persona: never do it.
	 */
	static const struct {
		const char *salt, *purpose, *rcpt;
		double expect;
	} cases[] = {
		{ "", "mpp", "x@sink.test", 0.4346406051152317 },
		{ "", "mpp", "X@Sink.TEST", 0.4346406051152317 },	/* lower-cased first */
		{ "", "mpp", "x+ci-7@sink.test", 0.4346406051152317 },	/* the mailbox's: its +label left out */
		{ "", "mpp", "X+a+b@Sink.TEST", 0.4346406051152317 },
		{ "", "scanner", "x@sink.test", 0.3614185640550279 },	/* each purpose its own point */
		{ "s1", "mpp", "x@sink.test", 0.4678369860291207 },	/* another salt, another place */
		{ "", "user-agent", "Reader@Example.COM", 0.290611068830101 },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *line = g_strdup_printf("Persona_Salt = %s", cases[i].salt);
		g_autoptr(SinkConfig) cfg = config(line);
		double u = sink_persona_hash(cfg, cases[i].rcpt, cases[i].purpose);

		g_test_message("%s %s %s: %.17g", cases[i].salt, cases[i].purpose, cases[i].rcpt, u);
		g_assert_cmpfloat(fabs(u - cases[i].expect), <, 1e-15);
	}
}

static void
test_route_by_first_label(void)
{
	static const struct { const char *rcpt; SinkPersona expect; } cases[] = {
		{ "x@mpp.sink.test", SINK_PERSONA_MPP },
		{ "x@MPP.a.b.sink.test", SINK_PERSONA_MPP },
		{ "x@scanner.sink.test", SINK_PERSONA_SCANNER },
		{ "x@Scanner.sink.test", SINK_PERSONA_SCANNER },
		{ "x@openclick.mpp.sink.test", SINK_PERSONA_NONE },	/* only the first label counts */
		{ "x@mppx.sink.test", SINK_PERSONA_NONE },
		{ "mpp@sink.test", SINK_PERSONA_NONE },
		{ "x@mpp", SINK_PERSONA_NONE },
		{ "no-at-sign", SINK_PERSONA_NONE },
		{ NULL, SINK_PERSONA_NONE },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_test_message("rcpt %s", cases[i].rcpt ? cases[i].rcpt : "(null)");
		g_assert_cmpint(sink_persona_route(cases[i].rcpt), ==, cases[i].expect);
	}
}

/* How many of the `n` addresses <local><i>@<domain> have each persona under cfg. */
static void
count(const SinkConfig *cfg, const char *local, const char *domain, guint n, guint *mpp, guint *scanner,
      guint *both)
{
	*mpp = *scanner = *both = 0;
	for (guint i = 0; i < n; i++) {
		g_autofree char *rcpt = g_strdup_printf("%s%u@%s", local, i, domain);
		guint p = sink_persona_of(cfg, rcpt);

		*mpp += (p & SINK_PERSONA_MPP) != 0;
		*scanner += (p & SINK_PERSONA_SCANNER) != 0;
		*both += p == (SINK_PERSONA_MPP | SINK_PERSONA_SCANNER);
	}
}

static void
test_shares_of_addresses(void)
{
	g_autoptr(SinkConfig) half = config("MPP_percent = 50");
	g_autoptr(SinkConfig) thirty = config("MPP_percent = 30\nScanner_percent = 20");
	g_autoptr(SinkConfig) salted = config("MPP_percent = 30\nPersona_Salt = another");
	g_autoptr(SinkConfig) none = config("");
	g_autoptr(SinkConfig) all = config("MPP_percent = 100\nScanner_percent = 100");
	guint mpp, scanner, both, moved = 0;

	/* 2,000 distinct addresses, half of them MPP: close to 1,000 (4 %: more than 3 standard deviations) */
	count(half, "reader", "sink.test", 2000, &mpp, &scanner, &both);
	g_test_message("MPP_percent = 50: %u of 2000", mpp);
	g_assert_cmpuint(mpp, >=, 920);
	g_assert_cmpuint(mpp, <=, 1080);
	g_assert_cmpuint(scanner, ==, 0);

	/* 1,000 addresses at 30 % (± 4); the scanner share is drawn apart: about 30 % of 20 % have both */
	count(thirty, "a", "mix.sink.test", 1000, &mpp, &scanner, &both);
	g_test_message("MPP_percent = 30, Scanner_percent = 20: %u, %u, both %u of 1000", mpp, scanner, both);
	g_assert_cmpuint(mpp, >=, 260);
	g_assert_cmpuint(mpp, <=, 340);
	g_assert_cmpuint(scanner, >=, 160);
	g_assert_cmpuint(scanner, <=, 240);
	g_assert_cmpuint(both, >=, 30);
	g_assert_cmpuint(both, <=, 90);

	/* another salt: the same share, other addresses */
	for (guint i = 0; i < 1000; i++) {
		g_autofree char *rcpt = g_strdup_printf("a%u@mix.sink.test", i);
		moved += (sink_persona_of(thirty, rcpt) & SINK_PERSONA_MPP) != (sink_persona_of(salted, rcpt) & SINK_PERSONA_MPP);
	}
	g_test_message("addresses that changed with the salt: %u of 1000", moved);
	g_assert_cmpuint(moved, >=, 300);	/* two independent 30 % draws differ 42 % of the time */

	count(none, "a", "mix.sink.test", 1000, &mpp, &scanner, &both);
	g_assert_cmpuint(mpp + scanner, ==, 0);
	count(all, "a", "mix.sink.test", 1000, &mpp, &scanner, &both);
	g_assert_cmpuint(both, ==, 1000);
}

static void
test_subdomain_on_top_of_the_mix(void)
{
	g_autoptr(SinkConfig) none = config("");
	g_autoptr(SinkConfig) all_mpp = config("MPP_percent = 100");

	g_assert_cmpuint(sink_persona_of(none, "x@mpp.sink.test"), ==, SINK_PERSONA_MPP);
	g_assert_cmpuint(sink_persona_of(none, "x@scanner.sink.test"), ==, SINK_PERSONA_SCANNER);
	g_assert_cmpuint(sink_persona_of(none, "x@accept.sink.test"), ==, SINK_PERSONA_NONE);
	g_assert_cmpuint(sink_persona_of(all_mpp, "x@scanner.sink.test"), ==, SINK_PERSONA_MPP | SINK_PERSONA_SCANNER);
	g_assert_cmpuint(sink_persona_of(all_mpp, NULL), ==, SINK_PERSONA_NONE);
}

static void
test_names(void)
{
	const char *names[3];

	g_assert_cmpuint(sink_persona_names(SINK_PERSONA_NONE, names), ==, 0);
	g_assert_null(names[0]);
	g_assert_cmpuint(sink_persona_names(SINK_PERSONA_SCANNER | SINK_PERSONA_MPP, names), ==, 2);
	g_assert_cmpstr(names[0], ==, "mpp");
	g_assert_cmpstr(names[1], ==, "scanner");
	g_assert_null(names[2]);
}

static void
test_reader_agent(void)
{
	g_autoptr(SinkConfig) per_address = config("User_Agent_Per_Address = true");
	g_autoptr(SinkConfig) drawn = config("");
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

	/* per address: whatever the seed, the same agent; over many addresses, every agent of the list */
	for (guint seed = 1; seed <= 5; seed++) {
		GRand *rng = g_rand_new_with_seed(seed), *fresh = g_rand_new_with_seed(seed);
		g_autofree char *a = sink_persona_reader_agent(per_address, "Reader@Example.COM", rng, NULL);
		g_autofree char *b = sink_persona_reader_agent(per_address, "reader@example.com", rng, NULL);
		g_autofree char *want = sink_useragent_pick_at(per_address, 0.290611068830101, NULL);

		g_assert_cmpstr(a, ==, want);
		g_assert_cmpstr(b, ==, want);
		g_assert_cmpuint(g_rand_int(rng), ==, g_rand_int(fresh));	/* nothing drawn */
		g_rand_free(rng);
		g_rand_free(fresh);
	}
	for (guint i = 0; i < 400; i++) {
		g_autofree char *rcpt = g_strdup_printf("r%u@sink.test", i);
		g_hash_table_add(seen, sink_persona_reader_agent(per_address, rcpt, NULL, NULL));
	}
	guint n = 0;
	for (const char *const *p = sink_useragent_builtin(); *p; p++)
		n++;
	g_assert_cmpuint(g_hash_table_size(seen), ==, n);

	/* without it: drawn, as before (the same seed, the same agent as sink_useragent_pick) */
	GRand *a = g_rand_new_with_seed(7), *b = g_rand_new_with_seed(7);
	for (int i = 0; i < 10; i++) {
		g_autofree char *x = sink_persona_reader_agent(drawn, "reader@example.com", a, NULL);
		g_autofree char *y = sink_useragent_pick(drawn, b, NULL);
		g_assert_cmpstr(x, ==, y);
	}
	g_rand_free(a);
	g_rand_free(b);
}

static void
test_scanner_agent(void)
{
	g_autoptr(SinkConfig) cfg = config("");
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autofree char *file = g_build_filename(SRCDIR, "t", "fixtures", "ua-cr.csv", NULL);
	g_autofree char *missing = g_build_filename(SRCDIR, "t", "fixtures", "ua-does-not-exist.csv", NULL);
	guint n = 0;

	for (const char *const *p = sink_useragent_scanner_builtin(); *p; p++, n++)
		g_assert_null(strpbrk(*p, "\r\n"));
	g_assert_cmpuint(n, >=, 6);
	for (guint i = 0; i < 400; i++) {
		g_autofree char *rcpt = g_strdup_printf("s%u@scanner.sink.test", i);
		g_autofree char *why = NULL;
		char *ua = sink_persona_scanner_agent(cfg, rcpt, &why);
		g_autofree char *again = sink_persona_scanner_agent(cfg, rcpt, NULL);

		g_assert_cmpstr(ua, ==, again);	/* an address sits behind one gateway */
		g_assert_null(why);
		g_hash_table_add(seen, ua);
	}
	g_assert_cmpuint(g_hash_table_size(seen), ==, n);

	/* Scanner_User_Agents_File: the same format as User_Agents_File */
	cfg->scanner_user_agents_file = g_strdup(file);
	g_autofree char *from_file = sink_persona_scanner_agent(cfg, "x@scanner.sink.test", NULL);
	g_autoptr(GPtrArray) values = sink_useragent_read(file, NULL);
	gboolean listed = FALSE;
	for (guint i = 0; i < values->len; i++)
		listed |= strcmp(values->pdata[i], from_file) == 0;
	g_assert_true(listed);

	/* a file that cannot be used: the built-in list, and why */
	g_free(cfg->scanner_user_agents_file);
	cfg->scanner_user_agents_file = g_strdup(missing);
	g_autofree char *why = NULL;
	g_autofree char *fallback = sink_persona_scanner_agent(cfg, "x@scanner.sink.test", &why);
	g_assert_nonnull(why);
	g_assert_true(g_str_has_prefix(why, "Scanner_User_Agents_File: "));
	g_assert_true(g_strv_contains(sink_useragent_scanner_builtin(), fallback));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/persona/hash/pinned-sha256-values", test_hash_is_pinned);
	g_test_add_func("/persona/route/first-label-mpp-or-scanner", test_route_by_first_label);
	g_test_add_func("/persona/shares/2000-and-1000-addresses-land-on-the-configured-shares", test_shares_of_addresses);
	g_test_add_func("/persona/route/subdomain-on-top-of-the-mix", test_subdomain_on_top_of_the_mix);
	g_test_add_func("/persona/names", test_names);
	g_test_add_func("/persona/agent/reader-per-address-or-drawn", test_reader_agent);
	g_test_add_func("/persona/agent/scanner-per-address-from-file-or-built-in", test_scanner_agent);
	return g_test_run();
}
