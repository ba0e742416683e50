"""Building small real stores in-process from a spool (for verify, compaction and gap tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mcp_blackbox.collector.ingest.consumer import Collector, Settings
from mcp_blackbox.collector.ingest.sources import SpoolSource
from mcp_blackbox.collector.spool import SpoolWriter


def spool_values(root: Path, per_writer: dict[str, list[bytes]]) -> Path:
    for writer_id, values in per_writer.items():
        writer = SpoolWriter(root, writer_id)
        writer.append(values, sync=False)
        writer.close()
    return root


def collect_spool(spool: Path, store: Path, key: Path, max_poll: int = 20_000, **settings: Any) -> Collector:
    settings.setdefault("flush_rows", max_poll)
    collector = Collector(store, SpoolSource(spool, max_poll_records=max_poll),
                          Settings(key_path=key, flush_idle_seconds=0.2, **settings))
    collector.run(until_idle=0.3)
    return collector
