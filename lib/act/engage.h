/*
 * engage.h - opens and clicks like a real reader: the HTML part's pixels
 * and links (html.c), tracking hosts verified (track.c), fetched in parallel
 * with libcurl (fetch.c), as the message's one User-Agent (core/useragent.c).
 */
#ifndef SINK_ENGAGE_H
#define SINK_ENGAGE_H

#include "context.h"

/* sink_engage_run: the openclick action; results and counters into ctx. */
void sink_engage_run(SinkCtx *ctx);

#endif
