"""Issue 14, collector input side: records built to break the collector are stored or quarantined, never fatal.

Each reproduction of the issue is a test here: the 1,000-level poison pill (spool and Kafka, and a
restart after it), coerced types, non-finite numbers, implausible event times, parser limits, and the
`null` record that crashed pyarrow's JSON reader (SIGSEGV) when it opened a block.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ingest_eventgen import EventFactory
from ingest_helpers import cli_command, event_ids, produce, quarantine
from ingest_store import collect_spool, spool_values

from mcp_blackbox.collector.ingest.decode import Decoder
from mcp_blackbox.schema.canonical import canonical_bytes
from mcp_blackbox.schema.model import format_time, utc_now

DEEP = b"[" * 1000 + b"]" * 1000


def _events(n: int, seed: int = 140) -> list[dict[str, object]]:
    return [json.loads(v) for _, v in EventFactory(seed=seed, emitters=1).wire(n)]


def _with_raw(ev: dict[str, object], key: str, raw: bytes) -> bytes:
    rest = canonical_bytes({k: v for k, v in ev.items() if k != key})
    return rest[:-1] + b',"' + key.encode() + b'":' + raw + b"}"


def _decode_both(value: bytes, ingest_time: datetime | None = None) -> list[tuple[int, list[str]]]:
    """(stored rows, reasons) from the canonical fast path and from the columnar path without it."""
    now = ingest_time or utc_now()
    out = []
    for canonical in (True, False):
        result = Decoder(canonical=canonical).decode([value], now)
        out.append((result.table.num_rows, [b.error for b in result.bad]))
    return out


# -- poison pill ------------------------------------------------------------------------------------
def test_deeply_nested_spool_record_does_not_stop_collect(tmp_path: Path, signing_key: Path) -> None:
    """Issue 14: one record nested 1,000 levels raised RecursionError in validate_row; collect died on
    every restart, so the writer's later events were never stored."""
    events = _events(3)
    values = [canonical_bytes(events[0]), DEEP, canonical_bytes(events[1]),
              _with_raw(events[2], "tool_name", DEEP)]
    later = canonical_bytes(_events(4)[3])
    spool = spool_values(tmp_path / "spool", {"w-poison": [*values, later]})
    store = tmp_path / "store"
    for _ in range(2):  # the restart must not die on the stored poison pill either
        collect_spool(spool, store, signing_key)
        assert sorted(event_ids(store)) == sorted(str(e["event_id"]) for e in [events[0], events[1],
                                                                                  json.loads(later)])
        q = quarantine(store)
        assert q is not None and q.num_rows == 2
        assert q.column("offset").to_pylist() == [1, 3]
        assert set(q.column("partition").to_pylist()) == {"w-poison"}
        assert all("nested deeper" in e for e in q.column("error").to_pylist())
        assert q.column("raw").to_pylist() == [values[1], values[3]]


def test_null_record_opening_a_block_does_not_crash_the_process() -> None:
    """A `null` record first in a pyarrow block crashed pyarrow 26's JSON reader with SIGSEGV: the
    collector process died (and again on restart). Run in a child so a crash is a failure, not the end."""
    code = textwrap.dedent("""
        import json, sys
        sys.path.insert(0, sys.argv[1])
        from ingest_eventgen import EventFactory
        from mcp_blackbox.collector.ingest.decode import Decoder
        from mcp_blackbox.schema.model import utc_now
        # Not canonical (spaces), so they skip the DuckDB fast path and go to pyarrow, `null` first.
        valid = [json.dumps(json.loads(v)).encode() for _, v in EventFactory(seed=3, emitters=2).wire(40)]
        for values in ([b"null", *valid], [*valid[:20], b"null", *valid[20:]], [b" null", *valid]):
            result = Decoder().decode(values, utc_now())
            assert result.table.num_rows == 40, result.table.num_rows
            assert [b.error for b in result.bad] == ["event must be a JSON object, not NoneType"], result.bad
        print("ok")
    """)
    proc = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent)], capture_output=True,
                          text=True, check=False, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", (proc.returncode, proc.stderr[-2000:])


@pytest.mark.kafka
def test_poison_pills_on_kafka_do_not_stop_collect(kafka_bootstrap: str, make_topic: Callable[..., str],
                                                   tmp_path: Path, signing_key: Path) -> None:
    topic = make_topic(partitions=1)
    events = _events(6, seed=141)
    pills = [DEEP, b"null", _with_raw(events[5], "duration_ms", b"Infinity"), b'{"a":' * 1000 + b"1" + b"}" * 1000]
    records: list[tuple[bytes | None, bytes]] = [(None, canonical_bytes(events[0])), *((b"k", p) for p in pills),
                                                 *((None, canonical_bytes(e)) for e in events[1:5])]
    produce(kafka_bootstrap, topic, records)
    store = tmp_path / "store"
    for _ in range(2):
        proc = subprocess.run([*cli_command(), "collect", "--source", f"kafka://{kafka_bootstrap}/{topic}",
                               "--store", str(store), "--client", "kafka-python", "--until-idle", "3",
                               "--no-stats"], capture_output=True, text=True, check=False, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert sorted(event_ids(store)) == sorted(str(e["event_id"]) for e in events[:5])
        q = quarantine(store)
        assert q is not None and sorted(q.column("offset").to_pylist()) == [1, 2, 3, 4]
        assert set(q.column("kafka_key").to_pylist()) == {b"k"}


# -- strict types, non-finite numbers, parser limits -----------------------------------------------
@pytest.mark.parametrize(("field", "raw", "needle"), [
    ("sequence", b'"5"', "sequence: Input should be a valid integer"),
    ("is_error", b'"yes"', "is_error: Input should be a valid boolean"),
    ("schema_version", b"true", "schema_version: unknown schema version True"),
    ("schema_version", b"1.0", "schema_version: unknown schema version 1.0"),
    ("redacted", b"0", "redacted: Input should be a valid boolean"),
    ("process_pid", b'"12"', "process_pid: Input should be a valid integer"),
    ("sequence", b"5.0", "sequence: Input should be a valid integer"),
    ("duration_ms", b'"1.5"', "duration_ms: Input should be a valid number"),
    ("event_time", b"1764547200", "event_time: Input should be a valid datetime"),
])
def test_wire_types_are_not_coerced(field: str, raw: bytes, needle: str) -> None:
    """Issue 14: "sequence": "5", "is_error": "yes", schema_version true were coerced and stored."""
    value = _with_raw(_events(1)[0], field, raw)
    for stored, reasons in _decode_both(value):
        assert stored == 0 and len(reasons) == 1 and needle in reasons[0], reasons


@pytest.mark.parametrize(("raw", "needle"), [
    (b"Infinity", "Infinity is not a JSON number"), (b"-Infinity", "-Infinity is not a JSON number"),
    (b"NaN", "NaN is not a JSON number"), (b"1e400", "duration_ms: Input should be a finite number"),
])
def test_non_finite_numbers_are_quarantined(raw: bytes, needle: str) -> None:
    """Issue 14: duration_ms Infinity / 1e400 were stored, then exported as invalid JSON."""
    value = _with_raw(_events(1)[0], "duration_ms", raw)
    for stored, reasons in _decode_both(value):
        assert stored == 0 and len(reasons) == 1 and needle in reasons[0], reasons


def test_parser_limits_are_quarantine_reasons() -> None:
    ev = _events(1)[0]
    for raw, needle in [(b"9" * 5000, "Exceeds the limit (4300 digits)"),
                        (b"9" * 25, "process_pid: integer out of the 64-bit range"),
                        (b"-" + b"9" * 19, "process_pid: integer out of the 64-bit range")]:
        for stored, reasons in _decode_both(_with_raw(ev, "process_pid", raw)):
            assert stored == 0 and len(reasons) == 1 and needle in reasons[0], reasons


# -- implausible event times ------------------------------------------------------------------------
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("when", "needle"), [
    ("0001-01-01T00:00:00.000000Z", "0001-01-01T00:00:00Z is implausible: before 2024-11-05"),
    ("9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59.999999Z is implausible: more than 24 h after"),
    (format_time(NOW + timedelta(days=1, seconds=1)), "is implausible: more than 24 h after the collector's clock"),
    ("2024-11-04T23:59:59.999999Z", "is implausible: before 2024-11-05T00:00:00.000000Z (the first MCP revision)"),
])
def test_implausible_event_times_are_quarantined(when: str, needle: str) -> None:
    """Issue 14: event times in years 1 and 9999 were stored without a flag."""
    ev = {**_events(1)[0], "event_time": when}
    for stored, reasons in _decode_both(canonical_bytes(ev), NOW):
        assert stored == 0 and len(reasons) == 1 and needle in reasons[0], reasons


@pytest.mark.parametrize("when", ["2024-11-05T00:00:00.000000Z", format_time(NOW + timedelta(hours=23)),
                                  format_time(NOW - timedelta(days=400))])
def test_plausible_event_times_are_stored(when: str) -> None:
    ev = {**_events(1)[0], "event_time": when}
    for stored, reasons in _decode_both(canonical_bytes(ev), NOW):
        assert (stored, reasons) == (1, [])


def test_reasons_quoting_hostile_keys_are_one_inert_line() -> None:
    value = canonical_bytes(_events(1)[0])[:-1] + b',"x\\n\\u001b[2J\\u202e":1}'
    for stored, reasons in _decode_both(value):
        assert stored == 0 and reasons == ["x\\x0a\\x1b[2J\\u202e: Extra inputs are not permitted"]


def test_columnar_failure_falls_back_to_the_strict_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unforeseen failure of a columnar stage re-decodes the batch record by record, same results."""
    import mcp_blackbox.collector.ingest.decode as decode

    values = [v for _, v in EventFactory(seed=142, emitters=3).wire(50)] + [DEEP, b"null"]
    now = utc_now()
    expected = Decoder().decode(values, now)

    def broken(*args: object, **kwargs: object) -> object:
        msg = "simulated columnar failure"
        raise ValueError(msg)

    monkeypatch.setattr(decode, "_column_bad", broken)
    result = Decoder().decode(values, now)
    assert [(b.index, b.error) for b in result.bad] == [(b.index, b.error) for b in expected.bad]
    assert result.table.to_pylist() == expected.table.to_pylist()
    assert result.hashes == expected.hashes
