/*
 * stats-sample.h - the counters and minutes test-stats and test-dashboard
 * both draw from: 12 messages, 3 minutes from T0, started a week before.
 */
#ifndef SINK_TEST_STATS_SAMPLE_H
#define SINK_TEST_STATS_SAMPLE_H

#include "stats.h"

/* 2024-05-07 12:34 UTC */
#define T0 G_GINT64_CONSTANT(1715085240)

static inline SinkStats *
sample(void)
{
	SinkStats *s = sink_stats_new("0");

	s->started_running = g_strdup("2024-05-01T08:00:00+00:00");
	sink_stats_add_counter(s, "total_messages", 12);
	sink_stats_add_counter(s, "accept", 7);
	sink_stats_add_counter(s, "oob_sent", 2);
	sink_stats_add_counter(s, "fail_dkim", 3);
	sink_stats_add_minute(s, T0 + 120, 5);
	sink_stats_add_minute(s, T0, 4);
	sink_stats_add_minute(s, T0 + 60, 3);
	sink_stats_sort(s);
	return s;
}

#endif
