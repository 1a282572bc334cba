/*
 * redisurl.c - Redis_URL: its forms, how it is shown without its password,
 * and the check the config makes when it loads.  Shared by config.c (the
 * check) and account.c (the connection), so that neither needs the other.
 */
#include <string.h>

#include "redisurl.h"

void
sink_redis_url_clear(SinkRedisUrl *u)
{
	g_free(u->path);
	g_free(u->host);
	g_free(u->user);
	g_free(u->password);
}

/* `url` as GUri reads it, "redis://" put in front when it names no scheme; NULL when it is no URI. */
static GUri *
redis_uri(const char *url)
{
	g_autofree char *full = strstr(url, "://") ? g_strdup(url) : g_strconcat("redis://", url, NULL);

	return g_uri_parse(full, G_URI_FLAGS_HAS_PASSWORD, NULL);
}

gboolean
sink_redis_url_parse(const char *url, SinkRedisUrl *u)
{
	const char *p = url;
	g_autoptr(GUri) uri = NULL;
	const char *path;
	guint64 n;

	*u = (SinkRedisUrl){ .port = 6379 };
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
	uri = redis_uri(url);
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

char *
sink_redis_url_display(const char *url)
{
	g_autoptr(GUri) uri = NULL;
	const char *at, *start;

	if (url == NULL)
		return g_strdup("");
	uri = redis_uri(url);
	if (uri && g_uri_get_password(uri)) {	/* "redis://user@host" then, marked "redis://user:***@host" */
		g_autofree char *hidden = g_uri_to_string_partial(uri, G_URI_HIDE_PASSWORD);
		const char *user_end = strchr(strstr(hidden, "://") + 3, '@');
		if (user_end == NULL)
			return g_steal_pointer(&hidden);
		return g_strdup_printf("%.*s:***%s", (int)(user_end - hidden), hidden, user_end);
	}
	if (uri)
		return g_strdup(url);
	/* not a URI at all: whatever stands before the last '@' may be a secret */
	at = strrchr(url, '@');
	if (at == NULL)
		return g_strdup(url);
	start = strstr(url, "://") ? strstr(url, "://") + 3 : url;
	if (start > at)
		start = url;
	return g_strdup_printf("%.*s***%s", (int)(start - url), url, at);
}

gboolean
sink_redis_url_check(const char *url, GError **error)
{
	g_auto(SinkRedisUrl) u = { NULL };

	if (sink_redis_url_parse(url, &u))
		return TRUE;
	g_autofree char *shown = sink_redis_url_display(url);
	g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
		    "\"%s\" is not redis://[[user]:password@]host[:port][/db] or unix:/path", shown);
	return FALSE;
}
