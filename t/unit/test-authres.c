/*
 * test-authres.c - DKIM_Check = header trusts only our own
 * Authentication-Results with dkim=pass.
 */
#include "authres.h"

static void
test_authres_cases(void)
{
	static const struct { const char *value; gboolean pass; const char *label; } cases[] = {
		{ "sink.test; spf=softfail smtp.mailfrom=a@b;\n dkim=pass (matches From: x) header.i=@b", TRUE, "PMTA layout" },
		{ "SINK.TEST; dkim=pass header.d=b", TRUE, "authserv-id case" },
		{ "sink.test (comment); dkim = pass", TRUE, "comment and spaces" },
		{ "other.test; dkim=pass header.d=b", FALSE, "someone else's header" },
		{ "sink.test.evil; dkim=pass", FALSE, "longer authserv-id" },
		{ "sink.test; dkim=fail header.d=b", FALSE, "dkim fail" },
		{ "sink.test; dkim=passed", FALSE, "not the word pass" },
		{ "sink.test; spf=pass (dkim=pass in comment)", FALSE, "pass only in a comment" },
		{ "sink.test; x-dkim=pass", FALSE, "other method" },
		{ "sink.test; dkim=fail (sig from x; dkim=pass) header.d=b", FALSE, "a ';' in a comment" },
		{ "sink.test; spf=fail smtp.mailfrom=\"a;dkim=pass\"@b; dkim=fail", FALSE, "a ';' in a quoted value" },
		{ "sink.test; spf=fail smtp.mailfrom=\"a\\\";dkim=pass\"@b; dkim=fail", FALSE, "an escaped quote" },
		{ "sink.test; spf=pass smtp.mailfrom=\"a;b\"@c; dkim=pass", TRUE, "a pass after a quoted ';'" },
		{ "sink.test", FALSE, "no results" },
		{ "", FALSE, "empty" },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_test_message("case: %s", cases[i].label);
		g_assert_cmpint(sink_authres_dkim_pass(cases[i].value, "sink.test"), ==, cases[i].pass);
	}
	g_assert_false(sink_authres_dkim_pass(NULL, "sink.test"));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/authres/only-our-dkim-pass-counts", test_authres_cases);
	return g_test_run();
}
