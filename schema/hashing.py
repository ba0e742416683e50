"""Keyed content hashes: HMAC-SHA-256 over canonical JSON with the deployment's hash key.

Payload hashes (`arguments_sha256`, `result_sha256`, `request_state_sha256`) and tool definition /
catalog hashes are taken before redaction so equal content matches across emitters; so is
`token_fingerprint` (`token_fingerprint()`), which groups the events of one bearer token. Plain SHA-256
would let anyone holding the store recover a redacted `{"password": "hunter2"}` by hashing guesses;
an HMAC with a key the store does not hold cannot be checked against a dictionary. Every emitter of
one deployment must use the same key (see `collector.emit.config.resolve_hash_key`) or hashes stop
matching across client, server and gateway. The collector's event hash (`prev_event_sha256`, the
integrity chain) is a different thing and stays plain SHA-256.

A hasher without a key gives plain SHA-256 (what `schema.canonical` helpers compute): it exists for
offline tools and sample data, never for emitters.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import Any, Final

from mcp_blackbox.schema.canonical import canonical_bytes, tool_definition_subset
from mcp_blackbox.schema.chunking import ChunkFingerprinter

MIN_KEY_BYTES: Final = 16
#: domain separation: a token fingerprint never equals a payload hash of the same bytes
_TOKEN_DOMAIN: Final = b"mcp-blackbox token fingerprint v1\x00"


class ContentHasher:
    """Hashes of JSON content, keyed (HMAC-SHA-256) when built with a key. Immutable, thread-safe."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes | None) -> None:
        if key is not None and len(key) < MIN_KEY_BYTES:
            msg = f"hash key must be at least {MIN_KEY_BYTES} bytes, got {len(key)}"
            raise ValueError(msg)
        self._key = key

    @property
    def keyed(self) -> bool:
        """Whether hashes are HMACs (False: plain SHA-256)."""
        return self._key is not None

    def digest(self, data: bytes) -> str:
        """Lowercase hex HMAC-SHA-256 (or SHA-256 without a key) of bytes."""
        if self._key is None:
            return hashlib.sha256(data).hexdigest()
        return hmac.new(self._key, data, hashlib.sha256).hexdigest()

    def chunk_fingerprinter(self) -> ChunkFingerprinter:
        """Fingerprints of payload chunks (`schema.chunking`), keyed from the same deployment key."""
        return ChunkFingerprinter(self._key)

    def json(self, value: Any) -> str:
        """Hash of a JSON value's canonical form."""
        return self.digest(canonical_bytes(value))

    def tool_definition(self, tool: Mapping[str, Any]) -> str:
        """Hash of the parts of a tool definition that decide what the model is told."""
        return self.json(tool_definition_subset(tool))

    def tool_catalog(self, tools: Iterable[Mapping[str, Any]]) -> str:
        """Order-independent catalog hash: the hash of the sorted tool definition hashes."""
        return self.json(sorted(self.tool_definition(tool) for tool in tools))

    def token_fingerprint(self, token: str) -> str:
        """`token_fingerprint` of a bearer token: groups one token's events, keyed so a dictionary of tokens
        (or a leaked token list) cannot be matched against the store without the deployment key."""
        return self.digest(_TOKEN_DOMAIN + token.encode("utf-8"))


PLAIN: Final = ContentHasher(None)
