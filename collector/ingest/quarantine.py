"""Quarantine: records that are not valid events, kept with their raw bytes, the reason and the source position.

`STORE/quarantine/date=<ingest date>/<source>-<partition>-<first>-<last>.parquet`, columns:
`raw` (binary, the exact bytes received), `error` (one line naming the field), `source` (`kafka` or
`spool`), `topic` (Kafka topic, or the spool directory), `partition` (Kafka partition or spool writer
id, as text), `offset` (int64), `kafka_key` (binary, null for spool), `ingest_time` (UTC µs).
Nothing is dropped silently: every offset of a batch is either an event row or a quarantine row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

import pyarrow as pa


@cache
def quarantine_schema() -> pa.Schema:
    """The quarantine table's schema."""
    return pa.schema([
        pa.field("raw", pa.binary(), nullable=False),
        pa.field("error", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("topic", pa.string(), nullable=False),
        pa.field("partition", pa.string(), nullable=False),
        pa.field("offset", pa.int64(), nullable=False),
        pa.field("kafka_key", pa.binary()),
        pa.field("ingest_time", pa.timestamp("us", tz="UTC"), nullable=False),
    ], metadata={b"mcp_blackbox.quarantine_version": b"1"})


@dataclass(frozen=True)
class QuarantineRow:
    """One rejected record."""

    raw: bytes
    error: str
    offset: int
    key: bytes | None


def quarantine_table(rows: list[QuarantineRow], *, source: str, topic: str, partition: str,
                     ingest_time: datetime) -> pa.Table:
    """Rows → Arrow table with `quarantine_schema()`."""
    n = len(rows)
    schema = quarantine_schema()
    return pa.Table.from_arrays([
        pa.array([r.raw for r in rows], pa.binary()),
        pa.array([r.error for r in rows], pa.string()),
        pa.array([source] * n, pa.string()),
        pa.array([topic] * n, pa.string()),
        pa.array([partition] * n, pa.string()),
        pa.array([r.offset for r in rows], pa.int64()),
        pa.array([r.key for r in rows], pa.binary()),
        pa.array([ingest_time] * n, schema.field("ingest_time").type),
    ], schema=schema)
