/*
 * stats.c - sink-stats' formats and the pruning of old ts_ keys.
 *
 * Design: reading and formatting are apart.  sink_stats_read walks the key
 * space with SCAN (KEYS would block a shared Redis) under the instance's
 * prefix, one pattern for int_ counters and one for ts_ minutes, and reads
 * the values with MGET in batches.  The formatters take the plain
 * SinkStats, so each output is tested without a Redis.  The HTML page
 * carries its style and its SVG chart inline: it is copied around and
 * opened from mail or a file share, where nothing external can load.
 */
#include <errno.h>
#include <string.h>

#include "record.h"
#include "stats.h"

G_DEFINE_QUARK(sink-stats-error-quark, sink_stats_error)

#define SCAN_COUNT "1000"
#define MGET_BATCH 500

/*
 * The ts_ minutes worth charting: the kept window plus a day, since --prune
 * runs daily and keys a little past it are normal, up to a day ahead for
 * clocks that disagree.  Anything further is a stray key (a minute in
 * milliseconds, garbage): charting it stretched the axis over millennia.
 */
#define CHART_PAST ((gint64)(SINK_STATS_TS_KEEP_DAYS + 1) * 86400)
#define CHART_AHEAD ((gint64)86400)
/* Keys left out of the chart named one by one, before a count of the rest. */
#define LEFT_OUT_NAMED 20

/* ---- the data ------------------------------------------------------------------------------------------- */

static void
clear_counter(gpointer p)
{
	g_free(((SinkCounter *)p)->name);
}

SinkStats *
sink_stats_new(const char *results_key)
{
	SinkStats *stats = g_new0(SinkStats, 1);

	stats->results_key = g_strdup(results_key ? results_key : "0");
	stats->counters = g_array_new(FALSE, FALSE, sizeof(SinkCounter));
	g_array_set_clear_func(stats->counters, clear_counter);
	stats->minutes = g_array_new(FALSE, FALSE, sizeof(SinkMinute));
	stats->warnings = g_ptr_array_new_with_free_func(g_free);
	return stats;
}

void
sink_stats_free(SinkStats *stats)
{
	if (stats == NULL)
		return;
	g_free(stats->results_key);
	g_free(stats->started_running);
	g_array_unref(stats->counters);
	g_array_unref(stats->minutes);
	g_ptr_array_unref(stats->warnings);
	g_free(stats);
}

void
sink_stats_add_counter(SinkStats *stats, const char *name, gint64 value)
{
	SinkCounter c = { g_strdup(name), value };

	g_array_append_val(stats->counters, c);
}

void
sink_stats_add_minute(SinkStats *stats, gint64 minute, gint64 messages)
{
	SinkMinute m = { minute, messages };

	g_array_append_val(stats->minutes, m);
}

static gint
counter_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(((const SinkCounter *)a)->name, ((const SinkCounter *)b)->name);
}

static gint
minute_cmp(gconstpointer a, gconstpointer b)
{
	gint64 x = ((const SinkMinute *)a)->minute, y = ((const SinkMinute *)b)->minute;

	return x < y ? -1 : x > y;
}

void
sink_stats_sort(SinkStats *stats)
{
	g_array_sort(stats->counters, counter_cmp);
	g_array_sort(stats->minutes, minute_cmp);
}

/* ---- Redis ---------------------------------------------------------------------------------------------- */

char *
sink_stats_glob_escape(const char *s)
{
	GString *out = g_string_new(NULL);

	for (; *s; s++) {
		if (strchr("*?[]\\", *s))
			g_string_append_c(out, '\\');
		g_string_append_c(out, *s);
	}
	return g_string_free(out, FALSE);
}

static gboolean
reply_failed(redisContext *c, redisReply *r, const char *what, GError **error)
{
	if (r && r->type != REDIS_REPLY_ERROR)
		return FALSE;
	g_set_error(error, SINK_STATS_ERROR, SINK_STATS_ERROR_REDIS, "Redis %s: %s", what,
		    r ? r->str : c->errstr[0] ? c->errstr : "no reply");
	if (r)
		freeReplyObject(r);
	return TRUE;
}

/* Every key matching `pattern`, each once (SCAN may repeat keys). */
static GPtrArray *
scan_keys(redisContext *c, const char *pattern, GError **error)
{
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *cursor = g_strdup("0");

	do {
		const char *argv[] = { "SCAN", cursor, "MATCH", pattern, "COUNT", SCAN_COUNT };
		redisReply *r = redisCommandArgv(c, G_N_ELEMENTS(argv), argv, NULL);

		if (reply_failed(c, r, "SCAN", error))
			return NULL;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(r);
			g_set_error(error, SINK_STATS_ERROR, SINK_STATS_ERROR_REDIS, "Redis SCAN: unexpected reply");
			return NULL;
		}
		g_free(cursor);
		cursor = g_strdup(r->element[0]->str);
		for (size_t i = 0; i < r->element[1]->elements; i++) {
			redisReply *k = r->element[1]->element[i];
			if (k->type != REDIS_REPLY_STRING || g_hash_table_contains(seen, k->str))
				continue;
			char *key = g_strndup(k->str, k->len);
			g_ptr_array_add(keys, key);
			g_hash_table_add(seen, key);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	return g_steal_pointer(&keys);
}

/* One sink_stats_read: where values go, and the window of minutes kept. */
typedef struct {
	SinkStats *stats;
	GDateTime *now;		/* the time the chart is drawn for */
	guint left_out;		/* ts_ keys outside the window */
} Reader;

typedef void (*ValueFunc)(Reader *rd, const char *key, const char *value);

/* `cmd` (MGET, DEL) with the n keys of `keys` from `start` as its arguments. */
static redisReply *
command_keys(redisContext *c, const char *cmd, GPtrArray *keys, guint start, guint n)
{
	g_autofree const char **argv = g_new(const char *, n + 1);

	argv[0] = cmd;
	for (guint i = 0; i < n; i++)
		argv[i + 1] = keys->pdata[start + i];
	return redisCommandArgv(c, (int)n + 1, argv, NULL);
}

/*
 * MGET answers nil both for a key deleted since the SCAN and for one that is
 * not a string (a list, a hash).  The first is no news; the second is a
 * counter gone wrong, so ask the TYPE of the nil ones (in one pipelined round
 * trip) and warn naming each that still exists as something else.
 */
static gboolean
warn_not_strings(redisContext *c, SinkStats *stats, GPtrArray *keys, GError **error)
{
	for (guint i = 0; i < keys->len; i++) {
		const char *argv[] = { "TYPE", keys->pdata[i] };
		if (redisAppendCommandArgv(c, G_N_ELEMENTS(argv), argv, NULL) != REDIS_OK) {
			reply_failed(c, NULL, "TYPE", error);
			return FALSE;
		}
	}
	for (guint i = 0; i < keys->len; i++) {
		redisReply *r = NULL;
		if (redisGetReply(c, (void **)&r) != REDIS_OK)
			r = NULL;
		if (reply_failed(c, r, "TYPE", error))
			return FALSE;
		if (r->type == REDIS_REPLY_STATUS && strcmp(r->str, "none") != 0 && strcmp(r->str, "string") != 0)
			g_ptr_array_add(stats->warnings, g_strdup_printf("skipped %s: a Redis %s, not a string",
									 (const char *)keys->pdata[i], r->str));
		freeReplyObject(r);
	}
	return TRUE;
}

/* MGET `keys` in batches and pass each (key, value) that exists to `fn`. */
static gboolean
read_values(redisContext *c, Reader *rd, GPtrArray *keys, ValueFunc fn, GError **error)
{
	g_autoptr(GPtrArray) nil = g_ptr_array_new();

	for (guint start = 0; start < keys->len; start += MGET_BATCH) {
		guint n = MIN(MGET_BATCH, keys->len - start);
		redisReply *r = command_keys(c, "MGET", keys, start, n);
		if (reply_failed(c, r, "MGET", error))
			return FALSE;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != n) {
			freeReplyObject(r);
			g_set_error(error, SINK_STATS_ERROR, SINK_STATS_ERROR_REDIS, "Redis MGET: unexpected reply");
			return FALSE;
		}
		for (guint i = 0; i < n; i++) {
			if (r->element[i]->type == REDIS_REPLY_STRING)
				fn(rd, keys->pdata[start + i], r->element[i]->str);
			else
				g_ptr_array_add(nil, keys->pdata[start + i]);
		}
		freeReplyObject(r);
	}
	return nil->len == 0 || warn_not_strings(c, rd->stats, nil, error);
}

static gboolean
parse_int(const char *s, gint64 *out)
{
	return g_ascii_string_to_signed(s, 10, G_MININT64, G_MAXINT64, out, NULL);
}

/* The part of `key` after "<prefix>int_" or "<prefix>ts_"; the caller knows it matches. */
static const char *
key_suffix(const char *key)
{
	const char *p = strrchr(key, ':');
	const char *u = strchr(p ? p : key, '_');

	return u ? u + 1 : key;
}

static void
take_counter(Reader *rd, const char *key, const char *value)
{
	SinkStats *stats = rd->stats;
	const char *name = key_suffix(key);
	gint64 n;

	if (!g_utf8_validate(name, -1, NULL) || *name == '\0')
		g_ptr_array_add(stats->warnings, g_strdup_printf("skipped a counter key with a bad name"));
	else if (!parse_int(value, &n))
		g_ptr_array_add(stats->warnings, g_strdup_printf("skipped %s: \"%.40s\" is not an integer", key, value));
	else
		sink_stats_add_counter(stats, name, n);
}

static void
take_minute(Reader *rd, const char *key, const char *value)
{
	SinkStats *stats = rd->stats;
	gint64 minute, n;

	if (!parse_int(key_suffix(key), &minute) || minute < 0)
		g_ptr_array_add(stats->warnings, g_strdup_printf("skipped %s: not ts_<unix minute>", key));
	else if (!parse_int(value, &n))
		g_ptr_array_add(stats->warnings, g_strdup_printf("skipped %s: \"%.40s\" is not an integer", key, value));
	else if (sink_stats_minute_charted(minute, rd->now))
		sink_stats_add_minute(stats, minute, n);
	else if (rd->left_out++ >= LEFT_OUT_NAMED)
		return;		/* past a few, a flood of them is only counted (sink_stats_read) */
	else if (minute > g_date_time_to_unix(rd->now))	/* named, so that it can be found and deleted */
		g_ptr_array_add(stats->warnings, g_strdup_printf("left %s out of the chart: more than a day ahead "
								 "of now (not a unix minute in seconds?)", key));
	else
		g_ptr_array_add(stats->warnings, g_strdup_printf("left %s out of the chart: more than %d days old "
								 "(--prune deletes it)", key, SINK_STATS_TS_KEEP_DAYS + 1));
}

/* The key names after the prefix hold no ':' of their own (int_x, ts_n), which key_suffix relies on. */
static gboolean
read_family(redisContext *c, Reader *rd, const char *prefix, const char *family, ValueFunc fn, GError **error)
{
	g_autofree char *escaped = sink_stats_glob_escape(prefix);
	g_autofree char *pattern = g_strconcat(escaped, family, "*", NULL);
	g_autoptr(GPtrArray) keys = scan_keys(c, pattern, error);
	g_autoptr(GPtrArray) plain = g_ptr_array_new();
	gsize plen = strlen(prefix);

	if (keys == NULL)
		return FALSE;
	/* "<prefix>int_a:b" would be some other tool's key: leave it out */
	for (guint i = 0; i < keys->len; i++)
		if (strchr((const char *)keys->pdata[i] + plen, ':') == NULL)
			g_ptr_array_add(plain, keys->pdata[i]);
	return read_values(c, rd, plain, fn, error);
}

SinkStats *
sink_stats_read(redisContext *c, const char *prefix, const char *results_key, GDateTime *now, GError **error)
{
	g_autoptr(SinkStats) stats = sink_stats_new(results_key);
	g_autofree char *started_key = g_strconcat(prefix, "startedRunning", NULL);
	const char *argv[] = { "GET", started_key };
	redisReply *r = redisCommandArgv(c, G_N_ELEMENTS(argv), argv, NULL);
	Reader rd = { stats, now, 0 };

	/* a startedRunning that is not a string must not hide every counter: name it and go on as if unset */
	if (r && r->type == REDIS_REPLY_ERROR && g_str_has_prefix(r->str, "WRONGTYPE")) {
		g_ptr_array_add(stats->warnings, g_strdup_printf("%s: %s; shown as not started", started_key, r->str));
		freeReplyObject(r);
	} else if (reply_failed(c, r, "GET", error)) {
		return NULL;
	} else {
		if (r->type == REDIS_REPLY_STRING && g_utf8_validate(r->str, (gssize)r->len, NULL))
			stats->started_running = g_strndup(r->str, r->len);
		else if (r->type == REDIS_REPLY_STRING)
			g_ptr_array_add(stats->warnings, g_strdup_printf("%s: not UTF-8; shown as not started",
									 started_key));
		freeReplyObject(r);
	}
	if (!read_family(c, &rd, prefix, "int_", take_counter, error) ||
	    !read_family(c, &rd, prefix, "ts_", take_minute, error))
		return NULL;
	if (rd.left_out > LEFT_OUT_NAMED)
		g_ptr_array_add(stats->warnings, g_strdup_printf("left %u more ts_ keys out of the chart",
								 rd.left_out - LEFT_OUT_NAMED));
	sink_stats_sort(stats);
	return g_steal_pointer(&stats);
}

gboolean
sink_stats_minute_charted(gint64 minute, GDateTime *now)
{
	gint64 t = g_date_time_to_unix(now);	/* GDateTime keeps it within years 1..9999: no overflow below */

	return minute >= t - CHART_PAST && minute <= t + CHART_AHEAD;
}

gboolean
sink_stats_ts_expired(gint64 minute, GDateTime *now)
{
	return minute < g_date_time_to_unix(now) - (gint64)SINK_STATS_TS_KEEP_DAYS * 86400;
}

gboolean
sink_stats_prune(redisContext *c, const char *prefix, GDateTime *now, guint *deleted, GError **error)
{
	g_autofree char *escaped = sink_stats_glob_escape(prefix);
	g_autofree char *pattern = g_strconcat(escaped, "ts_*", NULL);
	g_autoptr(GPtrArray) keys = scan_keys(c, pattern, error);
	g_autoptr(GPtrArray) old = g_ptr_array_new();
	gsize plen = strlen(prefix);
	guint done = 0;

	if (deleted)
		*deleted = 0;
	if (keys == NULL)
		return FALSE;
	for (guint i = 0; i < keys->len; i++) {
		const char *minute_text = (const char *)keys->pdata[i] + plen + 3;
		gint64 minute;
		if (parse_int(minute_text, &minute) && sink_stats_ts_expired(minute, now))
			g_ptr_array_add(old, keys->pdata[i]);
	}
	for (guint start = 0; start < old->len; start += MGET_BATCH) {
		guint n = MIN(MGET_BATCH, old->len - start);
		redisReply *r = command_keys(c, "DEL", old, start, n);
		if (reply_failed(c, r, "DEL", error))
			return FALSE;
		if (r->type == REDIS_REPLY_INTEGER)
			done += (guint)r->integer;
		freeReplyObject(r);
		if (deleted)
			*deleted = done;
	}
	return TRUE;
}

/* ---- JSON ----------------------------------------------------------------------------------------------- */


char *
sink_stats_json(const SinkStats *stats)
{
	GString *out = g_string_new("{\"startedRunning\": ");

	sink_json_string(out, stats->started_running ? stats->started_running : SINK_STATS_NOT_STARTED);
	for (guint i = 0; i < stats->counters->len; i++) {
		const SinkCounter *c = &g_array_index(stats->counters, SinkCounter, i);
		if (strcmp(c->name, "startedRunning") == 0)
			continue;	/* a stray int_startedRunning must not make a duplicate key */
		g_string_append(out, ", ");
		sink_json_string(out, c->name);
		g_string_append_printf(out, ": %" G_GINT64_FORMAT, c->value);
	}
	g_string_append(out, "}\n");
	return g_string_free(out, FALSE);
}

/* ---- Prometheus ----------------------------------------------------------------------------------------- */

#define METRIC_MESSAGES "bouncy_sink_messages_total"
#define METRIC_EVENTS "bouncy_sink_events_total"
#define METRIC_STARTED "bouncy_sink_started_timestamp_seconds"

/* A label value: backslash, double quote and newline escaped. */
static void
prom_label(GString *out, const char *name, const char *value)
{
	g_string_append_printf(out, "%s=\"", name);
	for (const char *p = value; *p; p++) {
		if (*p == '\\')
			g_string_append(out, "\\\\");
		else if (*p == '"')
			g_string_append(out, "\\\"");
		else if (*p == '\n')
			g_string_append(out, "\\n");
		else
			g_string_append_c(out, *p);
	}
	g_string_append_c(out, '"');
}

static void
prom_family(GString *out, const char *name, const char *type, const char *help)
{
	g_string_append_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The started time as Unix seconds, or -1 when unset or unreadable. */
static gint64
started_unix(const SinkStats *stats)
{
	g_autoptr(GTimeZone) utc = g_time_zone_new_utc();
	g_autoptr(GDateTime) t = NULL;

	if (stats->started_running == NULL)
		return -1;
	t = g_date_time_new_from_iso8601(stats->started_running, utc);
	return t ? g_date_time_to_unix(t) : -1;
}

char *
sink_stats_prometheus(const SinkStats *stats)
{
	GString *out = g_string_new(NULL);
	GString *key = g_string_new(NULL);
	gint64 total = 0, started = started_unix(stats);
	gboolean events = FALSE;

	prom_label(key, "results_key", stats->results_key);
	for (guint i = 0; i < stats->counters->len; i++) {
		const SinkCounter *c = &g_array_index(stats->counters, SinkCounter, i);
		if (strcmp(c->name, "total_messages") == 0)
			total = c->value;
		else
			events = TRUE;
	}
	prom_family(out, METRIC_MESSAGES, "counter",
		    "Messages counted by sink-filter (Redis int_total_messages).");
	g_string_append_printf(out, METRIC_MESSAGES "{%s} %" G_GINT64_FORMAT "\n", key->str, total);
	if (events) {
		prom_family(out, METRIC_EVENTS, "counter",
			    "Outcomes and actions counted by sink-filter, one series per Redis int_<event> counter.");
		for (guint i = 0; i < stats->counters->len; i++) {
			const SinkCounter *c = &g_array_index(stats->counters, SinkCounter, i);
			if (strcmp(c->name, "total_messages") == 0)
				continue;
			g_string_append_printf(out, METRIC_EVENTS "{%s,", key->str);
			prom_label(out, "event", c->name);
			g_string_append_printf(out, "} %" G_GINT64_FORMAT "\n", c->value);
		}
	}
	if (started >= 0) {
		prom_family(out, METRIC_STARTED, "gauge",
			    "When the counters started (Redis startedRunning), in seconds since the Unix epoch.");
		g_string_append_printf(out, METRIC_STARTED "{%s} %" G_GINT64_FORMAT "\n", key->str, started);
	}
	g_string_free(key, TRUE);
	return g_string_free(out, FALSE);
}

/* ---- HTML ----------------------------------------------------------------------------------------------- */

/* Chart geometry, in SVG user units. */
#define SVG_W 960.0
#define SVG_H 340.0
#define PLOT_L 70.0
#define PLOT_R 20.0
#define PLOT_T 20.0
#define PLOT_B 60.0
#define MIN_SPAN 3600		/* the x axis shows at least an hour */
#define MAX_X_TICKS 16		/* x_step aims at 9 at most; this bounds the loop whatever the span */

static void
html_text(GString *out, const char *s)
{
	g_autofree char *e = g_markup_escape_text(s, -1);

	g_string_append(out, e);
}

/* A number for an SVG attribute: one decimal, '.' whatever the locale. */
static const char *
num(char buf[G_ASCII_DTOSTR_BUF_SIZE], double v)
{
	return g_ascii_formatd(buf, G_ASCII_DTOSTR_BUF_SIZE, "%.1f", v);
}

/* The highest count the chart's y axis goes to: 10^15 messages in a minute. */
#define CHART_YMAX G_GINT64_CONSTANT(1000000000000000)

/* The y axis' tick step: 1, 2 or 5 times a power of ten, at most 5 steps up to `max`. */
static gint64
y_step(gint64 max)
{
	gint64 step = 1;

	for (;;) {
		static const int mult[] = { 1, 2, 5 };
		for (size_t i = 0; i < G_N_ELEMENTS(mult); i++)
			if (max <= step * mult[i] * 5)
				return step * mult[i];
		step *= 10;
	}
}

/* The x axis' tick step in seconds, at most 8 steps over `span`. */
static gint64
x_step(gint64 span)
{
	static const gint64 steps[] = {
		60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 432000, 864000,
	};

	for (size_t i = 0; i < G_N_ELEMENTS(steps); i++)
		if (span / steps[i] <= 8)
			return steps[i];
	return steps[G_N_ELEMENTS(steps) - 1];
}

static char *
utc_format(gint64 t, const char *fmt)
{
	g_autoptr(GDateTime) d = g_date_time_new_from_unix_utc(t);

	return d ? g_date_time_format(d, fmt) : g_strdup("?");
}

static void
svg_text(GString *out, double x, double y, const char *anchor, const char *extra, const char *text)
{
	char bx[G_ASCII_DTOSTR_BUF_SIZE], by[G_ASCII_DTOSTR_BUF_SIZE];

	g_string_append_printf(out, "<text x=\"%s\" y=\"%s\" text-anchor=\"%s\"%s>", num(bx, x), num(by, y),
			       anchor, extra ? extra : "");
	html_text(out, text);
	g_string_append(out, "</text>\n");
}

static void
svg_line(GString *out, const char *cls, double x1, double y1, double x2, double y2)
{
	char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];
	char c[G_ASCII_DTOSTR_BUF_SIZE], d[G_ASCII_DTOSTR_BUF_SIZE];

	g_string_append_printf(out, "<line class=\"%s\" x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\"/>\n", cls,
			       num(a, x1), num(b, y1), num(c, x2), num(d, y2));
}

/*
 * The inline SVG bar chart: one <rect class="bar"> per ts_ minute.  The
 * minutes are all within sink_stats_minute_charted's window, so t1 cannot
 * overflow and the span is at most some twelve days.
 */
static void
html_chart(GString *out, const GArray *minutes, GDateTime *now)
{
	const double pw = SVG_W - PLOT_L - PLOT_R, ph = SVG_H - PLOT_T - PLOT_B;
	const double base = PLOT_T + ph;
	gint64 t0, t1, ymax = 0, step;
	char bx[G_ASCII_DTOSTR_BUF_SIZE], by[G_ASCII_DTOSTR_BUF_SIZE];
	char bw[G_ASCII_DTOSTR_BUF_SIZE], bh[G_ASCII_DTOSTR_BUF_SIZE];

	if (minutes->len > 0) {
		t0 = g_array_index(minutes, SinkMinute, 0).minute;
		t1 = g_array_index(minutes, SinkMinute, minutes->len - 1).minute + 60;
	} else {
		t1 = g_date_time_to_unix(now) / 60 * 60 + 60;
		t0 = t1;
	}
	if (t1 - t0 < MIN_SPAN)
		t0 = t1 - MIN_SPAN;
	for (guint i = 0; i < minutes->len; i++)
		ymax = MAX(ymax, g_array_index(minutes, SinkMinute, i).messages);
	/* a count no minute could hold (a stray SET) is drawn off the top,
	 * not followed into the axis' arithmetic, which would overflow */
	ymax = MIN(ymax, CHART_YMAX);
	step = y_step(MAX(ymax, 1));
	ymax = (MAX(ymax, 1) + step - 1) / step * step;

	g_string_append_printf(out, "<svg class=\"chart\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
			       "aria-labelledby=\"chart-title\">\n<title id=\"chart-title\">Messages per minute</title>\n",
			       SVG_W, SVG_H);

	/* y grid, ticks and labels */
	for (gint64 v = 0; v <= ymax; v += step) {
		double y = base - ph * (double)v / (double)ymax;
		char label[32];
		svg_line(out, v ? "grid" : "axis", PLOT_L, y, PLOT_L + pw, y);
		g_snprintf(label, sizeof label, "%" G_GINT64_FORMAT, v);
		svg_text(out, PLOT_L - 8, y + 4, "end", NULL, label);
	}
	svg_line(out, "axis", PLOT_L, PLOT_T, PLOT_L, base);

	/* x ticks on round UTC times, counted before drawing so that no span can make the loop run away */
	gint64 span = t1 - t0, xs = x_step(span);
	gint64 first = (t0 + xs - 1) / xs * xs;
	gint64 ticks = first > t1 ? 0 : MIN((t1 - first) / xs + 1, MAX_X_TICKS);
	const char *fmt = span <= 86400 ? "%H:%M" : xs >= 86400 ? "%m-%d" : "%m-%d %H:%M";
	for (gint64 i = 0; i < ticks; i++) {
		gint64 t = first + i * xs;
		double x = PLOT_L + pw * (double)(t - t0) / (double)span;
		g_autofree char *label = utc_format(t, fmt);
		svg_line(out, "axis", x, base, x, base + 5);
		svg_text(out, x, base + 20, "middle", NULL, label);
	}

	/* axis titles */
	{
		g_autofree char *from = utc_format(t0, "%Y-%m-%d %H:%M");
		g_autofree char *to = utc_format(t1, "%Y-%m-%d %H:%M");
		g_autofree char *title = g_strdup_printf("time (UTC), %s to %s", from, to);
		svg_text(out, PLOT_L + pw / 2, SVG_H - 12, "middle", " class=\"axis-title\"", title);
		g_autofree char *rot = g_strdup_printf(" class=\"axis-title\" transform=\"rotate(-90 16 %s)\"",
						       num(by, PLOT_T + ph / 2));
		svg_text(out, 16, PLOT_T + ph / 2, "middle", rot, "messages per minute");
	}

	/* the bars: at least one unit wide so that a ten-day window still shows */
	double w = pw * 60.0 / (double)span;
	double bar_w = w >= 3 ? w * 0.8 : MAX(w, 1.0);
	g_string_append(out, "<g class=\"bars\">\n");
	for (guint i = 0; i < minutes->len; i++) {
		const SinkMinute *m = &g_array_index(minutes, SinkMinute, i);
		double x = PLOT_L + pw * (double)(m->minute - t0) / (double)span + (w - bar_w) / 2;
		x = CLAMP(x, PLOT_L, PLOT_L + pw - bar_w);
		double h = ph * (double)CLAMP(m->messages, 0, ymax) / (double)ymax;
		g_autofree char *when = utc_format(m->minute, "%Y-%m-%d %H:%M");
		g_string_append_printf(out, "<rect class=\"bar\" x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\">"
				       "<title>%s UTC: %" G_GINT64_FORMAT " messages</title></rect>\n",
				       num(bx, x), num(by, base - h), num(bw, bar_w), num(bh, h), when, m->messages);
	}
	g_string_append(out, "</g>\n");
	if (minutes->len == 0)
		svg_text(out, PLOT_L + pw / 2, PLOT_T + ph / 2, "middle", " class=\"empty\"",
			 "no messages counted in the kept window");
	g_string_append(out, "</svg>\n");
}

static const char html_style[] =
	"body{font-family:system-ui,-apple-system,\"Segoe UI\",sans-serif;margin:2em auto;max-width:1000px;"
	"padding:0 1em;color:#1d2330;background:#fff}\n"
	"h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.6em}\n"
	".meta{color:#566;margin-top:0}\n"
	"svg.chart{width:100%;height:auto;border:1px solid #dde;background:#fbfcfe}\n"
	"svg .bar{fill:#2f6fd0}svg .bar:hover{fill:#e06a1b}\n"
	"svg .axis{stroke:#333;stroke-width:1}svg .grid{stroke:#dde;stroke-width:1}\n"
	"svg text{font-size:12px;fill:#333}svg .axis-title{font-size:13px;font-weight:600}\n"
	"svg .empty{fill:#888;font-style:italic}\n"
	"table{border-collapse:collapse;min-width:22em}th,td{padding:.3em .8em;border-bottom:1px solid #e3e6ec}\n"
	"th{text-align:left;background:#f1f3f7}td.n{text-align:right;font-variant-numeric:tabular-nums}\n";

char *
sink_stats_html(const SinkStats *stats, GDateTime *now)
{
	GString *out = g_string_new(NULL);
	g_autofree char *generated = g_date_time_format(now, "%Y-%m-%d %H:%M:%S UTC");
	g_autoptr(GArray) minutes = g_array_new(FALSE, FALSE, sizeof(SinkMinute));
	gint64 sum = 0, peak = 0, peak_at = 0;

	/* sink_stats_read already left stray minutes out (and said so); a hand-built SinkStats may not have */
	for (guint i = 0; i < stats->minutes->len; i++) {
		const SinkMinute *m = &g_array_index(stats->minutes, SinkMinute, i);
		if (!sink_stats_minute_charted(m->minute, now))
			continue;
		g_array_append_val(minutes, *m);
		sum = m->messages > 0 && sum > G_MAXINT64 - m->messages ? G_MAXINT64 : sum + MAX(m->messages, 0);
		if (m->messages > peak)
			peak = m->messages, peak_at = m->minute;
	}

	g_string_append(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
			"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
	g_string_append(out, "bouncy-sink statistics, results key ");
	html_text(out, stats->results_key);
	g_string_append_printf(out, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>bouncy-sink statistics</h1>\n"
			       "<p class=\"meta\">Results key <b>", html_style);
	html_text(out, stats->results_key);
	g_string_append(out, "</b>; counting since <b>");
	html_text(out, stats->started_running ? stats->started_running : SINK_STATS_NOT_STARTED);
	g_string_append_printf(out, "</b>; generated %s.</p>\n", generated);

	g_string_append(out, "<h2>Messages per minute</h2>\n<p class=\"meta\">");
	if (minutes->len) {
		g_autofree char *at = utc_format(peak_at, "%Y-%m-%d %H:%M");
		g_string_append_printf(out, "%u minutes with traffic in the kept window, %" G_GINT64_FORMAT
				       " messages, busiest minute %s UTC with %" G_GINT64_FORMAT ".",
				       minutes->len, sum, at, peak);
	} else {
		g_string_append(out, "No per-minute counts in the kept window.");
	}
	g_string_append(out, "</p>\n");
	html_chart(out, minutes, now);

	g_string_append(out, "<h2>Counters</h2>\n<table class=\"counters\">\n<thead><tr><th>counter</th>"
			"<th>value</th></tr></thead>\n<tbody>\n");
	for (guint i = 0; i < stats->counters->len; i++) {
		const SinkCounter *c = &g_array_index(stats->counters, SinkCounter, i);
		g_string_append(out, "<tr><td>");
		html_text(out, c->name);
		g_string_append_printf(out, "</td><td class=\"n\">%" G_GINT64_FORMAT "</td></tr>\n", c->value);
	}
	if (stats->counters->len == 0)
		g_string_append(out, "<tr><td colspan=\"2\">no counters yet</td></tr>\n");
	g_string_append(out, "</tbody>\n</table>\n</body>\n</html>\n");
	return g_string_free(out, FALSE);
}

/* ---- files ---------------------------------------------------------------------------------------------- */

gboolean
sink_stats_write_file(const char *path, const char *data, GError **error)
{
	return g_file_set_contents_full(path, data, -1,
					G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0644, error);
}
