/*
 * test-autoreply.c - the out-of-office reply's pure parts: the loop guards
 * and the list rule on a table of labelled messages, the Subject ("Auto: "
 * and the decoded original, encoded again by GMime), the body from
 * Autoreply_Text, and the reply's headers.
 */
#include <string.h>

#include "autoreply.h"
#include "message.h"
#include "report-int.h"
#include "unit.h"

/* A context for `headers` (LF lines) with a text body, parsed; env_from as PMTA's --from (NULL: none). */
static SinkCtx *
ctx_for(const SinkConfig *cfg, const char *headers, const char *env_from)
{
	SinkCtx *ctx = sink_ctx_new(cfg, 1);
	char *data = g_strconcat(headers, "\nbody\n", NULL);
	gsize len = strlen(data);

	ctx->raw = g_bytes_new_take(data, len);
	ctx->raw_total = len;
	ctx->env_from = g_strdup(env_from);
	sink_message_parse(ctx);
	g_assert_nonnull(ctx->mime);
	return ctx;
}

#define BASE "Return-Path: <b@sender.test>\nFrom: n@sender.test\nTo: x@autoreply.sink.test\nSubject: s\n"

static void
test_guards(void)
{
	static const struct {
		const char *label, *headers, *env_from, *skipped, *detail;
		gboolean lists_too;	/* with Autoreply_Skip_Lists = false, the same verdict */
	} cases[] = {
		{ "a person's message", BASE, NULL, NULL, NULL, TRUE },
		{ "Auto-Submitted: no", BASE "Auto-Submitted: no\n", NULL, NULL, NULL, TRUE },
		{ "Auto-Submitted: No (comment)", BASE "Auto-Submitted: No (a person)\n", NULL, NULL, NULL, TRUE },
		{ "auto-generated", BASE "Auto-Submitted: auto-generated\n", NULL, "auto_submitted",
		  "Auto-Submitted: auto-generated", TRUE },
		{ "auto-replied with a parameter", BASE "auto-submitted: auto-replied; owner-email=\"a@b\"\n", NULL,
		  "auto_submitted", "Auto-Submitted: auto-replied; owner-email=\"a@b\"", TRUE },
		{ "an empty Auto-Submitted", BASE "Auto-Submitted:\n", NULL, "auto_submitted", "Auto-Submitted: (empty)",
		  TRUE },
		{ "a second Auto-Submitted", BASE "Auto-Submitted: no\nAuto-Submitted: auto-notified\n", NULL,
		  "auto_submitted", "Auto-Submitted: auto-notified", TRUE },
		{ "--from \"\"", BASE, "", "null_sender", NULL, TRUE },
		{ "--from <>", BASE, "<>", "null_sender", NULL, TRUE },
		{ "Return-Path: < >", "Return-Path: < >\nFrom: n@sender.test\nSubject: s\n", NULL, "null_sender", NULL,
		  TRUE },
		{ "no Return-Path at all", "From: n@sender.test\nSubject: s\n", NULL, NULL, NULL, TRUE },
		{ "a DSN", BASE "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; "
		  "boundary=b\n", NULL, "report", "a report: multipart/report; report-type=delivery-status", TRUE },
		{ "an ARF report", BASE "MIME-Version: 1.0\nContent-Type: multipart/report; "
		  "report-type=\"feedback-report\"; boundary=b\n", NULL, "report",
		  "a report: multipart/report; report-type=feedback-report", TRUE },
		{ "List-Id", BASE "List-Id: Deals <deals.sender.test>\n", NULL, "list",
		  "list mail: List-Id: Deals <deals.sender.test>", FALSE },
		{ "Precedence: bulk", BASE "Precedence: bulk\n", NULL, "list", "bulk or list mail: Precedence: bulk", FALSE },
		{ "Precedence: JUNK", BASE "Precedence: JUNK\n", NULL, "list", "bulk or list mail: Precedence: junk", FALSE },
		{ "Precedence: list", BASE "Precedence:  list (x)\n", NULL, "list", "bulk or list mail: Precedence: list",
		  FALSE },
		{ "Precedence: first-class", BASE "Precedence: first-class\n", NULL, NULL, NULL, TRUE },
		{ "Precedence: bulky", BASE "Precedence: bulky\n", NULL, NULL, NULL, TRUE },
	};
	g_autoptr(SinkConfig) cfg = sink_config_load(NULL, NULL);
	g_autoptr(SinkConfig) no_lists = unit_config_from("[Sink]\nAutoreply_Skip_Lists = false\n");

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		for (int pass = 0; pass < 2; pass++) {
			g_autoptr(SinkCtx) ctx = ctx_for(pass ? no_lists : cfg, cases[i].headers, cases[i].env_from);
			g_autofree char *detail = NULL;
			const char *why = sink_autoreply_guard(ctx, &detail);
			const char *want = pass && !cases[i].lists_too ? NULL : cases[i].skipped;

			g_test_message("%s%s: %s (%s)", cases[i].label, pass ? " (lists answered)" : "", why ? why : "-",
				       detail ? detail : "-");
			g_assert_cmpstr(why, ==, want);
			if (want && cases[i].detail)
				g_assert_cmpstr(detail, ==, cases[i].detail);
			if (!want)
				g_assert_null(detail);
			else
				g_assert_nonnull(detail);
		}
	}
}

static void
test_subject(void)
{
	static const struct {
		const char *raw, *want;
	} cases[] = {
		{ "Quarterly figures", "Auto: Quarterly figures" },
		{ "=?UTF-8?B?Q2Fmw6kg4piV?=", "Auto: Café ☕" },
		{ "=?iso-8859-1?Q?R=E9union?= =?utf-8?Q?_=C3=BCber?=", "Auto: Réunion über" },
		{ "two\n  lines", "Auto: two lines" },
		{ NULL, "Auto: your message" },
	};
	g_autoptr(SinkConfig) cfg = sink_config_load(NULL, NULL);

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *headers = cases[i].raw ? g_strdup_printf("From: n@sender.test\nSubject: %s\n", cases[i].raw)
							: g_strdup("From: n@sender.test\n");
		g_autoptr(SinkCtx) ctx = ctx_for(cfg, headers, NULL);
		g_autofree char *subject = sink_autoreply_subject(ctx);

		g_assert_cmpstr(subject, ==, cases[i].want);
		g_assert_cmpuint(ctx->notes->len, ==, 0);
	}
}

/* A long or broken Subject is shortened or read as GMime can, and noted. */
static void
test_subject_hostile(void)
{
	g_autoptr(SinkConfig) cfg = sink_config_load(NULL, NULL);
	g_autofree char *x = g_strnfill(100000, 'x');
	g_autofree char *headers = g_strdup_printf("From: n@sender.test\nSubject: %s\n", x);
	g_autoptr(SinkCtx) big = ctx_for(cfg, headers, NULL);
	g_autoptr(SinkCtx) broken = ctx_for(cfg, "From: n@sender.test\nSubject: =?utf-8?B?not*b64?=\n", NULL);
	g_autofree char *s = sink_autoreply_subject(big);
	g_autofree char *b = sink_autoreply_subject(broken);

	g_assert_cmpuint(strlen(s), ==, strlen("Auto: ") + SINK_REPORT_SUBJECT_MAX + 3);
	g_assert_true(g_str_has_suffix(s, "x..."));
	g_assert_cmpuint(big->notes->len, ==, 1);
	g_assert_true(g_str_has_prefix(b, "Auto: "));
	g_assert_true(g_utf8_validate(b, -1, NULL));
	g_assert_null(strpbrk(b, "\r\n"));
	g_assert_cmpuint(broken->notes->len, ==, 1);
}

static void
test_text(void)
{
	static const struct {
		const char *configured, *want;
	} cases[] = {
		{ "Away.", "Away.\n" },
		{ "Away.\\nBack Monday.\\n", "Away.\nBack Monday.\n" },
		{ "C:\\\\temp \\t", "C:\\temp \\t\n" },
		{ "", "\n" },
		{ "trailing\\", "trailing\\\n" },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *text = sink_autoreply_text(cases[i].configured);
		g_assert_cmpstr(text, ==, cases[i].want);
	}
}

/* The reply's fields as a reader sees them once it is on the wire. */
static void
test_build(void)
{
	g_autoptr(SinkConfig) cfg = unit_config_from("[Sink]\nHost_Name = sink.test\nAutoreply_Text = Away.\n");
	g_autoptr(SinkCtx) ctx = ctx_for(cfg, "Return-Path: <b@sender.test>\nFrom: n@sender.test\n"
					      "To: x@autoreply.sink.test\nMessage-ID: <m.1@sender.test>\n"
					      "Subject: =?UTF-8?Q?Caf=C3=A9?=\n", NULL);
	g_autoptr(SinkCtx) bad = ctx_for(cfg, "From: n@sender.test\nSubject: s\n", "a b@sender.test");
	g_autoptr(GError) error = NULL;
	GMimeMessage *msg;
	GMimeObject *obj;
	g_autofree char *wire = NULL;

	g_assert_cmpstr(ctx->rcpt, ==, "x@autoreply.sink.test");	/* from To: */
	msg = sink_autoreply_build(ctx, &error);
	g_assert_no_error(error);
	obj = GMIME_OBJECT(msg);
	g_assert_cmpstr(g_mime_object_get_header(obj, "Auto-Submitted"), ==, "auto-replied");
	g_assert_cmpstr(g_mime_object_get_header(obj, "In-Reply-To"), ==, "<m.1@sender.test>");
	g_assert_cmpstr(g_mime_object_get_header(obj, "References"), ==, "<m.1@sender.test>");
	g_assert_cmpstr(g_mime_message_get_subject(msg), ==, "Auto: Café");
	g_assert_true(g_mime_content_type_is_type(g_mime_object_get_content_type(g_mime_message_get_mime_part(msg)),
						  "text", "plain"));
	g_object_unref(msg);
	/* the wire form: the Subject in encoded words (GMime's), ASCII headers */
	msg = sink_autoreply_build(ctx, NULL);
	wire = g_mime_object_to_string(GMIME_OBJECT(msg), NULL);
	g_assert_nonnull(strstr(wire, "Subject: Auto: =?"));
	g_assert_true(g_str_is_ascii(wire));
	g_object_unref(msg);

	bad->rcpt = g_strdup("x@autoreply.sink.test");
	g_assert_null(sink_autoreply_build(bad, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/autoreply/guards", test_guards);
	g_test_add_func("/autoreply/subject", test_subject);
	g_test_add_func("/autoreply/subject-hostile", test_subject_hostile);
	g_test_add_func("/autoreply/text", test_text);
	g_test_add_func("/autoreply/build", test_build);
	return g_test_run();
}
