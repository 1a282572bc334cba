/*
 * places.h - where the sink's programs find each other: beside the running
 * program (the build tree, or an install that keeps them together), else
 * where the build installs them.  Static inline and libc only: the musl
 * sink-filter, sink-filter-static's hand-on (lib/static/module.c) and the
 * glibc client all include it.
 */
#ifndef SINK_PLACES_H
#define SINK_PLACES_H

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/*
 * path = this program's folder + "/" + rel (rel may climb, "../lib/...");
 * 0 when /proc/self/exe cannot be read or the result does not fit.
 */
static inline int
beside_exe(char *path, size_t size, const char *rel)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	char *slash;

	if (n <= 0)
		return 0;
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) == NULL)
		return 0;
	*slash = '\0';
	n = snprintf(path, size, "%s/%s", exe, rel);
	return n > 0 && (size_t)n < size;
}

/* What exec_beside tried, for the caller to name when nothing ran. */
typedef struct {
	char path[4096 + 64];	/* the last place there but not to be run; else the last installed one */
	int err;		/* its errno; ENOENT: nothing was there (start with it) */
} ExecTried;

/*
 * exec program `name` beside this one, else `installed`, with args
 * (args[0] becomes the place tried).  Returns only when neither ran: t
 * then names the place worth naming, across several calls.
 */
static inline void
exec_beside(const char *name, const char *installed, char **args, ExecTried *t)
{
	char beside[4096 + 64];
	const char *places[2] = { beside_exe(beside, sizeof beside, name) ? beside : NULL, installed };

	for (int i = 0; i < 2; i++) {
		if (places[i] == NULL)
			continue;
		args[0] = (char *)places[i];
		execv(places[i], args);
		if (errno != ENOENT) {	/* there, but not to be run: worth naming */
			t->err = errno;
			snprintf(t->path, sizeof t->path, "%s", places[i]);
		}
	}
	if (t->err == ENOENT)
		snprintf(t->path, sizeof t->path, "%s", installed);
}

#endif
