/*
 * fuzz-config - bytes as the config file: GKeyFile, the key table and its
 * bounds (config.c), then the decision model for the fixed day (decide.c).
 *
 * The bytes go to one temporary file, rewritten for each input and removed
 * at exit.  Checks: a load gives a config or an error in the config domain,
 * never both; a model that initialises has every share and conditional in
 * 0..1; a model error is a value error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "decide.h"
#include "fuzz-common.h"

static char *path;

static void
remove_file(void)
{
	if (path)
		unlink(path);
}

static gboolean
share(double x)
{
	return x >= 0 && x <= 1;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	GError *error = NULL;
	int fd;

	fuzz_init();
	fd = g_file_open_tmp("fuzz-config-XXXXXX.ini", &path, &error);
	if (fd < 0)
		fuzz_fail(__FILE__, __LINE__, error->message);
	close(fd);
	atexit(remove_file);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SinkConfig) cfg = NULL;
	g_autofree char *prefix = NULL;
	SinkModel m;

	if (!g_file_set_contents_full(path, (const char *)data, (gssize)size, G_FILE_SET_CONTENTS_NONE, 0600, &error))
		fuzz_fail(__FILE__, __LINE__, error->message);
	cfg = sink_config_load(path, &error);
	fuzz_assert((cfg == NULL) == (error != NULL), "a config and an error, or neither");
	if (cfg == NULL) {
		fuzz_assert(error->domain == SINK_CONFIG_ERROR, "load error outside SINK_CONFIG_ERROR");
		return 0;
	}
	prefix = sink_config_key_prefix(cfg);
	if (!sink_model_init(&m, cfg, fuzz_now(), &error)) {
		fuzz_assert(error->domain == SINK_CONFIG_ERROR && error->code == SINK_CONFIG_ERROR_VALUE,
			    "model error is not a config value error");
		return 0;
	}
	fuzz_assert(share(m.oob) && share(m.fbl) && share(m.open) && share(m.open_again) && share(m.click) &&
		    share(m.click_again), "a share outside 0..1");
	fuzz_assert(share(m.open_again_given_open) && share(m.click_given_open) && share(m.click_again_given_click),
		    "a conditional outside 0..1");
	return 0;
}
