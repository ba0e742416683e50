"""Real Kafka → Parquet: exactly the valid events stored, exactly the malformed ones quarantined;
two collectors in one group with a rebalance; the spool source gives the same store."""

from __future__ import annotations

import json
import random
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from ingest_eventgen import EventFactory, malformed_values
from ingest_helpers import cli_command, event_ids, produce, quarantine, read_dir, start_collect
from ingest_store import collect_spool, spool_values

from mcp_blackbox.collector.ingest.verify import verify_store

pytestmark = pytest.mark.kafka


def collect(source: str, store: Path, client: str, *extra: str, idle: float = 3.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*cli_command(), "collect", "--source", source, "--store", str(store), "--client", client,
                           "--until-idle", str(idle), "--no-stats", *extra],
                          capture_output=True, text=True, check=False, timeout=600)


def test_valid_stored_malformed_quarantined(kafka_bootstrap: str, make_topic: Callable[..., str], tmp_path: Path,
                                            signing_key: Path, kafka_client: str) -> None:
    topic = make_topic(partitions=4)
    valid = EventFactory(seed=101, emitters=200).wire(200_000)
    bad = malformed_values(10_000, oversize=70_000)
    records: list[tuple[bytes | None, bytes]] = [*valid, *((b"bad-%d" % (i % 13), v) for i, (v, _) in enumerate(bad))]
    random.Random(5).shuffle(records)
    produce(kafka_bootstrap, topic, records)
    store = tmp_path / "store"
    proc = collect(f"kafka://{kafka_bootstrap}/{topic}", store, kafka_client, "--max-record-bytes", "65536")
    assert proc.returncode == 0, proc.stderr
    ids = event_ids(store)
    assert len(ids) == len(set(ids)) == len(valid)
    assert set(ids) == {json.loads(v)["event_id"] for _, v in valid}
    q = quarantine(store)
    assert q is not None and q.num_rows == len(bad)
    kinds = {v: k for v, k in bad}
    assert Counter(kinds[r] for r in q.column("raw").to_pylist()) == Counter(k for _, k in bad)
    assert q.column("error").null_count == 0 and pc.min(pc.utf8_length(q.column("error"))).as_py() > 5
    assert set(q.column("topic").to_pylist()) == {topic}
    positions = list(zip(q.column("partition").to_pylist(), q.column("offset").to_pylist(), strict=True))
    assert len(set(positions)) == len(bad)
    assert verify_store(store, deep=False).problems == []
    # Every emitter's chain arrived complete (shuffled over 4 partitions): no gap, no break.
    assert pq.read_table(store / "integrity" / "completeness.parquet").num_rows == 0


def test_two_collectors_rebalance(kafka_bootstrap: str, make_topic: Callable[..., str], tmp_path: Path,
                                  signing_key: Path, kafka_client: str) -> None:
    topic = make_topic(partitions=4)
    factory = EventFactory(seed=202, emitters=40)
    first = factory.wire(40_000)
    produce(kafka_bootstrap, topic, first)
    store = tmp_path / "store"
    args = ["--source", f"kafka://{kafka_bootstrap}/{topic}", "--store", str(store), "--group", "g-" + topic,
            "--until-idle", "6", "--flush-rows", "2000", "--max-poll-records", "500", "--no-stats",
            "--session-timeout-ms", "10000", "--client", kafka_client]
    env = {"MCP_BLACKBOX_SIGNING_KEY": str(signing_key)}
    a = start_collect(args, env)
    deadline = time.monotonic() + 60
    while len(list((store / "manifests").glob("*.json"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    b = start_collect(args, env)  # joins the group: rebalance while A is mid-stream
    second = factory.wire(30_000)
    produce(kafka_bootstrap, topic, second)
    assert a.wait(timeout=240) == 0, a.stderr.read() if a.stderr else ""
    assert b.wait(timeout=240) == 0, b.stderr.read() if b.stderr else ""
    ids = event_ids(store)
    assert len(ids) == len(set(ids)), "duplicates after the rebalance"
    assert set(ids) == {json.loads(v)["event_id"] for _, v in first + second}
    writers = {json.loads(p.read_bytes())["writer"]["pid"] for p in (store / "manifests").glob("*.json")}
    assert len(writers) == 2, "both collectors should have stored part of the stream"
    assert verify_store(store, deep=False).problems == []


def _rows(store: Path) -> pa.Table:
    table = read_dir(store, "events")
    assert table is not None
    return table.drop_columns(["ingest_time"]).sort_by("event_id")


def test_spool_and_kafka_give_the_same_store(kafka_bootstrap: str, make_topic: Callable[..., str],
                                             tmp_path: Path, signing_key: Path, kafka_client: str) -> None:
    values = [v for _, v in EventFactory(seed=303, emitters=20).wire(20_000)]
    values += [v for v, _ in malformed_values(600, oversize=70_000)]
    random.Random(9).shuffle(values)
    halves = {"0": values[: len(values) // 2], "1": values[len(values) // 2:]}
    topic = make_topic(partitions=2)
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, linger_ms=20, batch_size=512 * 1024)
    for part, vals in halves.items():
        for v in vals:
            producer.send(topic, value=v, partition=int(part))
    producer.flush()
    producer.close()
    kstore, sstore = tmp_path / "k", tmp_path / "s"
    proc = collect(f"kafka://{kafka_bootstrap}/{topic}", kstore, kafka_client, "--max-record-bytes", "65536")
    assert proc.returncode == 0, proc.stderr
    spool = spool_values(tmp_path / "spool", {"w0": halves["0"], "w1": halves["1"]})
    collect_spool(spool, sstore, signing_key, max_poll=20_000, max_record_bytes=65536)
    assert _rows(kstore).equals(_rows(sstore))
    kq, sq = quarantine(kstore), quarantine(sstore)
    assert kq is not None and sq is not None
    assert sorted(kq.column("raw").to_pylist()) == sorted(sq.column("raw").to_pylist())
    assert sorted(kq.column("offset").to_pylist()) == sorted(sq.column("offset").to_pylist())
    assert sorted(kq.column("error").to_pylist()) == sorted(sq.column("error").to_pylist())
