"""Parsing --since/--until: ISO 8601 timestamps (UTC if no zone) or relative ages like 7d, 12h, 30m."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from mcp_blackbox.schema.errors import UsageError

_AGE = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_time(text: str | None, *, now: datetime | None = None) -> datetime | None:
    """`2026-11-01`, `2026-11-01T12:00:00Z`, or `7d` (7 days ago)."""
    if not text:
        return None
    match = _AGE.match(text.strip())
    if match:
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        msg = f"cannot read time {text!r}: use ISO 8601 (2026-11-01T12:00:00Z) or an age like 7d, 12h, 30m"
        raise UsageError(msg) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
