/*
 * decide.c - what this recipient "does": the subdomain it was sent to, or
 * the statistical mix of SPEC section 5.
 *
 * The mix makes one uniform draw over OOB, FBL, unsubscribe, autoreply,
 * openclick and accept in that priority order, so each configured share is
 * the expected share of traffic (a share that would push the total past 1
 * gets what is left).  The thresholds are running sums in that order: with
 * Unsubscribe_percent and Autoreply_percent 0 each is the original's sum to
 * the bit (x + 0 is x), so every seeded decision stays what it was.
 * Open-type shares follow today's Weekly_Cycle_Open_Rate divided by the
 * Signals active-digit density (Signals addresses only open on their
 * digit's days), that multiplier clipped to at most 1, then each share
 * clipped to [0, 1]: the original's getBounceProbabilities, step for step,
 * so the same config gives the same expected shares on every date.  (The
 * clip means the density's boost never lifts a factor-1 day above the
 * configured shares.)  The density counts each Digit<d>_days list as the
 * original's set of numbers did: "0" (never) is a list of one.
 *
 * The mailbox's personas (persona.c) come from the address, not from a
 * draw, so with them or without them the draws are the same.
 *
 * The conditionals (open again given open, click given open, click again
 * given click) are checked on the configured percentages, so a config is
 * good or bad whatever the day; drawn from the day's clipped shares, they
 * then stay within [0, 1] every day (clipping keeps the shares' order).
 */
#include <string.h>

#include "decide.h"
#include "directive.h"
#include "persona.h"
#include "useragent.h"

static double
clip01(double x)
{
	return x < 0 ? 0 : x > 1 ? 1 : x;
}

/*
 * Share of Signals digit-days that are open days, against the longest
 * list; each list counted as written, its "0" too (config.c keeps it as
 * bit 0), as the original's sets of numbers were.
 */
static double
signals_density(const SinkConfig *cfg)
{
	unsigned listed = 0, longest = 0;

	if (cfg->signals_traffic_prefix == NULL || *cfg->signals_traffic_prefix == '\0')
		return 1.0;
	for (int d = 0; d < 10; d++) {
		unsigned n = (unsigned)__builtin_popcount(cfg->digit_days[d]);
		listed += n;
		longest = MAX(longest, n);
	}
	return longest ? (double)listed / (10.0 * longest) : 1.0;
}

/* P(a given b) from two shares; 0 when b never happens. */
static double
given(double a, double b)
{
	return b > 0 ? a / b : 0;
}

/*
 * A conditional of the configured percentages must be a probability: a
 * share above the one it depends on is an error, and so is a share of an
 * event whose condition never happens (a click with no opens: it would
 * silently never be).
 */
static gboolean
conditional_ok(double a, double b, const char *a_name, const char *b_name, GError **error)
{
	if (a > b && b > 0) {
		g_set_error(error, SINK_CONFIG_ERROR, SINK_CONFIG_ERROR_VALUE,
			    "%s (%g) is more than %s (%g): P(%s given %s) would be %.3f, outside 0..1: lower %s or raise %s",
			    a_name, a, b_name, b, a_name, b_name, given(a, b), a_name, b_name);
		return FALSE;
	}
	if (a > b) {
		g_set_error(error, SINK_CONFIG_ERROR, SINK_CONFIG_ERROR_VALUE,
			    "%s (%g) is more than %s (0): P(%s given %s) has no value, as %s never happens: set %s to 0 "
			    "or raise %s", a_name, a, b_name, a_name, b_name, b_name, a_name, b_name);
		return FALSE;
	}
	return TRUE;
}

gboolean
sink_model_init(SinkModel *m, const SinkConfig *cfg, GDateTime *now, GError **error)
{
	double app = 1.0 - cfg->upstream_handled / 100.0;
	double scale;
	const char *where = cfg->path ? cfg->path : "(built-in)";

	memset(m, 0, sizeof *m);
	if (app <= 0) {
		g_set_error(error, SINK_CONFIG_ERROR, SINK_CONFIG_ERROR_VALUE,
			    "%s: [Sink] Upstream_Handled leaves no traffic for the sink", where);
		return FALSE;
	}
	m->oob = clip01(cfg->oob_percent / 100.0 / app);
	m->fbl = clip01(cfg->fbl_percent / 100.0 / app);
	m->unsubscribe = clip01(cfg->unsubscribe_percent / 100.0 / app);
	m->autoreply = clip01(cfg->autoreply_percent / 100.0 / app);
	m->open_factor = cfg->weekly_open_rate[sink_weekly_index(cfg->weekly_open_rate_len, now)];
	m->density = signals_density(cfg);
	scale = MIN(1.0, m->open_factor / m->density);
	m->open = clip01(cfg->open_percent / 100.0 / app * scale);
	m->open_again = clip01(cfg->open_again_percent / 100.0 / app * scale);
	m->click = clip01(cfg->click_percent / 100.0 / app * scale);
	m->click_again = clip01(cfg->click_again_percent / 100.0 / app * scale);

	g_autoptr(GError) local = NULL;
	if (!conditional_ok(cfg->open_again_percent, cfg->open_percent, "Open_Again_percent", "Open_percent", &local) ||
	    !conditional_ok(cfg->click_percent, cfg->open_percent, "Click_percent", "Open_percent", &local) ||
	    !conditional_ok(cfg->click_again_percent, cfg->click_percent, "Click_Again_percent", "Click_percent", &local)) {
		g_set_error(error, SINK_CONFIG_ERROR, SINK_CONFIG_ERROR_VALUE, "%s: [Sink] %s", where, local->message);
		return FALSE;
	}
	m->open_again_given_open = given(m->open_again, m->open);
	m->click_given_open = given(m->click, m->open);
	m->click_again_given_click = given(m->click_again, m->click);
	return TRUE;
}

SinkClass
sink_route_class(const char *rcpt)
{
	static const struct { const char *label; SinkClass klass; } routes[] = {
		{ "accept", SINK_CLASS_ACCEPT },
		{ "oob", SINK_CLASS_OOB },
		{ "fbl", SINK_CLASS_FBL },
		{ "openclick", SINK_CLASS_OPENCLICK },
		{ "unsubscribe", SINK_CLASS_UNSUBSCRIBE },
		{ "autoreply", SINK_CLASS_AUTOREPLY },
		{ "ooto", SINK_CLASS_AUTOREPLY },
	};
	const char *at, *dot;
	size_t n;

	if (rcpt == NULL || (at = strrchr(rcpt, '@')) == NULL)
		return SINK_CLASS_NONE;
	at++;
	dot = strchr(at, '.');
	if (dot == NULL)	/* a bare domain has no subdomain label */
		return SINK_CLASS_NONE;
	n = (size_t)(dot - at);
	for (size_t i = 0; i < G_N_ELEMENTS(routes); i++)
		if (strlen(routes[i].label) == n && g_ascii_strncasecmp(at, routes[i].label, n) == 0)
			return routes[i].klass;
	return SINK_CLASS_NONE;
}

gboolean
sink_signals_open_allowed(const SinkConfig *cfg, const char *rcpt, GDateTime *now)
{
	const char *prefix = cfg->signals_traffic_prefix;
	const char *at, *plus;
	size_t local_len, alpha_len;
	char last;

	if (prefix == NULL || *prefix == '\0' || rcpt == NULL || (at = strrchr(rcpt, '@')) == NULL)
		return TRUE;
	local_len = (size_t)(at - rcpt);
	if (local_len == 0)
		return TRUE;
	plus = memchr(rcpt, '+', local_len);
	alpha_len = plus ? (size_t)(plus - rcpt) : local_len;
	last = rcpt[local_len - 1];
	if (alpha_len != strlen(prefix) || strncmp(rcpt, prefix, alpha_len) != 0 || !g_ascii_isdigit(last))
		return TRUE;
	return (cfg->digit_days[last - '0'] >> g_date_time_get_day_of_month(now)) & 1;
}

/*
 * The keyword of the recipient's local part (its text before any '+'),
 * read into `kw`; NULL when it is none.  A Signals address (its prefix
 * before the '+') is never a keyword: it keeps its meaning.
 */
static const char *
local_keyword(const SinkCtx *ctx, SinkDirectives *kw)
{
	const char *rcpt = ctx->rcpt, *prefix = ctx->cfg->signals_traffic_prefix, *at, *plus;
	size_t n;

	sink_directives_init(kw);
	if (rcpt == NULL || (at = strrchr(rcpt, '@')) == NULL)
		return NULL;
	plus = memchr(rcpt, '+', (size_t)(at - rcpt));
	n = (size_t)((plus ? plus : at) - rcpt);
	if (prefix && *prefix && strlen(prefix) == n && strncmp(rcpt, prefix, n) == 0)
		return NULL;
	return sink_keyword_read(rcpt, n, kw);
}

/* Unsubscribe_Method as the plan says it (config.h's order is the plan's, from auto on). */
G_STATIC_ASSERT(SINK_UNSUBSCRIBE_AUTO + SINK_UNSUB_AUTO == SINK_UNSUBSCRIBE_AUTO &&
		SINK_UNSUBSCRIBE_AUTO + SINK_UNSUB_ONE_CLICK == SINK_UNSUBSCRIBE_ONE_CLICK &&
		SINK_UNSUBSCRIBE_AUTO + SINK_UNSUB_MAILTO == SINK_UNSUBSCRIBE_MAILTO &&
		SINK_UNSUBSCRIBE_AUTO + SINK_UNSUB_LINK == SINK_UNSUBSCRIBE_LINK);

static SinkUnsubscribeMethod
configured_unsubscribe(const SinkConfig *cfg)
{
	return (SinkUnsubscribeMethod)(SINK_UNSUBSCRIBE_AUTO + (int)cfg->unsubscribe_method);
}

/*
 * What the directives and the keyword add to the class chosen (k, by
 * ctx->route): each detail from the header, else from the keyword when
 * the keyword's class is the one chosen (or it names none); what does not
 * fit the class, or cannot be done in this version, is a note.
 */
static void
plan_details(SinkCtx *ctx, const SinkDirectives *hdr, const char *keyword, const SinkDirectives *kw)
{
	SinkPlan *plan = &ctx->plan;
	SinkClass k = plan->klass;
	gboolean kw_fits = keyword && (kw->klass == SINK_CLASS_NONE || kw->klass == k);
	const char *chooser = ctx->route == SINK_ROUTE_SUBDOMAIN ? "the subdomain" : "X-Bouncy-Sink";

	for (guint i = 0; hdr && hdr->notes && i < hdr->notes->len; i++)
		sink_plan_note(plan, "%s", (const char *)hdr->notes->pdata[i]);
	if (hdr && hdr->klass != SINK_CLASS_NONE && hdr->klass != k)
		sink_plan_note(plan, "X-Bouncy-Sink \"%s\": the subdomain chose %s; ignored", hdr->klass_token,
			       sink_class_name(k));
	if (keyword && kw->klass != SINK_CLASS_NONE && kw->klass != k)
		sink_plan_note(plan, "local part \"%s\": %s chose %s; ignored", keyword, chooser, sink_class_name(k));

	if (k == SINK_CLASS_FBL) {
		plan->feedback_type = hdr && hdr->feedback_type ? hdr->feedback_type
				      : kw_fits && kw->feedback_type ? kw->feedback_type : "abuse";
		plan->feedback_chosen = (hdr && hdr->feedback_type) || (kw_fits && kw->feedback_type);
	}
	else if (hdr && hdr->feedback_type)
		sink_plan_note(plan, "X-Bouncy-Sink \"feedback-type=%s\": not for class %s; ignored",
			       hdr->feedback_type, sink_class_name(k));
	if (k != SINK_CLASS_OPENCLICK && hdr && hdr->opens >= 0)
		sink_plan_note(plan, "X-Bouncy-Sink \"opens=%d\": not for class %s; ignored", hdr->opens,
			       sink_class_name(k));
	if (k != SINK_CLASS_OPENCLICK && hdr && hdr->clicks >= 0)
		sink_plan_note(plan, "X-Bouncy-Sink \"clicks=%d\": not for class %s; ignored", hdr->clicks,
			       sink_class_name(k));
	if (k == SINK_CLASS_UNSUBSCRIBE)	/* the directive's method, else Unsubscribe_Method */
		plan->unsubscribe = hdr && hdr->unsubscribe ? hdr->unsubscribe : configured_unsubscribe(ctx->cfg);
	else if (hdr && hdr->unsubscribe)
		sink_plan_note(plan, "X-Bouncy-Sink \"unsubscribe=%s\": not for class %s; ignored",
			       sink_unsubscribe_method_name(hdr->unsubscribe), sink_class_name(k));

	/* the persona asked for: the address's own is added to it in sink_decide */
	if (hdr && hdr->persona_given) {
		plan->persona = hdr->persona;
		plan->persona_asked = TRUE;
	} else if (kw_fits && kw->persona_given) {
		plan->persona = kw->persona;
		plan->persona_asked = TRUE;
	}
	if (hdr && hdr->delay >= 0)	/* the first step's delay (delay.c) */
		plan->delay = hdr->delay;
}

/*
 * The reader's steps for an openclick plan: as the directives or the
 * keyword ask (a reader who clicks opens first), else drawn from the
 * model's conditionals, as they always were.
 */
static void
plan_steps(SinkCtx *ctx, const SinkModel *m, const SinkDirectives *hdr, const char *keyword,
	   const SinkDirectives *kw)
{
	SinkPlan *plan = &ctx->plan;
	gboolean kw_fits = keyword && (kw->klass == SINK_CLASS_NONE || kw->klass == SINK_CLASS_OPENCLICK);
	gboolean hdr_click = hdr && (hdr->click || hdr->clicks >= 0);

	if (hdr_click || (hdr && (hdr->open || hdr->opens >= 0)) || (kw_fits && (kw->open || kw->click))) {
		plan->steps_chosen = TRUE;
		plan->opens = hdr && hdr->opens > 0 ? hdr->opens : 1;
		plan->clicks = hdr && hdr->clicks >= 0 ? hdr->clicks : (hdr && hdr->click) || (kw_fits && kw->click);
	} else {
		gboolean open_again = g_rand_double(ctx->rng) < m->open_again_given_open;
		gboolean click = g_rand_double(ctx->rng) < m->click_given_open;
		gboolean click_again = click && g_rand_double(ctx->rng) < m->click_again_given_click;

		plan->opens = 1 + open_again;
		plan->clicks = click + click_again;
	}
}

void
sink_decide(SinkCtx *ctx, const SinkModel *m)
{
	const SinkDirectives *hdr = ctx->directives;
	SinkDirectives kw;
	const char *keyword = local_keyword(ctx, &kw);
	SinkClass k = sink_route_class(ctx->rcpt);

	/* SPEC 19's precedence; a header or keyword that only adds details
	 * (opens=3, mpp) chooses the class those need rather than the mix.
	 * The header's details outrank a keyword's class they do not fit
	 * (opens=2 to bounce@: openclick); of the keyword's own class they
	 * only refine it (feedback-type=virus to fraud@: the keyword's fbl) */
	if (k != SINK_CLASS_NONE) {
		ctx->route = SINK_ROUTE_SUBDOMAIN;
	} else if (hdr && hdr->klass != SINK_CLASS_NONE) {
		k = hdr->klass;
		ctx->route = SINK_ROUTE_HEADER;
	} else if (keyword && kw.klass != SINK_CLASS_NONE &&
		   (hdr == NULL || hdr->implied == SINK_CLASS_NONE || hdr->implied == kw.klass)) {
		k = kw.klass;
		ctx->route = SINK_ROUTE_LOCALPART;
	} else if (hdr && hdr->implied != SINK_CLASS_NONE) {
		k = hdr->implied;
		ctx->route = SINK_ROUTE_HEADER;
	} else if (keyword && kw.implied != SINK_CLASS_NONE) {
		k = kw.implied;
		ctx->route = SINK_ROUTE_LOCALPART;
	} else {
		double u = g_rand_double(ctx->rng);
		double upto_fbl = m->oob + m->fbl, upto_unsub = upto_fbl + m->unsubscribe;
		double upto_auto = upto_unsub + m->autoreply;
		ctx->route = SINK_ROUTE_MIX;
		ctx->draw = u;
		if (u < m->oob)
			k = SINK_CLASS_OOB;
		else if (u < upto_fbl)
			k = SINK_CLASS_FBL;
		else if (u < upto_unsub)
			k = SINK_CLASS_UNSUBSCRIBE;
		else if (u < upto_auto)
			k = SINK_CLASS_AUTOREPLY;
		else if (u < upto_auto + m->open) {
			k = SINK_CLASS_OPENCLICK;
			if (!sink_signals_open_allowed(ctx->cfg, ctx->rcpt, ctx->now)) {
				ctx->signals_blocked = TRUE;
				k = SINK_CLASS_ACCEPT;
			}
		} else
			k = SINK_CLASS_ACCEPT;
	}
	ctx->plan.klass = k;
	if (hdr || keyword)
		plan_details(ctx, hdr, keyword, &kw);
	else if (k == SINK_CLASS_FBL)
		ctx->plan.feedback_type = "abuse";
	else if (k == SINK_CLASS_UNSUBSCRIBE)
		ctx->plan.unsubscribe = configured_unsubscribe(ctx->cfg);
	if (k == SINK_CLASS_OPENCLICK)
		plan_steps(ctx, m, hdr, keyword, &kw);
	ctx->klass = k;
	if (ctx->klass == SINK_CLASS_OPENCLICK || ctx->klass == SINK_CLASS_UNSUBSCRIBE) {
		g_autofree char *why = NULL;
		ctx->user_agent = sink_persona_reader_agent(ctx->cfg, ctx->rcpt, ctx->rng, &why);
		if (why)
			sink_ctx_note(ctx, "%s", why);
	}
	/* the mailbox's own: no draw, so the mix's draws above are the same with or without it;
	 * a directive or keyword adds mpp or scanner to it, or, human, clears it, but for the route
	 * subdomain's (mpp., scanner.), which comes first as the subdomain's class does (SPEC 19) */
	if (ctx->plan.persona_asked && ctx->plan.persona == SINK_PERSONA_NONE) {
		guint routed = sink_persona_route(ctx->rcpt);	/* (human needs no hash) */

		if (routed != SINK_PERSONA_NONE)
			sink_plan_note(&ctx->plan, "X-Bouncy-Sink \"human\": the subdomain gives %s; kept",
				       sink_persona_name(routed));
		ctx->persona = routed;
	} else {
		ctx->persona = sink_persona_of(ctx->cfg, ctx->rcpt);
		if (ctx->plan.persona_asked)
			ctx->persona |= ctx->plan.persona;
	}
	ctx->plan.persona = ctx->persona;
}
