/*
 * test-serve.c - sink-stats --serve's address: "[ADDR:]PORT", the address
 * IPv4 or bracketed IPv6, 127.0.0.1 when left out.  The server itself is
 * tested end to end, with curl and a browser, in t/serve.bats.
 */
#include <string.h>

#include "serve.h"

static void
test_addresses(void)
{
	static const struct {
		const char *text;
		const char *host;	/* NULL: refused */
		guint16 port;
	} cases[] = {
		{ "8888", "127.0.0.1", 8888 },
		{ "0", "127.0.0.1", 0 },
		{ "0.0.0.0:80", "0.0.0.0", 80 },
		{ "192.0.2.7:65535", "192.0.2.7", 65535 },
		{ "[::1]:8888", "::1", 8888 },
		{ "[::]:9", "::", 9 },
		{ "65536", NULL, 0 },
		{ "-1", NULL, 0 },
		{ "", NULL, 0 },
		{ "x", NULL, 0 },
		{ "host.example:80", NULL, 0 },
		{ "::1:80", NULL, 0 },		/* an IPv6 address needs its brackets */
		{ "[::1]", NULL, 0 },
		{ "[::1]80", NULL, 0 },
		{ "1.2.3:80", NULL, 0 },
		{ "127.0.0.1:", NULL, 0 },
		{ "127.0.0.1:8888 ", NULL, 0 },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(GInetSocketAddress) a = sink_serve_parse_address(cases[i].text, &error);

		if (cases[i].host == NULL) {
			g_assert_null(a);
			g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
			g_assert_nonnull(strstr(error->message, cases[i].text));
			continue;
		}
		g_assert_no_error(error);
		g_autofree char *host = g_inet_address_to_string(g_inet_socket_address_get_address(a));
		g_assert_cmpstr(host, ==, cases[i].host);
		g_assert_cmpuint(g_inet_socket_address_get_port(a), ==, cases[i].port);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/serve/address", test_addresses);
	return g_test_run();
}
