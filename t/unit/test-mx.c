/*
 * test-mx.c - the Return-Path MX allowlist: which MX hosts map to which FBL
 * address (allowlisted, tenant, case, not known), and the look-up's failure
 * paths that need no name server (no domain, spent time budget, bad names).
 */
#include <arpa/nameser.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "dns.h"
#include "mx.h"
#include "unit.h"

static const char allowlist_ini[] =
	"[Sink]\n"
	"DNS_Timeout = 1\n"
	"\n"
	"[RP_MX_domain_allowlist]\n"
	"smtp.sparkpostmail.com = fbl@sparkpostmail.com\n"
	"MX.Example.Test = FBL@Example.Test\n";

static void
test_map_cases(void)
{
	static const struct { const char *mx; const char *fbl; const char *label; } cases[] = {
		{ "smtp.sparkpostmail.com", "fbl@sparkpostmail.com", "allowlisted" },
		{ "SMTP.SparkPostMail.COM", "fbl@sparkpostmail.com", "allowlisted, other case" },
		{ "smtp.sparkpostmail.com.", "fbl@sparkpostmail.com", "allowlisted, trailing dot" },
		{ "mx.example.test", "FBL@Example.Test", "key written in mixed case; value as written" },
		{ "acme.mail.e.sparkpost.com", "fbl@acme.mail.e.sparkpost.com", "tenant" },
		{ "ACME.MX.E.SparkPost.Com", "fbl@acme.mail.e.sparkpost.com", "tenant, other case and host" },
		{ "acme.e.sparkpost.com.", "fbl@acme.mail.e.sparkpost.com", "tenant, trailing dot" },
		{ "e.sparkpost.com", NULL, "suffix alone: no tenant" },
		{ ".e.sparkpost.com", NULL, "empty tenant label" },
		{ "acmee.sparkpost.com", NULL, "suffix not on a label boundary" },
		{ "acme.e.sparkpost.com.evil.test", NULL, "suffix in the middle" },
		{ "smtp.sparkpostmail.com.evil.test", NULL, "allowlisted name as a prefix" },
		{ "sparkpostmail.com", NULL, "parent of an allowlisted host" },
		{ "mx.stranger.test", NULL, "not known" },
		{ "", NULL, "empty" },
		{ ".", NULL, "root (null MX)" },
	};
	g_autoptr(SinkConfig) cfg = unit_config_from(allowlist_ini);

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *fbl = sink_mx_map(cfg, cases[i].mx);
		g_test_message("case: %s (%s)", cases[i].label, cases[i].mx);
		g_assert_cmpstr(fbl, ==, cases[i].fbl);
	}
	g_assert_null(sink_mx_map(cfg, NULL));
}

/* Without a config file the shipped allowlist applies. */
static void
test_map_builtin_allowlist(void)
{
	g_autoptr(SinkConfig) cfg = sink_config_load(NULL, NULL);
	g_autofree char *us = sink_mx_map(cfg, "smtp.sparkpostmail.com");
	g_autofree char *eu = sink_mx_map(cfg, "smtp.eu.sparkpostmail.com");

	g_assert_cmpstr(us, ==, "fbl@sparkpostmail.com");
	g_assert_cmpstr(eu, ==, "fbl@eu.sparkpostmail.com");
}

static void
test_resolve_without_domain_fails_without_dns(void)
{
	static const char *const senders[] = { NULL, "no-at-sign", "user@" };
	g_autoptr(SinkConfig) cfg = unit_config_from(allowlist_ini);

	for (size_t i = 0; i < G_N_ELEMENTS(senders); i++) {
		g_autoptr(SinkCtx) ctx = sink_ctx_new(cfg, 1);
		gboolean tempfail = TRUE;

		ctx->return_path = g_strdup(senders[i]);
		g_assert_false(sink_mx_resolve(ctx, "OOB", &tempfail));
		g_assert_false(tempfail);
		g_assert_null(ctx->mx_host);
		g_assert_null(ctx->fbl_addr);
		g_assert_cmpuint(ctx->errors->len, ==, 1);
		g_assert_true(g_str_has_prefix(ctx->errors->pdata[0], "OOB not sent: "));
	}
}

/* A spent message budget fails the look-up at once, as a temporary failure. */
static void
test_resolve_after_deadline_is_tempfail_at_once(void)
{
	g_autoptr(SinkConfig) cfg = unit_config_from(allowlist_ini);
	g_autoptr(SinkCtx) ctx = sink_ctx_new(cfg, 1);
	gboolean tempfail = FALSE;
	gint64 t0;

	ctx->return_path = g_strdup("bounces@sender.test");
	ctx->deadline = g_get_monotonic_time() - 1;
	g_assert_cmpint(sink_dns_timeout(ctx), ==, 0);
	t0 = g_get_monotonic_time();
	g_assert_false(sink_mx_resolve(ctx, "FBL", &tempfail));
	g_assert_cmpint(g_get_monotonic_time() - t0, <, G_USEC_PER_SEC / 10);
	g_assert_true(tempfail);
	g_assert_cmpuint(ctx->errors->len, ==, 1);
	g_assert_nonnull(strstr(ctx->errors->pdata[0], "FBL not sent: MX look-up for Return-Path domain sender.test"));
}

static void
test_dns_timeout_is_capped_by_budget(void)
{
	g_autoptr(SinkConfig) cfg = unit_config_from("[Sink]\nDNS_Timeout = 5\n");
	g_autoptr(SinkCtx) ctx = sink_ctx_new(cfg, 1);

	ctx->deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
	g_assert_cmpint(sink_dns_timeout(ctx), ==, 5);
	ctx->deadline = g_get_monotonic_time() + 2 * G_USEC_PER_SEC - 1000;
	g_assert_cmpint(sink_dns_timeout(ctx), ==, 2);
}

static void
test_dns_query_refuses_bad_questions(void)
{
	static const struct { const char *name; int timeout; SinkDnsStatus expect; const char *label; } cases[] = {
		{ "sender.test", 0, SINK_DNS_TEMPFAIL, "no time left" },
		{ "", 3, SINK_DNS_FAIL, "empty name" },
		{ "a..b", 3, SINK_DNS_FAIL, "empty label" },
		{ NULL, 3, SINK_DNS_FAIL, "no name" },
	};
	unsigned char buf[512];

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		const char *why = NULL;
		int len = -1;
		g_test_message("case: %s", cases[i].label);
		g_assert_cmpint(sink_dns_query(cases[i].name, ns_t_mx, cases[i].timeout, buf, sizeof buf, &len, &why),
				==, cases[i].expect);
		g_assert_cmpint(len, ==, 0);
		g_assert_nonnull(why);
	}
	/* a label longer than 63 bytes cannot be asked either */
	{
		g_autofree char *label = g_strnfill(64, 'a');
		g_autofree char *name = g_strconcat(label, ".test", NULL);
		int len;
		g_assert_cmpint(sink_dns_query(name, ns_t_a, 3, buf, sizeof buf, &len, NULL), ==, SINK_DNS_FAIL);
	}
	g_assert_cmpstr(sink_dns_status_name(SINK_DNS_TEMPFAIL), ==, "tempfail");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/mx/map/allowlisted-tenant-case-unknown", test_map_cases);
	g_test_add_func("/mx/map/builtin-allowlist-without-config", test_map_builtin_allowlist);
	g_test_add_func("/mx/resolve/no-domain-fails-without-dns", test_resolve_without_domain_fails_without_dns);
	g_test_add_func("/mx/resolve/spent-budget-is-tempfail-at-once", test_resolve_after_deadline_is_tempfail_at_once);
	g_test_add_func("/mx/dns/timeout-capped-by-message-budget", test_dns_timeout_is_capped_by_budget);
	g_test_add_func("/mx/dns/bad-questions-are-refused-locally", test_dns_query_refuses_bad_questions);
	return g_test_run();
}
