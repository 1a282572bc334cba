/*
 * queue.h - the delay queue in Redis (SPEC section 20): where jobs wait,
 * and the one script that puts a job in it.  Keys, under the key prefix
 * (so a Redis Cluster with the prefix in a hash tag keeps them in one
 * slot, as the scripts need):
 *
 *   <prefix>jobs:due     sorted set: job id, scored by its due time (unix ms, Redis's clock)
 *   <prefix>jobs:lease   sorted set: job id of a job a worker runs, scored by its lease's end (unix ms)
 *   <prefix>jobs:data    hash: job id -> the job (job.h)
 *   <prefix>jobs:tries   hash: job id -> how many times a worker claimed it
 *
 * A job is in exactly one of the two sets while it exists; the worker's
 * scripts (server/worker.c) move it, run it once, and delete it.  Due
 * times come from Redis's TIME, so hosts whose clocks differ agree.
 */
#ifndef SINK_QUEUE_H
#define SINK_QUEUE_H

#include <hiredis/hiredis.h>

#include "config.h"

/* The keys' names after the prefix (sink-stats reads the sets by these). */
#define SINK_QUEUE_DUE "jobs:due"
#define SINK_QUEUE_LEASE "jobs:lease"

/* sink_queue_key: "<prefix>jobs:<which>" (due, lease, data, tries).  g_free. */
char *sink_queue_key(const SinkConfig *cfg, const char *which);

/* sink_queue_counter_key: "<prefix>int_<name>".  g_free. */
char *sink_queue_counter_key(const SinkConfig *cfg, const char *name);

/*
 * sink_redis_eval: run a Lua script by EVALSHA, loading it with EVAL when
 * Redis does not know it yet.  argv holds the keys (nkeys of them) then the
 * arguments, each of lens[i] bytes (lens NULL: all strings).  The reply
 * (freeReplyObject), or NULL when the connection failed (c->errstr says why).
 */
redisReply *sink_redis_eval(redisContext *c, const char *script, int nkeys, int argc, const char *const *argv,
			    const size_t *lens);

/*
 * sink_queue_add: put job `id` (bytes `data` of `len`) in the queue, due
 * `delay_ms` from Redis's now, unless Delay_Queue_Max jobs wait or run
 * already; counted jobs_scheduled in the same script, beside the field of
 * the message's `minute` (unix seconds) in its tso_ hash.  Returns the due
 * time (unix ms) when added, 0 when the queue is full, -1 with `error` when
 * Redis failed.
 */
/*
 * sink_queue_has: whether job `id` is in the queue (its data stored): 1,
 * 0, or -1 when Redis failed.
 */
int sink_queue_has(redisContext *c, const SinkConfig *cfg, const char *id);

gint64 sink_queue_add(redisContext *c, const SinkConfig *cfg, gint64 minute, const char *id, gint64 delay_ms,
		      const void *data, gsize len, GError **error);

#endif
