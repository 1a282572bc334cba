/*
 * dkim.c - DKIM_Check = verify: the message's signatures checked with
 * libopendkim against keys in DNS.  Built as its own module,
 * libbouncysink-dkim.so, loaded by the core on first use (module.h); the
 * other modes are in authres.c.
 *
 * Verify, and libopendkim's sharp edges:
 * - A pass needs one signature whose header signature verified (the PASSED
 *   flag) AND whose body hash matched (DKIM_SIG_CHECK): after the end of
 *   the message a signature can be PASSED with a changed body.
 * - The message goes in with CRLF line ends, converted here a piece at a
 *   time (crlf_piece): libopendkim's own FIXCRLF flag does the same a byte
 *   and a function call at a time, a quarter of a whole run on a 1 MB
 *   message.
 * - An unsigned message shows at the end of the headers (NOSIG): the end of
 *   the message is then not run.
 * - Key look-ups go through our own query functions (dns.c), bounded by
 *   DNS_Timeout: libopendkim's own resolver waits as long as the system
 *   resolver does, and turns "no such key" into the same failure as "DNS
 *   down".  Ours hands NXDOMAIN replies over, so a missing key reads as
 *   NOKEY and only a failed look-up as KEYFAIL (a temporary error).  Each
 *   look-up gets what is left of the message's time budget (Message_Timeout,
 *   sink_dns_timeout), asked anew at every query, and at most MAX_SIGNATURES
 *   signatures are checked, so a message full of signatures whose keys sit
 *   behind a dead name server cannot run past Message_Timeout.
 * - The signatures are checked at the end of the message (DELAYSIGPROC),
 *   and their keys' look-ups go out as soon as the headers are read (the
 *   prescreen, sink_dns_ahead): the answers arrive while the body is
 *   hashed, rather than after the headers with the rest waiting for them.
 * - A signature header that does not parse is skipped (BADSIGHANDLES), not
 *   the whole message failed: another signature may still pass.
 * What counts as a pass is stricter than the library's (RFC 6376):
 * - a key published as a testing key (t=y, section 3.6.1) is treated as no
 *   signature at all: result "none";
 * - a signature with a body length (l=) is not a pass: what follows that
 *   length may have been appended after signing (section 8.2).
 * Every signature checked is recorded with its result and h= (dkimsig.h),
 * for the checks that ask which header fields a passing signature covers.
 * One library handle per process (verify_lib), its options and callbacks
 * fixed; a message's DNS service handle is set on it for that message only.
 * What else lives on between messages is the keys looked up (key_cache):
 * a process that checks many
 * messages (a sink-filterd or spool child) asks DNS for a key once per its
 * time to live, as a caching resolver would, not once per message.
 */
#include <arpa/nameser.h>
#include <errno.h>
#include <string.h>

#include <opendkim/dkim.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#ifdef SINK_STATIC_DKIM
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#endif

#include "dkim.h"
#include "dkimsig.h"
#include "dns.h"
#include "module.h"
#include "sink-build.h"

/*
 * At most this many signatures of a message are checked (the topmost, the
 * latest added); the rest are ignored.  Each costs a key look-up and an RSA
 * verification: a sender's own signature plus an ESP's or a forwarder's are
 * two or three, 8 leaves room for long forwarding chains and stops a message
 * carrying hundreds.
 */
#define MAX_SIGNATURES 8

/*
 * What one verification's callbacks share: the DNS service handle our query
 * functions get from libopendkim, also the DKIM handle's user context (for
 * the prescreen).
 */
typedef struct {
	const SinkCtx *ctx;	/* for the time left: sink_dns_timeout */
	GHashTable *why;	/* query name (lower case, owned) -> static reason its look-up failed */
	GPtrArray *skipped;	/* signatures beyond MAX_SIGNATURES, ignored (not owned) */
	GHashTable *ahead;	/* query name (lower case, owned) -> SinkDnsAhead: the key look-ups sent ahead */
} DkimDns;

/*
 * The key cache: key records' DNS replies, by query name (lower case), each
 * kept until its time to live runs out (sink_dkim_key_ttl).  Only a reply
 * that gives one key is kept: a missing key, a failed look-up or a reply
 * libopendkim refuses is asked again for the next message.  At most KEY_CACHE_SIZE names: full, it
 * is emptied (a message signed by a new selector each time cannot grow it).
 * Every program checks one message at a time, in one thread: no lock.
 */
#define KEY_CACHE_SIZE 256

typedef struct {
	gint64 until;		/* monotonic */
	int len;
	unsigned char reply[];
} CachedKey;

static GHashTable *key_cache;

guint32
sink_dkim_key_ttl(const unsigned char *reply, int len)
{
	ns_msg msg;
	ns_rr rr;
	guint32 ttl = SINK_DKIM_KEY_MAX_TTL_S;
	int n, txt = 0;

	if (ns_initparse(reply, len, &msg) < 0 || ns_msg_getflag(msg, ns_f_rcode) != ns_r_noerror ||
	    ns_msg_getflag(msg, ns_f_tc))
		return 0;
	n = ns_msg_count(msg, ns_s_an);
	for (int i = 0; i < n; i++) {
		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
			return 0;
		/* CNAMEs then the one TXT record, as libopendkim takes a key (two TXT records are its error) */
		if (ns_rr_type(rr) == ns_t_txt)
			txt++;
		else if (ns_rr_type(rr) != ns_t_cname || txt > 0)
			return 0;
		/* RFC 2181 section 8: a TTL with its top bit set is 0 */
		if (ns_rr_ttl(rr) > G_MAXINT32)
			return 0;
		ttl = MIN(ttl, ns_rr_ttl(rr));
	}
	return txt == 1 ? ttl : 0;
}

/*
 * The cached reply for name (lower case), if still good: copied into buf
 * (when buf is not NULL and it fits), its length returned; else 0.
 */
static int
key_cache_get(const char *name, unsigned char *buf, size_t buflen)
{
	CachedKey *k;
	int len = 0;

	if (key_cache && (k = g_hash_table_lookup(key_cache, name)) != NULL) {
		if (k->until <= g_get_monotonic_time()) {
			g_hash_table_remove(key_cache, name);
		} else if (buf == NULL) {
			len = k->len;
		} else if ((size_t)k->len <= buflen) {
			memcpy(buf, k->reply, (size_t)k->len);
			len = k->len;
		}
	}
	return len;
}

/* Keep a key record's reply (name lower case) for its TTL. */
static void
key_cache_put(const char *name, const unsigned char *reply, int len)
{
	guint32 ttl = sink_dkim_key_ttl(reply, len);
	CachedKey *k;

	if (ttl == 0)
		return;
	k = g_malloc(sizeof *k + (size_t)len);
	k->until = g_get_monotonic_time() + (gint64)ttl * G_USEC_PER_SEC;
	k->len = len;
	memcpy(k->reply, reply, (size_t)len);
	if (key_cache == NULL)
		key_cache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	else if (g_hash_table_size(key_cache) >= KEY_CACHE_SIZE && !g_hash_table_contains(key_cache, name))
		g_hash_table_remove_all(key_cache);
	g_hash_table_replace(key_cache, g_strdup(name), k);
}

/* One finished query: the reply is already in libopendkim's buffer. */
typedef struct {
	int status;		/* DKIM_DNS_* */
	size_t len;
} DkimQuery;

/* Keep why the look-up of name failed (the first reason, when asked again). */
static void
note_failure(DkimDns *dns, const char *name, const char *why)
{
	char *key = g_ascii_strdown(name, -1);

	if (g_hash_table_contains(dns->why, key))
		g_free(key);
	else
		g_hash_table_insert(dns->why, key, (gpointer)why);
}

static int
dns_start(void *srv, int type, unsigned char *query, unsigned char *buf, size_t buflen, void **qh)
{
	DkimDns *dns = srv;
	DkimQuery *q = g_new0(DkimQuery, 1);
	const char *why = NULL;
	int len = 0;
	gboolean cached = FALSE;

	g_autofree char *key = g_ascii_strdown((const char *)query, -1);
	SinkDnsAhead *ahead;
	SinkDnsStatus status;
	/* the time left now, not at the start: earlier look-ups used some of it */
	int timeout = sink_dns_timeout(dns->ctx);

	/* kept from an earlier message; or sent ahead when the signatures were known (prescreen), and answered
	 * meanwhile; else asked now */
	if (type == ns_t_txt && (len = key_cache_get(key, buf, buflen)) > 0) {
		status = SINK_DNS_OK;
		cached = TRUE;
	} else if (type == ns_t_txt && (ahead = g_hash_table_lookup(dns->ahead, key)) != NULL) {
		status = sink_dns_ahead_wait(ahead, timeout, buf, buflen, &len, &why);
		g_hash_table_remove(dns->ahead, key);	/* (frees it) */
	} else {
		status = sink_dns_query((const char *)query, type, timeout, buf, buflen, &len, &why);
	}
	switch (status) {
	case SINK_DNS_OK:
		if (type == ns_t_txt && !cached)
			key_cache_put(key, buf, len);
		/* fall through */
	case SINK_DNS_NODATA:
	case SINK_DNS_NXDOMAIN:
		/* libopendkim reads NXDOMAIN and empty answers as "no key" */
		q->status = DKIM_DNS_SUCCESS;
		q->len = (size_t)len;
		break;
	case SINK_DNS_TEMPFAIL:
		q->status = g_strcmp0(why, "timed out") == 0 ? DKIM_DNS_EXPIRED : DKIM_DNS_ERROR;
		note_failure(dns, (const char *)query, why);
		break;
	case SINK_DNS_FAIL:
		q->status = DKIM_DNS_ERROR;
		note_failure(dns, (const char *)query, why);
		break;
	}
	*qh = q;
	return 0;
}

static int
dns_waitreply(void *srv, void *qh, struct timeval *timeout, size_t *bytes, int *error, int *dnssec)
{
	DkimQuery *q = qh;

	if (bytes)
		*bytes = q->len;
	if (error)
		*error = 0;
	if (dnssec)
		*dnssec = DKIM_DNSSEC_UNKNOWN;
	return q->status;
}

static int
dns_cancel(void *srv, void *qh)
{
	g_free(qh);
	return 0;
}

static int
dns_init(void **srv)
{
	return 0;	/* the service handle is set before any query */
}

static void
dns_close(void *srv)
{
}

/*
 * Send the look-up of sig's key now (the name libopendkim asks for:
 * selector._domainkey.domain): libopendkim asks for it at the end of the
 * message (DELAYSIGPROC), after the body is hashed, and the answer is there.
 */
static void
send_ahead(DkimDns *dns, DKIM_SIGINFO *sig)
{
	const char *d = (const char *)dkim_sig_getdomain(sig), *s = (const char *)dkim_sig_getselector(sig);
	g_autofree char *joined = NULL;
	char *name;
	SinkDnsAhead *ahead;

	if (d == NULL || s == NULL)
		return;
	joined = g_strconcat(s, "._domainkey.", d, NULL);
	name = g_ascii_strdown(joined, -1);
	if (g_hash_table_contains(dns->ahead, name) || key_cache_get(name, NULL, 0) > 0 ||
	    (ahead = sink_dns_ahead(name, ns_t_txt, sink_dns_timeout(dns->ctx))) == NULL) {
		g_free(name);
		return;
	}
	g_hash_table_insert(dns->ahead, name, ahead);
}

/*
 * Called by libopendkim once the signatures are known, before any key is
 * looked up: the first MAX_SIGNATURES that parsed are checked, the others
 * ignored; the keys of those checked are looked up ahead.
 */
static DKIM_CBSTAT
prescreen(DKIM *dkim, DKIM_SIGINFO **sigs, int nsigs)
{
	DkimDns *dns = dkim_get_user_context(dkim);
	int kept = 0;

	for (int i = 0; i < nsigs; i++) {
		if ((dkim_sig_getflags(sigs[i]) & DKIM_SIGFLAG_IGNORE) != 0)
			continue;
		if (kept < MAX_SIGNATURES) {
			kept++;
			send_ahead(dns, sigs[i]);
		} else {
			dkim_sig_ignore(sigs[i]);
			g_ptr_array_add(dns->skipped, sigs[i]);
		}
	}
	return DKIM_CBSTAT_CONTINUE;
}

static void
set_signer(SinkCtx *ctx, DKIM_SIGINFO *sig)
{
	const unsigned char *d = dkim_sig_getdomain(sig);
	const unsigned char *s = dkim_sig_getselector(sig);

	g_free(ctx->dkim_domain);
	ctx->dkim_domain = d ? g_strdup((const char *)d) : NULL;
	g_free(ctx->dkim_selector);
	ctx->dkim_selector = s ? g_strdup((const char *)s) : NULL;
}

/* How bad a failing signature's result is; the best one is reported. */
static int
failure_rank(const char *result)
{
	static const char *const order[] = { "bodyhash", "fail", "nokey", "temperror" };

	for (size_t i = 0; i < G_N_ELEMENTS(order); i++)
		if (strcmp(result, order[i]) == 0)
			return (int)i;
	return G_N_ELEMENTS(order);
}

/*
 * The result word and reason for one signature that verified: "pass", or
 * not when its key is a testing key or its l= leaves part of the body out.
 */
static const char *
judge_verified(DKIM *dkim, DKIM_SIGINFO *sig, const char *d, const char *s, char **detail)
{
	ssize_t signlen = -1;
	dkim_alg_t alg = DKIM_SIGN_UNKNOWN;

	/* RFC 8301 3.1: rsa-sha1 is not to be verified, its signatures permanently failed (libopendkim still takes
	 * them, from a key that does not say h=sha256) */
	if (dkim_sig_getsignalg(sig, &alg) == DKIM_STAT_OK && alg == DKIM_SIGN_RSASHA1) {
		*detail = g_strdup_printf("signature d=%s s=%s is rsa-sha1, which RFC 8301 forbids verifying", d, s);
		return "fail";
	}
	if ((dkim_sig_getflags(sig) & DKIM_SIGFLAG_TESTKEY) != 0) {
		/* RFC 6376 3.6.1: a verifier may treat such a message as unsigned */
		*detail = g_strdup_printf("signature d=%s s=%s verified with a testing key (t=y): treated as unsigned",
					  d, s);
		return "none";
	}
	if (dkim_sig_getcanonlen(dkim, sig, NULL, NULL, &signlen) != DKIM_STAT_OK) {
		*detail = g_strdup_printf("signature d=%s s=%s: signed body length unknown", d, s);
		return "fail";
	}
	/*
	 * An l= tag signs only the body's first bytes: anything may have been
	 * appended after them (RFC 6376 8.2), links to click among it.  Such a
	 * signature vouches for no message the sink would act on.
	 */
	if (signlen >= 0) {
		*detail = g_strdup_printf("signature d=%s s=%s signs only the first %zd bytes of the body (l=): "
					  "what follows is not vouched for", d, s, signlen);
		return "fail";
	}
	*detail = g_strdup_printf("signature d=%s s=%s verified", d, s);
	return "pass";
}

/* The result word and reason for one signature after the end of the message. */
static const char *
judge_signature(DKIM *dkim, DKIM_SIGINFO *sig, DkimDns *dns, char **detail)
{
	unsigned int flags = dkim_sig_getflags(sig);
	int error = dkim_sig_geterror(sig);
	const char *d = (const char *)dkim_sig_getdomain(sig);
	const char *s = (const char *)dkim_sig_getselector(sig);
	g_autofree char *name = NULL, *key = NULL;
	const char *why;

	if (d == NULL)
		d = "?";
	if (s == NULL)
		s = "?";
	if ((flags & DKIM_SIGFLAG_IGNORE) != 0) {
		*detail = g_strdup_printf("signature d=%s s=%s ignored", d, s);
		return "fail";
	}
	/* (libopendkim leaves a signature it then refuses, a t=s key's with an i= on a subdomain, checked: its
	 * error says so) */
	if (DKIM_SIG_CHECK(sig) && error == DKIM_SIGERROR_OK)
		return judge_verified(dkim, sig, d, s, detail);
	switch (error) {
	case DKIM_SIGERROR_NOKEY:
		*detail = g_strdup_printf("no key published at %s._domainkey.%s", s, d);
		return "nokey";
	case DKIM_SIGERROR_KEYFAIL:
		/* the name libopendkim asked for, as dns_start recorded it */
		name = g_strdup_printf("%s._domainkey.%s", s, d);
		key = g_ascii_strdown(name, -1);
		why = g_hash_table_lookup(dns->why, key);
		*detail = g_strdup_printf("key look-up for %s failed: %s", name, why ? why : "DNS error");
		return "temperror";
	default:
		break;
	}
	if ((flags & DKIM_SIGFLAG_PASSED) != 0 && dkim_sig_getbh(sig) == DKIM_SIGBH_MISMATCH) {
		*detail = g_strdup_printf("signature d=%s s=%s: body hash mismatch (body changed after signing)",
					  d, s);
		return "bodyhash";
	}
	*detail = g_strdup_printf("signature d=%s s=%s: %s", d, s,
				  error != DKIM_SIGERROR_OK && error != DKIM_SIGERROR_UNKNOWN
				  ? dkim_sig_geterrorstr(error) : "signature verification failed");
	return "fail";
}

/* Bytes of the message handed to libopendkim at a time (it copies each piece). */
#define PIECE 65536

/* Offset of the next c in data[from, end), or end. */
static gsize
next_of(const guchar *data, guchar c, gsize from, gsize end)
{
	const guchar *p = from < end ? memchr(data + from, c, end - from) : NULL;

	return p ? (gsize)(p - data) : end;
}

/*
 * data[start, end) of a message of len bytes, with every line end made
 * CRLF: a lone LF or a lone CR becomes CRLF, a CRLF stays (a pair split
 * between two pieces too: the neighbours are read across the piece's
 * edge).  out has room for 2 * (end - start) bytes; returns the bytes
 * written.
 */
static gsize
crlf_piece(const guchar *data, gsize len, gsize start, gsize end, guchar *out)
{
	guchar *o = out;
	gsize lf = next_of(data, '\n', start, end), cr = next_of(data, '\r', start, end);

	for (gsize i = start; i < end;) {
		gsize j = MIN(lf, cr);

		memcpy(o, data + i, j - i);
		o += j - i;
		if (j == end)
			break;
		if (data[j] == '\n') {
			if (j == 0 || data[j - 1] != '\r')
				*o++ = '\r';
			*o++ = '\n';
			lf = next_of(data, '\n', j + 1, end);
		} else {
			*o++ = '\r';
			if (j + 1 == len || data[j + 1] != '\n')
				*o++ = '\n';
			cr = next_of(data, '\r', j + 1, end);
		}
		i = j + 1;
	}
	return (gsize)(o - out);
}

/* The chunk/eoh status other than OK or NOSIG: a result and reason. */
static void
set_stat_failure(SinkCtx *ctx, DKIM *dkim, DKIM_STAT stat)
{
	const char *msg = dkim ? dkim_geterror(dkim) : NULL;
	g_autofree char *detail = g_strdup_printf("%s%s%s", dkim_getresultstr(stat),
						  msg && *msg ? ": " : "", msg && *msg ? msg : "");

	sink_dkim_set_result(ctx, stat == DKIM_STAT_NORESOURCE || stat == DKIM_STAT_INTERNAL ? "temperror" : "fail", detail);
}

/*
 * libopendkim's library handle for verifying, made once per process:
 * dkim_init reads the resolver's config and sets up its tables, a tenth of
 * a verification's cost in a sink-filterd child or a spool's pool, which
 * run message after message.  Its options and callbacks do not change; a
 * message's DNS service handle is set on it for that message only.
 */
static DKIM_LIB *
verify_lib(void)
{
	static DKIM_LIB *lib;
	unsigned int flags = DKIM_LIBFLAGS_NONE;

	if (lib)
		return lib;
#ifdef SINK_STATIC_DKIM
	OPENSSL_init_crypto(SINK_OPENSSL_INIT, NULL);
#endif
	if ((lib = dkim_init(NULL, NULL)) == NULL)
		return NULL;
	/* a signature header that does not parse is ignored, not the whole message failed */
	dkim_options(lib, DKIM_OP_GETOPT, DKIM_OPTS_FLAGS, &flags, sizeof flags);
	/* and the signatures are checked at the end of the message, not of its headers: their keys'
	 * look-ups, sent ahead when the signatures are known (prescreen), overlap the body's hashing */
	flags |= DKIM_LIBFLAGS_BADSIGHANDLES | DKIM_LIBFLAGS_DELAYSIGPROC;
	dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof flags);
	dkim_set_prescreen(lib, prescreen);
	dkim_dns_set_init(lib, dns_init);
	dkim_dns_set_close(lib, dns_close);
	dkim_dns_set_query_start(lib, dns_start);
	dkim_dns_set_query_waitreply(lib, dns_waitreply);
	dkim_dns_set_query_cancel(lib, dns_cancel);
	return lib;
}

void
sink_dkim_verify(SinkCtx *ctx)
{
	DkimDns dns = { .ctx = ctx };
	DKIM_LIB *lib = NULL;
	DKIM *dkim = NULL;
	DKIM_STAT stat;
	DKIM_SIGINFO **sigs = NULL;
	unsigned int timeout = (unsigned int)MAX(sink_dns_timeout(ctx), 1);
	gsize len;
	const unsigned char *data = g_bytes_get_data(ctx->raw, &len);
	const char *best = NULL;
	g_autofree char *best_detail = NULL;
	g_autofree guchar *piece = NULL;
	DKIM_SIGINFO *best_sig = NULL;
	int nsigs = 0;

	if ((lib = verify_lib()) == NULL) {
		sink_dkim_set_result(ctx, "temperror", "libopendkim could not start");
		return;
	}
	dns.why = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	dns.ahead = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)sink_dns_ahead_free);
	dns.skipped = g_ptr_array_new();
	dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_TIMEOUT, &timeout, sizeof timeout);
	dkim_dns_set_query_service(lib, &dns);

	dkim = dkim_verify(lib, (const unsigned char *)"sink-filter", NULL, &stat);
	if (dkim == NULL) {
		set_stat_failure(ctx, NULL, stat);
		goto done;
	}
	dkim_set_user_context(dkim, &dns);
	/* the whole message with CRLF line ends, in pieces (never a second copy
	 * of it whole), then the end of the chunks (which ends the headers) */
	stat = DKIM_STAT_OK;
	piece = g_malloc(2 * MIN(len, PIECE));	/* a small message's from the heap, not a fresh mapping */
	for (gsize off = 0; off < len && stat == DKIM_STAT_OK; off += PIECE)
		stat = dkim_chunk(dkim, piece, crlf_piece(data, len, off, MIN(off + PIECE, len), piece));
	/* a last line without its line end gets one (RFC 6376 3.4.3 and 3.4.4 add
	 * it to the body; libopendkim, not fixing line ends, would call it an error) */
	if (stat == DKIM_STAT_OK && len > 0 && data[len - 1] != '\n' && data[len - 1] != '\r')
		stat = dkim_chunk(dkim, (unsigned char *)"\r\n", 2);
	if (stat == DKIM_STAT_OK)
		stat = dkim_chunk(dkim, NULL, 0);
	if (stat == DKIM_STAT_NOSIG) {
		sink_dkim_set_result(ctx, "none", "message not signed (no DKIM-Signature header)");
		goto done;
	}
	if (stat != DKIM_STAT_OK) {
		set_stat_failure(ctx, dkim, stat);
		goto done;
	}
	stat = dkim_eom(dkim, NULL);
	if (stat == DKIM_STAT_NOSIG) {
		sink_dkim_set_result(ctx, "none", "no usable DKIM-Signature header");
		goto done;
	}
	if (dkim_getsiglist(dkim, &sigs, &nsigs) != DKIM_STAT_OK || nsigs == 0) {
		set_stat_failure(ctx, dkim, stat);
		goto done;
	}

	/* any passing signature passes (the first); else the most telling failure; each one recorded */
	for (int i = 0; i < nsigs; i++) {
		char *detail = NULL;
		const char *result;

		if (g_ptr_array_find(dns.skipped, sigs[i], NULL))
			continue;
		result = judge_signature(dkim, sigs[i], &dns, &detail);
		g_ptr_array_add(ctx->dkim_sigs, sink_dkim_sig_new((const char *)dkim_sig_getdomain(sigs[i]),
								  (const char *)dkim_sig_getselector(sigs[i]), result,
								  (const char *)dkim_sig_gettagvalue(sigs[i], FALSE,
												     (u_char *)"h")));
		if (best == NULL || (strcmp(best, "pass") != 0 &&
				     (strcmp(result, "pass") == 0 || failure_rank(result) < failure_rank(best)))) {
			best = result;
			best_sig = sigs[i];
			g_free(best_detail);
			best_detail = detail;
		} else {
			g_free(detail);
		}
	}
	if (best == NULL) {
		/* cannot be: the cap keeps MAX_SIGNATURES */
		set_stat_failure(ctx, dkim, stat);
		goto done;
	}
	if (strcmp(best, "pass") != 0 && dns.skipped->len > 0) {
		char *more = g_strdup_printf("%s (%u more signature%s not checked: at most %d are)", best_detail,
					     dns.skipped->len, dns.skipped->len == 1 ? "" : "s", MAX_SIGNATURES);

		g_free(best_detail);
		best_detail = more;
	}
	sink_dkim_set_result(ctx, best, best_detail);
	set_signer(ctx, best_sig);

done:
	if (dkim)
		dkim_free(dkim);
	dkim_dns_set_query_service(lib, NULL);	/* (dns is this call's) */
	g_hash_table_destroy(dns.why);
	g_hash_table_destroy(dns.ahead);
	g_ptr_array_free(dns.skipped, TRUE);
}

#ifdef SINK_STATIC_DKIM
/*
 * Start-up cost, where libopendkim and libcrypto are linked in statically
 * (meson option static_dkim).  Measured with callgrind on the accept path,
 * two things in OpenSSL 3 cost more than everything else sink-filter does:
 * - loading openssl.cnf at initialisation: the sink needs nothing from it,
 *   so it is skipped (sink_dkim_verify calls OPENSSL_init_crypto first,
 *   with SINK_OPENSSL_INIT, dkim.h, which also skips the name tables and
 *   error strings libopendkim's start-up asks for: a quarter of a verified
 *   accept's instructions);
 * - libopendkim's d2i_PUBKEY_bio() on the DNS key, which OpenSSL 3 runs
 *   through its generic decoder framework (it enumerates every provider's
 *   decoders and key managers: about 6 million instructions, a third of the
 *   whole run).  The link wraps that one call (-Wl,--wrap): an RSA key, the
 *   only kind DKIM signers use in practice, is read with OpenSSL's own DER
 *   primitives (the SubjectPublicKeyInfo's algorithm must be rsaEncryption,
 *   its BIT STRING an RSAPublicKey); anything else, or anything that does
 *   not parse exactly, goes to the real function.
 */
EVP_PKEY *__real_d2i_PUBKEY_bio(BIO *bp, EVP_PKEY **a);
EVP_PKEY *__wrap_d2i_PUBKEY_bio(BIO *bp, EVP_PKEY **a);

/*
 * libopendkim can keep keys in a Berkeley DB cache (DKIM_OPTS_QUERYCACHE);
 * the sink never turns it on, so its one entry point is answered here and
 * libdb is not loaded with the module at all.
 */
int db_create(void **dbp, void *env, unsigned int flags);

int
db_create(void **dbp, void *env, unsigned int flags)
{
	*dbp = NULL;
	return ENOSYS;
}

/* Read one DER header at *p (of `left` bytes): TRUE when it has `tag`. */
static gboolean
der_expect(const unsigned char **p, long *len, long left, int tag)
{
	int t, cls, ret = ASN1_get_object(p, len, &t, &cls, left);

	return !(ret & 0x80) && cls == V_ASN1_UNIVERSAL && t == tag;
}

static EVP_PKEY *
rsa_spki(const unsigned char *der, long size)
{
	const unsigned char *p = der, *end = der + size, *alg_end;
	long len;
	ASN1_OBJECT *oid = NULL;
	RSA *rsa = NULL;
	EVP_PKEY *pkey = NULL;
	int nid;

	if (!der_expect(&p, &len, size, V_ASN1_SEQUENCE) || p + len != end)
		return NULL;
	if (!der_expect(&p, &len, end - p, V_ASN1_SEQUENCE))
		return NULL;
	alg_end = p + len;
	if ((oid = d2i_ASN1_OBJECT(NULL, &p, alg_end - p)) == NULL)
		return NULL;
	nid = OBJ_obj2nid(oid);
	ASN1_OBJECT_free(oid);
	if (nid != NID_rsaEncryption)
		return NULL;
	p = alg_end;	/* the parameters: NULL for rsaEncryption */
	if (!der_expect(&p, &len, end - p, V_ASN1_BIT_STRING) || p + len != end || len < 2 || *p != 0)
		return NULL;
	p++;	/* no unused bits */
	if ((rsa = d2i_RSAPublicKey(NULL, &p, end - p)) == NULL || p != end)
		goto fail;
	if ((pkey = EVP_PKEY_new()) == NULL || !EVP_PKEY_assign_RSA(pkey, rsa))
		goto fail;
	return pkey;
fail:
	EVP_PKEY_free(pkey);
	RSA_free(rsa);
	return NULL;
}

/*
 * The last RSA key read, kept for the next message of a process that runs
 * many (sink-filterd's children, the spool's): a sender's messages come
 * under one key, and the same bytes give the same key, whose Montgomery
 * set-up OpenSSL keeps in it after its first use (a fifth of the RSA
 * check).  Only the reading is kept: the key's look-up is the key cache's.
 */
static struct {
	unsigned char *der;
	long size;
	EVP_PKEY *pkey;
} last_key;

EVP_PKEY *
__wrap_d2i_PUBKEY_bio(BIO *bp, EVP_PKEY **a)
{
	char *data = NULL;
	long size = BIO_get_mem_data(bp, &data);
	EVP_PKEY *pkey;

	if (a != NULL || data == NULL || size <= 0)
		return __real_d2i_PUBKEY_bio(bp, a);
	if (last_key.pkey && last_key.size == size && memcmp(last_key.der, data, (size_t)size) == 0 &&
	    EVP_PKEY_up_ref(last_key.pkey))
		return last_key.pkey;
	if ((pkey = rsa_spki((const unsigned char *)data, size)) == NULL)
		return __real_d2i_PUBKEY_bio(bp, a);
	if (EVP_PKEY_up_ref(pkey)) {
		EVP_PKEY_free(last_key.pkey);
		g_free(last_key.der);
		last_key.der = g_memdup2(data, (gsize)size);
		last_key.size = size;
		last_key.pkey = pkey;
	}
	return pkey;
}
#endif

/* The module's table: what the core library looks up after dlopen(3). */
/*
 * Everything a first verification sets up once per process: OpenSSL's
 * initialisation and its digests, and libopendkim's own start.  A server
 * that forks a run per message calls this before the first fork.
 */
static void
dkim_warm(void)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

#ifdef SINK_STATIC_DKIM
	OPENSSL_init_crypto(SINK_OPENSSL_INIT, NULL);
#endif
	if (md) {
		EVP_DigestInit_ex(md, EVP_sha256(), NULL);
		EVP_DigestInit_ex(md, EVP_sha1(), NULL);
		EVP_MD_CTX_free(md);
	}
	verify_lib();
}

const SinkModuleStamp sink_module_stamp = SINK_MODULE_STAMP(SinkDkimModule);

const SinkDkimModule sink_dkim_module = {
	.verify = sink_dkim_verify,
	.sign = sink_dkim_sign,
	.sign_check = sink_dkim_sign_check,
	.warm = dkim_warm,
};
