/*
 * persona.c - which mailboxes have machine traffic, and which clients
 * their readers and gateways use.
 *
 * A persona belongs to the address, not to one message: a mailbox behind
 * Apple Mail Privacy Protection or a security gateway treats every message
 * alike.  So it is not drawn from the message's random generator (whose
 * draws, the mix's, stay as they were) but read from a keyed hash of the
 * lower-cased address that every host and process computes the same,
 * today and any day: SHA-256 over a purpose, Persona_Salt and the address.
 * Each purpose (MPP, scanner, the reader's and the gateway's User-Agent)
 * has its own point, so the shares are independent of each other: with
 * MPP_percent = 30 and Scanner_percent = 20, 6 % of addresses have both.
 * Another salt places every address afresh.
 *
 * The `mpp.` and `scanner.` subdomains give their persona to every address
 * under them, on top of the mix's; their class still comes from the mix.
 */
#include <string.h>

#include "persona.h"
#include "useragent.h"

double
sink_persona_hash(const SinkConfig *cfg, const char *rcpt, const char *purpose)
{
	g_autoptr(GChecksum) sum = NULL;
	g_autofree char *lower = NULL;
	const char *salt = cfg->persona_salt ? cfg->persona_salt : "";
	guint8 digest[32];
	gsize len = sizeof digest;
	guint64 v = 0;

	if (rcpt == NULL)
		return 0;
	lower = g_ascii_strdown(rcpt, -1);
	{	/* the mailbox, not its +label (which changes nothing): "user+ci-7@x" is "user@x" */
		char *plus = strchr(lower, '+'), *at = strrchr(lower, '@');
		if (plus && at && plus < at)
			memmove(plus, at, strlen(at) + 1);
	}
	sum = g_checksum_new(G_CHECKSUM_SHA256);
	g_checksum_update(sum, (const guchar *)purpose, (gssize)strlen(purpose) + 1);	/* with its NUL */
	g_checksum_update(sum, (const guchar *)salt, (gssize)strlen(salt) + 1);
	g_checksum_update(sum, (const guchar *)lower, (gssize)strlen(lower));
	g_checksum_get_digest(sum, digest, &len);
	for (int i = 0; i < 8; i++)
		v = v << 8 | digest[i];
	return (double)(v >> 11) * 0x1.0p-53;
}

SinkPersona
sink_persona_route(const char *rcpt)
{
	const char *at, *dot;
	size_t n;

	if (rcpt == NULL || (at = strrchr(rcpt, '@')) == NULL || (dot = strchr(++at, '.')) == NULL)
		return SINK_PERSONA_NONE;
	n = (size_t)(dot - at);
	if (n == 3 && g_ascii_strncasecmp(at, "mpp", n) == 0)
		return SINK_PERSONA_MPP;
	if (n == 7 && g_ascii_strncasecmp(at, "scanner", n) == 0)
		return SINK_PERSONA_SCANNER;
	return SINK_PERSONA_NONE;
}

guint
sink_persona_of(const SinkConfig *cfg, const char *rcpt)
{
	guint p = sink_persona_route(rcpt);

	if (rcpt == NULL)
		return SINK_PERSONA_NONE;
	if (cfg->mpp_percent > 0 && sink_persona_hash(cfg, rcpt, "mpp") < cfg->mpp_percent / 100.0)
		p |= SINK_PERSONA_MPP;
	if (cfg->scanner_percent > 0 && sink_persona_hash(cfg, rcpt, "scanner") < cfg->scanner_percent / 100.0)
		p |= SINK_PERSONA_SCANNER;
	return p;
}

guint
sink_persona_names(guint persona, const char *names[3])
{
	guint n = 0;

	if (persona & SINK_PERSONA_MPP)
		names[n++] = "mpp";
	if (persona & SINK_PERSONA_SCANNER)
		names[n++] = "scanner";
	names[n] = NULL;
	return n;
}

char *
sink_persona_reader_agent(const SinkConfig *cfg, const char *rcpt, GRand *rng, char **why)
{
	if (cfg->user_agent_per_address && rcpt)
		return sink_useragent_pick_at(cfg, sink_persona_hash(cfg, rcpt, "user-agent"), why);
	return sink_useragent_pick(cfg, rng, why);
}

char *
sink_persona_scanner_agent(const SinkConfig *cfg, const char *rcpt, char **why)
{
	return sink_useragent_scanner_at(cfg, sink_persona_hash(cfg, rcpt, "scanner-agent"), why);
}

const char *
sink_persona_name(guint persona)
{
	static const char *const names[] = { "none", "mpp", "scanner", "mpp+scanner" };

	return names[persona & (SINK_PERSONA_MPP | SINK_PERSONA_SCANNER)];
}
