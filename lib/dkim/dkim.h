/*
 * dkim.h - the DKIM module: DKIM_Check = verify, verification with
 * libopendkim (dkim.c), and the signatures on what the sink sends (sign.c).  The core reaches it through module.h's table; the
 * result goes back with sink_dkim_set_result (authres.h).
 */
#ifndef SINK_DKIM_H
#define SINK_DKIM_H

#include "authres.h"

#ifdef SINK_STATIC_DKIM
/*
 * What OpenSSL is asked to set up before libopendkim starts it (meson
 * option static_dkim): no openssl.cnf, and none of the legacy tables that
 * libopendkim's own start-up asks for (every cipher and digest by name, the
 * error strings): it names its algorithms with EVP_sha1()/EVP_sha256(),
 * which need no table, and filling them cost more than the verification.
 * Asked first, the NO_ flags make the later requests no-ops.
 */
#define SINK_OPENSSL_INIT (OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_ADD_ALL_CIPHERS | \
			   OPENSSL_INIT_NO_ADD_ALL_DIGESTS | OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS)
#endif

/* sink_dkim_verify: verify ctx's message's signatures; the verdict into ctx. */
void sink_dkim_verify(SinkCtx *ctx);

/*
 * sink_dkim_key_ttl: how long a key record's DNS reply (`len` bytes) may
 * be kept for the next messages (dkim.c's key cache): the least TTL of its
 * answer's records, at most SINK_DKIM_KEY_MAX_TTL_S seconds; 0 (not kept) unless it is a whole
 * NOERROR reply whose answer is CNAMEs then exactly one TXT record, each
 * with a TTL below 2^31 (RFC 2181 section 8).
 */
#define SINK_DKIM_KEY_MAX_TTL_S 3600
guint32 sink_dkim_key_ttl(const unsigned char *reply, int len);

/*
 * sink_dkim_sign (sign.c): the DKIM-Signature header field, CRLF-folded
 * and ending in CRLF, to put on top of the message `data` (`len` bytes,
 * CRLF line ends, as it goes out), signed with cfg's DKIM_Sign_Domain,
 * DKIM_Sign_Selector and DKIM_Sign_Key.  g_free.  NULL with `error` when
 * the key cannot be read (G_IO_ERROR_INVALID_DATA, the message naming the
 * key) or libopendkim fails.
 */
char *sink_dkim_sign(const SinkConfig *cfg, const char *data, gsize len, GError **error);

/* sink_dkim_sign_check: TRUE when cfg's key loads and signs; else `error` naming the key. */
gboolean sink_dkim_sign_check(const SinkConfig *cfg, GError **error);

#endif
