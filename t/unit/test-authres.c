/*
 * test-authres.c - DKIM_Check = header trusts only our own
 * Authentication-Results with dkim=pass.
 */
#include "authres.h"
#include "dkimsig.h"

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

/* The signing domains of our dkim=pass results: header.d, else header.i's domain; nothing from others'. */
static void
test_authres_domains(void)
{
	static const struct { const char *value; const char *domains; const char *label; } cases[] = {
		{ "sink.test; spf=softfail smtp.mailfrom=a@b;\n dkim=pass (matches From: x) header.i=@News.Example", "news.example",
		  "PMTA layout: header.i" },
		{ "sink.test; dkim=pass header.d=a.test header.i=@sub.a.test", "a.test", "header.d wins" },
		{ "sink.test; dkim=pass header.d = \"q.test\" (quoted)", "q.test", "quoted, spaced" },
		{ "sink.test; dkim=pass header.d=a.test; dkim=fail header.d=b.test; dkim=pass header.i=x@c.test",
		  "a.test,c.test", "two passes, one fail" },
		{ "sink.test; dkim=pass (header.d=evil.test) header.d=a.test", "a.test", "a property in a comment" },
		{ "sink.test; dkim=pass", "", "no domain given" },
		{ "other.test; dkim=pass header.d=a.test", "", "someone else's" },
		{ "sink.test; dkim=passed header.d=a.test", "", "not pass" },
		{ "sink.test; dkim=pass header.d=", "", "empty value" },
		{ "sink.test; dkim=pass = = header.d=a.test", "a.test", "stray '='" },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
		g_autofree char *joined = NULL;

		g_test_message("case: %s", cases[i].label);
		sink_authres_dkim_domains(cases[i].value, "sink.test", out);
		g_ptr_array_add(out, NULL);
		joined = g_strjoinv(",", (char **)out->pdata);
		g_assert_cmpstr(joined, ==, cases[i].domains);
	}
}

/* A DKIM-Signature's d=, s= and h= as RFC 6376's tag-list has them, folding and all. */
static void
test_dkim_sig_parse(void)
{
	SinkDkimSig *sig = sink_dkim_sig_parse("v=1; a=rsa-sha256; c=relaxed/relaxed; d=Sender.Test;\r\n\ts=sel1;\r\n"
					       "\th=From : To:Subject:\r\n\t List-Unsubscribe:List-Unsubscribe-Post; bh=abc=; b=de\r\n f=", "pass");
	const char *const both[] = { "list-unsubscribe", "List-Unsubscribe-Post", NULL };
	const char *const cfbl[] = { "CFBL-Address", NULL };

	g_assert_nonnull(sig);
	g_assert_cmpstr(sig->domain, ==, "sender.test");
	g_assert_cmpstr(sig->selector, ==, "sel1");
	g_assert_cmpstr(sig->result, ==, "pass");
	g_assert_cmpuint(g_strv_length(sig->headers), ==, 5);
	g_assert_cmpstr(sig->headers[3], ==, "list-unsubscribe");
	g_assert_true(sink_dkim_sig_covers(sig, "SUBJECT"));
	g_assert_false(sink_dkim_sig_covers(sig, "Date"));
	{
		g_autoptr(SinkCtx) ctx = sink_ctx_new(sink_config_load(NULL, NULL), 1);
		g_ptr_array_add(ctx->dkim_sigs, sink_dkim_sig_new("other.test", "s", "fail", "from:list-unsubscribe:list-unsubscribe-post"));
		g_ptr_array_add(ctx->dkim_sigs, sig);
		g_assert_true(sink_dkim_passing(ctx, NULL, both) == sig);
		g_assert_true(sink_dkim_passing(ctx, "SENDER.test", NULL) == sig);
		g_assert_null(sink_dkim_passing(ctx, "other.test", both));	/* it failed */
		g_assert_null(sink_dkim_passing(ctx, NULL, cfbl));
		sink_config_free((SinkConfig *)ctx->cfg);
	}
	g_assert_null(sink_dkim_sig_parse("v=1; s=x; h=from", "pass"));	/* no d= */
	g_assert_null(sink_dkim_sig_parse("", "pass"));
	sig = sink_dkim_sig_parse("d=a.test; d=b.test; h=", "fail");	/* the first d=; an empty h= */
	g_assert_cmpstr(sig->domain, ==, "a.test");
	g_assert_cmpuint(g_strv_length(sig->headers), ==, 0);
	sink_dkim_sig_free(sig);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/authres/only-our-dkim-pass-counts", test_authres_cases);
	g_test_add_func("/authres/our-dkim-pass-domains", test_authres_domains);
	g_test_add_func("/authres/dkim-signature-tags", test_dkim_sig_parse);
	return g_test_run();
}
