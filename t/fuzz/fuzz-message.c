/*
 * fuzz-message - raw bytes as the message on stdin: GMime parsing and the
 * fields the sink pulls out (message.c).
 *
 * The input becomes ctx->raw as sink_message_read leaves it; then the
 * parse (on odd sizes with the recipient from the top Received:, as the
 * spool runs it), the first text/html part, the first address of To: and
 * the Received: client-IP and "for" scans over the whole input as one
 * string.  Checks:
 * what the parse claims to have found has the shape message.h promises.
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
