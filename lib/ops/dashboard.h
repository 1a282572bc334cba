/*
 * dashboard.h - sink-stats' HTML page (--html, and / of --serve): is the
 * sink doing what it was configured to do?  The observed share of each
 * outcome beside the configured one, the errors, the messages per minute
 * and the outcomes over the last day, and every counter.
 */
#ifndef SINK_DASHBOARD_H
#define SINK_DASHBOARD_H

#include <glib.h>

#include "decide.h"
#include "stats.h"

/*
 * sink_dashboard_html: one self-contained HTML page (inline CSS and SVG,
 * no script, nothing external; readable at phone width) for `stats` as
 * read with sink_stats_read (SINK_STATS_ALL), at `now` (the
 * time shown as "generated" and the end of the windows).  `model` gives
 * the configured shares; NULL shows them as unknown, with `model_problem`
 * (may be NULL) saying why.  Minutes outside sink_stats_minute_charted's
 * window are left out of the chart silently (sink_stats_read has warned).
 * g_free.
 */
char *sink_dashboard_html(const SinkStats *stats, const SinkModel *model, const char *model_problem,
			  GDateTime *now);

#endif
