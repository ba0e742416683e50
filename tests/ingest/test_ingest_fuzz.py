"""Fuzzing the decode path: whatever the bytes, every record is stored or quarantined and nothing raises.

100,000 mutated and generated records (tests/ingest/ingest_fuzz.py) go through the real entry point,
`Decoder.decode`, in batches as the collector sends them; a hypothesis test adds generated events with
hostile values in known fields. The long run is `benchmarks/fuzz_decode.py`.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pyarrow.compute as pc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_eventgen import EventFactory
from ingest_fuzz import FuzzRecords

from mcp_blackbox.collector.ingest.decode import EARLIEST_EVENT_TIME, MAX_CLOCK_SKEW, DecodedBatch, Decoder
from mcp_blackbox.collector.ingest.hashing import event_hashes_hex
from mcp_blackbox.schema.canonical import canonical_bytes
from mcp_blackbox.schema.model import FIELD_NAMES, utc_now

FUZZ_RECORDS = 100_000
BATCH = 5_000


def check_batch(values: list[bytes], result: DecodedBatch, ingest_time: Any) -> None:
    """The invariants of one decoded batch: a partition of the input, and only sound rows stored."""
    bad_idx = [b.index for b in result.bad]
    assert bad_idx == sorted(set(bad_idx)), "quarantine indices must be unique and in order"
    assert all(0 <= i < len(values) for i in bad_idx)
    assert result.table.num_rows + len(bad_idx) == len(values), "every record is stored or quarantined"
    for row in result.bad:
        assert row.error and "\n" not in row.error, row
    assert len(result.hashes) == result.table.num_rows
    if result.table.num_rows:
        assert [h.hex() for h in result.hashes] == event_hashes_hex(result.table)
        times = result.table.column("event_time")
        assert pc.min(times).as_py() >= EARLIEST_EVENT_TIME
        assert pc.max(times).as_py() <= ingest_time + MAX_CLOCK_SKEW
        durations = [d for d in result.table.column("duration_ms").to_pylist() if d is not None]
        assert all(math.isfinite(d) and d >= 0 for d in durations)
        assert result.table.column("ingest_time").null_count == 0


def test_fuzzed_records_are_stored_or_quarantined() -> None:
    fuzz = FuzzRecords(seed=14)
    decoder = Decoder()
    stored = quarantined = 0
    for _ in range(FUZZ_RECORDS // BATCH):
        values = fuzz.batch(BATCH)
        now = utc_now()
        result = decoder.decode(values, now)
        check_batch(values, result, now)
        stored += result.table.num_rows
        quarantined += len(result.bad)
    assert stored + quarantined == FUZZ_RECORDS
    # The mix really exercises both outcomes (valid share and respelled events are stored).
    assert stored > FUZZ_RECORDS // 20 and quarantined > FUZZ_RECORDS // 2


def test_fuzzed_batches_decode_alike_on_every_path() -> None:
    """Canonical fast path, pyarrow path and record-by-record strict path agree on fuzzed input."""
    fuzz = FuzzRecords(seed=15, valid_share=0.3)
    for _ in range(2):
        values = fuzz.batch(2_000)
        now = utc_now()
        fast = Decoder().decode(values, now)
        columnar = Decoder(canonical=False).decode(values, now)
        strict = Decoder()._decode_each(values, now)
        for result in (fast, columnar, strict):
            check_batch(values, result, now)
        expect = [(b.index, b.error) for b in strict.bad]
        assert [(b.index, b.error) for b in fast.bad] == expect
        assert [(b.index, b.error) for b in columnar.bad] == expect
        key = lambda t: sorted(map(repr, t.to_pylist()))  # noqa: E731
        assert key(fast.table) == key(columnar.table) == key(strict.table)


_BASE = json.loads(EventFactory(seed=77, emitters=2).wire(1)[0][1])
_json_scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
                 | st.text(max_size=20))
_json_values = st.recursive(_json_scalars, lambda inner: st.lists(inner, max_size=3)
                            | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8)


@st.composite
def hostile_events(draw: st.DrawFn) -> bytes:
    ev = dict(_BASE)
    for name in draw(st.lists(st.sampled_from(FIELD_NAMES), min_size=1, max_size=3)):
        ev[name] = draw(_json_values)
    spelled = json.dumps(ev, allow_nan=True, sort_keys=draw(st.booleans()), separators=(",", ":"))
    return spelled.encode("utf-8", "surrogatepass")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(hostile_events(), min_size=10, max_size=30))
def test_generated_events_with_hostile_values(values: list[bytes]) -> None:
    values = [canonical_bytes(_BASE), *values]
    now = utc_now()
    fast = Decoder().decode(values, now)
    strict = Decoder()._decode_each(values, now)
    check_batch(values, fast, now)
    assert [(b.index, b.error) for b in fast.bad] == [(b.index, b.error) for b in strict.bad]
    assert fast.table.num_rows >= 1
