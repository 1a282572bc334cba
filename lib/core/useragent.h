/*
 * useragent.h - the message's User-Agent: one picked from User_Agents_File
 * or a built-in list, with the decision (decide.c) or the first open; and a
 * link scanner's, from Scanner_User_Agents_File or a built-in list.
 */
#ifndef SINK_USERAGENT_H
#define SINK_USERAGENT_H

#include <glib.h>

#include "config.h"

/*
 * sink_useragent_pick: one User-Agent from cfg's User_Agents_File (its
 * Software column) or the built-in list.  g_free.  When the file could not
 * be used, *why (if not NULL) is set to a note saying so (g_free).
 */
char *sink_useragent_pick(const SinkConfig *cfg, GRand *rng, char **why);

/*
 * sink_useragent_pick_at: as sink_useragent_pick, but the agent at `u`
 * (in [0, 1)) of the list instead of a drawn one: u = 0.5 is the middle
 * one.  Nothing is drawn.
 */
char *sink_useragent_pick_at(const SinkConfig *cfg, double u, char **why);

/*
 * sink_useragent_scanner_at: a link-scanning gateway's User-Agent, at `u`
 * (in [0, 1)) of the Software column of Scanner_User_Agents_File (the same
 * format as User_Agents_File), else of the built-in list.  g_free; *why as
 * for sink_useragent_pick.
 */
char *sink_useragent_scanner_at(const SinkConfig *cfg, double u, char **why);

/*
 * sink_useragent_read: the values of the `Software` column of the CSV file
 * at `path` (RFC 4180: a header row, quoted fields that may hold commas,
 * quotes and line breaks; records ended by CR, LF or CRLF), trimmed; empty
 * ones, those over 1024 bytes and those with control characters (which
 * cannot go into a header) are skipped.
 * Returns a new array of strings (g_ptr_array_unref frees all), or NULL
 * with `error` set when the file cannot be read, has no Software column or
 * no values in it.
 */
GPtrArray *sink_useragent_read(const char *path, GError **error);

/* sink_useragent_builtin: the built-in list, NULL-terminated, static. */
const char *const *sink_useragent_builtin(void);

/* sink_useragent_scanner_builtin: the built-in list of gateways' agents, NULL-terminated, static. */
const char *const *sink_useragent_scanner_builtin(void);

#endif
