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
import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from mcp_blackbox.schema.model import format_time, utc_now

# the key code lives in schema/signing.py (forensics signs case bundles); re-exported here
from mcp_blackbox.schema.signing import KEY_TYPE as KEY_TYPE
from mcp_blackbox.schema.signing import KNOWN_STORES_ENV as KNOWN_STORES_ENV
from mcp_blackbox.schema.signing import default_known_stores as default_known_stores
from mcp_blackbox.schema.signing import load_pins as load_pins
from mcp_blackbox.schema.signing import public_raw as public_raw
from mcp_blackbox.schema.signing import store_ids as store_ids


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
