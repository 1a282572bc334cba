/*
 * report.c - what the reports (bounce.c, complaint.c) share: the
 * multipart/report container (RFC 6522) with its safe header and field
 * values, the original's attachment, and the CRLF serialisation that
 * smtp.c sends.  RFC 3464 is the format the ARF one is modelled on, so the
 * helpers follow it.
 */
#include <string.h>

#include "report-int.h"

/* ---- safe values ---------------------------------------------------------------------------------- */

static void
trim_space(GString *s)
{
	while (s->len && s->str[s->len - 1] == ' ')
		g_string_truncate(s, s->len - 1);
}

char *
sink_report_text(const char *s)
{
	g_autofree char *valid = NULL;
	GString *out;

	if (s == NULL)
		return NULL;
	valid = g_utf8_make_valid(s, -1);
	out = g_string_new(NULL);
	for (const char *p = valid; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			if (out->len && out->str[out->len - 1] != ' ')
				g_string_append_c(out, ' ');
		} else if (!g_unichar_iscntrl(c) && c != 0x2028 && c != 0x2029) {
			g_string_append_unichar(out, c);
		}
	}
	trim_space(out);
	return g_string_free(out, FALSE);
}

char *
sink_report_ascii(const char *s)
{
	GString *out;

	if (s == NULL)
		return NULL;
	out = g_string_new(NULL);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
			if (out->len && out->str[out->len - 1] != ' ')
				g_string_append_c(out, ' ');
		} else if (*p > 0x20 && *p < 0x7f) {
			g_string_append_c(out, (char)*p);
		}
	}
	trim_space(out);
	return g_string_free(out, FALSE);
}

/* An LDH host name: labels of 1..63 letters, digits and '-', not starting or ending with '-'. */
static gboolean
ldh_ok(const char *d)
{
	g_auto(GStrv) labels = g_strsplit(d, ".", -1);

	if (strlen(d) == 0 || strlen(d) > 253)
		return FALSE;
	for (char **l = labels; *l; l++) {
		size_t n = strlen(*l);
		if (n == 0 || n > 63 || (*l)[0] == '-' || (*l)[n - 1] == '-')
			return FALSE;
		for (const char *p = *l; *p; p++)
			if (!g_ascii_isalnum(*p) && *p != '-')
				return FALSE;
	}
	return TRUE;
}

/* A host name (IDN allowed: it must convert to an LDH name) or an address literal [...]. */
static gboolean
domain_ok(const char *d)
{
	size_t len = strlen(d);

	if (len == 0 || len > 255)
		return FALSE;
	if (d[0] == '[')
		return d[len - 1] == ']' && strspn(d + 1, "0123456789abcdefABCDEF.:IPv") == len - 2;
	if (g_str_is_ascii(d))
		return ldh_ok(d);
	g_autofree char *ascii = g_hostname_to_ascii(d);
	return ascii != NULL && ldh_ok(ascii);
}

/* Characters that have no place in an address: controls, separators, format and unassigned code points. */
static gboolean
addr_char_bad(gunichar c)
{
	switch (g_unichar_type(c)) {
	case G_UNICODE_CONTROL:
	case G_UNICODE_FORMAT:
	case G_UNICODE_UNASSIGNED:
	case G_UNICODE_PRIVATE_USE:
	case G_UNICODE_SURROGATE:
	case G_UNICODE_LINE_SEPARATOR:
	case G_UNICODE_PARAGRAPH_SEPARATOR:
	case G_UNICODE_SPACE_SEPARATOR:
		return TRUE;
	default:
		return FALSE;
	}
}

/*
 * A local part as RFC 5321 takes it: a dot-atom (atext, and UTF-8 beyond
 * ASCII, RFC 6531) or one whole quoted-string; a quote or a backslash
 * anywhere else would make the RCPT TO command and the To: field malformed.
 */
static gboolean
local_ok(const char *s, gsize len)
{
	if (len >= 2 && s[0] == '"') {
		for (gsize i = 1; i < len - 1; i++) {
			if (s[i] == '\\') {
				if (++i >= len - 1)
					return FALSE;	/* a quoted-pair needs its character before the closing quote */
			} else if (s[i] == '"') {
				return FALSE;
			}
		}
		return s[len - 1] == '"';
	}
	for (gsize i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x80 && !g_ascii_isalnum(c) && strchr("!#$%&'*+-/=?^_`{|}~.", c) == NULL)
			return FALSE;
	}
	return TRUE;
}

char *
sink_report_addr(const char *s)
{
	GString *out;
	const char *at;
	gsize len;

	if (s == NULL || !g_utf8_validate(s, -1, NULL))
		return NULL;
	/* white space around it (a trailing CRLF, say) is not part of it */
	g_autofree char *trimmed = g_strstrip(g_strdup(s));
	out = g_string_new(NULL);
	for (const char *p = trimmed; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		if (addr_char_bad(c)) {
			g_string_free(out, TRUE);
			return NULL;
		}
		g_string_append_unichar(out, c);
	}
	len = out->len;
	if (len >= 2 && out->str[0] == '<' && out->str[len - 1] == '>') {
		g_string_truncate(out, len - 1);
		g_string_erase(out, 0, 1);
	}
	at = strrchr(out->str, '@');
	if (out->len == 0 || out->len > 320 || at == NULL || at == out->str || !domain_ok(at + 1) ||
	    strpbrk(out->str, " <>") != NULL || out->str[0] == '.' || at[-1] == '.' ||
	    g_strstr_len(out->str, at - out->str, "..") != NULL || !local_ok(out->str, (gsize)(at - out->str))) {
		g_string_free(out, TRUE);
		return NULL;
	}
	/* an IDN domain goes out in A-labels: the envelope and the fields stay ASCII there (domain_ok made sure it converts) */
	if (!g_str_is_ascii(at + 1) && at[1] != '[') {
		g_autofree char *ascii = g_hostname_to_ascii(at + 1);
		g_string_truncate(out, (gsize)(at + 1 - out->str));
		g_string_append(out, ascii);
	}
	return g_string_free(out, FALSE);
}

/* RFC 6533 utf-8-addr-xtext: QCHAR as is, everything else \x{HEX}. */
char *
sink_report_addr_ascii(const char *addr)
{
	GString *out;
	gboolean ascii = TRUE;

	if (addr == NULL)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)addr; *p; p++)
		ascii = ascii && *p > 0x20 && *p < 0x7f;
	if (ascii)
		return g_strdup(addr);
	out = g_string_new(NULL);
	for (const char *p = addr; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		if (c > 0x20 && c < 0x7f && c != '+' && c != '=' && c != '\\')
			g_string_append_c(out, (char)c);
		else
			g_string_append_printf(out, "\\x{%X}", c);
	}
	return g_string_free(out, FALSE);
}

char *
sink_report_field_addr(const char *addr)
{
	g_autofree char *a = sink_report_addr_ascii(addr);

	if (a == NULL)
		return NULL;
	return g_strdup_printf("%s; %s", strcmp(a, addr) == 0 ? "rfc822" : "utf-8", a);
}

/* The payload of an encoded word, B or Q (RFC 2047 4.1, 4.2), as bytes; NULL when it is not one. */
static GBytes *
encoded_payload(char enc, const char *text, gsize len)
{
	GByteArray *out;

	if (enc == 'B' || enc == 'b') {
		gsize n;
		g_autofree char *copy = g_strndup(text, len);
		guchar *data;

		if (len % 4 != 0 || strspn(copy, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != len)
			return NULL;
		data = g_base64_decode(copy, &n);
		return g_bytes_new_take(data, n);
	}
	out = g_byte_array_new();
	for (gsize i = 0; i < len; i++) {
		guint8 c = (guint8)text[i];
		if (c == '_')
			c = ' ';
		else if (c == '=') {
			if (i + 2 >= len || !g_ascii_isxdigit(text[i + 1]) || !g_ascii_isxdigit(text[i + 2])) {
				g_byte_array_unref(out);
				return NULL;
			}
			c = (guint8)(g_ascii_xdigit_value(text[i + 1]) * 16 + g_ascii_xdigit_value(text[i + 2]));
			i += 2;
		}
		g_byte_array_append(out, &c, 1);
	}
	return g_byte_array_free_to_bytes(out);
}

/*
 * Whether every "=?" of a raw header value starts a whole encoded word
 * (=?charset?B|Q?text?=, no white space in it) whose charset is known and
 * whose bytes are good in it.  GMime decodes the others as best it can,
 * and quietly: this says when it had to.
 */
static gboolean
encoded_words_ok(const char *raw)
{
	for (const char *p = raw; (p = strstr(p, "=?")) != NULL;) {
		const char *charset = p + 2, *q = strchr(charset, '?'), *text, *end, *space;
		g_autofree char *cs = NULL, *utf8 = NULL;
		g_autoptr(GBytes) bytes = NULL;
		gsize len;

		if (q == NULL || q == charset || strchr("BbQq", q[1]) == NULL || q[1] == '\0' || q[2] != '?')
			return FALSE;
		text = q + 3;
		/* (an empty encoded-text is none: RFC 2047 2 asks for at least one character) */
		if ((end = strstr(text, "?=")) == NULL || end == text ||
		    ((space = strpbrk(charset, " \t\r\n")) != NULL && space < end) ||
		    (bytes = encoded_payload(q[1], text, (gsize)(end - text))) == NULL)
			return FALSE;
		cs = g_strndup(charset, (gsize)(q - charset));
		if (strchr(cs, '*'))	/* RFC 2231's language: not the charset's */
			*strchr(cs, '*') = '\0';
		utf8 = g_convert(g_bytes_get_data(bytes, &len), (gssize)g_bytes_get_size(bytes), "UTF-8", cs, NULL, NULL,
				 NULL);
		if (utf8 == NULL)
			return FALSE;
		p = end + 2;
	}
	return TRUE;
}

char *
sink_report_subject(SinkCtx *ctx)
{
	const char *s = ctx->subject;
	GMimeHeader *h = ctx->mime ? g_mime_header_list_get_header(g_mime_object_get_header_list(ctx->mime), "Subject")
				   : NULL;
	const char *raw = h ? g_mime_header_get_raw_value(h) : NULL;
	char *text = sink_report_text(s);
	glong chars;

	if (text == NULL)
		return NULL;
	if (!g_utf8_validate(s, -1, NULL) || (raw && !encoded_words_ok(raw)))
		sink_ctx_note(ctx, "the original's Subject has encoded words that do not decode, or bytes that are "
			      "not UTF-8: the report quotes it as GMime reads it, U+FFFD for the bad bytes");
	if ((chars = g_utf8_strlen(text, -1)) > SINK_REPORT_SUBJECT_MAX) {
		char *cut = g_utf8_offset_to_pointer(text, SINK_REPORT_SUBJECT_MAX);
		char *shorter = g_strdup_printf("%.*s...", (int)(cut - text), text);

		sink_ctx_note(ctx, "the original's Subject (%ld characters) is quoted in the report as its first %d",
			      chars, SINK_REPORT_SUBJECT_MAX);
		g_free(text);
		text = shorter;
	}
	return text;
}

char *
sink_report_date(GDateTime *when)
{
	return g_mime_utils_header_format_date(when);
}

/* The longest id that fits, as "<id>", on one In-Reply-To: line (998 octets, RFC 5322 2.1.1): it cannot be folded */
#define MESSAGE_ID_MAX (998 - (sizeof "In-Reply-To: <>" - 1))

/*
 * A message id, bare, when it is usable in a header; else NULL: printable
 * ASCII, left@right, the right a domain or a domain literal ("[192.0.2.1]",
 * RFC 5322 3.6.4), no specials elsewhere.
 */
static char *
clean_message_id(const char *id)
{
	char *s = sink_report_ascii(id);
	const char *brackets, *lit;
	size_t len;

	if (s == NULL || *s == '\0' || strlen(s) > MESSAGE_ID_MAX || strpbrk(s, " <>()\",;:\\") != NULL)
		goto bad;
	if ((brackets = strpbrk(s, "[]")) == NULL)
		return s;
	/* brackets only around the whole right side: a domain literal */
	lit = strrchr(s, '@');
	len = lit ? strlen(++lit) : 0;
	if (len > 2 && lit == brackets && lit[0] == '[' && strpbrk(lit + 1, "[]") == lit + len - 1)
		return s;
bad:
	g_free(s);
	return NULL;
}

/* How many of the original's References a reply carries at most, the nearest ones (as mail clients trim them). */
#define REFERENCES_MAX 20

/*
 * References for a reply to ctx's message (RFC 5322 3.6.4): its own
 * References (the last REFERENCES_MAX usable ones), then its Message-ID
 * `parent`; NULL without a parent.  g_free.
 */
static char *
references(SinkCtx *ctx, const char *parent)
{
	const char *text = ctx->mime ? g_mime_object_get_header(ctx->mime, "References") : NULL;
	GMimeReferences *refs = text ? g_mime_references_parse(NULL, text) : NULL;
	int n = refs ? g_mime_references_length(refs) : 0;
	GString *out = g_string_new(NULL);

	for (int i = MAX(0, n - REFERENCES_MAX); i < n; i++) {
		g_autofree char *id = clean_message_id(g_mime_references_get_message_id(refs, i));
		if (id && strcmp(id, parent) != 0)
			g_string_append_printf(out, "<%s> ", id);
	}
	g_string_append_printf(out, "<%s>", parent);
	if (refs)
		g_mime_references_free(refs);
	return g_string_free(out, FALSE);
}

/* ---- the multipart/report container ---------------------------------------------------------------- */

GMimeMessage *
sink_mail_new(SinkCtx *ctx, const char *from_name, const char *from, const char *to, const char *subject)
{
	GMimeMessage *msg = g_mime_message_new(TRUE);
	g_autofree char *host = sink_report_ascii(ctx->cfg->host_name);
	g_autofree char *id = NULL;

	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_FROM, from_name, from);
	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_TO, NULL, to);
	g_mime_message_set_subject(msg, subject, "utf-8");
	g_mime_message_set_date(msg, ctx->now);
	id = g_mime_utils_generate_message_id(host && *host ? host : "localhost");
	g_mime_message_set_message_id(msg, id);
	return msg;
}

void
sink_mail_answers(SinkCtx *ctx, GMimeMessage *msg, const char *auto_submitted)
{
	GMimeObject *obj = GMIME_OBJECT(msg);
	g_autofree char *orig_id = clean_message_id(ctx->message_id);

	if (orig_id) {
		g_autofree char *ref = g_strdup_printf("<%s>", orig_id);
		g_autofree char *refs = references(ctx, orig_id);
		g_mime_object_set_header(obj, "In-Reply-To", ref, NULL);
		g_mime_object_set_header(obj, "References", refs, NULL);
	}
	g_mime_object_set_header(obj, "Auto-Submitted", auto_submitted, NULL);
	g_mime_object_set_header(obj, "MIME-Version", "1.0", NULL);
}

GMimeMessage *
sink_report_new(SinkCtx *ctx, const char *from_name, const char *from, const char *to, const char *subject,
		const char *auto_submitted, const char *report_type, GMimeMultipart **report)
{
	GMimeMessage *msg = sink_mail_new(ctx, from_name, from, to, subject);
	GMimeMultipart *mp;

	sink_mail_answers(ctx, msg, auto_submitted);
	mp = g_mime_multipart_new_with_subtype("report");
	g_mime_object_set_content_type_parameter(GMIME_OBJECT(mp), "report-type", report_type);
	g_mime_message_set_mime_part(msg, GMIME_OBJECT(mp));
	g_object_unref(mp);
	*report = mp;
	return msg;
}

/* Whether data[0, len) has a byte past ASCII (g_mime_utils_text_is_8bit reads one byte past its end). */
static gboolean
has_8bit(const char *data, gsize len)
{
	for (gsize i = 0; i < len; i++)
		if ((unsigned char)data[i] >= 0x80)
			return TRUE;
	return FALSE;
}

/* A leaf part of type/subtype holding `len` bytes of `data` as they are. */
static GMimePart *
part_with_bytes(const char *type, const char *subtype, const void *data, gsize len)
{
	GMimePart *part = g_mime_part_new_with_type(type, subtype);
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(data, len);
	GMimeDataWrapper *content = g_mime_data_wrapper_new_with_stream(stream, GMIME_CONTENT_ENCODING_DEFAULT);
	gboolean eight_bit = has_8bit(data, len);

	g_mime_part_set_content(part, content);
	g_mime_part_set_content_encoding(part, eight_bit ? GMIME_CONTENT_ENCODING_8BIT : GMIME_CONTENT_ENCODING_7BIT);
	g_object_unref(content);
	g_object_unref(stream);
	return part;
}

/*
 * Whether `data` can travel as message/rfc822 (7bit or 8bit, RFC 2045 and
 * RFC 5321 2.3.8): no NUL, no CR outside a CRLF, no line over 998 octets.
 */
static gboolean
smtp_safe(const char *data, gsize len)
{
	gsize line = 0;

	for (gsize i = 0; i < len; i++) {
		char c = data[i];

		if (c == '\0')
			return FALSE;
		if (c == '\r' && (i + 1 >= len || data[i + 1] != '\n'))
			return FALSE;
		if (c == '\n' || c == '\r')
			line = 0;
		else if (++line > 998)
			return FALSE;
	}
	return TRUE;
}

GMimeObject *
sink_text_part(const char *text)
{
	gsize len = strlen(text);
	GMimeTextPart *part = g_mime_text_part_new_with_subtype("plain");
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(text, len);
	GMimeDataWrapper *content = g_mime_data_wrapper_new_with_stream(stream, GMIME_CONTENT_ENCODING_DEFAULT);
	gboolean eight_bit = g_mime_utils_text_is_8bit((const unsigned char *)text, len);
	/* a long Subject or Message-ID quoted can make a line over SMTP's 998 octets */
	gboolean as_is = !eight_bit && smtp_safe(text, len);

	g_mime_text_part_set_charset(part, eight_bit ? "utf-8" : "us-ascii");
	g_mime_part_set_content(GMIME_PART(part), content);
	g_mime_part_set_content_encoding(GMIME_PART(part), as_is ? GMIME_CONTENT_ENCODING_7BIT
							 : GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
	g_object_unref(content);
	g_object_unref(stream);
	return GMIME_OBJECT(part);
}

void
sink_report_add_text(GMimeMultipart *report, const char *text)
{
	GMimeObject *part = sink_text_part(text);

	g_mime_multipart_add(report, part);
	g_object_unref(part);
}

void
sink_report_add_fields(GMimeMultipart *report, const char *subtype, GMimeHeaderList **blocks, int n)
{
	GString *body = g_string_new(NULL);
	GMimePart *part;

	for (int i = 0; i < n; i++) {
		g_autofree char *block = g_mime_header_list_to_string(blocks[i], NULL);
		if (i > 0)
			g_string_append_c(body, '\n');
		g_string_append(body, block);
	}
	part = part_with_bytes("message", subtype, body->str, body->len);
	g_mime_multipart_add(report, GMIME_OBJECT(part));
	g_object_unref(part);
	g_string_free(body, TRUE);
}

/* Length of the header block of a raw message, through its last header line. */
static gsize
header_block_len(const char *data, gsize len)
{
	for (gsize i = 0; i < len; i++) {
		if (data[i] != '\n')
			continue;
		if (i + 1 < len && data[i + 1] == '\n')
			return i + 1;
		if (i + 2 < len && data[i + 1] == '\r' && data[i + 2] == '\n')
			return i + 1;
	}
	return len;
}

void
sink_report_add_original(SinkCtx *ctx, GMimeMultipart *report, gboolean headers_only)
{
	const char *data;
	gsize len;
	g_autofree char *copy = NULL;
	GMimePart *part;
	gboolean qp;

	if (ctx->raw == NULL)
		return;
	data = g_bytes_get_data(ctx->raw, &len);
	if (data == NULL || len == 0)
		return;
	if ((gint64)len > ctx->cfg->report_original_max || ctx->raw_headers_only)
		headers_only = TRUE;
	/* an original no MX would take as it is goes back as its headers,
	 * quoted-printable (message/rfc822 may not be re-encoded) */
	gboolean unsafe = !smtp_safe(data, len);
	if (unsafe) {
		headers_only = TRUE;
		sink_ctx_note(ctx, "original returned as headers only: NUL, bare CR or a line over 998 octets");
	} else if (!headers_only && has_8bit(data, len)) {
		/* 8-bit content travels only with BODY=8BITMIME (RFC 6152), which libcurl cannot add to MAIL FROM:
		 * the headers alone, as RFC 3461 6.2 has a relay do that cannot send it */
		headers_only = TRUE;
		sink_ctx_note(ctx, "original returned as headers only: it has 8-bit bytes, and the report cannot "
			      "declare BODY=8BITMIME");
	}
	if (headers_only)
		len = header_block_len(data, len);
	if (len == 0)
		return;
	/* what no MX takes as it is, or raw 8-bit header bytes (RFC 6532) in a part that must be 7-bit */
	qp = unsafe || has_8bit(data, len);
	if (data[len - 1] != '\n') {	/* the boundary line must start on a line of its own */
		copy = g_malloc(len + 1);
		memcpy(copy, data, len);
		copy[len++] = '\n';
		data = copy;
	}
	part = headers_only ? part_with_bytes("text", "rfc822-headers", data, len)
			    : part_with_bytes("message", "rfc822", data, len);
	if (qp)
		g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
	g_mime_multipart_add(report, GMIME_OBJECT(part));
	g_object_unref(part);
}

/* ---- serialisation ----------------------------------------------------------------------------------- */

char *
sink_report_serialize(GMimeMessage *msg, gsize *len)
{
	GMimeStream *mem = g_mime_stream_mem_new();
	GMimeStream *filtered = g_mime_stream_filter_new(mem);
	GMimeFilter *crlf = g_mime_filter_unix2dos_new(FALSE);
	GByteArray *bytes;
	char *out;

	g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), crlf);
	g_object_unref(crlf);
	g_mime_object_write_to_stream(GMIME_OBJECT(msg), NULL, filtered);
	g_mime_stream_flush(filtered);
	g_object_unref(filtered);
	bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	out = g_malloc(bytes->len + 1);
	memcpy(out, bytes->data, bytes->len);
	out[bytes->len] = '\0';
	if (len)
		*len = bytes->len;
	g_object_unref(mem);
	return out;
}
