/*
 * listunsub.h - the URIs of a List-Unsubscribe header field (RFC 2369), for
 * whatever reads them: the link scanner (persona.h) and the unsubscribe.
 */
#ifndef SINK_LISTUNSUB_H
#define SINK_LISTUNSUB_H

#include <glib.h>
#include <gmime/gmime.h>

/*
 * sink_list_unsubscribe_parse: the angle-bracketed URIs of a List-
 * Unsubscribe value, in order (the sender's preference), whitespace inside
 * the brackets removed (RFC 2369 lets a long URI be folded).  Comments and
 * whitespace around them are skipped; reading stops at anything else than
 * a comma after a URI, or a field that does not start with '<' (RFC 2369
 * section 2, rules 1 to 3).  Returns a new array of strings (empty when
 * there are none; g_ptr_array_unref frees all).  NULL value: empty.
 */
GPtrArray *sink_list_unsubscribe_parse(const char *value);

/*
 * sink_list_unsubscribe_uris: sink_list_unsubscribe_parse of the first
 * List-Unsubscribe field of `mime` (NULL: none).  Same ownership.
 */
GPtrArray *sink_list_unsubscribe_uris(GMimeObject *mime);

#endif
