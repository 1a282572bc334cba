/*
 * config.h - the sink's configuration: one table of keys, read with GKeyFile.
 *
 * The original bouncy-sink's consume-mail.ini loads unchanged.  Every key
 * has a type, a default and bounds; an unknown key or a bad value is an
 * error naming the file, the key and the problem.
 */
#ifndef SINK_CONFIG_H
#define SINK_CONFIG_H

#include <sys/stat.h>

#include <glib.h>

#include "duration.h"
#include "feedback.h"

#define SINK_CONFIG_ERROR (sink_config_error_quark())
GQuark sink_config_error_quark(void);

typedef enum {
	SINK_CONFIG_ERROR_READ,		/* missing or unreadable file */
	SINK_CONFIG_ERROR_SYNTAX,	/* not an INI file */
	SINK_CONFIG_ERROR_KEY,		/* unknown section or key */
	SINK_CONFIG_ERROR_VALUE,	/* a value out of type or bounds */
} SinkConfigError;

typedef enum {
	SINK_DKIM_VERIFY,
	SINK_DKIM_HEADER,
	SINK_DKIM_OFF,
} SinkDkimMode;

/* Unsubscribe_Method: how the unsubscribe class unsubscribes (SPEC section 16). */
typedef enum {
	SINK_UNSUB_AUTO,	/* a mailbox provider's order: one-click, mailto, link */
	SINK_UNSUB_ONE_CLICK,
	SINK_UNSUB_MAILTO,
	SINK_UNSUB_LINK,
} SinkUnsubMethod;

/* Unsubscribe_Post_Encoding: the one-click POST's body. */
typedef enum {
	SINK_POST_MULTIPART,	/* multipart/form-data (RFC 8058 3.1: SHOULD) */
	SINK_POST_URLENCODED,	/* application/x-www-form-urlencoded */
} SinkPostEncoding;

typedef struct {
	char *path;			/* the file read, or NULL for built-in defaults */

	/* the statistical model (percent of all traffic) */
	double oob_percent;
	double fbl_percent;
	double open_percent;
	double open_again_percent;
	double click_percent;
	double click_again_percent;
	double unsubscribe_percent;
	double autoreply_percent;
	double upstream_handled;

	/* files */
	char *logfile;
	int logfile_backup_count;
	char *user_agents_file;
	char *done_msg_file_dest;	/* NULL or "" = no done copies */
	int done_max_files;		/* copies kept at most (oldest removed first); 0 = no cap */

	/* opens and clicks */
	char **tracking_domains_allowlist;	/* NULL-terminated, lower case */
	int open_click_timeout;
	char *tracking_server_header;
	gboolean fetch_allow_private;
	int max_urls_per_message;
	int max_redirects;		/* redirects an open or click follows */
	int directive_max_repeats;	/* the most opens=N or clicks=N a sender may ask (X-Bouncy-Sink) */
#define SINK_REPEATS_CEILING 100	/* the most Directive_Max_Repeats may be: no plan repeats a step more */

	/* unsubscribes */
	SinkUnsubMethod unsubscribe_method;
	SinkPostEncoding unsubscribe_post_encoding;
	gboolean unsubscribe_allow_http;	/* one-click to http URIs too (tests) */
	char *unsubscribe_user_agent;		/* the one-click POST's User-Agent */

	/* out-of-office replies (RFC 3834) */
	char *autoreply_text;		/* the reply's text/plain body; "\n" in it is a line break */
	gboolean autoreply_skip_lists;	/* no reply to list or bulk mail (List-Id, Precedence) */
	int autoreply_interval_days;	/* one reply per (recipient, sender) per so many days; 0 = every time */

	/* personas: what every message to an address meets (persona.c) */
	double mpp_percent;		/* share of addresses behind Apple Mail Privacy Protection */
	double scanner_percent;		/* share of addresses behind a link-scanning gateway */
	char *persona_salt;		/* "" by default */
	gboolean user_agent_per_address;	/* the address's hash picks its reader's User-Agent */
	char *scanner_user_agents_file;	/* NULL: the built-in list of gateways' agents */

	/* DKIM signatures on what the sink sends (all three or none; NULL = not signed) */
	char *dkim_sign_domain;
	char *dkim_sign_selector;
	char *dkim_sign_key;		/* path of the PEM private key */

	/* complaints */
	double fbl_feedback_weights[SINK_FEEDBACK_TYPES];	/* FBL_Feedback_Types, one per SinkFeedbackType */
	gboolean cfbl;			/* honour a message's CFBL-Address (RFC 9477) */

	/* Signals */
	char *signals_traffic_prefix;
	guint32 digit_days[10];		/* bit d set = day d (1..31) of the month; bit 0 = "0" listed */

	/* weekly cycles; lengths are multiples of 7 */
	double *weekly_bounce_rate;
	gsize weekly_bounce_rate_len;
	double *weekly_open_rate;
	gsize weekly_open_rate_len;
	double *weekly_purge;
	gsize weekly_purge_len;

	/* accounting */
	char *redis_url;
	char *results_key;

	/* trust and network */
	char *host_name;		/* Host_Name, else the system's as it was at the load */
	SinkDkimMode dkim_check;
	gboolean spf_required_direct;
	int dns_timeout;
	int smtp_timeout;
	int smtp_port;
	int message_timeout;

	/* delayed steps (SPEC section 20): <Step>_Delay, and the queue's bounds */
	SinkDelayRange delays[SINK_STEPS];	/* by SinkStep; 0-0 = at once */
	gint64 delay_queue_max;		/* jobs waiting or running at most; past it a step runs at once */
	gint64 delay_job_max_size;	/* a job's payload in bytes at most; past it the step runs at once */
	gint64 delay_job_max_age;	/* seconds: a job older than this is dropped (jobs_expired) */

	/* sizes */
	gint64 max_message_size;
	gint64 report_original_max;

	/* sink-cycle */
	char *pmta_config;
	char *pmta_reload_command;

	/* [RP_MX_domain_allowlist]: MX host (lower case) -> FBL address */
	GHashTable *rp_mx_allowlist;

	/* warnings met while loading (deprecated keys); char* */
	GPtrArray *warnings;
} SinkConfig;

/*
 * sink_config_load: read `path`, or with path NULL the built-in defaults.
 * Environment REDIS_URL and RESULTS_KEY override the file.  Returns a new
 * config (free with sink_config_free) or NULL with `error` set in the
 * SINK_CONFIG_ERROR domain, its message naming the file and key.
 */
SinkConfig *sink_config_load(const char *path, GError **error);

/*
 * sink_config_get: sink_config_load for a process that runs message after
 * message (a child of sink-filterd).  It reads the file again only when it
 * may have changed: another path, working directory (for a relative path),
 * REDIS_URL, RESULTS_KEY or system host name (an empty Host_Name's value),
 * or another inode, size, mtime or ctime of the file; one changed in the
 * last 2 s is read every time.  The config is the cache's: do not free it;
 * it is valid until the next call.
 */
const SinkConfig *sink_config_get(const char *path, GError **error);

/* sink_config_free: NULL is ok. */
void sink_config_free(SinkConfig *cfg);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SinkConfig, sink_config_free)

/*
 * sink_config_default_path: $SINK_CONFIG if set, else the system file if
 * it exists, else NULL (built-in defaults).  Returns a static or env string.
 */
const char *sink_config_default_path(void);

/*
 * sink_weekly_index: index into an n-weekly list of `len` (a multiple of 7)
 * for the UTC day `when`: (ISO weekday - 1) + 7 * (ISO week mod weeks).
 */
gsize sink_weekly_index(gsize len, GDateTime *when);

/* sink_config_key_prefix: "consume-mail:<results_key>:"; free with g_free. */
char *sink_config_key_prefix(const SinkConfig *cfg);

/*
 * sink_same_file: whether two stat results are of the same file, unchanged
 * (device, inode, size, mtime and ctime to the nanosecond): the config
 * cache and the signing key's reuse rule.
 */
gboolean sink_same_file(const struct stat *a, const struct stat *b);

#endif
