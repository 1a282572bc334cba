/*
 * shares.c - the mix against its config, in numbers.
 *
 * The config's shares apply to the messages whose class the mix drew
 * (route "mix" in the tso_ fields "<class>/<route>"): a message sent to
 * oob.<sink domain> says nothing about them, so it is counted apart.  The
 * engagement steps are shares of the step before them (click of opens),
 * as decide.c draws them, whatever the route.  A share is "off" when it
 * is further from the configured one than chance explains, so a small
 * sample is not called off for a few messages.
 */
#include <math.h>
#include <string.h>

#include "shares.h"

const char *const sink_shares_error_groups[] = {
	"DKIM or SPF failed: nothing done",
	"reports and replies not sent",
	"URLs not on a tracking host",
	"unsubscribes not done",
	NULL,
};

/* The classes the model draws, in the draw's order, and the steps given the step before. */
static const char *const model_classes[] = { "accept", "oob", "fbl", "unsubscribe", "autoreply", "openclick" };
static const struct {
	const char *name, *given, *of_what;
} steps[] = {
	{ "open_again", "open", "of opens" },
	{ "click", "open", "of opens" },
	{ "click_again", "click", "of clicks" },
};

double
sink_shares_class_configured(const SinkModel *m, const char *name)
{
	/* the draw: u < oob, then < oob + fbl, then < ... + unsubscribe, then < ... + autoreply, then < ... + open,
	 * else accept */
	double a = MIN(m->oob, 1.0), b = MIN(m->oob + m->fbl, 1.0), u = MIN(m->oob + m->fbl + m->unsubscribe, 1.0);
	double r = MIN(m->oob + m->fbl + m->unsubscribe + m->autoreply, 1.0);
	double c = MIN(m->oob + m->fbl + m->unsubscribe + m->autoreply + m->open, 1.0);

	if (strcmp(name, "oob") == 0)
		return a;
	if (strcmp(name, "fbl") == 0)
		return b - a;
	if (strcmp(name, "unsubscribe") == 0)
		return u - b;
	if (strcmp(name, "autoreply") == 0)
		return r - u;
	if (strcmp(name, "openclick") == 0)
		return c - r;
	if (strcmp(name, "accept") == 0)
		return 1.0 - c;
	return -1;
}

static double
step_configured(const SinkModel *m, const char *name)
{
	if (strcmp(name, "open_again") == 0)
		return m->open_again_given_open;
	if (strcmp(name, "click") == 0)
		return m->click_given_open;
	return m->click_again_given_click;
}

const char *
sink_shares_error_group(const char *name)
{
	if (g_str_has_prefix(name, "fail_"))
		return sink_shares_error_groups[0];
	if (g_str_has_suffix(name, "_url_not_sparkpost"))
		return sink_shares_error_groups[2];
	if (strcmp(name, "unsubscribe_error") == 0 || strcmp(name, "unsubscribe_none") == 0)
		return sink_shares_error_groups[3];
	if ((g_str_has_prefix(name, "oob_") || g_str_has_prefix(name, "fbl_") ||
	     g_str_has_prefix(name, "autoreply_")) &&
	    (g_str_has_suffix(name, "_error") || strstr(name, "_missing_") || g_str_has_suffix(name, "_not_sparkpost")))
		return sink_shares_error_groups[1];
	return NULL;
}

gboolean
sink_shares_high(gint64 count, gint64 messages)
{
	return count > 0 && messages > 0 && (double)count >= SINK_SHARES_ERROR_HIGH * (double)messages;
}

SinkShareVerdict
sink_shares_verdict(const SinkShare *s, int w)
{
	const SinkObserved *o = &s->seen[w];
	double p = s->configured, expected, sd;

	if (o->of <= 0)
		return SINK_SHARE_NO_DATA;
	if (p < 0)
		return SINK_SHARE_NOT_CONFIGURED;
	if (p <= 0 || p >= 1)	/* the draw never gives it, or always: any difference is real */
		return (double)o->count == p * (double)o->of ? SINK_SHARE_AS_CONFIGURED : SINK_SHARE_OFF;
	expected = p * (double)o->of;
	sd = sqrt((double)o->of * p * (1 - p));
	return fabs((double)o->count - expected) <= 3 * sd + 1 ? SINK_SHARE_AS_CONFIGURED : SINK_SHARE_OFF;
}

static gint64
add_sat(gint64 a, gint64 b)
{
	if (b > 0 && a > G_MAXINT64 - b)
		return G_MAXINT64;
	if (b < 0 && a < G_MININT64 - b)
		return G_MININT64;
	return a + b;
}

/* The share named `name`, added (configured as given) if it is not there yet. */
static SinkShare *
share_get(GArray *shares, const char *name, const char *of_what, double configured)
{
	SinkShare s = { NULL };

	for (guint i = 0; i < shares->len; i++)
		if (strcmp(g_array_index(shares, SinkShare, i).name, name) == 0)
			return &g_array_index(shares, SinkShare, i);
	s.name = g_strdup(name);
	s.of_what = of_what;
	s.configured = configured;
	g_array_append_val(shares, s);
	return &g_array_index(shares, SinkShare, shares->len - 1);
}

static SinkErrorCount *
error_get(GHashTable *index, GArray *errors, const char *name, const char *group)
{
	gpointer at;
	SinkErrorCount e = { NULL };

	if (g_hash_table_lookup_extended(index, name, NULL, &at))
		return &g_array_index(errors, SinkErrorCount, GPOINTER_TO_UINT(at));
	e.name = g_strdup(name);
	e.group = group;
	g_array_append_val(errors, e);
	g_hash_table_insert(index, e.name, GUINT_TO_POINTER(errors->len - 1));
	return &g_array_index(errors, SinkErrorCount, errors->len - 1);
}

static guint
group_index(const char *group)
{
	guint i = 0;

	while (sink_shares_error_groups[i] && sink_shares_error_groups[i] != group)
		i++;
	return i;
}

static gint
error_cmp(gconstpointer a, gconstpointer b)
{
	const SinkErrorCount *x = a, *y = b;
	guint gx = group_index(x->group), gy = group_index(y->group);

	return gx != gy ? (gx < gy ? -1 : 1) : strcmp(x->name, y->name);
}

static void
clear_share(gpointer p)
{
	g_free(((SinkShare *)p)->name);
}

static void
clear_error(gpointer p)
{
	g_free(((SinkErrorCount *)p)->name);
}

SinkShares *
sink_shares_compute(const SinkStats *stats, const SinkModel *model, GDateTime *now)
{
	SinkShares *sh = g_new0(SinkShares, 1);
	g_autoptr(GHashTable) error_index = g_hash_table_new(g_str_hash, g_str_equal);
	gint64 last = g_date_time_to_unix(now) / 60 * 60;
	/* a minute is in window w when it is at most span[w] - 1 minutes before `now`'s, and not after it */
	const gint64 span[SINK_SHARES_WINDOWS] = { 60, SINK_STATS_OUTCOME_MINUTES };
	/* the steps' counts in each window, and the counts they are shares of */
	GHashTable *step_counts[SINK_SHARES_WINDOWS];

	sh->configured = model != NULL;
	sh->shares = g_array_new(FALSE, TRUE, sizeof(SinkShare));
	g_array_set_clear_func(sh->shares, clear_share);
	sh->errors = g_array_new(FALSE, TRUE, sizeof(SinkErrorCount));
	g_array_set_clear_func(sh->errors, clear_error);
	for (size_t i = 0; i < G_N_ELEMENTS(model_classes); i++)
		share_get(sh->shares, model_classes[i], "of the mix",
			  model ? sink_shares_class_configured(model, model_classes[i]) : -1);

	for (guint i = 0; i < stats->minutes->len; i++) {
		const SinkMinute *m = &g_array_index(stats->minutes, SinkMinute, i);
		for (int w = 0; w < SINK_SHARES_WINDOWS; w++)
			if (m->minute <= last && m->minute > last - span[w] * 60)
				sh->messages[w] = add_sat(sh->messages[w], m->messages);
	}

	for (int w = 0; w < SINK_SHARES_WINDOWS; w++)
		step_counts[w] = g_hash_table_new(g_str_hash, g_str_equal);
	for (guint i = 0; i < stats->outcomes->len; i++) {
		const SinkOutcome *o = &g_array_index(stats->outcomes, SinkOutcome, i);
		const char *slash = strchr(o->name, '/');
		const char *group = slash ? NULL : sink_shares_error_group(o->name);

		for (int w = 0; w < SINK_SHARES_WINDOWS; w++) {
			if (o->minute > last || o->minute <= last - span[w] * 60)
				continue;
			if (slash && strcmp(slash + 1, "mix") == 0) {
				g_autofree char *klass = g_strndup(o->name, (gsize)(slash - o->name));
				SinkShare *s = share_get(sh->shares, klass, "of the mix",
							 model ? sink_shares_class_configured(model, klass) : -1);
				s->seen[w].count = add_sat(s->seen[w].count, o->count);
				sh->mixed[w] = add_sat(sh->mixed[w], o->count);
			} else if (slash) {
				sh->direct[w] = add_sat(sh->direct[w], o->count);
			} else if (group) {
				SinkErrorCount *e = error_get(error_index, sh->errors, o->name, group);
				e->seen[w] = add_sat(e->seen[w], o->count);
			} else {
				gint64 *n = g_hash_table_lookup(step_counts[w], o->name);
				if (n == NULL) {
					n = g_new0(gint64, 1);
					g_hash_table_insert(step_counts[w], o->name, n);
				}
				*n = add_sat(*n, o->count);
			}
		}
	}
	for (guint i = 0; i < sh->shares->len; i++)
		for (int w = 0; w < SINK_SHARES_WINDOWS; w++)
			g_array_index(sh->shares, SinkShare, i).seen[w].of = sh->mixed[w];

	for (size_t i = 0; i < G_N_ELEMENTS(steps); i++) {
		SinkShare *s = share_get(sh->shares, steps[i].name, steps[i].of_what,
					 model ? step_configured(model, steps[i].name) : -1);
		for (int w = 0; w < SINK_SHARES_WINDOWS; w++) {
			gint64 *n = g_hash_table_lookup(step_counts[w], steps[i].name);
			gint64 *of = g_hash_table_lookup(step_counts[w], steps[i].given);
			s->seen[w].count = n ? *n : 0;
			s->seen[w].of = of ? *of : 0;
		}
	}
	for (int w = 0; w < SINK_SHARES_WINDOWS; w++) {
		GHashTableIter it;
		gpointer v;
		g_hash_table_iter_init(&it, step_counts[w]);
		while (g_hash_table_iter_next(&it, NULL, &v))
			g_free(v);
		g_hash_table_unref(step_counts[w]);
	}

	for (guint i = 0; i < stats->counters->len; i++) {
		const SinkCounter *c = &g_array_index(stats->counters, SinkCounter, i);
		const char *group = sink_shares_error_group(c->name);
		if (strcmp(c->name, "total_messages") == 0)
			sh->messages_total = c->value;
		else if (group)
			error_get(error_index, sh->errors, c->name, group)->total = c->value;
	}
	g_hash_table_remove_all(error_index);	/* its positions are stale once sorted */
	g_array_sort(sh->errors, error_cmp);
	return sh;
}

void
sink_shares_free(SinkShares *sh)
{
	if (sh == NULL)
		return;
	g_array_unref(sh->shares);
	g_array_unref(sh->errors);
	g_free(sh);
}
