"""Manifests: the commit point of the store, hash-chained and signed with Ed25519.

`STORE/manifests/<seq:012d>.json` (seq from 1) is canonical JSON (the file's bytes are exactly
`canonical_bytes(document)`) with:
`format`, `seq`, `created_at`, `writer` (kind collect|compact, host, pid, group), `prev_manifest_sha256`
(SHA-256 of the previous manifest file's bytes; null for seq 1), `batches` (source offset ranges this
manifest makes durable: source, topic, partition, first_offset, last_offset, records, events,
quarantined), `add` (files: path, kind events|quarantine|runs, sha256, bytes, rows, source, topic,
partition, first_offset, last_offset, min/max_event_time, merkle_root of the file's event hashes,
`replaces` for compacted files), `remove` (files retired by compaction: path, sha256),
`key_fingerprint` (SHA-256 of the raw Ed25519 public key) and `signature` (base64 Ed25519 over the
canonical JSON of every other field).

A manifest is created with put-if-absent (hard link), so collectors and compaction sharing a store
serialise their commits; a writer re-reads newer manifests and re-checks for conflicting offset
coverage before each attempt (optimistic concurrency). Data files that no manifest lists are not part
of the store (crash leftovers) and are removed by the writer that owns their partition.

Signing key: `--key PATH`, else `MCP_BLACKBOX_SIGNING_KEY`, else
`$XDG_CONFIG_HOME/mcp-blackbox/keys/manifest-ed25519.pem` (default `~/.config/...`), created on first
use with mode 0600 — outside the store, so whoever can edit the store cannot re-sign it. A key that
group or others can read or write is refused, as ssh refuses one. The public key is copied to
`STORE/keys/<fingerprint>.pub`, but `verify` does not trust a key because it is there: it trusts keys
given with `--public-key` or pinned outside the store on first use (`keytrust.py`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mcp_blackbox.collector.ingest.storefs import KEYS, MANIFESTS, create_exclusive, write_atomic
from mcp_blackbox.schema.canonical import canonical_bytes
from mcp_blackbox.schema.errors import StoreError
from mcp_blackbox.schema.model import format_time, utc_now

# the key code lives in schema/signing.py (forensics signs case bundles); re-exported here
from mcp_blackbox.schema.signing import KEY_ENV as KEY_ENV
from mcp_blackbox.schema.signing import default_key_path as default_key_path
from mcp_blackbox.schema.signing import fingerprint as fingerprint
from mcp_blackbox.schema.signing import load_or_create_key as load_or_create_key
from mcp_blackbox.schema.signing import load_public_key as load_public_key
from mcp_blackbox.schema.signing import manifest_name as manifest_name
from mcp_blackbox.schema.signing import public_pem as public_pem
from mcp_blackbox.schema.signing import public_raw as public_raw
from mcp_blackbox.schema.signing import signed_body as signed_body
from mcp_blackbox.schema.signing import verify_signature as verify_signature

FORMAT = "mcp-blackbox/manifest-v1"


def coverage_key(entry: dict[str, Any]) -> tuple[str, str, str]:
    """(source, topic, partition) of a batch or file entry."""
    return (str(entry["source"]), str(entry["topic"]), str(entry["partition"]))


@dataclass
class StoreState:
    """What the committed manifests say: active files, retired files, covered offsets, chain head."""

    root: Path
    head_seq: int = 0
    head_sha256: str | None = None
    active: dict[str, dict[str, Any]] = field(default_factory=dict)
    retired: dict[str, str] = field(default_factory=dict)
    covered: dict[tuple[str, str, str], list[tuple[int, int]]] = field(default_factory=dict)

    def apply(self, seq: int, sha: str, doc: dict[str, Any]) -> None:
        """Fold one manifest into the state."""
        for entry in doc.get("remove", []):
            self.active.pop(entry["path"], None)
            self.retired[entry["path"]] = entry["sha256"]
        for entry in doc.get("add", []):
            self.active[entry["path"]] = entry
            self.retired.pop(entry["path"], None)
        for batch in doc.get("batches", []):
            self.covered.setdefault(coverage_key(batch), []).append(
                (int(batch["first_offset"]), int(batch["last_offset"])))
        self.head_seq, self.head_sha256 = seq, sha

    def refresh(self) -> None:
        """Read manifests newer than the head (written by this or another process)."""
        directory = self.root / MANIFESTS
        while True:
            path = directory / manifest_name(self.head_seq + 1)
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                return
            try:
                doc = json.loads(data)
            except json.JSONDecodeError as exc:
                msg = f"manifest {path} is not valid JSON ({exc.msg}); run `mcp-blackbox verify`"
                raise StoreError(msg) from exc
            self.apply(self.head_seq + 1, hashlib.sha256(data).hexdigest(), doc)

    def next_offset(self, key: tuple[str, str, str]) -> int | None:
        """First offset not yet covered for a partition (None when nothing is)."""
        ranges = self.covered.get(key)
        if not ranges:
            return None
        return max(last for _, last in ranges) + 1

    def overlaps(self, key: tuple[str, str, str], first: int, last: int) -> bool:
        """Whether any committed batch already covers part of [first, last]."""
        return any(a <= last and first <= b for a, b in self.covered.get(key, []))


class ManifestWriter:
    """Signs and commits manifests for one process."""

    def __init__(self, root: Path, key: Ed25519PrivateKey, writer: dict[str, Any]) -> None:
        self.root = root
        self.key = key
        self.public = key.public_key()
        self.fingerprint = fingerprint(self.public)
        self.writer = {"host": socket.gethostname(), "pid": os.getpid(), **writer}
        self.state = StoreState(root)
        self._lock = threading.Lock()  # flush workers of one collector commit through one writer
        (root / MANIFESTS).mkdir(parents=True, exist_ok=True)
        pub = root / KEYS / f"{self.fingerprint[:16]}.pub"
        if not pub.exists():
            pub.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(pub, public_pem(self.public))
        self.state.refresh()
        from mcp_blackbox.collector.ingest.gaps import recover_completeness  # local: gaps uses this module

        recover_completeness(root, self)

    def active_entry(self, path: str) -> dict[str, Any] | None:
        """The committed entry of `path` now (re-reading newer manifests), None when not active."""
        with self._lock:
            self.state.refresh()
            return self.state.active.get(path)

    def commit(self, *, batches: list[dict[str, Any]], add: list[dict[str, Any]],
               remove: list[dict[str, Any]] | None = None,
               still_valid: Callable[[StoreState], bool] | None = None) -> int | None:
        """Commit one manifest; returns its seq, or None when `still_valid` says another writer won."""
        with self._lock:
            return self._commit(batches, add, remove, still_valid)

    def _commit(self, batches: list[dict[str, Any]], add: list[dict[str, Any]], remove: list[dict[str, Any]] | None,
                still_valid: Callable[[StoreState], bool] | None) -> int | None:
        while True:
            self.state.refresh()
            if still_valid is not None and not still_valid(self.state):
                return None
            seq = self.state.head_seq + 1
            doc: dict[str, Any] = {
                "format": FORMAT, "seq": seq, "created_at": format_time(utc_now()), "writer": self.writer,
                "prev_manifest_sha256": self.state.head_sha256, "batches": batches, "add": add,
                "remove": remove or [], "key_fingerprint": self.fingerprint,
            }
            doc["signature"] = base64.b64encode(self.key.sign(signed_body(doc))).decode()
            data = canonical_bytes(doc)
            if create_exclusive(self.root / MANIFESTS / manifest_name(seq), data):
                self.state.apply(seq, hashlib.sha256(data).hexdigest(), doc)
                return seq
