#!/usr/bin/python3
# dns_blackhole.py: a DNS server that never answers (the mini internet's dead name server).
#
# dnsmasq forwards the zone blackhole.test here (server=/blackhole.test/127.0.0.53), so every lookup under
# it (A, MX, TXT, the DKIM key sel1._domainkey.blackhole.test, ...) times out: the "DNS is down" case.
# It listens on UDP and TCP, reads queries, and stays silent. Each query is appended to --log as one line
# "<udp|tcp> <qname> <qtype number>", so tests can see that a lookup really went out.
#
#     dns_blackhole.py --listen 127.0.0.53:53 --log $T_STATE/blackhole.log

import argparse
import socket
import sys
import threading

_log_lock = threading.Lock()


def qname_of(packet):
    """The question name and type of a DNS query packet, or ("?", 0) if it cannot be read."""
    try:
        labels, i = [], 12
        while packet[i]:
            n = packet[i]
            labels.append(packet[i + 1:i + 1 + n].decode("ascii", "replace"))
            i += 1 + n
        qtype = int.from_bytes(packet[i + 1:i + 3], "big")
        return ".".join(labels) or ".", qtype
    except IndexError:
        return "?", 0


def record(log, proto, packet):
    if not log:
        return
    name, qtype = qname_of(packet)
    with _log_lock, open(log, "a", encoding="utf-8") as f:
        f.write("%s %s %d\n" % (proto, name, qtype))


def serve_udp(sock, log):
    while True:
        packet, _ = sock.recvfrom(4096)
        record(log, "udp", packet)


def serve_tcp_conn(conn, log):
    with conn:
        buf = b""
        while True:
            data = conn.recv(4096)
            if not data:
                return
            buf += data
            while len(buf) >= 2 and len(buf) >= 2 + int.from_bytes(buf[:2], "big"):
                n = int.from_bytes(buf[:2], "big")
                record(log, "tcp", buf[2:2 + n])
                buf = buf[2 + n:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", default="127.0.0.53:53", help="IP:PORT")
    ap.add_argument("--log")
    args = ap.parse_args()
    host, _, port = args.listen.rpartition(":")
    addr = (host, int(port))

    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(addr)
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind(addr)
    tcp.listen(16)

    threading.Thread(target=serve_udp, args=(udp, args.log), daemon=True).start()
    try:
        while True:
            conn, _ = tcp.accept()
            threading.Thread(target=serve_tcp_conn, args=(conn, args.log), daemon=True).start()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
