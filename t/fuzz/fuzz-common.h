/*
 * fuzz-common.h - what every libFuzzer target of t/fuzz shares: the set-up
 * (GLib log levels, GMime, a fixed clock), a context built from the fuzz
 * input, and the checks that turn a wrong result into a crash.
 *
 * fuzz-common.c also replaces the process's socket and name look-up entry
 * points with ones that abort: a target that reaches the network (DNS,
 * SMTP, HTTP, Redis) is a bug in the target and shows up as a crash.
 */
#ifndef SINK_FUZZ_COMMON_H
#define SINK_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "context.h"

/* The libFuzzer entry points each target defines. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * fuzz_init: once per process: GLib criticals and errors abort (an API
 * misuse is a bug), warnings and debug output are dropped; GMime is set
 * up; REDIS_URL, RESULTS_KEY and SINK_CONFIG are unset.
 */
void fuzz_init(void);

/*
 * fuzz_config: the built-in config (sink_config_load(NULL)) with
 * DKIM_Check = off, loaded once and kept for the process.  Borrowed.
 */
SinkConfig *fuzz_config(void);

/* fuzz_now: the fixed clock of every target, 2026-11-24 09:12:03 UTC.  Borrowed. */
GDateTime *fuzz_now(void);

/*
 * fuzz_guarded_bytes: a copy of `data` that ends right where an
 * inaccessible page starts, so that a read past its end by a library that
 * is not instrumented (GMime, libxml2) crashes too.  g_bytes_unref.
 */
GBytes *fuzz_guarded_bytes(const uint8_t *data, size_t size);

/*
 * fuzz_ctx_new: a context under cfg with seed `seed`, the fixed clock and
 * `data` copied into ctx->raw (guarded, see above), not NUL-terminated, as
 * sink_message_read would leave it.  Free with sink_ctx_free.
 */
SinkCtx *fuzz_ctx_new(const SinkConfig *cfg, gint64 seed, const uint8_t *data, size_t size);

/*
 * fuzz_assert: abort with `what` on stderr when `ok` is false; libFuzzer
 * then keeps the input as a crash.
 */
#define fuzz_assert(ok, what) ((ok) ? (void)0 : fuzz_fail(__FILE__, __LINE__, (what)))
G_NORETURN void fuzz_fail(const char *file, int line, const char *what);

/* fuzz_json_valid: TRUE when s is exactly one JSON value (RFC 8259), valid UTF-8. */
gboolean fuzz_json_valid(const char *s);

#endif
