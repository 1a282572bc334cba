/*
 * spf.h - the SPF check of the client IP for the envelope sender (libspf2).
 */
#ifndef SINK_SPF_H
#define SINK_SPF_H

#include "context.h"

/*
 * sink_spf_check: set ctx->spf to "pass", "fail", "softfail", "neutral",
 * "none", "temperror" or "permerror" for ctx->client_ip and
 * ctx->return_path.  No client IP or sender: "none".
 */
void sink_spf_check(SinkCtx *ctx);

#endif
