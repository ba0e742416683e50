"""Verify a store: walk the signed manifest chain and recompute every listed file.

Checks, naming every offender: manifests contiguous from 1 (a missing number = deleted), each in
canonical form (edited), its `seq` equal to its file name (renamed/reordered), its
`prev_manifest_sha256` equal to the previous file's hash (chain), its Ed25519 signature valid under a
trusted key; every file the manifests leave active exists (deleted), has the recorded SHA-256
(edited/swapped), row count, and — recomputed from its rows — Merkle root and event-time range;
no Parquet file in events/, quarantine/ or integrity/runs/ is unlisted (inserted); files retired by
compaction are gone; no source offset range was committed twice (duplicates).

Coverage is judged against what forensics reads, not only what the collector writes: every
published `events/**/*.parquet` file and `integrity/completeness.parquet` (rule `capture_gap`) — the
set `schema.layout.forensics_inputs` defines for both sides, temp-named `.tmp-*` files left out
and only noted — must be listed by a manifest that is validly
signed by a trusted key. Files are checked against the state built from valid manifests only, so a
manifest signed by an untrusted key can neither add a file nor retire one.

Trusted keys: `--public-key` files when given, else the keys pinned for this store outside it
(`keytrust.py`, like SSH known_hosts), else — first use — the store's own `keys/*.pub`, reported as
untrusted and pinned when the store verifies intact.
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

from mcp_blackbox.collector.ingest.gaps import COMPLETENESS, COMPLETENESS_KIND, completeness_schema
from mcp_blackbox.collector.ingest.hashing import event_hashes, merkle_root
from mcp_blackbox.collector.ingest.keytrust import add_pins, default_known_stores, load_pins, store_ids
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
from mcp_blackbox.schema.layout import forensics_inputs, stray_temp_files
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
    #: things to know that are not tampering (a key trusted on first use and pinned)
    notices: list[str] = field(default_factory=list)
    #: where the trusted keys came from: given (--public-key), pinned, or first-use
    key_trust: str = ""

    @property
    def intact(self) -> bool:
        """True when nothing was found."""
        return not self.problems


@dataclass
class _Trust:
    """The keys manifests are checked with, and what the store itself offers."""

    mode: str  # given | pinned | first-use
    keys: dict[str, Ed25519PublicKey]
    store_keys: dict[str, tuple[Ed25519PublicKey, str]]  # fingerprint -> key, STORE/keys file
    known: Path
    ids: list[str]
    used: dict[str, Ed25519PublicKey] = field(default_factory=dict)  # keys that verified a manifest

    def untrusted(self, fp: str) -> str:
        """Why a manifest signed by key `fp` is not accepted."""
        if fp not in self.store_keys:
            return f"signed by an unknown key {fp[:16]}"
        where = self.store_keys[fp][1]
        if self.mode == "given":
            return f"signed by an unknown key {fp[:16]} (untrusted: found only in {where}, not a --public-key)"
        pinned = ", ".join(sorted(k[:16] for k in self.keys)) or "none"
        return (f"signed by an unknown key {fp[:16]} (untrusted: found only in {where}; differs from the "
                f"key(s) pinned for this store in {self.known}: {pinned})")


def _store_keys(root: Path, problems: list[str]) -> dict[str, tuple[Ed25519PublicKey, str]]:
    out = {}
    for path in sorted((root / KEYS).glob("*.pub")):
        rel = path.relative_to(root).as_posix()
        try:
            key = load_public_key(path)
        except StoreError as exc:
            problems.append(f"{rel}: not a usable public key ({exc})")
            continue
        out[fingerprint(key)] = (key, rel)
    return out


def _trust(root: Path, given: list[Path], known: Path, problems: list[str]) -> _Trust:
    store_keys = _store_keys(root, problems)
    ids = store_ids(root)
    if given:
        keys = {}
        for path in given:
            key = load_public_key(path)
            keys[fingerprint(key)] = key
        return _Trust("given", keys, store_keys, known, ids)
    pinned = load_pins(known, ids)
    if pinned:
        return _Trust("pinned", pinned, store_keys, known, ids)
    return _Trust("first-use", {fp: k for fp, (k, _) in store_keys.items()}, store_keys, known, ids)


def _check_manifest(seq: int, data: bytes, prev_sha: str | None, prev_seq: int | None,
                    trust: _Trust, problems: list[str]) -> tuple[dict[str, Any] | None, bool]:
    """The manifest (None if unparseable) and whether it is validly signed by a trusted key."""
    name = f"{MANIFESTS}/{manifest_name(seq)}"
    try:
        doc = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        problems.append(f"{name}: edited (not valid JSON: {exc})")
        return None, False
    if not isinstance(doc, dict):
        problems.append(f"{name}: edited (not a manifest object)")
        return None, False
    if canonical_bytes(doc) != data:
        problems.append(f"{name}: edited (bytes are not the canonical form that was signed)")
    if doc.get("seq") != seq:
        problems.append(f"{name}: holds manifest seq {doc.get('seq')!r} (renamed or reordered)")
    if prev_seq is not None and doc.get("prev_manifest_sha256") != prev_sha:
        problems.append(f"{name}: hash chain broken: prev_manifest_sha256 does not match "
                        f"{MANIFESTS}/{manifest_name(prev_seq)} (edited, replaced or reordered)")
    if seq == 1 and doc.get("prev_manifest_sha256") is not None:
        problems.append(f"{name}: first manifest points to a predecessor (earlier manifests removed)")
    fp = str(doc.get("key_fingerprint"))
    key = trust.keys.get(fp)
    if key is None:
        problems.append(f"{name}: {trust.untrusted(fp)}")
        return doc, False
    if not verify_signature(doc, key):
        problems.append(f"{name}: edited (Ed25519 signature does not verify)")
        return doc, False
    trust.used[fp] = key
    return doc, True


def _covered_files(root: Path) -> set[str]:
    """The files the store's manifests must list: the collector's data files and everything forensics reads.

    "What forensics reads" is `schema.layout.forensics_inputs`, the definition forensics itself uses:
    published event files and the completeness report, never `.tmp-*` files (those are only noted).
    """
    return set(data_files(root)) | set(forensics_inputs(root))


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
    if entry.get("kind") == COMPLETENESS_KIND and not table.schema.equals(completeness_schema(), check_metadata=False):
        problems.append(f"{path}: schema differs from the completeness report's")
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
                 deep: bool = True, progress: Callable[[str], None] | None = None, *,
                 known_stores: Path | None = None, pin: bool = True) -> VerifyReport:
    """Verify everything; never raises for tampering (it is reported), only for an unusable store.

    Keys: `public_keys` when given (nothing is pinned; see `pin_keys`), else the keys pinned for this store
    in `known_stores` (default `keytrust.default_known_stores()`), else first use: the store's keys that
    sign its manifests, reported in `notices` and pinned (when `pin` and the store is intact).
    """
    if not (root / MANIFESTS).is_dir():
        msg = f"{root} is not a store (no {MANIFESTS}/ directory)"
        raise StoreError(msg)
    report = VerifyReport()
    problems = report.problems
    known = known_stores or default_known_stores()
    trust = _trust(root, public_keys or [], known, problems)
    report.key_trust = trust.mode
    seqs = []
    for child in sorted((root / MANIFESTS).iterdir()):
        match = _MANIFEST_RE.match(child.name)
        if match:
            seqs.append(int(match.group(1)))
        elif not child.name.startswith(TMP_PREFIX):
            problems.append(f"{MANIFESTS}/{child.name}: unexpected file among manifests (inserted)")
    state = StoreState(root)  # what the valid manifests say: the only files that count as evidence
    listed_by_invalid: dict[str, int] = {}
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
        doc, valid = _check_manifest(seq, data, prev_sha, prev_seq, trust, problems)
        if doc is not None and valid:
            for batch in doc.get("batches", []):
                first, last = int(batch["first_offset"]), int(batch["last_offset"])
                for a, b, s in ranges.get(coverage_key(batch), []):
                    if a <= last and first <= b:
                        problems.append(f"{MANIFESTS}/{manifest_name(seq)}: offsets {first}-{last} of "
                                        f"{batch['topic']}[{batch['partition']}] already stored by manifest {s} "
                                        "(duplicate)")
                ranges.setdefault(coverage_key(batch), []).append((first, last, seq))
            state.apply(seq, sha, doc)
        elif doc is not None:
            for entry in doc.get("add", []):
                if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                    listed_by_invalid[entry["path"]] = seq
        prev_seq, prev_sha = seq, sha
        expected = seq + 1
        report.manifests += 1
    report.head_seq, report.head_sha256 = (seqs[-1], hashes[seqs[-1]]) if seqs else (0, None)
    if expect_head and expect_head not in hashes.values():
        problems.append(f"expected manifest hash {expect_head} is not in the chain (truncated or rewritten)")
    on_disk = _covered_files(root)
    report.notices.extend(f"{path}: temp-named file (a write in progress or a crash leftover); forensics does "
                          "not read it" for path in stray_temp_files(root))
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
        elif path in listed_by_invalid:
            problems.append(f"{path}: inserted (listed only by {MANIFESTS}/{manifest_name(listed_by_invalid[path])}, "
                            "which is not validly signed by a trusted key)")
        elif path == COMPLETENESS:
            problems.append(f"{path}: not covered by any signed manifest (forensics reads it for capture gaps)")
        else:
            problems.append(f"{path}: inserted (not listed in any manifest)")
    _first_use(report, trust, pin)
    return report


def _first_use(report: VerifyReport, trust: _Trust, pin: bool) -> None:
    """Report the store's own keys trusted on first use, and pin them when the store is intact."""
    if trust.mode != "first-use" or not trust.used:
        return
    if pin and report.intact:
        add_pins(trust.known, trust.ids, list(trust.used.values()))
        outcome = f"pinned for this store in {trust.known}"
    elif pin:
        outcome = "not pinned: the store is not intact"
    else:
        outcome = "not pinned (--no-pin)"
    for fp in sorted(trust.used):
        report.notices.append(f"untrusted key {fp[:16]} from {trust.store_keys[fp][1]}, first use — {outcome}")


def pin_keys(root: Path, public_keys: list[Path], known_stores: Path | None = None) -> Path:
    """Pin the given public keys for this store (after a verify with them came out intact); returns the file."""
    known = known_stores or default_known_stores()
    ids = store_ids(root)
    have = load_pins(known, ids)
    add_pins(known, ids, [k for k in (load_public_key(p) for p in public_keys) if fingerprint(k) not in have])
    return known

