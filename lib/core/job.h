/*
 * job.h - a delayed step as it waits in Redis (SPEC section 20): all a
 * worker on any host needs to run it without the message's process.
 *
 * The format is a GVariant dictionary (a{sv}) in GLib's serialised form,
 * with a version number: GLib is the core's already, its reader is made
 * for untrusted bytes (it never reads out of bounds, and a corrupt job is
 * told from a good one by g_variant_is_normal_form), and binary fields
 * (the original message) need no escaping.  Texts are byte strings, so
 * that a non-UTF-8 envelope address goes through as it came.  `redis-cli
 * HGET` shows a job readably enough: the texts are in clear.
 */
#ifndef SINK_JOB_H
#define SINK_JOB_H

#include "context.h"

#define SINK_JOB_VERSION 1

typedef struct {
	char *id;		/* unique: 32 hex digits */
	SinkStep step;		/* what the job does */
	gint64 created;		/* unix seconds when the message ran (the first job's, for a chained one) */
	gint64 seed;		/* the message's --seed; -1 when random (what the worker draws is seeded from it) */

	/* the message, as sink-filter had it */
	char *env_from, *env_to, *client_ip;
	char *rcpt, *return_path, *message_id, *label;
	SinkClass klass;
	SinkRoute route;
	guint persona;
	char *user_agent;	/* the reader's; NULL: the worker picks one */

	/* opens and clicks: the URLs as the HTML part gave them */
	int opens, clicks;	/* the step's repeats (an open job that also clicks: both) */
	gint64 click_delay;	/* an open job's clicks: seconds after the opens; 0: right after them */
	char **pixels, **links;	/* NULL-terminated; NULL when none */

	/* reports and unsubscribes: the original (a report's header block alone past Report_Original_Max) */
	GBytes *original;	/* NULL for opens and clicks */
	gboolean headers_only;
	guint64 original_size;	/* as received */
	char *feedback_type;	/* fbl: drawn or chosen already; NULL otherwise */
	SinkUnsubscribeMethod unsubscribe;
	GPtrArray *sigs;	/* SinkDkimSig*: the DKIM signatures checked (CFBL, one-click need them) */
} SinkJob;

/* sink_job_new: an empty job of `step` with a fresh id.  Free with sink_job_free. */
SinkJob *sink_job_new(SinkStep step);

/* sink_job_free: NULL is ok. */
void sink_job_free(SinkJob *job);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SinkJob, sink_job_free)

/*
 * sink_job_from_ctx: a job of `step` carrying what ctx's message is
 * (envelope, class, persona, User-Agent, signatures); the caller adds what
 * the step needs.  Free with sink_job_free.
 */
SinkJob *sink_job_from_ctx(SinkCtx *ctx, SinkStep step);

/* sink_job_set_original: the message's bytes; a report's header block alone when larger than Report_Original_Max. */
void sink_job_set_original(SinkJob *job, SinkCtx *ctx);

/* sink_job_encode: the job's bytes (g_bytes_unref). */
GBytes *sink_job_encode(const SinkJob *job);

/*
 * sink_job_decode: a job from its bytes; NULL with `error` saying what is
 * wrong (not a job, another version, a field missing or of the wrong type).
 */
SinkJob *sink_job_decode(GBytes *bytes, GError **error);

/*
 * sink_job_restore: fill a fresh context (sink_ctx_new) with the job's
 * message as the step needs it: the original parsed again when there is
 * one, the envelope, class, plan and signatures (DKIM passed: the job
 * would not exist otherwise), the one-click verdict.
 */
void sink_job_restore(SinkCtx *ctx, const SinkJob *job);

#endif
