#!/usr/bin/python3
# mkmsg.py: build a test message as PowerMTA would hand it to sink-filter (unsigned).
#
#     mkmsg.py OUT|- [key=value ...]
#
# The message: Return-Path and a PMTA-style Received header on top, then the sender's headers and a
# multipart/alternative body (text + html). Keys (an empty value leaves that header or part out):
#   to            recipient (To:, and "for <...>" in Received)      default test1@accept.sink.test
#   from          From:                                              default news@sender.test
#   return_path   Return-Path: and "envelope-from <...>"             default bounces@sender.test
#   subject       Subject:                                           default "Test message"
#   msgid         Message-ID: (with or without <>)                   default a fresh <...@sender.test>
#   date          Date: and the Received date                        default now (UTC)
#   text          the text/plain part: a file path or literal text   default "Hello from the test sender."
#   html          the text/html part: a file path or literal HTML    default a page with an open pixel and a
#                 link, both on the tracking host track.test
#   cte           transfer encoding of the html part: qp | base64 | 7bit | 8bit     default qp
#   msfbl         X-MSFBL: value (SparkPost's feedback-loop header)  default none
#   received_ip   the client IP in Received: (the SPF client)        default 192.0.2.10
#   store_done    1: add "X-Bouncy-Sink: Store-Done"                 default none
#   extra_header  "Name: value", added after the others (may be repeated)
#   crlf          1: CRLF line endings (as SMTP carries them)        default LF (as PMTA's files have)
# With only one of text/html, the body is that single part; with neither, an empty text/plain body.

import datetime
import email.policy
import email.utils
import os
import sys
from email.message import EmailMessage

DEFAULT_HTML = """<!DOCTYPE html>
<html>
  <head><meta charset="utf-8"><title>Test mail</title></head>
  <body>
    <p>Hello from the test sender.</p>
    <p><a href="http://track.test/f/a/click1">Read more</a></p>
    <img border="0" width="1" height="1" alt="" src="http://track.test/q/open1">
  </body>
</html>
"""

DEFAULTS = {
    "to": "test1@accept.sink.test",
    "from": "news@sender.test",
    "return_path": "bounces@sender.test",
    "subject": "Test message",
    "msgid": None,
    "date": None,
    "text": "Hello from the test sender.\n",
    "html": DEFAULT_HTML,
    "cte": "qp",
    "msfbl": "",
    "received_ip": "192.0.2.10",
    "store_done": "",
    "crlf": "",
}
CTE = {"qp": "quoted-printable", "quoted-printable": "quoted-printable", "base64": "base64",
       "7bit": "7bit", "8bit": "8bit"}


def file_or_literal(value):
    """The contents of the file VALUE names, or VALUE itself."""
    if value and "\n" not in value and len(value) < 4096 and os.path.isfile(value):
        with open(value, encoding="utf-8") as f:
            return f.read()
    return value


def parse_args(argv):
    if not argv:
        sys.exit("usage: mkmsg.py OUT|- [key=value ...]")
    out, opts, extra = argv[0], dict(DEFAULTS), []
    for arg in argv[1:]:
        key, eq, value = arg.partition("=")
        if not eq or (key not in DEFAULTS and key != "extra_header"):
            sys.exit("mkmsg.py: bad argument %r (keys: %s, extra_header)" % (arg, " ".join(DEFAULTS)))
        if key == "extra_header":
            extra.append(value)
        else:
            opts[key] = value
    if opts["cte"] not in CTE:
        sys.exit("mkmsg.py: cte must be one of qp, base64, 7bit, 8bit")
    return out, opts, extra


def build(opts, extra):
    date = opts["date"] if opts["date"] is not None else \
        email.utils.format_datetime(datetime.datetime.now(datetime.timezone.utc))
    msgid = opts["msgid"] if opts["msgid"] is not None else email.utils.make_msgid(domain="sender.test")
    if msgid and not msgid.startswith("<"):
        msgid = "<%s>" % msgid
    text = file_or_literal(opts["text"])
    html = file_or_literal(opts["html"])

    msg = EmailMessage(policy=email.policy.default)
    if opts["from"]:
        msg["From"] = opts["from"]
    if opts["to"]:
        msg["To"] = opts["to"]
    if opts["subject"]:
        msg["Subject"] = opts["subject"]
    if date:
        msg["Date"] = date
    if msgid:
        msg["Message-ID"] = msgid
    if opts["msfbl"]:
        msg["X-MSFBL"] = opts["msfbl"]
    if opts["store_done"] not in ("", "0"):
        msg["X-Bouncy-Sink"] = "Store-Done"
    for header in extra:
        name, colon, value = header.partition(":")
        if not colon:
            sys.exit("mkmsg.py: extra_header must be 'Name: value', not %r" % header)
        msg[name.strip()] = value.strip()

    html_cte = CTE[opts["cte"]]
    if text:
        msg.set_content(text, cte="quoted-printable")
        if html:
            msg.add_alternative(html, subtype="html", cte=html_cte)
    elif html:
        msg.set_content(html, subtype="html", cte=html_cte)
    else:
        msg.set_content("", cte="7bit")
    if msg.is_multipart():
        for part in msg.iter_parts():
            del part["MIME-Version"]   # the email package puts one in each part; real senders do not

    # The trace headers PMTA puts on top, one unfolded line each (as in PMTA's own files).
    trace = []
    if opts["return_path"] is not None and opts["return_path"] != "":
        trace.append("Return-Path: <%s>" % opts["return_path"])
    if opts["received_ip"]:
        trace.append("Received: from mta.sender.test (%s) by sink.test id abc for <%s>; %s "
                     "(envelope-from <%s>)" % (opts["received_ip"], opts["to"], date, opts["return_path"]))
    return trace, msg


def main():
    out, opts, extra = parse_args(sys.argv[1:])
    trace, msg = build(opts, extra)
    eol = "\r\n" if opts["crlf"] not in ("", "0") else "\n"
    body = msg.as_bytes(policy=msg.policy.clone(linesep=eol))
    data = "".join(line + eol for line in trace).encode("utf-8") + body
    if out == "-":
        sys.stdout.buffer.write(data)
    else:
        with open(out, "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
