#!/usr/bin/python3
# http_sink.py: the mini internet's web servers (tracking host and plain web host).
#
# t/netns-run starts it twice:
#     http_sink.py --listen 127.0.0.80:80 --server-header msys-http   # track.test: a SparkPost tracking host
#     http_sink.py --listen 127.0.0.81:80 --server-header nginx       # web.test: an ordinary web site
#
# Every request is appended to $HTTP_LOG (or --log FILE) as one JSON line
#     {"host": ..., "method": ..., "path": ..., "user_agent": ..., "cookie": ..., "referer": ..., "accept": ...,
#      "t": <unix time>, "listen": "127.0.0.80:80", "content_type": ..., "body": ..., "form": {...},
#      "authorization": ...}
# (a header the request did not send is null) under an exclusive lock, so the two servers can share the file and
# a line is never torn. "body" is the request body as text (null when empty), "form" its fields ({name: [values]})
# when it is application/x-www-form-urlencoded or multipart/form-data.
#
# Answers (any method; HEAD gets the headers only):
#   /status/<code>        that status code
#   /redirect/...         302, Location: http://127.0.0.81/landed
#   /hops/<n>/<rest>      n > 0: 302, Location: /hops/<n-1>/<rest> (relative); n = 0: answers as for /<rest>
#   /to/<host>/<rest>     302, Location: http://<host>/<rest> (a redirect to another host)
#   Host: moved.*         302, Location: http://track.test<path> (whatever the path: a site that moved)
#   /slow/<ms>/<rest>     waits <ms> milliseconds, then answers as for /<rest>
#   /q/... or *.gif       200, a 1x1 GIF (an open pixel)
#   anything else         200, a short HTML page
# The Server: header is exactly the --server-header value. Every answer sets a cookie (Set-Cookie: visit=1), as
# tracking and web sites do: a client that keeps cookies would send it back on its next request.

import argparse
import email.parser
import email.policy
import fcntl
import json
import os
import re
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GIF_1X1 = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
           b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
HTML = b"<!DOCTYPE html>\n<html><head><title>ok</title></head><body>ok</body></html>\n"
REDIRECT_TARGET = "http://127.0.0.81/landed"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_header = "msys-http"   # set from the command line
    listen = ""
    log_path = None

    def version_string(self):
        return self.server_header

    def log_message(self, format, *args):   # quiet: the JSON log is the record
        pass

    def _form(self, body):
        """The fields of a form body, {name: [values]}, or None when it is no form."""
        ctype = self.headers.get("Content-Type") or ""
        if ctype.startswith("application/x-www-form-urlencoded"):
            return urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        if ctype.startswith("multipart/form-data"):
            msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
            form = {}
            for part in msg.iter_parts():
                name = part.get_param("name", header="content-disposition")
                value = part.get_payload(decode=True).decode("utf-8", "replace")
                form.setdefault(name, []).append(value)
            return form
        return None

    def _record(self, body):
        line = json.dumps({
            "host": self.headers.get("Host"),
            "method": self.command,
            "path": self.path,
            "user_agent": self.headers.get("User-Agent"),
            "cookie": self.headers.get("Cookie"),
            "referer": self.headers.get("Referer"),
            "accept": self.headers.get("Accept"),
            "t": time.time(),
            "listen": self.listen,
            "content_type": self.headers.get("Content-Type"),
            "body": body.decode("utf-8", "replace") if body else None,
            "form": self._form(body) if body else None,
            "authorization": self.headers.get("Authorization"),
        }) + "\n"
        if self.log_path:
            with open(self.log_path, "a", encoding="utf-8") as f:
                fcntl.flock(f, fcntl.LOCK_EX)
                f.write(line)
                f.flush()
                # the lock is released when the file is closed

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        self._record(self.rfile.read(length) if length else b"")
        path = self.path.split("?", 1)[0]

        m = re.match(r"^/slow/(\d+)(/.*)?$", path)
        if m:
            time.sleep(int(m.group(1)) / 1000.0)
            path = m.group(2) or "/"

        if path.startswith("/hops/0/"):
            path = path[len("/hops/0"):]

        headers = {}
        m = re.match(r"^/status/(\d{3})", path)
        if (self.headers.get("Host") or "").startswith("moved."):
            code, body, ctype = 302, HTML, "text/html"
            headers["Location"] = "http://track.test" + self.path
        elif m:
            code, body, ctype = int(m.group(1)), HTML, "text/html"
        elif path.startswith("/redirect/"):
            code, body, ctype = 302, HTML, "text/html"
            headers["Location"] = REDIRECT_TARGET
        elif re.match(r"^/to/[^/]+/", path):
            host, rest = path[len("/to/"):].split("/", 1)
            query = self.path.partition("?")[1] + self.path.partition("?")[2]
            code, body, ctype = 302, HTML, "text/html"
            headers["Location"] = "http://%s/%s%s" % (host, rest, query)
        elif re.match(r"^/hops/[1-9]\d*/", path):
            n, rest = path[len("/hops/"):].split("/", 1)
            code, body, ctype = 302, HTML, "text/html"
            headers["Location"] = "/hops/%d/%s" % (int(n) - 1, rest)

        elif path.startswith("/q/") or path.endswith(".gif"):
            code, body, ctype = 200, GIF_1X1, "image/gif"
        else:
            code, body, ctype = 200, HTML, "text/html"

        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Set-Cookie", "visit=1; Path=/")
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD" and code not in (204, 304):
            self.wfile.write(body)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = _answer


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--listen", required=True, help="IP:PORT")
    ap.add_argument("--server-header", required=True)
    ap.add_argument("--log", default=os.environ.get("HTTP_LOG"))
    args = ap.parse_args()
    host, _, port = args.listen.rpartition(":")
    Handler.server_header = args.server_header
    Handler.listen = args.listen
    Handler.log_path = args.log
    ThreadingHTTPServer.daemon_threads = True
    # A backlog of 5 (the default) overflows when t/load.bats opens 50+ connections at once: dropped SYNs
    # are retried after 1, 3, 7... s and a client's connect can time out.
    ThreadingHTTPServer.request_queue_size = 128
    httpd = ThreadingHTTPServer((host, int(port)), Handler)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
