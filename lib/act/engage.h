/*
 * engage.h - opens and clicks like a real reader, and the machine traffic
 * of the mailbox's personas (Apple's image proxy, a link-scanning gateway):
 * the HTML part's pixels and links (html.c) and List-Unsubscribe's URIs,
 * tracking hosts verified (track.c), fetched in parallel with libcurl
 * (fetch.c), as the message's one User-Agent (core/useragent.c) or the
 * persona's (core/persona.c).
 */
#ifndef SINK_ENGAGE_H
#define SINK_ENGAGE_H

#include "context.h"

/*
 * sink_engage_run: the personas' machine traffic (ctx->persona, unless the
 * class is oob), then the openclick action when that is the class;
 * results and counters into ctx.
 */
void sink_engage_run(SinkCtx *ctx);

/*
 * sink_engage_reader_run: a delayed job's reader steps (delay.h): the
 * opens over `pixels` when `opens`, then the clicks over `links` when
 * `clicks` (NULL-terminated URLs as the HTML part gave them, or NULL), as
 * ctx's plan counts them and with its User-Agent; the tracking hosts
 * verified as on delivery.
 */
void sink_engage_reader_run(SinkCtx *ctx, char **pixels, char **links, gboolean opens, gboolean clicks);

#endif
