/*
 * autoreply.h - the autoreply class (SPEC section 17): an RFC 3834
 * out-of-office reply to the Return-Path, unless the message is one no
 * responder answers (autoreply.c).
 */
#ifndef SINK_AUTOREPLY_H
#define SINK_AUTOREPLY_H

#include "context.h"

/*
 * sink_autoreply_run: the autoreply action.  The loop guards, the list
 * rule and the interval first (a skip counts autoreply_skipped and fills
 * ctx->autoreply), then the reply is built, sent from the null sender
 * through the reports' way out (smtp.c: the addresses, the Return-Path MX
 * allowlist, DKIM_Sign_*, the timeouts) and counted.
 */
void sink_autoreply_run(SinkCtx *ctx);

/*
 * sink_autoreply_guard: why the received message gets no reply whatever
 * the interval says: "null_sender" (--from "" or <>, Return-Path: <>),
 * "auto_submitted" (an Auto-Submitted field other than "no"), "report" (a
 * multipart/report: a DSN, an ARF report, ...) or, with
 * Autoreply_Skip_Lists, "list" (List-Id, Precedence: bulk, list or junk).
 * A static string, or NULL when it may be answered; *detail (g_free) says
 * it in words, or is NULL.
 */
const char *sink_autoreply_guard(SinkCtx *ctx, char **detail);

/*
 * sink_autoreply_subject: "Auto: " and the original's Subject as GMime
 * decoded it (RFC 2047 encoded words read), made header text and
 * shortened as a report quotes it (report-int.h's sink_report_subject,
 * which notes a broken or shortened one); "Auto: your message" when it has
 * none.  Plain UTF-8: the message's encoder writes the encoded words.
 * g_free.
 */
char *sink_autoreply_subject(SinkCtx *ctx);

/*
 * sink_autoreply_text: Autoreply_Text as the reply's body: "\n" a line
 * break, "\\" a backslash, ending with one line break.  g_free.
 */
char *sink_autoreply_text(const char *configured);

/*
 * sink_autoreply_build: the reply for ctx: From the recipient, To the
 * Return-Path, Subject "Auto: ...", In-Reply-To and References the
 * original's Message-ID, Auto-Submitted: auto-replied, a text/plain body
 * (Autoreply_Text).  A new GMimeMessage (g_object_unref), or NULL with
 * `error` when the recipient or the Return-Path is no usable address.
 */
GMimeMessage *sink_autoreply_build(SinkCtx *ctx, GError **error);

#endif
