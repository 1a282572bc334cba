/*
 * directive.h - what a sender may ask of one message (SPEC section 19):
 * the directives of the X-Bouncy-Sink header, and the keyword local parts
 * (bounce@, complaint+label@, ...).
 *
 * The header's fields are one comma-separated list (read by hdrlist.c),
 * in order.  The work is bounded: at most SINK_DIRECTIVE_BYTES_MAX bytes
 * of the fields and SINK_DIRECTIVE_ITEMS_MAX items are read; what is left
 * out is said in a note.  What the directives mean is read into a
 * SinkDirectives: a request, not yet a plan.  decide.c weighs it against
 * the subdomain, the local part and the mix.  Nothing here is fatal: a
 * directive that is unknown, malformed, out of range or in conflict with
 * an earlier one is a note, and the others stand.
 */
#ifndef SINK_DIRECTIVE_H
#define SINK_DIRECTIVE_H

#include "hdrlist.h"
#include "persona.h"
#include "plan.h"

#define SINK_DIRECTIVE_ITEMS_MAX 64	/* items read per message */
#define SINK_DIRECTIVE_BYTES_MAX 4096	/* bytes of X-Bouncy-Sink fields read per message */
#define SINK_DIRECTIVE_DELAY_MAX (7 * 24 * 3600)	/* the longest delay=, in seconds */

/* What the directives, or a keyword, ask for. */
typedef struct SinkDirectives {
	SinkClass klass;	/* named by a class token (open and click name openclick); NONE when none */
	const char *klass_token;	/* that token, for notes (static) */
	SinkClass implied;	/* the class the other directives need, when no token names one */
	gboolean open, click;	/* open, click or openclick asked for a reader who opens / clicks */
	int opens, clicks;	/* opens=N, clicks=N; -1 when not given */
	const char *feedback_type;	/* feedback-type=; static; NULL when not given */
	SinkUnsubscribeMethod unsubscribe;	/* unsubscribe=; NONE when not given */
	guint persona;		/* SinkPersona flags (persona.h): mpp and/or scanner; none for human */
	gboolean persona_given;	/* mpp, scanner or human */
	gint64 delay;		/* delay=, in seconds; -1 when not given */
	gboolean store_done;	/* store-done */
	guint items;		/* items read, well formed or not */
	guint others;		/* of them, those other than store-done */
	guint items_ignored;	/* items past SINK_DIRECTIVE_ITEMS_MAX */
	gsize bytes;		/* bytes of the fields read */
	gsize bytes_ignored;	/* bytes past SINK_DIRECTIVE_BYTES_MAX */
	GPtrArray *notes;	/* char*: what was refused or capped; NULL when nothing was */
} SinkDirectives;

/* sink_directives_init: an empty request (nothing asked). */
void sink_directives_init(SinkDirectives *d);

/* sink_directives_clear: free what a request holds.  NULL is ok. */
void sink_directives_clear(SinkDirectives *d);

/* sink_directives_free: clear and g_free a request.  NULL is ok. */
void sink_directives_free(SinkDirectives *d);

/*
 * sink_directives_add: read one X-Bouncy-Sink field's value (`text`, len
 * bytes, as written) into `d`, after the fields read before it.  Numbers
 * above max_repeats (Directive_Max_Repeats) are capped to it.
 */
void sink_directives_add(SinkDirectives *d, const char *text, gsize len, int max_repeats);

/*
 * sink_directives_finish: after the last field, note what the bounds
 * left unread.
 */
void sink_directives_finish(SinkDirectives *d);

/*
 * sink_directives_only_store_done: TRUE when `d` asks for nothing but a
 * done copy (or for nothing at all).
 */
gboolean sink_directives_only_store_done(const SinkDirectives *d);

/*
 * sink_keyword_read: when `local` (len bytes: a local part's text before
 * any '+') is a keyword of SPEC 19 (any case), fill `d` (initialised here)
 * with what it asks and return the keyword (a static lower-case string);
 * else NULL, with `d` empty.
 */
const char *sink_keyword_read(const char *local, gsize len, SinkDirectives *d);

#endif
