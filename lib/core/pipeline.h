/*
 * pipeline.h - sink-filter's stages in order: parse, trust, decide, act,
 * count, log, store.  Each stage fills its part of the context.
 */
#ifndef SINK_PIPELINE_H
#define SINK_PIPELINE_H

#include "context.h"
#include "decide.h"

/*
 * sink_pipeline_run: run every stage after the read for ctx under model m:
 * parse, trust, decide, act, count and store (the last two not with
 * --dry-run).  Sets ctx->exit_code.  The caller logs the line.
 */
void sink_pipeline_run(SinkCtx *ctx, const SinkModel *m);

#endif
