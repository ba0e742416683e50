"""Compaction keeps rows, provenance and `verify`; capture completeness finds gaps and chain breaks."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
from ingest_eventgen import EventFactory
from ingest_helpers import cli_command, event_ids
from ingest_store import collect_spool, spool_values

from mcp_blackbox.collector.ingest.verify import verify_store


def test_compact_merges_keeps_rows_provenance_and_verify(tmp_path: Path, signing_key: Path) -> None:
    values = [v for _, v in EventFactory(seed=31).wire(8000)]
    spool = spool_values(tmp_path / "spool", {"w1": values[:5000], "w2": values[5000:]})
    store = tmp_path / "store"
    collect_spool(spool, store, signing_key, max_poll=500)
    before = sorted(event_ids(store))
    small = sorted((store / "events").rglob("*.parquet"))
    assert len(small) > 8
    proc = subprocess.run([*cli_command(), "compact", "--store", str(store)], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    after_files = sorted((store / "events").rglob("*.parquet"))
    assert len(after_files) < len(small) and all(p.name.endswith("-compacted.parquet") for p in after_files)
    assert sorted(event_ids(store)) == before
    assert verify_store(store).problems == []
    last = json.loads(sorted((store / "manifests").glob("*.json"))[-1].read_bytes())
    replaced = [r["path"] for e in last["add"] if e["kind"] == "events" for r in e["replaces"]]
    assert replaced and {r["path"] for r in last["remove"]} >= set(replaced)
    meta = pq.ParquetFile(after_files[0]).metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"
    # A crash after the manifest but before deleting the old files: verify says so, compact finishes it.
    stale = tmp_path / "stale.parquet"
    shutil.copy(after_files[0], stale)
    (store / replaced[0]).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(stale, store / replaced[0])
    assert any("retired" in p for p in verify_store(store).problems)
    subprocess.run([*cli_command(), "compact", "--store", str(store)], check=True, capture_output=True)
    assert verify_store(store).problems == []


def test_completeness_reports_gaps_breaks_and_overlaps(tmp_path: Path, signing_key: Path) -> None:
    factory = EventFactory(seed=41, emitters=3)
    events = [json.loads(v) for _, v in factory.wire(600)]
    em = events[0]["emitter_instance_id"]
    mine = [e for e in events if e["emitter_instance_id"] == em]
    dropped = {mine[10]["event_id"], mine[11]["event_id"]}  # a gap of 2 after sequence 9
    mine[30]["prev_event_sha256"] = "0" * 64  # a chain break between 29 and 30
    twin = dict(mine[40], event_id=events[-1]["event_id"][:-4] + "beef")  # sequence 40 used twice
    kept = [e for e in events if e["event_id"] not in dropped] + [twin]
    spool = spool_values(tmp_path / "spool", {"w": [json.dumps(e).encode() for e in kept]})
    store = tmp_path / "store"
    collect_spool(spool, store, signing_key, max_poll=150)
    report = pq.read_table(store / "integrity" / "completeness.parquet").to_pylist()
    mine_found = sorted((r["kind"], r["after_sequence"], r["before_sequence"], r["missing_count"])
                        for r in report if r["emitter_instance_id"] == em)
    # The forged prev hash also changes event 30's own hash, so 30→31 breaks too.
    assert mine_found == [("chain_break", 29, 30, 0), ("chain_break", 30, 31, 0), ("sequence_gap", 9, 12, 2),
                          ("sequence_overlap", 40, 40, 0)]
    assert all(r["emitter_instance_id"] == em for r in report)
