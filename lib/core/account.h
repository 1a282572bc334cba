/*
 * account.h - counting in Redis with the original's key names:
 * consume-mail:<RESULTS_KEY>:int_<name>, startedRunning, ts_<minute>, and
 * the minute's outcomes, a hash tso_<minute>.
 */
#ifndef SINK_ACCOUNT_H
#define SINK_ACCOUNT_H

#include <hiredis/hiredis.h>

#include "context.h"

/*
 * sink_redis_connect: connect to cfg->redis_url (redis://host:port[/db] or
 * unix:/path) within `timeout_ms`.  NULL with `error` set on failure.
 * Free with redisFree.
 */
redisContext *sink_redis_connect(const SinkConfig *cfg, int timeout_ms, GError **error);

/*
 * sink_account_redis: ctx's Redis connection, opened on first use with a
 * short timeout, and opened again when a timeout or a reset left it dead;
 * NULL when Redis cannot be reached (tried once per message, the failure
 * recorded as an error).  Owned by ctx; after counters written without an
 * error (sink_account_commit), kept by the process for its next message.
 */
redisContext *sink_account_redis(SinkCtx *ctx);

/*
 * sink_account_keep: keep ctx's Redis connection, when it is sound, for the
 * process's next message (ctx no longer has it), as sink_account_commit
 * does: for a context whose counting is done elsewhere (a worker's job,
 * counted with the job's end).
 */
void sink_account_keep(SinkCtx *ctx);

/*
 * sink_redis_hung: whether `c` died of its timeout (no answer within it),
 * rather than of a reset, a close or a refusal.
 */
gboolean sink_redis_hung(const redisContext *c);

/*
 * sink_account_commit: bump ctx->counters, total_messages and this
 * minute's ts_ key, and set startedRunning if unset; in this minute's
 * tso_ hash bump the field "<class>/<route>" when a class was decided and
 * each counter's field but "accept" (the class field says it).  All in one
 * pipelined round trip.  Sets ctx->redis_ok; a failure is recorded as an
 * error.
 */
void sink_account_commit(SinkCtx *ctx);

#endif
