/*
 * dns.c - bounded DNS look-ups (see dns.h for why).
 *
 * One query goes out with res_nsend() on a private resolver state whose
 * retry count is 1 and whose per-server wait is the timeout shared out over
 * the configured servers, as many of them as fit in it (glibc waits at least
 * a second for each: see fit_servers).  The reply is read with libresolv's
 * ns_initparse / ns_parserr; nothing here decodes DNS wire format by hand.
 *
 * A look-up sent ahead (sink_dns_ahead) is the first packet res_nsend()
 * would have sent, to the first server, sent now and read when the answer
 * is needed.  With one server, that read waits what res_nsend would have
 * waited from then on; a reply it cannot use (truncated, refused) sends the
 * question the usual way in the time left.  With several, only a reply
 * already there is taken: otherwise the question goes the usual way, from
 * the first server on, with the whole timeout, as if nothing had been sent.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <poll.h>
#include <resolv.h>
#include <string.h>
#include <unistd.h>

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

static SinkDnsStatus read_reply(const unsigned char *buf, int n, int type, const char **why);

/*
 * A look-up's start, the same whether it is sent now or ahead: a resolver
 * state res for one try over the servers that fit in `timeout`, and the
 * query for `name` and `type` in query (*qlen bytes).  SINK_DNS_OK with res
 * to close (res_nclose); else the status and *why, res closed.
 */
static SinkDnsStatus
begin(struct __res_state *res, const char *name, int type, int timeout, unsigned char *query, size_t size,
      int *qlen, const char **why)
{
	if (timeout <= 0) {
		*why = "message time budget spent";
		return SINK_DNS_TEMPFAIL;
	}
	if (name == NULL || *name == '\0' || strlen(name) >= NS_MAXDNAME) {
		*why = "malformed name";
		return SINK_DNS_FAIL;
	}
	memset(res, 0, sizeof *res);
	if (res_ninit(res) != 0) {
		*why = "resolver set-up failed";
		return SINK_DNS_TEMPFAIL;
	}
	res->retry = 1;
	fit_servers(res, timeout);
	if ((*qlen = res_nmkquery(res, ns_o_query, name, ns_c_in, type, NULL, 0, NULL, query, (int)size)) < 0) {
		res_nclose(res);
		*why = "malformed name";
		return SINK_DNS_FAIL;
	}
	return SINK_DNS_OK;
}

SinkDnsStatus
sink_dns_query(const char *name, int type, int timeout, unsigned char *buf, size_t buflen, int *len,
	       const char **why)
{
	struct __res_state res;
	unsigned char query[NS_MAXDNAME + 64];
	const char *dummy;
	SinkDnsStatus status;
	int qlen, n;

	*len = 0;
	if (why == NULL)
		why = &dummy;
	*why = NULL;
	if ((status = begin(&res, name, type, timeout, query, sizeof query, &qlen, why)) != SINK_DNS_OK)
		return status;
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
	return read_reply(buf, n, type, why);
}

/* What a reply of n bytes in buf says of the question for `type`. */
static SinkDnsStatus
read_reply(const unsigned char *buf, int n, int type, const char **why)
{
	ns_msg msg;
	int rcode, found;

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

/* ---- a look-up sent ahead --------------------------------------------------------------------- */

struct SinkDnsAhead {
	int fd;			/* UDP, connected to the first server */
	char *name;
	int type;
	unsigned char query[NS_MAXDNAME + 64];	/* as sent */
	int qlen;
	gboolean more_servers;	/* res_nsend would ask another after the first */
};

SinkDnsAhead *
sink_dns_ahead(const char *name, int type, int timeout)
{
	struct __res_state res;
	unsigned char query[NS_MAXDNAME + 64];
	SinkDnsAhead *a = NULL;
	const char *why;
	int qlen, fd = -1;

	if (begin(&res, name, type, timeout, query, sizeof query, &qlen, &why) != SINK_DNS_OK)
		return NULL;	/* sink_dns_query says why */
	/* the UDP packet res_nsend starts with, to an IPv4 first server; anything else goes its usual way */
	if (res.nscount >= 1 && res.nsaddr_list[0].sin_family == AF_INET && !(res.options & RES_USEVC) &&
	    qlen >= NS_HFIXEDSZ && (fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) >= 0 &&
	    connect(fd, (struct sockaddr *)&res.nsaddr_list[0], sizeof res.nsaddr_list[0]) == 0 &&
	    send(fd, query, (size_t)qlen, MSG_NOSIGNAL) == qlen) {
		a = g_new0(SinkDnsAhead, 1);
		a->fd = fd;
		a->name = g_strdup(name);
		a->type = type;
		memcpy(a->query, query, (size_t)qlen);
		a->qlen = qlen;
		a->more_servers = res.nscount > 1;
	} else if (fd >= 0) {
		close(fd);
	}
	res_nclose(&res);
	return a;
}

/* A message's one question (name, type, class), read with libresolv's dn_expand; FALSE when it has not one. */
static gboolean
question(const unsigned char *msg, int n, char *name, int *type, int *class)
{
	const unsigned char *eom = msg + n, *p = msg + NS_HFIXEDSZ;
	int l;

	if (n < NS_HFIXEDSZ || ns_get16(msg + 4) != 1 || (l = dn_expand(msg, eom, p, name, NS_MAXDNAME)) < 0 ||
	    eom - (p + l) < 2 * NS_INT16SZ)
		return FALSE;
	*type = ns_get16(p + l);
	*class = ns_get16(p + l + NS_INT16SZ);
	return TRUE;
}

/* Two names in presentation form alike, but for case and a final dot. */
static gboolean
same_name(const char *x, const char *y)
{
	size_t nx = strlen(x), ny = strlen(y);

	if (nx > 0 && x[nx - 1] == '.')
		nx--;
	if (ny > 0 && y[ny - 1] == '.')
		ny--;
	return nx == ny && g_ascii_strncasecmp(x, y, nx) == 0;
}

/*
 * Whether reply (n bytes) answers a's query as res_nsend judges it: the
 * same id and the same question (what its res_queriesmatch compares: the
 * rest of the reply is read_reply's to judge).
 */
static gboolean
answers(const SinkDnsAhead *a, const unsigned char *reply, int n)
{
	char qname[NS_MAXDNAME], rname[NS_MAXDNAME];
	int qtype, qclass, rtype, rclass;

	return n >= NS_HFIXEDSZ && ns_get16(reply) == ns_get16(a->query) &&
	       question(a->query, a->qlen, qname, &qtype, &qclass) && question(reply, n, rname, &rtype, &rclass) &&
	       same_name(qname, rname) && qtype == rtype && qclass == rclass;
}

SinkDnsStatus
sink_dns_ahead_wait(SinkDnsAhead *a, int timeout, unsigned char *buf, size_t buflen, int *len, const char **why)
{
	const char *dummy;
	gint64 asked = g_get_monotonic_time(), until, now;
	int n, left_s;

	*len = 0;
	if (why == NULL)
		why = &dummy;
	*why = NULL;
	if (timeout <= 0)
		return sink_dns_query(a->name, a->type, timeout, buf, buflen, len, why);	/* (says why) */
	/* one server: its whole wait from now, as a query sent now; several: what is there already */
	until = a->more_servers ? asked : asked + (gint64)timeout * G_USEC_PER_SEC;
	for (;;) {
		struct pollfd p = { .fd = a->fd, .events = POLLIN };

		n = (int)recv(a->fd, buf, MIN(buflen, (size_t)G_MAXINT), MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			break;	/* refused, unreachable: the usual way says so, or another server answers */
		if (n >= 0 && answers(a, buf, n)) {	/* (n at most buflen: recv cut it) */
			const HEADER *h = (const HEADER *)buf;

			/* truncated: again over TCP; a server failure: what res_nsend makes of it (the next
			 * server, or its own verdict): both the usual way */
			if (h->tc || h->rcode == ns_r_servfail || h->rcode == ns_r_notimpl || h->rcode == ns_r_refused)
				break;
			*len = n;
			return read_reply(buf, n, a->type, why);
		}
		/* (nothing yet, or a stray or late packet, which res_nsend ignores too) */
		if ((now = g_get_monotonic_time()) >= until)
			break;
		if (n < 0 && poll(&p, 1, (int)MIN((until - now + 999) / 1000, G_MAXINT)) == 0 && !a->more_servers) {
			*why = "timed out";	/* the one server had its whole wait */
			return SINK_DNS_TEMPFAIL;
		}
	}
	if (a->more_servers)
		return sink_dns_query(a->name, a->type, timeout, buf, buflen, len, why);
	/* what is left of the look-up's time, in the whole seconds res_nsend counts in */
	left_s = (int)((asked + (gint64)timeout * G_USEC_PER_SEC - g_get_monotonic_time() + G_USEC_PER_SEC - 1) /
		       G_USEC_PER_SEC);
	if (left_s <= 0) {
		*why = "timed out";
		return SINK_DNS_TEMPFAIL;
	}
	return sink_dns_query(a->name, a->type, MIN(left_s, timeout), buf, buflen, len, why);
}

void
sink_dns_ahead_free(SinkDnsAhead *a)
{
	if (a == NULL)
		return;
	close(a->fd);
	g_free(a->name);
	g_free(a);
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
