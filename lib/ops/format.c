/*
 * format.c - the counters as text: the original's /json and
 * /json/ts-messages shapes (its dashboards and scripts read them
 * unchanged), and Prometheus text exposition format 0.0.4.
 */
#include <string.h>

#include "format.h"
#include "record.h"

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

char *
sink_stats_ts_json(const SinkStats *stats)
{
	GString *out = g_string_new("[");
	guint n = 0;

	/* the minutes are sorted, so equal rounded times are neighbours */
	for (guint i = 0; i < stats->minutes->len;) {
		const SinkMinute *m = &g_array_index(stats->minutes, SinkMinute, i);
		gint64 minute = m->minute - m->minute % 60, messages = 0;
		for (; i < stats->minutes->len; i++) {
			const SinkMinute *o = &g_array_index(stats->minutes, SinkMinute, i);
			if (o->minute - o->minute % 60 != minute)
				break;
			messages = o->messages > 0 && messages > G_MAXINT64 - o->messages ? G_MAXINT64
											     : messages + o->messages;
		}
		g_autoptr(GDateTime) t = g_date_time_new_from_unix_utc(minute);
		g_autofree char *when = t ? g_date_time_format(t, "%Y-%m-%dT%H:%M:%S+00:00") : NULL;
		if (when == NULL)
			continue;
		g_string_append_printf(out, "%s{\"time\": \"%s\", \"messages\": %" G_GINT64_FORMAT "}",
				       n++ ? ", " : "", when, messages);
	}
	g_string_append(out, "]\n");
	return g_string_free(out, FALSE);
}

/* ---- Prometheus ----------------------------------------------------------------------------------------- */

#define METRIC_MESSAGES "bouncy_sink_messages_total"
#define METRIC_EVENTS "bouncy_sink_events_total"
#define METRIC_STARTED "bouncy_sink_started_timestamp_seconds"
#define METRIC_JOBS "bouncy_sink_delay_jobs"
#define METRIC_LAG "bouncy_sink_delay_due_lag_seconds"

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
	if (stats->queue_used) {
		prom_family(out, METRIC_JOBS, "gauge",
			    "Delayed steps' jobs in the Redis queue: waiting for their due time, or claimed by a worker.");
		g_string_append_printf(out, METRIC_JOBS "{%s,state=\"waiting\"} %" G_GINT64_FORMAT "\n", key->str,
				       stats->jobs_waiting);
		g_string_append_printf(out, METRIC_JOBS "{%s,state=\"running\"} %" G_GINT64_FORMAT "\n", key->str,
				       stats->jobs_running);
		prom_family(out, METRIC_LAG, "gauge",
			    "How long the oldest due job has waited past its due time, in seconds (0: none is late).");
		g_string_append_printf(out, METRIC_LAG "{%s} %.3f\n", key->str, stats->due_lag_ms / 1000.0);
	}
	if (started >= 0) {
		prom_family(out, METRIC_STARTED, "gauge",
			    "When the counters started (Redis startedRunning), in seconds since the Unix epoch.");
		g_string_append_printf(out, METRIC_STARTED "{%s} %" G_GINT64_FORMAT "\n", key->str, started);
	}
	g_string_free(key, TRUE);
	return g_string_free(out, FALSE);
}

