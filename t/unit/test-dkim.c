/*
 * test-dkim.c - the DKIM check's results that need no key from DNS:
 * unsigned messages (LF and CRLF) are "none", not a failure of the library;
 * DKIM_Check = off passes; the verdict is stable when run twice.  Signed
 * messages (pass, bodyhash, fail, nokey, temperror) are verified against
 * real DNS in t/trust.bats.  Signing (sign.c): the signature field is
 * well formed (CRLF-folded, the tags and fields a provider's have), and a
 * file that holds no private key is an error naming the key; that the
 * signatures verify is t/report.bats's (python3-dkim against DNS).
 */
#include <arpa/nameser.h>
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

/* A config that signs with a fresh 1024-bit RSA key in a temporary file (openssl genpkey); NULL: no openssl. */
static SinkConfig *
signing_config(char **key_path)
{
	g_autofree char *out = NULL, *text = NULL;
	int fd = g_file_open_tmp("sink-unit-XXXXXX.pem", key_path, NULL);
	int status = -1;
	char *argv[] = { "openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", *key_path, NULL };

	close(fd);
	if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL,
			  &status, NULL) || status != 0)
		return NULL;
	text = g_strdup_printf("[Sink]\nDKIM_Sign_Domain = sink.example\nDKIM_Sign_Selector = s1\nDKIM_Sign_Key = %s\n",
			       *key_path);
	return unit_config_from(text);
}

static void
test_sign_field(void)
{
	static const char msg[] = "From: <x@fbl.sink.example>\r\nTo: <fbl@sender.test>\r\nSubject: Abuse report\r\n"
				  "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <1@sink.example>\r\n"
				  "In-Reply-To: <o@sender.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n"
				  "X-Other: not signed\r\n\r\nHello.\r\n";
	g_autofree char *key_path = NULL, *sig = NULL, *unfolded = NULL;
	g_autoptr(SinkConfig) cfg = signing_config(&key_path);
	g_autoptr(GError) error = NULL;
	g_autoptr(GRegex) h = NULL, ws = NULL;
	g_autoptr(GMatchInfo) match = NULL;
	static const char *const expect[] = { "from", "to", "subject", "date", "message-id", "in-reply-to",
					      "mime-version", "content-type" };

	if (cfg == NULL) {
		g_test_skip("no openssl to make a key");
		g_unlink(key_path);
		return;
	}
	g_assert_true(sink_dkim_sign_check(cfg, &error));
	g_assert_no_error(error);
	sig = sink_dkim_sign(cfg, msg, sizeof msg - 1, &error);
	g_assert_no_error(error);
	g_assert_true(g_str_has_prefix(sig, "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=sink.example; s=s1;"));
	g_assert_true(g_str_has_suffix(sig, "\r\n"));
	for (const char *p = sig; *p; p++) {	/* every line end CRLF, every continuation folded */
		if (*p == '\n') {
			g_assert_true(p > sig && p[-1] == '\r');
			g_assert_true(p[1] == '\0' || p[1] == '\t' || p[1] == ' ');
		}
		g_assert_true(*p != '\r' || p[1] == '\n');
	}
	ws = g_regex_new("\\s+", 0, 0, NULL);
	unfolded = g_regex_replace(ws, sig, -1, 0, "", 0, NULL);	/* FWS is no part of a tag's value */
	h = g_regex_new(";h=([^;]*);", 0, 0, NULL);
	g_assert_true(g_regex_match(h, unfolded, 0, &match));
	g_autofree char *h_value = g_match_info_fetch(match, 1);
	g_autofree char *list = g_ascii_strdown(h_value, -1);
	g_autofree char *fields = g_strdup_printf(":%s:", list);
	g_test_message("h=%s", list);
	for (guint i = 0; i < G_N_ELEMENTS(expect); i++) {
		g_autofree char *needle = g_strdup_printf(":%s:", expect[i]);
		g_assert_nonnull(strstr(fields, needle));
	}
	g_assert_null(strstr(fields, "x-other"));
	g_unlink(key_path);
}

static void
test_sign_needs_a_private_key(void)
{
	g_autofree char *path = NULL, *text = NULL;
	int fd = g_file_open_tmp("sink-unit-XXXXXX.pem", &path, NULL);
	g_autoptr(SinkConfig) cfg = NULL;
	g_autoptr(GError) error = NULL;

	close(fd);
	g_assert_true(g_file_set_contents(path, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", -1, NULL));
	text = g_strdup_printf("[Sink]\nDKIM_Sign_Domain = sink.example\nDKIM_Sign_Selector = s1\nDKIM_Sign_Key = %s\n", path);
	cfg = unit_config_from(text);	/* the file opens: the config loads */
	g_assert_false(sink_dkim_sign_check(cfg, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
	g_assert_nonnull(strstr(error->message, "DKIM_Sign_Key"));
	g_assert_nonnull(strstr(error->message, path));
	g_assert_nonnull(strstr(error->message, "not an RSA private key in PEM"));
	g_clear_error(&error);
	g_assert_null(sink_dkim_sign(cfg, "From: a@b\r\n\r\nx\r\n", 13, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
	g_unlink(path);
}

/* A reply to the TXT question for sel1._domainkey.sender.test: flags, then each answer record's type and TTL. */
static GByteArray *
reply_of(guint16 flags, guint n, const guint32 (*rrs)[2])
{
	static const guint8 question[] = "\4sel1\12_domainkey\6sender\4test\0\0\20\0\1";
	GByteArray *r = g_byte_array_new();
	guint8 head[12] = { 0x12, 0x34, flags >> 8, flags & 0xff, 0, 1, 0, (guint8)n, 0, 0, 0, 0 };

	g_byte_array_append(r, head, sizeof head);
	g_byte_array_append(r, question, sizeof question - 1);
	for (guint i = 0; i < n; i++) {
		guint32 type = rrs[i][0], ttl = rrs[i][1];
		guint8 rr[10] = { 0xc0, 12, 0, (guint8)type, 0, 1, ttl >> 24, ttl >> 16, ttl >> 8, ttl };
		static const guint8 txt[] = { 0, 9, 8, 'v', '=', 'D', 'K', 'I', 'M', '1', ';' };
		static const guint8 cname[] = { 0, 2, 0xc0, 12 };

		g_byte_array_append(r, rr, sizeof rr);
		if (type == ns_t_txt)
			g_byte_array_append(r, txt, sizeof txt);
		else
			g_byte_array_append(r, cname, sizeof cname);
	}
	return r;
}

/* How long the key cache keeps a reply: its least TTL, capped; never one libopendkim would not take as a key. */
static void
test_key_ttl(void)
{
	static const guint32 one[][2] = { { ns_t_txt, 300 } };
	static const guint32 chain[][2] = { { ns_t_cname, 60 }, { ns_t_txt, 300 } };
	static const guint32 zero[][2] = { { ns_t_txt, 0 } };
	static const guint32 long_ttl[][2] = { { ns_t_txt, 86400 } };
	static const guint32 top_bit[][2] = { { ns_t_txt, 0x80000001u } };
	static const guint32 two[][2] = { { ns_t_txt, 300 }, { ns_t_txt, 300 } };
	static const guint32 after[][2] = { { ns_t_txt, 300 }, { ns_t_cname, 300 } };
	static const guint32 other[][2] = { { ns_t_a, 300 }, { ns_t_txt, 300 } };
	static const struct { guint16 flags; guint n; const guint32 (*rrs)[2]; guint32 expect; } cases[] = {
		{ 0x8180, 1, one, 300 },
		{ 0x8180, 2, chain, 60 },		/* the least along the chain */
		{ 0x8180, 1, zero, 0 },
		{ 0x8180, 1, long_ttl, SINK_DKIM_KEY_MAX_TTL_S },
		{ 0x8180, 1, top_bit, 0 },		/* RFC 2181 section 8 */
		{ 0x8180, 0, NULL, 0 },			/* no answer */
		{ 0x8183, 0, NULL, 0 },			/* NXDOMAIN */
		{ 0x8182, 1, one, 0 },			/* SERVFAIL, whatever it holds */
		{ 0x8380, 1, one, 0 },			/* truncated */
		{ 0x8180, 2, two, 0 },			/* two keys: libopendkim's error */
		{ 0x8180, 2, after, 0 },
		{ 0x8180, 2, other, 0 },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GByteArray) r = reply_of(cases[i].flags, cases[i].n, cases[i].rrs);

		g_assert_cmpuint(sink_dkim_key_ttl(r->data, (int)r->len), ==, cases[i].expect);
		/* a reply cut short is not kept */
		if (cases[i].expect > 0)
			g_assert_cmpuint(sink_dkim_key_ttl(r->data, (int)r->len - 1), ==, 0);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/dkim/verify/unsigned-is-none", test_unsigned_is_none);
	g_test_add_func("/dkim/off/passes-everything", test_off_passes);
	g_test_add_func("/dkim/verify/key-cache-ttl", test_key_ttl);
	g_test_add_func("/dkim/sign/field-is-well-formed", test_sign_field);
	g_test_add_func("/dkim/sign/needs-a-private-key", test_sign_needs_a_private_key);
	return g_test_run();
}
