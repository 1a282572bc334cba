/* useragent.c - User-Agent list (being written). */
#include "engage.h"

char *
sink_useragent_pick(const SinkConfig *cfg, GRand *rng)
{
	return g_strdup("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36");
}
