/*
 * shares.h - the mix against its config: for each outcome, the share the
 * config asks for (decide.c's model, for today) beside the share the tso_
 * hashes show over the last hour and the last day; and the errors, in
 * groups, with their share of the messages.  What the dashboard shows
 * first, as numbers: dashboard.c only draws them.
 */
#ifndef SINK_SHARES_H
#define SINK_SHARES_H

#include <glib.h>

#include "decide.h"
#include "stats.h"

/* The windows the shares are observed over: the last hour and the last day (tso_ minutes read). */
enum { SINK_SHARES_HOUR, SINK_SHARES_DAY, SINK_SHARES_WINDOWS };

/* An error counter at least this share of the messages is highlighted. */
#define SINK_SHARES_ERROR_HIGH 0.05

typedef enum {
	SINK_SHARE_NO_DATA,		/* nothing to count it against in the window */
	SINK_SHARE_AS_CONFIGURED,	/* within chance of the configured share */
	SINK_SHARE_OFF,			/* further from it than chance explains */
	SINK_SHARE_NOT_CONFIGURED,	/* seen, but the config has no share for it */
} SinkShareVerdict;

/* `count` out of `of` in a window. */
typedef struct {
	gint64 count, of;
} SinkObserved;

/* One outcome: a class of the mix, or an engagement step given the step before. */
typedef struct {
	char *name;		/* "accept", "oob", "fbl", "unsubscribe", "autoreply", "openclick", a class the model does
				 * not know, or
				 * "open_again", "click", "click_again" */
	const char *of_what;	/* "of the mix", "of opens", "of clicks" */
	double configured;	/* the share the config asks for, 0..1; < 0 when it asks for none */
	SinkObserved seen[SINK_SHARES_WINDOWS];
} SinkShare;

/* One error counter: how often in each window, and since the counters started. */
typedef struct {
	char *name;		/* the counter, e.g. "oob_smtp_error" */
	const char *group;	/* one of sink_shares_error_groups */
	gint64 seen[SINK_SHARES_WINDOWS];
	gint64 total;		/* its int_ counter */
} SinkErrorCount;

typedef struct {
	gboolean configured;	/* a model was given: the configured shares are known */
	GArray *shares;		/* SinkShare: the model's classes, new classes, then the conditionals */
	GArray *errors;		/* SinkErrorCount, by group, then name */
	gint64 messages[SINK_SHARES_WINDOWS];	/* every message (ts_) */
	gint64 mixed[SINK_SHARES_WINDOWS];	/* messages whose class the mix drew */
	gint64 direct[SINK_SHARES_WINDOWS];	/* messages sent to a class's subdomain */
	gint64 messages_total;	/* int_total_messages */
} SinkShares;

/* The error groups, in the order shown; NULL-terminated. */
extern const char *const sink_shares_error_groups[];

/*
 * sink_shares_compute: the shares of `stats` (its minutes, outcomes and
 * counters) in the windows ending at `now`'s minute, against `model`
 * (NULL: the configured shares are unknown).  Free with sink_shares_free.
 */
SinkShares *sink_shares_compute(const SinkStats *stats, const SinkModel *model, GDateTime *now);

/* sink_shares_free: NULL is ok. */
void sink_shares_free(SinkShares *shares);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SinkShares, sink_shares_free)

/*
 * sink_shares_verdict: whether share `s` in window `w` is what the config
 * asks for: off when the count is further from the expected one than
 * three standard deviations of a binomial draw, plus one message.
 */
SinkShareVerdict sink_shares_verdict(const SinkShare *s, int w);

/*
 * sink_shares_class_configured: the share of the mix that class `name`
 * gets from `model`: the draw's order (OOB, FBL, unsubscribe, autoreply,
 * openclick, then accept) with a share past 1 cut to what is left; -1 for a class
 * the model does not draw.
 */
double sink_shares_class_configured(const SinkModel *model, const char *name);

/* sink_shares_error_group: the group of counter `name` when it is an error, else NULL. */
const char *sink_shares_error_group(const char *name);

/* sink_shares_high: TRUE when `count` errors are a large share (SINK_SHARES_ERROR_HIGH) of `messages`. */
gboolean sink_shares_high(gint64 count, gint64 messages);

#endif
