/*
 * decide.h - the decision: subdomain routing, the sender's directives and
 * keyword local parts, and the statistical mix.
 *
 * The class comes from, in order (SPEC section 19): the recipient's first
 * domain label; a class the X-Bouncy-Sink header names; a keyword local
 * part; a class the header's other directives need (opens=3: openclick;
 * feedback-type=fraud: fbl), or the one a persona keyword falls back on
 * (accept); the mix.  ctx->route names the rule.  The other details
 * (repeats, feedback type, persona, unsubscribe method, ...) come from the
 * header, else from the keyword, else the config, and fill ctx->plan; what
 * cannot apply is a note there.
 *
 * The mix's probabilities follow from the config and the UTC day; see
 * SPEC sections 5 and 15.  One uniform draw picks OOB, else FBL, else
 * unsubscribe, else autoreply, else openclick, else accept; conditional draws pick
 * open-again, click and click-again, for the mix and the openclick
 * subdomain, unless the sender asked for the steps.  A message with
 * neither header nor keyword is decided, draw for draw, as before either
 * existed (and, with Unsubscribe_percent and Autoreply_percent 0, as
 * before those classes).
 */
#ifndef SINK_DECIDE_H
#define SINK_DECIDE_H

#include "context.h"

typedef struct {
	double oob, fbl, unsubscribe, autoreply, open, open_again, click, click_again;	/* clipped shares */
	double open_again_given_open;
	double click_given_open;
	double click_again_given_click;
	double open_factor;	/* today's Weekly_Cycle_Open_Rate entry */
	double density;		/* Signals active-digit density */
} SinkModel;

/*
 * sink_model_init: compute the model for cfg on the UTC day of `now`.
 * FALSE with `error` (SINK_CONFIG_ERROR_VALUE) when a conditional falls
 * outside [0, 1] or Upstream_Handled leaves no traffic.
 */
gboolean sink_model_init(SinkModel *m, const SinkConfig *cfg, GDateTime *now, GError **error);

/*
 * sink_route_class: the class a recipient's first domain label names
 * ("accept", "oob", "fbl", "openclick", "unsubscribe", "autoreply" or
 * "ooto", any case), or
 * SINK_CLASS_NONE.
 */
SinkClass sink_route_class(const char *rcpt);

/*
 * sink_signals_open_allowed: FALSE when rcpt's local part is a Signals
 * address (prefix before '+' equal to the configured one, last char a
 * digit d) and today's day of month is not in Digit<d>_days.
 */
gboolean sink_signals_open_allowed(const SinkConfig *cfg, const char *rcpt, GDateTime *now);

/*
 * sink_decide: fill ctx's class, route and plan from the recipient and
 * ctx->directives (call it only once DKIM has passed), drawing from
 * ctx->rng.  Also picks the user agent when the class is openclick or
 * unsubscribe (its link is a reader's click), and sets the recipient's
 * personas (persona.h, not drawn; a directive or keyword may add or clear
 * them).
 */
void sink_decide(SinkCtx *ctx, const SinkModel *m);

#endif
