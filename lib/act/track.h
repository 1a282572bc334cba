/*
 * track.h - which hosts are tracking hosts: Tracking_Domains_Allowlist, a
 * verdict cached in Redis, or a probe of <origin>/f/a for the tracking
 * server's Server: header.
 */
#ifndef SINK_TRACK_H
#define SINK_TRACK_H

#include "context.h"

typedef enum {
	SINK_TRACK_UNKNOWN = -1,	/* not decided (yet, or the probe failed) */
	SINK_TRACK_NO = 0,
	SINK_TRACK_YES = 1,
} SinkTrackVerdict;

/* One origin of a message's URLs and its verdict. */
typedef struct {
	char *origin;		/* "scheme://host[:port]", lower case: the cache key and probe base */
	char *host;		/* lower case, for the allowlist */
	SinkTrackVerdict verdict;
	const char *how;	/* "allowlist", "cache", "probe" (static) */
} SinkTrackHost;

/*
 * sink_track_resolve: decide every host of `hosts` (SinkTrackHost*, each
 * origin once) that is still SINK_TRACK_UNKNOWN: the allowlist first, then
 * one pipelined Redis GET for the rest, then one parallel probe of the
 * hosts still unknown, whose verdicts are cached (SET ... EX 3600).  A
 * host whose probe fails stays unknown (treated as not tracking); the
 * failure is recorded in ctx (an error when the address was refused, else
 * a note).  Redis down: probes anyway.
 */
void sink_track_resolve(SinkCtx *ctx, GPtrArray *hosts);

/*
 * sink_track_known: the verdict on one more host, from what is known
 * without a probe: the allowlist, else its cached verdict (one Redis GET).
 * SINK_TRACK_UNKNOWN when neither says (or Redis is down).
 */
SinkTrackVerdict sink_track_known(SinkCtx *ctx, const char *origin, const char *host);

/* sink_track_host_free: for g_ptr_array_new_with_free_func.  NULL is ok. */
void sink_track_host_free(gpointer host);

#endif
