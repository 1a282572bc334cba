/*
 * smtp.c - mailing a report: the checks before it (addresses, the route:
 * the Return-Path MX allowlist or a CFBL-Address), its delivery over SMTP
 * with libcurl, and the counters after it.  Shared by the oob (bounce.c)
 * and fbl (complaint.c) actions and the out-of-office reply (autoreply.c)
 * through sink_report_run.
 *
 * One attempt, no retries: the sink is the end of the line, and PMTA never
 * sees how the report went.  curl connects to the host in the URL, so the
 * MX is looked up first (mx.c) and named here.  EHLO is Host_Name (the URL's
 * path).  curl sends the data as given and only dot-stuffs it: the message
 * is serialised with CRLF line endings here.  A rejected RCPT gives the same
 * curl error for 451 and 550, so the SMTP reply code is read back with
 * CURLINFO_RESPONSE_CODE and its text caught from curl's debug stream.
 * With DKIM_Sign_* set, the message as serialised is signed by the DKIM
 * module (dkim/sign.c) just before it goes: a report that cannot be
 * signed is not sent.
 */
#include <string.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "fetch.h"
#include "module.h"
#include "mx.h"
#include "report-int.h"
#include "smtp.h"

#define SMTP_CONNECT_TIMEOUT_MS 10000

/* ---- libcurl ----------------------------------------------------------------------------------------- */

/* curl_global_init costs; only a process that sends mail pays it. */
static void
curl_init_once(void)
{
	static gsize once;

	if (g_once_init_enter(&once)) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		g_once_init_leave(&once, 1);
	}
}

typedef struct {
	const char *data;
	gsize len;
	gsize pos;
} Upload;

static size_t
read_cb(char *buf, size_t size, size_t nitems, void *userdata)
{
	Upload *up = userdata;
	size_t n = MIN(size * nitems, up->len - up->pos);

	memcpy(buf, up->data + up->pos, n);
	up->pos += n;
	return n;
}

/* Every line the server sent, in order (char*). */
static int
debug_cb(CURL *h, curl_infotype type, char *data, size_t size, void *userdata)
{
	GPtrArray *lines = userdata;
	g_auto(GStrv) split = NULL;
	g_autofree char *chunk = NULL;

	if (type != CURLINFO_HEADER_IN || lines->len > 200)
		return 0;
	chunk = g_strndup(data, size);
	split = g_strsplit(chunk, "\n", -1);
	for (char **l = split; *l; l++) {
		g_strchomp(*l);
		if (**l)
			g_ptr_array_add(lines, g_strdup(*l));
	}
	return 0;
}

/* The text of the last reply line with `code` (after "NNN "), else of the last line. */
static char *
reply_text(GPtrArray *lines, long code)
{
	char prefix[8];

	if (lines->len == 0)
		return NULL;
	g_snprintf(prefix, sizeof prefix, "%03ld", code);
	for (guint i = lines->len; i-- > 0;) {
		const char *l = lines->pdata[i];
		if (code > 0 && strncmp(l, prefix, 3) == 0 && (l[3] == ' ' || l[3] == '-' || l[3] == '\0')) {
			const char *t = l[3] ? l + 4 : l + 3;
			return sink_report_text(t);
		}
	}
	return code > 0 ? NULL : sink_report_text(lines->pdata[lines->len - 1]);
}

static char *
url_for(const char *mx, int port, const char *ehlo)
{
	CURLU *u = curl_url();
	char portstr[16];
	g_autofree char *path = g_strdup_printf("/%s", ehlo);
	char *url = NULL;
	char *out = NULL;

	g_snprintf(portstr, sizeof portstr, "%d", port);
	if (u && curl_url_set(u, CURLUPART_SCHEME, "smtp", 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_HOST, mx, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_PORT, portstr, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_PATH, path, CURLU_URLENCODE) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &url, 0) == CURLUE_OK) {
		out = g_strdup(url);
		curl_free(url);
	}
	curl_url_cleanup(u);
	return out;
}

/*
 * msg as it goes on the wire (CRLF), with its DKIM-Signature on top when
 * DKIM_Sign_* are set; its length in *len.  NULL with the action failed
 * when it cannot be signed.
 */
static char *
wire_data(SinkCtx *ctx, SinkAction *a, GMimeMessage *msg, gsize *len)
{
	g_autofree char *data = sink_report_serialize(msg, len);
	g_autofree char *sig = NULL;
	g_autoptr(GError) error = NULL;
	const SinkDkimModule *m;
	gsize sig_len;
	char *out;

	if (ctx->cfg->dkim_sign_key == NULL)
		return g_steal_pointer(&data);
	if ((m = sink_module_dkim(&error)) == NULL || (sig = m->sign(ctx->cfg, data, *len, &error)) == NULL) {
		sink_action_fail(a, "not sent: not signed: %s", error->message);
		return NULL;
	}
	sig_len = strlen(sig);
	out = g_malloc(sig_len + *len + 1);
	memcpy(out, sig, sig_len);
	memcpy(out + sig_len, data, *len + 1);
	*len += sig_len;
	return out;
}

/* The refusal of an address that is not public, for sink_smtp_send's public_only (as fetch.c's). */
static curl_socket_t
public_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *address)
{
	char **refused = clientp;
	g_autofree char *why = NULL;	/* (it names the address) */

	(void)purpose;
	if (sink_fetch_address_allowed(&address->addr, &why))
		return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
	g_free(*refused);
	*refused = g_strdup_printf("the MX's address is refused: %s; Fetch_Allow_Private is off", why);
	return CURL_SOCKET_BAD;
}

gboolean
sink_smtp_send(SinkCtx *ctx, SinkAction *a, const char *mx, const char *mail_from, const char *rcpt_to,
	       GMimeMessage *msg, gboolean public_only)
{
	const SinkConfig *cfg = ctx->cfg;
	gint64 start = g_get_monotonic_time();
	gint64 left_ms = (ctx->deadline - start) / 1000;
	gint64 total_ms = MIN((gint64)cfg->smtp_timeout * 1000, left_ms);
	g_autofree char *url = NULL, *from = NULL, *to = NULL, *data = NULL, *refused = NULL;
	g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
	struct curl_slist *rcpts = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	long code = 0, os_errno = 0;
	gboolean ok = FALSE;
	Upload up = { 0 };
	curl_socket_t sock = CURL_SOCKET_BAD;
	CURLcode rc;
	CURL *h;

	if (total_ms <= 0) {
		sink_action_fail(a, "not sent: the message's time budget (Message_Timeout) is spent");
		return FALSE;
	}
	url = url_for(mx, cfg->smtp_port, cfg->host_name);
	if (url == NULL) {
		sink_action_fail(a, "not sent: no SMTP URL for host %s", mx);
		return FALSE;
	}
	if ((data = wire_data(ctx, a, msg, &up.len)) == NULL)
		return FALSE;
	up.data = data;
	curl_init_once();
	h = curl_easy_init();
	if (h == NULL) {
		sink_action_fail(a, "not sent: curl_easy_init failed");
		return FALSE;
	}
	from = g_strdup_printf("<%s>", mail_from);
	to = g_strdup_printf("<%s>", rcpt_to);
	rcpts = curl_slist_append(NULL, to);

	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp");
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_QUICK_EXIT, 1L);	/* do not wait for a resolver thread at the timeout */
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)MIN(total_ms, SMTP_CONNECT_TIMEOUT_MS));
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)total_ms);
	curl_easy_setopt(h, CURLOPT_SERVER_RESPONSE_TIMEOUT, (long)MAX(1, (total_ms + 999) / 1000));
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpts);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(h, CURLOPT_READDATA, &up);
	curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)up.len);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
	curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, debug_cb);
	curl_easy_setopt(h, CURLOPT_DEBUGDATA, lines);
	if (public_only && !cfg->fetch_allow_private) {
		curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, public_socket);
		curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &refused);
	}

	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
	a->seconds = (double)(g_get_monotonic_time() - start) / G_USEC_PER_SEC;
	if (rc == CURLE_OK) {
		a->status = (int)code;
		a->reply = reply_text(lines, code);
		ok = TRUE;
	} else if (code >= 400 && code < 600) {
		a->status = (int)code;
		a->reply = reply_text(lines, code);
		sink_action_fail(a, "%s failure", code >= 500 ? "permanent" : "temporary");
	} else if (refused) {
		sink_action_fail(a, "not sent: %s", refused);
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		sink_action_fail(a, "timed out after %" G_GINT64_FORMAT " ms%s%s", (gint64)(a->seconds * 1000),
				 errbuf[0] ? ": " : "", errbuf);
	} else if (rc == CURLE_COULDNT_CONNECT && os_errno != 0) {
		sink_action_fail(a, "no connection: %s (%s)", g_strerror((int)os_errno), errbuf);
	} else if (rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_CONNECT) {
		sink_action_fail(a, "no connection: %s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
	} else {
		sink_action_fail(a, "%s%s%s", curl_easy_strerror(rc), errbuf[0] ? ": " : "", errbuf);
	}
	/*
	 * curl_easy_cleanup sends QUIT and waits for its reply, for as long as
	 * the transfer's own timeouts allowed (setting a shorter one now does
	 * not reach it): after a stalled DATA that would be the whole wait
	 * again.  The QUIT's reply is no part of the answer, so it is not
	 * awaited: after a success the socket's reading side is shut (the QUIT
	 * still goes out, and the read sees the end at once); after a failure
	 * the whole socket, and the QUIT fails at once.
	 */
	curl_easy_setopt(h, CURLOPT_VERBOSE, 0L);
	if (curl_easy_getinfo(h, CURLINFO_ACTIVESOCKET, &sock) == CURLE_OK && sock != CURL_SOCKET_BAD)
		shutdown(sock, ok ? SHUT_RD : SHUT_RDWR);
	curl_easy_cleanup(h);
	curl_slist_free_all(rcpts);
	return ok;
}

/* ---- the run flow --------------------------------------------------------------------------------- */

void
sink_report_run(SinkCtx *ctx, const SinkReportKind *k)
{
	g_autofree char *from = sink_report_addr(ctx->rcpt);
	g_autofree char *return_path = sink_report_addr(ctx->return_path);
	g_autofree char *rcpt_to = NULL;
	g_autoptr(GError) error = NULL;
	gboolean tempfail = FALSE;
	GMimeMessage *msg;
	SinkAction *a;

	if (from == NULL) {
		sink_ctx_count(ctx, k->missing_to);
		sink_ctx_error(ctx, "%s not sent: %s", k->what, ctx->rcpt ? "no usable To: address" : "no To:");
		return;
	}
	if (return_path == NULL && !k->senders_own) {
		sink_ctx_count(ctx, k->missing_return_path);
		sink_ctx_error(ctx, "%s not sent: %s", k->what,
			       ctx->return_path ? "no usable Return-Path address" : "no Return-Path");
		return;
	}
	/*
	 * A UTF-8 local part travels only with SMTPUTF8 (RFC 6531), which this
	 * client does not negotiate: sent as it is, the command would be one
	 * an ASCII server cannot read.  (Domains are A-labels already.)
	 */
	if (!g_str_is_ascii(from) || (!k->to_fbl_addr && !g_str_is_ascii(return_path))) {
		gboolean to = !g_str_is_ascii(from);

		sink_ctx_count(ctx, to ? k->missing_to : k->missing_return_path);
		sink_ctx_error(ctx, "%s not sent: the %s address %s has a non-ASCII local part (it needs "
			       "SMTPUTF8, which the sink does not speak)", k->what, to ? "To:" : "Return-Path",
			       to ? from : return_path);
		return;
	}
	if (!k->route(ctx, k->what, &tempfail)) {
		sink_ctx_count(ctx, tempfail ? k->dns_error : k->not_allowed);
		return;
	}
	rcpt_to = k->to_fbl_addr ? sink_report_addr(ctx->fbl_addr) : g_strdup(return_path);
	if (rcpt_to == NULL || ctx->mx_host == NULL) {
		sink_ctx_count(ctx, k->not_allowed);
		sink_ctx_error(ctx, "%s not sent: no %s for MX %s", k->what,
			       rcpt_to ? "MX host" : "usable feedback-loop address",
			       ctx->mx_host ? ctx->mx_host : "(none)");
		return;
	}
	if (k->gate && !k->gate(ctx, from, rcpt_to))
		return;
	a = sink_ctx_action(ctx, k->action, ctx->mx_host);
	msg = k->build(ctx, &error);
	if (msg == NULL) {
		sink_action_fail(a, "report not built: %s", error->message);
		if (!ctx->dry_run)
			sink_ctx_count(ctx, k->smtp_error);
		return;
	}
	if (ctx->verbose) {
		g_free(ctx->report_text);
		ctx->report_text = sink_report_serialize(msg, NULL);
	}
	if (!ctx->dry_run) {
		gboolean sent = sink_smtp_send(ctx, a, ctx->mx_host, k->null_sender ? "" : from, rcpt_to, msg,
					       k->senders_own);

		sink_ctx_count(ctx, sent ? k->sent : k->smtp_error);
		if (sent && k->also_sent)
			sink_ctx_count(ctx, k->also_sent);
	}
	g_object_unref(msg);
}
