/*
 * dkimsig.h - what the message's DKIM signatures cover: for each signature
 * checked, its signing domain, selector, result and the header fields its
 * h= tag names.  Later checks ask it whether a field is vouched for by a
 * passing signature (RFC 8058's one-click unsubscribe, RFC 9477's CFBL).
 *
 * Filled by the DKIM check: DKIM_Check = verify records every signature the
 * DKIM module judged; header mode records the signatures whose d= our own
 * Authentication-Results passed (their h= read from the message's
 * DKIM-Signature fields); off records none.
 */
#ifndef SINK_DKIMSIG_H
#define SINK_DKIMSIG_H

#include "context.h"

/* sink_dkim_sig_new: a record of one signature (copies; headers as h= gives them). */
SinkDkimSig *sink_dkim_sig_new(const char *domain, const char *selector, const char *result, const char *h);

/*
 * sink_dkim_sig_parse: the d=, s= and h= tags of a DKIM-Signature field's
 * value (RFC 6376 3.2 tag-list; FWS removed).  NULL when it has no d=.
 * result is set to `result`.
 */
SinkDkimSig *sink_dkim_sig_parse(const char *value, const char *result);

/* sink_dkim_sig_covers: whether `sig`'s h= names header field `name` (case-insensitive). */
gboolean sink_dkim_sig_covers(const SinkDkimSig *sig, const char *name);

/*
 * sink_dkim_passing: the first passing signature of ctx whose domain is
 * `domain` (case-insensitive; NULL: any) and whose h= covers every field
 * of the NULL-terminated `fields` (NULL: none asked); NULL when there is
 * none.  Borrowed from ctx.
 */
const SinkDkimSig *sink_dkim_passing(const SinkCtx *ctx, const char *domain, const char *const *fields);

/*
 * sink_dkim_passing_where: sink_dkim_passing with the signing domain
 * judged by `match` (given each passing signature's domain and `data`):
 * relaxed alignment, say, where any domain of one organization will do.
 */
const SinkDkimSig *sink_dkim_passing_where(const SinkCtx *ctx, gboolean (*match)(const char *domain, gpointer data),
					   gpointer data, const char *const *fields);

#endif
