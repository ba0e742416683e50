"""Which manifest keys `verify` trusts: keys pinned outside the store on first use (like SSH known_hosts).

A store holds copies of its signing keys' public halves in `STORE/keys/*.pub`, but whoever can edit the
store can put their own key there, so a key found only in the store is never trusted by itself. The
trusted keys of a store are either given (`verify --public-key`) or pinned in the *known stores* file,
outside the store: `--known-stores PATH`, else `$MCP_BLACKBOX_KNOWN_STORES`, else
`$XDG_CONFIG_HOME/mcp-blackbox/known_stores` (default `~/.config/...`).

Format: one pin per line, `<store-id> ed25519 <base64 raw public key> [comment]`, `#` starts a comment
line. A store has two ids, and a pin under either applies:

* `path:<absolute store path, percent-encoded>` — where the store is; a store rewritten from scratch in
  the same place (a new first manifest) is still checked against the pinned keys;
* `genesis:<SHA-256 of manifests/000000000001.json>` — which store it is; a copy moved elsewhere is still
  checked against the keys pinned for the original.

First use: when no pin matches either id (and no `--public-key` is given), `verify` checks the manifests
with the store's own keys, reports each key that signs a manifest as untrusted, first use, and pins it
under both ids — only when the store verifies intact, so a store found tampered pins nothing. From
then on a manifest signed by any other key is reported as signed by an untrusted key, even when that
key sits in `STORE/keys/`. A store that legitimately gains a signing key (another collector) is
accepted with `verify --public-key OLD --public-key NEW --pin`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from pathlib import Path
from urllib.parse import quote

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from mcp_blackbox.collector.ingest.manifest import fingerprint, manifest_name, public_raw
from mcp_blackbox.collector.ingest.storefs import MANIFESTS
from mcp_blackbox.schema.errors import StoreError
from mcp_blackbox.schema.model import format_time, utc_now

KNOWN_STORES_ENV = "MCP_BLACKBOX_KNOWN_STORES"
KEY_TYPE = "ed25519"


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


def add_pins(known: Path, ids: list[str], keys: list[Ed25519PublicKey]) -> None:
    """Append pins of `keys` under every id (file and directory private to the user)."""
    if not keys:
        return
    known.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    when = format_time(utc_now())
    lines = "".join(f"{sid} {KEY_TYPE} {base64.b64encode(public_raw(k)).decode()} pinned {when}\n"
                    for sid in ids for k in keys)
    fd = os.open(known, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        fh.write(lines)
        fh.flush()
        os.fsync(fh.fileno())
