"""Helpers shared by the ingest tests: producing to Kafka fast, running collectors, reading stores back."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[2]
CLI = REPO / ".venv" / "bin" / "mcp-blackbox"


def produce(bootstrap: str, topic: str, records: Iterable[tuple[bytes | None, bytes]]) -> int:
    """Send (key, value) pairs with a batching producer; returns how many were sent."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, batch_size=512 * 1024,
                             compression_type="lz4", max_request_size=8 * 1024 * 1024)
    count = 0
    for key, value in records:
        producer.send(topic, key=key, value=value)
        count += 1
    producer.flush(timeout=120)
    producer.close()
    return count


def cli_command() -> list[str]:
    """The installed console script (or `python -m mcp_blackbox` when it is missing)."""
    return [str(CLI)] if CLI.exists() else [sys.executable, "-m", "mcp_blackbox"]


def start_collect(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`mcp-blackbox collect ARGS` as a subprocess (stderr captured)."""
    return subprocess.Popen([*cli_command(), "collect", *args], env={**os.environ, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def read_dir(root: Path, sub: str) -> pa.Table | None:
    files = sorted(p for p in (root / sub).rglob("*.parquet") if not p.name.startswith(".tmp-"))
    if not files:
        return None
    return pa.concat_tables(pq.read_table(f) for f in files)


def event_ids(store: Path) -> list[str]:
    """Every stored event_id, duplicates included (what a reader globbing events/** would see)."""
    table = read_dir(store, "events")
    return [] if table is None else table.column("event_id").to_pylist()


def quarantine(store: Path) -> pa.Table | None:
    """All quarantine rows."""
    return read_dir(store, "quarantine")
