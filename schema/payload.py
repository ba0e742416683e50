"""Payload capture: hash before redaction, then redact, then cap the size.

`capture_payload` is what every emitter calls for arguments and results, so the three payload modes
(full, hashes, none) behave the same everywhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

from mcp_blackbox.schema.canonical import canonical_bytes
from mcp_blackbox.schema.chunking import ChunkFingerprinter
from mcp_blackbox.schema.enums import PayloadMode
from mcp_blackbox.schema.hashing import PLAIN, ContentHasher
from mcp_blackbox.schema.redaction import Redactor

DEFAULT_MAX_PAYLOAD_BYTES: Final = 64 * 1024
_MAX_STRING_CHARS: Final = 4096


@dataclass
class CapturedPayload:
    """What an event keeps of one payload."""

    json_text: str | None
    sha256: str | None
    size_bytes: int | None
    redacted_paths: list[str] = field(default_factory=list)
    truncated: bool = False
    fingerprints: list[str] | None = None


def _shorten_strings(value: Any, limit: int) -> Any:
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + f"…[truncated {len(value) - limit} chars]"
    if isinstance(value, dict):
        return {k: _shorten_strings(v, limit) for k, v in value.items()}
    if isinstance(value, list):
        return [_shorten_strings(v, limit) for v in value]
    return value


def _dumps(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from hostile JSON: keep them as \u escapes
        text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text


def capture_payload(
    value: Any,
    *,
    redactor: Redactor,
    mode: PayloadMode = PayloadMode.FULL,
    max_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
    root: str = "$",
    hasher: ContentHasher = PLAIN,
    fingerprinter: ChunkFingerprinter | None = None,
) -> CapturedPayload:
    """Hash `value` canonically (before redaction), then keep it redacted and size-capped.

    Emitters pass their deployment's keyed `hasher` (HMAC-SHA-256); the plain default is for
    offline tools only. With a `fingerprinter`, the chunks of the payload are fingerprinted before
    redaction too (`schema.chunking`), labelled where redaction removed them.

    A payload over `max_bytes` is kept as valid JSON: long strings are shortened first, and if it is
    still too big, a `{"$truncated": …}` object with the original size and a prefix replaces it.
    """
    if mode is PayloadMode.NONE or value is None:
        return CapturedPayload(None, None, None)
    raw = canonical_bytes(value)
    digest = hasher.digest(raw)
    if mode is PayloadMode.HASHES:
        fps = fingerprinter.payload(value) if fingerprinter is not None else None
        return CapturedPayload(None, digest, len(raw), fingerprints=fps or None)
    result = redactor.redact(value, root)
    fps = fingerprinter.payload(value, result.value if result.paths else None) if fingerprinter is not None else None
    text = _dumps(result.value)
    truncated = False
    if len(text.encode("utf-8")) > max_bytes:
        truncated = True
        text = _dumps(_shorten_strings(result.value, min(_MAX_STRING_CHARS, max_bytes // 4)))
        if len(text.encode("utf-8")) > max_bytes:
            prefix = text[: max(0, max_bytes // 2)]
            text = _dumps({"$truncated": {"original_bytes": len(raw), "prefix": prefix}})
    return CapturedPayload(text, digest, len(raw), result.paths, truncated, fps or None)
