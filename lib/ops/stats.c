/*
 * stats.c - sink-stats' reading of the counters (the text formats are
 * format.c's, the page dashboard.c's) and the pruning of old ts_ and tso_
 * keys.
 *
 * Design: reading and formatting are apart.  sink_stats_read walks the key
 * space with SCAN (KEYS would block a shared Redis) under the instance's
 * prefix, one pattern for int_ counters and one for ts_ minutes, and reads
 * the values with MGET in batches.  The tso_ hashes of the last day are
 * named, not searched: their minutes are known.  The formatters take the
 * plain SinkStats, so each output is tested without a Redis.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "queue.h"
#include "stats.h"

G_DEFINE_QUARK(sink-stats-error-quark, sink_stats_error)

#define SCAN_COUNT "1000"
#define MGET_BATCH 500

/*
 * The ts_ minutes worth charting: the kept window plus a day, since --prune
 * runs daily and keys a little past it are normal, up to a day ahead for
 * clocks that disagree.  Anything further is a stray key (a minute in
 * milliseconds, garbage): charting it stretched the axis over millennia.
 */
#define CHART_PAST ((gint64)(SINK_STATS_TS_KEEP_DAYS + 1) * 86400)
#define CHART_AHEAD ((gint64)86400)
/* Keys left out of the chart named one by one, before a count of the rest. */
#define LEFT_OUT_NAMED 20

/* ---- the data ------------------------------------------------------------------------------------------- */

static void
clear_counter(gpointer p)
{
	g_free(((SinkCounter *)p)->name);
}

static void
clear_outcome(gpointer p)
{
	g_free(((SinkOutcome *)p)->name);
}

SinkStats *
sink_stats_new(const char *results_key)
{
	SinkStats *stats = g_new0(SinkStats, 1);

	stats->results_key = g_strdup(results_key ? results_key : "0");
	stats->counters = g_array_new(FALSE, FALSE, sizeof(SinkCounter));
	g_array_set_clear_func(stats->counters, clear_counter);
	stats->minutes = g_array_new(FALSE, FALSE, sizeof(SinkMinute));
	stats->outcomes = g_array_new(FALSE, FALSE, sizeof(SinkOutcome));
	g_array_set_clear_func(stats->outcomes, clear_outcome);
	stats->warnings = g_ptr_array_new_with_free_func(g_free);
	return stats;
}

void
sink_stats_free(SinkStats *stats)
{
	if (stats == NULL)
		return;
	g_free(stats->results_key);
	g_free(stats->started_running);
	g_array_unref(stats->counters);
	g_array_unref(stats->minutes);
	g_array_unref(stats->outcomes);
	g_ptr_array_unref(stats->warnings);
	g_free(stats);
}

void
sink_stats_add_counter(SinkStats *stats, const char *name, gint64 value)
{
	SinkCounter c = { g_strdup(name), value };

	g_array_append_val(stats->counters, c);
}

void
sink_stats_add_minute(SinkStats *stats, gint64 minute, gint64 messages)
{
	SinkMinute m = { minute, messages };

	g_array_append_val(stats->minutes, m);
}

void
sink_stats_add_outcome(SinkStats *stats, gint64 minute, const char *name, gint64 count)
{
	SinkOutcome o = { minute, g_strdup(name), count };

	g_array_append_val(stats->outcomes, o);
}

static gint
counter_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(((const SinkCounter *)a)->name, ((const SinkCounter *)b)->name);
}

static gint
minute_cmp(gconstpointer a, gconstpointer b)
{
	gint64 x = ((const SinkMinute *)a)->minute, y = ((const SinkMinute *)b)->minute;

	return x < y ? -1 : x > y;
}

static gint
outcome_cmp(gconstpointer a, gconstpointer b)
{
	const SinkOutcome *x = a, *y = b;

	return x->minute != y->minute ? (x->minute < y->minute ? -1 : 1) : strcmp(x->name, y->name);
}

void
sink_stats_sort(SinkStats *stats)
{
	g_array_sort(stats->counters, counter_cmp);
	g_array_sort(stats->minutes, minute_cmp);
	g_array_sort(stats->outcomes, outcome_cmp);
}

/* ---- Redis ---------------------------------------------------------------------------------------------- */

char *
sink_stats_glob_escape(const char *s)
{
	GString *out = g_string_new(NULL);

	for (; *s; s++) {
		if (strchr("*?[]\\", *s))
			g_string_append_c(out, '\\');
		g_string_append_c(out, *s);
	}
	return g_string_free(out, FALSE);
}

/* Why a command on `c` got no reply, in words: hiredis reports its timeout as the read's EAGAIN. */
static const char *
no_reply_why(const redisContext *c)
{
	if (c->err == REDIS_ERR_IO &&
	    (strcmp(c->errstr, g_strerror(EAGAIN)) == 0 || strcmp(c->errstr, g_strerror(EWOULDBLOCK)) == 0))
		return "no answer within the timeout";
	return c->errstr[0] ? c->errstr : "no reply";
}

static gboolean
reply_failed(redisContext *c, redisReply *r, const char *what, GError **error)
{
	if (r && r->type != REDIS_REPLY_ERROR)
		return FALSE;
	g_set_error(error, SINK_STATS_ERROR, SINK_STATS_ERROR_REDIS, "Redis %s: %s", what, r ? r->str : no_reply_why(c));
	if (r)
		freeReplyObject(r);
	return TRUE;
}

/* Every key matching `pattern`, each once (SCAN may repeat keys). */
static GPtrArray *
scan_keys(redisContext *c, const char *pattern, GError **error)
{
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *cursor = g_strdup("0");

	do {
		const char *argv[] = { "SCAN", cursor, "MATCH", pattern, "COUNT", SCAN_COUNT };
		redisReply *r = redisCommandArgv(c, G_N_ELEMENTS(argv), argv, NULL);

		if (reply_failed(c, r, "SCAN", error))
			return NULL;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(r);
			g_set_error(error, SINK_STATS_ERROR, SINK_STATS_ERROR_REDIS, "Redis SCAN: unexpected reply");
			return NULL;
		}
		g_free(cursor);
		cursor = g_strdup(r->element[0]->str);
		for (size_t i = 0; i < r->element[1]->elements; i++) {
			redisReply *k = r->element[1]->element[i];
			if (k->type != REDIS_REPLY_STRING || g_hash_table_contains(seen, k->str))
				continue;
			char *key = g_strndup(k->str, k->len);
			g_ptr_array_add(keys, key);
			g_hash_table_add(seen, key);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	return g_steal_pointer(&keys);
}

/* One sink_stats_read: where values go, and the window of minutes kept. */
typedef struct {
	SinkStats *stats;
	GDateTime *now;		/* the time the chart is drawn for */
	guint left_out;		/* ts_ keys outside the window */
} Reader;

typedef void (*ValueFunc)(Reader *rd, const char *key, const char *value);

/* `cmd` (MGET, DEL) with the n keys of `keys` from `start` as its arguments. */
static redisReply *
command_keys(redisContext *c, const char *cmd, GPtrArray *keys, guint start, guint n)
{
	g_autofree const char **argv = g_new(const char *, n + 1);

	argv[0] = cmd;
	for (guint i = 0; i < n; i++)
		argv[i + 1] = keys->pdata[start + i];
	return redisCommandArgv(c, (int)n + 1, argv, NULL);
}

/*
 * MGET answers nil both for a key deleted since the SCAN and for one that is
 * not a string (a list, a hash).  The first is no news; the second is a
 * counter gone wrong, so ask the TYPE of the nil ones (in one pipelined round
 * trip) and warn naming each that still exists as something else.
 */
static gboolean
warn_not_strings(redisContext *c, SinkStats *stats, GPtrArray *keys, GError **error)
{
	for (guint i = 0; i < keys->len; i++) {
		const char *argv[] = { "TYPE", keys->pdata[i] };
		if (redisAppendCommandArgv(c, G_N_ELEMENTS(argv), argv, NULL) != REDIS_OK) {
			reply_failed(c, NULL, "TYPE", error);
			return FALSE;
		}
	}
	for (guint i = 0; i < keys->len; i++) {
		redisReply *r = NULL;
		if (redisGetReply(c, (void **)&r) != REDIS_OK)
			r = NULL;
		if (reply_failed(c, r, "TYPE", error))
			return FALSE;
		if (r->type == REDIS_REPLY_STATUS && strcmp(r->str, "none") != 0 && strcmp(r->str, "string") != 0)
			g_ptr_array_add(stats->warnings, g_strdup_printf("skipped %s: a Redis %s, not a string",
									 (const char *)keys->pdata[i], r->str));
		freeReplyObject(r);
	}
	return TRUE;
}

/* MGET `keys` in batches and pass each (key, value) that exists to `fn`. */
static gboolean
read_values(redisContext *c, Reader *rd, GPtrArray *keys, ValueFunc fn, GError **error)
{
	g_autoptr(GPtrArray) nil = g_ptr_array_new();

	for (guint start = 0; start < keys->len; start += MGET_BATCH) {
		guint n = MIN(MGET_BATCH, keys->len - start);
		redisReply *r = command_keys(c, "MGET", keys, start, n);
		if (reply_failed(c, r, "MGET", error))
			return FALSE;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != n) {
			freeReplyObject(r);
			g_set_error(error, SINK_STATS_ERROR, SINK_STATS_ERROR_REDIS, "Redis MGET: unexpected reply");
			return FALSE;
		}
		for (guint i = 0; i < n; i++) {
			if (r->element[i]->type == REDIS_REPLY_STRING)
				fn(rd, keys->pdata[start + i], r->element[i]->str);
			else
				g_ptr_array_add(nil, keys->pdata[start + i]);
		}
		freeReplyObject(r);
	}
	return nil->len == 0 || warn_not_strings(c, rd->stats, nil, error);
}

static gboolean
parse_int(const char *s, gint64 *out)
{
	return g_ascii_string_to_signed(s, 10, G_MININT64, G_MAXINT64, out, NULL);
}

/* The part of `key` after "<prefix>int_" or "<prefix>ts_"; the caller knows it matches. */
static const char *
key_suffix(const char *key)
{
	const char *p = strrchr(key, ':');
	const char *u = strchr(p ? p : key, '_');

	return u ? u + 1 : key;
}

static void
take_counter(Reader *rd, const char *key, const char *value)
{
	SinkStats *stats = rd->stats;
	const char *name = key_suffix(key);
	gint64 n;

	if (!g_utf8_validate(name, -1, NULL) || *name == '\0') {
		g_autofree char *shown = g_strescape(key, NULL);	/* (bytes past ASCII escaped: any key prints) */

		g_ptr_array_add(stats->warnings, g_strdup_printf("skipped \"%s\": %s", shown,
								 *name ? "its counter name is not UTF-8" : "it has no counter name"));
	}
	else if (!parse_int(value, &n))
		g_ptr_array_add(stats->warnings, g_strdup_printf("skipped %s: \"%.40s\" is not an integer", key, value));
	else
		sink_stats_add_counter(stats, name, n);
}

static void
take_minute(Reader *rd, const char *key, const char *value)
{
	SinkStats *stats = rd->stats;
	gint64 minute, n;

	if (!parse_int(key_suffix(key), &minute) || minute < 0)
		g_ptr_array_add(stats->warnings, g_strdup_printf("skipped %s: not ts_<unix minute>", key));
	else if (!parse_int(value, &n))
		g_ptr_array_add(stats->warnings, g_strdup_printf("skipped %s: \"%.40s\" is not an integer", key, value));
	else if (sink_stats_minute_charted(minute, rd->now))
		sink_stats_add_minute(stats, minute, n);
	else if (rd->left_out++ >= LEFT_OUT_NAMED)
		return;		/* past a few, a flood of them is only counted (sink_stats_read) */
	else if (minute > g_date_time_to_unix(rd->now))	/* named, so that it can be found and deleted */
		g_ptr_array_add(stats->warnings, g_strdup_printf("left %s out of the chart: more than a day ahead "
								 "of now (not a unix minute in seconds?)", key));
	else
		g_ptr_array_add(stats->warnings, g_strdup_printf("left %s out of the chart: more than %d days old "
								 "(--prune deletes it)", key, SINK_STATS_TS_KEEP_DAYS + 1));
}

/* The key names after the prefix hold no ':' of their own (int_x, ts_n), which key_suffix relies on. */
static gboolean
read_family(redisContext *c, Reader *rd, const char *prefix, const char *family, ValueFunc fn, GError **error)
{
	g_autofree char *escaped = sink_stats_glob_escape(prefix);
	g_autofree char *pattern = g_strconcat(escaped, family, "*", NULL);
	g_autoptr(GPtrArray) keys = scan_keys(c, pattern, error);
	g_autoptr(GPtrArray) plain = g_ptr_array_new();
	gsize plen = strlen(prefix);

	if (keys == NULL)
		return FALSE;
	/* "<prefix>int_a:b" would be some other tool's key: leave it out */
	for (guint i = 0; i < keys->len; i++)
		if (strchr((const char *)keys->pdata[i] + plen, ':') == NULL)
			g_ptr_array_add(plain, keys->pdata[i]);
	return read_values(c, rd, plain, fn, error);
}

/* startedRunning: a value that is not a string must not hide every counter: named, and taken as unset. */
static gboolean
read_started(redisContext *c, SinkStats *stats, const char *prefix, GError **error)
{
	g_autofree char *started_key = g_strconcat(prefix, "startedRunning", NULL);
	const char *argv[] = { "GET", started_key };
	redisReply *r = redisCommandArgv(c, G_N_ELEMENTS(argv), argv, NULL);

	if (r && r->type == REDIS_REPLY_ERROR && g_str_has_prefix(r->str, "WRONGTYPE")) {
		g_ptr_array_add(stats->warnings, g_strdup_printf("%s: %s; shown as not started", started_key, r->str));
		freeReplyObject(r);
		return TRUE;
	}
	if (reply_failed(c, r, "GET", error))
		return FALSE;
	if (r->type == REDIS_REPLY_STRING && g_utf8_validate(r->str, (gssize)r->len, NULL))
		stats->started_running = g_strndup(r->str, r->len);
	else if (r->type == REDIS_REPLY_STRING)
		g_ptr_array_add(stats->warnings, g_strdup_printf("%s: not UTF-8; shown as not started", started_key));
	freeReplyObject(r);
	return TRUE;
}

static gboolean read_outcomes(redisContext *c, const char *prefix, SinkStats *stats, GDateTime *now,
			      GError **error);

/* The delay queue's depth and the oldest due job's lag, in one round trip (Redis's clock, as the worker's). */
static gboolean
read_queue(redisContext *c, SinkStats *stats, const char *prefix, GError **error)
{
	g_autofree char *due = g_strconcat(prefix, SINK_QUEUE_DUE, NULL);
	g_autofree char *lease = g_strconcat(prefix, SINK_QUEUE_LEASE, NULL);
	redisReply *r[4] = { NULL };
	gboolean ok = TRUE;

	redisAppendCommand(c, "ZCARD %s", due);
	redisAppendCommand(c, "ZCARD %s", lease);
	redisAppendCommand(c, "ZRANGE %s 0 0 WITHSCORES", due);
	redisAppendCommand(c, "TIME");
	for (int i = 0; i < 4; i++) {
		if (redisGetReply(c, (void **)&r[i]) != REDIS_OK || r[i] == NULL) {
			reply_failed(c, NULL, "ZCARD", error);
			ok = FALSE;
			break;
		}
	}
	if (ok && (r[0]->type != REDIS_REPLY_INTEGER || r[1]->type != REDIS_REPLY_INTEGER ||
		   r[2]->type != REDIS_REPLY_ARRAY || r[3]->type != REDIS_REPLY_ARRAY || r[3]->elements != 2)) {
		g_ptr_array_add(stats->warnings, g_strdup_printf("skipped the delay queue (%s%s): not sorted sets",
								 prefix, SINK_QUEUE_DUE));
	} else if (ok) {
		gint64 now = g_ascii_strtoll(r[3]->element[0]->str, NULL, 10) * 1000 +
			     g_ascii_strtoll(r[3]->element[1]->str, NULL, 10) / 1000;
		stats->jobs_waiting = r[0]->integer;
		stats->jobs_running = r[1]->integer;
		if (r[2]->elements == 2) {
			gint64 first = (gint64)g_ascii_strtod(r[2]->element[1]->str, NULL);
			stats->due_lag_ms = MAX(0, now - first);
		}
	}
	for (int i = 0; i < 4; i++)
		if (r[i])
			freeReplyObject(r[i]);
	return ok;
}

SinkStats *
sink_stats_read(redisContext *c, const char *prefix, const char *results_key, GDateTime *now, SinkStatsParts parts,
		GError **error)
{
	g_autoptr(SinkStats) stats = sink_stats_new(results_key);
	Reader rd = { stats, now, 0 };

	if ((parts & SINK_STATS_COUNTERS) &&
	    (!read_started(c, stats, prefix, error) || !read_family(c, &rd, prefix, "int_", take_counter, error)))
		return NULL;
	if ((parts & SINK_STATS_COUNTERS) && !read_queue(c, stats, prefix, error))
		return NULL;
	if ((parts & SINK_STATS_MINUTES) && !read_family(c, &rd, prefix, "ts_", take_minute, error))
		return NULL;
	if (rd.left_out > LEFT_OUT_NAMED)
		g_ptr_array_add(stats->warnings, g_strdup_printf("left %u more ts_ keys out of the chart",
								 rd.left_out - LEFT_OUT_NAMED));
	if ((parts & SINK_STATS_OUTCOMES) && !read_outcomes(c, prefix, stats, now, error))
		return NULL;
	sink_stats_sort(stats);
	for (guint i = 0; i < stats->counters->len; i++)
		if (g_str_has_prefix(g_array_index(stats->counters, SinkCounter, i).name, "jobs_"))
			stats->queue_used = TRUE;
	stats->queue_used |= stats->jobs_waiting > 0 || stats->jobs_running > 0;
	return g_steal_pointer(&stats);
}

/* One tso_ hash's HGETALL reply into stats->outcomes; a reply that is no hash is a warning. */
static void
take_outcomes(SinkStats *stats, const char *key, gint64 minute, redisReply *r)
{
	if (r->type == REDIS_REPLY_ERROR) {
		g_ptr_array_add(stats->warnings, g_strdup_printf("skipped %s: %s", key, r->str));
		return;
	}
	if (r->type != REDIS_REPLY_ARRAY)
		return;
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		redisReply *f = r->element[i], *v = r->element[i + 1];
		gint64 n;
		if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
			continue;
		if (!g_utf8_validate(f->str, (gssize)f->len, NULL) || strlen(f->str) != f->len || f->len == 0)
			g_ptr_array_add(stats->warnings, g_strdup_printf("skipped a field of %s with a bad name", key));
		else if (!parse_int(v->str, &n))
			g_ptr_array_add(stats->warnings, g_strdup_printf("skipped %s field %s: \"%.40s\" is not an integer",
									 key, f->str, v->str));
		else
			sink_stats_add_outcome(stats, minute, f->str, n);
	}
}

/* The last day's tso_ hashes into stats->outcomes (unsorted). */
static gboolean
read_outcomes(redisContext *c, const char *prefix, SinkStats *stats, GDateTime *now, GError **error)
{
	gint64 last = g_date_time_to_unix(now) / 60 * 60;
	g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func(g_free);

	for (gint64 i = SINK_STATS_OUTCOME_MINUTES - 1; i >= 0; i--) {
		char *key = g_strdup_printf("%stso_%" G_GINT64_FORMAT, prefix, last - i * 60);
		const char *argv[] = { "HGETALL", key };
		g_ptr_array_add(keys, key);
		if (redisAppendCommandArgv(c, G_N_ELEMENTS(argv), argv, NULL) != REDIS_OK) {
			reply_failed(c, NULL, "HGETALL", error);
			return FALSE;
		}
	}
	/* every reply is read, even after an error, so that the connection stays in step */
	for (guint i = 0; i < keys->len; i++) {
		redisReply *r = NULL;
		if (redisGetReply(c, (void **)&r) != REDIS_OK || r == NULL) {
			reply_failed(c, NULL, "HGETALL", error);
			return FALSE;
		}
		take_outcomes(stats, keys->pdata[i], last - (gint64)(keys->len - 1 - i) * 60, r);
		freeReplyObject(r);
	}
	return TRUE;
}

gboolean
sink_stats_minute_charted(gint64 minute, GDateTime *now)
{
	gint64 t = g_date_time_to_unix(now);	/* GDateTime keeps it within years 1..9999: no overflow below */

	return minute >= t - CHART_PAST && minute <= t + CHART_AHEAD;
}

gboolean
sink_stats_ts_expired(gint64 minute, GDateTime *now)
{
	return minute < g_date_time_to_unix(now) - (gint64)SINK_STATS_TS_KEEP_DAYS * 86400;
}

/* Delete the keys "<prefix><family><minute>" older than the kept window; add how many to *deleted. */
static gboolean
prune_family(redisContext *c, const char *prefix, const char *family, GDateTime *now, guint *deleted,
	     GError **error)
{
	g_autofree char *escaped = sink_stats_glob_escape(prefix);
	g_autofree char *pattern = g_strconcat(escaped, family, "*", NULL);
	g_autoptr(GPtrArray) keys = scan_keys(c, pattern, error);
	g_autoptr(GPtrArray) old = g_ptr_array_new();
	gsize skip = strlen(prefix) + strlen(family);

	if (keys == NULL)
		return FALSE;
	for (guint i = 0; i < keys->len; i++) {
		const char *minute_text = (const char *)keys->pdata[i] + skip;
		gint64 minute;
		if (parse_int(minute_text, &minute) && sink_stats_ts_expired(minute, now))
			g_ptr_array_add(old, keys->pdata[i]);
	}
	for (guint start = 0; start < old->len; start += MGET_BATCH) {
		guint n = MIN(MGET_BATCH, old->len - start);
		redisReply *r = command_keys(c, "DEL", old, start, n);
		if (reply_failed(c, r, "DEL", error))
			return FALSE;
		if (r->type == REDIS_REPLY_INTEGER)
			*deleted += (guint)r->integer;
		freeReplyObject(r);
	}
	return TRUE;
}

gboolean
sink_stats_prune(redisContext *c, const char *prefix, GDateTime *now, guint *ts_deleted, guint *tso_deleted,
		 GError **error)
{
	guint ts = 0, tso = 0;
	gboolean ok = prune_family(c, prefix, "ts_", now, &ts, error) &&
		      prune_family(c, prefix, "tso_", now, &tso, error);

	if (ts_deleted)
		*ts_deleted = ts;
	if (tso_deleted)
		*tso_deleted = tso;
	return ok;
}

/* ---- files ---------------------------------------------------------------------------------------------- */

gboolean
sink_stats_write_file(const char *path, const char *data, GError **error)
{
	/* 0644 whatever the umask (GLib's open(2) applies it): a cron's 077 would leave the file to node_exporter
	 * or the web server unreadable; the process has no other thread that makes files meanwhile */
	mode_t mask = umask(0);
	gboolean ok = g_file_set_contents_full(path, data, -1,
					       G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0644, error);

	umask(mask);
	return ok;
}
