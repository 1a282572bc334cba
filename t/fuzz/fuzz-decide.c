/*
 * fuzz-decide - a parsed message through the one-click verdict
 * (oneclick.c) and the decision (decide.c) and into the two things every
 * message ends in: the log line (log.c) and the JSON decision record
 * (record.c).
 *
 * Built-in config, the fixed clock, and a seed that is fixed for a given
 * input (a base plus the input's length mod 16, so that the statistical
 * mix can reach each class while a crash still replays exactly).  Checks:
 * a class and route are chosen, the log line is one line, the record is
 * one line of valid JSON; the List-Unsubscribe URIs the verdict and the
 * link scanner read (listunsub.c) are neither empty nor hold whitespace.
 */
#include <string.h>

#include "decide.h"
#include "fuzz-common.h"
#include "log.h"
#include "message.h"
#include "oneclick.h"
#include "record.h"

#define FUZZ_SEED 20261124

static SinkModel model;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	GError *error = NULL;

	fuzz_init();
	if (!sink_model_init(&model, fuzz_config(), fuzz_now(), &error))
		fuzz_fail(__FILE__, __LINE__, error->message);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(SinkCtx) ctx = fuzz_ctx_new(fuzz_config(), FUZZ_SEED + (gint64)(size % 16), data, size);
	g_autofree char *line = NULL, *json = NULL;

	sink_message_parse(ctx);
	ctx->dkim = g_strdup("pass");	/* (DKIM_Check = off: the verdict checks no signature) */
	sink_one_click_check(ctx);
	fuzz_assert(ctx->unsub == NULL || ctx->unsub->eligible == (ctx->unsub->reason == NULL),
		    "a verdict both eligible and with a reason");
	fuzz_assert(ctx->unsub == NULL || !ctx->unsub->eligible || ctx->unsub->post_uri != NULL,
		    "eligible without a URI to POST to");
	sink_decide(ctx, &model);
	fuzz_assert(ctx->klass != SINK_CLASS_NONE, "no class decided");
	fuzz_assert(ctx->route != SINK_ROUTE_NONE, "no route decided");
	if (ctx->klass == SINK_CLASS_OPENCLICK)
		fuzz_assert(ctx->user_agent != NULL && *ctx->user_agent, "openclick without a User-Agent");
	if (ctx->klass == SINK_CLASS_OPENCLICK)
		fuzz_assert(ctx->plan.opens >= 1 && ctx->plan.opens <= fuzz_config()->directive_max_repeats + 1 &&
			    ctx->plan.clicks >= 0 && ctx->plan.clicks <= fuzz_config()->directive_max_repeats + 1,
			    "openclick steps out of range");
	fuzz_assert(ctx->plan.klass != SINK_CLASS_NONE, "no class planned");
	fuzz_assert(ctx->plan.notes == NULL || ctx->plan.notes->len <= SINK_PLAN_NOTES_MAX, "too many notes kept");

	for (guint i = 0; ctx->unsub && i < ctx->unsub->uris->len; i++) {
		const char *uri = ctx->unsub->uris->pdata[i];
		fuzz_assert(*uri && strpbrk(uri, " \t\r\n>") == NULL, "List-Unsubscribe URI empty, or with whitespace or a closing bracket");
	}

	line = sink_log_line(ctx, "sink-filter");
	fuzz_assert(strpbrk(line, "\r\n") == NULL, "log line is not one line");

	json = sink_record_json(ctx);
	fuzz_assert(strpbrk(json, "\r\n") == NULL, "JSON record is not one line");
	fuzz_assert(fuzz_json_valid(json), "JSON record is not valid JSON in UTF-8");
	return 0;
}
