/*
 * directive.c - what the X-Bouncy-Sink directives and the keyword local
 * parts ask for (SPEC section 19).  The list is read by hdrlist.c.
 *
 * A class token (accept, oob, fbl, openclick, unsubscribe, autoreply;
 * open and click name openclick) chooses the class, the first one
 * winning; the other directives add to it, and those that need a class
 * (opens=, clicks=, feedback-type=, unsubscribe=) imply it when no token
 * names one.  A directive given twice with another value keeps the first.
 * Out-of-range numbers are brought into range.  Each refused, conflicting
 * or corrected item is one note, never more.
 */
#include <string.h>

#include "directive.h"
#include "feedback.h"

void
sink_directives_init(SinkDirectives *d)
{
	*d = (SinkDirectives){ .opens = -1, .clicks = -1, .delay = -1 };
}

void
sink_directives_clear(SinkDirectives *d)
{
	if (d == NULL)
		return;
	if (d->notes)
		g_ptr_array_unref(d->notes);
	sink_directives_init(d);
}

void
sink_directives_free(SinkDirectives *d)
{
	sink_directives_clear(d);
	g_free(d);
}

/* A note (printf-style), prefixed with the item as written (shortened, control characters as '?'). */
static void G_GNUC_PRINTF(4, 5)
note_item(SinkDirectives *d, const char *text, const SinkHdrListItem *item, const char *fmt, ...)
{
	GString *s = g_string_new("X-Bouncy-Sink \"");
	gsize end = item->end;
	va_list ap;

	while (end > item->start && (text[end - 1] == ' ' || text[end - 1] == '\t' ||
				     text[end - 1] == '\r' || text[end - 1] == '\n'))
		end--;
	for (gsize i = item->start; i < end && i < item->start + 40; i++) {
		char c = text[i];
		g_string_append_c(s, c == '\r' || c == '\n' || c == '\t' ? ' ' : g_ascii_iscntrl(c) ? '?' : c);
	}
	if (end > item->start + 40)
		g_string_append(s, "...");
	g_string_append(s, "\": ");
	va_start(ap, fmt);
	g_string_append_vprintf(s, fmt, ap);
	va_end(ap);
	if (d->notes == NULL)
		d->notes = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(d->notes, g_string_free(s, FALSE));
}

/* A whole number of digits, saturating at G_MAXINT; -1 when it is not one. */
static gint64
parse_count(const char *s)
{
	gint64 n = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (!g_ascii_isdigit(*s))
			return -1;
		n = MIN(n * 10 + (*s - '0'), (gint64)G_MAXINT);
	}
	return n;
}

/*
 * A duration in seconds: a number alone (seconds), or numbers each with a
 * unit s, m, h or d, as "90s", "10m", "1h30m" (any case); saturating far
 * above SINK_DIRECTIVE_DELAY_MAX; -1 when it is none.
 */
static gint64
parse_duration(const char *s)
{
	const gint64 big = (gint64)SINK_DIRECTIVE_DELAY_MAX * 1000;
	gint64 total = 0;

	if (*s == '\0')
		return -1;
	if (parse_count(s) >= 0)
		return parse_count(s);
	while (*s) {
		gint64 n = 0, unit;

		if (!g_ascii_isdigit(*s))
			return -1;
		for (; g_ascii_isdigit(*s); s++)
			n = MIN(n * 10 + (*s - '0'), big);
		switch (g_ascii_tolower(*s)) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		default: return -1;
		}
		s++;
		total = MIN(total + n * unit, big);
	}
	return total;
}

/* The class tokens; open and click also say what the reader does (openclick, as its subdomain: the model's steps). */
static const struct {
	const char *name;
	SinkClass klass;
	gboolean open, click;
} class_tokens[] = {
	{ "accept", SINK_CLASS_ACCEPT, FALSE, FALSE },
	{ "oob", SINK_CLASS_OOB, FALSE, FALSE },
	{ "fbl", SINK_CLASS_FBL, FALSE, FALSE },
	{ "openclick", SINK_CLASS_OPENCLICK, FALSE, FALSE },
	{ "open", SINK_CLASS_OPENCLICK, TRUE, FALSE },
	{ "click", SINK_CLASS_OPENCLICK, TRUE, TRUE },
	{ "unsubscribe", SINK_CLASS_UNSUBSCRIBE, FALSE, FALSE },
	{ "autoreply", SINK_CLASS_AUTOREPLY, FALSE, FALSE },
};

static const struct {
	const char *name;
	guint persona;
} persona_tokens[] = {
	{ "mpp", SINK_PERSONA_MPP },
	{ "scanner", SINK_PERSONA_SCANNER },
	{ "human", SINK_PERSONA_NONE },
};

static const struct {
	const char *name;
	SinkUnsubscribeMethod method;
} unsubscribe_methods[] = {
	{ "one-click", SINK_UNSUBSCRIBE_ONE_CLICK },
	{ "mailto", SINK_UNSUBSCRIBE_MAILTO },
	{ "link", SINK_UNSUBSCRIBE_LINK },
};

/*
 * The keyword local parts, and how the header says the same (an unknown
 * directive that is a keyword gets that hint).
 */
static const struct {
	const char *word;
	const char *directive;
	SinkClass klass;
	const char *feedback_type;
	gboolean open, click;
	guint persona;
} keywords[] = {
	{ "success", "accept", SINK_CLASS_ACCEPT, NULL, FALSE, FALSE, SINK_PERSONA_NONE },
	{ "accept", "accept", SINK_CLASS_ACCEPT, NULL, FALSE, FALSE, SINK_PERSONA_NONE },
	{ "bounce", "oob", SINK_CLASS_OOB, NULL, FALSE, FALSE, SINK_PERSONA_NONE },
	{ "oob", "oob", SINK_CLASS_OOB, NULL, FALSE, FALSE, SINK_PERSONA_NONE },
	{ "complaint", "fbl", SINK_CLASS_FBL, NULL, FALSE, FALSE, SINK_PERSONA_NONE },
	{ "spam", "fbl", SINK_CLASS_FBL, NULL, FALSE, FALSE, SINK_PERSONA_NONE },
	{ "fbl", "fbl", SINK_CLASS_FBL, NULL, FALSE, FALSE, SINK_PERSONA_NONE },
	{ "fraud", "feedback-type=fraud", SINK_CLASS_FBL, "fraud", FALSE, FALSE, SINK_PERSONA_NONE },
	{ "virus", "feedback-type=virus", SINK_CLASS_FBL, "virus", FALSE, FALSE, SINK_PERSONA_NONE },
	{ "not-spam", "feedback-type=not-spam", SINK_CLASS_FBL, "not-spam", FALSE, FALSE, SINK_PERSONA_NONE },
	{ "open", "open", SINK_CLASS_OPENCLICK, NULL, TRUE, FALSE, SINK_PERSONA_NONE },
	{ "click", "click", SINK_CLASS_OPENCLICK, NULL, TRUE, TRUE, SINK_PERSONA_NONE },
	{ "unsubscribe", "unsubscribe", SINK_CLASS_UNSUBSCRIBE, NULL, FALSE, FALSE, SINK_PERSONA_NONE },
	{ "ooto", "autoreply", SINK_CLASS_AUTOREPLY, NULL, FALSE, FALSE, SINK_PERSONA_NONE },
	{ "autoreply", "autoreply", SINK_CLASS_AUTOREPLY, NULL, FALSE, FALSE, SINK_PERSONA_NONE },
	{ "mpp", "mpp", SINK_CLASS_NONE, NULL, FALSE, FALSE, SINK_PERSONA_MPP },
	{ "scanner", "scanner", SINK_CLASS_NONE, NULL, FALSE, FALSE, SINK_PERSONA_SCANNER },
};

/* The class a modifier needs, when no class token names one (the first such wins). */
static void
imply(SinkDirectives *d, SinkClass k)
{
	if (d->implied == SINK_CLASS_NONE)
		d->implied = k;
}

/*
 * opens= or clicks= (the slot), at least `least`, capped at max_repeats.
 * One note at most per item: a refusal, a conflict with an earlier value
 * (the first stands), or the value brought into range.
 */
static void
set_count(SinkDirectives *d, const char *text, const SinkHdrListItem *it, int *slot, int least,
	  int max_repeats)
{
	gint64 n = parse_count(it->value);
	int used = (int)CLAMP(n, least, max_repeats);

	if (n < 0) {
		note_item(d, text, it, "not a whole number; ignored");
		return;
	}
	if (*slot >= 0 && *slot != used) {
		note_item(d, text, it, "%s is already %d (the first wins); ignored", it->name, *slot);
		return;
	}
	if (n > max_repeats)
		note_item(d, text, it, "more than Directive_Max_Repeats (%d); %d used", max_repeats, used);
	else if (n < least)
		note_item(d, text, it, "a reader who opens opens at least once; %d used", used);
	*slot = used;
	imply(d, SINK_CLASS_OPENCLICK);
}

static void
apply_class(SinkDirectives *d, const char *text, const SinkHdrListItem *it, guint i)
{
	if (d->klass != SINK_CLASS_NONE && d->klass != class_tokens[i].klass) {
		note_item(d, text, it, "the class is already %s (\"%s\", the first wins); ignored",
			  sink_class_name(d->klass), d->klass_token);
		return;
	}
	if (d->klass == SINK_CLASS_NONE) {
		d->klass = class_tokens[i].klass;
		d->klass_token = class_tokens[i].name;
	}
	d->open |= class_tokens[i].open;
	d->click |= class_tokens[i].click;
}

/* mpp and scanner combine (a mailbox may have both); human, no persona, and either conflict: the first wins */
static void
apply_persona(SinkDirectives *d, const char *text, const SinkHdrListItem *it, guint p)
{
	if (d->persona_given && (d->persona == SINK_PERSONA_NONE) != (p == SINK_PERSONA_NONE)) {
		note_item(d, text, it, "the persona is already %s (the first wins); ignored",
			  d->persona == SINK_PERSONA_NONE ? "human" : sink_persona_name(d->persona));
		return;
	}
	d->persona |= p;
	d->persona_given = TRUE;
}

static void
apply_feedback_type(SinkDirectives *d, const char *text, const SinkHdrListItem *it)
{
	const char *type = sink_feedback_type_named(it->value);

	if (type == NULL && g_ascii_strcasecmp(it->value, "auth-failure") == 0) {
		note_item(d, text, it, "authentication failure reports (RFC 6591) are not made; ignored");
		return;
	}
	if (type == NULL) {
		note_item(d, text, it, "unknown feedback type (abuse, fraud, virus, other or not-spam); ignored");
		return;
	}
	if (d->feedback_type && d->feedback_type != type) {
		note_item(d, text, it, "the feedback type is already %s (the first wins); ignored", d->feedback_type);
		return;
	}
	d->feedback_type = type;
	imply(d, SINK_CLASS_FBL);
}

static void
apply_unsubscribe_method(SinkDirectives *d, const char *text, const SinkHdrListItem *it)
{
	SinkUnsubscribeMethod m = SINK_UNSUBSCRIBE_NONE;

	for (guint i = 0; i < G_N_ELEMENTS(unsubscribe_methods); i++)
		if (g_ascii_strcasecmp(it->value, unsubscribe_methods[i].name) == 0)
			m = unsubscribe_methods[i].method;
	if (m == SINK_UNSUBSCRIBE_NONE) {
		note_item(d, text, it, "unknown unsubscribe method (one-click, mailto or link); ignored");
		return;
	}
	if (d->unsubscribe != SINK_UNSUBSCRIBE_NONE && d->unsubscribe != m) {
		note_item(d, text, it, "the unsubscribe method is already %s (the first wins); ignored",
			  sink_unsubscribe_method_name(d->unsubscribe));
		return;
	}
	d->unsubscribe = m;
	imply(d, SINK_CLASS_UNSUBSCRIBE);
}

/* delay=, capped at SINK_DIRECTIVE_DELAY_MAX; one note at most, as set_count. */
static void
apply_delay(SinkDirectives *d, const char *text, const SinkHdrListItem *it)
{
	gint64 s = parse_duration(it->value), used = MIN(s, (gint64)SINK_DIRECTIVE_DELAY_MAX);

	if (s < 0) {
		note_item(d, text, it, "not a duration (such as 90s, 10m, 2h or 1d); ignored");
		return;
	}
	if (d->delay >= 0 && d->delay != used) {
		g_autofree char *was = sink_duration_text(d->delay);
		note_item(d, text, it, "the delay is already %s (the first wins); ignored", was);
		return;
	}
	if (s > used) {
		g_autofree char *max = sink_duration_text(SINK_DIRECTIVE_DELAY_MAX);
		note_item(d, text, it, "more than %s; %s used", max, max);
	}
	d->delay = used;
}

/* One well-formed item. */
static void
apply(SinkDirectives *d, const char *text, const SinkHdrListItem *it, int max_repeats)
{
	const char *n = it->name;
	gboolean valued = strcmp(n, "feedback-type") == 0 || strcmp(n, "opens") == 0 ||
			  strcmp(n, "clicks") == 0 || strcmp(n, "delay") == 0 ||
			  (strcmp(n, "unsubscribe") == 0 && it->has_value);

	if (strcmp(n, "store-done") == 0 && !it->has_value) {
		d->store_done = TRUE;
		return;
	}
	d->others++;
	if (valued && !it->has_value) {
		note_item(d, text, it, "needs a value (%s=...); ignored", n);
		return;
	}
	if (valued) {
		if (strcmp(n, "feedback-type") == 0)
			apply_feedback_type(d, text, it);
		else if (strcmp(n, "unsubscribe") == 0)
			apply_unsubscribe_method(d, text, it);
		else if (strcmp(n, "opens") == 0)
			set_count(d, text, it, &d->opens, 1, max_repeats);
		else if (strcmp(n, "clicks") == 0)
			set_count(d, text, it, &d->clicks, 0, max_repeats);
		else
			apply_delay(d, text, it);
		return;
	}
	for (guint i = 0; i < G_N_ELEMENTS(class_tokens); i++) {
		if (strcmp(n, class_tokens[i].name) == 0) {
			if (it->has_value)
				note_item(d, text, it, "%s takes no value; ignored", n);
			else
				apply_class(d, text, it, i);
			return;
		}
	}
	for (guint i = 0; i < G_N_ELEMENTS(persona_tokens); i++) {
		if (strcmp(n, persona_tokens[i].name) == 0) {
			if (it->has_value)
				note_item(d, text, it, "%s takes no value; ignored", n);
			else
				apply_persona(d, text, it, persona_tokens[i].persona);
			return;
		}
	}
	if (strcmp(n, "store-done") == 0) {
		note_item(d, text, it, "store-done takes no value; ignored");
		return;
	}
	for (guint i = 0; i < G_N_ELEMENTS(keywords); i++) {
		if (strcmp(n, keywords[i].word) == 0) {
			note_item(d, text, it, "unknown directive (a local part's keyword; here: %s); ignored",
				  keywords[i].directive);
			return;
		}
	}
	note_item(d, text, it, "unknown directive; ignored");
}

void
sink_directives_add(SinkDirectives *d, const char *text, gsize len, int max_repeats)
{
	gsize room = SINK_DIRECTIVE_BYTES_MAX - MIN(d->bytes, (gsize)SINK_DIRECTIVE_BYTES_MAX);
	gsize n = MIN(len, room), pos = 0;
	SinkHdrListItem item;

	d->bytes += n;
	d->bytes_ignored += len - n;
	while (sink_hdrlist_next(text, n, &pos, &item)) {
		if (n < len && item.at_end)	/* cut by the bound: perhaps half an item */
			break;
		if (d->items == SINK_DIRECTIVE_ITEMS_MAX) {
			d->items_ignored++;
			continue;
		}
		d->items++;
		if (item.error) {
			d->others++;
			note_item(d, text, &item, "%s; ignored", item.error);
		} else {
			apply(d, text, &item, max_repeats);
		}
	}
}

void
sink_directives_finish(SinkDirectives *d)
{
	if (d->bytes_ignored > 0) {
		if (d->notes == NULL)
			d->notes = g_ptr_array_new_with_free_func(g_free);
		g_ptr_array_add(d->notes, g_strdup_printf("X-Bouncy-Sink: %" G_GSIZE_FORMAT
							  " bytes past the first %d not read",
							  d->bytes_ignored, SINK_DIRECTIVE_BYTES_MAX));
	}
	if (d->items_ignored > 0) {
		if (d->notes == NULL)
			d->notes = g_ptr_array_new_with_free_func(g_free);
		g_ptr_array_add(d->notes, g_strdup_printf("X-Bouncy-Sink: %u directives past the first %d not read",
							  d->items_ignored, SINK_DIRECTIVE_ITEMS_MAX));
	}
}

gboolean
sink_directives_only_store_done(const SinkDirectives *d)
{
	return d->others == 0 && d->items_ignored == 0 && d->bytes_ignored == 0;
}

const char *
sink_keyword_read(const char *local, gsize len, SinkDirectives *d)
{
	sink_directives_init(d);
	for (guint i = 0; i < G_N_ELEMENTS(keywords); i++) {
		if (strlen(keywords[i].word) != len || g_ascii_strncasecmp(local, keywords[i].word, len) != 0)
			continue;
		d->klass = keywords[i].klass;
		d->klass_token = keywords[i].word;
		d->feedback_type = keywords[i].feedback_type;
		d->open = keywords[i].open;
		d->click = keywords[i].click;
		if (keywords[i].persona != SINK_PERSONA_NONE) {
			d->persona = keywords[i].persona;
			d->persona_given = TRUE;
			d->implied = SINK_CLASS_ACCEPT;	/* a mailbox with a persona, and a reader who does nothing */
		}
		return keywords[i].word;
	}
	return NULL;
}
