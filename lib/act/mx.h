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
 * sink_mx_lookup: look up the preferred MX of `address`'s domain (no MX:
 * the domain itself when it has an address) and map it.  TRUE with
 * *mx_host and *fbl_addr set (g_free) when allowed.  FALSE otherwise, with
 * an error recorded in ctx (prefixed by `what`, and naming the domain as
 * `whose`'s, e.g. "Return-Path"); *mx_host is still set when the MX was
 * found but is not allowed.  *tempfail is set when the lookup failed for
 * now.  The caller counts.
 */
gboolean sink_mx_lookup(SinkCtx *ctx, const char *what, const char *whose, const char *address, char **mx_host,
			char **fbl_addr, gboolean *tempfail);

/*
 * sink_mx_resolve: look up the preferred MX of ctx->return_path's domain
 * (no MX: the domain itself when it has an address) and map it.  TRUE with
 * ctx->mx_host and ctx->fbl_addr set when allowed.  FALSE otherwise, with an
 * error recorded in ctx (prefixed by `what`, "OOB" or "FBL"); the caller
 * counts.  *tempfail is set when the lookup failed temporarily.
 */
gboolean sink_mx_resolve(SinkCtx *ctx, const char *what, gboolean *tempfail);

#endif
