/*
 * oneclick.h - RFC 8058's one-click verdict, the check a mailbox provider
 * makes before it shows its unsubscribe button: made for every message
 * that carries List-Unsubscribe, whatever its class, after the DKIM check.
 */
#ifndef SINK_ONECLICK_H
#define SINK_ONECLICK_H

#include "context.h"

/*
 * sink_one_click_check: when ctx->mime has a List-Unsubscribe field, set
 * ctx->unsub: its URIs and problems (listunsub.h), the URI a one-click
 * POST would go to, and the verdict (eligible, or the first reason it is
 * not and every failing check in words); count one_click_ready or
 * one_click_not_ready.  Nothing at all without the field, or when
 * ctx->unsub is set already.  Reads ctx->dkim and ctx->dkim_sigs: run it
 * after the DKIM check.
 */
void sink_one_click_check(SinkCtx *ctx);

/*
 * sink_one_click_read: the same without counting, for a delayed step's
 * job (job.h), whose message counted its verdict when it ran.
 */
void sink_one_click_read(SinkCtx *ctx);

/*
 * sink_one_click_post_ok: whether a List-Unsubscribe-Post value (raw,
 * possibly folded) is exactly "List-Unsubscribe=One-Click" (RFC 8058 3.1),
 * white space around it aside.
 */
gboolean sink_one_click_post_ok(const char *value);

#endif
