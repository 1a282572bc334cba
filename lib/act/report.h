/*
 * report.h - the two reports the sink mails back, built with GMime:
 * an RFC 3464 bounce (bounce.c) and an RFC 5965 ARF complaint
 * (complaint.c), and their delivery over SMTP (smtp.c).
 */
#ifndef SINK_REPORT_H
#define SINK_REPORT_H

#include "context.h"

/*
 * sink_bounce_run / sink_complaint_run: the oob and fbl actions.  Check the
 * addresses and the Return-Path MX, build the report, send it (not with
 * --dry-run) and count the outcome.  Results go into ctx.
 */
void sink_bounce_run(SinkCtx *ctx);
void sink_complaint_run(SinkCtx *ctx);

/*
 * sink_bounce_build / sink_complaint_build: the report for ctx as a new
 * GMimeMessage (g_object_unref), or NULL with `error` set.
 */
GMimeMessage *sink_bounce_build(SinkCtx *ctx, GError **error);
GMimeMessage *sink_complaint_build(SinkCtx *ctx, GError **error);

/*
 * sink_smtp_send: deliver `msg` from `mail_from` ("": the null sender, <>) to `rcpt_to` via host
 * `mx` (port cfg->smtp_port) with libcurl, CRLF line endings.  With
 * `public_only` (an MX the sender chose), an address of mx that is not
 * public unicast is not connected to (sink_fetch_address_allowed), unless
 * Fetch_Allow_Private.  Fills the action's status,
 * reply and error.  TRUE when the MX accepted it.
 */
gboolean sink_smtp_send(SinkCtx *ctx, SinkAction *a, const char *mx, const char *mail_from,
			const char *rcpt_to, GMimeMessage *msg, gboolean public_only);

#endif
