#!/usr/bin/python3
# stall_server.py: servers that accept connections and then never finish answering, for t/faults.bats.
#
#     stall_server.py --unix PATH        [--log FILE]   # a "Redis" that accepts and never replies
#     stall_server.py --listen IP:PORT --http [--log FILE]
#
# Default (no --http): every connection is accepted and read from until the client closes; nothing is ever
# sent. With --http: each request gets the start of a response (status line and a Server: msys-http header,
# as a tracking host's), then nothing more: no end of the headers, no body, the connection held open.
# Each connection is logged to --log as one line "<unix time> connect" (and "<unix time> request <path>" with
# --http), so a test can see that the client did get through.

import argparse
import os
import socket
import sys
import threading
import time

_lock = threading.Lock()


def log(path, text):
    if path:
        with _lock, open(path, "a", encoding="utf-8") as f:
            f.write("%.3f %s\n" % (time.time(), text))


def serve(conn, args):
    log(args.log, "connect")
    buf = b""
    sent = False
    with conn:
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            if args.http and not sent:
                buf += data
                if b"\r\n\r\n" in buf:
                    line = buf.split(b"\r\n", 1)[0].decode("latin-1")
                    log(args.log, "request %s" % (line.split(" ")[1] if " " in line else line))
                    conn.sendall(b"HTTP/1.1 200 OK\r\nServer: msys-http\r\nContent-Type: image/gif\r\n")
                    sent = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--unix")
    ap.add_argument("--listen", help="IP:PORT")
    ap.add_argument("--http", action="store_true")
    ap.add_argument("--log")
    args = ap.parse_args()
    if args.unix:
        if os.path.exists(args.unix):
            os.unlink(args.unix)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(args.unix)
    elif args.listen:
        host, _, port = args.listen.rpartition(":")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, int(port)))
    else:
        ap.error("--unix PATH or --listen IP:PORT")
    sock.listen(64)
    log(args.log, "listening")
    try:
        while True:
            conn, _ = sock.accept()
            threading.Thread(target=serve, args=(conn, args), daemon=True).start()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
