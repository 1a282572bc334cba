/*
 * test-mailto.c - a List-Unsubscribe mailto: URI read as RFC 6068 says
 * (mailto.c): the first address, percent-decoding, subject and body only;
 * and never a header injection, whatever the URI holds.  Then the message
 * built for it, read back with GMime.
 */
#include <string.h>

#include "mailto.h"
#include "message.h"
#include "report-int.h"
#include "unit.h"

static void
test_parse_table(void)
{
	static const struct {
		const char *name, *uri;
		const char *to, *subject, *body;	/* to NULL: refused */
		const char *why;	/* when refused: a part of the reason */
	} cases[] = {
		{ "address only", "mailto:leave@l.test", "leave@l.test", NULL, NULL, NULL },
		{ "subject percent-decoded", "mailto:leave@l.test?subject=unsubscribe%20me%20%E2%9C%93",
		  "leave@l.test", "unsubscribe me \xe2\x9c\x93", NULL, NULL },
		{ "'+' is a plus, not a space", "mailto:a+list@l.test?subject=a+b", "a+list@l.test", "a+b", NULL, NULL },
		{ "subject and body, hfield names in any case", "mailto:leave@l.test?Subject=s&BODY=line%201%0D%0Aline%202",
		  "leave@l.test", "s", "line 1\nline 2", NULL },
		{ "several addresses: the first", "mailto:first@l.test,second@l.test?subject=x", "first@l.test", "x", NULL,
		  NULL },
		{ "a percent-encoded address", "mailto:leave%2B123@l.test", "leave+123@l.test", NULL, NULL, NULL },
		{ "the address from a to hfield", "mailto:?to=via-hfield@l.test&subject=x", "via-hfield@l.test", "x", NULL,
		  NULL },
		{ "cc, bcc and other hfields are left out", "mailto:leave@l.test?cc=boss@l.test&bcc=x@l.test&in-reply-to=%3Cx%3E",
		  "leave@l.test", NULL, NULL, NULL },
		{ "the first subject counts", "mailto:leave@l.test?subject=one&subject=two", "leave@l.test", "one", NULL, NULL },
		{ "a bare CR or LF in a body is a line break", "mailto:leave@l.test?body=a%0Db%0Ac", "leave@l.test", NULL,
		  "a\nb\nc", NULL },
		{ "MAILTO: in any case", "MAILTO:leave@l.test", "leave@l.test", NULL, NULL, NULL },
		{ "CRLF in the subject is a header injection", "mailto:leave@l.test?subject=x%0D%0ABcc:%20all@l.test", NULL,
		  NULL, NULL, "subject holds CR, LF, NUL" },
		{ "a lone LF in the subject", "mailto:leave@l.test?subject=x%0Ay", NULL, NULL, NULL, "subject holds" },
		{ "NUL in the subject", "mailto:leave@l.test?subject=x%00y", NULL, NULL, NULL, "subject holds" },
		{ "NUL in the body", "mailto:leave@l.test?body=x%00y", NULL, NULL, NULL, "body holds a NUL" },
		{ "CRLF in the address", "mailto:leave@l.test%0D%0ABcc:x@l.test", NULL, NULL, NULL, "not an address" },
		{ "a bad %-escape", "mailto:leave@l.test?subject=100%", NULL, NULL, NULL, "bad %-escape" },
		{ "a bad %-escape in the address", "mailto:le%zzave@l.test", NULL, NULL, NULL, "bad %-escape" },
		{ "not UTF-8", "mailto:leave@l.test?subject=%FF%FE", NULL, NULL, NULL, "not UTF-8" },
		{ "no address", "mailto:?subject=x", NULL, NULL, NULL, "names no address" },
		{ "not an address", "mailto:nobody", NULL, NULL, NULL, "not an address" },
		{ "not mailto", "https://l.test/u", NULL, NULL, NULL, "not a mailto: URI" },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		SinkMailto m;
		g_autofree char *why = NULL;
		gboolean ok;

		g_test_message("case: %s", cases[i].name);
		ok = sink_mailto_parse(cases[i].uri, &m, &why);
		g_assert_cmpint(ok, ==, cases[i].to != NULL);
		if (ok) {
			g_assert_null(why);
			g_assert_cmpstr(m.to, ==, cases[i].to);
			g_assert_cmpstr(m.subject, ==, cases[i].subject);
			g_assert_cmpstr(m.body, ==, cases[i].body);
		} else {
			g_assert_null(m.to);
			g_assert_null(m.subject);
			g_assert_nonnull(why);
			g_test_message("why: %s", why);
			g_assert_nonnull(strstr(why, cases[i].why));
		}
		sink_mailto_clear(&m);
	}
}

/* The message: From the reader, To the address, the URI's subject (RFC 2047 when it needs it) and body. */
static void
test_build(void)
{
	g_autoptr(SinkConfig) cfg = unit_config_from("[Sink]\nHost_Name = sink.test\n");
	g_autoptr(SinkCtx) ctx = sink_ctx_new(cfg, 1);
	SinkMailto m, plain;
	g_autofree char *why = NULL, *wire = NULL, *wire2 = NULL;
	GMimeMessage *msg;

	sink_gmime_init();
	ctx->message_id = g_strdup("orig-1@l.test");
	g_assert_true(sink_mailto_parse("mailto:leave@l.test?subject=d%C3%A9sabonner&body=bye%0D%0Anow", &m, &why));
	msg = sink_mailto_build(ctx, &m, "reader@x.sink.test");
	wire = sink_report_serialize(msg, NULL);
	g_object_unref(msg);
	g_test_message("%s", wire);
	g_assert_nonnull(strstr(wire, "From: reader@x.sink.test\r\n"));
	g_assert_nonnull(strstr(wire, "To: leave@l.test\r\n"));
	g_assert_nonnull(strstr(wire, "Subject: =?"));		/* non-ASCII: an encoded word */
	g_assert_nonnull(strstr(wire, "Message-Id: <"));
	g_assert_nonnull(strstr(wire, "@sink.test>\r\n"));
	g_assert_nonnull(strstr(wire, "Content-Type: text/plain"));
	g_assert_nonnull(strstr(wire, "\r\n\r\nbye\r\nnow\r\n"));
	g_assert_null(strstr(wire, "In-Reply-To"));	/* a new message to the list, not a reply */
	sink_mailto_clear(&m);

	/* without subject and body: "unsubscribe" and a line saying what it asks */
	g_assert_true(sink_mailto_parse("mailto:leave@l.test", &plain, &why));
	msg = sink_mailto_build(ctx, &plain, "reader@x.sink.test");
	wire2 = sink_report_serialize(msg, NULL);
	g_object_unref(msg);
	g_assert_nonnull(strstr(wire2, "Subject: unsubscribe\r\n"));
	g_assert_nonnull(strstr(wire2, "Please remove reader@x.sink.test from this list."));
	g_assert_nonnull(strstr(wire2, "<orig-1@l.test>"));
	sink_mailto_clear(&plain);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/mailto/parse-table", test_parse_table);
	g_test_add_func("/mailto/build", test_build);
	return g_test_run();
}
