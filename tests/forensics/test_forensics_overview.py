"""The headless overview and result export the TUI renders (issue 12, Build 2): no Textual involved."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from mcp_blackbox.forensics.export_result import export_query_result, write_result
from mcp_blackbox.forensics.overview import BUCKETS, COUNT_DIMS, overview
from mcp_blackbox.forensics.store import open_store
from mcp_blackbox.schema.layout import exports_dir


def test_overview_of_the_incident(incident_store: Path) -> None:
    store = open_store(incident_store, prepare=False)
    try:
        def query(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
            return store.con.execute(sql, params).fetchall()

        whole = overview(query)
        conns = query("SELECT count(DISTINCT connection_id) FROM raw_events", [])[0][0]
        servers = query("SELECT count(DISTINCT coalesce(server_config_name, server_name, server_url)) "
                        "FROM raw_events", [])[0][0]
        assert whole.first is not None and whole.last is not None
        zoomed = overview(query, (whole.first, whole.first))
        only_first = query("SELECT count(*) FROM raw_events WHERE event_time = ?", [whole.first])[0][0]
    finally:
        store.close()
    assert whole.total == 111 and whole.connections == conns
    assert len(whole.buckets) == BUCKETS and sum(whole.buckets) == whole.total
    assert set(whole.dims) == {dim for dim, _ in COUNT_DIMS}
    assert len(whole.dims["server"]) == servers == 4
    counts = [n for _, n in whole.dims["tool"]]
    assert counts == sorted(counts, reverse=True)  # top first
    assert zoomed.total == only_first < whole.total


def test_result_export_round_trips(tmp_path: Path) -> None:
    columns = ["tool", "n", "seen"]
    rows: list[tuple[Any, ...]] = [("query", 3, None), ("send_webhook", 1, "2026-11-01")]
    paths = write_result(columns, rows, tmp_path / "out" / "r")
    assert [p.suffix for p in paths] == [".csv", ".jsonl", ".parquet"]
    with open(paths[0], newline="", encoding="utf-8") as fh:
        assert list(csv.reader(fh)) == [columns, ["query", "3", ""], ["send_webhook", "1", "2026-11-01"]]
    assert [json.loads(line) for line in paths[1].read_text().splitlines()] == [
        {"tool": "query", "n": 3, "seen": None}, {"tool": "send_webhook", "n": 1, "seen": "2026-11-01"}]
    assert pq.read_table(paths[2]).to_pylist() == [{"tool": "query", "n": "3", "seen": None},
                                                   {"tool": "send_webhook", "n": "1", "seen": "2026-11-01"}]
    stem = export_query_result(exports_dir(tmp_path), columns, [])
    assert stem.parent == tmp_path / "cases" / "exports"
    assert stem.with_suffix(".csv").read_text().strip() == "tool,n,seen"
