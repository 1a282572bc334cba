/*
 * engage.c - everything that fetches a message's URLs, in the order a
 * delivery meets it: the mailbox's machine traffic (its personas,
 * persona.h), then the openclick action, where the recipient opens the
 * message (its pixels are fetched) and clicks its links as sink_decide
 * chose: the plan's opens and clicks (drawn, or as many as the sender
 * asked), the first of each counted open or click, the others open_again
 * or click_again.
 *
 *   scanner  a security gateway checks every distinct link on a tracking
 *            host, in the body and in List-Unsubscribe (never its one-click
 *            POST): HEADs, then GETs, all in parallel, as the gateway's
 *            agent, redirects followed only while they stay on tracking
 *            hosts (at most 5); one step, counted click_scanner when there is a link.
 *   mpp      on delivery, Apple's proxy fetches every distinct image on a
 *            tracking host at once, as "Mozilla/5.0", no cookies, no
 *            Referer; one step, counted open_prefetch when there is an image.  The reader's own
 *            opens of that mailbox are then served from the proxy's cache:
 *            still counted as the reader's steps (open, open_again: the
 *            model's shares stay whole), and open_cached, but nothing is
 *            fetched; clicks go out as usual.
 *   reader   the openclick steps, as the message's one User-Agent.
 *
 * The HTML part is parsed once.  Only URLs on tracking hosts are fetched
 * (track.c decides, probing each host of the message at most once, all in
 * parallel); the others are counted as <open|click>_url_not_sparkpost in
 * every step that meets them, as the original did.  Each step fetches its
 * URLs in parallel (fetch.c), following their redirects to the landing
 * page as the reader's browser would (Max_Redirects hops, to any public
 * host); the steps run one after the other.  Max_URLs_Per_Message bounds
 * the work two ways, in document order: the hosts of a kind looked up (a
 * URL on a further host is not used) and the tracking URLs a step fetches;
 * so fifty images from other sites never crowd out the open pixel that
 * follows them.  What is not used is counted (<open|click>_url_over_limit,
 * once per step) and noted.
 *
 * With --dry-run the steps and their URLs are recorded as actions without
 * any probe, cache look-up or fetch.
 *
 * The reader's steps may wait (Open_Delay, Click_Delay: delay.h): then the
 * URLs go into a job, and a worker runs the steps later through
 * sink_engage_reader_run, with the same User-Agent; the personas' machine
 * traffic is on delivery, never delayed.
 */
#include <string.h>

#include "delay.h"
#include "engage.h"
#include "fetch.h"
#include "html.h"
#include "listunsub.h"
#include "message.h"
#include "persona.h"
#include "track.h"

#define ACCEPT_IMAGE "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"

/* A link scanner follows at most this many redirects, each to a tracking host. */
#define SCANNER_MAX_REDIRECTS 5

/* One URL of the message, ready to fetch. */
typedef struct {
	char *url;		/* normalised, or as written when it is not a usable URL */
	SinkTrackHost *host;	/* borrowed from the host table; NULL when unusable */
} EngageUrl;

/* The URLs of one source (the pixels, the links, List-Unsubscribe) that the steps use. */
typedef struct {
	GArray *urls;		/* EngageUrl: those on the first Max_URLs_Per_Message hosts */
	guint found;		/* http(s) URLs in the source, before the cap */
} EngageKind;

/* One step: who fetches which URLs, and how. */
typedef struct {
	const char *type;	/* the actions' type: "open", "open_again", "click", "click_again" */
	const char *counter;	/* bumped once: the type, or "open_prefetch", "click_scanner" */
	const char *by;		/* NULL: the reader; "mpp", "scanner" */
	const char *noun;	/* "pixels", "links" */
	const char *not_tracking;	/* counter */
	const char *over_limit;		/* counter */
	const EngageKind *kinds[2];	/* the sources, in order; NULL when unused */
	gboolean distinct;	/* each URL once (a proxy or a gateway looks at a URL once) */
	gboolean head_first;	/* HEADs first, then GETs (a gateway) */
	SinkFetchOptions fetch;
} EngageStep;

/* What a gateway's redirect check knows: the message's hosts, and the redirect targets looked up. */
typedef struct {
	SinkCtx *ctx;
	GHashTable *host_index;	/* origin -> SinkTrackHost*, the message's */
	GHashTable *more;	/* origin -> SinkTrackVerdict, of redirect targets */
} ScanHosts;

static void
engage_url_clear(gpointer p)
{
	g_free(((EngageUrl *)p)->url);
}

/*
 * Take the URLs of `found` on its first Max_URLs_Per_Message hosts (those
 * not met before, among the other kinds', count) into kind, with their new
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

/* Add to `out` each host of kind's URLs that `seen` has not had yet. */
static void
hosts_of(const EngageKind *kind, GPtrArray *out, GHashTable *seen)
{
	for (guint i = 0; i < kind->urls->len; i++) {
		SinkTrackHost *h = g_array_index(kind->urls, EngageUrl, i).host;

		if (h && g_hash_table_add(seen, h))
			g_ptr_array_add(out, h);
	}
}

/* A gateway follows a redirect only to a host known as a tracking host: the message's, the allowlist, the cache. */
static const char *
scanner_redirect_check(gpointer data, const char *origin, const char *host)
{
	ScanHosts *s = data;
	const SinkTrackHost *h = g_hash_table_lookup(s->host_index, origin);
	SinkTrackVerdict verdict;
	gpointer known;

	if (h) {
		verdict = h->verdict;
	} else if (g_hash_table_lookup_extended(s->more, origin, NULL, &known)) {
		verdict = GPOINTER_TO_INT(known);
	} else {
		verdict = sink_track_known(s->ctx, origin, host);
		g_hash_table_insert(s->more, g_strdup(origin), GINT_TO_POINTER(verdict));
	}
	return verdict == SINK_TRACK_YES ? NULL : "not a tracking host";
}

/* The action of one request of a step. */
static SinkAction *
step_action(SinkCtx *ctx, const EngageStep *step, const char *url, gboolean head)
{
	SinkAction *a = sink_ctx_action(ctx, step->type, url);

	a->by = step->by;
	if (step->head_first)
		a->method = head ? "HEAD" : "GET";
	return a;
}

/* Fetch urls[0..n) in parallel (HEADs when `head`), one action each. */
static void
fetch_batch(SinkCtx *ctx, const EngageStep *step, const char *const *urls, guint n, gboolean head)
{
	g_autofree SinkFetch *fetches = g_new0(SinkFetch, n);
	SinkFetchOptions opt = step->fetch;

	opt.head = head;
	for (guint i = 0; i < n; i++)
		fetches[i].url = (char *)urls[i];	/* borrowed: not cleared below */
	sink_fetch_all(fetches, n, &opt);
	for (guint i = 0; i < n; i++) {
		SinkFetch *f = &fetches[i];
		SinkAction *a = step_action(ctx, step, f->url, head);

		a->status = f->status;
		a->seconds = f->seconds;
		a->hops = g_steal_pointer(&f->hops);
		a->reply = g_steal_pointer(&f->stopped);
		if (f->error)
			sink_action_fail(a, "%s", f->error);
		f->url = NULL;
		sink_fetch_clear(f);
	}
}

/* One step: count it, then fetch its tracking URLs in parallel, one action each (two for a gateway). */
static void
run_step(SinkCtx *ctx, const EngageStep *step)
{
	const SinkConfig *cfg = ctx->cfg;
	guint cap = (guint)cfg->max_urls_per_message;
	guint total = 0, found = 0, n = 0, over = 0;
	g_autoptr(GHashTable) seen = step->distinct ? g_hash_table_new(g_str_hash, g_str_equal) : NULL;
	g_autofree const char **urls = NULL;

	for (guint k = 0; k < G_N_ELEMENTS(step->kinds) && step->kinds[k]; k++) {
		total += step->kinds[k]->urls->len;
		found += step->kinds[k]->found;
		over += step->kinds[k]->found - step->kinds[k]->urls->len;	/* (on hosts past the cap) */
	}
	urls = g_new0(const char *, MIN(total, cap) + 1);
	/* a reader's step counts as the original's did, whatever it finds; a machine's only when the message
	 * has something of its kind for it (a proxy with no images to go through has done nothing) */
	if (step->by == NULL || found > 0)
		sink_ctx_count(ctx, step->counter);
	for (guint k = 0; k < G_N_ELEMENTS(step->kinds) && step->kinds[k]; k++) {
		const GArray *kurls = step->kinds[k]->urls;

		for (guint i = 0; i < kurls->len; i++) {
			const EngageUrl *u = &g_array_index(kurls, EngageUrl, i);
			gboolean tracking = u->host && u->host->verdict == SINK_TRACK_YES;

			if (seen && !g_hash_table_add(seen, u->url))	/* met before in this step */
				continue;
			if (!ctx->dry_run && !tracking) {	/* (a dry run knows no verdicts: any URL may be one) */
				sink_ctx_count(ctx, step->not_tracking);
				continue;
			}
			if (n == cap) {
				over++;
				continue;
			}
			urls[n++] = u->url;
		}
	}
	if (over > 0) {
		sink_ctx_count(ctx, step->over_limit);
		sink_ctx_note(ctx, "%s%s%s: %u of %u %s over Max_URLs_Per_Message (%d) not used", step->type,
			      step->by ? " by " : "", step->by ? step->by : "", over, found, step->noun,
			      cfg->max_urls_per_message);
	}
	if (n == 0) {	/* the step still shows, with why nothing was fetched */
		SinkAction *a = step_action(ctx, step, NULL, FALSE);
		a->method = NULL;
		if (found == 0)
			a->reply = g_strdup_printf("no %s found", step->noun);
		else if (cap == 0)
			a->reply = g_strdup_printf("no %s used (Max_URLs_Per_Message is 0)", step->noun);
		else
			a->reply = g_strdup_printf("no %s on tracking hosts", step->noun);
		return;
	}
	if (ctx->dry_run) {	/* the requests it would make, in their order */
		for (int pass = step->head_first ? 0 : 1; pass < 2; pass++)
			for (guint i = 0; i < n; i++)
				step_action(ctx, step, urls[i], pass == 0);
		return;
	}
	if (step->head_first)
		fetch_batch(ctx, step, urls, n, TRUE);
	fetch_batch(ctx, step, urls, n, FALSE);
}

/*
 * A reader's open of an MPP mailbox: the step happened (counted as it, as a
 * step without pixels is), but the proxy serves it from its cache, and
 * nobody hears of it.
 */
static void
cached_open(SinkCtx *ctx, const char *type)
{
	SinkAction *a = sink_ctx_action(ctx, type, NULL);

	sink_ctx_count(ctx, type);
	sink_ctx_count(ctx, "open_cached");
	a->reply = g_strdup("served from the MPP proxy's cache: nothing fetched");
}

/*
 * One of the reader's steps: "open", "open_again" (of `pixels`), "click",
 * "click_again" (of `links`); an open that the MPP proxy's cache serves
 * when `cached`.
 */
static void
reader_step(SinkCtx *ctx, const char *type, const EngageKind *kind, const SinkFetchOptions *as_reader,
	    gboolean cached)
{
	gboolean open = g_str_has_prefix(type, "open");
	EngageStep step = {
		type, type, NULL, open ? "pixels" : "links",
		open ? "open_url_not_sparkpost" : "click_url_not_sparkpost",
		open ? "open_url_over_limit" : "click_url_over_limit",
		{ kind, NULL }, FALSE, FALSE, *as_reader,
	};

	if (cached) {
		cached_open(ctx, type);
		return;
	}
	step.fetch.accept = open ? ACCEPT_IMAGE : SINK_ACCEPT_PAGE;
	run_step(ctx, &step);
}

/*
 * The http(s) URIs of List-Unsubscribe, for a gateway; a new array.  The
 * one-click verdict read the field already, for every message that has it.
 */
static GPtrArray *
unsubscribe_urls(SinkCtx *ctx)
{
	GPtrArray *http = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; ctx->unsub && i < ctx->unsub->uris->len; i++) {
		const char *uri = ctx->unsub->uris->pdata[i];
		SinkUriScheme scheme = sink_uri_scheme(uri);
		if (scheme == SINK_URI_HTTP || scheme == SINK_URI_HTTPS)
			g_ptr_array_add(http, g_strdup(uri));
	}
	return http;
}

/* The fetch options every step starts from. */
static SinkFetchOptions
common_options(const SinkCtx *ctx)
{
	SinkFetchOptions common = {
		.timeout_ms = ctx->cfg->open_click_timeout * 1000,
		.deadline = ctx->deadline,
		.allow_private = ctx->cfg->fetch_allow_private,
		.max_redirects = ctx->cfg->max_redirects,
	};
	return common;
}

/* The reader's User-Agent, picked once per message (a person keeps their mail client). */
static void
reader_agent(SinkCtx *ctx)
{
	if (ctx->user_agent == NULL) {
		g_autofree char *why = NULL;
		ctx->user_agent = sink_persona_reader_agent(ctx->cfg, ctx->rcpt, ctx->rng, &why);
		if (why)
			sink_ctx_note(ctx, "%s", why);
	}
}

/* The reader's opens (when `opens`) and clicks (when `clicks`), as the plan counts them. */
static void
reader_steps(SinkCtx *ctx, const EngageKind *pixels, const EngageKind *links, gboolean mpp, gboolean opens,
	     gboolean clicks)
{
	SinkFetchOptions as_reader = common_options(ctx);

	as_reader.user_agent = ctx->user_agent;
	for (int i = 0; opens && i < ctx->plan.opens; i++)
		reader_step(ctx, i == 0 ? "open" : "open_again", pixels, &as_reader, mpp);
	for (int i = 0; clicks && i < ctx->plan.clicks; i++)
		reader_step(ctx, i == 0 ? "click" : "click_again", links, &as_reader, FALSE);
}

/* A NULL-terminated list's items into a new array. */
static GPtrArray *
array_of(char **v)
{
	GPtrArray *a = g_ptr_array_new_with_free_func(g_free);

	for (; v && *v; v++)
		g_ptr_array_add(a, g_strdup(*v));
	return a;
}

void
sink_engage_reader_run(SinkCtx *ctx, char **pixel_urls, char **link_urls, gboolean opens, gboolean clicks)
{
	g_autoptr(GPtrArray) imgs = array_of(pixel_urls), links = array_of(link_urls);
	g_autoptr(GPtrArray) hosts = g_ptr_array_new_with_free_func(sink_track_host_free);
	g_autoptr(GHashTable) host_index = g_hash_table_new(g_str_hash, g_str_equal);
	EngageKind pixels = { NULL, 0 }, clicked = { NULL, 0 };
	int cap = ctx->cfg->max_urls_per_message;

	if (!opens)	/* (a click job's opens ran before it) */
		g_ptr_array_set_size(imgs, 0);
	if (!clicks)
		g_ptr_array_set_size(links, 0);
	kind_init(&pixels, imgs, host_index, hosts, cap);
	kind_init(&clicked, links, host_index, hosts, cap);
	if (!ctx->dry_run && hosts->len)
		sink_track_resolve(ctx, hosts);
	reader_agent(ctx);
	reader_steps(ctx, &pixels, &clicked, (ctx->persona & SINK_PERSONA_MPP) != 0, opens, clicks);
	g_array_unref(pixels.urls);
	g_array_unref(clicked.urls);
}

void
sink_engage_run(SinkCtx *ctx)
{
	const SinkConfig *cfg = ctx->cfg;
	gboolean reader = ctx->klass == SINK_CLASS_OPENCLICK;
	guint machine = ctx->klass == SINK_CLASS_NONE || ctx->klass == SINK_CLASS_OOB ? 0 : ctx->persona;
	gboolean mpp = (machine & SINK_PERSONA_MPP) != 0, scanner = (machine & SINK_PERSONA_SCANNER) != 0;
	g_autofree char *html = NULL;
	g_autoptr(GPtrArray) imgs = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) links = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) unsub = NULL;
	g_autoptr(GPtrArray) hosts = g_ptr_array_new_with_free_func(sink_track_host_free);
	g_autoptr(GHashTable) host_index = g_hash_table_new(g_str_hash, g_str_equal);
	EngageKind pixels = { NULL, 0 }, clicks = { NULL, 0 }, unsubscribe = { NULL, 0 };
	int cap = cfg->max_urls_per_message;
	SinkFetchOptions common = common_options(ctx);
	gboolean open_now = FALSE, click_now = FALSE;	/* the reader's steps done now, not by a job */

	html = sink_message_html(ctx);
	if (html == NULL && reader) {
		sink_ctx_error(ctx, "No HTML body found");
		sink_delay_forget(ctx, SINK_STEP_OPEN);	/* nothing to open or click, now or later */
		sink_delay_forget(ctx, SINK_STEP_CLICK);
	}
	unsub = scanner ? unsubscribe_urls(ctx) : g_ptr_array_new_with_free_func(g_free);
	if (html)
		sink_html_urls(html, strlen(html), imgs, (reader && ctx->plan.clicks > 0) || scanner ? links : NULL);
	kind_init(&pixels, imgs, host_index, hosts, cap);
	kind_init(&clicks, links, host_index, hosts, cap);
	kind_init(&unsubscribe, unsub, host_index, hosts, cap);
	if (reader && html) {
		reader_agent(ctx);
		/* steps a sender asked for that find nothing to fetch are said in the plan, too */
		if (ctx->plan.steps_chosen && pixels.found == 0)
			sink_plan_note(&ctx->plan, "open: no pixels in the message");
		if (ctx->plan.steps_chosen && ctx->plan.clicks > 0 && clicks.found == 0)
			sink_plan_note(&ctx->plan, "click: no links in the message");
		sink_delay_reader(ctx, imgs, links, &open_now, &click_now);
	}
	/* the hosts are asked what they are only for what fetches now: a reader's step that waits is its job's */
	if (!ctx->dry_run && (html || unsub->len) && (scanner || mpp || open_now || click_now)) {
		g_autoptr(GPtrArray) now = g_ptr_array_new();	/* (borrowed from hosts) */
		g_autoptr(GHashTable) seen = g_hash_table_new(NULL, NULL);

		if (mpp || open_now)
			hosts_of(&pixels, now, seen);
		if (scanner || click_now)
			hosts_of(&clicks, now, seen);
		if (scanner)
			hosts_of(&unsubscribe, now, seen);
		if (now->len)
			sink_track_resolve(ctx, now);
	}

	if (scanner && html == NULL && unsub->len == 0) {
		sink_ctx_note(ctx, "scanner: no HTML body and no http(s) List-Unsubscribe: nothing to scan");
	} else if (scanner) {
		g_autoptr(GHashTable) more = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
		ScanHosts known = { ctx, host_index, more };
		EngageStep scan = {
			"click", "click_scanner", "scanner", "links", "click_url_not_sparkpost", "click_url_over_limit",
			{ &clicks, &unsubscribe }, TRUE, TRUE, common,
		};

		if (ctx->scanner_agent == NULL) {
			g_autofree char *why = NULL;
			ctx->scanner_agent = sink_persona_scanner_agent(cfg, ctx->rcpt, &why);
			if (why)
				sink_ctx_note(ctx, "%s", why);
		}
		scan.fetch.user_agent = ctx->scanner_agent;
		scan.fetch.accept = SINK_ACCEPT_PAGE;
		scan.fetch.max_redirects = SCANNER_MAX_REDIRECTS;
		scan.fetch.max_redirects_name = "a scanner's redirects";
		scan.fetch.redirect_check = scanner_redirect_check;
		scan.fetch.redirect_data = &known;
		run_step(ctx, &scan);
	}
	if (mpp && html == NULL) {
		sink_ctx_note(ctx, "mpp: no HTML body: nothing to prefetch");
	} else if (mpp) {
		EngageStep prefetch = {
			"open", "open_prefetch", "mpp", "pixels", "open_url_not_sparkpost", "open_url_over_limit",
			{ &pixels, NULL }, TRUE, FALSE, common,
		};

		prefetch.fetch.user_agent = SINK_PERSONA_MPP_AGENT;	/* (and libcurl's default Accept) */
		run_step(ctx, &prefetch);
	}

	if (reader && html)
		reader_steps(ctx, &pixels, &clicks, mpp, open_now, click_now);
	g_array_unref(pixels.urls);
	g_array_unref(clicks.urls);
	g_array_unref(unsubscribe.urls);
}
