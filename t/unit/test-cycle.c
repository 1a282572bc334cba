/*
 * test-cycle.c - sink-cycle's pieces: today's bounce rate from the n-weekly
 * list, the one-line edit of PMTA's config (a table of labelled cases: every
 * other byte stays), the atomic file replacement and the reload command.
 */
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cycle.h"

#define D SINK_CYCLE_DIRECTIVE

typedef struct {
	const char *label;
	const char *before;
	const char *after;	/* NULL: no directive, an error */
	guint lines;
	const char *new_line;
	const char *old_value;
} EditCase;

static const EditCase edit_cases[] = {
	{ "plain line", D " 4\n", D " 40\n", 1, D " 40", "4" },
	{ "original layout: tabs and a trailing comment kept",
	  "dummy-smtp-blacklist /etc/pmta/blacklist.dat\n" D " 4\t\t\t# will be updated by script\ndummy-smtp-port 25\n",
	  "dummy-smtp-blacklist /etc/pmta/blacklist.dat\n" D " 40\t\t\t# will be updated by script\ndummy-smtp-port 25\n",
	  1, D " 40\t\t\t# will be updated by script", "4" },
	{ "indented, wide spacing, no final newline",
	  "<x>\n\t" D "   4  # c\n</x>", "<x>\n\t" D "   40  # c\n</x>", 1, "\t" D "   40  # c", "4" },
	{ "CRLF line endings kept", "a\r\n" D " 4\r\nb\r\n", "a\r\n" D " 40\r\nb\r\n", 1, D " 40", "4" },
	{ "name matched case-insensitively", "DUMMY-SMTP-BLACKLIST-BOUNCE-PERCENT 4\n",
	  "DUMMY-SMTP-BLACKLIST-BOUNCE-PERCENT 40\n", 1, "DUMMY-SMTP-BLACKLIST-BOUNCE-PERCENT 40", "4" },
	{ "commented-out line left alone", "#" D " 9\n# " D " 9\n" D " 4\n", "#" D " 9\n# " D " 9\n" D " 40\n",
	  1, D " 40", "4" },
	{ "every directive line gets the value", D " 4\nx\n  " D " 7 #2\n", D " 40\nx\n  " D " 40 #2\n", 2,
	  D " 40", "4" },
	{ "decimal value replaced whole", D " 2.75\n", D " 40\n", 1, D " 40", "2.75" },
	{ "line without a value gets one", D "\n", D " 40\n", 1, D " 40", "" },
	{ "no value before a comment", D " # set hourly\n", D " 40 # set hourly\n", 1, D " 40 # set hourly", "" },
	{ "comment right after the name", D "#c\n", D " 40 #c\n", 1, D " 40 #c", "" },
	{ "a longer name is another directive", D "age 4\n", NULL, 0, NULL, NULL },
	{ "only a commented-out line", "# " D " 4\n", NULL, 0, NULL, NULL },
	{ "empty file", "", NULL, 0, NULL, NULL },
};

static void
test_edit_case(gconstpointer data)
{
	const EditCase *c = data;
	g_autoptr(GError) error = NULL;
	SinkCycleEdit edit;
	gboolean ok = sink_cycle_edit("/etc/pmta/config", c->before, strlen(c->before), "40", &edit, &error);

	if (c->after == NULL) {
		g_assert_false(ok);
		g_assert_error(error, SINK_CYCLE_ERROR, SINK_CYCLE_ERROR_NO_DIRECTIVE);
		g_assert_true(g_str_has_prefix(error->message, "/etc/pmta/config: no \"" D "\" line"));
		return;
	}
	g_assert_no_error(error);
	g_assert_true(ok);
	g_assert_cmpuint(edit.len, ==, strlen(c->after));
	g_assert_cmpstr(edit.text, ==, c->after);
	g_assert_cmpuint(edit.lines, ==, c->lines);
	g_assert_cmpstr(edit.new_line, ==, c->new_line);
	g_assert_cmpstr(edit.old_value, ==, c->old_value);
	g_assert_true(edit.changed);
	sink_cycle_edit_clear(&edit);
}

static void
test_edit_same_value_is_unchanged(void)
{
	static const char text[] = "a\n  " D " 40\t# hourly\r\nb";
	SinkCycleEdit edit;

	g_assert_true(sink_cycle_edit("f", text, strlen(text), "40", &edit, NULL));
	g_assert_false(edit.changed);
	g_assert_cmpstr(edit.text, ==, text);
	sink_cycle_edit_clear(&edit);
}

static void
test_edit_keeps_bytes_after_a_nul(void)
{
	static const char text[] = D " 4\n\0tail\n";
	SinkCycleEdit edit;

	g_assert_true(sink_cycle_edit("f", text, sizeof text - 1, "5", &edit, NULL));
	g_assert_cmpuint(edit.len, ==, sizeof text - 1);
	g_assert_true(memcmp(edit.text, D " 5\n\0tail\n", edit.len) == 0);
	sink_cycle_edit_clear(&edit);
}

static void
test_format_value(void)
{
	static const struct { double v; const char *s; } cases[] = {
		{ 4, "4" }, { 40, "40" }, { 0, "0" }, { 2.5, "2.5" }, { 0.1, "0.1" }, { 100, "100" },
		/* never an exponent, which PMTA would not read */
		{ 0.00001, "0.00001" }, { 1e-7, "0.0000001" }, { 12.125, "12.125" },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *s = sink_cycle_format_value(cases[i].v);
		g_assert_cmpstr(s, ==, cases[i].s);
	}
}

static void
test_bounce_rate_follows_the_weekly_cycle(void)
{
	g_autoptr(SinkConfig) cfg = sink_config_load(NULL, NULL);
	/* the default list: 4,40,40,2,4,4,4 (even ISO weeks), 4,4,4,4,4,4,4 (odd) */
	static const struct { int y, m, d; double rate; gsize index; } days[] = {
		{ 2024, 1, 8, 4, 0 },	/* Monday, ISO week 2 */
		{ 2024, 1, 9, 40, 1 },	/* Tuesday, week 2 */
		{ 2024, 1, 11, 2, 3 },	/* Thursday, week 2 */
		{ 2024, 1, 2, 4, 8 },	/* Tuesday, week 1 */
		{ 2024, 12, 31, 4, 8 },	/* Tuesday, ISO week 1 of 2025 */
	};

	g_assert_nonnull(cfg);
	for (size_t i = 0; i < G_N_ELEMENTS(days); i++) {
		g_autoptr(GDateTime) t = g_date_time_new_utc(days[i].y, days[i].m, days[i].d, 23, 59, 0);
		gsize index;
		g_assert_cmpfloat(sink_cycle_bounce_rate(cfg, t, &index), ==, days[i].rate);
		g_assert_cmpuint(index, ==, days[i].index);
	}
}

/* ---- the file ---- */

static char *
file_in(const char *dir, const char *name, const char *text, int mode)
{
	char *path = g_build_filename(dir, name, NULL);

	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	g_assert_cmpint(g_chmod(path, mode), ==, 0);
	return path;
}

static guint
entries_in(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	guint n = 0;

	while (g_dir_read_name(d))
		n++;
	g_dir_close(d);
	return n;
}

static void
test_replace_file_keeps_mode_and_leaves_no_temporary(void)
{
	g_autofree char *dir = g_dir_make_tmp("sink-cycle-XXXXXX", NULL);
	g_autofree char *path = file_in(dir, "config", "old\n", 0640);
	g_autofree char *got = NULL;
	g_autoptr(GError) error = NULL;
	struct stat st;

	g_assert_true(sink_cycle_replace_file(path, "new\n", 4, &error));
	g_assert_no_error(error);
	g_assert_true(g_file_get_contents(path, &got, NULL, NULL));
	g_assert_cmpstr(got, ==, "new\n");
	g_assert_cmpint(g_stat(path, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 07777, ==, 0640);
	g_assert_cmpuint(entries_in(dir), ==, 1);
	g_unlink(path);
	g_rmdir(dir);
}

static void
test_replace_file_through_a_symlink_replaces_the_target(void)
{
	g_autofree char *dir = g_dir_make_tmp("sink-cycle-XXXXXX", NULL);
	g_autofree char *target = file_in(dir, "real", "old\n", 0600);
	g_autofree char *link = g_build_filename(dir, "config", NULL);
	g_autofree char *got = NULL;
	g_autofree char *still = NULL;

	g_assert_cmpint(symlink("real", link), ==, 0);
	g_assert_true(sink_cycle_replace_file(link, "new\n", 4, NULL));
	still = g_file_read_link(link, NULL);
	g_assert_cmpstr(still, ==, "real");
	g_assert_true(g_file_get_contents(target, &got, NULL, NULL));
	g_assert_cmpstr(got, ==, "new\n");
	g_assert_cmpuint(entries_in(dir), ==, 2);
	g_unlink(link);
	g_unlink(target);
	g_rmdir(dir);
}

static void
test_replace_missing_file_is_an_error(void)
{
	g_autoptr(GError) error = NULL;

	g_assert_false(sink_cycle_replace_file("/nonexistent/pmta/config", "x", 1, &error));
	g_assert_error(error, SINK_CYCLE_ERROR, SINK_CYCLE_ERROR_WRITE);
	g_assert_nonnull(strstr(error->message, "/nonexistent/pmta/config"));
}

/* ---- the reload ---- */

static void
test_reload_success_captures_output(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *out = NULL;

	g_assert_true(sink_cycle_reload("echo 'reloaded  ok'", &out, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(out, ==, "reloaded  ok");
}

static void
test_reload_failure_names_command_status_and_stderr(void)
{
	g_autoptr(GError) error = NULL;

	g_assert_false(sink_cycle_reload("sh -c 'echo config error >&2; exit 3'", NULL, &error));
	g_assert_error(error, SINK_CYCLE_ERROR, SINK_CYCLE_ERROR_RELOAD);
	g_assert_nonnull(strstr(error->message, "exit status 3"));
	g_assert_nonnull(strstr(error->message, "config error"));
	g_assert_nonnull(strstr(error->message, "sh -c"));
}

static void
test_reload_runs_no_shell(void)
{
	g_autofree char *out = NULL;

	/* a shell would expand these; split words go to echo as they are */
	g_assert_true(sink_cycle_reload("echo $HOME ; true", &out, NULL));
	g_assert_cmpstr(out, ==, "$HOME ; true");
}

static void
test_reload_missing_program_or_bad_quoting(void)
{
	g_autoptr(GError) e1 = NULL;
	g_autoptr(GError) e2 = NULL;

	g_assert_false(sink_cycle_reload("/nonexistent/pmta reload", NULL, &e1));
	g_assert_error(e1, SINK_CYCLE_ERROR, SINK_CYCLE_ERROR_RELOAD);
	g_assert_nonnull(strstr(e1->message, "did not start"));
	g_assert_false(sink_cycle_reload("pmta 'reload", NULL, &e2));
	g_assert_error(e2, SINK_CYCLE_ERROR, SINK_CYCLE_ERROR_RELOAD);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (size_t i = 0; i < G_N_ELEMENTS(edit_cases); i++) {
		g_autofree char *name = g_strdup_printf("/cycle/edit/%s", edit_cases[i].label);
		g_test_add_data_func(name, &edit_cases[i], test_edit_case);
	}
	g_test_add_func("/cycle/edit/same value is unchanged", test_edit_same_value_is_unchanged);
	g_test_add_func("/cycle/edit/bytes after a NUL kept", test_edit_keeps_bytes_after_a_nul);
	g_test_add_func("/cycle/format-value", test_format_value);
	g_test_add_func("/cycle/bounce-rate-follows-the-weekly-cycle", test_bounce_rate_follows_the_weekly_cycle);
	g_test_add_func("/cycle/file/keeps-mode-no-temporary", test_replace_file_keeps_mode_and_leaves_no_temporary);
	g_test_add_func("/cycle/file/symlink-target-replaced", test_replace_file_through_a_symlink_replaces_the_target);
	g_test_add_func("/cycle/file/missing-is-an-error", test_replace_missing_file_is_an_error);
	g_test_add_func("/cycle/reload/success-captures-output", test_reload_success_captures_output);
	g_test_add_func("/cycle/reload/failure-names-status-and-stderr", test_reload_failure_names_command_status_and_stderr);
	g_test_add_func("/cycle/reload/no-shell", test_reload_runs_no_shell);
	g_test_add_func("/cycle/reload/missing-program-or-bad-quoting", test_reload_missing_program_or_bad_quoting);
	return g_test_run();
}
