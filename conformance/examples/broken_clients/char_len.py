#!/usr/bin/env python3
"""Broken on purpose (CLI-4): counts <len> of a BROADCAST in characters, not octets, as
seed 001's client did (Appendix B.2)."""

from _base import core_client


class CharLen(core_client.Client):
    def broadcast_line(self, text):
        return "BROADCAST:%s:%d:%s" % (self.nick, len(text), text)


core_client.main(CharLen)
