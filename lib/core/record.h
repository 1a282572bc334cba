/*
 * record.h - the decision record (SPEC section 8) as one JSON object.
 */
#ifndef SINK_RECORD_H
#define SINK_RECORD_H

#include "context.h"

/* sink_record_json: ctx as a JSON object on one line.  g_free. */
char *sink_record_json(SinkCtx *ctx);

/* sink_json_string: append s as a JSON string literal (NULL: null). */
void sink_json_string(GString *out, const char *s);

#endif
