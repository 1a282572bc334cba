/*
 * complaint.c - the fbl action: an RFC 5965 Abuse Reporting Format (ARF)
 * complaint about the received message (spam, or the feedback type the
 * sender chose or FBL_Feedback_Types drew: feedback.h), as a mailbox provider's
 * feedback loop sends it, mailed to the sender's FBL address (the one the
 * Return-Path MX maps to, mx.c; or the message's own CFBL-Address when it
 * meets RFC 9477, cfbl.c) and delivered by smtp.c.
 *
 *   multipart/report; report-type=feedback-report      (RFC 6522)
 *     text/plain                  what this is, for people
 *     message/feedback-report     Feedback-Type (abuse, fraud, virus, other,
 *                                 not-spam), User-Agent, Version,
 *                                 Original-Mail-From, Original-Rcpt-To, ...,
 *                                 Reported-URI: mailto:<recipient> and
 *                                 Removal-Recipient, as the original sent
 *     message/rfc822              the original, byte for byte (X-MSFBL and
 *                                 DKIM-Signature intact)
 *
 * The multipart/report helpers are shared with bounce.c (report.c); smtp.c
 * checks, delivers and counts it.
 */
#include <arpa/inet.h>
#include <string.h>

#include "cfbl.h"
#include "feedback.h"
#include "mx.h"
#include "report-int.h"
#include "smtp.h"
#include "sink-build.h"

static const SinkReportKind fbl_kind = {
	.what = "FBL",
	.action = "fbl",
	.missing_to = "fbl_missing_to",
	.missing_return_path = "fbl_missing_return_path",
	.not_allowed = "fbl_return_path_not_sparkpost",
	.dns_error = "fbl_dns_error",
	.smtp_error = "fbl_smtp_error",
	.sent = "fbl_sent",
	.build = sink_complaint_build,
	.route = sink_mx_resolve,
	.to_fbl_addr = TRUE,
};

/* A complaint to the sender's CFBL-Address (cfbl.c): its domain's MX, no allowlist, counted twice when sent. */
static const SinkReportKind cfbl_kind = {
	.what = "FBL",
	.action = "fbl",
	.missing_to = "fbl_missing_to",
	.missing_return_path = "fbl_missing_return_path",
	.not_allowed = "fbl_smtp_error",	/* the address's domain takes no mail: not delivered */
	.dns_error = "fbl_dns_error",
	.smtp_error = "fbl_smtp_error",
	.sent = "fbl_sent",
	.also_sent = "fbl_cfbl_sent",
	.build = sink_complaint_build,
	.route = sink_cfbl_route,
	.to_fbl_addr = TRUE,
	.senders_own = TRUE,
};

void
sink_complaint_run(SinkCtx *ctx)
{
	/*
	 * A type the sender asked for (X-Bouncy-Sink, a keyword) stands; else it
	 * is drawn here, after every draw of the decision and of the personas'
	 * traffic, so that a --seed keeps giving the same decision as before.
	 */
	if (!ctx->plan.feedback_chosen)
		ctx->plan.feedback_type = sink_feedback_draw(ctx->cfg->fbl_feedback_weights, ctx->rng);
	if (strcmp(ctx->plan.feedback_type, "abuse") != 0)
		sink_ctx_note(ctx, "feedback-type=%s", ctx->plan.feedback_type);
	sink_cfbl_check(ctx);
	sink_report_run(ctx, ctx->cfbl.honoured ? &cfbl_kind : &fbl_kind);
}

/* The client IP when it is one (v4 or v6), else NULL. */
static char *
source_ip(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	if (s == NULL || (inet_pton(AF_INET, s, buf) != 1 && inet_pton(AF_INET6, s, buf) != 1))
		return NULL;
	return g_strdup(s);
}

/* The domain the complaint is about: the DKIM signer's, else the Return-Path's (NULL: none). */
static char *
reported_domain(SinkCtx *ctx, const char *return_path)
{
	const char *at = return_path ? strrchr(return_path, '@') : NULL;
	g_autofree char *d = sink_report_ascii(ctx->dkim_domain ? ctx->dkim_domain : at ? at + 1 : NULL);

	if (d == NULL || *d == '\0' || strpbrk(d, " ;()<>\"") != NULL)
		return NULL;
	return g_ascii_strdown(d, -1);
}

/*
 * "mailto:" and the address as an RFC 6068 URI: what a URI may not hold
 * (%, ?, #, space, quotes, non-ASCII as UTF-8 octets) percent-encoded, and
 * "&", ";" and "=" too (RFC 6068 section 2: they would read as the
 * separators of header fields).
 */
static char *
mailto_uri(const char *addr)
{
	g_autofree char *escaped = g_uri_escape_string(addr, "@!$'*+,", FALSE);

	return g_strconcat("mailto:", escaped, NULL);
}

static void
field(GMimeHeaderList *list, const char *name, const char *value)
{
	g_mime_header_list_append(list, name, value, NULL);
}

GMimeMessage *
sink_complaint_build(SinkCtx *ctx, GError **error)
{
	g_autofree char *rcpt = sink_report_addr(ctx->rcpt);
	g_autofree char *return_path = sink_report_addr(ctx->return_path);
	g_autofree char *fbl = sink_report_addr(ctx->fbl_addr);
	g_autofree char *host = NULL, *date = NULL, *ip = NULL, *domain = NULL, *subject = NULL;
	g_autofree char *mail_from = NULL, *rcpt_to = NULL, *mta = NULL, *title = NULL, *rp_ascii = NULL;
	g_autofree char *rcpt_ascii = NULL, *authres = NULL, *uri = NULL;
	GMimeHeaderList *block;
	GMimeMultipart *report;
	GMimeMessage *msg;
	GString *text;
	const SinkFeedbackKind *kind = sink_feedback_kind(ctx->plan.feedback_type);

	/* no Return-Path: only to a CFBL-Address (sink_report_run), and Original-Mail-From is left out */
	if (rcpt == NULL || (return_path == NULL && !ctx->cfbl.honoured) || fbl == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "no usable %s address",
			    rcpt == NULL ? "recipient" : fbl == NULL ? "feedback-loop" : "Return-Path");
		return NULL;
	}
	host = sink_report_ascii(ctx->cfg->host_name);
	date = sink_report_date(sink_ctx_arrived(ctx));	/* (a delayed step's: its message's) */
	ip = source_ip(ctx->client_ip);
	domain = reported_domain(ctx, return_path);
	rp_ascii = return_path ? sink_report_addr_ascii(return_path) : NULL;
	rcpt_ascii = sink_report_addr_ascii(rcpt);
	mail_from = rp_ascii ? g_strdup_printf("<%s>", rp_ascii) : NULL;
	rcpt_to = g_strdup_printf("<%s>", rcpt_ascii);
	uri = mailto_uri(rcpt);
	mta = g_strdup_printf("dns; %s", host);
	subject = sink_report_subject(ctx);
	title = subject && *subject ? g_strdup_printf("%s: %s", kind->title, subject) : g_strdup(kind->title);
	if (ctx->dkim || ctx->spf) {
		g_autofree char *dkim = sink_report_ascii(ctx->dkim);
		g_autofree char *d = sink_report_ascii(ctx->dkim_domain);
		g_autofree char *spf = sink_report_ascii(ctx->spf);
		GString *ar = g_string_new(host);
		if (dkim && *dkim)
			g_string_append_printf(ar, "; dkim=%s", dkim);
		if (dkim && *dkim && d && *d && strpbrk(d, " ;()") == NULL)
			g_string_append_printf(ar, " header.d=%s", d);
		if (spf && *spf && rp_ascii)
			g_string_append_printf(ar, "; spf=%s smtp.mailfrom=%s", spf, rp_ascii);
		authres = g_string_free(ar, FALSE);
	}

	msg = sink_report_new(ctx, NULL, rcpt, fbl, title, "auto-generated", "feedback-report", &report);

	text = g_string_new(NULL);
	g_string_append_printf(text, "This is an email %s report for an email message received from IP %s on %s.\n",
			       kind->noun, ip ? ip : "(unknown)", date);
	g_string_append_printf(text, "%s For more information about this format\n"
			       "please see https://www.rfc-editor.org/rfc/rfc5965.\n", kind->what);
	sink_report_add_text(report, text->str);
	g_string_free(text, TRUE);

	block = g_mime_header_list_new(NULL);
	field(block, "Feedback-Type", kind->type);
	field(block, "User-Agent", "bouncy-sink/" SINK_VERSION);
	field(block, "Version", "1");
	if (mail_from)	/* (optional, RFC 5965 3.2) */
		field(block, "Original-Mail-From", mail_from);
	field(block, "Original-Rcpt-To", rcpt_to);
	field(block, "Arrival-Date", date);
	field(block, "Reporting-MTA", mta);
	if (ip)
		field(block, "Source-IP", ip);
	if (domain)
		field(block, "Reported-Domain", domain);
	if (authres)
		field(block, "Authentication-Results", authres);
	/* the address to take off the list, as the original's reports gave it (RFC 5965 3.2, and ARF's drafts) */
	field(block, "Reported-URI", uri);
	if (strcmp(rcpt_ascii, rcpt) == 0)	/* an addr-spec; an internationalized one is in the URI only */
		field(block, "Removal-Recipient", rcpt_ascii);
	sink_report_add_fields(report, "feedback-report", &block, 1);
	g_object_unref(block);

	sink_report_add_original(ctx, report, FALSE);
	return msg;
}
