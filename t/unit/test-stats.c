/*
 * test-stats.c - sink-stats' text formats from hand-built data: the
 * original /json and /json/ts-messages shapes, Prometheus text exposition,
 * the ts_ pruning rule, the SCAN pattern escape and the atomic output file.
 * (The HTML page: test-dashboard.c.)
 * Reading from a real Redis is tested end to end in t/stats.bats.
 */
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format.h"
#include "stats.h"

#include "stats-sample.h"

/* ---- JSON ---- */

static void
test_json_not_started_is_the_original_text(void)
{
	g_autoptr(SinkStats) s = sink_stats_new("0");
	g_autofree char *json = sink_stats_json(s);

	g_assert_cmpstr(json, ==, "{\"startedRunning\": \"Not yet - waiting for scheduled running to begin\"}\n");
}

static void
test_json_has_every_counter_by_bare_name_sorted(void)
{
	g_autoptr(SinkStats) s = sample();
	g_autofree char *json = sink_stats_json(s);

	g_assert_cmpstr(json, ==,
			"{\"startedRunning\": \"2024-05-01T08:00:00+00:00\", \"accept\": 7, \"fail_dkim\": 3, "
			"\"oob_sent\": 2, \"total_messages\": 12}\n");
}

static void
test_json_escapes_names_and_keeps_big_and_negative_integers(void)
{
	g_autoptr(SinkStats) s = sink_stats_new("0");
	g_autofree char *json = NULL;

	sink_stats_add_counter(s, "we\"ird\\na\tme", -5);
	sink_stats_add_counter(s, "big", G_MAXINT64);
	sink_stats_add_counter(s, "startedRunning", 1);	/* never a duplicate key */
	sink_stats_sort(s);
	json = sink_stats_json(s);
	g_assert_cmpstr(json, ==,
			"{\"startedRunning\": \"Not yet - waiting for scheduled running to begin\", "
			"\"big\": 9223372036854775807, \"we\\\"ird\\\\na\\tme\": -5}\n");
}

static void
test_ts_json_is_the_original_list_sorted_by_time(void)
{
	g_autoptr(SinkStats) s = sample();
	g_autofree char *json = sink_stats_ts_json(s);

	g_assert_cmpstr(json, ==, "[{\"time\": \"2024-05-07T12:34:00+00:00\", \"messages\": 4}, "
			"{\"time\": \"2024-05-07T12:35:00+00:00\", \"messages\": 3}, "
			"{\"time\": \"2024-05-07T12:36:00+00:00\", \"messages\": 5}]\n");
}

static void
test_ts_json_empty_is_an_empty_list(void)
{
	g_autoptr(SinkStats) s = sink_stats_new("0");
	g_autofree char *json = sink_stats_ts_json(s);

	g_assert_cmpstr(json, ==, "[]\n");
}

static void
test_ts_json_rounds_odd_times_down_to_their_minute_and_sums(void)
{
	g_autoptr(SinkStats) s = sink_stats_new("0");
	g_autofree char *json = NULL;

	sink_stats_add_minute(s, T0 + 59, 2);	/* not a whole minute: the original rounded it down */
	sink_stats_add_minute(s, T0, 4);
	sink_stats_add_minute(s, T0 + 61, 1);
	sink_stats_sort(s);
	json = sink_stats_ts_json(s);
	g_assert_cmpstr(json, ==, "[{\"time\": \"2024-05-07T12:34:00+00:00\", \"messages\": 6}, "
			"{\"time\": \"2024-05-07T12:35:00+00:00\", \"messages\": 1}]\n");
}

static void
test_outcomes_sort_by_minute_then_name(void)
{
	g_autoptr(SinkStats) s = sink_stats_new("0");

	sink_stats_add_outcome(s, T0 + 60, "accept/mix", 1);
	sink_stats_add_outcome(s, T0, "open", 2);
	sink_stats_add_outcome(s, T0, "fail_dkim", 3);
	sink_stats_sort(s);
	g_assert_cmpstr(g_array_index(s->outcomes, SinkOutcome, 0).name, ==, "fail_dkim");
	g_assert_cmpstr(g_array_index(s->outcomes, SinkOutcome, 1).name, ==, "open");
	g_assert_cmpint(g_array_index(s->outcomes, SinkOutcome, 2).minute, ==, T0 + 60);
	g_assert_cmpint(g_array_index(s->outcomes, SinkOutcome, 2).count, ==, 1);
}

/* ---- Prometheus ---- */

static void
test_prometheus_families_with_help_and_type(void)
{
	g_autoptr(SinkStats) s = sample();
	g_autofree char *text = sink_stats_prometheus(s);

	g_assert_cmpstr(text, ==,
		"# HELP bouncy_sink_messages_total Messages counted by sink-filter (Redis int_total_messages).\n"
		"# TYPE bouncy_sink_messages_total counter\n"
		"bouncy_sink_messages_total{results_key=\"0\"} 12\n"
		"# HELP bouncy_sink_events_total Outcomes and actions counted by sink-filter, one series per Redis int_<event> counter.\n"
		"# TYPE bouncy_sink_events_total counter\n"
		"bouncy_sink_events_total{results_key=\"0\",event=\"accept\"} 7\n"
		"bouncy_sink_events_total{results_key=\"0\",event=\"fail_dkim\"} 3\n"
		"bouncy_sink_events_total{results_key=\"0\",event=\"oob_sent\"} 2\n"
		"# HELP bouncy_sink_started_timestamp_seconds When the counters started (Redis startedRunning), in seconds since the Unix epoch.\n"
		"# TYPE bouncy_sink_started_timestamp_seconds gauge\n"
		"bouncy_sink_started_timestamp_seconds{results_key=\"0\"} 1714550400\n");
}

static void
test_prometheus_empty_store_gives_zero_messages_and_no_start(void)
{
	g_autoptr(SinkStats) s = sink_stats_new("blue");
	g_autofree char *text = sink_stats_prometheus(s);

	g_assert_nonnull(strstr(text, "bouncy_sink_messages_total{results_key=\"blue\"} 0\n"));
	g_assert_null(strstr(text, "events_total"));
	g_assert_null(strstr(text, "started_timestamp"));
}

static void
test_prometheus_escapes_label_values(void)
{
	g_autoptr(SinkStats) s = sink_stats_new("a\"b\\c");
	g_autofree char *text = NULL;

	sink_stats_add_counter(s, "x\ny", 1);
	s->started_running = g_strdup("not a date");
	text = sink_stats_prometheus(s);
	g_assert_nonnull(strstr(text, "{results_key=\"a\\\"b\\\\c\",event=\"x\\ny\"} 1\n"));
	g_assert_null(strstr(text, "started_timestamp"));	/* unreadable: left out */
}

/* ---- pruning, SCAN pattern, output file ---- */

static void
test_ts_expired_after_ten_days(void)
{
	g_autoptr(GDateTime) now = g_date_time_new_from_unix_utc(T0);
	const gint64 ten_days = 10 * 86400;

	g_assert_false(sink_stats_ts_expired(T0, now));
	g_assert_false(sink_stats_ts_expired(T0 - ten_days, now));
	g_assert_true(sink_stats_ts_expired(T0 - ten_days - 60, now));
	g_assert_true(sink_stats_ts_expired(0, now));
}

static void
test_glob_escape(void)
{
	g_autofree char *plain = sink_stats_glob_escape("consume-mail:0:");
	g_autofree char *odd = sink_stats_glob_escape("a*b?c[d]e\\f");

	g_assert_cmpstr(plain, ==, "consume-mail:0:");
	g_assert_cmpstr(odd, ==, "a\\*b\\?c\\[d\\]e\\\\f");
}

static void
test_write_file_replaces_whole_and_leaves_no_temporary(void)
{
	g_autofree char *dir = g_dir_make_tmp("sink-stats-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "sink.prom", NULL);
	g_autofree char *bad = g_build_filename(dir, "nodir", "sink.prom", NULL);
	g_autofree char *got = NULL;
	g_autoptr(GError) error = NULL;
	struct stat st;
	GDir *d;
	guint files = 0;

	g_assert_true(sink_stats_write_file(path, "one\n", &error));
	g_assert_true(sink_stats_write_file(path, "two\n", &error));
	g_assert_no_error(error);
	g_assert_true(g_file_get_contents(path, &got, NULL, NULL));
	g_assert_cmpstr(got, ==, "two\n");
	g_assert_cmpint(g_stat(path, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0644);

	g_assert_false(sink_stats_write_file(bad, "x", &error));
	g_assert_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT);

	d = g_dir_open(dir, 0, NULL);
	while (g_dir_read_name(d))
		files++;
	g_dir_close(d);
	g_assert_cmpuint(files, ==, 1);
	g_unlink(path);
	g_rmdir(dir);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/stats/json/not-started-is-the-original-text", test_json_not_started_is_the_original_text);
	g_test_add_func("/stats/json/every-counter-by-bare-name-sorted", test_json_has_every_counter_by_bare_name_sorted);
	g_test_add_func("/stats/json/escapes-names-keeps-big-and-negative", test_json_escapes_names_and_keeps_big_and_negative_integers);
	g_test_add_func("/stats/ts-json/original-list-sorted-by-time", test_ts_json_is_the_original_list_sorted_by_time);
	g_test_add_func("/stats/ts-json/empty-is-an-empty-list", test_ts_json_empty_is_an_empty_list);
	g_test_add_func("/stats/ts-json/rounds-odd-times-down-and-sums", test_ts_json_rounds_odd_times_down_to_their_minute_and_sums);
	g_test_add_func("/stats/outcomes/sorted-by-minute-then-name", test_outcomes_sort_by_minute_then_name);
	g_test_add_func("/stats/prometheus/families-with-help-and-type", test_prometheus_families_with_help_and_type);
	g_test_add_func("/stats/prometheus/empty-store", test_prometheus_empty_store_gives_zero_messages_and_no_start);
	g_test_add_func("/stats/prometheus/escapes-label-values", test_prometheus_escapes_label_values);
	g_test_add_func("/stats/prune/ts-expired-after-ten-days", test_ts_expired_after_ten_days);
	g_test_add_func("/stats/scan/glob-escape", test_glob_escape);
	g_test_add_func("/stats/file/replaces-whole-no-temporary", test_write_file_replaces_whole_and_leaves_no_temporary);
	return g_test_run();
}
