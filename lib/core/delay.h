/*
 * delay.h - a message's steps put off to later (SPEC section 20): each
 * step's delay drawn from its <Step>_Delay (or the sender's delay=, which
 * sets the first step's), and a delayed step turned into a job in the
 * Redis queue (queue.h) instead of being run.  sink-filter is then done at
 * once; a worker (server/worker.c) runs the job when it is due.
 *
 * A step runs at once when it cannot wait: Redis unreachable, the queue at
 * Delay_Queue_Max, its job over Delay_Job_Max_Size; a note says so, and
 * jobs_not_delayed is counted.  The delays come from a generator of their
 * own seeded from --seed, so that setting a delay changes no other draw.
 */
#ifndef SINK_DELAY_H
#define SINK_DELAY_H

#include "context.h"
#include "job.h"

/*
 * sink_delay_plan: after the decision, the delay of each of the message's
 * steps into ctx->step_delay, and those that wait into ctx->delayed (the
 * record's).  Draws nothing when every <Step>_Delay is 0 and no delay=.
 */
void sink_delay_plan(SinkCtx *ctx);

/*
 * sink_delay_report: when the class's step `step` (oob, fbl, unsubscribe,
 * autoreply) waits, queue it with the original message; TRUE when queued
 * (the caller runs nothing), FALSE when it runs now (not delayed, a dry
 * run, or it could not wait: noted).
 */
gboolean sink_delay_report(SinkCtx *ctx, SinkStep step);

/*
 * sink_delay_reader: the reader's opens and clicks of an openclick
 * message, `pixels` and `links` (char*) the HTML part's URLs: an open that
 * waits is queued with its clicks (which follow it by their own delay), a
 * click that waits after an open at once is queued alone.  Sets what is
 * still to run now.
 */
void sink_delay_reader(SinkCtx *ctx, GPtrArray *pixels, GPtrArray *links, gboolean *open_now, gboolean *click_now);

/*
 * sink_delay_forget: `step` will not run at all (its SPF check failed, the
 * message has no HTML to open): the record no longer lists it as delayed.
 */
void sink_delay_forget(SinkCtx *ctx, SinkStep step);

/*
 * sink_delay_queue: queue `job` to run in `delay` seconds; TRUE when queued
 * (noted, in ctx->delayed); FALSE with a note and jobs_not_delayed counted
 * when it cannot wait.  For the worker too (a chained job is added by its
 * completion script instead).
 */
gboolean sink_delay_queue(SinkCtx *ctx, const SinkJob *job, gint64 delay);

#endif
