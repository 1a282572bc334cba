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

/* A Redis URL's parts: a unix socket path, or a host and port; the database; the credentials. */
typedef struct {
	char *path, *host, *user, *password;
	int port, db;
} RedisUrl;

static void
redis_url_clear(RedisUrl *u)
{
	g_free(u->path);
	g_free(u->host);
	g_free(u->user);
	g_free(u->password);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(RedisUrl, redis_url_clear)

/*
 * unix:/path (or unix:///path, or /path), else [redis://][[user]:password@]host[:port][/db]
 * as GUri splits it (an IPv6 host in brackets, the credentials percent-decoded).
 */
static gboolean
parse_url(const char *url, RedisUrl *u)
{
	const char *p = url;
	g_autofree char *full = NULL;
	g_autoptr(GUri) uri = NULL;
	const char *path;
	guint64 n;

	*u = (RedisUrl){ .port = 6379 };
	if (g_str_has_prefix(p, "unix://"))
		p += 7;
	else if (g_str_has_prefix(p, "unix:"))
		p += 5;
	if (p != url || *p == '/') {
		if (*p != '/')
			return FALSE;
		u->path = g_strdup(p);
		return TRUE;
	}
	full = strstr(url, "://") ? g_strdup(url) : g_strconcat("redis://", url, NULL);
	uri = g_uri_parse(full, G_URI_FLAGS_HAS_PASSWORD, NULL);
	if (uri == NULL || g_ascii_strcasecmp(g_uri_get_scheme(uri), "redis") != 0)
		return FALSE;
	u->host = g_strdup(g_uri_get_host(uri) && *g_uri_get_host(uri) ? g_uri_get_host(uri) : "127.0.0.1");
	if (g_uri_get_port(uri) > 0)
		u->port = g_uri_get_port(uri);
	path = g_uri_get_path(uri);
	if (*path == '/')
		path++;
	if (*path) {
		if (!g_ascii_string_to_unsigned(path, 10, 0, 1000, &n, NULL))
			return FALSE;
		u->db = (int)n;
	}
	if (g_uri_get_password(uri)) {
		u->password = g_strdup(g_uri_get_password(uri));
		u->user = g_strdup(g_uri_get_user(uri));	/* "" or NULL: the default user */
	}
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
	g_auto(RedisUrl) u = { NULL };
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	gboolean authed = TRUE;
	redisContext *c;

	if (!parse_url(cfg->redis_url, &u)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "Redis_URL \"%s\" is not redis://[[user]:password@]host[:port][/db] or unix:/path",
			    cfg->redis_url);
		return NULL;
	}
	c = u.path ? redisConnectUnixWithTimeout(u.path, tv) : redisConnectWithTimeout(u.host, u.port, tv);
	if (c == NULL || c->err) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "Redis at %s: %s", cfg->redis_url,
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
