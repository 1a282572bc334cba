/*
 * sign.c - DKIM signatures on what the sink sends (SPEC section 17): with
 * DKIM_Sign_Domain, DKIM_Sign_Selector and DKIM_Sign_Key set, every report
 * goes out signed with libopendkim, as a mailbox provider signs its mail
 * (and as RFC 9477 requires of a complaint sent to a CFBL-Address).
 *
 * - rsa-sha256, relaxed/relaxed, over the whole body, and over the header
 *   fields mailbox providers sign: From, To, Subject, Date, Message-ID,
 *   MIME-Version, Content-Type, and In-Reply-To and References when the
 *   message has them (libopendkim signs the listed fields it finds).
 * - The key file is read once per process, and again only when it changed
 *   (another path, inode, size or time): a sink-filterd child sends many
 *   reports.  It must hold an RSA private key in PEM; config loading (the
 *   core, every message) only checks that the file can be opened, and
 *   `sink-filter -n` checks here that the key loads and signs.
 * - The message comes as it goes on the wire (CRLF); the signature goes on
 *   top of it, folded with CRLF.
 *
 * In the DKIM module (libbouncysink-dkim.so) with the verifier, so that an
 * accepted message maps none of it; the action module asks for a signature
 * through the module's table (module.h).  One library handle per
 * signature, freed with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <opendkim/dkim.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "dkim.h"

/* A key file bigger than this is not a key (an RSA 8192 key in PEM is about 6.5 KB). */
#define KEY_MAX 65536

/* The header fields signed, when present (From always: libopendkim adds it). */
static const char *const signed_fields[] = {
	"from", "to", "subject", "date", "message-id", "mime-version", "content-type", "in-reply-to",
	"references", NULL
};

/* The key as last read, and the file it was read from. */
static struct {
	char *path;
	struct stat st;
	char *pem;	/* NUL-terminated, as dkim_sign takes it */
} key;

/* The error for the key file: "<config>: [Sink] DKIM_Sign_Key = "<path>": <why>". */
static gboolean
key_error(GError **error, const SinkConfig *cfg, const char *why)
{
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: [Sink] DKIM_Sign_Key = \"%s\": %s",
		    cfg->path ? cfg->path : "(built-in)", cfg->dkim_sign_key, why);
	return FALSE;
}

/* Whether `pem` holds an RSA private key OpenSSL reads. */
static gboolean
is_rsa_private_key(const char *pem, gsize len)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"") : NULL;
	gboolean ok = pkey != NULL && EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA;

	EVP_PKEY_free(pkey);
	BIO_free(bio);
	return ok;
}

/* cfg's key, read when it was not yet or its file changed.  Borrowed; NULL with `error`. */
static const char *
key_get(const SinkConfig *cfg, GError **error)
{
	struct stat st;
	int fd;
	ssize_t n;
	char *pem;

	fd = open(cfg->dkim_sign_key, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		key_error(error, cfg, g_strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		key_error(error, cfg, "not a file");
		return NULL;
	}
	if (key.pem && g_strcmp0(key.path, cfg->dkim_sign_key) == 0 && sink_same_file(&key.st, &st)) {
		close(fd);
		return key.pem;
	}
	if (st.st_size > KEY_MAX) {
		close(fd);
		key_error(error, cfg, "too big to be a key");
		return NULL;
	}
	pem = g_malloc((gsize)st.st_size + 1);
	n = read(fd, pem, (gsize)st.st_size);
	close(fd);
	if (n < 0 || n != st.st_size) {
		g_free(pem);
		key_error(error, cfg, n < 0 ? g_strerror(errno) : "changed while it was read");
		return NULL;
	}
	pem[n] = '\0';
	if (!is_rsa_private_key(pem, (gsize)n)) {
		g_free(pem);
		key_error(error, cfg, "not an RSA private key in PEM (-----BEGIN PRIVATE KEY----- or "
			  "-----BEGIN RSA PRIVATE KEY-----)");
		return NULL;
	}
	g_free(key.path);
	g_free(key.pem);
	key.path = g_strdup(cfg->dkim_sign_key);
	key.st = st;
	key.pem = pem;
	return pem;
}

/* libopendkim's word on a failed step. */
static gboolean
dkim_error(GError **error, DKIM *dkim, const char *step, DKIM_STAT stat)
{
	const char *why = dkim ? dkim_geterror(dkim) : NULL;

	g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "DKIM signing: %s: %s%s%s", step, dkim_getresultstr(stat),
		    why && *why ? ": " : "", why && *why ? why : "");
	return FALSE;
}

/* "DKIM-Signature: " + value, every line end CRLF, and a final CRLF. */
static char *
header_field(const unsigned char *value, size_t len)
{
	GString *out = g_string_sized_new(len + 32);

	g_string_append(out, DKIM_SIGNHEADER ": ");
	for (size_t i = 0; i < len; i++) {
		if (value[i] == '\n' && (i == 0 || value[i - 1] != '\r'))
			g_string_append_c(out, '\r');
		g_string_append_c(out, (char)value[i]);
	}
	g_string_append(out, "\r\n");
	return g_string_free(out, FALSE);
}

char *
sink_dkim_sign(const SinkConfig *cfg, const char *data, gsize len, GError **error)
{
	const char *pem;
	DKIM_LIB *lib = NULL;
	DKIM *dkim = NULL;
	DKIM_STAT stat;
	unsigned char *value = NULL;
	size_t value_len = 0;
	char *out = NULL;

	if (cfg->dkim_sign_key == NULL || cfg->dkim_sign_domain == NULL || cfg->dkim_sign_selector == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "DKIM signing is not configured");
		return NULL;
	}
#ifdef SINK_STATIC_DKIM
	OPENSSL_init_crypto(SINK_OPENSSL_INIT, NULL);	/* before the key is read: no openssl.cnf (dkim.h) */
#endif
	if ((pem = key_get(cfg, error)) == NULL)
		return NULL;
	if ((lib = dkim_init(NULL, NULL)) == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "DKIM signing: libopendkim could not start");
		return NULL;
	}
	if (dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS, (void *)signed_fields, sizeof(char **)) !=
	    DKIM_STAT_OK) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "DKIM signing: the fields to sign were refused");
		goto done;
	}
	dkim = dkim_sign(lib, (const unsigned char *)"sink-filter", NULL, (dkim_sigkey_t)pem,
			 (const unsigned char *)cfg->dkim_sign_selector, (const unsigned char *)cfg->dkim_sign_domain,
			 DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, DKIM_SIGN_RSASHA256, -1, &stat);
	if (dkim == NULL) {
		dkim_error(error, NULL, "start", stat);
		goto done;
	}
	if ((stat = dkim_chunk(dkim, (unsigned char *)data, len)) != DKIM_STAT_OK ||
	    (stat = dkim_chunk(dkim, NULL, 0)) != DKIM_STAT_OK) {
		dkim_error(error, dkim, "message", stat);
		goto done;
	}
	if ((stat = dkim_eom(dkim, NULL)) != DKIM_STAT_OK) {
		dkim_error(error, dkim, "end of message", stat);
		goto done;
	}
	if ((stat = dkim_getsighdr_d(dkim, strlen(DKIM_SIGNHEADER) + 2, &value, &value_len)) != DKIM_STAT_OK) {
		dkim_error(error, dkim, "signature", stat);
		goto done;
	}
	out = header_field(value, value_len);	/* value is the handle's */
done:
	if (dkim)
		dkim_free(dkim);
	dkim_close(lib);
	return out;
}

gboolean
sink_dkim_sign_check(const SinkConfig *cfg, GError **error)
{
	static const char sample[] = "From: <check@sink.invalid>\r\nTo: <check@sink.invalid>\r\n"
				     "Subject: key check\r\n\r\nThe key signs.\r\n";
	g_autoptr(GError) local = NULL;
	g_autofree char *sig = sink_dkim_sign(cfg, sample, sizeof sample - 1, &local);

	if (sig == NULL) {
		/* the key's own errors name the key already */
		if (g_error_matches(local, G_IO_ERROR, G_IO_ERROR_INVALID_DATA))
			g_propagate_error(error, g_steal_pointer(&local));
		else
			key_error(error, cfg, local->message);
		return FALSE;
	}
	return TRUE;
}
