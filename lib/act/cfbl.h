/*
 * cfbl.h - RFC 9477's CFBL-Address for a complaint (cfbl.c): whether the
 * received message's header is to be honoured, and the route it gives.
 */
#ifndef SINK_CFBL_H
#define SINK_CFBL_H

#include "context.h"

/*
 * sink_cfbl_check: read the message's CFBL-Address (and CFBL-Feedback-ID)
 * and judge them by RFC 9477 against the DKIM check's signatures: fills
 * ctx->cfbl (only `checked` when the message has no CFBL-Address) and
 * notes the verdict for the log line.
 */
void sink_cfbl_check(SinkCtx *ctx);

/*
 * sink_cfbl_route: for an honoured header, the MX of its address's domain
 * into ctx->mx_host and the address into ctx->fbl_addr.  FALSE with an
 * error recorded in ctx ("<what> not sent: ..."), *tempfail set when the
 * look-up failed for now.  A SinkReportKind's route (smtp.h).
 */
gboolean sink_cfbl_route(SinkCtx *ctx, const char *what, gboolean *tempfail);

/*
 * sink_cfbl_org_domain: the organizational domain of `domain` (A-labels):
 * its registrable domain under the Public Suffix List, or the domain itself
 * when it is a public suffix.  Lower case, no final dot.  g_free; NULL for
 * NULL or "".
 */
char *sink_cfbl_org_domain(const char *domain);

/* sink_cfbl_same_org: whether `domain`'s organizational domain is `org` (a char*), for sink_dkim_passing_where. */
gboolean sink_cfbl_same_org(const char *domain, gpointer org);

/*
 * sink_cfbl_signed_for: whether the sender asked, with its signatures, for
 * mail to `address` to go to that domain's own MX (RFC 9477's rule, which
 * a mailto unsubscribe follows too): valid DKIM signatures covering
 * `fields` (NULL-terminated) of the From: domain's organization and, when
 * `address` is of another organization, of that one too.  NULL when so;
 * else why not, naming `what` (the address's header or kind), g_free.
 */
char *sink_cfbl_signed_for(SinkCtx *ctx, const char *address, const char *what, const char *const *fields);

/* sink_cfbl_warm: load the Public Suffix List, for a process that forks runs. */
void sink_cfbl_warm(void);

#endif
