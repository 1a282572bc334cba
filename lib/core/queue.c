/*
 * queue.c - the delay queue's keys and the script that adds a job
 * (queue.h).  One Lua script checks the bound and adds the job with its
 * counter, atomically: two sink-filters at the bound never both get in.
 */
#include <string.h>

#include <gio/gio.h>

#include "queue.h"

/*
 * KEYS: due, lease, data, int_jobs_scheduled, the message's minute's tso_
 * hash (account.h); ARGV: Delay_Queue_Max, id, delay in ms, the job.  The due time (ms), or -1 when the queue is full.
 * TIME makes the script non-deterministic: replicated by its effects
 * (Redis 5 and later always are; 3.2 and 4 are asked to).
 */
static const char add_script[] =
	"if redis.replicate_commands then pcall(redis.replicate_commands) end\n"
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"if redis.call('ZCARD', KEYS[1]) + redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[1]) then return -1 end\n"
	"local due = now + tonumber(ARGV[3])\n"
	"redis.call('HSET', KEYS[3], ARGV[2], ARGV[4])\n"
	"redis.call('ZADD', KEYS[1], due, ARGV[2])\n"
	"redis.call('INCR', KEYS[4])\n"
	"redis.call('HINCRBY', KEYS[5], 'jobs_scheduled', 1)\n"
	"return due\n";

char *
sink_queue_key(const SinkConfig *cfg, const char *which)
{
	g_autofree char *prefix = sink_config_key_prefix(cfg);

	return g_strdup_printf("%sjobs:%s", prefix, which);
}

char *
sink_queue_counter_key(const SinkConfig *cfg, const char *name)
{
	g_autofree char *prefix = sink_config_key_prefix(cfg);

	return g_strdup_printf("%sint_%s", prefix, name);
}

redisReply *
sink_redis_eval(redisContext *c, const char *script, int nkeys, int argc, const char *const *argv,
		const size_t *lens)
{
	g_autofree char *sha = g_compute_checksum_for_string(G_CHECKSUM_SHA1, script, -1);
	g_autofree char *nk = g_strdup_printf("%d", nkeys);
	g_autofree const char **args = g_new0(const char *, argc + 3);
	g_autofree size_t *sizes = g_new0(size_t, argc + 3);
	redisReply *r;

	args[0] = "EVALSHA";
	args[1] = sha;
	args[2] = nk;
	for (int i = 0; i < argc; i++) {
		args[i + 3] = argv[i];
		sizes[i + 3] = lens ? lens[i] : strlen(argv[i]);
	}
	for (int i = 0; i < 3; i++)
		sizes[i] = strlen(args[i]);
	r = redisCommandArgv(c, argc + 3, args, sizes);
	if (r && r->type == REDIS_REPLY_ERROR && g_str_has_prefix(r->str, "NOSCRIPT")) {
		freeReplyObject(r);
		args[0] = "EVAL";
		args[1] = script;
		sizes[0] = 4;
		sizes[1] = strlen(script);
		r = redisCommandArgv(c, argc + 3, args, sizes);
	}
	return r;
}

int
sink_queue_has(redisContext *c, const SinkConfig *cfg, const char *id)
{
	g_autofree char *jobs = sink_queue_key(cfg, "data");
	const char *argv[] = { "HEXISTS", jobs, id };
	redisReply *r = redisCommandArgv(c, G_N_ELEMENTS(argv), argv, NULL);
	int has = r && r->type == REDIS_REPLY_INTEGER ? r->integer == 1 : -1;

	if (r)
		freeReplyObject(r);
	return has;
}

gint64
sink_queue_add(redisContext *c, const SinkConfig *cfg, gint64 minute, const char *id, gint64 delay_ms,
	       const void *data, gsize len, GError **error)
{
	g_autofree char *prefix = sink_config_key_prefix(cfg);
	g_autofree char *outcomes = g_strdup_printf("%stso_%" G_GINT64_FORMAT, prefix, minute);
	g_autofree char *due = sink_queue_key(cfg, "due"), *lease = sink_queue_key(cfg, "lease");
	g_autofree char *jobs = sink_queue_key(cfg, "data"), *counter = sink_queue_counter_key(cfg, "jobs_scheduled");
	g_autofree char *max = g_strdup_printf("%" G_GINT64_FORMAT, cfg->delay_queue_max);
	g_autofree char *delay = g_strdup_printf("%" G_GINT64_FORMAT, delay_ms);
	const char *argv[] = { due, lease, jobs, counter, outcomes, max, id, delay, data };
	size_t lens[] = { strlen(due), strlen(lease), strlen(jobs), strlen(counter), strlen(outcomes), strlen(max),
			  strlen(id), strlen(delay), len };
	redisReply *r = sink_redis_eval(c, add_script, 5, G_N_ELEMENTS(argv), argv, lens);
	gint64 when;

	if (r == NULL || r->type != REDIS_REPLY_INTEGER) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s",
			    r == NULL ? (c->errstr[0] ? c->errstr : "no reply")
				      : r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
		if (r)
			freeReplyObject(r);
		return -1;
	}
	when = r->integer < 0 ? 0 : r->integer;
	freeReplyObject(r);
	return when;
}
