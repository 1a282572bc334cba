/*
 * mx.c - the Return-Path MX allowlist (SPEC section 6), the anti-backscatter
 * check before any bounce or complaint is mailed: reports only go to
 * senders whose mail is handled by a known SparkPost MX.
 *
 * The preferred MX of the Return-Path domain (lowest preference; no MX: the
 * domain itself when it has an address) must be a key of
 * [RP_MX_domain_allowlist], whose value is the FBL address, or a host under
 * e.sparkpost.com, whose first label is the tenant:
 * fbl@<tenant>.mail.e.sparkpost.com.  The look-up itself (sink_mx_lookup)
 * also finds the MX of a CFBL-Address domain (cfbl.c), where the sender's
 * signature, not the allowlist, says that reports may go.
 */
#include <string.h>

#include "dns.h"
#include "mx.h"

#define TENANT_SUFFIX ".e.sparkpost.com"

char *
sink_mx_map(const SinkConfig *cfg, const char *mx)
{
	g_autofree char *host = NULL;
	const char *fbl, *dot;
	gsize len;

	if (mx == NULL)
		return NULL;
	host = g_ascii_strdown(mx, -1);
	len = strlen(host);
	while (len > 0 && host[len - 1] == '.')
		host[--len] = '\0';
	if (len == 0)
		return NULL;

	if (cfg->rp_mx_allowlist && (fbl = g_hash_table_lookup(cfg->rp_mx_allowlist, host)) != NULL)
		return g_strdup(fbl);

	/* <tenant>.<anything>.e.sparkpost.com, on a label boundary */
	if (len > strlen(TENANT_SUFFIX) && g_str_has_suffix(host, TENANT_SUFFIX)) {
		dot = strchr(host, '.');
		if (dot > host)
			return g_strdup_printf("fbl@%.*s.mail.e.sparkpost.com", (int)(dot - host), host);
	}
	return NULL;
}

char *
sink_mx_lookup(SinkCtx *ctx, const char *what, const char *role, const char *name, gboolean *tempfail)
{
	/* looked up in A-labels: an IDN domain may come in Unicode */
	g_autofree char *domain = name && *name ? g_hostname_to_ascii(name) : NULL;
	const char *why = NULL;
	g_autofree char *host = NULL;
	int timeout = sink_dns_timeout(ctx);
	SinkDnsStatus st;

	*tempfail = FALSE;
	if (name == NULL || *name == '\0') {
		sink_ctx_error(ctx, "%s not sent: no %s to look up", what, role);
		return NULL;
	}
	if (domain == NULL) {
		sink_ctx_error(ctx, "%s not sent: %s %s is not a domain name", what, role, name);
		return NULL;
	}

	st = sink_dns_mx(domain, timeout, &host, &why);
	switch (st) {
	case SINK_DNS_OK:
		if (*host == '\0') {
			sink_ctx_error(ctx, "%s not sent: %s %s has a null MX (accepts no mail)", what, role, domain);
			return NULL;
		}
		return g_steal_pointer(&host);
	case SINK_DNS_NODATA:
		/* no MX: the domain itself, when it has an address (RFC 5321 5.1) */
		st = sink_dns_address(domain, timeout, &why);
		if (st == SINK_DNS_OK)
			return g_ascii_strdown(domain, -1);
		if (st == SINK_DNS_TEMPFAIL) {
			*tempfail = TRUE;
			sink_ctx_error(ctx, "%s not sent: address look-up for %s %s failed: %s", what, role, domain, why);
		} else {
			sink_ctx_error(ctx, "%s not sent: %s %s has no MX and no address", what, role, domain);
		}
		return NULL;
	case SINK_DNS_NXDOMAIN:
		sink_ctx_error(ctx, "%s not sent: %s %s does not exist", what, role, domain);
		return NULL;
	case SINK_DNS_TEMPFAIL:
		*tempfail = TRUE;
		sink_ctx_error(ctx, "%s not sent: MX look-up for %s %s failed: %s", what, role, domain, why);
		return NULL;
	case SINK_DNS_FAIL:
		sink_ctx_error(ctx, "%s not sent: %s %s: %s", what, role, domain, why);
		return NULL;
	}
	return NULL;
}

gboolean
sink_mx_resolve(SinkCtx *ctx, const char *what, gboolean *tempfail)
{
	const char *at = ctx->return_path ? strrchr(ctx->return_path, '@') : NULL;

	g_clear_pointer(&ctx->mx_host, g_free);
	g_clear_pointer(&ctx->fbl_addr, g_free);
	ctx->mx_host = sink_mx_lookup(ctx, what, "Return-Path domain", at ? at + 1 : NULL, tempfail);
	if (ctx->mx_host == NULL)
		return FALSE;
	ctx->fbl_addr = sink_mx_map(ctx->cfg, ctx->mx_host);
	if (ctx->fbl_addr == NULL) {
		g_autofree char *domain = g_hostname_to_ascii(at + 1);
		sink_ctx_error(ctx, "%s not sent: Return-Path domain %s has MX %s, not an allowlisted MX", what,
			       domain, ctx->mx_host);
		return FALSE;
	}
	return TRUE;
}

gboolean
sink_mx_allowed(SinkCtx *ctx, const char *what, const char *whose, const char *address, char **mx_host,
		char **fbl_addr, gboolean *tempfail)
{
	const char *at = address ? strrchr(address, '@') : NULL;
	g_autofree char *role = g_strdup_printf("%s domain", whose);

	*mx_host = *fbl_addr = NULL;
	*mx_host = sink_mx_lookup(ctx, what, role, at ? at + 1 : NULL, tempfail);
	if (*mx_host == NULL)
		return FALSE;
	*fbl_addr = sink_mx_map(ctx->cfg, *mx_host);
	if (*fbl_addr == NULL) {
		g_autofree char *domain = g_hostname_to_ascii(at + 1);
		sink_ctx_error(ctx, "%s not sent: %s %s has MX %s, not an allowlisted MX", what, role, domain,
			       *mx_host);
		return FALSE;
	}
	return TRUE;
}
