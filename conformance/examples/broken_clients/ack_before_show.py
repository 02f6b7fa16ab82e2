#!/usr/bin/env python3
"""Broken on purpose (CLI-5): acknowledges a MSG before showing it. A crash between the two
loses the message for good; the suite shows it by closing standard output."""

from _base import core_client


class AckBeforeShow(core_client.Client):
    def deliver(self, msg_id, sender, text):
        self.send("ACK:%d" % msg_id)
        if msg_id not in self.seen:
            self.emit(event="message", **{"from": sender}, text=text, via="relay", id=msg_id)
            self.record_seen(msg_id)


core_client.main(AckBeforeShow)
