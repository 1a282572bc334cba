/*
 * chart.h - the dashboard's inline SVG charts, each followed by an HTML
 * caption naming its axes.  Nothing external, no script.
 */
#ifndef SINK_CHART_H
#define SINK_CHART_H

#include <glib.h>

#include "stats.h"

/*
 * sink_chart_minutes: append to `out` the bar chart of `minutes`
 * (SinkMinute, sorted, all within sink_stats_minute_charted's window of
 * `now`): one <rect class="bar"> each, with a <title> saying its minute
 * and count.
 */
void sink_chart_minutes(GString *out, const GArray *minutes, GDateTime *now);

/*
 * sink_chart_outcomes: append to `out` a legend and the line chart of the
 * tso_ fields of `stats` over the SINK_STATS_OUTCOME_MINUTES minutes up to
 * `now`'s, in 5-minute buckets: a <polyline data-series="..."> per class
 * (both routes: accept, oob, fbl, openclick, then any other as met), open
 * and click (dashed), and the errors together.
 */
void sink_chart_outcomes(GString *out, const SinkStats *stats, GDateTime *now);

#endif
