/*
 * chart.c - the dashboard's two charts, inline SVG: messages per minute
 * (a bar per ts_ minute over the kept window) and the outcomes of the
 * last day (a line per outcome, a point per 5 minutes of tso_ fields).
 *
 * Design: every number that reaches the drawing is bounded first (a count
 * no minute could hold, a time far away) so that no stray key can make
 * the axes' arithmetic overflow or their loops run away; the axes'
 * titles are in an HTML caption under the chart, where they wrap.
 */
#include <string.h>

#include "chart.h"
#include "shares.h"

/* Chart geometry, in SVG user units (the axes' titles are in the caption below, in HTML, where they wrap). */
#define SVG_W 960.0
#define SVG_H 320.0
#define PLOT_L 72.0
#define PLOT_R 16.0
#define PLOT_T 18.0
#define PLOT_B 42.0
#define MIN_SPAN 3600		/* the x axis shows at least an hour */
#define MAX_X_TICKS 16		/* x_step aims at 9 at most; this bounds the loop whatever the span */

/* The outcome chart: the tso_ day in buckets of this many minutes. */
#define BUCKET_MINUTES 5
#define BUCKETS (SINK_STATS_OUTCOME_MINUTES / BUCKET_MINUTES)
/* Series drawn in a colour of their own; more share the last colour. */
#define SERIES_COLOURS 8

/* The highest count the charts' y axis goes to: 10^15 messages. */
#define CHART_YMAX G_GINT64_CONSTANT(1000000000000000)

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

static gint64
add_sat(gint64 a, gint64 b)
{
	return b > 0 && a > G_MAXINT64 - b ? G_MAXINT64 : a + MAX(b, 0);
}

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

/* A chart's frame: the y axis from 0 to ymax (after chart_ymax), its grid, UTC times t0..t1 on x, the titles. */
typedef struct {
	gint64 t0, t1;		/* the x axis' span, unix times */
	gint64 ymax;		/* the y axis' top */
} Frame;

#define PLOT_W (SVG_W - PLOT_L - PLOT_R)
#define PLOT_H (SVG_H - PLOT_T - PLOT_B)
#define BASE (PLOT_T + PLOT_H)

/* The y axis' top for the largest value `max`: a count no minute could hold (a stray SET) is drawn off the
 * top, not followed into the axis' arithmetic, which would overflow. */
static gint64
chart_ymax(gint64 max)
{
	gint64 step;

	max = MAX(MIN(max, CHART_YMAX), 1);
	step = y_step(max);
	return (max + step - 1) / step * step;
}

static double
frame_x(const Frame *f, gint64 t)
{
	return PLOT_L + PLOT_W * (double)(t - f->t0) / (double)(f->t1 - f->t0);
}

static double
frame_y(const Frame *f, gint64 v)
{
	return BASE - PLOT_H * (double)CLAMP(v, 0, f->ymax) / (double)f->ymax;
}

/* A y axis label: "950", "12k", "3M". */
static void
y_label(char *buf, gsize size, gint64 v)
{
	if (v >= 10000000 && v % 1000000 == 0)
		g_snprintf(buf, size, "%" G_GINT64_FORMAT "M", v / 1000000);
	else if (v >= 10000 && v % 1000 == 0)
		g_snprintf(buf, size, "%" G_GINT64_FORMAT "k", v / 1000);
	else
		g_snprintf(buf, size, "%" G_GINT64_FORMAT, v);
}

static void
chart_open(GString *out, const Frame *f, const char *cls, const char *id, const char *title)
{
	gint64 step = y_step(f->ymax);

	g_string_append_printf(out, "<svg class=\"chart %s\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
			       "aria-labelledby=\"%s\">\n<title id=\"%s\">", cls, SVG_W, SVG_H, id, id);
	html_text(out, title);
	g_string_append(out, "</title>\n");

	/* y grid, ticks and labels */
	for (gint64 v = 0; v <= f->ymax; v += step) {
		double y = frame_y(f, v);
		char label[32];
		svg_line(out, v ? "grid" : "axis", PLOT_L, y, PLOT_L + PLOT_W, y);
		y_label(label, sizeof label, v);
		svg_text(out, PLOT_L - 8, y + 4, "end", NULL, label);
	}
	svg_line(out, "axis", PLOT_L, PLOT_T, PLOT_L, BASE);

	/* x ticks on round UTC times, counted before drawing so that no span can make the loop run away;
	 * every other label is "odd", left out at phone width where the labels are larger */
	gint64 span = f->t1 - f->t0, xs = x_step(span);
	gint64 first = (f->t0 + xs - 1) / xs * xs;
	gint64 ticks = first > f->t1 ? 0 : MIN((f->t1 - first) / xs + 1, MAX_X_TICKS);
	const char *fmt = span <= 86400 ? "%H:%M" : xs >= 86400 ? "%m-%d" : "%m-%d %H:%M";
	for (gint64 i = 0; i < ticks; i++) {
		gint64 t = first + i * xs;
		double x = frame_x(f, t);
		g_autofree char *label = utc_format(t, fmt);
		svg_line(out, "axis", x, BASE, x, BASE + 5);
		svg_text(out, x, BASE + 24, "middle", i % 2 ? " class=\"odd\"" : NULL, label);
	}
}

/* The caption under a chart: what its axes are. */
static void
chart_caption(GString *out, const Frame *f, const char *y_title)
{
	g_autofree char *from = utc_format(f->t0, "%Y-%m-%d %H:%M");
	g_autofree char *to = utc_format(f->t1, "%Y-%m-%d %H:%M");

	g_string_append(out, "<p class=\"caption\">");
	html_text(out, y_title);
	g_string_append_printf(out, "; time (UTC), %s to %s</p>\n", from, to);
}

/*
 * The messages-per-minute bar chart: one <rect class="bar"> per ts_
 * minute.  The minutes are all within sink_stats_minute_charted's window,
 * so t1 cannot overflow and the span is at most some twelve days.
 */
void
sink_chart_minutes(GString *out, const GArray *minutes, GDateTime *now)
{
	char bx[G_ASCII_DTOSTR_BUF_SIZE], by[G_ASCII_DTOSTR_BUF_SIZE];
	char bw[G_ASCII_DTOSTR_BUF_SIZE], bh[G_ASCII_DTOSTR_BUF_SIZE];
	Frame f;
	gint64 max = 0;

	if (minutes->len > 0) {
		f.t0 = g_array_index(minutes, SinkMinute, 0).minute;
		f.t1 = g_array_index(minutes, SinkMinute, minutes->len - 1).minute + 60;
	} else {
		f.t1 = g_date_time_to_unix(now) / 60 * 60 + 60;
		f.t0 = f.t1;
	}
	if (f.t1 - f.t0 < MIN_SPAN)
		f.t0 = f.t1 - MIN_SPAN;
	for (guint i = 0; i < minutes->len; i++)
		max = MAX(max, g_array_index(minutes, SinkMinute, i).messages);
	f.ymax = chart_ymax(max);
	chart_open(out, &f, "minutes", "chart-title", "Messages per minute");

	/* the bars: at least one unit wide so that a ten-day window still shows */
	double w = PLOT_W * 60.0 / (double)(f.t1 - f.t0);
	double bar_w = w >= 3 ? w * 0.8 : MAX(w, 1.0);
	g_string_append(out, "<g class=\"bars\">\n");
	for (guint i = 0; i < minutes->len; i++) {
		const SinkMinute *m = &g_array_index(minutes, SinkMinute, i);
		double x = CLAMP(frame_x(&f, m->minute) + (w - bar_w) / 2, PLOT_L, PLOT_L + PLOT_W - bar_w);
		double y = frame_y(&f, m->messages);
		g_autofree char *when = utc_format(m->minute, "%Y-%m-%d %H:%M");
		g_string_append_printf(out, "<rect class=\"bar\" x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\">"
				       "<title>%s UTC: %" G_GINT64_FORMAT " messages</title></rect>\n",
				       num(bx, x), num(by, y), num(bw, bar_w), num(bh, BASE - y), when, m->messages);
	}
	g_string_append(out, "</g>\n");
	if (minutes->len == 0)
		svg_text(out, PLOT_L + PLOT_W / 2, PLOT_T + PLOT_H / 2, "middle", " class=\"empty\"",
			 "no messages counted in the kept window");
	g_string_append(out, "</svg>\n");
	chart_caption(out, &f, "bars: messages per minute");
}

/* One line of the outcome chart: its name and a count per bucket. */
typedef struct {
	char *name;
	gint64 *values;		/* BUCKETS */
	gint64 sum;
} Series;

static void
series_free(gpointer p)
{
	Series *s = p;

	g_free(s->name);
	g_free(s->values);
	g_free(s);
}

static Series *
series_get(GPtrArray *series, const char *name)
{
	Series *s;

	for (guint i = 0; i < series->len; i++)
		if (strcmp(((Series *)series->pdata[i])->name, name) == 0)
			return series->pdata[i];
	s = g_new0(Series, 1);
	s->name = g_strdup(name);
	s->values = g_new0(gint64, BUCKETS);
	g_ptr_array_add(series, s);
	return s;
}

/*
 * The series of the outcome chart, from the tso_ fields: one per class
 * (both routes), the model's first and any new one as met, then opens,
 * clicks, and all errors together.
 */
static GPtrArray *
outcome_series(const SinkStats *stats, gint64 start)
{
	static const char *const fixed[] = { "accept", "oob", "fbl", "openclick" };
	GPtrArray *series = g_ptr_array_new_with_free_func(series_free);
	g_autoptr(GPtrArray) tail = g_ptr_array_new_with_free_func(series_free);
	Series *open = g_new0(Series, 1), *click = g_new0(Series, 1), *errors = g_new0(Series, 1);

	open->name = g_strdup("open");
	click->name = g_strdup("click");
	errors->name = g_strdup("errors");
	for (Series **s = (Series *[]){ open, click, errors, NULL }; *s; s++) {
		(*s)->values = g_new0(gint64, BUCKETS);
		g_ptr_array_add(tail, *s);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(fixed); i++)
		series_get(series, fixed[i]);
	for (guint i = 0; i < stats->outcomes->len; i++) {
		const SinkOutcome *o = &g_array_index(stats->outcomes, SinkOutcome, i);
		const char *slash = strchr(o->name, '/');
		gint64 b = (o->minute - start) / 60 / BUCKET_MINUTES;
		Series *s = NULL;

		if (o->minute < start || b >= BUCKETS)
			continue;
		if (slash) {
			g_autofree char *klass = g_strndup(o->name, (gsize)(slash - o->name));
			s = series_get(series, klass);
		} else if (strcmp(o->name, "open") == 0) {
			s = open;
		} else if (strcmp(o->name, "click") == 0) {
			s = click;
		} else if (sink_shares_error_group(o->name)) {
			s = errors;
		}
		if (s) {
			s->values[b] = add_sat(s->values[b], o->count);
			s->sum = add_sat(s->sum, o->count);
		}
	}
	while (tail->len)
		g_ptr_array_add(series, g_ptr_array_steal_index(tail, 0));
	return series;
}

/* The outcome chart: a line per series over the last day, a point per bucket; a legend in HTML (it wraps). */
void
sink_chart_outcomes(GString *out, const SinkStats *stats, GDateTime *now)
{
	gint64 last = g_date_time_to_unix(now) / 60 * 60;
	gint64 start = last - (SINK_STATS_OUTCOME_MINUTES - 1) * 60;
	g_autoptr(GPtrArray) series = outcome_series(stats, start);
	char bx[G_ASCII_DTOSTR_BUF_SIZE], by[G_ASCII_DTOSTR_BUF_SIZE];
	Frame f = { start, last + 60, 0 };
	gint64 max = 0;

	for (guint i = 0; i < series->len; i++)
		for (int b = 0; b < BUCKETS; b++)
			max = MAX(max, ((Series *)series->pdata[i])->values[b]);
	f.ymax = chart_ymax(max);

	g_string_append(out, "<ul class=\"legend\">\n");
	for (guint i = 0; i < series->len; i++) {
		const Series *s = series->pdata[i];
		gboolean step = strcmp(s->name, "open") == 0 || strcmp(s->name, "click") == 0;
		g_string_append_printf(out, "<li><span class=\"key s%u%s\"></span>", MIN(i, SERIES_COLOURS - 1),
				       step ? " step" : "");
		html_text(out, s->name);
		g_string_append_printf(out, " <small>%" G_GINT64_FORMAT "</small></li>\n", s->sum);
	}
	g_string_append(out, "</ul>\n");

	chart_open(out, &f, "outcomes", "outcomes-title", "Outcomes per 5 minutes over the last day");
	for (guint i = 0; i < series->len; i++) {
		const Series *s = series->pdata[i];
		gboolean step = strcmp(s->name, "open") == 0 || strcmp(s->name, "click") == 0;
		g_string_append_printf(out, "<polyline class=\"line s%u%s\" data-series=\"", MIN(i, SERIES_COLOURS - 1),
				       step ? " step" : "");
		html_text(out, s->name);
		g_string_append(out, "\" points=\"");
		/* a run of equal values is drawn by its ends */
		for (int b = 0; b < BUCKETS; b++) {
			gint64 v = s->values[b];
			if (b > 0 && b < BUCKETS - 1 && v == s->values[b - 1] && v == s->values[b + 1])
				continue;
			gint64 t = start + ((gint64)b * BUCKET_MINUTES * 60) + BUCKET_MINUTES * 30;
			g_string_append_printf(out, "%s%s,%s", b ? " " : "", num(bx, frame_x(&f, t)),
					       num(by, frame_y(&f, v)));
		}
		g_string_append(out, "\"><title>");
		html_text(out, s->name);
		g_string_append_printf(out, ": %" G_GINT64_FORMAT " in the last day</title></polyline>\n", s->sum);
	}
	if (max == 0)
		svg_text(out, PLOT_L + PLOT_W / 2, PLOT_T + PLOT_H / 2, "middle", " class=\"empty\"",
			 "no outcomes counted in the last day");
	g_string_append(out, "</svg>\n");
	chart_caption(out, &f, "lines: messages per 5 minutes with each outcome (dashed: steps of openclick "
		      "messages)");
}

