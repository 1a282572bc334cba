/*
 * bounce.c - the oob action: an RFC 3464 delivery status notification, a
 * hard "user unknown" bounce of the received message as a real receiving
 * MTA sends it, mailed back to the Return-Path (smtp.c delivers it).
 *
 *   multipart/report; report-type=delivery-status      (RFC 6522)
 *     text/plain                  what happened, for people
 *     message/delivery-status     per-message and per-recipient fields
 *     message/rfc822              the original, byte for byte
 *       (text/rfc822-headers, its header block, above Report_Original_Max)
 *
 * Every part is a GMime object; the field blocks are GMimeHeaderLists,
 * made with the multipart/report helpers it shares with complaint.c
 * (report.c); smtp.c checks, delivers and counts it.
 */
#include <string.h>

#include "mx.h"
#include "report-int.h"
#include "smtp.h"

static const SinkReportKind oob_kind = {
	.what = "OOB",
	.action = "oob",
	.missing_to = "oob_missing_to",
	.missing_return_path = "oob_missing_return_path",
	.not_allowed = "oob_return_path_not_sparkpost",
	.dns_error = "oob_dns_error",
	.smtp_error = "oob_smtp_error",
	.sent = "oob_sent",
	.build = sink_bounce_build,
	.route = sink_mx_resolve,
	.to_fbl_addr = FALSE,
};

void
sink_bounce_run(SinkCtx *ctx)
{
	sink_report_run(ctx, &oob_kind);
}

/* ---- the DSN --------------------------------------------------------------------------------------- */

static void
field(GMimeHeaderList *list, const char *name, const char *value)
{
	g_mime_header_list_append(list, name, value, NULL);
}

GMimeMessage *
sink_bounce_build(SinkCtx *ctx, GError **error)
{
	g_autofree char *rcpt = sink_report_addr(ctx->rcpt);
	g_autofree char *return_path = sink_report_addr(ctx->return_path);
	g_autofree char *host = NULL, *date = NULL, *final = NULL, *rcpt_ascii = NULL;
	g_autofree char *mta = NULL, *diagnostic = NULL, *subject = NULL, *orig_id = NULL;
	GMimeHeaderList *blocks[2];
	GMimeMultipart *report;
	GMimeMessage *msg;
	GString *text;

	if (rcpt == NULL || return_path == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "no usable %s address",
			    rcpt == NULL ? "recipient" : "Return-Path");
		return NULL;
	}
	host = sink_report_ascii(ctx->cfg->host_name);
	date = sink_report_date(sink_ctx_arrived(ctx));	/* (a delayed step's: its message's) */
	final = sink_report_field_addr(rcpt);
	rcpt_ascii = sink_report_addr_ascii(rcpt);
	mta = g_strdup_printf("dns; %s", host);
	diagnostic = g_strdup_printf("smtp; 550 5.1.1 <%s>... User unknown", rcpt_ascii);
	subject = sink_report_subject(ctx);
	orig_id = sink_report_text(ctx->message_id);

	msg = sink_report_new(ctx, "Mail Delivery System", rcpt, return_path,
			      "Undelivered Mail Returned to Sender", "auto-replied", "delivery-status", &report);

	text = g_string_new(NULL);
	g_string_append_printf(text,
			       "This is the mail system at host %s.\n\n"
			       "I'm sorry to have to inform you that your message could not\n"
			       "be delivered to one or more recipients. It's attached below.\n\n"
			       "<%s>: host %s said: 550 5.1.1 <%s>... User unknown\n",
			       host, rcpt, host, rcpt);
	if (subject && *subject)
		g_string_append_printf(text, "\nSubject: %s\n", subject);
	if (orig_id && *orig_id)
		g_string_append_printf(text, "%sMessage-ID: <%s>\n", subject && *subject ? "" : "\n", orig_id);
	sink_report_add_text(report, text->str);
	g_string_free(text, TRUE);

	blocks[0] = g_mime_header_list_new(NULL);
	field(blocks[0], "Reporting-MTA", mta);
	field(blocks[0], "Arrival-Date", date);
	blocks[1] = g_mime_header_list_new(NULL);
	field(blocks[1], "Final-Recipient", final);
	field(blocks[1], "Action", "failed");
	field(blocks[1], "Status", "5.1.1");
	field(blocks[1], "Remote-MTA", mta);
	field(blocks[1], "Diagnostic-Code", diagnostic);
	field(blocks[1], "Last-Attempt-Date", date);
	sink_report_add_fields(report, "delivery-status", blocks, G_N_ELEMENTS(blocks));
	g_object_unref(blocks[0]);
	g_object_unref(blocks[1]);

	sink_report_add_original(ctx, report, FALSE);
	return msg;
}
