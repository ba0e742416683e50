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

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from mcp_blackbox.collector.ingest.storefs import KEYS, MANIFESTS, create_exclusive, write_atomic
from mcp_blackbox.schema.canonical import canonical_bytes
from mcp_blackbox.schema.errors import StoreError
from mcp_blackbox.schema.model import format_time, utc_now

FORMAT = "mcp-blackbox/manifest-v1"
KEY_ENV = "MCP_BLACKBOX_SIGNING_KEY"


def manifest_name(seq: int) -> str:
    """File name of manifest `seq`."""
    return f"{seq:012d}.json"


def default_key_path() -> Path:
    """Where the signing key lives unless configured."""
    env = os.environ.get(KEY_ENV)
    if env:
        return Path(env).expanduser()
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "mcp-blackbox" / "keys" / "manifest-ed25519.pem"


def public_raw(key: Ed25519PublicKey) -> bytes:
    """Raw 32-byte public key."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(key: Ed25519PublicKey) -> str:
    """SHA-256 (hex) of the raw public key."""
    return hashlib.sha256(public_raw(key)).hexdigest()


def public_pem(key: Ed25519PublicKey) -> bytes:
    """The public key as PEM (what `STORE/keys/*.pub` holds)."""
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_public_key(path: Path) -> Ed25519PublicKey:
    """Read a PEM public key file."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        msg = f"cannot read public key {path}: {exc}"
        raise StoreError(msg) from exc
    if not isinstance(key, Ed25519PublicKey):
        msg = f"{path} is not an Ed25519 public key"
        raise StoreError(msg)
    return key


def _refuse_open_permissions(path: Path, mode: int) -> None:
    """Like ssh: a private key others can read (or write) is not a secret any more; refuse to sign with it."""
    if mode & 0o077:
        msg = (f"signing key {path} is accessible by group or others (mode {mode & 0o777:04o}); "
               f"refusing to use it: run `chmod 600 {path}` (or replace the key if others may have read it)")
        raise StoreError(msg)


def load_or_create_key(path: Path | None = None) -> Ed25519PrivateKey:
    """The signing key at `path` (default location if None), created with mode 0600 on first use.

    An existing key whose mode lets group or others read or write it is refused (StoreError).
    """
    path = path or default_key_path()
    if path.exists():
        try:
            fd = os.open(path, os.O_RDONLY)
            with os.fdopen(fd, "rb") as fh:
                _refuse_open_permissions(path, os.fstat(fh.fileno()).st_mode)
                data = fh.read()
            key = serialization.load_pem_private_key(data, password=None)
        except (OSError, ValueError, TypeError) as exc:
            msg = f"cannot read signing key {path}: {exc}"
            raise StoreError(msg) from exc
        if not isinstance(key, Ed25519PrivateKey):
            msg = f"{path} is not an Ed25519 private key"
            raise StoreError(msg)
        return key
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        os.fchmod(fh.fileno(), 0o600)  # whatever the umask
        fh.write(pem)
        fh.flush()
        os.fsync(fh.fileno())
    return key


def signed_body(doc: dict[str, Any]) -> bytes:
    """The bytes a manifest signature covers."""
    return canonical_bytes({k: v for k, v in doc.items() if k != "signature"})


def verify_signature(doc: dict[str, Any], key: Ed25519PublicKey) -> bool:
    """Whether `doc`'s signature is valid under `key`."""
    try:
        key.verify(base64.b64decode(str(doc.get("signature", ""))), signed_body(doc))
    except (InvalidSignature, ValueError):
        return False
    return True


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
