/*
 * account.c - counters in Redis, with the original's key names so its
 * dashboards and sink-stats read them: <prefix>int_<name>, startedRunning
 * and ts_<unix minute>, where <prefix> is "consume-mail:<RESULTS_KEY>:".
 * Beside them, one hash per minute, tso_<unix minute>, holds the minute's
 * outcomes for sink-stats' dashboard: a field "<class>/<route>" (the log
 * line's "accept/mix") per decided message, and a field per counter the
 * message bumped (the class field already says "accept").  A name the
 * original never used, so that its readers of ts_* never meet it.
 * One pipelined round trip per message: a HINCRBY per outcome more.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <hiredis/sds.h>

#include "account.h"
#include "redisurl.h"

#define REDIS_TIMEOUT_MS 2000

static gboolean
simple_command(redisContext *c, GError **error, const char *fmt, ...)
{
	va_list ap;
	redisReply *r;

	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s",
			    r ? r->str : c->errstr);
		if (r)
			freeReplyObject(r);
		return FALSE;
	}
	freeReplyObject(r);
	return TRUE;
}

redisContext *
sink_redis_connect(const SinkConfig *cfg, int timeout_ms, GError **error)
{
	g_auto(SinkRedisUrl) u = { NULL };
	g_autofree char *shown = NULL;	/* the URL for an error, made only for one */
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	gboolean authed = TRUE;
	redisContext *c;

	if (!sink_redis_url_parse(cfg->redis_url, &u)) {
		sink_redis_url_check(cfg->redis_url, error);
		g_prefix_error(error, "Redis_URL ");
		return NULL;
	}
	c = u.path ? redisConnectUnixWithTimeout(u.path, tv) : redisConnectWithTimeout(u.host, u.port, tv);
	if (c == NULL || c->err) {
		shown = sink_redis_url_display(cfg->redis_url);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "Redis at %s: %s", shown,
			    c ? c->errstr : "out of memory");
		if (c)
			redisFree(c);
		return NULL;
	}
	redisSetTimeout(c, tv);
	if (u.password && u.user && *u.user)	/* a named user (Redis 6 ACL) */
		authed = simple_command(c, error, "AUTH %s %s", u.user, u.password);
	else if (u.password)
		authed = simple_command(c, error, "AUTH %s", u.password);
	if (!authed || (u.db && !simple_command(c, error, "SELECT %d", u.db))) {
		shown = sink_redis_url_display(cfg->redis_url);
		g_prefix_error(error, "Redis at %s: ", shown);
		redisFree(c);
		return NULL;
	}
	return c;
}

/*
 * The connection a process keeps from one message to the next (a server's
 * child, a spool's, runs many): the last message's, when its counters were
 * written without an error, for the Redis_URL it was opened to.  Taken
 * again only by the process that kept it (a fork's copy is the parent's:
 * its descriptor is not even closed, as the number may be another file's
 * by now), within KEPT_IDLE_S of its last use (a NAT or firewall may drop
 * an idle connection without a word, and a write into it would wait out
 * the whole timeout), with nothing pending on it either way, and alive:
 * Redis restarted, or closed it for idling, shows as the end of the
 * stream, and a new one is opened.  A connection costs Redis and us about
 * as much as a message's counters do.
 */
#define KEPT_IDLE_S 30

static struct {
	redisContext *c;
	char *url;
	pid_t pid;
	gint64 since;	/* g_get_monotonic_time() of its last use */
} kept;

static redisContext *
kept_take(const SinkConfig *cfg)
{
	redisContext *c = kept.c;
	char byte;

	if (c == NULL)
		return NULL;
	kept.c = NULL;
	if (kept.pid != getpid()) {
		c->fd = -1;	/* not ours to close */
		redisFree(c);
		return NULL;
	}
	if (g_strcmp0(kept.url, cfg->redis_url) == 0 && c->err == 0 &&
	    g_get_monotonic_time() - kept.since < KEPT_IDLE_S * G_USEC_PER_SEC &&
	    sdslen(c->obuf) == 0 && c->reader->pos == c->reader->len && c->reader->ridx == -1 &&
	    recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return c;
	redisFree(c);
	return NULL;
}

/* ctx's connection kept for the process's next message (ctx no longer has it). */
static void
kept_put(SinkCtx *ctx)
{
	if (ctx->redis == NULL || ctx->redis->err)
		return;
	if (kept.c)
		redisFree(kept.c);
	kept.c = g_steal_pointer(&ctx->redis);
	if (g_strcmp0(kept.url, ctx->cfg->redis_url) != 0) {
		g_free(kept.url);
		kept.url = g_strdup(ctx->cfg->redis_url);
	}
	kept.pid = getpid();
	kept.since = g_get_monotonic_time();
}

void
sink_account_keep(SinkCtx *ctx)
{
	kept_put(ctx);
}

/* Whether `c` died of its timeout: hiredis reports it as the EAGAIN of the read. */
gboolean
sink_redis_hung(const redisContext *c)
{
	return c->err == REDIS_ERR_IO &&
	       (strcmp(c->errstr, g_strerror(EAGAIN)) == 0 || strcmp(c->errstr, g_strerror(EWOULDBLOCK)) == 0);
}

redisContext *
sink_account_redis(SinkCtx *ctx)
{
	g_autoptr(GError) error = NULL;

	/*
	 * A connection an error left dead is not reused: every later command
	 * on it would fail at once.  After a reset or a close (Redis
	 * restarted, or its idle timeout) a new one is opened; after a
	 * timeout it is not, as a Redis that hangs would cost the message
	 * another 2 s for nothing.
	 */
	if (ctx->redis && ctx->redis->err) {
		gboolean hung = sink_redis_hung(ctx->redis);
		redisFree(ctx->redis);
		ctx->redis = NULL;
		if (hung) {
			ctx->redis_failed = TRUE;
			sink_ctx_redis_error(ctx, "Redis gave no answer within 2 s: not asked again for this message");
		}
	}
	if (ctx->redis || ctx->redis_failed)
		return ctx->redis;
	if ((ctx->redis = kept_take(ctx->cfg)) != NULL)
		return ctx->redis;
	ctx->redis = sink_redis_connect(ctx->cfg, REDIS_TIMEOUT_MS, &error);
	if (ctx->redis == NULL) {
		ctx->redis_failed = TRUE;
		sink_ctx_redis_error(ctx, "Redis unreachable: %s", error->message);
	}
	return ctx->redis;
}

/* Why a read on `c` failed, in words. */
static const char *
redis_why(const redisContext *c)
{
	if (sink_redis_hung(c))
		return "no answer within 2 s";
	return c->errstr[0] ? c->errstr : "no reply";
}

/*
 * The commit's commands, one per key: SETNX for startedRunning (counts[0]
 * unused), HINCRBY where the command has a field, else INCRBY.
 */
static void
append_counters(redisContext *c, GPtrArray *keys, GPtrArray *fields, const guint *counts, const char *started)
{
	redisAppendCommand(c, "SETNX %s %s", keys->pdata[0], started);
	for (guint i = 1; i < keys->len; i++) {
		if (fields->pdata[i])
			redisAppendCommand(c, "HINCRBY %s %s %u", keys->pdata[i], fields->pdata[i], counts[i]);
		else
			redisAppendCommand(c, "INCRBY %s %u", keys->pdata[i], counts[i]);
	}
}

/* One more command of the commit: INCRBY `key` n, or HINCRBY `key` `field` n (both owned). */
static void
add_command(GPtrArray *keys, GPtrArray *fields, GArray *counts, char *key, char *field, guint n)
{
	g_ptr_array_add(keys, key);
	g_ptr_array_add(fields, field);
	g_array_append_val(counts, n);
}

void
sink_account_commit(SinkCtx *ctx)
{
	g_autofree char *prefix = sink_config_key_prefix(ctx->cfg);
	g_autofree char *started = g_date_time_format(ctx->now, "%Y-%m-%dT%H:%M:%S+00:00");
	gint64 minute = g_date_time_to_unix(ctx->now) / 60 * 60;
	redisContext *c = sink_account_redis(ctx);
	g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func(g_free);	/* one per command */
	g_autoptr(GPtrArray) fields = g_ptr_array_new_with_free_func(g_free);	/* the HINCRBYs' fields, else NULL */
	g_autoptr(GArray) counts = g_array_new(FALSE, TRUE, sizeof(guint));
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
	g_autofree char *outcomes = NULL;
	gboolean retried = FALSE;

	if (c == NULL)
		return;
	outcomes = g_strdup_printf("%stso_%" G_GINT64_FORMAT, prefix, minute);
	add_command(keys, fields, counts, g_strdup_printf("%sstartedRunning", prefix), NULL, 1);
	add_command(keys, fields, counts, g_strdup_printf("%sint_total_messages", prefix), NULL, 1);
	add_command(keys, fields, counts, g_strdup_printf("%sts_%" G_GINT64_FORMAT, prefix, minute), NULL, 1);
	if (ctx->klass != SINK_CLASS_NONE)
		add_command(keys, fields, counts, g_strdup(outcomes), g_strdup_printf("%s/%s",
			    sink_class_name(ctx->klass), sink_route_name(ctx->route)), 1);
	/* one INCRBY per distinct counter, in the order first met, and its HINCRBY */
	for (guint i = 0; i < ctx->counters->len; i++) {
		const char *name = ctx->counters->pdata[i];
		guint n = 0;

		if (g_hash_table_contains(seen, name))
			continue;
		g_hash_table_add(seen, (gpointer)name);
		for (guint j = i; j < ctx->counters->len; j++)
			n += strcmp(name, ctx->counters->pdata[j]) == 0;
		add_command(keys, fields, counts, g_strdup_printf("%sint_%s", prefix, name), NULL, n);
		if (strcmp(name, "accept") != 0)
			add_command(keys, fields, counts, g_strdup(outcomes), g_strdup(name), n);
	}
	append_counters(c, keys, fields, (const guint *)counts->data, started);
	/* every reply is read: an error on one key (a wrong type, an overflow)
	 * leaves the others written, and each failing key is named */
	ctx->redis_ok = TRUE;
	for (guint i = 0; i < keys->len; i++) {
		redisReply *r = NULL;
		if (redisGetReply(c, (void **)&r) != REDIS_OK || r == NULL) {
			/* closed before it answered anything (its idle timeout,
			 * a restart): nothing was counted, so once more on a new
			 * connection; a Redis that hangs is not asked twice */
			if (i == 0 && !retried && !sink_redis_hung(c)) {
				retried = TRUE;
				redisFree(ctx->redis);
				ctx->redis = NULL;
				if ((c = sink_account_redis(ctx)) == NULL) {
					ctx->redis_ok = FALSE;
					return;
				}
				append_counters(c, keys, fields, (const guint *)counts->data, started);
				i = (guint)-1;
				continue;
			}
			sink_ctx_redis_error(ctx, "Redis counters not all written: %s", redis_why(c));
			ctx->redis_ok = FALSE;
			break;
		}
		if (r->type == REDIS_REPLY_ERROR) {
			if (fields->pdata[i])
				sink_ctx_redis_error(ctx, "Redis counter %s field %s not written: %s",
						     (char *)keys->pdata[i], (char *)fields->pdata[i], r->str);
			else
				sink_ctx_redis_error(ctx, "Redis counter %s not written: %s", (char *)keys->pdata[i],
						     r->str);
			ctx->redis_ok = FALSE;
		}
		freeReplyObject(r);
	}
	if (ctx->redis_ok)
		kept_put(ctx);
}
