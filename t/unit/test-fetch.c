/*
 * test-fetch.c - what fetch.c may connect to (public unicast only, unless
 * allowed) and how it reads URLs (origin for the tracking-host cache).
 * The fetches themselves are tested end to end in t/engage.bats.
 */
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "fetch.h"

static gboolean
allowed(const char *ip, char **why)
{
	struct sockaddr_storage ss = { 0 };

	if (strchr(ip, ':')) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		in6->sin6_family = AF_INET6;
		g_assert_cmpint(inet_pton(AF_INET6, ip, &in6->sin6_addr), ==, 1);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		in->sin_family = AF_INET;
		g_assert_cmpint(inet_pton(AF_INET, ip, &in->sin_addr), ==, 1);
	}
	return sink_fetch_address_allowed((struct sockaddr *)&ss, why);
}

static void
test_addresses(void)
{
	static const struct {
		const char *ip;
		const char *refused_as;	/* NULL: allowed */
	} cases[] = {
		{ "93.184.216.34", NULL },
		{ "8.8.8.8", NULL },
		{ "1.1.1.1", NULL },
		{ "100.63.255.255", NULL },
		{ "100.128.0.0", NULL },
		{ "172.15.255.255", NULL },
		{ "172.32.0.0", NULL },
		{ "11.0.0.1", NULL },
		{ "223.255.255.255", NULL },
		{ "0.0.0.0", "this network" },
		{ "0.1.2.3", "this network" },
		{ "10.1.2.3", "private" },
		{ "100.64.0.1", "shared" },
		{ "100.127.255.255", "shared" },
		{ "127.0.0.1", "loopback" },
		{ "127.0.0.80", "loopback" },
		{ "169.254.169.254", "link-local" },
		{ "172.16.0.1", "private" },
		{ "172.31.255.255", "private" },
		{ "192.0.0.8", "IETF" },
		{ "192.0.2.1", "documentation" },
		{ "192.168.1.1", "private" },
		{ "198.18.0.1", "benchmarking" },
		{ "198.19.255.255", "benchmarking" },
		{ "198.51.100.7", "documentation" },
		{ "203.0.113.1", "documentation" },
		{ "224.0.0.1", "multicast" },
		{ "239.255.255.250", "multicast" },
		{ "240.0.0.1", "reserved" },
		{ "255.255.255.255", "broadcast" },
		{ "2606:4700:4700::1111", NULL },
		{ "2a00:1450:4001:80b::200e", NULL },
		{ "::ffff:93.184.216.34", NULL },
		{ "64:ff9b::808:808", NULL },
		{ "2002:5db8:d822::1", NULL },
		{ "::", "unspecified" },
		{ "::1", "loopback" },
		{ "::ffff:127.0.0.1", "loopback" },
		{ "::ffff:169.254.169.254", "link-local" },
		{ "::ffff:10.0.0.1", "private" },
		{ "64:ff9b::a00:1", "private" },
		{ "2002:7f00:1::1", "loopback" },
		{ "fc00::1", "unique local" },
		{ "fd12:3456::1", "unique local" },
		{ "fe80::1", "link-local" },
		{ "febf::1", "link-local" },
		{ "fec0::1", "not global unicast" },
		{ "ff02::1", "multicast" },
		{ "2001:db8::1", "documentation" },
		{ "2001::1", "IETF" },
		{ "3fff::1", "documentation" },
		{ "100::1", "not global unicast" },
		{ "::127.0.0.1", "not global unicast" },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *why = NULL;
		gboolean ok = allowed(cases[i].ip, &why);

		g_test_message("%s: %s", cases[i].ip, why ? why : "allowed");
		if (cases[i].refused_as == NULL) {
			g_assert_true(ok);
			g_assert_null(why);
		} else {
			g_assert_false(ok);
			g_assert_nonnull(why);
			g_assert_nonnull(strstr(why, cases[i].refused_as));
		}
	}
}

static void
test_urls(void)
{
	static const struct {
		const char *in, *url, *origin, *host;
	} cases[] = {
		{ "http://track.test/q/open1", "http://track.test/q/open1", "http://track.test", "track.test" },
		{ "HTTPS://Track.Test/Path?Q=1", "https://Track.Test/Path?Q=1", "https://track.test", "track.test" },
		{ "http://track.test:80/x", "http://track.test:80/x", "http://track.test", "track.test" },
		{ "https://track.test:8443/x", "https://track.test:8443/x", "https://track.test:8443", "track.test" },
		{ "http://user:pw@track.test/x", "http://user:pw@track.test/x", "http://track.test", "track.test" },
		{ "http://track.test", "http://track.test/", "http://track.test", "track.test" },
		{ "http://track.test/a b", "http://track.test/a%20b", "http://track.test", "track.test" },
		{ "http://[2001:db8::1]:8080/", "http://[2001:db8::1]:8080/", "http://[2001:db8::1]:8080", "[2001:db8::1]" },
		{ "ftp://track.test/x", NULL, NULL, NULL },
		{ "http://bad host/", NULL, NULL, NULL },
		{ "not a url", NULL, NULL, NULL },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *origin = NULL, *host = NULL;
		g_autofree char *url = sink_url_parse(cases[i].in, &origin, &host);

		g_test_message("%s", cases[i].in);
		g_assert_cmpstr(url, ==, cases[i].url);
		g_assert_cmpstr(origin, ==, cases[i].origin);
		g_assert_cmpstr(host, ==, cases[i].host);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/fetch/only-public-unicast-addresses", test_addresses);
	g_test_add_func("/fetch/url-origin-and-host", test_urls);
	return g_test_run();
}
