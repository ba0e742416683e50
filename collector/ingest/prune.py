"""`collect --prune`: delete spool segments once the store's signed manifests cover every record in them.

A spool segment (`SPOOL/<writer>/<first:020d>.jsonl`, `collector/spool.py`) holds records
`first … first + lines - 1` of its writer (a sealed segment's torn tail is a record too). It is deleted
only when

* a later segment exists in the same writer directory: a writer's last segment is never deleted, even
  when sealed and stored, because a writer restarting under the same id numbers its records after it
  (deleting it would reuse offsets the store already covers, and those new records would be skipped);
* every one of its offsets lies in a batch of a manifest of the store whose Ed25519 signature verifies
  under the collector's own key and whose `prev_manifest_sha256` chains to the manifest before it (a
  manifest that does not verify stops pruning: nothing is deleted on the word of an unverified file).

Deleting is by `unlink`, segment first, then its `.sealed` marker.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from mcp_blackbox.collector.ingest.manifest import coverage_key, manifest_name, verify_signature
from mcp_blackbox.collector.ingest.storefs import MANIFESTS
from mcp_blackbox.collector.spool import list_segments, list_writers

log = logging.getLogger(__name__)


@dataclass
class PruneReport:
    """What pruning did."""

    deleted: list[Path] = field(default_factory=list)
    kept: int = 0
    bytes_freed: int = 0
    problems: list[str] = field(default_factory=list)


def signed_coverage(store: Path, key: Ed25519PublicKey) -> tuple[dict[tuple[str, str, str], list[tuple[int, int]]],
                                                                    list[str]]:
    """Offset ranges per (source, topic, partition) of the store's manifests that verify, in chain order;
    stops at the first manifest that does not (returned as a problem)."""
    covered: dict[tuple[str, str, str], list[tuple[int, int]]] = {}
    prev: str | None = None
    seq = 1
    while True:
        path = store / MANIFESTS / manifest_name(seq)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return covered, []
        try:
            doc: dict[str, Any] = json.loads(data)
        except json.JSONDecodeError:
            return covered, [f"{path}: not JSON; pruning stops before it"]
        if not verify_signature(doc, key):
            return covered, [f"{path}: signature does not verify under the collector's key; pruning stops before it"]
        if doc.get("prev_manifest_sha256") != prev:
            return covered, [f"{path}: does not chain to manifest {seq - 1}; pruning stops before it"]
        for batch in doc.get("batches", []):
            covered.setdefault(coverage_key(batch), []).append((int(batch["first_offset"]), int(batch["last_offset"])))
        prev = hashlib.sha256(data).hexdigest()
        seq += 1


def _records(path: Path) -> int:
    data = path.read_bytes()
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def _covers(ranges: list[tuple[int, int]], first: int, last: int) -> bool:
    """Whether the union of `ranges` covers every offset of [first, last]."""
    at = first
    for a, b in sorted(ranges):
        if a > at:
            break
        at = max(at, b + 1)
        if at > last:
            return True
    return at > last


def prune_spool(spool: Path, store: Path, key: Ed25519PublicKey, *, source: str = "spool") -> PruneReport:
    """Delete the segments of `spool` that the store's verified manifests cover (see the module doc)."""
    report = PruneReport()
    covered, report.problems = signed_coverage(store, key)
    topic = str(spool.resolve())
    for writer in list_writers(spool):
        segments = list_segments(spool / writer)
        ranges = covered.get((source, topic, writer), [])
        for first, path in segments[:-1]:  # never a writer's last segment
            count = _records(path)
            if count and not _covers(ranges, first, first + count - 1):
                report.kept += 1
                continue
            size = path.stat().st_size
            path.unlink()
            path.with_name(path.name + ".sealed").unlink(missing_ok=True)
            report.deleted.append(path)
            report.bytes_freed += size
        report.kept += min(len(segments), 1)
    log.info("prune: %d spool segments deleted (%d bytes), %d kept", len(report.deleted), report.bytes_freed,
             report.kept)
    return report
