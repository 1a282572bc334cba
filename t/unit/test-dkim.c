/*
 * test-dkim.c - the DKIM check's results that need no key from DNS:
 * unsigned messages (LF and CRLF) are "none", not a failure of the library;
 * DKIM_Check = off passes; the verdict is stable when run twice.  Signed
 * messages (pass, bodyhash, fail, nokey, temperror) are verified against
 * real DNS in t/trust.bats.
 */
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "dkim.h"
#include "unit.h"

static const char unsigned_lf[] =
	"Return-Path: <bounces@sender.test>\n"
	"From: News <news@sender.test>\n"
	"To: x@fbl.sink.test\n"
	"Subject: unsigned\n"
	"Message-ID: <1@sender.test>\n"
	"\n"
	"Hello.\n";

static void
check_raw(const SinkConfig *cfg, const char *raw, const char *expect)
{
	g_autoptr(SinkCtx) ctx = sink_ctx_new(cfg, 1);
	g_autoptr(GError) error = NULL;

	ctx->raw = g_bytes_new(raw, strlen(raw));
	g_assert_true(sink_dkim_check(ctx, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(ctx->dkim, ==, expect);
	g_assert_nonnull(ctx->dkim_detail);
	/* a second run over the same context gives the same verdict and frees the first */
	g_assert_true(sink_dkim_check(ctx, &error));
	g_assert_cmpstr(ctx->dkim, ==, expect);
}

static void
test_unsigned_is_none(void)
{
	g_autoptr(SinkConfig) cfg = unit_config_from("[Sink]\nDKIM_Check = verify\n");
	g_autofree char *crlf = NULL;
	g_auto(GStrv) lines = g_strsplit(unsigned_lf, "\n", -1);

	crlf = g_strjoinv("\r\n", lines);
	g_test_message("LF line endings");
	check_raw(cfg, unsigned_lf, "none");
	g_test_message("CRLF line endings");
	check_raw(cfg, crlf, "none");
	g_test_message("headers only, no body");
	check_raw(cfg, "From: a@sender.test\nTo: x@fbl.sink.test\nSubject: s\n", "none");
}

static void
test_off_passes(void)
{
	g_autoptr(SinkConfig) cfg = unit_config_from("[Sink]\nDKIM_Check = off\n");

	check_raw(cfg, unsigned_lf, "pass");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/dkim/verify/unsigned-is-none", test_unsigned_is_none);
	g_test_add_func("/dkim/off/passes-everything", test_off_passes);
	return g_test_run();
}
