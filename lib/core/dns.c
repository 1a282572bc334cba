/*
 * dns.c - bounded DNS look-ups (see dns.h for why).
 *
 * One query goes out with res_nsend() on a private resolver state whose
 * retry count is 1 and whose per-server wait is the timeout shared out over
 * the configured servers, as many of them as fit in it (glibc waits at least
 * a second for each: see fit_servers).  The reply is read with libresolv's
 * ns_initparse / ns_parserr; nothing here decodes DNS wire format by hand.
 */
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <resolv.h>
#include <string.h>

#include "dns.h"

#define SINK_DNS_PACKET 4096	/* reply buffer for MX and address look-ups */

const char *
sink_dns_status_name(SinkDnsStatus status)
{
	switch (status) {
	case SINK_DNS_OK: return "ok";
	case SINK_DNS_NODATA: return "nodata";
	case SINK_DNS_NXDOMAIN: return "nxdomain";
	case SINK_DNS_TEMPFAIL: return "tempfail";
	case SINK_DNS_FAIL: return "fail";
	}
	return "?";
}

int
sink_dns_timeout(const SinkCtx *ctx)
{
	gint64 left = ctx->deadline - g_get_monotonic_time();
	gint64 secs;

	if (left <= 0)
		return 0;
	secs = (left + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC;
	return (int)MIN((gint64)ctx->cfg->dns_timeout, secs);
}

static const char *
rcode_name(int rcode)
{
	switch (rcode) {
	case ns_r_formerr: return "FORMERR";
	case ns_r_servfail: return "SERVFAIL";
	case ns_r_notimpl: return "NOTIMP";
	case ns_r_refused: return "REFUSED";
	default: return "error reply";
	}
}

/* How many answer records of `type` the reply holds; -1 when unreadable. */
static int
count_answers(ns_msg *msg, int type)
{
	int n = 0;

	for (int i = 0; i < ns_msg_count(*msg, ns_s_an); i++) {
		ns_rr rr;
		if (ns_parserr(msg, ns_s_an, i, &rr) < 0)
			return -1;
		if ((int)ns_rr_type(rr) == type)
			n++;
	}
	return n;
}

/*
 * The longest one try of res_nsend() takes over n servers with retrans r:
 * glibc (send_dg) waits r for the first server and (r << i) / n for server
 * i > 0, each at least one second.
 */
static int
glibc_wait(int r, int n)
{
	int total = 0;

	for (int i = 0; i < n; i++)
		total += MAX(1, i == 0 ? r : (r << i) / n);
	return total;
}

/*
 * Share `timeout` seconds out over res's servers: the first ones that fit
 * in it (one when only one does), each waited for retrans seconds.
 */
static void
fit_servers(struct __res_state *res, int timeout)
{
	int n = MAX(1, res->nscount);

	while (n > 1 && glibc_wait(MAX(1, timeout / n), n) > timeout)
		n--;
	if (res->nscount > n)
		res->nscount = n;
	res->retrans = MAX(1, timeout / n);
}

SinkDnsStatus
sink_dns_query(const char *name, int type, int timeout, unsigned char *buf, size_t buflen, int *len,
	       const char **why)
{
	struct __res_state res;
	unsigned char query[NS_MAXDNAME + 64];
	const char *dummy;
	ns_msg msg;
	int qlen, n, rcode, found;

	*len = 0;
	if (why == NULL)
		why = &dummy;
	*why = NULL;
	if (timeout <= 0) {
		*why = "message time budget spent";
		return SINK_DNS_TEMPFAIL;
	}
	if (name == NULL || *name == '\0' || strlen(name) >= NS_MAXDNAME) {
		*why = "malformed name";
		return SINK_DNS_FAIL;
	}

	memset(&res, 0, sizeof res);
	if (res_ninit(&res) != 0) {
		*why = "resolver set-up failed";
		return SINK_DNS_TEMPFAIL;
	}
	/* One try, over the servers that fit in the timeout. */
	res.retry = 1;
	fit_servers(&res, timeout);

	qlen = res_nmkquery(&res, ns_o_query, name, ns_c_in, type, NULL, 0, NULL, query, sizeof query);
	if (qlen < 0) {
		res_nclose(&res);
		*why = "malformed name";
		return SINK_DNS_FAIL;
	}
	errno = 0;
	n = res_nsend(&res, query, qlen, buf, (int)MIN(buflen, (size_t)G_MAXINT));
	res_nclose(&res);
	if (n < 0) {
		*why = errno == ETIMEDOUT ? "timed out" : errno == ECONNREFUSED ? "connection refused" : "no reply";
		return SINK_DNS_TEMPFAIL;
	}
	if ((size_t)n > buflen)
		n = (int)buflen;	/* truncated to the buffer; the parse below copes */
	*len = n;

	if (ns_initparse(buf, n, &msg) < 0) {
		*why = "malformed reply";
		return SINK_DNS_TEMPFAIL;
	}
	rcode = ns_msg_getflag(msg, ns_f_rcode);
	if (rcode == ns_r_nxdomain) {
		*why = "no such domain";
		return SINK_DNS_NXDOMAIN;
	}
	if (rcode != ns_r_noerror) {
		*why = rcode_name(rcode);
		return SINK_DNS_TEMPFAIL;
	}
	found = count_answers(&msg, type);
	if (found < 0) {
		*why = "malformed reply";
		return SINK_DNS_TEMPFAIL;
	}
	if (found == 0) {
		*why = "no record of that type";
		return SINK_DNS_NODATA;
	}
	return SINK_DNS_OK;
}

SinkDnsStatus
sink_dns_mx(const char *domain, int timeout, char **host, const char **why)
{
	unsigned char buf[SINK_DNS_PACKET];
	SinkDnsStatus status;
	ns_msg msg;
	int len, best_pref = -1;
	char best[NS_MAXDNAME] = "";

	*host = NULL;
	status = sink_dns_query(domain, ns_t_mx, timeout, buf, sizeof buf, &len, why);
	if (status != SINK_DNS_OK)
		return status;
	if (ns_initparse(buf, len, &msg) < 0)
		goto malformed;
	for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
		ns_rr rr;
		char name[NS_MAXDNAME];
		int pref;

		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
			goto malformed;
		if (ns_rr_type(rr) != ns_t_mx)
			continue;
		if (ns_rr_rdlen(rr) < NS_INT16SZ)
			goto malformed;
		pref = ns_get16(ns_rr_rdata(rr));
		if (ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg), ns_rr_rdata(rr) + NS_INT16SZ, name,
				       sizeof name) < 0)
			goto malformed;
		if (best_pref < 0 || pref < best_pref) {
			best_pref = pref;
			g_strlcpy(best, name, sizeof best);
		}
	}
	if (best_pref < 0)
		goto malformed;	/* sink_dns_query counted an MX record */

	/* "." is the root: a null MX.  Drop the trailing dot of a name. */
	len = (int)strlen(best);
	while (len > 0 && best[len - 1] == '.')
		best[--len] = '\0';
	*host = g_ascii_strdown(best, -1);
	return SINK_DNS_OK;

malformed:
	*why = "malformed MX reply";
	return SINK_DNS_TEMPFAIL;
}

SinkDnsStatus
sink_dns_address(const char *name, int timeout, const char **why)
{
	unsigned char buf[SINK_DNS_PACKET];
	SinkDnsStatus status;
	int len;

	/* Only "no A record" is worth an AAAA question: a failure would just repeat. */
	status = sink_dns_query(name, ns_t_a, timeout, buf, sizeof buf, &len, why);
	if (status != SINK_DNS_NODATA)
		return status;
	return sink_dns_query(name, ns_t_aaaa, timeout, buf, sizeof buf, &len, why);
}
