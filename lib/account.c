/*
 * account.c - counters in Redis, with the original's key names so its
 * dashboards and sink-stats read them: <prefix>int_<name>, startedRunning
 * and ts_<unix minute>, where <prefix> is "consume-mail:<RESULTS_KEY>:".
 * One pipelined round trip per message.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/time.h>

#include "account.h"

#define REDIS_TIMEOUT_MS 2000

/* Split a Redis URL into a unix socket path or host and port, db, password. */
static gboolean
parse_url(const char *url, char **path, char **host, int *port, int *db, char **password)
{
	const char *p = url;

	*path = *host = *password = NULL;
	*port = 6379;
	*db = 0;
	if (g_str_has_prefix(p, "unix://"))
		p += 7;
	else if (g_str_has_prefix(p, "unix:"))
		p += 5;
	if (p != url || *p == '/') {
		if (*p != '/')
			return FALSE;
		*path = g_strdup(p);
		return TRUE;
	}
	if (g_str_has_prefix(p, "redis://"))
		p += 8;
	const char *at = strrchr(p, '@');
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		if (colon)
			*password = g_strndup(colon + 1, (size_t)(at - colon - 1));
		p = at + 1;
	}
	const char *slash = strchr(p, '/');
	g_autofree char *hostport = slash ? g_strndup(p, (size_t)(slash - p)) : g_strdup(p);
	if (slash && slash[1]) {
		guint64 n;
		if (!g_ascii_string_to_unsigned(slash + 1, 10, 0, 1000, &n, NULL))
			return FALSE;
		*db = (int)n;
	}
	char *colon = strrchr(hostport, ':');
	if (colon) {
		guint64 n;
		if (!g_ascii_string_to_unsigned(colon + 1, 10, 1, 65535, &n, NULL))
			return FALSE;
		*port = (int)n;
		*colon = '\0';
	}
	*host = g_strdup(*hostport ? hostport : "127.0.0.1");
	return TRUE;
}

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
	g_autofree char *path = NULL, *host = NULL, *password = NULL;
	int port, db;
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	redisContext *c;

	if (!parse_url(cfg->redis_url, &path, &host, &port, &db, &password)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "Redis_URL \"%s\" is not redis://host:port[/db] or unix:/path", cfg->redis_url);
		return NULL;
	}
	c = path ? redisConnectUnixWithTimeout(path, tv) : redisConnectWithTimeout(host, port, tv);
	if (c == NULL || c->err) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "Redis at %s: %s", cfg->redis_url,
			    c ? c->errstr : "out of memory");
		if (c)
			redisFree(c);
		return NULL;
	}
	redisSetTimeout(c, tv);
	if ((password && !simple_command(c, error, "AUTH %s", password)) ||
	    (db && !simple_command(c, error, "SELECT %d", db))) {
		g_prefix_error(error, "Redis at %s: ", cfg->redis_url);
		redisFree(c);
		return NULL;
	}
	return c;
}

redisContext *
sink_account_redis(SinkCtx *ctx)
{
	g_autoptr(GError) error = NULL;

	if (ctx->redis || ctx->redis_failed)
		return ctx->redis;
	ctx->redis = sink_redis_connect(ctx->cfg, REDIS_TIMEOUT_MS, &error);
	if (ctx->redis == NULL) {
		ctx->redis_failed = TRUE;
		sink_ctx_error(ctx, "Redis unreachable: %s", error->message);
	}
	return ctx->redis;
}

void
sink_account_commit(SinkCtx *ctx)
{
	g_autofree char *prefix = sink_config_key_prefix(ctx->cfg);
	g_autofree char *started = g_date_time_format(ctx->now, "%Y-%m-%dT%H:%M:%S+00:00");
	gint64 minute = g_date_time_to_unix(ctx->now) / 60 * 60;
	redisContext *c = sink_account_redis(ctx);
	guint sent = 0;

	if (c == NULL)
		return;
	redisAppendCommand(c, "SETNX %sstartedRunning %s", prefix, started);
	redisAppendCommand(c, "INCR %sint_total_messages", prefix);
	redisAppendCommand(c, "INCR %sts_%" G_GINT64_FORMAT, prefix, minute);
	sent = 3;
	/* one INCRBY per distinct counter, in the order first met */
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
	for (guint i = 0; i < ctx->counters->len; i++) {
		const char *name = ctx->counters->pdata[i];
		guint n = 0;

		if (g_hash_table_contains(seen, name))
			continue;
		g_hash_table_add(seen, (gpointer)name);
		for (guint j = i; j < ctx->counters->len; j++)
			n += strcmp(name, ctx->counters->pdata[j]) == 0;
		redisAppendCommand(c, "INCRBY %sint_%s %u", prefix, name, n);
		sent++;
	}
	ctx->redis_ok = TRUE;
	for (guint i = 0; i < sent; i++) {
		redisReply *r = NULL;
		if (redisGetReply(c, (void **)&r) != REDIS_OK || r == NULL || r->type == REDIS_REPLY_ERROR) {
			sink_ctx_error(ctx, "Redis counters not all written: %s",
				       r ? r->str : c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK)
				       ? "no answer within 2 s" : c->errstr[0] ? c->errstr : "no reply");
			ctx->redis_ok = FALSE;
			if (r)
				freeReplyObject(r);
			break;
		}
		freeReplyObject(r);
	}
}
