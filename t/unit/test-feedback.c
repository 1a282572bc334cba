/*
 * test-feedback.c - FBL_Feedback_Types: the weights parse (any case, any
 * order, types not listed 0), each registered type has its words, and the
 * draw follows the weights, is the same for the same seed, and draws
 * nothing when one type has all the weight.
 */
#include <math.h>
#include <string.h>

#include "feedback.h"

static void
test_weights_parse(void)
{
	double w[SINK_FEEDBACK_TYPES];
	g_autofree char *why = NULL;

	g_assert_true(sink_feedback_weights_parse(" Not-Spam:1, abuse:95 ,fraud:2,virus:1,other:0.5,", w, &why));
	g_assert_cmpfloat(w[SINK_FEEDBACK_ABUSE], ==, 95);
	g_assert_cmpfloat(w[SINK_FEEDBACK_FRAUD], ==, 2);
	g_assert_cmpfloat(w[SINK_FEEDBACK_VIRUS], ==, 1);
	g_assert_cmpfloat(w[SINK_FEEDBACK_OTHER], ==, 0.5);
	g_assert_cmpfloat(w[SINK_FEEDBACK_NOT_SPAM], ==, 1);
	g_assert_true(sink_feedback_weights_parse("virus:3", w, &why));
	g_assert_cmpfloat(w[SINK_FEEDBACK_ABUSE], ==, 0);
	g_assert_cmpfloat(w[SINK_FEEDBACK_VIRUS], ==, 3);
	g_assert_false(sink_feedback_weights_parse("abuse:1e999", w, &why));
	g_assert_nonnull(strstr(why, "the weight of abuse"));
}

static void
test_every_type_has_its_words(void)
{
	static const char *const types[] = { "abuse", "fraud", "virus", "other", "not-spam" };

	for (guint i = 0; i < G_N_ELEMENTS(types); i++) {
		const SinkFeedbackKind *k = sink_feedback_kind(types[i]);
		g_assert_cmpstr(k->type, ==, types[i]);
		g_assert_true(k->title && *k->title && k->noun && *k->noun && k->what && *k->what);
	}
	g_assert_cmpstr(sink_feedback_kind(NULL)->type, ==, "abuse");
	g_assert_cmpstr(sink_feedback_kind("auth-failure")->type, ==, "abuse");
}

static void
test_draw_follows_weights_and_seed(void)
{
	double w[SINK_FEEDBACK_TYPES];
	g_autofree char *why = NULL;
	guint seen[SINK_FEEDBACK_TYPES] = { 0 };
	const guint n = 20000;
	g_autoptr(GRand) rng = g_rand_new_with_seed(7);

	g_assert_true(sink_feedback_weights_parse("abuse:50,fraud:30,virus:0,other:20", w, &why));
	for (guint i = 0; i < n; i++) {
		const char *t = sink_feedback_draw(w, rng);
		seen[sink_feedback_kind(t) - sink_feedback_kind("abuse")]++;
	}
	g_assert_cmpuint(seen[SINK_FEEDBACK_VIRUS], ==, 0);
	g_assert_cmpuint(seen[SINK_FEEDBACK_NOT_SPAM], ==, 0);
	g_assert_cmpfloat(fabs(seen[SINK_FEEDBACK_ABUSE] / (double)n - 0.5), <, 0.02);
	g_assert_cmpfloat(fabs(seen[SINK_FEEDBACK_FRAUD] / (double)n - 0.3), <, 0.02);
	g_assert_cmpfloat(fabs(seen[SINK_FEEDBACK_OTHER] / (double)n - 0.2), <, 0.02);

	/* the same seed, the same sequence */
	for (guint seed = 0; seed < 50; seed++) {
		g_autoptr(GRand) a = g_rand_new_with_seed(seed);
		g_autoptr(GRand) b = g_rand_new_with_seed(seed);
		g_assert_cmpstr(sink_feedback_draw(w, a), ==, sink_feedback_draw(w, b));
	}
}

static void
test_single_type_draws_nothing(void)
{
	double w[SINK_FEEDBACK_TYPES];
	g_autofree char *why = NULL;
	g_autoptr(GRand) a = g_rand_new_with_seed(3);
	g_autoptr(GRand) b = g_rand_new_with_seed(3);

	g_assert_true(sink_feedback_weights_parse("abuse:100,fraud:0", w, &why));
	g_assert_cmpstr(sink_feedback_draw(w, a), ==, "abuse");
	g_assert_cmpuint(g_rand_int(a), ==, g_rand_int(b));	/* a left as it was */
	g_assert_true(sink_feedback_weights_parse("not-spam:1", w, &why));
	g_assert_cmpstr(sink_feedback_draw(w, a), ==, "not-spam");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/feedback/weights-parse", test_weights_parse);
	g_test_add_func("/feedback/every-type-has-its-words", test_every_type_has_its_words);
	g_test_add_func("/feedback/draw-follows-weights-and-seed", test_draw_follows_weights_and_seed);
	g_test_add_func("/feedback/single-type-draws-nothing", test_single_type_draws_nothing);
	return g_test_run();
}
