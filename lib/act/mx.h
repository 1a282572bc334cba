/*
 * mx.h - Return-Path MX mapping, the anti-backscatter check before any
 * report is mailed: the preferred MX must be allowlisted or a tenant host.
 */
#ifndef SINK_MX_H
#define SINK_MX_H

#include "context.h"

/*
 * sink_mx_map: an FBL address for MX host `mx` under cfg's allowlist or the
 * e.sparkpost.com tenant rule; NULL when the MX is not known.  g_free.
 */
char *sink_mx_map(const SinkConfig *cfg, const char *mx);

/*
 * sink_mx_lookup: the preferred MX host of `domain` (lowest preference; no
 * MX: the domain itself when it has an address), A-labels, lower case; an
 * IDN domain may come in Unicode.  g_free.  NULL when there is none to
 * mail, with an error recorded in ctx that says "<what> not sent" and
 * names the domain by its `role` ("Return-Path domain"); *tempfail is set
 * when the look-up failed for now.
 */
char *sink_mx_lookup(SinkCtx *ctx, const char *what, const char *role, const char *domain, gboolean *tempfail);

/*
 * sink_mx_resolve: look up the preferred MX of ctx->return_path's domain
 * (no MX: the domain itself when it has an address) and map it.  TRUE with
 * ctx->mx_host and ctx->fbl_addr set when allowed.  FALSE otherwise, with an
 * error recorded in ctx (prefixed by `what`, "OOB" or "FBL"); the caller
 * counts.  *tempfail is set when the lookup failed temporarily.
 */
gboolean sink_mx_resolve(SinkCtx *ctx, const char *what, gboolean *tempfail);

/*
 * sink_mx_allowed: sink_mx_lookup for `address`'s domain, then the
 * allowlist (sink_mx_map), as for the Return-Path: TRUE with *mx_host and
 * *fbl_addr set (g_free) when allowed; FALSE otherwise, with an error
 * recorded in ctx (prefixed by `what`, naming the domain as `whose`'s, e.g.
 * "mailto"); *mx_host is still set when the MX was found but is not
 * allowed.  *tempfail is set when the look-up failed for now.  The caller
 * counts.
 */
gboolean sink_mx_allowed(SinkCtx *ctx, const char *what, const char *whose, const char *address, char **mx_host,
			 char **fbl_addr, gboolean *tempfail);

#endif
