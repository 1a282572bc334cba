/*
 * stats.h - what sink-stats reads from Redis (shown as text by format.h,
 * as a page by dashboard.h), and the pruning of old ts_ and tso_ keys.
 *
 * A SinkStats is plain data: read from Redis with sink_stats_read, or
 * built by hand (the unit tests do), then formatted.  Nothing here prints.
 */
#ifndef SINK_STATS_H
#define SINK_STATS_H

#include <glib.h>
#include <hiredis/hiredis.h>

/* ts_ and tso_ keys older than this are deleted by --prune. */
#define SINK_STATS_TS_KEEP_DAYS 10

/* The minutes of tso_ hashes the dashboard reads: a day's. */
#define SINK_STATS_OUTCOME_MINUTES 1440

/* The original's /json value of startedRunning before the first message. */
#define SINK_STATS_NOT_STARTED "Not yet - waiting for scheduled running to begin"

#define SINK_STATS_ERROR (sink_stats_error_quark())
GQuark sink_stats_error_quark(void);

typedef enum {
	SINK_STATS_ERROR_REDIS,		/* a Redis command failed or answered oddly */
} SinkStatsError;

typedef struct {
	char *name;		/* the int_ key without "<prefix>int_" */
	gint64 value;
} SinkCounter;

typedef struct {
	gint64 minute;		/* unix time of the minute (a multiple of 60) */
	gint64 messages;
} SinkMinute;

/* One field of a minute's tso_ hash (lib/core/account.c writes them). */
typedef struct {
	gint64 minute;		/* unix time of the minute */
	char *name;		/* "<class>/<route>" (a decided message) or a counter's name */
	gint64 count;
} SinkOutcome;

typedef struct {
	char *results_key;	/* the instance part of the prefix, for labels */
	char *started_running;	/* ISO 8601 as stored, or NULL when unset */
	GArray *counters;	/* SinkCounter, sorted by name after sink_stats_sort */
	GArray *minutes;	/* SinkMinute, sorted by time after sink_stats_sort */
	GArray *outcomes;	/* SinkOutcome, sorted by time, then name, after sink_stats_sort */
	GPtrArray *warnings;	/* char*: keys skipped (not an integer, bad name, wrong type, out of the chart) */

	/* the delay queue (core/queue.h), read with the counters */
	gboolean queue_used;	/* jobs wait or run, or some were ever scheduled: the formats show the queue */
	gint64 jobs_waiting;	/* in the due set: not yet claimed */
	gint64 jobs_running;	/* in the lease set: claimed by a worker (or left by a dead one) */
	gint64 due_lag_ms;	/* how long the oldest due job has waited past its due time; 0 when none is due */
} SinkStats;

/* sink_stats_new: an empty set for `results_key`.  Free with sink_stats_free. */
SinkStats *sink_stats_new(const char *results_key);

/* sink_stats_free: NULL is ok. */
void sink_stats_free(SinkStats *stats);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SinkStats, sink_stats_free)

/* sink_stats_add_counter, sink_stats_add_minute, sink_stats_add_outcome: append one value (copied). */
void sink_stats_add_counter(SinkStats *stats, const char *name, gint64 value);
void sink_stats_add_minute(SinkStats *stats, gint64 minute, gint64 messages);
void sink_stats_add_outcome(SinkStats *stats, gint64 minute, const char *name, gint64 count);

/* sink_stats_sort: counters by name, minutes by time, outcomes by time and name. */
void sink_stats_sort(SinkStats *stats);

/* The parts of the counters sink_stats_read reads. */
typedef enum {
	SINK_STATS_COUNTERS = 1 << 0,	/* startedRunning and the int_ counters */
	SINK_STATS_MINUTES = 1 << 1,	/* the ts_ minutes */
	SINK_STATS_OUTCOMES = 1 << 2,	/* the last day's tso_ hashes */
	SINK_STATS_ALL = SINK_STATS_COUNTERS | SINK_STATS_MINUTES | SINK_STATS_OUTCOMES,
} SinkStatsParts;

/*
 * sink_stats_read: the `parts` under `prefix` ("consume-mail:<key>:") in
 * Redis.  startedRunning and the int_ counters, and the ts_ minutes, are
 * found with SCAN (never KEYS) and read with MGET: every ts_ minute that
 * sink_stats_minute_charted keeps for `now`.  The tso_ hashes are those
 * of the SINK_STATS_OUTCOME_MINUTES minutes up to `now`'s (that one
 * included), named one by one and read with HGETALL in one pipelined
 * round trip.  All sorted.  Skipped with a warning naming the key: a value
 * that is not an integer, a key of the wrong type, a ts_ minute outside
 * the chart's window (named up to 20, then counted), a tso_ field whose
 * value is not an integer.  A startedRunning that is not a string is a
 * warning too, and is taken as unset.  Returns a new SinkStats, or NULL
 * with `error` set (SINK_STATS_ERROR_REDIS) when a command fails.
 */
SinkStats *sink_stats_read(redisContext *c, const char *prefix, const char *results_key, GDateTime *now,
			   SinkStatsParts parts, GError **error);

/*
 * sink_stats_minute_charted: TRUE when a ts_ minute is within the HTML
 * chart's window: from SINK_STATS_TS_KEEP_DAYS + 1 days before `now` (one
 * day more, as --prune runs daily) to one day after it.  Further out it is a
 * stray key (a time in milliseconds, say), left out of the chart.
 */
gboolean sink_stats_minute_charted(gint64 minute, GDateTime *now);

/*
 * sink_stats_prune: delete the ts_ and tso_ keys under `prefix` whose
 * minute is more than SINK_STATS_TS_KEEP_DAYS days before `now`.  Sets
 * *ts_deleted and *tso_deleted (either may be NULL) to the numbers
 * deleted, also when a command fails: FALSE then, with `error`.
 */
gboolean sink_stats_prune(redisContext *c, const char *prefix, GDateTime *now, guint *ts_deleted,
			  guint *tso_deleted, GError **error);

/* sink_stats_ts_expired: TRUE when a ts_ (or tso_) minute is old enough for pruning. */
gboolean sink_stats_ts_expired(gint64 minute, GDateTime *now);

/*
 * sink_stats_glob_escape: `s` with Redis glob characters (* ? [ ] \)
 * escaped, for a SCAN MATCH pattern.  g_free.
 */
char *sink_stats_glob_escape(const char *s);

/*
 * sink_stats_write_file: replace `path` with `data` atomically (a temporary
 * file in the same folder, fsync, rename), so a reader (node_exporter's
 * textfile collector, a web server) never sees half a file.  The file gets
 * mode 0644.  FALSE with `error` (G_FILE_ERROR) when it cannot; the old
 * file is then left as it was.
 */
gboolean sink_stats_write_file(const char *path, const char *data, GError **error);

#endif
