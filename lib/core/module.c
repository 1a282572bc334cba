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
#include "sink-build.h"

G_DEFINE_QUARK(sink-module-error-quark, sink_module_error)

static const void *
load(const char *file, const char *build_folder, const char *symbol, gsize table_size, GError **error)
{
	g_autofree char *dir = NULL, *path = NULL;
	const char *env = g_getenv("SINK_MODULE_DIR");
	const SinkModuleStamp *stamp;
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
	stamp = dlsym(handle, "sink_module_stamp");
	if (table == NULL || stamp == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s has no %s", path,
			    table ? "sink_module_stamp (a module of an older build)" : symbol);
		dlclose(handle);
		return NULL;
	}
	if (g_strcmp0(stamp->version, SINK_VERSION) != 0 || stamp->ctx_size != sizeof(SinkCtx) ||
	    stamp->config_size != sizeof(SinkConfig) || stamp->table_size != table_size) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s is of another build (version %s) than the "
			    "program running (version %s): an upgrade installed while it runs? restart it", path,
			    g_strcmp0(stamp->version, SINK_VERSION) == 0 ? "the same, other structures" : stamp->version,
			    SINK_VERSION);
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
		m = load("libbouncysink-dkim.so", "dkim", "sink_dkim_module", sizeof(SinkDkimModule), error);
	return m;
}

const SinkActModule *
sink_module_act(GError **error)
{
	static const SinkActModule *m;

	if (m == NULL)
		m = load("libbouncysink-act.so", "act", "sink_act_module", sizeof(SinkActModule), error);
	return m;
}
