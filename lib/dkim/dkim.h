/*
 * dkim.h - DKIM_Check = verify: the DKIM module's verification with
 * libopendkim (dkim.c).  The core reaches it through module.h's table; the
 * result goes back with sink_dkim_set_result (authres.h).
 */
#ifndef SINK_DKIM_H
#define SINK_DKIM_H

#include "authres.h"

/* sink_dkim_verify: verify ctx's message's signatures; the verdict into ctx. */
void sink_dkim_verify(SinkCtx *ctx);

#endif
