/*
 * duration.c - step names and the durations of the <Step>_Delay keys
 * (duration.h).
 */
#include <string.h>

#include "duration.h"

static const char *const step_names[SINK_STEPS] = {
	[SINK_STEP_OPEN] = "open",
	[SINK_STEP_CLICK] = "click",
	[SINK_STEP_OOB] = "oob",
	[SINK_STEP_FBL] = "fbl",
	[SINK_STEP_UNSUBSCRIBE] = "unsubscribe",
	[SINK_STEP_AUTOREPLY] = "autoreply",
};

const char *
sink_step_name(SinkStep step)
{
	return (unsigned)step < SINK_STEPS ? step_names[step] : NULL;
}

SinkStep
sink_step_named(const char *name)
{
	for (int i = 0; i < SINK_STEPS; i++)
		if (name && g_ascii_strcasecmp(name, step_names[i]) == 0)
			return (SinkStep)i;
	return SINK_STEPS;
}

gboolean
sink_duration_parse(const char *text, gint64 max, gint64 *seconds)
{
	g_autofree char *s = g_strstrip(g_strdup(text));
	const char *p = s;
	gint64 total = 0;
	gboolean unitless = TRUE;

	if (*p == '\0')
		return FALSE;
	while (*p) {
		gint64 n = 0, unit = 1;

		if (!g_ascii_isdigit(*p))
			return FALSE;
		for (; g_ascii_isdigit(*p); p++)
			if ((n = n * 10 + (*p - '0')) > max)
				return FALSE;
		switch (g_ascii_tolower(*p)) {
		case '\0':
			if (!unitless)	/* "1h30": a bare number only alone */
				return FALSE;
			break;
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		default: return FALSE;
		}
		if (*p)
			p++, unitless = FALSE;
		if (n > max / unit || (total += n * unit) > max)
			return FALSE;
		if (unitless)	/* a number alone */
			break;
	}
	*seconds = total;
	return TRUE;
}

gboolean
sink_delay_range_parse(const char *text, SinkDelayRange *range, char **why)
{
	g_auto(GStrv) parts = g_strsplit(text, "-", -1);
	guint n = g_strv_length(parts);
	g_autofree char *max_text = NULL;

	if (n == 0 || n > 2) {
		*why = g_strdup("must be a duration (30s, 10m, 6h, 1d) or a range MIN-MAX");
		return FALSE;
	}
	for (guint i = 0; i < n; i++) {
		gint64 *out = i == 0 ? &range->min : &range->max;
		if (!sink_duration_parse(parts[i], SINK_DELAY_MAX, out)) {
			max_text = g_strdup_printf("%dd", SINK_DELAY_MAX / 86400);
			*why = g_strdup_printf("\"%s\" is not a duration of at most %s (such as 30s, 10m, 6h, 1d)",
					       g_strstrip(parts[i]), max_text);
			return FALSE;
		}
	}
	if (n == 1)
		range->max = range->min;
	if (range->max < range->min) {
		*why = g_strdup("the range's MIN is larger than its MAX");
		return FALSE;
	}
	return TRUE;
}
