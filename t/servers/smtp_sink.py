# smtp_sink.py: the mini internet's SMTP server (the "MX" of every test domain).
#
# It stands in for the receivers of the sink's bounces (OOB) and complaints (FBL). Run by t/netns-run as
#
#     /usr/bin/python3 -m aiosmtpd -n -l 127.0.0.25:25 -c smtp_sink.Sink SPOOLDIR
#
# (t/servers on PYTHONPATH; aiosmtpd hands the words after the options to Sink.from_cli).
#
# For each accepted message it writes, in SPOOLDIR:
#   <seq>.json  {"mail_from": ..., "rcpt_tos": [...], "peer": [ip, port], "helo": ...}
#   <seq>.eml   the message exactly as received (CRLF kept, dot-stuffing undone)
# The .json is written first and the .eml is renamed into place, so a reader that sees <seq>.eml sees a
# complete message with its envelope next to it.
#
# Chosen recipients misbehave, by their local part:
#   reject550*  RCPT answered "550 5.1.1 User unknown"
#   reject451*  RCPT answered "451 4.3.0 Try again later"
#   stall*      RCPT accepted, but the reply to DATA (after the message's final dot) comes only after
#               SMTP_STALL_SECONDS (default 120 s; t/netns-run passes 10): the client's timeout fires
#               first. A stalled message is never stored (so it cannot turn up in a later test's spool).
#   quitstall*  the message is accepted and stored; the reply to the QUIT that follows on the same
#               connection comes only after SMTP_STALL_SECONDS.
# Every rejection is appended to SPOOLDIR/rejects.log as one line "<code> <rcpt>"; every stall to
# SPOOLDIR/stalls.log as "stall <rcpt>".

import asyncio
import itertools
import json
import os


def _local_part(address):
    return address.rpartition("@")[0].lower() if "@" in address else address.lower()


class Sink:
    """aiosmtpd handler: store accepted mail, reject or stall chosen recipients."""

    REPLIES = {
        "reject550": "550 5.1.1 User unknown",
        "reject451": "451 4.3.0 Try again later",
    }

    def __init__(self, spool, stall_seconds=120.0):
        self.spool = spool
        self.stall_seconds = stall_seconds
        self.seq = itertools.count(1)
        os.makedirs(spool, exist_ok=True)

    @classmethod
    def from_cli(cls, parser, *args):
        # aiosmtpd.main calls from_cli(parser, *CLASSARGS).
        if len(args) != 1:
            parser.error("smtp_sink.Sink takes one argument: the spool directory")
        return cls(args[0], float(os.environ.get("SMTP_STALL_SECONDS", "120")))

    def _log(self, name, line):
        with open(os.path.join(self.spool, name), "a", encoding="utf-8") as f:
            f.write(line + "\n")

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = _local_part(address)
        for prefix, reply in self.REPLIES.items():
            if local.startswith(prefix):
                self._log("rejects.log", "%s %s" % (reply[:3], address))
                return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        stalled = [r for r in envelope.rcpt_tos if _local_part(r).startswith("stall")]
        if stalled:
            for rcpt in stalled:
                self._log("stalls.log", "stall %s" % rcpt)
            await asyncio.sleep(self.stall_seconds)
            return "451 4.4.2 Stalled (test server)"
        if any(_local_part(r).startswith("quitstall") for r in envelope.rcpt_tos):
            session.quit_stall = True
        self._store(session, envelope)
        return "250 2.0.0 OK queued"

    async def handle_QUIT(self, server, session, envelope):
        if getattr(session, "quit_stall", False):
            self._log("stalls.log", "quitstall")
            await asyncio.sleep(self.stall_seconds)
        return "221 Bye"

    def _store(self, session, envelope):
        # Number past any files left from before (the spool may be emptied between tests, not renumbered).
        while True:
            base = os.path.join(self.spool, "%06d" % next(self.seq))
            if not os.path.exists(base + ".json"):
                break
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "peer": list(session.peer) if session.peer else None,
            "helo": session.host_name,
        }
        with open(base + ".json", "w", encoding="utf-8") as f:
            json.dump(meta, f)
            f.write("\n")
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content)
        os.rename(base + ".eml.tmp", base + ".eml")
