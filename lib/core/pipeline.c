/*
 * pipeline.c - the stages of sink-filter after the read, in order.
 *
 *   parse -> sanity -> DKIM -> one-click verdict -> decide -> (SPF, MX) -> act -> store -> count
 *
 * A step that waits (a <Step>_Delay, or delay=: delay.h) is not run but
 * queued as a job in Redis, for a worker to run when it is due; the
 * message is done all the same.
 *
 * Each stage reads what earlier ones left in the context and adds its own
 * part.  By the time the pipeline runs the whole message has been read, so
 * the outcome is "done" (exit 0), whatever the checks and actions found.
 * One exception: a stage whose module cannot be loaded here (an install
 * missing a file, a library upgraded under it; the DKIM module for a report
 * to sign) defers the message (75)
 * before anything is sent, fetched, counted or stored, so that PMTA keeps
 * it until the install is mended instead of losing it as done.  In
 * sink-filter-static, which has no action module, a message that needs
 * it stops at the same point, and is handed on whole (module.h).
 */
#include <string.h>

#include "account.h"
#include "delay.h"
#include "authres.h"
#include "directive.h"
#include "exitcode.h"
#include "message.h"
#include "module.h"
#include "oneclick.h"
#include "persona.h"
#include "pipeline.h"
#include "store.h"

/* Junk that is not worth a DKIM look-up: counted and accepted quietly. */
static gboolean
is_bad_message(SinkCtx *ctx)
{
	if (ctx->truncated) {
		sink_ctx_count(ctx, "oversize_message");
		sink_ctx_error(ctx, "message of %" G_GSIZE_FORMAT " bytes is larger than Max_Message_Size (%"
			       G_GINT64_FORMAT "); accepted without action", ctx->raw_total,
			       ctx->cfg->max_message_size);
		return TRUE;
	}
	if (g_bytes_get_size(ctx->raw) == 0) {
		sink_ctx_count(ctx, "bad_message");
		sink_ctx_error(ctx, "empty message; accepted without action");
		return TRUE;
	}
	if (ctx->mime == NULL ||
	    g_mime_header_list_get_count(g_mime_object_get_header_list(ctx->mime)) == 0) {
		sink_ctx_count(ctx, "bad_message");
		sink_ctx_error(ctx, "no message headers found; accepted without action");
		return TRUE;
	}
	return FALSE;
}

/*
 * SPF must pass for an oob or fbl chosen directly (by the subdomain, the
 * header or a keyword: anything but the mix) unless configured off.
 */
static gboolean
spf_allows(SinkCtx *ctx, const SinkActModule *m)
{
	m->spf_check(ctx);
	if (ctx->route == SINK_ROUTE_MIX || !ctx->cfg->spf_required_direct)
		return TRUE;
	if (ctx->spf && strcmp(ctx->spf, "pass") == 0)
		return TRUE;
	sink_ctx_count(ctx, "fail_spf");
	sink_ctx_error(ctx, "SPF %s for client %s and sender %s: %s not sent", ctx->spf ? ctx->spf : "none",
		       ctx->client_ip ? ctx->client_ip : "(unknown)",
		       ctx->return_path ? ctx->return_path : "(none)",
		       ctx->klass == SINK_CLASS_OOB ? "OOB" : "FBL");
	return FALSE;
}

/* The message cannot be run here: logged, and PMTA keeps it (75). */
static void
defer(SinkCtx *ctx, const char *what, const GError *error)
{
	sink_ctx_error(ctx, "%s cannot run: %s; deferred, nothing done", what, error->message);
	ctx->exit_code = sink_exit_status(SINK_OUTCOME_EARLY_FAILURE);
}

/*
 * Whether the mailbox's personas (persona.h) fetch anything: they do for
 * every message delivered to it, whatever its class but oob (a bounced
 * message reaches no mailbox).
 */
static gboolean
machine_traffic(const SinkCtx *ctx)
{
	return ctx->persona != SINK_PERSONA_NONE && ctx->klass != SINK_CLASS_NONE && ctx->klass != SINK_CLASS_OOB;
}

/*
 * The class's action, after the personas' machine traffic on delivery (in
 * engage_run, which does both for openclick); FALSE when the action module
 * cannot be loaded (nothing done).  An accepted message without a persona
 * does not load it.
 */
static gboolean
act(SinkCtx *ctx)
{
	g_autoptr(GError) error = NULL;
	const SinkActModule *m = NULL;
	gboolean machine = machine_traffic(ctx);
	gboolean acts = ctx->klass == SINK_CLASS_OOB || ctx->klass == SINK_CLASS_FBL ||
			ctx->klass == SINK_CLASS_OPENCLICK || ctx->klass == SINK_CLASS_UNSUBSCRIBE ||
			ctx->klass == SINK_CLASS_AUTOREPLY;

	if ((acts || machine) && (m = sink_module_act(&error)) == NULL) {
		if (g_error_matches(error, SINK_MODULE_ERROR, SINK_MODULE_ERROR_ELSEWHERE))
			ctx->hand_on = TRUE;	/* nothing done here: the whole message runs where the module is */
		else
			defer(ctx, sink_class_name(ctx->klass), error);
		return FALSE;
	}
	/* a report or reply that would go out unsigned is not sent: the DKIM module (sign.c) must load first (an
	 * unsubscribe may be a mail, to a mailto: URI) */
	if ((ctx->klass == SINK_CLASS_OOB || ctx->klass == SINK_CLASS_FBL || ctx->klass == SINK_CLASS_AUTOREPLY ||
	     ctx->klass == SINK_CLASS_UNSUBSCRIBE) &&
	    ctx->cfg->dkim_sign_key &&
	    !ctx->dry_run && sink_module_dkim(&error) == NULL) {
		defer(ctx, "DKIM signing", error);
		return FALSE;
	}
	sink_delay_plan(ctx);
	switch (ctx->klass) {
	case SINK_CLASS_ACCEPT:
		sink_ctx_count(ctx, "accept");
		if (ctx->signals_blocked)
			sink_ctx_note(ctx, "Signals address: no opens on day %d", g_date_time_get_day_of_month(ctx->now));
		if (machine)
			m->engage_run(ctx);
		break;
	case SINK_CLASS_OOB:
		if (!spf_allows(ctx, m))
			sink_delay_forget(ctx, SINK_STEP_OOB);
		else if (!sink_delay_report(ctx, SINK_STEP_OOB))
			m->bounce_run(ctx);
		break;
	case SINK_CLASS_FBL:
		if (machine)
			m->engage_run(ctx);
		if (!spf_allows(ctx, m))
			sink_delay_forget(ctx, SINK_STEP_FBL);
		else if (!sink_delay_report(ctx, SINK_STEP_FBL))
			m->complaint_run(ctx);
		break;
	case SINK_CLASS_OPENCLICK:
		m->engage_run(ctx);
		break;
	case SINK_CLASS_UNSUBSCRIBE:	/* a gateway scans the message before its reader unsubscribes */
		if (machine)
			m->engage_run(ctx);
		if (!sink_delay_report(ctx, SINK_STEP_UNSUBSCRIBE))
			m->unsubscribe_run(ctx);
		break;
	case SINK_CLASS_AUTOREPLY:	/* delivered: the mailbox's machine traffic, then the reply */
		if (machine)
			m->engage_run(ctx);
		if (!sink_delay_report(ctx, SINK_STEP_AUTOREPLY))
			m->autoreply_run(ctx);
		break;
	case SINK_CLASS_NONE:
		break;
	}
	return TRUE;
}

void
sink_pipeline_run(SinkCtx *ctx, const SinkModel *m)
{
	g_autoptr(GError) error = NULL;

	ctx->exit_code = sink_exit_status(SINK_OUTCOME_DONE);
	sink_message_parse(ctx);
	if (!is_bad_message(ctx)) {
		if (!sink_dkim_check(ctx, &error)) {
			defer(ctx, "DKIM check", error);
			return;
		}
		sink_one_click_check(ctx);	/* whatever the class, even without a DKIM pass */
		if (g_strcmp0(ctx->dkim, "pass") == 0) {
			sink_decide(ctx, m);
			if (!act(ctx))
				return;
		} else {
			sink_ctx_count(ctx, "fail_dkim");
			sink_ctx_error(ctx, "DKIM %s: %s", ctx->dkim ? ctx->dkim : "fail",
				       ctx->dkim_detail ? ctx->dkim_detail : "no detail");
			if (ctx->directives && !sink_directives_only_store_done(ctx->directives))
				sink_ctx_note(ctx, "X-Bouncy-Sink: not obeyed without a DKIM pass%s",
					      ctx->store_done ? " (but for store-done)" : "");
		}
	}
	if (!ctx->dry_run) {	/* the copy first: what it costs (done_dropped) is counted with the rest */
		sink_store_done(ctx);
		sink_account_commit(ctx);
	}
}
