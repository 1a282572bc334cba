/*
 * feedback.h - the ARF feedback types a complaint can carry (RFC 5965,
 * RFC 6430) and the choice among them: FBL_Feedback_Types weights, read
 * with the config and drawn per complaint (SPEC section 17).
 */
#ifndef SINK_FEEDBACK_H
#define SINK_FEEDBACK_H

#include <glib.h>

/*
 * The feedback types registered for ARF that a reader's button makes.
 * (auth-failure, RFC 6591, reports a failed authentication check with
 * fields of its own, not a reader's verdict: not one of them.)
 */
typedef enum {
	SINK_FEEDBACK_ABUSE,
	SINK_FEEDBACK_FRAUD,
	SINK_FEEDBACK_VIRUS,
	SINK_FEEDBACK_OTHER,
	SINK_FEEDBACK_NOT_SPAM,
	SINK_FEEDBACK_TYPES	/* how many */
} SinkFeedbackType;

/* One type, and how the complaint tells people about it. */
typedef struct {
	const char *type;	/* the Feedback-Type value */
	const char *title;	/* the Subject's start: "Abuse report" */
	const char *noun;	/* "an email <noun> report" */
	const char *what;	/* what the recipient did, a sentence */
} SinkFeedbackKind;

/* sink_feedback_kind: the type named `type` (as the table spells it), else abuse's. Static. */
const SinkFeedbackKind *sink_feedback_kind(const char *type);

/* sink_feedback_type_named: the type `name` names (any case) as the table spells it (static), else NULL. */
const char *sink_feedback_type_named(const char *name);

/*
 * sink_feedback_weights_parse: "abuse:95,fraud:2,virus:1" into `weights`
 * (one per SinkFeedbackType, those not listed 0).  A type is named as
 * registered (any case), once; a weight is a number 0 or more; at least
 * one must be above 0.  FALSE with *why (g_free) saying what is wrong.
 */
gboolean sink_feedback_weights_parse(const char *value, double weights[SINK_FEEDBACK_TYPES], char **why);

/*
 * sink_feedback_draw: a type drawn from `weights` (which passed the parse)
 * with `rng`; a single type with all the weight is taken without a draw,
 * so that the default (abuse:100) draws nothing.  Static string.
 */
const char *sink_feedback_draw(const double weights[SINK_FEEDBACK_TYPES], GRand *rng);

#endif
