/*
 * test-delay.c - the delays of SPEC section 20: durations and ranges read
 * as the <Step>_Delay keys give them (and refused with a reason), the
 * config's errors naming the key, and a job written and read back whole,
 * while bytes that are no job are refused.
 */
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "duration.h"
#include "job.h"

static void
test_durations(void)
{
	static const struct { const char *text; gint64 seconds; } good[] = {
		{ "0", 0 }, { "45", 45 }, { "30s", 30 }, { "10m", 600 }, { "6h", 21600 }, { "2d", 172800 },
		{ "1h30m", 5400 }, { " 90S ", 90 }, { "30d", 30 * 86400 },
	};
	static const char *const bad[] = { "", "s", "-5", "1.5h", "1h30", "10 m", "1w", "31d", "99999999999999999999" };
	gint64 s;

	for (gsize i = 0; i < G_N_ELEMENTS(good); i++) {
		g_assert_true(sink_duration_parse(good[i].text, SINK_DELAY_MAX, &s));
		g_assert_cmpint(s, ==, good[i].seconds);
	}
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++)
		g_assert_false(sink_duration_parse(bad[i], SINK_DELAY_MAX, &s));
}

static void
test_ranges(void)
{
	SinkDelayRange r;
	g_autofree char *why = NULL;

	g_assert_true(sink_delay_range_parse("30s-6h", &r, &why));
	g_assert_cmpint(r.min, ==, 30);
	g_assert_cmpint(r.max, ==, 21600);
	g_assert_true(sink_delay_range_parse("10m", &r, &why));
	g_assert_cmpint(r.min, ==, 600);
	g_assert_cmpint(r.max, ==, 600);
	g_assert_false(sink_delay_range_parse("6h-30s", &r, &why));
	g_assert_nonnull(strstr(why, "MIN is larger"));
	g_clear_pointer(&why, g_free);
	g_assert_false(sink_delay_range_parse("1s-2s-3s", &r, &why));
	g_clear_pointer(&why, g_free);
	g_assert_false(sink_delay_range_parse("soon", &r, &why));
	g_assert_nonnull(strstr(why, "\"soon\" is not a duration"));
}

static void
test_config_keys(void)
{
	g_autofree char *path = g_build_filename(g_get_tmp_dir(), "test-delay.ini", NULL);
	g_autoptr(GError) error = NULL;
	SinkConfig *cfg;

	g_assert_true(g_file_set_contents(path, "[Sink]\nOpen_Delay = 2s-3s\nclick_delay = 1h\n", -1, NULL));
	cfg = sink_config_load(path, &error);
	g_assert_no_error(error);
	g_assert_cmpint(cfg->delays[SINK_STEP_OPEN].min, ==, 2);
	g_assert_cmpint(cfg->delays[SINK_STEP_OPEN].max, ==, 3);
	g_assert_cmpint(cfg->delays[SINK_STEP_CLICK].min, ==, 3600);
	g_assert_cmpint(cfg->delays[SINK_STEP_OOB].max, ==, 0);
	g_assert_cmpint(cfg->delay_job_max_age, ==, 31 * 86400);
	sink_config_free(cfg);
	g_assert_true(g_file_set_contents(path, "[Sink]\nFBL_Delay = 3s-1s\n", -1, NULL));
	g_assert_null(sink_config_load(path, &error));
	g_assert_nonnull(strstr(error->message, "FBL_Delay"));
	g_clear_error(&error);
	g_assert_true(g_file_set_contents(path, "[Sink]\nDelay_Job_Max_Age = 5s\n", -1, NULL));
	g_assert_null(sink_config_load(path, &error));
	g_assert_nonnull(strstr(error->message, "Delay_Job_Max_Age"));
	unlink(path);
}

static void
test_job_round_trip(void)
{
	g_autoptr(SinkJob) job = sink_job_new(SINK_STEP_OPEN), back = NULL;
	g_autoptr(GBytes) bytes = NULL;
	g_autoptr(GError) error = NULL;
	char *pixels[] = { "http://track.test/q/p1", "http://track.test/q/p2", NULL };
	SinkDkimSig *sig = g_new0(SinkDkimSig, 1);
	static const char original[] = "Subject: x\r\n\r\nbody\0with a NUL";

	job->created = 1700000000;
	job->seed = 42;
	job->rcpt = g_strdup("x@openclick.sink.test");
	job->env_from = g_strdup("b\xe9\xff@sender.test");	/* not UTF-8: PMTA passes any bytes */
	job->klass = SINK_CLASS_OPENCLICK;
	job->route = SINK_ROUTE_MIX;
	job->persona = 1;
	job->user_agent = g_strdup("Mozilla/5.0 (test)");
	job->opens = 2;
	job->clicks = 1;
	job->click_delay = 90;
	job->pixels = g_strdupv(pixels);
	job->original = g_bytes_new(original, sizeof original);
	job->headers_only = TRUE;
	job->original_size = 12345;
	sig->domain = g_strdup("sender.test");
	sig->selector = g_strdup("sel1");
	sig->result = g_strdup("pass");
	sig->headers = g_strsplit("from:to:list-unsubscribe", ":", -1);
	g_ptr_array_add(job->sigs, sig);

	bytes = sink_job_encode(job);
	back = sink_job_decode(bytes, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(back->id, ==, job->id);
	g_assert_cmpint(strlen(back->id), ==, 32);
	g_assert_cmpint(back->step, ==, SINK_STEP_OPEN);
	g_assert_cmpint(back->created, ==, 1700000000);
	g_assert_cmpint(back->seed, ==, 42);
	g_assert_cmpstr(back->rcpt, ==, "x@openclick.sink.test");
	g_assert_cmpstr(back->env_from, ==, "b\xe9\xff@sender.test");
	g_assert_cmpint(back->klass, ==, SINK_CLASS_OPENCLICK);
	g_assert_cmpint(back->route, ==, SINK_ROUTE_MIX);
	g_assert_cmpint(back->persona, ==, 1);
	g_assert_cmpstr(back->user_agent, ==, "Mozilla/5.0 (test)");
	g_assert_cmpint(back->opens, ==, 2);
	g_assert_cmpint(back->click_delay, ==, 90);
	g_assert_cmpstrv(back->pixels, pixels);
	g_assert_null(back->links);
	g_assert_true(g_bytes_equal(back->original, job->original));
	g_assert_true(back->headers_only);
	g_assert_cmpuint(back->original_size, ==, 12345);
	g_assert_cmpuint(back->sigs->len, ==, 1);
	g_assert_cmpstr(((SinkDkimSig *)back->sigs->pdata[0])->headers[2], ==, "list-unsubscribe");
}

static void
test_not_a_job(void)
{
	static const char *const junk[] = { "", "not a job at all", "\xff\xff\xff\xff\x00\x01" };
	g_autoptr(GError) error = NULL;

	for (gsize i = 0; i < G_N_ELEMENTS(junk); i++) {
		g_autoptr(GBytes) b = g_bytes_new(junk[i], strlen(junk[i]) + (i == 2 ? 2 : 0));
		g_assert_null(sink_job_decode(b, &error));
		g_assert_nonnull(error);
		g_clear_error(&error);
	}
	{	/* a dictionary without a version */
		g_auto(GVariantDict) d = G_VARIANT_DICT_INIT(NULL);
		g_autoptr(GVariant) v = NULL;
		g_autoptr(GBytes) b = NULL;
		g_variant_dict_insert(&d, "step", "s", "open");
		v = g_variant_ref_sink(g_variant_dict_end(&d));
		b = g_variant_get_data_as_bytes(v);
		g_assert_null(sink_job_decode(b, &error));
		g_assert_nonnull(strstr(error->message, "job format"));
		g_clear_error(&error);
	}
	/* repeats no plan makes (a corrupt or forged job would have a worker fetch forever) */
	for (int i = 0; i < 4; i++) {
		g_autoptr(SinkJob) job = sink_job_new(SINK_STEP_OPEN);
		g_autoptr(GBytes) b = NULL;

		job->rcpt = g_strdup("x@openclick.sink.test");
		job->klass = SINK_CLASS_OPENCLICK;
		job->opens = i == 0 ? -1 : i == 1 ? SINK_REPEATS_CEILING + 1 : 1;
		job->clicks = i == 2 ? G_MAXINT : 1;
		job->click_delay = i == 3 ? -5 : 0;
		b = sink_job_encode(job);
		g_assert_null(sink_job_decode(b, &error));
		g_assert_nonnull(strstr(error->message, "out of range"));
		g_clear_error(&error);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/delay/durations", test_durations);
	g_test_add_func("/delay/ranges", test_ranges);
	g_test_add_func("/delay/config-keys-name-the-key", test_config_keys);
	g_test_add_func("/delay/job-round-trip", test_job_round_trip);
	g_test_add_func("/delay/not-a-job-refused", test_not_a_job);
	return g_test_run();
}
