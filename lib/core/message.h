/*
 * message.h - reading the message from stdin and pulling out what the sink
 * needs with GMime: envelope fallbacks, ids, X-MSFBL, X-Bouncy-Sink and the
 * client IP from the topmost Received: header.
 */
#ifndef SINK_MESSAGE_H
#define SINK_MESSAGE_H

#include "context.h"

/* sink_gmime_init: initialise GMime once per process (idempotent). */
void sink_gmime_init(void);

/*
 * sink_message_read: read fd to EOF into ctx->raw, keeping at most
 * cfg->max_message_size bytes (the rest is drained and counted).
 * FALSE with `error` set only when the read itself fails.
 */
gboolean sink_message_read(SinkCtx *ctx, int fd, GError **error);

/*
 * sink_message_parse: parse ctx->raw's header block with GMime and fill
 * the header fields of ctx.  Never fails: junk gives a message with few or
 * no fields, and ctx->mime (the top entity: every header; its tree of
 * parts only when the message has no blank line after its first, and is
 * parsed whole) is NULL only when GMime cannot make one at all.
 */
void sink_message_parse(SinkCtx *ctx);

/*
 * sink_header_has_control: whether a header field `name` (any case) of
 * ctx->raw holds a control character other than a tab and its folding
 * line ends: a NUL, a bare CR, a DEL.  Read from the bytes, since GMime's
 * values end at a NUL.
 */
gboolean sink_header_has_control(const SinkCtx *ctx, const char *name);

/*
 * sink_header_unfolded: h's value as it was written (no encoded word
 * decoded: text a sender put into a trace field, =?...?= and all, stays
 * text), each CR, LF and tab a space.  g_free.
 */
char *sink_header_unfolded(GMimeHeader *h);

/*
 * sink_addr_first: the first addr-spec (local@domain) in an address list
 * such as a To: or Return-Path: value; NULL when there is none.  A comment
 * left open at the end is closed first.  g_free.
 */
char *sink_addr_first(const char *value);

/*
 * sink_skip_cfws: past the CFWS at `p` (RFC 5322 3.2.2): white space and
 * comments, nested, a backslash quoting the next character; an unclosed
 * comment runs to the end.  Returns a pointer into the same string.
 */
const char *sink_skip_cfws(const char *p);

/*
 * sink_received_ip: the client IP (v4 or v6) in a Received: header value,
 * from the comment of its "from" clause, e.g. "from helo (192.0.2.1) by
 * ..." or "from helo (rdns [192.0.2.1])", never from the HELO name before
 * it; NULL when there is none.  g_free.
 */
char *sink_received_ip(const char *value);

/*
 * sink_received_for: the recipient a Received: header value names in its
 * "for" clause, as PMTA writes it for a file delivery ("from HELO (IP) by
 * HOST id ID for <rcpt@domain>; date"): the address after the first "for"
 * that follows "by", outside comments, before the ';' of the date; NULL
 * when there is none.  g_free.
 */
char *sink_received_for(const char *value);

/*
 * sink_ip_normalize: `s` as an IP address in its usual text form, an
 * IPv4-mapped IPv6 address as plain IPv4 (RFC 7208 compares it so); NULL
 * when `s` is not an IP address.  g_free.
 */
char *sink_ip_normalize(const char *s);

/*
 * sink_message_html: the decoded text of the first text/html part of
 * the message, in UTF-8 as far as its charset allows, a NUL in it read as
 * a space; NULL when there is none.  g_free.  ctx->mime holds the headers
 * only (sink_message_parse); the first call parses the whole message
 * (ctx->mime_body, kept with the context).
 */
char *sink_message_html(SinkCtx *ctx);

#endif
