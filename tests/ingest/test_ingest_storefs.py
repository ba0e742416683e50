"""Store file primitives and decode fast paths: crash leftovers, put-if-absent retry, UTF-8 check."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_blackbox.collector.ingest import storefs
from mcp_blackbox.collector.ingest.decode import _buffer_is_utf8


def test_manifest_temps_of_killed_writers_are_removed(tmp_path: Path) -> None:
    manifests = tmp_path / storefs.MANIFESTS
    manifests.mkdir()
    kept = manifests / "000000000001.json"
    kept.write_text("{}")
    leftover = manifests / f"{storefs.TMP_PREFIX}0123456789ab-000000000002.json"
    leftover.write_text("{")
    storefs.remove_manifest_temps(tmp_path)
    assert sorted(p.name for p in manifests.iterdir()) == [kept.name]


def test_create_exclusive_rewrites_a_temp_removed_under_it(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # Another collector starting up deletes temp manifests; the writer must still publish its own.
    real_link = os.link
    calls: list[str] = []

    def link_after_cleanup(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        calls.append(str(src))
        if len(calls) == 1:
            storefs.remove_manifest_temps(tmp_path)
        real_link(src, dst)

    monkeypatch.setattr(storefs.os, "link", link_after_cleanup)
    final = tmp_path / storefs.MANIFESTS / "000000000007.json"
    assert storefs.create_exclusive(final, b'{"seq": 7}')
    assert final.read_bytes() == b'{"seq": 7}'
    assert len(calls) == 2
    assert not storefs.create_exclusive(final, b'{"seq": "other"}')
    assert final.read_bytes() == b'{"seq": 7}'
    assert [p.name for p in final.parent.iterdir()] == [final.name]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64) | st.text(max_size=32).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_arrow_utf8_check_agrees_with_python(data: bytes) -> None:
    try:
        data.decode("utf-8")
        expected = True
    except UnicodeDecodeError:
        expected = False
    assert _buffer_is_utf8(data) is expected


def test_event_files_carry_bloom_filters_that_duckdb_uses(tmp_path: Path) -> None:
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mcp_blackbox.collector.ingest.parquet_sink import BLOOM_COLUMNS, write_parquet
    from mcp_blackbox.schema.arrow import arrow_schema

    schema = arrow_schema()
    n = 5000
    rows = {"schema_version": [1] * n, "event_id": [f"01a20000-0000-7000-8000-{i:012x}" for i in range(n)],
            "event_type": ["message"] * n, "event_time": [pa.scalar(1_700_000_000_000_000 + i,
                                                                     pa.timestamp("us", tz="UTC")).as_py()
                                                           for i in range(n)],
            "emitter_instance_id": ["e"] * n, "sequence": list(range(n)), "emitter_role": ["client"] * n,
            "emitter_component": ["t"] * n, "host_name": ["h"] * n, "connection_id": [f"c{i % 7}" for i in range(n)],
            "conversation_id": [f"conv-{i}" for i in range(n)], "trace_id": [f"{i:032x}" for i in range(n)],
            "tool_call_id": [f"call-{i}" for i in range(n)], "redacted": [False] * n}
    table = pa.table({f.name: pa.array(rows.get(f.name, [None] * n), f.type) for f in schema}, schema=schema)
    out = tmp_path / "f.parquet"
    write_parquet(table, out, schema=schema, row_group_rows=1000)
    meta = pq.ParquetFile(out).metadata
    assert meta.num_row_groups == 5
    for rg in range(meta.num_row_groups):
        chunks = {meta.row_group(rg).column(i).path_in_schema: meta.row_group(rg).column(i).to_dict()
                  for i in range(meta.num_columns)}
        for column in BLOOM_COLUMNS:
            assert chunks[column]["bloom_filter_offset"] is not None, column
        assert chunks["server_name"]["bloom_filter_offset"] is None
    # the lookup still finds its row (no false negatives through the filter)
    con = duckdb.connect()
    assert con.execute("SELECT sequence FROM read_parquet(?) WHERE conversation_id = 'conv-4321'", [str(out)]
                       ).fetchall() == [(4321,)]
