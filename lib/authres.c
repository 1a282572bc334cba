/*
 * authres.c - reading an Authentication-Results header (RFC 8601) for the
 * DKIM_Check = header mode: trusted only when its authserv-id is our own
 * host name, as PMTA's check-dkim-inbound writes it.
 */
#include <string.h>

#include "dkim.h"

/* Skip CFWS: white space and (nested) comments. */
static const char *
skip_cfws(const char *p)
{
	for (;;) {
		while (g_ascii_isspace(*p))
			p++;
		if (*p != '(')
			return p;
		int depth = 0;
		do {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')')
				depth--;
			p++;
		} while (*p && depth > 0);
	}
}

gboolean
sink_authres_dkim_pass(const char *value, const char *host_name)
{
	const char *p, *end;

	if (value == NULL || host_name == NULL)
		return FALSE;
	p = skip_cfws(value);
	end = p;
	while (*end && *end != ';' && !g_ascii_isspace(*end) && *end != '(')
		end++;
	if ((size_t)(end - p) != strlen(host_name) || g_ascii_strncasecmp(p, host_name, (size_t)(end - p)) != 0)
		return FALSE;
	/* each resinfo after ';' is "method=result ..."; look for dkim=pass */
	for (p = strchr(end, ';'); p; p = strchr(p, ';')) {
		p = skip_cfws(p + 1);
		if (g_ascii_strncasecmp(p, "dkim", 4) == 0) {
			const char *q = skip_cfws(p + 4);
			if (*q == '=') {
				q = skip_cfws(q + 1);
				if (g_ascii_strncasecmp(q, "pass", 4) == 0 &&
				    !g_ascii_isalnum(q[4]) && q[4] != '-' && q[4] != '_')
					return TRUE;
			}
		}
	}
	return FALSE;
}
