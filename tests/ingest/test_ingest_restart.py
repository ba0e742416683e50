"""Restart recovery removes exactly the crash leftovers of the assigned partitions, from one store scan.

Not timed (benchmarks/bench_restart.py measures restart cost against the writer count): this proves the
linear, grouped orphan removal deletes what the per-partition rescan deleted and nothing else.
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

from ingest_eventgen import EventFactory
from ingest_store import collect_spool, spool_values

from mcp_blackbox.collector.ingest import storefs
from mcp_blackbox.collector.ingest.batchwriter import Position
from mcp_blackbox.collector.ingest.compact import compact_store
from mcp_blackbox.collector.ingest.consumer import Collector, Settings
from mcp_blackbox.collector.ingest.sources import SpoolSource
from mcp_blackbox.collector.spool import SpoolWriter


def test_orphan_removal_is_exact_per_partition(tmp_path: Path, signing_key: Path) -> None:
    values = [v for _, v in EventFactory(seed=55, emitters=4, span=timedelta(minutes=10)).wire(400)]  # one date
    # w1 is a prefix of w10 as text: the removal must tell their files apart.
    spool = spool_values(tmp_path / "spool", {"w1": values[:100], "w10": values[100:200], "w2": values[200:300]})
    store = tmp_path / "store"
    collect_spool(spool, store, signing_key)
    more = SpoolWriter(spool, "w1")  # a second batch for w1, so compaction can retire two files
    more.append(values[300:], sync=False)
    more.close()
    collect_spool(spool, store, signing_key)
    assert compact_store(store, signing_key).groups >= 1

    def prefix(writer: str) -> str:
        return Position("spool", str(spool.resolve()), writer).prefix

    collector = Collector(store, SpoolSource(spool), Settings(key_path=signing_key))
    state = collector.manifests.state
    active = set(state.active)
    retired = sorted(state.retired)
    assert any(p.split("/")[-1].startswith(prefix("w1")) for p in retired)
    planted: dict[str, list[Path]] = {"w1": [], "w10": []}
    some_events = next(store / p for p in active if p.startswith("events/"))
    for writer in planted:
        for top in ("events", "quarantine", "integrity/runs"):
            directory = store / top / "date=2026-11-24"
            directory.mkdir(parents=True, exist_ok=True)
            orphan = directory / f"{prefix(writer)}900-905.parquet"
            shutil.copy(some_events, orphan)  # a file the crash left: durable, but in no manifest
            temp = directory / f"{storefs.TMP_PREFIX}0123456789ab-{prefix(writer)}906-910.parquet"
            temp.write_bytes(b"half a file")
            planted[writer] += [orphan, temp]
    for rel in retired:  # a crash after compaction's manifest, before it deleted the files it replaced
        (store / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(some_events, store / rel)
    unlisted_compacted = some_events.parent / f"{prefix('w1')}0-1-compacted.parquet"
    shutil.copy(some_events, unlisted_compacted)  # left for `compact` to decide, as before
    manifest_temp = store / storefs.MANIFESTS / f"{storefs.TMP_PREFIX}0123456789ab-000000009999.json"
    manifest_temp.write_bytes(b"{")

    collector.on_assigned(["w1", "w2"])
    assert all(not p.exists() for p in planted["w1"])
    assert all(p.exists() for p in planted["w10"]), "a partition not assigned keeps its files"
    for rel in retired:
        assert (store / rel).exists() == (not rel.split("/")[-1].startswith((prefix("w1"), prefix("w2"))))
    assert unlisted_compacted.exists()
    assert not manifest_temp.exists()
    assert all((store / p).exists() for p in active), "no listed file is ever removed"

    collector.on_assigned(["w10"])
    assert all(not p.exists() for p in planted["w10"])
    assert all(not (store / rel).exists() for rel in retired)
    assert all((store / p).exists() for p in active)
    assert collector.next_offset == {"w1": 200, "w2": 100, "w10": 100}


def test_files_by_prefix_groups_every_data_and_temp_file(tmp_path: Path) -> None:
    (tmp_path / "events" / "date=2026-11-24").mkdir(parents=True)
    (tmp_path / "integrity" / "runs" / "date=2026-11-24").mkdir(parents=True)
    names = {"events/date=2026-11-24/kafka_t-3-0-9.parquet": "kafka_t-3-",
             "events/date=2026-11-24/kafka_t-3-10-19-compacted.parquet": "kafka_t-3-",
             "events/date=2026-11-24/kafka_t-30-0-9.parquet": "kafka_t-30-",
             "integrity/runs/date=2026-11-24/kafka_t-3-0-9.parquet": "kafka_t-3-"}
    for rel in names:
        (tmp_path / rel).write_bytes(b"x")
    temp = tmp_path / "events" / "date=2026-11-24" / f"{storefs.TMP_PREFIX}0123456789ab-kafka_t-30-20-29.parquet"
    temp.write_bytes(b"x")
    (tmp_path / "events" / "date=2026-11-24" / "notes.txt").write_bytes(b"x")
    grouped = storefs.files_by_prefix(tmp_path)
    assert sorted(grouped) == ["kafka_t-3-", "kafka_t-30-"]
    assert sorted(grouped["kafka_t-3-"][0]) == sorted(r for r, p in names.items() if p == "kafka_t-3-")
    assert grouped["kafka_t-30-"] == (["events/date=2026-11-24/kafka_t-30-0-9.parquet"], [temp])
    assert sorted(r for files, _ in grouped.values() for r in files) == storefs.data_files(tmp_path)
