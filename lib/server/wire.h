/*
 * wire.h - what sink-filter says to sink-filterd over its Unix socket.
 *
 * Plain C with no library beyond libc: the thin client (bin/sink-filter.c)
 * must not load GLib to use it.  The socket is SOCK_SEQPACKET, so each
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

#endif
