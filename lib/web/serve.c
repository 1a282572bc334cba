/*
 * serve.c - the counters over HTTP: libsoup 3's SoupServer on GLib's main
 * loop, Redis read in worker threads.
 *
 * Design: the main loop never blocks.  A request for a known path pauses
 * its message and hands a job (its own reference to the config, the
 * time, the endpoint) to a GTask worker thread, which connects to Redis,
 * reads the parts the endpoint needs and formats the body; the main loop
 * then answers and unpauses.  Every Redis connect and command in the
 * worker is bounded (SINK_SERVE_REDIS_TIMEOUT_MS), and a timer bounds the
 * whole wait (SINK_SERVE_ANSWER_MS): when it fires first the task's
 * cancellable returns it at once (return-on-cancel), the client gets 503,
 * and the worker's late result is dropped.  So a Redis that hangs costs a
 * client at most the answer time, and other clients nothing.  A client
 * that stalls is libsoup's to wait for (its I/O is non-blocking on the
 * same loop); the socket's timeout closes it after the client timeout.
 *
 * The connections are accepted here (a GSocketService) and handed to
 * libsoup with soup_server_accept_iostream, not by soup_server_listen:
 * the libsoup of Debian 12 (3.2.3) keeps a reference to every socket its
 * own listener accepts, so each connection's descriptor stayed open until
 * the process ran out of them (fixed in libsoup 3.4).  Accepted this way a
 * connection serves one request and is closed (libsoup keeps connections
 * alive for its own listeners only), which is said in "Connection: close";
 * and the idle timeout goes on the socket as it is accepted.
 *
 * The bodies are those of the one-shot modes: the original's JSON
 * shapes (without the final newline, as the original's Flask answered),
 * the Prometheus text, the dashboard.
 */
#include <string.h>

#include <hiredis/hiredis.h>
#include <libsoup/soup.h>

#include "account.h"
#include "dashboard.h"
#include "decide.h"
#include "format.h"
#include "redisurl.h"
#include "serve.h"
#include "sink-build.h"
#include "stats.h"

typedef enum {
	EP_DASHBOARD,
	EP_JSON,
	EP_TS,
	EP_METRICS,
} Endpoint;

static const struct {
	const char *path;
	SinkStatsParts parts;	/* what its body needs from Redis */
	gboolean cors;		/* Access-Control-Allow-Origin: *, as the original's JSON */
	const char *content_type;
} endpoints[] = {
	[EP_DASHBOARD] = { "/", SINK_STATS_ALL, FALSE, "text/html; charset=utf-8" },
	[EP_JSON] = { "/json", SINK_STATS_COUNTERS, TRUE, "application/json" },
	[EP_TS] = { "/json/ts-messages", SINK_STATS_MINUTES, TRUE, "application/json" },
	[EP_METRICS] = { "/metrics", SINK_STATS_COUNTERS, FALSE, "text/plain; version=0.0.4; charset=utf-8" },
};

#define ALLOWED "GET, HEAD, OPTIONS"
/* Connections waiting to be accepted (GLib's default is 10: a burst of clients would wait for SYN retries). */
#define LISTEN_BACKLOG 128
#define TEXT "text/plain; charset=utf-8"

/* The config, shared by the main loop and the workers reading with it (an atomic reference-counted box). */
typedef struct {
	SinkConfig *cfg;
} Conf;

struct SinkServe {
	SoupServer *server;
	GSocketService *service;	/* accepts the connections */
	GSocketAddress *address;	/* where it listens (the port chosen for 0); NULL before */
	Conf *conf;
	guint client_timeout_s;
	SinkServeLogFunc log;
	gpointer log_data;
	GHashTable *pending;	/* Request*: waiting for their worker */
	GHashTable *open;	/* GSocketConnection* -> Lifetime*: the connections open (weak references) */
	gint64 said_full;	/* monotonic: when "too many connections" was last logged */
	char *redis_problem;	/* why the last read failed, until one works: logged once */
};

/* One request waiting for its worker, in the main loop. */
typedef struct {
	SinkServe *serve;	/* NULL once the server is gone */
	SoupServerMessage *msg;	/* a reference */
	Endpoint ep;
	GCancellable *cancel;
	guint timer;
	gulong finished_id;
	gboolean gone;		/* the message finished before its answer (the client or the server closed) */
} Request;

/* What a worker needs, all its own. */
typedef struct {
	Conf *conf;		/* a reference */
	Endpoint ep;
	GDateTime *now;
} Job;

/* A worker's answer. */
typedef struct {
	char *body;
} Reply;

static void
conf_clear(gpointer p)
{
	sink_config_free(((Conf *)p)->cfg);
}

static Conf *
conf_new(SinkConfig *cfg)
{
	Conf *conf = g_atomic_rc_box_new0(Conf);

	conf->cfg = cfg;
	return conf;
}

static void
conf_release(Conf *conf)
{
	g_atomic_rc_box_release_full(conf, conf_clear);
}

static void
job_free(gpointer p)
{
	Job *job = p;

	conf_release(job->conf);
	g_date_time_unref(job->now);
	g_free(job);
}

static void
reply_free(gpointer p)
{
	Reply *reply = p;

	g_free(reply->body);
	g_free(reply);
}

/* ---- answers -------------------------------------------------------------------------------------------- */

static void
answer(SoupServerMessage *msg, guint status, const char *content_type, char *body, gboolean cors)
{
	SoupMessageHeaders *h = soup_server_message_get_response_headers(msg);

	soup_message_headers_replace(h, "Cache-Control", "no-store");
	soup_message_headers_replace(h, "Connection", "close");
	if (cors)
		soup_message_headers_replace(h, "Access-Control-Allow-Origin", "*");
	soup_server_message_set_status(msg, status, NULL);
	/* for HEAD libsoup sends the headers only, the length of this body among them */
	soup_server_message_set_response(msg, content_type, SOUP_MEMORY_TAKE, body, strlen(body));
}

static void
answer_text(SoupServerMessage *msg, guint status, gboolean cors, const char *fmt, ...) G_GNUC_PRINTF(4, 5);

static void
answer_text(SoupServerMessage *msg, guint status, gboolean cors, const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	text = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	answer(msg, status, TEXT, text, cors);
}

/* ---- the worker ----------------------------------------------------------------------------------------- */

/* The endpoint's body for `stats`: the one-shot modes' text (the JSON without its final newline). */
static char *
format_body(const Job *job, const SinkStats *stats)
{
	char *body;
	SinkModel model;
	g_autoptr(GError) error = NULL;

	switch (job->ep) {
	case EP_DASHBOARD:
		if (!sink_model_init(&model, job->conf->cfg, job->now, &error))
			return sink_dashboard_html(stats, NULL, error->message, job->now);
		return sink_dashboard_html(stats, &model, NULL, job->now);
	case EP_METRICS:
		return sink_stats_prometheus(stats);
	case EP_JSON:
	case EP_TS:
		break;
	}
	body = job->ep == EP_JSON ? sink_stats_json(stats) : sink_stats_ts_json(stats);
	g_strchomp(body);
	return body;
}

static void
run_job(GTask *task, gpointer source, gpointer data, GCancellable *cancel)
{
	const Job *job = data;
	const SinkConfig *cfg = job->conf->cfg;
	g_autoptr(GError) error = NULL;
	g_autoptr(SinkStats) stats = NULL;
	g_autofree char *prefix = NULL;
	redisContext *c;
	Reply *reply;

	if (g_task_return_error_if_cancelled(task))	/* its request was answered while it waited for a thread */
		return;
	if ((c = sink_redis_connect(cfg, SINK_SERVE_REDIS_TIMEOUT_MS, &error)) == NULL) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	prefix = sink_config_key_prefix(cfg);
	stats = sink_stats_read(c, prefix, cfg->results_key, job->now, endpoints[job->ep].parts, &error);
	redisFree(c);
	if (stats == NULL) {
		g_autofree char *shown = sink_redis_url_display(cfg->redis_url);
		g_prefix_error(&error, "Redis at %s: ", shown);
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	reply = g_new0(Reply, 1);
	reply->body = format_body(job, stats);
	g_task_return_pointer(task, reply, reply_free);
}

/* ---- requests ------------------------------------------------------------------------------------------- */

static void
request_free(Request *req)
{
	g_clear_handle_id(&req->timer, g_source_remove);
	g_signal_handler_disconnect(req->msg, req->finished_id);
	g_object_unref(req->msg);
	g_object_unref(req->cancel);
	g_free(req);
}

static void
message_finished(SoupServerMessage *msg, gpointer data)
{
	((Request *)data)->gone = TRUE;
}

/* Log Redis going away (once, with why) and coming back. */
static void
redis_state(SinkServe *serve, const char *problem)
{
	g_autofree char *line = NULL;

	if (problem && serve->redis_problem == NULL)
		line = g_strdup_printf("answering 503 while Redis cannot be read: %s", problem);
	else if (problem == NULL && serve->redis_problem)
		line = g_strdup("Redis answers again");
	g_free(serve->redis_problem);
	serve->redis_problem = g_strdup(problem);
	if (line && serve->log)
		serve->log(line, serve->log_data);
}

static void
job_done(GObject *source, GAsyncResult *result, gpointer data)
{
	Request *req = data;
	SinkServe *serve = req->serve;
	g_autoptr(GError) error = NULL;
	Reply *reply = g_task_propagate_pointer(G_TASK(result), &error);
	gboolean cors = endpoints[req->ep].cors;
	g_autofree char *problem = NULL;

	if (serve == NULL) {	/* the server went first */
		if (reply)
			reply_free(reply);
		request_free(req);
		return;
	}
	g_hash_table_remove(serve->pending, req);
	if (reply == NULL)
		problem = g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
				  ? g_strdup_printf("Redis gave no answer within %.1f s", SINK_SERVE_ANSWER_MS / 1000.0)
				  : g_strdup(error->message);
	if (!req->gone) {
		if (reply) {
			answer(req->msg, SOUP_STATUS_OK, endpoints[req->ep].content_type, g_steal_pointer(&reply->body),
			       cors);
		} else {
			soup_message_headers_replace(soup_server_message_get_response_headers(req->msg), "Retry-After",
						     "10");
			answer_text(req->msg, SOUP_STATUS_SERVICE_UNAVAILABLE, cors, "503 the counters cannot be read: %s\n",
				    problem);
		}
		soup_server_message_unpause(req->msg);
	}
	redis_state(serve, problem);
	if (reply)
		reply_free(reply);
	request_free(req);
}

static gboolean
request_timeout(gpointer data)
{
	Request *req = data;

	req->timer = 0;
	g_cancellable_cancel(req->cancel);	/* the task returns now: job_done answers 503 */
	return G_SOURCE_REMOVE;
}

static void
start_request(SinkServe *serve, SoupServerMessage *msg, Endpoint ep)
{
	Request *req = g_new0(Request, 1);
	Job *job = g_new0(Job, 1);
	GTask *task;

	req->serve = serve;
	req->msg = g_object_ref(msg);
	req->ep = ep;
	req->cancel = g_cancellable_new();
	req->finished_id = g_signal_connect(msg, "finished", G_CALLBACK(message_finished), req);
	job->conf = g_atomic_rc_box_acquire(serve->conf);
	job->ep = ep;
	job->now = g_date_time_new_now_utc();

	soup_server_message_pause(msg);
	g_hash_table_add(serve->pending, req);
	req->timer = g_timeout_add(SINK_SERVE_ANSWER_MS, request_timeout, req);
	task = g_task_new(NULL, req->cancel, job_done, req);
	g_task_set_task_data(task, job, job_free);
	g_task_set_return_on_cancel(task, TRUE);
	g_task_run_in_thread(task, run_job);
	g_object_unref(task);
}

/* The endpoint at `path`, or -1. */
static int
endpoint_at(const char *path)
{
	for (int i = 0; i < (int)G_N_ELEMENTS(endpoints); i++)
		if (strcmp(path, endpoints[i].path) == 0)
			return i;
	return -1;
}

/*
 * Each request once its head is read, before its body (libsoup's early
 * handler): no endpoint reads a body, so none is kept (libsoup would
 * otherwise hold all of it before the answer, and a client streaming one
 * would fill the memory); a request with a body, or whose method no
 * endpoint answers, is answered at once and its connection closed, its
 * body unread.
 */
static void
early(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query, gpointer data)
{
	const char *method = soup_server_message_get_method(msg);
	SoupMessageHeaders *req = soup_server_message_get_request_headers(msg);
	SoupMessageHeaders *h = soup_server_message_get_response_headers(msg);
	SoupEncoding body = soup_message_headers_get_encoding(req);
	int ep = endpoint_at(path);
	gboolean cors = ep >= 0 && endpoints[ep].cors;

	soup_message_body_set_accumulate(soup_server_message_get_request_body(msg), FALSE);
	if (method != SOUP_METHOD_GET && method != SOUP_METHOD_HEAD && method != SOUP_METHOD_OPTIONS) {
		soup_message_headers_replace(h, "Allow", ALLOWED);
		soup_message_headers_replace(h, "Connection", "close");
		answer_text(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, cors, "405 %s is not allowed here: %s\n", method,
			    ALLOWED);
	} else if (body == SOUP_ENCODING_CHUNKED ||
		   (body == SOUP_ENCODING_CONTENT_LENGTH && soup_message_headers_get_content_length(req) > 0)) {
		soup_message_headers_replace(h, "Connection", "close");
		answer_text(msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, cors, "413 a %s request has no body here\n", method);
	}
}

static void
handle(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query, gpointer data)
{
	SinkServe *serve = data;
	const char *method = soup_server_message_get_method(msg);
	SoupMessageHeaders *h = soup_server_message_get_response_headers(msg);
	int ep = endpoint_at(path);
	if (method == SOUP_METHOD_OPTIONS && (ep >= 0 || soup_server_message_is_options_ping(msg))) {
		soup_message_headers_replace(h, "Allow", ALLOWED);
		if (ep >= 0 && endpoints[ep].cors) {	/* a browser's preflight */
			soup_message_headers_replace(h, "Access-Control-Allow-Origin", "*");
			soup_message_headers_replace(h, "Access-Control-Allow-Methods", ALLOWED);
			soup_message_headers_replace(h, "Access-Control-Allow-Headers", "Content-Type");
			soup_message_headers_replace(h, "Access-Control-Max-Age", "86400");
		}
		soup_message_headers_replace(h, "Connection", "close");
		soup_server_message_set_status(msg, SOUP_STATUS_NO_CONTENT, NULL);
		return;
	}
	if (ep < 0) {
		answer_text(msg, SOUP_STATUS_NOT_FOUND, FALSE, "404 not found: this server answers %s, %s, %s and %s\n",
			    endpoints[EP_DASHBOARD].path, endpoints[EP_JSON].path, endpoints[EP_TS].path,
			    endpoints[EP_METRICS].path);
		return;
	}
	/* (any other method early() has answered 405) */
	start_request(serve, msg, (Endpoint)ep);
}

/* An open connection's end of life: its timer, and what it is counted in. */
typedef struct {
	SinkServe *serve;
	GSocketConnection *connection;	/* not a reference: Lifetime goes when it does */
	guint timer;
} Lifetime;

/* The connection is gone (libsoup has let go of it): it counts no more. */
static void
connection_gone(gpointer data, GObject *where_it_was)
{
	Lifetime *life = data;

	g_clear_handle_id(&life->timer, g_source_remove);
	g_hash_table_remove(life->serve->open, where_it_was);
	g_free(life);
}

/* Its lifetime is over: shut it down, which libsoup reads as the client's end and closes. */
static gboolean
connection_expired(gpointer data)
{
	Lifetime *life = data;

	life->timer = 0;
	g_socket_shutdown(g_socket_connection_get_socket(life->connection), TRUE, TRUE, NULL);
	return G_SOURCE_REMOVE;
}

/*
 * A new connection: past the most kept open, closed at once; else the idle
 * timeout on its socket (libsoup has none) and a whole lifetime, then it is
 * libsoup's.
 */
static gboolean
incoming(GSocketService *service, GSocketConnection *connection, GObject *source, gpointer data)
{
	SinkServe *serve = data;
	g_autoptr(GSocketAddress) local = NULL, remote = NULL;
	Lifetime *life;

	if (g_hash_table_size(serve->open) >= SINK_SERVE_MAX_CONNECTIONS) {
		gint64 now = g_get_monotonic_time();

		if (serve->said_full == 0 || now - serve->said_full >= 60 * G_USEC_PER_SEC) {
			g_autofree char *line = g_strdup_printf("%d connections open, the most kept: new ones are closed "
								"as they come (said once a minute)",
								SINK_SERVE_MAX_CONNECTIONS);
			serve->said_full = now;
			if (serve->log)
				serve->log(line, serve->log_data);
		}
		g_io_stream_close(G_IO_STREAM(connection), NULL, NULL);
		return TRUE;
	}
	local = g_socket_connection_get_local_address(connection, NULL);
	remote = g_socket_connection_get_remote_address(connection, NULL);
	life = g_new0(Lifetime, 1);
	life->serve = serve;
	life->connection = connection;
	/* (to the millisecond: g_timeout_add_seconds may fire up to a second off) */
	life->timer = g_timeout_add(MIN(serve->client_timeout_s, G_MAXUINT / 1000 / SINK_SERVE_LIFETIME_TIMEOUTS) *
				    1000 * SINK_SERVE_LIFETIME_TIMEOUTS, connection_expired, life);
	g_hash_table_insert(serve->open, connection, life);
	g_object_weak_ref(G_OBJECT(connection), connection_gone, life);
	g_socket_set_timeout(g_socket_connection_get_socket(connection), serve->client_timeout_s);
	soup_server_accept_iostream(serve->server, G_IO_STREAM(connection), local, remote, NULL);
	return TRUE;
}

/* ---- the server ----------------------------------------------------------------------------------------- */

GInetSocketAddress *
sink_serve_parse_address(const char *text, GError **error)
{
	g_autofree char *host = NULL;
	g_autoptr(GInetAddress) ip = NULL;
	const char *port_text = text, *colon;
	guint64 port;

	if (text[0] == '[') {	/* [IPv6]:PORT */
		const char *close = strchr(text, ']');
		if (close == NULL || close[1] != ':') {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "\"%s\": an IPv6 address is written [ADDR]:PORT", text);
			return NULL;
		}
		host = g_strndup(text + 1, (gsize)(close - text - 1));
		port_text = close + 2;
	} else if ((colon = strrchr(text, ':')) != NULL) {
		host = g_strndup(text, (gsize)(colon - text));
		port_text = colon + 1;
	}
	if (!g_ascii_string_to_unsigned(port_text, 10, 0, 65535, &port, NULL)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "\"%s\": the port must be a number from 0 to 65535", text);
		return NULL;
	}
	ip = g_inet_address_new_from_string(host ? host : "127.0.0.1");
	if (ip == NULL || (text[0] != '[' && g_inet_address_get_family(ip) == G_SOCKET_FAMILY_IPV6)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "\"%s\": the address must be an IPv4 address, or an IPv6 one in brackets", text);
		return NULL;
	}
	return G_INET_SOCKET_ADDRESS(g_inet_socket_address_new(ip, (guint16)port));
}

SinkServe *
sink_serve_new(SinkConfig *cfg, guint client_timeout_s, SinkServeLogFunc log, gpointer log_data)
{
	SinkServe *serve = g_new0(SinkServe, 1);

	serve->server = soup_server_new("server-header", "sink-stats/" SINK_VERSION " ", NULL);
	serve->conf = conf_new(cfg);
	serve->client_timeout_s = MAX(client_timeout_s, 1);
	serve->log = log;
	serve->log_data = log_data;
	serve->pending = g_hash_table_new(NULL, NULL);
	serve->open = g_hash_table_new(NULL, NULL);
	soup_server_add_early_handler(serve->server, NULL, early, serve, NULL);
	soup_server_add_handler(serve->server, NULL, handle, serve, NULL);
	serve->service = g_socket_service_new();
	g_socket_listener_set_backlog(G_SOCKET_LISTENER(serve->service), LISTEN_BACKLOG);
	g_signal_connect(serve->service, "incoming", G_CALLBACK(incoming), serve);
	return serve;
}

gboolean
sink_serve_listen(SinkServe *serve, GInetSocketAddress *address, GError **error)
{
	GSocketAddress *effective = NULL;

	if (!g_socket_listener_add_address(G_SOCKET_LISTENER(serve->service), G_SOCKET_ADDRESS(address),
					   G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL, &effective, error))
		return FALSE;
	if (serve->address == NULL)
		serve->address = effective;
	else
		g_object_unref(effective);
	g_socket_service_start(serve->service);
	return TRUE;
}

char *
sink_serve_url(SinkServe *serve)
{
	GInetSocketAddress *a = G_INET_SOCKET_ADDRESS(serve->address);
	g_autofree char *ip = NULL;

	if (a == NULL)
		return NULL;
	ip = g_inet_address_to_string(g_inet_socket_address_get_address(a));
	if (g_inet_address_get_family(g_inet_socket_address_get_address(a)) == G_SOCKET_FAMILY_IPV6)
		return g_strdup_printf("http://[%s]:%u/", ip, g_inet_socket_address_get_port(a));
	return g_strdup_printf("http://%s:%u/", ip, g_inet_socket_address_get_port(a));
}

void
sink_serve_set_config(SinkServe *serve, SinkConfig *cfg)
{
	conf_release(serve->conf);
	serve->conf = conf_new(cfg);
}

void
sink_serve_free(SinkServe *serve)
{
	GHashTableIter it;
	gpointer req, conn, life;

	if (serve == NULL)
		return;
	/* a request still waiting is orphaned: its job_done, should the loop run again, only frees it */
	g_hash_table_iter_init(&it, serve->pending);
	while (g_hash_table_iter_next(&it, &req, NULL)) {
		((Request *)req)->serve = NULL;
		g_clear_handle_id(&((Request *)req)->timer, g_source_remove);
	}
	g_hash_table_unref(serve->pending);
	/* the connections still open outlive it (libsoup's): they forget it */
	g_hash_table_iter_init(&it, serve->open);
	while (g_hash_table_iter_next(&it, &conn, &life)) {
		g_object_weak_unref(conn, connection_gone, life);
		g_clear_handle_id(&((Lifetime *)life)->timer, g_source_remove);
		g_free(life);
	}
	g_hash_table_unref(serve->open);
	g_socket_service_stop(serve->service);
	g_socket_listener_close(G_SOCKET_LISTENER(serve->service));
	g_object_unref(serve->service);
	g_clear_object(&serve->address);
	soup_server_disconnect(serve->server);
	g_object_unref(serve->server);
	conf_release(serve->conf);
	g_free(serve->redis_problem);
	g_free(serve);
}
