"""The contract derives everywhere from one model: JSON Schema, Arrow, Parquet round trips."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from jsonschema import Draft202012Validator

from mcp_blackbox.schema import (
    FIELD_NAMES,
    AuditEvent,
    ValidationFailed,
    event_sha256,
    parse_event,
    to_wire_bytes,
    uuid7_str,
)
from mcp_blackbox.schema.arrow import arrow_schema, events_to_table, table_to_events
from mcp_blackbox.schema.docs import JSON_SCHEMA_PATH, column_docs, json_schema, json_schema_text
from mcp_blackbox.schema.types import column_types, enum_values


def make_event(**overrides: object) -> AuditEvent:
    base: dict[str, object] = {
        "schema_version": 1,
        "event_id": uuid7_str(),
        "event_type": "message",
        "event_time": datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC),
        "emitter_instance_id": "emitter-1",
        "sequence": 0,
        "emitter_role": "client",
        "emitter_component": "sdk_client",
        "host_name": "laptop-7",
        "connection_id": "conn-1",
        "redacted": False,
    }
    base.update(overrides)
    return AuditEvent.model_validate(base)


def full_event() -> AuditEvent:
    """An event with every column set, to prove nothing is lost anywhere."""
    values: dict[str, object] = {}
    for name, (logical, _nullable) in column_types().items():
        if name in ("schema_version", "event_id", "parent_event_id"):
            continue
        vocabulary = enum_values(name)
        if vocabulary:
            values[name] = vocabulary[-1]
        elif logical == "timestamp":
            values[name] = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
        elif name.endswith("sha256"):
            values[name] = "ab" * 32
        elif logical == "string_list":
            values[name] = ["a", "ü", ""]
        elif logical == "bool":
            values[name] = True
        elif logical == "float64":
            values[name] = 12.5
        elif logical == "int64":
            values[name] = 42
        elif name.endswith("_json"):
            values[name] = json.dumps({"k": "v\u202e\u200b😀"}, ensure_ascii=False)
        else:
            values[name] = f"{name} ünïcödé 😀"
    event = make_event(**values, parent_event_id=uuid7_str())
    for name in FIELD_NAMES:
        assert getattr(event, name) is not None, name
    return event


def test_committed_json_schema_is_current() -> None:
    assert JSON_SCHEMA_PATH.read_text(encoding="utf-8") == json_schema_text(), (
        "schema/event-v1.schema.json is stale: run `mcp-blackbox schema --json-schema > schema/event-v1.schema.json`"
    )


def test_json_schema_accepts_wire_events_and_rejects_bad_ones() -> None:
    validator = Draft202012Validator(json_schema())
    for event in (make_event(), full_event()):
        errors = list(validator.iter_errors(json.loads(to_wire_bytes(event))))
        assert errors == []
    bad = json.loads(to_wire_bytes(make_event()))
    del bad["connection_id"]
    assert any("connection_id" in e.message for e in validator.iter_errors(bad))


def test_arrow_schema_has_every_field_in_contract_order() -> None:
    schema = arrow_schema()
    assert tuple(schema.names) == FIELD_NAMES
    assert schema.field("event_time").type == pa.timestamp("us", tz="UTC")
    assert not schema.field("event_id").nullable
    assert schema.field("tool_name").nullable
    assert {d.name for d in column_docs()} == set(FIELD_NAMES)
    assert all(d.description for d in column_docs())


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.update(sequence="seven"), "sequence"),
        (lambda d: d.pop("host_name"), "host_name"),
        (lambda d: d.update(event_type="telepathy"), "event_type"),
        (lambda d: d.update(event_id="not-a-uuid"), "event_id"),
        (lambda d: d.update(event_time="2026-11-25T12:00:00"), "event_time"),
        (lambda d: d.update(sequence=-1), "sequence"),
        (lambda d: d.update(arguments_sha256="XYZ"), "arguments_sha256"),
        (lambda d: d.update(surprise="field"), "surprise"),
    ],
)
def test_validation_errors_name_the_field(mutate: object, field: str) -> None:
    wire = json.loads(to_wire_bytes(make_event()))
    mutate(wire)  # type: ignore[operator]
    with pytest.raises(ValidationFailed) as info:
        parse_event(json.dumps(wire).encode())
    assert field in str(info.value)


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (b"{not json", "invalid JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[1, 2]", "JSON object"),
        (b'{"schema_version": 2}', "schema version"),
    ],
)
def test_malformed_bytes_are_rejected_clearly(raw: bytes, needle: str) -> None:
    with pytest.raises(ValidationFailed, match=needle):
        parse_event(raw)


def test_naive_and_offset_timestamps() -> None:
    with pytest.raises(ValidationFailed, match="event_time"):
        parse_event({**json.loads(to_wire_bytes(make_event())), "event_time": datetime(2026, 1, 1)})  # noqa: DTZ001
    shifted = make_event(event_time=datetime(2026, 1, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))))
    assert shifted.event_time == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert json.loads(to_wire_bytes(shifted))["event_time"] == "2026-01-01T12:00:00.000000Z"


def test_wire_round_trip_and_hash_stability() -> None:
    event = full_event()
    again = parse_event(to_wire_bytes(event))
    assert again == event
    assert event_sha256(again) == event_sha256(event) == event_sha256(json.loads(to_wire_bytes(event)))
    stamped = event.model_copy(update={"ingest_time": datetime.now(UTC)})
    assert event_sha256(stamped) == event_sha256(event), "ingest_time must not change the event hash"


def test_model_json_arrow_parquet_model_is_lossless(tmp_path) -> None:  # type: ignore[no-untyped-def]
    events = [
        make_event(),
        full_event(),
        make_event(tool_name="日本語ツール", arguments_json=json.dumps({"q": "\u0000\u001b[31m"}), sequence=3),
        make_event(result_json=json.dumps({"blob": "x" * 3_000_000}), result_size_bytes=3_000_012),
        make_event(redacted_paths=[], risk_flags=None, duration_ms=0.001),
    ]
    via_json = [parse_event(to_wire_bytes(e)) for e in events]
    table = events_to_table(via_json)
    assert table.schema.equals(arrow_schema(), check_metadata=False)
    path = tmp_path / "events.parquet"
    pq.write_table(table, path, compression="zstd")
    back = table_to_events(pq.read_table(path, schema=arrow_schema()))
    assert back == events
    assert [event_sha256(e) for e in back] == [event_sha256(e) for e in events]
