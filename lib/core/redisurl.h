/*
 * redisurl.h - Redis_URL, as the config checks it and accounting connects
 * with it: unix:/path (or unix:///path, or /path), else
 * [redis://][[user]:password@]host[:port][/db] as GUri splits it (an IPv6
 * host in brackets, the credentials percent-decoded).
 */
#ifndef SINK_REDISURL_H
#define SINK_REDISURL_H

#include <glib.h>

/* A Redis URL's parts: a unix socket path, or a host and port; the database; the credentials. */
typedef struct {
	char *path, *host, *user, *password;
	int port, db;
} SinkRedisUrl;

/* sink_redis_url_parse: split `url` into *u (cleared with sink_redis_url_clear, also on FALSE). */
gboolean sink_redis_url_parse(const char *url, SinkRedisUrl *u);

/* sink_redis_url_clear: free u's strings. */
void sink_redis_url_clear(SinkRedisUrl *u);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SinkRedisUrl, sink_redis_url_clear)

/*
 * sink_redis_url_display: `url` fit for a log or an error message: its
 * password, if any, hidden.  g_free.
 */
char *sink_redis_url_display(const char *url);

/*
 * sink_redis_url_check: whether `url` is a Redis_URL the accounting can
 * connect to; FALSE with `error` saying what is accepted (the URL shown
 * without its password).
 */
gboolean sink_redis_url_check(const char *url, GError **error);

#endif
