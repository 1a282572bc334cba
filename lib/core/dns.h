/*
 * dns.h - bounded DNS look-ups for the trust checks (DKIM keys, SPF, the
 * Return-Path MX).
 *
 * glibc's resolver, and with it the default resolvers of libopendkim and
 * libspf2, waits timeout x attempts x servers on a name server that never
 * answers (10 s or more with the defaults).  Every look-up here runs on its
 * own resolver state with one try whose per-server waits add up to at most
 * the given timeout (glibc waits at least a second for a server, so only as
 * many of the configured servers are asked as fit in it), so a dead DNS
 * costs at most DNS_Timeout per look-up.
 * dkim.c and spf.c plug these look-ups into their libraries.
 */
#ifndef SINK_DNS_H
#define SINK_DNS_H

#include <glib.h>

#include "context.h"

typedef enum {
	SINK_DNS_OK = 0,	/* an answer with records of the type asked for */
	SINK_DNS_NODATA,	/* the name exists, no records of that type */
	SINK_DNS_NXDOMAIN,	/* the name does not exist */
	SINK_DNS_TEMPFAIL,	/* timeout, SERVFAIL, REFUSED, no server, bad reply: try later */
	SINK_DNS_FAIL,		/* the question cannot be asked (a malformed name) */
} SinkDnsStatus;

/* sink_dns_status_name: "ok", "nodata", "nxdomain", "tempfail", "fail". */
const char *sink_dns_status_name(SinkDnsStatus status);

/*
 * sink_dns_timeout: the seconds a look-up for ctx may take now: DNS_Timeout,
 * less when the message's wall-clock budget (Message_Timeout) is nearly
 * spent; 0 when it is spent (look-ups then fail at once as TEMPFAIL).
 */
int sink_dns_timeout(const SinkCtx *ctx);

/*
 * sink_dns_query: ask the system's name servers (resolv.conf) for `name`,
 * class IN, `type` (ns_t_*), taking at most `timeout` seconds.  Whenever
 * res_nsend hands a reply over (also NXDOMAIN; a SERVFAIL, REFUSED or
 * NOTIMP from the last server it does not: glibc then reports no reply) it
 * is in buf, its length in *len; else *len is 0.  *why (may be NULL) gets a
 * short static reason for a status other than OK ("timed out", "malformed
 * reply", ...).  Never blocks longer
 * than `timeout` except on a TCP retry after a truncated UDP reply.
 */
SinkDnsStatus sink_dns_query(const char *name, int type, int timeout, unsigned char *buf, size_t buflen,
			     int *len, const char **why);

/*
 * A look-up sent ahead, to be read when its answer is needed: the time the
 * answer takes to come overlaps other work (DKIM: the key's look-up goes
 * out when the signatures are known, and the body is hashed meanwhile).
 * sink_dns_ahead sends it (NULL when it cannot: then ask with
 * sink_dns_query); sink_dns_ahead_wait gives what sink_dns_query(name, type,
 * timeout) asked now would have, in no more time (a reply there already is
 * taken at once), and may be called once; sink_dns_ahead_free frees it,
 * waited for or not.
 */
typedef struct SinkDnsAhead SinkDnsAhead;
SinkDnsAhead *sink_dns_ahead(const char *name, int type, int timeout);
SinkDnsStatus sink_dns_ahead_wait(SinkDnsAhead *a, int timeout, unsigned char *buf, size_t buflen, int *len,
				  const char **why);
void sink_dns_ahead_free(SinkDnsAhead *a);

/*
 * sink_dns_mx: the preferred (lowest preference; the first listed on a tie)
 * MX host of `domain`, lower case without the trailing dot, in *host
 * (g_free) when OK.  A null MX (RFC 7505) gives OK with *host "".
 */
SinkDnsStatus sink_dns_mx(const char *domain, int timeout, char **host, const char **why);

/*
 * sink_dns_address: whether `name` has an address record: the A look-up's
 * status, or on "no data" for A the AAAA look-up's.
 */
SinkDnsStatus sink_dns_address(const char *name, int timeout, const char **why);

#endif
