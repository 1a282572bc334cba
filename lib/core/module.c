/*
 * module.c - opening the DKIM and action modules on demand (see module.h).
 *
 * A module is looked for in the folder the core library itself was loaded
 * from (found with dladdr), as they are installed; in the build tree each
 * is in its own folder beside the core's (lib/dkim/, lib/act/), so that is
 * tried next.  No configuration either way; $SINK_MODULE_DIR names the one
 * folder to look in instead.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <unistd.h>

#include "module.h"

G_DEFINE_QUARK(sink-module-error-quark, sink_module_error)

static const void *
load(const char *file, const char *build_folder, const char *symbol, GError **error)
{
	g_autofree char *dir = NULL, *path = NULL;
	const char *env = g_getenv("SINK_MODULE_DIR");
	Dl_info info;
	void *handle, *table;

	if (env && *env)
		dir = g_strdup(env);
	else if (dladdr((void *)sink_module_act, &info) && info.dli_fname)
		dir = g_path_get_dirname(info.dli_fname);
	else
		dir = g_strdup(".");
	path = g_build_filename(dir, file, NULL);
	if (!(env && *env) && access(path, F_OK) != 0) {	/* the build tree: lib/core/../<folder>/ */
		g_autofree char *built = g_build_filename(dir, "..", build_folder, file, NULL);
		if (access(built, F_OK) == 0) {
			g_free(path);
			path = g_steal_pointer(&built);
		}
	}
	handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (handle == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "cannot load %s: %s", path, dlerror());
		return NULL;
	}
	table = dlsym(handle, symbol);
	if (table == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s has no %s", path, symbol);
		dlclose(handle);
		return NULL;
	}
	return table;	/* the module stays loaded for the life of the process */
}

const SinkDkimModule *
sink_module_dkim(GError **error)
{
	static const SinkDkimModule *m;

	if (m == NULL)
		m = load("libbouncysink-dkim.so", "dkim", "sink_dkim_module", error);
	return m;
}

const SinkActModule *
sink_module_act(GError **error)
{
	static const SinkActModule *m;

	if (m == NULL)
		m = load("libbouncysink-act.so", "act", "sink_act_module", error);
	return m;
}
