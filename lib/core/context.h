/*
 * context.h - the one struct that carries a message through sink-filter.
 *
 * Every stage of the pipeline (read, parse, trust, decide, act, account)
 * fills its own part of a SinkCtx and reads what earlier stages left.
 * No stage exits or prints: results (a DKIM fail, a 550 from an MX) are
 * stored here; only failures that stop the stage itself are GErrors.
 */
#ifndef SINK_CONTEXT_H
#define SINK_CONTEXT_H

#include <glib.h>
#include <gmime/gmime.h>

#include "config.h"
#include "duration.h"
#include "plan.h"

/* The X-Bouncy-Sink directives a message carries (directive.h). */
typedef struct SinkDirectives SinkDirectives;

/* One redirect an open or a click followed: where it led, and that URL's answer. */
typedef struct {
	char *url;	/* owned */
	int status;	/* HTTP status; 0 when no response came */
} SinkHop;

/* One DKIM signature of the message, as checked (dkimsig.h). */
typedef struct {
	char *domain;		/* d=, lower case */
	char *selector;		/* s= */
	char *result;		/* "pass", "fail", "bodyhash", "nokey", "temperror", "none", ... */
	char **headers;		/* h=: the field names it signs, lower case, NULL-terminated */
} SinkDkimSig;

/* A complaint's look at the message's CFBL-Address (RFC 9477; act/cfbl.c). */
typedef struct {
	gboolean checked;	/* a complaint ran and looked (its route is in the record) */
	gboolean present;	/* the message carries CFBL-Address */
	gboolean honoured;	/* it meets RFC 9477: the complaint goes to `address` */
	char *address;		/* the addr-spec, once read */
	char *feedback_id;	/* CFBL-Feedback-ID, white space taken out; NULL when none */
	char *report;		/* "arf" or "xarf" as the sender asked; NULL when not said */
	char *reason;		/* why it is not honoured; NULL when it is */
} SinkCfbl;

/*
 * The message's List-Unsubscribe (RFC 2369) and RFC 8058's one-click
 * verdict on it (oneclick.h); ctx->unsub is NULL when the message has no
 * List-Unsubscribe field.
 */
typedef struct {
	GPtrArray *uris;	/* char*: the usable URIs (http, https, mailto) in the field's order */
	GPtrArray *problems;	/* char*: what was wrong with the fields, in words, for the record */
	gboolean eligible;	/* RFC 8058: a one-click POST may be made */
	const char *reason;	/* static: why not ("no_dkim_pass", "no_https_uri", ...); NULL when eligible */
	char *detail;		/* the verdict in words: every failing check, or where the POST goes */
	char *post_uri;		/* where a one-click POST goes: the first https URI (http when allowed); may be NULL */
} SinkUnsub;

/* The autoreply class's outcome (act/autoreply.c), for the record and the log line. */
typedef struct {
	const char *skipped;	/* static: why no reply went ("auto_submitted", "null_sender", "report", "list",
				 * "interval"); NULL when one was (or tried to be) sent */
	char *detail;		/* the skip in words ("Auto-Submitted: auto-generated"); NULL when none */
	const char *interval;	/* static: the interval check: "first" (no reply in it yet), "replied" (one was),
				 * "off" (Autoreply_Interval_Days = 0), "unchecked" (Redis unreachable); NULL: not
				 * reached */
} SinkAutoreply;

/* One thing the sink did (or, with --dry-run, would do). */
typedef struct {
	const char *type;	/* "open", "open_again", "click", "click_again", "oob", "fbl", "unsubscribe_one_click", ... */
	const char *by;		/* who: "mpp", "scanner" (machine traffic, persona.h); NULL: the reader */
	const char *method;	/* the HTTP method when not GET ("HEAD", "POST"); NULL otherwise (static) */
	char *target;	/* URL fetched or MX host; may be NULL */
	int status;	/* HTTP status or SMTP reply code; 0 when none */
	char *reply;	/* SMTP reply text or short HTTP result; may be NULL */
	char *error;	/* NULL when it worked */
	double seconds;	/* wall time it took; 0 when not run */
	GArray *hops;	/* SinkHop: the redirects followed, in order; NULL when none */
} SinkAction;

/* A step put off to a job in Redis (delay.c), for the record. */
typedef struct {
	SinkStep step;
	gint64 delay;		/* seconds */
	gint64 due;		/* unix seconds, by this host's clock */
	char *job;		/* the job's id; NULL with --dry-run */
} SinkDelayed;

typedef struct {
	const SinkConfig *cfg;	/* borrowed */

	/* options */
	gboolean dry_run;
	int verbose;
	GRand *rng;		/* seeded by --seed or randomly */
	gint64 seed;		/* --seed; -1 when random */
	GRand *delay_rng;	/* the steps' delays (delay.c): apart from rng, so that they change no other draw */
	GDateTime *now;		/* UTC; fixed for the whole message */
	GDateTime *arrived;	/* a delayed step's (job.h): when its message came; NULL: now (sink_ctx_arrived) */
	gint64 deadline;	/* g_get_monotonic_time() limit from Message_Timeout */

	/* input */
	GBytes *raw;		/* the message as read (at most Max_Message_Size) */
	GByteArray *raw_buf;	/* the same bytes, for GMime's stream (not a copy) */
	gsize raw_total;	/* bytes seen on stdin, including any drained */
	gboolean truncated;	/* raw holds less than raw_total */
	gboolean hand_on;	/* needs the action module, which this program has not: run it elsewhere (module.h) */
	gboolean raw_headers_only;	/* raw is the header block alone (a delayed report's original past Report_Original_Max) */
	GMimeObject *mime;	/* the top entity, all its headers; NULL when unparseable */
	gsize header_len;	/* > 0: mime was parsed from the header block alone, this long (message.c) */
	GMimeObject *mime_body;	/* then the whole tree, parsed when first needed (sink_message_html) */

	/* envelope and headers; NULL when absent */
	char *env_from;		/* --from */
	char *env_to;		/* --to */
	gboolean to_from_received;	/* --to-from-received: without --to, the top Received:'s "for <...>" first */
	char *client_ip;	/* --client-ip, else from the top Received: */
	char *rcpt;		/* the recipient: --to, else (to_from_received) the top Received:'s "for", else first To: */
	char *return_path;	/* --from, else Return-Path: address */
	char *message_id;
	char *hdr_from;		/* From: as written (decoded) */
	char *hdr_to;		/* To: as written (decoded) */
	char *hdr_date;
	char *subject;		/* Subject: decoded */
	char *msfbl;		/* X-MSFBL */
	char *label;		/* the recipient's local part after its first '+', cleaned; NULL when none */
	SinkDirectives *directives;	/* X-Bouncy-Sink's, read (not yet obeyed); NULL without the header */
	gboolean store_done;	/* X-Bouncy-Sink: store-done (obeyed whatever DKIM says) */

	/* trust */
	char *dkim;		/* "pass", "fail", "none", "nokey", "temperror", ... NULL = not run */
	char *dkim_domain;
	char *dkim_selector;
	char *dkim_detail;	/* why, for the log */
	GPtrArray *dkim_sigs;	/* SinkDkimSig*: each signature checked (dkimsig.h) */
	SinkUnsub *unsub;	/* List-Unsubscribe and the one-click verdict; NULL without the field */
	char *spf;		/* "pass", "fail", ..., NULL = not run */
	char *mx_host;		/* preferred MX of the Return-Path domain */
	char *fbl_addr;		/* from the allowlist or the tenant rule, or the honoured CFBL-Address */
	SinkCfbl cfbl;

	/* decision */
	SinkClass klass;	/* the class that runs (plan.klass) */
	SinkRoute route;	/* the rule that chose it */
	SinkPlan plan;		/* what was chosen, in full (plan.h) */
	double draw;		/* the mix's uniform draw; -1 when not drawn */
	gboolean signals_blocked;	/* a Signals address on a closed day */
	const char *unsub_used;		/* static: the method it took ("one-click", "mailto", "link", "none"); NULL before */
	char *unsub_target;		/* the URL it requested or the address it wrote to; NULL when none */
	SinkAutoreply autoreply;	/* the autoreply class's outcome */
	char *user_agent;
	guint persona;		/* SinkPersona flags (persona.h): the mailbox's machine traffic */
	char *scanner_agent;	/* the gateway's User-Agent, when it scans this message */
	gint64 step_delay[SINK_STEPS];	/* seconds each step of this message waits (delay.c); 0: at once */
	GPtrArray *delayed;	/* SinkDelayed*: the steps that became jobs (or would, with --dry-run); NULL when none */

	/* outcome */
	GPtrArray *actions;	/* SinkAction* */
	GPtrArray *errors;	/* char*, each logged with a leading '!' */
	guint redis_errors;	/* how many of them are about Redis (they alone keep no done copy) */
	GPtrArray *counters;	/* const char* counter names to bump (static strings) */
	GPtrArray *notes;	/* char*, plain log fields */
	struct redisContext *redis;	/* opened on first use by sink_account_redis */
	gboolean redis_failed;		/* a connection was tried and failed */
	gboolean redis_ok;	/* counters reached Redis */
	char *done_path;	/* where the copy went, if stored */
	char *report_text;	/* with verbose: the OOB/FBL report as built (CRLF), for the caller to print */
	int exit_code;
} SinkCtx;

/* A random generator seeded from the kernel's (what an unseeded message draws from); one number from it. */
GRand *sink_rand_new(void);
/*
 * sink_rand_shared: the generator every unseeded message of this process
 * draws from (borrowed), seeded from the kernel's once, and again in a
 * forked child: a process that runs many messages (sink-filterd's child, a
 * spool's) does not pay a getrandom(2) and a Mersenne Twister's set-up for
 * each.  So a context made before a fork must not be used after it in the
 * child (its generator may be gone): none is.
 */
GRand *sink_rand_shared(void);
guint32 sink_random_u32(void);

/*
 * sink_ctx_new: a context for one message under cfg (borrowed; must
 * outlive it).  seed < 0 picks a random seed.  Free with sink_ctx_free.
 */
SinkCtx *sink_ctx_new(const SinkConfig *cfg, gint64 seed);

/* sink_ctx_free: frees a context, however far it was filled.  NULL is ok. */
void sink_ctx_free(SinkCtx *ctx);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SinkCtx, sink_ctx_free)

/* sink_ctx_count: bump counter `name` (a static string, no "int_") once. */
void sink_ctx_count(SinkCtx *ctx, const char *name);

/* sink_ctx_error: record an error for the log line (printf-style). */
void sink_ctx_error(SinkCtx *ctx, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/*
 * sink_ctx_redis_error: sink_ctx_error for a Redis failure.  It is logged
 * and recorded the same, but alone it keeps no done copy: while Redis is
 * down every message would be copied, and the copy helps nobody.
 */
void sink_ctx_redis_error(SinkCtx *ctx, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* sink_ctx_note: record a plain log field (printf-style). */
void sink_ctx_note(SinkCtx *ctx, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/*
 * sink_ctx_action: append an action of `type` (static string) aimed at
 * `target` (copied; may be NULL).  Returns it, owned by ctx, for the
 * caller to fill in status/reply/error.
 */
SinkAction *sink_ctx_action(SinkCtx *ctx, const char *type, const char *target);

/* sink_dkim_sig_free: free a SinkDkimSig (a GPtrArray free function); NULL is ok. */
void sink_dkim_sig_free(gpointer sig);

/* sink_unsub_free: free a SinkUnsub; NULL is ok. */
void sink_unsub_free(SinkUnsub *u);

/* sink_hop_clear: free a SinkHop's URL (a GArray clear function). */
void sink_hop_clear(gpointer hop);

/* sink_action_fail: set an action's error (printf-style), replacing any. */
void sink_action_fail(SinkAction *a, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* When the message came: ctx->now, or a delayed step's message's time (the reports' Arrival-Date). */
static inline GDateTime *
sink_ctx_arrived(const SinkCtx *ctx)
{
	return ctx->arrived ? ctx->arrived : ctx->now;
}

#endif
