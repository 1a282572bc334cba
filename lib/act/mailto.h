/*
 * mailto.h - a List-Unsubscribe mailto: URI (RFC 6068) and the message a
 * mailbox provider sends for it (mailto.c).
 */
#ifndef SINK_MAILTO_H
#define SINK_MAILTO_H

#include "context.h"

/* What a mailto: URI asks for. */
typedef struct {
	char *to;	/* the first address, percent-decoded */
	char *subject;	/* the subject hfield, decoded; NULL when none */
	char *body;	/* the body hfield, decoded, line breaks as LF; NULL when none */
} SinkMailto;

/*
 * sink_mailto_parse: read `uri` ("mailto:" addresses, then "?" hfields
 * joined by "&", all percent-encoded UTF-8).  The address is the first of
 * the path's, else the first of a "to" hfield's; "subject" and "body" are
 * taken (the first of each), every other hfield (cc, bcc, in-reply-to,
 * ...) is left out.  TRUE with *m filled; FALSE with *why set (g_free)
 * when the URI cannot be used as it is: not "mailto:", a bad %-escape, not
 * UTF-8, no address or one that is not an address, a subject with a
 * control character (CR, LF, NUL: a header injection), a NUL in the body.
 */
gboolean sink_mailto_parse(const char *uri, SinkMailto *m, char **why);

/* sink_mailto_clear: free what sink_mailto_parse filled in (not m). */
void sink_mailto_clear(SinkMailto *m);

/*
 * sink_mailto_build: the unsubscribe message for `m`, From `from` (the
 * recipient, a sink_report_addr address): its Subject (default
 * "unsubscribe"), a text/plain body (its own, or one saying what it asks).
 * A new GMimeMessage (g_object_unref).
 */
GMimeMessage *sink_mailto_build(SinkCtx *ctx, const SinkMailto *m, const char *from);

#endif
