/*
 * hdrlist.c - a structured header field's comma-separated list, read as
 * RFC 5322 reads such a field (the X-Bouncy-Sink directives are one):
 *
 *   list     = [ item ] *( "," [ item ] )
 *   item     = [CFWS] name [CFWS] [ "=" [CFWS] value [CFWS] ]
 *   name     = 1*( ALPHA / DIGIT / "-" / "_" / "." )           (any case)
 *   value    = 1*( VCHAR except DQUOTE ( ) , ; = \ ) / quoted-string
 *   CFWS     = white space, folds (a line break and then SP or HTAB) and
 *              comments: "(" ... ")", nested, "\" quoting the next byte
 *
 * Empty items are skipped, as RFC 9110's #list allows.  The text is the
 * field's value as written (GMime's raw value: folded, perhaps ending in
 * its line break): a structured field has no encoded-words, so
 * "=?utf-8?q?oob?=" is no item.  A control character anywhere in an item,
 * other than HTAB and a fold's line break, makes the item refused; so does
 * anything out of the grammar, and the item then ends at the next comma
 * outside quotes and comments.  Bytes of 8 bits may stand in comments and
 * quoted-strings (RFC 6532), not in names or tokens.  Nothing is
 * allocated; the text is (pointer, length) and never read past its end.
 */
#include <string.h>

#include "hdrlist.h"

static gboolean
is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static gboolean
is_name_char(unsigned char c)
{
	return g_ascii_isalnum(c) || c == '-' || c == '_' || c == '.';
}

static gboolean
is_value_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("\"(),;=\\", c) == NULL;
}

/*
 * Bytes of white space at t[p]: SP or HTAB; a line break (LF or CRLF)
 * followed by SP or HTAB, a fold, whose white space comes next; line
 * breaks up to the end, the field's own.  0 when t[p] is none of these.
 */
static gsize
fws(const char *t, gsize len, gsize p)
{
	gsize q = p, brk;

	if (p >= len)
		return 0;
	if (t[p] == ' ' || t[p] == '\t')
		return 1;
	while (q < len && (t[q] == '\r' || t[q] == '\n'))
		q++;
	if (q == p)
		return 0;
	if (q == len)
		return q - p;
	brk = t[p] == '\n' ? 1 : t[p] == '\r' && p + 1 < len && t[p + 1] == '\n' ? 2 : 0;
	return brk && (t[p + brk] == ' ' || t[p + brk] == '\t') ? brk : 0;
}

/* Why the byte `c` cannot stand where it was met (static text). */
static const char *
unexpected(const char *t, gsize len, gsize p)
{
	unsigned char c;

	if (p >= len)
		return "the item ends too soon";
	c = (unsigned char)t[p];
	if (is_ctl(c))
		return "a control character";
	if (c >= 0x80)
		return "a non-ASCII character outside quotes";
	if (c == ';')
		return "a ';' (items are separated by commas)";
	if (is_name_char(c) || is_value_char(c))
		return "a second word (items are separated by commas)";
	return "a character out of place";
}

/* Move *p past a comment (at its '('); an error (static text) when it is broken. */
static const char *
skip_comment(const char *t, gsize len, gsize *p)
{
	gsize depth = 0, w;

	while (*p < len) {
		unsigned char c = (unsigned char)t[*p];

		if (c == '(') {
			depth++;
			(*p)++;
		} else if (c == ')') {
			(*p)++;
			if (--depth == 0)
				return NULL;
		} else if (c == '\\') {
			if (*p + 1 >= len)
				break;
			if (is_ctl((unsigned char)t[*p + 1]) && t[*p + 1] != '\t')
				return "a control character";
			*p += 2;
		} else if ((w = fws(t, len, *p)) > 0) {
			*p += w;
		} else if (is_ctl(c)) {
			return "a control character";
		} else {
			(*p)++;
		}
	}
	return "an unclosed comment";
}

/* Move *p past white space and comments; an error (static text) when a comment is broken. */
static const char *
skip_cfws(const char *t, gsize len, gsize *p)
{
	for (;;) {
		gsize w = fws(t, len, *p);

		if (w > 0) {
			*p += w;
		} else if (*p < len && t[*p] == '(') {
			const char *error = skip_comment(t, len, p);
			if (error)
				return error;
		} else {
			return NULL;
		}
	}
}

/*
 * Read the quoted-string at t[*p] (its '"') into out (at most
 * SINK_HDRLIST_TOKEN_MAX bytes and a NUL), unquoted, a fold's line break
 * left out; an error (static text) when it is broken or too long.
 */
static const char *
quoted_string(const char *t, gsize len, gsize *p, char *out)
{
	gsize n = 0, w;

	(*p)++;
	while (*p < len) {
		unsigned char c = (unsigned char)t[*p];

		if (c == '"') {
			(*p)++;
			out[MIN(n, SINK_HDRLIST_TOKEN_MAX)] = '\0';
			return n > SINK_HDRLIST_TOKEN_MAX ? "a value longer than 64 characters" : NULL;
		}
		if (c == '\\') {
			if (*p + 1 >= len)
				break;
			c = (unsigned char)t[*p + 1];
			if (is_ctl(c) && c != '\t')
				return "a control character";
			*p += 2;
		} else if ((w = fws(t, len, *p)) > 0) {
			*p += w;
			if (c != ' ' && c != '\t')
				continue;	/* a fold's line break is not part of the value */
		} else if (is_ctl(c)) {
			return "a control character";
		} else {
			(*p)++;
		}
		if (n < SINK_HDRLIST_TOKEN_MAX)
			out[n] = (char)c;
		n++;
	}
	return "an unclosed quoted string";
}

/* Move *p to the next comma outside quotes and comments, or to the end. */
static void
skip_item(const char *t, gsize len, gsize *p)
{
	gsize depth = 0;
	gboolean quoted = FALSE;

	while (*p < len) {
		char c = t[*p];

		if ((quoted || depth > 0) && c == '\\') {
			*p = MIN(*p + 2, len);
			continue;
		}
		if (quoted) {
			if (c == '"')
				quoted = FALSE;
		} else if (depth == 0 && c == '"') {
			quoted = TRUE;
		} else if (c == '(') {
			depth++;
		} else if (c == ')' && depth > 0) {
			depth--;
		} else if (c == ',' && depth == 0) {
			return;
		}
		(*p)++;
	}
}

/* Read one item's name, "=" and value from t[p], for sink_hdrlist_next; an error or NULL. */
static const char *
read_item(const char *t, gsize len, gsize *p, SinkHdrListItem *item)
{
	const char *error;
	gsize n = 0;

	while (*p < len && is_name_char((unsigned char)t[*p])) {
		if (n < SINK_HDRLIST_TOKEN_MAX)
			item->name[n] = g_ascii_tolower(t[*p]);
		n++;
		(*p)++;
	}
	item->name[MIN(n, SINK_HDRLIST_TOKEN_MAX)] = '\0';
	if (n == 0)
		return *p < len && t[*p] == '=' ? "no name before '='" : unexpected(t, len, *p);
	if (n > SINK_HDRLIST_TOKEN_MAX)
		return "a name longer than 64 characters";
	if ((error = skip_cfws(t, len, p)) != NULL)
		return error;
	if (*p < len && t[*p] == '=') {
		(*p)++;
		item->has_value = TRUE;
		if ((error = skip_cfws(t, len, p)) != NULL)
			return error;
		if (*p < len && t[*p] == '"') {
			if ((error = quoted_string(t, len, p, item->value)) != NULL)
				return error;
		} else {
			n = 0;
			while (*p < len && is_value_char((unsigned char)t[*p])) {
				if (n < SINK_HDRLIST_TOKEN_MAX)
					item->value[n] = t[*p];
				n++;
				(*p)++;
			}
			item->value[MIN(n, SINK_HDRLIST_TOKEN_MAX)] = '\0';
			if (n == 0)
				return *p >= len || t[*p] == ',' ? "no value after '='" : unexpected(t, len, *p);
			if (n > SINK_HDRLIST_TOKEN_MAX)
				return "a value longer than 64 characters";
		}
		if ((error = skip_cfws(t, len, p)) != NULL)
			return error;
	}
	if (*p < len && t[*p] != ',')
		return unexpected(t, len, *p);
	return NULL;
}

gboolean
sink_hdrlist_next(const char *text, gsize len, gsize *pos, SinkHdrListItem *item)
{
	gsize p = *pos;

	memset(item, 0, sizeof *item);
	for (;;) {
		gsize w;

		while ((w = fws(text, len, p)) > 0)
			p += w;
		item->start = p;
		if ((item->error = skip_cfws(text, len, &p)) != NULL)
			break;
		if (p >= len) {
			*pos = p;
			return FALSE;
		}
		if (text[p] != ',')
			break;
		p++;	/* an empty item */
	}
	if (item->error == NULL)
		item->error = read_item(text, len, &p, item);
	if (item->error) {
		/* the rest of the item, read again from its start: an error met
		 * inside a quoted-string or a comment must not end it early */
		p = item->start;
		skip_item(text, len, &p);
	}
	item->end = p;
	item->at_end = p >= len;
	*pos = p < len ? p + 1 : p;	/* past the comma */
	return TRUE;
}
