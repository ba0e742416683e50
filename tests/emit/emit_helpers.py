"""Helpers for the capture tests: read back spooled events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mcp_blackbox.collector.spool import list_writers, read_records
from mcp_blackbox.schema.wire import parse_event


def spooled(root: Path) -> list[dict[str, Any]]:
    """Every event in a spool (validated against schema v1), as wire dicts, in writer/offset order."""
    out = []
    for writer in list_writers(root):
        for record in read_records(root, writer):
            parse_event(record.value)  # raises if an emitter wrote an invalid event
            out.append(json.loads(record.value))
    return out


def spool_bytes(root: Path) -> bytes:
    """All bytes written under a spool directory."""
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*.jsonl")))
