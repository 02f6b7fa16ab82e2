#!/usr/bin/env python3
"""Broken on purpose (CLI-6): never keeps the TOKEN, so it cannot register its own nick
again after a restart."""

from _base import core_client


class ForgetsToken(core_client.Client):
    def save_token(self, token):
        pass


core_client.main(ForgetsToken)
