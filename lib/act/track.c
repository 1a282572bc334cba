/*
 * track.c - is this URL's host a tracking host (SparkPost's click and open
 * tracking), so that a reader's fetch of it is what the sender wants?
 *
 * Three sources, in order:
 *   1. Tracking_Domains_Allowlist: the host exactly, lower case.
 *   2. The verdict another sink-filter run cached in Redis under
 *      <prefix><scheme>://<host[:port]> ("1" or "0"; the original's older
 *      "True"/"False" are read too), for an hour.
 *   3. A probe: GET <scheme>://<host[:port]>/f/a, headers only, redirects
 *      not followed; a tracking host answers with Server: msys-http
 *      (Tracking_Server_Header), whatever the status.
 * All hosts of a message are read from Redis in one pipelined round trip
 * and probed in parallel, each at most once.  A probe that gets no answer
 * (timeout, connection refused, refused address) leaves the host
 * undecided and uncached: it counts as not tracking for this message only.
 * A refused address is logged as an error (a safety event); a dead host
 * as a plain note (links to dead hosts are common in mail).
 */
#include <string.h>

#include <hiredis/hiredis.h>

#include "account.h"
#include "fetch.h"
#include "sink-build.h"
#include "track.h"

#define TRACK_CACHE_SECONDS 3600

void
sink_track_host_free(gpointer p)
{
	SinkTrackHost *h = p;

	if (h == NULL)
		return;
	g_free(h->origin);
	g_free(h->host);
	g_free(h);
}

static gboolean
allowlisted(const SinkConfig *cfg, const char *host)
{
	for (char **d = cfg->tracking_domains_allowlist; d && *d; d++)
		if (strcmp(*d, host) == 0)
			return TRUE;
	return FALSE;
}

static SinkTrackVerdict
cached_verdict(const redisReply *r)
{
	if (r == NULL || r->type != REDIS_REPLY_STRING)
		return SINK_TRACK_UNKNOWN;
	if (strcmp(r->str, "1") == 0 || strcmp(r->str, "True") == 0)
		return SINK_TRACK_YES;
	if (strcmp(r->str, "0") == 0 || strcmp(r->str, "False") == 0)
		return SINK_TRACK_NO;
	return SINK_TRACK_UNKNOWN;
}

/*
 * Send one command per host of todo[0..n) (a GET of its cached verdict,
 * or a SET of its verdict) and read the replies; GET replies set the
 * verdicts.  FALSE when Redis failed (the error is recorded).
 */
static gboolean
redis_round(SinkCtx *ctx, redisContext *c, SinkTrackHost *const *todo, guint n, gboolean set)
{
	g_autofree char *prefix = sink_config_key_prefix(ctx->cfg);

	for (guint i = 0; i < n; i++) {
		SinkTrackHost *h = todo[i];
		if (set)
			redisAppendCommand(c, "SET %s%s %s EX %d", prefix, h->origin,
					   h->verdict == SINK_TRACK_YES ? "1" : "0", TRACK_CACHE_SECONDS);
		else
			redisAppendCommand(c, "GET %s%s", prefix, h->origin);
	}
	for (guint i = 0; i < n; i++) {
		SinkTrackHost *h = todo[i];
		redisReply *r = NULL;

		if (redisGetReply(c, (void **)&r) != REDIS_OK || r == NULL) {
			sink_ctx_redis_error(ctx, "Redis tracking-host cache: %s", c->errstr[0] ? c->errstr : "no reply");
			return FALSE;
		}
		if (r->type == REDIS_REPLY_ERROR) {
			sink_ctx_redis_error(ctx, "Redis tracking-host cache: %s", r->str);
		} else if (!set) {
			h->verdict = cached_verdict(r);
			if (h->verdict != SINK_TRACK_UNKNOWN)
				h->how = "cache";
		}
		freeReplyObject(r);
	}
	return TRUE;
}

static void
probe(SinkCtx *ctx, GPtrArray *todo)
{
	g_autofree SinkFetch *probes = g_new0(SinkFetch, todo->len);
	SinkFetchOptions opt = {
		.user_agent = "bouncy-sink/" SINK_VERSION " (tracking host check)",
		.timeout_ms = ctx->cfg->open_click_timeout * 1000,
		.deadline = ctx->deadline,
		.allow_private = ctx->cfg->fetch_allow_private,
		.want_server = TRUE,
	};

	for (guint i = 0; i < todo->len; i++)
		probes[i].url = g_strconcat(((SinkTrackHost *)todo->pdata[i])->origin, "/f/a", NULL);
	sink_fetch_all(probes, todo->len, &opt);
	for (guint i = 0; i < todo->len; i++) {
		SinkTrackHost *h = todo->pdata[i];
		SinkFetch *p = &probes[i];

		if (p->refused) {	/* a safety refusal is worth a look */
			sink_ctx_error(ctx, "tracking-host probe %s: %s", p->url, p->error);
		} else if (p->error) {	/* a dead or slow host is common in mail: noted */
			sink_ctx_note(ctx, "probe %s: %s: not a tracking host for this message", p->url, p->error);
		} else {
			h->verdict = g_strcmp0(p->server, ctx->cfg->tracking_server_header) == 0
				     ? SINK_TRACK_YES : SINK_TRACK_NO;
			h->how = "probe";
			if (ctx->verbose || h->verdict == SINK_TRACK_NO)
				sink_ctx_note(ctx, "probe %s: %d, Server: %s: %s", p->url, p->status,
					      p->server ? p->server : "(none)",
					      h->verdict == SINK_TRACK_YES ? "tracking host" : "not a tracking host");
		}
		sink_fetch_clear(p);
	}
}

SinkTrackVerdict
sink_track_known(SinkCtx *ctx, const char *origin, const char *host)
{
	SinkTrackHost h = { (char *)origin, (char *)host, SINK_TRACK_UNKNOWN, NULL };
	SinkTrackHost *one = &h;
	redisContext *c;

	if (allowlisted(ctx->cfg, host))
		return SINK_TRACK_YES;
	if ((c = sink_account_redis(ctx)) != NULL)
		redis_round(ctx, c, &one, 1, FALSE);
	return h.verdict;
}

void
sink_track_resolve(SinkCtx *ctx, GPtrArray *hosts)
{
	g_autoptr(GPtrArray) todo = g_ptr_array_new();
	g_autoptr(GPtrArray) probed = g_ptr_array_new();
	redisContext *c = NULL;

	for (guint i = 0; i < hosts->len; i++) {
		SinkTrackHost *h = hosts->pdata[i];
		if (h->verdict != SINK_TRACK_UNKNOWN)
			continue;
		if (allowlisted(ctx->cfg, h->host)) {
			h->verdict = SINK_TRACK_YES;
			h->how = "allowlist";
		} else {
			g_ptr_array_add(todo, h);
		}
	}
	if (todo->len == 0)
		return;

	c = sink_account_redis(ctx);
	if (c && !redis_round(ctx, c, (SinkTrackHost **)todo->pdata, todo->len, FALSE))
		c = NULL;

	g_ptr_array_set_size(todo, 0);
	for (guint i = 0; i < hosts->len; i++)
		if (((SinkTrackHost *)hosts->pdata[i])->verdict == SINK_TRACK_UNKNOWN)
			g_ptr_array_add(todo, hosts->pdata[i]);
	if (todo->len == 0)
		return;
	probe(ctx, todo);

	for (guint i = 0; i < todo->len; i++)
		if (((SinkTrackHost *)todo->pdata[i])->verdict != SINK_TRACK_UNKNOWN)
			g_ptr_array_add(probed, todo->pdata[i]);
	if (c && probed->len)
		redis_round(ctx, c, (SinkTrackHost **)probed->pdata, probed->len, TRUE);
}
