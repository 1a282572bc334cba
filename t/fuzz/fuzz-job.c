/*
 * fuzz-job - a delayed step's job (job.c), made from a parsed message as
 * sink-filter makes it, written, read back and restored into a fresh
 * context as a worker does; then the same bytes with a stretch of them
 * overwritten by the input's first bytes, read as a job from a Redis that
 * cannot be trusted.
 *
 * The envelope (--from, and --to for inputs whose first byte is odd) is
 * taken from the input's bytes after the first two, as PMTA could pass any
 * bytes on the command line.  The step is the input's length mod
 * SINK_STEPS; inputs of odd length are
 * larger than Report_Original_Max (a report's job keeps the header block
 * only).  Checks: a job made from any message reads back with the same id,
 * step, class, recipient, label and original, and restores to a context of
 * that class and recipient; a damaged job is read or refused with an
 * error, never a crash, and one that is read restores too.
 */
#include <string.h>

#include "fuzz-common.h"
#include "job.h"
#include "message.h"

static SinkConfig *cfg_small;	/* the built-in config with Report_Original_Max = 0 */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init();
	cfg_small = sink_config_load(NULL, NULL);
	cfg_small->dkim_check = SINK_DKIM_OFF;
	cfg_small->report_original_max = 0;
	return 0;
}

/* A job as a worker takes it: read, restored into a fresh context, freed.  FALSE when refused. */
static gboolean
worker_reads(GBytes *bytes, SinkJob **out)
{
	g_autoptr(GError) error = NULL;
	SinkJob *job = sink_job_decode(bytes, &error);
	g_autoptr(SinkCtx) ctx = NULL;

	fuzz_assert((job == NULL) == (error != NULL), "a job both read and refused, or neither");
	if (job == NULL)
		return FALSE;
	fuzz_assert(job->step < SINK_STEPS && job->klass != SINK_CLASS_NONE && job->rcpt != NULL,
		    "a job read without a step, class or recipient");
	ctx = sink_ctx_new(fuzz_config(), job->seed);
	sink_job_restore(ctx, job);
	fuzz_assert(ctx->klass == job->klass && g_strcmp0(ctx->rcpt, job->rcpt) == 0,
		    "a restored context without the job's class or recipient");
	if (out)
		*out = job;
	else
		sink_job_free(job);
	return TRUE;
}

static SinkClass
class_of(SinkStep step)
{
	switch (step) {
	case SINK_STEP_OOB: return SINK_CLASS_OOB;
	case SINK_STEP_FBL: return SINK_CLASS_FBL;
	case SINK_STEP_UNSUBSCRIBE: return SINK_CLASS_UNSUBSCRIBE;
	case SINK_STEP_AUTOREPLY: return SINK_CLASS_AUTOREPLY;
	default: return SINK_CLASS_OPENCLICK;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const SinkConfig *cfg = size % 2 ? cfg_small : fuzz_config();
	g_autoptr(SinkCtx) ctx = fuzz_ctx_new(cfg, 7, data, size);
	SinkStep step = (SinkStep)(size % SINK_STEPS);
	g_autoptr(SinkJob) job = NULL;
	SinkJob *back = NULL;
	g_autoptr(GBytes) bytes = NULL;
	gsize len;
	const guint8 *enc;
	guint8 *damaged;

	if (size > 2) {	/* the envelope PMTA gives on the command line: any bytes but NUL */
		ctx->env_from = g_strndup((const char *)data + 2, MIN(size - 2, 24));
		if (data[0] & 1)
			ctx->env_to = g_strndup((const char *)data + 2, MIN(size - 2, 40));
	}
	sink_message_parse(ctx);
	ctx->klass = ctx->plan.klass = class_of(step);
	job = sink_job_from_ctx(ctx, step);
	if (step == SINK_STEP_OPEN || step == SINK_STEP_CLICK) {
		job->opens = step == SINK_STEP_OPEN;
		job->clicks = 1;
	} else {
		sink_job_set_original(job, ctx);
	}
	bytes = sink_job_encode(job);
	if (worker_reads(bytes, &back)) {
		fuzz_assert(g_strcmp0(back->id, job->id) == 0 && back->step == job->step && back->klass == job->klass &&
			    g_strcmp0(back->rcpt, job->rcpt) == 0 && g_strcmp0(back->label, job->label) == 0,
			    "a job read back differs from the one written");
		fuzz_assert((back->original == NULL) == (job->original == NULL) &&
			    (back->original == NULL || g_bytes_equal(back->original, job->original)),
			    "a job's original read back differs");
		sink_job_free(back);
	} else {
		fuzz_assert(job->rcpt == NULL, "a job made from a message with a recipient is refused");
	}

	/* damaged: up to 8 of the input's first bytes written over the job at an offset they choose */
	enc = g_bytes_get_data(bytes, &len);
	if (len == 0 || size < 3)
		return 0;
	damaged = g_memdup2(enc, len);
	for (size_t i = 0, at = ((size_t)data[0] << 8 | data[1]) % len; i < MIN(size - 2, 8) && at + i < len; i++)
		damaged[at + i] = data[2 + i];
	{
		g_autoptr(GBytes) b = g_bytes_new_take(damaged, len);
		worker_reads(b, NULL);
	}
	return 0;
}
