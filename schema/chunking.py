"""Content chunks: the one definition emitters (fingerprints) and forensics (data flow) share.

A payload is cut into *units*: every string leaf (JSON-in-text unpacked), split at line breaks and
sentence punctuation into chunks of at least `MIN_CHUNK` characters that carry some entropy (not bare
numbers, not redaction markers), plus the distinctive tokens inside them (e-mail addresses, keys,
URLs, numbers with separators: what an agent copies out of a longer text on its own).

Emitters fingerprint the units of the payload *before* redaction (`chunk_fingerprints`, keyed with the
deployment's hash key), so a secret that redaction removed from the store still links the result it
came from to the call that sent it on; forensics intersects those fingerprints and falls back to
matching `chunks` of the stored text for events that carry none.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from typing import Any, Final

MIN_CHUNK: Final = 12
MIN_TOKEN: Final = 10
#: Most fingerprints one payload keeps (first units first): bounds event size and emitter cost.
MAX_FINGERPRINTS: Final = 128
FINGERPRINT_HEX: Final = 16

_SPLIT = re.compile(r"[\n\r\t]+|(?<=[.!?;])\s+|\s{2,}|\",\"|\\n")
MARKER_RE: Final = re.compile(r"\[REDACTED:[a-z_]+\]")
_LONG_TOKEN = re.compile(r"[^\s,;()<>\"'`\[\]{}|]{10,}")  # MIN_TOKEN
_TOKEN_MARK = re.compile(r"[@/0-9]")
_STRIP = " \"'{}[]:,"


def leaves(value: Any) -> Iterator[str]:
    """Every string leaf of a JSON value; a string holding a JSON object/array is unpacked."""
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in "[{":
            try:
                inner = json.loads(text)
            except ValueError:
                inner = None
            if inner is not None and not isinstance(inner, str):
                yield from leaves(inner)
                return
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from leaves(item)


def _distinct(piece: str, minimum: int) -> bool:
    return len(piece) >= minimum and len(set(piece)) >= 5 and not piece.replace(".", "").replace("-", "").isdigit()


def leaf_chunks(leaf: str) -> set[str]:
    """The chunks of one string leaf (redaction markers cut out)."""
    out: set[str] = set()
    for piece in _SPLIT.split(MARKER_RE.sub(" ", leaf) if "[REDACTED:" in leaf else leaf):
        piece = piece.strip(_STRIP)
        if _distinct(piece, MIN_CHUNK):
            out.add(piece)
    return out


def leaf_tokens(leaf: str) -> set[str]:
    """Distinctive tokens of one leaf: long enough, with a digit, '@' or '/' (addresses, keys, numbers, URLs)."""
    out: set[str] = set()
    for token in _LONG_TOKEN.findall(leaf):  # only tokens long enough are materialised (the cost is per token)
        token = token.strip(".:!?")
        if len(token) >= MIN_TOKEN and _TOKEN_MARK.search(token) and not token.startswith("REDACTED:") \
                and _distinct(token, MIN_TOKEN):
            out.add(token)
    return out


def chunks(value: Any) -> set[str]:
    """Distinctive chunks of a JSON value (a parsed payload, or a string that may hold JSON)."""
    out: set[str] = set()
    for leaf in leaves(value):
        out |= leaf_chunks(leaf)
    return out


def units(value: Any) -> set[str]:
    """What gets fingerprinted: chunks plus the distinctive tokens of every leaf."""
    out: set[str] = set()
    for leaf in leaves(value):
        out |= leaf_chunks(leaf)
        out |= leaf_tokens(leaf)
    return out


def _pairs(original: Any, redacted: Any) -> Iterator[tuple[str, str | None]]:
    """String leaves of the original with the same place in the redacted copy (None: gone or replaced)."""
    if isinstance(original, str):
        text = original.strip()
        if text[:1] in "[{":
            try:
                inner = json.loads(text)
            except ValueError:
                inner = None
            if inner is not None and not isinstance(inner, str):
                other: Any = None
                if isinstance(redacted, str) and redacted.strip()[:1] in "[{":
                    try:
                        other = json.loads(redacted)
                    except ValueError:
                        other = None
                yield from _pairs(inner, other if other is not None else redacted)
                return
        yield original, redacted if isinstance(redacted, str) else None
    elif isinstance(original, dict):
        for key, item in original.items():
            yield from _pairs(item, redacted.get(key) if isinstance(redacted, dict) else redacted)
    elif isinstance(original, list):
        for i, item in enumerate(original):
            yield from _pairs(item, redacted[i] if isinstance(redacted, list) and i < len(redacted) else redacted)


class ChunkFingerprinter:
    """Keyed fingerprints of payload units: `hex` or `hex!reason` for a unit that redaction removed.

    BLAKE2b keyed with a key derived from the deployment's hash key (a MAC like the payload hashes,
    several times cheaper than HMAC per unit); 64-bit fingerprints, at most `MAX_FINGERPRINTS` a payload.
    Without a key (offline tools, samples) the fingerprints are unkeyed BLAKE2b.
    """

    __slots__ = ("_key",)

    def __init__(self, key: bytes | None) -> None:
        self._key = b"" if key is None else hmac.new(key, b"mcp-blackbox chunk fingerprint v1", hashlib.sha256).digest()

    def one(self, unit: str) -> str:
        """The fingerprint of one unit."""
        return hashlib.blake2b(unit.encode("utf-8", "surrogatepass"), digest_size=FINGERPRINT_HEX // 2,
                               key=self._key).hexdigest()

    def payload(self, original: Any, redacted: Any = None) -> list[str]:
        """Fingerprints of a payload's units before redaction, labelled where the redacted copy lost them."""
        labels: dict[str, str] = {}
        for leaf, kept in _pairs(original, original if redacted is None else redacted):
            if len(leaf) < MIN_TOKEN:
                continue
            found = leaf_chunks(leaf) | leaf_tokens(leaf)
            if not found:
                continue
            reasons = ""
            if kept is not None and kept != leaf:
                reasons = "+".join(sorted(set(MARKER_RE.findall(kept))))[:80]
                reasons = reasons.replace("[REDACTED:", "").replace("]", "") or "redacted"
            elif kept is None and redacted is not None:
                reasons = "redacted"
            for unit in sorted(found, key=len, reverse=True):
                label = reasons if reasons and (kept is None or unit not in kept) else ""
                if unit not in labels or (label and not labels[unit]):
                    labels[unit] = label
            if len(labels) >= MAX_FINGERPRINTS:
                break
        out = []
        for unit, label in list(labels.items())[:MAX_FINGERPRINTS]:
            fp = self.one(unit)
            out.append(f"{fp}!{label}" if label else fp)
        return out


def split_fingerprint(entry: str) -> tuple[str, str]:
    """(fingerprint, redaction reason or '') of one `content_fingerprints` entry."""
    fp, _sep, label = entry.partition("!")
    return fp, label
