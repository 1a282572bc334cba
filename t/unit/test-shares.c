/*
 * test-shares.c - the mix against its config in numbers: the configured
 * share of each class in the draw's order (a share past 1 cut to what is
 * left), the windows' edges, mix and direct apart, the steps as shares of
 * the step before, the "off" verdict, and which counters are errors.
 */
#include <math.h>
#include <string.h>

#include "shares.h"
#include "unit.h"

/* 2024-05-07 12:34 UTC */
#define T0 G_GINT64_CONSTANT(1715085240)

static void
model_of(SinkModel *m, const char *lines)
{
	g_autofree char *text = g_strconcat("[Sink]\nUpstream_Handled = 0\nWeekly_Cycle_Open_Rate = 1,1,1,1,1,1,1\n",
					    lines, NULL);
	g_autoptr(SinkConfig) cfg = unit_config_from(text);
	g_autoptr(GDateTime) now = g_date_time_new_from_unix_utc(T0);

	g_assert_true(sink_model_init(m, cfg, now, NULL));
}

static const SinkShare *
share(const SinkShares *sh, const char *name)
{
	for (guint i = 0; i < sh->shares->len; i++)
		if (strcmp(g_array_index(sh->shares, SinkShare, i).name, name) == 0)
			return &g_array_index(sh->shares, SinkShare, i);
	g_assert_not_reached();
}

static void
test_configured_shares_follow_the_draw_and_sum_to_one(void)
{
	SinkModel m;
	static const struct {
		const char *config;
		double accept, oob, fbl, openclick, unsubscribe;
	} cases[] = {
		{ "OOB_percent = 10\nFBL_percent = 5\nOpen_percent = 30\n", 0.55, 0.10, 0.05, 0.30, 0 },
		{ "OOB_percent = 0\nFBL_percent = 0\nOpen_percent = 0\nOpen_Again_percent = 0\nClick_percent = 0\n"
		  "Click_Again_percent = 0\n", 1, 0, 0, 0, 0 },
		/* past 1: FBL gets what OOB left, openclick nothing */
		{ "OOB_percent = 80\nFBL_percent = 30\nOpen_percent = 40\n", 0, 0.80, 0.20, 0, 0 },
		/* unsubscribe after FBL, before the open */
		{ "OOB_percent = 10\nFBL_percent = 5\nUnsubscribe_percent = 20\nOpen_percent = 30\n", 0.35, 0.10, 0.05, 0.30,
		  0.20 },
		{ "OOB_percent = 50\nFBL_percent = 30\nUnsubscribe_percent = 40\nOpen_percent = 40\n", 0, 0.50, 0.30, 0, 0.20 },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		model_of(&m, cases[i].config);
		g_assert_cmpfloat_with_epsilon(sink_shares_class_configured(&m, "accept"), cases[i].accept, 1e-9);
		g_assert_cmpfloat_with_epsilon(sink_shares_class_configured(&m, "oob"), cases[i].oob, 1e-9);
		g_assert_cmpfloat_with_epsilon(sink_shares_class_configured(&m, "fbl"), cases[i].fbl, 1e-9);
		g_assert_cmpfloat_with_epsilon(sink_shares_class_configured(&m, "openclick"), cases[i].openclick, 1e-9);
		g_assert_cmpfloat_with_epsilon(sink_shares_class_configured(&m, "unsubscribe"), cases[i].unsubscribe, 1e-9);
	}
	g_assert_cmpfloat(sink_shares_class_configured(&m, "reply"), <, 0);
}

static void
test_upstream_handled_raises_the_shares_of_what_reaches_the_sink(void)
{
	g_autoptr(SinkConfig) cfg = unit_config_from("[Sink]\nUpstream_Handled = 50\nOOB_percent = 5\nFBL_percent = 1\n"
						     "Open_percent = 20\nWeekly_Cycle_Open_Rate = 1,1,1,1,1,1,1\n");
	g_autoptr(GDateTime) now = g_date_time_new_from_unix_utc(T0);
	SinkModel m;

	g_assert_true(sink_model_init(&m, cfg, now, NULL));
	g_assert_cmpfloat_with_epsilon(sink_shares_class_configured(&m, "oob"), 0.10, 1e-9);
	g_assert_cmpfloat_with_epsilon(sink_shares_class_configured(&m, "fbl"), 0.02, 1e-9);
}

static void
test_windows_mix_and_direct_and_steps(void)
{
	g_autoptr(SinkStats) s = sink_stats_new("0");
	g_autoptr(GDateTime) now = g_date_time_new_from_unix_utc(T0 + 30);	/* within minute T0 */
	g_autoptr(SinkShares) sh = NULL;
	SinkModel m;

	model_of(&m, "OOB_percent = 10\nFBL_percent = 0\nOpen_percent = 40\nOpen_Again_percent = 10\n"
		 "Click_percent = 20\nClick_Again_percent = 5\n");
	sink_stats_add_minute(s, T0, 10);
	sink_stats_add_minute(s, T0 - 59 * 60, 1);	/* the hour's first minute */
	sink_stats_add_minute(s, T0 - 60 * 60, 100);	/* the day's, not the hour's */
	sink_stats_add_minute(s, T0 - 1440 * 60, 1000);	/* neither */
	sink_stats_add_minute(s, T0 + 60, 10000);	/* after now: neither */
	sink_stats_add_outcome(s, T0, "accept/mix", 6);
	sink_stats_add_outcome(s, T0, "openclick/mix", 4);
	sink_stats_add_outcome(s, T0, "openclick/subdomain", 3);
	sink_stats_add_outcome(s, T0, "open", 7);
	sink_stats_add_outcome(s, T0, "click", 2);
	sink_stats_add_outcome(s, T0, "click_again", 1);
	sink_stats_add_outcome(s, T0 - 60 * 60, "oob/mix", 90);
	sink_stats_add_outcome(s, T0 - 60 * 60, "oob_smtp_error", 9);
	sink_stats_add_counter(s, "total_messages", 5000);
	sink_stats_add_counter(s, "oob_smtp_error", 30);
	sink_stats_sort(s);
	sh = sink_shares_compute(s, &m, now);

	g_assert_cmpint(sh->messages[SINK_SHARES_HOUR], ==, 11);
	g_assert_cmpint(sh->messages[SINK_SHARES_DAY], ==, 111);
	g_assert_cmpint(sh->messages_total, ==, 5000);
	g_assert_cmpint(sh->mixed[SINK_SHARES_HOUR], ==, 10);
	g_assert_cmpint(sh->mixed[SINK_SHARES_DAY], ==, 100);
	g_assert_cmpint(sh->direct[SINK_SHARES_HOUR], ==, 3);
	g_assert_cmpint(share(sh, "openclick")->seen[SINK_SHARES_HOUR].count, ==, 4);	/* the direct 3 apart */
	g_assert_cmpint(share(sh, "openclick")->seen[SINK_SHARES_HOUR].of, ==, 10);
	g_assert_cmpint(share(sh, "oob")->seen[SINK_SHARES_HOUR].count, ==, 0);
	g_assert_cmpint(share(sh, "oob")->seen[SINK_SHARES_DAY].count, ==, 90);
	g_assert_cmpint(share(sh, "click")->seen[SINK_SHARES_HOUR].count, ==, 2);
	g_assert_cmpint(share(sh, "click")->seen[SINK_SHARES_HOUR].of, ==, 7);	/* of opens, whatever the route */
	g_assert_cmpint(share(sh, "click_again")->seen[SINK_SHARES_HOUR].of, ==, 2);	/* of clicks */
	g_assert_cmpint(share(sh, "open_again")->seen[SINK_SHARES_HOUR].count, ==, 0);
	g_assert_cmpfloat_with_epsilon(share(sh, "click")->configured, 0.5, 1e-9);
	g_assert_cmpfloat_with_epsilon(share(sh, "click_again")->configured, 0.25, 1e-9);
	g_assert_cmpstr(share(sh, "click")->of_what, ==, "of opens");

	g_assert_cmpuint(sh->errors->len, ==, 1);
	const SinkErrorCount *e = &g_array_index(sh->errors, SinkErrorCount, 0);
	g_assert_cmpstr(e->name, ==, "oob_smtp_error");
	g_assert_cmpint(e->seen[SINK_SHARES_HOUR], ==, 0);
	g_assert_cmpint(e->seen[SINK_SHARES_DAY], ==, 9);
	g_assert_cmpint(e->total, ==, 30);
}

static void
test_verdict_allows_chance_and_calls_a_real_difference_off(void)
{
	SinkShare s = { .configured = 0.1 };

	s.seen[0] = (SinkObserved){ 0, 0 };
	g_assert_cmpint(sink_shares_verdict(&s, 0), ==, SINK_SHARE_NO_DATA);
	s.seen[0] = (SinkObserved){ 1, 3 };	/* a third of three messages: chance */
	g_assert_cmpint(sink_shares_verdict(&s, 0), ==, SINK_SHARE_AS_CONFIGURED);
	s.seen[0] = (SinkObserved){ 1040, 10000 };	/* 1.3 sd */
	g_assert_cmpint(sink_shares_verdict(&s, 0), ==, SINK_SHARE_AS_CONFIGURED);
	s.seen[0] = (SinkObserved){ 1200, 10000 };	/* 6.7 sd */
	g_assert_cmpint(sink_shares_verdict(&s, 0), ==, SINK_SHARE_OFF);
	s.configured = 0;	/* asked for none: the draw never gives it, so one is off */
	s.seen[0] = (SinkObserved){ 1, 10000 };
	g_assert_cmpint(sink_shares_verdict(&s, 0), ==, SINK_SHARE_OFF);
	s.seen[0] = (SinkObserved){ 0, 10000 };
	g_assert_cmpint(sink_shares_verdict(&s, 0), ==, SINK_SHARE_AS_CONFIGURED);
	s.configured = 1;
	s.seen[0] = (SinkObserved){ 9999, 10000 };
	g_assert_cmpint(sink_shares_verdict(&s, 0), ==, SINK_SHARE_OFF);
	s.configured = -1;
	g_assert_cmpint(sink_shares_verdict(&s, 0), ==, SINK_SHARE_NOT_CONFIGURED);
}

static void
test_error_groups(void)
{
	static const struct {
		const char *name;
		int group;	/* index in sink_shares_error_groups, -1 for none */
	} cases[] = {
		{ "fail_dkim", 0 }, { "fail_spf", 0 },
		{ "oob_smtp_error", 1 }, { "fbl_smtp_error", 1 }, { "oob_dns_error", 1 }, { "fbl_missing_to", 1 },
		{ "oob_missing_return_path", 1 }, { "oob_return_path_not_sparkpost", 1 },
		{ "open_url_not_sparkpost", 2 }, { "click_url_not_sparkpost", 2 }, { "unsubscribe_url_not_sparkpost", 2 },
		{ "unsubscribe_error", 3 }, { "unsubscribe_none", 3 },
		{ "unsubscribe_one_click", -1 }, { "unsubscribe_mailto", -1 }, { "one_click_not_ready", -1 },
		{ "accept", -1 }, { "open", -1 }, { "oob_sent", -1 }, { "fbl_sent", -1 }, { "open_url_over_limit", -1 },
		{ "total_messages", -1 }, { "bad_message", -1 }, { "done_dropped", -1 },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		const char *g = sink_shares_error_group(cases[i].name);
		if (cases[i].group < 0)
			g_assert_null(g);
		else
			g_assert_true(g == sink_shares_error_groups[cases[i].group]);
	}
	g_assert_true(sink_shares_high(5, 100));
	g_assert_false(sink_shares_high(4, 100));
	g_assert_false(sink_shares_high(0, 0));
	g_assert_false(sink_shares_high(3, 0));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/shares/configured/draw-order-sums-to-one", test_configured_shares_follow_the_draw_and_sum_to_one);
	g_test_add_func("/shares/configured/upstream-handled", test_upstream_handled_raises_the_shares_of_what_reaches_the_sink);
	g_test_add_func("/shares/observed/windows-mix-direct-steps", test_windows_mix_and_direct_and_steps);
	g_test_add_func("/shares/verdict/chance-and-off", test_verdict_allows_chance_and_calls_a_real_difference_off);
	g_test_add_func("/shares/errors/groups", test_error_groups);
	return g_test_run();
}
