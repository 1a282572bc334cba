/*
 * unsubscribe.h - the unsubscribe class (SPEC section 16): the reader
 * unsubscribes the way a mailbox provider does it for them (unsubscribe.c).
 */
#ifndef SINK_UNSUBSCRIBE_H
#define SINK_UNSUBSCRIBE_H

#include "context.h"

/*
 * sink_unsubscribe_run: choose the method (one-click, mailto, link, or
 * none) and carry it out (with --dry-run: record it); results, counters
 * and the method into ctx.
 */
void sink_unsubscribe_run(SinkCtx *ctx);

#endif
