/*
 * smtp.h - a report's way out (smtp.c): the checks before it, its delivery
 * and its counters, the same for every kind of report.
 */
#ifndef SINK_SMTP_H
#define SINK_SMTP_H

#include "report.h"

/*
 * One kind of report (or reply), its route and its counters (static strings).
 * Counters, per report sent or not:
 *   <x>_missing_to                 no (usable) recipient: nothing sent
 *   <x>_missing_return_path        no (usable) Return-Path: nothing sent
 *   <x>_return_path_not_sparkpost  the Return-Path MX is not allowlisted
 *                                  (not_allowed: the route found nowhere
 *                                  to send it)
 *   <x>_dns_error                  the MX look-up failed for now (timeout,
 *                                  SERVFAIL): nothing sent, no retry
 *   <x>_smtp_error                 not delivered: no connection, 4xx, 5xx,
 *                                  timeout, time budget spent
 *   <x>_sent                       the MX accepted the report (and
 *                                  also_sent, when the kind has one)
 * With --dry-run the report is built but not sent: no <x>_sent or
 * <x>_smtp_error.
 */
typedef struct {
	const char *what;	/* "OOB", "FBL" or "autoreply", the prefix of error texts */
	const char *action;	/* the action type, "oob", "fbl" or "autoreply" */
	const char *missing_to;
	const char *missing_return_path;
	const char *not_allowed;
	const char *dns_error;
	const char *smtp_error;
	const char *sent;
	const char *also_sent;	/* counted with `sent`; may be NULL */
	GMimeMessage *(*build)(SinkCtx *ctx, GError **error);
	/* where it goes: sets ctx->mx_host (and ctx->fbl_addr); FALSE with the error recorded (mx.c, cfbl.c) */
	gboolean (*route)(SinkCtx *ctx, const char *what, gboolean *tempfail);
	gboolean to_fbl_addr;	/* RCPT TO is ctx->fbl_addr, else the Return-Path */
	gboolean null_sender;	/* MAIL FROM:<> (RFC 3834's auto-reply), else the recipient */
	/*
	 * the address is the message's own CFBL-Address (RFC 9477): it goes
	 * without a Return-Path, and its MX is the sender's choice, not the
	 * allowlist's, so that MX's address must be public (unless
	 * Fetch_Allow_Private), as a fetch's
	 */
	gboolean senders_own;
	/*
	 * once the route is found, before the report is built: FALSE leaves it
	 * unsent (the gate counts and says why); may be NULL
	 */
	gboolean (*gate)(SinkCtx *ctx, const char *from, const char *rcpt_to);
} SinkReportKind;

/* sink_report_run: check, build, send and count one report. */
void sink_report_run(SinkCtx *ctx, const SinkReportKind *kind);

#endif
