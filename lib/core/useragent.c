/*
 * useragent.c - the one User-Agent a message's reader uses for all its
 * opens and clicks.
 *
 * The original's user-agents.csv is the format: a header row naming a
 * `Software` column, quoted fields with commas inside, and (in the file it
 * shipped) bare CR line ends.  No CSV library is among our dependencies,
 * so a small RFC 4180 state machine reads it, accepting CR, LF and CRLF
 * record ends and the usual sloppiness (a quote inside an unquoted field,
 * text after a closing quote, an unterminated quote at the end).
 *
 * The file is read only when a message is actually opened (the decision
 * calls sink_useragent_pick for openclick only).  Without a file, or when
 * it cannot be used, a built-in list of current browsers and mail clients
 * is used; in the second case the reason is kept for the log line.
 *
 * A link-scanning gateway (persona.c) has its own list, in the same format
 * (Scanner_User_Agents_File), else a built-in one.  A pick is drawn from
 * the message's random generator, or taken at a point of the list that the
 * address's hash chose (the same address, the same agent).
 */
#include <string.h>

#include <glib/gstdio.h>

#include "useragent.h"

/* A user-agent file larger than this is not a user-agent file. */
#define UA_FILE_MAX (16 * 1024 * 1024)
/* Longer values, and values with control characters (a line break in a quoted field), are skipped. */
#define UA_VALUE_MAX 1024

static const char *const builtin_agents[] = {
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
	"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)",
	"Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
	"Mozilla/4.0 (compatible; ms-office; MSOffice 16)",
	NULL,
};

/*
 * What link-scanning gateways send, as click-log audits report them: some
 * name themselves (Barracuda, Proofpoint, Cisco, Trend Micro), others pose
 * as a plain or headless browser in a sandbox (Microsoft Defender Safe
 * Links, Mimecast) or leak an Office or scripting client's agent.
 */
static const char *const builtin_scanner_agents[] = {
	/* Microsoft Defender for Office 365 Safe Links: a detonation browser on Windows, or Office's own agent */
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0",
	"Mozilla/4.0 (compatible; ms-office; MSOffice rmj)",
	/* Proofpoint URL Defense: Internet Explorer 11 on Windows 7, or its own name */
	"Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko",
	"Mozilla/5.0 (compatible; Proofpoint URL Defense)",
	/* Mimecast URL Protect: headless Chrome on Linux */
	"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/119.0.6045.105 Safari/537.36",
	/* Barracuda Link Protection */
	"Mozilla/5.0 (compatible; Barracuda Link Protection; +https://www.barracuda.com)",
	/* Cisco Secure Email (IronPort) */
	"Mozilla/5.0 (compatible; CiscoSecureEmail/15.0)",
	/* Trend Micro Email Security */
	"Mozilla/5.0 (compatible; TMES URL Scanner)",
	/* a gateway's script */
	"python-requests/2.31.0",
	NULL,
};

const char *const *
sink_useragent_builtin(void)
{
	return builtin_agents;
}

const char *const *
sink_useragent_scanner_builtin(void)
{
	return builtin_scanner_agents;
}


typedef enum {
	CSV_FIELD_START,	/* nothing of this field read yet */
	CSV_UNQUOTED,		/* inside a plain field */
	CSV_QUOTED,		/* inside "..." */
	CSV_QUOTE_SEEN,		/* a '"' inside "...": the end, or the first of "" */
} CsvState;

/*
 * The CSV reader's output: the Software column's index once the header is
 * read (-1 before, or when there is none), and the values found under it.
 */
typedef struct {
	GPtrArray *values;
	GPtrArray *fields;	/* the current record's fields */
	GString *field;
	guint records;
	int column;
	gboolean header_seen;
} CsvReader;

/* A value that can go into a User-Agent: header as it is: one line of text, not empty, not huge. */
static gboolean
usable(const char *value)
{
	gsize n = 0;

	for (const unsigned char *p = (const unsigned char *)value; *p; p++, n++)
		if (*p < 0x20 || *p == 0x7f)
			return FALSE;
	return n > 0 && n <= UA_VALUE_MAX;
}

static void
csv_end_field(CsvReader *r)
{
	g_ptr_array_add(r->fields, g_strdup(r->field->str));
	g_string_truncate(r->field, 0);
}

static void
csv_end_record(CsvReader *r)
{
	csv_end_field(r);
	if (r->fields->len == 1 && *(char *)r->fields->pdata[0] == '\0') {
		/* an empty line */
	} else if (!r->header_seen) {
		r->header_seen = TRUE;
		for (guint i = 0; i < r->fields->len; i++) {
			char *name = g_strstrip(r->fields->pdata[i]);
			if (g_ascii_strcasecmp(name, "Software") == 0) {
				r->column = (int)i;
				break;
			}
		}
	} else {
		r->records++;
		if (r->column >= 0 && (guint)r->column < r->fields->len) {
			char *value = g_strstrip(r->fields->pdata[r->column]);
			if (usable(value))
				g_ptr_array_add(r->values, g_strdup(value));
		}
	}
	g_ptr_array_set_size(r->fields, 0);
}

/* Read `data` into r: records end at CR, LF or CRLF outside quotes. */
static void
csv_read(CsvReader *r, const char *data, gsize len)
{
	CsvState state = CSV_FIELD_START;
	gboolean record_open = FALSE;
	gsize start = len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;	/* a UTF-8 byte order mark */

	for (gsize i = start; i < len; i++) {
		char c = data[i];

		if (state == CSV_QUOTED) {
			if (c == '"')
				state = CSV_QUOTE_SEEN;
			else
				g_string_append_c(r->field, c);
			continue;
		}
		if (state == CSV_QUOTE_SEEN && c == '"') {	/* "" stands for one quote */
			g_string_append_c(r->field, '"');
			state = CSV_QUOTED;
			continue;
		}
		if (c == ',') {
			csv_end_field(r);
			state = CSV_FIELD_START;
			record_open = TRUE;
		} else if (c == '\r' || c == '\n') {
			csv_end_record(r);
			if (c == '\r' && i + 1 < len && data[i + 1] == '\n')
				i++;
			state = CSV_FIELD_START;
			record_open = FALSE;
		} else if (c == '"' && state == CSV_FIELD_START) {
			state = CSV_QUOTED;
			record_open = TRUE;
		} else {
			/* plain text, a stray quote in it, or text after a closing quote */
			g_string_append_c(r->field, c);
			state = CSV_UNQUOTED;
			record_open = TRUE;
		}
	}
	if (record_open || state != CSV_FIELD_START || r->field->len)
		csv_end_record(r);	/* the last record has no line end, or an unterminated quote */
}

GPtrArray *
sink_useragent_read(const char *path, GError **error)
{
	g_autofree char *data = NULL;
	gsize len = 0;
	CsvReader r = { .column = -1 };
	GPtrArray *values;
	GStatBuf st;

	if (g_stat(path, &st) == 0 && st.st_size > UA_FILE_MAX) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: larger than %d bytes", path, UA_FILE_MAX);
		return NULL;
	}
	if (!g_file_get_contents(path, &data, &len, error))
		return NULL;
	r.values = g_ptr_array_new_with_free_func(g_free);
	r.fields = g_ptr_array_new_with_free_func(g_free);
	r.field = g_string_new(NULL);
	csv_read(&r, data, len);
	g_ptr_array_unref(r.fields);
	g_string_free(r.field, TRUE);
	values = r.values;

	if (r.column < 0) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: no \"Software\" column in its header row", path);
		g_ptr_array_unref(values);
		return NULL;
	}
	if (values->len == 0) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: no user agents under \"Software\" (%u rows)",
			    path, r.records);
		g_ptr_array_unref(values);
		return NULL;
	}
	return values;
}

/* Item `u` (in [0, 1)) of a list of n > 0, or a drawn one when rng is not NULL. */
static guint
pick_index(GRand *rng, double u, guint n)
{
	guint i;

	if (rng)
		return (guint)g_rand_int_range(rng, 0, (gint32)n);
	i = (guint)(u * n);
	return i < n ? i : n - 1;
}

/* One of the Software column of `file` (named `key` in a note when it cannot be used), else of `builtin`. */
static char *
pick(const char *file, const char *key, const char *const *builtin, GRand *rng, double u, char **why)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) values = NULL;
	guint n = 0;

	if (why)
		*why = NULL;
	if (file && *file) {
		values = sink_useragent_read(file, &error);
		if (values)
			return g_strdup(values->pdata[pick_index(rng, u, values->len)]);
		if (why)
			*why = g_strdup_printf("%s: %s; the built-in list is used", key, error->message);
	}
	while (builtin[n])
		n++;
	return g_strdup(builtin[pick_index(rng, u, n)]);
}

char *
sink_useragent_pick(const SinkConfig *cfg, GRand *rng, char **why)
{
	return pick(cfg->user_agents_file, "User_Agents_File", builtin_agents, rng, 0, why);
}

char *
sink_useragent_pick_at(const SinkConfig *cfg, double u, char **why)
{
	return pick(cfg->user_agents_file, "User_Agents_File", builtin_agents, NULL, u, why);
}

char *
sink_useragent_scanner_at(const SinkConfig *cfg, double u, char **why)
{
	return pick(cfg->scanner_user_agents_file, "Scanner_User_Agents_File", builtin_scanner_agents, NULL, u, why);
}
