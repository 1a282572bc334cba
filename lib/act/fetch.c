/*
 * fetch.c - parallel HTTP fetches for opens, clicks and tracking-host
 * probes, with libcurl's multi interface.
 *
 * A reader's mail client GETs each pixel and a click GETs the link: so a
 * GET (a HEAD only when asked: a link scanner's first look) with the
 * message's User-Agent, but only the response's headers are waited for:
 * the write callback stops the transfer at the first byte of the body.
 * Redirects are followed as a browser does, as far as the caller asks
 * (Max_Redirects for opens and clicks, none for the tracking-host probe),
 * to any http(s) URL unless the caller's check refuses the host (a link
 * scanner stays on tracking hosts), with the same User-Agent and method:
 * this file follows them itself rather than libcurl, so that every hop is
 * recorded, and each hop's connection passes the same address check as
 * the first.  No cookie engine is started, no Referer is sent, environment
 * proxies are ignored, only http and https are spoken.
 *
 * A fetch may be a form POST instead (RFC 8058's one-click unsubscribe):
 * the fields urlencoded or as multipart/form-data, never an Expect:
 * 100-continue wait, and with no_credentials a URL's user:password@ is
 * dropped, so no Authorization goes out.  A 3xx that is not followed keeps
 * its Location for the caller to report.
 *
 * Safety: message bodies are written by strangers, so a URL may point at
 * the sink's own network.  Unless Fetch_Allow_Private is set, the address
 * curl is about to connect to (after DNS, per attempt: the open-socket
 * callback) must be public unicast (fetchaddr.c decides), so DNS tricks
 * cannot get around it.
 *
 * Parallel as a browser is: all at once, but at most 6 at a time to one
 * origin (and 64 in all); the others wait for a slot, and each fetch's own
 * timeout starts when it starts.  The batch stops at the message's
 * deadline whatever is still running or waiting.
 */
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <curl/curl.h>

#include "fetch.h"

/* At most this many fetches run at once to one origin (as browsers do) and in all. */
#define FETCH_HOST_ACTIVE 6
#define FETCH_TOTAL_ACTIVE 64

/* ---- URLs ------------------------------------------------------------------------------------------------- */

char *
sink_url_parse(const char *url, char **origin, char **host)
{
	CURLU *u = curl_url();
	char *full = NULL, *scheme = NULL, *h = NULL, *port = NULL;
	char *result = NULL;

	*origin = *host = NULL;
	if (u == NULL)
		return NULL;
	if (curl_url_set(u, CURLUPART_URL, url, CURLU_ALLOW_SPACE | CURLU_URLENCODE) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK || *h == '\0')
		goto done;
	if (g_ascii_strcasecmp(scheme, "http") != 0 && g_ascii_strcasecmp(scheme, "https") != 0)
		goto done;
	curl_url_get(u, CURLUPART_PORT, &port, CURLU_NO_DEFAULT_PORT);	/* none: the scheme's default */
	*host = g_ascii_strdown(h, -1);
	*origin = g_strdup_printf("%s://%s%s%s", scheme, *host, port ? ":" : "", port ? port : "");
	{
		char *lower = g_ascii_strdown(*origin, -1);
		g_free(*origin);
		*origin = lower;
	}
	result = g_strdup(full);
done:
	curl_free(full);
	curl_free(scheme);
	curl_free(h);
	curl_free(port);
	curl_url_cleanup(u);
	return result;
}

/* ---- transfers ------------------------------------------------------------------------------------------- */

typedef enum {
	T_WAITING,	/* not started: its host or the batch is at its connection limit */
	T_RUNNING,
	T_DONE,
} TransferState;

typedef struct {
	SinkFetch *item;
	const SinkFetchOptions *opt;
	char *url;		/* what is requested: the item's URL, without credentials when asked */
	curl_mime *mime;	/* a multipart/form-data POST's body */
	char *host_key;		/* the URL's origin: at most FETCH_HOST_ACTIVE of one run at once */
	CURL *easy;
	TransferState state;
	gint64 started;
	guint hops;		/* redirects followed so far */
	gboolean body_seen;	/* the transfer was stopped at its body, on purpose */
	char errbuf[CURL_ERROR_SIZE];
} Transfer;

/* One sink_fetch_all call. */
typedef struct {
	const SinkFetchOptions *opt;
	CURLM *multi;
	struct curl_slist *headers;
	Transfer *t;
	guint n;
	guint first_waiting;	/* no T_WAITING transfer before this index */
	guint active;
	GHashTable *per_host;	/* host_key -> number running */
} FetchRun;

static void
global_init(void)
{
	static gsize once;

	if (g_once_init_enter(&once)) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		g_once_init_leave(&once, 1);
	}
}

/* The body is not wanted: stop the transfer at its first byte. */
static size_t
on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	Transfer *t = userdata;

	t->body_seen = TRUE;
	return 0;
}

static size_t
on_header(char *line, size_t size, size_t nmemb, void *userdata)
{
	Transfer *t = userdata;
	size_t len = size * nmemb;

	if (!t->opt->want_server)
		return len;
	if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {	/* a new response (after a 1xx): forget the last */
		g_clear_pointer(&t->item->server, g_free);
	} else if (len >= 7 && g_ascii_strncasecmp(line, "Server:", 7) == 0) {
		g_free(t->item->server);
		t->item->server = g_strstrip(g_strndup(line + 7, len - 7));
	}
	return len;
}

static curl_socket_t
on_open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *address)
{
	Transfer *t = clientp;
	char text[INET6_ADDRSTRLEN] = "";
	char *why = NULL;

	if (address->family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&address->addr)->sin_addr, text, sizeof text);
	else if (address->family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&address->addr)->sin6_addr, text, sizeof text);
	g_free(t->item->address);
	t->item->address = g_strdup(text);
	if (!t->opt->allow_private && !sink_fetch_address_allowed(&address->addr, &why)) {
		g_free(t->item->error);
		t->item->error = g_strdup_printf("refused: %s; Fetch_Allow_Private is off", why);
		t->item->refused = TRUE;
		g_free(why);
		return CURL_SOCKET_BAD;
	}
	return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

static gint64
ms_left(const SinkFetchOptions *opt)
{
	return opt->deadline ? (opt->deadline - g_get_monotonic_time()) / 1000 : G_MAXINT;
}

/* The form fields "a=1&b=2" as multipart/form-data parts (names and values percent-decoded). */
static curl_mime *
form_mime(CURL *e, const char *fields)
{
	curl_mime *mime = curl_mime_init(e);
	g_auto(GStrv) pairs = g_strsplit(fields, "&", -1);

	for (char **p = pairs; mime && *p; p++) {
		char *eq = strchr(*p, '=');
		g_autofree char *name = g_uri_unescape_segment(*p, eq, NULL);
		g_autofree char *value = g_uri_unescape_string(eq ? eq + 1 : "", NULL);
		curl_mimepart *part = curl_mime_addpart(mime);

		if (part == NULL || name == NULL || value == NULL) {
			curl_mime_free(mime);
			return NULL;
		}
		curl_mime_name(part, name);
		curl_mime_data(part, value, CURL_ZERO_TERMINATED);
	}
	return mime;
}

static CURL *
easy_new(Transfer *t, struct curl_slist *headers, long timeout_ms)
{
	CURL *e = curl_easy_init();

	if (e == NULL)
		return NULL;
	curl_easy_setopt(e, CURLOPT_URL, t->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, t);
	if (t->opt->head)
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	else
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_QUICK_EXIT, 1L);	/* do not wait for a resolver thread at the deadline */
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t);
	if (t->opt->user_agent)
		curl_easy_setopt(e, CURLOPT_USERAGENT, t->opt->user_agent);
	if (headers)
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
	if (t->opt->post && t->opt->post_multipart) {
		if ((t->mime = form_mime(e, t->opt->post)) == NULL) {
			curl_easy_cleanup(e);
			return NULL;
		}
		curl_easy_setopt(e, CURLOPT_MIMEPOST, t->mime);
	} else if (t->opt->post) {
		curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, t->opt->post);	/* application/x-www-form-urlencoded */
	}
	return e;
}

/* `url` without its user:password@ (and login options); NULL when it cannot be read.  g_free. */
static char *
without_credentials(const char *url)
{
	CURLU *u = curl_url();
	char *full = NULL, *result = NULL;

	if (u && curl_url_set(u, CURLUPART_URL, url, CURLU_ALLOW_SPACE | CURLU_URLENCODE) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_USER, NULL, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_PASSWORD, NULL, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_OPTIONS, NULL, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &full, 0) == CURLUE_OK)
		result = g_strdup(full);
	curl_free(full);
	curl_url_cleanup(u);
	return result;
}

static guint
host_active(FetchRun *run, const char *key)
{
	return GPOINTER_TO_UINT(g_hash_table_lookup(run->per_host, key));
}

static void
host_add(FetchRun *run, const char *key, int delta)
{
	g_hash_table_insert(run->per_host, (gpointer)key, GUINT_TO_POINTER(host_active(run, key) + delta));
}

/* Start waiting transfers, in order, as far as the limits allow; each gets its whole timeout from now. */
static void
start_more(FetchRun *run)
{
	while (run->first_waiting < run->n && run->t[run->first_waiting].state != T_WAITING)
		run->first_waiting++;
	for (guint i = run->first_waiting; i < run->n && run->active < FETCH_TOTAL_ACTIVE; i++) {
		Transfer *t = &run->t[i];
		gint64 left;

		if (t->state != T_WAITING || host_active(run, t->host_key) >= FETCH_HOST_ACTIVE)
			continue;
		t->started = g_get_monotonic_time();
		left = ms_left(run->opt);
		if (left <= 0) {
			t->state = T_DONE;
			t->item->timed_out = TRUE;
			t->item->error = g_strdup("not fetched: the message's time budget is spent");
			continue;
		}
		t->easy = easy_new(t, run->headers, (long)MIN(left, (gint64)run->opt->timeout_ms));
		if (t->easy == NULL || curl_multi_add_handle(run->multi, t->easy) != CURLM_OK) {
			t->state = T_DONE;
			t->item->error = g_strdup("could not start the fetch (out of memory)");
			continue;
		}
		t->state = T_RUNNING;
		run->active++;
		host_add(run, t->host_key, 1);
	}
}

/* The time a transfer has left: its own timeout from its start (redirects included), within the deadline. */
static gint64
transfer_ms_left(const Transfer *t)
{
	gint64 own = t->opt->timeout_ms - (g_get_monotonic_time() - t->started) / 1000;

	return MIN(own, ms_left(t->opt));
}

/*
 * The response's Location, made absolute against the URL it answered (a
 * browser's resolution: relative paths, "//host/...").  libcurl's own
 * CURLINFO_REDIRECT_URL is not there for a transfer stopped at its body,
 * so the header is read and resolved here.  NULL when there is none or it
 * is no URL; g_free.
 */
static char *
location(CURL *easy)
{
	struct curl_header *h = NULL;
	char *base = NULL, *full = NULL, *result = NULL;
	CURLU *u;

	if (curl_easy_header(easy, "Location", 0, CURLH_HEADER, -1, &h) != CURLHE_OK || h->value == NULL ||
	    curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &base) != CURLE_OK || base == NULL ||
	    (u = curl_url()) == NULL)
		return NULL;
	if (curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_URL, h->value, CURLU_ALLOW_SPACE | CURLU_URLENCODE) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &full, 0) == CURLUE_OK)
		result = g_strdup(full);
	curl_free(full);
	curl_url_cleanup(u);
	return result;
}

/*
 * After a 3xx: move the transfer on to where it points, as a browser
 * would.  TRUE when it was restarted there; FALSE when it ends here (no
 * redirect asked for, no Location, too many hops, not http(s), a host the
 * caller's check refuses, no time left), with an error set when the
 * redirect was refused (`stopped` when the caller's rule ended it).
 */
static gboolean
follow(FetchRun *run, Transfer *t)
{
	SinkFetch *f = t->item;
	g_autofree char *to = NULL, *next = NULL, *origin = NULL, *host = NULL;
	const char *why_not;
	gint64 left;

	if (f->status < 300 || f->status > 399 || (to = location(t->easy)) == NULL)
		return FALSE;
	if (t->opt->max_redirects <= 0) {	/* the 3xx is the answer: where it pointed is part of it */
		g_free(f->location);
		f->location = g_steal_pointer(&to);
		return FALSE;
	}
	if (t->hops >= (guint)t->opt->max_redirects) {
		f->error = g_strdup_printf("redirect to %s not followed: more than %s (%d)", to,
					   t->opt->max_redirects_name ? t->opt->max_redirects_name : "Max_Redirects",
					   t->opt->max_redirects);
		return FALSE;
	}
	if ((next = sink_url_parse(to, &origin, &host)) == NULL) {
		f->error = g_strdup_printf("redirect to %s not followed: not an http(s) URL", to);
		return FALSE;
	}
	if (t->opt->redirect_check && (why_not = t->opt->redirect_check(t->opt->redirect_data, origin, host))) {
		f->stopped = g_strdup_printf("redirect to %s not followed: %s", next, why_not);
		return FALSE;
	}
	if ((left = transfer_ms_left(t)) <= 0) {
		f->timed_out = TRUE;
		f->error = g_strdup_printf("redirect to %s not followed: no time left", next);
		return FALSE;
	}
	if (f->hops == NULL) {
		f->hops = g_array_new(FALSE, TRUE, sizeof(SinkHop));
		g_array_set_clear_func(f->hops, sink_hop_clear);
	}
	g_array_append_val(f->hops, ((SinkHop){ g_strdup(next), 0 }));
	t->hops++;
	t->body_seen = FALSE;
	t->errbuf[0] = '\0';
	curl_multi_remove_handle(run->multi, t->easy);
	curl_easy_setopt(t->easy, CURLOPT_URL, next);
	curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, (long)left);
	if (t->opt->post)	/* a browser follows a form's redirect with a GET */
		curl_easy_setopt(t->easy, CURLOPT_HTTPGET, 1L);
	if (curl_multi_add_handle(run->multi, t->easy) != CURLM_OK) {
		f->error = g_strdup_printf("redirect to %s not followed: could not start the fetch", next);
		return FALSE;
	}
	return TRUE;
}

static void
transfer_finish(FetchRun *run, Transfer *t, CURLcode rc)
{
	SinkFetch *f = t->item;
	long status = 0;
	gboolean answered;

	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	answered = rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && t->body_seen && status > 0);
	if (status > 0) {	/* (also when the body then stalled: the status came) */
		f->status = (int)status;
		if (t->hops > 0)
			g_array_index(f->hops, SinkHop, t->hops - 1).status = (int)status;
	}
	if (answered) {
		g_clear_pointer(&f->error, g_free);	/* another address may have been refused first */
		f->refused = FALSE;
		if (follow(run, t))
			return;
	}
	t->state = T_DONE;
	run->active--;
	host_add(run, t->host_key, -1);
	f->seconds = (double)(g_get_monotonic_time() - t->started) / G_USEC_PER_SEC;
	if (answered || f->refused)
		return;		/* (on_open_socket said why it was refused) */
	if (rc == CURLE_OPERATION_TIMEDOUT)
		f->timed_out = TRUE;
	g_free(f->error);
	f->error = g_strdup(t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc));
}

void
sink_fetch_all(SinkFetch *items, guint n, const SinkFetchOptions *opt)
{
	FetchRun run = { .opt = opt, .n = n };
	gboolean broken = FALSE;

	if (n == 0)
		return;
	global_init();
	run.t = g_new0(Transfer, n);
	run.per_host = g_hash_table_new(g_str_hash, g_str_equal);
	for (guint i = 0; i < n; i++) {
		char *origin = NULL, *host = NULL;
		char *url = items[i].url ? sink_url_parse(items[i].url, &origin, &host) : NULL;

		run.t[i].item = &items[i];
		run.t[i].opt = opt;
		run.t[i].url = items[i].url && opt->no_credentials ? without_credentials(items[i].url) : NULL;
		if (run.t[i].url == NULL)
			run.t[i].url = g_strdup(items[i].url ? items[i].url : "");
		run.t[i].host_key = origin ? origin : g_strdup(items[i].url ? items[i].url : "");
		g_free(url);
		g_free(host);
	}
	if (opt->accept) {
		g_autofree char *h = g_strdup_printf("Accept: %s", opt->accept);
		run.headers = curl_slist_append(NULL, h);
	}
	if (opt->post)		/* the body goes at once: no Expect: 100-continue wait */
		run.headers = curl_slist_append(run.headers, "Expect:");
	run.multi = curl_multi_init();
	if (run.multi)
		start_more(&run);

	while (run.active > 0) {
		CURLMsg *msg;
		int queued, running;
		gint64 left;

		if (curl_multi_perform(run.multi, &running) != CURLM_OK) {
			broken = TRUE;
			break;
		}
		while ((msg = curl_multi_info_read(run.multi, &queued)) != NULL) {
			void *t = NULL;
			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
			if (t)
				transfer_finish(&run, t, msg->data.result);
		}
		start_more(&run);
		left = ms_left(opt);
		if (run.active == 0 || left <= 0)
			break;
		curl_multi_poll(run.multi, NULL, 0, (int)MIN(left + 1, 1000), NULL);
	}

	for (guint i = 0; i < n; i++) {
		Transfer *t = &run.t[i];
		if (t->state != T_DONE) {
			t->item->timed_out = !broken && run.multi;
			if (t->state == T_RUNNING)
				t->item->seconds = (double)(g_get_monotonic_time() - t->started) / G_USEC_PER_SEC;
			g_free(t->item->error);
			t->item->error = g_strdup(!run.multi ? "could not start the fetch (out of memory)"
						  : broken ? "libcurl's multi interface failed"
						  : t->state == T_RUNNING ? "stopped at the message's time budget (Message_Timeout)"
						  : "not fetched: the message's time budget is spent");
		}
		if (t->easy) {
			curl_multi_remove_handle(run.multi, t->easy);
			curl_easy_cleanup(t->easy);
		}
		curl_mime_free(t->mime);
		g_free(t->url);
		g_free(t->host_key);
	}
	if (run.multi)
		curl_multi_cleanup(run.multi);
	curl_slist_free_all(run.headers);
	g_hash_table_unref(run.per_host);
	g_free(run.t);
}

void
sink_fetch_clear(SinkFetch *f)
{
	g_clear_pointer(&f->url, g_free);
	g_clear_pointer(&f->error, g_free);
	g_clear_pointer(&f->server, g_free);
	g_clear_pointer(&f->address, g_free);
	g_clear_pointer(&f->hops, g_array_unref);
	g_clear_pointer(&f->location, g_free);
	g_clear_pointer(&f->stopped, g_free);
}
