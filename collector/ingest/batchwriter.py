"""Turn one decoded batch of one partition into durable files and their manifest entries.

Valid events are split by the UTC date of `event_time` (one file per date, all named by the batch's
offset range), sorted for forensic locality, hashed (Merkle root over the rows in file order) and
written next to their emitter-runs file (see `gaps.py`); rejected records go to one quarantine file
under the ingest date. Nothing here is visible to readers of the store until the manifest listing
these entries is committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from mcp_blackbox.collector.ingest.gaps import emitter_runs, runs_schema
from mcp_blackbox.collector.ingest.hashing import event_hashes, merkle_root
from mcp_blackbox.collector.ingest.parquet_sink import SORT_KEYS, sort_events, write_parquet
from mcp_blackbox.collector.ingest.quarantine import QuarantineRow, quarantine_schema, quarantine_table
from mcp_blackbox.collector.ingest.storefs import EVENTS, QUARANTINE, RUNS, safe_part
from mcp_blackbox.schema.arrow import arrow_schema
from mcp_blackbox.schema.model import format_time

#: Temporary column carrying each row's event hash from the decoder to the file writer (never written).
HASH_COLUMN = "__mcp_blackbox_event_sha256"


@dataclass(frozen=True)
class Position:
    """Where a batch came from."""

    source: str  # kafka | spool
    topic: str
    partition: str

    @property
    def prefix(self) -> str:
        """File-name prefix `<source>-<partition>-` (fields made dash-free so names parse)."""
        name = safe_part(self.topic) if self.source == "kafka" else "spool_" + safe_part(Path(self.topic).name)
        return f"{name}-{safe_part(self.partition)}-"

    def fields(self) -> dict[str, str]:
        """The position as manifest fields."""
        return {"source": self.source, "topic": self.topic, "partition": self.partition}


def _time_range(table: pa.Table) -> tuple[str | None, str | None]:
    if table.num_rows == 0:
        return None, None
    mm = pc.min_max(table.column("event_time"))
    lo, hi = mm["min"].as_py(), mm["max"].as_py()
    return (format_time(lo) if lo else None, format_time(hi) if hi else None)


def take_hash_column(table: pa.Table) -> list[bytes] | None:
    """The rows' event hashes from `HASH_COLUMN` (in the table's current order), or None without it."""
    if HASH_COLUMN not in table.column_names:
        return None
    col = table.column(HASH_COLUMN).combine_chunks()
    if col.null_count:
        return None
    data = col.buffers()[1].to_pybytes()[col.offset * 32:(col.offset + len(col)) * 32]
    return [data[i:i + 32] for i in range(0, len(data), 32)]


def write_event_file(root: Path, table: pa.Table, date: str, name: str, pos: Position, first: int, last: int,
                     extra: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Sort, hash and write one events file (+ its runs file); returns their manifest entries."""
    table = sort_events(table)
    known = take_hash_column(table)  # hashes the decoder already knows (canonical records)
    if HASH_COLUMN in table.column_names:
        table = table.drop_columns([HASH_COLUMN])
    hashes = known if known is not None else event_hashes(table)
    root_hash = merkle_root(hashes)
    rel = f"{EVENTS}/date={date}/{name}"
    written = write_parquet(table, root / rel, schema=arrow_schema(), sorted_by=SORT_KEYS,
                            metadata={"mcp_blackbox.merkle_root": root_hash})
    lo, hi = _time_range(table)
    common = {**pos.fields(), "first_offset": first, "last_offset": last}
    entry = {"path": rel, "kind": "events", "sha256": written.sha256, "bytes": written.bytes,
             "rows": written.rows, **common, "min_event_time": lo, "max_event_time": hi,
             "merkle_root": root_hash, **(extra or {})}
    runs = emitter_runs(table, hashes)
    runs_rel = f"{RUNS}/date={date}/{name}"
    rw = write_parquet(runs, root / runs_rel, schema=runs_schema())
    runs_entry = {"path": runs_rel, "kind": "runs", "sha256": rw.sha256, "bytes": rw.bytes, "rows": rw.rows,
                  **common, "events_path": rel}
    return [entry, runs_entry]


def write_batch(root: Path, pos: Position, first: int, last: int, events: pa.Table,
                bad: list[QuarantineRow], ingest_time: datetime,
                hashes: list[bytes] | None = None) -> list[dict[str, Any]]:
    """Write every file of one batch; returns the manifest `add` entries.

    `hashes`, when given, are the event hashes of `events`' rows (from the decoder); they travel with
    the rows through the split by date and the sort, and are computed otherwise.
    """
    name = f"{pos.prefix}{first}-{last}.parquet"
    entries: list[dict[str, Any]] = []
    if hashes is not None and len(hashes) == events.num_rows:
        events = events.append_column(HASH_COLUMN, pa.array(hashes, pa.binary(32)))
    if events.num_rows:
        mm = pc.min_max(events.column("event_time"))
        lo, hi = mm["min"].as_py(), mm["max"].as_py()
        if lo is not None and hi is not None and lo.date() == hi.date():  # one UTC date (the usual case)
            entries.extend(write_event_file(root, events, lo.date().isoformat(), name, pos, first, last))
        else:
            dates = pc.strftime(events.column("event_time"), format="%Y-%m-%d")
            for date in sorted(pc.unique(dates).to_pylist()):
                part = events.filter(pc.equal(dates, date))
                entries.extend(write_event_file(root, part, date, name, pos, first, last))
    if bad:
        qtable = quarantine_table(bad, source=pos.source, topic=pos.topic, partition=pos.partition,
                                  ingest_time=ingest_time)
        rel = f"{QUARANTINE}/date={ingest_time.strftime('%Y-%m-%d')}/{name}"
        written = write_parquet(qtable, root / rel, schema=quarantine_schema())
        entries.append({"path": rel, "kind": "quarantine", "sha256": written.sha256, "bytes": written.bytes,
                        "rows": written.rows, **pos.fields(), "first_offset": first, "last_offset": last})
    return entries
