"""Capture test fixtures."""

from __future__ import annotations


# Helper modules of this folder import by their plain names.
