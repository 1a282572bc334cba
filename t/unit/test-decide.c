/*
 * test-decide.c - the decision model: routing by subdomain, the model's
 * arithmetic, the Signals rule, and 100,000 seeded decisions landing on the
 * configured shares.
 */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "decide.h"
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
 * The shipped model on a factor-1 day: Open is past 1 once Upstream_Handled
 * is applied; the other open-type shares are raised by the Signals density
 * (236 listed digit-days of 310), not clipped with it.
 */
static void
test_shipped_model_arithmetic(void)
{
	g_autoptr(SinkConfig) cfg = sink_config_load(NULL, NULL);
	g_autoptr(GDateTime) monday = g_date_time_new_utc(2026, 11, 23, 10, 0, 0);	/* cycle index 0: 1.0 */
	g_autoptr(GDateTime) tuesday = g_date_time_new_utc(2026, 11, 24, 10, 0, 0);	/* cycle index 1: 0.1 */
	g_autoptr(GError) error = NULL;
	SinkModel m;

	g_assert_true(sink_model_init(&m, cfg, monday, &error));
	g_assert_cmpfloat_with_epsilon(m.density, 236.0 / 310.0, 1e-9);	/* Digit0 "0" lists no days */
	g_assert_cmpfloat_with_epsilon(m.oob, 0.01, 1e-12);
	g_assert_cmpfloat_with_epsilon(m.fbl, 0.0002, 1e-12);
	g_assert_cmpfloat(m.open, ==, 1.0);
	g_assert_cmpfloat_with_epsilon(m.open_again, 0.2 * 310.0 / 236.0, 1e-12);
	g_assert_cmpfloat_with_epsilon(m.click, 0.3 * 310.0 / 236.0, 1e-12);
	g_assert_cmpfloat_with_epsilon(m.click_again, 0.06 * 310.0 / 236.0, 1e-12);
	g_assert_cmpfloat_with_epsilon(m.open_again_given_open, 0.2 * 310.0 / 236.0, 1e-12);
	g_assert_cmpfloat_with_epsilon(m.click_given_open, 0.3 * 310.0 / 236.0, 1e-12);
	g_assert_cmpfloat_with_epsilon(m.click_again_given_click, 0.2, 1e-12);

	g_assert_true(sink_model_init(&m, cfg, tuesday, &error));
	double scale = 0.1 / (236.0 / 310.0);
	g_assert_cmpfloat_with_epsilon(m.open_factor, 0.1, 1e-12);
	g_assert_cmpfloat_with_epsilon(m.open, 1.1 * scale, 1e-12);
	g_assert_cmpfloat_with_epsilon(m.click, 0.3 * scale, 1e-12);
	g_assert_cmpfloat_with_epsilon(m.click_given_open, 0.3 / 1.1, 1e-12);
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

/* A factor above 1 raises the open-type shares; each share is clipped, the factor is not. */
static void
test_factor_scales_each_share(void)
{
	g_autoptr(SinkConfig) cfg = unit_config_from("[Sink]\nUpstream_Handled = 0\nOpen_percent = 20\nOpen_Again_percent = 5\n"
						"Click_percent = 5\nClick_Again_percent = 1\nSignals_Traffic_Prefix =\n"
						"Weekly_Cycle_Open_Rate = 2,2,2,2,2,2,6\n");
	g_autoptr(GDateTime) monday = g_date_time_new_utc(2026, 11, 23, 10, 0, 0);	/* factor 2 */
	g_autoptr(GDateTime) sunday = g_date_time_new_utc(2026, 11, 29, 10, 0, 0);	/* factor 6 */
	g_autoptr(GError) error = NULL;
	SinkModel m;

	g_assert_true(sink_model_init(&m, cfg, monday, &error));
	g_assert_cmpfloat(m.density, ==, 1.0);
	g_assert_cmpfloat_with_epsilon(m.open, 0.4, 1e-12);
	g_assert_cmpfloat_with_epsilon(m.open_again, 0.1, 1e-12);
	g_assert_cmpfloat_with_epsilon(m.click, 0.1, 1e-12);
	g_assert_cmpfloat_with_epsilon(m.click_again, 0.02, 1e-12);
	g_assert_cmpfloat_with_epsilon(m.click_given_open, 0.25, 1e-12);

	g_assert_true(sink_model_init(&m, cfg, sunday, &error));
	g_assert_cmpfloat(m.open, ==, 1.0);	/* 1.2, clipped */
	g_assert_cmpfloat_with_epsilon(m.click, 0.3, 1e-12);
	g_assert_cmpfloat_with_epsilon(m.click_given_open, 0.3, 1e-12);
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
	double oob, fbl, openclick, accept, open_again, click, click_again;
} Shares;

static void
tally(const SinkConfig *cfg, const SinkModel *m, GDateTime *now, const char *rcpt, int n, Shares *out)
{
	g_autoptr(SinkCtx) ctx = sink_ctx_new(cfg, 42);
	int oob = 0, fbl = 0, oc = 0, acc = 0, oa = 0, cl = 0, ca = 0;

	g_date_time_unref(ctx->now);
	ctx->now = g_date_time_ref(now);
	ctx->rcpt = g_strdup(rcpt);
	for (int i = 0; i < n; i++) {
		ctx->open_again = ctx->click = ctx->click_again = FALSE;
		sink_decide(ctx, m);
		g_clear_pointer(&ctx->user_agent, g_free);
		switch (ctx->klass) {
		case SINK_CLASS_OOB: oob++; break;
		case SINK_CLASS_FBL: fbl++; break;
		case SINK_CLASS_OPENCLICK: oc++; break;
		case SINK_CLASS_ACCEPT: acc++; break;
		default: g_assert_not_reached();
		}
		g_assert_cmpint(ctx->route, ==, SINK_ROUTE_MIX);
		oa += ctx->open_again;
		cl += ctx->click;
		ca += ctx->click_again;
	}
	*out = (Shares){ (double)oob / n, (double)fbl / n, (double)oc / n, (double)acc / n,
			 (double)oa / n, (double)cl / n, (double)ca / n };
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
	assert_share("open_again", s.open_again, 0.9898 * 0.2 * 310.0 / 236.0, n);
	assert_share("click", s.click, 0.9898 * 0.3 * 310.0 / 236.0, n);
	assert_share("click_again", s.click_again, 0.9898 * 0.06 * 310.0 / 236.0, n);
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
		g_assert_cmpint(a->click, ==, b->click);
		g_assert_cmpstr(a->user_agent, ==, b->user_agent);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/decide/route-by-first-label", test_route_by_first_label);
	g_test_add_func("/decide/shipped-model-arithmetic", test_shipped_model_arithmetic);
	g_test_add_func("/decide/conditional-out-of-range-is-config-error", test_conditional_out_of_range_is_config_error);
	g_test_add_func("/decide/factor-scales-each-share", test_factor_scales_each_share);
	g_test_add_func("/decide/conditional-check-same-every-day", test_conditional_check_same_every_day);
	g_test_add_func("/decide/signals-days", test_signals_days);
	g_test_add_func("/decide/100k-draws-match-shipped-model", test_shares_shipped_model);
	g_test_add_func("/decide/100k-draws-match-hand-made-model", test_shares_hand_made_model);
	g_test_add_func("/decide/signals-closed-day-accepts", test_signals_closed_day_accepts);
	g_test_add_func("/decide/seed-reproduces-decisions", test_seed_reproduces_decisions);
	return g_test_run();
}
