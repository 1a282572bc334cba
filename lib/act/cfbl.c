/*
 * cfbl.c - RFC 9477, the Complaint Feedback Loop Address Header: a sender
 * names in CFBL-Address where it wants complaints about the message, and a
 * mailbox provider that honours it sends its ARF report there (SPEC
 * section 17).  Checked for each complaint (complaint.c); CFBL = false
 * turns it off.
 *
 * What the received message must show for the header to be honoured:
 * - exactly one CFBL-Address field, "addr-spec [; report=arf|xarf]"
 *   (RFC 9477 5.1).  The sink takes a dot-atom address in ASCII (an IDN
 *   domain in A-labels) of at most 254 octets, nothing else: no comment, no
 *   quoted local part, no second address, no control character.  A field
 *   given twice is not honoured at all: a DKIM h= that names it once signs
 *   only the bottom-most, and one added on top by anybody is unsigned, so
 *   which one the sender vouched for cannot be told (RFC 9477 3.2 wants one).
 * - at most one CFBL-Feedback-ID, of atext, ':' and white space (5.2); its
 *   white space is no part of it.
 * - one From: address, and valid DKIM signatures that cover CFBL-Address,
 *   and CFBL-Feedback-ID when present, in their h= (3.1.4):
 *     the From: domain and the CFBL-Address domain of one organization
 *     (relaxed alignment): one such signature whose d= is of that
 *     organization (3.1.1, 3.1.2);
 *     of two organizations: one whose d= is of the From: domain's
 *     organization and one whose d= is of the CFBL-Address domain's (3.1.3:
 *     both domains agree where the reports go).
 *   The signatures are the DKIM check's (dkimsig.h): in verify mode each
 *   one libopendkim judged, in header mode those our own
 *   Authentication-Results passed.
 * An organization is a registrable domain under the Public Suffix List
 * (libpsl): mail.example.co.uk and example.co.uk are one, example.co.uk
 * and other.co.uk are two.
 *
 * An honoured header routes the complaint to its address, at its domain's
 * MX (mx.c's look-up; the SparkPost MX allowlist does not apply: the
 * sender asked with its signature).  report=xarf gets ARF, the RFC's
 * fallback.  The report carries the original, Message-ID and
 * CFBL-Feedback-ID included.  A header not honoured leaves the section 6
 * route, and says why in the record and the log line.
 */
#include <string.h>

#include <libpsl.h>

#include "cfbl.h"
#include "dkimsig.h"
#include "message.h"
#include "mx.h"

#define ADDR_MAX 254		/* RFC 5321 4.5.3.1.3: a path of 256 octets with its <> */
#define LOCAL_MAX 64		/* RFC 5321 4.5.3.1.1 */
#define FEEDBACK_ID_MAX 998	/* one header line */

/* ---- the organizational domain (libpsl) ------------------------------------------------------------ */

/* The Public Suffix List: the newest of the system's file and the library's own, loaded once per process. */
static const psl_ctx_t *
psl(void)
{
	static const psl_ctx_t *list;

	if (list == NULL && (list = psl_latest(NULL)) == NULL)
		list = psl_builtin();
	return list;
}

void
sink_cfbl_warm(void)
{
	psl();
}

char *
sink_cfbl_org_domain(const char *domain)
{
	g_autofree char *lower = NULL;
	const char *org;
	gsize len;

	if (domain == NULL || *domain == '\0')
		return NULL;
	lower = g_ascii_strdown(domain, -1);
	len = strlen(lower);
	while (len > 0 && lower[len - 1] == '.')
		lower[--len] = '\0';
	/* a domain that is a public suffix itself (or no list at all): the domain is its own organization */
	org = psl() ? psl_registrable_domain(psl(), lower) : NULL;
	return g_strdup(org ? org : lower);
}

gboolean
sink_cfbl_same_org(const char *domain, gpointer org)
{
	g_autofree char *o = sink_cfbl_org_domain(domain);

	return g_strcmp0(o, org) == 0;
}

/* ---- the header fields -------------------------------------------------------------------------------- */

/* How many fields `name` the message has; *value: the raw value of the first. */
static int
fields_named(SinkCtx *ctx, const char *name, const char **value)
{
	GMimeHeaderList *headers = g_mime_object_get_header_list(ctx->mime);
	int count = g_mime_header_list_get_count(headers), n = 0;

	*value = NULL;
	for (int i = 0; i < count; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
		if (g_ascii_strcasecmp(g_mime_header_get_name(h), name) == 0 && n++ == 0)
			*value = g_mime_header_get_raw_value(h);
	}
	return n;
}

static const char not_ascii[] = "is not ASCII";

/*
 * A raw field value unfolded (a line end before white space taken out) and
 * trimmed; NULL when a control character other than that folding is left
 * (a bare CR, a NUL or a line end smuggled in), or a byte is not ASCII.
 */
static char *
unfold(const char *raw, const char **why)
{
	GString *out = g_string_new(NULL);

	for (const char *p = raw; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '\r' && p[1] == '\n' && (p[2] == ' ' || p[2] == '\t'))
			p++;
		else if (c == '\n' && (p[1] == ' ' || p[1] == '\t'))
			;
		else if (c == '\t' || (c >= 0x20 && c < 0x7f))
			g_string_append_c(out, (char)c);
		else if (!((c == '\r' || c == '\n') && strspn(p, "\r\n") == strlen(p))) {	/* not the final line end */
			*why = c >= 0x80 ? not_ascii : "holds a control character (CR, LF, NUL, ...)";
			g_string_free(out, TRUE);
			return NULL;
		}
	}
	return g_strstrip(g_string_free(out, FALSE));
}

static gboolean
is_atext(char c)
{
	return g_ascii_isalnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* A domain in A-labels: LDH labels of 1 to 63 octets, not starting or ending with '-', at least two. */
static gboolean
ldh_domain(const char *d, gsize len)
{
	gsize label = 0, labels = 1;

	if (len == 0 || len > 253)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (d[i] == '.') {
			if (label == 0 || d[i - 1] == '-')
				return FALSE;
			label = 0;
			labels++;
		} else if (g_ascii_isalnum(d[i]) || (d[i] == '-' && label > 0)) {
			if (++label > 63)
				return FALSE;
		} else {
			return FALSE;
		}
	}
	return label > 0 && d[len - 1] != '-' && labels >= 2;
}

/*
 * CFBL-Address's value (unfolded): the address and the report format into
 * cfbl, or the reason it is not one address in the form RFC 9477 gives.
 */
static gboolean
parse_address(SinkCfbl *cfbl, const char *v, const char **why)
{
	const char *p = v, *at, *end;
	gsize local_len;

	/* the local part: a dot-atom */
	while (is_atext(*p) || (*p == '.' && p != v && p[-1] != '.'))
		p++;
	if (*p == '"' || *p == '(' || *p == '<') {
		*why = *p == '"' ? "has a quoted local part (the sink takes a dot-atom address only)"
		     : *p == '(' ? "has a comment (the sink takes the address alone)"
				 : "is not an addr-spec (an address in <> or with a name)";
		return FALSE;
	}
	if (*p != '@' || p == v || p[-1] == '.') {
		*why = "is not an addr-spec (local@domain)";
		return FALSE;
	}
	local_len = (gsize)(p - v);
	at = p++;
	while (*p && *p != ' ' && *p != '\t' && *p != ';' && *p != ',')
		p++;
	end = p;
	if (local_len > LOCAL_MAX || (gsize)(end - v) > ADDR_MAX) {
		*why = "is longer than an address may be (64 octets before the @, 254 in all)";
		return FALSE;
	}
	if (!ldh_domain(at + 1, (gsize)(end - at - 1))) {
		*why = "has no domain name after the @ (letters, digits, '-' in dot-separated labels)";
		return FALSE;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == ',' || *p == '@' || *p == '<' || is_atext(*p)) {
		*why = "holds more than one address";
		return FALSE;
	}
	if (*p == ';') {	/* "report=" and its value in any case (ABNF strings); unfold() stripped the end */
		for (p++; *p == ' ' || *p == '\t'; p++)
			;
		if (g_ascii_strcasecmp(p, "report=arf") == 0)
			cfbl->report = g_strdup("arf");
		else if (g_ascii_strcasecmp(p, "report=xarf") == 0)
			cfbl->report = g_strdup("xarf");
		else {
			*why = "has something after the address other than \"; report=arf\" or \"; report=xarf\"";
			return FALSE;
		}
	} else if (*p != '\0') {
		*why = "has something after the address other than \"; report=arf\" or \"; report=xarf\"";
		return FALSE;
	}
	cfbl->address = g_strndup(v, (gsize)(end - v));
	return TRUE;
}

/* CFBL-Feedback-ID (unfolded): atext, ':' and white space, which is no part of it. */
static gboolean
parse_feedback_id(SinkCfbl *cfbl, const char *v, const char **why)
{
	GString *id = g_string_new(NULL);

	for (const char *p = v; *p; p++) {
		if (is_atext(*p) || *p == ':')
			g_string_append_c(id, *p);
		else if (*p != ' ' && *p != '\t') {
			*why = "CFBL-Feedback-ID holds characters other than atext and ':'";
			g_string_free(id, TRUE);
			return FALSE;
		}
	}
	if (id->len == 0 || id->len > FEEDBACK_ID_MAX) {
		*why = id->len ? "CFBL-Feedback-ID is too long" : "CFBL-Feedback-ID is empty";
		g_string_free(id, TRUE);
		return FALSE;
	}
	cfbl->feedback_id = g_string_free(id, FALSE);
	return TRUE;
}

/* The domain (A-labels, lower case) of the message's one From: address; NULL with the reason. */
static char *
from_domain(SinkCtx *ctx, char **why)
{
	const char *raw;
	int n = fields_named(ctx, "From", &raw);
	InternetAddressList *list;
	const char *addr = NULL, *at;
	int mailboxes = 0;
	char *domain = NULL;

	if (n != 1) {
		*why = g_strdup_printf("the message has %d From: fields, not one", n);
		return NULL;
	}
	list = internet_address_list_parse(NULL, raw);
	for (int i = 0; list && i < internet_address_list_length(list); i++) {
		InternetAddress *ia = internet_address_list_get_address(list, i);
		if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
			addr = internet_address_mailbox_get_idn_addr(INTERNET_ADDRESS_MAILBOX(ia));
			mailboxes++;
		} else {
			mailboxes += 2;	/* a group: not one author */
		}
	}
	if (mailboxes == 1 && addr && (at = strrchr(addr, '@')) != NULL && at[1])
		domain = g_hostname_to_ascii(at + 1);
	if (domain == NULL)
		*why = g_strdup(mailboxes == 1 ? "the From: address has no domain name"
					       : "From: does not hold exactly one address");
	else {
		char *lower = g_ascii_strdown(domain, -1);
		g_free(domain);
		domain = lower;
	}
	if (list)
		g_object_unref(list);
	return domain;
}

/* NULL when a valid signature of `org`'s organization covers `fields`; else why not (g_free). */
static char *
missing_signature(SinkCtx *ctx, const char *org, const char *whose, const char *const *fields)
{
	const SinkDkimSig *sig;
	g_autofree char *names = NULL;

	if (sink_dkim_passing_where(ctx, sink_cfbl_same_org, (gpointer)org, fields) != NULL)
		return NULL;
	sig = sink_dkim_passing_where(ctx, sink_cfbl_same_org, (gpointer)org, NULL);
	if (sig == NULL)
		return g_strdup_printf("no valid DKIM signature of %s (the %s domain's organization)", org, whose);
	names = g_strjoinv(" and ", (char **)fields);
	return g_strdup_printf("the valid DKIM signature of %s does not sign %s in its h=", sig->domain, names);
}

char *
sink_cfbl_signed_for(SinkCtx *ctx, const char *address, const char *what, const char *const *fields)
{
	g_autofree char *from = NULL, *from_org = NULL, *addr_org = NULL;
	const char *at = strrchr(address, '@');
	char *reason = NULL;

	if (at == NULL || at[1] == '\0')
		return g_strdup_printf("the %s has no domain", what);
	if ((from = from_domain(ctx, &reason)) == NULL)
		return reason;
	from_org = sink_cfbl_org_domain(from);
	addr_org = sink_cfbl_org_domain(at + 1);
	if ((reason = missing_signature(ctx, from_org, "From:", fields)) != NULL)
		return reason;
	if (strcmp(from_org, addr_org) != 0 && (reason = missing_signature(ctx, addr_org, what, fields)) != NULL) {
		char *both = g_strdup_printf("%s: a %s of another organization than From:'s (%s) needs signatures of "
					     "both", reason, what, from_org);
		g_free(reason);
		return both;
	}
	return NULL;
}

/* The reason the message's CFBL-Address is not honoured, or NULL when it is. */
static char *
judge(SinkCtx *ctx)
{
	SinkCfbl *cfbl = &ctx->cfbl;
	const char *raw, *why = NULL;
	g_autofree char *value = NULL;
	const char *fields[3] = { "CFBL-Address", NULL, NULL };
	int n = fields_named(ctx, "CFBL-Address", &raw);

	if (n > 1)
		return g_strdup_printf("CFBL-Address appears %d times: a message may carry one, and which one a "
				       "signature covers cannot be told", n);
	/* from the bytes: GMime's value ends at a NUL */
	if (sink_header_has_control(ctx, "CFBL-Address"))
		return g_strdup("CFBL-Address holds a control character (CR, LF, NUL, ...)");
	if ((value = unfold(raw, &why)) == NULL)
		return g_strdup_printf("CFBL-Address %s%s", why,
				       why == not_ascii ? " (an internationalized address is not taken)" : "");
	if (!parse_address(cfbl, value, &why))
		return g_strdup_printf("CFBL-Address %s", why);
	if ((n = fields_named(ctx, "CFBL-Feedback-ID", &raw)) > 1)
		return g_strdup_printf("CFBL-Feedback-ID appears %d times: a message may carry one", n);
	if (n == 1) {
		g_clear_pointer(&value, g_free);
		if (sink_header_has_control(ctx, "CFBL-Feedback-ID"))
			return g_strdup("CFBL-Feedback-ID holds a control character (CR, LF, NUL, ...)");
		if ((value = unfold(raw, &why)) == NULL)
			return g_strdup_printf("CFBL-Feedback-ID %s", why);
		if (!parse_feedback_id(cfbl, value, &why))
			return g_strdup(why);
		fields[1] = "CFBL-Feedback-ID";
	}
	return sink_cfbl_signed_for(ctx, cfbl->address, "CFBL-Address", fields);
}

void
sink_cfbl_check(SinkCtx *ctx)
{
	SinkCfbl *cfbl = &ctx->cfbl;
	const char *raw;

	cfbl->checked = TRUE;
	if (ctx->mime == NULL || fields_named(ctx, "CFBL-Address", &raw) == 0)
		return;
	cfbl->present = TRUE;
	if (!ctx->cfg->cfbl) {
		cfbl->reason = g_strdup("CFBL = false in the config");
		sink_ctx_note(ctx, "CFBL-Address not honoured: %s", cfbl->reason);
		return;
	}
	cfbl->reason = judge(ctx);
	cfbl->honoured = cfbl->reason == NULL;
	if (!cfbl->honoured) {
		sink_ctx_note(ctx, "CFBL-Address not honoured: %s", cfbl->reason);
		return;
	}
	sink_ctx_note(ctx, "cfbl=%s", cfbl->address);
	if (g_strcmp0(cfbl->report, "xarf") == 0)
		sink_ctx_note(ctx, "CFBL report=xarf asked: ARF sent (the sink makes no XARF)");
}

gboolean
sink_cfbl_route(SinkCtx *ctx, const char *what, gboolean *tempfail)
{
	const char *domain = strrchr(ctx->cfbl.address, '@') + 1;

	g_clear_pointer(&ctx->mx_host, g_free);
	g_clear_pointer(&ctx->fbl_addr, g_free);
	ctx->mx_host = sink_mx_lookup(ctx, what, "CFBL-Address domain", domain, tempfail);
	if (ctx->mx_host == NULL)
		return FALSE;
	ctx->fbl_addr = g_strdup(ctx->cfbl.address);
	return TRUE;
}
