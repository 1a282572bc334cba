/*
 * engage.c - the openclick action: the recipient opens the message (its
 * pixels are fetched), maybe opens it again, maybe clicks its links, maybe
 * clicks them again, as sink_decide chose: the plan's opens and clicks
 * (drawn, or as many as the sender asked), the first of each counted
 * open or click, the others open_again or click_again.
 *
 * The HTML part is parsed once.  Only URLs on tracking hosts are fetched
 * (track.c decides, probing each host of the message at most once, all in
 * parallel); the others are counted as <open|click>_url_not_sparkpost in
 * every step that meets them, as the original did.  Each step fetches its
 * URLs in parallel (fetch.c) as the message's one User-Agent, following
 * their redirects to the landing page as the reader's browser would
 * (Max_Redirects hops, to any public host); the steps run in a reader's
 * order, one after the other.  Max_URLs_Per_Message bounds
 * the work two ways, in document order: the hosts of a kind looked up (a
 * URL on a further host is not used) and the tracking URLs a step fetches;
 * so fifty images from other sites never crowd out the open pixel that
 * follows them.  What is not used is counted (<open|click>_url_over_limit,
 * once per step) and noted.
 *
 * With --dry-run the steps and their URLs are recorded as actions without
 * any probe, cache look-up or fetch.
 */
#include <string.h>

#include "engage.h"
#include "fetch.h"
#include "message.h"
#include "track.h"
#include "useragent.h"

#define ACCEPT_IMAGE "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
#define ACCEPT_PAGE "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"

/* One URL of the message, ready to fetch. */
typedef struct {
	char *url;		/* normalised, or as written when it is not a usable URL */
	SinkTrackHost *host;	/* borrowed from the host table; NULL when unusable */
} EngageUrl;

/* The pixels or the links, as the steps use them. */
typedef struct {
	const char *noun;	/* "pixels", "links" */
	const char *accept;
	const char *not_tracking;	/* counter */
	const char *over_limit;		/* counter */
	GArray *urls;		/* EngageUrl: those on the first Max_URLs_Per_Message hosts */
	guint found;		/* http(s) URLs in the HTML, before the cap */
} EngageKind;

static void
engage_url_clear(gpointer p)
{
	g_free(((EngageUrl *)p)->url);
}

/*
 * Take the URLs of `found` on its first Max_URLs_Per_Message hosts (those
 * not met before, among the other kind's, count) into kind, with their new
 * hosts in `hosts`.
 */
static void
kind_init(EngageKind *kind, GPtrArray *found, GHashTable *host_index, GPtrArray *hosts, int cap)
{
	int new_hosts = 0;

	kind->found = found->len;
	kind->urls = g_array_new(FALSE, TRUE, sizeof(EngageUrl));
	g_array_set_clear_func(kind->urls, engage_url_clear);
	for (guint i = 0; i < found->len; i++) {
		EngageUrl u = { NULL, NULL };
		char *origin = NULL, *host = NULL;

		u.url = sink_url_parse(found->pdata[i], &origin, &host);
		if (u.url == NULL) {
			u.url = g_strdup(found->pdata[i]);
		} else if ((u.host = g_hash_table_lookup(host_index, origin)) == NULL) {
			if (new_hosts == cap) {	/* a host past the cap is not looked up */
				g_free(u.url);
				g_free(origin);
				g_free(host);
				continue;
			}
			new_hosts++;
			u.host = g_new0(SinkTrackHost, 1);
			u.host->origin = origin;
			u.host->host = host;
			u.host->verdict = SINK_TRACK_UNKNOWN;
			origin = host = NULL;
			g_hash_table_insert(host_index, u.host->origin, u.host);
			g_ptr_array_add(hosts, u.host);
		}
		g_free(origin);
		g_free(host);
		g_array_append_val(kind->urls, u);
	}
}

/* One step: count it, then fetch its tracking URLs in parallel, one action each. */
static void
run_step(SinkCtx *ctx, const char *type, const EngageKind *kind)
{
	const SinkConfig *cfg = ctx->cfg;
	guint cap = (guint)cfg->max_urls_per_message;
	g_autofree SinkFetch *fetches = g_new0(SinkFetch, MIN(kind->urls->len, cap) + 1);
	guint n = 0, used = 0, over = kind->found - kind->urls->len;	/* (on hosts past the cap) */
	SinkFetchOptions opt = {
		.user_agent = ctx->user_agent,
		.accept = kind->accept,
		.timeout_ms = cfg->open_click_timeout * 1000,
		.deadline = ctx->deadline,
		.allow_private = cfg->fetch_allow_private,
		.max_redirects = cfg->max_redirects,
	};

	sink_ctx_count(ctx, type);
	for (guint i = 0; i < kind->urls->len; i++) {
		const EngageUrl *u = &g_array_index(kind->urls, EngageUrl, i);
		gboolean tracking = u->host && u->host->verdict == SINK_TRACK_YES;

		if (!ctx->dry_run && !tracking) {	/* (a dry run knows no verdicts: any URL may be one) */
			sink_ctx_count(ctx, kind->not_tracking);
			continue;
		}
		if (used == cap) {
			over++;
			continue;
		}
		used++;
		if (ctx->dry_run)
			sink_ctx_action(ctx, type, u->url);
		else
			fetches[n++].url = u->url;	/* borrowed: not cleared below */
	}
	if (over > 0) {
		sink_ctx_count(ctx, kind->over_limit);
		sink_ctx_note(ctx, "%s: %u of %u %s over Max_URLs_Per_Message (%d) not used", type,
			      over, kind->found, kind->noun, cfg->max_urls_per_message);
	}
	if (ctx->dry_run && used > 0)
		return;
	if (n == 0) {	/* the step still shows, with why nothing was fetched */
		SinkAction *a = sink_ctx_action(ctx, type, NULL);
		if (kind->found == 0)
			a->reply = g_strdup_printf("no %s found", kind->noun);
		else if (cap == 0)
			a->reply = g_strdup_printf("no %s used (Max_URLs_Per_Message is 0)", kind->noun);
		else
			a->reply = g_strdup_printf("no %s on tracking hosts", kind->noun);
		return;
	}

	sink_fetch_all(fetches, n, &opt);
	for (guint i = 0; i < n; i++) {
		SinkFetch *f = &fetches[i];
		SinkAction *a = sink_ctx_action(ctx, type, f->url);

		a->status = f->status;
		a->seconds = f->seconds;
		a->hops = g_steal_pointer(&f->hops);
		if (f->error)
			sink_action_fail(a, "%s", f->error);
		f->url = NULL;
		sink_fetch_clear(f);
	}
}

void
sink_engage_run(SinkCtx *ctx)
{
	g_autofree char *html = NULL;
	g_autoptr(GPtrArray) imgs = NULL;
	g_autoptr(GPtrArray) links = NULL;
	g_autoptr(GPtrArray) hosts = NULL;
	g_autoptr(GHashTable) host_index = NULL;
	EngageKind pixels = {
		"pixels", ACCEPT_IMAGE, "open_url_not_sparkpost", "open_url_over_limit", NULL, 0,
	};
	EngageKind clicks = {
		"links", ACCEPT_PAGE, "click_url_not_sparkpost", "click_url_over_limit", NULL, 0,
	};
	int cap = ctx->cfg->max_urls_per_message;

	html = sink_message_html(ctx);
	if (html == NULL) {
		sink_ctx_error(ctx, "No HTML body found");
		return;
	}
	if (ctx->user_agent == NULL) {
		g_autofree char *why = NULL;
		ctx->user_agent = sink_useragent_pick(ctx->cfg, ctx->rng, &why);
		if (why)
			sink_ctx_note(ctx, "%s", why);
	}

	imgs = g_ptr_array_new_with_free_func(g_free);
	links = g_ptr_array_new_with_free_func(g_free);
	sink_html_urls(html, strlen(html), imgs, ctx->plan.clicks > 0 ? links : NULL);

	hosts = g_ptr_array_new_with_free_func(sink_track_host_free);
	host_index = g_hash_table_new(g_str_hash, g_str_equal);
	kind_init(&pixels, imgs, host_index, hosts, cap);
	kind_init(&clicks, links, host_index, hosts, cap);
	if (!ctx->dry_run)
		sink_track_resolve(ctx, hosts);

	/* steps a sender asked for that find nothing to fetch are said in the plan, too */
	if (ctx->plan.steps_chosen && pixels.found == 0)
		sink_plan_note(&ctx->plan, "open: no pixels in the message");
	if (ctx->plan.steps_chosen && ctx->plan.clicks > 0 && clicks.found == 0)
		sink_plan_note(&ctx->plan, "click: no links in the message");
	run_step(ctx, "open", &pixels);
	for (int i = 1; i < ctx->plan.opens; i++)
		run_step(ctx, "open_again", &pixels);
	for (int i = 0; i < ctx->plan.clicks; i++)
		run_step(ctx, i == 0 ? "click" : "click_again", &clicks);
	g_array_unref(pixels.urls);
	g_array_unref(clicks.urls);
}
