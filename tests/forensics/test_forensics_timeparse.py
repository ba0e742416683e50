"""`--since`/`--until` parsing: ISO 8601 (UTC when no zone) or ages, one clear error otherwise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from mcp_blackbox.forensics.timeparse import parse_time
from mcp_blackbox.schema.errors import UsageError

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
    ("2026-11-01T12:30:00Z", datetime(2026, 11, 1, 12, 30, tzinfo=UTC)),
    ("2026-11-01T12:30:00", datetime(2026, 11, 1, 12, 30, tzinfo=UTC)),  # no zone: UTC, not local time
    (" 2026-11-01T12:30:00Z ", datetime(2026, 11, 1, 12, 30, tzinfo=UTC)),
    ("2026-11-01T14:30:00+02:00", datetime(2026, 11, 1, 12, 30, tzinfo=UTC)),
])
def test_iso_times(text: str, expected: datetime) -> None:
    got = parse_time(text, now=NOW)
    assert got == expected and got is not None and got.tzinfo is not None


def test_an_explicit_zone_is_kept() -> None:
    got = parse_time("2026-11-01T14:30:00+02:00")
    assert got is not None and got.utcoffset() == timedelta(hours=2)
    assert got.tzinfo == timezone(timedelta(hours=2))


@pytest.mark.parametrize(("text", "delta"), [
    ("45s", timedelta(seconds=45)), ("30m", timedelta(minutes=30)), ("12h", timedelta(hours=12)),
    ("7d", timedelta(days=7)), ("2w", timedelta(weeks=2)), ("0d", timedelta(0)),
])
def test_ages_count_back_from_now(text: str, delta: timedelta) -> None:
    assert parse_time(text, now=NOW) == NOW - delta


def test_ages_default_to_the_current_time() -> None:
    before = datetime.now(UTC)
    got = parse_time("1h")
    after = datetime.now(UTC)
    assert got is not None and before - timedelta(hours=1) <= got <= after - timedelta(hours=1)


@pytest.mark.parametrize("text", [None, ""])
def test_nothing_means_no_bound(text: str | None) -> None:
    assert parse_time(text, now=NOW) is None


@pytest.mark.parametrize("text", ["yesterday", "7 days", "7y", "-3d", "2026-13-01", "12:00"])
def test_anything_else_is_one_clear_error(text: str) -> None:
    with pytest.raises(UsageError, match=r"cannot read time .*ISO 8601.*7d, 12h, 30m"):
        parse_time(text, now=NOW)
