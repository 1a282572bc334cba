/*
 * feedback.c - the ARF feedback types (feedback.h): their names and words,
 * the FBL_Feedback_Types weights, and the draw.
 *
 * The weights are read with the config, so a bad list stops the config
 * before a message is read; the draw is the complaint's, made with the
 * message's seeded GRand after every draw of the decision, so that a
 * --seed gives the same class, repeats and user agent as before and the
 * same feedback type every time.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "feedback.h"

static const SinkFeedbackKind kinds[SINK_FEEDBACK_TYPES] = {
	[SINK_FEEDBACK_ABUSE] = { "abuse", "Abuse report", "abuse", "The recipient marked it as spam." },
	[SINK_FEEDBACK_FRAUD] = { "fraud", "Fraud report", "fraud", "The recipient reported it as fraud (phishing)." },
	[SINK_FEEDBACK_VIRUS] = { "virus", "Virus report", "virus", "The recipient reported it as carrying a virus." },
	[SINK_FEEDBACK_OTHER] = { "other", "Feedback report", "feedback", "The recipient reported it for another reason." },
	[SINK_FEEDBACK_NOT_SPAM] = { "not-spam", "Not-spam report", "not-spam", "The recipient marked it as not spam." },
};

const SinkFeedbackKind *
sink_feedback_kind(const char *type)
{
	for (guint i = 0; type && i < G_N_ELEMENTS(kinds); i++)
		if (strcmp(type, kinds[i].type) == 0)
			return &kinds[i];
	return &kinds[SINK_FEEDBACK_ABUSE];
}

static int
type_index(const char *name)
{
	for (guint i = 0; i < G_N_ELEMENTS(kinds); i++)
		if (g_ascii_strcasecmp(name, kinds[i].type) == 0)
			return (int)i;
	return -1;
}

const char *
sink_feedback_type_named(const char *name)
{
	int t = name ? type_index(name) : -1;

	return t < 0 ? NULL : kinds[t].type;
}

gboolean
sink_feedback_weights_parse(const char *value, double weights[SINK_FEEDBACK_TYPES], char **why)
{
	g_auto(GStrv) items = g_strsplit(value, ",", -1);
	gboolean given[SINK_FEEDBACK_TYPES] = { FALSE };
	double total = 0;

	for (guint i = 0; i < SINK_FEEDBACK_TYPES; i++)
		weights[i] = 0;
	for (char **it = items; *it; it++) {
		char *item = g_strstrip(*it), *colon = strchr(item, ':'), *end;
		double w;
		int t;

		if (*item == '\0' && it[1] == NULL && it != items)
			break;	/* a trailing comma */
		if (colon == NULL) {
			*why = g_strdup_printf("\"%s\" is not type:weight", item);
			return FALSE;
		}
		*colon = '\0';
		g_strstrip(item);
		if ((t = type_index(item)) < 0) {
			*why = g_strdup_printf("\"%s\" is not an ARF feedback type (abuse, fraud, virus, other, not-spam)",
					       item);
			return FALSE;
		}
		if (given[t]) {
			*why = g_strdup_printf("%s is given twice", kinds[t].type);
			return FALSE;
		}
		given[t] = TRUE;
		errno = 0;
		w = g_ascii_strtod(colon + 1, &end);
		while (g_ascii_isspace(*end))
			end++;
		if (errno != 0 || end == colon + 1 || *end != '\0' || !isfinite(w) || w < 0) {
			*why = g_strdup_printf("the weight of %s (\"%s\") must be a number, 0 or more", kinds[t].type,
					       g_strstrip(colon + 1));
			return FALSE;
		}
		weights[t] = w;
		total += w;
	}
	if (!(total > 0)) {
		*why = g_strdup("no type has a weight above 0");
		return FALSE;
	}
	return TRUE;
}

const char *
sink_feedback_draw(const double weights[SINK_FEEDBACK_TYPES], GRand *rng)
{
	double total = 0, x, sum = 0;
	guint nonzero = 0, last = SINK_FEEDBACK_ABUSE;

	for (guint i = 0; i < SINK_FEEDBACK_TYPES; i++) {
		total += weights[i];
		if (weights[i] > 0)
			nonzero++, last = i;
	}
	if (nonzero <= 1)
		return kinds[last].type;
	x = g_rand_double(rng) * total;
	for (guint i = 0; i < SINK_FEEDBACK_TYPES; i++) {
		sum += weights[i];
		if (weights[i] > 0 && x < sum)
			return kinds[i].type;
	}
	return kinds[last].type;	/* x rounded up to the total */
}
