#!/usr/bin/python3
# dns_mangle.py: a name server that passes each UDP query on to the mini internet's own (dnsmasq) and
# hands back its reply spoiled in one way, to see what the sink makes of replies glibc's resolver reads
# one way or another:
#   servfail  the reply's RCODE set to SERVFAIL
#   trailing  one byte more after the reply
#   noqr      the reply's QR bit cleared (glibc's res_nsend does not look at it)
#
#     dns_mangle.py --listen 127.0.0.56:53 --upstream 127.0.0.1:53 --mode noqr

import argparse
import socket


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--mode", required=True, choices=["servfail", "trailing", "noqr"])
    a = ap.parse_args()
    host, port = a.listen.rsplit(":", 1)
    uhost, uport = a.upstream.rsplit(":", 1)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, int(port)))
    while True:
        query, peer = sock.recvfrom(4096)
        up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        up.settimeout(2)
        try:
            up.sendto(query, (uhost, int(uport)))
            reply = bytearray(up.recvfrom(4096)[0])
        except OSError:
            continue
        finally:
            up.close()
        if a.mode == "servfail":
            reply[3] = (reply[3] & 0xF0) | 2
        elif a.mode == "trailing":
            reply += b"\0"
        else:
            reply[2] &= 0x7F
        sock.sendto(bytes(reply), peer)


if __name__ == "__main__":
    main()
