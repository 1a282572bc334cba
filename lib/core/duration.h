/*
 * duration.h - the steps a message can delay (SPEC section 20) and the
 * durations the <Step>_Delay keys give them: "30s", "10m", "1h30m", "6h",
 * "2d", a number alone for seconds; "MIN-MAX" for a range a delay is drawn
 * from, one value for MIN = MAX.  No Redis, no context: config.c reads the
 * keys with it, delay.c (the scheduling) and the worker use the names.
 */
#ifndef SINK_DURATION_H
#define SINK_DURATION_H

#include <glib.h>

/* The longest delay a key may give a step: 30 days. */
#define SINK_DELAY_MAX (30 * 24 * 3600)

/* A step that can wait, each with its <Step>_Delay key (duration.c's table). */
typedef enum {
	SINK_STEP_OPEN,		/* the reader's opens (open, open_again) */
	SINK_STEP_CLICK,	/* the reader's clicks, after the opens */
	SINK_STEP_OOB,
	SINK_STEP_FBL,
	SINK_STEP_UNSUBSCRIBE,
	SINK_STEP_AUTOREPLY,
	SINK_STEPS
} SinkStep;

/* A <Step>_Delay: seconds from min to max, both included; 0-0 = at once. */
typedef struct {
	gint64 min, max;
} SinkDelayRange;

/* sink_step_name: "open", "click", "oob", "fbl", "unsubscribe", "autoreply"; NULL past the table. */
const char *sink_step_name(SinkStep step);

/* sink_step_named: the step of that name (case-insensitive); SINK_STEPS when none. */
SinkStep sink_step_named(const char *name);

/*
 * sink_duration_parse: `text` as seconds: a number alone, or numbers each
 * with a unit s, m, h, d ("1h30m"), any case, white space around ignored.
 * FALSE when it is none or longer than `max` seconds.
 */
gboolean sink_duration_parse(const char *text, gint64 max, gint64 *seconds);

/*
 * sink_delay_range_parse: "MIN-MAX" or one duration (MIN = MAX), each at
 * most SINK_DELAY_MAX.  FALSE with *why (g_free) saying what is wrong.
 */
gboolean sink_delay_range_parse(const char *text, SinkDelayRange *range, char **why);

#endif
