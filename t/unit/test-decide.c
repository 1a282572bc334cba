/*
 * test-decide.c - the decision model: routing by subdomain, the model's
 * arithmetic, the Signals rule, and 100,000 seeded decisions landing on the
 * configured shares.
 */
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "decide.h"
#include "directive.h"
#include "unit.h"

static void
test_route_by_first_label(void)
{
	static const struct { const char *rcpt; SinkClass expect; } cases[] = {
		{ "x@fbl.sink.test", SINK_CLASS_FBL },
		{ "x@FBL.x.y.sink.test", SINK_CLASS_FBL },
		{ "x@oob.sink.test", SINK_CLASS_OOB },
		{ "x@Accept.sink.test", SINK_CLASS_ACCEPT },
		{ "x@openclick.sink.test", SINK_CLASS_OPENCLICK },
		{ "x@unsubscribe.sink.test", SINK_CLASS_UNSUBSCRIBE },
		{ "x@UnSubscribe.a.sink.test", SINK_CLASS_UNSUBSCRIBE },
		{ "x@unsubscribes.sink.test", SINK_CLASS_NONE },
		{ "x@foo.bar.sink.test", SINK_CLASS_NONE },	/* the mix */
		{ "x@fblx.sink.test", SINK_CLASS_NONE },
		{ "x@sink.fbl.test", SINK_CLASS_NONE },		/* only the first label counts */
		{ "fbl@example.test", SINK_CLASS_NONE },
		{ "x@fbl", SINK_CLASS_NONE },
		{ "no-at-sign", SINK_CLASS_NONE },
		{ NULL, SINK_CLASS_NONE },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_test_message("rcpt %s", cases[i].rcpt ? cases[i].rcpt : "(null)");
		g_assert_cmpint(sink_route_class(cases[i].rcpt), ==, cases[i].expect);
	}
}

/*
 * The original's getBounceProbabilities, written again from its steps for
 * this test alone (no code shared with decide.c): each share is
 * percent / 100 / (1 - Upstream_Handled / 100); today's open factor is
 * divided by the Signals density (the digit lists as sets of the numbers
 * written, "0" included, against 10 times the longest) and clipped to
 * [0, 1]; each open-type share is multiplied by it and clipped to [0, 1];
 * the conditionals are ratios of the clipped shares.
 */
typedef struct {
	double oob, fbl, open, open_again, click, click_again;
	double open_again_given_open, click_given_open, click_again_given_click;
} OriginalP;

/* The shipped consume-mail.ini's model, as its text has it. */
static const char *const shipped_digits[10] = {
	"0",
	"1,2,3,4,5,6,7,                   15,16,17,18,19,20,21,                     29,30,31",
	"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31",
	"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31",
	"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31",
	"3,18",
	"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31",
	"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31",
	"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31",
	"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31",
};

static double
original_clip(double n)
{
	return fmax(0.0, fmin(1.0, n));
}

static double
original_density(const char *const digits[10])
{
	int active = 0, longest = 0;

	for (int i = 0; i < 10; i++) {
		g_auto(GStrv) items = g_strsplit(digits[i], ",", -1);
		g_autoptr(GHashTable) set = g_hash_table_new(g_direct_hash, g_direct_equal);
		for (char **p = items; *p; p++)
			g_hash_table_add(set, GINT_TO_POINTER(atoi(*p)));
		active += (int)g_hash_table_size(set);
		longest = MAX(longest, (int)g_hash_table_size(set));
	}
	return (double)active / (10 * longest);
}

static OriginalP
original_probabilities(double oob, double fbl, double open, double open_again, double click, double click_again,
		       double upstream, double today_factor, double density)
{
	double app = 1 - upstream / 100;
	double factor = original_clip(today_factor / density);
	OriginalP p = {
		.oob = oob / 100 / app,
		.fbl = fbl / 100 / app,
		.open = original_clip(open / 100 / app * factor),
		.open_again = original_clip(open_again / 100 / app * factor),
		.click = original_clip(click / 100 / app * factor),
		.click_again = original_clip(click_again / 100 / app * factor),
	};

	p.open_again_given_open = p.open_again / p.open;
	p.click_given_open = p.click / p.open;
	p.click_again_given_click = p.click_again / p.click;
	return p;
}

/* The shipped model's weekdays: 2026-11-23 is a Monday of an even ISO week (cycle index 0). */
static const struct {
	int month, day;
	double factor;	/* Weekly_Cycle_Open_Rate at that index */
} shipped_days[] = {
	{ 11, 23, 1.0 },	/* index 0 */
	{ 11, 24, 0.1 },	/* index 1 */
	{ 11, 26, 0.2 },	/* index 3 */
	{ 12, 1, 0.5 },		/* index 8 (odd week) */
	{ 12, 2, 0.7 },		/* index 9 */
	{ 12, 5, 1.0 },		/* index 12 */
};

/* The model for the shipped config equals the original's probabilities, exactly, on every date. */
static void
test_shipped_model_equals_original(void)
{
	g_autoptr(SinkConfig) cfg = sink_config_load(NULL, NULL);	/* the shipped model's defaults */
	double density = original_density(shipped_digits);

	g_assert_cmpfloat(density, ==, 237.0 / 310.0);	/* Digit0's "0" is a list of one, as in the original */
	for (gsize i = 0; i < G_N_ELEMENTS(shipped_days); i++) {
		g_autoptr(GDateTime) now = g_date_time_new_utc(2026, shipped_days[i].month, shipped_days[i].day, 10, 0, 0);
		OriginalP o = original_probabilities(0.5, 0.01, 55, 10, 15, 3, 50, shipped_days[i].factor, density);
		SinkModel m;

		g_test_message("2026-%02d-%02d, factor %g", shipped_days[i].month, shipped_days[i].day,
			       shipped_days[i].factor);
		g_assert_true(sink_model_init(&m, cfg, now, NULL));
		g_assert_cmpfloat(m.open_factor, ==, shipped_days[i].factor);
		g_assert_cmpfloat(m.density, ==, density);
		g_assert_cmpfloat(m.oob, ==, o.oob);
		g_assert_cmpfloat(m.fbl, ==, o.fbl);
		g_assert_cmpfloat(m.open, ==, o.open);
		g_assert_cmpfloat(m.open_again, ==, o.open_again);
		g_assert_cmpfloat(m.click, ==, o.click);
		g_assert_cmpfloat(m.click_again, ==, o.click_again);
		g_assert_cmpfloat(m.open_again_given_open, ==, o.open_again_given_open);
		g_assert_cmpfloat(m.click_given_open, ==, o.click_given_open);
		g_assert_cmpfloat(m.click_again_given_click, ==, o.click_again_given_click);
	}

	/* on a factor-1 day the density's boost is clipped away: given an open, a click is 30 %, as configured */
	{
		g_autoptr(GDateTime) monday = g_date_time_new_utc(2026, 11, 23, 10, 0, 0);
		SinkModel m;
		g_assert_true(sink_model_init(&m, cfg, monday, NULL));
		g_assert_cmpfloat(m.open, ==, 1.0);
		g_assert_cmpfloat_with_epsilon(m.click_given_open, 0.3, 1e-12);
		g_assert_cmpfloat_with_epsilon(m.open_again_given_open, 0.2, 1e-12);
	}
}

/* The same when the model comes from the original's file text (its spaces in Digit1_days and all). */
static void
test_original_text_loads_to_the_same_model(void)
{
	g_autoptr(GString) ini = g_string_new("[Sink]\nOOB_percent = 0.5\nFBL_percent = 0.01\nOpen_percent = 55\n"
					      "Open_Again_percent = 10\nClick_percent = 15\nClick_Again_percent = 3\n"
					      "Upstream_Handled = 50\nSignals_Traffic_Prefix = test\n"
					      "Weekly_Cycle_Open_Rate = 1,0.1,0.1,0.2,1,1,1,1,0.5,0.7,1,1,1,1\n");
	g_autoptr(SinkConfig) builtin = sink_config_load(NULL, NULL);

	for (int d = 0; d < 10; d++)
		g_string_append_printf(ini, "Digit%d_days = %s\n", d, shipped_digits[d]);
	g_autoptr(SinkConfig) cfg = unit_config_from(ini->str);
	for (gsize i = 0; i < G_N_ELEMENTS(shipped_days); i++) {
		g_autoptr(GDateTime) now = g_date_time_new_utc(2026, shipped_days[i].month, shipped_days[i].day, 10, 0, 0);
		SinkModel a, b;
		g_assert_true(sink_model_init(&a, cfg, now, NULL));
		g_assert_true(sink_model_init(&b, builtin, now, NULL));
		g_assert_cmpmem(&a, sizeof a, &b, sizeof b);
	}
}

static void
test_conditional_out_of_range_is_config_error(void)
{
	g_autoptr(SinkConfig) cfg = unit_config_from("[Sink]\nUpstream_Handled = 0\nOpen_percent = 10\nClick_percent = 20\n");
	g_autoptr(GDateTime) now = g_date_time_new_utc(2026, 11, 23, 10, 0, 0);
	g_autoptr(GError) error = NULL;
	SinkModel m;

	g_assert_false(sink_model_init(&m, cfg, now, &error));
	g_assert_error(error, SINK_CONFIG_ERROR, SINK_CONFIG_ERROR_VALUE);
	g_assert_nonnull(strstr(error->message, "Click_percent"));
}

/*
 * The day's factor (over the density) is clipped to at most 1, as the
 * original's: a factor above 1 leaves the configured shares; below 1 it
 * lowers each.
 */
static void
test_factor_clipped_to_one(void)
{
	g_autoptr(SinkConfig) cfg = unit_config_from("[Sink]\nUpstream_Handled = 0\nOpen_percent = 20\nOpen_Again_percent = 5\n"
						"Click_percent = 5\nClick_Again_percent = 1\nSignals_Traffic_Prefix =\n"
						"Weekly_Cycle_Open_Rate = 2,2,2,2,2,0.5,6\n");
	g_autoptr(GDateTime) monday = g_date_time_new_utc(2026, 11, 23, 10, 0, 0);	/* factor 2 */
	g_autoptr(GDateTime) saturday = g_date_time_new_utc(2026, 11, 28, 10, 0, 0);	/* factor 0.5 */
	g_autoptr(GDateTime) sunday = g_date_time_new_utc(2026, 11, 29, 10, 0, 0);	/* factor 6 */
	g_autoptr(GError) error = NULL;
	SinkModel m;

	g_assert_true(sink_model_init(&m, cfg, monday, &error));
	g_assert_cmpfloat(m.density, ==, 1.0);
	g_assert_cmpfloat_with_epsilon(m.open, 0.2, 1e-12);
	g_assert_cmpfloat_with_epsilon(m.open_again, 0.05, 1e-12);
	g_assert_cmpfloat_with_epsilon(m.click, 0.05, 1e-12);
	g_assert_cmpfloat_with_epsilon(m.click_again, 0.01, 1e-12);
	g_assert_cmpfloat_with_epsilon(m.click_given_open, 0.25, 1e-12);

	g_assert_true(sink_model_init(&m, cfg, sunday, &error));
	g_assert_cmpfloat_with_epsilon(m.open, 0.2, 1e-12);
	g_assert_cmpfloat_with_epsilon(m.click, 0.05, 1e-12);

	g_assert_true(sink_model_init(&m, cfg, saturday, &error));
	g_assert_cmpfloat_with_epsilon(m.open, 0.1, 1e-12);
	g_assert_cmpfloat_with_epsilon(m.click, 0.025, 1e-12);
	g_assert_cmpfloat_with_epsilon(m.click_given_open, 0.25, 1e-12);
	g_assert_cmpfloat_with_epsilon(m.click_again_given_click, 0.2, 1e-12);
}

/*
 * A conditional past 1 in the configured percentages is an error on every
 * day, also on a day whose factor clips both shares to 1 (where the day's
 * shares alone would hide it); a good config is good on every day.
 */
static void
test_conditional_check_same_every_day(void)
{
	g_autoptr(SinkConfig) bad = unit_config_from("[Sink]\nOpen_Again_percent = 60\n");	/* Open_percent 55 */
	g_autoptr(SinkConfig) good = sink_config_load(NULL, NULL);
	SinkModel m;

	for (int day = 23; day <= 29; day++) {	/* a week: factors 1, 0.1, 1, 1, 1, 1, 1 */
		g_autoptr(GDateTime) now = g_date_time_new_utc(2026, 11, day, 10, 0, 0);
		g_autoptr(GError) error = NULL;

		g_test_message("2026-11-%d", day);
		g_assert_false(sink_model_init(&m, bad, now, &error));
		g_assert_error(error, SINK_CONFIG_ERROR, SINK_CONFIG_ERROR_VALUE);
		g_assert_nonnull(strstr(error->message, "Open_Again_percent (60) is more than Open_percent (55)"));
		g_clear_error(&error);
		g_assert_true(sink_model_init(&m, good, now, &error));
		g_assert_cmpfloat(m.open_again_given_open, <=, 1.0);
		g_assert_cmpfloat(m.click_given_open, <=, 1.0);
		g_assert_cmpfloat(m.click_again_given_click, <=, 1.0);
	}
}

/* A share whose condition never happens (clicks with no opens) is an error too, not a share silently never drawn. */
static void
test_conditional_without_its_condition(void)
{
	g_autoptr(SinkConfig) clicks = unit_config_from("[Sink]\nOpen_percent = 0\nOpen_Again_percent = 0\nClick_percent = 15\n"
						      "Click_Again_percent = 0\n");
	g_autoptr(SinkConfig) none = unit_config_from("[Sink]\nOpen_percent = 0\nOpen_Again_percent = 0\nClick_percent = 0\n"
						    "Click_Again_percent = 0\n");
	g_autoptr(GDateTime) now = g_date_time_new_utc(2026, 11, 23, 10, 0, 0);
	g_autoptr(GError) error = NULL;
	SinkModel m;

	g_assert_false(sink_model_init(&m, clicks, now, &error));
	g_assert_error(error, SINK_CONFIG_ERROR, SINK_CONFIG_ERROR_VALUE);
	g_assert_nonnull(strstr(error->message, "Click_percent (15) is more than Open_percent (0): P(Click_percent given "
				"Open_percent) has no value"));
	g_clear_error(&error);
	g_assert_true(sink_model_init(&m, none, now, &error));
	g_assert_cmpfloat(m.click_given_open, ==, 0.0);
}

static void
test_signals_days(void)
{
	g_autoptr(SinkConfig) cfg = sink_config_load(NULL, NULL);	/* prefix "test" */
	g_autoptr(GDateTime) day3 = g_date_time_new_utc(2026, 11, 3, 10, 0, 0);
	g_autoptr(GDateTime) day4 = g_date_time_new_utc(2026, 11, 4, 10, 0, 0);

	g_assert_true(sink_signals_open_allowed(cfg, "test+1235@x.sink.test", day3));	/* Digit5: 3,18 */
	g_assert_false(sink_signals_open_allowed(cfg, "test+1235@x.sink.test", day4));
	g_assert_false(sink_signals_open_allowed(cfg, "test+990@x.sink.test", day3));	/* Digit0: never */
	g_assert_true(sink_signals_open_allowed(cfg, "test+992@x.sink.test", day4));
	g_assert_true(sink_signals_open_allowed(cfg, "test0@x.sink.test", day3));	/* prefix is "test0" */
	g_assert_true(sink_signals_open_allowed(cfg, "other+0@x.sink.test", day3));
	g_assert_true(sink_signals_open_allowed(cfg, "test+abc@x.sink.test", day4));	/* no final digit */
}

typedef struct {
	double oob, fbl, openclick, accept, open_again, click, click_again, unsubscribe, autoreply;
} Shares;

static void
tally(const SinkConfig *cfg, const SinkModel *m, GDateTime *now, const char *rcpt, int n, Shares *out)
{
	g_autoptr(SinkCtx) ctx = sink_ctx_new(cfg, 42);
	int oob = 0, fbl = 0, oc = 0, acc = 0, oa = 0, cl = 0, ca = 0, un = 0, ar = 0;

	g_date_time_unref(ctx->now);
	ctx->now = g_date_time_ref(now);
	ctx->rcpt = g_strdup(rcpt);
	for (int i = 0; i < n; i++) {
		sink_plan_clear(&ctx->plan);
		sink_decide(ctx, m);
		g_clear_pointer(&ctx->user_agent, g_free);
		switch (ctx->klass) {
		case SINK_CLASS_OOB: oob++; break;
		case SINK_CLASS_FBL: fbl++; break;
		case SINK_CLASS_OPENCLICK: oc++; break;
		case SINK_CLASS_ACCEPT: acc++; break;
		case SINK_CLASS_UNSUBSCRIBE: un++; break;
		case SINK_CLASS_AUTOREPLY: ar++; break;
		default: g_assert_not_reached();
		}
		g_assert_cmpint(ctx->route, ==, SINK_ROUTE_MIX);
		oa += ctx->plan.opens > 1;
		cl += ctx->plan.clicks > 0;
		ca += ctx->plan.clicks > 1;
	}
	*out = (Shares){ (double)oob / n, (double)fbl / n, (double)oc / n, (double)acc / n,
			 (double)oa / n, (double)cl / n, (double)ca / n, (double)un / n, (double)ar / n };
}

/* Within five standard errors of the expected share. */
static void
assert_share(const char *what, double got, double p, int n)
{
	double tol = 5 * sqrt(p * (1 - p) / n) + 1e-9;

	g_test_message("%s: got %.5f, expected %.5f +- %.5f", what, got, p, tol);
	g_assert_cmpfloat(fabs(got - p), <=, tol);
}

static void
test_shares_shipped_model(void)
{
	g_autoptr(SinkConfig) cfg = sink_config_load(NULL, NULL);
	g_autoptr(GDateTime) monday = g_date_time_new_utc(2026, 11, 23, 10, 0, 0);
	const int n = 100000;
	SinkModel m;
	Shares s;

	g_assert_true(sink_model_init(&m, cfg, monday, NULL));
	tally(cfg, &m, monday, "someone@mix.sink.test", n, &s);
	assert_share("oob", s.oob, 0.01, n);
	assert_share("fbl", s.fbl, 0.0002, n);
	assert_share("openclick", s.openclick, 1 - 0.0102, n);	/* open gets what is left */
	assert_share("accept", s.accept, 0, n);
	assert_share("open_again", s.open_again, 0.9898 * 0.2, n);
	assert_share("click", s.click, 0.9898 * 0.3, n);
	assert_share("click_again", s.click_again, 0.9898 * 0.06, n);
}

/*
 * 20,000 seeded decisions per date of the shipped model land on the
 * original's expected shares: the single draw gives OOB, then FBL, then the
 * open what is left of 1; a Signals address on a closed day never opens.
 */
static void
test_shares_match_original_by_date(void)
{
	g_autoptr(SinkConfig) cfg = sink_config_load(NULL, NULL);
	double density = original_density(shipped_digits);
	const int n = 20000;

	for (gsize i = 0; i < G_N_ELEMENTS(shipped_days); i++) {
		g_autoptr(GDateTime) now = g_date_time_new_utc(2026, shipped_days[i].month, shipped_days[i].day, 10, 0, 0);
		OriginalP o = original_probabilities(0.5, 0.01, 55, 10, 15, 3, 50, shipped_days[i].factor, density);
		double open = MIN(o.open, 1 - o.oob - o.fbl);
		SinkModel m;
		Shares s;

		g_test_message("2026-%02d-%02d, factor %g", shipped_days[i].month, shipped_days[i].day,
			       shipped_days[i].factor);
		g_assert_true(sink_model_init(&m, cfg, now, NULL));
		tally(cfg, &m, now, "reader@mix.sink.test", n, &s);
		assert_share("oob", s.oob, o.oob, n);
		assert_share("fbl", s.fbl, o.fbl, n);
		assert_share("openclick", s.openclick, open, n);
		assert_share("accept", s.accept, 1 - o.oob - o.fbl - open, n);
		assert_share("open_again", s.open_again, open * o.open_again_given_open, n);
		assert_share("click", s.click, open * o.click_given_open, n);
		assert_share("click_again", s.click_again, open * o.click_given_open * o.click_again_given_click, n);

		/* Digit5 opens only on the 3rd and 18th: on these dates its opens become accepts */
		tally(cfg, &m, now, "test+15@mix.sink.test", n, &s);
		assert_share("signals-closed oob", s.oob, o.oob, n);
		assert_share("signals-closed openclick", s.openclick, 0, n);
		assert_share("signals-closed accept", s.accept, 1 - o.oob - o.fbl, n);
	}
}

static void
test_shares_hand_made_model(void)
{
	g_autoptr(SinkConfig) cfg = unit_config_from(
		"[Sink]\nUpstream_Handled = 20\nOOB_percent = 8\nFBL_percent = 4\nOpen_percent = 40\n"
		"Open_Again_percent = 10\nClick_percent = 16\nClick_Again_percent = 4\n"
		"Signals_Traffic_Prefix =\nWeekly_Cycle_Open_Rate = 1,1,1,1,1,1,1\n");
	g_autoptr(GDateTime) now = g_date_time_new_utc(2026, 11, 25, 10, 0, 0);
	const int n = 100000;
	SinkModel m;
	Shares s;

	g_assert_true(sink_model_init(&m, cfg, now, NULL));
	tally(cfg, &m, now, "test+0@mix.sink.test", n, &s);	/* no prefix: Signals off */
	assert_share("oob", s.oob, 0.10, n);
	assert_share("fbl", s.fbl, 0.05, n);
	assert_share("openclick", s.openclick, 0.50, n);
	assert_share("accept", s.accept, 0.35, n);
	assert_share("open_again", s.open_again, 0.125, n);
	assert_share("click", s.click, 0.20, n);
	assert_share("click_again", s.click_again, 0.05, n);
}

static void
test_signals_closed_day_accepts(void)
{
	g_autoptr(SinkConfig) cfg = unit_config_from("[Sink]\nUpstream_Handled = 0\nOOB_percent = 0\nFBL_percent = 0\n"
						"Open_percent = 100\nOpen_Again_percent = 0\nClick_percent = 0\nClick_Again_percent = 0\n"
						"Weekly_Cycle_Open_Rate = 1,1,1,1,1,1,1\n");
	g_autoptr(GDateTime) day4 = g_date_time_new_utc(2026, 11, 4, 10, 0, 0);
	SinkModel m;
	Shares s;

	g_assert_true(sink_model_init(&m, cfg, day4, NULL));
	tally(cfg, &m, day4, "test+1235@mix.sink.test", 1000, &s);
	g_assert_cmpfloat(s.accept, ==, 1.0);
	tally(cfg, &m, day4, "test+1232@mix.sink.test", 1000, &s);
	g_assert_cmpfloat(s.openclick, ==, 1.0);
}

/*
 * The draw as it was before the unsubscribe class (written again here, no
 * code shared with decide.c): one uniform draw over OOB, FBL, openclick,
 * accept, then open again, click and click again from the same GRand.
 */
static void
original_decide(GRand *rng, const SinkModel *m, SinkClass *klass, double *draw, gboolean cond[3])
{
	double u = g_rand_double(rng);

	*draw = u;
	cond[0] = cond[1] = cond[2] = FALSE;
	if (u < m->oob)
		*klass = SINK_CLASS_OOB;
	else if (u < m->oob + m->fbl)
		*klass = SINK_CLASS_FBL;
	else if (u < m->oob + m->fbl + m->open)
		*klass = SINK_CLASS_OPENCLICK;
	else
		*klass = SINK_CLASS_ACCEPT;
	if (*klass == SINK_CLASS_OPENCLICK) {
		cond[0] = g_rand_double(rng) < m->open_again_given_open;
		cond[1] = g_rand_double(rng) < m->click_given_open;
		cond[2] = cond[1] && g_rand_double(rng) < m->click_again_given_click;
	}
}

/*
 * With Unsubscribe_percent and Autoreply_percent 0 (the defaults) every
 * seeded decision is the one the draw made before those classes existed,
 * draw for draw: the shipped
 * model, and one whose shares reach every class.
 */
static void
test_no_unsubscribe_share_keeps_every_seeded_decision(void)
{
	g_autoptr(SinkConfig) shipped = sink_config_load(NULL, NULL);
	g_autoptr(SinkConfig) spread = unit_config_from("[Sink]\nUpstream_Handled = 10\nOOB_percent = 9\nFBL_percent = 13\n"
						   "Open_percent = 41\nOpen_Again_percent = 17\nClick_percent = 23\n"
						   "Click_Again_percent = 7\nUnsubscribe_percent = 0\n"
						   "Autoreply_percent = 0\nSignals_Traffic_Prefix =\n");
	const SinkConfig *cfgs[] = { shipped, spread };
	g_autoptr(GDateTime) now = g_date_time_new_utc(2026, 11, 24, 10, 0, 0);	/* factor 0.1 on the shipped cycle */

	for (gsize c = 0; c < G_N_ELEMENTS(cfgs); c++) {
		int seen[SINK_CLASS_AUTOREPLY + 1] = { 0 };
		SinkModel m;

		g_assert_true(sink_model_init(&m, cfgs[c], now, NULL));
		g_assert_cmpfloat(m.unsubscribe, ==, 0);
		g_assert_cmpfloat(m.autoreply, ==, 0);
		for (gint64 seed = 0; seed < 20000; seed++) {
			g_autoptr(SinkCtx) ctx = sink_ctx_new(cfgs[c], seed);
			g_autoptr(GRand) rng = g_rand_new_with_seed((guint32)seed);
			SinkClass klass;
			double draw;
			gboolean cond[3];

			ctx->rcpt = g_strdup("reader@mix.sink.test");
			sink_decide(ctx, &m);
			original_decide(rng, &m, &klass, &draw, cond);
			g_assert_cmpint(ctx->klass, ==, klass);
			g_assert_cmpfloat(ctx->draw, ==, draw);
			g_assert_cmpint(ctx->plan.opens > 1, ==, cond[0]);
			g_assert_cmpint(ctx->plan.clicks > 0, ==, cond[1]);
			g_assert_cmpint(ctx->plan.clicks > 1, ==, cond[2]);
			seen[ctx->klass]++;
		}
		g_test_message("config %" G_GSIZE_FORMAT ": oob %d, fbl %d, openclick %d, accept %d", c,
			       seen[SINK_CLASS_OOB], seen[SINK_CLASS_FBL], seen[SINK_CLASS_OPENCLICK], seen[SINK_CLASS_ACCEPT]);
		g_assert_cmpint(seen[SINK_CLASS_UNSUBSCRIBE], ==, 0);
		g_assert_cmpint(seen[SINK_CLASS_AUTOREPLY], ==, 0);
		if (c == 1)	/* the spread model meets every class of the old draw */
			g_assert_true(seen[SINK_CLASS_OOB] && seen[SINK_CLASS_FBL] && seen[SINK_CLASS_OPENCLICK] &&
				      seen[SINK_CLASS_ACCEPT]);
	}
}

/*
 * Unsubscribe_percent takes its share after OOB and FBL and before the
 * open, as SPEC section 15's priority says; a share that would push the
 * total past 1 gets what is left.
 */
static void
test_unsubscribe_share(void)
{
	g_autoptr(SinkConfig) cfg = unit_config_from("[Sink]\nUpstream_Handled = 0\nOOB_percent = 10\nFBL_percent = 5\n"
						"Unsubscribe_percent = 20\nOpen_percent = 40\nOpen_Again_percent = 0\n"
						"Click_percent = 0\nClick_Again_percent = 0\nSignals_Traffic_Prefix =\n"
						"Weekly_Cycle_Open_Rate = 1,1,1,1,1,1,1\n");
	g_autoptr(SinkConfig) full = unit_config_from("[Sink]\nUpstream_Handled = 0\nOOB_percent = 50\nFBL_percent = 30\n"
						 "Unsubscribe_percent = 40\nOpen_percent = 40\nOpen_Again_percent = 0\n"
						 "Click_percent = 0\nClick_Again_percent = 0\nSignals_Traffic_Prefix =\n"
						 "Weekly_Cycle_Open_Rate = 1,1,1,1,1,1,1\n");
	g_autoptr(GDateTime) now = g_date_time_new_utc(2026, 11, 25, 10, 0, 0);
	const int n = 100000;
	SinkModel m;
	Shares s;

	g_assert_true(sink_model_init(&m, cfg, now, NULL));
	g_assert_cmpfloat_with_epsilon(m.unsubscribe, 0.2, 1e-12);
	tally(cfg, &m, now, "reader@mix.sink.test", n, &s);
	assert_share("oob", s.oob, 0.10, n);
	assert_share("fbl", s.fbl, 0.05, n);
	assert_share("unsubscribe", s.unsubscribe, 0.20, n);
	assert_share("openclick", s.openclick, 0.40, n);
	assert_share("accept", s.accept, 0.25, n);

	g_assert_true(sink_model_init(&m, full, now, NULL));
	tally(full, &m, now, "reader@mix.sink.test", n, &s);
	assert_share("full: unsubscribe gets what is left", s.unsubscribe, 0.20, n);
	assert_share("full: openclick", s.openclick, 0, n);
	assert_share("full: accept", s.accept, 0, n);
}

/*
 * Autoreply_percent takes its share after unsubscribe and before the open
 * (SPEC section 15's priority); past 1, it gets what is left; the
 * subdomains autoreply. and ooto. route to it.
 */
static void
test_autoreply_share(void)
{
	g_autoptr(SinkConfig) cfg = unit_config_from("[Sink]\nUpstream_Handled = 0\nOOB_percent = 10\nFBL_percent = 5\n"
						"Unsubscribe_percent = 20\nAutoreply_percent = 15\nOpen_percent = 40\n"
						"Open_Again_percent = 0\nClick_percent = 0\nClick_Again_percent = 0\n"
						"Signals_Traffic_Prefix =\nWeekly_Cycle_Open_Rate = 1,1,1,1,1,1,1\n");
	g_autoptr(SinkConfig) full = unit_config_from("[Sink]\nUpstream_Handled = 0\nOOB_percent = 50\nFBL_percent = 30\n"
						 "Autoreply_percent = 40\nOpen_percent = 40\nOpen_Again_percent = 0\n"
						 "Click_percent = 0\nClick_Again_percent = 0\nSignals_Traffic_Prefix =\n"
						 "Weekly_Cycle_Open_Rate = 1,1,1,1,1,1,1\n");
	g_autoptr(SinkConfig) half = unit_config_from("[Sink]\nUpstream_Handled = 50\nAutoreply_percent = 25\n");
	g_autoptr(GDateTime) now = g_date_time_new_utc(2026, 11, 25, 10, 0, 0);
	const int n = 100000;
	SinkModel m;
	Shares s;

	g_assert_true(sink_model_init(&m, cfg, now, NULL));
	g_assert_cmpfloat_with_epsilon(m.autoreply, 0.15, 1e-12);
	tally(cfg, &m, now, "reader@mix.sink.test", n, &s);
	assert_share("oob", s.oob, 0.10, n);
	assert_share("fbl", s.fbl, 0.05, n);
	assert_share("unsubscribe", s.unsubscribe, 0.20, n);
	assert_share("autoreply", s.autoreply, 0.15, n);
	assert_share("openclick", s.openclick, 0.40, n);
	assert_share("accept", s.accept, 0.10, n);

	g_assert_true(sink_model_init(&m, full, now, NULL));
	tally(full, &m, now, "reader@mix.sink.test", n, &s);
	assert_share("full: autoreply gets what is left", s.autoreply, 0.20, n);
	assert_share("full: openclick", s.openclick, 0, n);

	g_assert_true(sink_model_init(&m, half, now, NULL));	/* a share of what the sink handles */
	g_assert_cmpfloat_with_epsilon(m.autoreply, 0.5, 1e-12);

	g_assert_cmpint(sink_route_class("x@autoreply.sink.test"), ==, SINK_CLASS_AUTOREPLY);
	g_assert_cmpint(sink_route_class("x@OOTO.a.sink.test"), ==, SINK_CLASS_AUTOREPLY);
	g_assert_cmpint(sink_route_class("x@ootoo.sink.test"), ==, SINK_CLASS_NONE);
	g_assert_cmpint(sink_route_class("x@autoreply"), ==, SINK_CLASS_NONE);
}

/* The unsubscribe class takes Unsubscribe_Method and a reader's User-Agent (its link is a click). */
static void
test_unsubscribe_route_takes_method_and_agent(void)
{
	g_autoptr(SinkConfig) cfg = unit_config_from("[Sink]\nUnsubscribe_Method = link\n");
	g_autoptr(SinkCtx) ctx = sink_ctx_new(cfg, 3);
	SinkModel m;

	g_assert_true(sink_model_init(&m, cfg, ctx->now, NULL));
	ctx->rcpt = g_strdup("reader@unsubscribe.sink.test");
	sink_decide(ctx, &m);
	g_assert_cmpint(ctx->klass, ==, SINK_CLASS_UNSUBSCRIBE);
	g_assert_cmpint(ctx->route, ==, SINK_ROUTE_SUBDOMAIN);
	g_assert_cmpint(ctx->plan.unsubscribe, ==, SINK_UNSUBSCRIBE_LINK);
	g_assert_nonnull(ctx->user_agent);
}

static void
test_seed_reproduces_decisions(void)
{
	g_autoptr(SinkConfig) cfg = sink_config_load(NULL, NULL);
	g_autoptr(GDateTime) now = g_date_time_new_utc(2026, 11, 23, 10, 0, 0);
	SinkModel m;

	g_assert_true(sink_model_init(&m, cfg, now, NULL));
	for (gint64 seed = 0; seed < 50; seed++) {
		g_autoptr(SinkCtx) a = sink_ctx_new(cfg, seed);
		g_autoptr(SinkCtx) b = sink_ctx_new(cfg, seed);
		a->rcpt = g_strdup("x@mix.sink.test");
		b->rcpt = g_strdup("x@mix.sink.test");
		sink_decide(a, &m);
		sink_decide(b, &m);
		g_assert_cmpint(a->klass, ==, b->klass);
		g_assert_cmpfloat(a->draw, ==, b->draw);
		g_assert_cmpint(a->plan.opens, ==, b->plan.opens);
		g_assert_cmpint(a->plan.clicks, ==, b->plan.clicks);
		g_assert_cmpstr(a->user_agent, ==, b->user_agent);
	}
}

/* A spread mix: over 20 seeds it gives several classes, so a choice shows as one outcome. */
#define SPREAD_MIX "[Sink]\nUpstream_Handled = 0\nOOB_percent = 25\nFBL_percent = 25\nOpen_percent = 25\n" \
	"Open_Again_percent = 12\nClick_percent = 12\nClick_Again_percent = 6\nWeekly_Cycle_Open_Rate = 1,1,1,1,1,1,1\n"

/* One decision for rcpt with an X-Bouncy-Sink value (NULL: none), as one line. */
static char *
decided(const SinkConfig *cfg, const SinkModel *m, gint64 seed, const char *rcpt, const char *header)
{
	g_autoptr(SinkCtx) ctx = sink_ctx_new(cfg, seed);
	const SinkPlan *p = &ctx->plan;

	ctx->rcpt = g_strdup(rcpt);
	if (header) {
		ctx->directives = g_new(SinkDirectives, 1);
		sink_directives_init(ctx->directives);
		sink_directives_add(ctx->directives, header, strlen(header), cfg->directive_max_repeats);
		sink_directives_finish(ctx->directives);
	}
	sink_decide(ctx, m);
	if (ctx->klass == SINK_CLASS_OPENCLICK)
		g_assert_nonnull(ctx->user_agent);
	return g_strdup_printf("%s/%s plan=%s persona=%s opens=%d clicks=%d%s ft=%s unsub=%s notes=%u",
			       sink_class_name(ctx->klass), sink_route_name(ctx->route), sink_class_name(p->klass),
			       sink_persona_name(p->persona), p->opens, p->clicks, p->steps_chosen ? " chosen" : "",
			       p->feedback_type ? p->feedback_type : "-",
			       p->unsubscribe ? sink_unsubscribe_method_name(p->unsubscribe) : "-",
			       p->notes ? p->notes->len : 0);
}

/*
 * SPEC 19's precedence, each case the same under 20 seeds (a choice, not
 * a draw): subdomain > header > local part > the mix, the header's
 * details on top of whichever class won, a keyword's only with its own.
 */
static void
test_precedence(void)
{
	static const struct { const char *rcpt, *header, *expect; } cases[] = {
		/* the subdomain wins over the header and the local part */
		{ "x@fbl.sink.test", "oob", "fbl/subdomain plan=fbl persona=none opens=0 clicks=0 ft=abuse unsub=- notes=1" },
		{ "bounce@fbl.sink.test", NULL, "fbl/subdomain plan=fbl persona=none opens=0 clicks=0 ft=abuse unsub=- notes=1" },
		{ "bounce@fbl.sink.test", "openclick", "fbl/subdomain plan=fbl persona=none opens=0 clicks=0 ft=abuse unsub=- notes=2" },
		{ "fraud@fbl.sink.test", NULL, "fbl/subdomain plan=fbl persona=none opens=0 clicks=0 ft=fraud unsub=- notes=0" },
		{ "x@fbl.sink.test", "feedback-type=virus", "fbl/subdomain plan=fbl persona=none opens=0 clicks=0 ft=virus unsub=- notes=0" },
		{ "x@accept.sink.test", "feedback-type=fraud", "accept/subdomain plan=accept persona=none opens=0 clicks=0 ft=- unsub=- notes=1" },
		{ "x@openclick.sink.test", "clicks=2", "openclick/subdomain plan=openclick persona=none opens=1 clicks=2 chosen ft=- unsub=- notes=0" },
		{ "click@openclick.sink.test", NULL, "openclick/subdomain plan=openclick persona=none opens=1 clicks=1 chosen ft=- unsub=- notes=0" },
		{ "x@OOB.sink.test", "opens=3", "oob/subdomain plan=oob persona=none opens=0 clicks=0 ft=- unsub=- notes=1" },
		/* the header wins over the local part */
		{ "bounce@mix.sink.test", "fbl", "fbl/header plan=fbl persona=none opens=0 clicks=0 ft=abuse unsub=- notes=1" },
		{ "success@mix.sink.test", "oob", "oob/header plan=oob persona=none opens=0 clicks=0 ft=- unsub=- notes=1" },
		{ "fraud@mix.sink.test", "feedback-type=virus", "fbl/localpart plan=fbl persona=none opens=0 clicks=0 ft=virus unsub=- notes=0" },
		/* a detail that does not fit the keyword's class outranks it (the header before the local part) */
		{ "complaint@mix.sink.test", "opens=3", "openclick/header plan=openclick persona=none opens=3 clicks=0 chosen ft=- unsub=- notes=1" },
		{ "click@mix.sink.test", "opens=3", "openclick/localpart plan=openclick persona=none opens=3 clicks=1 chosen ft=- unsub=- notes=0" },
		{ "open@mix.sink.test", "click", "openclick/header plan=openclick persona=none opens=1 clicks=1 chosen ft=- unsub=- notes=0" },
		{ "mpp@mix.sink.test", "click", "openclick/header plan=openclick persona=mpp opens=1 clicks=1 chosen ft=- unsub=- notes=0" },
		{ "mpp@mix.sink.test", "human", "accept/localpart plan=accept persona=none opens=0 clicks=0 ft=- unsub=- notes=0" },
		/* but not over the subdomain's persona, which comes first (SPEC 19) */
		{ "x@mpp.sink.test", "accept, human", "accept/header plan=accept persona=mpp opens=0 clicks=0 ft=- unsub=- notes=1" },
		{ "mpp@scanner.sink.test", "human, click", "openclick/header plan=openclick persona=scanner opens=1 clicks=1 chosen ft=- unsub=- notes=1" },
		/* the header alone */
		{ "x@mix.sink.test", "fbl", "fbl/header plan=fbl persona=none opens=0 clicks=0 ft=abuse unsub=- notes=0" },
		{ "x@mix.sink.test", "feedback-type=fraud", "fbl/header plan=fbl persona=none opens=0 clicks=0 ft=fraud unsub=- notes=0" },
		{ "x@mix.sink.test", "opens=3", "openclick/header plan=openclick persona=none opens=3 clicks=0 chosen ft=- unsub=- notes=0" },
		{ "x@mix.sink.test", "opens=4, clicks=3", "openclick/header plan=openclick persona=none opens=4 clicks=3 chosen ft=- unsub=- notes=0" },
		{ "x@mix.sink.test", "open", "openclick/header plan=openclick persona=none opens=1 clicks=0 chosen ft=- unsub=- notes=0" },
		{ "x@mix.sink.test", "click, clicks=0", "openclick/header plan=openclick persona=none opens=1 clicks=0 chosen ft=- unsub=- notes=0" },
		{ "x@mix.sink.test", "unsubscribe=link", "unsubscribe/header plan=unsubscribe persona=none opens=0 clicks=0 ft=- unsub=link notes=0" },
		{ "x@mix.sink.test", "autoreply, delay=5m", "autoreply/header plan=autoreply persona=none opens=0 clicks=0 ft=- unsub=- notes=0" },	/* (the delay is acted on: no note) */
		{ "x@mix.sink.test", "oob, feedback-type=fraud", "oob/header plan=oob persona=none opens=0 clicks=0 ft=- unsub=- notes=1" },
		{ "x@mix.sink.test", "accept, scanner", "accept/header plan=accept persona=scanner opens=0 clicks=0 ft=- unsub=- notes=0" },
		/* the local part alone; the label after the + changes nothing */
		{ "bounce+ci-42@mix.sink.test", NULL, "oob/localpart plan=oob persona=none opens=0 clicks=0 ft=- unsub=- notes=0" },
		{ "Complaint@sink.test", NULL, "fbl/localpart plan=fbl persona=none opens=0 clicks=0 ft=abuse unsub=- notes=0" },
		{ "not-spam@mix.sink.test", NULL, "fbl/localpart plan=fbl persona=none opens=0 clicks=0 ft=not-spam unsub=- notes=0" },
		{ "open+x@mix.sink.test", NULL, "openclick/localpart plan=openclick persona=none opens=1 clicks=0 chosen ft=- unsub=- notes=0" },
		{ "unsubscribe@mix.sink.test", NULL, "unsubscribe/localpart plan=unsubscribe persona=none opens=0 clicks=0 ft=- unsub=auto notes=0" },
		{ "ooto@mix.sink.test", NULL, "autoreply/localpart plan=autoreply persona=none opens=0 clicks=0 ft=- unsub=- notes=0" },
		{ "x@ooto.sink.test", NULL, "autoreply/subdomain plan=autoreply persona=none opens=0 clicks=0 ft=- unsub=- notes=0" },
		{ "x@AutoReply.sink.test", "fbl", "autoreply/subdomain plan=autoreply persona=none opens=0 clicks=0 ft=- unsub=- notes=1" },
		{ "scanner@mix.sink.test", NULL, "accept/localpart plan=accept persona=scanner opens=0 clicks=0 ft=- unsub=- notes=0" },
		{ "mpp@openclick.sink.test", "opens=2", "openclick/subdomain plan=openclick persona=mpp opens=2 clicks=0 chosen ft=- unsub=- notes=0" },
	};
	g_autoptr(SinkConfig) cfg = unit_config_from(SPREAD_MIX);
	g_autoptr(GDateTime) now = g_date_time_new_utc(2026, 11, 25, 10, 0, 0);
	SinkModel m;

	g_assert_true(sink_model_init(&m, cfg, now, NULL));
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_test_message("%s with X-Bouncy-Sink: %s", cases[i].rcpt, cases[i].header ? cases[i].header : "(none)");
		for (gint64 seed = 1; seed <= 20; seed++) {
			g_autofree char *got = decided(cfg, &m, seed, cases[i].rcpt, cases[i].header);
			g_assert_cmpstr(got, ==, cases[i].expect);
		}
	}
}

/*
 * X-Bouncy-Sink: openclick names the class alone (SPEC 19; open and click
 * choose the steps): the reader's steps are the model's draw, seed for seed
 * those of the openclick. subdomain, and over 20 seeds not all the same.
 */
static void
test_openclick_class_draws_steps(void)
{
	g_autoptr(SinkConfig) cfg = unit_config_from(SPREAD_MIX);
	g_autoptr(GDateTime) now = g_date_time_new_utc(2026, 11, 25, 10, 0, 0);
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	SinkModel m;

	g_assert_true(sink_model_init(&m, cfg, now, NULL));
	for (gint64 seed = 1; seed <= 20; seed++) {
		g_autofree char *header = decided(cfg, &m, seed, "x@mix.sink.test", "openclick");
		g_autofree char *subdomain = decided(cfg, &m, seed, "x@openclick.sink.test", NULL);
		const char *steps = strstr(header, " opens=");

		g_assert_true(g_str_has_prefix(header, "openclick/header plan=openclick "));
		g_assert_null(strstr(header, "chosen"));
		g_assert_cmpstr(steps, ==, strstr(subdomain, " opens="));
		g_hash_table_add(seen, g_strndup(steps, (gsize)(strstr(steps, " ft=") - steps)));
	}
	g_assert_cmpuint(g_hash_table_size(seen), >, 1);
}

/*
 * Without header or keyword the mix decides as it always did; a header
 * that only asks for a copy, a persona or a delay leaves it the mix; a
 * Signals address is never a keyword.
 */
static void
test_mix_without_choices(void)
{
	g_autoptr(SinkConfig) cfg = unit_config_from(SPREAD_MIX "Signals_Traffic_Prefix = bounce\n");
	g_autoptr(GDateTime) now = g_date_time_new_utc(2026, 11, 25, 10, 0, 0);
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	SinkModel m;

	g_assert_true(sink_model_init(&m, cfg, now, NULL));
	for (gint64 seed = 1; seed <= 20; seed++) {
		g_autofree char *plain = decided(cfg, &m, seed, "x@mix.sink.test", NULL);
		g_autofree char *copy = decided(cfg, &m, seed, "x@mix.sink.test", "store-done, delay=0");
		g_autofree char *signals = decided(cfg, &m, seed, "bounce+12@mix.sink.test", NULL);

		g_assert_nonnull(strstr(plain, "/mix "));
		g_assert_cmpstr(copy, ==, plain);
		g_assert_cmpstr(signals, ==, plain);
		g_hash_table_add(seen, g_strndup(plain, strcspn(plain, "/")));
	}
	g_assert_cmpuint(g_hash_table_size(seen), >=, 3);	/* the mix draws; the choices above do not */
}

/*
 * Unseeded messages draw from the process's one generator (no set-up per
 * message), freed with none of them; a forked child (sink-filterd's) seeds
 * its own, so that two children never draw the same numbers.  Seeded ones
 * keep their own, as before.
 */
static void
test_unseeded_draws_share_the_process_generator(void)
{
	g_autoptr(SinkConfig) cfg = sink_config_load(NULL, NULL);
	SinkCtx *a = sink_ctx_new(cfg, -1), *b = sink_ctx_new(cfg, -1), *c = sink_ctx_new(cfg, 7);
	guint32 mine[4], theirs[4];
	int pipefd[2], status;
	pid_t pid;

	g_assert_true(a->rng == b->rng);
	g_assert_true(c->rng != a->rng);
	sink_ctx_free(a);
	g_assert_cmpuint(g_rand_int(b->rng) ^ g_rand_int(b->rng), !=, 0);	/* still there */
	g_assert_cmpint(pipe(pipefd), ==, 0);
	pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		SinkCtx *k = sink_ctx_new(cfg, -1);
		for (int i = 0; i < 4; i++)
			theirs[i] = g_rand_int(k->rng);
		_exit(write(pipefd[1], theirs, sizeof theirs) == sizeof theirs ? 0 : 1);
	}
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	g_assert_cmpint(status, ==, 0);
	g_assert_cmpint(read(pipefd[0], theirs, sizeof theirs), ==, sizeof theirs);
	for (int i = 0; i < 4; i++)
		mine[i] = g_rand_int(b->rng);
	g_assert_false(memcmp(mine, theirs, sizeof mine) == 0);
	close(pipefd[0]);
	close(pipefd[1]);
	sink_ctx_free(b);
	sink_ctx_free(c);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/decide/route-by-first-label", test_route_by_first_label);
	g_test_add_func("/decide/shipped-model-equals-original", test_shipped_model_equals_original);
	g_test_add_func("/decide/original-text-loads-to-the-same-model", test_original_text_loads_to_the_same_model);
	g_test_add_func("/decide/conditional-out-of-range-is-config-error", test_conditional_out_of_range_is_config_error);
	g_test_add_func("/decide/factor-clipped-to-one", test_factor_clipped_to_one);
	g_test_add_func("/decide/conditional-check-same-every-day", test_conditional_check_same_every_day);
	g_test_add_func("/decide/conditional-without-its-condition", test_conditional_without_its_condition);
	g_test_add_func("/decide/signals-days", test_signals_days);
	g_test_add_func("/decide/100k-draws-match-shipped-model", test_shares_shipped_model);
	g_test_add_func("/decide/100k-draws-match-hand-made-model", test_shares_hand_made_model);
	g_test_add_func("/decide/20k-draws-per-date-match-original", test_shares_match_original_by_date);
	g_test_add_func("/decide/signals-closed-day-accepts", test_signals_closed_day_accepts);
	g_test_add_func("/decide/seed-reproduces-decisions", test_seed_reproduces_decisions);
	g_test_add_func("/decide/no-unsubscribe-share-keeps-every-seeded-decision",
			test_no_unsubscribe_share_keeps_every_seeded_decision);
	g_test_add_func("/decide/unsubscribe-share", test_unsubscribe_share);
	g_test_add_func("/decide/autoreply-share", test_autoreply_share);
	g_test_add_func("/decide/unsubscribe-route-takes-method-and-agent", test_unsubscribe_route_takes_method_and_agent);
	g_test_add_func("/decide/precedence-20-seeds", test_precedence);
	g_test_add_func("/decide/openclick-class-draws-steps", test_openclick_class_draws_steps);
	g_test_add_func("/decide/mix-without-choices", test_mix_without_choices);
	g_test_add_func("/decide/unseeded-draws-share-the-process-generator", test_unseeded_draws_share_the_process_generator);
	return g_test_run();
}
