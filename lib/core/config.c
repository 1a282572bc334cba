/*
 * config.c - the config table and its loader.
 *
 * Design: one table lists every key of [Sink] with its type, default and
 * bounds.  Loading starts from the defaults, then walks the file's keys
 * (matched case-insensitively, as Python's configparser did for the
 * original) and checks each against the table, so an unknown key or a bad
 * value stops the load with an error naming the file and the key.  Relative
 * paths are taken relative to the config file's folder.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "plan.h"
#include "redisurl.h"
#include "sink-build.h"

G_DEFINE_QUARK(sink-config-error-quark, sink_config_error)

#define SINK_SECTION "Sink"
#define ALLOWLIST_SECTION "RP_MX_domain_allowlist"
#define SYSTEM_CONFIG SINK_SYSCONFDIR "/sink.ini"

typedef enum {
	K_DOUBLE,	/* double, bounds min..max */
	K_INT,		/* int, bounds min..max */
	K_INT64,	/* gint64, bounds min..max */
	K_BOOL,
	K_STRING,	/* char *, may be empty */
	K_PATH,		/* char *, relative to the config's folder; empty = NULL, or an error with min 1 */
	K_DOMAINS,	/* char **, comma-separated, lower-cased */
	K_CYCLE,	/* double * + gsize, comma-separated, length a multiple of 7 */
	K_DAYS,		/* guint32 bitmap, comma-separated days 1..31 or 0 = never */
	K_DKIM,		/* SinkDkimMode */
	K_FEEDBACK,	/* double[SINK_FEEDBACK_TYPES], "type:weight,..." (feedback.c) */
	K_DELAY,	/* SinkDelayRange, "MIN-MAX" or one duration (duration.c) */
	K_DURATION,	/* gint64 seconds, one duration from min to max */
	K_ENUM,		/* an int enum: the index of the value in `choices` (case-insensitive) */
	K_OBSOLETE,	/* accepted with a warning, ignored */
} KeyType;

typedef struct {
	const char *name;
	KeyType type;
	size_t offset;		/* into SinkConfig; for K_CYCLE the array, len follows */
	const char *def;	/* default, as it would be written in the file */
	double min, max;
	const char *const *choices;	/* K_ENUM: the values, NULL-terminated, in the enum's order */
} KeySpec;

#define OFF(f) offsetof(SinkConfig, f)
#define EVERY_DAY "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31"

static const char *const unsub_methods[] = { "auto", "one-click", "mailto", "link", NULL };
static const char *const post_encodings[] = { "multipart", "urlencoded", NULL };

/*
 * The one-click POST's User-Agent: what senders see in their logs of
 * Gmail's unsubscribe requests (Google does not document it).
 */
/* An out-of-office reply's body, as a person leaves one (Autoreply_Text; "\n" breaks a line). */
#define AUTOREPLY_TEXT "I am out of the office and will be back soon, with limited access to e-mail.\\n" \
	"I will read your message when I return.\\n"

#define GMAIL_ACTIONS_AGENT "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/1.0 (KHTML, like Gecko; Gmail Actions)"

/* The defaults are the original's shipped consume-mail.ini model. */
static const KeySpec keys[] = {
	{ "OOB_percent", K_DOUBLE, OFF(oob_percent), "0.5", 0, 100 },
	{ "FBL_percent", K_DOUBLE, OFF(fbl_percent), "0.01", 0, 100 },
	{ "Open_percent", K_DOUBLE, OFF(open_percent), "55", 0, 100 },
	{ "Open_Again_percent", K_DOUBLE, OFF(open_again_percent), "10", 0, 100 },
	{ "Click_percent", K_DOUBLE, OFF(click_percent), "15", 0, 100 },
	{ "Click_Again_percent", K_DOUBLE, OFF(click_again_percent), "3", 0, 100 },
	{ "Upstream_Handled", K_DOUBLE, OFF(upstream_handled), "50", 0, 99.999 },
	{ "Logfile", K_PATH, OFF(logfile), "/var/log/bouncy-sink/sink.log", 0, 0 },
	{ "Logfile_backup_count", K_INT, OFF(logfile_backup_count), "7", 0, 3650 },
	{ "Tracking_Domains_Allowlist", K_DOMAINS, OFF(tracking_domains_allowlist), "", 0, 0 },
	{ "Open_Click_Timeout", K_INT, OFF(open_click_timeout), "10", 1, 600 },
	{ "User_Agents_File", K_PATH, OFF(user_agents_file), "", 0, 0 },
	{ "Done_Msg_File_Dest", K_PATH, OFF(done_msg_file_dest), "", 0, 0 },
	{ "Done_Max_Files", K_INT, OFF(done_max_files), "10000", 0, 100000000 },
	{ "Signals_Traffic_Prefix", K_STRING, OFF(signals_traffic_prefix), "test", 0, 0 },
	{ "Digit0_days", K_DAYS, OFF(digit_days[0]), "0", 0, 0 },
	{ "Digit1_days", K_DAYS, OFF(digit_days[1]), "1,2,3,4,5,6,7,15,16,17,18,19,20,21,29,30,31", 0, 0 },
	{ "Digit2_days", K_DAYS, OFF(digit_days[2]), EVERY_DAY, 0, 0 },
	{ "Digit3_days", K_DAYS, OFF(digit_days[3]), EVERY_DAY, 0, 0 },
	{ "Digit4_days", K_DAYS, OFF(digit_days[4]), EVERY_DAY, 0, 0 },
	{ "Digit5_days", K_DAYS, OFF(digit_days[5]), "3,18", 0, 0 },
	{ "Digit6_days", K_DAYS, OFF(digit_days[6]), EVERY_DAY, 0, 0 },
	{ "Digit7_days", K_DAYS, OFF(digit_days[7]), EVERY_DAY, 0, 0 },
	{ "Digit8_days", K_DAYS, OFF(digit_days[8]), EVERY_DAY, 0, 0 },
	{ "Digit9_days", K_DAYS, OFF(digit_days[9]), EVERY_DAY, 0, 0 },
	{ "Weekly_Cycle_Bounce_Rate", K_CYCLE, OFF(weekly_bounce_rate), "4,40,40,2,4,4,4,4,4,4,4,4,4,4", 0, 100 },
	{ "Weekly_Cycle_Open_Rate", K_CYCLE, OFF(weekly_open_rate), "1,0.1,0.1,0.2,1,1,1,1,0.5,0.7,1,1,1,1", 0, 1000 },
	{ "Weekly_Cycle_Suppressions_Purge", K_CYCLE, OFF(weekly_purge), "0,0,0,0,0,0,0,0,0,0,0,0,1,0", 0, 1 },
	{ "Max_Threads", K_OBSOLETE, 0, NULL, 0, 0 },
	{ "Gather_Timeout", K_OBSOLETE, 0, NULL, 0, 0 },
	{ "Redis_URL", K_STRING, OFF(redis_url), "redis://127.0.0.1:6379", 0, 0 },
	{ "Results_Key", K_STRING, OFF(results_key), "0", 0, 0 },
	{ "Host_Name", K_STRING, OFF(host_name), "", 0, 0 },
	{ "DKIM_Check", K_DKIM, OFF(dkim_check), "verify", 0, 0 },
	{ "SPF_Required_Direct", K_BOOL, OFF(spf_required_direct), "false", 0, 0 },
	{ "DNS_Timeout", K_INT, OFF(dns_timeout), "3", 1, 60 },
	{ "SMTP_Timeout", K_INT, OFF(smtp_timeout), "30", 1, 600 },
	{ "SMTP_Port", K_INT, OFF(smtp_port), "25", 1, 65535 },
	{ "Message_Timeout", K_INT, OFF(message_timeout), "60", 1, 3600 },
	{ "Tracking_Server_Header", K_STRING, OFF(tracking_server_header), "msys-http", 0, 0 },
	{ "Fetch_Allow_Private", K_BOOL, OFF(fetch_allow_private), "false", 0, 0 },
	{ "Max_URLs_Per_Message", K_INT, OFF(max_urls_per_message), "50", 0, 10000 },
	{ "Max_Redirects", K_INT, OFF(max_redirects), "4", 0, 20 },
	{ "FBL_Feedback_Types", K_FEEDBACK, OFF(fbl_feedback_weights), "abuse:100", 0, 0 },
	{ "CFBL", K_BOOL, OFF(cfbl), "true", 0, 0 },
	{ "DKIM_Sign_Domain", K_STRING, OFF(dkim_sign_domain), "", 0, 0 },
	{ "DKIM_Sign_Selector", K_STRING, OFF(dkim_sign_selector), "", 0, 0 },
	{ "DKIM_Sign_Key", K_PATH, OFF(dkim_sign_key), "", 0, 0 },
	{ "Unsubscribe_percent", K_DOUBLE, OFF(unsubscribe_percent), "0", 0, 100 },
	{ "Unsubscribe_Method", K_ENUM, OFF(unsubscribe_method), "auto", 0, 0, unsub_methods },
	{ "Unsubscribe_Post_Encoding", K_ENUM, OFF(unsubscribe_post_encoding), "multipart", 0, 0, post_encodings },
	{ "Unsubscribe_Allow_HTTP", K_BOOL, OFF(unsubscribe_allow_http), "false", 0, 0 },
	{ "Unsubscribe_User_Agent", K_STRING, OFF(unsubscribe_user_agent), GMAIL_ACTIONS_AGENT, 0, 0 },
	{ "Autoreply_percent", K_DOUBLE, OFF(autoreply_percent), "0", 0, 100 },
	{ "Autoreply_Text", K_STRING, OFF(autoreply_text), AUTOREPLY_TEXT, 0, 0 },
	{ "Autoreply_Skip_Lists", K_BOOL, OFF(autoreply_skip_lists), "true", 0, 0 },
	{ "Autoreply_Interval_Days", K_INT, OFF(autoreply_interval_days), "7", 0, 3650 },
	{ "MPP_percent", K_DOUBLE, OFF(mpp_percent), "0", 0, 100 },
	{ "Scanner_percent", K_DOUBLE, OFF(scanner_percent), "0", 0, 100 },
	{ "Persona_Salt", K_STRING, OFF(persona_salt), "", 0, 0 },
	{ "User_Agent_Per_Address", K_BOOL, OFF(user_agent_per_address), "false", 0, 0 },
	{ "Scanner_User_Agents_File", K_PATH, OFF(scanner_user_agents_file), "", 0, 0 },
	{ "Directive_Max_Repeats", K_INT, OFF(directive_max_repeats), "10", 1, SINK_REPEATS_CEILING },
	{ "Max_Message_Size", K_INT64, OFF(max_message_size), "52428800", 1024, 1073741824.0 },
	{ "Report_Original_Max", K_INT64, OFF(report_original_max), "1048576", 0, 1073741824.0 },
	{ "Open_Delay", K_DELAY, OFF(delays[SINK_STEP_OPEN]), "0", 0, 0 },
	{ "Click_Delay", K_DELAY, OFF(delays[SINK_STEP_CLICK]), "0", 0, 0 },
	{ "OOB_Delay", K_DELAY, OFF(delays[SINK_STEP_OOB]), "0", 0, 0 },
	{ "FBL_Delay", K_DELAY, OFF(delays[SINK_STEP_FBL]), "0", 0, 0 },
	{ "Unsubscribe_Delay", K_DELAY, OFF(delays[SINK_STEP_UNSUBSCRIBE]), "0", 0, 0 },
	{ "Autoreply_Delay", K_DELAY, OFF(delays[SINK_STEP_AUTOREPLY]), "0", 0, 0 },
	{ "Delay_Queue_Max", K_INT64, OFF(delay_queue_max), "1000000", 0, 1e12 },
	{ "Delay_Job_Max_Size", K_INT64, OFF(delay_job_max_size), "2097152", 1024, 1073741824.0 },
	{ "Delay_Job_Max_Age", K_DURATION, OFF(delay_job_max_age), "31d", 60, 366 * 86400.0 },
	{ "PMTA_Config", K_PATH, OFF(pmta_config), "/etc/pmta/config", 1, 0 },	/* (sink-cycle has no other) */
	{ "PMTA_Reload_Command", K_STRING, OFF(pmta_reload_command), "pmta reload", 0, 0 },
};

/* The original's allowlist, used when no file is read. */
static const char *const default_allowlist[][2] = {
	{ "smtp.sparkpostmail.com", "fbl@sparkpostmail.com" },
	{ "smtp.eu.sparkpostmail.com", "fbl@eu.sparkpostmail.com" },
};

/* K_CYCLE stores the array's length right after its pointer. */
G_STATIC_ASSERT(offsetof(SinkConfig, weekly_bounce_rate_len) ==
		offsetof(SinkConfig, weekly_bounce_rate) + sizeof(double *));
G_STATIC_ASSERT(offsetof(SinkConfig, weekly_open_rate_len) ==
		offsetof(SinkConfig, weekly_open_rate) + sizeof(double *));
G_STATIC_ASSERT(offsetof(SinkConfig, weekly_purge_len) ==
		offsetof(SinkConfig, weekly_purge) + sizeof(double *));

/* K_ENUM stores an int. */
G_STATIC_ASSERT(sizeof(SinkUnsubMethod) == sizeof(int) && sizeof(SinkPostEncoding) == sizeof(int));

#define FIELD(cfg, spec, type) ((type *)((char *)(cfg) + (spec)->offset))

static gboolean
bad_value(GError **error, const char *file, const KeySpec *k, const char *value, const char *why)
{
	g_set_error(error, SINK_CONFIG_ERROR, SINK_CONFIG_ERROR_VALUE,
		    "%s: [" SINK_SECTION "] %s = \"%s\": %s", file, k->name, value, why);
	return FALSE;
}

static gboolean
parse_double(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = g_ascii_strtod(s, &end);
	while (g_ascii_isspace(*end))
		end++;
	return errno == 0 && end != s && *end == '\0' && isfinite(*out);
}

static char **
split_list(const char *value)
{
	char **parts = g_strsplit(value, ",", -1);
	GPtrArray *kept = g_ptr_array_new();

	for (char **p = parts; *p; p++) {
		char *item = g_strstrip(*p);
		if (*item)
			g_ptr_array_add(kept, g_strdup(item));
	}
	g_strfreev(parts);
	g_ptr_array_add(kept, NULL);
	return (char **)g_ptr_array_free(kept, FALSE);
}

static char *
resolve_path(const char *dir, const char *value)
{
	if (*value == '\0')
		return NULL;
	if (dir == NULL)
		return g_strdup(value);
	return g_canonicalize_filename(value, dir);
}

/* Set one key from its text; on a bad value set `error` and return FALSE. */
static gboolean
set_key(SinkConfig *cfg, const KeySpec *k, const char *raw, const char *file, const char *dir,
	GError **error)
{
	g_autofree char *value = g_strstrip(g_strdup(raw));

	switch (k->type) {
	case K_DOUBLE: {
		double d;
		if (!parse_double(value, &d))
			return bad_value(error, file, k, value, "not a number");
		if (d < k->min || d > k->max) {
			g_autofree char *why = g_strdup_printf("must be between %g and %g", k->min, k->max);
			return bad_value(error, file, k, value, why);
		}
		*FIELD(cfg, k, double) = d;
		break;
	}
	case K_INT:
	case K_INT64: {
		gint64 n;
		if (!g_ascii_string_to_signed(value, 10, (gint64)k->min, (gint64)k->max, &n, NULL)) {
			g_autofree char *why = g_strdup_printf("must be a whole number from %.0f to %.0f",
							       k->min, k->max);
			return bad_value(error, file, k, value, why);
		}
		if (k->type == K_INT)
			*FIELD(cfg, k, int) = (int)n;
		else
			*FIELD(cfg, k, gint64) = n;
		break;
	}
	case K_BOOL: {
		static const char *const yes[] = { "true", "yes", "on", "1" };
		static const char *const no[] = { "false", "no", "off", "0" };
		gboolean found = FALSE;
		for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
			if (g_ascii_strcasecmp(value, yes[i]) == 0)
				*FIELD(cfg, k, gboolean) = TRUE, found = TRUE;
			else if (g_ascii_strcasecmp(value, no[i]) == 0)
				*FIELD(cfg, k, gboolean) = FALSE, found = TRUE;
		}
		if (!found)
			return bad_value(error, file, k, value, "must be true or false");
		break;
	}
	case K_STRING:
		if (!g_utf8_validate(value, -1, NULL))
			return bad_value(error, file, k, "?", "not valid UTF-8");
		g_free(*FIELD(cfg, k, char *));
		*FIELD(cfg, k, char *) = g_strdup(value);
		break;
	case K_PATH:
		if (*value == '\0' && k->min > 0)
			return bad_value(error, file, k, value, "must not be empty: a file's path");
		g_free(*FIELD(cfg, k, char *));
		*FIELD(cfg, k, char *) = resolve_path(dir, value);
		break;
	case K_DOMAINS: {
		char **list = split_list(value);
		for (char **p = list; *p; p++) {
			char *lower = g_ascii_strdown(*p, -1);
			g_free(*p);
			*p = lower;
		}
		g_strfreev(*FIELD(cfg, k, char **));
		*FIELD(cfg, k, char **) = list;
		break;
	}
	case K_CYCLE: {
		g_auto(GStrv) items = g_strsplit(value, ",", -1);
		g_auto(GStrv) list = split_list(value);
		gsize n = g_strv_length(list);
		/* the values are days in order: an empty one in the middle would
		 * shift every later day (a single trailing comma is harmless) */
		for (gsize i = 0; items[i] && items[i + 1]; i++) {
			if (*g_strstrip(items[i]) == '\0') {
				g_autofree char *why = g_strdup_printf("item %" G_GSIZE_FORMAT
								       " is empty (the values are days in order)", i + 1);
				return bad_value(error, file, k, value, why);
			}
		}
		if (n == 0 || n % 7 != 0)
			return bad_value(error, file, k, value,
					 "needs one value per day, a multiple of 7 values (whole weeks)");
		double *vals = g_new(double, n);
		for (gsize i = 0; i < n; i++) {
			if (!parse_double(list[i], &vals[i]) || vals[i] < k->min || vals[i] > k->max) {
				g_autofree char *why = g_strdup_printf(
					"item %" G_GSIZE_FORMAT " (\"%s\") must be a number from %g to %g",
					i + 1, list[i], k->min, k->max);
				g_free(vals);
				return bad_value(error, file, k, value, why);
			}
		}
		g_free(*FIELD(cfg, k, double *));
		*FIELD(cfg, k, double *) = vals;
		*(gsize *)((char *)cfg + k->offset + sizeof(double *)) = n;
		break;
	}
	case K_DAYS: {
		/* walked in place: ten of these, a month of days each, are read at every start */
		guint32 days = 0;
		for (const char *p = value; *p;) {
			const char *item, *end;
			guint d = 0;
			while (*p == ',' || g_ascii_isspace(*p))
				p++;
			if (*p == '\0')
				break;
			item = p;
			while (*p && *p != ',')
				p++;
			for (end = p; end > item && g_ascii_isspace(end[-1]); end--)
				;
			for (const char *c = item; c < end && d <= 31; c++)
				d = g_ascii_isdigit(*c) ? d * 10 + (guint)(*c - '0') : 32;
			if (d > 31) {
				g_autofree char *bad = g_strndup(item, (gsize)(end - item));
				g_autofree char *why = g_strdup_printf("\"%s\" is not a day of the month (1-31, or 0 for never)", bad);
				return bad_value(error, file, k, value, why);
			}
			days |= 1u << d;	/* bit 0: "0" (never) was listed, for the density */
		}
		*FIELD(cfg, k, guint32) = days;
		break;
	}
	case K_DKIM:
		if (g_ascii_strcasecmp(value, "verify") == 0)
			*FIELD(cfg, k, SinkDkimMode) = SINK_DKIM_VERIFY;
		else if (g_ascii_strcasecmp(value, "header") == 0)
			*FIELD(cfg, k, SinkDkimMode) = SINK_DKIM_HEADER;
		else if (g_ascii_strcasecmp(value, "off") == 0)
			*FIELD(cfg, k, SinkDkimMode) = SINK_DKIM_OFF;
		else
			return bad_value(error, file, k, value, "must be verify, header or off");
		break;
	case K_FEEDBACK: {
		g_autofree char *why = NULL;
		if (!sink_feedback_weights_parse(value, FIELD(cfg, k, double), &why))
			return bad_value(error, file, k, value, why);
		break;
	}
	case K_DELAY: {
		g_autofree char *why = NULL;
		if (!sink_delay_range_parse(value, FIELD(cfg, k, SinkDelayRange), &why))
			return bad_value(error, file, k, value, why);
		break;
	}
	case K_DURATION: {
		gint64 s;
		if (!sink_duration_parse(value, (gint64)k->max, &s) || s < (gint64)k->min) {
			g_autofree char *lo = sink_duration_text((gint64)k->min), *hi = sink_duration_text((gint64)k->max);
			g_autofree char *why = g_strdup_printf("must be a duration from %s to %s (such as 90s, 10m, 6h, 7d)",
							       lo, hi);
			return bad_value(error, file, k, value, why);
		}
		*FIELD(cfg, k, gint64) = s;
		break;
	}
	case K_ENUM: {
		int i = 0;
		while (k->choices[i] && g_ascii_strcasecmp(value, k->choices[i]) != 0)
			i++;
		if (k->choices[i] == NULL) {
			g_autofree char *list = g_strjoinv(", ", (char **)k->choices);
			g_autofree char *why = g_strdup_printf("must be one of %s", list);
			return bad_value(error, file, k, value, why);
		}
		*FIELD(cfg, k, int) = i;
		break;
	}
	case K_OBSOLETE:
		g_ptr_array_add(cfg->warnings,
				g_strdup_printf("%s: [" SINK_SECTION "] %s no longer means anything; ignored",
						file, k->name));
		break;
	}
	return TRUE;
}

static const KeySpec *
find_key(const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
		if (g_ascii_strcasecmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static gboolean
load_sink_section(SinkConfig *cfg, GKeyFile *kf, const char *file, const char *dir, GError **error)
{
	g_auto(GStrv) names = g_key_file_get_keys(kf, SINK_SECTION, NULL, NULL);
	g_autoptr(GHashTable) given = g_hash_table_new(NULL, NULL);	/* KeySpec -> the name it was given as */

	for (char **n = names; n && *n; n++) {
		const KeySpec *k = find_key(*n);
		const char *before;
		if (k == NULL) {
			g_set_error(error, SINK_CONFIG_ERROR, SINK_CONFIG_ERROR_KEY,
				    "%s: [" SINK_SECTION "] %s: unknown key", file, *n);
			return FALSE;
		}
		/* names are matched without regard to case: OOB_percent and
		 * oob_percent are one key, which the original refused twice */
		if ((before = g_hash_table_lookup(given, k)) != NULL) {
			g_set_error(error, SINK_CONFIG_ERROR, SINK_CONFIG_ERROR_KEY,
				    "%s: [" SINK_SECTION "] %s: given twice (also as %s)", file, *n, before);
			return FALSE;
		}
		g_hash_table_insert(given, (gpointer)k, *n);
		g_autofree char *value = g_key_file_get_value(kf, SINK_SECTION, *n, NULL);
		if (!set_key(cfg, k, value ? value : "", file, dir, error))
			return FALSE;
	}
	return TRUE;
}

static gboolean
looks_like_address(const char *s)
{
	const char *at = strchr(s, '@');

	return at && at != s && at[1] && !strchr(at + 1, '@') && !strpbrk(s, " \t<>\r\n,;");
}

static gboolean
load_allowlist(SinkConfig *cfg, GKeyFile *kf, const char *file, GError **error)
{
	g_auto(GStrv) names = g_key_file_get_keys(kf, ALLOWLIST_SECTION, NULL, NULL);

	if (names == NULL)
		return TRUE;
	g_hash_table_remove_all(cfg->rp_mx_allowlist);
	for (char **n = names; *n; n++) {
		g_autofree char *raw = g_key_file_get_value(kf, ALLOWLIST_SECTION, *n, NULL);
		const char *value = raw ? g_strstrip(raw) : "";
		if (!looks_like_address(value)) {
			g_set_error(error, SINK_CONFIG_ERROR, SINK_CONFIG_ERROR_VALUE,
				    "%s: [" ALLOWLIST_SECTION "] %s = \"%s\": not an email address (the FBL address for this MX)",
				    file, *n, value);
			return FALSE;
		}
		/* MX names come from DNS in A-labels without the final dot: a key
		 * written "mx.example." or in Unicode is made the same */
		g_autofree char *trimmed = g_strdup(*n);
		gsize len = strlen(trimmed);
		while (len > 0 && trimmed[len - 1] == '.')
			trimmed[--len] = '\0';
		g_autofree char *ascii = len ? g_hostname_to_ascii(trimmed) : NULL;
		if (ascii == NULL || g_hostname_is_ip_address(ascii)) {
			g_set_error(error, SINK_CONFIG_ERROR, SINK_CONFIG_ERROR_VALUE,
				    "%s: [" ALLOWLIST_SECTION "] %s: not an MX host name", file, *n);
			return FALSE;
		}
		g_hash_table_insert(cfg->rp_mx_allowlist, g_ascii_strdown(ascii, -1), g_strdup(value));
	}
	return TRUE;
}

/* A DNS name in letters, digits, '-' and '.' (a DKIM d= or s=), without empty labels. */
static gboolean
dns_name_ok(const char *s)
{
	gsize len = strlen(s);

	static const char ldh[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.";

	return len > 0 && len <= 253 && strspn(s, ldh) == len && s[0] != '.' && s[len - 1] != '.' &&
	       strstr(s, "..") == NULL;
}

/*
 * DKIM_Sign_Domain, DKIM_Sign_Selector and DKIM_Sign_Key go together.  The
 * key file must be one this process can open; whether it holds a key is
 * the DKIM module's to say (sink-filter -n), not every message's.
 */
static gboolean
check_signing(SinkConfig *cfg, const char *file, GError **error)
{
	const KeySpec *domain = find_key("DKIM_Sign_Domain"), *selector = find_key("DKIM_Sign_Selector");
	const KeySpec *key = find_key("DKIM_Sign_Key");
	struct stat st;
	int fd, e;

	if (cfg->dkim_sign_domain && *cfg->dkim_sign_domain == '\0')
		g_clear_pointer(&cfg->dkim_sign_domain, g_free);
	if (cfg->dkim_sign_selector && *cfg->dkim_sign_selector == '\0')
		g_clear_pointer(&cfg->dkim_sign_selector, g_free);
	if (!cfg->dkim_sign_domain && !cfg->dkim_sign_selector && !cfg->dkim_sign_key)
		return TRUE;
	if (!cfg->dkim_sign_domain || !cfg->dkim_sign_selector || !cfg->dkim_sign_key) {
		g_set_error(error, SINK_CONFIG_ERROR, SINK_CONFIG_ERROR_VALUE,
			    "%s: [" SINK_SECTION "] DKIM_Sign_Domain, DKIM_Sign_Selector and DKIM_Sign_Key go together: "
			    "%s is not set", file,
			    !cfg->dkim_sign_domain ? "DKIM_Sign_Domain" : !cfg->dkim_sign_selector ? "DKIM_Sign_Selector"
												 : "DKIM_Sign_Key");
		return FALSE;
	}
	if (!dns_name_ok(cfg->dkim_sign_domain))
		return bad_value(error, file, domain, cfg->dkim_sign_domain, "not a domain name (in A-labels)");
	if (!dns_name_ok(cfg->dkim_sign_selector))
		return bad_value(error, file, selector, cfg->dkim_sign_selector, "not a selector (letters, digits, '-', '.')");
	fd = open(cfg->dkim_sign_key, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	e = fd < 0 ? errno : 0;
	if (fd >= 0 && fstat(fd, &st) == 0 && !S_ISREG(st.st_mode))
		e = -1;
	if (fd >= 0)
		close(fd);
	if (e != 0) {
		g_autofree char *why = g_strdup_printf("the key cannot be read: %s",
						       e < 0 ? "not a file" : g_strerror(e));
		return bad_value(error, file, key, cfg->dkim_sign_key, why);
	}
	return TRUE;
}

static SinkConfig *
config_defaults(void)
{
	SinkConfig *cfg = g_new0(SinkConfig, 1);

	cfg->warnings = g_ptr_array_new_with_free_func(g_free);
	cfg->rp_mx_allowlist = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
		if (keys[i].type == K_OBSOLETE)
			continue;
		if (!set_key(cfg, &keys[i], keys[i].def, "(built-in)", NULL, NULL))
			g_error("built-in default of %s is invalid", keys[i].name);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(default_allowlist); i++)
		g_hash_table_insert(cfg->rp_mx_allowlist, g_strdup(default_allowlist[i][0]),
				    g_strdup(default_allowlist[i][1]));
	return cfg;
}

/*
 * g_key_file_load_from_file, except that a UTF-8 byte order mark at the
 * start (as some Windows editors save) is skipped: GKeyFile would take it
 * as part of the first line and call "[Sink]" not a group.
 */
static gboolean
load_key_file(GKeyFile *kf, const char *path, GError **error)
{
	g_autofree char *text = NULL;
	gsize len;
	const char *start;

	if (!g_file_get_contents(path, &text, &len, error)) {
		/* GLib's words repeat the path the caller names: say only why, as open() does */
		int fd = open(path, O_RDONLY | O_CLOEXEC), e = fd < 0 ? errno : 0;
		if (fd >= 0)
			close(fd);
		if (e != 0) {
			g_clear_error(error);
			g_set_error_literal(error, G_FILE_ERROR, g_file_error_from_errno(e), g_strerror(e));
		}
		return FALSE;
	}
	start = len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0 ? text + 3 : text;
	return g_key_file_load_from_data(kf, start, len - (gsize)(start - text), G_KEY_FILE_NONE, error);
}

/*
 * The system's host name as it is now: GLib's g_get_host_name() keeps the
 * first it read for the life of the process, and a server's child may
 * outlive a change of it.  Free with g_free.
 */
static char *
system_host_name(void)
{
	struct utsname u;

	return g_strdup(uname(&u) == 0 && u.nodename[0] ? u.nodename : "localhost");
}

/*
 * A warning (sink-filter -n) when a job may wait as long as
 * Delay_Job_Max_Age or longer, counted from its message: a step's longest
 * delay, or an open's and then its click's.  Such a job is dropped
 * (jobs_expired) instead of run.
 */
static void
check_job_age(SinkConfig *cfg)
{
	static const char *const delay_keys[SINK_STEPS] = {
		[SINK_STEP_OPEN] = "Open_Delay", [SINK_STEP_CLICK] = "Click_Delay", [SINK_STEP_OOB] = "OOB_Delay",
		[SINK_STEP_FBL] = "FBL_Delay", [SINK_STEP_UNSUBSCRIBE] = "Unsubscribe_Delay",
		[SINK_STEP_AUTOREPLY] = "Autoreply_Delay",
	};
	const SinkDelayRange *open = &cfg->delays[SINK_STEP_OPEN], *click = &cfg->delays[SINK_STEP_CLICK];
	g_autofree char *age = sink_duration_text(cfg->delay_job_max_age);
	g_autofree char *chain = sink_duration_text(open->max + click->max);

	if (click->max > 0 && open->max + click->max >= cfg->delay_job_max_age) {
		g_ptr_array_add(cfg->warnings,
				g_strdup_printf("Delay_Job_Max_Age (%s) is not longer than Open_Delay's longest and then "
						"Click_Delay's (%s): such clicks are dropped as expired instead of run",
						age, chain));
		return;
	}
	for (int i = 0; i < SINK_STEPS; i++)
		if (cfg->delays[i].max >= cfg->delay_job_max_age) {
			g_autofree char *longest = sink_duration_text(cfg->delays[i].max);

			g_ptr_array_add(cfg->warnings,
					g_strdup_printf("Delay_Job_Max_Age (%s) is not longer than %s's longest (%s): "
							"such jobs are dropped as expired instead of run", age, delay_keys[i],
							longest));
			return;
		}
}

SinkConfig *
sink_config_load(const char *path, GError **error)
{
	g_autoptr(SinkConfig) cfg = config_defaults();
	g_autoptr(GKeyFile) kf = NULL;
	g_autoptr(GError) local = NULL;
	const char *env;

	if (path) {
		g_autofree char *dir = g_path_get_dirname(path);
		g_autofree char *abs_dir = g_path_is_absolute(dir) ? g_strdup(dir)
			: g_canonicalize_filename(dir, NULL);

		cfg->path = g_strdup(path);
		kf = g_key_file_new();
		if (!load_key_file(kf, path, &local)) {
			gboolean io = local->domain == G_FILE_ERROR;
			g_set_error(error, SINK_CONFIG_ERROR,
				    io ? SINK_CONFIG_ERROR_READ : SINK_CONFIG_ERROR_SYNTAX,
				    "%s: %s", path, local->message);
			return NULL;
		}
		g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);
		for (char **g = groups; *g; g++) {
			if (strcmp(*g, SINK_SECTION) != 0 && strcmp(*g, ALLOWLIST_SECTION) != 0) {
				g_set_error(error, SINK_CONFIG_ERROR, SINK_CONFIG_ERROR_KEY,
					    "%s: [%s]: unknown section (expected [" SINK_SECTION "] and ["
					    ALLOWLIST_SECTION "])", path, *g);
				return NULL;
			}
		}
		if (!load_sink_section(cfg, kf, path, abs_dir, error) ||
		    !load_allowlist(cfg, kf, path, error))
			return NULL;
	}
	if (!check_signing(cfg, path ? path : "(built-in)", error))
		return NULL;
	check_job_age(cfg);
	if ((env = g_getenv("REDIS_URL")) && *env) {
		g_free(cfg->redis_url);
		cfg->redis_url = g_strdup(env);
	}
	if (!sink_redis_url_check(cfg->redis_url, &local)) {
		if ((env = g_getenv("REDIS_URL")) && *env)
			g_set_error(error, SINK_CONFIG_ERROR, SINK_CONFIG_ERROR_VALUE,
				    "REDIS_URL (environment): %s", local->message);
		else
			g_set_error(error, SINK_CONFIG_ERROR, SINK_CONFIG_ERROR_VALUE,
				    "%s: [" SINK_SECTION "] Redis_URL: %s", path ? path : "(built-in)", local->message);
		return NULL;
	}
	if ((env = g_getenv("RESULTS_KEY")) && *env) {
		g_free(cfg->results_key);
		cfg->results_key = g_strdup(env);
	}
	if (cfg->host_name == NULL || *cfg->host_name == '\0') {
		g_free(cfg->host_name);
		cfg->host_name = system_host_name();
	}
	return g_steal_pointer(&cfg);
}

void
sink_config_free(SinkConfig *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
		switch (keys[i].type) {
		case K_STRING:
		case K_PATH:
			g_free(*FIELD(cfg, &keys[i], char *));
			break;
		case K_DOMAINS:
			g_strfreev(*FIELD(cfg, &keys[i], char **));
			break;
		case K_CYCLE:
			g_free(*FIELD(cfg, &keys[i], double *));
			break;
		default:
			break;
		}
	}
	g_free(cfg->path);
	if (cfg->rp_mx_allowlist)
		g_hash_table_unref(cfg->rp_mx_allowlist);
	if (cfg->warnings)
		g_ptr_array_unref(cfg->warnings);
	g_free(cfg);
}

const char *
sink_config_default_path(void)
{
	const char *env = g_getenv("SINK_CONFIG");

	if (env && *env)
		return env;
	/* only a file that is not there means the built-in defaults: one there but out of reach (EACCES), or a
	 * link to nothing, is loaded, and fails naming itself, rather than a run on settings the operator never
	 * chose */
	struct stat st;

	if (lstat(SYSTEM_CONFIG, &st) == 0 || (errno != ENOENT && errno != ENOTDIR))
		return SYSTEM_CONFIG;
	return NULL;
}

gsize
sink_weekly_index(gsize len, GDateTime *when)
{
	gsize weeks = len / 7;
	gsize weekday = (gsize)g_date_time_get_day_of_week(when);	/* 1 = Monday */
	gsize week = (gsize)g_date_time_get_week_of_year(when);	/* ISO 8601 */

	return (weekday - 1) + 7 * (week % weeks);
}

char *
sink_config_key_prefix(const SinkConfig *cfg)
{
	return g_strdup_printf("consume-mail:%s:", cfg->results_key);
}
