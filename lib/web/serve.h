/*
 * serve.h - sink-stats --serve: the counters over HTTP, with libsoup 3's
 * SoupServer on GLib's main loop.
 *
 *   /                    the dashboard (dashboard.h), made per request
 *   /json                the original's /json object          } CORS open,
 *   /json/ts-messages    the original's list of minutes       } as the original
 *   /metrics             Prometheus text exposition (format.h)
 *
 * GET and HEAD (OPTIONS answers what is allowed); another method is 405,
 * another path 404.  Redis is read in a worker thread, each connect and
 * command bounded, and a request that waits for it longer than
 * SINK_SERVE_ANSWER_MS is answered 503 with the reason, as is one Redis
 * refuses: the main loop never waits, so a slow Redis or a slow client
 * holds up no other client.  A connection serves one request
 * ("Connection: close"), and one that stays idle (no byte read or
 * written) for the client timeout is closed, as is one still open after
 * SINK_SERVE_LIFETIME_TIMEOUTS of them (a client trickling its request
 * byte by byte).  At most SINK_SERVE_MAX_CONNECTIONS are open at once.
 *
 * The caller owns the main loop and the process: nothing here prints or
 * exits; what a service should log goes to the log function.
 */
#ifndef SINK_SERVE_H
#define SINK_SERVE_H

#include <gio/gio.h>

#include "config.h"

/* Each Redis connect and command, in a request's worker thread. */
#define SINK_SERVE_REDIS_TIMEOUT_MS 1000
/* A request waits for Redis this long at most, then is answered 503. */
#define SINK_SERVE_ANSWER_MS 1500
/* Connections open at once, at most: one more is closed as it is accepted (said once a minute at most). */
#define SINK_SERVE_MAX_CONNECTIONS 256
/* A connection lasts this many client timeouts at most, however it trickles (one request each). */
#define SINK_SERVE_LIFETIME_TIMEOUTS 3
/* The default listening address: the original's port, on the loopback only. */
#define SINK_SERVE_DEFAULT "127.0.0.1:8888"

typedef struct SinkServe SinkServe;

/* What a service logs: a line without a newline. */
typedef void (*SinkServeLogFunc)(const char *line, gpointer data);

/*
 * sink_serve_parse_address: "[ADDR:]PORT", where ADDR is an IPv4 address
 * or an IPv6 one in brackets ("[::1]:8888") and defaults to 127.0.0.1;
 * PORT 0 asks the system for a free one.  A new address, or NULL with
 * `error` (G_IO_ERROR_INVALID_ARGUMENT) naming what is wrong.
 */
GInetSocketAddress *sink_serve_parse_address(const char *text, GError **error);

/*
 * sink_serve_new: a server for `cfg` (taken; a request that is still
 * reading keeps it alive past sink_serve_set_config and sink_serve_free),
 * closing a client connection idle for `client_timeout_s` seconds (at
 * least 1).  `log` (may be NULL) gets what a service should log: Redis
 * becoming unreachable, and reachable again.  Free with sink_serve_free.
 */
SinkServe *sink_serve_new(SinkConfig *cfg, guint client_timeout_s, SinkServeLogFunc log, gpointer log_data);

/*
 * sink_serve_listen: listen on `address`.  FALSE with `error` when it
 * cannot (G_IO_ERROR_ADDRESS_IN_USE, G_IO_ERROR_PERMISSION_DENIED, ...).
 */
gboolean sink_serve_listen(SinkServe *serve, GInetSocketAddress *address, GError **error);

/* sink_serve_url: "http://127.0.0.1:8888/", the first listening address (the port chosen for 0); g_free. */
char *sink_serve_url(SinkServe *serve);

/* sink_serve_set_config: use `cfg` (taken) from the next request on; the running ones keep theirs. */
void sink_serve_set_config(SinkServe *serve, SinkConfig *cfg);

/*
 * sink_serve_free: stop listening and close the connections.  Call it
 * once the main loop no longer runs: a request still waiting for Redis is
 * then never answered (its worker thread ends within the Redis timeouts).
 * NULL is ok.
 */
void sink_serve_free(SinkServe *serve);

#endif
