/*
 * fetchaddr.c - which addresses a fetch may connect to (fetch.h's
 * sink_fetch_address_allowed): public unicast only.  Loopback, private,
 * link-local (the 169.254.169.254 metadata service), multicast and the
 * other special-purpose ranges of RFC 6890 and its friends are refused,
 * and an IPv6 address that carries an IPv4 one (mapped, NAT64, 6to4) is
 * judged by the IPv4 address inside.
 */
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "fetch.h"

typedef struct {
	guint8 prefix[16];
	guint bits;
	const char *what;
} Range;

/* IPv4 special-purpose ranges (RFC 6890 and friends), as the first bytes of the prefix. */
static const Range ranges4[] = {
	{ { 0 }, 8, "\"this network\" (0.0.0.0/8)" },
	{ { 10 }, 8, "private (10.0.0.0/8)" },
	{ { 100, 64 }, 10, "shared address space (100.64.0.0/10)" },
	{ { 127 }, 8, "loopback (127.0.0.0/8)" },
	{ { 169, 254 }, 16, "link-local (169.254.0.0/16)" },
	{ { 172, 16 }, 12, "private (172.16.0.0/12)" },
	{ { 192, 0, 0 }, 24, "IETF protocol assignments (192.0.0.0/24)" },
	{ { 192, 0, 2 }, 24, "documentation (192.0.2.0/24)" },
	{ { 192, 88, 99 }, 24, "6to4 relay anycast (192.88.99.0/24)" },
	{ { 192, 168 }, 16, "private (192.168.0.0/16)" },
	{ { 198, 18 }, 15, "benchmarking (198.18.0.0/15)" },
	{ { 198, 51, 100 }, 24, "documentation (198.51.100.0/24)" },
	{ { 203, 0, 113 }, 24, "documentation (203.0.113.0/24)" },
	{ { 224 }, 4, "multicast (224.0.0.0/4)" },
	{ { 240 }, 4, "reserved or broadcast (240.0.0.0/4)" },
};

/* IPv6 ranges refused inside global unicast (2000::/3); everything outside it is refused too. */
static const Range ranges6[] = {
	{ { 0x20, 0x01, 0x0d, 0xb8 }, 32, "documentation (2001:db8::/32)" },
	{ { 0x20, 0x01 }, 23, "IETF protocol assignments (2001::/23)" },
	{ { 0x3f, 0xff }, 20, "documentation (3fff::/20)" },
};

static gboolean
in_range(const guint8 *addr, const Range *r)
{
	guint whole = r->bits / 8, rest = r->bits % 8;

	if (memcmp(addr, r->prefix, whole) != 0)
		return FALSE;
	return rest == 0 || ((addr[whole] ^ r->prefix[whole]) & (0xff << (8 - rest))) == 0;
}

static const char *
special4(const guint8 *a)
{
	for (gsize i = 0; i < G_N_ELEMENTS(ranges4); i++)
		if (in_range(a, &ranges4[i]))
			return ranges4[i].what;
	return NULL;
}

static const char *
special6(const guint8 *a)
{
	static const guint8 zero[16];
	static const guint8 mapped[12] = { [10] = 0xff, [11] = 0xff };
	static const guint8 nat64[12] = { 0x00, 0x64, 0xff, 0x9b };

	if (memcmp(a, zero, 15) == 0 && a[15] <= 1)
		return a[15] ? "loopback (::1)" : "unspecified (::)";
	if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0)	/* an IPv4 address inside */
		return special4(a + 12);
	if (a[0] == 0x20 && a[1] == 0x02)	/* 6to4: 2002:AABB:CCDD::/48 carries AA.BB.CC.DD */
		return special4(a + 2);
	if ((a[0] & 0xfe) == 0xfc)
		return "unique local (fc00::/7)";
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return "link-local (fe80::/10)";
	if (a[0] == 0xff)
		return "multicast (ff00::/8)";
	if ((a[0] & 0xe0) != 0x20)
		return "not global unicast (outside 2000::/3)";
	for (gsize i = 0; i < G_N_ELEMENTS(ranges6); i++)
		if (in_range(a, &ranges6[i]))
			return ranges6[i].what;
	return NULL;
}

gboolean
sink_fetch_address_allowed(const struct sockaddr *sa, char **why)
{
	char text[INET6_ADDRSTRLEN] = "?";
	const char *what;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		what = special4((const guint8 *)&in->sin_addr);
		inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		what = special6(in6->sin6_addr.s6_addr);
		inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
	} else {
		what = "not an internet address";
	}
	if (what && why)
		*why = g_strdup_printf("%s is %s", text, what);
	return what == NULL;
}
