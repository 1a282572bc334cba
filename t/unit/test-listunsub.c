/*
 * test-listunsub.c - List-Unsubscribe read as RFC 2369 says (listunsub.c),
 * and RFC 8058's one-click verdict on whole messages (oneclick.c): tables
 * of labelled cases.
 */
#include <string.h>

#include "dkimsig.h"
#include "listunsub.h"
#include "message.h"
#include "oneclick.h"
#include "unit.h"

static void
test_parse_table(void)
{
	static const struct {
		const char *name, *value;
		const char *uris;	/* joined with '|' */
		const char *problem;	/* a word every problem sentence together holds; NULL: no problem */
	} cases[] = {
		{ "one https URI", " <https://l.test/u/1>", "https://l.test/u/1", NULL },
		{ "mailto and https, in order", "<mailto:leave@l.test?subject=x>, <https://l.test/u>",
		  "mailto:leave@l.test?subject=x|https://l.test/u", NULL },
		{ "folded, with comments before, between and after",
		  " (unsubscribe here)\r\n\t<https://l.test/u/1> (web),\r\n <mailto:a@l.test> (mail) ",
		  "https://l.test/u/1|mailto:a@l.test", NULL },
		{ "white space inside the brackets is ignored", "<https://l.test/u/\r\n\t1?a=b\r\n >",
		  "https://l.test/u/1?a=b", NULL },
		{ "a comment with a comma and brackets in it", "<http://l.test/1> (a, <b>), <mailto:x@l.test>",
		  "http://l.test/1|mailto:x@l.test", NULL },
		{ "no space after the comma; a trailing comma", "<http://l.test/1>,<http://l.test/2>,",
		  "http://l.test/1|http://l.test/2", NULL },
		{ "schemes in any case", "<HTTPS://L.test/U>, <MailTo:x@l.test>", "HTTPS://L.test/U|MailTo:x@l.test", NULL },
		{ "no angle brackets: the field is ignored", " https://l.test/u/1", "", "does not start with a <URI>" },
		{ "a comment only", " (nothing here) ", "", "empty" },
		{ "empty", "", "", "empty" },
		{ "text after a URI ends the list", "<https://l.test/1> and <https://l.test/2>", "https://l.test/1",
		  "ends the list" },
		{ "text after a comma is no URI", "<https://l.test/1>, https://l.test/2", "https://l.test/1",
		  "after a comma is not a <URI>" },
		{ "an unclosed bracket", "<https://l.test/1>, <https://l.test/2", "https://l.test/1", "not closed" },
		{ "javascript: and data: are never kept", "<javascript:alert(1)>, <data:text/html,x>, <https://l.test/u>",
		  "https://l.test/u", "a javascript: URI is not used" },
		{ "ftp: is not used", "<ftp://l.test/u>", "", "a ftp: URI is not used" },
		{ "an empty <>", "<>, <mailto:x@l.test>", "mailto:x@l.test", "empty <>" },
		{ "no scheme", "<l.test/u>", "", "no scheme" },
		{ "an http URI without a host", "<https:///u>, <http:l.test>", "", "has no host" },
		{ "a mailto: without an address", "<mailto:>", "", "has no address" },
		{ "an IDN host is not a URI", "<https://b\xc3\xbc" "cher.test/u>, <https://xn--bcher-kva.test/u>",
		  "https://xn--bcher-kva.test/u", "non-ASCII" },
		{ "control characters", "<https://l.test/\x01u>", "", "control characters" },
		{ "invalid UTF-8 is said safely", "<https://l.test/\xff\xfe>", "", "non-ASCII" },
		{ "a nested comment with an escaped parenthesis", "(nested (comment) \\) still) <http://l.test/a>",
		  "http://l.test/a", NULL },
		{ "a semicolon is no comma", "<https://l.test/a>; <https://l.test/b>", "https://l.test/a", "ends the list" },
		{ "an unclosed comment after a comma keeps what was read", "<https://l.test/a>, (unclosed <https://l.test/b>",
		  "https://l.test/a", NULL },
		{ "white space only", "   ", "", "empty" },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GPtrArray) uris = g_ptr_array_new_with_free_func(g_free);
		g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
		g_autofree char *got = NULL, *said = NULL;
		guint n;

		g_test_message("case: %s", cases[i].name);
		n = sink_list_unsub_parse(cases[i].value, uris, problems);
		got = unit_joined(uris);
		said = unit_joined(problems);
		g_assert_cmpuint(n, ==, uris->len);
		g_assert_cmpstr(got, ==, cases[i].uris);
		if (cases[i].problem == NULL)
			g_assert_cmpstr(said, ==, "");
		else
			g_assert_nonnull(strstr(said, cases[i].problem));
		g_assert_true(g_utf8_validate(said, -1, NULL));	/* a sentence quotes the sender's text safely */
	}
}

/* At most SINK_LIST_UNSUB_MAX_URIS are read, and a field past the size limit not at all. */
static void
test_limits(void)
{
	g_autoptr(GString) many = g_string_new(NULL);
	g_autoptr(GString) huge = g_string_new("<https://l.test/");
	g_autoptr(GPtrArray) uris = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);

	for (int i = 0; i < 10000; i++)
		g_string_append_printf(many, "%s<http://l.test/%d>", i ? "," : "", i);
	many->str[SINK_LIST_UNSUB_MAX_FIELD - 10] = '\0';	/* just under the limit: hundreds of URIs */
	g_assert_cmpuint(sink_list_unsub_parse(many->str, uris, problems), ==, SINK_LIST_UNSUB_MAX_URIS);
	g_assert_cmpstr(uris->pdata[15], ==, "http://l.test/15");
	g_assert_cmpuint(problems->len, ==, 1);
	g_assert_nonnull(strstr(problems->pdata[0], "more than 16 URIs"));

	g_ptr_array_set_size(uris, 0);
	g_ptr_array_set_size(problems, 0);
	while (huge->len < 100 * 1024)
		g_string_append(huge, "aaaaaaaaaaaaaaaa");
	g_string_append_c(huge, '>');
	g_assert_cmpuint(sink_list_unsub_parse(huge->str, uris, problems), ==, 0);
	g_assert_cmpuint(problems->len, ==, 1);
	g_assert_nonnull(strstr(problems->pdata[0], "more than 16384: not read"));
}

static void
test_post_value(void)
{
	static const struct { const char *value; gboolean ok; } cases[] = {
		{ " List-Unsubscribe=One-Click", TRUE },
		{ "List-Unsubscribe=One-Click\r\n", TRUE },
		{ "\r\n List-Unsubscribe=One-Click ", TRUE },
		{ " List-Unsubscribe=one-click", FALSE },
		{ " List-Unsubscribe = One-Click", FALSE },
		{ " List-Unsubscribe=One-Click; x=y", FALSE },
		{ " List-Unsubscribe=One-Click, List-Unsubscribe=One-Click", FALSE },
		{ " One-Click", FALSE },
		{ "", FALSE },
		{ NULL, FALSE },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_test_message("value: %s", cases[i].value ? cases[i].value : "(null)");
		g_assert_cmpint(sink_one_click_post_ok(cases[i].value), ==, cases[i].ok);
	}
}

#define LU_HTTPS "List-Unsubscribe: <mailto:leave@l.test>, <https://l.test/u/1>\n"
#define LU_HTTP "List-Unsubscribe: <http://l.test/u/1>\n"
#define POST "List-Unsubscribe-Post: List-Unsubscribe=One-Click\n"
#define BOTH "from:to:subject:list-unsubscribe:list-unsubscribe-post"

/*
 * The verdict on whole messages: the headers given, the DKIM result and
 * the signatures recorded (domain and h=, as the DKIM check leaves them).
 */
static void
test_verdict_table(void)
{
	static const struct {
		const char *name, *headers, *dkim, *sigs;	/* sigs: "domain:result:h;..." */
		gboolean allow_http, dkim_off;
		const char *reason;	/* NULL: eligible */
		const char *detail;	/* a part of the detail */
	} cases[] = {
		{ "https, the Post field, both signed", LU_HTTPS POST, "pass", "l.test:pass:" BOTH, FALSE, FALSE,
		  NULL, "a POST to https://l.test/u/1: List-Unsubscribe-Post is right, d=l.test signs both fields" },
		{ "http only", LU_HTTP POST, "pass", "l.test:pass:" BOTH, FALSE, FALSE, "no_https_uri", "no https URI" },
		{ "http with Unsubscribe_Allow_HTTP", LU_HTTP POST, "pass", "l.test:pass:" BOTH, TRUE, FALSE, NULL,
		  "a POST to http://l.test/u/1" },
		{ "mailto only", "List-Unsubscribe: <mailto:leave@l.test>\n" POST, "pass", "l.test:pass:" BOTH, FALSE,
		  FALSE, "no_https_uri", "no https URI" },
		{ "no Post field", LU_HTTPS, "pass", "l.test:pass:" BOTH, FALSE, FALSE, "no_post_field",
		  "no List-Unsubscribe-Post field" },
		{ "a wrong Post field", LU_HTTPS "List-Unsubscribe-Post: List-Unsubscribe=Yes\n", "pass",
		  "l.test:pass:" BOTH, FALSE, FALSE, "wrong_post_field", "not exactly" },
		{ "two Post fields", LU_HTTPS POST POST, "pass", "l.test:pass:" BOTH, FALSE, FALSE, "wrong_post_field",
		  "more than one" },
		{ "two List-Unsubscribe fields (a signature covers the last only)",
		  "List-Unsubscribe: <https://other.test/u/2>\n" LU_HTTPS POST, "pass", "l.test:pass:" BOTH, FALSE, FALSE,
		  "wrong_list_field", "more than one List-Unsubscribe field" },
		{ "Post not signed", LU_HTTPS POST, "pass", "l.test:pass:from:to:list-unsubscribe", FALSE, FALSE,
		  "not_signed", "the h= of d=l.test lacks List-Unsubscribe-Post" },
		{ "neither signed, two passing signatures", LU_HTTPS POST, "pass",
		  "l.test:pass:from;esp.test:pass:from:list-unsubscribe", FALSE, FALSE, "not_signed",
		  "d=l.test lacks List-Unsubscribe, List-Unsubscribe-Post; the h= of d=esp.test lacks List-Unsubscribe-Post" },
		{ "signed only by a failing signature", LU_HTTPS POST, "pass", "l.test:fail:" BOTH ";esp.test:pass:from",
		  FALSE, FALSE, "not_signed", "d=esp.test lacks List-Unsubscribe, List-Unsubscribe-Post" },
		{ "a second, passing signature covers both", LU_HTTPS POST, "pass", "l.test:pass:from;esp.test:pass:" BOTH,
		  FALSE, FALSE, NULL, "d=esp.test signs both fields" },
		{ "no DKIM pass", LU_HTTPS POST, "fail", "l.test:fail:" BOTH, FALSE, FALSE, "no_dkim_pass", "did not pass DKIM" },
		{ "everything wrong: the first reason, every check said", LU_HTTP, "fail", "", FALSE, FALSE, "no_https_uri",
		  "no https URI; no List-Unsubscribe-Post field; the message did not pass DKIM" },
		{ "DKIM_Check = off: the signature is not checked", LU_HTTPS POST, "pass", "", FALSE, TRUE, NULL,
		  "DKIM_Check = off: no signature checked" },
		{ "a field the sink cannot read", "List-Unsubscribe: https://l.test/u/1\n" POST, "pass", "l.test:pass:" BOTH,
		  FALSE, FALSE, "no_https_uri", "no https URI" },
	};
	g_autoptr(SinkConfig) strict = unit_config_from("[Sink]\n");
	g_autoptr(SinkConfig) http = unit_config_from("[Sink]\nUnsubscribe_Allow_HTTP = true\n");
	g_autoptr(SinkConfig) off = unit_config_from("[Sink]\nDKIM_Check = off\n");

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		const SinkConfig *cfg = cases[i].dkim_off ? off : cases[i].allow_http ? http : strict;
		g_autoptr(SinkCtx) ctx = sink_ctx_new(cfg, 1);
		g_autofree char *text = g_strconcat("From: a@l.test\nTo: r@x.sink.test\nSubject: s\n", cases[i].headers,
						    "\nbody\n", NULL);
		g_auto(GStrv) sigs = g_strsplit(cases[i].sigs, ";", -1);

		g_test_message("case: %s", cases[i].name);
		ctx->raw = g_bytes_new(text, strlen(text));
		sink_message_parse(ctx);
		ctx->dkim = g_strdup(cases[i].dkim);
		for (char **s = sigs; *s && **s; s++) {
			g_auto(GStrv) parts = g_strsplit(*s, ":", 3);
			g_ptr_array_add(ctx->dkim_sigs, sink_dkim_sig_new(parts[0], "sel1", parts[1], parts[2]));
		}
		sink_one_click_check(ctx);
		g_assert_nonnull(ctx->unsub);
		g_assert_cmpstr(ctx->unsub->reason, ==, cases[i].reason);
		g_assert_cmpint(ctx->unsub->eligible, ==, cases[i].reason == NULL);
		g_test_message("detail: %s", ctx->unsub->detail);
		g_assert_nonnull(strstr(ctx->unsub->detail, cases[i].detail));
		g_assert_cmpuint(ctx->counters->len, ==, 1);
		g_assert_cmpstr(ctx->counters->pdata[0], ==, cases[i].reason ? "one_click_not_ready" : "one_click_ready");
	}
}

/* A message without List-Unsubscribe gets no verdict and no counter. */
static void
test_no_field_no_verdict(void)
{
	g_autoptr(SinkConfig) cfg = unit_config_from("[Sink]\n");
	g_autoptr(SinkCtx) ctx = sink_ctx_new(cfg, 1);
	const char *text = "From: a@l.test\nTo: r@x.sink.test\n" POST "\nbody\n";

	ctx->raw = g_bytes_new(text, strlen(text));
	sink_message_parse(ctx);
	ctx->dkim = g_strdup("pass");
	sink_one_click_check(ctx);
	g_assert_null(ctx->unsub);
	g_assert_cmpuint(ctx->counters->len, ==, 0);
}

/*
 * Two List-Unsubscribe fields: the last is read (the one a signature that
 * names the field once covers), the problem said; sink_one_click_read (a
 * delayed step's) gives the same verdict and counts nothing.
 */
static void
test_last_field_read(void)
{
	g_autoptr(SinkConfig) cfg = unit_config_from("[Sink]\n");
	const char *text = "From: a@l.test\nTo: r@x.sink.test\nList-Unsubscribe: <https://added.test/u/9>\n" LU_HTTPS
			   POST "\nbody\n";

	for (int counted = 0; counted < 2; counted++) {
		g_autoptr(SinkCtx) ctx = sink_ctx_new(cfg, 1);

		ctx->raw = g_bytes_new(text, strlen(text));
		sink_message_parse(ctx);
		ctx->dkim = g_strdup("pass");
		g_ptr_array_add(ctx->dkim_sigs, sink_dkim_sig_new("l.test", "sel1", "pass", BOTH));
		if (counted)
			sink_one_click_check(ctx);
		else
			sink_one_click_read(ctx);
		g_assert_nonnull(ctx->unsub);
		g_assert_cmpstr(ctx->unsub->reason, ==, "wrong_list_field");
		g_assert_cmpstr(ctx->unsub->post_uri, ==, "https://l.test/u/1");
		g_assert_cmpuint(ctx->unsub->uris->len, ==, 2);
		g_assert_cmpstr(ctx->unsub->uris->pdata[0], ==, "mailto:leave@l.test");
		g_assert_cmpuint(ctx->unsub->problems->len, ==, 1);
		g_assert_cmpstr(ctx->unsub->problems->pdata[0], ==, "2 List-Unsubscribe fields: the last is read");
		g_assert_cmpuint(ctx->counters->len, ==, (guint)counted);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/listunsub/parse-table", test_parse_table);
	g_test_add_func("/listunsub/limits", test_limits);
	g_test_add_func("/listunsub/post-value-exactly", test_post_value);
	g_test_add_func("/listunsub/verdict-table", test_verdict_table);
	g_test_add_func("/listunsub/no-field-no-verdict", test_no_field_no_verdict);
	g_test_add_func("/listunsub/last-field-read", test_last_field_read);
	return g_test_run();
}
