/*
 * unit.h - helpers shared by the unit tests.
 */
#ifndef SINK_UNIT_H
#define SINK_UNIT_H

#include <glib.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "config.h"

/* A config loaded from `text` through a temporary file; it must be valid. */
static inline SinkConfig *
unit_config_from(const char *text)
{
	char *path = NULL;
	int fd = g_file_open_tmp("sink-unit-XXXXXX.ini", &path, NULL);
	g_autoptr(GError) error = NULL;
	SinkConfig *cfg;

	g_assert_cmpint(fd, >=, 0);
	close(fd);
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	cfg = sink_config_load(path, &error);
	g_assert_no_error(error);
	g_unlink(path);
	g_free(path);
	return cfg;
}

/* unit_joined: an array as "a|b|c", for one comparison per case.  g_free. */
static inline char *
unit_joined(GPtrArray *a)
{
	g_ptr_array_add(a, NULL);
	char *s = g_strjoinv("|", (char **)a->pdata);
	g_ptr_array_remove_index(a, a->len - 1);
	return s;
}

#endif
