/*
 * test-dashboard.c - the HTML page from hand-built data: the shares table
 * (configured beside observed, "off" marks), the errors highlighted, the
 * two charts, the counters, escaping, and nothing external.  Loaded in a
 * real browser end to end in t/serve.bats.
 */
#include <string.h>

#include "dashboard.h"
#include "unit.h"

#include "stats-sample.h"

static guint
count_substr(const char *hay, const char *needle)
{
	guint n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* The model of a config with these [Sink] lines (and no Upstream_Handled, a flat open cycle). */
static void
model_of(SinkModel *m, const char *lines)
{
	g_autofree char *text = g_strconcat("[Sink]\nUpstream_Handled = 0\nWeekly_Cycle_Open_Rate = 1,1,1,1,1,1,1\n",
					    lines, NULL);
	g_autoptr(SinkConfig) cfg = unit_config_from(text);
	g_autoptr(GDateTime) now = g_date_time_new_from_unix_utc(T0);

	g_assert_true(sink_model_init(m, cfg, now, NULL));
}

/* ---- what the page had before the shares: counters, the minutes chart, escaping ---- */

static void
test_html_has_counters_table_and_one_bar_per_minute(void)
{
	g_autoptr(SinkStats) s = sample();
	g_autoptr(GDateTime) now = g_date_time_new_from_unix_utc(T0 + 300);
	g_autofree char *html = sink_dashboard_html(s, NULL, NULL, now);

	g_assert_true(g_str_has_prefix(html, "<!DOCTYPE html>"));
	g_assert_nonnull(strstr(html, "<tr><td>accept</td><td class=\"n\">7</td></tr>"));
	g_assert_nonnull(strstr(html, "<tr><td>total_messages</td><td class=\"n\">12</td></tr>"));
	g_assert_cmpuint(count_substr(html, "<svg"), ==, 2);	/* the minutes, the outcomes */
	g_assert_cmpuint(count_substr(html, "<rect class=\"bar\""), ==, 3);
	g_assert_nonnull(strstr(html, "<title>2024-05-07 12:36 UTC: 5 messages</title>"));
	g_assert_nonnull(strstr(html, "messages per minute"));
	g_assert_nonnull(strstr(html, "time (UTC)"));
	g_assert_nonnull(strstr(html, "12 messages, busiest minute 2024-05-07 12:36 UTC with 5"));
}

static void
test_html_is_self_contained(void)
{
	g_autoptr(SinkStats) s = sample();
	g_autoptr(GDateTime) now = g_date_time_new_from_unix_utc(T0);
	g_autofree char *html = sink_dashboard_html(s, NULL, NULL, now);
	static const char *const external[] = { "http:", "https:", "src=", "href=", "@import", "url(", "<script", "<link" };

	for (size_t i = 0; i < G_N_ELEMENTS(external); i++)
		g_assert_null(strstr(html, external[i]));
}

static void
test_html_escapes_values(void)
{
	g_autoptr(SinkStats) s = sink_stats_new("<k>");
	g_autoptr(GDateTime) now = g_date_time_new_from_unix_utc(T0);
	g_autofree char *html = NULL;

	s->started_running = g_strdup("<script>alert(1)</script>");
	sink_stats_add_counter(s, "a<b>&c", 1);
	html = sink_dashboard_html(s, NULL, NULL, now);
	g_assert_null(strstr(html, "<script"));
	g_assert_null(strstr(html, "<b>&c"));
	g_assert_nonnull(strstr(html, "a&lt;b&gt;&amp;c"));
	g_assert_nonnull(strstr(html, "&lt;k&gt;"));
}

static void
test_html_without_minutes_says_so(void)
{
	g_autoptr(SinkStats) s = sink_stats_new("0");
	g_autoptr(GDateTime) now = g_date_time_new_from_unix_utc(T0);
	g_autofree char *html = sink_dashboard_html(s, NULL, NULL, now);

	g_assert_cmpuint(count_substr(html, "<rect class=\"bar\""), ==, 0);
	g_assert_nonnull(strstr(html, "no messages counted in the kept window"));
	g_assert_nonnull(strstr(html, "no counters yet"));
	g_assert_nonnull(strstr(html, SINK_STATS_NOT_STARTED));
}

static void
test_html_ten_days_of_minutes_stay_inside_the_plot(void)
{
	g_autoptr(SinkStats) s = sink_stats_new("0");
	g_autoptr(GDateTime) now = g_date_time_new_from_unix_utc(T0);
	g_autofree char *html = NULL;
	const char *p;
	guint bars = 0;

	for (gint64 m = 0; m < 10 * 1440; m += 7)
		sink_stats_add_minute(s, T0 - m * 60, m % 50);
	sink_stats_sort(s);
	html = sink_dashboard_html(s, NULL, NULL, now);
	for (p = html; (p = strstr(p, "<rect class=\"bar\" x=\"")) != NULL; bars++) {
		p += strlen("<rect class=\"bar\" x=\"");
		double x = g_ascii_strtod(p, NULL);
		g_assert_cmpfloat(x, >=, 72.0);
		g_assert_cmpfloat(x, <=, 943.0);	/* plot area 72..944, bars 1 unit wide */
	}
	g_assert_cmpuint(bars, ==, s->minutes->len);
}


/* ---- the mix against its config ---- */

/* The <tr> of outcome `name`, up to its end. */
static char *
share_row(const char *html, const char *name)
{
	g_autofree char *start = g_strdup_printf("<tr data-outcome=\"%s\"", name);
	const char *p = strstr(html, start), *e;

	g_assert_nonnull(p);
	e = strstr(p, "</tr>");
	g_assert_nonnull(e);
	return g_strndup(p, (gsize)(e - p));
}

static void
test_shares_table_shows_configured_beside_observed_hour_and_day(void)
{
	g_autoptr(SinkStats) s = sample();
	g_autoptr(GDateTime) now = g_date_time_new_from_unix_utc(T0 + 300);
	g_autofree char *html = NULL, *accept = NULL, *oob = NULL, *click = NULL;
	SinkModel m;

	model_of(&m, "OOB_percent = 10\nFBL_percent = 0\nOpen_percent = 20\nOpen_Again_percent = 0\n"
		 "Click_percent = 10\nClick_Again_percent = 0\n");
	/* in the hour: 70 accept, 10 oob, 20 openclick by the mix; a day ago 100 accept more; 5 direct */
	sink_stats_add_outcome(s, T0 + 300, "accept/mix", 70);
	sink_stats_add_outcome(s, T0 + 300, "oob/mix", 10);
	sink_stats_add_outcome(s, T0 + 240, "openclick/mix", 20);
	sink_stats_add_outcome(s, T0 + 240, "oob/subdomain", 5);
	sink_stats_add_outcome(s, T0 + 240, "open", 20);
	sink_stats_add_outcome(s, T0 + 240, "click", 10);
	sink_stats_add_outcome(s, T0 + 300 - 3 * 3600, "accept/mix", 100);
	sink_stats_sort(s);
	html = sink_dashboard_html(s, &m, NULL, now);

	g_assert_nonnull(strstr(html, "<table class=\"shares\">"));
	accept = share_row(html, "accept");
	g_assert_nonnull(strstr(accept, "<td class=\"n conf\" data-share=\"0.7\">70&#8239;%</td>"));
	g_assert_nonnull(strstr(accept, "data-window=\"hour\" data-share=\"0.7\" data-count=\"70\" data-of=\"100\""));
	g_assert_nonnull(strstr(accept, "data-window=\"day\" data-share=\"0.85\" data-count=\"170\" data-of=\"200\""));
	g_assert_nonnull(strstr(accept, "<small>70 of 100</small>"));
	oob = share_row(html, "oob");
	g_assert_nonnull(strstr(oob, "data-share=\"0.1\">10&#8239;%</td>"));	/* the direct 5 are not in it */
	g_assert_nonnull(strstr(oob, "data-count=\"10\" data-of=\"100\""));
	click = share_row(html, "click");
	g_assert_nonnull(strstr(click, "<small>of opens</small>"));
	g_assert_nonnull(strstr(click, "data-share=\"0.5\">50&#8239;%</td>"));	/* 10 of 20 opens */
	g_assert_nonnull(strstr(click, "data-count=\"10\" data-of=\"20\""));
	g_assert_nonnull(strstr(html, "Another 5 and 5 were sent to a class"));
	/* the day's 85 % accept against 70 % configured, of 200, is off; the hour's exact shares are not */
	g_assert_nonnull(strstr(accept, "class=\"off\""));
	g_assert_null(strstr(oob, "class=\"off\""));
	g_assert_nonnull(strstr(oob, "class=\"n ok\" data-window=\"hour\""));
}

static void
test_shares_without_a_model_say_why_and_show_no_configured_share(void)
{
	g_autoptr(SinkStats) s = sample();
	g_autoptr(GDateTime) now = g_date_time_new_from_unix_utc(T0);
	g_autofree char *html = NULL, *fbl = NULL;

	sink_stats_add_outcome(s, T0, "fbl/mix", 3);
	html = sink_dashboard_html(s, NULL, "Click_percent (9) is more than Open_percent (1)", now);
	g_assert_nonnull(strstr(html, "The configured shares are unknown: Click_percent (9) is more than Open_percent (1)"));
	fbl = share_row(html, "fbl");
	g_assert_nonnull(strstr(fbl, "<td class=\"n conf none\">"));
	g_assert_nonnull(strstr(fbl, "class=\"n new\" data-window=\"hour\""));
}

static void
test_a_class_the_model_does_not_know_gets_its_own_row_and_series(void)
{
	g_autoptr(SinkStats) s = sample();
	g_autoptr(GDateTime) now = g_date_time_new_from_unix_utc(T0);
	g_autofree char *html = NULL, *reply = NULL;
	SinkModel m;

	model_of(&m, "");
	sink_stats_add_outcome(s, T0, "reply/mix", 4);
	sink_stats_add_outcome(s, T0, "accept/mix", 4);
	html = sink_dashboard_html(s, &m, NULL, now);
	reply = share_row(html, "reply");
	g_assert_nonnull(strstr(reply, "<td class=\"n conf none\">"));
	g_assert_nonnull(strstr(reply, ">new</span>"));
	g_assert_nonnull(strstr(html, "data-series=\"reply\""));
}

/* ---- errors ---- */

static void
test_errors_are_grouped_and_a_large_share_is_highlighted(void)
{
	g_autoptr(SinkStats) s = sink_stats_new("0");
	g_autoptr(GDateTime) now = g_date_time_new_from_unix_utc(T0);
	g_autofree char *html = NULL;
	const char *dkim, *smtp, *url, *group;

	sink_stats_add_counter(s, "total_messages", 1000);
	sink_stats_add_counter(s, "fail_dkim", 100);
	sink_stats_add_counter(s, "oob_smtp_error", 1);
	sink_stats_add_counter(s, "click_url_not_sparkpost", 2);
	sink_stats_add_counter(s, "open", 500);	/* no error */
	sink_stats_add_minute(s, T0, 100);
	sink_stats_add_outcome(s, T0, "fail_dkim", 20);	/* 20 % of the hour's messages */
	sink_stats_add_outcome(s, T0, "oob_smtp_error", 1);
	sink_stats_sort(s);
	html = sink_dashboard_html(s, NULL, NULL, now);
	dkim = strstr(html, "<tr data-error=\"fail_dkim\"");
	smtp = strstr(html, "<tr data-error=\"oob_smtp_error\"");
	url = strstr(html, "<tr data-error=\"click_url_not_sparkpost\"");
	group = strstr(html, "<tr class=\"group\"><th scope=\"rowgroup\">DKIM or SPF failed: nothing done</th>");
	g_assert_nonnull(dkim);
	g_assert_nonnull(smtp);
	g_assert_nonnull(url);
	g_assert_nonnull(group);
	g_assert_true(group < dkim && dkim < smtp && smtp < url);	/* DKIM, reports, URLs */
	g_assert_true(g_str_has_prefix(dkim, "<tr data-error=\"fail_dkim\" class=\"high\"><th scope=\"row\">fail_<wbr>dkim</th>"
				       "<td class=\"n high\">20<small>20&#8239;% of messages</small></td>"));
	g_assert_true(g_str_has_prefix(smtp, "<tr data-error=\"oob_smtp_error\"><th scope=\"row\">oob_<wbr>smtp_<wbr>error</th>"
				       "<td class=\"n\">1<small>1&#8239;% of messages</small></td>"));
	g_assert_null(strstr(html, "data-error=\"open\""));
}

/* ---- the outcomes chart ---- */

static void
test_outcomes_chart_has_a_line_per_class_open_click_and_errors(void)
{
	g_autoptr(SinkStats) s = sink_stats_new("0");
	g_autoptr(GDateTime) now = g_date_time_new_from_unix_utc(T0);
	g_autofree char *html = NULL;
	static const char *const lines[] = { "accept", "oob", "fbl", "openclick", "open", "click", "errors" };

	sink_stats_add_outcome(s, T0, "accept/mix", 3);
	sink_stats_add_outcome(s, T0 - 600, "accept/subdomain", 2);
	sink_stats_add_outcome(s, T0, "fail_dkim", 1);
	sink_stats_add_outcome(s, T0, "oob_smtp_error", 1);
	sink_stats_add_outcome(s, T0 - 86400, "accept/mix", 50);	/* a minute before the day: not drawn */
	sink_stats_sort(s);
	html = sink_dashboard_html(s, NULL, NULL, now);
	for (size_t i = 0; i < G_N_ELEMENTS(lines); i++) {
		gboolean step = i == 4 || i == 5;	/* open, click: dashed */
		g_autofree char *line = g_strdup_printf("<polyline class=\"line s%zu%s\" data-series=\"%s\"", i,
							step ? " step" : "", lines[i]);
		g_assert_nonnull(strstr(html, line));
	}
	g_assert_nonnull(strstr(html, "<title>accept: 5 in the last day</title>"));
	g_assert_nonnull(strstr(html, "<title>errors: 2 in the last day</title>"));
	g_assert_nonnull(strstr(html, "<title>oob: 0 in the last day</title>"));
}

static void
test_outcomes_chart_points_stay_inside_the_plot(void)
{
	g_autoptr(SinkStats) s = sink_stats_new("0");
	g_autoptr(GDateTime) now = g_date_time_new_from_unix_utc(T0);
	g_autofree char *html = NULL;
	const char *p;
	guint points = 0;

	for (gint64 m = 0; m < 1440; m++)
		sink_stats_add_outcome(s, T0 - m * 60, "accept/mix", m % 13);
	sink_stats_add_outcome(s, T0, "open", G_MAXINT64);	/* drawn off the top, not overflowed */
	sink_stats_sort(s);
	html = sink_dashboard_html(s, NULL, NULL, now);
	p = strstr(html, "data-series=\"accept\" points=\"");
	g_assert_nonnull(p);
	p += strlen("data-series=\"accept\" points=\"");
	while (*p != '"') {
		char *end;
		double x = g_ascii_strtod(p, &end), y;
		g_assert_true(*end == ',');
		y = g_ascii_strtod(end + 1, &end);
		g_assert_cmpfloat(x, >=, 72.0);	/* plot area 72..944 by 18..278 */
		g_assert_cmpfloat(x, <=, 944.0);
		g_assert_cmpfloat(y, >=, 18.0);
		g_assert_cmpfloat(y, <=, 278.0);
		points++;
		p = *end == ' ' ? end + 1 : end;
	}
	g_assert_cmpuint(points, ==, 288);	/* a 5-minute bucket each, none equal to both neighbours here */
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/dashboard/minutes/counters-and-one-bar-per-minute", test_html_has_counters_table_and_one_bar_per_minute);
	g_test_add_func("/dashboard/self-contained", test_html_is_self_contained);
	g_test_add_func("/dashboard/escapes-values", test_html_escapes_values);
	g_test_add_func("/dashboard/minutes/without-minutes-says-so", test_html_without_minutes_says_so);
	g_test_add_func("/dashboard/minutes/ten-days-stay-inside-the-plot", test_html_ten_days_of_minutes_stay_inside_the_plot);
	g_test_add_func("/dashboard/shares/configured-beside-observed", test_shares_table_shows_configured_beside_observed_hour_and_day);
	g_test_add_func("/dashboard/shares/without-a-model-say-why", test_shares_without_a_model_say_why_and_show_no_configured_share);
	g_test_add_func("/dashboard/shares/new-class-own-row-and-series", test_a_class_the_model_does_not_know_gets_its_own_row_and_series);
	g_test_add_func("/dashboard/errors/grouped-large-share-highlighted", test_errors_are_grouped_and_a_large_share_is_highlighted);
	g_test_add_func("/dashboard/outcomes/line-per-class-open-click-errors", test_outcomes_chart_has_a_line_per_class_open_click_and_errors);
	g_test_add_func("/dashboard/outcomes/points-inside-the-plot", test_outcomes_chart_points_stay_inside_the_plot);
	return g_test_run();
}
