"""Compaction: merge the small events files of one partition and day into large, re-sorted files.

For each (date, source, topic, partition) with at least `min_files` active events files smaller than
`small_rows`, the files are read, concatenated, re-sorted (connection_id, event_time, sequence) and
written as `<source>-<partition>-<first>-<last>-compacted.parquet` with 128Ki-row groups, plus its
emitter-runs file. One signed manifest then adds the new files (each entry's `replaces` lists the
path, SHA-256, offset range and rows of every file it replaced: provenance) and retires the old events
and runs files; only after that manifest is durable are the old files deleted. A crash before the
manifest leaves an unlisted `-compacted` file that the next `compact` deletes; a crash after it leaves
retired files that the next `compact` (or the collector owning the partition) deletes. `verify` stays
green throughout, except that it reports retired-but-present files until they are gone.
Run one `compact` at a time per store (it may run while collectors ingest).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from mcp_blackbox.collector.ingest.batchwriter import Position, write_event_file
from mcp_blackbox.collector.ingest.gaps import write_completeness
from mcp_blackbox.collector.ingest.manifest import ManifestWriter, StoreState, load_or_create_key
from mcp_blackbox.collector.ingest.storefs import data_files
from mcp_blackbox.schema.arrow import arrow_schema
from mcp_blackbox.schema.model import utc_now


@dataclass
class CompactReport:
    """What a compaction did."""

    groups: int = 0
    files_replaced: int = 0
    files_written: int = 0
    rows: int = 0
    leftovers_removed: int = 0


def _cleanup(root: Path, state: StoreState) -> int:
    removed = 0
    for rel in data_files(root):
        name = rel.rsplit("/", 1)[-1]
        if rel in state.retired or (name.endswith("-compacted.parquet") and rel not in state.active):
            (root / rel).unlink(missing_ok=True)
            removed += 1
    return removed


def _groups(state: StoreState, small_rows: int, min_files: int) -> list[list[dict[str, Any]]]:
    by_key: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
    for entry in state.active.values():
        if entry.get("kind") != "events" or int(entry.get("rows", 0)) >= small_rows:
            continue
        date = entry["path"].split("/")[1]
        by_key.setdefault((date, entry["source"], entry["topic"], str(entry["partition"])), []).append(entry)
    out = []
    for key in sorted(by_key):
        entries = sorted(by_key[key], key=lambda e: int(e["first_offset"]))
        chunk: list[dict[str, Any]] = []
        rows = 0
        for entry in entries:
            if chunk and rows + int(entry["rows"]) > small_rows * 4:
                out.append(chunk)
                chunk, rows = [], 0
            chunk.append(entry)
            rows += int(entry["rows"])
        out.append(chunk)
    return [g for g in out if len(g) >= min_files]


def compact_store(root: Path, key_path: Path | None = None, *, small_rows: int = 500_000, min_files: int = 2,
                  progress: Callable[[str], None] | None = None) -> CompactReport:
    """Compact every eligible group; returns counters."""
    writer = ManifestWriter(root, load_or_create_key(key_path), {"kind": "compact"})
    state = writer.state
    report = CompactReport(leftovers_removed=_cleanup(root, state))
    runs_of = {e["events_path"]: e for e in state.active.values() if e.get("kind") == "runs"}
    groups = _groups(state, small_rows, min_files)
    for index, group in enumerate(groups, 1):
        tables = [pq.read_table(root / e["path"], schema=arrow_schema()) for e in group]
        table = pa.concat_tables(tables)
        first = min(int(e["first_offset"]) for e in group)
        last = max(int(e["last_offset"]) for e in group)
        head = group[0]
        pos = Position(head["source"], head["topic"], str(head["partition"]))
        date = head["path"].split("/")[1].removeprefix("date=")
        name = f"{pos.prefix}{first}-{last}-compacted.parquet"
        replaces = [{"path": e["path"], "sha256": e["sha256"], "first_offset": e["first_offset"],
                     "last_offset": e["last_offset"], "rows": e["rows"]} for e in group]
        entries = write_event_file(root, table, date, name, pos, first, last, extra={"replaces": replaces})
        retired = [{"path": e["path"], "sha256": e["sha256"]} for e in group]
        retired += [{"path": runs_of[e["path"]]["path"], "sha256": runs_of[e["path"]]["sha256"]}
                    for e in group if e["path"] in runs_of]
        paths = [r["path"] for r in retired]

        def still_valid(st: StoreState, paths: list[str] = paths) -> bool:
            return all(p in st.active for p in paths)

        seq = writer.commit(batches=[], add=entries, remove=retired, still_valid=still_valid)
        if seq is None:
            for entry in entries:
                (root / entry["path"]).unlink(missing_ok=True)
            continue
        for path in paths:
            (root / path).unlink(missing_ok=True)
        report.groups += 1
        report.files_replaced += len(group)
        report.files_written += 1
        report.rows += table.num_rows
        if progress is not None:
            progress(f"compact: {index}/{len(groups)} groups, {report.rows} rows")
    if report.groups or report.leftovers_removed:
        state.refresh()
        runs = [p for p, e in state.active.items() if e.get("kind") == "runs"]
        write_completeness(root, runs, utc_now(), writer)
    return report
