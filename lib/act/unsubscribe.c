/*
 * unsubscribe.c - the unsubscribe class (SPEC section 16): the reader
 * unsubscribes, and the mailbox provider does it for them the way Gmail
 * and Yahoo do.
 *
 * The method, in a provider's order (auto), or only the one the plan asks
 * for (an X-Bouncy-Sink unsubscribe= directive, else Unsubscribe_Method):
 *   one-click  the message is RFC 8058-eligible (core/oneclick.c's
 *              verdict): "List-Unsubscribe=One-Click" is POSTed to its
 *              https URI, as multipart/form-data (or urlencoded), with the
 *              provider's User-Agent (Unsubscribe_User_Agent), no cookies,
 *              no credentials, no Referer, and no redirect followed: RFC
 *              8058 forbids one, so a 3xx is the sender's error;
 *   mailto     the first mailto: URI of List-Unsubscribe (mailto.c): one
 *              message From the reader to its first address, to that
 *              domain's MX under the reports' rules: the allowlist (mx.c),
 *              or, as a CFBL-Address's (cfbl.c), the address's own MX when
 *              the sender signed List-Unsubscribe with a valid signature of
 *              the address's organization (that MX's address then public,
 *              as a fetch's, unless Fetch_Allow_Private);
 *   link       a GET of the first http(s) URI of List-Unsubscribe, else of
 *              the HTML body's unsubscribe link (html.c), as the reader's
 *              browser: the message's User-Agent, redirects followed
 *              (Max_Redirects).
 * A method the message does not offer (or, forced, the one it does not)
 * leaves none: counted unsubscribe_none and said why.  A URL is only
 * requested on a tracking host (track.c: allowlist, cache, probe), through
 * fetch.c's address check, under Open_Click_Timeout and the message's
 * budget; another counts unsubscribe_url_not_sparkpost, as a mailto whose
 * MX is not allowlisted does.  With --dry-run the method and its target
 * are recorded (the mailto's MX checked, as a report's is), nothing sent.
 *
 * Counters: unsubscribe_one_click, unsubscribe_mailto, unsubscribe_link
 * (done: a 2xx, or the MX took the message), unsubscribe_error (tried and
 * failed), unsubscribe_none, unsubscribe_url_not_sparkpost.
 */
#include <string.h>

#include "cfbl.h"
#include "dkimsig.h"
#include "fetch.h"
#include "html.h"
#include "mailto.h"
#include "message.h"
#include "mx.h"
#include "report-int.h"
#include "listunsub.h"
#include "track.h"
#include "unsubscribe.h"

#define ONE_CLICK_BODY "List-Unsubscribe=One-Click"

typedef enum {
	M_NONE,
	M_ONE_CLICK,
	M_MAILTO,
	M_LINK,
} Method;

static const char *const method_names[] = {
	[M_NONE] = "none", [M_ONE_CLICK] = "one-click", [M_MAILTO] = "mailto", [M_LINK] = "link",
};

/* What was chosen, and with what. */
typedef struct {
	Method method;
	char *url;		/* one-click, link */
	const char *url_from;	/* link: "List-Unsubscribe" or "the HTML body" */
	SinkMailto mailto;	/* mailto */
	GString *why_none;	/* why each method looked at was not available */
} Plan;

static void
plan_clear(Plan *p)
{
	g_free(p->url);
	sink_mailto_clear(&p->mailto);
	g_string_free(p->why_none, TRUE);
}

static void G_GNUC_PRINTF(2, 3)
unavailable(Plan *p, const char *fmt, ...)
{
	va_list ap;

	if (p->why_none->len)
		g_string_append(p->why_none, "; ");
	va_start(ap, fmt);
	g_string_append_vprintf(p->why_none, fmt, ap);
	va_end(ap);
}

/* The first URI of List-Unsubscribe of one of the schemes a and b; NULL when none. */
static const char *
first_uri(const SinkUnsub *u, SinkUriScheme a, SinkUriScheme b)
{
	for (guint i = 0; u && i < u->uris->len; i++) {
		SinkUriScheme s = sink_uri_scheme(u->uris->pdata[i]);
		if (s == a || s == b)
			return u->uris->pdata[i];
	}
	return NULL;
}

static gboolean
choose_one_click(SinkCtx *ctx, Plan *p)
{
	const SinkUnsub *u = ctx->unsub;

	if (u == NULL || !u->eligible) {
		unavailable(p, "one-click: %s", u ? u->detail : "no List-Unsubscribe");
		return FALSE;
	}
	p->method = M_ONE_CLICK;
	p->url = g_strdup(u->post_uri);
	return TRUE;
}

static gboolean
choose_mailto(SinkCtx *ctx, Plan *p)
{
	const char *uri = first_uri(ctx->unsub, SINK_URI_MAILTO, SINK_URI_MAILTO);
	g_autofree char *why = NULL;

	if (uri == NULL) {
		unavailable(p, "mailto: no mailto: URI in List-Unsubscribe");
		return FALSE;
	}
	if (!sink_mailto_parse(uri, &p->mailto, &why)) {
		g_ptr_array_add(ctx->unsub->problems,
				g_strdup_printf("List-Unsubscribe: <%.80s%s> is not used: %s", uri,
						strlen(uri) > 80 ? "..." : "", why));
		unavailable(p, "mailto: %s", why);
		return FALSE;
	}
	p->method = M_MAILTO;
	return TRUE;
}

static gboolean
choose_link(SinkCtx *ctx, Plan *p)
{
	const char *uri = first_uri(ctx->unsub, SINK_URI_HTTPS, SINK_URI_HTTP);
	g_autofree char *html = NULL;

	if (uri) {
		p->url = g_strdup(uri);
		p->url_from = "List-Unsubscribe";
	} else if ((html = sink_message_html(ctx)) != NULL &&
		   (p->url = sink_html_unsubscribe_link(html, strlen(html))) != NULL) {
		p->url_from = "the HTML body";
	} else {
		unavailable(p, "link: no http(s) URI in List-Unsubscribe and %s", html ? "no unsubscribe link in the HTML body"
										      : "no HTML body");
		return FALSE;
	}
	p->method = M_LINK;
	return TRUE;
}

/* The method: a provider's order, or the one the plan asks for alone (X-Bouncy-Sink, else Unsubscribe_Method). */
static void
choose(SinkCtx *ctx, Plan *p)
{
	SinkUnsubscribeMethod asked = ctx->plan.unsubscribe;
	gboolean any = asked == SINK_UNSUBSCRIBE_AUTO || asked == SINK_UNSUBSCRIBE_NONE;

	if ((any || asked == SINK_UNSUBSCRIBE_ONE_CLICK) && choose_one_click(ctx, p))
		return;
	if ((any || asked == SINK_UNSUBSCRIBE_MAILTO) && choose_mailto(ctx, p))
		return;
	if ((any || asked == SINK_UNSUBSCRIBE_LINK) && choose_link(ctx, p))
		return;
	p->method = M_NONE;
}

/* Whether `origin` is a tracking host (track.c); the one place a URL may be requested. */
static gboolean
on_tracking_host(SinkCtx *ctx, const char *origin, const char *host)
{
	g_autoptr(GPtrArray) hosts = g_ptr_array_new_with_free_func(sink_track_host_free);
	SinkTrackHost *h = g_new0(SinkTrackHost, 1);

	h->origin = g_strdup(origin);
	h->host = g_strdup(host);
	h->verdict = SINK_TRACK_UNKNOWN;
	g_ptr_array_add(hosts, h);
	sink_track_resolve(ctx, hosts);
	return h->verdict == SINK_TRACK_YES;
}

/* The one-click POST or the link's GET. */
static void
request(SinkCtx *ctx, Plan *p)
{
	const SinkConfig *cfg = ctx->cfg;
	gboolean post = p->method == M_ONE_CLICK;
	const char *type = post ? "unsubscribe_one_click" : "unsubscribe_link";
	g_autofree char *origin = NULL, *host = NULL;
	char *url = sink_url_parse(p->url, &origin, &host);
	SinkFetch f = { .url = url };
	SinkFetchOptions opt = {
		.timeout_ms = cfg->open_click_timeout * 1000,
		.deadline = ctx->deadline,
		.allow_private = cfg->fetch_allow_private,
	};
	SinkAction *a;

	if (url == NULL) {
		if (!ctx->dry_run)
			sink_ctx_count(ctx, "unsubscribe_error");
		sink_ctx_error(ctx, "unsubscribe %s not requested: %.200s is not a usable http(s) URL",
			       method_names[p->method], p->url);
		return;
	}
	if (ctx->dry_run) {	/* (a dry run knows no tracking-host verdicts) */
		sink_ctx_action(ctx, type, url)->method = post ? "POST" : NULL;
		g_free(url);
		return;
	}
	if (!on_tracking_host(ctx, origin, host)) {
		sink_ctx_count(ctx, "unsubscribe_url_not_sparkpost");
		sink_ctx_error(ctx, "unsubscribe %s not requested: %s is not a tracking host", method_names[p->method],
			       origin);
		g_free(url);
		return;
	}
	if (post) {	/* RFC 8058 3.1: no cookies, no authorization, no context; never redirected */
		opt.user_agent = *cfg->unsubscribe_user_agent ? cfg->unsubscribe_user_agent : NULL;
		opt.post = ONE_CLICK_BODY;
		opt.post_multipart = cfg->unsubscribe_post_encoding == SINK_POST_MULTIPART;
		opt.no_credentials = TRUE;
		opt.max_redirects = 0;
	} else {	/* the reader's browser */
		opt.user_agent = ctx->user_agent;
		opt.accept = SINK_ACCEPT_PAGE;
		opt.max_redirects = cfg->max_redirects;
	}
	sink_fetch_all(&f, 1, &opt);
	a = sink_ctx_action(ctx, type, f.url);
	a->method = post ? "POST" : NULL;
	a->status = f.status;
	a->seconds = f.seconds;
	a->hops = g_steal_pointer(&f.hops);
	if (f.error)
		sink_action_fail(a, "%s", f.error);
	else if (post && f.status >= 300 && f.status <= 399)
		sink_action_fail(a, "the sender's endpoint redirected a one-click POST%s%s, not followed (RFC 8058 "
				 "forbids redirecting it)", f.location ? " to " : "", f.location ? f.location : "");
	else if (f.status < 200 || f.status > 299)
		sink_action_fail(a, "HTTP %d", f.status);
	sink_ctx_count(ctx, a->error ? "unsubscribe_error" : post ? "unsubscribe_one_click" : "unsubscribe_link");
	sink_fetch_clear(&f);
}

static const char *const signed_field[] = { "List-Unsubscribe", NULL };

/*
 * The mailto message, From the reader, to the address's MX when it is
 * allowlisted, or when the sender signed List-Unsubscribe for that
 * address's own MX as RFC 9477 has it for a CFBL-Address (SPEC 16 and 17:
 * the From: domain's signature, and the address's organization's when it is
 * another; not with CFBL = false).
 */
static void
mail(SinkCtx *ctx, Plan *p)
{
	g_autofree char *from = sink_report_addr(ctx->rcpt);
	g_autofree char *mx = NULL, *fbl = NULL, *not_own = NULL;
	const char *at = strrchr(p->mailto.to, '@');
	gboolean own, tempfail = FALSE;
	GMimeMessage *msg;
	SinkAction *a;

	if (from == NULL) {
		if (!ctx->dry_run)
			sink_ctx_count(ctx, "unsubscribe_error");
		sink_ctx_error(ctx, "unsubscribe mailto not sent: %s", ctx->rcpt ? "no usable To: address to send it From"
										: "no To:");
		return;
	}
	/* a UTF-8 local part travels only with SMTPUTF8 (RFC 6531), which the sink does not speak (as smtp.c) */
	if (!g_str_is_ascii(from) || !g_str_is_ascii(p->mailto.to)) {
		if (!ctx->dry_run)
			sink_ctx_count(ctx, "unsubscribe_error");
		sink_ctx_error(ctx, "unsubscribe mailto not sent: %s has a non-ASCII local part (it needs SMTPUTF8, "
			       "which the sink does not speak)", g_str_is_ascii(from) ? p->mailto.to : from);
		return;
	}
	not_own = ctx->cfg->cfbl ? sink_cfbl_signed_for(ctx, p->mailto.to, "mailto address", signed_field) : NULL;
	own = ctx->cfg->cfbl && not_own == NULL;
	if (own) {
		sink_ctx_note(ctx, "unsubscribe mailto: List-Unsubscribe signed for %s by the From: domain's organization "
			      "(and the address's, when another): to its own MX, not the allowlist's", at + 1);
		if ((mx = sink_mx_lookup(ctx, "unsubscribe mailto", "mailto domain", at + 1, &tempfail)) == NULL) {
			sink_ctx_count(ctx, "unsubscribe_error");
			return;
		}
	} else if (!sink_mx_allowed(ctx, "unsubscribe mailto", "mailto", p->mailto.to, &mx, &fbl, &tempfail)) {
		sink_ctx_count(ctx, tempfail ? "unsubscribe_error" : "unsubscribe_url_not_sparkpost");
		return;
	}
	a = sink_ctx_action(ctx, "unsubscribe_mailto", mx);
	msg = sink_mailto_build(ctx, &p->mailto, from);
	if (ctx->verbose) {
		g_free(ctx->report_text);
		ctx->report_text = sink_report_serialize(msg, NULL);
	}
	if (!ctx->dry_run)
		sink_ctx_count(ctx, sink_smtp_send(ctx, a, mx, from, p->mailto.to, msg, own) ? "unsubscribe_mailto"
											      : "unsubscribe_error");
	g_object_unref(msg);
}

void
sink_unsubscribe_run(SinkCtx *ctx)
{
	Plan p = { .method = M_NONE, .why_none = g_string_new(NULL) };

	choose(ctx, &p);
	ctx->unsub_used = method_names[p.method];
	switch (p.method) {
	case M_NONE:
		sink_ctx_count(ctx, "unsubscribe_none");
		sink_ctx_error(ctx, "unsubscribe: no usable method: %s", p.why_none->str);
		break;
	case M_ONE_CLICK:
	case M_LINK:
		ctx->unsub_target = g_strdup(p.url);
		if (p.url_from && ctx->verbose)
			sink_ctx_note(ctx, "unsubscribe link from %s", p.url_from);
		request(ctx, &p);
		break;
	case M_MAILTO:
		ctx->unsub_target = g_strdup(p.mailto.to);
		mail(ctx, &p);
		break;
	}
	plan_clear(&p);
}
