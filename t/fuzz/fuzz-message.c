/*
 * fuzz-message - raw bytes as the message on stdin: GMime parsing and the
 * fields the sink pulls out (message.c).
 *
 * The input becomes ctx->raw as sink_message_read leaves it; then the
 * parse (on odd sizes with the recipient from the top Received:, as the
 * spool runs it), the first text/html part, the first address of To: and
 * the Received: client-IP and "for" scans over the whole input as one
 * string.  Checks:
 * what the parse claims to have found has the shape message.h promises,
 * and the header block parsed alone (message.c) gives exactly the headers
 * a parse of the whole message does.
 */
#include <arpa/inet.h>
#include <string.h>

#include "fuzz-common.h"
#include "message.h"

static gboolean
is_ip(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* The top entity's headers, as a parse of all of data gives them, against ctx's. */
static void
same_headers_as_whole(SinkCtx *ctx, const uint8_t *data, size_t size)
{
	GByteArray *buf = g_byte_array_new();
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeObject *whole;
	GMimeHeaderList *a, *b;

	g_byte_array_append(buf, data, (guint)size);
	stream = g_mime_stream_mem_new_with_byte_array(buf);	/* owns buf */
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	whole = g_mime_parser_construct_part(parser, NULL);
	g_object_unref(parser);
	fuzz_assert((whole == NULL) == (ctx->mime == NULL), "the header block parsed alone and the whole differ");
	if (whole) {
		a = g_mime_object_get_header_list(ctx->mime);
		b = g_mime_object_get_header_list(whole);
		fuzz_assert(g_mime_header_list_get_count(a) == g_mime_header_list_get_count(b),
			    "the header block parsed alone has another number of headers");
		for (int i = 0; i < g_mime_header_list_get_count(a); i++) {
			GMimeHeader *x = g_mime_header_list_get_header_at(a, i), *y = g_mime_header_list_get_header_at(b, i);

			fuzz_assert(strcmp(g_mime_header_get_name(x), g_mime_header_get_name(y)) == 0 &&
				    g_strcmp0(g_mime_header_get_raw_value(x), g_mime_header_get_raw_value(y)) == 0,
				    "the header block parsed alone has another header");
		}
		g_object_unref(whole);
	}
	g_object_unref(stream);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init();
	fuzz_config();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(SinkCtx) ctx = fuzz_ctx_new(fuzz_config(), 1, data, size);
	g_autofree char *html = NULL, *to = NULL, *ip = NULL, *text = NULL, *rcpt = NULL;

	ctx->to_from_received = size % 2 == 1;
	sink_message_parse(ctx);
	same_headers_as_whole(ctx, data, size);
	if (ctx->client_ip)
		fuzz_assert(is_ip(ctx->client_ip), "client_ip from Received: is not an IP address");
	if (ctx->rcpt)
		fuzz_assert(strchr(ctx->rcpt, '@') != NULL, "rcpt from To: or Received: has no '@'");

	html = sink_message_html(ctx);
	to = sink_addr_first(ctx->hdr_to);
	if (to)
		fuzz_assert(*to && strchr(to, '@') != NULL, "sink_addr_first gave an address without '@'");

	text = g_strndup((const char *)data, size);
	ip = sink_received_ip(text);
	if (ip)
		fuzz_assert(is_ip(ip), "sink_received_ip gave something that is not an IP address");
	rcpt = sink_received_for(text);
	if (rcpt)
		fuzz_assert(*rcpt && strchr(rcpt, '@') != NULL, "sink_received_for gave an address without '@'");
	return 0;
}
