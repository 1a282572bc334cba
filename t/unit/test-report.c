/*
 * test-report.c - the RFC 3464 bounce and the RFC 5965 complaint are
 * well-formed MIME with the right fields and the original attached, go out
 * with CRLF line endings, and values from the received message cannot
 * inject headers or report fields.
 */
#include <string.h>

#include "message.h"
#include "report-int.h"
#include "sink-build.h"

typedef struct {
	SinkConfig *cfg;
	SinkCtx *ctx;
} Fixture;

static void
fixture_load(Fixture *f, const char *name, gint64 original_max)
{
	g_autofree char *path = g_build_filename(SRCDIR, "t", "fixtures", name, NULL);
	g_autoptr(GError) error = NULL;
	char *data;
	gsize len;

	f->cfg = sink_config_load(NULL, &error);
	g_assert_no_error(error);
	g_free(f->cfg->host_name);
	f->cfg->host_name = g_strdup("sink.test");
	f->cfg->report_original_max = original_max;
	f->ctx = sink_ctx_new(f->cfg, 1);
	g_assert_true(g_file_get_contents(path, &data, &len, &error));
	g_assert_no_error(error);
	f->ctx->raw = g_bytes_new_take(data, len);
	f->ctx->raw_total = len;
	sink_message_parse(f->ctx);
	g_assert_nonnull(f->ctx->mime);
	f->ctx->fbl_addr = g_strdup("fbl@sparkpostmail.com");
	f->ctx->mx_host = g_strdup("smtp.sparkpostmail.com");
	f->ctx->dkim = g_strdup("pass");
	f->ctx->dkim_domain = g_strdup("sender.test");
}

static void
fixture_free(Fixture *f)
{
	sink_ctx_free(f->ctx);
	sink_config_free(f->cfg);
}

/* Serialise (as sent: CRLF) and parse back, as a receiver would. */
static GMimeMessage *
round_trip(GMimeMessage *msg, char **wire)
{
	g_autofree char *text = NULL;
	GMimeFormatOptions *opts = g_mime_format_options_new();
	GMimeStream *mem = g_mime_stream_mem_new();
	GMimeStream *filtered = g_mime_stream_filter_new(mem);
	GMimeFilter *crlf = g_mime_filter_unix2dos_new(FALSE);
	GByteArray *bytes;
	GMimeParser *parser;
	GMimeMessage *back;

	g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), crlf);
	g_mime_object_write_to_stream(GMIME_OBJECT(msg), opts, filtered);
	g_mime_stream_flush(filtered);
	bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	text = g_strndup((const char *)bytes->data, bytes->len);
	g_object_unref(crlf);
	g_object_unref(filtered);
	g_object_unref(mem);
	g_mime_format_options_free(opts);

	/* CRLF everywhere */
	for (const char *p = strchr(text, '\n'); p; p = strchr(p + 1, '\n'))
		g_assert_true(p > text && p[-1] == '\r');

	mem = g_mime_stream_mem_new_with_buffer(text, strlen(text));
	parser = g_mime_parser_new_with_stream(mem);
	back = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	g_object_unref(mem);
	g_assert_nonnull(back);
	if (wire)
		*wire = g_steal_pointer(&text);
	return back;
}

/* The decoded content of a leaf part. */
static char *
part_text(GMimeObject *obj)
{
	GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(obj));
	GMimeStream *mem = g_mime_stream_mem_new();
	GByteArray *bytes;
	char *s;

	g_mime_data_wrapper_write_to_stream(w, mem);
	bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	s = g_strndup((const char *)bytes->data, bytes->len);
	g_object_unref(mem);
	return s;
}

/* The field blocks of a message/delivery-status or feedback-report part, parsed as header blocks. */
static GPtrArray *
field_blocks(GMimeObject *obj)
{
	g_autofree char *text = part_text(obj);
	g_autofree char *lf = NULL;
	g_auto(GStrv) blocks = NULL;
	GPtrArray *out = g_ptr_array_new_with_free_func(g_object_unref);
	GString *s = g_string_new(NULL);

	for (const char *p = text; *p; p++)
		if (*p != '\r')
			g_string_append_c(s, *p);
	lf = g_string_free(s, FALSE);
	for (const unsigned char *p = (const unsigned char *)lf; *p; p++)
		g_assert_cmpint(*p, <, 0x80);	/* report fields are US-ASCII */
	blocks = g_strsplit(lf, "\n\n", -1);
	for (char **b = blocks; *b; b++) {
		if (**b == '\0' || strcmp(*b, "\n") == 0)
			continue;
		g_autofree char *msgtext = g_strconcat(*b, "\n\nbody\n", NULL);
		GMimeStream *mem = g_mime_stream_mem_new_with_buffer(msgtext, strlen(msgtext));
		GMimeParser *parser = g_mime_parser_new_with_stream(mem);
		GMimeMessage *m = g_mime_parser_construct_message(parser, NULL);
		g_assert_nonnull(m);
		g_ptr_array_add(out, m);
		g_object_unref(parser);
		g_object_unref(mem);
	}
	return out;
}

static const char *
hdr(gpointer obj, const char *name)
{
	return g_mime_object_get_header(GMIME_OBJECT(obj), name);
}

static int
header_count(gpointer obj, const char *name)
{
	GMimeHeaderList *list = g_mime_object_get_header_list(GMIME_OBJECT(obj));
	int n = 0;

	for (int i = 0; i < g_mime_header_list_get_count(list); i++)
		n += g_ascii_strcasecmp(g_mime_header_get_name(g_mime_header_list_get_header_at(list, i)), name) == 0;
	return n;
}

static const char *
first_addr(InternetAddressList *list)
{
	g_assert_cmpint(internet_address_list_length(list), ==, 1);
	return internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(internet_address_list_get_address(list, 0)));
}

static GMimeMultipart *
report_of(GMimeMessage *m, const char *report_type, int parts)
{
	GMimeObject *body = g_mime_message_get_mime_part(m);
	GMimeContentType *ct = g_mime_object_get_content_type(body);

	g_assert_true(g_mime_content_type_is_type(ct, "multipart", "report"));
	g_assert_cmpstr(g_mime_content_type_get_parameter(ct, "report-type"), ==, report_type);
	g_assert_true(GMIME_IS_MULTIPART(body));
	g_assert_cmpint(g_mime_multipart_get_count(GMIME_MULTIPART(body)), ==, parts);
	return GMIME_MULTIPART(body);
}

static void
assert_type(GMimeObject *part, const char *type, const char *subtype)
{
	GMimeContentType *ct = g_mime_object_get_content_type(part);
	g_autofree char *t = g_mime_content_type_get_mime_type(ct);

	g_test_message("part type %s", t);
	g_assert_true(g_mime_content_type_is_type(ct, type, subtype));
}

/* The common headers of a report. */
static void
assert_report_headers(GMimeMessage *m, const char *from, const char *to, const char *auto_submitted)
{
	const char *id = g_mime_message_get_message_id(m);

	g_assert_cmpstr(first_addr(g_mime_message_get_from(m)), ==, from);
	g_assert_cmpstr(first_addr(g_mime_message_get_to(m)), ==, to);
	g_assert_nonnull(g_mime_message_get_subject(m));
	g_assert_nonnull(g_mime_message_get_date(m));
	g_assert_nonnull(id);
	g_assert_true(g_str_has_suffix(id, "@sink.test"));
	g_assert_cmpstr(hdr(m, "Auto-Submitted"), ==, auto_submitted);
	g_assert_cmpint(header_count(m, "MIME-Version"), ==, 1);
	g_assert_cmpstr(hdr(m, "MIME-Version"), ==, "1.0");
}

static void
test_bounce_fields(void)
{
	Fixture f;
	g_autoptr(GError) error = NULL;
	g_autofree char *wire = NULL, *orig_crlf = NULL;
	GMimeMessage *dsn, *back;
	GMimeMultipart *report;
	GPtrArray *blocks;
	GMimeObject *part;
	GMimeMessage *orig;
	g_autofree char *human = NULL;

	fixture_load(&f, "report-original.eml", 1048576);
	dsn = sink_bounce_build(f.ctx, &error);
	g_assert_no_error(error);
	back = round_trip(dsn, &wire);
	assert_report_headers(back, "x@oob.sink.test", "bounces@sender.test", "auto-replied");
	g_assert_cmpstr(hdr(back, "In-Reply-To"), ==, "<orig-1234@sender.test>");
	report = report_of(back, "delivery-status", 3);

	part = g_mime_multipart_get_part(report, 0);
	assert_type(part, "text", "plain");
	human = part_text(part);
	g_assert_nonnull(strstr(human, "User unknown"));

	part = g_mime_multipart_get_part(report, 1);
	assert_type(part, "message", "delivery-status");
	blocks = field_blocks(part);
	g_assert_cmpint(blocks->len, ==, 2);
	g_assert_cmpstr(hdr(blocks->pdata[0], "Reporting-MTA"), ==, "dns; sink.test");
	g_autoptr(GDateTime) date1 = g_mime_utils_header_decode_date(hdr(blocks->pdata[0], "Arrival-Date"));
	g_assert_nonnull(date1);
	g_assert_cmpstr(hdr(blocks->pdata[1], "Final-Recipient"), ==, "rfc822; x@oob.sink.test");
	g_assert_cmpstr(hdr(blocks->pdata[1], "Action"), ==, "failed");
	g_assert_cmpstr(hdr(blocks->pdata[1], "Status"), ==, "5.1.1");
	g_assert_cmpstr(hdr(blocks->pdata[1], "Remote-MTA"), ==, "dns; sink.test");
	g_assert_cmpstr(hdr(blocks->pdata[1], "Diagnostic-Code"), ==, "smtp; 550 5.1.1 <x@oob.sink.test>... User unknown");
	g_autoptr(GDateTime) date2 = g_mime_utils_header_decode_date(hdr(blocks->pdata[1], "Last-Attempt-Date"));
	g_assert_nonnull(date2);
	g_ptr_array_unref(blocks);

	part = g_mime_multipart_get_part(report, 2);
	assert_type(part, "message", "rfc822");
	g_assert_true(GMIME_IS_MESSAGE_PART(part));
	orig = g_mime_message_part_get_message(GMIME_MESSAGE_PART(part));
	g_assert_cmpstr(g_mime_message_get_message_id(orig), ==, "orig-1234@sender.test");
	g_assert_cmpstr(hdr(orig, "X-MSFBL"), ==,
			"eyJjdXN0b21lcl9pZCI6IjEiLCJtZXNzYWdlX2lkIjoiMDAwIn0=| c2lnbmF0dXJl");
	/* the original goes out byte for byte (in CRLF form) */
	{
		gsize len;
		const char *raw = g_bytes_get_data(f.ctx->raw, &len);
		g_auto(GStrv) lines = g_strsplit(raw, "\n", -1);
		orig_crlf = g_strjoinv("\r\n", lines);
	}
	g_assert_nonnull(strstr(wire, orig_crlf));

	g_object_unref(back);
	g_object_unref(dsn);
	fixture_free(&f);
}

static void
test_bounce_headers_only_when_big(void)
{
	Fixture f;
	g_autoptr(GError) error = NULL;
	g_autofree char *headers = NULL;
	GMimeMessage *dsn, *back;
	GMimeMultipart *report;
	GMimeObject *part;

	fixture_load(&f, "report-original.eml", 100);
	dsn = sink_bounce_build(f.ctx, &error);
	g_assert_no_error(error);
	back = round_trip(dsn, NULL);
	report = report_of(back, "delivery-status", 3);
	part = g_mime_multipart_get_part(report, 2);
	assert_type(part, "text", "rfc822-headers");
	headers = part_text(part);
	g_assert_nonnull(strstr(headers, "X-MSFBL: eyJjdXN0b21lcl9pZCI6"));
	g_assert_nonnull(strstr(headers, "Message-ID: <orig-1234@sender.test>"));
	g_assert_null(strstr(headers, "Hello from the test sender"));
	g_object_unref(back);
	g_object_unref(dsn);
	fixture_free(&f);
}

static void
test_complaint_fields(void)
{
	Fixture f;
	g_autoptr(GError) error = NULL;
	g_autofree char *human = NULL;
	GMimeMessage *arf, *back, *orig;
	GMimeMultipart *report;
	GPtrArray *blocks;
	GMimeObject *part;

	fixture_load(&f, "report-original.eml", 1048576);
	g_free(f.ctx->rcpt);
	f.ctx->rcpt = g_strdup("x@fbl.sink.test");
	arf = sink_complaint_build(f.ctx, &error);
	g_assert_no_error(error);
	back = round_trip(arf, NULL);
	assert_report_headers(back, "x@fbl.sink.test", "fbl@sparkpostmail.com", "auto-generated");
	g_assert_true(g_str_has_suffix(g_mime_message_get_subject(back), "Weekly news"));
	report = report_of(back, "feedback-report", 3);

	part = g_mime_multipart_get_part(report, 0);
	assert_type(part, "text", "plain");
	human = part_text(part);
	g_assert_nonnull(strstr(human, "192.0.2.10"));

	part = g_mime_multipart_get_part(report, 1);
	assert_type(part, "message", "feedback-report");
	blocks = field_blocks(part);
	g_assert_cmpint(blocks->len, ==, 1);
	g_assert_cmpstr(hdr(blocks->pdata[0], "Feedback-Type"), ==, "abuse");
	g_assert_cmpstr(hdr(blocks->pdata[0], "User-Agent"), ==, "bouncy-sink/" SINK_VERSION);
	g_assert_cmpstr(hdr(blocks->pdata[0], "Version"), ==, "1");
	g_assert_cmpstr(hdr(blocks->pdata[0], "Original-Mail-From"), ==, "<bounces@sender.test>");
	g_assert_cmpstr(hdr(blocks->pdata[0], "Original-Rcpt-To"), ==, "<x@fbl.sink.test>");
	g_autoptr(GDateTime) date3 = g_mime_utils_header_decode_date(hdr(blocks->pdata[0], "Arrival-Date"));
	g_assert_nonnull(date3);
	g_assert_cmpstr(hdr(blocks->pdata[0], "Source-IP"), ==, "192.0.2.10");
	g_assert_cmpstr(hdr(blocks->pdata[0], "Reported-Domain"), ==, "sender.test");
	g_assert_cmpstr(hdr(blocks->pdata[0], "Reported-URI"), ==, "mailto:x@fbl.sink.test");
	g_assert_cmpstr(hdr(blocks->pdata[0], "Removal-Recipient"), ==, "x@fbl.sink.test");
	g_ptr_array_unref(blocks);

	part = g_mime_multipart_get_part(report, 2);
	assert_type(part, "message", "rfc822");
	orig = g_mime_message_part_get_message(GMIME_MESSAGE_PART(part));
	g_assert_cmpstr(hdr(orig, "X-MSFBL"), ==,
			"eyJjdXN0b21lcl9pZCI6IjEiLCJtZXNzYWdlX2lkIjoiMDAwIn0=| c2lnbmF0dXJl");
	g_assert_nonnull(hdr(orig, "DKIM-Signature"));

	g_object_unref(back);
	g_object_unref(arf);
	fixture_free(&f);
}

/* Each feedback type a plan may hold: in Feedback-Type, the Subject and the human part. */
static void
test_complaint_feedback_types(void)
{
	static const struct { const char *type, *subject, *human; } cases[] = {
		{ NULL, "Abuse report: ", "The recipient marked it as spam." },
		{ "abuse", "Abuse report: ", "an email abuse report" },
		{ "fraud", "Fraud report: ", "The recipient reported it as fraud" },
		{ "virus", "Virus report: ", "an email virus report" },
		{ "other", "Feedback report: ", "for another reason" },
		{ "not-spam", "Not-spam report: ", "The recipient marked it as not spam." },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		Fixture f;
		g_autoptr(GError) error = NULL;
		g_autofree char *human = NULL;
		GMimeMessage *arf, *back;
		GMimeMultipart *report;
		GPtrArray *blocks;

		fixture_load(&f, "report-original.eml", 1048576);
		f.ctx->plan.feedback_type = cases[i].type;
		arf = sink_complaint_build(f.ctx, &error);
		g_assert_no_error(error);
		back = round_trip(arf, NULL);
		g_test_message("feedback type %s", cases[i].type ? cases[i].type : "(none)");
		g_assert_true(g_str_has_prefix(g_mime_message_get_subject(back), cases[i].subject));
		report = report_of(back, "feedback-report", 3);
		human = part_text(g_mime_multipart_get_part(report, 0));
		g_assert_nonnull(strstr(human, cases[i].human));
		blocks = field_blocks(g_mime_multipart_get_part(report, 1));
		g_assert_cmpstr(hdr(blocks->pdata[0], "Feedback-Type"), ==, cases[i].type ? cases[i].type : "abuse");
		g_ptr_array_unref(blocks);
		g_object_unref(back);
		g_object_unref(arf);
		fixture_free(&f);
	}
}

/* No header or field named like an injected one, at the top or in the field blocks. */
static void
assert_not_injected(GMimeMessage *m, const char *report_type, const char *wire)
{
	GMimeMultipart *report = report_of(m, report_type, 3);
	GPtrArray *blocks = field_blocks(g_mime_multipart_get_part(report, 1));
	static const char *const names[] = { "X-Injected", "Bcc" };

	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		g_assert_cmpint(header_count(m, names[i]), ==, 0);
		for (guint b = 0; b < blocks->len; b++)
			g_assert_cmpint(header_count(blocks->pdata[b], names[i]), ==, 0);
	}
	g_assert_null(strstr(wire, "\nX-Injected"));
	g_assert_null(strstr(wire, "\nBcc"));
	g_assert_cmpint(header_count(m, "From"), ==, 1);
	g_assert_cmpint(header_count(m, "To"), ==, 1);
	g_assert_cmpint(header_count(m, "Subject"), ==, 1);
	g_ptr_array_unref(blocks);
}

static void
test_injection(void)
{
	static const struct { const char *rcpt, *return_path, *message_id, *label; gboolean ok; } cases[] = {
		{ "x@oob.sink.test\r\n", "bounces@sender.test\r\n", "abc@x\r\nX-Injected: id", "trailing CRLF dropped", TRUE },
		{ "x@oob.sink.test", "bounces@sender.test\r\nX-Injected:rp", "abc@x", "CRLF inside Return-Path", FALSE },
		{ "x@oob.sink.test\r\nBcc: evil@attacker.test", "bounces@sender.test", "abc@x", "CRLF inside recipient", FALSE },
		{ "x@oob.sink.test\nX-Injected:1", "bounces@sender.test", "abc@x", "LF inside recipient", FALSE },
		{ "<x\x01@oob.sink.test>", "bounces@sender.test", "abc@x", "a control character makes the recipient unusable", FALSE },
		{ "<x@oob.sink.test>", "bounces@sender.test", "a\x01" "bc@x", "a control character in the Message-ID is dropped", TRUE },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		for (int kind = 0; kind < 2; kind++) {
			Fixture f;
			g_autoptr(GError) error = NULL;
			g_autofree char *wire = NULL;
			GMimeMessage *r, *back;

			g_test_message("case: %s (%s)", cases[i].label, kind ? "fbl" : "oob");
			fixture_load(&f, "report-inject.eml", 1048576);
			g_free(f.ctx->rcpt);
			g_free(f.ctx->return_path);
			g_free(f.ctx->message_id);
			f.ctx->rcpt = g_strdup(cases[i].rcpt);
			f.ctx->return_path = g_strdup(cases[i].return_path);
			f.ctx->message_id = g_strdup(cases[i].message_id);
			r = kind ? sink_complaint_build(f.ctx, &error) : sink_bounce_build(f.ctx, &error);
			if (!cases[i].ok) {
				g_assert_null(r);
				g_assert_nonnull(error);
				fixture_free(&f);
				continue;
			}
			g_assert_no_error(error);
			back = round_trip(r, &wire);
			assert_not_injected(back, kind ? "feedback-report" : "delivery-status", wire);
			g_assert_cmpstr(first_addr(g_mime_message_get_from(back)), ==, "x@oob.sink.test");
			g_assert_cmpstr(first_addr(g_mime_message_get_to(back)), ==,
					kind ? "fbl@sparkpostmail.com" : "bounces@sender.test");
			g_object_unref(back);
			g_object_unref(r);
			fixture_free(&f);
		}
	}
}

/* The subject and display names of the received message (RFC 2047 with CR/LF inside) stay in one header. */
static void
test_encoded_words_stay_put(void)
{
	Fixture f;
	g_autoptr(GError) error = NULL;
	g_autofree char *wire = NULL;
	GMimeMessage *arf, *back;
	const char *subject;

	fixture_load(&f, "report-inject.eml", 1048576);
	g_assert_cmpstr(f.ctx->rcpt, ==, "x@oob.sink.test");
	arf = sink_complaint_build(f.ctx, &error);
	g_assert_no_error(error);
	back = round_trip(arf, &wire);
	assert_not_injected(back, "feedback-report", wire);
	subject = g_mime_message_get_subject(back);
	g_test_message("subject: %s", subject);
	g_assert_nonnull(strstr(subject, "Grüße"));
	g_assert_null(strchr(subject, '\n'));
	g_assert_null(strchr(subject, '\r'));
	/* the report's own headers are 7-bit: the subject went through RFC 2047 */
	{
		g_autofree char *top = g_mime_object_get_headers(GMIME_OBJECT(arf), NULL);
		for (const unsigned char *p = (const unsigned char *)top; *p; p++)
			g_assert_cmpint(*p, <, 0x80);
	}
	g_object_unref(back);
	g_object_unref(arf);
	fixture_free(&f);
}

/* A non-ASCII recipient: RFC 6533 utf-8 address type in the DSN, fields stay ASCII. */
static void
test_non_ascii_recipient(void)
{
	Fixture f;
	g_autoptr(GError) error = NULL;
	GMimeMessage *dsn, *back;
	GPtrArray *blocks;

	fixture_load(&f, "report-original.eml", 1048576);
	g_free(f.ctx->rcpt);
	f.ctx->rcpt = g_strdup("j\xc3\xb6rg+x@oob.sink.test");
	dsn = sink_bounce_build(f.ctx, &error);
	g_assert_no_error(error);
	back = round_trip(dsn, NULL);
	blocks = field_blocks(g_mime_multipart_get_part(report_of(back, "delivery-status", 3), 1));
	g_assert_cmpstr(hdr(blocks->pdata[1], "Final-Recipient"), ==, "utf-8; j\\x{F6}rg\\x{2B}x@oob.sink.test");
	g_ptr_array_unref(blocks);
	g_object_unref(back);
	g_object_unref(dsn);

	/* the complaint names it in a mailto: URI, its UTF-8 percent-encoded, and no Removal-Recipient (an addr-spec) */
	g_free(f.ctx->fbl_addr);
	f.ctx->fbl_addr = g_strdup("fbl@sparkpostmail.com");
	dsn = sink_complaint_build(f.ctx, &error);
	g_assert_no_error(error);
	back = round_trip(dsn, NULL);
	blocks = field_blocks(g_mime_multipart_get_part(report_of(back, "feedback-report", 3), 1));
	g_assert_cmpstr(hdr(blocks->pdata[0], "Reported-URI"), ==, "mailto:j%C3%B6rg+x@oob.sink.test");
	g_assert_null(hdr(blocks->pdata[0], "Removal-Recipient"));
	g_ptr_array_unref(blocks);
	g_object_unref(back);
	g_object_unref(dsn);
	fixture_free(&f);
}

/* Addresses for the envelope and the From:/To: fields: well formed or refused, IDN domains in A-labels. */
static void
test_address_forms(void)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "bounces@sender.test", "bounces@sender.test" },
		{ "<bounces@sender.test>", "bounces@sender.test" },
		{ "bounces@b\xc3\xbc" "cher.test", "bounces@xn--bcher-kva.test" },
		{ "j\xc3\xb6rg@b\xc3\xbc" "cher.test", "j\xc3\xb6rg@xn--bcher-kva.test" },	/* UTF-8 local part kept */
		{ "\"bo\\\"unces\"@sender.test", "\"bo\\\"unces\"@sender.test" },	/* one quoted-string */
		{ "\"a\"b@sender.test", NULL },	/* a quote inside a dot-atom */
		{ "a\"b\"@sender.test", NULL },
		{ "\"ab\\\"@sender.test", NULL },	/* the closing quote escaped */
		{ "a\\b@sender.test", NULL },
		{ "a(b)@sender.test", NULL },
		{ "\"john doe\"@sender.test", NULL },	/* a space */
		{ "bounces@sender.test\r\nBcc: x@evil.test", NULL },
		{ "bounces@exa mple.test", NULL },
		{ "bounces@-bad.test", NULL },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *got = sink_report_addr(cases[i].in);
		g_test_message("case: %s", cases[i].in);
		g_assert_cmpstr(got, ==, cases[i].out);
	}
}

/* The original's Subject as quoted: shortened past the limit, and encoded words that did not decode noted. */
static void
test_subject_quoted(void)
{
	static const struct { const char *subject; gboolean noted; } cases[] = {
		{ "Plain words", FALSE },
		{ "=?utf-8?q?Gr=C3=BC=C3=9Fe?= und =?UTF-8?B?R3LDvMOfZQ==?=", FALSE },
		{ "=?iso-8859-1?q?Gr=FC=DFe?=", FALSE },
		{ "=?utf-8?q?broken", TRUE },				/* never closed */
		{ "=?utf-8?q?two words?=", TRUE },			/* white space inside */
		{ "=?x-no-such-charset?q?abc?=", TRUE },
		{ "=?utf-8?B?//79?=", TRUE },				/* bytes that are not UTF-8 */
		{ "=?utf-8?B?QUJ?=", TRUE },				/* not base64 */
		{ "=?utf-8?q?a=ZZ?=", TRUE },				/* not quoted-printable */
		{ "=?utf-8?x?abc?=", TRUE },				/* no such encoding */
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(SinkConfig) cfg = sink_config_load(NULL, NULL);
		g_autoptr(SinkCtx) ctx = sink_ctx_new(cfg, 1);
		g_autofree char *raw = g_strdup_printf("From: a@sender.test\nSubject: %s\n\nbody\n", cases[i].subject);
		g_autofree char *quoted = NULL;

		g_test_message("case: %s", cases[i].subject);
		ctx->raw = g_bytes_new(raw, strlen(raw));
		sink_message_parse(ctx);
		quoted = sink_report_subject(ctx);
		g_assert_nonnull(quoted);
		g_assert_cmpuint(ctx->notes->len, ==, cases[i].noted ? 1 : 0);
	}
	/* a long one: its first SINK_REPORT_SUBJECT_MAX characters and "...", noted */
	{
		g_autoptr(SinkConfig) cfg = sink_config_load(NULL, NULL);
		g_autoptr(SinkCtx) ctx = sink_ctx_new(cfg, 1);
		g_autofree char *quoted = NULL;

		ctx->subject = g_strnfill(5000, 'x');
		quoted = sink_report_subject(ctx);
		g_assert_cmpint(strlen(quoted), ==, SINK_REPORT_SUBJECT_MAX + 3);
		g_assert_true(g_str_has_suffix(quoted, "x..."));
		g_assert_cmpuint(ctx->notes->len, ==, 1);
		g_assert_nonnull(strstr(ctx->notes->pdata[0], "(5000 characters)"));
	}
}

static void
test_missing_addresses(void)
{
	Fixture f;
	g_autoptr(GError) error = NULL;

	fixture_load(&f, "report-original.eml", 1048576);
	g_clear_pointer(&f.ctx->rcpt, g_free);
	g_assert_null(sink_bounce_build(f.ctx, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	f.ctx->rcpt = g_strdup("x@fbl.sink.test");
	g_clear_pointer(&f.ctx->fbl_addr, g_free);
	g_assert_null(sink_complaint_build(f.ctx, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	fixture_free(&f);
}

/* The run flow without a sendable address counts <x>_missing_* and sends nothing. */
static void
test_run_missing(void)
{
	static const struct { gboolean oob, no_rcpt; const char *counter, *error; } cases[] = {
		{ TRUE, TRUE, "oob_missing_to", "OOB not sent: no To:" },
		{ TRUE, FALSE, "oob_missing_return_path", "OOB not sent: no Return-Path" },
		{ FALSE, TRUE, "fbl_missing_to", "FBL not sent: no To:" },
		{ FALSE, FALSE, "fbl_missing_return_path", "FBL not sent: no Return-Path" },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		Fixture f;

		fixture_load(&f, "report-original.eml", 1048576);
		if (cases[i].no_rcpt)
			g_clear_pointer(&f.ctx->rcpt, g_free);
		else
			g_clear_pointer(&f.ctx->return_path, g_free);
		if (cases[i].oob)
			sink_bounce_run(f.ctx);
		else
			sink_complaint_run(f.ctx);
		g_assert_cmpint(f.ctx->counters->len, ==, 1);
		g_assert_cmpstr(f.ctx->counters->pdata[0], ==, cases[i].counter);
		g_assert_cmpint(f.ctx->errors->len, ==, 1);
		g_assert_cmpstr(f.ctx->errors->pdata[0], ==, cases[i].error);
		g_assert_cmpint(f.ctx->actions->len, ==, 0);
		fixture_free(&f);
	}
}

/* With the message's time budget spent nothing is attempted: the action fails at once. */
static void
test_send_after_deadline(void)
{
	Fixture f;
	g_autoptr(GError) error = NULL;
	GMimeMessage *dsn;
	SinkAction *a;
	gint64 t0;

	fixture_load(&f, "report-original.eml", 1048576);
	dsn = sink_bounce_build(f.ctx, &error);
	g_assert_no_error(error);
	f.ctx->deadline = g_get_monotonic_time() - 1;
	a = sink_ctx_action(f.ctx, "oob", "smtp.sparkpostmail.com");
	t0 = g_get_monotonic_time();
	g_assert_false(sink_smtp_send(f.ctx, a, "smtp.sparkpostmail.com", "x@oob.sink.test", "bounces@sender.test", dsn,
				       FALSE));
	g_assert_cmpint(g_get_monotonic_time() - t0, <, G_USEC_PER_SEC / 10);
	g_assert_nonnull(a->error);
	g_assert_nonnull(strstr(a->error, "time budget"));
	g_assert_cmpint(a->status, ==, 0);
	g_object_unref(dsn);
	fixture_free(&f);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_mime_init();
	g_test_add_func("/report/bounce-has-rfc3464-fields-and-original", test_bounce_fields);
	g_test_add_func("/report/bounce-attaches-headers-only-above-max", test_bounce_headers_only_when_big);
	g_test_add_func("/report/complaint-has-rfc5965-fields-and-original", test_complaint_fields);
	g_test_add_func("/report/complaint-feedback-types", test_complaint_feedback_types);
	g_test_add_func("/report/crlf-in-addresses-and-ids-cannot-inject", test_injection);
	g_test_add_func("/report/encoded-words-stay-in-their-header", test_encoded_words_stay_put);
	g_test_add_func("/report/non-ascii-recipient-uses-rfc6533", test_non_ascii_recipient);
	g_test_add_func("/report/address-forms", test_address_forms);
	g_test_add_func("/report/subject-quoted", test_subject_quoted);
	g_test_add_func("/report/build-without-addresses-fails", test_missing_addresses);
	g_test_add_func("/report/run-without-addresses-counts-missing", test_run_missing);
	g_test_add_func("/report/send-after-deadline-fails-at-once", test_send_after_deadline);
	return g_test_run();
}
