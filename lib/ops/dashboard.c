/*
 * dashboard.c - sink-stats' HTML page.
 *
 * Design: the question an operator opens the page with is "is the sink
 * doing what I configured?", so the page opens with the shares
 * (shares.c) in a table, configured beside observed, then the errors in
 * their groups, highlighted when they are a large share of the messages;
 * the charts (chart.c) and the raw counters come after.  Everything is
 * inline (CSS, SVG) and nothing is scripted: the page is served, but also
 * written to a file by cron and opened from mail or a file share, where
 * nothing external can load.  The charts are drawn in a viewBox that
 * scales to the screen; at phone width their text grows (a media query),
 * and the tables take the width, breaking long names after an underscore.
 */
#include <string.h>

#include "chart.h"
#include "dashboard.h"
#include "shares.h"

/* Warnings (keys left out) listed at the foot of the page at most; the rest are counted. */
#define WARNINGS_SHOWN 50

static void
html_text(GString *out, const char *s)
{
	g_autofree char *e = g_markup_escape_text(s, -1);

	g_string_append(out, e);
}

/* A name (a counter's, an outcome's) as text that may break after its underscores at phone width. */
static void
html_name(GString *out, const char *name)
{
	g_autofree char *e = g_markup_escape_text(name, -1);

	for (const char *p = e; *p; p++) {
		g_string_append_c(out, *p);
		if (*p == '_' && p[1])
			g_string_append(out, "<wbr>");
	}
}

/* A share (0..1) as a percentage with three significant digits: "45.3 %", "0.01 %". */
static const char *
percent(char buf[G_ASCII_DTOSTR_BUF_SIZE], double share)
{
	return g_ascii_formatd(buf, G_ASCII_DTOSTR_BUF_SIZE, "%.3g", share * 100);
}

/* A share for a data- attribute: plain, '.' whatever the locale. */
static const char *
share_attr(char buf[G_ASCII_DTOSTR_BUF_SIZE], double share)
{
	return g_ascii_formatd(buf, G_ASCII_DTOSTR_BUF_SIZE, "%.6g", share);
}

static gint64
add_sat(gint64 a, gint64 b)
{
	return b > 0 && a > G_MAXINT64 - b ? G_MAXINT64 : a + MAX(b, 0);
}

/* ---- tables --------------------------------------------------------------------------------------------- */

static const char *const window_names[SINK_SHARES_WINDOWS] = { "hour", "day" };

static void
share_cell(GString *out, const SinkShare *s, int w)
{
	char p[G_ASCII_DTOSTR_BUF_SIZE], a[G_ASCII_DTOSTR_BUF_SIZE];
	const SinkObserved *o = &s->seen[w];
	static const char *const cls[] = {
		[SINK_SHARE_NO_DATA] = "none",
		[SINK_SHARE_AS_CONFIGURED] = "ok",
		[SINK_SHARE_OFF] = "off",
		[SINK_SHARE_NOT_CONFIGURED] = "new",
	};
	static const char *const mark[] = {
		[SINK_SHARE_NO_DATA] = "",
		[SINK_SHARE_AS_CONFIGURED] = "<span class=\"verdict\" title=\"within chance of the configured share\">"
					     "\xe2\x9c\x93</span>",
		[SINK_SHARE_OFF] = "<span class=\"verdict\" title=\"further from the configured share than chance "
				   "explains\">off</span>",
		[SINK_SHARE_NOT_CONFIGURED] = "<span class=\"verdict\" title=\"the config has no share for it\">"
					      "new</span>",
	};
	SinkShareVerdict v = sink_shares_verdict(s, w);

	if (o->of <= 0) {
		g_string_append_printf(out, "<td class=\"n none\" data-window=\"%s\">\xe2\x80\x94</td>", window_names[w]);
		return;
	}
	double share = (double)o->count / (double)o->of;
	g_string_append_printf(out, "<td class=\"n %s\" data-window=\"%s\" data-share=\"%s\" data-count=\"%"
			       G_GINT64_FORMAT "\" data-of=\"%" G_GINT64_FORMAT "\">%s&#8239;%%%s<small>%"
			       G_GINT64_FORMAT " of %" G_GINT64_FORMAT "</small></td>",
			       cls[v], window_names[w], share_attr(a, share), o->count, o->of, percent(p, share),
			       mark[v], o->count, o->of);
}

static void
shares_table(GString *out, const SinkShares *sh, const char *model_problem)
{
	char p[G_ASCII_DTOSTR_BUF_SIZE], a[G_ASCII_DTOSTR_BUF_SIZE];

	g_string_append_printf(out, "<p class=\"meta\">Shares of the messages whose class the mix drew: %"
			       G_GINT64_FORMAT " in the last hour, %" G_GINT64_FORMAT " in the last day.",
			       sh->mixed[SINK_SHARES_HOUR], sh->mixed[SINK_SHARES_DAY]);
	if (sh->direct[SINK_SHARES_HOUR] || sh->direct[SINK_SHARES_DAY])
		g_string_append_printf(out, " Another %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT " were sent to a "
				       "class&#8217;s subdomain (<i>x@oob.&lt;sink domain&gt;</i>): not in these "
				       "shares.", sh->direct[SINK_SHARES_HOUR], sh->direct[SINK_SHARES_DAY]);
	g_string_append(out, " Opens again and clicks are shares of the step before them. "
			"<span class=\"off-key\">off</span> marks a share further from the configured one than "
			"chance explains.</p>\n");
	if (!sh->configured) {
		g_string_append(out, "<p class=\"problem\">The configured shares are unknown: ");
		html_text(out, model_problem ? model_problem : "no config model");
		g_string_append(out, "</p>\n");
	}
	g_string_append(out, "<div class=\"scroll\"><table class=\"shares\">\n<thead><tr><th>outcome</th>"
			"<th>configured</th><th>last hour</th><th>last day</th></tr></thead>\n<tbody>\n");
	for (guint i = 0; i < sh->shares->len; i++) {
		const SinkShare *s = &g_array_index(sh->shares, SinkShare, i);
		gboolean off = sink_shares_verdict(s, SINK_SHARES_HOUR) == SINK_SHARE_OFF ||
			       sink_shares_verdict(s, SINK_SHARES_DAY) == SINK_SHARE_OFF;

		g_string_append(out, "<tr data-outcome=\"");
		html_text(out, s->name);
		g_string_append_printf(out, "\"%s><th scope=\"row\">", off ? " class=\"off\"" : "");
		html_name(out, s->name);
		g_string_append_printf(out, "<small>%s</small></th>", s->of_what);
		if (s->configured >= 0)
			g_string_append_printf(out, "<td class=\"n conf\" data-share=\"%s\">%s&#8239;%%</td>",
					       share_attr(a, s->configured), percent(p, s->configured));
		else
			g_string_append(out, "<td class=\"n conf none\">\xe2\x80\x94</td>");
		share_cell(out, s, SINK_SHARES_HOUR);
		share_cell(out, s, SINK_SHARES_DAY);
		g_string_append(out, "</tr>\n");
	}
	g_string_append(out, "</tbody>\n</table></div>\n");
}

static void
error_cell(GString *out, gint64 count, gint64 messages)
{
	char p[G_ASCII_DTOSTR_BUF_SIZE];

	g_string_append_printf(out, "<td class=\"n%s\">%" G_GINT64_FORMAT, sink_shares_high(count, messages) ?
			       " high" : "", count);
	if (count > 0 && messages > 0)
		g_string_append_printf(out, "<small>%s&#8239;%% of messages</small>",
				       percent(p, (double)count / (double)messages));
	g_string_append(out, "</td>");
}

static void
errors_table(GString *out, const SinkShares *sh)
{
	const char *group = NULL;

	g_string_append_printf(out, "<p class=\"meta\">Counted against every message: %" G_GINT64_FORMAT
			       " in the last hour, %" G_GINT64_FORMAT " in the last day, %" G_GINT64_FORMAT
			       " since the start. A URL not on a tracking host counts once per URL. "
			       "<span class=\"high-key\">Highlighted</span>: %.0f&#8239;%% of the messages or more.</p>\n",
			       sh->messages[SINK_SHARES_HOUR], sh->messages[SINK_SHARES_DAY], sh->messages_total,
			       SINK_SHARES_ERROR_HIGH * 100);
	g_string_append(out, "<div class=\"scroll\"><table class=\"errors\">\n<thead><tr><th>error</th>"
			"<th>last hour</th><th>last day</th><th>since start</th></tr></thead>\n<tbody>\n");
	for (guint i = 0; i < sh->errors->len; i++) {
		const SinkErrorCount *e = &g_array_index(sh->errors, SinkErrorCount, i);
		gboolean high = sink_shares_high(e->seen[SINK_SHARES_HOUR], sh->messages[SINK_SHARES_HOUR]) ||
				sink_shares_high(e->seen[SINK_SHARES_DAY], sh->messages[SINK_SHARES_DAY]) ||
				sink_shares_high(e->total, sh->messages_total);

		if (e->group != group) {
			gint64 sum[SINK_SHARES_WINDOWS] = { 0 }, total = 0;
			group = e->group;
			for (guint j = i; j < sh->errors->len; j++) {
				const SinkErrorCount *g = &g_array_index(sh->errors, SinkErrorCount, j);
				if (g->group != group)
					break;
				for (int w = 0; w < SINK_SHARES_WINDOWS; w++)
					sum[w] = add_sat(sum[w], g->seen[w]);
				total = add_sat(total, g->total);
			}
			g_string_append(out, "<tr class=\"group\"><th scope=\"rowgroup\">");
			html_text(out, group);
			g_string_append(out, "</th>");
			error_cell(out, sum[SINK_SHARES_HOUR], sh->messages[SINK_SHARES_HOUR]);
			error_cell(out, sum[SINK_SHARES_DAY], sh->messages[SINK_SHARES_DAY]);
			error_cell(out, total, sh->messages_total);
			g_string_append(out, "</tr>\n");
		}
		g_string_append(out, "<tr data-error=\"");
		html_text(out, e->name);
		g_string_append_printf(out, "\"%s><th scope=\"row\">", high ? " class=\"high\"" : "");
		html_name(out, e->name);
		g_string_append(out, "</th>");
		error_cell(out, e->seen[SINK_SHARES_HOUR], sh->messages[SINK_SHARES_HOUR]);
		error_cell(out, e->seen[SINK_SHARES_DAY], sh->messages[SINK_SHARES_DAY]);
		error_cell(out, e->total, sh->messages_total);
		g_string_append(out, "</tr>\n");
	}
	if (sh->errors->len == 0)
		g_string_append(out, "<tr><td colspan=\"4\">no errors counted</td></tr>\n");
	g_string_append(out, "</tbody>\n</table></div>\n");
}

static void
counters_table(GString *out, const SinkStats *stats)
{
	g_string_append(out, "<div class=\"scroll\"><table class=\"counters\">\n<thead><tr><th>counter</th>"
			"<th>value</th></tr></thead>\n<tbody>\n");
	for (guint i = 0; i < stats->counters->len; i++) {
		const SinkCounter *c = &g_array_index(stats->counters, SinkCounter, i);
		g_string_append(out, "<tr><td>");
		html_text(out, c->name);
		g_string_append_printf(out, "</td><td class=\"n\">%" G_GINT64_FORMAT "</td></tr>\n", c->value);
	}
	if (stats->counters->len == 0)
		g_string_append(out, "<tr><td colspan=\"2\">no counters yet</td></tr>\n");
	g_string_append(out, "</tbody>\n</table></div>\n");
}

/* The delay queue (SPEC 20): its depth, the oldest due job's lag, and the jobs run, failed and expired. */
static void
queue_table(GString *out, const SinkStats *stats)
{
	static const char *const counted[] = { "jobs_scheduled", "jobs_run", "jobs_failed", "jobs_expired",
					       "jobs_not_delayed" };

	g_string_append(out, "<h2 id=\"queue\">Delayed steps</h2>\n<div class=\"scroll\"><table class=\"counters\">\n"
			"<thead><tr><th>delay queue</th><th>value</th></tr></thead>\n<tbody>\n");
	g_string_append_printf(out, "<tr><td>jobs waiting</td><td class=\"n\">%" G_GINT64_FORMAT "</td></tr>\n"
			       "<tr><td>jobs running</td><td class=\"n\">%" G_GINT64_FORMAT "</td></tr>\n"
			       "<tr><td>oldest due job's lag</td><td class=\"n\">%.1f s</td></tr>\n",
			       stats->jobs_waiting, stats->jobs_running, stats->due_lag_ms / 1000.0);
	for (gsize k = 0; k < G_N_ELEMENTS(counted); k++) {
		gint64 v = 0;
		for (guint i = 0; i < stats->counters->len; i++)
			if (strcmp(g_array_index(stats->counters, SinkCounter, i).name, counted[k]) == 0)
				v = g_array_index(stats->counters, SinkCounter, i).value;
		g_string_append_printf(out, "<tr><td>%s</td><td class=\"n\">%" G_GINT64_FORMAT "</td></tr>\n",
				       counted[k], v);
	}
	g_string_append(out, "</tbody>\n</table></div>\n");
}

/* ---- the page ------------------------------------------------------------------------------------------- */

static const char html_style[] =
	"body{font-family:system-ui,-apple-system,\"Segoe UI\",sans-serif;margin:1.5em auto;max-width:1000px;"
	"padding:0 1em;color:#1d2330;background:#fff;line-height:1.4}\n"
	"h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.8em}\n"
	".meta,.caption{color:#566;margin-top:0}.caption{font-size:.85em;margin-top:.3em}"
	".problem{color:#a11;font-weight:600}\n"
	".scroll{overflow-x:auto}\n"
	"table{border-collapse:collapse;min-width:22em}th,td{padding:.35em .7em;border-bottom:1px solid #e3e6ec;"
	"vertical-align:top}\n"
	"thead th{text-align:left;background:#f1f3f7}tbody th{text-align:left;font-weight:600}\n"
	"td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
	"small{display:block;color:#667;font-weight:400;font-size:.8em}\n"
	"td.conf{color:#334}td.none{color:#99a}\n"
	".verdict{display:inline-block;margin-left:.35em;font-size:.8em;padding:0 .3em;border-radius:3px}\n"
	"td.ok .verdict{color:#17692b}td.off .verdict,.off-key{background:#c62828;color:#fff;padding:0 .3em;"
	"border-radius:3px}td.new .verdict{background:#e8eaf0;color:#334}\n"
	"tr.off th{color:#a11}\n"
	"tr.group th{background:#f7f8fb;font-style:italic}tr.group td{background:#f7f8fb}\n"
	"td.high,.high-key{background:#fde3e1;color:#8c1111;font-weight:600}tr.high th{color:#8c1111}\n"
	"svg.chart{display:block;width:100%;height:auto;border:1px solid #dde;background:#fbfcfe}\n"
	"svg .bar{fill:#2f6fd0}svg .bar:hover{fill:#e06a1b}\n"
	"svg .axis{stroke:#333;stroke-width:1}svg .grid{stroke:#dde;stroke-width:1}\n"
	"svg text{font-size:13px;fill:#333}svg .empty{fill:#888;font-style:italic}\n"
	"svg .line{fill:none;stroke-width:2;stroke-linejoin:round;vector-effect:non-scaling-stroke}svg .line.step{stroke-dasharray:6 3}\n"
	".legend{list-style:none;padding:0;margin:.3em 0;display:flex;flex-wrap:wrap;gap:.2em 1.2em}\n"
	".legend li{white-space:nowrap}.legend small{display:inline;margin-left:.2em}\n"
	".key{display:inline-block;width:1.4em;height:.35em;vertical-align:middle;margin-right:.35em;border-radius:2px}"
	".key.step{height:0;border-top:.3em dashed;background:none!important}\n"
	".s0{stroke:#2f6fd0;background:#2f6fd0;color:#2f6fd0}.s1{stroke:#e06a1b;background:#e06a1b;color:#e06a1b}"
	".s2{stroke:#8e44ad;background:#8e44ad;color:#8e44ad}.s3{stroke:#17a2b8;background:#17a2b8;color:#17a2b8}"
	".s4{stroke:#2e7d32;background:#2e7d32;color:#2e7d32}.s5{stroke:#b8860b;background:#b8860b;color:#b8860b}"
	".s6{stroke:#6d4c41;background:#6d4c41;color:#6d4c41}.s7{stroke:#c62828;background:#c62828;color:#c62828}\n"
	/* at phone width the charts shrink to some 0.4 of their units: larger text, half the time labels;
	 * the tables take the width and wrap long names */
	"@media (max-width:640px){body{margin:.8em auto;padding:0 .5em}"
	"svg text{font-size:30px}svg text.odd{display:none}"
	"table{min-width:0;width:100%;font-size:.9em}th,td{padding:.3em .3em}"
	"tbody th{overflow-wrap:break-word}td.n{white-space:normal}.verdict{margin-left:.2em}}\n";

char *
sink_dashboard_html(const SinkStats *stats, const SinkModel *model, const char *model_problem, GDateTime *now)
{
	GString *out = g_string_new(NULL);
	g_autofree char *generated = g_date_time_format(now, "%Y-%m-%d %H:%M:%S UTC");
	g_autoptr(GArray) minutes = g_array_new(FALSE, FALSE, sizeof(SinkMinute));
	g_autoptr(SinkShares) shares = sink_shares_compute(stats, model, now);
	gint64 sum = 0, peak = 0, peak_at = 0;

	/* sink_stats_read already left stray minutes out (and said so); a hand-built SinkStats may not have */
	for (guint i = 0; i < stats->minutes->len; i++) {
		const SinkMinute *m = &g_array_index(stats->minutes, SinkMinute, i);
		if (!sink_stats_minute_charted(m->minute, now))
			continue;
		g_array_append_val(minutes, *m);
		sum = add_sat(sum, m->messages);
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

	g_string_append(out, "<h2 id=\"mix\">The mix against its config</h2>\n");
	shares_table(out, shares, model_problem);

	g_string_append(out, "<h2 id=\"errors\">Errors</h2>\n");
	errors_table(out, shares);
	if (stats->queue_used)
		queue_table(out, stats);

	g_string_append(out, "<h2 id=\"minutes\">Messages per minute</h2>\n<p class=\"meta\">");
	if (minutes->len) {
		g_autoptr(GDateTime) at_time = g_date_time_new_from_unix_utc(peak_at);
		g_autofree char *at = g_date_time_format(at_time, "%Y-%m-%d %H:%M");
		g_string_append_printf(out, "%u minutes with traffic in the kept window, %" G_GINT64_FORMAT
				       " messages, busiest minute %s UTC with %" G_GINT64_FORMAT ".",
				       minutes->len, sum, at, peak);
	} else {
		g_string_append(out, "No per-minute counts in the kept window.");
	}
	g_string_append(out, "</p>\n");
	sink_chart_minutes(out, minutes, now);

	g_string_append(out, "<h2 id=\"outcomes\">Outcomes over the last day</h2>\n");
	sink_chart_outcomes(out, stats, now);

	g_string_append(out, "<h2 id=\"counters\">Counters</h2>\n");
	counters_table(out, stats);
	if (stats->warnings->len) {	/* what sink-stats prints on stderr, for the page served */
		g_string_append(out, "<h2 id=\"warnings\">Keys left out</h2>\n<ul class=\"warnings\">\n");
		for (guint i = 0; i < MIN(stats->warnings->len, WARNINGS_SHOWN); i++) {
			g_string_append(out, "<li>");
			html_text(out, stats->warnings->pdata[i]);
			g_string_append(out, "</li>\n");
		}
		if (stats->warnings->len > WARNINGS_SHOWN)
			g_string_append_printf(out, "<li>and %u more</li>\n", stats->warnings->len - WARNINGS_SHOWN);
		g_string_append(out, "</ul>\n");
	}
	g_string_append(out, "</body>\n</html>\n");
	return g_string_free(out, FALSE);
}
