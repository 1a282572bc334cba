/*
 * store.h - done copies: the message kept in Done_Msg_File_Dest when it
 * asks for it (X-Bouncy-Sink: Store-Done) or when anything but Redis went
 * wrong, the folder held to Done_Max_Files copies.
 */
#ifndef SINK_STORE_H
#define SINK_STORE_H

#include "context.h"

/*
 * sink_store_done: when due, write ctx->raw atomically under a unique name
 * in the done folder and set ctx->done_path, then remove the oldest copies
 * past Done_Max_Files (counted done_dropped, noted); failures become ctx
 * errors.  Call it before the counters are committed.
 */
void sink_store_done(SinkCtx *ctx);

#endif
