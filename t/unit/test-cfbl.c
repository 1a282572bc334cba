/*
 * test-cfbl.c - RFC 9477's rules for a received message, without DNS:
 * organizational domains from the Public Suffix List, and which
 * CFBL-Address headers a set of DKIM results honours (one organization or
 * two, h= coverage, CFBL-Feedback-ID, syntax), with the reason for each
 * that is not.  Delivery is t/cfbl.bats's.
 */
#include <string.h>

#include "cfbl.h"
#include "dkimsig.h"
#include "message.h"
#include "unit.h"

static void
test_org_domain(void)
{
	static const struct { const char *domain, *org; } cases[] = {
		{ "example.com", "example.com" },
		{ "mail.news.example.com", "example.com" },
		{ "Mail.Example.COM.", "example.com" },
		{ "mail.example.co.uk", "example.co.uk" },	/* a two-label public suffix */
		{ "example.co.uk", "example.co.uk" },
		{ "co.uk", "co.uk" },				/* a public suffix is its own */
		{ "a.b.sender.test", "sender.test" },		/* not in the list: the last label is the suffix */
		{ "xn--bcher-kva.example", "xn--bcher-kva.example" },
		{ "", NULL },
		{ NULL, NULL },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *org = sink_cfbl_org_domain(cases[i].domain);
		g_test_message("case: %s", cases[i].domain ? cases[i].domain : "(null)");
		g_assert_cmpstr(org, ==, cases[i].org);
	}
}

/* The fields a signature signs in these cases. */
#define COVERS "from:to:subject:cfbl-address:cfbl-feedback-id"
#define LEAVES_OUT "from:to:subject"

static const struct {
	const char *label;
	const char *headers;	/* the message's header block, besides To: and Subject: */
	const char *sigs;	/* "domain=h;domain=h", each passing; "!domain=h" failing */
	const char *reason;	/* NULL: honoured; else a part of the reason */
} judge_cases[] = {
	{ "one organization, covered", "From: news@cfbl.example\nCFBL-Address: fbl@cfbl.example\n",
	  "cfbl.example=" COVERS, NULL },
	{ "report=arf and a feedback id, covered",
	  "From: news@cfbl.example\nCFBL-Address: fbl@cfbl.example; report=arf\nCFBL-Feedback-ID: 12:ab\n",
	  "cfbl.example=" COVERS, NULL },
	{ "a subdomain's address, the parent's signature",
	  "From: news@cfbl.example\nCFBL-Address: fbl@fb.cfbl.example\n", "cfbl.example=" COVERS, NULL },
	{ "a subdomain's signature for the parent's address",
	  "From: news@mail.cfbl.example\nCFBL-Address: fbl@cfbl.example\n", "mail.cfbl.example=" COVERS, NULL },
	{ "organizations under a two-label suffix",
	  "From: news@a.shop.co.uk\nCFBL-Address: fbl@b.shop.co.uk\n", "shop.co.uk=" COVERS, NULL },
	{ "two shops under one suffix are two organizations",
	  "From: news@one.co.uk\nCFBL-Address: fbl@two.co.uk\n", "one.co.uk=" COVERS,
	  "no valid DKIM signature of two.co.uk (the CFBL-Address domain's organization)" },
	{ "two organizations, both sign",
	  "From: news@cfbl.example\nCFBL-Address: fbl@esp.example\n", "cfbl.example=" COVERS ";esp.example=" COVERS,
	  NULL },
	{ "two organizations, only the From: domain signs",
	  "From: news@cfbl.example\nCFBL-Address: fbl@esp.example\n", "cfbl.example=" COVERS,
	  "no valid DKIM signature of esp.example (the CFBL-Address domain's organization): a CFBL-Address of "
	  "another organization than From:'s (cfbl.example) needs signatures of both" },
	{ "two organizations, only the address's domain signs",
	  "From: news@cfbl.example\nCFBL-Address: fbl@esp.example\n", "esp.example=" COVERS,
	  "no valid DKIM signature of cfbl.example (the From: domain's organization)" },
	{ "not in h=", "From: news@cfbl.example\nCFBL-Address: fbl@cfbl.example\n", "cfbl.example=" LEAVES_OUT,
	  "the valid DKIM signature of cfbl.example does not sign CFBL-Address in its h=" },
	{ "feedback id not in h=",
	  "From: news@cfbl.example\nCFBL-Address: fbl@cfbl.example\nCFBL-Feedback-ID: 1\n",
	  "cfbl.example=from:cfbl-address",
	  "the valid DKIM signature of cfbl.example does not sign CFBL-Address and CFBL-Feedback-ID in its h=" },
	{ "a failed signature is none", "From: news@cfbl.example\nCFBL-Address: fbl@cfbl.example\n",
	  "!cfbl.example=" COVERS, "no valid DKIM signature of cfbl.example" },
	{ "no signature", "From: news@cfbl.example\nCFBL-Address: fbl@cfbl.example\n", "",
	  "no valid DKIM signature of cfbl.example" },
	{ "two From: addresses", "From: news@cfbl.example, other@cfbl.example\nCFBL-Address: fbl@cfbl.example\n",
	  "cfbl.example=" COVERS, "From: does not hold exactly one address" },
	{ "repeated", "From: news@cfbl.example\nCFBL-Address: fbl@cfbl.example\nCFBL-Address: fbl@cfbl.example\n",
	  "cfbl.example=" COVERS, "CFBL-Address appears 2 times" },
	{ "feedback id repeated",
	  "From: news@cfbl.example\nCFBL-Address: fbl@cfbl.example\nCFBL-Feedback-ID: 1\nCFBL-Feedback-ID: 2\n",
	  "cfbl.example=" COVERS, "CFBL-Feedback-ID appears 2 times" },
	{ "feedback id with a control character",
	  "From: news@cfbl.example\nCFBL-Address: fbl@cfbl.example\nCFBL-Feedback-ID: 12\x7f" "34\n",
	  "cfbl.example=" COVERS, "CFBL-Feedback-ID holds a control character" },
	{ "folded", "From: news@cfbl.example\nCFBL-Address:\n fbl@cfbl.example;\n report=xarf\n", "cfbl.example=" COVERS,
	  NULL },
	{ "report=ARF in capitals, white space after", "From: news@cfbl.example\nCFBL-Address: fbl@cfbl.example; REPORT=ARF \n",
	  "cfbl.example=" COVERS, NULL },
	{ "report=json", "From: news@cfbl.example\nCFBL-Address: fbl@cfbl.example; report=json\n", "cfbl.example=" COVERS,
	  "has something after the address other than" },
	{ "two addresses", "From: news@cfbl.example\nCFBL-Address: fbl@cfbl.example, x@cfbl.example\n",
	  "cfbl.example=" COVERS, "CFBL-Address holds more than one address" },
	{ "quoted", "From: news@cfbl.example\nCFBL-Address: \"f b\"@cfbl.example\n", "cfbl.example=" COVERS,
	  "CFBL-Address has a quoted local part" },
	{ "bare CR", "From: news@cfbl.example\nCFBL-Address: fbl@cfbl.example\rBcc: x@evil.example\n",
	  "cfbl.example=" COVERS, "CFBL-Address holds a control character" },
	{ "IDN", "From: news@cfbl.example\nCFBL-Address: fbl@b\xc3\xbc" "cher.example\n", "cfbl.example=" COVERS,
	  "CFBL-Address is not ASCII (an internationalized address is not taken)" },
	{ "one label", "From: news@cfbl.example\nCFBL-Address: fbl@localhost\n", "cfbl.example=" COVERS,
	  "CFBL-Address has no domain name after the @" },
	{ "something after", "From: news@cfbl.example\nCFBL-Address: fbl@cfbl.example; report=arf; x=1\n",
	  "cfbl.example=" COVERS, "has something after the address other than" },
};

static void
test_judge(void)
{
	g_autoptr(SinkConfig) cfg = sink_config_load(NULL, NULL);

	for (size_t i = 0; i < G_N_ELEMENTS(judge_cases); i++) {
		g_autoptr(SinkCtx) ctx = sink_ctx_new(cfg, 1);
		g_autofree char *raw = g_strdup_printf("%sTo: x@fbl.sink.test\nSubject: s\n\nbody\n", judge_cases[i].headers);
		g_auto(GStrv) sigs = g_strsplit(judge_cases[i].sigs, ";", -1);

		g_test_message("case: %s", judge_cases[i].label);
		ctx->raw = g_bytes_new(raw, strlen(raw));
		sink_message_parse(ctx);
		for (char **s = sigs; *s && **s; s++) {
			gboolean failed = **s == '!';
			g_auto(GStrv) dh = g_strsplit(*s + failed, "=", 2);
			g_ptr_array_add(ctx->dkim_sigs, sink_dkim_sig_new(dh[0], "s1", failed ? "fail" : "pass", dh[1]));
		}
		sink_cfbl_check(ctx);
		g_assert_true(ctx->cfbl.present);
		if (judge_cases[i].reason == NULL) {
			g_assert_cmpstr(ctx->cfbl.reason, ==, NULL);
			g_assert_true(ctx->cfbl.honoured);
			g_assert_nonnull(ctx->cfbl.address);
		} else {
			g_assert_false(ctx->cfbl.honoured);
			g_assert_nonnull(ctx->cfbl.reason);
			g_test_message("reason: %s", ctx->cfbl.reason);
			g_assert_nonnull(strstr(ctx->cfbl.reason, judge_cases[i].reason));
		}
	}
}

static void
test_fields_read(void)
{
	g_autoptr(SinkConfig) cfg = sink_config_load(NULL, NULL);
	g_autoptr(SinkCtx) ctx = sink_ctx_new(cfg, 1);
	static const char raw[] = "From: news@cfbl.example\nCFBL-Address:  fbl@cfbl.example ;\treport=xarf\n"
				  "CFBL-Feedback-ID: 12:\n ab cd\nTo: x@fbl.sink.test\n\nbody\n";

	ctx->raw = g_bytes_new(raw, strlen(raw));
	sink_message_parse(ctx);
	g_ptr_array_add(ctx->dkim_sigs, sink_dkim_sig_new("cfbl.example", "s1", "pass", COVERS));
	sink_cfbl_check(ctx);
	g_assert_true(ctx->cfbl.honoured);
	g_assert_cmpstr(ctx->cfbl.address, ==, "fbl@cfbl.example");
	g_assert_cmpstr(ctx->cfbl.report, ==, "xarf");
	g_assert_cmpstr(ctx->cfbl.feedback_id, ==, "12:abcd");	/* white space is no part of it */

	/* CFBL = false: present, not honoured, said so */
	{
		g_autoptr(SinkConfig) off = unit_config_from("[Sink]\nCFBL = false\n");
		g_autoptr(SinkCtx) c2 = sink_ctx_new(off, 1);

		c2->raw = g_bytes_new(raw, strlen(raw));
		sink_message_parse(c2);
		g_ptr_array_add(c2->dkim_sigs, sink_dkim_sig_new("cfbl.example", "s1", "pass", COVERS));
		sink_cfbl_check(c2);
		g_assert_true(c2->cfbl.present);
		g_assert_false(c2->cfbl.honoured);
		g_assert_cmpstr(c2->cfbl.reason, ==, "CFBL = false in the config");
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/cfbl/org-domain", test_org_domain);
	g_test_add_func("/cfbl/judge", test_judge);
	g_test_add_func("/cfbl/fields-read", test_fields_read);
	return g_test_run();
}
