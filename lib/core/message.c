/*
 * message.c - reading stdin and pulling the sink's fields out with GMime.
 *
 * Whatever arrives is a message: junk yields a context with few or no
 * fields, never a failure.  The message is read once into memory (bounded
 * by Max_Message_Size, the rest drained) and GMime parses that buffer
 * without copying it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "directive.h"
#include "message.h"

gboolean
sink_message_read(SinkCtx *ctx, int fd, GError **error)
{
	gsize max = (gsize)ctx->cfg->max_message_size;
	gsize cap = 0, len = 0, total = 0;
	guint8 *data = NULL;
	char drain[65536];

	for (;;) {
		guint8 *dst;
		gsize room;
		ssize_t n;

		if (len < max) {
			if (len == cap) {
				/* grow by doubling (large blocks are mremap()ed, not
				 * copied); no memory is a retry, not a crash */
				gsize want = MIN(MAX(cap * 2, (gsize)64 * 1024), max);
				guint8 *bigger = g_try_realloc(data, want);
				if (bigger == NULL) {
					g_free(data);
					g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOMEM,
						    "reading the message from standard input: out of memory after %"
						    G_GSIZE_FORMAT " bytes", len);
					return FALSE;
				}
				data = bigger;
				cap = want;
			}
			dst = data + len;
			room = cap - len;
		} else {
			dst = (guint8 *)drain;
			room = sizeof drain;
		}
		n = read(fd, dst, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* stdin left non-blocking by whoever started us: wait for more */
			struct pollfd p = { .fd = fd, .events = POLLIN };
			if (poll(&p, 1, -1) >= 0 || errno == EINTR)
				continue;
		}
		if (n < 0) {
			int e = errno;
			g_free(data);
			g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e),
				    "reading the message from standard input: %s", g_strerror(e));
			return FALSE;
		}
		if (n == 0)
			break;
		total += (gsize)n;
		if (dst != (guint8 *)drain)
			len += (gsize)n;
	}
	ctx->raw_buf = g_byte_array_new_take(data, len);
	ctx->raw = g_bytes_new_with_free_func(ctx->raw_buf->data, len, (GDestroyNotify)g_byte_array_unref,
					      g_byte_array_ref(ctx->raw_buf));
	ctx->raw_total = total;
	ctx->truncated = total > len;
	return TRUE;
}

void
sink_gmime_init(void)
{
	static gsize once;

	if (g_once_init_enter(&once)) {
		g_mime_init();
		g_once_init_leave(&once, 1);
	}
}

/*
 * `value` with a comment left open at its end closed, or NULL when none
 * is.  GMime before 3.2.15 leaks the addr-spec it has parsed when the
 * comment after it never closes (its issue #159).  Every '(' that GMime
 * might take as a comment's start is checked, the way its skip_comment
 * reads on from there (a backslash escapes the next character), and as
 * many ')' are appended as the deepest open one needs.  After any '(' the
 * scan is in step with one from the string's start, so one right-to-left
 * pass knows, for each '(', the depth left at the end (1 + total) and
 * whether it ever closes (lowest running sum).
 */
static char *
close_comments(const char *value)
{
	gsize n = strlen(value);
	g_autofree guint8 *escaped = NULL;
	g_autofree char *closes = NULL;
	long total = 0, lowest = 0, need = 0;

	if (strchr(value, '(') == NULL)
		return NULL;
	escaped = g_new0(guint8, n);
	for (gsize i = 0; i + 1 < n; i++)
		if (value[i] == '\\')
			escaped[++i] = TRUE;
	for (gsize i = n; i-- > 0;) {
		int step = escaped[i] ? 0 : value[i] == '(' ? 1 : value[i] == ')' ? -1 : 0;
		if (value[i] == '(' && lowest > -1)
			need = MAX(need, 1 + total);
		total += step;
		lowest = MIN(0, step + lowest);
	}
	if (need == 0)
		return NULL;
	/* a final backslash would escape the first ')': give it a space */
	closes = g_strnfill((gsize)need, ')');
	return g_strconcat(value, value[n - 1] == '\\' ? " " : "", closes, NULL);
}

/* Past the comment that starts at `p` (on its '('), nested ones and quoted pairs included. */
static const char *
past_comment(const char *p)
{
	int depth = 0;

	do {
		if (*p == '\\' && p[1])
			p++;
		else if (*p == '(')
			depth++;
		else if (*p == ')')
			depth--;
		p++;
	} while (*p && depth > 0);
	return p;
}

const char *
sink_skip_cfws(const char *p)
{
	for (;;) {
		while (g_ascii_isspace(*p))
			p++;
		if (*p != '(')
			return p;
		p = past_comment(p);
	}
}

char *
sink_addr_first(const char *value)
{
	InternetAddressList *list;
	g_autofree char *closed = NULL;
	char *found = NULL;

	if (value == NULL)
		return NULL;
	sink_gmime_init();
	closed = close_comments(value);
	list = internet_address_list_parse(NULL, closed ? closed : value);
	if (list == NULL)
		return NULL;
	for (int i = 0; i < internet_address_list_length(list) && !found; i++) {
		InternetAddress *ia = internet_address_list_get_address(list, i);
		if (INTERNET_ADDRESS_IS_GROUP(ia)) {
			InternetAddressList *members = internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia));
			if (internet_address_list_length(members) > 0)
				ia = internet_address_list_get_address(members, 0);
			else
				continue;
		}
		if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
			const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
			if (addr && *addr && strchr(addr, '@'))
				found = g_strdup(addr);
		}
	}
	g_object_unref(list);
	return found;
}

char *
sink_ip_normalize(const char *s)
{
	struct in6_addr a6;
	struct in_addr a4;
	char out[INET6_ADDRSTRLEN];

	if (s == NULL)
		return NULL;
	if (inet_pton(AF_INET, s, &a4) == 1)
		return g_strdup(inet_ntop(AF_INET, &a4, out, sizeof out));
	if (inet_pton(AF_INET6, s, &a6) != 1)
		return NULL;
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		memcpy(&a4, &a6.s6_addr[12], 4);
		return g_strdup(inet_ntop(AF_INET, &a4, out, sizeof out));
	}
	return g_strdup(inet_ntop(AF_INET6, &a6, out, sizeof out));
}

char *
sink_received_ip(const char *value)
{
	g_autofree char *from = NULL, *comment = NULL;
	const char *by, *open = NULL, *last = NULL, *last_end = NULL;
	g_auto(GStrv) tokens = NULL;
	int depth = 0;

	if (value == NULL)
		return NULL;
	/* Only the "from" clause names the client: stop at " by ". */
	by = strstr(value, " by ");
	from = by ? g_strndup(value, (gsize)(by - value)) : g_strdup(value);
	/*
	 * ... and only PMTA's comment in it, the last one: "from HELO (IP)" as
	 * PMTA writes it, or "from HELO (rDNS [IP])".  The HELO name before it
	 * is the client's own word: "EHLO 127.0.0.1" must not make the SPF
	 * check's client, nor brackets in it ("EHLO x(10.9.9.9)") a comment:
	 * the word after "from" is blanked up to a space, unless it is itself a
	 * comment (no HELO written), and of several comments the last is PMTA's.
	 */
	char *helo = from + strspn(from, " \t");
	if (g_ascii_strncasecmp(helo, "from", 4) == 0 && (helo[4] == ' ' || helo[4] == '\t') &&
	    *(helo += 4 + strspn(helo + 4, " \t")) != '(')
		for (; *helo && *helo != ' ' && *helo != '\t'; helo++)
			*helo = ' ';
	for (const char *c = from; *c; c++) {
		if (*c == '\\' && c[1] && depth > 0) {
			c++;
		} else if (*c == '(') {
			if (depth++ == 0)
				open = c + 1;
		} else if (*c == ')' && depth > 0 && --depth == 0) {
			last = open;
			last_end = c;
		}
	}
	if (last == NULL)
		return NULL;
	comment = g_strndup(last, (gsize)(last_end - last));
	for (char *c = comment; *c; c++)	/* a quoted pair is no part of an address */
		if (*c == '\\' && c[1]) {
			*c++ = ' ';
			*c = ' ';
		}
	tokens = g_strsplit_set(comment, "()[] \t\r\n;,=", -1);
	for (char **t = tokens; *t; t++) {
		const char *tok = *t;
		if (g_ascii_strncasecmp(tok, "IPv6:", 5) == 0)
			tok += 5;
		char *ip = *tok ? sink_ip_normalize(tok) : NULL;
		if (ip)
			return ip;
	}
	return NULL;
}

/* Past the quoted string (on its '"') or angle address (on its '<') that starts at `p`. */
static const char *
past_bracket(const char *p)
{
	char close = *p == '<' ? '>' : '"';

	for (p++; *p && *p != close; p++) {
		if (*p == '\\' && p[1])
			p++;
		else if (close == '>' && *p == '"')
			p = past_bracket(p) - 1;
	}
	return *p ? p + 1 : p;
}

char *
sink_received_for(const char *value)
{
	gboolean after_by = FALSE, want = FALSE;
	const char *p = value;

	if (value == NULL)
		return NULL;
	/* words outside comments, up to the ';' before the date: "from X by Y id Z for <rcpt>" */
	while (*p && *p != ';') {
		const char *start;
		gsize len;

		if (g_ascii_isspace(*p)) {
			p++;
			continue;
		}
		if (*p == '(') {
			p = past_comment(p);
			continue;
		}
		start = p;
		while (*p && !g_ascii_isspace(*p) && *p != '(' && *p != ';')
			p = *p == '<' || *p == '"' ? past_bracket(p) : p + 1;
		len = (gsize)(p - start);
		if (want) {
			g_autofree char *word = g_strndup(start, len);
			return sink_addr_first(word);
		}
		if (len == 2 && g_ascii_strncasecmp(start, "by", 2) == 0)
			after_by = TRUE;
		else if (after_by && len == 3 && g_ascii_strncasecmp(start, "for", 3) == 0)
			want = TRUE;
	}
	return NULL;
}

/*
 * The raw (undecoded) value of the first header `name`, or NULL.  Addresses
 * are parsed from it: decoding encoded words first would let a display
 * name such as =?utf-8?q?y=40oob.example?= pose as the address.
 */
static const char *
header_raw(GMimeObject *obj, const char *name)
{
	GMimeHeaderList *headers = g_mime_object_get_header_list(obj);
	GMimeHeader *h = g_mime_header_list_get_header(headers, name);

	return h ? g_mime_header_get_raw_value(h) : NULL;
}

char *
sink_header_unfolded(GMimeHeader *h)
{
	const char *raw = g_mime_header_get_raw_value(h);
	char *v = g_strdup(raw ? raw : "");

	for (char *c = v; *c; c++)
		if (*c == '\r' || *c == '\n' || *c == '\t')
			*c = ' ';
	return g_strstrip(v);
}

/* The decoded value of the first header `name`, or NULL. */
static char *
header_dup(GMimeObject *obj, const char *name)
{
	const char *v = g_mime_object_get_header(obj, name);

	return v ? g_strdup(v) : NULL;
}

gboolean
sink_header_has_control(const SinkCtx *ctx, const char *name)
{
	gsize len = 0, n = strlen(name);
	const char *data = ctx->raw ? g_bytes_get_data(ctx->raw, &len) : NULL;
	gboolean in_field = FALSE;

	for (gsize i = 0; data && i < len;) {
		const char *nl = memchr(data + i, '\n', len - i);
		gsize end = nl ? (gsize)(nl - data) : len, line = end - i;

		if (line > 0 && data[end - 1] == '\r')
			line--;	/* the CR of a CRLF */
		if (line == 0)
			break;	/* the end of the header block */
		if (data[i] != ' ' && data[i] != '\t')	/* a field's first line; else its continuation */
			in_field = line > n && data[i + n] == ':' && g_ascii_strncasecmp(data + i, name, n) == 0;
		for (gsize k = i; in_field && k < i + line; k++)
			if (((unsigned char)data[k] < 0x20 && data[k] != '\t') || data[k] == 0x7f)
				return TRUE;
		i = end + 1;
	}
	return FALSE;
}

/* Whether `s` holds a control character (a CR or LF smuggled into an envelope option). */
static gboolean
has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return TRUE;
	return FALSE;
}

/*
 * Every X-Bouncy-Sink field, in order, as one list of directives (raw
 * values: a structured field has no encoded-words).  They are read here
 * and obeyed only after DKIM passes (decide.c), except store-done, which
 * keeps its copy whatever DKIM says, as the original's Store-Done did.
 */
static void
read_directives(SinkCtx *ctx, GMimeHeaderList *headers)
{
	SinkDirectives *d = g_new(SinkDirectives, 1);

	sink_directives_init(d);
	for (int i = 0; i < g_mime_header_list_get_count(headers); i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
		const char *raw;
		if (g_ascii_strcasecmp(g_mime_header_get_name(h), "X-Bouncy-Sink") == 0 &&
		    (raw = g_mime_header_get_raw_value(h)) != NULL)
			sink_directives_add(d, raw, strlen(raw), ctx->cfg->directive_max_repeats);
	}
	sink_directives_finish(d);
	ctx->directives = d;
	ctx->store_done = d->store_done;
}

/*
 * The label of an address (SPEC 19: everything after the local part's
 * first '+', the sender's, as SES has it), for the log line and the
 * record: control characters left out, at most 64 bytes (cut at a
 * character's start); NULL when there is none.
 */
static char *
address_label(const char *rcpt)
{
	const char *at, *plus;
	GString *out;

	if (rcpt == NULL || (at = strrchr(rcpt, '@')) == NULL ||
	    (plus = memchr(rcpt, '+', (size_t)(at - rcpt))) == NULL || plus + 1 == at)
		return NULL;
	out = g_string_new(NULL);
	for (const char *p = plus + 1; p < at; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c == 0x7f)
			continue;
		if (out->len == 64)
			break;
		g_string_append_c(out, (char)c);
	}
	if (out->len == 64) {	/* a UTF-8 sequence the cut left unfinished goes */
		gsize lead = out->len, need;
		while (lead > out->len - 4 && ((unsigned char)out->str[lead - 1] & 0xc0) == 0x80)
			lead--;
		unsigned char c = (unsigned char)out->str[lead - 1];
		need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
		if (out->len - (lead - 1) < need)
			g_string_truncate(out, lead - 1);
	}
	if (out->len == 0) {
		g_string_free(out, TRUE);
		return NULL;
	}
	return g_string_free(out, FALSE);
}

/*
 * The length of the message's header block, its blank line included (the
 * first line, when it is blank: no headers); 0 when it has no blank line
 * (no body, or junk), and then the whole message is parsed at once.
 */
static gsize
header_block_len(const GByteArray *raw)
{
	const guint8 *lf = raw->len > 0 ? memchr(raw->data, '\n', raw->len) : NULL;

	if (lf != NULL && (lf == raw->data || (lf == raw->data + 1 && raw->data[0] == '\r')))
		return (gsize)(lf + 1 - raw->data);

	while (lf != NULL) {
		const guint8 *next = lf + 1, *end = raw->data + raw->len;

		if (next < end && *next == '\n')
			return (gsize)(next + 1 - raw->data);
		if (next + 1 < end && next[0] == '\r' && next[1] == '\n')
			return (gsize)(next + 2 - raw->data);
		lf = next < end ? memchr(next, '\n', (size_t)(end - next)) : NULL;
	}
	return 0;
}

/*
 * GMime's top entity of the first len bytes of ctx's message (all of it:
 * 0).  The parser reads our buffer in place: no copy of the message.  It
 * makes the top entity, not a GMimeMessage: a GMimeMessage parses every
 * address header (To, Cc, Bcc, Reply-To, ...) as it is built, work the
 * sink has no use for, and GMime before 3.2.15 leaks an address followed
 * by an unclosed comment there (its issue #159).  The entity keeps all
 * the headers and the same tree of parts.
 */
static GMimeObject *
parse_entity(SinkCtx *ctx, gsize len)
{
	GMimeStream *stream = g_mime_stream_mem_new_with_byte_array(ctx->raw_buf);
	GMimeParser *parser;
	GMimeObject *obj;

	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
	if (len > 0)
		g_mime_stream_set_bounds(stream, 0, (gint64)len);
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	obj = g_mime_parser_construct_part(parser, NULL);
	g_object_unref(parser);
	g_object_unref(stream);
	return obj;
}

void
sink_message_parse(SinkCtx *ctx)
{
	GMimeObject *obj;

	sink_gmime_init();
	if (ctx->raw_buf == NULL) {	/* raw set by a caller, not read: wrap it */
		gsize len;
		const guint8 *data = g_bytes_get_data(ctx->raw, &len);
		ctx->raw_buf = g_byte_array_sized_new((guint)len);
		g_byte_array_append(ctx->raw_buf, data, (guint)len);
	}
	/*
	 * The header block alone: every stage but the readers' (the HTML part,
	 * sink_message_html) reads headers only, and most messages are
	 * accepted.  Parsing the body's tree of parts was half of an accepted
	 * message's run through sink-filterd.
	 */
	ctx->header_len = header_block_len(ctx->raw_buf);
	ctx->mime = parse_entity(ctx, ctx->header_len);

	if (ctx->mime) {
		GMimeHeaderList *headers;
		const char *id;
		obj = ctx->mime;
		headers = g_mime_object_get_header_list(obj);
		ctx->hdr_to = header_dup(obj, "To");
		ctx->hdr_from = header_dup(obj, "From");
		ctx->hdr_date = header_dup(obj, "Date");
		ctx->subject = header_dup(obj, "Subject");
		ctx->msfbl = header_dup(obj, "X-MSFBL");
		if ((id = g_mime_object_get_header(obj, "Message-ID")))
			ctx->message_id = g_mime_utils_decode_message_id(id);
		if (g_mime_header_list_contains(headers, "X-Bouncy-Sink"))
			read_directives(ctx, headers);
		/* the topmost Received: is the one our MTA added */
		for (int i = 0; i < g_mime_header_list_get_count(headers); i++) {
			GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
			if (g_ascii_strcasecmp(g_mime_header_get_name(h), "Received") == 0) {
				/* as written: decoded, an encoded word in the client's HELO would read as
				 * PMTA's own "(IP)" or "for <...>" */
				g_autofree char *value = sink_header_unfolded(h);

				if (ctx->client_ip == NULL)
					ctx->client_ip = sink_received_ip(value);
				/* PMTA's file delivery: no --to, the recipient is in its line */
				if (ctx->to_from_received && ctx->env_to == NULL)
					ctx->rcpt = sink_received_for(value);
				break;
			}
		}
	}

	/*
	 * The envelope as PMTA passes it wins over the headers, read as an
	 * address: "<a@b>" or " a@b" is a@b.  One that holds no address (an
	 * unexpanded "$to" of a mistyped pipe rule) is said in the log and
	 * the header used instead.  --from "" or "<>" is the null sender.
	 */
	if (ctx->env_to && has_control(ctx->env_to))	/* hostile: kept as given, for the actions to refuse */
		ctx->rcpt = g_strdup(ctx->env_to);
	else if (ctx->env_to && (ctx->rcpt = sink_addr_first(ctx->env_to)) == NULL)
		sink_ctx_error(ctx, "--to \"%s\" holds no address; the To: header's is used", ctx->env_to);
	if (ctx->rcpt == NULL && ctx->mime)
		ctx->rcpt = sink_addr_first(header_raw(ctx->mime, "To"));
	ctx->label = address_label(ctx->rcpt);
	if (ctx->env_from && (*ctx->env_from == '\0' || strcmp(ctx->env_from, "<>") == 0))
		return;
	if (ctx->env_from && has_control(ctx->env_from)) {	/* hostile: no second guess from the headers */
		ctx->return_path = sink_addr_first(ctx->env_from);
		return;
	}
	if (ctx->env_from && (ctx->return_path = sink_addr_first(ctx->env_from)) == NULL)
		sink_ctx_error(ctx, "--from \"%s\" holds no address; the Return-Path: header's is used",
			       ctx->env_from);
	if (ctx->return_path == NULL && ctx->mime) {
		/* GMime's value ends at a NUL, and its address parser skips a bare CR: neither may pass unseen */
		if (sink_header_has_control(ctx, "Return-Path"))
			sink_ctx_error(ctx, "the Return-Path: header holds a control character (NUL, bare CR, ...); not used");
		else
			ctx->return_path = sink_addr_first(header_raw(ctx->mime, "Return-Path"));
	}
}

/* Depth-first search for the first inline text/html leaf. */
static GMimeTextPart *
find_html(GMimeObject *obj, int depth)
{
	if (obj == NULL || depth > 64)
		return NULL;
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		for (int i = 0; i < g_mime_multipart_get_count(mp); i++) {
			GMimeTextPart *found = find_html(g_mime_multipart_get_part(mp, i), depth + 1);
			if (found)
				return found;
		}
		return NULL;
	}
	if (GMIME_IS_TEXT_PART(obj)) {
		GMimeContentType *ct = g_mime_object_get_content_type(obj);
		if (ct && g_mime_content_type_is_type(ct, "text", "html") &&
		    !g_mime_part_is_attachment(GMIME_PART(obj)))
			return GMIME_TEXT_PART(obj);
	}
	return NULL;
}

/*
 * The decoded content of `part` in UTF-8, as g_mime_text_part_get_text
 * makes it (the transfer encoding undone, then the charset parameter's
 * converter), except that a NUL byte in it becomes a space: that function
 * hands back a C string, so a NUL (an =00 or a base64 zero) ended the page
 * there and hid every link after it.  HTML gives NUL no meaning; libxml2
 * reads it as a space too.
 */
static char *
part_text(GMimeTextPart *part)
{
	GMimeDataWrapper *content = g_mime_part_get_content(GMIME_PART(part));
	const char *charset;
	GMimeStream *mem, *out;
	GByteArray *buf;

	if (content == NULL)
		return NULL;
	mem = g_mime_stream_mem_new();
	out = g_object_ref(mem);
	charset = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
	if (charset) {
		GMimeFilter *convert = g_mime_filter_charset_new(charset, "utf-8");
		g_object_unref(out);
		out = g_mime_stream_filter_new(mem);
		if (convert) {	/* NULL: a charset iconv does not know; the bytes as they are */
			g_mime_stream_filter_add(GMIME_STREAM_FILTER(out), convert);
			g_object_unref(convert);
		}
	}
	g_mime_data_wrapper_write_to_stream(content, out);
	g_mime_stream_flush(out);
	g_object_unref(out);
	buf = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
	g_object_unref(mem);
	for (guint i = 0; i < buf->len; i++)
		if (buf->data[i] == '\0')
			buf->data[i] = ' ';
	g_byte_array_append(buf, (const guint8 *)"", 1);
	return (char *)g_byte_array_free(buf, FALSE);
}

char *
sink_message_html(SinkCtx *ctx)
{
	GMimeTextPart *part;

	if (ctx->mime == NULL)
		return NULL;
	if (ctx->header_len > 0 && ctx->mime_body == NULL)
		ctx->mime_body = parse_entity(ctx, 0);
	part = find_html(ctx->header_len > 0 ? ctx->mime_body : ctx->mime, 0);
	return part ? part_text(part) : NULL;
}
