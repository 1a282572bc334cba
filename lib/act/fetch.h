/*
 * fetch.h - fetching a batch of URLs in parallel as a mail reader would
 * (libcurl multi): GET, HEAD or a form POST, headers only, redirects
 * followed as far as asked and where the caller allows, no cookies, no
 * Referer, each fetch under a timeout, the batch under the message's
 * deadline, and no connection to a private or special-purpose address (on
 * any hop) unless allowed.
 */
#ifndef SINK_FETCH_H
#define SINK_FETCH_H

#include <sys/socket.h>

#include <glib.h>

#include "context.h"

/* A browser's Accept: for a page (a click, an unsubscribe link). */
#define SINK_ACCEPT_PAGE "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"

/* One URL to fetch and, after sink_fetch_all, what came of it. */
typedef struct {
	char *url;		/* owned; set by the caller */
	int status;		/* HTTP status of the response; 0 when none came */
	char *error;		/* owned; NULL when a response came */
	char *server;		/* owned; the Server: header, when asked for */
	char *address;		/* owned; the IP address connected to, if any */
	gboolean refused;	/* the address was refused by the safety rules */
	gboolean timed_out;	/* the fetch or the batch ran out of time */
	double seconds;		/* wall time of the fetch, its redirects included */
	GArray *hops;		/* owned; SinkHop: each redirect followed; NULL when none */
	char *location;		/* owned; a 3xx's Location (absolute) when it was not followed (max_redirects 0) */
	char *stopped;		/* owned; a redirect the caller's rule did not follow, and why; NULL when none */
} SinkFetch;

/*
 * Whether a redirect to `origin` ("scheme://host[:port]", lower case) may
 * be followed: NULL when it may, else a static phrase saying why not.
 */
typedef const char *(*SinkFetchRedirectCheck)(gpointer data, const char *origin, const char *host);

typedef struct {
	const char *user_agent;	/* NULL: libcurl sends none */
	const char *accept;	/* the Accept: header; NULL for none */
	int timeout_ms;		/* per fetch */
	gint64 deadline;	/* g_get_monotonic_time() limit for the batch; 0 = none */
	gboolean allow_private;	/* allow loopback, private and special addresses */
	gboolean want_server;	/* keep the Server: header */
	int max_redirects;	/* redirects followed, to any http(s) URL; 0 = none (the 3xx is the result) */
	const char *max_redirects_name;	/* the limit's name in an error past it; NULL: "Max_Redirects" */
	SinkFetchRedirectCheck redirect_check;	/* NULL: any host; else asked before each hop */
	gpointer redirect_data;	/* for redirect_check */
	gboolean head;		/* HEAD instead of GET */
	const char *post;	/* NULL: GET (or HEAD); else POST these form fields, "name=value&..." (urlencoded) */
	gboolean post_multipart;	/* send the fields as multipart/form-data (RFC 7578) instead */
	gboolean no_credentials;	/* a URL's user:password@ is dropped, never sent */
} SinkFetchOptions;

/*
 * sink_fetch_all: fetch items[0..n) in parallel (at most 6 at a time per
 * origin, 64 in all, in order; each one's timeout counts from its own
 * start and covers its redirects) and fill in their results: `status` is
 * the last response's.  Never fails as a whole: each item says what
 * happened to it.
 */
void sink_fetch_all(SinkFetch *items, guint n, const SinkFetchOptions *opt);

/* sink_fetch_clear: free an item's strings (not the item). */
void sink_fetch_clear(SinkFetch *f);

/*
 * sink_fetch_address_allowed: whether `sa` (AF_INET or AF_INET6) is a
 * public unicast address.  When not, and `why` is not NULL, *why is set
 * to a new string naming the address and its range (g_free).
 */
gboolean sink_fetch_address_allowed(const struct sockaddr *sa, char **why);

/*
 * sink_url_parse: check `url` as libcurl will read it and split it.
 * Returns the URL normalised (spaces and non-ASCII percent-encoded; g_free)
 * and sets *origin to "scheme://host[:port]" (lower case, default port
 * left out) and *host to the host name, both g_free; NULL when `url` is
 * not a usable http(s) URL.
 */
char *sink_url_parse(const char *url, char **origin, char **host);

#endif
