/*
 * wire.h - what sink-filter says to sink-filterd over its Unix socket.
 *
 * Plain C with no library beyond libc: the thin client (bin/sink-filter.c)
 * must not load GLib to use it.  Its two clients, that one and the spool
 * (spool.c), encode a request with sink_wire_request.  The socket is SOCK_SEQPACKET, so each
 * request and each reply is one packet.
 *
 * Request, client to server, one packet:
 *   "sink-filter/1\0", then "umask\0" as 4 octal digits and NUL, then the
 *   decimal argc and envc each NUL-terminated, then argc argument strings
 *   and envc "NAME=value" strings, each NUL-terminated; with SCM_RIGHTS
 *   carrying exactly four descriptors: standard input, output and error,
 *   and the client's working directory (opened O_PATH | O_DIRECTORY).
 *
 * Reply, server to client, one packet of text:
 *   "exit N"        the message ran; exit with N
 *   "refused WHY"   nothing was run, stdin is untouched: run it locally
 * No reply (the connection closes) means the run died after it took the
 * message: the client defers it (75).  The server reads the request even
 * to refuse it: a SEQPACKET socket closed with a packet unread resets the
 * connection, and the refusal would be lost.
 */
#ifndef SINK_WIRE_H
#define SINK_WIRE_H

#define SINK_WIRE_MAGIC "sink-filter/1"
#define SINK_WIRE_MAX 65536	/* largest request packet */
#define SINK_WIRE_NFDS 4	/* stdin, stdout, stderr, working directory */
#define SINK_WIRE_REPLY_MAX 512
#define SINK_WIRE_STOPPING "the server is stopping"	/* its refusal of what was still waiting when it stopped */

#include <stdio.h>
#include <string.h>
#include <sys/types.h>

/* Append s and its NUL to buf (SINK_WIRE_MAX bytes) at *len; 0 when it does not fit. */
static inline int
sink_wire_put(char *buf, size_t *len, const char *s)
{
	size_t n = strlen(s) + 1;

	if (n > SINK_WIRE_MAX - *len)
		return 0;
	memcpy(buf + *len, s, n);
	*len += n;
	return 1;
}

/*
 * sink_wire_request: encode a request into buf (SINK_WIRE_MAX bytes): the
 * umask `mask`, argc strings of argv and the NULL-terminated envp (may be
 * NULL).  Returns its length, or 0 when it does not fit in one packet.
 * The descriptors go beside it (SCM_RIGHTS): the client's to make.
 */
static inline size_t
sink_wire_request(char *buf, mode_t mask, int argc, char *const *argv, char *const *envp)
{
	char num[32];
	size_t len = 0;
	int envc = 0, ok;

	while (envp && envp[envc])
		envc++;
	snprintf(num, sizeof num, "%04o", (unsigned)mask & 0777);
	ok = sink_wire_put(buf, &len, SINK_WIRE_MAGIC) && sink_wire_put(buf, &len, num);
	snprintf(num, sizeof num, "%d", argc);
	ok = ok && sink_wire_put(buf, &len, num);
	snprintf(num, sizeof num, "%d", envc);
	ok = ok && sink_wire_put(buf, &len, num);
	for (int i = 0; ok && i < argc; i++)
		ok = sink_wire_put(buf, &len, argv[i]);
	for (int i = 0; ok && i < envc; i++)
		ok = sink_wire_put(buf, &len, envp[i]);
	return ok ? len : 0;
}

#endif
