/*
 * persona.h - what an address's mailbox does to every message it gets,
 * whatever the message: Apple Mail Privacy Protection prefetches its
 * images, a security gateway scans its links (SPEC sections 15, 18).
 */
#ifndef SINK_PERSONA_H
#define SINK_PERSONA_H

#include "config.h"

typedef enum {
	SINK_PERSONA_NONE = 0,
	SINK_PERSONA_MPP = 1 << 0,	/* Apple Mail Privacy Protection */
	SINK_PERSONA_SCANNER = 1 << 1,	/* a link-scanning security gateway */
} SinkPersona;

/* The User-Agent of Apple's image proxy, exactly. */
#define SINK_PERSONA_MPP_AGENT "Mozilla/5.0"

/*
 * sink_persona_hash: the address's stable point in [0, 1) for `purpose`
 * ("mpp", "scanner", "user-agent", "scanner-agent"): the first 8 bytes of
 * SHA-256(purpose NUL Persona_Salt NUL address), the address lower-cased
 * (ASCII letters) and without its +label (the mailbox's: "u+ci-7@x" is
 * "u@x"), as a big-endian integer over 2^64 (53 bits of it).  The
 * same on every host, in every process, on every day; no random draw.
 * rcpt NULL gives 0.
 */
double sink_persona_hash(const SinkConfig *cfg, const char *rcpt, const char *purpose);

/*
 * sink_persona_route: the persona that rcpt's first domain label names
 * ("mpp", "scanner", any case), or SINK_PERSONA_NONE.
 */
SinkPersona sink_persona_route(const char *rcpt);

/*
 * sink_persona_of: rcpt's personas (SinkPersona flags): those its hash
 * gives under MPP_percent and Scanner_percent, plus the one its subdomain
 * names.  NULL gives none.
 */
guint sink_persona_of(const SinkConfig *cfg, const char *rcpt);

/* sink_persona_name: the flags as one static name: "none", "mpp", "scanner" or "mpp+scanner". */
const char *sink_persona_name(guint persona);

/*
 * sink_persona_names: the persona flags as a NULL-terminated array of
 * static names ("mpp", "scanner"), in that order, into `names` (room for
 * 3); returns how many.
 */
guint sink_persona_names(guint persona, const char *names[3]);

/*
 * sink_persona_reader_agent: the User-Agent of rcpt's reader: with
 * User_Agent_Per_Address the one its hash picks, else one drawn from rng
 * (sink_useragent_pick).  g_free; *why as for sink_useragent_pick.
 */
char *sink_persona_reader_agent(const SinkConfig *cfg, const char *rcpt, GRand *rng, char **why);

/*
 * sink_persona_scanner_agent: the User-Agent of rcpt's gateway, the one
 * its hash picks (an address sits behind one gateway).  g_free; *why as
 * for sink_useragent_pick.
 */
char *sink_persona_scanner_agent(const SinkConfig *cfg, const char *rcpt, char **why);

#endif
