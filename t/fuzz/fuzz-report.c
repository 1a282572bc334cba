/*
 * fuzz-report - a parsed message into the two reports the sink mails back:
 * the RFC 3464 bounce (bounce.c) and the RFC 5965 complaint (complaint.c),
 * each serialised as it would go on the wire (smtp.c).
 *
 * The context is filled as the trust stages would leave it for a message
 * that passed: DKIM pass for the From: domain, SPF pass, the FBL address
 * of the built-in allowlist.  Inputs of odd length are treated as larger
 * than Report_Original_Max (headers only attached).  Checks: a report is
 * built whenever its addresses are usable; on the wire it is what SMTP
 * carries (CRLF only, lines of at most 998 octets, no NUL); and read back
 * with GMime its top-level header block holds only the headers the sink
 * writes, each once, with exactly one From: and one To: mailbox: nothing
 * from the received message reaches the report's own headers.  The
 * message's CFBL-Address is judged too (cfbl.c), each DKIM-Signature it
 * carries taken as passing: one honoured is a plain ASCII address, and the
 * complaint goes to it.
 */
#include <stdio.h>
#include <string.h>

#include "cfbl.h"
#include "dkimsig.h"
#include "fuzz-common.h"
#include "message.h"
#include "report-int.h"

static SinkConfig *cfg_small;	/* the built-in config with Report_Original_Max = 0 */
static gboolean dump;		/* $FUZZ_DUMP set: print each report (to triage a reproducer) */

static const char *const report_headers[] = {
	"From", "To", "Subject", "Date", "Message-Id", "In-Reply-To", "References",
	"Auto-Submitted", "MIME-Version", "Content-Type",
};

static gboolean
allowed_header(const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(report_headers); i++)
		if (g_ascii_strcasecmp(name, report_headers[i]) == 0)
			return TRUE;
	return FALSE;
}

static int
count_mailboxes(GMimeMessage *msg, GMimeAddressType type)
{
	InternetAddressList *list = g_mime_message_get_addresses(msg, type);

	return list ? internet_address_list_length(list) : 0;
}

/* What SMTP carries (RFC 5321 2.3.8 and 4.5.3.1.6): CRLF line ends only, lines of at most 998 octets, no NUL. */
static void
check_lines(const char *wire, gsize len)
{
	gsize line = 0;

	for (gsize i = 0; i < len; i++) {
		if (wire[i] == '\r' && i + 1 < len && wire[i + 1] == '\n') {
			fuzz_assert(line <= 998, "a line longer than 998 octets on the wire");
			line = 0;
			i++;
			continue;
		}
		fuzz_assert(wire[i] != '\0', "a NUL byte on the wire");
		fuzz_assert(wire[i] != '\r', "a bare CR on the wire");
		fuzz_assert(wire[i] != '\n', "a bare LF on the wire");
		line++;
	}
	fuzz_assert(line <= 998, "a line longer than 998 octets on the wire");
}

static void
check_wire(const char *wire, gsize len)
{
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(wire, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *back = g_mime_parser_construct_message(parser, NULL);
	GMimeHeaderList *headers;
	GHashTable *seen;

	check_lines(wire, len);
	g_object_unref(parser);
	g_object_unref(stream);
	fuzz_assert(back != NULL, "serialised report does not parse as a message");
	headers = g_mime_object_get_header_list(GMIME_OBJECT(back));
	seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (int i = 0; i < g_mime_header_list_get_count(headers); i++) {
		const char *name = g_mime_header_get_name(g_mime_header_list_get_header_at(headers, i));
		char *lower = g_ascii_strdown(name, -1);
		fuzz_assert(allowed_header(name), "report has a header the sink does not write");
		fuzz_assert(!g_hash_table_contains(seen, lower), "report has a header twice");
		g_hash_table_add(seen, lower);
	}
	g_hash_table_unref(seen);
	fuzz_assert(count_mailboxes(back, GMIME_ADDRESS_TYPE_FROM) == 1, "report From: is not one mailbox");
	fuzz_assert(count_mailboxes(back, GMIME_ADDRESS_TYPE_TO) == 1, "report To: is not one mailbox");
	g_object_unref(back);
}

static void
build_and_check(SinkCtx *ctx, GMimeMessage *(*build)(SinkCtx *, GError **), gboolean usable)
{
	g_autoptr(GError) error = NULL;
	GMimeMessage *msg = build(ctx, &error);
	g_autofree char *wire = NULL;
	gsize len = 0;

	fuzz_assert((msg == NULL) == (error != NULL), "a report and an error, or neither");
	fuzz_assert(msg != NULL || !usable, "no report although its addresses are usable");
	if (msg == NULL)
		return;
	wire = sink_report_serialize(msg, &len);
	g_object_unref(msg);
	if (dump)
		fprintf(stderr, "---- report, %" G_GSIZE_FORMAT " bytes\n%s\n----\n", len, wire);
	check_wire(wire, len);
}

/* CFBL-Address judged with every DKIM-Signature of the message passing; an honoured one is where the complaint goes. */
static void
fuzz_cfbl(SinkCtx *ctx)
{
	GMimeHeaderList *headers = ctx->mime ? g_mime_object_get_header_list(ctx->mime) : NULL;
	const char *a;

	for (int i = 0; headers && i < g_mime_header_list_get_count(headers); i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
		SinkDkimSig *sig;

		if (g_ascii_strcasecmp(g_mime_header_get_name(h), "DKIM-Signature") == 0 &&
		    (sig = sink_dkim_sig_parse(g_mime_header_get_raw_value(h), "pass")) != NULL)
			g_ptr_array_add(ctx->dkim_sigs, sig);
	}
	sink_cfbl_check(ctx);
	if (!ctx->cfbl.honoured) {
		fuzz_assert(!ctx->cfbl.present || ctx->cfbl.reason != NULL, "a CFBL-Address not honoured without a reason");
		return;
	}
	a = ctx->cfbl.address;
	fuzz_assert(a != NULL && g_str_is_ascii(a), "an honoured CFBL-Address is not ASCII");
	fuzz_assert(strpbrk(a, " \t\r\n\"<>(),;") == NULL, "an honoured CFBL-Address holds a separator");
	fuzz_assert(strchr(a, '@') != NULL && strchr(a, '@') == strrchr(a, '@'), "an honoured CFBL-Address has not one @");
	for (const char *p = a; *p; p++)
		fuzz_assert((unsigned char)*p > 0x20 && *p != 0x7f, "an honoured CFBL-Address holds a control character");
	g_free(ctx->fbl_addr);
	ctx->fbl_addr = g_strdup(a);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init();
	fuzz_config();
	dump = g_getenv("FUZZ_DUMP") != NULL;
	cfg_small = sink_config_load(NULL, NULL);
	cfg_small->report_original_max = 0;
	g_free(cfg_small->host_name);
	cfg_small->host_name = g_strdup("sink.test");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const SinkConfig *cfg = size % 2 ? cfg_small : fuzz_config();
	g_autoptr(SinkCtx) ctx = fuzz_ctx_new(cfg, 1, data, size);
	g_autofree char *from = NULL, *rcpt = NULL, *rp = NULL;
	const char *at;

	sink_message_parse(ctx);
	from = sink_addr_first(ctx->hdr_from);
	ctx->dkim = g_strdup("pass");
	if (from && (at = strrchr(from, '@')))
		ctx->dkim_domain = g_strdup(at + 1);
	ctx->spf = g_strdup("pass");
	ctx->fbl_addr = g_strdup("fbl@sparkpostmail.com");
	fuzz_cfbl(ctx);

	rcpt = sink_report_addr(ctx->rcpt);
	rp = sink_report_addr(ctx->return_path);
	if (dump)
		fprintf(stderr, "---- rcpt \"%s\" -> \"%s\", return_path \"%s\" -> \"%s\"\n", ctx->rcpt ? ctx->rcpt : "(null)",
			rcpt ? rcpt : "(null)", ctx->return_path ? ctx->return_path : "(null)", rp ? rp : "(null)");
	build_and_check(ctx, sink_bounce_build, rcpt && rp);
	build_and_check(ctx, sink_complaint_build, rcpt && rp);
	return 0;
}
