"""Shared by the broken clients: imports examples/core_client.py (one directory up)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import core_client  # noqa: E402,F401
