/*
 * configcache.c - sink_config_get (config.h): the config of a process
 * that runs message after message (a child of sink-filterd, the spool's
 * pool), read again only when the file, its place or what overrides it may
 * have changed.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "config.h"

/*
 * The last config sink_config_get read, and what it read it from: the
 * path as given, the working directory a relative one was taken from, the
 * file's identity and times, the environment that overrides the file, and
 * the system host name an empty Host_Name stands for.
 */
static struct {
	SinkConfig *cfg;
	gboolean reusable;
	char *path, *cwd, *redis_url, *results_key, *host_name;
	struct stat st;
} cached;

/* A file changed (ctime) within this many seconds of being read may change
 * again within its timestamps' granularity unseen (as git's "racy" entries). */
#define RACY_SECONDS 2

gboolean
sink_same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/*
 * The file's identity and times, by open(2) and fstat(2) rather than
 * stat(2): on NFS an open revalidates the attributes (close-to-open), where
 * a stat may answer from a cache up to a minute old.
 */
static gboolean
file_stat(const char *path, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	gboolean ok = fd >= 0 && fstat(fd, st) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

static void
cache_clear(void)
{
	g_clear_pointer(&cached.cfg, sink_config_free);
	g_clear_pointer(&cached.path, g_free);
	g_clear_pointer(&cached.cwd, g_free);
	g_clear_pointer(&cached.redis_url, g_free);
	g_clear_pointer(&cached.results_key, g_free);
	g_clear_pointer(&cached.host_name, g_free);
	cached.reusable = FALSE;
}

const SinkConfig *
sink_config_get(const char *path, GError **error)
{
	g_autofree char *cwd = path && !g_path_is_absolute(path) ? g_get_current_dir() : NULL;
	const char *redis_url = g_getenv("REDIS_URL"), *results_key = g_getenv("RESULTS_KEY");
	struct utsname u;
	const char *host_name = uname(&u) == 0 ? u.nodename : NULL;
	struct stat st = { 0 };
	gboolean have_st = path == NULL || file_stat(path, &st);

	if (cached.reusable && have_st && g_strcmp0(cached.path, path) == 0 && g_strcmp0(cached.cwd, cwd) == 0 &&
	    g_strcmp0(cached.redis_url, redis_url) == 0 && g_strcmp0(cached.results_key, results_key) == 0 &&
	    g_strcmp0(cached.host_name, host_name) == 0 && (path == NULL || sink_same_file(&cached.st, &st)))
		return cached.cfg;
	cache_clear();
	if ((cached.cfg = sink_config_load(path, error)) == NULL)
		return NULL;
	cached.path = g_strdup(path);
	cached.cwd = g_steal_pointer(&cwd);
	cached.redis_url = g_strdup(redis_url);
	cached.results_key = g_strdup(results_key);
	cached.host_name = g_strdup(host_name);
	cached.st = st;
	/* a file that could not be looked at, or one changed just now, is read again next time */
	cached.reusable = have_st && (path == NULL || time(NULL) - st.st_ctim.tv_sec > RACY_SECONDS);
	return cached.cfg;
}
