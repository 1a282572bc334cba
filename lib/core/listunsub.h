/*
 * listunsub.h - the URIs of a List-Unsubscribe field (RFC 2369), read as a
 * mail client must: a comma-separated list of <URI>s, folded, with comments
 * and white space, the leftmost first.
 */
#ifndef SINK_LISTUNSUB_H
#define SINK_LISTUNSUB_H

#include <glib.h>

/* At most this many <URI>s of a field are read; the rest are ignored (and said to be). */
#define SINK_LIST_UNSUB_MAX_URIS 16

/* A longer field is ignored whole (no mailbox provider reads a field of 100 KB). */
#define SINK_LIST_UNSUB_MAX_FIELD 16384

typedef enum {
	SINK_URI_OTHER = 0,
	SINK_URI_HTTP,
	SINK_URI_HTTPS,
	SINK_URI_MAILTO,
} SinkUriScheme;

/*
 * sink_list_unsub_parse: the URIs of List-Unsubscribe's `value` (raw,
 * possibly folded) per RFC 2369 section 2: a field that does not start
 * with '<' (after CFWS) is ignored; white space inside the brackets is
 * removed; after a <URI>, a comma leads to the next one and anything else
 * ends the list.  Each usable URI (http, https or mailto, printable
 * US-ASCII) is appended to `uris` (new strings) in the field's order; each
 * problem (another scheme, a non-ASCII or empty URI, an unclosed bracket,
 * text after the list, too many URIs, a field over the size limit) as a
 * sentence to `problems` (new strings; may be NULL).  Returns the number of
 * URIs appended.
 */
guint sink_list_unsub_parse(const char *value, GPtrArray *uris, GPtrArray *problems);

/* sink_uri_scheme: the scheme of a URI that sink_list_unsub_parse kept. */
SinkUriScheme sink_uri_scheme(const char *uri);

#endif
