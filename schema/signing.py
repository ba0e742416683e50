"""Signing keys and their trust, shared by the collector (store manifests) and forensics (case bundles).

Moved here from `collector/ingest/manifest.py` and `keytrust.py` (which re-export every name) so that
forensics can sign and check a case bundle with the store's key without importing the collector. See
those modules for the key's location, its permissions rule and the known-stores pin file.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from mcp_blackbox.schema.canonical import canonical_bytes
from mcp_blackbox.schema.errors import StoreError
from mcp_blackbox.schema.layout import MANIFESTS

KEY_ENV = "MCP_BLACKBOX_SIGNING_KEY"
KNOWN_STORES_ENV = "MCP_BLACKBOX_KNOWN_STORES"
KEY_TYPE = "ed25519"


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


def default_known_stores() -> Path:
    """Where pinned store keys live unless configured."""
    env = os.environ.get(KNOWN_STORES_ENV)
    if env:
        return Path(env).expanduser()
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "mcp-blackbox" / "known_stores"


def store_ids(root: Path) -> list[str]:
    """The ids a pin for this store may be filed under (path, and genesis when manifest 1 exists)."""
    ids = [f"path:{quote(str(root.resolve()), safe='/')}"]
    first = root / MANIFESTS / manifest_name(1)
    if first.is_file():  # an empty store has no genesis manifest yet: its path is its only id
        ids.append(f"genesis:{hashlib.sha256(first.read_bytes()).hexdigest()}")
    return ids


def load_pins(known: Path, ids: list[str]) -> dict[str, Ed25519PublicKey]:
    """Keys pinned under any of `ids` (fingerprint → key); empty when none (first use)."""
    try:
        text = known.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"cannot read known stores file {known}: {exc}"
        raise StoreError(msg) from exc
    wanted = set(ids)
    keys: dict[str, Ed25519PublicKey] = {}
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if len(fields) < 3 or fields[1] != KEY_TYPE:
            msg = f"{known}:{number}: not `<store-id> {KEY_TYPE} <base64 key>`"
            raise StoreError(msg)
        if fields[0] not in wanted:
            continue
        try:
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(fields[2], validate=True))
        except (ValueError, binascii.Error) as exc:
            msg = f"{known}:{number}: bad {KEY_TYPE} key ({exc})"
            raise StoreError(msg) from exc
        keys[fingerprint(key)] = key
    return keys
