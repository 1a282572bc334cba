/*
 * worker.c - the delay queue's worker (worker.h): claim a due job, run it
 * through the action module, end it with its counters, once.
 *
 * Design rationale: a process per job would pay the libraries' start-up
 * on every job, and threads would share curl's and GMime's state between
 * jobs; so a worker is a loop in one process, and --concurrency forks
 * several such loops, each claiming its own jobs (a crash takes one job,
 * whose lease then ends).  Waiting is a sleep until the next due time the
 * claim script reports (at most a second, so a job added meanwhile waits
 * no longer than that).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "account.h"
#include "decide.h"
#include "delay.h"
#include "job.h"
#include "log.h"
#include "module.h"
#include "queue.h"
#include "worker.h"

/*
 * KEYS: due, lease, data, tries; ARGV: lease in ms, jobs at most.  Takes
 * the jobs whose lease ended (their worker died) first, then the due ones;
 * each moved to the lease set, its claims counted.  Returns Redis's now,
 * the next due time or lease end when nothing was taken (else -1), then
 * id, lease end, claims, job for each job taken.
 */
static const char claim_script[] =
	"if redis.replicate_commands then pcall(redis.replicate_commands) end\n"
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"local n = tonumber(ARGV[2])\n"
	"local out = {string.format('%.0f', now), '-1'}\n"
	"local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, n)\n"
	"if #ids < n then\n"
	"  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, n - #ids)) do\n"
	"    ids[#ids + 1] = id\n"
	"  end\n"
	"end\n"
	"local lease = now + tonumber(ARGV[1])\n"
	"for _, id in ipairs(ids) do\n"
	"  redis.call('ZREM', KEYS[1], id)\n"
	"  redis.call('ZADD', KEYS[2], lease, id)\n"
	"  out[#out + 1] = id\n"
	"  out[#out + 1] = string.format('%.0f', lease)\n"
	"  out[#out + 1] = tostring(redis.call('HINCRBY', KEYS[4], id, 1))\n"
	"  out[#out + 1] = redis.call('HGET', KEYS[3], id) or ''\n"
	"end\n"
	"if #ids == 0 then\n"
	"  for _, k in ipairs({KEYS[1], KEYS[2]}) do\n"
	"    local first = redis.call('ZRANGE', k, 0, 0, 'WITHSCORES')\n"
	"    if first[2] and (out[2] == '-1' or tonumber(first[2]) < tonumber(out[2])) then\n"
	"      out[2] = string.format('%.0f', tonumber(first[2]))\n"
	"    end\n"
	"  end\n"
	"end\n"
	"return out\n";

/*
 * KEYS: lease, data, tries, due, then the counters' keys; ARGV: id, lease
 * end as claimed, the next job's id ('' when none), its delay in ms, the
 * next job, then a field ('' for INCRBY) and a count per counter key.
 * Nothing happens unless the lease is still the one claimed (another
 * worker took the job after it ended): returns 1 when the job was ended
 * here, 0 when not, 2 when the job is gone altogether (ended already: by
 * this worker's first try, whose answer was lost, or by another).
 */
static const char end_script[] =
	"if redis.replicate_commands then pcall(redis.replicate_commands) end\n"
	"local s = redis.call('ZSCORE', KEYS[1], ARGV[1])\n"
	"if not s and redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return 2 end\n"
	"if not s or tonumber(s) ~= tonumber(ARGV[2]) then return 0 end\n"
	"redis.call('ZREM', KEYS[1], ARGV[1])\n"
	"redis.call('HDEL', KEYS[2], ARGV[1])\n"
	"redis.call('HDEL', KEYS[3], ARGV[1])\n"
	"if ARGV[3] ~= '' then\n"
	"  local t = redis.call('TIME')\n"
	"  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"  redis.call('HSET', KEYS[2], ARGV[3], ARGV[5])\n"
	"  redis.call('ZADD', KEYS[4], now + tonumber(ARGV[4]), ARGV[3])\n"
	"end\n"
	"for i = 5, #KEYS do\n"
	"  local f, n = ARGV[6 + 2 * (i - 5)], ARGV[7 + 2 * (i - 5)]\n"
	"  if f == '' then redis.call('INCRBY', KEYS[i], n) else redis.call('HINCRBY', KEYS[i], f, n) end\n"
	"end\n"
	"return 1\n";

static volatile sig_atomic_t stopping;

static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

/* Sleep `ms` milliseconds, or less when a signal comes. */
static void
nap(gint64 ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	if (!stopping)
		nanosleep(&ts, NULL);
}

/* One claimed job, as the claim script returned it. */
typedef struct {
	const char *id;
	const char *lease;	/* the lease's end, as Redis scored it: the end script's proof */
	gint64 tries;
	GBytes *data;
	gint64 lease_end;	/* the same in this host's monotonic clock (µs), as near as the claim's return */
} Claim;

/* The counters a job's end bumps, and the job that follows it. */
typedef struct {
	GPtrArray *keys;	/* char* */
	GPtrArray *fields;	/* char*, "" for INCRBY */
	GPtrArray *counts;	/* char* */
	SinkJob *next;		/* NULL when none */
	gint64 next_delay;	/* seconds */
} Ending;

static void
ending_clear(Ending *e)
{
	g_ptr_array_unref(e->keys);
	g_ptr_array_unref(e->fields);
	g_ptr_array_unref(e->counts);
	sink_job_free(e->next);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Ending, ending_clear)

static void
ending_init(Ending *e)
{
	e->keys = g_ptr_array_new_with_free_func(g_free);
	e->fields = g_ptr_array_new_with_free_func(g_free);
	e->counts = g_ptr_array_new_with_free_func(g_free);
	e->next = NULL;
	e->next_delay = 0;
}

/* Bump counter `name` n times at the job's end, with its field of this minute's tso_ hash (account.h). */
static void
ending_count(Ending *e, const SinkConfig *cfg, const char *name, guint n, gint64 minute)
{
	g_autofree char *prefix = sink_config_key_prefix(cfg);

	g_ptr_array_add(e->keys, g_strdup_printf("%sint_%s", prefix, name));
	g_ptr_array_add(e->fields, g_strdup(""));
	g_ptr_array_add(e->counts, g_strdup_printf("%u", n));
	g_ptr_array_add(e->keys, g_strdup_printf("%stso_%" G_GINT64_FORMAT, prefix, minute));
	g_ptr_array_add(e->fields, g_strdup(name));
	g_ptr_array_add(e->counts, g_strdup_printf("%u", n));
}

/* The job's end (end_script): TRUE with *ended the script's answer (1, 0 or 2); FALSE with error when Redis failed. */
static gboolean
end_job(redisContext *c, const SinkConfig *cfg, const Claim *cl, const Ending *e, int *ended, GError **error)
{
	g_autofree char *lease = sink_queue_key(cfg, "lease"), *data = sink_queue_key(cfg, "data");
	g_autofree char *tries = sink_queue_key(cfg, "tries"), *due = sink_queue_key(cfg, "due");
	g_autoptr(GBytes) next = e->next ? sink_job_encode(e->next) : NULL;
	g_autofree char *delay = g_strdup_printf("%" G_GINT64_FORMAT, e->next_delay * 1000);
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GArray) lens = g_array_new(FALSE, FALSE, sizeof(size_t));
	const char *fixed[] = { lease, data, tries, due };
	redisReply *r;
	gsize next_len = 0;
	const char *next_data = next ? g_bytes_get_data(next, &next_len) : "";
	size_t len;

#define ARG(s, n) (g_ptr_array_add(argv, (gpointer)(s)), len = (n), g_array_append_val(lens, len))
	for (guint i = 0; i < G_N_ELEMENTS(fixed); i++)
		ARG(fixed[i], strlen(fixed[i]));
	for (guint i = 0; i < e->keys->len; i++)
		ARG(e->keys->pdata[i], strlen(e->keys->pdata[i]));
	ARG(cl->id, strlen(cl->id));
	ARG(cl->lease, strlen(cl->lease));
	ARG(e->next ? e->next->id : "", e->next ? strlen(e->next->id) : 0);
	ARG(delay, strlen(delay));
	ARG(next_data ? next_data : "", next_len);
	for (guint i = 0; i < e->keys->len; i++) {
		ARG(e->fields->pdata[i], strlen(e->fields->pdata[i]));
		ARG(e->counts->pdata[i], strlen(e->counts->pdata[i]));
	}
#undef ARG
	r = sink_redis_eval(c, end_script, 4 + (int)e->keys->len, (int)argv->len, (const char *const *)argv->pdata,
			    (const size_t *)(void *)lens->data);
	if (r == NULL || r->type != REDIS_REPLY_INTEGER) {
		/* a Redis loading its data after a restart, or busy with a script, says so and ran nothing */
		gboolean again = r && r->type == REDIS_REPLY_ERROR &&
				 (g_str_has_prefix(r->str, "LOADING") || g_str_has_prefix(r->str, "BUSY") ||
				  g_str_has_prefix(r->str, "TRYAGAIN") || g_str_has_prefix(r->str, "MASTERDOWN"));

		g_set_error(error, G_FILE_ERROR, again ? G_FILE_ERROR_AGAIN : G_FILE_ERROR_FAILED, "Redis: %s",
			    r == NULL ? c->errstr : r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
		if (r)
			freeReplyObject(r);
		return FALSE;
	}
	*ended = (int)r->integer;
	freeReplyObject(r);
	return TRUE;
}

/*
 * The job's end, tried again while the lease lasts when the connection
 * fails (Redis restarted, say: then on a new one) or Redis answers that it
 * cannot run it yet (LOADING its data after a restart, BUSY): the job
 * would otherwise be claimed again when its lease ends and its step done
 * twice.  The script's lease check makes a second try safe; *retried says
 * there was one (then a job gone is this worker's first try, whose answer
 * was lost).
 */
static gboolean
end_job_retrying(redisContext *c, const SinkConfig *cfg, const Claim *cl, const Ending *e, int *ended,
		 gboolean *retried, gboolean *reconnected, GError **error)
{
	const struct timespec pause = { 0, 200 * 1000000 };	/* (a stop does not shorten it: no spinning) */

	*retried = *reconnected = FALSE;
	while (!end_job(c, cfg, cl, e, ended, error)) {
		gboolean lost = c->err != 0;

		if ((!lost && !g_error_matches(*error, G_FILE_ERROR, G_FILE_ERROR_AGAIN)) ||
		    g_get_monotonic_time() + G_USEC_PER_SEC > cl->lease_end)
			return FALSE;	/* another error answer, or too late: the lease gives the job again */
		g_clear_error(error);
		nanosleep(&pause, NULL);
		*retried = TRUE;
		if (lost) {
			*reconnected = TRUE;
			(void)redisReconnect(c);	/* (failing, it leaves c->err set: the next try fails at once) */
		}
	}
	return TRUE;
}

/* Print and log a line that is about the worker or a job it could not run. */
static void
say(const SinkConfig *cfg, const SinkWorkerOptions *o, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void
say(const SinkConfig *cfg, const SinkWorkerOptions *o, const char *fmt, ...)
{
	va_list ap;
	g_autofree char *text = NULL;
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();
	g_autofree char *line = NULL;

	va_start(ap, fmt);
	text = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	line = sink_log_warning_line(now, o->program, text);
	fprintf(stderr, "%s: %s\n", o->program, text);
	if (cfg)
		sink_log_append(cfg, now, line, NULL);
}

/* An open job: the pixels fetched, and its clicks now or, by Click_Delay, as a job of their own. */
static void
run_open(SinkCtx *ctx, const SinkActModule *m, const SinkJob *job, Ending *e)
{
	gboolean clicks_now = job->clicks > 0 && job->click_delay <= 0;

	m->reader_run(ctx, job->pixels, job->links, TRUE, clicks_now);
	if (job->clicks > 0 && !clicks_now) {	/* the clicks follow the opens, by Click_Delay */
		g_autoptr(GBytes) bytes = sink_job_encode(job);
		g_autoptr(SinkJob) fresh = sink_job_new(SINK_STEP_CLICK);	/* for a new id */
		SinkJob *next = sink_job_decode(bytes, NULL);	/* this job, copied */

		g_free(next->id);
		next->id = g_steal_pointer(&fresh->id);
		next->step = SINK_STEP_CLICK;
		next->opens = 0;
		g_clear_pointer(&next->pixels, g_strfreev);
		e->next = next;
		e->next_delay = job->click_delay;
		sink_ctx_note(ctx, "click delayed %" G_GINT64_FORMAT "s: job %s", job->click_delay, next->id);
	}
}

/* The job's step, through the action module as sink-filter would have run it at once. */
static void
run_step(SinkCtx *ctx, const SinkActModule *m, const SinkJob *job, Ending *e)
{
	switch (job->step) {
	case SINK_STEP_OPEN: run_open(ctx, m, job, e); break;
	case SINK_STEP_CLICK: m->reader_run(ctx, NULL, job->links, FALSE, TRUE); break;
	case SINK_STEP_OOB: m->bounce_run(ctx); break;
	case SINK_STEP_FBL: m->complaint_run(ctx); break;
	case SINK_STEP_UNSUBSCRIBE: m->unsubscribe_run(ctx); break;
	case SINK_STEP_AUTOREPLY: m->autoreply_run(ctx); break;
	case SINK_STEPS: g_assert_not_reached();	/* sink_job_decode refuses an unknown step */
	}
}

/* One claimed job: run, counted and ended; FALSE when Redis failed at its end (the lease will give it again). */
static gboolean
run_claim(redisContext *c, const SinkConfig *cfg, const SinkWorkerOptions *o, const Claim *cl)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SinkJob) job = sink_job_decode(cl->data, &error);
	g_auto(Ending) e = { NULL };
	g_autoptr(SinkCtx) ctx = NULL;
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();
	gint64 minute = g_date_time_to_unix(now) / 60 * 60;
	const SinkActModule *m = NULL;
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
	int ended = 0;
	gboolean retried = FALSE, reconnected = FALSE;
	g_autofree char *line = NULL;

	ending_init(&e);
	if (job == NULL) {
		say(cfg, o, "job %s: cannot be read: %s; removed, counted jobs_failed", cl->id, error->message);
		g_clear_error(&error);
		ending_count(&e, cfg, "jobs_failed", 1, minute);
		return end_job(c, cfg, cl, &e, &ended, &error);
	}
	if (cl->tries > SINK_WORKER_MAX_TRIES) {
		say(cfg, o, "job %s (%s to %s): claimed %" G_GINT64_FORMAT " times without ending (its workers died, "
		    "or Redis failed at its end); removed, counted jobs_failed", job->id, sink_step_name(job->step),
		    job->rcpt, cl->tries - 1);
		ending_count(&e, cfg, "jobs_failed", 1, minute);
		return end_job(c, cfg, cl, &e, &ended, &error);
	}
	if (g_date_time_to_unix(now) - job->created > cfg->delay_job_max_age) {
		say(cfg, o, "job %s (%s to %s): older than Delay_Job_Max_Age; removed, counted jobs_expired", job->id,
		    sink_step_name(job->step), job->rcpt);
		ending_count(&e, cfg, "jobs_expired", 1, minute);
		return end_job(c, cfg, cl, &e, &ended, &error);
	}
	if ((m = sink_module_act(&error)) == NULL ||
	    ((job->step == SINK_STEP_OOB || job->step == SINK_STEP_FBL || job->step == SINK_STEP_AUTOREPLY ||
	      job->step == SINK_STEP_UNSUBSCRIBE) &&
	     cfg->dkim_sign_key && sink_module_dkim(&error) == NULL)) {	/* as pipeline.c: signed, or not sent */
		/* an install being mended: the job stays, and its lease gives it again */
		say(cfg, o, "job %s: cannot run: %s; left for a later claim", job->id, error->message);
		return TRUE;
	}

	ctx = sink_ctx_new(cfg, job->seed);
	sink_job_restore(ctx, job);
	sink_ctx_note(ctx, "job %s: %s, claim %" G_GINT64_FORMAT, job->id, sink_step_name(job->step), cl->tries);
	/* the mix's Signals rule holds on the day the reader would open, not only on the day of the message */
	if ((job->step == SINK_STEP_OPEN || job->step == SINK_STEP_CLICK) && ctx->route == SINK_ROUTE_MIX &&
	    !sink_signals_open_allowed(cfg, ctx->rcpt, ctx->now))
		sink_ctx_note(ctx, "Signals address: no opens on day %d; the %s is not made",
			      g_date_time_get_day_of_month(ctx->now), sink_step_name(job->step));
	else
		run_step(ctx, m, job, &e);
	for (guint i = 0; i < ctx->counters->len; i++) {
		const char *name = ctx->counters->pdata[i];
		guint n = 0;
		if (!g_hash_table_add(seen, (gpointer)name))
			continue;
		for (guint j = i; j < ctx->counters->len; j++)
			n += strcmp(name, ctx->counters->pdata[j]) == 0;
		ending_count(&e, cfg, name, n, minute);
	}
	ending_count(&e, cfg, "jobs_run", 1, minute);
	if (e.next)
		ending_count(&e, cfg, "jobs_scheduled", 1, minute);
	if (!end_job_retrying(c, cfg, cl, &e, &ended, &retried, &reconnected, &error))
		sink_ctx_redis_error(ctx, "job not ended (%s): run again when its lease ends", error->message);
	else if (ended == 2 && retried)
		sink_ctx_note(ctx, "job gone at a second try of its end: the first ended it and its answer was lost, or "
			      "Redis lost the job (restarted without persistence: then its counters were not bumped)");
	else if (ended != 1)
		sink_ctx_error(ctx, "job's lease ended before the job: another worker took it; not counted here");
	else if (reconnected)
		sink_ctx_note(ctx, "job ended on a new connection to Redis");
	else if (retried)
		sink_ctx_note(ctx, "job ended on a second try, once Redis could run it (it was loading its data, or busy)");
	line = sink_log_line(ctx, o->program);
	if (!sink_log_append(cfg, ctx->now, line, &error))
		fprintf(stderr, "%s: log not written: %s\n", o->program, error->message);
	if (o->verbose)
		fprintf(stderr, "%s\n", line);
	sink_account_keep(ctx);	/* (its tracking-cache connection, for the next job) */
	return error == NULL || ended == 1;
}

/* The loop of one process. */
/*
 * The modules every job may need (the action module; the DKIM module when
 * reports are signed, as pipeline.c): FALSE, with why, while they cannot
 * be loaded.  Checked before a claim, so that an install being mended
 * leaves the jobs waiting rather than claimed again and again until they
 * count as failed.
 */
static gboolean
modules_ready(const SinkConfig *cfg, GError **error)
{
	return sink_module_act(error) != NULL && (cfg->dkim_sign_key == NULL || sink_module_dkim(error) != NULL);
}

/*
 * Something that keeps the loop from claiming (Redis unreachable, the
 * modules missing, the claim refused): `what` said once while it lasts
 * (*said), then, with --once, the end of the run (FALSE: exit 75), else a
 * second's pause before the next try.
 */
static gboolean
held(const SinkConfig *cfg, const SinkWorkerOptions *o, gboolean *said, const char *what)
{
	if (!*said)
		say(cfg, o, "%s%s", what, o->once ? "" : "; trying again every second");
	*said = TRUE;
	if (o->once)
		return FALSE;
	nap(1000);
	return TRUE;
}

static int
worker_loop(const SinkWorkerOptions *o)
{
	redisContext *c = NULL;
	g_autofree char *c_url = NULL;	/* the Redis_URL c was opened on */
	gboolean said_down = FALSE, said_modules = FALSE, said_claim = FALSE;
	int status = 0;

	while (!stopping) {
		g_autoptr(GError) error = NULL;
		/* the default looked for anew: a system config made after the start is read */
		const SinkConfig *cfg = sink_config_get(o->config_path ? o->config_path : sink_config_default_path(),
							&error);
		g_autofree char *due = NULL, *lease = NULL, *data = NULL, *tries = NULL, *lease_ms = NULL;
		redisReply *r;
		gint64 claimed;

		if (cfg == NULL) {
			fprintf(stderr, "%s: config: %s\n", o->program, error->message);
			status = 75;
			break;
		}
		if (c && g_strcmp0(c_url, cfg->redis_url) != 0) {	/* the config names another Redis now */
			redisFree(c);
			c = NULL;
		}
		if (c == NULL && (c = sink_redis_connect(cfg, 2000, &error)) == NULL) {
			g_autofree char *what = g_strdup_printf("Redis unreachable: %s", error->message);
			if (held(cfg, o, &said_down, what))
				continue;
			status = 75;
			break;
		}
		if (g_strcmp0(c_url, cfg->redis_url) != 0) {
			g_free(c_url);
			c_url = g_strdup(cfg->redis_url);
		}
		said_down = FALSE;
		if (!modules_ready(cfg, &error)) {
			g_autofree char *what = g_strdup_printf("cannot run jobs: %s; none claimed", error->message);
			if (held(cfg, o, &said_modules, what))
				continue;
			status = 75;
			break;
		}
		if (said_modules)
			say(cfg, o, "the modules load again: jobs are claimed");
		said_modules = FALSE;
		due = sink_queue_key(cfg, "due");
		lease = sink_queue_key(cfg, "lease");
		data = sink_queue_key(cfg, "data");
		tries = sink_queue_key(cfg, "tries");
		lease_ms = g_strdup_printf("%d", (cfg->message_timeout + SINK_WORKER_LEASE_MARGIN) * 1000);
		{
			const char *argv[] = { due, lease, data, tries, lease_ms, "1" };
			r = sink_redis_eval(c, claim_script, 4, G_N_ELEMENTS(argv), argv, NULL);
		}
		claimed = g_get_monotonic_time();	/* (Redis's now, within the claim's round trip) */
		if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 2 || (r->elements - 2) % 4 != 0) {
			/* (an answer such as READONLY or WRONGTYPE may last) */
			g_autofree char *what = g_strdup_printf("Redis: claim failed: %s", r == NULL ? c->errstr
								: r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
			if (r)
				freeReplyObject(r);
			redisFree(c);
			c = NULL;
			if (held(cfg, o, &said_claim, what))
				continue;
			status = 75;
			break;
		}
		said_claim = FALSE;
		if (r->elements == 2) {	/* nothing due: sleep until the next one is (a second at most) */
			gint64 now = g_ascii_strtoll(r->element[0]->str, NULL, 10);
			gint64 next = g_ascii_strtoll(r->element[1]->str, NULL, 10);
			freeReplyObject(r);
			if (o->once)
				break;
			nap(next < 0 ? 1000 : CLAMP(next - now, 5, 1000));
			continue;
		}
		for (size_t i = 2; i + 3 < r->elements; i += 4) {
			gint64 redis_now = g_ascii_strtoll(r->element[0]->str, NULL, 10);
			Claim cl = {
				r->element[i]->str, r->element[i + 1]->str,
				g_ascii_strtoll(r->element[i + 2]->str, NULL, 10),
				g_bytes_new(r->element[i + 3]->str, r->element[i + 3]->len),
				claimed + (g_ascii_strtoll(r->element[i + 1]->str, NULL, 10) - redis_now) * 1000,
			};
			if (!run_claim(c, cfg, o, &cl)) {
				redisFree(c);
				c = NULL;
			}
			g_bytes_unref(cl.data);
			if (c == NULL)
				break;
		}
		freeReplyObject(r);
	}
	if (c)
		redisFree(c);
	return status;
}

static void
catch_stop(void)
{
	struct sigaction sa = { 0 };
	sigset_t set;

	sa.sa_handler = on_stop;	/* no SA_RESTART: a sleep ends at once */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* as sink-filterd: a hang-up (a terminal closed, a reload asked of the unit) stops nothing, and the config
	 * is read again for every job anyway (a supervisor's workers inherit this) */
	signal(SIGHUP, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* The pause before a worker that died is started again (its job is claimed again when its lease ends, and
 * removed after SINK_WORKER_MAX_TRIES claims: a job that kills its worker cannot take the workers down). */
#define RESTART_PAUSE_MS 1000

/* Whether a worker is still to be started (start_at: supervise's) */
static gboolean
starts_left(const gint64 *start_at, guint n)
{
	for (guint i = 0; i < n; i++)
		if (start_at[i] != 0)
			return TRUE;
	return FALSE;
}

/*
 * o->processes worker loops, each in a child of its own.  One that dies of
 * a signal or exits with a status a worker does not give (a crash) is said
 * on stderr and started again after a pause; one that exits 75 (its config
 * is bad) stops the others, and the run exits 75, as a single worker would.
 * SIGTERM and SIGINT are passed on: each child finishes its job.  The
 * signals are waited for (sigtimedwait) rather than caught, so none comes
 * unseen between two checks.  With o->once (a cron run), a worker that
 * ends (no job due is left for it) is not started again, nor one that
 * crashed (its job is claimed again by a later run once its lease ends),
 * and the run ends with the last.
 */
static int
supervise(const SinkWorkerOptions *o)
{
	g_autofree pid_t *pids = g_new0(pid_t, o->processes);
	g_autofree gint64 *start_at = g_new0(gint64, o->processes);	/* ms, monotonic; 0: running or not to start */
	sigset_t set, old;
	guint alive = 0;
	gboolean passed_on = FALSE;
	int status = 0;

	signal(SIGCHLD, SIG_DFL);	/* (ignored, as a parent may leave it, the children would be reaped unseen) */
	/* the modules loaded here, before any fork, as sink-filterd's: a worker started again after an upgrade was
	 * installed runs with the modules of its own build (a module it loads itself must be of that build too:
	 * module.c; one that cannot be loaded now is each worker's to say) */
	(void)sink_module_act(NULL);
	(void)sink_module_dkim(NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, &old);
	for (guint i = 0; i < o->processes; i++)
		start_at[i] = 1;
	for (;;) {
		gint64 now = g_get_monotonic_time() / 1000, wait_ms = 1000;
		struct timespec ts;
		pid_t pid;
		int st, sig;

		for (guint i = 0; i < o->processes && !stopping; i++) {
			if (start_at[i] == 0)
				continue;
			if (start_at[i] > now) {
				wait_ms = MIN(wait_ms, start_at[i] - now);
				continue;
			}
			if ((pid = fork()) == 0) {
				sigprocmask(SIG_SETMASK, &old, NULL);
				prctl(PR_SET_PDEATHSIG, SIGTERM);
				_exit(worker_loop(o));
			}
			if (pid < 0) {
				fprintf(stderr, "%s: cannot start a worker: %s; trying again in 1 s\n", o->program,
					g_strerror(errno));
				start_at[i] = now + RESTART_PAUSE_MS;
				wait_ms = MIN(wait_ms, RESTART_PAUSE_MS);
				continue;
			}
			pids[i] = pid;
			start_at[i] = 0;
			alive++;
		}
		if (stopping && !passed_on) {
			for (guint i = 0; i < o->processes; i++)
				if (pids[i] > 0)
					kill(pids[i], SIGTERM);
			passed_on = TRUE;
		}
		if (alive == 0 && (stopping || (o->once && !starts_left(start_at, o->processes))))
			break;
		ts.tv_sec = wait_ms / 1000;
		ts.tv_nsec = (wait_ms % 1000) * 1000000;
		sig = sigtimedwait(&set, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT)
			stopping = 1;
		now = g_get_monotonic_time() / 1000;
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			guint i = 0;

			while (i < o->processes && pids[i] != pid)
				i++;
			if (i == o->processes)
				continue;
			pids[i] = 0;
			alive--;
			if (WIFEXITED(st) && WEXITSTATUS(st) == 75) {	/* its own: the config is bad */
				if (!stopping)
					fprintf(stderr, "%s: worker %ld exited 75: stopping the others\n", o->program,
						(long)pid);
				status = 75;
				stopping = 1;
			} else if (o->once) {	/* its share of the due jobs done: none starts again */
				if (WIFSIGNALED(st))
					fprintf(stderr, "%s: worker %ld died of signal %d (%s); its job runs again once its "
						"lease ends\n", o->program, (long)pid, WTERMSIG(st), g_strsignal(WTERMSIG(st)));
				else if (WEXITSTATUS(st) != 0)
					fprintf(stderr, "%s: worker %ld exited %d; its job runs again once its lease ends\n",
						o->program, (long)pid, WEXITSTATUS(st));
			} else if (!stopping) {	/* a crash (a sanitizer's report exits 1): another takes its place */
				if (WIFSIGNALED(st))
					fprintf(stderr, "%s: worker %ld died of signal %d (%s); another starts in 1 s\n",
						o->program, (long)pid, WTERMSIG(st), g_strsignal(WTERMSIG(st)));
				else if (WEXITSTATUS(st) != 0)
					fprintf(stderr, "%s: worker %ld exited %d; another starts in 1 s\n", o->program,
						(long)pid, WEXITSTATUS(st));
				start_at[i] = now + RESTART_PAUSE_MS;
			}
		}
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return status;
}

int
sink_worker_run(const SinkWorkerOptions *o)
{
	catch_stop();
	if (o->processes <= 1)
		return worker_loop(o);
	return supervise(o);
}

pid_t
sink_worker_spawn(const SinkWorkerOptions *o)
{
	pid_t pid = fork();
	sigset_t none;

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		/* none of the server's descriptors: its listening socket, or the pipe whose EOF stops its children */
		closefrom(3);
		/* nor its blocked signals (it reads them on a signalfd): SIGTERM must end a pause */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (o->pause_s)	/* (SIGTERM's default ends it here: it holds no job yet) */
			sleep(o->pause_s);
		_exit(sink_worker_run(o));
	}
	return pid;
}
