/*
 * dkim.h - the DKIM trust check (SPEC section 6): verify with libopendkim,
 * trust our own Authentication-Results header, or off, by DKIM_Check.
 */
#ifndef SINK_DKIM_H
#define SINK_DKIM_H

#include "context.h"

/*
 * sink_dkim_check: set ctx->dkim ("pass" or a failure word such as "fail",
 * "none", "nokey", "temperror", "bodyhash", "header-untrusted") with
 * domain, selector and detail where known.  Never fails otherwise.
 */
void sink_dkim_check(SinkCtx *ctx);

/*
 * sink_authres_dkim_pass: TRUE when an Authentication-Results value has
 * authserv-id equal (case-insensitively) to host_name and a dkim=pass.
 */
gboolean sink_authres_dkim_pass(const char *value, const char *host_name);

#endif
