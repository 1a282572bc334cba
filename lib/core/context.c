/*
 * context.c - the per-message context: creation, the small recorders every
 * stage uses (counters, errors, notes, actions), and teardown.
 */
#include <stdarg.h>
#include <sys/random.h>

#include <hiredis/hiredis.h>

#include "context.h"
#include "directive.h"

static void
action_free(gpointer p)
{
	SinkAction *a = p;

	if (a == NULL)
		return;
	g_free(a->target);
	g_free(a->reply);
	g_free(a->error);
	if (a->hops)
		g_array_unref(a->hops);
	g_free(a);
}

void
sink_dkim_sig_free(gpointer p)
{
	SinkDkimSig *sig = p;

	if (sig == NULL)
		return;
	g_free(sig->domain);
	g_free(sig->selector);
	g_free(sig->result);
	g_strfreev(sig->headers);
	g_free(sig);
}

void
sink_unsub_free(SinkUnsub *u)
{
	if (u == NULL)
		return;
	if (u->uris)
		g_ptr_array_unref(u->uris);
	if (u->problems)
		g_ptr_array_unref(u->problems);
	g_free(u->detail);
	g_free(u->post_uri);
	g_free(u);
}

void
sink_hop_clear(gpointer p)
{
	g_free(((SinkHop *)p)->url);
}

/*
 * The message's time.  $SINK_NOW (ISO 8601, e.g. 2026-11-25T23:59:59Z)
 * stands in for the clock, so tests can cross a midnight or pick a weekday;
 * anything unparseable is ignored.
 */
static GDateTime *
clock_now(void)
{
	const char *fake = g_getenv("SINK_NOW");
	GDateTime *t = NULL;

	if (fake && *fake) {
		g_autoptr(GTimeZone) utc = g_time_zone_new_utc();
		g_autoptr(GDateTime) parsed = g_date_time_new_from_iso8601(fake, utc);
		if (parsed)
			t = g_date_time_to_utc(parsed);
	}
	return t ? t : g_date_time_new_now_utc();
}

guint32
sink_random_u32(void)
{
	guint32 v;

	if (getrandom(&v, sizeof v, GRND_NONBLOCK) == (ssize_t)sizeof v)
		return v;
	return g_random_int();
}

GRand *
sink_rand_new(void)
{
	guint32 seed[4];

	/* as g_rand_new() seeds itself, from the kernel's generator, in one getrandom(2) rather than
	 * opening, reading and closing /dev/urandom at every message */
	if (getrandom(seed, sizeof seed, GRND_NONBLOCK) == (ssize_t)sizeof seed)
		return g_rand_new_with_seed_array(seed, G_N_ELEMENTS(seed));
	return g_rand_new();
}

static GRand *shared_rng;	/* sink_rand_shared's: never freed with a context */

GRand *
sink_rand_shared(void)
{
	static pid_t owner;
	pid_t pid = getpid();

	if (shared_rng == NULL || owner != pid) {	/* (a forked child draws its own numbers, not its parent's) */
		if (shared_rng)
			g_rand_free(shared_rng);
		shared_rng = sink_rand_new();
		owner = pid;
	}
	return shared_rng;
}

SinkCtx *
sink_ctx_new(const SinkConfig *cfg, gint64 seed)
{
	SinkCtx *ctx = g_new0(SinkCtx, 1);

	ctx->cfg = cfg;
	ctx->rng = seed >= 0 ? g_rand_new_with_seed((guint32)seed) : sink_rand_shared();
	ctx->seed = seed;
	ctx->now = clock_now();
	ctx->deadline = g_get_monotonic_time() + (gint64)cfg->message_timeout * G_USEC_PER_SEC;
	ctx->draw = -1;
	sink_plan_init(&ctx->plan);
	ctx->actions = g_ptr_array_new_with_free_func(action_free);
	ctx->errors = g_ptr_array_new_with_free_func(g_free);
	ctx->counters = g_ptr_array_new();
	ctx->notes = g_ptr_array_new_with_free_func(g_free);
	ctx->dkim_sigs = g_ptr_array_new_with_free_func(sink_dkim_sig_free);
	return ctx;
}

void
sink_ctx_free(SinkCtx *ctx)
{
	if (ctx == NULL)
		return;
	if (ctx->rng && ctx->rng != shared_rng)
		g_rand_free(ctx->rng);
	if (ctx->delay_rng && ctx->delay_rng != shared_rng)
		g_rand_free(ctx->delay_rng);
	if (ctx->delayed)
		g_ptr_array_unref(ctx->delayed);
	if (ctx->now)
		g_date_time_unref(ctx->now);
	if (ctx->arrived)
		g_date_time_unref(ctx->arrived);
	g_clear_object(&ctx->mime);	/* before the bytes its streams point into */
	g_clear_object(&ctx->mime_body);
	if (ctx->raw)
		g_bytes_unref(ctx->raw);
	if (ctx->raw_buf)
		g_byte_array_unref(ctx->raw_buf);
	if (ctx->redis)
		redisFree(ctx->redis);
	g_free(ctx->env_from);
	g_free(ctx->env_to);
	g_free(ctx->client_ip);
	g_free(ctx->rcpt);
	g_free(ctx->return_path);
	g_free(ctx->message_id);
	g_free(ctx->hdr_from);
	g_free(ctx->hdr_to);
	g_free(ctx->hdr_date);
	g_free(ctx->subject);
	g_free(ctx->msfbl);
	g_free(ctx->label);
	sink_directives_free(ctx->directives);
	sink_plan_clear(&ctx->plan);
	g_free(ctx->dkim);
	g_free(ctx->dkim_domain);
	g_free(ctx->dkim_selector);
	g_free(ctx->dkim_detail);
	g_free(ctx->spf);
	g_free(ctx->mx_host);
	g_free(ctx->fbl_addr);
	g_free(ctx->cfbl.address);
	g_free(ctx->cfbl.feedback_id);
	g_free(ctx->cfbl.report);
	g_free(ctx->cfbl.reason);
	g_free(ctx->user_agent);
	g_free(ctx->scanner_agent);
	g_free(ctx->done_path);
	g_free(ctx->report_text);
	if (ctx->actions)
		g_ptr_array_unref(ctx->actions);
	if (ctx->errors)
		g_ptr_array_unref(ctx->errors);
	if (ctx->counters)
		g_ptr_array_unref(ctx->counters);
	if (ctx->notes)
		g_ptr_array_unref(ctx->notes);
	if (ctx->dkim_sigs)
		g_ptr_array_unref(ctx->dkim_sigs);
	sink_unsub_free(ctx->unsub);
	g_free(ctx->unsub_target);
	g_free(ctx->autoreply.detail);
	g_free(ctx);
}

void
sink_ctx_count(SinkCtx *ctx, const char *name)
{
	g_ptr_array_add(ctx->counters, (gpointer)name);
}

void
sink_ctx_error(SinkCtx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_ptr_array_add(ctx->errors, g_strdup_vprintf(fmt, ap));
	va_end(ap);
}

void
sink_ctx_redis_error(SinkCtx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_ptr_array_add(ctx->errors, g_strdup_vprintf(fmt, ap));
	va_end(ap);
	ctx->redis_errors++;
}

void
sink_ctx_note(SinkCtx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_ptr_array_add(ctx->notes, g_strdup_vprintf(fmt, ap));
	va_end(ap);
}

SinkAction *
sink_ctx_action(SinkCtx *ctx, const char *type, const char *target)
{
	SinkAction *a = g_new0(SinkAction, 1);

	a->type = type;
	a->target = g_strdup(target);
	g_ptr_array_add(ctx->actions, a);
	return a;
}

void
sink_action_fail(SinkAction *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_free(a->error);
	a->error = g_strdup_vprintf(fmt, ap);
	va_end(ap);
}
