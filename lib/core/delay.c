/*
 * delay.c - the delays of a message's steps, and the jobs of those that
 * wait (delay.h).
 */
#include <string.h>

#include "account.h"
#include "delay.h"
#include "feedback.h"
#include "queue.h"

/* The step a class's action is, for the classes that have one (openclick has two). */
static SinkStep
class_step(SinkClass k)
{
	switch (k) {
	case SINK_CLASS_OOB: return SINK_STEP_OOB;
	case SINK_CLASS_FBL: return SINK_STEP_FBL;
	case SINK_CLASS_UNSUBSCRIBE: return SINK_STEP_UNSUBSCRIBE;
	case SINK_CLASS_AUTOREPLY: return SINK_STEP_AUTOREPLY;
	default: return SINK_STEPS;
	}
}

/* A delay from the step's range: its own generator, seeded from --seed ("dela" apart from the decision's). */
static gint64
draw(SinkCtx *ctx, SinkStep step)
{
	const SinkDelayRange *r = &ctx->cfg->delays[step];

	if (r->max == r->min)
		return r->min;
	if (ctx->delay_rng == NULL) {
		guint32 seed[2] = { (guint32)ctx->seed, 0x64656c61 };
		ctx->delay_rng = ctx->seed >= 0 ? g_rand_new_with_seed_array(seed, 2) : sink_rand_shared();
	}
	return g_rand_int_range(ctx->delay_rng, (gint32)r->min, (gint32)r->max + 1);
}

static void
delayed_free(gpointer p)
{
	SinkDelayed *d = p;

	g_free(d->job);
	g_free(d);
}

static void
plan_delayed(SinkCtx *ctx, SinkStep step, gint64 delay, gint64 after)
{
	SinkDelayed *d;

	ctx->step_delay[step] = delay;
	if (delay <= 0)
		return;
	if (ctx->delayed == NULL)
		ctx->delayed = g_ptr_array_new_with_free_func(delayed_free);
	d = g_new0(SinkDelayed, 1);
	d->step = step;
	d->delay = delay;
	d->due = g_date_time_to_unix(ctx->now) + after + delay;
	g_ptr_array_add(ctx->delayed, d);
}

void
sink_delay_plan(SinkCtx *ctx)
{
	const SinkPlan *p = &ctx->plan;
	SinkStep step = class_step(ctx->klass);

	memset(ctx->step_delay, 0, sizeof ctx->step_delay);
	if (ctx->klass == SINK_CLASS_OPENCLICK) {
		gint64 open = 0;
		if (p->opens > 0)
			plan_delayed(ctx, SINK_STEP_OPEN, open = p->delay >= 0 ? p->delay : draw(ctx, SINK_STEP_OPEN), 0);
		if (p->clicks > 0)
			plan_delayed(ctx, SINK_STEP_CLICK, p->opens == 0 && p->delay >= 0 ? p->delay
					: draw(ctx, SINK_STEP_CLICK), open);
	} else if (step != SINK_STEPS) {
		plan_delayed(ctx, step, p->delay >= 0 ? p->delay : draw(ctx, step), 0);
	} else if (p->delay > 0) {
		g_autofree char *d = sink_duration_text(p->delay);
		sink_plan_note(&ctx->plan, "delay=%s: class %s has no step to delay", d, sink_class_name(ctx->klass));
	}
}

/* The record's entry of `step`; NULL when it has none. */
static SinkDelayed *
delayed_entry(SinkCtx *ctx, SinkStep step)
{
	for (guint i = 0; ctx->delayed && i < ctx->delayed->len; i++)
		if (((SinkDelayed *)ctx->delayed->pdata[i])->step == step)
			return ctx->delayed->pdata[i];
	return NULL;
}

/* A step that could not wait: it runs now, and the record no longer lists it. */
static void
not_delayed(SinkCtx *ctx, SinkStep step, const char *why)
{
	sink_ctx_count(ctx, "jobs_not_delayed");
	sink_ctx_note(ctx, "%s not delayed: %s; run at once", sink_step_name(step), why);
	sink_delay_forget(ctx, step);
}

void
sink_delay_forget(SinkCtx *ctx, SinkStep step)
{
	SinkDelayed *d = delayed_entry(ctx, step);

	if (d)
		g_ptr_array_remove(ctx->delayed, d);
}

/* Whether job `id` is in the queue, asked on a connection of its own (ctx's gave no answer): 1, 0 or -1. */
static int
queued_late(SinkCtx *ctx, const char *id)
{
	g_autoptr(GError) error = NULL;
	redisContext *c = sink_redis_connect(ctx->cfg, 2000, &error);
	int has;

	if (c == NULL)
		return -1;
	has = sink_queue_has(c, ctx->cfg, id);
	redisFree(c);
	return has;
}

gboolean
sink_delay_queue(SinkCtx *ctx, const SinkJob *job, gint64 delay)
{
	g_autoptr(GBytes) bytes = sink_job_encode(job);
	g_autoptr(GError) error = NULL;
	redisContext *c;
	gsize len;
	const void *data = g_bytes_get_data(bytes, &len);
	gint64 due;
	SinkDelayed *d;

	if ((gint64)len > ctx->cfg->delay_job_max_size) {
		g_autofree char *why = g_strdup_printf("its job of %" G_GSIZE_FORMAT " bytes is larger than "
						       "Delay_Job_Max_Size (%" G_GINT64_FORMAT ")", len,
						       ctx->cfg->delay_job_max_size);
		not_delayed(ctx, job->step, why);
		return FALSE;
	}
	if ((c = sink_account_redis(ctx)) == NULL) {
		not_delayed(ctx, job->step, "Redis unreachable");
		return FALSE;
	}
	due = sink_queue_add(c, ctx->cfg, g_date_time_to_unix(ctx->now) / 60 * 60, job->id, delay * 1000, data, len,
			     &error);
	if (due < 0 && sink_redis_hung(c)) {
		/*
		 * No answer in time, but Redis may be slow rather than gone, and
		 * run the script all the same: a worker would then do the step
		 * too.  Asked once, on a new connection, whether the job is there.
		 */
		switch (queued_late(ctx, job->id)) {
		case 1:
			due = (g_date_time_to_unix(ctx->now) + delay) * 1000;	/* (near enough: Redis's is not known) */
			sink_ctx_note(ctx, "%s: Redis answered late, the job queued", sink_step_name(job->step));
			break;
		case 0:
			not_delayed(ctx, job->step, "Redis gave no answer within 2 s, and has not queued the job");
			return FALSE;
		default:
			not_delayed(ctx, job->step, "Redis gave no answer within 2 s (should it queue the job late, "
						    "a worker does the step too)");
			return FALSE;
		}
	}
	if (due < 0) {
		g_autofree char *why = g_strdup_printf("Redis: %s", error->message);
		not_delayed(ctx, job->step, why);
		return FALSE;
	}
	if (due == 0) {
		g_autofree char *why = g_strdup_printf("the queue holds Delay_Queue_Max (%" G_GINT64_FORMAT ") jobs",
						       ctx->cfg->delay_queue_max);
		not_delayed(ctx, job->step, why);
		return FALSE;
	}
	if ((d = delayed_entry(ctx, job->step)) != NULL) {
		d->due = due / 1000;
		g_free(d->job);
		d->job = g_strdup(job->id);
	}
	{
		g_autofree char *text = sink_duration_text(delay);
		sink_ctx_note(ctx, "%s delayed %s: job %s", sink_step_name(job->step), text, job->id);
	}
	return TRUE;
}

gboolean
sink_delay_report(SinkCtx *ctx, SinkStep step)
{
	g_autoptr(SinkJob) job = NULL;

	if (ctx->dry_run || ctx->step_delay[step] <= 0)
		return FALSE;
	/* the draw the complaint would make now, made now: the same --seed, the same type */
	if (step == SINK_STEP_FBL && !ctx->plan.feedback_chosen) {
		ctx->plan.feedback_type = sink_feedback_draw(ctx->cfg->fbl_feedback_weights, ctx->rng);
		ctx->plan.feedback_chosen = TRUE;
	}
	job = sink_job_from_ctx(ctx, step);
	sink_job_set_original(job, ctx);
	return sink_delay_queue(ctx, job, ctx->step_delay[step]);
}

/* A GPtrArray of char* as a NULL-terminated copy; NULL when empty. */
static char **
strv_of(GPtrArray *a)
{
	char **v;

	if (a == NULL || a->len == 0)
		return NULL;
	v = g_new0(char *, a->len + 1);
	for (guint i = 0; i < a->len; i++)
		v[i] = g_strdup(a->pdata[i]);
	return v;
}

void
sink_delay_reader(SinkCtx *ctx, GPtrArray *pixels, GPtrArray *links, gboolean *open_now, gboolean *click_now)
{
	const SinkPlan *p = &ctx->plan;

	*open_now = *click_now = TRUE;
	if (ctx->dry_run)
		return;
	if (p->opens > 0 && ctx->step_delay[SINK_STEP_OPEN] > 0) {
		g_autoptr(SinkJob) job = sink_job_from_ctx(ctx, SINK_STEP_OPEN);
		job->opens = p->opens;
		job->clicks = p->clicks;
		job->click_delay = ctx->step_delay[SINK_STEP_CLICK];
		job->pixels = strv_of(pixels);
		job->links = p->clicks > 0 ? strv_of(links) : NULL;
		if (sink_delay_queue(ctx, job, ctx->step_delay[SINK_STEP_OPEN])) {
			SinkDelayed *click = delayed_entry(ctx, SINK_STEP_CLICK);
			if (click)	/* its clicks ride in the open's job */
				click->job = g_strdup(job->id);
			*open_now = *click_now = FALSE;
		} else {	/* a reader clicks after opening */
			sink_delay_forget(ctx, SINK_STEP_CLICK);
		}
		return;
	}
	if (p->clicks > 0 && ctx->step_delay[SINK_STEP_CLICK] > 0) {
		g_autoptr(SinkJob) job = sink_job_from_ctx(ctx, SINK_STEP_CLICK);
		job->clicks = p->clicks;
		job->links = strv_of(links);
		if (sink_delay_queue(ctx, job, ctx->step_delay[SINK_STEP_CLICK]))
			*click_now = FALSE;
	}
}
