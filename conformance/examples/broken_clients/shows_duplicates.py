#!/usr/bin/env python3
"""Broken on purpose (CLI-5): shows every MSG, also one whose id it has shown already."""

from _base import core_client


class ShowsDuplicates(core_client.Client):
    def deliver(self, msg_id, sender, text):
        self.emit(event="message", **{"from": sender}, text=text, via="relay", id=msg_id)
        self.send("ACK:%d" % msg_id)


core_client.main(ShowsDuplicates)
