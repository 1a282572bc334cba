/*
 * record.c - the decision record (SPEC section 8): what the sink decided
 * and did for one message, as a JSON object on one line.
 */
#include "persona.h"
#include "record.h"

void
sink_json_string(GString *out, const char *s)
{
	if (s == NULL) {
		g_string_append(out, "null");
		return;
	}
	g_string_append_c(out, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': g_string_append(out, "\\\""); break;
		case '\\': g_string_append(out, "\\\\"); break;
		case '\n': g_string_append(out, "\\n"); break;
		case '\r': g_string_append(out, "\\r"); break;
		case '\t': g_string_append(out, "\\t"); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				g_string_append_printf(out, "\\u%04x", *p);
			else
				g_string_append_c(out, (char)*p);
		}
	}
	g_string_append_c(out, '"');
}

static void
key(GString *out, const char *name)
{
	if (out->str[out->len - 1] != '{')
		g_string_append_c(out, ',');
	sink_json_string(out, name);
	g_string_append_c(out, ':');
}

static void
kv_str(GString *out, const char *name, const char *value)
{
	key(out, name);
	sink_json_string(out, value);
}

static void
kv_bool(GString *out, const char *name, gboolean value)
{
	key(out, name);
	g_string_append(out, value ? "true" : "false");
}

/* Strings that are not valid UTF-8 are made so, to keep the JSON valid. */
static char *
utf8(const char *s)
{
	return s ? g_utf8_make_valid(s, -1) : NULL;
}

static void
kv_text(GString *out, const char *name, const char *value)
{
	g_autofree char *v = utf8(value);
	kv_str(out, name, v);
}

static void
kv_int(GString *out, const char *name, gint64 value)
{
	key(out, name);
	g_string_append_printf(out, "%" G_GINT64_FORMAT, value);
}

/* An array of strings (made valid UTF-8); `dropped` more said in a last one. */
static void
strings(GString *out, const char *name, const GPtrArray *list, guint dropped)
{
	key(out, name);
	g_string_append_c(out, '[');
	for (guint i = 0; list && i < list->len; i++) {
		g_autofree char *v = utf8(list->pdata[i]);
		if (i)
			g_string_append_c(out, ',');
		sink_json_string(out, v);
	}
	if (dropped) {
		g_autofree char *more = g_strdup_printf("%u more notes not kept", dropped);
		if (list && list->len)
			g_string_append_c(out, ',');
		sink_json_string(out, more);
	}
	g_string_append_c(out, ']');
}

/* List-Unsubscribe as read, and RFC 8058's verdict on it (oneclick.h). */
static void
unsub_record(GString *out, const SinkUnsub *u)
{
	key(out, "list_unsubscribe");
	g_string_append_c(out, '{');
	strings(out, "uris", u->uris, 0);
	strings(out, "problems", u->problems, 0);
	g_string_append_c(out, '}');
	key(out, "one_click");
	g_string_append_c(out, '{');
	kv_bool(out, "eligible", u->eligible);
	kv_str(out, "reason", u->reason);
	kv_text(out, "detail", u->detail);
	kv_text(out, "uri", u->post_uri);
	g_string_append_c(out, '}');
}

/* The plan (plan.h): what was chosen, including what this version only records; null without a class. */
static void
plan(GString *out, SinkCtx *ctx)
{
	const SinkPlan *p = &ctx->plan;

	key(out, "plan");
	if (p->klass == SINK_CLASS_NONE) {
		g_string_append(out, "null");
		return;
	}
	g_string_append_c(out, '{');
	kv_str(out, "class", sink_class_name(p->klass));
	kv_str(out, "route", sink_route_name(ctx->route));
	kv_text(out, "label", ctx->label);
	kv_str(out, "persona", sink_persona_name(p->persona));
	kv_int(out, "opens", p->opens);
	kv_int(out, "clicks", p->clicks);
	kv_bool(out, "steps_chosen", p->steps_chosen);
	kv_str(out, "feedback_type", p->feedback_type);
	kv_str(out, "unsubscribe_method", sink_unsubscribe_method_name(p->unsubscribe));
	key(out, "delay");
	if (p->delay >= 0)
		g_string_append_printf(out, "%" G_GINT64_FORMAT, p->delay);
	else
		g_string_append(out, "null");
	kv_bool(out, "store_done", ctx->store_done);
	strings(out, "notes", p->notes, p->notes_dropped);
	g_string_append_c(out, '}');
}

char *
sink_record_json(SinkCtx *ctx)
{
	GString *out = g_string_new("{");

	kv_text(out, "message_id", ctx->message_id);
	kv_text(out, "to", ctx->rcpt);
	kv_text(out, "from", ctx->hdr_from);
	kv_text(out, "return_path", ctx->return_path);
	kv_text(out, "client_ip", ctx->client_ip);
	kv_str(out, "class", sink_class_name(ctx->klass));
	kv_str(out, "route", sink_route_name(ctx->route));
	kv_text(out, "label", ctx->label);
	plan(out, ctx);
	if (ctx->draw >= 0) {
		key(out, "draw");
		g_string_append_printf(out, "%.6f", ctx->draw);
	}
	key(out, "persona");	/* the mailbox's machine traffic; null when nothing was decided */
	if (ctx->klass == SINK_CLASS_NONE) {
		g_string_append(out, "null");
	} else {
		const char *names[3];
		guint n = sink_persona_names(ctx->persona, names);
		g_string_append_c(out, '[');
		for (guint i = 0; i < n; i++) {
			if (i)
				g_string_append_c(out, ',');
			sink_json_string(out, names[i]);
		}
		g_string_append_c(out, ']');
	}
	kv_str(out, "dkim", ctx->dkim);
	kv_text(out, "dkim_domain", ctx->dkim_domain);
	kv_text(out, "dkim_selector", ctx->dkim_selector);
	kv_text(out, "dkim_detail", ctx->dkim_detail);
	key(out, "dkim_signatures");	/* each signature checked: who signed, its result, the fields it covers */
	g_string_append_c(out, '[');
	for (guint i = 0; i < ctx->dkim_sigs->len; i++) {
		const SinkDkimSig *sig = ctx->dkim_sigs->pdata[i];
		g_string_append(out, i ? ",{" : "{");
		kv_text(out, "domain", sig->domain);
		kv_text(out, "selector", sig->selector);
		kv_text(out, "result", sig->result);
		key(out, "headers");
		g_string_append_c(out, '[');
		for (char **h = sig->headers; *h; h++) {
			g_autofree char *v = utf8(*h);
			if (h != sig->headers)
				g_string_append_c(out, ',');
			sink_json_string(out, v);
		}
		g_string_append(out, "]}");
	}
	g_string_append_c(out, ']');
	kv_str(out, "spf", ctx->spf);
	kv_text(out, "mx", ctx->mx_host);
	kv_text(out, "fbl_address", ctx->fbl_addr);
	if (ctx->cfbl.checked)	/* where the complaint went: its CFBL-Address, or section 6's rule */
		kv_str(out, "complaint_route", ctx->cfbl.honoured ? "cfbl" : "return_path");
	if (ctx->cfbl.present) {
		key(out, "cfbl");
		g_string_append_c(out, '{');
		kv_text(out, "address", ctx->cfbl.address);
		kv_text(out, "feedback_id", ctx->cfbl.feedback_id);
		kv_text(out, "report", ctx->cfbl.report);
		kv_bool(out, "honoured", ctx->cfbl.honoured);
		kv_text(out, "reason", ctx->cfbl.reason);
		g_string_append_c(out, '}');
	}
	if (ctx->klass == SINK_CLASS_OPENCLICK) {
		kv_bool(out, "open_again", ctx->plan.opens > 1);
		kv_bool(out, "click", ctx->plan.clicks > 0);
		kv_bool(out, "click_again", ctx->plan.clicks > 1);
		kv_text(out, "user_agent", ctx->user_agent);
	}
	if (ctx->klass == SINK_CLASS_UNSUBSCRIBE) {	/* how the reader unsubscribed (the method asked: the plan's) */
		key(out, "unsubscribe");
		g_string_append_c(out, '{');
		kv_str(out, "method", ctx->unsub_used);
		kv_text(out, "target", ctx->unsub_target);
		g_string_append_c(out, '}');
		kv_text(out, "user_agent", ctx->user_agent);
	}
	if (ctx->klass == SINK_CLASS_AUTOREPLY) {	/* whether a reply went, why not, and the interval's verdict */
		key(out, "autoreply");
		g_string_append_c(out, '{');
		kv_str(out, "skipped", ctx->autoreply.skipped);
		kv_text(out, "detail", ctx->autoreply.detail);
		kv_str(out, "interval", ctx->autoreply.interval);
		g_string_append_c(out, '}');
	}
	if (ctx->unsub)
		unsub_record(out, ctx->unsub);
	if (ctx->scanner_agent)
		kv_text(out, "scanner_user_agent", ctx->scanner_agent);
	if (ctx->signals_blocked)
		kv_bool(out, "signals_closed_day", TRUE);
	kv_bool(out, "dry_run", ctx->dry_run);
	key(out, "delayed");	/* the steps put off to a job (delay.c), each with its due time */
	g_string_append_c(out, '[');
	for (guint i = 0; ctx->delayed && i < ctx->delayed->len; i++) {
		const SinkDelayed *d = ctx->delayed->pdata[i];
		g_autoptr(GDateTime) due = g_date_time_new_from_unix_utc(d->due);
		g_autofree char *when = due ? g_date_time_format(due, "%Y-%m-%dT%H:%M:%SZ") : NULL;
		g_string_append(out, i ? ",{" : "{");
		kv_str(out, "step", sink_step_name(d->step));
		key(out, "delay");
		g_string_append_printf(out, "%" G_GINT64_FORMAT, d->delay);
		kv_str(out, "due", when);
		kv_text(out, "job", d->job);
		g_string_append_c(out, '}');
	}
	g_string_append_c(out, ']');

	key(out, "actions");
	g_string_append_c(out, '[');
	for (guint i = 0; i < ctx->actions->len; i++) {
		SinkAction *a = ctx->actions->pdata[i];
		if (i)
			g_string_append_c(out, ',');
		g_string_append_c(out, '{');
		kv_str(out, "type", a->type);
		kv_str(out, "by", a->by ? a->by : "reader");
		if (a->method)
			kv_str(out, "method", a->method);
		if (a->target)
			kv_text(out, "target", a->target);
		if (a->status) {
			key(out, "status");
			g_string_append_printf(out, "%d", a->status);
		}
		if (a->reply)
			kv_text(out, "reply", a->reply);
		if (a->hops) {
			key(out, "hops");
			g_string_append_c(out, '[');
			for (guint h = 0; h < a->hops->len; h++) {
				const SinkHop *hop = &g_array_index(a->hops, SinkHop, h);
				g_string_append(out, h ? ",{" : "{");
				kv_text(out, "url", hop->url);
				if (hop->status) {
					key(out, "status");
					g_string_append_printf(out, "%d", hop->status);
				}
				g_string_append_c(out, '}');
			}
			g_string_append_c(out, ']');
		}
		if (a->error)
			kv_text(out, "error", a->error);
		if (a->seconds > 0) {
			key(out, "seconds");
			g_string_append_printf(out, "%.3f", a->seconds);
		}
		g_string_append_c(out, '}');
	}
	g_string_append_c(out, ']');

	key(out, "counters");
	g_string_append_c(out, '[');
	for (guint i = 0; i < ctx->counters->len; i++) {
		if (i)
			g_string_append_c(out, ',');
		sink_json_string(out, ctx->counters->pdata[i]);
	}
	g_string_append_c(out, ']');

	strings(out, "errors", ctx->errors, 0);
	strings(out, "notes", ctx->notes, 0);
	kv_text(out, "done", ctx->done_path);
	key(out, "exit");
	g_string_append_printf(out, "%d}", ctx->exit_code);
	return g_string_free(out, FALSE);
}
