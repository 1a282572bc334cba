/*
 * hdrlist.h - reading a structured header field's comma-separated list of
 * "name" and "name=value" items, with RFC 5322's comments, quoted-strings
 * and folding (hdrlist.c has the grammar).  The X-Bouncy-Sink directives
 * are such a list (directive.c says what they mean).
 */
#ifndef SINK_HDRLIST_H
#define SINK_HDRLIST_H

#include <glib.h>

#define SINK_HDRLIST_TOKEN_MAX 64	/* longest name or value read */

/* One item of the list, as sink_hdrlist_next reads it. */
typedef struct {
	char name[SINK_HDRLIST_TOKEN_MAX + 1];	/* lower case */
	char value[SINK_HDRLIST_TOKEN_MAX + 1];	/* unquoted, as written; "" when none */
	gboolean has_value;	/* name=value */
	const char *error;	/* why the item is not well formed (static text); NULL when it is */
	gsize start, end;	/* the item's bytes in the text, without its comma */
	gboolean at_end;	/* ended by the end of the text, not by a comma */
} SinkHdrListItem;

/*
 * sink_hdrlist_next: read the next non-empty item of `text` (len bytes,
 * a header field's value as written: folded, perhaps ending in a line
 * break) from *pos into *item, and move *pos past it and its comma.
 * FALSE when only empty items, white space and comments are left.  An
 * item that is not well formed has item->error set and ends at the next
 * comma outside quotes and comments.
 */
gboolean sink_hdrlist_next(const char *text, gsize len, gsize *pos, SinkHdrListItem *item);

#endif
