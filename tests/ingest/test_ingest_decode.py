"""Columnar decode + validation, per-row fallback, vectorised event hashes and Merkle roots."""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter

import pyarrow as pa
import pytest
from ingest_eventgen import EventFactory, malformed_values

from mcp_blackbox.collector.ingest.decode import Decoder, column_rules
from mcp_blackbox.collector.ingest.hashing import canonical_texts, event_hashes_hex, merkle_root
from mcp_blackbox.schema.arrow import arrow_schema
from mcp_blackbox.schema.canonical import canonical_bytes
from mcp_blackbox.schema.model import utc_now
from mcp_blackbox.schema.wire import event_sha256, parse_event

EXPECTED_FIELD = {
    "invalid_json": "invalid JSON", "not_object": "JSON object", "wrong_type": "sequence",
    "wrong_type_obj": "tool_name", "missing_required": "connection_id", "bad_enum": "event_type",
    "bad_uuid": "event_id", "non_utf8": "UTF-8", "oversized": "cap", "unknown_version": "schema_version",
    "unknown_field": "surprise", "empty": "empty", "naive_time": "event_time", "negative_sequence": "sequence",
    "duplicate_key": "duplicate key", "number_for_string": "tool_name", "float_for_int": "sequence",
    "bool_for_string": "host_name", "spaced_wrong_type": "process_pid", "escaped_enum": "direction",
    "deep_nesting": "nested deeper", "deep_top_level": "nested deeper", "string_for_int": "sequence",
    "string_for_bool": "is_error", "int_for_bool": "redacted", "bool_for_version": "schema_version",
    "float_for_version": "schema_version", "infinity": "Infinity", "nan": "NaN", "huge_exponent": "duration_ms",
    "giant_int": "process_pid", "int64_overflow": "process_pid: integer out of the 64-bit range",
    "year_one": "0001-01-01T00:00:00Z is implausible",
    "year_9999": "9999-12-31T23:59:59.999999Z is implausible", "before_mcp": "first MCP revision",
    "lone_surrogate": "Invalid JSON", "raw_nul": "control character", "null_record": "JSON object",
    "whitespace_only": "empty", "utf8_bom": "BOM", "number_record": "JSON object",
}


def test_generator_makes_contract_valid_chained_events() -> None:
    factory = EventFactory(seed=3, emitters=5)
    pairs = factory.wire(300)
    events = [parse_event(v) for _, v in pairs]
    last: dict[str, tuple[int, str]] = {}
    for ev in events:
        prev = last.get(ev.emitter_instance_id)
        if prev is None:
            assert ev.sequence == 0 and ev.prev_event_sha256 is None
        else:
            assert ev.sequence == prev[0] + 1 and ev.prev_event_sha256 == prev[1]
        last[ev.emitter_instance_id] = (ev.sequence, event_sha256(ev))


def test_every_constraint_is_checked_in_columns() -> None:
    assert [r.name for r in column_rules() if r.per_row] == []
    assert {r.name for r in column_rules()} == set(arrow_schema().names)


def test_valid_and_malformed_mixed() -> None:
    valid = [v for _, v in EventFactory(seed=5).wire(3000)]
    bad = malformed_values(len(EXPECTED_FIELD) * 4, oversize=5000)
    mixed = valid + [v for v, _ in bad]
    random.Random(2).shuffle(mixed)
    kinds = {v: k for v, k in bad}
    result = Decoder(max_record_bytes=4096).decode(mixed, utc_now())
    assert result.table.num_rows == len(valid)
    assert sorted(result.table.column("event_id").to_pylist()) == sorted(json.loads(v)["event_id"] for v in valid)
    assert Counter(kinds[mixed[b.index]] for b in result.bad) == Counter(k for _, k in bad)
    for row in result.bad:
        kind = kinds[mixed[row.index]]
        assert EXPECTED_FIELD[kind] in row.error, (kind, row.error)
    assert result.table.schema.equals(arrow_schema(), check_metadata=False)
    assert result.table.column("ingest_time").null_count == 0


def test_canonical_fast_path_matches_the_strict_path() -> None:
    """Canonical records go DuckDB + byte equality; results equal the strict decoder's, row for row."""
    valid = [v for _, v in EventFactory(seed=6).wire(2000)]
    fast = Decoder().decode(valid, utc_now())
    assert fast.canonical_rows == len(valid) and fast.bad == []
    assert fast.hashes == [hashlib.sha256(v).digest() for v in valid]
    assert [h.hex() for h in fast.hashes] == event_hashes_hex(fast.table)

    bad = malformed_values(len(EXPECTED_FIELD) * 3, oversize=5000)
    # Valid but not canonical: other key order, escaped unicode, a short fraction, an explicit null.
    ev = json.loads(valid[0])
    respelled = [json.dumps(ev).encode(), json.dumps({**ev, "host_name": "h\u00e9"}, ensure_ascii=True).encode(),
                 json.dumps({**ev, "event_time": ev["event_time"][:-4] + "Z"}, sort_keys=True,
                            separators=(",", ":")).encode(),
                 json.dumps({**ev, "os_user": None}, sort_keys=True, separators=(",", ":")).encode()]
    mixed = valid[1:] + [v for v, _ in bad] + respelled
    random.Random(3).shuffle(mixed)
    now = utc_now()  # one ingest time: implausible-time reasons name it
    fast, strict = Decoder(max_record_bytes=4096).decode(mixed, now), \
        Decoder(max_record_bytes=4096, canonical=False).decode(mixed, now)
    assert strict.canonical_rows == 0 and fast.canonical_rows == len(valid) - 1
    assert [(b.index, b.error) for b in fast.bad] == [(b.index, b.error) for b in strict.bad]
    assert len(fast.bad) == len(bad)
    key = lambda t: sorted(map(repr, t.drop_columns(["ingest_time"]).to_pylist()))  # noqa: E731
    assert key(fast.table) == key(strict.table)
    assert fast.table.num_rows == len(valid) - 1 + len(respelled)
    # Hashes: the record's SHA-256 for canonical ones, computed for the others; both equal the stored row's.
    assert fast.hashes == [bytes.fromhex(h) for h in event_hashes_hex(fast.table)]
    assert strict.hashes == [bytes.fromhex(h) for h in event_hashes_hex(strict.table)]


def test_string_cap_names_the_field() -> None:
    ev = json.loads(EventFactory(seed=9).wire(1)[0][1])
    ev["error_message"] = "z" * 300
    result = Decoder(max_string_bytes=200).decode([json.dumps(ev).encode()], utc_now())
    assert result.table.num_rows == 0
    assert "error_message" in result.bad[0].error and "200-byte cap" in result.bad[0].error


def test_lenient_but_valid_rows_take_the_per_row_path() -> None:
    pairs = EventFactory(seed=4).wire(40)
    pretty = json.dumps(json.loads(pairs[0][1]), indent=2).encode()  # valid JSON with newlines
    offset_time = json.loads(pairs[1][1])
    offset_time["event_time"] = "2026-11-25T03:00:00.5+02:00"
    values = [pretty, json.dumps(offset_time).encode(), *(v for _, v in pairs[2:])]
    result = Decoder().decode(values, utc_now())
    assert result.bad == []
    assert result.table.num_rows == 40
    times = dict(zip(result.table.column("event_id").to_pylist(), result.table.column("event_time").to_pylist(),
                     strict=True))
    assert times[offset_time["event_id"]].isoformat() == "2026-11-25T01:00:00.500000+00:00"


HOSTILE = ['quote " back\\slash', "ctrl \x01\x1f tab\t nl\n", "unicode é 中 😀 \u2028", "", "/*}{]["]


@pytest.mark.parametrize("text", HOSTILE)
def test_vectorised_hash_equals_event_sha256(text: str) -> None:
    rows = []
    for i, (_, v) in enumerate(EventFactory(seed=12).wire(60)):
        ev = json.loads(v)
        ev["error_message"] = text
        ev["risk_flags"] = [text, "x"] if i % 2 else []
        ev["duration_ms"] = [0.0, 1e-7, 123456789012.25, 1e21, 5.5, 2.0][i % 6]
        rows.append(parse_event(ev))
    table = pa.Table.from_pylist([e.model_dump(mode="python") for e in rows], schema=arrow_schema())
    assert event_hashes_hex(table) == [event_sha256(e) for e in rows]


def test_canonical_text_of_rows_with_every_field_null() -> None:
    # The canonical fast path builds texts for records that did not parse (all fields null): each must
    # stay in its row as "{}" (pyarrow's skip-null join would drop such rows and shift the others).
    ev = json.loads(EventFactory(seed=13).wire(1)[0][1])
    rows = [None, parse_event(ev).model_dump(mode="python"), None]
    table = pa.Table.from_pylist([r or {} for r in rows], schema=arrow_schema())
    texts = canonical_texts(table).to_pylist()
    assert texts[0] == texts[2] == "{}"
    assert texts[1].encode() == canonical_bytes(ev)


def test_merkle_root_follows_rfc6962() -> None:
    def h(b: bytes) -> bytes:
        return hashlib.sha256(b).digest()

    leaves = [h(bytes([i])) for i in range(5)]
    lh = [h(b"\x00" + x) for x in leaves]
    n01, n23 = h(b"\x01" + lh[0] + lh[1]), h(b"\x01" + lh[2] + lh[3])
    expected = h(b"\x01" + h(b"\x01" + n01 + n23) + lh[4])
    assert merkle_root(leaves) == expected.hex()
    assert merkle_root([]) == hashlib.sha256(b"").hexdigest()
    assert merkle_root(leaves[:1]) == lh[0].hex()
