/*
 * plan.h - what the decision chose for one message (SPEC sections 5, 8,
 * 15-19): the class, the rule that chose it, and the details a class or a
 * sender's directive can fix (the reader's repeats, the complaint's
 * Feedback-Type, the persona, the unsubscribe method, a delay), with the
 * notes that say what was asked and could not be done.
 *
 * The plan is what `--dry-run --json` shows a user checking an address
 * before sending to it.  It can hold what this version cannot act on yet
 * (delays): such a plan is recorded as asked and a note says what was left
 * out.  The issues that add that behaviour only have to act on what is
 * here.
 */
#ifndef SINK_PLAN_H
#define SINK_PLAN_H

#include <glib.h>

typedef enum {
	SINK_CLASS_NONE = 0,	/* not decided (bad message, DKIM fail) */
	SINK_CLASS_ACCEPT,
	SINK_CLASS_OOB,
	SINK_CLASS_FBL,
	SINK_CLASS_OPENCLICK,
	SINK_CLASS_UNSUBSCRIBE,	/* SPEC 16: the reader unsubscribes */
	SINK_CLASS_AUTOREPLY,	/* SPEC 17: an RFC 3834 out-of-office reply */
} SinkClass;

/* The rule that chose the class, in SPEC 19's order of precedence. */
typedef enum {
	SINK_ROUTE_NONE = 0,
	SINK_ROUTE_SUBDOMAIN,	/* the first label after the @ */
	SINK_ROUTE_HEADER,	/* X-Bouncy-Sink: */
	SINK_ROUTE_LOCALPART,	/* a keyword before the + */
	SINK_ROUTE_MIX,		/* the statistical model */
} SinkRoute;

/* SPEC 16: how an unsubscribe is made. */
typedef enum {
	SINK_UNSUBSCRIBE_NONE = 0,	/* not an unsubscribe */
	SINK_UNSUBSCRIBE_AUTO,		/* as a mailbox provider tries them */
	SINK_UNSUBSCRIBE_ONE_CLICK,
	SINK_UNSUBSCRIBE_MAILTO,
	SINK_UNSUBSCRIBE_LINK,
} SinkUnsubscribeMethod;

/* At most this many notes are kept in a plan; the rest are only counted. */
#define SINK_PLAN_NOTES_MAX 16

typedef struct {
	SinkClass klass;	/* as chosen */
	guint persona;		/* SinkPersona flags (persona.h): the mailbox's machine traffic, as decided */
	gboolean persona_asked;	/* a directive or keyword named it: mpp, scanner added; human, none */
	int opens;		/* openclick: times the pixels are fetched (the first counts open, the others open_again) */
	int clicks;		/* openclick: times the links are fetched (click, then click_again) */
	gboolean steps_chosen;	/* opens and clicks were asked for, not drawn */
	const char *feedback_type;	/* fbl: the ARF Feedback-Type (a static string); NULL otherwise */
	gboolean feedback_chosen;	/* asked for (X-Bouncy-Sink, a keyword); else the complaint draws it (feedback.h) */
	SinkUnsubscribeMethod unsubscribe;
	gint64 delay;		/* seconds a delay= asked for; -1 when none was */
	GPtrArray *notes;	/* char*: directives refused, capped, overridden or that cannot apply; NULL when none */
	guint notes_dropped;	/* notes past SINK_PLAN_NOTES_MAX */
} SinkPlan;

/* sink_plan_init: an empty plan (no class, no delay, no notes). */
void sink_plan_init(SinkPlan *plan);

/* sink_plan_clear: free what a plan holds and empty it. */
void sink_plan_clear(SinkPlan *plan);

/*
 * sink_plan_note: add a note (printf-style) to the plan, for the log line
 * and the record; past SINK_PLAN_NOTES_MAX it is only counted.
 */
void sink_plan_note(SinkPlan *plan, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* sink_duration_text: seconds as the shortest of "2d", "3h", "10m", "90s".  g_free. */
char *sink_duration_text(gint64 seconds);

/* The names used in the log line and the record; NULL for the _NONE values. */
const char *sink_class_name(SinkClass k);
const char *sink_route_name(SinkRoute r);
const char *sink_unsubscribe_method_name(SinkUnsubscribeMethod m);

#endif
