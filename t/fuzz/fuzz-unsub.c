/*
 * fuzz-unsub - bytes as a List-Unsubscribe value (listunsub.c, RFC 2369)
 * and each mailto: URI it keeps through the RFC 6068 reader (mailto.c).
 * Checks: at most SINK_LIST_UNSUB_MAX_URIS are kept, each printable ASCII
 * without white space and of a scheme the sink uses; every problem is one
 * line of valid UTF-8; a mailto: that is taken has an address without
 * white space or controls and a subject without controls (no header
 * injection), and a body without NUL or CR.
 */
#include <string.h>

#include "fuzz-common.h"
#include "listunsub.h"
#include "mailto.h"

static gboolean
printable_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return FALSE;
	return TRUE;
}

static gboolean
no_controls(const char *s, gboolean allow_lf)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t' && !(allow_lf && *s == '\n')) || *s == 0x7f)
			return FALSE;
	return TRUE;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GPtrArray) uris = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *value = g_strndup((const char *)data, size);	/* a header value ends at a NUL */
	guint n = sink_list_unsub_parse(value, uris, problems);

	fuzz_assert(n == uris->len, "the count is not the URIs kept");
	fuzz_assert(n <= SINK_LIST_UNSUB_MAX_URIS, "more URIs kept than the limit");
	for (guint i = 0; i < problems->len; i++) {
		const char *p = problems->pdata[i];
		fuzz_assert(g_utf8_validate(p, -1, NULL), "a problem sentence that is not UTF-8");
		fuzz_assert(strpbrk(p, "\r\n") == NULL, "a problem sentence over two lines");
	}
	for (guint i = 0; i < uris->len; i++) {
		const char *u = uris->pdata[i];
		SinkMailto m;
		g_autofree char *why = NULL;

		fuzz_assert(printable_ascii(u), "a URI kept with white space, a control or non-ASCII");
		fuzz_assert(sink_uri_scheme(u) != SINK_URI_OTHER, "a URI kept of a scheme the sink does not use");
		if (sink_uri_scheme(u) != SINK_URI_MAILTO)
			continue;
		if (!sink_mailto_parse(u, &m, &why)) {
			fuzz_assert(why != NULL && *why, "a mailto: refused without a reason");
			continue;
		}
		fuzz_assert(why == NULL, "a mailto: taken with a reason to refuse it");
		fuzz_assert(m.to && strchr(m.to, '@') && no_controls(m.to, FALSE) && !strchr(m.to, ' '),
			    "a mailto: address with white space or controls");
		fuzz_assert(m.subject == NULL || no_controls(m.subject, FALSE), "a mailto: subject with a control (header injection)");
		fuzz_assert(m.body == NULL || (g_utf8_validate(m.body, -1, NULL) && !strchr(m.body, '\r')),
			    "a mailto: body with a CR or not UTF-8");
		sink_mailto_clear(&m);
	}
	return 0;
}
