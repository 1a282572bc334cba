/*
 * fuzz-common.c - set-up, input context, checks and the network guard
 * shared by the fuzz targets (see fuzz-common.h).
 */
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz-common.h"
#include "message.h"

/* ---- the network guard ----------------------------------------------------------------------------- */

/*
 * Definitions in the executable come first in symbol resolution, so every
 * library's call to these lands here.  glibc's own internal calls (a
 * getaddrinfo reaching socket) do not, which is why the look-ups are
 * guarded as well as the sockets.
 */
static G_NORETURN void
network_used(const char *what)
{
	fprintf(stderr, "fuzz: a fuzz target used the network: %s()\n", what);
	abort();
}

int
socket(int domain, int type, int protocol)
{
	network_used("socket");
}

int
connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	network_used("connect");
}

int
getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res)
{
	network_used("getaddrinfo");
}

struct hostent *
gethostbyname(const char *name)
{
	network_used("gethostbyname");
}

int
res_query(const char *dname, int klass, int type, unsigned char *answer, int anslen)
{
	network_used("res_query");
}

int
res_search(const char *dname, int klass, int type, unsigned char *answer, int anslen)
{
	network_used("res_search");
}

int
res_nquery(res_state state, const char *dname, int klass, int type, unsigned char *answer, int anslen)
{
	network_used("res_nquery");
}

int
res_nsearch(res_state state, const char *dname, int klass, int type, unsigned char *answer, int anslen)
{
	network_used("res_nsearch");
}

int
res_nsend(res_state state, const unsigned char *msg, int msglen, unsigned char *answer, int anslen)
{
	network_used("res_nsend");
}

/* ---- set-up ---------------------------------------------------------------------------------------- */

static void
log_handler(const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
	if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_FLAG_FATAL)) {
		fprintf(stderr, "fuzz: %s-CRITICAL: %s\n", domain ? domain : "?", message);
		abort();
	}
}

void
fuzz_init(void)
{
	static gsize once;

	if (g_once_init_enter(&once)) {
		g_unsetenv("REDIS_URL");
		g_unsetenv("RESULTS_KEY");
		g_unsetenv("SINK_CONFIG");
		g_log_set_default_handler(log_handler, NULL);
		sink_gmime_init();
		g_once_init_leave(&once, 1);
	}
}

SinkConfig *
fuzz_config(void)
{
	static SinkConfig *cfg;

	if (cfg == NULL) {
		GError *error = NULL;

		cfg = sink_config_load(NULL, &error);
		if (cfg == NULL) {
			fprintf(stderr, "fuzz: built-in config: %s\n", error->message);
			abort();
		}
		cfg->dkim_check = SINK_DKIM_OFF;
		g_free(cfg->host_name);
		cfg->host_name = g_strdup("sink.test");
	}
	return cfg;
}

GDateTime *
fuzz_now(void)
{
	static GDateTime *now;

	if (now == NULL)
		now = g_date_time_new_utc(2026, 11, 24, 9, 12, 3);
	return now;
}

typedef struct {
	void *map;
	size_t len;
} GuardedMap;

static void
guarded_free(gpointer p)
{
	GuardedMap *g = p;

	munmap(g->map, g->len);
	g_free(g);
}

GBytes *
fuzz_guarded_bytes(const uint8_t *data, size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t room = (size + page - 1) / page * page;
	GuardedMap *g = g_new(GuardedMap, 1);
	char *end;

	g->len = room + page;
	g->map = mmap(NULL, g->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->map == MAP_FAILED || mprotect((char *)g->map + room, page, PROT_NONE) != 0)
		fuzz_fail(__FILE__, __LINE__, "mmap for a guarded buffer");
	end = (char *)g->map + room;
	if (size)
		memcpy(end - size, data, size);
	return g_bytes_new_with_free_func(end - size, size, guarded_free, g);
}

SinkCtx *
fuzz_ctx_new(const SinkConfig *cfg, gint64 seed, const uint8_t *data, size_t size)
{
	SinkCtx *ctx = sink_ctx_new(cfg, seed);

	g_date_time_unref(ctx->now);
	ctx->now = g_date_time_ref(fuzz_now());
	ctx->raw = fuzz_guarded_bytes(data, size);
	ctx->raw_total = size;
	return ctx;
}

void
fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "fuzz: %s:%d: check failed: %s\n", file, line, what);
	abort();
}

/* ---- a strict JSON checker ------------------------------------------------------------------------- */

#define JSON_MAX_DEPTH 64

static const char *json_value(const char *p, int depth);

static const char *
json_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static const char *
json_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	for (;;) {
		unsigned char c = (unsigned char)*p;
		if (c == '"')
			return p + 1;
		if (c < 0x20)	/* NUL (the end) or a raw control character */
			return NULL;
		if (c == '\\') {
			p++;
			if (*p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!g_ascii_isxdigit(p[i]))
						return NULL;
				p += 5;
			} else if (*p && strchr("\"\\/bfnrt", *p)) {
				p++;
			} else {
				return NULL;
			}
		} else {
			p++;
		}
	}
}

static const char *
json_number(const char *p)
{
	const char *start;

	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (g_ascii_isdigit(*p))
			p++;
	else
		return NULL;
	if (*p == '.') {
		start = ++p;
		while (g_ascii_isdigit(*p))
			p++;
		if (p == start)
			return NULL;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		start = p;
		while (g_ascii_isdigit(*p))
			p++;
		if (p == start)
			return NULL;
	}
	return p;
}

static const char *
json_list(const char *p, int depth, char close, gboolean object)
{
	p = json_ws(p + 1);
	if (*p == close)
		return p + 1;
	for (;;) {
		if (object) {
			if ((p = json_string(p)) == NULL)
				return NULL;
			p = json_ws(p);
			if (*p++ != ':')
				return NULL;
		}
		if ((p = json_value(p, depth + 1)) == NULL)
			return NULL;
		p = json_ws(p);
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
		p = json_ws(p);
	}
}

static const char *
json_value(const char *p, int depth)
{
	if (depth > JSON_MAX_DEPTH)
		return NULL;
	p = json_ws(p);
	switch (*p) {
	case '{':
		return json_list(p, depth, '}', TRUE);
	case '[':
		return json_list(p, depth, ']', FALSE);
	case '"':
		return json_string(p);
	case 't':
		return strncmp(p, "true", 4) == 0 ? p + 4 : NULL;
	case 'f':
		return strncmp(p, "false", 5) == 0 ? p + 5 : NULL;
	case 'n':
		return strncmp(p, "null", 4) == 0 ? p + 4 : NULL;
	default:
		return json_number(p);
	}
}

gboolean
fuzz_json_valid(const char *s)
{
	const char *end;

	if (s == NULL || !g_utf8_validate(s, -1, NULL))
		return FALSE;
	end = json_value(s, 0);
	return end != NULL && *json_ws(end) == '\0';
}
