"""Capture completeness: gaps in each emitter's `sequence` and breaks of its `prev_event_sha256` chain.

Two layers, both Parquet, both readable by forensics with DuckDB:

1. **Runs** (`STORE/integrity/runs/date=D/<same name as the events file>.parquet`, written with every
   events file and listed in the same manifest, so exactly-once and `verify` cover them). One row per
   maximal run of one emitter's events in that file with consecutive `sequence` and an intact hash
   chain. Columns: `emitter_instance_id`, `first_sequence`, `last_sequence`, `first_prev_sha256_prefix`
   (first 16 hex digits of the run's first event's `prev_event_sha256`), `last_sha256_prefix` (first 16
   hex digits of the hash of the run's last event), `first_event_time`, `last_event_time`, `events`.
   An emitter's events spread over partitions (the Kafka key is the connection), so links between
   runs can only be judged over all files; 64-bit prefixes keep this table small (it detects loss and
   reordering; tamper evidence is the manifests' job).

2. **Completeness report** (`STORE/integrity/completeness.parquet`, derived from all active runs files,
   rewritten atomically by the collector when it goes idle or stops, and by `compact`). Forensics reads
   it (rule `capture_gap`), so it is evidence like the events: each rewrite is listed (kind
   `completeness`, SHA-256, rows) in a signed manifest committed before the new file replaces the old
   one, under a lock file (`integrity/.lock-completeness`) so writers sharing a store publish in
   manifest order; a writer killed between the two leaves the committed bytes in a temp file, which
   the next writer starting on the store publishes (`recover_completeness`, which also replaces a report
   no manifest lists, from before reports were signed, by a signed recomputation). A recomputation that
   finds exactly the findings already signed writes nothing (`computed_at` stays that of the first
   computation of those findings), so an idle collector does not add a manifest each time. One row per
   finding. Columns: `emitter_instance_id`, `kind`, `after_sequence`, `before_sequence`,
   `missing_count`, `after_event_time`, `before_event_time`, `expected_prev_sha256_prefix`,
   `actual_prev_sha256_prefix`, `computed_at`. Kinds: `sequence_gap` — sequences `after_sequence`+1 …
   `before_sequence`-1 never arrived (`after_sequence` null when the emitter's first events are
   missing); `chain_break` — `before_sequence` follows `after_sequence` but its `prev_event_sha256` is
   not the hash of that event (an event was altered, replaced or forged); `sequence_overlap` — the
   sequence number `before_sequence` was used by different events (a restarted emitter reusing its id,
   or a replay). Join back to events with (emitter_instance_id, sequence). A gap at the very end of a
   stream cannot be seen (no later event proves it).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mcp_blackbox.collector.ingest.storefs import TMP_PREFIX, publish, sha256_file, temp_path
from mcp_blackbox.schema import storelayout
from mcp_blackbox.schema.model import format_time, utc_now

if TYPE_CHECKING:
    from mcp_blackbox.collector.ingest.manifest import ManifestWriter

COMPLETENESS = storelayout.COMPLETENESS
COMPLETENESS_KIND = "completeness"
_LOCK = "integrity/.lock-completeness"
PREFIX_HEX = 16
_TS = pa.timestamp("us", tz="UTC")
_RANK_SHIFT = 1 << 40  # sequences stay below 2**40 per emitter; ranks below 2**23


@cache
def runs_schema() -> pa.Schema:
    """Schema of a runs file."""
    return pa.schema([
        ("emitter_instance_id", pa.string()), ("first_sequence", pa.int64()), ("last_sequence", pa.int64()),
        ("first_prev_sha256_prefix", pa.string()), ("last_sha256_prefix", pa.string()),
        ("first_event_time", _TS), ("last_event_time", _TS), ("events", pa.int64()),
    ], metadata={b"mcp_blackbox.integrity": b"runs-v1"})


@cache
def completeness_schema() -> pa.Schema:
    """Schema of the completeness report."""
    return pa.schema([
        ("emitter_instance_id", pa.string()), ("kind", pa.string()), ("after_sequence", pa.int64()),
        ("before_sequence", pa.int64()), ("missing_count", pa.int64()), ("after_event_time", _TS),
        ("before_event_time", _TS), ("expected_prev_sha256_prefix", pa.string()),
        ("actual_prev_sha256_prefix", pa.string()), ("computed_at", _TS),
    ], metadata={b"mcp_blackbox.integrity": b"completeness-v1"})


def _prev(arr: Any) -> Any:
    """Row i holds row i-1's value (null for row 0)."""
    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    return pa.concat_arrays([pa.nulls(1, arr.type), arr.slice(0, len(arr) - 1)]) if len(arr) else arr


def _eq_prev(arr: Any) -> Any:
    return pc.fill_null(pc.equal(arr, _prev(arr)), False)


def emitter_runs(table: pa.Table, hashes: list[bytes]) -> pa.Table:
    """Runs of consecutive, chain-intact events per emitter in one file's rows (`hashes` in row order)."""
    if table.num_rows == 0:
        return runs_schema().empty_table()
    half = PREFIX_HEX // 2
    t = pa.table({
        "e": table.column("emitter_instance_id"), "s": table.column("sequence"),
        "p": pc.utf8_slice_codeunits(table.column("prev_event_sha256"), 0, PREFIX_HEX),
        "t": table.column("event_time"), "h": pa.array([h[:half].hex() for h in hashes], pa.string()),
        "id": table.column("event_id"),
    })
    t = t.take(pc.sort_indices(t, sort_keys=[("e", "ascending"), ("s", "ascending"), ("id", "ascending")]))
    t = t.combine_chunks()
    # Exact duplicates of one event (re-delivery) count once.
    dup = pc.and_(pc.and_(_eq_prev(t.column("e")), _eq_prev(t.column("id"))), _eq_prev(t.column("s")))
    if pc.any(dup).as_py():
        t = t.filter(pc.invert(dup))
    n = t.num_rows
    s = t.column("s").combine_chunks()
    linked = pc.and_(pc.and_(_eq_prev(t.column("e")), pc.fill_null(pc.equal(s, pc.add(_prev(s), 1)), False)),
                     pc.fill_null(pc.equal(t.column("p"), _prev(t.column("h"))), False))
    starts = pc.indices_nonzero(pc.invert(linked))
    ends = pa.concat_arrays([pc.subtract(starts.slice(1), pa.scalar(1, starts.type)), pa.array([n - 1], starts.type)])
    return pa.Table.from_arrays([
        pc.take(t.column("e"), starts), pc.take(s, starts), pc.take(s, ends), pc.take(t.column("p"), starts),
        pc.take(t.column("h"), ends), pc.take(t.column("t"), starts), pc.take(t.column("t"), ends),
        pc.cast(pc.add(pc.subtract(ends, starts), pa.scalar(1, starts.type)), pa.int64()),
    ], schema=runs_schema())


def completeness(runs: Iterable[pa.Table], computed_at: datetime) -> pa.Table:
    """Gaps, chain breaks and overlaps from all runs of the store (vectorised)."""
    tables = [r.cast(runs_schema()) for r in runs if r.num_rows]
    if not tables:
        return completeness_schema().empty_table()
    r = pa.concat_tables(tables).sort_by([("emitter_instance_id", "ascending"), ("first_sequence", "ascending"),
                                          ("last_sequence", "ascending")]).combine_chunks()
    e, first, last = r.column("emitter_instance_id"), r.column("first_sequence"), r.column("last_sequence")
    new_emitter = pc.invert(_eq_prev(e))
    rank = pc.subtract(pc.cumulative_sum(pc.cast(new_emitter, pa.int64())), 1)
    base = pc.multiply(rank, _RANK_SHIFT)
    # Highest sequence seen so far for the same emitter (runs may overlap after a replay).
    seen = pc.subtract(pc.cumulative_max(pc.add(base, last)), base)
    prev_seen = pc.if_else(new_emitter, pa.scalar(None, pa.int64()), _prev(seen))
    prev_last = _prev(last)
    prev_hash = _prev(r.column("last_sha256_prefix"))
    first_prev = r.column("first_prev_sha256_prefix")
    start_gap = pc.and_(new_emitter, pc.greater(first, 0))
    gap = pc.fill_null(pc.greater(first, pc.add(prev_seen, 1)), False)
    adjacent = pc.fill_null(pc.and_(pc.equal(first, pc.add(prev_seen, 1)), pc.equal(prev_last, prev_seen)), False)
    broken = pc.and_(adjacent, pc.invert(pc.fill_null(pc.equal(first_prev, prev_hash), False)))
    same_run = pc.fill_null(pc.and_(pc.equal(first, _prev(first)), pc.and_(
        pc.equal(last, prev_last), pc.equal(r.column("last_sha256_prefix"), prev_hash))), False)
    overlap = pc.and_(pc.fill_null(pc.less_equal(first, prev_seen), False), pc.invert(same_run))
    kind = pc.case_when(pc.make_struct(start_gap, gap, broken, overlap),
                        "sequence_gap", "sequence_gap", "chain_break", "sequence_overlap")
    keep = pc.is_valid(kind)
    after = pc.if_else(start_gap, pa.scalar(None, pa.int64()), pc.if_else(overlap, first, prev_seen))
    missing = pc.if_else(start_gap, first, pc.if_else(gap, pc.subtract(pc.subtract(first, prev_seen), 1), 0))
    n_keep = pc.sum(pc.cast(keep, pa.int64())).as_py() or 0
    out = pa.Table.from_arrays([
        e, kind, after, first, missing,
        pc.if_else(start_gap, pa.scalar(None, _TS), _prev(r.column("last_event_time"))),
        r.column("first_event_time"),
        pc.if_else(broken, prev_hash, pa.scalar(None, pa.string())),
        pc.if_else(broken, first_prev, pa.scalar(None, pa.string())),
        pa.array([computed_at] * len(e), _TS),
    ], schema=completeness_schema()).filter(keep)
    assert out.num_rows == n_keep  # noqa: S101 - internal consistency of the masks above
    return out


@contextmanager
def _locked(root: Path) -> Iterator[None]:
    """Exclusive lock of the completeness report among the processes writing to this store."""
    path = root / _LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def write_completeness(root: Path, run_paths: Iterable[str], computed_at: datetime,
                       manifests: ManifestWriter) -> pa.Table:
    """Recompute the report from the given runs files, sign it into a manifest, then replace it atomically."""
    report = completeness((pq.read_table(root / p) for p in run_paths), computed_at)
    sink = pa.BufferOutputStream()
    pq.write_table(report, sink, compression="zstd")
    data = sink.getvalue().to_pybytes()
    final = root / COMPLETENESS
    with _locked(root):
        if _unchanged(final, manifests.active_entry(COMPLETENESS), report):
            return report
        tmp = temp_path(final)
        with open(tmp, "wb") as fh:
            fh.write(data)
        entry = {"path": COMPLETENESS, "kind": COMPLETENESS_KIND, "sha256": sha256_file(tmp), "bytes": len(data),
                 "rows": report.num_rows, "computed_at": format_time(computed_at)}
        try:
            manifests.commit(batches=[], add=[entry])
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        publish(tmp, final)
    return report


def _unchanged(final: Path, entry: dict[str, Any] | None, report: pa.Table) -> bool:
    """Whether the signed report in place already holds these findings (then no new file nor manifest)."""
    if entry is None or not final.exists() or sha256_file(final) != entry.get("sha256"):
        return False
    current = pq.read_table(final)
    if not current.schema.equals(report.schema, check_metadata=False):
        return False
    return bool(current.drop_columns(["computed_at"]).equals(report.drop_columns(["computed_at"])))


def recover_completeness(root: Path, manifests: ManifestWriter) -> None:
    """Finish a report write interrupted between its manifest and its rename; drop other leftovers.

    A report no manifest lists (written before reports were signed) is recomputed from the runs files and
    signed, rather than signed as found.
    """
    state = manifests.state
    final = root / COMPLETENESS
    if final.exists() and manifests.active_entry(COMPLETENESS) is None:
        runs = [p for p, e in state.active.items() if e.get("kind") == "runs"]
        write_completeness(root, runs, utc_now(), manifests)
    temps = sorted((root / "integrity").glob(f"{TMP_PREFIX}*-completeness.parquet"))
    if not temps:
        return
    with _locked(root):
        state.refresh()  # under the lock: no writer is between its commit and its rename now
        entry = state.active.get(COMPLETENESS)
        want = entry.get("sha256") if entry else None
        current = sha256_file(final) if final.exists() else None
        for tmp in temps:
            if not tmp.exists():
                continue
            if want is not None and current != want and sha256_file(tmp) == want:
                publish(tmp, final)
                current = want
            else:
                tmp.unlink(missing_ok=True)
