"""Identifiers: UUIDv7 event ids (RFC 9562) that sort by creation time."""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def uuid7(now_ns: int | None = None) -> uuid.UUID:
    """A UUIDv7: 48-bit Unix milliseconds, then a 12-bit counter and 62 random bits.

    Ids minted by one process are strictly increasing even within one millisecond (the counter
    is the RFC 9562 §6.2 "fixed bit-length dedicated counter", method 1).
    """
    global _last_ms, _counter
    ms = (time.time_ns() if now_ns is None else now_ns) // 1_000_000
    with _lock:
        if ms <= _last_ms:
            _counter += 1
            if _counter > 0xFFF:  # counter exhausted within one millisecond: borrow the next one
                _last_ms += 1
                _counter = 0
            ms = _last_ms
        else:
            _last_ms = ms
            _counter = 0
        counter = _counter
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= counter << 64
    value |= 0b10 << 62
    value |= rand
    return uuid.UUID(int=value)


def uuid7_str() -> str:
    """A UUIDv7 in its canonical text form."""
    return str(uuid7())


def is_uuid7(text: str) -> bool:
    """Whether `text` is a canonical lowercase UUID of version 7 and the RFC variant."""
    try:
        parsed = uuid.UUID(text)
    except ValueError:
        return False
    return parsed.version == 7 and parsed.variant == uuid.RFC_4122 and str(parsed) == text
