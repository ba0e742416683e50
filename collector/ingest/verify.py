"""Verify a store: walk the signed manifest chain and recompute every listed file.

Checks, naming every offender: manifests contiguous from 1 (a missing number = deleted), each in
canonical form (edited), its `seq` equal to its file name (renamed/reordered), its
`prev_manifest_sha256` equal to the previous file's hash (chain), its Ed25519 signature valid under a
trusted key; every file the manifests leave active exists (deleted), has the recorded SHA-256
(edited/swapped), row count, and — recomputed from its rows — Merkle root and event-time range;
no Parquet file in events/, quarantine/ or integrity/runs/ is unlisted (inserted); files retired by
compaction are gone; no source offset range was committed twice (duplicates).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from mcp_blackbox.collector.ingest.hashing import event_hashes, merkle_root
from mcp_blackbox.collector.ingest.manifest import (
    StoreState,
    coverage_key,
    fingerprint,
    load_public_key,
    manifest_name,
    verify_signature,
)
from mcp_blackbox.collector.ingest.storefs import KEYS, MANIFESTS, TMP_PREFIX, data_files, sha256_file
from mcp_blackbox.schema.arrow import arrow_schema
from mcp_blackbox.schema.canonical import canonical_bytes
from mcp_blackbox.schema.errors import StoreError
from mcp_blackbox.schema.model import format_time

_MANIFEST_RE = re.compile(r"^(\d{12})\.json$")


@dataclass
class VerifyReport:
    """Outcome of a verification."""

    manifests: int = 0
    files: int = 0
    rows: int = 0
    head_seq: int = 0
    head_sha256: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        """True when nothing was found."""
        return not self.problems


def _trusted_keys(root: Path, given: list[Path]) -> dict[str, Ed25519PublicKey]:
    paths = given or sorted((root / KEYS).glob("*.pub"))
    keys = {}
    for path in paths:
        key = load_public_key(path)
        keys[fingerprint(key)] = key
    return keys


def _check_manifest(seq: int, data: bytes, prev_sha: str | None, prev_seq: int | None,
                    keys: dict[str, Ed25519PublicKey], problems: list[str]) -> dict[str, Any] | None:
    name = f"{MANIFESTS}/{manifest_name(seq)}"
    try:
        doc = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        problems.append(f"{name}: edited (not valid JSON: {exc})")
        return None
    if not isinstance(doc, dict):
        problems.append(f"{name}: edited (not a manifest object)")
        return None
    if canonical_bytes(doc) != data:
        problems.append(f"{name}: edited (bytes are not the canonical form that was signed)")
    if doc.get("seq") != seq:
        problems.append(f"{name}: holds manifest seq {doc.get('seq')!r} (renamed or reordered)")
    if prev_seq is not None and doc.get("prev_manifest_sha256") != prev_sha:
        problems.append(f"{name}: hash chain broken: prev_manifest_sha256 does not match "
                        f"{MANIFESTS}/{manifest_name(prev_seq)} (edited, replaced or reordered)")
    if seq == 1 and doc.get("prev_manifest_sha256") is not None:
        problems.append(f"{name}: first manifest points to a predecessor (earlier manifests removed)")
    key = keys.get(str(doc.get("key_fingerprint")))
    if key is None:
        problems.append(f"{name}: signed by an unknown key {str(doc.get('key_fingerprint'))[:16]}")
    elif not verify_signature(doc, key):
        problems.append(f"{name}: edited (Ed25519 signature does not verify)")
    return doc


def _check_content(root: Path, entry: dict[str, Any], problems: list[str]) -> int:
    """Recompute rows, Merkle root and time range of one file; returns its row count."""
    path = entry["path"]
    try:
        table = pq.read_table(root / path)
    except (OSError, ValueError) as exc:
        problems.append(f"{path}: unreadable Parquet ({exc})")
        return 0
    if table.num_rows != entry.get("rows"):
        problems.append(f"{path}: {table.num_rows} rows, manifest says {entry.get('rows')}")
    if entry.get("kind") == "events":
        if not table.schema.equals(arrow_schema(), check_metadata=False):
            problems.append(f"{path}: schema differs from the event contract")
            return int(table.num_rows)
        root_hash = merkle_root(event_hashes(table))
        if root_hash != entry.get("merkle_root"):
            problems.append(f"{path}: Merkle root of its events does not match the manifest")
        if table.num_rows:
            mm = pc.min_max(table.column("event_time"))
            lo, hi = format_time(mm["min"].as_py()), format_time(mm["max"].as_py())
            if (lo, hi) != (entry.get("min_event_time"), entry.get("max_event_time")):
                problems.append(f"{path}: event_time range differs from the manifest")
    return int(table.num_rows)


def verify_store(root: Path, public_keys: list[Path] | None = None, expect_head: str | None = None,
                 deep: bool = True, progress: Callable[[str], None] | None = None) -> VerifyReport:
    """Verify everything; never raises for tampering (it is reported), only for an unusable store."""
    if not (root / MANIFESTS).is_dir():
        msg = f"{root} is not a store (no {MANIFESTS}/ directory)"
        raise StoreError(msg)
    report = VerifyReport()
    problems = report.problems
    keys = _trusted_keys(root, public_keys or [])
    seqs = []
    for child in sorted((root / MANIFESTS).iterdir()):
        match = _MANIFEST_RE.match(child.name)
        if match:
            seqs.append(int(match.group(1)))
        elif not child.name.startswith(TMP_PREFIX):
            problems.append(f"{MANIFESTS}/{child.name}: unexpected file among manifests (inserted)")
    state = StoreState(root)
    hashes: dict[int, str] = {}
    prev_sha: str | None = None
    prev_seq: int | None = None
    expected = 1
    ranges: dict[tuple[str, str, str], list[tuple[int, int, int]]] = {}
    for seq in seqs:
        while expected < seq:
            problems.append(f"{MANIFESTS}/{manifest_name(expected)}: missing (deleted)")
            prev_seq, prev_sha = None, None
            expected += 1
        data = (root / MANIFESTS / manifest_name(seq)).read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        hashes[seq] = sha
        doc = _check_manifest(seq, data, prev_sha, prev_seq, keys, problems)
        if doc is not None:
            for batch in doc.get("batches", []):
                first, last = int(batch["first_offset"]), int(batch["last_offset"])
                for a, b, s in ranges.get(coverage_key(batch), []):
                    if a <= last and first <= b:
                        problems.append(f"{MANIFESTS}/{manifest_name(seq)}: offsets {first}-{last} of "
                                        f"{batch['topic']}[{batch['partition']}] already stored by manifest {s} "
                                        "(duplicate)")
                ranges.setdefault(coverage_key(batch), []).append((first, last, seq))
            state.apply(seq, sha, doc)
        prev_seq, prev_sha = seq, sha
        expected = seq + 1
        report.manifests += 1
    report.head_seq, report.head_sha256 = (seqs[-1], hashes[seqs[-1]]) if seqs else (0, None)
    if expect_head and expect_head not in hashes.values():
        problems.append(f"expected manifest hash {expect_head} is not in the chain (truncated or rewritten)")
    on_disk = set(data_files(root))
    active = sorted(state.active)
    last_note = time.monotonic()
    for index, path in enumerate(active, 1):
        entry = state.active[path]
        report.files += 1
        if path not in on_disk:
            problems.append(f"{path}: deleted (listed in the manifests, missing from the store)")
            continue
        if sha256_file(root / path) != entry.get("sha256"):
            problems.append(f"{path}: edited or replaced (SHA-256 differs from the manifest)")
            continue
        if deep:
            report.rows += _check_content(root, entry, problems) if entry.get("kind") != "runs" else 0
        if progress is not None and time.monotonic() - last_note > 1.0:
            progress(f"verify: {index}/{len(active)} files")
            last_note = time.monotonic()
    for path in sorted(on_disk - set(active)):
        if path in state.retired:
            problems.append(f"{path}: retired by compaction but still present (re-run `mcp-blackbox compact`)")
        else:
            problems.append(f"{path}: inserted (not listed in any manifest)")
    return report
