/*
 * test-config.c - the config table: the original's file loads unchanged,
 * defaults equal the original model, and every bad value is an error that
 * names the file and the key.
 */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "unit.h"

static char *
write_config(const char *text)
{
	char *path = NULL;
	int fd = g_file_open_tmp("sink-test-XXXXXX.ini", &path, NULL);

	g_assert_cmpint(fd, >=, 0);
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	close(fd);
	return path;
}

static void
test_original_layout_loads(void)
{
	g_autofree char *path = g_build_filename(SRCDIR, "t", "fixtures", "original-style.ini", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(SinkConfig) cfg = sink_config_load(path, &error);
	g_autofree char *dir = g_path_get_dirname(path);
	g_autofree char *ua = g_build_filename(dir, "user-agents.csv", NULL);

	g_assert_no_error(error);
	g_assert_nonnull(cfg);
	g_assert_cmpfloat(cfg->oob_percent, ==, 0.5);
	g_assert_cmpfloat(cfg->fbl_percent, ==, 0.01);
	g_assert_cmpfloat(cfg->upstream_handled, ==, 50);
	g_assert_cmpint(cfg->logfile_backup_count, ==, 7);
	g_assert_cmpstr(cfg->tracking_domains_allowlist[0], ==, "track.example.com");
	g_assert_cmpstr(cfg->tracking_domains_allowlist[1], ==, "other.example");
	g_assert_null(cfg->tracking_domains_allowlist[2]);
	g_assert_cmpstr(cfg->user_agents_file, ==, ua);	/* relative to the config's folder */
	g_assert_cmpstr(cfg->done_msg_file_dest, ==, "/var/spool/mail/inbound/done");
	g_assert_cmpuint(cfg->digit_days[0], ==, 1);	/* "0": never, listed (bit 0) */
	g_assert_cmpint(__builtin_popcount(cfg->digit_days[1]), ==, 17);
	g_assert_true(cfg->digit_days[5] == ((1u << 3) | (1u << 18)));
	g_assert_cmpuint(cfg->weekly_open_rate_len, ==, 14);
	g_assert_cmpfloat(cfg->weekly_open_rate[1], ==, 0.1);
	g_assert_cmpuint(cfg->weekly_bounce_rate_len, ==, 14);
	g_assert_cmpstr(g_hash_table_lookup(cfg->rp_mx_allowlist, "smtp.eu.sparkpostmail.com"), ==,
			"fbl@eu.sparkpostmail.com");
	g_assert_cmpuint(g_hash_table_size(cfg->rp_mx_allowlist), ==, 3);
	/* Max_Threads and Gather_Timeout: accepted, with a warning each */
	g_assert_cmpuint(cfg->warnings->len, ==, 2);
	g_assert_nonnull(strstr(cfg->warnings->pdata[0], "Max_Threads"));
}

static void
test_defaults_are_the_original_model(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SinkConfig) cfg = sink_config_load(NULL, &error);

	g_assert_no_error(error);
	g_assert_cmpfloat(cfg->open_percent, ==, 55);
	g_assert_cmpfloat(cfg->click_again_percent, ==, 3);
	g_assert_cmpint(cfg->dkim_check, ==, SINK_DKIM_VERIFY);
	g_assert_false(cfg->spf_required_direct);	/* as the original: SPF recorded, not required */
	g_assert_false(cfg->fetch_allow_private);
	g_assert_cmpint(cfg->dns_timeout, ==, 3);
	g_assert_cmpstr(cfg->tracking_server_header, ==, "msys-http");
	g_assert_cmpint(cfg->max_message_size, ==, 52428800);
	g_assert_cmpstr(cfg->pmta_reload_command, ==, "pmta reload");
	/* unsubscribes: no share (the original's mix), a provider's order, multipart, https only */
	g_assert_cmpfloat(cfg->unsubscribe_percent, ==, 0);
	g_assert_cmpint(cfg->unsubscribe_method, ==, SINK_UNSUB_AUTO);
	g_assert_cmpint(cfg->unsubscribe_post_encoding, ==, SINK_POST_MULTIPART);
	g_assert_false(cfg->unsubscribe_allow_http);
	g_assert_nonnull(strstr(cfg->unsubscribe_user_agent, "Gmail Actions"));
	g_assert_cmpint(cfg->directive_max_repeats, ==, 10);
	g_assert_nonnull(cfg->host_name);
	g_assert_cmpstr(g_hash_table_lookup(cfg->rp_mx_allowlist, "smtp.sparkpostmail.com"), ==,
			"fbl@sparkpostmail.com");
	g_assert_null(cfg->dkim_sign_key);	/* reports unsigned, as the original's */
	g_assert_null(cfg->dkim_sign_domain);
	/* every complaint abuse, as the original's */
	g_assert_cmpfloat(cfg->fbl_feedback_weights[SINK_FEEDBACK_ABUSE], ==, 100);
	for (int t = SINK_FEEDBACK_ABUSE + 1; t < SINK_FEEDBACK_TYPES; t++)
		g_assert_cmpfloat(cfg->fbl_feedback_weights[t], ==, 0);
}

/* An enum key takes its values in any case. */
static void
test_unsubscribe_keys(void)
{
	g_autofree char *path = write_config("[Sink]\nUnsubscribe_Method = MailTo\nUnsubscribe_Post_Encoding = urlencoded\n"
					     "Unsubscribe_Allow_HTTP = yes\nUnsubscribe_percent = 2.5\n");
	g_autoptr(GError) error = NULL;
	g_autoptr(SinkConfig) cfg = sink_config_load(path, &error);

	g_assert_no_error(error);
	g_assert_cmpint(cfg->unsubscribe_method, ==, SINK_UNSUB_MAILTO);
	g_assert_cmpint(cfg->unsubscribe_post_encoding, ==, SINK_POST_URLENCODED);
	g_assert_true(cfg->unsubscribe_allow_http);
	g_assert_cmpfloat(cfg->unsubscribe_percent, ==, 2.5);
	g_unlink(path);
}

static void
test_keys_match_case_insensitively(void)
{
	g_autofree char *path = write_config("[Sink]\noob_PERCENT = 2\ndigit1_Days = 4\n");
	g_autoptr(GError) error = NULL;
	g_autoptr(SinkConfig) cfg = sink_config_load(path, &error);

	g_assert_no_error(error);
	g_assert_cmpfloat(cfg->oob_percent, ==, 2);
	g_assert_cmpuint(cfg->digit_days[1], ==, 1u << 4);
	g_unlink(path);
}

/* A list of days as people write it: spaces, an empty item, a trailing comma, leading zeros. */
static void
test_days_as_written(void)
{
	g_autofree char *path = write_config("[Sink]\nDigit1_days = 3 , 18,,07 ,\nDigit2_days = 0\nDigit3_days =\n");
	g_autoptr(GError) error = NULL;
	g_autoptr(SinkConfig) cfg = sink_config_load(path, &error);

	g_assert_no_error(error);
	g_assert_cmpuint(cfg->digit_days[1], ==, (1u << 3) | (1u << 7) | (1u << 18));
	g_assert_cmpuint(cfg->digit_days[2], ==, 1u);	/* "0": never, listed */
	g_assert_cmpuint(cfg->digit_days[3], ==, 0u);	/* empty: no day */
	g_unlink(path);
}

static void
test_environment_overrides_redis(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SinkConfig) cfg = NULL;

	g_setenv("REDIS_URL", "unix:/run/redis.sock", TRUE);
	g_setenv("RESULTS_KEY", "7", TRUE);
	cfg = sink_config_load(NULL, &error);
	g_unsetenv("REDIS_URL");
	g_unsetenv("RESULTS_KEY");
	g_assert_no_error(error);
	g_assert_cmpstr(cfg->redis_url, ==, "unix:/run/redis.sock");
	g_autofree char *prefix = sink_config_key_prefix(cfg);
	g_assert_cmpstr(prefix, ==, "consume-mail:7:");
}

/* Each bad file must fail with an error naming the file and what is wrong. */
static const struct {
	const char *label, *text, *expect;
	int code;
} bad_cases[] = {
	{ "unknown key", "[Sink]\nOOB_Percentage = 1\n", "OOB_Percentage: unknown key", SINK_CONFIG_ERROR_KEY },
	{ "unknown section", "[Other]\nx = 1\n", "[Other]: unknown section", SINK_CONFIG_ERROR_KEY },
	{ "not a number", "[Sink]\nOOB_percent = lots\n", "OOB_percent = \"lots\": not a number", SINK_CONFIG_ERROR_VALUE },
	{ "percent over 100", "[Sink]\nOpen_percent = 101\n", "Open_percent = \"101\": must be between 0 and 100", SINK_CONFIG_ERROR_VALUE },
	{ "negative percent", "[Sink]\nFBL_percent = -1\n", "FBL_percent", SINK_CONFIG_ERROR_VALUE },
	{ "int not whole", "[Sink]\nOpen_Click_Timeout = 2.5\n", "Open_Click_Timeout = \"2.5\": must be a whole number", SINK_CONFIG_ERROR_VALUE },
	{ "timeout zero", "[Sink]\nDNS_Timeout = 0\n", "DNS_Timeout", SINK_CONFIG_ERROR_VALUE },
	{ "bool", "[Sink]\nFetch_Allow_Private = maybe\n", "must be true or false", SINK_CONFIG_ERROR_VALUE },
	{ "dkim mode", "[Sink]\nDKIM_Check = trust\n", "must be verify, header or off", SINK_CONFIG_ERROR_VALUE },
	{ "unsubscribe method", "[Sink]\nUnsubscribe_Method = oneclick\n", "Unsubscribe_Method = \"oneclick\": must be one of auto, one-click, mailto, link", SINK_CONFIG_ERROR_VALUE },
	{ "post encoding", "[Sink]\nUnsubscribe_Post_Encoding = form-data\n", "must be one of multipart, urlencoded", SINK_CONFIG_ERROR_VALUE },
	{ "unsubscribe share", "[Sink]\nUnsubscribe_percent = 120\n", "Unsubscribe_percent = \"120\": must be between 0 and 100", SINK_CONFIG_ERROR_VALUE },
	{ "cycle not whole weeks", "[Sink]\nWeekly_Cycle_Open_Rate = 1,1,1\n", "multiple of 7", SINK_CONFIG_ERROR_VALUE },
	{ "cycle item", "[Sink]\nWeekly_Cycle_Bounce_Rate = 1,2,3,x,5,6,7\n", "item 4 (\"x\")", SINK_CONFIG_ERROR_VALUE },
	{ "day 32", "[Sink]\nDigit3_days = 1,32\n", "Digit3_days = \"1,32\": \"32\" is not a day", SINK_CONFIG_ERROR_VALUE },
	{ "day not a number", "[Sink]\nDigit3_days = 1, 3a ,5\n", "Digit3_days = \"1, 3a ,5\": \"3a\" is not a day", SINK_CONFIG_ERROR_VALUE },
	{ "day signed", "[Sink]\nDigit3_days = +3\n", "\"+3\" is not a day", SINK_CONFIG_ERROR_VALUE },
	{ "day huge", "[Sink]\nDigit3_days = 99999999999999999999\n", "\"99999999999999999999\" is not a day", SINK_CONFIG_ERROR_VALUE },
	{ "allowlist value", "[Sink]\n[RP_MX_domain_allowlist]\nmx.example = nobody\n", "mx.example = \"nobody\": not an email address", SINK_CONFIG_ERROR_VALUE },
	{ "repeats zero", "[Sink]\nDirective_Max_Repeats = 0\n", "Directive_Max_Repeats = \"0\": must be a whole number from 1 to 100", SINK_CONFIG_ERROR_VALUE },
	{ "repeats over 100", "[Sink]\nDirective_Max_Repeats = 101\n", "Directive_Max_Repeats", SINK_CONFIG_ERROR_VALUE },
	{ "not ini", "OOB_percent = 1\n", "", SINK_CONFIG_ERROR_SYNTAX },
	{ "feedback type unknown", "[Sink]\nFBL_Feedback_Types = abuse:90,phish:10\n",
	  "FBL_Feedback_Types = \"abuse:90,phish:10\": \"phish\" is not an ARF feedback type", SINK_CONFIG_ERROR_VALUE },
	{ "feedback weight negative", "[Sink]\nFBL_Feedback_Types = abuse:90,fraud:-1\n",
	  "FBL_Feedback_Types = \"abuse:90,fraud:-1\": the weight of fraud (\"-1\") must be a number, 0 or more",
	  SINK_CONFIG_ERROR_VALUE },
	{ "feedback weights all zero", "[Sink]\nFBL_Feedback_Types = abuse:0,virus:0\n",
	  "FBL_Feedback_Types = \"abuse:0,virus:0\": no type has a weight above 0", SINK_CONFIG_ERROR_VALUE },
	{ "feedback type twice", "[Sink]\nFBL_Feedback_Types = abuse:1,Abuse:2\n", "abuse is given twice",
	  SINK_CONFIG_ERROR_VALUE },
	{ "feedback without weight", "[Sink]\nFBL_Feedback_Types = abuse\n", "\"abuse\" is not type:weight",
	  SINK_CONFIG_ERROR_VALUE },
	{ "feedback empty", "[Sink]\nFBL_Feedback_Types =\n", "FBL_Feedback_Types", SINK_CONFIG_ERROR_VALUE },
	{ "signing half set", "[Sink]\nDKIM_Sign_Domain = sink.example\nDKIM_Sign_Selector = s1\n",
	  "DKIM_Sign_Domain, DKIM_Sign_Selector and DKIM_Sign_Key go together: DKIM_Sign_Key is not set",
	  SINK_CONFIG_ERROR_VALUE },
	{ "signing key missing",
	  "[Sink]\nDKIM_Sign_Domain = sink.example\nDKIM_Sign_Selector = s1\nDKIM_Sign_Key = /nonexistent/k.pem\n",
	  "DKIM_Sign_Key = \"/nonexistent/k.pem\": the key cannot be read: No such file or directory",
	  SINK_CONFIG_ERROR_VALUE },
	{ "signing key a folder", "[Sink]\nDKIM_Sign_Domain = sink.example\nDKIM_Sign_Selector = s1\nDKIM_Sign_Key = /\n",
	  "DKIM_Sign_Key = \"/\": the key cannot be read: not a file", SINK_CONFIG_ERROR_VALUE },
	{ "signing selector", "[Sink]\nDKIM_Sign_Domain = sink.example\nDKIM_Sign_Selector = s_1\nDKIM_Sign_Key = /\n",
	  "DKIM_Sign_Selector = \"s_1\": not a selector", SINK_CONFIG_ERROR_VALUE },
};

static void
test_bad_values_name_file_and_key(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
		g_autofree char *path = write_config(bad_cases[i].text);
		g_autoptr(GError) error = NULL;
		g_autoptr(SinkConfig) cfg = sink_config_load(path, &error);

		g_test_message("case: %s", bad_cases[i].label);
		g_assert_null(cfg);
		g_assert_error(error, SINK_CONFIG_ERROR, bad_cases[i].code);
		g_assert_true(g_str_has_prefix(error->message, path));
		g_assert_nonnull(strstr(error->message, bad_cases[i].expect));
		g_unlink(path);
	}
}

static void
test_missing_file_is_a_read_error(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SinkConfig) cfg = sink_config_load("/nonexistent/sink.ini", &error);

	g_assert_null(cfg);
	g_assert_error(error, SINK_CONFIG_ERROR, SINK_CONFIG_ERROR_READ);
	g_assert_nonnull(strstr(error->message, "/nonexistent/sink.ini"));
}

/* (ISO weekday - 1) + 7 * (ISO week mod weeks), in UTC. */
/* sink_config_get: reused while nothing it was read from changed; read again when anything did */
static void
test_cache_follows_file_cwd_and_environment(void)
{
	g_autofree char *top = g_dir_make_tmp("sink-cache-XXXXXX", NULL);
	g_autofree char *one = g_build_filename(top, "one", NULL), *two = g_build_filename(top, "two", NULL);
	g_autofree char *ini = g_build_filename(one, "sink.ini", NULL), *link = g_build_filename(two, "sink.ini", NULL);
	g_autofree char *ua_one = g_build_filename(one, "ua.csv", NULL), *ua_two = g_build_filename(two, "ua.csv", NULL);
	g_autofree char *back = g_get_current_dir();
	g_autoptr(GError) error = NULL;
	const SinkConfig *cfg, *again;

	g_assert_cmpint(g_mkdir(one, 0700), ==, 0);
	g_assert_cmpint(g_mkdir(two, 0700), ==, 0);
	g_assert_true(g_file_set_contents(ini, "[Sink]\nOOB_percent = 1\nUser_Agents_File = ua.csv\n", -1, NULL));
	g_assert_cmpint(symlink(ini, link), ==, 0);
	g_unsetenv("REDIS_URL");
	/* a file changed in the last 2 s is read every time: let it age */
	g_usleep(3 * G_USEC_PER_SEC);

	cfg = sink_config_get(ini, &error);
	g_assert_no_error(error);
	g_assert_cmpfloat(cfg->oob_percent, ==, 1);
	again = sink_config_get(ini, &error);
	g_assert_true(again == cfg);	/* reused, not read again */
	g_assert_cmpfloat(again->oob_percent, ==, 1);

	/* the same relative path from another folder (the same file through a link) */
	g_assert_cmpint(g_chdir(one), ==, 0);
	cfg = sink_config_get("sink.ini", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(cfg->user_agents_file, ==, ua_one);
	g_assert_cmpint(g_chdir(two), ==, 0);
	cfg = sink_config_get("sink.ini", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(cfg->user_agents_file, ==, ua_two);
	g_assert_cmpint(g_chdir(back), ==, 0);

	/* the environment that overrides the file */
	cfg = sink_config_get(ini, &error);
	g_assert_cmpstr(cfg->redis_url, !=, "unix:/elsewhere.sock");
	g_setenv("REDIS_URL", "unix:/elsewhere.sock", TRUE);
	cfg = sink_config_get(ini, &error);
	g_assert_cmpstr(cfg->redis_url, ==, "unix:/elsewhere.sock");
	g_unsetenv("REDIS_URL");
	cfg = sink_config_get(ini, &error);
	g_assert_cmpstr(cfg->redis_url, !=, "unix:/elsewhere.sock");

	/* an edit of the same size, then a bad edit, then the file gone */
	g_assert_true(g_file_set_contents(ini, "[Sink]\nOOB_percent = 2\nUser_Agents_File = ua.csv\n", -1, NULL));
	cfg = sink_config_get(ini, &error);
	g_assert_no_error(error);
	g_assert_cmpfloat(cfg->oob_percent, ==, 2);
	g_assert_true(g_file_set_contents(ini, "[Sink]\nOOB_percent = x\n", -1, NULL));
	g_assert_null(sink_config_get(ini, &error));
	g_assert_error(error, SINK_CONFIG_ERROR, SINK_CONFIG_ERROR_VALUE);
	g_clear_error(&error);
	g_assert_cmpint(g_unlink(ini), ==, 0);
	g_assert_null(sink_config_get(ini, &error));
	g_assert_error(error, SINK_CONFIG_ERROR, SINK_CONFIG_ERROR_READ);
	g_clear_error(&error);

	/* built-in defaults */
	cfg = sink_config_get(NULL, &error);
	g_assert_no_error(error);
	g_assert_true(sink_config_get(NULL, &error) == cfg);
	g_unlink(link);
	g_rmdir(one);
	g_rmdir(two);
	g_rmdir(top);
}

static void
test_cycle_index(void)
{
	static const struct { int y, m, d; gsize len, expect; } cases[] = {
		{ 2026, 11, 23, 14, 0 + 7 * (48 % 2) },	/* Monday of ISO week 48 */
		{ 2026, 11, 25, 14, 2 + 7 * (48 % 2) },	/* Wednesday */
		{ 2026, 11, 29, 14, 6 },		/* Sunday, week 48 */
		{ 2026, 11, 30, 14, 0 + 7 },		/* Monday, week 49 (odd) */
		{ 2027, 1, 1, 14, 4 + 7 * (53 % 2) },	/* Friday in ISO week 53 of 2026 */
		{ 2026, 11, 30, 7, 0 },			/* one week: always the first 7 */
		{ 2026, 11, 30, 21, 0 + 7 * (49 % 3) },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GDateTime) t = g_date_time_new_utc(cases[i].y, cases[i].m, cases[i].d, 12, 0, 0);
		g_assert_cmpuint(sink_weekly_index(cases[i].len, t), ==, cases[i].expect);
	}
}

/* Delays a job may wait past Delay_Job_Max_Age are warned of (sink-filter -n), naming the keys; none when shorter. */
static void
test_job_age_warning(void)
{
	static const struct {
		const char *text, *warning;	/* NULL: none */
	} cases[] = {
		{ "[Sink]\nOpen_Delay = 1h\n", NULL },
		{ "[Sink]\nOpen_Delay = 20d-30d\nClick_Delay = 10d-30d\n",
		  "Delay_Job_Max_Age (31d) is not longer than Open_Delay's longest and then Click_Delay's (60d)" },
		{ "[Sink]\nOpen_Delay = 1h\nDelay_Job_Max_Age = 60s\n",
		  "Delay_Job_Max_Age (1m) is not longer than Open_Delay's longest (1h)" },
		{ "[Sink]\nAutoreply_Delay = 2d\nDelay_Job_Max_Age = 2d\n",
		  "Delay_Job_Max_Age (2d) is not longer than Autoreply_Delay's longest (2d)" },
		{ "[Sink]\nOpen_Delay = 1d\nClick_Delay = 1d\nDelay_Job_Max_Age = 3d\n", NULL },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(SinkConfig) cfg = unit_config_from(cases[i].text);

		g_test_message("case: %s", cases[i].text);
		if (cases[i].warning == NULL) {
			g_assert_cmpuint(cfg->warnings->len, ==, 0);
			continue;
		}
		g_assert_cmpuint(cfg->warnings->len, ==, 1);
		g_assert_true(g_str_has_prefix(cfg->warnings->pdata[0], cases[i].warning));
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/config/original-layout-loads-unchanged", test_original_layout_loads);
	g_test_add_func("/config/defaults-are-the-original-model", test_defaults_are_the_original_model);
	g_test_add_func("/config/unsubscribe-keys", test_unsubscribe_keys);
	g_test_add_func("/config/keys-match-case-insensitively", test_keys_match_case_insensitively);
	g_test_add_func("/config/days-as-written", test_days_as_written);
	g_test_add_func("/config/environment-overrides-redis", test_environment_overrides_redis);
	g_test_add_func("/config/bad-values-name-file-and-key", test_bad_values_name_file_and_key);
	g_test_add_func("/config/missing-file-is-a-read-error", test_missing_file_is_a_read_error);
	g_test_add_func("/config/cycle-index", test_cycle_index);
	g_test_add_func("/config/job-age-warning", test_job_age_warning);
	g_test_add_func("/config/cache-follows-file-cwd-and-environment", test_cache_follows_file_cwd_and_environment);
	return g_test_run();
}
