/*
 * autoreply.c - the autoreply class (SPEC section 17): the recipient is
 * away, and their mailbox answers as RFC 3834 says a responder does.
 *
 *   MAIL FROM:<>   RCPT TO:<the Return-Path>
 *   From: the recipient           To: the Return-Path
 *   Subject: Auto: <the original's subject>
 *   In-Reply-To, References: <the original's Message-ID>
 *   Auto-Submitted: auto-replied
 *   text/plain: Autoreply_Text
 *
 * No reply, counted autoreply_skipped with the reason in the record and on
 * the log line, when:
 *   - the message is automatic itself (RFC 3834 section 2): a null
 *     Return-Path, an Auto-Submitted field other than "no", a report (a
 *     DSN or an ARF complaint: multipart/report);
 *   - with Autoreply_Skip_Lists (default on), it came from a list or in
 *     bulk: List-Id, or Precedence: bulk, list or junk;
 *   - the same recipient answered the same Return-Path in the last
 *     Autoreply_Interval_Days (RFC 3834 section 2: "a period of several
 *     days"; 0 answers every time).  Kept in Redis as one key per pair,
 *     <prefix>autoreply:<recipient> <Return-Path> (lower case; neither
 *     address holds a space), set with NX and an expiry of the interval
 *     just before the reply is built, and removed again when the MX did
 *     not take the reply, so that the next message gets one.  Redis
 *     unreachable: the reply goes anyway, and the record and the log line
 *     say the interval was not checked.
 *
 * The reply leaves the way the reports do (smtp.c's sink_report_run): the
 * addresses checked (a Return-Path with a control character, a space,
 * broken quoting or over 320 octets gets none: autoreply_missing_return_path;
 * an IDN domain goes out in A-labels), the Return-Path MX allowlist
 * (autoreply_not_sparkpost), libcurl under SMTP_Timeout and the message's
 * budget (autoreply_smtp_error), DKIM_Sign_* (dkim/sign.c); built with
 * GMime like them (report.c), so the Subject is decoded and encoded again
 * by GMime, never by hand.
 */
#include <string.h>

#include <hiredis/hiredis.h>

#include "account.h"
#include "autoreply.h"
#include "mx.h"
#include "report-int.h"
#include "smtp.h"

/* ---- the loop guards -------------------------------------------------------------------------------- */

/* The value of a header field as it is logged: header text, at most 80 characters. */
static char *
shown(const char *value)
{
	g_autofree char *text = sink_report_text(value ? value : "");

	if (g_utf8_strlen(text, -1) > 80)
		return g_strdup_printf("%.*s...", (int)(g_utf8_offset_to_pointer(text, 80) - text), text);
	return g_steal_pointer(&text);
}

/* The first word of a field's value (before white space, ';' or a comment), lower case; "" when none. */
static char *
first_word(const char *value)
{
	const char *p = value ? value : "";
	gsize n;

	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	n = strcspn(p, " \t\r\n;(");
	return g_ascii_strdown(p, (gssize)n);
}

/* Whether the sender is the null one: --from "" or "<>", or without --from a Return-Path: <>. */
static gboolean
null_sender(SinkCtx *ctx)
{
	const char *rp;
	gsize n = 0;
	char bare[3];

	if (ctx->env_from)
		return *ctx->env_from == '\0' || strcmp(ctx->env_from, "<>") == 0;
	if (ctx->return_path || ctx->mime == NULL ||
	    (rp = g_mime_object_get_header(ctx->mime, "Return-Path")) == NULL)
		return FALSE;
	for (const char *p = rp; *p; p++) {	/* "<>", "< >" */
		if (g_ascii_isspace(*p))
			continue;
		if (n == sizeof bare - 1)
			return FALSE;
		bare[n++] = *p;
	}
	bare[n] = '\0';
	return strcmp(bare, "<>") == 0;
}

const char *
sink_autoreply_guard(SinkCtx *ctx, char **detail)
{
	GMimeHeaderList *headers;
	GMimeContentType *type;
	const char *v;

	*detail = NULL;
	if (null_sender(ctx)) {
		*detail = g_strdup("the null Return-Path <>: a bounce or another automatic message");
		return "null_sender";
	}
	if (ctx->mime == NULL)
		return NULL;
	headers = g_mime_object_get_header_list(ctx->mime);
	for (int i = 0; i < g_mime_header_list_get_count(headers); i++) {	/* every Auto-Submitted field */
		GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
		g_autofree char *word = NULL;

		if (g_ascii_strcasecmp(g_mime_header_get_name(h), "Auto-Submitted") != 0)
			continue;
		word = first_word(g_mime_header_get_value(h));
		if (strcmp(word, "no") != 0) {
			g_autofree char *value = shown(g_mime_header_get_value(h));
			*detail = g_strdup_printf("Auto-Submitted: %s", *value ? value : "(empty)");
			return "auto_submitted";
		}
	}
	type = g_mime_object_get_content_type(ctx->mime);
	if (type && g_mime_content_type_is_type(type, "multipart", "report")) {
		g_autofree char *rt = shown(g_mime_content_type_get_parameter(type, "report-type"));
		*detail = g_strdup_printf("a report: multipart/report; report-type=%s", *rt ? rt : "(none)");
		return "report";
	}
	if (!ctx->cfg->autoreply_skip_lists)
		return NULL;
	if ((v = g_mime_object_get_header(ctx->mime, "List-Id")) != NULL) {
		g_autofree char *value = shown(v);
		*detail = g_strdup_printf("list mail: List-Id: %s", value);
		return "list";
	}
	if ((v = g_mime_object_get_header(ctx->mime, "Precedence")) != NULL) {
		g_autofree char *word = first_word(v);
		if (strcmp(word, "bulk") == 0 || strcmp(word, "list") == 0 || strcmp(word, "junk") == 0) {
			*detail = g_strdup_printf("bulk or list mail: Precedence: %s", word);
			return "list";
		}
	}
	return NULL;
}

/* ---- the interval ------------------------------------------------------------------------------------- */

/* The Redis key of the pair: <prefix>autoreply:<from> <to>, lower case. */
static char *
interval_key(const SinkConfig *cfg, const char *from, const char *to)
{
	g_autofree char *prefix = sink_config_key_prefix(cfg);
	g_autofree char *a = g_ascii_strdown(from, -1), *b = g_ascii_strdown(to, -1);

	return g_strdup_printf("%sautoreply:%s %s", prefix, a, b);
}

static void
skip(SinkCtx *ctx, const char *why, char *detail)
{
	ctx->autoreply.skipped = why;
	g_free(ctx->autoreply.detail);
	ctx->autoreply.detail = detail;
	sink_ctx_count(ctx, "autoreply_skipped");
	sink_ctx_note(ctx, "autoreply skipped (%s): %s", why, detail);
}

static gboolean
interval_unchecked(SinkCtx *ctx, const char *why)
{
	ctx->autoreply.interval = "unchecked";
	sink_ctx_note(ctx, "autoreply interval not checked (%s): replied anyway", why);
	return TRUE;
}

/* The kind's gate: at most one reply per pair per Autoreply_Interval_Days (a dry run only looks). */
static gboolean
interval_gate(SinkCtx *ctx, const char *from, const char *rcpt_to)
{
	int days = ctx->cfg->autoreply_interval_days;
	g_autofree char *key = NULL, *stamp = NULL;
	redisContext *c;
	redisReply *r;
	gboolean replied;

	if (days == 0) {
		ctx->autoreply.interval = "off";
		return TRUE;
	}
	if ((c = sink_account_redis(ctx)) == NULL)
		return interval_unchecked(ctx, "Redis unreachable");
	key = interval_key(ctx->cfg, from, rcpt_to);
	stamp = g_date_time_format(ctx->now, "%Y-%m-%dT%H:%M:%S+00:00");
	if (ctx->dry_run)
		r = redisCommand(c, "EXISTS %s", key);
	else
		r = redisCommand(c, "SET %s %s NX EX %lld", key, stamp, (long long)days * 86400);
	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		sink_ctx_redis_error(ctx, "Redis autoreply interval: %s", r ? r->str : c->errstr[0] ? c->errstr : "no reply");
		if (r)
			freeReplyObject(r);
		return interval_unchecked(ctx, "Redis failed");
	}
	replied = ctx->dry_run ? r->type == REDIS_REPLY_INTEGER && r->integer > 0 : r->type == REDIS_REPLY_NIL;
	freeReplyObject(r);
	ctx->autoreply.interval = replied ? "replied" : "first";
	if (replied)
		skip(ctx, "interval", g_strdup_printf("%s was answered in the last %d day%s (Autoreply_Interval_Days)",
						      rcpt_to, days, days == 1 ? "" : "s"));
	return !replied;
}

/* A reply the MX did not take leaves the pair free again. */
static void
interval_release(SinkCtx *ctx)
{
	g_autofree char *from = sink_report_addr(ctx->rcpt);
	g_autofree char *to = sink_report_addr(ctx->return_path);
	g_autofree char *key = NULL;
	redisContext *c;
	redisReply *r;

	if (from == NULL || to == NULL || (c = sink_account_redis(ctx)) == NULL)
		return;
	key = interval_key(ctx->cfg, from, to);
	r = redisCommand(c, "DEL %s", key);
	if (r == NULL || r->type == REDIS_REPLY_ERROR)
		sink_ctx_redis_error(ctx, "Redis autoreply interval not released: %s",
				     r ? r->str : c->errstr[0] ? c->errstr : "no reply");
	if (r)
		freeReplyObject(r);
}

/* ---- the reply ---------------------------------------------------------------------------------------- */

char *
sink_autoreply_subject(SinkCtx *ctx)
{
	g_autofree char *subject = sink_report_subject(ctx);

	return g_strconcat("Auto: ", subject && *subject ? subject : "your message", NULL);
}

char *
sink_autoreply_text(const char *configured)
{
	GString *out = g_string_new(NULL);

	for (const char *p = configured ? configured : ""; *p; p++) {
		if (p[0] == '\\' && p[1] == 'n') {
			g_string_append_c(out, '\n');
			p++;
		} else if (p[0] == '\\' && p[1] == '\\') {
			g_string_append_c(out, '\\');
			p++;
		} else {
			g_string_append_c(out, *p);
		}
	}
	while (out->len && out->str[out->len - 1] == '\n')
		g_string_truncate(out, out->len - 1);
	g_string_append_c(out, '\n');
	return g_string_free(out, FALSE);
}

GMimeMessage *
sink_autoreply_build(SinkCtx *ctx, GError **error)
{
	g_autofree char *from = sink_report_addr(ctx->rcpt);
	g_autofree char *to = sink_report_addr(ctx->return_path);
	g_autofree char *subject = NULL, *text = NULL;
	GMimeMessage *msg;
	GMimeObject *part;

	if (from == NULL || to == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "no usable %s address",
			    from == NULL ? "recipient" : "Return-Path");
		return NULL;
	}
	subject = sink_autoreply_subject(ctx);
	text = sink_autoreply_text(ctx->cfg->autoreply_text);
	msg = sink_mail_new(ctx, NULL, from, to, subject);
	sink_mail_answers(ctx, msg, "auto-replied");
	part = sink_text_part(text);
	g_mime_message_set_mime_part(msg, part);
	g_object_unref(part);
	return msg;
}

/* ---- the run ------------------------------------------------------------------------------------------- */

static const SinkReportKind autoreply_kind = {
	.what = "autoreply",
	.action = "autoreply",
	.missing_to = "autoreply_missing_to",
	.missing_return_path = "autoreply_missing_return_path",
	.not_allowed = "autoreply_not_sparkpost",
	.dns_error = "autoreply_dns_error",
	.smtp_error = "autoreply_smtp_error",
	.sent = "autoreply_sent",
	.build = sink_autoreply_build,
	.route = sink_mx_resolve,
	.to_fbl_addr = FALSE,
	.null_sender = TRUE,
	.gate = interval_gate,
};

void
sink_autoreply_run(SinkCtx *ctx)
{
	char *detail = NULL;
	const char *why = sink_autoreply_guard(ctx, &detail);
	guint before = ctx->actions->len;

	if (why) {
		skip(ctx, why, detail);
		return;
	}
	sink_report_run(ctx, &autoreply_kind);
	g_clear_pointer(&ctx->fbl_addr, g_free);	/* the route's FBL address means nothing to a reply */
	if (!ctx->dry_run && g_strcmp0(ctx->autoreply.interval, "first") == 0 && ctx->actions->len > before &&
	    ((SinkAction *)ctx->actions->pdata[before])->error)
		interval_release(ctx);
}
