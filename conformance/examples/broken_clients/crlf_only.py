#!/usr/bin/env python3
"""Broken on purpose (CLI-1): takes only CRLF as a line end, as seed 001's server did; a
line ended by a bare LF runs into the next one."""

from _base import core_client


class CrlfOnly(core_client.Client):
    def on_raw_line(self, raw):
        self.held = getattr(self, "held", b"") + raw
        if self.held.endswith(b"\r"):
            line, self.held = self.held[:-1], b""
            self.on_line(line)
        else:
            self.held += b"\n"


core_client.main(CrlfOnly)
