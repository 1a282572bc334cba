/*
 * authres.h - the DKIM trust check (SPEC section 6), as the core runs it
 * (authres.c): by DKIM_Check, verify with the DKIM module (lib/dkim/,
 * loaded on demand through module.h), trust our own Authentication-Results
 * header, or off.
 */
#ifndef SINK_AUTHRES_H
#define SINK_AUTHRES_H

#include "context.h"

/*
 * sink_dkim_check: set ctx->dkim ("pass" or a failure word such as "fail",
 * "none", "nokey", "temperror", "bodyhash", "header-untrusted") with
 * domain, selector and detail where known, and return TRUE.  FALSE, with
 * error set and ctx->dkim untouched, only when the check cannot run here
 * at all (DKIM_Check = verify and the DKIM module cannot be loaded): that
 * is no verdict on the message.
 */
gboolean sink_dkim_check(SinkCtx *ctx, GError **error);

/* sink_dkim_set_result: set ctx->dkim and ctx->dkim_detail (copied); the DKIM module uses it too. */
void sink_dkim_set_result(SinkCtx *ctx, const char *result, const char *detail);

/*
 * sink_authres_dkim_pass: TRUE when an Authentication-Results value has
 * authserv-id equal (case-insensitively) to host_name and a dkim=pass.
 */
gboolean sink_authres_dkim_pass(const char *value, const char *host_name);

/*
 * sink_authres_dkim_domains: append to `out` (g_free'd strings) the
 * signing domain of each dkim=pass result of an Authentication-Results
 * value whose authserv-id is host_name: its header.d=, else the domain of
 * its header.i= (RFC 8601 section 2.7.1), lower case.
 */
void sink_authres_dkim_domains(const char *value, const char *host_name, GPtrArray *out);

#endif
