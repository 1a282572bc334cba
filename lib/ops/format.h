/*
 * format.h - the counters as text: the original's JSON shapes and
 * Prometheus text exposition.  Each function takes a plain SinkStats.
 */
#ifndef SINK_FORMAT_H
#define SINK_FORMAT_H

#include "stats.h"

/*
 * sink_stats_json: the original /json shape, one object:
 * {"startedRunning": "...", "<counter>": <integer>, ...}, counters in
 * stats order, ending in a newline: nothing else, so that a script that
 * reads every other key as a counter reads it right (the delay queue's
 * gauges are in the Prometheus text and the HTML only).  g_free.
 */
char *sink_stats_json(const SinkStats *stats);

/*
 * sink_stats_ts_json: the original /json/ts-messages shape, a list sorted
 * by time: [{"time": "2024-05-07T12:34:00+00:00", "messages": 5}, ...],
 * one item per minute of stats->minutes (a time that is not a whole
 * minute rounded down to it, as the original did, and summed with it),
 * ending in a newline.  g_free.
 */
char *sink_stats_ts_json(const SinkStats *stats);

/*
 * sink_stats_prometheus: text exposition format 0.0.4, ending in a newline:
 *   bouncy_sink_messages_total{results_key="0"}           int_total_messages
 *   bouncy_sink_events_total{results_key="0",event="x"}   every other int_x
 *   bouncy_sink_started_timestamp_seconds{results_key="0"} startedRunning
 *                                                          (only when set)
 * each family with # HELP and # TYPE.  g_free.
 */
char *sink_stats_prometheus(const SinkStats *stats);

#endif
