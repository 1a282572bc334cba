/*
 * report-int.h - the report helpers of report.c, private to the reports
 * (bounce.c, complaint.c) and their delivery (smtp.c): the multipart/report
 * container (RFC 6522) with its safe header and field values, the
 * original's attachment, and the CRLF serialisation.
 *
 * Values that come from the received message (addresses, ids, dates, the
 * subject) are never trusted in a header or a report field: CR, LF and other
 * control characters are dropped, report fields are kept US-ASCII, and
 * header text that needs more goes through GMime's RFC 2047 encoder.
 */
#ifndef SINK_REPORT_INT_H
#define SINK_REPORT_INT_H

#include "report.h"

/*
 * sink_report_serialize: msg as it goes on the wire, CRLF line
 * endings, NUL-terminated; its length in *len when len is not NULL.  g_free.
 */
char *sink_report_serialize(GMimeMessage *msg, gsize *len);

/*
 * The helpers below each return a new string (g_free)
 * or NULL for NULL input.
 *
 * sink_report_text: header text: valid UTF-8 without control characters
 * (CR, LF, TAB become spaces, runs of spaces are kept single), trimmed.
 */
char *sink_report_text(const char *s);

/* sink_report_ascii: a report field value: printable US-ASCII only, trimmed. */
char *sink_report_ascii(const char *s);

/*
 * sink_report_addr: an address fit for the envelope and for From:/To:
 * local@domain, valid UTF-8, no controls, spaces, '<' or '>', a local
 * part that is a dot-atom or one quoted-string, the domain in A-labels
 * (an IDN domain converted); NULL when `s` is no such address.  The local
 * part may still be UTF-8 (RFC 6531).
 */
char *sink_report_addr(const char *s);

/*
 * sink_report_field_addr: an address for a report field, US-ASCII:
 * "rfc822; local@domain", or for a non-ASCII address the RFC 6533 form
 * "utf-8; " with each non-ASCII character written \x{HEX}.  The address
 * must come from sink_report_addr.
 */
char *sink_report_field_addr(const char *addr);

/* sink_report_addr_ascii: the address part of sink_report_field_addr. */
char *sink_report_addr_ascii(const char *addr);

/*
 * sink_mail_new: a message the sink sends: From: `from_name` <from>, To:
 * <to>, Subject, Date (ctx->now) and a fresh Message-ID on cfg->host_name,
 * with no body yet.  g_object_unref.
 */
GMimeMessage *sink_mail_new(SinkCtx *ctx, const char *from_name, const char *from, const char *to,
			    const char *subject);

/*
 * sink_mail_answers: mark `msg` as the sink's automatic answer to the
 * received message: In-Reply-To and References to the original's
 * Message-ID when it is a clean one (none otherwise), Auto-Submitted:
 * `auto_submitted` (RFC 3834), MIME-Version.
 */
void sink_mail_answers(SinkCtx *ctx, GMimeMessage *msg, const char *auto_submitted);

/*
 * sink_text_part: a text/plain part holding `text` (UTF-8), 7bit when it
 * can travel so, else quoted-printable.  g_object_unref.
 */
GMimeObject *sink_text_part(const char *text);

/*
 * sink_report_new: a report message (sink_mail_new's headers and
 * sink_mail_answers') and an empty multipart/report body with
 * `report_type`, returned in *report (owned by the message).  g_object_unref.
 */
GMimeMessage *sink_report_new(SinkCtx *ctx, const char *from_name, const char *from, const char *to,
			      const char *subject, const char *auto_submitted, const char *report_type,
			      GMimeMultipart **report);

/* sink_report_add_text: add a human-readable text/plain part (UTF-8). */
void sink_report_add_text(GMimeMultipart *report, const char *text);

/*
 * sink_report_add_fields: add a message/<subtype> part whose body is the
 * field blocks, each a GMimeHeaderList, separated by blank lines.
 */
void sink_report_add_fields(GMimeMultipart *report, const char *subtype, GMimeHeaderList **blocks,
			    int n);

/*
 * sink_report_add_original: add the received message as message/rfc822,
 * byte for byte; as text/rfc822-headers (its header block only) when it is
 * bigger than cfg->report_original_max or when `headers_only`.
 */
void sink_report_add_original(SinkCtx *ctx, GMimeMultipart *report, gboolean headers_only);

/*
 * sink_report_subject: the original's Subject as a report quotes it (its
 * Subject and human part): header text (sink_report_text), shortened past
 * SINK_REPORT_SUBJECT_MAX characters; a shortened Subject, and one whose
 * encoded words did not decode or whose bytes are not UTF-8, is noted in
 * ctx.  NULL when the original has none.  g_free.
 */
#define SINK_REPORT_SUBJECT_MAX 200
char *sink_report_subject(SinkCtx *ctx);

/* sink_report_date: an RFC 5322 date for `when`.  g_free. */
char *sink_report_date(GDateTime *when);

#endif
