"""The collector loop: buffer per partition, decode, write files, commit a manifest, then commit offsets.

Exactly once, by construction:
- the manifest is the commit point: files are durable (temp → fsync → rename) before the manifest
  that lists them is created (put-if-absent); Kafka offsets are committed only after that;
- on assignment (start, restart, rebalance) a partition's position is derived from the manifests
  (the end of the covered offset ranges + 1, or the beginning), never from Kafka's committed offset,
  and files of that partition that no manifest lists (a crash between rename and manifest) are deleted;
- a collector commits a manifest only while it still owns the partition and no manifest already
  covers any of the batch's offsets (re-checked on every attempt), so a fenced-off or zombie collector
  discards its batch instead of duplicating it; on revocation the partition is flushed first.
"""

from __future__ import annotations

import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from mcp_blackbox.collector.ingest.batchwriter import Position, write_batch
from mcp_blackbox.collector.ingest.console import say
from mcp_blackbox.collector.ingest.decode import DEFAULT_MAX_RECORD_BYTES, Decoder
from mcp_blackbox.collector.ingest.gaps import write_completeness
from mcp_blackbox.collector.ingest.manifest import ManifestWriter, StoreState, load_or_create_key
from mcp_blackbox.collector.ingest.quarantine import QuarantineRow
from mcp_blackbox.collector.ingest.sources import Batch, Source
from mcp_blackbox.collector.ingest.storefs import StoreFiles, files_by_prefix, remove_manifest_temps
from mcp_blackbox.schema.model import MAX_STRING_BYTES, utc_now

FLUSH_WORKERS = 2


@dataclass
class Settings:
    """Tuning of one collector."""

    flush_rows: int = 100_000
    flush_bytes: int = 128 * 1024 * 1024
    flush_seconds: float = 30.0
    flush_idle_seconds: float = 1.0
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES
    max_string_bytes: int = MAX_STRING_BYTES
    stats: bool = False
    stats_interval: float = 10.0
    key_path: Path | None = None
    group: str = ""


@dataclass
class PartitionBuffer:
    """Records of one partition not yet durable."""

    offsets: list[int] = field(default_factory=list)
    values: list[bytes] = field(default_factory=list)
    keys: list[bytes | None] = field(default_factory=list)
    forced: dict[int, str] = field(default_factory=dict)
    nbytes: int = 0
    since: float = field(default_factory=time.monotonic)

    def add(self, batch: Batch) -> None:
        base = len(self.offsets)
        if not self.offsets:
            self.since = time.monotonic()
        self.offsets.extend(batch.offsets)
        self.values.extend(batch.values)
        self.keys.extend(batch.keys)
        self.forced.update({base + i: e for i, e in batch.forced_errors.items()})
        self.nbytes += sum(map(len, batch.values))


class Collector:
    """Consumes one source into one store."""

    def __init__(self, store: Path, source: Source, settings: Settings) -> None:
        self.store = store
        self.source = source
        self.settings = settings
        store.mkdir(parents=True, exist_ok=True)
        key = load_or_create_key(settings.key_path)
        self.manifests = ManifestWriter(store, key, {"kind": "collect", "group": settings.group})
        self.decoder = Decoder(settings.max_record_bytes, settings.max_string_bytes)
        self.buffers: dict[str, PartitionBuffer] = {}
        # One single-thread executor per slot: a partition always uses the same slot, so its batches
        # become durable in offset order (coverage stays contiguous), while two slots use both cores.
        self._executors = [ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"mcp-blackbox-flush-{i}")
                           for i in range(FLUSH_WORKERS)]
        self._slots: dict[str, int] = {}
        self._lock = threading.Lock()
        self._pending: list[tuple[str, Future[int | None]]] = []
        self.next_offset: dict[str, int] = {}
        self.stopping = False
        self.assigned_once = False  # --until-idle counts only once the group gave us partitions
        self.dirty = False  # committed something since the last completeness report
        self.totals = {"records": 0, "events": 0, "quarantined": 0, "files": 0, "discarded": 0}
        self._stats_at = time.monotonic()
        self._stats_records = 0

    # -- partition ownership ------------------------------------------------------------------------
    def _pos(self, partition: str) -> Position:
        return Position(self.source.kind, self.source.topic, partition)

    def on_assigned(self, partitions: list[str]) -> None:
        self.assigned_once = True
        self.wait_pending()
        state = self.manifests.state
        state.refresh()
        remove_manifest_temps(self.store)
        # One scan of the store for all newly assigned partitions (not one per partition: with thousands
        # of spool writers that rescan made a restart quadratic in the store and the writers).
        leftovers = files_by_prefix(self.store)
        for part in partitions:
            pos = self._pos(part)
            self._remove_orphans(pos, state, leftovers)
            start = state.next_offset((pos.source, pos.topic, part))
            self.buffers.pop(part, None)
            self.source.seek(part, start)
            self.next_offset[part] = start or 0

    def on_lost(self, partitions: list[str]) -> None:
        """Evicted from the group: another collector may own these now, so write nothing for them."""
        self.wait_pending()  # in flight before the eviction; the manifest check fences them anyway
        for part in partitions:
            self.buffers.pop(part, None)

    def on_revoked(self, partitions: list[str]) -> None:
        self.wait_pending()
        for part in partitions:
            self.flush(part)
        self.buffers = {p: b for p, b in self.buffers.items() if p not in partitions}

    def _remove_orphans(self, pos: Position, state: StoreState, leftovers: StoreFiles | None = None) -> None:
        """Delete this partition's files that no manifest lists (crash leftovers) and retired ones.

        `leftovers` is the store's files grouped by partition prefix (`files_by_prefix`), scanned once
        for every partition of an assignment; without it the store is scanned for this call.
        """
        data, temps = (leftovers or files_by_prefix(self.store)).get(pos.prefix, ([], []))
        for rel in data:
            name = rel.rsplit("/", 1)[-1]
            if rel not in state.active and not name.endswith("-compacted.parquet"):
                (self.store / rel).unlink(missing_ok=True)
            elif rel in state.retired:
                (self.store / rel).unlink(missing_ok=True)
        for tmp in temps:
            tmp.unlink(missing_ok=True)

    # -- flushing -----------------------------------------------------------------------------------
    # Flushes run on one worker thread (decode, hashing, Parquet encoding and fsync mostly release the
    # GIL) while the main thread keeps fetching; offsets are committed on the main thread afterwards,
    # because the Kafka client is not thread-safe. One worker keeps each partition's batches in order.
    def flush(self, partition: str) -> None:
        """Make one partition's buffer durable now (waits for earlier background flushes first)."""
        self.wait_pending()
        buf = self.buffers.pop(partition, None)
        if buf is not None and buf.offsets:
            self._after_write(partition, self._write(partition, buf))

    def flush_async(self, partition: str) -> None:
        """Hand one partition's buffer to the flush worker."""
        buf = self.buffers.pop(partition, None)
        if buf is None or not buf.offsets:
            return
        while len(self._pending) >= 2 * FLUSH_WORKERS:  # bound memory: a few batches in flight
            self._drain(block=True)
        slot = self._slots.setdefault(partition, len(self._slots) % FLUSH_WORKERS)
        self._pending.append((partition, self._executors[slot].submit(self._write, partition, buf)))

    def _drain(self, block: bool) -> None:
        """Commit every finished flush (with `block`, wait for at least one first).

        Any finished flush may go first, not only the oldest: a slot that is done must not wait behind a
        busy one. A partition's flushes still commit in offset order, since they run one after another on
        the partition's own slot and are visited oldest first.
        """
        if block and self._pending and not any(f.done() for _, f in self._pending):
            wait([f for _, f in self._pending], return_when=FIRST_COMPLETED)
        waiting: list[tuple[str, Future[int | None]]] = []
        for partition, future in self._pending:
            if future.done() and all(p != partition for p, _ in waiting):
                self._after_write(partition, future.result())
            else:
                waiting.append((partition, future))
        self._pending = waiting

    def wait_pending(self) -> None:
        """Finish every background flush (before a rebalance, a seek or exit)."""
        while self._pending:
            self._drain(block=True)

    def _after_write(self, partition: str, committed_last: int | None) -> None:
        if committed_last is not None:
            self.next_offset[partition] = committed_last + 1
            self.source.commit({partition: committed_last + 1})
        elif self.source.owns(partition):
            pos = self._pos(partition)
            nxt = self.manifests.state.next_offset((pos.source, pos.topic, partition))
            self.buffers.pop(partition, None)
            self.source.seek(partition, nxt)
            self.next_offset[partition] = nxt or 0

    def _write(self, partition: str, buf: PartitionBuffer) -> int | None:
        """Files + manifest for one buffer; returns its last offset, or None when it was discarded."""
        pos = self._pos(partition)
        first, last = buf.offsets[0], buf.offsets[-1]
        ingest_time = utc_now()
        if buf.forced:
            keep = [i for i in range(len(buf.values)) if i not in buf.forced]
            decoded = self.decoder.decode([buf.values[i] for i in keep], ingest_time)
            bad_idx = {keep[b.index]: b.error for b in decoded.bad} | buf.forced
        else:
            decoded = self.decoder.decode(buf.values, ingest_time)
            bad_idx = {b.index: b.error for b in decoded.bad}
        bad = [QuarantineRow(buf.values[i], err, buf.offsets[i], buf.keys[i]) for i, err in sorted(bad_idx.items())]
        entries = write_batch(self.store, pos, first, last, decoded.table, bad, ingest_time, decoded.hashes)
        key = (pos.source, pos.topic, partition)
        batch = {**pos.fields(), "first_offset": first, "last_offset": last, "records": len(buf.offsets),
                 "events": decoded.table.num_rows, "quarantined": len(bad)}

        def still_valid(state: StoreState) -> bool:
            return self.source.owns(partition) and not state.overlaps(key, first, last) and all(
                (self.store / e["path"]).exists() for e in entries)

        seq = self.manifests.commit(batches=[batch], add=entries, still_valid=still_valid)
        if seq is None:
            # Another collector owns or already stored these offsets: our files must not stay.
            for entry in entries:
                if entry["path"] not in self.manifests.state.active:
                    (self.store / entry["path"]).unlink(missing_ok=True)
            with self._lock:
                self.totals["discarded"] += len(buf.offsets)
            return None
        with self._lock:
            self.dirty = True
            self.totals["events"] += decoded.table.num_rows
            self.totals["quarantined"] += len(bad)
            self.totals["files"] += len(entries)
        return last

    def flush_all(self) -> None:
        """Make everything buffered durable."""
        self.wait_pending()
        for part in list(self.buffers):
            self.flush(part)

    def write_report(self) -> None:
        """Refresh STORE/integrity/completeness.parquet from all active runs files."""
        state = self.manifests.state
        state.refresh()
        runs = [p for p, e in state.active.items() if e.get("kind") == "runs"]
        write_completeness(self.store, runs, utc_now(), self.manifests)
        self.dirty = False

    # -- main loop ----------------------------------------------------------------------------------
    def _signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def run(self, until_idle: float | None = None) -> int:
        """Consume until stopped (SIGTERM/SIGINT) or idle for `until_idle` seconds."""
        old = {s: signal.signal(s, self._signal) for s in (signal.SIGTERM, signal.SIGINT)}
        s = self.settings
        try:
            self.source.start(self.on_assigned, self.on_revoked, self.on_lost)
            last_data = started = time.monotonic()
            while not self.stopping:
                batches = self.source.poll(0.5)
                now = time.monotonic()
                for batch in batches:
                    if not self.source.owns(batch.partition):
                        continue
                    self.buffers.setdefault(batch.partition, PartitionBuffer()).add(batch)
                    self.totals["records"] += len(batch.offsets)
                    last_data = now
                if sum(len(b.offsets) for b in self.buffers.values()) >= 2 * s.flush_rows:
                    # Many partitions each below the threshold: flush the fullest to bound memory.
                    self.flush_async(max(self.buffers, key=lambda p: len(self.buffers[p].offsets)))
                for part, buf in list(self.buffers.items()):
                    if (len(buf.offsets) >= s.flush_rows or buf.nbytes >= s.flush_bytes
                            or now - buf.since >= s.flush_seconds
                            or (not batches and now - last_data >= s.flush_idle_seconds)):
                        self.flush_async(part)
                self._drain(block=False)
                if not batches and now - last_data >= s.flush_idle_seconds:
                    self.wait_pending()
                    if self.dirty:
                        self.write_report()
                self._maybe_stats(now)
                if (not self.assigned_once and getattr(self.source, "joins_group", False)
                        and now - started < max(60.0, 3 * (until_idle or 0))):
                    last_data = now  # joining the group (first rebalance) is not idleness
                if until_idle is not None and now - last_data >= until_idle and not self.buffers:
                    self.wait_pending()
                    break
            self.flush_all()
            if self.dirty:
                self.write_report()
        finally:
            for executor in self._executors:
                executor.shutdown(wait=True)
            self.source.close()
            for sig, handler in old.items():
                signal.signal(sig, handler)
        self._maybe_stats(time.monotonic(), force=True)
        return 0

    def _maybe_stats(self, now: float, force: bool = False) -> None:
        if not self.settings.stats or (not force and now - self._stats_at < self.settings.stats_interval):
            return
        elapsed = max(now - self._stats_at, 1e-6)
        rate = (self.totals["records"] - self._stats_records) / elapsed
        self._stats_at, self._stats_records = now, self.totals["records"]
        lags = []
        for part in sorted(self.next_offset, key=lambda p: (len(p), p)):
            buffered = self.buffers.get(part)
            nxt = buffered.offsets[-1] + 1 if buffered and buffered.offsets else self.next_offset[part]
            lag = self.source.lag(part, nxt) if self.source.owns(part) else None
            if lag is not None:
                lags.append(f"p{part}={lag}")
        t = self.totals
        say(f"mcp-blackbox collect: {t['records']} records, {rate:,.0f}/s, {t['events']} stored, "
            f"{t['quarantined']} quarantined, {t['files']} files, lag {' '.join(lags) or '-'}")

    def summary(self) -> dict[str, Any]:
        """Counters for the final line."""
        return dict(self.totals)
